"""Field-name variants of the IGN, ANCT and INSEE files, matched case-insensitively.

The same field is spelt differently across producers and millésimes: IGN Contours IRIS has
``CODE_IRIS`` (``code_iris`` in newer lower-case editions), the older IRIS-GE has ``DCOMIRIS``,
INSEE tables key IRIS by ``IRIS``; ANCT QPV files use ``lib_qp`` where the hackaviz export uses
``nom_qp`` (science.md §8.1, §8.2). Each normalised column has one tuple of variants below,
in order of preference; :func:`find_column` picks the first present, whatever its case.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

__all__ = [
    "IRIS_CODE",
    "IRIS_COMMUNE",
    "IRIS_COMMUNE_NAME",
    "IRIS_NAME",
    "IRIS_TYPE",
    "QPV_CODE",
    "QPV_COMMUNE",
    "QPV_COMMUNE_NAME",
    "QPV_NAME",
    "describe_columns",
    "find_column",
    "require_column",
]

#: The 9-character IRIS code. ``IRIS`` is the INSEE tables' key; in IGN layers the field
#: ``IRIS`` holds only the 4-digit IRIS number, which the IRIS reader recognises by its
#: length and completes with the commune code (IRIS-GE ``depcom`` + ``iris``).
IRIS_CODE = ("CODE_IRIS", "DCOMIRIS", "IRIS", "CODGEO")
IRIS_NAME = ("NOM_IRIS", "LIB_IRIS", "LIBIRIS")
#: The 5-character commune code of an IRIS (IGN ``INSEE_COM``, IRIS-GE ``DEPCOM``, the IGN
#: 2024 GeoPackage's ``code_insee``).
IRIS_COMMUNE = ("INSEE_COM", "DEPCOM", "CODE_COM", "CODE_COMMUNE", "COM", "CODE_INSEE")
IRIS_COMMUNE_NAME = ("NOM_COM", "LIB_COM", "LIBCOM", "NOM_COMMUNE")
IRIS_TYPE = ("TYP_IRIS", "TYPE_IRIS")

#: The QPV code (``QP093028`` for 2015, ``QN04901M`` for 2024).
QPV_CODE = ("CODE_QP", "CODE_QPV", "QP")
QPV_NAME = ("LIB_QP", "NOM_QP", "LIB_QPV", "NOM_QPV")
#: Commune code of a QPV. ``COMMUNE_QP`` comes last and is used only when its values are
#: commune codes: in the 2015 ANCT and hackaviz files it holds the commune *name*.
QPV_COMMUNE = ("INSEE_COM", "CODE_COMMUNE", "CODE_INSEE", "DEPCOM", "COMMUNE_QP")
QPV_COMMUNE_NAME = ("LIB_COM", "NOM_COMMUNE", "NOM_COM", "COMMUNE_QP")

#: How many column names a message lists before eliding the rest.
_N_COLUMNS = 30


def find_column(
    columns: Iterable[Hashable],
    variants: Sequence[str],
    *,
    error: type[Exception],
    what: str,
    exclude: Iterable[Hashable] = (),
) -> Hashable | None:
    """Return the first column matching one of ``variants`` (case-insensitive), or None.

    Parameters
    ----------
    columns
        The column names of a table.
    variants
        Accepted spellings, in order of preference.
    error
        Exception class raised when a variant matches several columns.
    what
        What the column holds, for the message (e.g. ``"IRIS code"``).
    exclude
        Columns already used for another role, never returned.

    Returns
    -------
    The column name as spelt in the table, or None when no variant is present.

    Raises
    ------
    error
        If one variant matches two columns that differ only in case (``CODE_IRIS`` and
        ``code_iris``): the choice would be arbitrary.
    """
    excluded = set(exclude)
    names = [c for c in columns if c not in excluded]
    for variant in variants:
        hits = [c for c in names if isinstance(c, str) and c.strip().lower() == variant.lower()]
        if len(hits) > 1:
            raise error(
                f"{len(hits)} columns could hold the {what}: {', '.join(map(repr, hits))}; "
                "drop or rename all but one"
            )
        if hits:
            return hits[0]
    return None


def require_column(
    columns: Sequence[Hashable],
    variants: Sequence[str],
    *,
    error: type[Exception],
    what: str,
) -> Hashable:
    """Return the column matching one of ``variants``, or raise ``error`` listing the columns.

    Raises
    ------
    error
        If no variant is present (the message lists the variants accepted and the columns
        found) or one matches several columns.
    """
    found = find_column(columns, variants, error=error, what=what)
    if found is None:
        raise error(
            f"no {what} column: expected one of {', '.join(variants)} (any case); "
            f"columns found: {describe_columns(columns)}; rename the column holding it"
        )
    return found


def describe_columns(columns: Sequence[Hashable]) -> str:
    """List column names, quoted, eliding after 30 (for one-line messages)."""
    names = [str(c) for c in columns]
    listed = ", ".join(repr(c) for c in names[:_N_COLUMNS])
    if len(names) > _N_COLUMNS:
        listed += f", ... ({len(names) - _N_COLUMNS} more)"
    return listed or "(none)"
