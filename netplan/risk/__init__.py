"""How sure is the plan: its indicators, costs and site loads under the uncertain numbers
(data/uncertainty.toml), and plans robust to them (docs/risk.md).

- :func:`run_risk` — ``netplan risk RUN_DIR``: re-score a run's fixed plan under ``n`` draws on the
  Dask engine of ``netplan batch`` and write risk.csv, risk_tornado.csv, risk_samples.csv, risk.html.
- :func:`netplan.risk.robust.robust_plan` — ``netplan plan --robust 0.9``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from netplan.risk.engine import RiskModel, build_model
from netplan.risk.params import Param, load_uncertainty
from netplan.risk.runio import PlanInputs, read_plan
from netplan.risk.sampling import (
    Samples,
    nominal_samples,
    run_samples,
    samples_table,
    summarise,
    tornado,
)

#: the files of a risk folder, in the order they are written
RISK_FILES = ("risk.csv", "risk_tornado.csv", "risk_samples.csv", "risk.html")

__all__ = ["Param", "RiskModel", "RiskResult", "Samples", "build_model", "load_uncertainty",
           "model_for", "read_plan", "run_risk", "run_samples", "write_risk",
           "write_risk_files"]


@dataclass(frozen=True)
class RiskResult:
    """What ``netplan risk`` computed.

    Attributes
    ----------
    risk
        risk.csv (docs/risk.md): kind, stream, indicator, target, p_met, p_met_max, p05, p50, p95, nominal,
        site_id, tier, unit.
    tornado
        One-at-a-time swings per targeted indicator and uncertain number.
    samples
        The draws.
    files
        Files written.
    time_s
        Wall-clock seconds of the sampling (cluster start included).
    n_workers
        Dask workers used (0 = in-process).
    exact
        True when the array code disagreed with netplan.indicators at the nominal values and every
        draw was scored through indicators.stream_flow/share_capacity/rates (see
        :mod:`netplan.risk.engine`); ``mismatch`` names the indicators.
    """

    risk: pd.DataFrame
    tornado: pd.DataFrame
    samples: Samples
    files: list[Path]
    time_s: float
    n_workers: int
    exact: bool = False
    mismatch: tuple[str, ...] = ()


def model_for(plan: PlanInputs, *, uncertainty: str | Path | None = None) -> RiskModel:
    """The risk model of a plan, with the uncertainty file checked against its scenario and the
    candidates' reach for the siting ceiling (:func:`netplan.risk.reach.plan_reach`)."""
    from netplan.risk.reach import plan_reach
    from netplan.streams import load_coefficients

    coef = load_coefficients(overrides=plan.scenario.coefficients)
    params = load_uncertainty(plan.scenario, coef, uncertainty)
    reach = plan_reach(plan.scenario, plan.county, plan.supply)
    return build_model(plan.scenario, plan.county, plan.supply, plan.layout, coef, params,
                       plan.site_dist_m, reach)


def write_risk_files(out_dir: str | Path, model: RiskModel, risk: pd.DataFrame, torn: pd.DataFrame,
                     samples: Samples, meta: dict[str, Any]) -> list[Path]:
    """Write risk.csv, risk_tornado.csv, risk_samples.csv and risk.html into ``out_dir`` as it is
    (created if missing): for a folder already inside a staging folder (robust plans)."""
    from netplan.export import write_csv
    from netplan.risk.chart import risk_html

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    write_csv(d / RISK_FILES[0], risk)
    write_csv(d / RISK_FILES[1], torn)
    write_csv(d / RISK_FILES[2], samples_table(model, samples))
    page = risk_html(meta, risk, samples.indicators, torn, model.params)
    (d / RISK_FILES[3]).write_text(page, encoding="utf-8")
    return [d / n for n in RISK_FILES]


def write_risk(out_dir: str | Path, model: RiskModel, risk: pd.DataFrame, torn: pd.DataFrame,
               samples: Samples, meta: dict[str, Any]) -> list[Path]:
    """Write risk.csv, risk_tornado.csv, risk_samples.csv and risk.html into ``out_dir``, all four
    or none (:func:`netplan.export.staging`: the folder is swapped in whole)."""
    from netplan.export import staging

    d = Path(out_dir)
    with staging(d) as tmp:
        write_risk_files(tmp, model, risk, torn, samples, meta)
    return [d / n for n in RISK_FILES]


def _check_risk_out(run_dir: str | Path, out_dir: str | Path) -> None:
    """Refuse, before any sampling, an output folder that is the run folder or holds it (the swap
    would replace the plan), and any path :func:`netplan.export.check_out` refuses."""
    from netplan.errors import InputError
    from netplan.export import check_out

    run, out = Path(run_dir).resolve(), Path(out_dir).resolve()
    if out == run or out in run.parents:
        msg = f"the output folder {out_dir} is (or holds) the run folder {run_dir}; choose another --out"
        raise InputError(msg, file=str(out_dir), field="--out")
    check_out(out)


def run_risk(run_dir: str | Path, out_dir: str | Path, *, samples: int = 300, seed: int = 7,
             workers: int | None = None, scheduler: str | None = None,
             scenario_path: str | Path | None = None, uncertainty: str | Path | None = None,
             progress: Callable[[str], None] | None = None) -> RiskResult:
    """Re-score the plan of ``run_dir`` under ``samples`` draws and write the risk tables and page.

    Parameters
    ----------
    workers, scheduler
        Dask: a LocalCluster of ``workers`` processes (default: CPU count), or an existing
        scheduler's address. ``workers=0`` runs in-process (same numbers).
    scenario_path
        The scenario, when the run folder's run.json does not record it.
    """
    say = progress or (lambda _m: None)
    if samples < 1:
        from netplan.errors import InputError

        msg = f"expected at least 1 sample, got {samples}"
        raise InputError(msg, field="--samples")
    _check_risk_out(run_dir, out_dir)
    plan = read_plan(run_dir, scenario_path=scenario_path)
    model = model_for(plan, uncertainty=uncertainty)
    nominal = nominal_samples(model)
    say(f"{len(model.params)} uncertain numbers; {samples} draws, seed {seed}")
    if model.exact:
        say("the array code disagrees with netplan.indicators at the nominal values on "
            f"{', '.join(model.mismatch)}: scoring every draw through indicators.* (slower)")
    t0 = time.perf_counter()
    client = cluster = None
    n_workers = 0
    try:
        if workers != 0 or scheduler:
            from netplan.batch.runner import start_client

            client, cluster = start_client(scheduler, workers=workers)
            n_workers = len(client.scheduler_info().get("workers", {}))
        s = run_samples(model, samples, seed, client=client,
                        progress=lambda k, n: say(f"{k}/{n} draws scored"))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    elapsed = time.perf_counter() - t0
    risk = summarise(model, s, nominal)
    torn = tornado(model, nominal)
    meta = {"run": str(run_dir), "scenario": plan.scenario.name, "title": plan.scenario.title,
            "samples": samples, "seed": seed}
    files = write_risk(out_dir, model, risk, torn, s, meta)
    return RiskResult(risk=risk, tornado=torn, samples=s, files=files, time_s=elapsed,
                      n_workers=n_workers, exact=model.exact, mismatch=model.mismatch)
