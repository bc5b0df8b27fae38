r"""Lower bound of a single-source :func:`three_tier` stream split at its first tier: the
village points' part and the part above it bounded apart (issue 16, demo_hills).

Why: on the hill county the links above the points are long (stations 20-40 km out, centres up
to 100 km) and the points short (3-5 km), and the LP of the whole block spreads stations and
centres fractionally along them. The top-tier branch-and-bound of ``_tt_topbb`` fixes that, but
its node LPs carry every point-to-station flow (recyclables: 50 k columns, 3-4 CPU s a node),
so at the work a 60 s plan leaves it solves its root at most. Charging each demand straight to
a station at the distance from its *nearest usable* point cuts the point tier out of the tree's
LP, and its demand-to-station links (``x_ik <= y_k`` per demand) are tighter than the
point-level flows they replace: demo_hills manure 16.86 M (Lagrangian) -> 17.48 M at 10 node LPs
(3 CPU s) and 17.90 M at 124, above the whole block's closed ``y``-integral tree (17.56 M).

Relaxation (valid for every plan): a plan's cost is ``A + B`` with ``A`` = the points' fixed
costs + the haulage from the villages to them, and ``B`` = everything above (stations, centres,
their haulage, the unserved penalty). ``A`` is at least the Lagrangian bound of the model that
has the first tier only and no penalty (``_tt_lagr``; the plan's served set meets the coverage
target there too). ``B`` is at least the cost of the plan in the *upper model*: the demands
send straight to the stations, demand ``i`` to station ``k`` at length
:math:`\min_j d_{jk}` over the points ``j`` that ``i`` may use (``(i, j)`` and ``(j, k)`` pairs,
``j`` alive) — the plan's own point is one of them, so its haulage there is no more than what
the plan pays; capacities, township rules, coverage and the tiers above are those of the block.
So ``A_bound + top_tier_bound(upper, incumbent - A_bound)`` is at most every plan's cost.

Work: the Lagrangian's fixed iteration counts, and the tree's simplex iterations (``work``
units, ``_tt_topbb.ITERS_PER_UNIT``): the same bound on an idle and on a loaded machine; the CPU
``deadline`` only a safety stop (which can only leave a weaker bound).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from netplan.siting._mip import clock
from netplan.siting._tt_lagr import lagrangian_bound
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_topbb import top_tier_bound

log = logging.getLogger(__name__)

#: Subgradient iterations of the points' part (LP knapsacks; the 0-1 ones are off: demo_hills
#: manure 6.8 CPU s with them on)
POINT_ITERS = 300
#: Estimated work units of the upper model's root LP per 1000 of its size (pairs plus
#: candidates), at or above the measured (demo_hills: straw 4.2 k 0.8 CPU s, manure 5.7 k
#: 1.0 s, recyclables 20.9 k 5.1 s; 1 unit ~ 1 CPU s): a deterministic gate for the root,
#: which runs to its end
ROOT_UNITS_PER_KSIZE = 0.25


def applies(sd: StreamData) -> bool:
    """True for a single-source stream of at least two tiers without the heuristic's onward
    cost estimates (``extra``), which the split does not carry."""
    return (sd.single_source and len(sd.tiers) >= 2 and len(sd.w) > 0
            and all(td.extra is None for td in sd.tiers))


def upper_model(sd: StreamData) -> StreamData:
    """The block without its first tier: demand ``i`` to station ``k`` at the length from the
    nearest alive point ``i`` may use that links to ``k`` (module doc); the tiers above as they
    are."""
    t0, t1 = sd.tiers[0], sd.tiers[1]
    n_dem = len(sd.w)
    d1 = np.full((t0.n, t1.n), np.inf)
    d1[t1.pa, t1.pb] = t1.pd
    d1[~t0.alive] = np.inf
    m = np.full((n_dem, t1.n), np.inf)
    use = t0.alive[t0.pb]
    order = np.argsort(t0.pa[use], kind="stable")
    dem, pts = t0.pa[use][order], t0.pb[use][order]
    starts = np.searchsorted(dem, np.arange(n_dem + 1))
    for i in range(n_dem):
        js = pts[starts[i]:starts[i + 1]]
        if len(js):
            m[i] = d1[js].min(axis=0)
    ok = np.isfinite(m) & t1.alive[None, :] & (sd.w[:, None] <= t1.cap[None, :] + 1e-9)
    pa, pb = np.nonzero(ok)
    ub = np.minimum(np.bincount(pb, weights=sd.w[pa], minlength=t1.n), t1.cap)
    top = dataclasses.replace(t1, pa=pa, pb=pb, pd=m[pa, pb], flow_ub=ub, extra=None)
    return dataclasses.replace(sd, tiers=[top, *sd.tiers[2:]])


def points_bound(sd: StreamData, incumbent: float) -> float:
    """Lower bound of the points' part of every plan (fixed costs of the first tier plus the
    haulage into it, CNY/yr): the Lagrangian bound of the first tier alone without penalty,
    Polyak steps towards ``incumbent`` (a plan's points part)."""
    one = dataclasses.replace(sd, tiers=[sd.tiers[0]], penalty=0.0)
    return lagrangian_bound(one, max(incumbent, 1.0), iters=POINT_ITERS, exact_iters=0)


def root_units(up: StreamData) -> float:
    """Size estimate of the upper model's root LP in work units (:data:`ROOT_UNITS_PER_KSIZE`)."""
    size = sum(len(td.pa) + td.n for td in up.tiers)
    return ROOT_UNITS_PER_KSIZE * size / 1000.0


def split_bound(sd: StreamData, incumbent: float, points_cny: float, work: float,
                deadline: float = math.inf, gap: float = 0.0) -> float:
    """Lower bound of a one-stream single-source block split at its first tier (module doc),
    CNY/yr; -inf when it does not apply.

    Parameters
    ----------
    sd
        The stream (``_tt_prep.StreamData``).
    incumbent
        Cost of the best plan, CNY/yr.
    points_cny
        That plan's points part (first tier's fixed costs + haulage into it), CNY/yr: the target
        of the points' Lagrangian.
    work
        Work units of the upper model's tree (simplex iterations, ``_tt_topbb``).
    deadline
        CPU safety stop (:func:`~netplan.siting._mip.clock` value).
    gap
        Stop once within this relative gap of ``incumbent``.
    """
    if not applies(sd) or not math.isfinite(incumbent) or work <= 0 or clock() >= deadline:
        return -math.inf
    a = points_bound(sd, points_cny)
    if not math.isfinite(a):
        return -math.inf
    up = upper_model(sd)
    rest = incumbent - a
    c0 = clock()
    tree = top_tier_bound(up, [], None, rest, work=work, deadline=deadline,
                          gap=gap * abs(incumbent) / max(abs(rest), 1e-9))
    log.info("%s: split bound %.0f (points %.0f + upper %.0f, root %.0f, %d nodes) on %.2f units, "
             "%.1f CPU s", sd.name, a + tree.bound, a, tree.bound, a + tree.root, tree.nodes,
             work, clock() - c0)
    return a + tree.bound if math.isfinite(tree.bound) else -math.inf


def points_part(sd: StreamData, plan) -> float:
    """A plan's points part, CNY/yr: fixed costs of its open first-tier candidates plus the
    haulage of every served demand to its point."""
    t0 = sd.tiers[0]
    a = plan.assigns[0]
    fixed = float(t0.fixed[np.asarray(plan.opens[0], dtype=bool)].sum())
    src = np.flatnonzero(a >= 0)
    if len(src) == 0:
        return fixed
    length = {(int(i), int(j)): float(d) for i, j, d in zip(t0.pa, t0.pb, t0.pd, strict=True)}
    haul = sum(float(sd.w[i]) * t0.rate * length[(int(i), int(a[i]))] / 1000.0 for i in src)
    return fixed + haul
