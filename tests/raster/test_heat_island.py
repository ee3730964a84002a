"""Tests of raster.heat_island: ring distances, rural reference, ΔT, z-score (Zs-1), SUHII."""

from __future__ import annotations

import contextlib
import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from raster.composite import temporal_composite
from raster.heat_island import (
    _edge_pixels,
    lst_anomaly,
    rural_reference_mask,
    rural_ring,
    scene_reference,
    scene_zscore_against,
    suhii,
    urban_footprint_from_landcover,
    urban_footprint_from_zones,
    warn_empty_mask,
)
from tests.conftest import raise_if_dask_computes
from tiles.errors import CRSError, GridError, IlotsWarning, collected_warnings

RES = 10.0


def yx(values, res=(RES, RES), chunks=None, name=None):
    values = np.asarray(values)
    ny, nx = values.shape
    ry, rx = res
    out = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": 1000.0 - ry * (np.arange(ny) + 0.5), "x": 500.0 + rx * (np.arange(nx) + 0.5)},
        name=name,
    )
    return out.chunk({"y": chunks, "x": chunks}) if chunks else out


def footprint_5x5(n=15):
    u = np.zeros((n, n), dtype=bool)
    u[5:10, 5:10] = True
    return u


def brute_force_distance(urban, ry, rx):
    """Independent oracle: min over urban pixel centres of the Euclidean distance."""
    rows, cols = np.nonzero(urban)
    r, c = np.indices(urban.shape)
    d = np.hypot((r[..., None] - rows) * ry, (c[..., None] - cols) * rx)
    return d.min(axis=-1)


# --------------------------------------------------------------------------------------------
# ring
# --------------------------------------------------------------------------------------------


def test_ring_hand_distances_5x5_footprint():
    ring = rural_ring(yx(footprint_5x5()), inner_m=10, outer_m=30).values
    # distances to the 5x5 block (rows/cols 5..9), 10 m pixels, computed by hand
    assert not ring[4, 7]  # 10 m: not > inner
    assert ring[3, 7]  # 20 m
    assert ring[2, 7]  # 30 m: <= outer
    assert not ring[1, 7]  # 40 m
    assert ring[4, 4]  # 10*sqrt(2) = 14.1 m
    assert ring[3, 3]  # 10*sqrt(8) = 28.3 m
    assert not ring[2, 3]  # 10*sqrt(13) = 36.1 m
    assert not ring[7, 7]  # urban: d = 0
    # by hand: each side has 2 rows x 5 px at 20 and 30 m; each corner has the 4 offsets
    # (1, 1), (1, 2), (2, 1), (2, 2) px, at 14.1, 22.4, 22.4 and 28.3 m
    assert ring.sum() == 4 * 10 + 4 * 4


@pytest.mark.parametrize(("inner", "outer", "res"), [(0, 25, (10, 10)), (15, 60, (20, 10))])
def test_ring_matches_brute_force(inner, outer, res):
    rng = np.random.default_rng(4)
    urban = rng.random((17, 19)) < 0.04
    urban[8, 9] = True
    d = brute_force_distance(urban, *res)
    ring = rural_ring(yx(urban, res=res), inner_m=inner, outer_m=outer).values
    np.testing.assert_array_equal(ring, (d > inner) & (d <= outer))


@pytest.mark.parametrize(
    ("inner", "outer", "res", "seed"),
    [
        (0, 200, (10, 10), 0),  # ring right outside the footprint
        (100, 500, (10, 10), 1),  # integer distances: ties exactly on both limits
        (90, 400, (20, 10), 2),  # rectangular pixels
        (30, 1000, (10, 10), 3),  # ring wider than the array
    ],
)
def test_large_ring_coarse_to_fine_matches_brute_force(inner, outer, res, seed):
    """Arrays large enough for the coarse distance transform: still exact, pixel for pixel."""
    rng = np.random.default_rng(seed)
    urban = np.zeros((90, 110), dtype=bool)
    for _ in range(4):  # a few blobs and a scatter of single pixels
        r, c = rng.integers(0, 90), rng.integers(0, 110)
        urban[max(r - 6, 0) : r + 6, max(c - 9, 0) : c + 4] = True
    urban |= rng.random(urban.shape) < 0.002
    d = brute_force_distance(urban, *res)
    ring = rural_ring(yx(urban, res=res), inner_m=inner, outer_m=outer).values
    np.testing.assert_array_equal(ring, (d > inner) & (d <= outer))
    assert ring.any() and not ring.all()


