"""The studio's ASGI app (Starlette): the page, its bundled assets, and the JSON API of docs/studio.md.

Only two folders are served as files: the studio's own ``static/`` and the bundled Leaflet of
:mod:`netplan.maps.assets`; Starlette's StaticFiles refuses paths that leave them. Every bad request
gets a 4xx JSON ``{"error": message}``; any other exception a 500 with a one-line message, never a
traceback.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from netplan.errors import NetplanError
from netplan.layout_io import COLUMNS, write_layout
from netplan.maps.assets import STATIC_DIR as LEAFLET_DIR
from netplan.model import TIERS
from netplan.studio.jobs import Optimiser
from netplan.studio.model import (
    ChangeError,
    Prepared,
    apply_changes,
    coverage,
    kpi_rows,
    score,
    site_loads,
)

HERE = Path(__file__).resolve().parent / "static"
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,80}\.(csv|xlsx)$")


class Studio:
    """The server's state: the prepared model, the base layout table (version-counted), the optimiser."""

    def __init__(self, prep: Prepared, table: pd.DataFrame, save_dir: Path) -> None:
        self.prep = prep
        self.save_dir = Path(save_dir)
        self.lock = threading.Lock()
        self.optimiser = Optimiser(prep)
        self.version = 0
        self._set(table)

    def _set(self, table: pd.DataFrame) -> None:
        t = pd.DataFrame(table)[COLUMNS].reset_index(drop=True)
        scored = score(self.prep, t)
        with self.lock:
            self.table, self.base = t, scored
            self.version += 1

    def sites(self) -> list[dict[str, Any]]:
        """One row per layout row (site and tier) with its load and capacity in the base layout."""
        loads = site_loads(self.base.evaluation)
        out = []
        for r in self.table.itertuples(index=False):
            ld = loads.get(str(r.site_id), {})
            out.append({"site_id": str(r.site_id), "name": str(r.name), "streams": str(r.streams).split(";"),
                        "stream": str(r.streams), "tier": r.tier, "status": r.status,
                        "lon": round(float(r.lon), 6), "lat": round(float(r.lat), 6),
                        "load": ld.get("load", 0.0), "capacity": ld.get("capacity"),
                        "parent_id": r.parent_id if isinstance(r.parent_id, str) else None})
        return out

    def evaluate(self, changes: Any) -> dict[str, Any]:
        """Apply a change set to the base layout and score it."""
        with self.lock:
            table, version = self.table, self.version
        t = apply_changes(self.prep, table, changes)
        s = score(self.prep, t)
        return {"version": version, "kpis": kpi_rows(s.evaluation),
                "coverage": coverage(self.prep, s.evaluation), "loads": site_loads(s.evaluation),
                "open_sites": sorted({str(x) for x in t.loc[t["status"] != "closed", "site_id"]}),
                "layout": [{"site_id": str(r.site_id), "name": str(r.name), "streams": str(r.streams).split(";"),
                            "tier": r.tier, "status": r.status, "lon": round(float(r.lon), 6),
                            "lat": round(float(r.lat), 6)} for r in t.itertuples(index=False)],
                "elapsed_ms": round(s.elapsed_s * 1000, 1),
                "pending": ["collection_vehicle_km_yr", "haulage_vehicle_km_yr", "collection_co2_kg_yr",
                            "haulage_co2_kg_yr"],
                "note": "collection rounds are not re-planned per change: routed vehicle-km and CO2 "
                        "come from `netplan evaluate` on the saved layout"}

    def fix_table(self, changes: Any) -> pd.DataFrame:
        """The rows the planner changed (opened, closed, added, moved), as a ``plan --fix`` table."""
        t = apply_changes(self.prep, self.table, changes)
        before = {(r.site_id, r.tier, r.status) for r in self.table.itertuples(index=False)}
        touched = [(r.site_id, r.tier, r.status) not in before for r in t.itertuples(index=False)]
        return t[touched].reset_index(drop=True)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > 2_000_000:
        raise HTTPException(413, "request body larger than 2 MB")
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None


