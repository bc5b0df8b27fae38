"""Benchmark of `netplan batch`: a prefecture on 1 and 2 Dask workers, memory, and county scaling.

    python scripts/bench_batch.py [--counties 10] [--time-limit S] [--workers 1,2] [--seed 0] [--work DIR]

1. Generates Zhumadian's counties (real outlines, synthetic villages at the calibrated density)
   into ``--work`` (reused when present).
2. Plans the region with a 1-worker LocalCluster (the **anchor**), then with 2 workers, on the
   same inputs in this process (``force``: nothing skipped), and merges the region outputs.
   Prints wall time, speed-up vs the anchor and peak RSS per worker.
3. Scaling: per county villages, demands, candidates and planning time (from the runs above),
   plus Pingyu regenerated at 1.5x and 2x its village count; fits time = a * villages^b and
   estimates a Henan province run (157 county units, ~45,000 villages) from it.

The scenario is data/scenarios/demo.toml, unchanged but for the county path (and the siting time
limit when ``--time-limit`` is given). 4. Per county and siting block: the plan's cost, its proven
gap and status (issue 16: each stream within 2 %), from the last worker count's run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netplan._paths import data_file  # noqa: E402
from netplan.batch.merge import merge_region  # noqa: E402
from netplan.batch.region import make_region  # noqa: E402
from netplan.batch.runner import plan_county, run_batch  # noqa: E402

PROVINCE_COUNTIES = 157  # Henan county-level units (issue 9)
PROVINCE_VILLAGES = 45_000  # Henan administrative villages, approx. (issue 9)


def scenario(path: Path, county_dir: Path, time_limit_s: float | None,
             disable: tuple[str, ...] = ()) -> Path:
    """demo.toml pointed at ``county_dir`` with the siting limit ``time_limit_s``, and (as in
    tests/test_batch_e2e.py) recyclables allowed a new county centre at a township seat at the
    scenario's own capital cost of a new straw centre: the generator gives every county one
    30,000 t/yr sorting centre, smaller than most Zhumadian counties' recyclables."""
    text = data_file("scenarios", "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^county = .*$", f'county = "{county_dir.as_posix()}"', text)
    if time_limit_s is not None:
        text = re.sub(r"(?m)^time_limit_s = .*$", f"time_limit_s = {time_limit_s:g}", text)
    straw_cc = re.search(r"(?ms)^\[streams\.straw\].*?^county_center = .*?capex_cny = ([0-9]+)", text)
    rec = re.search(r"(?ms)^\[streams\.recyclables\].*?^(county_center = .*)$", text)
    if straw_cc and rec:
        line = rec.group(1)
        new = (line.replace('candidates = ["recycling_centre"]',
                            'candidates = ["recycling_centre", "township_seat"]')
               .replace("capex_cny = 0,", f"capex_cny = {straw_cc.group(1)},"))
        text = text[:rec.start(1)] + new + text[rec.end(1):]
    for sid in disable:
        text = re.sub(rf"(?m)^\[streams\.{sid}\]$", f"[streams.{sid}]\nenabled = false", text)
    path.write_text(text, encoding="utf-8")
    return path


def run(region: Path, scen: Path, out: Path, workers: int) -> tuple[float, object, float]:
    """Batch with ``workers`` workers (force) + merge; returns (wall s, BatchResult, merge s)."""
    t0 = time.perf_counter()
    print(f"{workers} worker(s): load average before {os.getloadavg()[0]:.1f}", flush=True)
    res = run_batch(region, scen, out, workers=workers, force=True, maps=True)
    t1 = time.perf_counter()
    merge_region(out, res.counties, title=f"bench {workers} workers")
    return t1 - t0, res, time.perf_counter() - t1


