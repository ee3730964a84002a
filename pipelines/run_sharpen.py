"""The sharpened LST map of ``ilots run`` (``sharpen.enabled``; science.md §4.2).

Made from the run's final composites, once the tiles are mosaicked: the ``lst_median``
sharpened with the NDVI composite by :func:`raster.sharpen.sharpen_lst`, one fit over the
whole grid, so that a tiled run gives the raster of a run in one piece. The NDVI is the
``ndvi_median``, or the composite with water when the LST keeps the water the
``ndvi_median`` leaves out (``mask.lst_keep_water`` true, ``mask.indices_keep_water``
false); the manifest's ``extra.sharpen.ndvi`` says which.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import odc.geo.xr  # noqa: F401  (the .odc accessor)
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from pipelines.config.models import SharpenConfig
from raster.footprint import temperature_means
from raster.nearest import NativeGather
from raster.sharpen import SharpenError, sharpen_lst
from tiles.grid import landsat_subdivision

__all__ = ["COARSE_CELLS", "SHARPENED", "landsat_phase", "sharpen_composite", "sharpen_record"]

#: Name of the sharpened LST raster (``sharpen.enabled``).
SHARPENED = "lst_median_sharpened"
#: How the 30 m cells of the sharpening are made from the grid's ``lst_median``: on the
#: Landsat pixels (the grid pixels gathered from one), or, when the run warped the Landsat
#: products onto the grid (another CRS), from the grid's corner.
COARSE_CELLS = (
    "blocks of {factor} x {factor} grid pixels {where}, each the (mean of T^4)^(1/4) of its "
    "lst_median pixels, none where one of them has none"
)
_ON_LANDSAT_PIXELS = "on the Landsat pixels (the grid pixels taken from one)"
_FROM_CORNER = "from the grid's top-left corner (Landsat products warped onto the grid)"


def sharpen_composite(
    options: SharpenConfig,
    lst: xr.DataArray,
    ndvi: xr.DataArray | None,
    crs: str,
    notes: list[str],
    gather: NativeGather | None = None,
) -> xr.DataArray | None:
    """Sharpen the run's ``lst_median`` with its NDVI composite (science.md §4.2), in memory.

    The 30 m cells are :data:`COARSE_CELLS`. Below 30 m the grid's ``lst_median`` holds the
    Landsat composite gathered by nearest pixel: each Landsat pixel is a block of
    ``factor × factor`` grid pixels starting at a row and column :func:`landsat_phase` finds
    from ``gather``, and those blocks are the cells, so that each keeps its Landsat pixel's
    radiance. Without a gather (Landsat products warped onto the grid), the blocks
    start at the grid's corner and may mix Landsat pixels. A cell is the radiance mean of its
    pixels (science.md pitfall 13), none over a masked pixel, which the sharpening would
    otherwise spread over it: a Landsat pixel along a bank, part land-cover water (no LST
    there), mixes the water's temperature into its own and is left out with it. The fit is
    one over the whole grid, so a tiled run (its composites mosaicked from the tiles) gives
    the one-piece run's raster. Pixels of the Landsat pixels the grid's edges cut (no whole
    block) have no value.

    Parameters
    ----------
    options
        The config's ``sharpen`` section.
    lst, ndvi
        The run's final ``lst_median`` (K) and NDVI composite on the grid: its
        ``ndvi_median``, or the composite with water where the LST keeps the water the
        ``ndvi_median`` leaves out (``ndvi_with_water``); ``ndvi`` None when the run has no
        NDVI composite. The raster's attr ``sharpen_ndvi`` is the NDVI's name.
    crs
        The grid's CRS.
    notes
        The run's warnings, to which a note is added when no raster can be made.
    gather
        Which Landsat pixel each grid pixel lies in (:func:`raster.load.native_window`, the
        run's ``LandsatSeries.gather`` when it used one); None when the products are not on
        one grid of the grid's CRS (warped onto it).

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
    phase = landsat_phase(gather, factor)
    oy, ox = phase or (0, 0)
    ny, nx = ((n - o) // factor * factor for n, o in zip(lst.shape, (oy, ox), strict=True))
    whole = {"y": slice(oy, oy + ny), "x": slice(ox, ox + nx)}
    try:
        result = sharpen_lst(
            _coarse_cells(lst.isel(whole), factor),
            ndvi.rio.write_crs(crs).isel(whole),
            basis=options.basis,
            correction=options.correction,
            cv_quantile=options.cv_quantile,
        ).compute()
    except SharpenError as err:
        notes.append(f"sharpen: {SHARPENED}.tif not written: {_too_few_cells(err, options)}")
        return None
    out = result.lst.reindex_like(lst).rename(SHARPENED)
    where = _ON_LANDSAT_PIXELS if phase is not None else _FROM_CORNER
    return out.assign_attrs(
        long_name=f"median {out.attrs['long_name']}",
        cell_methods=lst.attrs.get("cell_methods", "time: median"),
        sharpen_coarse_cells=COARSE_CELLS.format(factor=factor, where=where),
        sharpen_ndvi=str(ndvi.name),
    )


def landsat_phase(gather: NativeGather | None, factor: int) -> tuple[int, int] | None:
    """Row and column of the grid where the first whole Landsat pixel starts.

    Parameters
    ----------
    gather
        How the run put the Landsat pixels onto the grid (:class:`raster.nearest.NativeGather`:
        the Landsat row and column of each grid row and column); None when it warped them.
    factor
        Grid pixels per Landsat pixel.

    Returns
    -------
    tuple of int or None
        ``(row, col)`` in ``0 .. factor - 1``; None without a gather, or when the grid rows
        or columns do not come in runs of ``factor`` per Landsat pixel.
    """
    if gather is None:
        return None
    phase = tuple(_run_start(index, factor) for index in (gather.rows, gather.cols))
    return None if None in phase else (int(phase[0]), int(phase[1]))  # type: ignore[arg-type]


def _run_start(index: np.ndarray, factor: int) -> int | None:
    """Start (mod ``factor``) of the runs of ``factor`` equal values ``index`` is made of.

    None unless ``index`` changes exactly every ``factor`` positions (its first and last
    runs may be shorter: cut by the grid's edges).
    """
    changes = np.flatnonzero(np.diff(index)) + 1
    start = int(changes[0]) % factor if changes.size else 0
    every = np.arange(start or factor, index.size, factor)
    return start if np.array_equal(changes, every) else None


def _too_few_cells(err: SharpenError, options: SharpenConfig) -> str:
    """Say why the fit could not be made and what to change."""
    if err.eligible == 0:
        return (
            "no 30 m cell has both an LST and an NDVI (see the warnings on clear observations "
            "above): give the run more clear scenes"
        )
    if err.eligible is not None:
        return (
            f"only {err.fitted} homogeneous 30 m cells (of {err.eligible} with an LST and an "
            f"NDVI), too few to fit; raise sharpen.cv_quantile (now {options.cv_quantile:g}; 1 "
            "fits every cell with an LST and an NDVI) or run a larger area"
        )
    return f"{err} (sharpen.cv_quantile)"


def sharpen_record(sharpened: xr.DataArray, options: SharpenConfig) -> dict[str, Any]:
    """Return the manifest's record of a sharpened raster: its file, NDVI, method and fit."""
    attrs = sharpened.attrs
    fit = {k: attrs[f"sharpen_{k}"] for k in ("a", "b", "r2", "n_cells", "cv_threshold")}
    return {
        "raster": f"rasters/{SHARPENED}.tif",
        "ndvi": attrs["sharpen_ndvi"],
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
    square = abs(abs(grid.resolution.y) - abs(grid.resolution.x)) < 1e-9
    return landsat_subdivision(abs(float(grid.resolution.x))) if square else None
