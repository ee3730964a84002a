from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.inequality import exposure_by_decile
from pipelines.inequality.bootstrap import Resamples
from pipelines.inequality.deciles import decile_of_rank
from tiles.errors import InequalityError


def test_twenty_equal_zones_two_per_decile():
    income = np.arange(1, 21, dtype=float)
    decile = (np.arange(20) // 2) + 1  # zones 1-2 → D1, ..., 19-20 → D10
    outcome = 40.0 - decile  # D1 39 K ... D10 30 K
    result = exposure_by_decile(outcome, income, np.full(20, 100.0), bootstrap=0)
    assert [row.n_zones for row in result.rows] == [2] * 10
    assert [row.exposure for row in result.rows] == pytest.approx(list(range(39, 29, -1)))
    assert result.gap.value == pytest.approx(9.0)
    assert result.rows[0].income_min == 1 and result.rows[0].income_max == 2


def test_hand_checked_population_weighted_split():
    # Populations 4, 6, 10, 60, 10, 10 (total 100) in income order: cumulative shares
    # 4, 10, 20, 80, 90, 100 %, midpoints 2, 7, 15, 50, 85, 95 % → deciles 1, 1, 2, 5, 9, 10.
    income = np.array([1, 2, 3, 4, 5, 6], float)
    outcome = np.array([40, 39, 37, 35, 32, 31], float)
    population = np.array([4, 6, 10, 60, 10, 10], float)
    result = exposure_by_decile(outcome, income, population, by="population", bootstrap=0)
    assert result.by == "population"
    assert [row.n_zones for row in result.rows] == [2, 1, 0, 0, 1, 0, 0, 0, 1, 1]
    d1 = result.rows[0]
    assert d1.exposure == pytest.approx((4 * 40 + 6 * 39) / 10)  # 39.4
    assert d1.population == 10 and d1.population_share == pytest.approx(0.1)
    overall = (4 * 40 + 6 * 39 + 10 * 37 + 60 * 35 + 10 * 32 + 10 * 31) / 100  # 34.94
    assert result.overall == pytest.approx(overall)
    assert d1.exposure_minus_all == pytest.approx(39.4 - overall)
    assert result.gap.value == pytest.approx(39.4 - 31.0)
    assert any("empty deciles" in note for note in result.gap.notes)

    # Deciles of zones: ranks (i − 0.5)/6 → deciles 1, 3, 5, 6, 8, 10; exposure still weighted.
    zones = exposure_by_decile(outcome, income, population, by="zones", bootstrap=0)
    assert [row.n_zones for row in zones.rows] == [1, 0, 1, 0, 1, 1, 0, 1, 0, 1]
    assert zones.gap.value == pytest.approx(40.0 - 31.0)
    assert "split zones" in zones.gap.method


def test_decile_boundaries_go_to_the_lower_decile():
    assert decile_of_rank([0.05, 0.1, 0.3, 0.30000000000000004, 0.31, 1.0]).tolist() == [
        1,
        1,
        3,
        3,
        4,
        10,
    ]


def _synthetic(n=200, seed=0):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.4, n)
    outcome = 305 - 2 * np.log(income / 2e4) + rng.normal(0, 1, n)
    population = rng.integers(100, 4000, n).astype(float)
    return outcome, income, population


def test_decile_table_is_consistent():
    outcome, income, population = _synthetic()
    result = exposure_by_decile(outcome, income, population, bootstrap=0)
    shares = [row.population_share for row in result.rows]
    assert sum(shares) == pytest.approx(1.0)
    assert all(0.05 < share < 0.15 for share in shares)  # deciles of residents
    weighted = sum(row.population * row.exposure for row in result.rows) / population.sum()
    assert weighted == pytest.approx(result.overall)
    assert sum(row.n_zones for row in result.rows) == 200


def test_gap_bootstrap_is_seeded_and_covers_the_gap():
    outcome, income, population = _synthetic()
    first = exposure_by_decile(outcome, income, population, bootstrap=300, seed=4)
    again = exposure_by_decile(outcome, income, population, bootstrap=300, seed=4)
    assert (first.gap.ci_low, first.gap.ci_high) == (again.gap.ci_low, again.gap.ci_high)
    assert first.gap.ci_low < first.gap.value < first.gap.ci_high
    assert first.gap.value > 0  # poorer deciles are hotter in this synthetic city


