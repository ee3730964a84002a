"""The one rule every float kernel of :mod:`raster` ends with: a new float array, NaN not ±inf."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["finish_float"]


def finish_float(values: ArrayLike, dtype: DTypeLike) -> NDArray[np.floating]:
    """Cast to ``dtype`` (a float type) in a new array and turn non-finite values into NaN.

    Raises
    ------
    ValueError
        If ``dtype`` is not a floating type.
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {dt}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(values).astype(dt)
    np.copyto(out, np.nan, where=~np.isfinite(out))
    return out
