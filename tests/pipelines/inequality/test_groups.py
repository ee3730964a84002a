from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from pipelines.inequality import group_difference
from pipelines.inequality.results import unbounded_side
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
    """p-values by enumerating every labelling with the stratum counts of ``group``.

    The statistic, written out here: in each stratum with zones on both sides the weighted
    mean inside minus outside, averaged over those strata with weights W_in·W_out/W (each
    labelling's own: Mantel–Haenszel's); with one stratum, the difference of means.
    """
    n, k = len(values), int(group.sum())
    target = {s: int(group[strata == s].sum()) for s in np.unique(strata)}
    compared = [s for s in np.unique(strata) if 0 < target[s] < int((strata == s).sum())]

    def delta(labels):
        gaps, lam = [], []
        for s in compared:
            inside, outside = (strata == s) & labels, (strata == s) & ~labels
            w_in, w_out = weights[inside].sum(), weights[outside].sum()
            gaps.append(np.average(values[inside], weights=weights[inside])
                        - np.average(values[outside], weights=weights[outside]))  # fmt: skip
            lam.append(w_in * w_out / (w_in + w_out))
        return np.average(gaps, weights=lam)

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
    pooled = np.average(P1_VALUES[P1_GROUP], weights=weights[P1_GROUP]) - np.average(
        P1_VALUES[~P1_GROUP], weights=weights[~P1_GROUP]
    )
    assert result.pooled_difference == pytest.approx(pooled, abs=1e-12)
    assert result.value != pytest.approx(pooled, abs=1e-3)  # two strata: not the same
    assert result.n_strata_compared == 2
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
    values = np.r_[np.full(10, 30.0), np.full(10, 35.0)] + np.tile([0.05, -0.05], 10)
    group = np.zeros(20, bool)
    group[10:18] = True
    strata = np.repeat([0, 1], 10)
    pooled = group_difference(values, group, exact_limit=0, permutations=999, seed=0)
    stratified = group_difference(
        values, group, stratum=strata, exact_limit=0, permutations=999, seed=0
    )
    assert pooled.p_value < 0.01
    assert stratified.p_value > 0.2


@pytest.mark.parametrize("stratified", [False, True])
def test_interval_inverts_the_exact_test(stratified):
    # Oracle: the brute-force test of H0: Δ = δ (δ taken off the group's values) rejects
    # just outside each end of the interval and not just inside it.
    strata = np.array(["A", "A", "B", "B", "A", "B", "A", "B"]) if stratified else np.zeros(8)
    weights = np.array([120, 300, 80, 500, 260, 90, 410, 150], float)
    result = group_difference(
        P1_VALUES, P1_GROUP, weights=weights, stratum=strata if stratified else None
    )
    assert result.ci_low < result.value < result.ci_high

    def p_two(shift):
        return _brute_force(P1_VALUES - shift * P1_GROUP, P1_GROUP, strata, weights)[1]

    step = 1e-6
    assert p_two(result.ci_low + step) > 0.05 >= p_two(result.ci_low - step)
    assert p_two(result.ci_high - step) > 0.05 >= p_two(result.ci_high + step)


@pytest.mark.parametrize("seed", range(6))
def test_interval_excludes_zero_exactly_when_the_test_rejects(seed):
    # Few group zones in many strata (a town's QPV IRIS): a bootstrap within the strata
    # could not vary the lone ones, and its interval excluded 0 where the test did not reject.
    rng = np.random.default_rng(seed)
    values = rng.normal(30, 1, 60)
    group = np.zeros(60, bool)
    group[rng.choice(60, 4, replace=False)] = True
    values[group] += seed * 0.4
    strata = rng.integers(0, 6, 60)
    result = group_difference(values, group, stratum=strata, exact_limit=0, seed=seed)
    assert result.ci_low < result.value < result.ci_high
    assert (result.ci_low > 0 or result.ci_high < 0) == (result.p_two_sided <= 0.05)


@pytest.mark.parametrize("stratum", [None, [0, 0, 0, 1, 1, 1, 1, 1]])
def test_zero_permutations_skip_the_test(stratum):
    # P-1's 56 relabelings were enumerated even with permutations=0, documented as "no test";
    # with strata (0: all in the group, 1: all out) the one labelling gave p = 1.
    result = group_difference(P1_VALUES, P1_GROUP, stratum=stratum, permutations=0)
    assert result.value == pytest.approx(41 / 15, abs=1e-12)  # the estimate stays
    assert np.isnan([result.p_value, result.p_two_sided, result.p_greater, result.p_less]).all()
    assert np.isnan([result.ci_low, result.ci_high]).all()
    assert not result.exact and result.relabelings == 0
    assert result.method.endswith("no test")


