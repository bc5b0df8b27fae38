"""The command layer's shared parts: the typer app, the consoles, exit codes and :func:`friendly`.

Only modules of ``netplan.cli`` import this (and typer and rich); the library never does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from netplan.errors import InfeasibleError, InputError, NetplanError, SolverTimeout

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Plan three-tier rural waste recovery networks (村-镇-县).")
console = Console(stderr=True)
out_console = Console()

EXIT_INPUT, EXIT_INFEASIBLE, EXIT_TIMEOUT, EXIT_OTHER, EXIT_INTERNAL = 2, 3, 4, 1, 70


#: netplan errors → (console label, exit code), the most specific first
_NETPLAN_EXITS: tuple[tuple[type[NetplanError], str, int], ...] = (
    (InputError, "Input error", EXIT_INPUT),
    (InfeasibleError, "No feasible plan", EXIT_INFEASIBLE),
    (SolverTimeout, "Solver time limit", EXIT_TIMEOUT),
    (NetplanError, "Error", EXIT_OTHER),
)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn netplan errors into a message and an exit code (set NETPLAN_DEBUG=1 for tracebacks)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except NetplanError as exc:
            label, code = next((lb, c) for kind, lb, c in _NETPLAN_EXITS if isinstance(exc, kind))
            console.print(f"[bold red]{label}[/]: {exc}", highlight=False)
            raise typer.Exit(code) from None
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
    phased = "year" in kpis.columns      # a [[phases]] plan: one block of rows per year
    t = Table(title=title, show_lines=False)
    for col in (("year",) if phased else ()) + ("stream", "indicator", "achieved", "target", ""):
        t.add_column(col)
    rows = kpis[kpis["target"].notna()]
    for r in rows.to_dict("records"):
        ok = bool(r["met"])
        year = (str(int(r["year"])),) if phased else ()
        t.add_row(*year, r["stream"], f"{r['indicator']} {r['label_zh']}", f"{r['value']:.1%}",
                  f"≥ {float(r['target']):.0%}", "[green]met[/]" if ok else "[red]missed[/]")
    return t


def check_background(background: str) -> None:
    """Raise InputError for a map background the maps do not know."""
    from netplan.maps import BACKGROUNDS

    if background not in BACKGROUNDS:
        msg = f"unknown map background {background!r} (expected one of {', '.join(BACKGROUNDS)})"
        raise InputError(msg, field="--background")
