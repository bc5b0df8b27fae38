"""Whole-model three_tier at one limit, per block: plan, gap and CPU seconds against the anchor
(issue 16, demo_hills within its time limit), optionally a second run beside two busy loops.

Usage: .venv/bin/python scripts/bench_tt_budget.py --scenario demo_hills --limit 60 [--busy]

The anchor is the code before the work gates (a3805d8), measured 2026-12-07 ~12:00 UTC at load
~0.6 (demo_hills) and ~1.5 (demo); CPU per block = the sum of its logged phases.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from netplan import planner
from netplan._paths import data_file
from netplan.scenario import load_scenario
from netplan.siting._mip import clock

#: anchor per scenario and block: (plan CNY/yr, gap, CPU s)
ANCHOR = {
    "demo_hills": {"straw": (5_846_784, 0.1185, 13.0),
                   "film+pesticide_packaging": (2_419_654, 0.0417, 49.1),
                   "manure": (21_209_812, 0.2057, 13.3),
                   "recyclables": (3_357_565, 0.1156, 24.2),
                   "all": (32_833_815, 0.1689, 102.4)},
    "demo": {"straw": (10_985_597, 0.0426, 5.5),
             "film+pesticide_packaging": (829_276, 0.0001, 5.8),
             "manure": (20_265_027, 0.0954, 9.5),
             "recyclables": (2_910_923, 0.0358, 19.5),
             "domestic_waste": (9_119_514, 0.0217, 12.1),
             "all": (44_110_338, 0.0613, 52.4)},
}


def _solve(models, share, limit: float):
    """three_tier as the planner runs it; per block (label, objective, gap, CPU s) and the total."""
    import importlib

    ttm = importlib.import_module("netplan.siting.three_tier")
    cpu: list[float] = []
    inner = ttm.solve_block

    def timed(*a, **k):
        t = clock()
        out = inner(*a, **k)
        cpu.append(clock() - t)
        return out

    ttm.solve_block = timed
    try:
        c0 = clock()
        sol = ttm.three_tier(models, share=share, time_limit_s=limit, seed=0)
        total = clock() - c0
    finally:
        ttm.solve_block = inner
    rows = [("+".join(b.streams), b.objective, b.gap, c) for b, c in zip(sol.blocks, cpu, strict=True)]
    return rows, (sol.objective, sol.gap, total)


def _table(title: str, scenario: str, rows, whole) -> None:
    anchor = ANCHOR.get(scenario, {})
    print(f"\n{title}\n| block | plan CNY/yr | vs anchor | gap | CPU s | vs anchor |\n|---|---:|---:|---:|---:|---:|")
    for label, obj, gap, cpu in [*rows, ("all", *whole)]:
        a = anchor.get(label)
        r_obj = f"{obj / a[0]:.4f}" if a else "-"
        r_cpu = f"{cpu / a[2]:.2f}" if a else "-"
        print(f"| {label} | {obj:,.0f} | {r_obj} | {gap:.2%} | {cpu:.1f} | {r_cpu} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="demo_hills")
    ap.add_argument("--limit", type=float, default=60.0, help="time_limit_s (CPU s)")
    ap.add_argument("--busy", action="store_true", help="second run beside two busy loops")
    args = ap.parse_args()
    sc = load_scenario(data_file("scenarios", f"{args.scenario}.toml"))
    models, share = planner.siting_models(sc)
    rows, whole = _solve(models, share, args.limit)
    _table(f"{args.scenario} at {args.limit:g} s, alone", args.scenario, rows, whole)
    if not args.busy:
        return 0
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        rows_b, whole_b = _solve(models, share, args.limit)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    _table(f"{args.scenario} at {args.limit:g} s, beside two busy loops", args.scenario, rows_b,
           whole_b)
    same = [a[1] == b[1] for a, b in zip(rows, rows_b, strict=True)]
    print(f"\nper-block plans identical alone and busy: {all(same)} ({sum(same)}/{len(same)})")
    return 0 if all(same) else 1


if __name__ == "__main__":
    sys.exit(main())
