"""`netplan validate` and `netplan plan` on planners' folders: a report and exit 0 when usable; a
clear message, exit code 2, no traceback and no output when not. Also the distance-from-road check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from test_inputs import DATA, VILLAGES, build_folder
from typer.testing import CliRunner

from netplan.cli import app
from netplan.inputs import validate_folder

SCENARIO = Path(__file__).parents[1] / "data" / "scenarios" / "demo.toml"


def run(*args: str):
    """Invoke the CLI in-process."""
    return CliRunner().invoke(app, list(args))


def scenario_for(tmp_path: Path, county: Path) -> Path:
    """The demo scenario pointed at ``county``, crow-fly distances, short time limits."""
    text = SCENARIO.read_text(encoding="utf-8")
    text = re.sub(r"^county = .*$", f'county = "{county.as_posix()}"', text, flags=re.M)
    text = re.sub(r"^time_limit_s = .*$", "time_limit_s = 10", text, flags=re.M)
    text = text.replace('# file = "roads.osm"', 'file = "none"')
    out = tmp_path / "scenario.toml"
    out.write_text(text, encoding="utf-8")
    return out


def test_validate_clean_planner_folder_exits_0():
    """`netplan validate` on the planner fixture prints OK with the counts and exits 0."""
    r = run("validate", str(DATA / "planner"), "--no-roads")
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "4 villages" in r.output and "3 sites" in r.output


def test_validate_bad_folder_exits_2_with_every_problem(tmp_path):
    """A folder with a duplicate id, a non-numeric population and a village outside the county:
    exit code 2, each problem with file, row and field, and no traceback."""
    df = VILLAGES.astype(object)
    df.loc[1, "village_id"] = df.loc[0, "village_id"]
    df.loc[2, "population"] = "三百"
    df.loc[3, "lon"] = 115.2
    root = build_folder(tmp_path / "c", villages=df)
    r = run("validate", str(root), "--no-roads")
    assert r.exit_code == 2
    out = " ".join(r.output.split())
    assert "villages.csv, row 2, field 'village_id': duplicate id" in out
    assert "villages.csv, row 3, field 'population': not a number: '三百'" in out
    assert "villages.csv, row 4, field 'lon': village at (115.200000, 33.000000) lies" in out
    assert "3 error(s)" in out
    assert "Traceback" not in r.output


def test_validate_with_bad_scenario_exits_2(tmp_path):
    """`--scenario` with an unknown stream fails validation of an otherwise clean folder."""
    root = build_folder(tmp_path / "c")
    sc = tmp_path / "s.toml"
    sc.write_text('name = "x"\ncounty = "c"\n[streams.glass]\ncapture_rate = 0.5\n', encoding="utf-8")
    r = run("validate", str(root), "--scenario", str(sc), "--no-roads")
    assert r.exit_code == 2 and "glass" in r.output


def test_plan_runs_on_the_planner_folder(tmp_path):
    """`netplan plan` runs end to end on a planner's folder (Excel + GBK Shapefile + GCJ-02) and
    writes the contract outputs."""
    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    out = tmp_path / "out"
    r = run("plan", str(scenario_for(tmp_path, county)), "--out", str(out), "--no-maps")
    assert r.exit_code == 0, r.output
    assert (out / "kpis.csv").exists() and (out / "plan.gpkg").exists()
    kpis = pd.read_csv(out / "kpis.csv")
    assert set(kpis["stream"]) >= {"straw", "recyclables"}


def test_plan_refuses_bad_input_without_output(tmp_path):
    """`netplan plan` on a folder with input errors prints them (file, row, field), exits 2, shows no
    traceback and writes nothing."""
    df = VILLAGES.astype(object)
    df.loc[0, "wheat_mu"] = "-3"
    county = build_folder(tmp_path / "county", villages=df)
    out = tmp_path / "out"
    r = run("plan", str(scenario_for(tmp_path, county)), "--out", str(out), "--no-maps")
    assert r.exit_code == 2
    assert "villages.csv, row 1, field 'wheat_mu': negative quantity -3" in " ".join(r.output.split())
    assert "Traceback" not in r.output
    assert not out.exists()


def write_osm(path: Path) -> None:
    """A tiny OSM file: a secondary road along 33.0 N, and a residential spur at 114.64 E that does
    not share a node with it (cut off from the main network)."""
    nodes = [(1, 114.60, 33.0), (2, 114.65, 33.0), (3, 114.70, 33.0), (4, 114.64, 33.0003),
             (5, 114.64, 33.012)]
    ways = [(10, [1, 2, 3], "secondary"), (11, [4, 5], "residential")]
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="netplan-test">']
    xml += [f'<node id="{i}" version="1" lat="{y}" lon="{x}"/>' for i, x, y in nodes]
    for w, ns, hw in ways:
        xml.append(f'<way id="{w}" version="1">' + "".join(f'<nd ref="{n}"/>' for n in ns)
                   + f'<tag k="highway" v="{hw}"/></way>')
    xml.append("</osm>")
    path.write_text("\n".join(xml), encoding="utf-8")


def test_villages_far_from_roads_are_reported(tmp_path):
    """With a road file, a farm 554 m from the nearest road is reported against max_snap_m = 500 m
    with its distance, and a village on a cut-off spur is reported too (warnings: the plan runs)."""
    root = build_folder(tmp_path / "c")
    write_osm(root / "roads.osm")
    rep = validate_folder(root, max_snap_m=500.0)
    far = [p for p in rep.warnings if p.file == "farms.csv" and p.row == 1]
    assert len(far) == 1
    assert re.match(r"F1 is 5\d\d m from the nearest road, more than max_snap_m = 500 m", far[0].message)
    cut = [p for p in rep.warnings if p.file == "villages.csv" and p.row == 3]
    assert cut and "cut off from the main network" in cut[0].message
    near = [p for p in rep.warnings if p.file == "villages.csv" and p.row in (1, 2, 4)]
    assert near == []
    assert rep.ok
