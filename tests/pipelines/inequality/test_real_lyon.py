"""Real data: tree cover of the Lyon IRIS (EPSG:3946) concentrated by income, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.census import read_iris
from pipelines.inequality import concentration_index


def test_lyon_tree_cover_concentration_by_income(real_data):
    iris, _ = read_iris(real_data / "iris/LyonIris_EPSG3946.gpkg")
    assert iris.crs.to_epsg() == 3946
    table = iris[["VegHautPrt", "NivVieMed"]].dropna()
    h = table["VegHautPrt"].to_numpy(float)
    y = table["NivVieMed"].to_numpy(float)
    result = concentration_index(h, y)

    # By hand: order by income, fractional ranks (i - 1/2)/n (ties share their mean rank),
    # C = 2 cov(h, r) / mean(h) with the population covariance (ddof 0).
    n = len(h)
    order = np.argsort(y, kind="stable")
    ranks = np.empty(n)
    ranks[order] = (np.arange(1, n + 1) - 0.5) / n
    for value in np.unique(y):
        tied = y == value
        ranks[tied] = ranks[tied].mean()
    expected = 2 * np.mean((h - h.mean()) * (ranks - ranks.mean())) / h.mean()

    assert result.n == n
    assert result.value == pytest.approx(expected, rel=1e-9)
    # Richer IRIS have more tree cover in Lyon: the index is positive, and significant.
    assert result.value > 0
    assert result.value - 1.96 * result.se > 0
