"""The adapter between the geo layer and the siting core (what ``collection.py`` is for routing):
tables and GeoDataFrames in, the core's arrays out, and the core's indices back to site ids.

* :class:`Matrices` — the road costs between demands and candidates (:func:`travel_matrices`);
* :func:`build_stream_models` — one :class:`netplan.siting.StreamModel` per stream (cost arrays,
  capacities, annualised fixed costs, township rules, ``--fix`` masks);
* :func:`site` — run :func:`netplan.siting.three_tier` on them and map the solution back
  (:func:`layout_from_solution`; infeasibility reports name the village or farm);
* a hand-made layout table (:mod:`netplan.layout_io`) enters through :func:`merge_candidates`
  and :func:`layout_from_table`; ``plan --fix`` through :func:`fix_masks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.candidates import candidate_mask
from netplan.errors import InfeasibleError, InputError, Unservable
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import Scenario
from netplan.supply import Supply

Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    return None


@dataclass
class Matrices:
    """Road distances (m) between demands and candidates and among candidates; times on demand."""

    net: Any
    demands: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    dem_site_m: np.ndarray
    site_site_m: np.ndarray
    _times: dict[str, np.ndarray] = field(default_factory=dict)

    def site_site_frame(self) -> pd.DataFrame:
        """Road distances among candidates (m) labelled by site id (rows and columns)."""
        ids = self.sites["site_id"].to_numpy()
        return pd.DataFrame(self.site_site_m, index=ids, columns=ids)

    def site_site_s(self, vehicle: str) -> np.ndarray:
        """Travel time among candidates for ``vehicle`` (s)."""
        if vehicle not in self._times:
            self._times[vehicle] = self.net.distance_matrix(
                self.sites.geometry, self.sites.geometry, weight="time", vehicle=vehicle)
        return self._times[vehicle]


def travel_matrices(net: Any, supply: Supply, cands: gpd.GeoDataFrame, scenario: Scenario) -> Matrices:
    """Road distances demand → candidate and candidate → candidate, metres (inf = unreachable)."""
    dem = supply.demands
    d1 = net.distance_matrix(dem.geometry, cands.geometry, weight="length",
                             max_snap_m=scenario.max_snap_m)
    d2 = net.distance_matrix(cands.geometry, cands.geometry, weight="length",
                             max_snap_m=scenario.max_snap_m)
    return Matrices(net=net, demands=dem, sites=cands, dem_site_m=np.asarray(d1, dtype=float),
                    site_site_m=np.asarray(d2, dtype=float))


def merge_candidates(cands: gpd.GeoDataFrame, table: gpd.GeoDataFrame, county: County
                     ) -> gpd.GeoDataFrame:
    """The candidates plus the layout's sites that are not candidates yet (kind ``layout``).

    A layout site whose id is a candidate's keeps that candidate's kind; its status, capacity and
    (when the table moves it) location come from the layout. New sites get their township from the
    township polygons. Unknown ids, new or moved sites outside the county are refused first
    (:func:`netplan.inputs.layouts.check_layout_sites`).
    """
    from netplan.inputs.layouts import check_layout_sites

    moves = check_layout_sites(cands, table, county)
    out = cands.copy()
    if moves:  # a known site whose lon/lat the table changed is moved there (README)
        out["geometry"] = gpd.GeoSeries([moves.get(str(s), g) for s, g in
                                         zip(out["site_id"], out.geometry, strict=True)],
                                        index=out.index, crs=out.crs)
        mv = out["site_id"].astype(str).isin(list(moves)).to_numpy()
        towns = county.townships[["township_code", "geometry"]]
        j = gpd.sjoin(out.loc[mv, ["geometry"]], towns, how="left", predicate="within")
        j = j[~j.index.duplicated()]
        out.loc[mv, "township_code"] = j["township_code"].fillna("").astype(str).to_numpy()
    known = set(out["site_id"])
    per_site = _one_row_per_site(table)
    new = per_site[~per_site["site_id"].isin(known)]
    if len(new):
        towns = county.townships[["township_code", "geometry"]]
        j = gpd.sjoin(new[["site_id", "geometry"]], towns, how="left", predicate="within")
        j = j[~j.index.duplicated()]
        add = gpd.GeoDataFrame({
            "site_id": new["site_id"].to_numpy(), "name": new["name"].to_numpy(), "kind": "layout",
            "township_code": j["township_code"].fillna("").astype(str).to_numpy(),
            "status": new["status"].to_numpy(), "streams": new["streams"].to_numpy(),
            "tiers": new["tier"].to_numpy(),
            "capacity_t": pd.to_numeric(new["capacity_t"], errors="coerce").astype(float).to_numpy(),
        }, geometry=list(new.geometry), crs=out.crs)
        out = pd.concat([out, add], ignore_index=True)
    upd = per_site.set_index("site_id")
    m = out["site_id"].isin(upd.index) & ~out["site_id"].isin(new["site_id"])
    cap = pd.to_numeric(upd["capacity_t"], errors="coerce").astype(float)
    ids = out.loc[m, "site_id"]
    out.loc[m, "status"] = ids.map(upd["status"]).where(ids.map(upd["status"]) != "closed",
                                                        out.loc[m, "status"]).to_numpy()
    out.loc[m, "capacity_t"] = np.where(np.isfinite(ids.map(cap).to_numpy(dtype=float)),
                                        ids.map(cap).to_numpy(dtype=float),
                                        out.loc[m, "capacity_t"].to_numpy(dtype=float))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=cands.crs)


def _one_row_per_site(table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The layout table with the rows of one site (one per tier) folded into one: its first row's
    point and name, the status of its first row that is not ``closed`` (else ``closed``), the first
    numeric capacity (t/yr), and its streams and tiers as ``;``-lists."""
    if not table["site_id"].duplicated().any():
        return table
    rows = []
    for _, g in table.groupby("site_id", sort=False):
        r = g.iloc[0].copy()
        open_ = g[g["status"] != "closed"]
        r["status"] = open_["status"].iloc[0] if len(open_) else "closed"
        cap = pd.to_numeric(g["capacity_t"], errors="coerce").astype(float)
        r["capacity_t"] = cap[np.isfinite(cap)].iloc[0] if np.isfinite(cap).any() else np.nan
        r["streams"] = ";".join(dict.fromkeys(s for x in g["streams"] for s in str(x).split(";")))
        r["tier"] = ";".join(dict.fromkeys(g["tier"]))
        rows.append(r)
    crs = getattr(table, "crs", None) or "EPSG:4326"
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).reset_index(drop=True)


