"""Prefecture and province scale: plan every county of a region on Dask and merge the results.

Public API
----------
run_batch(region_dir, scenario_path, out_dir, *, scheduler=None, workers=None, ...) -> BatchResult
    Plan each county folder of ``region_dir`` in parallel (LocalCluster or an existing scheduler),
    skipping counties already done with the same input hash; failures are captured per county.
merge_region(out_dir, results, ...) -> RegionOutputs
    ``region.gpkg``, ``region_kpis.csv`` and ``batch_status.csv`` from the county run folders.
write_region_map(path, counties, ...) -> Path
    ``index.html``: counties coloured by target attainment, linking to each county's maps.
regional_tier3(sites, ...) -> Tier3Result
    Cross-county siting of county centres over the counties' township stations.
"""

from netplan.batch.runner import BatchResult, CountyJob, CountyResult, run_batch

__all__ = ["BatchResult", "CountyJob", "CountyResult", "run_batch"]
