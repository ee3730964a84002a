"""Build STAC assets and items from raster file headers.

The product readers (:mod:`.landsat`, :mod:`.sentinel2`) decide *which* files make a product
and *how* their values scale; this module turns each file into a :class:`pystac.Asset` whose
grid (``proj:code`` / ``proj:shape`` / ``proj:transform``) is read from the file header with
rasterio — metadata only, no pixel is read — because product metadata may describe a grid the
file does not have (``../shared/data`` holds downsampled rasters whose MTL still says 30 m).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import pystac
import rasterio
from pyproj import CRS, Transformer
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from rasterio.errors import RasterioError

from raster.bands import BandSpec
from raster.sources.hrefs import href_path, split_curl
from tiles.errors import BandMissingError, MetadataError, ReadError

__all__ = [
    "NO_TIME",
    "ItemAssets",
    "JsonBand",
    "RasterHeader",
    "RemotePolicy",
    "band_asset",
    "check_complete",
    "declared_scaling",
    "folder_jsons",
    "footprint",
    "href_name",
    "invalid_jsons",
    "is_remote",
    "item_datetime",
    "item_time",
    "json_bands",
    "keeps_remote",
    "load_json",
    "local_file",
    "local_twin",
    "new_item",
    "not_the_band_file",
    "parse_datetime",
    "permission_denied",
    "read_header",
    "reference_header",
    "remote_proj",
    "require_bands",
    "size_text",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_MEDIA_TYPES = {
    ".tif": pystac.MediaType.GEOTIFF,
    ".tiff": pystac.MediaType.GEOTIFF,
    ".jp2": pystac.MediaType.JPEG2000,
}


#: What to do with item-JSON band assets whose file is not beside the JSON: ``"auto"`` keeps
#: their URLs only when no band file is local, ``"keep"`` always, ``"drop"`` never.
RemotePolicy = Literal["auto", "keep", "drop"]


@dataclass(frozen=True)
class RasterHeader:
    """What the header of one raster file says about its grid and encoding.

    Parameters
    ----------
    href
        The path that was opened (local path or GDAL ``/vsi...`` path).
    crs_code
        ``"EPSG:n"`` when the CRS has an EPSG code, else ``None``.
    crs_wkt
        The CRS as WKT2 (always set).
    shape
        ``(rows, cols)``.
    transform
        The six affine coefficients ``(a, b, c, d, e, f)``.
    dtype
        Data type of band 1.
    nodata
        Nodata value of band 1 in the file, or ``None`` when the file has no tag.
    bounds
        ``(left, bottom, right, top)`` in the file CRS.
    driver
        GDAL driver short name.
    """

    href: str
    crs_code: str | None
    crs_wkt: str
    shape: tuple[int, int]
    transform: tuple[float, float, float, float, float, float]
    dtype: str
    nodata: float | None
    bounds: tuple[float, float, float, float]
    driver: str

    def __post_init__(self) -> None:
        if self.shape[0] <= 0 or self.shape[1] <= 0:
            raise ValueError(f"{self.href}: raster shape {self.shape} is empty")
        if len(self.transform) != 6:
            raise ValueError(f"{self.href}: transform needs 6 coefficients")


def is_remote(href: str) -> bool:
    """Whether ``href`` is a URL (``https://``, ``s3://`` ...) rather than a local/GDAL path."""
    scheme = urlparse(href).scheme
    return len(scheme) > 1 and scheme != "file"


def _check_blocks(src: rasterio.DatasetReader, file_size: int | None) -> None:
    """Raise if a GeoTIFF's last block lies past the end of the file (a truncated download)."""
    if src.driver != "GTiff" or file_size is None:
        return
    rows, cols = src.block_shapes[0]
    last_row = (src.height - 1) // rows
    last_col = (src.width - 1) // cols
    offset = src.get_tag_item(f"BLOCK_OFFSET_{last_col}_{last_row}", "TIFF", bidx=1)
    size = src.get_tag_item(f"BLOCK_SIZE_{last_col}_{last_row}", "TIFF", bidx=1)
    if offset and size and int(offset) + int(size) > file_size:
        raise ReadError(
            f"{src.name}: file is truncated ({file_size} bytes, data runs to "
            f"{int(offset) + int(size)}); download it (or write it) again"
        )


def check_complete(href: str) -> None:
    """Raise :class:`ReadError` if a local GeoTIFF is truncated (a download cut short)."""
    with rasterio.open(href) as src:
        _check_blocks(src, _local_size(href))


def _local_size(href: str) -> int | None:
    """Size in bytes of a local file; None for GDAL paths (``/vsi...``) and URLs."""
    return os.path.getsize(href) if not href.startswith("/vsi") and os.path.isfile(href) else None


def read_header(href: str, *, file_size: int | None = None) -> RasterHeader:
    """Open a raster's header (no pixel read) and return its grid and encoding.

    Parameters
    ----------
    href
        Local path or GDAL path (``/vsitar/...``).
    file_size
        Size in bytes of the file, when known; a GeoTIFF whose last block ends past it is
        reported as truncated. Local files are measured when this is ``None``.

    Returns
    -------
    RasterHeader

    Raises
    ------
    ReadError
        If the file cannot be opened as a raster, is truncated, has no CRS, or may not be
        read (its permissions).
    """
    if file_size is None:
        file_size = _local_size(href)
    try:
        with rasterio.open(href) as src:
            _check_blocks(src, file_size)
            if src.crs is None:
                raise ReadError(f"{href}: raster has no CRS; ilots needs georeferenced files")
            epsg = src.crs.to_epsg()
            crs_wkt = src.crs.to_wkt()
            transform = tuple(float(v) for v in tuple(src.transform)[:6])
            return RasterHeader(
                href=href,
                crs_code=f"EPSG:{epsg}" if epsg else None,
                crs_wkt=crs_wkt,
                shape=(src.height, src.width),
                transform=transform,  # type: ignore[arg-type]
                dtype=str(src.dtypes[0]),
                nodata=src.nodata,
                bounds=tuple(src.bounds),  # type: ignore[arg-type]
                driver=src.driver,
            )
    except ReadError:
        raise
    except (RasterioError, OSError) as err:
        if _local_size(href) is not None and not os.access(href, os.R_OK):
            raise permission_denied(href) from err  # GDAL says so only in its text
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ReadError(
            f"{href}: cannot open raster ({reason}); the file is corrupt or incomplete, "
            "download it again"
        ) from err


def permission_denied(path: str | os.PathLike[str]) -> ReadError:
    """Return the error for a file or folder ilots may not read (by its permissions)."""
    return ReadError(f"cannot read {path}: permission denied; check its permissions")


def size_text(shape: tuple[int, int]) -> str:
    """Return a raster's size as ``"<columns> x <rows>"``, as GDAL gives it."""
    return f"{shape[1]} x {shape[0]}"


def not_the_band_file(header: RasterHeader, expected: str) -> ReadError:
    """Return the error for a band file of the wrong data type or size (another file's).

    ``expected`` says what the band's file should be (``"the MTL says UINT16 / 582 x 582"``).
    """
    return ReadError(
        f"{header.href} is {header.dtype} / {size_text(header.shape)} where {expected}: "
        "not this band's file; download the product again"
    )


def _media_type(href: str) -> str | None:
    return _MEDIA_TYPES.get(PurePosixPath(href_name(href)).suffix.lower())


def _finite(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def band_asset(
    href: str,
    spec: BandSpec,
    *,
    scale: float,
    offset: float,
    header: RasterHeader | None = None,
    proj: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pystac.Asset:
    """Build the asset of one band, as the item contract (:mod:`raster.sources`) describes.

    Parameters
    ----------
    href
        Where the file is: absolute path, ``/vsitar/`` path or URL.
    spec
        The band's :class:`~raster.bands.BandSpec` (name, default nodata, dtype, unit).
    scale, offset
        ``physical = DN * scale + offset`` for this product.
    header
        The file header (:func:`read_header`); gives ``proj:*``, the data type and, when the
        band table has no nodata, the nodata value. ``None`` for a remote file.
    proj
        For a remote file, ``proj:code`` / ``proj:shape`` / ``proj:transform`` taken from the
        item metadata (ignored when ``header`` is given).
    extra
        More asset fields (``ilots:k1`` ...).

    Returns
    -------
    pystac.Asset
    """
    nodata = spec.nodata
    data_type = spec.dtype
    if header is not None:
        data_type = header.dtype
        if nodata is None:
            nodata = _finite(header.nodata)
        elif header.nodata is not None and header.nodata != nodata:
            logger.debug(
                "%s: file nodata %s, band table says %s; using the table",
                href,
                header.nodata,
                nodata,
            )
    asset = pystac.Asset(
        href=href,
        title=f"{spec.long_name or spec.name} ({spec.file_key})",
        media_type=_media_type(href),
        roles=["data"],
        extra_fields={"ilots:file_key": spec.file_key, **dict(extra or {})},
    )
    prj = ProjectionExtension.ext(asset, add_if_missing=False)
    if header is not None:
        prj.apply(
            code=header.crs_code,
            wkt2=None if header.crs_code else header.crs_wkt,
            shape=list(header.shape),
            transform=list(header.transform),
        )
    elif proj:
        prj.apply(
            code=proj.get("proj:code"),
            shape=list(proj["proj:shape"]) if proj.get("proj:shape") else None,
            transform=list(proj["proj:transform"])[:6] if proj.get("proj:transform") else None,
        )
    band = RasterBand.create(
        nodata=nodata,
        data_type=DataType(data_type),
        scale=float(scale),
        offset=float(offset),
        unit=spec.unit,
    )
    RasterExtension.ext(asset, add_if_missing=False).bands = [band]
    return asset


def reference_header(
    headers: Mapping[str, RasterHeader], preferred: Sequence[str]
) -> RasterHeader | None:
    """Return the header of the first ``preferred`` band present, else of any band, else None."""
    for band in preferred:
        if band in headers:
            return headers[band]
    return next(iter(headers.values()), None)


def footprint(header: RasterHeader, *, densify: int = 21) -> tuple[dict[str, Any], list[float]]:
    """Return the file's bounds as an EPSG:4326 polygon (edges densified) and its bbox.

    Parameters
    ----------
    header
        The reference band's header.
    densify
        Points per edge, so that curved edges of a UTM tile stay close in lon/lat.

    Returns
    -------
    ``(geometry, bbox)`` as GeoJSON dict and ``[west, south, east, north]``.
    """
    left, bottom, right, top = header.bounds
    n = max(densify, 2)
    xs: list[float] = []
    ys: list[float] = []
    edges = [
        ((left, top), (right, top)),
        ((right, top), (right, bottom)),
        ((right, bottom), (left, bottom)),
        ((left, bottom), (left, top)),
    ]
    for (x0, y0), (x1, y1) in edges:
        for i in range(n - 1):
            t = i / (n - 1)
            xs.append(x0 + (x1 - x0) * t)
            ys.append(y0 + (y1 - y0) * t)
    crs = CRS.from_user_input(header.crs_code or header.crs_wkt)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lons, lats = to_wgs84.transform(xs, ys)
    ring = [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]
    ring.append(ring[0])
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    return {"type": "Polygon", "coordinates": [ring]}, [float(v) for v in bbox]


@dataclass
class ItemAssets:
    """The band assets of an item being built, with the headers of the files read for them.

    The product readers decide which files make the product and how each band scales; this
    reads the files' headers, builds the assets and gives the footprint and the assets in
    band-table order.

    Parameters
    ----------
    assets
        Assets keyed by common band name.
    headers
        Headers of the files read, keyed like ``assets``.
    """

    assets: dict[str, pystac.Asset] = field(default_factory=dict)
    headers: dict[str, RasterHeader] = field(default_factory=dict)

    def add_file(
        self,
        href: str,
        spec: BandSpec,
        *,
        scale: float,
        offset: float,
        extra: Mapping[str, Any] | None = None,
        file_size: int | None = None,
        data_type: str | None = None,
    ) -> None:
        """Read a band file's header (:func:`read_header`) and add its asset (:func:`band_asset`).

        ``data_type`` is the one the product's metadata gives for the file (the MTL's
        ``"UINT16"``), if it does; else the band table's (``spec.dtype``) is expected.

        Raises
        ------
        ReadError
            If the file cannot be opened as a raster, is truncated, or has no CRS; or if its
            data type is not the band's (another file put in its place).
        """
        header = read_header(href, file_size=file_size)
        expected = (data_type or spec.dtype).lower()
        if header.dtype != expected:
            said = (
                f"the MTL says {data_type}"
                if data_type
                else f"{spec.file_key} files are {expected}"
            )
            raise not_the_band_file(header, said)
        self.headers[spec.name] = header
        self.assets[spec.name] = band_asset(
            href, spec, scale=scale, offset=offset, header=header, extra=extra
        )

    def add_json_band(
        self,
        band: JsonBand,
        *,
        scale: float,
        offset: float,
        keep_remote: bool,
        properties: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Add a band of an item JSON: its local file, else its URL when ``keep_remote``.

        The asset of a remote file takes its grid from the JSON (:func:`remote_proj`, with the
        item ``properties`` as fallback); without ``keep_remote`` such a band is left out.
        """
        if band.local is not None:
            self.add_file(str(band.local), band.spec, scale=scale, offset=offset, extra=extra)
        elif keep_remote:
            self.assets[band.spec.name] = band_asset(
                str(band.asset["href"]),
                band.spec,
                scale=scale,
                offset=offset,
                proj=remote_proj(band.asset, properties),
                extra=extra,
            )

    def reference_footprint(
        self, preferred: Sequence[str]
    ) -> tuple[dict[str, Any], list[float]] | None:
        """Return the footprint of the first ``preferred`` band file read, else of any file.

        Returns
        -------
        ``(geometry, bbox)``, or ``None`` when no file was read.
        """
        reference = reference_header(self.headers, preferred)
        return None if reference is None else footprint(reference)

    def ordered(self, names: Iterable[str]) -> dict[str, pystac.Asset]:
        """Return the assets in the order of ``names`` (a band table), skipping absent ones."""
        return {name: self.assets[name] for name in names if name in self.assets}


def new_item(
    item_id: str,
    *,
    geometry: dict[str, Any] | None,
    bbox: Sequence[float] | None,
    acquired: datetime,
    properties: Mapping[str, Any],
    assets: Mapping[str, pystac.Asset],
) -> pystac.Item:
    """Assemble an item, dropping ``None`` properties.

    Parameters
    ----------
    item_id
        Product identifier.
    geometry, bbox
        Footprint in EPSG:4326.
    acquired
        Acquisition time (timezone-aware, UTC).
    properties
        Item properties besides ``datetime``.
    assets
        Assets keyed by common band name.

    Returns
    -------
    pystac.Item
    """
    if acquired.tzinfo is None:
        raise ValueError(f"{item_id}: acquisition time must be timezone-aware")
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=list(bbox) if bbox is not None else None,
        datetime=acquired,
        properties={k: v for k, v in properties.items() if v is not None},
    )
    for key, asset in assets.items():
        item.add_asset(key, asset)
    ProjectionExtension.add_to(item)
    RasterExtension.add_to(item)
    return item


def item_datetime(properties: Mapping[str, Any], *, source: str) -> datetime:
    """Return the time of an item JSON's ``properties`` in UTC (:func:`item_time`'s rule).

    ``datetime``, else ``start_datetime``, else ``end_datetime``: STAC allows ``datetime:
    null`` with a range. Raises :class:`~tiles.errors.MetadataError` when it gives none.
    """
    key = next((k for k in _TIME_KEYS if properties.get(k) is not None), None)
    if key is None:
        raise MetadataError(f"{source}: {NO_TIME}")
    return parse_datetime(properties[key], source=source, key=key)


#: What an item without a time lacks, and the fix.
NO_TIME = (
    "the item gives neither a datetime nor a start_datetime or end_datetime; STAC requires "
    "one, give it"
)
_TIME_KEYS = ("datetime", "start_datetime", "end_datetime")


def parse_datetime(text: str, *, source: str, key: str = "datetime") -> datetime:
    """Parse a STAC ``datetime`` (ISO 8601, or a bare date as old USGS items have) as UTC.

    ``key``: the property it comes from, for the error.
    """
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError(f"{source}: {key} {text!r} is not ISO 8601") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def declared_scaling(asset: Mapping[str, Any]) -> dict[str, float]:
    """Return the ``scale`` and ``offset`` an item JSON's asset declares (either, both, none).

    STAC 1.0's raster extension puts them in ``raster:bands[0]`` (``scale``, ``offset``);
    STAC 1.1 in ``bands[0]`` (``raster:scale``, ``raster:offset``) or, for a one-band asset,
    on the asset itself. The first of these places that gives a value is used.
    """
    places = [
        (_first_band(asset.get("raster:bands")), ""),
        (_first_band(asset.get("bands")), "raster:"),
        (asset, "raster:"),
    ]
    out: dict[str, float] = {}
    for key in ("scale", "offset"):
        value = next((band[prefix + key] for band, prefix in places if prefix + key in band), None)
        if value is not None:
            out[key] = float(value)
    return out


def _first_band(bands: Any) -> Mapping[str, Any]:
    """Return the first band object of a ``raster:bands`` or ``bands`` list, else ``{}``."""
    first = bands[0] if isinstance(bands, list) and bands else None
    return first if isinstance(first, Mapping) else {}


def remote_proj(asset: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """``proj:code``/``proj:shape``/``proj:transform`` of an asset, item values as fallback."""

    def pick(key: str) -> Any:
        return asset.get(key, properties.get(key))

    code = pick("proj:code")
    epsg = pick("proj:epsg")
    if code is None and epsg is not None:
        code = f"EPSG:{int(epsg)}"
    return {
        "proj:code": code,
        "proj:shape": pick("proj:shape"),
        "proj:transform": pick("proj:transform"),
    }


def _parse_json(path: Path) -> Any:
    """Parse a JSON file, with a :class:`MetadataError` when it is not valid JSON."""
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text)
    except json.JSONDecodeError as err:
        reason = (
            "the file is empty"
            if not text.strip()
            else f"{err.msg} at line {err.lineno} column {err.colno}"
        )
    except UnicodeDecodeError as err:
        reason = f"not UTF-8 text: {err.reason} at byte {err.start}"
    raise MetadataError(f"{path} is not valid JSON ({reason}); download it again")


def load_json(path: Path) -> dict[str, Any]:
    """Read a JSON file, with a :class:`MetadataError` when it is not valid JSON."""
    data = _parse_json(path)
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def folder_jsons(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Yield each readable JSON object of a folder (``*.json``, by name) with its path.

    A file that is not valid JSON, or not an object, is passed over: a folder of products
    holds other JSON files (a provider's metadata, a half-downloaded one);
    :func:`invalid_jsons` says which are not valid JSON.
    """
    for path in sorted(folder.glob("*.json")):
        try:
            yield path, load_json(path)
        except MetadataError:
            continue


def invalid_jsons(folder: Path) -> list[MetadataError]:
    """Return the errors of a folder's ``*.json`` files that are not valid JSON, by name.

    So that a product whose item JSON was cut short (or left empty) is said to be so, rather
    than not recognised.
    """
    errors = []
    for path in sorted(folder.glob("*.json")):
        try:
            _parse_json(path)
        except MetadataError as err:
            errors.append(err)
    return errors


def local_file(href: str, folder: Path) -> Path | None:
    """Return the local file an item href names, resolved against the item's ``folder``.

    A relative href is taken relative to ``folder`` (as STAC says), an absolute or
    ``file:`` one as is (:func:`~raster.sources.hrefs.href_path`); a URL, a GDAL path, or a
    path that does not exist, falls back to :func:`local_twin` (a file of the same name in
    ``folder``).
    """
    path = href_path(href)
    if path is not None and (folder / path).is_file():  # an absolute path as it is
        return (folder / path).resolve()
    return local_twin(href, folder)


def href_name(href: str) -> str:
    """Return the file name an href ends with, percent-decoded.

    A URL's query (a signature) is left out, and so is a ``/vsicurl/`` path's.
    """
    url = split_curl(href)[1]
    if is_remote(url):
        return PurePosixPath(unquote(urlparse(url).path)).name
    return (href_path(href) or PurePosixPath(href)).name


def local_twin(href: str, folder: Path) -> Path | None:
    """Return the file named like ``href``'s last path part in ``folder``, if it exists."""
    name = href_name(href)
    candidate = folder / name
    return candidate.resolve() if name and candidate.is_file() else None


@dataclass(frozen=True)
class JsonBand:
    """A band asset of an item JSON.

    Parameters
    ----------
    spec
        The band it holds.
    asset
        The asset as the JSON gives it.
    local
        The local file it names (:func:`local_file`), if there is one.
    """

    spec: BandSpec
    asset: Mapping[str, Any]
    local: Path | None


def json_bands(
    assets: Mapping[str, Mapping[str, Any]],
    band_of: Callable[[str, str], BandSpec | None],
    folder: Path,
) -> dict[str, JsonBand]:
    """Return the band assets of an item JSON keyed by common band name.

    Parameters
    ----------
    assets
        The JSON's assets.
    band_of
        ``(asset key, href) -> band``, or ``None`` for an asset that is not a band.
    folder
        The JSON's folder, against which hrefs are resolved to local files.

    Returns
    -------
    dict
        One :class:`JsonBand` per band, from the first asset that holds it.
    """
    found: dict[str, JsonBand] = {}
    for key, asset in assets.items():
        href = str(asset.get("href", ""))
        spec = band_of(key, href)
        if spec is None or spec.name in found:
            continue
        found[spec.name] = JsonBand(spec, asset, local_file(href, folder))
    return found


def keeps_remote(remote: RemotePolicy, bands: Mapping[str, JsonBand]) -> bool:
    """Whether band assets without a local file keep their URL under the ``remote`` policy."""
    any_local = any(band.local is not None for band in bands.values())
    return remote == "keep" or (remote == "auto" and not any_local)


def require_bands(item: pystac.Item, bands: Iterable[str]) -> None:
    """Check that an item has an asset for every band asked for.

    Parameters
    ----------
    item
        An item from :func:`raster.sources.open_product`.
    bands
        Common band names (``red``, ``nir08``, ``lwir11`` ...).

    Raises
    ------
    BandMissingError
        Naming the first missing band, the product and the bands it has.
    """
    present = sorted(k for k, a in item.assets.items() if "data" in (a.roles or []))
    for band in bands:
        if band not in item.assets:
            raise BandMissingError(
                f"band {band!r} is missing from product {item.id} "
                f"(it has: {', '.join(present) or 'no bands'}); add its file to the product "
                "folder or choose a computation that does not need it"
            )


def item_time(item: pystac.Item) -> datetime | None:
    """Return an item's time: its ``datetime``, else ``start_datetime``, else ``end_datetime``.

    odc-stac's rule (a STAC item may give a range only, ``datetime: null``); a time without
    a zone is taken as UTC, so that any two compare. None when the item gives none.
    """
    meta = item.common_metadata
    when = item.datetime or meta.start_datetime or meta.end_datetime
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when
