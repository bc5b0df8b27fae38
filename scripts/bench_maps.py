"""Benchmark: map file size and browser responsiveness for thousands of villages.

netplan's page (one canvas GeoJSON layer, popups built on click, Leaflet inlined) against the
anchor: folium's idiomatic page for the same villages (one ``folium.CircleMarker`` with a
``folium.Popup`` per village in a FeatureGroup, SVG rendering), with its CDN links pointed at the
same bundled Leaflet so that it can load here at all. Both are opened in Debian's chromium (network
blocked) and timed: page load (navigation to load event) and one zoom step redrawn (setZoom + two
animation frames). Run: ``.venv/bin/python scripts/bench_maps.py [--sizes 1000 5000 20000]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import folium

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
from fake_county import STREAM_LABELS, TIER_LABELS, big_plan  # noqa: E402

from netplan.maps import write_maps  # noqa: E402
from netplan.maps.assets import STATIC_DIR  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ZOOM_JS = """async () => {
  const k = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  const m = window[k];
  const t0 = performance.now();
  m.setZoom(m.getZoom() + 1, {animate: false});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


def anchor_page(path: Path, layers: dict) -> Path:
    """folium's per-marker page for the same villages, CDN links swapped for local Leaflet."""
    v = layers["villages"]
    w, s, e, n = v.total_bounds
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=11, tiles=None)
    fg = folium.FeatureGroup(name="villages").add_to(m)
    for r in v.itertuples():
        colour = "#1a9641" if r.straw_covered else "#d7191c"
        html = (f"<b>{r.name} ({r.village_id})</b><br>乡镇 {r.township}<br>人口 {r.population}"
                f"<br>秸秆 {r.straw_t_yr:.1f} t/yr {'✓' if r.straw_covered else '✗'}")
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=4, color="#fff", weight=0.6,
                            fill=True, fill_color=colour, fill_opacity=0.9,
                            popup=folium.Popup(html, max_width=300)).add_to(fg)
    folium.LayerControl().add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    m.default_js = [("leaflet", "lib/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", "lib/leaflet/leaflet.css")]
    m.save(str(path))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_maps_"))
    shutil.copytree(STATIC_DIR, root / "lib")
    pages = {}
    for n in args.sizes:
        layers, kpis = big_plan(n)
        t0 = time.perf_counter()
        (p,) = [q for q in write_maps(root / f"np{n}", layers, kpis, title="bench",
                                      streams=["straw"], stream_labels=STREAM_LABELS,
                                      tier_labels=TIER_LABELS) if q.name == "straw.html"]
        t_np = time.perf_counter() - t0
        t0 = time.perf_counter()
        a = anchor_page(root / f"anchor{n}.html", layers)
        t_a = time.perf_counter() - t0
        pages[n] = (p, t_np, a, t_a)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            return

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    timings: dict[tuple[int, str], tuple[float, float]] = {}
    exe = shutil.which("chromium")
    if exe:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(prefix="chromium-"), executable_path=exe, headless=True,
                args=ARGS, viewport={"width": 1280, "height": 860})
            for n, (p, _, a, _) in pages.items():
                for label, page_path in (("netplan", p), ("anchor", a)):
                    page = ctx.new_page()
                    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                               else r.abort())
                    page.goto(f"{base}/{page_path.relative_to(root)}", wait_until="load",
                              timeout=300_000)
                    load = page.evaluate(
                        "performance.getEntriesByType('navigation')[0].loadEventEnd")
                    zoom = page.evaluate(ZOOM_JS)
                    timings[(n, label)] = (load, zoom)
                    page.close()
            ctx.close()
    httpd.shutdown()

    print("| villages | netplan KB | folium per-marker KB | size ratio | netplan load ms |"
          " folium load ms | load ratio | netplan zoom ms | folium zoom ms | write s (np/folium) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, (p, t_np, a, t_a) in pages.items():
        kb_np, kb_a = p.stat().st_size / 1024, a.stat().st_size / 1024
        ln, zn = timings.get((n, "netplan"), (float("nan"),) * 2)
        la, za = timings.get((n, "anchor"), (float("nan"),) * 2)
        print(f"| {n:,} | {kb_np:,.0f} | {kb_a:,.0f} | {kb_np / kb_a:.2f} | {ln:,.0f} | {la:,.0f} |"
              f" {ln / la:.2f} | {zn:,.0f} | {za:,.0f} | {t_np:.1f} / {t_a:.1f} |")
    if not exe:
        print("chromium not installed: browser timings not measured")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
