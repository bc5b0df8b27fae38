"""netplan.alternatives on the template county: plans within the cost cap, each differing from
the others in a township station or county centre, with the comparison written."""

from __future__ import annotations

import pandas as pd
import pytest
from test_frontier import tiny_scenario

import netplan
from netplan.analysis.near_optimal import COLUMNS, _pick


def test_alternatives_differ_within_cap(tmp_path):
    """Three plans within 50 % of the best (the template county's stations and centres are few,
    so moving one costs much), each differing from every other in an upper-tier site; the
    comparison pages of the compare view are written."""
    sc = tiny_scenario(tmp_path)
    out = tmp_path / "alt"
    df = netplan.alternatives(sc, n=3, within=0.5, out_dir=out, workers=0, maps=False)
    assert list(df.columns) == COLUMNS
    assert list(df["plan"]) == ["best", "alternative_1", "alternative_2"]
    assert (df["gap_to_best"] <= 0.5).all() and df["gap_to_best"].iloc[0] == 0
    assert (df["sites_differ"].iloc[1:] >= 1).all()
    assert (df["min_differ_other"] >= 1).all()
    assert df["differs"].iloc[1].startswith("only in best: ")
    csv = pd.read_csv(out / "alternatives.csv", encoding="utf-8-sig")
    assert len(csv) == 3
    for run in df["run"]:
        assert (out / run / "kpis.csv").exists()
    assert (out / "compare" / "compare.html").exists()
    assert (out / "compare" / "compare_map.html").exists()
    assert (out / "compare_map_alternative_1.html").exists()


def test_pick_prefers_most_different_and_never_a_copy():
    """Greedy selection: the plan furthest from those picked first; a copy is never picked."""
    def p(sites, cost):
        return {"upper_sites": [("straw", "township_station", s) for s in sites], "cost": cost}

    best = p(["A", "B"], 100)
    far, near, same = p(["C", "D"], 101), p(["A", "C"], 100.5), p(["A", "B"], 100)
    assert _pick(best, [near, far, same], 2) == [far, near]
    assert _pick(best, [same], 2) == []


@pytest.mark.parametrize("n", [1])
def test_cli_alternatives_needs_two(tmp_path, n):
    """`netplan alternatives --n 1` is refused (the best alone is `netplan plan`)."""
    from typer.testing import CliRunner

    from netplan.cli import app

    r = CliRunner().invoke(app, ["alternatives", str(tiny_scenario(tmp_path)), "--n", str(n)])
    assert r.exit_code == 2
