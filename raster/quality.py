"""Quality masks: Landsat QA_PIXEL / QA_RADSAT / ST_QA / ST_CDIST, Collection 1 BQA, Sentinel-2 SCL.

Two layers, as everywhere in :mod:`raster`:

* **Kernels** (``qa_pixel_clear``, ``radsat_ok``, ``bqa_clear``, ``scl_keep`` ...) are pure NumPy:
  NumPy in, a new boolean NumPy array out, inputs never modified. ``True`` always means *keep*
  (or *flag is set*, for the water masks).
* **Wrappers** (``landsat_clear_mask``, ``sentinel2_clear_mask``, ``bqa_clear_mask`` ...) take an
  :class:`xarray.Dataset` whose variables are named by common band name (:mod:`raster.bands`),
  lift the kernels with :func:`xarray.apply_ufunc` (``dask="parallelized"``), keep the coordinates,
  stay lazy on Dask-backed data and describe the mask in ``attrs``.

Input encodings
---------------
Bit-field and class bands may arrive as integers (as stored in the files) or as floats with NaN
where ilots' loader found nodata (QA values are < 2**24, so float32 holds them exactly). NaN is
treated as fill: it is never kept and carries no flag. Float values that are not whole numbers in
0..65535 mean that a QA band was resampled with a non-nearest method; the kernels raise
:class:`ValueError` rather than decode garbage bits.

Layouts (science.md §1.2, §1.3, §3.3)
-------------------------------------
QA_PIXEL (Landsat 4-9 Collection 2, Level 1 and 2): bit 0 fill, 1 dilated cloud, 2 cirrus
(L8/9), 3 cloud, 4 cloud shadow, 5 snow, 6 clear, 7 water; bits 8-9 cloud, 10-11 cloud-shadow,
12-13 snow/ice and 14-15 cirrus confidence (0 none, 1 low, 2 medium, 3 high; USGS documents 2 as
"reserved" for all but cloud confidence). The clear bit (6) only says that the cloud and
dilated-cloud bits are unset, so a "clear" pixel can be a cloud shadow: ilots never uses it.

QA_RADSAT (Landsat 8/9): bits 0-6 = bands 1-7 saturated, bit 8 = band 9 saturated, bit 11 =
terrain occlusion; :func:`radsat_ok` always rejects terrain occlusion.

BQA (Landsat 8 Collection 1 Level 1): bit 0 designated fill, bit 1 terrain occlusion, bits 2-3
radiometric saturation (0 none, 1: 1-2 bands, 2: 3-4 bands, 3: 5 or more), bit 4 cloud, and
two-bit confidences: bits 5-6 cloud, 7-8 cloud shadow, 9-10 snow/ice, 11-12 cirrus. Checked
against the USGS "Landsat Collection 1 Level-1 Quality Assessment Band" page as reproduced by
Sentinel Hub's ``decodeLs8Qa`` and against a real C1 BQA file (value 2720 = clear, low
confidences).

SCL (Sentinel-2 L2A, Sen2Cor): see :class:`SCL` and :data:`SCL_PRESETS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr
from skimage.morphology import dilation, disk

from raster._lift import lift
from tiles.errors import BandMissingError

__all__ = [
    "BQA_FIELDS",
    "QA_PIXEL_BITS",
    "QA_PIXEL_CONFIDENCE",
    "QA_PIXEL_PRESETS",
    "RADSAT_BITS",
    "RADSAT_TERRAIN_OCCLUSION_BIT",
    "SCL",
    "SCL_CLASS_NAMES",
    "SCL_CLOUD_CLASSES",
    "SCL_PRESETS",
    "QAPixelMask",
    "SCLMask",
    "bqa_clear",
    "bqa_clear_mask",
    "cdist_ok",
    "decode_bqa",
    "decode_qa_pixel",
    "dilate_mask",
    "landsat_clear_mask",
    "landsat_water_mask",
    "qa_pixel_clear",
    "qa_pixel_cloudy",
    "qa_pixel_preset",
    "qa_pixel_water",
    "radsat_ok",
    "radsat_reject_value",
    "scl_keep",
    "scl_preset",
    "scl_water",
    "sentinel2_clear_mask",
    "sentinel2_water_mask",
    "st_qa_ok",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

# ----------------------------------------------------------------------------------------------
# Layouts
# ----------------------------------------------------------------------------------------------

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

_CONFIDENCE_WORDS = {1: "low", 2: "medium", 3: "high"}


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

# ----------------------------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------------------------


def _check_confidence(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= 3:
        raise ValueError(f"{name} must be None or 1 (low), 2 (medium) or 3 (high); got {value!r}")


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


def qa_pixel_preset(preset: str | QAPixelMask) -> QAPixelMask:
    """Resolve a QA_PIXEL preset name (see :data:`QA_PIXEL_PRESETS`) or pass a spec through.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    return _resolve(preset, QAPixelMask, QA_PIXEL_PRESETS, "QA_PIXEL")


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


