"""Size of a planning run, estimated from the table sizes before anything heavy is done.

The memory that grows fastest is the distance matrices: demands (villages + farms) × candidate
sites (villages + township seats + existing sites), and candidates × candidates, in road metres and
seconds (float64), plus the copies the siting model and the indicators make. A county has a few
hundred villages (Pingyu ≈ 220, domain.md); a table of a million rows is a province, or a file
that went wrong, and would need terabytes. :func:`check_size` turns an estimate beyond the
machine's memory into an error that says what to do, before a table is parsed row by row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netplan.errors import Problem

#: float64 matrices held at once per demand × candidate pair and candidate pair: road metres,
#: seconds, and about two working copies in siting and evaluation (E: engineering estimate from the
#: planner's matrices; the exact count varies by stage, the order of magnitude is what matters)
MATRICES_HELD = 4
#: share of the available memory the estimate may take before it is refused / warned about
#: (E: the rest is the solver, GeoDataFrames and the operating system)
ERROR_SHARE, WARN_SHARE = 0.6, 0.2
#: demand × candidate pairs per stream above which the siting model is large enough that a plan
#: takes long (E: HiGHS/SCIP on the three-tier model slow down markedly beyond ~10 M pairs)
WARN_PAIRS = 10_000_000
_CHUNK = 1 << 22


@dataclass(frozen=True)
class SizeEstimate:
    """What a run on tables of these sizes needs (upper bounds: radii trim the model)."""

    demands: int
    candidates: int
    matrix_bytes: int
    pairs: int

    def describe(self) -> str:
        """One line: demands, candidates, matrix memory."""
        return (f"{self.demands:,} demand points × {self.candidates:,} candidate sites: distance "
                f"matrices ≈ {_fmt_bytes(self.matrix_bytes)}, {self.pairs:,} assignment pairs per stream")


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def estimate(villages: int, farms: int = 0, sites: int = 0, townships: int = 0) -> SizeEstimate:
    """Estimate the run's size from the row counts of the county's tables."""
    d = max(villages, 0) + max(farms, 0)
    c = max(villages, 0) + max(townships, 0) + max(sites, 0)
    cells = d * c + c * c
    return SizeEstimate(demands=d, candidates=c, matrix_bytes=8 * MATRICES_HELD * cells, pairs=d * c)


def available_memory() -> int:
    """Bytes of memory available to a run: ``NETPLAN_MEMORY_BYTES`` if set, else the kernel's
    MemAvailable (Linux), else the physical memory."""
    env = os.environ.get("NETPLAN_MEMORY_BYTES", "").strip()
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def count_lines(path: Path) -> int | None:
    """Data lines of a CSV/TXT file (newlines, header excluded), counted on the bytes without
    parsing, or of an XLSX sheet (the first sheet's stated dimension, without reading its cells);
    None for other formats or an unreadable file. An upper bound on the rows."""
    if not path.is_file():
        return None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if path.suffix.lower() not in (".csv", ".txt"):
        return None
    n, last = 0, b"\n"
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                n += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return None
    if last != b"\n":
        n += 1
    return max(n - 1, 0)


def _xlsx_rows(path: Path) -> int | None:
    """Rows below the header of the first sheet, from its dimension record (read-only mode)."""
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            n = wb.worksheets[0].max_row if wb.worksheets else None
        finally:
            wb.close()
    except Exception:  # a damaged workbook: the reader reports it
        return None
    return max(int(n) - 1, 0) if n else None


def check_size(est: SizeEstimate, file: str, problems: list[Problem], *,
               memory: int | None = None) -> bool:
    """Append an error when ``est`` is beyond the machine's reach (with what to do), a warning
    when it is large, a note with the estimate otherwise. Returns False on the error."""
    mem = available_memory() if memory is None else memory
    advice = ("split the region into counties and plan them with `netplan batch`, use coarser "
              "candidates (fewer villages as candidate sites: aggregate villages, or list sites), "
              "or check that the file holds one county's rows")
    if est.matrix_bytes > ERROR_SHARE * mem:
        problems.append(Problem(file, None, None, f"too large to plan on this machine: "
                                f"{est.describe()}, but {_fmt_bytes(mem)} of memory is available; "
                                + advice))
        return False
    if est.matrix_bytes > WARN_SHARE * mem or est.pairs > WARN_PAIRS:
        problems.append(Problem(file, None, None, f"a large run: {est.describe()} "
                                f"({_fmt_bytes(mem)} available); planning may take long — "
                                + advice, "warning"))
    else:
        problems.append(Problem(file, None, None, f"size: {est.describe()}", "note"))
    return True
