"""Tests of raster.composite: per-pixel median / percentiles / n_clear over clear observations.

Oracle: numpy's nanmedian / nanpercentile / nanquantile (the documented definition), and
hand-computed small cases.
"""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from raster.composite import (
    composite_array,
    ndvi_median_composite,
    parse_stat,
    temporal_composite,
)
from tests.conftest import raise_if_dask_computes

F32_RTOL = 2e-7


def cube(n_time=9, ny=6, nx=7, nan_frac=0.4, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(300.0, 4.0, (n_time, ny, nx))
    values[rng.random(values.shape) < nan_frac] = np.nan
    return xr.DataArray(
        values.astype(np.float32),
        dims=("time", "y", "x"),
        coords={
            "time": np.arange(n_time),
            "y": 1000.0 - 30.0 * np.arange(ny),
            "x": 500.0 + 30.0 * np.arange(nx),
            "spatial_ref": 32631,
        },
        name="lst",
        attrs={"units": "K", "long_name": "land surface temperature"},
    )


def test_hand_computed_pixel():
    # clear values 1, 2, 3, 4 (one NaN): median 2.5; P90: h = 0.9 * 3 = 2.7 -> 3 + 0.7 = 3.7
    values = np.array([1.0, np.nan, 4.0, 2.0, 3.0])[:, None, None]
    out = composite_array(values, ("median", "p90", "mean", "p0", "p100"), min_clear=1)
    np.testing.assert_allclose(out["median"][0, 0], 2.5)
    np.testing.assert_allclose(out["p90"][0, 0], 3.7, rtol=F32_RTOL)
    np.testing.assert_allclose(out["mean"][0, 0], 2.5)
    assert out["p0"][0, 0] == 1.0 and out["p100"][0, 0] == 4.0
    assert out["n_clear"][0, 0] == 4 and out["n_clear"].dtype == np.int16


def test_matches_numpy_nanmedian_and_nanpercentile():
    lst = cube()
    x = lst.values.astype(np.float64)
    out = temporal_composite(lst, stats=("median", "p90", "p25", "mean"), min_clear=3)
    n = np.isfinite(x).sum(axis=0)
    keep = n >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = {
            "median": np.nanmedian(x, axis=0),
            "p90": np.nanpercentile(x, 90, axis=0),
            "p25": np.nanquantile(x, 0.25, axis=0),
            "mean": np.nanmean(x, axis=0),
        }
    for name, ref in expected.items():
        got = out[name].values
        assert got.dtype == np.float32
        np.testing.assert_allclose(got[keep], ref[keep], rtol=F32_RTOL)
        assert np.isnan(got[~keep]).all()
    np.testing.assert_array_equal(out["n_clear"].values, n)
    assert out["n_clear"].dtype == np.int16
    assert keep.any() and (~keep).any()  # the data exercise both sides of min_clear


def test_min_clear_edges():
    # pixel a: 3 clear values; b: 2; c: none; d: 1
    x = np.full((4, 1, 4), np.nan)
    x[:3, 0, 0] = [10.0, 30.0, 20.0]
    x[:2, 0, 1] = [5.0, 7.0]
    x[0, 0, 3] = 42.0
    three = composite_array(x, min_clear=3)
    assert three["median"][0, 0] == 20.0
    assert np.isnan(three["median"][0, 1:]).all() and np.isnan(three["p90"][0, 1:]).all()
    np.testing.assert_array_equal(three["n_clear"][0], [3, 2, 0, 1])
    two = composite_array(x, min_clear=2)
    assert two["median"][0, 1] == 6.0 and np.isnan(two["median"][0, 2:]).all()
    one = composite_array(x, min_clear=1)
    assert one["median"][0, 3] == one["p90"][0, 3] == 42.0  # a single value is every quantile
    assert np.isnan(one["median"][0, 2])  # no observation: NaN whatever min_clear


def test_inf_is_not_clear_and_ints_work():
    x = np.array([[1.0], [np.inf], [-np.inf], [3.0]])
    out = composite_array(x, min_clear=1)
    assert out["n_clear"][0] == 2 and out["median"][0] == 2.0
    ints = composite_array(np.array([[1], [2], [4]], dtype=np.int16), min_clear=1)
    assert ints["median"][0] == 2.0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_bad_min_clear(bad):
    with pytest.raises(ValueError, match="min_clear"):
        temporal_composite(cube(), min_clear=bad)


@pytest.mark.parametrize("stats", [("max",), ("p101",), ("median", "median"), (), ("n_clear",)])
def test_bad_stats(stats):
    with pytest.raises(ValueError):
        temporal_composite(cube(), stats=stats)


def test_stats_as_one_comma_separated_string():
    # As zonal_stats and compute_indices take them; "median,p90" was an unknown statistic.
    listed = temporal_composite(cube(), stats=["median", "p90"], min_clear=1)
    joined = temporal_composite(cube(), stats="median, p90", min_clear=1)
    xr.testing.assert_identical(joined, listed)
    with pytest.raises(ValueError):
        temporal_composite(cube(), stats="median,median")


def test_parse_stat():
    assert parse_stat("median") == 0.5
    assert parse_stat("p90") == 0.9
    assert parse_stat("p97.5") == pytest.approx(0.975)
    assert parse_stat("mean") < 0


def test_missing_dim_and_type():
    with pytest.raises(ValueError, match="dimension 'date'"):
        temporal_composite(cube(), dim="date")
    with pytest.raises(TypeError):
        temporal_composite(cube().values)


def test_dataset_layout_and_attrs():
    out = temporal_composite(cube(), min_clear=2)
    assert set(out.data_vars) == {"median", "p90", "n_clear"}
    assert out["median"].dims == ("y", "x")
    assert "time" not in out.coords and "spatial_ref" in out.coords
    assert out["p90"].attrs["units"] == "K"
    assert "90th percentile" in out["p90"].attrs["long_name"]
    assert out.attrs["min_clear"] == 2 and out.attrs["n_dates"] == 9
    assert "linear" in out.attrs["quantile_method"]


def test_time_not_first_dimension():
    lst = cube()
    moved = temporal_composite(lst.transpose("y", "time", "x"))
    xr.testing.assert_identical(moved, temporal_composite(lst))


def test_dask_equals_numpy_and_keeps_spatial_chunks():
    lst = cube(n_time=12, ny=10, nx=9, seed=3)
    eager = temporal_composite(lst, stats=("median", "p90", "mean"))
    lazy = temporal_composite(
        lst.chunk({"time": 1, "y": 4, "x": 5}), stats=("median", "p90", "mean")
    )
    assert lazy["median"].chunks == ((4, 4, 2), (5, 4))
    xr.testing.assert_identical(lazy.compute(), eager)


def test_laziness():
    lst = cube().chunk({"time": 1, "y": 3})
    with raise_if_dask_computes():
        out = temporal_composite(lst)
        for var in out.data_vars.values():
            assert isinstance(var.data, da.Array)
        # one graph: the statistics and the count share the composite task
        assert out["median"].data.name != out["p90"].data.name


def test_ndvi_median_composite_from_two_sensors():
    s2 = cube(n_time=4, seed=1).rename("ndvi") / 400.0
    landsat = cube(n_time=3, seed=2).rename("ndvi") / 400.0
    landsat = landsat.assign_coords(time=np.arange(10, 13))
    out = ndvi_median_composite(s2, landsat, min_clear=2)
    both = np.concatenate([s2.values, landsat.values]).astype(np.float64)
    n = np.isfinite(both).sum(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(both, axis=0)
    keep = n >= 2
    np.testing.assert_allclose(out["median"].values[keep], ref[keep], rtol=1e-6)
    np.testing.assert_array_equal(out["n_clear"].values, n)
    assert out.attrs["sources"] == 2
    lazy = ndvi_median_composite(s2.chunk({"time": 1}), landsat.chunk({"time": 1}), min_clear=2)
    xr.testing.assert_identical(lazy.compute(), out)


def test_ndvi_composite_refuses_other_grids():
    s2 = cube(n_time=2)
    shifted = s2.assign_coords(x=s2.x + 10.0)
    with pytest.raises(ValueError, match="same grid"):
        ndvi_median_composite(s2, shifted)
    with pytest.raises(ValueError, match="at least one"):
        ndvi_median_composite()


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 4)),
        elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6, allow_nan=False)),
    ),
    st.integers(0, 1000),
)
def test_property_matches_nanquantile(values, tenths):
    name = f"p{tenths / 10:g}"
    q = float(name[1:]) / 100.0
    out = composite_array(values, (name, "median"), min_clear=1)
    n = np.isfinite(values).sum(0)
    for j in range(values.shape[1]):
        if n[j] == 0:
            assert np.isnan(out["median"][j])
            continue
        col = values[:, j]
        np.testing.assert_allclose(
            out[name][j], np.float32(np.nanquantile(col, q)), rtol=1e-6, atol=1e-6
        )
        lo, hi = np.float32(np.nanmin(col)), np.float32(np.nanmax(col))
        assert lo <= out["median"][j] <= hi


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_time=st.integers(1, 40),
    n_pix=st.integers(1, 2100),
    clear=st.floats(0.0, 1.0),
    ties=st.booleans(),
    chunks=st.sampled_from([None, (1, 7, 300)]),
)
def test_every_pixel_is_numpys_nanquantile_and_date_order_mean(
    seed, n_time, n_pix, clear, ties, chunks
):
    # Pixels across several blocks of the kernel, any number of dates, NaN and +-inf not
    # clear, tied values: each statistic is numpy's float64 answer rounded to float32, bit
    # for bit (the mean: the clear values added in date order), on NumPy and Dask inputs.
    rng = np.random.default_rng(seed)
    values = rng.normal(300.0, 4.0, (n_time, 3, n_pix))
    if ties:
        values = np.round(values)
    values[rng.random(values.shape) > clear] = np.nan
    values[rng.random(values.shape) < 0.02] = np.inf
    values[rng.random(values.shape) < 0.02] = -np.inf
    values = values.astype(np.float32)
    data = xr.DataArray(values, dims=("time", "y", "x"))
    if chunks is not None:
        data = data.chunk(dict(zip(("time", "y", "x"), chunks, strict=True)))
    stats = ("median", "p90", "p2.5", "mean")
    out = temporal_composite(data, stats=stats, min_clear=1).compute()
    x = values.astype(np.float64)
    x[~np.isfinite(x)] = np.nan
    n = np.isfinite(x).sum(axis=0)
    np.testing.assert_array_equal(out["n_clear"].values, n)
    has = n > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, q in (("median", 0.5), ("p90", 0.9), ("p2.5", 0.025)):
            expected = np.nanquantile(x, q, axis=0, method="linear").astype(np.float32)
            np.testing.assert_array_equal(out[name].values[has], expected[has])
    total = np.zeros(n.shape)
    for scene in x:  # in date order
        total += np.where(np.isnan(scene), 0.0, scene)
    mean = (total[has] / n[has]).astype(np.float32)
    np.testing.assert_array_equal(out["mean"].values[has], mean)
    for name in stats:
        assert np.isnan(out[name].values[~has]).all()


