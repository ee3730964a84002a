"""Joins of census tables on a code column that never lose rows silently.

:func:`join_tables` is :meth:`pandas.DataFrame.merge` with the checks a census join needs:
both key columns exist (else the error lists the columns found), keys are unique on each side
(else the error gives examples), codes stored as numbers on one side are turned back into
text with their leading zeros (with a warning) so ``10020101`` meets ``"010020101"``, and a
:class:`JoinReport` says how many codes matched and which did not, on each side. Unmatched
IRIS codes come with a reminder to pair the IRIS layer's millésime with the table's year
(when the left table has the IRIS type, ``TYP_IRIS``, the activity and miscellaneous IRIS,
whose few residents INSEE publishes no income for, are counted apart as expected), and, in an
info log, with the communes a reader's filter left out of the table near them
(``outside_communes``), maybe the former communes of a commune nouvelle. QPV codes of the 2015
geography on one side and of the 2024 one on the other are warned about.

Key formats known by column name: ``code_iris`` (9 characters), ``insee_com`` (5) and
``code_qp``. For any other key, numbers on one side are padded to the width of the text codes
on the other side when those all have one width.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import COMMUNE, IRIS, QPV, CodeFormat, departement, normalise_codes
from pipelines.census.fields import IRIS_TYPE, describe_columns, find_column
from pipelines.census.qpv import qpv_generation
from tiles.errors import CensusError, ZonesError

__all__ = ["JoinReport", "join_tables"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: How many unmatched codes a report names on each side.
N_EXAMPLES = 10
_FORMATS: dict[str, CodeFormat] = {"code_iris": IRIS, "insee_com": COMMUNE, "code_qp": QPV}
_HOW = ("left", "right", "inner", "outer")
#: Said when IRIS codes stay unmatched: codes change between IRIS millésimes.
_MILLESIME = (
    "; check that the IRIS layer's millésime matches the table's year (communes nouvelles, "
    "merged or split IRIS)"
)
#: IRIS types with few residents (science.md §8.1): activity (A) and miscellaneous (D) IRIS,
#: which INSEE's income tables mostly leave out (statistical secret, science.md §8.3).
_FEW_RESIDENTS = ("A", "D")


@dataclass(frozen=True)
class JoinReport:
    """What a join matched and what it did not.

    Parameters
    ----------
    left_on, right_on
        The key columns.
    how
        The pandas join type.
    n_left, n_right
        Rows on each side.
    matched
        Codes found on both sides.
    unmatched_left, unmatched_right
        Codes found on one side only.
    examples_left, examples_right
        Up to 10 unmatched codes of each side, in their table's order.
    n_rows
        Rows in the joined table.
    warnings
        The warnings emitted by the join.
    """

    left_on: str
    right_on: str
    how: str
    n_left: int
    n_right: int
    matched: int
    unmatched_left: int
    unmatched_right: int
    examples_left: tuple[str, ...] = ()
    examples_right: tuple[str, ...] = ()
    n_rows: int = 0
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.how not in _HOW:
            raise ValueError(f"how must be one of {', '.join(_HOW)}, got {self.how!r}")
        if self.matched + self.unmatched_left != self.n_left:
            raise ValueError("matched + unmatched_left must equal n_left")
        if self.matched + self.unmatched_right != self.n_right:
            raise ValueError("matched + unmatched_right must equal n_right")

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready types."""
        return {
            "left_on": self.left_on,
            "right_on": self.right_on,
            "how": self.how,
            "n_left": self.n_left,
            "n_right": self.n_right,
            "matched": self.matched,
            "unmatched_left": self.unmatched_left,
            "unmatched_right": self.unmatched_right,
            "examples_left": list(self.examples_left),
            "examples_right": list(self.examples_right),
            "n_rows": self.n_rows,
            "warnings": list(self.warnings),
        }


