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
   limited by capacities or the candidates' reach): it is reported as such.

Targets the siting cannot control are found first, by measurement, and never tightened: in every
draw the indicator's siting ceiling (every village and farm some layout of the candidates can
serve, :mod:`netplan.risk.reach`, served at the drawn capture rate with no capacity limit —
:func:`netplan.risk.engine._ceiling`) bounds what any layout can reach, so the
share of draws meeting the target at the ceiling, ``p_met_max``, bounds the target's p_met at any
layout. A target with ``p_met_max < share`` is reported as "not controllable by siting: p_met ≤
p_met_max at any layout" with the robust plan's own p_met (never dropped, never counted as met);
the search stops when every other target is met in ``share`` of the draws.

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
from netplan.risk.reach import candidate_reach
from netplan.risk.runio import site_distances
from netplan.risk.sampling import Samples, met, nominal_samples, p_met_max, run_samples
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
    p_max: dict[tuple[str, str], float] = field(default_factory=dict)  # p_met at the siting ceiling

    @property
    def worst(self) -> float:
        """The smallest share of draws meeting a target (1 when there is no target)."""
        return min(self.p_met.values(), default=1.0)

    def controllable(self, key: tuple[str, str], share: float) -> bool:
        """Whether some layout could meet the target in ``share`` of this round's draws (its p_met
        at the siting ceiling is at least ``share``)."""
        return self.p_max.get(key, 1.0) >= share

    def worst_controllable(self, share: float) -> float:
        """The smallest share of draws meeting a target the siting can control (1 when none)."""
        return min((p for k, p in self.p_met.items() if self.controllable(k, share)), default=1.0)


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
        """Every target the siting can control met in at least ``share`` of the last round's draws."""
        return self.rounds[-1].worst_controllable(self.share) >= self.share

    @property
    def uncontrollable(self) -> dict[tuple[str, str], float]:
        """Targets no layout can meet in ``share`` of the last round's draws, with their p_met at
        the siting ceiling (the most any layout reaches)."""
        last = self.rounds[-1]
        return {k: last.p_max[k] for k in last.p_met if not last.controllable(k, self.share)}

    @property
    def targets(self) -> dict[tuple[str, str], float]:
        """The scenario's targets (empty without a model)."""
        return dict(self.model.scenario.targets) if self.model is not None else {}

    def status(self, key: tuple[str, str]) -> str:
        """``met``, ``missed`` or ``not controllable by siting: p_met ≤ X at any layout``."""
        last = self.rounds[-1]
        if not last.controllable(key, self.share):
            return f"not controllable by siting: p_met ≤ {last.p_max[key]:.1%} at any layout"
        return "met" if last.p_met[key] >= self.share else "missed"

    @property
    def cost_of_robustness_cny_yr(self) -> float:
        """Robust minus nominal plan cost at the nominal values, CNY/yr."""
        return self.rounds[-1].cost_cny_yr - self.rounds[0].cost_cny_yr

    def table(self) -> pd.DataFrame:
        """robust.csv: one row per round and target: p_met, p_met_max (at the siting ceiling: no
        layout does better), whether the siting controls it, the round's cost and coverages."""
        rows = []
        tg = self.targets
        for r in self.rounds:
            cov = ";".join(f"{k}={v:.4f}" for k, v in r.coverage_target.items())
            for (sid, ind), p in r.p_met.items():
                ctl = r.controllable((sid, ind), self.share)
                rows.append({"round": r.round, "seed": r.seed, "stream": sid, "indicator": ind,
                             "target": tg.get((sid, ind)), "p_met": round(p, 6),
                             "p_met_max": round(r.p_max.get((sid, ind), 1.0), 6),
                             "controllable_by_siting": "yes" if ctl else "no",
                             "cost_cny_yr": round(r.cost_cny_yr, 3),
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
        if v is None or met(v, tgt).mean() >= share or p_met_max(s, (sid, ind), tgt) < share:
            continue  # met, or not controllable by siting (RobustResult.uncontrollable says so)
        sp = streams[sid]
        base = max(sp.coverage_target, _achieved(s, model, sid))
        if base >= 1.0 - 1e-9:
            stuck.append(f"{sid}.{ind}: met in {met(v, tgt).mean():.0%} of draws with the stream's "
                         "coverage already at 100 % (limited by the sites' capacity or reach)")
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
                        pieces["params"], dist, pieces["reach"])
    s = run_samples(model, samples, seed)
    nom = nominal_samples(model)
    p = {(sid, ind): float(met(s.indicators[(sid, ind)], t).mean())
         for (sid, ind), t in scenario.targets.items() if (sid, ind) in s.indicators}
    cov = {sid: sp.coverage_target for sid, sp in scenario.streams.items()}
    r = RobustRound(round=rnd, seed=seed, coverage_target=cov, p_met=p,
                    cost_cny_yr=float(nom.figures[("all", "total_cost_cny_yr")][0]),
                    mean_cost_cny_yr=float(s.figures[("all", "total_cost_cny_yr")].mean()),
                    p_max={k: p_met_max(s, k, scenario.targets[k]) for k in p})
    return r, model, s


def _blamed(exc: InfeasibleError, good: Scenario, tried: Scenario) -> set[str]:
    """Streams whose coverage was raised and that the infeasibility names (all raised ones when
    it names none): its labels start with the stream id ("manure: farm …", "manure coverage: …")."""
    raised = {k for k, v in tried.streams.items()
              if v.coverage_target > good.streams[k].coverage_target + 1e-9}
    named = {str(u.label or "").split(":")[0].split(" ")[0] for u in exc.unservable}
    return (raised & named) or raised


def _halfway(good: Scenario, tried: Scenario, streams: set[str], back: float = 0.5) -> Scenario:
    """``tried`` with the coverage of ``streams`` moved ``back`` of the way to the feasible
    scenario's (0.5: halfway; 1: all the way)."""
    out = dict(tried.streams)
    for k in streams:
        g, t = good.streams[k].coverage_target, tried.streams[k].coverage_target
        out[k] = replace(out[k], coverage_target=g if back >= 1 else round(t + back * (g - t), 4))
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
              "params": load_uncertainty(scenario, coef, uncertainty),
              "reach": candidate_reach(scenario, county, supply, cands, mats, fix=fix)}
    rounds: list[RobustRound] = []
    sc, stuck, layout = scenario, [], None
    gave_up: list[str] = []  # streams whose raised coverage had no feasible plan
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
                gave_up.append("coverage could not be raised further: no feasible plan at "
                               + ", ".join(f"{k} {ceiling[k]:.3f}" for k in sorted(blamed))
                               + " (the candidates' reach or capacity)")
                sc, backoffs = _halfway(good, sc, blamed, back=1.0), 0
                if sc.streams == good.streams:
                    break  # nothing else was raised: ``layout`` is still the plan of ``good``
                say("keeping the other raised coverages: " + ", ".join(
                    f"{k} {v.coverage_target:.3f}" for k, v in sc.streams.items()
                    if v.coverage_target > good.streams[k].coverage_target + 1e-9))
                continue
            sc = _halfway(good, sc, blamed)
            say("no feasible plan at that coverage: " + ", ".join(
                f"{k} back to {sc.streams[k].coverage_target:.3f}" for k in sorted(blamed)))
            continue
        good, backoffs = sc, 0
        r, model, s = _score(sc, pieces, layout, samples, 1000 + 97 * scenario.seed + rnd, rnd)
        rounds.append(r)
        say(f"round {rnd}: cost {r.cost_cny_yr:,.0f} CNY/yr; worst target the siting controls met in "
            f"{r.worst_controllable(share):.0%} of {samples} draws; coverage "
            + ", ".join(f"{k} {v:.3f}" for k, v in r.coverage_target.items()))
        for k, pm in r.p_max.items():
            if pm < share:
                say(f"{k[0]}.{k[1]}: not controllable by siting: p_met ≤ {pm:.0%} at any layout")
        if r.worst_controllable(share) >= share or rnd == max_rounds:
            break
        nxt, stuck = tighten(sc, model, s, share, ceiling)
        if nxt.streams == sc.streams:
            break
        sc, rnd = nxt, rnd + 1
    say("routing and scoring the robust plan")
    plan = run_plan(sc, progress=say, layout=layout, fix=fix)
    return plan, RobustResult(share=share, samples=samples, rounds=tuple(rounds),
                              unreachable=tuple(gave_up + stuck),
                              model=model, draws=s)


