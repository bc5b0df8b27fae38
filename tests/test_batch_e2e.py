"""End to end: `netplan batch` plans a generated 3-county region on a 2-worker LocalCluster."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from netplan._paths import data_file
from netplan.batch.region import make_region
from netplan.cli import app

# Three neighbouring Zhumadian counties: Shangcai 上蔡, Pingyu 平舆, Zhengyang 正阳.
ADCODES = ("411722", "411723", "411724")
N_VILLAGES = 40


def small_scenario(path: Path, county_dir: Path, *, village_capacity_factor: float = 8.0,
                   time_limit_s: float = 6.0,
                   disable: tuple[str, ...] = ("straw", "manure")) -> Path:
    """demo.toml (tuned for Pingyu) made to fit small generated counties of the whole prefecture.

    - short solver limits, and only the light streams (``disable`` are switched off): on 40
      heavy villages the straw and manure models need far longer than a test may take;
    - village-point capacities scaled: 40 villages carry what ~250 do at full size;
    - recyclables may also get a new county centre at a township seat, at the capital cost the
      scenario gives a new straw centre: the generator's one 30,000 t/yr sorting centre per
      county is smaller than the recyclables of most Zhumadian counties.
    """
    text = data_file("scenarios", "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^county = .*$", f'county = "{county_dir.as_posix()}"', text)
    text = re.sub(r"(?m)^time_limit_s = .*$",
                  f"time_limit_s = {time_limit_s:g}\nrouting_time_limit_s = 0.3", text)

    def scale(m: re.Match[str]) -> str:
        return f"village_point = {{{m.group(1)}capacity_t = {float(m.group(2)) * village_capacity_factor:g}"

    text = re.sub(r"village_point = \{(.*?)capacity_t = ([0-9.]+)", scale, text)
    straw_cc = re.search(r"(?ms)^\[streams\.straw\].*?^county_center = .*?capex_cny = ([0-9]+)", text)
    rec = re.search(r"(?ms)^\[streams\.recyclables\].*?^(county_center = .*)$", text)
    assert straw_cc and rec, "demo.toml layout changed"
    line = rec.group(1)
    new = (line.replace('candidates = ["recycling_centre"]',
                        'candidates = ["recycling_centre", "township_seat"]')
           .replace("capex_cny = 0,", f"capex_cny = {straw_cc.group(1)},"))
    assert new != line or "township_seat" in line, "demo.toml recyclables county_center line changed"
    text = text[:rec.start(1)] + new + text[rec.end(1):]
    for sid in disable:
        text, n = re.subn(rf"(?m)^\[streams\.{sid}\]$", f"[streams.{sid}]\nenabled = false", text)
        assert n == 1, f"no [streams.{sid}] table in demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> tuple[Path, Path]:
    pytest.importorskip("netplan.synth", reason="the county generator (netplan.synth) is not installed")
    root = tmp_path_factory.mktemp("region")
    res = make_region(root / "zmd", adcodes=ADCODES, seed=0, n_villages=N_VILLAGES,
                      lattice_m=250.0, jobs=2)
    assert all(r["ok"] for r in res), [r.get("error") for r in res]
    dirs = sorted(p for p in (root / "zmd").iterdir() if p.is_dir())
    return root / "zmd", small_scenario(root / "small.toml", dirs[0])


def test_batch_plans_a_three_county_region_and_merges_it(region, tmp_path):
    """region.gpkg, region_kpis.csv (a row per county, stream, indicator) and index.html are
    written; a re-run skips every county; --tier3 adds the cross-county siting."""
    region_dir, scen = region
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["batch", str(region_dir), "--scenario", str(scen), "--workers", "2",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    for name in ("region.gpkg", "region_kpis.csv", "index.html", "batch_status.csv"):
        assert (out / name).is_file(), name
    kp = pd.read_csv(out / "region_kpis.csv", encoding="utf-8-sig", dtype={"adcode": str})
    assert sorted(set(kp["adcode"])) == list(ADCODES)
    assert not kp.duplicated(["county", "stream", "indicator"]).any()
    per_county = kp.groupby("county").size()
    assert len(per_county) == 3 and per_county.nunique() == 1  # same indicators for each county
    assert {"film", "pesticide_packaging", "recyclables"} <= set(kp["stream"])

    c = gpd.read_file(out / "region.gpkg", layer="counties")
    assert len(c) == 3 and (c["status"] == "done").all()
    assert (c["n_targets"] > 0).all() and c["attainment"].between(0, 1).all()
    layers = set(pyogrio.list_layers(out / "region.gpkg")[:, 0])
    assert {"villages", "sites", "assignments"} <= layers
    v = gpd.read_file(out / "region.gpkg", layer="villages")
    assert v.groupby("adcode").size().min() > 0
    html = (out / "index.html").read_text(encoding="utf-8")
    for d in sorted(p.name for p in region_dir.iterdir() if p.is_dir()):
        assert f"counties/{d}/index.html" in html
        assert (out / "counties" / d / "index.html").is_file()
        assert (out / "counties" / d / "plan.gpkg").is_file()

    r2 = CliRunner().invoke(app, ["batch", str(region_dir), "--scenario", str(scen), "--workers",
                                  "2", "--out", str(out), "--tier3"])
    assert r2.exit_code == 0, r2.output
    st = pd.read_csv(out / "batch_status.csv", encoding="utf-8-sig")
    assert (st["status"] == "skipped").all()  # same inputs: nothing re-planned
    t3 = pd.read_csv(out / "region_tier3.csv", encoding="utf-8-sig")
    assert len(t3) >= 1 and (t3["cost_region_cny"] <= t3["cost_county_cny"] * (1 + 1e-6)).all()
    assert "tier3_links" in set(pyogrio.list_layers(out / "region.gpkg")[:, 0])
