"""Run every inequality statistic on one table of zones → :class:`InequalityReport`.

The report is what ``inequality.json`` / ``inequality.csv`` of a run folder hold: the standard
concentration index (not for temperatures, whose origin is arbitrary: NaN with a note), the
generalized one (and Erreygers' when the outcome has bounds), exposure by income decile with
the D1 − D10 gap, Pearson and Spearman correlations of outcome and income,
the group (QPV) difference with its permutation p-value, and Moran's I of the outcome and of
the OLS residuals on income when geometries are given. Each number comes with its uncertainty,
the n it rests on and notes; when zones are spatially autocorrelated, the intervals that assume
independent zones say so.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from pipelines.census.codes import MUNICIPAL_ARRONDISSEMENTS
from pipelines.census.fields import IRIS_COMMUNE
from pipelines.census.filosofi import implausible_income
from pipelines.census.tables import table_decimal
from pipelines.inequality._inputs import is_constant
from pipelines.inequality.bootstrap import Resamples
from pipelines.inequality.concentration import Kind, concentration_index, not_computed
from pipelines.inequality.correlation import correlation
from pipelines.inequality.deciles import exposure_by_decile
from pipelines.inequality.groups import group_difference
from pipelines.inequality.results import (
    CSV_COLUMNS,
    ConcentrationResult,
    CorrelationResult,
    DecileExposure,
    GroupDifferenceResult,
    MetricResult,
    MoranResult,
    json_value,
)
from pipelines.inequality.shared import SharedDraws, seed_key, share
from pipelines.inequality.spatial import morans_i, residual_morans_i, spatial_note
from pipelines.inequality.weights import as_spatial_weights, geometry_key
from tiles.errors import InequalityError

__all__ = ["FEW_ZONES", "InequalityReport", "is_temperature", "run_inequality"]

NOT_CAUSAL = (
    "the cross-sectional association of outcome and income is not causal "
    "(confounders: density, building height, distance to centre, water, elevation)"
)
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
#: The city of each municipal arrondissement of Paris, Lyon and Marseille ("75101" → "75056").
_CITY = {code: city for city, codes in MUNICIPAL_ARRONDISSEMENTS.items() for code in codes}
#: Names of commune code columns (any case), whose arrondissements become their city.
_COMMUNE_COLUMNS = frozenset(name.lower() for name in IRIS_COMMUNE)
#: Below this many zones used, the bootstrap intervals of the concentration indices are said to
#: be somewhat narrow. In simulation (a ΔT-like outcome falling with log income, population
#: weights, B = 999, 3,000 draws each, ±0.4 points) the 95 % percentile intervals held the true
#: GC 92 % of the time at 60 zones, 93 % at 100, 93.5-94 % at 200-400 and 96 % at 1,000. B only
#: sets the Monte Carlo noise of the bounds: in a paired check (another ΔT-like city, 2,000
#: draws) B = 999 and 9,999 covered 93.5 and 94.0 % at 60 zones, 94.5 and 94.5 % at 1,000.
FEW_ZONES = 100
_FEW_ZONES_NOTE = (
    "{n} zones used, fewer than about 100: the bootstrap intervals of the concentration "
    "indices are somewhat narrow (in simulation, 95 % intervals covered the true value ~92 % "
    "of the time at 60 zones)"
)


def is_temperature(column: str) -> bool:
    """Whether a zone-table column holds a temperature in kelvin (its name ends in ``_k``)."""
    return column.endswith("_k")


def is_interval_scale(column: str) -> bool:
    """Whether a zone-table column's zero is arbitrary, by its name.

    A temperature in kelvin (``_k``: an LST, a ΔT against the rural reference) or a z-score
    (``zscore``: 0 is the scene's rural mean, and its zone means are of either sign).
    """
    return is_temperature(column) or "zscore" in column.lower()


def _interval_note(outcome: str) -> str:
    """Say why the standard C of an interval-scale outcome is not computed, and what to read."""
    return (
        f"standard C not computed: {outcome} is on an interval scale (a temperature or a "
        "z-score), so "
        "C = 2·cov(h, r)/μ depends on its origin (°C or K; for ΔT, the rural reference) "
        "(science.md §7.1); read generalized_concentration_index (GC, in the outcome's unit)"
    )


@dataclass(frozen=True)
class InequalityReport:
    """All inequality statistics of one outcome over one table of zones.

    Attributes
    ----------
    outcome, income, population, group, stratum
        Column names used (``None`` when not given).
    n_rows
        Rows in the table.
    n_used
        Rows with outcome, income (and population) present.
    population_total, population_used
        Residents of the rows with a population, and of the rows used (science.md §8.3:
        say how many residents the dropped zones hold); ``None`` without a population.
    concentration_index, generalized_concentration_index
        Standard C and generalized GC (population-weighted when a population is given). An
        index that is not computed (the standard C of a temperature, a zero mean) has NaN
        values and a note saying why.
    erreygers_index
        Erreygers E when ``bounds`` were given, else ``None``.
    deciles
        Exposure by income decile and the D1 − D10 gap.
    correlations
        Pearson then Spearman correlation of outcome and income.
    group_difference
        Group (QPV) minus rest with its permutation test, or ``None``.
    morans_i, residual_morans_i
        Moran's I of the outcome, and of its OLS residuals on income, or ``None`` without
        geometry.
    notes
        Report-wide notes (rows dropped, values coerced, causality, spatial caveats).
    seed
        Seed all random draws derive from.
    warnings
        Those of the ``notes`` that say the statistics are less than asked: rows dropped, an
        implausible income level, a group not compared, a stratum ignored (``ilots
        inequality`` says them as warnings, which its ``--strict`` counts).
    """

    outcome: str
    income: str
    population: str | None
    group: str | None
    stratum: str | None
    n_rows: int
    n_used: int
    population_total: float | None
    population_used: float | None
    concentration_index: ConcentrationResult
    generalized_concentration_index: ConcentrationResult
    erreygers_index: ConcentrationResult | None
    deciles: DecileExposure
    correlations: tuple[CorrelationResult, ...]
    group_difference: GroupDifferenceResult | None
    morans_i: MoranResult | None
    residual_morans_i: MoranResult | None
    notes: tuple[str, ...]
    seed: int | None
    warnings: tuple[str, ...] = ()

    def metrics(self) -> list[MetricResult]:
        """Every scalar result (deciles excepted), in report order."""
        found: list[MetricResult | None] = [
            self.concentration_index,
            self.generalized_concentration_index,
            self.erreygers_index,
            self.group_difference,
            *self.correlations,
            self.morans_i,
            self.residual_morans_i,
        ]
        return [metric for metric in found if metric is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (NaN → ``None``)."""

        def maybe(result: MetricResult | None) -> dict[str, Any] | None:
            return result.to_dict() if result is not None else None

        return {
            "outcome": self.outcome,
            "income": self.income,
            "population": self.population,
            "group": self.group,
            "stratum": self.stratum,
            "n_rows": self.n_rows,
            "n_used": self.n_used,
            "population_total": json_value(self.population_total),
            "population_used": json_value(self.population_used),
            "seed": json_value(self.seed),
            "notes": list(self.notes),
            "concentration_index": self.concentration_index.to_dict(),
            "generalized_concentration_index": self.generalized_concentration_index.to_dict(),
            "erreygers_index": maybe(self.erreygers_index),
            "exposure_by_decile": self.deciles.to_dict(),
            "group_difference": maybe(self.group_difference),
            "correlations": {
                result.metric.removeprefix("correlation_"): result.to_dict()
                for result in self.correlations
            },
            "morans_i": maybe(self.morans_i),
            "residual_morans_i": maybe(self.residual_morans_i),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the report as JSON text (strict: no NaN literals)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the flat table, one row per metric.

        Columns are :data:`~pipelines.inequality.results.CSV_COLUMNS`: ``metric, value, se,
        ci_low, ci_high, confidence, p_value, n, method, notes``; ``confidence`` is the level
        of the row's interval (every interval of a report has the same), empty without one;
        an unbounded end of an interval is ``-inf`` or ``inf`` (``ci_unbounded`` in the JSON,
        whose bounds are ``null``), and keeps its level.
        """
        rows = [
            self.concentration_index.to_row(),
            self.generalized_concentration_index.to_row(),
        ]
        if self.erreygers_index is not None:
            rows.append(self.erreygers_index.to_row())
        rows.extend(self.deciles.to_rows())
        rows.extend(
            metric.to_row()
            for metric in self.metrics()
            if metric.metric
            not in ("concentration_index", "generalized_concentration_index", "erreygers_index")
        )
        level = self.concentration_index.confidence  # run_inequality's, for every interval
        for row in rows:  # the decile gap's MetricResult does not carry its level
            if row["confidence"] is None and None not in (row["ci_low"], row["ci_high"]):
                row["confidence"] = level
        return pd.DataFrame(rows, columns=list(CSV_COLUMNS))

    def to_csv(self) -> str:
        """Return the flat table as CSV text."""
        buffer = io.StringIO()
        self.to_frame().to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()


def zone_roles(
    table: pd.DataFrame,
    *,
    income: str,
    population_weighted: bool = True,
    stratum: str | None = None,
) -> dict[str, str | None]:
    """Return the columns :func:`run_inequality` takes from a zone table of ``ilots run``.

    ``income`` as given; ``population`` when the table has it and the means are weighted;
    ``group``: ``in_qpv`` when the table has it; ``stratum`` when the table has it.
    """
    return {
        "income": income,
        "population": "population" if population_weighted and "population" in table else None,
        "group": "in_qpv" if "in_qpv" in table else None,
        "stratum": stratum if stratum is not None and stratum in table else None,
    }


def run_inequality(
    table: pd.DataFrame,
    *,
    outcome: str,
    income: str,
    population: str | None = None,
    group: str | None = None,
    stratum: str | None = None,
    geometry: str | Any | None = None,
    bounds: tuple[float, float] | None = None,
    interval_scale: bool | None = None,
    check_income: bool = True,
    contiguity: str = "queen",
    bootstrap: int = 9999,
    permutations: int = 9999,
    moran_permutations: int = 999,
    confidence: float = 0.95,
    seed: int | None = 0,
    shared: SharedDraws | None = None,
) -> InequalityReport:
    """Run every inequality statistic of ``outcome`` against ``income`` over the zones of ``table``.

    Parameters
    ----------
    table
        One row per zone (IRIS): a DataFrame or GeoDataFrame.
    outcome
        Column of the outcome (e.g. ``lst_mean_k``; the generalized index is the one to read
        for temperatures).
    income
        Column of the income (e.g. ``DISP_MED21``). Non-numeric markers ('nd', 's', ...) are
        treated as missing and counted in the notes. A Filosofi median, quartile or decile
        whose median lies outside 1,000-200,000 €/year per consumption unit gets a note
        (wrong unit, or thousands separators read as decimal marks).
    population
        Column of residents: population-weighted ranks, means and deciles of residents.
    group
        Column of group membership (booleans or 0/1, e.g. QPV) for the group difference.
    stratum
        Column to stratify the group permutation test by (e.g. commune code). In a commune
        code column (``insee_com``, ``com`` ...), the municipal arrondissements of Paris,
        Lyon and Marseille (751xx, 6938x, 132xx, which IRIS carry) count as their city
        (75056, 69123, 13055): a stratum is a city (science.md §7.6).
    geometry
        Geometry column name, or a GeoSeries aligned with ``table``: adds Moran's I of the
        outcome and of the OLS residuals on income.
    bounds
        ``(a, b)`` range of a bounded outcome (e.g. ``(0, 1)`` for a green share): adds the
        Erreygers index.
    interval_scale
        Whether the outcome is on an interval scale (a temperature in °C or K, a ΔT), whose
        origin is arbitrary: then the standard C, which depends on it, is not computed (its
        result holds NaN and a note pointing to GC). ``None``: a temperature column of the
        run (name ending in ``_k``) or a z-score (``zscore`` in its name) is
        (:func:`is_interval_scale`), any other is not.
    check_income
        Note an income level outside 1,000-200,000 €/year (see ``income``). ``False`` where
        the table's reader already warned of it (``ilots run``: the Filosofi reader, whose
        warning is in the run's manifest), so that a run says it once.
    contiguity
        ``"queen"``, ``"rook"`` or ``"knn"`` for the spatial weights.
    bootstrap
        Bootstrap resamples of zones, the same for the intervals of the indices and of the
        decile gap (the group difference's interval inverts its permutation test).
    permutations
        Monte Carlo relabelings of the group test when exact enumeration is too large; 0: no
        test (the difference without p-value or interval).
    moran_permutations
        Permutations of Moran's I.
    confidence
        Level of every interval.
    seed
        Seed every random draw derives from: one stream for the resamples that the bootstrap
        intervals share, independent streams for the group test and Moran's I.
    shared
        What the calls on the same ``table`` (and options) share
        (:class:`~pipelines.inequality.shared.SharedDraws`, e.g. one per run for its
        outcomes): the random draws of the seed and the spatial weights are made once. The
        same values as without.

    Returns
    -------
    InequalityReport

    Raises
    ------
    InequalityError
        A missing column (the message lists the columns found), an all-missing outcome or
        income, fewer than 3 complete zones, an outcome with the same value in every zone
        (up to rounding), text columns whose decimal marks disagree or whose commas may be
        thousands separators (``19,300``), or bad options.
    """
    columns = [outcome, income, population, group, stratum]
    if isinstance(geometry, str):
        columns.append(geometry)
    missing = [name for name in columns if name is not None and name not in table.columns]
    if missing:
        found = ", ".join(str(column) for column in table.columns)
        raise InequalityError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not in "
            f"the table; columns found: {found}"
        )
    notes: list[str] = []
    warned: list[str] = []  # also in notes

    def warn(text: str) -> None:
        notes.append(text)
        warned.append(text)

    decimal = _decimal_mark(table, [outcome, income, population], [income, population])
    h, note = _numeric_column(table[outcome], outcome, decimal)
    notes.extend(note)
    y, note = _numeric_column(table[income], income, decimal)
    notes.extend(note)
    implausible = implausible_income(income, y) if check_income else None
    if implausible:
        warn(implausible)
    if not np.isfinite(h).any():
        raise InequalityError(_no_number(table[outcome], "outcome", "check the zonal step"))
    if not np.isfinite(y).any():
        raise InequalityError(_no_number(table[income], "income", "check the Filosofi join"))
    present = np.isfinite(h) & np.isfinite(y)
    causes = [f"{int((~np.isfinite(h)).sum())} missing {outcome}"]
    causes.append(f"{int((~np.isfinite(y)).sum())} missing {income}")
    pop = None
    if population is not None:
        pop, note = _numeric_column(table[population], population, decimal)
        notes.extend(note)
        if not np.isfinite(pop).any():
            raise InequalityError(
                _no_number(table[population], "population", "check the population join")
            )
        negative = table[population][np.isfinite(pop) & (pop < 0)]
        if len(negative):
            raise InequalityError(
                f"population column {population!r} has negative values ({_examples(negative, 3)}); "
                "give the residents of each zone (≥ 0)"
            )
        causes.append(f"{int((~np.isfinite(pop)).sum())} missing {population}")
        present &= np.isfinite(pop)
    n_rows = len(table)
    n_used = int(present.sum())
    residents = None  # (all, used): of the rows with a population
    if pop is not None:
        residents = float(np.nansum(pop)), float(pop[present].sum())
    if n_used < n_rows:
        detail = ", ".join(cause for cause in causes if not cause.startswith("0 "))
        lost = (
            f"; {residents[0] - residents[1]:.0f} of {residents[0]:.0f} residents in them"
            if residents is not None
            else ""
        )
        warn(f"{n_rows - n_used} of {n_rows} rows dropped ({detail}){lost}")
    if n_used < 3:
        raise InequalityError(f"only {n_used} zones have outcome and income (need at least 3)")
    h, y = h[present], y[present]
    if is_constant(h):
        raise InequalityError(
            f"outcome {outcome!r} is constant ({h[0]:.6g} in every zone with income): there is "
            "no inequality to measure"
        )
    w = pop[present] if pop is not None else None

    streams = np.random.SeedSequence(seed).spawn(8)
    # The bootstrap intervals of the outcome (C, GC, E, the D1 - D10 gap) share one set of
    # resamples: they come from the same resamples of its zones, so their Monte Carlo errors
    # are those of one draw, not of four independent ones, and the counts are drawn once.
    # (streams[1:4] seeded separate draws before: unused, so the group test and Moran's I
    # keep their streams and values.)
    resamples: Resamples | int = bootstrap
    if bootstrap > 0:
        resamples = share(
            shared,
            ("resamples", seed_key(streams[0]), bootstrap, n_used),
            lambda: Resamples(bootstrap, n_used, streams[0]),
        )
    common = {"weights": w, "bootstrap": resamples, "confidence": confidence}
    interval = is_interval_scale(outcome) if interval_scale is None else interval_scale
    if interval:  # C depends on the origin: GC alone (science.md §7.1)
        standard = not_computed(
            "standard",
            _interval_note(outcome),
            n=n_used,
            weighted=w is not None,
            confidence=confidence,
        )
    else:
        standard = _index_or_note(h, y, "standard", **common)
    generalized = _index_or_note(h, y, "generalized", **common)
    erreygers = None
    if bounds is not None:
        erreygers = _index_or_note(h, y, "erreygers", bounds=bounds, **common)
    deciles = exposure_by_decile(
        h,
        y,
        w,
        by="population" if w is not None else "zones",
        bootstrap=resamples,
        confidence=confidence,
    )
    correlations = tuple(
        correlation(h, y, method=method, confidence=confidence).with_notes(NOT_CAUSAL)
        for method in ("pearson", "spearman")
    )

    difference = None
    strata = None
    if group is not None and stratum is not None:
        strata, merged = _strata(table[stratum])
        if merged:
            notes.append(
                f"stratum {stratum!r}: {merged} zones of arrondissements of Paris, Lyon or "
                "Marseille are stratified by their city (75056, 69123, 13055)"
            )
    if group is not None:
        member = _group_membership(table[group], group)[present]
        known = pd.notna(member)  # a zone without a value is on neither side
        n_in, n_known = int(np.count_nonzero(member[known].astype(bool))), int(known.sum())
        if n_in in (0, n_known):  # a side without zones: no test, the other statistics stand
            warn(
                f"group {group!r}: {n_in} of {n_known} zones used are in it (zones without a "
                "value counted on neither side), so it is not compared with the rest"
            )
        else:
            difference = group_difference(
                h,
                member,
                weights=w,
                stratum=strata[present] if strata is not None else None,
                permutations=permutations,
                confidence=confidence,
                seed=streams[4],
                shared=shared,
            )
    elif stratum is not None:
        warn(f"stratum {stratum!r} ignored: it only applies to a group comparison")

    moran = residual = None
    if geometry is not None:
        geoms = table[geometry] if isinstance(geometry, str) else geometry
        if len(geoms) != n_rows:
            raise InequalityError(f"geometry has {len(geoms)} rows, the table {n_rows}")
        # keyed by the geometries themselves: another table's column of the same name, or
        # a copy of these, gets its own weights or these
        key = None if shared is None else ("weights", geometry_key(geoms), contiguity)
        every = share(
            shared,
            key,
            lambda: as_spatial_weights(geoms, contiguity=contiguity),  # type: ignore[arg-type]
        )
        weights = every.subset(present)
        moran = morans_i(
            h, weights, permutations=moran_permutations, seed=streams[5], shared=shared
        )
        residual = residual_morans_i(
            h, y, weights, permutations=moran_permutations, seed=streams[6], shared=shared
        )
    else:
        notes.append(
            "no geometry given: spatial autocorrelation not tested; intervals assume "
            "independent zones"
        )

    caveat = spatial_note(moran) if moran is not None else None
    if caveat:
        standard = _with_caveat(standard, caveat)
        generalized = _with_caveat(generalized, caveat)
        erreygers = _with_caveat(erreygers, caveat) if erreygers is not None else None
        deciles = replace(deciles, gap=deciles.gap.with_notes(caveat))
        difference = difference.with_notes(caveat) if difference is not None else None
    residual_caveat = spatial_note(residual) if residual is not None else None
    if residual_caveat or caveat:
        correlations = tuple(
            result.with_notes(residual_caveat or caveat or "") for result in correlations
        )
    if bootstrap > 0 and n_used < FEW_ZONES:
        notes.append(_FEW_ZONES_NOTE.format(n=n_used))
    notes.append(NOT_CAUSAL)
    return InequalityReport(
        outcome=outcome,
        income=income,
        population=population,
        group=group,
        stratum=stratum,
        n_rows=n_rows,
        n_used=n_used,
        population_total=residents[0] if residents is not None else None,
        population_used=residents[1] if residents is not None else None,
        concentration_index=standard,
        generalized_concentration_index=generalized,
        erreygers_index=erreygers,
        deciles=deciles,
        correlations=correlations,
        group_difference=difference,
        morans_i=moran,
        residual_morans_i=residual,
        notes=tuple(notes),
        seed=seed,
        warnings=tuple(warned),
    )


def _index_or_note(h: np.ndarray, y: np.ndarray, kind: Kind, **options: Any) -> ConcentrationResult:
    """Return the concentration index of ``kind``, or NaN with the reason when undefined.

    A zero mean (standard C) or values outside the bounds (Erreygers) leave that index out,
    not the outcome's other statistics.
    """
    try:
        return concentration_index(h, y, kind=kind, **options)
    except InequalityError as err:
        return not_computed(
            kind,
            f"not computed: {err}",
            n=len(h),
            weighted=options.get("weights") is not None,
            confidence=options.get("confidence", 0.95),
        )


def _with_caveat(result: ConcentrationResult, caveat: str) -> ConcentrationResult:
    """Add the spatial caveat to ``result``, unless it was not computed (it has no interval)."""
    return result.with_notes(caveat) if np.isfinite(result.value) else result


def _strata(column: pd.Series) -> tuple[np.ndarray, int]:
    """Return the stratum of each zone, and how many arrondissements became their city.

    Only a commune code column (:data:`~pipelines.census.fields.IRIS_COMMUNE`) is changed:
    its arrondissement codes, as text or numbers, become their city's code, of the same type.
    """
    values = column.to_numpy(dtype=object, copy=True)
    if str(column.name).strip().lower() not in _COMMUNE_COLUMNS:
        return values, 0
    merged = 0
    for i, value in enumerate(values):
        city = _CITY.get(value.strip() if isinstance(value, str) else _integral_text(value))
        if city is not None:
            values[i] = city if isinstance(value, str) else type(value)(int(city))
            merged += 1
    return values, merged


def _integral_text(value: Any) -> str | None:
    """``"75101"`` for 75101 or 75101.0; None for anything else."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return None


def _no_number(column: pd.Series, role: str, hint: str) -> str:
    """Say that a column has no number: all missing, or text (with examples)."""
    name = column.name
    text = column.dropna()
    if text.empty:
        return f"{role} column {name!r} is all missing; {hint}"
    return (
        f"{role} column {name!r} holds no number (e.g. {_examples(text, 3)}); give a numeric column"
    )


def _group_membership(column: pd.Series, name: str) -> np.ndarray:
    """Return the group column as True/False, None where missing (an object array).

    Booleans, or 0/1 as numbers or as text ("0" is not in the group, as a Parquet or
    GeoPackage text field may hold it); anything else is refused.
    """
    values = column.dropna()
    out = np.full(len(column), None, dtype=object)
    known = column.notna().to_numpy()
    if pd.api.types.is_bool_dtype(values):
        out[known] = values.to_numpy(dtype=bool)
        return out
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.isin([0, 1]).all():
        out[known] = numeric.to_numpy() == 1
        return out
    raise InequalityError(
        f"group column {name!r} must hold booleans or 0/1 (found {_examples(values, 3)}); "
        "recode it, 1 for the zones in the group (e.g. the QPV) and 0 for the others"
    )


def _examples(values: pd.Series, n: int) -> str:
    """Return the first ``n`` distinct values, quoted, for a one-line message."""
    return ", ".join(repr(v.item() if isinstance(v, np.generic) else v)
                     for v in pd.unique(values)[:n])  # fmt: skip


def _is_number_dtype(column: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column)


def _decimal_mark(table: pd.DataFrame, names: list[str | None], grouping: list[str | None]) -> str:
    """Return the decimal mark of the text columns among ``names`` (census table_decimal).

    Columns that disagree, or commas that may be thousands separators in the columns of
    ``grouping`` (incomes, populations: ``19,300`` in every cell, no column showing a
    decimal comma), raise an InequalityError: read as decimal commas they would make an
    income 1000 times too small. An outcome's ``31,071`` (°C) is a decimal comma.
    """
    text = {n: table[n] for n in names if n is not None and not _is_number_dtype(table[n])}
    thousands = [n for n in grouping if n is not None]
    return table_decimal(text, "the table", error=InequalityError, grouping=thousands)


def _numeric_column(
    column: pd.Series, name: str, decimal: str = "."
) -> tuple[np.ndarray, list[str]]:
    """Column as float64; non-numeric entries become NaN and are reported (with examples).

    Text with a decimal comma is read as such when ``decimal`` is ``","`` (the table's mark,
    :func:`_decimal_mark`).
    """
    if _is_number_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan), []
    text = column.astype("string")
    commas = text.str.match(_DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool)
    commas &= decimal == ","
    text = text.where(~commas, text.str.replace(",", ".", regex=False))
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = column.notna().to_numpy() & ~np.isfinite(values)
    notes = []
    if commas.any():
        notes.append(f"{int(commas.sum())} values of {name} read with a decimal comma")
    if bad.any():
        examples = _examples(column[bad], 4)
        notes.append(
            f"{int(bad.sum())} non-numeric values of {name} treated as missing (e.g. {examples})"
        )
    return values, notes
