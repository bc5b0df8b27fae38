"""Every kind of bad input is reported with its file, row, field and a message that says what is
wrong; all problems of a folder come at once."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box
from test_inputs import VILLAGES, build_folder

from netplan.inputs import validate_folder


def report(root, **kw):
    """validate_folder without the road check."""
    return validate_folder(root, roads=False, **kw)


def find(rep, file, row, field, severity="error"):
    """The messages of the problems at (file, row, field) with ``severity``."""
    return [p.message for p in rep.problems
            if (p.file, p.row, p.field, p.severity) == (file, row, field, severity)]


def vill(**changes) -> pd.DataFrame:
    """VILLAGES (as text cells) with cells changed: {column: {row_index: value}}."""
    df = VILLAGES.astype(object).copy()
    for col, cells in changes.items():
        for i, v in cells.items():
            df.loc[i, col] = v
    return df


def test_missing_and_duplicate_ids(tmp_path):
    """A blank village_id and a repeated one are errors naming the row (and the first row)."""
    rep = report(build_folder(tmp_path, villages=vill(village_id={1: "", 3: "411723101201"})))
    assert find(rep, "villages.csv", 2, "village_id") == ["missing id"]
    assert find(rep, "villages.csv", 4, "village_id") == ["duplicate id '411723101201' (first at row 1)"]
    assert not rep.ok


def test_non_numeric_and_negative_quantities(tmp_path):
    """'abc' in population and -5 in wheat_mu are errors with the value; '1,200' and full-width
    digits are read as numbers."""
    rep = report(build_folder(tmp_path, villages=vill(population={0: "abc", 1: "1,200", 2: "３００"},
                                                      wheat_mu={3: "-5"})))
    assert find(rep, "villages.csv", 1, "population") == ["not a number: 'abc'"]
    assert find(rep, "villages.csv", 4, "wheat_mu") == ["negative quantity -5"]
    assert find(rep, "villages.csv", 2, "population") == []
    assert find(rep, "villages.csv", 3, "population") == []


def test_village_outside_boundary_reports_distance(tmp_path):
    """A village 0.05 deg (~4.7 km) east of the county is an error giving its distance; one 100 m
    outside is only a warning (digitising slack)."""
    rep = report(build_folder(tmp_path, villages=vill(lon={0: 114.75, 1: 114.701})))
    msgs = find(rep, "villages.csv", 1, "lon")
    assert len(msgs) == 1 and "outside the county boundary" in msgs[0]
    km = float(msgs[0].split(" lies ")[1].split(" km")[0])
    assert 4.5 < km < 4.9
    warn = find(rep, "villages.csv", 2, "lon", "warning")
    assert len(warn) == 1 and " m outside the county boundary" in warn[0]


def test_unknown_township_names_the_row_and_known_names(tmp_path):
    """A township code nobody knows, and a name that is not a township, are errors listing the
    known names; '甲' (without 镇) matches 甲镇."""
    df = vill(township_code={0: "999999999"}).drop(columns=["township_code"]).assign(
        township=["丙镇", "甲", "甲镇", "乙街道"])
    rep = report(build_folder(tmp_path, villages=df))
    msgs = find(rep, "villages.csv", 1, "township")
    assert msgs == ["unknown township '丙镇' (known: 甲镇、乙街道)"]
    assert find(rep, "villages.csv", 2, "township") == []
    rep2 = report(build_folder(tmp_path / "b", villages=vill(township_code={2: "411723999"}).drop(
        columns=["township"])))
    assert find(rep2, "villages.csv", 3, "township_code")[0].startswith("unknown township '411723999'")
    rep3 = report(build_folder(tmp_path / "c", villages=vill(township_code={2: "411723999"})))
    assert find(rep3, "villages.csv", 3, "township_code", "warning") == [
        "unknown township code '411723999'; matched by the name '甲镇' (411723101)"]


def test_empty_and_invalid_geometries(tmp_path):
    """A self-intersecting (bow-tie) township polygon is repaired and reported as a warning; an
    empty one is reported; an empty boundary is an error."""
    root = build_folder(tmp_path)
    bowtie = Polygon([(114.60, 32.98), (114.65, 33.02), (114.65, 32.98), (114.60, 33.02)])
    gpd.GeoDataFrame({"township_code": ["411723101", "411723001"], "name": ["甲镇", "乙街道"]},
                     geometry=[bowtie, Polygon()], crs="EPSG:4326").to_file(root / "townships.geojson")
    rep = report(root)
    w = find(rep, "townships.geojson", 1, "geometry", "warning")
    assert len(w) == 1 and "Self-intersection" in w[0] and "repaired" in w[0]
    assert find(rep, "townships.geojson", 2, "geometry", "warning") == ["empty or missing geometry"]
    assert rep.ok
    assert rep.county.townships.geometry.iloc[0].is_valid
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Polygon()], crs="EPSG:4326").to_file(
        root / "boundary.geojson")
    rep = report(root)
    assert find(rep, "boundary.geojson", 1, "geometry") == ["empty or missing geometry"]
    assert find(rep, "boundary.geojson", None, "geometry") == ["no usable boundary polygon"]


def test_mixed_crs_rows_are_reported(tmp_path):
    """A table of lon/lat degrees with one row in GK metres is 'mixed coordinate systems' on that
    row; swapped lat/lon is reported as such; a coordinate that is neither is reported."""
    df = vill(lon={1: 38547000.0, 2: 33.0, 3: 5000.0}, lat={1: 3652000.0, 2: 114.64, 3: 7.0})
    rep = report(build_folder(tmp_path, villages=df))
    m = find(rep, "villages.csv", 2, "lon")
    assert len(m) == 1 and m[0].startswith("mixed coordinate systems: (3.8547e+07, 3.652e+06) looks "
                                           "like EPSG:4526")
    assert find(rep, "villages.csv", 3, "lon") == [
        "(33, 114.64) looks like latitude, longitude: the lon and lat columns seem swapped"]
    assert "neither lon/lat degrees nor a Gauss-Krüger" in find(rep, "villages.csv", 4, "lon")[0]


def test_projected_without_zone_prefix_asks_for_declaration(tmp_path):
    """GK eastings without zone prefix cannot be placed: an error asks to declare the crs and names
    the county's metric CRS as the likely one."""
    df = VILLAGES.drop(columns=["lon", "lat"]).assign(x=[547000.0] * 4, y=[3652000.0] * 4)
    rep = report(build_folder(tmp_path, villages=df))
    msgs = find(rep, "villages.csv", None, "lon")
    assert msgs and 'declare the file\'s crs in county.toml (for this county probably crs = "EPSG:4547")' \
        in msgs[0]


