"""The pipeline: load → estimate → travel costs → siting → routing → evaluation.

Each stage is a function of plain data; see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.candidates import build_candidates, candidate_mask
from netplan.errors import InfeasibleError, InputError, Unservable
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import Scenario
from netplan.streams import load_coefficients
from netplan.supply import Supply, estimate

Progress = Callable[[str], None]


@dataclass
class Matrices:
    """Road distances (m) between demands and candidates and among candidates; times on demand."""

    net: Any
    demands: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    dem_site_m: np.ndarray
    site_site_m: np.ndarray
    _times: dict[str, np.ndarray] = field(default_factory=dict)

    def site_site_s(self, vehicle: str) -> np.ndarray:
        """Travel time among candidates for ``vehicle`` (s)."""
        if vehicle not in self._times:
            self._times[vehicle] = self.net.distance_matrix(
                self.sites.geometry, self.sites.geometry, weight="time", vehicle=vehicle)
        return self._times[vehicle]


@dataclass
class Plan:
    """Everything a run produced, and the inputs that made it."""

    scenario: Scenario
    county: County
    supply: Supply
    candidates: gpd.GeoDataFrame
    layout: Layout
    routes: gpd.GeoDataFrame
    kpis: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    network_label: str
    crow_fly: bool
    matrices: Matrices | None = None
    costs: pd.DataFrame | None = None
    evaluation: Any = None   # netplan.evaluate.Evaluation (township, cost and transport tables)


def _noop(msg: str) -> None:
    return None


def load_inputs(scenario: Scenario) -> County:
    """Read the scenario's county folder."""
    from netplan.inputs import load_county

    return load_county(scenario.county_dir, columns=scenario.columns or None)


def road_network(scenario: Scenario, county: County) -> Any:
    """The road network the scenario asks for (its file, the county's, or the crow-fly fallback)."""
    from netplan.roads import RoadNetwork

    path = scenario.roads_file or county.roads_path
    if scenario.crow_fly or path is None:
        return RoadNetwork.crow_fly(circuity=scenario.circuity)
    boundary = county.boundary.geometry.union_all()
    return RoadNetwork.from_file(path, boundary=boundary)


def travel_matrices(net: Any, supply: Supply, cands: gpd.GeoDataFrame, scenario: Scenario) -> Matrices:
    """Road distances demand → candidate and candidate → candidate, metres (inf = unreachable)."""
    dem = supply.demands
    d1 = net.distance_matrix(dem.geometry, cands.geometry, weight="length",
                             max_snap_m=scenario.max_snap_m)
    d2 = net.distance_matrix(cands.geometry, cands.geometry, weight="length",
                             max_snap_m=scenario.max_snap_m)
    return Matrices(net=net, demands=dem, sites=cands, dem_site_m=np.asarray(d1, dtype=float),
                    site_site_m=np.asarray(d2, dtype=float))


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
    from netplan.layout_io import fix_masks
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
         mats: Matrices, *, progress: Progress = _noop, fix: Any = None) -> Layout:
    """Siting of all tiers of all streams in one three-tier model (shared sites pay once)."""
    from netplan.siting import three_tier

    models, index = build_stream_models(scenario, county, supply, cands, mats, fix)
    share = [g for groups in scenario.sharing.values() for g in groups]
    progress(f"siting {len(models)} streams (three-tier MIP, {scenario.solver}, "
             f"limit {scenario.time_limit_s:.0f} s)")
    try:
        sol = three_tier(models, share=tuple(share), time_limit_s=scenario.time_limit_s,
                         solver=scenario.solver, seed=scenario.seed)
    except InfeasibleError as exc:
        raise _named(exc, index, supply) from None
    return layout_from_solution(sol, models, index, cands, supply, mats, scenario)


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
                cap = cands["capacity_t"].iloc[g]
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
                          "model_gap": sol.gap, "model_solve_time_s": sol.solve_time_s}
    return Layout(sites=pd.DataFrame(site_rows), demand_point=pd.DataFrame(dp_rows),
                  source="optimised", solve=solve)


def check_reachable(supply: Supply, mats: Matrices, scenario: Scenario) -> None:
    """Raise InfeasibleError naming the demands that no candidate can reach by road."""
    bad = ~np.isfinite(mats.dem_site_m).any(axis=1)
    w_any = np.zeros(len(supply.demands), dtype=bool)
    for s in scenario.stream_ids:
        w_any |= supply.mass_t_yr(s) > 0
    bad &= w_any
    if bad.any():
        ids = supply.demands["demand_id"].to_numpy()
        msg = "some villages or farms cannot reach any candidate site on the road network"
        raise InfeasibleError(msg, unservable=[
            Unservable(int(i), "not connected to the road network within the snap distance",
                       label=str(ids[i])) for i in np.flatnonzero(bad)])


