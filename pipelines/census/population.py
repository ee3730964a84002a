"""Population by IRIS: INSEE census tables, or a population column already on the IRIS layer.

INSEE's census tables by IRIS (``base-ic-evol-struct-pop-2021``) key rows by ``IRIS`` and
name the total population ``P21_POP`` (``P`` + two-digit census year + ``_POP``). IRIS
layers prepared by others often carry the same column (``P18_POP`` in the Paris file).
:func:`read_population` accepts both and returns ``code_iris`` and ``population`` (float64:
INSEE census counts are weighted estimates, not integers), the year in the metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.census._iris_rows import iris_rows
from pipelines.census._layers import checked_codes
from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import IRIS
from pipelines.census.fields import IRIS_CODE, describe_columns, find_column
from pipelines.census.tables import (
    TableSource,
    bad_values_error,
    parse_numbers,
    read_table,
    table_decimal,
)
from tiles.errors import CensusError

__all__ = ["PopulationMeta", "read_population"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: ``P21_POP``: total population of census year 2021 (not ``P21_POP0014`` and the like).
_POPULATION = re.compile(r"P(\d{2})_POP", re.IGNORECASE)
#: What to read instead of a commune-level table.
_IRIS_TABLE = "the census population by IRIS (base-ic-evol-struct-pop-<year>)"


@dataclass(frozen=True)
class PopulationMeta:
    """What :func:`read_population` found.

    Parameters
    ----------
    year
        The census year from the column name (2018 for ``P18_POP``); None if it has none.
    column
        The population column as named in the source.
    source
        The path read, or ``"<DataFrame>"``.
    key
        The IRIS code column as named in the source.
    n_rows
        Rows read.
    missing
        Population cells that were secret or empty (set to NaN).
    outside
        Rows of other communes left out by ``communes`` (0 without it).
    outside_communes
        The communes of those rows in the départements of ``communes``, sorted: for
        :func:`~pipelines.census.join_tables` to tell an IRIS layer of another millésime.
    """

    year: int | None
    column: str
    source: str
    key: str
    n_rows: int
    missing: int = 0
    outside: int = 0
    outside_communes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if min(self.missing, self.n_rows, self.outside) < 0:
            raise ValueError("n_rows, missing and outside must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Return the metadata as plain JSON-ready types."""
        return {
            "year": self.year,
            "column": self.column,
            "source": self.source,
            "key": self.key,
            "n_rows": self.n_rows,
            "missing": self.missing,
            "outside": self.outside,
            "outside_communes": list(self.outside_communes),
        }


