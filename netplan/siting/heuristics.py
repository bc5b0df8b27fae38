"""Greedy + interchange (Teitz–Bart with Whitaker's fast swap evaluation) for median problems."""

from __future__ import annotations

import numpy as np


def _finite(cost: np.ndarray) -> np.ndarray:
    big = np.nanmax(np.where(np.isfinite(cost), cost, np.nan)) if np.isfinite(cost).any() else 1.0
    return np.where(np.isfinite(cost), cost, 1e3 * (abs(big) + 1.0))


def greedy_median(cost: np.ndarray, p: int, weights: np.ndarray | None = None,
                  forced: np.ndarray | None = None) -> np.ndarray:
    """Greedy-add p-median: open, one at a time, the candidate that lowers Σ w·d the most.

    ``inf`` costs are replaced by a large finite penalty. Returns sorted open candidate indices.
    """
    c = _finite(np.asarray(cost, dtype=float))
    n, m = c.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    opened: list[int] = [] if forced is None else [int(j) for j in np.atleast_1d(forced)]
    best = c[:, opened].min(axis=1) if opened else np.full(n, np.inf)
    while len(opened) < p:
        if np.isinf(best).all():
            tot = w @ c
        else:
            tot = w @ np.minimum(c, best[:, None])
        tot[opened] = np.inf
        j = int(np.argmin(tot))
        opened.append(j)
        best = np.minimum(best, c[:, j])
    return np.array(sorted(opened), dtype=int)


def interchange(cost: np.ndarray, open_: np.ndarray, weights: np.ndarray | None = None,
                fixed: np.ndarray | None = None, max_passes: int = 50) -> np.ndarray:
    """Teitz–Bart vertex substitution until no single swap improves Σ w·d.

    Each candidate-in is evaluated against every open site at once (Whitaker's fast interchange:
    nearest and second-nearest open site per demand), so a pass costs O(n·m). Candidates in
    ``fixed`` are never swapped out. Returns sorted open indices.
    """
    c = _finite(np.asarray(cost, dtype=float))
    n, m = c.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    is_open = np.zeros(m, dtype=bool)
    is_open[np.asarray(open_, dtype=int)] = True
    keep = np.zeros(m, dtype=bool)
    if fixed is not None:
        keep[np.asarray(fixed, dtype=int)] = True
    if is_open.sum() < 2 and is_open.sum() == m:
        return np.flatnonzero(is_open)
    rows = np.arange(n)

    def nearest_two(ids):
        sub = c[:, ids]
        if len(ids) >= 2:
            part = np.argpartition(sub, 1, axis=1)[:, :2]
            d_a = sub[rows, part[:, 0]]
            d_b = sub[rows, part[:, 1]]
            first = np.where(d_a > d_b, part[:, 1], part[:, 0])
            return first, np.minimum(d_a, d_b), np.maximum(d_a, d_b)
        return np.zeros(n, dtype=int), sub[:, 0], np.full(n, np.inf)

    for _ in range(max_passes):
        improved = False
        ids = np.flatnonzero(is_open)
        first, d1, d2 = nearest_two(ids)
        for j in np.flatnonzero(~is_open):
            cj = c[:, j]
            gain = float(w @ np.maximum(d1 - cj, 0.0))            # everyone may move to j
            # removing open r: its clients go to min(d2, cj) instead of min(d1, cj)
            extra = w * (np.minimum(d2, cj) - np.minimum(d1, cj))
            delta = np.bincount(first, weights=extra, minlength=len(ids)) - gain
            delta[keep[ids]] = np.inf
            r = int(np.argmin(delta))
            if delta[r] < -1e-9 * max(1.0, float(w @ d1)):
                is_open[ids[r]] = False
                is_open[j] = True
                improved = True
                ids = np.flatnonzero(is_open)
                first, d1, d2 = nearest_two(ids)
        if not improved:
            break
    return np.flatnonzero(is_open)


def median_objective(cost: np.ndarray, open_: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Σ_i w_i · min_{j open} cost_ij."""
    c = np.asarray(cost, dtype=float)[:, np.asarray(open_, dtype=int)]
    w = np.ones(c.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    return float(w @ c.min(axis=1))
