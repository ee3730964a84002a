"""The flow behind ``ilots zonal``: a raster file and a zone file in, a table file out."""

from __future__ import annotations

import os
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import rioxarray
import xarray as xr

from raster.zonal.api import zonal_stats
from tiles.errors import IlotsError

__all__ = ["open_raster", "zonal_table"]


def open_raster(path: str | os.PathLike[str], band: int | None = None) -> xr.DataArray:
    """Open a raster lazily (Dask), nodata as NaN, bands named by their descriptions.

    Parameters
    ----------
    path
        Any raster GDAL reads.
    band
        1-based band to keep; all bands by default.

    Returns
    -------
    A ``(y, x)`` DataArray for one band, else ``(band, y, x)`` with band names from the file's
    band descriptions when they are set and unique (``b1``, ``b2`` ... otherwise).
    """
    try:
        # One band per chunk and no global lock: two threads decode blocks at once (each
        # task opens its own handle), as the zonal benchmark reads.
        data = rioxarray.open_rasterio(
            path, chunks={"band": 1, "y": 2048, "x": 2048}, masked=True, lock=False
        )
    except Exception as err:  # rasterio raises several types for unreadable files
        raise IlotsError(f"cannot read raster {path}: {err}") from err
    names = data.attrs.get("long_name")
    count = data.sizes["band"]
    if isinstance(names, str):
        names = (names,)
    if band is not None:
        if not 1 <= band <= count:
            raise ValueError(f"--band {band} is outside 1..{count} for {path}")
        return data.isel(band=band - 1, drop=True)
    if count == 1:
        return data.isel(band=0, drop=True)
    if names and len(set(names)) == count and all(names):
        return data.assign_coords(band=list(names))
    return data.assign_coords(band=[f"b{i + 1}" for i in range(count)])


def zonal_table(
    raster: str | os.PathLike[str],
    zones: str | os.PathLike[str] | gpd.GeoDataFrame,
    *,
    id: str,
    stats: str | Iterable[str],
    method: str = "exact",
    all_touched: bool = False,
    weights: str | os.PathLike[str] | None = None,
    band: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Zonal statistics of a raster file over a zone file; returns the table and the zones."""
    values = open_raster(raster, band)
    frame = zones if isinstance(zones, gpd.GeoDataFrame) else _read_zones(zones)
    weight_raster = open_raster(weights, 1) if weights is not None else None
    table = zonal_stats(values, frame, id=id, stats=stats, method=method,
                        all_touched=all_touched, weights=weight_raster,
                        cache_dir=cache_dir)  # fmt: skip
    return table, frame


def _read_zones(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises its own types for unreadable files
        raise IlotsError(f"cannot read zones {path}: {err}") from err
