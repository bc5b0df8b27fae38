"""Monte Carlo over the uncertain numbers of a fixed plan, on the Dask engine of ``netplan batch``.

Draw ``i`` uses only its own random stream, ``SeedSequence(seed).spawn(n)[i]``, and draws are cut
into fixed blocks of :data:`CHUNK` (independent of the number of workers), so the same seed gives
the same numbers on 1, 2 or 20 workers and in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from netplan.risk.engine import RiskModel, evaluate_draws
from netplan.risk.params import draw_samples

CHUNK = 25  #: draws per task
QUANTILES = (0.05, 0.5, 0.95)
RISK_COLUMNS = ["kind", "stream", "indicator", "target", "p_met", "p_met_max", "p05", "p50", "p95",
                "nominal", "site_id", "tier", "unit"]


@dataclass(frozen=True)
class Samples:
    """The draws and what the plan gives under each (S draws, K params).

    Attributes
    ----------
    values
        (S, K) drawn values in the order of ``model.params``.
    indicators, figures
        {(stream, name): (S,)}; figures in t/yr and CNY/yr.
    inflow
        {(stream, tier): (sites, S)} t/yr offered to each site before its capacity applies.
    seed
        The seed the draws came from.
    ceiling
        {(stream, indicator): (S,)}: the indicator at the best any layout could reach in each draw
        (every demand served, no capacity limit; :func:`netplan.risk.engine._ceiling`).
    """

    values: np.ndarray
    indicators: dict[tuple[str, str], np.ndarray]
    figures: dict[tuple[str, str], np.ndarray]
    inflow: dict[tuple[str, str], np.ndarray]
    seed: int
    ceiling: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of draws."""
        return int(self.values.shape[0])


def _chunk_task(model: RiskModel, seeds: Sequence[np.random.SeedSequence]) -> dict[str, Any]:
    values = draw_samples(model.params, seeds)
    return {"values": values, **evaluate_draws(model, values)}


def _merge(parts: Sequence[dict[str, Any]], seed: int) -> Samples:
    def cat(name: str, axis: int) -> dict:
        return {k: np.concatenate([p[name][k] for p in parts], axis=axis) for k in parts[0][name]}

    return Samples(values=np.concatenate([p["values"] for p in parts], axis=0),
                   indicators=cat("indicators", 0), figures=cat("figures", 0),
                   inflow=cat("inflow", 1), seed=seed, ceiling=cat("ceiling", 0))


def run_samples(model: RiskModel, n: int, seed: int, *, client: Any = None,
                progress: Callable[[int, int], None] | None = None) -> Samples:
    """Score the plan under ``n`` draws.

    Parameters
    ----------
    client
        A ``distributed.Client``: blocks of :data:`CHUNK` draws run as its tasks (the model is
        scattered once). None = in-process (same numbers).
    progress
        Called with (draws done, n) after each block.
    """
    seeds = np.random.SeedSequence(seed).spawn(n)
    blocks = [seeds[i:i + CHUNK] for i in range(0, n, CHUNK)]
    parts: list[dict[str, Any]] = [{}] * len(blocks)
    done = 0
    if client is None:
        for b, blk in enumerate(blocks):
            parts[b] = _chunk_task(model, blk)
            done += len(blk)
            if progress:
                progress(done, n)
        return _merge(parts, seed)
    from distributed import as_completed

    remote = client.scatter(model, broadcast=True)
    futs = {client.submit(_chunk_task, remote, blk, pure=False): b for b, blk in enumerate(blocks)}
    for fut in as_completed(futs):
        b = futs[fut]
        parts[b] = fut.result()
        done += len(blocks[b])
        if progress:
            progress(done, n)
    return _merge(parts, seed)


def _q(v: np.ndarray) -> list[float]:
    return [float(x) for x in np.quantile(v, QUANTILES, method="linear")]


def met(values: np.ndarray, target: float) -> np.ndarray:
    """Draws meeting ``target`` (the kpis.csv rule: value rounded to 6 places >= target − 1e-9)."""
    return np.round(values, 6) >= target - 1e-9


def p_met_max(samples: Samples, key: tuple[str, str], target: float) -> float:
    """Share of the draws in which ``target`` is met at the siting ceiling: the most any layout can
    reach (1 when the samples carry no ceiling for ``key``)."""
    v = samples.ceiling.get(key)
    return 1.0 if v is None else float(met(v, target).mean())