def test_large_ring_with_the_footprint_on_the_array_edges():
    """Urban pixels on all four borders (outside the array is not urban) and an array whose
    sides are not multiples of the coarse blocks: still the brute-force ring."""
    rng = np.random.default_rng(7)
    urban = rng.random((93, 107)) < 0.002
    urban[0, 10:30] = urban[-1, 60:70] = urban[40:50, 0] = urban[5:9, -1] = True
    d = brute_force_distance(urban, 10, 10)
    ring = rural_ring(yx(urban), inner_m=40, outer_m=170).values
    np.testing.assert_array_equal(ring, (d > 40) & (d <= 170))


def test_ring_of_an_x_y_footprint_and_of_column_major_data():
    """Dims (x, y), or (y, x) over Fortran-ordered data: the same ring as (y, x) row-major
    (sides multiples of the coarse blocks: the data are not copied into a padded array)."""
    rng = np.random.default_rng(8)
    urban = rng.random((92, 112)) < 0.01
    d = brute_force_distance(urban, 10, 10)
    expected = (d > 30) & (d <= 250)
    as_xy = yx(urban).transpose("x", "y")
    np.testing.assert_array_equal(rural_ring(as_xy, inner_m=30, outer_m=250).values, expected)
    column_major = yx(urban).copy(data=np.asfortranarray(urban))
    ring = rural_ring(column_major, inner_m=30, outer_m=250).values
    np.testing.assert_array_equal(ring, expected)


@pytest.mark.parametrize("seed", range(6))
def test_ring_edge_pixels_are_those_of_a_binary_erosion(seed):
    rng = np.random.default_rng(seed)
    urban = rng.random((rng.integers(1, 40), rng.integers(1, 40))) < rng.uniform(0.05, 0.9)
    urban[0, :] |= seed % 2 == 0  # on the border, where scipy's border_value=0 counts
    urban[:, -1] |= seed % 3 == 0
    if not urban.any():
        urban[0, 0] = True
    expected = np.nonzero(urban & ~ndimage.binary_erosion(urban, border_value=0))
    got = _edge_pixels(urban)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize(("chunks", "outer"), [(4, 30), (4, 60), (7, 45)])
def test_ring_dask_equals_numpy_and_is_lazy(chunks, outer):
    rng = np.random.default_rng(1)
    urban = rng.random((23, 21)) < 0.03
    eager = rural_ring(yx(urban), inner_m=10, outer_m=outer)
    with raise_if_dask_computes():
        lazy = rural_ring(yx(urban, chunks=chunks), inner_m=10, outer_m=outer)
    assert isinstance(lazy.data, da.Array)
    assert lazy.chunks == yx(urban, chunks=chunks).chunks  # halo wider than chunks: restored
    xr.testing.assert_identical(lazy.compute(), eager)


def test_ring_attrs_and_empty_footprint():
    ring = rural_ring(yx(footprint_5x5()))
    assert ring.attrs["ring_inner_m"] == 2000 and ring.attrs["ring_outer_m"] == 10000
    assert "2000-10000 m" in ring.attrs["definition"]
    empty = rural_ring(yx(np.zeros((5, 5), dtype=bool)), inner_m=0, outer_m=100)
    assert not empty.values.any()


def test_ring_errors():
    u = yx(footprint_5x5())
    with pytest.raises(ValueError, match="inner_m < outer_m"):
        rural_ring(u, inner_m=100, outer_m=100)
    with pytest.raises(ValueError, match="resolution"):
        rural_ring(xr.DataArray(np.ones((1, 1), bool), dims=("y", "x")))
    ring = rural_ring(
        xr.DataArray(footprint_5x5(), dims=("y", "x")), inner_m=0, outer_m=20, resolution=10
    )
    np.testing.assert_array_equal(ring.values, rural_ring(u, outer_m=20, inner_m=0).values)
    with pytest.raises(ValueError, match="2-D"):
        rural_ring(u.expand_dims(time=1))
    odc_xr = pytest.importorskip("odc.geo.xr")
    from odc.geo.geobox import GeoBox

    geographic = odc_xr.xr_zeros(GeoBox.from_bbox((4, 45, 4.1, 45.1), 4326, resolution=0.01))
    with pytest.raises(CRSError, match="geographic"):
        rural_ring(geographic.astype(bool))


