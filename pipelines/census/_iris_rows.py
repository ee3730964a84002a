"""The rows of an IRIS-keyed INSEE table that a reader keeps: IRIS, of the wanted communes.

Both table readers (:func:`~pipelines.census.read_filosofi` at the IRIS level,
:func:`~pipelines.census.read_population`) pass their rows through :func:`iris_rows` before
checking the codes:

* ``ZZZZZZZZZ``, INSEE's code for what lies outside any IRIS (e.g. the rest of a commune in
  some files), is no IRIS: those rows are dropped, with a warning giving their count.
* Commune codes (``01001``, ``2A004``: 5 characters) in the key column make a commune-level
  table, or commune rows in an IRIS table, which no IRIS joins: refused, naming the IRIS-level
  table to use.
* With ``communes``, the rows of other communes are left out (counted in the log); those of
  other communes of the same départements are kept by name in :attr:`IrisRows.outside_communes`,
  for :func:`~pipelines.census.join_tables` to tell an IRIS layer of another millésime (a
  commune nouvelle whose former communes are in the table) when the area's IRIS stay unmatched.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable
from dataclasses import dataclass

import pandas as pd

from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import (
    COMMUNE,
    IRIS,
    departement,
    iris_of_communes,
    no_row_of_communes,
    normalise_codes,
    wanted_communes,
)
from tiles.errors import CensusError

__all__ = ["NOT_IRIS", "IrisRows", "iris_rows"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: INSEE's code for rows outside any IRIS (e.g. the rest of a commune): not an IRIS.
NOT_IRIS = "ZZZZZZZZZ"


@dataclass(frozen=True, eq=False)
class IrisRows:
    """The rows :func:`iris_rows` kept, and what the communes filter left out.

    Parameters
    ----------
    frame
        The rows kept, in table order (index as read).
    outside
        How many rows of other communes the ``communes`` filter left out.
    outside_communes
        The communes of those rows that share a département with the wanted ones, sorted.
    """

    frame: pd.DataFrame
    outside: int = 0
    outside_communes: tuple[str, ...] = ()


def iris_rows(
    frame: pd.DataFrame,
    key: Hashable,
    log: WarningLog,
    *,
    needed: str,
    communes: str | int | Collection[str | int] | None = None,
) -> IrisRows:
    """Keep the IRIS rows of a table, of ``communes`` when given (see the module doc).

    Parameters
    ----------
    frame
        The table as read. Never modified.
    key
        Its IRIS code column.
    log
        Where the warnings go (dropped ``ZZZZZZZZZ`` rows, no row of ``communes``).
    needed
        The IRIS-level table to use instead of a commune-level one, for the error, e.g.
        ``"IRIS-level Filosofi (BASE_TD_FILO_DISP_IRIS_<year>)"``.
    communes
        Keep the IRIS of these communes (:func:`~pipelines.census.codes.iris_of_communes`);
        None keeps all.

    Raises
    ------
    tiles.errors.CensusError
        If the key column holds commune codes.
    """
    codes = normalise_codes(frame[key], IRIS).codes
    not_iris = codes.eq(NOT_IRIS).fillna(False).to_numpy(dtype=bool)
    if not_iris.any():
        log.add(
            f"{int(not_iris.sum())} rows coded {NOT_IRIS!r} in column {key!r} dropped: INSEE's "
            "code for what lies outside any IRIS (e.g. the rest of a commune), not an IRIS"
        )
        frame, codes = frame[~not_iris], codes[~not_iris]
    _refuse_commune_codes(frame[key], key, needed)
    if communes is None:
        return IrisRows(frame)
    inside = iris_of_communes(frame[key], communes)
    if not inside.any():
        log.add(no_row_of_communes(communes))
    left_out = codes[~inside]
    valid = left_out.dropna()
    valid = valid[valid.map(IRIS.matches).astype(bool)]
    areas = {departement(code) for code in wanted_communes(communes)}
    near = sorted({c for c in valid.str[:5] if departement(c) in areas})
    logger.info(
        "%s: %d rows of other communes left out (%d communes of the same départements)",
        log.prefix, len(left_out), len(near),
    )  # fmt: skip
    return IrisRows(frame[inside], len(left_out), tuple(near))


def _refuse_commune_codes(values: pd.Series, key: Hashable, needed: str) -> None:
    """Raise a CensusError when the key column holds commune codes (a commune-level table)."""
    as_iris = normalise_codes(values, IRIS)
    as_commune = normalise_codes(values, COMMUNE)
    communal = as_iris.invalid & ~as_commune.invalid & ~as_commune.missing
    if not communal.any():
        return
    n = int((~as_iris.missing).sum())
    what = "a commune-level table" if communal.sum() == n else "rows of communes, not of IRIS"
    raise CensusError(
        f"{int(communal.sum())} of {n} values in column {key!r} are commune codes, e.g. "
        f"{examples(values[communal].tolist())} ({what}): ilots needs {needed}"
    )
