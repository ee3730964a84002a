"""INSEE tables as published: CSV, XLSX or XLS, header row found, numbers parsed, markers counted.

INSEE ships the same table as ``;``-separated CSV with a decimal comma (science.md pitfall 14)
and as XLSX whose first five or so rows are a title and human-readable labels above the row of
column codes. Third parties re-save them with ``,`` and a decimal point. This module reads any
of these into one shape:

* :func:`read_table` finds the separator (``;``, tab or ``,``), the encoding (UTF-16 with a
  byte-order mark, as Excel's "Unicode text"; UTF-8, else Windows-1252) and the header row
  (the row among the first 50 holding the key column, e.g. ``IRIS``; when several do, the one
  with the most code-like names such as ``DISP_MED21``) and returns every cell as read, with
  no type guessing. A ZIP archive as INSEE ships it is read from the one table in it.
* :func:`table_decimal` finds the one decimal mark of a table's numeric columns and refuses
  a table that does not show it plainly: columns that disagree (decimal points in one, commas
  in another), or commas that may be thousands separators (``19,300``: every comma with 1 to
  3 digits before it and exactly 3 after, and no column showing a decimal comma), which
  would read a median of 19 300 € as 19.3.
* :func:`parse_numbers` turns one column into floats: the secret markers ``nd``, ``ns``,
  ``s``, ``so`` and empty cells become NaN and are counted (never 0); the decimal mark is
  the table's, or detected per column; spaces inside numbers (thousands separators) are
  removed.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import re
import zipfile
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from pipelines.census._messages import examples
from pipelines.census.fields import describe_columns
from tiles.errors import CensusError

__all__ = [
    "EXCEL_SUFFIXES",
    "MARKERS",
    "ParsedNumbers",
    "RawTable",
    "TableSource",
    "bad_values_error",
    "column_named",
    "is_number_column",
    "parse_numbers",
    "read_table",
    "table_decimal",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

TableSource = str | os.PathLike[str] | pd.DataFrame


def column_named(columns: Iterable[Any], name: str) -> str | None:
    """Return the column called ``name``, or else the one column that differs only in case.

    The census readers lower-case the columns they read (``Revenu_Median`` is read as
    ``revenu_median``), while a zone layer keeps its own: a name from the config (such as
    ``census.income_column``) is looked up in either. ``None`` when no column, or several
    differing only in case, match.
    """
    names = [str(column) for column in columns]
    if name in names:
        return name
    folded = [column for column in names if column.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


#: INSEE markers of a value not published (science.md §8.3): non diffusable, non
#: significatif, secret, sans objet. Empty cells count as missing too.
MARKERS = ("nd", "ns", "s", "so")

#: How many lines (CSV) or rows (XLSX) are searched for the header row.
_HEADER_SEARCH = 50
_SEPARATORS = (";", "\t", ",")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+")
_POINT_DECIMAL = re.compile(r"[+-]?\d*\.\d+")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
#: A comma with 1 to 3 digits before it and exactly 3 after: ``19,300`` is 19.3 with a decimal
#: comma, or 19 300 with a thousands separator (an English export).
_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")
#: Numbers written with thousands separators, which no decimal mark can read: ``1,234,567``,
#: ``2,345.5``, ``19.300,5``.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:(?:,\d{3})+(?:\.\d+)?|(?:\.\d{3})+(?:,\d+)?)")
#: How to export a table that ilots reads without guessing.
_REEXPORT = (
    "re-export the table without thousands separators, with a decimal comma (INSEE's own "
    "format, ';' between fields) or a decimal point"
)
#: Suffixes read as spreadsheets (openpyxl; .xls with python-calamine); any other as
#: delimited text.
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
#: The first bytes of an OLE2 file: the old Excel format (.xls, Excel 97-2003).
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: The first bytes of a ZIP archive (INSEE ships its tables zipped; an .xlsx is one too).
_ZIP = b"PK\x03\x04"
#: Members of a ZIP archive read as delimited text tables.
_TEXT_TABLES = (".csv", ".txt")
#: The largest table read from a ZIP archive, uncompressed (INSEE's largest IRIS tables
#: are about 100 MB): a larger member is passed over (and named if no other is the table).
_ZIP_MEMBER_LIMIT = 1 << 30
#: Characters of a text searched for NUL characters (a binary file, UTF-16 without a mark).
_SNIFF_CHARS = 65536


@dataclass(frozen=True, eq=False)
class RawTable:
    """A table as read: one header row, every cell as the file gave it.

    Parameters
    ----------
    frame
        The cells (text for CSV; text, numbers or NaN for XLSX), RangeIndex.
    source
        The path read, or ``"<DataFrame>"``.
    separator
        The CSV separator, None for XLSX or a DataFrame.
    header_row
        0-based line (CSV) or row (XLSX) of the column names.
    sheet
        The XLSX sheet read, None otherwise.
    """

    frame: pd.DataFrame
    source: str
    separator: str | None
    header_row: int
    sheet: str | None = None


@dataclass(frozen=True, eq=False)
class ParsedNumbers:
    """One column parsed by :func:`parse_numbers`.

    Parameters
    ----------
    values
        float64 values, NaN where a marker or an empty cell was.
    markers
        How many cells held each marker (``""`` for empty cells).
    decimal
        ``","`` if the column used a decimal comma, else ``"."``.
    bad
        Mask of cells that are neither numbers nor markers (their value is NaN).
    """

    values: pd.Series
    markers: dict[str, int]
    decimal: str
    bad: np.ndarray

    @property
    def missing(self) -> int:
        """How many cells were markers or empty."""
        return sum(self.markers.values())


#: Vector layers, which a census table reader is sometimes given by mistake (an IRIS layer
#: that carries the population, P18_POP).
_VECTOR_SUFFIXES = (".gpkg", ".geojson", ".shp", ".fgb")


def read_table(
    source: TableSource,
    *,
    key_variants: Sequence[str],
    sheet: str | int | None = None,
    what: str = "table",
) -> RawTable:
    """Read a CSV, XLSX or XLS census table, finding its header row by the key column.

    Parameters
    ----------
    source
        Path of a ``.csv`` (any other suffix is read as delimited text; a ZIP archive, e.g.
        INSEE's ``BASE_TD_FILO_IRIS_2021_DISP_CSV.zip``, from the one CSV in it whose header
        has the key column, its ``meta_*`` files passed over), ``.xlsx`` or ``.xls`` file, or a
        DataFrame already read (used as is: its columns are the header).
    key_variants
        Accepted names of the key column (case-insensitive), e.g. ``("IRIS", "CODE_IRIS")``.
    sheet
        XLSX sheet name or index; by default the first sheet that has the key column.
    what
        What the table is, for messages.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    tiles.errors.CensusError
        If the file cannot be read, or no header row with the key column is found among the
        first 50 lines (the message names another separator seen beside the key, or shows the
        first line read), or a ZIP archive holds no such table or several.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.columns = [str(c).strip() if isinstance(c, str) else c for c in frame.columns]
        return RawTable(frame.reset_index(drop=True), "<DataFrame>", None, 0)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"the {what} must be a path or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        raise CensusError(f"{what} {path} is a folder; give the table file in it (.csv, .xlsx)")
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    if path.suffix.lower() in _VECTOR_SUFFIXES:
        raise CensusError(
            f"{what} {path} is a vector layer, not a table: write its attributes to a CSV "
            f"(e.g. ogr2ogr -f CSV {path.stem}.csv {path}) and give that; in Python, pass "
            "the GeoDataFrame read with geopandas.read_file"
        )
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(path, key_variants, sheet, what)
    return _read_delimited(path, key_variants, what)


