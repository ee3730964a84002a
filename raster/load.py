"""Load STAC Items onto one analysis grid as a lazy Dataset in physical units.

Plan first, then read: the grid, the chunks and the per-scene scale/offset all come from the
Items' metadata (``proj`` and ``raster:bands``), so building the Dataset reads no pixel; odc-stac
turns each (band, scene, chunk) into one windowed read with per-band resampling (nearest for
QA and classes, bilinear for continuous bands unless told otherwise). A band resampled with
nearest from a coarser grid of the same CRS and pixel phase is read on its own grid and
gathered by row and column index (:mod:`raster.nearest`: GDAL's nearest values without its
warper); :func:`native_window` lets per-pixel work run on those coarser pixels first. A band whose
files are on this machine and on the grid read (same CRS, pixel size and phase: nothing to
resample) is read with plain windowed reads, not odc-loader's (:mod:`raster.native_read`).

Every variable of the result is float32 in physical units (reflectance, K, W m-2 sr-1 um-1,
or the integer codes of QA/class bands) with NaN where the file holds its fill value, and CF
attributes (``units``, ``long_name``, ``standard_name`` where one exists). A band with a
saturation value too (:attr:`raster.bands.BandSpec.saturated`: Sentinel-2 reflectance, DN
65535) is read with it as the fill, before any resampling (:class:`SaturationReader`): NaN
there, and left out of its neighbours' ``bilinear`` or ``average``. A remote file (an item
JSON naming its files by URL) that cannot be read stops the load with a
:class:`~tiles.errors.ReadError` naming the item JSON, the asset, the host and the fix
(:class:`RemoteAsset`); a file of this machine whose pixels cannot be decoded (a damaged
tile inside an intact header), with one naming the file, its product and the fix
(:class:`LocalBand`); or, with ``on_error="skip"`` or inside :func:`skip_damaged_reads`,
the read gives the band's fill value (NaN, left out as clouds are) and one warning per file
says so (:class:`SkippedReads`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import tempfile
import threading
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import numpy as np
import odc.stac
import pystac
import rasterio
import rioxarray  # noqa: F401  (registers .rio on the results)
import xarray as xr
from affine import Affine
from odc.geo import xy_
from odc.geo.geobox import GeoBox
from odc.loader import RioDriver
from odc.loader._rio import RioReader, rio_read
from odc.loader.types import RasterLoadParams, RasterSource

from raster._lift import lift
from raster.bands import BandSpec, band_table
from raster.gdal_errors import deepest_reason, undecodable
from raster.native_read import NativeBand, headers_agree, read_native
from raster.nearest import NativeGather, gather_nearest, native_gather, same_phase
from raster.sources import read_header, require_bands
from raster.sources.assets import NO_TIME, item_time, load_json
from raster.sources.hrefs import gdal_path, href_file, remote_host, split_curl
from raster.sources.landsat_halves import sibling_candidates
from tiles.errors import GridError, IlotsError, IlotsWarning, MetadataError, ReadError
from tiles.grid import DEFAULT_CHUNK, aligned_chunks, analysis_geobox

__all__ = [
    "SkippedReads",
    "StoredBands",
    "dn_to_physical",
    "item_geobox",
    "load_items",
    "load_stored",
    "native_window",
    "skip_damaged_reads",
]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

OnError = Literal["raise", "skip"]


def load_items(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    *,
    geobox: GeoBox | None = None,
    crs: Any = None,
    resolution: float | None = None,
    chunk: int = DEFAULT_CHUNK,
    resampling: str | Mapping[str, str] | None = None,
    on_error: OnError | None = None,
) -> xr.Dataset:
    """Load items onto one grid as a lazy ``(time, y, x)`` Dataset in physical units.

    Parameters
    ----------
    items
        STAC Items following the contract of :mod:`raster.sources` (one per scene).
    bands
        Common band names to load (``red``, ``nir08``, ``lwir11``, ``qa_pixel`` ...).
    geobox
        The analysis grid. Default: a single scene, or scenes sharing one grid, load on their
        own grid (no resampling); otherwise ``crs``/``resolution`` define the grid.
    crs
        Grid CRS when ``geobox`` is not given. Default: the scenes' own CRS when they share
        one (keeping their pixel alignment, so nothing is resampled needlessly), else the UTM
        zone of the centre of their union.
    resolution
        Pixel size in CRS units when ``geobox`` is not given; default the finest pixel of the
        requested bands.
    chunk
        Chunk edge in pixels, rounded up to a multiple of 512.
    resampling
        One method for all continuous bands (``"bilinear"``, ``"average"``, ``"cubic"``...) or
        a mapping per band. QA and class bands always use ``"nearest"`` unless the mapping
        names them.
    on_error
        ``"raise"`` stops on a file of this machine whose pixels cannot be decoded (a
        damaged block: :class:`~tiles.errors.ReadError`); ``"skip"`` reads the band's fill
        value (NaN) instead where the damage is (the read done again by quarters, down to
        :data:`SKIPPED_PIECE_PX` pixels a side), and warns once per file (code
        ``damaged_input``; on a Dask cluster or under Dask's ``processes`` scheduler, only
        inside :func:`skip_damaged_reads`, which gets the other processes' reports back;
        outside it, the warning stays in the process that read). Other failures
        (permission, network, memory) stop the load either way, as does damage in a band
        without a fill value. Default:
        ``"skip"`` inside :func:`skip_damaged_reads`, else ``"raise"``.

    Returns
    -------
    xarray.Dataset
        Lazy (Dask-backed) float32 variables with dimensions ``(time, y, x)``, sorted by time,
        with coordinates ``product_id`` and ``platform`` along ``time``.

    Raises
    ------
    BandMissingError
        If an item lacks a requested band.
    GridError
        If no grid can be derived (no items, or mixed CRSs with no resolution).
    """
    return load_stored(
        items, bands, geobox=geobox, crs=crs, resolution=resolution, chunk=chunk,
        resampling=resampling, on_error=on_error,
    ).physical()  # fmt: skip


@dataclass(frozen=True)
class StoredBands:
    """Bands as the files store them, lazily, with what turns them into physical units.

    For fused kernels that convert the stored values inside their own loop
    (:func:`raster.index_composite.index_median_composite`) instead of materialising a
    float32 array per band and date. ``physical = float32(dn) * scale + offset``, in float32,
    NaN where ``dn == fill`` (:func:`dn_to_physical`).

    Attributes
    ----------
    data
        The stored values ``(time, y, x)`` in the files' dtypes, with the coordinates of
        :func:`load_items`' result.
    scale, offset
        Per band, one float32 value per date.
    fill
        Per band, the fill value per date (float64; NaN where the file declares none).
    specs
        Per band, its :class:`raster.bands.BandSpec` (None for bands the table lacks).
    """

    data: xr.Dataset
    scale: Mapping[str, np.ndarray]
    offset: Mapping[str, np.ndarray]
    fill: Mapping[str, np.ndarray]
    specs: Mapping[str, BandSpec | None]

    def physical(self) -> xr.Dataset:
        """Return the bands in physical units, float32 with CF attributes (:func:`load_items`)."""
        out = xr.Dataset({str(b): self._physical(str(b)) for b in self.data.data_vars})
        return out.assign_coords(self.data.coords).assign_attrs(self.data.attrs)

    def _physical(self, band: str) -> xr.DataArray:
        scale, offset, fill = (
            xr.DataArray(values[band], dims="time") for values in (self.scale, self.offset,
                                                                   self.fill)
        )  # fmt: skip
        physical = lift(dn_to_physical, self.data[band], scale, offset, fill, dtype=np.float32)
        spec = self.specs[band]
        attrs: dict[str, Any] = {"units": spec.unit if spec else "1"}
        if spec is not None:
            attrs["long_name"] = spec.long_name
            if spec.standard_name:
                attrs["standard_name"] = spec.standard_name
            if spec.kind == "temperature":
                attrs["comment"] = "land surface (skin) temperature, not air temperature"
        return physical.rename(band).assign_attrs(attrs)


def load_stored(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    *,
    geobox: GeoBox | None = None,
    crs: Any = None,
    resolution: float | None = None,
    chunk: int = DEFAULT_CHUNK,
    resampling: str | Mapping[str, str] | None = None,
    on_error: OnError | None = None,
) -> StoredBands:
    """Load items onto one grid as :func:`load_items` does, keeping the stored values.

    Same parameters, grid, resampling and errors as :func:`load_items`, whose result is
    this one's :meth:`StoredBands.physical`.
    """
    if on_error not in ("raise", "skip", None):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if not items:
        raise GridError("no scene to load: the list of items is empty")
    if not bands:
        raise ValueError("no band requested; name at least one common band (e.g. 'red')")
    items = sorted(items, key=lambda it: (_nominal_time(it).replace(tzinfo=None), it.id))
    bands = list(dict.fromkeys(bands))
    for item in items:
        require_bands(item, bands)
    grid = geobox if geobox is not None else _default_geobox(items, bands, crs, resolution)
    specs = {b: _band_spec(items[0], b) for b in bands}

    skips = None if on_error == "raise" else _SKIPPING.get()
    if on_error == "skip" and skips is None:
        skips = SkippedReads()
    if skips is not None:
        skips.name_bands(items, bands)
    raw = _load_raw(items, bands, grid, chunk, _resampling(specs, resampling), skips)
    out = xr.Dataset(
        {b: raw[b].rename(b) for b in bands},
        coords={
            "product_id": ("time", [it.id for it in items]),
            "platform": ("time", [str(it.properties.get("platform", "")) for it in items]),
        },
    )
    out = out.assign_coords(_thermal_constants(items, bands))
    out.attrs["source_products"] = ", ".join(it.id for it in items)
    params = {b: [_raster_band(it, b, specs[b]) for it in items] for b in bands}

    def per_date(i: int, dtype: str) -> dict[str, np.ndarray]:
        return {b: np.array([np.nan if p[i] is None else p[i] for p in params[b]], dtype=dtype)
                for b in bands}  # fmt: skip

    return StoredBands(out, per_date(0, "float32"), per_date(1, "float32"),
                       per_date(2, "float64"), specs)  # fmt: skip


def _load_raw(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    grid: GeoBox,
    chunk: int,
    methods: Mapping[str, str],
    skips: SkippedReads | None,
) -> dict[str, xr.DataArray]:
    """Load the stored values of each band on ``grid``, lazily, warping only where needed.

    Bands resampled with ``nearest`` from a coarser grid of the same CRS and pixel phase in
    every item (Landsat's 30 m and Sentinel-2's 20 m bands on a 10 m run) are read on their
    own pixel grid and gathered (:mod:`raster.nearest`); the others go through odc-stac's
    reprojection (or its plain read when the grids coincide). Bands whose files are on this
    machine and on the grid they are read onto (the analysis grid, or the gather's native
    window) are read with windowed reads of their own (:mod:`raster.native_read`), not
    odc-loader's, unless damaged reads are skipped. ``skips``: where reads of damaged files
    are reported, when they are skipped.
    """
    driver = _driver(items, _saturated(items, bands), _remote(items, bands), skips)
    options = {"groupby": "id", "preserve_original_order": True, "driver": driver,
               "use_overviews": False}  # fmt: skip
    plans = {b: _gather_plan(items, b, grid) if methods[b] == "nearest" else None for b in bands}
    direct = [b for b in bands if plans[b] is None]
    raw: dict[str, xr.DataArray] = {}
    native = _native_reads(items, direct, grid, aligned_chunks(grid, chunk), driver)
    raw.update(native)
    direct = [b for b in direct if b not in native]
    if direct:
        loaded = odc.stac.load(
            items, bands=direct, geobox=grid, chunks=aligned_chunks(grid, chunk),
            resampling={b: methods[b] for b in direct}, **options,
        )  # fmt: skip
        raw.update({b: loaded[b] for b in direct})
    windows: dict[Any, list[str]] = {}
    for band, plan in plans.items():
        if plan is not None:
            key = (tuple(plan.geobox.shape.yx), tuple(plan.geobox.affine))
            windows.setdefault(key, []).append(band)
    for group in windows.values():
        plan = plans[group[0]]
        assert plan is not None
        gathered = _load_gathered(items, group, plan, grid, chunk, options)
        raw.update({b: gathered[b] for b in group})
    return raw


#: Item property naming how its asset URLs are signed (``planetary_computer``); set by
#: :mod:`pipelines.config.inputs` on the items of a search that signs, and on Planetary
#: Computer items of any source (item files, static catalogues, searches).
SIGN_PROPERTY = "ilots:sign"


def sign_href(href: str, signer: str) -> str:
    """Return ``href`` signed afresh by ``signer`` (its old signature, a query, left out).

    ``planetary_computer``: :func:`planetary_computer.sign`, which keeps a token per storage
    container and renews it before it expires. A GDAL ``/vsicurl/`` path keeps its prefix,
    its URL signed.
    """
    if signer != "planetary_computer":
        raise ValueError(f"unknown URL signer {signer!r}")
    import planetary_computer  # type: ignore[import-not-found]

    prefix, url = split_curl(href)
    return prefix + str(planetary_computer.sign(url.split("?", 1)[0]))


class SigningRioDriver(RioDriver):
    """odc-stac's rasterio reader that signs each URL when it opens the file.

    A catalogue that signs its URLs (Planetary Computer: tokens of about an hour) signs them
    when the items are found; a long run reads them later, so each read signs again. Files
    in ``saturated`` (href → the stored value marking a saturated pixel,
    :attr:`raster.bands.BandSpec.saturated`) are read by :class:`SaturationReader`, that
    value taken as the fill before any resampling. A file of ``remote`` (URL → the
    :class:`RemoteAsset` it is, :func:`_remote`) that cannot be read raises
    :class:`~tiles.errors.ReadError` naming its item, asset and host; any other file (of
    this machine) whose pixels cannot be decoded, one naming the file (:class:`LocalBand`,
    made as it is opened: the driver travels with every read task to a cluster's workers,
    so it holds no table of every file). With ``skips``, a file of this machine whose pixels
    cannot be decoded is read as its fill value instead, and reported there.
    """

    def __init__(
        self,
        signer: str | None,
        saturated: Mapping[str, float] | None = None,
        remote: Mapping[str, RemoteAsset] | None = None,
        skips: SkippedReads | None = None,
    ) -> None:
        super().__init__()
        self.signer = signer
        self.saturated = dict(saturated or {})
        self.remote = dict(remote or {})
        self.skips = skips

    def open(self, src: RasterSource, ctx: Any) -> Any:
        """Open ``src`` with its URL signed now (local files, beside signed items, as they are)."""
        signed = src.patch(uri=_signed(src.uri, self.signer))
        if src.uri in self.saturated:
            reader = SaturationReader(signed, ctx, self.saturated[src.uri])
        else:
            reader = super().open(signed, ctx)
        url = split_curl(src.uri)[1]
        band = self.remote.get(url) or (LocalBand(src.uri) if remote_host(url) is None else None)
        if band is None:
            return reader
        return BandReader(reader, band, self.skips if isinstance(band, LocalBand) else None)


@dataclass(frozen=True)
class RemoteAsset:
    """A band file an item names by its URL: what a failed read of it says.

    Parameters
    ----------
    item_id
        The item's id.
    band
        The common band name of the asset.
    url
        The file's URL.
    files
        The item JSONs the asset may come from: the item's source, and the other half's
        JSON beside it for a USGS product (:mod:`raster.sources.landsat_halves`).
    """

    item_id: str
    band: str
    url: str
    files: tuple[str, ...]

    @property
    def host(self) -> str:
        """Where the file is (:func:`raster.sources.hrefs.remote_host`)."""
        return remote_host(self.url) or self.url

    def origin(self) -> tuple[str, str]:
        """Return the item JSON naming the file and the asset key it names it by.

        The first of :attr:`files` whose assets hold :attr:`url` (signatures left out);
        else the item's source and its common band name.
        """
        url = self.url.split("?", 1)[0]
        for name in self.files:
            try:
                assets = load_json(Path(name)).get("assets") or {}
            except (OSError, IlotsError):
                continue
            for key, asset in assets.items():
                href = split_curl(str(asset.get("href", "")))[1] if isinstance(asset, dict) else ""
                if href.split("?", 1)[0] == url:
                    return name, str(key)
        return (self.files[0] if self.files else self.item_id), self.band

    def read_error(self, err: Exception) -> ReadError | None:
        """Return the error a failed read of the file raises; None for an HTTP status.

        An HTTP status (a file refused or gone) is left to the CLI, which says what to do
        for each.
        """
        return None if _HTTP_STATUS.search(str(err)) else self.unreachable(err)

    def unreachable(self, err: Exception) -> ReadError:
        """Return the one-line error of a failed read of the file: item, asset, host, fix."""
        where, key = self.origin()
        return ReadError(
            f"{where}: asset {key!r} ({self.band} of {self.item_id}) cannot be read from "
            f"{self.host} ({_network_reason(err, self.host)}): reading it needs network "
            f"access to {self.host}; or download the product and put the item JSON beside "
            "its files, which ilots then reads on disk"
        )


#: GDAL's text of an HTTP status (a file refused or gone: said by the CLI with what to do).
_HTTP_STATUS = re.compile(r"HTTP response code: \d+")


def _network_reason(err: Exception, host: str) -> str:
    """Why a remote read failed: curl's error, else an unresolvable host, else GDAL's text.

    GDAL says curl's error at the first open of a URL only; later opens of it say "does
    not exist in the file system", so the host's name is looked up to tell.
    """
    text = str(err)
    curl = re.search(r"CURL error: [^\n]+", text)
    if curl is not None:
        return curl[0].rstrip(".")
    if "://" not in host:
        try:
            socket.getaddrinfo(host, None)
        except OSError:
            return f"could not resolve host: {host}"
    return text.splitlines()[0] if text else type(err).__name__


@dataclass(frozen=True)
class LocalBand:
    """A band file of this machine (or inside a local archive): what a failed read of it says.

    ``href``: the file, as the item names it (its full path names its product: ``B04.tif``
    is in every Sentinel-2 product).
    """

    href: str

    def read_error(self, err: Exception) -> ReadError | None:
        """Return the error a read that could not decode the file raises; else None.

        Only a file GDAL could not decode (:func:`raster.gdal_errors.undecodable`) is said
        to be corrupt; another failure (out of memory, a window outside the file) and a file
        this process cannot open (gone, not readable; on a cluster, not at the same path on
        a worker) keep their rasterio error, which the CLI words.
        """
        path = href_file(self.href)
        if not undecodable(err) or path is None or not os.access(path, os.R_OK):
            return None
        reason = deepest_reason(err).replace(self.href, Path(self.href).name)
        return ReadError(
            f"{self.href}: the file is corrupt, its pixels cannot be read ({reason}); "
            "download it again"
        )


class BandReader:
    """A reader of one band file whose failure names the file and the fix.

    Wraps the reader odc-stac opens (:meth:`SigningRioDriver.open`); a rasterio error
    reading the file becomes its ``band``'s :class:`~tiles.errors.ReadError`
    (:meth:`RemoteAsset.read_error`, :meth:`LocalBand.read_error`), or stays as it is when
    that gives none. The ReadError chains no GDAL error: distributed sends a worker's error
    to the client pickled with its causes, and rasterio's do not unpickle (the client got a
    bare ``Exception`` holding a ``repr``). With ``skips`` (a file of this machine), a read
    that would raise that error, of a band with a fill value, is reported to ``skips`` and
    read again by quarters (:meth:`_read_around`): the pixels the damage spares are kept,
    the parts down to :data:`SKIPPED_PIECE_PX` pixels that meet it hold the fill value (a
    whole chunk was left out: 61 km square for a 2,048-pixel Landsat chunk).
    """

    def __init__(
        self, reader: Any, band: RemoteAsset | LocalBand, skips: SkippedReads | None = None
    ) -> None:
        self.reader = reader
        self.band = band
        self.skips = skips

    def read(
        self,
        cfg: RasterLoadParams,
        dst_geobox: GeoBox,
        *,
        dst: np.ndarray | None = None,
        selection: Any = None,
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """Read as the wrapped reader does; a failed read raises the band's ReadError.

        Or, skipped (see the class), returns what the damage spares of the window.
        """
        try:
            return self.reader.read(cfg, dst_geobox, dst=dst, selection=selection)
        except rasterio.errors.RasterioError as err:
            error = self.band.read_error(err)
            if error is None:
                raise
            if self.skips is not None and cfg.fill_value is not None:
                self.skips.report(self.band.href, deepest_reason(err))
                if dst is None and len(dst_geobox.shape.yx) == 2:
                    return self._read_around(cfg, dst_geobox, selection)
                empty = dst[0:0, 0:0] if dst is not None else np.empty((0, 0), cfg.dtype)
                return np.s_[0:0, 0:0], empty
        raise error  # out of the except clause: no GDAL error as its context

    def _read_around(
        self, cfg: RasterLoadParams, geobox: GeoBox, selection: Any
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """Read the window of ``geobox`` by quarters, leaving out those the damage is in.

        A quarter that fails is split again, down to :data:`SKIPPED_PIECE_PX` pixels a side;
        what fails at that size keeps the fill value. Returns the whole window.
        """
        out = np.full(geobox.shape.yx, cfg.fill_value, dtype=cfg.dtype)
        pending = [(slice(0, out.shape[0]), slice(0, out.shape[1]))]
        split = True  # the whole window failed already
        while pending:
            rows, cols = pending.pop()
            if not split:
                try:
                    roi, pix = self.reader.read(cfg, geobox[rows, cols], selection=selection)
                    out[rows, cols][roi] = pix
                    continue
                except rasterio.errors.RasterioError as err:
                    if self.band.read_error(err) is None:
                        raise
            split = False
            if max(rows.stop - rows.start, cols.stop - cols.start) > SKIPPED_PIECE_PX:
                pending += _quarters(rows, cols)
        return (slice(0, out.shape[0]), slice(0, out.shape[1])), out


#: The side (pixels of the read grid) below which a damaged file's window is not split
#: further: what of it fails to read is left out whole (:meth:`BandReader._read_around`).
SKIPPED_PIECE_PX = 64


def _quarters(rows: slice, cols: slice) -> list[tuple[slice, slice]]:
    """Split a window in (up to) four, halving each side longer than one pixel."""

    def halves(span: slice) -> list[slice]:
        if span.stop - span.start < 2:
            return [span]
        middle = (span.start + span.stop) // 2
        return [slice(span.start, middle), slice(middle, span.stop)]

    return [(r, c) for r in halves(rows) for c in halves(cols)]


def _remote(items: Sequence[pystac.Item], bands: Sequence[str]) -> dict[str, RemoteAsset]:
    """Return the remote files of ``bands`` of ``items``: URL → its :class:`RemoteAsset`."""
    out = {}
    for item in items:
        for band in bands:
            asset = item.assets.get(band)
            href = None if asset is None else asset.get_absolute_href() or asset.href
            if href is not None and remote_host(href) is not None:
                url = split_curl(href)[1]
                out[url] = RemoteAsset(item.id, band, url, _item_files(item))
    return out


def _item_files(item: pystac.Item) -> tuple[str, ...]:
    """Return the item's JSON and, for a USGS half, the other half's JSON beside it."""
    source = item.properties.get("ilots:source")
    if source is None or not str(source).lower().endswith(".json"):
        return ()
    path = Path(str(source))
    others = [p for half in ("SR", "ST") for p in sibling_candidates(path, half)]
    return (str(path), *(str(p) for p in others if p.is_file()))


def _signed(href: str, signer: str | None) -> str:
    """Return a remote ``href`` signed afresh by ``signer``; local paths as they are.

    Remote: a URL, or a GDAL ``/vsicurl/`` path of one.
    """
    if signer and split_curl(href)[1].startswith(("http://", "https://")):
        return sign_href(href, signer)
    return href


def _driver(
    items: Sequence[pystac.Item],
    saturated: Mapping[str, float] | None = None,
    remote: Mapping[str, RemoteAsset] | None = None,
    skips: SkippedReads | None = None,
) -> SigningRioDriver:
    """Return the reader of ``items``: a :class:`SigningRioDriver`.

    It signs the URLs of signed ``items``, reads the files of ``saturated`` (href → the
    stored value marking a saturated pixel, :func:`_saturated`) with that value as the fill,
    and names the file of a failed read (``remote``: URL → its :class:`RemoteAsset`,
    :func:`_remote`; any other file, :class:`LocalBand`), or skips the reads of damaged
    files of this machine and reports them to ``skips``.
    """
    signers = {it.properties.get(SIGN_PROPERTY) for it in items} - {None}
    if len(signers) > 1:
        raise ValueError(f"items signed by several signers: {sorted(signers)}")
    signer = signers.pop() if signers else None
    return SigningRioDriver(signer, saturated, remote, skips)


def _saturated(items: Sequence[pystac.Item], bands: Sequence[str]) -> dict[str, float]:
    """Return the files of ``bands`` that mark saturated pixels: href → that stored value."""
    out = {}
    for item in items:
        for band in bands:
            spec = _band_spec(item, band)
            if spec is not None and spec.saturated is not None:
                asset = item.assets[band]
                out[asset.get_absolute_href() or asset.href] = float(spec.saturated)
    return out


class SaturationReader(RioReader):
    """Read one band with a second fill value, ``saturated``, before any resampling.

    odc-stac tells GDAL one fill value per band (Sentinel-2: DN 0); a saturated pixel (DN
    65535) would be averaged into its neighbours by ``bilinear`` or ``average`` as a
    reflectance of 6.55. Here odc-stac's reader reads a GDAL VRT of the file, on the file's
    own grid, that gives ``saturated`` pixels the fill value (:func:`saturation_vrt`):
    GDAL's resampling leaves them out as it leaves out the fill, and every other value
    and weight is the one it would read from the file. With ``nearest`` (each pixel read is
    one of the file's), the file is read as it is and its saturated pixels set to the fill.
    """

    def __init__(self, src: RasterSource, ctx: Any, saturated: float) -> None:
        super().__init__(src, ctx)
        self.saturated = saturated

    def read(
        self,
        cfg: RasterLoadParams,
        dst_geobox: GeoBox,
        *,
        dst: np.ndarray | None = None,
        selection: Any = None,
    ) -> tuple[tuple[slice, slice], np.ndarray]:
        """Read the band onto ``dst_geobox`` as odc-stac's reader does, saturation as fill."""
        if cfg.nearest and cfg.fill_value is not None:  # each pixel read is one of the file's
            roi, out = rio_read(self._src, cfg, dst_geobox, dst=dst, selection=selection)
            np.copyto(out, out.dtype.type(cfg.fill_value), where=out == self.saturated)
            return roi, out
        try:
            uri = saturation_vrt(self._src.uri, self._src.band or 1, self.saturated,
                                 cfg.fill_value)  # fmt: skip
        except rasterio.errors.RasterioIOError:
            uri = self._src.uri  # unreadable: odc-stac's reader fails on it (or skips it)
        return rio_read(self._src.patch(uri=uri), cfg, dst_geobox, dst=dst, selection=selection)


def saturation_vrt(href: str, band: int, saturated: float, fill: float | None) -> str:
    """Return a GDAL VRT (XML text) of one band of ``href`` with ``saturated`` read as its fill.

    The VRT has the file's grid, data type and fill value (``fill`` where the file declares
    none); a pixel equal to ``saturated`` is not copied from the file
    (``ComplexSource``'s ``NODATA``) and holds the fill.

    Raises
    ------
    rasterio.errors.RasterioIOError
        If the file cannot be opened.
    MetadataError
        If neither the file nor ``fill`` gives a fill value.
    """
    with rasterio.open(href) as src:
        nodata = src.nodatavals[band - 1]
        nodata = fill if nodata is None else nodata
        if nodata is None:
            raise MetadataError(
                f"{href}: no nodata value to read its saturated pixels ({saturated:g}) as; "
                "give the band a raster:bands nodata"
            )
        geotransform = ", ".join(repr(float(v)) for v in src.transform.to_gdal())
        return (
            f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}">'
            f"<SRS>{escape(src.crs.to_wkt())}</SRS><GeoTransform>{geotransform}</GeoTransform>"
            f'<VRTRasterBand dataType="{_GDAL_TYPES[src.dtypes[band - 1]]}" band="1">'
            f"<NoDataValue>{nodata!r}</NoDataValue><ComplexSource>"
            f'<SourceFilename relativeToVRT="0">{escape(gdal_path(href))}</SourceFilename>'
            f"<SourceBand>{band}</SourceBand><NODATA>{saturated!r}</NODATA>"
            "</ComplexSource></VRTRasterBand></VRTDataset>"
        )


