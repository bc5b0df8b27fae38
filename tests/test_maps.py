"""HTML and PNG maps: offline assets, layers, GCJ-02 shift, KPI panel, sizes (no browser)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import folium
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from fake_county import STREAM_LABELS, STREAMS, TIER_LABELS, big_plan, fake_plan  # noqa: E402

from netplan.coords import wgs84_to_gcj02  # noqa: E402
from netplan.errors import InputError  # noqa: E402
from netplan.maps import static as static_mod  # noqa: E402
from netplan.maps import write_compare_map, write_maps, write_pngs  # noqa: E402
from netplan.maps.assets import STATIC_DIR, external_references, inline_assets  # noqa: E402
from netplan.maps.coverage import coverage_class, township_coverage  # noqa: E402
from netplan.maps.geojson import GeoJsonLayer  # noqa: E402
from netplan.maps.kpi_panel import kpi_panel_html  # noqa: E402
from netplan.maps.pages import new_map, populate  # noqa: E402

KW = dict(title="测试县 Test county", streams=STREAMS, stream_labels=STREAM_LABELS,
          tier_labels=TIER_LABELS)


def _layers_of(m: folium.Map) -> dict[str, GeoJsonLayer]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, GeoJsonLayer)}


def test_write_maps_writes_index_and_one_page_per_stream(tmp_path):
    """index.html plus <stream>.html, each self-contained: Leaflet inlined, no http(s) resource."""
    layers, kpis, areas = fake_plan()
    paths = write_maps(tmp_path, layers, kpis, service_areas=areas, **KW)
    assert [p.name for p in paths] == ["index.html", "straw.html", "film.html"]
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert external_references(html) == []
        assert "cdn.jsdelivr" not in html and "code.jquery.com" not in html
        assert 'src="lib/' not in html
        assert 't.version="1.9.4"' in html  # the bundled leaflet.js is inside the page
        assert "Boundaries" in html and "L.control.layers(" in html
    assert not (tmp_path / "lib").exists()
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in paths)  # group/world readable
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_folium_default_page_needs_cdns_but_ours_does_not():
    """Anchor: a plain folium map links CDN scripts; the check finds them; netplan's has none."""
    plain = folium.Map(location=[33, 114.6]).get_root().render()
    ext = external_references(plain)
    assert any("leaflet" in u for u in ext) and any("jquery" in u for u in ext)
    layers, kpis, _ = fake_plan()
    m = new_map([[32.85, 114.55], [32.97, 114.75]], "offline")
    populate(m, layers, kpis, ["straw"], stream_labels=STREAM_LABELS, tier_labels=TIER_LABELS,
             service_areas=None, background="offline", crow_fly=False)
    assert external_references(inline_assets(m.get_root().render())) == []


def test_lib_mode_copies_assets_with_licence(tmp_path):
    """self_contained=False writes lib/leaflet (js, css, images, LICENSE) and links it."""
    layers, kpis, _ = fake_plan()
    write_maps(tmp_path, layers, kpis, self_contained=False, **KW)
    lib = tmp_path / "lib" / "leaflet"
    assert (lib / "leaflet.js").stat().st_size > 100_000
    assert "BSD 2-Clause" in (lib / "LICENSE").read_text()
    assert (lib / "images" / "layers.png").exists()
    html = (tmp_path / "straw.html").read_text(encoding="utf-8")
    assert '<script src="lib/leaflet/leaflet.js"></script>' in html


def test_inline_assets_turns_css_images_into_data_uris():
    """The inlined Leaflet CSS carries its layer-control icon as a data URI, not images/..."""
    html = '<head><link rel="stylesheet" href="lib/leaflet/leaflet.css"/></head>'
    out = inline_assets(html)
    assert "<style>" in out and "url(images/" not in out
    assert "data:image/png;base64," in out
    assert "sourceMappingURL" not in (STATIC_DIR / "leaflet" / "leaflet.js").read_text()


