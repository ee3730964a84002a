"""The per-zone columns outcomes are checked against are those a run's zone tables hold."""

from __future__ import annotations

import pandas as pd

from pipelines import run_tiles
from pipelines.run import _with_percentile_ranks, _zone_table
from pipelines.zone_columns import ZONE_STATISTICS, zone_columns

# The columns of run_tiles._tables for one zone, every raster layer present (a z-score run
# with albedo), as run_tiles names them: <layer>_<statistic>.
ZONAL = {
    "code": ["a", "b", "c"],
    "lst_median_area_m2": [900.0, 900.0, 900.0],
    "lst_median_valid_frac": [1.0, 1.0, 1.0],
    "lst_median_mean": [300.0, 301.0, 302.0],
    "lst_median_p90": [301.0, 302.0, 303.0],
    "lst_p90_mean": [302.0, 303.0, 304.0],
    "lst_anomaly_mean": [1.0, 2.0, 3.0],
    "lst_anomaly_valid_frac": [1.0, 1.0, 1.0],
    "lst_anomaly_p90_mean": [2.0, 3.0, 4.0],
    "lst_zscore_mean": [0.1, 0.2, 0.3],
    "ndvi_median_mean": [0.3, 0.4, 0.5],
    "albedo_median_mean": [0.15, 0.16, 0.17],
    "n_clear_mean": [4.0, 4.0, 4.0],
}
FRAC = {"code": ["a", "b", "c"], "frac_1": [0.5, 0.0, 0.0], "frac_4": [0.5, 1.0, 1.0]}


def test_zone_tables_hold_the_listed_columns_in_order():
    table = _zone_table(pd.DataFrame(ZONAL), pd.DataFrame(FRAC), "code")
    ranked = _with_percentile_ranks(table.assign(population=[10, 20, 30]))
    written = [c for c in ranked.columns if c not in ("code", "population")]
    assert written == list(zone_columns())
    # Spelt out once here (the names users write in inequality.outcomes): a renamed column
    # must be renamed in the config's check too.
    assert written == [
        "area_m2", "valid_frac", "anomaly_valid_frac", "lst_mean_k", "lst_p90_k", "lst_p90_mean_k",
        "lst_anomaly_mean_k", "lst_anomaly_p90_mean_k", "lst_zscore_mean", "ndvi_mean",
        "albedo_mean", "n_clear_mean", "low_clear_area", "lc_water_frac",
        "lc_dense_vegetation_frac", "lc_low_vegetation_frac", "lc_built_frac",
        "lc_bare_soil_frac", "lst_anomaly_hotter_than_pct",
        "lst_anomaly_hotter_than_residents_pct", "lst_hotter_than_pct",
        "lst_hotter_than_residents_pct",
    ]  # fmt: skip
    assert table["lst_p90_mean_k"].tolist() == ZONAL["lst_p90_mean"]
    assert table["lst_p90_k"].tolist() == ZONAL["lst_median_p90"]


def test_optional_layers_leave_a_column_out_or_empty():
    """Without a z-score no lst_zscore_mean column; without albedo an empty albedo_mean."""
    zonal = {k: v for k, v in ZONAL.items() if k not in ("lst_zscore_mean", "albedo_median_mean")}
    table = _zone_table(pd.DataFrame(zonal), pd.DataFrame(FRAC), "code")
    assert "lst_zscore_mean" not in table and table["albedo_mean"].isna().all()
    assert set(table.columns) - {"code"} <= set(zone_columns())


def test_every_zone_statistic_is_one_the_tiles_compute():
    for column, (layer, statistic) in ZONE_STATISTICS.items():
        assert layer in run_tiles.ZONE_LAYERS, column
        assert statistic in {s.column for s in run_tiles.layer_stats(layer)}, column


def test_the_delta_t_columns_are_its_values_not_its_share():
    """The run empties ANOMALY_COLUMNS under ΔT's share; the share itself is never emptied."""
    from pipelines.zone_columns import ANOMALY_COLUMNS

    assert ANOMALY_COLUMNS == {"lst_anomaly_mean_k", "lst_anomaly_p90_mean_k", "lst_zscore_mean"}
