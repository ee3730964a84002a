"""INSEE Filosofi income tables by IRIS or by QPV, with normalised column names.

:func:`read_filosofi` reads the INSEE CSV (``;`` or ``,``, decimal comma or point, detected)
or XLSX (header row found below INSEE's title rows) and returns one row per IRIS or QPV.

Column names
------------
INSEE suffixes every indicator with the two-digit year (science.md §8.3). The suffix is
removed and the name lower-cased; the year goes to :attr:`FilosofiMeta.year`:

==========================================  =====================  ==========================
published name                              normalised             note
==========================================  =====================  ==========================
``IRIS``                                    ``code_iris``          9-character text
``CODE_QP`` / ``code_qp`` / ``CODGEO``      ``code_qp``            QPV-level tables
``DISP_MED18`` … ``DISP_MED21``             ``disp_med``           median niveau de vie
``DISP_TP6021``                             ``disp_tp60``          poverty rate at 60 %
``DISP_D121`` … ``DISP_D921``               ``disp_d1`` … ``disp_d9``
``DISP_Q121``, ``DISP_Q321``, ``DISP_GI21`` ``disp_q1``, ``disp_q3``, ``disp_gi``
``DISP_S80S2021``                           ``disp_s80s20``        last two digits = year
``DEC_MED21`` …                             ``dec_med`` …          declared income files
``DISP_MED_A21``, ``DISP_TP60_A21``         ``disp_med``, ``disp_tp60``   INSEE QPV tables
``disp_q2`` (hackaviz)                      ``disp_med``           Q2 is the median
``tp60`` (hackaviz)                         ``disp_tp60``
``disp_d1``, ``disp_d9`` (hackaviz)         ``disp_d1``, ``disp_d9``
``decuc_q2``, ``decuc_d1``, ``decuc_d9``    ``dec_med``, ``dec_d1``, ``dec_d9``
any other column                            lower-cased
==========================================  =====================  ==========================

The hackaviz names carry no year: :attr:`FilosofiMeta.year` is then None (with a warning).
Indicators of several years in one table are an error.

Rows
----
At the IRIS level, rows coded ``ZZZZZZZZZ`` (INSEE's code for what lies outside any IRIS)
are dropped with a warning giving their count, and commune codes in the key column (a
commune-level table, keyed ``CODGEO``) are refused: ilots needs the IRIS-level table. With
``communes``, the rows of other communes are left out and counted
(:mod:`pipelines.census._iris_rows`).

Values
------
Indicator columns become float64. The secret markers ``nd``, ``ns``, ``s``, ``so`` and empty
cells become NaN, never 0, and are counted per column (one warning lists the counts; another
names the columns that are entirely secret). A cell that is neither a number nor a marker in
an indicator column is an error. Other columns become float64 when every cell is a number or
a marker, except code and label columns (``COM``, ``LIBCOM``, ``DEP`` ..., or any column with
a leading zero such as ``01004``), which become text, whatever types a spreadsheet gave their
cells: commune (``COM``, ``CODGEO`` ...), département (``DEP``) and région (``REG``) codes
get their leading zeros back (``1004`` → ``01004``, with a warning).

The numeric columns share one decimal mark (:func:`~pipelines.census.tables.table_decimal`):
a table whose columns disagree (``20.1`` in one, ``19,300`` in another), or whose commas may
be thousands separators (every one like ``19,300``, no column showing a decimal comma), is
refused rather than read 1000 times too small. A median, quartile or decile column whose
median lies outside 1,000-200,000 €/year per consumption unit is warned about
(:func:`implausible_income`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipelines.census._iris_rows import IrisRows, iris_rows
from pipelines.census._layers import checked_codes
from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import (
    COMMUNE,
    DEPARTEMENT,
    IRIS,
    QPV,
    REGION,
    CodeFormat,
    normalise_codes,
)
from pipelines.census.fields import describe_columns, find_column
from pipelines.census.tables import (
    TableSource,
    bad_values_error,
    column_named,
    parse_numbers,
    read_table,
    table_decimal,
)
from tiles.errors import CensusError

__all__ = [
    "FILOSOFI_ALIASES",
    "INCOME_RANGE",
    "FilosofiMeta",
    "implausible_income",
    "indicator_name",
    "read_filosofi",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

Level = Literal["iris", "qpv"]

#: Key column names by level, in order of preference (case-insensitive).
KEYS: dict[str, tuple[str, ...]] = {
    "iris": ("IRIS", "CODE_IRIS", "DCOMIRIS", "CODGEO"),
    "qpv": ("CODE_QP", "CODE_QPV", "QP", "CODGEO"),
}
_KEY_NAME = {"iris": "code_iris", "qpv": "code_qp"}
_KEY_FORMAT: dict[str, CodeFormat] = {"iris": IRIS, "qpv": QPV}

#: Names without a year (hackaviz 2021 QPV export) and their normalised names.
FILOSOFI_ALIASES: dict[str, str] = {
    "disp_q2": "disp_med",
    "tp60": "disp_tp60",
    "disp_d1": "disp_d1",
    "disp_d9": "disp_d9",
    "decuc_q2": "dec_med",
    "decuc_d1": "dec_d1",
    "decuc_d9": "dec_d9",
}

#: ``DISP_MED21``, ``DISP_TP6021``, ``DISP_S80S2021``, ``DISP_MED_A21``, ``DEC_MED21``.
_INDICATOR = re.compile(r"(DISP|DEC)_([A-Z0-9]+(?:_[A-Z0-9]+)*?)(?:_A)?(\d{2})", re.IGNORECASE)
#: Code and label columns of INSEE tables: kept as text even when they look numeric.
_TEXT_COLUMNS = re.compile(
    r"(lib|nom).*|com|dep|reg|arr|epci|ept|uu\d*|codgeo|libgeo|triris|grd_quart|typ_iris"
    r"|lab_iris|modif_iris|depcom|insee_com|code_com(mune)?|code_dep(artement)?|code_reg(ion)?",
    re.IGNORECASE,
)
_LEADING_ZERO = re.compile(r"0\d")
#: Code columns kept as text with their leading zeros restored, by lower-cased name.
_CODES: dict[str, CodeFormat] = {
    **dict.fromkeys(("com", "depcom", "insee_com", "code_com", "code_commune", "codgeo"), COMMUNE),
    **dict.fromkeys(("dep", "code_dep", "code_departement"), DEPARTEMENT),
    **dict.fromkeys(("reg", "code_reg", "code_region"), REGION),
}
#: What to read instead of a commune-level table.
_IRIS_TABLE = "IRIS-level Filosofi (BASE_TD_FILO_DISP_IRIS_<year>)"
#: Income levels, in euros a year per consumption unit: medians, quartiles, deciles.
_INCOME_LEVEL = re.compile(r"(disp|dec)_(med|q[13]|d[1-9])")
#: Where the median of an income level column plausibly lies (€/year per consumption unit).
INCOME_RANGE = (1_000.0, 200_000.0)
#: Declared-income levels that are near 0 in the poorest areas: no low bound for them.
_DECLARED_LOW = re.compile(r"dec_(q1|d[1-3])")


@dataclass(frozen=True)
class FilosofiMeta:
    """What :func:`read_filosofi` found in a Filosofi table.

    Parameters
    ----------
    level
        ``"iris"`` or ``"qpv"``.
    year
        The income year from the column suffixes (e.g. 2018 for ``DISP_MED18``); None when
        the names carry no year.
    source
        The path read (``"<DataFrame>"`` for a DataFrame).
    key
        The key column as named in the file (e.g. ``"IRIS"``).
    n_rows
        Rows read (one per IRIS or QPV).
    columns
        ``(published name, normalised name)`` for every column, in order.
    missing
        ``(normalised column, count)`` of secret or empty cells set to NaN, for every
        numeric column that has some.
    markers
        ``(marker, count)`` over all numeric columns (``""`` for empty cells).
    separator
        The CSV separator; None for XLSX or a DataFrame.
    decimal
        ``","`` if a decimal comma was found, else ``"."``.
    header_row
        0-based line or row of the column names (0 for a plain CSV; about 5 for INSEE XLSX).
    sheet
        The XLSX sheet read, else None.
    outside
        Rows of other communes left out by ``communes`` (0 without it).
    outside_communes
        The communes of those rows in the départements of ``communes``, sorted: for
        :func:`~pipelines.census.join_tables` to tell an IRIS layer of another millésime.
    """

    level: str
    year: int | None
    source: str
    key: str
    n_rows: int
    columns: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, int], ...]
    markers: tuple[tuple[str, int], ...]
    separator: str | None
    decimal: str
    header_row: int
    sheet: str | None = None
    outside: int = 0
    outside_communes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in KEYS:
            raise ValueError(f"level must be 'iris' or 'qpv', got {self.level!r}")
        if self.decimal not in (",", "."):
            raise ValueError(f"decimal must be ',' or '.', got {self.decimal!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the metadata as plain JSON-ready types."""
        return {
            "level": self.level,
            "year": self.year,
            "source": self.source,
            "key": self.key,
            "n_rows": self.n_rows,
            "columns": dict(self.columns),
            "missing": dict(self.missing),
            "markers": dict(self.markers),
            "separator": self.separator,
            "decimal": self.decimal,
            "header_row": self.header_row,
            "sheet": self.sheet,
            "outside": self.outside,
            "outside_communes": list(self.outside_communes),
        }


