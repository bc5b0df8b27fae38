"""Scenario files refuse nan and inf anywhere (TOML allows them) and implausible magnitudes."""

from __future__ import annotations

from pathlib import Path

import pytest

from netplan.errors import InputError
from netplan.scenario import load_scenario

TIER = ('{ candidates = ["village"], radius_m = 3000, capacity_t = 100, capex_cny = 1000, '
        'lifetime_yr = 10, opex_share = 0.1, rate_cny_per_tkm = 2 }')


def scenario(tmp_path: Path, *, stream_extra: str = "", tier: str = TIER, tail: str = "") -> Path:
    """A minimal valid one-stream scenario with optional changes."""
    (tmp_path / "county").mkdir(exist_ok=True)
    p = tmp_path / "s.toml"
    p.write_text(f'name = "x"\ncounty = "county"\n{tail}\n[streams.film]\n{stream_extra}\n'
                 f"village_point = {tier}\ntownship_station = {TIER}\ncounty_center = {TIER}\n",
                 encoding="utf-8")
    return p


def fields(exc: InputError) -> dict[str, str]:
    """field -> message of the error's problems."""
    return {str(p.field): p.message for p in exc.problems}


@pytest.mark.parametrize("tail, key", [
    ("[targets.film]\nrecovery_rate = nan", "targets.film.recovery_rate"),
    ("time_limit_s = inf", "time_limit_s"),
    ("[roads]\ncircuity = -inf", "roads.circuity"),
    ("[finance]\ndiscount_rate = nan", "finance.discount_rate"),
    ("[coefficients]\nfoo = [1.0, nan]", "coefficients.foo[1]"),
])
def test_nan_and_inf_refused_everywhere(tmp_path, tail, key):
    """nan/inf in a target, a time limit, a table or an array is an error naming the key (a nan
    target used to drop the target silently)."""
    with pytest.raises(InputError) as ei:
        load_scenario(scenario(tmp_path, tail=tail))
    assert fields(ei.value)[key] == "nan or inf is not a value: write the number"
    assert len(ei.value.problems) == 1


def test_nan_in_stream_and_tier(tmp_path):
    """nan capture rate and inf radius: one problem each, with the key."""
    tier = TIER.replace("radius_m = 3000", "radius_m = inf")
    with pytest.raises(InputError) as ei:
        load_scenario(scenario(tmp_path, stream_extra="capture_rate = nan", tier=tier))
    f = fields(ei.value)
    assert set(f) == {"streams.film.capture_rate", "streams.film.village_point.radius_m"}


def test_implausible_magnitudes(tmp_path):
    """A radius of 1e308 m and a capacity of 1e300 t/yr are outside their range."""
    tier = TIER.replace("radius_m = 3000", "radius_m = 1e308").replace("capacity_t = 100",
                                                                         "capacity_t = 1e300")
    with pytest.raises(InputError) as ei:
        load_scenario(scenario(tmp_path, tier=tier))
    f = fields(ei.value)
    assert "is outside" in f["streams.film.village_point.radius_m"]
    assert "is outside" in f["streams.film.village_point.capacity_t"]


def test_flag_must_be_bool(tmp_path):
    """only_farming = "no" was read as True; now it is an error."""
    tier = TIER.replace("}", ', only_farming = "no" }')
    with pytest.raises(InputError) as ei:
        load_scenario(scenario(tmp_path, tier=tier))
    assert "expected true or false" in fields(ei.value)["streams.film.village_point.only_farming"]


def test_folder_given_as_scenario(tmp_path):
    """A folder where the scenario file is expected is an InputError, not an internal error."""
    with pytest.raises(InputError, match="a folder, not a scenario file"):
        load_scenario(tmp_path)
