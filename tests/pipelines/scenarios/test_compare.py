"""``compare.inequality_of``: a scenario's inequality metrics as the run computes its own."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from pipelines.config import config_from_dict
from pipelines.scenarios.compare import inequality_of

CONFIG = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
    "census": {"income_column": "disp_med"},
    "inequality": {"bootstrap": 0, "moran_permutations": 0},
}


def test_scenario_inequality_does_not_repeat_the_runs_income_warning():
    # Incomes in thousands of euros (19.3 for 19,300): the run said it once among its
    # warnings; each scenario's inequality.json must not say it again.
    iris = gpd.GeoDataFrame(
        {
            "code_iris": [f"31555010{i}" for i in range(6)],
            "disp_med": [12.1, 15.0, 18.2, 22.5, 30.1, 41.0],
            "lst_anomaly_mean_k": [3.0, 2.6, 2.1, 1.5, 0.9, 0.2],
        },
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(6)],
        crs="EPSG:2154",
    )
    baseline = SimpleNamespace(zones={"iris": iris})
    report = inequality_of(baseline, config_from_dict(CONFIG))
    assert report is not None and report.n_used == 6
    assert not any("1,000" in note or "implausible" in note for note in report.notes)
    # The standard C of the ΔT is left out by its name, as in the run, unless the config's
    # inequality.interval_scale says otherwise.
    assert np.isnan(report.concentration_index.value)
    ratio = config_from_dict(
        {**CONFIG, "inequality": {**CONFIG["inequality"],
                                  "interval_scale": {"lst_anomaly_mean_k": False}}}
    )  # fmt: skip
    assert np.isfinite(inequality_of(baseline, ratio).concentration_index.value)
