"""Near-optimal alternatives: plans within a share of the best cost, as different as possible in
where the township stations and county centres stand.

Method (each step an ordinary solve through ``planner.run_plan``, all solves of a round in
parallel on the Dask engine of ``netplan batch``):

1. Solve the scenario: the best plan and its cost (county total, CNY/yr).
2. Round 1: for up to ``tries`` upper-tier sites of the best plan (township stations and county
   centres, taken round-robin over the streams), re-solve with that one site forbidden to that
   stream (``plan --fix`` with status closed). Every such plan differs from the best in at least
   that site.
3. Round 2, when round 1 leaves fewer than ``n - 1`` plans within the cost cap: forbid the union
   of two round-1 moves that stayed within it.
4. From the plans that meet every target the best met and cost at most ``(1 + within)`` × the
   best, pick ``n - 1`` greedily: each time the one whose smallest difference (number of
   (stream, tier, site) upper-tier sites in one plan and not the other) to the plans already
   picked is largest, cheaper first on ties. Plans that differ in no upper-tier site from a picked
   one are never picked.

This is a heuristic for "as different as possible" (a no-good / Hamming-distance constraint in
the siting model would be exact; netplan.siting offers none yet); the table reports the actual
differences.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from netplan.analysis.points import Engine, PointJob, short

COLUMNS = ["plan", "cost_cny_yr", "gap_to_best", "sites_differ", "min_differ_other", "differs",
           "targets_missed", "status", "run"]
Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    return None


def _moves(best: dict[str, Any], scenario: Any, tries: int) -> list[tuple[tuple[str, str, str], ...]]:
    """Single-site forbids of the best plan's upper-tier sites, round-robin over the streams."""
    by_stream: dict[str, list[tuple[str, str, str]]] = {}
    for s, t, site in best["upper_sites"]:
        if scenario.streams[s].tiers[t].keep_existing:
            continue  # an existing site the scenario keeps open cannot be moved
        by_stream.setdefault(s, []).append((s, t, site))
    order = [m for group in itertools.zip_longest(*by_stream.values()) for m in group if m]
    return [(m,) for m in order[:tries]]


def _diff(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[str, str, str]]:
    return set(map(tuple, a["upper_sites"])) ^ set(map(tuple, b["upper_sites"]))


def _describe(best: dict[str, Any], r: dict[str, Any]) -> str:
    sa, sb = set(map(tuple, best["upper_sites"])), set(map(tuple, r["upper_sites"]))
    if sa == sb:
        return ""
    gone = ", ".join(f"{s} {t} {x}" for s, t, x in sorted(sa - sb)) or "none"
    new = ", ".join(f"{s} {t} {x}" for s, t, x in sorted(sb - sa)) or "none"
    return f"only in best: {gone}; only in this plan: {new}"


