"""Tests of raster.thermal: science.md §9.1, §9.3, §9.4, §9.7 (U-1, Zs-1) and the wrappers."""

from __future__ import annotations

import dataclasses
import json
import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from raster.bands import LANDSAT_C2_L2, band_table
from raster.indices import ndvi
from raster.sources import LandsatMetadata, band_scaling, landsat_metadata, parse_mtl, read_mtl
from raster.thermal import (
    DU2015_CWV_COEFFICIENTS,
    L8_B10,
    L8_B11,
    L9_B10,
    L9_B11,
    ThermalConstants,
    atmospheric_functions,
    brightness_temperature,
    emissivity_ndvi_threshold,
    lst_level1,
    lst_single_band,
    lst_single_channel,
    lst_split_window_du2015,
    lst_split_window_jm2014,
    planck_linearisation,
    radiance_from_bt,
    radiance_from_dn,
    rte_blackbody_radiance,
    rte_surface_temperature,
    scene_utfvi,
    scene_zscore,
    surface_temperature_l2,
    utfvi,
    vegetation_proportion,
    zscore,
)
from tiles.errors import BandMissingError, IlotsWarning, MetadataError, ProductError

RTOL = 1e-9
F32_RTOL = 1.2e-7
F64 = np.float64


def check(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual, dtype=F64), expected, rtol=rtol, atol=atol)


def scale(dn, spec):
    """Kernel arithmetic of the loader: DN*scale + offset, NaN at the fill value."""
    dn = np.asarray(dn, dtype=F64)
    return np.where(dn == spec.nodata, np.nan, dn * spec.scale + spec.offset)


# --------------------------------------------------------------------------------------------
# §9.1 Landsat L2 scaling (band-table defaults), RTE recompute
# --------------------------------------------------------------------------------------------


def test_l2_1_st_b10():
    k = scale(44000, LANDSAT_C2_L2["lwir11"])
    check(k, 299.39288)
    check(k - 273.15, 26.24288)


def test_l2_2_st_b10_range_matches_mtl():
    check(scale([1, 65535], LANDSAT_C2_L2["lwir11"]), [149.00341802, 372.9999407])
    check(scale([1, 65535], LANDSAT_C2_L2["lwir11"]), [149.003418, 372.999941], rtol=1e-8)


def test_l2_3_st_b10_fill():
    assert np.isnan(scale(0, LANDSAT_C2_L2["lwir11"]))


def test_l2_4_sr_scaling():
    got = scale([1, 7273, 10000, 30000, 43636, 65535], LANDSAT_C2_L2["red"])
    check(got, [-0.1999725, 7.5e-06, 0.075, 0.625, 0.99999, 1.6022125], rtol=RTOL, atol=1e-15)


def test_l2_6_st_qa_and_emis():
    check(scale(150, LANDSAT_C2_L2["st_qa"]), 1.50)
    check(scale(9700, LANDSAT_C2_L2["st_emis"]), 0.97)
    assert np.isnan(scale(-9999, LANDSAT_C2_L2["st_qa"]))


def test_l2_7_rte_recompute():
    args = (10.0, 1.5, 2.5, 0.85, 0.97)
    # the sheet prints 7 and 5 decimals: tolerance is half a unit of the last printed digit
    check(rte_blackbody_radiance(*args, dtype=F64), 10.2319588, rtol=0, atol=5e-8)
    check(
        rte_surface_temperature(*args, L8_B10.k1, L8_B10.k2, dtype=F64),
        304.37382,
        rtol=0,
        atol=5e-6,
    )
    assert rte_surface_temperature(*args, L8_B10.k1, L8_B10.k2).dtype == np.float32


def test_rte_invalid_denominator_is_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rte_surface_temperature(10.0, 1.5, 2.5, np.array([0.0, 0.85]), 0.97, 774.9, 1321.1)
    assert np.isnan(out[0]) and np.isfinite(out[1])


# --------------------------------------------------------------------------------------------
# §9.3 brightness temperature
# --------------------------------------------------------------------------------------------

B_VECTORS = {
    "B-1 L8 B10": (L8_B10, 25000, 8.455, 291.7055749086),
    "B-2 L8 B10": (L8_B10, 30000, 10.126, 303.6549920662),
    "B-3 L8 B11": (L8_B11, 30000, 10.126, 309.4642268398),
    "B-4 L9 B10": (L9_B10, 30000, 11.5, 312.3700349470),
    "B-5 L9 B11": (L9_B11, 30000, 10.57, 312.9946270041),
}


@pytest.mark.parametrize("vector", list(B_VECTORS))
def test_brightness_temperature_vectors(vector):
    constants, dn, radiance, bt = B_VECTORS[vector]
    rad = radiance_from_dn(dn, constants.mult, constants.add, dtype=F64)
    check(rad, radiance)
    check(brightness_temperature(rad, constants.k1, constants.k2, dtype=F64), bt)
    check(constants.brightness_temperature(constants.radiance(dn, dtype=F64), dtype=F64), bt)
    out = brightness_temperature(rad, constants.k1, constants.k2)
    assert out.dtype == np.float32
    check(out, bt, rtol=F32_RTOL)


