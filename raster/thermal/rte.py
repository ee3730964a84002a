"""Surface temperature recomputed from the Level-2 intermediate ST bands (science.md §1.4).

Inverts the radiative transfer equation with ST_TRAD, ST_URAD, ST_DRAD, ST_ATRAN and ST_EMIS.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _f64, _finish
from raster.thermal.radiance import brightness_temperature


def rte_blackbody_radiance(
    trad: ArrayLike,
    urad: ArrayLike,
    drad: ArrayLike,
    atran: ArrayLike,
    emis: ArrayLike,
    *,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Surface blackbody radiance from the radiative transfer equation (science.md §1.4).

    ``L_BB = (L_obs − L↑ − τ·(1 − ε)·L↓) / (τ·ε)``.

    Parameters
    ----------
    trad, urad, drad
        Level-2 ST_TRAD, ST_URAD, ST_DRAD (W m⁻² sr⁻¹ µm⁻¹), scaled to physical units.
    atran, emis
        ST_ATRAN (τ) and ST_EMIS (ε), unitless.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        L_BB in W m⁻² sr⁻¹ µm⁻¹; NaN where τ·ε ≤ 0.
    """
    lo, up, down, tau, eps = _f64(trad), _f64(urad), _f64(drad), _f64(atran), _f64(emis)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        den = tau * eps
        out = (lo - up - tau * (1.0 - eps) * down) / den
    return _finish(np.where(den > 0, out, np.nan), dtype)


def rte_surface_temperature(
    trad: ArrayLike,
    urad: ArrayLike,
    drad: ArrayLike,
    atran: ArrayLike,
    emis: ArrayLike,
    k1: ArrayLike,
    k2: ArrayLike,
    *,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Surface temperature recomputed from the Level-2 intermediate ST bands (§1.4).

    :func:`rte_blackbody_radiance` then :func:`brightness_temperature`. The USGS converts with
    a LUT, not K1/K2: expect agreement with ST_B10 within a few tenths of a kelvin (a real-scene
    consistency check, tolerance ≈ 0.5 K, **[U]**).

    Parameters
    ----------
    trad, urad, drad, atran, emis
        See :func:`rte_blackbody_radiance`.
    k1, k2
        The scene's band-10 thermal constants.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Surface temperature in K; NaN where L_BB ≤ 0 or τ·ε ≤ 0.
    """
    lbb = rte_blackbody_radiance(trad, urad, drad, atran, emis, dtype=np.float64)
    return brightness_temperature(lbb, k1, k2, dtype=dtype)
