from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipelines.inequality import concentration_index, gini
from pipelines.inequality.bootstrap import Resamples
from pipelines.inequality.concentration import influence_terms
from pipelines.inequality.ranks import tie_groups
from tiles.errors import InequalityError

from ._vectors import (
    C_CELSIUS,
    C_DDOF1_BUG,
    C_KELVIN,
    C_WEIGHTED,
    GC,
    GINI_UNWEIGHTED,
    GINI_WEIGHTED,
    INCOME,
    KAKWANI_A,
    KAKWANI_SE,
    KAKWANI_VAR,
    LST_C,
    MEAN,
    MEAN_WEIGHTED,
    POPULATION,
    RANKS,
)

TOL = 1e-9


# --- §9.7 vectors -----------------------------------------------------------------------------


def test_c2_standard_index_in_celsius():
    result = concentration_index(LST_C, INCOME)
    assert result.value == pytest.approx(C_CELSIUS, abs=TOL)
    assert result.mean == pytest.approx(MEAN, abs=TOL)
    assert result.n == 5
    # The sheet's equivalent form (2/(nμ))·Σ h r − 1, with the sheet's ranks.
    alternative = 2 / (5 * MEAN) * np.sum(LST_C * np.array(RANKS)) - 1
    assert result.value == pytest.approx(alternative, abs=TOL)


def test_c3_kelvin_changes_c_but_not_gc():
    kelvin = LST_C + 273.15
    assert concentration_index(kelvin, INCOME).value == pytest.approx(C_KELVIN, abs=TOL)
    for outcome in (LST_C, kelvin):
        gc = concentration_index(outcome, INCOME, kind="generalized")
        assert gc.value == pytest.approx(GC, abs=TOL)


def test_c4_population_covariance_not_sample_covariance():
    value = concentration_index(LST_C, INCOME).value
    assert abs(value - C_DDOF1_BUG) > 1e-3


def test_c5_kakwani_standard_error():
    result = concentration_index(LST_C, INCOME)
    assert result.se == pytest.approx(KAKWANI_SE, abs=TOL)
    assert result.se**2 == pytest.approx(KAKWANI_VAR, rel=1e-7)


def test_c5_kakwani_a_terms():
    w = np.full(5, 0.2)
    start, end = tie_groups(INCOME)
    influence_gc, mu, gc = influence_terms(LST_C, w, np.array(RANKS), start, end)
    c = gc / mu
    a = (influence_gc - c * (LST_C - mu)) / mu + 1 + c
    np.testing.assert_allclose(a, KAKWANI_A, atol=5e-9)


def test_c6_population_weighted_index():
    result = concentration_index(LST_C, INCOME, weights=POPULATION)
    assert result.value == pytest.approx(C_WEIGHTED, abs=TOL)
    assert result.mean == pytest.approx(MEAN_WEIGHTED, abs=TOL)
    assert result.weighted
    assert any("weighted SE" in note for note in result.notes)


def test_c7_gini_and_its_link_to_c():
    assert gini(LST_C, weights=POPULATION) == pytest.approx(GINI_WEIGHTED, abs=TOL)
    assert gini(LST_C) == pytest.approx(GINI_UNWEIGHTED, abs=TOL)


# --- kinds, notes, errors ---------------------------------------------------------------------


def test_erreygers_for_a_bounded_share():
    share = np.array([0.10, 0.15, 0.30, 0.35, 0.50])
    result = concentration_index(share, INCOME, kind="erreygers", bounds=(0, 1))
    r = np.array(RANKS)
    by_hand = 8 * np.mean((share - share.mean()) * (r - r.mean())) / (1 - 0)
    assert result.value == pytest.approx(by_hand, abs=TOL)
    standard = concentration_index(share, INCOME)
    assert result.value == pytest.approx(4 * share.mean() * standard.value, abs=TOL)
    assert result.bounds == (0.0, 1.0)


def test_erreygers_needs_bounds():
    with pytest.raises(InequalityError, match="bounds"):
        concentration_index([0.1, 0.2, 0.3], [1, 2, 3], kind="erreygers")
    with pytest.raises(InequalityError, match="outside bounds"):
        concentration_index([0.1, 0.2, 1.3], [1, 2, 3], kind="erreygers", bounds=(0, 1))
    with pytest.raises(InequalityError, match="only apply"):
        concentration_index([0.1, 0.2, 0.3], [1, 2, 3], bounds=(0, 1))


def test_temperature_origin_note_on_standard_only():
    standard = concentration_index(LST_C, INCOME)
    assert any("pitfall 8" in note for note in standard.notes)
    generalized = concentration_index(LST_C, INCOME, kind="generalized")
    assert not any("pitfall 8" in note for note in generalized.notes)
    anomaly = concentration_index(LST_C - 30.0, INCOME)  # mean 4.6, sd 2.4
    assert not any("pitfall 8" in note for note in anomaly.notes)