def fix_masks(cands: pd.DataFrame, fix: pd.DataFrame | None, stream: str, tier: str
              ) -> tuple[np.ndarray, np.ndarray]:
    """For ``netplan plan --fix``: which candidates the layout keeps open (existing/new) and which it
    forbids (closed) for ``stream`` at ``tier``; boolean masks over ``cands``."""
    n = len(cands)
    if fix is None or len(fix) == 0:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    f = fix[(fix["tier"] == tier) & fix["streams"].str.split(";").apply(lambda xs: stream in xs)]
    ids = cands["site_id"].to_numpy()
    keep = np.isin(ids, f.loc[f["status"] != "closed", "site_id"].to_numpy())
    closed = np.isin(ids, f.loc[f["status"] == "closed", "site_id"].to_numpy())
    return keep, closed


def _township_index(codes: pd.Series, townships: gpd.GeoDataFrame, farming_only: bool) -> np.ndarray:
    """Township group per candidate (index into townships), -1 where rules do not apply."""
    order = {c: i for i, c in enumerate(townships["township_code"].astype(str))}
    farming = dict(zip(townships["township_code"].astype(str),
                       townships["farming"].astype(bool), strict=True))
    out = np.array([order.get(c, -1) for c in codes.astype(str)], dtype=int)
    if farming_only:
        out = np.array([g if g >= 0 and farming.get(c, False) else -1
                        for g, c in zip(out, codes.astype(str), strict=True)], dtype=int)
    return out


