"""Cost–coverage frontier: the plan's cost at each target of one stream's coverage indicator.

:func:`frontier` solves the scenario once per target (the swept stream alone when it shares no
site with another stream: the other streams' plans do not change), each point its own run folder,
all points in parallel on the Dask engine of ``netplan batch``. It then makes the curve honest and
answers budgets:

* **Honest curve.** A plan for a higher target also meets every lower one, so the cheapest plan at
  a lower target costs at most as much. Where a lower target's plan costs more than a higher
  target's by more than the lower solve's reported gap (objective − bound, CNY/yr), the higher
  target's plan is scored under the lower target (``run_plan(layout_table=...)``) and taken when it
  meets the target and is cheaper (status says so); a fall that remains is flagged in the row.
* **Budgets.** The best coverage a budget (CNY/yr) buys is the max-coverage form of the same
  model (:mod:`netplan.analysis.maxcover`: coverage as the objective, the evaluated yearly cost
  as a row <= budget), one solve per budget after the curve (in parallel with each other),
  started from the curve's plan covering most within the budget; the row's
  status gives what the MIP proved (coverage found, its bound) and names any curve point that
  fits the budget and covers more.

Costs are the swept stream's (or, when it shares sites, the county totals'): the evaluated yearly
cost of kpis.csv (annualised capital, operating, transport and the per-tonne items such as baling
and storage), CNY/yr. The gap is the siting solve's, on its own objective (sites, link transport
and the scenario's unserved-tonnage penalty; no per-tonne items), and the honest-curve tolerance
is that solve's objective − bound in CNY/yr.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netplan.analysis.points import Engine, PointJob, check_sweep, shares_sites, short
from netplan.errors import InputError
from netplan.runfolder import LAYOUT_CSV

COLUMNS = ["stream", "indicator", "target", "achieved", "total_cost_cny_yr", "capex_cny", "opex_cny_yr",
           "transport_cost_cny_yr", "sites_village_point", "sites_township_station",
           "sites_county_center", "gap", "status", "run"]
RUNS = "runs"
Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    return None


def target_range(start: float, stop: float, step: float) -> list[float]:
    """Targets ``start, start+step, …`` up to and including ``stop`` (fractions, rounded to 1e-4)."""
    if step <= 0 or not 0 <= start <= stop <= 1:
        msg = f"expected 0 <= from <= to <= 1 and step > 0, got {start}, {stop}, {step}"
        raise InputError(msg, field="--from/--to/--step")
    n = int(math.floor((stop - start) / step + 1e-9))
    out = [round(start + i * step, 4) for i in range(n + 1)]
    if out[-1] < stop - 1e-9:
        out.append(round(stop, 4))
    return out


def _job(sc_path: Path, out: Path, stream: str, indicator: str, t: float, *, alone: bool,
         time_limit_s: float | None, maps: bool, score: Path | None = None, tag: str = "",
         start_from: str | None = None) -> PointJob:
    name = f"target_{t:.4f}{tag}"
    return PointJob(key=name, scenario_path=sc_path, run_dir=out / RUNS / name, stream=stream,
                    indicator=indicator, target=t, alone=alone, time_limit_s=time_limit_s,
                    maps=maps, score_layout=score, cost_stream=stream if alone else "all",
                    start_from=start_from)


def chains(targets: Sequence[float], k: int) -> list[list[float]]:
    """The targets from the highest down, split into ``k`` contiguous chains of near-equal length
    (the longer ones first). Within a chain each point is warm-started from the plan of the one
    before it (the next higher target, whose plan meets this target too); each chain's first
    point is solved cold."""
    desc = sorted(targets, reverse=True)
    k = max(1, min(int(k), len(desc)))
    q, r = divmod(len(desc), k)
    out, i = [], 0
    for c in range(k):
        n = q + (1 if c < r else 0)
        out.append(desc[i:i + n])
        i += n
    return out


def _good(r: dict[str, Any]) -> bool:
    return bool(r.get("ok")) and "target missed" not in str(r.get("status", ""))


def _abs_gap(r: dict[str, Any]) -> float:
    return max(0.0, float(r.get("objective_cny_yr", 0.0)) - float(r.get("bound_cny_yr", 0.0)))


def falls(points: dict[float, dict[str, Any]]) -> list[tuple[float, float]]:
    """Pairs (lower target, higher target) whose cost falls as the target rises beyond the lower
    solve's gap: cost(higher) < cost(lower) − (objective − bound of lower), CNY/yr."""
    good = sorted((t, r) for t, r in points.items() if _good(r))
    out = []
    for i, (ti, ri) in enumerate(good):
        for tj, rj in good[i + 1:]:
            if rj["total_cost_cny_yr"] < ri["total_cost_cny_yr"] - _abs_gap(ri) - 1e-6:
                out.append((ti, tj))
    return out


