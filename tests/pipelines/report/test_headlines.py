"""Headline sentences: sign words, flipped intervals, notes, both languages."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from pipelines.report.headlines import (
    concentration_headline,
    correlation_headline,
    decile_headline,
    hottest_headline,
    method_notes,
    min_direction_zones,
    model_sentences,
    qpv_gap_headline,
    scenario_best_sentence,
    suhii_sentences,
)
from pipelines.report.tables import hottest_zones
from pipelines.report.text import Messages
from tests.pipelines.report.helpers import MINUS, NBSP

FR, EN = Messages("fr"), Messages("en")


def _plain(text: str) -> str:
    return text.replace(NBSP, " ")


def _ineq(value, low, high, outcome="lst_anomaly_mean_k", p=0.0123):
    return {
        "outcome": outcome,
        "group_difference": {
            "value": value,
            "ci_low": low,
            "ci_high": high,
            "p_value": p,
            "n_in": 4,
            "n_out": 58,
            "confidence": 0.95,
        },
    }


def test_a_gap_within_several_communes_says_so():
    """Several communes compared: the sentence compares the QPV with the other IRIS of their
    commune, and a note gives the basis and the (confounded) gap of the overall means."""
    ineq = _ineq(-1.02, -1.4, -0.6)
    ineq["stratum"] = "insee_com"
    ineq["group_difference"].update(n_strata=7, n_strata_compared=5, pooled_difference=0.9123)
    h = qpv_gap_headline(ineq, FR)
    assert _plain(h.text).startswith(
        "Les QPV sont en moyenne 1,02 K moins chauds que les autres IRIS de leur commune ("
    )
    [note] = [_plain(n) for n in h.notes if n.startswith("Écart calculé")]
    assert "(commune)" in note and "dans les 5 qui ont les deux" in note and "+0,91 K" in note
    en = qpv_gap_headline(ineq, EN)
    assert en.text.startswith(
        "QPV are on average 1.02 K cooler than the other IRIS of their commune"
    )
    ineq["stratum"] = "uu2020"
    assert "the other IRIS of their stratum 'uu2020'" in qpv_gap_headline(ineq, EN).text
    # Several communes, the QPV IRIS all in one (an agglomeration's centre): still that
    # commune's gap, not the study area's.
    ineq["group_difference"]["n_strata_compared"] = 1
    assert "than the other IRIS of their stratum" in qpv_gap_headline(ineq, EN).text
    # One stratum (the demo's one commune): the study area, and no such note.
    ineq["group_difference"]["n_strata"] = 1
    one = qpv_gap_headline(ineq, EN)
    assert "than the rest of the study area" in one.text
    assert not any("stratum by stratum" in n for n in one.notes)


def test_qpv_hotter():
    h = qpv_gap_headline(_ineq(1.4306977, 0.512, 3.9128), FR)
    assert _plain(h.text) == (
        "Les QPV sont en moyenne 1,43 K plus chauds que le reste de la zone étudiée "
        "(IC 95 % 0,51 à 3,91 ; n = 4 IRIS en QPV et 58 autres IRIS ; p = 0,012)."
    )
    assert not any("contient 0" in n for n in h.notes)
    assert (
        h.notes[-1]
        == "Seuls 4 IRIS en QPV entrent dans l'écart : cet écart et son intervalle de confiance "
        "reposent sur très peu de zones.".replace(" :", NBSP + ":")
    )
    many = _ineq(1.43, 0.51, 3.91)
    many["group_difference"]["n_in"] = 12
    assert not any("Seuls" in n for n in qpv_gap_headline(many, FR).notes)


def test_qpv_left_out_of_the_gap_are_named_in_a_note():
    """A QPV no IRIS counted in QPV mostly covers is named under the gap, both languages;
    past five, the others are counted."""
    one = pd.DataFrame(
        {"code_qp": ["QP031903"], "nom_qp": ["Quartier C"], "iris_share_max": [0.4835]}
    )
    fr_note = _plain(qpv_gap_headline(_ineq(2.18, 1.0, 3.0), FR, one).notes[-1])
    assert fr_note == (
        "Le QPV QP031903 « Quartier C » (ses IRIS au plus à 48 % en QPV) n'entre pas dans cet "
        "écart : aucun IRIS compté en QPV n'en couvre la majeure partie, et ses IRIS comptent "
        "parmi les autres IRIS. Ses statistiques propres sont dans le tableau des QPV (couche "
        "qpv)."
    )
    assert qpv_gap_headline(_ineq(2.18, 1.0, 3.0), EN, one).notes[-1] == (
        "QPV QP031903 'Quartier C' (its IRIS at most 48% in QPV) is not in this gap: no "
        "IRIS counted in QPV covers most of it, and its IRIS count among the other IRIS. Its "
        "own statistics are in the table of the QPV (qpv layer)."
    )
    seven = pd.DataFrame(
        {"code_qp": [f"QP07500{k}" for k in range(1, 8)], "nom_qp": [None] * 7,
         "iris_share_max": [0.1] * 7}
    )  # fmt: skip
    note = qpv_gap_headline(_ineq(2.18, 1.0, 3.0), EN, seven).notes[-1]
    assert note.startswith("QPV QP075001 (its IRIS at most 10% in QPV), QP075002 (")
    assert "QP075005 (its IRIS at most 10% in QPV) and 2 more are not in this gap" in note
    assert "QP075006" not in note
    assert not any("QP0" in n for n in qpv_gap_headline(_ineq(2.18, 1.0, 3.0), EN).notes)


def test_qpv_cooler_flips_the_interval():
    h = qpv_gap_headline(_ineq(-1.25, -2.5, -0.25), FR)
    assert f"1,25{NBSP}K moins chauds" in h.text
    assert _plain(h.text).count("IC 95 % 0,25 à 2,50") == 1
    h = qpv_gap_headline(_ineq(-1.25, -2.5, -0.25), EN)
    assert "1.25 K cooler than the rest" in h.text
    assert "95% CI 0.25 to 2.50" in h.text


def test_qpv_interval_through_zero_is_said_in_the_sentence():
    """An interval through 0: the sentence says "in these data ... but the gap is not
    established", not "QPV are hotter" with the caveat in a note."""
    h = qpv_gap_headline(_ineq(1.43, -0.99, 3.91), EN)
    assert h.text == (
        "In these data QPV are on average 1.43 K hotter than the rest of the study area, but "
        f"the gap is not established: its confidence interval includes 0 (95% CI {MINUS}0.99 "
        "to 3.91; n = 4 QPV IRIS and 58 other IRIS; p = 0.012)."
    )
    assert not any("includes 0" in n for n in h.notes)  # said once
    assert "n'est pas établi" in qpv_gap_headline(_ineq(1.43, -0.99, 3.91), FR).text
    # Other outcomes keep their generic sentence, with the caveat as a note.
    h = qpv_gap_headline(_ineq(-0.07, -0.1, 0.04, outcome="ndvi_mean"), EN)
    assert h.notes[1] == "Its confidence interval includes 0: these data do not establish the gap."


