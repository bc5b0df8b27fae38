"""CLI messages: no traceback, the right exit code, and the truth about what was written."""

import shutil

from test_inputs_cli import DATA, scenario_for
from typer.testing import CliRunner

from netplan.cli import app


def test_bad_background_is_an_input_error(tmp_path):
    """An unknown map background exits 2 naming the choices, before any work is done."""
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"), "--background", "satellite"])
    assert r.exit_code == 2
    assert "satellite" in r.output and "offline" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_database_failure_says_the_files_were_written(tmp_path):
    """When the files are complete but the database is unreachable, the message says both."""
    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan", str(scenario_for(tmp_path, county)), "--out", str(out),
                                 "--no-maps", "--db", "postgresql://nobody@127.0.0.1:9/none"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert "the outputs were written to" in text and "database" in text
    assert "Traceback" not in r.output
    assert (out / "plan.gpkg").exists() and (out / "kpis.csv").exists()
