r"""Lower bound of a single-source :func:`three_tier` stream by branch-and-bound over the sites'
open variables ``y`` only, the top tier (county centres) first.

Why: the LP of the compact model (``_tt_build.build``) spreads each county centre over several
candidates near the stations (recyclables on the demo county: two centres' worth of fixed cost
over 13 candidates, haulage 45 % below any plan's); the relaxation in which only the top tier's
``y`` are integral is far stronger (recyclables 2.84 M against the LP's 2.64 M), and the top tier
is small (1-21 candidates, 2-7 open), so a branch-and-bound over those ``y``, with the LP at each
node, reaches it in a few dozen nodes; once a node's centres are integral it branches on the
stations' ``y``, then the points' (recyclables: 0.75 % under the best plan after 320 nodes).

Validity: every plan opens an integral set of sites, so it lies in one leaf of the tree (the
branchings: a tier's open count ``\sum_k y_k \le n`` / ``\ge n + 1``, and over a set ``A`` of
its candidates ``\sum_{k \in A} y_k \le a`` / ``\ge a + 1``), whose LP value is at most the
plan's cost. At any stop the smallest LP value over the nodes not yet branched (a child carries
its parent's value until it is solved) and the leaves (every branched ``y`` integral) is at most
every plan's cost; nodes whose LP is infeasible or at least ``incumbent`` hold no cheaper plan
and are dropped, so the bound returned is ``min(that, incumbent)``.

Node LPs: HiGHS dual simplex warm-started from the parent's basis, single thread, on the LP
without the upper tiers' link variables ``u`` (projected out exactly, :func:`_projected_links`:
half the columns).

Work: a fixed number of node LPs (``max_nodes``) or of simplex iterations (``work`` units), so
the bound is the same on an idle and a loaded machine; the CPU ``deadline`` is only a
safety stop (a stop there returns a weaker, still valid bound).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import highspy
import numpy as np
from ortools.linear_solver import pywraplp

from netplan.siting._mip import clock
from netplan.siting._sscflp_lagr import min_cover_dp
from netplan.siting._tt_build import build
from netplan.siting._tt_lagr import DP_MAX, DP_WORK, _cover_unit
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import highs_lp

#: Node LPs of :func:`top_tier_bound` when neither ``max_nodes`` nor ``work`` is given
MAX_NODES = 60
#: Dual simplex iterations per work unit (about one CPU second): on the demo county's node LPs
#: (26-81 k coefficients, 5-28 k rows) one iteration took 230-380 CPU us whatever the size
#: (120 nodes: straw 44 k iterations in 10.1 s, manure 38 k in 11.8 s, recyclables 30 k in
#: 11.5 s; domestic waste's 11 nodes 15 k in 5.2 s)
ITERS_PER_UNIT = 3_000
#: A ``y`` closer than this to 0 or 1 counts as integral
INT_TOL = 1e-6
INF = math.inf
#: Wall-clock backstop of one node LP, s (a loaded machine stretches wall time; the CPU
#: deadline, checked between nodes, is the real safety stop)
LP_WALL_S = 600.0


@dataclass(frozen=True)
class TopBound:
    """Result of :func:`top_tier_bound`.

    Attributes
    ----------
    bound
        Valid lower bound of the stream's cost, CNY/yr (-inf when the root LP failed).
    root
        LP value at the root, CNY/yr.
    nodes
        Node LPs solved (the root included).
    closed
        True when the tree was finished (``bound`` is the relaxation's optimum, or the incumbent).
    trail
        The bound after each node LP (CNY/yr), for measuring what a node budget buys.
    trail_s
        CPU seconds spent up to each node LP (the LP's build included).
    """

    bound: float
    root: float
    nodes: int
    closed: bool
    trail: tuple[float, ...] = ()
    trail_s: tuple[float, ...] = ()


def to_highs(mip: pywraplp.Solver, *, relax: bool = True, drop: np.ndarray | None = None,
             extra: list[tuple[float, float, list[int], list[float]]] = ()) -> highspy.Highs:
    """A ``highspy.Highs`` holding the model built in ``mip`` (``_tt_split.highs_lp``: columns in
    ``Variable.index()`` order; ``relax``: every column continuous; ``drop``: columns whose rows
    are left out, fixed at 0; ``extra``: rows added), single thread, silent."""
    hs = highspy.Highs()
    hs.silent()
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("time_limit", LP_WALL_S)
    hs.passModel(highs_lp(mip, relax=relax, drop=drop, extra=extra))
    return hs


def _projected_links(sd: StreamData, sv, path_links: bool) -> tuple[np.ndarray, list]:
    r"""The link variables ``u`` of the tiers above the first projected out of the LP (same LP
    value, about half its columns): with :math:`u_{jk} \in [f_{jk}/M_j, \bar u_{jk}]`
    (:math:`\bar u_{jk} = y_k`, or 1 where :math:`k` is forced) and :math:`\sum_k u_{jk} = y_j`,
    such ``u`` exist iff :math:`f_{jk} \le M_j \bar u_{jk}`, :math:`\sum_k f_{jk} \le M_j y_j`
    and :math:`y_j \le \sum_k \bar u_{jk}`. Returns the ``u`` columns (their rows to drop)
    and those rows. The station tier's ``u`` stay where the path links use them."""
    drop, extra = [], []
    for t in range(2 if path_links else 1, len(sd.tiers)):
        td, prev = sd.tiers[t], sd.tiers[t - 1]
        us, fs, y_to, y_from = sv.u[t - 1], sv.f[t - 1], sv.y[t], sv.y[t - 1]
        drop.extend(u.index() for u in us)
        out: dict[int, list[int]] = {}
        for p, (a, b) in enumerate(zip(td.pa.tolist(), td.pb.tolist(), strict=True)):
            out.setdefault(a, []).append(p)
            m = float(prev.flow_ub[a])
            if not td.forced[b]:
                extra.append((-INF, 0.0, [fs[p].index(), y_to[b].index()], [1.0, -m]))
        for a, ps in out.items():
            if y_from[a] is None:
                continue
            m = float(prev.flow_ub[a])
            extra.append((-INF, 0.0, [fs[p].index() for p in ps] + [y_from[a].index()],
                          [1.0] * len(ps) + [-m]))
            free = [p for p in ps if not td.forced[td.pb[p]]]
            n_one = len(ps) - len(free)
            extra.append((-INF, float(n_one), [y_from[a].index()]
                          + [y_to[td.pb[p]].index() for p in free], [1.0] + [-1.0] * len(free)))
    return np.array(drop, dtype=np.int64), extra


def fixed_cover_rows(sd: StreamData, ys: list[list], covers: list | None = None
                     ) -> list[tuple[float, float, list[int], list[float]]]:
    r"""Per tier, the row :math:`\sum_k F_k y_k \ge F_{min}` (``extra`` rows of :func:`to_highs`),
    :math:`F_{min}` the least fixed cost of a set of the tier's candidates whose capacities hold
    ``sd.need_t`` (exact DP in units of the capacities' common divisor, ``_tt_lagr``'s cover).

    Valid for every plan: its tonnage served, at least ``need_t``, passes every tier, so its open
    sites of each tier are such a set (whoever pays their fixed cost: the row is on ``y``). The LP
    does not imply it where the capacities differ in cost per tonne: demo manure's centres (two
    of 60 kt/yr at 22.5 CNY/t, nineteen of 100 kt/yr at 27.4) — the LP pays 9.58 M of centre
    fixed cost, every plan at least 10.93 M; with the row the root LP rises 17.22 -> 18.28 M.
    Tiers with an uncapacitated or no usable candidate, or a DP larger than ``_tt_lagr``'s
    ``DP_MAX`` / ``DP_WORK``, get no row."""
    out = []
    need = float(sd.need_t)
    if need <= 1e-9:
        return out
    for t, td in enumerate(sd.tiers):
        site = np.array([k for k, v in enumerate(ys[t]) if v is not None], dtype=int)
        if len(site) == 0 or not np.all(np.isfinite(td.cap[site])):
            continue
        unit = _cover_unit(td.cap[site])
        if unit is None:
            continue
        r = int(math.ceil((need - 1e-6 * max(1.0, need)) / unit))
        if r <= 0 or r > DP_MAX or len(site) * r > DP_WORK:
            continue
        f_min, _ = min_cover_dp(td.fixed[site].astype(float),
                                np.round(td.cap[site] / unit).astype(int), r)
        if math.isfinite(f_min) and f_min > 0:
            out.append((f_min, INF, [ys[t][k].index() for k in site],
                        [float(td.fixed[k]) for k in site]))
            if covers is not None:     # what a node needs to re-derive the row (``node_cover``)
                covers.append((td.fixed[site].astype(float),
                               np.round(td.cap[site] / unit).astype(int), r))
    return out


def node_cover(fixed: np.ndarray, units: np.ndarray, r: int, pos: np.ndarray,
               cons: tuple) -> float:
    """Least fixed cost of a cover (``sum units y >= r``) of one tier's candidates (at ``pos`` in
    the node LP's columns) under a node's branchings ``cons``: sets all shut (``hi = 0``) or all
    open (``lo = |set|``) and count rows over the whole tier are kept, other set rows dropped (a
    relaxation, so still a bound on every plan in the node); inf when none exists. DP over
    (open count, capacity units)."""
    n = len(pos)
    at = {int(c): i for i, c in enumerate(pos)}
    shut, opened = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    n_lo, n_hi = 0, n
    for members, lo, hi in cons:
        idx = [at[m] for m in members if m in at]
        if len(idx) != len(members):
            continue
        if len(idx) == n:
            n_lo, n_hi = max(n_lo, int(lo)), min(n_hi, int(hi))
        elif hi <= 0:
            shut[idx] = True
        elif lo >= len(idx):
            opened[idx] = True
    if (shut & opened).any():
        return math.inf
    base = float(fixed[opened].sum())
    need = max(0, r - int(units[opened].sum()))
    k0 = int(opened.sum())
    free = np.flatnonzero(~shut & ~opened)
    dp = np.full((len(free) + 1, need + 1), math.inf)     # [count, units reached (capped)]
    dp[0, 0] = 0.0
    for j, i in enumerate(free):
        shifted = np.full_like(dp[:j + 1], math.inf)
        u = int(units[i])
        for v in range(need + 1):
            w = min(need, v + u)
            shifted[:, w] = np.minimum(shifted[:, w], dp[:j + 1, v] + fixed[i])
        dp[1:j + 2] = np.minimum(dp[1:j + 2], shifted)
    counts = np.arange(len(free) + 1) + k0
    ok = (counts >= n_lo) & (counts <= n_hi)
    best = float(dp[ok, need].min()) if ok.any() else math.inf
    return base + best


class _NodeLP:
    """The block's LP with rows ``lo <= sum_{k in A} y_k <= hi`` over sets ``A`` of one tier's
    candidates (the branchings), re-bounded per node; warm-started dual simplex."""

    def __init__(self, sd: StreamData, local, site_fixed_cost, path_links: bool,
                 project: bool = True, n_tiers: int = 1, cover_cuts: bool = False,
                 node_covers: bool = False) -> None:
        mip = pywraplp.Solver.CreateSolver("CLP")
        h = build(mip, [sd], local, site_fixed_cost, path_links=path_links)
        #: per branched tier (top first): (tier, candidate indices, positions in ``cols``)
        self.tiers: list[tuple[int, np.ndarray, slice]] = []
        cols: list[int] = []
        for t in range(len(sd.tiers) - 1, max(len(sd.tiers) - 1 - n_tiers, -1), -1):
            ys = h.streams[0].y[t]
            site = np.array([k for k, v in enumerate(ys) if v is not None], dtype=int)
            self.tiers.append((t, site, slice(len(cols), len(cols) + len(site))))
            cols.extend(ys[k].index() for k in site)
        self.cols = np.array(cols, dtype=np.int32)
        self.offset = h.offset
        drop, extra = (_projected_links(sd, h.streams[0], path_links) if project
                       else (None, []))
        self.hs = to_highs(mip, drop=drop, extra=extra)
        self.iters = 0          # simplex iterations of every node LP so far (deterministic work)
        self.hs.setOptionValue("simplex_strategy", 1)      # dual simplex: warm starts
        self.hs.setOptionValue("presolve", "off")
        #: cover rows re-derived per node: (row, positions in ``cols``, fixed costs, units, r)
        self.covers: list[tuple] = []
        if cover_cuts:
            covers: list = []
            rows = fixed_cover_rows(sd, h.streams[0].y, covers)
            self._add_violated(rows, covers, node_covers)
        self.rows: dict[frozenset, int] = {}

    def _add_violated(self, rows: list, covers: list, node_covers: bool) -> None:
        """Add those of ``rows`` (``fixed_cover_rows``) the root LP violates: where the LP already
        pays the cheapest cover (demo straw, domestic waste) a dense row only slows the node LPs
        (0.02-0.07 % lower bounds at 5 work units). The root solve's iterations count as work."""
        if not rows:
            return
        self.hs.run()
        self.iters += int(self.hs.getInfo().simplex_iteration_count)
        if self.hs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return
        x = np.asarray(self.hs.getSolution().col_value, dtype=float)
        for (lo, hi, idx, val), cover in zip(rows, covers, strict=True):
            if float(np.dot(x[idx], val)) < lo - 1e-6 * abs(lo):
                self.hs.addRow(lo, hi, len(idx), np.asarray(idx, dtype=np.int32),
                               np.asarray(val, dtype=float))
                where = {int(c): i for i, c in enumerate(self.cols)}
                if node_covers and all(int(c) in where for c in idx):   # a branched tier
                    pos = np.array([where[int(c)] for c in idx], dtype=int)
                    self.covers.append((self.hs.getNumRow() - 1, pos, *cover))

    def row(self, members: frozenset) -> int:
        """HiGHS row of ``sum_{k in members} y_k`` (added free on first use)."""
        if members not in self.rows:
            idx = self.cols[sorted(members)]
            self.hs.addRow(-highspy.kHighsInf, highspy.kHighsInf, len(idx), idx,
                           np.ones(len(idx)))
            self.rows[members] = self.hs.getNumRow() - 1
        return self.rows[members]

    def solve(self, cons: tuple, cutoff: float, basis=None) -> tuple[float, np.ndarray, object]:
        """LP value under the branching rows ``cons`` ((members, lo, hi), ...), CNY/yr: inf if
        infeasible or at least ``cutoff`` (dual simplex stopped there), nan if it failed; the
        branched tiers' ``y`` (``cols`` order); and the final basis. ``basis``: a start (the
        parent node's), rows added since then basic."""
        if basis is not None:
            rs = list(basis.row_status)
            rs += [highspy.HighsBasisStatus.kBasic] * (self.hs.getNumRow() - len(rs))
            basis.row_status = rs
            self.hs.setBasis(basis)
        if self.rows:
            r = np.array(list(self.rows.values()), dtype=np.int32)
            big = np.full(len(r), highspy.kHighsInf)
            self.hs.changeRowsBounds(len(r), r, -big, big)
        for members, lo, hi in cons:
            self.hs.changeRowBounds(self.row(members), float(lo), float(hi))
        for row, pos, fixed, units, r in self.covers:
            f = node_cover(fixed, units, r, pos, cons)
            self.hs.changeRowBounds(row, f if math.isfinite(f) else float(fixed.sum()) + 1.0,
                                    highspy.kHighsInf)
        self.hs.setOptionValue("objective_bound", float(cutoff - self.offset))
        self.hs.run()
        self.iters += int(self.hs.getInfo().simplex_iteration_count)
        st = self.hs.getModelStatus()
        if st in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            return math.inf, np.zeros(len(self.cols)), None
        if st != highspy.HighsModelStatus.kOptimal:
            return math.nan, np.zeros(len(self.cols)), None
        x = np.asarray(self.hs.getSolution().col_value, dtype=float)
        return (float(self.hs.getInfo().objective_function_value) + self.offset, x[self.cols],
                self.hs.getBasis())


def _closeness(sd: StreamData, t: int, site: np.ndarray) -> np.ndarray:
    """Between tier ``t``'s candidates ``site``, the shortest way through a common lower-tier
    site (sum of the two pair lengths; inf where none): who stands in for whom."""
    td = sd.tiers[t]
    n_prev = sd.tiers[t - 1].n if t > 0 else len(sd.w)
    d = np.full((n_prev, td.n), np.inf)
    d[td.pa, td.pb] = td.pd
    d = d[:, site]
    return np.array([(d[:, [a]] + d).min(axis=0) for a in range(len(site))])


def _branch_set(y: np.ndarray, near: np.ndarray, single: bool) -> frozenset:
    """Candidates to branch on: with ``single`` the most fractional one; else, from it, its
    nearest fractional neighbours until their ``y`` add up to at least one half."""
    frac = np.minimum(y, 1.0 - y)
    k = int(np.argmax(frac))
    if single:
        return frozenset([k])
    fr = np.flatnonzero(frac > INT_TOL)
    members, tot = [], 0.0
    for j in fr[np.argsort(near[k, fr], kind="stable")]:
        members.append(int(j))
        tot += float(y[j])
        if tot >= 0.5 and abs(tot - round(tot)) > INT_TOL:
            return frozenset(members)
    return frozenset([k])            # no fractional sum on the way: the single candidate


def _choose(node: _NodeLP, y: np.ndarray, near: list[np.ndarray], branching: str) -> frozenset:
    """Positions in ``node.cols`` to branch on: in the highest branched tier with a fractional
    ``y``, all its candidates while their open count is fractional (unless ``branching`` is
    "var"), else :func:`_branch_set`."""
    for (_, _, sl), nr in zip(node.tiers, near, strict=True):
        yt = y[sl]
        if float(np.minimum(yt, 1.0 - yt).max(initial=0.0)) <= INT_TOL:
            continue
        total = float(yt.sum())
        if branching != "var" and abs(total - round(total)) > INT_TOL:
            return frozenset(range(sl.start, sl.stop))
        return frozenset(sl.start + k for k in _branch_set(yt, nr, branching != "sets"))
    msg = "no fractional y to branch on"
    raise ValueError(msg)


def top_tier_bound(sd: StreamData, local, site_fixed_cost, incumbent: float, *,
                   max_nodes: int | None = None, work: float | None = None,
                   deadline: float = math.inf,
                   path_links: bool = False, branching: str = "sets",
                   warm: bool = True, n_tiers: int | None = None,
                   gap: float = 0.0, cover_cuts: bool = True,
                   node_covers: bool = True) -> TopBound:
    """Branch-and-bound over the sites' ``y`` of one single-source stream, top tier first
    (module doc).

    Parameters
    ----------
    sd, local, site_fixed_cost
        The block as ``_tt_build.build`` takes it (one stream).
    incumbent
        Cost of the best plan known, CNY/yr (nodes whose LP reaches it are dropped).
    max_nodes
        Node LPs to solve at most (default :data:`MAX_NODES` when ``work`` is not given).
    work
        Work units (about CPU seconds, see ``_mip.Budget``): no node LP starts once the node
        LPs so far took ``work`` x :data:`ITERS_PER_UNIT` simplex iterations; the root always
        runs. Both stops count work, not time: the bound does not depend on machine load.
    deadline
        :func:`~netplan.siting._mip.clock` value past which no node LP starts (safety stop).
    path_links
        Build the LP with ``_tt_build._path_links`` (tighter, larger).
    branching
        "var": on the most fractional ``y``; "count": on the open count (``sum y <= n`` /
        ``>= n + 1``) while it is fractional, then as "var"; "sets": the count, then on sets of
        neighbouring candidates (``sum_A y <= a`` / ``>= a + 1``, :func:`_branch_set`).
    warm
        Start each node LP from its parent's basis (else from the last one solved).
    n_tiers
        Tiers whose ``y`` are branched on, from the top down (a lower one once those above are
        integral at the node); None: every tier.
    gap
        Stop once the bound is within this relative gap of ``incumbent``.
    cover_cuts
        Add each tier's fixed-cost cover row (:func:`fixed_cover_rows`) to the node LP.
    node_covers
        Re-derive those rows of branched tiers per node under its branchings (:func:`node_cover`;
        demo manure at 5 / 10 / 15 units: 18.849 -> 18.886, 19.005 -> 19.014, 19.094 -> 19.115 M).
    """
    if not sd.single_source or len(sd.w) == 0:
        return TopBound(-math.inf, -math.inf, 0, False)
    c0 = clock()
    node = _NodeLP(sd, local, site_fixed_cost, path_links,
                   n_tiers=len(sd.tiers) if n_tiers is None else n_tiers, cover_cuts=cover_cuts,
                   node_covers=node_covers)
    if max_nodes is None:
        max_nodes = MAX_NODES if work is None else 1 << 30
    iters = math.inf if work is None else work * ITERS_PER_UNIT
    near = [_closeness(sd, t, site) for t, site, _ in node.tiers]
    heap: list[tuple[float, int, tuple, object]] = [(-math.inf, 0, (), None)]
    seq, root, leaves, trail, trail_s = 1, -math.inf, [], [], []
    while (heap and len(trail) < max_nodes and (not trail or node.iters < iters)
           and clock() < deadline and heap[0][0] < incumbent
           and (not trail or trail[-1] < incumbent - gap * abs(incumbent))):
        parent, _, cons, basis = heapq.heappop(heap)
        val, y, basis = node.solve(cons, incumbent, basis if warm else None)
        root = val if not trail else root
        if math.isnan(val):                      # LP failed: keep the parent's value for it
            leaves.append(parent)
        elif val < incumbent and float(np.minimum(y, 1.0 - y).max(initial=0.0)) <= INT_TOL:
            leaves.append(val)                   # branched tiers integral: the subtree's bound
        elif val < incumbent:
            members = _choose(node, y, near, branching)
            a = math.floor(float(y[sorted(members)].sum()) + INT_TOL)
            for lo, hi in ((0, a), (a + 1, len(members))):
                heapq.heappush(heap, (val, seq, (*cons, (members, lo, hi)), basis))
                seq += 1
        trail.append(min([incumbent, *leaves, *(e[0] for e in heap)]))
        trail_s.append(clock() - c0)
    closed = not heap or heap[0][0] >= incumbent
    bound = min([incumbent, *leaves, *(e[0] for e in heap)])
    return TopBound(bound, root, len(trail), closed, tuple(trail), tuple(trail_s))
