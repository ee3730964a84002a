"""Tests of raster.sharpen: vectors S-1/S-2, residual corrections, synthetic validation, Dask.

Expected values come from science.md §9.8 (S-1, S-2), from hand computation, or from analytic
constructions written out here in plain NumPy, never from the code under test.
"""

from __future__ import annotations

import math

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from raster import sharpen_lst
from raster.sharpen import SharpenError, SharpenResult, SharpenSpec
from raster.sharpen.kernels import (
    SharpenFit,
    block_mean,
    block_stats,
    coarse_residual,
    fit_basis,
    sharpen_block,
    tsharp_basis,
)
from tests.conftest import ComputeForbidden, raise_if_dask_computes
from tiles.errors import CRSError, GridError, IlotsError

X0, Y0 = 600_000.0, 6_000_000.0
CRS = "EPSG:32631"

# science.md §9.8, S-1/S-2 (1-D: 3 coarse cells × 2 fine). Embedded in 2-D by repeating the
# row: a 2 × 2 block then holds each 1-D pair twice, which changes no mean, CV or T⁴ mean.
S1_NDVI = [0.1, 0.3, 0.4, 0.6, 0.7, 0.9]
S1_T = [312.0, 309.0, 300.0]
S1_NDVI_C = [0.2, 0.5, 0.8]
S1_A, S1_B = 317.0, -20.0
S1_RESIDUAL = [-1.0, 2.0, -1.0]
S1_FINE_T = [314.0, 310.0, 311.0, 307.0, 302.0, 298.0]
S2_RESIDUAL = [-1.0191677, 1.9804578, -1.0199317]
# r² by hand: SS_res = 1 + 4 + 1 = 6, SS_tot = 5² + 2² + 7² = 78 (mean 307)
S1_R2 = 1.0 - 6.0 / 78.0


def grid(values, res, *, x0=X0, y0=Y0, crs=CRS, units=None, chunks=None):
    """A north-up (y, x) DataArray with its CRS and transform written, edges at (x0, y0)."""
    values = np.asarray(values)
    ny, nx = values.shape
    out = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": y0 - res * (np.arange(ny) + 0.5), "x": x0 + res * (np.arange(nx) + 0.5)},
    )
    if crs is not None:
        out = out.rio.write_crs(crs).rio.write_transform(Affine(res, 0, x0, 0, -res, y0))
    if units is not None:
        out.attrs["units"] = units
    return out.chunk(chunks) if chunks is not None else out


def s1_inputs(**kw):
    ndvi = grid(np.tile(S1_NDVI, (2, 1)), 10.0, **kw)
    lst = grid([S1_T], 20.0, units="K", **kw)
    return lst, ndvi


S1_ALL_CELLS = {"cv_quantile": 1.0, "min_cells": 3}


