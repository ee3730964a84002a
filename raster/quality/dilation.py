"""Dilation of rejection masks by a disk, on NumPy or lazily on Dask.

Used to grow cloud rejection by a few pixels; Dask chunks get a halo so that chunk borders do
not change the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.morphology import dilation, disk


def _check_radius(radius_px: int) -> int:
    if isinstance(radius_px, bool) or not isinstance(radius_px, int | np.integer) or radius_px < 0:
        raise ValueError(f"radius_px must be an integer >= 0; got {radius_px!r}")
    return int(radius_px)


def _dilate_numpy(reject: np.ndarray, radius_px: int) -> np.ndarray:
    mask = np.asarray(reject, dtype=bool)
    if radius_px == 0 or mask.size == 0:
        return mask.copy()
    footprint = disk(radius_px, dtype=bool).reshape(
        (1,) * (mask.ndim - 2) + (-1, 2 * radius_px + 1)
    )
    return dilation(mask, footprint, mode="ignore")


def dilate_mask(reject: Any, radius_px: int) -> Any:
    """Grow a rejection mask by a disk of ``radius_px`` pixels over its last two axes.

    Parameters
    ----------
    reject
        Boolean mask, True = rejected (e.g. cloud), at least 2-D with ``(..., y, x)`` axes; a
        NumPy array or a Dask array. Outside the array counts as not rejected.
    radius_px
        Disk radius in pixels (:func:`skimage.morphology.disk`); 0 returns a copy.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The dilated mask, same type and shape. Dask arrays are dilated lazily with
        ``map_overlap`` and a halo of ``radius_px``, so chunk borders do not change the result.

    Raises
    ------
    ValueError
        On a negative radius or an array with fewer than two dimensions.
    """
    radius_px = _check_radius(radius_px)
    if getattr(reject, "ndim", 0) < 2:
        raise ValueError("dilate_mask needs an array with at least two (y, x) dimensions")
    if not _is_dask(reject):
        return _dilate_numpy(reject, radius_px)
    mask = reject.astype(bool)
    if radius_px == 0:
        return mask
    depth = {mask.ndim - 2: radius_px, mask.ndim - 1: radius_px}
    return mask.map_overlap(
        _dilate_numpy,
        depth=depth,
        boundary="none",
        dtype=bool,
        radius_px=radius_px,
    )


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"
