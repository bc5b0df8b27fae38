"""Robust plans: every target met in at least a share of the draws (``netplan plan --robust 0.9``).

Method — tightened coverage found by measurement (the siting model itself is not changed; it is
driven through the coverage targets the planner already passes to it):

1. Plan the scenario as given (the nominal plan) and score it under ``samples`` draws.
2. For every target met in fewer than ``share`` of the draws, the stream's siting coverage
   (``coverage_target``, on its ``coverage_on`` measure) is raised: per draw, the relative
   increase of the served tonnage that would lift the indicator to its target is
   ``(target − value) / elasticity`` (elasticity = d indicator / d ln served: the recovery rate for
   recovery and off-site use, (1 − baseline share) × recovery for utilisation, the value itself
   for the coverage indicators); the ``share``-quantile of that increase scales the coverage the
   plan reaches now (at least +1 point).
3. Re-plan with the tightened coverage, score it under fresh draws (a new seed each round), and
   repeat until every target is met in ``share`` of the draws or ``max_rounds`` re-plans were made.
   A coverage with no feasible plan (the candidates cannot reach or hold that much) is halved back
   towards the last feasible one for the streams the infeasibility names (at most
   :data:`MAX_BACKOFFS` times in a row); the lowest infeasible coverage becomes that stream's
   ceiling for later rounds.
   A target still missed with the coverage already at 100 % cannot be reached by siting (it is
   limited by capture rates, baseline shares or capacities): it is reported as such.

The cost of robustness is the robust plan's total cost against the nominal plan's (both at the
nominal values, CNY/yr), and their means over the draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netplan.errors import InfeasibleError
from netplan.risk.engine import RiskModel, build_model
from netplan.risk.params import load_uncertainty
from netplan.risk.runio import site_distances
from netplan.risk.sampling import Samples, met, nominal_samples, run_samples
from netplan.scenario import Scenario

MAX_BACKOFFS = 4  #: halvings of a coverage step that has no feasible plan
COVERAGE_LIKE = ("village_coverage", "villages_with_point", "tonnage_coverage", "township_coverage")


@dataclass(frozen=True)
class RobustRound:
    """One plan of the search: its coverage targets, the share of draws meeting each target, cost."""

    round: int
    seed: int
    coverage_target: dict[str, float]
    p_met: dict[tuple[str, str], float]
    cost_cny_yr: float            # at the nominal values
    mean_cost_cny_yr: float       # over the draws

    @property
    def worst(self) -> float:
        """The smallest share of draws meeting a target (1 when there is no target)."""
        return min(self.p_met.values(), default=1.0)


@dataclass(frozen=True)
class RobustResult:
    """The search and its outcome (``rounds[0]`` is the nominal plan, ``rounds[-1]`` the robust one)."""

    share: float
    samples: int
    rounds: tuple[RobustRound, ...]
    unreachable: tuple[str, ...]  # "stream.indicator: why", targets siting cannot make robust
    model: Any = field(default=None, repr=False)     # the last round's RiskModel
    draws: Any = field(default=None, repr=False)     # and its Samples

    @property
    def met(self) -> bool:
        """Every target met in at least ``share`` of the draws of the last round."""
        return self.rounds[-1].worst >= self.share

    @property
    def cost_of_robustness_cny_yr(self) -> float:
        """Robust minus nominal plan cost at the nominal values, CNY/yr."""
        return self.rounds[-1].cost_cny_yr - self.rounds[0].cost_cny_yr

    def table(self) -> pd.DataFrame:
        """robust.csv: one row per round and target (p_met), with the round's cost and coverages."""
        rows = []
        for r in self.rounds:
            cov = ";".join(f"{k}={v:.4f}" for k, v in r.coverage_target.items())
            for (sid, ind), p in r.p_met.items():
                rows.append({"round": r.round, "seed": r.seed, "stream": sid, "indicator": ind,
                             "p_met": round(p, 6), "cost_cny_yr": round(r.cost_cny_yr, 3),
                             "mean_cost_cny_yr": round(r.mean_cost_cny_yr, 3), "coverage_targets": cov})
        return pd.DataFrame(rows)


def _elasticity(s: Samples, sid: str, ind: str, b: float) -> np.ndarray:
    v = s.indicators[(sid, ind)]
    if ind in COVERAGE_LIKE:
        return v
    rec = s.indicators[(sid, "recovery_rate")]
    return (1.0 - b) * rec if ind == "utilisation_rate" else rec


def _achieved(s: Samples, model: RiskModel, sid: str) -> float:
    on = model.scenario.streams[sid].coverage_on
    key = (sid, "village_coverage" if on == "count" else "tonnage_coverage")
    return float(np.median(s.indicators[key])) if key in s.indicators else 0.0


