"""Iterated local search over open sets, for multi-source blocks of :func:`three_tier`.

When every demand with weight must be served and flows may split, a plan's cost is decided by
its open sets alone: the cheapest flows for fixed open sets are a min-cost flow (demands →
tier-1 candidates → … → top tier, each open candidate a node of capacity ``cap``). This search
prices open sets exactly that way (OR-Tools ``SimpleMinCostFlow``, about a millisecond for a
few hundred open arcs) and moves between them:

- descent: close an open candidate, open a closed one, or swap the two, in any tier (forced
  candidates stay open, forbidden ones closed, group limits hold); moves are tried in random
  order and the first improving one is taken; ``max_scan`` moves in a row without improvement
  end the descent (a full scan of the C5 instances' ~1,600 moves takes ~4 s);
- perturbation: one to three random changes of the best plan (a swap, or a close, or an
  open; tiers drawn in proportion to their candidates), then descent; a better plan becomes
  the best;
- merging: between rounds of the two, the block's MIP restricted to the candidates the best
  local optima open (and, as rounds fail, more candidates ranked by their best one-move plan)
  is solved from the best plan (a kernel search over the search's own elite, HiGHS).

A round of iterated local search stops at its share of the CPU deadline, at
``bound · (1 + gap)``, or after ``stall`` perturbations in a row (at least 1000, twice the count
before the last improvement) that found nothing better. On the Fernandes (2014) C3/C5
two-stage instances, where the MIP's bound stays at its LP and its incumbent a few hundredths
of a percent above the best known plan, the search alone (60 CPU s from the tier heuristic's
start) reaches the best known plan of PSC5-C3 and one below that of PSC2-C3 but stalls
0.02-0.15 % above on C5; merging its best local optima takes PSC3-C5 from +0.14 % to the best
known plan in 7 s. After the MIP within ``three_tier`` see BENCHMARKS.md. The plan of the best
open sets is finally solved exactly (the block's model with those sites fixed open, HiGHS).

Costs and tonnages are scaled to integers for the min-cost flow (costs to about 10⁷ at the
largest, tonnages to about 10⁹ in total, by powers of ten: integral data stays exact); the
final plan's flows and costs use the unscaled values.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from ortools.graph.python import min_cost_flow

from netplan.siting._mip import Budget, clock
from netplan.siting._tt_heur import restricted
from netplan.siting._tt_prep import StreamData

log = logging.getLogger(__name__)


def applies(sub: list[StreamData]) -> bool:
    """True for a one-stream multi-source block whose every weighted demand must be served."""
    if len(sub) != 1:
        return False
    sd = sub[0]
    return (not sd.single_source and bool((sd.w[~sd.must] <= 0).all())
            and float(sd.w.sum()) > 0)


def _pow10(x: float) -> float:
    return 10.0 ** math.floor(math.log10(x)) if x > 0 else 1.0


class FlowPricer:
    """Exact price of open sets of one multi-source stream by min-cost flow (see module doc)."""

    def __init__(self, sd: StreamData) -> None:
        self.sd = sd
        self.T = len(sd.tiers)
        w = sd.w
        self.total = float(w.sum())
        unit = [td.rate * td.pd / 1000.0 for td in sd.tiers]          # CNY/t per pair
        maxc = max((float(u.max()) for u in unit if len(u)), default=0.0)
        self.sc = _pow10(1e7 / maxc) if maxc > 0 else 1.0
        self.sf = _pow10(1e9 / self.total)
        self.cost_i = [np.rint(u * self.sc).astype(np.int64) for u in unit]
        self.w_i = np.rint(w * self.sf).astype(np.int64)
        tot_i = int(self.w_i.sum())
        self.cap_i = [np.where(np.isfinite(td.cap), np.floor(np.minimum(td.cap, self.total)
                                                              * self.sf + 1e-6), tot_i)
                      .astype(np.int64) for td in sd.tiers]
        self.tot_i = tot_i
        # nodes: demands, then per tier the candidates' in- and out-nodes, then the sink
        n = len(w)
        self.base_in, self.base_out = [], []
        nxt = n
        for td in sd.tiers:
            self.base_in.append(nxt)
            self.base_out.append(nxt + td.n)
            nxt += 2 * td.n
        self.sink = nxt
        self.src_nodes = np.flatnonzero(self.w_i > 0)
        self.sup_nodes = np.append(self.src_nodes, self.sink).astype(np.int64)
        self.sup = np.append(self.w_i[self.src_nodes], -tot_i).astype(np.int64)
        self.cache: dict[bytes, float] = {}
        self.n_priced = 0

    def key(self, opens: list[np.ndarray]) -> bytes:
        return np.packbits(np.concatenate(opens)).tobytes()

    def feasible_sets(self, opens: list[np.ndarray]) -> bool:
        """Open-set rules alone: forced open, alive, group limits, enough capacity per tier."""
        for td, o in zip(self.sd.tiers, opens, strict=True):
            if (td.forced & ~o).any() or (o & ~td.alive).any():
                return False
            if float(td.cap[o].sum()) < self.sd.need_t - 1e-9:
                return False
            if td.group is not None:
                ng = int(td.group.max()) + 1 if len(td.group) else 0
                cnt = np.bincount(td.group[o], minlength=ng)
                if td.gmin is not None and (cnt[:len(td.gmin)] < td.gmin[:ng]).any():
                    return False
                if td.gmax is not None and (cnt[:len(td.gmax)] > td.gmax[:ng]).any():
                    return False
        return True

    def _arcs(self, opens: list[np.ndarray]):
        sd = self.sd
        tails, heads, caps, costs = [], [], [], []
        for t, td in enumerate(sd.tiers):
            on = opens[t][td.pb] & (opens[t - 1][td.pa] if t else True)
            pos = np.flatnonzero(on)
            tail = td.pa[pos] if t == 0 else self.base_out[t - 1] + td.pa[pos]
            tails.append(tail)
            heads.append(self.base_in[t] + td.pb[pos])
            caps.append(np.full(len(pos), self.tot_i, dtype=np.int64))
            costs.append(self.cost_i[t][pos])
        for t in range(self.T):
            o = np.flatnonzero(opens[t])
            tails.append(self.base_in[t] + o)
            heads.append(self.base_out[t] + o)
            caps.append(self.cap_i[t][o])
            costs.append(np.zeros(len(o), dtype=np.int64))
        o = np.flatnonzero(opens[-1])
        tails.append(self.base_out[-1] + o)
        heads.append(np.full(len(o), self.sink, dtype=np.int64))
        caps.append(np.full(len(o), self.tot_i, dtype=np.int64))
        costs.append(np.zeros(len(o), dtype=np.int64))
        return tails, heads, caps, costs

    def price(self, opens: list[np.ndarray]) -> float:
        """Fixed cost plus min-cost-flow transport cost of an open set, CNY/yr (inf: no plan)."""
        k = self.key(opens)
        hit = self.cache.get(k)
        if hit is not None:
            return hit
        val = math.inf
        if self.feasible_sets(opens):
            self.n_priced += 1
            tails, heads, caps, costs = self._arcs(opens)
            f = min_cost_flow.SimpleMinCostFlow()
            f.add_arcs_with_capacity_and_unit_cost(
                np.concatenate(tails).astype(np.int64), np.concatenate(heads).astype(np.int64),
                np.concatenate(caps), np.concatenate(costs))
            f.set_nodes_supplies(self.sup_nodes, self.sup)
            if f.solve() == f.OPTIMAL:
                fixed = sum(float(td.fixed[o].sum()) for td, o in zip(self.sd.tiers, opens,
                                                                      strict=True))
                val = fixed + f.optimal_cost() / (self.sc * self.sf)
        self.cache[k] = val
        return val

    def plan(self, opens: list[np.ndarray], solver: str = "scip", seed: int = 0) -> tuple | None:
        """The plan ``(opens, assigns, flows)`` of an open set: the block's model with exactly
        those candidates open, solved exactly (HiGHS; an LP once presolve fixes the sites), or
        None when it has no plan."""
        got, _ = restricted([self.sd], [opens], [], None, solver, Budget.cpu(60.0, 60.0), seed,
                            None, force=[opens], gap=1e-9)
        return None if got is None else got[0]


def _moves(sd: StreamData, opens: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """Every flip and swap: ``(tier, close, open)`` with -1 for no close / no open."""
    out = []
    for t, td in enumerate(sd.tiers):
        o = opens[t]
        can_close = np.flatnonzero(o & ~td.forced)
        can_open = np.flatnonzero(~o & td.alive)
        out.extend((t, int(a), -1) for a in can_close)
        out.extend((t, -1, int(b)) for b in can_open)
        out.extend((t, int(a), int(b)) for a in can_close for b in can_open)
    return out


def _apply(opens: list[np.ndarray], move: tuple[int, int, int]) -> list[np.ndarray]:
    t, a, b = move
    new = list(opens)
    row = opens[t].copy()
    if a >= 0:
        row[a] = False
    if b >= 0:
        row[b] = True
    new[t] = row
    return new


def _descend(pr: FlowPricer, opens, val, rng, deadline, max_scan):
    """First-improvement descent in random order; a local optimum is declared after
    ``max_scan`` moves in a row that do not improve."""
    while clock() < deadline:
        moves = _moves(pr.sd, opens)
        for m in rng.permutation(len(moves))[:max_scan]:
            cand = _apply(opens, moves[m])
            v = pr.price(cand)
            if v < val - 1e-9 * max(1.0, abs(val)):
                opens, val = cand, v
                break
        else:
            break
    return opens, val


def _perturb(sd: StreamData, opens, rng) -> list[np.ndarray]:
    """One to three random changes of ``opens``: a swap (70 %), else a close or an open, in a
    tier drawn in proportion to its candidates."""
    new = [o.copy() for o in opens]
    size = np.array([td.n for td in sd.tiers], dtype=float)
    for _ in range(int(rng.integers(1, 4))):
        t = int(rng.choice(len(size), p=size / size.sum()))
        td = sd.tiers[t]
        shut = np.flatnonzero(new[t] & ~td.forced)
        shut_ok = len(shut) > 0
        can = np.flatnonzero(~new[t] & td.alive)
        kind = rng.random()
        if shut_ok and len(can) and kind < 0.7:
            new[t][rng.choice(shut)], new[t][rng.choice(can)] = False, True
        elif shut_ok and (kind < 0.85 or not len(can)):
            new[t][rng.choice(shut)] = False
        elif len(can):
            new[t][rng.choice(can)] = True
    return new


def _ils(pr: FlowPricer, opens, val, deadline, rng, bound, gap, max_scan, stall, pool):
    """Descent from ``opens``, then perturbations of the best until a stop rule (module doc);
    every local optimum goes into ``pool`` (key → (cost, open sets)). Returns (opens, cost)."""
    opens, val = _descend(pr, opens, val, rng, deadline, max_scan)
    pool[pr.key(opens)] = (val, opens)
    best, best_val = opens, val
    it = last = 0

    def done() -> bool:
        return (clock() >= deadline or best_val <= bound + gap * max(abs(best_val), 1e-9)
                or it - last > max(stall, 2 * last))

    while not done():
        it += 1
        cand = _perturb(pr.sd, best, rng)
        v = pr.price(cand)
        if not math.isfinite(v):
            continue
        cand, v = _descend(pr, cand, v, rng, deadline, max_scan)
        pool[pr.key(cand)] = (v, cand)
        if v < best_val - 1e-9 * max(1.0, abs(best_val)):
            best, best_val, last = cand, v, it
    return best, best_val


def _ranked(pr: FlowPricer, best: list[np.ndarray], deadline: float) -> list[np.ndarray]:
    """Per tier, the candidates ``best`` keeps closed, cheapest first by the best plan one move
    away that opens them (open it, or swap it for an open one)."""
    out = []
    for t, td in enumerate(pr.sd.tiers):
        closed = np.flatnonzero(~best[t] & td.alive)
        shut = np.flatnonzero(best[t] & ~td.forced)
        score = np.full(len(closed), math.inf)
        for n, j in enumerate(closed):
            if clock() >= deadline:
                break
            v = pr.price(_apply(best, (t, -1, int(j))))
            for i in shut:
                v = min(v, pr.price(_apply(best, (t, int(i), int(j)))))
            score[n] = v
        out.append(closed[np.argsort(score, kind="stable")])
    return out


def _merge(pr: FlowPricer, keep: list[np.ndarray], start: list[np.ndarray], limit_s: float,
           seed: int, gap: float, solver: str = "scip"):
    """The block's MIP restricted to the candidates ``keep`` (HiGHS), from the plan of
    ``start``: the open sets of its best plan, or None."""
    hint = pr.plan(start, solver, seed)
    got, _ = restricted([pr.sd], [keep], [], None, solver, Budget.cpu(limit_s, limit_s), seed,
                        None if hint is None else [hint], gap=gap)
    return None if got is None else [np.asarray(o, dtype=bool) for o in got[0][0]]


def _start_pool(pr: FlowPricer, others: list | None) -> dict[bytes, tuple]:
    """Pool of local optima (key → (cost, open sets)) seeded with the priceable ``others``."""
    pool: dict[bytes, tuple] = {}
    for o in others or []:
        o = [np.asarray(x, dtype=bool).copy() for x in o]
        v = pr.price(o)
        if math.isfinite(v):
            pool[pr.key(o)] = (v, o)
    return pool


def _merge_round(pr: FlowPricer, pool: dict, keep: list[np.ndarray], best: list[np.ndarray],
                 best_val: float, deadline: float, seed: int, gap: float, solver: str,
                 what: str) -> tuple[list[np.ndarray], float]:
    """Restricted MIP over ``keep`` within half the time left; its plan joins ``pool`` and
    replaces ``best`` (cost CNY/yr) when cheaper. Returns the (new) best and its cost."""
    got = _merge(pr, keep, best, 0.5 * (deadline - clock()), seed, gap, solver)
    v = math.inf if got is None else pr.price(got)
    log.debug("merge of %s (%s candidates): %.1f, best %.1f",
              what, [int(x.sum()) for x in keep], v, best_val)
    if math.isfinite(v):
        pool[pr.key(got)] = (v, got)
    if v < best_val - 1e-9 * max(1.0, abs(best_val)):
        best, best_val = got, v
    return best, best_val

def improve(sd: StreamData, opens0: list[np.ndarray], deadline: float, *, seed: int = 0,
            bound: float = -math.inf, gap: float = 0.0, max_scan: int = 300,
            stall: int = 1000, others: list | None = None, elite: int = 8,
            solver: str = "scip") -> tuple | None:
    """Best plan found from the open sets ``opens0`` by iterated local search and merging
    (module doc).

    Rounds of: iterated local search for half the time left from the best open sets (every
    other round from one of ``others`` in turn, when given), then the
    MIP restricted to the candidates that the ``elite`` best local optima open, plus per tier
    the ``extra`` (scaled by the tier's candidates) closed candidates whose best one-move plan
    from the best open sets is cheapest (solved within half the time left after that). After a
    round that found nothing better ``elite`` doubles and ``extra`` grows (0, 4, 8, …); the
    search ends when such a round's restricted MIP already held every candidate and local
    optimum.

    Parameters
    ----------
    sd
        A multi-source stream (``applies([sd])``).
    opens0
        Per tier, the start's open mask.
    deadline
        CPU-clock time (``_mip.clock``) at which to stop.
    bound, gap
        Stop when the best cost is within ``gap`` (relative) of ``bound`` (CNY/yr); ``gap`` is
        also the restricted MIPs' relative gap.
    others
        More plans' open sets (per tier) that join the pool of local optima to merge.
    solver
        OR-Tools solver name the restricted models are built for (multi-source models are
        solved by HiGHS whatever it is, as in ``_tt_split``).

    Returns
    -------
    tuple or None
        The plan ``(opens, assigns, flows)`` priced by an LP, or None when no open set
        reachable from the start has a plan.
    """
    rng = np.random.default_rng(seed)
    pr = FlowPricer(sd)
    pool = _start_pool(pr, others)
    best = [np.asarray(o, dtype=bool).copy() for o in opens0]
    best_val = pr.price(best)
    if not math.isfinite(best_val):
        return None
    merged: set[bytes] = set()
    extra, ranked, ranked_for = 0, None, None

    def reached() -> bool:
        return best_val <= bound + gap * max(abs(best_val), 1e-9)

    restarts = [e[1] for e in pool.values()]
    rnd = 0
    while clock() < deadline and not reached():
        before = best_val
        phase_end = min(deadline, clock() + 0.5 * (deadline - clock()))
        if rnd % 2 and restarts:
            # every other round starts from another plan of the block: a second basin, whose
            # local optima the next merge joins to the best one's
            o = restarts[(rnd // 2) % len(restarts)]
            o, v = _ils(pr, o, pr.price(o), phase_end, rng, bound, gap, max_scan, stall, pool)
            if v < best_val - 1e-9 * max(1.0, abs(best_val)):
                best, best_val = o, v
        else:
            best, best_val = _ils(pr, best, best_val, phase_end, rng, bound, gap, max_scan,
                                  stall, pool)
        rnd += 1
        log.debug("local search: %.1f, %d local optima, %d open sets priced", best_val,
                  len(pool), pr.n_priced)
        if clock() >= deadline or reached():
            break
        top = sorted(pool.values(), key=lambda e: e[0])[:elite]
        keep = [np.any([e[1][t] for e in top], axis=0) for t in range(pr.T)]
        if extra:
            if ranked_for != pr.key(best):
                ranked, ranked_for = _ranked(pr, best, deadline), pr.key(best)
            n_max = max(td.n for td in sd.tiers)
            for t, td in enumerate(sd.tiers):
                keep[t][ranked[t][:math.ceil(extra * td.n / n_max)]] = True
        k = pr.key(keep)
        if k not in merged:
            merged.add(k)
            best, best_val = _merge_round(pr, pool, keep, best, best_val, deadline, seed, gap,
                                          solver, f"{len(top)} local optima and {extra} more")
        if best_val >= before - 1e-9 * max(1.0, abs(before)):
            if elite >= len(pool) and all((m | ~td.alive).all()
                                          for m, td in zip(keep, sd.tiers, strict=True)):
                break
            elite *= 2
            extra = 4 if extra == 0 else 2 * extra
    return pr.plan(best, solver, seed)
