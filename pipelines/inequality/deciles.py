"""Population-weighted exposure by income decile and the D1 − D10 gap (science.md §7.2).

Each zone goes wholly to the decile holding its fractional income rank r (the midpoint of its
share of the ranking, :mod:`~pipelines.inequality.ranks`): decile d holds the zones with
(d − 1)/10 < r ≤ d/10, so a rank exactly on a boundary goes to the lower decile.

* ``by="population"``: ranks are population-weighted, so deciles split **residents** (each
  holds ~10 % of the population; a very populous zone can leave a neighbouring decile empty);
* ``by="zones"``: ranks are unweighted, so deciles split **zones** (each ~10 % of the zones).

Exposure E_d = Σ_{i∈d} P_i·h_i / Σ_{i∈d} P_i in both cases. The gap E_D1 − E_D10 is a
difference in the outcome's unit (K for temperatures), never a ratio. Its interval is a
percentile bootstrap over zones that re-ranks and re-splits every resample.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipelines.inequality._inputs import as_vector, check_weights, complete_rows
from pipelines.inequality.bootstrap import Resamples, as_resamples
from pipelines.inequality.ranks import cumulative_midpoints, tie_groups
from pipelines.inequality.results import DecileExposure, DecileRow, MetricResult, decile_mean
from tiles.errors import InequalityError

__all__ = ["decile_of_rank", "exposure_by_decile"]


def exposure_by_decile(
    outcome: npt.ArrayLike,
    income: npt.ArrayLike,
    population: npt.ArrayLike | None,
    *,
    by: Literal["population", "zones"] = "population",
    bootstrap: int | Resamples = 9999,
    confidence: float = 0.95,
    seed: Any = None,
) -> DecileExposure:
    """Population-weighted mean outcome per income decile, and the D1 − D10 gap.

    Parameters
    ----------
    outcome
        Outcome per zone (e.g. mean LST in K).
    income
        Income per zone (e.g. Filosofi median disposable income).
    population
        Residents per zone (exposure weights); ``None`` weighs zones equally and forces
        ``by="zones"`` semantics for the weights.
    by
        ``"population"``: deciles of residents; ``"zones"``: deciles of zones.
    bootstrap
        Resamples of zones for the gap's percentile interval: how many to draw from ``seed``,
        or :class:`~pipelines.inequality.bootstrap.Resamples` of the complete zones, which
        statistics of the same zones can share to take their intervals from the same
        resamples (:func:`~pipelines.inequality.report.run_inequality` does). 0: no interval.
    confidence
        Level of the interval.
    seed
        Seed of the drawn resamples (int, ``SeedSequence`` or ``Generator``).

    Returns
    -------
    DecileExposure
        Ten :class:`~pipelines.inequality.results.DecileRow` and the gap.

    Raises
    ------
    InequalityError
        Unknown ``by``, fewer than 3 complete zones, all-missing input, bad populations, a
        negative ``bootstrap``, or resamples of another number of zones.
    """
    if by not in ("population", "zones"):
        raise InequalityError(f"by must be 'population' or 'zones'; got {by!r}")
    if not 0.0 < confidence < 1.0:
        raise InequalityError(f"confidence must be between 0 and 1, got {confidence}")
    arrays = [as_vector(outcome, "outcome"), as_vector(income, "income")]
    names = ["outcome", "income"]
    if population is not None:
        arrays.append(as_vector(population, "population"))
        names.append("population")
    kept, notes, _ = complete_rows(arrays, names)
    h, y = kept[0], kept[1]
    n = len(h)
    weighted = population is not None
    pop = kept[2] if weighted else np.ones(n)
    check_weights(pop, "population")

    order = np.argsort(y, kind="stable")
    h, y, pop = h[order], y[order], pop[order]
    rank_mass = pop if by == "population" else np.ones(n)
    deciles = _deciles(y, rank_mass)

    overall = float(np.sum(pop * h) / pop.sum())
    rows = []
    for d in range(1, 11):
        members = deciles == d
        weight = float(pop[members].sum())
        exposure = float(np.sum(pop[members] * h[members]) / weight) if weight > 0 else np.nan
        rows.append(
            DecileRow(
                decile=d,
                n_zones=int(members.sum()),
                population=weight if weighted else np.nan,  # else n_zones counts them
                population_share=weight / float(pop.sum()) if weighted else np.nan,
                income_min=float(y[members].min()) if members.any() else np.nan,
                income_max=float(y[members].max()) if members.any() else np.nan,
                exposure=exposure,
                exposure_minus_all=exposure - overall,
            )
        )
    empty = [row.decile for row in rows if row.n_zones == 0]
    if empty:
        notes.append(
            f"empty deciles {empty}: {n} zones are too few or too unequal in population "
            "to fill ten deciles"
        )
    gap = rows[0].exposure - rows[-1].exposure

    ci_low = ci_high = np.nan
    resamples = as_resamples(bootstrap, n, seed)
    if resamples is not None and np.isfinite(gap):
        replicates = resamples.gaps(h, pop, rank_mass, y)
        finite = replicates[np.isfinite(replicates)]
        if len(finite) < len(replicates):
            notes.append(
                f"{len(replicates) - len(finite)} of {resamples.size} bootstrap resamples had "
                "an empty D1 or D10 and were skipped"
            )
        if len(finite):
            tail = (1.0 - confidence) / 2.0
            ci_low, ci_high = (float(v) for v in np.quantile(finite, [tail, 1.0 - tail]))
        if not resamples.seeded:
            notes.append("bootstrap not seeded: pass seed= for a reproducible interval")
    split = "residents" if by == "population" else "zones"
    method = (
        f"E_D1 − E_D10, {decile_mean(weighted)} per income decile; deciles split "
        f"{split}; a zone belongs to the decile of its fractional income rank"
        + (
            f"; percentile bootstrap over zones (B={resamples.size})"
            if resamples is not None
            else ""
        )
    )
    if not weighted:
        notes.append("no population given: every zone weighs the same")
    gap_result = MetricResult(
        metric="exposure_gap_d1_d10",
        value=float(gap),
        ci_low=ci_low,
        ci_high=ci_high,
        n=n,
        method=method,
        notes=tuple(notes),
    )
    return DecileExposure(
        by=by, rows=tuple(rows), gap=gap_result, overall=overall, weighted=weighted
    )


def decile_of_rank(ranks: npt.ArrayLike) -> np.ndarray:
    """Decile 1..10 of fractional ranks in (0, 1): d such that (d − 1)/10 < r ≤ d/10.

    Ranks are rounded to 9 decimals first so that 0.3 computed as 0.30000000000000004 stays
    in decile 3.

    Examples
    --------
    >>> decile_of_rank([0.05, 0.1, 0.1000001, 0.95]).tolist()
    [1, 1, 2, 10]
    """
    scaled = np.round(np.asarray(ranks, dtype=np.float64) * 10.0, 9)
    return np.clip(np.ceil(scaled), 1, 10).astype(np.int64)


def _deciles(sorted_income: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Deciles of zones sorted by income, ranks from ``mass`` (ties share a rank)."""
    start, end = tie_groups(sorted_income)
    return decile_of_rank(cumulative_midpoints(mass, start, end) / mass.sum())