def build_stream_models(scenario: Scenario, county: County, supply: Supply, cands: gpd.GeoDataFrame,
                        mats: Matrices, fix: Any = None) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """Turn tables into the siting core's arrays: one StreamModel per stream, and index maps back.

    ``fix`` (a layout table, netplan.layout_io) keeps its open sites open and its closed ones forbidden.
    """
    from netplan.siting import StreamModel, Tier

    models: list[Any] = []
    index: dict[str, dict[str, Any]] = {}
    dem = supply.demands
    for sid, sp in scenario.streams.items():
        w = supply.mass_t_yr(sid)
        dem_idx = np.flatnonzero(w > 0)
        if len(dem_idx) == 0:
            continue
        tier_idx: dict[str, np.ndarray] = {}
        tiers = []
        prev_rows: np.ndarray | None = None
        for t in TIERS:
            tp = sp.tiers[t]
            keep, closed = fix_masks(cands, fix, sid, t)
            cidx = np.flatnonzero(candidate_mask(cands, sid, t, tp) | keep)
            if len(cidx) == 0:
                msg = (f"no candidate site for {sid} at tier {t}: none of the kinds "
                       f"{', '.join(tp.candidates)} occurs in the county folder")
                raise InputError(msg, file=str(scenario.path), field=f"streams.{sid}.{t}.candidates")
            tier_idx[t] = cidx
            if prev_rows is None:
                cost = mats.dem_site_m[np.ix_(dem_idx, cidx)]
            else:
                cost = mats.site_site_m[np.ix_(prev_rows, cidx)]
            sub = cands.iloc[cidx]
            existing = (sub["status"] == "existing").to_numpy()
            forced = (existing if tp.keep_existing else np.zeros(len(cidx), dtype=bool)) | keep[cidx]
            fixed = np.array([tp.annual_cost_cny(scenario.discount_rate, existing=e,
                                                 existing_capex_share=scenario.existing_capex_share)
                              for e in existing])
            cap = sub["capacity_t"].to_numpy(dtype=float)
            cap = np.where(np.isfinite(cap), cap, tp.capacity_t)
            group = _township_index(sub["township_code"], county.townships, tp.only_farming)
            ngroups = len(county.townships)
            tiers.append(Tier(
                cost=cost, capacity=cap, fixed_cost=fixed, radius=tp.radius_m,
                rate_per_t_per_km=tp.rate_cny_per_tkm, site=cidx.copy(),
                force_open=np.flatnonzero(forced) if forced.any() else None,
                forbidden=np.flatnonzero(closed[cidx]) if closed[cidx].any() else None,
                group=group if (tp.min_per_township or tp.max_per_township) else None,
                min_per_group=_group_rule(tp.min_per_township, group, ngroups),
                max_per_group=tp.max_per_township,
            ))
            prev_rows = cidx
        count_mask = (dem["kind"].to_numpy()[dem_idx] == "village")
        models.append(StreamModel(
            name=sid, weights=w[dem_idx], tiers=tuple(tiers),
            coverage_target=sp.coverage_target, coverage_on=sp.coverage_on,
            count_mask=count_mask, unserved_penalty_per_t=sp.unserved_penalty_cny_per_t,
        ))
        index[sid] = {"demands": dem_idx, "tiers": tier_idx}
    return models, index


def _group_rule(value: int | None, group: np.ndarray, ngroups: int) -> np.ndarray | None:
    """Per-group minimum that applies only to groups that have a candidate (others get 0)."""
    if not value:
        return None
    present = np.zeros(ngroups, dtype=int)
    present[np.unique(group[group >= 0])] = value
    return present