def test_layer_control_lists_every_layer_of_a_stream_page():
    """A stream page has choropleth, service areas, boundaries, catchments, routes, villages and
    one layer per tier named by the stream's own tier names."""
    layers, kpis, areas = fake_plan()
    m = new_map([[32.85, 114.55], [32.97, 114.75]], "offline")
    names = populate(m, layers, kpis, ["straw"], stream_labels=STREAM_LABELS,
                     tier_labels=TIER_LABELS, service_areas=areas["straw"],
                     background="offline", crow_fly=False)
    assert names == [
        "乡镇覆盖率对比目标 Township coverage vs target",
        "服务范围(路网) Service areas (road network)",
        "县界/乡镇界 Boundaries",
        "服务连线 Catchments",
        "收运路线 Collection routes (colour per vehicle)",
        "转运线路 Haulage trips",
        "村庄 覆盖/未覆盖 Villages covered / not covered",
        "村级收储点 Village point",
        "乡镇收储中心 Township station",
        "县级利用中心 County centre",
    ]
    lay = _layers_of(m)
    vill = lay["村庄 覆盖/未覆盖 Villages covered / not covered"].data["features"]
    assert len(vill) == 12
    assert sum(f["properties"]["c"] == "unc" for f in vill) == 2  # V09, V12 uncovered for straw
    stations = lay["乡镇收储中心 Township station"].data["features"]
    t2 = next(f["properties"] for f in stations if "(T2)" in f["properties"]["h"])
    row = dict(zip(lay["乡镇收储中心 Township station"].labels, t2["r"], strict=True))
    assert row["负荷 Load"] == "1,500.0 t/yr" and row["能力 Capacity"] == "1,200.0 t/yr"
    assert "125.0%" in row["利用率 Utilisation"] and "超负荷" in row["利用率 Utilisation"]
    routes = lay["收运路线 Collection routes (colour per vehicle)"]
    colours = {routes.styles[f["properties"]["c"]]["color"] for f in routes.data["features"]}
    assert len(colours) == 2  # one colour per vehicle round


def test_amap_background_shifts_every_overlay_to_gcj02():
    """On Gaode tiles each coordinate is WGS-84 -> GCJ-02 shifted (hundreds of metres here)."""
    layers, kpis, _ = fake_plan()
    pages = {}
    for bg in ("offline", "amap"):
        m = new_map([[32.85, 114.55], [32.97, 114.75]], bg)
        populate(m, layers, kpis, ["straw"], stream_labels=STREAM_LABELS,
                 tier_labels=TIER_LABELS, service_areas=None, background=bg, crow_fly=False)
        pages[bg] = _layers_of(m)
    key = "村庄 覆盖/未覆盖 Villages covered / not covered"
    a = np.array([f["geometry"]["coordinates"] for f in pages["offline"][key].data["features"]])
    b = np.array([f["geometry"]["coordinates"] for f in pages["amap"][key].data["features"]])
    glon, glat = wgs84_to_gcj02(a[:, 0], a[:, 1])
    np.testing.assert_allclose(b[:, 0], glon, atol=1e-6)
    np.testing.assert_allclose(b[:, 1], glat, atol=1e-6)
    assert np.all(np.abs(b - a) > 1e-4)
    bnd = pages["amap"]["县界/乡镇界 Boundaries"].data["features"][-1]["geometry"]
    ring = _decode(bnd["e"][0])
    glon, glat = wgs84_to_gcj02(114.75, 32.85)  # the outline's first vertex, shifted
    assert abs(ring[0][0] - glon) < 2e-5 and abs(ring[0][1] - glat) < 2e-5  # polygons too


def _decode(text: str) -> list[tuple[float, float]]:
    """Reference decoder of encoded polylines (lon, lat, 1e-5 degrees)."""
    out, i, acc = [], 0, [0, 0]
    while i < len(text):
        for k in range(2):
            shift = res = 0
            while True:
                b = ord(text[i]) - 63
                i += 1
                res |= (b & 31) << shift
                shift += 5
                if b < 32:
                    break
            acc[k] += ~(res >> 1) if res & 1 else res >> 1
        out.append((acc[0] / 1e5, acc[1] / 1e5))
    return out


@given(st.lists(st.tuples(st.floats(73, 135), st.floats(3, 54)), min_size=1, max_size=30))
def test_encoded_polyline_round_trips_to_one_metre(points):
    """Encoded lines decode to the input rounded to 1e-5 degrees (about 1 m), deltas included."""
    from netplan.maps.geojson import encode_polyline

    xy = np.array(points)
    back = np.array(_decode(encode_polyline(xy)))
    np.testing.assert_allclose(back, np.round(xy, 5), atol=1e-9)


