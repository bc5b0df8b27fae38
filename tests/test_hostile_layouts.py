"""Layout tables: unknown ids and parents are errors naming the row (an unknown parent used to be
replaced by the nearest site), an unknown id marked existing is refused, a new site outside the
county is refused, and editing a known site's lon/lat moves it (as the README says)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from test_hostile_cli import cli, make_base, make_run, refused

from netplan.errors import InputError
from netplan.layout_io import read_layout

STREAMS = ("straw", "film", "pesticide_packaging", "recyclables")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    """The template county and its scenario."""
    return make_base(tmp_path_factory)


@pytest.fixture(scope="module")
def done_run(base, tmp_path_factory) -> Path:
    """A plan of the template county; its layout.csv is what the tests edit."""
    return make_run(base, tmp_path_factory)


def layout(tmp_path: Path, run: Path, edit) -> Path:
    """The run's layout.csv changed by ``edit(DataFrame)``, written to tmp_path."""
    df = pd.read_csv(run / "layout.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    edit(df)
    p = tmp_path / "layout.csv"
    df.to_csv(p, index=False)
    return p


def rows_of(exc: InputError) -> list[tuple[int | None, str | None]]:
    """(row, field) of each problem."""
    return [(p.row, p.field) for p in exc.problems]


def test_unknown_parent_is_an_error(done_run, tmp_path):
    """A parent_id naming no site, a closed site or a site of the wrong tier: errors at the row."""
    def edit(df):
        i = df.index[df["site_id"] == "V411723101201"][0]
        df.loc[i, "parent_id"] = "T999"
        j = df.index[df["site_id"] == "T411723001"][0]
        df.loc[j, "parent_id"] = "V411723101201"  # a village point is not a county centre

    with pytest.raises(InputError) as ei:
        read_layout(layout(tmp_path, done_run, edit), streams=STREAMS)
    msgs = {(p.row, p.field): p.message for p in ei.value.problems}
    assert "unknown parent 'T999'" in msgs[(7, "parent_id")]
    assert "no site of the table has this id" in msgs[(7, "parent_id")]
    assert "not a county_center" in msgs[(4, "parent_id")]


def test_nan_like_cells_in_a_layout(done_run, tmp_path):
    """N/A coordinates and an inf or 1e12 capacity are errors at their row and field."""
    def edit(df):
        df.loc[0, "lon"] = "N/A"
        df.loc[1, "capacity_t"] = "inf"
        df.loc[2, "capacity_t"] = "1e12"

    with pytest.raises(InputError) as ei:
        read_layout(layout(tmp_path, done_run, edit), streams=STREAMS)
    assert rows_of(ei.value) == [(1, "lon"), (2, "capacity_t"), (3, "capacity_t")]


def test_layout_round_trip_with_escaped_names(done_run, tmp_path):
    """A name escaped by the CSV writer ('=…) reads back without the quote."""
    def edit(df):
        df.loc[0, "name"] = "'=SUM(A1)"

    t = read_layout(layout(tmp_path, done_run, edit), streams=STREAMS)
    assert t.loc[0, "name"] == "=SUM(A1)"


def evaluate(b: tuple[Path, Path], tmp_path: Path, lay: Path, name: str = "out"):
    """netplan evaluate LAY with the template scenario into tmp_path/name."""
    return cli("evaluate", lay, "--scenario", b[1], "--out", tmp_path / name, "--no-maps")


def test_cli_unknown_parent(base, done_run, tmp_path):
    """evaluate: exit 2 naming the row and parent_id, nothing written."""
    def edit(df):
        df.loc[df["site_id"] == "V411723101201", "parent_id"] = "T999"

    refused(evaluate(base, tmp_path, layout(tmp_path, done_run, edit)),
            "row 7, field 'parent_id'", "unknown parent 'T999'")
    assert not (tmp_path / "out").exists()


def test_cli_unknown_existing_and_candidate_like_ids(base, done_run, tmp_path):
    """An id the county does not have marked existing, and a V… id of no village: exit 2."""
    def edit(df):
        df.loc[df["site_id"] == "S004", "site_id"] = "S404"
        df.loc[df["site_id"] == "V411723001201", "site_id"] = "V999"

    r = evaluate(base, tmp_path, layout(tmp_path, done_run, edit))
    refused(r, "row 3, field 'site_id': unknown site 'S404' marked existing",
            "row 6, field 'site_id': 'V999' reads as a village candidate")
    assert not (tmp_path / "out").exists()


def test_cli_new_site_in_the_sea(base, done_run, tmp_path):
    """A new site 100 km out of the county (the Yellow Sea would do) is refused with its distance."""
    def edit(df):
        i = df.index[df["site_id"] == "T411723001"][0]
        df.loc[i, ["site_id", "lon", "lat"]] = ["N1", "121.5", "34.0"]
        df.loc[df["parent_id"] == "T411723001", "parent_id"] = "N1"
        df["parent_id"] = df["parent_id"].str.replace("=T411723001", "=N1")

    refused(evaluate(base, tmp_path, layout(tmp_path, done_run, edit)), "row 4, field 'lon'",
            "outside the county boundary")


def test_cli_moving_a_known_site_moves_it(base, done_run, tmp_path):
    """Editing the lon/lat of a known site moves it: the run's sites layer has it at the new
    point (it used to keep its old place silently); moving it outside the county is refused."""
    def edit(df):
        df.loc[df["site_id"] == "V411723101201", ["lon", "lat"]] = ["114.615", "33.005"]

    r = evaluate(base, tmp_path, layout(tmp_path, done_run, edit))
    assert r.exit_code == 0, r.output
    g = gpd.read_file(tmp_path / "out" / "plan.gpkg", layer="sites")
    pts = g.loc[g["site_id"] == "V411723101201"].geometry
    assert len(pts) and all(abs(p.x - 114.615) < 1e-9 and abs(p.y - 33.005) < 1e-9 for p in pts)

    def away(df):
        df.loc[df["site_id"] == "V411723101201", ["lon", "lat"]] = ["115.5", "33.0"]

    refused(evaluate(base, tmp_path, layout(tmp_path, done_run, away), "out2"),
            "row 7, field 'lon'", "outside the county boundary")
