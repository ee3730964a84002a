"""Predictor kernels against scipy's uniform filter and hand-computed distances."""

import numpy as np
import pytest
from scipy import ndimage

from pipelines.scenarios.predictors import (
    PREDICTORS,
    Surface,
    box_counts,
    class_shares,
    compute_predictors,
    distance_to,
    update_predictors,
)


@pytest.fixture
def landcover():
    rng = np.random.default_rng(3)
    return rng.integers(0, 6, size=(23, 17)).astype(np.uint8)


@pytest.mark.parametrize("window", [1, 3, 5])
def test_shares_equal_scipy_uniform_filter_of_one_hot_classes(landcover, window):
    valid = (landcover > 0).astype(float)
    built = (landcover == 4).astype(float)
    # scipy's uniform filter with zero padding: window means, whose ratio is the share.
    num = ndimage.uniform_filter(built, size=window, mode="constant", cval=0.0)
    den = ndimage.uniform_filter(valid, size=window, mode="constant", cval=0.0)
    expected = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1), np.nan)
    np.testing.assert_allclose(class_shares(landcover, (4,), window), expected, atol=1e-12)
    assert box_counts(landcover == 4, window).sum() == pytest.approx(
        num.sum() * window**2, rel=1e-12
    )


def test_box_counts_by_hand():
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 0] = mask[3, 3] = True
    counts = box_counts(mask, 3)
    assert counts[0, 0] == 1 and counts[1, 1] == 1 and counts[2, 2] == 1 and counts[3, 3] == 1
    assert counts[0, 3] == 0 and counts[1, 2] == 0
    with pytest.raises(ValueError, match="odd"):
        box_counts(mask, 2)


def test_distance_by_hand_and_cap():
    mask = np.zeros((5, 5), dtype=bool)
    mask[2, 2] = True
    d = distance_to(mask, 30.0, 1000.0)
    assert d[2, 2] == 0
    assert d[2, 4] == pytest.approx(60.0)
    assert d[0, 0] == pytest.approx(np.hypot(60.0, 60.0))
    assert distance_to(mask, 30.0, 50.0).max() == 50.0
    assert (distance_to(np.zeros((3, 3), dtype=bool), 30.0, 700.0) == 700.0).all()


def test_predictors_are_nan_on_nodata_and_keep_the_inputs(landcover):
    ndvi = np.linspace(-0.2, 0.9, landcover.size).reshape(landcover.shape)
    albedo = np.full(landcover.shape, 0.15)
    surface = Surface(ndvi.copy(), albedo.copy(), landcover.copy())
    out = compute_predictors(surface, resolution=10.0, window_px=3, distance_cap_m=200.0)
    assert tuple(out) == PREDICTORS
    nodata = landcover == 0
    for name, values in out.items():
        assert np.isnan(values[nodata]).all(), name
        assert np.isfinite(values[~nodata]).all(), name
    np.testing.assert_array_equal(surface.ndvi, ndvi)
    assert out["dist_water_m"][landcover == 1].max() == 0
    without = compute_predictors(Surface(ndvi, None, landcover), resolution=10.0)
    assert "albedo" not in without


def test_update_reuses_or_recomputes_only_what_changed(landcover):
    ndvi = np.full(landcover.shape, 0.3)
    before = Surface(ndvi, np.full(landcover.shape, 0.15), landcover)
    base = compute_predictors(before, resolution=10.0, window_px=3)
    greener = Surface(ndvi + 0.1, before.albedo, landcover.copy())
    same_cover = update_predictors(base, before, greener, resolution=10.0, window_px=3)
    assert same_cover["built_share"] is base["built_share"]
    np.testing.assert_allclose(same_cover["ndvi"][landcover > 0], 0.4)
    # One pixel reclassified: the shares change inside its 3 x 3 window only, and the
    # others stay bit-identical (exact integer window counts).
    changed = landcover.copy()
    changed[10, 8] = 2 if changed[10, 8] != 2 else 3
    after = update_predictors(
        base, before, Surface(ndvi, before.albedo, changed), resolution=10.0, window_px=3
    )
    differs = after["vegetation_share"] != base["vegetation_share"]
    differs &= ~(np.isnan(after["vegetation_share"]) & np.isnan(base["vegetation_share"]))
    rows, cols = np.nonzero(differs)
    assert differs.any()
    assert rows.min() >= 9 and rows.max() <= 11 and cols.min() >= 7 and cols.max() <= 9