#: GDAL's names of the integer data types a band with a saturation value may have.
_GDAL_TYPES = {"uint8": "Byte", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32"}  # fmt: skip


def _load_gathered(
    items: Sequence[pystac.Item],
    bands: list[str],
    plan: NativeGather,
    grid: GeoBox,
    chunk: int,
    options: Mapping[str, Any],
) -> xr.Dataset:
    """Read bands on their native window (no resampling) and gather them onto ``grid``."""
    # Native chunks covering about one target chunk each.
    ratio = abs(grid.affine.a / plan.geobox.affine.a)
    edge = max(256, int(np.ceil(chunk * ratio / 256) * 256))
    ny, nx = plan.geobox.shape.yx
    chunks = {"y": min(edge, ny), "x": min(edge, nx)}
    reads = _native_reads(items, bands, plan.geobox, chunks, options["driver"])
    if len(reads) == len(bands):
        return gather_nearest(xr.Dataset(reads), plan, aligned_chunks(grid, chunk))
    native = odc.stac.load(
        items, bands=bands, geobox=plan.geobox, chunks=chunks, resampling="nearest", **options,
    )  # fmt: skip
    return gather_nearest(native, plan, aligned_chunks(grid, chunk))


def _native_reads(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    geobox: GeoBox,
    chunks: Mapping[str, int],
    driver: SigningRioDriver,
) -> dict[str, xr.DataArray]:
    """Read the bands whose files need no odc-loader with windowed reads of their own.

    Those (:func:`_native_band`) of a load whose damaged reads are not skipped (the
    driver's ``skips``: odc-loader's reader reads around the damage); the others are left
    out of the result, for odc-stac.
    """
    if driver.skips is not None:
        return {}
    out: dict[str, xr.DataArray] = {}
    times, env = None, driver.capture_env()
    for band in bands:
        spec = _native_band(items, band, geobox, driver, env)
        if spec is not None:
            times = _times(items) if times is None else times
            read = read_native(spec, geobox, (chunks["y"], chunks["x"]), times, env)
            out[band] = read.rename(band)
    return out


def _times(items: Sequence[pystac.Item]) -> np.ndarray:
    """Return the ``time`` coordinate odc-stac gives items grouped by id (:func:`_nominal_time`)."""
    return np.array([np.datetime64(_nominal_time(it).replace(tzinfo=None), "ns") for it in items])


def _nominal_time(item: pystac.Item) -> datetime:
    """Return odc-stac's time of an item (:func:`raster.sources.assets.item_time`), or raise.

    Its coordinate drops the time zone, without converting to UTC.
    """
    when = item_time(item)
    if when is None:
        raise MetadataError(f"item {item.id}: {NO_TIME}")
    return when


def _native_band(
    items: Sequence[pystac.Item],
    band: str,
    geobox: GeoBox,
    driver: SigningRioDriver,
    env: dict[str, Any],
) -> NativeBand | None:
    """Describe a band for :func:`raster.native_read.read_native`, or None where it does not apply.

    It applies when every item has the band in a file of this machine, on ``geobox``'s CRS,
    pixel size and phase, neither rotated (nothing to resample), whose header has the item's
    grid in the GDAL environment ``env`` (:func:`raster.native_read.headers_agree`), with one
    integer ``raster:bands`` data type and nodata (odc-loader's fill value) for all.
    """
    try:
        grids = [item_geobox(it, band) for it in items]
    except MetadataError:
        return None
    hrefs = [it.assets[band].get_absolute_href() or it.assets[band].href for it in items]
    if any(remote_host(h) is not None for h in hrefs) or not same_phase([geobox, *grids]):
        return None
    if not all(g.affine.b == 0 and g.affine.d == 0 for g in (geobox, *grids)):
        return None  # rotated: pixels of one row are not one row of the file
    fields = [(it.assets[band].extra_fields.get("raster:bands") or [{}])[0] for it in items]
    kinds = {(f.get("data_type"), f.get("nodata")) for f in fields}
    dtype, fill = kinds.pop() if len(kinds) == 1 else (None, None)
    if dtype is None or fill is None or np.dtype(dtype).kind not in "iu":
        return None
    saturated = {driver.saturated.get(h) for h in hrefs}
    if len(saturated) > 1 or not headers_agree(hrefs, grids, env):
        return None
    return NativeBand(tuple(hrefs), tuple(grids), str(np.dtype(dtype)), fill, saturated.pop(),
                      tuple(LocalBand(h) for h in hrefs))  # fmt: skip


def native_window(
    items: Sequence[pystac.Item], bands: Sequence[str], grid: GeoBox
) -> NativeGather | None:
    """Find the native window from which every band's nearest resampling is one gather.

    None when the bands sit on different native grids or no gather applies.

    Per-pixel work on such bands can run on the window (``load_items(geobox=plan.geobox)``)
    and its results be gathered onto ``grid`` (:func:`raster.nearest.gather_nearest`):
    the same values as doing it on ``grid``, on fewer pixels.
    """
    plans = [_gather_plan(items, band, grid) for band in bands]
    first = plans[0]
    if first is None or any(
        p is None or p.geobox != first.geobox or not np.array_equal(p.rows, first.rows)
        or not np.array_equal(p.cols, first.cols) for p in plans
    ):  # fmt: skip
        return None
    return first


def _gather_plan(items: Sequence[pystac.Item], band: str, grid: GeoBox) -> NativeGather | None:
    """Plan a band's index gather, when every item has it on one coarser aligned grid."""
    try:
        grids = [item_geobox(it, band) for it in items]
    except MetadataError:
        return None
    if not same_phase(grids):
        return None
    plan = native_gather(grids[0], grid)
    if plan is None or (plan.geobox.shape == grid.shape and plan.geobox.affine == grid.affine):
        return None  # the grids coincide: odc-stac reads without resampling
    return plan


#: The Dask cluster events topic a worker reports a skipped read under: ``[token, href, reason]``.
SKIPPED_TOPIC = "ilots-damaged-input"

#: The skipping scope of :func:`skip_damaged_reads`, which the loads made in it report to.
_SKIPPING: ContextVar[SkippedReads | None] = ContextVar("ilots_skipping", default=None)

#: The reports of this process, by token: a pickled one comes back to its original here.
_REPORTS: weakref.WeakValueDictionary[str, SkippedReads] = weakref.WeakValueDictionary()


@dataclass(eq=False)
class SkippedReads:
    """Where the reads of damaged files that were skipped are reported; warns once per file.

    Made where the loads are planned, which name each file's band and scene
    (:meth:`name_bands`); the readers travel with it. A read in this process warns at once
    (:class:`~tiles.errors.IlotsWarning`, code ``damaged_input``); on a Dask worker it is
    sent to the cluster's events (:data:`SKIPPED_TOPIC`), and in another process of this
    machine (Dask's ``processes`` pool) written to a file of the temporary folder named by
    the token (:meth:`spool`): :meth:`warn_cluster_reports` says both here. Pickled, it is
    its token alone.
    """

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    bands: dict[str, str] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pid: int = field(default_factory=os.getpid)  # the process the loads are planned in
    spooled: bool = False  # read back (skip_damaged_reads): other processes spool to it

    def __post_init__(self) -> None:
        _REPORTS[self.token] = self

    def __reduce__(self) -> tuple[Any, tuple[str, int, bool]]:
        return _reports_of, (self.token, self.pid, self.spooled)

    def name_bands(self, items: Sequence[pystac.Item], bands: Sequence[str]) -> None:
        """Record the band and the scene of the files of ``bands`` of ``items``."""
        for item in items:
            for band in bands:
                asset = item.assets[band]
                self.bands[asset.get_absolute_href() or asset.href] = f"{band} of {item.id}"

    def report(self, href: str, reason: str) -> None:
        """Report a skipped read of ``href``: to a cluster's events, a spool file, or warn.

        To the cluster on a Dask worker, to the spool file in another process (:meth:`spool`),
        else warned of at once.
        """
        worker = _dask_worker()
        if worker is not None:
            worker.log_event(SKIPPED_TOPIC, [self.token, href, reason])
        elif os.getpid() == self.pid or not self.spooled:  # none to read a spool: here
            self.warn(href, reason)
        else:  # in a process of Dask's pool: one JSON line, appended whole
            with open(self.spool(), "a", encoding="utf-8") as spool:
                spool.write(json.dumps([href, reason]) + "\n")

    def spool(self) -> Path:
        """Return the file where other processes of this machine report skipped reads."""
        return Path(tempfile.gettempdir()) / f"ilots-skipped-{self.token}.jsonl"

    def warn(self, href: str, reason: str) -> None:
        """Warn that ``href``'s damaged pixels are left out, unless it was said already."""
        with self.lock:
            if href in self.warned:
                return
            self.warned.add(href)
        band = self.bands.get(href)
        warnings.warn(
            IlotsWarning(
                f"{href}: the file is corrupt, {'band ' + band if band else 'its band'} "
                f"cannot be read where it is damaged ({reason}); its pixels there (down to "
                f"{SKIPPED_PIECE_PX} pixels a side) are left out, as clouds are; download it "
                "again",
                code="damaged_input",
            ),
            stacklevel=2,
        )

    def warn_cluster_reports(self) -> None:
        """Warn of the skipped reads that other processes reported for these loads.

        A Dask cluster's workers (its events) and the processes of Dask's pool (the spool
        file, removed once read).
        """
        spool = self.spool()
        if spool.is_file():
            for line in spool.read_text(encoding="utf-8").splitlines():
                self.warn(*json.loads(line))
            spool.unlink(missing_ok=True)
        client = _dask_client()
        if client is None:
            return
        for _time, (token, href, reason) in client.get_events(SKIPPED_TOPIC):
            if token == self.token:
                self.warn(href, reason)


def _reports_of(token: str, pid: int, spooled: bool) -> SkippedReads:
    """Return the reports of ``token`` in this process; in another, a new one of it."""
    return _REPORTS.get(token) or SkippedReads(token, pid=pid, spooled=spooled)


def _dask_worker() -> Any:
    """Return the ``dask.distributed`` worker this thread runs a task of, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def _dask_client() -> Any:
    """Return the ``dask.distributed`` client of this process, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        return None


@contextmanager
def skip_damaged_reads() -> Iterator[SkippedReads]:
    """Skip, in the loads planned in the block, the reads of files that cannot be decoded.

    Each load of the block reads as with ``on_error="skip"`` (:func:`load_items`): a chunk
    that meets a damaged block of a file of this machine holds the band's fill value, and
    each such file is warned of once (code ``damaged_input``). As the block ends, the reads
    a Dask cluster's workers skipped are warned of here too: compute in the block.
    """
    skips = SkippedReads(spooled=True)
    reset = _SKIPPING.set(skips)
    try:
        yield skips
    except BaseException:
        skips.spool().unlink(missing_ok=True)  # a failed run says its error, not these
        raise
    finally:
        _SKIPPING.reset(reset)
    skips.warn_cluster_reports()


def item_geobox(item: pystac.Item, band: str) -> GeoBox:
    """Return the native grid of one asset of an item (from its ``proj`` fields).

    Raises
    ------
    MetadataError
        If the asset lacks ``proj:shape``/``proj:transform``/CRS.
    """
    require_bands(item, [band])
    fields = {**item.properties, **item.assets[band].extra_fields}
    shape = fields.get("proj:shape")
    transform = fields.get("proj:transform")
    crs = fields.get("proj:code") or fields.get("proj:wkt2") or fields.get("proj:epsg")
    if isinstance(crs, int):
        crs = f"EPSG:{crs}"
    if not shape or not transform or not crs:
        raise MetadataError(
            f"asset {band!r} of {item.id} has no proj:shape/proj:transform/proj:code, so "
            "its grid is unknown without reading it; download the product and give its "
            "folder (ilots reads the grid from the files)"
        )
    return GeoBox(tuple(shape), Affine(*transform[:6]), crs)


def read_grid(item: pystac.Item, band: str) -> GeoBox:
    """Return the native grid of one asset from its file's header (one small read, no pixel).

    For items without ``proj`` fields on the asset (:func:`item_geobox` raises); signed
    catalogue URLs are signed first.
    """
    require_bands(item, [band])
    href = item.assets[band].get_absolute_href() or item.assets[band].href
    try:
        header = read_header(_signed(href, item.properties.get(SIGN_PROPERTY)))
    except ReadError as err:  # a remote file's unreadable header: named as its pixels are
        remote, cause = _remote([item], [band]).get(split_curl(href)[1]), err.__cause__
        if remote is None or cause is None or _HTTP_STATUS.search(str(cause)):
            raise
        raise remote.unreachable(cause) from err
    return GeoBox(header.shape, Affine(*header.transform[:6]), header.crs_code or header.crs_wkt)


def _band_spec(item: pystac.Item, band: str) -> BandSpec | None:
    product_type = item.properties.get("ilots:product_type")
    if product_type is None:
        return None
    return band_table(product_type).get(band)


def _default_geobox(
    items: Sequence[pystac.Item], bands: Sequence[str], crs: Any, resolution: float | None
) -> GeoBox:
    grids = [item_geobox(it, b) for it in items for b in bands]
    if crs is None and resolution is None and all(g == grids[0] for g in grids):
        return grids[0]
    one_crs = len({str(g.crs) for g in grids}) == 1
    if resolution is None and not one_crs and crs is None:
        raise GridError(
            "the scenes are in different CRSs; give the grid resolution (and optionally its "
            "CRS) so they can be loaded onto one grid"
        )
    finest = min(grids, key=lambda g: min(abs(r) for r in g.resolution.xy))
    if resolution is None:
        resolution = min(abs(r) for r in finest.resolution.xy)
    if crs is None and one_crs:
        # Same CRS: keep the scenes' own pixel alignment so nothing shifts by a sub-pixel.
        union = grids[0].extent
        for g in grids[1:]:
            union = union.union(g.extent)
        x0, y0 = finest.affine.c, finest.affine.f
        anchor = xy_((x0 / resolution) % 1.0, (y0 / resolution) % 1.0)
        return GeoBox.from_geopolygon(union, resolution=resolution, anchor=anchor)
    union = None
    for g in grids:
        footprint = g.extent.to_crs("EPSG:4326")
        union = footprint if union is None else union.union(footprint)
    return analysis_geobox(union, resolution, crs)


def _resampling(
    specs: Mapping[str, BandSpec | None], resampling: str | Mapping[str, str] | None
) -> dict[str, str]:
    chosen = {}
    for band, spec in specs.items():
        categorical = spec is not None and spec.is_categorical
        default = "nearest" if categorical else "bilinear"
        if isinstance(resampling, Mapping):
            chosen[band] = resampling.get(band, default)
        elif resampling is not None and not categorical:
            chosen[band] = resampling
        else:
            chosen[band] = default
    return chosen


def _raster_band(item: pystac.Item, band: str, spec: BandSpec | None) -> tuple[float, float, Any]:
    fields = (item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
    scale, offset = fields.get("scale"), fields.get("offset")
    nodata = fields.get("nodata", spec.nodata if spec else None)
    if scale is None or offset is None:
        if spec is None:
            raise MetadataError(
                f"band {band!r} of {item.id} has no raster:bands scale/offset and no known "
                "product type; build the item with raster.sources.open_product"
            )
        warnings.warn(
            f"{item.id} {band}: no scale/offset in the metadata, using the "
            f"{item.properties.get('ilots:product_type')} defaults {spec.scale}/{spec.offset}",
            IlotsWarning,
            stacklevel=4,
        )
        scale = spec.scale if scale is None else scale
        offset = spec.offset if offset is None else offset
    return float(scale), float(offset), nodata


def dn_to_physical(
    dn: np.ndarray, scale: np.ndarray, offset: np.ndarray, fill: np.ndarray
) -> np.ndarray:
    """Return ``dn * scale + offset`` as float32, NaN where ``dn == fill``, in one pass.

    Parameters
    ----------
    dn
        Stored values (any numeric dtype).
    scale, offset, fill
        Broadcastable to ``dn`` (e.g. one value per scene); ``fill`` NaN means no fill value.

    Returns
    -------
    A new float32 array; ``dn`` is not modified.
    """
    out = dn.astype(np.float32)
    out *= np.asarray(scale, dtype=np.float32)
    out += np.asarray(offset, dtype=np.float32)
    np.copyto(out, np.float32(np.nan), where=dn == fill)
    return out


def _thermal_constants(items: Sequence[pystac.Item], bands: Sequence[str]) -> dict[str, Any]:
    coords: dict[str, Any] = {}
    for band in bands:
        k1 = [it.assets[band].extra_fields.get("ilots:k1") for it in items]
        k2 = [it.assets[band].extra_fields.get("ilots:k2") for it in items]
        if all(v is not None for v in k1 + k2):
            coords[f"k1_{band}"] = ("time", np.array(k1, dtype="float64"))
            coords[f"k2_{band}"] = ("time", np.array(k2, dtype="float64"))
    return coords
