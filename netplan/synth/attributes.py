"""Village and farm attributes calibrated to county statistics (domain.md section 6).

Totals (population, cropland, crop areas, livestock) come from the calibration profile and are
split over villages in proportion to their land and people, with log-normal noise; the farm
herd sizes are scaled so each species lands on its scale-farm share of the county stock.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from netplan.synth.places import allocate

MU_PER_KM2 = 1500.0
CROP_COLUMNS = ("wheat_mu", "maize_mu", "rice_mu", "soybean_mu", "peanut_mu", "sesame_mu",
                "sweet_potato_mu", "tobacco_mu", "vegetable_film_mu", "greenhouse_mu")
SUMMER = CROP_COLUMNS[1:]
# share of villages growing a minor crop at all (E)
PRESENCE = {"rice_mu": 0.35, "tobacco_mu": 0.25, "greenhouse_mu": 0.35, "sweet_potato_mu": 0.6}
SPECIES_ZH = {"pig": "生猪", "dairy": "奶牛", "beef": "肉牛", "sheep": "肉羊", "layer": "蛋鸡", "broiler": "肉鸡"}
# median herd size of a scale farm, head (E; GB 18596-2001 scale thresholds are 500 pigs,
# 100 cattle, 15,000 layers, 30,000 broilers - domain.md 1.5, B)
FARM_MEDIAN = {"pig": 2500, "dairy": 400, "beef": 300, "sheep": 600, "layer": 60000, "broiler": 40000}
FARM_MIN = {"pig": 500, "dairy": 100, "beef": 100, "sheep": 200, "layer": 10000, "broiler": 10000}


#: E: engineering estimate — an urban 社区/居委会 is usually 1,000–3,000 households (a few thousand to
#: ten thousand people); 15,000 people on average is the most a generated county gives its communities
COMMUNITY_MEAN_MAX_PEOPLE = 15_000


def _split(total: float, weights: NDArray[np.float64]) -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=float)
    return total * w / w.sum() if w.sum() > 0 else np.zeros(len(w))


def village_table(
    *,
    prof: dict[str, Any],
    area_km2: float,
    rng: np.random.Generator,
    land_weight: NDArray[np.float64],
    is_community: NDArray[np.bool_],
    is_seat_village: NDArray[np.bool_],
) -> pd.DataFrame:
    """Numeric attributes of every village (households, population, crops in mu, livestock head).

    Parameters
    ----------
    land_weight
        Relative farmland of each village (its share of the lattice, weighted by suitability).
    is_community
        True for urban communities (社区) of 街道: urban population, no farmland or livestock.
    is_seat_village
        True for the village at a township seat (takes the town's urban population).
    """
    n = len(land_weight)
    rural = ~is_community
    pop_total = float(prof.get("population", prof["population_per_km2"] * area_km2))
    urban = pop_total * float(prof["urban_share"])
    w_pop = rng.lognormal(0.0, 0.35, n)
    pop = np.zeros(n)
    # three quarters of the town's people live in its communities, but no more than
    # COMMUNITY_MEAN_MAX_PEOPLE each on average: a county whose 2016 list has only one or two
    # 居委会 would otherwise pack a whole county town into one (e.g. 正阳 411724: 180,000 people)
    # (the seat villages likewise); town people beyond both live in urban units the village list
    # does not have, outside the rural networks, and are left out of the table
    in_communities = min(0.75 * urban, COMMUNITY_MEAN_MAX_PEOPLE * int(is_community.sum()))
    in_seats = min(urban - in_communities, COMMUNITY_MEAN_MAX_PEOPLE * int(is_seat_village.sum()))
    pop_total -= urban - in_communities - in_seats
    pop[is_community] = _split(in_communities, w_pop[is_community])
    pop[is_seat_village] += _split(in_seats, w_pop[is_seat_village])
    if rural.any():
        pop[rural] += _split(pop_total - urban,
                             w_pop[rural] * (0.5 + land_weight[rural] / land_weight[rural].mean()))
    pop_i = allocate(int(round(pop_total)), pop, minimum=0) if pop.sum() > 0 else np.zeros(n, dtype=np.int64)
    hh = np.round(pop_i / float(prof["household_size"]) * rng.uniform(0.93, 1.07, n)).astype(np.int64)
    crop_total = area_km2 * float(prof["cropland_share"]) * MU_PER_KM2
    land = np.where(rural, land_weight * rng.lognormal(0.0, 0.15, n), 0.0)
    cropland = _split(crop_total, land)
    cols: dict[str, NDArray] = {}
    for c in CROP_COLUMNS:
        share = float(prof["crop_share"][c])
        noise = rng.lognormal(0.0, 0.06 if share > 0.3 else 0.2 if share > 0.1 else 0.5, n)
        if c in PRESENCE:
            noise = noise * (rng.random(n) < PRESENCE[c]) / PRESENCE[c]
        vals = cropland * share * noise
        cols[c] = _split(share * crop_total, vals) if vals.sum() > 0 else vals
    cols["wheat_mu"] = np.minimum(cols["wheat_mu"], cropland)
    summer = sum(cols[c] for c in SUMMER)
    scale = np.where(summer > 0.98 * cropland, 0.98 * cropland / np.maximum(summer, 1e-9), 1.0)
    for c in SUMMER:
        cols[c] = cols[c] * scale
    df = pd.DataFrame({"households": hh, "population": pop_i,
                       "cropland_mu": np.round(cropland).astype(np.int64)})
    for c in CROP_COLUMNS:
        df[c] = np.floor(cols[c]).astype(np.int64)
    share = prof["scale_farm_share"]
    w_stock = pop_i * rural * rng.lognormal(0.0, 0.6, n)
    for col, key, sp in (("pigs", "pigs_per_km2", "pig"), ("cattle", "cattle_per_km2", "cattle"),
                         ("sheep", "sheep_per_km2", "sheep")):
        tot = float(prof[key]) * area_km2 * (1.0 - float(share[sp]))
        df[col] = np.round(_split(tot, w_stock * rng.lognormal(0.0, 0.4, n))).astype(np.int64)
    df["poultry"] = np.round(hh * rural * float(prof["smallholder_poultry_per_household"])
                             * rng.lognormal(0.0, 0.3, n)).astype(np.int64)
    return df


def land_weights(xy_m: NDArray[np.float64], suit: NDArray[np.float64], village_xy_m: NDArray[np.float64],
                 farming: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Farmland weight of each village: the suitability of the lattice nodes nearest to it."""
    idx = np.flatnonzero(farming)
    w = np.zeros(len(village_xy_m))
    if len(idx) == 0:
        return w
    _, near = cKDTree(village_xy_m[idx]).query(xy_m)
    np.add.at(w, idx[near], suit)
    return w + 1e-9


def farm_table(*, prof: dict[str, Any], area_km2: float, n_farms: int, rng: np.random.Generator) -> pd.DataFrame:
    """Species and stock (存栏, head) of the scale farms; species totals hit the calibrated share."""
    mix = prof["farm_species_mix"]
    species = list(mix)
    counts = allocate(n_farms, np.array([mix[s] for s in species], dtype=float), minimum=0)
    sp = np.repeat(species, counts)
    sp = sp[rng.permutation(len(sp))]
    share = prof["scale_farm_share"]
    cattle = float(prof["cattle_per_km2"]) * area_km2 * float(share["cattle"])
    target = {
        "pig": float(prof["pigs_per_km2"]) * area_km2 * float(share["pig"]),
        "layer": float(prof["layers_per_km2"]) * area_km2 * float(share["layer"]),
        "broiler": float(prof["broilers_per_km2"]) * area_km2 * float(share["broiler"]),
        "dairy": 0.3 * cattle, "beef": 0.7 * cattle,
        "sheep": float(prof["sheep_per_km2"]) * area_km2 * float(share["sheep"]),
    }
    stock = np.zeros(len(sp))
    for s in species:
        m = sp == s
        if not m.any():
            continue
        raw = rng.lognormal(np.log(FARM_MEDIAN[s]), 0.6, int(m.sum()))
        scaled = raw * target[s] / raw.sum()
        stock[m] = np.maximum(scaled, FARM_MIN[s])
    step = np.where(np.isin(sp, ["layer", "broiler"]), 1000, 10)
    stock = np.round(stock / step) * step
    return pd.DataFrame({"species": sp, "stock_head": stock.astype(np.int64)})
