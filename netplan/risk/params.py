"""The uncertainty file (data/uncertainty.toml): which numbers under a plan are uncertain, their
ranges and sources; drawing them per sample and applying a draw to the coefficients and scenario.

Keys are paths: ``coefficients.<path in data/coefficients.toml>`` (the value after the scenario's
``[coefficients]`` overrides; an array of tables is indexed from 0, ``film.mulch.1.share``) or ``scenario.streams.<stream>.<field>`` with field ``capture_rate``,
``baseline_use_share`` or ``<tier>.rate_cny_per_tkm``. A key that does not resolve is an error
naming it. Distributions: triangular (mode = the nominal value), uniform, normal (clipped).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from netplan._paths import data_file
from netplan.errors import InputError, Problem
from netplan.model import TIERS
from netplan.scenario import Scenario
from netplan.streams import load_streams, read_toml

DISTS = ("triangular", "uniform", "normal")
TAGS = ("A", "B", "C", "E")
STREAM_FIELDS = ("capture_rate", "baseline_use_share")
TIER_FIELDS = ("rate_cny_per_tkm",)
_FIELDS = {"dist", "low", "high", "rel_low", "rel_high", "sd", "rel_sd", "min", "max", "tag", "source"}


@dataclass(frozen=True)
class Param:
    """One uncertain number, resolved against a scenario.

    Attributes
    ----------
    key
        Its path (``coefficients.straw.crops.wheat.collectable``).
    dist
        "triangular", "uniform" or "normal".
    nominal
        The value the plan was made with (units of the number itself).
    low, high
        Bounds of a triangular or uniform draw (absolute).
    sd
        Standard deviation of a normal draw (absolute).
    clip
        (min, max) every draw is clipped to.
    tag, source
        Confidence tag of the range and where it comes from.
    """

    key: str
    dist: str
    nominal: float
    low: float
    high: float
    sd: float
    clip: tuple[float, float]
    tag: str
    source: str

    def draw(self, rng: np.random.Generator) -> float:
        """One value (one random number from ``rng``)."""
        u = float(rng.random())
        return self.ppf(u)

    def ppf(self, q: float) -> float:
        """Quantile ``q`` (0-1) of the distribution, clipped."""
        if self.dist == "uniform":
            v = self.low + q * (self.high - self.low)
        elif self.dist == "triangular":
            a, b, c = self.low, self.high, self.nominal
            if b <= a:
                v = a
            elif q < (c - a) / (b - a):
                v = a + math.sqrt(q * (b - a) * (c - a))
            else:
                v = b - math.sqrt((1 - q) * (b - a) * (b - c))
        else:
            qq = min(max(q, 1e-12), 1 - 1e-12)
            v = NormalDist(self.nominal, self.sd).inv_cdf(qq) if self.sd > 0 else self.nominal
        return float(min(max(v, self.clip[0]), self.clip[1]))


def _step(node: Any, part: str) -> Any:
    """One step down a TOML tree: a table key, or an index into an array of tables ("mulch.0")."""
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _lookup(tree: Mapping[str, Any], parts: Sequence[str]) -> Any:
    node: Any = tree
    for p in parts:
        node = _step(node, p)
        if node is None:
            return None
    return node


def _scenario_value(scenario: Scenario, parts: Sequence[str]) -> tuple[float | None, str | None]:
    """Nominal of a ``scenario.streams...`` key; (None, reason) when it does not resolve."""
    known = load_streams()
    if len(parts) < 3 or parts[0] != "streams":
        return None, "expected scenario.streams.<stream>.<field>"
    sid = parts[1]
    if sid not in known:
        return None, f"unknown stream '{sid}' (known: {', '.join(known)})"
    rest = parts[2:]
    ok = (len(rest) == 1 and rest[0] in STREAM_FIELDS) or (
        len(rest) == 2 and rest[0] in TIERS and rest[1] in TIER_FIELDS)
    if not ok:
        allowed = ", ".join([*STREAM_FIELDS, *(f"<tier>.{f}" for f in TIER_FIELDS)])
        return None, f"unknown or unsupported field '{'.'.join(rest)}' (supported: {allowed})"
    sp = scenario.streams.get(sid)
    if sp is None:  # a known stream this scenario does not plan: nothing to draw
        return math.nan, None
    if len(rest) == 1:
        return float(getattr(sp, rest[0])), None
    return float(getattr(sp.tiers[rest[0]], rest[1])), None


def _resolve(key: str, spec: Any, coef: Mapping[str, Any], scenario: Scenario, file: str,
             problems: list[Problem]) -> Param | None:
    def err(msg: str) -> None:
        problems.append(Problem(file, None, key, msg))

    if not isinstance(spec, Mapping):
        err("expected a table (dist, low/high or sd, tag, source)")
        return None
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        err(f"unknown field(s) {', '.join(unknown)} (expected: {', '.join(sorted(_FIELDS))})")
    head, _, rest = key.partition(".")
    parts = rest.split(".") if rest else []
    if head == "coefficients":
        nominal = _lookup(coef, parts)
        if isinstance(nominal, bool) or not isinstance(nominal, int | float):
            err("no such number in data/coefficients.toml (after the scenario's overrides): "
                "the key was renamed or removed — update data/uncertainty.toml")
            return None
        nominal = float(nominal)
    elif head == "scenario":
        nominal, why = _scenario_value(scenario, parts)
        if why is not None:
            err(why)
            return None
    else:
        err("key must start with 'coefficients.' or 'scenario.'")
        return None
    dist = spec.get("dist")
    if dist not in DISTS:
        err(f"dist must be one of {', '.join(DISTS)}, got {dist!r}")
        return None
    tag, source = spec.get("tag"), spec.get("source")
    if tag not in TAGS:
        err(f"tag must be one of {', '.join(TAGS)} (domain.md section 0), got {tag!r}")
    if not isinstance(source, str) or not source.strip():
        err("source is required (domain.md section and what it says)")
    nums = {k: spec[k] for k in ("low", "high", "rel_low", "rel_high", "sd", "rel_sd", "min", "max")
            if k in spec}
    bad = [k for k, v in nums.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        err(f"{', '.join(bad)} must be numbers")
        return None
    lo_c, hi_c = float(nums.get("min", 0.0)), float(nums.get("max", math.inf))
    if math.isnan(nominal):  # stream not in this scenario: keep the entry, draw nothing
        return Param(key, dist, nominal, nominal, nominal, 0.0, (lo_c, hi_c), str(tag), str(source))
    low = high = nominal
    sd = 0.0
    if dist == "normal":
        if ("sd" in nums) == ("rel_sd" in nums):
            err("a normal range needs exactly one of sd, rel_sd")
            return None
        sd = float(nums["sd"]) if "sd" in nums else abs(nominal) * float(nums["rel_sd"])
        if sd < 0:
            err("sd must be >= 0")
    else:
        if ("low" in nums) == ("rel_low" in nums) or ("high" in nums) == ("rel_high" in nums):
            err("give low/high (absolute) or rel_low/rel_high (relative), one of each pair")
            return None
        low = float(nums["low"]) if "low" in nums else nominal * (1 + float(nums["rel_low"]))
        high = float(nums["high"]) if "high" in nums else nominal * (1 + float(nums["rel_high"]))
        if not low <= nominal <= high:
            err(f"the nominal value {nominal:g} (coefficients.toml or the scenario) is outside "
                f"[{low:g}, {high:g}]: widen the range or give it relative (rel_low/rel_high)")
            return None
    return Param(key, str(dist), nominal, low, high, sd, (lo_c, hi_c), str(tag), str(source))


def load_uncertainty(scenario: Scenario, coefficients: Mapping[str, Any],
                     path: str | Path | None = None) -> list[Param]:
    """Read and check the uncertainty file (default data/uncertainty.toml) against a scenario.

    Returns the parameters in file order; entries for streams the scenario does not plan are
    dropped. Raises :class:`InputError` listing every bad key (unknown path, missing source, a
    range that does not contain the nominal value).
    """
    p = Path(path) if path else data_file("uncertainty.toml")
    raw = read_toml(p, missing="uncertainty file not found")
    problems: list[Problem] = []
    out = []
    for key, spec in raw.items():
        prm = _resolve(str(key), spec, coefficients, scenario, str(p), problems)
        if prm is not None and not math.isnan(prm.nominal):
            out.append(prm)
    if problems:
        raise InputError(problems=problems)
    return out


def draw_samples(params: Sequence[Param], seeds: Sequence[np.random.SeedSequence]) -> np.ndarray:
    """One row of drawn values per seed (samples × params); each sample uses only its own seed."""
    out = np.empty((len(seeds), len(params)))
    for i, ss in enumerate(seeds):
        rng = np.random.default_rng(ss)
        out[i] = [p.draw(rng) for p in params]
    return out


def apply(params: Sequence[Param], values: Sequence[float], coefficients: Mapping[str, Any],
          scenario: Scenario) -> tuple[dict[str, Any], Scenario]:
    """Coefficients and scenario with ``values`` (one per param) put in place of the nominals."""
    coef = copy.deepcopy(dict(coefficients))
    streams = dict(scenario.streams)
    for prm, v in zip(params, values, strict=True):
        head, _, rest = prm.key.partition(".")
        parts = rest.split(".")
        if head == "coefficients":
            node = _lookup(coef, parts[:-1])
            node[parts[-1]] = float(v)
            continue
        sp = streams[parts[1]]
        if len(parts) == 3:
            streams[parts[1]] = replace(sp, **{parts[2]: float(v)})
        else:
            tiers = dict(sp.tiers)
            tiers[parts[2]] = replace(tiers[parts[2]], **{parts[3]: float(v)})
            streams[parts[1]] = replace(sp, tiers=tiers)
    return coef, replace(scenario, streams=streams)
