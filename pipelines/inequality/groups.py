"""Difference of means between a group of zones (e.g. QPV) and the rest, permutation test.

Δ = mean_w(h | group) − mean_w(h | not group), with population weights when given
(science.md §7.6). The null distribution comes from relabelling zones **within each stratum**
(commune or urban unit): the number of group zones per stratum is kept, so geography does not
masquerade as a group effect. Strata whose zones are all in, or all out of, the group keep their
labels (they still enter both means).

* **Exact** when the number of distinct relabelings Π_s C(n_s, k_s) is at most ``exact_limit``
  (default :data:`EXACT_LIMIT` = 100 000): every relabeling, the observed one included, is
  enumerated and p = #{Δ* as extreme as Δ_obs}/#relabelings (science.md P-1: 1/56).
* **Monte Carlo** otherwise: B random stratified relabelings and
  p = (1 + #{Δ* as extreme})/(1 + B) (Phipson & Smyth 2010), never 0.

"As extreme" is |Δ*| ≥ |Δ_obs| (two-sided), Δ* ≥ Δ_obs (greater) or Δ* ≤ Δ_obs (less), with a
relative tolerance of 1e-9 so that the observed labelling always counts itself.

The interval on Δ inverts the same two-sided test under an additive shift: it holds every δ
that the test does not reject (p > 1 − confidence) for the outcome with δ taken off the group's
zones, over the same relabelings (for a relabeling, Δ* is linear in δ). So it excludes 0
exactly when the test rejects, however few zones the group has; a bootstrap of a 4-zone group
(most QPV of a town sit in one or two IRIS) excluded 0 in 18 % of null cases instead of 5 %.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.inequality._inputs import as_vector, complete_rows, rng_from
from pipelines.inequality.results import GroupDifferenceResult
from tiles.errors import InequalityError

__all__ = ["EXACT_LIMIT", "group_difference"]

#: Largest number of relabelings enumerated exactly.
EXACT_LIMIT = 100_000
_BLOCK_ELEMENTS = 4_000_000
_ALTERNATIVES = ("two-sided", "greater", "less")


def group_difference(
    outcome: npt.ArrayLike,
    group: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    stratum: npt.ArrayLike | None = None,
    permutations: int = 9999,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    exact_limit: int = EXACT_LIMIT,
    confidence: float = 0.95,
    seed: Any = None,
) -> GroupDifferenceResult:
    """Weighted mean outcome in ``group`` minus outside, with a stratified permutation test.

    Parameters
    ----------
    outcome
        Outcome per zone.
    group
        Membership per zone: booleans or 0/1 (missing values drop the zone).
    weights
        Population per zone for population-weighted means; ``None``: zone means.
    stratum
        Stratum label per zone (e.g. commune code); labels are permuted within strata only.
        Zones with a missing stratum are dropped.
    permutations
        Monte Carlo relabelings B when exact enumeration is too large; 0 skips the test.
    alternative
        Which p-value goes to ``p_value`` (all three are in the result).
    exact_limit
        Enumerate exactly when the number of relabelings is at most this.
    confidence
        Level of the interval on Δ, from inverting the two-sided test (none without a test).
    seed
        Seed of the Monte Carlo relabelings.

    Returns
    -------
    GroupDifferenceResult
        ``value`` = Δ, ``p_value`` and the three p-values, means and counts.

    Raises
    ------
    InequalityError
        Non-binary group, a group with no zone inside or outside, fewer than 3 zones, bad
        weights, or a bad ``alternative``.
    """
    if alternative not in _ALTERNATIVES:
        raise InequalityError(f"alternative must be one of {', '.join(_ALTERNATIVES)}")
    if permutations < 0:
        raise InequalityError("permutations must be ≥ 0")
    if not 0.0 < confidence < 1.0:
        raise InequalityError(f"confidence must be between 0 and 1, got {confidence}")
    h = as_vector(outcome, "outcome")
    g = _as_membership(group, len(h))
    arrays, names = [h, g], ["outcome", "group"]
    if weights is not None:
        arrays.append(as_vector(weights, "weights"))
        names.append("weights")
    if stratum is not None:
        codes = _stratum_codes(stratum, len(h))
        arrays.append(codes)
        names.append("stratum")
    kept, notes, _ = complete_rows(arrays, names)
    h, inside = kept[0], kept[1].astype(bool)
    w = kept[2] if weights is not None else np.ones(len(h))
    if (w < 0).any():
        raise InequalityError("weights has negative values; weights must be populations (≥ 0)")
    strata = kept[-1].astype(np.int64) if stratum is not None else np.zeros(len(h), np.int64)

    n_in, n_out = int(inside.sum()), int((~inside).sum())
    if n_in == 0 or n_out == 0:
        raise InequalityError(
            f"group has {n_in} zones inside and {n_out} outside; both sides need zones"
        )
    w_in, w_out = float(w[inside].sum()), float(w[~inside].sum())
    if not (w_in > 0 and w_out > 0):
        raise InequalityError("the group or its complement has zero total weight")
    mean_in = float(np.sum(w[inside] * h[inside]) / w_in)
    mean_out = float(np.sum(w[~inside] * h[~inside]) / w_out)
    delta = mean_in - mean_out

    rng = rng_from(seed)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    counts = [(len(members), int(inside[members].sum())) for members in groups]
    fixed = sum(1 for size, k in counts if k in (0, size))
    if stratum is not None and fixed:
        notes.append(
            f"{fixed} of {len(groups)} strata have zones only inside or only outside the group: "
            "their labels cannot move"
        )
    total_relabelings = math.prod(math.comb(size, k) for size, k in counts)

    p = {alt: np.nan for alt in _ALTERNATIVES}
    exact = False
    relabelings = 0
    ci_low = ci_high = np.nan
    if permutations > 0 or total_relabelings <= exact_limit:
        # Per relabeling: Σw·h, Σw and the weight of the observed group's zones in it.
        members_w = w * inside
        if total_relabelings <= exact_limit:
            sums = _enumerate([w * h, w, members_w], groups, counts)
            exact = True
            relabelings = total_relabelings
        else:
            sums = _monte_carlo([w * h, w, members_w], inside, groups, permutations, rng)
            relabelings = permutations
        shifts = _Shifts(sums, h, w, w_in, delta, exact)
        for alt in _ALTERNATIVES:
            p[alt] = shifts.p_value(0.0, alt)
        ci_low, ci_high = shifts.interval(1.0 - confidence)
        if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
            notes.append(
                f"{relabelings} relabelings are too few for a {confidence:.0%} interval: the test "
                "cannot reject any difference on one side, so the interval is unbounded there"
            )
        if total_relabelings == 1:
            notes.append("only one possible labelling: the test has no power (p = 1)")
    if seed is None and not exact and relabelings:
        notes.append("not seeded: pass seed= for reproducible p-values and intervals")

    weighting = "population-weighted" if weights is not None else "zone"
    test = (
        f"exact enumeration of {relabelings} relabelings"
        if exact
        else f"Monte Carlo, B={relabelings}, p=(1+#)/(1+B)"
        if relabelings
        else "no test"
    )
    strata_word = "stratum" if len(groups) == 1 else "strata"
    strat = f"within {len(groups)} {strata_word}" if stratum is not None else "unstratified"
    method = f"Δ = {weighting} mean inside − outside; permutation test, {strat}, {test}"
    if relabelings:
        method += "; interval: the δ the two-sided test does not reject under an additive shift"
    return GroupDifferenceResult(
        metric="group_difference",
        value=delta,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p[alternative],
        n=len(h),
        method=method,
        notes=tuple(notes),
        mean_in=mean_in,
        mean_out=mean_out,
        n_in=n_in,
        n_out=n_out,
        alternative=alternative,
        p_two_sided=p["two-sided"],
        p_greater=p["greater"],
        p_less=p["less"],
        exact=exact,
        relabelings=relabelings,
        n_strata=len(groups),
        confidence=confidence,
    )


def _as_membership(group: npt.ArrayLike, n: int) -> np.ndarray:
    """Group membership as floats 1/0 with NaN for missing; refuse anything else."""
    series = pd.Series(np.asarray(group, dtype=object) if not hasattr(group, "dtype") else group)
    if len(series) != n:
        raise InequalityError(f"group has {len(series)} values for {n} outcomes")
    missing = series.isna().to_numpy()
    present = series[~missing]
    values = set(present.tolist())
    if not values <= {0, 1}:  # True == 1 and 0.0 == 0 in a set
        sample = ", ".join(repr(v) for v in list(values - {0, 1})[:3])
        raise InequalityError(
            f"group must be booleans or 0/1 (got {sample}); build it as e.g. table.qpv_share >= 0.5"
        )
    out = np.full(n, np.nan)
    out[~missing] = present.astype(float).to_numpy()
    return out


def _stratum_codes(stratum: npt.ArrayLike, n: int) -> np.ndarray:
    """Stratum labels as float codes 0..k−1 with NaN for missing."""
    series = pd.Series(
        np.asarray(stratum, dtype=object) if not hasattr(stratum, "dtype") else stratum
    )
    if len(series) != n:
        raise InequalityError(f"stratum has {len(series)} values for {n} outcomes")
    codes, _ = pd.factorize(series.reset_index(drop=True), use_na_sentinel=True)
    return np.where(codes < 0, np.nan, codes).astype(np.float64)


def _enumerate(
    values: list[np.ndarray], groups: list[np.ndarray], counts: list[tuple[int, int]]
) -> list[np.ndarray]:
    """Sum each per-zone vector of ``values`` inside the group, for every relabeling."""
    sums = [np.zeros(1) for _ in values]
    for members, (_, k) in zip(groups, counts, strict=True):
        if k == 0:
            continue
        chosen = np.array(list(itertools.combinations(members, k)), dtype=np.int64)
        for i, vector in enumerate(values):
            sums[i] = (sums[i][:, None] + vector[chosen].sum(axis=1)[None, :]).ravel()
    return sums


def _monte_carlo(
    values: list[np.ndarray],
    inside: np.ndarray,
    groups: list[np.ndarray],
    replicates: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Sum each per-zone vector of ``values`` inside the group, for random relabelings."""
    sums = [np.zeros(replicates) for _ in values]
    for members in groups:
        labels = inside[members].astype(np.float64)
        if labels.sum() in (0, len(labels)):
            for total, vector in zip(sums, values, strict=True):
                total += np.sum(labels * vector[members])
            continue
        block = max(1, _BLOCK_ELEMENTS // len(members))
        for first in range(0, replicates, block):
            size = min(block, replicates - first)
            drawn = rng.permuted(np.broadcast_to(labels, (size, len(labels))), axis=1)
            for total, vector in zip(sums, values, strict=True):
                total[first : first + size] += drawn @ vector[members]
    return sums


class _Shifts:
    """The permutation test of H0: Δ = δ, for any δ, over one set of relabelings.

    With δ taken off the observed group's zones, a relabeling's statistic is
    Δ*(δ) = Δ*(0) − δ·c, where c is the weight share of the observed group's zones in the
    relabeled group minus that outside it; the observed one is Δ_obs − δ.
    """

    def __init__(
        self,
        sums: list[np.ndarray],
        h: np.ndarray,
        w: np.ndarray,
        w_in: float,
        delta: float,
        exact: bool,
    ) -> None:
        sums_wh, sums_w, sums_g = sums
        total_wh, total_w = float(np.sum(w * h)), float(w.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            self.base = sums_wh / sums_w - (total_wh - sums_wh) / (total_w - sums_w)
            self.slope = sums_g / sums_w - (w_in - sums_g) / (total_w - sums_w)
        self.delta, self.exact = delta, exact
        self.scale = abs(delta) + float(np.std(h)) + 1e-300
        self.tol = 1e-9 * self.scale

    def p_value(self, shift: float, alternative: str = "two-sided") -> float:
        """Return the test's p-value for H0: Δ = ``shift``."""
        deltas = self.base - shift * self.slope
        observed = self.delta - shift
        hit = {
            "two-sided": lambda: np.abs(deltas) >= abs(observed) - self.tol,
            "greater": lambda: deltas >= observed - self.tol,
            "less": lambda: deltas <= observed + self.tol,
        }[alternative]()
        count, n = int(np.count_nonzero(hit)), len(deltas)
        return count / n if self.exact else (1 + count) / (1 + n)

    def interval(self, alpha: float) -> tuple[float, float]:
        """Return the ends of the δ around Δ_obs with p(δ) > ``alpha`` (to 1e-9 of the scale).

        Each end is bracketed by doubling steps away from Δ_obs, then bisected. An end is
        infinite when no δ on that side is rejected (too few relabelings for ``alpha``).
        """
        return self._end(alpha, -1.0), self._end(alpha, 1.0)

    def _end(self, alpha: float, side: float) -> float:
        inner, step = self.delta, self.scale  # p(Δ_obs) = 1: kept
        outer = inner + side * step
        while self.p_value(outer) > alpha:
            inner, step = outer, 2 * step
            outer = inner + side * step
            if step > 1e12 * self.scale:
                return side * math.inf
        while abs(outer - inner) > 1e-9 * self.scale:
            middle = 0.5 * (inner + outer)
            if self.p_value(middle) > alpha:
                inner = middle
            else:
                outer = middle
        return float(inner)
