"""Property-based fuzz over the readers: numeric cells, table files, scenario files and layout
tables. Whatever the input, a reader returns a checked result or raises InputError (with file and,
where there is one, row and field); no other exception, and no non-finite or out-of-range number
ever gets through.

Volume: at ``NETPLAN_FUZZ_SCALE=1`` the example counts below sum to 10,500 cases (about 25 CPU s
on one core), and the default suite runs them all; ``scripts/fuzz_readers.py --scale N`` (or a
smaller NETPLAN_FUZZ_SCALE for a quick local run) hunts longer or shorter.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.errors import InputError, Problem
from netplan.inputs.checks import check_numbers
from netplan.inputs.numbers import check_cell, field_range, read_cell
from netplan.inputs.tables import read_table
from netplan.layout_io import read_layout
from netplan.scenario import load_scenario

SCALE = float(os.environ.get("NETPLAN_FUZZ_SCALE", "1"))


def fuzz(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (× NETPLAN_FUZZ_SCALE), no deadline, no database."""
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


#: cells a planner (or a broken export) writes in a numeric column
HOSTILE = ["", " ", "nan", "NaN", "N/A", "#N/A", "-", "—", "null", "None", "inf", "-inf", "∞",
           "1e308", "1e400", "-1e400", "1,200", "３００", "0x10", "1.2.3", "12 345", "+5", "-0",
           "=1+1", "@SUM(A1)", "1e-320", "9" * 400, "三百", "#VALUE!", "TRUE", "١٢"]
cells = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**400, 10**400),
    st.integers(-10**400, 10**400).map(str),
    st.none(),
)
RANGED = [("villages", "population"), ("villages", "wheat_mu"), ("villages", "poultry"),
          ("farms", "stock_head"), ("sites", "capacity_t")]


@fuzz(6000)
@given(cells, st.sampled_from(RANGED), st.sampled_from([1.0, 15.0, 10000.0]))
def test_fuzz_numeric_cell(raw, where, factor):
    """A cell is a finite number within the field's range (or NaN = unknown where blank means
    unknown), or refused with exactly one error naming file, row and field; never an exception."""
    c = read_cell(raw)
    assert c.kind in ("number", "blank", "token", "inf", "text")
    assert (c.value is not None) == (c.kind == "number")
    rng = field_range(*where)
    probs: list[Problem] = []
    v = check_cell(raw, rng, "t.csv", 7, where[1], probs, factor=factor)
    errors = [p for p in probs if p.severity == "error"]
    if v is None:
        assert len(errors) == 1 and (errors[0].file, errors[0].row, errors[0].field) == \
            ("t.csv", 7, where[1])
    else:
        assert not errors
        assert (math.isnan(v) and rng.blank == "unknown" and c.kind == "blank") or \
            (math.isfinite(v) and rng.lo <= v <= rng.hi)
        assert c.kind in ("number", "blank")


@fuzz(1000)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=8))
def test_fuzz_check_numbers_frame(rows):
    """A whole column of hostile cells: every refused cell is reported at its row, and the
    column holds only finite, non-negative numbers where nothing was reported."""
    df = pd.DataFrame(rows, columns=["population", "wheat_mu", "pigs"], dtype=object)
    probs: list[Problem] = []
    out = check_numbers(df, ["population", "wheat_mu", "pigs"], "villages.csv", probs,
                        table="villages", factor={"wheat_mu": 15.0})
    bad = {(p.row, p.field) for p in probs if p.severity == "error"}
    for i in range(len(df)):
        for col in ("population", "wheat_mu", "pigs"):
            v = out[col].iloc[i]
            assert ((i + 1, col) in bad) == (not math.isfinite(v))
            assert not math.isfinite(v) or v >= 0


@pytest.fixture(scope="module")
def scratch():
    """One temporary folder per module, emptied by the examples themselves."""
    with tempfile.TemporaryDirectory(prefix="netplan-fuzz-") as d:
        yield Path(d)


raw_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.lists(st.lists(cells.map(str), min_size=1, max_size=4), max_size=5).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8")),
)


@fuzz(1200)
@given(raw_bytes, st.sampled_from([".csv", ".txt", ".xlsx", ".geojson"]),
       st.sampled_from([None, "gbk", "utf-8", "latin-9", "nonsense"]))
def test_fuzz_read_table(scratch, data, suffix, encoding):
    """Any bytes under a table's name: a DataFrame, or InputError naming the file."""
    p = scratch / f"t{suffix}"
    p.write_bytes(data)
    try:
        df, _ = read_table(p, encoding=encoding)
    except InputError as exc:
        assert exc.problems and exc.problems[0].file == p.name
    else:
        assert isinstance(df, pd.DataFrame)