def test_b6_inverse():
    check(radiance_from_bt(300.0, L8_B10.k1, L8_B10.k2, dtype=F64), 9.5967777699)
    check(brightness_temperature(9.5967777699, L8_B10.k1, L8_B10.k2, dtype=F64), 300.0)
    t = np.linspace(250.0, 340.0, 7)
    check(
        brightness_temperature(
            radiance_from_bt(t, 799.0, 1329.0, dtype=F64), 799.0, 1329.0, dtype=F64
        ),
        t,
    )


def test_wrong_constant_guards_for_l9():
    dn = 30000
    correct = brightness_temperature(
        L9_B10.radiance(dn, dtype=F64), L9_B10.k1, L9_B10.k2, dtype=F64
    )
    np.testing.assert_allclose(correct, 312.3700349, atol=1e-6)
    wrong = {
        "L8 ML, K1, K2": (L8_B10.radiance(dn, dtype=F64), L8_B10.k1, L8_B10.k2, 303.6549921),
        "L9 ML, L8 K": (L9_B10.radiance(dn, dtype=F64), L8_B10.k1, L8_B10.k2, 312.6740077),
        "K2 typo": (L9_B10.radiance(dn, dtype=F64), L9_B10.k1, 1329.0284, 312.3201917),
    }
    for label, (rad, k1, k2, expected) in wrong.items():
        bad = brightness_temperature(rad, k1, k2, dtype=F64)
        np.testing.assert_allclose(bad, expected, atol=1e-6, err_msg=label)
        assert abs(float(bad) - float(correct)) > 0.04, label


def test_l9_constants_are_not_l8():
    assert L9_B10 != L8_B10 and L9_B11 != L8_B11
    assert L9_B10.k2 == 1329.2405  # not the 1329.0284 typo


def test_brightness_temperature_domain():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = brightness_temperature(np.array([0.0, -1.0, np.nan, np.inf, 10.0]), 774.9, 1321.1)
    assert np.isnan(out[:4]).all() and np.isfinite(out[4])


def test_radiance_from_dn_fill():
    out = radiance_from_dn(np.array([0, 30000], dtype=np.uint16), 3.342e-4, 0.1)
    assert np.isnan(out[0])
    check(out[1], 10.126, rtol=F32_RTOL)
    check(radiance_from_dn(0, 3.342e-4, 0.1, nodata=None), 0.1, rtol=F32_RTOL)


def test_per_scene_constants_broadcast():
    rad = np.full((2, 3), 10.126)
    k1 = np.array([[L8_B10.k1], [L9_B10.k1]])
    k2 = np.array([[L8_B10.k2], [L9_B10.k2]])
    out = brightness_temperature(rad, k1, k2, dtype=F64)
    check(out[0], 303.6549920662)
    check(out[1], brightness_temperature(10.126, L9_B10.k1, L9_B10.k2, dtype=F64))


# The constants of a scene come from its MTL through raster.sources, as for a Level-1 item.

_THERMAL_BANDS = {10: "lwir11", 11: "lwir12"}


def _mtl_constants(meta: LandsatMetadata, band: int = 10) -> ThermalConstants:
    """K1, K2, ML, AL of TIRS band ``band`` as raster.sources gives them to a Level-1 item.

    A Level-2 MTL repeats the Level-1 groups: it is read as its Level-1 counterpart, whose
    thermal asset carries the radiance scaling and ``ilots:k1``/``ilots:k2``.
    """
    level1 = dataclasses.replace(meta, processing_level="L1TP")
    spec = band_table(f"landsat-c{meta.collection}-l1")[_THERMAL_BANDS[band]]
    scaling = band_scaling(level1, spec)
    return ThermalConstants(
        k1=scaling.extra["ilots:k1"],
        k2=scaling.extra["ilots:k2"],
        mult=scaling.scale,
        add=scaling.offset,
    )


def _level1_meta(rescaling: dict[str, str], thermal: dict[str, str]) -> LandsatMetadata:
    """A minimal Collection 2 Level-1 ``_MTL.json`` (string values) with these two groups."""
    mtl = {
        "LANDSAT_METADATA_FILE": {
            "PRODUCT_CONTENTS": {
                "LANDSAT_PRODUCT_ID": "LC09_L1TP_010065_20220129_20220129_02_T1",
                "PROCESSING_LEVEL": "L1TP",
                "COLLECTION_NUMBER": "02",
            },
            "IMAGE_ATTRIBUTES": {
                "SPACECRAFT_ID": "LANDSAT_9",
                "SENSOR_ID": "OLI_TIRS",
                "WRS_PATH": "10",
                "WRS_ROW": "65",
                "DATE_ACQUIRED": "2022-01-29",
            },
            "LEVEL1_RADIOMETRIC_RESCALING": rescaling,
            "LEVEL1_THERMAL_CONSTANTS": thermal,
        }
    }
    return landsat_metadata(parse_mtl(json.dumps(mtl), "json"))


