"""Two-stage CFLP benchmark (Fernandes et al. 2014): three_tier multi-source vs a textbook MILP.

Usage: .venv/bin/python scripts/bench_two_stage.py [--data DIR] [--limit 40] [--anchor-limit 40]
       [--solver scip] [--heuristic-share 0.3] [--only PSC1-C1,PSC2-C1] [--out table.md]

``--data`` is the folder with ``PSC{1..5}-C{1..5}-50.txt.gz``, ``bks-50.txt`` and ``lb-50.txt``
(default /work/shared/data/facility_location_extra/tscflp_fernandes2014). Each instance (50 plants,
100 satellites, 200 customers) is solved by :func:`netplan.siting.three_tier` with
``single_source=False`` (the instance mapped by :func:`~netplan.siting.instances.tscflp_model`)
within ``--limit`` CPU seconds (``_mip.clock``; multi-source blocks are solved by HiGHS through
highspy on the model without implied per-pair rows, ``_tt_split.solve_highs``), and, in the same
process on the same arrays, by the anchor: the
paper's plain MILP (continuous flows, binary plants and satellites, aggregated capacity rows
``Σ_k s_jk ≤ C_j z_j``, no per-pair linking) solved by ``scipy.optimize.milp`` (HiGHS) within
``--anchor-limit`` wall-clock seconds. Prints a Markdown table: instance, best known value,
lower bound, our objective, status, gap to the best known value, bound, wall and CPU time, the
anchor's objective, status, wall and CPU time, and the wall-time ratio anchor / ours.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netplan.siting import three_tier  # noqa: E402
from netplan.siting.instances import read_tscflp, tscflp_model  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/facility_location_extra/tscflp_fernandes2014")


def read_bks(path: Path) -> dict[str, float]:
    """``bks-50.txt`` (``class instance value [*]``) → {"PSC<instance>-C<class>": value}."""
    out = {}
    for line in path.read_text().split("\n"):
        tok = line.split()
        if len(tok) >= 3:
            out[f"PSC{tok[1]}-C{tok[0]}"] = float(tok[2])
    return out


def read_lb(path: Path) -> dict[str, float]:
    """``lb-50.txt`` (``C<class>-<instance>-50 value``) → {"PSC<instance>-C<class>": value}."""
    out = {}
    for line in path.read_text().split("\n"):
        tok = line.split()
        if len(tok) >= 2:
            cls, inst, _ = tok[0].split("-")
            out[f"PSC{inst}-{cls}"] = float(tok[1])
    return out


def textbook_milp(data: tuple, time_limit_s: float) -> tuple[float, str, float]:
    """The paper's two-stage CFLP MILP with scipy/HiGHS → (objective, status, seconds).

    Variables: plant open ``y_i``, satellite open ``z_j`` (binary); flows ``x_ij`` plant→satellite
    and ``s_jk`` satellite→customer (units, continuous ≥ 0). Constraints: ``Σ_j s_jk = D_k``;
    ``Σ_k s_jk ≤ C_j z_j``; ``Σ_i x_ij = Σ_k s_jk``; ``Σ_j x_ij ≤ P_i y_i``.
    """
    demand, pcap, pfix, c_ps, scap, sfix, c_sc = data
    n_i, n_j, n_k = len(pcap), len(scap), len(demand)
    oy, oz, ox = 0, n_i, n_i + n_j
    os_ = ox + n_i * n_j
    nv = os_ + n_j * n_k
    cost = np.concatenate([pfix, sfix, c_ps.ravel(), c_sc.ravel()])
    xi = lambda i, j: ox + i * n_j + j  # noqa: E731
    si = lambda j, k: os_ + j * n_k + k  # noqa: E731
    jj, kk = np.meshgrid(np.arange(n_j), np.arange(n_k), indexing="ij")
    ii, jx = np.meshgrid(np.arange(n_i), np.arange(n_j), indexing="ij")
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    # demand: sum_j s_jk = D_k
    rows.append(r + kk.ravel()); cols.append(si(jj, kk).ravel()); vals.append(np.ones(n_j * n_k))  # noqa: E702
    lo.append(demand); hi.append(demand); r += n_k  # noqa: E702
    # satellite capacity: sum_k s_jk - C_j z_j <= 0
    rows += [r + jj.ravel(), r + np.arange(n_j)]
    cols += [si(jj, kk).ravel(), oz + np.arange(n_j)]
    vals += [np.ones(n_j * n_k), -scap]
    lo.append(np.full(n_j, -np.inf)); hi.append(np.zeros(n_j)); r += n_j  # noqa: E702
    # conservation: sum_i x_ij - sum_k s_jk = 0
    rows += [r + jx.ravel(), r + jj.ravel()]
    cols += [xi(ii, jx).ravel(), si(jj, kk).ravel()]
    vals += [np.ones(n_i * n_j), -np.ones(n_j * n_k)]
    lo.append(np.zeros(n_j)); hi.append(np.zeros(n_j)); r += n_j  # noqa: E702
    # plant capacity: sum_j x_ij - P_i y_i <= 0
    rows += [r + ii.ravel(), r + np.arange(n_i)]
    cols += [xi(ii, jx).ravel(), oy + np.arange(n_i)]
    vals += [np.ones(n_i * n_j), -pcap]
    lo.append(np.full(n_i, -np.inf)); hi.append(np.zeros(n_i)); r += n_i  # noqa: E702
    a = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                     shape=(r, nv))
    integrality = np.zeros(nv)
    integrality[:n_i + n_j] = 1
    ub = np.full(nv, np.inf)
    ub[:n_i + n_j] = 1
    t = time.perf_counter()
    res = milp(cost, constraints=LinearConstraint(a, np.concatenate(lo), np.concatenate(hi)),
               integrality=integrality, bounds=Bounds(np.zeros(nv), ub),
               options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6})
    elapsed = time.perf_counter() - t
    status = {0: "optimal", 1: "time_limit"}.get(res.status, f"status {res.status}")
    obj = float(res.fun) if res.x is not None else float("nan")
    return obj, status, elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=float, default=40.0, help="three_tier time limit per instance, s")
    ap.add_argument("--anchor-limit", type=float, default=40.0, help="scipy/HiGHS limit, s")
    ap.add_argument("--solver", default="scip")
    ap.add_argument("--heuristic-share", type=float, default=0.3,
                    help="three_tier heuristic_share (heuristic and LP-guided starts for HiGHS)")
    ap.add_argument("--only", default="", help="comma-separated names, e.g. PSC1-C1,PSC2-C3")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    bks = read_bks(args.data / "bks-50.txt")
    lbs = read_lb(args.data / "lb-50.txt")
    names = [f"PSC{i}-C{c}" for c in range(1, 6) for i in range(1, 6)]
    if args.only:
        names = [n for n in names if n in set(args.only.split(","))]
    head = ("| instance | bks | lb | ours | status | gap to bks | bound | wall s | CPU s "
            "| anchor obj | anchor status | anchor wall s | anchor CPU s | anchor/ours wall |")
    lines = [head, "|" + "---|" * 14]
    print(lines[0])
    print(lines[1])
    tot_ours = tot_anchor = 0.0
    n_reach = n_opt = n_opt_anchor = 0
    for name in names:
        data = read_tscflp(args.data / f"{name}-50.txt.gz")
        t, c = time.perf_counter(), time.process_time()
        sol = three_tier(tscflp_model(data, name=name), time_limit_s=args.limit,
                         solver=args.solver, mip_gap=1e-6, heuristic_share=args.heuristic_share)
        t_ours, c_ours = time.perf_counter() - t, time.process_time() - c
        c = time.process_time()
        a_obj, a_status, t_anchor = textbook_milp(data, args.anchor_limit)
        c_anchor = time.process_time() - c
        tot_ours += t_ours
        tot_anchor += t_anchor
        b = bks[name]
        gap = (sol.objective - b) / b
        n_reach += sol.objective <= b * (1 + 1e-6) + 0.5
        n_opt += sol.status == "optimal"
        n_opt_anchor += a_status == "optimal"
        line = (f"| {name} | {b:.1f} | {lbs[name]:.1f} | {sol.objective:.1f} | {sol.status} "
                f"| {gap:+.2e} | {sol.bound:.1f} | {t_ours:.1f} | {c_ours:.1f} | {a_obj:.1f} "
                f"| {a_status} | {t_anchor:.1f} | {c_anchor:.1f} | {t_anchor / t_ours:.2f} |")
        lines.append(line)
        print(line, flush=True)
    summary = (f"\nbest known value reached (within 1e-6) on {n_reach}/{len(names)}; proven optimal "
               f"ours {n_opt}, anchor {n_opt_anchor}; total wall time "
               f"ours {tot_ours:.1f} s, anchor {tot_anchor:.1f} s, ratio anchor/ours "
               f"{tot_anchor / max(tot_ours, 1e-9):.2f}")
    print(summary)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n" + summary + "\n")


if __name__ == "__main__":
    main()
