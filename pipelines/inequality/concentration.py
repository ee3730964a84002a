"""Concentration indices of an outcome over income: standard C, generalized GC, Erreygers E.

With fractional income ranks r (:mod:`~pipelines.inequality.ranks`) and normalised weights w
(Σw = 1; w = 1/n unweighted), all moments use the **population** covariance (ddof 0,
pitfall 9):

* C  = 2·cov_w(h, r)/μ   — relative, for ratio-scale outcomes (science.md §7.1);
* GC = 2·cov_w(h, r) = μ·C — in the outcome's unit, invariant to its origin: use it for
  temperatures in °C or K (pitfall 8);
* E  = 4μC/(b − a) = 8·cov_w(h, r)/(b − a) — Erreygers (2009) for outcomes bounded in [a, b].

Standard errors come from the linearisation (influence function) of each index. Unweighted,
the one of C is exactly the Kakwani, Wagstaff & van Doorslaer (1997) formula

    var(C) = (1/n)·[(1/n)·Σa_i² − (1 + C)²],
    a_i = (h_i/μ)(2r_i − 1 − C) + 2 − q_{i−1} − q_i.

With population weights we use its weighted analogue: q is the *weighted* concentration curve
(q_i = Σ_{j≤i} w_j h_j/μ), and var = Σ_i w_i²·(a_i − (1 + C))², which treats zones as
independent draws carrying fixed weights and reduces to the formula above when w = 1/n. (rineq
mixes an unweighted curve with weighted ranks; we do not.) For GC the influence function is
h_i(2r_i − 1) + μ − (q_{i−1} + q_i)·μ − 2·GC, valid even when μ = 0 (ΔT outcomes). Tied
incomes use group-mean ranks and group-mean curve midpoints, so nothing depends on row order.
A bootstrap over zones (``bootstrap``, :mod:`~pipelines.inequality.bootstrap`) gives a
percentile interval instead of value ± z·SE.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipelines.inequality._inputs import as_vector, check_weights, complete_rows, z_quantile
from pipelines.inequality.bootstrap import Resamples, as_resamples
from pipelines.inequality.ranks import cumulative_midpoints, tie_groups
from pipelines.inequality.results import ConcentrationResult
from tiles.errors import InequalityError

__all__ = ["Kind", "concentration_index", "gini", "not_computed"]

Kind = Literal["standard", "generalized", "erreygers"]
_KINDS = ("standard", "generalized", "erreygers")
_METRIC = {
    "standard": "concentration_index",
    "generalized": "generalized_concentration_index",
    "erreygers": "erreygers_index",
}
#: |μ|/σ above which the standard C is flagged as depending on the outcome's origin.
ORIGIN_RATIO = 5.0


def concentration_index(
    outcome: npt.ArrayLike,
    income: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    kind: Kind = "standard",
    bounds: tuple[float, float] | None = None,
    bootstrap: int | Resamples = 0,
    confidence: float = 0.95,
    seed: Any = None,
) -> ConcentrationResult:
    """Concentration index of ``outcome`` across zones ranked by ``income``.

    Parameters
    ----------
    outcome
        Outcome per zone h (LST, ΔT, green share...).
    income
        Ranking variable per zone (e.g. Filosofi ``DISP_MED``).
    weights
        Population per zone: population-weighted ranks and moments. ``None``: every zone counts
        once.
    kind
        ``"standard"`` (C, relative; ratio-scale outcomes only), ``"generalized"`` (GC, in the
        outcome's unit; use for temperatures) or ``"erreygers"`` (E, bounded outcomes).
    bounds
        ``(a, b)``, the outcome's possible range; required for ``kind="erreygers"`` (e.g.
        ``(0, 1)`` for a green share), refused otherwise.
    bootstrap
        Resamples of zones for a percentile interval: how many to draw from ``seed``, or
        :class:`~pipelines.inequality.bootstrap.Resamples` of the complete zones, which
        statistics of the same zones can share to take their intervals from the same
        resamples (:func:`~pipelines.inequality.report.run_inequality` does). 0 uses
        value ± z·SE.
    confidence
        Level of the interval.
    seed
        Seed (int, ``SeedSequence`` or ``Generator``) of the drawn resamples; ``None`` is not
        reproducible.

    Returns
    -------
    ConcentrationResult
        ``value``, ``se`` (linearised), ``ci_low``/``ci_high``, ``n``, ``mean``, notes.

    Raises
    ------
    InequalityError
        Unknown kind, missing or bad bounds, fewer than 3 complete zones, an all-missing input,
        negative weights, a zero mean for ``kind="standard"``, a negative ``bootstrap``, or
        resamples of another number of zones.

    Examples
    --------
    >>> lst = [38, 36, 35, 33, 31]
    >>> income = [12000, 15000, 18000, 22000, 30000]
    >>> round(concentration_index(lst, income, kind="generalized").value, 10)
    -1.36
    """
    if kind not in _KINDS:
        raise InequalityError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}")
    if kind == "erreygers":
        if bounds is None:
            raise InequalityError(
                "kind='erreygers' needs bounds=(a, b), the outcome's possible range "
                "(e.g. (0, 1) for a green share)"
            )
        low, high = (float(bound) for bound in bounds)
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise InequalityError(f"bounds must be finite with a < b; got {bounds!r}")
        bounds = (low, high)
    elif bounds is not None:
        raise InequalityError("bounds only apply to kind='erreygers'; drop them or change kind")
    z = z_quantile(confidence)

    arrays = [as_vector(outcome, "outcome"), as_vector(income, "income")]
    names = ["outcome", "income"]
    if weights is not None:
        arrays.append(as_vector(weights, "weights"))
        names.append("weights")
    kept, notes, _ = complete_rows(arrays, names)
    h, y = kept[0], kept[1]
    n = len(h)
    w = check_weights(kept[2]) if weights is not None else np.full(n, 1.0 / n)
    if kind == "erreygers" and ((h < bounds[0]).any() or (h > bounds[1]).any()):
        raise InequalityError(
            f"outcome has values outside bounds {bounds} (min {h.min():g}, max {h.max():g}); "
            "fix the bounds or the outcome"
        )

    order = np.argsort(y, kind="stable")
    hs, ys, ws = h[order], y[order], w[order]
    mu, cov, ranks, start, end = _moments(ys, hs, ws)
    if kind == "standard" and not abs(mu) > 1e-10 * float(np.abs(h).max()):
        raise InequalityError(
            "the outcome's mean is zero, so the standard C is undefined; "
            "use kind='generalized' (GC = 2·cov(h, r))"
        )
    value = _index(kind, mu, cov, bounds)
    se = _standard_error(kind, hs, ws, ranks, start, end, mu, cov, bounds)

    resamples = as_resamples(bootstrap, n, seed)
    if resamples is not None:
        replicates = _index(kind, *resamples.moments(hs, ws, ys), bounds)
        finite = replicates[np.isfinite(replicates)]
        if len(finite) < len(replicates):
            notes.append(f"{len(replicates) - len(finite)} bootstrap replicates undefined, skipped")
        tail = (1.0 - confidence) / 2.0
        ci_low, ci_high = (float(v) for v in np.quantile(finite, [tail, 1.0 - tail]))
        ci_method = f"bootstrap percentile over zones (B={resamples.size})"
        if not resamples.seeded:
            notes.append("bootstrap not seeded: pass seed= for a reproducible interval")
    else:
        ci_low, ci_high = value - z * se, value + z * se
        ci_method = "normal (value ± z·se)"

    notes.extend(_scale_notes(kind, h, w, mu))
    if weights is not None:
        notes.append(
            "weighted SE: linearised variance Σw_i²·IF_i² with the population-weighted "
            "concentration curve (zones independent, weights fixed); reduces to Kakwani et al. "
            "1997 when unweighted"
        )
    tied = n - len(np.unique(y))
    if tied:
        notes.append(f"{tied} zones tie on income with another zone: tied zones share a mean rank")
    if np.unique(y).size == 1:
        notes.append("income is constant: every zone has rank 1/2 and the index is 0")

    weighting = "population-weighted" if weights is not None else "unweighted"
    formula = {
        "standard": "C = 2·cov(h, r)/μ",
        "generalized": "GC = 2·cov(h, r) (outcome units)",
        "erreygers": "E = 8·cov(h, r)/(b − a) (Erreygers 2009)",
    }[kind]
    method = (
        f"{formula}; {weighting} fractional income ranks, population covariance (ddof 0); "
        f"SE: {'Kakwani et al. 1997 delta method' if kind == 'standard' else 'delta method'}"
    )
    return ConcentrationResult(
        metric=_METRIC[kind],
        value=value,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        n=n,
        method=method,
        notes=tuple(notes),
        kind=kind,
        mean=mu,
        weighted=weights is not None,
        confidence=confidence,
        ci_method=ci_method,
        bounds=bounds,
    )


def not_computed(
    kind: Kind, reason: str, *, n: int, weighted: bool, confidence: float = 0.95
) -> ConcentrationResult:
    """Concentration index of ``kind`` that was not computed: NaN values and ``reason`` as note.

    Parameters
    ----------
    kind
        ``"standard"``, ``"generalized"`` or ``"erreygers"``.
    reason
        Why, for the reader (the result's only note).
    n
        Zones the index would have rested on.
    weighted
        Whether it would have been population-weighted.
    confidence
        Level its interval would have had.

    Returns
    -------
    ConcentrationResult
        ``value``, ``se``, ``ci_low``, ``ci_high`` and ``mean`` NaN.
    """
    return ConcentrationResult(
        metric=_METRIC[kind],
        value=float("nan"),
        n=n,
        method="not computed",
        notes=(reason,),
        kind=kind,
        weighted=weighted,
        confidence=confidence,
    )


def gini(values: npt.ArrayLike, *, weights: npt.ArrayLike | None = None) -> float:
    """(Population-weighted) Gini coefficient: the concentration index of x ranked by itself.

    Equal to Σ_iΣ_j w_i w_j |x_i − x_j| / (2μ) with Σw = 1 (science.md §7.2). Meaningful only
    for ratio-scale values (ΔT ≥ 0, green area), not for temperatures in °C.

    Parameters
    ----------
    values
        Values per zone; missing values are dropped.
    weights
        Population per zone, or ``None``.

    Raises
    ------
    InequalityError
        Fewer than 3 complete zones, or a zero mean.
    """
    x = as_vector(values, "values")
    arrays, names = [x], ["values"]
    if weights is not None:
        arrays.append(as_vector(weights, "weights"))
        names.append("weights")
    kept, _, _ = complete_rows(arrays, names)
    x = kept[0]
    w = check_weights(kept[1]) if weights is not None else np.full(len(x), 1.0 / len(x))
    order = np.argsort(x, kind="stable")
    mu, cov, *_ = _moments(x[order], x[order], w[order])
    if not abs(mu) > 0:
        raise InequalityError("the values' mean is zero, so the Gini coefficient is undefined")
    return 2.0 * cov / mu


def _moments(
    keys: np.ndarray, h: np.ndarray, w: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """μ_w, cov_w(h, r) (ddof 0), ranks r and tie groups of zones sorted by ``keys``."""
    start, end = tie_groups(keys)
    w = w / w.sum()
    ranks = cumulative_midpoints(w, start, end)
    mu = float((w * h).sum())
    rbar = float((w * ranks).sum())
    cov = float((w * (h - mu) * (ranks - rbar)).sum())
    return mu, cov, ranks, start, end


def _index(kind: str, mu: Any, cov: Any, bounds: tuple[float, float] | None) -> Any:
    """Index of ``kind`` from μ and cov (scalars or arrays)."""
    if kind == "standard":
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * cov / mu
    if kind == "generalized":
        return 2.0 * cov
    return 8.0 * cov / _width(bounds)


def _width(bounds: tuple[float, float] | None) -> float:
    """Return b − a, the width of the Erreygers bounds (checked by the caller)."""
    if bounds is None:
        raise InequalityError("kind='erreygers' needs bounds=(a, b)")
    return bounds[1] - bounds[0]


def influence_terms(
    h: np.ndarray, w: np.ndarray, ranks: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Influence function of GC per zone, with μ and GC (zones sorted by income, Σw = 1).

    IF_GC,i = h_i(2r_i − 1) + μ − 2·Q_i − 2·GC with Q_i = μ·(q_{i−1} + q_i)/2, the weighted
    concentration-curve midpoint (tie-group averaged). The Kakwani a_i of C are
    ``(IF_GC − C·(h − μ))/μ + 1 + C``.
    """
    mu = float((w * h).sum())
    gc = float(2.0 * (w * h * ranks).sum() - mu * 2.0 * (w * ranks).sum())
    midpoint = cumulative_midpoints(w * h, start, end)
    return h * (2.0 * ranks - 1.0) + mu - 2.0 * midpoint - 2.0 * gc, mu, gc


def _standard_error(
    kind: str,
    h: np.ndarray,
    w: np.ndarray,
    ranks: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    mu: float,
    cov: float,
    bounds: tuple[float, float] | None,
) -> float:
    influence_gc, _, _ = influence_terms(h, w, ranks, start, end)
    if kind == "standard":
        c = 2.0 * cov / mu
        influence = (influence_gc - c * (h - mu)) / mu
    elif kind == "generalized":
        influence = influence_gc
    else:
        influence = 4.0 * influence_gc / _width(bounds)
    return float(np.sqrt(np.sum(w**2 * influence**2)))


def _scale_notes(kind: str, h: np.ndarray, w: np.ndarray, mu: float) -> list[str]:
    notes = []
    if kind in ("standard", "erreygers") and (h < 0).any():
        notes.append(
            "outcome has negative values: the relative index is not bounded in [−1, 1]; "
            "prefer kind='generalized'"
        )
    sd = float(np.sqrt(np.sum(w * (h - mu) ** 2)))
    if kind == "standard" and abs(mu) > ORIGIN_RATIO * sd:
        notes.append(
            f"outcome mean is far from 0 relative to its spread (|μ|/σ = {abs(mu) / sd:.1f}): "
            "the standard C depends on the outcome's origin (°C vs K give different C, "
            "pitfall 8); use the generalized index GC for temperatures"
            if sd > 0
            else "outcome is constant"
        )
    return notes
