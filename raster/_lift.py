"""Lift a pure NumPy kernel to xarray: element-wise, lazy on Dask, coordinates kept whole."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import DTypeLike

__all__ = ["lift"]


def lift(
    kernel: Callable[..., np.ndarray],
    *args: Any,
    dtype: DTypeLike,
    kwargs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Apply ``kernel`` element-wise to DataArrays (and scalars), lazily on Dask inputs.

    The result keeps the inputs' coordinates *with their attributes* (the ``spatial_ref``
    coordinate carries the CRS), but none of the inputs' own attributes: a derived quantity
    must not inherit, say, the ``standard_name`` of a reflectance band. Callers set its attrs.

    Parameters
    ----------
    kernel
        NumPy function of the arrays, returning one array of the broadcast shape.
    *args
        DataArrays or scalars, passed positionally.
    dtype
        Output dtype declared to Dask.
    kwargs
        Extra keyword arguments for the kernel.
    """
    out = xr.apply_ufunc(
        kernel,
        *args,
        kwargs=dict(kwargs or {}),
        dask="parallelized",
        output_dtypes=[np.dtype(dtype)],
        keep_attrs="drop_conflicts",
    )
    out.attrs = {}
    return out
