"""Rankings, group means, coverage and the scatter line, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.inequality import group_difference
from pipelines.report.tables import (
    group_means,
    hottest_zones,
    line_fit,
    n_clear_distribution,
    quality_summary,
)


@pytest.fixture
def zones():
    # science.md PR-1/PR-2 values plus one zone without a value.
    return pd.DataFrame(
        {
            "code": ["a", "b", "c", "d", "e", "f", "g"],
            "name": ["A", "B", "C", "D", "E", "F", "G"],
            "t": [31.0, 33.0, 35.0, 35.0, 36.0, 38.0, np.nan],
            "population": [100.0, 300.0, 200.0, 400.0, np.nan, 1000.0, 50.0],
            "in_qpv": [True, False, True, False, True, False, False],
            "valid_frac": [0.9, 0.95, 0.8, 0.7, 0.6, 0.99, 0.2],
            "n_clear_mean": [3.0, 4.0, 2.5, 3.5, 2.0, 4.0, 0.5],
        }
    )


def test_hottest_zones_rank_and_hotter_than(zones):
    table = hottest_zones(zones, "t", id_column="code", name_column="name", n=4)
    # Hottest first; the two tied 35s ordered by id. N = 6 zones have a value.
    assert table["id"].tolist() == ["f", "e", "c", "d"]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    # PR-2: 38 is hotter than 5 of the 5 others; PR-1: 35 is hotter than 2 of 5 (ties excluded).
    assert table["hotter_than_pct"].tolist() == pytest.approx([100.0, 80.0, 40.0, 40.0])
    assert table["population"].tolist()[0] == 1000.0
    assert "g" not in table["id"].tolist()


def test_group_means_population_weighted(zones):
    means = group_means(zones, ["t", "valid_frac"], group="in_qpv", population="population")
    # In group with a weight: a (31, 100) and c (35, 200); e has no population.
    assert means.table.loc[True, "t"] == pytest.approx((31 * 100 + 35 * 200) / 300)
    # Out: b (33, 300), d (35, 400), f (38, 1000); g has no value.
    assert means.table.loc[False, "t"] == pytest.approx((33 * 300 + 35 * 400 + 38 * 1000) / 1700)
    # The counts are those of the means of t (the first column): the zones they rest on.
    assert means.counted == "t"
    assert means.table.loc[True, "n_zones"] == 2  # a, c (e has no population)
    assert means.table.loc[True, "population"] == 300.0
    assert means.table.loc[True, "n_left_out"] == 1
    assert means.table.loc[False, "n_zones"] == 3  # b, d, f (g has no value)
    assert means.table.loc[False, "population"] == 1700.0
    assert means.table.loc[False, "n_left_out"] == 1
    assert means.weighted
    # Counted on another column: valid_frac has a value everywhere, e still has no weight.
    other = group_means(zones, ["t", "valid_frac"], population="population", count="valid_frac")
    assert other.table.loc[False, "n_zones"] == 4 and other.table.loc[False, "population"] == 1750


def test_group_means_average_every_column_over_the_zones_counted(zones):
    """A row's means are all over the zones it counts: g (no t) enters no mean of its row."""
    zones["ndvi"] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.1, 0.9]
    means = group_means(zones, ["t", "ndvi"], population="population", count="t")
    # Out: b (0.3, 300), d (0.5, 400), f (0.1, 1000), the 3 zones counted; g (0.9, 50) has no t.
    assert means.table.loc[False, "n_zones"] == 3
    assert means.table.loc[False, "ndvi"] == pytest.approx((90 + 200 + 100) / 1700)
    # In: a (0.2, 100) and c (0.4, 200); e has no population.
    assert means.table.loc[True, "ndvi"] == pytest.approx(100 / 300)


def test_group_means_leave_out_zones_without_a_group_value(zones):
    # b (33, 300) has no in_qpv: on neither side, as in the QPV test; it was counted "out".
    zones["in_qpv"] = pd.Series([True, None, True, False, True, False, False], dtype=object)
    means = group_means(zones, ["t"], group="in_qpv", population="population")
    assert means.table.loc[True, "t"] == pytest.approx((31 * 100 + 35 * 200) / 300)
    assert means.table.loc[False, "t"] == pytest.approx((35 * 400 + 38 * 1000) / 1400)
    assert means.table.loc[False, "n_zones"] == 2  # d, f (g has no value)
    assert means.table.loc[False, "population"] == 1400.0
    assert means.table.loc[False, "n_left_out"] == 1  # g, not b
    headline = group_difference(zones["t"], zones["in_qpv"], weights=zones["population"])
    assert headline.n_out == 2  # the QPV gap's IRIS: the same ones
    gap = means.table.loc[True, "t"] - means.table.loc[False, "t"]
    assert headline.value == pytest.approx(gap, abs=1e-12)


