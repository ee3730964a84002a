"""Sentinel-2 L2A ``.SAFE`` folders → STAC items.

``MTD_MSIL2A.xml`` gives the processing baseline, ``BOA_QUANTIFICATION_VALUE``, the per-band
``BOA_ADD_OFFSET``, ``PRODUCT_START_TIME``, ``SPACECRAFT_NAME`` and the cloud cover; the band
files are the JPEG 2000 images under ``GRANULE/*/IMG_DATA/R10m|R20m|R60m`` (named like
``T31UDQ_20230615T105031_B04_10m.jp2``), of which the finest resolution of each band is used.
The granule's ``MTD_TL.xml``, when present, gives the mean sun angle.

A SAFE is read as a folder or in place in the ``.zip`` the Copernicus Data Space delivers
(``S2B_MSIL2A_..._T31TCJ_....SAFE.zip``): its XML with :mod:`zipfile`, its bands through
GDAL ``/vsizip/`` paths, as Landsat's ``.tar``.
"""

from __future__ import annotations

import logging
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pystac

from raster.bands import SENTINEL2_L2A
from raster.sources.assets import ItemAssets, new_item
from raster.sources.sentinel2_scaling import (
    DATATAKE_PROPERTY,
    DEFAULT_QUANTIFICATION,
    OFFSET_BASELINE,
    boa_scaling,
    datatake_of,
    format_baseline,
    parse_baseline,
)
from raster.sources.sentinel2_sizes import check_band_sizes
from tiles.errors import IlotsWarning, MetadataError, ReadError, UnrecognisedProductError

