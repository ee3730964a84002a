"""The run's heat_island.json record (pipelines.heat_island), from hand-made sums."""

from __future__ import annotations

import pytest
import xarray as xr

from pipelines.heat_island import heat_island_summary
from tiles.errors import collected_warnings

MASK = xr.DataArray([[True]], dims=("y", "x"))


def _sums(urban_count, rural_count):
    """Composite sums over masks of 100 urban and 400 rural pixels (ΔT and LST alike)."""
    layer = {"urban_total": 3.0 * urban_count, "urban_count": urban_count,
             "rural_total": 1.0 * rural_count, "rural_count": rural_count}  # fmt: skip
    return {"lst_anomaly": layer, "lst_median": layer, "n_mask": {"urban": 100, "rural": 400}}


def test_an_empty_composite_is_said_once_as_the_composite():
    """No composite pixel (fewer scenes than composite.min_clear): one warning, of its own
    kind, naming the composite and both masks, and how to fix it; not the per-scene words
    ("1 of 1 scene(s) have no clear pixel"), once per mask and variable. Each scene's SUHII
    is kept."""
    scenes = [{"suhii_k": 2.35}, {"suhii_k": 2.33}]
    with collected_warnings() as said:
        heat = heat_island_summary(_sums(0, 0), MASK, MASK, scenes, {})
    assert [w.code for w in said] == ["empty_composite"]
    assert said[0].startswith(
        "the composite ΔT has no value in the urban footprint nor the rural reference: no "
        "pixel there has composite.min_clear clear scenes"
    )
    assert said[0].endswith("; lower composite.min_clear or widen the periods")
    assert heat["composite"]["suhii_k"] is None and heat["composite_lst"]["suhii_k"] is None
    assert heat["scenes_mean_k"] == pytest.approx(2.34)


def test_a_composite_empty_in_the_reference_only():
    """The urban mean stands (3 K by hand); the rural one is None, said for it alone."""
    with collected_warnings() as said:
        heat = heat_island_summary(_sums(10, 0), MASK, MASK, [], {})
    assert len(said) == 1 and "no value in the rural reference:" in said[0]
    assert heat["composite"]["urban_mean_k"] == pytest.approx(3.0)
    assert heat["composite"]["urban_pixels"] == 10 and heat["composite"]["suhii_k"] is None
    with collected_warnings() as said:
        heat = heat_island_summary(_sums(10, 40), MASK, MASK, [], {})
    assert not said and heat["composite"]["suhii_k"] == pytest.approx(2.0)


def test_an_empty_mask_is_said_in_the_words_of_a_scene_mean():
    """A mask without pixels (the rural reference, n_mask 0): said once, in the words of
    raster.heat_island's scene means (warn_empty_mask), with its hint; the composite's own
    warning is for a mask with pixels but no composite value, so not said."""
    sums = _sums(10, 0)
    sums["n_mask"]["rural"] = 0
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {})
    assert said == [
        "the rural reference mask is empty, so its mean is NaN; widen the ring (outer_m) or "
        "relax the water, built or elevation filters"
    ]
    assert said[0].code == "empty_mask" and heat["composite"]["rural_mean_k"] is None
