from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from scipy import sparse
from shapely import box

from pipelines.inequality import bootstrap, groups, report, run_inequality, spatial
from pipelines.inequality.shared import SharedDraws, seed_key

from .test_report import city


def test_each_key_is_made_once_across_threads():
    shared, made = SharedDraws(), []

    def make():
        made.append(1)
        time.sleep(0.01)  # the other threads arrive while it is being made
        return object()

    got = []
    threads = [
        threading.Thread(target=lambda: got.append(shared.once("k", make))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert all(value is got[0] for value in got)
    assert shared.once("other", lambda: 2) == 2
    assert [shared.once(None, lambda: len(made)) for _ in range(2)] == [1, 1]  # no key: no cache


def test_a_value_that_failed_is_made_by_the_next_caller_waiting():
    """The first maker raises while a second thread waits: the waiter makes the value (its
    own make is called), later callers get it without making, and no thread hangs."""
    shared, calls, started = SharedDraws(), [], threading.Event()

    def failing():
        calls.append("failing")
        started.set()
        time.sleep(0.05)  # the waiter arrives meanwhile
        raise RuntimeError("disk full")

    def working():
        calls.append("working")
        return 7

    errors, got = [], []

    def first():
        try:
            shared.once("k", failing)
        except RuntimeError as error:
            errors.append(str(error))

    one = threading.Thread(target=first)
    one.start()
    started.wait(5)
    two = threading.Thread(target=lambda: got.append(shared.once("k", working)))
    two.start()
    one.join(5)
    two.join(5)
    assert not one.is_alive() and not two.is_alive()
    assert errors == ["disk full"] and got == [7]
    assert calls == ["failing", "working"]
    assert shared.once("k", failing) == 7 and calls == ["failing", "working"]


def test_only_seeds_that_fix_a_stream_have_a_key():
    first, second = np.random.SeedSequence(4).spawn(2)
    assert seed_key(first) == seed_key(np.random.SeedSequence(4).spawn(1)[0])
    assert seed_key(first) != seed_key(second)
    assert seed_key(7) == seed_key(np.int64(7))
    assert seed_key(None) is None
    assert seed_key(np.random.default_rng(7)) is None  # its state moves on
    assert seed_key(True) is None
    # Entropy given as a sequence (a list, an array): a key all the same, one per entropy.
    listed = seed_key(np.random.SeedSequence([1, 2]))
    assert hash(listed) == hash(seed_key(np.random.SeedSequence(np.array([1, 2]))))
    assert listed != seed_key(np.random.SeedSequence([1, 3]))


def test_relabelings_are_numpy_permutations_of_the_labels():
    # Oracle: NumPy permuting the float labels themselves (1 for the k group zones, then 0).
    n, k, replicates = 30, 7, 50
    inside = np.zeros(n, dtype=bool)
    inside[:k] = True
    stratum = groups._Stratum(np.arange(n), np.linspace(0, 1, n), np.ones(n), inside)
    drawn = np.concatenate(list(stratum.relabelings(replicates, np.random.default_rng(11))))
    labels = np.r_[np.ones(k), np.zeros(n - k)]
    expected = np.random.default_rng(11).permuted(np.broadcast_to(labels, (replicates, n)), axis=1)
    np.testing.assert_array_equal(drawn.astype(np.float64), expected)
    assert (drawn.sum(axis=1) == k).all()


def test_moran_permutations_shuffle_the_values_as_numpy_does():
    # Oracle: I of each of NumPy's permutations of the values, computed here.
    rng = np.random.default_rng(2)
    n, permutations = 25, 40
    z = rng.normal(size=n)
    matrix = sparse.csr_array((rng.random((n, n)) < 0.2).astype(float))
    s0, denominator = float(matrix.sum()), float(z @ z)
    orders = spatial._permutations(n, permutations, 9, SharedDraws())
    simulated = spatial._permuted_i(z, matrix, s0, denominator, orders)
    shuffled = np.random.default_rng(9).permuted(np.broadcast_to(z, (permutations, n)), axis=1)
    expected = [n / s0 * (row @ (matrix @ row)) / denominator for row in shuffled]
    np.testing.assert_allclose(simulated, expected, rtol=1e-12)


def test_outcomes_sharing_draws_report_what_they_report_alone(monkeypatch):
    made = {"resamples": 0, "relabelings": 0}
    counts, relabel = bootstrap.resample_counts, groups._Stratum.relabelings

    def counted(name, function):
        def wrapper(*args):
            made[name] += 1
            yield from function(*args)

        return wrapper

    monkeypatch.setattr(bootstrap, "resample_counts", lambda *a: made.update(
        resamples=made["resamples"] + 1) or counts(*a))  # fmt: skip
    monkeypatch.setattr(groups._Stratum, "relabelings", counted("relabelings", relabel))
    frame = city()
    frame["warm_k"] = 2 * frame["lst_mean_k"] + np.linspace(0, 1, len(frame))  # same NaN row
    kwargs = {
        "income": "DISP_MED21", "population": "population", "group": "qpv",
        "stratum": "commune", "geometry": "geometry", "bootstrap": 200, "permutations": 99,
        "moran_permutations": 49, "seed": 5,
    }  # fmt: skip
    alone = [run_inequality(frame, outcome=o, **kwargs) for o in ("lst_mean_k", "warm_k")]
    made_alone = dict(made)
    shared = SharedDraws()
    together = [run_inequality(frame, outcome=o, shared=shared, **kwargs)
                for o in ("lst_mean_k", "warm_k")]  # fmt: skip
    assert [r.to_json() for r in together] == [r.to_json() for r in alone]
    assert together[0].group_difference.relabelings == 99  # Monte Carlo: drawn, not enumerated
    assert made["resamples"] - made_alone["resamples"] == made_alone["resamples"] / 2
    assert made["relabelings"] - made_alone["relabelings"] == made_alone["relabelings"] / 2


@pytest.mark.parametrize("threads", [1, 3])
def test_resamples_shared_by_threads_give_each_its_moments(threads):
    resamples = bootstrap.Resamples(300, 40, seed=1)
    rng = np.random.default_rng(0)
    income = np.sort(rng.normal(size=40))
    outcomes = [rng.normal(size=40) for _ in range(6)]
    alone = [bootstrap.Resamples(300, 40, seed=1).moments(h, np.ones(40), income) for h in outcomes]
    results: dict[int, tuple] = {}

    def work(i):
        results[i] = resamples.moments(outcomes[i], np.ones(40), income)

    for first in range(0, 6, threads):
        batch = [threading.Thread(target=work, args=(i,)) for i in range(first, first + threads)]
        for thread in batch:
            thread.start()
        for thread in batch:
            thread.join()
    for i, (mu, cov) in enumerate(alone):
        np.testing.assert_array_equal(results[i][0], mu)
        np.testing.assert_array_equal(results[i][1], cov)


def test_tables_with_a_geometry_column_of_one_name_get_their_own_weights(monkeypatch):
    # Two tables share the name "geometry", not their zones: B's are A's rows in a line, so
    # they have other neighbours (and Moran's I). With one SharedDraws, each gets its own
    # weights, as alone; a copy of A's zones (another object) gets A's, made once.
    built = []
    weights = report.as_spatial_weights
    monkeypatch.setattr(
        report, "as_spatial_weights", lambda *a, **k: built.append(1) or weights(*a, **k)
    )
    a = city()
    b = a.set_geometry([box(i, 0, i + 1, 1) for i in range(len(a))])
    kwargs = {"income": "DISP_MED21", "bootstrap": 0, "moran_permutations": 19, "seed": 1}
    alone = [run_inequality(t, outcome="lst_mean_k", geometry="geometry", **kwargs) for t in (a, b)]
    assert alone[0].morans_i.value != alone[1].morans_i.value
    shared = SharedDraws()
    for table, expected in zip((a, b), alone, strict=True):
        got = run_inequality(
            table, outcome="lst_mean_k", geometry="geometry", shared=shared, **kwargs
        )
        assert got.to_json() == expected.to_json()
    assert len(built) == 4  # each table's, alone and shared
    copies = [a.geometry.copy() for _ in range(2)]  # alike, other objects (and ids)
    del built[:]
    for geometry in copies:
        got = run_inequality(a, outcome="lst_mean_k", geometry=geometry, shared=shared, **kwargs)
        assert got.to_json() == alone[0].to_json()
    assert built == []  # A's weights, made above
