"""The declared sorting coverage (分类覆盖率, Anyang 2025-2027: 农村生活垃圾分类覆盖率 50 % by 2027) and the
shared-site counts (两网融合) and the collection rhythm per village, by hand on the tiny county (tests/conftest.py): four villages v1-v3
(township 411723101) and v4 (a 街道 community, 411723001), all with residents, so all four generate
household waste and count in the denominator."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from netplan.errors import InputError
from netplan.evaluate import evaluate
from netplan.layout import Layout
from netplan.scenario import load_scenario
from netplan.streams import load_coefficients
from netplan.supply import estimate

TIER = ('{ candidates = ["village", "township_seat", "recycling_centre"], radius_m = 3000, capacity_t = 5000, '
        'capex_cny = 0, lifetime_yr = 10, opex_share = 0, rate_cny_per_tkm = 0 }')


def _scenario(tmp_path, sorting: str | None, targets: str = "domestic_waste.sorting_coverage = 0.5",
              streams: tuple[str, ...] = ("domestic_waste",), sharing: str = ""):
    (tmp_path / "county").mkdir(exist_ok=True)
    body = ""
    for s in streams:
        decl = f"sorting_villages = {sorting}\n" if sorting is not None and s == "domestic_waste" else ""
        body += (f"[streams.{s}]\ncapture_rate = 1.0\n{decl}village_point = {TIER}\n"
                 f"township_station = {TIER}\ncounty_center = {TIER}\n")
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\ncounty = "county"\n[targets]\n{targets}\n{sharing}\n{body}', encoding="utf-8")
    return load_scenario(p)


def _layout(stream: str, covered: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points ``V<id>`` for the covered villages, all to station T411723101 → centre S2."""
    rows = [{"site_id": p, "stream": stream, "tier": "village_point", "status": "new", "capacity_t": 5000.0,
             "parent_id": "T411723101"} for p in sorted(set(covered.values()))]
    rows += [{"site_id": "T411723101", "stream": stream, "tier": "township_station", "status": "new",
              "capacity_t": 5000.0, "parent_id": "S2"},
             {"site_id": "S2", "stream": stream, "tier": "county_center", "status": "existing",
              "capacity_t": 5000.0, "parent_id": None}]
    dp = [{"stream": stream, "demand_id": v, "point_id": covered.get(v), "dist_m": 0.0 if v in covered else None}
          for v in ("v1", "v2", "v3", "v4")]
    return pd.DataFrame(rows), pd.DataFrame(dp)


def _kpis(sc, county, layouts):
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    sites = pd.concat([s for s, _ in layouts], ignore_index=True)
    dp = pd.concat([d for _, d in layouts], ignore_index=True)
    ev = evaluate(sc, county, sup, Layout(sites=sites, demand_point=dp, source="hand-made"))
    return ev, ev.kpis.set_index(["stream", "indicator"])


THREE = {"v1": "Vv1", "v2": "Vv2", "v4": "Vv1"}   # v3 has no point: 3 of 4 villages covered


def test_listed_villages_count_where_covered(tmp_path, county) -> None:
    """v1 and v3 sort; v3 is not collected: 1 of 4 villages sorts and is covered = 0.25, short of 0.5.
    Per township: 411723101 1/3 (v1 of v1-v3), 411723001 0 (v4 does not sort)."""
    sc = _scenario(tmp_path, '["v1", "v3"]')
    ev, k = _kpis(sc, county, [_layout("domestic_waste", THREE)])
    row = k.loc[("domestic_waste", "sorting_coverage")]
    assert row["value"] == pytest.approx(0.25) and row["target"] == 0.5 and not bool(row["met"])
    assert row["label_zh"] == "分类覆盖率" and row["unit"] == "fraction"
    assert k.loc[("domestic_waste", "village_coverage"), "value"] == pytest.approx(0.75)
    t = ev.townships[ev.townships["indicator"] == "sorting_coverage"].set_index("township_code")["value"]
    assert t["411723101"] == pytest.approx(1 / 3) and t["411723001"] == 0.0


