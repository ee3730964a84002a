"""Urban heat island metrics of one scene: UTFVI and the standardised anomaly (science.md §4.1).

NumPy kernels; :mod:`raster.thermal.scene` lifts them to xarray per scene.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _f64, _finish


def _reference_values(x: NDArray[np.float64], reference: ArrayLike | None) -> NDArray[np.float64]:
    if reference is None:
        return x
    ref = np.broadcast_to(np.asarray(reference, dtype=bool), x.shape)
    return np.where(ref, x, np.nan)


def _nanstat(func: Any, values: NDArray[np.float64], axis: Any, **kwargs: Any) -> Any:
    """``np.nanmean``/``np.nanstd`` without warnings for empty or too-small slices."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(values, axis=axis, keepdims=True, **kwargs)


def utfvi(
    ts_kelvin: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = None,
    reference: ArrayLike | None = None,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Urban thermal field variance index, ``UTFVI = (Ts − T_mean) / Ts`` (science.md §4.1).

    ``T_mean`` is the mean over the valid (non-NaN) pixels, of the ``reference`` pixels if
    given. Ts must be in **kelvin** (pitfall 10): the class thresholds (0, 0.005, 0.010, 0.015,
    0.020) only make sense in K. Not to be confused with ``(Ts − T̄)/T̄``.

    Parameters
    ----------
    ts_kelvin
        Land surface temperature in K.
    axis
        Axes over which ``T_mean`` is taken (``None``: all).
    reference
        Boolean mask (broadcastable), True on the pixels that define ``T_mean``.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        UTFVI (unitless), same shape as ``ts_kelvin``; NaN where Ts is NaN or ≤ 0.

    Raises
    ------
    ValueError
        If every valid value is below 150 K, i.e. the input looks like °C.
    """
    ts = _f64(ts_kelvin)
    finite = ts[np.isfinite(ts)]
    if finite.size and finite.max() < 150.0:
        raise ValueError(
            "utfvi needs Ts in kelvin, but every value is below 150 (degrees Celsius?): "
            "add 273.15 first"
        )
    mean = _nanstat(np.nanmean, _reference_values(ts, reference), axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (ts - mean) / ts
    return _finish(np.where(ts > 0, out, np.nan), dtype)


def zscore(
    x: ArrayLike,
    ddof: int = 0,
    *,
    axis: int | tuple[int, ...] | None = None,
    reference: ArrayLike | None = None,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Standardised anomaly ``z = (x − μ_ref) / σ_ref`` over valid pixels (science.md §4.1).

    Compute it per scene, before compositing, to remove synoptic day-to-day variability.

    Parameters
    ----------
    x
        Values (e.g. LST of one scene).
    ddof
        Delta degrees of freedom of σ: 0 (population σ, the project's convention) or 1.
    axis
        Axes over which μ and σ are taken (``None``: all).
    reference
        Boolean mask (broadcastable), True on the pixels defining μ and σ (e.g. the city or
        the rural ring); ``None`` uses every valid pixel.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        z-scores, same shape as ``x``; NaN where x is NaN, and everywhere if σ is 0 or there
        are not more than ``ddof`` valid reference values.
    """
    if ddof < 0:
        raise ValueError(f"ddof must be >= 0, got {ddof}")
    values = _f64(x)
    ref = _reference_values(values, reference)
    mean = _nanstat(np.nanmean, ref, axis)
    std = _nanstat(np.nanstd, ref, axis, ddof=ddof)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (values - mean) / std
    return _finish(np.where(std > 0, out, np.nan), dtype)