def test_an_unbounded_interval_is_not_a_gap_established():
    """1 QPV IRIS: too few relabelings, the interval is −∞ to +∞ (null bounds in the JSON).
    The sentence said "QPV are on average 2.18 K hotter (95% CI — to —; ...; p = 0.42)"."""
    ineq = _ineq(2.18, None, None, p=0.42)
    ineq["group_difference"]["ci_unbounded"] = "both"
    h = qpv_gap_headline(ineq, EN)
    assert h.text == (
        "In these data QPV are on average 2.18 K hotter than the rest of the study area, but "
        f"the gap is not established: its confidence interval includes 0 (95% CI {MINUS}∞ "
        "to +∞; n = 4 QPV IRIS and 58 other IRIS; p = 0.42)."
    )
    fr = _plain(qpv_gap_headline(ineq, FR).text)
    assert "l'écart n'est pas établi" in fr and f"(IC 95 % {MINUS}∞ à +∞ ;" in fr
    # A run folder written before ci_unbounded: null bounds beside a p-value are unbounded.
    del ineq["group_difference"]["ci_unbounded"]
    for m in (EN, FR):
        assert "—" not in qpv_gap_headline(ineq, m).text
    # Unbounded on one side: that side holds 0, and a cooler gap flips it to +∞.
    h = qpv_gap_headline(_ineq(-1.25, None, 0.3, p=0.2), EN)
    assert "1.25 K cooler" in h.text and f"includes 0 (95% CI {MINUS}0.30 to +∞;" in h.text


def test_a_p_value_not_below_alpha_is_not_a_gap_established():
    """One rule for the caveat: the test rejects 0 at α = 1 − confidence (interval and
    p-value alike); p = 0.42 beside an interval that excludes 0 is not a gap established."""
    h = qpv_gap_headline(_ineq(2.18, 0.5, 4.0, p=0.42), EN)
    assert "but the gap is not established: its p-value is not below 0.05 (" in h.text
    fr = _plain(qpv_gap_headline(_ineq(2.18, 0.5, 4.0, p=0.42), FR).text)
    assert "l'écart n'est pas établi : sa p-valeur n'est pas inférieure à 0,05" in fr
    # p = α (1 of 20 exact relabelings) is not below it either; a 90% interval tests at 0.1.
    assert "not established" in qpv_gap_headline(_ineq(2.18, 0.5, 4.0, p=1 / 20), EN).text
    ninety = _ineq(2.18, 0.5, 4.0, p=0.07)
    ninety["group_difference"]["confidence"] = 0.9
    assert "not established" not in qpv_gap_headline(ninety, EN).text
    ninety["group_difference"]["p_value"] = 0.1
    assert "is not below 0.1 (90% CI" in qpv_gap_headline(ninety, EN).text
    # Other outcomes: a note.
    h = qpv_gap_headline(_ineq(-0.07, -0.1, -0.04, outcome="ndvi_mean", p=0.42), EN)
    assert "Its p-value is not below 0.05: these data do not establish the gap." in h.notes


def test_an_untested_gap_says_so_in_place_of_its_interval():
    """``inequality.permutations: 0``: no p-value, no interval, no relabeling."""
    untested = _ineq(2.18, None, None, p=None)
    untested["group_difference"]["relabelings"] = 0
    h = qpv_gap_headline(untested, EN)
    assert "hotter than the rest of the study area (not tested: inequality.permutations is 0;" in (
        h.text
    )
    assert "CI" not in h.text and "not established" not in h.text
    assert h.notes[0].endswith("unweighted means of the IRIS (no population), not tested.")
    fr = qpv_gap_headline(untested, FR)
    assert "(non testé : inequality.permutations vaut 0 ;" in _plain(fr.text)
    assert "test de permutation" not in fr.notes[0]


def test_qpv_zero_and_non_temperature():
    h = qpv_gap_headline(_ineq(0.001, -0.5, 0.5), FR)
    assert "ni plus ni moins chauds" in h.text
    h = qpv_gap_headline(_ineq(-0.0712, -0.1, -0.04, outcome="ndvi_mean"), EN)
    assert "chaud" not in h.text and "hotter" not in h.text
    assert f"the NDVI: {MINUS}0.071" in h.text


