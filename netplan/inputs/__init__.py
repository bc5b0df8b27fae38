"""Planners' files in: read, check and convert a county folder (issue 8).

``load_county(folder)`` returns a :class:`~netplan.model.County` in WGS-84 or raises one
:class:`~netplan.errors.InputError` carrying every error (file, row, field);
``validate_folder(folder)`` returns the full :class:`ValidationReport` (errors, warnings, notes).
The folder format and the header aliases are described in docs/data.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netplan.errors import InputError
from netplan.inputs.crs import CrsSpec, metric_crs_for, parse_crs
from netplan.inputs.tables import read_table
from netplan.inputs.validate import ValidationReport, validate_folder
from netplan.model import County

__all__ = ["CrsSpec", "ValidationReport", "load_county", "metric_crs_for", "parse_crs",
           "read_table", "validate_folder"]


def load_county(folder: str | Path, *, columns: Mapping[str, Any] | None = None) -> County:
    """Read a county folder, check it and convert every coordinate to WGS-84.

    Parameters
    ----------
    folder
        Folder with county.toml, the boundary, townships, villages and optionally farms, sites
        and a road file.
    columns
        Header mapping per file key, e.g. ``{"villages": {"name": "自然村名称"}}``; wins over
        county.toml's ``[files.<key>.columns]`` and the built-in aliases (data/columns.toml).

    Returns
    -------
    County
        Warnings and notes are kept in ``County.notes["warnings"]`` / ``["notes"]``.

    Raises
    ------
    InputError
        Carrying every error-level problem found, each with file, row and field.
    """
    from netplan.inputs.folder import load

    county, problems = load(folder, columns=columns)
    errors = [p for p in problems if p.severity == "error"]
    if errors or county is None:
        if not errors:
            errors = [p for p in problems if p.severity != "note"] or problems
        raise InputError(problems=errors)
    return county
