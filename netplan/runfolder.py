"""The run folder, as a contract: the file names, the plan.gpkg layer names, the kpis.csv columns
and the run.json schema of docs/outputs.md, the one writer (:func:`write_run`) and the one reader
(:func:`read_run`). Every command that writes or reads a run folder (plan, evaluate, compare,
batch, and the analyses built on them) goes through this module; planners' scripts and QGIS
projects read the same names, so change them only with a migration note in the README.

The bytes go through :mod:`netplan.export` (atomic staging, GeoPackage and CSV writers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.errors import InputError

# --- file names ----------------------------------------------------------------------------
INDEX_HTML = "index.html"
PLAN_GPKG = "plan.gpkg"
KPIS_CSV = "kpis.csv"
KPIS_TOWNSHIP_CSV = "kpis_township.csv"
COSTS_CSV = "costs.csv"
TRANSPORT_CSV = "transport.csv"
SITES_CSV = "sites.csv"
ROUTES_CSV = "routes.csv"
LAYOUT_CSV = "layout.csv"
PLAN_XLSX = "plan.xlsx"
REPORT_HTML = "report.html"
RUN_JSON = "run.json"
PNG_DIR = "png"


def stream_html(stream: str) -> str:
    """File name of a stream's map (``straw.html``)."""
    return f"{stream}.html"


# --- plan.gpkg layers, in the order they are written ----------------------------------------
LAYERS = ("villages", "farms", "sites", "assignments", "routes", "boundary", "townships")
#: layers also written as CSV without geometry (for Excel)
CSV_LAYERS = {"sites": SITES_CSV, "routes": ROUTES_CSV}
#: sheets of plan.xlsx, in order (the tables, then the layers without geometry, then the layout,
#: then the county-plan tables of netplan.plan_tables.TITLES)
XLSX_SHEETS = ("kpis", "kpis_township", "costs", "transport", "sites", "routes", "layout",
               "investment", "investment_by_year", "baseline_target", "village_roster", "township_norms",
               "straw_uses", "storage", "equipment")

# --- kpis.csv --------------------------------------------------------------------------------
KPI_COLUMNS = ("stream", "indicator", "value", "target", "met", "unit", "label_zh")
#: kpis_township.csv: the township, then the kpis.csv columns
TOWNSHIP_KPI_COLUMNS = ("township_code", "township", *KPI_COLUMNS)
#: ``stream`` value of the county-wide rows
ALL_STREAMS = "all"
#: a phased plan ([[phases]], issue 21): kpis.csv has one block of rows per year, the
#: KPI_COLUMNS and then this column (a single-phase plan has no such column)
YEAR_COLUMN = "year"
PHASED_KPI_COLUMNS = (*KPI_COLUMNS, YEAR_COLUMN)
#: a phased plan's sites.csv / sites layer: the year each (site, stream, tier) opens
OPEN_YEAR_COLUMN = "open_year"
#: a phased plan's run.json has ``phases``: one entry per year with these keys (CNY, CNY/yr)
PHASE_KEYS = ("year", "capex_cny", "capex_budget_cny", "new_village_point", "new_township_station",
              "new_county_center", "annual_cost_cny", "bound_cny", "gap")


def final_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """The last year's block of a phased plan's kpis (without ``year``); other kpis unchanged."""
    if YEAR_COLUMN not in kpis.columns or not len(kpis):
        return kpis
    last = kpis[YEAR_COLUMN].max()
    return kpis[kpis[YEAR_COLUMN] == last].drop(columns=YEAR_COLUMN).reset_index(drop=True)

# --- run.json --------------------------------------------------------------------------------
#: top-level keys of run.json
RUN_JSON_KEYS = ("scenario", "scenario_path", "title", "source", "network", "crow_fly", "solve")
#: keys of each stream's entry under ``solve`` (the block's, then the whole model's)
SOLVE_KEYS = ("block", "status", "objective", "bound", "gap", "solve_time_s", "model_status",
              "model_objective", "model_bound", "model_gap", "model_solve_time_s", "worth")

_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f"}


