"""One numeric reader for every table cell and scenario value.

A cell is read by :func:`read_cell` into a number or a reason it is not one; :func:`check_cell`
adds the field's plausible range from ``data/columns.toml`` (``[ranges.<table>]``). Nothing that
is not a number ever becomes 0: NaN-like tokens (``NaN``, ``N/A``, ``-``, ``#VALUE!`` …), infinity
and magnitudes beyond the field's range are errors; values above the field's ``warn`` level are
named warnings. A blank cell is 0, unknown or an error as the field's ``blank`` rule says.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from netplan.errors import Problem

_FULLWIDTH = str.maketrans("０１２３４５６７８９．－，＋", "0123456789.-,+")

#: cells that stand for "no value" in spreadsheets and statistics tables (compared lower-cased)
NAN_TOKENS = frozenset({
    "nan", "na", "n/a", "n.a.", "#n/a", "null", "none", "nil", "-", "--", "—", "——", "–", "/", "?",
    "？", "x", "...", "…", "#value!", "#div/0!", "#ref!", "#num!", "#name?", "#null!", "无", "空",
    "缺", "不详", "暂无",
})
_INF_TOKENS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "+∞", "-∞"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Cell:
    """A cell as read: ``value`` when it is a finite number, else ``kind`` says why not.

    ``kind`` is "number", "blank", "token" (a NaN-like marker), "inf" or "text".
    """

    kind: str
    value: float | None = None


def read_cell(raw: object) -> Cell:
    """Read one cell (text as written, or a number from a spreadsheet/TOML).

    Thousands commas, spaces and full-width digits are accepted (``1,200``, ``３００``).
    """
    if raw is None:
        return Cell("blank")
    if isinstance(raw, bool):
        return Cell("text")
    if isinstance(raw, (int, float, np.integer, np.floating)):
        try:
            v = float(raw)
        except OverflowError:  # an int beyond float range
            return Cell("inf")
        if math.isnan(v):
            return Cell("blank") if isinstance(raw, float) else Cell("token")
        return Cell("number", v) if math.isfinite(v) else Cell("inf")
    s = str(raw).translate(_FULLWIDTH).strip()
    if s == "":
        return Cell("blank")
    low = s.lower()
    if low in NAN_TOKENS:
        return Cell("token")
    if low in _INF_TOKENS:
        return Cell("inf")
    t = s.replace(",", "").replace(" ", "").replace("_", "")
    if not _NUMBER.match(t):
        return Cell("text")
    v = float(t)
    return Cell("number", v) if math.isfinite(v) else Cell("inf")  # 1e400 overflows to inf


@dataclass(frozen=True)
class Range:
    """Plausible range of one numeric field (in the stored unit, e.g. mu after conversion).

    ``lo``/``hi``: outside is an error; ``warn``: above it is a warning; ``blank``: what a blank
    cell means ("zero", "unknown" = NaN, "error"); ``unit`` for messages; ``source`` why.
    """

    lo: float = 0.0
    hi: float = math.inf
    warn: float = math.inf
    blank: str = "zero"
    unit: str = ""
    source: str = ""


@lru_cache(maxsize=1)
def _ranges() -> dict[str, dict[str, Range]]:
    from netplan.inputs.columns import column_table

    out: dict[str, dict[str, Range]] = {}
    for table, fields in column_table().get("ranges", {}).items():
        out[table] = {}
        for name, spec in fields.items():
            out[table][name] = Range(lo=float(spec.get("min", 0.0)),
                                     hi=float(spec.get("max", math.inf)),
                                     warn=float(spec.get("warn", math.inf)),
                                     blank=str(spec.get("blank", "zero")),
                                     unit=str(spec.get("unit", "")), source=str(spec.get("source", "")))
    return out


def field_range(table: str, field: str) -> Range:
    """The plausible range of ``table``'s ``field`` (data/columns.toml ``[ranges]``); a default
    non-negative, finite range when the file names none."""
    return _ranges().get(table, {}).get(field, Range())


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 and float(v).is_integer() else f"{v:g}"


def check_cell(raw: object, rng: Range, file: str, row: int | None, field: str,
               problems: list[Problem], *, factor: float = 1.0) -> float | None:
    """A cell as a number in the stored unit (× ``factor``), checked against ``rng``.

    Returns the value, NaN for a blank "unknown" field, 0 for a blank "zero" field, or None when
    the cell is refused (the problem is appended: file, row, field and what was expected).
    """
    cell = read_cell(raw)
    if cell.kind == "blank":
        if rng.blank == "error":
            problems.append(Problem(file, row, field, "missing value (a number is required)"))
            return None
        return math.nan if rng.blank == "unknown" else 0.0
    if cell.kind == "token":
        problems.append(Problem(file, row, field, f"not a number: '{raw}' marks a missing value; "
                                "write the number (0 if there is none)"))
        return None
    if cell.kind == "inf":
        problems.append(Problem(file, row, field, f"not a finite number: '{raw}'"))
        return None
    if cell.kind == "text" or cell.value is None:
        problems.append(Problem(file, row, field, f"not a number: '{raw}'"))
        return None
    v = cell.value * factor
    unit = f" {rng.unit}" if rng.unit else ""
    if v < 0 and rng.lo >= 0:
        problems.append(Problem(file, row, field, f"negative quantity {cell.value:g}"))
        return None
    if v < rng.lo or v > rng.hi:
        why = f" ({rng.source})" if rng.source else ""
        problems.append(Problem(file, row, field, f"{_fmt(v)}{unit} is outside the plausible range "
                                f"[{_fmt(rng.lo)}, {_fmt(rng.hi)}]{why}"))
        return None
    if v > rng.warn:
        problems.append(Problem(file, row, field, f"{_fmt(v)}{unit} is unusually large (above "
                                f"{_fmt(rng.warn)}{unit}); check the number and its unit", "warning"))
    return v


def nonfinite_keys(raw: Any, path: str = "") -> list[str]:
    """Dotted keys of every NaN or infinite float anywhere in a parsed TOML document (TOML allows
    ``nan`` and ``inf``), including inside arrays (``key[2]``)."""
    out: list[str] = []
    if isinstance(raw, float) and not math.isfinite(raw):
        out.append(path or "<document>")
    elif isinstance(raw, dict):
        for k, v in raw.items():
            out.extend(nonfinite_keys(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            out.extend(nonfinite_keys(v, f"{path}[{i}]"))
    return out
