"""Benchmark of the planning studio (issue 23) on the demo county: the latency of one change.

The studio (``netplan serve``) runs on uvicorn on 127.0.0.1 in this process; requests go over HTTP
(httpx). Measured:

- 50 random toggles, one after the other, each a click that opens or closes one site of the
  layout on top of the clicks before it (the planner's session): latency of ``POST /api/evaluate``
  (wall, client side) and CPU seconds of the server process per request; the issue's bar is under
  1 s on the demo county;
- 20 concurrent evaluations (20 different change sets, sent at once from 20 threads): every one
  answers 200, the same KPIs as the same change set sent alone, and how long the burst takes;
- the first move of a site to a dragged point (snapped to the road network: its road distances
  are computed then) and the collection rounds re-planned in the background after a change.

Usage: ``.venv/bin/python scripts/bench_studio.py [--seed 7] [--toggles 50]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ANCHOR_S = 1.0  # the bar: one change re-evaluated in under a second on the demo county


def serve(app):
    """uvicorn on 127.0.0.1 (a free port) in a thread: (base url, server, thread, socket)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, th, sock


def toggles(client, sites: list[dict], n: int, seed: int) -> tuple[list[float], list[float], list[float]]:
    """``n`` random toggles on top of each other: client wall s, server CPU s, server evaluation s."""
    rng = np.random.default_rng(seed)
    ids = sorted({s["site_id"] for s in sites})
    base_open = {s["site_id"] for s in sites if s["status"] != "closed"}
    closed: set[str] = set()
    opened: set[str] = set()
    wall, cpu, inner = [], [], []
    for _ in range(n):
        sid = ids[int(rng.integers(len(ids)))]
        is_open = (sid in base_open and sid not in closed) or sid in opened
        if is_open:
            (closed.add if sid in base_open else opened.discard)(sid)
        else:
            (closed.discard if sid in base_open else opened.add)(sid)
        body = {"closed": sorted(closed), "open": sorted(opened)}
        c0, t0 = time.process_time(), time.perf_counter()
        r = client.post("/api/evaluate", json=body)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        r.raise_for_status()
        inner.append(r.json()["elapsed_ms"] / 1000)
    return wall, cpu, inner


def burst(client, sites: list[dict], n: int = 20) -> dict:
    """``n`` different change sets at once; all 200, the same KPIs as each alone."""
    pts = [s["site_id"] for s in sites if s["tier"] == "village_point"]
    bodies = [{"closed": pts[: (k * 3) % max(1, len(pts))]} for k in range(n)]

    def one(b):
        t0 = time.perf_counter()
        r = client.post("/api/evaluate", json=b)
        return r, time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as ex:
        res = list(ex.map(one, bodies))
    total = time.perf_counter() - t0
    ok = sum(r.status_code == 200 for r, _ in res)
    same = sum(client.post("/api/evaluate", json=b).json()["kpis"] == r.json()["kpis"]
               for b, (r, _) in zip(bodies, res, strict=True) if r.status_code == 200)
    lat = [t for _, t in res]
    return {"ok": ok, "same": same, "total_s": total, "median_s": float(np.median(lat)),
            "max_s": float(np.max(lat))}


def extras(client, sites: list[dict]) -> dict:
    """First road-snapped move of a station, and the background collection rounds after a change."""
    st = next(s for s in sites if s["tier"] == "township_station")
    body = {"moved": [{"site_id": st["site_id"], "lon": st["lon"] + 0.011, "lat": st["lat"] + 0.006}]}
    t0 = time.perf_counter()
    r = client.post("/api/evaluate", json=body)
    first_move = time.perf_counter() - t0
    r.raise_for_status()
    t0 = time.perf_counter()
    r = client.post("/api/evaluate", json=body)
    again = time.perf_counter() - t0
    key = r.json()["routes_key"]
    t0 = time.perf_counter()
    j = client.post("/api/routes", json=body).json()
    while j["state"] == "running":
        time.sleep(0.2)
        j = client.get("/api/routes", params={"key": key}).json()
    return {"first_move_s": first_move, "move_again_s": again, "routes_s": time.perf_counter() - t0,
            "routes_state": j["state"], "n_routes": len(j.get("routes", []))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--toggles", type=int, default=50)
    ap.add_argument("--save-dir", type=Path, default=Path("maps") / "bench-studio")
    a = ap.parse_args()
    import httpx

    from netplan._paths import data_file
    from netplan.studio.load import create_app

    t0, c0 = time.perf_counter(), time.process_time()
    app = create_app(data_file("scenarios", "demo.toml"), data_file("demo", "layout_proposed.csv"),
                     save_dir=a.save_dir)
    start = (time.perf_counter() - t0, time.process_time() - c0)
    url, server, th, sock = serve(app)
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            sites = client.get("/api/sites").json()["sites"]
            client.post("/api/evaluate", json={})  # warm
            wall, cpu, inner = toggles(client, sites, a.toggles, a.seed)
            b = burst(client, sites)
            x = extras(client, sites)
    finally:
        server.should_exit = True
        th.join(timeout=10)
        sock.close()
    st = app.state.studio
    print(f"demo county: {len(st.prep.supply.demands)} villages and farms, {len(st.prep.cands)} "
          f"candidates, {len(sites)} layout rows; start-up {start[0]:.1f} s wall / {start[1]:.1f} s CPU; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n{'measure':<44}{'value':>10}{'anchor':>10}{'ratio':>8}")
    rows = [
        (f"{a.toggles} toggles: wall median (s)", np.median(wall)),
        (f"{a.toggles} toggles: wall p95 (s)", np.percentile(wall, 95)),
        (f"{a.toggles} toggles: wall max (s)", np.max(wall)),
        (f"{a.toggles} toggles: server CPU median (s)", np.median(cpu)),
        (f"{a.toggles} toggles: server CPU p95 (s)", np.percentile(cpu, 95)),
        (f"{a.toggles} toggles: evaluation median (s)", np.median(inner)),
    ]
    for name, v in rows:
        print(f"{name:<44}{v:>10.3f}{ANCHOR_S:>10.1f}{v / ANCHOR_S:>8.2f}")
    print(f"{'20 concurrent: all 200 / same KPIs':<44}{b['ok']:>5}/{b['same']:<4}")
    print(f"{'20 concurrent: burst wall (s)':<44}{b['total_s']:>10.3f}")
    print(f"{'20 concurrent: latency median / max (s)':<44}{b['median_s']:>10.3f}{b['max_s']:>10.3f}")
    print(f"{'move to a dragged point, first (s)':<44}{x['first_move_s']:>10.3f}{ANCHOR_S:>10.1f}"
          f"{x['first_move_s'] / ANCHOR_S:>8.2f}")
    print(f"{'the same move again (s)':<44}{x['move_again_s']:>10.3f}{ANCHOR_S:>10.1f}"
          f"{x['move_again_s'] / ANCHOR_S:>8.2f}")
    print(f"{'collection rounds in the background (s)':<44}{x['routes_s']:>10.3f}  "
          f"{x['routes_state']}, {x['n_routes']} routes")


if __name__ == "__main__":
    main()