def test_zero_mean_refused_for_standard_but_fine_for_generalized():
    anomaly = LST_C - LST_C.mean()
    with pytest.raises(InequalityError, match="generalized"):
        concentration_index(anomaly, INCOME)
    result = concentration_index(anomaly, INCOME, kind="generalized")
    assert result.value == pytest.approx(GC, abs=TOL)
    assert result.se == pytest.approx(concentration_index(LST_C, INCOME, kind="generalized").se)


def test_missing_rows_dropped_and_counted():
    outcome = np.r_[LST_C, np.nan, 30.0]
    income = np.r_[INCOME, 40000.0, np.nan]
    result = concentration_index(outcome, income)
    assert result.value == pytest.approx(C_CELSIUS, abs=TOL)
    assert result.n == 5
    assert any("2 of 7 rows dropped" in note for note in result.notes)


@pytest.mark.parametrize(
    ("outcome", "income", "message"),
    [
        ([np.nan, np.nan, np.nan], [1, 2, 3], "outcome is all missing"),
        ([1.0, 2.0], [1, 2], "need at least 3"),
        ([1.0, 2.0, np.nan, 4.0], [1, 2, 3, np.nan], "need at least 3"),
        (["a", "b", "c"], [1, 2, 3], "not numeric"),
        ([1.0, 2.0, 3.0], [1, 2], "different lengths"),
    ],
)
def test_bad_input(outcome, income, message):
    with pytest.raises(InequalityError, match=message):
        concentration_index(outcome, income)


def test_bad_options():
    with pytest.raises(InequalityError, match="kind"):
        concentration_index(LST_C, INCOME, kind="relative")
    with pytest.raises(InequalityError, match="negative"):
        concentration_index(LST_C, INCOME, weights=[1, 1, -1, 1, 1])


def test_result_serialises_to_strict_json():
    result = concentration_index(LST_C, INCOME, weights=POPULATION)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["p_value"] is None  # NaN → null
    assert payload["value"] == pytest.approx(C_WEIGHTED, abs=TOL)
    row = result.to_row()
    assert list(row) == [
        "metric",
        "value",
        "se",
        "ci_low",
        "ci_high",
        "confidence",
        "p_value",
        "n",
        "method",
        "notes",
    ]
    assert isinstance(row["notes"], str)


# --- bootstrap and standard errors -------------------------------------------------------------


def _synthetic(n=300, seed=3):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.4, n)
    lst = 30 - 2 * np.log(income / 2e4) + rng.normal(0, 1.5, n)
    population = rng.integers(200, 5000, n).astype(float)
    return lst, income, population


def test_bootstrap_is_reproducible_with_a_seed():
    lst, income, population = _synthetic(80)
    first = concentration_index(lst, income, weights=population, bootstrap=200, seed=7)
    again = concentration_index(lst, income, weights=population, bootstrap=200, seed=7)
    other = concentration_index(lst, income, weights=population, bootstrap=200, seed=8)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.value < first.ci_high
    assert "bootstrap" in first.ci_method


