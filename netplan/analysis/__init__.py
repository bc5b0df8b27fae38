"""Analyses on top of the planner: cost–coverage frontiers and near-optimal alternatives.

They build scenario variants, call the planner and write ordinary run folders (one per solve);
many solves go to the Dask engine of ``netplan batch``.
"""

from netplan.analysis.curve import frontier
from netplan.analysis.near_optimal import alternatives

__all__ = ["alternatives", "frontier"]
