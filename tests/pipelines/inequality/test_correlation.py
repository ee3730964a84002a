from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pipelines.inequality import correlation
from tiles.errors import InequalityError

from ._vectors import (
    INCOME,
    LST_C,
    PEARSON_R1,
    R2_INCOME,
    R2_LST,
    R2_PEARSON,
    R2_SPEARMAN,
    SPEARMAN_R1,
)

SHEET = 1e-7  # the sheet gives 7 decimals (truncated or rounded)


def test_r1():
    assert correlation(INCOME, LST_C, method="spearman").value == pytest.approx(SPEARMAN_R1)
    assert correlation(INCOME, LST_C).value == pytest.approx(PEARSON_R1, abs=SHEET)


def test_r2_pearson_fisher_interval():
    result = correlation(R2_INCOME, R2_LST, method="pearson")
    assert (result.value, result.ci_low, result.ci_high) == pytest.approx(R2_PEARSON, abs=SHEET)
    assert result.se == pytest.approx(1 / np.sqrt(7), abs=1e-12)
    assert result.n == 10
    assert result.p_value == pytest.approx(stats.pearsonr(R2_INCOME, R2_LST).pvalue, rel=1e-9)


def test_r2_spearman_fisher_interval():
    result = correlation(R2_INCOME, R2_LST, method="spearman")
    assert (result.value, result.ci_low, result.ci_high) == pytest.approx(R2_SPEARMAN, abs=SHEET)
    assert result.se == pytest.approx(np.sqrt(1.06 / 7), abs=1e-12)


def test_perfect_correlation_interval_collapses():
    result = correlation(INCOME, LST_C, method="spearman")
    assert result.ci_low == result.ci_high == -1.0
    assert result.notes


def test_missing_rows_dropped():
    result = correlation(np.r_[R2_INCOME, np.nan], np.r_[R2_LST, 30.0])
    assert result.n == 10
    assert result.value == pytest.approx(R2_PEARSON[0], abs=SHEET)
    assert any("1 of 11 rows dropped" in note for note in result.notes)


def test_bad_input():
    with pytest.raises(InequalityError, match="method"):
        correlation(INCOME, LST_C, method="kendall")
    with pytest.raises(InequalityError, match="constant"):
        correlation(INCOME, np.ones(5))
    rounded = 0.57 + np.array([0.0, 1.0, -1.0, 2.0, 0.0]) * np.spacing(0.57)  # zone means
    for method in ("pearson", "spearman"):
        with pytest.raises(InequalityError, match="constant"):
            correlation(INCOME, rounded, method=method)
    assert correlation(INCOME, 300.0 + 1e-6 * np.arange(5)).value > 0  # small, not rounding
    with pytest.raises(InequalityError, match="at least 3"):
        correlation([1, 2], [2, 1])