def indicator_name(column: str) -> tuple[str, int | None] | None:
    """Normalised name and year of a Filosofi indicator column, or None for other columns.

    Examples
    --------
    >>> indicator_name("DISP_TP6018")
    ('disp_tp60', 2018)
    >>> indicator_name("DISP_MED_A21")
    ('disp_med', 2021)
    >>> indicator_name("disp_q2")
    ('disp_med', None)
    >>> indicator_name("LIBIRIS") is None
    True
    """
    name = column.strip()
    match = _INDICATOR.fullmatch(name)
    if match:
        prefix, stem, year = match.groups()
        return f"{prefix.lower()}_{stem.lower()}", 2000 + int(year)
    alias = FILOSOFI_ALIASES.get(name.lower())
    return (alias, None) if alias else None


def _income_level(column: str) -> str | None:
    """Return the normalised name of an income level column (``DISP_MED21``: ``disp_med``)."""
    found = indicator_name(column)
    name = found[0] if found else column.strip().lower()
    return name if _INCOME_LEVEL.fullmatch(name) else None


def implausible_income(column: str, values: np.ndarray) -> str | None:
    """Say why an income level column looks wrong, or None when it looks right.

    Medians, quartiles and deciles of Filosofi (``disp_med``, ``DISP_D121``, ``dec_q1`` ...)
    are euros a year per consumption unit: the median of the column over its IRIS lies in
    :data:`INCOME_RANGE`. Outside it the unit or the reading is wrong: thousands separators
    read as decimal marks (19,300 as 19.3), a table in thousands of euros or in cents. Other
    columns (rates, ratios, the Gini index) are not checked, nor the low end of the lower
    declared-income levels (``dec_q1``, ``dec_d1``-``dec_d3``): before transfers they are
    near 0 in the poorest areas (the first decile of many QPV).

    Parameters
    ----------
    column
        The column's name as published or normalised (``DISP_MED21``, ``disp_med``).
    values
        Its values, NaN where missing.

    Returns
    -------
    str or None
        One line naming the column, its median and the likely cause.

    Examples
    --------
    >>> implausible_income("DISP_MED21", np.array([21_340.0, 19_300.0])) is None
    True
    >>> implausible_income("disp_tp60", np.array([12.5])) is None
    True
    """
    name = _income_level(column)
    finite = np.asarray(values, dtype="float64")
    finite = finite[np.isfinite(finite)]
    if name is None or not finite.size:
        return None
    median = float(np.median(finite))
    low, high = INCOME_RANGE
    if low <= median <= high or (median < low and _DECLARED_LOW.fullmatch(name)):
        return None
    cause = (
        "thousands separators read as decimal marks (19,300 read as 19.3), or a table in "
        "thousands of euros"
        if median < low
        else "a table in cents, or decimal marks lost (21340,5 read as 213405)"
    )
    return (
        f"income column {column!r} has a median of {median:.6g}, outside the "
        f"{low:,.0f}-{high:,.0f} €/year per consumption unit of an income level: likely "
        f"{cause}; check the file"
    )


