"""Header aliases (Chinese or English) and area units for the county folder's tables.

The aliases live in ``data/columns.toml``; a county folder adds its own per-file mapping in
``county.toml`` (``[files.villages.columns] name = "自然村名称"``), and ``load_county(columns=...)``
overrides both.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from netplan._paths import data_file
from netplan.errors import Problem

_BRACKET = re.compile(r"[（(\[【]\s*([^)）\]】]*)\s*[)）\]】]\s*$")
_SUFFIX = re.compile(r"_(mu|ha)$")


@lru_cache(maxsize=1)
def column_table() -> dict[str, Any]:
    """The parsed ``data/columns.toml`` (aliases per table, value aliases, unit markers)."""
    with open(data_file("columns.toml"), "rb") as fh:
        return tomllib.load(fh)


def mu_per_ha() -> float:
    """Mu (亩) per hectare: 15 (the legal 市亩 = 666.67 m², columns.toml, confidence A)."""
    return float(column_table()["units"]["mu_per_ha"])


def normalise(header: object) -> tuple[str, str | None]:
    """A header reduced for matching, and the unit it names (``"mu"``, ``"ha"``, ``"10kmu"`` or None).

    Lower-cased, full-width characters folded, spaces, underscores and hyphens dropped, a trailing
    unit in brackets ("耕地面积（亩）", "Cropland (ha)") or suffix ("_ha") removed and returned.
    """
    text = str(header).strip().replace("\ufeff", "")
    markers: dict[str, str] = column_table()["units"]["markers"]
    unit = None
    m = _BRACKET.search(text)
    if m:
        inner = m.group(1).strip().lower()
        if inner in markers:
            unit = markers[inner]
            text = text[: m.start()]
    low = text.lower().strip()
    if unit is None:
        s = _SUFFIX.search(low)
        if s and low not in {"mu", "ha"}:
            unit = s.group(1)
            low = low[: s.start()]
    key = re.sub(r"[\s_\-./]+", "", low)
    return key, unit


@dataclass
class Mapped:
    """A table after header mapping: canonical columns, the original header of each, and units."""

    frame: pd.DataFrame
    source: dict[str, str] = field(default_factory=dict)  # canonical -> original header
    units: dict[str, str] = field(default_factory=dict)  # canonical area column -> unit in the file
    problems: list[Problem] = field(default_factory=list)


def map_columns(df: pd.DataFrame, table: str, file: str, *,
                override: Mapping[str, str] | None = None) -> Mapped:
    """Rename ``df``'s headers to netplan's canonical names for ``table``.

    Parameters
    ----------
    df
        The table as read (headers as the planner wrote them).
    table
        "villages", "farms", "townships", "sites" or "boundary".
    file
        File name for problem reports.
    override
        canonical -> header as in the file; wins over the aliases.

    Returns
    -------
    Mapped
        Canonical columns first matched win; unmatched headers are kept as they are. Two headers
        matching one canonical column is reported (the first is used).
    """
    aliases: dict[str, list[str]] = column_table().get(table, {})
    lookup: dict[str, str] = {}
    for canon, names in aliases.items():
        for n in [canon, *names]:
            lookup.setdefault(normalise(n)[0], canon)
    out = Mapped(frame=df)
    rename: dict[str, str] = {}
    taken: dict[str, str] = {}
    headers = [str(c) for c in df.columns]
    forced: dict[str, str] = {}
    for canon, header in (override or {}).items():
        hits = [h for h in headers if h == str(header)] or [
            h for h in headers if normalise(h)[0] == normalise(header)[0]]
        if not hits:
            out.problems.append(Problem(file, None, str(canon),
                                        f"the mapping names column '{header}', which is not in the file "
                                        f"(headers: {', '.join(headers[:20])})"))
            continue
        forced[hits[0]] = str(canon)
    for h in headers:
        if h == "geometry":
            continue
        key, unit = normalise(h)
        canon = forced.get(h)
        if canon is None:
            canon = lookup.get(key)
            if canon is None and unit is not None:
                canon = lookup.get(key + unit)
            if canon is None and len(h) == 10:  # a Shapefile (dBase) truncates names to 10 chars
                pre = [c for c in aliases if c.startswith(h) and c not in taken]
                canon = pre[0] if len(pre) == 1 else None
            if canon is None or canon in forced.values():
                continue
        if canon in taken:
            out.problems.append(Problem(file, None, h,
                                        f"column '{h}' and column '{taken[canon]}' both mean '{canon}'; "
                                        f"'{taken[canon]}' is used (map one explicitly in county.toml)",
                                        "warning"))
            continue
        taken[canon] = h
        rename[h] = canon
        if canon.endswith("_mu"):
            out.units[canon] = unit or ""
    keep = [c for c in df.columns if str(c) in rename or str(c) not in rename.values()]
    frame = df[keep].rename(columns={c: rename.get(str(c), c) for c in keep})
    out.frame = frame
    out.source = {v: k for k, v in rename.items()}
    return out


def area_factor(unit: str, declared: str | None) -> float:
    """Multiplier that turns a column in ``unit`` (from the header; "" = not stated) into mu.

    ``declared`` is the file's ``area_unit`` from county.toml ("mu" or "ha"), used when the header
    states no unit.
    """
    u = unit or (declared or "mu")
    if u == "ha":
        return mu_per_ha()
    if u == "10kmu":
        return 10000.0
    return 1.0


def value_aliases(kind: str) -> dict[str, str]:
    """Cell value aliases for ``kind`` ("species", "streams", "tiers", "bool"): lower-cased word -> id."""
    table: dict[str, list[str]] = column_table()["values"][kind]
    out: dict[str, str] = {}
    for canon, names in table.items():
        for n in [canon, *names]:
            out[str(n).strip().lower()] = canon
    return out
