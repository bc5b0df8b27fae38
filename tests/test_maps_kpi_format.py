"""KPI values by unit (netplan.maps.text.fmt_kpi): the maps' KPI panel, the PNG KPI text and
report.html print the same strings."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netplan.maps import static as static_mod
from netplan.maps.kpi_panel import kpi_panel_html
from netplan.maps.text import fmt_kpi
from netplan.report import report_html

CASES = [
    # (value, unit, shown) — one line per unit of kpis.csv (netplan/evaluate.py)
    (14.0, "count", "14"),
    (1234.0, "count", "1,234"),
    (0.0, "count", "0"),
    (0.8333333, "fraction", "83.3%"),
    (1.0, "fraction", "100.0%"),
    (569.836, "t/yr", "570 t/yr"),
    (42.25, "t/yr", "42.2 t/yr"),
    (5.5, "t/yr", "5.50 t/yr"),
    (9_999.4, "t/yr", "9,999 t/yr"),
    (10_000.0, "t/yr", "1.00 万t/yr"),
    (810_726.175, "t/yr", "81.07 万t/yr"),
    (8_000.0, "CNY/yr", "8,000 CNY/yr"),
    (123_456.0, "CNY/yr", "12.3 万元/yr"),
    (2_500_000.0, "CNY/yr", "250 万元/yr"),
    (51_504_319.368, "CNY/yr", "5,150 万元/yr"),
    (234_443_000.0, "CNY", "23,444 万元"),
    (38.256, "CNY/t", "38.3 CNY/t"),
    (996.745, "CNY/t", "997 CNY/t"),
    (9_447_948.277, "t.km/yr", "9,447,948 t·km/yr"),
    (2_395_170.022, "km/yr", "2,395,170 km/yr"),
    (103.292, "vehicle-days/yr", "103 vehicle-days/yr"),
    (1_489_365.988, "kg/yr", "1,489,366 kg/yr"),
]


@pytest.mark.parametrize(("value", "unit", "shown"), CASES)
def test_fmt_kpi_shows_each_unit_the_way_a_planner_reads_it(value, unit, shown):
    """Counts as integers, shares as %, tonnage in t or 万t, money in CNY or 万元 from 1万 on,
    other units with about three figures and thousands separators."""
    assert fmt_kpi(value, unit) == shown


def test_fmt_kpi_missing_and_text_values():
    """None, NaN and ±inf are an em dash; text that is not a number passes through; "" is a dash."""
    for v in (None, float("nan"), math.inf, -math.inf, ""):
        assert fmt_kpi(v, "t/yr") == "—"
    assert fmt_kpi("n/a", "count") == "n/a"
    assert fmt_kpi("14", "count") == "14"  # kpis.csv read as text still formats by unit


def test_fmt_kpi_without_cjk_keeps_t_and_cny():
    """For figures with no Chinese font: no 万, tonnage in t and money in CNY however large."""
    assert fmt_kpi(810_726.175, "t/yr", cjk=False) == "810,726 t/yr"
    assert fmt_kpi(51_504_319.368, "CNY/yr", cjk=False) == "51,504,319 CNY/yr"
    assert fmt_kpi(0.9, "fraction", cjk=False) == "90.0%"


@given(st.floats(-1e12, 1e12, allow_nan=False))
def test_fmt_kpi_wan_values_read_back_to_the_value(v):
    """A value in 万 read back (× 10,000) is within the rounding of its printed digits."""
    text = fmt_kpi(v, "CNY/yr")
    if "万元" in text:
        back = float(text.split()[0].replace(",", "")) * 10_000
        assert abs(back - v) <= 0.0051 * abs(v)
    else:
        assert abs(v) < 10_000
        assert text.endswith(" CNY/yr")


KPIS = pd.DataFrame([
    ("straw", "village_coverage", 0.970085, 0.82, True, "fraction", "行政村覆盖率"),
    ("straw", "generation_t_yr", 810726.175, None, None, "t/yr", "产生量"),
    ("straw", "served_t_yr", 702131.441, None, None, "t/yr", "收集量"),
    ("straw", "sites_township_station", 14.0, None, None, "count", "乡镇站数量"),
    ("straw", "capex_cny", 110640000.0, None, None, "CNY", "建设投资"),
    ("straw", "total_cost_cny_yr", 26860709.701, None, None, "CNY/yr", "年总成本"),
    ("straw", "cost_cny_per_t", 38.256, None, None, "CNY/t", "吨处理成本"),
    ("straw", "fleet_collection", 438.0, None, None, "count", "收运车辆数(高峰)"),
    ("all", "total_cost_cny_yr", 26860709.701, None, None, "CNY/yr", "年总成本"),
], columns=["stream", "indicator", "value", "target", "met", "unit", "label_zh"])


def test_panel_and_report_print_the_same_kpi_strings():
    """The map's KPI panel and report.html show counts as "14" (not "14.00 count"), tonnage in
    万t, money in 万元 — the same strings from the same formatter."""
    panel = kpi_panel_html(KPIS, ["straw"], {"straw": "秸秆"})
    report = report_html({"title": "t", "scenario": "s"}, KPIS, None, None, ["straw"], maps=False)
    assert "14.00" not in panel and " count" not in panel
    for value, unit, shown in [(0.970085, "fraction", "97.0%"), (810726.175, "t/yr", "81.07 万t/yr"),
                               (110640000.0, "CNY", "11,064 万元"),
                               (26860709.701, "CNY/yr", "2,686 万元/yr"),
                               (38.256, "CNY/t", "38.3 CNY/t"), (438.0, "count", "438")]:
        assert fmt_kpi(value, unit) == shown
        assert f">{shown}<" in panel, shown
    for shown in ("97.0%", "≥ 82.0%", "81.07 万t/yr", "11,064 万元", "2,686 万元/yr", "38.3 CNY/t",
                  ">438<"):
        assert shown in report, shown
    assert ">14<" in panel  # the count row is in the panel (all rows) ...
    assert " count" not in report


def test_png_kpi_text_uses_the_same_formatter():
    """The PNG KPI text prints targeted rows with the same strings (no 万 without a CJK font)."""
    text = static_mod.kpi_text(KPIS, ["straw"], True)
    assert "97.0% / 82.0%  PASS" in text
