"""Lift a pure NumPy kernel to xarray: element-wise, lazy on Dask, coordinates kept whole.

Kernels run on each Dask chunk in row strips of a few hundred thousand pixels: their
temporaries (often float64) then stay small, warm in cache and reused by the allocator,
instead of a fresh chunk-sized buffer per operation. The result is identical: every kernel
lifted here is element-wise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import dask
import numpy as np
import xarray as xr
from numpy.typing import DTypeLike

__all__ = ["STRIP_PIXELS", "lift", "numpy_only"]

#: Pixels per strip: 2 MiB per float64 temporary.
STRIP_PIXELS = 1 << 18


def lift(
    kernel: Callable[..., np.ndarray],
    *args: Any,
    dtype: DTypeLike,
    kwargs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Apply an element-wise ``kernel`` to DataArrays (and scalars), lazily on Dask inputs.

    The result keeps the inputs' coordinates *with their attributes* (the ``spatial_ref``
    coordinate carries the CRS), but none of the inputs' own attributes: a derived quantity
    must not inherit, say, the ``standard_name`` of a reflectance band. Callers set its attrs.

    Parameters
    ----------
    kernel
        Element-wise NumPy function of the arrays, returning one array of the broadcast shape.
    *args
        DataArrays or scalars, passed positionally.
    dtype
        Output dtype.
    kwargs
        Extra keyword arguments for the kernel.
    """
    out = xr.apply_ufunc(
        functools.partial(_by_strips, kernel, np.dtype(dtype)),
        *args,
        kwargs=dict(kwargs or {}),
        dask="parallelized",
        output_dtypes=[np.dtype(dtype)],
        keep_attrs="drop_conflicts",
    )
    out.attrs = {}
    return out


def _by_strips(
    kernel: Callable[..., np.ndarray], out_dtype: np.dtype, /, *arrays: Any, **kwargs: Any
) -> np.ndarray:
    """Run ``kernel`` over row strips of the broadcast inputs, into one output array."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    if len(shape) < 2 or int(np.prod(shape)) <= STRIP_PIXELS:
        return np.asarray(kernel(*arrays, **kwargs), dtype=out_dtype)
    views = [np.broadcast_to(a, shape) for a in arrays]
    rows = max(1, STRIP_PIXELS // int(np.prod(shape[-1:] + shape[:-2])))
    out = np.empty(shape, dtype=out_dtype)
    for start in range(0, shape[-2], rows):
        strip = np.s_[..., start : start + rows, :]
        out[strip] = kernel(*(v[strip] for v in views), **kwargs)
    return out


def numpy_only(x: Any, name: str, instead: str) -> None:
    """Refuse a Dask-backed input to a NumPy kernel, naming the lazy function to use.

    A kernel calls ``np.asarray`` on its inputs: a Dask array (or a DataArray holding one)
    would be read whole there, or fail inside Dask, and come back without coordinates.

    Raises
    ------
    TypeError
        ``x`` is a Dask array or a DataArray of one.
    """
    data = x.data if isinstance(x, xr.DataArray) else x
    if dask.is_dask_collection(data):
        raise TypeError(
            f"{name} is a lazy (Dask) array, and this is a NumPy kernel, which would read it "
            f"whole: use {instead} (lazy, coordinates kept)"
        )