def _pick(best: dict[str, Any], cands: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    chosen = [best]
    pool = list(cands)
    while pool and len(chosen) < k + 1:
        score = [(min(len(_diff(c, p)) for p in chosen), -c["cost"], c) for c in pool]
        d, _, c = max(score, key=lambda x: (x[0], x[1]))
        if d == 0:
            break
        chosen.append(c)
        pool.remove(c)
    return chosen[1:]


def alternatives(scenario: str | Path, *, n: int = 3, within: float = 0.02, out_dir: str | Path,
                 tries: int | None = None, workers: int | None = None, scheduler: str | None = None,
                 client: Any = None, time_limit_s: float | None = None, maps: bool = True,
                 progress: Progress = _noop) -> pd.DataFrame:
    """``n`` plans (the best first) each within ``within`` (share) of the best cost, as different
    as possible in township stations and county centres; writes alternatives.csv and the
    comparison (``compare/``) into ``out_dir``.

    Parameters
    ----------
    scenario
        Scenario TOML.
    n
        Plans wanted, the best included.
    within
        Cost cap as a share of the best plan's cost (0.02 = 2 %).
    out_dir
        Output folder: ``alternatives.csv``, ``runs/<plan>/`` and ``compare/`` (compare.html,
        compare_map.html of the best and the first alternative) plus ``compare_map_<plan>.html``
        for each alternative against the best.
    tries
        Single-site solves of round 1 (default ``2 * n``).
    workers, scheduler, client, time_limit_s, maps, progress
        As :func:`netplan.analysis.curve.frontier`.

    Returns
    -------
    pandas.DataFrame
        One row per plan (``COLUMNS``): cost CNY/yr, gap to best (share), upper-tier sites that
        differ from the best and the smallest difference to any other plan listed.
    """
    from netplan.scenario import load_scenario

    sc_path = Path(scenario).resolve()
    sc = load_scenario(sc_path)
    from netplan.export import check_out

    out = check_out(out_dir, inputs=[sc.county_dir], keep=("runs", "compare"))
    tries = tries or 2 * n

    def job(name: str, forbid: tuple = ()) -> PointJob:
        return PointJob(key=name, scenario_path=sc_path, run_dir=out / "runs" / name, forbid=forbid,
                        time_limit_s=time_limit_s, maps=maps, cost_stream="all")

    with Engine(workers=workers, scheduler=scheduler, client=client) as eng:
        def on_done(r: dict[str, Any], i: int, m: int) -> None:
            progress(f"[{i}/{m}] {r['key']}: {short(r['status'])}"
                     + (f", {r['total_cost_cny_yr']:,.0f} CNY/yr" if r.get("ok") else ""))

        progress(f"best plan on {eng.n_workers} worker(s)")
        best = eng.run([job("best")], on_done)[0]
        if not best.get("ok"):
            from netplan.errors import NetplanError

            raise NetplanError(f"the best plan could not be found: {best['status']}")
        best["cost"] = best["total_cost_cny_yr"]
        cap = best["cost"] * (1 + within)
        moves = _moves(best, sc, tries)
        progress(f"round 1: {len(moves)} plans, each without one upper-tier site of the best")
        found = _round(eng, moves, job, on_done, best)
        ok = [r for r in found if r["cost"] <= cap]
        if len(_pick(best, ok, n - 1)) < n - 1 and len(ok) >= 2:
            pairs = [tuple(sorted(set(a["forbid"]) | set(b["forbid"])))
                     for a, b in itertools.combinations(ok, 2)][:tries]
            progress(f"round 2: {len(pairs)} plans, each without two sites")
            found += _round(eng, pairs, job, on_done, best, start=len(found))
            ok = [r for r in found if r["cost"] <= cap]
    # with time-limited solves a re-solve can beat the first plan: the cheapest plan that misses
    # no more targets is the reference ("best"), the first plan a candidate like the others
    cheaper = [r for r in found if r["cost"] < best["cost"]]
    if cheaper:
        new_best = min(cheaper, key=lambda r: r["cost"])
        progress(f"{new_best['key']} is cheaper than the first solve: it is the best plan")
        found = [r for r in found if r is not new_best] + [best]
        best = new_best
        ok = [r for r in found if r["cost"] <= best["cost"] * (1 + within)]
    picked = _pick(best, ok, n - 1)
    rows = _rows(best, picked, out)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["tried"] = len(found)
    _write(df, out, best, picked)
    return df


def _round(eng: Engine, moves: list[tuple], job: Callable, on_done: Callable, best: dict[str, Any],
           start: int = 0) -> list[dict[str, Any]]:
    jobs = [job(f"try_{start + i + 1:02d}", m) for i, m in enumerate(moves)]
    res = []
    for m, r in zip(moves, eng.run(jobs, on_done), strict=True):
        if r.get("ok") and not (set(r["missed"]) - set(best["missed"])):
            r["cost"], r["forbid"] = r["total_cost_cny_yr"], m
            res.append(r)
    return res


def _rows(best: dict[str, Any], picked: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    plans = [best, *picked]
    rows = []
    for i, r in enumerate(plans):
        others = [len(_diff(r, p)) for p in plans if p is not r]
        rows.append({
            "plan": "best" if i == 0 else f"alternative_{i}", "cost_cny_yr": r["cost"],
            "gap_to_best": r["cost"] / best["cost"] - 1 if best["cost"] else 0.0,
            "sites_differ": len(_diff(best, r)), "min_differ_other": min(others) if others else 0,
            "differs": _describe(best, r), "targets_missed": ";".join(r["missed"]),
            "status": r["status"] + (f"; without {', '.join(' '.join(f) for f in r['forbid'])}"
                                     if r.get("forbid") else ""),
            "run": Path(r["run"]).relative_to(out).as_posix()})
    return rows


def _write(df: pd.DataFrame, out: Path, best: dict[str, Any], picked: list[dict[str, Any]]) -> None:
    from netplan.compare import compare_runs, write_compare, write_compare_map_of
    from netplan.export import staging, write_csv

    runs = [Path(best["run"])] + [Path(p["run"]) for p in picked]
    with staging(out, keep=("runs",)) as tmp:
        write_csv(tmp / "alternatives.csv", df)
        for i, p in enumerate(picked, start=1):
            write_compare_map_of(Path(best["run"]), Path(p["run"]), ("best", f"alternative_{i}"),
                                 tmp / f"compare_map_alternative_{i}.html")
    if len(runs) >= 2:
        table, misses = compare_runs(runs)
        write_compare(table, misses, out / "compare", runs)