def test_missing_metrics_give_no_headline():
    assert qpv_gap_headline(None, FR) is None
    assert qpv_gap_headline({"outcome": "x", "group_difference": None}, FR) is None
    assert decile_headline({"outcome": "x"}, FR) is None
    assert hottest_headline(pd.DataFrame(), "lst_mean_k", FR) is None


def test_decile_gap_by_zones_and_population():
    gap = {"value": -0.8, "ci_low": -1.5, "ci_high": -0.1, "n": 62}
    ineq = {"outcome": "lst_mean_k", "exposure_by_decile": {"by": "zones", "gap_d1_d10": gap}}
    text = _plain(decile_headline(ineq, FR).text)
    assert text.startswith(
        "Les 10 % des IRIS au revenu médian le plus bas (D1) sont en moyenne 0,80 K moins "
        "chauds que les 10 % des IRIS au revenu médian le plus élevé (D10)"
    )
    assert "revenu médian (Filosofi), non les ménages" in _plain(decile_headline(ineq, FR).notes[0])
    assert "0,80 K moins chauds" in text and "IC 95 % 0,10 à 1,50" in text
    ineq["exposure_by_decile"]["by"] = "population"
    assert decile_headline(ineq, EN).text.startswith(
        "The 10% of residents of the IRIS with the lowest median income (D1) live in IRIS"
    )


def test_concentration_reading():
    def ineq(v, lo, hi):
        return {
            "outcome": "lst_anomaly_mean_k",
            "generalized_concentration_index": {"value": v, "ci_low": lo, "ci_high": hi, "n": 62},
        }

    assert "lowest incomes" in concentration_headline(ineq(-0.74, -1.0, -0.44), EN).text
    assert "highest incomes" in concentration_headline(ineq(0.5, 0.2, 0.8), EN).text
    assert "No concentration" in concentration_headline(ineq(-0.1, -0.3, 0.1), EN).text
    french = concentration_headline(ineq(-0.74, -1.0, -0.44), FR).text
    # One colon (the value's), the reading a sentence of its own; K bound to its number.
    assert _plain(french) == (
        "Indice de concentration généralisé de l'anomalie de température de surface ΔT selon "
        f"le revenu : {MINUS}0,74 K (IC 95 % {MINUS}1,00 à {MINUS}0,44 ; n = 62). Les valeurs "
        "sont plus élevées dans les IRIS aux revenus les plus modestes."
    )
    assert f"{MINUS}0,74{NBSP}K" in french


def test_the_concentration_index_says_what_it_measures_and_its_scale():
    ineq = {
        "outcome": "lst_mean_k",
        "generalized_concentration_index": {"value": -0.97, "ci_low": -1.2, "ci_high": -0.7},
    }
    (note,) = concentration_headline(ineq, FR).notes
    # A gap linear in the income rank r: h = a + b·r, GC = 2·b·var(r) = b/6; b = 6 × 0.97.
    assert _plain(note) == (
        "Lecture : l'indice vaut 2 × la covariance entre la température de surface et le "
        "rang de revenu (0 : les plus modestes, 1 : les plus aisés) ; 0 : aucune "
        "concentration selon le revenu ; négatif : valeurs plus élevées chez les plus "
        "modestes. Pour un écart qui suivrait ce rang en ligne droite, "
        f"{MINUS}0,97 K correspond à 5,82 K d'écart entre les plus modestes et les plus aisés."
    )
    (note,) = concentration_headline(ineq, EN).notes
    assert "2 × the covariance of" in note and "means 5.82 K between the poorest" in note


def test_correlation_reading():
    def ineq(r, lo, hi, outcome="lst_anomaly_mean_k", n=62):
        pearson = {"value": r, "ci_low": lo, "ci_high": hi, "n": n}
        return {"outcome": outcome, "correlations": {"pearson": pearson}}

    falls = correlation_headline(ineq(-0.5, -0.7, -0.3), EN).text
    assert "tends to fall as income rises; r² = 25%: this share" in falls
    rises = correlation_headline(ineq(0.3, 0.05, 0.5, "ndvi_mean"), EN).text
    assert rises.endswith("The NDVI tends to rise with income; r² = 9%: this share of its "
                          "differences between IRIS goes with income.")  # fmt: skip
    none = correlation_headline(ineq(-0.2, -0.4, 0.05), EN).text
    assert "No linear link is established" in none and "r²" not in none
    no_interval = correlation_headline(ineq(-0.9, None, None, n=3), EN).text  # n <= 3
    assert no_interval.endswith(
        "No linear link is established: 3 IRIS are too few to conclude (with fewer than 5 "
        "IRIS, not even an exact test can establish anything at the 0.05 level)."
    )
    assert "r²" not in no_interval
    french = _plain(correlation_headline(ineq(-0.5, -0.7, -0.3), FR).text)
    assert french == (
        "Corrélation de Pearson entre le revenu médian et l'anomalie de température de surface "
        f"ΔT : r = {MINUS}0,50 (IC 95 % {MINUS}0,70 à {MINUS}0,30 ; n = 62 IRIS, chacun comptant "
        "une fois, sans pondération par la population). L'anomalie de température de surface ΔT "
        "tend à diminuer quand le revenu augmente ; r² = 25 % : cette part de ses écarts entre "
        "IRIS va de pair avec le revenu."
    )


