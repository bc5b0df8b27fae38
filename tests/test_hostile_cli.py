"""End to end through the CLI, one test per class of hostile input of issue 18: exit code 2, a
message naming file / row / field (or key), no traceback, nothing half-written."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_compare import county_copy, scenario_file
from typer.testing import CliRunner

from netplan.cli import app

runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None):
    """Run ``netplan *args``; the result with its combined output flattened to one line."""
    r = runner.invoke(app, [str(a) for a in args], env=env)
    r.text = " ".join(r.output.split())
    return r


def refused(r, *needles: str) -> None:
    """Exit 2, every needle in the message, no traceback."""
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "Internal error" not in r.output
    for n in needles:
        assert n in r.text, r.text


#: the streams the template county has sites for (others a scenario may add are switched off)
TEMPLATE_STREAMS = ("straw", "film", "pesticide_packaging", "recyclables")


def make_base(tmp_path_factory) -> tuple[Path, Path]:
    """The template county and a fast crow-fly scenario for it (test_compare's, with any stream
    the template county cannot serve switched off and its targets dropped)."""
    tmp = tmp_path_factory.mktemp("hostile")
    county = county_copy(tmp)
    p = scenario_file(tmp, county)
    lines = []
    for line in p.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\[streams\.([a-z_]+)\]", line)
        t = re.match(r"^([a-z_]+)\.[a-z_]+ *=", line)
        if t and t.group(1) not in TEMPLATE_STREAMS and t.group(1) in _known_streams():
            continue
        lines.append(line)
        if m and m.group(1) not in TEMPLATE_STREAMS:
            lines.append("enabled = false")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return county, p


def _known_streams() -> tuple[str, ...]:
    from netplan.streams import load_streams

    return tuple(load_streams())


def make_run(base: tuple[Path, Path], tmp_path_factory) -> Path:
    """One real plan of the template county (for compare, layouts and re-planning)."""
    out = tmp_path_factory.mktemp("run") / "run1"
    r = cli("plan", base[1], "--out", out, "--no-maps")
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    """The template county and its scenario."""
    return make_base(tmp_path_factory)


@pytest.fixture(scope="module")
def done_run(base, tmp_path_factory) -> Path:
    """A plan of the template county."""
    return make_run(base, tmp_path_factory)


def broken(base, tmp_path: Path, file: str, edit) -> tuple[Path, Path]:
    """A copy of the county with ``file`` changed by ``edit(DataFrame) -> DataFrame`` (or text)."""
    county, scen = base
    c = tmp_path / "county"
    shutil.copytree(county, c)
    s = tmp_path / "s.toml"
    s.write_text(scen.read_text(encoding="utf-8").replace(county.as_posix(), c.as_posix()),
                 encoding="utf-8")
    p = c / file
    if callable(edit):
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        edit(df).to_csv(p, index=False)
    return c, s


@pytest.mark.parametrize("cell", ["NaN", "N/A", "-", "inf", "1e308"])
def test_bad_number_in_a_table(base, tmp_path, cell):
    """NaN-like markers, infinity and a crop area of 1e308 are refused with the row and field
    (they used to become 0 or make generation infinite); plan writes nothing."""
    def edit(df):
        df.loc[1, "wheat_mu"] = cell
        return df

    c, s = broken(base, tmp_path, "villages.csv", edit)
    refused(cli("validate", c), "villages.csv, row 2, field 'wheat_mu'")
    out = tmp_path / "out"
    refused(cli("plan", s, "--out", out, "--no-maps"), "villages.csv, row 2, field 'wheat_mu'")
    assert not out.exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_nan_in_the_scenario(base, tmp_path, value):
    """`nan`/`inf` in a target (TOML floats) is refused with its key (a nan target was dropped),
    by plan and by validate --scenario."""
    _, scen = base
    s = tmp_path / "s.toml"
    text = scen.read_text(encoding="utf-8")
    assert re.search(r"^film\.recovery_rate = [0-9.]+", text, re.M)
    s.write_text(re.sub(r"^film\.recovery_rate = [0-9.]+", f"film.recovery_rate = {value}", text,
                        flags=re.M), encoding="utf-8")
    out = tmp_path / "out"
    refused(cli("plan", s, "--out", out), "nan or inf is not a value",
            "field 'targets.film.recovery_rate'")
    assert not out.exists()
    refused(cli("validate", base[0], "--scenario", s), "targets.film.recovery_rate")


def test_header_only_table(base, tmp_path):
    """A villages.csv with only its header: an error naming the file (was Internal error)."""
    c, s = broken(base, tmp_path, "villages.csv", lambda df: df.iloc[:0])
    refused(cli("validate", c), "villages.csv", "no data rows")
    refused(cli("plan", s, "--out", tmp_path / "out"), "villages.csv", "no data rows")


def test_folder_where_a_file_is_expected(base, tmp_path):
    """A folder named villages.csv, a folder given as the scenario or as the layout."""
    c, s = broken(base, tmp_path, "villages.csv", None)
    (c / "villages.csv").unlink()
    (c / "villages.csv").mkdir()
    refused(cli("validate", c), "villages.csv", "a folder, not a file")
    refused(cli("plan", tmp_path, "--out", tmp_path / "o"), "a folder, not a scenario file")
    (tmp_path / "layout.csv").mkdir()
    refused(cli("evaluate", tmp_path / "layout.csv", "--scenario", base[1], "--out",
                tmp_path.parent / f"{tmp_path.name}-o2"), "a folder, not a file")


def test_symlink_loop(base, tmp_path):
    """A villages.csv that is a symlink loop, and a county folder that is one."""
    c, _ = broken(base, tmp_path, "villages.csv", None)
    (c / "villages.csv").unlink()
    (c / "villages.csv").symlink_to(c / "villages.csv")
    refused(cli("validate", c), "villages.csv", "link loop")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(cli("validate", loop), "link loop")


def test_output_path_is_a_file_or_unwritable(base, tmp_path):
    """--out a file, under a file, or in a read-only place: refused before any computation."""
    _, scen = base
    f = tmp_path / "plan.txt"
    f.write_text("keep")
    refused(cli("plan", scen, "--out", f), "--out", "is a file, not a folder")
    refused(cli("plan", scen, "--out", f / "sub"), "is a file")
    refused(cli("plan", scen, "--out", "/proc/netplan-out"), "cannot be written")
    assert f.read_text() == "keep"


def test_out_is_the_county_folder(base, tmp_path):
    """--out the county folder (or inside it) is refused; its sites.csv stays as it was."""
    c, s = broken(base, tmp_path, "sites.csv", None)
    before = (c / "sites.csv").read_bytes()
    refused(cli("plan", s, "--out", c), "is, or is inside, the input folder")
    refused(cli("plan", s, "--out", c / "runs"), "is, or is inside, the input folder")
    assert (c / "sites.csv").read_bytes() == before and not (c / "runs").exists()


def test_too_large_for_the_machine(base, tmp_path):
    """A villages table beyond the machine's memory (here: 1 MiB declared) is refused at once with
    what to do, instead of a MemoryError minutes later."""
    c, s = broken(base, tmp_path, "villages.csv",
                  lambda df: pd.concat([df] * 300).assign(village_id=lambda d: range(len(d))))
    env = {"NETPLAN_MEMORY_BYTES": str(1 << 20)}
    refused(cli("validate", c, env=env), "villages.csv", "too large to plan on this machine",
            "netplan batch")
    refused(cli("plan", s, "--out", tmp_path / "o", env=env), "too large to plan")


def test_broken_run_folder_given_to_compare(done_run, tmp_path):
    """compare: a folder without kpis.csv, a binary kpis.csv, a damaged cell: exit 2 naming it."""
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(cli("compare", done_run, empty), "kpis.csv", "not a run folder")
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "kpis.csv").write_bytes(os.urandom(64) + b"\xff\xfe\x00")
    refused(cli("compare", done_run, binary), "kpis.csv")
    damaged = tmp_path / "damaged"
    shutil.copytree(done_run, damaged)
    k = pd.read_csv(damaged / "kpis.csv", dtype=str, keep_default_na=False)
    k.loc[0, "value"] = "N/A"
    k.to_csv(damaged / "kpis.csv", index=False)
    refused(cli("compare", done_run, damaged), "kpis.csv, row 1, field 'value'")
    refused(cli("compare", done_run, damaged, "--out", done_run), "input folder")


def test_compare_output_replaced_whole(done_run, tmp_path):
    """Writing into an earlier output folder leaves none of its files (all-new); a run folder
    named like a formula is escaped in compare.csv."""
    other = tmp_path / "=HYPERLINK(x)"
    shutil.copytree(done_run, other)
    out = tmp_path / "cmp"
    assert cli("compare", done_run, other, "--out", out).exit_code == 0
    (out / "stale_map.html").write_text("from an earlier run")
    r = cli("compare", done_run, other, "--out", out)
    assert r.exit_code == 0, r.output
    assert not (out / "stale_map.html").exists()
    header = (out / "compare.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "'=HYPERLINK(x)" in header and ",=HYPERLINK" not in header


def test_replanning_replaces_the_run_and_escapes_names(base, done_run, tmp_path):
    """A site named =HYPERLINK(…) in sites.csv is escaped in the run's CSVs; re-planning into
    the folder leaves no file of the earlier run; negative numbers stay numbers."""
    def edit(df):
        df["name"] = [f'=HYPERLINK("http://x","{i}")' for i in range(len(df))]
        return df

    c, s = broken(base, tmp_path, "sites.csv", edit)
    out = tmp_path / "run"
    shutil.copytree(done_run, out)
    (out / "straw.html").write_text("an earlier run's map")
    r = cli("plan", s, "--out", out, "--no-maps")
    assert r.exit_code == 0, r.output
    assert not (out / "straw.html").exists()
    text = "\n".join(p.read_text(encoding="utf-8-sig") for p in out.glob("*.csv"))
    assert "=HYPERLINK" in text and not any(
        cell.startswith("=") for line in text.splitlines() for cell in line.split(","))
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".backup-" in p.name]


@pytest.mark.parametrize("data", [os.urandom(200) + b"\xff", b'name = "x\xff\xfe"\n', b"[a\n"])
def test_unreadable_scenario_file(tmp_path, data):
    """A binary, non-UTF-8 or broken scenario file: exit 2 naming the file (was Internal error)."""
    s = tmp_path / "s.toml"
    s.write_bytes(data)
    refused(cli("plan", s, "--out", tmp_path / "o"), "s.toml")
    refused(cli("validate", tmp_path, "--scenario", s), "s.toml")
