"""Coverage fractions of zones over a grid, computed once and reused for every layer.

:class:`ZoneCoverage` holds, for one (zone layer, grid) pair, the fraction of every pixel that
every zone covers, in a compact form: a label raster for the pixels wholly inside exactly one
zone (most of them) and a sparse list of (pixel, zone, fraction) for the others (zone borders,
overlapping zones). Exact fractions are integrated over each pixel by
:mod:`raster.zonal.rasterize` (the areas exactextract's ``coverage`` gives, in float64);
``method="centre"`` gives rasterstats' pixel-centre rule (or every touched pixel).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox

from raster.zonal.kernels import (
    chunks_touched,
    label_dtype,
    label_runs,
    no_zone,
    runs_to_labels,
    zone_cells,
)
from raster.zonal.rasterize import exact_coverage
from raster.zonal.zones import PreparedZones
from tiles.errors import CRSError
from tiles.processing import save_npy

__all__ = ["ZoneCoverage", "ZoneCoverageWindow", "label_dtype", "no_zone", "zone_coverage"]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

Method = Literal["exact", "centre"]
_CACHE_VERSION = "2"


@dataclass(frozen=True, eq=False)
class ZoneCoverage:
    """Per-pixel coverage fractions of a zone layer on one grid.

    Attributes
    ----------
    shape
        Grid shape ``(ny, nx)``.
    transform
        Grid affine transform (6 coefficients).
    crs_wkt
        Grid CRS.
    ids
        Zone ids, in input order (zone index ``k`` is ``ids[k]``).
    labels
        ``(ny, nx)`` integers: the zone index of pixels wholly inside exactly one zone, else
        :func:`no_zone` of the dtype (-1 for a signed one). Built as ``uint16`` up to 65,534
        zones and ``int32`` beyond (:func:`label_dtype`); memory-mapped, read-only, when
        loaded from the cache. The statistics read it as row runs (:meth:`runs`), computed
        once. ``None`` in a coverage that holds only its runs (:meth:`without_labels`;
        :meth:`label_raster` rebuilds the raster).
    rows, cols, zones, fractions
        The other covered pixels: row, column, zone index and covered fraction (0, 1].
    method
        ``"exact"``, ``"centre"`` or ``"all_touched"``.
    """

    shape: tuple[int, int]
    transform: tuple[float, ...]
    crs_wkt: str
    ids: pd.Index
    labels: np.ndarray | None
    rows: np.ndarray
    cols: np.ndarray
    zones: np.ndarray
    fractions: np.ndarray
    method: str
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.labels is not None and self.labels.shape != self.shape:
            raise ValueError(f"labels shape {self.labels.shape} is not the grid {self.shape}")
        n = self.rows.shape[0]
        if not (self.cols.shape[0] == self.zones.shape[0] == self.fractions.shape[0] == n):
            raise ValueError("rows, cols, zones and fractions must have the same length")

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return len(self.ids)

    @property
    def cell_area(self) -> float:
        """Area of one pixel in squared CRS units (m² for projected grids in metres)."""
        a, b, _, d, e, _ = self.transform
        return abs(a * e - b * d)

    def runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the label raster as row runs ``(row, first column, end column, zone)``, by row.

        Computed once (one pass over ``labels``) and kept.
        """
        if "runs" not in self._memo:
            if self.labels is None:
                raise ValueError("this coverage holds neither its label raster nor its runs")
            self._memo["runs"] = label_runs(np.ascontiguousarray(self.labels))
        return self._memo["runs"]

    def label_raster(self) -> np.ndarray:
        """Return the label raster (``labels``, or rebuilt from the runs when not held)."""
        if self.labels is not None:
            return self.labels
        return runs_to_labels(self.shape[0], self.shape[1], *self.runs(), self.n_zones)

    def without_labels(self) -> ZoneCoverage:
        """Return this coverage holding its row runs but not its label raster.

        The statistics read only the runs (and the sparse triples), so they need not keep a
        raster of the grid's size (2 or 4 bytes a pixel) while the pixels are read.
        """
        self.runs()
        slim = dataclasses.replace(self, labels=None)
        slim._memo.update(self._memo)
        return slim

    def chunks_covered(self, row_edges: np.ndarray, col_edges: np.ndarray) -> np.ndarray:
        """Return which chunks of a chunk grid some zone covers (one pass, no window made).

        ``row_edges`` and ``col_edges`` are the chunk boundaries (``0, ..., ny`` and
        ``0, ..., nx``); the result is a boolean ``(row chunk, column chunk)`` array.
        """
        row_chunk = np.repeat(np.arange(len(row_edges) - 1, dtype=np.int32), np.diff(row_edges))
        col_chunk = np.repeat(np.arange(len(col_edges) - 1, dtype=np.int32), np.diff(col_edges))
        run_row, run_c0, run_c1, _ = self.runs()
        return chunks_touched(self.rows, self.cols, run_row, run_c0, run_c1, row_chunk,
                              col_chunk, len(row_edges) - 1, len(col_edges) - 1)  # fmt: skip

    def cells(self) -> np.ndarray:
        """Return the number of pixels each zone covers, wholly or in part (``int64``)."""
        if "cells" not in self._memo:
            _, c0, c1, zone = self.runs()
            self._memo["cells"] = _cells(zone, c0, c1, self.zones, self.fractions, self.n_zones)
        return self._memo["cells"].copy()

    def covered(self) -> np.ndarray:
        """Total covered fraction per zone (sum of coverage over all its pixels)."""
        if "covered" not in self._memo:
            _, c0, c1, zone = self.runs()
            total = np.zeros(self.n_zones)
            total += np.bincount(zone, weights=(c1 - c0).astype(np.float64),
                                 minlength=self.n_zones)  # fmt: skip
            total += np.bincount(self.zones, weights=self.fractions, minlength=self.n_zones)
            self._memo["covered"] = total
        return self._memo["covered"].copy()

    def window(self, rows: slice, cols: slice, *, complete: bool = False) -> ZoneCoverageWindow:
        """Return the part of the coverage inside a window of the grid (row/column slices).

        With ``complete``, the window also tells which zones cover no pixel outside it
        (:attr:`ZoneCoverageWindow.complete`): their quantiles can be computed from this
        window alone.
        """
        r0, r1 = rows.start or 0, rows.stop if rows.stop is not None else self.shape[0]
        c0, c1 = cols.start or 0, cols.stop if cols.stop is not None else self.shape[1]
        lo, hi = np.searchsorted(self.rows, np.array([r0, r1], dtype=self.rows.dtype))
        sel = slice(lo, hi)
        inside = (self.cols[sel] >= c0) & (self.cols[sel] < c1)
        run_row, run_c0, run_c1, run_zone = self.runs()
        lo, hi = np.searchsorted(run_row, np.array([r0, r1], dtype=run_row.dtype))
        first = np.maximum(run_c0[lo:hi], c0)
        end = np.minimum(run_c1[lo:hi], c1)
        keep = end > first
        first, end, run_zone = first[keep], end[keep], run_zone[lo:hi][keep]
        zones, fractions = self.zones[sel][inside], self.fractions[sel][inside]
        inside_only = None
        if complete:
            inside_only = _cells(run_zone, first, end, zones, fractions, self.n_zones)
            inside_only = inside_only == self.cells()
        return ZoneCoverageWindow(
            labels=None if self.labels is None else self.labels[r0:r1, c0:c1],
            rows=(self.rows[sel][inside] - r0).astype(np.int32, copy=False),
            cols=(self.cols[sel][inside] - c0).astype(np.int32, copy=False),
            zones=zones,
            fractions=fractions,
            run_row=run_row[lo:hi][keep] - np.int32(r0),
            run_c0=first - np.int32(c0),
            run_c1=end - np.int32(c0),
            run_zone=run_zone,
            complete=inside_only,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to a ``.npz`` file atomically (temporary name, then rename).

        The label raster is also written beside it (``<name>.labels.npy``), first, and read
        back memory-mapped: the statistics use its row runs (stored in the ``.npz``), so a
        cached coverage loads without reading or allocating a raster.
        """
        target = Path(path)
        save_npy(_labels_path(target), self.label_raster())  # a full disk: ENOSPC
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp.npz")
        run_row, run_c0, run_c1, run_zone = self.runs()
        np.savez(
            staging,
            shape=np.array(self.shape),
            transform=np.array(self.transform),
            crs_wkt=np.array(self.crs_wkt),
            ids=np.array(self.ids.to_numpy(), dtype=object),
            run_row=run_row,
            run_c0=run_c0,
            run_c1=run_c1,
            run_zone=run_zone,
            rows=self.rows,
            cols=self.cols,
            zones=self.zones,
            fractions=self.fractions,
            method=np.array(self.method),
        )
        os.replace(staging, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ZoneCoverage:
        """Read a coverage written by :meth:`save`."""
        with np.load(path, allow_pickle=True) as data:
            shape = tuple(int(v) for v in data["shape"])
            runs = tuple(data[k] for k in ("run_row", "run_c0", "run_c1", "run_zone"))
            labels_path = _labels_path(Path(path))
            if labels_path.exists():
                labels = np.load(labels_path, mmap_mode="r")
            else:
                labels = runs_to_labels(shape[0], shape[1], *runs, len(data["ids"]))
            coverage = cls(
                shape=shape,
                transform=tuple(float(v) for v in data["transform"]),
                crs_wkt=str(data["crs_wkt"]),
                ids=pd.Index(data["ids"].tolist()),
                labels=labels,
                rows=data["rows"],
                cols=data["cols"],
                zones=data["zones"],
                fractions=data["fractions"],
                method=str(data["method"]),
            )
        coverage._memo["runs"] = runs
        return coverage


def _labels_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.labels.npy")


def _cells(
    run_zone: np.ndarray,
    run_c0: np.ndarray,
    run_c1: np.ndarray,
    zones: np.ndarray,
    fractions: np.ndarray,
    n_zones: int,
) -> np.ndarray:
    """Pixels per zone of some runs and sparse triples (those with a fraction > 0)."""
    return zone_cells(run_zone, run_c0, run_c1, zones, fractions, n_zones)


@dataclass(frozen=True)
class ZoneCoverageWindow:
    """The coverage of one chunk, window-relative.

    The label raster (``None`` when the coverage holds only runs), the sparse triples, the
    label raster's row runs (``run_row``, ``run_c0``, ``run_c1``, ``run_zone``, as
    :meth:`ZoneCoverage.runs`) and, when asked for, ``complete``: a boolean per zone, true for
    the zones that cover no pixel outside the window (zones covering no pixel included).
    """

    labels: np.ndarray | None
    rows: np.ndarray
    cols: np.ndarray
    zones: np.ndarray
    fractions: np.ndarray
    run_row: np.ndarray
    run_c0: np.ndarray
    run_c1: np.ndarray
    run_zone: np.ndarray
    complete: np.ndarray | None = None


def zone_coverage(
    zones: PreparedZones,
    geobox: GeoBox,
    *,
    method: Method = "exact",
    all_touched: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ZoneCoverage:
    """Compute (or read from the cache) the coverage of prepared zones on a grid.

    Parameters
    ----------
    zones
        Zones from :func:`raster.zonal.zones.prepare_zones`, in the grid's CRS.
    geobox
        The raster grid.
    method
        ``"exact"``: exact covered fractions (:mod:`raster.zonal.rasterize`, equal to
        exactextract's within its float32 rounding). ``"centre"``: a pixel belongs
        wholly to a zone when its centre is inside (rasterstats' default), or when the zone
        touches it at all with ``all_touched``.
    all_touched
        With ``method="centre"``, count every pixel the zone touches.
    cache_dir
        Folder for cached coverages, keyed by a hash of the grid, the zones and the method.

    Returns
    -------
    ZoneCoverage

    Raises
    ------
    tiles.errors.CRSError
        The zones are not in the grid's CRS (every fraction would be 0, silently).
    ValueError
        An unknown ``method``.
    """
    if method not in ("exact", "centre"):
        raise ValueError(f"method must be 'exact' or 'centre', got {method!r}")
    if geobox.crs is not None and geobox.crs != zones.crs:
        raise CRSError(
            f"the zones are in {zones.crs.to_string()}, the grid in "
            f"{pyproj.CRS.from_user_input(geobox.crs.to_wkt()).to_string()}: "
            "prepare them for it, prepare_zones(zones, id=..., crs=<the raster's CRS>)"
        )
    name = "exact" if method == "exact" else ("all_touched" if all_touched else "centre")
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir) / f"coverage-{_cache_key(zones, geobox, name)}.npz"
        if cache_path.exists():
            _LOG.info("zone coverage read from cache %s", cache_path)
            return ZoneCoverage.load(cache_path)
    if method == "exact":
        coverage = _exact(zones, geobox)
    else:
        cells, zone_idx, fractions = _centre_cells(zones, geobox, all_touched)
        coverage = _compact(zones, geobox, cells, zone_idx, fractions, name)
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        coverage.save(cache_path)
    return coverage


def _cache_key(zones: PreparedZones, geobox: GeoBox, method: str) -> str:
    digest = hashlib.sha256()
    digest.update(_CACHE_VERSION.encode())
    digest.update(method.encode())
    digest.update(repr((tuple(geobox.shape.yx), tuple(geobox.affine)[:6])).encode())
    digest.update(geobox.crs.to_wkt().encode())
    digest.update(pd.util.hash_pandas_object(pd.Series(zones.ids), index=False).values.tobytes())
    for wkb in shapely.to_wkb(np.asarray(zones.geometry)):
        digest.update(wkb)
    return digest.hexdigest()[:32]


def _exact(zones: PreparedZones, geobox: GeoBox) -> ZoneCoverage:
    """Exact coverage fractions (:func:`raster.zonal.rasterize.exact_coverage`)."""
    labels, rows, cols, zone_idx, fractions = exact_coverage(
        np.asarray(zones.geometry), tuple(geobox.affine)[:6], tuple(geobox.shape.yx)
    )
    return ZoneCoverage(
        shape=tuple(geobox.shape.yx),
        transform=tuple(geobox.affine)[:6],
        crs_wkt=geobox.crs.to_wkt(),
        ids=pd.Index(zones.ids),
        labels=labels,
        rows=rows,
        cols=cols,
        zones=zone_idx,
        fractions=fractions,
        method="exact",
    )


def _centre_cells(
    zones: PreparedZones, geobox: GeoBox, all_touched: bool
) -> tuple[np.ndarray, ...]:
    from rasterio.features import geometry_mask
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    ny, nx = geobox.shape.yx
    transform = Affine(*tuple(geobox.affine)[:6])
    cells, zone_idx = [], []
    for k, geom in enumerate(np.asarray(zones.geometry)):
        if geom is None or shapely.is_empty(geom):
            continue
        minx, miny, maxx, maxy = shapely.bounds(geom)
        col_a, row_a = ~transform * (minx, maxy)
        col_b, row_b = ~transform * (maxx, miny)
        r0 = max(int(np.floor(min(row_a, row_b))) - 1, 0)
        c0 = max(int(np.floor(min(col_a, col_b))) - 1, 0)
        r1 = min(int(np.ceil(max(row_a, row_b))) + 1, ny)
        c1 = min(int(np.ceil(max(col_a, col_b))) + 1, nx)
        if r1 <= r0 or c1 <= c0:
            continue
        sub = Window(c0, r0, c1 - c0, r1 - r0)
        inside = ~geometry_mask([geom], out_shape=(r1 - r0, c1 - c0),
                                transform=window_transform(sub, transform),
                                all_touched=all_touched)  # fmt: skip
        rr, cc = np.nonzero(inside)
        cells.append((rr + r0).astype(np.int64) * nx + (cc + c0))
        zone_idx.append(np.full(rr.shape[0], k, dtype=np.int32))
    if not cells:
        empty = np.empty(0)
        return empty.astype(np.int64), empty.astype(np.int32), empty
    cells_all = np.concatenate(cells)
    return cells_all, np.concatenate(zone_idx), np.ones(cells_all.shape[0])


def _compact(
    zones: PreparedZones,
    geobox: GeoBox,
    cells: np.ndarray,
    zone_idx: np.ndarray,
    fractions: np.ndarray,
    method: str,
) -> ZoneCoverage:
    """Split (cell, zone, fraction) triples into a label raster and a sparse remainder."""
    ny, nx = geobox.shape.yx
    if fractions.size and fractions.min() <= 0:  # exactextract gives none; avoid 3 big copies
        positive = fractions > 0
        cells, zone_idx, fractions = cells[positive], zone_idx[positive], fractions[positive]
    times_covered = np.bincount(cells, minlength=ny * nx)
    whole = (fractions >= 1.0) & (times_covered[cells] == 1)
    del times_covered
    dtype = label_dtype(len(zones.ids))
    labels = np.full(ny * nx, no_zone(dtype), dtype=dtype)
    labels[cells[whole]] = zone_idx[whole]
    rest = ~whole
    order = np.argsort(cells[rest], kind="stable")
    rest_cells = cells[rest][order]
    return ZoneCoverage(
        shape=(ny, nx),
        transform=tuple(geobox.affine)[:6],
        crs_wkt=geobox.crs.to_wkt(),
        ids=pd.Index(zones.ids),
        labels=labels.reshape(ny, nx),
        rows=(rest_cells // nx).astype(np.int32),
        cols=(rest_cells % nx).astype(np.int32),
        zones=zone_idx[rest][order].astype(np.int32),
        fractions=fractions[rest][order].astype(np.float64),
        method=method,
    )
