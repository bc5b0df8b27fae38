"""Plan every county of a region in parallel on Dask (dask.distributed).

A *region folder* holds one county folder per county (each with its ``county.toml``, the layout
``netplan plan`` reads). :func:`run_batch` plans each county in its own task on a Dask cluster —
a :class:`~distributed.LocalCluster` of worker processes (one thread each) bound to 127.0.0.1 by
default, or an existing cluster when a scheduler address is given — and writes each county's run
folder to ``OUT/counties/<county>/`` (the contract of docs/outputs.md).

* Per-county failures are captured (error kind and message) and reported; the other counties
  complete.
* Results are keyed by an input hash (scenario file + every file of the county folder + netplan
  version): a county whose ``OUT/counties/<county>/batch_done.json`` records the same hash is
  skipped on a re-run.
* Progress is reported once per finished county (the command shows a rich progress bar).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import resource
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netplan.errors import InputError

DONE_FILE = "batch_done.json"
COUNTIES_DIR = "counties"
STATUSES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class CountyJob:
    """One county to plan.

    Attributes
    ----------
    name
        Folder name of the county inside the region folder (also its output folder name).
    county_dir
        The county folder (holds ``county.toml``).
    out_dir
        Where the county's run folder is written.
    input_hash
        SHA-256 (hex) of the scenario file, the county folder's files and the netplan version.
    """

    name: str
    county_dir: Path
    out_dir: Path
    input_hash: str


@dataclass(frozen=True)
class CountyResult:
    """What became of one county.

    Attributes
    ----------
    name
        County folder name.
    status
        "done" (planned now), "skipped" (a previous run with the same input hash is reused) or
        "failed".
    out_dir
        The county's run folder.
    input_hash
        Input hash of the job.
    time_s
        Wall-clock seconds the task took on its worker (0 when skipped).
    cpu_s
        CPU seconds of the worker process during the task (0 when skipped).
    peak_rss_mb
        Peak resident memory of the worker process so far, MiB (None when skipped).
    worker
        Address or name of the worker that ran the task.
    error_kind, error
        Exception class name and message of a failure (None otherwise).
    county_dir
        The county's input folder.
    info
        What the task reported (for :func:`plan_county`: county name, adcode, villages, demands,
        candidates, road network, siting status per stream).
    """

    name: str
    status: str
    out_dir: Path
    input_hash: str
    time_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float | None = None
    worker: str | None = None
    error_kind: str | None = None
    error: str | None = None
    county_dir: Path | None = None
    info: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the county's run folder holds a complete result."""
        return self.status in ("done", "skipped")


@dataclass(frozen=True)
class BatchResult:
    """Outcome of :func:`run_batch`: one :class:`CountyResult` per county, in folder order."""

    counties: tuple[CountyResult, ...]
    out_dir: Path
    wall_time_s: float
    n_workers: int
    scheduler: str
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> tuple[CountyResult, ...]:
        """The counties that failed."""
        return tuple(c for c in self.counties if c.status == "failed")

    def __repr__(self) -> str:
        n = {s: sum(c.status == s for c in self.counties) for s in STATUSES}
        return (f"BatchResult({len(self.counties)} counties: {n['done']} done, {n['skipped']} "
                f"skipped, {n['failed']} failed; {self.wall_time_s:.1f} s on {self.n_workers} "
                f"workers at {self.scheduler})")


def discover_counties(region_dir: str | Path) -> list[Path]:
    """County folders of a region: its sub-folders holding a ``county.toml``, sorted by name.

    Raises
    ------
    InputError
        If the region folder does not exist or holds no county folder.
    """
    region_dir = Path(region_dir)
    if not region_dir.is_dir():
        msg = "region folder not found (expected a folder with one county folder per county)"
        raise InputError(msg, file=str(region_dir))
    found = sorted(p for p in region_dir.iterdir() if p.is_dir() and (p / "county.toml").is_file())
    if not found:
        msg = "no county folder (a sub-folder with county.toml) in the region folder"
        raise InputError(msg, file=str(region_dir))
    return found


def _netplan_version() -> str:
    try:
        from importlib.metadata import version

        return version("netplan")
    except Exception:  # not installed (source checkout on sys.path)
        return "source"


def input_hash(county_dir: str | Path, scenario_path: str | Path, *, salt: str = "") -> str:
    """SHA-256 (hex) of everything a county's plan depends on.

    Covers the scenario file's bytes, every file under ``county_dir`` (relative path and bytes,
    in sorted order, hidden files excluded), the netplan version and ``salt`` (options that
    change the outputs, e.g. whether maps are written).
    """
    h = hashlib.sha256()
    h.update(f"netplan {_netplan_version()}\0{salt}\0".encode())
    h.update(Path(scenario_path).read_bytes())
    root = Path(county_dir)
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        h.update(f"\0{rel.as_posix()}\0{p.stat().st_size}\0".encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_done(out_dir: str | Path) -> dict[str, Any] | None:
    """The ``batch_done.json`` record of a county run folder, or None."""
    p = Path(out_dir) / DONE_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_done(out_dir: str | Path, record: dict[str, Any]) -> Path:
    """Write the ``batch_done.json`` record atomically (written last: its presence means done)."""
    p = Path(out_dir) / DONE_FILE
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, p)
    return p


