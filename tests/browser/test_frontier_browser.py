"""frontier.html draws in a real chromium with the network blocked: no failed request, no console
error; a point per solved target, the seed plans' targets as lines, hover shows the sites per
tier, click opens the point's map."""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd
import pytest

from netplan.analysis.chart import frontier_html
from netplan.analysis.curve import COLUMNS


def _row(t, ach, cost, v, status="optimal", run=None):
    return {"stream": "straw", "indicator": "village_coverage", "target": t, "achieved": ach,
            "total_cost_cny_yr": cost, "capex_cny": cost * 4, "opex_cny_yr": cost / 5,
            "transport_cost_cny_yr": cost / 3, "sites_village_point": v, "sites_township_station": 3,
            "sites_county_center": 1, "gap": 0.004, "status": status,
            "run": run if run is not None else f"runs/target_{t:.4f}"}


@pytest.fixture(scope="module")
def page_dir(served_root):
    rows = [_row(0.7, 0.71, 2.0e7, 40), _row(0.82, 0.83, 2.3e7, 52), _row(0.9, 0.9, 2.7e7, 61),
            _row(0.95, 0.95, 3.2e7, 70),
            _row(1.0, float("nan"), float("nan"), None, "infeasible: village V9 out of reach", ""),
            _row(float("nan"), 0.86, 2.45e7, 55, "budget 25,000,000 CNY/yr: max-coverage model, "
                 "0.8600 of the villages (proven the most); cheapest plan of that coverage: "
                 "24,500,000 CNY/yr (gap 0.01%)", "runs/budget_25000000")]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["sites_village_point"] = df["sites_village_point"].astype("Int64")
    d = served_root / "frontier"
    for r in rows[:4] + rows[5:]:
        (d / r["run"]).mkdir(parents=True, exist_ok=True)
        (d / r["run"] / "index.html").write_text(f"<title>map {r['target']}</title>ok",
                                                 encoding="utf-8")
    (d / "frontier.html").write_text(frontier_html(df, title="测试县 frontier", budgets=[2.5e7]),
                                     encoding="utf-8")
    return d


def test_frontier_html_draws_offline(page_dir, browser_context, server):
    """Only 127.0.0.1 is reachable; the chart has 4 points (the infeasible target is a table row,
    not a point), reference lines of the seed plans (82 %, 100 %), a budget line with its plan's
    diamond, marginal-cost bars; hovering a point shows its sites per tier; clicking opens its map."""
    page = browser_context.new_page()
    local = urlsplit(server).netloc
    blocked, failed, errors = [], [], []

    def route(r):
        if urlsplit(r.request.url).netloc == local:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/frontier/frontier.html", wait_until="load")
    page.wait_for_selector("circle.pt")
    assert blocked == [] and failed == [] and errors == []
    assert page.locator("circle.pt").count() == 4
    assert page.locator("rect.bar").count() == 3
    assert page.locator("path.bpt").count() == 1   # the budget's max-coverage plan
    svg_text = page.locator("#chart").text_content()
    assert "zhumadian-2027 82.0 %" in svg_text and "budget 2,500 万元" in svg_text
    rows = page.locator("#rows tr")
    assert rows.count() == 7 and "infeasible" in page.locator("tr.bad").first.inner_text()
    page.locator("circle.pt").nth(1).hover()
    tip = page.locator("#tip")
    assert tip.is_visible() and "52 village points, 3 township stations, 1 county centres" in tip.inner_text()
    page.locator("path.bpt").hover()
    assert "budget 25,000,000 CNY/yr" in tip.inner_text() and "55 village points" in tip.inner_text()
    page.locator("circle.pt").nth(1).click()
    page.wait_for_url("**/runs/target_0.8200/index.html")
    assert page.title() == "map 0.82"
    page.close()


def test_demo_frontier_draws_offline(served_root, browser_context, server):
    """The demo sweep's own frontier.html (``netplan frontier data/scenarios/demo.toml ... --out
    maps/demo-frontier``; skipped when not run) draws a point per solved row, no console error."""
    import os
    import shutil
    from pathlib import Path

    src = Path(os.environ.get("NETPLAN_DEMO_FRONTIER",
                              Path(__file__).resolve().parents[2] / "maps" / "demo-frontier"))
    if not (src / "frontier.html").exists():
        pytest.skip(f"no demo frontier at {src} (run netplan frontier on the demo first)")
    shutil.copytree(src, served_root / "demo-frontier", dirs_exist_ok=True)
    df = pd.read_csv(src / "frontier.csv", encoding="utf-8-sig")
    curve = df[~df["status"].str.startswith("budget") & df["run"].notna()
               & ~df["status"].str.contains("target missed|failed|infeasible")]
    page = browser_context.new_page()
    local = urlsplit(server).netloc
    bad = []
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).netloc == local
               else (bad.append(r.request.url), r.abort()))
    page.on("requestfailed", lambda req: bad.append(req.url))
    page.on("console", lambda m: bad.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: bad.append(str(e)))
    page.goto(f"{server}/demo-frontier/frontier.html", wait_until="load")
    page.wait_for_selector("circle.pt")
    assert bad == []
    assert page.locator("circle.pt").count() == len(curve)
    page.close()