def coarse_mean(fine, k):
    """Plain block mean (the test's own oracle, no NaN handling)."""
    ny, nx = fine.shape
    return fine.reshape(ny // k, k, nx // k, k).mean(axis=(1, 3))


# --------------------------------------------------------------------------------------------
# S-1 / S-2 on the kernels
# --------------------------------------------------------------------------------------------


def test_s1_coarse_ndvi_and_count():
    mean, count = block_mean(np.tile(S1_NDVI, (2, 1)), 2)
    np.testing.assert_allclose(mean, [S1_NDVI_C], atol=1e-12)
    np.testing.assert_array_equal(count, [[4, 4, 4]])


def test_s1_fit_a_b_r2():
    mean, cv, count = block_stats(np.tile(S1_NDVI, (2, 1)), 2)
    fit = fit_basis(np.array([S1_T]), mean, cv, count, 2, SharpenSpec(**S1_ALL_CELLS))
    assert fit.a == pytest.approx(S1_A, abs=1e-9)
    assert fit.b == pytest.approx(S1_B, abs=1e-9)
    assert fit.r2 == pytest.approx(S1_R2, abs=1e-12)
    assert fit.n_cells == 3


def test_s1_linreg_residual_and_fine_t():
    ndvi = np.tile(S1_NDVI, (2, 1))
    fit = SharpenFit(a=S1_A, b=S1_B, r2=S1_R2, n_cells=3, cv_threshold=0.5)
    spec = SharpenSpec(correction="linreg")
    t_hat = S1_A + S1_B * ndvi
    residual = coarse_residual(np.array([S1_T]), t_hat, ndvi, 2, fit, spec)
    np.testing.assert_allclose(residual, [S1_RESIDUAL], atol=1e-9)
    fine = sharpen_block(ndvi, np.array([S1_T]), 2, fit, spec)
    np.testing.assert_allclose(fine, np.tile(S1_FINE_T, (2, 1)), atol=1e-9)
    np.testing.assert_allclose(coarse_mean(fine, 2), [S1_T], atol=1e-9)


def test_s2_radiance_residual():
    ndvi = np.tile(S1_NDVI, (2, 1))
    fit = SharpenFit(a=S1_A, b=S1_B, r2=S1_R2, n_cells=3, cv_threshold=0.5)
    t_hat = S1_A + S1_B * ndvi
    residual = coarse_residual(np.array([S1_T]), t_hat, ndvi, 2, fit, SharpenSpec())
    np.testing.assert_allclose(residual, [S2_RESIDUAL], atol=1e-6)


# --------------------------------------------------------------------------------------------
# S-1 / S-2 through sharpen_lst, NumPy and Dask
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [None, {"x": 2}])
def test_s1_sharpen_lst_linreg(chunks):
    lst, ndvi = s1_inputs()
    if chunks:
        lst, ndvi = lst.chunk({"x": 1}), ndvi.chunk(chunks)
    res = sharpen_lst(lst, ndvi, correction="linreg", **S1_ALL_CELLS).compute()
    np.testing.assert_allclose(res.lst.values, np.tile(S1_FINE_T, (2, 1)), atol=1e-9)
    np.testing.assert_allclose(coarse_mean(res.lst.values, 2), [S1_T], atol=1e-9)
    assert float(res.fit.a) == pytest.approx(S1_A, abs=1e-9)
    assert float(res.fit.b) == pytest.approx(S1_B, abs=1e-9)
    assert res.lst.attrs["sharpen_n_cells"] == 3
    assert res.lst.attrs["sharpen_r2"] == pytest.approx(S1_R2, abs=1e-12)


def test_s1_arithmetic_average_equals_linreg_for_ndvi_basis():
    # f = NDVI is linear and the cells are complete: mean(a + b·NDVI_f) = a + b·NDVI_c
    lst, ndvi = s1_inputs()
    res = sharpen_lst(lst, ndvi, correction="average", radiance=False, **S1_ALL_CELLS)
    np.testing.assert_allclose(res.lst.values, np.tile(S1_FINE_T, (2, 1)), atol=1e-9)


def test_s2_default_is_radiance_average():
    lst, ndvi = s1_inputs()
    res = sharpen_lst(lst, ndvi, **S1_ALL_CELLS)
    t_hat = S1_A + S1_B * np.array(S1_NDVI)
    expected = t_hat + np.repeat(S2_RESIDUAL, 2)
    np.testing.assert_allclose(res.lst.values, np.tile(expected, (2, 1)), atol=1e-6)
    assert res.lst.attrs["sharpen_aggregation"] == "T4"
    assert "radiance" in res.lst.attrs["long_name"]


# --------------------------------------------------------------------------------------------
# conservation (property tests)
# --------------------------------------------------------------------------------------------


@st.composite
def fields(draw):
    k = draw(st.integers(2, 4))
    ny, nx = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ndvi = rng.uniform(-0.1, 0.9, (ny * k, nx * k))
    t = rng.uniform(285.0, 325.0, (ny, nx))
    holes = draw(st.booleans())
    if holes:  # some NaN NDVI pixels, never a whole cell
        ndvi[rng.random(ndvi.shape) < 0.15] = np.nan
        ndvi[::k, ::k] = rng.uniform(0.1, 0.9, (ny, nx))
    return k, ndvi, t, draw(st.sampled_from(["ndvi", "tsharp"]))