def parse_numbers(values: pd.Series, decimal: str | None = None) -> ParsedNumbers:
    """Parse one column into float64, counting markers; never turns a marker into 0.

    Parameters
    ----------
    values
        Text cells (a CSV read as text) or a mix of numbers and text (XLSX). Never modified.
    decimal
        The table's decimal mark (:func:`table_decimal`): ``","`` reads commas as decimal
        marks, ``"."`` leaves them unparsable. By default it is detected in this column.

    Returns
    -------
    ParsedNumbers
        Floats, marker counts, the decimal mark used and the mask of unparsable cells.

    Raises
    ------
    ValueError
        If ``decimal`` is neither ``","``, ``"."`` nor None.
    tiles.errors.CensusError
        If, without ``decimal``, the column mixes decimal commas and decimal points.
    """
    if decimal not in (",", ".", None):
        raise ValueError(f"decimal must be ',', '.' or None, got {decimal!r}")
    text = _as_text(values)
    lowered = text.str.lower()
    is_marker = lowered.isin(("", *MARKERS)).to_numpy()
    counts = Counter(lowered[is_marker].tolist())
    rest = text[~is_marker].str.replace(_SPACES, "", regex=True)
    if decimal is None:
        comma = rest.str.fullmatch(_COMMA_DECIMAL).to_numpy(dtype=bool)
        point = rest.str.fullmatch(_POINT_DECIMAL).to_numpy(dtype=bool)
        if comma.any() and point.any():
            raise CensusError(
                f"column {values.name!r} mixes decimal commas (e.g. {rest[comma].iloc[0]!r}) "
                f"and decimal points (e.g. {rest[point].iloc[0]!r}); fix the file's export"
            )
        decimal = "," if comma.any() else "."
    if decimal == ",":
        rest = rest.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(rest, errors="coerce").astype("float64")
    out = pd.Series(np.nan, index=values.index, name=values.name, dtype="float64")
    out[~is_marker] = numbers.to_numpy()
    bad = np.zeros(len(values), dtype=bool)
    bad[~is_marker] = numbers.isna().to_numpy()
    markers = {m: counts[m] for m in ("", *MARKERS) if counts[m]}
    return ParsedNumbers(values=out, markers=markers, decimal=decimal, bad=bad)


