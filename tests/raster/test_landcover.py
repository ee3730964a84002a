"""Tests of raster.landcover: rules, minimum mapping unit, external maps, zonal class shares."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from raster import landcover
from raster.landcover import (
    CLASS_NAMES,
    EXTERNAL_MAPPINGS,
    OSO_MAPPING,
    WORLDCOVER_MAPPING,
    LandCover,
    LandcoverThresholds,
    classify_landcover,
    clean_minimum_mapping_unit,
    map_external_landcover,
    unmapped_codes,
)
from tests.conftest import raise_if_dask_computes
from tiles.errors import IlotsWarning

W, D, L, B, S, N = 1, 2, 3, 4, 5, 0


def test_class_codes_and_names():
    assert [int(c) for c in LandCover] == [0, 1, 2, 3, 4, 5]
    assert CLASS_NAMES[2] == "dense_vegetation" and CLASS_NAMES[4] == "built"
    assert LandCover.BARE_SOIL.label == "bare_soil"


# --------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------

# (ndvi, mndwi, ndbi) -> class, by the documented rules and their precedence
HAND = [
    ((0.8, 0.3, -0.2), W),  # water first, even with a high NDVI
    ((0.1, 0.01, 0.3), W),
    ((0.1, 0.0, 0.3), B),  # MNDWI = 0 is not water (strict >)
    ((0.5, -0.3, -0.2), D),  # NDVI = 0.5 is dense (>=)
    ((0.49, -0.3, -0.2), L),
    ((0.2, -0.3, 0.4), L),  # NDVI = 0.2 is low vegetation, before built
    ((0.19, -0.3, 0.01), B),
    ((0.19, -0.3, 0.0), S),  # NDBI = 0 is not built (strict >)
    ((-0.1, -0.5, -0.1), S),
    ((np.nan, -0.5, -0.1), N),
    ((0.3, np.nan, -0.1), N),
    ((0.3, -0.5, np.nan), N),
]


def test_rules_by_hand():
    ndvi, mndwi, ndbi = (
        np.array(v, dtype=np.float32) for v in zip(*[h[0] for h in HAND], strict=True)
    )
    out = classify_landcover(ndvi, mndwi, ndbi)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [h[1] for h in HAND])
    # float64 inputs give the same classes
    out64 = classify_landcover(ndvi.astype(np.float64), mndwi.astype(np.float64), ndbi)
    np.testing.assert_array_equal(out64, out)


def test_custom_thresholds():
    t = LandcoverThresholds(water_mndwi=0.2, dense_ndvi=0.6, low_ndvi=0.3, built_ndbi=0.1)
    out = classify_landcover(
        np.array([0.1, 0.55, 0.25, 0.25]),
        np.array([0.1, -0.1, -0.1, -0.1]),
        np.array([0.0, 0.0, 0.05, 0.15]),
        thresholds=t,
    )
    np.testing.assert_array_equal(out, [S, L, S, B])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"low_ndvi": 0.6}, "below dense_ndvi"),
        ({"dense_ndvi": 1.5}, r"outside \[-1, 1\]"),
        ({"water_mndwi": "0"}, "must be a number"),
        ({"built_ndbi": True}, "must be a number"),
    ],
)
def test_threshold_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LandcoverThresholds(**kwargs)


def test_thresholds_frozen_and_described():
    t = LandcoverThresholds()
    with pytest.raises(AttributeError):
        t.low_ndvi = 0.1  # type: ignore[misc]
    assert "NDVI >= 0.5" in t.describe() and "first rule wins" in t.describe()


def grid(values, chunks=None):
    ny, nx = np.shape(values)
    out = xr.DataArray(
        np.asarray(values),
        dims=("y", "x"),
        coords={"y": 100.0 - 10 * np.arange(ny), "x": 10.0 * np.arange(nx), "spatial_ref": 0},
    )
    if isinstance(chunks, int):
        chunks = {"y": chunks, "x": chunks}
    return out.chunk(chunks) if chunks else out


def random_indices(shape=(20, 30), seed=0):
    rng = np.random.default_rng(seed)
    ndvi, mndwi, ndbi = (rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(3))
    ndvi[rng.random(shape) < 0.05] = np.nan
    return ndvi, mndwi, ndbi


def test_dataarray_numpy_and_dask():
    arrays = random_indices()
    expected = classify_landcover(*arrays)
    eager = classify_landcover(*(grid(a) for a in arrays))
    np.testing.assert_array_equal(eager.values, expected)
    assert eager.name == "landcover" and eager.dtype == np.uint8
    assert eager.attrs["flag_meanings"].split()[1] == "water"
    assert "spatial_ref" in eager.coords
    with raise_if_dask_computes():
        lazy = classify_landcover(*(grid(a, chunks=7) for a in arrays))
        assert isinstance(lazy.data, da.Array)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_classify_refuses_non_numeric():
    with pytest.raises(TypeError, match="real-valued"):
        classify_landcover(np.array(["a"]), np.zeros(1), np.zeros(1))
    with pytest.raises(TypeError, match="LandcoverThresholds"):
        classify_landcover(np.zeros(1), np.zeros(1), np.zeros(1), thresholds={"low_ndvi": 0})


index = st.one_of(st.just(np.nan), st.floats(-1.0, 1.0, allow_nan=False, width=32))


@settings(max_examples=200, deadline=None)
@given(index, index, index)
def test_property_classes_in_range_nan_to_zero(ndvi, mndwi, ndbi):
    out = int(classify_landcover(np.float32(ndvi), np.float32(mndwi), np.float32(ndbi)))
    assert 0 <= out <= 5
    assert (out == 0) == bool(np.isnan([ndvi, mndwi, ndbi]).any())


_VEG_RANK = {S: 0, B: 0, L: 1, D: 2}


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1, 1, width=32),
    st.floats(-1, 1, width=32),
    st.floats(-1, 0, width=32),
    st.floats(-1, 1, width=32),
)
def test_property_monotonic_in_ndvi(a, b, mndwi, ndbi):
    lo, hi = sorted((a, b))
    c_lo, c_hi = (int(classify_landcover(np.float32(v), np.float32(mndwi), np.float32(ndbi)))
                  for v in (lo, hi))  # fmt: skip
    assert _VEG_RANK[c_lo] <= _VEG_RANK[c_hi]
    if c_lo in (L, D):  # once vegetated, more NDVI stays vegetated
        assert c_hi in (L, D)


# --------------------------------------------------------------------------------------------
# minimum mapping unit
# --------------------------------------------------------------------------------------------


def test_mmu_removes_speck_keeps_big_enough():
    x = np.full((7, 7), L, dtype=np.uint8)
    x[1, 1:3] = B  # 2 pixels: below 3, dissolved
    x[4:6, 4] = W  # 2 pixels
    x[5, 5] = W  # + 1 (edge-connected): 3 pixels, kept
    before = x.copy()
    out = clean_minimum_mapping_unit(x, 3)
    np.testing.assert_array_equal(x, before)  # not mutated
    expected = x.copy()
    expected[1, 1:3] = L
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.uint8


def test_mmu_majority_and_ties():
    # a single built pixel between 3 dense-vegetation and 1 low-vegetation neighbours -> 2
    x = np.array(
        [
            [D, D, D, L, L],
            [D, D, D, L, L],
            [D, D, B, L, L],
            [D, D, D, L, L],
        ],
        dtype=np.uint8,
    )
    out = clean_minimum_mapping_unit(x, 2)
    assert out[2, 2] == D
    # 2 votes each (4-neighbours): the tie goes to the lowest code
    y = x.copy()
    y[:, 2] = [D, D, B, L]
    y[:, 3:] = L
    y[:, :2] = D
    out = clean_minimum_mapping_unit(y, 2)
    assert out[2, 2] == D  # neighbours: up D, down L, left D, right L -> D (2) < L (3)


def test_mmu_adjacent_specks_form_one_hole():
    x = np.full((6, 6), S, dtype=np.uint8)
    x[2, 2] = W
    x[2, 3] = B  # two different small regions, touching: one hole, filled with S
    out = clean_minimum_mapping_unit(x, 2)
    assert (out == S).all()


def test_mmu_nodata_never_filled_never_votes():
    x = np.array(
        [
            [N, N, N, N],
            [N, B, N, L],
            [N, N, N, L],
        ],
        dtype=np.uint8,
    )
    out = clean_minimum_mapping_unit(x, 2)
    assert out[1, 1] == B  # touches only no data: kept
    np.testing.assert_array_equal(out == N, x == N)
    y = np.array([[N, N, L, L], [N, B, L, L], [N, N, L, L]], dtype=np.uint8)
    assert clean_minimum_mapping_unit(y, 2)[1, 1] == L  # the no-data majority does not win


def test_mmu_connectivity():
    x = np.full((5, 5), L, dtype=np.uint8)
    x[1, 1] = x[2, 2] = x[3, 3] = B  # diagonal line of 3
    assert (clean_minimum_mapping_unit(x, 3, connectivity=1) == L).all()
    np.testing.assert_array_equal(clean_minimum_mapping_unit(x, 3, connectivity=2), x)


def test_mmu_holes_do_not_wrap_around_rows():
    # (1, 5) ends a row and (2, 0) starts the next: neighbours in the flat order, not on the
    # raster. Apart, each takes its own 5 votes (D; W); joined they would tie 5-5 and both
    # become W (the lowest code).
    x = np.full((4, 6), L, dtype=np.uint8)
    x[0:3, 4:6] = D
    x[1:4, 0:2] = W
    x[1, 5] = x[2, 0] = B
    for connectivity in (1, 2):
        out = clean_minimum_mapping_unit(x, 2, connectivity=connectivity)
        assert (out[1, 5], out[2, 0]) == (D, W)


def test_mmu_regions_without_a_square_or_with_a_tail():
    # 4 px units: B's 2 x 2 square with a 1 px tail is one region of 5 (kept, tail too); a
    # line of 4 has no 2 x 2 square but 4 px (kept); a line of 3 is dissolved.
    x = np.full((9, 9), L, dtype=np.uint8)
    x[1:3, 1:3] = B
    x[3, 1] = B  # the square's tail
    x[5, 1:5] = W  # a line of 4
    x[7, 1:4] = S  # a line of 3
    out = clean_minimum_mapping_unit(x, 4)
    expected = x.copy()
    expected[7, 1:4] = L
    np.testing.assert_array_equal(out, expected)
    # 10 px units (regions labelled whole): 3 x 3 (9 px) dissolved, 2 x 5 (10 px) kept
    y = np.full((9, 9), L, dtype=np.uint8)
    y[0:3, 0:3] = B
    y[5:7, 2:7] = W
    expected = y.copy()
    expected[0:3, 0:3] = L
    np.testing.assert_array_equal(clean_minimum_mapping_unit(y, 10), expected)


def test_mmu_zero_or_one_is_identity():
    x = np.random.default_rng(1).integers(0, 6, (8, 8)).astype(np.uint8)
    np.testing.assert_array_equal(clean_minimum_mapping_unit(x, 0), x)
    np.testing.assert_array_equal(clean_minimum_mapping_unit(x, 1), x)


def blocky_map_with_specks(seed=0, block=6, n=8, specks=40):
    """Big same-class blocks (36 px) and isolated 1-2 px specks that do not touch each other."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(1, 6, (n, n)).astype(np.uint8)
    x = np.kron(coarse, np.ones((block, block), dtype=np.uint8))
    taken = np.zeros(x.shape, dtype=bool)
    placed = 0
    while placed < specks:
        r, c = rng.integers(1, x.shape[0] - 2, 2)
        if taken[r - 1 : r + 3, c - 1 : c + 3].any():
            continue
        x[r, c] = x[r, c + 1] = rng.integers(1, 6)
        taken[r - 1 : r + 3, c - 1 : c + 3] = True
        placed += 1
    return x


