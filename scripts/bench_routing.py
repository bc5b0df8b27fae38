"""Benchmark the CVRP backends on CVRPLIB instances against their best-known solutions (BKS).

For every instance and time limit, each backend ("ortools" = OR-Tools routing with guided local
search, the anchor; "pyvrp" = PyVRP iterated local search) solves the same matrix in the same
worker process. Every returned route set is checked here (each customer exactly once, capacity
held) and its cost recomputed from the instance's rounded EUC_2D matrix; a failed check aborts.

Usage::

    .venv/bin/python scripts/bench_routing.py --sets A P --limits 10 --jobs 2
    .venv/bin/python scripts/bench_routing.py --sets X --max-n 200 --limits 10 60 --jobs 2

Prints a Markdown table per (set, limit) and a summary; ``--csv`` writes the raw rows.
Reads ../shared/data/cvrplib (or ``--data``); not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netplan.errors import SolverTimeout  # noqa: E402
from netplan.routing.cvrp import solve_cvrp  # noqa: E402
from netplan.routing.cvrplib import check_routes, read_vrp  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/cvrplib")
BACKENDS = ("ortools", "pyvrp")


def _bks(data: Path) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    with open(data / "bks.csv") as f:
        for row in csv.DictReader(f):
            out[row["instance"]] = (float(row["bks_cost"]), int(row["vehicles_in_bks_json"] or 0))
    return out


def _instances(data: Path, sets: list[str], max_n: int, every: int) -> list[Path]:
    paths: list[Path] = []
    for s in sets:
        found = sorted(data.joinpath(s).glob("*.vrp.gz"),
                       key=lambda p: int(re.search(r"-n(\d+)", p.name).group(1)))
        found = [p for p in found if int(re.search(r"-n(\d+)", p.name).group(1)) - 1 <= max_n]
        paths += found[::every]
    return paths


def _run_one(args: tuple[str, float, int]) -> list[dict]:
    path, limit, seed = args
    inst = read_vrp(path)
    # Augerat A/B/P, E, F, M: the BKS is for the fleet size k in the name; X: unlimited fleet.
    k = None if Path(path).name.startswith("X-") else int(re.search(r"-k(\d+)", path).group(1))
    rows = []
    for b in BACKENDS:
        cpu0 = time.process_time()
        try:
            sol = solve_cvrp(inst.distance, inst.demand, inst.capacity, time_limit_s=limit,
                             seed=seed, backend=b, n_vehicles=k)
        except SolverTimeout:  # no feasible solution with the instance's fleet within the limit
            rows.append({"instance": inst.name, "n": inst.n_customers, "limit_s": limit,
                         "backend": b, "cost": float("nan"), "vehicles": 0, "time_s": limit,
                         "cpu_s": round(time.process_time() - cpu0, 1)})
            continue
        problems = check_routes(sol.routes, inst.demand, inst.capacity)
        if problems:
            msg = f"{inst.name} {b}: invalid solution: {problems}"
            raise AssertionError(msg)
        rows.append({"instance": inst.name, "n": inst.n_customers, "limit_s": limit,
                     "backend": b, "cost": sol.cost, "vehicles": sol.vehicles_used,
                     "time_s": round(sol.solve_time_s, 2),
                     "cpu_s": round(time.process_time() - cpu0, 1)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", nargs="+", default=["X"])
    ap.add_argument("--max-n", type=int, default=200, help="largest number of customers")
    ap.add_argument("--every", type=int, default=1, help="take every k-th instance of a set")
    ap.add_argument("--limits", nargs="+", type=float, default=[10.0, 60.0])
    ap.add_argument("--jobs", type=int, default=1, help="instances solved in parallel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv", type=Path, default=None)
    a = ap.parse_args()

    bks = _bks(a.data)
    paths = _instances(a.data, a.sets, a.max_n, a.every)
    tasks = [(str(p), lim, a.seed) for lim in a.limits for p in paths]
    print(f"# load average at start: {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        for res in ex.map(_run_one, tasks):
            for r in res:
                best, veh = bks[r["instance"]]
                r["bks"] = best
                r["bks_vehicles"] = veh
                r["gap_pct"] = 100.0 * (r["cost"] - best) / best
                rows.append(r)
            print(f"# done {res[0]['instance']} @ {res[0]['limit_s']:g} s: "
                  + ", ".join(f"{r['backend']} {r['gap_pct']:.2f}%" for r in res), flush=True)
    print(f"# instances: {', '.join(p.name.removesuffix('.vrp.gz') for p in paths)}")
    print(f"# load average at end: {os.getloadavg()}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    print()
    print("CPU s = CPU time the solver process got within the wall-clock limit (shared machine).")
    print()
    print("| instance | n | limit s | BKS | OR-Tools cost | gap % | veh | CPU s | PyVRP cost | gap % "
          "| veh | CPU s | BKS veh | PyVRP/OR-Tools |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    key = {(r["instance"], r["limit_s"], r["backend"]): r for r in rows}
    for lim in a.limits:
        for p in paths:
            name = p.name.removesuffix(".vrp.gz")
            o, v = key[(name, lim, "ortools")], key[(name, lim, "pyvrp")]
            print(f"| {name} | {o['n']} | {lim:g} | {o['bks']:.0f} | {_f(o['cost'], 0)} | "
                  f"{_f(o['gap_pct'])} | {o['vehicles']} | {o['cpu_s']:.0f} | {_f(v['cost'], 0)} | "
                  f"{_f(v['gap_pct'])} | {v['vehicles']} | {v['cpu_s']:.0f} | {o['bks_vehicles']} | "
                  f"{_f(v['cost'] / o['cost'], 4)} |")
    print()
    print("Means over the instances both backends solved; 'unsolved' = no feasible solution "
          "within the limit (fixed fleet of the A/P instances).")
    print()
    print("| set | limit s | instances | OR-Tools mean gap % | PyVRP mean gap % | "
          "PyVRP max gap % | mean PyVRP/OR-Tools | unsolved OR-Tools / PyVRP | mean CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in a.sets:
        for lim in a.limits:
            sel = [p.name.removesuffix(".vrp.gz") for p in paths if p.parent.name == s]
            if not sel:
                continue
            both = [x for x in sel if all(np.isfinite(key[(x, lim, b)]["cost"]) for b in BACKENDS)]
            og = [key[(x, lim, "ortools")]["gap_pct"] for x in both]
            pg = [key[(x, lim, "pyvrp")]["gap_pct"] for x in both]
            ratio = [key[(x, lim, "pyvrp")]["cost"] / key[(x, lim, "ortools")]["cost"] for x in both]
            fails = [sum(not np.isfinite(key[(x, lim, b)]["cost"]) for x in sel) for b in BACKENDS]
            cpu = np.mean([key[(x, lim, b)]["cpu_s"] for x in sel for b in BACKENDS])
            print(f"| {s} | {lim:g} | {len(sel)} | {np.mean(og):.2f} | {np.mean(pg):.2f} | "
                  f"{np.max(pg):.2f} | {np.mean(ratio):.4f} | {fails[0]} / {fails[1]} | "
                  f"{cpu:.1f} |")


def _f(x: float, nd: int = 2) -> str:
    return "unsolved" if not np.isfinite(x) else f"{x:.{nd}f}"


if __name__ == "__main__":
    main()
