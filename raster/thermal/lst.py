"""Single-band TIRS B10 LST: emissivity-corrected BT and the single-channel algorithm.

Artis & Carnahan's emissivity correction (science.md §2.3) and Jiménez-Muñoz et al. 2014's
single-channel algorithm with its atmospheric functions and Planck linearisation (§2.4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _RHO_HINT, _WAVELENGTH_HINT, _check_scalar, _f64, _finish
from raster.thermal.constants import JM2014_B10_PSI


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
