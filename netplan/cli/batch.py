"""``netplan batch REGION_DIR --scenario S``: plan every county of a region on Dask and merge."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netplan.cli._app import app, friendly

EXIT_PARTIAL = 1


@app.command("batch")
@friendly
def batch_command(
    region_dir: Annotated[Path, typer.Argument(help="Region folder: one county folder (with county.toml) per county")],
    scenario: Annotated[Path, typer.Option("--scenario", "-s", help="Scenario TOML applied to every county")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<region folder name>)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Existing Dask scheduler, tcp://host:port (default: a LocalCluster on this machine)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes of the LocalCluster (default: CPU count)")] = None,
    tier3: Annotated[bool, typer.Option(
        "--tier3", help="Also site tier 3 across counties (centres may serve neighbours)")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-plan counties already done")] = False,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Plan only this county folder (repeatable)")] = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
) -> None:
    """Plan every county of a region in parallel on Dask, then merge region.gpkg,
    region_kpis.csv and the region map (index.html).

    Counties whose inputs did not change since the last run are skipped; a county that fails is
    reported and the others complete (exit code 1 if any failed).
    """
    from netplan.batch.merge import merge_region
    from netplan.batch.runner import run_batch
    from netplan.scenario import load_scenario

    console = Console(stderr=True, highlight=False)
    out_console = Console(highlight=False)
    t0 = time.perf_counter()
    scen = load_scenario(scenario)  # validate once here: a bad scenario fails before any worker
    out_dir = out or Path("maps") / region_dir.resolve().name
    from netplan.export import check_out

    check_out(out_dir, inputs=[region_dir, scenario], keep=("counties",))  # before any county runs
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]counties"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                  transient=False) as bar:
        task = bar.add_task("starting Dask…", total=None)

        def on_result(r, i: int, n: int) -> None:
            bar.update(task, completed=i, total=n, description=f"{r.name}: {r.status}")
            if r.status == "failed":
                console.print(f"[red]✗ {escape(r.name)}[/] {r.error_kind}: "
                              f"{escape(short_error(r.error))}")

        res = run_batch(region_dir, scenario, out_dir, scheduler=scheduler, workers=workers,
                        maps=not no_maps, force=force, only=only, on_result=on_result)
    t3 = None
    if tier3:
        from netplan.batch.tier3 import regional_tier3, tier3_params

        params = tier3_params(scen)

        def t3(sites):
            return regional_tier3(sites, params, circuity=scen.circuity,
                                  time_limit_s=scen.time_limit_s, solver=scen.solver, seed=scen.seed)

    console.print("merging county results…")
    region = merge_region(out_dir, res.counties, maps=not no_maps, tier3=t3,
                          title=f"{scen.title} — {region_dir.resolve().name} "
                                f"({len(res.counties)} counties)")
    out_console.print(summary_table(region.counties))
    if region.tier3 is not None and len(region.tier3.summary):
        for r in region.tier3.summary.itertuples(index=False):
            out_console.print(f"tier 3 across counties, {r.stream}: {r.n_centres_county} → "
                              f"{r.n_centres_region} centres, {r.cross_county_links} cross-county "
                              f"links, saving {r.saving_cny:,.0f} CNY/yr ({r.status})")
    out_console.print(f"{res!r}; merged in {time.perf_counter() - t0:.1f} s total → {out_dir}: "
                      "region.gpkg, region_kpis.csv, batch_status.csv"
                      + ("" if no_maps else ", index.html"))
    if res.failed:
        console.print(f"[bold red]{len(res.failed)} county run(s) failed[/]: "
                      + ", ".join(c.name for c in res.failed) + " (see batch_status.csv)")
        raise typer.Exit(EXIT_PARTIAL)


def short_error(error: str | None, lines: int = 2) -> str:
    """The first ``lines`` non-empty lines of an error message, joined (the cause is often on
    the second line: "no feasible plan" / "- straw county_center capacity: ...")."""
    parts = [ln.strip() for ln in (error or "").splitlines() if ln.strip()]
    return " ".join(parts[:lines])


def summary_table(counties: Any) -> Table:
    """Rich table of the counties of a batch: status and targets met / missed."""
    t = Table(title="Counties — targets met")
    for col in ("county", "", "status", "met", "missed"):
        t.add_column(col)
    for r in counties.itertuples(index=False):
        met = "–" if r.status == "failed" else f"{int(r.n_met)}/{int(r.n_targets)}"
        colour = "red" if r.status == "failed" else ("green" if r.n_met == r.n_targets else "yellow")
        detail = short_error(r.error) if r.status == "failed" else r.missed
        t.add_row(escape(str(r.county)), escape(str(r.county_zh)), f"[{colour}]{r.status}[/]", met,
                  escape(str(detail or "")))
    return t
