"""Shared fixtures: a tiny hand-checkable county (no files, no network)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from netplan.model import County


def tiny_county(tmp: Path | None = None) -> County:
    """Two townships side by side (A farming, B a street office), four villages, one farm, three
    existing sites. Coordinates near Pingyu (114.6 E, 33.0 N); 0.01 deg lon ~ 934 m there."""
    boundary = gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[box(114.60, 32.98, 114.70, 33.02)],
                                crs="EPSG:4326")
    townships = gpd.GeoDataFrame({
        "township_code": ["411723101", "411723001"],
        "name": ["甲镇", "乙街道"], "name_en": ["Jia", "Yi"], "kind": ["镇", "街道"],
        "farming": [True, False], "seat_lon": [114.62, 114.68], "seat_lat": [33.0, 33.0],
    }, geometry=[box(114.60, 32.98, 114.65, 33.02), box(114.65, 32.98, 114.70, 33.02)], crs="EPSG:4326")
    villages = gpd.GeoDataFrame({
        "village_id": ["v1", "v2", "v3", "v4"],
        "name": ["张庄", "李楼", "王营", "赵寨"],
        "township_code": ["411723101", "411723101", "411723101", "411723001"],
        "households": [300, 200, 100, 400],
        "population": [1000, 600, 300, 1500],
        "cropland_mu": [2000, 1000, 500, 100],
        "wheat_mu": [1000, 500, 0, 0],
        "maize_mu": [600, 0, 0, 0],
        "peanut_mu": [0, 200, 0, 0],
        "vegetable_film_mu": [100, 0, 50, 0],
        "greenhouse_mu": [0, 10, 0, 0],
        "pigs": [100, 0, 0, 0],
        "cattle": [0, 10, 0, 0],
        "sheep": [0, 0, 0, 0],
        "poultry": [0, 0, 1000, 0],
    }, geometry=[Point(114.61, 33.0), Point(114.63, 33.0), Point(114.64, 33.01), Point(114.69, 33.0)],
        crs="EPSG:4326")
    farms = gpd.GeoDataFrame({
        "farm_id": ["f1"], "name": ["甲猪场"], "village_id": ["v1"], "township_code": ["411723101"],
        "species": ["pig"], "stock_head": [1000],
    }, geometry=[Point(114.615, 33.005)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3"], "name": ["农资店", "生物质电厂", "分拣中心"],
        "kind": ["agro_store", "biomass_plant", "recycling_centre"],
        "township_code": ["411723101", "411723001", "411723001"],
        "streams": ["film;pesticide_packaging", "straw", "recyclables;film;pesticide_packaging"],
        "tiers": ["village_point", "county_center", "county_center"],
        "capacity_t": [None, 100000.0, None], "status": ["existing"] * 3,
    }, geometry=[Point(114.625, 33.0), Point(114.695, 33.01), Point(114.685, 33.0)], crs="EPSG:4326")
    return County(name="Tiny", name_zh="小县", adcode="411723", terrain="plain", folder=tmp or Path("."),
                  boundary=boundary, townships=townships, villages=villages, farms=farms, sites=sites,
                  roads_path=None, metric_crs="EPSG:4547")


@pytest.fixture
def county() -> County:
    """The tiny hand-checkable county."""
    return tiny_county()


def frame(rows: list[dict]) -> pd.DataFrame:
    """Small helper for tests."""
    return pd.DataFrame(rows)