def make_jobs(region_dir: str | Path, scenario_path: str | Path, out_dir: str | Path, *,
              salt: str = "", only: Sequence[str] | None = None) -> list[CountyJob]:
    """One :class:`CountyJob` per county folder of the region (optionally only the named ones)."""
    dirs = discover_counties(region_dir)
    if only:
        names = {d.name for d in dirs}
        missing = sorted(set(only) - names)
        if missing:
            msg = f"no county folder named {', '.join(missing)}; have {', '.join(sorted(names))}"
            raise InputError(msg, file=str(region_dir))
        dirs = [d for d in dirs if d.name in set(only)]
    base = Path(out_dir) / COUNTIES_DIR
    return [CountyJob(name=d.name, county_dir=d.resolve(), out_dir=(base / d.name).resolve(),
                      input_hash=input_hash(d, scenario_path, salt=salt)) for d in dirs]


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:  # not on a Dask worker (plain call)
        return f"pid {os.getpid()}"


def county_identity(county_dir: str | Path | None, name: str) -> dict[str, str]:
    """county (folder name), county_zh and adcode from the county folder's ``county.toml``."""
    out = {"county": name, "county_zh": name, "adcode": ""}
    if county_dir is None:
        return out
    try:
        with open(Path(county_dir) / "county.toml", "rb") as f:
            meta = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return out
    out["county_zh"] = str(meta.get("name_zh") or name)
    out["adcode"] = str(meta.get("adcode") or "")
    return out


def plan_county(job: CountyJob, scenario_path: str | Path, *, maps: bool = True) -> dict[str, Any]:
    """Plan one county (runs on a worker) and write its run folder plus ``batch_done.json``.

    The scenario is loaded on the worker and re-pointed at the county folder with
    ``dataclasses.replace`` (county_dir, name; the county's own roads file). Returns a small
    record (what :class:`CountyResult` is built from): nothing large travels back.
    """
    from netplan.planner import run_plan
    from netplan.runfolder import write_run
    from netplan.scenario import load_scenario

    base = load_scenario(scenario_path)
    zh = county_identity(job.county_dir, job.name)["county_zh"]
    # a prefecture's targets beyond one county's reach: that county plans for what it can reach,
    # the shortfall named (scenario key unreachable, default "relax" in a batch)
    scenario = dataclasses.replace(base, county_dir=Path(job.county_dir), name=job.name,
                                   title=f"{zh} 三级回收网络规划 · {base.name} ({job.name})",
                                   roads_file=None, unreachable=base.unreachable or "relax")
    plan = run_plan(scenario)
    write_run(plan, job.out_dir, maps=maps)
    solve = {s: {k: v for k, v in d.items() if isinstance(v, str | int | float) or v is None}
             for s, d in plan.layout.solve.items()}
    n_dem, n_cand = (plan.matrices.dem_site_m.shape if plan.matrices is not None
                     else (len(plan.supply.demands), len(plan.candidates)))
    return {"county": plan.county.name, "county_zh": plan.county.name_zh,
            "adcode": plan.county.adcode, "n_villages": len(plan.county.villages),
            "n_demands": int(n_dem), "n_candidates": int(n_cand), "network": plan.network_label,
            "solve": solve}


def _run_task(task: Callable[..., dict[str, Any]], job: CountyJob, args: tuple, kwargs: dict) -> CountyResult:
    """Run ``task`` on a worker, catching every failure into the result (never raises)."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        info = task(job, *args, **kwargs) or {}
    except Exception as exc:  # any county failure is reported, the region goes on
        kind = type(exc).__name__
        text = str(exc) or kind
        if not _is_netplan_error(exc):  # a bug: say so, no stack frames in the batch tables
            text = (f"internal error ({kind}): {text} - plan this county alone with "
                    "NETPLAN_DEBUG=1 netplan plan for the traceback, and report it")
        return CountyResult(name=job.name, status="failed", out_dir=job.out_dir,
                            input_hash=job.input_hash, time_s=time.perf_counter() - t0,
                            cpu_s=time.process_time() - c0, peak_rss_mb=peak_rss_mb(),
                            worker=_worker_name(), error_kind=kind, error=text, county_dir=job.county_dir)
    dt = time.perf_counter() - t0
    record = {"input_hash": job.input_hash, "county_dir": str(job.county_dir), "time_s": round(dt, 3),
              "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info}
    Path(job.out_dir).mkdir(parents=True, exist_ok=True)
    write_done(job.out_dir, record)
    return CountyResult(name=job.name, status="done", out_dir=job.out_dir, input_hash=job.input_hash,
                        time_s=dt, cpu_s=time.process_time() - c0, peak_rss_mb=peak_rss_mb(),
                        worker=_worker_name(), county_dir=job.county_dir, info=info)


def _is_netplan_error(exc: BaseException) -> bool:
    from netplan.errors import NetplanError

    return isinstance(exc, NetplanError)


def is_done(job: CountyJob) -> bool:
    """True when the job's run folder records a completed run with the same input hash."""
    rec = read_done(job.out_dir)
    return rec is not None and rec.get("input_hash") == job.input_hash