def _repair(points: dict[float, dict[str, Any]], run: Callable, mk: Callable, say: Progress,
            longer_s: float) -> None:
    """Make the curve honest: for each lower target costing more than a higher target's plan
    beyond its gap, (1) score that plan under the lower target and take it when it meets the
    target and is cheaper, (2) re-solve the points still falling with ``longer_s`` CPU seconds,
    (3) flag what remains."""
    best: dict[float, float] = {}
    for lo, hi in falls(points):   # per lower target, the cheapest higher plan
        if lo not in best or points[hi]["total_cost_cny_yr"] < points[best[lo]]["total_cost_cny_yr"]:
            best[lo] = hi
    if best:
        say(f"honest curve: {len(best)} point(s) cost more than a higher target's plan; "
            "scoring those plans at the lower targets")
        jobs = [mk(lo, score=Path(points[hi]["run"]) / LAYOUT_CSV, tag=f"_plan_{hi:.4f}")
                for lo, hi in sorted(best.items())]
        for (lo, hi), r in zip(sorted(best.items()), run(jobs), strict=True):
            old = points[lo]
            if _good(r) and r["total_cost_cny_yr"] < old["total_cost_cny_yr"]:
                r["gap"] = points[hi].get("gap", float("nan"))
                r["objective_cny_yr"], r["bound_cny_yr"] = r["total_cost_cny_yr"], old["bound_cny_yr"]
                r["status"] = (f"plan of target {hi:.4f} scored at this target: cheaper than this "
                               f"target's own solve ({old['total_cost_cny_yr']:,.0f} CNY/yr, "
                               f"{old['status']}); gap = that plan's solve")
                points[lo] = r
    again = sorted({lo for lo, _ in falls(points) if "optimal" not in str(points[lo]["status"])})
    if again:
        say(f"honest curve: {len(again)} point(s) still fall; re-solving with {longer_s:.0f} CPU s")
        for lo, r in zip(again, run([mk(lo, tag="_longer", limit=longer_s) for lo in again]),
                         strict=True):
            if _good(r) and r["total_cost_cny_yr"] < points[lo]["total_cost_cny_yr"]:
                r["status"] += f" (re-solved with {longer_s:.0f} CPU s)"
                points[lo] = r
    for lo, hi in falls(points):
        points[lo]["status"] += (f"; cost above target {hi:.4f}'s by more than this solve's gap "
                                 "(a longer solve would lower it)")


def _started(job: PointJob, points: dict[float, dict[str, Any]]) -> PointJob:
    """A budget job started from the curve's plan covering most within its budget (if any)."""
    fits = [(r["achieved"], -r["total_cost_cny_yr"], t) for t, r in points.items()
            if _good(r) and r.get("layout") is not None
            and r["total_cost_cny_yr"] <= float(job.budget_cny_yr or 0)]
    if not fits:
        return job
    t = max(fits)[2]
    return dataclasses.replace(job, start_layout=points[t]["layout"],
                               start_label=f"plan of target {t:.4f}")