def test_missing_coordinates_and_columns(tmp_path):
    """A blank lat is 'missing coordinate'; a table without any coordinate columns names them and
    the headers it has."""
    rep = report(build_folder(tmp_path, villages=vill(lat={0: ""})))
    assert find(rep, "villages.csv", 1, "lat") == ["missing coordinate"]
    rep = report(build_folder(tmp_path / "b", villages=VILLAGES.drop(columns=["lon", "lat"])))
    msg = find(rep, "villages.csv", None, "lon")[0]
    assert msg.startswith("no 'lon' column (headers: village_id, name,")


def test_scenario_unknown_stream_and_tier(tmp_path):
    """A scenario naming an unknown stream and an unknown tier fails validation with both keys."""
    root = build_folder(tmp_path / "c")
    sc = tmp_path / "bad.toml"
    sc.write_text('name = "x"\ncounty = "c"\n[streams.glass]\ncapture_rate = 0.5\n'
                  '[streams.straw.hamlet_point]\nradius_m = 100\n', encoding="utf-8")
    rep = report(root, scenario=sc)
    text = " | ".join(str(p) for p in rep.errors)
    assert "glass" in text and "hamlet_point" in text
    assert not rep.ok


def test_sites_unknown_stream_tier_and_farm_species(tmp_path):
    """sites.csv naming a stream or tier netplan does not know, and a farm species without a manure
    rate, are errors listing the known ids; Chinese names (秸秆, 猪) are accepted."""
    root = build_folder(tmp_path)
    pd.DataFrame({"site_id": ["S1", "S2"], "name": ["a", "b"], "kind": ["agro_store", "x"],
                  "township_code": ["411723101", "411723001"], "lon": [114.62, 114.69],
                  "lat": [33.0, 33.0], "streams": ["秸秆;glass", "film"],
                  "tiers": ["village_point", "hamlet"]}).to_csv(root / "sites.csv", index=False)
    pd.DataFrame({"farm_id": ["F1", "F2"], "name": ["a", "b"], "township_code": ["411723101"] * 2,
                  "lon": [114.61, 114.62], "lat": [33.0, 33.0], "species": ["猪", "alpaca"],
                  "stock_head": [10, 10]}).to_csv(root / "farms.csv", index=False)
    rep = report(root)
    assert find(rep, "sites.csv", 1, "streams")[0].startswith("unknown stream 'glass' (known: domestic_waste, film,")
    assert find(rep, "sites.csv", 2, "tiers")[0].startswith("unknown tier 'hamlet' (known: county_center")
    assert find(rep, "farms.csv", 2, "species")[0].startswith("unknown species 'alpaca' (known: ")
    assert find(rep, "farms.csv", 1, "species") == []