def _worker_counts(text: str) -> list[int]:
    """``--workers``: comma-separated positive worker counts, e.g. "1,2"."""
    try:
        counts = [int(w) for w in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        msg = f"expected comma-separated positive integers such as 1,2, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return counts


def gaps_table(res) -> None:
    """Per county and siting block (streams sharing sites are one block): the plan's cost, its
    proven gap and status, and how many blocks are within 2 % (issue 16)."""
    print("\n### Siting per county and block: plan cost CNY/yr / proven gap (status)\n")
    blocks: list[str] = []
    per: dict[str, dict[str, dict]] = {}
    for c in res.counties:
        if c.status != "done":
            continue
        for d in (c.info.get("solve") or {}).values():
            name = d.get("block")
            if name:
                per.setdefault(c.name, {})[name] = d
                if name not in blocks:
                    blocks.append(name)
    print("| county | " + " | ".join(blocks) + " | blocks within 2 % | coverage planned below target (scenario unreachable = relax) |")
    print("|---|" + "---|" * (len(blocks) + 2))
    ok_all = n_all = 0
    for county, got in per.items():
        cells, ok = [], 0
        for b in blocks:
            d = got.get(b)
            if d is None:
                cells.append("-")
                continue
            gap = d.get("gap")
            ok += gap is not None and gap <= 0.02
            g = "-" if gap is None else f"{100 * gap:.2f} %"
            cells.append(f"{d.get('objective', float('nan')) / 1e6:.3f} M / {g} ({d.get('status')})")
        ok_all += ok
        n_all += len(got)
        solve = next(c.info.get("solve") or {} for c in res.counties if c.name == county)
        relaxed = ", ".join(
            f"{s} {100 * d['coverage_planned']:.1f} %" if "planned for" in str(d.get("relaxed"))
            else f"{s}: points of several units" for s, d in solve.items()
            if d.get("coverage_planned") is not None) or "-"
        print(f"| {county} | " + " | ".join(cells) + f" | {ok}/{len(got)} | {relaxed} |")
    print(f"\nblocks within 2 %: {ok_all}/{n_all}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables (markdown)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counties", type=int, default=10)
    p.add_argument("--time-limit", type=float, default=None,
                   help="siting time limit per county, CPU s (default: demo.toml's)")
    p.add_argument("--workers", default=[1, 2], type=_worker_counts,
                   help="worker counts to run, comma-separated; the first is the anchor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--disable", nargs="*", default=[],
                   help="streams switched off in the bench scenario (e.g. straw manure)")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "netplan_bench_batch")
    a = p.parse_args(argv)
    work = a.work
    region = work / f"zhumadian_{a.counties}_s{a.seed}"
    t0 = time.perf_counter()
    if not region.is_dir():
        gen = make_region(region, counties=a.counties, seed=a.seed, jobs=2)
        bad = [r for r in gen if not r["ok"]]
        for r in bad:
            print(f"generation failed: {Path(r['folder']).name}: {r['error']}", file=sys.stderr)
    print(f"region ready in {time.perf_counter() - t0:.0f} s: {region}")
    dirs = sorted(d for d in region.iterdir() if (d / "county.toml").is_file())
    scen = scenario(work / "bench.toml", dirs[0], a.time_limit, tuple(a.disable))
    limit = re.search(r"(?m)^time_limit_s = ([0-9.]+)", scen.read_text(encoding="utf-8")).group(1)
    print(f"scenario: demo.toml, siting limit {limit} CPU s, streams off: "
          f"{', '.join(a.disable) or 'none'}")
    counts = a.workers

    rows, results = [], {}
    for w in counts:
        wall, res, merge_s = run(region, scen, work / f"out_{w}w", w)
        results[w] = res
        per_worker: dict[str, float] = {}
        for c in res.counties:
            if c.worker and c.peak_rss_mb:
                per_worker[c.worker] = max(per_worker.get(c.worker, 0.0), c.peak_rss_mb)
        rows.append((w, wall, merge_s, sum(c.ok for c in res.counties), len(res.counties),
                     sum(c.time_s for c in res.counties), sum(c.cpu_s for c in res.counties),
                     max(per_worker.values(), default=0.0), os.getloadavg()[0]))
    anchor = rows[0][1]
    print(f"\n### Prefecture run: Zhumadian, {len(dirs)} counties, siting limit {limit} CPU s/county\n")
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) after each run in the last column\n")
    print(f"| workers | wall s | speed-up vs {counts[0]} worker(s) | merge s | counties ok | Σ task wall s | Σ task CPU s | peak RSS per worker MiB | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w, wall, merge_s, ok, n, tsum, csum, rss, la in rows:
        print(f"| {w} | {wall:.1f} | {anchor / wall:.2f}x | {merge_s:.1f} | {ok}/{n} | {tsum:.1f} | "
              f"{csum:.1f} | {rss:.0f} | {la:.1f} |")
    last = results[counts[-1]]
    for c in last.counties:
        if c.status == "failed":
            print(f"\nfailed: {c.name}: {c.error_kind}: {(c.error or '').splitlines()[0]}")

    gaps_table(last)
    # scaling: the first run's county times (least contention) + Pingyu at larger sizes
    sc = [(c.name, c.info.get("n_villages"), c.info.get("n_demands"), c.info.get("n_candidates"),
           c.time_s, c.cpu_s) for c in results[counts[0]].counties if c.status == "done"]
    pingyu = next((d for d in dirs if d.name.startswith("411723")), None)
    if pingyu is not None:
        from netplan.batch.runner import make_jobs

        base_n = sum(1 for _ in open(pingyu / "villages.csv", encoding="utf-8")) - 1
        for f in (1.5, 2.0):
            d = work / f"pingyu_x{f:g}_s{a.seed}"
            if not d.is_dir():
                make_region(d, adcodes=["411723"], seed=a.seed, n_villages=int(base_n * f))
            out = work / f"scale_out_{f:g}"
            job = make_jobs(d, scen, out)[0]
            t, c = time.perf_counter(), time.process_time()
            try:
                info = plan_county(job, scen, maps=True)
                sc.append((f"Pingyu x{f:g}", info["n_villages"], info["n_demands"],
                           info["n_candidates"], time.perf_counter() - t, time.process_time() - c))
            except Exception as exc:  # report, keep the rest of the table
                print(f"scaling run Pingyu x{f:g} failed: {type(exc).__name__}: {exc}")
    sc.sort(key=lambda r: r[1] or 0)
    print(f"\n### One county's planning time by size ({counts[0]}-worker run; siting limit "
          f"{limit} CPU s)\n")
    print("| county | villages | demands | candidates | wall s | CPU s |")
    print("|---|---|---|---|---|---|")
    for name, nv, nd, nc, t, cpu in sc:
        print(f"| {name} | {nv} | {nd} | {nc} | {t:.1f} | {cpu:.1f} |")
    if len(sc) >= 3:
        # fit on CPU seconds: one county is one single-threaded task, so on a dedicated core its
        # wall time is its CPU time (the wall times here include other jobs on a shared machine)
        x = np.log([r[1] for r in sc])
        y = np.log([max(r[5], 1e-3) for r in sc])
        b, loga = np.polyfit(x, y, 1)
        per = PROVINCE_VILLAGES / PROVINCE_COUNTIES
        t_c = float(np.exp(loga) * per ** b)
        eff = ((rows[0][1] / rows[-1][1]) * counts[0] / counts[-1] if len(rows) > 1
               else 1.0)
        print(f"\nfit (CPU s per county): time_s = {np.exp(loga):.3g} * villages^{b:.2f}")
        print(f"province estimate (Henan, {PROVINCE_COUNTIES} counties, {PROVINCE_VILLAGES:,} villages, "
              f"{per:.0f} villages/county -> {t_c:.0f} CPU s/county, {PROVINCE_COUNTIES * t_c / 3600:.1f} "
              "CPU h in all):")
        for w in (1, 2, 8, 32):
            ideal = PROVINCE_COUNTIES * t_c / w / 60
            print(f"  {w:>2} workers: {ideal:.0f} min ideal; {ideal / min(max(eff, 1e-3), 1.0):.0f} min "
                  f"at the parallel efficiency measured here ({counts[-1]} vs {counts[0]} "
                  f"workers: {eff:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
