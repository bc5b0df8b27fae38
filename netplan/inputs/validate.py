"""The validation report of a county folder (and optionally a scenario): every problem at once,
each with file, row and field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netplan.errors import InputError, Problem
from netplan.model import County

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class ValidationReport:
    """What ``netplan validate`` found.

    Attributes
    ----------
    folder
        The county folder checked.
    problems
        Every problem, errors first then warnings then notes, in file order within each.
    county
        The county as read (None when the boundary, townships or villages were unusable).
    """

    folder: Path
    problems: tuple[Problem, ...]
    county: County | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Problem]:
        """Error-level problems (any one makes the folder unusable)."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Warning-level problems (the plan runs, but check these)."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def format(self) -> str:
        """Plain-text report: one line per problem, grouped by severity, and a summary line."""
        lines = []
        for sev in SEVERITIES:
            probs = [p for p in self.problems if p.severity == sev]
            if probs:
                lines.append(f"{sev}s ({len(probs)}):")
                lines.extend(f"  - {p}" for p in probs)
        n_e, n_w = len(self.errors), len(self.warnings)
        verdict = "OK" if self.ok else "NOT USABLE"
        lines.append(f"{self.folder}: {verdict} - {n_e} error(s), {n_w} warning(s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _order(problems: list[Problem]) -> tuple[Problem, ...]:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    seen: set[Problem] = set()
    uniq = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return tuple(sorted(uniq, key=lambda p: rank.get(p.severity, 9)))


def road_problems(county: County, *, max_snap_m: float = 1000.0) -> list[Problem]:
    """Villages and farms further than ``max_snap_m`` from any road, or snapped to a road cut off
    from the main network (warnings), using ``netplan.roads.RoadNetwork``; a note when the road
    engine is not installed."""
    if county.roads_path is None:
        return []
    try:
        from netplan.roads import RoadNetwork
    except ImportError:
        return [Problem(county.roads_path.name, None, None, "road engine not available: the "
                        "distance of villages from roads was not checked", "note")]
    try:
        net = RoadNetwork.from_file(county.roads_path,
                                    boundary=county.boundary.geometry.union_all())
    except InputError as exc:
        return [Problem(p.file if p.file != "<input>" else county.roads_path.name, p.row, p.field,
                        p.message, p.severity) for p in exc.problems]
    out: list[Problem] = []
    for name, gdf, id_col in ((_fname(county, "villages"), county.villages, "village_id"),
                              (_fname(county, "farms"), county.farms, "farm_id")):
        ok = gdf.geometry.notna().to_numpy() if len(gdf) else np.zeros(0, dtype=bool)
        if not ok.any():
            continue
        rows = np.flatnonzero(ok)
        report = net.snap(gdf.geometry[ok], max_snap_m=max_snap_m, ids=list(range(len(rows))))
        dist = snap_distances(report)
        off = {int(i) for i in (getattr(report, "off_main", []) or [])}
        for k, (r, d) in enumerate(zip(rows, dist, strict=True)):
            label = gdf[id_col].iloc[r]
            if not np.isfinite(d) or d > max_snap_m:
                how = "" if not np.isfinite(d) else f"{d:.0f} m from the nearest road, "
                out.append(Problem(name, int(r) + 1, "lon", f"{label} is {how}more than max_snap_m = "
                                   f"{max_snap_m:.0f} m from any road: it cannot be served by road",
                                   "warning"))
            elif k in off:
                out.append(Problem(name, int(r) + 1, "lon", f"{label} snaps to a road cut off from "
                                   "the main network", "warning"))
    return out


def snap_distances(report: Any) -> np.ndarray:
    """Distance (m) from each point to the nearest road, from a snap report (``snap_m``; inf when
    there is no road at all)."""
    for attr in ("snap_m", "distance_m", "dist_m"):
        if hasattr(report, attr):
            return np.asarray(getattr(report, attr), dtype=float)
    return np.asarray(report, dtype=float)


def _fname(county: County, key: str) -> str:
    return str(county.notes.get("files", {}).get(key, f"{key} file"))


def validate_folder(folder: str | Path, *, scenario: str | Path | None = None,
                    columns: Mapping[str, Any] | None = None, roads: bool = True,
                    max_snap_m: float | None = None) -> ValidationReport:
    """Check a county folder (and a scenario) and report every problem at once.

    Parameters
    ----------
    folder
        The county folder (county.toml, boundary, townships, villages, ...).
    scenario
        A scenario TOML to check as well (unknown streams, tiers, keys, out-of-range values).
    columns
        Header mapping per file key, as for :func:`netplan.inputs.load_county`.
    roads
        Check the distance of villages and farms from the road file (slow for big files).
    max_snap_m
        Distance from a road beyond which a village is reported (m); default the scenario's
        ``[roads] max_snap_m``, else 1000.
    """
    from netplan.inputs.folder import load

    snap = max_snap_m
    scenario_problems: list[Problem] = []
    sc = None
    if scenario is not None:
        from netplan.scenario import load_scenario

        try:
            sc = load_scenario(scenario)
            if snap is None:
                snap = float(sc.max_snap_m)
            if sc.columns:  # the scenario's [columns] mapping, under the explicit argument
                merged = {k: dict(v) for k, v in sc.columns.items()}
                for k, v in (columns or {}).items():
                    merged.setdefault(k, {}).update(v)
                columns = merged
        except InputError as exc:
            sc = None
            scenario_problems.extend(exc.problems)
    county, problems = load(folder, columns=columns)
    problems.extend(scenario_problems)
    if sc is not None and county is not None:
        problems.extend(stream_column_problems(sc, county))
    if roads and county is not None:
        problems.extend(road_problems(county, max_snap_m=snap or 1000.0))
    return ValidationReport(Path(folder), _order(problems), county)


def stream_column_problems(sc: Any, county: County) -> list[Problem]:
    """What a stream's ``rounds_by_village`` / ``sorting_villages`` names in the county tables
    (a column, village ids, cells): checked here, not first after the siting of ``netplan plan``."""
    from netplan.indicators import sorting_villages, village_rounds

    out: list[Problem] = []
    for sp in sc.streams.values():
        for check in (village_rounds, sorting_villages):
            try:
                check(sp, county)
            except InputError as exc:
                out.extend(exc.problems)
    return out
