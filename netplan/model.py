"""Plain data passed between pipeline stages (see docs/architecture.md).

Geo layer objects: GeoDataFrames in WGS-84 (EPSG:4326) with the columns documented here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

STREAMS: tuple[str, ...] = ("straw", "film", "pesticide_packaging", "manure", "recyclables")
TIERS: tuple[str, ...] = ("village_point", "township_station", "county_center")


@dataclass(frozen=True)
class County:
    """One county's inputs, as read from a county folder (see docs/data.md).

    Attributes
    ----------
    name, name_zh, adcode
        English (pinyin) and Chinese name, 6-digit administrative code.
    terrain
        "plain" or "hilly" (selects speeds and defaults).
    boundary
        One row: the county outline (Polygon/MultiPolygon, EPSG:4326).
    townships
        township_code (9-digit NBS code, str), name, name_en, kind (街道/镇/乡), farming (bool),
        seat_lon, seat_lat, geometry (polygon).
    villages
        village_id (str), name, township_code, households, population, crop areas in mu
        (`*_mu` columns), livestock stock in head (pigs, cattle, sheep, poultry), geometry (point).
    farms
        farm_id, name, village_id, township_code, species, stock_head, geometry (point).
    sites
        Existing candidate sites: site_id, name, kind, township_code, streams (";"-list or "*"),
        tiers (";"-list), capacity_t (t/yr, NaN = unknown), status, geometry (point).
    roads_path
        Road file (.osm/.osm.pbf/.gpkg/.graphml) or None for the crow-fly fallback.
    metric_crs
        Projected CRS used for metric work in this county (e.g. "EPSG:4547").
    """

    name: str
    name_zh: str
    adcode: str
    terrain: str
    folder: Path
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    farms: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    roads_path: Path | None
    metric_crs: str
    notes: dict = field(default_factory=dict)
