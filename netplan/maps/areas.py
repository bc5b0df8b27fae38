"""Service areas for the maps: road-network reach of each open site, from the road engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd


def service_area_layers(
    network: Any,
    sites: gpd.GeoDataFrame,
    radius_m: Mapping[str, float],
    *,
    tier: str = "village_point",
) -> dict[str, gpd.GeoDataFrame]:
    """Per stream, the area within the tier's service radius along the roads of each open site.

    Parameters
    ----------
    network
        A :class:`netplan.roads.RoadNetwork`; its ``service_areas`` gives road-reach polygons
        (circles of radius / circuity on the crow-fly fallback).
    sites
        The plan's ``sites`` layer (site_id, stream, tier, geometry; EPSG:4326).
    radius_m
        Per stream the tier's service radius in road metres (streams missing are skipped).
    tier
        Which tier's sites to draw areas for (default the village points, whose radius is the
        plans' "within reach").

    Returns
    -------
    dict
        stream -> GeoDataFrame (site_id, limit_m, geometry) in EPSG:4326, ready for
        :func:`netplan.maps.write_maps` ``service_areas``.
    """
    s4 = sites.to_crs(4326) if sites.crs is not None else sites
    out: dict[str, gpd.GeoDataFrame] = {}
    for stream, r in radius_m.items():
        part = s4[(s4["stream"] == stream) & (s4["tier"] == tier)]
        if not len(part):
            continue
        polys = network.service_areas(part.geometry, float(r), weight="length")
        out[stream] = gpd.GeoDataFrame(
            {"site_id": part["site_id"].astype(str).to_numpy(), "limit_m": float(r)},
            geometry=list(polys), crs=4326)
    return out