@settings(max_examples=60, deadline=None)
@given(fields(), st.floats(-30, 30), st.floats(250, 330))
def test_average_correction_conserves_each_coarse_mean(data, b, a):
    k, ndvi, t, basis = data
    spec = SharpenSpec(basis=basis, correction="average", radiance=False)
    fine = sharpen_block(ndvi, t, k, SharpenFit(a, b, math.nan, 0, math.nan), spec)
    valid = np.isfinite(ndvi)
    assert np.array_equal(np.isfinite(fine), valid)
    blocks = np.where(valid, fine, 0.0).reshape(t.shape[0], k, t.shape[1], k)
    means = blocks.sum(axis=(1, 3)) / valid.reshape(blocks.shape).sum(axis=(1, 3))
    np.testing.assert_allclose(means, t, rtol=0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(fields(), st.floats(-30, 30))
def test_radiance_average_conserves_radiance_to_second_order(data, b):
    # T_f = T̂_f + ΔT: the radiance mean is off by about (3/2)·var(T̂_f)·ΔT/T² per cell (expand
    # the 4th-power mean to second order); here var ≤ 15², |ΔT| ≤ 60 K, T ≈ 300 K: < 0.3 K.
    # With b = 0 the cell is uniform, so the correction is exact.
    k, ndvi, t, basis = data
    spec = SharpenSpec(basis=basis)
    fine = sharpen_block(ndvi, t, k, SharpenFit(300.0, b, math.nan, 0, math.nan), spec)
    valid = np.isfinite(ndvi)
    blocks = np.where(valid, fine**4, 0.0).reshape(t.shape[0], k, t.shape[1], k)
    m4 = (blocks.sum(axis=(1, 3)) / valid.reshape(blocks.shape).sum(axis=(1, 3))) ** 0.25
    assert np.all(np.abs(m4 - t) < 0.5)
    fine0 = sharpen_block(ndvi, t, k, SharpenFit(300.0, 0.0, math.nan, 0, math.nan), spec)
    np.testing.assert_allclose(fine0[valid], np.repeat(np.repeat(t, k, 0), k, 1)[valid])


# --------------------------------------------------------------------------------------------
# bases and homogeneous-cell selection
# --------------------------------------------------------------------------------------------


def test_tsharp_basis_by_hand():
    ndvi = np.array([-0.2, 0.125, 0.4625, 0.8, 0.95, np.nan])
    f = tsharp_basis(ndvi, 0.125, 0.8, 0.625)
    # clipped below/above; midpoint: 1 − 0.5^0.625
    expected = [0.0, 0.0, 1.0 - 2.0**-0.625, 1.0, 1.0, np.nan]
    np.testing.assert_allclose(f, expected, atol=1e-12)


def test_cv_quantile_selects_the_homogeneous_cells():
    # 8 cells, factor 2. Cells 0–2 are uniform (CV 0) and lie on T = 300 + 10·NDVI; cells
    # 3–7 are mixed (CV > 0) and off that line. With cv_quantile 0.25 the threshold is the
    # 25th percentile of [0, 0, 0, cv3..cv7] = 0, so only the three lines cells are fitted.
    ndvi = np.zeros((2, 16))
    t = np.zeros((1, 8))
    for c, value in enumerate([0.2, 0.5, 0.8]):
        ndvi[:, 2 * c : 2 * c + 2] = value
        t[0, c] = 300.0 + 10.0 * value
    for c in range(3, 8):
        ndvi[:, 2 * c : 2 * c + 2] = [0.1, 0.3 + 0.1 * (c - 3)]  # mean 0.2 … 0.4
        t[0, c] = 280.0 + c
    mean, cv, count = block_stats(ndvi, 2)
    fit = fit_basis(t, mean, cv, count, 2, SharpenSpec(cv_quantile=0.25, min_cells=3))
    assert (fit.a, fit.b, fit.n_cells) == (pytest.approx(300.0), pytest.approx(10.0), 3)
    assert fit.cv_threshold == 0.0
    # every cell: the mixed ones pull the fit off the line
    fit_all = fit_basis(t, mean, cv, count, 2, SharpenSpec(cv_quantile=1.0, min_cells=3))
    assert fit_all.n_cells == 8 and abs(fit_all.b - 10.0) > 1.0


def test_min_valid_fraction_excludes_partial_cells_from_fit():
    ndvi = np.tile(S1_NDVI, (2, 1))
    ndvi[0, 0] = np.nan  # cell 0 has 3 of 4 fine pixels
    mean, cv, count = block_stats(ndvi, 2)
    spec = SharpenSpec(cv_quantile=1.0, min_cells=2)
    assert fit_basis(np.array([S1_T]), mean, cv, count, 2, spec).n_cells == 2
    spec = SharpenSpec(cv_quantile=1.0, min_cells=2, min_valid_fraction=0.75)
    assert fit_basis(np.array([S1_T]), mean, cv, count, 2, spec).n_cells == 3


# --------------------------------------------------------------------------------------------
# synthetic validation (science.md §4.2: degrade, sharpen back, RMSE)
# --------------------------------------------------------------------------------------------


def synthetic_scene(n=180, k=3, a=320.0, b=-15.0, seed=7):
    """Fine truth T = a + b·NDVI + s, s a smooth analytic field; coarse T its block mean."""
    rng = np.random.default_rng(seed)
    ndvi = rng.uniform(0.05, 0.85, (n, n))
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    smooth = 1.5 * np.sin(2 * np.pi * xx / 60.0) * np.cos(2 * np.pi * yy / 90.0)
    truth = a + b * ndvi + smooth
    return ndvi, truth, coarse_mean(truth, k), smooth


def rmse(x, y):
    return float(np.sqrt(np.mean((x - y) ** 2)))


@pytest.mark.parametrize("chunks", [None, 45])
def test_synthetic_degrade_and_sharpen_back(chunks):
    k, b = 3, -15.0
    ndvi, truth, t_c, smooth = synthetic_scene(k=k, b=b)
    lst = grid(t_c, 30.0, units="K", chunks=chunks)
    res = sharpen_lst(lst, grid(ndvi, 10.0, chunks=chunks), radiance=False).compute()
    b_hat = float(res.fit.b)
    # The smooth field is independent of the random NDVI, so the fit finds b within a few %.
    assert b_hat == pytest.approx(b, rel=0.03)
    # Analytically, with f = NDVI and the arithmetic average correction,
    # T_f = T_c + b̂·(NDVI − NDVI_c), so T_f − T = (b̂ − b)·(NDVI − NDVI_c) + (s_c − s).
    ndvi_dev = ndvi - np.repeat(np.repeat(coarse_mean(ndvi, k), k, 0), k, 1)
    smooth_dev = np.repeat(np.repeat(coarse_mean(smooth, k), k, 0), k, 1) - smooth
    np.testing.assert_allclose(
        res.lst.values - truth, (b_hat - b) * ndvi_dev + smooth_dev, rtol=0, atol=1e-9
    )
    # and the upsamplings miss the sub-pixel term b·(NDVI − NDVI_c) entirely
    nearest = np.repeat(np.repeat(t_c, k, 0), k, 1)
    bilinear = ndimage.zoom(t_c, k, order=1, mode="nearest", grid_mode=True)
    floor = abs(b) * float(np.sqrt(np.mean(ndvi_dev**2)))  # ≈ 3 K
    assert rmse(nearest, truth) > 0.9 * floor
    assert rmse(bilinear, truth) > 0.9 * floor
    assert rmse(res.lst.values, truth) < 0.1 * min(rmse(nearest, truth), rmse(bilinear, truth))


def test_synthetic_default_radiance_and_tsharp_beat_upsampling():
    k = 3
    ndvi, truth, t_c, _ = synthetic_scene(k=k)
    lst, nd = grid(t_c, 30.0, units="K"), grid(ndvi, 10.0)
    nearest = rmse(np.repeat(np.repeat(t_c, k, 0), k, 1), truth)
    assert rmse(sharpen_lst(lst, nd).lst.values, truth) < 0.1 * nearest
    # the truth is linear in NDVI, not in TsHARP's f: better than upsampling, not as good
    tsharp = sharpen_lst(lst, nd, basis="tsharp", ndvi_min=0.0, ndvi_max=0.9)
    assert rmse(tsharp.lst.values, truth) < 0.5 * nearest


# --------------------------------------------------------------------------------------------
# backends, laziness, NaN, crop, dtype, inputs untouched
# --------------------------------------------------------------------------------------------


def random_inputs(seed=3, ny=20, nx=24, k=3):
    rng = np.random.default_rng(seed)
    ndvi = rng.uniform(0.0, 0.9, (ny * k, nx * k))
    ndvi[rng.random(ndvi.shape) < 0.05] = np.nan
    t = 330.0 - 25.0 * coarse_mean(np.nan_to_num(ndvi, nan=0.4), k) + rng.normal(0, 1, (ny, nx))
    t[2, 3] = np.nan
    t[10, :4] = np.nan
    return grid(t, 30.0, units="K"), grid(ndvi, 10.0)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"correction": "linreg"},
        {"basis": "tsharp", "correction": "average", "radiance": False},
        {"basis": "tsharp", "correction": "linreg", "cv_quantile": 0.25},
    ],
)
@pytest.mark.parametrize(("lst_chunks", "ndvi_chunks"), [(7, 21), (None, 25), (8, None)])
def test_numpy_and_dask_agree(options, lst_chunks, ndvi_chunks):
    lst, ndvi = random_inputs()
    eager = sharpen_lst(lst, ndvi, **options)
    lazy_lst = lst.chunk(lst_chunks) if lst_chunks else lst
    lazy_ndvi = ndvi.chunk(ndvi_chunks) if ndvi_chunks else ndvi
    lazy = sharpen_lst(lazy_lst, lazy_ndvi, **options)
    assert isinstance(lazy.lst.data, da.Array)
    got = lazy.compute()
    np.testing.assert_allclose(got.lst.values, eager.lst.values, rtol=1e-12, equal_nan=True)
    assert got.lst.attrs == eager.lst.attrs
    for name in ("a", "b", "r2", "n_cells", "cv_threshold"):
        assert float(got.fit[name]) == pytest.approx(float(eager.fit[name]), rel=1e-12)


