"""Scenario files (TOML): targets, per stream and tier the radius, capacity, costs and vehicles.

``load_scenario`` validates everything on load and raises one :class:`InputError` listing every
problem (file, key) — unknown keys, unknown streams or tiers, wrong types, out-of-range values.
The format is documented in README.md ("Scenario file format").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netplan._paths import data_file
from netplan.errors import InputError, Problem
from netplan.inputs.numbers import nonfinite_keys
from netplan.model import TIERS
from netplan.streams import load_streams, read_toml

INDICATORS: dict[str, str] = {
    "village_coverage": "share of administrative villages served by an open village point within reach",
    "villages_with_point": "share of administrative villages hosting an open, connected village point",
    "tonnage_coverage": "share of generated tonnage served by an open village point within reach",
    "recovery_rate": "recovered / generated tonnage that the network's reach and capacity allow",
    "utilisation_rate": "(used without the network + network-served) / official total (straw, manure)",
    "offsite_use_rate": "(used off the field without the network + network-served) / total (straw 离田利用率)",
    "township_coverage": "share of farming townships with an open, connected village point",
    "sorting_coverage": "share of administrative villages that sort (declared: sorting_villages) and are covered",
}

_TIER_KEYS = {
    "candidates", "radius_m", "capacity_t", "capacity_t_day", "capex_cny", "lifetime_yr", "opex_share",
    "rate_cny_per_tkm", "min_per_township", "max_per_township", "only_farming", "keep_existing",
}
_STREAM_KEYS = {
    "capture_rate", "baseline_use_share", "coverage_on", "coverage_target",
    "unserved_penalty_cny_per_t", "collection_vehicle", "haul_vehicle", "rounds_per_year",
    "enabled", "peak_days", "peak_share", "sorting_villages", "rounds_by_village", *TIERS,
}
_TOP_KEYS = {
    "name", "title", "county", "seed", "time_limit_s", "solver", "roads", "finance", "targets",
    "streams", "sharing", "coefficients", "existing_capex_share", "workday_h", "routing_time_limit_s",
    "columns", "robust", "phases", "unreachable",
}
SOLVERS = ("scip", "highs", "cbc", "cp-sat")
UNREACHABLE = ("stop", "relax")   # coverage beyond reach: stop with the diagnosis, or plan for the reachable
COLUMN_FILES = ("villages", "farms", "sites", "townships", "boundary")


@dataclass(frozen=True)
class TierParams:
    """Parameters of one tier of one stream (units in the names; radius None = unlimited)."""

    candidates: tuple[str, ...]
    radius_m: float | None
    capacity_t: float
    capex_cny: float
    lifetime_yr: float
    opex_share: float
    rate_cny_per_tkm: float
    min_per_township: int | None = None
    max_per_township: int | None = None
    only_farming: bool = True
    keep_existing: bool = False

    def annual_cost_cny(self, discount_rate: float, *, existing: bool = False,
                        existing_capex_share: float = 0.2) -> float:
        """Annualised capital cost (capital recovery factor) plus operating cost, CNY/yr."""
        capex = self.capex_cny * (existing_capex_share if existing else 1.0)
        return capex * crf(discount_rate, self.lifetime_yr) + self.capex_cny * self.opex_share


def crf(rate: float, years: float) -> float:
    """Capital recovery factor: annual payment per CNY of capital over ``years`` at ``rate``."""
    if years <= 0:
        return 0.0
    if rate == 0:
        return 1.0 / years
    return rate * (1 + rate) ** years / ((1 + rate) ** years - 1)


@dataclass(frozen=True)
class PhaseParams:
    """One year of a phased build-out ([[phases]]): its targets and its capital budget (CNY)."""

    year: int
    targets: Mapping[tuple[str, str], float]
    capex_budget_cny: float = math.inf


@dataclass(frozen=True)
class StreamParams:
    """How one stream is planned and scored."""

    id: str
    capture_rate: float
    baseline_use_share: float
    coverage_on: str
    coverage_target: float
    unserved_penalty_cny_per_t: float
    collection_vehicle: str
    haul_vehicle: str
    rounds_per_year: float
    tiers: Mapping[str, TierParams]
    peak_days: float | None = None
    peak_share: float | None = None
    #: villages that sort at source (户分类), declared: a share of the administrative villages (0-1),
    #: a tuple of village ids, or the name of a villages.csv column (1/true/yes/是 = sorts); None = not declared
    sorting_villages: float | tuple[str, ...] | str | None = None
    #: collection rhythm per village: (villages.csv column, {cell value: rounds per year}); an empty
    #: mapping reads the cells as rounds per year; villages not matched keep ``rounds_per_year``
    rounds_by_village: tuple[str, Mapping[str, float]] | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario."""

    name: str
    title: str
    path: Path
    county_dir: Path
    seed: int
    time_limit_s: float
    routing_time_limit_s: float
    solver: str
    roads_file: Path | None
    crow_fly: bool
    max_snap_m: float
    circuity: float
    discount_rate: float
    existing_capex_share: float
    workday_h: float
    targets: Mapping[tuple[str, str], float]
    streams: Mapping[str, StreamParams]
    sharing: Mapping[str, tuple[tuple[str, ...], ...]]
    coefficients: Mapping[str, Any] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    robust: float | None = None  # plan so every target is met in this share of draws (docs/risk.md)
    phases: tuple[PhaseParams, ...] = ()  # [[phases]]: a phased build-out (README, issue 21)
    horizon_year: int | None = None       # [finance] horizon_year: last year a phased plan counts
    #: a coverage target beyond what the candidates can reach: "stop" (no plan, the villages named),
    #: "relax" (plan for what lies within reach, the shortfall named: netplan.siting.relax); None = not
    #: set in the file: "stop" for one county, "relax" in a region batch
    unreachable: str | None = None

    @property
    def stream_ids(self) -> tuple[str, ...]:
        """Enabled streams, in file order."""
        return tuple(self.streams)


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def err(self, key: str, msg: str) -> None:
        self.problems.append(Problem(self.file, None, key, msg))

    def number(self, d: Mapping, key: str, path: str, *, lo: float | None = None,
               hi: float | None = None, default: Any = ..., allow_none: bool = False) -> Any:
        if key not in d:
            if default is ...:
                self.err(f"{path}.{key}".lstrip("."), "missing (a number is required)")
                return None
            return default
        v = d[key]
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.err(f"{path}.{key}".lstrip("."), f"expected a number, got {v!r}")
            return None
        if not math.isfinite(v):  # reported once for the whole document by nonfinite_keys
            return None
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            self.err(f"{path}.{key}".lstrip("."), f"{v} is outside {rng}")
            return None
        return float(v)

    def unknown(self, d: Mapping, allowed: set[str], path: str) -> None:
        for k in d:
            if k not in allowed:
                near = ", ".join(sorted(allowed))
                self.err(f"{path}.{k}".lstrip("."), f"unknown key (expected one of: {near})")


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, missing="scenario file not found")


