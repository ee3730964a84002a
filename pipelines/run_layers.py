"""Read the auxiliary layers of ``ilots run`` onto its analysis grid.

The layers: an external land-cover map, a DEM, and the urban footprint and rural reference
they define.

Each file is opened lazily (rioxarray, Dask) and warped onto the run's grid with odc-geo
(nearest neighbour for class codes, bilinear for elevations), chunked like the scenes, so the
run still reads no pixel before its single compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import odc.geo.xr  # noqa: F401  (the .odc accessor)
import rioxarray
import xarray as xr

from pipelines.config import RunConfig
from raster.heat_island import (
    rural_reference_mask,
    urban_footprint_from_landcover,
)
from raster.landcover import LandCover, map_external_landcover
from tiles.errors import ConfigError, ReadError

__all__ = ["dem_on_grid", "external_landcover", "reference_mask", "urban_footprint"]


def _on_grid(path: Path, band: int, like: xr.DataArray, resampling: str, key: str) -> xr.DataArray:
    """Open band ``band`` of ``path`` lazily and warp it onto the grid of ``like``."""
    try:
        src = rioxarray.open_rasterio(path, masked=True, chunks={"x": 2048, "y": 2048})
    except Exception as err:  # rasterio raises several types for unreadable files
        raise ReadError(f"{key}: cannot open {path} as a raster ({err}); check the file") from err
    if src.rio.crs is None:
        raise ConfigError(f"{key}: {path} has no CRS; assign one (gdal_edit.py -a_srs) first")
    if band > src.sizes.get("band", 1):
        raise ConfigError(f"{key}: {path} has {src.sizes.get('band', 1)} band(s), not band {band}")
    data = src.isel(band=band - 1, drop=True)
    warped = data.odc.reproject(like.odc.geobox, resampling=resampling)
    warped = warped.assign_coords(y=like["y"], x=like["x"])
    if like.chunks is not None:
        warped = warped.chunk(dict(zip(like.dims, like.chunks, strict=True)))
    return warped.drop_vars([c for c in warped.coords if c not in ("y", "x")])


def external_landcover(config: RunConfig, like: xr.DataArray) -> xr.DataArray:
    """Land cover from the map of ``landcover.external``, recoded to ilots classes.

    Parameters
    ----------
    config
        The run config (its ``landcover.external`` is set).
    like
        A ``(y, x)`` array on the analysis grid (its grid and chunks are copied).

    Returns
    -------
    xarray.DataArray
        ``uint8`` :class:`raster.landcover.LandCover` codes named ``landcover``, lazy;
        cells outside the map are 0 (no data).
    """
    ext = config.landcover.external
    if ext is None:
        raise ConfigError("landcover.external is not set")
    codes = _on_grid(Path(ext.path), ext.band, like, "nearest", "landcover.external.path")
    classes = map_external_landcover(codes, ext.class_mapping())
    return classes.rename("landcover").assign_attrs(classes.attrs, source_file=Path(ext.path).name)


def dem_on_grid(config: RunConfig, like: xr.DataArray) -> xr.DataArray:
    """Warp the DEM of ``heat_island.dem`` onto the analysis grid (bilinear, m, NaN outside)."""
    if config.heat_island.dem is None:
        raise ConfigError("heat_island.dem is not set")
    dem = _on_grid(Path(config.heat_island.dem), 1, like, "bilinear", "heat_island.dem")
    return dem.astype(np.float32).rename("elevation").assign_attrs(units="m")


def urban_footprint(
    config: RunConfig, zone_footprint: xr.DataArray, landcover: xr.DataArray | None
) -> xr.DataArray:
    """Choose the urban footprint of the heat-island reference, as ``heat_island.urban`` says.

    ``aoi``: the union of the zones (pixel centres inside). ``built``: the built pixels of the
    land cover inside that union (so villages of the countryside are not "urban").
    """
    if config.heat_island.urban == "aoi":
        return zone_footprint
    if landcover is None:
        raise ConfigError(
            "heat_island.urban: 'built' needs a land cover: add Sentinel-2 inputs, Landsat "
            "products with their SR bands or landcover.external, or use urban: aoi"
        )
    built = urban_footprint_from_landcover(landcover, (LandCover.BUILT,))
    return (
        (built & zone_footprint.astype(bool))
        .rename("urban")
        .assign_attrs(
            long_name="urban footprint",
            definition=f"{built.attrs['definition']} inside the "
            f"{zone_footprint.attrs.get('definition', 'zone union')}",
        )
    )


def reference_mask(
    config: RunConfig,
    ring: xr.DataArray,
    urban: xr.DataArray,
    landcover: xr.DataArray | None,
    *,
    settle_elevation: bool = False,
) -> xr.DataArray:
    """Select the rural reference pixels (science.md §4.1).

    The ring, without water and built pixels when ``heat_island.exclude_water`` /
    ``exclude_built`` say so, and, when ``heat_island.dem`` is given, within
    ``elevation_tolerance_m`` of the median elevation of the urban footprint. That median
    is a reduction over the whole grid: ``settle_elevation`` computes it now, so that a run
    computing the mask window by window (processing tiles) does not redo it for each.
    """
    hi = config.heat_island
    water = built = None
    if landcover is not None:
        water = landcover == LandCover.WATER if hi.exclude_water else None
        built = landcover == LandCover.BUILT if hi.exclude_built else None
    if hi.dem is None:
        return rural_reference_mask(ring, water=water, built=built)
    dem = dem_on_grid(config, ring)
    median = _nanmedian(dem.where(urban.astype(bool)).data)
    if settle_elevation and isinstance(median, da.Array):
        median = median.compute()
    urban_elevation = xr.DataArray(median)
    return rural_reference_mask(
        ring,
        water=water,
        built=built,
        elevation=dem,
        urban_elevation=urban_elevation,
        tolerance_m=hi.elevation_tolerance_m,
    )


def _nanmedian(data: Any) -> Any:
    """Median of all finite values; a lazy 0-d array for Dask (which needs an explicit axis)."""
    if isinstance(data, da.Array):
        return da.nanmedian(data.reshape(-1).rechunk(-1), axis=0)
    return np.nanmedian(data)
