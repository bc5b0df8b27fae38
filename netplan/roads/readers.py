"""Road files → an osmnx-style MultiDiGraph in lon/lat (edges carry length, highway, geometry).

OSM (.osm, .osm.gz, .osm.bz2, .osm.pbf) goes through pyosmium first: drivable ``highway`` ways
(and the nodes they use) inside the boundary's bounding box are written to a temporary OSM XML
file, which osmnx turns into a simplified graph. osmium reads every OSM format (osmnx alone reads
only plain and bz2 XML), and the filter keeps footways, buildings and land use out of the graph.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from netplan.coords import utm_epsg
from netplan.errors import InputError

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".xml")


def file_kind(path: Path) -> str:
    """``"osm"``, ``"graphml"`` or ``"lines"`` from a road file's suffixes."""
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES):
        return "osm"
    if name.endswith(".graphml"):
        return "graphml"
    if name.endswith((".gpkg", ".shp", ".geojson", ".json", ".fgb")):
        return "lines"
    msg = ("unsupported road file type; expected .osm, .osm.gz, .osm.bz2, .osm.pbf, .graphml, "
           ".gpkg, .shp or .geojson")
    raise InputError(msg, file=str(path))


def boundary_lonlat(boundary: Any) -> BaseGeometry | None:
    """A boundary given as shapely geometry (lon/lat), GeoSeries or GeoDataFrame → one lon/lat geometry."""
    if boundary is None:
        return None
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        gs = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if gs.crs is not None:
            gs = gs.to_crs(4326)
        return gs.union_all()
    if isinstance(boundary, BaseGeometry):
        return boundary
    msg = f"boundary must be a shapely geometry or GeoSeries/GeoDataFrame, got {type(boundary).__name__}"
    raise InputError(msg, field="boundary")


