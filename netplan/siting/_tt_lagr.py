r"""Lagrangian lower bound of a single-source :func:`three_tier` stream, tier by tier.

Why: the LP of the hierarchical model opens the sites of the upper tiers at the fraction
:math:`f / C` of their inflow, so it may spread one county centre over a dozen candidates, each
close to its villages (recyclables on the demo county: the LP's haulage is 45 % below every plan's
although it opens exactly the two centres' worth of fixed cost). This bound keeps every site's
opening integral and asks, per tier, which *demands* end at the site.

Relaxation (a valid lower bound, for any multipliers)
-----------------------------------------------------
For a plan, let :math:`s_i \in \{0,1\}` say demand :math:`i` is served and
:math:`z^t_{ik} \in \{0,1\}` that its tonnage passes tier-:math:`t` site :math:`k`
(single source: exactly one site per tier when served, :math:`\sum_k z^t_{ik} = s_i`, and
:math:`z^t_{ik} \le y_{tk}`, :math:`\sum_i q_i z^t_{ik} \le C_{tk} y_{tk}`). Its cost is

.. math::

    \sum_{t,k} F_{tk} y_{tk} + \sum_t \sum_i q_i\, r_t\, d^t(i) / 1000
    + \pi \sum_i q_i (1 - s_i),

where :math:`d^t(i)` is the length of the link into tier :math:`t` on :math:`i`'s path. That
link ends at :math:`i`'s tier-:math:`t` site :math:`k` and starts at a tier-:math:`(t-1)` site that
:math:`i` can reach, so :math:`d^t(i) \ge m^t_{ik} := \min\{d_{jk} : (j,k) \text{ a pair}, j
\text{ reachable from } i\}` (for :math:`t = 1` the pair length itself). Replacing
:math:`d^t(i)` by :math:`m^t_{ik}`, dropping every constraint that ties one tier's choice to
another's (flow conservation, :math:`\sum_k u_{jk} = y_j`, township rules) and keeping only
:math:`\sum_k z^t_{ik} = s_i`, capacities, the coverage target and
:math:`\sum_k C_{tk} y_{tk} \ge D` (the tonnage :math:`D` that must be served passes every tier)
gives a relaxation whose optimum is at most the plan's cost. *Path charging* (the second
variant, :func:`_tiers` with ``path``): the links above the first tier are all charged at the top
tier instead, at :math:`P_{il} := \min` over chains :math:`j \to k \to l` from a first-tier site
:math:`j` that :math:`i` can reach, of :math:`\sum_{t \ge 2} r_t d / 1000` — the plan's own chain
is one of them, so again no more than what the plan pays; the middle tiers then carry only fixed
costs. Both variants are bounds; :func:`lagrangian_bound` returns the larger. Relaxing
:math:`\sum_k z^t_{ik} = s_i` with multipliers :math:`\lambda^t_i` (free) splits it into

* per tier and site: :math:`v_{tk} = F_{tk} - \max\{\sum_i (\lambda^t_i - c^t_{ik}) z_{ik} :
  \sum_i q_i z_{ik} \le C_{tk}, 0 \le z \le 1\}` with :math:`c^t_{ik} = q_i r_t m^t_{ik}/1000`
  (the LP of the knapsack: a lower bound of the 0-1 one; at the first tier, in the last
  iterations, the 0-1 knapsack itself with the weights rounded down to a grid of the capacity,
  :func:`_knapsack01`, also a lower bound), pairs with :math:`q_i > C_{tk}` dropped (no plan
  uses them);
* per tier the open set: :math:`\min \sum_k v_{tk} y_{tk}` over :math:`y \in \{0,1\}` with forced
  sites open and one of: :math:`\sum_k C_{tk} y_{tk} \ge D` (exact by DP in units of the
  capacities' common divisor, :math:`\lceil D/g \rceil` being what integer units must reach; its
  LP, fractional last site, when that is too large), at least :math:`n_t` open sites
  (``_tt_build.min_open``), or the at-most-per-township rule — each drops the other rules, so
  each is a relaxation, and the largest value is taken;
* the served set: :math:`\min \sum_i (\sum_t \lambda^t_i - \pi q_i) s_i` with must-serve demands
  at 1 and the coverage target (LP of the covering knapsack for a tonnage target, exact for a
  village count),

plus the constant :math:`\pi \sum_i q_i`. Each piece is a minimum over a superset of what a plan
can do, so :math:`L(\lambda) \le` every plan's cost. At its best multipliers the bound equals
the LP of the tier-decoupled model with :math:`z^t_{ik} \le y_{tk}`, which the compact model's
LP does not have (its weakness is exactly the fractional upper sites); it loses the coupling of
consecutive tiers, so it is taken *together with* the LP bounds (the block bound is the best).

The multipliers follow Polyak subgradient steps towards the best plan's cost for a fixed
number of iterations (the work budget): the same inputs give the same bound on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netplan.siting._sscflp_lagr import min_cover_dp
from netplan.siting._tt_build import min_open
from netplan.siting._tt_prep import StreamData

#: Subgradient iterations of :func:`lagrangian_bound` (each ~1-3 ms on the demo county's blocks)
ITERS = 300
#: Polyak step factor at the start, halved after STALL iterations without a better bound
STEP = 0.5
STALL = 10
#: Polyak target of the subgradient steps: the incumbent plus this share of it. Demo manure,
#: incumbent 19.62 M: 0 / 0.02 / 0.05 / 0.10 gave 18.293 / 18.305 / 18.364 / 18.360 M (the
#: other demo blocks within 0.01 %), so a better plan no longer lowers the bound (20.27 M gave
#: 18.331 M at 0)
TARGET_LIFT = 0.05
#: Largest cover DP (capacity units, and units x candidates) solved exactly; beyond, its LP
DP_MAX = 20_000
DP_WORK = 2_000_000
#: Capacity grid of the first tier's exact 0-1 knapsacks (weights rounded down to cap / grid)
KNAP_GRID = 200
#: Subgradient iterations with the first tier's 0-1 knapsacks after the LP-knapsack ones
EXACT_ITERS = 150
#: Smallest relative lift of ``L`` at the LP-knapsack multipliers for which they run
EXACT_LIFT = 1e-5


@dataclass
class _Tier:
    """Flattened (demand, site) pairs of one tier with their cost if the demand ends there."""

    dem: np.ndarray        # demand index per pair
    site: np.ndarray       # site index per pair
    cost: np.ndarray       # CNY/yr: q_i * r_t * m^t_ik / 1000
    q: np.ndarray          # t/yr of the demand
    fixed: np.ndarray      # per site, CNY/yr (inf where the site may not open)
    cap: np.ndarray        # per site, t/yr
    forced: np.ndarray     # per site, bool
    group: np.ndarray | None
    gmax: np.ndarray | None
    n: int
    n_min: int = 0         # fewest open sites whose capacities hold what must be served
    unit: float | None = None   # common divisor of the capacities (exact cover DP), None = LP


def _tiers(sd: StreamData, path: bool = False) -> list[_Tier]:
    """Per tier the usable (demand, site) pairs and the link cost charged there (module doc).

    ``path`` False: each tier pays its own link into it at its cheapest (``m^t_ik``). True: the
    first tier pays its link, the middle tiers no transport, and the top tier the cheapest whole
    path from a site the demand can reach at the first tier up to the top site.
    """
    w = sd.w
    n_dem = len(w)
    top = len(sd.tiers) - 1
    n_min = min_open(sd)
    out = []
    reach = None            # (n_dem, n_prev) bool: tier t-1 sites reachable by each demand
    acc = None              # (n_dem, n_prev) cheapest CNY/t from the demand's points up to t-1
    for t, td in enumerate(sd.tiers):
        if t == 0:
            m = np.full((n_dem, td.n), np.inf)
            m[td.pa, td.pb] = td.pd
            per_t = td.rate * m / 1000.0
            if td.extra is not None:
                ex = np.zeros((n_dem, td.n))
                ex[td.pa, td.pb] = td.extra
                per_t = per_t + ex
            acc = np.where(np.isfinite(m), 0.0, np.inf)
        else:
            d = np.full((sd.tiers[t - 1].n, td.n), np.inf)
            d[td.pa, td.pb] = td.rate * td.pd / 1000.0
            base = acc if path else np.zeros_like(acc)
            m = np.full((n_dem, td.n), np.inf)
            for i in range(n_dem):
                r = reach[i]
                if r.any():
                    m[i] = (base[i, r][:, None] + d[r]).min(axis=0)
            acc = m
            per_t = (m if t == top else np.zeros_like(m)) if path else m
        ok = np.isfinite(m) & td.alive[None, :] & (w[:, None] <= td.cap[None, :] + 1e-9)
        dem, site = np.nonzero(ok)
        out.append(_Tier(dem=dem, site=site, cost=w[dem] * per_t[dem, site], q=w[dem],
                         fixed=np.where(td.alive, td.fixed, np.inf), cap=td.cap.astype(float),
                         forced=td.forced & td.alive, group=td.group, gmax=td.gmax, n=td.n,
                         n_min=n_min[t], unit=_cover_unit(td.cap[td.alive])))
        reach = ok
    return out


def _site_values(tr: _Tier, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site ``v = F - LP knapsack profit`` and the per-pair take (0..1) of each knapsack."""
    prof = lam[tr.dem] - tr.cost
    pos = prof > 0
    idx = np.flatnonzero(pos)
    take = np.zeros(len(tr.dem))
    gain = np.zeros(tr.n)
    if len(idx):
        p, q, s = prof[idx], tr.q[idx], tr.site[idx]
        ratio = np.where(q > 0, p / np.maximum(q, 1e-300), np.inf)
        order = np.lexsort((-ratio, s))
        p, q, s, idx = p[order], q[order], s[order], idx[order]
        cq = np.cumsum(q)
        first = np.searchsorted(s, s, side="left")
        before = cq - q - (cq[first] - q[first])      # tonnage packed before this item at its site
        room = tr.cap[s] - before
        frac = np.clip(np.where(q > 0, room / np.maximum(q, 1e-300), np.where(room >= 0, 1, 0)),
                       0.0, 1.0)
        take[idx] = frac
        gain = np.bincount(s, weights=p * frac, minlength=tr.n)
    return tr.fixed - gain, take


