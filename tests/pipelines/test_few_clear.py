"""The run's note on the IRIS left without an LST or a ΔT for want of clear scenes.

The counts and sentences are written by hand from small tables (the run itself:
``test_run_masks.py``).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.config.load import config_from_dict
from pipelines.run import few_clear_counts, few_clear_note


@pytest.fixture
def config():
    """The defaults: water left out, composite.min_clear 3, zones.min_valid_frac 0.5."""
    return config_from_dict(
        {"aoi": {"zones": "iris"}, "periods": {"years": [2023]}, "inputs": {"landsat": ["l"]},
         "zones": {"iris": {"path": "iris.gpkg"}}},
        base_dir=Path("/nowhere"),
    )  # fmt: skip


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
