r"""Cross-county tier 3: may a county centre serve the neighbouring counties' township stations?

Each county plan sends its township stations' flow to a centre in the same county. At region
scale the question is whether fewer or nearer centres would do: :func:`regional_tier3` re-sites
tier 3 of each stream over the region's township stations (the open ``township_station`` rows
of the merged ``sites`` layer, with their annual inflow ``load_t``) and the region's
``county_center`` sites, with :func:`netplan.siting.three_tier` in its one-tier form:

.. math::

    \min \sum_l F_l y_l + \sum_{k,l} c \, w_k \tfrac{d_{kl}}{1000} v_{kl}
    \quad\text{s.t.}\quad \sum_l v_{kl} = 1,\; v_{kl} \le y_l,\;
    \sum_k w_k v_{kl} \le C_l y_l,\; v, y \in \{0,1\}

with :math:`w_k` the station's inflow (t/yr), :math:`c` the stream's haulage rate into tier 3
(CNY per t·km), :math:`F_l` the centre's annualised cost and :math:`C_l` its capacity (t/yr).

Distances: the county road files are clipped to their county, so there is no road graph across
county borders; ``d`` is the straight-line distance in a UTM projection times a circuity factor
(1.3 by default, the scenario's crow-fly ``circuity``). The per-county baseline (each station to
the centre its county plan chose) is costed with the same distances, so the saving is
like-for-like; both are estimates, stated as such in region_tier3.csv.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from netplan.coords import utm_epsg
from netplan.errors import InfeasibleError, InputError, SolverTimeout

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class Tier3Params:
    """Tier-3 economics of one stream.

    Attributes
    ----------
    rate_cny_per_tkm
        Haulage rate station → centre, CNY per t·km.
    fixed_cost_cny
        Annualised cost of keeping a centre open for this stream, CNY/yr.
    capacity_t
        Capacity of a centre whose own capacity is unknown, t/yr.
    """

    rate_cny_per_tkm: float
    fixed_cost_cny: float = 0.0
    capacity_t: float = float("inf")


@dataclass(frozen=True)
class Tier3Result:
    """Result of :func:`regional_tier3`.

    Attributes
    ----------
    summary
        Per stream: n_stations, mass_t, n_centres_county (used by the county plans),
        n_centres_region, cost_county_cny, cost_region_cny, saving_cny, saving_share,
        cross_county_links, status, gap, distance_basis.
    links
        Per station and stream: from_county, from_id, to_county, to_id, mass_t, dist_m,
        county_to_id (the county plan's centre), cross_county, geometry (line, WGS-84).
    centres
        Open region centres: stream, county, site_id, load_t, capacity_t, utilisation, geometry.
    """

    summary: pd.DataFrame
    links: gpd.GeoDataFrame
    centres: gpd.GeoDataFrame

    def __repr__(self) -> str:
        s = self.summary
        lines = [f"Tier3Result({len(s)} streams)"]
        for r in s.itertuples(index=False):
            lines.append(f"  {r.stream}: {r.n_centres_county} → {r.n_centres_region} centres, "
                         f"saving {r.saving_cny:,.0f} CNY/yr ({r.saving_share:.1%}), "
                         f"{r.cross_county_links} cross-county links, {r.status}")
        return "\n".join(lines)


def tier3_params(scenario: Any) -> dict[str, Tier3Params]:
    """Per stream the scenario's county-centre rate, annualised cost and default capacity."""
    out = {}
    for sid, sp in scenario.streams.items():
        tp = sp.tiers["county_center"]
        out[sid] = Tier3Params(
            rate_cny_per_tkm=float(tp.rate_cny_per_tkm),
            fixed_cost_cny=float(tp.annual_cost_cny(scenario.discount_rate, existing=True,
                                                    existing_capex_share=scenario.existing_capex_share)),
            capacity_t=float(tp.capacity_t))
    return out


def _metric_xy(g: gpd.GeoSeries, epsg: int) -> np.ndarray:
    p = g.to_crs(epsg)
    return np.column_stack([p.x.to_numpy(), p.y.to_numpy()])


def regional_tier3(sites: gpd.GeoDataFrame, params: Mapping[str, Tier3Params], *,
                   streams: Sequence[str] | None = None, circuity: float = 1.3,
                   time_limit_s: float = 30.0, solver: str = "scip", seed: int = 0) -> Tier3Result:
    """Site tier 3 of each stream across county borders (formulation in the module docstring).

    Parameters
    ----------
    sites
        The merged ``sites`` layer of the region (region.gpkg): county, site_id, stream, tier,
        load_t (t/yr), capacity_t (t/yr, NaN = unknown), parent_id, Point geometry.
    params
        Per stream :class:`Tier3Params` (see :func:`tier3_params`).
    streams
        Streams to site (default: every stream in ``params`` with stations in ``sites``).
    circuity
        Road distance / straight-line distance, applied to both plans.
    time_limit_s, solver, seed
        Passed to :func:`netplan.siting.three_tier` per stream.

    Returns
    -------
    Tier3Result
    """
    from netplan.siting import StreamModel, Tier, three_tier

    need = {"county", "site_id", "stream", "tier", "load_t", "capacity_t", "parent_id"}
    missing = need - set(sites.columns)
    if missing:
        msg = f"sites layer lacks column(s) {', '.join(sorted(missing))}"
        raise InputError(msg, file="region.gpkg", field="sites")
    if circuity < 1.0:
        msg = f"circuity must be ≥ 1, got {circuity}"
        raise InputError(msg, field="circuity")
    sites = sites.to_crs(WGS84) if sites.crs is not None else sites.set_crs(WGS84)
    c = sites.geometry.union_all().centroid
    epsg = utm_epsg(c.x, c.y)
    rows, link_frames, centre_frames = [], [], []
    for sid in streams or list(params):
        st = sites[(sites["stream"] == sid) & (sites["tier"] == "township_station")]
        st = st[pd.to_numeric(st["load_t"], errors="coerce").fillna(0) > 0].reset_index(drop=True)
        ce = sites[(sites["stream"] == sid) & (sites["tier"] == "county_center")]
        ce = ce.drop_duplicates(["county", "site_id"]).reset_index(drop=True)
        if not len(st) or not len(ce):
            continue
        p = params[sid]
        w = st["load_t"].to_numpy(dtype=float)
        d = np.linalg.norm(_metric_xy(st.geometry, epsg)[:, None, :]
                           - _metric_xy(ce.geometry, epsg)[None, :, :], axis=2) * circuity
        cap = pd.to_numeric(ce["capacity_t"], errors="coerce").to_numpy(dtype=float)
        cap = np.where(np.isfinite(cap) & (cap > 0), cap, p.capacity_t)
        # per-county baseline: the centre each station's county plan sends it to
        key = {(cn, s): i for i, (cn, s) in enumerate(zip(ce["county"], ce["site_id"], strict=True))}
        base = np.array([key.get((cn, par), -1) for cn, par in
                         zip(st["county"], st["parent_id"], strict=True)], dtype=int)
        known = base >= 0
        base_transport = float(np.sum(p.rate_cny_per_tkm * w[known]
                                      * d[np.flatnonzero(known), base[known]] / 1000.0))
        base_cost = base_transport + p.fixed_cost_cny * len(np.unique(base[known]))
        model = StreamModel(name=sid, weights=w, coverage_target=1.0, coverage_on="weight",
                            tiers=(Tier(cost=d, capacity=cap, fixed_cost=p.fixed_cost_cny,
                                        rate_per_t_per_km=p.rate_cny_per_tkm),))
        try:
            sol = three_tier([model], time_limit_s=time_limit_s, solver=solver, seed=seed)
        except (InfeasibleError, SolverTimeout) as exc:
            rows.append(_row(sid, st, w, base, known, base_cost, np.nan, 0, -1,
                             f"failed: {type(exc).__name__}: {str(exc).splitlines()[0]}", np.nan))
            continue
        ss = sol.stream(sid)
        a = np.asarray(ss.assignment[0], dtype=int)
        load = np.asarray(ss.load_t[0], dtype=float)
        cross = (a >= 0) & (ce["county"].to_numpy()[np.maximum(a, 0)] != st["county"].to_numpy())
        link_frames.append(gpd.GeoDataFrame({
            "stream": sid, "from_county": st["county"].to_numpy(), "from_id": st["site_id"].to_numpy(),
            "to_county": ce["county"].to_numpy()[a], "to_id": ce["site_id"].to_numpy()[a],
            "mass_t": w, "dist_m": d[np.arange(len(st)), a].round(1),
            "county_to_id": np.where(known, ce["site_id"].to_numpy()[np.maximum(base, 0)], None),
            "cross_county": cross,
        }, geometry=[LineString([g1, g2]) for g1, g2 in
                     zip(st.geometry, ce.geometry.to_numpy()[a], strict=True)], crs=WGS84))
        op = np.flatnonzero(load > 0)
        centre_frames.append(gpd.GeoDataFrame({
            "stream": sid, "county": ce["county"].to_numpy()[op], "site_id": ce["site_id"].to_numpy()[op],
            "load_t": load[op].round(3), "capacity_t": cap[op],
            "utilisation": (load[op] / cap[op]).round(4),
        }, geometry=list(ce.geometry.to_numpy()[op]), crs=WGS84))
        rows.append(_row(sid, st, w, base, known, base_cost, sol.objective, int(cross.sum()),
                         len(op), sol.status, sol.gap))
    summary = pd.DataFrame(rows, columns=list(_ROW_COLS))
    links = (gpd.GeoDataFrame(pd.concat(link_frames, ignore_index=True), crs=WGS84) if link_frames
             else gpd.GeoDataFrame(geometry=[], crs=WGS84))
    centres = (gpd.GeoDataFrame(pd.concat(centre_frames, ignore_index=True), crs=WGS84)
               if centre_frames else gpd.GeoDataFrame(geometry=[], crs=WGS84))
    summary["distance_basis"] = f"straight line x {circuity:g} (no cross-county road graph)"
    return Tier3Result(summary=summary, links=links, centres=centres)


_ROW_COLS = ("stream", "n_stations", "mass_t", "n_centres_county", "n_centres_region",
             "cost_county_cny", "cost_region_cny", "saving_cny", "saving_share",
             "cross_county_links", "status", "gap")


def _row(sid: str, st: pd.DataFrame, w: np.ndarray, base: np.ndarray, known: np.ndarray,
         base_cost: float, region_cost: float, n_cross: int, n_open: int, status: str,
         gap: float) -> dict[str, Any]:
    saving = base_cost - region_cost if np.isfinite(region_cost) and known.all() else np.nan
    return {"stream": sid, "n_stations": len(st), "mass_t": round(float(w.sum()), 3),
            "n_centres_county": int(len(np.unique(base[known]))), "n_centres_region": n_open,
            "cost_county_cny": round(base_cost, 2),
            "cost_region_cny": round(float(region_cost), 2) if np.isfinite(region_cost) else np.nan,
            "saving_cny": round(float(saving), 2) if np.isfinite(saving) else np.nan,
            "saving_share": float(saving / base_cost) if np.isfinite(saving) and base_cost > 0 else np.nan,
            "cross_county_links": n_cross, "status": status, "gap": gap}
