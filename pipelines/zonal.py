"""The flow behind ``ilots zonal``: a raster file and a zone file in, a table file out."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rioxarray
import xarray as xr

from pipelines.census import check_layer
from pipelines.outputs.provenance import raster_is_synthetic, zones_are_synthetic
from raster.sources.assets import check_complete
from raster.zonal.api import zonal_stats
from raster.zonal.partials import Needs
from raster.zonal.statistics import parse_statistics
from tiles.errors import IlotsError, IlotsWarning, ReadError, ZonesError

__all__ = ["open_raster", "uses_weights", "zonal_table"]


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
        check_complete(str(path))
    except ReadError:
        raise
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


def uses_weights(stats: str | Iterable[str]) -> bool:
    """Whether ``stats`` asks for a weighted statistic (else ``--weights`` is ignored)."""
    return Needs.of(parse_statistics(stats)).weighted


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
    layer: str | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Zonal statistics of a raster file over a zone file; returns the table and the zones.

    ``layer``: the zone file's layer (needed when it has several, e.g. a run's zones.gpkg).
    When the raster, the weights a statistic uses or the zone file say they are synthetic
    (the demo's: :mod:`pipelines.outputs.provenance`), the table's
    ``attrs["synthetic"]`` is ``True`` (its columns are the same); otherwise the key is
    absent.
    """
    weighted = uses_weights(stats)  # parses stats: a bad name is refused before any read
    if all_touched and method != "centre":
        _warn("--all-touched only changes --method centre (exact coverage counts every "
              "touched pixel by its covered fraction already); ignored")  # fmt: skip
    if weights is not None and not weighted:
        _warn("--weights is only used by weighted_mean and weighted_sum; ignored")
        weights = None
    # frac on a raster that is not one of classes is refused as its values are seen
    # (raster.zonal.partials.check_classes); whole codes stored as floats are classes.
    values = open_raster(raster, band)
    frame = zones if isinstance(zones, gpd.GeoDataFrame) else _read_zones(zones, layer)
    weight_raster = open_raster(weights, 1) if weights is not None else None
    table = zonal_stats(values, frame, id=id, stats=stats, method=method,
                        all_touched=all_touched, weights=weight_raster,
                        cache_dir=cache_dir)  # fmt: skip
    if _says_synthetic(raster, weights, zones, layer):
        table.attrs["synthetic"] = True
    return table, frame


def _says_synthetic(
    raster: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None,
    zones: str | os.PathLike[str] | gpd.GeoDataFrame,
    layer: str | None,
) -> bool:
    """Whether the raster, the weights used (else ``None``) or the zone file are synthetic."""
    if any(map(raster_is_synthetic, [raster] if weights is None else [raster, weights])):
        return True
    return not isinstance(zones, gpd.GeoDataFrame) and zones_are_synthetic(zones, layer)


def _warn(message: str) -> None:
    warnings.warn(message, IlotsWarning, stacklevel=3)


def _read_zones(path: str | os.PathLike[str], layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a zone file (GeoPackage, GeoJSON, Shapefile ... or GeoParquet) and its layer."""
    source = Path(path)
    try:
        if source.suffix.lower() == ".parquet":
            if layer is not None:
                raise ZonesError(
                    f"{source.name} is a Parquet file, which holds one layer: leave out --layer"
                )
            try:
                frame = gpd.read_parquet(source)
            except ValueError:  # a Parquet table without GeoParquet metadata: no geometry
                frame = pd.read_parquet(source)
        else:
            layers = check_layer(source, layer, spatial=True)
            if layer is None and len(layers) > 1:
                raise ZonesError(
                    f"{source.name} has several layers ({', '.join(layers)}); choose one "
                    "with --layer"
                )
            frame = gpd.read_file(source, layer=layer)
    except ZonesError:
        raise
    except Exception as err:  # pyogrio and pyarrow raise their own types for unreadable files
        raise IlotsError(f"cannot read zones {path}: {err}") from err
    if len(frame) == 0:
        raise ZonesError(f"{source.name} holds no zone")
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise ZonesError(
            f"{source.name} has no zone geometry (a table?): give the polygons as a "
            "GeoPackage, GeoJSON, Shapefile or GeoParquet"
        )
    return frame