@pytest.mark.parametrize("chunks", [5, 8, (7, 11)])
def test_mmu_dask_equals_numpy(chunks):
    x = blocky_map_with_specks()
    expected = clean_minimum_mapping_unit(x, 3)
    assert (expected != x).any()  # something was cleaned
    lazy = clean_minimum_mapping_unit(da.from_array(x, chunks=chunks), 3)
    assert isinstance(lazy, da.Array) and lazy.chunks == da.from_array(x, chunks=chunks).chunks
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_mmu_dataarray_lazy():
    x = blocky_map_with_specks(seed=2)
    labelled = grid(x).assign_attrs(flag_meanings="x").rename("landcover")
    eager = clean_minimum_mapping_unit(labelled, 3)
    assert eager.attrs["minimum_mapping_unit_px"] == 3 and eager.attrs["flag_meanings"] == "x"
    with raise_if_dask_computes():
        lazy = clean_minimum_mapping_unit(grid(x, chunks=9).rename("landcover"), 3)
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert "spatial_ref" in lazy.coords


def mmu_by_class_labels(x, min_pixels, connectivity):
    """The MMU rule the slow way: SciPy labels each class's regions, then the holes; every
    vote is counted by a loop over the hole pixels and their neighbours."""
    structure = ndimage.generate_binary_structure(2, connectivity)
    small = np.zeros(x.shape, dtype=bool)
    for code in np.unique(x[x != 0]):
        regions, _ = ndimage.label(x == code, structure=structure)
        sizes = np.bincount(regions.ravel())
        small |= (regions > 0) & (sizes[regions] < min_pixels)
    holes, n_holes = ndimage.label(small, structure=structure)
    out = x.copy()
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
               if structure[dy + 1, dx + 1] and (dy, dx) != (0, 0)]  # fmt: skip
    for h in range(1, n_holes + 1):
        votes = {}
        pixels = np.argwhere(holes == h)
        for y, x_ in pixels:
            for dy, dx in offsets:
                yy, xx = y + dy, x_ + dx
                if 0 <= yy < x.shape[0] and 0 <= xx < x.shape[1]:
                    if not small[yy, xx] and x[yy, xx] != 0:
                        votes[int(x[yy, xx])] = votes.get(int(x[yy, xx]), 0) + 1
        if votes:
            most = max(votes.values())
            out[tuple(pixels.T)] = min(c for c, v in votes.items() if v == most)
    return out


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 30), st.integers(1, 30)),
    n_codes=st.integers(1, 6),
    blocky=st.booleans(),
    min_pixels=st.integers(2, 9),
    connectivity=st.sampled_from([1, 2]),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.int64]),
)
def test_mmu_is_the_rule_with_class_labels(
    seed, shape, n_codes, blocky, min_pixels, connectivity, dtype
):
    # Speckled or blocky maps with no data (0): regions, holes and votes of every shape.
    rng = np.random.default_rng(seed)
    if blocky:
        coarse = rng.integers(0, n_codes + 1, (shape[0] // 3 + 1, shape[1] // 3 + 1))
        x = np.kron(coarse, np.ones((3, 3), dtype=np.int64))[: shape[0], : shape[1]]
        specks = rng.random(shape) < 0.15
        x[specks] = rng.integers(0, n_codes + 1, specks.sum())
    else:
        x = rng.integers(0, n_codes + 1, shape)
    x = x.astype(dtype)
    got = clean_minimum_mapping_unit(x, min_pixels, connectivity=connectivity)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, mmu_by_class_labels(x, min_pixels, connectivity))


def random_classes(rng, shape, n_codes):
    """A small class raster with no data: salt and pepper, blocks with specks and blobs, or
    a few big regions with specks on the array's edges."""
    kind = rng.integers(3)
    if kind == 0:
        return rng.integers(0, n_codes + 1, shape)
    side = int(rng.integers(2, 13)) if kind == 1 else int(rng.integers(10, 21))
    coarse = rng.integers(0, n_codes + 1, (shape[0] // side + 1, shape[1] // side + 1))
    x = np.kron(coarse, np.ones((side, side), dtype=np.int64))[: shape[0], : shape[1]]
    specks = rng.random(shape) < rng.uniform(0, 0.3 if kind == 1 else 0.05)
    if kind == 1:  # specks of 1 px, or blobs of a few (iterations=0 would fill the array)
        if grow := int(rng.integers(0, 3)):
            specks = ndimage.binary_dilation(specks, iterations=grow)
    else:  # on the edges: regions cut by the block's border
        specks[1:-1, 1:-1] &= rng.random((max(shape[0] - 2, 0), max(shape[1] - 2, 0))) < 0.2
    x[specks] = rng.integers(0, n_codes + 1, int(specks.sum()))
    return x


#: The kernel's paths: its own choice, or sparse (one-class squares up to 7 px, votes at the
#: small pixels) or dense (the block labelled, votes over the block) whatever the shares.
PATHS = {
    "chosen": {},
    "sparse": {"_MAX_SQUARE": 7, "_SPARSE_SHARE": 1.0, "_DENSE_HOLES_SHARE": 1.0},
    "dense": {"_SPARSE_SHARE": 0.0, "_DENSE_HOLES_SHARE": 0.0},
}


def _counted(name, calls):
    """``raster.landcover.<name>``, counting its calls in ``calls``."""
    function = getattr(landcover, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        return function(*args, **kwargs)

    return counted


@pytest.mark.parametrize("path", PATHS)
def test_mmu_units_up_to_40_px_on_every_path_is_the_rule(path, monkeypatch):
    # Units 1-40 px (the default 3,600 m² at 10 m is 36 px) on random small blocks.
    for name, value in PATHS[path].items():
        monkeypatch.setattr(f"raster.landcover.{name}", value)
    calls = {"_sparse_votes": 0, "_dense_votes": 0}
    for name in calls:
        monkeypatch.setattr(f"raster.landcover.{name}", _counted(name, calls))
    rng = np.random.default_rng(list(PATHS).index(path))
    for _ in range(250):
        shape = tuple(int(n) for n in rng.integers(1, 41, 2))
        x = random_classes(rng, shape, int(rng.integers(1, 6))).astype(np.uint8)
        if rng.random() < 0.25:  # codes far apart: uint8 up to 255, int16 up to 1,200
            dtype, top = (np.uint8, 256) if rng.random() < 0.5 else (np.int16, 1200)
            codes = np.r_[0, rng.choice(np.arange(1, top), 5, replace=False)]
            x = codes[x].astype(dtype)
        min_pixels, connectivity = int(rng.integers(1, 41)), int(rng.integers(1, 3))
        got = clean_minimum_mapping_unit(x, min_pixels, connectivity=connectivity)
        expected = mmu_by_class_labels(x, min_pixels, connectivity)
        np.testing.assert_array_equal(got, expected, err_msg=f"{shape} {min_pixels} {connectivity}")
    took = {name for name, n in calls.items() if n}  # each forced path its own; chosen both
    assert took == {"chosen": set(calls), "sparse": {"_sparse_votes"},
                    "dense": {"_dense_votes"}}[path]  # fmt: skip


@pytest.mark.parametrize("chunked", [False, True])
def test_mmu_refuses_negative_codes(chunked):
    """A code -1 beside a hole would vote in another hole's row: refused, saying the fix."""
    x = np.array([[2, 2, 2, 2], [2, -1, 3, 2], [2, 2, 2, 2]], dtype=np.int16)
    data = da.from_array(x, chunks=2) if chunked else x
    with pytest.raises(ValueError, match=r"codes must be 0 \(no data\) or positive, got -1; "):
        np.asarray(clean_minimum_mapping_unit(data, 2, depth=1))


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((np.zeros((3, 3), np.uint8), -1), {}, ValueError),
        ((np.zeros((3, 3), np.uint8), 2.5), {}, ValueError),
        ((np.zeros((3, 3), np.uint8), 2), {"connectivity": 3}, ValueError),
        ((np.zeros((3, 3), np.uint8), 2), {"depth": -1}, ValueError),
        ((np.zeros(3, np.uint8), 2), {}, ValueError),
        ((np.zeros((3, 3)), 2), {}, TypeError),
    ],
)
def test_mmu_errors(args, kwargs, error):
    with pytest.raises(error):
        clean_minimum_mapping_unit(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# external maps
# --------------------------------------------------------------------------------------------


def test_worldcover_mapping():
    codes = np.array([[10, 20, 30, 40], [50, 60, 80, 90], [0, 70, 95, 100]], dtype=np.uint8)
    out = map_external_landcover(codes, "worldcover")
    np.testing.assert_array_equal(out, [[D, L, L, L], [B, S, W, W], [N, N, D, L]])
    assert out.dtype == np.uint8


def test_oso_mapping_covers_the_23_classes():
    codes = np.arange(1, 24)
    out = map_external_landcover(codes, OSO_MAPPING)
    np.testing.assert_array_equal(out[:4], B)  # urban classes 1-4
    assert out[15] == out[16] == D  # forests 16, 17
    assert out[22] == W and out[21] == N  # water 23, glaciers 22
    assert set(EXTERNAL_MAPPINGS) == {"worldcover", "oso", "corine", "corine_grid"}
    assert all(0 <= v <= 5 for m in EXTERNAL_MAPPINGS.values() for v in m.values())


#: GRID_CODE -> CODE_18 of the EEA's CORINE rasters, from their legend (clc_legend.csv: the
#: 44 level-3 classes numbered 1-44 in the nomenclature's order), a sample of each level 1.
EEA_GRID_CODES = {1: 111, 2: 112, 3: 121, 7: 131, 10: 141, 11: 142, 12: 211, 18: 231,
                  22: 244, 23: 311, 26: 321, 29: 324, 30: 331, 34: 335, 35: 411, 39: 423,
                  40: 511, 44: 523}  # fmt: skip


def test_corine_grid_reads_the_eea_raster_grid_codes_as_their_three_digit_codes():
    """The EEA's 100 m raster stores GRID_CODE 1-44 (48: no data), not CODE_18: 'corine_grid'
    gives a grid code the class 'corine' gives its three-digit code."""
    grid_codes = np.array(list(EEA_GRID_CODES), dtype=np.uint8)
    three_digit = np.array(list(EEA_GRID_CODES.values()), dtype=np.uint16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unknown code
        by_grid = map_external_landcover(grid_codes, "corine_grid")
        np.testing.assert_array_equal(by_grid, map_external_landcover(three_digit, "corine"))
        # the table's choices: urban fabric built, green urban and sport areas low
        # vegetation, broad-leaved forest dense, glaciers no data, sea and ocean water
        assert by_grid[0] == B and by_grid[4] == by_grid[5] == L and by_grid[9] == D
        assert by_grid[13] == N and by_grid[-1] == W
        # no data of the rasters (48; the 2018 raster's -128, read as unsigned 128) and of
        # the vector product (999)
        nodata = map_external_landcover(np.array([48.0, 128.0, -128.0]), "corine_grid")
        np.testing.assert_array_equal(nodata, N)
        np.testing.assert_array_equal(map_external_landcover(np.array([999]), "corine"), N)


def test_corine_and_corine_grid_share_no_code():
    """'corine' read the grid codes 1-44 too, so OSO's codes (1-23) and WorldCover's (10-40)
    were CORINE classes under it (OSO's crops 5 and 6 ports and airports, so built;
    WorldCover's cropland 40 water courses) and no unknown code stopped the run. Each
    coding has its own mapping now: none reads the other's codes."""
    grid = np.arange(1, 45)
    assert unmapped_codes(grid, "corine") == dict.fromkeys(range(1, 45), 1)
    assert unmapped_codes(np.array([5, 6, 40]), "corine") == {5: 1, 6: 1, 40: 1}
    three_digit = list(EEA_GRID_CODES.values())
    assert unmapped_codes(np.array(three_digit), "corine_grid") == dict.fromkeys(three_digit, 1)


def test_unknown_codes_warn_and_nan_is_silent():
    values = np.array([10.0, 12.0, np.nan, 80.0, 12.0, 255.0])
    with pytest.warns(IlotsWarning, match=r"\[12, 255\].*add them") as said:
        out = map_external_landcover(values, WORLDCOVER_MAPPING)
    assert [w.message.code for w in said] == ["unknown_landcover_codes"]
    assert unmapped_codes(values, "worldcover") == {12: 2, 255: 1}
    np.testing.assert_array_equal(out, [D, N, N, W, N, N])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        map_external_landcover(np.array([10.0, np.nan]), "WorldCover")


def test_custom_mapping_and_errors():
    out = map_external_landcover(np.array([111, 311, 512]), {111: 4, 311: 2, 512: 1})
    np.testing.assert_array_equal(out, [B, D, W])
    with pytest.raises(ValueError, match="not an ilots class"):
        map_external_landcover(np.array([1]), {1: 9})
    with pytest.raises(ValueError, match="not an integer"):
        map_external_landcover(np.array([1]), {"1": 2})
    with pytest.raises(ValueError, match="unknown land-cover mapping"):
        map_external_landcover(np.array([1]), "glc2000")
    with pytest.raises(ValueError, match="non-empty"):
        map_external_landcover(np.array([1]), {})


def test_external_dask_lazy_and_warns_at_compute():
    codes = grid(np.array([[10, 50, 7], [80, 80, 30]], dtype=np.uint8), chunks={"y": 1, "x": 3})
    with raise_if_dask_computes():
        lazy = map_external_landcover(codes, "worldcover")  # no warning while building
    assert isinstance(lazy.data, da.Array) and lazy.name == "landcover"
    assert "worldcover" in lazy.attrs["source"]
    with pytest.warns(IlotsWarning, match=r"\[7\]"):
        values = lazy.values
    np.testing.assert_array_equal(values, [[D, B, N], [W, W, L]])


def test_class_shares_with_zonal_frac():
    gpd = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely")
    odc_xr = pytest.importorskip("odc.geo.xr")
    from odc.geo.geobox import GeoBox

    from raster.zonal import zonal_stats

    gbox = GeoBox.from_bbox((0, 0, 40, 40), "EPSG:32631", resolution=10)
    classes = odc_xr.xr_zeros(gbox, dtype="uint8")
    classes.values[:] = [[W, W, D, D], [W, W, D, D], [B, B, N, S], [B, B, S, S]]
    zones = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.box(0, 0, 20, 40), shapely.box(20, 0, 40, 40)],
        crs="EPSG:32631",
    )
    # no data (0) is not a class: mask it so shares are over classified pixels
    table = zonal_stats(classes.where(classes > 0), zones, id="id", stats="frac")
    assert table.loc[0, "frac_1"] == 0.5 and table.loc[0, "frac_4"] == 0.5
    np.testing.assert_allclose(table.loc[1, ["frac_2", "frac_5"]].to_numpy(float), [4 / 7, 3 / 7])