def join_tables(
    left: pd.DataFrame,
    right: pd.DataFrame,
    on: str | tuple[str, str] = "code_iris",
    how: Literal["left", "right", "inner", "outer"] = "left",
    *,
    suffixes: tuple[str, str] = ("", "_right"),
    outside_communes: Collection[str] = (),
) -> tuple[pd.DataFrame, JoinReport]:
    """Join two tables on a code column, reporting every unmatched code.

    Parameters
    ----------
    left, right
        The tables (``left`` may be a GeoDataFrame: the result then is one). Never modified.
    on
        The key column name on both sides, or ``(left_on, right_on)``. The result holds one
        key column, named as on the left.
    how
        As in :meth:`pandas.DataFrame.merge`. With ``"left"`` the rows of ``right`` without a
        match are dropped: the report counts them and names up to 10.
    suffixes
        Added to other columns present on both sides.
    outside_communes
        Communes whose rows were left out of ``right`` before the join, as a reader's
        communes filter does (``meta.outside_communes`` of
        :func:`~pipelines.census.read_filosofi` and :func:`~pipelines.census.read_population`).
        When IRIS of a ``left`` commune that ``right`` has no row of stay unmatched and
        some of these communes share its département, an info log names them (maybe the
        former communes of a commune nouvelle; or, as often, neighbours of a national table).

    Returns
    -------
    joined : pandas.DataFrame
        The merged table, RangeIndex (left order for ``"left"`` and ``"inner"``).
    report : JoinReport
        Matched and unmatched counts with examples; its warnings are also emitted as
        :class:`~tiles.errors.IlotsWarning`.

    Raises
    ------
    ValueError
        If ``how`` is not a pandas join type.
    tiles.errors.CensusError
        If a key column is absent (the message lists the columns found), holds missing
        values, or holds duplicated codes (the message gives examples).
    """
    if how not in _HOW:
        raise ValueError(f"how must be one of {', '.join(_HOW)}, got {how!r}")
    left_on, right_on = (on, on) if isinstance(on, str) else on
    log = WarningLog(f"join on {left_on!r}" + (f"/{right_on!r}" if right_on != left_on else ""))
    _require(left, left_on, "left")
    _require(right, right_on, "right")
    left_keys, right_keys = _keys(left[left_on], right[right_on], left_on, log)
    for side, keys, column in (("left", left_keys, left_on), ("right", right_keys, right_on)):
        _check_unique(keys, side, column)

    in_right = left_keys.isin(set(right_keys.tolist())).to_numpy()
    in_left = right_keys.isin(set(left_keys.tolist())).to_numpy()
    matched = int(in_right.sum())
    lost_left = how in ("right", "inner")
    lost_right = how in ("left", "inner")
    iris = _FORMATS.get(str(left_on)) is IRIS
    hint = _MILLESIME if iris else ""
    left_hint = ""
    if iris:
        unmatched = left_keys[~in_right]
        left_hint = _no_row_hint(right_keys, unmatched) + _iris_type_hint(
            left, left_keys, ~in_right, _whole_communes(left_keys, right_keys)
        )
    _warn_unmatched(log, "left", left_keys[~in_right], lost_left, how, left_hint)
    _warn_unmatched(log, "right", right_keys[~in_left], lost_right, how, hint)
    if iris and not in_right.all():
        _log_outside(right_keys, left_keys[~in_right], outside_communes)
    if _FORMATS.get(str(left_on)) is QPV:
        _warn_generations(log, left_keys, right_keys)

    left_frame = left.copy()
    left_frame[left_on] = left_keys.to_numpy()
    right_frame = right.copy()
    right_frame[right_on] = right_keys.to_numpy()
    if right_on != left_on:
        if left_on in right_frame.columns:
            raise CensusError(
                f"the right table has both {right_on!r} (the key) and {left_on!r}; rename or "
                f"drop its {left_on!r} column before joining"
            )
        right_frame = right_frame.rename(columns={right_on: left_on})
    shared = [c for c in right_frame.columns if c in left_frame.columns and c != left_on]
    if shared:
        log.add(f"columns on both sides get the suffixes {suffixes}: {describe_columns(shared)}")
    joined = left_frame.merge(
        right_frame, on=left_on, how=how, suffixes=suffixes, validate="one_to_one", sort=False
    )
    joined = joined.reset_index(drop=True)
    report = JoinReport(
        left_on=str(left_on),
        right_on=str(right_on),
        how=how,
        n_left=len(left),
        n_right=len(right),
        matched=matched,
        unmatched_left=int((~in_right).sum()),
        unmatched_right=int((~in_left).sum()),
        examples_left=tuple(str(v) for v in left_keys[~in_right].tolist()[:N_EXAMPLES]),
        examples_right=tuple(str(v) for v in right_keys[~in_left].tolist()[:N_EXAMPLES]),
        n_rows=len(joined),
        warnings=tuple(log.messages),
    )
    logger.info("join on %s: %d matched of %d left, %d right", left_on, matched, len(left),
                len(right))  # fmt: skip
    log.emit()
    return joined, report