TIER = ('{{ candidates = {cand}, radius_m = {r}, capacity_t = {cap}, capex_cny = 1000, '
        'lifetime_yr = {life}, opex_share = {opex}, rate_cny_per_tkm = 2 }}')
toml_values = st.sampled_from(["nan", "inf", "-inf", "+nan", "1e308", "-1", "0", "0.5", "3000",
                               '"3000"', "true", "[]", '["village"]', "[1.0, nan]", "{}",
                               '"x"', "1_000", "1e-400", "-0.0"])


@fuzz(1300)
@given(st.fixed_dictionaries({
    "cand": toml_values, "r": toml_values, "cap": toml_values, "life": toml_values,
    "opex": toml_values, "capture": toml_values, "target": toml_values, "tl": toml_values,
    "disc": toml_values, "extra": st.sampled_from(["", "seed = 1.5", "solver = \"x\"",
                                                   "[sharing]\nvillage_point = [[\"film\", 1]]",
                                                   "[targets]\npreset = nan", "bogus = 1",
                                                   "county = 3"]),
}), st.booleans())
def test_fuzz_scenario(scratch, v, break_syntax):
    """Scenario files with hostile values (nan, inf, huge, wrong types) anywhere: a Scenario whose
    numbers are all finite, or InputError naming the file and key."""
    d = scratch
    (d / "county").mkdir(exist_ok=True)
    tier = TIER.format(cand=v["cand"], r=v["r"], cap=v["cap"], life=v["life"], opex=v["opex"])
    text = (f'name = "f"\ncounty = "county"\ntime_limit_s = {v["tl"]}\n[finance]\n'
            f'discount_rate = {v["disc"]}\n[streams.film]\ncapture_rate = {v["capture"]}\n'
            f"village_point = {tier}\ntownship_station = {tier}\ncounty_center = {tier}\n"
            f'[targets.film]\nrecovery_rate = {v["target"]}\n{v["extra"]}\n')
    if break_syntax:
        text = text.replace("]\n", "\n", 1)
    p = d / "s.toml"
    p.write_text(text, encoding="utf-8")
    try:
        sc = load_scenario(p)
    except InputError as exc:
        assert exc.problems and all(pr.file.endswith("s.toml") for pr in exc.problems)
        return
    nums = [sc.time_limit_s, sc.discount_rate, *sc.targets.values()]
    for sp in sc.streams.values():
        nums += [sp.capture_rate, *(t.capex_cny for t in sp.tiers.values()),
                 *(t.lifetime_yr for t in sp.tiers.values())]
        nums += [t.radius_m for t in sp.tiers.values() if t.radius_m is not None]
    assert all(math.isfinite(x) for x in nums)


layout_cells = st.one_of(st.sampled_from(
    ["", "nan", "N/A", "-", "inf", "1e308", "114.6", "33.0", "-33", "V1", "T1", "film", "*",
     "film;straw", "village_point", "county_center", "existing", "new", "closed", "film=5;x=1",
     "film=nan", "=cmd", "gcj02", "bd09", "wgs84", "站点", "1e400", "-5"]), st.text(max_size=6))
LAYOUT_COLS = ["site_id", "name", "streams", "tier", "lon", "lat", "capacity_t", "status",
               "parent_id", "datum"]


@fuzz(1000)
@given(st.lists(st.sampled_from(LAYOUT_COLS), min_size=1, max_size=10, unique=True),
       st.lists(st.lists(layout_cells, min_size=10, max_size=10), max_size=5))
def test_fuzz_layout_table(scratch, cols, rows):
    """A layout table with any columns and hostile cells: a checked table (finite coordinates and
    capacities) or InputError naming the file (and the row and field of each bad cell)."""
    df = pd.DataFrame([r[: len(cols)] for r in rows], columns=cols, dtype=object)
    p = scratch / "layout.csv"
    df.to_csv(p, index=False, quoting=csv.QUOTE_ALL)  # a cell's "\r" stays in its row
    try:
        t = read_layout(p, streams=("film", "straw"))
    except InputError as exc:
        assert exc.problems
        assert all(pr.file == str(p) for pr in exc.problems)
        assert all(pr.row is None or 1 <= pr.row <= len(rows) for pr in exc.problems)
        return
    assert t["lon"].map(math.isfinite).all() and t["lat"].map(math.isfinite).all()
    caps = pd.to_numeric(t["capacity_t"], errors="coerce")
    assert not caps.map(lambda x: x == math.inf or x == -math.inf).any()
