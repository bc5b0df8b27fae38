"""Start-up of the studio: the scenario, the layout to start from (a run's layout.csv, the latest run of
the scenario, or a fresh plan), the prepared model and the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netplan.errors import InputError
from netplan.runfolder import KPIS_CSV, LAYOUT_CSV, PLAN_GPKG
from netplan.scenario import Scenario, load_scenario
from netplan.studio.app import Studio, build_app
from netplan.studio.model import base_table, load_table, prepare


def _noop(msg: str) -> None:
    return None


def start_table(scenario: Scenario, run: Path | None, *, default_runs: Path = Path("maps")) -> Path | None:
    """The layout table to start from: ``run``/layout.csv, else maps/<scenario>/layout.csv if it
    exists, else None (plan it)."""
    if run is not None:
        p = Path(run) / LAYOUT_CSV if Path(run).is_dir() else Path(run)
        if not p.is_file():
            raise InputError(f"no {LAYOUT_CSV} in the run folder (give a folder written by netplan plan "
                             "or a layout table)", file=str(run))
        return p
    latest = default_runs / scenario.name / LAYOUT_CSV
    return latest if latest.is_file() else None


def reference_run(scenario: Scenario, run: Path | None, *, default_runs: Path = Path("maps")) -> Path | None:
    """The optimal plan the studio compares layouts with: the ``--run`` folder when it is a run
    folder (kpis.csv and plan.gpkg), else ``maps/<scenario>`` when it is one, else None."""
    for d in (run, default_runs / scenario.name):
        if d is not None and Path(d).is_dir() and (Path(d) / KPIS_CSV).is_file() \
                and (Path(d) / PLAN_GPKG).is_file():
            return Path(d)
    return None


def load_studio(scenario_path: str | Path, run: str | Path | None = None, *, save_dir: Path | None = None,
                progress: Any = _noop, default_runs: Path = Path("maps")) -> Studio:
    """Read everything once and return the studio state (scored base layout included)."""
    sc = load_scenario(scenario_path)
    src = start_table(sc, Path(run) if run is not None else None, default_runs=default_runs)
    table = load_table(src, sc) if src is not None else None
    progress(f"starting layout: {src if src is not None else 'a new plan (siting)'}")
    prep = prepare(sc, table, progress=progress)
    if table is None:
        from netplan.siting_adapter import site

        progress(f"planning (siting limit {sc.time_limit_s:.0f} s CPU)")
        table = base_table(prep, site(sc, prep.county, prep.supply, prep.cands, prep.mats,
                                      progress=progress))
    out = save_dir or (Path(run) if run is not None and Path(run).is_dir() else Path("maps") / f"{sc.name}-studio")
    ref = reference_run(sc, Path(run) if run is not None else None, default_runs=default_runs)
    return Studio(prep, table, out, reference=ref)


def create_app(scenario_path: str | Path, run: str | Path | None = None, **kw: Any) -> Any:
    """The ASGI app for a scenario (and run), for uvicorn or Starlette's TestClient."""
    return build_app(load_studio(scenario_path, run, **kw))
