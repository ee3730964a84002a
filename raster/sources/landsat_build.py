"""Landsat 8/9 item building: from a parsed MTL and a way to find the files, one STAC item.

The MTL says which files make the product and how each scales; the files' own headers say
their grid. Collection 2 Level-2 bands take ``REFLECTANCE_MULT/ADD_BAND_n`` and
``TEMPERATURE_MULT/ADD_BAND_ST_B10`` from the MTL (falling back to the documented constants
with an :class:`~tiles.errors.IlotsWarning`); Level-1 (Collection 1 and 2) reflective bands
fold the division by ``sin(SUN_ELEVATION)`` into scale and offset, and thermal bands carry the
radiance scaling plus the scene's ``K1``/``K2`` (science.md §1.2, §2.1).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pystac

from raster.bands import BandSpec, band_table
from raster.sources.assets import ItemAssets, new_item, not_the_band_file, size_text
from raster.sources.mtl import LandsatMetadata, mtl_value
from tiles.errors import IlotsWarning, MetadataError, UnsupportedProductError

__all__ = [
    "LANDSAT_ITEM_ID",
    "LANDSAT_PRODUCT_ID",
    "BandScaling",
    "Locator",
    "band_scaling",
    "check_spacecraft",
    "landsat_item_from_metadata",
    "landsat_product_type",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: A Landsat Collection 1/2 product identifier, split into its fields.
LANDSAT_PRODUCT_ID = re.compile(
    r"(?P<sensor>L[COTEM])(?P<satellite>0\d)_(?P<level>L1TP|L1GT|L1GS|L2SP|L2SR)_"
    r"(?P<path>\d{3})(?P<row>\d{3})_(?P<acquired>\d{8})_(?P<processed>\d{8})_"
    r"(?P<collection>\d{2})_(?P<category>T1|T2|RT)"
)

#: The id of a Landsat STAC item: the product id, or the scene's without the processing date
#: (Planetary Computer's ``LC08_L2SP_047027_20201204_02_T1``).
LANDSAT_ITEM_ID = re.compile(
    LANDSAT_PRODUCT_ID.pattern.replace(r"(?P<processed>\d{8})_", r"(?:(?P<processed>\d{8})_)?")
)

_SUPPORTED_SPACECRAFT = ("LANDSAT_8", "LANDSAT_9")
_REFERENCE_BANDS = ("red", "nir08", "lwir11", "green", "blue")

# Where each collection keeps the Level-1 scaling groups.
_L1_RESCALING = ("LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING")
_L1_THERMAL = ("LEVEL1_THERMAL_CONSTANTS", "TIRS_THERMAL_CONSTANTS")
_L2_SR = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
_L2_ST = "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"
# Where each collection keeps the file names and data types, and the grid sizes.
_CONTENTS = ("PRODUCT_CONTENTS", "PRODUCT_METADATA")
_GRID = ("PROJECTION_ATTRIBUTES", "PRODUCT_METADATA")
_THERMAL_BANDS = ("B10", "B11")  # Level-1; Level-2 thermal files are ST_*


@dataclass(frozen=True)
class BandScaling:
    """How one band's DN become physical values in one product.

    Parameters
    ----------
    scale, offset
        ``physical = DN * scale + offset``.
    extra
        Extra asset fields (``ilots:k1`` / ``ilots:k2`` for Level-1 thermal bands,
        ``ilots:empty`` for the ST bands of an L2SR product).
    from_metadata
        ``False`` when the product's metadata lacked the values and the band table's
        defaults were used.
    """

    scale: float
    offset: float
    extra: Mapping[str, Any] = field(default_factory=dict)
    from_metadata: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and math.isfinite(self.offset)) or self.scale == 0:
            raise ValueError(f"invalid band scaling: scale={self.scale}, offset={self.offset}")


def landsat_product_type(collection: int, processing_level: str, *, source: str = "") -> str:
    """Return the :data:`raster.bands.PRODUCT_TYPES` entry of a Landsat product.

    Raises
    ------
    UnsupportedProductError
        For combinations ilots has no band table for (e.g. Collection 1 Level-2).
    """
    level = processing_level.upper()
    if level.startswith("L2") and collection == 2:
        return "landsat-c2-l2"
    if level.startswith("L1") and collection in (1, 2):
        return f"landsat-c{collection}-l1"
    raise UnsupportedProductError(
        f"{source}: Landsat collection {collection} {processing_level} is not supported; "
        "use Collection 2 Level-2, or Level-1 of Collection 1 or 2"
    )


def check_spacecraft(spacecraft: str, product_id: str) -> None:
    """Raise :class:`UnsupportedProductError` unless the spacecraft is Landsat 8 or 9."""
    if spacecraft.upper() not in _SUPPORTED_SPACECRAFT:
        raise UnsupportedProductError(
            f"{product_id}: {spacecraft} is not supported; ilots reads Landsat 8/9 OLI/TIRS "
            "(and Sentinel-2 L2A) products"
        )


def _number(group: Mapping[str, Any], key: str, group_name: str, source: str) -> float:
    value = mtl_value(group, key, group_name=group_name, source=source)
    if not isinstance(value, int | float):
        raise MetadataError(f"{source}: {key} = {value!r} in {group_name} is not a number")
    return float(value)


def _level2_scaling(meta: LandsatMetadata, spec: BandSpec) -> BandScaling:
    key = spec.file_key
    if key.startswith("SR_B"):
        group_name, mult_key, add_key = (
            _L2_SR,
            f"REFLECTANCE_MULT_BAND_{key[4:]}",
            f"REFLECTANCE_ADD_BAND_{key[4:]}",
        )
    elif key == "ST_B10":
        group_name, mult_key, add_key = (
            _L2_ST,
            "TEMPERATURE_MULT_BAND_ST_B10",
            "TEMPERATURE_ADD_BAND_ST_B10",
        )
    else:  # ST_QA, ST_EMIS, QA bands...: documented constants, not in the MTL
        return BandScaling(spec.scale, spec.offset)
    try:
        group = meta.group(group_name)
        return BandScaling(
            _number(group, mult_key, group_name, meta.source),
            _number(group, add_key, group_name, meta.source),
        )
    except MetadataError as err:
        logger.debug("%s", err)
        return BandScaling(spec.scale, spec.offset, from_metadata=False)


def _named_group(meta: LandsatMetadata, names: tuple[str, ...]) -> tuple[str, Mapping[str, Any]]:
    """Return the first group of ``names`` present, with its name."""
    group = meta.group(*names)
    root = next(iter(meta.mtl.values()))
    return next(n for n in names if root.get(n) is group), group


def _level1_scaling(meta: LandsatMetadata, spec: BandSpec) -> BandScaling:
    key = spec.file_key
    if spec.kind == "bitfield":
        return BandScaling(1.0, 0.0)
    band = key[1:]  # "B4" -> "4"
    rescaling_name, rescaling = _named_group(meta, _L1_RESCALING)
    if spec.kind == "reflectance":
        if meta.sun_elevation is None:
            raise MetadataError(
                f"{meta.source}: SUN_ELEVATION is missing from IMAGE_ATTRIBUTES; Level-1 "
                "reflectance needs it"
            )
        sin_sun = math.sin(math.radians(meta.sun_elevation))
        if sin_sun <= 0:
            raise UnsupportedProductError(
                f"{meta.product_id}: sun elevation {meta.sun_elevation} deg is at or below the "
                "horizon; TOA reflectance is undefined for night scenes"
            )
        mult = _number(rescaling, f"REFLECTANCE_MULT_BAND_{band}", rescaling_name, meta.source)
        add = _number(rescaling, f"REFLECTANCE_ADD_BAND_{band}", rescaling_name, meta.source)
        return BandScaling(mult / sin_sun, add / sin_sun)
    # thermal radiance, with the scene's K1/K2
    thermal_name, thermal = _named_group(meta, _L1_THERMAL)
    return BandScaling(
        _number(rescaling, f"RADIANCE_MULT_BAND_{band}", rescaling_name, meta.source),
        _number(rescaling, f"RADIANCE_ADD_BAND_{band}", rescaling_name, meta.source),
        extra={
            "ilots:k1": _number(thermal, f"K1_CONSTANT_BAND_{band}", thermal_name, meta.source),
            "ilots:k2": _number(thermal, f"K2_CONSTANT_BAND_{band}", thermal_name, meta.source),
        },
    )


def band_scaling(meta: LandsatMetadata, spec: BandSpec) -> BandScaling:
    """Scale, offset and extra fields of one band of a product, from its MTL.

    Parameters
    ----------
    meta
        The product's MTL (:func:`~raster.sources.mtl.landsat_metadata`).
    spec
        The band, from the product type's band table.

    Returns
    -------
    BandScaling
        For Level-2, ``from_metadata`` is ``False`` when the MTL lacked the band's
        ``..._MULT_...``/``..._ADD_...`` values and the band table's defaults were used.

    Raises
    ------
    MetadataError
        For Level-1, when the rescaling or thermal-constant group, a key, or
        ``SUN_ELEVATION`` is missing (there is no safe default for those).
    """
    product_type = landsat_product_type(meta.collection, meta.processing_level, source=meta.source)
    if product_type == "landsat-c2-l2":
        scaling = _level2_scaling(meta, spec)
        if meta.processing_level.upper() == "L2SR" and spec.file_key.startswith("ST_"):
            return BandScaling(
                scaling.scale, scaling.offset, {"ilots:empty": True}, from_metadata=True
            )
        return scaling
    return _level1_scaling(meta, spec)


def _properties(meta: LandsatMetadata, product_type: str) -> dict[str, Any]:
    match = LANDSAT_PRODUCT_ID.fullmatch(meta.product_id)
    return {
        "platform": meta.platform,
        "constellation": "landsat",
        "instruments": [s.lower() for s in meta.sensor.split("_")],
        "ilots:product_type": product_type,
        "ilots:processing_level": meta.processing_level,
        "eo:cloud_cover": meta.cloud_cover,
        "view:sun_elevation": meta.sun_elevation,
        "view:sun_azimuth": meta.sun_azimuth,
        "landsat:wrs_path": f"{meta.wrs_path:03d}",
        "landsat:wrs_row": f"{meta.wrs_row:03d}",
        "landsat:collection_number": f"{meta.collection:02d}",
        "landsat:collection_category": match["category"] if match else None,
    }


def _mtl_footprint(meta: LandsatMetadata) -> tuple[dict[str, Any] | None, list[float] | None]:
    """Footprint from the MTL corner coordinates (used only when no band file is at hand)."""
    try:
        group = meta.group("PROJECTION_ATTRIBUTES", "PRODUCT_METADATA")
        corners = [
            (float(group[f"CORNER_{c}_LON_PRODUCT"]), float(group[f"CORNER_{c}_LAT_PRODUCT"]))
            for c in ("UL", "UR", "LR", "LL")
        ]
    except (MetadataError, KeyError, TypeError, ValueError):
        return None, None
    ring = [list(c) for c in corners] + [list(corners[0])]
    lons, lats = zip(*corners, strict=True)
    return {"type": "Polygon", "coordinates": [ring]}, [min(lons), min(lats), max(lons), max(lats)]


#: ``file name -> (href, size in bytes or None)``, or ``None`` when the file is absent.
Locator = Callable[[str], tuple[str, int | None] | None]


#: The files of a Collection 1 Level-2 product as USGS ESPA delivered it (``..._sr_band4.tif``,
#: ``..._pixel_qa.tif``, ``..._bt_band10.tif`` beside the Collection 1 Level-1 MTL).
_ESPA_FILE = re.compile(r".*_(?:sr_band\d+|pixel_qa|bt_band1[01]|sr_aerosol|radsat_qa)\.tif",
                        re.IGNORECASE)  # fmt: skip


def _refuse_espa(names: Iterable[str], where: str) -> None:
    """Raise :class:`UnsupportedProductError` when ``names`` hold ESPA Level-2 files."""
    espa = sorted(n for n in names if _ESPA_FILE.fullmatch(n))
    if espa:
        named = min(espa, key=lambda n: ("_sr_band" not in n.lower(), n))
        raise UnsupportedProductError(
            f"{where}: {named} and the files beside it are Collection 1 Level-2 as ESPA "
            "delivered it; Collection 1 Level-2 (ESPA) is not supported: download Collection 2 "
            "Level-2 from EarthExplorer"
        )


def _mtl_data_type(meta: LandsatMetadata, file_name: str) -> str | None:
    """Return the data type the MTL gives a file (``DATA_TYPE_X`` of its ``FILE_NAME_X``)."""
    try:
        contents = meta.group(*_CONTENTS)
    except MetadataError:
        return None
    for key, value in contents.items():
        if key.startswith("FILE_NAME_") and str(value) == file_name:
            data_type = contents.get("DATA_TYPE_" + key.removeprefix("FILE_NAME_"))
            return str(data_type) if data_type else None
    return None


def _mtl_shape(meta: LandsatMetadata, spec: BandSpec) -> tuple[int, int] | None:
    """Return the ``(rows, columns)`` the MTL gives a band's file (``THERMAL_LINES`` ...)."""
    thermal = spec.file_key.startswith("ST_") or spec.file_key in _THERMAL_BANDS
    kind = "THERMAL" if thermal else "REFLECTIVE"
    try:
        grid = meta.group(*_GRID)
    except MetadataError:
        return None
    lines, samples = grid.get(f"{kind}_LINES"), grid.get(f"{kind}_SAMPLES")
    return (lines, samples) if isinstance(lines, int) and isinstance(samples, int) else None


