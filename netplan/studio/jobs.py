""""Re-optimise around my choices": the siting (:func:`netplan.siting_adapter.site`) with the sites
the planner changed fixed (``plan --fix``: opened ones forced open, closed ones forbidden), run in a
forked child process so that it can be cancelled and a failure cannot take the server down.

The child inherits the prepared model (fork), sends progress lines and then the new layout table
(or the error message) through a pipe.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from netplan.studio.model import Prepared, base_table


@dataclass
class Job:
    """One optimisation: state (running / done / failed / cancelled), progress lines, result table."""

    id: int
    state: str = "running"
    progress: list[str] = field(default_factory=list)
    error: str | None = None
    result: pd.DataFrame | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    proc: Any = None

    def status(self) -> dict[str, Any]:
        """The job as the API reports it."""
        end = self.ended if self.ended is not None else time.monotonic()
        return {"id": self.id, "state": self.state, "progress": self.progress[-20:],
                "error": self.error, "elapsed_s": round(end - self.started, 1)}


def _child(prep: Prepared, fix: pd.DataFrame, conn: Any) -> None:
    from netplan.siting_adapter import site

    try:
        layout = site(prep.scenario, prep.county, prep.supply, prep.cands, prep.mats,
                      progress=lambda m: conn.send(("progress", m)), fix=fix)
        conn.send(("done", pd.DataFrame(base_table(prep, layout)).drop(columns="geometry")))
    except BaseException as exc:  # reported to the page; the server stays up
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        conn.send(("failed", f"{type(exc).__name__}: {first}"))
    finally:
        conn.close()


class Optimiser:
    """At most one optimisation at a time; start, status, cancel."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.job: Job | None = None
        self._lock = threading.Lock()
        self._next = 1

    def start(self, fix: pd.DataFrame, on_done: Any) -> Job:
        """Start siting with ``fix`` (a layout table); ``on_done(table)`` gets the new layout."""
        with self._lock:
            if self.job is not None and self.job.state == "running":
                raise RuntimeError("an optimisation is already running (cancel it first)")
            job = Job(id=self._next)
            self._next += 1
            parent, child = mp.get_context("fork").Pipe(duplex=False)
            proc = mp.get_context("fork").Process(target=_child, args=(self.prep, fix, child),
                                                  daemon=True)
            proc.start()
            child.close()
            job.proc = proc
            self.job = job
        threading.Thread(target=self._watch, args=(job, parent, on_done), daemon=True).start()
        return job

    def _watch(self, job: Job, conn: Any, on_done: Any) -> None:
        try:
            while True:
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    if job.state == "running":
                        job.state, job.error = "failed", "the optimisation process ended without a result"
                    break
                if kind == "progress":
                    job.progress.append(str(payload))
                elif kind == "done":
                    if job.state == "running":
                        try:
                            on_done(payload)
                            job.result, job.state = payload, "done"
                        except Exception as exc:  # the new layout could not be scored: keep the old
                            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
                    break
                else:
                    job.state, job.error = "failed", str(payload)
                    break
        finally:
            job.ended = time.monotonic()
            conn.close()
            job.proc.join(timeout=5)

    def cancel(self) -> Job | None:
        """Stop the running optimisation (its process is terminated); the layout stays as it was."""
        job = self.job
        if job is not None and job.state == "running":
            job.state = "cancelled"
            job.proc.terminate()
        return job
