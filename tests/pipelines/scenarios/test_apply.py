"""Scenario changes on a hand-made surface: NDVI add/set/cap, albedo, reclassify, order."""

import numpy as np
import pytest

from pipelines.config import ChangeSpec, NdviChange
from pipelines.scenarios import ScenarioError, Surface, apply_changes
from pipelines.scenarios.apply import class_medians, ndvi_after, selected_pixels
from tiles.errors import IlotsWarning

WATER, BUILT, DENSE, LOW = 1, 4, 2, 3


def change(**kwargs):
    return ChangeSpec.model_validate(kwargs)


@pytest.fixture
def surface():
    # Left half built (NDVI 0.1, albedo 0.15), right half dense vegetation (NDVI 0.8 or 0.6,
    # albedo 0.18 or 0.20: medians 0.7 and 0.19), one low-vegetation pixel.
    landcover = np.full((4, 6), BUILT, dtype=np.uint8)
    landcover[:, 3:] = DENSE
    landcover[0, 0] = LOW
    ndvi = np.where(landcover == BUILT, 0.1, 0.5)
    ndvi[:2, 3:], ndvi[2:, 3:] = 0.8, 0.6
    albedo = np.where(landcover == BUILT, 0.15, 0.12)
    albedo[:2, 3:], albedo[2:, 3:] = 0.18, 0.20
    return Surface(ndvi, albedo, landcover)


def test_ndvi_operations_by_hand():
    values = np.array([-0.1, 0.3, 0.75, 0.95])
    add = NdviChange(add=0.2)
    np.testing.assert_allclose(ndvi_after(values, add), [0.1, 0.5, 0.95, 1.0])  # clipped
    capped = NdviChange(add=0.2, cap=0.8)
    np.testing.assert_allclose(ndvi_after(values, capped), [0.1, 0.5, 0.8, 0.95])
    np.testing.assert_allclose(ndvi_after(values, NdviChange(cap=0.5)), [-0.1, 0.3, 0.5, 0.5])
    np.testing.assert_allclose(ndvi_after(values, NdviChange(set=0.4)), [0.4] * 4)


def test_selected_pixels_round_and_are_reproducible():
    first = selected_pixels(10, 0.25, (0, 1, 0))
    assert len(first) == 3  # round(2.5) half up
    assert len(set(first)) == 3 and list(first) == sorted(first) and first.max() < 10
    np.testing.assert_array_equal(first, selected_pixels(10, 0.25, (0, 1, 0)))
    assert len(selected_pixels(7, 1.0, (0,))) == 7 and len(selected_pixels(7, 0.0, (0,))) == 0


def test_reclassify_takes_the_typical_pixel_of_the_target_class(surface):
    assert class_medians(surface, "dense_vegetation") == pytest.approx((0.7, 0.19))
    where = np.ones(surface.landcover.shape, dtype=bool)
    applied = apply_changes(
        surface,
        where,
        [change(reclassify={"from": "built", "to": "dense_vegetation", "fraction": 0.5})],
        seed=0,
        name="test",
        label="test",
    )
    converted = (surface.landcover == BUILT) & (applied.surface.landcover == DENSE)
    assert (surface.landcover == BUILT).sum() == 11
    assert converted.sum() == 6  # round(0.5 x 11) = round(5.5), halves up
    np.testing.assert_allclose(applied.surface.ndvi[converted], 0.7)
    np.testing.assert_allclose(applied.surface.albedo[converted], 0.19)
    np.testing.assert_array_equal(applied.changed, converted)
    assert surface.landcover[converted].tolist() == [BUILT] * 6  # the baseline is untouched
    with pytest.raises(ScenarioError, match="no water pixel"):
        apply_changes(
            surface, where, [change(reclassify={"from": "built", "to": "water"})],
            seed=0, name="t", label="t",
        )  # fmt: skip


def test_changes_compose_in_order_and_respect_on(surface):
    where = np.zeros(surface.landcover.shape, dtype=bool)
    where[:, 1:5] = True
    with pytest.warns(IlotsWarning, match=r"change\[2\] \(albedo\) selects no pixel"):
        applied = apply_changes(
            surface,
            where,
            [
                change(reclassify={"from": "built", "to": "dense_vegetation", "fraction": 1.0}),
                change(ndvi={"add": 0.05, "on": "dense_vegetation"}),
                change(albedo={"add": 0.1, "on": "built"}),
            ],
            seed=0,
            name="t",
            label="t",
        )
    out = applied.surface
    # Every built pixel of the area became dense vegetation, then got +0.05 NDVI.
    assert not ((out.landcover == BUILT) & where).any()
    np.testing.assert_allclose(out.ndvi[where & (surface.landcover == BUILT)], 0.75)
    np.testing.assert_allclose(out.ndvi[where & (surface.landcover == DENSE)][:2], 0.85)
    # No built pixel was left in the area for the albedo change; outside it nothing moved.
    np.testing.assert_array_equal(out.albedo[~where], surface.albedo[~where])
    np.testing.assert_array_equal(out.landcover[~where], surface.landcover[~where])
    assert not applied.changed[~where].any()
    assert any("albedo" in note and "no pixel" in note for note in applied.notes)


