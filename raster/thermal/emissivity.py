"""Land surface emissivity by the NDVI-threshold method (Sobrino et al. 2004; science.md §2.2).

The proportion of vegetation Pv and the three-regime emissivity (soil, mixed, vegetation).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _f64, _finish


def _proportion(ndvi: NDArray[np.float64], ndvi_soil: float, ndvi_veg: float) -> NDArray[Any]:
    if not ndvi_veg > ndvi_soil:
        raise ValueError(f"ndvi_veg ({ndvi_veg}) must be greater than ndvi_soil ({ndvi_soil})")
    with np.errstate(invalid="ignore"):
        return np.clip((ndvi - ndvi_soil) / (ndvi_veg - ndvi_soil), 0.0, 1.0) ** 2


def vegetation_proportion(
    ndvi: ArrayLike,
    ndvi_soil: float = 0.2,
    ndvi_veg: float = 0.5,
    *,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Proportion of vegetation ``Pv = (clip((NDVI − NDVIs)/(NDVIv − NDVIs), 0, 1))²``.

    The ratio is clamped to [0, 1] *before* squaring, so bare soil and water give 0 and dense
    vegetation gives 1 (science.md §2.2; unclamped, NDVI 0.9 would give 5.44).

    Parameters
    ----------
    ndvi
        NDVI.
    ndvi_soil, ndvi_veg
        NDVI of bare soil and of full vegetation; 0.2 and 0.5 as in Sobrino et al. 2004 and
        pylandtemp ([V2]). Ermida et al. 2020 use 0.2 and 0.86.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Pv in [0, 1]; NaN where NDVI is NaN.
    """
    return _finish(_proportion(_f64(ndvi), ndvi_soil, ndvi_veg), dtype)


def emissivity_ndvi_threshold(
    ndvi: ArrayLike,
    red: ArrayLike | None = None,
    *,
    eps_veg: float = 0.99,
    eps_soil: float = 0.97,
    f_geom: float = 0.55,
    form: Literal["simplified", "full"] = "simplified",
    ndvi_soil: float = 0.2,
    ndvi_veg: float = 0.5,
    soil_red_intercept: float = 0.973,
    soil_red_slope: float = 0.047,
    simplified_slope: float = 0.004,
    simplified_intercept: float = 0.986,
    eps_water: float | None = None,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Surface emissivity by the NDVI-threshold method (Sobrino et al. 2004; science.md §2.2).

    Three regimes, with Pv from :func:`vegetation_proportion`:

    * NDVI < ``ndvi_soil`` (bare soil): ``soil_red_intercept − soil_red_slope·ρ_red`` when
      ``red`` is given (0.973 − 0.047·ρ_red for TIRS B10; use 0.984 and 0.026 for B11),
      else ``eps_soil``.
    * ``ndvi_soil`` ≤ NDVI ≤ ``ndvi_veg`` (mixed): ``form="full"`` gives
      ``ε_v·Pv + ε_s·(1 − Pv) + C`` with the cavity term ``C = (1 − ε_s)·ε_v·F'·(1 − Pv)``;
      ``form="simplified"`` gives ``simplified_slope·Pv + simplified_intercept`` — the widely
      used ε = 0.004·Pv + 0.986, which is the full form rounded for ε_v 0.99, ε_s 0.97,
      F' 0.55 (0.003665·Pv + 0.986335).
    * NDVI > ``ndvi_veg`` (full vegetation): ``eps_veg`` (the cavity term is 0 at Pv = 1).

    **Water** (NDVI < 0) falls in the soil branch unless ``eps_water`` is given. Neither is
    right for urban statistics: mask water beforehand (QA_PIXEL bit 7, SCL 6 or MNDWI > 0).

    Parameters
    ----------
    ndvi
        NDVI (from surface or TOA reflectance).
    red
        Red reflectance, for the soil branch; ``None`` to use ``eps_soil`` there.
    eps_veg, eps_soil
        Emissivity of full vegetation and of soil (0.99, 0.97; **[U]** typical values).
    f_geom
        Geometric factor F' of the cavity term (0.55, [V2]); ``form="full"`` only.
    form
        ``"simplified"`` or ``"full"`` for the mixed regime.
    ndvi_soil, ndvi_veg
        Regime thresholds (0.2, 0.5; [V2]).
    soil_red_intercept, soil_red_slope
        Soil emissivity from red reflectance, **[U]** (Sobrino 2004 for TM6; pylandtemp B10).
    simplified_slope, simplified_intercept
        Coefficients of the simplified mixed-regime line (0.004, 0.986; [V2]).
    eps_water
        Emissivity assigned where NDVI < 0; ``None`` (default) keeps the soil branch.
        Water ε ≈ 0.99 is **[U]**.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        Emissivity (unitless); NaN where NDVI is NaN, or ``red`` is NaN in the soil branch.

    Raises
    ------
    ValueError
        If ``form`` is unknown, an emissivity is outside (0, 1], or ``ndvi_veg ≤ ndvi_soil``.
    """
    if form not in ("simplified", "full"):
        raise ValueError(f"form must be 'simplified' or 'full', got {form!r}")
    for name, value in (("eps_veg", eps_veg), ("eps_soil", eps_soil), ("eps_water", eps_water)):
        if value is not None and not 0 < value <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    nd = _f64(ndvi)
    pv = _proportion(nd, ndvi_soil, ndvi_veg)
    if form == "full":
        cavity = (1.0 - eps_soil) * eps_veg * f_geom * (1.0 - pv)
        mixed = eps_veg * pv + eps_soil * (1.0 - pv) + cavity
    else:
        mixed = simplified_slope * pv + simplified_intercept
    if red is None:
        soil: NDArray[np.float64] | float = eps_soil
    else:
        red64 = np.asarray(red)
        if red64.ndim > 0 and red64.dtype.kind in "iub":
            raise TypeError(f"red is a {red64.dtype} array (raw DN?); give reflectance floats")
        soil = soil_red_intercept - soil_red_slope * red64.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):
        out = np.where(nd < ndvi_soil, soil, np.where(nd > ndvi_veg, eps_veg, mixed))
        if eps_water is not None:
            out = np.where(nd < 0, eps_water, out)
    return _finish(np.where(np.isnan(nd), np.nan, out), dtype)