def tighten(scenario: Scenario, model: RiskModel, s: Samples, share: float,
            ceiling: dict[str, float] | None = None) -> tuple[Scenario, list[str]]:
    """The scenario with raised coverage targets for the streams missing a target in more than
    ``1 − share`` of the draws, and the targets that cannot be raised (coverage already 100 %, or at
    the stream's ``ceiling``: the lowest coverage found to have no feasible plan)."""
    streams = dict(scenario.streams)
    top = dict(ceiling or {})
    stuck = []
    for (sid, ind), tgt in scenario.targets.items():
        v = s.indicators.get((sid, ind))
        if v is None or met(v, tgt).mean() >= share:
            continue
        sp = streams[sid]
        base = max(sp.coverage_target, _achieved(s, model, sid))
        if base >= 1.0 - 1e-9:
            stuck.append(f"{sid}.{ind}: met in {met(v, tgt).mean():.0%} of draws with the stream's "
                         "coverage already at 100 % (limited by capture, baseline shares or capacity)")
            continue
        e = np.maximum(_elasticity(s, sid, ind, sp.baseline_use_share), 1e-9)
        need = np.maximum(0.0, (tgt - v) / e)
        q = float(np.quantile(need, share))
        new = min(1.0, max(base * (1.0 + q), base + 0.01), top.get(sid, 2.0) - 0.002)
        if new > sp.coverage_target + 1e-9:
            streams[sid] = replace(sp, coverage_target=round(new, 4))
        elif sid in top:
            stuck.append(f"{sid}.{ind}: met in {met(v, tgt).mean():.0%} of draws; the stream's coverage "
                         f"cannot rise above {sp.coverage_target:.3f} (no feasible plan at "
                         f"{top[sid]:.3f}: the candidates' reach or capacity)")
    return replace(scenario, streams=streams), stuck


def _score(scenario: Scenario, pieces: dict[str, Any], layout: Any, samples: int, seed: int,
           rnd: int) -> tuple[RobustRound, RiskModel, Samples]:
    ids = pieces["cands"]["site_id"].to_numpy()
    dist = site_distances(layout, ids, pieces["mats"].site_site_m)
    model = build_model(scenario, pieces["county"], pieces["supply"], layout, pieces["coef"],
                        pieces["params"], dist)
    s = run_samples(model, samples, seed)
    nom = nominal_samples(model)
    p = {(sid, ind): float(met(s.indicators[(sid, ind)], t).mean())
         for (sid, ind), t in scenario.targets.items() if (sid, ind) in s.indicators}
    cov = {sid: sp.coverage_target for sid, sp in scenario.streams.items()}
    r = RobustRound(round=rnd, seed=seed, coverage_target=cov, p_met=p,
                    cost_cny_yr=float(nom.figures[("all", "total_cost_cny_yr")][0]),
                    mean_cost_cny_yr=float(s.figures[("all", "total_cost_cny_yr")].mean()))
    return r, model, s


def _blamed(exc: InfeasibleError, good: Scenario, tried: Scenario) -> set[str]:
    """Streams whose coverage was raised and that the infeasibility names (all raised ones when
    it names none): its labels start with the stream id ("manure: farm …", "manure coverage: …")."""
    raised = {k for k, v in tried.streams.items()
              if v.coverage_target > good.streams[k].coverage_target + 1e-9}
    named = {str(u.label or "").split(":")[0].split(" ")[0] for u in exc.unservable}
    return (raised & named) or raised


def _halfway(good: Scenario, tried: Scenario, streams: set[str]) -> Scenario:
    """``tried`` with the coverage of ``streams`` halfway back to the feasible scenario's."""
    out = dict(tried.streams)
    for k in streams:
        out[k] = replace(out[k], coverage_target=round(
            (good.streams[k].coverage_target + tried.streams[k].coverage_target) / 2, 4))
    return replace(tried, streams=out)


