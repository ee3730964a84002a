"""Percentile ranks of zones: "hotter than X % of the other zones" (science.md §7.5).

All ranks are **percentages in [0, 100]** (the UI writes "X %"; science.md PR-1 gives the
first as the fraction 0.40, i.e. 40 here):

* ``hotter_than_pct`` = 100·#{j ≠ i : x_j < x_i}/(N − 1) — "hotter than X % of the other
  zones". Ties are not "hotter", so the hottest of two equal zones is hotter than neither.
* ``midrank_pct`` = 100·(#{x_j < x_i} + ½·#{x_j = x_i})/N, with i itself in the tie count.

With populations P (``weights``), the statements are about residents:

* ``hotter_than_residents_pct`` = 100·Σ_{j≠i, x_j<x_i} P_j / Σ_{j≠i} P_j — "hotter than where
  X % of the residents of the other zones live";
* ``midrank_residents_pct`` = 100·(Σ_{x_j<x_i} P_j + ½·Σ_{x_j=x_i} P_j)/ΣP.

Zones with a missing value get missing ranks and do not count for the others.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.inequality._inputs import as_vector
from tiles.errors import InequalityError

__all__ = ["percentile_ranks"]


def percentile_ranks(
    values: npt.ArrayLike, *, weights: npt.ArrayLike | None = None
) -> pd.DataFrame:
    """Per-zone percentile ranks, in percent.

    Parameters
    ----------
    values
        Value per zone (e.g. mean LST). A pandas Series keeps its index in the result.
    weights
        Population per zone; adds the two resident-weighted columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``hotter_than_pct`` and ``midrank_pct`` (and ``hotter_than_residents_pct``,
        ``midrank_residents_pct`` with weights), one row per input value.

    Raises
    ------
    InequalityError
        Non-numeric values, misaligned or negative weights.

    Examples
    --------
    >>> ranks = percentile_ranks([31, 33, 35, 35, 36, 38])
    >>> ranks.loc[2, "hotter_than_pct"], round(ranks.loc[5, "midrank_pct"], 2)
    (np.float64(40.0), np.float64(91.67))
    """
    x = as_vector(values, "values")
    index = values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(x))
    valid = np.isfinite(x)
    if weights is not None:
        p = as_vector(weights, "weights")
        if len(p) != len(x):
            raise InequalityError(f"weights has {len(p)} values for {len(x)} zones")
        if (p < 0).any():
            raise InequalityError("weights has negative values; pass populations (≥ 0)")
        valid &= np.isfinite(p)
    else:
        p = np.ones_like(x)

    columns = {name: np.full(len(x), np.nan) for name in ("hotter_than_pct", "midrank_pct")}
    if weights is not None:
        columns["hotter_than_residents_pct"] = np.full(len(x), np.nan)
        columns["midrank_residents_pct"] = np.full(len(x), np.nan)
    xs = x[valid]
    n = len(xs)
    if n:
        count_below, count_tied = _below_and_tied(xs, np.ones(n))
        with np.errstate(divide="ignore", invalid="ignore"):
            columns["hotter_than_pct"][valid] = 100.0 * count_below / (n - 1)
        columns["midrank_pct"][valid] = 100.0 * (count_below + 0.5 * count_tied) / n
        if weights is not None:
            ps = p[valid]
            below, tied = _below_and_tied(xs, ps)
            total = ps.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                columns["hotter_than_residents_pct"][valid] = 100.0 * below / (total - ps)
                columns["midrank_residents_pct"][valid] = 100.0 * (below + 0.5 * tied) / total
    return pd.DataFrame(columns, index=index)


def _below_and_tied(x: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mass strictly below each value and mass equal to it (itself included)."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    cumulative = np.concatenate([[0.0], np.cumsum(mass[order])])
    first = np.searchsorted(sorted_x, x, side="left")
    after = np.searchsorted(sorted_x, x, side="right")
    return cumulative[first], cumulative[after] - cumulative[first]