# --------------------------------------------------------------------------------------------
# reference mask
# --------------------------------------------------------------------------------------------


def test_reference_mask_filters():
    ring = rural_ring(yx(footprint_5x5()), inner_m=0, outer_m=30)
    water = yx(np.zeros((15, 15), bool))
    water[2, :] = True
    built = yx(np.zeros((15, 15), bool))
    built[:, 2] = True
    dem = yx(np.full((15, 15), 200.0))
    dem[12, :] = 300.0  # too high
    dem[13, 7] = np.nan
    mask = rural_reference_mask(
        ring, water=water, built=built, elevation=dem, urban_elevation=210.0, tolerance_m=50
    )
    expected = ring.values & ~water.values & ~built.values & (np.abs(dem.values - 210) <= 50)
    np.testing.assert_array_equal(mask.values, expected)
    assert not mask.values[2].any() and not mask.values[12].any() and not mask.values[13, 7]
    assert mask.values.sum() < ring.values.sum()
    text = mask.attrs["reference_definition"]
    assert "0-30 m" in text and "water" in text and "built" in text and "±50 m of 210 m" in text
    assert mask.attrs["ring_outer_m"] == 30


def test_reference_mask_errors():
    ring = rural_ring(yx(footprint_5x5()), inner_m=0, outer_m=30)
    with pytest.raises(ValueError, match="urban_elevation"):
        rural_reference_mask(ring, elevation=yx(np.zeros((15, 15))))
    shifted = yx(np.zeros((15, 15), bool)).assign_coords(x=lambda d: d.x + 5)
    with pytest.raises(GridError, match="same y/x grid"):
        rural_reference_mask(ring, water=shifted)


# --------------------------------------------------------------------------------------------
# per-scene reference, ΔT, z-score, SUHII
# --------------------------------------------------------------------------------------------


def city(offsets=(0.0, 3.0), urban_excess=5.0, rural=300.0, chunks=None):
    """Synthetic scenes: rural 300 K + offset, urban +5 K, noise-free; 15x15, 10 m."""
    urban = footprint_5x5()
    base = np.where(urban, rural + urban_excess, rural)
    lst = np.stack([base + o for o in offsets]).astype(np.float32)
    da_ = xr.DataArray(
        lst,
        dims=("time", "y", "x"),
        coords={"time": np.arange(len(offsets)), **yx(urban).coords},
        name="lst",
        attrs={"units": "K"},
    )
    if chunks:
        da_ = da_.chunk({"time": 1, "y": chunks, "x": chunks})
    return da_, yx(urban, name="urban")


def test_scene_reference_anomaly_and_suhii_exact():
    lst, urban = city()
    ring = rural_ring(urban, inner_m=10, outer_m=40)
    mask = rural_reference_mask(ring)
    ref = scene_reference(lst, mask)
    np.testing.assert_array_equal(ref.values, [300.0, 303.0])
    assert ref.dims == ("time",) and ref.attrs["units"] == "K"
    assert (ref.n_reference_pixels.values == mask.values.sum()).all()
    assert ref.attrs["ring_inner_m"] == 10 and "10-40 m" in ref.attrs["reference_definition"]
    dt = lst_anomaly(lst, ref)
    # two scenes differing by +3 K give identical ΔT
    np.testing.assert_array_equal(dt.values[0], dt.values[1])
    assert dt.values[0][urban.values].tolist() == [5.0] * 25
    assert (dt.values[0][~urban.values] == 0).all()
    assert dt.dtype == np.float32 and dt.attrs["units"] == "K"
    tagged = lst.assign_attrs(standard_name="surface_temperature", long_name="LST")
    assert "standard_name" not in lst_anomaly(tagged, ref).attrs  # a ΔT is no temperature
    assert "standard_name" not in scene_zscore_against(tagged, mask).attrs
    out = suhii(lst, urban, mask)
    np.testing.assert_array_equal(out["suhii"].values, [5.0, 5.0])
    np.testing.assert_array_equal(out["rural_mean"].values, [300.0, 303.0])
    assert (out["n_urban"].values == 25).all()
    assert out.attrs["ring_outer_m"] == 40 and "urban" in out.attrs["urban_definition"].lower()
    # the composite value: SUHII of the median composite, and of the ΔT composite
    comp = temporal_composite(lst, min_clear=1)
    assert float(suhii(comp["median"], urban, mask)["suhii"]) == 5.0
    comp_dt = temporal_composite(dt, min_clear=1)
    assert float(suhii(comp_dt["median"], urban, mask)["suhii"]) == 5.0


