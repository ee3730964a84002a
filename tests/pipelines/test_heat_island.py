"""The run's heat_island.json record (pipelines.heat_island), from hand-made sums."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pipelines import run_tiles
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
        "the composites ΔT and LST have no value in the urban footprint nor the rural "
        "reference: no pixel there has composite.min_clear clear scenes"
    )
    assert "no SUHII in composite nor composite_lst, only the scenes' own;" in said[0]
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


def test_a_delta_composite_empty_where_the_lst_has_values():
    """ΔT rests on the scenes with a reference mean: its composite can be empty in the rural
    reference where the LST's has 40 pixels. The warning names ΔT alone, its record alone,
    the reference's settings (not "no pixel has composite.min_clear clear scenes", false
    there), and the LST's SUHII stands: 3 - 1 = 2 K by hand."""
    sums = _sums(10, 40)
    sums["lst_anomaly"] = _sums(10, 0)["lst_anomaly"]
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {})
    assert [w.code for w in said] == ["empty_composite"]
    assert said == [
        "the composite ΔT has no value in the rural reference, where the LST has: fewer than "
        "composite.min_clear of the clear scenes there have a ΔT (a scene has none without "
        "its reference mean; heat_island.min_reference_frac, heat_island.min_reference_pixels)"
        ", so heat_island.json has no SUHII in composite; lower composite.min_clear, widen the "
        "periods or lower those minimums"
    ]
    assert heat["composite"]["suhii_k"] is None
    assert heat["composite_lst"]["suhii_k"] == pytest.approx(2.0)


def test_an_empty_mask_is_said_in_the_words_of_a_scene_mean():
    """A mask without pixels (the rural reference, n_mask 0): said once, in the words of
    raster.heat_island's scene means (warn_empty_mask), with its hint; the composite's own
    warning is for a mask with pixels but no composite value, so not said. Nor is the ΔT
    left without a value in the footprint (no scene has a reference mean): not a matter of
    composite.min_clear nor of the minimums, but of that mask."""
    sums = _sums(10, 0)
    sums["n_mask"]["rural"] = 0
    sums["lst_anomaly"] = _sums(0, 0)["lst_anomaly"]
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {})
    assert said == [
        "the rural reference mask is empty, so its mean is NaN; widen the ring (outer_m) or "
        "relax the water, built or elevation filters"
    ]
    assert said[0].code == "empty_mask" and heat["composite"]["rural_mean_k"] is None


def _scene_sums(urban_counts, urban_means, rural_counts, rural_means):
    """Pass-1 sums of one tile over a footprint and a reference of 1000 pixels each."""
    urban_counts, rural_counts = np.array(urban_counts), np.array(rural_counts)
    return {
        "urban_total": urban_counts * np.array(urban_means, dtype=float),
        "urban_sumsq": urban_counts * np.array(urban_means, dtype=float) ** 2,
        "urban_count": urban_counts,
        "urban_n_mask": np.int64(1000),
        "total": rural_counts * np.array(rural_means, dtype=float),
        "sumsq": rural_counts * np.array(rural_means, dtype=float) ** 2,
        "count": rural_counts,
        "n_mask": np.int64(1000),
    }