def _resolve(preset: Any, kind: type, presets: Mapping[str, Any], what: str) -> Any:
    if isinstance(preset, kind):
        return preset
    if isinstance(preset, str):
        try:
            return presets[preset]
        except KeyError:
            raise ValueError(
                f"unknown {what} preset {preset!r}; use one of {', '.join(presets)} "
                f"or a {kind.__name__}"
            ) from None
    raise ValueError(f"{what} preset must be a name or a {kind.__name__}; got {preset!r}")


# ----------------------------------------------------------------------------------------------
# Input conversion
# ----------------------------------------------------------------------------------------------


def _bitfield(values: Any, what: str, max_value: int = 0xFFFF) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a bit-field/class array and the mask of its NaN (missing) pixels.

    Returns a new ``uint16`` array (0 where missing) and a boolean array (True where NaN).
    """
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > max_value):
            raise ValueError(
                f"{what} values must lie in 0..{max_value}; got {arr.min()}..{arr.max()}"
                " (check that the right band was loaded)"
            )
        return arr.astype(np.uint16), np.zeros(arr.shape, dtype=bool)
    if np.issubdtype(arr.dtype, np.floating):
        missing = np.isnan(arr)
        with np.errstate(invalid="ignore"):
            codes = arr.astype(np.uint16)
        # A value survives the round trip only if it is a whole number in 0..65535.
        bad = (codes != arr) | (codes > max_value)
        bad &= ~missing
        if bad.any():
            example = arr[bad].flat[0]
            raise ValueError(
                f"{what} holds {example!r}, not a whole number in 0..{max_value}; "
                "load QA and class bands with nearest-neighbour resampling"
            )
        codes[missing] = 0
        return codes, missing
    raise ValueError(f"{what} must be an integer or float array; got dtype {arr.dtype}")


def _field(codes: np.ndarray, shift: int, width: int) -> np.ndarray:
    return ((codes >> shift) & ((1 << width) - 1)).astype(np.uint8)


def _finite_positive(name: str, value: float, *, allow_zero: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return number


# ----------------------------------------------------------------------------------------------
# QA_PIXEL kernels
# ----------------------------------------------------------------------------------------------


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
    codes, missing = _bitfield(qa, "QA_PIXEL")
    keep = ~missing & ((codes & 1) == 0) & ~_qa_pixel_reasons(codes, spec)
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
    codes, missing = _bitfield(qa, "QA_PIXEL")
    return ~missing & ((codes & 1) == 0) & _qa_pixel_reasons(codes, spec)


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
    codes, missing = _bitfield(qa, "QA_PIXEL")
    return ~missing & ((codes & 1) == 0) & ((codes & (1 << QA_PIXEL_BITS["water"])) != 0)


# ----------------------------------------------------------------------------------------------
# QA_RADSAT, ST_QA, ST_CDIST kernels
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Collection 1 BQA kernels
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Sentinel-2 SCL kernels
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Dilation
# ----------------------------------------------------------------------------------------------


def _check_radius(radius_px: int) -> int:
    if isinstance(radius_px, bool) or not isinstance(radius_px, int | np.integer) or radius_px < 0:
        raise ValueError(f"radius_px must be an integer >= 0; got {radius_px!r}")
    return int(radius_px)


def _dilate_numpy(reject: np.ndarray, radius_px: int) -> np.ndarray:
    mask = np.asarray(reject, dtype=bool)
    if radius_px == 0 or mask.size == 0:
        return mask.copy()
    footprint = disk(radius_px, dtype=bool).reshape(
        (1,) * (mask.ndim - 2) + (-1, 2 * radius_px + 1)
    )
    return dilation(mask, footprint, mode="ignore")


def dilate_mask(reject: Any, radius_px: int) -> Any:
    """Grow a rejection mask by a disk of ``radius_px`` pixels over its last two axes.

    Parameters
    ----------
    reject
        Boolean mask, True = rejected (e.g. cloud), at least 2-D with ``(..., y, x)`` axes; a
        NumPy array or a Dask array. Outside the array counts as not rejected.
    radius_px
        Disk radius in pixels (:func:`skimage.morphology.disk`); 0 returns a copy.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The dilated mask, same type and shape. Dask arrays are dilated lazily with
        ``map_overlap`` and a halo of ``radius_px``, so chunk borders do not change the result.

    Raises
    ------
    ValueError
        On a negative radius or an array with fewer than two dimensions.
    """
    radius_px = _check_radius(radius_px)
    if getattr(reject, "ndim", 0) < 2:
        raise ValueError("dilate_mask needs an array with at least two (y, x) dimensions")
    if not _is_dask(reject):
        return _dilate_numpy(reject, radius_px)
    mask = reject.astype(bool)
    if radius_px == 0:
        return mask
    depth = {mask.ndim - 2: radius_px, mask.ndim - 1: radius_px}
    return mask.map_overlap(
        _dilate_numpy,
        depth=depth,
        boundary="none",
        dtype=bool,
        radius_px=radius_px,
    )


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


# ----------------------------------------------------------------------------------------------
# xarray wrappers
# ----------------------------------------------------------------------------------------------


def _band(ds: xr.Dataset, name: str, hint: str) -> xr.DataArray:
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"expected an xarray.Dataset with a {name!r} variable; got {type(ds)}")
    if name not in ds.data_vars:
        have = ", ".join(map(str, ds.data_vars)) or "none"
        raise BandMissingError(f"band {name!r} is missing from the dataset (has: {have}); {hint}")
    return ds[name]


def _lift(kernel: Callable[..., np.ndarray], *arrays: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    return lift(kernel, *arrays, dtype=bool, kwargs=kwargs)


def _dilate_da(reject: xr.DataArray, radius_px: int) -> xr.DataArray:
    if reject.ndim < 2:
        raise ValueError("dilation needs a mask with (y, x) as its last two dimensions")
    return reject.copy(data=dilate_mask(reject.data, radius_px))


def _finish(mask: xr.DataArray, kind: str, comment: str) -> xr.DataArray:
    """Name the mask and describe it in CF-style attributes; ``kind`` is "clear" or "water"."""
    mask = mask.rename(f"{kind}_mask")
    mask.attrs = {
        "long_name": _LONG_NAMES[kind],
        "flag_values": (0, 1),
        "flag_meanings": _FLAG_MEANINGS[kind],
        "comment": comment,
    }
    return mask


_LONG_NAMES = {"clear": "clear-sky mask (True = keep)", "water": "water flag (True = water)"}
_FLAG_MEANINGS = {"clear": "rejected kept", "water": "not_water water"}


def landsat_clear_mask(
    ds: xr.Dataset,
    *,
    preset: str | QAPixelMask = "default",
    radsat_bands: Iterable[int | str] | None = None,
    st_qa_max_k: float | None = None,
    cdist_min_km: float | None = None,
    dilate_px: int = 0,
) -> xr.DataArray:
    """Clear-sky mask of Landsat Collection 2 data (True = keep).

    Parameters
    ----------
    ds
        Dataset with a ``qa_pixel`` variable, plus ``qa_radsat``, ``st_qa`` (kelvin) and
        ``st_cdist`` (km) when the matching option is set. NumPy- or Dask-backed; integer or
        float with NaN for nodata.
    preset
        QA_PIXEL preset name (:data:`QA_PIXEL_PRESETS`) or a :class:`QAPixelMask`.
    radsat_bands
        Bands whose saturation rejects a pixel (see :func:`radsat_ok`); ``None`` skips QA_RADSAT.
    st_qa_max_k
        Reject pixels with an ST uncertainty above this (K); ``None`` skips ST_QA.
    cdist_min_km
        Reject pixels closer to a cloud than this (km); ``None`` skips ST_CDIST.
    dilate_px
        Grow the QA_PIXEL cloud rejection (:func:`qa_pixel_cloudy`, not fill or water) by a
        disk of this radius in pixels over the last two dimensions (y, x).

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask`` with the coordinates of ``qa_pixel``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If a band needed by the options is absent.
    ValueError
        On an unknown preset or invalid thresholds.
    """
    spec = qa_pixel_preset(preset)
    dilate_px = _check_radius(dilate_px)
    qa = _band(ds, "qa_pixel", "load the 'qa_pixel' band with the others")
    mask = _lift(qa_pixel_clear, qa, spec=spec)
    comment = spec.describe()
    if dilate_px:
        mask = mask & ~_dilate_da(_lift(qa_pixel_cloudy, qa, spec=spec), dilate_px)
        comment += f"; cloud rejection dilated by a disk of {dilate_px} px"
    if radsat_bands is not None:
        bands = tuple(radsat_bands) if not isinstance(radsat_bands, str | int) else (radsat_bands,)
        radsat_reject_value(bands)  # validate before building the graph
        radsat = _band(ds, "qa_radsat", "load the 'qa_radsat' band or pass radsat_bands=None")
        mask = mask & _lift(radsat_ok, radsat, bands=bands)
        comment += f"; QA_RADSAT: saturated {list(bands)} or terrain occlusion rejected"
    if st_qa_max_k is not None:
        _finite_positive("st_qa_max_k", st_qa_max_k, allow_zero=False)
        st_qa = _band(ds, "st_qa", "load the 'st_qa' band or pass st_qa_max_k=None")
        mask = mask & _lift(st_qa_ok, st_qa, max_k=st_qa_max_k)
        comment += f"; ST_QA > {st_qa_max_k} K or missing rejected"
    if cdist_min_km is not None:
        _finite_positive("cdist_min_km", cdist_min_km, allow_zero=True)
        cdist = _band(ds, "st_cdist", "load the 'st_cdist' band or pass cdist_min_km=None")
        mask = mask & _lift(cdist_ok, cdist, min_km=cdist_min_km)
        comment += f"; ST_CDIST < {cdist_min_km} km or missing rejected"
    return _finish(mask, "clear", comment)


def landsat_water_mask(ds: xr.Dataset) -> xr.DataArray:
    """Water flag of Landsat Collection 2 data (QA_PIXEL bit 7; fill and NaN are False).

    Parameters
    ----------
    ds
        Dataset with a ``qa_pixel`` variable.

    Returns
    -------
    xarray.DataArray
        Boolean ``water_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``qa_pixel`` is absent.
    """
    qa = _band(ds, "qa_pixel", "load the 'qa_pixel' band with the others")
    return _finish(
        _lift(qa_pixel_water, qa),
        "water",
        "QA_PIXEL bit 7 (water) set, fill excluded; exclude from urban statistics",
    )


def sentinel2_clear_mask(
    ds: xr.Dataset, *, preset: str | SCLMask | Iterable[int] = "default", dilate_px: int = 0
) -> xr.DataArray:
    """Clear-sky mask of Sentinel-2 L2A data from its SCL band (True = keep).

    Parameters
    ----------
    ds
        Dataset with an ``scl`` variable (integer, or float with NaN for nodata).
    preset
        SCL preset name (:data:`SCL_PRESETS`), an :class:`SCLMask` or SCL codes to keep.
    dilate_px
        Grow the cloud classes (:data:`SCL_CLOUD_CLASSES`: 3, 8, 9, 10) by a disk of this
        radius in pixels over the last two dimensions (y, x) before masking.

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``scl`` is absent.
    """
    spec = scl_preset(preset)
    dilate_px = _check_radius(dilate_px)
    scl = _band(ds, "scl", "load the 'scl' band with the others")
    mask = _lift(scl_keep, scl, keep_classes=spec)
    comment = spec.describe()
    if dilate_px:
        cloudy = _lift(_scl_in, scl, classes=SCL_CLOUD_CLASSES)
        mask = mask & ~_dilate_da(cloudy, dilate_px)
        comment += f"; cloud classes 3, 8, 9, 10 dilated by a disk of {dilate_px} px"
    return _finish(mask, "clear", comment)


def sentinel2_water_mask(ds: xr.Dataset) -> xr.DataArray:
    """Water flag of Sentinel-2 L2A data (SCL class 6).

    Parameters
    ----------
    ds
        Dataset with an ``scl`` variable.

    Returns
    -------
    xarray.DataArray
        Boolean ``water_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``scl`` is absent.
    """
    scl = _band(ds, "scl", "load the 'scl' band with the others")
    return _finish(
        _lift(scl_water, scl),
        "water",
        "SCL class 6 (water); exclude from urban statistics",
    )


def bqa_clear_mask(
    ds: xr.Dataset,
    *,
    cloud_confidence_min: int | None = 3,
    shadow_confidence_min: int | None = 3,
    snow_confidence_min: int | None = 3,
    cirrus_confidence_min: int | None = 3,
    saturation_min: int | None = None,
) -> xr.DataArray:
    """Clear-sky mask of Landsat 8 Collection 1 Level-1 data from its BQA band (True = keep).

    Parameters
    ----------
    ds
        Dataset with a ``bqa`` variable (integer, or float with NaN for nodata).
    cloud_confidence_min, shadow_confidence_min, snow_confidence_min, cirrus_confidence_min, \
saturation_min
        As in :func:`bqa_clear`.

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``bqa`` is absent.
    """
    options = {
        "cloud_confidence_min": cloud_confidence_min,
        "shadow_confidence_min": shadow_confidence_min,
        "snow_confidence_min": snow_confidence_min,
        "cirrus_confidence_min": cirrus_confidence_min,
        "saturation_min": saturation_min,
    }
    bqa_clear(np.zeros(0, dtype=np.uint16), **options)  # validate before building the graph
    bqa = _band(ds, "bqa", "load the 'bqa' band of the Collection 1 product")
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    return _finish(
        _lift(bqa_clear, bqa, **options),
        "clear",
        f"Collection 1 BQA: fill, terrain occlusion and cloud bit rejected; {text}",
    )
