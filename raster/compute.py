"""Compute lazy arrays into memory, chunk by chunk, straight into their final buffers."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

__all__ = ["compute_into_memory"]


def compute_into_memory(*arrays: xr.DataArray) -> tuple[xr.DataArray, ...]:
    """Compute DataArrays in one pass, each chunk written into a preallocated NumPy array.

    ``dask.compute`` assembles each result by concatenating its chunks at the end, a serial
    copy of the whole output while every chunk is still held; storing every chunk into its
    place as soon as it is computed makes that copy chunk by chunk, spread over the
    scheduler's workers, and lets each chunk go at once (the copy itself remains). Shared
    inputs are read once, as with ``dask.compute``.

    Parameters
    ----------
    *arrays
        DataArrays, Dask- or NumPy-backed.

    Returns
    -------
    The same DataArrays (coordinates and attributes kept) backed by NumPy arrays.
    """
    lazy = [a for a in arrays if isinstance(a.data, da.Array)]
    targets = {id(a): np.empty(a.shape, dtype=a.dtype) for a in lazy}
    if lazy:
        da.store([a.data for a in lazy], [targets[id(a)] for a in lazy], lock=False)
    return tuple(a.copy(data=targets[id(a)]) if id(a) in targets else a for a in arrays)
