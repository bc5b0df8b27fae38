"""``netplan frontier SCENARIO`` (cost–coverage curve, budgets) and ``netplan alternatives SCENARIO``
(near-optimal, maximally different plans): thin commands over :mod:`netplan.analysis`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from netplan.cli._app import app, console, friendly, out_console
from netplan.errors import InputError


def _floats(text: str | None, field: str) -> list[float]:
    """``"0.7,0.82,1"`` or ``"2e7,3e7"`` → floats; InputError naming the option otherwise."""
    if not text:
        return []
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        msg = f"expected comma-separated numbers, got {text!r}"
        raise InputError(msg, field=field) from None


def _say(msg: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(msg)}", highlight=False)


@app.command("frontier")
@friendly
def frontier_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file")],
    stream: Annotated[str, typer.Option(help="Stream whose target is swept, e.g. straw")] = "straw",
    indicator: Annotated[str, typer.Option(
        help="Swept indicator: village_coverage or tonnage_coverage")] = "village_coverage",
    targets: Annotated[str | None, typer.Option(help="Targets, comma-separated fractions: 0.7,0.82,1")] = None,
    from_: Annotated[float | None, typer.Option("--from", help="First target of a range (fraction)")] = None,
    to: Annotated[float | None, typer.Option(help="Last target of a range (fraction)")] = None,
    step: Annotated[float, typer.Option(help="Step of the range")] = 0.025,
    budgets: Annotated[str | None, typer.Option(
        help="Budgets, CNY/yr, comma-separated (2e7,3e7): the best coverage each buys "
             "(max-coverage form of the model)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Worker processes of the LocalCluster (default: CPU count; 0 = in this process)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Existing Dask scheduler, tcp://host:port (default: a LocalCluster)")] = None,
    time_limit: Annotated[float | None, typer.Option(
        min=0.1, help="Siting limit per point, CPU seconds (default: the scenario's)")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<name>-frontier)")] = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip each point's HTML maps")] = False,
    chains: Annotated[int | None, typer.Option(
        min=1, help="Warm-start chains from the highest target down (default: one per worker)")] = None,
    cold: Annotated[bool, typer.Option("--cold", help="Solve every point cold (no warm starts)")] = False,
) -> None:
    """Cost against coverage: solve the scenario once per target of one stream's indicator (in
    parallel on Dask) and write frontier.csv, frontier.html and one run folder per point."""
    from netplan.analysis.curve import frontier as run_frontier
    from netplan.analysis.curve import target_range
    from netplan.scenario import load_scenario

    t0 = time.perf_counter()
    ts = _floats(targets, "--targets")
    if from_ is not None or to is not None:
        ts += target_range(from_ if from_ is not None else 0.7, to if to is not None else 1.0, step)
    bs = _floats(budgets, "--budgets")
    sc = load_scenario(scenario)
    out_dir = out or Path("maps") / f"{sc.name}-frontier"
    df = run_frontier(scenario, stream=stream, indicator=indicator, targets=ts, budgets=bs,
                      out_dir=out_dir, workers=workers, scheduler=scheduler, time_limit_s=time_limit,
                      maps=not no_maps, warm=not cold, chains_n=chains, progress=_say)
    t = Table(title=f"{sc.title} — {stream}.{indicator} frontier")
    for c in ("target", "achieved", "cost CNY/yr", "sites v/t/c", "gap", "status"):
        t.add_column(c)
    for r in df.itertuples(index=False):
        def pct(v: float) -> str:
            return "–" if pd.isna(v) else f"{v:.1%}"
        cost = "–" if pd.isna(r.total_cost_cny_yr) else f"{r.total_cost_cny_yr:,.0f}"
        sites = "–" if pd.isna(r.sites_village_point) else \
            f"{r.sites_village_point}/{r.sites_township_station}/{r.sites_county_center}"
        t.add_row(pct(r.target), pct(r.achieved), cost, sites, pct(r.gap), escape(str(r.status)))
    out_console.print(t)
    out_console.print(f"wrote frontier.csv, frontier.html and {df['run'].replace('', None).nunique()} "
                      f"run folders to {out_dir} in {time.perf_counter() - t0:.1f} s")


@app.command("alternatives")
@friendly
def alternatives_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file")],
    n: Annotated[int, typer.Option("--n", min=2, help="Plans wanted, the best included")] = 3,
    within: Annotated[float, typer.Option(min=0.0, help="Cost cap as a share of the best cost")] = 0.02,
    tries: Annotated[int | None, typer.Option(min=1, help="Single-site solves (default 2 × n)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Worker processes of the LocalCluster (default: CPU count; 0 = in this process)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Existing Dask scheduler, tcp://host:port (default: a LocalCluster)")] = None,
    time_limit: Annotated[float | None, typer.Option(
        min=0.1, help="Siting limit per solve, CPU seconds (default: the scenario's)")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<name>-alternatives)")] = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip each plan's HTML maps")] = False,
) -> None:
    """Near-optimal alternatives: plans within a share of the best cost, as different as possible
    in township stations and county centres; alternatives.csv and a comparison (compare/)."""
    from netplan.analysis.near_optimal import alternatives as run_alternatives
    from netplan.scenario import load_scenario

    t0 = time.perf_counter()
    sc = load_scenario(scenario)
    out_dir = out or Path("maps") / f"{sc.name}-alternatives"
    df = run_alternatives(scenario, n=n, within=within, out_dir=out_dir, tries=tries, workers=workers,
                          scheduler=scheduler, time_limit_s=time_limit, maps=not no_maps,
                          progress=_say)
    t = Table(title=f"{sc.title} — alternatives within {within:.1%}")
    for c in ("plan", "cost CNY/yr", "vs best", "sites differ", "differs"):
        t.add_column(c)
    for r in df.itertuples(index=False):
        t.add_row(r.plan, f"{r.cost_cny_yr:,.0f}", f"{r.gap_to_best:+.2%}", str(r.sites_differ),
                  escape(r.differs or "–"))
    out_console.print(t)
    if len(df) < n:
        console.print(f"[yellow]only {len(df) - 1} alternative(s) within {within:.1%} of the best "
                      f"among {df.attrs.get('tried', 0)} tried[/]; widen --within or raise --tries")
    out_console.print(f"wrote alternatives.csv and compare/ to {out_dir} in "
                      f"{time.perf_counter() - t0:.1f} s")