def test_too_few_relabelings_leave_the_interval_unbounded():
    result = group_difference([30.0, 31.0, 29.5, 30.5, 34.0], [0, 0, 0, 0, 1])  # 5 labellings
    assert result.p_two_sided == pytest.approx(0.2)
    assert result.ci_low == -np.inf and result.ci_high == np.inf
    assert any("too few for a 95% interval" in note for note in result.notes)
    # Both ends open: the note said "unbounded on one side".
    assert any("unbounded on both sides" in note for note in result.notes)
    # JSON has no infinity: null bounds, and the key that says they are unbounded, not absent.
    written = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert written["ci_low"] is None and written["ci_high"] is None
    assert written["ci_unbounded"] == "both"
    # The CSV row says it as the JSON does: infinite bounds, and the interval's level.
    row = result.to_row()
    assert (row["ci_low"], row["ci_high"], row["confidence"]) == (-np.inf, np.inf, 0.95)


def test_an_untested_or_bounded_interval_is_not_called_unbounded():
    untested = group_difference(P1_VALUES, P1_GROUP, permutations=0).to_dict()
    assert untested["ci_low"] is None and untested["ci_unbounded"] is None
    bounded = group_difference(P1_VALUES, P1_GROUP).to_dict()  # 56 relabelings, p = 1/56
    assert bounded["ci_low"] is not None and bounded["ci_unbounded"] is None


@pytest.mark.parametrize(
    ("low", "high", "side"),
    [
        (-np.inf, 1.0, "low"),
        (-1.0, np.inf, "high"),
        (-np.inf, np.inf, "both"),
        (-1.0, 1.0, None),
        (np.nan, np.nan, None),
    ],
)
def test_unbounded_side(low, high, side):
    assert unbounded_side(low, high) == side


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


def _five_communes(effect: float, seed: int = 3):
    """Five communes 2 K apart, the hotter with more QPV IRIS, QPV ``effect`` K off the
    other IRIS of their own commune (the case a review found the pooled gap reversed in)."""
    rng = np.random.default_rng(seed)
    values, group, strata = [], [], []
    for c, (base, n_qpv) in enumerate([(28, 1), (30, 2), (32, 3), (34, 4), (36, 5)]):
        labels = np.r_[np.ones(n_qpv, bool), np.zeros(8, bool)]
        values.append(base + effect * labels + rng.normal(0, 0.3, len(labels)))
        group.append(labels)
        strata.append(np.full(len(labels), c))
    return np.concatenate(values), np.concatenate(group), np.concatenate(strata)


def test_a_within_commune_effect_is_recovered_where_the_pooled_gap_reverses_it():
    values, group, strata = _five_communes(effect=-1.0)
    result = group_difference(values, group, stratum=strata, exact_limit=0, seed=0)
    # The overall means mix in that QPV sit in the hotter communes: the pooled gap is > 0.
    assert result.pooled_difference > 0.5
    assert result.value == pytest.approx(-1.0, abs=0.25)  # the planted within-commune effect
    assert result.ci_low < -1.0 < result.ci_high and result.ci_high < 0
    assert result.p_two_sided < 0.01 and result.p_less < 0.01 and result.p_greater > 0.99
    assert result.n_strata_compared == 5
    # No effect: the estimate is near 0 and the two-sided test does not reject (before,
    # the pooled gap's two-sided p was the one-sided p of a shifted null).
    values, group, strata = _five_communes(effect=0.0)
    null = group_difference(values, group, stratum=strata, exact_limit=0, seed=0)
    assert abs(null.value) < 0.3 and null.p_two_sided > 0.05
    assert null.ci_low < 0 < null.ci_high


def test_zones_without_population_are_left_out_of_the_relabelings():
    """A zone of population 0 weighs nothing in a weighted mean; relabelings putting a side
    on such zones only had no mean (NaN) and biased p down, and a stratum of such zones
    only divided by 0. Oracle: the brute force over the zones with population."""
    values = np.array([31.0, 29.5, 30.2, 28.9, 33.0, 30.0, 32.5, 29.0, 30.7, 31.9, 28.0, 30.3])
    group = np.array([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], bool)
    strata = np.repeat([0, 1], 6)
    weights = np.array([900, 0, 1200, 800, 1500, 1100, 700, 1300, 0, 1000, 950, 1250], float)
    result = group_difference(values, group, weights=weights, stratum=strata)
    kept = weights > 0
    observed, p_two, _, count = _brute_force(values[kept], group[kept], strata[kept], weights[kept])
    assert result.value == pytest.approx(observed, abs=1e-12)
    assert result.relabelings == count == 25  # C(5, 1) · C(5, 1)
    assert result.p_two_sided == pytest.approx(p_two)
    assert any("2 zones have no population" in note for note in result.notes)
    # A stratum whose zones all have no population: left out, no division by zero.
    strata3 = np.r_[strata, [2, 2]]
    out = group_difference(np.r_[values, [30.0, 31.0]], np.r_[group, [True, False]],
                           weights=np.r_[weights, [0.0, 0.0]], stratum=strata3)  # fmt: skip
    assert out.value == pytest.approx(observed, abs=1e-12) and out.n_strata_compared == 2
