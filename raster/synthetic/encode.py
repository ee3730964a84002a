"""Physical values to the digital numbers the real products store (the inverse of a reader).

Small NumPy helpers to build plausible band arrays for the synthetic writers. Each rounds to
the nearest DN, clips valid values to the product's quantised range (``1 .. max``) and writes
NaN as the fill value, so the result can be handed straight to a writer. Inputs are never
modified. Encodings follow science.md §1.2, §1.3, §2.1 and §3.2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from raster.synthetic.landsat import LANDSAT_CALIBRATION
from raster.synthetic.sentinel2 import boa_add_offset

__all__ = [
    "brightness_temperature_to_dn",
    "encode_qa_pixel",
    "kelvin_to_st_dn",
    "reflectance_to_dn_landsat",
    "reflectance_to_dn_sentinel2",
    "toa_reflectance_to_dn_landsat",
]

_UINT16_MAX = 65535


def _quantise(values: ArrayLike, scale: float, offset: float) -> np.ndarray:
    """``round((v - offset) / scale)`` clipped to 1..65535, NaN to 0, as uint16."""
    dn = np.array(values, dtype=np.float64)  # a copy: the only full-size temporary
    dn -= offset
    dn /= scale
    np.rint(dn, out=dn)
    np.clip(dn, 1, _UINT16_MAX, out=dn)  # NaN stays NaN
    dn[np.isnan(dn)] = 0
    return dn.astype(np.uint16)


def reflectance_to_dn_landsat(reflectance: ArrayLike) -> np.ndarray:
    """Surface reflectance to Landsat C2 L2 ``SR_Bn`` digital numbers.

    ``DN = round((rho + 0.2) / 2.75e-5)``, so reflectance 0 gives 7273 and 1 gives 43636.

    Parameters
    ----------
    reflectance
        Surface reflectance (unitless); NaN marks fill.

    Returns
    -------
    ``uint16`` array, fill 0, valid values clipped to 1..65535.
    """
    return _quantise(reflectance, 2.75e-05, -0.2)


def kelvin_to_st_dn(kelvin: ArrayLike) -> np.ndarray:
    """Land surface temperature (K) to Landsat C2 L2 ``ST_B10`` digital numbers.

    ``DN = round((K - 149.0) / 0.00341802)``; the valid range is 149.003418–372.999941 K.

    Parameters
    ----------
    kelvin
        Temperature in kelvin; NaN marks fill.

    Returns
    -------
    ``uint16`` array, fill 0, valid values clipped to 1..65535.
    """
    return _quantise(kelvin, 0.00341802, 149.0)


def toa_reflectance_to_dn_landsat(reflectance: ArrayLike, *, sun_elevation: float) -> np.ndarray:
    """Top-of-atmosphere reflectance to Landsat C2 Level-1 OLI digital numbers.

    Inverse of ``rho = (2.0e-5 * DN - 0.1) / sin(sun_elevation)`` (science.md §2.1).

    Parameters
    ----------
    reflectance
        Sun-angle-corrected TOA reflectance; NaN marks fill.
    sun_elevation
        Scene sun elevation in degrees, as written to the MTL ``SUN_ELEVATION``.

    Returns
    -------
    ``uint16`` array, fill 0.
    """
    if not 0 < sun_elevation <= 90:
        raise ValueError(f"sun_elevation must be in (0, 90] degrees, got {sun_elevation}")
    sin_e = np.sin(np.deg2rad(sun_elevation))
    return _quantise(np.asarray(reflectance, dtype=np.float64) * sin_e, 2.0e-05, -0.1)


def brightness_temperature_to_dn(
    kelvin: ArrayLike, *, platform: str = "landsat-8", band: int = 10
) -> np.ndarray:
    """At-sensor brightness temperature to Landsat C2 Level-1 TIRS digital numbers.

    Inverts ``BT = K2 / ln(K1 / L + 1)`` and ``L = ML * DN + AL`` with the constants that the
    synthetic MTL of ``platform`` carries (Landsat 9 TIRS-2 differs from Landsat 8:
    science.md §2.1).

    Parameters
    ----------
    kelvin
        Brightness temperature in kelvin (> 0); NaN marks fill.
    platform
        ``"landsat-8"`` or ``"landsat-9"``.
    band
        TIRS band, 10 or 11.

    Returns
    -------
    ``uint16`` array, fill 0.
    """
    try:
        cal = LANDSAT_CALIBRATION[platform]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}; expected one of {', '.join(LANDSAT_CALIBRATION)}"
        ) from None
    if band not in (10, 11):
        raise ValueError(f"TIRS band must be 10 or 11, got {band}")
    k1, k2 = cal.thermal_constants(band)
    t = np.asarray(kelvin, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        radiance = k1 / np.expm1(k2 / t)
    return _quantise(radiance, cal.radiance_mult[band - 1], cal.radiance_add[band - 1])


def reflectance_to_dn_sentinel2(reflectance: ArrayLike, *, processing_baseline: str) -> np.ndarray:
    """Surface reflectance to Sentinel-2 L2A digital numbers for a processing baseline.

    ``DN = round(rho * 10000 - BOA_ADD_OFFSET)`` with ``BOA_ADD_OFFSET = -1000`` from baseline
    04.00 on and 0 before (science.md §3.2): the baseline, not the date, decides.

    Parameters
    ----------
    reflectance
        Surface reflectance; NaN marks fill.
    processing_baseline
        ``"NN.NN"``, e.g. ``"02.14"`` or ``"05.10"``.

    Returns
    -------
    ``uint16`` array, fill 0 (``NO_DATA``), valid values clipped to 1..65535.
    """
    offset = boa_add_offset(processing_baseline)
    return _quantise(reflectance, 1e-4, offset * 1e-4)


def encode_qa_pixel(
    *,
    fill: ArrayLike = False,
    dilated_cloud: ArrayLike = False,
    cirrus: ArrayLike = False,
    cloud: ArrayLike = False,
    shadow: ArrayLike = False,
    snow: ArrayLike = False,
    water: ArrayLike = False,
    cloud_confidence: ArrayLike | None = None,
    shadow_confidence: ArrayLike | None = None,
    snow_confidence: ArrayLike | None = None,
    cirrus_confidence: ArrayLike | None = None,
) -> np.ndarray:
    """Build Landsat 8/9 Collection 2 ``QA_PIXEL`` values from flags (science.md §1.3).

    Bit 6 (clear) is set exactly when neither cloud nor dilated cloud is, as USGS does; a
    shadow, snow or water pixel can therefore be clear. A confidence left as ``None`` is
    high (3) where its flag is set and low (1) elsewhere. Fill pixels are exactly 1. Flag
    arrays broadcast against each other. For example clear land is 21824, clear water 21952,
    high-confidence cloud 22280 and a clear pixel in cloud shadow 23888.

    Parameters
    ----------
    fill, dilated_cloud, cirrus, cloud, shadow, snow, water
        Boolean flags (bits 0, 1, 2, 3, 4, 5 and 7).
    cloud_confidence, shadow_confidence, snow_confidence, cirrus_confidence
        0 (none) to 3 (high), bits 8–9, 10–11, 12–13 and 14–15. Pass ``cirrus_confidence=0``
        for the Landsat 4–7 layout.

    Returns
    -------
    ``uint16`` array of the broadcast shape.
    """
    bits = [
        np.asarray(f, dtype=bool) for f in (fill, dilated_cloud, cirrus, cloud, shadow, snow, water)
    ]
    confs = [
        None if c is None else np.asarray(c)
        for c in (cloud_confidence, shadow_confidence, snow_confidence, cirrus_confidence)
    ]
    for name, c in zip(("cloud", "shadow", "snow", "cirrus"), confs, strict=True):
        if c is not None and c.size and (int(c.min()) < 0 or int(c.max()) > 3):
            raise ValueError(f"{name}_confidence must be within 0..3")
    shape = np.broadcast_shapes(
        *(b.shape for b in bits), *(c.shape for c in confs if c is not None)
    )
    f_fill, f_dil, f_cir, f_cld, f_shd, f_snw, f_wat = (np.broadcast_to(b, shape) for b in bits)

    def conf(value: np.ndarray | None, flag: np.ndarray) -> np.ndarray:
        if value is None:
            return np.where(flag, 3, 1).astype(np.uint16)
        return np.broadcast_to(value.astype(np.uint16), shape)

    qa = (
        f_dil.astype(np.uint16) << 1
        | f_cir.astype(np.uint16) << 2
        | f_cld.astype(np.uint16) << 3
        | f_shd.astype(np.uint16) << 4
        | f_snw.astype(np.uint16) << 5
        | (~(f_cld | f_dil)).astype(np.uint16) << 6
        | f_wat.astype(np.uint16) << 7
        | conf(confs[0], f_cld) << 8
        | conf(confs[1], f_shd) << 10
        | conf(confs[2], f_snw) << 12
        | conf(confs[3], f_cir) << 14
    ).astype(np.uint16)
    return np.where(f_fill, np.uint16(1), qa).astype(np.uint16)