def _exact_p_of_a_perfect_order(n):
    """Two-sided p (doubled one-sided, as the QPV test's) of n zones in perfect income order,
    by enumerating the n! relabellings of the outcome (statistic: Σ rank·outcome)."""
    observed = sum(i * i for i in range(n))
    stats = [sum(i * j for i, j in enumerate(order)) for order in itertools.permutations(range(n))]
    one_sided = sum(t >= observed for t in stats) / math.factorial(n)
    return min(1.0, 2 * one_sided)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_no_direction_below_the_zones_an_exact_test_needs(alpha):
    """The least IRIS for a direction: the first n whose most extreme ordering an exact test
    rejects (4 IRIS: p = 2/24 ≈ 0.083, not below 0.05; 5: 2/120)."""
    least = next(n for n in range(2, 8) if _exact_p_of_a_perfect_order(n) < alpha)
    assert min_direction_zones(alpha) == least
    assert min_direction_zones(0.05) == 5


# The concentration index of a run on 4 IRIS (runs/few's inequality.json, audit 4): its
# bootstrap interval excludes 0, but no exact test over 4 IRIS can reject at 0.05.
FEW_GC = {"value": -0.0684792, "ci_low": -0.0835742, "ci_high": -0.0039450, "n": 4,
          "confidence": 0.95}  # fmt: skip


def test_the_concentration_index_of_four_iris_states_no_direction():
    ineq = {"outcome": "lst_anomaly_mean_k", "generalized_concentration_index": FEW_GC}
    assert concentration_headline(ineq, EN).text == (
        "Generalised concentration index of the land surface temperature anomaly ΔT by income: "
        f"{MINUS}0.07 K (95% CI {MINUS}0.08 to {MINUS}0.004; n = 4). No concentration is "
        "established: 4 IRIS are too few to conclude (with fewer than 5 IRIS, not even an exact "
        "test can establish anything at the 0.05 level)."
    )
    french = _plain(concentration_headline(ineq, FR).text)
    assert french.endswith(
        "Aucune concentration n'est établie : 4 IRIS sont trop peu pour conclure (avec moins "
        "de 5 IRIS, même un test exact ne peut rien établir au seuil de 0,05)."
    )
    assert "modestes" not in french
    # From 5 IRIS, the same interval gives the direction.
    five = {**ineq, "generalized_concentration_index": {**FEW_GC, "n": 5}}
    assert "lowest incomes" in concentration_headline(five, EN).text
    # No interval (inequality.bootstrap: 0): no direction either.
    bare = {**FEW_GC, "n": 62, "ci_low": None, "ci_high": None}
    text = concentration_headline({**ineq, "generalized_concentration_index": bare}, EN).text
    assert text.endswith("No concentration is established: no confidence interval was computed.")


def test_pearson_states_a_direction_by_the_same_rule():
    def ineq(**pearson):
        base = {"value": -0.99, "ci_low": -0.9998, "ci_high": -0.62, "n": 4, "p_value": 0.01}
        return {"outcome": "lst_anomaly_mean_k", "correlations": {"pearson": {**base, **pearson}}}

    assert "4 IRIS are too few to conclude" in correlation_headline(ineq(), EN).text
    assert "tends to fall" in correlation_headline(ineq(n=5), EN).text
    # An interval that excludes 0 beside a p-value that is not below α: not established.
    text = correlation_headline(ineq(n=30, p_value=0.0504), EN).text
    assert text.endswith("No linear link is established: its p-value is not below 0.05.")


def test_a_decile_gap_through_0_states_no_direction():
    """runs/dec0 (the demo's D1 − D10 gap with its lower bound set to −0.5, audit 5): the
    sentence said "… 6.08 K hotter …" with the caveat in a note only."""
    gap = {"value": 6.076999, "ci_low": -0.5, "ci_high": 7.619714, "n": 62}
    ineq = {"outcome": "lst_anomaly_mean_k",
            "exposure_by_decile": {"by": "population", "gap_d1_d10": gap}}  # fmt: skip
    h = decile_headline(ineq, EN)
    assert h.text == (
        "In these data the 10% of residents of the IRIS with the lowest median income (D1) "
        "live in IRIS that are on average 6.08 K hotter than those of the 10% of residents of "
        "the IRIS with the highest median income (D10), but the gap is not established: its "
        f"confidence interval includes 0 (95% CI {MINUS}0.50 to 7.62; n = 62 IRIS)."
    )
    assert not any("establish" in note for note in h.notes)  # said once
    french = _plain(decile_headline(ineq, FR).text)
    assert french.startswith("Dans ces données, les 10 % des habitants des IRIS")
    assert "mais l'écart n'est pas établi : son intervalle de confiance contient 0" in french
    ineq["exposure_by_decile"]["by"] = "zones"
    text = decile_headline(ineq, EN).text
    assert text.startswith("In these data the 10% of IRIS with the lowest median income (D1)")
    assert "but the gap is not established: its confidence interval includes 0" in text
    # Another outcome: its generic sentence, the caveat in a note.
    ineq["outcome"] = "ndvi_mean"
    h = decile_headline(ineq, EN)
    assert "Its confidence interval includes 0: these data do not establish the gap." in h.notes
    # Established: the direction, no caveat.
    ineq.update(outcome="lst_anomaly_mean_k")
    gap["ci_low"] = 4.5
    assert "but" not in decile_headline(ineq, EN).text


def test_a_qpv_gap_on_four_iris_is_not_established():
    ineq = _ineq(1.2, 0.3, 2.0, p=0.01)
    ineq["group_difference"].update(n=4, n_in=2, n_out=2)
    text = qpv_gap_headline(ineq, EN).text
    assert "but the gap is not established: 4 IRIS are too few to conclude" in text


