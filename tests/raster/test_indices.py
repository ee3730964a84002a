"""Tests of raster.indices: science.md §9.5 vectors, spyndex as an oracle, NumPy vs Dask."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import spyndex
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from raster import indices
from raster.bands import LANDSAT_C2_L2
from raster.indices import (
    INDICES,
    IndexSpec,
    albedo_liang_oli,
    albedo_s2,
    compute_index,
    compute_indices,
    ibi,
    index_names,
    mndwi,
    ndbi,
    ndvi,
    ndwi,
    savi,
    ui,
)
from tiles.errors import BandMissingError, IlotsError, ProductError

RTOL = 1e-9  # science.md §9: float64 vectors
F32_RTOL = 1.2e-7  # float32 results: one rounding of the float64 value

# science.md §9.5 inputs: S2 reflectances
B02, B03, B04, B08, B11, B12 = 0.05, 0.08, 0.06, 0.30, 0.20, 0.12

# (kernel, arguments, expected) — expected values copied from science.md §9.5
SHEET_VECTORS = {
    "I-1 ndvi": (ndvi, (B04, B08), 0.6666666667),
    "I-2 ndbi": (ndbi, (B11, B08), -0.2),
    "I-3 ndwi": (ndwi, (B03, B08), -0.5789473684),
    "I-4 mndwi": (mndwi, (B03, B11), -0.4285714286),
    "I-5 savi": (savi, (B04, B08), 0.4186046512),
    "I-6 ibi": (ibi, (B03, B04, B08, B11), -0.1662531017),
    "I-7 ui": (ui, (B12, B08), -0.4285714286),
    "I-8 albedo_liang": (albedo_liang_oli, (B02, B04, B08, B11, B12), 0.16134),
}


def check(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------
# kernels: sheet vectors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", list(SHEET_VECTORS))
def test_sheet_vectors_float64(vector):
    kernel, args, expected = SHEET_VECTORS[vector]
    # The sheet prints 10 significant digits, so 1e-9 relative is what the literals carry.
    check(kernel(*args, dtype=np.float64), expected, rtol=RTOL)


@pytest.mark.parametrize("vector", list(SHEET_VECTORS))
def test_sheet_vectors_default_float32(vector):
    kernel, args, expected = SHEET_VECTORS[vector]
    out = kernel(*args)
    assert out.dtype == np.float32
    check(out, expected, rtol=F32_RTOL)


def test_i9_zero_denominator_is_nan():
    assert np.isnan(ndvi(0.0, 0.0))


def test_i6_ibi_band_form_not_index_form():
    # the index form [NDBI - (SAVI+MNDWI)/2]/[NDBI + (SAVI+MNDWI)/2] gives 0.951 (§3.4)
    out = ibi(B03, B04, B08, B11, dtype=np.float64)
    assert abs(out - 0.951) > 1.0


def test_l2_5_ndvi_from_scaled_dn():
    spec = LANDSAT_C2_L2["red"]
    red = 10000 * spec.scale + spec.offset
    nir = 30000 * LANDSAT_C2_L2["nir08"].scale + LANDSAT_C2_L2["nir08"].offset
    check(ndvi(red, nir, dtype=np.float64), 0.7857142857)
    # the "forgot the offset" bug value
    assert abs(float(ndvi(10000 * spec.scale, 30000 * spec.scale)) - 0.5) < 1e-6
    assert abs(float(ndvi(red, nir)) - 0.5) > 0.2


def test_albedo_s2_formula():
    expected = 0.2266 * B02 + 0.1236 * B03 + 0.1573 * B04 + 0.3417 * B08 + 0.1170 * B11
    expected += 0.0338 * B12
    check(albedo_s2(B02, B03, B04, B08, B11, B12, dtype=np.float64), expected)


def test_albedo_liang_coefficients_are_a_parameter():
    smith = tuple(c / 1.016 for c in indices.LIANG_OLI_COEFFICIENTS)
    check(
        albedo_liang_oli(B02, B04, B08, B11, B12, coefficients=smith, dtype=np.float64),
        0.16134 / 1.016,
    )
    with pytest.raises(ValueError, match="coefficients"):
        albedo_liang_oli(B02, B04, B08, B11, B12, coefficients=(0.1, 0.2))


def test_savi_l_parameter():
    check(savi(B04, B08, L=0.0, dtype=np.float64), ndvi(B04, B08, dtype=np.float64))
    check(savi(B04, B08, L=1.0, dtype=np.float64), 2 * 0.24 / 1.36)


# --------------------------------------------------------------------------------------------
# kernels: NaN, zero denominators, no inf, no warnings, no mutation, dtype
# --------------------------------------------------------------------------------------------

TWO_BAND = [ndvi, ndbi, mndwi, ndwi, savi, ui]


@pytest.mark.parametrize("kernel", TWO_BAND)
def test_zero_and_nan_give_nan_without_warning(kernel):
    a = np.array([0.0, np.nan, 0.2, 0.1, -0.25, np.inf])
    b = np.array([0.0, 0.3, np.nan, -0.1, -0.25, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = kernel(a, b)
    assert out.dtype == np.float32
    assert not np.isinf(out).any()
    assert np.isnan(out[1]) and np.isnan(out[2])
    if kernel is not savi:  # savi's denominator has + L
        assert np.isnan(out[0]) and np.isnan(out[4])  # both 0, or both negative: 0 / 0
        assert abs(out[3]) == 1  # -0.1 counts as 0: (0.1 - 0) / (0.1 + 0)
    assert np.isnan(out[5])  # inf input


ND_KERNELS = [ndvi, ndbi, mndwi, ndwi, ui]


def test_a_negative_reflectance_counts_as_zero_in_a_normalized_difference():
    """A real Landsat water pixel (Arcachon, SR red 0.008395, NIR -0.0084075 after the L2
    offset of -0.2): its NDVI was (-0.0084075 - 0.008395) / (-0.0000125) = 1344."""
    assert ndvi(np.float32(0.008395), np.float32(-0.0084075)) == -1.0  # (0 - r) / (0 + r)
    assert ndvi(-0.01, 0.3, dtype=np.float64) == 1.0
    assert mndwi(0.05, -0.02, dtype=np.float64) == 1.0  # green over SWIR below 0: water
    check(ndvi(0.1, 0.3, dtype=np.float64), 0.5)  # non-negative inputs: unchanged


@pytest.mark.parametrize("kernel", ND_KERNELS)
def test_normalized_differences_stay_within_minus_one_and_one(kernel):
    rng = np.random.default_rng(7)
    a, b = rng.uniform(-0.2, 1.6, (2, 100_000))  # the L2 range: DN 1..65535 * 2.75e-5 - 0.2
    out = kernel(a, b, dtype=np.float64)
    finite = np.isfinite(out)
    assert finite.mean() > 0.9 and (np.abs(out[finite]) <= 1).all()
    both = (a < 0) & (b < 0)
    assert np.isnan(out[both]).all() and not np.isnan(out[~both]).any()


def test_savi_zero_denominator():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(savi(-0.25, -0.25))


def test_ibi_and_albedo_nan_without_warning():
    zeros = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ibi(zeros, zeros, zeros, zeros)).all()
        out = albedo_liang_oli(zeros, zeros, np.array([np.nan, 0.1, np.inf]), zeros, zeros)
    assert np.isnan(out[0]) and np.isfinite(out[1]) and np.isnan(out[2])


def test_kernels_do_not_mutate_inputs():
    red = np.array([0.0, 0.1, np.nan], dtype=np.float64)
    nir = np.array([0.0, 0.4, 0.2], dtype=np.float32)
    red0, nir0 = red.copy(), nir.copy()
    out = ndvi(red, nir, dtype=np.float64)
    np.testing.assert_array_equal(red, red0)
    np.testing.assert_array_equal(nir, nir0)
    assert out is not red and not np.shares_memory(out, red)


def test_broadcasting_and_shape():
    red = np.full((2, 3), 0.1)
    out = ndvi(red, np.array([0.2, 0.3, 0.4]))
    assert out.shape == (2, 3)


def test_integer_arrays_are_refused():
    with pytest.raises(TypeError, match="raw DN"):
        ndvi(np.array([10000], dtype=np.uint16), np.array([30000], dtype=np.uint16))


def test_dtype_must_be_float():
    with pytest.raises(ValueError, match="floating"):
        ndvi(0.1, 0.2, dtype=np.int32)


# --------------------------------------------------------------------------------------------
# spyndex as an independent oracle
# --------------------------------------------------------------------------------------------

reflectance = st.floats(min_value=0.0, max_value=1.0, exclude_min=True, allow_subnormal=False)
refl_arrays = arrays(np.float64, st.integers(1, 20), elements=reflectance)

SPYNDEX = {
    # index: (our kernel, spyndex name, spyndex parameter names in our argument order)
    "ndvi": (ndvi, "NDVI", ("R", "N")),
    "ndbi": (ndbi, "NDBI", ("S1", "N")),
    "mndwi": (mndwi, "MNDWI", ("G", "S1")),
    "ndwi": (ndwi, "NDWI", ("G", "N")),
    "ui": (ui, "UI", ("S2", "N")),
}


def test_spyndex_band_letters_are_what_we_assume():
    assert set(spyndex.indices["NDVI"].bands) == {"N", "R"}
    assert set(spyndex.indices["NDBI"].bands) == {"S1", "N"}
    assert set(spyndex.indices["MNDWI"].bands) == {"G", "S1"}
    assert set(spyndex.indices["NDWI"].bands) == {"G", "N"}
    assert set(spyndex.indices["SAVI"].bands) == {"L", "N", "R"}
    assert set(spyndex.indices["UI"].bands) == {"S2", "N"}


@pytest.mark.parametrize("name", list(SPYNDEX))
@settings(max_examples=40, deadline=None)
@given(a=refl_arrays, b=refl_arrays)
def test_matches_spyndex(name, a, b):
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    kernel, sp_name, letters = SPYNDEX[name]
    expected = np.asarray(
        spyndex.computeIndex(sp_name, params={letters[0]: a, letters[1]: b}), dtype=np.float64
    )
    check(kernel(a, b, dtype=np.float64), expected, rtol=1e-12, atol=1e-15)
    check(kernel(a, b), expected, rtol=F32_RTOL, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    red=refl_arrays,
    nir=refl_arrays,
    L=st.sampled_from([0.25, 0.5, 1.0]),
)
def test_savi_matches_spyndex(red, nir, L):
    n = min(red.size, nir.size)
    red, nir = red[:n], nir[:n]
    expected = np.asarray(
        spyndex.computeIndex("SAVI", params={"R": red, "N": nir, "L": L}), dtype=np.float64
    )
    check(savi(red, nir, L=L, dtype=np.float64), expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.integers(1, 16),
        elements=st.one_of(
            st.floats(-1.0, 1.0, allow_subnormal=False), st.just(0.0), st.just(np.nan)
        ),
    )
)
def test_never_inf_and_float32_is_rounded_float64(values):
    for kernel in TWO_BAND:
        out = kernel(values, values[::-1])
        assert not np.isinf(out).any()
        np.testing.assert_array_equal(
            out, kernel(values, values[::-1], dtype=np.float64).astype(np.float32)
        )


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


def test_registry_names():
    assert index_names() == tuple(INDICES)
    assert set(INDICES) >= {"ndvi", "ndbi", "mndwi", "ndwi", "savi", "ibi", "ui"}
    assert {"albedo_liang", "albedo_s2"} <= set(INDICES)


def test_bands_per_sensor():
    assert INDICES["ndvi"].bands_for("sentinel-2-l2a") == {"red": "red", "nir": "nir"}
    assert INDICES["ndvi"].bands_for("landsat-c2-l2") == {"red": "red", "nir": "nir08"}
    assert INDICES["ndbi"].bands_for("sentinel-2-l2a") == {"swir16": "swir16", "nir": "nir08"}
    assert INDICES["ui"].bands_for("landsat-c2-l2") == {"swir22": "swir22", "nir": "nir08"}
    assert INDICES["albedo_s2"].bands_for("landsat-c2-l2") is None


def test_index_spec_validation():
    with pytest.raises(ValueError, match="lower-case"):
        IndexSpec("NDVI", "x", ndvi, (("red", ("red",)),), "f", "r")
    with pytest.raises(ValueError, match="at least one band"):
        IndexSpec("x", "x", ndvi, (("red", ()),), "f", "r")


# --------------------------------------------------------------------------------------------
# Dataset wrappers
# --------------------------------------------------------------------------------------------


def sheet_dataset(**extra):
    bands = {"blue": B02, "green": B03, "red": B04, "nir": B08, "swir16": B11, "swir22": B12}
    bands.update(extra)
    coords = {"y": [10.0, 20.0], "x": [1.0, 2.0, 3.0]}
    return xr.Dataset(
        {k: (("y", "x"), np.full((2, 3), v)) for k, v in bands.items()}, coords=coords
    )


WRAPPER_EXPECTED = {
    "ndvi": 0.6666666667,
    "ndbi": -0.2,
    "ndwi": -0.5789473684,
    "mndwi": -0.4285714286,
    "savi": 0.4186046512,
    "ibi": -0.1662531017,
    "ui": -0.4285714286,
    "albedo_liang": 0.16134,
}


@pytest.mark.parametrize("name", list(WRAPPER_EXPECTED))
def test_compute_index_sheet_vectors(name):
    out = compute_index(sheet_dataset(), name)
    assert out.dtype == np.float32
    assert out.name == name
    assert out.dims == ("y", "x")
    np.testing.assert_array_equal(out["x"].values, [1.0, 2.0, 3.0])
    check(out.values, np.full((2, 3), WRAPPER_EXPECTED[name]), rtol=F32_RTOL)
    assert out.attrs["units"] == "1"
    assert out.attrs["long_name"]
    assert out.attrs["formula"]


def test_compute_index_attrs():
    nd = compute_index(sheet_dataset(), "NDVI")  # case-insensitive
    assert nd.attrs["standard_name"] == "normalized_difference_vegetation_index"
    assert nd.attrs["ilots:bands"] == "red=red, nir=nir"
    alb = compute_index(sheet_dataset(), "albedo_liang")
    assert alb.attrs["standard_name"] == "surface_albedo"
    assert "standard_name" not in compute_index(sheet_dataset(), "ndbi").attrs
    assert "[U]" in compute_index(sheet_dataset(), "albedo_s2").attrs["comment"]


def test_savi_parameter_through_wrapper():
    out = compute_index(sheet_dataset(), "savi", L=1.0)
    check(out.values[0, 0], 2 * 0.24 / 1.36, rtol=F32_RTOL)
    assert "L = 1.0" in out.attrs["formula"]
    with pytest.raises(TypeError):
        compute_index(sheet_dataset().chunk(), "ndvi", L=1.0)  # raised at build time


def test_nir_choice_sentinel2_with_both_nirs():
    ds = sheet_dataset(nir08=0.40)  # B8A differs from B08
    assert compute_index(ds, "ndvi").attrs["ilots:bands"] == "red=red, nir=nir"
    check(compute_index(ds, "ndvi").values[0, 0], (0.30 - 0.06) / 0.36, rtol=F32_RTOL)
    check(compute_index(ds, "ndwi").values[0, 0], (0.08 - 0.30) / 0.38, rtol=F32_RTOL)
    check(compute_index(ds, "savi").values[0, 0], 1.5 * 0.24 / 0.86, rtol=F32_RTOL)
    # NDBI and UI use B8A (the OLI B5 match)
    check(compute_index(ds, "ndbi").values[0, 0], (0.20 - 0.40) / 0.60, rtol=F32_RTOL)
    check(compute_index(ds, "ui").values[0, 0], (0.12 - 0.40) / 0.52, rtol=F32_RTOL)
    assert compute_index(ds, "ndbi").attrs["ilots:bands"] == "swir16=swir16, nir=nir08"


def test_nir_choice_landsat_uses_nir08():
    ds = sheet_dataset().rename({"nir": "nir08"})
    check(compute_index(ds, "ndvi").values, np.full((2, 3), 0.6666666667), rtol=F32_RTOL)
    check(compute_index(ds, "ndbi").values, np.full((2, 3), -0.2), rtol=F32_RTOL)


def test_missing_band_error_names_index_band_and_present():
    ds = sheet_dataset().drop_vars("swir16")
    with pytest.raises(BandMissingError) as info:
        compute_index(ds, "ndbi")
    msg = str(info.value)
    assert "'ndbi'" in msg and "'swir16'" in msg
    for present in ("blue", "green", "red", "nir", "swir22"):
        assert present in msg
    assert isinstance(info.value, IlotsError) and isinstance(info.value, KeyError)


def test_missing_nir_names_both_candidates():
    ds = sheet_dataset().drop_vars("nir")
    with pytest.raises(BandMissingError, match="'nir' or 'nir08'"):
        compute_index(ds, "ndvi")


def test_albedo_s2_needs_b08():
    ds = sheet_dataset().rename({"nir": "nir08"})
    with pytest.raises(BandMissingError, match="'nir'"):
        compute_index(ds, "albedo_s2")


def test_unknown_index_lists_known_names():
    with pytest.raises(ValueError, match="unknown index 'evi'") as info:
        compute_index(sheet_dataset(), "evi")
    for name in INDICES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown index"):
        compute_indices(sheet_dataset(), "ndvi,foo")
    with pytest.raises(ValueError, match="no index name"):
        compute_indices(sheet_dataset(), [])


def test_integer_band_is_refused():
    ds = sheet_dataset()
    ds["red"] = ds["red"].astype(np.uint16)
    with pytest.raises(ProductError, match="raw DN"):
        compute_index(ds, "ndvi")


def test_compute_indices_dataset():
    ds = sheet_dataset()
    ds.attrs["title"] = "demo"
    out = compute_indices(ds, "ndvi, ndbi,ndvi")
    assert list(out.data_vars) == ["ndvi", "ndbi"]
    assert out.attrs["title"] == "demo"
    check(out["ndbi"].values, np.full((2, 3), -0.2), rtol=F32_RTOL)
    with pytest.raises(BandMissingError):
        compute_indices(ds.drop_vars("green"), ["ndvi", "mndwi"])


def random_dataset(seed=0, chunks=None):
    rng = np.random.default_rng(seed)
    shape = (2, 6, 8)
    bands = {}
    for name in ("blue", "green", "red", "nir", "nir08", "swir16", "swir22"):
        values = rng.uniform(0.0, 0.6, shape).astype(np.float32)
        values[0, 0, :3] = np.nan
        values[1, 2, 2] = 0.0
        bands[name] = (("time", "y", "x"), values)
    bands["nir"][1][1, 2, 2] = 0.0  # a zero NDVI denominator
    ds = xr.Dataset(
        bands,
        coords={
            "time": np.array(["2023-07-01", "2023-07-17"], dtype="datetime64[ns]"),
            "y": np.arange(6) * -30.0,
            "x": np.arange(8) * 30.0,
            "spatial_ref": 0,
        },
    )
    return ds.chunk(chunks) if chunks else ds


@pytest.mark.parametrize("name", list(INDICES))
def test_numpy_and_dask_identical(name):
    eager = compute_index(random_dataset(), name)
    lazy = compute_index(random_dataset(chunks={"time": 1, "y": 3, "x": 4}), name)
    assert isinstance(lazy.data, da.Array)
    assert lazy.dtype == np.float32 == eager.dtype
    assert lazy.attrs == eager.attrs
    computed = lazy.compute()
    np.testing.assert_array_equal(computed.values, eager.values)
    xr.testing.assert_identical(computed, eager)
    assert "spatial_ref" in eager.coords


def test_zero_denominator_in_dataset_is_nan():
    out = compute_index(random_dataset(), "ndvi").values
    assert np.isnan(out[1, 2, 2])
    assert np.isnan(out[0, 0, :3]).all()
    assert not np.isinf(out).any()


def test_wrappers_are_lazy(no_compute):
    ds = random_dataset(chunks={"y": 3})
    out = compute_indices(ds, list(INDICES))
    for var in out.data_vars.values():
        assert isinstance(var.data, da.Array)
        assert var.dtype == np.float32


def test_wrapper_does_not_mutate_dataset():
    ds = random_dataset()
    before = ds.copy(deep=True)
    compute_indices(ds, list(INDICES))
    xr.testing.assert_identical(ds, before)
