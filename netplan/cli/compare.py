"""`netplan compare RUN_A RUN_B [...] --out DIR`: runs side by side (netplan.compare)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from netplan.cli._app import app, friendly, out_console


def console_table(table: pd.DataFrame, misses: dict[str, list[str]]) -> Table:
    """A rich Table of the comparison (targets and the main cost/CO2 rows)."""
    from netplan.report import fmt_number

    labels = table.attrs["runs"]
    t = Table(title="netplan compare")
    for c in ("stream", "indicator", "target", *labels):
        t.add_column(c)
    main = {"total_cost_cny_yr", "transport_co2_kg_yr", "capex_cny", "targets_missed"}
    show = table[table["target"].notna() | table["indicator"].isin(main)]
    for r in show.to_dict("records"):
        cells = []
        for lab in labels:
            v = fmt_number(r[lab], r["unit"])
            m = r[f"{lab} met"]
            cells.append(f"[green]{v}[/]" if m is True else f"[red]{v}[/]" if m is False else v)
        tgt = "" if pd.isna(r["target"]) else "≥ " + fmt_number(r["target"], r["unit"])
        t.add_row(r["stream"], f"{r['indicator']} {r['label_zh']}", tgt, *cells)
    return t


@app.command("compare")
@friendly
def compare_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders (each with kpis.csv)")],
    out: Annotated[Path | None, typer.Option(
        help="Write compare.csv, compare.xlsx, compare.html (and compare_map.html) here")] = None,
) -> None:
    """Set runs side by side: indicators, targets, costs and CO2, and the targets each misses."""
    from netplan.compare import compare_runs, write_compare

    if out is not None:
        from netplan.export import check_out

        check_out(out, inputs=list(runs))  # not into (or over) a run being compared
    table, misses = compare_runs(list(runs))
    out_console.print(console_table(table, misses))
    for lab, m in misses.items():
        out_console.print(f"{lab}: " + (f"[red]misses {', '.join(m)}[/]" if m else "[green]all targets met[/]"))
    if out is not None:
        files = write_compare(table, misses, out, run_dirs=list(runs))
        out_console.print(f"wrote {', '.join(f.name for f in files)} to {out}")
