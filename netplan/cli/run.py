"""`netplan demo`, `netplan plan SCENARIO` and `netplan evaluate LAYOUT`: run the pipeline
(netplan.planner), write the run folder and print the targets and the solve summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from netplan.cli._app import app, check_background, console, friendly, kpi_table, out_console
from netplan.errors import NetplanError

BACKGROUND_HELP = "Map background: offline (no tiles), osm, or amap (Gaode, GCJ-02 shifted)"


def plan_and_report(scenario_path: Path, out: Path | None, *, maps: bool = True,
                    layout_table: Any = None, fix: Path | None = None, db: str | None = None,
                    background: str = "offline", robust: float | None = None,
                    relax_unreachable: bool = False) -> None:
    """Plan (or score ``layout_table``), write the run folder and print the summary.

    ``robust`` (or the scenario's ``robust``): plan so every target is met in that share of the
    draws of data/uncertainty.toml (netplan.risk.robust) and report the cost of robustness."""
    from netplan.planner import run_plan, write_plan
    from netplan.scenario import load_scenario

    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path)
    if relax_unreachable:
        import dataclasses

        scenario = dataclasses.replace(scenario, unreachable="relax")
    fixed = None
    if fix is not None:
        from netplan.layout_io import read_layout

        fixed = read_layout(fix, streams=scenario.stream_ids)
    out_dir = out or Path("maps") / scenario.name
    from netplan.export import check_out

    # before any computation: not a file, writable, not in (or holding) the inputs
    check_out(out_dir, inputs=[scenario.path, scenario.county_dir, *([fix] if fix else [])])
    with console.status("planning…") as status:
        def progress(msg: str) -> None:
            status.update(msg)
            console.log(msg)

        share = robust if robust is not None else scenario.robust
        robust_res = None
        if share and layout_table is None:
            from netplan.risk.robust import robust_plan

            plan, robust_res = robust_plan(scenario, share, fix=fixed, progress=progress)
        else:
            plan = run_plan(scenario, progress=progress, layout_table=layout_table, fix=fixed)
        progress(f"writing outputs to {out_dir}")
        extra = None
        if robust_res is not None:  # robust.csv, risk/ and the report section: staged with the plan
            from functools import partial

            from netplan.risk.robust import write_robust

            extra = partial(write_robust, res=robust_res, run_dir=out_dir)
        files = write_plan(plan, out_dir, maps=maps, background=background, extra=extra)
        if db is not None:
            from netplan.db import write_postgis

            progress("writing layers and tables to the database")
            try:
                write_postgis(db, plan)
            except NetplanError as exc:  # the files are complete: say so, not "nothing written"
                msg = f"the outputs were written to {out_dir}, but the database write failed: {exc}"
                raise NetplanError(msg) from None
    out_console.print(kpi_table(plan.kpis, f"{scenario.title} — targets"))
    if plan.crow_fly:
        out_console.print("[yellow]Distances are crow-fly estimates (no road file): "
                          "every output says so.[/]")
    print_solve(plan.layout.solve)
    if robust_res is not None:
        from netplan.cli.risk import print_robust

        print_robust(robust_res)
    out_console.print(f"wrote {len(files)} files to {out_dir} in {time.perf_counter() - t0:.1f} s: "
                      + ", ".join(sorted({f.name for f in files if f.parent == out_dir})))


def _gap(g: float | None) -> str:
    return "n/a" if g is None or g != g else "no bound" if g == float("inf") else f"{g:.2%}"


def print_solve(solve: dict[str, dict[str, Any]]) -> None:
    """One three-tier model for all streams, solved as independent blocks (streams sharing sites
    form one block): the whole model's line, then one line per block."""
    from netplan.siting.solution import plan_worth

    first = next(iter(solve.values()), None)
    if not first:
        return
    pre = "model_" if "model_status" in first else ""
    phased = str(first.get("block", "")).startswith("phased ")
    unit = "CNY discounted over the horizon" if phased else "CNY/yr"
    out_console.print(f"siting ({', '.join(solve)}): {first.get(pre + 'status')}, objective "
                      f"{first.get(pre + 'objective', 0):,.0f} {unit}, "
                      f"gap {_gap(first.get(pre + 'gap'))}")
    seen = set()
    for d in solve.values():
        if "block" in d and d["block"] not in seen:
            seen.add(d["block"])
            out_console.print(f"  {d['block']}: {plan_worth(d['status'], d['gap'])} "
                              f"({d['status']}), {d['objective']:,.0f} CNY/yr, "
                              f"gap {_gap(d['gap'])}, {d['solve_time_s']:.0f} s")
    for stream, d in solve.items():
        if d.get("relaxed"):   # scenario unreachable = "relax": the villages are in run.json
            out_console.print(f"  [yellow]{stream}: {d['relaxed']}[/yellow]", markup=True)


@app.command()
@friendly
def demo(out: Annotated[Path | None, typer.Option(help="Output folder (default maps/demo)")] = None,
         no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
         background: Annotated[str, typer.Option(help=BACKGROUND_HELP)] = "offline",
         ) -> None:
    """Plan the embedded demo county (平舆县 Pingyu) and write maps, plan.gpkg and kpis.csv."""
    from netplan._paths import data_file

    check_background(background)
    plan_and_report(data_file("scenarios", "demo.toml"), out, maps=not no_maps, background=background)


@app.command()
@friendly
def plan(scenario: Annotated[Path, typer.Argument(help="Scenario TOML file")],
         out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<name>)")] = None,
         no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
         fix: Annotated[Path | None, typer.Option(
             help="Layout table (CSV/XLSX) whose sites stay open (status closed: forbidden)")] = None,
         db: Annotated[str | None, typer.Option(
             help="Also write to PostGIS: postgresql://user@host/dbname")] = None,
         background: Annotated[str, typer.Option(help=BACKGROUND_HELP)] = "offline",
         robust: Annotated[float | None, typer.Option(
             min=0.5, max=0.999, help="Meet every target in this share of the draws of "
             "data/uncertainty.toml (e.g. 0.9); reports the cost of robustness")] = None,
         relax_unreachable: Annotated[bool, typer.Option(
             "--relax-unreachable", help="A coverage target beyond the candidates' reach: plan for "
             "what can be reached and name the villages left out (scenario key unreachable)")] = False,
         ) -> None:
    """Plan the three tiers of every stream for a scenario and write the outputs."""
    check_background(background)
    plan_and_report(scenario, out, maps=not no_maps, fix=fix, db=db, background=background,
                    robust=robust, relax_unreachable=relax_unreachable)


@app.command()
@friendly
def evaluate(
    layout: Annotated[Path, typer.Argument(help="Layout table (CSV/XLSX): site_id, streams, tier, "
                                                "lon, lat, capacity_t, status")],
    scenario: Annotated[Path, typer.Option(help="Scenario TOML file")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<name>-layout)")] = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
    db: Annotated[str | None, typer.Option(help="Also write to PostGIS: postgresql://…")] = None,
) -> None:
    """Score a hand-made layout against the scenario's targets; same outputs as `netplan plan`."""
    from netplan.export import check_out
    from netplan.layout_io import read_layout
    from netplan.scenario import load_scenario

    sc = load_scenario(scenario)
    out_dir = out or Path("maps") / f"{sc.name}-{layout.stem}"
    check_out(out_dir, inputs=[layout, scenario, sc.county_dir])
    table = read_layout(layout, streams=sc.stream_ids)
    plan_and_report(scenario, out_dir, maps=not no_maps, layout_table=table, db=db)
