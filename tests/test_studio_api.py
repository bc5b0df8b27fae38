"""The studio's API (netplan serve, docs/studio.md) on the template county with Starlette's
TestClient: evaluations, bad inputs, path traversal, 20 concurrent evaluations, saving a layout that
`netplan evaluate` scores to the same KPIs, and the optimisation endpoints."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from test_hostile_cli import cli, make_base

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from netplan.runfolder import read_kpis  # noqa: E402


def start_layout(scenario: Path, out: Path) -> Path:
    """The county's proposal (netplan.layout_io.proposed_layout) plus a straw point in every
    village (straw coverage meets its target) as the studio's starting table."""
    from netplan.layout_io import proposed_layout, write_layout
    from netplan.planner import load_inputs
    from netplan.scenario import load_scenario

    sc = load_scenario(scenario)
    county = load_inputs(sc)
    t = pd.DataFrame(proposed_layout(county, sc)).drop(columns="geometry")
    v = county.villages
    have = set(t.loc[t["tier"] == "village_point", "site_id"])
    rows = [{"site_id": f"V{r.village_id}", "name": str(r.name), "streams": "straw",
             "tier": "village_point", "lon": r.geometry.x, "lat": r.geometry.y, "capacity_t": None,
             "status": "new", "parent_id": None}
            for r in v.itertuples() if f"V{r.village_id}" not in have]
    t = pd.concat([t, pd.DataFrame(rows)], ignore_index=True)
    return write_layout(t, out / "start.csv")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """(client, scenario path, save folder) of a studio on the template county."""
    from netplan.studio.load import create_app

    county, scen = make_base(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("studio")
    start = start_layout(scen, tmp)
    # default_runs: not the working tree's maps/ (CI runs `make demo` first, which writes maps/demo)
    app = create_app(scen, start, save_dir=tmp / "saved", default_runs=tmp / "runs")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, scen, tmp / "saved"


def _sites(client) -> list[dict]:
    r = client.get("/api/sites")
    assert r.status_code == 200
    return r.json()["sites"]


def _kpi(res: dict, stream: str, ind: str) -> dict:
    return next(k for k in res["kpis"] if k["stream"] == stream and k["indicator"] == ind)


def test_sites_have_the_documented_fields(studio):
    client, _, _ = studio
    sites = _sites(client)
    assert sites
    for key in ("site_id", "stream", "tier", "status", "lon", "lat", "load", "capacity"):
        assert key in sites[0]
    assert {s["tier"] for s in sites} >= {"village_point", "township_station"}
    assert sum(s["load"] for s in sites) > 0


def test_closing_straw_points_lowers_straw_coverage(studio):
    client, _, _ = studio
    base = client.post("/api/evaluate", json={}).json()
    pts = [s["site_id"] for s in _sites(client)
           if "straw" in s["streams"] and s["tier"] == "village_point"]
    assert len(pts) >= 2
    after = client.post("/api/evaluate", json={"closed": pts}).json()
    b, a = _kpi(base, "straw", "village_coverage"), _kpi(after, "straw", "village_coverage")
    assert a["value"] < b["value"] and a["met"] is False
    assert a["target"] == pytest.approx(0.82)
    # the coverage colours follow: fewer covered villages for straw
    assert sum(x == 1 for x in after["coverage"]["straw"]) < sum(x == 1 for x in base["coverage"]["straw"])
    # reopening gives the base figures back
    back = client.post("/api/evaluate", json={"closed": pts, "open": pts}).json()
    assert _kpi(back, "straw", "village_coverage")["value"] == b["value"]


def test_move_and_add_use_candidates(studio):
    client, _, _ = studio
    sites = _sites(client)
    cands = client.get("/api/candidates").json()["candidates"]
    used = {s["site_id"] for s in sites if s["tier"] == "township_station"}
    free = next(c for c in cands if c["site_id"] not in used and c["kind"] == "village")
    st = next(s for s in sites if s["tier"] == "township_station")
    r = client.post("/api/evaluate", json={"moved": [{"site_id": st["site_id"], "to": free["site_id"]}]})
    assert r.status_code == 200, r.text
    assert free["site_id"] in r.json()["open_sites"] and st["site_id"] not in r.json()["open_sites"]
    moved = [x for x in r.json()["layout"] if x["site_id"] == free["site_id"]
             and x["tier"] == "township_station"]
    assert [(x["lon"], x["lat"]) for x in moved] == [(free["lon"], free["lat"])]
    # a dragged point snaps to the nearest candidate
    r = client.post("/api/evaluate", json={"open": [{"lon": free["lon"] + 1e-4, "lat": free["lat"],
                                                      "tier": "township_station", "streams": ["film"]}]})
    assert r.status_code == 200, r.text
    assert free["site_id"] in r.json()["open_sites"]
    assert r.json()["loads"][free["site_id"]]["capacity"] > 0


@pytest.mark.parametrize(("body", "status", "needle"), [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 422, "JSON object"),
    (b'{"closed": "S1"}', 422, "must be a list"),
    (b'{"closed": ["NO_SUCH_SITE"]}', 422, "NO_SUCH_SITE"),
    (b'{"open": [{"site_id": "NO_SUCH", "tier": "village_point"}]}', 422, "NO_SUCH"),
    (b'{"open": [{"site_id": "x", "tier": "castle"}]}', 422, "unknown tier"),
    (b'{"moved": [{"site_id": "NO_SUCH", "to": "x"}]}', 422, "NO_SUCH"),
    (b'{"frobnicate": []}', 422, "unknown key"),
    (b'{"open": [{"lon": 10.0, "lat": 10.0, "tier": "village_point"}]}', 422, "outside the county"),
    (b'{"open": [{"lon": "east", "lat": 1, "tier": "village_point"}]}', 422, "numbers"),
])
def test_bad_inputs_get_4xx_with_a_message(studio, body, status, needle):
    client, _, _ = studio
    r = client.post("/api/evaluate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    assert "Traceback" not in r.text


def test_out_of_county_move_is_refused(studio):
    client, _, _ = studio
    s = _sites(client)[0]
    r = client.post("/api/evaluate", json={"moved": [{"site_id": s["site_id"], "lon": 120.0, "lat": 40.0}]})
    assert r.status_code == 422 and "outside the county" in r.json()["error"]


@pytest.mark.parametrize("path", [
    "/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..%2f..%2fapp.py", "/lib/../assets.py", "/lib/..%2f..%2f..%2fpyproject.toml",
    "/static//etc/passwd", "/lib/%2fetc%2fpasswd", "/../../etc/passwd", "/api/../../etc/passwd",
])
def test_no_file_outside_the_assets_is_served(studio, path):
    client, _, _ = studio
    r = client.get(path)
    assert r.status_code in (400, 404, 405), (path, r.status_code)
    assert "root:" not in r.text and "[project]" not in r.text and "import " not in r.text


def test_assets_are_served_locally(studio):
    client, _, _ = studio
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="kpi-panel"' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert client.get("/lib/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/studio.js").status_code == 200


def test_twenty_concurrent_evaluations(studio):
    client, _, _ = studio
    pts = [s["site_id"] for s in _sites(client) if s["tier"] == "village_point"]
    bodies = [{"closed": pts[: i % max(1, len(pts))]} for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as ex:
        res = list(ex.map(lambda b: client.post("/api/evaluate", json=b), bodies))
    assert [r.status_code for r in res] == [200] * 20
    # the same change set gives the same answer whatever ran beside it
    again = client.post("/api/evaluate", json=bodies[5]).json()
    assert res[5].json()["kpis"] == again["kpis"]


def test_evaluation_is_fast_on_prepared_matrices(studio):
    client, _, _ = studio
    client.post("/api/evaluate", json={})
    t0 = time.process_time()
    r = client.post("/api/evaluate", json={})
    assert r.status_code == 200
    assert time.process_time() - t0 < 1.0  # CPU seconds: the shared test machine stretches wall time


def test_saved_layout_round_trips_through_netplan_evaluate(studio, tmp_path):
    client, scen, saved = studio
    pts = [s["site_id"] for s in _sites(client) if "straw" in s["streams"] and s["tier"] == "village_point"]
    stations = [s["site_id"] for s in _sites(client) if s["tier"] == "township_station"]
    changes = {"closed": pts[: len(pts) // 2] + stations[:1]}
    res = client.post("/api/evaluate", json=changes).json()
    r = client.post("/api/save", json={"name": "mine.csv", "changes": changes})
    assert r.status_code == 200, r.text
    path = Path(r.json()["path"])
    assert path == saved / "mine.csv" and path.is_file()
    out = tmp_path / "ev"
    run = cli("evaluate", path, "--scenario", scen, "--out", out, "--no-maps")
    assert run.exit_code == 0, run.output
    k = read_kpis(out / "kpis.csv")
    k = k[k["target"].notna()]
    got = {(r.stream, r.indicator): (round(float(r.value), 6), bool(r.met)) for r in k.itertuples()}
    want = {(x["stream"], x["indicator"]): (round(x["value"], 6), x["met"]) for x in res["kpis"]
            if x["target"] is not None}
    assert got == want
    cost = read_kpis(out / "kpis.csv")
    tc = cost[(cost["stream"] == "straw") & (cost["indicator"] == "total_cost_cny_yr")]["value"]
    assert float(tc.iloc[0]) == pytest.approx(_kpi(res, "straw", "total_cost_cny_yr")["value"], rel=1e-9)


def test_save_refuses_paths(studio):
    client, _, _ = studio
    for name in ("../escape.csv", "/tmp/x.csv", "a/b.csv", "x.exe", ""):
        r = client.post("/api/save", json={"name": name})
        assert r.status_code == 400, name


def test_optimise_cancel_and_failure_leave_the_server_up(studio):
    client, _, _ = studio
    assert client.get("/api/optimise").json()["state"] in ("idle", "done", "failed", "cancelled")
    r = client.post("/api/optimise", json={})
    assert r.status_code == 202
    assert client.post("/api/optimise", json={}).status_code == 409  # one at a time
    c = client.delete("/api/optimise").json()
    assert c["state"] == "cancelled"
    # closing every county centre leaves nothing to send to: the siting fails, the server stays up
    centres = [s["site_id"] for s in _sites(client) if s["tier"] == "county_center"]
    cands = [c["site_id"] for c in client.get("/api/candidates").json()["candidates"]]
    r = client.post("/api/optimise", json={"closed": centres})
    assert r.status_code == 202
    job = _wait(client)
    assert job["state"] in ("failed", "done")
    assert client.post("/api/evaluate", json={}).status_code == 200
    assert cands


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_a_failing_or_crashing_optimisation_keeps_the_layout(studio, monkeypatch, how):
    """The siting raising, or its process dying, fails the job; the base layout and the server stay."""
    import os

    from netplan.studio import jobs

    def broken(*a, **k):
        if how == "dies":
            os._exit(3)
        raise RuntimeError("the solver gave up")

    monkeypatch.setattr(jobs, "site", broken)  # the forked child inherits the patch
    client, _, _ = studio
    before = _sites(client)
    assert client.post("/api/optimise", json={}).status_code == 202
    job = _wait(client)
    assert job["state"] == "failed"
    assert ("the solver gave up" if how == "raises" else "ended without a result") in job["error"]
    assert _sites(client) == before
    assert client.post("/api/evaluate", json={}).status_code == 200


def test_optimise_around_choices_loads_the_new_layout(studio):
    client, _, _ = studio
    before = {(s["site_id"], s["tier"]) for s in _sites(client)}
    pts = [s["site_id"] for s in _sites(client) if "straw" in s["streams"] and s["tier"] == "village_point"]
    keep_closed = pts[0]
    r = client.post("/api/optimise", json={"closed": [keep_closed]})
    assert r.status_code == 202, r.text
    job = _wait(client)
    assert job["state"] == "done", job
    after = _sites(client)
    assert {(s["site_id"], s["tier"]) for s in after} != before
    # the planner's choice holds: the closed point is not open for straw at the village tier
    assert not any(s["site_id"] == keep_closed and s["tier"] == "village_point" and s["status"] != "closed"
                   and "straw" in s["streams"] for s in after)
    assert client.post("/api/evaluate", json={}).status_code == 200


def _wait(client, timeout_s: float = 300.0, what: str = "optimise") -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        job = client.get(f"/api/{what}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.5)
    client.delete(f"/api/{what}")
    raise AssertionError(f"the {what} job did not finish")


def test_optimise_keeps_a_site_the_planner_added(studio):
    """An added site is fixed open (the siting's force_open), a closed one forbidden."""
    client, _, _ = studio
    sites = _sites(client)
    used = {s["site_id"] for s in sites if s["tier"] == "township_station"}
    cands = client.get("/api/candidates").json()["candidates"]
    add = next(c["site_id"] for c in cands if c["kind"] == "village" and c["site_id"] not in used)
    body = {"open": [{"site_id": add, "tier": "township_station", "streams": ["film"]}]}
    assert client.post("/api/evaluate", json=body).status_code == 200
    assert client.post("/api/optimise", json=body).status_code == 202
    job = _wait(client)
    assert job["state"] == "done", job
    after = _sites(client)
    assert any(s["site_id"] == add and s["tier"] == "township_station" and s["status"] != "closed"
               and "film" in s["streams"] for s in after)


def test_routes_are_replanned_in_the_background(studio):
    client, _, _ = studio
    pts = [s["site_id"] for s in _sites(client) if s["tier"] == "village_point"]
    body = {"closed": pts[:1]}  # one point: the (maybe re-optimised) base keeps rounds to plan
    ev = client.post("/api/evaluate", json=body).json()
    assert set(ev["pending"]) >= {"collection_vehicle_km_yr", "haulage_vehicle_km_yr",
                                  "collection_co2_kg_yr", "haulage_co2_kg_yr"}
    r = client.post("/api/routes", json=body)
    assert r.status_code in (200, 202) and r.json()["key"] == ev["routes_key"]
    t0 = time.monotonic()
    j = r.json()
    while j["state"] == "running" and time.monotonic() - t0 < 120:
        time.sleep(0.3)
        j = client.get("/api/routes", params={"key": ev["routes_key"]}).json()
    assert j["state"] == "done", j
    got = {(k["stream"], k["indicator"]) for k in j["kpis"]}
    assert ("straw", "collection_vehicle_km_yr") in got and ("all", "transport_co2_kg_yr") in got
    assert j["routes"] and all(len(x["coords"]) >= 2 for x in j["routes"])
    # asked again: known at once; a newer change set supersedes an older running job
    assert client.post("/api/routes", json=body).json()["state"] == "done"
    assert client.get("/api/routes", params={"key": "0" * 16}).json()["state"] == "superseded"


@pytest.mark.parametrize("key", ["", "zz", "../../etc/passwd", "0" * 40])
def test_routes_bad_key(studio, key):
    client, _, _ = studio
    r = client.get("/api/routes", params={"key": key})
    assert r.status_code == 400 and "key" in r.json()["error"]


def test_compare_with_the_starting_layout(studio):
    client, _, saved = studio
    pts = [s["site_id"] for s in _sites(client) if s["tier"] == "village_point"]
    r = client.post("/api/compare", json={"closed": pts[:5]})
    assert r.status_code == 202, r.text
    assert client.post("/api/compare", json={}).status_code == 409  # one at a time
    job = _wait(client, what="compare")
    assert job["state"] == "done", job
    assert "compare_map.html" in job["result"]["files"]
    assert job["result"]["labels"] == ["studio-start", "studio-layout"]
    page = client.get("/compare/compare_map.html")
    assert page.status_code == 200 and "studio-layout" in page.text
    assert client.get("/compare/compare.html").status_code == 200
    for bad in ("/compare/../studio-layout/kpis.csv", "/compare/%2e%2e/%2e%2e/mine.csv",
                "/compare/..%2f..%2fstart.csv"):
        assert client.get(bad).status_code == 404, bad
    assert (saved / "studio-compare" / "studio-layout" / "kpis.csv").is_file()


def test_evaluate_detail_false_gives_the_same_kpis(studio):
    """The studio's fast evaluation (detail=False) has the same KPI rows as the full one."""
    from netplan.evaluate import evaluate
    from netplan.studio import model as M

    app = studio[0].app
    st = app.state.studio
    s = M.score(st.prep, st.table)
    full = evaluate(st.prep.scenario, st.prep.county, st.prep.supply, s.layout, st.prep.site_frame)
    pd.testing.assert_frame_equal(s.evaluation.kpis, full.kpis)


def test_compare_with_the_optimal_plan_run(tmp_path_factory):
    """Started from a run folder of netplan plan, the studio compares with that plan."""
    from test_hostile_cli import make_run

    from netplan.studio.load import create_app

    base = make_base(tmp_path_factory)
    run = make_run(base, tmp_path_factory)
    save = tmp_path_factory.mktemp("studio_opt")
    app = create_app(base[1], run, save_dir=save)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/meta").json()["reference"] == str(run)
        pts = [s["site_id"] for s in _sites(client) if s["tier"] == "village_point"]
        assert client.post("/api/compare", json={"closed": pts[:1]}).status_code == 202
        job = _wait(client, what="compare")
        assert job["state"] == "done", job
        assert job["result"]["labels"] == ["run1", "studio-layout"]
        assert job["result"]["runs"][0] == str(run)
        assert not (save / "studio-compare" / "studio-start").exists()
        html = client.get("/compare/compare.html").text
        assert "run1" in html and "studio-layout" in html
