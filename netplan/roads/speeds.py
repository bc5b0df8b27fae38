"""Vehicle speeds per road class (data/speeds.toml) and per-arc speeds from OSM tags."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from netplan._paths import data_file
from netplan.errors import InputError


@dataclass(frozen=True)
class SpeedTable:
    """Speeds (km/h) per vehicle and road class, plus access speed and hilly factor.

    A speed of 0 means the vehicle may not use that road class.
    """

    vehicles: dict[str, dict[str, float]]
    access_kmh: float
    hilly_factor: float
    exclude: frozenset[str]
    source: str
    no_snap: frozenset[str] = frozenset()

    def speed_kmh(self, vehicle: str, road_class: str) -> float:
        """Speed of ``vehicle`` on ``road_class`` (km/h); ``*_link`` uses its base class."""
        table = self.table(vehicle)
        base = road_class.removesuffix("_link")
        return float(table.get(road_class, table.get(base, table["default"])))

    def table(self, vehicle: str) -> dict[str, float]:
        """The class → km/h table of one vehicle; InputError naming the known ones if unknown."""
        try:
            return self.vehicles[vehicle]
        except KeyError:
            known = ", ".join(sorted(self.vehicles))
            msg = f"unknown vehicle {vehicle!r}; speeds.toml knows: {known}"
            raise InputError(msg, file=self.source, field="vehicles") from None


def load_speeds(path: str | Path | None = None) -> SpeedTable:
    """Read a speeds file (default: data/speeds.toml).

    Parameters
    ----------
    path
        TOML file with ``[vehicles.<name>]`` tables of km/h per OSM highway class
        (and a ``default``), ``[access] speed_kmh`` and ``[terrain] hilly_factor``.
    """
    p = Path(path) if path is not None else data_file("speeds.toml")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read speeds file: {exc}"
        raise InputError(msg, file=str(p)) from exc
    vehicles: dict[str, dict[str, float]] = {}
    for name, tab in raw.get("vehicles", {}).items():
        speeds = {k: float(v) for k, v in tab.items() if isinstance(v, int | float)}
        if "default" not in speeds:
            msg = "every vehicle needs a 'default' speed (km/h)"
            raise InputError(msg, file=str(p), field=f"vehicles.{name}")
        if any(v < 0 for v in speeds.values()):
            msg = "speeds must be >= 0 km/h (0 = road class not allowed)"
            raise InputError(msg, file=str(p), field=f"vehicles.{name}")
        vehicles[name] = speeds
    if not vehicles:
        msg = "no [vehicles.<name>] tables"
        raise InputError(msg, file=str(p), field="vehicles")
    return SpeedTable(
        vehicles=vehicles,
        access_kmh=float(raw.get("access", {}).get("speed_kmh", 10.0)),
        hilly_factor=float(raw.get("terrain", {}).get("hilly_factor", 1.0)),
        exclude=frozenset(raw.get("classes", {}).get("exclude", [])),
        source=str(p),
        no_snap=frozenset(raw.get("classes", {}).get("no_snap", [])),
    )


_NUM = re.compile(r"(\d+(?:\.\d+)?)")


def parse_maxspeed_kmh(value: object) -> float:
    """OSM ``maxspeed`` tag → km/h (nan when untagged or not numeric, e.g. ``"CN:rural"``).

    Handles ``"60"``, ``"60 km/h"``, ``"40 mph"``, lists (osmnx merges ways: the minimum is used)
    and ``"60;80"``.
    """
    if value is None:
        return float("nan")
    if isinstance(value, list | tuple):
        vals = [parse_maxspeed_kmh(v) for v in value]
        vals = [v for v in vals if v == v]
        return min(vals) if vals else float("nan")
    if isinstance(value, int | float):
        return float(value) if value == value and value > 0 else float("nan")
    text = str(value).strip().lower()
    nums = [float(m) for m in _NUM.findall(text)]
    if not nums:
        return float("nan")
    v = min(nums)
    if "mph" in text:
        v *= 1.609344
    return v if v > 0 else float("nan")


def arc_speeds_kmh(
    table: SpeedTable,
    vehicle: str,
    classes: NDArray,
    maxspeed_kmh: NDArray[np.float64],
    explicit_kmh: NDArray[np.float64] | None = None,
    *,
    hilly: bool = False,
) -> NDArray[np.float64]:
    """Speed of ``vehicle`` on every arc (km/h; 0 = not allowed).

    ``classes`` are OSM highway values; ``maxspeed_kmh`` caps the class speed where tagged
    (nan = untagged). ``explicit_kmh`` (a speed column of a road layer) replaces the class
    speed where given, still capped by the vehicle's fastest class speed.
    """
    uniq, inv = np.unique(np.asarray(classes, dtype=str), return_inverse=True)
    per_class = np.array([table.speed_kmh(vehicle, c) for c in uniq], dtype=float)
    v = per_class[inv]
    allowed = v > 0
    if explicit_kmh is not None:
        vmax = max(table.table(vehicle).values())
        e = np.asarray(explicit_kmh, dtype=float)
        use = np.isfinite(e) & (e > 0)
        v = np.where(use, np.minimum(e, vmax), v)
    ms = np.asarray(maxspeed_kmh, dtype=float)
    tagged = np.isfinite(ms) & (ms > 0)
    v = np.where(tagged, np.minimum(v, ms), v * (table.hilly_factor if hilly else 1.0))
    return np.where(allowed, v, 0.0)
