"""Sharpen a coarse LST with a fine NDVI: the xarray/Dask wrapper of :mod:`raster.sharpen.kernels`.

The fine NDVI grid must nest in the coarse LST grid: same CRS, pixel size an integer fraction
``1/factor`` of the LST's, pixel edges on the LST's edges, and a whole number of LST pixels
(the LST is cropped to the NDVI's footprint; the result is on the NDVI's grid). Nothing is
resampled here: a grid that does not nest is an error saying how to fix it.

On Dask inputs everything is lazy. The fit is one small reduction: the coarse statistics
(mean NDVI, CV, count) are computed per chunk, the fit over all of them is one task, and its
five numbers feed the per-chunk prediction, so one ``dask.compute`` reads each NDVI chunk for
both. Too few homogeneous cells is then reported when the result is computed. The fit
needs every chunk, so the scheduler holds the NDVI chunks until it is done: 16 MB for a
20 × 20 km float32 NDVI at 10 m, about 1.3 GB for a whole Landsat scene.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import odc.geo.xr  # noqa: F401  (registers the .odc accessor)
import xarray as xr
from dask.array.core import normalize_chunks
from odc.geo.geobox import GeoBox

from raster.sharpen.kernels import (
    Basis,
    Correction,
    SharpenError,
    SharpenFit,
    SharpenSpec,
    block_stats,
    fit_basis,
    sharpen_block,
)
from tiles.errors import CRSError, GridError
from tiles.grid import crs_name

__all__ = ["SharpenResult", "sharpen_lst"]

logger = logging.getLogger(__name__)

_KELVIN = {"K", "kelvin", "Kelvin"}
#: Tolerance, in pixels, for grid edges and pixel-size ratios to count as whole numbers.
_TOL = 1e-6
_FIT_FIELDS = ("a", "b", "r2", "n_cells", "cv_threshold")
_FIT_ATTRS = {
    "a": {"long_name": "intercept of LST = a + b·f(NDVI)", "units": "K"},
    "b": {"long_name": "slope of LST = a + b·f(NDVI)", "units": "K"},
    "r2": {"long_name": "coefficient of determination of the fit", "units": "1"},
    "n_cells": {"long_name": "homogeneous coarse cells in the fit", "units": "1"},
    "cv_threshold": {"long_name": "largest CV of sub-pixel NDVI among fitted cells", "units": "1"},
}


@dataclass(frozen=True)
class SharpenResult:
    """A sharpened LST and the fit it came from.

    Attributes
    ----------
    lst
        Sharpened LST (K) on the NDVI's grid, lazy when an input is Dask-backed. Its attrs
        hold the method (``long_name``, ``sharpen_*``) and, once known (NumPy inputs, or
        after :meth:`compute`), the fit as ``sharpen_a``, ``sharpen_b``, ``sharpen_r2``,
        ``sharpen_n_cells`` and ``sharpen_cv_threshold``.
    fit
        0-d variables ``a``, ``b``, ``r2``, ``n_cells``, ``cv_threshold`` (lazy on Dask).
    """

    lst: xr.DataArray
    fit: xr.Dataset

    def compute(self, **kwargs: Any) -> SharpenResult:
        """Compute the LST and the fit in one pass; the fit is then copied into ``lst.attrs``.

        ``kwargs`` go to :func:`dask.compute` (e.g. ``scheduler=``).
        """
        lst, fit = dask.compute(self.lst, self.fit, **kwargs)
        return SharpenResult(lst=lst.assign_attrs(_fit_attrs(fit)), fit=fit)

    def fit_values(self) -> SharpenFit:
        """Return the fit as plain numbers (computing it if lazy)."""
        fit = dask.compute(self.fit)[0]
        return SharpenFit.from_array(np.array([float(fit[k]) for k in _FIT_FIELDS]))


def sharpen_lst(
    lst: xr.DataArray,
    ndvi: xr.DataArray,
    *,
    basis: Basis = "ndvi",
    correction: Correction = "average",
    radiance: bool | None = None,
    cv_quantile: float = 0.8,
    min_cells: int = 10,
    min_valid_fraction: float = 1.0,
    ndvi_min: float = 0.125,
    ndvi_max: float = 0.8,
    exponent: float = 0.625,
) -> SharpenResult:
    """Sharpen a coarse LST to the grid of a fine NDVI (DisTrad/TsHARP + residual correction).

    science.md §4.2: fit ``T_c = a + b·f(NDVI_c)`` over the homogeneous coarse cells, predict
    ``T̂_f = a + b·f(NDVI_f)`` on the fine grid and add each coarse cell's residual to its
    fine pixels. The options are those of :class:`~raster.sharpen.kernels.SharpenSpec`
    (defaults: NDVI basis, ``average`` correction on radiance ``T⁴``, the 80 % least
    heterogeneous cells, at least 10 of them).

    Parameters
    ----------
    lst
        Coarse LST ``(y, x)`` in K (``units`` attribute ``"K"``), with a CRS (rioxarray's
        ``rio.write_crs`` or odc-geo's ``odc.assign_crs``). NumPy or Dask-backed.
    ndvi
        Fine NDVI ``(y, x)`` whose grid nests in the LST's (see the module docstring), same
        CRS. NumPy or Dask-backed.
    basis, correction, radiance, cv_quantile, min_cells, min_valid_fraction
        See :class:`~raster.sharpen.kernels.SharpenSpec`.
    ndvi_min, ndvi_max, exponent
        TsHARP's constants (``basis="tsharp"`` only), as in ``SharpenSpec``.

    Returns
    -------
    SharpenResult
        ``.lst``: float32 if both inputs are float32, else float64; NaN where the NDVI or the
        covering LST pixel is NaN. ``.fit``: the fit's coefficients.

    Raises
    ------
    SharpenError
        ``lst`` is not in K; or (when computed, on Dask) too few homogeneous cells.
    CRSError
        An input has no CRS, or the CRSs differ.
    GridError
        The grids do not nest (pixel-size ratio not an integer ≥ 2, edges offset, NDVI
        outside the LST, rotated grid) or an input is not 2-D ``(y, x)``.
    ValueError
        An option is out of range.
    """
    spec = SharpenSpec(
        basis=basis,
        correction=correction,
        radiance=radiance,
        cv_quantile=cv_quantile,
        min_cells=min_cells,
        min_valid_fraction=min_valid_fraction,
        ndvi_min=ndvi_min,
        ndvi_max=ndvi_max,
        exponent=exponent,
    )
    _check_yx(lst, "lst")
    _check_yx(ndvi, "ndvi")
    units = lst.attrs.get("units")
    if units not in _KELVIN:
        raise SharpenError(
            f"lst has units {units!r}, expected 'K': convert to kelvin and set "
            "lst.attrs['units'] = 'K' (sharpening aggregates T⁴, which needs absolute temperature)"
        )
    factor, (row, col) = _nesting(_geobox(lst, "lst"), _geobox(ndvi, "ndvi"))
    ny, nx = ndvi.shape[0] // factor, ndvi.shape[1] // factor
    coarse = lst.isel(y=slice(row, row + ny), x=slice(col, col + nx))
    dtype = np.result_type(lst.dtype, ndvi.dtype, np.float32)
    if dask.is_dask_collection(coarse.data) or dask.is_dask_collection(ndvi.data):
        data, fit = _sharpen_dask(ndvi.data, coarse.data, factor, spec, dtype)
    else:
        values, fit_numbers = _sharpen_numpy(ndvi.values, coarse.values, factor, spec)
        data = values.astype(dtype, copy=False)
        fit = fit_numbers.as_array()
    fit_ds = xr.Dataset(
        {
            k: xr.Variable((), fit[i].astype(np.int64) if k == "n_cells" else fit[i], _FIT_ATTRS[k])
            for i, k in enumerate(_FIT_FIELDS)
        }
    )
    known = {} if dask.is_dask_collection(data) else _fit_attrs(fit_ds)
    attrs = {
        "long_name": f"land surface temperature sharpened {factor}x by {spec.describe()}",
        "units": "K",
        **{k: lst.attrs[k] for k in ("standard_name",) if k in lst.attrs},
        "sharpen_factor": factor,
        "sharpen_basis": spec.basis,
        "sharpen_correction": spec.correction,
        "sharpen_aggregation": "T4" if spec.aggregates_radiance else "T",
        "sharpen_cv_quantile": float(spec.cv_quantile),
        **known,
    }
    out = xr.DataArray(data, coords=ndvi.coords, dims=ndvi.dims, name="lst", attrs=attrs)
    return SharpenResult(lst=out, fit=fit_ds)


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------


def _check_yx(da_: Any, name: str) -> None:
    if not isinstance(da_, xr.DataArray):
        raise TypeError(f"{name} must be an xarray DataArray, got {type(da_).__name__}")
    if da_.dims != ("y", "x"):
        raise GridError(
            f"{name} must be a 2-D (y, x) DataArray, got dims {da_.dims}: select one band or "
            "scene first (e.g. .isel(band=0) or .squeeze())"
        )


def _geobox(da_: xr.DataArray, name: str) -> GeoBox:
    gbox = da_.odc.geobox
    if gbox is None:
        raise GridError(
            f"cannot tell {name}'s grid from its y/x coordinates (irregular, or a single row "
            f"or column): give it regular ones or write its transform ({name}.rio.write_transform)"
        )
    if gbox.crs is None:
        raise CRSError(
            f"{name} has no CRS: set it with {name}.rio.write_crs(...) or "
            f"{name}.odc.assign_crs(...)"
        )
    return gbox


def _nesting(coarse: GeoBox, fine: GeoBox) -> tuple[int, tuple[int, int]]:
    """Integer factor and the (row, col) of the fine grid's corner in the coarse grid."""
    if coarse.crs != fine.crs:
        raise CRSError(
            f"lst is in {crs_name(coarse.crs)} and ndvi in {crs_name(fine.crs)}: reproject the "
            "NDVI onto the LST's CRS, on a grid nesting in the LST's pixels"
        )
    ca, fa = coarse.affine, fine.affine
    if ca.b or ca.d or fa.b or fa.d:
        raise GridError("a rotated grid cannot be sharpened: use north-up grids")
    ratio_x, ratio_y = ca.a / fa.a, ca.e / fa.e
    factor = round(ratio_x)
    if factor < 2 or abs(ratio_x - factor) > _TOL or abs(ratio_y - factor) > _TOL:
        raise GridError(
            f"ndvi pixels ({abs(fa.a):g} × {abs(fa.e):g}) do not divide lst pixels "
            f"({abs(ca.a):g} × {abs(ca.e):g}) by one integer >= 2: resample the NDVI to "
            "lst pixel size / k (e.g. 30 m LST → 10 m NDVI)"
        )
    col, row = (fa.c - ca.c) / ca.a, (fa.f - ca.f) / ca.e
    if abs(col - round(col)) > _TOL or abs(row - round(row)) > _TOL:
        dx = (col - round(col)) * abs(ca.a)
        dy = (row - round(row)) * abs(ca.e)
        raise GridError(
            f"ndvi pixel edges are offset by ({dx:g}, {dy:g}) from lst's pixel edges, so its "
            "pixels do not nest in the LST's: resample the NDVI onto a grid whose corner is "
            "an LST pixel corner"
        )
    row, col = round(row), round(col)
    ny, nx = fine.shape.yx
    if ny % factor or nx % factor:
        raise GridError(
            f"ndvi has {ny} × {nx} pixels, not a whole number of {factor} × {factor} blocks: "
            "crop it to whole LST pixels"
        )
    cy, cx = coarse.shape.yx
    if row < 0 or col < 0 or row + ny // factor > cy or col + nx // factor > cx:
        raise GridError(
            "ndvi extends beyond lst: crop the NDVI to the LST's extent (or load a larger LST)"
        )
    return factor, (row, col)


# --------------------------------------------------------------------------------------------
# NumPy and Dask paths (one set of kernels)
# --------------------------------------------------------------------------------------------


def _coarse_stats(ndvi_fine: np.ndarray, factor: int, spec: SharpenSpec) -> np.ndarray:
    """``[f(NDVI_c), CV, count]`` stacked on a new first axis (float64)."""
    mean, cv, count = block_stats(ndvi_fine, factor)
    return np.stack([spec.f(mean), cv, count.astype(np.float64)])


def _fit(stats: np.ndarray, t_coarse: np.ndarray, factor: int, spec: SharpenSpec) -> SharpenFit:
    fit = fit_basis(t_coarse, stats[0], stats[1], stats[2], factor, spec)
    logger.info(
        "sharpening fit: LST = %.4f + %.4f·f over %d homogeneous cells (r² %.3f, CV <= %.4g)",
        fit.a,
        fit.b,
        fit.n_cells,
        fit.r2,
        fit.cv_threshold,
    )
    return fit


def _fit_array(stats: np.ndarray, t_coarse: np.ndarray, factor: int, spec: SharpenSpec):
    return _fit(stats, t_coarse, factor, spec).as_array()


def _sharpen_numpy(
    ndvi_fine: np.ndarray, t_coarse: np.ndarray, factor: int, spec: SharpenSpec
) -> tuple[np.ndarray, SharpenFit]:
    fit = _fit(_coarse_stats(ndvi_fine, factor, spec), t_coarse, factor, spec)
    return sharpen_block(ndvi_fine, t_coarse, factor, fit, spec), fit


def _aligned(ndvi_fine: Any, t_coarse: Any, factor: int) -> tuple[da.Array, da.Array]:
    """Both inputs as Dask arrays whose chunks pair up: fine chunk = factor × coarse chunk.

    Keeps the NDVI's chunks when they fall on whole LST pixels, else the LST's, else the
    NDVI's rounded to whole LST pixels.
    """
    shape = t_coarse.shape
    whole = dask.is_dask_collection(ndvi_fine) and all(
        c % factor == 0 for ax in ndvi_fine.chunks for c in ax
    )
    if whole:
        chunks = tuple(tuple(c // factor for c in ax) for ax in ndvi_fine.chunks)
    elif dask.is_dask_collection(t_coarse):
        chunks = t_coarse.chunks
    else:
        size = tuple(max(1, round(c / factor)) for c in ndvi_fine.chunksize)
        chunks = normalize_chunks(size, shape)
    fine = tuple(tuple(c * factor for c in ax) for ax in chunks)
    return da.asarray(ndvi_fine).rechunk(fine), da.asarray(t_coarse).rechunk(chunks)


def _sharpen_dask(
    ndvi_fine: Any, t_coarse: Any, factor: int, spec: SharpenSpec, dtype: np.dtype
) -> tuple[da.Array, da.Array]:
    ndvi_d, t_d = _aligned(ndvi_fine, t_coarse, factor)
    stats = da.map_blocks(
        _coarse_stats,
        ndvi_d,
        factor=factor,
        spec=spec,
        new_axis=0,
        chunks=((3,), *t_d.chunks),
        dtype=np.float64,
        meta=np.empty((0, 0, 0), np.float64),
    )
    fit = da.from_delayed(
        dask.delayed(_fit_array, pure=True)(stats, t_d, factor, spec),
        shape=(len(_FIT_FIELDS),),
        dtype=np.float64,
    )
    out = da.blockwise(
        _apply_block,
        "ij",
        ndvi_d,
        "ij",
        t_d,
        "ij",
        fit,
        None,
        factor=factor,
        spec=spec,
        out_dtype=dtype,
        dtype=dtype,
        align_arrays=False,
        adjust_chunks={"i": ndvi_d.chunks[0], "j": ndvi_d.chunks[1]},
        meta=np.empty((0, 0), dtype),
    )
    return out, fit


def _apply_block(
    ndvi_fine: np.ndarray,
    t_coarse: np.ndarray,
    fit: np.ndarray,
    *,
    factor: int,
    spec: SharpenSpec,
    out_dtype: np.dtype,
) -> np.ndarray:
    return sharpen_block(ndvi_fine, t_coarse, factor, fit, spec).astype(out_dtype, copy=False)


def _fit_attrs(fit: xr.Dataset) -> dict[str, Any]:
    values = {k: float(fit[k]) for k in _FIT_FIELDS}
    return {f"sharpen_{k}": int(v) if k == "n_cells" else v for k, v in values.items()}