def test_no_hottest_headline_without_another_iris_to_compare():
    # One IRIS of 64 has a value: "hotter than — of the 0 other IRIS" says nothing.
    table = hottest_zones(pd.DataFrame({"code_iris": ["a", "b", "c"], "v": [301.0, None, None]}),
                          "v", id_column="code_iris")  # fmt: skip
    assert len(table) == 1
    assert hottest_headline(table, "v", FR, n_valid=1, n_zones=64) is None
    assert hottest_headline(table, "v", EN) is None  # its rank over no other is not a number
    two = hottest_zones(pd.DataFrame({"code_iris": ["a", "b"], "v": [301.0, 300.0]}), "v",
                        id_column="code_iris")  # fmt: skip
    text = _plain(hottest_headline(two, "v", EN, n_valid=2, n_zones=64).text)
    assert "is hotter than 100% of the 1 other IRIS with a value" in text


def test_hottest_headline():
    table = pd.DataFrame(
        {"id": ["75056"], "name": ["Belleville"], "value": [7.428], "hotter_than_pct": [98.41]}
    )
    raw = hottest_headline(table, "lst_anomaly_mean_k", FR).text
    text = _plain(raw)
    assert "Belleville (75056), est plus chaud que 98 % des autres IRIS" in text
    # No "(l'anomalie … : 7,43 K)": the label is the subject of its own clause.
    assert text.endswith("(l'anomalie de température de surface ΔT y est de 7,43 K).")
    assert f"7,43{NBSP}K)" in raw


def test_hottest_headline_of_a_layer_without_names():
    # Lyon's IRIS layer has no NOM_IRIS: the headline said "L'IRIS le plus chaud, nan (…)".
    zones = pd.DataFrame({"code": ["693830902", "693830903"], "nom_iris": [np.nan, np.nan],
                          "t": [301.09, 300.0]})  # fmt: skip
    table = hottest_zones(zones, "t", id_column="code", name_column="nom_iris", n=2)
    assert table["name"].tolist() == ["", ""]
    text = _plain(hottest_headline(table, "lst_mean_k", FR).text)
    assert text.startswith("L'IRIS le plus chaud, 693830902, est plus chaud que 100 %")
    assert "nan" not in text


def test_the_model_sentence_says_its_identifiers_in_words():
    model = {
        "estimator": "gradient_boosting",
        "target": "lst_anomaly",
        "predictors": ["ndvi", "albedo", "built_share", "dist_water_m"],
        "threshold": 0.5,
        "cv": {"r2": 0.75, "rmse_k": 1.56, "folds": 5, "block_m": 1000, "n_pixels": 500},
    }
    french = _plain(model_sentences(model, FR)[0])
    assert french.startswith(
        "Modèle à gradient boosting (arbres) de l'anomalie de LST (ΔT) selon NDVI, albédo, "
        "part de bâti alentour, distance à l'eau : R² = 0,75"
    )
    english = model_sentences(model, EN)[0]
    assert english.startswith("Gradient-boosting (trees) model of the LST anomaly (ΔT) from NDVI")
    for identifier in ("gradient_boosting", "lst_anomaly", "built_share", "dist_water_m"):
        assert identifier not in french and identifier not in english
    median = model_sentences({**model, "target": "lst_median", "estimator": "ridge"}, FR)[0]
    assert median.startswith("Modèle ridge quadratique de la LST médiane selon NDVI")


def test_model_sentences_warn_only_when_forced_below_threshold():
    model = {
        "estimator": "Ridge",
        "target": "lst",
        "predictors": ["ndvi"],
        "threshold": 0.5,
        "cv": {"r2": 0.31, "rmse_k": 1.2, "folds": 5, "block_m": 1000, "n_pixels": 500},
        "forced": True,
    }
    sentences = model_sentences(model, EN)
    assert "R² = 0.31, RMSE = 1.20 K" in sentences[0]
    assert any("forced" in s for s in sentences)
    model["cv"]["r2"] = 0.8
    assert not any("forced" in s for s in model_sentences(model, EN))
    # Once in the section: an association across the city today, not a causal effect, and
    # the ranges leave out the choice of model.
    (caveat,) = [s for s in model_sentences(model, EN) if "cross-sectional" in s]
    assert "not the causal effect of an intervention" in caveat
    assert "Another model (scenario_model.estimator) can move them beyond the ranges" in caveat


def test_best_scenario_narrows_the_gap_most():
    table = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"],
            "qpv_gap_before_k": [1.4, 1.4, 1.4],
            "qpv_gap_after_k": [1.3, 0.25, 1.5],
        }
    )
    assert scenario_best_sentence(table, EN) == (
        "The model predicts that scenario “b” narrows the QPV − rest gap the most: from 1.40 "
        "to 0.25 K."
    )
    table["qpv_gap_after_k"] = [1.5, 1.6, 1.4]
    assert scenario_best_sentence(table, EN) is None


def test_best_scenario_is_the_one_best_in_the_most_fits():
    # Each row's values come from its own median fit: "c" has the lowest gap there, "b" is
    # best in more of the fits; two best in as many fits are named together.
    table = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"],
            "qpv_gap_before_k": [1.4, 1.4, 1.4],
            "qpv_gap_after_k": [1.3, 0.30, 0.25],
            "qpv_gap_best_fits": [0, 6, 4],
        }
    )
    assert scenario_best_sentence(table, EN, fits=10) == (
        "The model predicts that scenario “b” narrows the QPV − rest gap the most: from 1.40 "
        "to 0.30 K. It does so in 6 of the model's 10 fits."
    )
    table["qpv_gap_best_fits"] = [0, 5, 5]
    assert scenario_best_sentence(table, EN, fits=10) == (
        "The model predicts that scenarios “b” and “c” narrow the QPV − rest gap the most, "
        "each in 5 of the model's 10 fits: from 1.40 K to 0.30 K and 0.25 K respectively."
    )
    assert scenario_best_sentence(table, FR, fits=10).startswith(
        "Selon le modèle, les scénarios «\u00a0b\u00a0» et «\u00a0c\u00a0» réduisent le plus"
    )


