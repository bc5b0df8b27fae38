"""Siting benchmark: OR-Library pmed1-40 and random instances, netplan vs spopt (PySAL) in one run.

Usage: .venv/bin/python scripts/bench_siting.py [--data /work/shared/data] [--limit 60]
       [--spopt-max-n 400] [--spopt-limit 120] [--large-limit 20] [--only pmed|none|pmed1,pmed6]
       [--out table.md]
       .venv/bin/python scripts/bench_siting.py --demo [--limit 15] [--solver scip]
       .venv/bin/python scripts/bench_siting.py --demo-limits 10,30,60,120,300 [--scenario demo_hills]

``--demo``: three_tier on the demo county (data/demo, data/scenarios/demo.toml), per stream block
(film + pesticide_packaging share sites) the MIP size, then objective, bound, gap, wall and CPU
seconds with the LP-guided start (``lp_start=True``, current default) against the anchor
``lp_start=False`` (the tier-by-tier heuristic start alone), same process, same inputs, same limit.

Needs the ``bench`` extra (spopt, pulp). Prints a Markdown table: per instance our objective,
status, gap, p-median method, wall and CPU seconds; spopt's objective, wall and CPU seconds (CBC
through PuLP, spopt's default; CPU includes the CBC child process); the wall-time ratio
spopt / netplan; the load average at start and end. spopt is run on instances with n <= --spopt-max-n (its dense n x n model takes
minutes and GBs beyond that); the large 5,000 x 1,000 instance is ours only.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netplan.siting import max_cover, p_center, p_median, set_cover  # noqa: E402
from netplan.siting.instances import read_pmed, read_sf  # noqa: E402


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (CBC runs as a child process)."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def spopt_pmedian(c: np.ndarray, w: np.ndarray, p: int, limit: float) -> tuple[float, float, str, float]:
    """spopt PMedian with CBC: (objective, wall s, status, CPU s incl. the CBC process)."""
    import pulp
    from spopt.locate import PMedian

    t, c0 = time.perf_counter(), cpu_s()
    m = PMedian.from_cost_matrix(c, w, p_facilities=p)
    try:
        m = m.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    except RuntimeError:   # spopt raises when CBC has no solution at its time limit
        return float("nan"), time.perf_counter() - t, "no solution", cpu_s() - c0
    return (float(pulp.value(m.problem.objective)), time.perf_counter() - t,
            pulp.LpStatus[m.problem.status], cpu_s() - c0)


def spopt_other(kind: str, c: np.ndarray, w: np.ndarray, r: float, p: int, limit: float):
    import pulp
    from spopt.locate import LSCP, MCLP, PCenter

    t, c0 = time.perf_counter(), cpu_s()
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit)
    if kind == "lscp":
        m = LSCP.from_cost_matrix(c, r).solve(solver)
    elif kind == "mclp":
        m = MCLP.from_cost_matrix(c, w, r, p_facilities=p).solve(solver)
    else:
        m = PCenter.from_cost_matrix(c, p_facilities=p).solve(solver)
    return float(pulp.value(m.problem.objective)), time.perf_counter() - t, cpu_s() - c0


def timed(fn, *args, **kw):
    """Call ``fn``; return (result, CPU seconds)."""
    c0 = cpu_s()
    out = fn(*args, **kw)
    return out, cpu_s() - c0


def random_instance(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 50_000, (n, 2))
    cand = rng.uniform(0, 50_000, (m, 2))
    c = np.linalg.norm(dem[:, None] - cand[None], axis=2).round()
    return c, rng.integers(1, 100, n).astype(float)


def demo(limit_s: float, solver: str) -> None:
    """Print the "three_tier on the demo county" table (see the module docstring)."""
    from ortools.linear_solver import linear_solver_pb2

    from netplan import planner
    from netplan.scenario import load_scenario
    from netplan.siting import three_tier
    from netplan.siting._mip import make_solver
    from netplan.siting._tt_build import build
    from netplan.siting._tt_prep import prepare

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "data/scenarios/demo.toml")
    models, _ = planner.siting_models(sc)
    by = {m.name: m for m in models}
    blocks = [[n] for n in ("straw", "manure", "recyclables") if n in by]
    blocks.append([n for n in ("film", "pesticide_packaging") if n in by])
    share = (("film", "pesticide_packaging"),)
    print(f"three_tier on the demo county, solver {solver}, limit {limit_s:g} s per block\n")
    print("| block | rows | cols | nonzeros | start | objective CNY/yr | bound | gap | status "
          "| wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    tot = {False: [0.0, 0.0, 0], True: [0.0, 0.0, 0]}
    for names in blocks:
        sds = [prepare(by[n])[0] for n in names]
        mip = make_solver(solver)
        build(mip, sds, [list(range(len(sds)))] if len(sds) > 1 else [], None)
        proto = linear_solver_pb2.MPModelProto()
        mip.ExportModelToProto(proto)
        nnz = sum(len(c.var_index) for c in proto.constraint)
        size = f"{mip.NumConstraints()} | {mip.NumVariables()} | {nnz}"
        for lp_start in (False, True):
            t0, c0 = time.perf_counter(), time.process_time()
            sol = three_tier([by[n] for n in names], share=share, time_limit_s=limit_s,
                             solver=solver, seed=0, lp_start=lp_start)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ok = sol.status == "optimal" or sol.gap <= 0.005
            tot[lp_start][0] += wall
            tot[lp_start][1] += cpu
            tot[lp_start][2] += int(ok)
            label = "LP-guided" if lp_start else "anchor: heuristic"
            print(f"| {'+'.join(names)} | {size} | {label} | {sol.objective:,.0f} | "
                  f"{sol.bound:,.0f} | {sol.gap:.2%} | {sol.status} | {wall:.1f} | {cpu:.1f} |",
                  flush=True)
    for lp_start in (False, True):
        wall, cpu, ok = tot[lp_start]
        label = "LP-guided" if lp_start else "anchor"
        print(f"\n{label}: {ok}/{len(blocks)} blocks optimal or gap <= 0.5 %, "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU in total")


def demo_limits(limits: list[float], scenario: str, solver: str) -> None:
    """Gap and plan cost of the whole scenario's model (one three_tier call, as the planner makes
    it) per CPU-second limit: per block objective / bound / gap, and the CPU seconds used."""
    from netplan import planner
    from netplan.scenario import load_scenario
    from netplan.siting import three_tier

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / f"data/scenarios/{scenario}.toml")
    models, share = planner.siting_models(sc)
    print(f"three_tier on {scenario}.toml (whole model, solver {solver}, seed {sc.seed}), "
          f"load {os.getloadavg()[0]:.1f}\n")
    print("| limit CPU s | block | objective CNY/yr | bound | gap | status | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for lim in limits:
        c0 = time.process_time()
        sol = three_tier(models, share=share, time_limit_s=lim, solver=solver, seed=sc.seed)
        cpu = time.process_time() - c0
        for b in sol.blocks:
            print(f"| {lim:g} | {'+'.join(b.streams)} | {b.objective:,.0f} | {b.bound:,.0f} | "
                  f"{b.gap:.2%} | {b.status} | |")
        print(f"| {lim:g} | **all** | {sol.objective:,.0f} | {sol.bound:,.0f} | {sol.gap:.2%} | "
              f"{sol.status} | {cpu:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--spopt-max-n", type=int, default=400)
    ap.add_argument("--spopt-limit", type=float, default=120.0)
    ap.add_argument("--only", default="",
                    help="comma-separated pmed names; 'none' = skip pmed; 'pmed' = pmed only")
    ap.add_argument("--large-limit", type=float, default=20.0, help="limit for the 5,000 x 1,000 instance")
    ap.add_argument("--out", default="")
    ap.add_argument("--demo", action="store_true", help="three_tier on the demo county only")
    ap.add_argument("--demo-limits", default="",
                    help="comma-separated CPU-s limits: gap and cost of the whole demo model per limit")
    ap.add_argument("--scenario", default="demo", help="scenario for --demo-limits (demo, demo_hills)")
    ap.add_argument("--solver", default="scip", help="solver for --demo")
    a = ap.parse_args()
    if a.demo_limits:
        demo_limits([float(x) for x in a.demo_limits.split(",")], a.scenario, a.solver)
        return
    if a.demo:
        demo(a.limit, a.solver)
        return
    data = Path(a.data)
    opt = {ln.split()[0]: float(ln.split()[1]) for ln in
           (data / "orlib_pmedian/pmedopt.txt").read_text().splitlines()[1:] if ln.strip()}
    rows = [f"load average at start: {os.getloadavg()}"]
    print(rows[0])
    tot = {"us": 0.0, "us_cpu": 0.0, "sp": 0.0, "sp_cpu": 0.0, "us_cmp": 0.0, "us_cmp_cpu": 0.0}
    count = {"pmed": 0, "proven": 0, "reached": 0, "worse": 0}

    def record(name, n, m, p, ours, cpu, ref, sp):
        tot["us"] += ours.solve_time_s
        tot["us_cpu"] += cpu
        reached = "" if ref is None else ("yes" if abs(ours.objective - ref) <= 1e-6 * max(1, ref) else "NO")
        if name.startswith("pmed"):
            count["pmed"] += 1
            count["proven"] += ours.status == "optimal"
            count["reached"] += reached == "yes"
        sp_obj = sp_t = ratio = ""
        if sp is not None:
            tot["sp"] += sp[1]
            tot["sp_cpu"] += sp[2]
            tot["us_cmp"] += ours.solve_time_s
            tot["us_cmp_cpu"] += cpu
            sp_obj = f"{sp[0]:.6g}" if np.isfinite(sp[0]) else "none in limit"
            sp_t = f"{sp[1]:.2f} / {sp[2]:.2f}"
            ratio = f"{sp[1] / max(ours.solve_time_s, 1e-3):.1f}"
            if ours.objective > sp[0] + 1e-6 * max(1.0, abs(sp[0])) and name.startswith(("pmed", "rand")):
                count["worse"] += 1
        method = ours.info.get("method", "") if isinstance(ours.info, dict) else ""
        line = (f"| {name} | {n}x{m} | {p} | {ours.objective:.6g} | {'' if ref is None else f'{ref:.6g}'} "
                f"| {reached} | {ours.status} | {ours.gap:.1e} | {method} | {ours.solve_time_s:.2f} | {cpu:.2f} "
                f"| {sp_obj} | {sp_t} | {ratio} |")
        rows.append(line)
        print(line, flush=True)

    head = ("| instance | n x m | p | netplan obj | published opt | reached | status | gap | method "
            "| time s | CPU s | spopt obj | spopt s wall / CPU | spopt/netplan |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows.append(head)
    print(head)
    names = [f"pmed{i}" for i in range(1, 41)]
    if a.only and a.only != "pmed":
        names = [x for x in names if x in a.only.split(",")]
    for name in names:
        d, p = read_pmed(data / f"orlib_pmedian/pmed/{name}.txt.gz")
        ours, cpu = timed(p_median, d, p, time_limit_s=a.limit)
        sp = None
        if len(d) <= a.spopt_max_n:
            o, t, _, sc = spopt_pmedian(d, np.ones(len(d)), p, a.spopt_limit)
            sp = (o, t, sc)
        record(name, len(d), len(d), p, ours, cpu, opt[name], sp)
    if a.only != "pmed":
        for seed, (n, m, p) in enumerate([(300, 100, 10), (500, 200, 20), (1000, 300, 30)]):
            c, w = random_instance(seed, n, m)
            ours, cpu = timed(p_median, c, p, weights=w, time_limit_s=a.limit)
            o, t, _, sc = spopt_pmedian(c, w, p, a.spopt_limit)
            record(f"rand{seed}-pmedian", n, m, p, ours, cpu, None, (o, t, sc))
        c, w = read_sf(data / "spopt_tests")
        o, t, _, sc = spopt_pmedian(c, w, 4, a.spopt_limit)
        record("SF-pmedian", 205, 16, 4, *timed(p_median, c, 4, weights=w, time_limit_s=a.limit),
               2848268129.7145, (o, t, sc))
        record("SF-mclp R=5000", 205, 16, 4, *timed(max_cover, c, 5000.0, 4, weights=w, time_limit_s=a.limit),
               875247.0, spopt_other("mclp", c, w, 5000.0, 4, a.spopt_limit))
        record("SF-lscp R=5000", 205, 16, "-", *timed(set_cover, c, 5000.0, time_limit_s=a.limit), 8.0,
               spopt_other("lscp", c, w, 5000.0, 4, a.spopt_limit))
        record("SF-pcenter", 205, 16, 4, *timed(p_center, c, 4, time_limit_s=a.limit), 7403.0638,
               spopt_other("pcenter", c, w, 5000.0, 4, a.spopt_limit))
        c, w = random_instance(99, 5000, 1000)
        record("large-pmedian", 5000, 1000, 100,
               *timed(p_median, c, 100, weights=w, time_limit_s=a.large_limit), None, None)
    summary = (f"\npmed: {count['proven']}/{count['pmed']} proven optimal, {count['reached']}/{count['pmed']} "
               f"at the published optimum. Total netplan {tot['us']:.1f} s wall / {tot['us_cpu']:.1f} s CPU; "
               f"on the instances spopt also solved: netplan {tot['us_cmp']:.1f} s wall / "
               f"{tot['us_cmp_cpu']:.1f} s CPU vs spopt {tot['sp']:.1f} s wall / {tot['sp_cpu']:.1f} s CPU = "
               f"{tot['sp'] / max(tot['us_cmp'], 1e-9):.1f}x wall, "
               f"{tot['sp_cpu'] / max(tot['us_cmp_cpu'], 1e-9):.1f}x CPU; instances where netplan's "
               f"p-median objective is worse than spopt's: {count['worse']}. "
               f"Load average at end: {os.getloadavg()}.")
    print(summary)
    if a.out:
        Path(a.out).write_text("\n".join(rows) + "\n" + summary + "\n")


if __name__ == "__main__":
    main()