def _tier(c: _Checker, raw: Any, path: str) -> TierParams | None:
    if not isinstance(raw, Mapping):
        c.err(path, "expected a table")
        return None
    c.unknown(raw, _TIER_KEYS, path)
    cands = raw.get("candidates")
    if not isinstance(cands, list) or not cands or not all(isinstance(x, str) for x in cands):
        c.err(f"{path}.candidates", "expected a non-empty list of candidate kinds, e.g. [\"village\"]")
        cands = []
    mins = raw.get("min_per_township")
    maxs = raw.get("max_per_township")
    for k, v in (("min_per_township", mins), ("max_per_township", maxs)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            c.err(f"{path}.{k}", f"expected a whole number >= 0, got {v!r}")
    if isinstance(mins, int) and isinstance(maxs, int) and mins > maxs:
        c.err(f"{path}.min_per_township", f"min {mins} exceeds max {maxs}")
    vals = dict(
        radius_m=c.number(raw, "radius_m", path, lo=0, hi=_MAX_RADIUS_M, default=None,
                          allow_none=True),
        capacity_t=_capacity_t(c, raw, path),
        capex_cny=c.number(raw, "capex_cny", path, lo=0, hi=_MAX_CAPEX_CNY, default=0.0),
        lifetime_yr=c.number(raw, "lifetime_yr", path, lo=0, hi=_MAX_LIFETIME_YR, default=10.0),
        opex_share=c.number(raw, "opex_share", path, lo=0, hi=1, default=0.0),
        rate_cny_per_tkm=c.number(raw, "rate_cny_per_tkm", path, lo=0, hi=_MAX_RATE_CNY_PER_TKM,
                                  default=0.0),
    )
    flags = {k: raw.get(k, d) for k, d in (("only_farming", True), ("keep_existing", False))}
    for k, v in flags.items():
        if not isinstance(v, bool):
            c.err(f"{path}.{k}", f"expected true or false, got {v!r}")
    if any(v is None and k != "radius_m" for k, v in vals.items()):
        return None
    return TierParams(
        candidates=tuple(cands), min_per_township=mins if isinstance(mins, int) else None,
        max_per_township=maxs if isinstance(maxs, int) else None,
        only_farming=flags["only_farming"] is True, keep_existing=flags["keep_existing"] is True,
        **vals,
    )


def _capacity_t(c: _Checker, raw: Mapping[str, Any], path: str) -> float | None:
    """Capacity in t/yr: ``capacity_t``, or ``capacity_t_day`` (t/day, a site working every day: × 365,
    e.g. a transfer station's 150 t/d, CJJ/T 47-2016); not both. Unlimited when neither is given."""
    if "capacity_t_day" not in raw:
        return c.number(raw, "capacity_t", path, lo=0, hi=_MAX_CAPACITY_T, default=float("inf"))
    if "capacity_t" in raw:
        c.err(f"{path}.capacity_t_day", "give capacity_t (t/yr) or capacity_t_day (t/day), not both")
        return None
    per_day = c.number(raw, "capacity_t_day", path, lo=0, hi=_MAX_CAPACITY_T / 365)
    return None if per_day is None else per_day * 365.0


#: upper bounds of scenario values, beyond which a number is a typo rather than a plan (E: engineering
#: estimates): a radius wider than any province (2,000 km), a capacity or capital cost beyond any single
#: site (1e9 t/yr, 1e11 CNY), a lifetime beyond 200 years, a transport rate 1,000x any truck tariff
#: (1e5 CNY/t·km), a penalty beyond 1e7 CNY/t, a time limit beyond 30 days.
_MAX_RADIUS_M, _MAX_CAPACITY_T, _MAX_CAPEX_CNY, _MAX_LIFETIME_YR = 2e6, 1e9, 1e11, 200.0
_MAX_RATE_CNY_PER_TKM, _MAX_PENALTY_CNY_PER_T, _MAX_TIME_S = 1e5, 1e7, 30 * 86400.0


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    NaN and infinity are refused anywhere in the file (TOML allows ``nan`` and ``inf``); numbers
    outside their range, unknown keys, streams, tiers and indicators are reported.

    Raises
    ------
    InputError
        Listing every problem found, each with the file and key.
    """
    p = Path(path).resolve()
    if p.is_dir():
        raise InputError("a folder, not a scenario file (give the .toml file)", file=str(path))
    raw = _read(p)
    c = _Checker(str(path))
    for key in nonfinite_keys(raw):
        c.err(key, "nan or inf is not a value: write the number")
    c.unknown(raw, _TOP_KEYS, "")
    known_streams = load_streams()
    name, county_dir, solver, seed = _header(c, raw, p)
    roads, roads_file, crow = _roads(c, raw, county_dir)
    finance = raw.get("finance", {}) if isinstance(raw.get("finance", {}), Mapping) else {}
    c.unknown(finance, {"discount_rate", "horizon_year"}, "finance")
    streams = _streams(c, raw, known_streams)
    targets = _targets(c, raw, known_streams)
    phases, horizon = _phases(c, raw, known_streams, finance)
    sharing = _sharing(c, raw, known_streams, streams)
    for sid, ind in targets:
        if ind == "sorting_coverage" and sid in streams and streams[sid].sorting_villages is None:
            c.err(f"targets.{sid}.sorting_coverage", f"a declared input: give streams.{sid}.sorting_villages "
                  "(a share 0-1, a list of village ids or a villages.csv column)")
    columns = _columns(c, raw)
    coef = raw.get("coefficients", {})
    if not isinstance(coef, Mapping):
        c.err("coefficients", "expected a table overriding data/coefficients.toml")
        coef = {}
    nums = dict(
        time_limit_s=c.number(raw, "time_limit_s", "", lo=0.1, hi=_MAX_TIME_S, default=60.0),
        routing_time_limit_s=c.number(raw, "routing_time_limit_s", "", lo=0.1, hi=_MAX_TIME_S,
                                      default=2.0),
        max_snap_m=c.number(roads, "max_snap_m", "roads", lo=1, hi=_MAX_RADIUS_M, default=1000.0),
        circuity=c.number(roads, "circuity", "roads", lo=1, hi=5, default=1.3),
        discount_rate=c.number(finance, "discount_rate", "finance", lo=0, hi=1, default=0.06),
        existing_capex_share=c.number(raw, "existing_capex_share", "", lo=0, hi=1, default=0.2),
        workday_h=c.number(raw, "workday_h", "", lo=1, hi=24, default=8.0),
        robust=c.number(raw, "robust", "", lo=0.5, hi=0.999, default=None, allow_none=True),
    )
    unreachable = raw.get("unreachable")
    if unreachable is not None and unreachable not in UNREACHABLE:
        c.err("unreachable", f"expected one of {', '.join(UNREACHABLE)}, got {unreachable!r}")
    if c.problems:
        raise InputError(problems=c.problems)
    return Scenario(
        name=str(name), title=str(raw.get("title", name)), path=p, county_dir=county_dir,
        seed=int(seed), solver=str(solver), roads_file=roads_file, crow_fly=crow,
        targets=targets, streams=streams, sharing=sharing, coefficients=dict(coef), columns=columns,
        phases=phases, horizon_year=horizon, unreachable=unreachable, **nums,
    )


def _header(c: _Checker, raw: Mapping[str, Any], p: Path) -> tuple[str, Path, str, int]:
    """name, county folder, solver and seed."""
    name = raw.get("name") or p.stem
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        c.err("name", f"expected a short name of letters, digits, - and _, got {name!r}")
        name = p.stem
    county = raw.get("county")
    county_dir = p.parent
    if not isinstance(county, str):
        c.err("county", "missing: the county folder, relative to the scenario file")
    else:
        county_dir = (p.parent / county).resolve()
        if not county_dir.is_dir():
            what = "is a file, not a folder" if county_dir.exists() else "not found"
            c.err("county", f"county folder {what}: {county_dir}")
    solver = raw.get("solver", "scip")
    if solver not in SOLVERS:
        c.err("solver", f"unknown solver {solver!r} (expected one of {', '.join(SOLVERS)})")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        c.err("seed", f"expected a whole number, got {seed!r}")
        seed = 0
    return str(name), county_dir, str(solver), int(seed)


def _roads(c: _Checker, raw: Mapping[str, Any], county_dir: Path
           ) -> tuple[Mapping[str, Any], Path | None, bool]:
    """The [roads] table, the road file (None: the county's default or crow-fly) and crow-fly flag."""
    roads = raw.get("roads", {})
    if not isinstance(roads, Mapping):
        c.err("roads", "expected a table")
        roads = {}
    c.unknown(roads, {"file", "max_snap_m", "circuity"}, "roads")
    roads_file: Path | None = None
    crow = False
    rf = roads.get("file")
    if rf is not None and not isinstance(rf, str):
        c.err("roads.file", f"expected a file name or \"none\", got {rf!r}")
    elif rf == "none":
        crow = True
    elif rf:
        roads_file = (county_dir / rf).resolve()
        if not roads_file.exists():
            c.err("roads.file", f"road file not found: {roads_file}")
    return roads, roads_file, crow


def _streams(c: _Checker, raw: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, StreamParams]:
    """The enabled [streams.<id>] tables, in file order."""
    streams_raw = raw.get("streams", {})
    streams: dict[str, StreamParams] = {}
    if not isinstance(streams_raw, Mapping) or not streams_raw:
        c.err("streams", "expected at least one [streams.<id>] table")
        return streams
    for sid, sraw in streams_raw.items():
        path_s = f"streams.{sid}"
        if sid not in known:
            c.err(path_s, f"unknown stream (known: {', '.join(known)})")
            continue
        if not isinstance(sraw, Mapping):
            c.err(path_s, "expected a table")
            continue
        if sraw.get("enabled", True) is False:
            continue
        sp = _stream(c, sid, sraw)
        if sp is not None:
            streams[sid] = sp
    return streams


def _stream(c: _Checker, sid: str, sraw: Mapping[str, Any]) -> StreamParams | None:
    """One stream's parameters and tiers; None (with the problems recorded) when any is bad."""
    path_s = f"streams.{sid}"
    c.unknown(sraw, _STREAM_KEYS, path_s)
    tiers: dict[str, TierParams] = {}
    for t in TIERS:
        if t not in sraw:
            c.err(f"{path_s}.{t}", "missing tier table")
            continue
        tp = _tier(c, sraw[t], f"{path_s}.{t}")
        if tp is not None:
            tiers[t] = tp
    cov_on = sraw.get("coverage_on", "weight")
    if cov_on not in ("weight", "count"):
        c.err(f"{path_s}.coverage_on", f"expected \"weight\" or \"count\", got {cov_on!r}")
    vals = dict(
        capture_rate=c.number(sraw, "capture_rate", path_s, lo=0, hi=1, default=1.0),
        baseline_use_share=c.number(sraw, "baseline_use_share", path_s, lo=0, hi=1, default=0.0),
        coverage_target=c.number(sraw, "coverage_target", path_s, lo=0, hi=1, default=1.0),
        unserved_penalty_cny_per_t=c.number(sraw, "unserved_penalty_cny_per_t", path_s, lo=0,
                                            hi=_MAX_PENALTY_CNY_PER_T, default=0.0),
        rounds_per_year=c.number(sraw, "rounds_per_year", path_s, lo=0.01, hi=366 * 24,
                                 default=12.0),
    )
    peak = dict(
        peak_days=c.number(sraw, "peak_days", path_s, lo=1, hi=366, default=None, allow_none=True),
        peak_share=c.number(sraw, "peak_share", path_s, lo=0.0001, hi=1, default=None,
                            allow_none=True),
    )
    if (peak["peak_days"] is None) != (peak["peak_share"] is None):
        c.err(f"{path_s}.peak_days", "give both peak_days and peak_share, or neither")
    veh = {k: sraw.get(k, "light_truck") for k in ("collection_vehicle", "haul_vehicle")}
    for k, v in veh.items():
        if not isinstance(v, str):
            c.err(f"{path_s}.{k}", f"expected a vehicle name, got {v!r}")
    sorting = _sorting(c, sraw, path_s)
    by_village = _rounds_by_village(c, sraw.get("rounds_by_village"), f"{path_s}.rounds_by_village")
    if len(tiers) != len(TIERS) or any(v is None for v in vals.values()):
        return None
    return StreamParams(id=sid, coverage_on=str(cov_on), tiers=tiers,
                        collection_vehicle=str(veh["collection_vehicle"]),
                        haul_vehicle=str(veh["haul_vehicle"]), sorting_villages=sorting,
                        rounds_by_village=by_village, **vals, **peak)


def _rounds_by_village(c: _Checker, raw: Any, path: str) -> tuple[str, dict[str, float]] | None:
    """``rounds_by_village = { column = "kind", rounds = { "街道" = 365, "镇" = 183 } }`` (villages.csv or townships column)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("column"), str) or not raw["column"].strip():
        c.err(path, "expected { column = \"<villages.csv column>\", rounds = { <cell value> = <rounds per year> } }")
        return None
    c.unknown(raw, {"column", "rounds"}, path)
    rounds = raw.get("rounds", {})
    if not isinstance(rounds, Mapping):
        c.err(f"{path}.rounds", "expected a table of cell value = rounds per year")
        return None
    out = {str(k): c.number(rounds, k, f"{path}.rounds", lo=0.01, hi=366 * 24) for k in rounds}
    if any(v is None for v in out.values()):
        return None
    return raw["column"].strip(), out


def _sorting(c: _Checker, sraw: Mapping[str, Any], path_s: str) -> float | tuple[str, ...] | str | None:
    """``sorting_villages``: a share 0-1, a list of village ids, or a villages.csv column name."""
    v = sraw.get("sorting_villages")
    if v is None:
        return None
    if isinstance(v, str) and v.strip():
        return v.strip()
    if isinstance(v, list) and all(isinstance(x, str | int) and not isinstance(x, bool) for x in v):
        return tuple(str(x) for x in v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return c.number(sraw, "sorting_villages", path_s, lo=0, hi=1)
    c.err(f"{path_s}.sorting_villages", "expected a share 0-1, a list of village ids or a villages.csv "
          f"column name, got {v!r}")
    return None


def _targets(c: _Checker, raw: Mapping[str, Any], known: Mapping[str, Any],
             path: str = "targets") -> dict[tuple[str, str], float]:
    """{(stream, indicator): value} from [targets] (a table, a preset name, or both)."""
    targets: dict[tuple[str, str], float] = {}
    traw = raw.get("targets", {})
    if isinstance(traw, str):
        traw = _preset(c, traw)
    if not isinstance(traw, Mapping):
        c.err("targets", "expected a table of stream.indicator = value, or a preset name")
        traw = {}
    for sid, inds in traw.items():
        if sid == "preset":
            continue
        if sid not in known:
            c.err(f"{path}.{sid}", f"unknown stream (known: {', '.join(known)})")
            continue
        if not isinstance(inds, Mapping):
            c.err(f"{path}.{sid}", "expected a table of indicator = value")
            continue
        for ind in inds:
            if ind not in INDICATORS:
                c.err(f"{path}.{sid}.{ind}", f"unknown indicator (known: {', '.join(INDICATORS)})")
                continue
            v = c.number(inds, ind, f"{path}.{sid}", lo=0, hi=1)
            if v is not None:
                targets[(sid, ind)] = v
    if isinstance(raw.get("targets"), Mapping) and "preset" in raw["targets"]:
        base = _preset(c, raw["targets"]["preset"])
        for sid, inds in base.items():
            for ind, val in inds.items():
                targets.setdefault((sid, ind), float(val))
    return targets


def _sharing(c: _Checker, raw: Mapping[str, Any], known: Mapping[str, Any],
             streams: Mapping[str, StreamParams]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """[sharing] tier = [[stream, ...], ...]: groups of enabled streams sharing a tier's sites."""
    sharing: dict[str, tuple[tuple[str, ...], ...]] = {}
    sh = raw.get("sharing", {})
    if not isinstance(sh, Mapping):
        c.err("sharing", "expected a table tier = [[stream, ...], ...]")
        return sharing
    for tier, groups in sh.items():
        if tier not in TIERS:
            c.err(f"sharing.{tier}", f"unknown tier (known: {', '.join(TIERS)})")
            continue
        ok_groups = []
        for g in groups if isinstance(groups, list) else [None]:
            if not isinstance(g, list) or not all(isinstance(s, str) for s in g):
                c.err(f"sharing.{tier}", "expected a list of lists of stream ids")
                continue
            bad = [s for s in g if s not in known]
            if bad:
                c.err(f"sharing.{tier}", f"unknown stream(s) {', '.join(bad)}")
                continue
            ok_groups.append(tuple(s for s in g if s in streams))
        sharing[tier] = tuple(x for x in ok_groups if len(x) > 1)
    return sharing


def _columns(c: _Checker, raw: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Column mapping for the county folder's tables: [columns.villages] name = "自然村名称"."""
    columns: dict[str, dict[str, str]] = {}
    craw = raw.get("columns", {})
    if not isinstance(craw, Mapping):
        c.err("columns", "expected tables [columns.<file>] of canonical name = \"your header\"")
        return columns
    for fkey, mapping in craw.items():
        if fkey not in COLUMN_FILES:
            c.err(f"columns.{fkey}", f"unknown file (expected one of: {', '.join(COLUMN_FILES)})")
        elif not isinstance(mapping, Mapping) or not all(isinstance(v, str) for v in mapping.values()):
            c.err(f"columns.{fkey}", "expected canonical name = \"header in your file\" pairs")
        else:
            columns[fkey] = {str(k): v for k, v in mapping.items()}
    return columns


def _preset(c: _Checker, name: Any) -> dict[str, Any]:
    """Targets of a named preset in data/targets.toml (the seed plans)."""
    path = data_file("targets.toml")
    if not path.exists():
        c.err("targets", f"no target presets available ({path} missing)")
        return {}
    presets = _read(path).get("presets", {})
    if name not in presets:
        c.err("targets", f"unknown target preset {name!r} (known: {', '.join(presets)})")
        return {}
    return {k: v for k, v in presets[name].items() if isinstance(v, Mapping)}


_PHASE_KEYS = {"year", "targets", "capex_budget_cny"}
_MAX_BUDGET_CNY = 1e13   # E: beyond any county programme; a larger figure is a typo


def _phases(c: _Checker, raw: Mapping[str, Any], known: Mapping[str, Any],
            finance: Mapping[str, Any]) -> tuple[tuple[PhaseParams, ...], int | None]:
    """[[phases]] (year, targets, capex_budget_cny), years strictly increasing, and
    [finance] horizon_year (not before the last phase)."""
    praw = raw.get("phases", [])
    out: list[PhaseParams] = []
    if not isinstance(praw, list) or not all(isinstance(p, Mapping) for p in praw):
        c.err("phases", "expected [[phases]] tables (year, targets, capex_budget_cny)")
        praw = []
    for n, ph in enumerate(praw):
        path = f"phases[{n}]"
        c.unknown(ph, _PHASE_KEYS, path)
        year = ph.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
            c.err(f"{path}.year", f"expected a year (a whole number 1990-2100), got {year!r}")
            continue
        if out and year <= out[-1].year:
            c.err(f"{path}.year", f"{year} does not come after the phase before ({out[-1].year}): "
                  "list the phases in increasing years, one table per year")
            continue
        if not isinstance(ph.get("targets", {}), Mapping):
            c.err(f"{path}.targets", "expected a table of stream.indicator = value")
            continue
        targets = _targets(c, {"targets": ph.get("targets", {})}, known, f"{path}.targets")
        budget = c.number(ph, "capex_budget_cny", path, lo=0, hi=_MAX_BUDGET_CNY, default=math.inf)
        if budget is not None:
            out.append(PhaseParams(year=int(year), targets=targets, capex_budget_cny=budget))
    horizon = finance.get("horizon_year")
    if horizon is not None:
        if isinstance(horizon, bool) or not isinstance(horizon, int):
            c.err("finance.horizon_year", f"expected a year, got {horizon!r}")
            horizon = None
        elif not out:
            c.err("finance.horizon_year", "only used by a phased plan: add [[phases]] tables")
        elif horizon < out[-1].year:
            c.err("finance.horizon_year", f"{horizon} is before the last phase ({out[-1].year})")
    return tuple(out), horizon
