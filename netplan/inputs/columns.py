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
    dup = frame.columns.duplicated()
    if dup.any():  # the same header twice (or a header and an alias of it): keep the first
        for name in dict.fromkeys(str(c) for c in frame.columns[dup]):
            out.problems.append(Problem(file, None, name, f"column '{name}' appears more than once; "
                                        "the first is used", "warning"))
        frame = frame.loc[:, ~dup]
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


#: cells that mark a summary row in planners' spreadsheets (dropped with a note)
TOTAL_WORDS = {"合计", "总计", "小计", "合  计", "合 计", "总 计", "total", "sum", "subtotal"}


def header_score(headers: list[object], table: str) -> int:
    """How many of ``headers`` are known aliases of ``table``'s columns."""
    aliases: dict[str, list[str]] = column_table().get(table, {})
    keys = {normalise(n)[0] for canon, names in aliases.items() for n in [canon, *names]}
    return sum(1 for h in headers if str(h).strip() and normalise(h)[0] in keys)


def tidy_table(df: pd.DataFrame, table: str, file: str, problems: list[Problem]) -> pd.DataFrame:
    """A spreadsheet made readable: a title row above the header (表头) is skipped when a lower
    row (within the first five) holds more known headers, and summary rows (合计/总计/小计) are
    dropped; both are noted. When rows are dropped, ``df.attrs["rows"]`` maps each remaining row
    to its 1-based data row in the file."""
    best, best_row = header_score(list(df.columns), table), None
    for k in range(min(5, len(df))):
        sc = header_score(list(df.iloc[k]), table)
        if sc > best:
            best, best_row = sc, k
    if best_row is not None:
        cols = [str(c).strip() or f"column_{i + 1}" for i, c in enumerate(df.iloc[best_row])]
        df = df.iloc[best_row + 1:].reset_index(drop=True)
        df.columns = cols
        problems.append(Problem(file, None, None, f"the header is on line {best_row + 2} of the "
                                "sheet (title lines above it skipped); rows are counted from it",
                                "note"))
    if len(df):
        total = df.apply(lambda r: any(str(x).strip().lower() in TOTAL_WORDS for x in r.iloc[:4]),
                         axis=1).to_numpy(dtype=bool)
        for i in map(int, total.nonzero()[0]):
            problems.append(Problem(file, i + 1, None, "summary row (合计/总计) skipped", "note"))
        if total.any():
            keep = (~total).nonzero()[0]
            df = df[~total].reset_index(drop=True)
            df.attrs["rows"] = [int(i) + 1 for i in keep]
    return df