def test_reference_skips_nan_and_min_pixels():
    lst, urban = city()
    mask = rural_reference_mask(rural_ring(urban, inner_m=10, outer_m=40))
    cloudy = lst.copy()
    hole = mask.values.copy()
    hole[:, :7] = False  # half the ring stays clear in scene 1
    cloudy.values[1][mask.values & ~hole] = np.nan
    cloudy.values[1][hole] = 310.0
    ref = scene_reference(cloudy, mask)
    assert ref.values[1] == 310.0 and ref.n_reference_pixels.values[1] == hole.sum()
    with pytest.warns(IlotsWarning, match="1 of 2 scene"):
        strict = scene_reference(cloudy, mask, min_pixels=int(hole.sum()) + 1).values
    assert strict[0] == 300.0 and np.isnan(strict[1])


def test_min_frac_drops_a_scene_with_a_sliver_of_clear_ring():
    """min_frac: a scene whose clear reference pixels are under that share of the mask's gets
    no reference. A hand-made mask of 30 pixels: 3 clear (10 %, 3/30 is 0.1 exactly while
    0.1 * 30 is 3.0000000000000004) keep a reference, their mean; 2 clear (6.7 %) none."""
    lst, _ = city(offsets=(0.0, 3.0, 6.0))
    mask = yx(np.zeros((15, 15), bool))
    mask.values[:2, :15] = True  # 30 pixels
    cloudy = lst.copy()
    cloudy.values[1, 0, 3:] = cloudy.values[1, 1] = np.nan  # 3 clear: (0, 0), (0, 1), (0, 2)
    cloudy.values[1, 0, :3] = [301.0, 302.0, 306.0]
    cloudy.values[2, 0, 2:] = cloudy.values[2, 1] = np.nan  # 2 clear: (0, 0), (0, 1)
    cloudy.values[2, 0, :2] = [290.0, 292.0]
    assert scene_reference(cloudy, mask).values[2] == 291.0  # no share asked: 2 pixels do
    with pytest.warns(IlotsWarning) as said:
        ref = scene_reference(cloudy, mask, min_frac=0.1)
    assert ref.values[0] == 300.0 and ref.values[1] == 303.0 and np.isnan(ref.values[2])
    assert ref.n_reference_pixels.values.tolist() == [30, 3, 2]
    assert ref.attrs["min_frac"] == 0.1
    assert [str(w.message) for w in said] == [
        "1 of 3 scene(s) have too few clear pixels in the rural reference (under 10% of its "
        "30 grid pixels): their mean is NaN (and so their ΔT / SUHII)"
    ]
    assert said[0].message.code == "no_clear_pixels"
    with pytest.warns(
        IlotsWarning, match=r"\(under 10% of its 30 grid pixels, or fewer than 4 grid pixels\)"
    ):
        both = scene_reference(cloudy, mask, min_pixels=4, min_frac=0.1)
    assert both.values[0] == 300.0 and np.isnan(both.values[1:]).all()
    for wrong in (-0.1, 1.5, True):
        with pytest.raises(ValueError, match="min_frac must be a share from 0 to 1"):
            scene_reference(cloudy, mask, min_frac=wrong)


def _thin_city(chunks=None):
    """Two scenes of :func:`city` (rural 300 and 303 K, urban +5 K) and a ring of 10-40 m.

    Scene 0: 4 clear reference pixels, at 299 K; scene 1: 2 of the 25 urban pixels clear
    (8 %), at 310 and 312 K. By hand, with no minimum: SUHII 305 - 299 = 6 K and
    311 - 303 = 8 K.
    """
    lst, urban = city()
    mask = rural_reference_mask(rural_ring(urban, inner_m=10, outer_m=40))
    rows, cols = np.nonzero(mask.values)
    lst.values[0][mask.values] = np.nan
    lst.values[0, rows[:4], cols[:4]] = 299.0
    lst.values[1][urban.values] = np.nan
    lst.values[1, 5, 5:7] = [310.0, 312.0]
    if chunks:
        lst = lst.chunk({"time": 1, "y": chunks, "x": chunks})
        urban, mask = urban.chunk({"y": chunks, "x": chunks}), mask.chunk(chunks)
    return lst, urban, mask