def site(scenario: Scenario, county: County, supply: Supply, cands: gpd.GeoDataFrame,
         mats: Matrices, *, progress: Progress = _noop, fix: Any = None,
         start: Layout | None = None) -> Layout:
    """Siting of all tiers of all streams in one three-tier model (shared sites pay once).

    ``start`` (a Layout on the same candidates, e.g. the plan of a neighbouring target in a
    sweep) warm-starts the solve: each stream's sites and assignments that form a feasible plan
    of this scenario's model start its block (``three_tier(start=...)``); the rest are ignored.
    """
    from netplan.siting import three_tier

    models, index = build_stream_models(scenario, county, supply, cands, mats, fix)
    relaxed: dict[str, Any] = {}
    if scenario.unreachable == "relax":
        models, relaxed = relax_models(models, index, supply, progress)
    share = [g for groups in scenario.sharing.values() for g in groups]
    progress(f"siting {len(models)} streams (three-tier MIP, {scenario.solver}, "
             f"limit {scenario.time_limit_s:.0f} s)")
    warm = None if start is None else start_plans(start, models, index, cands, supply)
    try:
        sol = three_tier(models, share=tuple(share), time_limit_s=scenario.time_limit_s,
                         solver=scenario.solver, seed=scenario.seed, start=warm,
                         coverage_backoff=BACKOFF_STEP if scenario.unreachable == "relax" else 0.0)
    except InfeasibleError as exc:
        raise _named(exc, index, supply) from None
    layout = layout_from_solution(sol, models, index, cands, supply, mats, scenario)
    asked = {sid: sp.coverage_target for sid, sp in scenario.streams.items()}
    for sid, (r, names) in relaxed.items():
        d = layout.solve.setdefault(sid, {})
        d["coverage_planned"] = r.planned
        d["relaxed"] = r.summary()
        d["left_out"] = "; ".join(names)
    target_of = {m.name: m.coverage_target for m in models}
    for b in sol.blocks:   # targets the back-off lowered further (capacities x single sourcing)
        for sid, t in zip(b.streams, b.targets, strict=False):
            if t < target_of[sid] - 1e-12:
                d = layout.solve.setdefault(sid, {})
                d["coverage_planned"] = t
                d["relaxed"] = "; ".join(x for x in (d.get("relaxed"), (
                    f"no plan holds coverage {target_of[sid]:.1%} with single-sourced sites of these "
                    f"capacities: planned for {t:.1%}")) if x)
    for sid, d in layout.solve.items():
        if not d.get("worth") or "coverage_planned" not in d:
            continue
        if d["coverage_planned"] < asked[sid] - 1e-9:
            d["worth"] = (f"{d['worth']}; coverage planned for {d['coverage_planned']:.1%} "
                          f"(target {asked[sid]:.1%} not reachable)")
        elif relaxed.get(sid) and relaxed[sid][0].modular:
            d["worth"] = f"{d['worth']}; points of several units for villages heavier than one point"
    return layout


#: coverage back-off step of ``unreachable = "relax"``: a block proven infeasible (single sourcing
#: against capacities) is solved again with its coverage targets this much lower
#: (``three_tier(coverage_backoff=...)``; E: a planning step of 2 percentage points)
BACKOFF_STEP = 0.02


def relax_models(models: list[Any], index: dict[str, dict[str, Any]], supply: Supply,
                 progress: Progress = _noop) -> tuple[list[Any], dict[str, Any]]:
    """Each stream's coverage target lowered to what lies within reach (``scenario.unreachable =
    "relax"``, :func:`netplan.siting.relax.relax_unreachable`); per relaxed stream its
    :class:`~netplan.siting.relax.Relaxation` and the demands left out, named (id, name, why)."""
    from netplan.siting.relax import relax_unreachable

    dem = supply.demands
    out_models, relaxed = [], {}
    for m in models:
        m2, r = relax_unreachable(m)
        out_models.append(m2)
        if r is None:
            continue
        g = index[m.name]["demands"]
        names = [f"{dem['kind'].iloc[g[i]]} {dem['demand_id'].iloc[g[i]]} {dem['name'].iloc[g[i]]} ({why})"
                 for i, why in zip(r.left_out, r.reasons, strict=True)]
        relaxed[m.name] = (r, names)
        progress(f"warning: {m.name}: {r.summary()}")
    return out_models, relaxed


