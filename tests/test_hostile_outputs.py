"""Outputs as a whole: a folder is all-old or all-new, never mixes runs, never lands in (or
replaces) an input folder; bad output paths are InputErrors before any work; CSV cells that a
spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from netplan import export
from netplan.errors import InputError, NetplanError
from netplan.export import MARKER, check_out, escape_cell, staging, write_csv


def run(out, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) as one run into ``out``."""
    with staging(out) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def test_new_run_replaces_the_old_one_whole(tmp_path):
    """Re-planning into a folder leaves none of the earlier run's files (its maps used to stay)."""
    out = tmp_path / "run"
    run(out, {"kpis.csv": "old", "maps/straw.html": "old map"})
    run(out, {"kpis.csv": "new"})
    assert sorted(p.name for p in out.rglob("*")) == sorted(["kpis.csv", MARKER])
    assert (out / "kpis.csv").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging or backup folder left


def test_failure_while_writing_leaves_the_old_run(tmp_path):
    """An error inside the run leaves the previous run untouched and no staging folder."""
    out = tmp_path / "run"
    run(out, {"kpis.csv": "old"})
    with pytest.raises(ZeroDivisionError), staging(out) as tmp:
        (tmp / "kpis.csv").write_text("half")
        raise ZeroDivisionError
    assert (out / "kpis.csv").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failed_swap_restores_the_backup(tmp_path, monkeypatch):
    """When the final rename fails the old folder is put back whole: all-old, not a mix."""
    out = tmp_path / "run"
    run(out, {"kpis.csv": "old", "a.csv": "old"})
    real = os.rename

    def flaky(src, dst):
        if ".staging-" in str(src):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(export.os, "rename", flaky)
    with pytest.raises(NetplanError, match="was left as it was"):
        run(out, {"kpis.csv": "new"})
    monkeypatch.setattr(export.os, "rename", real)
    assert {p.name: p.read_text() for p in out.iterdir() if p.name != MARKER} == \
        {"kpis.csv": "old", "a.csv": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_keep_moves_entries_into_the_new_folder(tmp_path):
    """A batch's counties/ folder survives the region outputs being replaced."""
    out = tmp_path / "batch"
    (out / "counties" / "a").mkdir(parents=True)
    (out / "counties" / "a" / "kpis.csv").write_text("county")
    with staging(out, keep=("counties",)) as tmp:
        (tmp / "region_kpis.csv").write_text("r1")
    with staging(out, keep=("counties",)) as tmp:
        (tmp / "region_kpis.csv").write_text("r2")
    assert (out / "counties" / "a" / "kpis.csv").read_text() == "county"
    assert (out / "region_kpis.csv").read_text() == "r2"


def test_out_is_a_file(tmp_path):
    """An output path that is a file is an InputError naming it."""
    f = tmp_path / "x.csv"
    f.write_text("data")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_out(f)
    with pytest.raises(InputError, match="is a file"):
        check_out(f / "sub")
    assert f.read_text() == "data"


def test_out_in_or_holding_an_input_folder(tmp_path):
    """--out the county folder, inside it, or a folder holding it is refused."""
    county = tmp_path / "county"
    county.mkdir()
    (county / "sites.csv").write_text("site_id\n")
    for out in (county, county / "out"):
        with pytest.raises(InputError, match="is, or is inside, the input folder"):
            check_out(out, inputs=[county])
    with pytest.raises(InputError, match="is or holds the input"):
        check_out(tmp_path, inputs=[county / "sites.csv"])
    assert (county / "sites.csv").read_text() == "site_id\n"


def test_folder_of_other_files_is_not_replaced(tmp_path):
    """A folder holding files that are not netplan outputs (someone's documents) is refused."""
    (tmp_path / "notes.docx").write_text("mine")
    with pytest.raises(InputError, match="not netplan outputs"):
        run(tmp_path, {"kpis.csv": "x"})
    assert (tmp_path / "notes.docx").read_text() == "mine"


def test_unwritable_and_looping_paths(tmp_path):
    """A path that cannot be created (read-only /proc) and a symlink loop are InputErrors."""
    with pytest.raises(InputError, match="cannot be written|cannot create"):
        check_out("/proc/netplan-out")
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    with pytest.raises(InputError, match="symbolic link loop"):
        check_out(loop / "out")


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("-5", "-5"), ("+3.5", "+3.5"),
    ("平舆", "平舆"), ("a=b", "a=b"), (-5.0, -5.0), (None, None),
])
def test_escape_cell(cell, expected):
    """OWASP CSV-injection rule: text starting with = + - @ tab CR is prefixed with '; numbers
    (also text that is just a signed number) stay."""
    assert escape_cell(cell) == expected


def test_write_csv_escapes_text_not_numbers(tmp_path):
    """In a written CSV the formula-like names are escaped; negative numbers stay numbers."""
    df = pd.DataFrame({"name": ["=1+1", "@cmd", "ok"], "cost_cny": [-5.5, 3.0, -1.0]})
    text = write_csv(tmp_path / "t.csv", df).read_text(encoding="utf-8-sig")
    assert text.splitlines() == ["name,cost_cny", "'=1+1,-5.5", "'@cmd,3.0", "ok,-1.0"]
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")
    assert back["cost_cny"].tolist() == [-5.5, 3.0, -1.0]


def test_backup_of_a_killed_swap_is_restored(tmp_path):
    """A run killed between the renames (old folder moved to its backup, new not yet in place)
    leaves the backup; the next run puts it back first, so nothing of the old run is lost."""
    out = tmp_path / "run"
    run(out, {"kpis.csv": "old", "keep.csv": "old"})
    os.rename(out, tmp_path / ".run.backup-abc123")  # what a kill -9 mid-swap leaves
    with pytest.raises(ZeroDivisionError), staging(out):
        raise ZeroDivisionError
    assert (out / "keep.csv").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