def _knapsack01(tr: _Tier, lam: np.ndarray, grid: int = KNAP_GRID
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per site ``v = F - max 0-1 knapsack profit`` with the weights rounded *down* to
    ``cap / grid`` (every set that fits still fits, so the profit is at least the true 0-1 optimum
    and ``v`` a valid site value), by one DP over all sites at once, or the LP knapsack's ``v``
    where that is larger (also valid); and the per-pair take."""
    prof = lam[tr.dem] - tr.cost
    idx = np.flatnonzero((prof > 0) & np.isfinite(tr.cap[tr.site]))
    take = np.zeros(len(tr.dem))
    if len(idx) == 0:
        v, t = _site_values(tr, lam)
        return v, t
    s = tr.site[idx]
    order = np.argsort(s, kind="stable")
    idx, s = idx[order], s[order]
    rank = np.arange(len(s)) - np.searchsorted(s, s, side="left")    # item number at its site
    sites = np.unique(s)
    row = np.searchsorted(sites, s)
    unit = tr.cap[sites] / grid
    wt = np.floor(tr.q[idx] / unit[row] + 1e-9).astype(int)
    dp = np.zeros((len(sites), grid + 1))
    cols = np.arange(grid + 1)
    keep = np.zeros((int(rank.max()) + 1, len(sites), grid + 1), dtype=bool)
    for r in range(int(rank.max()) + 1):
        at = np.flatnonzero(rank == r)
        rr, w_r, p_r = row[at], wt[at], prof[idx[at]]
        src = cols[None, :] - w_r[:, None]
        new = np.where(src >= 0, dp[rr][np.arange(len(rr))[:, None], np.maximum(src, 0)]
                       + p_r[:, None], -np.inf)
        better = new > dp[rr] + 1e-9
        keep[r, rr] = better
        dp[rr] = np.where(better, new, dp[rr])
    gain = np.zeros(tr.n)
    gain[sites] = dp[:, grid]
    c = np.full(len(sites), grid)
    for r in range(int(rank.max()), -1, -1):      # backtrack the chosen items
        at = np.flatnonzero(rank == r)
        rr = row[at]
        on = keep[r, rr, c[rr]]
        take[idx[at[on]]] = 1.0
        c[rr[on]] -= wt[at[on]]
    # both are valid site values: per site the larger (the LP knapsack where the rounding made
    # the 0-1 one looser, and where no finite capacity or no profitable item left it out)
    v_lp, t_lp = _site_values(tr, lam)
    lp = ~np.isin(np.arange(tr.n), sites) | (v_lp >= tr.fixed - gain)
    return np.where(lp, v_lp, tr.fixed - gain), np.where(lp[tr.site], t_lp, take)


def _cover_unit(cap: np.ndarray) -> float | None:
    """Common divisor of the (integral, finite) capacities, for an exact cover DP; else None."""
    c = cap[np.isfinite(cap)]
    if len(c) == 0 or not np.all(np.abs(c - np.round(c)) < 1e-9) or c.max() > 2**40:
        return None
    g = int(np.gcd.reduce(np.round(c).astype(np.int64)))
    return float(g) if g > 0 else None


def _cover(tr: _Tier, v: np.ndarray, ok: np.ndarray, base: np.ndarray,
           need: float) -> tuple[float, np.ndarray]:
    """``min sum v y`` over ``y`` in {0,1} with ``base`` open and ``sum C y >= need``: exact by DP
    over capacity in units of their common divisor when small, else its LP (a lower bound)."""
    y = base.astype(float)
    val = float(v[base].sum())
    rest = need - float(tr.cap[base].sum())
    if rest <= 1e-6 * max(1.0, need):
        return val, y
    cand = np.flatnonzero(ok & ~base)
    inf_c = cand[np.isinf(tr.cap[cand])]
    val_f, y_f = _cover_finite(tr, v, cand[np.isfinite(tr.cap[cand])], rest, y, val)
    if len(inf_c):                        # one uncapacitated site covers the rest alone
        k = inf_c[np.argmin(v[inf_c])]
        if val + float(v[k]) <= val_f:
            y[k] = 1.0
            return val + float(v[k]), y
    return val_f, y_f


def _cover_finite(tr: _Tier, v: np.ndarray, cand: np.ndarray, rest: float, y: np.ndarray,
                  val: float) -> tuple[float, np.ndarray]:
    """Cover ``rest`` t/yr with sites ``cand`` (finite capacities, ``v >= 0``), see :func:`_cover`."""
    y = y.copy()
    unit = tr.unit
    # whole capacity units a plan must reach (less a tolerance: the coverage row allows 1e-6 t)
    r = int(math.ceil((rest - 1e-6 * max(1.0, rest)) / unit)) if unit else 0
    if unit and 0 < r <= DP_MAX and len(cand) * r <= DP_WORK:
        cost, chosen = min_cover_dp(v[cand], np.round(tr.cap[cand] / unit).astype(int), r)
        if not math.isfinite(cost):
            return math.inf, y
        y[cand[chosen]] = 1.0
        return val + cost, y
    order = cand[np.argsort(v[cand] / tr.cap[cand], kind="stable")]
    for k in order:
        f = min(1.0, rest / tr.cap[k])
        y[k] = f
        val += f * float(v[k])
        rest -= tr.cap[k]
        if rest <= 1e-9:
            return val, y
    return math.inf, y


def _open_set(tr: _Tier, v: np.ndarray, need: float) -> tuple[float, np.ndarray]:
    """Cheapest open set for site values ``v``: the best of three relaxations of the tier's
    rules (each a minimum over a superset of the plans' open sets, so each is a valid bound):
    the capacity cover, the fewest-sites count ``n_min`` and the at-most-per-township rule.
    Returns its value and the opening (0..1) per site."""
    ok = np.isfinite(v)
    base = ok & ((v < 0) | tr.forced)
    val_a, y_a = _cover(tr, v, ok, base, need)
    if not math.isfinite(val_a):          # no cover (cannot happen for a prepared model): unused
        val_a = -math.inf
    # count: at least n_min open sites (the cheapest ones beyond those already open)
    y_c = base.astype(float)
    short = tr.n_min - int(base.sum())
    if short > 0:
        cand = np.flatnonzero(ok & ~base)
        y_c[cand[np.argsort(v[cand], kind="stable")][:short]] = 1.0
    val_c = float((np.where(ok, v, 0.0) * y_c).sum())
    best = (val_a, y_a) if val_a >= val_c else (val_c, y_c)
    if tr.group is None or tr.gmax is None:
        return best
    y_b = base.astype(float)
    for g in np.unique(tr.group[base & ~tr.forced & (tr.group >= 0)]):
        if g >= len(tr.gmax):
            continue
        mem = np.flatnonzero(base & (tr.group == g))
        n_forced = int(tr.forced[mem].sum())
        free = mem[~tr.forced[mem]]
        drop = free[np.argsort(v[free], kind="stable")][max(int(tr.gmax[g]) - n_forced, 0):]
        y_b[drop] = 0.0
    val_b = float((np.where(ok, v, 0.0) * y_b).sum())
    return best if best[0] >= val_b else (val_b, y_b)


def _served(sd: StreamData, coef: np.ndarray) -> np.ndarray:
    """Served share per demand minimising ``coef @ s`` under the must-serve set and the coverage
    target (LP of the covering knapsack for tonnage, exact for a village count)."""
    s = (coef < 0).astype(float)
    s[sd.must] = 1.0
    if sd.target <= 0 or sd.must.all():
        return s
    w = sd.w
    if sd.on == "weight":
        rest = sd.target * float(w.sum()) - 1e-6 - float(w @ s)
        if rest > 0:
            cand = np.flatnonzero((s == 0) & (w > 0))
            order = cand[np.argsort(coef[cand] / w[cand], kind="stable")]
            for i in order:
                s[i] = min(1.0, rest / w[i])
                rest -= w[i]
                if rest <= 0:
                    break
    else:
        k = math.ceil(sd.target * int(sd.count_mask.sum()) - 1e-9)
        have = int((s[sd.count_mask] > 0).sum())
        if have < k:
            cand = np.flatnonzero(sd.count_mask & (s == 0))
            s[cand[np.argsort(coef[cand], kind="stable")][:k - have]] = 1.0
    return s


def _evaluate(sd: StreamData, trs: list[_Tier], lam: list[np.ndarray], exact: bool = False
              ) -> tuple[float, list[np.ndarray]]:
    """``L(lambda)`` and its subgradient per tier (``s_i - sum_k z^t_ik``); ``exact``: the first
    tier's knapsacks 0-1 (:func:`_knapsack01`) instead of their LP."""
    coef = sum(lam) - sd.penalty * sd.w
    s = _served(sd, coef)
    val = sd.penalty * float(sd.w.sum()) + float(coef @ s)
    grads = []
    for t, (tr, lt) in enumerate(zip(trs, lam, strict=True)):
        v, take = _knapsack01(tr, lt) if exact and t == 0 else _site_values(tr, lt)
        z, y = _open_set(tr, v, sd.need_t)
        val += z
        got = np.bincount(tr.dem, weights=take * y[tr.site], minlength=len(sd.w))
        grads.append(s - got)
    return val, grads


def lagrangian_bound(sd: StreamData, incumbent: float, iters: int = ITERS,
                     exact_iters: int = EXACT_ITERS) -> float:
    """Tier-decoupled Lagrangian lower bound of one single-source stream (module doc), CNY/yr.

    The better of the two ways of charging the transport (per tier, or the whole path at the top
    tier; see :func:`_tiers`), each after ``iters`` subgradient iterations with Polyak steps
    towards ``incumbent`` (the best plan's cost) on LP knapsacks, then ``exact_iters`` more from
    the best multipliers with the first tier's knapsacks 0-1 (:func:`_knapsack01`: farms as heavy
    as a point's capacity make its LP knapsack weak) where that lifts ``L`` at those multipliers
    by ``EXACT_LIFT``. The iteration counts are the whole work (no
    clock), so the bound is the same on an idle and on a loaded machine. Returns -inf for a
    multi-source stream or without a finite incumbent.
    """
    if not sd.single_source or not math.isfinite(incumbent) or len(sd.w) == 0:
        return -math.inf
    best = -math.inf
    for path in (False, True):
        trs = _tiers(sd, path)
        val, lam = _ascent(sd, trs, incumbent, iters)
        # the 0-1 knapsacks cost ~10x the LP ones: only where they lift L at these multipliers
        if exact_iters > 0 and _evaluate(sd, trs, lam, True)[0] > val + EXACT_LIFT * abs(val):
            val = max(val, _ascent(sd, trs, incumbent, exact_iters, lam, exact=True)[0])
        best = max(best, val)
    return best if math.isfinite(best) else -math.inf


def _ascent(sd: StreamData, trs: list[_Tier], incumbent: float, iters: int,
            start: list[np.ndarray] | None = None, *, exact: bool = False
            ) -> tuple[float, list[np.ndarray]]:
    """Best ``L(lambda)`` of ``iters`` subgradient steps from ``start`` (default: the
    amortised-cost multipliers) and the multipliers that gave it."""
    n_dem = len(sd.w)
    lam = []
    for tr in trs:        # start: the cheapest cost per demand with fixed costs spread per tonne
        per_t = np.where(np.isfinite(tr.cap[tr.site]), tr.fixed[tr.site] / tr.cap[tr.site], 0.0)
        lo = np.full(n_dem, np.inf)
        np.minimum.at(lo, tr.dem, tr.cost + tr.q * per_t)
        lam.append(np.where(np.isfinite(lo), lo, 0.0))
    lam = lam if start is None else start
    best, best_lam = -math.inf, lam
    alpha, stall = STEP, 0
    for _ in range(iters):
        val, grads = _evaluate(sd, trs, lam, exact)
        if val > best + 1e-9 * max(1.0, abs(val)):
            best, best_lam, stall = val, lam, 0
        else:
            stall += 1
            if stall >= STALL:
                alpha, stall = alpha / 2, 0
        norm = float(sum(g @ g for g in grads))
        if norm <= 1e-12 or alpha < 1e-7 or incumbent - best <= 1e-9 * abs(incumbent):
            break             # relaxed solution feasible for the coupling rows, or converged
        # Polyak step towards a target above the incumbent: the bound is valid for any
        # multipliers, and a target at the best plan slows the ascent as plans improve
        target = incumbent + TARGET_LIFT * abs(incumbent)
        step = alpha * max(target - val, 1e-6 * abs(incumbent)) / norm
        lam = [lt + step * g for lt, g in zip(lam, grads, strict=True)]
    return best, best_lam
