"""Benchmark of `netplan frontier`: the demo straw sweep as independent cold runs (the **anchor**),
then on a 1-worker and a 2-worker Dask LocalCluster.

    python scripts/bench_frontier.py [--targets 0.70,0.82,0.90,0.95,1.0] [--time-limit 60]
                                     [--maps] [--work DIR] [--only cold,1,2]

* cold: each point in a fresh Python process, one after another (what a planner does by hand:
  `netplan plan` per target; here the same :class:`~netplan.analysis.points.PointJob` a sweep
  sends to its workers, so the work per point is identical).
* 1 / 2 workers: :func:`netplan.frontier` on a LocalCluster (workers import netplan once; the
  points run as one warm-start chain per worker from the highest target down, each started from
  the previous point's plan); 1cold / 2cold: the same with every point cold (what warm starts
  buy at equal parallelism).

Prints per configuration the wall time, its ratio to the anchor, the load average before and
after, and each point's cost; then the curve of the 2-worker run. Siting limits are CPU seconds
and single-source plans stop on work (node limits), so on a loaded machine wall times stretch
while the search (and the curve) stays about the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netplan._paths import data_file  # noqa: E402

COLD = """
import json, sys
from pathlib import Path
from netplan.analysis.points import PointJob, solve_point
a = json.loads(sys.argv[1])
r = solve_point(PointJob(key=a["key"], scenario_path=Path(a["sc"]), run_dir=Path(a["run"]),
                         stream="straw", indicator="village_coverage", target=a["t"], alone=True,
                         time_limit_s=a["lim"], maps=a["maps"], cost_stream="straw"))
print(json.dumps({k: r.get(k) for k in ("ok", "status", "total_cost_cny_yr", "achieved", "cpu_s")}))
"""


def cold(targets: list[float], sc: Path, work: Path, lim: float, maps: bool) -> dict:
    """Each point in its own fresh process, sequentially."""
    t0 = time.perf_counter()
    rows = []
    for t in targets:
        arg = json.dumps({"key": f"{t:.4f}", "sc": str(sc), "run": str(work / "cold" / f"target_{t:.4f}"),
                          "t": t, "lim": lim, "maps": maps})
        p = subprocess.run([sys.executable, "-c", COLD, arg], capture_output=True, text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"  cold {t:.4f}: {r['status']}, {r['total_cost_cny_yr'] or 0:,.0f} CNY/yr", flush=True)
    return {"wall_s": time.perf_counter() - t0, "rows": rows}


def sweep(targets: list[float], sc: Path, out: Path, lim: float, maps: bool, workers: int,
          warm: bool = True) -> dict:
    """netplan.frontier on a LocalCluster of ``workers`` processes (warm starts: one chain per
    worker, from the highest target down; ``warm=False``: every point cold)."""
    import netplan

    t0 = time.perf_counter()
    df = netplan.frontier(sc, stream="straw", indicator="village_coverage", targets=targets,
                          out_dir=out, workers=workers, time_limit_s=lim, maps=maps, warm=warm,
                          progress=lambda m: print("  " + m, flush=True))
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "df": df, "rows": [{"status": s, "total_cost_cny_yr": c} for s, c in
                                               zip(df["status"], df["total_cost_cny_yr"], strict=True)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="0.70,0.82,0.90,0.95,1.0")
    ap.add_argument("--time-limit", type=float, default=60.0, help="siting CPU s per point")
    ap.add_argument("--maps", action="store_true", help="write each point's maps (default: not)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_frontier"))
    ap.add_argument("--only", default="cold,1,2",
                    help="configurations: cold (independent processes), 1, 2 (workers, warm "
                         "starts), 1cold, 2cold (workers, every point cold)")
    a = ap.parse_args()
    targets = [float(x) for x in a.targets.split(",")]
    sc = data_file("scenarios", "demo.toml")
    a.work.mkdir(parents=True, exist_ok=True)
    res = {}
    loads = {}
    for what in a.only.split(","):
        print(f"== {what}  (load average {os.getloadavg()[0]:.1f})", flush=True)
        l0 = os.getloadavg()[0]
        if what == "cold":
            res[what] = cold(targets, sc, a.work, a.time_limit, a.maps)
        else:
            res[what] = sweep(targets, sc, a.work / f"w{what}", a.time_limit, a.maps,
                              int(what.removesuffix("cold")), warm=not what.endswith("cold"))
        loads[what] = (l0, os.getloadavg()[0])
    anchor = res.get("cold", {}).get("wall_s")
    print(f"\ndemo straw sweep, {len(targets)} targets {a.targets}, siting {a.time_limit:.0f} CPU s "
          f"per point, maps {'on' if a.maps else 'off'}")
    print(f"{'configuration':<44}{'wall s':>9}{'vs cold':>9}{'load avg':>12}   cost per point, M CNY/yr")
    names = {"cold": "independent cold runs (anchor)", "1": "netplan frontier, 1 worker, warm",
             "2": "netplan frontier, 2 workers, warm", "1cold": "netplan frontier, 1 worker, cold",
             "2cold": "netplan frontier, 2 workers, cold"}
    for k, r in res.items():
        ratio = f"{anchor / r['wall_s']:.2f}x" if anchor else "–"
        costs = " ".join(f"{(x['total_cost_cny_yr'] or 0) / 1e6:.2f}" for x in r["rows"])
        la = f"{loads[k][0]:.0f}→{loads[k][1]:.0f}"
        print(f"{names.get(k, k):<44}{r['wall_s']:>9.0f}{ratio:>9}{la:>12}   {costs}")
    last = res.get("2") or res.get("1")
    if last is not None:
        df = last["df"]
        print("\n" + df[["target", "achieved", "total_cost_cny_yr", "sites_village_point",
                         "sites_township_station", "sites_county_center", "gap", "status"]]
              .to_string(index=False))
    if "cold" in res:
        print("\ncold runs: " + "; ".join(f"{r['status']} {r['total_cost_cny_yr'] or 0:,.0f}"
                                          for r in res["cold"]["rows"]))


if __name__ == "__main__":
    main()
