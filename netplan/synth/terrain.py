"""Synthetic terrain: smooth noise fields, an elevation model and a reservoir.

Plain counties get a gentle 30-60 m surface; hilly counties a Lushan-like "七山一水二分田"
layout: mountains in the west (up to ~1,300 m), a main west-east river valley through the county
seat, tributary valleys (the zero lines of a smooth noise field) and a reservoir.
All coordinates in metres of the county's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class NoiseField:
    """A smooth random field on a coarse grid, sampled by bilinear interpolation.

    Values are standardised to mean 0, standard deviation 1 over the grid.
    """

    x0_m: float
    y0_m: float
    step_m: float
    values: NDArray[np.float64]

    def __call__(self, x_m: NDArray, y_m: NDArray) -> NDArray[np.float64]:
        """Field values at points (metres)."""
        cols = (np.asarray(x_m) - self.x0_m) / self.step_m
        rows = (np.asarray(y_m) - self.y0_m) / self.step_m
        return map_coordinates(self.values, [rows, cols], order=1, mode="nearest")


def noise_field(
    bounds_m: tuple[float, float, float, float], scale_m: float, rng: np.random.Generator
) -> NoiseField:
    """Gaussian-filtered white noise with correlation length ``scale_m`` over ``bounds_m``."""
    step = scale_m / 4.0
    xmin, ymin, xmax, ymax = bounds_m
    pad = 2 * scale_m
    nx = int(np.ceil((xmax - xmin + 2 * pad) / step)) + 1
    ny = int(np.ceil((ymax - ymin + 2 * pad) / step)) + 1
    white = rng.standard_normal((ny, nx))
    smooth = gaussian_filter(white, sigma=scale_m / step / 2.0, mode="wrap")
    smooth = (smooth - smooth.mean()) / smooth.std()
    return NoiseField(xmin - pad, ymin - pad, step, smooth)


def _smoothstep(e0: float, e1: float, x: NDArray) -> NDArray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass(frozen=True)
class Terrain:
    """Elevation model (metres above sea level) and water mask of a county."""

    kind: str
    bounds_m: tuple[float, float, float, float]
    seat_xy_m: tuple[float, float]
    reservoir: tuple[float, float, float, float] | None  # cx, cy, semi-major a, semi-minor b (m)
    _n_valley: NoiseField
    _n_height: NoiseField
    _n_small: NoiseField
    _n_river: NoiseField
    _n_fine: NoiseField
    basins_xy_m: tuple[tuple[float, float], ...] = ()   # real town seats: valley floors (hilly)
    basin_r_m: float = 1800.0

    def elevation_m(self, x_m: NDArray, y_m: NDArray) -> NDArray[np.float64]:
        """Ground elevation (m) at points."""
        floor, relief = self._parts(x_m, y_m)
        return floor + relief

    def relief_m(self, x_m: NDArray, y_m: NDArray) -> NDArray[np.float64]:
        """Height (m) above the local valley floor: 0 on valley bottoms and in the plain."""
        return self._parts(x_m, y_m)[1]

    def _parts(self, x_m: NDArray, y_m: NDArray) -> tuple[NDArray, NDArray]:
        x = np.asarray(x_m, dtype=float)
        y = np.asarray(y_m, dtype=float)
        small = self._n_small(x, y)
        xmin, _, xmax, _ = self.bounds_m
        u = (x - xmin) / max(xmax - xmin, 1.0)
        if self.kind != "hilly":
            return 45.0 - 6.0 * u, 4.0 * small + 4.0
        mountain = 1.0 - _smoothstep(0.42, 0.66, u)            # west -> east
        # main river (沙河-like) runs west-east through the seat, meandering
        river_y = self.seat_xy_m[1] + 2500.0 * self._n_river(x, np.full_like(x, self.seat_xy_m[1]))
        d_river = np.abs(y - river_y)
        main_valley = 1.0 - np.exp(-((d_river / 2500.0) ** 2))
        valley = np.clip(np.abs(self._n_valley(x, y)) / 0.7, 0.0, 1.0) ** 1.6
        height = 1100.0 * valley * (0.75 + 0.25 * np.tanh(self._n_height(x, y)))
        floor = 110.0 + 260.0 * (1.0 - u) ** 1.5
        relief = mountain * main_valley * height + (1 - mountain) * 12.0 * np.abs(small) + 3.0 * (small + 2)
        if self.basins_xy_m:    # a real town lies on a valley floor: flatten the relief around it
            d = cKDTree(np.asarray(self.basins_xy_m)).query(np.column_stack([x.ravel(), y.ravel()]))[0]
            relief = relief * (1.0 - np.exp(-((d.reshape(x.shape) / self.basin_r_m) ** 2)))
        return floor, relief

    def water(self, x_m: NDArray, y_m: NDArray) -> NDArray[np.bool_]:
        """True where a point lies in the reservoir."""
        x = np.asarray(x_m, dtype=float)
        y = np.asarray(y_m, dtype=float)
        if self.reservoir is None:
            return np.zeros(x.shape, dtype=bool)
        cx, cy, a, b = self.reservoir
        r = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2
        return r < 1.0 + 0.35 * self._n_fine(x, y)


def make_terrain(
    kind: str,
    bounds_m: tuple[float, float, float, float],
    seat_xy_m: tuple[float, float],
    rng: np.random.Generator,
    *,
    reservoir_xy_m: tuple[float, float] | None = None,
    reservoir_area_km2: float = 0.0,
    basins_xy_m: list[tuple[float, float]] | None = None,
) -> Terrain:
    """Build the terrain of a county ("plain" or "hilly").

    ``basins_xy_m``: points (the real township seats) around which the hills flatten into a
    valley floor within ~2 km, so real towns do not sit on synthetic mountainsides.
    """
    res = None
    if kind == "hilly" and reservoir_xy_m is not None and reservoir_area_km2 > 0:
        area = reservoir_area_km2 * 1e6
        a = np.sqrt(area * 1.8 / np.pi)
        res = (reservoir_xy_m[0], reservoir_xy_m[1], float(a), float(area / np.pi / a))
    return Terrain(
        kind=kind,
        bounds_m=bounds_m,
        seat_xy_m=seat_xy_m,
        reservoir=res,
        _n_valley=noise_field(bounds_m, 5000.0, rng),
        _n_height=noise_field(bounds_m, 9000.0, rng),
        _n_small=noise_field(bounds_m, 2500.0, rng),
        _n_river=noise_field(bounds_m, 15000.0, rng),
        _n_fine=noise_field(bounds_m, 900.0, rng),
        basins_xy_m=tuple((float(a), float(b)) for a, b in (basins_xy_m or [])),
    )