def test_a_scene_with_a_sliver_of_clear_city_has_no_suhii():
    """The urban footprint needs the rural reference's minimums (min_pixels 200 here,
    min_frac 0.1) for a scene's SUHII. Hand values, footprint and reference of 1000 pixels,
    500 of the reference clear in each scene: scene 1 has 1 clear urban pixel (0.1 %) at
    310 K over a 285 K reference (it read +25 K, averaged in); scene 2, 400 at 305 K over
    290 K: +15 K; scene 3, 150 at 302 K (15 %, but under 200 pixels) over 288 K (it read
    +14 K). scenes_mean_k is scene 2's alone, 15 K (it read (25 + 15 + 14) / 3 = 18)."""
    sums = _scene_sums([1, 400, 150], [310.0, 305.0, 302.0], [500] * 3, [285.0, 290.0, 288.0])
    times = np.array(["2023-07-01", "2023-07-17", "2023-08-02"], dtype="datetime64[ns]")
    template = xr.DataArray(np.zeros(3), dims=("time",), coords={"time": times})
    with collected_warnings() as said:
        reference = run_tiles.merged_reference([sums], template, 200, min_frac=0.1)
        scenes = run_tiles.scene_suhii([sums], reference, 200, 0.1)
    assert [s["suhii_k"] for s in scenes] == [None, pytest.approx(15.0), None]
    assert [s["urban_mean_k"] for s in scenes] == [None, pytest.approx(305.0), None]
    assert [s["rural_mean_k"] for s in scenes] == pytest.approx([285.0, 290.0, 288.0])
    assert [s["urban_pixels"] for s in scenes] == [1, 400, 150]
    assert [s["urban_clear_share"] for s in scenes] == pytest.approx([0.001, 0.4, 0.15])
    assert said == [
        "2 of 3 scene(s) have too few clear pixels in the urban footprint (under 10% of its "
        "1000 grid pixels, or fewer than 200 grid pixels; heat_island.min_reference_frac, "
        "heat_island.min_reference_pixels): they have no SUHII (heat_island.json) and are left "
        "out of its scenes_mean_k"
    ]
    heat = heat_island_summary(_sums(10, 40), MASK, MASK, scenes, {})
    assert heat["scenes_mean_k"] == pytest.approx(15.0) and heat["scenes_std_k"] is None
    # ΔT against the urban footprint: its reference carries the same minimums, said once.
    with collected_warnings() as said:
        urban = run_tiles.merged_reference([sums], template, 200, "urban", 0.1)
        again = run_tiles.scene_suhii([sums], reference, 200, 0.1, urban)
    assert again == scenes and len(said) == 1 and "urban footprint" in said[0]


def test_a_composite_on_a_sliver_of_a_mask_gives_no_suhii():
    """The composite ΔT on 5 of the footprint's 100 pixels (5 %, under min_reference_frac
    0.1): no urban mean nor composite SUHII (3 - 1 = 2 K before), the counts kept, one
    warning naming the share and the settings; at 10 of 100 it stands."""
    with collected_warnings() as said:
        heat = heat_island_summary(_sums(5, 400), MASK, MASK, [], {}, min_frac=0.1)
    assert heat["composite"]["suhii_k"] is None and heat["composite"]["urban_mean_k"] is None
    assert heat["composite"]["rural_mean_k"] == pytest.approx(1.0)
    assert heat["composite"]["urban_pixels"] == 5 and heat["composite_lst"]["suhii_k"] is None
    assert [w.code for w in said] == ["empty_composite"]
    assert said == [  # ΔT's and LST's sums alike: both thin, both said
        "the composite ΔT has a value on only 5 of the 100 pixels of the urban footprint; "
        "the composite LST has a value on only 5 of the 100 pixels of the urban footprint "
        "(under 10% of it; heat_island.min_reference_frac), so heat_island.json has no SUHII "
        "in composite nor "
        "composite_lst, only the scenes' own; lower composite.min_clear, widen the periods "
        "or lower those minimums"
    ]
    with collected_warnings() as said:
        heat = heat_island_summary(_sums(10, 40), MASK, MASK, [], {}, min_frac=0.1)
    assert not said and heat["composite"]["suhii_k"] == pytest.approx(2.0)
    with collected_warnings() as said:  # 40 rural pixels, fewer than 50
        heat = heat_island_summary(_sums(10, 40), MASK, MASK, [], {}, min_pixels=50)
    assert heat["composite"]["suhii_k"] is None and heat["composite"]["rural_mean_k"] is None
    assert "10 of the 100 pixels of the urban footprint and 40 of the 400 pixels" in said[0]


