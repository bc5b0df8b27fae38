"""The one numeric reader: NaN-like markers, infinity and implausible magnitudes are errors (or
named warnings) naming file, row and field, never zeros; ranges come from data/columns.toml."""

from __future__ import annotations

import math
import tomllib

import pytest
from test_inputs import build_folder
from test_inputs_errors import find, report, vill

from netplan._paths import data_file
from netplan.inputs.numbers import Range, check_cell, field_range, nonfinite_keys, read_cell


@pytest.mark.parametrize("raw, kind, value", [
    ("12", "number", 12.0), (" 1,200 ", "number", 1200.0), ("３００", "number", 300.0),
    ("-5", "number", -5.0), ("1e3", "number", 1000.0), (7, "number", 7.0), ("", "blank", None),
    (None, "blank", None), (float("nan"), "blank", None), ("NaN", "token", None),
    ("N/A", "token", None), ("#N/A", "token", None), ("-", "token", None), ("—", "token", None),
    ("#VALUE!", "token", None), ("null", "token", None), ("inf", "inf", None), ("-inf", "inf", None),
    ("∞", "inf", None), ("1e400", "inf", None), (float("inf"), "inf", None), ("abc", "text", None),
    ("0x10", "text", None), ("1.2.3", "text", None), (True, "text", None),
])
def test_read_cell(raw, kind, value):
    """Each cell is a finite number or says why it is not one."""
    c = read_cell(raw)
    assert (c.kind, c.value) == (kind, value)


@pytest.mark.parametrize("raw", ["NaN", "N/A", "-", "#DIV/0!", "inf", "1e308", "1e400", "abc"])
def test_never_zero(raw):
    """Nothing that is not a plausible number is read as a number, in particular not as 0."""
    probs = []
    assert check_cell(raw, field_range("villages", "wheat_mu"), "v.csv", 3, "wheat_mu", probs) is None
    assert len(probs) == 1 and probs[0].severity == "error"
    assert str(probs[0]).startswith("v.csv, row 3, field 'wheat_mu': ")


def test_blank_rules_and_warning():
    """Blank: 0 (villages), unknown (sites' capacity), an error (farms' stock); above `warn` a warning."""
    probs = []
    assert check_cell("", field_range("villages", "pigs"), "f", 1, "pigs", probs) == 0.0
    assert math.isnan(check_cell("", field_range("sites", "capacity_t"), "f", 1, "c", probs))
    assert check_cell("", field_range("farms", "stock_head"), "f", 1, "stock_head", probs) is None
    assert [p.message for p in probs] == ["missing value (a number is required)"]
    probs.clear()
    assert check_cell("90000", field_range("villages", "population"), "f", 2, "population",
                      probs) == 90000.0
    assert [p.severity for p in probs] == ["warning"] and "unusually large" in probs[0].message
    probs.clear()
    assert check_cell("2", Range(hi=10), "f", 2, "x", probs, factor=15.0) is None  # range after unit
    assert "outside the plausible range" in probs[0].message


def test_every_range_has_a_source():
    """Each range in data/columns.toml states its source or an E: engineering estimate."""
    with open(data_file("columns.toml"), "rb") as fh:
        ranges = tomllib.load(fh)["ranges"]
    assert ranges
    for table, fields in ranges.items():
        for name, spec in fields.items():
            assert spec.get("source"), f"{table}.{name}"
            assert spec["max"] > spec.get("warn", 0) >= 0
            assert spec.get("blank", "zero") in ("zero", "unknown", "error")


def test_nonfinite_keys():
    """Every nan/inf float of a TOML document is found, with its key, also inside arrays."""
    doc = tomllib.loads("a = nan\nb = [1.0, inf]\n[c.d]\ne = -inf\nf = 2.0\n")
    assert nonfinite_keys(doc) == ["a", "b[1]", "c.d.e"]


def test_villages_table_tokens_and_magnitudes(tmp_path):
    """In a villages table: N/A, '-', inf and a crop area of 1e308 are errors naming the row and
    field (they were read as 0 or made generation infinite); 40,000 people is a warning."""
    rep = report(build_folder(tmp_path, villages=vill(
        population={0: "N/A", 1: "40000"}, wheat_mu={1: "-", 2: "inf", 3: "1e308"})))
    assert find(rep, "villages.csv", 1, "population")[0].startswith("not a number: 'N/A'")
    assert find(rep, "villages.csv", 2, "wheat_mu")[0].startswith("not a number: '-'")
    assert find(rep, "villages.csv", 3, "wheat_mu") == ["not a finite number: 'inf'"]
    assert "outside the plausible range" in find(rep, "villages.csv", 4, "wheat_mu")[0]
    assert "unusually large" in find(rep, "villages.csv", 2, "population", "warning")[0]
    assert not rep.ok
