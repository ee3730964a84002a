"""Per-pixel predictors of surface temperature: NDVI, albedo, land-cover shares, distances.

The scenario model (:mod:`.model`) explains the run's target raster on the analysis grid with:

``ndvi``
    The median NDVI of the run (``rasters/ndvi_median.tif``).
``albedo``
    The median Sentinel-2 broadband albedo (``rasters/albedo_median.tif``), when the run has it.
``built_share``, ``vegetation_share``, ``water_share``
    Share of the valid pixels of a ``window_px`` × ``window_px`` square centred on each pixel
    that are built, vegetated (dense or low) or water, in the run's land cover (a uniform
    filter of the one-hot classes, computed with exact integer window counts so that pixels
    far from a change keep bit-identical values).
``dist_water_m``, ``dist_dense_vegetation_m``
    Euclidean distance in metres from each pixel's centre to the nearest water pixel and the
    nearest dense-vegetation pixel (parks, woods): :func:`scipy.ndimage.distance_transform_edt`,
    0 on such pixels, capped at ``distance_cap_m`` (and equal to the cap when the class is
    absent from the grid).

Everything here is a pure NumPy function of a :class:`Surface` (what a scenario changes: NDVI,
albedo and land-cover codes); inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from raster.landcover import LandCover

__all__ = [
    "LANDCOVER_PREDICTORS",
    "PREDICTORS",
    "RESPONSE_SIGNS",
    "Surface",
    "box_counts",
    "class_shares",
    "compute_predictors",
    "distance_to",
    "update_predictors",
]

#: Every predictor, in the column order of the model's design matrix.
PREDICTORS: tuple[str, ...] = (
    "ndvi",
    "albedo",
    "built_share",
    "vegetation_share",
    "water_share",
    "dist_water_m",
    "dist_dense_vegetation_m",
)
#: The predictors derived from the land-cover codes (recomputed when a scenario reclassifies).
LANDCOVER_PREDICTORS: tuple[str, ...] = PREDICTORS[2:]
#: Physically expected sign of the surface-temperature response to each predictor: -1 when
#: the surface is cooler as the predictor grows (vegetation, water, brighter surfaces), +1
#: when warmer. The gradient-boosting model is constrained to these (monotonic constraints).
RESPONSE_SIGNS: Mapping[str, int] = {
    "ndvi": -1,
    "albedo": -1,
    "built_share": 1,
    "vegetation_share": -1,
    "water_share": -1,
    "dist_water_m": 1,
    "dist_dense_vegetation_m": 1,
}
_SHARE_CLASSES: Mapping[str, tuple[int, ...]] = {
    "built_share": (int(LandCover.BUILT),),
    "vegetation_share": (int(LandCover.DENSE_VEGETATION), int(LandCover.LOW_VEGETATION)),
    "water_share": (int(LandCover.WATER),),
}
_DISTANCE_CLASSES: Mapping[str, int] = {
    "dist_water_m": int(LandCover.WATER),
    "dist_dense_vegetation_m": int(LandCover.DENSE_VEGETATION),
}


@dataclass(frozen=True)
class Surface:
    """What a scenario can change, per pixel of the analysis grid.

    Attributes
    ----------
    ndvi
        NDVI, NaN where unknown.
    albedo
        Broadband albedo, NaN where unknown; ``None`` when the run has no albedo raster.
    landcover
        Land-cover codes of :class:`raster.landcover.LandCover` (0 is no data).
    """

    ndvi: np.ndarray
    albedo: np.ndarray | None
    landcover: np.ndarray

    def __post_init__(self) -> None:
        shapes = {self.ndvi.shape, self.landcover.shape}
        if self.albedo is not None:
            shapes.add(self.albedo.shape)
        if len(shapes) != 1 or self.ndvi.ndim != 2:
            raise ValueError(f"surface layers must be 2-D arrays of one shape (got {shapes})")


def box_counts(mask: np.ndarray, window_px: int) -> np.ndarray:
    """Count the true pixels of the ``window_px`` square centred on every pixel (zero padding).

    Exact integer counts from a summed-area table: a change of one pixel changes the counts of
    its window only.
    """
    if window_px < 1 or window_px % 2 == 0:
        raise ValueError(f"window_px must be a positive odd number (got {window_px})")
    r = window_px // 2
    padded = np.pad(np.asarray(mask, dtype=np.int64), r)
    table = np.pad(padded.cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))
    n0, n1 = mask.shape
    w = window_px
    return (
        table[w : w + n0, w : w + n1]
        - table[0:n0, w : w + n1]
        - table[w : w + n0, 0:n1]
        + table[0:n0, 0:n1]
    )


def class_shares(landcover: np.ndarray, codes: tuple[int, ...], window_px: int) -> np.ndarray:
    """Share of the valid pixels (code > 0) of each pixel's window whose code is in ``codes``.

    Returns float64, NaN where the window holds no valid pixel.
    """
    valid = box_counts(landcover > 0, window_px)
    hits = box_counts(np.isin(landcover, codes), window_px)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid > 0, hits / np.maximum(valid, 1), np.nan)


def distance_to(mask: np.ndarray, resolution: float, cap_m: float) -> np.ndarray:
    """Distance in metres from every pixel centre to the nearest true pixel, capped at ``cap_m``.

    Returns float64: 0 on true pixels, ``cap_m`` everywhere when no pixel is true.
    """
    if not mask.any():
        return np.full(mask.shape, float(cap_m))
    distance = ndimage.distance_transform_edt(~mask, sampling=float(resolution))
    return np.minimum(np.asarray(distance, dtype=np.float64), float(cap_m))


def _landcover_predictors(
    landcover: np.ndarray, *, resolution: float, window_px: int, distance_cap_m: float
) -> dict[str, np.ndarray]:
    out = {
        name: class_shares(landcover, codes, window_px) for name, codes in _SHARE_CLASSES.items()
    }
    for name, code in _DISTANCE_CLASSES.items():
        out[name] = distance_to(landcover == code, resolution, distance_cap_m)
    return out


def compute_predictors(
    surface: Surface, *, resolution: float, window_px: int = 3, distance_cap_m: float = 1000.0
) -> dict[str, np.ndarray]:
    """Compute every predictor of :data:`PREDICTORS` (``albedo`` only when the surface has one).

    Parameters
    ----------
    surface
        NDVI, albedo and land cover on the grid.
    resolution
        Pixel size in metres.
    window_px
        Edge of the square neighbourhood of the shares, odd.
    distance_cap_m
        Largest distance kept, metres.

    Returns
    -------
    dict
        Name → float64 array; NaN where a predictor is unknown (no-data land cover, missing
        NDVI or albedo).
    """
    valid = surface.landcover > 0
    out = {"ndvi": np.where(valid, surface.ndvi.astype(np.float64), np.nan)}
    if surface.albedo is not None:
        out["albedo"] = np.where(valid, surface.albedo.astype(np.float64), np.nan)
    derived = _landcover_predictors(
        surface.landcover,
        resolution=resolution,
        window_px=window_px,
        distance_cap_m=distance_cap_m,
    )
    out.update({name: np.where(valid, values, np.nan) for name, values in derived.items()})
    return {name: out[name] for name in PREDICTORS if name in out}


def update_predictors(
    baseline: Mapping[str, np.ndarray],
    before: Surface,
    after: Surface,
    *,
    resolution: float,
    window_px: int = 3,
    distance_cap_m: float = 1000.0,
) -> dict[str, np.ndarray]:
    """Predictors of a changed surface, reusing the baseline ones where nothing they use changed.

    The land-cover predictors are recomputed only when the land cover changed; NDVI and albedo
    are taken from ``after``. Unchanged inputs give bit-identical predictors, so a scenario that
    changes nothing predicts exactly the baseline.
    """
    if np.array_equal(before.landcover, after.landcover):
        out = dict(baseline)
        valid = after.landcover > 0
        out["ndvi"] = np.where(valid, after.ndvi.astype(np.float64), np.nan)
        if after.albedo is not None and "albedo" in baseline:
            out["albedo"] = np.where(valid, after.albedo.astype(np.float64), np.nan)
        return out
    fresh = compute_predictors(
        after, resolution=resolution, window_px=window_px, distance_cap_m=distance_cap_m
    )
    return {name: fresh[name] for name in baseline}