def as_bool(v: Any) -> bool | None:
    """A kpis.csv ``met`` cell as True / False / None (empty or unreadable)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    s = str(v).strip().lower()
    return True if s in _TRUE else False if s in _FALSE else None


def run_meta(plan: Any) -> dict[str, Any]:
    """The run.json record of a :class:`netplan.planner.Plan` (keys :data:`RUN_JSON_KEYS`)."""
    solve = {k: {kk: (None if v is None else float(v) if isinstance(v, int | float) else str(v))
                 for kk, v in s.items()} for k, s in plan.layout.solve.items()}
    return {"scenario": plan.scenario.name, "scenario_path": str(plan.scenario.path),
            "title": plan.scenario.title, "source": plan.layout.source,
            "network": plan.network_label, "crow_fly": plan.crow_fly, "solve": solve,
            **({"phases": plan.phases.summary()} if getattr(plan, "phases", None) else {})}


def write_tables(tmp: Path, plan: Any, *, maps: bool = True) -> list[Path]:
    """Write the evaluation tables, layout.csv, plan.xlsx, run.json and report.html of ``plan``
    into the staging folder ``tmp`` (plan.gpkg, kpis.csv and the layer CSVs are
    :func:`write_run`'s)."""
    from netplan.export import write_csv
    from netplan.layout_io import layout_to_table, write_layout
    from netplan.report import report_html, write_xlsx

    ev = plan.evaluation
    out = []
    tables = {"kpis": plan.kpis}
    if ev is not None:
        tables.update(kpis_township=ev.townships, costs=ev.costs, transport=ev.transport)
        for name, fname in (("kpis_township", KPIS_TOWNSHIP_CSV), ("costs", COSTS_CSV),
                            ("transport", TRANSPORT_CSV)):
            out.append(write_csv(tmp / fname, tables[name]))
    lay = layout_to_table(plan.layout, plan.candidates)
    out.append(write_layout(lay, tmp / LAYOUT_CSV))
    sheets = dict(tables)
    for name in CSV_LAYERS:
        if name in plan.layers:
            sheets[name] = plan.layers[name]
    sheets["layout"] = lay
    plan_tables = getattr(ev, "plan_tables", None) or {}   # netplan.plan_tables (issue 25)
    sheets.update(plan_tables)
    out.append(write_xlsx(tmp / PLAN_XLSX, sheets))
    meta = run_meta(plan)
    (tmp / RUN_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True),
                                encoding="utf-8")
    out.append(tmp / RUN_JSON)
    streams = list(plan.scenario.stream_ids)
    (tmp / REPORT_HTML).write_text(
        report_html(meta, final_kpis(plan.kpis), ev.townships if ev is not None else None,
                    ev.transport if ev is not None else None, streams, maps=maps,
                    plan_tables=plan_tables, years=_years(plan)), encoding="utf-8")
    out.append(tmp / REPORT_HTML)
    return out


def _years(plan: Any) -> pd.DataFrame | None:
    """report.html's per-year table of a phased plan (``netplan.phasing.PhasedPlan.table``), else None."""
    if getattr(plan, "phases", None) is None:
        return None
    return plan.phases.table(plan.kpis)


def write_maps(tmp: Path, plan: Any, *, background: str = "offline") -> None:
    """Write index.html, the per-stream maps and the PNG figures of ``plan`` into ``tmp``."""
    from netplan.maps import service_area_layers, write_pngs
    from netplan.maps import write_maps as _write_maps
    from netplan.streams import load_streams

    meta = load_streams()
    streams = plan.scenario.stream_ids
    labels = {s: meta[s].label for s in streams}
    tiers = {s: dict(meta[s].tier_names_zh) for s in streams}
    areas = None
    if plan.matrices is not None:
        radius = {s: plan.scenario.streams[s].tiers["village_point"].radius_m for s in streams
                  if plan.scenario.streams[s].tiers["village_point"].radius_m}
        areas = service_area_layers(plan.matrices.net, plan.layers["sites"], radius)
    _write_maps(tmp, plan.layers, final_kpis(plan.kpis), title=plan.scenario.title, streams=streams,
                stream_labels=labels, tier_labels=tiers, service_areas=areas,
                background=background, crow_fly=plan.crow_fly,
                worth={k: str(v["worth"]) for k, v in (plan.layout.solve or {}).items()
                       if v.get("worth")})
    write_pngs(tmp / PNG_DIR, plan.layers, final_kpis(plan.kpis), streams=streams, title=plan.scenario.title,
               stream_labels=labels, tier_labels=tiers, service_areas=areas)


def write_run(plan: Any, folder: str | Path, *, maps: bool = True, background: str = "offline",
              extra: Callable[[Path], Any] | None = None) -> list[Path]:
    """Write a plan's run folder atomically: plan.gpkg, kpis.csv, the layer CSVs, the tables,
    plan.xlsx, run.json, report.html and (``maps``) the HTML maps and PNGs.

    Parameters
    ----------
    plan
        A :class:`netplan.planner.Plan`.
    folder
        The run folder; replaced whole (see :func:`netplan.export.staging`).
    maps
        Write index.html, ``<stream>.html`` and png/.
    background
        Map background: ``offline``, ``osm`` or ``amap``.
    extra
        Called with the staging folder after everything else is written and before the swap, to
        add files to the same all-or-nothing write (``plan --robust``: robust.csv, risk/).

    Returns
    -------
    list of Path
        Every file written, at its final place.
    """
    from netplan.export import staging, write_csv, write_gpkg

    out = Path(folder)
    with staging(out) as tmp:
        write_gpkg(tmp / PLAN_GPKG, {n: plan.layers[n] for n in LAYERS if n in plan.layers})
        write_csv(tmp / KPIS_CSV, plan.kpis)
        for name, fname in CSV_LAYERS.items():
            if name in plan.layers:
                g = plan.layers[name]
                write_csv(tmp / fname, pd.DataFrame(g.drop(columns=g.geometry.name)))
        write_tables(tmp, plan, maps=maps)
        if maps:
            write_maps(tmp, plan, background=background)
        if extra is not None:
            extra(tmp)
        names = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
    return [out / n for n in names]


