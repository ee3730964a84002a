"""The census tables of a run (``census.filosofi``, ``census.population``), read for its IRIS.

The run reads them before any pixel, and ``ilots run --dry-run`` reads them too (they are
small), so that a table the run cannot read stops the dry run with the same message.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Hashable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pipelines.census import PopulationMeta, read_filosofi, read_population
from pipelines.census.filosofi import indicator_name
from pipelines.census.overlay import OVERLAY_COLUMNS, IrisQpvOverlaps, qpv_left_out
from pipelines.census.tables import column_named
from pipelines.config import CensusConfig, RunConfig
from pipelines.config._messages import close_match, did_you_mean
from pipelines.config.models import filosofi_column
from pipelines.zone_columns import zone_columns
from tiles.errors import CensusError, ConfigError, IlotsError, IlotsWarning, WarningText

__all__ = [
    "census_summary",
    "census_years_note",
    "check_iris_columns",
    "income_advice",
    "qpv_without_iris_note",
    "read_census_tables",
]

#: How many QPV a warning names; the others are counted.
NAMED_QPV = 5

#: A table read, with the communes of its rows left out in the same départements.
CensusTable = tuple[pd.DataFrame, tuple[str, ...]]


def read_census_tables(
    config: RunConfig,
    communes: Collection[str] | None = None,
    *,
    iris: pd.DataFrame | None = None,
    source: str = "config",
) -> tuple[list[CensusTable], dict[str, dict[str, Any]]]:
    """Read the Filosofi and population tables of ``census``, to join on ``code_iris``.

    Parameters
    ----------
    config
        A validated config.
    communes
        The communes of the run's IRIS: only their rows are kept, for INSEE publishes each
        table for all France, whose other 48,000 IRIS would each be an "unmatched code" and
        whose secret values would be counted in the run's warnings. Default: every row.
    iris
        The IRIS layer read (``zones.iris``, with ``code_iris``): without
        ``census.population``, ``census.population_column`` names its population column,
        read as the population table's (``population``, checked as it is); the Filosofi
        secret values are counted over its IRIS (not all those of its communes: a box
        cuts them). Default: none.
    source
        Name of the config in error messages (its file).

    Returns
    -------
    tables
        The tables read, each with the communes of its rows that ``communes`` left out in
        the same départements (a commune nouvelle's former communes, say: for the join's
        warnings, :func:`pipelines.census.join_tables`).
    sources
        For the manifest (``extra.census``): per table (``filosofi``, ``population``), its
        file, the year its column names carry (``DISP_MED21``: 2021; None if none), its key
        column and rows kept, and the population column.

    Raises
    ------
    ConfigError
        A table that cannot be read (missing, wrong sheet, no IRIS column ...), or a
        Filosofi table with no Filosofi indicator nor ``census.income_column``
        (:func:`pipelines.census.read_filosofi`):
        ``"<source>: census.filosofi: <why>"``; a ``census.population_column`` that is no
        column of ``iris`` (without ``census.population``).
    """
    census = config.census
    tables: list[CensusTable] = []
    sources: dict[str, dict[str, Any]] = {}
    if census is None:
        return tables, sources
    key = "census"
    try:
        if census.filosofi is not None:
            key = "census.filosofi"
            table, meta, _ = read_filosofi(
                census.filosofi,
                sheet=census.filosofi_sheet,
                communes=communes,
                income_column=filosofi_column(census.income_column),
                counted=None if iris is None else set(iris["code_iris"]),
            )
            tables.append((table, meta.outside_communes))
            sources["filosofi"] = _census_source(census.filosofi, meta.year, meta.key, table)
            _warn_other_year(census, meta.year, table.columns)
        if census.population is not None:
            key = "census.population"
            table, meta, _ = read_population(
                census.population,
                column=census.population_column,
                sheet=census.population_sheet,
                communes=communes,
            )
            tables.append((table, meta.outside_communes))
            sources["population"] = {
                **_census_source(census.population, meta.year, meta.key, table),
                "column": meta.column,
            }
        elif census.population_column is not None and iris is not None:
            key = "census.population_column"
            table, meta = _layer_population(iris, census.population_column)
            tables.append((table, meta.outside_communes))
            layer = config.zones.iris.path  # type: ignore[union-attr]  # iris was read from it
            sources["population"] = {
                **_census_source(layer, meta.year, meta.key, table),
                "column": meta.column,
            }
    except (IlotsError, OSError) as err:
        raise ConfigError(f"{source}: {key}: {err}") from err
    return tables, sources


def _layer_population(iris: pd.DataFrame, name: str) -> tuple[pd.DataFrame, PopulationMeta]:
    """Read the IRIS layer's population column ``name`` (whatever its case) as a table.

    As :func:`pipelines.census.read_population` reads a population table: one row per
    IRIS, ``code_iris`` and ``population``, the census year of a ``P18_POP`` name.
    """
    column = column_named(iris.columns, name)
    if column is None:
        meant = did_you_mean(close_match(name, [str(c) for c in iris.columns]))
        raise CensusError(
            f"{name!r} is no column of zones.iris{meant}; name the layer's population column, "
            "or set census.population to a population table"
        )
    layer = pd.DataFrame({"code_iris": iris["code_iris"], column: iris[column]})
    table, meta, _ = read_population(layer, column=column)
    return table, meta


def check_iris_columns(
    config: RunConfig,
    iris_columns: Iterable[Hashable],
    tables: Iterable[CensusTable],
    *,
    source: str = "config",
) -> None:
    """Refuse a column name of the config that will be no column of the run's IRIS table.

    ``inequality.outcomes``, ``inequality.stratum`` and ``census.income_column`` (found as
    the run finds it: :meth:`pipelines.config.CensusConfig.income_in`) name
    columns of the IRIS table: the run's per-zone columns
    (:func:`pipelines.zone_columns.zone_columns`), the IRIS layer's own columns, the census
    tables' columns (as their readers name them: ``disp_tp60``) and, with ``zones.qpv``, the
    QPV overlay's. Checked once the layer and the tables are read, by the dry run and before
    the run reads pixels (rather than ending the whole compute without them). Without
    ``census`` no inequality is computed: nothing is checked.

    Parameters
    ----------
    config
        A validated config.
    iris_columns
        The columns of the IRIS layer read (``zones.iris``).
    tables
        The census tables read (:func:`read_census_tables`).
    source
        Name of the config in the message (its file).

    Raises
    ------
    ConfigError
        ``"<source>: inequality.outcomes: 'x' is no column of the IRIS table (did you mean
        'y'?)"``; the same for ``inequality.stratum`` and ``census.income_column``.
    """
    if config.census is None:
        return
    columns = [*zone_columns(), *map(str, iris_columns)]
    columns += [str(column) for table, _ in tables for column in table.columns]
    if config.zones.qpv is not None:
        columns += OVERLAY_COLUMNS
    columns = list(dict.fromkeys(columns))
    for name in config.inequality.outcomes:
        if name not in columns:
            raise _no_column("inequality.outcomes", name, source, _column_meant(name, columns))
    stratum = config.inequality.stratum
    if stratum is not None and stratum not in columns:
        advice = ": name a column of zones.iris or of a census table (e.g. insee_com), or null"
        raise _no_column(
            "inequality.stratum", stratum, source, _column_meant(stratum, columns, advice)
        )
    census = config.census
    income = census.income_column
    # Without a Filosofi table and with the default name as written, no income is expected
    # (a census of population only): the run notes that it skips the inequality statistics.
    expected = census.filosofi is not None or income != _DEFAULT_INCOME
    if expected and census.income_in(columns) is None:
        meant = did_you_mean(close_match(filosofi_column(income), columns))
        raise _no_column(
            "census.income_column", income, source, f"{meant}; {income_advice(columns)}"
        )


def income_advice(columns: Iterable[str]) -> str:
    """Say how Filosofi columns are named, which income columns there are, and which to set."""
    found = [column for column in columns if column.startswith(("disp_", "dec_"))]
    median = next((column for column in ("disp_med", "dec_med") if column in found), None)
    return (
        "Filosofi columns are read without their year suffix (DISP_MED21 becomes disp_med); "
        f"income columns found: {', '.join(found) if found else 'none (is census.filosofi set?)'}"
        + (f"; set census.income_column: {median}" if median else "")
    )


def _no_column(key: str, name: str, source: str, advice: str) -> ConfigError:
    """Return the error of a config name ``key: name`` that is no column of the IRIS table."""
    return ConfigError(f"{source}: {key}: {name!r} is no column of the IRIS table{advice}")


#: ``census.income_column``'s default, Filosofi's median disposable income.
_DEFAULT_INCOME = CensusConfig.model_fields["income_column"].default
_OUTCOME_ADVICE = (
    ": name a column of the run (e.g. lst_anomaly_mean_k, lst_mean_k, ndvi_mean), of "
    "zones.iris or of a census table"
)


def _column_meant(name: str, columns: list[str], advice: str = _OUTCOME_ADVICE) -> str:
    """Say which column ``name`` misspells (same but for case, else closest), or ``advice``."""
    same_but_case = [column for column in columns if column.lower() == name.lower()]
    meant = same_but_case[0] if same_but_case else close_match(name, columns)
    return did_you_mean(meant) if meant is not None else advice


def census_years_note(sources: dict[str, dict[str, Any]]) -> str | None:
    """Say when the income and the population tables are of different years."""
    income = sources.get("filosofi", {}).get("year")
    people = sources.get("population", {}).get("year")
    if income is None or people is None or income == people:
        return None
    return (
        f"census: the Filosofi income is of {income} and the population of {people}: IRIS "
        "redrawn in between are unmatched or mismatched; use tables of one year where INSEE "
        "publishes both"
    )


def qpv_without_iris_note(
    config: RunConfig, overlaps: IrisQpvOverlaps, overlay: pd.DataFrame, qpv: gpd.GeoDataFrame
) -> WarningText | None:
    """Say which QPV of the area the IRIS gap leaves out, as the rest, and what to change.

    ``overlaps``: the run's :func:`~pipelines.census.overlay.iris_qpv_overlaps`;
    ``overlay``: its :func:`~pipelines.census.overlay.overlay_table` (``in_qpv``, rows in the
    same order); ``qpv``: the QPV of the area. None when every QPV is counted, or no IRIS is
    (the run says so otherwise). Each QPV is named with the largest share of area in QPV of
    its IRIS left out (:func:`~pipelines.census.overlay.qpv_left_out`): the share the
    threshold is compared with, over the union of the QPV.
    """
    if not overlay["in_qpv"].any() or qpv.empty:
        return None
    missing = qpv_left_out(overlaps, overlay["in_qpv"].to_numpy(dtype=bool), qpv)
    if missing.empty:
        return None
    listed = [
        f"{row.code_qp} ({name + ', ' if isinstance(name := row.nom_qp, str) else ''}"
        f"its IRIS at most {row.iris_share_max:.0%} in QPV)"
        for row in missing.head(NAMED_QPV).itertuples()
    ]
    if len(missing) > NAMED_QPV:
        listed.append(f"and {len(missing) - NAMED_QPV} more")
    one = len(missing) == 1
    its, it = ("its", "it") if one else ("their", "them")
    key = "zones.qpv.iris_share_threshold"
    threshold = config.zones.qpv.iris_share_threshold  # type: ignore[union-attr]
    formats = config.outputs.zone_formats
    layer = "the qpv layer of zones.gpkg" if "gpkg" in formats else f"zones/qpv.{formats[0]}"
    return WarningText(
        f"{key}: {len(missing)} QPV {'is' if one else 'are'} left out of the QPV gap, no IRIS "
        f"with {threshold:.0%} or more of its area in QPV covering most of {it}: "
        f"{', '.join(listed)}; {its} IRIS count as the rest, and {layer} gives {its} own "
        f"exact statistics; lower {key} to count an IRIS in QPV from its share",
        "qpv_without_iris",
    )


def census_summary(sources: dict[str, dict[str, Any]]) -> str | None:
    """One line for the dry run: each table read, its rows for the area and its year."""
    if not sources:
        return None
    parts = []
    for name, record in sources.items():
        year = f", {record['year']}" if record.get("year") is not None else ""
        rows = f"{record['rows']} rows of the area's communes{year}"
        parts.append(f"{name} {record['file']} ({rows})")
    return "census tables: " + "; ".join(parts)


def _warn_other_year(census: CensusConfig, year: int | None, columns: Iterable[Hashable]) -> None:
    """Warn when ``census.income_column`` names a Filosofi year other than the table's.

    ``DISP_MED21`` over a 2019 table reads that table's ``disp_med``, of 2019: said, for the
    config names a year the run does not use.
    """
    named = indicator_name(census.income_column.strip())
    if named is None or named[1] is None or year is None or named[1] == year:
        return
    if named[0] not in {str(column) for column in columns}:
        return  # a column of another table, or refused by the column check
    warnings.warn(
        IlotsWarning(
            f"census.income_column: {census.income_column} names Filosofi {named[1]}, but "
            f"census.filosofi {Path(census.filosofi or '').name} is the {year} table: its "
            f"{named[0]} is of {year}; give the {named[1]} table, or name the column "
            f"{named[0]} to use this one",
            code="census_year_mismatch",
        ),
        stacklevel=3,
    )


def _census_source(path: Any, year: int | None, key: str, table: pd.DataFrame) -> dict[str, Any]:
    """Return a census table's record in the manifest (``extra.census``)."""
    return {"file": Path(path).name, "year": year, "key": key, "rows": len(table)}
