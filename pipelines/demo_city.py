"""A synthetic city for ``ilots demo``: land cover, reflectance, surface temperature, clouds.

Everything is deterministic (seeded) and physically plausible rather than real: a dense
mineral centre that is 4-8 K hotter than the suburbs, parks and a river that are cooler, a
vegetated rural ring, and summer clouds with their shadows. The products written from it say
they are synthetic in their metadata. Nothing here is a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSES", "CityModel", "Scene", "make_city"]

#: Land-cover classes of the synthetic city: code -> (name, red, nir, swir16, LST offset K).
#: Reflectances are typical summer surface reflectances; the offsets are relative to the
#: rural cropland of the same scene.
CLASSES: dict[int, tuple[str, float, float, float, float]] = {
    1: ("water", 0.03, 0.02, 0.01, -6.0),
    2: ("dense vegetation", 0.03, 0.40, 0.15, -3.0),
    3: ("low vegetation", 0.06, 0.30, 0.22, 0.0),
    4: ("dense built", 0.14, 0.18, 0.24, 7.0),
    5: ("suburban built", 0.10, 0.24, 0.22, 3.0),
    6: ("bare soil", 0.16, 0.24, 0.30, 2.0),
}


@dataclass(frozen=True)
class Scene:
    """One synthetic acquisition: date, platform, weather and cloud cover."""

    date: str
    platform: str
    rural_lst_k: float
    cloud_fraction: float
    seed: int


@dataclass(frozen=True)
class CityModel:
    """The synthetic city on a fine grid (10 m) from which every product is derived.

    Attributes
    ----------
    landcover
        Class codes of :data:`CLASSES`, shape ``(n, n)``.
    resolution
        Pixel size in metres of ``landcover``.
    origin
        ``(west, north)`` of the grid in ``crs``.
    crs
        EPSG code of the grid (a WGS 84 / UTM zone, as Landsat and Sentinel-2 deliver).
    """

    landcover: np.ndarray
    resolution: float
    origin: tuple[float, float]
    crs: int

    def reflectance(self, band: str, seed: int) -> np.ndarray:
        """Surface reflectance of a band (``red``, ``nir``, ``swir16``) with sensor noise."""
        column = {"red": 1, "nir": 2, "swir16": 3}[band]
        table = np.zeros(max(CLASSES) + 1)
        for code, row in CLASSES.items():
            table[code] = row[column]
        noise = np.random.default_rng(seed).normal(0.0, 0.006, self.landcover.shape)
        return np.clip(table[self.landcover] + noise, 0.001, 0.9)

    def surface_temperature(self, scene: Scene) -> np.ndarray:
        """Land surface temperature (K) of a scene: rural level + class offset + texture."""
        table = np.zeros(max(CLASSES) + 1)
        for code, row in CLASSES.items():
            table[code] = row[4]
        rng = np.random.default_rng(scene.seed)
        texture = _smooth(rng.normal(0.0, 1.0, self.landcover.shape), 8) * 3.0
        return scene.rural_lst_k + table[self.landcover] + texture

    def clouds(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """Cloud and cloud-shadow masks of a scene (shadows offset to the north-west)."""
        if scene.cloud_fraction <= 0:
            empty = np.zeros(self.landcover.shape, dtype=bool)
            return empty, empty
        rng = np.random.default_rng(scene.seed + 1000)
        field = _smooth(rng.normal(0.0, 1.0, self.landcover.shape), 25)
        cloud = field > np.quantile(field, 1.0 - scene.cloud_fraction)
        shift = max(2, self.landcover.shape[0] // 40)
        shadow = np.roll(np.roll(cloud, -shift, axis=0), -shift, axis=1) & ~cloud
        return cloud, shadow


def make_city(size_m: float = 9000.0, resolution: float = 10.0, seed: int = 7) -> CityModel:
    """Lay out the synthetic city: centre, suburbs, parks, a river, a rural ring.

    Parameters
    ----------
    size_m
        Edge of the square area in metres.
    resolution
        Pixel size in metres.
    seed
        Seed of the random layout details.

    Returns
    -------
    CityModel
        On a UTM 31N grid near Toulouse (EPSG:32631), for plausibility only.
    """
    n = round(size_m / resolution)
    rng = np.random.default_rng(seed)
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n  # 0..1, y downwards
    r = np.hypot(x - 0.5, y - 0.5)
    landcover = np.full((n, n), 3, dtype=np.uint8)  # rural low vegetation
    fields = _smooth(rng.normal(0, 1, (n, n)), 30) > 0.6
    landcover[fields & (r > 0.3)] = 6  # bare (harvested) fields
    landcover[(_smooth(rng.normal(0, 1, (n, n)), 20) > 0.9) & (r > 0.3)] = 2  # woods
    landcover[r < 0.3] = 5  # suburbs
    landcover[r < 0.14] = 4  # dense centre
    for cx, cy, radius in ((0.40, 0.40, 0.035), (0.62, 0.58, 0.045), (0.30, 0.66, 0.03)):
        landcover[np.hypot(x - cx, y - cy) < radius] = 2  # parks
    river = np.abs(y - (0.55 + 0.06 * np.sin(2 * np.pi * x * 1.5))) < 0.012
    landcover[river] = 1
    return CityModel(landcover, resolution, (360000.0, 4836000.0), 32631)


def _smooth(field: np.ndarray, passes: int) -> np.ndarray:
    """Cheap low-pass filter: repeated 3 x 3 box averaging, rescaled to unit variance."""
    out = field
    for _ in range(max(1, passes // 4)):
        padded = np.pad(out, 1, mode="reflect")
        out = (
            sum(
                padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            )
            / 9.0
        )
    return (out - out.mean()) / (out.std() or 1.0)
