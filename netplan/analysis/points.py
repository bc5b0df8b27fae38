"""One solve of a sweep: a scenario variant planned on a worker, its run folder and its table row.

The analyses (:mod:`netplan.analysis.curve`, :mod:`netplan.analysis.near_optimal`) describe each
solve as a small picklable :class:`PointJob`; :func:`solve_point` runs it (on a Dask worker, or in
process) through the ordinary pipeline (``planner.run_plan``, ``runfolder.write_run``) and returns
a plain dict. A failed or infeasible solve is a dict that says why; it never raises.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netplan.errors import InputError
from netplan.model import TIERS
from netplan.scenario import Scenario

# indicator of a frontier -> the siting model's coverage constraint it sets (StreamParams.coverage_on)
COVERAGE_ON = {"village_coverage": "count", "tonnage_coverage": "weight"}
UPPER_TIERS = ("township_station", "county_center")
COST_KEYS = ("total_cost_cny_yr", "capex_cny", "opex_cny_yr", "transport_cost_cny_yr")


@dataclass(frozen=True)
class PointJob:
    """One solve.

    Attributes
    ----------
    key
        Unique name of the solve (also its run folder name).
    scenario_path
        Scenario TOML, loaded on the worker.
    run_dir
        The solve's run folder.
    stream, indicator, target
        The swept stream's indicator and its target (fraction); None = the scenario unchanged.
    alone
        Plan the swept stream alone (it shares no site with another stream).
    time_limit_s
        Siting limit, CPU seconds (None = the scenario's).
    maps
        Write the HTML maps of the run folder.
    score_layout
        A layout table (CSV) to score instead of optimising (the repair step of a frontier).
    forbid
        ``(stream, tier, site_id)`` triples closed to the optimiser (alternatives).
    cost_stream
        Whose costs the row reports: a stream id, or "all" (the county totals).
    start_from
        Key of another job of the same batch whose plan warm-starts this one
        (``planner.run_plan(start_layout=...)``); the engine runs this job after that one.
    budget_cny_yr
        Solve the max-coverage form instead (:mod:`netplan.analysis.maxcover`): the most of
        ``stream``'s ``indicator`` within this yearly cost, CNY/yr (``target`` is then None).
    start_layout, start_label
        A finished plan (``Layout``) that starts a budget job's MIP, and what it is.
    """

    key: str
    scenario_path: Path
    run_dir: Path
    stream: str | None = None
    indicator: str | None = None
    target: float | None = None
    alone: bool = False
    time_limit_s: float | None = None
    maps: bool = True
    score_layout: Path | None = None
    forbid: tuple[tuple[str, str, str], ...] = ()
    cost_stream: str = "all"
    budget_cny_yr: float | None = None
    start_from: str | None = None
    start_layout: Any = None
    start_label: str = ""


def short(status: str, n: int = 200) -> str:
    """A status cut to ``n`` characters for a progress line (the table keeps it whole)."""
    status = str(status)
    return status if len(status) <= n else status[:n - 1] + "…"


def shares_sites(scenario: Scenario, stream: str) -> bool:
    """True when ``stream`` shares sites with another stream (the [sharing] table)."""
    return any(stream in g for groups in scenario.sharing.values() for g in groups)


def check_sweep(scenario: Scenario, stream: str, indicator: str) -> None:
    """Raise InputError unless ``stream`` is planned and ``indicator`` is one the siting can target."""
    if stream not in scenario.streams:
        msg = f"stream {stream!r} is not planned by the scenario (have {', '.join(scenario.streams)})"
        raise InputError(msg, file=str(scenario.path), field="--stream")
    if indicator not in COVERAGE_ON:
        msg = (f"indicator {indicator!r} cannot be swept: the siting model targets "
               f"{' or '.join(COVERAGE_ON)} (the coverage constraint); rates follow from them")
        raise InputError(msg, field="--indicator")


def variant(scenario: Scenario, stream: str, indicator: str, target: float, *,
            alone: bool = False, time_limit_s: float | None = None) -> Scenario:
    """The scenario with ``stream``'s ``indicator`` target (fraction) set to ``target``.

    The siting coverage constraint of the stream is set to the same value and counted as the
    indicator counts (villages or tonnage); with ``alone`` the stream is planned without the
    others (valid only when it shares no site with them).
    """
    check_sweep(scenario, stream, indicator)
    sp = dataclasses.replace(scenario.streams[stream], coverage_target=float(target),
                             coverage_on=COVERAGE_ON[indicator])
    streams = dict(scenario.streams)
    streams[stream] = sp
    targets = dict(scenario.targets)
    targets[(stream, indicator)] = float(target)
    if alone:
        streams = {stream: sp}
        targets = {k: v for k, v in targets.items() if k[0] == stream}
    out = dataclasses.replace(scenario, streams=streams, targets=targets)
    if time_limit_s is not None:
        out = dataclasses.replace(out, time_limit_s=float(time_limit_s))
    return out


def _forbid_table(scenario: Scenario, forbid: Sequence[tuple[str, str, str]]) -> Any:
    """A ``--fix`` layout table that closes the given (stream, tier, site) to the optimiser."""
    import geopandas as gpd

    from netplan.candidates import build_candidates
    from netplan.planner import load_inputs

    cands = build_candidates(load_inputs(scenario)).set_index("site_id")
    rows = []
    for stream, tier, site_id in forbid:
        c = cands.loc[site_id]
        rows.append({"site_id": site_id, "name": c.get("name", site_id), "streams": stream,
                     "tier": tier, "lon": c.geometry.x, "lat": c.geometry.y,
                     "capacity_t": float("nan"), "status": "closed"})
    return gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy([r["lon"] for r in rows],
                                                              [r["lat"] for r in rows]),
                            crs="EPSG:4326")


def _value(kpis: Any, stream: str, indicator: str) -> float:
    row = kpis[(kpis["stream"] == stream) & (kpis["indicator"] == indicator)]
    return float(row["value"].iloc[0]) if len(row) else float("nan")


def plan_row(plan: Any, job: PointJob) -> dict[str, Any]:
    """The table row of a finished plan: achieved indicator, costs, sites per tier, gap, status."""
    k = plan.kpis
    cs = job.cost_stream
    row: dict[str, Any] = {key: _value(k, cs, key) for key in COST_KEYS}
    sites = plan.layout.sites
    streams = [job.stream] if cs != "all" and job.stream else list(plan.scenario.stream_ids)
    for t in TIERS:
        sel = sites[(sites["tier"] == t) & sites["stream"].isin(streams)] if len(sites) else sites
        row[f"sites_{t}"] = int(len(sel))
    # the solve of the block(s) the row's costs come from: absolute gap summed, relative to objective
    solves = [plan.layout.solve.get(s, {}) for s in streams]
    blocks = {d.get("block", s): d for s, d in zip(streams, solves, strict=True)}
    obj = sum(float(d.get("objective") or 0.0) for d in blocks.values())
    bound = sum(float(d.get("bound") or 0.0) for d in blocks.values())
    statuses = sorted({str(d.get("status", "scored")) for d in blocks.values()})
    row.update(objective_cny_yr=obj, bound_cny_yr=bound,
               gap=(obj - bound) / abs(obj) if obj else 0.0, status="/".join(statuses) or "scored")
    if job.stream and job.indicator:
        row["achieved"] = _value(k, job.stream, job.indicator)
        if job.target is not None and row["achieved"] < job.target - 1e-9:
            row["status"] += f"; target missed ({row['achieved']:.4f} < {job.target:.4f})"
    tgt = k[k["target"].notna()] if "target" in k else k.iloc[:0]
    row["missed"] = sorted(f"{r.stream}.{r.indicator}" for r in tgt.itertuples(index=False)
                           if r.met is False or r.met == 0)
    row["upper_sites"] = sorted(
        (str(r.stream), str(r.tier), str(r.site_id))
        for r in sites.itertuples(index=False) if r.tier in UPPER_TIERS) if len(sites) else []
    return row


def solve_point(job: PointJob, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plan one :class:`PointJob` and write its run folder; never raises.

    ``start``: the row of the job named by ``job.start_from``; its plan (``layout``) warm-starts
    this solve when it was solved (a failed start leaves this solve cold).

    Returns the row of :func:`plan_row` plus ``key``, ``target``, ``run``, ``ok``, ``time_s``,
    ``cpu_s``, ``layout`` (the plan's Layout, for the next warm start) and ``started_from``; a
    failure gives ``ok`` False and ``status`` "failed: <kind>: <message>" or
    "infeasible: <message>".
    """
    from netplan.errors import InfeasibleError
    from netplan.planner import run_plan
    from netplan.runfolder import write_run
    from netplan.scenario import load_scenario

    t0, c0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"key": job.key, "target": job.target, "run": str(job.run_dir),
                           "budget_cny_yr": job.budget_cny_yr}
    try:
        sc = load_scenario(job.scenario_path)
        if job.budget_cny_yr is not None:
            out.update(ok=True)
            out.update(_solve_budget(sc, job))
            out.update(time_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
            return out
        if job.stream and job.indicator and job.target is not None:
            sc = variant(sc, job.stream, job.indicator, job.target, alone=job.alone,
                         time_limit_s=job.time_limit_s)
        elif job.time_limit_s is not None:
            sc = dataclasses.replace(sc, time_limit_s=float(job.time_limit_s))
        kw: dict[str, Any] = {}
        if job.score_layout is not None:
            from netplan.layout_io import read_layout

            kw["layout_table"] = read_layout(job.score_layout, streams=sc.stream_ids)
        elif job.forbid:
            kw["fix"] = _forbid_table(sc, job.forbid)
        if job.score_layout is None and start is not None and start.get("layout") is not None:
            kw["start_layout"] = start["layout"]
            out["started_from"] = start["key"]
        plan = run_plan(sc, **kw)
        write_run(plan, job.run_dir, maps=job.maps)
        out.update(plan_row(plan, job), ok=True, layout=plan.layout)
        if job.score_layout is not None:
            out["status"] = "scored"
        elif "started_from" in out:
            src = (f"target {start['target']:.4f}" if start.get("target") is not None
                   else start["key"])
            out["status"] += f"; warm start: plan of {src}"
    except InfeasibleError as exc:
        out.update(ok=False, run="", status="infeasible: " + " ".join(str(exc).split()))
    except Exception as exc:  # any failure becomes the row's status; the sweep goes on
        out.update(ok=False, run="",
                   status=f"failed: {type(exc).__name__}: " + " ".join(str(exc).split()))
    out.update(time_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    return out


def _solve_budget(sc: Scenario, job: PointJob) -> dict[str, Any]:
    """The max-coverage plan of a budget job, its run folder and its row (status says what the
    MIP proved: the coverage found and its bound; the evaluated cost against the budget)."""
    from netplan.analysis.maxcover import budget_plan
    from netplan.runfolder import write_run

    assert job.stream and job.indicator and job.budget_cny_yr is not None
    b = float(job.budget_cny_yr)
    sc = variant(sc, job.stream, job.indicator, 0.0, alone=job.alone, time_limit_s=job.time_limit_s)
    plan, res = budget_plan(sc, stream=job.stream, on=COVERAGE_ON[job.indicator], budget_cny_yr=b,
                            time_limit_s=job.time_limit_s, start_layout=job.start_layout)
    what = "villages" if COVERAGE_ON[job.indicator] == "count" else "tonnage"
    proof = ("proven the most" if res.status == "optimal"
             else f"{res.status}, at most {res.share_bound:.4f} possible")
    if plan is None:
        return {"achieved": 0.0, "total_cost_cny_yr": 0.0, "gap": res.gap, "run": "",
                "budget_cny_yr": b, "ok": False,
                "status": f"budget {b:,.0f} CNY/yr: max-coverage model: buys none of the {what} "
                          + ("(proven: every plan serving any costs more)" if res.status == "optimal"
                             else f"({proof})")}
    write_run(plan, job.run_dir, maps=job.maps)
    row = plan_row(plan, job)
    row.update(gap=res.gap, objective_cny_yr=res.cost_cny_yr, bound_cny_yr=res.cost_cny_yr,
               status=(f"budget {b:,.0f} CNY/yr: max-coverage model, {res.share:.4f} of the "
                       f"{what} ({proof}); cheapest plan of that coverage: "
                       f"{res.cost_cny_yr:,.0f} CNY/yr"
                       + ("" if math.isnan(res.cost_gap) else f" (gap {res.cost_gap:.2%})")
                       + (f"; MIP start: {job.start_label}" if job.start_layout is not None else "")))
    if row["total_cost_cny_yr"] > b * (1 + 1e-9) + 1.0:
        row["status"] += f"; evaluated cost {row['total_cost_cny_yr']:,.0f} is over the budget"
    row["budget_cny_yr"] = b
    return row


Done = Callable[[dict[str, Any], int, int], None]


class Engine:
    """Solves :class:`PointJob` lists on the Dask engine ``netplan batch`` uses.

    A LocalCluster of ``workers`` processes, an existing ``scheduler``, or a connected ``client``
    (not closed); ``workers=0`` solves in this process (tests, debugging).
    """

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None,
                 client: Any = None) -> None:
        self.client, self.cluster, self.own = client, None, False
        if client is None and workers != 0:
            from netplan.batch.runner import start_client

            self.client, self.cluster = start_client(scheduler, workers=workers)
            self.own = True

    def run(self, jobs: Sequence[PointJob], on_done: Done | None = None) -> list[dict[str, Any]]:
        """Solve ``jobs``; results in job order; ``on_done(row, n_finished, n_total)`` per finish."""
        res: dict[str, dict[str, Any]] = {}
        keys = [j.key for j in jobs]
        for i, j in enumerate(jobs):
            if j.start_from is not None and j.start_from not in keys[:i]:
                msg = f"job {j.key} starts from {j.start_from}, which is not an earlier job"
                raise ValueError(msg)
        if self.client is None:
            for job in jobs:
                res[job.key] = solve_point(job, res.get(job.start_from or ""))
                if on_done:
                    on_done(res[job.key], len(res), len(jobs))
            return [res[j.key] for j in jobs]
        from distributed import as_completed

        by_key: dict[str, Any] = {}
        futs = {}
        for j in jobs:   # a warm-started job waits for its start's future (passed as its result)
            args = (j,) if j.start_from is None else (j, by_key[j.start_from])
            fut = self.client.submit(solve_point, *args, key=f"point-{j.key}-{time.time_ns()}",
                                     pure=False, retries=0)
            by_key[j.key] = fut
            futs[fut] = j
        for fut in as_completed(list(futs)):
            job = futs[fut]
            try:
                r = fut.result()
            except Exception as exc:  # the worker died or was lost
                r = {"key": job.key, "target": job.target, "run": str(job.run_dir), "ok": False,
                     "status": f"failed: worker lost: {type(exc).__name__}: {exc}"}
            res[job.key] = r
            if on_done:
                on_done(r, len(res), len(jobs))
        return [res[j.key] for j in jobs]

    @property
    def n_workers(self) -> int:
        """Workers of the cluster (1 when solving in process)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info().get("workers", {}))

    def close(self) -> None:
        """Close the client and cluster this engine started."""
        if self.own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