def _budget_rows(points: dict[float, dict[str, Any]], brows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Budget rows (max-coverage solves) checked against the curve: a curve point within a
    budget that covers more than the budget's plan is named in its status (the max-coverage
    solve stopped before proving its coverage)."""
    out = []
    for r in brows:
        r = dict(r)
        r["target"] = float("nan")
        b = float(r.get("budget_cny_yr", float("nan")))
        if not r.get("ok") and not str(r.get("status", "")).startswith("budget"):
            r["status"] = f"budget {b:,.0f} CNY/yr: max-coverage model: {r['status']}"
        better = [(t, p) for t, p in sorted(points.items()) if _good(p)
                  and p["total_cost_cny_yr"] <= b and r.get("ok")
                  and p["achieved"] > float(r.get("achieved", 0.0)) + 1e-9]
        if better:
            t, p = max(better, key=lambda x: x[1]["achieved"])
            r["status"] += (f"; the curve's plan of target {t:.4f} fits this budget and covers "
                            f"more ({p['achieved']:.4f} at {p['total_cost_cny_yr']:,.0f} CNY/yr)")
        out.append(r)
    return out


def frontier(scenario: str | Path, *, stream: str, indicator: str, targets: Sequence[float] = (),
             budgets: Sequence[float] = (), out_dir: str | Path, workers: int | None = None,
             scheduler: str | None = None, client: Any = None, time_limit_s: float | None = None,
             maps: bool = True, html: bool = True, warm: bool = True, chains_n: int | None = None,
             progress: Progress = _noop) -> pd.DataFrame:
    """Solve ``scenario`` once per target of ``stream``'s ``indicator``; write frontier.csv/.html.

    Parameters
    ----------
    scenario
        Scenario TOML.
    stream, indicator
        The swept stream and its coverage indicator ("village_coverage" or "tonnage_coverage").
    targets
        Target values, fractions 0–1.
    budgets
        Budgets, CNY/yr: each gives a row with the best coverage it buys (max-coverage model).
    out_dir
        Output folder: ``frontier.csv``, ``frontier.html`` and ``runs/<point>/`` run folders.
    workers, scheduler, client
        Dask engine as ``netplan batch`` (LocalCluster of ``workers`` processes, an existing
        scheduler address, or a connected client); ``workers=0`` solves in this process.
    time_limit_s
        Siting limit per point, CPU seconds (default: the scenario's).
    maps
        Write each point's HTML maps (the chart's points link to them).
    warm, chains_n
        Warm starts: the targets from the highest down in ``chains_n`` chains (default: the
        engine's worker count), each point started from the previous point of its chain
        (:func:`chains`); ``warm=False`` solves every point cold. A point's plan depends on the
        chain split, never on which worker finishes first.
    progress
        Called with a line per finished point.

    Returns
    -------
    pandas.DataFrame
        The rows of frontier.csv (``COLUMNS``): the curve by target, then one row per budget.
    """
    from netplan.scenario import load_scenario

    sc_path = Path(scenario).resolve()
    sc = load_scenario(sc_path)
    check_sweep(sc, stream, indicator)
    ts = sorted({round(float(t), 4) for t in targets})
    if not ts and not budgets:
        raise InputError("give targets (--targets or --from/--to/--step) or --budgets", field="--targets")
    if any(not 0 <= t <= 1 for t in ts):
        raise InputError(f"targets must be fractions 0-1, got {ts}", field="--targets")
    budgets = sorted({float(b) for b in budgets})
    if any(not (b > 0 and math.isfinite(b)) for b in budgets):
        raise InputError(f"budgets must be positive CNY/yr, got {budgets}", field="--budgets")
    from netplan.export import check_out

    out = check_out(out_dir, inputs=[sc.county_dir], keep=(RUNS,))
    alone = not shares_sites(sc, stream)

    def mk(t: float, limit: float | None = None, **kw: Any) -> PointJob:
        return _job(sc_path, out, stream, indicator, t, alone=alone,
                    time_limit_s=limit or time_limit_s, maps=maps, **kw)

    with Engine(workers=workers, scheduler=scheduler, client=client) as eng:
        def on_done(r: dict[str, Any], i: int, n: int) -> None:
            cost = r.get("total_cost_cny_yr")
            what = (f"target {r['target']:.4f}" if r.get("target") is not None
                    else f"budget {r.get('budget_cny_yr', float('nan')):,.0f}")
            progress(f"[{i}/{n}] {what}: {short(r['status'])}"
                     + (f", achieved {r['achieved']:.4f}, {cost:,.0f} CNY/yr" if r.get("ok") else "")
                     + f" ({r.get('time_s', 0):.0f} s)")

        def run(jobs: list[PointJob]) -> list[dict[str, Any]]:
            return eng.run(jobs, on_done)

        progress(f"{len(ts)} points of {stream}.{indicator}"
                 + (f" and {len(budgets)} budget(s)" if budgets else "")
                 + f" on {eng.n_workers} worker(s)"
                 + (" (the stream alone: it shares no site)" if alone else " (all streams)"))
        bjobs = [dataclasses.replace(mk(0.0), key=f"budget_{b:.0f}", run_dir=out / RUNS / f"budget_{b:.0f}",
                                     target=None, budget_cny_yr=float(b)) for b in budgets]
        split = chains(ts, (chains_n or eng.n_workers) if warm else len(ts)) if ts else []
        cjobs: list[PointJob] = []
        for chain in split:
            for i, t in enumerate(chain):
                cjobs.append(mk(t, start_from=cjobs[-1].key if i else None))
        if warm and ts:
            progress(f"warm starts: {len(split)} chain(s) from the highest target down: "
                     + "; ".join(" → ".join(f"{t:.4f}" for t in c) for c in split))
        res = run(cjobs)
        points = {j.target: r for j, r in zip(cjobs, res, strict=True)}
        _repair(points, run, mk, progress, 2 * (time_limit_s or sc.time_limit_s))
        brows = _budget_rows(points, run([_started(j, points) for j in bjobs]))
    rows = [points[t] for t in sorted(points)] + brows
    df = _table(rows, stream, indicator, out)
    write_frontier(df, out, scenario=sc, budgets=budgets, html=html)
    return df


def _table(rows: list[dict[str, Any]], stream: str, indicator: str, out: Path) -> pd.DataFrame:
    recs = []
    for r in rows:
        run = r.get("run") or ""
        if run:
            run = Path(run).resolve().relative_to(out).as_posix() if Path(run).is_absolute() else run
        rec = {c: r.get(c, np.nan) for c in COLUMNS}
        rec.update(stream=stream, indicator=indicator, run=run)
        if isinstance(rec["gap"], float) and math.isfinite(rec["gap"]):
            rec["gap"] = round(max(0.0, rec["gap"]), 6)
        recs.append(rec)
    df = pd.DataFrame(recs, columns=COLUMNS)
    for c in ("sites_village_point", "sites_township_station", "sites_county_center"):
        df[c] = df[c].astype("Int64")
    return df


def write_frontier(df: pd.DataFrame, out_dir: Path, *, scenario: Any = None,
                   budgets: Sequence[float] = (), html: bool = True) -> list[Path]:
    """Write ``frontier.csv`` (UTF-8 with BOM) and ``frontier.html`` into ``out_dir`` atomically."""
    from netplan.analysis.chart import frontier_html
    from netplan.export import staging, write_csv

    names = ["frontier.csv"] + (["frontier.html"] if html else [])
    with staging(Path(out_dir), keep=(RUNS,)) as tmp:
        write_csv(tmp / "frontier.csv", df)
        if html:
            title = scenario.title if scenario is not None else "netplan frontier"
            (tmp / "frontier.html").write_text(frontier_html(df, title=title, budgets=budgets),
                                               encoding="utf-8")
    return [Path(out_dir) / n for n in names]
