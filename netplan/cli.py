"""The netplan command line: `netplan demo`, `netplan plan SCENARIO`, and the commands other
modules register. Errors print a clear message and exit non-zero, never a traceback."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from netplan.errors import InfeasibleError, InputError, NetplanError, SolverTimeout

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Plan three-tier rural waste recovery networks (村-镇-县).")
console = Console(stderr=True)
out_console = Console()

EXIT_INPUT, EXIT_INFEASIBLE, EXIT_TIMEOUT, EXIT_OTHER, EXIT_INTERNAL = 2, 3, 4, 1, 70


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn netplan errors into a message and an exit code (set NETPLAN_DEBUG=1 for tracebacks)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except InputError as exc:
            console.print(f"[bold red]Input error[/]: {exc}", highlight=False)
            raise typer.Exit(EXIT_INPUT) from None
        except InfeasibleError as exc:
            console.print(f"[bold red]No feasible plan[/]: {exc}", highlight=False)
            raise typer.Exit(EXIT_INFEASIBLE) from None
        except SolverTimeout as exc:
            console.print(f"[bold red]Solver time limit[/]: {exc}", highlight=False)
            raise typer.Exit(EXIT_TIMEOUT) from None
        except NetplanError as exc:
            console.print(f"[bold red]Error[/]: {exc}", highlight=False)
            raise typer.Exit(EXIT_OTHER) from None
        except KeyboardInterrupt:
            console.print("[yellow]Interrupted; nothing was written.[/]")
            raise typer.Exit(130) from None
        except Exception as exc:  # an internal error: say so plainly, no traceback unless asked
            if os.environ.get("NETPLAN_DEBUG"):
                raise
            console.print(f"[bold red]Internal error[/] ({type(exc).__name__}): {exc}\n"
                          "Nothing was written. Re-run with NETPLAN_DEBUG=1 for the traceback and "
                          "report it.", highlight=False)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def kpi_table(kpis: Any, title: str) -> Table:
    """Rich table of the targets: stream, indicator, achieved, target, pass/fail."""
    t = Table(title=title, show_lines=False)
    for col in ("stream", "indicator", "achieved", "target", ""):
        t.add_column(col)
    rows = kpis[kpis["target"].notna()]
    for r in rows.itertuples(index=False):
        ok = bool(r.met)
        t.add_row(r.stream, f"{r.indicator} {r.label_zh}", f"{r.value:.1%}", f"≥ {float(r.target):.0%}",
                  "[green]met[/]" if ok else "[red]missed[/]")
    return t


def _run(scenario_path: Path, out: Path | None, *, maps: bool = True, layout_table: Any = None,
         fix: Path | None = None, db: str | None = None, background: str = "offline") -> None:
    from netplan.planner import run_plan, write_plan
    from netplan.scenario import load_scenario

    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path)
    fixed = None
    if fix is not None:
        from netplan.layout_io import read_layout

        fixed = read_layout(fix, streams=scenario.stream_ids)
    out_dir = out or Path("maps") / scenario.name
    with console.status("planning…") as status:
        def progress(msg: str) -> None:
            status.update(msg)
            console.log(msg)

        plan = run_plan(scenario, progress=progress, layout_table=layout_table, fix=fixed)
        progress(f"writing outputs to {out_dir}")
        files = write_plan(plan, out_dir, maps=maps, background=background)
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
    # one three-tier model for all streams, solved as independent blocks (streams sharing sites
    # form one block): the whole model's line, then one per block
    solve = plan.layout.solve
    first = next(iter(solve.values()), None)
    if first:
        def _gap(g):
            return ("n/a" if g is None or g != g else "no bound" if g == float("inf")
                    else f"{g:.2%}")

        pre = "model_" if "model_status" in first else ""
        out_console.print(f"siting ({', '.join(solve)}): {first.get(pre + 'status')}, objective "
                          f"{first.get(pre + 'objective', 0):,.0f} CNY/yr, "
                          f"gap {_gap(first.get(pre + 'gap'))}")
        seen = set()
        for d in solve.values():
            if "block" in d and d["block"] not in seen:
                seen.add(d["block"])
                out_console.print(f"  {d['block']}: {d['status']}, {d['objective']:,.0f} CNY/yr, "
                                  f"gap {_gap(d['gap'])}, {d['solve_time_s']:.0f} s")
    out_console.print(f"wrote {len(files)} files to {out_dir} in {time.perf_counter() - t0:.1f} s: "
                      + ", ".join(sorted({f.name for f in files if f.parent == out_dir})))


@app.command()
@friendly
def demo(out: Annotated[Path | None, typer.Option(help="Output folder (default maps/demo)")] = None,
         no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
         background: Annotated[str, typer.Option(
             help="Map background: offline (no tiles), osm, or amap (Gaode, GCJ-02 shifted)")] = "offline",
         ) -> None:
    """Plan the embedded demo county (平舆县 Pingyu) and write maps, plan.gpkg and kpis.csv."""
    from netplan._paths import data_file

    _check_background(background)
    _run(data_file("scenarios", "demo.toml"), out, maps=not no_maps, background=background)


@app.command()
@friendly
def plan(scenario: Annotated[Path, typer.Argument(help="Scenario TOML file")],
         out: Annotated[Path | None, typer.Option(help="Output folder (default maps/<name>)")] = None,
         no_maps: Annotated[bool, typer.Option("--no-maps", help="Skip the HTML maps")] = False,
         fix: Annotated[Path | None, typer.Option(
             help="Layout table (CSV/XLSX) whose sites stay open (status closed: forbidden)")] = None,
         db: Annotated[str | None, typer.Option(
             help="Also write to PostGIS: postgresql://user@host/dbname")] = None,
         background: Annotated[str, typer.Option(
             help="Map background: offline (no tiles), osm, or amap (Gaode, GCJ-02 shifted)")] = "offline",
         ) -> None:
    """Plan the three tiers of every stream for a scenario and write the outputs."""
    _check_background(background)
    _run(scenario, out, maps=not no_maps, fix=fix, db=db, background=background)


def _check_background(background: str) -> None:
    from netplan.maps import BACKGROUNDS

    if background not in BACKGROUNDS:
        msg = f"unknown map background {background!r} (expected one of {', '.join(BACKGROUNDS)})"
        raise InputError(msg, field="--background")


from netplan.inputs.command import validate_command  # noqa: E402

app.command("validate")(validate_command)

from netplan.compare import compare_command  # noqa: E402
from netplan.layout_io import evaluate_command  # noqa: E402

app.command("evaluate")(friendly(evaluate_command))
app.command("compare")(friendly(compare_command))

from netplan.batch.command import batch_command  # noqa: E402

app.command("batch")(friendly(batch_command))


def main() -> None:  # pragma: no cover - console entry
    """Console entry point."""
    app()
    sys.exit(0)