def test_routes_are_stored_encoded_and_simplified():
    """Route lines along roads travel as encoded polylines with at most their input vertices."""
    from shapely.geometry import LineString

    layers, _, _ = fake_plan()
    r = layers["routes"].copy()
    zigzag = LineString([(114.6 + 1e-6 * i, 32.9 + (1e-7 if i % 2 else 0)) for i in range(500)])
    r.loc[0, "geometry"] = zigzag  # 500 vertices within 1 m of a straight line
    from netplan.maps.routes import routes_layers

    coll = routes_layers(r, ["straw"])[0].data["features"][0]["geometry"]
    assert coll["type"] == "LineString" and "coordinates" not in coll
    assert len(_decode(coll["e"])) == 2


def test_unknown_background_is_an_input_error(tmp_path):
    """background must be offline, osm or amap."""
    layers, kpis, _ = fake_plan()
    with pytest.raises(InputError, match="background"):
        write_maps(tmp_path, layers, kpis, background="google", **KW)


def test_township_coverage_is_share_of_covered_villages():
    """Township coverage is the pipeline's <stream>_village_coverage column, or without it the
    share of the township's villages that are covered."""
    layers, _, _ = fake_plan()
    cov = township_coverage(layers["townships"], layers["villages"], "film")
    np.testing.assert_allclose(cov, [4 / 6, 0.0])
    t = layers["townships"].assign(film_village_coverage=[0.5, 0.25])
    np.testing.assert_allclose(township_coverage(t, layers["villages"], "film"), [0.5, 0.25])


@given(value=st.floats(0, 1), target=st.floats(0, 1))
def test_coverage_class_is_met_exactly_when_value_reaches_target(value, target):
    """met iff value >= target (1e-9 float tolerance); near iff short by at most 0.10; else far."""
    c = coverage_class(value, target)
    assert (c == "met") == (value >= target - 1e-9)
    if c != "met" and value >= target - 0.10 + 1e-12:
        assert c == "near"
    if value < target - 0.10 - 1e-12:
        assert c == "far"
    assert coverage_class(value, None) == "no_target"


def test_kpi_panel_shows_value_target_and_verdict():
    """Each targeted indicator shows achieved value, target and pass/fail; counts are summed."""
    _, kpis, _ = fake_plan()
    html = kpi_panel_html(kpis, ["straw"], STREAM_LABELS)
    assert "1/2 项达标 targets met" in html
    assert "83.3%" in html and "82.0%" in html and "✓ 达标 pass" in html
    assert "91.0%" in html and "93.0%" in html and "✗ 未达标 fail" in html
    assert "12.3 万元/yr" in html and "250 万元/yr" in html  # untargeted rows too, money in 万元
    assert "农膜" not in html and "类别 Stream" not in html  # one stream: no stream column
    assert "全县 年化总成本" in html
    both = kpi_panel_html(kpis, STREAMS, STREAM_LABELS)
    assert "类别 Stream" in both and "<td>农膜</td>" in both and "2/4 项达标 targets met" in both


def test_compare_map_has_two_synchronised_maps(tmp_path):
    """The comparison page holds two maps and the script that keeps their views together."""
    layers, kpis, _ = fake_plan()
    b = {**layers, "sites": layers["sites"][layers["sites"].site_id != "V11"]}
    p = write_compare_map(tmp_path / "cmp.html", layers, b, labels=("甲", "乙"), kpis_a=kpis,
                          kpis_b=kpis, stream_labels=STREAM_LABELS, tier_labels=TIER_LABELS)
    html = p.read_text(encoding="utf-8")
    assert len(re.findall(r"= L\.map\(", html)) == 2
    assert "dst.setView(src.getCenter(), src.getZoom()" in html
    assert external_references(html) == []


def test_thousands_of_villages_give_a_compact_page(tmp_path):
    """3,000 villages: one canvas layer, under ~350 bytes per village, page < 1.5 MB."""
    layers, kpis = big_plan(3000)
    (p,) = [q for q in write_maps(tmp_path, layers, kpis, **{**KW, "streams": ["straw"]})
            if q.name == "straw.html"]
    size = p.stat().st_size
    base = write_maps(tmp_path / "small", fake_plan()[0], kpis, **{**KW, "streams": ["straw"]})
    per_village = (size - base[1].stat().st_size) / 3000
    assert per_village < 350, per_village
    assert size < 1_500_000


