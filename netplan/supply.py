"""Generation: t/yr and peak t/day of every stream at every demand point (villages and farms).

Coefficients come from data/coefficients.toml (each with its source); see docs/architecture.md.
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
        ``<stream>_peak_t_day`` (t/day in the stream's busiest window).
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

    def totals(self) -> dict[str, float]:
        """County totals per stream, t/yr."""
        return {s: float(self.mass_t_yr(s).sum()) for s in self.streams}


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


def straw(villages: pd.DataFrame, coef: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Collectable straw per village (t/yr) and peak flow (t/day).

    yield (kg/mu) × area (mu) × straw-to-grain ratio × collectable coefficient; the peak is the
    largest harvest window's straw divided by the window's length in days.
    """
    total = np.zeros(len(villages))
    by_window: dict[str, np.ndarray] = {}
    for crop in coef["straw"]["crops"].values():
        area = _col(villages, crop["column"], "villages")
        t = area * crop["yield_kg_per_mu"] * crop["straw_grain_ratio"] * crop["collectable"] / 1000.0
        total += t
        w = crop["window"]
        by_window[w] = by_window.get(w, 0.0) + t
    peak = np.zeros(len(villages))
    for w, t in by_window.items():
        peak = np.maximum(peak, t / _window_days(coef, w))
    return total, peak


def _windowed_peak(total: np.ndarray, windows: Mapping[str, float], coef: Mapping[str, Any]) -> np.ndarray:
    peak = np.zeros_like(total)
    for w, share in windows.items():
        peak = np.maximum(peak, total * float(share) / _window_days(coef, w))
    return peak


def film(villages: pd.DataFrame, coef: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Film used per village (t/yr): mulched area × kg/mu + greenhouse area × kg/mu."""
    c = coef["film"]
    mulch = _col(villages, c["mulch_column"], "villages") * c["mulch_kg_per_mu"]
    green = _col(villages, c["greenhouse_column"], "villages") * c["greenhouse_kg_per_mu"]
    total = (mulch + green) / 1000.0
    return total, _windowed_peak(total, c["windows"], coef)


def pesticide_packaging(villages: pd.DataFrame, coef: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Empty pesticide packaging per village (t/yr): sown area (mu) × kg per sown mu."""
    c = coef["pesticide_packaging"]
    sown = sum((_col(villages, col, "villages") for col in c["sown_columns"]), np.zeros(len(villages)))
    total = sown * c["kg_per_sown_mu"] / 1000.0
    return total, _windowed_peak(total, c["windows"], coef)


def manure_villages(villages: pd.DataFrame, coef: Mapping[str, Any]) -> np.ndarray:
    """Off-site manure of small holders per village, t/yr (stock × kg/head/day × 365 × off-site share)."""
    c = coef["manure"]
    total = np.zeros(len(villages))
    for column, species in c["village_columns"].items():
        rate = c["species"][species]["kg_per_head_day"]
        total += _col(villages, column, "villages") * rate * DAYS_PER_YEAR / 1000.0
    return total * c["offsite_share"]["village"]


def manure_farms(farms: pd.DataFrame, coef: Mapping[str, Any]) -> np.ndarray:
    """Off-site manure of scale farms, t/yr."""
    c = coef["manure"]
    if len(farms) == 0:
        return np.zeros(0)
    stock = _col(farms, "stock_head", "farms")
    rates = np.empty(len(farms))
    for i, sp in enumerate(farms["species"].astype(str)):
        if sp not in c["species"]:
            known = ", ".join(sorted(c["species"]))
            msg = f"unknown species '{sp}' (known: {known})"
            raise InputError(msg, file="farms", row=i + 1, field="species")
        rates[i] = c["species"][sp]["kg_per_head_day"]
    return stock * rates * DAYS_PER_YEAR / 1000.0 * c["offsite_share"]["farm"]


def recyclables(villages: pd.DataFrame, coef: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Recyclables per village (t/yr): population × kg/(person·day) × 365; steady flow."""
    c = coef["recyclables"]
    total = _col(villages, c["population_column"], "villages") * c["kg_per_person_day"] * DAYS_PER_YEAR / 1000.0
    return total, total / DAYS_PER_YEAR


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
    funcs = {"straw": straw, "film": film, "pesticide_packaging": pesticide_packaging,
             "recyclables": recyclables}
    for s in streams:
        if s == "manure":
            mv = manure_villages(v, coefficients)
            mf = manure_farms(f, coefficients)
            total = np.concatenate([mv, mf])
            peak = total / DAYS_PER_YEAR
        elif s in funcs:
            tv, pv = funcs[s](v, coefficients)
            total = np.concatenate([tv, np.zeros(nf)])
            peak = np.concatenate([pv, np.zeros(nf)])
        else:
            msg = f"no generation rule for stream '{s}'"
            raise InputError(msg, file="coefficients", field=s)
        cols[f"{s}_t_yr"] = np.round(total, 6)
        cols[f"{s}_peak_t_day"] = np.round(peak, 6)
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