def write_robust(tmp: str | Path, res: RobustResult, run_dir: str | Path | None = None) -> list[Path]:
    """Write robust.csv, the last round's risk tables and page (``risk/``) and the robustness
    section of report.html into ``tmp``: the run's staging folder, *before* it is swapped in
    (``netplan.runfolder.write_run(..., extra=...)``), so the run folder gets the plan and its
    robustness files together or none of them. ``run_dir``: the run folder's final name, for
    risk.html's title (default ``tmp``)."""
    from netplan.export import write_csv
    from netplan.risk import write_risk_files
    from netplan.risk.sampling import summarise, tornado

    d = Path(tmp)
    files = [write_csv(d / "robust.csv", res.table())]
    if res.model is not None and res.draws is not None:
        nom = nominal_samples(res.model)
        meta = {"run": str(run_dir or d), "scenario": res.model.scenario.name, "title": res.model.scenario.title,
                "samples": res.samples, "seed": res.rounds[-1].seed, "robust": res.share}
        files += write_risk_files(d / "risk", res.model, summarise(res.model, res.draws, nom),
                                  tornado(res.model, nom), res.draws, meta)
    rep = d / "report.html"
    if rep.exists():
        text = rep.read_text(encoding="utf-8")
        at = text.find("<h2>")
        section = robust_html(res)
        text = text[:at] + section + text[at:] if at >= 0 else text.replace("</body>", section + "</body>")
        rep.write_text(text, encoding="utf-8")
    return files


