"""The no-LST warning's counts of what each Landsat mask step kept (pipelines.mask_counts),
and the note on the IRIS left without an LST or a ΔT (``few_clear_note``).

The run itself is tested in ``test_run_layers.py`` (the counts read by hand from the demo's
files); here the sentence is written from given counts, its shares worked out by hand.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.config import apply_overrides
from pipelines.config.load import config_from_dict
from pipelines.mask_counts import MaskCounts, mask_counts_text
from pipelines.run import few_clear_counts, few_clear_note, no_clear_note


@pytest.fixture
def config():
    """The defaults: ST_QA <= 2 K, ST_CDIST >= 1 km, QA_RADSAT, water left out, min_clear 3."""
    return config_from_dict(
        {"aoi": {"zones": "iris"}, "periods": {"years": [2023]}, "inputs": {"landsat": ["l"]},
         "zones": {"iris": {"path": "iris.gpkg"}}},
        base_dir=Path("/nowhere"),
    )  # fmt: skip


def test_the_counts_say_each_steps_share_of_the_scenes_pixels(config):
    # 4 scenes x 1000 pixels over the IRIS = 4000: 4000 not fill (100 %), 2480 clear (62 %),
    # 2400 not water (60 %), 2398 (59.95 %: 60 %), 4 under ST_QA 2 K (0.1 %), 1 at 1 km
    # (0.025 %: under 0.1 %); 0 of the 1000 pixels clear on 3 scenes.
    kept = {"not_fill": 4000, "qa_pixel": 2480, "not_water": 2400, "qa_radsat": 2398,
            "st_qa": 4, "st_cdist": 1}  # fmt: skip
    text = mask_counts_text(config, MaskCounts(scenes=4, pixels=1000, kept=kept, enough=0))
    assert text == (
        "Of the pixels of the 4 scene(s) over the IRIS, the masks kept: not fill 100 %, then "
        "QA_PIXEL clear 62 %, then not water 60 %, then QA_RADSAT not terrain-occluded 60 %, "
        "then ST_QA ≤ 2 K 0.1 %, then ST_CDIST ≥ 1 km < 0.1 %; clear on at least "
        "composite.min_clear (3) scenes: 0 % of the pixels"
    )


@pytest.mark.parametrize(
    "count, shown",
    [(0, "0 %"), (1, "< 0.1 %"), (4, "0.1 %"), (380, "9.5 %"), (1234, "31 %"),
     (3820, "95.5 %"), (3999, "> 99.9 %"), (4000, "100 %")],
)  # fmt: skip
def test_shares_are_never_rounded_to_nothing_nor_to_all(config, count, shown):
    counts = MaskCounts(scenes=2, pixels=2000, kept={"not_fill": count}, enough=2000)
    text = mask_counts_text(config, counts)
    assert f"the masks kept: not fill {shown}; " in text
    assert text.endswith("scenes: 100 % of the pixels")


def test_the_labels_follow_the_settings(config):
    grown = apply_overrides(config, {"mask.dilate_m": 60, "mask.cdist_min_km": 0.5,
                                     "mask.st_qa_max_k": 1.5})  # fmt: skip
    kept = {"not_fill": 10, "qa_pixel": 5, "st_qa": 2, "st_cdist": 1}
    text = mask_counts_text(grown, MaskCounts(scenes=1, pixels=10, kept=kept, enough=1))
    assert "then QA_PIXEL clear (clouds grown by mask.dilate_m) 50 %, then ST_QA ≤ 1.5 K " in text
    assert "then ST_CDIST ≥ 0.5 km 10 %; clear on at least" in text
    # No pixel over the IRIS (IRIS smaller than a grid pixel): no shares to say.
    assert mask_counts_text(grown, MaskCounts(scenes=1, pixels=0, kept={}, enough=0)) == ""


def test_the_no_lst_warning_carries_the_counts_in_its_one_message(config):
    counts = MaskCounts(scenes=4, pixels=10, kept={"not_fill": 40, "st_qa": 0}, enough=0)
    note = no_clear_note(config, 4, counts=counts)
    assert note.code == "no_clear_lst"
    assert "the LST columns are empty. Of the pixels of the 4 scene(s) over the IRIS, the " in (
        note
    )
    assert note.endswith(
        "of the pixels. Add scenes (inputs, periods), or lower composite.min_clear or "
        "zones.min_valid_frac"
    )
    assert "Of the pixels" not in no_clear_note(config, 4)  # none counted: none said
    # Fewer scenes than min_clear: that is the cause, said alone.
    assert "Of the pixels" not in no_clear_note(config, 2, counts=counts)


def test_iris_with_an_lst_but_no_delta_t_are_counted_apart():
    """ "a" has both; "b" no LST (so no ΔT): 1 without; "c", "d" an LST, no ΔT: 2 more; "e"
    is off the grid (no valid_frac): not counted."""
    nan = np.nan
    iris = pd.DataFrame({
        "valid_frac": [1.0, 0.2, 0.9, 0.8, nan],
        "lst_mean_k": [300.0, nan, 301.0, 302.0, nan],
        "lst_anomaly_mean_k": [1.0, nan, nan, nan, nan],
    })  # fmt: skip
    assert few_clear_counts(iris) == (1, 2)
    # No IRIS with a ΔT (no scene kept a reference: the heat island's warnings say so, with
    # their own fix): none counted as having lost it for want of clear scenes.
    assert few_clear_counts(iris.assign(lst_anomaly_mean_k=nan)) == (1, 0)


def test_the_note_says_the_iris_that_lost_delta_t_and_its_settings(config):
    both = few_clear_note(config, 3, 40, 5)
    assert both == (
        "3 of 40 IRIS have no composite LST: the share of their land clear on at least "
        "composite.min_clear (3) scenes is under zones.min_valid_frac (0.5). Their LST columns "
        "are empty and they are left out of the inequality statistics. 5 more have a composite "
        "LST but no composite ΔT: the share of their land clear on at least composite.min_clear "
        "(3) scenes with a reference (heat_island.min_reference_pixels, "
        "heat_island.min_reference_frac) is under zones.min_valid_frac (0.5). Their ΔT columns "
        "are empty and they are left out of the inequality statistics of ΔT; add scenes "
        "(inputs, periods), or lower composite.min_clear or zones.min_valid_frac (for ΔT, also "
        "heat_island.min_reference_pixels or min_reference_frac)"
    )
    assert both.code == "few_clear_lst"
    alone = few_clear_note(config, 0, 40, 5)
    assert alone.startswith("5 of 40 IRIS have a composite LST but no composite ΔT: ")
    assert "no composite LST:" not in alone
    lst_only = few_clear_note(config, 3, 40)
    assert "ΔT" not in lst_only and lst_only.endswith("or zones.min_valid_frac")
