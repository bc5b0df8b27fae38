"""A layout: which sites are open for which stream and tier, and who delivers to whom.

Both an optimised plan and a planner's hand-made layout are a :class:`Layout`; evaluation scores
either with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SITE_COLUMNS = ["site_id", "stream", "tier", "status", "capacity_t", "parent_id"]
ASSIGN_COLUMNS = ["stream", "demand_id", "point_id", "dist_m"]


@dataclass(frozen=True)
class Layout:
    """Open sites and assignments.

    Attributes
    ----------
    sites
        One row per open (site, stream, tier): site_id, stream, tier, status ("new"/"existing"),
        capacity_t (t/yr), parent_id (site_id of the next-tier site it sends to; None for county centres).
    demand_point
        One row per (stream, demand): stream, demand_id, point_id (None where unserved), dist_m (road m).
    source
        "optimised" or the file a hand-made layout came from.
    solve
        Per stream solver facts: status, objective, bound, gap, solve_time_s.
    """

    sites: pd.DataFrame
    demand_point: pd.DataFrame
    source: str = "optimised"
    solve: dict[str, dict[str, Any]] = field(default_factory=dict)

    def open_sites(self, stream: str, tier: str) -> pd.DataFrame:
        """Open sites of one stream and tier."""
        s = self.sites
        return s[(s["stream"] == stream) & (s["tier"] == tier)]
