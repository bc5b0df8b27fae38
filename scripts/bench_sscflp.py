"""Benchmark the single-source CFLP engine on published instances against a textbook MILP.

Sets (``--set``): ``yang`` (Yang, Chu & Chen 2012, Y1-Y4, 20 instances, 30-80 facilities x
200-400 customers) and ``holmberg`` (Holmberg, Rönnqvist & Yuan 1999, p1-p71), both from
``--data`` (default /work/shared/data/facility_location_extra); ``--dir`` runs any other folder
of instances in the same format. A file ``<prefix>p<k>.txt[.gz]`` takes its optimum from line k
of ``<prefix>os.txt`` in its folder (``os.txt`` for Holmberg, ``Y1_os.txt`` for Yang).

Each instance is solved, in the same process from the same arrays, by
``netplan.siting.sscflp.solve_sscflp`` and by the anchor: the textbook strong model
(``x_ij <= y_j``, assignment and capacity rows, nothing else) in HiGHS (the solver behind
``scipy.optimize.milp``, called through highspy so that both stop on the same CPU-second clock,
single thread). Time to the optimum is the CPU time of the first plan at the published optimum.

Status ``feasible*``: netplan's run ended on the CPU-time safety stop, not on its deterministic
work budget.

Usage: ``python scripts/bench_sscflp.py --set yang --limit 30 [--only Y1_p1,Y4_p2] [--out f.md]``
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

from netplan.siting._mip import clock
from netplan.siting._sscflp_mip import build
from netplan.siting.instances import read_holmberg
from netplan.siting.sscflp import solve_sscflp

DEFAULT_DATA = Path("/work/shared/data/facility_location_extra")
SETS = {"yang": "sscflp_yang", "holmberg": "sscflp_holmberg"}


def instances(folder: Path) -> list[tuple[str, Path, float]]:
    """(name, path, published optimum or nan) for every ``*p<k>.txt[.gz]`` in ``folder``."""
    out = []
    for f in folder.iterdir():
        mt = re.fullmatch(r"(.*?)p(\d+)\.txt(\.gz)?", f.name)
        if not mt:
            continue
        prefix, k = mt.group(1), int(mt.group(2))
        osf = folder / f"{prefix}os.txt"
        opt = math.nan
        if osf.exists():
            lines = [ln for ln in osf.read_text().split("\n") if ln.strip()]
            if k <= len(lines):
                opt = float(lines[k - 1].split()[-1])
        out.append((f"{prefix}p{k}", f, opt, prefix, k))
    out.sort(key=lambda t: (t[3], t[4]))
    return [(a, b, c) for a, b, c, _, _ in out]


def anchor(fixed, cap, q, cost, limit_s: float) -> tuple[float, float, list]:
    """Textbook MILP in HiGHS: (objective, bound, trace of (cpu_s, objective))."""
    import highspy
    n, m = cost.shape
    pi, pj = np.nonzero(np.ones((n, m), dtype=bool))
    lp, _ = build(np.arange(m), pi, pj, fixed, cap, q, cost, links=True, aggregate=False)
    hs = highspy.Highs()
    hs.silent()
    hs.passModel(lp)
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("time_limit", 20.0 * limit_s + 60.0)   # wall backstop only
    t0 = clock()
    trace: list = []

    def _stop(e) -> None:
        if clock() - t0 >= limit_s:
            e.interrupt()

    def _improved(e) -> None:
        trace.append((clock() - t0, float(e.data_out.objective_function_value)))

    hs.cbMipInterrupt.subscribe(_stop)
    hs.cbSimplexInterrupt.subscribe(_stop)
    hs.cbMipImprovingSolution.subscribe(_improved)
    hs.run()
    info = hs.getInfo()
    has = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    obj = float(info.objective_function_value) if has else math.inf
    bound = float(info.mip_dual_bound)
    if hs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        bound = obj
    return obj, bound, trace


def _t_opt(trace, opt: float) -> float:
    for t, v in trace:
        if math.isfinite(opt) and v <= opt + 1e-6:
            return t
    return math.nan


def _f(x: float, fmt: str) -> str:
    return "—" if not math.isfinite(x) else format(x, fmt)


def run_one(name: str, path: Path, opt: float, args) -> dict:
    cost, q, cap, fixed = read_holmberg(path)
    n, m = cost.shape
    r = solve_sscflp(fixed, cap, q, cost, time_limit_s=args.limit, work_limit=args.work_limit,
                     seed=args.seed)
    row = {"name": name, "size": f"{m}×{n}", "opt": opt, "obj": r.objective, "bound": r.bound,
           "gap": r.gap, "status": r.status + ("*" if r.work.get("stopped_by_time") else ""), "cpu": r.cpu_s, "t_opt": _t_opt(r.trace, opt)}
    if not args.no_anchor:
        ao, ab, at = anchor(fixed, cap, q, cost, args.limit)
        row.update(a_obj=ao, a_gap=(ao - ab) / ao if math.isfinite(ao) else math.inf,
                   a_t_opt=_t_opt(at, opt))
    return row


def fmt_row(r: dict) -> str:
    def over(v):
        return 100 * (v - r["opt"]) / r["opt"] if math.isfinite(r["opt"]) else math.nan
    s = (f"| {r['name']} | {r['size']} | {_f(r['opt'], '.0f')} | {_f(r['obj'], '.0f')} | "
         f"{_f(over(r['obj']), '.3f')} | {_f(100 * r['gap'], '.2f')} | {r['status']} | "
         f"{_f(r['t_opt'], '.1f')} | {r['cpu']:.1f} |")
    if "a_obj" in r:
        s += (f" {_f(r['a_obj'], '.0f')} | {_f(over(r['a_obj']), '.3f')} | "
              f"{_f(100 * r['a_gap'], '.2f')} | {_f(r['a_t_opt'], '.1f')} | "
              f"{_f(r['obj'] / r['a_obj'], '.4f')} |")
    return s


HEAD = ("| inst | m×n | optimum | netplan | % over | gap % | status | t→opt s | CPU s |"
        " anchor | % over | gap % | t→opt s | ratio |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def summary(rows: list[dict]) -> str:
    def over(r, k):
        return (r[k] - r["opt"]) / r["opt"] if math.isfinite(r["opt"]) else math.nan
    known = [r for r in rows if math.isfinite(r["opt"])]
    lines = [f"instances {len(rows)}; netplan proven optimal {sum(r['status'] == 'optimal' for r in rows)}"
             f", at the optimum {sum(over(r, 'obj') <= 1e-9 for r in known)}"
             f", within 0.1 % {sum(over(r, 'obj') <= 1e-3 for r in known)}"
             f", mean % over {100 * np.mean([over(r, 'obj') for r in known]):.3f}"
             if known else ""]
    if rows and "a_obj" in rows[0]:
        lines.append(
            f"anchor at the optimum {sum(over(r, 'a_obj') <= 1e-9 for r in known)}, within 0.1 % "
            f"{sum(over(r, 'a_obj') <= 1e-3 for r in known)}, mean % over "
            f"{100 * np.mean([over(r, 'a_obj') for r in known]):.3f}; netplan worse than anchor "
            f"on {sum(r['obj'] > r['a_obj'] + 1e-6 for r in rows)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--set", choices=["yang", "holmberg", "all"], default="all")
    ap.add_argument("--dir", type=Path, help="other folder of instances in the same format")
    ap.add_argument("--limit", type=float, default=30.0, help="CPU s per instance (each solver)")
    ap.add_argument("--work-limit", type=float, default=1.0, help="netplan work budget scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="comma-separated names, e.g. Y1_p1,p45")
    ap.add_argument("--no-anchor", action="store_true")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    args = ap.parse_args(argv)
    folders = [args.dir] if args.dir else [
        args.data / SETS[s] for s in (["yang", "holmberg"] if args.set == "all" else [args.set])]
    only = {s for s in args.only.split(",") if s}
    todo = [t for f in folders for t in instances(f) if not only or t[0] in only]
    if not todo:
        print("no instances found", file=sys.stderr)
        return 2
    print(HEAD, flush=True)
    rows = []
    for name, path, opt in todo:
        rows.append(run_one(name, path, opt, args))
        print(fmt_row(rows[-1]), flush=True)
    text = summary(rows)
    print(text)
    if args.out:
        args.out.write_text(HEAD + "\n" + "\n".join(fmt_row(r) for r in rows) + "\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
