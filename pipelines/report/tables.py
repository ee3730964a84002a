"""The numbers the report shows that no other output holds: rankings, group means, quality.

Everything here is a pure function of the zone table (and the ``n_clear`` pixels): the hottest
IRIS with their percentile ranks (science.md §7.5, via
:func:`pipelines.inequality.percentile_ranks`), population-weighted means of the IRIS in and out
of QPV, a summary of data coverage, and the least-squares line of the income scatter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.inequality import percentile_ranks
from pipelines.zone_columns import ANOMALY_COLUMNS, ANOMALY_VALID_FRAC

__all__ = [
    "GroupMeans",
    "LineFit",
    "QualitySummary",
    "group_flags",
    "group_means",
    "hottest_zones",
    "line_fit",
    "n_clear_distribution",
    "quality_summary",
    "ranked",
]

#: Columns shown beside the ranking variable in the hottest-zones table, when present.
HOTTEST_EXTRA = ("lst_mean_k", "ndvi_mean", "disp_med", "population", "in_qpv", "qpv_share")


def ranked(zones: pd.DataFrame, column: str) -> pd.Series:
    """Which zones :func:`hottest_zones` ranks: those with a finite ``column`` (not NaN, ±inf)."""
    values = pd.to_numeric(zones[column], errors="coerce").astype("float64")
    return values.notna() & np.isfinite(values)


def hottest_zones(
    zones: pd.DataFrame,
    column: str,
    *,
    id_column: str,
    name_column: str | None = None,
    n: int = 20,
    extra: Sequence[str] = HOTTEST_EXTRA,
) -> pd.DataFrame:
    """Rank the ``n`` zones with the highest ``column``, with "hotter than X % of the others".

    Parameters
    ----------
    zones
        One row per zone.
    column
        The ranking variable (e.g. ``lst_anomaly_mean_k``).
    id_column, name_column
        Zone id and (optional) name columns.
    n
        How many zones to keep.
    extra
        Further columns to carry, when the table has them.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank`` (1 = hottest), ``id``, ``name``, ``value``, ``hotter_than_pct`` and the
        ``extra`` columns present, hottest first (ties broken by id). The percentage is
        100·#{j ≠ i : x_j < x_i}/(N − 1) over the N zones with a value.
    """
    values = pd.to_numeric(zones[column], errors="coerce").astype("float64")
    valid = ranked(zones, column)
    ranks = percentile_ranks(values[valid])
    table = pd.DataFrame(
        {
            "id": zones.loc[valid, id_column].astype(str),
            "name": (
                # A layer without IRIS names (Lyon's) holds NaN: no name, not "nan".
                zones.loc[valid, name_column].astype("string").fillna("").str.strip()
                if name_column and name_column in zones.columns
                else ""
            ),
            "value": values[valid],
            "hotter_than_pct": ranks["hotter_than_pct"],
        }
    )
    for name in extra:
        if name in zones.columns and name != column:
            table[name] = zones.loc[valid, name]
    table = table.sort_values(["value", "id"], ascending=[False, True], kind="stable").head(n)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class GroupMeans:
    """Population-weighted means of some columns for the zones in and out of a group.

    Attributes
    ----------
    columns
        The columns averaged.
    table
        Index ``True`` (in the group) and ``False``; columns ``n_zones`` and ``population``
        (the zones that enter the mean of the ``counted`` column, and their population),
        ``n_left_out`` (the zones of the group that do not: no value, or no weight) and one
        population-weighted mean per column (unweighted when there is no population) over
        those same zones, so that a row's means and counts are of one set of zones.
    weighted
        Whether the means are population-weighted.
    counted
        The column whose mean the counts are those of (``None``: none of the columns is in
        the table; then the counts are of every zone).
    """

    columns: tuple[str, ...]
    table: pd.DataFrame
    weighted: bool
    counted: str | None = None


def _has(column: pd.Series) -> pd.Series:
    """Which rows of ``column`` hold a number."""
    return pd.to_numeric(column, errors="coerce").notna()


def group_flags(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return which zones have a group value, and which are in the group (missing: False).

    A zone without a value is on neither side of a comparison, as in the QPV test
    (:func:`pipelines.inequality.run_inequality`), not counted among the others.
    """
    return column.notna(), column.fillna(False).astype(bool)


def group_means(
    zones: pd.DataFrame,
    columns: Sequence[str],
    *,
    group: str = "in_qpv",
    population: str | None = "population",
    count: str | None = None,
    required: Sequence[str] = (),
) -> GroupMeans:
    """Mean of each column over the zones in the group and over the others.

    Parameters
    ----------
    zones
        One row per zone with a boolean ``group`` column.
    columns
        Columns to average (those absent are skipped).
    group
        Boolean column: ``True`` for zones in the group (e.g. IRIS classified QPV). Zones
        without a value are on neither side, as in the QPV test
        (:func:`pipelines.inequality.run_inequality`).
    population
        Weight column; zones without a weight are left out of the weighted means. ``None`` or
        an absent column gives plain means.
    count
        The column whose mean the zone counts and population are those of (by default the
        first of ``columns`` present): a table of means then counts the zones its means rest
        on, not zones without a value. The other columns are averaged over the same zones.
    required
        Columns a zone must have a number in to enter any mean (those absent are ignored);
        a zone without one is on neither side, as one without a group value (not counted in
        ``n_left_out``): e.g. the QPV test's income, for the means over the zones it used.

    Returns
    -------
    GroupMeans
        Each mean is over the zones of the group that have a value of the ``counted``
        column and a weight (those of them with a value of the column averaged), as the
        counts: a zone without a value of the counted column enters no mean of its row.
    """
    present = tuple(c for c in columns if c in zones.columns)
    counted = count if count in present else (present[0] if present else None)
    known, flag = group_flags(zones[group])
    for name in required:
        if name in zones.columns:
            known &= pd.to_numeric(zones[name], errors="coerce").notna()
    weighted = population is not None and population in zones.columns
    weights = (
        pd.to_numeric(zones[population], errors="coerce")
        if weighted
        else pd.Series(1.0, index=zones.index)
    )
    rows = {}
    for inside in (True, False):
        part = known & (flag == inside)
        if counted is not None:  # every mean over the zones counted, not those of its column
            entered = part & _has(zones[counted]) & _has(weights) & (weights > 0)
        else:
            entered = part
        w = weights[entered]
        row: dict[str, float] = {}
        for name in present:
            values = pd.to_numeric(zones.loc[entered, name], errors="coerce")
            ok = values.notna() & w.notna() & (w > 0)
            total = float(w[ok].sum())
            row[name] = float((values[ok] * w[ok]).sum() / total) if total > 0 else float("nan")
        row["n_zones"] = float(entered.sum())
        row["population"] = float(w.sum()) if weighted else float("nan")
        row["n_left_out"] = float(part.sum() - entered.sum())
        rows[inside] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    return GroupMeans(columns=present, table=table, weighted=weighted, counted=counted)