def read_filosofi(
    source: TableSource,
    *,
    level: Level = "iris",
    sheet: str | int | None = None,
    communes: str | int | Collection[str | int] | None = None,
    income_column: str | None = None,
    counted: Collection[str] | None = None,
) -> tuple[pd.DataFrame, FilosofiMeta, list[str]]:
    """Read a Filosofi table by IRIS or by QPV.

    Parameters
    ----------
    source
        Path of the INSEE CSV, XLSX or XLS (or a re-saved copy), or a DataFrame already read.
    level
        ``"iris"`` (key ``IRIS`` → ``code_iris``) or ``"qpv"`` (key ``CODE_QP`` →
        ``code_qp``).
    sheet
        XLSX sheet; by default the first sheet holding the key column.
    communes
        With ``level="iris"``: keep the IRIS of these communes only (the first 5 characters
        of the IRIS code), so that a national table (INSEE publishes France in one file)
        speaks of a city's IRIS, its secret-value counts too: one code or several, text or
        numbers; Paris, Marseille and Lyon take their arrondissements. None of them in the
        table is warned about; the rows left out are counted in ``meta.outside`` (and
        logged). Default: all.
    income_column
        The column the caller takes the income from, as read (``disp_med``; a custom table's
        ``revenu``): a table with no Filosofi indicator nor this column is refused, one with
        it is read without a word. Default None: a table without Filosofi indicator is read
        with a warning asking whether it is the Filosofi table.
    counted
        With ``level="iris"``: the IRIS codes (normalised, ``"315550101"``) over which the
        secret values are counted, in the warning and ``meta.missing``: the IRIS a run keeps
        (a box cuts a commune; ``communes`` keeps all its rows). Default: every row kept.

    Returns
    -------
    table : pandas.DataFrame
        One row per IRIS or QPV, RangeIndex: the key (text), then the other columns in file
        order with normalised names (see the module documentation), indicators as float64
        with NaN for secret values.
    meta : FilosofiMeta
        Year, columns mapping, counts of secret values, separator, decimal mark, header row.
    warnings : list of str
        Every warning raised (also emitted as :class:`~tiles.errors.IlotsWarning`).

    Raises
    ------
    ValueError
        If ``level`` is not ``"iris"`` or ``"qpv"``.
    FileNotFoundError
        If the path does not exist.
    tiles.errors.CensusError
        If no key column is found, keys are missing, malformed or duplicated, the IRIS key
        holds commune codes (a commune-level table), indicators of several years are mixed,
        two columns normalise to the same name, an indicator cell is neither a number nor a
        secret marker, or the decimal mark is not plain (columns disagree, or commas that
        may be thousands separators), or with ``income_column`` the table has neither a
        Filosofi indicator nor that column.
    """
    if level not in KEYS:
        raise ValueError(f"level must be 'iris' or 'qpv', got {level!r}")
    raw = read_table(source, key_variants=KEYS[level], sheet=sheet, what="Filosofi table")
    frame = raw.frame
    log = WarningLog(f"Filosofi table {raw.source}")
    key = find_column(frame.columns, KEYS[level], error=CensusError, what="key")
    if key is None:  # a DataFrame given directly
        raise CensusError(
            f"no {level.upper()} key column in the Filosofi table: expected one of "
            f"{', '.join(KEYS[level])}; columns found: {list(map(str, frame.columns))}"
        )

    years = _single_year(frame.columns, log, warn_without_indicator=income_column is None)
    names = _normalised_names(frame.columns, key, level)
    if income_column is not None:
        _check_income(frame.columns, set(names.values()), income_column, raw.source)
    rows = IrisRows(frame)
    if level == "iris":  # before the checks: IRIS rows, the city's only
        rows = iris_rows(frame, key, log, needed=_IRIS_TABLE, communes=communes)
        frame = rows.frame
    codes = _keys(frame[key], level, key, log)
    tallied = None
    if counted is not None and level == "iris":
        tallied = codes.isin(set(counted)).to_numpy()

    numeric = [
        column
        for column in frame.columns
        if column != key
        and (indicator_name(str(column)) is not None or _numeric_column(column, frame[column]))
    ]
    levels = [c for c in numeric if _income_level(str(c)) is not None]
    decimal = table_decimal({c: frame[c] for c in numeric}, log.prefix, grouping=levels)
    data: dict[str, pd.Series] = {_KEY_NAME[level]: codes}
    missing: dict[str, int] = {}
    markers: Counter[str] = Counter()
    for column in frame.columns:
        if column == key:
            continue
        name = names[column]
        values = frame[column]
        if column in numeric:
            parsed = parse_numbers(values, decimal)
            if parsed.bad.any():
                raise bad_values_error(column, values, parsed.bad)
            data[name] = parsed.values
            tally = parsed if tallied is None else parse_numbers(values[tallied], decimal)
            if tally.missing:
                missing[name] = tally.missing
                markers.update(tally.markers)
            implausible = implausible_income(str(column), parsed.values.to_numpy())
            if implausible:
                log.add(implausible)
        else:
            data[name] = _text_column(column, values, log)
    table = pd.DataFrame(data).reset_index(drop=True)
    _warn_missing(missing, markers, log, len(table) if tallied is None else int(tallied.sum()))

    meta = FilosofiMeta(
        level=level,
        year=years,
        source=raw.source,
        key=str(key),
        n_rows=len(table),
        columns=tuple((str(c), names[c]) for c in frame.columns),
        missing=tuple(missing.items()),
        markers=tuple((m, markers[m]) for m in ("", "nd", "ns", "s", "so") if markers[m]),
        separator=raw.separator,
        decimal=decimal,
        header_row=raw.header_row,
        sheet=raw.sheet,
        outside=rows.outside,
        outside_communes=rows.outside_communes,
    )
    logger.info(
        "Filosofi %s table: %d rows, year %s, %d numeric columns with secret values",
        level, len(table), years, len(missing),
    )  # fmt: skip
    return table, meta, log.emit()