def table_decimal(
    columns: Mapping[Hashable, pd.Series],
    where: str,
    *,
    error: type[Exception] = CensusError,
    grouping: Collection[Hashable] | None = None,
) -> str:
    """Return the decimal mark of a table's numeric columns, refusing a table that hides it.

    Only text cells count: the numbers of a spreadsheet carry no mark. In a column whose
    values run in the thousands (``grouping``: incomes, populations), commas that all have 1
    to 3 digits before them and exactly 3 after (``19,300``), none in a number with spaces
    (``19 300,500``), are ambiguous: a decimal comma (19.3) or a thousands separator
    (19 300). Such a column takes the decimal comma another column shows plainly; otherwise
    the table is refused, for a median read 1000 times too small looks like any other
    number. In other columns (a temperature in °C to 3 decimals, ``31,071``) a comma is a
    decimal comma.

    Parameters
    ----------
    columns
        The numeric columns by name (as text or as a spreadsheet gave them). Never modified.
    where
        What the table is, for messages, e.g. ``"Filosofi table data/filo.csv"``.
    error
        The exception type raised.
    grouping
        The columns whose values may run in the thousands; None: every column.

    Returns
    -------
    str
        ``","`` when a column shows a decimal comma, else ``"."`` (also when no column has a
        decimal mark at all).

    Raises
    ------
    error
        If a column mixes decimal commas and points, columns disagree on the mark, or commas
        are ambiguous and no column shows a decimal comma; the message names the columns.
    """
    commas: dict[str, str] = {}
    points: dict[str, str] = {}
    grouped: dict[str, str] = {}
    for name, values in columns.items():
        comma, point, ambiguous = _decimal_cells(values)
        ambiguous &= grouping is None or name in grouping
        if comma and point:
            raise error(
                f"{where}: column {name!r} mixes decimal commas (e.g. {comma!r}) and decimal "
                f"points (e.g. {point!r}); {_REEXPORT}"
            )
        target = points if point else grouped if ambiguous else commas if comma else None
        if target is not None:
            target[str(name)] = point or comma
    if commas and points:
        raise error(
            f"{where}: its numeric columns disagree on the decimal mark: decimal points in "
            f"{_columns(points)}, decimal commas in {_columns(commas)}; {_REEXPORT}"
        )
    if grouped and points:
        raise error(
            f"{where}: the commas in {_columns(grouped)} look like thousands separators beside "
            f"the decimal points in {_columns(points)}, and read as decimal commas they would "
            f"make the values 1000 times too small; {_REEXPORT}"
        )
    if grouped and not commas:
        raise error(
            f"{where}: the commas in {_columns(grouped)} may be thousands separators or decimal "
            "commas (19,300 is 19300 or 19.3): each has 3 digits after it and no column shows "
            f"the decimal mark; {_REEXPORT}"
        )
    return "," if commas else "."


def is_number_column(values: pd.Series) -> bool:
    """Whether every non-marker cell is a number (and at least one is)."""
    parsed = parse_numbers(values)
    return not parsed.bad.any() and parsed.missing < len(values)


