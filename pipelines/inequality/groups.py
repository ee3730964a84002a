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
    bootstrap: int = 0,
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
    bootstrap
        Resamples for a percentile interval on Δ, drawn within group and outside (and
        within strata); 0: no interval.
    confidence
        Level of that interval.
    seed
        Seed of the Monte Carlo relabelings and the bootstrap.

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
    if permutations < 0 or bootstrap < 0:
        raise InequalityError("permutations and bootstrap must be ≥ 0")
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
    if permutations > 0 or total_relabelings <= exact_limit:
        if total_relabelings <= exact_limit:
            sums_wh, sums_w = _enumerate(h, w, groups, counts)
            exact = True
            relabelings = total_relabelings
        else:
            sums_wh, sums_w = _monte_carlo(h, w, inside, groups, permutations, rng)
            relabelings = permutations
        total_wh, total_w = float(np.sum(w * h)), float(w.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            deltas = sums_wh / sums_w - (total_wh - sums_wh) / (total_w - sums_w)
        tol = 1e-9 * (abs(delta) + float(np.std(h)) + 1e-300)
        hits = {
            "two-sided": np.abs(deltas) >= abs(delta) - tol,
            "greater": deltas >= delta - tol,
            "less": deltas <= delta + tol,
        }
        for alt, hit in hits.items():
            count = int(np.count_nonzero(hit))
            p[alt] = count / relabelings if exact else (1 + count) / (1 + relabelings)
        if total_relabelings == 1:
            notes.append("only one possible labelling: the test has no power (p = 1)")

    ci_low = ci_high = np.nan
    if bootstrap > 0:
        boot = _bootstrap(h, w, inside, strata, bootstrap, rng)
        boot = boot[np.isfinite(boot)]
        tail = (1.0 - confidence) / 2.0
        if len(boot):
            ci_low, ci_high = (float(v) for v in np.quantile(boot, [tail, 1.0 - tail]))
    if seed is None and (bootstrap > 0 or not exact):
        notes.append("not seeded: pass seed= for reproducible p-values and intervals")

    weighting = "population-weighted" if weights is not None else "zone"
    test = (
        f"exact enumeration of {relabelings} relabelings"
        if exact
        else f"Monte Carlo, B={relabelings}, p=(1+#)/(1+B)"
        if relabelings
        else "no test"
    )
    strat = f"within {len(groups)} strata" if stratum is not None else "unstratified"
    method = f"Δ = {weighting} mean inside − outside; permutation test, {strat}, {test}"
    if bootstrap > 0:
        method += f"; percentile bootstrap within group and stratum (B={bootstrap})"
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
    h: np.ndarray, w: np.ndarray, groups: list[np.ndarray], counts: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Σw·h and Σw inside the group for every stratified relabeling."""
    sums_wh = np.zeros(1)
    sums_w = np.zeros(1)
    for members, (_, k) in zip(groups, counts, strict=True):
        if k == 0:
            continue
        chosen = np.array(list(itertools.combinations(members, k)), dtype=np.int64)
        part_wh = (w[chosen] * h[chosen]).sum(axis=1)
        part_w = w[chosen].sum(axis=1)
        sums_wh = (sums_wh[:, None] + part_wh[None, :]).ravel()
        sums_w = (sums_w[:, None] + part_w[None, :]).ravel()
    return sums_wh, sums_w


def _monte_carlo(
    h: np.ndarray,
    w: np.ndarray,
    inside: np.ndarray,
    groups: list[np.ndarray],
    replicates: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Σw·h and Σw inside the group for random relabelings within strata."""
    sums_wh = np.zeros(replicates)
    sums_w = np.zeros(replicates)
    for members in groups:
        labels = inside[members].astype(np.float64)
        if labels.sum() in (0, len(labels)):
            sums_wh += np.sum(labels * w[members] * h[members])
            sums_w += np.sum(labels * w[members])
            continue
        wh, ws = w[members] * h[members], w[members]
        block = max(1, _BLOCK_ELEMENTS // len(members))
        for first in range(0, replicates, block):
            size = min(block, replicates - first)
            drawn = rng.permuted(np.broadcast_to(labels, (size, len(labels))), axis=1)
            sums_wh[first : first + size] += drawn @ wh
            sums_w[first : first + size] += drawn @ ws
    return sums_wh, sums_w


def _bootstrap(
    h: np.ndarray,
    w: np.ndarray,
    inside: np.ndarray,
    strata: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Δ over resamples drawn with replacement within each (stratum, group) cell."""
    sums = {True: [np.zeros(replicates), np.zeros(replicates)]}
    sums[False] = [np.zeros(replicates), np.zeros(replicates)]
    for s in np.unique(strata):
        for side in (True, False):
            members = np.flatnonzero((strata == s) & (inside == side))
            if len(members) == 0:
                continue
            block = max(1, _BLOCK_ELEMENTS // len(members))
            for first in range(0, replicates, block):
                size = min(block, replicates - first)
                idx = members[rng.integers(0, len(members), size=(size, len(members)))]
                sums[side][0][first : first + size] += (w[idx] * h[idx]).sum(axis=1)
                sums[side][1][first : first + size] += w[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[True][0] / sums[True][1] - sums[False][0] / sums[False][1]
