"""Tests of raster.quality: QA_PIXEL, QA_RADSAT, ST_QA, ST_CDIST, C1 BQA and Sentinel-2 SCL masks.

Expected values are written by hand from science.md §1.3 / §3.3 / §9.2 (or decoded by hand from
the hexadecimal value, shown in comments), or computed with an independent decoder that reads
bits from the binary string of each distinct value; never from the code under test.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from raster.quality import (
    QA_PIXEL_PRESETS,
    RADSAT_BITS,
    SCL,
    SCL_PRESETS,
    QAPixelMask,
    SCLMask,
    bqa_clear,
    bqa_clear_mask,
    cdist_ok,
    decode_bqa,
    decode_qa_pixel,
    dilate_mask,
    landsat_clear_mask,
    landsat_mask_steps,
    landsat_radsat_mask,
    landsat_water_mask,
    qa_pixel_clear,
    qa_pixel_cloudy,
    qa_pixel_water,
    radsat_ok,
    radsat_reject_value,
    scl_keep,
    scl_water,
    sentinel2_clear_mask,
    sentinel2_water_mask,
    st_qa_ok,
)
from tests.conftest import raise_if_dask_computes
from tiles.errors import BandMissingError, IlotsError

da = pytest.importorskip("dask.array")
rasterio = pytest.importorskip("rasterio")

# --------------------------------------------------------------------------------------------
# §9.2 and §1.3 QA_PIXEL vectors
# --------------------------------------------------------------------------------------------

FLAGS = ("fill", "dilated_cloud", "cirrus", "cloud", "shadow", "snow", "clear", "water")
# value: (fill, dil, cir, cld, shd, snow, clear, water), cloud conf, default keep
QA_VECTORS = {
    1: ((1, 0, 0, 0, 0, 0, 0, 0), 0, False),  # Q-1 fill
    21824: ((0, 0, 0, 0, 0, 0, 1, 0), 1, True),  # Q-2 clear land (0x5540)
    21952: ((0, 0, 0, 0, 0, 0, 1, 1), 1, True),  # Q-3 clear water (water flag)
    22280: ((0, 0, 0, 1, 0, 0, 0, 0), 3, False),  # Q-4 cloud, high confidence
    23888: ((0, 0, 0, 0, 1, 0, 1, 0), 1, False),  # Q-5 clear bit set AND shadow
    24088: ((0, 0, 0, 1, 1, 0, 0, 0), 2, False),  # §1.3 cloud + shadow (0x5E18 by hand)
    30048: ((0, 0, 0, 0, 0, 1, 1, 0), 1, False),  # Q-6 snow with clear = 1
    54596: ((0, 0, 1, 0, 0, 0, 1, 0), 1, False),  # Q-7 cirrus, clear = 1
    55052: ((0, 0, 1, 1, 0, 0, 0, 0), 3, False),  # §1.3 cloud + cirrus (0xD70C by hand)
    5440: ((0, 0, 0, 0, 0, 0, 1, 0), 1, True),  # §1.3 clear, L4-7 style
    5504: ((0, 0, 0, 0, 0, 0, 0, 1), 1, True),  # §1.3 water, L4-7 (clear bit unset)
}
# other confidences decoded by hand from the hex value: (shadow, snow, cirrus)
OTHER_CONF = {
    1: (0, 0, 0),
    21824: (1, 1, 1),
    21952: (1, 1, 1),
    22280: (1, 1, 1),
    23888: (3, 1, 1),
    24088: (3, 1, 1),
    30048: (1, 3, 1),
    54596: (1, 1, 3),
    55052: (1, 1, 3),
    5440: (1, 1, 0),
    5504: (1, 1, 0),
}
VALUES = np.array(list(QA_VECTORS), dtype=np.uint16)


def _expected(column: int | str) -> np.ndarray:
    if column == "keep":
        return np.array([v[2] for v in QA_VECTORS.values()])
    return np.array([v[0][column] for v in QA_VECTORS.values()], dtype=bool)


@pytest.mark.parametrize("dtype", ["uint16", "int32", "float32", "float64"])
def test_decode_qa_pixel_vectors(dtype):
    decoded = decode_qa_pixel(VALUES.astype(dtype))
    for i, flag in enumerate(FLAGS):
        np.testing.assert_array_equal(decoded[flag], _expected(i), err_msg=flag)
    np.testing.assert_array_equal(decoded["cloud_conf"], [v[1] for v in QA_VECTORS.values()])
    for j, name in enumerate(("shadow_conf", "snow_conf", "cirrus_conf")):
        np.testing.assert_array_equal(decoded[name], [c[j] for c in OTHER_CONF.values()])


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_default_preset_vectors(dtype):
    np.testing.assert_array_equal(qa_pixel_clear(VALUES.astype(dtype)), _expected("keep"))


def test_clear_bit_with_shadow_is_rejected():
    # the clear bit is set but the pixel is a cloud shadow
    assert decode_qa_pixel(np.array([23888]))["clear"][0]
    assert not qa_pixel_clear(np.array([23888]))[0]


def test_water_flag_vectors():
    expected = [False, False, True, False, False, False, False, False, False, False, True]
    np.testing.assert_array_equal(qa_pixel_water(VALUES), expected)
    no_water = QAPixelMask(keep_water=False)
    keep = qa_pixel_clear(VALUES, no_water)
    assert not keep[list(QA_VECTORS).index(21952)]
    assert keep[list(QA_VECTORS).index(21824)]


def test_mask_values_27_and_63():
    assert QAPixelMask(reject_bits=(0, 1, 3, 4)).reject_value == 27
    assert QAPixelMask().reject_value == 63
    assert QA_PIXEL_PRESETS["default"].reject_value == 63
    assert QA_PIXEL_PRESETS["gee"].reject_value == 31
    assert QA_PIXEL_PRESETS["strict"].reject_value == 63


def test_mask_27_keeps_snow_and_cirrus():
    keep = qa_pixel_clear(VALUES, QAPixelMask(reject_bits=(0, 1, 3, 4)))
    kept = {int(v) for v, k in zip(VALUES, keep, strict=True) if k}
    assert kept == {21824, 21952, 30048, 54596, 5440, 5504}


def test_gee_preset_keeps_snow():
    keep = qa_pixel_clear(VALUES, "gee")
    kept = {int(v) for v, k in zip(VALUES, keep, strict=True) if k}
    assert kept == {21824, 21952, 30048, 5440, 5504}


def test_strict_preset_rejects_medium_cloud_confidence():
    medium = 0x5640  # 22080: clear bit, cloud confidence 2, other confidences low
    low = 0x5540  # 21824
    values = np.array([medium, low], dtype=np.uint16)
    np.testing.assert_array_equal(qa_pixel_clear(values, "default"), [True, True])
    np.testing.assert_array_equal(qa_pixel_clear(values, "strict"), [False, True])


def test_shadow_and_cirrus_confidence_thresholds():
    # 0x5D40: no flag bits; shadow confidence 3 (bits 10-11), rest low
    shadow_high = 0x5D40
    # 0xD540: no flag bits; cirrus confidence 3 (bits 14-15), rest low
    cirrus_high = 0xD540
    values = np.array([shadow_high, cirrus_high], dtype=np.uint16)
    np.testing.assert_array_equal(qa_pixel_clear(values), [True, True])
    np.testing.assert_array_equal(
        qa_pixel_clear(values, QAPixelMask(shadow_confidence_min=3)), [False, True]
    )
    np.testing.assert_array_equal(
        qa_pixel_clear(values, QAPixelMask(cirrus_confidence_min=3)), [True, False]
    )


def test_nan_is_fill():
    qa = np.array([np.nan, 21824.0, 21952.0], dtype=np.float32)
    np.testing.assert_array_equal(qa_pixel_clear(qa), [False, True, True])
    np.testing.assert_array_equal(qa_pixel_water(qa), [False, False, True])
    np.testing.assert_array_equal(qa_pixel_cloudy(qa), [False, False, False])
    decoded = decode_qa_pixel(qa)
    assert decoded["fill"][0] and not decoded["clear"][0]
    assert decoded["cloud_conf"][0] == 0


def test_cloudy_excludes_fill_and_water():
    # 1 fill, 21952 clear water, 22280 cloud, 30048 snow
    values = np.array([1, 21952, 22280, 30048], dtype=np.uint16)
    np.testing.assert_array_equal(qa_pixel_cloudy(values), [False, False, True, True])
    np.testing.assert_array_equal(
        qa_pixel_cloudy(values, QAPixelMask(keep_water=False)), [False, False, True, True]
    )


def test_inputs_are_not_mutated():
    qa = np.array([np.nan, 21824.0, 1.0], dtype=np.float32)
    before = qa.copy()
    qa_pixel_clear(qa)
    decode_qa_pixel(qa)
    np.testing.assert_array_equal(qa, before)
    scl = np.array([np.nan, 4.0, 6.0], dtype=np.float32)
    scl_keep(scl, "default")
    np.testing.assert_array_equal(scl, [np.nan, 4.0, 6.0])
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 2] = True
    out = dilate_mask(mask, 1)
    assert mask.sum() == 1 and out is not mask


@pytest.mark.parametrize(
    "bad", [np.array([1.5]), np.array([-1.0]), np.array([70000.0]), np.array([np.inf])]
)
def test_non_integer_floats_are_refused(bad):
    with pytest.raises(ValueError, match="nearest"):
        qa_pixel_clear(bad)


def test_integer_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        qa_pixel_clear(np.array([-5, 3], dtype=np.int32))
    with pytest.raises(ValueError, match="dtype"):
        qa_pixel_clear(np.array([True, False]))


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_default_preset_property(value):
    arr = np.array([value], dtype=np.uint16)
    expected = (value & 63) == 0
    assert bool(qa_pixel_clear(arr)[0]) == expected
    assert bool(qa_pixel_clear(arr.astype(np.float32))[0]) == expected
    assert bool(qa_pixel_clear(arr, "gee")[0]) == ((value & 31) == 0)
    assert bool(qa_pixel_clear(arr, "strict")[0]) == (expected and ((value >> 8) & 3) < 2)


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_decode_recomposes_value(value):
    d = decode_qa_pixel(np.array([value], dtype=np.uint16))
    total = sum(int(d[f][0]) << bit for bit, f in enumerate(FLAGS))
    for name, shift in (("cloud_conf", 8), ("shadow_conf", 10), ("snow_conf", 12)):
        total += int(d[name][0]) << shift
    total += int(d["cirrus_conf"][0]) << 14
    assert total == value


# --------------------------------------------------------------------------------------------
# Spec validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"reject_bits": (0, 6)}, "clear"),
        ({"reject_bits": (0, 7)}, "keep_water"),
        ({"reject_bits": (0, 16)}, "0-5"),
        ({"reject_bits": (1, 3)}, "fill"),
        ({"reject_bits": (0, "3")}, "integers"),
        ({"cloud_confidence_min": 0}, "cloud_confidence_min"),
        ({"shadow_confidence_min": 4}, "shadow_confidence_min"),
        ({"cirrus_confidence_min": True}, "cirrus_confidence_min"),
        ({"keep_water": "yes"}, "keep_water"),
    ],
)
def test_qapixelmask_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QAPixelMask(**kwargs)


def test_qapixelmask_is_frozen_and_normalised():
    spec = QAPixelMask(reject_bits=[4, 0, 3, 3])
    assert spec.reject_bits == (0, 3, 4)
    with pytest.raises(AttributeError):
        spec.keep_water = False  # type: ignore[misc]
    assert hash(spec) == hash(QAPixelMask(reject_bits=(0, 3, 4)))


def test_unknown_presets():
    with pytest.raises(ValueError, match="default, gee, strict"):
        qa_pixel_clear(VALUES, "cloudless")
    with pytest.raises(ValueError, match="SCL preset"):
        scl_keep(np.array([4]), "nope")


# --------------------------------------------------------------------------------------------
# QA_RADSAT, ST_QA, ST_CDIST
# --------------------------------------------------------------------------------------------


def test_radsat_bit_table():
    assert dict(RADSAT_BITS) == {
        "coastal": 0,
        "blue": 1,
        "green": 2,
        "red": 3,
        "nir08": 4,
        "swir16": 5,
        "swir22": 6,
        "cirrus": 8,
    }
    # bands 4, 5, 6 (NDVI/NDBI) -> bits 3, 4, 5 = 8 + 16 + 32; terrain occlusion 2048
    assert radsat_reject_value((4, 5, 6)) == 8 + 16 + 32 + 2048
    assert radsat_reject_value(("red", "nir08", "swir16")) == 8 + 16 + 32 + 2048
    assert radsat_reject_value([9]) == 256 + 2048
    assert radsat_reject_value(()) == 2048


def test_radsat_ok():
    # 0 nothing, 8 = band 4 (red), 16 = band 5, 2 = band 2, 256 = band 9, 2048 terrain occlusion
    radsat = np.array([0, 8, 16, 2, 256, 2048, 128], dtype=np.uint16)
    np.testing.assert_array_equal(
        radsat_ok(radsat, ("red", "nir08")), [True, False, False, True, True, False, True]
    )
    np.testing.assert_array_equal(
        radsat_ok(radsat, [2, 9]), [True, True, True, False, False, False, True]
    )
    np.testing.assert_array_equal(
        radsat_ok(radsat, ()), [True, True, True, True, True, False, True]
    )
    np.testing.assert_array_equal(radsat_ok(np.array([np.nan, 0.0]), [4]), [False, True])


@pytest.mark.parametrize("band", [8, 10, 0, "lwir11", "B4", 4.0])
def test_radsat_unknown_band(band):
    with pytest.raises(ValueError, match="QA_RADSAT"):
        radsat_ok(np.array([0]), [band])


def test_st_qa_ok():
    kelvin = np.array([0.0, 1.5, 2.0, 2.01, np.nan, -99.99])
    np.testing.assert_array_equal(st_qa_ok(kelvin, 2.0), [True, True, True, False, False, False])
    np.testing.assert_array_equal(
        st_qa_ok(kelvin.astype(np.float32), 1.5), [True, True, False, False, False, False]
    )
    for bad in (0, -1, np.nan, np.inf, "two"):
        with pytest.raises(ValueError, match="max_k"):
            st_qa_ok(kelvin, bad)


def test_cdist_ok():
    km = np.array([0.0, 0.5, 1.0, 12.3, np.nan])
    np.testing.assert_array_equal(cdist_ok(km, 1.0), [False, False, True, True, False])
    np.testing.assert_array_equal(cdist_ok(km, 0), [True, True, True, True, False])
    with pytest.raises(ValueError, match="min_km"):
        cdist_ok(km, -0.1)


# --------------------------------------------------------------------------------------------
# Collection 1 BQA
# --------------------------------------------------------------------------------------------

# hand-encoded from the C1 layout: fill 0, terrain 1, saturation 2-3, cloud 4, cloud conf 5-6,
# shadow conf 7-8, snow conf 9-10, cirrus conf 11-12
BQA_CLEAR = (1 << 5) | (1 << 7) | (1 << 9) | (1 << 11)  # all confidences low = 2720
BQA_CASES = {
    1: False,  # designated fill
    2: False,  # terrain occlusion
    2720: True,  # clear, all confidences low (0xAA0)
    2752: True,  # cloud confidence medium (0xAC0)
    2800: False,  # cloud bit + cloud confidence high (0xAF0)
    2804: False,  # 2800 + saturation field 1: still the cloud bit
    2976: False,  # cloud-shadow confidence high (0xBA0)
    3744: False,  # snow/ice confidence high (0xEA0)
    6816: False,  # cirrus confidence high (0x1AA0)
    2724: True,  # 2720 + saturation field 1 (1-2 bands saturated), ignored by default
}


def test_bqa_layout_by_hand():
    assert BQA_CLEAR == 2720
    d = decode_bqa(np.array([2720, 2800, 2976, 6816, 3744, 2724, 3], dtype=np.uint16))
    np.testing.assert_array_equal(d["fill"], [0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(d["terrain_occlusion"], [0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(d["cloud"], [0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(d["cloud_conf"], [1, 3, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(d["shadow_conf"], [1, 1, 3, 1, 1, 1, 0])
    np.testing.assert_array_equal(d["snow_conf"], [1, 1, 1, 1, 3, 1, 0])
    np.testing.assert_array_equal(d["cirrus_conf"], [1, 1, 1, 3, 1, 1, 0])
    np.testing.assert_array_equal(d["radiometric_saturation"], [0, 0, 0, 0, 0, 1, 0])


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_bqa_clear_hand_values(dtype):
    values = np.array(list(BQA_CASES), dtype=dtype)
    np.testing.assert_array_equal(bqa_clear(values), list(BQA_CASES.values()))


def test_bqa_thresholds():
    values = np.array([2720, 2752, 2724, np.nan])
    np.testing.assert_array_equal(bqa_clear(values), [True, True, True, False])
    np.testing.assert_array_equal(
        bqa_clear(values, cloud_confidence_min=2), [True, False, True, False]
    )
    np.testing.assert_array_equal(bqa_clear(values, saturation_min=1), [True, True, False, False])
    # low confidences everywhere: a threshold of 1 rejects them all
    np.testing.assert_array_equal(
        bqa_clear(values, cloud_confidence_min=None, shadow_confidence_min=1),
        [False, False, False, False],
    )
    with pytest.raises(ValueError, match="saturation_min"):
        bqa_clear(values, saturation_min=0)
    with pytest.raises(ValueError, match="snow_confidence_min"):
        bqa_clear(values, snow_confidence_min=5)


# --------------------------------------------------------------------------------------------
# Sentinel-2 SCL
# --------------------------------------------------------------------------------------------

SCL_ALL = np.arange(12, dtype=np.uint8)


def _kept(mask: np.ndarray) -> set[int]:
    return {int(c) for c in SCL_ALL[mask]}


def test_scl_s2_5_and_presets():
    # S2-5: the mask {0, 1, 3, 8, 9, 10, 11} keeps {2, 4, 5, 6, 7} ("permissive" here)
    assert _kept(scl_keep(SCL_ALL, "permissive")) == {2, 4, 5, 6, 7}
    assert _kept(scl_keep(SCL_ALL, "default")) == {4, 5}
    assert _kept(scl_keep(SCL_ALL)) == {4, 5}
    # science.md "conservative mask": also {2, 7} -> keeps {4, 5, 6}
    assert _kept(scl_keep(SCL_ALL, "conservative")) == {4, 5, 6}
    assert _kept(scl_keep(SCL_ALL, {4, 5, 7})) == {4, 5, 7}
    assert _kept(scl_keep(SCL_ALL, SCLMask(frozenset({5})))) == {5}
    assert _kept(scl_water(SCL_ALL)) == {6}
    assert {k: v.keep for k, v in SCL_PRESETS.items()} == {
        "default": {4, 5},
        "conservative": {4, 5, 6},
        "permissive": {2, 4, 5, 6, 7},
    }


def test_scl_class_names():
    assert SCL(0).name == "NO_DATA"
    assert SCL(4).name == "VEGETATION"
    assert SCL(6).name == "WATER"
    assert SCL(11).name == "SNOW"
    assert len(SCL) == 12


def test_scl_float_nan_and_unknown_codes():
    scl = np.array([np.nan, 4.0, 6.0, 200.0], dtype=np.float32)
    np.testing.assert_array_equal(scl_keep(scl), [False, True, False, False])
    np.testing.assert_array_equal(scl_water(scl), [False, False, True, False])
    with pytest.raises(ValueError, match="nearest"):
        scl_keep(np.array([4.5]))


@pytest.mark.parametrize("keep", [{0, 4}, {12}, set(), {4, "5"}])
def test_sclmask_validation(keep):
    with pytest.raises(ValueError, match="SCL"):
        SCLMask(frozenset(keep))


# --------------------------------------------------------------------------------------------
# Dilation
# --------------------------------------------------------------------------------------------


def test_dilate_hand_shapes():
    mask = np.zeros((7, 7), dtype=bool)
    mask[3, 3] = True
    plus = dilate_mask(mask, 1)
    expected = np.zeros((7, 7), dtype=bool)
    expected[2:5, 3] = True
    expected[3, 2:5] = True
    np.testing.assert_array_equal(plus, expected)
    assert dilate_mask(mask, 2).sum() == 13  # disk(2): 1 + 3 + 5 + 3 + 1
    np.testing.assert_array_equal(dilate_mask(mask, 0), mask)
    corner = np.zeros((4, 4), dtype=bool)
    corner[0, 0] = True
    assert dilate_mask(corner, 1).sum() == 3  # outside the array is not rejected


@pytest.mark.parametrize("radius", [1, 3, 6])
def test_dilate_dask_equals_numpy_across_chunks(radius):
    rng = np.random.default_rng(radius)
    mask = rng.random((2, 41, 37)) < 0.02
    mask[:, 9, 9] = True  # on a chunk corner
    lazy = dilate_mask(da.from_array(mask, chunks=(1, 5, 4)), radius)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), dilate_mask(mask, radius))


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_dilate_bad_radius(bad):
    with pytest.raises(ValueError, match="radius_px"):
        dilate_mask(np.zeros((3, 3), dtype=bool), bad)


def test_dilate_needs_2d():
    with pytest.raises(ValueError, match="two"):
        dilate_mask(np.zeros(3, dtype=bool), 1)


# --------------------------------------------------------------------------------------------
# xarray wrappers: NumPy vs Dask, laziness, attrs, missing bands
# --------------------------------------------------------------------------------------------


def _dataset(float_qa: bool = True) -> xr.Dataset:
    rng = np.random.default_rng(42)
    shape = (2, 30, 26)
    qa = rng.choice(VALUES, size=shape).astype(np.float32 if float_qa else np.uint16)
    if float_qa:
        qa[:, :4, :] = np.nan
    radsat = rng.choice(np.array([0, 8, 16, 2, 2048], dtype=np.uint16), size=shape)
    st_qa = rng.uniform(0.5, 4.0, size=shape).astype(np.float32)
    st_qa[0, 10, :] = np.nan
    cdist = rng.uniform(0.0, 5.0, size=shape).astype(np.float32)
    scl = rng.integers(0, 12, size=shape).astype(np.float32)
    scl[:, :, :3] = np.nan
    bqa = rng.choice(np.array(list(BQA_CASES), dtype=np.float32), size=shape)
    dims = ("time", "y", "x")
    return xr.Dataset(
        {
            "qa_pixel": (dims, qa),
            "qa_radsat": (dims, radsat),
            "st_qa": (dims, st_qa),
            "st_cdist": (dims, cdist),
            "scl": (dims, scl),
            "bqa": (dims, bqa),
        },
        coords={
            "time": np.array(["2020-07-01", "2020-07-17"], dtype="datetime64[ns]"),
            "y": 6.5e6 - 30.0 * np.arange(30),
            "x": 6.5e5 + 30.0 * np.arange(26),
        },
    )


WRAPPERS = {
    "landsat_default": lambda ds: landsat_clear_mask(ds),
    "landsat_all": lambda ds: landsat_clear_mask(
        ds,
        preset="strict",
        radsat_bands=("red", "nir08"),
        st_qa_max_k=2.5,
        cdist_min_km=1.0,
        dilate_px=2,
    ),
    "landsat_gee_dilated": lambda ds: landsat_clear_mask(ds, preset="gee", dilate_px=4),
    "landsat_water": landsat_water_mask,
    "landsat_radsat_ndvi": lambda ds: landsat_radsat_mask(ds, ("red", "nir08")),
    "landsat_radsat_terrain": lambda ds: landsat_radsat_mask(ds, ()),
    "s2_default": lambda ds: sentinel2_clear_mask(ds),
    "s2_permissive_dilated": lambda ds: sentinel2_clear_mask(ds, preset="permissive", dilate_px=3),
    "s2_water": sentinel2_water_mask,
    "bqa": lambda ds: bqa_clear_mask(ds),
    "bqa_medium": lambda ds: bqa_clear_mask(ds, cloud_confidence_min=2, saturation_min=1),
}


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_wrappers_numpy_equals_dask(name):
    ds = _dataset()
    eager = WRAPPERS[name](ds)
    chunked = ds.chunk({"time": 1, "y": 7, "x": 6})
    with raise_if_dask_computes():
        lazy = WRAPPERS[name](chunked)
    assert isinstance(lazy.data, da.Array)
    assert eager.dtype == bool and lazy.dtype == bool
    assert eager.dims == ("time", "y", "x")
    xr.testing.assert_identical(eager, lazy.compute())
    np.testing.assert_array_equal(eager["x"], ds["x"])
    assert eager.attrs["long_name"] and eager.attrs["comment"] and eager.attrs["flag_meanings"]


def test_wrapper_values_match_kernels():
    ds = _dataset()
    qa = ds["qa_pixel"].values
    np.testing.assert_array_equal(landsat_clear_mask(ds).values, qa_pixel_clear(qa))
    expected = (
        qa_pixel_clear(qa, "strict")
        & radsat_ok(ds["qa_radsat"].values, ("red", "nir08"))
        & st_qa_ok(ds["st_qa"].values, 2.5)
        & cdist_ok(ds["st_cdist"].values, 1.0)
    )
    got = landsat_clear_mask(
        ds, preset="strict", radsat_bands=("red", "nir08"), st_qa_max_k=2.5, cdist_min_km=1.0
    )
    np.testing.assert_array_equal(got.values, expected)
    # the wrapper result on NaN rows is False
    assert not got.values[:, :4, :].any()


def test_wrapper_integer_input():
    ds_int = _dataset(float_qa=False)
    mask = landsat_clear_mask(ds_int)
    expected = (ds_int["qa_pixel"].values & 63) == 0
    np.testing.assert_array_equal(mask.values, expected)


def test_wrapper_dilation_only_grows_cloud_rejection():
    qa = np.full((1, 9, 9), 21824, dtype=np.uint16)  # clear land
    qa[0, 4, 4] = 22280  # one cloud
    qa[0, 0, :] = 1  # fill row
    qa[0, 8, 8] = 21952  # water
    ds = xr.Dataset({"qa_pixel": (("time", "y", "x"), qa)})
    keep = landsat_clear_mask(ds, dilate_px=1).values[0]
    rejected = {(int(y), int(x)) for y, x in zip(*np.nonzero(~keep), strict=True)}
    cross = {(4, 4), (3, 4), (5, 4), (4, 3), (4, 5)}
    fill = {(0, x) for x in range(9)}
    assert rejected == cross | fill  # fill not dilated; water kept


def test_wrapper_attrs_describe_preset():
    ds = _dataset()
    mask = landsat_clear_mask(ds, preset="gee", radsat_bands=[4])
    assert mask.name == "clear_mask"
    assert "'gee'" in mask.attrs["comment"] and "mask 31" in mask.attrs["comment"]
    assert "QA_RADSAT" in mask.attrs["comment"]
    assert "permissive" in sentinel2_clear_mask(ds, preset="permissive").attrs["comment"]
    assert landsat_water_mask(ds).name == "water_mask"


def test_mask_steps_keep_what_each_test_keeps_in_turn():
    """landsat_mask_steps: each step what its bits or threshold keep, after the steps before
    it (decoded by hand: fill bit 0 or NaN; bits 1-5 and cloud confidence >= 2 for 'strict';
    water bit 7; QA_RADSAT bits 3, 4 and 11; ST_QA <= 2.5 K; ST_CDIST >= 1 km), the last the
    clear-sky mask itself, on NumPy and Dask."""
    ds = _dataset()
    options = {
        "preset": replace(QA_PIXEL_PRESETS["strict"], keep_water=False),
        "radsat_bands": ("red", "nir08"),
        "st_qa_max_k": 2.5,
        "cdist_min_km": 1.0,
    }
    qa = ds["qa_pixel"].values
    codes = np.nan_to_num(qa, nan=1).astype(np.uint16)
    tests = {
        "not_fill": (codes & 1) == 0,
        "qa_pixel": ((codes & 0b111110) == 0) & (((codes >> 8) & 3) < 2),
        "not_water": (codes & 128) == 0,
        "qa_radsat": (ds["qa_radsat"].values & (8 | 16 | 2048)) == 0,
        "st_qa": ds["st_qa"].values <= 2.5,  # NaN: False
        "st_cdist": ds["st_cdist"].values >= 1.0,
    }
    steps = landsat_mask_steps(ds, **options)
    assert list(steps.data_vars) == list(tests)
    keep = np.ones(qa.shape, dtype=bool)
    for name, test in tests.items():
        keep = keep & test
        np.testing.assert_array_equal(steps[name].values, keep, err_msg=name)
    assert 0 < keep.sum() < steps["not_fill"].values.sum()
    np.testing.assert_array_equal(keep, landsat_clear_mask(ds, **options).values)
    with raise_if_dask_computes():
        lazy = landsat_mask_steps(ds.chunk({"time": 1, "y": 7, "x": 6}), **options, dilate_px=2)
    dilated = landsat_clear_mask(ds, **options, dilate_px=2)
    np.testing.assert_array_equal(lazy["st_cdist"].values, dilated.values)
    # Steps whose option is off are not there; the default preset keeps water.
    assert list(landsat_mask_steps(ds).data_vars) == ["not_fill", "qa_pixel"]


@pytest.mark.parametrize(
    "kwargs, band, fix",
    [
        ({}, "qa_pixel", "qa_pixel"),
        ({"radsat_bands": ("red",)}, "qa_radsat", "radsat_bands=None"),
        ({"st_qa_max_k": 2.0}, "st_qa", "st_qa_max_k=None"),
        ({"cdist_min_km": 1.0}, "st_cdist", "cdist_min_km=None"),
    ],
)
def test_missing_band_errors(kwargs, band, fix):
    ds = _dataset().drop_vars(band)
    with pytest.raises(BandMissingError, match=band) as info:
        landsat_clear_mask(ds, **kwargs)
    assert fix in str(info.value)
    assert isinstance(info.value, IlotsError) and isinstance(info.value, KeyError)


def test_missing_band_errors_other_wrappers():
    ds = _dataset().drop_vars(["scl", "bqa", "qa_pixel"])
    for func, band in (
        (sentinel2_clear_mask, "scl"),
        (sentinel2_water_mask, "scl"),
        (bqa_clear_mask, "bqa"),
        (landsat_water_mask, "qa_pixel"),
    ):
        with pytest.raises(BandMissingError, match=band):
            func(ds)


def test_wrapper_option_validation():
    ds = _dataset()
    with pytest.raises(ValueError, match="radius_px"):
        landsat_clear_mask(ds, dilate_px=-2)
    with pytest.raises(ValueError, match="st_qa_max_k"):
        landsat_clear_mask(ds, st_qa_max_k=0)
    with pytest.raises(ValueError, match="QA_RADSAT"):
        landsat_clear_mask(ds, radsat_bands=("lwir11",))
    with pytest.raises(ValueError, match="cloud_confidence_min"):
        bqa_clear_mask(ds, cloud_confidence_min=7)
    with pytest.raises(ValueError, match="Dataset"):
        landsat_clear_mask(ds["qa_pixel"])


# --------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------


def _read(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _one(folder, pattern):
    files = sorted(folder.glob(pattern))
    if len(files) != 1:
        pytest.skip(f"expected one {pattern} in {folder}, found {len(files)}")
    return files[0]


def _bits(value: int) -> str:
    """Bits of a 16-bit value, index i = bit i (independent of the code under test)."""
    return format(int(value), "016b")[::-1]


def _independent_qa_counts(qa: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(qa, return_counts=True)
    out = {"keep": 0, "keep_land": 0, "clear_bit_land": 0, "fill": 0}
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        bits = _bits(value)
        if bits[0] == "1":
            out["fill"] += count
        if "1" not in bits[0:6]:
            out["keep"] += count
            if bits[7] == "0":
                out["keep_land"] += count
        if bits[6] == "1" and bits[7] == "0":
            out["clear_bit_land"] += count
    return out


@pytest.mark.realdata
def test_real_landsat_t1_default_preset(real_data):
    folder = real_data / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    qa = _read(_one(folder, "*_QA_PIXEL.TIF"))
    ref = _independent_qa_counts(qa)
    keep = qa_pixel_clear(qa)
    water = qa_pixel_water(qa)
    assert int(keep.sum()) == ref["keep"] == 21_334
    assert int((keep & ~water).sum()) == ref["keep_land"] == 21_249
    # the "about 28,400 clear land pixels" of the data README counts the clear bit (6) on
    # land; it includes 7,131 pixels whose cloud-shadow bit is set
    # (23888: 6,411; 24144: 718; 56660: 2)
    assert ref["clear_bit_land"] == 28_380
    decoded = decode_qa_pixel(qa)
    clear_land = decoded["clear"] & ~decoded["water"]
    assert int((clear_land & decoded["shadow"]).sum()) == 7_131
    assert int(qa_pixel_clear(qa.astype(np.float32)).sum()) == 21_334
    # fill (value 1) is rejected everywhere
    assert not keep[qa == 1].any() and ref["fill"] == 81_507
    # strict also drops cloud-confidence-medium pixels (0x5640 = 22080)
    assert int(qa_pixel_clear(qa, "strict").sum()) == 21_334 - int((qa == 22080).sum())


@pytest.mark.realdata
def test_real_landsat_t1_dask(real_data):
    folder = real_data / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    qa = _read(_one(folder, "*_QA_PIXEL.TIF")).astype(np.float32)
    qa[qa == 1] = np.nan  # as loaded by ilots: fill -> NaN
    ds = xr.Dataset({"qa_pixel": (("y", "x"), qa)})
    with raise_if_dask_computes():
        lazy = landsat_clear_mask(ds.chunk({"y": 100, "x": 128}), dilate_px=1)
    eager = landsat_clear_mask(ds, dilate_px=1)
    xr.testing.assert_identical(lazy.compute(), eager)
    assert int(eager.sum()) < 21_334


@pytest.mark.realdata
def test_real_landsat_t2_almost_all_cloud(real_data):
    folder = real_data / "landsat_c2l2" / "LC08_L2SP_001062_20201031_20201106_02_T2"
    qa = _read(_one(folder, "*_QA_PIXEL.TIF"))
    ref = _independent_qa_counts(qa)
    # the ~62 "clear" pixels all carry the clear bit AND the cloud-shadow bit (value 23888),
    # so the default preset keeps none of them
    assert ref["clear_bit_land"] == 62
    assert int(qa_pixel_clear(qa).sum()) == ref["keep"] == 0
    assert int(qa_pixel_clear(qa, "gee").sum()) == 0
    # without the shadow bit (mask 0b101111) the 62 come back
    no_shadow = QAPixelMask(reject_bits=(0, 1, 2, 3, 5))
    assert int(qa_pixel_clear(qa, no_shadow).sum()) == 62


@pytest.mark.realdata
def test_real_landsat_st_qa(real_data):
    folder = real_data / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    dn = _read(_one(folder, "*_ST_QA.TIF"))
    kelvin = np.where(dn == -9999, np.nan, dn * 0.01)
    ok = st_qa_ok(kelvin, 5.0)
    assert int(ok.sum()) == int(((dn != -9999) & (dn <= 500)).sum())
    assert not ok[dn == -9999].any()


def _independent_bqa_keep(value: int) -> bool:
    bits = _bits(value)
    if bits[0] == "1" or bits[1] == "1" or bits[4] == "1":
        return False
    # two-bit fields, high bit second: confidence = bit(lo) + 2 * bit(hi)
    for lo in (5, 7, 9, 11):
        if int(bits[lo]) + 2 * int(bits[lo + 1]) == 3:
            return False
    return True


@pytest.mark.realdata
def test_real_bqa_collection1(real_data):
    folder = real_data / "landsat_l1" / "LC08_L1TP_016037_20170813_20170814_01_RT"
    bqa = _read(_one(folder, "*_BQA.TIF"))
    values, counts = np.unique(bqa, return_counts=True)
    expected = sum(
        c for v, c in zip(values.tolist(), counts.tolist(), strict=True) if _independent_bqa_keep(v)
    )
    keep = bqa_clear(bqa)
    assert int(keep.sum()) == expected == 26_493
    assert not keep[bqa == 1].any()
    valid = int((bqa != 1).sum())
    assert 0.4 < expected / valid < 0.8  # 58.7 % clear on the non-fill part
    # the lazy wrapper on chunks agrees
    ds = xr.Dataset({"bqa": (("y", "x"), bqa)})
    with raise_if_dask_computes():
        lazy = bqa_clear_mask(ds.chunk({"y": 64, "x": 64}))
    assert int(lazy.sum().compute()) == 26_493


@pytest.mark.realdata
def test_real_sentinel2_scl(real_data):
    scl = _read(_one(real_data / "sentinel2_l2a" / "S2A_29RKH_20200219_0_L2A", "SCL*.tif"))
    values, counts = np.unique(scl, return_counts=True)
    tally = dict(zip(values.tolist(), counts.tolist(), strict=True))
    assert int(scl_keep(scl).sum()) == tally.get(4, 0) + tally.get(5, 0)
    permissive = sum(tally.get(c, 0) for c in (2, 4, 5, 6, 7))
    assert int(scl_keep(scl, "permissive").sum()) == permissive
    assert int(scl_water(scl).sum()) == tally.get(6, 0)
    assert int(scl_keep(scl).sum()) > 0.9 * scl.size  # 96 % class 5 per the data README


def test_radsat_mask_per_output():
    """Each output rejects the saturation of its own bands (science.md §1.3: B4 = bit 3,
    B5 = bit 4, B6 = bit 5), and every output terrain occlusion (bit 11)."""
    values = np.array([[0, 8, 16, 32, 8 | 32, 2048, 1 | 64]], dtype=np.uint16)
    ds = xr.Dataset({"qa_radsat": (("y", "x"), values)})
    ndvi = landsat_radsat_mask(ds, ("red", "nir08"))
    ndbi = landsat_radsat_mask(ds, ["swir16", "nir08"])
    lst = landsat_radsat_mask(ds, ())
    np.testing.assert_array_equal(ndvi.values, [[True, False, False, True, False, False, True]])
    np.testing.assert_array_equal(ndbi.values, [[True, True, False, False, False, False, True]])
    np.testing.assert_array_equal(lst.values, [[True, True, True, True, True, False, True]])
    assert ndvi.name == "radsat_mask" and "'red', 'nir08'" in ndvi.attrs["comment"]
    assert lst.attrs["comment"] == "QA_RADSAT: terrain occlusion rejected"
    float_qa = ds.astype(np.float32).where(ds["qa_radsat"] != 32)  # NaN: missing, rejected
    np.testing.assert_array_equal(
        landsat_radsat_mask(float_qa, ()).values, [[True, True, True, False, True, False, True]]
    )
    with pytest.raises(BandMissingError, match="qa_radsat"):
        landsat_radsat_mask(ds.drop_vars("qa_radsat"), ("red",))
    with pytest.raises(ValueError, match="QA_RADSAT"):
        landsat_radsat_mask(ds, ("lwir11",))  # band 10 has no QA_RADSAT bit