def bad_values_error(column: Hashable, values: pd.Series, bad: np.ndarray) -> CensusError:
    """Return a CensusError naming cells that are neither numbers nor secret markers."""
    shown = pd.unique(values[bad].astype(str))
    grouped = any(_THOUSANDS.fullmatch(_SPACES.sub("", v)) for v in shown.tolist())
    fix = _REEXPORT if grouped else "fix them or drop the column"
    return CensusError(
        f"{int(bad.sum())} cells of column {column!r} are neither numbers nor the secret "
        f"markers nd/ns/s/so, e.g. {examples(shown.tolist())}"
        f"{' (numbers with thousands separators?)' if grouped else ''}; {fix}"
    )


def _decimal_cells(values: pd.Series) -> tuple[str, str, bool]:
    """One cell with a decimal comma, one with a point, and whether the commas are ambiguous.

    Only text cells count; ``""`` when there is none. The commas are ambiguous when every
    cell with one looks like ``19,300`` (:data:`_GROUPED`) and has no space in it.
    """
    cells = [v.strip() for v in values.tolist() if isinstance(v, str)]
    numbers = [c for c in cells if c.lower() not in ("", *MARKERS)]
    compact = [_SPACES.sub("", c) for c in numbers]
    commas = [(c, n != c) for c, n in zip(compact, numbers, strict=True)
              if _COMMA_DECIMAL.fullmatch(c)]  # fmt: skip
    point = next((c for c in compact if _POINT_DECIMAL.fullmatch(c)), "")
    ambiguous = bool(commas) and all(_GROUPED.fullmatch(c) and not spaced for c, spaced in commas)
    return (commas[0][0] if commas else ""), point, ambiguous


def _columns(examples_by_column: Mapping[str, str]) -> str:
    """``DISP_MED21 (e.g. '19,300'), ...`` for a message."""
    return ", ".join(f"{name} (e.g. {cell!r})" for name, cell in examples_by_column.items())


# --------------------------------------------------------------------------------------------
# reading


def _read_delimited(path: Path, key_variants: Sequence[str], what: str) -> RawTable:
    """Read a delimited text table; a ZIP archive (INSEE ships tables zipped): its table."""
    raw = path.read_bytes()
    if raw.startswith(_ZIP):
        return _read_zipped(path, key_variants, what)
    text = _decode(raw, f"the {what} {path}")
    header = _find_header(text, key_variants)
    if header is None:
        raise CensusError(f"the {what} {path}: {_no_header(text, key_variants)}")
    return _parse_delimited(text, header, str(path), what)


def _read_zipped(path: Path, key_variants: Sequence[str], what: str) -> RawTable:
    """Read the one table of a ZIP archive whose header has the key column.

    INSEE ships each table zipped beside a ``meta_*`` file describing its columns, which is
    passed over. The archive is read in memory, each text member up to
    :data:`_ZIP_MEMBER_LIMIT` bytes (without a table otherwise, the larger ones are named);
    spreadsheets in it are not read.
    """
    unzip = "unzip it and give the table file in it (.csv or .xlsx)"
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            names = [m.filename for m in members if not m.filename.startswith("__MACOSX/")]
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                raise CensusError(
                    f"the {what} {path} is an Excel workbook (.xlsx) named {path.suffix!r}: "
                    f"rename it {path.stem}.xlsx"
                )
            found, too_large = [], []
            for member in members:
                name = PurePosixPath(member.filename).name
                if member.filename not in names or name.lower().startswith("meta"):
                    continue
                if not name.lower().endswith(_TEXT_TABLES):
                    continue
                if member.file_size > _ZIP_MEMBER_LIMIT:
                    too_large.append(member)
                    continue
                where = f"{member.filename} in the {what} {path}"
                text = _decode(archive.read(member), where)
                header = _find_header(text, key_variants)
                if header is not None:
                    found.append((member.filename, text, header))
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as err:
        raise CensusError(
            f"the {what} {path} is a ZIP archive that cannot be read ({err}): {unzip}"
        ) from err
    if not found and too_large:
        raise CensusError(_too_large(path, what, too_large))
    if len(found) != 1:
        which = "no table" if not found else f"{len(found)} tables"
        raise CensusError(
            f"the {what} {path} is a ZIP archive with {which} whose header has a key column "
            f"({', '.join(key_variants)}) among its files ({describe_columns(names)}): {unzip}"
        )
    member, text, header = found[0]
    logger.info("reading %s from the ZIP archive %s", member, path)
    return _parse_delimited(text, header, f"{path} ({member})", what)


