"""Input checks shared by the inequality statistics: numeric 1-D arrays, missing rows, weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tiles.errors import InequalityError

__all__ = [
    "as_vector",
    "check_weights",
    "complete_rows",
    "is_constant",
    "rng_from",
    "z_quantile",
]


def as_vector(values: npt.ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a new 1-D float64 array (the caller's array is never modified).

    Parameters
    ----------
    values
        Array-like of numbers; ``None`` and pandas NA become NaN.
    name
        Name used in error messages.

    Raises
    ------
    InequalityError
        When the values are not numeric or not one-dimensional.
    """
    try:
        array = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise InequalityError(
            f"{name} is not numeric ({err}); convert it to numbers first "
            "(Filosofi markers such as 'nd' or 's' must become missing values)"
        ) from None
    if array.ndim != 1:
        raise InequalityError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def complete_rows(
    arrays: Sequence[np.ndarray], names: Sequence[str], *, minimum: int = 3
) -> tuple[list[np.ndarray], list[str], np.ndarray]:
    """Drop the rows where any array is NaN or infinite.

    Parameters
    ----------
    arrays
        1-D float arrays of equal length.
    names
        Their names, for messages.
    minimum
        Fewest complete rows accepted.

    Returns
    -------
    kept
        The arrays restricted to complete rows.
    notes
        One note when rows were dropped (how many, and because of which input).
    mask
        Boolean mask of the kept rows in the input order.

    Raises
    ------
    InequalityError
        When lengths differ, an input is all missing, or fewer than ``minimum`` rows remain.
    """
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        detail = ", ".join(f"{name}={len(a)}" for name, a in zip(names, arrays, strict=True))
        raise InequalityError(f"inputs have different lengths ({detail}); pass aligned arrays")
    mask = np.ones(len(arrays[0]), dtype=bool)
    causes = []
    for array, name in zip(arrays, names, strict=True):
        finite = np.isfinite(array)
        if len(array) and not finite.any():
            raise InequalityError(f"{name} is all missing; check the column and its markers")
        if not finite.all():
            causes.append(f"{int((~finite).sum())} missing {name}")
        mask &= finite
    kept = [array[mask] for array in arrays]
    n = int(mask.sum())
    if n < minimum:
        raise InequalityError(
            f"only {n} complete rows (need at least {minimum}); "
            "pass more zones or fill the missing values"
        )
    notes = []
    dropped = len(mask) - n
    if dropped:
        notes.append(f"{dropped} of {len(mask)} rows dropped ({', '.join(causes)})")
    return kept, notes, mask


def is_constant(values: np.ndarray) -> bool:
    """Whether ``values`` differ by no more than floating-point rounding.

    Means of one value over zones of different sizes differ in their last bits, where scipy
    warns "nearly constant" and a correlation (or a rank) only measures the rounding.
    """
    return bool(np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())))


def check_weights(weights: np.ndarray, name: str = "weights") -> np.ndarray:
    """Check non-negative weights with a positive sum; return them normalised to sum 1.

    Raises
    ------
    InequalityError
        When a weight is negative or all weights are zero.
    """
    if (weights < 0).any():
        raise InequalityError(f"{name} has negative values; weights must be populations (≥ 0)")
    total = weights.sum()
    if not total > 0:
        raise InequalityError(f"{name} sums to zero; pass populations with some residents")
    return weights / total


def rng_from(seed: Any) -> np.random.Generator:
    """Return a numpy Generator from an int, SeedSequence, Generator or ``None`` (fresh)."""
    return np.random.default_rng(seed)


def z_quantile(confidence: float) -> float:
    """Two-sided standard-normal quantile for ``confidence`` (1.959964 for 0.95).

    Raises
    ------
    InequalityError
        When ``confidence`` is not strictly between 0 and 1.
    """
    from scipy.stats import norm

    if not 0.0 < confidence < 1.0:
        raise InequalityError(f"confidence must be between 0 and 1, got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2.0))