def read_population(
    source: TableSource,
    *,
    column: str | None = None,
    sheet: str | int | None = None,
    communes: str | int | Collection[str | int] | None = None,
) -> tuple[pd.DataFrame, PopulationMeta, list[str]]:
    """Read population by IRIS from an INSEE table or an IRIS layer.

    Parameters
    ----------
    source
        Path of an INSEE census CSV, XLSX or XLS by IRIS, or a (Geo)DataFrame holding an IRIS
        code column and a population column (e.g. the IRIS layer from
        :func:`~pipelines.census.read_iris`). Never modified.
    column
        The population column (case-insensitive). By default the one column named like
        ``P21_POP``, else a column named ``population``.
    sheet
        XLSX sheet; by default the first holding an IRIS key column.
    communes
        Keep the IRIS of these communes only (the first 5 characters of the IRIS code), so
        that a national table speaks of a city's IRIS, in its warnings too: one code or
        several, text or numbers; Paris, Marseille and Lyon take their arrondissements. None
        of them in the table is warned about; the rows left out are counted in
        ``meta.outside`` (and logged). Default: all. Rows coded ``ZZZZZZZZZ`` (outside any
        IRIS) are dropped with a warning; commune codes in the key column are refused.

    Returns
    -------
    population : pandas.DataFrame
        ``code_iris`` (9-character text) and ``population`` (float64, NaN where secret or
        empty), one row per IRIS in source order, RangeIndex.
    meta : PopulationMeta
        Year, columns used, source, counts.
    warnings : list of str
        Every warning raised (also emitted as :class:`~tiles.errors.IlotsWarning`).

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    tiles.errors.CensusError
        If no IRIS code or population column is found (the message lists the columns),
        several population years are present and ``column`` is not given, codes are
        missing, malformed or duplicated, the key holds commune codes (a commune table), a
        population is negative or not a number, or its commas may be thousands separators
        (every one like ``2,345``: re-export the table).
    """
    keys = (*IRIS_CODE,)
    raw = read_table(source, key_variants=keys, sheet=sheet, what="population table")
    frame = raw.frame
    log = WarningLog(f"population table {raw.source}")
    key = find_column(frame.columns, keys, error=CensusError, what="IRIS code")
    if key is None:
        raise CensusError(
            f"no IRIS code column in the population table: expected one of "
            f"{', '.join(keys)}; columns found: {describe_columns(list(frame.columns))}"
        )
    pop_column, year = _population_column(frame.columns, column, exclude=key)

    rows = iris_rows(frame, key, log, needed=_IRIS_TABLE, communes=communes)
    frame = rows.frame  # before the checks: IRIS rows, the city's only
    codes = checked_codes(frame[key], IRIS, key, log, "IRIS", error=CensusError)
    duplicated = codes.duplicated(keep=False).to_numpy()
    if duplicated.any():
        shown = pd.unique(codes[duplicated])
        raise CensusError(
            f"{len(shown)} IRIS codes in column {key!r} appear more than once "
            f"({int(duplicated.sum())} rows), e.g. {examples(shown)}; keep one row per IRIS"
        )
    values = frame[pop_column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        population = values.astype("float64")
        missing = int(population.isna().sum())
    else:
        parsed = parse_numbers(values, table_decimal({pop_column: values}, log.prefix))
        if parsed.bad.any():
            raise bad_values_error(pop_column, values, parsed.bad)
        population, missing = parsed.values, parsed.missing
    negative = (population < 0).to_numpy()
    if negative.any():
        raise CensusError(
            f"{int(negative.sum())} populations in column {pop_column!r} are negative, e.g. "
            f"IRIS {examples(codes[negative].tolist())}; check the column"
        )
    if missing:
        log.add(
            f"{missing} of {len(frame)} populations in column {pop_column!r} are secret or "
            "empty: set to NaN, never 0",
            code="secret_values",
        )
    out = pd.DataFrame(
        {
            "code_iris": pd.Series(codes.tolist()),
            "population": population.to_numpy(dtype="float64"),
        }
    )
    meta = PopulationMeta(
        year=year,
        column=str(pop_column),
        source=raw.source,
        key=str(key),
        n_rows=len(out),
        missing=missing,
        outside=rows.outside,
        outside_communes=rows.outside_communes,
    )
    logger.info("population: %d IRIS from column %s, year %s", len(out), pop_column, year)
    return out, meta, log.emit()


def _population_column(
    columns: pd.Index, column: str | None, *, exclude: Hashable
) -> tuple[Hashable, int | None]:
    """Return the population column and its census year."""
    names = [c for c in columns if c != exclude]
    if column is not None:
        found = find_column(names, (column,), error=CensusError, what="population")
        if found is None:
            raise CensusError(
                f"population column {column!r} not found; columns found: "
                f"{describe_columns(list(columns))}"
            )
        match = _POPULATION.fullmatch(str(found).strip())
        return found, 2000 + int(match.group(1)) if match else None
    matches = [(c, _POPULATION.fullmatch(str(c).strip())) for c in names]
    found_years = [(c, 2000 + int(m.group(1))) for c, m in matches if m]
    if len(found_years) == 1:
        return found_years[0]
    if len(found_years) > 1:
        raise CensusError(
            f"several population columns ({', '.join(str(c) for c, _ in found_years)}); "
            "name one (census.population_column in a config, column= in Python)"
        )
    found = find_column(names, ("population",), error=CensusError, what="population")
    if found is not None:
        return found, None
    raise CensusError(
        "no population column: expected a column named like P21_POP or 'population', or "
        "name it (census.population_column in a config, column= in Python); columns found: "
        f"{describe_columns(list(columns))}"
    )