@dataclass(frozen=True)
class QualitySummary:
    """How much of each zone the clear pixels cover.

    Attributes
    ----------
    n_zones
        Zones in the layer.
    n_with_value
        Zones with a value of the ranking variable.
    valid_frac_min, valid_frac_median
        Smallest and median share of a zone covered by valid pixels.
    anomaly_valid_frac_min, anomaly_valid_frac_median
        Smallest and median share of a zone covered by a composite ΔT
        (``anomaly_valid_frac``); NaN for a table without it (a run of an earlier ilots).
    n_below_threshold
        Zones whose ``valid_frac`` is under the configured minimum (``None`` without one).
    n_below_delta
        For a ΔT column, the other zones whose ``anomaly_valid_frac`` is under it: an LST
        but no ΔT (``None`` for another column, or without the share).
    n_clear_mean_min, n_clear_mean_median
        Smallest and median mean number of clear observations per zone.
    """

    n_zones: int
    n_with_value: int
    valid_frac_min: float
    valid_frac_median: float
    anomaly_valid_frac_min: float
    anomaly_valid_frac_median: float
    n_below_threshold: int | None
    n_below_delta: int | None
    n_clear_mean_min: float
    n_clear_mean_median: float


def quality_summary(
    zones: pd.DataFrame, column: str, *, min_valid_frac: float | None
) -> QualitySummary:
    """Summarise the coverage of the zones (``valid_frac``, its ΔT's, ``n_clear_mean``).

    A zone has a value of ``column`` when it is finite (:func:`ranked`): ±inf is none. A
    zone is under the threshold when its ``valid_frac`` is (the share the section's
    sentence and histogram show); for a ΔT column
    (:data:`~pipelines.zone_columns.ANOMALY_COLUMNS`), the zones over it whose
    ``anomaly_valid_frac`` is under it are counted apart (the run empties ΔT on either).
    """

    def stat(name: str, how: str) -> float:
        if name not in zones.columns:
            return float("nan")
        values = pd.to_numeric(zones[name], errors="coerce").dropna()
        return float(getattr(values, how)()) if len(values) else float("nan")

    below = below_delta = None
    if min_valid_frac is not None and "valid_frac" in zones.columns:
        low = pd.to_numeric(zones["valid_frac"], errors="coerce") < min_valid_frac
        below = int(low.sum())
        if column in ANOMALY_COLUMNS and ANOMALY_VALID_FRAC in zones.columns:
            delta = pd.to_numeric(zones[ANOMALY_VALID_FRAC], errors="coerce") < min_valid_frac
            below_delta = int((delta & ~low).sum())  # ΔT's own share gates it too
    with_value = int(ranked(zones, column).sum())  # as the hottest section counts them
    return QualitySummary(
        n_zones=len(zones),
        n_with_value=with_value,
        valid_frac_min=stat("valid_frac", "min"),
        valid_frac_median=stat("valid_frac", "median"),
        anomaly_valid_frac_min=stat(ANOMALY_VALID_FRAC, "min"),
        anomaly_valid_frac_median=stat(ANOMALY_VALID_FRAC, "median"),
        n_below_threshold=below,
        n_below_delta=below_delta,
        n_clear_mean_min=stat("n_clear_mean", "min"),
        n_clear_mean_median=stat("n_clear_mean", "median"),
    )


def n_clear_distribution(values: np.ndarray) -> pd.Series:
    """Share of pixels (in [0, 1]) per number of clear observations, indexed by the count."""
    counts = pd.Series(np.rint(values).astype("int64")).value_counts().sort_index()
    return counts / counts.sum()


@dataclass(frozen=True)
class LineFit:
    """Ordinary least-squares line ``y = intercept + slope·x``.

    Attributes
    ----------
    slope, intercept
        The line's coefficients.
    n
        Pairs it rests on (both values finite).
    """

    slope: float
    intercept: float
    n: int


def line_fit(x: pd.Series, y: pd.Series) -> LineFit | None:
    """Least-squares line of ``y`` on ``x`` over the finite pairs; ``None`` under 3 pairs."""
    xs = pd.to_numeric(x, errors="coerce").to_numpy(dtype="float64")
    ys = pd.to_numeric(y, errors="coerce").to_numpy(dtype="float64")
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() < 3 or np.ptp(xs[ok]) == 0:
        return None
    slope, intercept = np.polyfit(xs[ok], ys[ok], 1)
    return LineFit(slope=float(slope), intercept=float(intercept), n=int(ok.sum()))