def test_dask_is_lazy_and_reads_once_computed():
    lst, ndvi = random_inputs()
    with raise_if_dask_computes():
        res = sharpen_lst(lst.chunk(5), ndvi.chunk(15))
        assert isinstance(res, SharpenResult)
        assert dict(res.lst.sizes) == {"y": 60, "x": 72}
        assert "sharpen_a" not in res.lst.attrs  # the fit is not known yet
        with pytest.raises(ComputeForbidden):
            res.lst.values  # noqa: B018
    assert np.isfinite(res.compute().lst.attrs["sharpen_a"])


def test_nan_propagation():
    lst, ndvi = random_inputs()
    out = sharpen_lst(lst, ndvi).lst.values
    coarse_nan = np.repeat(np.repeat(np.isnan(lst.values), 3, 0), 3, 1)
    assert np.array_equal(np.isnan(out), coarse_nan | np.isnan(ndvi.values))


def test_ndvi_inside_lst_is_cropped():
    lst, ndvi = random_inputs()
    big = grid(np.pad(lst.values, ((2, 1), (3, 4)), constant_values=250.0), 30.0, units="K",
               x0=X0 - 90.0, y0=Y0 + 60.0)  # fmt: skip
    np.testing.assert_array_equal(
        sharpen_lst(big, ndvi).lst.values, sharpen_lst(lst, ndvi).lst.values
    )


