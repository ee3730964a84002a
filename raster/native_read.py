"""Read local band files on their own pixel grid with windowed rasterio reads, lazily.

When a band's files are on this machine and on the grid they are read onto (same CRS, pixel
size and pixel phase: the analysis grid of the 10 m Sentinel-2 bands of a 10 m run, or the
native window of a gather for the 20 m ones, :mod:`raster.nearest`), odc-loader's read of a
chunk is a windowed read pasted into a chunk of fill values, and its reader, fuser and
saturation pass cost about a quarter of the load (the benchmark's Sentinel-2 bands, issue #5:
2.14 CPU-s through odc-loader, 1.62 here, 1.29 for rasterio reading the files whole).
Here each chunk of each date is one task: one windowed read into the chunk, the fill value
where the file does not cover it, and the file's own nodata and the band's saturated value
(:attr:`raster.bands.BandSpec.saturated`) set to the fill, in one pass: the values odc-loader
gives with ``nearest`` (its :class:`raster.load.SaturationReader`), or any resampling, since
nothing is resampled. A file whose header disagrees with its item's ``proj`` fields is read
by odc-loader's own reader (``rio_read``), so the item's metadata never decides a window.
"""

from __future__ import annotations

import itertools
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
from odc.loader._rio import rio_read
from odc.loader.types import RasterLoadParams, RasterSource
from rasterio.windows import Window

from raster.nearest import spans

__all__ = ["NativeBand", "read_native"]


@dataclass(frozen=True)
class NativeBand:
    """One band of every date, as files on the grid they are read onto.

    Attributes
    ----------
    hrefs
        One file per date (its first band is read).
    grids
        Each file's grid as its item describes it (``proj`` fields).
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


def read_native(
    band: NativeBand, geobox: GeoBox, chunks: tuple[int, int], times: Sequence[Any]
) -> xr.DataArray:
    """Return the band on ``geobox`` as a lazy ``(time, y, x)`` DataArray of stored values.

    Parameters
    ----------
    band
        The files, one per date; each on ``geobox``'s CRS, pixel size and phase.
    geobox
        The grid read onto.
    chunks
        ``(ny, nx)`` chunk edges.
    times
        The ``time`` coordinate (one value per file).
    """
    ny, nx = normalize_chunks(chunks, geobox.shape.yx)
    name = "native-read-" + tokenize(band.hrefs, band.dtype, band.fill, band.saturated,
                                     tuple(geobox.affine), geobox.shape.yx, str(geobox.crs),
                                     ny, nx)  # fmt: skip
    tasks = {}
    for t, href in enumerate(band.hrefs):
        for (i, ys), (j, xs) in itertools.product(enumerate(spans(ny)), enumerate(spans(nx))):
            tasks[(name, t, i, j)] = (_read_chunk, href, band.grids[t], geobox[ys, xs], band,
                                      band.errors[t])  # fmt: skip
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=[])
    data = da.Array(graph, name, chunks=((1,) * len(band.hrefs), ny, nx), dtype=band.dtype)
    coords = {"time": np.asarray(times), **xr_coords(geobox, crs_coord_name="spatial_ref")}
    return xr.DataArray(data, dims=("time", "y", "x"), coords=coords,
                        attrs={"nodata": band.fill})  # fmt: skip


def _read_chunk(
    href: str, grid: GeoBox, window: GeoBox, band: NativeBand, errors: Any
) -> np.ndarray:
    """Read one date's file onto the chunk ``window``: ``(1, ny, nx)`` stored values."""
    try:
        out = _read_window(href, grid, window, band)
    except rasterio.errors.RasterioError as err:
        error = errors.read_error(err) if errors is not None else None
        if error is None:
            raise
    else:
        return out[np.newaxis]
    raise error  # out of the except clause: no GDAL error as its context (BandReader's way)


def _read_window(href: str, grid: GeoBox, window: GeoBox, band: NativeBand) -> np.ndarray:
    fill = np.dtype(band.dtype).type(band.fill)
    with rasterio.open(href, "r", sharing=False) as src:
        if src.transform != grid.affine or src.shape != grid.shape.yx:
            return _read_odc(href, window, band)  # the header, not the item, decides
        # Whole pixels: the caller checked the phase (raster.nearest.same_phase).
        r0 = round((window.affine.f - src.transform.f) / src.transform.e)
        c0 = round((window.affine.c - src.transform.c) / src.transform.a)
        h, w = window.shape.yx
        rows = slice(max(r0, 0), min(r0 + h, src.height))
        cols = slice(max(c0, 0), min(c0 + w, src.width))
        whole = rows == slice(r0, r0 + h) and cols == slice(c0, c0 + w)
        out = np.empty((h, w), band.dtype) if whole else np.full((h, w), fill, band.dtype)
        src_nodata = src.nodata
        if rows.start < rows.stop and cols.start < cols.stop:
            part = out if whole else np.empty((rows.stop - rows.start, cols.stop - cols.start),
                                              band.dtype)  # fmt: skip
            src.read(1, out=part, window=Window.from_slices(rows, cols))
            if not whole:
                out[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0] = part
    # odc-loader's paste: the file's nodata becomes the fill; and saturated pixels too.
    replace = [v for v in (src_nodata, band.saturated) if v is not None and v != band.fill]
    replace = [v for v in replace if _representable(v, out.dtype)]
    if replace:
        _replace(out.reshape(-1), out.dtype.type(replace[0]),
                 out.dtype.type(replace[-1]), fill)  # fmt: skip
    return out


def _read_odc(href: str, window: GeoBox, band: NativeBand) -> np.ndarray:
    """Read with odc-loader's reader (nearest), the saturated value then set to the fill."""
    cfg = RasterLoadParams(band.dtype, band.fill, resampling="nearest", fail_on_error=True)
    out = np.full(window.shape.yx, np.dtype(band.dtype).type(band.fill), band.dtype)
    roi, pix = rio_read(RasterSource(href, band=1), cfg, window)
    out[roi] = pix
    if band.saturated is not None and _representable(band.saturated, out.dtype):
        np.copyto(out, out.dtype.type(band.fill), where=out == band.saturated)
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
