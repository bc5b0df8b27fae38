"""Write a run's outputs as a whole: everything goes to a staging folder beside the target, and
the staging folder replaces the target in one rename (the previous run is kept as a backup until the
swap succeeds, then removed), so an output folder is all-old or all-new and never mixes files of two
runs. :func:`check_out` refuses, before any computation, an output path that is a file, not
writable, inside (or holding) an input folder, or a folder of other files. CSV cells that a
spreadsheet would run as a formula are escaped (:func:`escape_cell`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from netplan.errors import InputError, NetplanError

LAYER_ORDER = ("villages", "farms", "sites", "assignments", "routes", "boundary", "townships")
#: file written into every output folder netplan creates: such a folder may be replaced by a new run
MARKER = ".netplan-output"
#: files that mark an output folder written before the marker existed
KNOWN_OUTPUTS = ("kpis.csv", "plan.gpkg", "run.json", "compare.csv", "region_kpis.csv",
                 "batch_status.csv", "region.gpkg")


def resolve_path(path: str | Path, what: str = "output folder") -> Path:
    """``path`` made absolute with symlinks resolved; a symlink loop is an InputError."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # "Symlink loop" (RuntimeError before Python 3.13)
        msg = f"cannot resolve the {what}: {exc} (a symbolic link loop?)"
        raise InputError(msg, file=str(path)) from None


def _is_output(folder: Path, keep: Iterable[str]) -> bool:
    entries = [e for e in folder.iterdir() if e.name not in set(keep)]
    return not entries or (folder / MARKER).exists() or any((folder / n).exists() for n in KNOWN_OUTPUTS)


def check_out(out_dir: str | Path, *, inputs: Iterable[str | Path] = (), keep: Iterable[str] = ()
              ) -> Path:
    """Check an output folder before any computation; returns it resolved.

    Parameters
    ----------
    out_dir
        Where the run will be written (created if missing).
    inputs
        Input files or folders (county folder, scenario file, run folders being compared): the
        output may be neither one of them, nor inside one, nor hold one.
    keep
        Entries of an existing output folder that belong to it but are not replaced (a batch's
        ``counties`` folder).

    Raises
    ------
    InputError
        The path is a file, lies in or holds an input folder, is a folder of files that are not
        netplan outputs, or cannot be written (a file on the way, no permission, read-only).
    """
    out = resolve_path(out_dir)
    shown = str(out_dir)
    for inp in inputs:
        r = resolve_path(inp, "input path")
        folder = r  # an input file: the output may not be it, nor hold it
        if r.is_dir() and (out == r or r in out.parents):
            msg = (f"the output folder is, or is inside, the input folder {folder}: the outputs "
                   "would overwrite or mix with the inputs; choose another --out")
            raise InputError(msg, file=shown, field="--out")
        if out == r or out in folder.parents:
            msg = (f"the output folder is or holds the input {folder}: replacing it would "
                   "delete the inputs; choose another --out")
            raise InputError(msg, file=shown, field="--out")
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", file=shown, field="--out")
    if out.is_dir() and not _is_output(out, keep):
        msg = ("the output folder holds files that are not netplan outputs; a run replaces the "
               "whole folder, so give a new or empty folder (or an earlier run's)")
        raise InputError(msg, file=shown, field="--out")
    _check_writable(out, shown)
    return out


def _check_writable(out: Path, shown: str) -> None:
    """Create and remove a probe folder where the staging folder will go (beside ``out``)."""
    anc = out.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        msg = f"cannot create the output folder: {anc} is a file"
        raise InputError(msg, file=shown, field="--out")
    try:
        probe = tempfile.mkdtemp(prefix=".netplan-probe-", dir=anc)
        os.rmdir(probe)
    except OSError as exc:
        msg = f"the output folder cannot be written ({anc}: {exc.strerror or exc})"
        raise InputError(msg, file=shown, field="--out") from None