def test_thermal_constants_validation():
    with pytest.raises(ValueError, match="k1"):
        ThermalConstants(k1=0.0, k2=1321.0, mult=3e-4, add=0.1)
    rescaling = {"RADIANCE_MULT_BAND_10": "1", "RADIANCE_ADD_BAND_10": "0"}
    with pytest.raises(MetadataError, match="K1_CONSTANT_BAND_10"):
        _mtl_constants(_level1_meta(rescaling, {"K2_CONSTANT_BAND_10": "1"}))
    with pytest.raises(MetadataError, match="not a number"):
        _mtl_constants(
            _level1_meta(rescaling, {"K1_CONSTANT_BAND_10": "x", "K2_CONSTANT_BAND_10": "1"})
        )


def test_thermal_constants_from_nested_mtl():
    meta = _level1_meta(
        {"RADIANCE_MULT_BAND_10": "3.8000E-04", "RADIANCE_ADD_BAND_10": "0.10000"},
        {"K1_CONSTANT_BAND_10": "799.0284", "K2_CONSTANT_BAND_10": "1329.2405"},
    )
    assert _mtl_constants(meta) == L9_B10


# real MTLs: read the constants per scene and check §9.3 to 1e-6 K


@pytest.mark.realdata
def test_constants_from_real_l9_mtl(real_data):
    path = (
        real_data / "stac_items/stactools-landsat/LC09_L2SP_010065_20220129_20220131_02_T1_MTL.xml"
    )
    if not path.exists():
        pytest.skip(f"{path.name} not in the real-data folder")
    constants = _mtl_constants(landsat_metadata(read_mtl(path)), band=10)
    assert constants == L9_B10
    bt = constants.brightness_temperature(constants.radiance(30000, dtype=F64), dtype=F64)
    np.testing.assert_allclose(bt, 312.3700349470, atol=1e-6)


@pytest.mark.realdata
def test_constants_from_real_l8_mtls(real_data):
    l1 = real_data / "landsat_l1/LC08_L1TP_016037_20170813_20170814_01_RT"
    l2 = real_data / "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
    sources = [
        l1 / "LC08_L1TP_016037_20170813_20170814_01_RT_MTL.txt",
        l2 / "LC08_L2SP_008059_20191201_20200825_02_T1_MTL.json",
    ]
    for path in sources:
        if not path.exists():
            pytest.skip(f"{path.name} not in the real-data folder")
        for band, reference, bt_expected in (
            (10, L8_B10, 303.6549920662),
            (11, L8_B11, 309.4642268398),
        ):
            constants = _mtl_constants(landsat_metadata(read_mtl(path)), band=band)
            assert constants == reference
            bt = constants.brightness_temperature(constants.radiance(30000, dtype=F64), dtype=F64)
            np.testing.assert_allclose(bt, bt_expected, atol=1e-6)


# --------------------------------------------------------------------------------------------
# §9.4 emissivity
# --------------------------------------------------------------------------------------------


def test_e1_mixed_simplified():
    check(vegetation_proportion(0.35, dtype=F64), 0.25)
    check(emissivity_ndvi_threshold(0.35, dtype=F64), 0.987)


def test_e2_mixed_boundaries():
    check(vegetation_proportion([0.5, 0.2], dtype=F64), [1.0, 0.0], atol=1e-15)
    check(emissivity_ndvi_threshold([0.5, 0.2], dtype=F64), [0.990, 0.986])


def test_e3_full_form_with_cavity():
    eps = emissivity_ndvi_threshold(
        0.35, form="full", eps_veg=0.99, eps_soil=0.97, f_geom=0.55, dtype=F64
    )
    check(eps, 0.98725125)
    cavity = (1 - 0.97) * 0.99 * 0.55 * (1 - 0.25)
    check(cavity, 0.01225125)
    # the full form reduces to m*Pv + n (science.md §2.2)
    check(emissivity_ndvi_threshold(0.35, form="full", dtype=F64), 0.003665 * 0.25 + 0.986335)


def test_e4_pv_clamped():
    check(vegetation_proportion(0.9, dtype=F64), 1.0)
    check(((0.9 - 0.2) / 0.3) ** 2, 5.444444444, rtol=1e-9)
    check(emissivity_ndvi_threshold(0.9, dtype=F64), 0.99)
    check(emissivity_ndvi_threshold(0.9, form="full", dtype=F64), 0.99)


def test_soil_branch_from_red_and_water():
    nd = np.array([-0.3, 0.1, 0.1, np.nan])
    red = np.array([0.1, 0.2, np.nan, 0.1])
    check(emissivity_ndvi_threshold(nd[:2], dtype=F64), [0.97, 0.97])
    out = emissivity_ndvi_threshold(nd, red, dtype=F64)
    check(out[:2], [0.973 - 0.047 * 0.1, 0.973 - 0.047 * 0.2])
    assert np.isnan(out[2:]).all()
    b11 = emissivity_ndvi_threshold(
        0.1, 0.2, soil_red_intercept=0.984, soil_red_slope=0.026, dtype=F64
    )
    check(b11, 0.984 - 0.026 * 0.2)
    water = emissivity_ndvi_threshold(nd[:2], red[:2], eps_water=0.99, dtype=F64)
    check(water, [0.99, 0.973 - 0.047 * 0.2])


def test_vegetation_proportion_below_soil_is_zero():
    check(vegetation_proportion([-0.5, 0.0, 0.1], dtype=F64), [0.0, 0.0, 0.0])


