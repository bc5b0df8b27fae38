"""Synthetic-but-grounded county generator (real outline, townships and villages; synthetic rest).

``generate_county(adcode, out_dir, *, seed=0, terrain=None, n_villages=None, ...)`` writes a
county folder (county.toml, boundary.geojson, townships.geojson, villages.csv, farms.csv,
sites.csv, roads.osm, README.md) that :func:`netplan.inputs.load_county` reads like a planner's own data.
"""

from netplan.synth.admin import available_adcodes, load_county
from netplan.synth.county import FILES, GENERATOR_VERSION, generate_county, metric_crs_for

__all__ = ["FILES", "GENERATOR_VERSION", "available_adcodes", "generate_county", "load_county", "metric_crs_for"]
