from __future__ import annotations

import numpy as np
import pytest

from pipelines.inequality import bootstrap
from pipelines.inequality.bootstrap import Resamples, resample_counts
from tiles.errors import InequalityError

# The oracles below take each resample as np.repeat of the zones by their counts and apply
# the definitions of the statistics literally (the NumPy formulas of the point estimates).


def _ranks(income, mass):
    """Fractional ranks: mass strictly poorer plus half the tied group's, over the total."""
    below = np.array([mass[income < v].sum() for v in income])
    tied = np.array([mass[income == v].sum() for v in income])
    return (below + tied / 2.0) / mass.sum()


def _moments(h, y, w):
    """μ_w and cov_w(h, r), ddof 0, with population-weighted fractional ranks."""
    if not w.sum() > 0:
        return np.nan, np.nan
    p = w / w.sum()
    r = _ranks(y, w)
    mu = np.sum(p * h)
    return mu, np.sum(p * (h - mu) * (r - np.sum(p * r)))


def _gap(h, y, pop, rank_mass):
    """E_D1 − E_D10: decile d with (d − 1)/10 < r ≤ d/10 (rank rounded to 9 decimals)."""
    if not rank_mass.sum() > 0:
        return np.nan
    decile = np.clip(np.ceil(np.round(_ranks(y, rank_mass) * 10.0, 9)), 1, 10)
    exposure = []
    for d in (1, 10):
        residents = pop[decile == d].sum()
        exposure.append(np.sum((pop * h)[decile == d]) / residents if residents > 0 else np.nan)
    return exposure[0] - exposure[1]


def _counts(resamples):
    return np.concatenate(list(resamples.blocks()))


def _city(n, seed, *, ties=False, empty=0):
    rng = np.random.default_rng(seed)
    income = np.sort(rng.lognormal(10, 0.4, n))
    if ties:
        income = np.round(income, -3)
    lst = 300 - 2 * np.log(income / 2e4) + rng.normal(0, 1.5, n)  # K: far from its origin
    pop = rng.integers(200, 5000, n).astype(float)
    pop[rng.choice(n, empty, replace=False)] = 0.0  # zones without residents
    return lst, income, pop


def test_counts_count_the_draws_of_each_resample():
    counts = resample_counts(np.random.default_rng(4), 50, 30)
    drawn = np.random.default_rng(4).integers(0, 50, size=(30, 50), dtype=np.uint16)
    expected = np.array([np.bincount(row, minlength=50) for row in drawn])
    assert counts.dtype == np.uint16
    np.testing.assert_array_equal(counts, expected)
    assert (counts.sum(axis=1) == 50).all()
    assert bootstrap.count_dtype(65535) == np.uint16 and bootstrap.count_dtype(65536) == np.uint32


@pytest.mark.parametrize("keep", [True, False])
def test_resamples_are_the_same_on_every_pass(monkeypatch, keep):
    monkeypatch.setattr(bootstrap, "_BLOCK_ELEMENTS", 7 * 40)  # blocks of 7 resamples
    if not keep:
        monkeypatch.setattr(bootstrap, "_KEEP_BYTES", 0)  # drawn again on each pass
    resamples = Resamples(30, 40, seed=9)
    first = list(resamples.blocks())
    assert [len(block) for block in first] == [7, 7, 7, 7, 2]
    np.testing.assert_array_equal(_counts(resamples), np.concatenate(first))
    np.testing.assert_array_equal(_counts(Resamples(30, 40, seed=9)), np.concatenate(first))
    assert not np.array_equal(_counts(Resamples(30, 40, seed=10)), np.concatenate(first))


def test_kept_and_redrawn_resamples_are_the_same(monkeypatch):
    kept = _counts(Resamples(25, 60, seed=np.random.SeedSequence(2)))
    monkeypatch.setattr(bootstrap, "_KEEP_BYTES", 0)
    np.testing.assert_array_equal(_counts(Resamples(25, 60, seed=np.random.SeedSequence(2))), kept)


@pytest.mark.parametrize(
    ("n", "ties", "weighted", "empty"),
    [(60, True, True, 0), (60, True, False, 0), (200, False, True, 5), (4, False, True, 3)],
)
def test_moment_replicates_are_the_moments_of_each_resample(n, ties, weighted, empty):
    h, y, pop = _city(n, seed=n, ties=ties, empty=empty)
    w = pop / pop.sum() if weighted else np.full(n, 1.0 / n)
    resamples = Resamples(200, n, seed=1)
    mu, cov = resamples.moments(h, w, y)
    expected = np.array(
        [_moments(*(np.repeat(a, row) for a in (h, y, w))) for row in _counts(resamples)]
    )
    if ties:
        assert len(np.unique(y)) < n
    np.testing.assert_allclose(mu, expected[:, 0], rtol=1e-13)
    np.testing.assert_allclose(cov, expected[:, 1], rtol=1e-12, atol=1e-14)
    if n == 4:  # some resamples drew only zones without residents: undefined, as today
        assert np.isnan(mu).any() and not np.isnan(mu).all()