def test_missing_required_file_and_bad_county_toml(tmp_path):
    """No villages file, an unknown terrain and an unknown crs name are all reported at once."""
    root = build_folder(tmp_path, toml_extra='crs = "mercator-ish"\n')
    (root / "county.toml").write_text((root / "county.toml").read_text(encoding="utf-8").replace(
        'terrain = "plain"', 'terrain = "swamp"'), encoding="utf-8")
    (root / "villages.csv").unlink()
    rep = report(root)
    text = "\n".join(str(p) for p in rep.errors)
    assert "required villages file not found" in text
    assert "unknown terrain 'swamp' (use plain or hilly)" in text
    assert "unknown coordinate system 'mercator-ish'" in text


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02garbage", b"PK\x03\x04 not really a zip"])
def test_unreadable_files_are_input_errors(tmp_path, content):
    """An empty or corrupt villages file (CSV or XLSX) is a 'cannot read' error on that file."""
    root = build_folder(tmp_path)
    (root / "villages.csv").unlink()
    (root / "villages.xlsx").write_bytes(content)
    rep = report(root)
    assert any(p.file == "villages.xlsx" and "cannot read" in p.message for p in rep.errors)


def test_duplicate_names_in_a_township_warn(tmp_path):
    """Two villages with the same name in one township are a warning (not an error), naming both rows."""
    rep = report(build_folder(tmp_path, villages=vill(name={1: "张庄村"})))
    assert find(rep, "villages.csv", 2, "name", "warning") == [
        "duplicate name '张庄村' in the same township (also row 1)"]
    assert rep.ok


def test_boundary_in_declared_crs_shifted(tmp_path):
    """A boundary drawn on Gaode maps but not declared leaves villages ~540 m off near its edge: the
    message suggests declaring it, and declaring crs = "gcj02" for the boundary removes the error."""
    root = build_folder(tmp_path)
    from netplan import coords
    x, y = coords.wgs84_to_gcj02([114.60, 114.70], [32.98, 33.02])
    gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[box(x[0], y[0], x[1], y[1])],
                     crs="EPSG:4326").to_file(root / "boundary.geojson")
    df = vill(lon={0: 114.6005})
    (root / "villages.csv").unlink()
    df.to_csv(root / "villages.csv", index=False)
    rep = report(root)
    msg = [p.message for p in rep.problems if p.file == "villages.csv" and p.row == 1]
    assert len(msg) == 1 and "outside the county boundary" in msg[0]
    assert msg[0].endswith('it would lie inside if the boundary were GCJ-02 (Amap outlines are): '
                           'declare crs = "gcj02" for the boundary file')
    (root / "county.toml").write_text((root / "county.toml").read_text(encoding="utf-8")
                                      + '[files.boundary]\npath = "boundary.geojson"\ncrs = "gcj02"\n',
                                      encoding="utf-8")
    rep = report(root)
    assert not any(p.file == "villages.csv" and "outside" in p.message for p in rep.problems)