@pytest.mark.parametrize("kind", ["standard", "generalized"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_interval_is_the_percentiles_of_the_index_of_each_resample(kind, weighted):
    # Column i of the counts is the i-th zone in income order: the oracle builds each
    # resample from the sorted zones and takes its index with bootstrap=0.
    lst, income, population = _synthetic(60, seed=5)
    income = np.round(income, -3)  # tied incomes, also across copies of a zone
    weights = population if weighted else None
    resamples = Resamples(40, 60, seed=11)
    result = concentration_index(
        lst, income, weights=weights, kind=kind, bootstrap=resamples, confidence=0.8
    )
    order = np.argsort(income, kind="stable")
    h, y, w = lst[order], income[order], population[order]
    values = [
        concentration_index(
            np.repeat(h, row), np.repeat(y, row), weights=np.repeat(w, row) if weighted else None,
            kind=kind,
        ).value
        for row in np.concatenate(list(resamples.blocks()))
    ]  # fmt: skip
    assert len(np.unique(y)) < 60
    np.testing.assert_allclose(
        [result.ci_low, result.ci_high], np.quantile(values, [0.1, 0.9]), rtol=1e-10
    )
    assert result.ci_method == "bootstrap percentile over zones (B=40)"


@pytest.mark.parametrize("kind", ["standard", "generalized"])
@pytest.mark.parametrize("weighted", [False, True])
def test_linearised_se_agrees_with_the_bootstrap(kind, weighted):
    lst, income, population = _synthetic()
    result = concentration_index(
        lst, income, weights=population if weighted else None, kind=kind, bootstrap=2000, seed=1
    )
    bootstrap_se = (result.ci_high - result.ci_low) / (2 * 1.959964)
    assert result.se == pytest.approx(bootstrap_se, rel=0.15)


def test_normal_interval_without_bootstrap():
    result = concentration_index(LST_C, INCOME)
    assert result.ci_low == pytest.approx(C_CELSIUS - 1.959963985 * KAKWANI_SE, abs=1e-9)
    assert result.ci_method.startswith("normal")


def test_unweighted_se_matches_the_sheet_script_on_random_data():
    lst, income, _ = _synthetic(50)
    order = np.argsort(income)
    h = lst[order]
    n = len(h)
    r = (np.arange(1, n + 1) - 0.5) / n
    mu = h.mean()
    c = 2 * np.mean((h - mu) * (r - r.mean())) / mu
    q = np.cumsum(h) / h.sum()
    ql = np.r_[0, q[:-1]]
    a = h / mu * (2 * r - 1 - c) + 2 - ql - q
    se = np.sqrt((np.mean(a**2) - (1 + c) ** 2) / n)
    result = concentration_index(lst, income)
    assert result.value == pytest.approx(c, abs=1e-12)
    assert result.se == pytest.approx(se, rel=1e-9)


def test_tied_incomes_do_not_depend_on_row_order():
    income = np.array([1, 2, 2, 2, 3, 4, 4, 5], float)
    lst = np.array([40, 39, 35, 37, 36, 33, 34, 30], float)
    population = np.array([5, 3, 2, 7, 4, 6, 1, 2], float)
    base = concentration_index(lst, income, weights=population)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(lst))
        shuffled = concentration_index(lst[order], income[order], weights=population[order])
        assert shuffled.value == pytest.approx(base.value, abs=1e-14)
        assert shuffled.se == pytest.approx(base.se, abs=1e-14)
    assert any("tie on income" in note for note in base.notes)


# --- properties --------------------------------------------------------------------------------


def _double_sum_gini(x, w):
    """Gini from its definition Σ_iΣ_j w_i w_j |x_i − x_j| / (2 (Σw)² x̄_w) (science.md §7.2)."""
    w = np.asarray(w, float)
    mean = np.sum(w * x) / w.sum()
    return np.sum(np.outer(w, w) * np.abs(x[:, None] - x[None, :])) / (2 * w.sum() ** 2 * mean)


positive = st.floats(1.0, 100.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(positive, min_size=3, max_size=25, unique=True), st.data())
def test_strictly_decreasing_outcome_gives_minus_gini(values, data):
    n = len(values)
    weights = np.array(data.draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n)), float)
    outcome = np.sort(values)[::-1]  # strictly decreasing in income
    income = np.arange(n, dtype=float)
    for w in (None, weights):
        c = concentration_index(outcome, income, weights=w).value
        expected = _double_sum_gini(outcome, np.ones(n) if w is None else w)
        assert c == pytest.approx(-expected, abs=1e-10)
        assert gini(outcome, weights=w) == pytest.approx(expected, abs=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(positive, st.integers(0, 8), st.integers(1, 50)), min_size=3, max_size=25),
    st.floats(-500, 500, allow_nan=False),
    st.floats(0.01, 100, allow_nan=False),
)
def test_gc_shift_invariant_and_c_scale_invariant(rows, shift, scale):
    outcome, income, population = (np.array(column, float) for column in zip(*rows, strict=True))
    assume(np.ptp(outcome) > 1e-6)
    for w in (None, population):
        gc = concentration_index(outcome, income, weights=w, kind="generalized")
        shifted = concentration_index(outcome + shift, income, weights=w, kind="generalized")
        assert shifted.value == pytest.approx(gc.value, abs=1e-9 * (1 + abs(shift)))
        assert shifted.se == pytest.approx(gc.se, rel=1e-6, abs=1e-9 * (1 + abs(shift)))
        c = concentration_index(outcome, income, weights=w)
        scaled = concentration_index(outcome * scale, income, weights=w)
        assert scaled.value == pytest.approx(c.value, rel=1e-9, abs=1e-12)
        assert scaled.se == pytest.approx(c.se, rel=1e-7, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(positive, st.integers(0, 5)), min_size=3, max_size=20))
def test_equal_weights_equal_unweighted(rows):
    outcome, income = (np.array(column, float) for column in zip(*rows, strict=True))
    plain = concentration_index(outcome, income)
    weighted = concentration_index(outcome, income, weights=np.full(len(outcome), 7.0))
    assert weighted.value == pytest.approx(plain.value, abs=1e-12)
    assert weighted.se == pytest.approx(plain.se, abs=1e-12)
