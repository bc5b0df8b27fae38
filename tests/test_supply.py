"""Generation per village and farm, checked by hand against data/coefficients.toml."""

import pytest

from netplan.errors import InputError
from netplan.model import STREAMS
from netplan.streams import load_coefficients, load_streams
from netplan.supply import estimate


def test_straw_of_one_village_by_hand(county):
    """Collectable straw = area × yield × straw-to-grain ratio × collectable, per crop; 55 % is
    returned to the field and 5 % used by the household, so the network takes 40 %; peak = largest
    window of that."""
    s = estimate(county, load_coefficients(), STREAMS)
    wheat = 1000 * 447 * 1.15 * 0.80 / 1000
    maize = 600 * 393 * 1.10 * 0.85 / 1000
    assert s.total_t_yr("straw")[0] == pytest.approx(wheat + maize, rel=1e-9)
    assert s.mass_t_yr("straw")[0] == pytest.approx(0.40 * (wheat + maize), rel=1e-6)
    assert s.used_t_yr("straw", "onsite")[0] == pytest.approx(0.55 * (wheat + maize), rel=1e-6)
    assert s.used_t_yr("straw", "offsite")[0] == pytest.approx(0.05 * (wheat + maize), rel=1e-6)
    assert s.peak_t_day("straw")[0] == pytest.approx(0.40 * max(wheat / 25, maize / 35), rel=1e-6)


def test_film_packaging_recyclables_by_hand(county):
    """Film used from mulched crops (vegetables, 20 % of peanut at 3 kg) and greenhouses, the network
    takes the recoverable 90 %; packaging per sown mu (95 % recoverable); recyclables per resident,
    at the urban rate in a 街道."""
    s = estimate(county, load_coefficients(), STREAMS)
    used = [100 * 4.0 / 1000, (10 * 50.0 + 200 * 0.2 * 3.0) / 1000]
    assert s.total_t_yr("film")[:2] == pytest.approx(used)
    assert s.mass_t_yr("film")[:2] == pytest.approx([0.9 * u for u in used])
    assert s.total_t_yr("pesticide_packaging")[0] == pytest.approx((1000 + 600 + 100) * 0.04 / 1000)
    assert s.mass_t_yr("pesticide_packaging")[0] == pytest.approx(0.95 * 1700 * 0.04 / 1000)
    assert s.mass_t_yr("recyclables")[0] == pytest.approx(1000 * 0.10 * 365 / 1000)
    assert s.mass_t_yr("recyclables")[3] == pytest.approx(1500 * 0.25 * 365 / 1000)
    assert s.peak_t_day("recyclables")[0] == pytest.approx(0.1)


def test_manure_villages_and_farms(county):
    """Manure: small holders × off-site share 0.8, scale farms × 0.4; farms make no other stream."""
    s = estimate(county, load_coefficients(), STREAMS)
    m = s.mass_t_yr("manure")
    assert m[0] == pytest.approx(100 * 2.0 * 365 / 1000 * 0.8)
    assert m[4] == pytest.approx(1000 * 2.0 * 365 / 1000 * 0.4)
    assert s.demands["kind"].tolist() == ["village"] * 4 + ["farm"]
    assert s.mass_t_yr("straw")[4] == 0.0


def test_overrides_change_the_estimate(county):
    """A scenario's [coefficients] table overrides one number and keeps the rest."""
    coef = load_coefficients(overrides={"recyclables": {"kg_per_person_day": 0.2}})
    s = estimate(county, coef, ("recyclables", "straw"))
    assert s.mass_t_yr("recyclables")[0] == pytest.approx(73.0)
    assert s.streams == ("recyclables", "straw")
    assert "film_t_yr" not in s.demands.columns


def test_negative_area_names_row_and_field(county):
    """A negative crop area is an InputError naming the table, row and column."""
    county.villages.loc[2, "wheat_mu"] = -5
    with pytest.raises(InputError) as e:
        estimate(county, load_coefficients(), ("straw",))
    assert "row 3" in str(e.value) and "wheat_mu" in str(e.value)


def test_unknown_species(county):
    """A farm with an unknown species is named with its row."""
    county.farms.loc[0, "species"] = "yak"
    with pytest.raises(InputError, match="unknown species 'yak'"):
        estimate(county, load_coefficients(), ("manure",))


def test_streams_are_data():
    """The five farm/recyclables streams and rural household waste (issue 24), with Chinese names and
    each stream's own tier names."""
    st = load_streams()
    assert tuple(st) == (*STREAMS, "domestic_waste")
    assert st["straw"].tier_names_zh["village_point"] == "村级收储点"
    assert st["recyclables"].tier_names_zh["county_center"] == "分拣中心"
    assert all(s.name_zh and s.name_en for s in st.values())
