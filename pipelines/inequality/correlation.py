"""Pearson and Spearman correlations with Fisher-z confidence intervals (science.md §7.3).

z = atanh(r); SE = 1/√(n − 3) for Pearson and √(1.06/(n − 3)) for Spearman (Fieller, Hartley &
Pearson 1957); CI = tanh(z ± z_{1−α/2}·SE) with the exact normal quantile (1.959964 at 95 %).
p-values are scipy's (t test for Pearson; t approximation for Spearman). Both assume independent
zones: with spatially autocorrelated zones they are optimistic (§7.4) and the association is
not causal.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from pipelines.inequality._inputs import as_vector, complete_rows, is_constant, z_quantile
from pipelines.inequality.results import CorrelationResult
from tiles.errors import InequalityError

__all__ = ["correlation"]

_SE_FACTOR = {"pearson": 1.0, "spearman": 1.06}


def correlation(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    method: Literal["pearson", "spearman"] = "pearson",
    confidence: float = 0.95,
) -> CorrelationResult:
    """Correlation of ``x`` and ``y`` across zones, with a Fisher-z interval and a p-value.

    Parameters
    ----------
    x, y
        Values per zone; rows where either is missing are dropped (and counted in notes).
    method
        ``"pearson"`` or ``"spearman"`` (ranks with ties averaged).
    confidence
        Level of the interval.

    Returns
    -------
    CorrelationResult
        ``value`` r or ρ, ``se`` of z = atanh(r), ``ci_low``/``ci_high``, ``p_value``, ``n``.

    Raises
    ------
    InequalityError
        Unknown method, fewer than 3 complete rows, or a constant input.

    Examples
    --------
    >>> result = correlation([1, 2, 3, 4, 5], [5, 3, 4, 2, 1], method="spearman")
    >>> round(result.value, 3)
    -0.9
    """
    if method not in _SE_FACTOR:
        raise InequalityError(f"method must be 'pearson' or 'spearman'; got {method!r}")
    z_crit = z_quantile(confidence)
    kept, notes, _ = complete_rows([as_vector(x, "x"), as_vector(y, "y")], ["x", "y"])
    a, b = kept
    n = len(a)
    if is_constant(a) or is_constant(b):
        raise InequalityError(
            "a variable is constant (to floating-point rounding), so its correlation is undefined"
        )
    test = stats.pearsonr(a, b) if method == "pearson" else stats.spearmanr(a, b)
    r, p = float(test.statistic), float(test.pvalue)
    if abs(abs(r) - 1.0) < 1e-12:  # rank correlations of monotone data land at ±(1 − ε)
        r = float(np.sign(r))

    se = ci_low = ci_high = np.nan
    if n > 3:
        se = float(np.sqrt(_SE_FACTOR[method] / (n - 3)))
        if abs(r) < 1.0:
            z = np.arctanh(r)
            ci_low, ci_high = float(np.tanh(z - z_crit * se)), float(np.tanh(z + z_crit * se))
        else:
            ci_low = ci_high = r
            notes.append("perfect correlation: the Fisher-z interval collapses to the value")
    else:
        notes.append("n = 3: the Fisher-z interval needs n > 3")
    se_text = "1/√(n − 3)" if method == "pearson" else "√(1.06/(n − 3))"
    return CorrelationResult(
        metric=f"correlation_{method}",
        value=r,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p,
        n=n,
        method=f"{method.capitalize()} correlation over zones, unweighted; Fisher-z interval, "
        f"SE(z) = {se_text}",
        notes=tuple(notes),
        confidence=confidence,
    )