def start_plans(layout: Layout, models: list[Any], index: dict[str, dict[str, Any]],
                cands: gpd.GeoDataFrame, supply: Supply) -> dict[str, Any]:
    """Per stream, a layout's open sites and assignments as a plan over the models' candidates
    (``_tt_plan.StreamPlan``; for ``three_tier(start=...)``). Streams the layout does not plan,
    or whose sites are not candidates of their tier, are left out."""
    from netplan.siting._tt_plan import StreamPlan

    pos_of_id = {sid: k for k, sid in enumerate(cands["site_id"].to_numpy())}
    dem_pos = {d: k for k, d in enumerate(supply.demands["demand_id"].to_numpy())}
    out: dict[str, Any] = {}
    for m in models:
        sid = m.name
        sites = layout.sites[layout.sites["stream"] == sid] if len(layout.sites) else layout.sites
        if len(sites) == 0:
            continue
        local = [{int(g): j for j, g in enumerate(index[sid]["tiers"][t])} for t in TIERS]
        opens = [np.zeros(len(index[sid]["tiers"][t]), dtype=bool) for t in TIERS]
        assigns = [np.full(len(index[sid]["demands"]), -1, dtype=int)]
        assigns += [np.full(len(index[sid]["tiers"][t]), -1, dtype=int) for t in TIERS[:-1]]
        try:
            for row in sites.itertuples(index=False):
                ti = TIERS.index(row.tier)
                j = local[ti][pos_of_id[row.site_id]]
                opens[ti][j] = True
                if ti + 1 < len(TIERS) and pd.notna(row.parent_id):
                    assigns[ti + 1][j] = local[ti + 1][pos_of_id[row.parent_id]]
            dem_local = {int(g): k for k, g in enumerate(index[sid]["demands"])}
            dp = layout.demand_point[layout.demand_point["stream"] == sid]
            for d, p in zip(dp["demand_id"], dp["point_id"], strict=True):
                if pd.notna(p) and d in dem_pos and dem_pos[d] in dem_local:
                    assigns[0][dem_local[dem_pos[d]]] = local[0][pos_of_id[p]]
        except (KeyError, ValueError):
            continue   # a site that is no candidate of its tier: no start for this stream
        out[sid] = StreamPlan(opens, assigns, None)
    return out


def _named(exc: InfeasibleError, index: dict[str, dict[str, Any]], supply: Supply) -> InfeasibleError:
    """Replace the core's 'stream demand i' labels with the village or farm id and name."""
    dem = supply.demands
    out = []
    for u in exc.unservable:
        label = u.label or ""
        stream, _, rest = label.partition(" demand ")
        if rest.isdigit() and stream in index:
            g = int(index[stream]["demands"][int(rest)])
            label = f"{stream}: {dem['kind'].iloc[g]} {dem['demand_id'].iloc[g]} {dem['name'].iloc[g]}"
        out.append(Unservable(u.index, u.reason, label=label))
    first = str(exc).splitlines()[0]
    return InfeasibleError(first, unservable=out)