@pytest.mark.parametrize("chunks", [None, 4], ids=["numpy", "dask"])
def test_suhii_minimums_apply_to_both_means(chunks):
    """min_pixels and min_frac as clear_enough, on each mask: 2 clear urban pixels are fewer
    than 3 (4 reference pixels are not); 4 of the 92 reference pixels (4.3 %) are under 5 %
    (2 of 25 urban pixels, 8 %, are not). The means under them are NaN, so is their SUHII,
    each said once; the counts are kept. The defaults keep every mean (hand values in
    _thin_city). On Dask, building the graphs reads no pixel."""
    lst, urban, mask = _thin_city(chunks)
    with collected_warnings() as said, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with raise_if_dask_computes() if chunks else contextlib.nullcontext():
            plain = suhii(lst, urban, mask)
            few = suhii(lst, urban, mask, min_pixels=3)
            share = suhii(lst, urban, mask, min_frac=0.05)
        plain, few, share = plain.compute(), few.compute(), share.compute()
    assert said == [
        "1 of 2 scene(s) have too few clear pixels in the urban footprint (fewer than 3 grid "
        "pixels): their mean is NaN (and so their ΔT / SUHII)",
        "1 of 2 scene(s) have too few clear pixels in the rural reference (under 5% of its "
        "92 grid pixels): their mean is NaN (and so their ΔT / SUHII)",
    ]
    np.testing.assert_array_equal(plain["suhii"].values, [6.0, 8.0])
    np.testing.assert_array_equal(few["urban_mean"].values, [305.0, np.nan])
    np.testing.assert_array_equal(few["rural_mean"].values, [299.0, 303.0])
    np.testing.assert_array_equal(few["suhii"].values, [6.0, np.nan])
    np.testing.assert_array_equal(share["rural_mean"].values, [np.nan, 303.0])
    np.testing.assert_array_equal(share["suhii"].values, [np.nan, 8.0])
    assert share["n_urban"].values.tolist() == [25, 2]
    assert share["n_rural"].values.tolist() == [4, 92]
    assert share.attrs["min_frac"] == 0.05 and few.attrs["min_pixels"] == 3
    with pytest.raises(ValueError, match="min_pixels must be an integer >= 1"):
        suhii(lst, urban, mask, min_pixels=0)


def test_reference_definition_says_what_flags_water():
    ring = rural_ring(yx(footprint_5x5()), inner_m=0, outer_m=30)
    water = yx(np.zeros((15, 15), bool))
    said = rural_reference_mask(ring, water=water, water_source="QA_PIXEL water bit on any date")
    assert said.attrs["reference_definition"].endswith(
        "; water pixels excluded (QA_PIXEL water bit on any date)"
    )
    plain = rural_reference_mask(ring, water=water, built=water, water_source=None)
    assert plain.attrs["reference_definition"].endswith(
        "; water pixels excluded; built pixels excluded"
    )


def test_no_rural_pixel_warns_and_gives_nan():
    lst, urban = city()
    empty = yx(np.zeros((15, 15), bool))
    with pytest.warns(IlotsWarning, match="mask is empty.*widen the ring"):
        ref = scene_reference(lst, empty)
    assert np.isnan(ref.values).all()
    with pytest.warns(IlotsWarning, match="rural reference mask is empty"):
        out = suhii(lst, urban, empty)
    assert np.isnan(out["suhii"].values).all()


def test_an_empty_mask_is_said_in_one_place():
    """warn_empty_mask says it, of the kind ``empty_mask`` (so the report names it, not an
    "unclassified" warning); a scene mean over an empty mask says it in the same words
    (pipelines.heat_island's composite record too: its own test)."""
    with collected_warnings() as said:
        warn_empty_mask("rural reference", "widen the ring")
    assert said == ["the rural reference mask is empty, so its mean is NaN; widen the ring"]
    assert said[0].code == "empty_mask"
    lst, _ = city()
    with collected_warnings() as said, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene_reference(lst, yx(np.zeros((15, 15), bool)))
    assert said == [
        "the rural reference mask is empty, so its mean is NaN; widen the ring (outer_m) or "
        "relax the water, built or elevation filters"
    ]


def test_all_nan_scene():
    lst, urban = city(offsets=(0.0, 1.0, 2.0))
    lst[1] = np.nan
    mask = rural_reference_mask(rural_ring(urban, inner_m=10, outer_m=40))
    with pytest.warns(IlotsWarning, match="1 of 3 scene") as said:
        ref = scene_reference(lst, mask)
    assert [w.message.code for w in said] == ["no_clear_pixels"]  # the report names the kind
    assert ref.values[0] == 300.0 and np.isnan(ref.values[1]) and ref.values[2] == 302.0
    dt = lst_anomaly(lst, ref)
    assert np.isnan(dt.values[1]).all() and (dt.values[2] == dt.values[0]).all()