def test_group_means_over_the_zones_with_the_required_columns(zones):
    """The QPV table's rows "of the test": only the zones with an income too."""
    zones["income"] = [18000.0, np.nan, 15000.0, 21000.0, 16000.0, 25000.0, 20000.0]
    means = group_means(zones, ["t"], population="population", required=["income", "absent"])
    # In: a (31, 100), c (35, 200), e has no population; out: b has no income, so d
    # (35, 400) and f (38, 1000), g has no value.
    assert means.table.loc[True, "t"] == pytest.approx((31 * 100 + 35 * 200) / 300)  # 101/3
    assert means.table.loc[False, "t"] == pytest.approx((35 * 400 + 38 * 1000) / 1400)  # 260/7
    assert means.table.loc[False, "n_zones"] == 2 and means.table.loc[False, "population"] == 1400
    assert means.table.loc[False, "n_left_out"] == 1  # g; b is on neither side
    # The gap the headline gives is the difference of these means.
    test = group_difference(
        zones["t"], zones["in_qpv"].where(zones["income"].notna()), weights=zones["population"]
    )
    assert means.table.loc[True, "t"] - means.table.loc[False, "t"] == pytest.approx(
        101 / 3 - 260 / 7
    )
    assert test.value == pytest.approx(101 / 3 - 260 / 7)


def test_group_means_unweighted_without_population(zones):
    means = group_means(zones.drop(columns="population"), ["t"], population="population")
    assert means.table.loc[True, "t"] == pytest.approx((31 + 35 + 36) / 3)
    assert not means.weighted
    assert means.table.loc[False, "n_zones"] == 3 and means.table.loc[False, "n_left_out"] == 1


def test_quality_summary(zones):
    q = quality_summary(zones, "t", min_valid_frac=0.5)
    assert (q.n_zones, q.n_with_value, q.n_below_threshold) == (7, 6, 1)
    assert q.valid_frac_min == 0.2
    assert q.valid_frac_median == pytest.approx(0.8)
    assert q.n_clear_mean_median == pytest.approx(3.0)
    # ±inf is no value, as in the hottest table (which ranks finite values only)
    infinite = zones.assign(t=[31.0, np.inf, -np.inf, 35.0, 36.0, 38.0, np.nan])
    assert quality_summary(infinite, "t", min_valid_frac=0.5).n_with_value == 4


def test_quality_summary_counts_zones_without_delta_t_by_its_own_share(zones):
    """ΔT's columns are emptied under zones.min_valid_frac of anomaly_valid_frac too: "c" and
    "d" have an LST (valid_frac 0.8, 0.7) but ΔT on 0.4 and 0.3 of them, so 3 zones have no
    ΔT for want of coverage: "g" under the LST's share (the sentence's and histogram's), and
    "c" and "d", counted apart; the LST's column counts "g" alone."""
    delta = zones.assign(
        anomaly_valid_frac=[0.9, 0.95, 0.4, 0.3, 0.6, 0.99, 0.2],
        lst_anomaly_mean_k=[1.0, 2.0, np.nan, np.nan, 0.5, 3.0, np.nan],
        lst_mean_k=zones["t"],
    )
    q = quality_summary(delta, "lst_anomaly_mean_k", min_valid_frac=0.5)
    assert (q.n_with_value, q.n_below_threshold, q.n_below_delta) == (4, 1, 2)
    lst = quality_summary(delta, "lst_mean_k", min_valid_frac=0.5)
    assert (lst.n_below_threshold, lst.n_below_delta) == (1, None)


def test_quality_summary_gives_the_delta_t_share_s_minimum_and_median(zones):
    """anomaly_valid_frac 0.9, 0.95, 0.4, 0.3, 0.6, 0.99, 0.2: minimum 0.2, median 0.6 (the
    4th of 7 sorted); NaN both for a table without the column (an earlier ilots')."""
    delta = zones.assign(anomaly_valid_frac=[0.9, 0.95, 0.4, 0.3, 0.6, 0.99, 0.2])
    q = quality_summary(delta, "t", min_valid_frac=0.5)
    assert (q.anomaly_valid_frac_min, q.anomaly_valid_frac_median) == (0.2, 0.6)
    older = quality_summary(zones, "t", min_valid_frac=0.5)
    assert np.isnan(older.anomaly_valid_frac_min) and np.isnan(older.anomaly_valid_frac_median)


def test_n_clear_distribution():
    shares = n_clear_distribution(np.array([2.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 0.0]))
    assert shares.to_dict() == {0: 0.125, 2: 0.125, 3: 0.25, 4: 0.5}


def test_line_fit_recovers_a_line():
    x = pd.Series([10.0, 20.0, 30.0, np.nan, 40.0])
    y = pd.Series([5.0, 3.0, 1.0, 7.0, -1.0])  # y = 7 - 0.2 x on the finite pairs
    fit = line_fit(x, y)
    assert fit.slope == pytest.approx(-0.2)
    assert fit.intercept == pytest.approx(7.0)
    assert fit.n == 4
    assert line_fit(pd.Series([1.0, 1.0, 1.0]), pd.Series([1.0, 2.0, 3.0])) is None
