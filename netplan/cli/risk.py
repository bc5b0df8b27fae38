"""``netplan risk RUN_DIR``: how sure is the plan — a thin command over :mod:`netplan.risk`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from netplan.cli._app import app, console, friendly, out_console

if TYPE_CHECKING:
    from netplan.risk.robust import RobustResult


def _say(msg: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(msg)}", highlight=False)


def risk_table(risk: pd.DataFrame, title: str, *, robust: float = 0.9) -> Table:
    """Rich table of the targeted indicators: target, nominal, p05/p50/p95, the share met, and the
    share any layout could meet (p_met_max; below ``robust``: not controllable by siting)."""
    t = Table(title=title)
    for c in ("stream", "indicator", "target", "nominal", "p05", "p50", "p95", "met in", "any layout ≤"):
        t.add_column(c)
    rows = risk[(risk["kind"] == "indicator") & risk["target"].notna()]
    for r in rows.itertuples(index=False):
        colour = "green" if r.p_met >= robust else "red"
        pmax = getattr(r, "p_met_max", 1.0)
        cell = f"[red]{pmax:.1%} *[/]" if pmax < robust else f"{pmax:.1%}"
        t.add_row(r.stream, r.indicator, f"{r.target:.1%}", f"{r.nominal:.1%}", f"{r.p05:.1%}",
                  f"{r.p50:.1%}", f"{r.p95:.1%}", f"[{colour}]{r.p_met:.1%}[/]", cell)
    return t


@app.command("risk")
@friendly
def risk_command(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by netplan plan / evaluate")],
    samples: Annotated[int, typer.Option(min=1, help="Number of draws")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the draws (same seed → same files)")] = 7,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Worker processes of the LocalCluster (default: CPU count; 0 = in this process)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Existing Dask scheduler, tcp://host:port (default: a LocalCluster)")] = None,
    scenario: Annotated[Path | None, typer.Option(
        help="The run's scenario TOML, when run.json does not record it")] = None,
    uncertainty: Annotated[Path | None, typer.Option(
        help="Ranges of the uncertain numbers (default data/uncertainty.toml)")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default RUN_DIR/risk)")] = None,
) -> None:
    """How sure is the plan: redraw the uncertain coefficients and rates, re-score the fixed plan
    (no re-solve) on Dask, and write risk.csv, risk_tornado.csv, risk_samples.csv and risk.html."""
    from netplan.risk import run_risk

    t0 = time.perf_counter()
    out_dir = out or run_dir / "risk"
    res = run_risk(run_dir, out_dir, samples=samples, seed=seed, workers=workers, scheduler=scheduler,
                   scenario_path=scenario, uncertainty=uncertainty, progress=_say)
    out_console.print(risk_table(res.risk, f"{run_dir} — {samples} draws, seed {seed}"))
    tg = res.risk[(res.risk["kind"] == "indicator") & (res.risk["p_met_max"] < 0.9)]
    for r in tg.itertuples(index=False):
        out_console.print(f"[red]* not controllable by siting[/] (to 90 % of draws): {r.stream}.{r.indicator}: "
                          f"p_met ≤ {r.p_met_max:.1%} at any layout (this plan {r.p_met:.1%}): even serving every "
                          "village and farm the candidates can take, it is missed in the other draws")
    over = res.risk[res.risk["kind"] == "site"]
    if len(over):
        worst = over.iloc[0]
        out_console.print(f"{len(over)} sites over capacity in some draws; worst: {worst.stream} "
                          f"{worst.tier} {worst.site_id} in {1 - worst.p_met:.0%} of draws")
    out_console.print(f"sampled in {res.time_s:.1f} s on {res.n_workers or 'no'} Dask workers; wrote "
                      f"{', '.join(p.name for p in res.files)} to {out_dir} "
                      f"({time.perf_counter() - t0:.1f} s in all)")


def print_robust(res: RobustResult) -> None:
    """Console summary of a robust plan: per target the share of draws meeting it on the nominal and
    robust plans and at the siting ceiling, its status, and the cost of robustness."""
    from netplan.risk.robust import cost_of_robustness

    first, last = res.rounds[0], res.rounds[-1]
    t = Table(title=f"robustness: every target in ≥ {res.share:.0%} of {res.samples} draws")
    for c in ("stream", "indicator", "target", "nominal plan", "robust plan", "any layout ≤", "status"):
        t.add_column(c)
    tg = res.targets
    for key, p in last.p_met.items():
        st = res.status(key)
        colour = "green" if st == "met" else "red"
        t.add_row(key[0], key[1], "" if key not in tg else f"{tg[key]:.0%}",
                  f"{first.p_met.get(key, float('nan')):.1%}", f"[{colour}]{p:.1%}[/]",
                  f"{last.p_max.get(key, 1.0):.1%}", f"[{colour}]{escape(st.split(':')[0])}[/]")
    out_console.print(t)
    d, pct = cost_of_robustness(res)
    out_console.print(f"cost of robustness: {d:+,.0f} CNY/yr ({pct:+.1%}): robust plan "
                      f"{last.cost_cny_yr:,.0f} vs nominal plan {first.cost_cny_yr:,.0f} CNY/yr "
                      f"at the nominal values ({len(res.rounds) - 1} re-plans; robust.csv, risk/)")
    for (sid, ind), pm in res.uncontrollable.items():
        out_console.print(f"[red]not controllable by siting[/]: {sid}.{ind}: p_met ≤ {pm:.1%} at any "
                          f"layout (robust plan {last.p_met[(sid, ind)]:.1%}): even serving every village "
                          "and farm the candidates can take, the drawn capture rates and coefficients miss it")
    for u in res.unreachable:
        out_console.print(f"[red]not reachable by siting[/]: {escape(u)}")
