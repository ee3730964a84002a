"""Read local band files on their own pixel grid with windowed rasterio reads, lazily.

When a band's files are on this machine and on the grid they are read onto (same CRS, pixel
size and pixel phase, neither rotated: the analysis grid of the 10 m Sentinel-2 bands of a
10 m run, or the native window of a gather for the 20 m ones, :mod:`raster.nearest`),
odc-loader's read of a chunk is a windowed read pasted into a chunk of fill values, and its
reader, fuser and saturation pass cost about a quarter of the load (the benchmark's
Sentinel-2 bands, issue #5: 2.14 CPU-s through odc-loader, 1.62 here, 1.29 for rasterio
reading the files whole). Here each chunk of each date is one task: one windowed read into
the chunk, the fill value where the file does not cover it (without opening the file when it
covers none of the chunk), and the file's own nodata and the band's saturated value
(:attr:`raster.bands.BandSpec.saturated`) set to the fill, in one pass: the values odc-loader
gives with ``nearest`` (its :class:`raster.load.SaturationReader`), or any resampling, since
nothing is resampled. Files are opened in the GDAL environment odc-loader reads in (captured
when the graph is built: no directory listing, so no sidecar ``.aux.xml`` either).

odc-loader places a file's pixels by its header, and picks the files a chunk needs by its
item's ``proj`` fields; the two agree here because :func:`headers_agree` checked each file's
header (CRS, transform, shape) against its item when the load was planned; a band with one
file that disagrees is left to odc-loader. A file whose header is no longer the one planned
with when its pixels are read (replaced meanwhile; on a cluster, another file at that path
on the worker) raises :class:`~tiles.errors.ReadError`, rather than be read at the wrong
place.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from dask.array.core import normalize_chunks
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from numba import njit
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from odc.loader._rio import rio_env
from rasterio.windows import Window

from raster.nearest import spans
from raster.sources.hrefs import href_file
from tiles.errors import ReadError

__all__ = ["NativeBand", "headers_agree", "read_native"]


@dataclass(frozen=True)
class NativeBand:
    """One band of every date, as files on the grid they are read onto.

    Attributes
    ----------
    hrefs
        One file per date (its first band is read).
    grids
        Each file's grid: its item's ``proj`` fields, which its header matches
        (:func:`headers_agree`).
    dtype
        The stored data type (the items' ``raster:bands`` ``data_type``).
    fill
        The value where the file has no data (the items' ``raster:bands`` ``nodata``).
    saturated
        A stored value read as ``fill`` too, or None.
    errors
        Per file, what turns a rasterio error into the band's error (``read_error(err)``,
        :class:`raster.load.LocalBand`), or None to keep rasterio's.
    """

    hrefs: tuple[str, ...]
    grids: tuple[GeoBox, ...]
    dtype: str
    fill: float
    saturated: float | None
    errors: tuple[Any, ...]


@dataclass(frozen=True)
class _Values:
    """What every read of a band shares: its stored type, fill, saturated value, GDAL env."""

    dtype: str
    fill: float
    saturated: float | None
    env: tuple[tuple[str, Any], ...]


def headers_agree(hrefs: Sequence[str], grids: Sequence[GeoBox], env: dict[str, Any]) -> bool:
    """Whether each file's header has its item's grid (CRS, transform, shape), exactly.

    Headers are read in the GDAL environment ``env`` the pixels will be read in, once per
    file version (cached on its device, inode, size, modification and change times); no pixel
    is read. A file that cannot be opened disagrees: odc-loader's read of it says what is
    wrong.
    """
    options = _options(env)
    pairs = zip(hrefs, grids, strict=True)
    return all(_header(href, _version(href), options) == grid for href, grid in pairs)


def _options(env: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """``env`` as a hashable, tokenizable value (odc-loader's ``_aws`` session as its items)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v)
                        for k, v in env.items()))  # fmt: skip


def _env(options: tuple[tuple[str, Any], ...]) -> Any:
    env = {k: dict(v) if k == "_aws" and v is not None else v for k, v in options}
    return rio_env(**env)


def _version(href: str) -> tuple[int, ...] | None:
    """Return the file (device, inode) and its version (size, modification, change times).

    The change time cannot be set back (``cp -p``, ``rsync -a`` and archives set the
    modification time only), and a file replaced by a rename is another inode; a relative
    path read from another folder names another file.
    """
    path = href_file(href)
    try:
        stat = os.stat(path) if path is not None else None
    except OSError:
        return None
    if stat is None:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


@functools.lru_cache(maxsize=4096)
def _header(
    href: str, version: tuple[int, ...] | None, options: tuple[tuple[str, Any], ...]
) -> GeoBox | None:
    if version is None:
        return None
    try:
        with _env(options), rasterio.open(href, "r", sharing=False) as src:
            return GeoBox.from_rio(src)
    except rasterio.errors.RasterioError:
        return None