def test_no_op_changes_change_nothing(surface):
    where = np.ones(surface.landcover.shape, dtype=bool)
    with pytest.warns(IlotsWarning, match="t: changes no pixel"):
        applied = apply_changes(
            surface,
            where,
            [change(ndvi={"add": 0.0}), change(albedo={"add": 0.0, "on": "built"})],
            seed=0,
            name="t",
            label="t",
        )
    assert not applied.changed.any()
    np.testing.assert_array_equal(applied.surface.ndvi, surface.ndvi)
    assert applied.notes == (
        "t: changes no pixel: its changes leave the selected pixels as they are (a fraction "
        "or an addition of 0, a cap above every value)",
    )


def test_albedo_change_needs_an_albedo_raster(surface):
    bare = Surface(surface.ndvi, None, surface.landcover)
    where = np.ones(surface.landcover.shape, dtype=bool)
    with pytest.raises(ScenarioError, match="albedo_median"):
        apply_changes(bare, where, [change(albedo={"add": 0.1})], seed=0, name="t", label="t")


def test_a_change_that_selects_nothing_warns(surface):
    where = np.zeros(surface.landcover.shape, dtype=bool)
    where[0, 0] = True  # the low-vegetation pixel only
    with pytest.warns(IlotsWarning, match="finds no built pixel"):
        apply_changes(
            surface, where, [change(reclassify={"from": "built", "to": "low_vegetation"})],
            seed=0, name="t", label="t",
        )  # fmt: skip


def test_a_change_added_after_a_reclassification_keeps_its_pixels(surface):
    """A reclassification draws with the scenario's area and the changes up to it: a change
    added after it moves none of its pixels, another area draws others."""
    from pipelines.config import ScenarioSpec
    from pipelines.scenarios.pipeline import draw_key

    where = np.ones(surface.landcover.shape, dtype=bool)
    half = change(reclassify={"from": "built", "to": "dense_vegetation", "fraction": 0.5})
    then = change(ndvi={"add": 0.1, "on": "low_vegetation"})

    def applied(area, changes):
        spec = ScenarioSpec(name="s", where=area, change=changes)
        return apply_changes(surface, where, changes, seed=0, name=draw_key(spec), label="s")

    everywhere = {"layer": "iris"}
    alone = applied(everywhere, [half]).surface.landcover
    np.testing.assert_array_equal(applied(everywhere, [half, then]).surface.landcover, alone)
    elsewhere = applied({"layer": "qpv"}, [half]).surface.landcover
    assert (elsewhere != alone).any()


def test_a_typical_pixel_taken_from_few_of_its_class_warns(surface):
    """40 water pixels, 10 with an NDVI (the masks leave out water's): the median of 10 of
    40 (25 % < 50 %) is said; 36 of 40 known is not."""
    landcover = np.full((10, 10), BUILT, dtype=np.uint8)
    landcover[:4] = WATER  # 40 pixels
    ndvi = np.where(landcover == BUILT, 0.1, np.nan)
    ndvi[0, :] = 0.05  # 10 water pixels with an NDVI
    albedo = np.full(landcover.shape, 0.12)
    water = Surface(ndvi, albedo, landcover)
    where = np.ones(landcover.shape, dtype=bool)
    ponds = [change(reclassify={"from": "built", "to": "water", "fraction": 0.1})]
    with pytest.warns(
        IlotsWarning, match=r"median NDVI \(10 of its 40 pixels known\) of class water"
    ):
        applied = apply_changes(water, where, ponds, seed=0, name="t", label="t")
    assert applied.notes[0].startswith("t: change[0]: the converted pixels take the median NDVI")
    assert "median albedo" not in applied.notes[0]  # 40 of 40 known
    ndvi[1:4, :4] = 0.05  # 22 of 40 known: 55 %, but fewer than 30 pixels
    assert (
        "NDVI (22 of its 40 pixels known)"
        in apply_changes(water, where, ponds, seed=0, name="t", label="t").notes[0]
    )
    ndvi[1:4, :] = 0.05  # 40 of 40
    assert apply_changes(water, where, ponds, seed=0, name="t", label="t").notes == ()


