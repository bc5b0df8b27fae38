"""Streams and tiers as data (data/streams.toml) and generation coefficients (data/coefficients.toml)."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from netplan._paths import data_file
from netplan.errors import InputError


@dataclass(frozen=True)
class Stream:
    """One waste stream: its names, where its demands come from and its own tier names."""

    id: str
    name_zh: str
    name_en: str
    demand_sources: tuple[str, ...]
    seasonal: bool
    color: str
    tier_names_zh: Mapping[str, str]
    tier_names_en: Mapping[str, str]

    @property
    def label(self) -> str:
        """Bilingual label, e.g. '秸秆 crop straw'."""
        return f"{self.name_zh} {self.name_en}"


def read_toml(path: Path, *, missing: str = "file not found") -> dict[str, Any]:
    """Read a TOML file; a missing or invalid file is an InputError naming it."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        msg = missing
        raise InputError(msg, file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"not valid TOML: {exc}"
        raise InputError(msg, file=str(path)) from exc
    except UnicodeDecodeError as exc:  # a binary file, or not UTF-8 (TOML is UTF-8)
        msg = f"not a UTF-8 text file (byte {exc.start}): save it as UTF-8 TOML"
        raise InputError(msg, file=str(path)) from None
    except OSError as exc:  # a folder, no permission, a link loop
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise InputError(msg, file=str(path)) from None


@lru_cache(maxsize=8)
def _streams_table(path: str) -> dict[str, Any]:
    return read_toml(Path(path))


def load_streams(path: str | Path | None = None) -> dict[str, Stream]:
    """Read the stream definitions (default data/streams.toml), in file order."""
    p = Path(path) if path else data_file("streams.toml")
    raw = _streams_table(str(p))
    out: dict[str, Stream] = {}
    for sid, s in raw.get("streams", {}).items():
        out[sid] = Stream(
            id=sid,
            name_zh=s["name_zh"],
            name_en=s["name_en"],
            demand_sources=tuple(s.get("demand_sources", ["villages"])),
            seasonal=bool(s.get("seasonal", False)),
            color=str(s.get("color", "")),
            tier_names_zh=dict(s.get("tier_names_zh", {})),
            tier_names_en=dict(s.get("tier_names_en", {})),
        )
    return out


def load_tiers(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Tier definitions (name_zh, name_en, level), ordered by level."""
    p = Path(path) if path else data_file("streams.toml")
    raw = _streams_table(str(p))
    tiers = raw.get("tiers", {})
    return dict(sorted(tiers.items(), key=lambda kv: kv[1].get("level", 0)))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_coefficients(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Generation coefficients (default data/coefficients.toml), with a scenario's overrides merged in."""
    p = Path(path) if path else data_file("coefficients.toml")
    raw = read_toml(p)
    return deep_merge(raw, overrides or {})
