"""Messages and numbers in the report's language.

:class:`Messages` looks a key up in :data:`~pipelines.report.messages.MESSAGES`, fills its
fields and applies the language's typography; its methods format numbers the way the language
writes them: French ``−1,43`` and ``13 991``, English ``−1.43`` and ``13,991`` (both with the
true minus sign U+2212). A missing value (``None``, NaN) is written as a dash.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pipelines.inequality.report import is_temperature
from pipelines.inequality.spatial import ALPHA
from pipelines.report.errors import ReportError
from pipelines.report.messages import LANGUAGES, MESSAGES

__all__ = [
    "BESIDE_CELSIUS_DIGITS",
    "MINUS",
    "NBSP",
    "Messages",
    "is_number",
    "is_temperature",
    "permutation_floor",
]

#: Non-breaking space (French typography, thousands separator).
NBSP = "\u00a0"
#: The minus sign written before negative numbers.
MINUS = "\u2212"
_DASH = "—"
#: 0 °C in kelvin.
_KELVIN_AT_0C = 273.15
#: Decimals of a temperature written in K beside its °C, and of the differences said with
#: it (:meth:`Messages.temperature`).
BESIDE_CELSIUS_DIGITS = 1
# French: a non-breaking space before ; : % ? ! and », after «.
_FR_BEFORE = re.compile(r" ([;:%?!»])")
_FR_AFTER = re.compile(r"« ")
# French: "de le NDVI" is "du NDVI", "à les IRIS" "aux IRIS" (a label after a preposition).
_FR_CONTRACTIONS = tuple(
    (re.compile(rf"\b{before}\b"), after)
    for before, after in (("de le", "du"), ("de les", "des"), ("à le", "au"), ("à les", "aux"))
)
# French: a non-breaking space between a number and its unit ("1,53 K", "33 °C", "1 500 m").
_FR_UNIT = re.compile(r"(?<=\d) (?=(?:K/ha|K|°C|km²|km|m²|m|ha|€)(?!\w))")


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not ``None``, NaN, a bool or text)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def permutation_floor(permutations: Any) -> float | None:
    """Smallest p-value ``permutations`` random permutations give, 1/(permutations + 1).

    ``None`` without a positive count (no permutation test).
    """
    if not is_number(permutations) or float(permutations) < 1:
        return None
    return 1.0 / (float(permutations) + 1.0)


#: The fragments of the run's heat-island definitions (``heat_island.json``) in French;
#: ``{0}``, ``{1}``: the fragment's groups, numbers and class names said in French.
_DEFINITIONS_FR = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"union of (\d+) zone polygons, pixel centres inside",
         "union de {0} polygones de zones, pixels dont le centre y est"),
        (r"union of (\d+) zone polygons, all touched pixels",
         "union de {0} polygones de zones, tous les pixels touchés"),
        (r"land-cover classes \[([^\]]*)\] \(([^)]*)\)", "classes d'occupation du sol [{0}] ({1})"),
        (r" inside the ", " à l'intérieur de l'"),
        (r"\(as given\)", "(telle que donnée)"),
        (r"rural ring ([\d.]+)-([\d.]+) m from the urban footprint",
         "anneau rural de {0} à {1} m autour de l'emprise urbaine"),
        (r"water pixels excluded", "pixels d'eau exclus"),
        (r"built pixels excluded", "pixels bâtis exclus"),
        (r"built and bare soil, not separated without NDBI",
         "bâti et sol nu, non séparés sans NDBI"),
        (r"elevation within ±([\d.]+) m of the urban elevation",
         "altitude à ±{0} m de celle de la ville"),
        (r"elevation within ±([\d.]+) m of ([\d.]+) m", "altitude à ±{0} m de {1} m"),
        (r"; ", NBSP + "; "),
    )
)  # fmt: skip
#: The fragments of the description of the area of interest (``manifest.json``'s ``area``,
#: :func:`pipelines.config.area_of_interest`) in French, as :data:`_DEFINITIONS_FR`.
_AREAS_FR = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^bbox ", "rectangle "),
        (r"^(\d+) features of ", "{0} entités de "),
        (r"^(\d+) (\S+) features of commune\(s\) ", "{0} entités {1} des communes "),
        (r"^(\d+) (\S+) features of (\d+) commune(s?)", "{0} entités {1} de {2} commune{3}"),
        (r"^(\d+) (\S+) features", "{0} entités {1}"),
        (r" and (\d+) more", " et {0} autres"),
        (r", grown by ([\d.]+) m$", ", élargie de {0} m"),
    )
)  # fmt: skip
#: The land-cover classes (:mod:`raster.landcover`) in French; other names are kept.
_CLASSES_FR = {
    "water": "eau",
    "dense_vegetation": "végétation dense",
    "low_vegetation": "végétation basse",
    "built": "bâti",
    "bare_soil": "sol nu",
}
_PLAIN_NUMBER = re.compile(r"\d+(?:\.(\d+))?")
#: Most decimals a number is widened to so that it does not read 0 (:meth:`Messages.ci`,
#: :meth:`Messages.significant`); one that needs more (an interval end under
#: ``10**-MAX_DECIMALS``, significant figures beyond it) is written in scientific form.
MAX_DECIMALS = 6
#: The exponent of a power of ten in superscript (``10⁻⁷``).
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Messages:
    """The report's messages and number formats in one language.

    Parameters
    ----------
    lang
        ``"fr"`` or ``"en"``.

    Raises
    ------
    ReportError
        The language is not one of :data:`~pipelines.report.messages.LANGUAGES`.
    """

    lang: str = "fr"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ReportError(
                f"report language {self.lang!r} is not available; use one of {', '.join(LANGUAGES)}"
            )

    def __call__(self, key: str, **fields: Any) -> str:
        """Return message ``key`` with its ``{fields}`` filled, in this language."""
        text = MESSAGES[key][self.lang].format(**fields)
        if self.lang == "fr":
            text = _FR_AFTER.sub("«" + NBSP, _FR_BEFORE.sub(NBSP + r"\1", text))
            text = _FR_UNIT.sub(NBSP, text)
            for pattern, contracted in _FR_CONTRACTIONS:
                text = pattern.sub(contracted, text)
        return text

    def definition(self, text: str) -> str:
        """Return a heat-island definition the run wrote in English, in this language.

        The run writes them from fixed fragments (:mod:`raster.heat_island`: the zone union,
        land-cover classes, the rural ring, exclusions, elevation); any other text is kept.
        """
        return self._translated(text, _DEFINITIONS_FR)

    def area(self, text: str) -> str:
        """Return the description of the area of interest the run wrote, in this language.

        The run writes it from fixed fragments (:func:`pipelines.config.area_of_interest`: a
        bounding box, a polygon file's features, a zone layer's features of some communes,
        the buffer); any other text is kept.
        """
        return self._translated(text, _AREAS_FR)

    def _translated(self, text: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
        """Replace the English fragments of ``table`` in ``text`` by their French (in French)."""
        if self.lang != "fr":
            return text
        for pattern, french in table:
            text = pattern.sub(
                lambda match, french=french: french.format(*map(self._french, match.groups())),
                text,
            )
        return text

    def _french(self, fragment: str) -> str:
        """Say a number (``2500.5`` → ``2 500,5``) or a list of class names in French."""
        number = _PLAIN_NUMBER.fullmatch(fragment)
        if number:
            return self.number(float(fragment), len(number.group(1) or ""))
        return ", ".join(_CLASSES_FR.get(name, name) for name in fragment.split(", "))

    def label(self, column: str, kind: str = "var") -> str:
        """Label of a zone-table column: ``kind`` ``"var"`` (in a sentence) or ``"axis"``."""
        key = f"{kind}_{column}"
        return self(key) if key in MESSAGES else column

    def singular(self, count: Any) -> bool:
        """Whether ``count`` things are said in the singular: French 0 and 1, English 1 only."""
        if not is_number(count):
            return False
        return abs(float(count)) < 2 if self.lang == "fr" else abs(float(count)) == 1

    def by_count(self, key: str, count: Any) -> str:
        """Key of message ``key`` said of ``count`` things: ``{key}_one`` in the singular.

        :meth:`singular` decides (``1 IRIS est``, ``0 IRIS a`` in French; ``0 IRIS are``
        in English), so a ``_one`` message French can say of 0 writes its count; one that
        does not ("L'IRIS le plus chaud") is picked with :meth:`one_or_many`.
        """
        return f"{key}_one" if self.singular(count) else key

    def one_or_many(self, key: str, count: Any) -> str:
        """Key of message ``key`` said of ``count`` things: ``{key}_one`` for exactly one.

        For a ``_one`` message that does not write its count but speaks of the one thing
        ("L'IRIS le plus chaud", "sa surface"): in either language only 1 picks it, so 0
        reads as the plural ("Les 0 IRIS les plus chauds"), never as the one thing.
        """
        return f"{key}_one" if is_number(count) and abs(float(count)) == 1 else key

    def setting(self, key: str) -> str | None:
        """Label of the config setting ``key`` (dotted, ``mask.cdist_min_km``); None if unknown."""
        found = f"setting_{key}"
        return self(found) if found in MESSAGES else None

    def number(self, value: Any, digits: int = 2, *, signed: bool = False) -> str:
        """Format a number with ``digits`` decimals; ``signed`` writes ``+`` before positives."""
        if not is_number(value):
            return _DASH
        number = round(float(value), digits)
        if number == 0:
            number = 0.0  # never "−0,00"
        text = f"{abs(number):,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", NBSP).replace(".", ",")
        sign = MINUS if number < 0 else ("+" if signed and number > 0 else "")
        return sign + text

    def temperature(self, kelvin: Any) -> str:
        """Write an absolute temperature in K and in °C: ``306,7 K, soit 33,5 °C``.

        The report's rule for temperatures: a temperature said in K beside its °C has
        :data:`BESIDE_CELSIUS_DIGITS` (one) decimal in both units, each rounded from the
        value (the LST is known to about 1 K, so a hundredth of a kelvin means nothing to
        a reader), and a difference said in the same sentence (the SUHII beside the urban
        and rural means) has one decimal too. Each is rounded from its own value, so the
        rounded means may differ by 0.1 K more or less than the rounded SUHII (and the SUHII
        of the ΔT composite is not the gap of the LST composite's means). Tables, and
        sentences that give no °C, keep two decimals for absolute temperatures and their
        differences, the precision of the run's outputs: a column can then be checked by
        subtraction (urban − rural = SUHII), and small differences (a scenario's ΔLST of a
        few hundredths of a kelvin) stay visible; the city-wide ΔLST of a scenario has
        three. A difference is never converted: 1 K of difference is 1 °C.
        """
        if not is_number(kelvin):
            return _DASH
        digits = BESIDE_CELSIUS_DIGITS
        return self(
            "temperature_celsius",
            kelvin=self.number(kelvin, digits),
            celsius=self.number(float(kelvin) - _KELVIN_AT_0C, digits),
        )

    def significant(self, value: Any, figures: int = 3) -> str:
        """Format a number with ``figures`` significant digits (at most 6 decimals).

        A number whose figures need more than 6 decimals (but not 0) is written in scientific
        form (:meth:`scientific`: ``4,21 × 10⁻⁷``, ``1,50 × 10⁻⁶``), never ``0,000000`` nor
        ``0,000002`` (one figure of three).
        """
        if not is_number(value) or float(value) == 0:
            return self.number(value, figures - 1)
        digits = figures - 1 - math.floor(math.log10(abs(float(value))))
        if digits > MAX_DECIMALS:
            return self.scientific(value, figures)
        return self.number(value, max(0, digits))

    def scientific(self, value: Any, figures: int = 1) -> str:
        """Write a number with ``figures`` significant digits times a power of ten.

        ``−4,2 × 10⁻⁷`` (English ``−4.2 × 10⁻⁷``): the form a number too small for
        :data:`MAX_DECIMALS` decimals takes, its sign kept (an interval's end below 1e-6
        still tells which side of 0 it lies on, which ``< 0,000001`` would not).
        """
        if not is_number(value) or float(value) == 0:
            return self.number(value, figures - 1)
        mantissa, exponent = f"{float(value):.{figures - 1}e}".split("e")
        power = str(int(exponent)).translate(_SUPERSCRIPT)
        return f"{self.number(float(mantissa), figures - 1)}{NBSP}×{NBSP}10{power}"

    def integer(self, value: Any) -> str:
        """Format a count with thousands separators."""
        return self.number(value, 0)

    def percent(self, value: Any, digits: int = 0) -> str:
        """Format a percentage given in percent units (``40.0`` → ``40 %`` / ``40%``).

        A percentage that is not 0 (or not 100) but rounds to it reads ``< 1 %``
        (``> 99 %``), not ``0 %`` (``100 %``): 0.08 % of pixels extrapolated is not none, and
        an IRIS hotter than 99.88 % of the others is not hotter than all of them.
        """
        if not is_number(value):
            return _DASH
        percent, step = float(value), 10.0**-digits
        space = NBSP if self.lang == "fr" else " "
        if 0 < percent and round(percent, digits) == 0:
            return f"<{space}{self.percent(step, digits)}"
        if percent < 100 and round(percent, digits) == 100:
            return f">{space}{self.percent(100 - step, digits)}"
        return f"{self.number(percent, digits)}{NBSP if self.lang == 'fr' else ''}%"

    def share(self, value: Any, digits: int = 0) -> str:
        """Format a share given in [0, 1] as a percentage (:meth:`percent`: ``> 99 %``)."""
        if not is_number(value):
            return _DASH
        return self.percent(100.0 * float(value), digits)

    def ci(self, low: Any, high: Any, confidence: Any = 0.95, digits: int = 2) -> str:
        """Format a confidence interval (``IC 95 % a à b`` / ``95% CI a to b``).

        An infinite bound (an unbounded side) reads ``−∞`` / ``+∞``; a missing one a dash.
        """
        level = 100.0 * float(confidence) if is_number(confidence) else 95.0
        level_text = self.number(level, 0 if level == round(level) else 1)
        return self(
            "ci",
            level=level_text,
            low=self._bound(low, digits),
            high=self._bound(high, digits),
        )

    def _bound(self, value: Any, digits: int) -> str:
        """Format an interval bound: ``−∞`` / ``+∞`` when infinite, else :meth:`number`.

        A bound that is not 0 never reads 0: it gets the decimals (up to 6) of its first
        significant digit (−0.0039 → ``−0,004``, not ``0,00``), or below a millionth that
        digit in scientific form (−4.2e-7 → ``−4 × 10⁻⁷``, not ``0,000000``), so the side of
        0 it lies on, whether the interval holds 0, can be read.
        """
        if isinstance(value, float) and math.isinf(value):
            return self("ci_minus_infinity" if value < 0 else "ci_plus_infinity")
        if is_number(value) and float(value) != 0 and round(float(value), digits) == 0:
            if abs(float(value)) < 10.0**-MAX_DECIMALS:
                return self.scientific(value)
            digits = min(MAX_DECIMALS, -math.floor(math.log10(abs(float(value)))))
        return self.number(value, digits)

    def p_value(self, value: Any, alpha: float = ALPHA) -> str:
        """Format a p-value: two decimals from 0.1, three below, ``< 0,001`` under a thousandth.

        A p-value is never rounded across ``alpha``, the level it is compared with: one below
        it gets the decimals (up to 6) that keep it below (0.0496 → ``0,0496``, not
        ``0,050``); one at or above it never reads below it.
        """
        if not is_number(value):
            return _DASH
        p = float(value)
        if p < 0.001:
            return "< " + self.number(0.001, 3)
        digits = 3 if p < 0.1 else 2
        while digits < 6 and (round(p, digits) < alpha) != (p < alpha):
            digits += 1
        return self.number(p, digits)

    def p_clause(self, value: Any, permutations: Any = None, alpha: float = ALPHA) -> str:
        """``p = 0,012``, or ``p < 0,001`` under a thousandth (:meth:`p_value`).

        With the ``permutations`` a permutation p-value was drawn from, a p-value at the
        smallest they allow, 1/(permutations + 1), reads ``p ≤ 0,001`` (999 permutations):
        the test cannot tell how much smaller the true p-value is.
        """
        floor = permutation_floor(permutations)
        if floor is not None and is_number(value) and float(value) <= floor * (1 + 1e-9):
            return f"p ≤ {self._round_up(floor)}"
        text = self.p_value(value, alpha)
        return f"p {text}" if text.startswith("<") else f"p = {text}"

    def _round_up(self, value: float) -> str:
        """Write a positive ``value`` with one significant digit, rounded up (0.00081 → 0,0009)."""
        digits = max(0, -math.floor(math.log10(value)))
        return self.number(math.ceil(value * 10**digits - 1e-9) / 10**digits, digits)

    def yes_no(self, value: Any) -> str:
        """``oui``/``non`` (``yes``/``no``) for a truth value; a dash when missing."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return _DASH
        return self("yes") if bool(value) else self("no")