def test_pngs_are_written_per_stream(tmp_path):
    """index.png and <stream>.png are real figures (coloured pixels, not blank)."""
    from matplotlib.image import imread

    layers, kpis, areas = fake_plan()
    paths = write_pngs(tmp_path, layers, kpis, streams=STREAMS, title="测试县 Test county",
                       stream_labels=STREAM_LABELS, tier_labels=TIER_LABELS,
                       service_areas=areas, dpi=60)
    assert [p.name for p in paths] == ["index.png", "straw.png", "film.png"]
    img = imread(paths[0])
    assert img.shape[0] == 480 and img.shape[1] == 720
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 50


def test_pngs_fall_back_to_english_without_a_cjk_font(tmp_path, monkeypatch):
    """With no Chinese font installed, labels are English and no missing-glyph warning occurs."""
    import warnings

    monkeypatch.setattr(static_mod, "cjk_font", lambda: None)
    layers, kpis, _ = fake_plan()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (p,) = write_pngs(tmp_path, layers, kpis, streams=["film"], title="Test county",
                          stream_labels=STREAM_LABELS, dpi=40)[1:]
    assert p.stat().st_size > 5_000
    text = static_mod.kpi_text(kpis, ["film"], False)
    assert "recovery_rate" in text and "FAIL" in text and "PASS" in text
    assert "农膜" not in text


def test_page_embeds_geojson_with_rounded_coordinates(tmp_path):
    """Coordinates are written with at most 6 decimals (0.1 m) to keep pages small."""
    layers, kpis, _ = fake_plan()
    m = new_map([[32.85, 114.55], [32.97, 114.75]], "offline")
    populate(m, layers, kpis, ["straw"], stream_labels=STREAM_LABELS, tier_labels=TIER_LABELS,
             service_areas=None, background="offline", crow_fly=False)
    for layer in _layers_of(m).values():
        for num in re.findall(r"-?\d+\.\d+", json.dumps(layer.data["features"][:3])):
            if "." in num and len(num.split(".")[1]) > 6:
                raise AssertionError(num)


def test_service_areas_follow_the_roads_not_circles(tmp_path):
    """Service areas from the road engine hug the road (a thin cross), unlike a circle of the same
    radius, and reach the page as one polygon per village point."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from netplan.maps import service_area_layers
    from netplan.roads import RoadNetwork

    x0, y0 = 114.60, 32.90
    arms = [(x0 - 0.05, y0), (x0 + 0.05, y0), (x0, y0 - 0.05), (x0, y0 + 0.05)]
    roads = gpd.GeoDataFrame({"highway": ["tertiary"] * 4},
                             geometry=[LineString([(x0, y0), end]) for end in arms], crs=4326)
    net = RoadNetwork.from_lines(roads, name="cross")
    net.cache_dir = None
    sites = gpd.GeoDataFrame({"site_id": ["P1"], "stream": ["straw"], "tier": ["village_point"]},
                             geometry=[Point(x0, y0)], crs=4326)
    areas = service_area_layers(net, sites, {"straw": 3000.0, "film": 1000.0})
    assert list(areas) == ["straw"]
    a = areas["straw"]
    assert list(a["site_id"]) == ["P1"] and a["limit_m"].iloc[0] == 3000.0
    area_m2 = a.to_crs(32650).area.iloc[0]
    assert area_m2 < 0.2 * 3.1416 * 3000.0**2  # a road-hugging cross, far below the circle
    w, s, e, n = a.to_crs(32650).total_bounds
    assert 5000 < e - w < 6800 and 5000 < n - s < 6800  # about 3 km each way along the roads
    layers, kpis, _ = fake_plan()
    (_, straw, _) = write_maps(tmp_path, layers, kpis, service_areas=areas, **KW)
    assert "Service areas (road network)" in straw.read_text(encoding="utf-8")


def test_names_with_template_and_html_syntax_are_shown_literally(tmp_path):
    """Names holding Jinja ({{ }}, {% %}) or HTML syntax render as text, not as code."""
    layers, kpis, _ = fake_plan()
    v = layers["villages"].copy()
    v.loc[0, "name"] = "{{ x }}{% if %}{#村"
    v.loc[1, "name"] = "<script>alert(1)</script>"
    layers = {**layers, "villages": v}
    (index, *_) = write_maps(tmp_path, layers, kpis, **{**KW, "title": "县{{ t }} {%x%}"})
    html = index.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "县{\\u007b t }} {\\u0025x%}" in html
    assert "{\\u007b x }}{\\u0025 if %}{\\u0023村" in html
