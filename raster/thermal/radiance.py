"""Level-1 DN to at-sensor radiance, and radiance to brightness temperature and back.

``L = ML·DN + AL`` and ``BT = K2 / ln(K1/L + 1)`` with the scene's MTL constants
(science.md §2.1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _f64, _finish


def radiance_from_dn(
    dn: ArrayLike,
    mult: ArrayLike,
    add: ArrayLike,
    *,
    nodata: float | None = 0,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Level-1 DN to at-sensor spectral radiance, ``L = ML·DN + AL`` (science.md §2.1).

    Parameters
    ----------
    dn
        Quantised calibrated pixel values (Q_cal).
    mult, add
        ``RADIANCE_MULT_BAND_n`` and ``RADIANCE_ADD_BAND_n`` from the scene's MTL.
    nodata
        DN marking fill, mapped to NaN (Landsat Level-1: 0); ``None`` to keep every DN.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Radiance in W m⁻² sr⁻¹ µm⁻¹; NaN at fill.
    """
    dn64 = _f64(dn)
    with np.errstate(invalid="ignore", over="ignore"):
        out = dn64 * _f64(mult) + _f64(add)
    if nodata is not None:
        out = np.where(dn64 == nodata, np.nan, out)
    return _finish(out, dtype)


def brightness_temperature(
    radiance: ArrayLike, k1: ArrayLike, k2: ArrayLike, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """At-sensor brightness temperature, ``BT = K2 / ln(K1/L + 1)`` (science.md §2.1).

    Parameters
    ----------
    radiance
        Spectral radiance L in W m⁻² sr⁻¹ µm⁻¹.
    k1, k2
        The scene's ``K1_CONSTANT_BAND_n`` (W m⁻² sr⁻¹ µm⁻¹) and ``K2_CONSTANT_BAND_n`` (K);
        broadcastable (e.g. one per scene along ``time``). Landsat 8 and 9 differ.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        BT in K; NaN where L ≤ 0, L or a constant is NaN, or a constant is ≤ 0.
    """
    rad, c1, c2 = _f64(radiance), _f64(k1), _f64(k2)
    valid = (rad > 0) & (c1 > 0) & (c2 > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = c2 / np.log(c1 / rad + 1.0)
    return _finish(np.where(valid, out, np.nan), dtype)


def radiance_from_bt(
    bt: ArrayLike, k1: ArrayLike, k2: ArrayLike, *, dtype: DTypeLike = np.float32
) -> NDArray[np.floating]:
    """Inverse of :func:`brightness_temperature`: ``L = K1 / (exp(K2/BT) − 1)``.

    Parameters
    ----------
    bt
        Brightness temperature in K.
    k1, k2
        Thermal constants of the band (see :func:`brightness_temperature`).
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Radiance in W m⁻² sr⁻¹ µm⁻¹; NaN where BT ≤ 0 or is NaN.
    """
    t, c1, c2 = _f64(bt), _f64(k1), _f64(k2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = c1 / np.expm1(c2 / t)
    return _finish(np.where(t > 0, out, np.nan), dtype)
