"""Vehicle types from data/vehicles.toml: payload, volume, speeds, costs and fuel (CO2)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from netplan._paths import data_file
from netplan.errors import InputError

_REQUIRED = ("payload_t", "volume_m3", "rural_speed_kmh", "cost_cny_per_km", "cost_cny_per_day",
             "fuel_l_per_100km")


@dataclass(frozen=True)
class VehicleType:
    """One vehicle type.

    Attributes
    ----------
    name
        Key in data/vehicles.toml (what scenarios and the road engine refer to).
    payload_t, volume_m3
        Mass (t) and volume (m³) limits of one load.
    bulk_density_t_m3
        Bulk density per stream as loaded (t/m³); where payload/volume exceeds it, volume binds.
    rural_speed_kmh
        Typical average speed on rural roads (km/h), for crow-fly estimates; speeds per road class
        are the road engine's (data/speeds.toml, same vehicle names).
    cost_cny_per_km, cost_cny_per_day
        Running cost per vehicle-km (fuel, wear) and per vehicle-day used (driver, capital).
    fuel_l_per_100km
        Diesel use (L/100 km); CO2 per km = fuel × ``co2_kg_per_l``.
    co2_kg_per_l
        Diesel CO2 factor (kg/L, IPCC 2006 default, see data/vehicles.toml).
    """

    name: str
    payload_t: float
    volume_m3: float
    rural_speed_kmh: float
    cost_cny_per_km: float
    cost_cny_per_day: float
    fuel_l_per_100km: float
    co2_kg_per_l: float = 2.676
    streams: tuple[str, ...] = ()
    bulk_density_t_m3: dict[str, float] = field(default_factory=dict)
    name_zh: str = ""

    def capacity_t(self, stream: str | None = None) -> float:
        """Load limit (t) for ``stream``: min(payload, volume × bulk density of the stream)."""
        if stream is None or stream not in self.bulk_density_t_m3:
            return self.payload_t
        return min(self.payload_t, self.volume_m3 * self.bulk_density_t_m3[stream])

    @property
    def co2_kg_per_km(self) -> float:
        """Diesel CO2 per vehicle-km (kg)."""
        return self.fuel_l_per_100km / 100.0 * self.co2_kg_per_l


def load_vehicles(path: str | Path | None = None) -> dict[str, VehicleType]:
    """Read vehicle types (default: data/vehicles.toml), keyed by name.

    Raises
    ------
    InputError
        A vehicle lacks a field or has a non-positive payload/volume/speed.
    """
    p = Path(path) if path is not None else data_file("vehicles.toml")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        msg = f"cannot read vehicle types: {e}"
        raise InputError(msg, file=str(p)) from e
    co2 = float(raw.get("fuel", {}).get("diesel_co2_kg_per_l", 2.676))
    dens = {k: float(v) for k, v in raw.get("bulk_density_t_m3", {}).items()}
    out: dict[str, VehicleType] = {}
    problems: list[str] = []
    for name, v in raw.get("vehicles", {}).items():
        missing = [k for k in _REQUIRED if k not in v]
        if missing:
            problems.append(f"vehicles.{name}: missing {', '.join(missing)}")
            continue
        vals = {k: float(v[k]) for k in _REQUIRED}
        bad = [k for k in ("payload_t", "volume_m3", "rural_speed_kmh") if vals[k] <= 0]
        bad += [k for k in ("cost_cny_per_km", "cost_cny_per_day", "fuel_l_per_100km")
                if vals[k] < 0]
        if bad:
            problems.append(f"vehicles.{name}: {', '.join(bad)} out of range")
            continue
        d = dict(dens)
        d.update({k: float(x) for k, x in v.get("bulk_density_t_m3", {}).items()})
        out[name] = VehicleType(name=name, co2_kg_per_l=co2, streams=tuple(v.get("streams", ())),
                                bulk_density_t_m3=d, name_zh=str(v.get("name_zh", "")), **vals)
    if problems or not out:
        msg = "; ".join(problems) or "no [vehicles.*] tables"
        raise InputError(msg, file=str(p))
    return out


def vehicles_for_stream(stream: str, path: str | Path | None = None) -> list[VehicleType]:
    """Vehicle types listed for ``stream`` in data/vehicles.toml, smallest payload first."""
    vs = [v for v in load_vehicles(path).values() if stream in v.streams]
    return sorted(vs, key=lambda v: (v.payload_t, v.name))
