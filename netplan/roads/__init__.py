"""The road engine: road files → graph → snapping → many-to-many travel costs, routes, reach.

Public entry::

    from netplan.roads import RoadNetwork
    net = RoadNetwork.from_file("roads.osm.pbf", boundary=county_polygon)
    d_m = net.distance_matrix(villages, sites)                  # metres, inf = unreachable
    t_s = net.distance_matrix(villages, sites, weight="time", vehicle="tractor")

Modules: ``readers`` (OSM/GraphML/line layers), ``graph`` (array form), ``speeds`` (vehicle ×
road class speeds from data/speeds.toml), ``snap`` (points → edges), ``matrix`` (compiled
multi-source Dijkstra), ``geometry`` (routes, service areas), ``cache`` (on-disk matrices).
"""

from netplan.roads.network import RoadNetwork, points_lonlat
from netplan.roads.snap import SnapReport
from netplan.roads.speeds import SpeedTable, load_speeds

__all__ = ["RoadNetwork", "SnapReport", "SpeedTable", "load_speeds", "points_lonlat"]
