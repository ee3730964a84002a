"""Sentinel-2 L2A scene classification (Sen2Cor SCL): codes, kept-class specs and presets, kernels.

Classes 0-11 as in science.md §3.3; water (6) is a separate flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

import numpy as np

from raster.quality._bitfield import _bitfield
from raster.quality._checks import _resolve


class SCL(IntEnum):
    """Sentinel-2 L2A scene classification (Sen2Cor SCL) codes, science.md §3.3."""

    NO_DATA = 0
    SATURATED_OR_DEFECTIVE = 1
    DARK_AREA = 2  # "casted/topographic shadows" in recent Sen2Cor; in cities, building shadows
    CLOUD_SHADOW = 3
    VEGETATION = 4
    NOT_VEGETATED = 5
    WATER = 6
    UNCLASSIFIED = 7
    CLOUD_MEDIUM_PROBABILITY = 8
    CLOUD_HIGH_PROBABILITY = 9
    THIN_CIRRUS = 10
    SNOW = 11


#: Human-readable name of every SCL code.
SCL_CLASS_NAMES: Mapping[int, str] = MappingProxyType({c.value: c.name.lower() for c in SCL})

#: SCL classes that count as cloud for :func:`sentinel2_clear_mask`'s optional dilation.
SCL_CLOUD_CLASSES: frozenset[int] = frozenset(
    {SCL.CLOUD_SHADOW, SCL.CLOUD_MEDIUM_PROBABILITY, SCL.CLOUD_HIGH_PROBABILITY, SCL.THIN_CIRRUS}
)


@dataclass(frozen=True)
class SCLMask:
    """Which Sentinel-2 SCL classes are kept.

    Parameters
    ----------
    keep
        SCL codes (0-11, see :class:`SCL`) to keep; stored as a frozenset. Must not contain 0
        (no data) and must not be empty.
    name
        Label written into mask attributes.

    Raises
    ------
    ValueError
        On codes outside 1-11 or an empty set.
    """

    keep: frozenset[int] = field(default_factory=lambda: frozenset({4, 5}))
    name: str = "custom"

    def __post_init__(self) -> None:
        codes = tuple(self.keep)
        for code in codes:
            if isinstance(code, bool) or not isinstance(code, int | np.integer):
                raise ValueError(f"SCL classes must be integers 1-11; got {code!r}")
        bad = sorted(int(c) for c in codes if not 1 <= c <= 11)
        if bad:
            raise ValueError(f"SCL classes {bad} cannot be kept: use codes 1-11 (0 is no data)")
        if not codes:
            raise ValueError("an SCL mask must keep at least one class, e.g. {4, 5}")
        object.__setattr__(self, "keep", frozenset(int(c) for c in codes))

    def describe(self) -> str:
        """One line naming the kept classes, for mask attributes and logs."""
        kept = ", ".join(f"{c} {SCL_CLASS_NAMES[c]}" for c in sorted(self.keep))
        return f"SCL preset '{self.name}': keep classes {kept}; all others rejected"


#: Named SCL presets. ``default`` keeps 4 vegetation and 5 not vegetated; water (6) is a
#: separate flag (:func:`scl_water`). ``conservative`` keeps {4, 5, 6}, i.e. science.md's
#: "conservative mask" {0, 1, 2, 3, 7, 8, 9, 10, 11}. ``permissive`` keeps {2, 4, 5, 6, 7},
#: science.md's "default mask" {0, 1, 3, 8, 9, 10, 11} (test vector S2-5): it keeps dark areas
#: (building shadows in cities) and unclassified pixels, for sensitivity runs.
SCL_PRESETS: Mapping[str, SCLMask] = MappingProxyType(
    {
        "default": SCLMask(frozenset({4, 5}), name="default"),
        "conservative": SCLMask(frozenset({4, 5, 6}), name="conservative"),
        "permissive": SCLMask(frozenset({2, 4, 5, 6, 7}), name="permissive"),
    }
)


def scl_preset(preset: str | SCLMask | Iterable[int]) -> SCLMask:
    """Resolve an SCL preset name (see :data:`SCL_PRESETS`), a spec, or a set of codes to keep.

    Raises
    ------
    ValueError
        If the name is unknown or the codes are invalid.
    """
    if not isinstance(preset, str | SCLMask):
        return SCLMask(frozenset(preset))
    return _resolve(preset, SCLMask, SCL_PRESETS, "SCL")


def scl_keep(
    scl: np.ndarray, keep_classes: str | SCLMask | Iterable[int] = "default"
) -> np.ndarray:
    """Pixels whose SCL class is kept.

    Parameters
    ----------
    scl
        SCL codes: integers, or floats with NaN for missing pixels (never kept).
    keep_classes
        A preset name from :data:`SCL_PRESETS`, an :class:`SCLMask` or SCL codes to keep.

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep. Codes outside 0-11 are never kept.
    """
    spec = scl_preset(keep_classes)
    return _scl_in(scl, spec.keep)


def scl_water(scl: np.ndarray) -> np.ndarray:
    """Pixels of SCL class 6 (water); NaN excluded.

    Parameters
    ----------
    scl
        SCL codes: integers, or floats with NaN for missing pixels.

    Returns
    -------
    numpy.ndarray
        Boolean, True = water.
    """
    return _scl_in(scl, frozenset({int(SCL.WATER)}))


def _scl_in(scl: np.ndarray, classes: frozenset[int]) -> np.ndarray:
    codes, missing = _bitfield(scl, "SCL", max_value=255)
    table = np.zeros(256, dtype=bool)
    table[sorted(classes)] = True
    return ~missing & table[codes]
