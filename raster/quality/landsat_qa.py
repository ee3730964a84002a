"""The other Landsat Collection 2 QA bands: QA_RADSAT, ST_QA and ST_CDIST.

Per-band saturation and terrain occlusion bits (Landsat 8/9), the surface-temperature
uncertainty in K and the distance to cloud in km (science.md §1.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np

from raster.quality._bitfield import _bitfield
from raster.quality._checks import _finite_positive

#: QA_RADSAT bit of each Landsat 8/9 band by common band name (science.md §1.3).
RADSAT_BITS: Mapping[str, int] = MappingProxyType(
    {
        "coastal": 0,
        "blue": 1,
        "green": 2,
        "red": 3,
        "nir08": 4,
        "swir16": 5,
        "swir22": 6,
        "cirrus": 8,
    }
)
#: QA_RADSAT bit of each Landsat 8/9 band number (band 8, panchromatic, has none in L2).
_RADSAT_BAND_NUMBER_BITS: Mapping[int, int] = MappingProxyType(
    {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 9: 8}
)
#: QA_RADSAT terrain-occlusion bit; :func:`radsat_ok` always rejects it.
RADSAT_TERRAIN_OCCLUSION_BIT = 11


def radsat_reject_value(bands: Iterable[int | str]) -> int:
    """Return the QA_RADSAT bit mask of some Landsat 8/9 bands, terrain occlusion included.

    Parameters
    ----------
    bands
        Band numbers (1-7, 9) or common band names (keys of :data:`RADSAT_BITS`).

    Returns
    -------
    int
        Sum of ``1 << bit`` over the bands, plus ``1 << 11`` (terrain occlusion).

    Raises
    ------
    ValueError
        On a band with no saturation bit.
    """
    if isinstance(bands, str | int):
        bands = (bands,)
    value = 1 << RADSAT_TERRAIN_OCCLUSION_BIT
    for band in bands:
        if isinstance(band, str):
            bit = RADSAT_BITS.get(band)
        elif isinstance(band, int | np.integer) and not isinstance(band, bool):
            bit = _RADSAT_BAND_NUMBER_BITS.get(int(band))
        else:
            bit = None
        if bit is None:
            raise ValueError(
                f"no QA_RADSAT bit for band {band!r}; use band numbers 1-7 or 9, or one of "
                f"{', '.join(RADSAT_BITS)}"
            )
        value |= 1 << bit
    return value


def radsat_ok(radsat: np.ndarray, bands: Iterable[int | str]) -> np.ndarray:
    """Pixels where none of ``bands`` is saturated and the terrain does not occlude the view.

    Parameters
    ----------
    radsat
        QA_RADSAT values: integers, or floats with NaN for missing pixels (never kept).
    bands
        Band numbers (1-7 = bits 0-6, 9 = bit 8) or common band names (:data:`RADSAT_BITS`)
        of the bands an index uses, e.g. ``("red", "nir08")`` for NDVI. Bit 11, terrain
        occlusion, is always checked, even for an empty ``bands``.

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep.
    """
    reject = radsat_reject_value(bands)
    codes, missing = _bitfield(radsat, "QA_RADSAT")
    return ~missing & ((codes & reject) == 0)


def st_qa_ok(st_qa_kelvin: np.ndarray, max_k: float) -> np.ndarray:
    """Pixels whose surface-temperature uncertainty is known and at most ``max_k``.

    Parameters
    ----------
    st_qa_kelvin
        ST_QA at physical values (kelvin, DN * 0.01), NaN where missing.
    max_k
        Largest accepted 1-sigma uncertainty in kelvin (> 0).

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep; NaN and negative values (an unconverted fill) are rejected.
        ST_QA is 0 under some thick clouds in real scenes, so use it with the QA_PIXEL mask.
    """
    limit = _finite_positive("max_k", max_k, allow_zero=False)
    values = np.asarray(st_qa_kelvin, dtype=np.float64)
    return (values >= 0) & (values <= limit)


def cdist_ok(cdist_km: np.ndarray, min_km: float) -> np.ndarray:
    """Pixels at least ``min_km`` from the nearest cloud (ST_CDIST).

    Parameters
    ----------
    cdist_km
        ST_CDIST at physical values (km, DN * 0.01), NaN where missing.
    min_km
        Smallest accepted distance to cloud in km (>= 0).

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep; NaN is rejected.
    """
    limit = _finite_positive("min_km", min_km, allow_zero=True)
    values = np.asarray(cdist_km, dtype=np.float64)
    return values >= limit
