"""The studio's slow figures, computed in the background (:mod:`netplan.studio.jobs`) after the fast
evaluation has answered:

- :func:`routed`: the collection rounds and haulage trips of a layout
  (:func:`netplan.collection.plan_routes`, as ``netplan plan`` and ``netplan evaluate`` route them)
  and the KPI rows that depend on them — the routed vehicle-km and CO2, and the transport CO2 and
  vehicle-km that then replace the straight estimate;
- :func:`compare_with`: the layout and a reference plan written as run folders and set side by side
  by the existing compare view (:func:`netplan.compare.write_compare`: compare.html and
  compare_map.html, two synchronised maps).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

# imported here, not in the functions: the jobs run in children forked from a threaded server, where
# an import could wait forever on a lock another thread held at the fork
import netplan.costs  # noqa: F401  (imported by with_route_co2)
import netplan.export  # noqa: F401  (imported by write_run)
import netplan.maps  # noqa: F401  (imported by write_run and write_compare)
import netplan.plan_tables  # noqa: F401  (imported by evaluate)
import netplan.report  # noqa: F401  (imported by write_run)
import netplan.routing  # noqa: F401  (imported by plan_routes)
import netplan.routing._hetero  # noqa: F401  (imported by plan_rounds)
import netplan.routing.cvrp  # noqa: F401  (imported by plan_rounds)
import netplan.siting  # noqa: F401  (imported by the siting of a re-optimisation)
from netplan.collection import plan_routes
from netplan.compare import compare_runs, write_compare
from netplan.evaluate import evaluate, with_route_co2
from netplan.layers import build_layers
from netplan.planner import Plan, with_route_kpis
from netplan.runfolder import write_run
from netplan.siting_adapter import layout_from_table
from netplan.studio.model import NEEDS_ROUTES, Geo, Prepared, json_value

#: KPI rows the routes change: the pending ones, plus the transport totals they replace
ROUTED = (*NEEDS_ROUTES, "transport_co2_kg_yr", "vehicle_km_yr")
#: route lines on the studio map are simplified by this much (degrees, ~2 m, as the static maps)
SIMPLIFY_DEG = 2e-5


def full_plan(prep: Prepared, geo: Geo, table: pd.DataFrame, *, detail: bool = True,
              layers: bool = True, progress: Callable[[str], None] = lambda m: None) -> Any:
    """A :class:`netplan.planner.Plan` of a layout table on the prepared matrices: the evaluation,
    the collection rounds and haulage, the routed KPIs (as ``netplan evaluate`` computes them)."""
    sc = prep.scenario
    layout = layout_from_table(table, sc, prep.supply.demands, geo.cands, geo.mats.dem_site_m,
                               geo.mats.site_site_m, source="studio")
    ev = evaluate(sc, prep.county, prep.supply, layout, geo.site_frame, detail=detail)
    progress("routing collection rounds and haulage")
    routes = plan_routes(sc, layout, ev, geo.cands, geo.mats.site_site_m, geo.mats.site_site_s,
                         geo.mats.net, progress=progress)
    kpis = with_route_co2(with_route_kpis(ev.kpis, routes, sc), routes, ev.transport)
    lay = (build_layers(prep.county, prep.supply, layout, ev, geo.cands, routes, sc.stream_ids)
           if layers else {})
    net = geo.mats.net
    return Plan(scenario=sc, county=prep.county, supply=prep.supply, candidates=geo.cands,
                layout=layout, routes=routes, kpis=kpis, layers=lay, network_label=net.label,
                crow_fly=bool(getattr(net, "is_crow_fly", False)), matrices=geo.mats,
                costs=ev.costs, evaluation=ev)


def routed(prep: Prepared, geo: Geo, table: pd.DataFrame, *,
           progress: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """The routed KPI rows (:data:`ROUTED`, per stream and for the county) and the route lines
    (``[[lat, lon], ...]``, simplified) of a layout table."""
    plan = full_plan(prep, geo, table, detail=False, layers=False, progress=progress)
    k = plan.kpis[plan.kpis["indicator"].isin(ROUTED)]
    rows = [{c: json_value(r[c]) for c in k.columns} for r in k.to_dict("records")]
    lines = []
    r = plan.routes
    for x in r.itertuples(index=False) if len(r) else []:
        g = shapely.simplify(x.geometry, SIMPLIFY_DEG, preserve_topology=False)
        coords = shapely.get_coordinates(g)
        lines.append({"stream": x.stream, "kind": x.kind, "route_id": x.route_id,
                      "station_id": x.station_id, "trips_per_year": float(x.trips_per_year),
                      "distance_m": float(x.distance_m),
                      "coords": [[round(float(b), 5), round(float(a), 5)] for a, b in coords]})
    return {"kpis": rows, "routes": lines}


def compare_with(prep: Prepared, geo: Geo, table: pd.DataFrame, start: pd.DataFrame,
                 reference: Path | None, out: Path, *,
                 progress: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Write the layout as run folder ``out/studio-layout`` and compare it with ``reference`` (a run
    folder: the optimal plan) or, without one, with the starting layout written as
    ``out/studio-start``; the compare view goes to ``out/compare``. Returns its file names."""
    out = Path(out)
    runs = []
    if reference is None:
        progress("the starting layout as a run folder (no optimal plan run to compare with)")
        reference = out / "studio-start"
        write_run(full_plan(prep, geo, start, progress=progress), reference, maps=False)
    runs.append(Path(reference))
    progress("the studio layout as a run folder")
    write_run(full_plan(prep, geo, table, progress=progress), out / "studio-layout", maps=False)
    runs.append(out / "studio-layout")
    progress("comparing")
    cmp, misses = compare_runs(runs)
    files = write_compare(cmp, misses, out / "compare", run_dirs=runs)
    return {"files": [Path(f).name for f in files], "runs": [str(r) for r in runs],
            "labels": list(cmp.attrs["runs"]), "misses": misses}