def layout_from_solution(sol: Any, models: list[Any], index: dict[str, dict[str, Any]],
                         cands: gpd.GeoDataFrame, supply: Supply, mats: Matrices,
                         scenario: Scenario) -> Layout:
    """Map the core's candidate indices back to site ids."""
    site_rows: list[dict[str, Any]] = []
    dp_rows: list[dict[str, Any]] = []
    solve: dict[str, dict[str, Any]] = {}
    ids = cands["site_id"].to_numpy()
    dem_ids = supply.demands["demand_id"].to_numpy()
    for m in models:
        sid = m.name
        ss = sol.stream(sid)
        tier_idx = index[sid]["tiers"]
        dem_idx = index[sid]["demands"]
        # parent of each open site: assignment of tier t candidates to tier t+1 candidates
        for ti, t in enumerate(TIERS):
            cidx = tier_idx[t]
            open_local = np.asarray(ss.open[ti], dtype=int)
            parent = None
            if ti + 1 < len(TIERS):
                parent = np.asarray(ss.assignment[ti + 1], dtype=int)
            for j in open_local:
                g = cidx[j]
                par = None
                if parent is not None and parent[j] >= 0:
                    par = ids[tier_idx[TIERS[ti + 1]][parent[j]]]
                # the model's capacity: the site's own, else the scenario's; a village point built
                # as several units (siting.relax.modular_points) carries their sum
                cap = np.broadcast_to(np.asarray(m.tiers[ti].capacity, dtype=float), (len(cidx),))[j]
                site_rows.append({
                    "site_id": ids[g], "stream": sid, "tier": t,
                    "status": cands["status"].iloc[g],
                    "capacity_t": float(cap) if np.isfinite(cap) else scenario.streams[sid].tiers[t].capacity_t,
                    "parent_id": par,
                })
        a = np.asarray(ss.assignment[0], dtype=int)
        c1 = tier_idx[TIERS[0]]
        for k, d in enumerate(dem_idx):
            if a[k] >= 0:
                g = c1[a[k]]
                dp_rows.append({"stream": sid, "demand_id": dem_ids[d], "point_id": ids[g],
                                "dist_m": float(mats.dem_site_m[d, g])})
            else:
                dp_rows.append({"stream": sid, "demand_id": dem_ids[d], "point_id": None,
                                "dist_m": np.nan})
        blk = next((b for b in sol.blocks if sid in b.streams), None)
        # the stream's own model (streams sharing sites are one model) and the whole model
        solve[sid] = {"status": sol.status, "objective": sol.objective, "bound": sol.bound,
                      "gap": sol.gap, "solve_time_s": sol.solve_time_s}
        if blk is not None:
            solve[sid] = {"block": "+".join(blk.streams), "status": blk.status,
                          "objective": blk.objective, "bound": blk.bound, "gap": blk.gap,
                          "solve_time_s": blk.solve_time_s, "model_status": sol.status,
                          "model_objective": sol.objective, "model_bound": sol.bound,
                          "model_gap": sol.gap, "model_solve_time_s": sol.solve_time_s,
                          "worth": _worth(blk.status, blk.gap)}
    return Layout(sites=pd.DataFrame(site_rows), demand_point=pd.DataFrame(dp_rows),
                  source="optimised", solve=solve)


def _worth(status: str, gap: float) -> str:
    from netplan.siting.solution import plan_worth
    return plan_worth(status, gap)


def capacity_of(cell: object, stream: str) -> float:
    """Capacity (t/yr) a layout table's ``capacity_t`` cell gives ``stream``; NaN = scenario default."""
    if isinstance(cell, str):
        if "=" in cell:
            pairs = dict(x.split("=", 1) for x in cell.split(";") if "=" in x)
            return float(pairs[stream]) if stream in pairs else np.nan
        return float(pd.to_numeric(cell, errors="coerce"))
    return float(cell) if cell is not None else np.nan


