"""Input checks and model reductions: pairs beyond the radius, dominated candidates and demands."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from netplan.errors import InfeasibleError, InputError, Unservable


def check_cost(cost: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (n_demand, n_candidate) cost array and demand weights; return float copies."""
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
        msg = f"cost must be a non-empty 2-d array (n_demand, n_candidate), got shape {c.shape}"
        raise InputError(msg, field="cost")
    if np.isnan(c).any() or (c < 0).any():
        msg = "cost must be non-negative; use inf for pairs that are not allowed"
        raise InputError(msg, field="cost")
    w = np.ones(c.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (c.shape[0],) or not np.isfinite(w).all() or (w < 0).any():
        msg = f"weights must be {c.shape[0]} finite non-negative numbers"
        raise InputError(msg, field="weights")
    return c, w


def require_reachable(c: np.ndarray, what: str = "any candidate") -> None:
    """Raise InfeasibleError naming the demands with no finite cost to any candidate."""
    bad = np.flatnonzero(~np.isfinite(c).any(axis=1))
    if len(bad):
        msg = f"{len(bad)} demand(s) cannot reach {what}"
        raise InfeasibleError(msg, unservable=[Unservable(int(i), f"every cost to {what} is inf")
                                               for i in bad])


def coverage_matrix(c: np.ndarray, radius: float) -> sp.csr_matrix:
    """Boolean sparse (n_demand, n_candidate) matrix of pairs within ``radius`` (pair dropping)."""
    rows, cols = np.nonzero(np.isfinite(c) & (c <= radius))
    return sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=c.shape)


def dominated_candidates(a: sp.csr_matrix, keep: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of candidates whose covered set is contained in another candidate's.

    Among identical sets the lowest index survives. ``keep`` candidates are never dominated.
    Valid for unit-cost covering models (LSCP, MCLP).
    """
    ac = a.tocsc().astype(np.int32)
    size = np.asarray(ac.sum(axis=0)).ravel()
    overlap = (ac.T @ ac).tocoo()
    dom = np.zeros(a.shape[1], dtype=bool)
    i, j, v = overlap.row, overlap.col, overlap.data
    m = (i != j) & (v == size[i]) & ((size[j] > size[i]) | ((size[j] == size[i]) & (j < i)))
    dom[np.unique(i[m])] = True
    dom[size == 0] = True
    if keep is not None:
        dom[keep] = False
    return dom


def dominated_demands(a: sp.csr_matrix) -> np.ndarray:
    """Boolean mask of demands whose candidate set contains another demand's (full cover only):
    covering the smaller set covers them too. Among identical sets the lowest index survives."""
    ar = a.tocsr().astype(np.int32)
    size = np.asarray(ar.sum(axis=1)).ravel()
    overlap = (ar @ ar.T).tocoo()
    i, j, v = overlap.row, overlap.col, overlap.data
    # demand i is dominated when set(j) ⊆ set(i)
    m = (i != j) & (v == size[j]) & ((size[i] > size[j]) | ((size[i] == size[j]) & (j < i)))
    dom = np.zeros(a.shape[0], dtype=bool)
    dom[np.unique(i[m])] = True
    return dom


def nearest_open(c: np.ndarray, open_: np.ndarray, radius: float | None = None) -> np.ndarray:
    """Per demand, the nearest open candidate (index into the full candidate set) or -1."""
    open_ = np.asarray(open_, dtype=int)
    if len(open_) == 0:
        return np.full(c.shape[0], -1, dtype=int)
    sub = c[:, open_]
    k = np.argmin(sub, axis=1)
    d = sub[np.arange(c.shape[0]), k]
    out = open_[k]
    bad = ~np.isfinite(d)
    if radius is not None:
        bad |= d > radius
    return np.where(bad, -1, out)
