r"""Single-source capacitated facility location (SSCFLP) engine on arrays.

.. math::

    \min \sum_j F_j y_j + \sum_{ij} c_{ij} x_{ij}
    \;\text{s.t.}\; \sum_j x_{ij} = 1,\; \sum_i q_i x_{ij} \le C_j y_j,\;
    x_{ij} \le y_j,\; x, y \in \{0, 1\}

(``c_ij`` = cost of serving *all* of customer i from j). Strategy, each phase on a deterministic
work budget (CPU seconds are only a safety stop):

1. **Lagrangian relaxation** of the assignment rows (:mod:`._sscflp_lagr`): knapsack per facility
   plus the aggregate-capacity covering knapsack, subgradient steps -> lower bound; every few
   iterations the relaxed solution is **repaired** (regret assignment) and improved by **local
   search** (shift, swap, close) (:mod:`._sscflp_heur`) -> plans.
2. **Reduced-cost fixing** from the Lagrangian bound: sites whose opening (or closing), and pairs
   whose use, provably cost more than the best plan are removed (valid for the proof).
3. **Open-set tabu search** (:mod:`._sscflp_open`): close, open or swap one site at a time, each
   candidate open set evaluated by a fast GAP heuristic (regret fill + shift descent), the best
   few polished by the local search; non-improving moves allowed, changed sites tabu for a while.
4. **Kernel MIP** (up to ``KERNEL_MAX_PAIRS`` pairs): the strong MIP restricted to the sites the
   relaxation opened in its later iterations, the best plan's and those of the tabu search's five
   best open sets (a global choice of the open set), from the best plan. Its root's sub-MIPs
   run past its callback budget; the simplex iterations they take beyond it come off the region
   search's budget, so that the run still ends on work. Above ``KERNEL_MAX_PAIRS`` (Yang 80 x 400)
   it is skipped: its root alone took 25-28 CPU s there, and the region search with its budget
   found better plans on all five Y4 instances (Y4_p2 37438 against 37907).
5. **MIP neighbourhood search** (:mod:`._sscflp_lns`): for each site, the strong MIP of its
   nearest sites and the customers they serve is re-solved exactly (HiGHS, from the current plan);
   regions grow when a sweep finds nothing -- a very large neighbourhood (Ahuja et al. 2004) that
   opens, closes and swaps sites and re-packs their customers in one move.
6. **Full strong MIP** over everything not fixed, from the best plan, for the proof (tried first,
   when fixing leaves few pairs; skipped above ``final_pairs`` free pairs, where its root alone
   took 9-14 CPU s on Yang 30-60 x 200 and the budget could not stop it).

MIP work is counted in calls of HiGHS's MIP interrupt callback (:func:`._sscflp_mip.call_budget`),
a deterministic measure: the same inputs give the same plan on an idle and on a loaded machine
(Y1_p1 and Y4_p2: the same plans and work counters beside two busy loops as alone).

Measured: the bucket phase of a kernel search (Guastaroba & Speranza 2014; kernel + buckets of
sites ranked by Lagrangian values) ended above the neighbourhood search on Yang Y1_p1 and Y4_p1
at 30 CPU s (30220 / 39846 against 30212 / 39401) and was dropped; the single kernel MIP (4.)
before the neighbourhood search took Y2_p1 from 28932 to 28585 (optimum 27977). The open-set
tabu search (3.) before it, its open sets added to the kernel: Y2_p2 30206 -> 29742 (anchor 29798,
optimum 29704), Y3_p5 31084 -> 30988, Y2_p1 28610 -> 28480; on 60 x 300 it cost Y3_p3 the kernel
MIP's time (33990 -> 34352), hence fewer iterations above 12,000 pairs (Y3_p3 34121, Y3_p5 31026). Re-solving the tabu search's best open
sets as GAP MIPs (open set fixed, nearest-8 links) or their union as one restricted MIP instead of
the kernel MIP was measured and dropped (Y2_p2 29918 / 29975, Y2_p5 29326 / 29328 against 29742 /
29263 with the kernel MIP), as were the kernel MIP on each customer's 10 cheapest kernel sites
(Y2_p5 29213, but Y2_p2 30020 and Y2_p1, Y3_p5 on the safety stop) and a second tabu search after
the region search (no gain on Y1_p1, Y1_p2, Y2_p2, Y2_p4). Without the kernel MIP on every
instance the runs end sooner, but Y2_p2 / Y2_p4 / Y2_p5 end above the anchor (29918 / 28071 /
29354); with it, its budget is cut to 3,000 iterations (5,000: Y2_p3 28016 but 32.8 CPU s). On
80 x 400 without it, 5 / 10 / 15 tabu iterations: Y4_p2 37438 / 37438 / 37459, Y4_p4 37348 /
37348 / 37344, the rest equal; 10 kept.

Status is "optimal" only when proven (bound meets objective); the bound is the best of the
Lagrangian and MIP bounds (rounded up when all data are integers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netplan.errors import InputError
from netplan.siting import _sscflp_heur as heur
from netplan.siting import _sscflp_lagr as lagr
from netplan.siting._mip import clock, rel_gap
from netplan.siting._sscflp_lns import final_mip, kernel_mip, region_lns, site_distance
from netplan.siting._sscflp_open import open_search


@dataclass(frozen=True)
class SSCFLPResult:
    """Outcome of :func:`solve_sscflp`.

    Attributes
    ----------
    open
        Sorted indices of open facilities (used or forced open).
    assign
        (n,) facility serving each customer (-1 only when no plan was found).
    objective
        Plan cost (fixed + assignment, cost units); inf without a plan.
    bound
        Proven lower bound on the optimum (cost units).
    gap
        ``(objective - bound) / objective``.
    status
        "optimal" (proven), "feasible" (plan, not proven) or "no_solution".
    cpu_s
        CPU seconds spent.
    work
        Work done per phase (Lagrangian iterations, MIP simplex iterations and nodes, ...).
    trace
        ((cpu_s, objective), ...) each time the best plan improved.
    """

    open: np.ndarray
    assign: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    cpu_s: float
    work: dict
    trace: tuple


@dataclass
class _Inst:
    fixed: np.ndarray
    cap: np.ndarray
    q: np.ndarray
    cost: np.ndarray       # inf replaced by 0 where not ok
    ok: np.ndarray         # (n, m) usable pairs
    forced: np.ndarray
    integral: bool


class _Best:
    """Incumbent plan with its improvement trace."""

    def __init__(self, inst: _Inst, t0: float) -> None:
        self.inst, self.t0 = inst, t0
        self.assign: np.ndarray | None = None
        self.value = math.inf
        self.bound = -math.inf
        self.trace: list[tuple[float, float]] = []

    def offer(self, a: np.ndarray | None, at: float | None = None) -> bool:
        """Keep ``a`` if feasible and cheaper; ``at`` = CPU s (from start) it was found."""
        ins = self.inst
        if a is None or not heur.feasible(a, ins.q, ins.cap, ins.ok):
            return False
        val = heur.plan_cost(a, ins.cost, ins.fixed, ins.forced)
        if val < self.value - 1e-9 * max(1.0, abs(val)):
            self.assign, self.value = a.copy(), val
            self.trace.append((clock() - self.t0 if at is None else at, val))
            return True
        return False


def _check(fixed_cost, capacity, demand, cost, forced_open, forbidden) -> _Inst:
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        raise InputError("cost must be a 2-d (n_customer, n_facility) array", field="cost")
    n, m = c.shape
    q = np.asarray(demand, dtype=float).reshape(-1)
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (m,)).copy()
    fixed = np.broadcast_to(np.asarray(fixed_cost, dtype=float), (m,)).copy()
    if q.shape != (n,):
        raise InputError(f"demand must have {n} entries, got {q.shape}", field="demand")
    for name, a in (("demand", q), ("capacity", cap), ("fixed_cost", fixed)):
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise InputError(f"{name} must be finite and >= 0", field=name)
    if np.any(np.isnan(c)) or np.any(c < 0):
        raise InputError("cost must be >= 0 (inf = pair not allowed)", field="cost")
    forced = np.zeros(m, dtype=bool) if forced_open is None else np.asarray(forced_open, bool)
    banned = np.zeros(m, dtype=bool) if forbidden is None else np.asarray(forbidden, bool)
    if forced.shape != (m,) or banned.shape != (m,) or np.any(forced & banned):
        raise InputError("forced_open / forbidden must be disjoint (m,) bool arrays",
                         field="forced_open")
    ok = np.isfinite(c) & (q[:, None] <= cap[None, :] + 1e-9) & ~banned[None, :]
    integral = all(lagr._integral(a) for a in (q, cap, fixed, np.where(ok, c, 0.0)))
    return _Inst(fixed, cap, q, np.where(ok, c, 0.0), ok, forced, integral)


#: Largest instance (facilities x customers) the kernel MIP runs on: above it (Yang 80 x 400)
#: its root alone took 25-28 of 30 CPU s and the region search found better plans on all five
KERNEL_MAX_PAIRS = 24_000
#: Simplex iterations of the kernel MIP per unit of ``work_limit`` (5,000: Y2_p3 28016 but
#: 32.8 CPU s; what its root's sub-MIPs run beyond it comes off the region search)
KERNEL_LP_ITERS = 3_000
#: Region-search simplex iterations per unit of ``work_limit`` after a kernel MIP (70,000
#: without one)
LNS_LP_KERNEL = 30_000
#: Tabu iterations per unit of ``work_limit`` when the kernel MIP is skipped (Y4: 5 / 10 / 15
#: give Y4_p2 37438 / 37438 / 37459; 15 took 29.1 CPU s at load 5.6)
TABU_NO_KERNEL = 10


def _budget(work_limit: float, n: int, m: int) -> dict:
    """Deterministic work budget; ``work_limit`` scales it (see :func:`solve_sscflp`)."""
    w = max(0.05, float(work_limit))
    pairs = max(1, n * m)
    kernel = pairs <= KERNEL_MAX_PAIRS
    # tabu iterations: 30 up to 12,000 pairs (Yang 60 x 200), then by the square of the size, so
    # that on 60 x 300 the kernel MIP's root keeps its time (Y3_p3: 30 iterations 34352, above the
    # anchor's 34186; 13 iterations 33996); without the kernel MIP (80 x 400) a fixed number
    tabu = (max(5, int(30 * w * min(1.0, (12_000 / pairs) ** 2))) if kernel
            else max(1, int(TABU_NO_KERNEL * w)))
    return {"lagr_iters": max(30, int(250 * min(w, 2.0))), "heur_every": 10,
            "probe_pairs": 3000, "probe_lp_iters": int(120_000 * w),
            "lns_lp_total": int((LNS_LP_KERNEL if kernel else 70_000) * w),
            "lns_lp_min": int(10_000 * w), "kernel": kernel, "kernel_lp_iters": int(KERNEL_LP_ITERS * w),
            "kernel_nodes": int(2_000 * w), "lns_size": 8, "lns_size_step": 4,
            "lns_size_max": 24, "lns_lp_iters": 20_000, "lns_nodes": 500,
            "lns_border": 30,
            "final_lp_iters": int(10_000 * w), "final_nodes": int(20_000 * w),
            "final_pairs": int(4_000 * min(w, 4.0)),
            "open_iters": tabu, "open_evals": int(10_000 * w), "open_polish": 5,
            "open_tenure": 7, "swap_near": 8, "open_keep": 5}


def solve_sscflp(fixed_cost: np.ndarray | float, capacity: np.ndarray | float,
                 demand: np.ndarray, cost: np.ndarray, *, time_limit_s: float = 30.0,
                 work_limit: float = 1.0, seed: int = 0,
                 warm_start: np.ndarray | None = None,
                 forced_open: np.ndarray | None = None,
                 forbidden: np.ndarray | None = None) -> SSCFLPResult:
    """Solve a single-source CFLP: Lagrangian bound + heuristic, MIP neighbourhoods, strong MIP.

    Parameters
    ----------
    fixed_cost, capacity
        (m,) or scalar: cost of opening each facility (cost units) and its capacity (demand
        units, e.g. t/yr).
    demand
        (n,) demand of each customer (same units as capacity).
    cost
        (n, m) cost of serving the whole of customer i from facility j (cost units);
        ``inf`` = pair not allowed.
    time_limit_s
        CPU-second safety stop (``_mip.clock``). Plans are decided by ``work_limit``: a run that
        ends on its work budget is reproducible on an idle or a loaded machine.
    work_limit
        Scale of the deterministic work budget (Lagrangian iterations, MIP simplex iterations
        counted in HiGHS callback calls, nodes); 1.0 ends on work in 9-26 CPU s on the 20 Yang
        instances (30-80 x 200-400, BENCHMARKS.md).
    seed
        HiGHS random seed.
    warm_start
        (n,) facility per customer of a known plan (used if feasible).
    forced_open, forbidden
        (m,) bool: facilities that must be open (and pay their fixed cost) / may not be used.

    Returns
    -------
    SSCFLPResult
        ``status`` "optimal" only when proven; "no_solution" when no plan was found (e.g.
        the instance is infeasible or the budget ran out first).
    """
    t0 = clock()
    ins = _check(fixed_cost, capacity, demand, cost, forced_open, forbidden)
    n, m = ins.cost.shape
    bud = _budget(work_limit, n, m)
    best = _Best(ins, t0)
    work: dict = {"time_limit_s": float(time_limit_s)}

    def stop() -> bool:
        return clock() - t0 >= time_limit_s

    if warm_start is not None:
        best.offer(np.asarray(warm_start, dtype=int))
    if np.any(~ins.ok.any(axis=1)) or ins.cap[~np.all(~ins.ok, axis=0)].sum() < ins.q.sum():
        return _result(ins, best, -math.inf, False, t0, {"reason": "infeasible input"})
    st = _lagrangian(ins, best, bud, stop)
    work["lagr_iters"] = st.iters
    work["cpu_lagr_s"] = round(clock() - t0, 2)
    bound = st.bound
    if ins.integral:
        bound = math.ceil(bound - 1e-6)
    best.bound = bound
    # (no plan yet: inf - bound <= 1e-9 * inf would hold, so the plan must exist)
    if (best.assign is not None and best.value - bound <= 1e-9 * max(1.0, abs(best.value))
            or stop()):
        return _result(ins, best, bound, best.value <= bound + 1e-9, t0, work)
    keep_y, keep_x = _fixing(ins, st, best.value)
    work["sites_fixed"] = int(m - keep_y.sum())
    work["pairs_fixed"] = int(ins.ok.sum() - keep_x.sum())
    proven = False
    if keep_x.sum() <= bud["probe_pairs"]:   # small after fixing: try to prove it directly
        proven, mb = final_mip(ins, best, keep_y, keep_x, bud["probe_lp_iters"], bud, seed, t0,
                               time_limit_s, work)
        bound = max(bound, mb)
    kernel = st.kernel.copy()
    if not proven and not stop() and bud["open_iters"] > 0:
        for o in open_search(ins, best, keep_y, site_distance(ins), bud, t0, time_limit_s,
                             work):
            kernel |= o
    if not proven and not stop() and bud["kernel"]:
        before = work.get("mip_lp_iters", 0)
        kernel_mip(ins, best, kernel & keep_y, keep_x, bud, seed, t0, time_limit_s, work)
        work["cpu_kernel_s"] = round(clock() - t0, 2)
        # the kernel MIP's root sub-MIPs run past its callback budget (1 CPU s per ~1,000
        # simplex iterations on Yang): what it ran beyond its budget comes off the region search's
        over = work.get("mip_lp_iters", 0) - before - bud["kernel_lp_iters"]
        bud = {**bud, "lns_lp_total": max(bud["lns_lp_min"], bud["lns_lp_total"] - max(0, over))}
    if not proven and not stop():
        region_lns(ins, best, keep_y, bud, seed, t0, time_limit_s, work)
        work["cpu_lns_s"] = round(clock() - t0, 2)
    if not proven and not stop() and keep_x.sum() <= bud["final_pairs"]:
        proven, mb = final_mip(ins, best, keep_y, keep_x, bud["final_lp_iters"], bud, seed, t0,
                               time_limit_s, work)
        bound = max(bound, mb)
    elif not proven:
        work["final_skipped"] = True   # its root alone outlasts the budget (Yang: 9-14 CPU s)
    return _result(ins, best, bound, proven, t0, work)


def _result(ins: _Inst, best: _Best, bound: float, proven: bool, t0: float,
            work: dict) -> SSCFLPResult:
    n = len(ins.q)
    work["stopped_by_time"] = bool(work.get("time_limit_s", math.inf) <= clock() - t0)
    if best.assign is None:
        return SSCFLPResult(np.zeros(0, dtype=int), np.full(n, -1), math.inf, bound, math.inf,
                            "no_solution", clock() - t0, work, tuple(best.trace))
    used = np.zeros(len(ins.fixed), dtype=bool)
    used[best.assign] = True
    used |= ins.forced
    obj = best.value
    if proven:
        bound = max(bound, obj) if bound >= obj - 1e-6 * max(1.0, abs(obj)) else obj
    bound = min(bound, obj)
    gap = rel_gap(obj, bound)
    status = "optimal" if proven or gap <= 1e-9 else "feasible"
    return SSCFLPResult(np.flatnonzero(used), best.assign.copy(), obj, float(bound), gap, status,
                        clock() - t0, work, tuple(best.trace))


def _lagrangian(ins: _Inst, best: _Best, bud: dict, stop) -> lagr.LagrState:
    """Subgradient with a repair + local-search heuristic every ``heur_every`` iterations."""
    seen: set[bytes] = set()

    def on_iter(k, xs, y, lam):
        if k % bud["heur_every"] != bud["heur_every"] - 1 and k != 0:
            return None
        key = np.packbits(y).tobytes()
        if key in seen:
            return None
        seen.add(key)
        v = np.where(y, -1.0, 0.0)
        a = heur.repair(xs, y | ins.forced, v, ins.cost, ins.q, ins.cap, ins.ok)
        if a is None:
            return None
        a = heur.local_search(a, ins.cost, ins.q, ins.cap, ins.ok, ins.fixed, ins.forced,
                              max_moves=500, swaps=False)
        if heur.plan_cost(a, ins.cost, ins.fixed, ins.forced) <= 1.01 * best.value:
            a = heur.local_search(a, ins.cost, ins.q, ins.cap, ins.ok, ins.fixed, ins.forced,
                                  max_moves=500)
        best.offer(a)
        return best.value

    return lagr.subgradient(ins.fixed, ins.cap, ins.q, ins.cost, ins.ok, ins.forced,
                            best.value, iters=bud["lagr_iters"], on_iter=on_iter, stop=stop)


def _fixing(ins: _Inst, st: lagr.LagrState, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """Sites and pairs that may still be in a plan cheaper than ``upper`` (Lagrangian test)."""
    n, m = ins.cost.shape
    delta = 1.0 - 1e-6 if ins.integral else 1e-7 * max(1.0, abs(upper))
    limit = upper - delta
    keep_y = ins.ok.any(axis=0) | ins.forced
    base = float(st.lam.sum())
    exact = lagr._integral(ins.q) and lagr._integral(ins.cap)
    allowed = keep_y.copy()
    _, v_ex, _, _ = lagr.evaluate(st.lam, ins.fixed, ins.cap, ins.q, ins.cost, ins.ok, ins.forced,
                                  exact, lazy=False)
    v = np.where(allowed, v_ex, 0.0)
    z_open = np.full(m, -np.inf)
    for j in np.flatnonzero(allowed & ~ins.forced):
        f = ins.forced.copy()
        f[j] = True
        z_open[j], _ = lagr.cover_knapsack(v, ins.cap, float(ins.q.sum()), f, allowed, exact)
        if base + z_open[j] > limit:
            keep_y[j] = False
    z_open[ins.forced] = st.bound - base
    keep_x = ins.ok & keep_y[None, :]
    red = ins.cost - st.lam[:, None]
    # pair test: L(x_ij = 1) >= base + z_open(j) + max(0, F_j + r_ij - K_j(C_j - q_i) - v_j)
    for j in np.flatnonzero(keep_y):
        items = np.flatnonzero(ins.ok[:, j] & (red[:, j] < 0))
        room = ins.cap[j] - ins.q
        if len(items) == 0:
            kval = np.zeros(n)
        elif exact and ins.cap[j] <= lagr.DP_MAX:
            kval = _knap_table(-red[items, j], ins.q[items], ins.cap[j])[
                np.maximum(np.floor(room + 1e-9), 0).astype(int)]
        else:   # K_j(C_j) >= K_j(C_j - q_i): a weaker but valid bound
            kval = np.full(n, lagr.knapsack(-red[items, j], ins.q[items], ins.cap[j], False)[0])
        vij = ins.fixed[j] + red[:, j] - kval
        lo = base + z_open[j] + np.maximum(0.0, vij - v[j])
        keep_x[:, j] &= lo <= limit
    return keep_y, keep_x


def _knap_table(profit: np.ndarray, weight: np.ndarray, cap: float) -> np.ndarray:
    """Best 0-1 knapsack profit for every integer capacity 0..cap."""
    icap = int(np.floor(cap + 1e-9))
    best = np.zeros(icap + 1)
    for p, w in zip(profit, np.round(weight).astype(int), strict=True):
        if w <= icap:
            best[w:] = np.maximum(best[w:], best[:icap + 1 - w] + p)
    return best