def test_a_reclassification_says_how_many_of_its_class_it_leaves_without_an_ndvi():
    """10 × 10 grid: rows 0-3 water (40 pixels), 10 of them (row 0) with an NDVI, the rest
    built. The area is every pixel with an NDVI (70), the 30 water pixels without one are
    unseen: converting water converts the 10 (fraction 1) or 5 of them (fraction 0.5),
    leaves the 30 water, and the step and a warning say 10 (5) of 40 and 30 left."""
    landcover = np.full((10, 10), BUILT, dtype=np.uint8)
    landcover[:4] = WATER
    ndvi = np.where(landcover == BUILT, 0.1, np.nan)
    ndvi[0, :] = 0.05
    surface = Surface(ndvi, None, landcover)
    area = np.isfinite(ndvi)
    unseen = ~area
    drain = change(reclassify={"from": "water", "to": "built"})
    with pytest.warns(IlotsWarning, match="converts 10 of the 40 water pixels"):
        applied = apply_changes(surface, area, [drain], seed=0, name="t", label="t", unseen=unseen)
    assert (applied.surface.landcover[0] == BUILT).all()
    assert (applied.surface.landcover[1:4] == WATER).all()  # the 30 without an NDVI
    assert int(applied.changed.sum()) == 10
    assert applied.steps == (
        "reclassify 10 of 10 water pixels to built (30 more without an NDVI left as they are)",
    )
    assert applied.notes == (
        "t: change[0] converts 10 of the 40 water pixels of its area, drawn from the 10 with "
        "an NDVI: the other 30 have none (the masks left them out of every date: "
        "mask.indices_keep_water false, or a mask.sentinel2_preset that rejects water), so "
        "the model has nothing to start from there and they stay water; a run whose masks "
        "keep them (for water, mask.indices_keep_water: true and, with Sentinel-2, "
        "mask.sentinel2_preset: conservative) converts them",
    )
    half = change(reclassify={"from": "water", "to": "built", "fraction": 0.5})
    with pytest.warns(IlotsWarning):
        applied = apply_changes(surface, area, [half], seed=0, name="t", label="t", unseen=unseen)
    assert applied.notes[0].startswith("t: change[0] converts 5 of the 40 water pixels")
    # No water pixel with an NDVI: the note, not "finds no water pixel" (there are 30).
    no_ndvi = np.where(landcover == WATER, np.nan, ndvi)
    with pytest.warns(IlotsWarning):
        applied = apply_changes(
            Surface(no_ndvi, None, landcover), np.isfinite(no_ndvi), [drain],
            seed=0, name="t", label="t", unseen=np.isnan(no_ndvi),
        )  # fmt: skip
    assert applied.notes == (applied.notes[0],)
    assert applied.notes[0].startswith("t: change[0] converts 0 of the 40 water pixels")
    # Every built pixel has an NDVI: no note.
    built = change(reclassify={"from": "built", "to": "water", "fraction": 0.1})
    with pytest.warns(IlotsWarning, match="median NDVI"):  # of water, known at 10 of 40
        applied = apply_changes(surface, area, [built], seed=0, name="t", label="t", unseen=unseen)
    assert len(applied.notes) == 1 and "pixels of its area" not in applied.notes[0]


