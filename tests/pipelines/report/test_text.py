"""Messages: both languages for every key, numbers in each language's conventions."""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import get_args

import pytest

from pipelines.report import LANGUAGES, MESSAGES, Messages, ReportError
from tests.pipelines.report.helpers import MINUS, NBSP
from tiles.errors import WarningCode


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_fields():
    assert LANGUAGES == ("fr", "en")
    for key, texts in MESSAGES.items():
        assert set(texts) == {"fr", "en"}, key
        assert texts["fr"].strip() and texts["en"].strip(), key
        assert _fields(texts["fr"]) == _fields(texts["en"]), key


def test_every_kind_of_warning_the_run_gives_has_a_heading():
    """Each WarningCode ilots can write in a manifest is named by the report (no code falls
    to "other warnings" for want of words)."""
    kinds = get_args(WarningCode)
    assert "secret_values" in kinds  # the Literal read, not an empty tuple
    for code in kinds:
        assert f"warning_kind_{code}" in MESSAGES, code


def _emitted_codes() -> dict[str, str]:
    """The warning kinds the packages' source gives as literals, each with a file giving it:
    any call's ``code="..."`` (``IlotsWarning``, the census' ``log.add``, the inputs'
    ``_warn``) and ``WarningText(text, "...")``."""
    found = {}
    for package in ("raster", "tiles", "pipelines"):
        for path in (Path(__file__).parents[3] / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                given = [kw.value for kw in node.keywords if kw.arg == "code"]
                if isinstance(node.func, ast.Name) and node.func.id == "WarningText":
                    given += node.args[1:2]
                for value in given:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found[value.value] = path.name
    return found


def test_every_kind_of_warning_the_package_emits_is_a_code_the_report_names():
    """Scan the source, not the Literal: a kind given in code but missing from WarningCode
    (or from the report's table) would reach the report as an unclassified warning."""
    emitted = _emitted_codes()
    assert {"secret_values", "few_clear_lst", "partial_coverage"} <= set(emitted)
    for code, where in emitted.items():
        assert code in get_args(WarningCode), (code, where)
        assert f"warning_kind_{code}" in MESSAGES, (code, where)


def test_unknown_language_is_an_error_naming_the_choices():
    with pytest.raises(ReportError, match=r"'de' is not available; use one of fr, en"):
        Messages("de")


@pytest.mark.parametrize(
    ("lang", "value", "digits", "expected"),
    [
        ("fr", 1.4306977, 2, "1,43"),
        ("fr", -0.9935650, 2, f"{MINUS}0,99"),
        ("fr", 13991.0, 0, f"13{NBSP}991"),
        ("fr", 1234567.891, 1, f"1{NBSP}234{NBSP}567,9"),
        ("en", 1.4306977, 2, "1.43"),
        ("en", -0.9935650, 2, f"{MINUS}0.99"),
        ("en", 13991.0, 0, "13,991"),
        ("fr", -0.001, 2, "0,00"),  # never "−0,00"
        ("fr", None, 2, "—"),
        ("en", float("nan"), 2, "—"),
    ],
)
def test_numbers(lang, value, digits, expected):
    assert Messages(lang).number(value, digits) == expected


def test_signed_percent_share_and_p_values():
    fr, en = Messages("fr"), Messages("en")
    assert fr.number(4.7628, signed=True) == "+4,76"
    assert fr.number(-4.7628, signed=True) == f"{MINUS}4,76"
    assert fr.percent(40.0) == f"40{NBSP}%"
    assert en.percent(91.666, 1) == "91.7%"
    assert fr.share(0.5) == f"50{NBSP}%"
    # Not 0 or 1, but rounding to it: said as such.
    assert fr.share(0.0008) == f"<{NBSP}1{NBSP}%" and en.share(0.0008) == "< 1%"
    assert en.share(0.9996) == "> 99%" and en.share(0.00004, 1) == "< 0.1%"
    assert en.share(0.0) == "0%" and en.share(1.0) == "100%" and en.share(0.005) == "< 1%"
    assert en.share(0.994) == "99%" and en.share(0.9951, 1) == "99.5%"
    assert en.share(0.0051) == "1%" and en.share(0.995) == "> 99%"
    # The same in percent units: hotter than 99.88 % of the others is not 100 %.
    assert en.percent(100.0) == "100%" and en.percent(99.885) == "> 99%"
    assert fr.percent(99.5) == f">{NBSP}99{NBSP}%" and fr.percent(99.42) == f"99{NBSP}%"
    assert en.percent(0.08) == "< 1%" and en.percent(0.0) == "0%" and en.percent(0.5) == "< 1%"
    assert en.percent(99.96, 1) == "> 99.9%" and en.percent(99.94, 1) == "99.9%"
    assert fr.p_value(0.2164) == "0,22"
    assert fr.p_value(0.001) == "0,001"
    assert en.p_value(3.1e-7) == "< 0.001"


def test_confidence_interval_wording():
    assert Messages("fr").ci(-0.99357, 3.9128, 0.95) == f"IC 95{NBSP}% {MINUS}0,99 à 3,91"
    assert Messages("en").ci(-0.99357, 3.9128, 0.9) == f"90% CI {MINUS}0.99 to 3.91"


def test_an_interval_bound_that_is_not_0_never_reads_0():
    # The concentration index of a 4-IRIS run: −0.0836 to −0.0039 excludes 0, as written.
    fr, en = Messages("fr"), Messages("en")
    assert fr.ci(-0.0835742, -0.0039450) == f"IC 95{NBSP}% {MINUS}0,08 à {MINUS}0,004"
    assert en.ci(0.0004, 1.2) == "95% CI 0.0004 to 1.20"
    assert en.ci(0.0, 1.2) == "95% CI 0.00 to 1.20"  # 0 itself keeps the digits asked


def test_a_p_value_is_never_rounded_across_alpha():
    fr, en = Messages("fr"), Messages("en")
    # Below 0.05, as the gap it qualifies is established: not "0,050".
    assert fr.p_clause(0.0496) == "p = 0,0496" and en.p_clause(0.04996) == "p = 0.04996"
    assert fr.p_clause(0.0504) == "p = 0,050"  # at or above 0.05, as it reads
    assert en.p_clause(0.05) == "p = 0.050"
    assert en.p_clause(0.0996, alpha=0.1) == "p = 0.0996"  # not "0.100" at α = 0.1
    assert en.p_clause(0.0996) == "p = 0.100"


def test_french_typography_adds_non_breaking_spaces():
    text = Messages("fr")("meta_run", date="2026-01-01", config="demo", version="1.0")
    assert f"«{NBSP}demo{NBSP}»" in text
    text = Messages("fr")("not_computed", what="x")
    assert f"traitement{NBSP}: x." in text
    assert NBSP not in Messages("en")("not_computed", what="x")


def test_french_binds_numbers_to_their_units():
    fr = Messages("fr")
    text = fr("method_units")
    assert (
        f"(306,15{NBSP}K = 33{NBSP}°C){NBSP}; un écart de 1{NBSP}K est un écart de 1{NBSP}°C."
        in text
    )
    grid = fr("about_grid", crs="EPSG:2154", resolution="30", width="10", height="20")
    assert f"pixels de 30{NBSP}m," in grid
    text = fr("suhii_scenes", low="2,96", high="3,41", n="2", mean="3,19")
    assert f"de 2,96 à 3,41{NBSP}K (2 scènes{NBSP}; moyenne 3,19{NBSP}K)." in text
    # Not a unit: a count of IRIS, a word starting with a unit's letter.
    text = fr("qpv_few_zones", n_in="4")
    assert "4 IRIS" in text and NBSP + "IRIS" not in text
    assert NBSP not in Messages("en")("method_units")


def test_french_contracts_a_label_after_de():
    fr = Messages("fr")
    assert fr("qpv_gap_basis", label=fr.label("ndvi_mean")).startswith("Écart du NDVI,")
    assert fr("qpv_gap_basis", label=fr.label("lst_p90_k")).startswith(
        "Écart du 90e centile de température de surface,"
    )
    assert fr("qpv_gap_basis", label=fr.label("lst_anomaly_mean_k")).startswith(
        "Écart de l'anomalie"
    )


def test_p_at_the_floor_of_its_permutations():
    fr, en = Messages("fr"), Messages("en")
    assert fr.p_clause(0.001, 999) == "p ≤ 0,001" and en.p_clause(0.001, 999) == "p ≤ 0.001"
    assert fr.p_clause(0.0001, 9999) == "p ≤ 0,0001"
    assert en.p_clause(1 / 100, 99) == "p ≤ 0.01"
    assert en.p_clause(1 / 1235, 1234) == "p ≤ 0.0009"  # 0.00081, rounded up
    assert fr.p_clause(0.002, 999) == "p = 0,002"  # above the floor: as it is
    assert fr.p_clause(0.001) == "p = 0,001"  # no count: the value as given
    assert en.p_clause(2e-7, 0) == "p < 0.001"  # no permutation (normal approximation)


def test_significant_digits():
    fr, en = Messages("fr"), Messages("en")
    assert fr.significant(-0.000678) == f"{MINUS}0,000678"
    assert en.significant(-0.0003617) == f"{MINUS}0.000362"
    assert en.significant(12.345) == "12.3"
    assert en.significant(1234.5) == "1,234"
    assert en.significant(0.0) == "0.00"


def test_heat_island_definitions_in_french():
    fr, en = Messages("fr"), Messages("en")
    text = (
        "rural ring 2000-10000 m from the urban footprint (land-cover classes [4, 9] "
        "(built, quarry)); water pixels excluded; elevation within ±25.5 m of 1234.25 m"
    )
    assert fr.definition(text) == (
        f"anneau rural de 2{NBSP}000 à 10{NBSP}000 m autour de l'emprise urbaine "
        f"(classes d'occupation du sol [4, 9] (bâti, quarry)){NBSP}; pixels d'eau exclus"
        f"{NBSP}; altitude à ±25,5 m de 1{NBSP}234,25 m"
    )
    assert en.definition(text) == text
    assert fr.definition("land-cover classes [2, 3] (dense_vegetation, low_vegetation)") == (
        "classes d'occupation du sol [2, 3] (végétation dense, végétation basse)"
    )


def test_a_reference_whose_built_pixels_hold_bare_soil_says_so_in_french():
    """A land cover without NDBI: the rural reference's built pixels are built and bare soil
    (pipelines.run_layers.BUILT_WITH_BARE_SOIL), said in French too."""
    text = (
        "rural ring 1000-6000 m from the urban footprint; built pixels excluded (built and "
        "bare soil, not separated without NDBI)"
    )
    assert Messages("fr").definition(text) == (
        f"anneau rural de 1{NBSP}000 à 6{NBSP}000 m autour de l'emprise urbaine{NBSP}; pixels "
        "bâtis exclus (bâti et sol nu, non séparés sans NDBI)"
    )


@pytest.mark.parametrize(
    ("lang", "count", "singular"),
    [("fr", 0, True), ("fr", 1, True), ("fr", 1.0, True), ("fr", 2, False), ("fr", 13991, False),
     ("en", 0, False), ("en", 1, True), ("en", 2, False), ("fr", None, False)],
)  # fmt: skip
def test_french_says_0_and_1_in_the_singular_english_1_only(lang, count, singular):
    m = Messages(lang)
    assert m.singular(count) is singular
    assert m.by_count("quality_below", count) == (
        "quality_below_one" if singular else "quality_below"
    )


@pytest.mark.parametrize(
    ("lang", "count", "one"),
    [("fr", 0, False), ("fr", 1, True), ("fr", 1.0, True), ("fr", 2, False), ("en", 0, False),
     ("en", 1, True), ("en", 2, False), ("fr", None, False)],
)  # fmt: skip
def test_a_message_that_does_not_write_its_count_is_said_of_one_for_1_only(lang, count, one):
    m = Messages(lang)
    assert m.one_or_many("sec_hottest", count) == ("sec_hottest_one" if one else "sec_hottest")


def test_french_never_says_the_one_thing_of_0():
    """By :meth:`by_count`, French 0 read "L'IRIS le plus chaud selon la LST." (of no IRIS)."""
    fr, en = Messages("fr"), Messages("en")
    caption = fr(fr.one_or_many("hottest_table_caption", 0), n=fr.integer(0), label="la LST")
    assert caption == "Les 0 IRIS les plus chauds selon la LST, du plus chaud au moins chaud."
    caption = en(en.one_or_many("hottest_table_caption", 0), n=en.integer(0), label="the LST")
    assert caption == "The 0 hottest IRIS by the LST, hottest first."


def test_an_interval_end_or_a_value_under_a_millionth_never_reads_0():
    """Under 1e-6 the widened decimals stop at 6 and read 0,000000: such a number is written
    in scientific form, with its sign (which side of 0 an interval's end lies on)."""
    fr, en = Messages("fr"), Messages("en")
    times = f"{NBSP}×{NBSP}10"
    assert fr.ci(-0.0042, 4.2e-7) == f"IC 95{NBSP}% {MINUS}0,004 à 4{times}⁻⁷"
    assert fr.ci(-3.3e-12, 0.5) == f"IC 95{NBSP}% {MINUS}3{times}⁻¹² à 0,50"
    assert en.ci(-6.1e-7, -2.04e-9, 0.9) == f"90% CI {MINUS}6{times}⁻⁷ to {MINUS}2{times}⁻⁹"
    assert fr.significant(4.217e-7) == f"4,22{times}⁻⁷"
    assert en.significant(-9.96e-7) == f"{MINUS}9.96{times}⁻⁷"
    # From a millionth up, decimals as before; 0 itself keeps the digits asked.
    assert fr.ci(1e-6, 0.5) == f"IC 95{NBSP}% 0,000001 à 0,50"
    assert fr.significant(0.000678) == "0,000678" and fr.significant(0.0) == "0,00"
    # Figures that 6 decimals would cut (1.5e-6 read 0,000002: one figure of three).
    assert fr.significant(1.5e-6) == f"1,50{times}⁻⁶"
    assert en.significant(-4.56e-5) == f"{MINUS}4.56{times}⁻⁵"