def test_scenarios_tied_in_one_fit_are_named_together():
    """One fit: "b" and "c" leave the same gap (comparison.csv credits each with the fit);
    both are named, the gap said once, and the unestablished caveat is of "these"."""
    table = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"],
            "qpv_gap_before_k": [1.4, 1.4, 1.4],
            "qpv_gap_after_k": [1.3, 0.25, 0.25],
            "qpv_gap_best_fits": [0, 1, 1],
        }
    )
    for fits in (1, None):
        assert scenario_best_sentence(table, EN, fits=fits, gap_unestablished=True) == (
            "The model predicts that scenarios “b” and “c” narrow the QPV − rest gap the "
            "most, alike: from 1.40 to 0.25 K. These data do not establish the starting gap "
            "(see the QPV − rest gap above), nor therefore its narrowing by these scenarios."
        )
    assert _plain(scenario_best_sentence(table, FR, fits=1)) == (
        "Selon le modèle, les scénarios « b » et « c » réduisent le plus l'écart QPV − reste, "
        "à égalité : de 1,40 à 0,25 K."
    )
    table.loc[2, "qpv_gap_after_k"] = 0.26  # no longer a tie
    assert scenario_best_sentence(table, EN, fits=1, gap_unestablished=True).endswith(
        "from 1.40 to 0.25 K. These data do not establish the starting gap (see the QPV − "
        "rest gap above), nor therefore its narrowing by this scenario."
    )


def test_scenarios_tied_over_fits_give_each_gap_after_and_its_range():
    table = pd.DataFrame(
        {
            "scenario": ["b", "c"],
            "qpv_gap_before_k": [1.4, 1.4],
            "qpv_gap_after_k": [0.30, 0.25],
            "qpv_gap_after_k_min": [0.20, 0.25],
            "qpv_gap_after_k_max": [0.40, 0.25],
            "qpv_gap_best_fits": [2, 2],
        }
    )
    assert scenario_best_sentence(table, EN, fits=4, gap_unestablished=True) == (
        "The model predicts that scenarios “b” and “c” narrow the QPV − rest gap the most, "
        "each in 2 of the model's 4 fits: from 1.40 K to 0.30 K (0.20 to 0.40 K over the "
        "model's fits) and 0.25 K respectively. These data do not establish the starting gap "
        "(see the QPV − rest gap above), nor therefore its narrowing by these scenarios."
    )
    assert _plain(scenario_best_sentence(table, FR, fits=4)) == (
        "Selon le modèle, les scénarios « b » et « c » réduisent le plus l'écart QPV − reste, "
        "chacun dans 2 des 4 ajustements du modèle : de 1,40 K à respectivement 0,30 K (de "
        "0,20 à 0,40 K sur les ajustements du modèle) et 0,25 K."
    )


def test_best_scenario_gives_the_range_of_its_gap_after():
    """The median fit's gap after (1.00) sits at an end of its range over the fits
    (0.69 to 1.00): the headline gives the range beside it, from the table's columns."""
    table = pd.DataFrame(
        {
            "scenario": ["a", "b"],
            "qpv_gap_before_k": [2.86, 2.86],
            "qpv_gap_after_k": [2.5, 1.0],
            "qpv_gap_after_k_min": [2.4, 0.69],
            "qpv_gap_after_k_max": [2.6, 1.0],
        }
    )
    assert scenario_best_sentence(table, EN) == (
        "The model predicts that scenario “b” narrows the QPV − rest gap the most: from 2.86 "
        "to 1.00 K (0.69 to 1.00 K over the model's fits)."
    )
    assert scenario_best_sentence(table, FR) == (
        "Selon le modèle, le scénario «\u00a0b\u00a0» réduit le plus l'écart QPV − reste\u00a0: "
        "de 2,86 à 1,00\u00a0K (de 0,69 à 1,00\u00a0K sur les ajustements du modèle)."
    )
    table["qpv_gap_after_k_min"] = table["qpv_gap_after_k_max"]  # one fit: no range
    assert scenario_best_sentence(table, EN).endswith("from 2.86 to 1.00 K.")


def test_method_notes_quote_morans_i_and_synthetic():
    ineq = {"morans_i": {"value": 0.34518, "p_value": 0.001}}
    notes = method_notes(ineq, FR, synthetic=True)
    assert any("I de Moran = 0,345, p = 0,001" in n for n in notes)
    assert any("synthétiques" in n for n in notes)
    assert any("n'est pas la température de l'air" in n for n in notes)
    notes = method_notes(None, EN, synthetic=False)
    assert not any("synthetic" in n for n in notes)
    assert any("optimistic" in n for n in notes)
    # K for planners who think in °C: 306.15 - 273.15 = 33, and a gap is the same in both.
    assert any("(306.15 K = 33 °C); a difference of 1 K is a difference of 1 °C" in n
               for n in notes)  # fmt: skip


