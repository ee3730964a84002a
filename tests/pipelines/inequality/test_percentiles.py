from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pipelines.inequality import percentile_ranks
from tiles.errors import InequalityError

from ._vectors import PR1, PR2, PR_VALUES


def test_pr1_and_pr2():
    ranks = percentile_ranks(PR_VALUES)
    x35, x38 = ranks.iloc[2], ranks.iloc[5]
    # The sheet gives "hotter than others" as a fraction; ilots reports percent.
    assert x35["hotter_than_pct"] == pytest.approx(100 * PR1[0], abs=1e-9)
    assert x35["midrank_pct"] == pytest.approx(PR1[1], abs=1e-9)
    assert x38["hotter_than_pct"] == pytest.approx(100 * PR2[0], abs=1e-9)
    assert x38["midrank_pct"] == pytest.approx(PR2[1], abs=5e-3)
    assert x38["midrank_pct"] == pytest.approx(100 * 5.5 / 6, abs=1e-9)
    # Both tied 35s get the same ranks.
    assert ranks.iloc[3].equals(ranks.iloc[2])


def test_scipy_kinds_for_reference():
    # The sheet's weak/strict values, to show which scipy kind the mid-rank is ('mean').
    assert stats.percentileofscore(PR_VALUES, 35, kind="weak") == pytest.approx(66.6667, abs=1e-3)
    assert stats.percentileofscore(PR_VALUES, 35, kind="strict") == pytest.approx(33.3333, abs=1e-3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=2, max_size=30))
def test_midrank_is_scipy_mean_kind(values):
    ranks = percentile_ranks(values)
    n = len(values)
    for i, value in enumerate(values):
        mean_kind = stats.percentileofscore(values, value, kind="mean")
        strict = stats.percentileofscore(values, value, kind="strict")
        assert ranks["midrank_pct"].iloc[i] == pytest.approx(mean_kind, abs=1e-9)
        assert ranks["hotter_than_pct"].iloc[i] == pytest.approx(strict * n / (n - 1), abs=1e-9)


def test_population_weighted_ranks():
    values = [31.0, 35.0, 35.0, 38.0]
    population = [1000, 3000, 500, 500]
    ranks = percentile_ranks(values, weights=population)
    # Zone 4 (38): residents of the other zones 4500, all in cooler zones → 100 %.
    assert ranks["hotter_than_residents_pct"].iloc[3] == pytest.approx(100.0)
    # Zone 2 (35): others 2000 residents, 1000 cooler → 50 %.
    assert ranks["hotter_than_residents_pct"].iloc[1] == pytest.approx(50.0)
    # Mid-rank of 35: (1000 + 0.5·3500)/5000 = 55 %.
    assert ranks["midrank_residents_pct"].iloc[1] == pytest.approx(55.0)
    # Equal populations reproduce the zone ranks.
    equal = percentile_ranks(values, weights=[7, 7, 7, 7])
    np.testing.assert_allclose(equal["hotter_than_residents_pct"], equal["hotter_than_pct"])
    np.testing.assert_allclose(equal["midrank_residents_pct"], equal["midrank_pct"])


def test_series_index_kept_and_missing_values():
    values = pd.Series([31.0, np.nan, 35.0, 33.0], index=["a", "b", "c", "d"])
    ranks = percentile_ranks(values)
    assert list(ranks.index) == ["a", "b", "c", "d"]
    assert np.isnan(ranks.loc["b", "hotter_than_pct"])
    assert ranks.loc["c", "hotter_than_pct"] == pytest.approx(100.0)  # of the 2 other valid zones


def test_bad_weights():
    with pytest.raises(InequalityError, match="negative"):
        percentile_ranks([1, 2, 3], weights=[1, -1, 1])
    with pytest.raises(InequalityError, match="values for"):
        percentile_ranks([1, 2, 3], weights=[1, 1])
