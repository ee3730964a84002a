"""Land surface temperature: Level-2 ST, and the Level-1 route DN → radiance → BT → LST.

Everything here is **land surface (skin) temperature**, not air temperature (science.md §1–§2,
§4.1). Two layers:

* **Kernels** — pure NumPy, inputs in physical units (radiance in W m⁻² sr⁻¹ µm⁻¹,
  temperatures in K, wavelengths in µm), computed in float64, returned as a new ``float32``
  array (``dtype`` keyword for another float type), NaN where an input is NaN or out of its
  physical domain, never ±inf, no ``RuntimeWarning``; inputs are never modified:
  :func:`radiance_from_dn`, :func:`brightness_temperature`, :func:`radiance_from_bt`,
  :func:`vegetation_proportion`, :func:`emissivity_ndvi_threshold`, :func:`lst_single_band`,
  :func:`atmospheric_functions`, :func:`planck_linearisation`, :func:`lst_single_channel`,
  :func:`lst_split_window_jm2014`, :func:`lst_split_window_du2015`,
  :func:`rte_blackbody_radiance`, :func:`rte_surface_temperature`, :func:`utfvi`,
  :func:`zscore`.
* **xarray wrappers** — lazy on Dask, keep coordinates, write CF-style attributes:
  :func:`surface_temperature_l2` (the product path: USGS ST_B10), :func:`lst_level1` (fallback
  or validation path from Level-1 radiance), :func:`scene_utfvi` and :func:`scene_zscore`.

Constants marked **[U]** in science.md are keyword parameters with documented defaults. The
thermal constants K1, K2, ML, AL differ between Landsat 8 and 9 (pitfall 3): the real code
path reads them per scene from the MTL; :data:`L8_B10` etc. are reference values only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster._lift import lift
from raster.indices import ndvi as _ndvi_kernel
from tiles.errors import BandMissingError, IlotsWarning, MetadataError, ProductError

__all__ = [
    "DU2015_CWV_COEFFICIENTS",
    "JM2014_B10_PSI",
    "JM2014_SPLIT_WINDOW",
    "L8_B10",
    "L8_B11",
    "L9_B10",
    "L9_B11",
    "ThermalConstants",
    "atmospheric_functions",
    "brightness_temperature",
    "emissivity_ndvi_threshold",
    "lst_level1",
    "lst_single_band",
    "lst_single_channel",
    "lst_split_window_du2015",
    "lst_split_window_jm2014",
    "planck_linearisation",
    "radiance_from_bt",
    "radiance_from_dn",
    "rte_blackbody_radiance",
    "rte_surface_temperature",
    "scene_utfvi",
    "scene_zscore",
    "surface_temperature_l2",
    "utfvi",
    "vegetation_proportion",
    "zscore",
]

LST_LONG_NAME = "land surface temperature"
LST_COMMENT = "surface (skin) temperature, not air temperature"

# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThermalConstants:
    """Radiometric constants of one thermal band of one sensor (science.md §2.1).

    Parameters
    ----------
    k1
        K1 in W m⁻² sr⁻¹ µm⁻¹ (MTL ``K1_CONSTANT_BAND_n``).
    k2
        K2 in K (MTL ``K2_CONSTANT_BAND_n``).
    mult, add
        Radiance rescaling ML, AL: ``L = ML·DN + AL`` (MTL ``RADIANCE_MULT/ADD_BAND_n``).
    """

    k1: float
    k2: float
    mult: float
    add: float

    def __post_init__(self) -> None:
        for name in ("k1", "k2", "mult"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"ThermalConstants.{name} must be a positive number, got {value}")
        if not np.isfinite(self.add):
            raise ValueError(f"ThermalConstants.add must be finite, got {self.add}")

    @classmethod
    def from_mtl(cls, mtl: Mapping[str, Any], band: int = 10) -> ThermalConstants:
        """Read the constants of a thermal band from parsed MTL metadata.

        Parameters
        ----------
        mtl
            The MTL as a mapping, flat (``{"K1_CONSTANT_BAND_10": "774.8853", ...}``) or nested
            by group as in ``_MTL.json``; values may be strings.
        band
            Thermal band number (10 or 11).

        Returns
        -------
        ThermalConstants

        Raises
        ------
        tiles.errors.MetadataError
            If a key is missing or not a number.
        """
        keys = {
            "k1": f"K1_CONSTANT_BAND_{band}",
            "k2": f"K2_CONSTANT_BAND_{band}",
            "mult": f"RADIANCE_MULT_BAND_{band}",
            "add": f"RADIANCE_ADD_BAND_{band}",
        }
        values: dict[str, float] = {}
        for field_name, key in keys.items():
            raw = _find_key(mtl, key)
            if raw is None:
                raise MetadataError(
                    f"MTL has no {key}: give the scene's Level-1 MTL (LEVEL1_THERMAL_CONSTANTS "
                    "and LEVEL1_RADIOMETRIC_RESCALING groups)"
                )
            try:
                values[field_name] = float(raw)
            except (TypeError, ValueError):
                raise MetadataError(f"MTL {key} is not a number: {raw!r}") from None
        return cls(**values)

    def radiance(self, dn: ArrayLike, *, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
        """Return :func:`radiance_from_dn` with these constants."""
        return radiance_from_dn(dn, self.mult, self.add, dtype=dtype)

    def brightness_temperature(
        self, radiance: ArrayLike, *, dtype: DTypeLike = np.float32
    ) -> NDArray[np.floating]:
        """Return :func:`brightness_temperature` with these K1, K2."""
        return brightness_temperature(radiance, self.k1, self.k2, dtype=dtype)


def _find_key(tree: Mapping[str, Any], key: str) -> Any:
    """Depth-first lookup of ``key`` in nested mappings; ``None`` if absent."""
    if key in tree:
        return tree[key]
    for value in tree.values():
        if isinstance(value, Mapping):
            found = _find_key(value, key)
            if found is not None:
                return found
    return None


#: Landsat 8 TIRS band 10 (science.md §2.1, [V2]). Reference only: read the scene's MTL.
L8_B10 = ThermalConstants(k1=774.8853, k2=1321.0789, mult=3.342e-4, add=0.1)
#: Landsat 8 TIRS band 11 ([V2]).
L8_B11 = ThermalConstants(k1=480.8883, k2=1201.1442, mult=3.342e-4, add=0.1)
#: Landsat 9 TIRS-2 band 10 ([V], real L9 C2 MTL). Not the typo K2 = 1329.0284.
L9_B10 = ThermalConstants(k1=799.0284, k2=1329.2405, mult=3.8e-4, add=0.1)
#: Landsat 9 TIRS-2 band 11 ([V]).
L9_B11 = ThermalConstants(k1=475.6581, k2=1198.3494, mult=3.49e-4, add=0.1)

#: Jiménez-Muñoz et al. (2014) single-channel ψ coefficients for TIRS B10, rows ψ1, ψ2, ψ3,
#: columns (c_k1, c_k2, c_k3) of ψ_k = c_k1·w² + c_k2·w + c_k3. **[U]**: from geeSEBAL, not
#: checked against the paper's table (science.md §2.4).
JM2014_B10_PSI: tuple[tuple[float, float, float], ...] = (
    (0.04019, 0.02916, 1.01523),
    (-0.38333, -1.50294, 0.20324),
    (0.00918, 1.36072, -0.27514),
)

#: Jiménez-Muñoz et al. (2014) split-window coefficients c0 … c6 (science.md §2.5, [V2]).
#: Note c1 = 1.378 (pylandtemp's 1.387 is a typo, pitfall 7).
JM2014_SPLIT_WINDOW: tuple[float, ...] = (-0.268, 1.378, 0.183, 54.30, -2.238, -129.20, 16.40)

#: Du et al. (2015) split-window coefficients b0 … b7 by column water vapour range (g cm⁻²),
#: from ``NikosAlexandris/i.landsat8.swlst`` (science.md §2.5, [V2]).
DU2015_CWV_COEFFICIENTS: Mapping[tuple[float, float], tuple[float, ...]] = {
    (0.0, 2.5): (-2.78009, 1.01408, 0.15833, -0.34991, 4.04487, 3.55414, -8.88394, 0.09152),
    (2.0, 3.5): (11.00824, 0.95995, 0.17243, -0.28852, 7.11492, 0.42684, -6.62025, -0.06381),
    (3.0, 4.5): (9.62610, 0.96202, 0.13834, -0.17262, 7.87883, 5.17910, -13.26611, -0.07603),
    (4.0, 5.5): (0.61258, 0.99124, 0.10051, -0.09664, 7.85758, 6.86626, -15.00742, -0.01185),
    (5.0, 6.3): (-0.34808, 0.98123, 0.05599, -0.03518, 11.96444, 9.06710, -14.74085, -0.20471),
    (0.0, 6.3): (-0.41165, 1.00522, 0.14543, -0.27297, 4.06655, -6.92512, -18.27461, 0.24468),
}

# --------------------------------------------------------------------------------------------
# kernel helpers
# --------------------------------------------------------------------------------------------


def _f64(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _finish(values: ArrayLike, dtype: DTypeLike) -> NDArray[np.floating]:
    """Cast to ``dtype`` (a float type) in a new array and turn non-finite values into NaN."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {dt}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(values, dtype=dt)
    out[~np.isfinite(out)] = np.nan
    return out