def test_morans_i_is_said_significant_only_below_005():
    # 999 permutations: p = 0.001 is the smallest they give, so the true p is at most that.
    strong = {"morans_i": {"value": 0.33437, "p_value": 0.001, "permutations": 999}}
    (fr,) = [n for n in method_notes(strong, FR, synthetic=False) if "Moran" in n]
    assert _plain(fr) == (
        "Les intervalles de confiance supposent des IRIS indépendants. Or les IRIS voisins se "
        "ressemblent (I de Moran = 0,334, p ≤ 0,001) : ces intervalles sont optimistes, "
        "l'incertitude réelle est plus grande."
    )
    (en,) = [n for n in method_notes(strong, EN, synthetic=False) if "Moran" in n]
    assert "Neighbouring IRIS are alike (Moran's I = 0.334, p ≤ 0.001)" in en
    # p = 0.22: not established, in both languages; nothing says the IRIS are alike.
    weak = {"morans_i": {"value": 0.0681, "p_value": 0.2164, "permutations": 999}}
    (fr,) = [n for n in method_notes(weak, FR, synthetic=False) if "Moran" in n]
    assert "Ces données n'établissent pas que les IRIS voisins se ressemblent" in fr
    assert "(I de Moran = 0,068, p = 0,22)" in _plain(fr)
    assert "Or les IRIS voisins se ressemblent" not in fr
    (en,) = [n for n in method_notes(weak, EN, synthetic=False) if "Moran" in n]
    assert "These data do not establish that neighbouring IRIS are alike" in en
    assert "(Moran's I = 0.068, p = 0.22)" in en and "Neighbouring IRIS are alike" not in en
    # At the 5 % threshold itself: not significant (p < 0.05 is).
    edge = {"morans_i": {"value": 0.2, "p_value": 0.05, "permutations": 999}}
    assert any("n'établissent pas" in n for n in method_notes(edge, FR, synthetic=False))
    # Above the floor of its permutations, the p-value is quoted as it is.
    above = {"morans_i": {"value": 0.2, "p_value": 0.002, "permutations": 999}}
    assert any("p = 0,002)" in _plain(n) for n in method_notes(above, FR, synthetic=False))
    # A significant negative I: neighbours unlike (a checkerboard), not alike.
    unlike = {"morans_i": {"value": -0.3, "p_value": 0.001, "permutations": 999}}
    (en,) = [n for n in method_notes(unlike, EN, synthetic=False) if "Moran" in n]
    assert "Neighbouring IRIS are alike" not in en and "do not establish" in en


def test_fewer_than_100_iris_say_the_bootstrap_intervals_are_somewhat_narrow():
    # The audit's simulation: 95 % bootstrap intervals of GC covered ~92 % at 60 IRIS.
    def ineq(n_used, ci_method="bootstrap percentile over zones (B=9999)"):
        index = {"value": -0.97, "ci_low": -1.27, "ci_high": -0.66, "ci_method": ci_method}
        return {"n_used": n_used, "generalized_concentration_index": index}

    fr = [_plain(n) for n in method_notes(ineq(62), FR, synthetic=False)]
    assert (
        "Ces indicateurs reposent sur 62 IRIS, moins d'une centaine : les intervalles de "
        "confiance bootstrap des indices de concentration y sont un peu trop étroits (en "
        "simulation, un intervalle à 95 % contenait la vraie valeur dans environ 92 % des cas "
        "avec 60 IRIS)."
    ) in fr
    en = method_notes(ineq(99), EN, synthetic=False)
    assert (
        "These statistics rest on 99 IRIS, fewer than about 100: the bootstrap confidence "
        "intervals of the concentration indices are somewhat too narrow there (in simulation, "
        "a 95% interval held the true value about 92% of the time with 60 IRIS)."
    ) in en
    for enough in (ineq(100), ineq(62, "normal (value ± z·se)"), None):
        assert not any(
            "fewer than about 100" in n for n in method_notes(enough, EN, synthetic=False)
        )


def test_four_iris_say_the_report_states_no_direction():
    ineq = {"n_used": 4, "generalized_concentration_index": FEW_GC}
    en = method_notes(ineq, EN, synthetic=False)
    assert (
        "These statistics rest on 4 IRIS, fewer than 5: on so few zones not even an exact test "
        "can establish anything at the 0.05 level, and the bootstrap confidence intervals are "
        "too narrow. The report therefore states the direction of no gap or index."
    ) in en
    assert not any("somewhat too narrow" in n for n in en)
    fr = [_plain(n) for n in method_notes(ineq, FR, synthetic=False)]
    assert any(n.startswith("Ces indicateurs reposent sur 4 IRIS, moins de 5 :") for n in fr)
    index = {**FEW_GC, "n": 5, "ci_method": "bootstrap percentile over zones (B=9999)"}
    five = method_notes(
        {"n_used": 5, "generalized_concentration_index": index}, EN, synthetic=False
    )
    assert any("rest on 5 IRIS, fewer than about 100" in n for n in five)


def test_method_notes_without_permutations_quote_the_normal_p_value():
    # inequality.moran_permutations: 0 leaves p_value null; the report printed "p = —".
    ineq = {"morans_i": {"value": 0.34518, "p_value": None, "p_norm": 2.4e-07}}
    notes = method_notes(ineq, FR, synthetic=False)
    assert any("(I de Moran = 0,345, p < 0,001)" in n for n in notes), notes


def test_suhii_of_one_scene_is_no_range():
    # One scene: its value, not "from 2.5 to 2.5 K (1 scenes)".
    heat = {"scenes": [{"suhii_k": 2.5}], "definition": {}}
    one = suhii_sentences(heat, Messages("en"))
    assert "On the periods' only scene, SUHII is 2.50 K." in one
    assert not any("ranges" in sentence for sentence in one)
    two = suhii_sentences({**heat, "scenes": [{"suhii_k": 2.5}, {"suhii_k": 3.5}]}, Messages("en"))
    assert "Per scene, SUHII ranges from 2.50 to 3.50 K (2 scenes; mean 3.00 K)." in two


