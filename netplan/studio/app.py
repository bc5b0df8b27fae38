"""The studio's ASGI app (Starlette): the page, its bundled assets, and the JSON API of docs/studio.md.

Only three folders are served as files: the studio's own ``static/``, the bundled Leaflet of
:mod:`netplan.maps.assets`, and the compare view the studio wrote (``<save dir>/studio-compare/
compare``); Starlette's StaticFiles refuses paths that leave them. Every bad request
gets a 4xx JSON ``{"error": message}``; any other exception a 500 with a one-line message, never a
traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
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
from netplan.studio.jobs import Optimiser, Runner
from netplan.studio.model import (
    ChangeError,
    Prepared,
    apply_changes,
    catchments,
    coverage,
    kpi_rows,
    score,
    site_loads,
)
from netplan.studio.routes import ROUTED, compare_with, routed

HERE = Path(__file__).resolve().parent / "static"
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,80}\.(csv|xlsx)$")


class Studio:
    """The server's state: the prepared model, the base layout table (version-counted), the optimiser."""

    def __init__(self, prep: Prepared, table: pd.DataFrame, save_dir: Path,
                 reference: Path | None = None) -> None:
        self.prep = prep
        self.save_dir = Path(save_dir)
        self.reference = reference
        self.lock = threading.Lock()
        self.optimiser = Optimiser(prep)
        self.router = Runner("route planning", replace=True)
        self.comparer = Runner("a comparison")
        self.routes_done: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.version = 0
        self._set(table)
        self.start = self.table

    @property
    def compare_dir(self) -> Path:
        """Where the comparison's run folders and compare view are written."""
        return self.save_dir / "studio-compare"

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
                "coverage": coverage(self.prep, s.evaluation),
                "catchments": catchments(self.prep, s.evaluation), "loads": site_loads(s.evaluation),
                "open_sites": sorted({str(x) for x in t.loc[t["status"] != "closed", "site_id"]}),
                "layout": [{"site_id": str(r.site_id), "name": str(r.name), "streams": str(r.streams).split(";"),
                            "tier": r.tier, "status": r.status, "lon": round(float(r.lon), 6),
                            "lat": round(float(r.lat), 6)} for r in t.itertuples(index=False)],
                "elapsed_ms": round(s.elapsed_s * 1000, 1), "routes_key": self.key(changes),
                "pending": list(ROUTED),
                "note": "the pending rows wait for the collection rounds: POST /api/routes with the "
                        "same change set re-plans them in the background"}

    def key(self, changes: Any) -> str:
        """The routes key of a change set against the current base layout."""
        text = json.dumps([self.version, changes], sort_keys=True, ensure_ascii=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def start_routes(self, changes: Any) -> dict[str, Any]:
        """Re-plan the collection rounds of base + changes in the background (a newer call
        supersedes a running one); done at once when this change set's routes are known."""
        key = self.key(changes)
        if key in self.routes_done:
            return {"key": key, "state": "done", **self.routes_done[key]}
        t = apply_changes(self.prep, self.table, changes)
        t0 = time.monotonic()

        def keep(result: dict[str, Any]) -> None:
            self.routes_done[key] = {**result, "elapsed_s": round(time.monotonic() - t0, 1)}
            while len(self.routes_done) > 64:
                self.routes_done.popitem(last=False)

        job = self.router.start(routed, (self.prep, self.prep.geo, t), keep, key=key)
        return job.status()

    def routes(self, key: str) -> dict[str, Any]:
        """The state of the routes of ``key``: done (with kpis and routes), running, failed, or
        superseded by a newer change."""
        if key in self.routes_done:
            return {"key": key, "state": "done", **self.routes_done[key]}
        job = self.router.job
        if job is None or job.key != key:
            return {"key": key, "state": "superseded"}
        out = job.status()
        if out["state"] == "cancelled":
            out["state"] = "superseded"
        return out

    def start_compare(self, changes: Any) -> dict[str, Any]:
        """Compare base + changes with the reference plan in the background."""
        t = apply_changes(self.prep, self.table, changes)
        job = self.comparer.start(compare_with, (self.prep, self.prep.geo, t, self.start, self.reference,
                                                 self.compare_dir))
        return job.status()

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
            "boundary": json.loads(b.geometry.to_json()), "save_dir": str(st.save_dir),
            "reference": str(st.reference) if st.reference is not None else None,
            "crow_fly": bool(getattr(st.prep.mats.net, "is_crow_fly", False))}


def _job_routes(st: Studio) -> list[Route]:
    """The background-job endpoints: collection rounds and the compare view (docs/studio.md)."""

    async def routes(request: Request) -> Response:
        if request.method == "GET":
            key = request.query_params.get("key", "")
            if not re.fullmatch(r"[0-9a-f]{16}", key):
                return _error(400, "key must be the routes_key of an evaluation (16 hex digits)")
            return JSONResponse(st.routes(key))
        res = await run_in_threadpool(st.start_routes, await _body(request))
        return JSONResponse(res, status_code=200 if res["state"] == "done" else 202)

    async def compare(request: Request) -> Response:
        if request.method == "GET":
            job = st.comparer.job
            return JSONResponse({**job.status(), "result": job.result} if job else {"state": "idle"})
        if request.method == "DELETE":
            job = st.comparer.cancel()
            return JSONResponse(job.status() if job else {"state": "idle"})
        try:
            res = await run_in_threadpool(st.start_compare, await _body(request))
        except RuntimeError as exc:
            return _error(409, str(exc))
        return JSONResponse(res, status_code=202)

    compare_files = StaticFiles(directory=st.compare_dir / "compare", check_dir=False)

    async def compare_file(request: Request) -> Response:
        if not (st.compare_dir / "compare").is_dir():
            return _error(404, "no comparison yet (POST /api/compare)")
        return await compare_files.get_response(request.path_params["path"], request.scope)

    return [Route("/api/routes", routes, methods=["GET", "POST"]),
            Route("/api/compare", compare, methods=["GET", "POST", "DELETE"]),
            Route("/compare/{path:path}", compare_file)]


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
            job = st.optimiser.start_fix(fix, st._set)
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
        *_job_routes(st),
        Mount("/static", StaticFiles(directory=HERE), name="static"),
        Mount("/lib", StaticFiles(directory=LEAFLET_DIR), name="lib"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, ChangeError: change_error, NetplanError: change_error,
        Exception: internal})
    app.state.studio = st
    return app