def read_native(
    band: NativeBand,
    geobox: GeoBox,
    chunks: tuple[int, int],
    times: Sequence[Any],
    env: dict[str, Any],
) -> xr.DataArray:
    """Return the band on ``geobox`` as a lazy ``(time, y, x)`` DataArray of stored values.

    Parameters
    ----------
    band
        The files, one per date; each on ``geobox``'s CRS, pixel size and phase, unrotated.
    geobox
        The grid read onto (its own dimension names: ``latitude``, ``longitude`` when
        geographic).
    chunks
        ``(ny, nx)`` chunk edges.
    times
        The ``time`` coordinate (one value per file).
    env
        The GDAL options files are opened with (odc-loader's ``capture_env()``).
    """
    ny, nx = normalize_chunks(chunks, geobox.shape.yx)
    values = _Values(band.dtype, band.fill, band.saturated, _options(env))
    files = [(g.shape.yx, tuple(g.affine), str(g.crs)) for g in band.grids]
    name = "native-read-" + tokenize(band.hrefs, files, values, tuple(geobox.affine),
                                     geobox.shape.yx, str(geobox.crs), ny, nx)  # fmt: skip
    tasks = {}
    for t, (href, grid, errors) in enumerate(zip(band.hrefs, band.grids, band.errors,
                                                 strict=True)):  # fmt: skip
        for (i, ys), (j, xs) in itertools.product(enumerate(spans(ny)), enumerate(spans(nx))):
            tasks[(name, t, i, j)] = (_read_chunk, href, grid, geobox[ys, xs], values,
                                      errors)  # fmt: skip
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=[])
    data = da.Array(graph, name, chunks=((1,) * len(band.hrefs), ny, nx), dtype=band.dtype)
    coords = {"time": np.asarray(times), **xr_coords(geobox, crs_coord_name="spatial_ref")}
    out = xr.DataArray(data, dims=("time", *geobox.dimensions), coords=coords,
                       attrs={"nodata": band.fill})  # fmt: skip
    out.encoding["grid_mapping"] = "spatial_ref"
    return out


def _read_chunk(
    href: str, grid: GeoBox, window: GeoBox, values: _Values, errors: Any
) -> np.ndarray:
    """Read one date's file onto the chunk ``window``: ``(1, ny, nx)`` stored values."""
    try:
        out = _read_window(href, grid, window, values)
    except rasterio.errors.RasterioError as err:
        error = errors.read_error(err) if errors is not None else None
        if error is None:
            raise
    else:
        return out[np.newaxis]
    raise error  # out of the except clause: no GDAL error as its context (BandReader's way)


def _read_window(href: str, grid: GeoBox, window: GeoBox, values: _Values) -> np.ndarray:
    dtype = np.dtype(values.dtype)
    fill = dtype.type(values.fill)
    # Whole pixels: the caller checked the phase (raster.nearest.same_phase).
    affine = grid.affine
    r0 = round((window.affine.f - affine.f) / affine.e)
    c0 = round((window.affine.c - affine.c) / affine.a)
    h, w = window.shape.yx
    rows = slice(max(r0, 0), min(r0 + h, grid.shape.y))
    cols = slice(max(c0, 0), min(c0 + w, grid.shape.x))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return np.full((h, w), fill, dtype)  # the file covers none of the chunk
    whole = rows == slice(r0, r0 + h) and cols == slice(c0, c0 + w)
    out = np.empty((h, w), dtype) if whole else np.full((h, w), fill, dtype)
    part = out if whole else np.empty((rows.stop - rows.start, cols.stop - cols.start), dtype)
    with _env(values.env), rasterio.open(href, "r", sharing=False) as src:
        if GeoBox.from_rio(src) != grid:  # the file changed, or is another file here
            raise ReadError(
                f"{href}: the file's grid is no longer the one its item gives and the run "
                "planned with (was it replaced while the run read it? on a cluster every "
                "worker must see the inputs at the same paths); run again"
            )
        src_nodata = src.nodata
        src.read(1, out=part, window=Window.from_slices(rows, cols))
    if not whole:
        out[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0] = part
    # odc-loader's paste: the file's nodata becomes the fill; and saturated pixels too.
    replace = [v for v in (src_nodata, values.saturated) if v is not None and v != values.fill]
    replace = [v for v in replace if _representable(v, dtype)]
    if replace:
        _replace(out.reshape(-1), dtype.type(replace[0]), dtype.type(replace[-1]), fill)
    return out


def _representable(value: float, dtype: np.dtype) -> bool:
    if dtype.kind == "f":
        return True
    info = np.iinfo(dtype)
    return bool(info.min <= value <= info.max and float(value).is_integer())


@njit(cache=True, nogil=True)
def _replace(values, a, b, fill):  # pragma: no cover - compiled
    """Set ``values`` equal to ``a`` or ``b`` to ``fill``, in place, in one pass."""
    for k in range(values.shape[0]):
        v = values[k]
        if v == a or v == b:
            values[k] = fill
