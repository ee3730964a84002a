"""Landsat 8 Collection 1 Level-1 BQA: field layout and kernels.

Fill, terrain occlusion, radiometric saturation, the cloud bit and two-bit cloud, shadow,
snow/ice and cirrus confidences (science.md §1.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from raster.quality._bitfield import _bitfield, _field
from raster.quality._checks import _check_confidence

#: Collection 1 BQA fields: name -> (lowest bit, width in bits).
BQA_FIELDS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "fill": (0, 1),
        "terrain_occlusion": (1, 1),
        "radiometric_saturation": (2, 2),
        "cloud": (4, 1),
        "cloud_conf": (5, 2),
        "shadow_conf": (7, 2),
        "snow_conf": (9, 2),
        "cirrus_conf": (11, 2),
    }
)


def decode_bqa(bqa: np.ndarray) -> dict[str, np.ndarray]:
    """Split Landsat 8 Collection 1 BQA values into their fields.

    Parameters
    ----------
    bqa
        BQA values: integers, or floats with NaN for missing pixels (decoded as fill).

    Returns
    -------
    dict
        Boolean ``fill``, ``terrain_occlusion``, ``cloud``; ``uint8`` (0-3)
        ``radiometric_saturation``, ``cloud_conf``, ``shadow_conf``, ``snow_conf``,
        ``cirrus_conf`` (see :data:`BQA_FIELDS`).
    """
    codes, missing = _bitfield(bqa, "BQA")
    out: dict[str, np.ndarray] = {}
    for name, (shift, width) in BQA_FIELDS.items():
        value = _field(codes, shift, width)
        out[name] = value.astype(bool) if width == 1 else value
    out["fill"] |= missing
    return out


def bqa_clear(
    bqa: np.ndarray,
    *,
    cloud_confidence_min: int | None = 3,
    shadow_confidence_min: int | None = 3,
    snow_confidence_min: int | None = 3,
    cirrus_confidence_min: int | None = 3,
    saturation_min: int | None = None,
) -> np.ndarray:
    """Pixels a Landsat 8 Collection 1 BQA band calls clear.

    Fill, terrain occlusion and the cloud bit always reject. Each two-bit field rejects when it
    reaches its threshold (1 low, 2 medium, 3 high; ``None`` ignores the field).

    Parameters
    ----------
    bqa
        BQA values: integers, or floats with NaN for missing pixels (never kept).
    cloud_confidence_min, shadow_confidence_min, snow_confidence_min, cirrus_confidence_min
        Reject when the cloud (bits 5-6), cloud-shadow (7-8), snow/ice (9-10) or cirrus (11-12)
        confidence is at least this value. Defaults: high (3).
    saturation_min
        Reject when the radiometric-saturation field (bits 2-3: 1 = 1-2 bands, 2 = 3-4 bands,
        3 = 5 or more) is at least this value; ``None`` (default) ignores saturation.

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep.
    """
    minima = {
        "cloud_conf": cloud_confidence_min,
        "shadow_conf": shadow_confidence_min,
        "snow_conf": snow_confidence_min,
        "cirrus_conf": cirrus_confidence_min,
        "radiometric_saturation": saturation_min,
    }
    for name, level in minima.items():
        label = "saturation_min" if name == "radiometric_saturation" else f"{name}idence_min"
        _check_confidence(label, level)
    codes, missing = _bitfield(bqa, "BQA")
    always = 0b10011  # fill, terrain occlusion, cloud
    keep = ~missing & ((codes & always) == 0)
    for name, level in minima.items():
        if level is not None:
            shift, width = BQA_FIELDS[name]
            keep &= _field(codes, shift, width) < level
    return keep
