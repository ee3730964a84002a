"""The sharpened LST map of ``ilots run`` (``sharpen.enabled``; science.md §4.2).

Made from the run's final composites, once the tiles are mosaicked: the ``lst_median``
sharpened with the ``ndvi_median`` by :func:`raster.sharpen.sharpen_lst`, one fit over the
whole grid, so that a tiled run gives the raster of a run in one piece.
"""

from __future__ import annotations

from typing import Any

import odc.geo.xr  # noqa: F401  (the .odc accessor)
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from pipelines.config.models import SharpenConfig
from raster.footprint import temperature_means
from raster.sharpen import SharpenError, sharpen_lst
from tiles.grid import LANDSAT_PIXEL_M

__all__ = ["COARSE_CELLS", "SHARPENED", "sharpen_composite", "sharpen_record"]

#: Name of the sharpened LST raster (``sharpen.enabled``).
SHARPENED = "lst_median_sharpened"
#: How the 30 m cells of the sharpening are made from the grid's ``lst_median``.
COARSE_CELLS = (
    "blocks of {factor} x {factor} grid pixels from the grid's top-left corner, each the "
    "(mean of T^4)^(1/4) of its lst_median pixels, none where one of them has none"
)


def sharpen_composite(
    options: SharpenConfig,
    lst: xr.DataArray,
    ndvi: xr.DataArray | None,
    crs: str,
    notes: list[str],
) -> xr.DataArray | None:
    """Sharpen the run's ``lst_median`` with its ``ndvi_median`` (science.md §4.2), in memory.

    The 30 m cells are :data:`COARSE_CELLS`: below 30 m the grid's ``lst_median`` holds the
    Landsat composite gathered by nearest pixel, and a 10 m grid keeps Sentinel-2's edges,
    which never fall on Landsat's, so a block may mix two Landsat pixels; as radiance
    (science.md pitfall 13), and with no value over a masked pixel, which the sharpening
    would otherwise spread over it. The fit is one over the whole grid, so a tiled run (its
    composites mosaicked from the tiles) gives the one-piece run's raster. The last rows or
    columns that make no whole block have no value.

    Parameters
    ----------
    options
        The config's ``sharpen`` section.
    lst, ndvi
        The run's final ``lst_median`` (K) and ``ndvi_median`` on the grid; ``ndvi`` None
        when the run has no NDVI composite.
    crs
        The grid's CRS.
    notes
        The run's warnings, to which a note is added when no raster can be made.

    Returns
    -------
    xarray.DataArray or None
        float32 K on the grid, its attrs holding the method and the fit; ``None`` when it
        cannot be made (a grid not finer than 30 m by a whole factor, no NDVI, too few
        homogeneous cells), with a note in ``notes`` saying why and how to fix it.
    """
    lst = lst.rio.write_crs(crs)
    factor = _sharpen_factor(lst.odc.geobox)
    if factor is None or ndvi is None:
        notes.append(f"sharpen: {SHARPENED}.tif not written: {_why_not_sharpened(lst, factor)}")
        return None
    ny, nx = (n // factor * factor for n in lst.shape)
    try:
        result = sharpen_lst(
            _coarse_cells(lst, factor),
            ndvi.rio.write_crs(crs).isel(y=slice(0, ny), x=slice(0, nx)),
            basis=options.basis,
            correction=options.correction,
            cv_quantile=options.cv_quantile,
        ).compute()
    except SharpenError as err:  # "<what is wrong>: <the library's fix, in its own terms>"
        notes.append(
            f"sharpen: {SHARPENED}.tif not written: {str(err).split(': ', 1)[0]}; raise "
            f"sharpen.cv_quantile (now {options.cv_quantile:g}; 1 fits every cell with an "
            "LST and an NDVI) or run a larger area"
        )
        return None
    out = result.lst.reindex_like(lst).rename(SHARPENED)
    return out.assign_attrs(
        long_name=f"median {out.attrs['long_name']}",
        sharpen_coarse_cells=COARSE_CELLS.format(factor=factor),
    )


def sharpen_record(sharpened: xr.DataArray, options: SharpenConfig) -> dict[str, Any]:
    """Return the manifest's record of a sharpened raster: its file, method and fit."""
    attrs = sharpened.attrs
    fit = {k: attrs[f"sharpen_{k}"] for k in ("a", "b", "r2", "n_cells", "cv_threshold")}
    return {
        "raster": f"rasters/{SHARPENED}.tif",
        "basis": options.basis,
        "correction": options.correction,
        "cv_quantile": options.cv_quantile,
        "factor": attrs["sharpen_factor"],
        "aggregation": attrs["sharpen_aggregation"],
        "coarse_cells": attrs["sharpen_coarse_cells"],
        **fit,
    }


def _why_not_sharpened(lst: xr.DataArray, factor: int | None) -> str:
    """Say why the run's LST cannot be sharpened (no whole factor, or no NDVI) and the fix."""
    if factor is None:
        return (
            f"the {abs(lst.odc.geobox.resolution.x):g} m grid is not finer than Landsat's 30 m "
            "by a whole factor; set grid.resolution to 10 or 15, or sharpen.enabled to false"
        )
    return (
        "the run has no NDVI composite (ndvi_median); give it Sentinel-2 products "
        "(inputs.sentinel2) or Landsat surface reflectance, or set sharpen.enabled to false"
    )


def _coarse_cells(lst: xr.DataArray, factor: int) -> xr.DataArray:
    """``lst`` (K, with a CRS) on the grid of its whole ``factor × factor`` blocks, as radiance.

    (mean of T⁴)^(1/4) of each block's pixels (:func:`raster.footprint.temperature_means`),
    NaN where one of them is NaN; ``units`` ``"K"``.
    """
    fine = lst.odc.geobox
    shape = (fine.shape.y // factor, fine.shape.x // factor)
    blocks = GeoBox(shape, fine.affine * Affine.scale(factor), fine.crs)
    return temperature_means(lst, blocks).rename("lst_median").assign_attrs(units="K")


def _sharpen_factor(grid: GeoBox) -> int | None:
    """Grid pixels per Landsat pixel along each axis (2 or more), or None if not a whole one."""
    ratio = LANDSAT_PIXEL_M / abs(float(grid.resolution.x))
    factor = round(ratio)
    square = abs(abs(grid.resolution.y) - abs(grid.resolution.x)) < 1e-9
    return factor if factor >= 2 and abs(ratio - factor) < 1e-6 and square else None
