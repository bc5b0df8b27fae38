"""Regenerate hills_plain.npz: road matrices of one township in each demo county.

    .venv/bin/python tests/data/routing_hills/make_fixture.py

Hilly: the westernmost township of data/demo_hills (Lushan 鲁山县), roads read with
terrain="hilly"; plain: the Pingyu (data/demo) township whose village count is closest. Index 0
is the township seat (the station), then the villages with wheat or maize; loads are the
villages' wheat + maize area (mu), which the test turns into tonnes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from netplan.roads import RoadNetwork

ROOT = Path(__file__).resolve().parents[3]


def township(folder: str, terrain: str, pick: str, n_like: int | None = None) -> dict:
    d = ROOT / "data" / folder
    net = RoadNetwork.from_file(d / "roads.osm", terrain=terrain)
    v = pd.read_csv(d / "villages.csv")
    v = v[(v.wheat_mu + v.maize_mu) > 0]
    feats = json.loads((d / "townships.geojson").read_text(encoding="utf-8"))["features"]
    seats = {int(f["properties"]["township_code"]): f["properties"] for f in feats}
    counts = v.groupby("township_code").size()
    if pick == "west":
        code = min((c for c in seats if c in counts.index), key=lambda c: seats[c]["seat_lon"])
    else:
        code = min((c for c in seats if c in counts.index), key=lambda c: abs(counts[c] - n_like))
    vv = v[v.township_code == code]
    pts = np.vstack([[seats[code]["seat_lon"], seats[code]["seat_lat"]],
                     vv[["lon", "lat"]].to_numpy()])
    return {"name": seats[code]["name"], "lonlat": pts,
            "crop_mu": (vv.wheat_mu + vv.maize_mu).to_numpy(float),
            "distance_m": net.distance_matrix(pts, pts),
            "time_tractor_s": net.distance_matrix(pts, pts, weight="time", vehicle="tractor"),
            "time_light_truck_s": net.distance_matrix(pts, pts, weight="time",
                                                      vehicle="light_truck")}


def main() -> None:
    hills = township("demo_hills", "hilly", "west")
    plain = township("demo", "plain", "like", n_like=len(hills["crop_mu"]))
    out = {f"{k}_{key}": np.asarray(val) for k, t in (("hills", hills), ("plain", plain))
           for key, val in t.items()}
    np.savez_compressed(Path(__file__).with_name("hills_plain.npz"), **out)
    for k, t in (("hills", hills), ("plain", plain)):
        print(k, t["name"], len(t["crop_mu"]), "villages")


if __name__ == "__main__":
    main()