def read_kpis(path: str | Path) -> pd.DataFrame:
    """A kpis.csv (or kpis_township.csv) table: ``value``/``target`` numeric, ``met`` as
    True/False/None.

    Raises
    ------
    InputError
        The file is missing or lacks a column of :data:`KPI_COLUMNS`.
    """
    p = Path(path)
    if not p.is_file():
        msg = (f"not a run folder: {p.name} missing (run `netplan plan` or `netplan evaluate` "
               "first)")
        raise InputError(msg, file=str(p))
    try:
        k = pd.read_csv(p, encoding="utf-8-sig",
                        dtype={"stream": str, "indicator": str, "township_code": str})
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError,
            ValueError) as exc:
        msg = f"not a readable {p.name} ({type(exc).__name__}): is this a netplan run folder?"
        raise InputError(msg, file=str(p)) from None
    missing = [c for c in KPI_COLUMNS if c not in k.columns]
    if missing:
        msg = f"{p.name} lacks column(s) {', '.join(missing)}"
        raise InputError(msg, file=str(p))
    _check_kpi_cells(pd.read_csv(p, encoding="utf-8-sig", usecols=["value", "target", "met"],
                                 dtype=str, keep_default_na=False), str(p))  # cells as written
    k["value"] = pd.to_numeric(k["value"], errors="coerce")
    k["target"] = pd.to_numeric(k["target"], errors="coerce")
    k["met"] = pd.Series([as_bool(v) for v in k["met"]], index=k.index, dtype=object)
    return k


def _check_kpi_cells(k: pd.DataFrame, file: str) -> None:
    """A value or target that is not a number, or a met that is not true/false, is an InputError
    naming the row (a damaged kpis.csv must not compare as "all targets met")."""
    from netplan.errors import Problem
    from netplan.inputs.numbers import read_cell

    probs = []
    for i, row in enumerate(k[["value", "target", "met"]].itertuples(index=False), start=1):
        for col, v in (("value", row.value), ("target", row.target)):
            if read_cell(v).kind in ("token", "text"):
                probs.append(Problem(file, i, col, f"not a number: {v!r}"))
        if str(row.met).strip() and as_bool(row.met) is None:
            probs.append(Problem(file, i, "met", f"expected true or false, got {row.met!r}"))
    if probs:
        raise InputError(problems=probs)


def read_layers(gpkg: str | Path, names: tuple[str, ...] | None = None
                ) -> dict[str, gpd.GeoDataFrame]:
    """The layers of a GeoPackage (those of ``names`` present, else all), in EPSG:4326;
    empty when the file is missing."""
    import pyogrio

    p = Path(gpkg)
    if not p.is_file():
        return {}
    have = [n for n, _ in pyogrio.list_layers(p)]
    out = {}
    for name in (names if names is not None else have):
        if name in have:
            g = gpd.read_file(p, layer=name, engine="pyogrio")
            out[name] = g.to_crs("EPSG:4326") if g.crs is not None else g.set_crs("EPSG:4326")
    return out


@dataclass(frozen=True)
class RunRecord:
    """A run folder read back.

    Attributes
    ----------
    folder
        The folder (resolved).
    name
        Its label: the folder name.
    kpis
        kpis.csv (:func:`read_kpis`).
    meta
        run.json (keys :data:`RUN_JSON_KEYS`; empty if the file is absent).
    """

    folder: Path
    name: str
    kpis: pd.DataFrame = field(repr=False)
    meta: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: a phased plan's kpis.csv, every year's block (``kpis`` is then the last year's, without
    #: ``year``, so compare and the analyses see the final network); None for other runs
    year_kpis: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def crow_fly(self) -> bool:
        """True when the run's distances are crow-fly estimates (no road network)."""
        return bool(self.meta.get("crow_fly", False))

    @property
    def has_plan(self) -> bool:
        """True when the folder holds plan.gpkg."""
        return (self.folder / PLAN_GPKG).is_file()

    def layers(self, names: tuple[str, ...] | None = None) -> dict[str, gpd.GeoDataFrame]:
        """plan.gpkg's layers (``names`` present, default all), EPSG:4326."""
        return read_layers(self.folder / PLAN_GPKG, names)

    def township_kpis(self) -> pd.DataFrame | None:
        """kpis_township.csv, or None when the run has none."""
        p = self.folder / KPIS_TOWNSHIP_CSV
        return read_kpis(p) if p.is_file() else None


def read_run(folder: str | Path) -> RunRecord:
    """Read a run folder's kpis.csv and run.json.

    Raises
    ------
    InputError
        kpis.csv is missing or lacks a column, or run.json is not JSON.
    """
    d = Path(folder)
    kpis = read_kpis(d / KPIS_CSV)
    meta: dict[str, Any] = {}
    if (d / RUN_JSON).is_file():
        try:
            meta = json.loads((d / RUN_JSON).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"run.json is not readable JSON: {exc}"
            raise InputError(msg, file=str(d / RUN_JSON)) from None
    phased = YEAR_COLUMN in kpis.columns
    return RunRecord(folder=d.resolve(), name=d.resolve().name, kpis=final_kpis(kpis), meta=meta,
                     year_kpis=kpis if phased else None)
