"""Exact zonal statistics: coverage fractions computed once, mergeable partials per chunk.

Public API (the contract every module of this package implements)
-----------------------------------------------------------------
``prepare_zones(zones, *, id, crs) -> PreparedZones``
    (:mod:`raster.zonal.zones`) Validate a GeoDataFrame of zones and bring it to the raster
    CRS: one-line errors for a missing CRS, a missing or duplicated id column; invalid
    geometries repaired with ``shapely.make_valid`` (an :class:`~tiles.errors.IlotsWarning`
    gives the count); geometry collections reduced to their polygonal parts; empty geometries
    kept (their statistics are NaN, count 0). Input order is kept.
``zone_coverage(prepared, geobox, *, method="exact", all_touched=False, cache_dir=None)``
    (:mod:`raster.zonal.coverage`) -> :class:`ZoneCoverage`, from zones made ready for the
    grid by ``prepare_zones(zones, id=..., crs=<the grid's CRS>)`` (another CRS is refused):
    for every zone, the covered
    fraction of every pixel of the grid (exact areas integrated by
    :mod:`raster.zonal.rasterize` for ``method="exact"``, the fractions exactextract's
    ``coverage`` gives; pixel centres, or every touched pixel with ``all_touched``, for
    ``method="centre"``), held as a label raster of pixels wholly inside exactly one zone (read
    as row runs) plus a sparse list of the other (pixel, zone, fraction) triples. Cached on
    disk when asked, keyed by a hash of the grid and the zones.
``zonal_stats(values, zones, *, id, stats, method="exact", all_touched=False, weights=None,
coverage=None, cache_dir=None, compute=True) -> pandas.DataFrame``
    (:mod:`raster.zonal.api`) One row per zone in input order; ``values`` an
    ``xr.DataArray`` (2-D, or 3-D with a ``band`` dimension) or ``xr.Dataset`` of 2-D
    variables, NumPy- or Dask-backed; ``weights`` a weight raster for ``weighted_mean`` /
    ``weighted_sum``.
"""

from raster.zonal.api import zonal_stats
from raster.zonal.coverage import ZoneCoverage, zone_coverage
from raster.zonal.statistics import STATISTICS, parse_statistics
from raster.zonal.zones import PreparedZones, prepare_zones

__all__ = [
    "STATISTICS",
    "PreparedZones",
    "ZoneCoverage",
    "parse_statistics",
    "prepare_zones",
    "zonal_stats",
    "zone_coverage",
]
