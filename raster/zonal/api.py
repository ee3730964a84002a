"""``zonal_stats``: plan the chunks, compute mergeable partials per chunk, finalise per zone.

The coverage of the zones on the raster grid is computed once (or read from its cache), before
the pixels are read (inside the graph when only the graph is asked for); each Dask chunk
becomes one task that reads the pixels of all its layers once and returns their
partial aggregates in one pass over the coverage; partials merge in a balanced tree;
statistics are derived at the end. NumPy-backed inputs build no graph: the same kernels run
directly, over one row strip per core in threads (they release the GIL), and the strips'
partials merge the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.env
import shapely
import xarray as xr
from dask.delayed import Delayed
from dask.system import CPU_COUNT
from odc.geo.geobox import GeoBox
from odc.geo.xr import ODCExtension  # noqa: F401  (registers .odc)

from raster.zonal.coverage import Method, ZoneCoverage, zone_coverage
from raster.zonal.partials import Needs, Partials, finalise, layer_partials, merge_all
from raster.zonal.statistics import Statistic, parse_statistics
from raster.zonal.zones import prepare_zones
from tiles.errors import CRSError, GridError, IlotsWarning, ZonesError

__all__ = ["READ_CACHE_MIB", "one_pass_block_cache", "raster_geobox", "zonal_stats"]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())


def zonal_stats(
    values: xr.DataArray | xr.Dataset,
    zones: gpd.GeoDataFrame,
    *,
    id: str,
    stats: str | Iterable[str] = ("mean", "count"),
    method: Method = "exact",
    all_touched: bool = False,
    weights: xr.DataArray | None = None,
    coverage: ZoneCoverage | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    compute: bool = True,
) -> pd.DataFrame | Delayed:
    """Statistics of raster layers per zone, weighted by the exact covered fraction of pixels.

    Parameters
    ----------
    values
        A 2-D ``(y, x)`` DataArray, a 3-D one with a leading band dimension, or a Dataset of
        2-D variables; NumPy- or Dask-backed; NaN is no data. Must carry its CRS.
    zones
        The zones; reprojected to the raster CRS if needed (the raster never is).
    id
        Name of the zone id column (unique, non-null).
    stats
        Statistic names (see :mod:`raster.zonal.statistics`), a list or ``"mean,p90"``.
    method
        ``"exact"`` (coverage fractions) or ``"centre"`` (pixel centres, rasterstats' rule).
    all_touched
        With ``method="centre"``: every pixel a zone touches counts wholly.
    weights
        Weight raster on the same grid, for ``weighted_mean``/``weighted_sum``.
    coverage
        A precomputed :class:`ZoneCoverage` of these zones on this grid (skips its build).
    cache_dir
        Folder in which coverages are cached between runs.
    compute
        Return the table (default), or a :class:`dask.delayed.Delayed` that computes it:
        building it reads no pixel, so it can join a larger graph.

    Returns
    -------
    pandas.DataFrame
        One row per zone in input order: the id column, then one column per statistic
        (``<layer>_<stat>`` when there are several layers). Zones that cover no valid pixel
        have ``count`` 0 and NaN statistics.

    Raises
    ------
    ZonesError
        No zone, no zone with a polygon, or (without ``coverage``) no zone that overlaps
        the raster (a wrong CRS, or the wrong raster); with ``coverage``, zones or an ``id``
        other than those it was built from.
    CRSError
        Zones or a raster without a CRS; ``area_m2`` asked of a raster in degrees.
    GridError
        A ``coverage`` or ``weights`` of another grid.
    ValueError
        An unknown statistic; a weighted statistic without ``weights``.

    Warns
    -----
    IlotsWarning
        Zones that do not overlap the raster (they get NaN statistics).
    """
    layers = _layers(values)
    geobox = raster_geobox(next(iter(layers.values())))
    specs = parse_statistics(stats)
    needs = Needs.of(specs)
    if needs.weighted:
        if weights is None:
            raise ValueError(
                "weighted_mean / weighted_sum need a weight raster (--weights FILE, weights=...)"
            )
        _same_grid(weights, geobox, "the weight raster")
    sources = _sources(values)
    wdata = weights.data if (weights is not None and needs.weighted) else None
    if "area_m2" in {spec.name for spec in specs} and geobox.crs is not None:
        if geobox.crs.geographic:
            raise CRSError(
                "area_m2 needs a projected raster: this one is in degrees "
                f"(EPSG:{geobox.crs.epsg}); reproject it first, e.g. to EPSG:2154"
            )
    prepared = None
    if coverage is None:
        prepared = prepare_zones(zones, id=id, crs=geobox.crs.to_wkt())
        _check_overlap(prepared.ids, prepared.geometry, geobox)
    else:
        _check_coverage(coverage, geobox, zones, id)
    names = list(layers)
    if not any(isinstance(a, da.Array) for a in [*sources, wdata]):
        # In-memory layers: no graph, the kernels run directly over row strips in threads.
        def run() -> pd.DataFrame:
            cov = coverage
            if cov is None:
                cov = _statistics_coverage(
                    prepared, geobox, method=method, all_touched=all_touched, cache_dir=cache_dir
                )
            parts = _numpy_parts(sources, wdata, cov, needs)
            return _table(_finalise_task(parts, specs, cov), names, cov, id)

        return run() if compute else dask.delayed(run, pure=False)()
    if coverage is None and compute:
        # Built before any pixel is read: the build's grid-sized label raster is freed before
        # the chunks arrive, rather than held with the chunks read meanwhile (~0.3 s for 1,000
        # zones over 16 M pixels, against ~50 MiB less at the peak of a one-layer file run).
        coverage = _statistics_coverage(
            prepared, geobox, method=method, all_touched=all_touched, cache_dir=cache_dir
        )
    if coverage is None:
        # A graph for later: the coverage is built inside it (reading no pixel now), which
        # overlaps the build with reading the pixels.
        footprint = _zone_windows(prepared, geobox)
        coverage = dask.delayed(_statistics_coverage, pure=False)(
            prepared, geobox, method=method, all_touched=all_touched, cache_dir=cache_dir
        )
        n_zones = len(prepared.ids)
    else:
        footprint, n_zones = None, coverage.n_zones
    finals = _reduce(sources, wdata, coverage, needs, n_zones, footprint, specs)
    table = dask.delayed(_table, pure=False)(finals, names, coverage, id)
    if not compute:
        return table
    with one_pass_block_cache():
        return table.compute()


#: GDAL's block cache (MiB) while :func:`zonal_stats` computes from Dask layers.
READ_CACHE_MIB = 32


def one_pass_block_cache() -> contextlib.AbstractContextManager[Any]:
    """Cap GDAL's block cache at :data:`READ_CACHE_MIB` within the block, unless set by the user.

    The statistics read every block of a file-backed layer exactly once, so decoded blocks
    kept in GDAL's cache (by default 5 % of the RAM) are never read again: capping it saves
    up to that much memory at no cost in time (``benchmarks/RESULTS.md``). A
    ``GDAL_CACHEMAX`` set in the environment or in an enclosing :class:`rasterio.Env` is left
    as it is. The setting is GDAL's, for this process: a distributed cluster's workers keep
    their own.
    """
    outer = rasterio.env.getenv() if rasterio.env.hasenv() else {}
    if os.environ.get("GDAL_CACHEMAX") or outer.get("GDAL_CACHEMAX"):
        return contextlib.nullcontext()
    return rasterio.Env(GDAL_CACHEMAX=READ_CACHE_MIB)


def _statistics_coverage(prepared: Any, geobox: GeoBox, **kwargs: Any) -> ZoneCoverage:
    """Build (or read from the cache) the coverage, kept without its label raster.

    The statistics read its row runs and sparse triples; the label raster (2 or 4 bytes a
    pixel) would only add to the memory held while the pixels are read.
    """
    return zone_coverage(prepared, geobox, **kwargs).without_labels()


def _table(
    finals: Sequence[dict[str, np.ndarray]],
    names: Sequence[str | None],
    coverage: ZoneCoverage,
    id_column: str,
) -> pd.DataFrame:
    """Assemble the per-layer statistic columns (``finals``, in layer order) into the table."""
    columns: dict[str, Any] = {id_column: coverage.ids}
    single = len(names) == 1 and names[0] is None
    for name, final in zip(names, finals, strict=True):
        for column, data in final.items():
            columns[column if single else f"{name}_{column}"] = data
    return pd.DataFrame(columns)


def _finalise_task(
    parts: Sequence[Partials], specs: Sequence[Statistic], coverage: ZoneCoverage
) -> list[dict[str, np.ndarray]]:
    """Finalise merged partials of some layers into their statistic columns."""
    covered = coverage.covered()

    def one(part: Partials) -> dict[str, np.ndarray]:
        return finalise(part, specs, covered, coverage.cell_area)

    if any(s.kind == "quantile" for s in specs) and len(parts) > 1:
        # Quantiles sort every layer's samples (NumPy and numba release the GIL): in threads.
        with ThreadPoolExecutor(min(CPU_COUNT, len(parts))) as pool:
            return list(pool.map(one, parts))
    return [one(part) for part in parts]


def raster_geobox(data: xr.DataArray) -> GeoBox:
    """Return the grid of a raster layer, with a clear error when it has no CRS."""
    gbox = data.odc.geobox
    if gbox is None or gbox.crs is None:
        raise CRSError(
            "the raster has no CRS; set one (gdal_edit.py -a_srs EPSG:32631 FILE, or "
            "da.rio.write_crs('EPSG:32631')) so the zones can be brought to it"
        )
    return gbox


def _layers(values: xr.DataArray | xr.Dataset) -> dict[str | None, xr.DataArray]:
    if isinstance(values, xr.Dataset):
        if not values.data_vars:
            raise ValueError("the Dataset has no variable to summarise")
        layers = {str(k): v for k, v in values.data_vars.items()}
    elif isinstance(values, xr.DataArray):
        if values.ndim == 2:
            layers = {None: values}
        elif values.ndim == 3:
            band = values.dims[0]
            names = [str(v) for v in values[band].values] if band in values.coords else []
            if not names or any(n.isdigit() for n in names):
                names = [f"b{i + 1}" for i in range(values.shape[0])]
            layers = {n: values.isel({band: i}) for i, n in enumerate(names)}
        else:
            raise ValueError(f"values must be 2-D (y, x) or 3-D (band, y, x); got {values.dims}")
    else:
        raise TypeError(f"values must be an xarray DataArray or Dataset, got {type(values)}")
    for name, layer in layers.items():
        if layer.ndim != 2:
            raise ValueError(f"layer {name or ''} must be 2-D (y, x); got dims {layer.dims}")
    return layers


def _sources(values: xr.DataArray | xr.Dataset) -> list[Any]:
    """Return the pixel arrays as ``(layer, y, x)`` arrays, in layer order (NumPy or Dask).

    A 3-D DataArray stays one array, so a chunk's layers are read and reduced together.
    """
    if isinstance(values, xr.Dataset):
        return [v.data[None] for v in values.data_vars.values()]
    return [values.data[None] if values.ndim == 2 else values.data]


def _check_overlap(ids: np.ndarray, geometry: np.ndarray, geobox: GeoBox) -> None:
    """Refuse zones of which none reaches the raster; warn about those that do not.

    Zones off the raster get NaN statistics: all of them off is a wrong CRS or the wrong
    raster rather than a result.
    """
    if len(geometry) == 0:
        raise ZonesError("the zone layer holds no zone")
    shaped = ~shapely.is_empty(geometry) & ~shapely.is_missing(geometry)
    if not shaped.any():  # each already warned about by prepare_zones
        raise ZonesError("no zone has a polygon (all are empty, missing, points or lines)")
    left, bottom, right, top = geobox.boundingbox
    xmin, ymin, xmax, ymax = shapely.bounds(geometry).T  # NaN for empty geometries
    away = shaped & ~((xmin < right) & (xmax > left) & (ymin < top) & (ymax > bottom))
    if away.sum() == shaped.sum():
        raise ZonesError(
            f"none of the {int(shaped.sum())} zones overlaps the raster (raster bounds "
            f"{left:g}, {bottom:g}, {right:g}, {top:g} in its CRS); check the zones' CRS and "
            "that the raster covers them"
        )
    if away.any():
        shown = ", ".join(map(str, ids[away][:3]))
        warnings.warn(
            f"{int(away.sum())} of {len(geometry)} zones do not overlap the raster (e.g. "
            f"{shown}); they get NaN statistics",
            IlotsWarning,
            stacklevel=3,
        )


def _same_grid(data: xr.DataArray, geobox: GeoBox, what: str) -> None:
    other = raster_geobox(data)
    if other.shape != geobox.shape or not other.affine.almost_equals(geobox.affine):
        raise GridError(
            f"{what} is not on the grid of the values ({other.shape.yx} vs {geobox.shape.yx}); "
            "resample it onto the same grid first"
        )


def _check_coverage(coverage: ZoneCoverage, geobox: GeoBox, zones: Any, id: Any) -> None:
    if coverage.shape != tuple(geobox.shape.yx) or not np.allclose(
        coverage.transform, tuple(geobox.affine)[:6]
    ):
        raise GridError(
            "the coverage was computed for another grid; rebuild it with "
            "raster.zonal.zone_coverage for this raster"
        )
    # The table takes its ids from the coverage: zones or an id column that are not the
    # coverage's would label its rows wrongly.
    given = zones[id] if isinstance(zones, pd.DataFrame) and id in zones.columns else None
    if given is None or [str(v) for v in given] != [str(v) for v in coverage.ids]:
        raise ZonesError(
            f"the coverage was computed for other zones than these (by {id!r}); give the "
            "zones and id it was built from, or rebuild it with raster.zonal.zone_coverage"
        )


def _chunk_task(
    blocks: Sequence[np.ndarray],
    weight_block: np.ndarray | None,
    window: Any,
    n_zones: int,
    needs: Needs,
) -> list[Partials]:
    return [p for b in blocks for p in layer_partials(b, window, n_zones, needs, weight_block)]


def _window_task(
    blocks: Sequence[np.ndarray],
    weight_block: np.ndarray | None,
    coverage: ZoneCoverage,
    rows: slice,
    cols: slice,
    n_zones: int,
    needs: Needs,
) -> list[Partials]:
    """Reduce one chunk, taking its window of the coverage only then (so no window waits)."""
    window = coverage.window(rows, cols, complete=needs.samples)
    return _chunk_task(blocks, weight_block, window, n_zones, needs)


def _merge_task(*parts: list[Partials]) -> list[Partials]:
    return [merge_all(column) for column in zip(*parts, strict=True)]


def _numpy_parts(
    sources: Sequence[np.ndarray],
    wdata: Any,
    coverage: ZoneCoverage,
    needs: Needs,
) -> list[Partials]:
    """Return the partials of in-memory layers: one row strip per core (views), merged."""
    arrays = [np.asarray(a) for a in sources]
    warr = None if wdata is None else np.asarray(wdata)
    ny = arrays[0].shape[1]
    n_strips = max(1, min(CPU_COUNT, ny // 16))
    edges = np.linspace(0, ny, n_strips + 1).astype(int)

    def strip(k: int) -> list[Partials]:
        rows = slice(int(edges[k]), int(edges[k + 1]))
        window = coverage.window(rows, slice(None), complete=needs.samples)
        blocks = [a[:, rows, :] for a in arrays]
        wblock = None if warr is None else warr[rows, :]
        return _chunk_task(blocks, wblock, window, coverage.n_zones, needs)

    if n_strips == 1:
        return strip(0)
    with ThreadPoolExecutor(n_strips) as pool:
        return _merge_task(*pool.map(strip, range(n_strips)))


def _zone_windows(prepared: Any, geobox: GeoBox) -> np.ndarray:
    """Pixel bounding windows ``(row0, row1, col0, col1)`` of the zones on the grid."""
    import shapely

    geometry = np.asarray(prepared.geometry)
    bounds = shapely.bounds(geometry)  # NaN for empty geometries
    inverse = ~geobox.affine
    cols_a, rows_a = inverse * (bounds[:, 0], bounds[:, 3])
    cols_b, rows_b = inverse * (bounds[:, 2], bounds[:, 1])
    windows = np.stack(
        [
            np.minimum(rows_a, rows_b) - 1,
            np.maximum(rows_a, rows_b) + 1,
            np.minimum(cols_a, cols_b) - 1,
            np.maximum(cols_a, cols_b) + 1,
        ],
        axis=1,
    )
    return windows[np.isfinite(windows).all(axis=1)]


def _touched(footprint: np.ndarray, rows: slice, cols: slice) -> bool:
    """Whether any zone's pixel window (``footprint``) meets a chunk."""
    return bool(
        (
            (footprint[:, 0] < rows.stop)
            & (footprint[:, 1] > rows.start)
            & (footprint[:, 2] < cols.stop)
            & (footprint[:, 3] > cols.start)
        ).any()
    )


def _reduce(
    sources: Sequence[Any],
    wdata: Any,
    coverage: ZoneCoverage | Delayed,
    needs: Needs,
    n: int,
    footprint: np.ndarray | None,
    specs: Sequence[Statistic],
) -> Delayed:
    """Build a Delayed list of statistic columns, one dict per layer, in layer order.

    ``sources`` are ``(layer, y, x)`` arrays, at least one Dask-backed. Each layer block of
    each chunk is one task (a block holding several layers is reduced in one pass); the
    partials of a layer block merge in a balanced tree and are finalised at once, so the
    quantile samples of a layer are freed before the others are done. ``coverage`` is a
    ZoneCoverage or a Delayed one; with a Delayed one, ``footprint`` (the zones' pixel
    windows) decides which chunks can be skipped. Each task takes its chunk's window of the
    coverage itself: windows made ahead would all be held at once (a copy of the coverage).
    """
    known = coverage if footprint is None else None
    if known is not None:  # one node for the coverage, not a copy in every task
        coverage = dask.delayed(coverage, name=f"zone-coverage-{uuid.uuid4().hex}")
    first = next(a for a in [*sources, wdata] if isinstance(a, da.Array))
    chunks = first.chunks[-2:]
    # Layer chunks stay as they are (a band-interleaved file reads band by band).
    arrays = [da.asarray(a).rechunk({1: chunks[0], 2: chunks[1]}) for a in sources]
    wdask = None if wdata is None else da.asarray(wdata).rechunk(chunks)
    row_edges = np.cumsum((0, *chunks[0]))
    col_edges = np.cumsum((0, *chunks[1]))
    covered = None if known is None else known.chunks_covered(row_edges, col_edges)
    windows = {}
    for i in range(len(chunks[0])):
        for j in range(len(chunks[1])):
            rows = slice(int(row_edges[i]), int(row_edges[i + 1]))
            cols = slice(int(col_edges[j]), int(col_edges[j + 1]))
            if covered[i, j] if covered is not None else _touched(footprint, rows, cols):
                windows[i, j] = (rows, cols)  # else the chunk is never read
    # Blocks as Delayed objects keyed to the chunks themselves: a dask Array passed to a
    # delayed call would be finalised first, i.e. copied.
    wblocks = None if wdask is None else wdask.to_delayed()
    finals = []
    for array in arrays:
        blocks = array.to_delayed()
        for b, n_layers in enumerate(array.chunks[0]):
            tasks = [
                dask.delayed(_window_task, pure=False)(
                    [blocks[b, i, j]],
                    None if wblocks is None else wblocks[i, j],
                    coverage,
                    rows,
                    cols,
                    n,
                    needs,
                )
                for (i, j), (rows, cols) in windows.items()
            ]
            if not tasks:
                tasks = [dask.delayed([Partials.empty(n, needs) for _ in range(n_layers)])]
            while len(tasks) > 1:
                tasks = [dask.delayed(_merge_task, pure=False)(*tasks[k : k + 8])
                         for k in range(0, len(tasks), 8)]  # fmt: skip
            finals.append(dask.delayed(_finalise_task, pure=False)(tasks[0], specs, coverage))
    return dask.delayed(_concat, pure=False)(finals)


def _concat(lists: Sequence[list[Any]]) -> list[Any]:
    return [item for items in lists for item in items]
