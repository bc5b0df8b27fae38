"""Every map netplan writes opens and draws in a real chromium with the network blocked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fake_county import STREAM_LABELS, STREAMS, TIER_LABELS, big_plan, fake_plan

from netplan.maps import write_compare_map, write_maps

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("NETPLAN_SCREENSHOTS", REPO / "maps" / "_screenshots"))
DEMO_MAPS = Path(os.environ.get("NETPLAN_DEMO_MAPS", REPO / "maps" / "demo"))
TITLE = "测试县 Test county"

STREAM_LAYERS = [
    "乡镇覆盖率对比目标 Township coverage vs target",
    "县界/乡镇界 Boundaries",
    "服务连线 Catchments",
    "收运路线 Collection routes (colour per vehicle)",
    "村庄 覆盖/未覆盖 Villages covered / not covered",
]


@pytest.fixture(scope="session")
def maps(served_root: Path) -> Path:
    """Write every kind of page under the served folder (once per session)."""
    layers, kpis, areas = fake_plan()
    kw = dict(title=TITLE, streams=STREAMS, stream_labels=STREAM_LABELS, tier_labels=TIER_LABELS)
    write_maps(served_root / "offline", layers, kpis, service_areas=areas, **kw)
    write_maps(served_root / "lib", layers, kpis, self_contained=False, **kw)
    write_maps(served_root / "amap", layers, kpis, background="amap", **kw)
    write_maps(served_root / "osm", layers, kpis, background="osm", **kw)
    layers_b = {**layers, "sites": layers["sites"][layers["sites"].site_id != "V11"]}
    write_compare_map(served_root / "compare.html", layers, layers_b, labels=("方案A", "方案B"),
                      kpis_a=kpis, kpis_b=kpis, streams=["straw"], stream_labels=STREAM_LABELS,
                      tier_labels=TIER_LABELS)
    big_layers, big_kpis = big_plan(3000)
    write_maps(served_root / "big", big_layers, big_kpis, **{**kw, "streams": ["straw"]})
    if DEMO_MAPS.is_dir() and (DEMO_MAPS / "index.html").exists():
        shutil.copytree(DEMO_MAPS, served_root / "demo", dirs_exist_ok=True)
    return served_root


def _clean(v, *, allow_tiles: bool = False) -> None:
    failed = v.failed
    if allow_tiles:  # Leaflet cancels the tiles of the zoom level it leaves while fitting
        failed = [f for f in failed if not (f.split()[0] in v.tiles and "ERR_ABORTED" in f)]
    assert failed == [], f"failed requests: {failed}"
    assert v.blocked == [], f"requests to other hosts: {v.blocked}"
    assert v.console_errors == [], f"console errors: {v.console_errors}"
    assert v.page_errors == [], f"page errors: {v.page_errors}"
    if not allow_tiles:
        assert v.tiles == []


def _overlay_names(page) -> list[str]:
    return [t.strip() for t in
            page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.parametrize("page_name", ["index", "straw", "film"])
def test_offline_map_draws_with_network_blocked(maps, visit, page_name):
    """Each page loads with only 127.0.0.1 reachable: no failed request, no console error,
    the layer control lists the layers, the KPI panel shows targets, and the canvas is drawn."""
    v = visit(f"offline/{page_name}.html")
    _clean(v)
    page = v.page
    names = _overlay_names(page)
    for layer in STREAM_LAYERS:
        assert layer in names
    if page_name == "straw":
        assert "服务范围(路网) Service areas (road network)" in names
        assert "村级收储点 Village point" in names and "乡镇收储中心 Township station" in names
    kpi = page.locator("#np-kpi").inner_text()
    assert "目标 Target" in kpi
    if page_name in ("index", "straw"):
        assert "82.0%" in kpi and "✓ 达标 pass" in kpi
    if page_name in ("index", "film"):
        assert "100.0%" in kpi and "✗ 未达标 fail" in kpi
    assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
    n_icons = page.locator(".leaflet-marker-pane .np-icon").count()
    assert n_icons == {"index": 5, "straw": 3, "film": 2}[page_name]
    assert page.locator("#np-legend").is_visible()
    _shot(page, f"offline-{page_name}")


def test_popup_shows_load_capacity_and_utilisation(maps, visit):
    """Clicking a township station opens a popup with its load, capacity and utilisation."""
    v = visit("offline/straw.html")
    icons = v.page.locator(".leaflet-marker-pane .np-icon")
    icons.first.click()
    popup = v.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    assert "负荷 Load" in text and "能力 Capacity" in text and "利用率 Utilisation" in text
    _clean(v)


def test_lib_folder_assets_load_locally(maps, visit):
    """Pages linking ``lib/leaflet`` next to them fetch only local files, all successfully."""
    v = visit("lib/straw.html")
    _clean(v)
    assert any(u.endswith("/lib/leaflet/leaflet.js") for u in v.requests)
    assert all(u.startswith("http://127.0.0.1") or u.startswith("data:") for u in v.requests)


@pytest.mark.parametrize(("bg", "host", "path", "name"), [
    ("amap", "is.autonavi.com", "autonavi.com/appmaptile", "高德地图 Gaode/AMap"),
    ("osm", "tile.openstreetmap.org", "tile.openstreetmap.org/", "OpenStreetMap"),
])
def test_online_background_requests_its_tiles_only(maps, visit, bg, host, path, name):
    """An online background asks its tile host for tiles and nothing else leaves the machine."""
    v = visit(f"{bg}/index.html", tile_hosts=(host,))
    _clean(v, allow_tiles=True)
    assert v.tiles and all(path in u for u in v.tiles)
    assert name in v.page.locator(".leaflet-control-layers-base").inner_text()
    assert v.page.locator(".leaflet-overlay-pane canvas").count() >= 1


def test_compare_map_is_synchronised(maps, visit):
    """Both halves draw; zooming the left map moves the right one to the same view."""
    v = visit("compare.html")
    _clean(v)
    page = v.page
    assert page.locator(".folium-map").count() == 2
    assert "方案A" in page.locator("#np-kpi-0").inner_text()
    assert "方案B" in page.locator("#np-kpi-1").inner_text()
    page.locator(".leaflet-control-layers").first.hover()  # collapsed control opens on hover
    assert "收运路线 Collection routes (colour per vehicle)" in _overlay_names(page)
    page.mouse.move(640, 500)
    before = page.evaluate("netplanCompare[1].getZoom()")
    page.evaluate("netplanCompare[0].setZoom(netplanCompare[0].getZoom() + 1)")
    page.wait_for_timeout(400)
    za, zb = page.evaluate("[netplanCompare[0].getZoom(), netplanCompare[1].getZoom()]")
    assert za == zb == before + 1
    ca, cb = page.evaluate("[netplanCompare[0].getCenter(), netplanCompare[1].getCenter()]")
    assert abs(ca["lat"] - cb["lat"]) < 1e-6 and abs(ca["lng"] - cb["lng"]) < 1e-6
    _shot(page, "compare")


def test_three_thousand_villages_stay_responsive(maps, visit):
    """3,000 villages draw on one canvas (no DOM marker per village) and load in seconds."""
    v = visit("big/straw.html")
    _clean(v)
    page = v.page
    t = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    assert t < 10_000
    assert page.locator(".leaflet-marker-pane > *").count() < 20
    assert page.locator("path.leaflet-interactive").count() == 0  # canvas, not SVG
    _shot(page, "big-straw")


def test_demo_maps_pass(maps, visit):
    """The maps `make demo` wrote (maps/demo) open with no network and show layers and KPIs."""
    demo = maps / "demo"
    if not demo.is_dir():
        pytest.skip(f"no demo maps at {DEMO_MAPS}: run `make demo` first")
    pages = sorted(p.name for p in demo.glob("*.html")
                   if "L.map(" in p.read_text(encoding="utf-8", errors="ignore"))
    assert "index.html" in pages and len(pages) >= 2
    for name in pages:
        v = visit(f"demo/{name}")
        _clean(v)
        assert len(_overlay_names(v.page)) >= 4
        assert "目标 Target" in v.page.locator("[id^=np-kpi]").first.inner_text()
        _shot(v.page, f"demo-{name[:-5]}")