def _require(frame: pd.DataFrame, column: Hashable, side: str) -> None:
    """Raise a CensusError listing the columns when the key column is absent."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"the {side} table must be a pandas DataFrame, got {type(frame).__name__}")
    if column in frame.columns:
        if isinstance(frame[column], pd.DataFrame):
            raise CensusError(f"the {side} table has several columns named {column!r}")
        return
    near = [c for c in frame.columns if str(c).lower() == str(column).lower()]
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise CensusError(
        f"join column {column!r} not found in the {side} table; {hint}columns found: "
        f"{describe_columns(list(frame.columns))}"
    )


def _keys(
    left: pd.Series, right: pd.Series, name: Hashable, log: WarningLog
) -> tuple[pd.Series, pd.Series]:
    """Both key columns as comparable values: text codes with their leading zeros."""
    fmt = _FORMATS.get(str(name))
    left_numeric, right_numeric = _is_numeric(left), _is_numeric(right)
    if fmt is None:
        if left_numeric == right_numeric:
            return _plain(left), _plain(right)  # both numbers or both text: compare as they are
        text = right if left_numeric else left
        widths = text.dropna().astype(str).str.strip().str.len().unique()
        width = int(widths[0]) if len(widths) == 1 else None
        fmt = CodeFormat(f"{name} code", r".*", width=width)
    out = []
    for side, values in (("left", left), ("right", right)):
        result = normalise_codes(values, fmt)
        message = result.restored_message(values.name, fmt)
        if message:
            log.add(f"{side} table: {message}")
        if result.missing.any():
            rows = np.flatnonzero(result.missing)[:5].tolist()
            raise CensusError(
                f"{int(result.missing.sum())} rows of the {side} table have no code in "
                f"{values.name!r} (rows {rows}); drop them (df.dropna(subset=[...])) first"
            )
        out.append(result.codes)
    return out[0], out[1]


def _plain(values: pd.Series) -> pd.Series:
    """Key values compared as they are, text stripped; missing values refused."""
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())[:5].tolist()
        raise CensusError(
            f"{int(values.isna().sum())} rows have no code in {values.name!r} (rows {rows}); "
            "drop them (df.dropna(subset=[...])) before joining"
        )
    if _is_numeric(values):
        return values.reset_index(drop=True)
    return values.astype(str).str.strip().reset_index(drop=True)


def _is_numeric(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    sample = values.dropna()
    return bool(len(sample)) and all(
        isinstance(v, int | float | np.integer | np.floating) for v in sample.tolist()
    )


def _check_unique(keys: pd.Series, side: str, column: Hashable) -> None:
    duplicated = keys.duplicated(keep=False).to_numpy()
    if duplicated.any():
        shown = pd.unique(keys[duplicated])
        raise CensusError(
            f"{len(shown)} codes appear more than once in {column!r} of the {side} table "
            f"({int(duplicated.sum())} rows), e.g. {examples(shown)}; aggregate or drop "
            "duplicates first: a census join is one-to-one"
        )


def _warn_unmatched(
    log: WarningLog, side: str, unmatched: pd.Series, lost: bool, how: str, hint: str
) -> None:
    if not len(unmatched):
        return
    fate = f"dropped (how={how!r})" if lost else "kept with missing values"
    log.add(
        f"{len(unmatched)} {side} codes have no match and are {fate}, e.g. "
        f"{examples(unmatched.tolist(), N_EXAMPLES)}{hint}",
        code="unmatched_codes",
    )


def _communes_without_row(right: pd.Series, unmatched: pd.Series) -> list[str]:
    """Return the communes of unmatched IRIS of which ``right`` has no row at all, sorted.

    Only communes split into IRIS: the one IRIS of a small commune (``…0000``) has no
    Filosofi row, as expected (:func:`_log_outside`).
    """
    in_table = set(right.astype(str).str[:5])
    split = unmatched[~unmatched.str.endswith("0000")]
    return sorted({code[:5] for code in split if code[:5] not in in_table})


def _no_row_hint(right: pd.Series, unmatched: pd.Series) -> str:
    """Name the communes no IRIS of which has a row in ``right``, with their unmatched IRIS.

    A whole commune without a row is no IRIS redrawn: a commune nouvelle's new code, a
    table of other communes, or a commune INSEE withholds.
    """
    communes = _communes_without_row(right, unmatched)
    if not communes:
        return ""
    n = int(unmatched.str[:5].isin(communes).sum())
    shown = ", ".join(communes[:N_EXAMPLES])
    more = f" and {len(communes) - N_EXAMPLES} more" if len(communes) > N_EXAMPLES else ""
    return (
        f"; the table has no row of any IRIS of commune(s) {shown}{more} ({n} of these "
        "codes): check that it covers them"
    )


def _whole_communes(keys: pd.Series, right: pd.Series) -> np.ndarray:
    """Mark the ``…0000`` IRIS (communes not split into IRIS) a table of none of them lacks.

    INSEE's IRIS-level tables (Filosofi) cover only the communes split into IRIS: the real
    Filosofi 2018 IRIS file has no ``…0000`` code among its 12,395. A table with some of
    them (a census population table) is expected to have them all: none is marked.
    """
    if right.str.endswith("0000").any():
        return np.zeros(len(keys), dtype=bool)
    return keys.str.endswith("0000").to_numpy()


def _iris_type_hint(
    left: pd.DataFrame, keys: pd.Series, unmatched: np.ndarray, whole: np.ndarray
) -> str:
    """Count the unmatched IRIS the table is expected to lack; for the others, the millésime.

    Counted apart, needing no millésime check: the ``whole`` communes (:func:`_whole_communes`)
    and, with the IRIS type column of the IGN layer (``TYP_IRIS``, ``typ_iris``,
    ``type_iris``), the activity (A) and miscellaneous (D) IRIS that INSEE publishes no
    income for (on real Paris, 132 of the 155 IRIS without a Filosofi 2018 row). Without
    either, the millésime hint.
    """
    whole = whole[unmatched]
    column = find_column(left.columns, IRIS_TYPE, error=CensusError, what="IRIS type")
    few = np.zeros_like(whole)
    if column is not None:
        types = left[column].astype("string").str.strip().str.upper().fillna("")
        few = np.isin(types.to_numpy(dtype=str)[unmatched], _FEW_RESIDENTS) & ~whole
    said = ""
    if few.any():
        said += (
            f"; {int(few.sum())} of them are activity (A) or miscellaneous (D) IRIS "
            f"({column}), with few residents: INSEE publishes no income for most of them "
            "(statistical secret), as expected"
        )
    if whole.any():
        said += (
            f"; {int(whole.sum())} of them are communes not split into IRIS (…0000), of "
            "which the table has none: INSEE's IRIS tables (Filosofi) leave such communes "
            "out, their figures are in its commune-level tables"
        )
    if not said:
        return _MILLESIME
    others = keys[unmatched][~(few | whole)]
    if others.empty:
        return said
    return f"{said}; for the other {len(others)}, e.g. {examples(others.tolist())}{_MILLESIME}"


def _warn_generations(log: WarningLog, left: pd.Series, right: pd.Series) -> None:
    """Warn when the two sides hold QPV codes of different geographies (2015 and 2024)."""
    if left.empty or right.empty:
        return
    generations = []
    for keys in (left, right):
        try:
            generations.append(qpv_generation(keys))
        except ZonesError:  # no QPV codes, or mixed ones: nothing to compare
            return
    if generations[0] != generations[1]:
        log.add(
            f"QPV {generations[0]} codes (left, e.g. {left.iloc[0]!r}) against QPV "
            f"{generations[1]} codes (right, e.g. {right.iloc[0]!r}): the 2024 geography "
            "renamed and redrew the QPV; use tables of the same QPV generation",
            code="unmatched_codes",
        )


def _log_outside(right: pd.Series, unmatched: pd.Series, outside: Collection[str]) -> None:
    """Log when IRIS of a commune the table has no row of may be under its former communes.

    A commune nouvelle with a new code (or a split commune) looks like this: the layer's
    IRIS of a commune split into IRIS (not ``…0000``, the one IRIS of a small commune, which
    Filosofi does not publish) stay unmatched, the table has no row of that commune, and it
    had rows of communes of the same département that the communes filter left out. So does
    a commune Filosofi withholds beside the rest of a national table's département (a review
    found dozens around Lyon), so this is an info log (``ilots -v``), not a warning: the
    unmatched warning's millésime hint is what every user sees.
    """
    orphans = _communes_without_row(right, unmatched)
    areas = {departement(code) for code in orphans}
    near = sorted({c for c in outside if departement(c) in areas})
    if orphans and near:
        logger.info(
            "join on IRIS codes: the table has no row of commune(s) %s, whose IRIS stay "
            "unmatched, and had rows of %d communes of their départements outside the area "
            "(e.g. %s): if those merged into the area's communes (communes nouvelles), the "
            "IRIS layer is of another millésime than the table",
            examples(orphans), len(near), examples(near),
        )  # fmt: skip
