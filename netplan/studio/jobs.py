"""The studio's background work, each job in a forked child process so that it can be cancelled
and a failure (or a crash) cannot take the server down:

- "Re-optimise around my choices": the siting (:func:`netplan.siting_adapter.site`) with the sites
  the planner changed fixed (``plan --fix``: opened ones forced open through the siting's
  ``force_open``, closed ones ``forbidden``);
- the collection rounds and haulage trips of an evaluated layout (:mod:`netplan.studio.routes`),
  re-planned after each change, a newer change superseding (terminating) the older job;
- the comparison of the layout with the optimal plan (:mod:`netplan.studio.routes`).

The child inherits the prepared model (fork), sends progress lines and then its result (or the
error message) through a pipe.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from netplan.siting_adapter import site
from netplan.studio.model import Geo, Prepared, base_table


@dataclass
class Job:
    """One background job: state (running / done / failed / cancelled), progress lines, result."""

    id: int
    key: str = ""
    state: str = "running"
    progress: list[str] = field(default_factory=list)
    error: str | None = None
    result: Any = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    proc: Any = None

    def status(self) -> dict[str, Any]:
        """The job as the API reports it (without its result)."""
        end = self.ended if self.ended is not None else time.monotonic()
        return {"id": self.id, "key": self.key, "state": self.state, "progress": self.progress[-20:],
                "error": self.error, "elapsed_s": round(end - self.started, 1)}


def _child(fn: Callable[..., Any], args: tuple, conn: Any) -> None:
    try:
        result = fn(*args, progress=lambda m: conn.send(("progress", str(m))))
        conn.send(("done", result))
    except BaseException as exc:  # reported to the page; the server stays up
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        conn.send(("failed", f"{type(exc).__name__}: {first}"))
    finally:
        conn.close()


class Runner:
    """At most one job of a kind at a time, in a forked child; start, status, cancel.

    Parameters
    ----------
    what
        The job's name in messages ("an optimisation").
    replace
        Starting a job while one runs terminates the running one (else RuntimeError).
    """

    def __init__(self, what: str, *, replace: bool = False) -> None:
        self.what = what
        self.replace = replace
        self.job: Job | None = None
        self._lock = threading.Lock()
        self._next = 1

    def start(self, fn: Callable[..., Any], args: tuple, on_done: Callable[[Any], None] | None = None,
              *, key: str = "") -> Job:
        """Run ``fn(*args, progress=...)`` in a child; ``on_done(result)`` runs in the server."""
        with self._lock:
            old = self.job
            if old is not None and old.state == "running":
                if not self.replace:
                    raise RuntimeError(f"{self.what} is already running (cancel it first)")
                old.state = "cancelled"
                old.proc.terminate()
            job = Job(id=self._next, key=key)
            self._next += 1
            ctx = mp.get_context("fork")
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(fn, args, child), daemon=True)
            proc.start()
            child.close()
            job.proc = proc
            self.job = job
        threading.Thread(target=self._watch, args=(job, parent, on_done), daemon=True).start()
        return job

    def _watch(self, job: Job, conn: Any, on_done: Callable[[Any], None] | None) -> None:
        try:
            while True:
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    if job.state == "running":
                        job.state, job.error = "failed", f"the process of {self.what} ended without a result"
                    break
                if kind == "progress":
                    job.progress.append(payload)
                    continue
                if job.state != "running":
                    break
                if kind == "done":
                    try:
                        if on_done is not None:
                            on_done(payload)
                        job.result, job.state = payload, "done"
                    except Exception as exc:  # e.g. a new layout that cannot be scored: keep the old
                        job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
                else:
                    job.state, job.error = "failed", str(payload)
                break
        finally:
            job.ended = time.monotonic()
            conn.close()
            job.proc.join(timeout=5)

    def cancel(self) -> Job | None:
        """Stop the running job (its process is terminated); nothing it would have changed changes."""
        with self._lock:
            job = self.job
            if job is not None and job.state == "running":
                job.state = "cancelled"
                job.proc.terminate()
        return job


def optimise_layout(prep: Prepared, geo: Geo, fix: pd.DataFrame, *,
                    progress: Callable[[str], None]) -> pd.DataFrame:
    """The siting with ``fix`` (a ``plan --fix`` table) on the prepared matrices; the new layout table."""
    layout = site(prep.scenario, prep.county, prep.supply, geo.cands, geo.mats, progress=progress,
                  fix=fix)
    return pd.DataFrame(base_table(prep, layout, geo)).drop(columns="geometry")


class Optimiser(Runner):
    """"Re-optimise around my choices": at most one at a time."""

    def __init__(self, prep: Prepared) -> None:
        super().__init__("an optimisation")
        self.prep = prep

    def start_fix(self, fix: pd.DataFrame, on_done: Callable[[Any], None]) -> Job:
        """Start siting with ``fix`` (a layout table); ``on_done(table)`` gets the new layout."""
        return self.start(optimise_layout, (self.prep, self.prep.geo, fix), on_done)