@contextmanager
def staging(out_dir: Path, *, keep: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out_dir``; on success it replaces ``out_dir`` whole.

    The previous ``out_dir`` (a netplan output, see :func:`check_out`) is renamed to a backup,
    the staging folder renamed into its place, and only then the backup removed; a failed swap
    puts the backup back. ``keep`` entries of the old folder (a batch's ``counties``) are moved
    into the new one. On any error in the ``with`` block the staging folder is removed and
    ``out_dir`` is untouched.
    """
    keep = tuple(keep)
    _restore_backup(resolve_path(out_dir))
    out = check_out(out_dir, keep=keep)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    except OSError as exc:
        msg = f"cannot create the output folder: {exc}"
        raise InputError(msg, file=str(out_dir), field="--out") from None
    try:
        yield tmp
        (tmp / MARKER).write_text("written by netplan; the next run into this folder replaces it\n",
                                  encoding="utf-8")
        _swap(tmp, out, keep)
    except OSError as exc:
        msg = f"cannot write the outputs to {out_dir}: {exc}; {out_dir} was left as it was"
        raise NetplanError(msg) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _restore_backup(out: Path) -> None:
    """A run killed between the two renames of :func:`_swap` leaves no ``out`` but its backup:
    put the backup (the previous run, whole) back before anything else."""
    if out.exists() or out.is_symlink() or not out.parent.is_dir():
        return
    backups = sorted(out.parent.glob(f".{out.name}.backup-*"), key=lambda b: b.stat().st_mtime)
    if backups:
        os.rename(backups[-1], out)


def _swap(tmp: Path, out: Path, keep: tuple[str, ...]) -> None:
    """Replace ``out`` by ``tmp`` with renames; restore ``out`` if any step fails."""
    if not out.exists():
        os.rename(tmp, out)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.backup-", dir=out.parent))
    os.rmdir(backup)  # reserve a unique name; rename needs it absent
    os.rename(out, backup)
    moved: list[str] = []
    try:
        for name in keep:
            if (backup / name).exists() and not (tmp / name).exists():
                os.rename(backup / name, tmp / name)
                moved.append(name)
        os.rename(tmp, out)
    except BaseException:
        for name in moved:
            if (tmp / name).exists():
                os.rename(tmp / name, backup / name)
        if not out.exists():
            os.rename(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def write_gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write the layers (in LAYER_ORDER) to one GeoPackage."""
    path = Path(path)
    if path.exists():
        path.unlink()
    for name in LAYER_ORDER:
        if name not in layers:
            continue
        gdf = layers[name]
        if len(gdf) == 0:
            continue
        gdf = gdf.copy()
        for c in gdf.columns:
            if c != gdf.geometry.name and gdf[c].dtype == object:
                gdf[c] = gdf[c].where(gdf[c].notna(), None)
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


#: first characters that make a spreadsheet run a cell as a formula (OWASP CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def escape_cell(value: object) -> object:
    """A text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return, prefixed
    with ``'`` so that Excel/LibreOffice show it as text instead of running it as a formula
    (OWASP CSV injection); numbers, and text that is just a signed number ("-5"), stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :func:`escape_cell` applied to its text (object/string) columns and headers;
    numeric columns are untouched (negative numbers stay numbers)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].map(escape_cell)
    out.columns = [escape_cell(c) for c in out.columns]
    return out


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    """CSV in UTF-8 with a BOM so that Excel shows Chinese text; formula-like text cells escaped
    (:func:`escape_cell`)."""
    escape_frame(df).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_outputs(out_dir: Path, layers: Mapping[str, gpd.GeoDataFrame], kpis: pd.DataFrame,
                  extra: Callable[[Path], None] | None = None) -> list[Path]:
    """Write plan.gpkg, kpis.csv, sites.csv, routes.csv (and whatever ``extra`` writes, e.g. maps)
    into ``out_dir`` atomically. Returns the final paths."""
    with staging(Path(out_dir)) as tmp:
        write_gpkg(tmp / "plan.gpkg", layers)
        write_csv(tmp / "kpis.csv", kpis)
        for name in ("sites", "routes"):
            if name in layers:
                g = layers[name]
                write_csv(tmp / f"{name}.csv", pd.DataFrame(g.drop(columns=g.geometry.name)))
        if extra is not None:
            extra(tmp)
        names = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
    return [Path(out_dir) / n for n in names]
