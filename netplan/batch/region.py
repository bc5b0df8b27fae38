"""Synthetic regions for batch runs: the demo county generator inside the real outlines of a
prefecture's counties (one county folder per county, the layout ``netplan batch`` reads).

The outlines and township names/codes are real (data/china_admin/, see its PROVENANCE.md);
villages, farms, sites and roads are synthetic (netplan.synth). Used by
``scripts/make_region.py``, the batch tests and ``scripts/bench_batch.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from netplan.errors import InputError

# Zhumadian 驻马店市 (seed prefecture) and Pingdingshan 平顶山市 county-level units.
PREFECTURES: dict[str, str] = {"4117": "Zhumadian 驻马店市", "4104": "Pingdingshan 平顶山市"}


def prefecture_adcodes(prefecture: str = "4117") -> list[str]:
    """Adcodes of the prefecture's county-level units whose outline ships with netplan, sorted."""
    from netplan.synth import available_adcodes

    codes = [a for a in available_adcodes() if a.startswith(prefecture)]
    if not codes:
        msg = f"no county outline for prefecture {prefecture}; have {sorted(PREFECTURES)}"
        raise InputError(msg, field="prefecture")
    return codes


def _one(adcode: str, folder: str, seed: int, n_villages: int | None,
         lattice_m: float | None) -> dict[str, Any]:
    from netplan.synth import generate_county

    t0 = time.perf_counter()
    try:
        kw = {} if lattice_m is None else {"lattice_m": lattice_m}
        totals = generate_county(adcode, folder, seed=seed, n_villages=n_villages, **kw)
    except Exception as exc:  # reported per county by make_region
        return {"adcode": adcode, "folder": folder, "ok": False,
                "error": f"{type(exc).__name__}: {exc}", "time_s": time.perf_counter() - t0}
    return {"adcode": adcode, "folder": folder, "ok": True, "totals": totals,
            "time_s": time.perf_counter() - t0}


def _folder_name(adcode: str, load_county: Any) -> str:
    """``<adcode>_<Name>``, or the bare adcode when the admin data cannot name the county."""
    from netplan.errors import NetplanError

    try:
        return f"{adcode}_{load_county(adcode).name}"
    except NetplanError:
        return adcode


def make_region(out_dir: str | Path, *, counties: int | None = None, seed: int = 0,
                prefecture: str = "4117", adcodes: Sequence[str] | None = None,
                n_villages: int | None = None, lattice_m: float | None = None,
                jobs: int = 1) -> list[dict[str, Any]]:
    """Write one synthetic county folder per county into ``out_dir``.

    Parameters
    ----------
    out_dir
        Region folder; county folders are ``out_dir/<adcode>_<Name>/``.
    counties
        How many of the prefecture's counties, in adcode order (default: all).
    seed
        Generator seed (each county's random streams also depend on its adcode).
    prefecture
        First four adcode digits: "4117" Zhumadian (default) or "4104" Pingdingshan.
    adcodes
        Explicit county codes instead of ``prefecture``/``counties``.
    n_villages
        Villages per county (default: the generator's calibrated count).
    lattice_m
        Road lattice spacing of the generator, m (default: the generator's; coarser = fewer
        road nodes, faster to generate and to read).
    jobs
        Counties generated in parallel (processes).

    Returns
    -------
    list of dict
        Per county: adcode, folder, ok, totals or error, time_s. Also written to
        ``out_dir/region.json``.

    Raises
    ------
    InputError
        On an unknown prefecture or a count larger than the prefecture has.
    """
    from netplan.synth import load_county

    codes = list(adcodes) if adcodes else prefecture_adcodes(prefecture)
    if counties is not None:
        if not 1 <= counties <= len(codes):
            msg = f"--counties must be 1..{len(codes)} for prefecture {prefecture}, got {counties}"
            raise InputError(msg, field="counties")
        codes = codes[:counties]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(a, str(out / _folder_name(a, load_county)), seed, n_villages, lattice_m)
             for a in codes]
    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            results = list(ex.map(_one, *zip(*tasks, strict=True)))
    else:
        results = [_one(*t) for t in tasks]
    (out / "region.json").write_text(json.dumps({
        "prefecture": prefecture, "seed": seed, "n_villages": n_villages, "lattice_m": lattice_m,
        "note": "synthetic villages, farms, sites and roads inside real county outlines "
                "(netplan.synth); never real data",
        "counties": results}, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return results
