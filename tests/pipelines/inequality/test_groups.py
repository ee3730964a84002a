from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipelines.inequality import group_difference
from tiles.errors import InequalityError

from ._vectors import P1_DELTA, P1_GROUP, P1_P, P1_VALUES


def test_p1_exact_enumeration():
    for alternative in ("two-sided", "greater"):
        result = group_difference(P1_VALUES, P1_GROUP, alternative=alternative)
        assert result.value == pytest.approx(P1_DELTA, abs=5e-8)
        assert result.value == pytest.approx(41 / 15, abs=1e-12)
        assert result.p_value == pytest.approx(P1_P, abs=1e-15)
        assert result.exact and result.relabelings == 56
    assert result.p_two_sided == pytest.approx(1 / 56)
    assert result.p_less == pytest.approx(1.0)
    assert (result.n_in, result.n_out) == (3, 5)


def _brute_force(values, group, strata, weights):
    """p-values by enumerating every labelling with the stratum counts of ``group``."""
    n, k = len(values), int(group.sum())
    target = {s: int(group[strata == s].sum()) for s in np.unique(strata)}

    def delta(labels):
        return np.average(values[labels], weights=weights[labels]) - np.average(
            values[~labels], weights=weights[~labels]
        )

    observed = delta(group)
    deltas = []
    for chosen in itertools.combinations(range(n), k):
        labels = np.zeros(n, bool)
        labels[list(chosen)] = True
        if all(int(labels[strata == s].sum()) == c for s, c in target.items()):
            deltas.append(delta(labels))
    deltas = np.array(deltas)
    eps = 1e-12
    return (
        observed,
        np.mean(np.abs(deltas) >= abs(observed) - eps),
        np.mean(deltas >= observed - eps),
        len(deltas),
    )


def test_stratified_weighted_exact_matches_brute_force():
    strata = np.array(["A", "A", "B", "B", "A", "B", "A", "B"])
    weights = np.array([120, 300, 80, 500, 260, 90, 410, 150], float)
    observed, p_two, p_greater, count = _brute_force(P1_VALUES, P1_GROUP, strata, weights)
    result = group_difference(P1_VALUES, P1_GROUP, weights=weights, stratum=strata)
    assert result.value == pytest.approx(observed, abs=1e-12)
    assert result.relabelings == count == 24  # C(4, 2) · C(4, 1)
    assert result.p_two_sided == pytest.approx(p_two)
    assert result.p_greater == pytest.approx(p_greater)
    assert result.n_strata == 2


def test_monte_carlo_agrees_with_exact_and_is_seeded():
    rng = np.random.default_rng(0)
    values = rng.normal(30, 2, 30)
    group = np.zeros(30, bool)
    group[:5] = True
    values[group] += 1.0
    exact = group_difference(values, group, exact_limit=200_000)  # C(30, 5) = 142 506
    assert exact.exact
    mc = group_difference(values, group, exact_limit=0, permutations=4999, seed=1)
    again = group_difference(values, group, exact_limit=0, permutations=4999, seed=1)
    assert not mc.exact and mc.relabelings == 4999
    assert mc.p_value == again.p_value
    assert abs(mc.p_value - exact.p_value) < 4 * np.sqrt(exact.p_value / 4999) + 1e-3
    # Phipson & Smyth: never zero.
    far = values.copy()
    far[group] += 100
    assert group_difference(far, group, exact_limit=0, permutations=99, seed=0).p_value == 1 / 100


def test_monte_carlo_respects_strata():
    # All the group zones are in stratum 1 and the outcome differs only between strata, so
    # within-stratum relabelings match the observed gap: the stratified p stays large.
    values = np.r_[np.full(10, 30.0), np.full(10, 35.0)] + np.linspace(0, 0.1, 20)
    group = np.zeros(20, bool)
    group[10:18] = True
    strata = np.repeat([0, 1], 10)
    pooled = group_difference(values, group, exact_limit=0, permutations=999, seed=0)
    stratified = group_difference(
        values, group, stratum=strata, exact_limit=0, permutations=999, seed=0
    )
    assert pooled.p_value < 0.01
    assert stratified.p_value > 0.2


def test_bootstrap_interval():
    rng = np.random.default_rng(2)
    values = rng.normal(30, 1, 60)
    group = np.arange(60) < 15
    values[group] += 2
    result = group_difference(values, group, bootstrap=500, seed=3)
    assert result.ci_low < result.value < result.ci_high
    assert 1.0 < result.value < 3.0


def test_missing_group_rows_are_dropped():
    group = np.array([1, 1, 1, 0, 0, 0, 0, 0, np.nan])
    result = group_difference(np.r_[P1_VALUES, 50.0], group)
    assert result.n == 8
    assert result.p_value == pytest.approx(P1_P)
    assert any("1 missing group" in note for note in result.notes)


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ([True] * 8, "both sides"),
        (["QPV", "QPV", "QPV", "x", "x", "x", "x", "x"], "booleans or 0/1"),
        ([2, 2, 2, 0, 0, 0, 0, 0], "booleans or 0/1"),
    ],
)
def test_bad_groups(group, message):
    with pytest.raises(InequalityError, match=message):
        group_difference(P1_VALUES, group)


def test_bad_alternative():
    with pytest.raises(InequalityError, match="alternative"):
        group_difference(P1_VALUES, P1_GROUP, alternative="bigger")
