"""Coverage fractions of zones over a grid, computed once and reused for every layer.

:class:`ZoneCoverage` holds, for one (zone layer, grid) pair, the fraction of every pixel that
every zone covers, in a compact form: a label raster for the pixels wholly inside exactly one
zone (most of them) and a sparse list of (pixel, zone, fraction) for the others (zone borders,
overlapping zones). Exact fractions come from exactextract (``cell_id`` / ``coverage``);
``method="centre"`` gives rasterstats' pixel-centre rule (or every touched pixel).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox

from raster.zonal.kernels import label_counts
from raster.zonal.zones import PreparedZones

__all__ = ["ZoneCoverage", "zone_coverage"]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

Method = Literal["exact", "centre"]
_CACHE_VERSION = "1"


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
        ``int32 (ny, nx)``: the zone index of pixels wholly inside exactly one zone, else -1.
    rows, cols, zones, fractions
        The other covered pixels: row, column, zone index and covered fraction (0, 1].
    method
        ``"exact"``, ``"centre"`` or ``"all_touched"``.
    """

    shape: tuple[int, int]
    transform: tuple[float, ...]
    crs_wkt: str
    ids: pd.Index
    labels: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    zones: np.ndarray
    fractions: np.ndarray
    method: str

    def __post_init__(self) -> None:
        if self.labels.shape != self.shape:
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

    def covered(self) -> np.ndarray:
        """Total covered fraction per zone (sum of coverage over all its pixels)."""
        total = label_counts(np.ascontiguousarray(self.labels), self.n_zones)
        total += np.bincount(self.zones, weights=self.fractions, minlength=self.n_zones)
        return total

    def window(self, rows: slice, cols: slice) -> ZoneCoverageWindow:
        """Return the part of the coverage inside a window of the grid (row/column slices)."""
        r0, r1 = rows.start or 0, rows.stop if rows.stop is not None else self.shape[0]
        c0, c1 = cols.start or 0, cols.stop if cols.stop is not None else self.shape[1]
        lo, hi = np.searchsorted(self.rows, [r0, r1])
        sel = slice(lo, hi)
        inside = (self.cols[sel] >= c0) & (self.cols[sel] < c1)
        return ZoneCoverageWindow(
            labels=self.labels[r0:r1, c0:c1],
            rows=(self.rows[sel][inside] - r0).astype(np.int32),
            cols=(self.cols[sel][inside] - c0).astype(np.int32),
            zones=self.zones[sel][inside],
            fractions=self.fractions[sel][inside],
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to a ``.npz`` file atomically (temporary name, then rename)."""
        target = Path(path)
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp.npz")
        np.savez(
            staging,
            shape=np.array(self.shape),
            transform=np.array(self.transform),
            crs_wkt=np.array(self.crs_wkt),
            ids=np.array(self.ids.to_numpy(), dtype=object),
            labels=self.labels,
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
            return cls(
                shape=tuple(int(v) for v in data["shape"]),
                transform=tuple(float(v) for v in data["transform"]),
                crs_wkt=str(data["crs_wkt"]),
                ids=pd.Index(data["ids"].tolist()),
                labels=data["labels"],
                rows=data["rows"],
                cols=data["cols"],
                zones=data["zones"],
                fractions=data["fractions"],
                method=str(data["method"]),
            )


@dataclass(frozen=True)
class ZoneCoverageWindow:
    """The coverage of one chunk: window-relative label raster and sparse triples."""

    labels: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    zones: np.ndarray
    fractions: np.ndarray


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
        ``"exact"``: exact covered fractions (exactextract). ``"centre"``: a pixel belongs
        wholly to a zone when its centre is inside (rasterstats' default), or when the zone
        touches it at all with ``all_touched``.
    all_touched
        With ``method="centre"``, count every pixel the zone touches.
    cache_dir
        Folder for cached coverages, keyed by a hash of the grid, the zones and the method.

    Returns
    -------
    ZoneCoverage
    """
    if method not in ("exact", "centre"):
        raise ValueError(f"method must be 'exact' or 'centre', got {method!r}")
    name = "exact" if method == "exact" else ("all_touched" if all_touched else "centre")
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir) / f"coverage-{_cache_key(zones, geobox, name)}.npz"
        if cache_path.exists():
            _LOG.info("zone coverage read from cache %s", cache_path)
            return ZoneCoverage.load(cache_path)
    if method == "exact":
        cells, zone_idx, fractions = _exact_cells(zones, geobox)
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


def _exact_cells(zones: PreparedZones, geobox: GeoBox) -> tuple[np.ndarray, ...]:
    import geopandas as gpd
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    ny, nx = geobox.shape.yx
    a = geobox.affine
    if a.b != 0 or a.d != 0 or a.e >= 0:
        raise ValueError("exact coverage needs a north-up grid without rotation")
    xmin, ymax = a.c, a.f
    xmax, ymin = xmin + nx * a.a, ymax + ny * a.e
    grid = NumPyRasterSource(
        np.broadcast_to(np.float32(0), (ny, nx)), xmin, ymin, xmax, ymax,
        srs_wkt=geobox.crs.to_wkt(),
    )  # fmt: skip
    geometry = np.asarray(zones.geometry)
    keep = ~shapely.is_empty(geometry)
    frame = gpd.GeoDataFrame({"zone": np.flatnonzero(keep)}, geometry=geometry[keep],
                             crs=geobox.crs.to_wkt())  # fmt: skip
    if len(frame) == 0:
        empty = np.empty(0)
        return empty.astype(np.int64), empty.astype(np.int32), empty
    result = exact_extract(grid, frame, ["cell_id", "coverage"], include_cols=["zone"],
                           output="pandas")  # fmt: skip
    counts = np.fromiter((len(c) for c in result["cell_id"]), dtype=np.int64, count=len(result))
    cells = np.concatenate(result["cell_id"].to_list()).astype(np.int64, copy=False)
    fractions = np.concatenate(result["coverage"].to_list()).astype(np.float64, copy=False)
    zone_idx = np.repeat(result["zone"].to_numpy(np.int32), counts)
    return cells, zone_idx, fractions


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
    labels = np.full(ny * nx, -1, dtype=np.int32)
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
