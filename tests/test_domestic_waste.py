"""The sixth stream, rural household waste (农村生活垃圾, issue 24), is data: its generation on the demo
county recomputed by hand from the sourced coefficients, the on-spot (composted) share kept out of the
network, and the demo scenario's daily rhythm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netplan._paths import data_file
from netplan.errors import InputError
from netplan.inputs import load_county
from netplan.scenario import load_scenario
from netplan.streams import load_coefficients, load_streams
from netplan.supply import estimate

DEMO = Path(data_file("demo"))


@pytest.fixture(scope="module")
def county():
    return load_county(DEMO)


def test_generation_by_hand(county) -> None:
    """T = population × 0.52 kg/(人·d) × 365 (0.80 in 街道); 10 % composted on the spot (U_on), the
    rest (N) enters the network; the daily peak is N / 365."""
    coef = load_coefficients()
    c = coef["domestic_waste"]
    s = estimate(county, coef, ("domestic_waste",))
    v = county.villages
    urban = set(county.townships.loc[county.townships["kind"] == "街道", "township_code"].astype(str))
    rate = np.where(v["township_code"].astype(str).isin(urban), c["urban_kg_per_person_day"],
                    c["kg_per_person_day"])
    total = v["population"].to_numpy(dtype=float) * rate * 365.0 / 1000.0
    n = len(v)     # villages first, then the farms (which generate none of it)
    assert s.total_t_yr("domestic_waste")[:n] == pytest.approx(total, abs=1e-5)
    assert s.used_t_yr("domestic_waste", "onsite")[:n] == pytest.approx(0.10 * total, abs=1e-5)
    assert s.mass_t_yr("domestic_waste")[:n] == pytest.approx(0.90 * total, abs=1e-5)
    assert s.peak_t_day("domestic_waste")[:n] == pytest.approx(0.90 * total / 365.0, abs=1e-5)
    assert not s.total_t_yr("domestic_waste")[n:].any()
    # 0.72 M residents at 0.52-0.80 kg/(人·d): 130-220 kt/yr
    assert 130_000 < total.sum() < 220_000


def test_onsite_share_must_be_a_share(county) -> None:
    """A bad on-spot share names the coefficient."""
    coef = load_coefficients()
    coef["domestic_waste"] = {**coef["domestic_waste"], "onsite_share": 1.5}
    with pytest.raises(InputError, match="onsite_share"):
        estimate(county, coef, ("domestic_waste",))


def test_stream_and_scenario_are_data() -> None:
    """The stream's names and tiers come from streams.toml; the demo scenario collects it every day
    at a point within 1 km of every village and scores 收运处置体系覆盖率 against 100 %."""
    st = load_streams()["domestic_waste"]
    assert st.name_zh == "农村生活垃圾" and st.demand_sources == ("villages",) and not st.seasonal
    assert st.tier_names_zh["township_station"] == "乡镇中转站"
    sc = load_scenario(data_file("scenarios", "demo.toml"))
    sp = sc.streams["domestic_waste"]
    assert sp.rounds_per_year == 365
    assert sp.tiers["village_point"].radius_m == 1000
    assert sc.targets[("domestic_waste", "village_coverage")] == 1.0
