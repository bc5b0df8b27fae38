"""Text of the maps and the report: HTML escaping, numbers in popups, and KPI values by unit.

:func:`fmt_kpi` is the one formatter of kpis.csv values (docs/indicators.md): the KPI panel of the
HTML maps, the PNG figures' KPI text and the one-page report.html all print values through it, so
they agree.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

#: 1 万 = 10,000: tonnages and money from this size on are shown in 万t / 万元
WAN = 10_000


def esc(value: Any) -> str:
    """HTML-escaped text of a value; empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value))


def fmt_num(value: Any, digits: int = 1) -> str:
    """A number with thousands separators, or an em dash when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v) or math.isinf(v):
        return "—"
    return f"{v:,.{digits}f}"


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage (one decimal), or an em dash when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(v) else f"{100 * v:.1f}%"


def popup_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """Popup HTML: a bold title and a two-column table (labels already bilingual)."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="np-popup"><b>{title}</b><table>{body}</table></div>'


def truthy(value: Any) -> bool:
    """A table cell read as a boolean (``True``, 1, "true", "yes", "t"); None/NaN are False."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "t"}
    return bool(value)


def km_of(dist_m: Any) -> float:
    """Metres as kilometres; NaN when not a number."""
    try:
        return float(dist_m) / 1000.0
    except (TypeError, ValueError):
        return float("nan")


def hours_of(time_s: Any) -> float:
    """Seconds as hours; NaN when not a number."""
    try:
        return float(time_s) / 3600.0
    except (TypeError, ValueError):
        return float("nan")


# ----------------------------------------------------------------------------- KPI values


def _sig(v: float) -> str:
    """Thousands separators; 0 decimals from 100 on, 1 from 10, else 2 (about 3 figures)."""
    a = abs(v)
    digits = 0 if a >= 100 else 1 if a >= 10 else 2
    text = f"{v:,.{digits}f}"
    return "0" if float(text.replace(",", "")) == 0 else text


def _per(unit: str, base: str) -> str:
    """The ``/yr`` (or other) rest of a unit after its base (``"CNY/yr"`` -> ``"/yr"``)."""
    return unit[len(base):]


def fmt_kpi(value: Any, unit: str, *, cjk: bool = True) -> str:
    """A kpis.csv value as a planner reads it, by its ``unit`` column (plain text, not escaped).

    ========================  ===============================  ==============================
    unit                      shown                            example
    ========================  ===============================  ==============================
    ``fraction``              percent, one decimal             0.8333 -> ``83.3%``
    ``count``                 integer                          14.0 -> ``14``; 1234 -> ``1,234``
    ``t/yr``, ``t``           t; 万t from 10,000 t             569.84 -> ``570 t/yr``;
                                                               810726 -> ``81.07 万t/yr``
    ``CNY``, ``CNY/yr``       CNY; 万元 from 10,000 CNY        8000 -> ``8,000 CNY/yr``;
                                                               2.5e6 -> ``250 万元/yr``
    ``CNY/t``                 CNY per tonne                    38.256 -> ``38.3 CNY/t``
    ``t.km/yr``               t·km                             9447948.3 -> ``9,447,948 t·km/yr``
    other (km/yr, kg/yr, …)   number and the unit as written   2395170.0 -> ``2,395,170 km/yr``
    ========================  ===============================  ==============================

    Numbers other than percentages and counts keep about three significant figures (0 decimals
    from 100 on, 1 from 10, else 2) with thousands separators. Missing values (None, NaN, ±inf)
    are an em dash; text that is not a number is returned as it is (empty text: em dash).

    Parameters
    ----------
    value
        The value (a number, or text as read from kpis.csv).
    unit
        The row's ``unit`` (evaluate.py: fraction, count, t/yr, CNY, CNY/yr, CNY/t, t.km/yr,
        km/yr, vehicle-days/yr, kg/yr).
    cjk
        False for output without Chinese glyphs (PNG figures with no CJK font): no 万, money in
        CNY and tonnage in t however large.
    """
    if value is None:
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value).strip() or "—"
    if not math.isfinite(v):
        return "—"
    unit = str(unit or "").strip()
    if unit == "fraction":
        return f"{100 * v:.1f}%"
    if unit == "count":
        return f"{round(v):,d}"
    if unit in ("t", "t/yr"):
        if cjk and abs(v) >= WAN:
            return f"{v / WAN:,.2f} 万t{_per(unit, 't')}"
        return f"{_sig(v)} {unit}"
    if unit in ("CNY", "CNY/yr"):
        if cjk and abs(v) >= WAN:
            return f"{_sig(v / WAN)} 万元{_per(unit, 'CNY')}"
        return f"{v:,.0f} {unit}"
    if unit == "t.km/yr":
        return f"{_sig(v)} t·km/yr"
    return f"{_sig(v)} {unit}".strip()