def _check_sizes(meta: LandsatMetadata, built: ItemAssets, table: Mapping[str, BandSpec]) -> None:
    """Raise :class:`ReadError` for a band file whose size is not the product's.

    The product's size is the MTL's. When no file has it, the files were resampled or clipped
    together (as the real products in ``../shared/data``): the size most of them share is.
    """
    said = {name: _mtl_shape(meta, table[name]) for name in built.headers}
    if not said:
        return
    if any(header.shape == said[name] for name, header in built.headers.items()):
        expected, by = said, "the MTL says"
    else:
        common = Counter(h.shape for h in built.headers.values()).most_common(1)[0][0]
        expected, by = dict.fromkeys(built.headers, common), "the product's other files are"
    for name, header in built.headers.items():
        shape = expected[name]
        if shape is not None and header.shape != shape:
            raise not_the_band_file(header, f"{by} {header.dtype.upper()} / {size_text(shape)}")


def _refuse_other_product(meta: LandsatMetadata, names: Iterable[str], mtl: str) -> None:
    """Raise :class:`MetadataError` when the band files beside an MTL are another product's."""
    others = {
        match[0]
        for name in names
        if name.lower().endswith((".tif", ".tiff"))
        and (match := LANDSAT_PRODUCT_ID.match(name)) is not None
        and match[0] != meta.product_id
    }
    if others:
        raise MetadataError(
            f"{mtl} names product {meta.product_id} while the files beside it are of product "
            f"{', '.join(sorted(others))}: the MTL is another product's; download the product "
            "again"
        )


