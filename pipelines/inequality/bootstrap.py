"""Bootstrap over zones as draw counts, and the per-resample statistics (numba).

A resample of n zones with replacement is, for a statistic that depends on the zones only
through their income order and weights, the zones in income order weighted by how often each
was drawn: copies of a zone tie on income, so they share its tie group. :class:`Resamples`
holds those counts (replicates × zones, column i the i-th zone in income order); the kernels
go over the zones once per resample with its counts, with no (replicates × zones) temporary:

* :meth:`Resamples.moments`: μ_w and cov_w(h, r), the moments of the concentration indices;
* :meth:`Resamples.gaps`: the D1 − D10 exposure gap, re-ranking and re-splitting each resample.

Both keep the definitions of the point estimates: population weights, midpoint fractional
ranks with tied incomes sharing their group's mean rank (:mod:`~pipelines.inequality.ranks`),
a zone wholly in the decile of its rank (:func:`~pipelines.inequality.deciles.decile_of_rank`),
and a NaN replicate when the statistic is undefined on a resample (no weight drawn, an empty
D1 or D10).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from numba import njit

from pipelines.inequality._inputs import rng_from
from pipelines.inequality.ranks import tie_groups
from pipelines.inequality.shared import Once
from tiles.errors import InequalityError

__all__ = ["Resamples", "as_resamples", "resample_counts"]

#: Counts (replicates × zones) drawn at once, to bound memory: 8 MB of ``uint16``.
_BLOCK_ELEMENTS = 1 << 22
#: Counts kept in memory after the first pass up to this size (9,999 resamples of 3,000 zones
#: in ``uint16``); larger ones are drawn again, identically, block by block on each pass.
_KEEP_BYTES = 64 << 20
#: Moments kept (one per outcome: zones, weights and income), the least recently used dropped
#: first. A run computes its outcomes on one thread per core at most: more than 16 outcomes
#: on more than 16 cores may drop one between its statistics, computed again (same values).
_MOMENTS_KEPT = 16


class Resamples:
    """``size`` bootstrap resamples of ``n`` zones, as draw counts, the same on every pass.

    Statistics of the same zones computed over one ``Resamples`` take their intervals from the
    same resamples. The counts are drawn block by block and kept after the first pass when
    they take at most 64 MB (9,999 resamples of 3,000 zones); larger ones are drawn again,
    identically, on each pass, so memory stays bounded. Several threads may use one
    ``Resamples`` (the outcomes of a run, :class:`~pipelines.inequality.shared.SharedDraws`):
    kept counts are drawn once, and so are the moments of each outcome (those of the last 16
    outcomes used are kept).

    Parameters
    ----------
    size
        Number of resamples (B).
    n
        Number of zones.
    seed
        Seed (int, ``SeedSequence`` or ``Generator``); ``None`` is not reproducible.

    Raises
    ------
    InequalityError
        When ``size`` or ``n`` is below 1.
    """

    def __init__(self, size: int, n: int, seed: Any = None) -> None:
        if size < 1 or n < 1:
            raise InequalityError(f"resamples need size ≥ 1 and n ≥ 1, got {size} and {n}")
        self.size = size
        self.n = n
        self.seeded = seed is not None
        self._entropy = int(rng_from(seed).integers(2**63))
        rows = max(1, _BLOCK_ELEMENTS // n)
        self._rows = [min(rows, size - first) for first in range(0, size, rows)]
        self._keep = size * n * count_dtype(n).itemsize <= _KEEP_BYTES
        self._kept: list[np.ndarray] | None = None
        self._lock = threading.Lock()
        self._moments_lock = threading.Lock()
        self._moments: dict[bytes, Once] = {}  # least recently used first

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the counts, block by block of resamples, the same on every call.

        Each block is ``(rows, n)`` unsigned integers (:func:`count_dtype`), rows summing to
        ``n``; column i counts the draws of the i-th zone in income order.
        """
        if self._keep:
            with self._lock:  # another thread may be drawing them
                if self._kept is None:
                    self._kept = list(self._draw())
            yield from self._kept
        else:
            yield from self._draw()

    def _draw(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self._entropy)
        for rows in self._rows:
            yield resample_counts(rng, self.n, rows)

    def moments(
        self, h: np.ndarray, w: np.ndarray, sorted_income: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """μ_w and cov_w(h, r) (ddof 0) of every resample: the moments of the concentration indices.

        Computed once for the same zones: C, GC and E of an outcome are functions of them.

        Parameters
        ----------
        h, w
            Outcome and weights of the ``n`` zones sorted by income.
        sorted_income
            Their income, sorted (for the tie groups).

        Returns
        -------
        mu, cov
            One value per resample (read-only); NaN where the resample drew no weight.

        Raises
        ------
        InequalityError
            When there are not ``n`` zones.
        """
        self._check(len(h))
        h, w, sorted_income = (np.ascontiguousarray(a, np.float64) for a in (h, w, sorted_income))
        key = h.tobytes() + w.tobytes() + sorted_income.tobytes()
        with self._moments_lock:
            entry = self._moments.pop(key, None) or Once()
            self._moments[key] = entry  # the most recently used, last
            if len(self._moments) > _MOMENTS_KEPT:
                del self._moments[next(iter(self._moments))]
        return entry.value(lambda: self._compute_moments(h, w, sorted_income))

    def _compute_moments(
        self, h: np.ndarray, w: np.ndarray, sorted_income: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        last = _group_bounds(sorted_income)[1]
        # cov does not depend on h's origin: centring h keeps the kernel's one-pass sums
        # free of cancellation for temperatures in K (μ ≈ 300, cov ≈ 0.1)
        centre = float(np.sum(w * h) / np.sum(w))
        shifted = h - centre
        parts = [_moments_kernel(counts, shifted, w, last) for counts in self.blocks()]
        mu = np.concatenate([part[0] for part in parts]) + centre
        cov = np.concatenate([part[1] for part in parts])
        mu.flags.writeable = cov.flags.writeable = False  # shared by the indices
        return mu, cov

    def gaps(
        self, h: np.ndarray, pop: np.ndarray, rank_mass: np.ndarray, sorted_income: np.ndarray
    ) -> np.ndarray:
        """D1 − D10 exposure gap of every resample, re-ranked and re-split into deciles.

        Parameters
        ----------
        h, pop
            Outcome and exposure weights (residents) of the ``n`` zones sorted by income.
        rank_mass
            Mass of each zone in the ranking (its residents, or 1 for deciles of zones).
        sorted_income
            Their income, sorted (for the tie groups).

        Returns
        -------
        numpy.ndarray
            One gap per resample; NaN where D1 or D10 holds no resident.

        Raises
        ------
        InequalityError
            When there are not ``n`` zones.
        """
        self._check(len(h))
        first, last = _group_bounds(sorted_income)
        arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (h, pop, rank_mass)]
        return np.concatenate(
            [_gap_kernel(counts, *arrays, first, last) for counts in self.blocks()]
        )

    def _check(self, n: int) -> None:
        if n != self.n:
            raise InequalityError(
                f"the resamples are of {self.n} zones, not {n}: draw them for the complete "
                "zones of the statistic"
            )


def as_resamples(bootstrap: int | Resamples, n: int, seed: Any) -> Resamples | None:
    """Return the resamples of a statistic's ``n`` complete zones; ``None`` for no bootstrap.

    Parameters
    ----------
    bootstrap
        Resamples shared with other statistics of the same zones, or how many to draw from
        ``seed`` (0: none).
    n
        Number of complete zones.
    seed
        Seed of the drawn resamples.

    Raises
    ------
    InequalityError
        When ``bootstrap`` is negative, or resamples of another number of zones.
    """
    if isinstance(bootstrap, Resamples):
        bootstrap._check(n)
        return bootstrap
    if bootstrap < 0:
        raise InequalityError(f"bootstrap must be ≥ 0, got {bootstrap}")
    return Resamples(bootstrap, n, seed) if bootstrap else None


def count_dtype(n: int) -> np.dtype:
    """Return the dtype of the draws and counts of ``n`` zones: ``uint16`` up to 65,535."""
    return np.dtype(np.uint16 if n <= np.iinfo(np.uint16).max else np.uint32)


def resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """How many times each of ``n`` zones is drawn in each of ``size`` resamples.

    Draws ``rng.integers(0, n, size=(size, n))`` (a resample of zones with replacement per
    row, in :func:`count_dtype`) and counts them: ``(size, n)`` integers summing to ``n``
    per row.
    """
    dtype = count_dtype(n)
    return _count_draws(rng.integers(0, n, size=(size, n), dtype=dtype), n)


@njit(cache=True, nogil=True)
def _count_draws(drawn, n):  # pragma: no cover - compiled
    counts = np.zeros((drawn.shape[0], n), dtype=drawn.dtype)
    for b in range(drawn.shape[0]):
        for j in range(drawn.shape[1]):
            counts[b, drawn[b, j]] += 1
    return counts


@njit(cache=True, nogil=True)
def _moments_kernel(counts, h, w, last):  # pragma: no cover - compiled
    """Shifted μ and cov per row of ``counts``: zones weighted m_i = counts_i·w_i.

    With M = Σm and R_i = (mass below i's tie group) + (its group's mass)/2, the rank is
    r_i = R_i/M and cov = (Σ m·h·R − Σ m·h · Σ m·R / M) / M², all sums in one pass: a tie
    group's sums are added when its last zone (``last``) is reached.
    """
    rows, n = counts.shape
    mu = np.empty(rows)
    cov = np.empty(rows)
    for b in range(rows):
        mass = 0.0  # below the current tie group
        sum_h = 0.0
        sum_r = 0.0
        sum_hr = 0.0
        group = 0.0
        group_h = 0.0
        for i in range(n):
            m = counts[b, i] * w[i]
            group += m
            group_h += m * h[i]
            if last[i]:
                rank = mass + group / 2.0
                sum_h += group_h
                sum_r += group * rank
                sum_hr += group_h * rank
                mass += group
                group = 0.0
                group_h = 0.0
        if mass > 0.0:
            mu[b] = sum_h / mass
            cov[b] = (sum_hr - sum_h * sum_r / mass) / (mass * mass)
        else:
            mu[b] = np.nan
            cov[b] = np.nan
    return mu, cov


def _group_bounds(sorted_income: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each zone is the first, and whether it is the last, of its tie group."""
    start, end = tie_groups(sorted_income)
    positions = np.arange(len(sorted_income))
    return start == positions, end == positions


@njit(cache=True, nogil=True)
def _gap_kernel(counts, h, pop, rank_mass, first, last):  # pragma: no cover - compiled
    """D1 − D10 gap per row of ``counts``.

    D1 is taken from the poorest tie group up and D10 from the richest down, each while the
    groups' midpoint ranks stay in it (ranks grow with income); a group's sums are added
    when its last zone (``first`` going down) is reached.
    """
    rows, n = counts.shape
    gaps = np.empty(rows)
    for b in range(rows):
        total = _total(counts[b], rank_mass)
        if not total > 0.0:  # nothing drawn to rank: no decile (numba raises on x / 0)
            gaps[b] = np.nan
            continue
        below = group = residents = exposure = 0.0
        low = low_h = 0.0
        for i in range(n):
            group += counts[b, i] * rank_mass[i]
            residents += counts[b, i] * pop[i]
            exposure += counts[b, i] * pop[i] * h[i]
            if last[i]:
                if _decile(below + group / 2.0, total) > 1:
                    break
                low += residents
                low_h += exposure
                below += group
                group = residents = exposure = 0.0
        above = group = residents = exposure = 0.0
        high = high_h = 0.0
        for i in range(n - 1, -1, -1):
            group += counts[b, i] * rank_mass[i]
            residents += counts[b, i] * pop[i]
            exposure += counts[b, i] * pop[i] * h[i]
            if first[i]:
                if _decile(total - above - group / 2.0, total) < 10:
                    break
                high += residents
                high_h += exposure
                above += group
                group = residents = exposure = 0.0
        gaps[b] = low_h / low - high_h / high if low > 0.0 and high > 0.0 else np.nan
    return gaps


#: The total may be reassociated (so it vectorises): it moves the ranks by rounding only, and
#: ranks are rounded to 9 decimals for their decile.
_REASSOC = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True, fastmath=_REASSOC)
def _total(counts, mass):  # pragma: no cover - compiled
    total = 0.0
    for i in range(counts.shape[0]):
        total += counts[i] * mass[i]
    return total


@njit(cache=True, nogil=True, inline="always")
def _decile(midpoint, total):  # pragma: no cover - compiled
    """:func:`~pipelines.inequality.deciles.decile_of_rank` of the rank ``midpoint / total``."""
    scaled = np.rint(midpoint / total * 10.0 * 1e9) / 1e9  # NumPy's round(x, 9)
    return min(max(np.ceil(scaled), 1.0), 10.0)
