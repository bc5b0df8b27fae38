"""The studio on the demo county's road network (data/demo/roads.osm): a site dragged to a point is
snapped onto a road, joins the candidates with its road distances, and the saved layout scores to
the same KPIs through `netplan evaluate` (which computes those distances itself)."""

from __future__ import annotations

import numpy as np
import pytest
from test_hostile_cli import cli

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from netplan._paths import data_file  # noqa: E402
from netplan.runfolder import read_kpis  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(client, studio state, scenario path) of a studio on the demo county from its proposal."""
    from netplan.studio.load import create_app

    scen = data_file("scenarios", "demo.toml")
    tmp = tmp_path_factory.mktemp("studio_roads")
    app = create_app(scen, data_file("demo", "layout_proposed.csv"), save_dir=tmp,
                     default_runs=tmp / "runs")   # not the working tree's maps/ (CI's make demo)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.studio, scen


def _station(st):
    return next(r for r in st.table.itertuples() if r.tier == "township_station")


def test_a_dragged_point_snaps_to_the_road(demo):
    client, st, _ = demo
    s = _station(st)
    lon, lat = s.lon + 0.0123, s.lat + 0.0071
    r = client.post("/api/evaluate", json={"moved": [{"site_id": s.site_id, "lon": lon, "lat": lat}]})
    assert r.status_code == 200, r.text
    new = [x for x in r.json()["layout"] if x["tier"] == "township_station" and x["site_id"].startswith("R")]
    assert len(new) == 1
    p = new[0]
    net = st.prep.mats.net
    assert not net.is_crow_fly
    # on a road (the snap of the snapped point moves it by less than the 6-decimal rounding) ...
    rep = net.snap(np.array([[p["lon"], p["lat"]]]))
    assert rep.ok[0] and rep.snap_m[0] < 0.2
    # ... which is the road nearest to the dragged point, not the nearest candidate
    near = net.snap(np.array([[lon, lat]]))
    assert near.edge[0] == rep.edge[0]
    c = st.prep.cands
    i = int(np.flatnonzero(c["site_id"].to_numpy() == p["site_id"])[0])
    assert np.isfinite(st.prep.mats.dem_site_m[:, i]).any() and np.isfinite(st.prep.mats.site_site_m[i]).all()
    assert st.prep.site_frame.shape == (len(c), len(c))
    # the same drag again reuses the site; a point far from any road is refused, as one outside
    again = client.post("/api/evaluate", json={"moved": [{"site_id": s.site_id, "lon": lon, "lat": lat}]})
    assert len(st.prep.cands) == len(c) and again.json()["kpis"] == r.json()["kpis"]
    out = client.post("/api/evaluate", json={"moved": [{"site_id": s.site_id, "lon": 120.0, "lat": 40.0}]})
    assert out.status_code == 422 and "outside the county" in out.json()["error"]


def test_road_point_layout_scores_the_same_through_netplan_evaluate(demo, tmp_path):
    client, st, scen = demo
    s = _station(st)
    pts = [r.site_id for r in st.table.itertuples() if r.tier == "village_point"]
    changes = {"moved": [{"site_id": s.site_id, "lon": s.lon - 0.0093, "lat": s.lat + 0.0112}],
               "closed": pts[:4]}
    res = client.post("/api/evaluate", json=changes).json()
    saved = client.post("/api/save", json={"name": "road.csv", "changes": changes})
    assert saved.status_code == 200, saved.text
    run = cli("evaluate", saved.json()["path"], "--scenario", scen, "--out", tmp_path / "ev", "--no-maps")
    assert run.exit_code == 0, run.output
    k = read_kpis(tmp_path / "ev" / "kpis.csv").set_index(["stream", "indicator"])
    for x in res["kpis"]:
        if x["indicator"] in res["pending"]:
            continue
        want = k.loc[(x["stream"], x["indicator"])]
        assert x["value"] == pytest.approx(float(want["value"]), rel=1e-9, abs=1e-6), x
        if x["target"] is not None:
            assert x["met"] == bool(want["met"]), x
