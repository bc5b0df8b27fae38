"""On-disk cache of cost matrices, keyed by the road file's hash, the query and the point sets.

Default folder ``.netplan_cache/`` in the working directory; the environment variable
``NETPLAN_CACHE`` names another folder, or disables the cache with ``0``/``off``/``none``/``false``/"".
Writes are atomic (a temporary file in the same folder, then rename), so a killed run never
leaves a half-written matrix behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ENGINE_VERSION = "roads-2"  # bump when results for the same inputs change
_OFF = {"", "0", "off", "none", "false", "no"}


def default_cache_dir() -> Path | None:
    """The cache folder from ``NETPLAN_CACHE`` (None = disabled), else ``./.netplan_cache``."""
    env = os.environ.get("NETPLAN_CACHE")
    if env is None:
        return Path.cwd() / ".netplan_cache"
    if env.strip().lower() in _OFF:
        return None
    return Path(env)


def file_sha256(*paths: Path) -> str:
    """sha256 of the bytes of one or more files (e.g. a shapefile's .shp + .dbf), in order."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def matrix_key(source_hash: str, params: dict, o_lonlat: NDArray, d_lonlat: NDArray) -> str:
    """Cache key: road source hash + query parameters + point coordinates rounded to 1e-6°."""
    h = hashlib.sha256()
    h.update(ENGINE_VERSION.encode())
    h.update(source_hash.encode())
    h.update(repr(sorted(params.items())).encode())
    for arr in (o_lonlat, d_lonlat):
        a = np.round(np.asarray(arr, dtype=float), 6)
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _warn_unwritable(folder: Path, exc: OSError) -> None:
    """A cache that cannot be written is not an error: warn and carry on without it."""
    import warnings

    warnings.warn(f"netplan cache folder {folder} is not writable ({exc}); results are not cached. "
                  "Set NETPLAN_CACHE to another folder or to 'off'.", stacklevel=3)


def load(folder: Path | None, key: str) -> NDArray[np.float64] | None:
    """The cached matrix for ``key`` or None (missing, disabled, or unreadable)."""
    if folder is None:
        return None
    path = folder / f"{key}.npy"
    if not path.exists():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def _atomic_write(folder: Path | None, name: str, key: str, write) -> Path | None:
    """Write ``<folder>/<name>`` through a temporary file and a rename (None when disabled or the
    folder cannot be written, which only warns)."""
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        _warn_unwritable(folder, exc)
        return None
    path = folder / name
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(folder: Path | None, key: str, arr: NDArray[np.float64]) -> Path | None:
    """Write ``arr`` atomically as ``<folder>/<key>.npy``; returns the path (None when disabled)."""
    return _atomic_write(folder, f"{key}.npy", key,
                         lambda fh: np.save(fh, arr, allow_pickle=False))


def save_arrays(folder: Path | None, key: str, arrays: dict[str, NDArray]) -> Path | None:
    """Write a dict of arrays atomically as ``<folder>/<key>.npz`` (None when disabled)."""
    return _atomic_write(folder, f"{key}.npz", key, lambda fh: np.savez(fh, **arrays))


def load_arrays(folder: Path | None, key: str) -> dict[str, NDArray] | None:
    """The arrays saved under ``key`` or None."""
    if folder is None:
        return None
    path = folder / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None