def test_the_suhii_of_one_scene_of_three_is_not_of_the_periods_only_scene():
    # Three scenes, two without a SUHII (no clear urban or rural pixel): one of three, dated,
    # not "the periods' only scene".
    scenes = [{"time": "2023-06-26T10:30:00", "suhii_k": 2.96},
              {"time": "2023-07-12T10:30:00", "suhii_k": None}, {"time": "2023-07-20"}]  # fmt: skip
    heat = {"composite": {"suhii_k": 3.2874}, "scenes": scenes, "definition": {}}
    french = [_plain(s) for s in suhii_sentences(heat, FR)]
    assert "Le SUHII n'a pu être calculé que sur une des 3 scènes (2023-06-26) : 2,96 K." in french
    assert not any("seule scène" in s for s in french)
    english = suhii_sentences(heat, EN)
    assert "SUHII could be computed on only one of the 3 scenes (2023-06-26): 2.96 K." in english


def test_the_suhii_beside_temperatures_in_celsius_has_one_decimal_in_both_units():
    # 307.912 K − 273.15 = 34.762 °C, 304.6107 K − 273.15 = 31.4607 °C: one decimal each,
    # and the SUHII they frame (3.2874 K) too; without the means, the usual two decimals.
    composite = {"variable": "lst_median", "suhii_k": 3.2874, "urban_mean_k": 307.912,
                 "rural_mean_k": 304.6107}  # fmt: skip
    heat = {"composite": composite, "definition": {}}
    (sentence, *_) = suhii_sentences(heat, FR)
    assert sentence == (
        f"Intensité de l'îlot de chaleur urbain de surface (SUHII){NBSP}: 3,3{NBSP}K sur le "
        f"composite médian de la LST (LST moyenne{NBSP}: 307,9{NBSP}K, soit "
        f"34,8{NBSP}°C, en ville{NBSP}; 304,6{NBSP}K, soit 31,5{NBSP}°C, sur la référence "
        "rurale)."
    )
    (english, *_) = suhii_sentences(heat, Messages("en"))
    assert "SUHII): 3.3 K on" in english
    assert "(mean LST: 307.9 K, i.e. 34.8 °C, in the city; 304.6 K, i.e. 31.5 °C, over" in english
    bare = {"composite": {"suhii_k": 3.2874}, "definition": {}}
    assert f"(SUHII){NBSP}: 3,29{NBSP}K sur" in suhii_sentences(bare, FR)[0]


def test_the_qpv_gap_counts_one_qpv_iris_one_other_iris_and_one_stratum_in_the_singular():
    """One QPV IRIS, one other IRIS, one stratum compared, one more QPV left out: French
    says each in the singular ("Seul 1 IRIS en QPV entre", "1 autre IRIS", "la seule
    commune qui a à la fois", "et 1 autre"), not "Seuls 1 IRIS ... entrent", "1 autres IRIS"."""
    ineq = _ineq(1.43, 0.51, 3.91)
    ineq["stratum"] = "insee_com"
    ineq["group_difference"].update(
        n_in=1, n_out=1, n_strata=2, n_strata_compared=1, pooled_difference=0.91
    )
    six = pd.DataFrame(
        {"code_qp": [f"QP07500{k}" for k in range(1, 7)], "nom_qp": [None] * 6,
         "iris_share_max": [0.1] * 6}
    )  # fmt: skip
    h = qpv_gap_headline(ineq, FR, six)
    assert "n = 1 IRIS en QPV et 1 autre IRIS ;" in _plain(h.text)
    notes = [_plain(n) for n in h.notes]
    assert "Seul 1 IRIS en QPV entre dans l'écart : cet écart" in " ".join(notes)
    assert (
        "Écart calculé dans la seule commune qui a à la fois des IRIS en QPV et d'autres IRIS : "
        "ses IRIS en QPV sont comparés à ses autres IRIS, et le test permute les étiquettes en "
        "son sein. L'écart des moyennes d'ensemble, +0,91 K, mêle l'effet des QPV à leur "
        "localisation."
    ) in notes
    assert "(ses IRIS au plus à 10 % en QPV) et 1 autre n'entrent pas dans cet écart" in notes[-1]
    en = qpv_gap_headline(ineq, EN, six)
    assert "n = 1 QPV IRIS and 1 other IRIS;" in en.text
    assert "Only 1 QPV IRIS enters the gap" in " ".join(en.notes)
    assert (
        "Gap computed within the only commune with both QPV IRIS and other IRIS: its QPV IRIS "
        "are compared with its other IRIS, and the test permutes the labels within it. The gap "
        "of the overall means, +0.91 K, mixes the QPV effect with where the QPV are."
    ) in en.notes
    # Two of each: the plural, as before.
    ineq["group_difference"].update(n_in=2, n_out=2, n_strata_compared=2)
    h = qpv_gap_headline(ineq, FR)
    assert "n = 2 IRIS en QPV et 2 autres IRIS ;" in _plain(h.text)
    assert "Seuls 2 IRIS en QPV entrent dans l'écart" in " ".join(_plain(n) for n in h.notes)
    assert "dans les 2 qui ont les deux" in " ".join(_plain(n) for n in h.notes)


def test_the_hottest_iris_of_two_with_a_value_is_hotter_than_one_other():
    # 2 of 3 IRIS with a value: "des 1 autres IRIS ayant une valeur" read as a plural.
    hottest = pd.DataFrame(
        {"id": ["1"], "name": ["IRIS 1"], "hotter_than_pct": [100.0], "value": [305.0]}
    )
    h = hottest_headline(hottest, "lst_mean_k", FR, n_valid=2, n_zones=3)
    assert "est plus chaud que 100 % de 1 autre IRIS ayant une valeur" in _plain(h.text)
    h = hottest_headline(hottest, "lst_mean_k", FR, n_valid=3, n_zones=4)
    assert "est plus chaud que 100 % des 2 autres IRIS ayant une valeur" in _plain(h.text)
