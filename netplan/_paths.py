"""Where netplan's own data files live (streams, coefficients, speeds, scenarios, the demo county).

``NETPLAN_DATA`` names an overlay folder: a file there (``streams.toml`` with a sixth stream,
``coefficients.toml`` with its generation rule) is used instead of netplan's own copy, and every
file it lacks comes from netplan's data/.
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The data/ folder: the repository's in a source checkout, the packaged copy in a wheel."""
    repo = _PKG.parent / "data"
    if (repo / "streams.toml").exists():
        return repo
    return _PKG / "_data"


def data_file(*parts: str) -> Path:
    """Path of a file under data/ (the ``NETPLAN_DATA`` overlay's copy when it has one)."""
    overlay = os.environ.get("NETPLAN_DATA")
    if overlay:
        p = Path(overlay).joinpath(*parts)
        if p.exists():
            return p
    return data_dir().joinpath(*parts)
