"""Costs and carbon of a layout: annualised capital cost, operating cost, transport (t·km × rate),
vehicle-days, fleet and CO2 from transport (减污降碳).

Formulas (docs/indicators.md, "Costs and CO2"):

- capital recovery factor ``crf(r, n) = r (1+r)^n / ((1+r)^n − 1)``; annualised capex = capex × crf
  (existing sites: ``existing_capex_share`` of the capex, the refurbishment);
- opex = capex × opex_share per year (full capex basis, also for existing sites);
- a physical site that serves several streams of one sharing group pays one fixed cost: the largest
  of theirs, split over the streams in proportion to their own;
- transport on each link (village → point, point → station, station → centre): t·km = t × road km,
  cost = t·km × the scenario's rate of the tier it enters; trips = ⌈t / payload⌉ per origin,
  vehicle-km = 2 × trips × km (loaded out, empty back); vehicle-hours = vehicle-km / speed +
  trips × handling hours; vehicle-days = hours / workday; fleet at peak = ⌈vehicle-days per year / 365
  × peak factor⌉ (peak factor = the stream's peak t/day ÷ its mean t/day);
- a vehicle's load is limited by mass and volume: payload = min(payload_t, volume_m3 × the stream's
  bulk density), both from data/vehicles.toml;
- CO2 (kg/yr) = vehicle-km × fuel (L/100 km) / 100 × emission factor (kg CO2/L), both from
  data/vehicles.toml;
- per-tonne cost items of a stream (``[<stream>.costs]`` in data/coefficients.toml): baling, loading,
  purchase, incentives per t or per item, treatment/disposal, and storage losses (a share of the stored
  tonnes' purchase + baling + loading cost), see :func:`item_costs`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netplan._paths import data_file
from netplan.errors import InputError
from netplan.scenario import Scenario, crf

HANDLING_H = 0.5  # E: loading + unloading per trip, hours (domain.md §3 gives no number)
LINKS = (("village_point", "demand"), ("township_station", "village_point"),
         ("county_center", "township_station"))


@dataclass(frozen=True)
class VehicleCost:
    """What a vehicle type carries, how fast, and what it burns (units in the names)."""

    name: str
    payload_t: float
    speed_kmh: float
    fuel_l_per_100km: float
    co2_kg_per_l: float
    cost_cny_per_km: float = 0.0
    cost_cny_per_day: float = 0.0
    volume_m3: float | None = None
    bulk_density_t_m3: Mapping[str, float] | None = None

    def payload_for(self, stream: str) -> float:
        """Load per trip of ``stream``, t: min(payload, volume × the stream's bulk density)."""
        dens = (self.bulk_density_t_m3 or {}).get(stream)
        if self.volume_m3 is None or dens is None:
            return self.payload_t
        return min(self.payload_t, self.volume_m3 * dens)


def annualised_capex_cny(capex_cny: float, discount_rate: float, lifetime_yr: float) -> float:
    """Capital cost spread over the lifetime at the discount rate (capital recovery factor), CNY/yr."""
    return float(capex_cny) * crf(discount_rate, lifetime_yr)


def _num(d: Mapping[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def _find_co2(raw: Mapping[str, Any]) -> float | None:
    """A top-level (or one-table-deep) number whose key names CO2 per litre."""
    for k, v in raw.items():
        if isinstance(v, int | float) and "co2" in k.lower():
            return float(v)
    for v in raw.values():
        if isinstance(v, Mapping) and not any(isinstance(x, Mapping) for x in v.values()):
            f = _find_co2(v)
            if f is not None:
                return f
    return None


def load_vehicle_costs(path: str | Path | None = None) -> dict[str, VehicleCost]:
    """Vehicle types from data/vehicles.toml (the routing engine's file).

    Reads ``[vehicles.<name>]`` tables (or top-level tables) with a payload (``payload_t``), a speed
    (``speed_kmh``), fuel (``fuel_l_per_100km``), optional ``cost_cny_per_km`` / ``cost_cny_per_day``,
    and a diesel CO2 factor (kg/L) either per vehicle or once in the file.

    Raises
    ------
    InputError
        If the file is missing or a vehicle lacks payload, speed or fuel.
    """
    p = Path(path) if path is not None else data_file("vehicles.toml")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = "vehicle table not found (needed for fleet and CO2)"
        raise InputError(msg, file=str(p)) from exc
    table = raw.get("vehicles", raw)
    co2_default = _find_co2({k: v for k, v in raw.items() if k not in ("vehicles", "bulk_density_t_m3")})
    dens_all = {k: float(v) for k, v in raw.get("bulk_density_t_m3", {}).items()}
    out: dict[str, VehicleCost] = {}
    problems = []
    for name, v in table.items():
        if not isinstance(v, Mapping) or _num(v, "payload_t", "capacity_t") is None:
            continue
        speed = _num(v, "speed_kmh", "rural_speed_kmh", "speed_km_h", "avg_speed_kmh")
        fuel = _num(v, "fuel_l_per_100km", "fuel_l_100km", "fuel_l_per_100_km")
        co2 = _num(v, "co2_kg_per_l", "diesel_co2_kg_per_l") or co2_default
        if speed is None or fuel is None or co2 is None:
            problems.append(f"{name}: needs speed_kmh, fuel_l_per_100km and a co2_kg_per_l factor")
            continue
        out[name] = VehicleCost(name=name, payload_t=float(_num(v, "payload_t", "capacity_t")),
                                speed_kmh=speed, fuel_l_per_100km=fuel, co2_kg_per_l=co2,
                                cost_cny_per_km=_num(v, "cost_cny_per_km") or 0.0,
                                cost_cny_per_day=_num(v, "cost_cny_per_day") or 0.0,
                                volume_m3=_num(v, "volume_m3"),
                                bulk_density_t_m3={**dens_all, **{k: float(x) for k, x in
                                                               v.get("bulk_density_t_m3", {}).items()}})
    if problems or not out:
        msg = "vehicle table incomplete: " + ("; ".join(problems) or "no vehicle types found")
        raise InputError(msg, file=str(p))
    return out


def site_units(row: Any, tp: Any) -> int:
    """Units a new site is built as: its capacity (t/yr) over the tier's ``capacity_t``, rounded up
    (a village point for an urban 居委会 heavier than one point, ``siting.relax.modular_points``);
    1 for existing sites and sites at or below the tier's capacity."""
    cap = pd.to_numeric(getattr(row, "capacity_t", np.nan), errors="coerce")
    if row.status == "existing" or not np.isfinite(cap) or not np.isfinite(tp.capacity_t) \
            or tp.capacity_t <= 0 or cap <= tp.capacity_t * (1 + 1e-9):
        return 1
    return int(math.ceil(cap / tp.capacity_t - 1e-9))


def site_costs(scenario: Scenario, sites: pd.DataFrame) -> pd.DataFrame:
    """Capital and operating cost of every open (site, stream, tier), sharing applied.

    Returns
    -------
    DataFrame with site_id, stream, tier, status, capex_cny, capex_cny_yr (annualised), opex_cny_yr,
    fixed_cny_yr (capex_cny_yr + opex_cny_yr after one fixed cost per shared physical site).
    """
    rows = []
    for r in sites.itertuples(index=False):
        tp = scenario.streams[r.stream].tiers[r.tier]
        share = scenario.existing_capex_share if r.status == "existing" else 1.0
        units = site_units(r, tp)
        capex = tp.capex_cny * share * units
        rows.append({"site_id": r.site_id, "stream": r.stream, "tier": r.tier, "status": r.status,
                     "capex_cny": capex,
                     "capex_cny_yr": annualised_capex_cny(capex, scenario.discount_rate, tp.lifetime_yr),
                     "opex_cny_yr": tp.capex_cny * units * tp.opex_share})
    df = pd.DataFrame(rows, columns=["site_id", "stream", "tier", "status", "capex_cny",
                                     "capex_cny_yr", "opex_cny_yr"])
    own = df["capex_cny_yr"] + df["opex_cny_yr"]
    df["fixed_cny_yr"] = own
    for tier, groups in scenario.sharing.items():
        for g in groups:
            m = (df["tier"] == tier) & df["stream"].isin(g)
            for _, idx in df[m].groupby("site_id").groups.items():
                if len(idx) < 2:
                    continue
                tot = float(own[idx].sum())
                paid = float(own[idx].max())
                df.loc[idx, "fixed_cny_yr"] = own[idx] * (paid / tot) if tot > 0 else 0.0
    return df


def link_transport(mass_t_yr: np.ndarray, dist_m: np.ndarray, *, rate_cny_per_tkm: float,
                   vehicle: VehicleCost | None, workday_h: float, peak_factor: float,
                   stream: str | None = None) -> dict[str, float]:
    """Transport figures of one link: one entry per origin with its annual mass and road distance.

    Returns mass_t_yr, tkm_yr, cost_cny_yr and, with a vehicle, payload_t (per trip, mass- or
    volume-limited for ``stream``), trips_yr, vehicle_km_yr, vehicle_h_yr, vehicle_days_yr, fleet
    (vehicles needed at peak) and co2_kg_yr.
    """
    m = np.asarray(mass_t_yr, dtype=float)
    km = np.asarray(dist_m, dtype=float) / 1000.0
    ok = (m > 0) & np.isfinite(km)
    m, km = m[ok], km[ok]
    tkm = float((m * km).sum())
    out = {"mass_t_yr": float(m.sum()), "tkm_yr": tkm, "cost_cny_yr": tkm * rate_cny_per_tkm}
    if vehicle is None:
        return out
    payload = vehicle.payload_for(stream) if stream is not None else vehicle.payload_t
    trips = np.ceil(m / payload - 1e-9)
    vkm = float((2.0 * trips * km).sum())
    hours = vkm / vehicle.speed_kmh + float(trips.sum()) * HANDLING_H
    days = hours / workday_h
    out.update(payload_t=payload, trips_yr=float(trips.sum()), vehicle_km_yr=vkm, vehicle_h_yr=hours, vehicle_days_yr=days,
               fleet=float(math.ceil(days / 365.0 * peak_factor - 1e-9)) if days > 0 else 0.0,
               co2_kg_yr=co2_kg(vkm, vehicle))
    return out


def co2_kg(vehicle_km: float, vehicle: VehicleCost) -> float:
    """CO2 emitted over ``vehicle_km`` km: km × L/100 km / 100 × kg CO2/L."""
    return float(vehicle_km) * vehicle.fuel_l_per_100km / 100.0 * vehicle.co2_kg_per_l


def route_co2_kg(routes: pd.DataFrame, vehicles: Mapping[str, VehicleCost]) -> pd.Series:
    """CO2 per route row (kg/yr): distance_m × trips_per_year of the route's vehicle."""
    if len(routes) == 0:
        return pd.Series(dtype=float)
    km = routes["distance_m"].astype(float) / 1000.0 * routes["trips_per_year"].astype(float)
    f = routes["vehicle"].map(lambda v: vehicles[v].fuel_l_per_100km / 100.0 * vehicles[v].co2_kg_per_l
                              if v in vehicles else np.nan)
    return km * f


#: per-tonne cost items of ``[<stream>.costs]`` (CNY/t of served tonnage) -> KPI row name
ITEMS_PER_T = {"baling_cny_per_t": "baling_cost_cny_yr", "loading_cny_per_t": "loading_cost_cny_yr",
               "purchase_cny_per_t": "purchase_cost_cny_yr", "incentive_cny_per_t": "incentive_cost_cny_yr",
               "treatment_cny_per_t": "treatment_cost_cny_yr"}


def item_costs(costs: Mapping[str, Any], served_t_yr: float, stored_t: float = 0.0,
               kg_per_item: float | None = None) -> dict[str, float]:
    """Yearly cost of a stream's per-tonne items, CNY/yr, one entry per KPI row.

    ``incentive_cny_per_item`` is turned into CNY/t with ``kg_per_item`` (items per t = 1000 /
    kg_per_item) and added to the incentive; ``storage_loss_share`` × ``stored_t`` × (purchase +
    baling + loading per t) is the storage loss.
    """
    out = {row: float(costs.get(key, 0.0)) * served_t_yr for key, row in ITEMS_PER_T.items()}
    per_item = float(costs.get("incentive_cny_per_item", 0.0))
    if per_item and kg_per_item:
        out["incentive_cost_cny_yr"] += per_item * 1000.0 / float(kg_per_item) * served_t_yr
    value_t = sum(float(costs.get(k, 0.0)) for k in ("purchase_cny_per_t", "baling_cny_per_t",
                                                        "loading_cny_per_t"))
    out["storage_loss_cost_cny_yr"] = float(costs.get("storage_loss_share", 0.0)) * stored_t * value_t
    return out
