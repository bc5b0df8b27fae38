"""Where netplan's own data files live (streams, coefficients, speeds, scenarios, the demo county)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The data/ folder: the repository's in a source checkout, the packaged copy in a wheel."""
    repo = _PKG.parent / "data"
    if (repo / "streams.toml").exists():
        return repo
    return _PKG / "_data"


def data_file(*parts: str) -> Path:
    """Path of a file under data/."""
    return data_dir().joinpath(*parts)