@pytest.mark.parametrize("by", ["population", "zones"])
@pytest.mark.parametrize(("n", "ties", "empty"), [(80, True, 0), (300, False, 10), (7, True, 2)])
def test_gap_replicates_are_the_gap_of_each_resample(by, n, ties, empty):
    h, y, pop = _city(n, seed=n + 1, ties=ties, empty=empty)
    rank_mass = pop if by == "population" else np.ones(n)
    resamples = Resamples(300, n, seed=2)
    gaps = resamples.gaps(h, pop, rank_mass, y)
    expected = [
        _gap(*(np.repeat(a, row) for a in (h, y, pop, rank_mass))) for row in _counts(resamples)
    ]
    np.testing.assert_allclose(gaps, expected, rtol=1e-12, atol=1e-12)  # K, of outcomes ~300 K
    if n == 7:  # resamples with an empty D1 or D10, or no resident in one: NaN
        assert np.isnan(gaps).any() and not np.isnan(gaps).all()


@pytest.mark.parametrize("mass", [1.0, 0.1])
def test_gap_replicates_put_a_rank_on_a_boundary_in_the_lower_decile(mass):
    # Ten zones of equal weight: a resample's ranks (draws below + half the zone's) / 10 are
    # 0.1 or 0.9 in many resamples, where the zone belongs to D1 or D9. With weights of 0.1
    # the sums are not exact (Σ = 0.9999999999999999): the rank, rounded, still is.
    h = np.arange(10.0) ** 2
    y = np.arange(10.0)
    weights = np.full(10, mass)
    resamples = Resamples(400, 10, seed=3)
    gaps = resamples.gaps(h, weights, weights, y)
    counts = _counts(resamples)
    ranks = (np.cumsum(counts, axis=1) - counts / 2.0) / 10.0
    assert ((ranks == 0.1) & (counts > 0)).any(axis=1).sum() > 20
    assert ((ranks == 0.9) & (counts > 0)).any(axis=1).sum() > 20
    expected = [_gap(*(np.repeat(a, row) for a in (h, y, weights, weights))) for row in counts]
    np.testing.assert_allclose(gaps, expected, rtol=1e-12)


def test_moments_are_those_of_the_zones_given():
    # The moments of zones are kept (C, GC and E share them), not reused for others.
    h, y, pop = _city(30, seed=6, ties=True)
    resamples = Resamples(50, 30, seed=0)
    first = resamples.moments(h, pop, y)
    for other in [(h[::-1].copy(), pop, y), (h, pop[::-1].copy(), y), (h, pop, np.sort(h))]:
        np.testing.assert_array_equal(
            resamples.moments(*other), Resamples(50, 30, 0).moments(*other)
        )
    np.testing.assert_array_equal(resamples.moments(h, pop, y), first)


def _kernel_calls(monkeypatch):
    """Return the list the moments kernel appends to on each call, from now on."""
    calls = []
    kernel = bootstrap._moments_kernel
    monkeypatch.setattr(
        bootstrap, "_moments_kernel", lambda *args: calls.append(1) or kernel(*args)
    )
    return calls


def test_alternating_outcomes_compute_their_moments_once_each(monkeypatch):
    # The outcomes of a run, on threads, ask one Resamples in turn: each outcome's moments
    # are computed once (one kernel call: the counts fit one block), not again after the
    # other's, and they are each resample's moments (the literal oracle).
    calls = _kernel_calls(monkeypatch)
    h, y, pop = _city(40, seed=8)
    outcomes = (h, h[::-1].copy())
    resamples = Resamples(100, 40, seed=4)
    got = [resamples.moments(outcomes[i % 2], pop, y) for i in range(6)]
    assert len(calls) == 2
    counts = _counts(resamples)
    for i, (mu, cov) in enumerate(got):
        expected = np.array(
            [_moments(*(np.repeat(a, row) for a in (outcomes[i % 2], y, pop))) for row in counts]
        )
        np.testing.assert_allclose(mu, expected[:, 0], rtol=1e-13)
        np.testing.assert_allclose(cov, expected[:, 1], rtol=1e-12, atol=1e-14)
        alone = Resamples(100, 40, seed=4).moments(outcomes[i % 2], pop, y)  # unshared
        np.testing.assert_array_equal(np.array((mu, cov)), np.array(alone))


def test_moments_kept_are_those_of_the_last_zones_used(monkeypatch):
    # At most _MOMENTS_KEPT outcomes' moments are kept: those used last.
    calls = _kernel_calls(monkeypatch)
    h, y, pop = _city(20, seed=9)
    kept = bootstrap._MOMENTS_KEPT
    outcomes = [h + i for i in range(kept + 1)]
    resamples = Resamples(30, 20, seed=5)
    for outcome in outcomes[:kept]:
        resamples.moments(outcome, pop, y)
    resamples.moments(outcomes[0], pop, y)  # used again: now the last to go
    resamples.moments(outcomes[kept], pop, y)  # one more: outcomes[1] makes room
    assert len(calls) == kept + 1
    resamples.moments(outcomes[0], pop, y)
    assert len(calls) == kept + 1
    resamples.moments(outcomes[1], pop, y)
    assert len(calls) == kept + 2


def test_resamples_of_other_zones_are_refused():
    h, y, pop = _city(20, seed=0)
    with pytest.raises(InequalityError, match="resamples are of 21 zones, not 20"):
        Resamples(10, 21, seed=0).moments(h, pop, y)
    with pytest.raises(InequalityError, match="resamples are of 19 zones, not 20"):
        Resamples(10, 19, seed=0).gaps(h, pop, pop, y)
    with pytest.raises(InequalityError, match="size ≥ 1"):
        Resamples(0, 20)
