"""Prefecture and province scale: plan every county of a region on Dask and merge the results.

Public API
----------
run_batch(region_dir, scenario_path, out_dir, *, scheduler=None, workers=None, ...) -> BatchResult
    Plan each county folder of ``region_dir`` in parallel (LocalCluster or an existing scheduler),
    skipping counties already done with the same input hash; failures are captured per county.
merge_region(out_dir, results, *, title="", maps=True, tier3=None) -> RegionOutputs
    ``region.gpkg``, ``region_kpis.csv``, ``batch_status.csv`` and the region map ``index.html``.
write_region_map(path, counties, *, title, tier3=None) -> Path
    Counties coloured by target attainment, linking to each county's maps (offline).
regional_tier3(sites, params, *, circuity=1.3, ...) -> Tier3Result
    Cross-county siting of county centres over the counties' township stations.
make_region(out_dir, *, counties=None, seed=0, n_villages=None, ...) -> list[dict]
    A synthetic region: the county generator inside a seed prefecture's real outlines.

The command is ``netplan batch`` (:mod:`netplan.batch.command`); see docs/batch.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from netplan.batch.runner import BatchResult, CountyJob, CountyResult, run_batch

_LAZY = {
    "merge_region": "netplan.batch.merge",
    "RegionOutputs": "netplan.batch.merge",
    "write_region_map": "netplan.batch.region_map",
    "regional_tier3": "netplan.batch.tier3",
    "tier3_params": "netplan.batch.tier3",
    "Tier3Params": "netplan.batch.tier3",
    "Tier3Result": "netplan.batch.tier3",
    "make_region": "netplan.batch.region",
}

__all__ = ["BatchResult", "CountyJob", "CountyResult", "run_batch", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import the geo-heavy parts (merge, map, tier 3, region generator) on first use."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    msg = f"module 'netplan.batch' has no attribute {name!r}"
    raise AttributeError(msg)