def _normalised_names(columns: pd.Index, key: Hashable, level: str) -> dict[Hashable, str]:
    """Map every column to its normalised name; two columns on one name is an error."""
    names: dict[Hashable, str] = {}
    for column in columns:
        if column == key:
            names[column] = _KEY_NAME[level]
            continue
        found = indicator_name(str(column))
        names[column] = found[0] if found else str(column).strip().lower()
    counts = Counter(names.values())
    clash = {n for n, c in counts.items() if c > 1}
    if clash:
        pairs = [f"{c} -> {n}" for c, n in names.items() if n in clash]
        raise CensusError(
            f"several columns normalise to the same name ({examples(pairs, 6)}); keep one "
            "year and one source per table"
        )
    return names


def _single_year(
    columns: pd.Index, log: WarningLog, *, warn_without_indicator: bool = True
) -> int | None:
    """Return the one year of the indicators; None (with a warning) if no name has one.

    ``warn_without_indicator=False``: no warning for a table without any indicator (the
    caller checks its income column, :func:`_check_income`).
    """
    by_year: dict[int, list[str]] = {}
    indicators = 0
    for column in columns:
        found = indicator_name(str(column))
        if found is None:
            continue
        indicators += 1
        if found[1] is not None:
            by_year.setdefault(found[1], []).append(str(column))
    if len(by_year) > 1:
        parts = [f"{year} ({examples(cols, 2)})" for year, cols in sorted(by_year.items())]
        raise CensusError(
            f"the Filosofi table mixes indicator years: {'; '.join(parts)}; read one "
            "millésime at a time and join them explicitly"
        )
    if not by_year and indicators:
        log.add(
            "its indicator names carry no two-digit year (DISP_MED21 is of 2021): the income "
            "year is unknown; the source's documentation gives it"
        )
    elif not indicators and warn_without_indicator:
        log.add(
            f"no Filosofi indicator among its columns ({describe_columns(list(columns))}), "
            "which are named like DISP_MED21 or DISP_TP6021: is it the Filosofi table?"
        )
    if not by_year:
        return None
    return next(iter(by_year))