def test_listed_villages_meet_anyang_half(tmp_path, county) -> None:
    """v1 and v4 sort and both are covered: 2 of 4 = 0.5, Anyang's 50 % met."""
    sc = _scenario(tmp_path, '["v1", "v4"]')
    _, k = _kpis(sc, county, [_layout("domestic_waste", THREE)])
    assert k.loc[("domestic_waste", "sorting_coverage"), "value"] == pytest.approx(0.5)
    assert bool(k.loc[("domestic_waste", "sorting_coverage"), "met"])


def test_declared_share_is_spread_over_covered_villages(tmp_path, county) -> None:
    """A share 0.6 with 3 of 4 villages covered: 0.6 × 3/4 = 0.45."""
    sc = _scenario(tmp_path, "0.6")
    _, k = _kpis(sc, county, [_layout("domestic_waste", THREE)])
    assert k.loc[("domestic_waste", "sorting_coverage"), "value"] == pytest.approx(0.45)


def test_villages_column(tmp_path, county) -> None:
    """A villages.csv column (是/否, 1/0, yes/no) names the sorting villages: v2 and v4 -> 2 of 4;
    a cell that is neither names villages.csv, its row and the column."""
    sc = _scenario(tmp_path, '"sorts"')
    v = county.villages.copy()
    v["sorts"] = ["否", "是", "0", "yes"]
    _, k = _kpis(sc, replace(county, villages=v),
                 [_layout("domestic_waste", THREE)])
    assert k.loc[("domestic_waste", "sorting_coverage"), "value"] == pytest.approx(0.5)
    v["sorts"] = ["否", "maybe", "0", "1"]
    with pytest.raises(InputError, match=r"villages.csv, row 2, field 'sorts'"):
        _kpis(sc, replace(county, villages=v), [_layout("domestic_waste", THREE)])


def test_no_declaration_no_row_and_a_target_needs_one(tmp_path, county) -> None:
    """Without sorting_villages there is no sorting row; a target on it is refused on load; so are
    unknown village ids (on evaluation) and a share outside 0-1."""
    sc = _scenario(tmp_path, None, targets="")
    _, k = _kpis(sc, county, [_layout("domestic_waste", THREE)])
    assert ("domestic_waste", "sorting_coverage") not in k.index
    with pytest.raises(InputError, match="targets.domestic_waste.sorting_coverage"):
        _scenario(tmp_path, None)
    with pytest.raises(InputError, match="sorting_villages"):
        _scenario(tmp_path, "1.5")
    with pytest.raises(InputError, match="not a village_id of the county: v9"):
        _kpis(_scenario(tmp_path, '["v1", "v9"]'), county, [_layout("domestic_waste", THREE)])


def test_shared_station_counted_once_per_site(tmp_path, county) -> None:
    """两网融合: recyclables and household waste, one [sharing] group at township stations, use the same
    station T411723101 (and centre S2 and point Vv1): 1 shared station; the centre and the point are
    only co-located (no group at their tiers: each stream pays its own), so they count 0. Without the
    group the same layout shares nothing."""
    sharing = '[sharing]\ntownship_station = [["recyclables", "domestic_waste"]]\n'
    layouts = [_layout("domestic_waste", THREE), _layout("recyclables", {"v1": "Vv1"})]
    sc = _scenario(tmp_path, None, targets="", streams=("recyclables", "domestic_waste"), sharing=sharing)
    _, k = _kpis(sc, county, layouts)
    assert k.loc[("all", "shared_township_station"), "value"] == 1.0
    assert k.loc[("all", "shared_county_center"), "value"] == 0.0
    assert k.loc[("all", "shared_village_point"), "value"] == 0.0
    assert k.loc[("all", "sites_township_station"), "value"] == 1.0
    assert "两网融合" in k.loc[("all", "shared_township_station"), "label_zh"]
    sc = _scenario(tmp_path, None, targets="", streams=("recyclables", "domestic_waste"))
    _, k = _kpis(sc, county, layouts)
    assert k.loc[("all", "shared_township_station"), "value"] == 0.0


