from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.inequality import fractional_ranks
from tiles.errors import InequalityError

from ._vectors import INCOME, POPULATION, RANKS, RANKS_WEIGHTED


def test_c1_unweighted_ranks():
    np.testing.assert_allclose(fractional_ranks(INCOME), RANKS, atol=1e-12)


def test_c6_weighted_ranks():
    np.testing.assert_allclose(fractional_ranks(INCOME, POPULATION), RANKS_WEIGHTED, atol=1e-12)


def test_ranks_follow_input_order():
    shuffled = np.array([3, 0, 4, 1, 2])
    np.testing.assert_allclose(
        fractional_ranks(INCOME[shuffled], POPULATION[shuffled]),
        np.array(RANKS_WEIGHTED)[shuffled],
        atol=1e-12,
    )


def test_ties_share_the_mean_rank():
    # (i − 0.5)/n would give 0.375 and 0.625 to the tied pair: both get their mean, 0.5.
    np.testing.assert_allclose(fractional_ranks([1, 2, 2, 3]), [0.125, 0.5, 0.5, 0.875])
    # Weighted: share strictly poorer (0.1) plus half the tied group's share (0.6/2).
    np.testing.assert_allclose(fractional_ranks([1, 2, 2, 3], [1, 2, 4, 3]), [0.05, 0.4, 0.4, 0.85])


def test_missing_income_is_refused():
    with pytest.raises(InequalityError, match="missing"):
        fractional_ranks([1.0, np.nan, 3.0])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
    st.data(),
)
def test_weighted_mean_rank_is_one_half(incomes, data):
    weights = data.draw(st.lists(st.integers(1, 50), min_size=len(incomes), max_size=len(incomes)))
    ranks = fractional_ranks(incomes, weights)
    w = np.asarray(weights, float) / np.sum(weights)
    assert np.sum(w * ranks) == pytest.approx(0.5, abs=1e-12)
    assert ((ranks > 0) & (ranks < 1)).all()
