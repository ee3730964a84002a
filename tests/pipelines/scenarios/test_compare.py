"""``compare.inequality_of``: a scenario's inequality metrics as the run computes its own."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from pipelines.config import config_from_dict
from pipelines.inequality import bootstrap, report
from pipelines.inequality.shared import SharedDraws
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


def test_scenarios_sharing_draws_report_what_they_report_alone(monkeypatch):
    # The baseline's and each scenario's statistics (the same IRIS, each call on its own copy
    # of the table) share one SharedDraws: the same reports, bit for bit, as separate calls,
    # with the weights built and the resamples drawn once.
    made = {"weights": 0, "resamples": 0}
    weights, counts = report.as_spatial_weights, bootstrap.resample_counts

    def counted(name, function):
        return lambda *a, **k: made.update({name: made[name] + 1}) or function(*a, **k)

    monkeypatch.setattr(report, "as_spatial_weights", counted("weights", weights))
    monkeypatch.setattr(bootstrap, "resample_counts", counted("resamples", counts))
    rng = np.random.default_rng(3)
    n = 36
    iris = gpd.GeoDataFrame(
        {
            "code_iris": [f"3155501{i:02d}" for i in range(n)],
            "disp_med": rng.uniform(12_000, 40_000, n),
            "lst_anomaly_mean_k": rng.normal(1.5, 1.0, n),
            "population": rng.integers(500, 3000, n),
            "in_qpv": np.arange(n) % 5 == 0,
        },
        geometry=[box(100 * (i % 6), 100 * (i // 6), 100 * (i % 6 + 1), 100 * (i // 6 + 1))
                  for i in range(n)],
        crs="EPSG:2154",
    )  # fmt: skip
    baseline = SimpleNamespace(zones={"iris": iris})
    inequality = {"bootstrap": 200, "permutations": 99, "moran_permutations": 49, "seed": 7}
    config = config_from_dict({**CONFIG, "inequality": inequality})
    after = [
        pd.DataFrame({"code_iris": iris["code_iris"],
                      "lst_anomaly_after_mean_k": iris["lst_anomaly_mean_k"] - shift})
        for shift in (0.3 * iris["in_qpv"], rng.uniform(0, 0.5, n))
    ]  # fmt: skip
    alone = [inequality_of(baseline, config, values) for values in (None, *after)]
    assert made == {"weights": 3, "resamples": 3}
    shared = SharedDraws()
    together = [inequality_of(baseline, config, values, shared=shared) for values in (None, *after)]
    assert [r.to_json() for r in together] == [r.to_json() for r in alone]
    assert made == {"weights": 4, "resamples": 4}
    assert together[0].group_difference.relabelings == 99  # drawn, not enumerated
