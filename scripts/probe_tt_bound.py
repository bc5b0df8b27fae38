"""Lower bounds of the demo county's single-source three_tier blocks, side by side (issue 16).

Usage::

    .venv/bin/python scripts/probe_tt_bound.py [--limit 15] [--scenario demo]

Per single-source stream of the scenario (each its own block): the plan of ``three_tier`` on
that stream alone at ``--limit`` CPU s (the incumbent, also the Lagrangian's step target), the
LP value, the path-link LP (``_tt_bound.count_split_bound``; skipped above its size limit), the
tier-decoupled Lagrangian bound (``_tt_lagr``), each with its CPU seconds, and the gap of the best
bound to the plan. Prints a markdown table for BENCHMARKS.md.

``--incumbents straw=10955192,...`` takes those plan costs (e.g. the best plans seen) instead of
planning; ``--nodes 5,10,20,40`` adds the top-tier branch-and-bound (``_tt_topbb``, one run to
the largest count, on the path-link LP where ``single_source_bound`` would use it): its bound,
CPU seconds and gap after each node count, and whether the tree was finished.
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
    ap.add_argument("--incumbents", default="", help="name=CNY/yr,... instead of planning")
    ap.add_argument("--nodes", default="", help="node counts of the top-tier B&B, e.g. 5,10,20")
    ap.add_argument("--skip-path-lp", action="store_true", help="leave the path-link LP out")
    a = ap.parse_args()
    given = {k: float(v) for k, v in (kv.split("=") for kv in a.incumbents.split(",") if kv)}
    counts = [int(n) for n in a.nodes.split(",") if n]

    from netplan import planner
    from netplan.scenario import load_scenario
    from netplan.siting import three_tier
    from netplan.siting._mip import clock
    from netplan.siting._tt_bound import MAX_PATH_VARS, count_split_bound, lp_bound, path_link_count
    from netplan.siting._tt_lagr import lagrangian_bound
    from netplan.siting._tt_prep import prepare
    from netplan.siting._tt_topbb import top_tier_bound

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / f"data/scenarios/{a.scenario}.toml")
    models, _ = planner.siting_models(sc)
    shared = {n for groups in sc.sharing.values() for g in groups for n in g}
    plan = "given plans" if given else f"plan at {a.limit:g} CPU s per block"
    print(f"{a.scenario}.toml, {plan}, load {os.getloadavg()[0]:.1f}\n")
    top_cols = "".join(f" top-tier B&B {n} nodes (CPU s, gap) |" for n in counts)
    print("| block | plan CNY/yr | LP | CPU s | path-link LP | CPU s | Lagrangian | CPU s | "
          f"best bound gap |{top_cols}")
    print("|---|---|---|---|---|---|---|---|---|" + "---|" * len(counts))
    for m in models:
        if m.name in shared or not m.single_source or (given and m.name not in given):
            continue
        sd = prepare(m)[0]
        if given:
            inc, mip_bound = given[m.name], -math.inf
        else:
            sol = three_tier([m], time_limit_s=a.limit, seed=sc.seed)
            inc, mip_bound = sol.objective, sol.bound
        lp, t_lp = _timed(lp_bound, [sd], [], None)
        pl, t_pl = ((-math.inf, 0.0) if a.skip_path_lp
                    else _timed(count_split_bound, [sd], [], None, inc, clock() + 600.0))
        lag, t_lag = _timed(lagrangian_bound, sd, inc)
        best = max(lp, pl, lag, mip_bound)
        cells = ""
        if counts:
            small = path_link_count(sd) <= MAX_PATH_VARS
            r = top_tier_bound(sd, [], None, inc, max_nodes=max(counts), path_links=small)
            for n in counts:
                k = min(n, r.nodes) - 1
                done = " (tree done)" if r.closed and n >= r.nodes else ""
                cells += (f" {_fmt(r.trail[k])} ({r.trail_s[k]:.1f} s, "
                          f"{(inc - r.trail[k]) / inc:.2%}){done} |")
        print(f"| {m.name} | {inc:,.0f} | {_fmt(lp)} | {t_lp:.1f} | {_fmt(pl)} | {t_pl:.1f} | "
              f"{_fmt(lag)} | {t_lag:.1f} | {(inc - best) / inc:.2%} |{cells}", flush=True)


if __name__ == "__main__":
    main()