def _too_large(path: Path, what: str, members: Sequence[zipfile.ZipInfo]) -> str:
    """Say that the text files of a ZIP archive are too large to be read from it."""
    listed = ", ".join(f"{m.filename!r} ({m.file_size:,} bytes)" for m in members)
    return (
        f"the {what} {path} is a ZIP archive whose text files are larger uncompressed than "
        f"ilots reads from an archive ({_ZIP_MEMBER_LIMIT:,} bytes): {listed}; unzip it and "
        "give the CSV"
    )


def _decode(raw: bytes, where: str) -> str:
    """Return the text of a table: UTF-16 with a byte-order mark, UTF-8, else Windows-1252.

    Excel's "Unicode text" is UTF-16 with a byte-order mark (and tabs between fields).

    Raises
    ------
    tiles.errors.CensusError
        If the text holds NUL characters (a binary file, or UTF-16 without a byte-order
        mark) or is not valid UTF-16 after its mark.
    """
    save = "save it as CSV UTF-8 (';' or ',' between fields)"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as err:
            raise CensusError(f"{where} starts as UTF-16 text but is not: {err}; {save}") from err
        logger.info("%s is UTF-16 text (Excel's Unicode text)", where)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            logger.info("%s is not UTF-8: read as Windows-1252", where)
    if "\x00" in text[:_SNIFF_CHARS]:
        raise CensusError(
            f"{where} is not a text table: it holds NUL characters (a binary file, or UTF-16 "
            f"text without a byte-order mark); {save}"
        )
    return text


def _find_header(text: str, key_variants: Sequence[str]) -> tuple[int, str] | None:
    """Return the header line (0-based) and separator of a table, or None when none is found.

    The header is the line among the first :data:`_HEADER_SEARCH` that names a key column
    when split by one of :data:`_SEPARATORS`; when several do, the one with the most
    code-like names (a later line wins ties).
    """
    keys = {k.lower() for k in key_variants}
    best: tuple[int, int, str] | None = None  # (score, line, separator)
    for number, line in enumerate(text.splitlines()[:_HEADER_SEARCH]):
        for separator in _SEPARATORS:
            cells = [c.strip().strip('"').strip() for c in line.split(separator)]
            if not any(c.lower() in keys for c in cells):
                continue
            score = sum(bool(_IDENTIFIER.fullmatch(c)) for c in cells)
            if best is None or score >= best[0]:
                best = (score, number, separator)
            break  # the first separator that shows the key on this line
    return None if best is None else (best[1], best[2])


def _no_header(text: str, key_variants: Sequence[str]) -> str:
    """Say why no header was found: another separator, or no key column at all."""
    separators = "';', ',' or a tab"
    key = re.compile(
        r"(?<![\w])(" + "|".join(map(re.escape, key_variants)) + r")[\"']?([^\w\s\"'])",
        re.IGNORECASE,
    )
    lines = text.splitlines()[:_HEADER_SEARCH]
    for number, line in enumerate(lines):
        match = key.search(line)
        if match is not None:
            return (
                f"line {number + 1} names the key column {match[1]!r} but separates the "
                f"columns with {match[2]!r}: save the table as CSV with {separators} between "
                "the fields (INSEE's own: ';')"
            )
    first = lines[0][:80] if lines else ""
    return (
        f"no header with a key column ({', '.join(key_variants)}) in its first "
        f"{_HEADER_SEARCH} lines, read as fields separated by {separators}; first line: "
        f"{first!r}"
    )


def _parse_delimited(text: str, header: tuple[int, str], source: str, what: str) -> RawTable:
    """Read every cell of a table as text from its header line down."""
    header_row, separator = header
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            skiprows=header_row,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as err:
        reason = str(err).splitlines()[0]
        raise CensusError(f"cannot read the {what} {source}: {reason}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    logger.info("read %d rows from %s (separator %r, header line %d)", len(frame), source,
                separator, header_row)  # fmt: skip
    return RawTable(_drop_empty_rows(frame), source, separator, header_row)


