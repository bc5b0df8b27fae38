"""HTML coverage maps (folium, bundled Leaflet, no network) and static PNG figures of a run.

Public API
----------
write_maps(out_dir, layers, kpis, *, title, streams, ...) -> list[Path]
    ``index.html`` (all streams) and ``<stream>.html`` per stream (docs/outputs.md).
write_compare_map(path, layers_a, layers_b, *, labels=("A", "B"), ...) -> Path
    Two layouts side by side, pan and zoom synchronised.
write_pngs(out_dir, layers, kpis, *, streams, ...) -> list[Path]
    Matplotlib figures of the same maps for reports.
service_area_layers(network, sites, radius_m) -> dict[str, GeoDataFrame]
    Road-network service areas of the open village points, for ``write_maps``.
"""

from netplan.maps.areas import service_area_layers
from netplan.maps.compare import write_compare_map
from netplan.maps.pages import BACKGROUNDS, write_maps
from netplan.maps.static import write_pngs

__all__ = ["BACKGROUNDS", "service_area_layers", "write_compare_map", "write_maps", "write_pngs"]