def test_a_short_side_names_only_the_minimum_that_is_set():
    """With heat_island.min_reference_pixels at its default 1, only the share is a limit: 1
    of 1000 clear urban pixels (0.1 %) is under 10 %, the warning names min_reference_frac."""
    sums = _scene_sums([1], [310.0], [500], [285.0])
    template = xr.DataArray(np.zeros(1), dims=("time",))
    with collected_warnings() as said:
        reference = run_tiles.merged_reference([sums], template, 1, min_frac=0.1)
        run_tiles.scene_suhii([sums], reference, 1, 0.1)
    assert said == [
        "1 of 1 scene(s) have too few clear pixels in the urban footprint (under 10% of its "
        "1000 grid pixels; heat_island.min_reference_frac): they have no SUHII "
        "(heat_island.json) and are left out of its scenes_mean_k"
    ]


@pytest.mark.parametrize("thin", ["lst_anomaly", "lst_median"])
def test_a_thin_composite_is_said_on_its_own_counts(thin):
    """ΔT rests on the scenes with a reference, so its composite can be thin where the
    LST's is not (and, hand-made, the other way): 5 of the footprint's 100 pixels (under
    min_reference_frac 0.1) in one composite, 10 in the other. The warning (kind kept)
    names the thin one and its record alone; the other's SUHII stands, 3 - 1 = 2 K."""
    sums = _sums(10, 40)
    sums[thin] = _sums(5, 400)["lst_anomaly"]
    name, record, other = {
        "lst_anomaly": ("ΔT", "composite", "composite_lst"),
        "lst_median": ("LST", "composite_lst", "composite"),
    }[thin]
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {}, min_frac=0.1)
    assert [w.code for w in said] == ["empty_composite"]
    assert said == [
        f"the composite {name} has a value on only 5 of the 100 pixels of the urban "
        "footprint (under 10% of it; heat_island.min_reference_frac), so heat_island.json "
        f"has no SUHII in {record}; lower "
        "composite.min_clear, widen the periods or lower those minimums"
    ]
    assert heat[record]["suhii_k"] is None and heat[record]["urban_pixels"] == 5
    assert heat[other]["suhii_k"] == pytest.approx(2.0)


#: How test_a_delta_composite_empty_where_the_lst_has_values's warning names a ΔT empty
#: where the LST has values (the reference's settings, not composite.min_clear alone).
DELTA_EMPTY = (
    "has no value in the {what}, where the LST has: fewer than composite.min_clear of the "
    "clear scenes there have a ΔT (a scene has none without its reference mean; "
    "heat_island.min_reference_frac, heat_island.min_reference_pixels)"
)


def test_a_delta_empty_and_an_lst_thin_in_one_mask_are_one_warning():
    """In the footprint of 100 pixels, the ΔT has no value and the LST one on 5 (under
    min_reference_frac 0.1); the reference's 400 of 400 stand. One empty_composite warning
    says both, and that neither composite has a SUHII, so only the scenes' own are left."""
    sums = _sums(5, 400)
    sums["lst_anomaly"] = _sums(0, 400)["lst_anomaly"]
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {}, min_frac=0.1)
    assert [w.code for w in said] == ["empty_composite"]
    assert said == [
        "the composite ΔT " + DELTA_EMPTY.format(what="urban footprint") + "; the composite "
        "LST has a value on only 5 of the 100 pixels of the urban footprint (under 10% of it; "
        "heat_island.min_reference_frac), so heat_island.json has no SUHII in composite nor "
        "composite_lst, only the scenes' own; lower composite.min_clear, widen the periods or "
        "lower those minimums"
    ]
    assert heat["composite"]["suhii_k"] is None and heat["composite_lst"]["suhii_k"] is None
    assert heat["composite_lst"]["urban_pixels"] == 5