__all__ = [
    "MTD_NAME",
    "SafeMetadata",
    "is_safe_zip",
    "read_mtd_msil2a",
    "sentinel2_item_from_safe",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Product metadata file of an L2A SAFE.
MTD_NAME = "MTD_MSIL2A.xml"
#: ``band_id`` order of ``BOA_ADD_OFFSET`` when ``Spectral_Information`` is absent.
_BAND_IDS = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
_JP2 = re.compile(
    r"(?:L2A_)?T(?P<tile>\d{2}[A-Z]{3})_(?P<time>\d{8}T\d{6})_(?P<band>B\d[\dA]|SCL)_"
    r"(?P<res>\d{2})m\.jp2",
    re.IGNORECASE,
)
_TILE = re.compile(r"_T(\d{2}[A-Z]{3})_")
#: The name of a zipped L2A SAFE: ``S2B_MSIL2A_....SAFE.zip``, or any ``_MSIL2A_`` zip.
_SAFE_ZIP_NAME = re.compile(r"_MSIL2A_|\.SAFE\.zip$", re.IGNORECASE)
_REFERENCE_BANDS = ("red", "nir", "green", "blue", "nir08")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _iter(root: ET.Element, name: str) -> Iterator[ET.Element]:
    return (el for el in root.iter() if _local(el.tag) == name)


def _text(root: ET.Element, name: str) -> str | None:
    element = next(_iter(root, name), None)
    return element.text.strip() if element is not None and element.text else None


def _band_id(physical: str) -> str:
    """``B1`` → ``B01``; ``B8A`` stays."""
    digits = physical.upper().lstrip("B")
    return f"B{int(digits):02d}" if digits.isdigit() else f"B{digits}"


@dataclass(frozen=True)
class SafeMetadata:
    """What ``MTD_MSIL2A.xml`` says that ilots uses.

    Parameters
    ----------
    product_uri
        ``PRODUCT_URI`` (``S2B_MSIL2A_..._T31UDQ_....SAFE``), or the folder name.
    baseline
        ``PROCESSING_BASELINE`` as ``"NN.NN"``.
    start_time
        ``PRODUCT_START_TIME``, UTC.
    spacecraft
        ``SPACECRAFT_NAME`` (``Sentinel-2B``).
    cloud_cover
        ``Cloud_Coverage_Assessment`` in percent, if given.
    quantification
        ``BOA_QUANTIFICATION_VALUE``.
    boa_add_offsets
        ``BOA_ADD_OFFSET`` per band id (``B04`` → ``-1000``); empty before baseline 04.00.
    datatake
        The datatake, ``S2B_20230615T105031``, from ``PRODUCT_URI`` or the ``Datatake``
        identifier (:func:`raster.sources.sentinel2_scaling.datatake_of`), if they tell it.
    source
        The file read.
    """

    product_uri: str
    baseline: str
    start_time: datetime
    spacecraft: str
    cloud_cover: float | None
    quantification: float
    boa_add_offsets: Mapping[str, float] = field(default_factory=dict)
    datatake: str | None = None
    source: str = MTD_NAME

    def __post_init__(self) -> None:
        parse_baseline(self.baseline, source=self.source)
        if not self.quantification > 0:
            raise ValueError(f"{self.source}: quantification must be positive")
        object.__setattr__(self, "boa_add_offsets", MappingProxyType(dict(self.boa_add_offsets)))

    @property
    def product_id(self) -> str:
        """The product name without ``.SAFE``."""
        return self.product_uri.removesuffix(".SAFE")

    @property
    def mgrs_tile(self) -> str | None:
        """MGRS tile (``31UDQ``) from the product name."""
        match = _TILE.search(self.product_uri)
        return match[1] if match else None


def _time(text: str | None, name: str, source: str) -> datetime:
    if not text:
        raise MetadataError(f"{source}: {name} is missing; use the complete {MTD_NAME}")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError(f"{source}: {name} {text!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_mtd_msil2a(path: str | Path) -> SafeMetadata:
    """Read an L2A product's ``MTD_MSIL2A.xml``.

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    SafeMetadata

    Raises
    ------
    MetadataError
        If the file cannot be parsed or lacks the baseline or the start time.
    """
    path = Path(path)
    return _parse_mtd(path.read_bytes(), str(path), path.parent.name)


def _parse_mtd(data: bytes, source: str, folder_name: str) -> SafeMetadata:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise MetadataError(f"{source}: cannot parse XML ({err}); is the file complete?") from err
    baseline = _text(root, "PROCESSING_BASELINE")
    if baseline is None:
        raise MetadataError(f"{source}: PROCESSING_BASELINE is missing; it decides the BOA offset")
    quantification_text = _text(root, "BOA_QUANTIFICATION_VALUE")
    if quantification_text is None:
        warnings.warn(
            f"{source}: BOA_QUANTIFICATION_VALUE is missing; using {DEFAULT_QUANTIFICATION:g}",
            IlotsWarning,
            stacklevel=2,
        )
    physical = {
        el.get("bandId"): _band_id(el.get("physicalBand", ""))
        for el in _iter(root, "Spectral_Information")
        if el.get("bandId") is not None
    }
    offsets: dict[str, float] = {}
    for el in _iter(root, "BOA_ADD_OFFSET"):
        band_id = el.get("band_id", "")
        name = physical.get(band_id) or (
            _BAND_IDS[int(band_id)] if band_id.isdigit() and int(band_id) < len(_BAND_IDS) else None
        )
        if name is None or not el.text:
            raise MetadataError(f"{source}: BOA_ADD_OFFSET band_id={band_id!r} is not a band")
        offsets[name] = float(el.text)
    cloud = _text(root, "Cloud_Coverage_Assessment")
    product_uri = _text(root, "PRODUCT_URI") or folder_name
    datatake = next(_iter(root, "Datatake"), None)
    try:
        return SafeMetadata(
            product_uri=product_uri,
            baseline=format_baseline(baseline, source=f"{source} (PROCESSING_BASELINE)"),
            start_time=_time(_text(root, "PRODUCT_START_TIME"), "PRODUCT_START_TIME", source),
            spacecraft=_text(root, "SPACECRAFT_NAME") or "",
            cloud_cover=float(cloud) if cloud else None,
            quantification=float(quantification_text or DEFAULT_QUANTIFICATION),
            boa_add_offsets=offsets,
            datatake=datatake_of(
                product_uri, datatake.get("datatakeIdentifier") if datatake is not None else None
            ),
            source=source,
        )
    except ValueError as err:
        raise MetadataError(f"{source}: {err}") from err


@dataclass(frozen=True)
class _SafeFiles:
    """The files of a SAFE, in a folder or in a zip: names relative to the SAFE folder.

    ``href`` gives the path GDAL opens (``/vsizip/`` in a zip), ``read`` a file's bytes.
    """

    location: str
    names: tuple[str, ...]
    href: Callable[[str], str]
    read: Callable[[str], bytes]


def _folder_files(safe: Path) -> _SafeFiles:
    names = tuple(sorted(p.relative_to(safe).as_posix() for p in safe.rglob("*") if p.is_file()))
    return _SafeFiles(
        str(safe), names, lambda name: str(safe / name), lambda name: (safe / name).read_bytes()
    )


def _zip_roots(archive: zipfile.ZipFile) -> set[str]:
    """Return the SAFE folders of a zip: ``S2B_MSIL2A_....SAFE/``, or ``""`` at its top."""
    return {
        name[: -len(MTD_NAME)]
        for name in archive.namelist()
        if name == MTD_NAME or name.endswith("/" + MTD_NAME)
    }


def _zip_files(path: Path) -> _SafeFiles:
    try:
        with zipfile.ZipFile(path) as archive:
            roots = _zip_roots(archive)
            members = archive.namelist()
    except PermissionError:
        raise  # open_product says so
    except (zipfile.BadZipFile, OSError) as err:
        raise ReadError(f"{path}: cannot read the zip ({err}); is the download complete?") from err
    if not roots:
        raise UnrecognisedProductError(
            f"{path} holds no {MTD_NAME}; is it a Sentinel-2 L2A SAFE zip?"
        )
    if len(roots) != 1:
        raise UnrecognisedProductError(
            f"{path} holds {len(roots)} Sentinel-2 SAFE products (one {MTD_NAME} each); "
            "ilots reads one product a zip, as the Copernicus Data Space delivers them"
        )
    (root,) = roots

    def read(name: str) -> bytes:
        with zipfile.ZipFile(path) as archive:
            return archive.read(root + name)

    inside = [m for m in members if m.startswith(root) and not m.endswith("/")]
    names = tuple(sorted(m[len(root) :] for m in inside))
    location = f"{path}/{root.rstrip('/')}" if root else str(path)
    return _SafeFiles(location, names, lambda name: f"/vsizip/{path}/{root}{name}", read)


def is_safe_zip(path: Path) -> bool:
    """Whether ``path`` is a zip holding an L2A SAFE (the Copernicus Data Space download).

    A zip named as one (``S2B_MSIL2A_....SAFE.zip``), and a zip that cannot be read at all
    (a download cut short), count as one: reading it then says what is wrong with it.
    """
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        return False
    if _SAFE_ZIP_NAME.search(path.name):
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(_zip_roots(archive))
    except PermissionError:
        raise  # open_product says so
    except (zipfile.BadZipFile, OSError):
        return True


def _band_files(files: _SafeFiles) -> dict[str, tuple[str, int]]:
    """Band id → (name in the SAFE, resolution) of the finest file of each band."""
    best: dict[str, tuple[str, int]] = {}
    tiles: set[str] = set()
    for name in files.names:
        parts = name.split("/")
        if not (len(parts) == 5 and parts[0] == "GRANULE" and parts[2] == "IMG_DATA"):
            continue
        match = _JP2.fullmatch(parts[4])
        if match is None or not parts[3].startswith("R"):
            continue
        tiles.add(match["tile"].upper())
        band, res = match["band"].upper(), int(match["res"])
        if band not in best or res < best[band][1]:
            best[band] = (name, res)
    if len(tiles) > 1:
        raise UnrecognisedProductError(
            f"{files.location} holds {len(tiles)} tiles ({', '.join(sorted(tiles))}); ilots reads "
            "single-tile L2A products (processing baseline 02.04 and later)"
        )
    return best


def _sun_elevation(files: _SafeFiles) -> float | None:
    for name in files.names:
        parts = name.split("/")
        if not (len(parts) == 3 and parts[0] == "GRANULE" and parts[2] == "MTD_TL.xml"):
            continue
        try:
            root = ET.fromstring(files.read(name))
        except ET.ParseError:
            logger.warning("%s: cannot parse; sun elevation unknown", files.href(name))
            return None
        angle = next(_iter(root, "Mean_Sun_Angle"), None)
        zenith = _text(angle, "ZENITH_ANGLE") if angle is not None else None
        return 90.0 - float(zenith) if zenith else None
    return None


def sentinel2_item_from_safe(path: str | Path) -> pystac.Item:
    """Build the item of a Sentinel-2 L2A SAFE folder.

    Parameters
    ----------
    path
        The ``.SAFE`` folder or its ``MTD_MSIL2A.xml``, or the ``.zip`` holding the SAFE.

    Returns
    -------
    pystac.Item
        Assets keyed by common band name (``B08`` → ``nir``, ``B8A`` → ``nir08``,
        ``SCL`` → ``scl``), each at the finest resolution present, with the baseline's
        scale and offset.

    Raises
    ------
    UnrecognisedProductError
        If there is no ``MTD_MSIL2A.xml``.
    MetadataError, ReadError
        A band file of another size than its band's in this product (relative to the
        product's finest files: :func:`~raster.sources.sentinel2_sizes.check_band_sizes`) is
        a ReadError.
    """
    path = Path(path).resolve()
    if path.suffix.lower() == ".zip":
        files = _zip_files(path)
    else:
        safe = path.parent if path.is_file() else path
        if not (safe / MTD_NAME).is_file():
            raise UnrecognisedProductError(
                f"{safe} has no {MTD_NAME}; is it a Sentinel-2 L2A SAFE?"
            )
        files = _folder_files(safe)
    mtd = files.href(MTD_NAME)
    meta = _parse_mtd(files.read(MTD_NAME), mtd, Path(files.location).name)
    by_file_key = {spec.file_key: spec for spec in SENTINEL2_L2A.values()}
    after_offset = parse_baseline(meta.baseline) >= OFFSET_BASELINE
    missing_offset: list[str] = []
    built = ItemAssets()
    band_files = _band_files(files)
    tile = meta.mgrs_tile
    for name, _res in band_files.values():
        match = _JP2.fullmatch(name.rsplit("/", 1)[-1])
        tile = tile or (match["tile"].upper() if match else None)
    resolutions: dict[str, int] = {}
    for band_id, (name, res) in band_files.items():
        spec = by_file_key.get(band_id)
        if spec is None:
            continue
        resolutions[spec.name] = res
        if spec.kind == "reflectance":
            add = meta.boa_add_offsets.get(band_id)
            if after_offset and add is None:
                missing_offset.append(band_id)
            elif not after_offset and add:
                logger.warning(
                    "%s: BOA_ADD_OFFSET %s for %s before baseline 04.00 ignored", mtd, add, band_id
                )
            scale, offset = boa_scaling(
                meta.baseline, quantification=meta.quantification, boa_add_offset=add
            )
        else:
            scale, offset = spec.scale, spec.offset
        built.add_file(files.href(name), spec, scale=scale, offset=offset)
    check_band_sizes(built.headers, resolutions)
    if missing_offset:
        warnings.warn(
            f"{meta.product_id}: baseline {meta.baseline} but {mtd} has no BOA_ADD_OFFSET for "
            f"{', '.join(missing_offset)}; using -1000",
            IlotsWarning,
            stacklevel=2,
        )
    located = built.reference_footprint(_REFERENCE_BANDS)
    geometry, bbox = located or (None, None)
    if located is None:
        warnings.warn(
            f"{meta.product_id}: no band file found under {files.location}/GRANULE; the "
            "item has metadata only",
            IlotsWarning,
            stacklevel=2,
        )
    properties = {
        "platform": meta.spacecraft.lower() or None,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "ilots:product_type": "sentinel-2-l2a",
        "ilots:processing_level": "L2A",
        "ilots:source": str(path),
        "ilots:metadata": str(mtd),
        "eo:cloud_cover": meta.cloud_cover,
        "view:sun_elevation": _sun_elevation(files),
        "s2:processing_baseline": meta.baseline,
        "s2:mgrs_tile": tile,
        "s2:product_uri": meta.product_uri,
        DATATAKE_PROPERTY: meta.datatake,
    }
    return new_item(
        meta.product_id,
        geometry=geometry,
        bbox=bbox,
        acquired=meta.start_time,
        properties=properties,
        assets=built.ordered(SENTINEL2_L2A),
    )