def _rhythm_scenario(tmp_path, rounds: str):
    (tmp_path / "county").mkdir(exist_ok=True)
    p = tmp_path / "r.toml"
    p.write_text(f'name = "r"\ncounty = "county"\nworkday_h = 8\n[streams.domestic_waste]\ncapture_rate = 1.0\n'
                 f'collection_vehicle = "compactor"\nhaul_vehicle = "truck"\nrounds_per_year = 365\n'
                 f"rounds_by_village = {rounds}\nvillage_point = {TIER}\ntownship_station = {TIER}\n"
                 f"county_center = {TIER}\n", encoding="utf-8")
    return load_scenario(p)


class _CrowFly:
    """Straight lines for route geometry (plan_routes only draws with it)."""

    is_crow_fly = True

    @staticmethod
    def route_line(points):
        from shapely.geometry import LineString
        return LineString(points)


def test_collection_rhythm_per_village(tmp_path, county) -> None:
    """rounds_by_village maps a villages.csv column to rounds per year: v1-v3 (村) every other day (183),
    v4 (居委会) every day (365). Station T411723101 gets one round per rhythm: v4's point daily,
    v1-v3's points every other day, each stop loading its annual tonnage ÷ its rounds; every trip fits
    the 8 h day; the villages layer carries the rhythm."""
    import numpy as np

    from netplan.candidates import build_candidates
    from netplan.collection import plan_routes
    from netplan.indicators import village_rounds

    v = county.villages.copy()
    v["unit"] = ["village", "village", "village", "community"]
    cty = replace(county, villages=v)
    sc = _rhythm_scenario(tmp_path, '{ column = "unit", rounds = { village = 183, community = 365 } }')
    assert village_rounds(sc.streams["domestic_waste"], cty).to_dict() == {
        "v1": 183.0, "v2": 183.0, "v3": 183.0, "v4": 365.0}
    pts = {"v1": "Vv1", "v2": "Vv2", "v3": "Vv3", "v4": "Vv4"}
    sites, dp = _layout("domestic_waste", pts)
    # plus a station no point uses (it gets no round; regression: it must not break the routing)
    idle = {"site_id": "T411723001", "stream": "domestic_waste", "tier": "township_station", "status": "new",
            "capacity_t": 5000.0, "parent_id": "S2"}
    sites = pd.concat([sites, pd.DataFrame([idle])], ignore_index=True)
    ev, _ = _kpis(sc, cty, [(sites, dp)])
    assert ev.coverage.set_index("demand_id")["rounds_per_year"].to_dict() == {
        "v1": 183.0, "v2": 183.0, "v3": 183.0, "v4": 365.0, "f1": 365.0}   # farms: the stream's
    cands = build_candidates(cty)
    xy = np.array([[g.x * 93_400.0, g.y * 111_000.0] for g in cands.geometry])
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 1.3
    layout = Layout(sites=sites, demand_point=dp, source="hand-made")
    routes = plan_routes(sc, layout, ev, cands, dist, lambda veh: dist / (30 / 3.6), _CrowFly())
    col = routes[routes["kind"] == "collection"]
    by_stop = {s: float(r) for stops, r in zip(col["stops"], col["rounds_per_year"], strict=True)
               for s in stops.split(";")}
    assert by_stop == {"Vv1": 183.0, "Vv2": 183.0, "Vv3": 183.0, "Vv4": 365.0}
    assert (col["trips_per_year"] == col["rounds_per_year"] * col["trips_per_round"]).all()
    assert (col["duration_s"] <= 8 * 3600).all()
    loads = ev.site_loads.set_index("site_id")["load_t"]
    daily = col[col["rounds_per_year"] == 365]
    assert float((daily["load_t"] * daily["trips_per_round"]).sum()) == pytest.approx(loads["Vv4"] / 365, rel=1e-3)
    assert col["route_id"].is_unique and set(col["station_id"]) == {"T411723101"}