def estimate_supply(scenario: Scenario, county: County) -> Supply:
    """Generation per demand point per stream."""
    coef = load_coefficients(overrides=scenario.coefficients)
    return estimate(county, coef, scenario.stream_ids)


def run_plan(scenario: Scenario, *, progress: Progress = _noop, layout: Layout | None = None,
             layout_table: Any = None, fix: Any = None) -> Plan:
    """Run the whole pipeline for ``scenario`` (or score a given ``layout``) and return the Plan.

    ``layout_table`` (netplan.layout_io.read_layout) is a hand-made layout to score instead of
    optimising; ``fix`` is one whose sites stay fixed open (or forbidden, status closed) while the
    rest is optimised.

    Writes nothing; see :func:`netplan.runfolder.write_run`.
    """
    from netplan.collection import plan_routes
    from netplan.evaluate import evaluate
    from netplan.layers import build_layers

    progress(f"reading county folder {scenario.county_dir}")
    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    tot = supply.totals()
    progress("generation: " + ", ".join(f"{k} {v:,.0f} t/yr" for k, v in tot.items()))
    cands = build_candidates(county)
    if layout_table is not None or fix is not None:
        from netplan.layout_io import merge_candidates

        cands = merge_candidates(cands, layout_table if layout_table is not None else fix, county)
    net = road_network(scenario, county)
    progress(f"road network: {net.label}")
    mats = travel_matrices(net, supply, cands, scenario)
    progress(f"travel distances: {mats.dem_site_m.shape[0]} demands × {mats.dem_site_m.shape[1]} sites")
    check_reachable(supply, mats, scenario)
    if layout is None and layout_table is not None:
        from netplan.layout_io import layout_from_table

        layout = layout_from_table(layout_table, scenario, supply.demands, cands, mats.dem_site_m,
                                   mats.site_site_m)
    if layout is None:
        layout = site(scenario, county, supply, cands, mats, progress=progress, fix=fix)
    ids = cands["site_id"].to_numpy()
    ss = pd.DataFrame(mats.site_site_m, index=ids, columns=ids)
    ev = evaluate(scenario, county, supply, layout, ss)
    progress("routing collection rounds and haulage")
    routes = plan_routes(scenario, layout, ev, cands, mats.site_site_m, mats.site_site_s, net,
                         progress=progress)
    kpis = _with_route_kpis(ev.kpis, routes, scenario)
    from netplan.evaluate import with_route_co2

    kpis = with_route_co2(kpis, routes, ev.transport)
    layers = build_layers(county, supply, layout, ev, cands, routes, scenario.stream_ids)
    return Plan(scenario=scenario, county=county, supply=supply, candidates=cands, layout=layout,
                routes=routes, kpis=kpis, layers=layers, network_label=net.label,
                crow_fly=bool(getattr(net, "is_crow_fly", False)), matrices=mats, costs=ev.costs,
                evaluation=ev)


def _with_route_kpis(kpis: pd.DataFrame, routes: gpd.GeoDataFrame, scenario: Scenario) -> pd.DataFrame:
    """Add vehicle-km per year of collection rounds and haulage to the KPI table."""
    rows = []
    for sid in scenario.stream_ids:
        r = routes[routes["stream"] == sid] if len(routes) else routes
        for kind, label in (("collection", "收运里程"), ("haulage", "转运里程")):
            rk = r[r["kind"] == kind] if len(r) else r
            km = float((rk["distance_m"] * rk["trips_per_year"]).sum() / 1000.0) if len(rk) else 0.0
            rows.append({"stream": sid, "indicator": f"{kind}_vehicle_km_yr", "value": round(km, 3),
                         "target": None, "met": None, "unit": "km/yr", "label_zh": label})
    return pd.concat([kpis, pd.DataFrame(rows)], ignore_index=True)


def write_plan(plan: Plan, out_dir: Any, *, maps: bool = True, background: str = "offline") -> list[Any]:
    """Write the plan's run folder (:func:`netplan.runfolder.write_run`)."""
    from netplan.runfolder import write_run

    return write_run(plan, out_dir, maps=maps, background=background)