def _check_income(columns: pd.Index, names: Collection[str], income: str, source: str) -> None:
    """Refuse a table with no Filosofi indicator nor the income column (names as read).

    Such a table (the population table given as the Filosofi one, say) would give the run
    no income, and the run would end without its inequality statistics.
    """
    if column_named(names, income) or any(indicator_name(str(column)) for column in columns):
        return
    published = [str(column) for column in columns]
    raise CensusError(
        f"{Path(source).name} holds no Filosofi indicator (e.g. DISP_MED21) nor the column "
        f"census.income_column names ({income!r}); its columns: {describe_columns(published)}: "
        "is it the Filosofi table (INSEE's BASE_TD_FILO_IRIS_<year>_DISP)?"
    )


def _keys(values: pd.Series, level: str, column: Hashable, log: WarningLog) -> pd.Series:
    """Return the normalised key codes, checked unique."""
    codes = checked_codes(values, _KEY_FORMAT[level], column, log, level.upper(), error=CensusError)
    duplicated = codes.duplicated(keep=False).to_numpy()
    if duplicated.any():
        shown = pd.unique(codes[duplicated])
        raise CensusError(
            f"{len(shown)} codes in key column {column!r} appear more than once "
            f"({int(duplicated.sum())} rows), e.g. {examples(shown)}; a Filosofi table has "
            "one row per IRIS or QPV"
        )
    return codes


