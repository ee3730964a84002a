"""Shared helpers of the thermal kernels: float64 inputs, float results, unit checks.

Every kernel of :mod:`raster.thermal` computes in float64 and returns a new float array with
NaN, never ±inf, where an input is NaN or out of its physical domain (science.md §2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from raster._floats import finish_float as _finish  # noqa: F401  (used by the kernels)
from raster._lift import numpy_only


def _f64(x: ArrayLike) -> NDArray[np.float64]:
    numpy_only(x, "an input", "raster.thermal's xarray wrappers, surface_temperature_l2, "
               "lst_level1, scene_utfvi or scene_zscore,")  # fmt: skip
    return np.asarray(x, dtype=np.float64)


_WAVELENGTH_HINT = ": give the wavelength in micrometres (10.895 for TIRS B10), not metres"
_RHO_HINT = ": give h*c/k_B in micrometre-kelvin (14388), not m*K"


def _check_scalar(name: str, value: Any, low: float, high: float, hint: str = "") -> None:
    """Raise ``ValueError`` if a scalar parameter lies outside ``[low, high]``."""
    if np.ndim(value) == 0 and not low <= float(value) <= high:
        raise ValueError(f"{name}={value} is outside [{low}, {high}]{hint}")
