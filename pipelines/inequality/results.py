"""Typed results of the inequality statistics: frozen, JSON-ready, one flat CSV row each.

Every scalar statistic returns a :class:`MetricResult` (or a subclass that adds a few named
fields): the value, its uncertainty (``se``, ``ci_low``/``ci_high`` or ``p_value``), the number of
zones it rests on, the method in words, and notes a reader must see (rows dropped, caveats).
``to_dict()`` gives plain Python values with NaN as ``None`` (so ``json.dumps(...,
allow_nan=False)`` succeeds); ``to_row()`` gives the flat CSV row of :data:`CSV_COLUMNS`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

__all__ = [
    "CSV_COLUMNS",
    "ConcentrationResult",
    "CorrelationResult",
    "DecileExposure",
    "DecileRow",
    "GroupDifferenceResult",
    "MetricResult",
    "MoranResult",
    "decile_mean",
    "json_value",
    "unbounded_side",
]

#: Columns of the flat CSV table, in order: ``ci_low``/``ci_high`` empty without an interval,
#: ``-inf``/``inf`` at an unbounded end; ``confidence``: the level of the interval (empty
#: without one); ``notes`` joined with ``" | "``.
CSV_COLUMNS: tuple[str, ...] = (
    "metric",
    "value",
    "se",
    "ci_low",
    "ci_high",
    "confidence",
    "p_value",
    "n",
    "method",
    "notes",
)

_NAN = float("nan")
#: Separator between notes in a CSV cell.
NOTE_SEPARATOR = " | "


def json_value(value: Any) -> Any:
    """Turn ``value`` into plain JSON-ready Python: NaN/inf → ``None``, numpy → builtins.

    Parameters
    ----------
    value
        A scalar, numpy scalar or array, tuple, list or mapping (converted recursively).

    Returns
    -------
    Any
        ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` or ``dict``.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        return [json_value(item) for item in value.tolist()]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


@dataclass(frozen=True)
class MetricResult:
    """One scalar statistic with its uncertainty.

    Attributes
    ----------
    metric
        Machine name of the statistic (e.g. ``"concentration_index"``).
    value
        The estimate (NaN when it cannot be computed; ``notes`` then say why).
    se
        Standard error, NaN when not estimated.
    ci_low, ci_high
        Confidence interval bounds, NaN when not estimated.
    p_value
        p-value of the test the method names, NaN when no test was run.
    n
        Number of zones the estimate rests on (after dropping missing rows).
    method
        How the value and its uncertainty were obtained, in words.
    notes
        Caveats and data handling a reader must see (rows dropped, scale warnings, ...).
    """

    metric: str
    value: float
    se: float = _NAN
    ci_low: float = _NAN
    ci_high: float = _NAN
    p_value: float = _NAN
    n: int = 0
    method: str = ""
    notes: tuple[str, ...] = field(default=())

    def with_notes(self, *notes: str) -> Self:
        """Return a copy with ``notes`` appended (duplicates and empty notes skipped)."""
        extra = tuple(note for note in notes if note and note not in self.notes)
        return dataclasses.replace(self, notes=self.notes + extra)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready Python values (NaN → ``None``, notes as a list)."""
        return {f.name: json_value(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_row(self) -> dict[str, Any]:
        """Return the flat CSV row (:data:`CSV_COLUMNS`); notes joined with ``" | "``.

        ``confidence`` is the level of the interval when the result has both bounds (else
        empty). An infinite bound (too few relabelings to bound that side of a gap) stays
        ``-inf`` or ``inf``, with its level: what ``ci_unbounded`` says in the JSON.
        """
        row = {name: json_value(getattr(self, name, None)) for name in CSV_COLUMNS[:-1]}
        for name in ("ci_low", "ci_high"):
            if math.isinf(bound := getattr(self, name)):
                row[name] = float(bound)
        if row["ci_low"] is None or row["ci_high"] is None:
            row["confidence"] = None
        row["notes"] = NOTE_SEPARATOR.join(self.notes)
        return row


@dataclass(frozen=True)
class ConcentrationResult(MetricResult):
    """A concentration index (standard C, generalized GC or Erreygers E).

    Attributes
    ----------
    kind
        ``"standard"``, ``"generalized"`` or ``"erreygers"``.
    mean
        (Weighted) mean of the outcome, μ.
    weighted
        Whether population weights entered the ranks and moments.
    confidence
        Level of ``ci_low``/``ci_high``.
    ci_method
        ``"bootstrap percentile (B=...)"`` or ``"normal (value ± z·se)"``.
    bounds
        The outcome bounds ``(a, b)`` used by the Erreygers correction, else ``None``.
    """

    kind: str = "standard"
    mean: float = _NAN
    weighted: bool = False
    confidence: float = 0.95
    ci_method: str = ""
    bounds: tuple[float, float] | None = None

    def to_row(self) -> dict[str, Any]:
        """Return the flat CSV row, its ``method`` saying how the interval was made.

        The standard error is Kakwani's (the delta method) while the interval may be a
        bootstrap percentile one: a CSV reader sees both.
        """
        row = super().to_row()
        if self.ci_method and row["confidence"] is not None:
            row["method"] = f"{self.method}; interval: {self.ci_method}"
        return row


@dataclass(frozen=True)
class CorrelationResult(MetricResult):
    """A Pearson or Spearman correlation with its Fisher-z confidence interval.

    Attributes
    ----------
    confidence
        Level of ``ci_low``/``ci_high``.
    """

    confidence: float = 0.95


@dataclass(frozen=True)
class GroupDifferenceResult(MetricResult):
    """Mean outcome in a group (e.g. QPV) minus outside, with a permutation test.

    Attributes
    ----------
    mean_in, mean_out
        (Weighted) means inside and outside the group.
    n_in, n_out
        Zones inside and outside the group.
    alternative
        Which p-value ``p_value`` holds: ``"two-sided"``, ``"greater"`` or ``"less"``.
    p_two_sided, p_greater, p_less
        All three p-values of the same relabelings.
    exact
        True when every relabeling was enumerated, False for Monte Carlo.
    relabelings
        Relabelings evaluated (all of them when exact, else the Monte Carlo draws B).
    n_strata
        Number of strata the labels were permuted within (1 when unstratified).
    n_strata_compared
        Strata with zones on both sides, whose gaps make ``value`` (their λ-weighted mean).
    pooled_difference
        ``mean_in − mean_out``, the difference of the overall means: ``value`` itself with one
        stratum; with several, a description that mixes the group effect with where the
        group's zones are (untested).
    confidence
        Level of the interval ``ci_low``/``ci_high`` (NaN bounds when no test was run).

    An end of the interval is infinite when the relabelings are too few to reject any gap on
    that side; :meth:`to_dict` writes it as ``None`` (JSON has no infinity) and names the
    unbounded side in ``ci_unbounded`` (:attr:`ci_unbounded`); :meth:`to_row` keeps it,
    ``-inf`` or ``inf`` in the CSV, with the interval's level.
    """

    mean_in: float = _NAN
    mean_out: float = _NAN
    n_in: int = 0
    n_out: int = 0
    alternative: str = "two-sided"
    p_two_sided: float = _NAN
    p_greater: float = _NAN
    p_less: float = _NAN
    exact: bool = False
    relabelings: int = 0
    n_strata: int = 1
    confidence: float = 0.95
    n_strata_compared: int = 1
    pooled_difference: float = _NAN

    @property
    def ci_unbounded(self) -> str | None:
        """Which end of the interval is infinite: ``"low"``, ``"high"``, ``"both"`` or ``None``.

        ``None`` too when there is no interval (NaN bounds: no test).
        """
        return unbounded_side(self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready Python values, and ``ci_unbounded``.

        An infinite bound is ``None`` as a missing one; ``ci_unbounded`` tells them apart.
        """
        return {**super().to_dict(), "ci_unbounded": self.ci_unbounded}


def unbounded_side(low: float, high: float) -> str | None:
    """Name the infinite ends of an interval: ``"low"``, ``"high"``, ``"both"`` or ``None``.

    Parameters
    ----------
    low, high
        The interval's bounds (NaN: not estimated, not unbounded).

    Returns
    -------
    str or None
        ``"low"`` for a lower end of −∞, ``"high"`` for an upper end of +∞, ``"both"`` for
        both, ``None`` when both ends are finite or missing.
    """
    low_open = math.isinf(low) and low < 0
    high_open = math.isinf(high) and high > 0
    if low_open and high_open:
        return "both"
    return "low" if low_open else "high" if high_open else None


@dataclass(frozen=True)
class MoranResult(MetricResult):
    """Global Moran's I with permutation and normal-approximation inference.

    ``value`` is I, ``p_value`` the permutation (pseudo) p-value and ``se`` the standard
    deviation of I over the permutations.

    Attributes
    ----------
    expected
        E[I] under no autocorrelation: −1/(n − 1), or the Cliff–Ord value for OLS residuals.
    z_sim
        (I − mean of permuted I) / sd of permuted I.
    z_norm, p_norm
        Normal-approximation z and two-sided p-value (normality assumption; Cliff–Ord for
        residuals).
    permutations
        Number of random permutations (0: no permutation inference).
    transform
        ``"binary"`` or ``"row"``.
    weights
        Description of the spatial weights (e.g. ``"rook contiguity"``).
    islands
        Zones without any neighbour.
    """

    expected: float = _NAN
    z_sim: float = _NAN
    z_norm: float = _NAN
    p_norm: float = _NAN
    permutations: int = 0
    transform: str = "row"
    weights: str = ""
    islands: int = 0


@dataclass(frozen=True)
class DecileRow:
    """Exposure of one income decile.

    Attributes
    ----------
    decile
        1 (poorest) to 10 (richest).
    n_zones
        Zones whose fractional income rank falls in the decile.
    population
        Residents of those zones (the weight total); NaN when unweighted (``n_zones``
        counts the zones).
    population_share
        ``population`` over the total; NaN when unweighted.
    income_min, income_max
        Range of zone incomes in the decile.
    exposure
        Population-weighted mean outcome of the decile (unweighted without a population;
        NaN when the decile is empty).
    exposure_minus_all
        ``exposure`` minus the mean of all zones, weighted alike (a difference, in the
        outcome's unit, as §7.2 asks for temperatures).
    """

    decile: int
    n_zones: int
    population: float
    population_share: float
    income_min: float
    income_max: float
    exposure: float
    exposure_minus_all: float

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready Python values (NaN → ``None``)."""
        return {f.name: json_value(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class DecileExposure:
    """Exposure by income decile and the D1 − D10 gap.

    Attributes
    ----------
    by
        ``"population"``: deciles split residents (each ~10 % of the population);
        ``"zones"``: deciles split zones (each ~10 % of the zones).
    rows
        The ten :class:`DecileRow`, D1 first.
    gap
        ``exposure(D1) − exposure(D10)`` with its bootstrap interval (metric
        ``"exposure_gap_d1_d10"``).
    overall
        Population-weighted mean outcome of all zones (unweighted without a population).
    weighted
        Whether the means are population-weighted; False: every zone counts equally.
    """

    by: str
    rows: tuple[DecileRow, ...]
    gap: MetricResult
    overall: float
    weighted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``by``, ``overall``, ``deciles`` (list of rows) and ``gap_d1_d10``."""
        return {
            "by": self.by,
            "overall": json_value(self.overall),
            "deciles": [row.to_dict() for row in self.rows],
            "gap_d1_d10": self.gap.to_dict(),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """Flat CSV rows: one per decile (``exposure_D1`` ...), then the gap."""
        split = "residents" if self.by == "population" else "zones"
        mean = decile_mean(self.weighted)
        rows = []
        for row in self.rows:
            count = (
                f"population={json_value(row.population)}"
                if self.weighted
                else f"zones={row.n_zones}"
            )
            rows.append(
                {
                    "metric": f"exposure_D{row.decile}",
                    "value": json_value(row.exposure),
                    "se": None,
                    "ci_low": None,
                    "ci_high": None,
                    "confidence": None,
                    "p_value": None,
                    "n": row.n_zones,
                    "method": f"{mean}; income deciles split {split}",
                    "notes": (
                        f"{count}; income {json_value(row.income_min)}–{json_value(row.income_max)}"
                    ),
                }
            )
        rows.append(self.gap.to_row())
        return rows


def decile_mean(weighted: bool) -> str:
    """Name the mean outcome of a decile: population-weighted, or of zones counted equally."""
    return (
        "population-weighted mean outcome"
        if weighted
        else "unweighted mean outcome (zones counted equally)"
    )