def test_an_ndvi_or_albedo_change_on_a_class_says_how_many_it_leaves_without_an_ndvi():
    """The grid of the reclassification's test: rows 0-3 water (40 pixels), 10 of them
    (row 0) with an NDVI, the rest built. An NDVI change on water changes the 10 and leaves
    the 30 without one; an albedo change on water too, where 8 of the 10 have an albedo
    (2 without: changed 8). The step and a warning say 10 (8) of 40 and 30 left; a change
    on built (every pixel with an NDVI) says nothing more."""
    landcover = np.full((10, 10), BUILT, dtype=np.uint8)
    landcover[:4] = WATER
    ndvi = np.where(landcover == BUILT, 0.1, np.nan)
    ndvi[0, :] = 0.05
    albedo = np.full(landcover.shape, 0.1)
    albedo[0, :2] = np.nan
    surface = Surface(ndvi, albedo, landcover)
    area = np.isfinite(ndvi)
    unseen = ~area
    greener = change(ndvi={"add": 0.1, "on": ["water"]})
    with pytest.warns(IlotsWarning, match="changes the NDVI of 10 of the 40 water pixels"):
        applied = apply_changes(surface, area, [greener], seed=0, name="t", label="t",
                                unseen=unseen)  # fmt: skip
    np.testing.assert_allclose(applied.surface.ndvi[0], 0.15)
    assert np.isnan(applied.surface.ndvi[1:4]).all()  # the 30 without an NDVI
    assert int(applied.changed.sum()) == 10
    assert applied.steps == ("ndvi change on 10 pixels (30 more without an NDVI left as they are)",)
    assert applied.notes == (
        "t: change[0] changes the NDVI of 10 of the 40 water pixels of its area, among the 10 "
        "with an NDVI: the other 30 have none (the masks left them out of every date: "
        "mask.indices_keep_water false, or a mask.sentinel2_preset that rejects water), so "
        "the model has nothing to start from there and they stay as they are; a run whose "
        "masks keep them (for water, mask.indices_keep_water: true and, with Sentinel-2, "
        "mask.sentinel2_preset: conservative) changes their NDVI",
    )
    paler = change(albedo={"set": 0.3, "on": ["water", "low_vegetation"]})
    with pytest.warns(IlotsWarning):
        applied = apply_changes(surface, area, [paler], seed=0, name="t", label="t",
                                unseen=unseen)  # fmt: skip
    assert int(applied.changed.sum()) == 8
    assert applied.steps == (
        "albedo change on 8 pixels (30 more without an NDVI left as they are)",
    )
    assert applied.notes[0].startswith(
        "t: change[0] changes the albedo of 8 of the 40 water or low_vegetation pixels of its "
        "area, among the 10 with an NDVI: the other 30 have none"
    )
    assert applied.notes[0].endswith("changes their albedo")
    # The 60 built pixels, each with an NDVI.
    applied = apply_changes(surface, area, [change(ndvi={"add": 0.1, "on": ["built"]})], seed=0,
                            name="t", label="t", unseen=unseen)  # fmt: skip
    assert applied.notes == () and applied.steps == ("ndvi change on 60 pixels",)


def test_an_ndvi_or_albedo_change_without_on_says_how_many_it_leaves_without_an_ndvi():
    """The grid of the test above, but 5 built pixels (row 9, columns 0-4) have no land
    cover and no NDVI (no data), and the 10 built pixels of row 8 no NDVI (clouded on every
    date). A change without on is on every pixel of its area: 55 with an NDVI (10 water,
    45 built), whose NDVI it changes; it leaves the 10 clouded built pixels without one,
    which it says; the 30 water pixels without an NDVI are no land left out (the default
    mask's water), and the 5 without a land cover no pixel of a class: neither is counted.
    Albedo: 2 of the 55 have none, so 53 changed."""
    landcover = np.full((10, 10), BUILT, dtype=np.uint8)
    landcover[:4] = WATER
    landcover[9, :5] = 0
    ndvi = np.where(landcover == BUILT, 0.1, np.nan)
    ndvi[0, :] = 0.05
    ndvi[8, :] = np.nan
    albedo = np.full(landcover.shape, 0.1)
    albedo[0, :2] = np.nan
    surface = Surface(ndvi, albedo, landcover)
    area = np.isfinite(ndvi)
    unseen = ~area  # the 30 water, the 10 clouded built and the 5 no-data pixels
    greener = change(ndvi={"add": 0.1})
    with pytest.warns(IlotsWarning, match="changes the NDVI of 55 of the 65 pixels"):
        applied = apply_changes(surface, area, [greener], seed=0, name="t", label="t",
                                unseen=unseen)  # fmt: skip
    assert int(applied.changed.sum()) == 55
    assert np.isnan(applied.surface.ndvi[1:4]).all() and np.isnan(applied.surface.ndvi[8]).all()
    assert applied.steps == ("ndvi change on 55 pixels (10 more without an NDVI left as they are)",)
    assert applied.notes == (
        "t: change[0] changes the NDVI of 55 of the 65 pixels of its area, among the 55 with "
        "an NDVI: the other 10 have none (the masks left them out of every date: clouds, "
        "shadows or a quality threshold on each date), so the model has nothing to start "
        "from there and they stay as they are; a run with more clear dates there (more "
        "scenes, or looser mask thresholds) changes their NDVI",
    )
    paler = change(albedo={"add": 0.1})
    with pytest.warns(IlotsWarning):
        applied = apply_changes(surface, area, [paler], seed=0, name="t", label="t",
                                unseen=unseen)  # fmt: skip
    assert int(applied.changed.sum()) == 53
    assert applied.steps == (
        "albedo change on 53 pixels (10 more without an NDVI left as they are)",
    )
    assert applied.notes[0].startswith(
        "t: change[0] changes the albedo of 53 of the 65 pixels of its area, among the 55 "
        "with an NDVI: the other 10 have none"
    )
