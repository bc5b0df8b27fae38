"""CRS detection from the numbers, and conversion back to WGS-84 (netplan.inputs.crs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan.errors import Problem
from netplan.inputs.crs import (
    CrsSpec,
    classify,
    metric_crs_for,
    parse_crs,
    spec_of_family,
    transformer,
)
from netplan.inputs.geom import parse_number, table_points


@settings(max_examples=40, deadline=None)
@given(st.floats(109.6, 121.4), st.floats(30.0, 42.0), st.booleans())
def test_gk_with_zone_prefix_round_trips(lon, lat, six_degree):
    """Any point of Henan and Hebei (109.6-121.4 E) written in its CGCS2000 GK zone with the zone
    prefix (3- or 6-degree) is detected as that zone and comes back within 1 cm."""
    if six_degree:
        zone = int(lon // 6) + 1
        epsg = 4491 + zone - 13
    else:
        zone = int(round(lon / 3))
        epsg = 4513 + zone - 25
    if not (4491 <= epsg <= 4501 or 4513 <= epsg <= 4533):
        return
    e, n = transformer("EPSG:4326", f"EPSG:{epsg}").transform(lon, lat)
    fam = classify([e], [n])[0]
    assert spec_of_family(fam) == CrsSpec("epsg", epsg, detected=True)
    probs: list[Problem] = []
    pts, spec = table_points(pd.DataFrame({"lon": [e], "lat": [n]}), "t.csv", None, probs)
    assert spec is not None and spec.epsg == epsg and not [p for p in probs if p.severity == "error"]
    back = transformer("EPSG:4326", "EPSG:4547")
    x1, y1 = back.transform(pts[0].x, pts[0].y)
    x2, y2 = back.transform(lon, lat)
    assert np.hypot(x1 - x2, y1 - y2) < 0.01


def test_classify_families():
    """lon/lat, swapped, GK 3-degree and 6-degree with prefix (either axis order), GK without prefix,
    missing and nonsense are told apart."""
    x = [114.6, 33.0, 38547000.0, 3652000.0, 20547000.0, 547000.0, np.nan, -5e9]
    y = [33.0, 114.6, 3652000.0, 38547000.0, 3652000.0, 3652000.0, 1.0, 7.0]
    assert list(classify(x, y)) == ["geo", "geo_swapped", "gk3:38", "gk3:38~", "gk6:20",
                                    "gk_noprefix", "nan", "unknown"]


@pytest.mark.parametrize(("text", "kind", "epsg"), [
    ("wgs84", "wgs84", None), ("CGCS2000", "wgs84", None), ("EPSG:4490", "wgs84", None),
    ("gcj02", "gcj02", None), ("高德", "gcj02", None), ("Baidu", "bd09", None),
    ("EPSG:4547", "epsg", 4547), ("4526", "epsg", 4526)])
def test_parse_crs_names(text, kind, epsg):
    """The names planners use map to one CrsSpec each."""
    s = parse_crs(text)
    assert (s.kind, s.epsg) == (kind, epsg)


@pytest.mark.parametrize("text", ["hilly", "mercator", "EPSG:99999", ""])
def test_parse_crs_rejects_unknown(text):
    """Unknown names raise ValueError listing what is accepted (no fuzzy CRS name search)."""
    with pytest.raises(ValueError, match="unknown coordinate system"):
        parse_crs(text)


def test_metric_crs_for_henan_and_abroad():
    """Pingyu (114.6 E) -> EPSG:4547 (CGCS2000 GK CM 114E), Lushan (112.9 E) -> 4547, west Henan
    (111.2 E) -> 4546; outside China the UTM zone."""
    assert metric_crs_for(114.6, 33.0) == "EPSG:4547"
    assert metric_crs_for(112.9, 33.7) == "EPSG:4547"
    assert metric_crs_for(111.2, 34.5) == "EPSG:4546"
    assert metric_crs_for(10.0, 48.0) == "EPSG:32632"


@pytest.mark.parametrize(("text", "value"), [
    ("114.61", 114.61), ("1,200", 1200.0), ("３００", 300.0), ("114°36′36″", 114.61),
    ("33度0分36秒", 33.01), ("114°36'36\"W", -114.61), ("", None), ("nan", None), ("abc", "nan"),
    ("1e400", "nan")])
def test_parse_number(text, value):
    """Cells: decimals, thousands commas, full-width digits, d°m′s″ and 度分秒; blanks -> None;
    text and overflow -> NaN."""
    got = parse_number(text)
    if value is None:
        assert got is None
    elif value == "nan":
        assert got is not None and np.isnan(got)
    else:
        assert got == pytest.approx(value)