def _meta(st: Studio) -> dict[str, Any]:
    from netplan.maps.style import (
        stream_colour,
        stream_name_en,
        stream_name_zh,
        tier_name_en,
        tier_name_zh,
    )

    sc = st.prep.scenario
    b = st.prep.county.boundary.to_crs("EPSG:4326")
    return {"title": sc.title, "scenario": sc.name, "version": st.version, "tiers": list(TIERS),
            "tier_labels": {t: f"{tier_name_zh(t)} {tier_name_en(t)}" for t in TIERS},
            "streams": [{"id": s, "label": f"{stream_name_zh(s)} {stream_name_en(s)}",
                         "colour": stream_colour(s)} for s in sc.stream_ids],
            "bounds": [float(x) for x in b.total_bounds],
            "boundary": json.loads(b.geometry.to_json()), "save_dir": str(st.save_dir)}


def build_app(st: Studio) -> Starlette:
    """The Starlette app serving ``st``."""

    async def index(request: Request) -> Response:
        return FileResponse(HERE / "index.html", media_type="text/html; charset=utf-8")

    async def meta(request: Request) -> Response:
        return JSONResponse(_meta(st))

    async def sites(request: Request) -> Response:
        return JSONResponse({"version": st.version, "sites": st.sites()})

    async def candidates(request: Request) -> Response:
        c = st.prep.cands
        return JSONResponse({"candidates": [
            {"site_id": str(r.site_id), "name": str(r.name), "kind": str(r.kind), "status": str(r.status),
             "lon": round(r.geometry.x, 6), "lat": round(r.geometry.y, 6)} for r in c.itertuples()]})

    async def demands(request: Request) -> Response:
        d = st.prep.supply.demands.to_crs("EPSG:4326")
        return JSONResponse({"demands": [
            {"demand_id": str(r.demand_id), "name": str(r.name), "kind": str(r.kind),
             "lon": round(r.geometry.x, 6), "lat": round(r.geometry.y, 6)} for r in d.itertuples()]})

    async def evaluate(request: Request) -> Response:
        changes = await _body(request)
        return JSONResponse(await run_in_threadpool(st.evaluate, changes))

    async def optimise(request: Request) -> Response:
        if request.method == "GET":
            job = st.optimiser.job
            return JSONResponse(job.status() if job else {"state": "idle"})
        if request.method == "DELETE":
            job = st.optimiser.cancel()
            return JSONResponse(job.status() if job else {"state": "idle"})
        fix = st.fix_table(await _body(request))
        try:
            job = st.optimiser.start(fix, st._set)
        except RuntimeError as exc:
            return _error(409, str(exc))
        return JSONResponse(job.status(), status_code=202)

    async def save(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ChangeError("the body must be a JSON object {\"name\": ..., \"changes\": {...}}")
        name = body.get("name", "studio_layout.csv")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            return _error(400, "name must be a plain file name ending .csv or .xlsx (no folders)")
        t = apply_changes(st.prep, st.table, body.get("changes") or {})
        path = await run_in_threadpool(write_layout, t, st.save_dir / name)
        return JSONResponse({"path": str(path), "rows": len(t)})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def change_error(request: Request, exc: Exception) -> Response:
        return _error(422 if not isinstance(exc, NetplanError) else 400, str(exc).splitlines()[0])

    async def internal(request: Request, exc: Exception) -> Response:
        first = str(exc).splitlines()[0] if str(exc) else ""
        return _error(500, f"internal error ({type(exc).__name__}) {first}".strip())

    routes = [
        Route("/", index), Route("/api/meta", meta), Route("/api/sites", sites),
        Route("/api/candidates", candidates), Route("/api/demands", demands),
        Route("/api/evaluate", evaluate, methods=["POST"]),
        Route("/api/optimise", optimise, methods=["GET", "POST", "DELETE"]),
        Route("/api/save", save, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE), name="static"),
        Mount("/lib", StaticFiles(directory=LEAFLET_DIR), name="lib"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, ChangeError: change_error, NetplanError: change_error,
        Exception: internal})
    app.state.studio = st
    return app