def test_output_grid_dtype_and_attrs():
    lst, ndvi = random_inputs()
    lst.attrs["standard_name"] = "surface_temperature"
    res = sharpen_lst(lst.astype(np.float32, keep_attrs=True), ndvi.astype(np.float32))
    assert res.lst.dtype == np.float32
    assert res.lst.odc.geobox == ndvi.odc.geobox
    assert res.lst.attrs["units"] == "K"
    assert res.lst.attrs["standard_name"] == "surface_temperature"
    assert "sharpened 3x" in res.lst.attrs["long_name"]
    assert res.lst.attrs["sharpen_factor"] == 3
    assert sharpen_lst(lst, ndvi).lst.dtype == np.float64


def test_inputs_are_not_modified():
    lst, ndvi = random_inputs()
    before = (lst.copy(deep=True), ndvi.copy(deep=True))
    sharpen_lst(lst, ndvi, basis="tsharp")
    xr.testing.assert_identical(lst, before[0])
    xr.testing.assert_identical(ndvi, before[1])


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ndvi_kw", "match"),
    [
        ({"res": 12.0}, "do not divide"),
        ({"res": 20.0}, "do not divide"),  # 30/20 = 1.5
        ({"res": 30.0}, "do not divide"),  # same grid: factor 1
        ({"res": 10.0, "x0": X0 + 5.0}, "offset"),
        ({"res": 10.0, "y0": Y0 + 30.0}, "beyond"),
        ({"res": 10.0, "shape": (60, 71)}, "whole number"),
    ],
)
def test_grids_that_do_not_nest(ndvi_kw, match):
    lst, _ = random_inputs()
    kw = dict(ndvi_kw)
    shape = kw.pop("shape", (60, 72))
    ndvi = grid(np.full(shape, 0.5), **kw)
    with pytest.raises(GridError, match=match) as info:
        sharpen_lst(lst, ndvi)
    assert "\n" not in str(info.value)