def landsat_item_from_metadata(
    meta: LandsatMetadata,
    locate: Locator,
    *,
    source: str,
    metadata_href: str,
    beside: Iterable[str] = (),
) -> pystac.Item:
    """Build the item of a product from its MTL and a way to find its files.

    Parameters
    ----------
    meta
        The parsed MTL.
    locate
        ``file name -> (href, size in bytes or None)``, or ``None`` when the file is absent
        (absent files are left out of the item).
    source
        The path the user gave (``ilots:source``).
    metadata_href
        Where the MTL was read (``ilots:metadata``).
    beside
        The names of the files beside the MTL (its folder, its tar): when none is a band of
        the MTL and some are a Collection 1 Level-2 product's as ESPA delivered it, that
        product is refused.

    Returns
    -------
    pystac.Item

    Raises
    ------
    UnsupportedProductError
        Landsat 4-7, a product level without a band table, or ESPA Level-2 files beside a
        Collection 1 MTL without its bands.
    MetadataError, ReadError
    """
    check_spacecraft(meta.spacecraft, meta.product_id)
    product_type = landsat_product_type(meta.collection, meta.processing_level, source=meta.source)
    table = band_table(product_type)
    by_file_key = {spec.file_key: spec for spec in table.values()}
    built = ItemAssets()
    defaulted: list[str] = []
    for file_key, file_name in meta.files.items():
        spec = by_file_key.get(file_key)
        if spec is None:
            continue
        found = locate(file_name)
        if found is None:
            logger.debug(
                "%s: %s is listed in the MTL but absent; not added", meta.product_id, file_name
            )
            continue
        href, size = found
        scaling = band_scaling(meta, spec)
        if not scaling.from_metadata:
            defaulted.append(spec.name)
        built.add_file(
            href,
            spec,
            scale=scaling.scale,
            offset=scaling.offset,
            extra=scaling.extra,
            file_size=size,
            data_type=_mtl_data_type(meta, file_name),
        )
    _check_sizes(meta, built, table)
    if defaulted:
        warnings.warn(
            f"{meta.product_id}: MTL {meta.source} has no scale/offset for "
            f"{', '.join(defaulted)}; using the Collection 2 defaults from raster.bands",
            IlotsWarning,
            stacklevel=3,
        )
    located = built.reference_footprint(_REFERENCE_BANDS)
    if located is not None:
        geometry, bbox = located
    else:
        names = sorted(beside)
        _refuse_espa(names, source)
        _refuse_other_product(meta, names, metadata_href)
        warnings.warn(
            f"{meta.product_id}: no band file of the product was found beside {metadata_href}; "
            "the item has metadata only",
            IlotsWarning,
            stacklevel=3,
        )
        geometry, bbox = _mtl_footprint(meta)
    properties = _properties(meta, product_type)
    properties["ilots:source"] = source
    properties["ilots:metadata"] = metadata_href
    return new_item(
        meta.product_id,
        geometry=geometry,
        bbox=bbox,
        acquired=meta.acquired,
        properties=properties,
        assets=built.ordered(table),
    )
