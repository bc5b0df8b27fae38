"""Scenario files: the demo loads; bad files give every problem with its key."""

from pathlib import Path

import pytest

from netplan._paths import data_file
from netplan.errors import InputError
from netplan.scenario import crf, load_scenario

DEMO = data_file("scenarios", "demo.toml")


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "county").mkdir(exist_ok=True)
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return p


TIER = ('{ candidates = ["village"], radius_m = 3000, capacity_t = 100, capex_cny = 1000, '
        'lifetime_yr = 10, opex_share = 0.1, rate_cny_per_tkm = 2 }')


def _stream(sid: str, extra: str = "") -> str:
    return (f"[streams.{sid}]\n{extra}\nvillage_point = {TIER}\ntownship_station = {TIER}\n"
            f"county_center = {TIER}\n")


def test_demo_scenario_carries_the_2027_targets():
    """demo.toml has the seed plans' targets: straw 82 %, packaging every village, film 85 % (national), manure 85 %."""
    s = load_scenario(DEMO)
    assert s.targets[("straw", "village_coverage")] == 0.82
    assert s.targets[("pesticide_packaging", "villages_with_point")] == 1.0   # a point in every village
    assert s.targets[("straw", "offsite_use_rate")] == 0.35
    assert s.targets[("film", "recovery_rate")] == 0.85
    assert s.targets[("manure", "utilisation_rate")] == 0.85
    assert s.stream_ids == ("straw", "film", "pesticide_packaging", "manure", "recyclables", "domestic_waste")
    assert s.sharing["township_station"] == (("film", "pesticide_packaging"),)


def test_minimal_scenario(tmp_path):
    """A scenario with one stream and defaults loads."""
    p = _write(tmp_path, 'name = "x"\ncounty = "county"\n' + _stream("film"))
    s = load_scenario(p)
    assert s.stream_ids == ("film",)
    assert s.streams["film"].tiers["village_point"].radius_m == 3000
    assert s.solver == "scip" and s.seed == 0


def test_every_problem_is_reported_at_once(tmp_path):
    """Unknown stream, unknown tier key, out-of-range rate, bad solver: all named in one error."""
    text = ('name = "x"\ncounty = "county"\nsolver = "gurobi"\n' + _stream("glass")
            + _stream("film", "capture_rate = 1.5\ncolour = 3")
            + "[targets]\nfilm.recovery_rate = 0.9\nfilm.happiness = 1\n")
    with pytest.raises(InputError) as e:
        load_scenario(_write(tmp_path, text))
    msg = str(e.value)
    assert "streams.glass" in msg and "unknown stream" in msg
    assert "streams.film.capture_rate" in msg and "outside" in msg
    assert "streams.film.colour" in msg
    assert "solver" in msg and "gurobi" in msg
    assert "targets.film.happiness" in msg
    assert len(e.value.problems) == 5


def test_missing_county_folder_and_bad_toml(tmp_path):
    """A missing county folder is named; invalid TOML is an InputError with the file name."""
    p = tmp_path / "s.toml"
    p.write_text('county = "nowhere"\n' + _stream("film"), encoding="utf-8")
    with pytest.raises(InputError, match="county folder not found"):
        load_scenario(p)
    p.write_text("name = [", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(p)
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "absent.toml")


def test_capital_recovery_factor():
    """CRF at 6 % over 10 years is 0.13587; zero rate is straight-line."""
    assert crf(0.06, 10) == pytest.approx(0.135868, rel=1e-5)
    assert crf(0.0, 8) == pytest.approx(0.125)


def test_columns_mapping_reaches_the_reader(tmp_path):
    """A scenario's [columns.villages] maps an unknown header; without it the reader names the file."""
    import shutil

    import pandas as pd

    from netplan.inputs import validate_folder
    from netplan.planner import load_inputs

    src = Path(__file__).parent / "data" / "inputs" / "planner"
    county = tmp_path / "county"
    shutil.copytree(src, county)
    x = county / "村庄.xlsx"
    pd.read_excel(x).rename(columns={"村名": "自然村名称"}).to_excel(x, index=False)
    body = f'name = "x"\ncounty = "{county.as_posix()}"\n' + _stream("film")
    bare = tmp_path / "bare.toml"
    bare.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match="村庄.xlsx"):
        load_inputs(load_scenario(bare))
    mapped = tmp_path / "mapped.toml"
    mapped.write_text(body + '[columns.villages]\nname = "自然村名称"\n', encoding="utf-8")
    sc = load_scenario(mapped)
    assert sc.columns == {"villages": {"name": "自然村名称"}}
    c = load_inputs(sc)
    assert len(c.villages) == 4 and c.villages["name"].notna().all()
    assert validate_folder(county, scenario=mapped, roads=False).ok
    bad = tmp_path / "bad.toml"
    bad.write_text(body + '[columns.roads]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="columns.roads"):
        load_scenario(bad)


def test_unreachable_policy(tmp_path):
    """``unreachable`` is "stop" or "relax" (unset: None, "stop" for one county, "relax" in a
    batch); anything else names the key."""
    base = 'name = "t"\ncounty = "county"\n' + _stream("film")
    assert load_scenario(_write(tmp_path, base)).unreachable is None
    assert load_scenario(_write(tmp_path, 'unreachable = "relax"\n' + base)).unreachable == "relax"
    with pytest.raises(InputError) as ei:
        load_scenario(_write(tmp_path, 'unreachable = "ignore"\n' + base))
    assert "unreachable" in str(ei.value) and "stop, relax" in str(ei.value)