def test_cell_methods_use_the_cf_names_where_there_is_one():
    """CF Appendix E has mean and median; a percentile keeps the quantile it is."""
    from raster.composite import statistic_attrs

    methods = {stat: statistic_attrs({"units": "K"}, "lst", stat)["cell_methods"]
               for stat in ("mean", "median", "p50", "p90")}  # fmt: skip
    assert methods == {"mean": "time: mean", "median": "time: median", "p50": "time: median",
                       "p90": "time: quantile 0.9"}  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_dates", [3, 6, 9])
def test_quantiles_equal_numpy_s_bit_for_bit(dtype, n_dates):
    """Every statistic is numpy's nanquantile of the pixel's values in float64, rounded to
    float32 once: the same virtual index (n - 1)·q, not only within a tolerance (with
    n·q + (1 - q) - 1, equal in exact arithmetic, dozens of these P95s were a step off)."""
    rng = np.random.default_rng(n_dates)
    values = rng.uniform(250.0, 330.0, size=(n_dates, 100, 100)).astype(dtype)
    if n_dates == 9:
        values[rng.random(values.shape) < 0.3] = np.nan
    stats = ("median", "p90", "p10", "p25", "p33.3", "p75", "p95")
    out = composite_array(values, stats, min_clear=1)
    x = values.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, q in zip(stats, (0.5, 0.9, 0.1, 0.25, 0.333, 0.75, 0.95), strict=True):
            expected = np.nanquantile(x, q, axis=0).astype(np.float32)
            np.testing.assert_array_equal(out[name], expected, err_msg=name)
