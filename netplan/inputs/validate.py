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
    """Villages and farms further than ``max_snap_m`` from any road (warnings), using
    ``netplan.roads.RoadNetwork`` when it is installed; a note when the check cannot run."""
    if county.roads_path is None:
        return []
    try:
        from netplan.roads import RoadNetwork  # type: ignore[import-not-found]
    except ImportError:
        return [Problem(county.roads_path.name, None, None, "road engine not available: the "
                        "distance of villages from roads was not checked", "note")]
    out: list[Problem] = []
    try:
        net = RoadNetwork.from_file(county.roads_path,
                                    boundary=county.boundary.geometry.union_all())
    except InputError as exc:
        return list(exc.problems)
    for name, gdf, id_col in ((_fname(county, "villages"), county.villages, "village_id"),
                              (_fname(county, "farms"), county.farms, "farm_id")):
        if len(gdf) == 0:
            continue
        ok = gdf.geometry.notna().to_numpy()
        if not ok.any():
            continue
        dist = snap_distances(net, gdf.geometry[ok], max_snap_m=max_snap_m)
        rows = np.flatnonzero(ok)
        for r, d in zip(rows, dist, strict=True):
            if not np.isfinite(d) or d > max_snap_m:
                how = "more than" if not np.isfinite(d) else f"{d:.0f} m, more than"
                out.append(Problem(name, int(r) + 1, "lon", f"{gdf[id_col].iloc[r]} is {how} "
                                   f"{max_snap_m:.0f} m from any road (max_snap_m)", "warning"))
    return out


def snap_distances(net: Any, points: Any, *, max_snap_m: float) -> np.ndarray:
    """Distance (m) from each point to the road network (inf when beyond ``max_snap_m``), read
    from ``net.snap``'s result whatever its shape (array, frame with a distance column, object)."""
    res = net.snap(points, max_snap_m=max_snap_m)
    for attr in ("distance_m", "dist_m", "snap_m", "snap_distance_m", "distances_m"):
        if hasattr(res, attr):
            return np.asarray(getattr(res, attr), dtype=float)
        if isinstance(res, Mapping) and attr in res:
            return np.asarray(res[attr], dtype=float)
    if hasattr(res, "columns"):
        cols = [c for c in res.columns if "dist" in str(c) or "snap" in str(c)]
        if cols:
            return np.asarray(res[cols[0]], dtype=float)
    if isinstance(res, tuple) and len(res) == 2:
        return np.asarray(res[1], dtype=float)
    return np.asarray(res, dtype=float)


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

    county, problems = load(folder, columns=columns)
    snap = max_snap_m
    if scenario is not None:
        try:
            from netplan.scenario import load_scenario
        except ImportError:
            problems.append(Problem(str(scenario), None, None, "scenario loader not available",
                                    "note"))
        else:
            try:
                sc = load_scenario(scenario)
                if snap is None:
                    snap = float(getattr(sc, "max_snap_m", 1000.0))
            except InputError as exc:
                problems.extend(exc.problems)
    if roads and county is not None:
        problems.extend(road_problems(county, max_snap_m=snap or 1000.0))
    return ValidationReport(Path(folder), _order(problems), county)