def test_emissivity_parameter_validation():
    with pytest.raises(ValueError, match="form"):
        emissivity_ndvi_threshold(0.3, form="sobrino")
    with pytest.raises(ValueError, match="eps_veg"):
        emissivity_ndvi_threshold(0.3, eps_veg=1.2)
    with pytest.raises(ValueError, match="ndvi_veg"):
        vegetation_proportion(0.3, ndvi_soil=0.5, ndvi_veg=0.2)
    with pytest.raises(TypeError, match="raw DN"):
        emissivity_ndvi_threshold(0.1, np.array([1000], dtype=np.uint16))


# --------------------------------------------------------------------------------------------
# §9.4 LST
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bt", "eps", "expected"),
    [
        (300.0, 0.987, 300.8944248952),  # T-1
        (300.0, 0.97, 302.0902748915),  # T-2
        (310.0, 0.99, 310.7330887861),  # T-4
    ],
)
def test_t1_t2_t4_single_band(bt, eps, expected):
    check(lst_single_band(bt, eps, 10.895, 14388.0, dtype=F64), expected)
    check(lst_single_band(bt, eps), expected, rtol=F32_RTOL)


def test_t3_emissivity_one_is_bt():
    assert lst_single_band(300.0, 1.0, dtype=F64) == 300.0


def test_t5_pylandtemp_unit_bug_guard():
    out = lst_single_band(300.0, 0.987, dtype=F64)
    assert abs(float(out) - 300.0000009418) > 0.5
    with pytest.raises(ValueError, match="micrometres"):
        lst_single_band(300.0, 0.987, wavelength_um=0.0000115, rho_um_k=14380)
    with pytest.raises(ValueError, match="micrometre-kelvin"):
        lst_single_band(300.0, 0.987, rho_um_k=1.438777e-2)


def test_single_band_domain():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lst_single_band(
            np.array([300.0, 300.0, 0.0, np.nan]), np.array([0.0, 1.2, 0.98, 0.98])
        )
    assert np.isnan(out).all()


def test_t6_end_to_end_l8():
    lwir, red_spec, nir_spec = 30000, LANDSAT_C2_L2["red"], LANDSAT_C2_L2["nir08"]
    red = scale(12000, red_spec)
    nir = scale(20000, nir_spec)
    check([red, nir], [0.13, 0.35])
    nd = ndvi(red, nir, dtype=F64)
    check(nd, 0.4583333333)
    pv = vegetation_proportion(nd, dtype=F64)
    check(pv, 0.7415123457)
    eps = emissivity_ndvi_threshold(nd, red, dtype=F64)
    check(eps, 0.9889660494)
    bt = brightness_temperature(L8_B10.radiance(lwir, dtype=F64), L8_B10.k1, L8_B10.k2, dtype=F64)
    check(bt, 303.6549920662)
    lst = lst_single_band(bt, eps, dtype=F64)
    check(lst, 304.4316596209)
    check(lst - 273.15, 31.2817, rtol=2e-6)
    # with lambda 10.8 and rho 14380 (configurable constants): rtol 1e-4
    check(lst_single_band(bt, eps, 10.8, 14380.0, dtype=F64), 304.4253, rtol=1e-6)
    check(lst_single_band(bt, eps, 10.8, 14380.0, dtype=F64), 304.4316596209, rtol=1e-4)


def test_t7_split_window_jm2014():
    check(lst_split_window_jm2014(300.0, 298.5, 0.980, 0.975, 2.0, dtype=F64), 302.84979)
    typo = (-0.268, 1.387, 0.183, 54.30, -2.238, -129.20, 16.40)  # pylandtemp's c1
    bad = lst_split_window_jm2014(300.0, 298.5, 0.980, 0.975, 2.0, coefficients=typo, dtype=F64)
    assert abs(float(bad) - 302.84979) > 0.01


def test_t8_split_window_du2015():
    out = lst_split_window_du2015(300.0, 298.5, 0.980, 0.975, dtype=F64)
    check(out, 304.3838925111)
    assert DU2015_CWV_COEFFICIENTS[(0.0, 6.3)][0] == -0.41165
    squared = lst_split_window_du2015(300.0, 298.5, 0.980, 0.975, b2_epsilon_power=2, dtype=F64)
    assert abs(float(squared) - 304.3838925111) > 0.01


def test_t9_single_channel():
    psi = atmospheric_functions(2.0, dtype=F64)
    check(psi, [1.23431, -4.33596, 2.48302])
    gamma, delta = planck_linearisation(
        10.126, 303.6549920662, wavelength_um=10.904, c1=1.19104e8, c2=14387.7, dtype=F64
    )
    check(gamma, 6.8118157, rtol=0, atol=5e-8)  # the sheet prints 7 decimals
    check(delta, 234.6785463)
    ts = lst_single_channel(
        10.126,
        303.6549920662,
        0.987,
        2.0,
        wavelength_um=10.904,
        c1=1.19104e8,
        c2=14387.7,
        dtype=F64,
    )
    check(ts, 307.9273311)
    check(lst_single_channel(10.126, 303.6549920662, 0.987, 2.0), 307.9273311, rtol=F32_RTOL)
    # geeSEBAL's hard-coded lambda 11.457 gives a different answer
    other = lst_single_channel(10.126, 303.6549920662, 0.987, 2.0, wavelength_um=11.457, dtype=F64)
    assert abs(float(other) - 307.9273311) > 0.1


