"""Landsat Collection 2 QA_PIXEL: bit layout, rejection specs and presets, and kernels.

Bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow, 6 clear, 7 water and
four two-bit confidences (science.md §1.3); the clear bit is never used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from raster._lift import numpy_only
from raster.quality._bitfield import _bitfield, _field
from raster.quality._checks import _check_confidence, _resolve

#: QA_PIXEL single-bit flags (Landsat Collection 2), science.md §1.3.
QA_PIXEL_BITS: Mapping[str, int] = MappingProxyType(
    {
        "fill": 0,
        "dilated_cloud": 1,
        "cirrus": 2,
        "cloud": 3,
        "shadow": 4,
        "snow": 5,
        "clear": 6,
        "water": 7,
    }
)

#: QA_PIXEL two-bit confidences: name -> position of the lower bit.
QA_PIXEL_CONFIDENCE: Mapping[str, int] = MappingProxyType(
    {"cloud_conf": 8, "shadow_conf": 10, "snow_conf": 12, "cirrus_conf": 14}
)

#: Bits a :class:`QAPixelMask` may reject (6 = clear and 7 = water are not rejection bits).
_REJECTABLE_BITS = frozenset(range(6))


_CONFIDENCE_WORDS = {1: "low", 2: "medium", 3: "high"}


@dataclass(frozen=True)
class QAPixelMask:
    """Which QA_PIXEL conditions reject a pixel.

    Parameters
    ----------
    reject_bits
        Single-bit flags that reject a pixel when set, among 0 fill, 1 dilated cloud, 2 cirrus,
        3 cloud, 4 cloud shadow and 5 snow. Must contain 0 (fill is never data). Stored sorted.
    cloud_confidence_min, shadow_confidence_min, snow_confidence_min, cirrus_confidence_min
        Also reject when the two-bit confidence (bits 8-9, 10-11, 12-13, 14-15) is at least this
        value: 1 low, 2 medium, 3 high; ``None`` ignores that confidence.
    keep_water
        Whether water (bit 7) may be kept. Default ``True``: water is a separate flag
        (:func:`qa_pixel_water`) that urban statistics exclude on their own.
    name
        Label written into mask attributes.

    Raises
    ------
    ValueError
        On bits outside 0-5, a missing fill bit or a confidence outside 1-3.
    """

    reject_bits: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    cloud_confidence_min: int | None = None
    shadow_confidence_min: int | None = None
    snow_confidence_min: int | None = None
    cirrus_confidence_min: int | None = None
    keep_water: bool = True
    name: str = "custom"

    def __post_init__(self) -> None:
        bits = tuple(self.reject_bits)
        for bit in bits:
            if isinstance(bit, bool) or not isinstance(bit, int | np.integer):
                raise ValueError(f"QA_PIXEL reject_bits must be integers; got {bit!r}")
        bad = sorted(set(bits) - _REJECTABLE_BITS)
        if bad:
            raise ValueError(
                f"QA_PIXEL reject_bits {bad} not allowed: use bits 0-5 "
                "(bit 6 'clear' is not a rejection flag; reject water with keep_water=False)"
            )
        if 0 not in bits:
            raise ValueError("QA_PIXEL reject_bits must include 0 (fill); add it to reject_bits")
        object.__setattr__(self, "reject_bits", tuple(sorted({int(b) for b in bits})))
        for attr in (
            "cloud_confidence_min",
            "shadow_confidence_min",
            "snow_confidence_min",
            "cirrus_confidence_min",
        ):
            _check_confidence(attr, getattr(self, attr))
        if not isinstance(self.keep_water, bool):
            raise ValueError(f"keep_water must be True or False; got {self.keep_water!r}")

    @property
    def reject_value(self) -> int:
        """The bit mask of :attr:`reject_bits` (63 for bits 0-5, 27 for bits 0, 1, 3, 4)."""
        return sum(1 << b for b in self.reject_bits)

    @property
    def confidence_minima(self) -> dict[str, int]:
        """The active confidence thresholds, keyed like :data:`QA_PIXEL_CONFIDENCE`."""
        pairs = {
            "cloud_conf": self.cloud_confidence_min,
            "shadow_conf": self.shadow_confidence_min,
            "snow_conf": self.snow_confidence_min,
            "cirrus_conf": self.cirrus_confidence_min,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    def describe(self) -> str:
        """One line saying what this preset rejects, for mask attributes and logs."""
        names = {v: k.replace("_", " ") for k, v in QA_PIXEL_BITS.items()}
        bits = ", ".join(f"{b} {names[b]}" for b in self.reject_bits)
        text = f"QA_PIXEL preset '{self.name}': reject bits {bits} (mask {self.reject_value})"
        for key, level in self.confidence_minima.items():
            word = key.removesuffix("_conf").replace("_", " ")
            text += f"; {word} confidence >= {level} ({_CONFIDENCE_WORDS[level]})"
        text += "; water kept (flag)" if self.keep_water else "; water rejected"
        return text


#: Named QA_PIXEL presets. ``default``: bits 0-5 (science.md §1.3, mask 63); ``gee``: bits 0-4,
#: keeps snow (the common Earth Engine recipe, mask 31); ``strict``: bits 0-5 and cloud
#: confidence >= medium.
QA_PIXEL_PRESETS: Mapping[str, QAPixelMask] = MappingProxyType(
    {
        "default": QAPixelMask(name="default"),
        "gee": QAPixelMask(reject_bits=(0, 1, 2, 3, 4), name="gee"),
        "strict": QAPixelMask(cloud_confidence_min=2, name="strict"),
    }
)


def qa_pixel_preset(preset: str | QAPixelMask) -> QAPixelMask:
    """Resolve a QA_PIXEL preset name (see :data:`QA_PIXEL_PRESETS`) or pass a spec through.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    return _resolve(preset, QAPixelMask, QA_PIXEL_PRESETS, "QA_PIXEL")