def robust_plan(scenario: Scenario, share: float, *, samples: int = 300, max_rounds: int = 4,
                uncertainty: str | Path | None = None, fix: Any = None,
                progress: Callable[[str], None] | None = None) -> tuple[Any, RobustResult]:
    """Plan ``scenario`` so that every target is met in at least ``share`` of ``samples`` draws.

    Returns the robust :class:`netplan.planner.Plan` (routed and scored like any plan) and the
    search. Round ``r`` draws with seed ``1000 + 97 × scenario.seed + r``; check the result with
    fresh draws (``netplan risk RUN --seed`` another value).
    """
    from netplan.candidates import build_candidates
    from netplan.planner import (
        check_reachable,
        estimate_supply,
        load_inputs,
        road_network,
        run_plan,
        site,
        travel_matrices,
    )
    from netplan.streams import load_coefficients

    say = progress or (lambda _m: None)
    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    cands = build_candidates(county)
    if fix is not None:
        from netplan.layout_io import merge_candidates

        cands = merge_candidates(cands, fix, county)
    mats = travel_matrices(road_network(scenario, county), supply, cands, scenario)
    check_reachable(supply, mats, scenario)
    coef = load_coefficients(overrides=scenario.coefficients)
    pieces = {"county": county, "supply": supply, "cands": cands, "mats": mats, "coef": coef,
              "params": load_uncertainty(scenario, coef, uncertainty)}
    rounds: list[RobustRound] = []
    sc, stuck, layout = scenario, [], None
    model = s = None
    good = scenario   # the last scenario with a feasible plan
    ceiling: dict[str, float] = {}  # per stream, the lowest coverage with no feasible plan
    rnd = backoffs = 0
    while True:
        try:
            layout = site(sc, county, supply, cands, mats, progress=say, fix=fix)
        except InfeasibleError as exc:
            if rnd == 0:
                raise
            blamed = _blamed(exc, good, sc)
            for k in blamed:
                ceiling[k] = min(ceiling.get(k, 2.0), sc.streams[k].coverage_target)
            backoffs += 1
            if backoffs > MAX_BACKOFFS:
                stuck.append("coverage could not be raised further: no feasible plan at "
                             + ", ".join(f"{k} {ceiling[k]:.3f}" for k in sorted(blamed))
                             + " (the candidates' reach or capacity)")
                sc = good  # ``layout`` is still the plan of ``good``
                break
            sc = _halfway(good, sc, blamed)
            say("no feasible plan at that coverage: " + ", ".join(
                f"{k} back to {sc.streams[k].coverage_target:.3f}" for k in sorted(blamed)))
            continue
        good, backoffs = sc, 0
        r, model, s = _score(sc, pieces, layout, samples, 1000 + 97 * scenario.seed + rnd, rnd)
        rounds.append(r)
        say(f"round {rnd}: cost {r.cost_cny_yr:,.0f} CNY/yr; worst target met in {r.worst:.0%} of "
            f"{samples} draws; coverage " + ", ".join(f"{k} {v:.3f}" for k, v in r.coverage_target.items()))
        if r.worst >= share or rnd == max_rounds:
            break
        nxt, stuck = tighten(sc, model, s, share, ceiling)
        if nxt.streams == sc.streams:
            break
        sc, rnd = nxt, rnd + 1
    say("routing and scoring the robust plan")
    plan = run_plan(sc, progress=say, layout=layout, fix=fix)
    return plan, RobustResult(share=share, samples=samples, rounds=tuple(rounds), unreachable=tuple(stuck),
                              model=model, draws=s)


def write_robust(out_dir: str | Path, res: RobustResult) -> list[Path]:
    """Write robust.csv, the last round's risk tables and page (``risk/``), and the robustness
    section into the run's report.html."""
    from netplan.export import write_csv
    from netplan.risk import write_risk
    from netplan.risk.sampling import summarise, tornado

    d = Path(out_dir)
    files = [write_csv(d / "robust.csv", res.table())]
    if res.model is not None and res.draws is not None:
        nom = nominal_samples(res.model)
        meta = {"run": str(d), "scenario": res.model.scenario.name, "title": res.model.scenario.title,
                "samples": res.samples, "seed": res.rounds[-1].seed, "robust": res.share}
        files += write_risk(d / "risk", res.model, summarise(res.model, res.draws, nom),
                            tornado(res.model, nom), res.draws, meta)
    rep = d / "report.html"
    if rep.exists():
        text = rep.read_text(encoding="utf-8")
        at = text.find("<h2>")
        section = robust_html(res)
        text = text[:at] + section + text[at:] if at >= 0 else text.replace("</body>", section + "</body>")
        rep.write_text(text, encoding="utf-8")
    return files


def robust_html(res: RobustResult) -> str:
    """An HTML section for report.html: the cost of robustness and the share of draws per target."""
    import html

    first, last = res.rounds[0], res.rounds[-1]
    d = res.cost_of_robustness_cny_yr
    pct = d / first.cost_cny_yr if first.cost_cny_yr else 0.0
    rows = "".join(
        f"<tr><td class=l>{html.escape(sid)}</td><td class=l>{html.escape(ind)}</td>"
        f"<td>{first.p_met.get((sid, ind), float('nan')):.1%}</td>"
        f"<td class={'ok' if p >= res.share else 'miss'}>{p:.1%}</td></tr>"
        for (sid, ind), p in last.p_met.items())
    stuck = "".join(f"<li>{html.escape(u)}</li>" for u in res.unreachable)
    return (f"<h2>稳健性 Robustness (≥ {res.share:.0%} of {res.samples} draws)</h2>"
            f"<p>Cost of robustness: <b>{d:+,.0f} CNY/yr ({pct:+.1%})</b> — robust plan "
            f"{last.cost_cny_yr:,.0f} vs nominal plan {first.cost_cny_yr:,.0f} CNY/yr at the nominal "
            f"values; over the draws {last.mean_cost_cny_yr:,.0f} vs {first.mean_cost_cny_yr:,.0f} "
            f"CNY/yr. {len(res.rounds) - 1} re-plan(s) with tightened coverage (robust.csv).</p>"
            "<table><tr><th class=l>stream</th><th class=l>indicator</th><th>nominal plan</th>"
            f"<th>robust plan</th></tr>{rows}</table>"
            + (f"<p class=miss>Not reachable by siting:</p><ul>{stuck}</ul>" if stuck else ""))
