"""Difference of means between a group of zones (e.g. QPV) and the rest, permutation test.

Within a stratum (a commune, an urban unit), the gap is Δ_s = mean_w(h | group) −
mean_w(h | not group), with population weights when given (science.md §7.6). The estimate is
their weighted mean over the strata with zones on both sides, each weighted by
λ_s = W_in·W_out/(W_in + W_out) (W: the population, or the number of zones, in and out of the
group there, in the labelling at hand, observed or relabelled; Mantel–Haenszel's weights;
zones of no population are left out): a comparison of each group zone with the zones of its
own stratum, so that geography does not masquerade as a group effect. With one stratum (or
none) it is the plain difference of means. The null distribution comes from relabelling zones
**within each stratum**, the number of group zones per stratum kept; strata whose zones are
all in, or all out of, the group cannot be relabelled and do not enter the estimate. The
difference of the overall means (``pooled_difference``) is reported beside it, untested: with
several strata it mixes the group effect with where the group's zones are (science.md's
"geography confounds the result"), and its stratified relabelings are not centred on 0, so a
two-sided test of it is not one (a review found p = 0.99 for a within-commune effect of −1 K
over five communes).

* **Exact** when the number of distinct relabelings Π_s C(n_s, k_s) is at most ``exact_limit``
  (default :data:`EXACT_LIMIT`): every relabeling, the observed one included, is enumerated
  and p = #{Δ* as extreme as Δ_obs}/#relabelings (science.md P-1: 1/56).
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
from collections.abc import Hashable, Iterable, Iterator
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.inequality._inputs import as_vector, complete_rows, rng_from
from pipelines.inequality.results import GroupDifferenceResult, unbounded_side
from pipelines.inequality.shared import KEEP_BYTES, SharedDraws, seed_key
from tiles.errors import InequalityError

__all__ = ["EXACT_LIMIT", "group_difference"]

#: Largest number of relabelings enumerated exactly (about 1 s at this size; the demo's
#: 557,845 were sent to Monte Carlo under the former 100,000).
EXACT_LIMIT = 1_000_000
_BLOCK_ELEMENTS = 4_000_000
_ALTERNATIVES = ("two-sided", "greater", "less")
#: What an interval unbounded on a side (:func:`~.results.unbounded_side`) means, in notes.
_UNBOUNDED = {
    "low": "the test rejects no difference below the estimate, so the interval is unbounded "
    "below (−∞)",
    "high": "the test rejects no difference above the estimate, so the interval is unbounded "
    "above (+∞)",
    "both": "the test rejects no difference on either side, so the interval is unbounded on "
    "both sides (−∞ to +∞)",
}


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
    shared: SharedDraws | None = None,
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
        Monte Carlo relabelings B when exact enumeration is too large; 0 skips the test (no
        p-value, no interval), however few the relabelings.
    alternative
        Which p-value goes to ``p_value`` (all three are in the result).
    exact_limit
        Enumerate exactly when the number of relabelings is at most this.
    confidence
        Level of the interval on Δ, from inverting the two-sided test (none without a test).
    seed
        Seed of the Monte Carlo relabelings.
    shared
        Draws shared with the other outcomes of the same zones
        (:class:`~pipelines.inequality.shared.SharedDraws`): the relabelings of a seed are
        drawn once. The same values as without.

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
    pooled = mean_in - mean_out

    rng = rng_from(seed)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    # Zones of no population weigh nothing in a weighted mean: out of the relabelings too
    # (a relabeling putting a side on them only would have no mean).
    weighed = [members[w[members] > 0] for members in groups]
    if any(len(m) < len(g) for m, g in zip(weighed, groups, strict=True)):
        notes.append(
            f"{int((w == 0).sum())} zones have no population: they do not enter the weighted "
            "gap nor its relabelings"
        )
    mixed = [_Stratum(m, h, w, inside) for m in weighed if 0 < inside[m].sum() < len(m)]
    fixed = len(groups) - len(mixed)
    if stratum is not None and fixed:
        notes.append(
            f"{fixed} of {len(groups)} strata have zones only inside or only outside the group "
            "(or no population on a side): they cannot be relabelled and do not enter the gap"
        )
    total_relabelings = math.prod(math.comb(len(st.members), st.k) for st in mixed)

    p = {alt: np.nan for alt in _ALTERNATIVES}
    exact = False
    relabelings = 0
    ci_low = ci_high = np.nan
    tested = permutations > 0
    if not mixed:  # one labelling only: the overall means, a test without power
        delta = pooled
        notes.append(
            "no stratum has zones both inside and outside the group: the gap is the "
            "difference of the overall means, with only one possible labelling"
            + (" (p = 1, the interval unbounded: −∞ to +∞)" if tested else "")
        )
        if tested:
            p = dict.fromkeys(_ALTERNATIVES, 1.0)
            exact, relabelings, ci_low, ci_high = True, 1, -math.inf, math.inf
    else:
        delta = float(sum(st.weighted_gap for st in mixed) / sum(st.weight for st in mixed))
        if tested:
            if total_relabelings <= exact_limit:
                base, slope = _enumerate(mixed)
                exact = True
                relabelings = total_relabelings
            else:
                base, slope = _monte_carlo(mixed, permutations, rng, shared, seed_key(seed))
                relabelings = permutations
            shifts = _Shifts(base, slope, delta, float(np.std(h)), exact)
            for alt in _ALTERNATIVES:
                p[alt] = shifts.p_value(0.0, alt)
            ci_low, ci_high = shifts.interval(1.0 - confidence)
            side = unbounded_side(ci_low, ci_high)
            if side is not None:
                notes.append(
                    f"{relabelings} relabelings are too few for a {confidence:.0%} interval: "
                    f"{_UNBOUNDED[side]}"
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
    if stratum is not None and len(groups) > 1:
        estimate = (
            f"Δ = {weighting} mean inside − outside within each of the {len(mixed)} strata "
            "with zones on both sides, averaged with weights W_in·W_out/(W_in + W_out)"
        )
    else:
        estimate = f"Δ = {weighting} mean inside − outside"
    method = f"{estimate}; permutation test, {strat}, {test}"
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
        pooled_difference=pooled,
        n_strata_compared=len(mixed),
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


class _Stratum:
    """One stratum with zones on both sides: its zones, and its observed λ·Δ_s and λ.

    For relabelings given by their in-group sums, :meth:`terms` returns each one's
    ``λ*·Δ*_s``, ``λ*·c_s`` and ``λ*``: the stratum's gap, its slope in the shift δ taken off
    the observed group's zones (Δ*_s(δ) = Δ*_s − δ·c_s; c_s is the weight share of the
    observed group's zones in the relabelled group minus that outside it) and its weight
    λ* = W_in*·W_out*/W, all of that relabeling. Summed over the strata, they give the
    relabeling's Δ* = Σλ*Δ*_s / Σλ* and slope Σλ*c_s / Σλ*, as for the observed labelling.
    """

    def __init__(self, members: np.ndarray, h: np.ndarray, w: np.ndarray, inside: np.ndarray):
        self.members = members
        self.k = int(inside[members].sum())
        self.wh, self.w = w[members] * h[members], w[members]
        self.wg = self.w * inside[members]
        self.total_wh, self.total_w = float(self.wh.sum()), float(self.w.sum())
        self.w_in = float(self.wg.sum())
        # The observed labelling's terms, by the same arithmetic as every relabeling's.
        self.weighted_gap, _, self.weight = self.terms(
            np.float64(self.wg @ h[members]), np.float64(self.w_in), np.float64(self.w_in)
        )

    def terms(
        self, sum_wh: np.ndarray, sum_w: np.ndarray, sum_g: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (λ*·Δ*_s, λ*·c_s, λ*) of relabelings from their in-group sums of w·h, w, w·g.

        Every zone weighs more than 0 (:func:`group_difference` leaves the others out), so
        both sides of a relabeling have weight.
        """
        out_w = self.total_w - sum_w
        lam = sum_w * out_w / self.total_w
        base = sum_wh / sum_w - (self.total_wh - sum_wh) / out_w
        slope = sum_g / sum_w - (self.w_in - sum_g) / out_w
        return lam * base, lam * slope, lam

    def combinations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return :meth:`terms` of every relabeling of the stratum, in blocks of combinations."""
        n, k = len(self.members), self.k
        block = max(1, _BLOCK_ELEMENTS // k)
        combos = itertools.combinations(range(n), k)
        parts = []
        while True:
            flat = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, block)),
                               dtype=np.int64)  # fmt: skip
            if not flat.size:
                break
            chosen = flat.reshape(-1, k)
            parts.append(self.terms(*(v[chosen].sum(axis=1) for v in (self.wh, self.w, self.wg))))
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))  # type: ignore[return-value]

    def draws(
        self, replicates: int, rng: np.random.Generator, drawn: Iterable[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return :meth:`terms` of ``replicates`` random relabelings of the stratum.

        ``drawn``: its :meth:`relabelings`, drawn before from ``rng`` (shared by outcomes).
        """
        blocks = self.relabelings(replicates, rng) if drawn is None else drawn
        parts = []
        for labels in blocks:
            chosen = labels.astype(np.float64)  # the layout (and sums) of permuted 1.0 and 0.0
            parts.append(self.terms(chosen @ self.wh, chosen @ self.w, chosen @ self.wg))
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))  # type: ignore[return-value]

    def relabelings(self, replicates: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """Yield ``replicates`` random relabelings, block by block: True for the group.

        Boolean blocks (rows × zones) with :attr:`k` True per row: ``rng``'s permutations of
        the zones' positions, the first ``k`` in the group, as its permutations of the labels
        1 and 0 would put them (the draws depend on the shape only; NumPy permutes 8-byte
        items fastest).
        """
        positions = np.arange(len(self.members))
        block = max(1, _BLOCK_ELEMENTS // len(positions))
        for first in range(0, replicates, block):
            size = min(block, replicates - first)
            yield rng.permuted(np.broadcast_to(positions, (size, len(positions))), axis=1) < self.k


def _enumerate(mixed: list[_Stratum]) -> tuple[np.ndarray, np.ndarray]:
    """Δ* and its slope for every joint relabeling (sums over the strata's own, then ratios)."""
    sums = [np.zeros(1) for _ in range(3)]
    for stratum in mixed:
        for i, term in enumerate(stratum.combinations()):
            sums[i] = (sums[i][:, None] + term[None, :]).ravel()
    return sums[0] / sums[2], sums[1] / sums[2]


def _monte_carlo(
    mixed: list[_Stratum],
    replicates: int,
    rng: np.random.Generator,
    shared: SharedDraws | None = None,
    key: Hashable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Δ* and its slope for random relabelings, drawn within each stratum.

    With ``shared`` and the seed's ``key`` (:func:`~.shared.seed_key`), the relabelings are
    drawn once for the strata's sizes (they depend on nothing else), up to
    :data:`~.shared.KEEP_BYTES`.
    """
    sizes = tuple((len(stratum.members), stratum.k) for stratum in mixed)
    drawn: list[Iterable[np.ndarray]]
    if (
        shared is not None
        and key is not None
        and replicates * sum(n for n, _ in sizes) <= KEEP_BYTES
    ):
        drawn = shared.once(
            ("relabelings", key, replicates, sizes),
            lambda: [list(stratum.relabelings(replicates, rng)) for stratum in mixed],
        )
    else:  # drawn stratum after stratum, block by block, as they are used
        drawn = [stratum.relabelings(replicates, rng) for stratum in mixed]
    sums = [np.zeros(replicates) for _ in range(3)]
    for stratum, labels in zip(mixed, drawn, strict=True):
        for total, term in zip(sums, stratum.draws(replicates, rng, labels), strict=True):
            total += term
    return sums[0] / sums[2], sums[1] / sums[2]


class _Shifts:
    """The permutation test of H0: Δ = δ, for any δ, over one set of relabelings.

    With δ taken off the observed group's zones, a relabeling's statistic is
    Δ*(δ) = Δ*(0) − δ·c (``base``, ``slope``: λ-weighted over the strata); the observed one is
    Δ_obs − δ.
    """

    def __init__(
        self, base: np.ndarray, slope: np.ndarray, delta: float, spread: float, exact: bool
    ) -> None:
        self.base, self.slope = base, slope
        self.delta, self.exact = delta, exact
        self.scale = abs(delta) + spread + 1e-300
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
