"""Input checking, pair reduction and infeasibility diagnosis for :func:`three_tier`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netplan.errors import InputError, Unservable
from netplan.model import TIERS


def tier_label(t: int, n_tiers: int) -> str:
    """Human name of tier ``t`` (0-based) in a model with ``n_tiers`` tiers."""
    if n_tiers == len(TIERS):
        return TIERS[t]
    return f"tier {t + 1}"


def _vec(value, n: int, name: str, stream: str, default: float) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr), dtype=float)
    if arr.shape != (n,):
        msg = f"{name} has shape {arr.shape}, expected ({n},)"
        raise InputError(msg, file=f"stream {stream}", field=name)
    return arr.copy()


def _index_mask(idx, n: int, name: str, stream: str) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if idx is None:
        return mask
    arr = np.asarray(idx)
    if arr.dtype == bool:
        if arr.shape != (n,):
            msg = f"{name} boolean mask has shape {arr.shape}, expected ({n},)"
            raise InputError(msg, file=f"stream {stream}", field=name)
        return arr.copy()
    arr = arr.astype(int).ravel()
    if len(arr) and (arr.min() < 0 or arr.max() >= n):
        msg = f"{name} has candidate indices outside 0..{n - 1}"
        raise InputError(msg, file=f"stream {stream}", field=name)
    mask[arr] = True
    return mask


def _group_bounds(value, groups: np.ndarray, name: str, stream: str) -> np.ndarray | None:
    """Per-group bound array over 0..max(group), or None."""
    if value is None:
        return None
    ng = int(groups.max()) + 1 if len(groups) and groups.max() >= 0 else 0
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(ng, int(arr), dtype=int)
    arr = arr.astype(int)
    if len(arr) < ng:
        msg = f"{name} has {len(arr)} entries but group indices go up to {ng - 1}"
        raise InputError(msg, file=f"stream {stream}", field=name)
    return arr


@dataclass
class TierData:
    """One tier of one stream after checking and reduction."""

    n: int
    cap: np.ndarray            # t/yr, inf = none
    fixed: np.ndarray          # CNY/yr
    rate: float                # CNY/(t·km) on the link into this tier
    alive: np.ndarray          # may open
    forced: np.ndarray         # must open
    site: np.ndarray           # physical site index per candidate (-1 = none)
    group: np.ndarray | None
    gmin: np.ndarray | None
    gmax: np.ndarray | None
    pa: np.ndarray             # pair: previous-level index
    pb: np.ndarray             # pair: candidate index of this tier
    pd: np.ndarray             # pair: length (cost unit, metres for transport cost)
    flow_ub: np.ndarray        # upper bound of inflow per candidate, t/yr
    extra: np.ndarray | None = None   # per pair, extra CNY/t (heuristic's estimate of onward cost)


@dataclass
class StreamData:
    name: str
    w: np.ndarray
    tiers: list[TierData]
    must: np.ndarray            # demands that must be served
    count_mask: np.ndarray
    target: float
    on: str
    penalty: float
    need_t: float               # tonnage that must at least be served
    single_source: bool = True  # False: demands and flows may split (x continuous, no u)


def prepare(model, nearest_links: int | None = None) -> tuple[StreamData, list[Unservable]]:
    """Check one StreamModel, reduce its pairs and collect the reasons it cannot be served."""
    name = model.name
    w, T, single = _check_stream(model)
    n_dem = len(w)
    problems: list[Unservable] = []
    raw = _raw_tiers(model, n_dem, T, problems)
    alive = _top_down_alive(raw, name, T, problems)
    # must-serve set
    count_mask = (np.ones(n_dem, dtype=bool) if model.count_mask is None
                  else np.asarray(model.count_mask, dtype=bool))
    full = model.coverage_target >= 1.0 - 1e-12
    if full:
        must = (w > 0) if model.coverage_on == "weight" else count_mask.copy()
    else:
        must = np.zeros(n_dem, dtype=bool)
    tiers = _tier_data(model, raw, alive, w, single, nearest_links, problems)
    reach = np.zeros(n_dem, dtype=bool)
    reach[tiers[0].pa] = True
    need = _demand_problems(model, raw[0], alive[0], tiers[0], w, must, reach, count_mask,
                            full=full, single=single, problems=problems)
    for t, td in enumerate(tiers):
        total = _usable_capacity(td)
        if total < need - 1e-6:
            problems.append(Unservable(-1, f"total capacity of usable {tier_label(t, T)} candidates "
                                       f"is {total:.6g} t/yr (with the at-most-per-group rules), "
                                       f"short of the {need:.6g} t/yr that must be served", label=f"{name} {tier_label(t, T)} capacity"))
    sd = StreamData(name=name, w=w, tiers=tiers, must=must & reach, count_mask=count_mask,
                    target=float(model.coverage_target), on=model.coverage_on,
                    penalty=float(model.unserved_penalty_per_t), need_t=need,
                    single_source=single)
    return sd, problems


def _check_stream(model) -> tuple[np.ndarray, int, bool]:
    """Validate the stream-level fields; return weights (t/yr), number of tiers, single sourcing."""
    name = model.name
    w = np.asarray(model.weights, dtype=float)
    if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all():
        msg = "weights must be a 1-d array of finite non-negative t/yr"
        raise InputError(msg, file=f"stream {name}", field="weights")
    T = len(model.tiers)
    if T < 1:
        msg = "a stream needs at least one tier"
        raise InputError(msg, file=f"stream {name}", field="tiers")
    if model.coverage_on not in ("weight", "count"):
        msg = f"coverage_on must be 'weight' or 'count', got {model.coverage_on!r}"
        raise InputError(msg, file=f"stream {name}", field="coverage_on")
    if not 0.0 <= model.coverage_target <= 1.0:
        msg = f"coverage_target must be in [0, 1], got {model.coverage_target}"
        raise InputError(msg, file=f"stream {name}", field="coverage_target")
    if not isinstance(model.single_source, bool | np.bool_):
        msg = f"stream {model.name!r}: single_source must be True or False, got {model.single_source!r}"
        raise InputError(msg, field="single_source")
    return w, T, bool(model.single_source)


def _raw_tiers(model, n_dem: int, T: int, problems: list[Unservable]) -> list[dict]:
    """Per tier the checked cost, usable pairs (finite, within radius), masks and vectors."""
    name = model.name
    n_prev = n_dem
    raw = []
    for t, tier in enumerate(model.tiers):
        cost = np.asarray(tier.cost, dtype=float)
        if cost.ndim != 2 or cost.shape[0] != n_prev:
            msg = (f"{tier_label(t, T)} cost has shape {cost.shape}, expected ({n_prev}, n_candidates)")
            raise InputError(msg, file=f"stream {name}", field=f"tiers[{t}].cost")
        n = cost.shape[1]
        forced = _index_mask(tier.force_open, n, f"tiers[{t}].force_open", name)
        forbidden = _index_mask(tier.forbidden, n, f"tiers[{t}].forbidden", name)
        both = np.flatnonzero(forced & forbidden)
        for b in both:
            problems.append(Unservable(int(b), "candidate is both forced open and forbidden",
                                       label=f"{name} {tier_label(t, T)} candidate {b}"))
        ok = np.isfinite(cost) & (cost >= 0)
        if tier.radius is not None:
            ok &= cost <= tier.radius
        group = None if tier.group is None else np.asarray(tier.group, dtype=int)
        if group is not None and group.shape != (n,):
            msg = f"group has shape {group.shape}, expected ({n},)"
            raise InputError(msg, file=f"stream {name}", field=f"tiers[{t}].group")
        site = (np.arange(n) if tier.site is None else np.asarray(tier.site, dtype=int))
        raw.append(dict(cost=cost, ok=ok, forced=forced, forbidden=forbidden, n=n, group=group,
                        site=site,
                        cap=_vec(tier.capacity, n, f"tiers[{t}].capacity", name, math.inf),
                        fixed=_vec(tier.fixed_cost, n, f"tiers[{t}].fixed_cost", name, 0.0)))
        n_prev = n
    return raw


def _top_down_alive(raw: list[dict], name: str, T: int,
                    problems: list[Unservable]) -> list[np.ndarray]:
    """Top-down reduction: a candidate may open only if it can forward to an alive one above."""
    alive = [None] * T
    alive[T - 1] = ~raw[T - 1]["forbidden"]
    for t in range(T - 2, -1, -1):
        up = raw[t + 1]
        alive[t] = ~raw[t]["forbidden"] & (up["ok"] & alive[t + 1][None, :]).any(axis=1)
    for t in range(T):
        dead_forced = np.flatnonzero(raw[t]["forced"] & ~alive[t] & ~raw[t]["forbidden"])
        for b in dead_forced:
            problems.append(Unservable(int(b), f"forced open but no {tier_label(t + 1, T)} "
                                       "candidate is within its radius",
                                       label=f"{name} {tier_label(t, T)} candidate {b}"))
    return alive


def _tier_data(model, raw: list[dict], alive: list[np.ndarray], w: np.ndarray, single: bool,
               nearest_links: int | None, problems: list[Unservable]) -> list[TierData]:
    """Reduced pairs, inflow bounds (t/yr) and group rules of every tier, bottom up."""
    name = model.name
    T = len(raw)
    n_dem = len(w)
    tiers: list[TierData] = []
    prev_ub = w.copy()
    prev_alive = np.ones(n_dem, dtype=bool)
    for t in range(T):
        r = raw[t]
        ok = r["ok"] & alive[t][None, :] & prev_alive[:, None]
        pa, pb = np.nonzero(ok)
        if t == 0 and single:   # a demand heavier than a site's capacity cannot use it
            keep = w[pa] <= r["cap"][pb] + 1e-9
            pa, pb = pa[keep], pb[keep]
        elif nearest_links is not None:
            pa, pb = _nearest(pa, pb, r["cost"], int(nearest_links), r["forced"])
        pd = r["cost"][pa, pb]
        ub = np.bincount(pb, weights=prev_ub[pa], minlength=r["n"])
        ub = np.minimum(ub, r["cap"])
        ub = np.minimum(ub, float(w.sum()))
        group = r["group"]
        gmin = gmax = None
        tier = model.tiers[t]
        if group is not None:
            gmin = _group_bounds(tier.min_per_group, group, f"tiers[{t}].min_per_group", name)
            gmax = _group_bounds(tier.max_per_group, group, f"tiers[{t}].max_per_group", name)
            _group_problems(group, gmin, gmax, alive[t], r["forced"], f"{name} {tier_label(t, T)}",
                            tier_label(t, T), problems)
        tiers.append(TierData(n=r["n"], cap=r["cap"], fixed=r["fixed"],
                              rate=float(model.tiers[t].rate_per_t_per_km), alive=alive[t],
                              forced=r["forced"] & alive[t], site=r["site"], group=group,
                              gmin=gmin, gmax=gmax, pa=pa, pb=pb, pd=pd, flow_ub=ub))
        prev_ub = ub
        prev_alive = alive[t]
    return tiers


def _group_problems(group: np.ndarray, gmin: np.ndarray | None, gmax: np.ndarray | None,
                    alive: np.ndarray, forced: np.ndarray, where: str, tier_name: str,
                    problems: list[Unservable]) -> None:
    """Groups whose at-least rule exceeds their usable candidates or at-most rule their forced."""
    ng = int(group.max()) + 1 if len(group) and group.max() >= 0 else 0
    ng = max(ng, len(gmin) if gmin is not None else 0, len(gmax) if gmax is not None else 0)
    gv = group >= 0
    n_alive = np.bincount(group[gv & alive], minlength=ng)
    n_forced = np.bincount(group[gv & forced], minlength=ng)
    for g in range(ng):
        if gmin is not None and g < len(gmin) and gmin[g] > n_alive[g]:
            problems.append(Unservable(g, f"needs at least {gmin[g]} open "
                                       f"{tier_name} but has only {n_alive[g]} "
                                       "usable candidates",
                                       label=f"{where} group {g}"))
        if gmax is not None and g < len(gmax) and gmax[g] < n_forced[g]:
            problems.append(Unservable(g, f"allows at most {gmax[g]} open "
                                       f"{tier_name} but {n_forced[g]} are forced open",
                                       label=f"{where} group {g}"))


def _demand_problems(model, r0: dict, alive0: np.ndarray, t0: TierData, w: np.ndarray,
                     must: np.ndarray, reach: np.ndarray, count_mask: np.ndarray, *, full: bool,
                     single: bool, problems: list[Unservable]) -> float:
    """Record demands and coverage targets that cannot be met; return the t/yr that must be served."""
    name = model.name
    T = len(model.tiers)
    n_dem = len(w)
    radius0 = model.tiers[0].radius
    for i in np.flatnonzero(must & ~reach):
        problems.append(Unservable(int(i), _why_unreachable(i, r0, alive0, w, radius0, T),
                                   label=f"{name} demand {i}"))
    if not single:   # split demand: what reaches a demand must hold it
        cap_reach = np.bincount(t0.pa, weights=t0.cap[t0.pb], minlength=n_dem)
        for i in np.flatnonzero(must & reach & (cap_reach < w - 1e-9)):
            problems.append(Unservable(int(i), f"generation {w[i]:.6g} t/yr exceeds the summed "
                                       f"capacity of every {tier_label(0, T)} candidate within "
                                       f"reach ({cap_reach[i]:.6g} t/yr)",
                                       label=f"{name} demand {i}"))
    need = 0.0
    if full:
        need = float(w[must].sum())
    elif model.coverage_on == "weight":
        need = model.coverage_target * float(w.sum())
        if float(w[reach].sum()) < need - 1e-9:
            for i in np.flatnonzero(~reach & (w > 0)):
                problems.append(Unservable(int(i), _why_unreachable(i, r0, alive0, w, radius0, T),
                                           label=f"{name} demand {i}"))
            problems.append(Unservable(-1, f"only {w[reach].sum():.6g} of {w.sum():.6g} t/yr can be "
                                       f"reached; the target is {model.coverage_target:.1%}",
                                       label=f"{name} coverage"))
    else:
        k = math.ceil(model.coverage_target * count_mask.sum() - 1e-9)
        cand = np.flatnonzero(count_mask & reach)
        if len(cand) < k:
            for i in np.flatnonzero(count_mask & ~reach):
                problems.append(Unservable(int(i), _why_unreachable(i, r0, alive0, w, radius0, T),
                                           label=f"{name} demand {i}"))
            problems.append(Unservable(-1, f"only {len(cand)} of {int(count_mask.sum())} villages "
                                       f"can be reached; the target is {model.coverage_target:.1%}",
                                       label=f"{name} coverage"))
        else:
            need = float(np.sort(w[cand])[:k].sum())
    return need


def _usable_capacity(td) -> float:
    """Capacity the tier can open at most: all usable candidates, but in a group with an at-most
    rule only its ``gmax`` largest (e.g. one station per township)."""
    cap = np.where(td.alive, td.cap, 0.0)
    if td.group is None or td.gmax is None:
        return float(cap.sum())
    total = float(cap[td.group < 0].sum())
    for g in np.unique(td.group[td.group >= 0]):
        c = np.sort(cap[td.group == g])[::-1]
        k = int(td.gmax[g]) if g < len(td.gmax) and np.isfinite(td.gmax[g]) else len(c)
        total += float(c[:k].sum())
    return total


def _why_unreachable(i: int, r0: dict, alive0: np.ndarray, w: np.ndarray, radius, T: int) -> str:
    cost = r0["cost"][i]
    allowed = ~r0["forbidden"] & np.isfinite(cost)
    if not allowed.any():
        return f"no {tier_label(0, T)} candidate is reachable"
    j = int(np.flatnonzero(allowed)[np.argmin(cost[allowed])])
    if radius is not None and cost[j] > radius:
        return (f"nearest {tier_label(0, T)} candidate ({j}) is {cost[j]:.0f} away, beyond "
                f"the radius {radius:.0f}")
    within = allowed & ((cost <= radius) if radius is not None else True)
    if not (within & alive0).any():
        return (f"the {tier_label(0, T)} candidates within reach cannot forward to any "
                f"{tier_label(1, T)} candidate within its radius")
    capmax = float(r0["cap"][within & alive0].max())
    return (f"generation {w[i]:.6g} t/yr exceeds the capacity of every {tier_label(0, T)} "
            f"candidate within reach (largest {capmax:.6g} t/yr)")


def _nearest(pa: np.ndarray, pb: np.ndarray, cost: np.ndarray, k: int,
             forced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep, per previous-level site, its ``k`` nearest pairs plus pairs to forced-open sites."""
    if len(pa) == 0:
        return pa, pb
    d = cost[pa, pb]
    order = np.lexsort((d, pa))
    pa, pb, d = pa[order], pb[order], d[order]
    start = np.searchsorted(pa, pa, side="left")
    rank = np.arange(len(pa)) - start
    keep = (rank < k) | forced[pb]
    return pa[keep], pb[keep]