def _numeric_column(column: Hashable, values: pd.Series) -> bool:
    """Whether a non-indicator column is numeric (every cell a number or a marker)."""
    if _TEXT_COLUMNS.fullmatch(str(column).strip()):
        return False
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return True
    parsed = parse_numbers(values)
    if parsed.bad.any() or parsed.missing == len(values):
        return False
    text = values[~np.isnan(parsed.values.to_numpy())].astype(str).str.strip()
    return not text.str.match(_LEADING_ZERO).any()


def _text_column(column: Hashable, values: pd.Series, log: WarningLog) -> pd.Series:
    """Return a column kept as it is, as text: codes with their leading zeros (see _CODES).

    A spreadsheet gives numbers in code columns (``1004`` for ``01004``), often beside text
    cells: text is kept as read, integral numbers lose their ``.0``, missing cells are None.
    Commune, département and région code columns are normalised (zeros restored, with a
    warning); their cells that are no such code are kept as read.
    """
    text = pd.Series([_cell_text(v) for v in values.tolist()], index=values.index, dtype=object)
    fmt = _CODES.get(str(column).strip().lower())
    if fmt is None:
        return text
    result = normalise_codes(values, fmt)
    valid = ~result.invalid & ~result.missing
    message = result.restored_message(column, fmt)
    if message and result.padded:
        log.add(message)
    return text.where(~valid, result.codes)


def _cell_text(value: Any) -> str | None:
    """One cell as text: str as read, integral numbers without ``.0``, None when missing."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _warn_missing(missing: dict[str, int], markers: Counter[str], log: WarningLog, n: int) -> None:
    """One warning with the secret-value counts per column; one for all-secret columns.

    ``n``: the rows counted (the IRIS the counts are of).
    """
    if not missing:
        return
    counts = ", ".join(f"{name} {count}" for name, count in missing.items())
    seen = ", ".join(
        f"{'empty' if m == '' else repr(m)} {markers[m]}" for m in ("", "nd", "ns", "s", "so")
        if markers[m]
    )  # fmt: skip
    log.add(
        f"secret or missing values (nd/ns/s/so/empty) set to NaN, never 0, in "
        f"{len(missing)} columns: {counts} (cells by marker: {seen})",
        code="secret_values",
    )
    entirely = [name for name, count in missing.items() if count == n and n > 0]
    if entirely:
        log.add(
            f"{len(entirely)} columns are entirely secret or empty ({n} of {n} rows), all "
            f"NaN: {', '.join(entirely)}",
            code="secret_values",
        )