def parent_of(cell: object, stream: str) -> str | None:
    """The parent a layout table's ``parent_id`` cell names for ``stream``: the cell itself, or the
    ``stream=id`` entry of a ``;``-list when the streams of one site send to different sites."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    if "=" not in cell:
        return cell.strip()
    pairs = dict(x.split("=", 1) for x in cell.split(";") if "=" in x)
    v = pairs.get(stream)
    return v.strip() if v else None


def _open_rows(table: pd.DataFrame, stream: str, tier: str) -> pd.DataFrame:
    has = table["streams"].str.split(";").map(lambda xs: stream in xs).astype(bool)
    return table[(table["status"] != "closed") & (table["tier"] == tier) & has]


def _nearest(dist: np.ndarray, radius: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Column of the nearest finite entry per row (−1 if none or beyond ``radius``) and its distance."""
    if dist.shape[1] == 0:
        return np.full(dist.shape[0], -1), np.full(dist.shape[0], np.nan)
    d = np.where(np.isfinite(dist), dist, np.inf)
    j = np.argmin(d, axis=1)
    best = d[np.arange(len(d)), j]
    ok = np.isfinite(best) & (best <= (radius if radius is not None else np.inf))
    return np.where(ok, j, -1), np.where(ok, best, np.nan)


def layout_from_table(table: gpd.GeoDataFrame, scenario: Scenario, supply_demands: pd.DataFrame,
                      cands: gpd.GeoDataFrame, dem_site_m: np.ndarray, site_site_m: np.ndarray,
                      *, source: str = "hand-made") -> Layout:
    """Turn a layout table into a Layout: open sites per stream and tier, each demand assigned to the
    nearest open village point of its stream within the tier-1 radius (road metres), each site to its
    ``parent_id`` or else the nearest open next-tier site within that tier's radius.

    ``cands`` must contain every table site (see :func:`merge_candidates`); the matrices are indexed
    like ``supply_demands`` × ``cands`` and ``cands`` × ``cands``.
    """
    pos = {s: i for i, s in enumerate(cands["site_id"])}
    site_rows, dp_rows = [], []
    dem_ids = supply_demands["demand_id"].to_numpy()
    for sid, sp in scenario.streams.items():
        w = supply_demands[f"{sid}_t_yr"].to_numpy(dtype=float)
        tiers = {t: _open_rows(table, sid, t) for t in TIERS}
        parents: dict[tuple[str, str], str | None] = {}  # (site, tier): one site may be at two
        for ti in range(len(TIERS) - 1):
            here, up = tiers[TIERS[ti]], tiers[TIERS[ti + 1]]
            up_ids = up["site_id"].tolist()
            if len(here) == 0:
                continue
            d = site_site_m[np.ix_([pos[s] for s in here["site_id"]], [pos[s] for s in up_ids])] \
                if up_ids else np.zeros((len(here), 0))
            j, _ = _nearest(d, sp.tiers[TIERS[ti + 1]].radius_m)
            for k, r in enumerate(here.itertuples(index=False)):
                given = parent_of(r.parent_id, sid)
                key = (r.site_id, TIERS[ti])
                if given is not None and given in up_ids:
                    parents[key] = given
                else:
                    parents[key] = up_ids[j[k]] if j[k] >= 0 else None
        for t in TIERS:
            for r in tiers[t].itertuples(index=False):
                cap = capacity_of(r.capacity_t, sid)
                cap = cap if np.isfinite(cap) else sp.tiers[t].capacity_t
                site_rows.append({"site_id": r.site_id, "stream": sid, "tier": t, "status": r.status,
                                  "capacity_t": cap, "parent_id": parents.get((r.site_id, t))})
        pts = tiers["village_point"]["site_id"].tolist()
        d = dem_site_m[:, [pos[s] for s in pts]] if pts else np.zeros((len(dem_ids), 0))
        j, dist = _nearest(d, sp.tiers["village_point"].radius_m)
        for k in np.flatnonzero(w > 0):
            dp_rows.append({"stream": sid, "demand_id": dem_ids[k],
                            "point_id": pts[j[k]] if j[k] >= 0 else None,
                            "dist_m": float(dist[k]) if j[k] >= 0 else np.nan})
    return Layout(sites=pd.DataFrame(site_rows, columns=["site_id", "stream", "tier", "status",
                                                         "capacity_t", "parent_id"]),
                  demand_point=pd.DataFrame(dp_rows, columns=["stream", "demand_id", "point_id",
                                                              "dist_m"]),
                  source=source)
