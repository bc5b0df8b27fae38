"""`RoadNetwork`: the public face of the road engine (readers, snapping, matrices, geometry, cache)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from netplan.coords import utm_epsg
from netplan.errors import InputError
from netplan.roads import cache as _cache
from netplan.roads import geometry as _geom
from netplan.roads import readers
from netplan.roads.graph import RoadGraph, from_arrays, from_networkx, to_arrays
from netplan.roads.matrix import matrix as _matrix
from netplan.roads.snap import SnapReport, snap_xy
from netplan.roads.speeds import SpeedTable, load_speeds

Points = Any  # GeoSeries | GeoDataFrame | (n, 2) lon/lat array | sequence of shapely Points


def points_lonlat(points: Points) -> tuple[NDArray[np.float64], NDArray | None]:
    """Points in any accepted form → ((n, 2) lon/lat array, ids or None).

    GeoSeries/GeoDataFrame are reprojected to WGS-84 (no CRS = assumed lon/lat); non-point
    geometries use a representative point; missing geometries give nan rows. Ids are the index.
    """
    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        gs = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if gs.crs is not None and not gs.crs.equals(pyproj.CRS.from_epsg(4326)):
            gs = gs.to_crs(4326)
        geoms = gs.values
        notpt = ~shapely.is_missing(geoms) & (shapely.get_type_id(geoms) != 0)
        if notpt.any():
            geoms = geoms.copy()
            geoms[notpt] = shapely.point_on_surface(geoms[notpt])
        xy = np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)]).astype(float)
        return xy, np.asarray(points.index, dtype=object)
    if isinstance(points, BaseGeometry):
        points = [points]
    if isinstance(points, Sequence) and len(points) and isinstance(points[0], BaseGeometry):
        arr = np.array(points, dtype=object)
        xy = np.column_stack([shapely.get_x(arr), shapely.get_y(arr)]).astype(float)
    else:
        xy = np.asarray(points, dtype=float)
        if xy.shape == (2,):
            xy = xy.reshape(1, 2)
        if xy.size == 0:
            return np.empty((0, 2)), None
        if xy.ndim != 2 or xy.shape[1] != 2:
            msg = f"points must be a GeoSeries/GeoDataFrame or an (n, 2) lon/lat array, got shape {xy.shape}"
            raise InputError(msg, field="points")
    fin = xy[np.isfinite(xy).all(axis=1)]
    if len(fin) and (np.abs(fin[:, 0]).max() > 180 or np.abs(fin[:, 1]).max() > 90):
        msg = ("point coordinates are not lon/lat degrees (projected metres?); pass a GeoSeries "
               "or GeoDataFrame with its CRS instead")
        raise InputError(msg, field="points")
    return xy, None


class RoadNetwork:
    """A county road network (or the crow-fly fallback) answering travel-cost questions.

    Build with :meth:`from_file`, :meth:`from_osm`, :meth:`from_lines`, :meth:`from_graphml` or
    :meth:`crow_fly`. Distances are metres, times seconds; ``inf`` marks unreachable pairs.
    """

    def __init__(self, graph: RoadGraph | None, *, label: str, source_hash: str,
                 circuity: float = 1.3, speed_kmh: float = 40.0, n_raw_nodes: int | None = None,
                 speeds: SpeedTable | None = None) -> None:
        self._g = graph
        self.label = label
        self.source_hash = source_hash
        self.circuity = float(circuity)
        self.speed_kmh = float(speed_kmh)
        self.n_raw_nodes = n_raw_nodes
        self.speeds = speeds or (graph.speeds if graph is not None else load_speeds())
        self.cache_dir: Path | None = _cache.default_cache_dir()
        self.progress = True
        self.last_snaps: tuple[SnapReport, SnapReport] | None = None
        self.last_cache_hit = False

    # ------------------------------------------------------------------ building
    @property
    def is_crow_fly(self) -> bool:
        """True for the straight-line fallback (no road file)."""
        return self._g is None

    @property
    def graph(self) -> RoadGraph:
        """The array graph (InputError on the crow-fly fallback, which has none)."""
        if self._g is None:
            msg = "the crow-fly fallback has no road graph"
            raise InputError(msg)
        return self._g

    def __repr__(self) -> str:
        return f"RoadNetwork({self.label})"

    @classmethod
    def crow_fly(cls, *, circuity: float = 1.3, speed_kmh: float = 40.0) -> RoadNetwork:
        """Straight-line distance × ``circuity`` and time at ``speed_kmh``; used when no road file is given."""
        if circuity < 1 or speed_kmh <= 0:
            msg = f"crow-fly needs circuity >= 1 and speed_kmh > 0, got {circuity}, {speed_kmh}"
            raise InputError(msg, field="circuity")
        label = f"crow-fly × {circuity:g} at {speed_kmh:g} km/h (no road file)"
        return cls(None, label=label, source_hash=f"crowfly:{circuity}:{speed_kmh}",
                   circuity=circuity, speed_kmh=speed_kmh)

    @classmethod
    def from_file(cls, path: str | Path, *, boundary: Any = None, buffer_m: float = 2000.0,
                  speeds: str | Path | None = None, terrain: str = "plain",
                  class_field: str = "highway", speed_field: str | None = None,
                  layer: str | None = None) -> RoadNetwork:
        """Read any supported road file, dispatching on its suffix.

        .osm/.osm.gz/.osm.bz2/.osm.pbf → :meth:`from_osm`; .graphml → :meth:`from_graphml`;
        .gpkg/.shp/.geojson → :meth:`from_lines` (``class_field``, ``speed_field``, ``layer``).
        ``boundary`` (lon/lat geometry or GeoSeries) clips the network to it plus ``buffer_m`` m.
        """
        p = Path(path)
        kind = readers.file_kind(p)
        if kind == "osm":
            return cls.from_osm(p, boundary=boundary, buffer_m=buffer_m, speeds=speeds, terrain=terrain)
        if kind == "graphml":
            return cls.from_graphml(p, boundary=boundary, buffer_m=buffer_m, speeds=speeds,
                                    terrain=terrain)
        if not p.exists():
            msg = "road file not found"
            raise InputError(msg, file=str(p))
        try:
            gdf = gpd.read_file(p, layer=layer)
        except Exception as exc:  # noqa: BLE001 - pyogrio raises several kinds
            msg = f"cannot read road layer: {exc}"
            raise InputError(msg, file=str(p)) from exc
        siblings = [p] + [p.with_suffix(s) for s in (".dbf", ".prj") if p.suffix.lower() == ".shp"
                          and p.with_suffix(s).exists()]
        return cls.from_lines(gdf, class_field=class_field, speed_field=speed_field,
                              boundary=boundary, buffer_m=buffer_m, speeds=speeds, terrain=terrain,
                              name=p.name, source_hash=_cache.file_sha256(*siblings))

    @classmethod
    def from_osm(cls, path: str | Path, *, boundary: Any = None, buffer_m: float = 2000.0,
                 speeds: str | Path | None = None, terrain: str = "plain") -> RoadNetwork:
        """Read an OSM extract (.osm, .osm.gz, .osm.bz2, .osm.pbf) with pyosmium + osmnx.

        Keeps drivable ``highway`` ways, clips to ``boundary`` + ``buffer_m`` metres, simplifies.
        ``terrain="hilly"`` scales speeds of roads without a ``maxspeed`` tag by the hilly factor.
        """
        p = Path(path)
        table = load_speeds(speeds)
        if not p.exists():
            msg = "road file not found"
            raise InputError(msg, file=str(p))
        src_hash = _cache.file_sha256(p)
        bkey = boundary_key(boundary, buffer_m)
        gkey = "graph-" + _cache.matrix_key(src_hash, {"b": bkey, "x": sorted(table.exclude)},
                                            np.empty((0, 2)), np.empty((0, 2)))
        cdir = _cache.default_cache_dir()
        arrays = _cache.load_arrays(cdir, gkey)
        if arrays is not None:
            g = from_arrays(arrays, table)
            g.hilly = terrain == "hilly"
            return cls._from_graph(g, table, name=p.name, source_hash=src_hash, terrain=terrain,
                                   n_raw=int(arrays["n_raw"][0]), extra=bkey)
        big = p.stat().st_size > 2**21
        with _stage(f"reading {p.name} ({p.stat().st_size / 2**20:.0f} MB) with osmium + osmnx",
                    announce=big):
            G, n_raw = readers.read_osm_graph(p, boundary=readers.boundary_lonlat(boundary),
                                              buffer_m=buffer_m, exclude=table.exclude)
        net = cls._from_nx(G, table, name=p.name, source_hash=src_hash, terrain=terrain,
                           n_raw=n_raw, extra=bkey)
        arrays = to_arrays(net.graph)
        arrays["n_raw"] = np.array([n_raw], dtype=np.int64)
        _cache.save_arrays(cdir, gkey, arrays)
        return net

    @classmethod
    def from_graphml(cls, path: str | Path, *, boundary: Any = None, buffer_m: float = 2000.0,
                     speeds: str | Path | None = None, terrain: str = "plain") -> RoadNetwork:
        """Load an osmnx GraphML file (edges need ``length``; ``highway``/``maxspeed`` are used)."""
        p = Path(path)
        table = load_speeds(speeds)
        G = readers.read_graphml(p)
        b = readers.boundary_lonlat(boundary)
        if b is not None:
            import osmnx as ox

            G = ox.truncate.truncate_graph_polygon(G, readers.buffered_boundary(b, buffer_m),
                                                   truncate_by_edge=True)
        return cls._from_nx(G, table, name=p.name, source_hash=_cache.file_sha256(p),
                            terrain=terrain, extra=boundary_key(boundary, buffer_m))

    @classmethod
    def from_lines(cls, gdf: gpd.GeoDataFrame, *, class_field: str | None = "highway",
                   speed_field: str | None = None, boundary: Any = None, buffer_m: float = 2000.0,
                   speeds: str | Path | None = None, terrain: str = "plain", name: str = "road layer",
                   source_hash: str | None = None) -> RoadNetwork:
        """Build from a road line layer (planning bureau Shapefile/GeoPackage).

        ``class_field`` holds OSM-like classes (primary, tertiary, track, ...; unknown → default
        speed); ``speed_field`` optional km/h per line, capped by the vehicle's fastest speed.
        Lines are joined where they share a vertex; a ``oneway`` column (yes/true/1) is honoured.
        """
        import hashlib

        table = load_speeds(speeds)
        b = readers.boundary_lonlat(boundary)
        if b is not None and gdf.crs is not None:
            clip = readers.buffered_boundary(b, buffer_m)
            gdf = gdf[gdf.to_crs(4326).intersects(clip)]
        if source_hash is None:
            h = hashlib.sha256()
            g4 = gdf.to_crs(4326) if gdf.crs is not None else gdf
            h.update(shapely.to_wkb(g4.geometry.values).tobytes() if len(g4) else b"")
            for f in (class_field, speed_field):
                if f is not None and f in gdf.columns:
                    h.update(gdf[f].astype(str).str.cat(sep="\x1f").encode())
            source_hash = h.hexdigest()
        G = readers.lines_to_graph(gdf, class_field=class_field, speed_field=speed_field, source=name)
        return cls._from_nx(G, table, name=name, source_hash=source_hash, terrain=terrain,
                            extra=f"{class_field}|{speed_field}|{boundary_key(boundary, buffer_m)}")

    @classmethod
    def from_networkx(cls, G: nx.MultiDiGraph, *, name: str = "graph", speeds: str | Path | None = None,
                      terrain: str = "plain") -> RoadNetwork:
        """Wrap an in-memory osmnx-style lon/lat MultiDiGraph (no disk cache key from a file)."""
        import hashlib

        h = hashlib.sha256(repr(sorted((str(u), str(v), round(float(d.get("length", 0)), 3))
                                       for u, v, d in G.edges(data=True))).encode()).hexdigest()
        return cls._from_nx(G, load_speeds(speeds), name=name, source_hash=h, terrain=terrain)

    @classmethod
    def _from_nx(cls, G: nx.MultiDiGraph, table: SpeedTable, *, name: str, source_hash: str,
                 terrain: str, n_raw: int | None = None, extra: str = "") -> RoadNetwork:
        if terrain not in ("plain", "hilly"):
            msg = f"terrain must be 'plain' or 'hilly', got {terrain!r}"
            raise InputError(msg, field="terrain")
        with _stage("building arrays"):
            g = from_networkx(G, table, hilly=terrain == "hilly")
        return cls._from_graph(g, table, name=name, source_hash=source_hash, terrain=terrain,
                               n_raw=n_raw, extra=extra)

    @classmethod
    def _from_graph(cls, g: RoadGraph, table: SpeedTable, *, name: str, source_hash: str,
                    terrain: str, n_raw: int | None = None, extra: str = "") -> RoadNetwork:
        if terrain not in ("plain", "hilly"):
            msg = f"terrain must be 'plain' or 'hilly', got {terrain!r}"
            raise InputError(msg, field="terrain")
        n_frag = len(np.unique(g.node_comp))
        label = f"{name} ({g.n_nodes:,} nodes, {g.n_arcs:,} edges"
        if n_frag > 1:
            main = int((g.node_comp == g.main_comp).sum())
            label += f"; main network {main:,} nodes, {n_frag - 1:,} fragments"
        label += ")"
        src = f"{source_hash}|{terrain}|{extra}|{table.source and _cache.file_sha256(Path(table.source))}"
        return cls(g, label=label, source_hash=src, n_raw_nodes=n_raw, speeds=table)

    # ------------------------------------------------------------------ queries
    def _xy(self, lonlat: NDArray) -> NDArray:
        return self.graph.to_utm(lonlat) if len(lonlat) else np.empty((0, 2))

    def snap(self, points: Points, *, max_snap_m: float = 500.0, ids: Sequence | None = None,
             vehicle: str = "truck") -> SnapReport:
        """Snap points to the nearest road edge ``vehicle`` may use, within ``max_snap_m`` metres.

        Never raises for far or cut-off points: see ``.too_far`` and ``.off_main`` of the report.
        On the crow-fly fallback every point is "on the network" at distance 0.
        """
        ll, idx = points_lonlat(points)
        ids_arr = np.asarray(ids, dtype=object) if ids is not None else idx
        if self.is_crow_fly:
            n = len(ll)
            ok = np.isfinite(ll).all(axis=1)
            return SnapReport(ids=ids_arr if ids_arr is not None else np.arange(n),
                              edge=np.where(ok, 0, -1), frac=np.zeros(n), offset_m=np.zeros(n),
                              snap_m=np.where(ok, 0.0, np.inf), fragment=np.where(ok, 0, -1),
                              main_fragment=0, snapped_xy=ll.copy())
        return snap_xy(self.graph, self._xy(ll), max_snap_m=max_snap_m, vehicle=vehicle, ids=ids_arr)

    def distance_matrix(self, origins: Points, destinations: Points, *, weight: str = "length",
                        vehicle: str = "truck", cutoff: float | None = None,
                        max_snap_m: float = 500.0) -> NDArray[np.float64]:
        """Network cost from every origin to every destination, shape (n_origins, n_destinations).

        Metres (``weight="length"``) or seconds (``"time"``, at ``vehicle``'s speeds). ``inf`` where
        unreachable, where a point has no road within ``max_snap_m``, or beyond ``cutoff``.
        Includes the access legs and partial edges at both ends. Cached on disk (see ``cache_dir``).
        """
        if weight not in ("length", "time"):
            msg = f"weight must be 'length' or 'time', got {weight!r}"
            raise InputError(msg, field="weight")
        o_ll, _ = points_lonlat(origins)
        d_ll, _ = points_lonlat(destinations)
        self.speeds.table(vehicle)
        if self.is_crow_fly:
            return self._crow_matrix(o_ll, d_ll, weight, cutoff)
        params = {"weight": weight, "vehicle": vehicle, "cutoff": cutoff, "max_snap_m": max_snap_m}
        key = _cache.matrix_key(self.source_hash, params, o_ll, d_ll)
        hit = _cache.load(self.cache_dir, key)
        self.last_cache_hit = hit is not None
        if hit is not None and hit.shape == (len(o_ll), len(d_ll)):
            return hit
        g = self.graph
        o_xy, d_xy = self._xy(o_ll), self._xy(d_ll)
        o = snap_xy(g, o_xy, max_snap_m=max_snap_m, vehicle=vehicle)
        d = snap_xy(g, d_xy, max_snap_m=max_snap_m, vehicle=vehicle)
        self.last_snaps = (o, d)
        res = _matrix(g, o, d, weight=weight, vehicle=vehicle, cutoff=cutoff, o_xy=o_xy, d_xy=d_xy,
                      progress=self.progress)
        _cache.save(self.cache_dir, key, res)
        return res

    def _crow_matrix(self, o_ll: NDArray, d_ll: NDArray, weight: str,
                     cutoff: float | None) -> NDArray[np.float64]:
        both = np.vstack([o_ll, d_ll])
        fin = both[np.isfinite(both).all(axis=1)]
        if len(fin) == 0:
            return np.full((len(o_ll), len(d_ll)), np.inf)
        c = fin.mean(axis=0)
        tr = pyproj.Transformer.from_crs(4326, utm_epsg(float(c[0]), float(c[1])), always_xy=True)
        ox, oy = tr.transform(o_ll[:, 0], o_ll[:, 1])
        dx, dy = tr.transform(d_ll[:, 0], d_ll[:, 1])
        res = np.hypot(np.subtract.outer(ox, dx), np.subtract.outer(oy, dy)) * self.circuity
        if weight == "time":
            res = res / (self.speed_kmh / 3.6)
        res = np.where(np.isfinite(res), res, np.inf)
        if cutoff is not None:
            res[res > cutoff] = np.inf
        return res

    def route_geometry(self, a: Points, b: Points, *, weight: str = "length",
                       vehicle: str = "truck", max_snap_m: float = 500.0) -> LineString:
        """The cheapest route a → b along the roads, as a lon/lat LineString (for maps).

        Starts and ends at the points themselves (access legs included). Straight segment, with a
        warning, when no route exists; the crow-fly fallback always draws straight segments.
        """
        return self.route_line([a, b], weight=weight, vehicle=vehicle, max_snap_m=max_snap_m)

    def route_line(self, points_in_order: Points, *, weight: str = "length", vehicle: str = "truck",
                   max_snap_m: float = 500.0) -> LineString:
        """One lon/lat LineString through all points in order (e.g. depot → stops → depot)."""
        if isinstance(points_in_order, list | tuple) and points_in_order and not isinstance(
                points_in_order[0], BaseGeometry):
            ll = np.vstack([points_lonlat(p)[0] for p in points_in_order])
        else:
            ll, _ = points_lonlat(points_in_order)
        if len(ll) < 2:
            ll = np.vstack([ll, ll])
        if self.is_crow_fly:
            return LineString(ll)
        g = self.graph
        xy_all = self._xy(ll)
        rep = snap_xy(g, xy_all, max_snap_m=max_snap_m, vehicle=vehicle)
        legs = _geom.routes_xy(g, rep, xy_all, weight, vehicle)
        bad = [i for i, (_, c) in enumerate(legs) if not np.isfinite(c)]
        if bad:
            warnings.warn(f"no road route for {len(bad)} of {len(legs)} legs (first: "
                          f"{ll[bad[0]].tolist()} → {ll[bad[0] + 1].tolist()}); drawing straight "
                          "segments there", stacklevel=2)
        xy = np.vstack([c for c, _ in legs])
        keep = np.r_[True, np.any(np.abs(np.diff(xy, axis=0)) > 1e-6, axis=1)]
        xy = xy[keep]
        if len(xy) == 1:
            xy = np.vstack([xy, xy])
        return LineString(self.graph.to_lonlat(xy))

    def service_areas(self, points: Points, limits: float | Sequence[float], *,
                      weight: str = "length", vehicle: str = "truck", max_snap_m: float = 500.0,
                      buffer_m: float = 100.0) -> list[BaseGeometry]:
        """Areas reachable from each point within its limit (m or s), lon/lat polygons for maps.

        Road-reach based: the reached parts of road edges, buffered by ``buffer_m`` metres.
        Crow-fly fallback: circles of radius limit / circuity (time: at its speed).
        """
        ll, _ = points_lonlat(points)
        lim = np.broadcast_to(np.asarray(limits, dtype=float), (len(ll),))
        out: list[BaseGeometry] = []
        if self.is_crow_fly:
            for (x, y), L in zip(ll, lim, strict=True):
                r = L * (self.speed_kmh / 3.6 if weight == "time" else 1.0) / self.circuity
                epsg = utm_epsg(float(x), float(y))
                fwd = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
                back = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
                px, py = fwd.transform(x, y)
                out.append(_reproject(shapely.Point(px, py).buffer(r), back))
            return out
        g = self.graph
        xy = self._xy(ll)
        rep = snap_xy(g, xy, max_snap_m=max_snap_m, vehicle=vehicle)
        back = pyproj.Transformer.from_crs(g.epsg, 4326, always_xy=True)
        for i in range(len(ll)):
            one = _take(rep, i)
            poly = _geom.reach_xy(g, one, float(lim[i]), weight, vehicle, buffer_m=buffer_m)
            out.append(_reproject(poly, back))
        return out


def _reproject(geom: BaseGeometry, tr: pyproj.Transformer) -> BaseGeometry:
    """Apply a pyproj transformer (always_xy) to every coordinate of a geometry."""
    return shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def _take(rep: SnapReport, i: int) -> SnapReport:
    """The report of point i alone."""
    s = slice(i, i + 1)
    return SnapReport(ids=rep.ids[s], edge=rep.edge[s], frac=rep.frac[s], offset_m=rep.offset_m[s],
                      snap_m=rep.snap_m[s], fragment=rep.fragment[s],
                      main_fragment=rep.main_fragment, snapped_xy=rep.snapped_xy[s])


def boundary_key(boundary: Any, buffer_m: float) -> str:
    """A short text key of a clipping boundary (for the cache), '' when none."""
    b = readers.boundary_lonlat(boundary)
    if b is None:
        return ""
    import hashlib

    return hashlib.sha256(shapely.to_wkb(b) + str(buffer_m).encode()).hexdigest()[:16]


class _stage:
    """Context manager reporting a build stage on stderr: announced up front when ``announce``
    (large files), and its duration when it took over 2 s."""

    def __init__(self, what: str, *, announce: bool = False) -> None:
        self.what = what
        self.announce = announce

    def __enter__(self) -> _stage:
        self.t0 = time.perf_counter()
        if self.announce:
            import sys

            print(f"netplan.roads: {self.what} ...", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        if dt > 2.0 and exc[0] is None:
            import sys

            print(f"netplan.roads: {self.what} took {dt:.1f} s", file=sys.stderr)