def test_single_channel_validation():
    with pytest.raises(ValueError, match="3 rows"):
        atmospheric_functions(2.0, ((1.0, 2.0),))
    assert np.isnan(atmospheric_functions(-1.0)[0])


# --------------------------------------------------------------------------------------------
# §4.1 / §9.7 UTFVI and z-score
# --------------------------------------------------------------------------------------------

TS = np.array([300.0, 303.0, 306.0, 309.0])


def test_u1_utfvi():
    # the sheet prints 7 decimals
    check(utfvi(TS, dtype=F64), [-0.015, -0.0049505, 0.0049020, 0.0145631], rtol=0, atol=5e-8)
    check(utfvi(TS, dtype=F64)[0], -0.015)


def test_utfvi_refuses_celsius():
    with pytest.raises(ValueError, match="kelvin"):
        utfvi(TS - 273.15)


@pytest.mark.parametrize("chunks", [None, {"x": 2}])
def test_scene_utfvi_refuses_celsius_whatever_its_units(chunks):
    celsius = xr.DataArray(np.array([[27.0, 30.0, 33.0, 36.0]]), dims=("y", "x"))
    celsius = celsius.chunk(chunks) if chunks else celsius  # no units attribute
    with pytest.raises(
        ProductError, match=r"scene_utfvi was given temperatures from \d+ to 36: degrees Celsius"
    ):
        scene_utfvi(celsius).compute()
    kelvin = scene_utfvi(celsius + 273.15).compute()  # T_mean 304.65 K: (T - 304.65) / T
    check(
        kelvin.values[0],
        (np.array([27.0, 30, 33, 36]) - 31.5) / (np.array([27.0, 30, 33, 36]) + 273.15),
        rtol=F32_RTOL,
    )


def test_zs1_zscore():
    zs1 = [-1.3416408, -0.4472136, 0.4472136, 1.3416408]  # 7 decimals printed
    check(zscore(TS, dtype=F64), zs1, rtol=0, atol=5e-8)
    check(zscore(TS, ddof=1, dtype=F64), [-1.1619, -0.3873, 0.3873, 1.1619], rtol=0, atol=5e-5)
    check(zscore(TS), zs1, rtol=F32_RTOL, atol=5e-8)