def summarise(model: RiskModel, samples: Samples, nominal: Samples) -> pd.DataFrame:
    """risk.csv: one row per stream and indicator (kind ``indicator``), per figure (``figure``)
    and per site over capacity in at least one draw (``site``: target = capacity, p_met = share
    of draws within it). A targeted indicator's ``p_met_max`` is the share of draws meeting it
    at the siting ceiling: no layout can do better (docs/risk.md)."""
    targets = model.scenario.targets
    rows = []
    for (sid, ind), v in samples.indicators.items():
        tgt = targets.get((sid, ind))
        p05, p50, p95 = _q(v)
        rows.append({"kind": "indicator", "stream": sid, "indicator": ind, "target": tgt,
                     "p_met": float(met(v, tgt).mean()) if tgt is not None else None,
                     "p_met_max": p_met_max(samples, (sid, ind), tgt) if tgt is not None else None,
                     "p05": round(p05, 6), "p50": round(p50, 6), "p95": round(p95, 6),
                     "nominal": round(float(nominal.indicators[(sid, ind)][0]), 6), "unit": "fraction"})
    for (sid, fig), v in samples.figures.items():
        p05, p50, p95 = _q(v)
        rows.append({"kind": "figure", "stream": sid, "indicator": fig, "p05": round(p05, 3),
                     "p50": round(p50, 3), "p95": round(p95, 3),
                     "nominal": round(float(nominal.figures[(sid, fig)][0]), 3),
                     "unit": "CNY/yr" if fig.endswith("_cny_yr") else "t/yr"})
    site_rows = []
    for (sid, tier), inflow in samples.inflow.items():
        a = model.streams[sid]
        cap = a.cap_t[tier]
        over = inflow > cap[:, None] * (1 + 1e-9)
        for j in np.flatnonzero(over.any(axis=1)):
            p05, p50, p95 = _q(inflow[j])
            site_rows.append({"kind": "site", "stream": sid, "indicator": "inflow_t_yr",
                              "target": float(cap[j]), "p_met": float(1 - over[j].mean()),
                              "p05": round(p05, 3), "p50": round(p50, 3), "p95": round(p95, 3),
                              "nominal": round(float(nominal.inflow[(sid, tier)][j, 0]), 3),
                              "site_id": str(a.site_ids[tier][j]), "tier": tier, "unit": "t/yr"})
    site_rows.sort(key=lambda r: (r["p_met"], r["stream"], r["site_id"]))
    return pd.DataFrame(rows + site_rows, columns=RISK_COLUMNS)


def nominal_samples(model: RiskModel) -> Samples:
    """The plan at the nominal values (one draw)."""
    vals = np.array([[p.nominal for p in model.params]])
    r = evaluate_draws(model, vals)
    return Samples(values=vals, indicators=r["indicators"], figures=r["figures"], inflow=r["inflow"],
                   seed=-1, ceiling=r["ceiling"])


def tornado(model: RiskModel, nominal: Samples) -> pd.DataFrame:
    """One-at-a-time swings: each param at its 5th and 95th percentile, every other at its nominal.

    Returns one row per (param, stream, indicator) with a target: low_q05 and high_q95 (the
    indicator's value with the param at those quantiles) and swing = |high − low|, largest first.
    """
    k = len(model.params)
    base = nominal.values[0]
    vals = np.repeat(base[None, :], 2 * k, axis=0)
    for i, p in enumerate(model.params):
        vals[2 * i, i] = p.ppf(0.05)
        vals[2 * i + 1, i] = p.ppf(0.95)
    r = evaluate_draws(model, vals) if k else {"indicators": {}}
    rows = []
    for (sid, ind), tgt in model.scenario.targets.items():
        v = r["indicators"].get((sid, ind))
        if v is None:
            continue
        for i, p in enumerate(model.params):
            lo, hi = float(v[2 * i]), float(v[2 * i + 1])
            rows.append({"stream": sid, "indicator": ind, "target": tgt, "param": p.key, "tag": p.tag,
                         "param_q05": round(float(vals[2 * i, i]), 6),
                         "param_q95": round(float(vals[2 * i + 1, i]), 6),
                         "value_at_q05": round(lo, 6), "value_at_q95": round(hi, 6),
                         "nominal": round(float(nominal.indicators[(sid, ind)][0]), 6),
                         "swing": round(abs(hi - lo), 6)})
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values(["stream", "indicator", "swing", "param"],
                            ascending=[True, True, False, True], kind="stable").reset_index(drop=True)
    return df


def samples_table(model: RiskModel, samples: Samples) -> pd.DataFrame:
    """risk_samples.csv: per draw, the targeted indicators, the county cost and the drawn values."""
    cols: dict[str, Any] = {"sample": np.arange(samples.n)}
    for (sid, ind) in model.scenario.targets:
        if (sid, ind) in samples.indicators:
            cols[f"{sid}.{ind}"] = samples.indicators[(sid, ind)]
    cols["all.total_cost_cny_yr"] = np.round(samples.figures[("all", "total_cost_cny_yr")], 3)
    for i, p in enumerate(model.params):
        cols[p.key] = np.round(samples.values[:, i], 9)
    return pd.DataFrame(cols)