@pytest.mark.parametrize("by", ["population", "zones"])
def test_the_interval_is_the_percentiles_of_the_gap_of_each_resample(by):
    # Column i of the counts is the i-th zone in income order: the oracle builds each
    # resample from the sorted zones and takes its gap without bootstrap.
    outcome, income, population = _synthetic(80, seed=2)
    income = np.round(income, -3)  # ties
    resamples = Resamples(40, 80, seed=3)
    result = exposure_by_decile(outcome, income, population, by=by, bootstrap=resamples)
    order = np.argsort(income, kind="stable")
    h, y, pop = outcome[order], income[order], population[order]
    gaps = [
        exposure_by_decile(np.repeat(h, row), np.repeat(y, row), np.repeat(pop, row), by=by,
                           bootstrap=0).gap.value
        for row in np.concatenate(list(resamples.blocks()))
    ]  # fmt: skip
    expected = np.quantile(gaps, [0.025, 0.975])
    np.testing.assert_allclose([result.gap.ci_low, result.gap.ci_high], expected, rtol=1e-10)
    assert "(B=40)" in result.gap.method


def test_serialisation():
    outcome, income, population = _synthetic(30)
    result = exposure_by_decile(outcome, income, population, bootstrap=50, seed=0)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["by"] == "population"
    assert len(payload["deciles"]) == 10
    rows = result.to_rows()
    assert [row["metric"] for row in rows][:2] == ["exposure_D1", "exposure_D2"]
    assert rows[-1]["metric"] == "exposure_gap_d1_d10"


def test_no_population_weighs_zones_equally():
    outcome, income, _ = _synthetic(40)
    result = exposure_by_decile(outcome, income, None, bootstrap=0)
    assert [row.n_zones for row in result.rows] == [4] * 10
    assert any("no population" in note for note in result.gap.notes)


def test_bad_input():
    with pytest.raises(InequalityError, match="by must be"):
        exposure_by_decile([1, 2, 3], [1, 2, 3], [1, 1, 1], by="households")
    with pytest.raises(InequalityError, match="outcome is all missing"):
        exposure_by_decile([np.nan] * 3, [1, 2, 3], [1, 1, 1])
    with pytest.raises(InequalityError, match="negative"):
        exposure_by_decile([1, 2, 3], [1, 2, 3], [1, -1, 1])


def test_an_unweighted_split_says_so_and_counts_zones():
    """Without a population the deciles' means count every zone once: they were labelled
    "population-weighted mean outcome", with a "population" that was the count of zones.
    Ten zones, one per decile (ranks (i − 0.5)/10), so each decile's mean is its zone's."""
    income = np.arange(1, 11, dtype=float) * 1_000
    outcome = np.arange(40, 30, -1, dtype=float)
    result = exposure_by_decile(outcome, income, None, by="zones", bootstrap=0)
    assert result.weighted is False and result.by == "zones"
    d1 = result.to_dict()["deciles"][0]
    assert (d1["n_zones"], d1["population"], d1["population_share"]) == (1, None, None)
    assert d1["exposure"] == 40.0
    [row, *_] = result.to_rows()
    assert (
        row["method"]
        == "unweighted mean outcome (zones counted equally); income deciles split zones"
    )
    assert row["notes"] == "zones=1; income 1000.0–1000.0"
    assert "unweighted mean outcome (zones counted equally) per income decile" in result.gap.method
    # With populations the rows are as before.
    weighted = exposure_by_decile(outcome, income, np.full(10, 50.0), bootstrap=0)
    [row, *_] = weighted.to_rows()
    assert weighted.weighted is True
    assert row["method"] == "population-weighted mean outcome; income deciles split residents"
    assert row["notes"] == "population=50.0; income 1000.0–1000.0"
    assert weighted.to_dict()["deciles"][0]["population"] == 50.0
    assert "population-weighted mean outcome per income decile" in weighted.gap.method
