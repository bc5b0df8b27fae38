"""Lower bounds of the demo county's single-source three_tier blocks, side by side (issue 16).

Usage::

    .venv/bin/python scripts/probe_tt_bound.py [--limit 15] [--scenario demo]

Per single-source stream of the scenario (each its own block): the plan of ``three_tier`` on
that stream alone at ``--limit`` CPU s (the incumbent, also the Lagrangian's step target), the
LP value, the path-link LP (``_tt_bound.count_split_bound``; skipped above its size limit), the
tier-decoupled Lagrangian bound (``_tt_lagr``), each with its CPU seconds, and the gap of the best
bound to the plan. Prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if math.isfinite(v) else "-"


def _timed(fn, *args, **kw):
    c0 = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=15.0, help="CPU s for each block's plan")
    ap.add_argument("--scenario", default="demo")
    a = ap.parse_args()

    from netplan import planner
    from netplan.scenario import load_scenario
    from netplan.siting import three_tier
    from netplan.siting._mip import clock
    from netplan.siting._tt_bound import count_split_bound, lp_bound
    from netplan.siting._tt_lagr import lagrangian_bound
    from netplan.siting._tt_prep import prepare

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / f"data/scenarios/{a.scenario}.toml")
    county = planner.load_inputs(sc)
    sup = planner.estimate_supply(sc, county)
    cands = planner.build_candidates(county)
    mats = planner.travel_matrices(planner.road_network(sc, county), sup, cands, sc)
    models, _ = planner.build_stream_models(sc, county, sup, cands, mats)
    shared = {n for groups in sc.sharing.values() for g in groups for n in g}
    print(f"{a.scenario}.toml, plan at {a.limit:g} CPU s per block, load {os.getloadavg()[0]:.1f}\n")
    print("| block | plan CNY/yr | LP | CPU s | path-link LP | CPU s | Lagrangian | CPU s | "
          "best bound gap |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in models:
        if m.name in shared or not m.single_source:
            continue
        sd = prepare(m)[0]
        sol = three_tier([m], time_limit_s=a.limit, seed=sc.seed)
        inc = sol.objective
        lp, t_lp = _timed(lp_bound, [sd], [], None)
        pl, t_pl = _timed(count_split_bound, [sd], [], None, inc, clock() + 600.0)
        lag, t_lag = _timed(lagrangian_bound, sd, inc)
        best = max(lp, pl, lag, sol.bound)
        print(f"| {m.name} | {inc:,.0f} | {_fmt(lp)} | {t_lp:.1f} | {_fmt(pl)} | {t_pl:.1f} | "
              f"{_fmt(lag)} | {t_lag:.1f} | {(inc - best) / inc:.2%} |", flush=True)


if __name__ == "__main__":
    main()
