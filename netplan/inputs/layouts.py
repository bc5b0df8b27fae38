"""A layout table checked against the county it is scored in: every id is a candidate site of the
county or a new site inside it, a site the county's data calls existing is one of its sites, and a
known site whose lon/lat the table changes is moved there (inside the county).

Called by :func:`netplan.siting_adapter.merge_candidates` before the table's sites join the
candidates; the table's own rules (columns, values, parents) are checked by
:func:`netplan.layout_io.read_layout`.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from netplan.errors import InputError, Problem
from netplan.inputs.checks import check_inside
from netplan.inputs.crs import transformer
from netplan.model import County

#: a layout site further than this from its candidate's place is moved there (m); closer is the
#: rounding of a written layout (6 decimals of a degree ≈ 0.1 m)
MOVE_TOLERANCE_M = 1.0
_CANDIDATE_ID = {"V": "village", "T": "township seat"}


def check_layout_sites(cands: gpd.GeoDataFrame, table: gpd.GeoDataFrame, county: County
                       ) -> dict[str, Point]:
    """Check a layout table's sites against the county; the known sites it moves.

    Parameters
    ----------
    cands
        The county's candidate sites (``site_id``, geometry in EPSG:4326).
    table
        A layout table (netplan.layout_io.read_layout), one row per site and tier (a site at two
        tiers has two rows, checked for the same point); ``table.attrs["file"]``
        names it in messages.
    county
        The county (boundary, metric CRS).

    Returns
    -------
    dict
        site_id -> new WGS-84 point of each candidate site the table moves by more than
        :data:`MOVE_TOLERANCE_M`.

    Raises
    ------
    InputError
        Naming the row of each id that is not a candidate but looks like one (``V…``, ``T…``), an
        unknown id marked existing, a new or moved site outside the county (more than 250 m), or
        one site placed at two different points.
    """
    file = str(table.attrs.get("file", "layout table"))
    probs: list[Problem] = []
    known = dict(zip(cands["site_id"].astype(str), cands.geometry, strict=True))
    tr = transformer("EPSG:4326", county.metric_crs)
    to_check: list[Point | None] = []
    moves: dict[str, Point] = {}
    first_row: dict[str, int] = {}
    for i, r in enumerate(table.itertuples(index=False), start=1):
        sid, pt = str(r.site_id), Point(float(r.lon), float(r.lat))
        check = None
        if sid in known:
            d = _distance_m(tr, known[sid], pt)
            if d > MOVE_TOLERANCE_M:
                if sid in moves and _distance_m(tr, moves[sid], pt) > MOVE_TOLERANCE_M:
                    probs.append(Problem(file, i, "lon", f"site '{sid}' is placed at another point "
                                         f"than in row {first_row[sid]}"))
                moves.setdefault(sid, pt)
                first_row.setdefault(sid, i)
                check = pt
        elif r.status == "existing":
            probs.append(Problem(file, i, "site_id", f"unknown site '{sid}' marked existing: the "
                                 "county's data (sites.csv, villages, townships) has no such site; "
                                 "use an existing site's id, or mark it new to build it at lon/lat"))
        elif (m := re.match(r"^([VT])\d", sid)) and sid not in known:
            what = _CANDIDATE_ID[m.group(1)]
            probs.append(Problem(file, i, "site_id", f"'{sid}' reads as a {what} candidate "
                                 f"({m.group(1)}<code>) but the county has no such {what}; give "
                                 "a new site another id"))
        else:
            check = pt
        to_check.append(check)
    check_inside(to_check, county.boundary.geometry.iloc[0] if len(county.boundary) else None,
                 county.metric_crs, file, probs, what="layout site (new or moved)")
    errors = [p for p in probs if p.severity == "error"]
    if errors:
        raise InputError(problems=errors)
    return moves


def _distance_m(tr, a: Point, b: Point) -> float:
    x, y = tr.transform(np.array([a.x, b.x]), np.array([a.y, b.y]))
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))