def test_nan_aware_statistics():
    ts = np.array([300.0, np.nan, 303.0, 306.0, 309.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u, z = utfvi(ts, dtype=F64), zscore(ts, dtype=F64)
        empty_u = utfvi(np.full(3, np.nan))
        empty_z = zscore(np.full(3, np.nan))
        flat = zscore(np.full(3, 300.0))
        single = zscore(np.array([300.0, np.nan]), ddof=1)
    check(u[[0, 2, 3, 4]], utfvi(TS, dtype=F64))
    check(z[[0, 2, 3, 4]], zscore(TS, dtype=F64))
    assert np.isnan(u[1]) and np.isnan(z[1])
    for out in (empty_u, empty_z, flat, single):
        assert np.isnan(out).all()


def test_reference_and_axis():
    ts = np.vstack([TS, TS + 10.0])
    z = zscore(ts, axis=1, dtype=F64)
    check(z[1], zscore(TS, dtype=F64))
    ref = np.array([True, True, False, False])
    z_ref = zscore(TS, reference=ref, dtype=F64)
    check(z_ref, (TS - 301.5) / 1.5)
    check(utfvi(TS, reference=ref, dtype=F64), (TS - 301.5) / TS)


def test_statistics_do_not_mutate():
    ts = TS.copy()
    utfvi(ts)
    zscore(ts)
    np.testing.assert_array_equal(ts, TS)


# --------------------------------------------------------------------------------------------
# xarray wrappers
# --------------------------------------------------------------------------------------------

TIME = np.array(["2023-07-01", "2023-07-17"], dtype="datetime64[ns]")


def l2_dataset(chunks=None):
    dn = np.array(
        [[[44000, 0, 1], [65535, 30000, 40000]], [[41000, 42000, 43000], [0, 45000, 46000]]],
        dtype=np.float64,
    )
    kelvin = scale(dn, LANDSAT_C2_L2["lwir11"]).astype(np.float32)
    kelvin[0, 0, 1] = 149.0  # fill scaled by a careless loader
    kelvin[1, 1, 0] = np.nan
    st_qa = np.full(dn.shape, 1.0, dtype=np.float32)
    st_qa[1, 0, 2] = 5.0
    ds = xr.Dataset(
        {
            "lwir11": (("time", "y", "x"), kelvin, {"units": "K"}),
            "st_qa": (("time", "y", "x"), st_qa, {"units": "K"}),
        },
        coords={"time": TIME, "y": [0.0, -30.0], "x": [0.0, 30.0, 60.0]},
    )
    return ds.chunk(chunks) if chunks else ds


def test_surface_temperature_l2():
    out = surface_temperature_l2(l2_dataset())
    assert out.dtype == np.float32
    assert out.attrs["long_name"] == "land surface temperature"
    assert out.attrs["units"] == "K"
    assert out.attrs["standard_name"] == "surface_temperature"
    assert "not air temperature" in out.attrs["comment"]
    assert np.isnan(out.values[0, 0, 1])  # fill 149.0 K
    assert np.isnan(out.values[1, 1, 0])
    check(out.values[0, 0, 0], 299.39288, rtol=F32_RTOL)
    check(out.values[0, 0, 2], 149.00341802, rtol=F32_RTOL)  # DN 1 is valid
    check(out.values[0, 1, 0], 372.9999407, rtol=F32_RTOL)
    assert out.coords["time"].size == 2


def test_surface_temperature_l2_uncertainty_and_mask():
    ds = l2_dataset()
    out = surface_temperature_l2(ds, max_uncertainty_k=2.0)
    assert np.isnan(out.values[1, 0, 2]) and np.isfinite(out.values[1, 0, 1])
    keep = xr.ones_like(ds["lwir11"], dtype=bool)
    keep[0, 1, 1] = False
    assert np.isnan(surface_temperature_l2(ds, mask=keep).values[0, 1, 1])
    with pytest.raises(BandMissingError, match="st_qa"):
        surface_temperature_l2(ds.drop_vars("st_qa"), max_uncertainty_k=2.0)


def test_surface_temperature_l2_bad_inputs():
    ds = l2_dataset()
    with pytest.raises(BandMissingError, match=r"'lwir11'.*present: st_qa"):
        surface_temperature_l2(ds.drop_vars("lwir11"))
    with pytest.raises(ProductError, match="raw DN"):
        surface_temperature_l2(ds.assign(lwir11=ds["lwir11"].fillna(0).astype(np.uint16)))
    celsius = ds.assign(lwir11=ds["lwir11"].assign_attrs(units="degC"))
    with pytest.raises(ProductError, match="units"):
        surface_temperature_l2(celsius)


@pytest.mark.parametrize("chunks", [None, {"time": 1}])
def test_surface_temperature_l2_refuses_celsius(chunks, no_compute):
    ds = l2_dataset(chunks)
    celsius = ds["lwir11"] - 273.15  # units "K" kept or dropped, depending on keep_attrs
    if chunks is None:
        with pytest.raises(
            ProductError,
            match=r"surface_temperature_l2 was given temperatures from -124.1 to 99.85: deg",
        ):
            surface_temperature_l2(ds.assign(lwir11=celsius))
        return
    out = surface_temperature_l2(ds.assign(lwir11=celsius))  # lazy: said when computed
    with pytest.raises(
        ProductError, match=r"degrees Celsius, not K; give it kelvin \(add 273.15\)"
    ):
        out.compute(scheduler="synchronous")


def test_surface_temperature_l2_in_kelvin_without_units_is_kept():
    ds = l2_dataset()
    bare = ds.assign(lwir11=ds["lwir11"].copy(deep=True).assign_attrs({}))
    bare["lwir11"][0] = 0.0  # a scene of fill 0 only: no values to judge
    xr.testing.assert_identical(
        surface_temperature_l2(bare.isel(time=[1])), surface_temperature_l2(ds.isel(time=[1]))
    )
    assert np.isnan(surface_temperature_l2(bare.isel(time=[0])).values).all()


def test_surface_temperature_l2_numpy_dask_identical():
    eager = surface_temperature_l2(l2_dataset(), max_uncertainty_k=2.0)
    lazy = surface_temperature_l2(l2_dataset(chunks={"time": 1, "x": 2}), max_uncertainty_k=2.0)
    assert isinstance(lazy.data, da.Array)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_surface_temperature_l2_lazy(no_compute):
    out = surface_temperature_l2(l2_dataset(chunks={"x": 2}), max_uncertainty_k=2.0)
    assert isinstance(out.data, da.Array)


def l1_dataset(chunks=None, per_scene=True, attrs=True):
    """Two scenes (L8 then L9) of TIRS radiance; red/nir08 give the T-6 NDVI."""
    lwir_dn = np.full((2, 2, 3), 30000.0)
    lwir_dn[:, 0, 0] = 25000.0
    radiance = np.stack(
        [L8_B10.radiance(lwir_dn[0], dtype=F64), L9_B10.radiance(lwir_dn[1], dtype=F64)]
    )
    radiance[1, 1, 2] = np.nan
    red = np.full(radiance.shape, 0.13)
    nir = np.full(radiance.shape, 0.35)
    nir[:, 1, 1] = 0.0  # NDVI < 0.2: soil branch from red
    lwir_attrs = {"units": "W m-2 sr-1 um-1"}
    if attrs and not per_scene:
        lwir_attrs.update(k1=L8_B10.k1, k2=L8_B10.k2)
    ds = xr.Dataset(
        {
            "lwir11": (("time", "y", "x"), radiance, lwir_attrs),
            "red": (("time", "y", "x"), red),
            "nir08": (("time", "y", "x"), nir),
        },
        coords={"time": TIME, "y": [0.0, -30.0], "x": [0.0, 30.0, 60.0]},
    )
    if per_scene:
        ds = ds.assign_coords(
            k1_lwir11=("time", [L8_B10.k1, L9_B10.k1]), k2_lwir11=("time", [L8_B10.k2, L9_B10.k2])
        )
    return ds.chunk(chunks) if chunks else ds


def expected_single_band(ds):
    k1 = np.array([L8_B10.k1, L9_B10.k1])[:, None, None]
    k2 = np.array([L8_B10.k2, L9_B10.k2])[:, None, None]
    bt = brightness_temperature(ds["lwir11"].values, k1, k2, dtype=F64)
    red = ds["red"].values
    eps = emissivity_ndvi_threshold(ndvi(red, ds["nir08"].values, dtype=F64), red, dtype=F64)
    return lst_single_band(bt, eps, dtype=F64), bt, eps


def test_lst_level1_single_band_per_scene_constants():
    ds = l1_dataset()
    out = lst_level1(ds)
    assert out.dtype == np.float32
    assert out.attrs["long_name"] == "land surface temperature"
    assert out.attrs["standard_name"] == "surface_temperature"
    assert out.attrs["units"] == "K"
    assert "not air temperature" in out.attrs["comment"]
    assert out.attrs["method"] == "single-band"
    assert out.attrs["k1"] == "per scene, coordinate k1_lwir11"
    assert out.attrs["k2"] == "per scene, coordinate k2_lwir11"
    np.testing.assert_array_equal(out["k1_lwir11"].values, [L8_B10.k1, L9_B10.k1])
    expected, bt, eps = expected_single_band(ds)
    check(out.values, expected, rtol=F32_RTOL)
    # T-6 on the L8 scene, B-4 radiance on the L9 scene
    check(out.values[0, 0, 1], 304.4316596209, rtol=F32_RTOL)
    check(bt[1, 0, 1], 312.3700349470)
    assert np.isnan(out.values[1, 1, 2])
    check(eps[0, 1, 1], 0.973 - 0.047 * 0.13)


def test_lst_level1_l9_scene_differs_from_l8_constants():
    out = lst_level1(l1_dataset())
    wrong = lst_level1(l1_dataset(per_scene=False, attrs=False), k1=L8_B10.k1, k2=L8_B10.k2)
    assert abs(float(out[1, 0, 1]) - float(wrong[1, 0, 1])) > 0.2
    check(out.values[0], wrong.values[0], rtol=F32_RTOL)


def test_lst_level1_constants_from_attrs_and_arguments():
    by_attrs = lst_level1(l1_dataset(per_scene=False))
    by_args = lst_level1(l1_dataset(per_scene=False, attrs=False), k1=L8_B10.k1, k2=L8_B10.k2)
    xr.testing.assert_identical(by_attrs, by_args)
    assert by_attrs.attrs["k1"] == L8_B10.k1
    same = lst_level1(l1_dataset(per_scene=False), k1=L8_B10.k1, k2=L8_B10.k2)
    xr.testing.assert_identical(same, by_attrs)
    ds = l1_dataset(per_scene=False, attrs=False)
    ds["lwir11"].attrs.update({"ilots:k1": L8_B10.k1, "ilots:k2": L8_B10.k2})
    xr.testing.assert_identical(lst_level1(ds), by_attrs)


def test_lst_level1_metadata_errors():
    with pytest.raises(MetadataError, match="MTL"):
        lst_level1(l1_dataset(per_scene=False, attrs=False))
    with pytest.raises(MetadataError, match="per-scene K1"):
        lst_level1(l1_dataset(), k1=L8_B10.k1, k2=L8_B10.k2)
    with pytest.raises(MetadataError, match="contradicts"):
        lst_level1(l1_dataset(per_scene=False), k1=L9_B10.k1, k2=L9_B10.k2)
    ds = l1_dataset(per_scene=False, attrs=False)
    ds["lwir11"].attrs["k1"] = L8_B10.k1
    with pytest.raises(MetadataError, match="only one of K1/K2"):
        lst_level1(ds)


def test_lst_level1_bad_inputs():
    ds = l1_dataset()
    with pytest.raises(BandMissingError, match="'nir08'"):
        lst_level1(ds.drop_vars("nir08"))
    with pytest.raises(BandMissingError, match="'lwir11'"):
        lst_level1(ds.drop_vars("lwir11"))
    with pytest.raises(ProductError, match="Level-2"):
        lst_level1(ds.assign(lwir11=ds["lwir11"].assign_attrs(units="K")))
    with pytest.raises(ValueError, match="method"):
        lst_level1(ds, method="split-window")
    with pytest.raises(ValueError, match="emissivity"):
        lst_level1(ds, emissivity="aster")
    with pytest.raises(ValueError, match="emissivity"):
        lst_level1(ds, emissivity=1.5)
    with pytest.raises(ValueError, match="micrometres"):
        lst_level1(ds, wavelength_um=1.0895e-5)
    with pytest.raises(ValueError, match="form"):
        lst_level1(ds, emissivity_options={"form": "nope"})


def test_lst_level1_constant_emissivity_needs_no_optical_bands():
    ds = l1_dataset().drop_vars(["red", "nir08"])
    out = lst_level1(ds, emissivity=0.987)
    k1 = np.array([L8_B10.k1, L9_B10.k1])[:, None, None]
    k2 = np.array([L8_B10.k2, L9_B10.k2])[:, None, None]
    bt = brightness_temperature(ds["lwir11"].values, k1, k2, dtype=F64)
    check(out.values, lst_single_band(bt, 0.987, dtype=F64), rtol=F32_RTOL)
    assert out.attrs["emissivity"] == "constant 0.987"


def test_lst_level1_single_channel():
    ds = l1_dataset()
    out = lst_level1(ds, method="single-channel", water_vapour=2.0, emissivity=0.987)
    assert out.attrs["method"] == "single-channel"
    assert out.attrs["wavelength_um"] == 10.904
    assert out.attrs["water_vapour_g_cm2"] == 2.0
    check(out.values[0, 0, 1], 307.9273311, rtol=F32_RTOL)  # T-9 on the L8 scene
    with pytest.warns(IlotsWarning, match="3 g cm-2"):
        lst_level1(ds, method="single-channel", water_vapour=4.0)
    with pytest.raises(ValueError, match="water_vapour"):
        lst_level1(ds, method="single-channel", water_vapour=-1.0)
    w = xr.DataArray([2.0, 2.0], dims="time", coords={"time": TIME})
    by_scene = lst_level1(ds, method="single-channel", water_vapour=w, emissivity=0.987)
    xr.testing.assert_allclose(by_scene, out)


@pytest.mark.parametrize("method", ["single-band", "single-channel"])
@pytest.mark.parametrize("per_scene", [True, False])
def test_lst_level1_numpy_dask_identical(method, per_scene):
    eager = lst_level1(l1_dataset(per_scene=per_scene), method=method)
    lazy = lst_level1(l1_dataset(chunks={"time": 1, "x": 2}, per_scene=per_scene), method=method)
    assert isinstance(lazy.data, da.Array)
    assert lazy.dtype == np.float32
    xr.testing.assert_identical(lazy.compute(), eager)


def test_lst_level1_lazy(no_compute):
    ds = l1_dataset(chunks={"x": 2})
    for method in ("single-band", "single-channel"):
        out = lst_level1(ds, method=method)
        assert isinstance(out.data, da.Array)


def test_lst_level1_does_not_mutate():
    ds = l1_dataset()
    before = ds.copy(deep=True)
    lst_level1(ds)
    xr.testing.assert_identical(ds, before)


def lst_cube(chunks=None):
    values = np.stack([TS.reshape(2, 2), TS.reshape(2, 2) + 5.0]).astype(np.float32)
    values[1, 0, 0] = np.nan
    da_ = xr.DataArray(
        values,
        dims=("time", "y", "x"),
        coords={"time": TIME, "y": [0.0, -30.0], "x": [0.0, 30.0]},
        name="lst",
        attrs={"units": "K", "long_name": "land surface temperature"},
    )
    return da_.chunk(chunks) if chunks else da_


def test_scene_utfvi_and_zscore_u1_zs1():
    u = scene_utfvi(lst_cube())
    z = scene_zscore(lst_cube())
    assert u.dtype == z.dtype == np.float32
    check(u.values[0].ravel(), [-0.015, -0.0049505, 0.0049020, 0.0145631], rtol=1e-5)
    check(z.values[0].ravel(), [-1.3416408, -0.4472136, 0.4472136, 1.3416408], rtol=1e-7)
    # per scene, NaN-aware
    check(u.values[1].ravel(), utfvi(lst_cube().values[1], dtype=F64).ravel(), rtol=1e-6)
    check(z.values[1].ravel(), zscore(lst_cube().values[1], dtype=F64).ravel(), rtol=1e-6)
    assert np.isnan(z.values[1, 0, 0])
    assert z.name == "lst_zscore" and u.name == "utfvi"
    assert "ddof=0" in z.attrs["formula"]


def test_scene_stats_reference_and_units():
    ref = xr.DataArray([[True, True], [False, False]], dims=("y", "x"))
    z = scene_zscore(lst_cube(), reference=ref)
    check(z.values[0].ravel(), (TS - 301.5) / 1.5, rtol=1e-6)
    with pytest.raises(ValueError, match="kelvin"):
        scene_utfvi(lst_cube().assign_attrs(units="degC"))
    with pytest.raises(ValueError, match="dims"):
        scene_zscore(lst_cube(), dims=("lat", "lon"))


def test_scene_stats_numpy_dask(no_compute):
    lazy_u = scene_utfvi(lst_cube(chunks={"x": 1}))
    lazy_z = scene_zscore(lst_cube(chunks={"x": 1}))
    assert isinstance(lazy_u.data, da.Array) and isinstance(lazy_z.data, da.Array)


def test_scene_stats_dask_values():
    lazy = scene_zscore(lst_cube(chunks={"x": 1})).compute()
    xr.testing.assert_allclose(lazy, scene_zscore(lst_cube()), rtol=1e-6)
    lazy_u = scene_utfvi(lst_cube(chunks={"x": 1})).compute()
    xr.testing.assert_allclose(lazy_u, scene_utfvi(lst_cube()), rtol=1e-6)