def test_crs_mismatch_and_missing_crs():
    lst, ndvi = random_inputs()
    with pytest.raises(CRSError, match=r"EPSG:32631.*EPSG:32630|reproject"):
        sharpen_lst(lst, grid(ndvi.values, 10.0, crs="EPSG:32630"))
    with pytest.raises(CRSError, match="no CRS"):
        sharpen_lst(lst, grid(ndvi.values, 10.0, crs=None))


@pytest.mark.parametrize("units", [None, "degC", "celsius"])
def test_lst_not_in_kelvin(units):
    lst, ndvi = random_inputs()
    lst.attrs.pop("units")
    if units:
        lst.attrs["units"] = units
    with pytest.raises(SharpenError, match="expected 'K'"):
        sharpen_lst(lst, ndvi)


def test_not_2d():
    lst, ndvi = random_inputs()
    with pytest.raises(GridError, match="2-D"):
        sharpen_lst(lst.expand_dims(band=[1]), ndvi)
    with pytest.raises(TypeError):
        sharpen_lst(lst.values, ndvi)


def test_too_few_homogeneous_cells_numpy_and_dask():
    lst, ndvi = s1_inputs()  # 3 cells
    with pytest.raises(SharpenError, match=r"only 3 homogeneous.*min_cells=10.*cv_quantile"):
        sharpen_lst(lst, ndvi, cv_quantile=1.0)
    lazy = sharpen_lst(lst.chunk(), ndvi.chunk(), cv_quantile=0.5, min_cells=3)
    with pytest.raises(SharpenError, match=r"only 2 homogeneous.*min_cells=3"):  # at compute
        lazy.compute(scheduler="synchronous")
    assert issubclass(SharpenError, IlotsError)


def test_constant_ndvi_cannot_be_fitted():
    lst, _ = random_inputs()
    with pytest.raises(SharpenError, match="same f"):
        sharpen_lst(lst, grid(np.full((60, 72), 0.5), 10.0))


@pytest.mark.parametrize(
    "options",
    [
        {"correction": "linreg", "radiance": True},
        {"cv_quantile": 0.0},
        {"min_cells": 1},
        {"basis": "ndbi"},
        {"ndvi_min": 0.8, "ndvi_max": 0.2},
    ],
)
def test_bad_options(options):
    lst, ndvi = s1_inputs()
    with pytest.raises(ValueError):
        sharpen_lst(lst, ndvi, **options)


def test_compute_passes_scheduler():
    lst, ndvi = s1_inputs()
    res = sharpen_lst(lst.chunk(), ndvi.chunk(), **S1_ALL_CELLS)
    with dask.config.set(scheduler="threads"):
        out = res.compute(scheduler="synchronous")
    assert out.fit_values().n_cells == 3