#: Each mask: its name in the warnings, the empty-mask warning, and the other mask.
_MASKS = {
    "urban": ("urban footprint", "the urban footprint mask is empty, so its mean is NaN; "
              "check the zones or built classes", "rural"),
    "rural": ("rural reference", "the rural reference mask is empty, so its mean is NaN; "
              "widen the ring (outer_m) or relax the water, built or elevation filters",
              "urban"),
}  # fmt: skip


def _delta_empty_beside_an_empty_mask(empty, reference):
    """The warnings and record of a ΔT without a value, the LST with 10 urban and 40 rural
    values, the ``empty`` mask without pixels, the ΔT against ``reference``."""
    sums = _sums(10, 40)
    sums["n_mask"][empty] = 0
    sums["lst_anomaly"] = _sums(0, 0)["lst_anomaly"]
    with collected_warnings() as said:
        heat = heat_island_summary(sums, MASK, MASK, [], {}, anomaly_reference=reference)
    return said, heat


@pytest.mark.parametrize("reference", ["rural", "urban"])
def test_a_delta_empty_in_its_reference_beside_an_empty_mask_is_said(reference):
    """composite.anomaly_reference's mask has pixels (100 urban, 400 rural), the other none.
    The ΔT has no value in the reference where the LST has (10 urban, 40 rural): the
    scenes' reference means fell short of the minimums. Said, besides the empty mask, by
    the composite's warning with the reference's settings."""
    what, _, other = _MASKS[reference]
    said, heat = _delta_empty_beside_an_empty_mask(other, reference)
    assert [w.code for w in said] == ["empty_mask", "empty_composite"]
    assert said[0] == _MASKS[other][1]
    assert said[1] == (
        "the composite ΔT " + DELTA_EMPTY.format(what=what) + ", so lst_anomaly.tif has no "
        "value there; lower composite.min_clear, widen the periods or lower those minimums"
    )
    assert heat["composite"]["suhii_k"] is None


@pytest.mark.parametrize("reference", ["rural", "urban"])
def test_an_empty_reference_mask_alone_says_the_empty_delta(reference):
    """composite.anomaly_reference's own mask without pixels: no scene has a reference
    mean, so the ΔT is empty in the other mask too (the LST has 10 urban, 40 rural values
    there), not for the minimums nor composite.min_clear: the empty mask's warning alone."""
    _, empty_mask, other = _MASKS[reference]
    said, heat = _delta_empty_beside_an_empty_mask(reference, reference)
    assert said == [empty_mask] and said[0].code == "empty_mask"
    assert heat["composite"][f"{other}_pixels"] == 0


def test_beside_an_empty_mask_thin_composites_are_not_said_and_empties_name_their_rasters():
    """The rural reference without pixels leaves every SUHII None, the scenes' too, whatever
    the counts. The LST and ΔT on 5 of the footprint's 100 pixels (under min_reference_frac
    0.1): nothing to say beyond the empty mask (lowering the minimums gives no SUHII). No
    LST nor ΔT in the footprint (fewer scenes than composite.min_clear): said with the rasters
    it leaves empty there, not as "only the scenes' own" SUHII (they have none either)."""
    thin = _sums(5, 0)
    thin["n_mask"]["rural"] = 0
    with collected_warnings() as said:
        heat_island_summary(thin, MASK, MASK, [], {}, min_frac=0.1)
    assert said == [_MASKS["rural"][1]]
    empty = _sums(0, 0)
    empty["n_mask"]["rural"] = 0
    with collected_warnings() as said:
        heat_island_summary(empty, MASK, MASK, [], {})
    assert [w.code for w in said] == ["empty_mask", "empty_composite"]
    assert said[1] == (
        "the composites ΔT and LST have no value in the urban footprint: no pixel there has "
        "composite.min_clear clear scenes (with fewer scenes than that in the periods, none "
        "can), so lst_anomaly.tif and lst_median.tif have no value there; lower "
        "composite.min_clear or widen the periods"
    )