def start_client(scheduler: str | None = None, *, workers: int | None = None,
                 memory_limit: str | float | None = "auto",
                 connect_timeout_s: float = 20.0) -> tuple[Any, Any]:
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster on 127.0.0.1.

    The LocalCluster has ``workers`` worker processes (default: CPU count) with one thread each
    and no dashboard. Returns ``(client, cluster)``; ``cluster`` is None for an existing one.
    ``connect_timeout_s`` bounds the wait for an existing scheduler.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{connect_timeout_s}s"), None
        except (OSError, TimeoutError) as exc:
            msg = f"cannot reach the Dask scheduler at {scheduler}: {exc}"
            raise InputError(msg, field="--scheduler") from None
    n = workers or os.cpu_count() or 1
    # no dashboard; the scheduler's and workers' HTTP endpoints listen on loopback only
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, memory_limit=memory_limit or 0,
                           scheduler_kwargs={"dashboard": False,
                                             "dashboard_address": "127.0.0.1:0"},
                           worker_dashboard_address="127.0.0.1:0")
    return Client(cluster), cluster


def run_batch(region_dir: str | Path, scenario_path: str | Path, out_dir: str | Path, *,
              scheduler: str | None = None, workers: int | None = None, client: Any = None,
              maps: bool = True, force: bool = False, only: Sequence[str] | None = None,
              task: Callable[..., dict[str, Any]] = plan_county,
              on_result: Callable[[CountyResult, int, int], None] | None = None) -> BatchResult:
    """Plan every county of ``region_dir`` on Dask; return what became of each.

    Parameters
    ----------
    region_dir
        Folder with one county folder (holding ``county.toml``) per county.
    scenario_path
        Scenario TOML; its ``county`` key is replaced by each county folder.
    out_dir
        Region output folder; county run folders go to ``out_dir/counties/<county>/``.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:port``); None = a LocalCluster.
    workers
        Worker processes of the LocalCluster (default: CPU count); ignored with ``scheduler``.
    client
        An already connected ``distributed.Client`` to use (takes precedence; not closed).
    maps
        Write each county's HTML maps.
    force
        Re-plan counties even when a run with the same input hash exists.
    only
        Plan only these county folder names.
    task
        The per-county function ``task(job, scenario_path, maps=...) -> dict`` (default
        :func:`plan_county`; tests pass small functions).
    on_result
        Called as ``on_result(result, n_finished, n_total)`` for every county as it finishes
        (skipped ones first).

    Returns
    -------
    BatchResult
        Per county: status, time, worker peak memory and error.
    """
    t0 = time.perf_counter()
    scenario_path = Path(scenario_path).resolve()
    if not scenario_path.is_file():
        msg = "scenario file not found"
        raise InputError(msg, file=str(scenario_path))
    jobs = make_jobs(region_dir, scenario_path, out_dir, salt=f"maps={maps}", only=only)
    results: dict[str, CountyResult] = {}
    total = len(jobs)
    todo = []
    for job in jobs:
        if not force and is_done(job):
            results[job.name] = CountyResult(name=job.name, status="skipped", out_dir=job.out_dir,
                                             input_hash=job.input_hash, county_dir=job.county_dir,
                                             info=read_done(job.out_dir) or {})
            if on_result:
                on_result(results[job.name], len(results), total)
        else:
            todo.append(job)
    n_workers, where = 0, "none"
    if todo:
        from distributed import as_completed

        own = client is None
        cluster = None
        if own:
            client, cluster = start_client(scheduler, workers=workers)
        try:
            n_workers = len(client.scheduler_info().get("workers", {}))
            where = str(client.scheduler.address)
            futures = {}
            for job in todo:
                fut = client.submit(_run_task, task, job, (scenario_path,), {"maps": maps},
                                    key=f"plan-{job.name}-{job.input_hash[:12]}", pure=False,
                                    retries=0)
                futures[fut] = job
            for fut in as_completed(list(futures)):
                job = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # the worker died (memory, segfault) or was lost
                    res = CountyResult(name=job.name, status="failed", out_dir=job.out_dir,
                                       input_hash=job.input_hash, error_kind=type(exc).__name__,
                                       error=f"worker lost while planning: {exc}",
                                       county_dir=job.county_dir)
                results[job.name] = res
                if on_result:
                    on_result(res, len(results), total)
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    ordered = tuple(results[j.name] for j in jobs)
    return BatchResult(counties=ordered, out_dir=Path(out_dir), wall_time_s=time.perf_counter() - t0,
                       n_workers=n_workers, scheduler=where)