def test_the_anomaly_of_scenes_with_their_ids_builds_without_computing():
    # A loaded stack has per-scene coordinates (product_id, platform): the reference's were
    # chunked with its data, and every alignment with the LST computed them.
    lazy_lst, urban = city(offsets=(0.0, 3.0, -2.0), chunks=4)
    lazy_lst = lazy_lst.assign_coords(
        product_id=("time", ["LC08_a", "LC09_b", "LC08_c"]),
        platform=("time", ["landsat-8", "landsat-9", "landsat-8"]),
    )
    lazy_urban = urban.chunk({"y": 4, "x": 4})
    with raise_if_dask_computes():
        mask = rural_reference_mask(rural_ring(lazy_urban, inner_m=10, outer_m=40))
        ref = scene_reference(lazy_lst, mask)
        dt = lst_anomaly(lazy_lst, ref)
    assert not isinstance(ref["product_id"].data, da.Array)
    assert list(dt["product_id"].values) == ["LC08_a", "LC09_b", "LC08_c"]


def test_dask_equals_numpy_and_lazy():
    eager_lst, urban = city(offsets=(0.0, 3.0, -2.0))
    lazy_lst, _ = city(offsets=(0.0, 3.0, -2.0), chunks=4)
    lazy_urban = urban.chunk({"y": 4, "x": 4})
    with raise_if_dask_computes():
        ring = rural_ring(lazy_urban, inner_m=10, outer_m=40)
        mask = rural_reference_mask(ring, water=lazy_urban & False)
        ref = scene_reference(lazy_lst, mask)
        dt = lst_anomaly(lazy_lst, ref)
        z = scene_zscore_against(lazy_lst, mask)
        out = suhii(lazy_lst, lazy_urban, mask)
        for arr in (ring, mask, ref, dt, z, out["suhii"]):
            assert isinstance(arr.data, da.Array)
    eager_mask = rural_reference_mask(
        rural_ring(urban, inner_m=10, outer_m=40), water=urban & False
    )
    eager_ref = scene_reference(eager_lst, eager_mask)
    xr.testing.assert_identical(ref.compute(), eager_ref)
    xr.testing.assert_identical(dt.compute(), lst_anomaly(eager_lst, eager_ref))
    xr.testing.assert_allclose(z.compute(), scene_zscore_against(eager_lst, eager_mask))
    xr.testing.assert_identical(out.compute(), suhii(eager_lst, urban, eager_mask))


