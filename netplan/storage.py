"""The storage tier of a seasonal stream: what a township station (收储中心) must hold between the
harvest windows and the year-round release to its users, how much yard that takes, and what it costs.

A station takes its yearly load L (t/yr) in the stream's harvest windows (share ``s_w`` of L spread
evenly over window w's days) and releases it evenly over the year (L / 365 per day) to its county
centre. The stock it must hold is the largest cyclic excess of inflow over release:
``stock = max_t C(t) − min_t C(t)`` with ``C(t) = Σ_{d ≤ t} (inflow(d) − L/365)``.

Yard: stock ÷ bale density = m³; ÷ stack height = stack footprint (m²); stacks are grouped in
blocks of ``group_m2`` footprint with ``fire_spacing_m`` clear between blocks (GB 50016 露天堆场,
domain.md 2.1), so a block takes ``(√group_m2 + fire_spacing_m)²``; 亩 = m² ÷ 666.67.
Cost per year: yard hardening (CNY/m²) annualised over the yard's lifetime plus land lease (CNY/亩·yr),
and the storage losses (a share of the stored tonnes' value) counted with the stream's cost items.
Parameters: ``[<stream>.storage]`` in data/coefficients.toml, each with its source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from netplan.errors import InputError

M2_PER_MU = 10000.0 / 15.0   # 1 亩 = 666.67 m²
_DAYS = 365


@dataclass(frozen=True)
class StorageParams:
    """Storage parameters of one stream (units in the names)."""

    inflow_windows: Mapping[str, float]   # window -> share of the year's inflow
    window_start_day: Mapping[str, int]   # window -> day of year (0-based)
    window_days: Mapping[str, int]
    bale_density_t_m3: float
    stack_height_m: float
    group_m2: float
    fire_spacing_m: float
    yard_cny_per_m2: float
    yard_lifetime_yr: float
    land_cny_per_mu_yr: float


def _day_of_year(mmdd: str) -> int:
    m, d = (int(x) for x in str(mmdd).split("-"))
    return sum((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[: m - 1]) + d - 1


def storage_params(coef: Mapping[str, Any], stream: str) -> StorageParams | None:
    """The ``[<stream>.storage]`` table of the coefficients, or None when the stream is not stored."""
    c = coef.get(stream, {})
    st = c.get("storage") if isinstance(c, Mapping) else None
    if not isinstance(st, Mapping):
        return None
    seasons = coef.get("seasons", {})
    try:
        wins = {str(k): float(v) for k, v in st["inflow_windows"].items()}
        start = {w: _day_of_year(seasons[w]["start"]) for w in wins}
        days = {w: int(seasons[w]["days"]) for w in wins}
        return StorageParams(
            inflow_windows=wins, window_start_day=start, window_days=days,
            bale_density_t_m3=float(st["bale_density_t_m3"]), stack_height_m=float(st["stack_height_m"]),
            group_m2=float(st["group_m2"]), fire_spacing_m=float(st["fire_spacing_m"]),
            yard_cny_per_m2=float(st["yard_cny_per_m2"]), yard_lifetime_yr=float(st["yard_lifetime_yr"]),
            land_cny_per_mu_yr=float(st["land_cny_per_mu_yr"]))
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"storage table incomplete or a window unknown in [seasons]: {exc}"
        raise InputError(msg, file="coefficients", field=f"{stream}.storage") from exc


def stock_share(p: StorageParams) -> float:
    """Largest stock as a share of the yearly load (inflow in the windows, even release), 0–1."""
    inflow = np.zeros(_DAYS)
    tot = sum(p.inflow_windows.values())
    for w, share in p.inflow_windows.items():
        n = max(1, p.window_days[w])
        days = (p.window_start_day[w] + np.arange(n)) % _DAYS
        np.add.at(inflow, days, share / tot / n)
    c = np.cumsum(inflow - 1.0 / _DAYS)
    return float(c.max() - min(0.0, c.min()))


def yard(stock_t: float, p: StorageParams) -> dict[str, float]:
    """Volume (m³), stack footprint and yard area (m², 亩) and blocks for ``stock_t`` tonnes."""
    vol = stock_t / p.bale_density_t_m3
    foot = vol / p.stack_height_m
    blocks = math.ceil(foot / p.group_m2 - 1e-9) if foot > 0 else 0
    side = math.sqrt(p.group_m2) + p.fire_spacing_m
    area = blocks * side * side
    return {"storage_t": stock_t, "storage_m3": vol, "stack_m2": foot, "stack_blocks": float(blocks),
            "yard_m2": area, "yard_mu": area / M2_PER_MU}


def yard_cost_cny_yr(yard_m2: float, p: StorageParams, discount_rate: float) -> tuple[float, float]:
    """(capex CNY, annual cost CNY/yr): hardening annualised (capital recovery factor) + land lease."""
    from netplan.scenario import crf

    capex = yard_m2 * p.yard_cny_per_m2
    return capex, capex * crf(discount_rate, p.yard_lifetime_yr) + yard_m2 / M2_PER_MU * p.land_cny_per_mu_yr


def station_storage(loads_t_yr: Mapping[str, float], p: StorageParams, discount_rate: float
                    ) -> list[dict[str, float | str]]:
    """One row per station: stored tonnes, volume, yard area (m², 亩), yard capex and annual cost."""
    share = stock_share(p)
    rows: list[dict[str, float | str]] = []
    for site_id, load in loads_t_yr.items():
        y = yard(float(load) * share, p)
        capex, annual = yard_cost_cny_yr(y["yard_m2"], p, discount_rate)
        rows.append({"site_id": site_id, "load_t": float(load), **y, "yard_capex_cny": capex,
                     "yard_cost_cny_yr": annual})
    return rows