def buffered_boundary(boundary: BaseGeometry, buffer_m: float) -> BaseGeometry:
    """Buffer a lon/lat polygon by ``buffer_m`` metres (in its UTM zone); result in lon/lat."""
    c = boundary.centroid
    epsg = utm_epsg(c.x, c.y)
    fwd = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    back = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    proj = shapely.transform(boundary, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    return shapely.transform(proj.buffer(buffer_m),
                             lambda c: np.column_stack(back.transform(c[:, 0], c[:, 1])))


def _filter_osm_to_xml(path: Path, out: Path, exclude: frozenset[str],
                       bbox: tuple[float, float, float, float] | None) -> int:
    """Write drivable highway ways of ``path`` (and their nodes) to OSM XML ``out``; returns way count.

    Ways of clipped extracts that reference missing nodes are split into their runs of present
    nodes (extra pieces get new ids), so osmnx never sees a dangling reference.
    """
    import osmium

    n = 0
    src = str(path)
    fp = (osmium.FileProcessor(src).with_locations()
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
          .with_filter(osmium.filter.KeyFilter("highway")))
    with osmium.BackReferenceWriter(str(out), ref_src=src, overwrite=True) as writer:
        for way in fp:
            hw = way.tags.get("highway")
            if hw is None or hw in exclude or way.tags.get("area") == "yes":
                continue
            refs, lon, lat = [], [], []
            for nd in way.nodes:
                loc = nd.location
                ok = loc.valid()
                refs.append(nd.ref if ok else None)
                lon.append(loc.lon if ok else np.nan)
                lat.append(loc.lat if ok else np.nan)
            if bbox is not None:
                x0, y0, x1, y1 = bbox
                lo, la = np.array(lon), np.array(lat)
                if not np.any((lo >= x0) & (lo <= x1) & (la >= y0) & (la <= y1)):
                    continue
            if all(r is not None for r in refs):
                writer.add_way(way)
                n += 1
                continue
            runs, cur = [], []
            for r in refs + [None]:
                if r is None:
                    if len(cur) >= 2:
                        runs.append(cur)
                    cur = []
                else:
                    cur.append(r)
            for k, run in enumerate(runs):
                wid = way.id if k == 0 else way.id * 1000 + k
                writer.add_way(way.replace(id=wid, nodes=run))
                n += 1
    return n


def read_osm_graph(path: Path, *, boundary: BaseGeometry | None = None, buffer_m: float = 2000.0,
                   exclude: frozenset[str] = frozenset()) -> tuple[nx.MultiDiGraph, int]:
    """Read an OSM file into a simplified lon/lat MultiDiGraph, clipped to boundary + buffer.

    Returns the graph and the number of OSM nodes on drivable ways before simplification.
    """
    if not path.exists():
        msg = "road file not found"
        raise InputError(msg, file=str(path))
    clip = buffered_boundary(boundary, buffer_m) if boundary is not None else None
    with tempfile.TemporaryDirectory(prefix="netplan_osm_") as tmp:
        xml = Path(tmp) / "roads.osm"
        try:
            n_ways = _filter_osm_to_xml(path, xml, exclude, clip.bounds if clip is not None else None)
        except RuntimeError as exc:
            msg = f"cannot read OSM file: {exc}"
            raise InputError(msg, file=str(path)) from exc
        if n_ways == 0:
            msg = "no drivable highway ways in the file (inside the boundary)"
            raise InputError(msg, file=str(path), field="highway")
        G = ox.graph_from_xml(xml, simplify=False, retain_all=True)
    n_raw = G.number_of_nodes()
    if clip is not None:
        xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
        if not shapely.contains_xy(clip, xy[:, 0], xy[:, 1]).all():  # truncating is slow: only if needed
            G = ox.truncate.truncate_graph_polygon(G, clip, truncate_by_edge=True)
        if G.number_of_edges() == 0:
            msg = "no roads left inside the boundary (+ buffer); is the boundary in lon/lat?"
            raise InputError(msg, file=str(path))
    G = ox.simplify_graph(G)
    return G, n_raw


def read_graphml(path: Path) -> nx.MultiDiGraph:
    """Load an osmnx GraphML file as a lon/lat MultiDiGraph (projected graphs are unprojected)."""
    if not path.exists():
        msg = "road file not found"
        raise InputError(msg, file=str(path))
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # noqa: BLE001 - osmnx/networkx raise many kinds here
        msg = f"cannot read GraphML: {exc}"
        raise InputError(msg, file=str(path)) from exc
    if not ox.projection.is_projected(G.graph.get("crs", "epsg:4326")):
        return G
    return ox.project_graph(G, to_latlong=True)


def _truthy(v: Any) -> bool:
    return str(v).strip().lower() in {"yes", "true", "1", "y", "t"}


def lines_to_graph(gdf: gpd.GeoDataFrame, *, class_field: str | None = "highway",
                   speed_field: str | None = None, source: str = "<lines>") -> nx.MultiDiGraph:
    """A road line layer → lon/lat MultiDiGraph.

    Lines are split where they share a vertex with another line (and at their ends); vertices
    closer than 0.5 m are merged. Roads are two-way unless a ``oneway`` column says yes.
    Edge attributes: ``length`` (m, in the layer's UTM zone), ``highway`` (from ``class_field``;
    ``"road"`` when missing), ``speed_kmh`` (from ``speed_field``), ``maxspeed`` (from a
    ``maxspeed`` column when present), ``geometry`` (lon/lat).
    """
    problems = []
    if gdf.crs is None:
        msg = "the road layer has no CRS; set one (e.g. EPSG:4326) before building a network"
        raise InputError(msg, file=source)
    for f in (class_field, speed_field):
        if f is not None and f not in gdf.columns:
            problems.append(f)
    if problems:
        msg = f"column(s) not in the road layer: {', '.join(problems)}; have {list(gdf.columns)}"
        raise InputError(msg, file=source, field=problems[0])
    g = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].to_crs(4326)
    g = g.explode(index_parts=False, ignore_index=True)
    g = g[g.geometry.geom_type == "LineString"].reset_index(drop=True)
    if len(g) == 0:
        msg = "no line geometries in the road layer"
        raise InputError(msg, file=source)
    c = g.geometry.union_all().centroid
    epsg = utm_epsg(c.x, c.y)
    gp = g.geometry.to_crs(epsg)
    coords, line_idx = shapely.get_coordinates(gp.values, return_index=True)
    key = np.round(coords / 0.5).astype(np.int64)
    _, vid, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    vid = vid.ravel()
    starts = np.r_[0, np.flatnonzero(np.diff(line_idx)) + 1]
    ends = np.r_[starts[1:] - 1, len(line_idx) - 1]
    # a vertex splits a line if it is a line end or is used more than once (by any line)
    is_end = np.zeros(len(vid), bool)
    is_end[starts] = True
    is_end[ends] = True
    split = is_end | (counts[vid] > 1)
    lonlat = shapely.get_coordinates(g.geometry.values)
    classes = g[class_field].astype(str).where(g[class_field].notna(), "road").to_numpy() \
        if class_field else np.full(len(g), "road", dtype=object)
    speeds = (g[speed_field].astype(float).to_numpy() if speed_field
              else np.full(len(g), np.nan))
    oneway = (g["oneway"].map(_truthy).to_numpy() if "oneway" in g.columns
              else np.zeros(len(g), bool))
    maxspeed = g["maxspeed"].to_numpy() if "maxspeed" in g.columns else np.full(len(g), None)
    G = nx.MultiDiGraph(crs="epsg:4326", created_with="netplan.roads.lines_to_graph")
    for li, (s, e) in enumerate(zip(starts, ends, strict=True)):
        cut = s + np.flatnonzero(split[s:e + 1])
        for a, b in zip(cut[:-1], cut[1:], strict=True):
            u, v = int(vid[a]), int(vid[b])
            seg = coords[a:b + 1]
            length = float(np.sum(np.hypot(*np.diff(seg, axis=0).T)))
            if u == v and length < 0.5:
                continue
            for n, i in ((u, a), (v, b)):
                if n not in G:
                    G.add_node(n, x=float(lonlat[i, 0]), y=float(lonlat[i, 1]))
            attrs = {"length": length, "highway": classes[li], "speed_kmh": speeds[li],
                     "maxspeed": maxspeed[li],
                     "geometry": LineString(lonlat[a:b + 1]), "source_row": li}
            G.add_edge(u, v, **attrs)
            if not oneway[li]:
                G.add_edge(v, u, **{**attrs, "geometry": LineString(lonlat[a:b + 1][::-1])})
    return G
