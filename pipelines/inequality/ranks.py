"""Fractional income ranks, unweighted or population-weighted (Lerman & Yitzhaki 1989).

For zones sorted by income, the fractional rank of zone i is the share of the (weighted)
population poorer than it plus half its own share:

* unweighted: r_i = (i − 0.5)/n;
* weighted: r_i = Σ_{j<i} w_j + w_i/2 with Σw = 1 (science.md §7.1, rineq ``rank_wt``).

**Ties** in income get the mean rank of their tied group, i.e. the share of population strictly
poorer plus half the tied group's share. This is the (weighted) mean of the ranks the group would
get in any order, so C does not depend on the input order of tied zones, and the (weighted)
mean rank stays exactly 1/2.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipelines.inequality._inputs import as_vector, check_weights
from tiles.errors import InequalityError

__all__ = ["fractional_ranks"]


def fractional_ranks(income: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> np.ndarray:
    """Fractional ranks of ``income`` in (0, 1), in the input order.

    Parameters
    ----------
    income
        Ranking variable (e.g. median disposable income per IRIS). No missing values.
    weights
        Population per zone (any positive scale); ``None`` for the unweighted (i − 0.5)/n.

    Returns
    -------
    numpy.ndarray
        Ranks; tied incomes share the mean rank of their group. The (weighted) mean rank is 1/2.

    Raises
    ------
    InequalityError
        When ``income`` has missing values, or weights are negative, misaligned or all zero.

    Examples
    --------
    >>> fractional_ranks([12000, 15000, 18000, 22000, 30000]).round(3).tolist()
    [0.1, 0.3, 0.5, 0.7, 0.9]
    >>> fractional_ranks([1, 2, 2, 3]).tolist()
    [0.125, 0.5, 0.5, 0.875]
    """
    keys = as_vector(income, "income")
    if not np.isfinite(keys).all():
        raise InequalityError("income has missing values; drop those zones before ranking")
    if weights is None:
        mass = np.ones_like(keys)
    else:
        mass = as_vector(weights, "weights")
        if len(mass) != len(keys) or not np.isfinite(mass).all():
            raise InequalityError("weights must be finite and aligned with income")
        check_weights(mass)
    order = np.argsort(keys, kind="stable")
    start, end = tie_groups(keys[order])
    ranks_sorted = cumulative_midpoints(mass[order], start, end) / mass.sum()
    ranks = np.empty_like(ranks_sorted)
    ranks[order] = ranks_sorted
    return ranks


def tie_groups(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each element's tie group.

    Parameters
    ----------
    sorted_keys
        1-D array, sorted ascending.

    Returns
    -------
    start, end
        Integer arrays of the same shape: for each element, the index of the first and last
        element equal to it.
    """
    n = len(sorted_keys)
    new = np.ones(n, dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    positions = np.arange(n)
    start = np.maximum.accumulate(np.where(new, positions, 0))
    last = np.ones(n, dtype=bool)
    last[:-1] = new[1:]
    end = np.minimum.accumulate(np.where(last, positions, n - 1)[::-1])[::-1]
    return start, end


def cumulative_midpoints(mass: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Cumulative mass before each element plus half its own, averaged over tie groups.

    With ``mass`` the weights this is the (unnormalised) fractional rank; with ``mass`` the
    weighted outcome it is the midpoint of the concentration-curve step, (q_{i−1} + q_i)/2.
    (The bootstrap's resamples have their own kernels: :mod:`pipelines.inequality.bootstrap`.)

    Parameters
    ----------
    mass
        1-D array in sorted order.
    start, end
        Tie groups from :func:`tie_groups` of the sorted keys.
    """
    inclusive = np.cumsum(mass)
    midpoints = inclusive - mass / 2.0
    columns = np.flatnonzero(start != end)  # tied elements take their group's mean
    first, last = start[columns], end[columns]
    midpoints[columns] = (inclusive[first] - mass[first] + inclusive[last]) / 2.0
    return midpoints
