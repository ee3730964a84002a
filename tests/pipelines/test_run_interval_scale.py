"""``inequality.interval_scale``: the run config says which outcomes have an arbitrary zero."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely.geometry import box

import pipelines.run as run_module
from pipelines.config import ConfigError, config_from_dict

from .inequality._vectors import C_CELSIUS, GC, INCOME, LST_C

CONFIG = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
    "census": {},
    "composite": {"anomaly_method": "zscore"},  # a run with lst_zscore_mean
}


def _reports(inequality):
    """The run's inequality reports of the test vectors' five IRIS (science.md §9 C-2, C-3)."""
    config = config_from_dict({**CONFIG, "inequality": {"bootstrap": 0, **inequality}})
    table = gpd.GeoDataFrame(
        {
            "code_iris": [f"31555010{i}" for i in range(5)],
            "lst_c": LST_C,  # a temperature in °C: its name does not say so
            "lst_zscore_mean": (LST_C - 33.0) / 2.0,  # a z-score: its zero is arbitrary too
            "lst_mean_k": LST_C + 273.15,
            "disp_med": INCOME,
        },
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        crs="EPSG:2154",
    )
    notes: list[str] = []
    return run_module._inequality_reports(config, table, notes)


def test_interval_scale_of_an_outcome_leaves_out_its_standard_c():
    outcomes = ["lst_c", "lst_mean_k", "lst_zscore_mean"]
    guessed = _reports({"outcomes": outcomes})
    assert guessed["lst_c"].concentration_index.value == pytest.approx(C_CELSIUS)
    assert math.isnan(guessed["lst_mean_k"].concentration_index.value)  # *_k: interval
    assert math.isnan(guessed["lst_zscore_mean"].concentration_index.value)  # zscore: interval
    said = _reports({"outcomes": outcomes, "interval_scale": {"lst_c": True}})
    assert math.isnan(said["lst_c"].concentration_index.value)
    assert said["lst_c"].generalized_concentration_index.value == pytest.approx(GC)
    assert math.isnan(said["lst_mean_k"].concentration_index.value)  # not listed: the name


def test_interval_scale_names_only_listed_outcomes():
    inequality = {"outcomes": ["lst_mean_k"], "interval_scale": {"lst_c": True}}
    with pytest.raises(ConfigError) as err:
        config_from_dict({**CONFIG, "inequality": inequality}, source="config.yaml")
    assert "inequality.interval_scale: 'lst_c' not in inequality.outcomes (lst_mean_k)" in str(
        err.value
    )