def decode_qa_pixel(qa: np.ndarray) -> dict[str, np.ndarray]:
    """Split QA_PIXEL values into their flags and confidences.

    Parameters
    ----------
    qa
        QA_PIXEL values: integers, or floats with NaN for missing pixels (decoded as fill).

    Returns
    -------
    dict
        Boolean arrays ``fill``, ``dilated_cloud``, ``cirrus``, ``cloud``, ``shadow``, ``snow``,
        ``clear``, ``water`` and ``uint8`` arrays (0-3) ``cloud_conf``, ``shadow_conf``,
        ``snow_conf``, ``cirrus_conf``. Missing pixels have ``fill`` True and nothing else.
    """
    codes, missing = _bitfield(qa, "QA_PIXEL")
    out: dict[str, np.ndarray] = {
        name: ((codes >> bit) & 1).astype(bool) for name, bit in QA_PIXEL_BITS.items()
    }
    out["fill"] |= missing
    for name, shift in QA_PIXEL_CONFIDENCE.items():
        out[name] = _field(codes, shift, 2)
    return out


def _qa_pixel_data(qa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QA_PIXEL codes, and the pixels that hold data (neither NaN nor fill, bit 0)."""
    numpy_only(qa, "QA_PIXEL", "raster.quality.landsat_clear_mask(ds)")
    codes, missing = _bitfield(qa, "QA_PIXEL")
    return codes, ~missing & ((codes & 1) == 0)


def _qa_pixel_reasons(codes: np.ndarray, spec: QAPixelMask) -> np.ndarray:
    """Pixels rejected by the spec's bits (other than fill) and confidences."""
    cloud_bits = spec.reject_value & ~1
    rejected = (codes & cloud_bits) != 0
    for name, level in spec.confidence_minima.items():
        rejected |= _field(codes, QA_PIXEL_CONFIDENCE[name], 2) >= level
    return rejected


def qa_pixel_clear(qa: np.ndarray, spec: str | QAPixelMask = "default") -> np.ndarray:
    """Pixels a QA_PIXEL preset keeps.

    Parameters
    ----------
    qa
        QA_PIXEL values: integers, or floats with NaN for missing pixels.
    spec
        A preset name from :data:`QA_PIXEL_PRESETS` or a :class:`QAPixelMask`.

    Returns
    -------
    numpy.ndarray
        Boolean, True = keep. Fill and NaN are never kept. The clear bit (6) is not used:
        a pixel is kept when none of ``spec.reject_bits`` is set, no confidence reaches its
        threshold and, unless ``spec.keep_water``, the water bit is unset.
    """
    spec = qa_pixel_preset(spec)
    codes, data = _qa_pixel_data(qa)
    keep = data & ~_qa_pixel_reasons(codes, spec)
    if not spec.keep_water:
        keep &= (codes & (1 << QA_PIXEL_BITS["water"])) == 0
    return keep


def qa_pixel_cloudy(qa: np.ndarray, spec: str | QAPixelMask = "default") -> np.ndarray:
    """Pixels a preset rejects for atmospheric reasons (any rejecting bit but fill; confidences).

    This is the part of the rejection that :func:`landsat_clear_mask` dilates; fill, NaN and
    water are never "cloudy".

    Parameters
    ----------
    qa
        QA_PIXEL values: integers, or floats with NaN for missing pixels.
    spec
        A preset name from :data:`QA_PIXEL_PRESETS` or a :class:`QAPixelMask`.

    Returns
    -------
    numpy.ndarray
        Boolean, True = rejected because of cloud, shadow, cirrus, snow or a confidence.
    """
    spec = qa_pixel_preset(spec)
    codes, data = _qa_pixel_data(qa)
    return data & _qa_pixel_reasons(codes, spec)


def qa_pixel_water(qa: np.ndarray) -> np.ndarray:
    """Pixels whose QA_PIXEL water bit (7) is set, fill and NaN excluded.

    Parameters
    ----------
    qa
        QA_PIXEL values: integers, or floats with NaN for missing pixels.

    Returns
    -------
    numpy.ndarray
        Boolean, True = water. Combine with :func:`qa_pixel_clear` for clear water.
    """
    codes, data = _qa_pixel_data(qa)
    return data & ((codes & (1 << QA_PIXEL_BITS["water"])) != 0)
