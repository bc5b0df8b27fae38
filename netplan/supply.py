"""Generation: t/yr and peak t/day of every stream at every demand point (villages and farms).

Coefficients come from data/coefficients.toml (each with its source); each stream's table names its
generation rule (``rule = "crop_residue"`` ..., :data:`RULES`), so a stream is data, not code.
Definitions of total / network / used tonnage: docs/indicators.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.errors import InputError
from netplan.model import County

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Supply:
    """What each demand point generates.

    Attributes
    ----------
    demands
        GeoDataFrame (EPSG:4326), one row per demand point: demand_id, kind ("village" or "farm"),
        village_id, township_code, name, geometry, and per stream ``<stream>_t_yr`` (t/yr) and
        ``<stream>_peak_t_day`` (t/day in the stream's busiest window): what the network can take;
        ``<stream>_total_t_yr`` (the official indicator's denominator), ``<stream>_used_onsite_t_yr``
        and ``<stream>_used_offsite_t_yr`` (utilised without the network), see :class:`Generation`.
    streams
        Stream ids in column order.
    """

    demands: gpd.GeoDataFrame
    streams: tuple[str, ...]

    def mass_t_yr(self, stream: str) -> np.ndarray:
        """Annual generation of ``stream`` per demand point, t/yr."""
        return self.demands[f"{stream}_t_yr"].to_numpy(dtype=float)

    def peak_t_day(self, stream: str) -> np.ndarray:
        """Peak daily generation of ``stream`` per demand point, t/day."""
        return self.demands[f"{stream}_peak_t_day"].to_numpy(dtype=float)

    def total_t_yr(self, stream: str) -> np.ndarray:
        """The indicator denominator per demand (可收集量, 使用量, 产生量), t/yr."""
        col = f"{stream}_total_t_yr"
        return self.demands[col].to_numpy(dtype=float) if col in self.demands else self.mass_t_yr(stream)

    def used_t_yr(self, stream: str, where: str) -> np.ndarray:
        """Utilised without the network per demand, t/yr: ``where`` "onsite" (还田, on-farm use) or
        "offsite" (农户分散利用)."""
        col = f"{stream}_used_{where}_t_yr"
        return self.demands[col].to_numpy(dtype=float) if col in self.demands else np.zeros(len(self.demands))

    def totals(self) -> dict[str, float]:
        """County generation per stream (the official totals: 可收集量, 使用量, 产生量), t/yr."""
        return {s: float(self.total_t_yr(s).sum()) for s in self.streams}


def _col(df: pd.DataFrame, name: str, table: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df))
    vals = pd.to_numeric(df[name], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if (vals < 0).any():
        row = int(np.flatnonzero(vals < 0)[0]) + 1
        msg = f"negative value {vals[row - 1]}"
        raise InputError(msg, file=table, row=row, field=name)
    return vals


def _window_days(coef: Mapping[str, Any], window: str) -> float:
    try:
        return float(coef["seasons"][window]["days"])
    except KeyError as exc:
        msg = f"unknown season window '{window}'"
        raise InputError(msg, file="coefficients", field="seasons") from exc


@dataclass(frozen=True)
class Generation:
    """One stream's generation at every demand (villages first, then farms), t/yr unless noted.

    Attributes
    ----------
    total
        The official indicator's denominator: 可收集资源量 (straw), 使用量 (film), 产生量 (packaging,
        manure, recyclables).
    network
        What the network can take: the off-field straw market users need, the recoverable film and
        packaging, the off-site manure (the siting's weights).
    used_onsite
        Utilised where it arises, without the network: straw 直接还田, manure used on the farm.
    used_offsite
        Utilised off the field without the network: straw 农户分散利用 (own feed, fuel).
    peak
        ``network`` in the stream's busiest window, t/day.
    """

    total: np.ndarray
    network: np.ndarray
    used_onsite: np.ndarray
    used_offsite: np.ndarray
    peak: np.ndarray


def _pad(a: np.ndarray, nf: int) -> np.ndarray:
    return np.concatenate([a, np.zeros(nf)])


def _share(c: Mapping[str, Any], key: str, stream: str) -> float:
    v = c.get(key)
    if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
        msg = f"{key} must be a share between 0 and 1 (got {v!r})"
        raise InputError(msg, file="coefficients", field=f"{stream}.{key}")
    return float(v)


def crop_residue(v: pd.DataFrame, f: pd.DataFrame, towns: pd.DataFrame, c: Mapping[str, Any],
                 coef: Mapping[str, Any], stream: str) -> Generation:
    """Collectable crop residue (t/yr): area × yield × straw-to-grain ratio × collectable coefficient.

    The in-field (还田) and household (农户分散) shares of ``c["uses"]`` are used without the network;
    the rest is the off-field straw the network collects. Peak: the largest harvest window's
    off-field straw ÷ the window's days.
    """
    total = np.zeros(len(v))
    by_window: dict[str, np.ndarray] = {}
    for crop in c["crops"].values():
        area = _col(v, crop["column"], "villages")
        t = area * crop["yield_kg_per_mu"] * crop["straw_grain_ratio"] * crop["collectable"] / 1000.0
        total += t
        by_window[crop["window"]] = by_window.get(crop["window"], 0.0) + t
    uses = c.get("uses", {})
    in_field = _share(uses, "in_field_share", f"{stream}.uses") if "in_field_share" in uses else 0.0
    house = _share(uses, "household_share", f"{stream}.uses") if "household_share" in uses else 0.0
    if in_field + house > 1:
        msg = f"in_field_share + household_share = {in_field + house:.3f} exceeds 1"
        raise InputError(msg, file="coefficients", field=f"{stream}.uses")
    off = 1.0 - in_field - house
    peak = np.zeros(len(v))
    for w, t in by_window.items():
        peak = np.maximum(peak, t * off / _window_days(coef, w))
    nf = len(f)
    return Generation(_pad(total, nf), _pad(total * off, nf), _pad(total * in_field, nf),
                      _pad(total * house, nf), _pad(peak, nf))


def _windowed_peak(total: np.ndarray, windows: Mapping[str, float], coef: Mapping[str, Any]) -> np.ndarray:
    peak = np.zeros_like(total)
    for w, share in windows.items():
        peak = np.maximum(peak, total * float(share) / _window_days(coef, w))
    return peak


def _recoverable(total: np.ndarray, c: Mapping[str, Any], coef: Mapping[str, Any], nf: int,
                 stream: str) -> Generation:
    rec = _share(c, "recoverable_share", stream) if "recoverable_share" in c else 1.0
    net = total * rec
    zero = np.zeros(len(total) + nf)
    return Generation(_pad(total, nf), _pad(net, nf), zero, zero,
                      _pad(_windowed_peak(net, c.get("windows", {}), coef), nf))


def mulch_film(v: pd.DataFrame, f: pd.DataFrame, towns: pd.DataFrame, c: Mapping[str, Any],
               coef: Mapping[str, Any], stream: str) -> Generation:
    """Film used (t/yr): Σ mulched crops area × mulched share × kg/mu + greenhouse area × kg/mu;
    the network can take the recoverable share of it."""
    kg = _col(v, c["greenhouse_column"], "villages") * c["greenhouse_kg_per_mu"]
    for m in c.get("mulch", []):
        kg = kg + _col(v, m["column"], "villages") * float(m.get("share", 1.0)) * m["kg_per_mu"]
    return _recoverable(kg / 1000.0, c, coef, len(f), stream)


def per_sown_area(v: pd.DataFrame, f: pd.DataFrame, towns: pd.DataFrame, c: Mapping[str, Any],
                  coef: Mapping[str, Any], stream: str) -> Generation:
    """Waste per mu of sown land (t/yr): Σ sown columns × kg per sown mu; recoverable share to the network."""
    sown = sum((_col(v, col, "villages") for col in c["sown_columns"]), np.zeros(len(v)))
    return _recoverable(sown * c["kg_per_sown_mu"] / 1000.0, c, coef, len(f), stream)


def _species_rate(c: Mapping[str, Any], sp: str, row: int) -> float:
    if sp not in c["species"]:
        known = ", ".join(sorted(c["species"]))
        msg = f"unknown species '{sp}' (known: {known})"
        raise InputError(msg, file="farms", row=row, field="species")
    return float(c["species"][sp]["kg_per_head_day"])


def livestock_manure(v: pd.DataFrame, f: pd.DataFrame, towns: pd.DataFrame, c: Mapping[str, Any],
                     coef: Mapping[str, Any], stream: str) -> Generation:
    """Manure production (粪污产生量, t/yr) of small holders (village stock columns) and scale farms;
    the off-site share enters the network, the on-farm part is used at ``onsite_use_share``."""
    pv = np.zeros(len(v))
    for column, species in c["village_columns"].items():
        pv += _col(v, column, "villages") * _species_rate(c, species, 0) * DAYS_PER_YEAR / 1000.0
    if len(f):
        stock = _col(f, "stock_head", "farms")
        rates = np.array([_species_rate(c, sp, i + 1) for i, sp in enumerate(f["species"].astype(str))])
        pf = stock * rates * DAYS_PER_YEAR / 1000.0
    else:
        pf = np.zeros(0)
    off, use = c["offsite_share"], c.get("onsite_use_share", {})
    so_v, so_f = _share(off, "village", f"{stream}.offsite_share"), _share(off, "farm", f"{stream}.offsite_share")
    u_v = _share(use, "village", f"{stream}.onsite_use_share") if "village" in use else 0.0
    u_f = _share(use, "farm", f"{stream}.onsite_use_share") if "farm" in use else 0.0
    total = np.concatenate([pv, pf])
    net = np.concatenate([pv * so_v, pf * so_f])
    used = np.concatenate([pv * (1 - so_v) * u_v, pf * (1 - so_f) * u_f])
    return Generation(total, net, used, np.zeros(len(total)), net / DAYS_PER_YEAR)


def per_capita(v: pd.DataFrame, f: pd.DataFrame, towns: pd.DataFrame, c: Mapping[str, Any],
               coef: Mapping[str, Any], stream: str) -> Generation:
    """Per-resident waste (t/yr): population × kg/(person·day) × 365, the urban rate for villages of
    townships whose ``kind`` is in ``urban_township_kinds``; steady flow. Optional ``onsite_share``
    (of the total, e.g. the organic part a village composts on the spot) is treated without the
    network (counted as used on site) and does not enter it."""
    rate = np.full(len(v), float(c["kg_per_person_day"]))
    kinds = set(c.get("urban_township_kinds", []))
    if kinds and "urban_kg_per_person_day" in c and "kind" in towns.columns:
        urban_codes = set(towns.loc[towns["kind"].astype(str).isin(kinds), "township_code"].astype(str))
        is_urban = v["township_code"].astype(str).isin(urban_codes).to_numpy()
        rate = np.where(is_urban, float(c["urban_kg_per_person_day"]), rate)
    total = _col(v, c["population_column"], "villages") * rate * DAYS_PER_YEAR / 1000.0
    onsite = total * _share(c, "onsite_share", stream) if "onsite_share" in c else np.zeros(len(v))
    nf = len(f)
    zero = np.zeros(len(v) + nf)
    net = total - onsite
    return Generation(_pad(total, nf), _pad(net, nf), _pad(onsite, nf), zero, _pad(net / DAYS_PER_YEAR, nf))


#: generation rules by name (``rule = "<name>"`` in the stream's table of data/coefficients.toml)
RULES = {"crop_residue": crop_residue, "mulch_film": mulch_film, "per_sown_area": per_sown_area,
         "livestock_manure": livestock_manure, "per_capita": per_capita}


def estimate(county: County, coefficients: Mapping[str, Any], streams: tuple[str, ...]) -> Supply:
    """Estimate every stream at every village and farm of ``county``.

    Parameters
    ----------
    county
        The county's inputs.
    coefficients
        Merged coefficient tables (see :func:`netplan.streams.load_coefficients`).
    streams
        Stream ids to estimate (others get no columns).
    """
    v = county.villages
    f = county.farms
    nv, nf = len(v), len(f)
    cols: dict[str, np.ndarray] = {}
    for s in streams:
        c = coefficients.get(s)
        rule = c.get("rule") if isinstance(c, Mapping) else None
        if rule not in RULES:
            msg = (f"no generation rule for stream '{s}': its table in the coefficients needs "
                   f"rule = one of {', '.join(RULES)} (got {rule!r})")
            raise InputError(msg, file="coefficients", field=f"{s}.rule")
        g = RULES[rule](v, f, county.townships, c, coefficients, s)
        cols[f"{s}_t_yr"] = np.round(g.network, 6)
        cols[f"{s}_peak_t_day"] = np.round(g.peak, 6)
        cols[f"{s}_total_t_yr"] = np.round(g.total, 6)
        cols[f"{s}_used_onsite_t_yr"] = np.round(g.used_onsite, 6)
        cols[f"{s}_used_offsite_t_yr"] = np.round(g.used_offsite, 6)
    base = pd.DataFrame({
        "demand_id": list(v["village_id"].astype(str)) + list(f["farm_id"].astype(str)) if nf
        else list(v["village_id"].astype(str)),
        "kind": ["village"] * nv + ["farm"] * nf,
        "village_id": list(v["village_id"].astype(str)) + (list(f["village_id"].astype(str)) if nf else []),
        "township_code": list(v["township_code"].astype(str))
        + (list(f["township_code"].astype(str)) if nf else []),
        "name": list(v["name"].astype(str)) + (list(f["name"].astype(str)) if nf else []),
    })
    geoms = list(v.geometry) + (list(f.geometry) if nf else [])
    demands = gpd.GeoDataFrame(pd.concat([base, pd.DataFrame(cols)], axis=1), geometry=geoms, crs="EPSG:4326")
    return Supply(demands=demands, streams=tuple(streams))