def test_lazy_empty_mask_warns_only_at_compute():
    lst, _ = city(chunks=5)
    empty = yx(np.zeros((15, 15), bool), chunks=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = scene_reference(lst, empty)
    with pytest.warns(IlotsWarning, match="mask is empty"):
        ref.compute()


def test_zscore_against_reference_zs1():
    # the 4 reference pixels hold Ts = [300, 303, 306, 309]; the rest is far hotter
    values = np.full((1, 4, 4), 330.0, dtype=np.float32)
    values[0, 0, :] = [300.0, 303.0, 306.0, 309.0]
    lst = xr.DataArray(values, dims=("time", "y", "x"), coords=yx(values[0]).coords, name="lst")
    mask = yx(np.zeros((4, 4), bool))
    mask[0, :] = True
    mask.attrs["reference_definition"] = "test ring"
    z = scene_zscore_against(lst, mask)
    np.testing.assert_allclose(
        z.values[0, 0], [-1.3416408, -0.4472136, 0.4472136, 1.3416408], rtol=1e-6
    )
    np.testing.assert_allclose(z.values[0, 1, 0], (330 - 304.5) / np.std([300, 303, 306, 309]))
    assert z.attrs["reference_definition"] == "test ring" and "ddof=0" in z.attrs["formula"]
    z1 = scene_zscore_against(lst, mask, ddof=1)
    np.testing.assert_allclose(z1.values[0, 0, [0, 1]], [-1.1618950, -0.3872983], rtol=1e-6)


def test_anomaly_errors():
    lst, _ = city()
    with pytest.raises(ValueError, match="dims"):
        lst_anomaly(lst, xr.DataArray([300.0], dims=("band",)))
    with pytest.raises(ValueError, match="convert"):
        lst_anomaly(lst, xr.DataArray([27.0, 28.0], dims=("time",), attrs={"units": "degC"}))


def test_suhii_grid_mismatch():
    lst, urban = city()
    with pytest.raises(GridError):
        suhii(lst, urban.assign_coords(y=urban.y + 1), urban)


# --------------------------------------------------------------------------------------------
# urban footprints
# --------------------------------------------------------------------------------------------


def test_footprint_from_landcover():
    classes = yx(np.array([[4, 1, 2], [4, 4, 0], [5, 3, 4]], dtype=np.uint8))
    urban = urban_footprint_from_landcover(classes)
    np.testing.assert_array_equal(urban.values, classes.values == 4)
    assert urban.name == "urban" and "built" in urban.attrs["definition"]
    both = urban_footprint_from_landcover(classes, built_classes=(4, 5))
    assert both.values.sum() == 5
    with raise_if_dask_computes():
        lazy = urban_footprint_from_landcover(classes.chunk({"y": 1}))
    assert isinstance(lazy.data, da.Array)
    with pytest.raises(ValueError, match="empty"):
        urban_footprint_from_landcover(classes, built_classes=())


@pytest.fixture
def grid_30m():
    odc_xr = pytest.importorskip("odc.geo.xr")
    from affine import Affine
    from odc.geo.geobox import GeoBox

    gbox = GeoBox((10, 10), Affine(30.0, 0.0, 600000.0, 0.0, -30.0, 5000300.0), "EPSG:32631")
    return gbox, odc_xr.xr_zeros(gbox, dtype="float32")


def test_footprint_from_zones(grid_30m):
    gpd = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely")
    gbox, template = grid_30m
    # two IRIS-like squares; their union covers pixel centres in cols 1..3 and 5..6, rows 2..4
    zones = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[
            shapely.box(600030, 5000150, 600120, 5000240),
            shapely.box(600150, 5000150, 600210, 5000240),
        ],
        crs="EPSG:32631",
    )
    urban = urban_footprint_from_zones(zones, template)
    expected = np.zeros((10, 10), bool)
    expected[2:5, 1:4] = True
    expected[2:5, 5:7] = True
    np.testing.assert_array_equal(urban.values, expected)
    assert "spatial_ref" in urban.coords and urban.name == "urban"
    # a GeoBox template and the GeoSeries give the same footprint
    np.testing.assert_array_equal(urban_footprint_from_zones(zones.geometry, gbox).values, expected)
    # zones in lon/lat are reprojected to the grid
    in_wgs84 = urban_footprint_from_zones(zones.to_crs(4326), template)
    assert abs(int(in_wgs84.values.sum()) - int(expected.sum())) <= 2
    # off the pixel edges: centres in a 3x3 block, but 5x5 pixels touched
    loose = [shapely.box(600025, 5000145, 600125, 5000245)]
    assert urban_footprint_from_zones(loose, template, crs=32631).values.sum() == 9
    touched = urban_footprint_from_zones(loose, template, crs=32631, all_touched=True)
    assert touched.values.sum() == 25
    lazy = urban_footprint_from_zones(zones, template.chunk({"y": 4, "x": 5}))
    assert lazy.chunks == ((4, 4, 2), (5, 5))


def test_footprint_from_zones_crs_rules(grid_30m):
    gpd = pytest.importorskip("geopandas")
    shapely = pytest.importorskip("shapely")
    gbox, template = grid_30m
    square = shapely.box(600030, 5000150, 600120, 5000240)
    with pytest.raises(CRSError, match="no CRS"):
        urban_footprint_from_zones(gpd.GeoDataFrame(geometry=[square]), template)
    with pytest.raises(CRSError, match="crs="):
        urban_footprint_from_zones([square], template)
    with pytest.raises(CRSError, match="reproject"):
        urban_footprint_from_zones([square], template, crs="EPSG:2154")
    ok = urban_footprint_from_zones([square], template, crs="EPSG:32631")
    assert ok.values.sum() == 9
    with pytest.warns(IlotsWarning, match="empty"):
        far = urban_footprint_from_zones([shapely.box(0, 0, 10, 10)], gbox, crs=32631)
    assert not far.values.any()
    with pytest.raises(CRSError, match="no CRS"):
        urban_footprint_from_zones([square], yx(np.zeros((3, 3))), crs=32631)