def test_collection_rhythm_column_of_numbers(tmp_path, county) -> None:
    """Without a mapping the cells are rounds per year; a blank keeps the stream's 365; a word is an
    error naming villages.csv, its row and the column; a townships column applies to its villages."""
    from netplan.indicators import village_rounds

    v = county.villages.copy()
    v["rounds"] = ["365", "122", "", "52"]
    sc = _rhythm_scenario(tmp_path, '{ column = "rounds" }')
    got = village_rounds(sc.streams["domestic_waste"], replace(county, villages=v))
    assert got.to_dict() == {"v1": 365.0, "v2": 122.0, "v3": 365.0, "v4": 52.0}
    v["rounds"] = ["365", "daily", "", "52"]
    with pytest.raises(InputError, match=r"villages.csv, row 2, field 'rounds'"):
        village_rounds(sc.streams["domestic_waste"], replace(county, villages=v))
    with pytest.raises(InputError, match="rounds_by_village"):
        _rhythm_scenario(tmp_path, '"unit"')
    # a townships column, read for each village's township (the demo's `kind`: 街道 daily, 镇 every other day)
    sc = _rhythm_scenario(tmp_path, '{ column = "kind", rounds = { "街道" = 365, "镇" = 183 } }')
    assert village_rounds(sc.streams["domestic_waste"], county).to_dict() == {
        "v1": 183.0, "v2": 183.0, "v3": 183.0, "v4": 365.0}
    sc = _rhythm_scenario(tmp_path, '{ column = "nowhere" }')
    with pytest.raises(InputError, match="neither the villages nor the townships table"):
        village_rounds(sc.streams["domestic_waste"], county)


def test_station_capacity_per_day(tmp_path) -> None:
    """capacity_t_day = 150 (a class IV transfer station, CJJ/T 47-2016) is 54,750 t/yr; giving it
    with capacity_t is refused naming the key. The demo's household-waste stations are given per day."""
    tier = TIER.replace("capacity_t = 5000", "capacity_t_day = 150")
    (tmp_path / "county").mkdir(exist_ok=True)
    p = tmp_path / "c.toml"
    body = f"[streams.domestic_waste]\nvillage_point = {TIER}\ncounty_center = {TIER}\n"
    p.write_text(f'name = "c"\ncounty = "county"\n{body}township_station = {tier}\n', encoding="utf-8")
    assert load_scenario(p).streams["domestic_waste"].tiers["township_station"].capacity_t == 150 * 365
    p.write_text(f'name = "c"\ncounty = "county"\n{body}township_station = {tier[:-1]}, capacity_t = 1 }}\n',
                 encoding="utf-8")
    with pytest.raises(InputError, match="capacity_t_day.*not both"):
        load_scenario(p)
    from netplan._paths import data_file
    demo = load_scenario(data_file("scenarios", "demo.toml")).streams["domestic_waste"]
    assert demo.tiers["township_station"].capacity_t == 150 * 365 and demo.collection_vehicle == "compactor"


def test_validate_names_a_missing_rhythm_column_before_any_plan(tmp_path) -> None:
    """`netplan validate --scenario` reports a rounds_by_village column that neither county table
    has (and bad sorting_villages ids) — not `netplan plan` after minutes of siting."""
    from netplan._paths import data_file
    from netplan.inputs import validate_folder

    demo = data_file("demo")
    p = tmp_path / "v.toml"
    p.write_text(f'name = "v"\ncounty = "{demo.as_posix()}"\n[streams.domestic_waste]\ncapture_rate = 1.0\n'
                 'rounds_by_village = { column = "nosuch", rounds = { "镇" = 183 } }\n'
                 'sorting_villages = ["V-not-a-village"]\n'
                 f"village_point = {TIER}\ntownship_station = {TIER}\ncounty_center = {TIER}\n",
                 encoding="utf-8")
    report = validate_folder(demo, scenario=p, roads=False)
    text = " ".join(str(e) for e in report.errors)
    assert not report.ok and "nosuch" in text and "rounds_by_village" in text
    assert "V-not-a-village" in text
