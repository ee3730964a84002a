"""Geographic codes as text: IRIS (9 characters), commune (5), QPV (2015 and 2024 formats).

Codes are identifiers, not numbers. A spreadsheet or a CSV read without ``dtype=str`` turns
``010020101`` (an IRIS of Ain) into the number 10020101 and loses the leading zero; Corsica's
``2A004`` cannot be a number at all (science.md §8.1). :func:`normalise_codes` turns any
such column back into upper-case text of the right width and says how many values it had to
restore, so the reader can warn.

Formats (full match after normalisation):

=============  =====  =================================  ===================================
code           width  pattern                            example
=============  =====  =================================  ===================================
IRIS           9      5-char commune + 4 digits          ``751010101``, ``2A0040101``
commune        5      2-digit dept (or 2A/2B) + 3        ``75101``, ``2B033``, ``97411``
département    2      2 digits, 2A/2B, or 97 + 1 digit   ``01``, ``2A``, ``974``
région         2      2 digits                           ``84``, ``01``
QPV 2015       8      ``QP`` + 3-char dept + 3 digits    ``QP093028``
QPV 2024       8      ``QN`` + 3-char dept + 2 + letter  ``QN04901M``
=============  =====  =================================  ===================================

Only all-digit codes shorter than the width are zero-padded (IRIS, commune, département,
région); QPV codes are never padded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COMMUNE",
    "DEPARTEMENT",
    "IRIS",
    "IRIS_NUMBER",
    "MUNICIPAL_ARRONDISSEMENTS",
    "QPV",
    "QPV_2015",
    "QPV_2024",
    "REGION",
    "CodeFormat",
    "NormalisedCodes",
    "commune_codes",
    "departement",
    "iris_of_communes",
    "no_row_of_communes",
    "normalise_codes",
    "wanted_communes",
]

_INTEGRAL_TEXT = re.compile(r"(\d+)\.0*")

#: Paris, Marseille and Lyon are divided into municipal arrondissements, whose codes the IRIS
#: (IGN CONTOURS-IRIS, INSEE tables) carry instead of the commune's: Paris 75056 is
#: 75101-75120, Marseille 13055 is 13201-13216, Lyon 69123 is 69381-69389.
MUNICIPAL_ARRONDISSEMENTS: dict[str, tuple[str, ...]] = {
    "75056": tuple(f"751{k:02d}" for k in range(1, 21)),
    "13055": tuple(f"132{k:02d}" for k in range(1, 17)),
    "69123": tuple(f"6938{k}" for k in range(1, 10)),
}


def iris_of_communes(values: pd.Series, communes: str | int | Collection[str | int]) -> np.ndarray:
    """Mask of the IRIS codes (normalised, :func:`normalise_codes`) of ``communes``.

    An IRIS code starts with its commune's (or arrondissement's) 5 characters; missing and
    malformed codes are outside, so that a table read for one city is checked on its rows.
    ``communes``: one code or several, as text or numbers (``31555``, ``1002`` for
    ``01002``); Paris, Marseille and Lyon take their arrondissements (:func:`commune_codes`).
    """
    accepted = wanted_communes(communes)
    codes = normalise_codes(values, IRIS).codes
    return codes.str[:5].isin(accepted).fillna(False).to_numpy(dtype=bool)


def wanted_communes(communes: str | int | Collection[str | int]) -> frozenset[str]:
    """Return the commune codes ``communes`` names, normalised, with their arrondissements.

    One code or several, as text or numbers (``1002`` is ``01002``); Paris, Marseille and
    Lyon add their arrondissements (:func:`commune_codes`).
    """
    wanted = [communes] if isinstance(communes, str | int) else list(communes)
    normalised = normalise_codes(pd.Series([str(c) for c in wanted], dtype="string"), COMMUNE)
    return frozenset().union(*(commune_codes(str(c)) for c in normalised.codes.dropna()))


def departement(commune: str) -> str:
    """Return the département of a commune code: its 3 first characters overseas, else 2.

    >>> departement("74010"), departement("2A004"), departement("97411")
    ('74', '2A', '974')
    """
    return commune[:3] if commune.startswith("97") else commune[:2]


def no_row_of_communes(communes: str | int | Collection[str | int]) -> str:
    """Say that a table has no row of ``communes`` (for a reader's warnings)."""
    wanted = [communes] if isinstance(communes, str | int) else list(communes)
    return (
        f"no row of commune(s) {', '.join(map(str, wanted))}: check the codes (INSEE commune "
        "codes, 5 characters) and that the table covers them (its year's IRIS)"
    )


def commune_codes(code: str) -> frozenset[str]:
    """Return the codes under which IGN and INSEE file a commune's IRIS.

    Its own code, and for Paris (75056), Marseille (13055) and Lyon (69123) those of their
    arrondissements (:data:`MUNICIPAL_ARRONDISSEMENTS`).
    """
    return frozenset((code, *MUNICIPAL_ARRONDISSEMENTS.get(code, ())))


@dataclass(frozen=True)
class CodeFormat:
    """How a kind of geographic code is written.

    Parameters
    ----------
    name
        What the code is, for messages (``"IRIS code"``).
    pattern
        Regular expression a normalised code must match in full.
    width
        Width to zero-pad all-digit codes to (None: never pad).
    example
        Example codes, for messages.

    Raises
    ------
    ValueError
        If ``width`` is not positive.
    """

    name: str
    pattern: str
    width: int | None = None
    example: str = ""

    def __post_init__(self) -> None:
        if self.width is not None and self.width < 1:
            raise ValueError(f"width must be >= 1 or None, got {self.width}")
        re.compile(self.pattern)

    def matches(self, code: str) -> bool:
        """Whether ``code`` (already normalised) is written in this format."""
        return re.fullmatch(self.pattern, code) is not None


#: The 4-digit number of an IRIS inside its commune (IGN ``IRIS``, IRIS-GE ``iris``).
IRIS_NUMBER = CodeFormat("IRIS number", r"\d{4}", width=4, example="0101")
IRIS = CodeFormat(
    "IRIS code", r"(?:(?!00)\d{5}|2[AB]\d{3})\d{4}", width=9, example="751010101 or 2A0040101"
)
COMMUNE = CodeFormat("commune code", r"(?!00)\d{5}|2[AB]\d{3}", width=5, example="75101 or 2A004")
DEPARTEMENT = CodeFormat(
    "département code", r"(?!00)\d{2}|2[AB]|97[1-8]", width=2, example="01, 2A or 974"
)
REGION = CodeFormat("région code", r"\d{2}", width=2, example="84 or 01")
QPV_2015 = CodeFormat("2015 QPV code", r"QP\d{2}[0-9AB]\d{3}", example="QP093028")
QPV_2024 = CodeFormat("2024 QPV code", r"QN\d{2}[0-9AB]\d{2}[A-Z]", example="QN04901M")
QPV = CodeFormat(
    "QPV code", f"{QPV_2015.pattern}|{QPV_2024.pattern}", example="QP093028 or QN04901M"
)


@dataclass(frozen=True, eq=False)
class NormalisedCodes:
    """The result of :func:`normalise_codes`.

    Parameters
    ----------
    codes
        The codes as upper-case text (None where missing), same index as the input.
    numeric
        How many values were stored as numbers (or as ``"123.0"`` text).
    padded
        How many all-digit values were zero-padded to the format's width.
    invalid
        Boolean mask of the non-missing codes that do not match the format.
    missing
        Boolean mask of missing values.
    example_padded
        One ``(before, after)`` pair of a padded code, for messages.
    """

    codes: pd.Series
    numeric: int
    padded: int
    invalid: np.ndarray
    missing: np.ndarray
    example_padded: tuple[str, str] | None = None

    def restored_message(self, column: Any, fmt: CodeFormat) -> str | None:
        """Return a one-line warning when values were numbers or padded, else None."""
        if not (self.numeric or self.padded):
            return None
        text = f"{self.numeric} values in column {column!r} were stored as numbers"
        if self.padded:
            before, after = self.example_padded or ("", "")
            text += (
                f"; leading zeros restored on {self.padded} {fmt.name}s "
                f"(e.g. {before} -> {after!r})"
            )
        return text + f"; {fmt.name}s are text: read them with dtype=str"


def normalise_codes(values: pd.Series, fmt: CodeFormat) -> NormalisedCodes:
    """Turn a column of codes into upper-case text of the format's width.

    Parameters
    ----------
    values
        Codes as text, integers, integral floats, or a mix (as a spreadsheet gives them).
        Never modified.
    fmt
        The expected format.

    Returns
    -------
    NormalisedCodes
        The codes, the counts of restored values, and masks of invalid and missing codes
        (the caller decides whether they are an error).
    """
    n = len(values)
    out = np.empty(n, dtype=object)
    numeric = padded = 0
    example: tuple[str, str] | None = None
    for i, value in enumerate(values.tolist()):
        text, was_number = _as_text(value)
        numeric += was_number
        if (
            text is not None
            and fmt.width is not None
            and text.isdigit()
            and 0 < len(text) < fmt.width
        ):
            padded += 1
            if example is None:
                example = (text, text.zfill(fmt.width))
            text = text.zfill(fmt.width)
        out[i] = text
    missing = np.array([v is None for v in out], dtype=bool)
    invalid = np.array([v is not None and not fmt.matches(v) for v in out], dtype=bool).reshape(n)
    codes = pd.Series(list(out), index=values.index, name=values.name)
    if missing.all():
        codes = codes.astype(object)
    return NormalisedCodes(
        codes=codes,
        numeric=numeric,
        padded=padded,
        invalid=invalid,
        missing=missing,
        example_padded=example,
    )


def _as_text(value: Any) -> tuple[str | None, bool]:
    """Return ``(text, was_number)`` for one cell; None for a missing value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, False
    if isinstance(value, bool | np.bool_):
        return str(value).upper(), False  # never a valid code: reported as invalid
    if isinstance(value, int | np.integer):
        return str(int(value)), True
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None, False
        if float(value).is_integer():
            return str(int(value)), True
        return repr(float(value)), True
    text = str(value).strip().upper()
    if not text:
        return None, False
    match = _INTEGRAL_TEXT.fullmatch(text)
    if match:
        return match.group(1), True
    return text, False