def _sheet_names(path: Path) -> list[str]:
    """Return the sheet names of a spreadsheet, or none when it cannot be opened."""
    try:
        with pd.ExcelFile(path, engine=_engine(path)) as book:
            return [str(name) for name in book.sheet_names]
    except (ValueError, OSError, ImportError):
        return []


def _read_excel(
    path: Path, key_variants: Sequence[str], sheet: str | int | None, what: str
) -> RawTable:
    try:
        sheets = pd.read_excel(
            path,
            sheet_name=None if sheet is None else sheet,
            header=None,
            dtype=object,
            engine=_engine(path),
        )
    except ImportError as err:
        kind, package = (
            ("old Excel (.xls)", "python-calamine") if _is_xls(path) else ("XLSX", "openpyxl")
        )
        raise CensusError(
            f"reading the {kind} {what} {path} needs {package}: pip install {package} (or "
            "save the sheet as CSV)"
        ) from err
    except Exception as err:  # the engines (openpyxl, python-calamine) raise their own types
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if sheet is not None and isinstance(err, ValueError | IndexError):
            reason += f" (its sheets: {', '.join(map(repr, _sheet_names(path)))})"
        raise CensusError(f"cannot read the {what} {path}: {reason}") from err
    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet: sheets}
    keys = {k.lower() for k in key_variants}
    for name, grid in sheets.items():
        header_row = _header_row(grid.head(_HEADER_SEARCH), keys)
        if header_row is None:
            continue
        names = [_header_name(v, i) for i, v in enumerate(grid.iloc[header_row].tolist())]
        frame = grid.iloc[header_row + 1 :].reset_index(drop=True)
        frame.columns = names
        unnamed = [c for c in names if c.startswith("_unnamed_")]
        empty = [c for c in unnamed if frame[c].isna().all()]
        frame = frame.drop(columns=empty)
        logger.info("read %d rows from %s, sheet %r (header row %d)", len(frame), path, name,
                    header_row)  # fmt: skip
        return RawTable(_drop_empty_rows(frame), str(path), None, header_row, str(name))
    raise CensusError(
        f"no header row with a key column ({', '.join(key_variants)}) in the first "
        f"{_HEADER_SEARCH} rows of any sheet of the {what} {path} "
        f"(sheets: {describe_columns(list(sheets))}); pass sheet= or check the file"
    )


def _is_xls(path: Path) -> bool:
    """Whether the file is in the old Excel format (OLE2, Excel 97-2003)."""
    with path.open("rb") as file:
        return file.read(len(_OLE2)) == _OLE2


def _engine(path: Path) -> str:
    """Return the pandas engine of a spreadsheet: calamine for the old Excel format.

    pandas reads .xls with xlrd by default, which it deprecates for them and ilots does not
    install; python-calamine reads them, text cells as text (codes keep their leading zeros)
    and whole numbers as ints, as openpyxl gives .xlsx cells. .xlsx and .xlsm: openpyxl,
    named (pandas' default for them is to become calamine).
    """
    return "calamine" if _is_xls(path) else "openpyxl"


def _header_row(grid: pd.DataFrame, keys: set[str]) -> int | None:
    """Return the row with a key name and the most code-like names (later wins ties)."""
    best: tuple[int, int] | None = None
    for number, row in enumerate(grid.itertuples(index=False)):
        cells = [str(v).strip() for v in row if isinstance(v, str)]
        if not any(c.lower() in keys for c in cells):
            continue
        score = sum(bool(_IDENTIFIER.fullmatch(c)) for c in cells)
        if best is None or score >= best[0]:
            best = (score, number)
    return None if best is None else best[1]


def _header_name(value: Any, position: int) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"_unnamed_{position}"
    return str(value)


def _drop_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose every cell is empty (trailing lines of a spreadsheet)."""
    if frame.empty:
        return frame
    empty = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        empty &= _as_text(frame[column]).eq("").to_numpy()
    return frame[~empty].reset_index(drop=True) if empty.any() else frame


def _as_text(values: pd.Series) -> pd.Series:
    """Return the stripped text of every cell (missing: ``""``; numbers: their repr)."""
    if pd.api.types.is_string_dtype(values) and not values.isna().any():
        return values.astype(str).str.strip()
    return pd.Series(
        [_cell_text(v) for v in values.tolist()], index=values.index, dtype=object
    ).astype(str)


def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    return str(value).strip()