def cost_of_robustness(res: RobustResult) -> tuple[float, float]:
    """Robust minus nominal plan total cost at the nominal values: (CNY/yr, fraction of nominal)."""
    d = res.cost_of_robustness_cny_yr
    base = res.rounds[0].cost_cny_yr
    return d, (d / base if base else 0.0)


def robust_html(res: RobustResult) -> str:
    """An HTML section for report.html: the cost of robustness and, per target, the share of draws
    meeting it on the nominal and robust plans, at the siting ceiling, and its status."""
    import html

    first, last = res.rounds[0], res.rounds[-1]
    d, pct = cost_of_robustness(res)
    tg = res.targets
    rows = []
    for key, p in last.p_met.items():
        st = res.status(key)
        cls = "ok" if st == "met" else "miss"
        t = tg.get(key)
        rows.append(
            f"<tr><td class=l>{html.escape(key[0])}</td><td class=l>{html.escape(key[1])}</td>"
            f"<td>{'' if t is None else f'{t:.0%}'}</td>"
            f"<td>{first.p_met.get(key, float('nan')):.1%}</td><td class={cls}>{p:.1%}</td>"
            f"<td>{last.p_max.get(key, 1.0):.1%}</td><td class='l {cls}'>{html.escape(st)}</td></tr>")
    stuck = "".join(f"<li>{html.escape(u)}</li>" for u in res.unreachable)
    unc = res.uncontrollable
    note = (f"<p class=note>{len(unc)} target(s) not controllable by siting: even serving every village "
            "and farm the candidates can take, with no capacity limit, they are met in fewer than "
            f"{res.share:.0%} of the draws (the capture rates, coefficients and the candidates decide "
            "them, docs/risk.md); their p_met is measured, not counted as met.</p>" if unc else "")
    return (f"<h2>稳健性 Robustness (≥ {res.share:.0%} of {res.samples} draws)</h2>"
            f"<p>Cost of robustness: <b>{d:+,.0f} CNY/yr ({pct:+.1%})</b> — robust plan "
            f"{last.cost_cny_yr:,.0f} vs nominal plan {first.cost_cny_yr:,.0f} CNY/yr at the nominal "
            f"values; over the draws {last.mean_cost_cny_yr:,.0f} vs {first.mean_cost_cny_yr:,.0f} "
            f"CNY/yr. {len(res.rounds) - 1} re-plan(s) with tightened coverage (robust.csv).</p>"
            "<table><tr><th class=l>stream</th><th class=l>indicator</th><th>target</th>"
            "<th>nominal plan</th><th>robust plan</th><th>any layout ≤</th><th class=l>status</th></tr>"
            f"{''.join(rows)}</table>{note}"
            + (f"<p class=miss>Not reachable by siting:</p><ul>{stuck}</ul>" if stuck else ""))
