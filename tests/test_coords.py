"""GCJ-02 / BD-09 <-> WGS-84 against published coordinate pairs, and round-trip tolerances."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan import coords

# (wgs_lat, wgs_lon, gcj_lat, gcj_lon): the test vectors of googollee/eviltransform
# (python/test.py, go/transform_test.go; BSD-2-Clause) - Shanghai, Shenzhen, Beijing.
GCJ_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]
# GCJ-02 <-> BD-09 (lon, lat): the test vectors of wandergis/coordtransform (MIT), reused in
# hutool's CoordinateUtilTest, and Beijing railway station from the R package `cst` docs
# (GCJ-02 116.42703, 39.90245; BD-09 116.43351, 39.90851).
GCJ_TO_BD = [((116.404, 39.915), (116.41036949371029, 39.92133699351021))]
BD_TO_GCJ = [((116.404, 39.915), (116.39762729119315, 39.90865673957631))]
STATION_GCJ, STATION_BD = (116.42703, 39.90245), (116.43351, 39.90851)


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (R = 6371008.8 m)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))


def test_wgs_to_gcj_matches_published_pairs():
    """WGS-84 -> GCJ-02 reproduces eviltransform's vectors to 1e-6 deg (~0.1 m)."""
    for wlat, wlon, glat, glon in GCJ_PAIRS:
        lon, lat = coords.wgs84_to_gcj02(wlon, wlat)
        assert abs(float(lon) - glon) < 1e-6
        assert abs(float(lat) - glat) < 1e-6


def test_gcj_to_wgs_within_half_a_metre_of_published_pairs():
    """GCJ-02 -> WGS-84 (iterated inverse) lands within 0.5 m of the published WGS-84 point
    (eviltransform's own bound for gcj2wgs_exact)."""
    for wlat, wlon, glat, glon in GCJ_PAIRS:
        lon, lat = coords.gcj02_to_wgs84(glon, glat)
        assert haversine_m(lon, lat, wlon, wlat) < 0.5


def test_bd_formulas_match_published_pairs():
    """GCJ-02 -> BD-09 and the published BD-09 -> GCJ-02 reproduce coordtransform's vectors to
    1e-9 deg; a real pair (Beijing railway station, 5-decimal map readings) agrees within 1 m."""
    for (x, y), (ex, ey) in GCJ_TO_BD:
        bx, by = coords.gcj02_to_bd09(x, y)
        assert abs(float(bx) - ex) < 1e-9 and abs(float(by) - ey) < 1e-9
    for (x, y), (ex, ey) in BD_TO_GCJ:
        gx, gy = coords.bd09_to_gcj02(x, y)
        assert abs(float(gx) - ex) < 1e-9 and abs(float(gy) - ey) < 1e-9
    gx, gy = coords.bd09_to_gcj02(*STATION_BD, iterate=True)
    assert haversine_m(gx, gy, *STATION_GCJ) < 1.0
    bx, by = coords.gcj02_to_bd09(*STATION_GCJ)
    assert haversine_m(bx, by, *STATION_BD) < 1.0


def test_gcj_offset_at_pingyu_is_about_540_m():
    """At Pingyu (114.62 E, 32.96 N) the GCJ-02 shift is ~543 m (domain.md section 5): a village
    read without conversion would be misplaced by half a kilometre."""
    lon, lat = coords.wgs84_to_gcj02(114.62, 32.96)
    d = float(haversine_m(114.62, 32.96, lon, lat))
    assert 500 < d < 600


def test_outside_china_unchanged():
    """Points outside the GCJ-02 box are returned as they are (Tokyo, London)."""
    lon, lat = coords.wgs84_to_gcj02([139.69, -0.12], [35.69, 51.5])
    np.testing.assert_allclose(lon, [139.69, -0.12])
    np.testing.assert_allclose(lat, [35.69, 51.5])


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trip_gcj_within_1_cm(lon, lat):
    """WGS-84 -> GCJ-02 -> WGS-84 returns within 0.01 m anywhere in mainland China (documented
    tolerance of the iterated inverse)."""
    g = coords.wgs84_to_gcj02(lon, lat)
    back = coords.gcj02_to_wgs84(*g)
    assert float(haversine_m(lon, lat, *back)) < 0.01


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trip_bd_within_1_cm(lon, lat):
    """WGS-84 -> BD-09 -> WGS-84 returns within 0.01 m (both inverses iterated; the one-step
    published BD-09 inverse alone is off by up to ~0.15 m)."""
    b = coords.wgs84_to_bd09(lon, lat)
    back = coords.bd09_to_wgs84(*b)
    assert float(haversine_m(lon, lat, *back)) < 0.01


def test_vectorised_over_arrays():
    """The conversions take arrays and return arrays of the same shape."""
    lon = np.array([114.6, 114.7, 113.2])
    lat = np.array([33.0, 32.9, 33.7])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    assert glon.shape == lon.shape and glat.shape == lat.shape
    wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(wlon, lon, atol=1e-8)
    np.testing.assert_allclose(wlat, lat, atol=1e-8)


def test_utm_epsg():
    """Pingyu (114.6 E, 33 N) is in UTM zone 50N."""
    assert coords.utm_epsg(114.6, 33.0) == 32650
