"""`netplan validate DATA_DIR [--scenario S]`: print every problem of a county folder; exit 2 on errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from netplan.cli._app import EXIT_INPUT, EXIT_INTERNAL, app

_STYLE = {"error": "bold red", "warning": "yellow", "note": "dim"}


@app.command("validate")
def validate_command(
    data_dir: Annotated[Path, typer.Argument(help="County folder (county.toml, boundary, villages, ...)")],
    scenario: Annotated[Path | None, typer.Option("--scenario", "-s", help="Scenario TOML to check too")] = None,
    no_roads: Annotated[bool, typer.Option("--no-roads", help="Skip the distance-from-road check")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the summary")] = False,
) -> None:
    """Check a county folder (and a scenario): every problem with its file, row and field.

    Exits 0 when the folder can be planned, 2 when it has errors.
    """
    from netplan.inputs.validate import validate_folder

    out = Console(highlight=False, soft_wrap=True)
    try:
        report = validate_folder(data_dir, scenario=scenario, roads=not no_roads)
    except Exception as exc:  # a bug in a reader must not reach the user as a traceback
        import os

        if os.environ.get("NETPLAN_DEBUG"):
            raise
        out.print(f"[bold red]Internal error[/] ({type(exc).__name__}): {escape(str(exc))}\n"
                  "Re-run with NETPLAN_DEBUG=1 for the traceback and report it.")
        raise typer.Exit(EXIT_INTERNAL) from None
    for sev in ("error", "warning", "note"):
        probs = [p for p in report.problems if p.severity == sev]
        if not probs or (quiet and sev != "error"):
            continue
        out.print(f"[{_STYLE[sev]}]{sev}s ({len(probs)})[/]")
        for p in probs:
            out.print(f"  [{_STYLE[sev]}]•[/] {escape(str(p))}")
    n_e, n_w = len(report.errors), len(report.warnings)
    if report.ok:
        c = report.county
        what = (f" — {len(c.townships)} townships, {len(c.villages)} villages, {len(c.farms)} farms, "
                f"{len(c.sites)} sites" if c is not None else "")
        out.print(f"[green]OK[/] {escape(str(data_dir))}{what}; {n_w} warning(s)")
        return
    out.print(f"[bold red]{n_e} error(s)[/], {n_w} warning(s) in {escape(str(data_dir))}: fix the errors "
              "above and run `netplan validate` again")
    raise typer.Exit(EXIT_INPUT)