def test_report_format_lists_every_problem(tmp_path):
    """ValidationReport.format prints one line per problem with file, row and field, and a verdict."""
    rep = report(build_folder(tmp_path, villages=vill(population={0: "abc"}, wheat_mu={1: "-1"})))
    text = rep.format()
    assert "villages.csv, row 1, field 'population': not a number: 'abc'" in text
    assert "villages.csv, row 2, field 'wheat_mu': negative quantity -1" in text
    assert "NOT USABLE - 2 error(s)" in text


def test_undeclared_gaode_villages_get_a_hint(tmp_path):
    """A village picked on Gaode maps near the east edge, read as WGS-84, falls ~300 m outside: the
    error says it would be inside as GCJ-02 and how to declare it."""
    from netplan import coords
    gx, gy = coords.wgs84_to_gcj02(114.698, 33.0)
    rep = report(build_folder(tmp_path, villages=vill(lon={3: float(gx)}, lat={3: float(gy)})))
    msg = find(rep, "villages.csv", 4, "lon")
    assert len(msg) == 1 and "outside the county boundary" in msg[0]
    assert msg[0].endswith('it would lie inside if its coordinates were GCJ-02 (Gaode/Amap): declare '
                           'crs = "gcj02" for this file if they were picked on Gaode maps')


def test_village_in_another_townships_polygon_warns(tmp_path):
    """A village listed under 甲镇 whose point lies in 乙街道's polygon is a warning naming both."""
    rep = report(build_folder(tmp_path, villages=vill(lon={0: 114.69})))
    assert find(rep, "villages.csv", 1, "township_code", "warning") == [
        "village lies in 乙街道 (411723001) but is listed under 甲镇 (411723101)"]
    assert rep.ok


def test_old_xls_asks_for_xlsx(tmp_path):
    """An old .xls workbook (no reader installed) is an error asking to save it as .xlsx or .csv."""
    root = build_folder(tmp_path)
    (root / "villages.csv").unlink()
    (root / "villages.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    rep = report(root)
    msgs = [p.message for p in rep.errors if p.file == "villages.xls"]
    assert msgs == ["old Excel format (.xls): save the sheet as .xlsx or .csv"] or \
        any("cannot read" in m for m in msgs)


def test_files_in_different_crs_summarised(tmp_path):
    """When most villages fall outside the boundary (here all four sit ~150 km west, as when the
    villages and the outline use different coordinate systems), a file-level error says so, besides
    the per-row errors."""
    df = vill(lon={i: 113.0 + i * 0.01 for i in range(4)})
    rep = report(build_folder(tmp_path, villages=df))
    msgs = find(rep, "villages.csv", None, "lon")
    assert msgs == ["4 of 4 villages lie outside the county boundary: the villages and the boundary "
                    "are probably in different coordinate systems - check the `crs` declarations in "
                    "county.toml"]
    assert len([p for p in rep.errors if p.row is not None and "outside" in p.message]) == 4


def test_zero_zero_coordinates_are_placeholders(tmp_path):
    """(0, 0) coordinates are reported as a placeholder for a missing position, not as a village
    thousands of kilometres away."""
    rep = report(build_folder(tmp_path, villages=vill(lon={2: 0}, lat={2: 0})))
    assert find(rep, "villages.csv", 3, "lon") == ["coordinates (0, 0): a placeholder for a missing "
                                                   "position?"]