_WAVELENGTH_HINT = ": give the wavelength in micrometres (10.895 for TIRS B10), not metres"
_RHO_HINT = ": give h*c/k_B in micrometre-kelvin (14388), not m*K"


def _check_scalar(name: str, value: Any, low: float, high: float, hint: str = "") -> None:
    """Raise ``ValueError`` if a scalar parameter lies outside ``[low, high]``."""
    if np.ndim(value) == 0 and not low <= float(value) <= high:
        raise ValueError(f"{name}={value} is outside [{low}, {high}]{hint}")


# --------------------------------------------------------------------------------------------
# radiance and brightness temperature
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# emissivity
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# LST algorithms
# --------------------------------------------------------------------------------------------


def lst_single_band(
    bt: ArrayLike,
    emissivity: ArrayLike,
    wavelength_um: float = 10.895,
    rho_um_k: float = 14388.0,
    *,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Emissivity-corrected LST, ``BT / (1 + (λ·BT/ρ)·ln ε)`` (Artis & Carnahan; §2.3).

    Corrects for emissivity only, not for the atmosphere (biased by typically 1–5 K in
    absolute terms): fine for relative intra-urban patterns of one scene. Prefer the USGS
    Level-2 ST band (:func:`surface_temperature_l2`) for the product.

    Parameters
    ----------
    bt
        At-sensor brightness temperature in K.
    emissivity
        Surface emissivity in (0, 1].
    wavelength_um
        Effective wavelength in **micrometres** (10.895 µm: TIRS B10 centre, [V]; many papers
        use 10.8).
    rho_um_k
        ``h·c/k_B`` in **µm·K** (14388; exact 14387.77; 14380 is a common rounding).
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K; NaN where BT ≤ 0, ε is outside (0, 1], or an input is NaN.

    Raises
    ------
    ValueError
        If ``wavelength_um`` or ``rho_um_k`` is not in µm / µm·K. Mixing metres and µm
        (pylandtemp's ``0.0000115`` with ``14380``, pitfall 6) makes the correction vanish
        and returns LST ≈ BT.
    """
    _check_scalar("wavelength_um", wavelength_um, 3.0, 20.0, _WAVELENGTH_HINT)
    _check_scalar("rho_um_k", rho_um_k, 14000.0, 15000.0, _RHO_HINT)
    t, eps = _f64(bt), _f64(emissivity)
    valid = (t > 0) & (eps > 0) & (eps <= 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = t / (1.0 + (wavelength_um * t / rho_um_k) * np.log(eps))
    return _finish(np.where(valid, out, np.nan), dtype)


def atmospheric_functions(
    water_vapour_g_cm2: ArrayLike,
    coefficients: Sequence[Sequence[float]] = JM2014_B10_PSI,
    *,
    dtype: DTypeLike = np.float32,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    """Atmospheric functions ψ1, ψ2, ψ3 of the single-channel algorithm (§2.4).

    ``ψ_k = c_k1·w² + c_k2·w + c_k3``.

    Parameters
    ----------
    water_vapour_g_cm2
        Total column water vapour w in g cm⁻²; NaN where negative.
    coefficients
        3×3 rows ``(c_k1, c_k2, c_k3)``; default :data:`JM2014_B10_PSI` (**[U]**).
    dtype
        Floating type of the results.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ψ1, ψ2, ψ3)``.
    """
    coefs = np.asarray(coefficients, dtype=np.float64)
    if coefs.shape != (3, 3):
        raise ValueError(f"psi coefficients must be 3 rows of 3 numbers, got shape {coefs.shape}")
    w = _f64(water_vapour_g_cm2)
    w = np.where(w >= 0, w, np.nan)
    psi = [a * w * w + b * w + c for a, b, c in coefs]
    return _finish(psi[0], dtype), _finish(psi[1], dtype), _finish(psi[2], dtype)


def planck_linearisation(
    radiance: ArrayLike,
    bt: ArrayLike,
    *,
    wavelength_um: float = 10.904,
    c1: float = 1.19104e8,
    c2: float = 14387.7,
    dtype: DTypeLike = np.float32,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """γ and δ of the single-channel algorithm (Jiménez-Muñoz & Sobrino 2003 form; §2.4).

    ``γ = {(c2·L/T²)·(λ⁴·L/c1 + 1/λ)}⁻¹`` and ``δ = −γ·L + T`` (**[U]**: from geeSEBAL).

    Parameters
    ----------
    radiance
        At-sensor radiance L in W m⁻² sr⁻¹ µm⁻¹.
    bt
        At-sensor brightness temperature T in K.
    wavelength_um
        Effective wavelength λ in µm (10.904 for TIRS B10, **[U]**; never geeSEBAL's 11.457).
    c1, c2
        Planck constants in W µm⁴ m⁻² sr⁻¹ and µm·K.
    dtype
        Floating type of the results.

    Returns
    -------
    tuple of numpy.ndarray
        ``(γ, δ)`` in K; NaN where L ≤ 0 or T ≤ 0.
    """
    _check_scalar("wavelength_um", wavelength_um, 3.0, 20.0, _WAVELENGTH_HINT)
    rad, t = _f64(radiance), _f64(bt)
    valid = (rad > 0) & (t > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gamma = 1.0 / ((c2 * rad / t**2) * (wavelength_um**4 * rad / c1 + 1.0 / wavelength_um))
        delta = -gamma * rad + t
    return (
        _finish(np.where(valid, gamma, np.nan), dtype),
        _finish(np.where(valid, delta, np.nan), dtype),
    )


def lst_single_channel(
    radiance: ArrayLike,
    bt: ArrayLike,
    emissivity: ArrayLike,
    water_vapour_g_cm2: ArrayLike,
    *,
    wavelength_um: float = 10.904,
    c1: float = 1.19104e8,
    c2: float = 14387.7,
    psi_coefficients: Sequence[Sequence[float]] = JM2014_B10_PSI,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Single-channel LST for TIRS B10 (Jiménez-Muñoz et al. 2014; science.md §2.4).

    ``Ts = γ·[ε⁻¹·(ψ1·L + ψ2) + ψ3] + δ`` with γ, δ from :func:`planck_linearisation` (exact
    form, not the b_γ = 1324 K approximation) and ψ from :func:`atmospheric_functions`. Valid
    roughly for w < 3 g cm⁻²; errors grow above that (**[U]**).

    Parameters
    ----------
    radiance
        At-sensor radiance L in W m⁻² sr⁻¹ µm⁻¹.
    bt
        At-sensor brightness temperature in K (from the same radiance).
    emissivity
        Surface emissivity in (0, 1].
    water_vapour_g_cm2
        Column water vapour w in g cm⁻² (scalar or per pixel).
    wavelength_um, c1, c2
        See :func:`planck_linearisation`.
    psi_coefficients
        See :func:`atmospheric_functions`.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K; NaN where an input is NaN or out of its domain.
    """
    gamma, delta = planck_linearisation(
        radiance, bt, wavelength_um=wavelength_um, c1=c1, c2=c2, dtype=np.float64
    )
    psi1, psi2, psi3 = atmospheric_functions(water_vapour_g_cm2, psi_coefficients, dtype=np.float64)
    rad, eps = _f64(radiance), _f64(emissivity)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = gamma * ((psi1 * rad + psi2) / eps + psi3) + delta
    return _finish(np.where((eps > 0) & (eps <= 1), out, np.nan), dtype)


def lst_split_window_jm2014(
    t10: ArrayLike,
    t11: ArrayLike,
    eps10: ArrayLike,
    eps11: ArrayLike,
    w: ArrayLike,
    *,
    coefficients: Sequence[float] = JM2014_SPLIT_WINDOW,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Split-window LST (Jiménez-Muñoz et al. 2014; science.md §2.5) — research path.

    ``Ts = T10 + c1·ΔT + c2·ΔT² + c0 + (c3 + c4·w)(1 − ε) + (c5 + c6·w)·Δε`` with
    ``ΔT = T10 − T11``, ``ε = (ε10 + ε11)/2``, ``Δε = ε10 − ε11``. TIRS B11 has larger
    stray-light and calibration errors; the USGS product uses B10 only.

    Parameters
    ----------
    t10, t11
        Brightness temperatures of TIRS B10 and B11 in K.
    eps10, eps11
        Band emissivities.
    w
        Column water vapour in g cm⁻².
    coefficients
        c0 … c6; default :data:`JM2014_SPLIT_WINDOW`.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K.
    """
    c = tuple(float(v) for v in coefficients)
    if len(c) != 7:
        raise ValueError(f"split-window needs 7 coefficients c0..c6, got {len(c)}")
    a, b, e10, e11, wv = _f64(t10), _f64(t11), _f64(eps10), _f64(eps11), _f64(w)
    with np.errstate(invalid="ignore", over="ignore"):
        dt = a - b
        eps, deps = (e10 + e11) / 2.0, e10 - e11
        out = (
            a
            + c[1] * dt
            + c[2] * dt**2
            + c[0]
            + (c[3] + c[4] * wv) * (1.0 - eps)
            + (c[5] + c[6] * wv) * deps
        )
    return _finish(out, dtype)


def lst_split_window_du2015(
    t10: ArrayLike,
    t11: ArrayLike,
    eps10: ArrayLike,
    eps11: ArrayLike,
    *,
    coefficients: Sequence[float] = DU2015_CWV_COEFFICIENTS[(0.0, 6.3)],
    b2_epsilon_power: Literal[1, 2] = 1,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Split-window LST after Du et al. (2015) (science.md §2.5) — research path.

    ``LST = b0 + (b1 + b2·(1−ε)/ε^p + b3·Δε/ε²)·(Ti+Tj)/2
    + (b4 + b5·(1−ε)/ε + b6·Δε/ε²)·(Ti−Tj)/2 + b7·(Ti−Tj)²``.

    Parameters
    ----------
    t10, t11
        Brightness temperatures Ti, Tj of TIRS B10 and B11 in K.
    eps10, eps11
        Band emissivities.
    coefficients
        b0 … b7 of one water-vapour range of :data:`DU2015_CWV_COEFFICIENTS` (default: the
        all-range row 0–6.3 g cm⁻²).
    b2_epsilon_power
        Power p of ε in the b2 term: 1 as in the i.landsat8.swlst README (and the sheet's test
        vector), 2 as in its ``constants.py``; which matches the paper is **[U]**.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K.
    """
    b = tuple(float(v) for v in coefficients)
    if len(b) != 8:
        raise ValueError(f"Du 2015 split-window needs 8 coefficients b0..b7, got {len(b)}")
    if b2_epsilon_power not in (1, 2):
        raise ValueError(f"b2_epsilon_power must be 1 or 2, got {b2_epsilon_power}")
    ti, tj, e10, e11 = _f64(t10), _f64(t11), _f64(eps10), _f64(eps11)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eps, deps = (e10 + e11) / 2.0, e10 - e11
        mean, diff = (ti + tj) / 2.0, ti - tj
        out = (
            b[0]
            + (b[1] + b[2] * (1 - eps) / eps**b2_epsilon_power + b[3] * deps / eps**2) * mean
            + (b[4] + b[5] * (1 - eps) / eps + b[6] * deps / eps**2) * diff / 2.0
            + b[7] * diff**2
        )
    return _finish(out, dtype)


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


# --------------------------------------------------------------------------------------------
# UHI metrics
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# xarray wrappers
# --------------------------------------------------------------------------------------------

_KELVIN = {"K", "kelvin", "Kelvin"}


def _band(ds: xr.Dataset, name: str, purpose: str) -> xr.DataArray:
    if name not in ds.data_vars:
        present = ", ".join(sorted(str(v) for v in ds.data_vars)) or "none"
        raise BandMissingError(
            f"{purpose} needs band {name!r}, which is missing; bands present: {present}"
        )
    da = ds[name]
    if da.dtype.kind in "iub":
        raise ProductError(
            f"band {name!r} is {da.dtype} (raw DN?); {purpose} needs physical values: load the "
            "product with its scale/offset applied"
        )
    return da


def _lift(kernel: Any, *args: Any, dtype: DTypeLike = np.float32, **kwargs: Any) -> xr.DataArray:
    """Apply a NumPy kernel element-wise to DataArrays/scalars, lazily on Dask.

    ``dtype`` is passed to the kernel and declared as the Dask output type; intermediate
    steps use float64 so that only the final result is rounded to float32.
    """
    return lift(kernel, *args, dtype=dtype, kwargs={**kwargs, "dtype": dtype})


def _lst_attrs(**extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "long_name": LST_LONG_NAME,
        "units": "K",
        "standard_name": "surface_temperature",
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


def surface_temperature_l2(
    ds: xr.Dataset,
    *,
    valid_range: tuple[float, float] = (149.0, 373.0),
    max_uncertainty_k: float | None = None,
    mask: xr.DataArray | None = None,
) -> xr.DataArray:
    """Land surface temperature from a loaded Landsat C2 Level-2 product (USGS ST_B10).

    ``ds["lwir11"]`` is already in kelvin after loading (DN·0.00341802 + 149.0). This keeps
    the values inside ``valid_range`` (open at the bottom, so the fill DN 0 = 149.0 K is
    dropped even if a loader scaled it), optionally drops pixels whose ST_QA uncertainty
    exceeds ``max_uncertainty_k``, applies ``mask``, and sets the attributes.

    Parameters
    ----------
    ds
        Dataset with a float ``lwir11`` band in K (and ``st_qa`` in K for
        ``max_uncertainty_k``), NumPy- or Dask-backed.
    valid_range
        ``(low, high)`` in K: keep ``low < T <= high``. The MTL range is 149.003418–372.999941.
    max_uncertainty_k
        Drop pixels whose ``st_qa`` (1-σ uncertainty, K) is larger; ``None`` keeps all.
    mask
        Boolean DataArray, True on the pixels to keep (e.g. from :mod:`raster.quality`).

    Returns
    -------
    xarray.DataArray
        ``float32`` LST named ``lst`` with ``long_name`` "land surface temperature",
        ``units`` "K", ``standard_name`` "surface_temperature" and a ``comment`` saying it is
        skin temperature, not air temperature. Lazy if the input is.

    Raises
    ------
    tiles.errors.BandMissingError
        If ``lwir11`` (or ``st_qa`` when asked for) is absent.
    tiles.errors.ProductError
        If ``lwir11`` holds integers (unscaled DN) or its ``units`` attribute is not kelvin.
    """
    lwir = _band(ds, "lwir11", "surface_temperature_l2")
    units = lwir.attrs.get("units")
    if units is not None and units not in _KELVIN:
        raise ProductError(
            f"lwir11 has units {units!r}, expected K: surface_temperature_l2 reads a Level-2 "
            "ST band; use lst_level1 for Level-1 radiance"
        )
    low, high = valid_range
    keep = (lwir > low) & (lwir <= high)
    if max_uncertainty_k is not None:
        keep = keep & (_band(ds, "st_qa", "max_uncertainty_k") <= max_uncertainty_k)
    if mask is not None:
        keep = keep & mask.astype(bool)
    out = lwir.where(keep).astype(np.float32)
    comment = f"{LST_COMMENT}; USGS Landsat Collection 2 Level-2 ST_B10"
    return out.rename("lst").assign_attrs(
        _lst_attrs(comment=comment, valid_min=float(low), valid_max=float(high))
    )


def _scene_constants(
    ds: xr.Dataset, lwir: xr.DataArray, k1: float | None, k2: float | None
) -> tuple[Any, Any]:
    """K1, K2 from coords ``k1_lwir11``/``k2_lwir11``, else attrs, else arguments."""
    found: list[Any] = []
    for name in ("k1", "k2"):
        coord = f"{name}_lwir11"
        if coord in ds.coords:
            found.append(ds.coords[coord].reset_coords(drop=True))
        elif name in lwir.attrs or f"ilots:{name}" in lwir.attrs:
            found.append(float(lwir.attrs.get(name, lwir.attrs.get(f"ilots:{name}"))))
        else:
            found.append(None)
    meta_k1, meta_k2 = found
    if (meta_k1 is None) != (meta_k2 is None):
        raise MetadataError("lwir11 has only one of K1/K2 in its metadata: give both from the MTL")
    if meta_k1 is None:
        if k1 is None or k2 is None:
            raise MetadataError(
                "no K1/K2 for lwir11: they come from the scene's MTL (K1_CONSTANT_BAND_10, "
                "K2_CONSTANT_BAND_10) as lwir11 attrs or k1_lwir11/k2_lwir11 coords; or pass "
                "k1=, k2="
            )
        return float(k1), float(k2)
    for given, meta, name in ((k1, meta_k1, "k1"), (k2, meta_k2, "k2")):
        if given is None:
            continue
        if isinstance(meta, xr.DataArray):  # per scene, possibly lazy: never computed here
            raise MetadataError(
                f"{name}={given} given, but the Dataset carries per-scene {name.upper()} "
                f"(coordinate {name}_lwir11): drop the argument (L8 and L9 constants differ)"
            )
        if not np.isclose(meta, given, rtol=1e-9, atol=0.0):
            raise MetadataError(
                f"{name}={given} contradicts the scene's {name.upper()} {meta} from its "
                "metadata: drop the argument (L8 and L9 constants differ)"
            )
    return meta_k1, meta_k2


def _describe(value: Any, name: str) -> float | str:
    """Return a scalar constant as a float, or name the per-scene coordinate holding it."""
    if isinstance(value, xr.DataArray):
        return f"per scene, coordinate {name}_lwir11"
    return float(value)


def _emissivity(ds: xr.Dataset, emissivity: Any, options: Mapping[str, Any]) -> tuple[Any, str]:
    if emissivity is None or (isinstance(emissivity, str) and emissivity == "ndvi"):
        red = _band(ds, "red", "NDVI emissivity")
        nir = _band(ds, "nir08", "NDVI emissivity")
        # Validate the options now (a bad one would otherwise only raise at compute time).
        emissivity_ndvi_threshold(np.array([0.1, 0.3, 0.7]), np.array([0.1, 0.1, 0.1]), **options)
        nd = _lift(_ndvi_kernel, red, nir, dtype=np.float64)
        eps = _lift(emissivity_ndvi_threshold, nd, red, dtype=np.float64, **options)
        form = options.get("form", "simplified")
        return eps, f"NDVI threshold (Sobrino et al. 2004, {form}) from red and nir08"
    if isinstance(emissivity, str):
        raise ValueError(
            f"emissivity must be None, 'ndvi', a number or a DataArray, got {emissivity!r}"
        )
    if isinstance(emissivity, xr.DataArray):
        return emissivity, "given"
    value = float(emissivity)
    if not 0 < value <= 1:
        raise ValueError(f"emissivity must be in (0, 1], got {value}")
    return value, f"constant {value}"


def lst_level1(
    ds: xr.Dataset,
    *,
    method: Literal["single-band", "single-channel"] = "single-band",
    water_vapour: float | xr.DataArray = 2.0,
    k1: float | None = None,
    k2: float | None = None,
    emissivity: str | float | xr.DataArray | None = None,
    wavelength_um: float | None = None,
    emissivity_options: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Land surface temperature from Landsat Level-1 TIRS B10 radiance (science.md §2).

    BT from the scene's K1/K2, then either the emissivity-corrected single-band formula
    (:func:`lst_single_band`: no atmospheric correction) or the Jiménez-Muñoz et al. 2014
    single-channel algorithm (:func:`lst_single_channel`, needs water vapour). The USGS
    Level-2 product (:func:`surface_temperature_l2`) is preferred; this is the fallback and
    validation path.

    K1/K2 are read, in this order, from the coordinates ``k1_lwir11``/``k2_lwir11`` (one value
    per scene along ``time``: Landsat 8 and 9 differ), from ``ds["lwir11"].attrs`` ``k1``/``k2``
    (or ``ilots:k1``/``ilots:k2``), else from the ``k1``/``k2`` arguments. Arguments that
    contradict the metadata raise rather than being silently used or ignored.

    Parameters
    ----------
    ds
        Dataset with ``lwir11`` as at-sensor radiance (W m⁻² sr⁻¹ µm⁻¹) and, for NDVI
        emissivity, ``red`` and ``nir08`` as TOA reflectance; NumPy- or Dask-backed.
    method
        ``"single-band"`` or ``"single-channel"``.
    water_vapour
        Column water vapour in g cm⁻² (scalar, per scene or per pixel), single-channel only.
        A warning is issued for scalars above 3 g cm⁻², where the algorithm degrades.
    k1, k2
        Fallback thermal constants when the Dataset carries none (see above).
    emissivity
        ``None`` or ``"ndvi"``: NDVI-threshold emissivity (:func:`emissivity_ndvi_threshold`)
        from ``red`` and ``nir08``; a number in (0, 1]: constant emissivity; a DataArray: used
        as given.
    wavelength_um
        Effective wavelength in µm; default 10.895 (single-band) or 10.904 (single-channel).
    emissivity_options
        Keyword arguments for :func:`emissivity_ndvi_threshold` (``form``, ``eps_veg`` ...).

    Returns
    -------
    xarray.DataArray
        ``float32`` LST in K named ``lst`` with CF attributes (``long_name`` "land surface
        temperature", ``standard_name`` "surface_temperature"), ``method``, ``k1``, ``k2``,
        ``wavelength_um``, ``emissivity`` and a ``comment``. Lazy if the input is.

    Raises
    ------
    tiles.errors.MetadataError
        If no K1/K2 can be found, or the arguments contradict the Dataset's.
    tiles.errors.BandMissingError
        If ``lwir11`` (or ``red``/``nir08`` for NDVI emissivity) is absent.
    tiles.errors.ProductError
        If ``lwir11`` is in K (a Level-2 ST band) or holds integers.
    ValueError
        If ``method`` or ``emissivity`` is not understood.
    """
    if method not in ("single-band", "single-channel"):
        raise ValueError(f"method must be 'single-band' or 'single-channel', got {method!r}")
    radiance = _band(ds, "lwir11", "lst_level1")
    if radiance.attrs.get("units") in _KELVIN:
        raise ProductError(
            "lwir11 is in K (a Level-2 ST band?): lst_level1 needs Level-1 radiance; use "
            "surface_temperature_l2 for Level-2 products"
        )
    c1, c2 = _scene_constants(ds, radiance, k1, k2)
    eps, eps_text = _emissivity(ds, emissivity, dict(emissivity_options or {}))
    lam = (
        (10.895 if method == "single-band" else 10.904) if wavelength_um is None else wavelength_um
    )
    _check_scalar("wavelength_um", lam, 3.0, 20.0, _WAVELENGTH_HINT)
    bt = _lift(brightness_temperature, radiance, c1, c2, dtype=np.float64)
    if method == "single-band":
        lst = _lift(lst_single_band, bt, eps, wavelength_um=lam)
        extra: dict[str, Any] = {}
        comment = "emissivity-corrected only, no atmospheric correction (Artis & Carnahan 1982)"
    else:
        if np.ndim(water_vapour) == 0 and not isinstance(water_vapour, xr.DataArray):
            if float(water_vapour) < 0:
                raise ValueError(f"water_vapour must be >= 0 g cm-2, got {water_vapour}")
            if float(water_vapour) > 3:
                warnings.warn(
                    f"water_vapour={water_vapour} g cm-2: the single-channel algorithm is only "
                    "reliable below about 3 g cm-2",
                    IlotsWarning,
                    stacklevel=2,
                )
            extra = {"water_vapour_g_cm2": float(water_vapour)}
        else:
            extra = {}
        lst = _lift(lst_single_channel, radiance, bt, eps, water_vapour, wavelength_um=lam)
        comment = "single-channel algorithm, Jimenez-Munoz et al. 2014 (psi coefficients [U])"
    attrs = _lst_attrs(
        comment=f"{LST_COMMENT}; Landsat Level-1 TIRS B10, {method}: {comment}",
        method=method,
        k1=_describe(c1, "k1"),
        k2=_describe(c2, "k2"),
        wavelength_um=float(lam),
        emissivity=eps_text,
        **extra,
    )
    return lst.rename("lst").assign_attrs(attrs)


def _spatial_dims(da: xr.DataArray, dims: str | Sequence[str] | None) -> list[str]:
    if dims is None:
        dims = [d for d in ("y", "x") if d in da.dims] or list(da.dims)
    elif isinstance(dims, str):
        dims = [dims]
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"dims {missing} not in the array's dims {list(da.dims)}")
    return list(dims)


def scene_utfvi(
    lst: xr.DataArray,
    *,
    dims: str | Sequence[str] | None = None,
    reference: xr.DataArray | None = None,
) -> xr.DataArray:
    """UTFVI per scene, lazily: :func:`utfvi` with ``T_mean`` over ``dims`` (xarray form).

    Parameters
    ----------
    lst
        Land surface temperature in **K**, e.g. ``(time, y, x)``.
    dims
        Dimensions of ``T_mean``; default ``("y", "x")`` (one mean per scene).
    reference
        Boolean DataArray, True on the pixels that define ``T_mean``.

    Returns
    -------
    xarray.DataArray
        ``float32`` UTFVI named ``utfvi`` with attributes.

    Raises
    ------
    ValueError
        If the ``units`` attribute says the input is not in kelvin.
    """
    units = lst.attrs.get("units")
    if units is not None and units not in _KELVIN:
        raise ValueError(f"scene_utfvi needs LST in K, got units {units!r}: convert to kelvin")
    reduce_dims = _spatial_dims(lst, dims)
    ts = lst.astype(np.float64)
    ref = ts if reference is None else ts.where(reference)
    mean = ref.mean(reduce_dims, skipna=True)
    out = ((ts - mean) / ts.where(ts > 0)).astype(np.float32)
    return out.rename("utfvi").assign_attrs(
        long_name="urban thermal field variance index",
        units="1",
        formula="(Ts - Ts_mean) / Ts, Ts in K",
        comment=f"Ts_mean over {', '.join(reduce_dims)} of valid pixels; thresholds [U]",
    )


def scene_zscore(
    da: xr.DataArray,
    *,
    dims: str | Sequence[str] | None = None,
    ddof: int = 0,
    reference: xr.DataArray | None = None,
) -> xr.DataArray:
    """Standardised anomaly per scene, lazily: :func:`zscore` over ``dims`` (xarray form).

    Parameters
    ----------
    da
        Values, e.g. LST ``(time, y, x)``.
    dims
        Dimensions of μ and σ; default ``("y", "x")`` (one μ, σ per scene).
    ddof
        Delta degrees of freedom of σ (0: population σ).
    reference
        Boolean DataArray, True on the pixels defining μ and σ.

    Returns
    -------
    xarray.DataArray
        ``float32`` z-scores named ``<name>_zscore``; NaN where σ is 0.
    """
    if ddof < 0:
        raise ValueError(f"ddof must be >= 0, got {ddof}")
    reduce_dims = _spatial_dims(da, dims)
    values = da.astype(np.float64)
    ref = values if reference is None else values.where(reference)
    mean = ref.mean(reduce_dims, skipna=True)
    std = ref.std(reduce_dims, skipna=True, ddof=ddof)
    out = ((values - mean) / std.where(std > 0)).astype(np.float32)
    name = f"{da.name}_zscore" if da.name is not None else "zscore"
    return out.rename(name).assign_attrs(
        long_name=f"standardised anomaly of {da.attrs.get('long_name', da.name or 'values')}",
        units="1",
        formula=f"(x - mean) / std, ddof={ddof}",
        comment=f"mean and std over {', '.join(reduce_dims)} of valid pixels",
    )
