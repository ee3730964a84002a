"""The report of the demo run: numbers recomputed independently, both languages, files.

Expected values come from ``inequality.json`` and from the zone tables recomputed here with
pandas (weighted means, ranks by hand), never from the report's code.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
from dataclasses import dataclass, replace
from html import unescape
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy.stats import linregress

from pipelines.cli import main
from pipelines.demo_census import IRIS_GRID, IRIS_SIZE_M
from pipelines.report import FIGURE_NAMES, build_report
from tests.holders import held_elsewhere
from tests.pipelines.report.helpers import (
    HEAT_ISLAND,
    MINUS,
    MODEL,
    NBSP,
    Node,
    add_extras,
    copy_run,
    en,
    fr,
    headers,
    parse_html,
    row_cells,
    table_rows,
)

OUTCOME = "lst_anomaly_mean_k"


@dataclass(frozen=True)
class Built:
    run: Path
    path: Path
    html: str
    doc: Node

    def text(self, element_id: str) -> str:
        node = self.doc.by_id(element_id)
        assert node is not None, f"no element #{element_id}"
        return node.text()


def _built(run: Path, path: Path) -> Built:
    html = path.read_text(encoding="utf-8")
    return Built(run, path, html, parse_html(html))


@pytest.fixture(scope="module")
def fr_report(plain_run):
    return _built(plain_run, build_report(plain_run))


@pytest.fixture(scope="module")
def en_report(demo_run, tmp_path_factory):
    run = copy_run(demo_run, tmp_path_factory.mktemp("en") / "run", scenarios=True)
    result = CliRunner().invoke(main, ["report", str(run), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run / "report.html")
    return _built(run, run / "report.html")


@pytest.fixture(scope="module")
def full_report(full_run):
    return _built(full_run, build_report(full_run, lang="fr"))


@pytest.fixture(scope="module")
def inequality(demo_run):
    return json.loads((demo_run / "inequality.json").read_text())


@pytest.fixture(scope="module")
def iris(demo_run):
    return gpd.read_file(demo_run / "zones.gpkg", layer="iris")


# --- headline numbers --------------------------------------------------------------------------


def test_qpv_gap_recomputed_from_the_zone_table(iris, inequality, fr_report):
    # The population-weighted gap over the IRIS with outcome, income and population (§7.6).
    used = iris.dropna(subset=[OUTCOME, "disp_med", "population"])
    inside = used[used["in_qpv"]]
    outside = used[~used["in_qpv"]]
    gap = np.average(inside[OUTCOME], weights=inside["population"]) - np.average(
        outside[OUTCOME], weights=outside["population"]
    )
    group = inequality["group_difference"]
    assert gap == pytest.approx(group["value"], abs=1e-9)
    assert gap > 0  # the demo plants hotter QPV
    # The demo's gap is established (its interval excludes 0, p < 0.05): said plainly.
    # (The caveats of an interval through 0 or p ≥ α: test_headlines.py.)
    assert 0 < group["ci_low"] < group["ci_high"] and group["p_value"] < 0.05
    p = group["p_value"]  # two decimals from 0.1, three below (science.md's convention)
    expected = (
        f"Les QPV sont en moyenne {fr(gap)} K plus chauds que le reste de la zone étudiée "
        f"(IC 95 % {fr(group['ci_low'])} à {fr(group['ci_high'])} ; n = {len(inside)} IRIS "
        f"en QPV et {len(outside)} autres IRIS ; p = {fr(p, 3 if p < 0.1 else 2)})."
    )
    text = fr_report.text("headline-qpv_gap")
    assert expected in text
    assert f"Seuls {len(inside)} IRIS en QPV entrent dans l'écart" in text


def test_the_residents_left_out_are_counted(iris, inequality, en_report):
    """science.md §8.3: the IRIS left out of the statistics, and their residents."""
    used = iris.dropna(subset=[OUTCOME, "disp_med", "population"])
    assert inequality["n_used"] == len(used) < len(iris)
    left = int(iris["population"].sum() - used["population"].sum())
    total = int(iris["population"].sum())
    text = " ".join(en_report.text("qpv").replace("\u00a0", " ").split())
    assert f"The IRIS left out hold {left:,} of the {total:,} residents." in text
    assert any(f"{left} of {total} residents in them" in n for n in inequality["notes"])


def test_qpv_gap_in_english(iris, inequality, en_report):
    group = inequality["group_difference"]
    p = group["p_value"]
    expected = (
        f"QPV are on average {en(group['value'])} K hotter than the rest of the study area "
        f"(95% CI {en(group['ci_low'])} to {en(group['ci_high'])}; n = {group['n_in']} QPV "
        f"IRIS and {group['n_out']} other IRIS; p = {en(p, 3 if p < 0.1 else 2)})."
    )
    assert expected in en_report.text("headline-qpv_gap")


def test_other_headlines_quote_inequality_json(inequality, fr_report, en_report):
    gap = inequality["exposure_by_decile"]["gap_d1_d10"]
    text = fr_report.text("headline-decile_gap")
    assert f"{fr(gap['value'])} K plus chauds" in text
    assert f"IC 95 % {fr(gap['ci_low'])} à {fr(gap['ci_high'])}" in text
    gc = inequality["generalized_concentration_index"]
    assert f": {fr(gc['value'])} K (IC 95 % {fr(gc['ci_low'])} à {fr(gc['ci_high'])}" in (
        fr_report.text("headline-concentration")
    )
    r = inequality["correlations"]["pearson"]
    text = en_report.text("headline-correlation")
    assert f"r = {en(r['value'])} (95% CI {en(r['ci_low'])} to {en(r['ci_high'])}; n = 62 IRIS" in (
        text
    )
    # The demo: r < 0 with an interval clear of 0; r² as a whole percentage.
    assert r["value"] < 0 and r["ci_high"] < 0
    assert "each counting once, not weighted by population" in text
    r2 = f"{round(100 * r['value'] ** 2)}%"
    assert f"tends to fall as income rises; r² = {r2}: this share" in text


def test_income_scatter_caption(iris, inequality, fr_report):
    ok = iris.dropna(subset=["disp_med", OUTCOME])
    slope = 1000.0 * linregress(ok["disp_med"], ok[OUTCOME]).slope  # K per 1 000 €
    digits = 2 - int(np.floor(np.log10(abs(slope))))  # three significant digits
    r = inequality["correlations"]["pearson"]
    text = fr_report.text("figure-income_scatter")
    assert f"pente {fr(slope, digits)} K pour 1 000 €" in text
    assert (
        f"r de Pearson = {fr(r['value'])} (IC 95 % {fr(r['ci_low'])} à {fr(r['ci_high'])})" in text
    )


# --- tables ------------------------------------------------------------------------------------


def _hand_ranks(iris: pd.DataFrame) -> pd.DataFrame:
    values = iris.set_index("code_iris")[OUTCOME].dropna()
    n = len(values)
    hotter = {code: 100.0 * (values < v).sum() / (n - 1) for code, v in values.items()}
    top = values.sort_values(ascending=False).head(20)
    return pd.DataFrame({"value": top, "pct": [hotter[c] for c in top.index]})


def test_hottest_iris_and_their_percentile_ranks(iris, fr_report):
    expected = _hand_ranks(iris)
    rows = table_rows(fr_report.doc, "hottest-table")
    assert [row_id for row_id, _ in rows] == expected.index.tolist()
    head = headers(fr_report.doc, "hottest-table")
    assert head[:5] == ["Rang", "Code", "Nom", "ΔT (K)", "Plus chaud que … des autres IRIS"]
    names = iris.set_index("code_iris")["nom_iris"]
    for rank, ((code, cells), (_, want)) in enumerate(
        zip(rows, expected.iterrows(), strict=True), start=1
    ):
        pct = f"{want['pct']:.0f} %"
        assert cells[:5] == [str(rank), code, names[code], fr(want["value"]), pct]
    n = iris[OUTCOME].notna().sum()
    assert f"sur les N = {n} IRIS" in fr_report.text("hottest")
    top_code = expected.index[0]
    assert f"({top_code}), est plus chaud que {expected['pct'].iloc[0]:.0f} % des autres IRIS" in (
        fr_report.text("headline-hottest")
    )


def test_a_qpv_no_counted_iris_covers_is_named_and_its_iris_shares_shown(iris, fr_report):
    """The demo's QP031903 covers under half of each of its IRIS (48 % at most, by geopandas'
    overlay here): the run warns, the QPV gap and section name it, and the hottest table
    gives the share in QPV of each IRIS not counted in QPV, not a bare "non"."""
    qpv = gpd.read_file(fr_report.run / "zones.gpkg", layer="qpv")
    parts = gpd.overlay(iris[["code_iris", "geometry"]], qpv[qpv["code_qp"] == "QP031903"])
    areas = iris.set_index("code_iris").area
    largest = (parts.area / areas[parts["code_iris"]].to_numpy()).max()
    assert round(100 * largest) == 48
    manifest = json.loads((fr_report.run / "manifest.json").read_text())
    [said] = [w for w, c in zip(manifest["warnings"], manifest["warning_codes"], strict=True)
              if c == "qpv_without_iris"]  # fmt: skip
    assert said.startswith(
        "zones.qpv.iris_share_threshold: 1 QPV is left out of the QPV gap, no IRIS with 50% or "
        "more of its area in QPV covering most of it: QP031903 (Quartier synthétique C, its "
        "IRIS at most 48% in QPV); its IRIS count as the rest"
    )
    note = (
        "Le QPV QP031903 « Quartier synthétique C » (ses IRIS au plus à 48 % en QPV) n'entre pas "
        "dans cet écart"
    )
    assert note in fr_report.text("headline-qpv_gap") and note in fr_report.text("qpv")
    shares = iris.set_index("code_iris")
    for code, cells in table_rows(fr_report.doc, "hottest-table"):
        in_qpv, share = shares.loc[code, "in_qpv"], 100 * shares.loc[code, "qpv_share"]
        want = "oui" if in_qpv else "non" if share == 0 else f"non ({share:.0f} %)"
        assert cells[-1] == ("non (< 1 %)" if 0 < share < 0.5 else want), code
    assert "« non (x %) » : IRIS non compté en QPV" in fr_report.text("hottest")


def test_qpv_table_holds_population_weighted_means(iris, fr_report):
    rows = dict(table_rows(fr_report.doc, "qpv-table"))
    for key, part in (("in", iris[iris["in_qpv"]]), ("out", iris[~iris["in_qpv"]])):
        ok = part.dropna(subset=[OUTCOME, "population"])
        cells = rows[key]
        assert cells[1] == str(len(part))
        assert cells[3] == fr(np.average(ok[OUTCOME], weights=ok["population"]))
        ok = part.dropna(subset=["ndvi_mean", "population"])
        assert cells[5] == fr(np.average(ok["ndvi_mean"], weights=ok["population"]))
    qpv = gpd.read_file(fr_report.run / "zones.gpkg", layer="qpv")
    polygons = dict(table_rows(fr_report.doc, "qpv-polygons"))
    assert sorted(polygons) == sorted(qpv["code_qp"])
    for _, row in qpv.iterrows():
        assert polygons[row["code_qp"]][2] == fr(row[OUTCOME])


def test_qpv_table_has_the_means_of_the_iris_the_test_used(inequality, en_report):
    """The demo's table gave 5.35 K (4 IRIS) against 3.08 K (60), the headline 2.18 K (4
    against 58, the IRIS with an income): rows "of the test" hold the headline's means."""
    gap = inequality["group_difference"]
    rows = dict(table_rows(en_report.doc, "qpv-table"))
    assert list(rows) == ["in", "out", "in-tested", "out-tested"]
    assert rows["in-tested"][:2] == ["QPV IRIS of the test", str(gap["n_in"])]
    assert rows["out-tested"][:2] == ["other IRIS of the test", str(gap["n_out"])]
    assert rows["in-tested"][3] == en(gap["mean_in"])
    assert rows["out-tested"][3] == en(gap["mean_out"])
    assert int(rows["out"][1]) > gap["n_out"]  # the table's own rows count more IRIS
    caption = en_report.doc.by_id("qpv-table-caption").text()
    assert "the rows “of the test” give their means" in caption


def test_decile_table_from_inequality_json(inequality, en_report):
    rows = table_rows(en_report.doc, "deciles-table")
    deciles = inequality["exposure_by_decile"]["deciles"]
    assert [cells[0] for _, cells in rows] == [f"D{d['decile']}" for d in deciles]
    assert [cells[4] for _, cells in rows] == [en(d["exposure"]) for d in deciles]
    assert rows[0][1][2] == f"{deciles[0]['population']:,.0f}"
    # The figure's caption gives the D1 − D10 gap with its unit.
    gap = inequality["exposure_by_decile"]["gap_d1_d10"]["value"]
    value = en(abs(gap))
    caption = " ".join(en_report.text("deciles").replace("\u00a0", " ").split())
    assert f"D1 − D10 gap: {'+' if gap > 0 else MINUS}{value} K (" in caption, caption

    # The demo's D1 and D10 hold 6 and 7 IRIS (fewer than 10): the section says so.
    ends = [d["n_zones"] for d in deciles if d["decile"] in (1, 10)]
    assert max(ends) < 10
    assert f"D1 and D10 hold only {ends[0]} and {ends[1]} IRIS" in caption


def test_no_few_zones_note_when_the_end_deciles_are_large(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    inequality = json.loads((run / "inequality.json").read_text())
    for row in inequality["exposure_by_decile"]["deciles"]:
        row["n_zones"] = 10 if row["decile"] in (1, 10) else 3
    (run / "inequality.json").write_text(json.dumps(inequality))
    report = _built(run, build_report(run, lang="en"))
    assert "D1 and D10 hold only" not in report.text("deciles")
    assert "deciles-table" in report.html


def test_the_quality_section_names_the_settings_changed_from_the_defaults(demo_run, tmp_path):
    # The demo turns the cloud-distance test off (its products have ST_CDIST, the default
    # 1 km drops too much of the small city); a user's run changed two more.
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["mask"]["cdist_min_km"] is None
    report = _built(run, build_report(run, lang="en"))
    said = "Settings that decide which pixels count, changed from ilots' defaults: "
    assert said + (
        "minimum distance of a pixel to clouds (ST_CDIST), in km (mask.cdist_min_km): null "
        "(default 1.0)."
    ) in report.text("quality")
    assert "(<code>mask.cdist_min_km</code>)" in report.html  # the key, to find in config.yaml
    manifest["config"]["mask"].update(st_qa_max_k=None, cdist_min_km=1.0)
    manifest["config"]["composite"]["min_clear"] = 1
    (run / "manifest.json").write_text(json.dumps(manifest))
    report = _built(run, build_report(run, lang="fr"))
    said = (  # French spacing before the colons and the semicolon (text() shows it as " ")
        "changés par rapport aux valeurs par défaut d'ilots : incertitude maximale de la LST "
        "d'un pixel (ST_QA), en K (mask.st_qa_max_k) : null (défaut 2.0) ; observations "
        "claires minimales d'un pixel pour sa LST composite (composite.min_clear) : 1 (défaut 3)."
    )
    assert said in report.text("quality")
    assert "(défaut 2.0)\xa0; observations claires" in report.html
    manifest["config"]["mask"]["st_qa_max_k"] = 2.0
    manifest["config"]["composite"]["min_clear"] = 3
    (run / "manifest.json").write_text(json.dumps(manifest))
    report = _built(run, build_report(run, lang="en"))
    assert "The masks and quality thresholds are ilots' defaults." in report.text("quality")


def _header(report: Built) -> str:
    return " ".join(
        node.text() for node in report.doc.iter("p") if node.attrs.get("class") == "meta"
    )


def test_the_report_says_the_area_it_covers_and_its_grid(demo_run, fr_report, en_report):
    """The demo's area is its 8 x 8 IRIS of 550 m (the union of the IRIS layer): 19.36 km²,
    on a 30 m grid in UTM 31N (Toulouse); bounds from the IRIS file itself."""
    km2 = IRIS_GRID**2 * (IRIS_SIZE_M / 1000) ** 2
    assert km2 == pytest.approx(19.36)
    iris = gpd.read_file(demo_run.parent / "zones" / "iris.gpkg", layer="iris").to_crs(4326)
    west, south, east, north = iris.total_bounds
    assert f"Area of interest: {IRIS_GRID**2} iris features of 1 commune (19.4 km²)" in (
        _header(en_report)
    )
    assert f"Zone d'étude : {IRIS_GRID**2} entités iris de 1 commune (19,4 km²)" in (
        _header(fr_report)
    )
    about = en_report.text("about")
    assert (
        f"Area of interest: {IRIS_GRID**2} iris features of 1 commune; 19.4 km² (on the WGS 84 "
        f"ellipsoid); longitudes {west:.3f} to {east:.3f} and latitudes {south:.3f} to "
        f"{north:.3f} (degrees, WGS 84)."
    ) in about
    assert "Analysis grid: EPSG:32631, 30 m pixels" in about
    french = fr_report.text("about")
    assert f"longitudes de {west:.3f} à {east:.3f}".replace(".", ",") in french
    assert "Grille d'analyse : EPSG:32631, pixels de 30 m" in french


def test_a_manifest_without_the_area_builds_a_report_that_does_not_say_it(demo_run, tmp_path):
    """A run folder written before the manifest recorded the area: no area line, no error."""
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["area"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    report = _built(run, build_report(run, lang="en"))
    assert "Area of interest" not in report.html
    assert "Analysis grid: EPSG:32631" in report.text("about")


def test_the_n_clear_mean_of_a_manifest_before_version_4_is_not_said_to_leave_water_out(
    demo_run, fr_report, tmp_path
):
    """Before manifest version 4 a zone's n_clear_mean averaged all its pixels, water too:
    the report of such a folder says "over its pixels", not "but water" (version 4 does)."""
    neutral = "Observations claires par IRIS (moyenne sur ses pixels) :"
    but_water = "Observations claires par IRIS (moyenne sur ses pixels hors eau :"
    assert json.loads((fr_report.run / "manifest.json").read_text())["manifest_version"] == 4
    assert but_water in fr_report.text("quality") and neutral not in fr_report.text("quality")
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["mask"]["lst_keep_water"] is False  # water left out of the LST
    manifest["manifest_version"] = 3
    (run / "manifest.json").write_text(json.dumps(manifest))
    quality = _built(run, build_report(run, lang="fr")).text("quality")
    assert neutral in quality and but_water not in quality


# --- sections, languages -----------------------------------------------------------------------


def test_the_title_and_heading_say_the_year(fr_report, en_report):
    # The demo's config: "name: ville de démonstration d'ilots (synthétique)", years [2023].
    name = "ville de démonstration d'ilots (synthétique)"
    for built, title in (
        (fr_report, f"Îlots de chaleur : {name}, 2023"),  # NBSP read as a space
        (en_report, f"Urban heat islands: {name}, 2023"),
    ):
        (head,) = list(built.doc.iter("title"))
        (heading,) = list(built.doc.iter("h1"))
        assert head.text() == heading.text() == title


def test_absent_files_leave_a_not_computed_note(fr_report):
    for section in ("suhii", "scenarios"):
        node = fr_report.doc.by_id(section)
        assert "Non calculé pour ce traitement" in node.text()
        assert not list(node.iter("img"))
        assert not list(node.iter("table"))
    assert not (fr_report.run / "figures" / "suhii.png").exists()


def test_synthetic_banner_and_method_notes(fr_report, en_report):
    assert "Données synthétiques" in fr_report.text("synthetic-banner")
    assert "Synthetic data: this run reads made-up inputs" in en_report.text("synthetic-banner")
    method = fr_report.text("method")
    assert "n'est pas la température de l'air" in method
    moran = json.loads((fr_report.run / "inequality.json").read_text())["morans_i"]
    # The demo's I is as strong as its 999 permutations can show: p at their floor, 1/1000.
    assert moran["p_value"] == 1 / (moran["permutations"] + 1) == 0.001
    assert f"Or les IRIS voisins se ressemblent (I de Moran = {fr(moran['value'], 3)}, " in method
    assert "p ≤ 0,001)" in method and "p = 0,001" not in method
    # The banner is a static note, not an alert that screen readers interrupt for.
    banner = fr_report.doc.by_id("synthetic-banner")
    assert banner.attrs.get("role") == "note" and 'role="alert"' not in fr_report.html
    assert "hatching" not in fr_report.text("maps") and "Hachures" not in fr_report.text("maps")
    about = fr_report.text("about")
    assert "ville de démonstration d'ilots (synthétique)" in about and "0.1.0" in about


def test_the_demo_s_62_iris_get_the_few_iris_note(fr_report, en_report):
    assert json.loads((fr_report.run / "inequality.json").read_text())["n_used"] == 62
    assert "Ces indicateurs reposent sur 62 IRIS, moins d'une centaine" in fr_report.text("method")
    assert "These statistics rest on 62 IRIS, fewer than about 100" in en_report.text("method")


def test_english_report_is_english(en_report, fr_report):
    assert '<html lang="en">' in en_report.html
    assert '<html lang="fr">' in fr_report.html
    body = en_report.doc.text()
    for french in ("plus chaud", "Les QPV", "Non calculé", "Notes de méthode", "IC 95"):
        assert french not in body
    for english in ("Key findings", "Method notes", "The 20 hottest IRIS", "Data quality"):
        assert english in body


def test_scenarios_of_the_demo_run(demo_run, en_report):
    text = en_report.text("scenarios")
    if not (demo_run / "scenarios" / "comparison.csv").exists():
        assert "Not computed for this run: scenarios" in text
        return
    model = json.loads((demo_run / "scenarios" / "model.json").read_text())
    assert f"R² = {en(model['cv']['r2'])}, RMSE = {en(model['cv']['rmse_k'])} K" in text
    comparison = pd.read_csv(demo_run / "scenarios" / "comparison.csv")
    rows = dict(table_rows(en_report.doc, "scenarios-table"))
    assert list(rows) == comparison["scenario"].tolist()
    column = headers(en_report.doc, "scenarios-table").index("QPV gap after (K)")
    # Each effect with its range over the model's replicates, from the CSV.
    expected = [
        f"{en(v)} ({en(lo)} … {en(hi)})"
        for v, lo, hi in comparison[["qpv_gap_after_k", "qpv_gap_after_k_min",
                                     "qpv_gap_after_k_max"]].itertuples(index=False)
    ]  # fmt: skip
    assert [rows[s][column] for s in rows] == expected
    assert (comparison["qpv_gap_after_k_min"] < comparison["qpv_gap_after_k_max"]).all()
    assert f"over the {model['replicates']} fits" in text
    best = comparison.loc[
        (comparison["qpv_gap_after_k"].abs() - comparison["qpv_gap_before_k"].abs()).idxmin()
    ]
    wins = int(best["qpv_gap_best_fits"])
    fits = model["replicates"]
    if wins == fits:
        assert f"It does so in all {fits} of the model's fits." in text
    else:
        assert f"It does so in {wins} of the model's {fits} fits." in text
    images = list(en_report.doc.by_id("scenarios").iter("img"))
    assert len(images) == 1 + len(comparison)  # side by side, then one map per scenario
    # What ilots scenarios warned of (the manifest's) is listed with them.
    warned = json.loads((demo_run / "manifest.json").read_text())["scenarios"]["warnings"]
    assert warned and "Scenario warnings" in text
    assert all(" ".join(w.split()) in " ".join(text.split()) for w in warned)
    # They have no kinds, by design: the block's lead says what they are, no "unclassified".
    assert "Unclassified warning" not in text


# --- extras: SUHII and scenarios ---------------------------------------------------------------


def test_suhii_section_from_heat_island_json(full_report):
    rows = table_rows(full_report.doc, "suhii-table")
    assert len(rows) == 5
    assert headers(full_report.doc, "suhii-table")[0] == "Scène (UTC)"  # the items' times
    assert rows[0][1][:3] == ["2023-06-26 10:30", "landsat-8", fr(2.96)]
    assert rows[2][1][2] == "—"  # a scene without a value
    keys = ("suhii_k", "urban_mean_k", "rural_mean_k")
    assert rows[3][1][0] == "Composite médian de ΔT"
    assert rows[3][1][2:5] == [fr(HEAT_ISLAND["composite"][k]) for k in keys]
    assert rows[4][1][0] == "Composite médian de la LST"
    assert rows[4][1][2:5] == [fr(HEAT_ISLAND["composite_lst"][k]) for k in keys]
    text = full_report.text("suhii")
    # The SUHII of "composite"; mean temperatures only from the LST composite, beside their
    # °C (307.912 − 273.15 = 34.762; 304.6107 − 273.15 = 31.4607): one decimal throughout.
    assert (
        "SUHII) : 3,3 K sur le composite médian de l'anomalie ΔT (LST moyenne : 307,9 K, soit "
        "34,8 °C, en ville ; 304,6 K, soit 31,5 °C, sur la référence rurale)."
    ) in text
    assert f"de {fr(2.96)} à {fr(3.41)} K (2 scènes ; moyenne {fr((2.96 + 3.41) / 2)} K)" in text
    assert "Zone urbaine : union of the IRIS." in text
    assert "SUHII) : 3,3 K" in full_report.text("headline-suhii")
    assert (full_report.run / "figures" / "suhii.png").is_file()


def test_the_french_report_says_the_heat_island_definitions_in_french(demo_run, tmp_path):
    """The run writes its urban footprint and rural reference in English (heat_island.json);
    the French report says them in French."""
    definition = json.loads((demo_run / "heat_island.json").read_text())["definition"]
    assert definition["reference_definition"].startswith("rural ring ")
    run = copy_run(demo_run, tmp_path / "run")
    text = " ".join(_built(run, build_report(run, lang="fr")).text("suhii").split())
    assert (
        "Zone urbaine : union de 64 polygones de zones, pixels dont le centre y est ; pixels "
        "d'eau exclus."
    ) in text
    inner = f"{definition['ring_inner_km'] * 1000:,.0f}".replace(",", " ")  # 1 000 (NBSP)
    rural = f"anneau rural de {inner} à "
    assert f"Référence rurale : {rural}" in text and "pixels d'eau exclus" in text
    for english in ("union of", "rural ring", "pixels excluded", "pixel centres"):
        assert english not in text


def test_suhii_of_the_demo_run(demo_run, en_report):
    path = demo_run / "heat_island.json"
    if not path.exists():  # a run without a heat-island file says so
        assert "Not computed for this run: heat island intensity" in en_report.text("suhii")
        return
    heat = json.loads(path.read_text())
    suhii = heat["composite"]["suhii_k"]
    # Beside the mean LSTs in °C (the demo has the LST composite): one decimal.
    assert "composite_lst" in heat
    assert f"(SUHII): {en(suhii, 1)} K on the median" in en_report.text("headline-suhii")
    rows = table_rows(en_report.doc, "suhii-table")
    assert len(rows) == len(heat["scenes"]) + sum(k in heat for k in ("composite", "composite_lst"))
    assert [cells[2] for _, cells in rows[: len(heat["scenes"])]] == [
        en(s["suhii_k"]) if s["suhii_k"] is not None else "—" for s in heat["scenes"]
    ]


def test_scenario_section_from_scenario_files(full_report):
    comparison = pd.read_csv(full_report.run / "scenarios" / "comparison.csv")
    rows = dict(table_rows(full_report.doc, "scenarios-table"))
    assert list(rows) == comparison["scenario"].tolist()
    column = {h: i for i, h in enumerate(headers(full_report.doc, "scenarios-table"))}
    for _, row in comparison.iterrows():
        cells = rows[row["scenario"]]
        assert cells[column["Description"]] == row["description"]
        assert cells[column["Surface modifiée (ha)"]] == fr(row["area_changed_m2"] / 10_000)
        assert cells[column["Surface modifiée avec prédiction (ha)"]] == fr(
            row["area_changed_predicted_m2"] / 10_000
        )
        # The scenario effect is ΔLST everywhere, ΔT stays the run's anomaly.
        assert cells[column["ΔLST moyen des pixels modifiés avec prédiction (K)"]] == fr(
            row["changed_mean_delta_k"]
        )
        assert cells[
            column["ΔLST moyen de la zone ciblée, pixels avec anomalie observée (K)"]
        ] == fr(row["mean_delta_k"])
        assert cells[column["ΔLST moyen, ville (K)"]] == fr(row["urban_mean_delta_k"], 3)
        # Three significant digits.
        assert cells[column["ΔLST ville par ha modifié avec prédiction (K/ha)"]] == fr(
            row["delta_k_per_ha"], 6
        )
        assert cells[column["ΔLST QPV (K)"]] == fr(row["qpv_delta_mean_k"])
        assert cells[column["Écart QPV après (K)"]] == fr(row["qpv_gap_after_k"])
        assert cells[column["Part extrapolée"]] == f"{100 * row['extrapolated_share']:.0f} %"
    assert not any("ΔT" in h for h in column if "Écart" not in h)
    text = full_report.text("scenarios")
    assert "R² = 0,81, RMSE = 0,93 K" in text and "5 plis, blocs de 1 500 m" in text
    assert "Effet d'un scénario, noté ΔLST = LST prédite (scénario) − LST prédite" in text
    # The column is defined; the scenario with 96 % extrapolated (not the one with 0 %) is
    # said to be mostly extrapolated, held at the range's edge: likely underestimated.
    assert "Part extrapolée : part des pixels modifiés avec prédiction (ceux dont" in text
    assert (
        "Scénario « cool_roofs » : 96 % des pixels modifiés avec prédiction sortent de "
        "l'intervalle ajusté. Son effet est donc surtout extrapolé : au-delà de cet "
        "intervalle, le modèle garde la réponse qu'il a au bord, si bien que l'effet est "
        "probablement sous-estimé (estimation prudente)."
    ) in text
    assert "« green_qpv » : " not in text
    assert (
        "Selon le modèle, le scénario « green_qpv » réduit le plus l'écart QPV − reste : de "
        "1,43 à 0,25 K" in text
    )
    embedded = [img.attrs["src"] for img in full_report.doc.by_id("scenarios").iter("img")]
    files = [
        full_report.run / "scenarios" / name
        for name in ("comparison.png", "green_qpv/delta_lst.png", "cool_roofs/delta_lst.png")
    ]
    assert embedded == [
        "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode() for p in files
    ]


# --- files -------------------------------------------------------------------------------------


def test_self_contained(full_report, fr_report):
    for built in (full_report, fr_report):
        for node in built.doc.iter():
            for attr in ("src", "href"):
                value = node.attrs.get(attr)
                if value is not None:
                    assert not value.lower().startswith(("http:", "https:", "//")), value
        assert not list(built.doc.iter("script")) and not list(built.doc.iter("link"))
        style = "".join(node.text() for node in built.doc.iter("style"))
        assert re.search(r"url\(|@import|https?://", style) is None
        srcs = [img.attrs["src"] for img in built.doc.iter("img")]
        assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
        assert all(a.attrs["href"].startswith("#") for a in built.doc.iter("a"))


def test_figures_are_written_and_embedded(full_report):
    folder = full_report.run / "figures"
    written = sorted(p.stem for p in folder.glob("*.png"))
    assert written == sorted(FIGURE_NAMES)
    for name in written:
        data = (folder / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        figure = full_report.doc.by_id(f"figure-{name}")
        (img,) = figure.iter("img")
        assert img.attrs["src"] == "data:image/png;base64," + base64.b64encode(data).decode()


def test_written_atomically_without_leftovers(full_report, fr_report):
    for built in (full_report, fr_report):
        leftovers = [p for p in built.run.rglob("*") if ".tmp" in p.name]
        assert leftovers == []
        assert built.path == built.run / "report.html"


def test_no_pyplot_figure_left_open(fr_report):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_rebuild_removes_stale_figures_and_missing_inequality(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    (run / "heat_island.json").write_text(json.dumps(HEAT_ISLAND))
    build_report(run, lang="en")
    assert (run / "figures" / "suhii.png").is_file()
    (run / "heat_island.json").unlink()
    (run / "inequality.json").unlink()
    # Three IRIS lose their value; zones come from GeoParquet when zones.gpkg is gone.
    iris = gpd.read_parquet(run / "zones" / "iris.parquet")
    iris.loc[iris.index[:3], OUTCOME] = np.nan
    iris.to_parquet(run / "zones" / "iris.parquet")
    (run / "zones.gpkg").unlink()
    doc = parse_html(build_report(run, lang="en").read_text(encoding="utf-8"))
    assert not (run / "figures" / "suhii.png").exists()
    assert "Not computed for this run: inequality metrics" in doc.by_id("headlines").text()
    assert "Files: manifest.json, figures/." in doc.by_id("about").text()  # those left
    assert doc.by_id("figure-lst_map") is not None
    assert f"N = {len(iris) - 3} IRIS" in doc.by_id("hottest").text()
    assert "Grey hatching: 3 IRIS without a value" in doc.by_id("maps").text()
    hottest = [row_id for row_id, _ in table_rows(doc, "hottest-table")]
    assert len(hottest) == 20 and not set(hottest) & set(iris["code_iris"][:3])


def test_without_population_the_means_say_they_are_unweighted(demo_run, tmp_path):
    # No census population: each IRIS weighs one. The captions said "population-weighted"
    # and the tables showed the IRIS counts again as "Population".
    run = copy_run(demo_run, tmp_path / "run")
    iris = gpd.read_parquet(run / "zones" / "iris.parquet").drop(columns="population")
    iris.to_parquet(run / "zones" / "iris.parquet")
    (run / "zones.gpkg").unlink()
    ineq = json.loads((run / "inequality.json").read_text())
    ineq["population"] = None
    ineq["exposure_by_decile"]["by"] = "zones"
    (run / "inequality.json").write_text(json.dumps(ineq))
    doc = parse_html(build_report(run, lang="en").read_text(encoding="utf-8"))
    assert "Population" not in headers(doc, "deciles-table")
    assert "Population" not in headers(doc, "qpv-table")
    deciles, qpv = doc.by_id("deciles").text(), doc.by_id("qpv").text()
    assert "Unweighted mean of" in deciles and "Population-weighted" not in deciles
    assert "unweighted means of the IRIS (no population)" in qpv
    assert "Means of the IRIS, unweighted (no population)" in qpv
    assert "population-weighted" not in qpv.lower()


def test_columns_without_a_value_are_said_not_mapped(demo_run, tmp_path):
    # Every IRIS clouded (no LST), no red or NIR band (no NDVI): a line each, no map of
    # hatching under an empty colour bar.
    run = copy_run(demo_run, tmp_path / "run")
    iris = gpd.read_parquet(run / "zones" / "iris.parquet")
    iris[OUTCOME] = np.nan
    iris["ndvi_mean"] = np.nan
    iris.to_parquet(run / "zones" / "iris.parquet")
    (run / "zones.gpkg").unlink()
    doc = parse_html(build_report(run, lang="en").read_text(encoding="utf-8"))
    maps = doc.by_id("maps").text()
    assert doc.by_id("figure-lst_map") is None and doc.by_id("figure-ndvi_map") is None
    assert "temperature map: no IRIS has a value" in maps
    assert "NDVI map: no IRIS has a value (no red and near-infrared bands" in maps
    assert "Grey hatching" not in maps and "neither temperature nor NDVI" not in maps
    headlines = doc.by_id("headlines").text()
    assert "No IRIS has a surface temperature: no clear Landsat observation" in headlines


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_bad_run_folder_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "ReportError" in lines[0] and "manifest.json and zones.gpkg missing" in lines[0]


def test_cli_report_html_being_a_folder_is_one_line_before_any_figure(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    (run / "report.html").unlink(missing_ok=True)
    (run / "report.html").mkdir()
    for png in (run / "figures").glob("*.png"):
        png.unlink()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        f"Error: OutputError: the report {run / 'report.html'} is a folder; remove or rename it"
    ]
    assert not list((run / "figures").glob("*.png"))


def test_cli_rejects_unknown_language(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--lang", "de"])
    assert result.exit_code == 2
    assert "'de' is not one of 'fr', 'en'" in result.output


def test_cli_help():
    result = CliRunner().invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    assert "RUN_DIR" in result.output and "--lang" in result.output


def test_a_single_fit_is_said_to_have_no_range(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    (run / "heat_island.json").unlink(missing_ok=True)
    add_extras(run, model={**MODEL, "replicates": 1})  # COMPARISON has no _min/_max columns
    text = _built(run, build_report(run, lang="en")).doc.by_id("scenarios").text()
    assert "given by a single fit of the model (scenario_model.replicates: 1)" in text
    assert "In brackets" not in text
    run = copy_run(demo_run, tmp_path / "run10")
    (run / "heat_island.json").unlink(missing_ok=True)
    add_extras(run, model={**MODEL, "replicates": 10})
    assert (
        "single fit" not in _built(run, build_report(run, lang="en")).doc.by_id("scenarios").text()
    )


def test_scenario_ranges_are_shown_only_where_they_are_ranges():
    from pipelines.report.sections import _has_spread, _range

    table = pd.DataFrame(
        {
            "mean_delta_k": [-1.0, -2.0, -3.0],
            "mean_delta_k_min": [-1.0, -2.5, float("nan")],
            "mean_delta_k_max": [-1.0 + 1e-16, -1.5, float("nan")],
        }
    )
    rows = [row for _, row in table.iterrows()]
    assert _range(rows[0], "mean_delta_k") is None  # one replicate, or rounding
    assert _range(rows[1], "mean_delta_k") == (-2.5, -1.5)
    assert _range(rows[2], "mean_delta_k") is None  # no value to range over
    assert _has_spread(table)
    assert not _has_spread(table.iloc[[0, 2]])


def test_rebuilt_report_keeps_the_run_language(demo_run, tmp_path):
    """`ilots report RUN` writes the report in the run's outputs.report_language (it always
    wrote French); --lang still chooses."""
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["outputs"]["report_language"] = "en"
    (run / "manifest.json").write_text(json.dumps(manifest))
    runner = CliRunner()
    assert runner.invoke(main, ["report", str(run)]).exit_code == 0
    assert '<html lang="en"' in (run / "report.html").read_text(encoding="utf-8")
    assert runner.invoke(main, ["report", str(run), "--lang", "fr"]).exit_code == 0
    assert '<html lang="fr"' in (run / "report.html").read_text(encoding="utf-8")


#: The maps' caption of a run leaving water out of its NDVI (mask.indices_keep_water false).
NDVI_OVER_LAND = "NDVI: mean over each IRIS's land (water left out)."


def test_quality_note_says_what_the_valid_share_is_of(demo_run, tmp_path):
    """The demo leaves water out of its LST: the share is of the land. A run that kept water
    (``mask.lst_keep_water``) measured it over the whole area, and the report says so."""
    run = copy_run(demo_run, tmp_path / "run")
    report = _built(run, build_report(run, lang="en"))
    assert "Share of the land (water left out) covered by valid pixels" in report.html
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["mask"]["lst_keep_water"] = True
    (run / "manifest.json").write_text(json.dumps(manifest))
    report = _built(run, build_report(run, lang="en"))
    # Its NDVI still leaves water out (mask.indices_keep_water false), as the maps say.
    assert "water left out" not in unescape(report.html).replace(NDVI_OVER_LAND, "")
    assert "Share of the area (water included) covered by valid pixels" in report.html


def test_the_report_says_the_ndvi_is_a_mean_over_land_unless_the_run_kept_water(demo_run, tmp_path):
    """The demo leaves water out of its NDVI (mask.indices_keep_water false): the report says
    its zone means are over the land; of a run keeping water, it does not."""
    run = copy_run(demo_run, tmp_path / "run")
    assert NDVI_OVER_LAND in unescape(_built(run, build_report(run, lang="en")).html)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["mask"]["indices_keep_water"] = True
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert "NDVI: mean over" not in unescape(_built(run, build_report(run, lang="en")).html)


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_cli_report_waits_for_no_run_writing_the_folder(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    with held_elsewhere(run) as other:
        result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: OutputError: {run.resolve()} is in use by another ilots command (pid "
        f"{other.pid} on {socket.gethostname()}: a run, scenarios or a comparison); wait for it "
        "to end, or choose another --out"
    ]
    assert not (run / "report.html").exists()
    assert CliRunner().invoke(main, ["report", str(run)]).exit_code == 0  # free again
    assert (run / "report.html").is_file()


# --- audit fixes: counts, caveats, wording, tables, figures ------------------------------------


def _with_inequality(demo_run, tmp_path, edit):
    run = copy_run(demo_run, tmp_path / "run")
    ineq = json.loads((run / "inequality.json").read_text())
    edit(ineq)
    (run / "inequality.json").write_text(json.dumps(ineq))
    return run


def test_an_older_inequality_json_with_a_standard_c_still_renders(demo_run, tmp_path, en_report):
    # Runs before the standard C of temperatures was left out wrote a number there (the
    # demo's −0.29); the report reads GC, so such a file gives the same key findings.
    written = json.loads((demo_run / "inequality.json").read_text())
    assert written["concentration_index"]["value"] is None

    def older(ineq):
        ineq["concentration_index"].update(value=-0.29, se=0.04, ci_low=-0.37, ci_high=-0.21)

    run = _with_inequality(demo_run, tmp_path, older)
    built = _built(run, build_report(run, lang="en"))
    assert built.text("headlines") == en_report.text("headlines")


def test_qpv_table_counts_the_iris_its_means_rest_on(demo_run, tmp_path):
    # Three IRIS lose their anomaly (one in QPV, two out): the table's counts and population
    # are those of the IRIS its means rest on, and the caption says how many are left out.
    run = copy_run(demo_run, tmp_path / "run")
    iris = gpd.read_parquet(run / "zones" / "iris.parquet")
    qpv_rows = iris.index[iris["in_qpv"].astype(bool)]
    other_rows = iris.index[~iris["in_qpv"].astype(bool)]
    iris.loc[[qpv_rows[0], other_rows[0], other_rows[1]], OUTCOME] = np.nan
    iris.to_parquet(run / "zones" / "iris.parquet")
    (run / "zones.gpkg").unlink()
    built = _built(run, build_report(run, lang="fr"))
    rows = dict(table_rows(built.doc, "qpv-table"))
    for key, part in (("in", iris[iris["in_qpv"]]), ("out", iris[~iris["in_qpv"]])):
        used = part.dropna(subset=[OUTCOME, "population"])
        population = f"{used['population'].sum():,.0f}".replace(",", " ")
        assert rows[key][1:3] == [str(len(used)), population], key
        assert rows[key][3] == fr(np.average(used[OUTCOME], weights=used["population"]))
        # Every column over the same IRIS: the NDVI too (it was over those with an NDVI).
        assert rows[key][5] == fr(np.average(used["ndvi_mean"], weights=used["population"]))
    assert int(rows["in"][1]) == int(iris["in_qpv"].sum()) - 1
    caption = built.doc.by_id("qpv-table-caption").text()
    assert (
        "Les colonnes IRIS et Population comptent les IRIS qui entrent dans la moyenne de "
        "l'anomalie de température de surface ΔT : ceux qui en ont une valeur et une population."
    ) in caption
    assert "3 IRIS sans valeur ou sans population n'y entrent pas (1 en QPV, 2 autres)." in caption
    assert "compte tous les IRIS" not in caption


def test_the_decile_section_keeps_the_headline_caveats(demo_run, tmp_path):
    # An interval through 0: "En bref" says the gap is not established, so must the section.
    def through_zero(ineq):
        ineq["exposure_by_decile"]["gap_d1_d10"]["ci_low"] = -0.5

    run = _with_inequality(demo_run, tmp_path, through_zero)
    built = _built(run, build_report(run, lang="fr"))
    caveat = "mais l'écart n'est pas établi : son intervalle de confiance contient 0 (IC 95 %"
    basis = "Les déciles classent les IRIS par leur revenu médian (Filosofi), non les ménages"
    assert caveat in built.text("headline-decile_gap") and basis in built.text(
        "headline-decile_gap"
    )
    section = built.text("deciles")
    headline = built.text("headline-decile_gap")
    assert headline.split("Les déciles")[0] in section  # the sentence, with its notes
    assert caveat in section and basis in section


def test_morans_i_without_significance_is_not_said_to_make_iris_alike(demo_run, tmp_path):
    def weak(ineq):
        ineq["morans_i"].update(value=0.0681, p_value=0.2164)

    run = _with_inequality(demo_run, tmp_path, weak)
    text = _built(run, build_report(run, lang="fr")).text("method")
    assert "Ces données n'établissent pas que les IRIS voisins se ressemblent" in text
    assert "(I de Moran = 0,068, p = 0,22)" in text
    assert "Or les IRIS voisins se ressemblent" not in text
    text = _built(run, build_report(run, lang="en")).text("method")
    assert "These data do not establish that neighbouring IRIS are alike" in text
    assert "(Moran's I = 0.068, p = 0.22)" in text and "Neighbouring IRIS are alike" not in text


# The kinds' headings, typed from the wording the report is to use (not read from its table).
KINDS_FR = {
    "zone_geometry_repaired": "Géométries de zones invalides, réparées : leurs surfaces "
    "peuvent différer un peu des surfaces publiées",
    "secret_values": "Valeurs INSEE couvertes par le secret statistique ou absentes : "
    "laissées vides, jamais mises à 0",
    "qpv_without_iris": "Des QPV qu'aucun IRIS compté « en QPV » ne couvre en majeure partie : "
    "leurs IRIS comptent parmi les autres IRIS dans l'écart QPV ; leurs statistiques propres "
    "sont celles de la couche qpv",
}
KINDS_EN = {
    "zone_geometry_repaired": "Invalid zone geometries, repaired: their areas may differ "
    "slightly from the published ones",
    "secret_values": "INSEE values withheld by statistical confidentiality or missing: left "
    "empty, never set to 0",
    "qpv_without_iris": "QPV that no IRIS counted 'in QPV' mostly covers: their IRIS count "
    "among the other IRIS in the QPV gap; their own statistics are those of the qpv layer",
}


def _warning_groups(section: Node) -> list[tuple[str | None, list[str], str | None]]:
    """(heading, messages, lang of the list) of each list of warnings, in page order."""
    groups, heading = [], None
    for node in section.children:
        if not isinstance(node, Node):
            continue
        if node.tag == "h4":
            heading = node.text()
        elif node.tag == "ul" and "items" in node.attrs.get("class", ""):
            groups.append((heading, [li.text() for li in node.iter("li")], node.attrs.get("lang")))
            heading = None
    return groups


def _lead(section: Node) -> str:
    (title,) = list(section.iter("h3"))
    notes = [n for n in section.children if isinstance(n, Node) and n.tag == "p"]
    return next(
        n.text() for n in notes if section.children.index(n) > section.children.index(title)
    )


def test_the_run_warnings_are_named_by_kind_over_their_quoted_messages(fr_report):
    manifest = json.loads((fr_report.run / "manifest.json").read_text())
    warned, codes = manifest["warnings"], manifest["warning_codes"]
    # The demo repairs a QPV geometry, reads secret Filosofi cells, and has a QPV that no
    # IRIS counted in QPV covers (QP031903).
    assert codes == ["zone_geometry_repaired", "secret_values", "qpv_without_iris"]
    quality = fr_report.doc.by_id("quality")
    (title,) = list(quality.iter("h3"))
    assert title.text() == "Avertissements du traitement"
    assert _lead(quality) == (
        "Chaque type d'avertissement est résumé en français ; suivent, comme détail technique, "
        "les messages d'origine, cités en anglais tels qu'ils sont écrits dans manifest.json."
    )
    # A French heading per kind, then the message as the manifest has it, marked English.
    assert _warning_groups(quality) == [
        (KINDS_FR[code], [" ".join(message.split())], "en")
        for code, message in zip(codes, warned, strict=True)
    ]
    assert f"réparées{NBSP}: leurs surfaces" in fr_report.html  # French typography


def test_an_english_report_names_the_kinds_in_english(en_report):
    manifest = json.loads((en_report.run / "manifest.json").read_text())
    quality = en_report.doc.by_id("quality")
    assert _lead(quality) == (
        "Each kind of warning is summed up; the original messages follow as technical detail, "
        "quoted as written in manifest.json."
    )
    assert _warning_groups(quality) == [
        (KINDS_EN[code], [" ".join(message.split())], None)  # the page's language: no lang
        for code, message in zip(manifest["warning_codes"], manifest["warnings"], strict=True)
    ]


def test_a_manifest_without_warning_kinds_lists_its_warnings_as_unclassified(demo_run, tmp_path):
    """A run folder written before warning_codes: the original lead, one list under the
    generic French heading of the warnings the report has no summary of."""
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["warning_codes"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    quality = _built(run, build_report(run, lang="fr")).doc.by_id("quality")
    assert _lead(quality) == (
        "Messages émis par le traitement, cités en anglais tels qu'ils sont écrits dans "
        "manifest.json."
    )
    assert len(manifest["warnings"]) > 1
    assert _warning_groups(quality) == [
        (UNCLASSIFIED_FR, [" ".join(w.split()) for w in manifest["warnings"]], "en")
    ]


UNCLASSIFIED_FR = (
    "Avertissements non classés : le rapport n'a pas de résumé en français pour ces messages, "
    "cités ci-dessous tels que le traitement les a écrits"
)
UNCLASSIFIED_EN = (
    "Unclassified warnings: the report has no summary of its own for these messages, quoted "
    "below as the run wrote them"
)


@pytest.mark.parametrize(
    ("lang", "secret", "other"),
    [("fr", KINDS_FR["secret_values"], UNCLASSIFIED_FR),
     ("en", KINDS_EN["secret_values"], UNCLASSIFIED_EN)],
)  # fmt: skip
def test_warnings_of_no_known_kind_come_last_as_unclassified(
    demo_run, tmp_path, lang, secret, other
):
    """A code this report does not know (a later ilots'), none, or none given at all (fewer
    codes than warnings): under a generic heading, after the kinds it names."""
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["warnings"] = ["first", "a later kind", "no kind", "secret cells", "no code"]
    manifest["warning_codes"] = [None, "from_a_later_ilots", None, "secret_values"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    quality = _built(run, build_report(run, lang=lang)).doc.by_id("quality")
    assert [(heading, said) for heading, said, _ in _warning_groups(quality)] == [
        (secret, ["secret cells"]),
        (other, ["first", "a later kind", "no kind", "no code"]),
    ]


def test_one_warning_of_no_known_kind_has_the_generic_heading_in_the_singular(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["warnings"], manifest["warning_codes"] = ["a plain UserWarning"], [None]
    (run / "manifest.json").write_text(json.dumps(manifest))
    quality = _built(run, build_report(run, lang="fr")).doc.by_id("quality")
    assert _warning_groups(quality) == [
        (
            "Avertissement non classé : le rapport n'a pas de résumé en français pour ce "
            "message, cité ci-dessous tel que le traitement l'a écrit",
            ["a plain UserWarning"],
            "en",
        )
    ]


def test_every_table_has_a_caption_and_row_headers(full_report, en_report):
    labels = {  # table → the column that names its rows
        "deciles-table": 0, "qpv-table": 0, "qpv-polygons": 0, "hottest-table": 1,
        "suhii-table": 0, "scenarios-table": 0,
    }  # fmt: skip
    for built in (full_report, en_report):
        tables = list(built.doc.iter("table"))
        assert {t.attrs["id"] for t in tables} == set(labels)
        for table in tables:
            (caption,) = list(table.iter("caption"))
            assert caption.text(), table.attrs["id"]
            (body,) = list(table.iter("tbody"))
            for tr in body.iter("tr"):
                cells = row_cells(tr)
                heads = [i for i, cell in enumerate(cells) if cell.tag == "th"]
                assert heads == [labels[table.attrs["id"]]], table.attrs["id"]
                assert cells[heads[0]].attrs.get("scope") == "row"
    assert full_report.doc.by_id("hottest-table-caption").text() == (
        "Les 20 IRIS les plus chauds selon l'anomalie de température de surface ΔT, du plus "
        "chaud au moins chaud."
    )


def test_wide_tables_stay_readable_on_screen_and_in_print(full_report):
    style = "".join(node.text() for node in full_report.doc.iter("style"))
    screen, _, printed = style.partition("@media print")
    # On screen: a wide table scrolls inside its frame; in print: small type, wrapping.
    assert re.search(r"\.table-wrap \{[^}]*overflow-x: auto", screen)
    assert re.search(r"table \{[^}]*font-size: 7pt", printed)
    assert re.search(r"td\.num, th\.num \{ white-space: normal; \}", printed)
    assert re.search(r"\.table-wrap\.wide \{ page: wide; \}", printed)
    assert "@page wide { size: A4 landscape;" in style
    (wrap,) = [
        div for div in full_report.doc.iter("div")
        if div.by_id("scenarios-table") is not None and "table-wrap" in div.attrs.get("class", "")
    ]  # fmt: skip
    assert wrap.attrs["class"] == "table-wrap wide"  # 15 columns: a landscape page in print


def test_french_numbers_are_bound_to_their_units(fr_report, full_report):
    # "1,53 K", "33 °C", "1 500 m": never split across lines (a non-breaking space).
    for built in (fr_report, full_report):
        body = re.sub(r'src="data:[^"]*"', "", built.html.split("<body>", 1)[1])
        body = re.sub(r"<td>[^<]*</td>", "", body)  # scenario descriptions: the config's words
        loose = re.findall(r"\d (?:K|°C|m|ha|€)(?![\w])", body)
        assert loose == []
        assert "\u00a0K" in body and "306,15\u00a0K = 33\u00a0°C" in body


def test_the_scatter_title_and_hottest_headline_read_as_french(fr_report):
    assert fr_report.doc.by_id("figure-income_scatter").iter("img").__next__().attrs["alt"] == (
        "Le revenu médian et l'anomalie de température de surface ΔT"
    )
    text = fr_report.text("headline-hottest")
    assert re.search(r"\(l'anomalie de température de surface ΔT y est de \d+,\d\d K\)\.$", text)
    assert "ΔT :" not in text
    concentration = fr_report.text("headline-concentration")
    sentence, note = concentration.split("Lecture :")  # its note explains the index
    assert sentence.count(":") == 1 and "2 × la covariance" in note


def test_figures_of_a_synthetic_run_carry_the_mark(demo_run, monkeypatch):
    from pipelines.report import figures as report_figures
    from pipelines.report.data import read_run
    from pipelines.report.sections import build_page
    from pipelines.report.text import Messages

    seen = []
    real = report_figures.png_bytes

    def spy(fig, **kwargs):
        seen.append([t.get_text() for t in fig.texts])
        return real(fig, **kwargs)

    monkeypatch.setattr(report_figures, "png_bytes", spy)
    summary = read_run(demo_run)
    assert summary.synthetic
    for lang, mark in (("fr", "Données synthétiques\u00a0: aucun lieu réel"),
                       ("en", "Synthetic data: not a real place")):  # fmt: skip
        seen.clear()
        page = build_page(summary, Messages(lang))
        assert len(seen) == len([f for f in page.figures() if f.name]) >= 6
        assert all(mark in texts for texts in seen), seen
    seen.clear()
    build_page(replace(summary, synthetic=False), Messages("fr"))
    assert seen and not any("synth" in t.lower() for texts in seen for t in texts)


#: The run's per-IRIS columns an inequality outcome can be (inequality.outcomes), with the
#: French words for them, typed here: (in a sentence, on an axis).
OUTCOME_WORDS_FR = {
    "lst_anomaly_mean_k": ("l'anomalie de température de surface ΔT",
                           "Anomalie de température de surface ΔT (K)"),
    "lst_mean_k": ("la température de surface", "Température de surface (K)"),
    "lst_p90_k": ("le 90e centile de température de surface", "LST, 90e centile (K)"),
    "lst_p90_mean_k": ("le 90e centile de température de surface des scènes, moyenné sur l'IRIS",
                       "LST, 90e centile des scènes, moyenne de l'IRIS (K)"),
    "ndvi_mean": ("le NDVI", "NDVI moyen"),
    "albedo_mean": ("l'albédo moyen", "Albédo moyen"),
    "n_clear_mean": ("le nombre moyen d'observations claires",
                     "Observations claires (moyenne des pixels)"),
    "lc_water_frac": ("la part d'eau", "Part d'eau"),
    "lc_dense_vegetation_frac": ("la part de végétation dense", "Part de végétation dense"),
    "lc_low_vegetation_frac": ("la part de végétation basse", "Part de végétation basse"),
    "lc_built_frac": ("la part bâtie", "Part bâtie"),
    "lc_bare_soil_frac": ("la part de sol nu", "Part de sol nu"),
}  # fmt: skip


def test_every_outcome_column_of_the_run_has_french_and_english_words(iris):
    from pipelines.report.text import Messages

    fr_words, en_words = Messages("fr"), Messages("en")
    for column, (var, axis) in OUTCOME_WORDS_FR.items():
        assert column in iris.columns, column  # the run writes it
        assert (fr_words.label(column), fr_words.label(column, "axis")) == (var, axis)
        english = (en_words.label(column), en_words.label(column, "axis"))
        assert column not in english and english != (var, axis), column


def test_a_land_cover_outcome_is_worded_in_french_in_text_and_figures(demo_run, monkeypatch):
    """inequality.outcomes may start with any per-IRIS column: the report says it in words,
    in the sentences and in the labels given to matplotlib, never as its column name."""
    from matplotlib.text import Text

    from pipelines.report import figures as report_figures
    from pipelines.report.data import read_run
    from pipelines.report.html import render_html
    from pipelines.report.sections import build_page
    from pipelines.report.text import Messages

    drawn: list[str] = []
    real = report_figures.png_bytes

    def spy(fig, **kwargs):
        drawn.extend(t.get_text() for t in fig.findobj(Text))
        return real(fig, **kwargs)

    monkeypatch.setattr(report_figures, "png_bytes", spy)
    summary = read_run(demo_run)
    column = "lc_dense_vegetation_frac"
    page = build_page(
        replace(summary, inequality={**summary.inequality, "outcome": column}), Messages("fr")
    )
    text = parse_html(render_html(page)).text()
    assert column not in text and not any(column in t for t in drawn)
    assert "Corrélation de Pearson entre le revenu médian et la part de végétation dense" in text
    assert "Part de végétation dense" in drawn  # the scatter's and the deciles' y axis
    assert "Le revenu médian et la part de végétation dense" in drawn  # the scatter's title


def test_extrapolated_shares_written_before_they_were_of_edited_pixels_are_said_so(
    demo_run, tmp_path
):
    """A folder scenario'd by an earlier ilots: its summary.json has no
    outside_fitted_range_of, its shares are of every predicted pixel (neighbours included),
    and the report says so rather than claim the changed pixels' definition."""
    run = copy_run(demo_run, tmp_path / "run", scenarios=True)
    for path in (run / "scenarios").glob("*/summary.json"):
        summary = json.loads(path.read_text())
        del summary["outside_fitted_range_of"]
        path.write_text(json.dumps(summary))
    text = _built(run, build_report(run, lang="en")).text("scenarios")
    assert (
        "Extrapolated share: the share of the predicted pixels (those with a predictor that "
        "changes, the changed pixels' neighbours included)"
    ) in text
    assert "as an earlier version of ilots wrote it; rerun ilots scenarios" in text
    assert "of the predicted pixels (neighbours included) lie outside the fitted range" in text
    assert "of the changed pixels with a prediction lie outside" not in text
    assert "Extrapolated share: the share of the changed pixels" not in text


def test_a_mostly_extrapolated_demo_scenario_is_said_so_in_english(demo_run, en_report):
    comparison = pd.read_csv(demo_run / "scenarios" / "comparison.csv").set_index("scenario")
    share = comparison.loc["cool_roofs", "extrapolated_share"]
    assert share >= 0.5 > comparison.loc["green_qpv", "extrapolated_share"]
    summary = json.loads((demo_run / "scenarios" / "cool_roofs" / "summary.json").read_text())
    worst = max(summary["outside_fitted_range"], key=summary["outside_fitted_range"].get)
    assert worst == "albedo"
    text = en_report.text("scenarios")
    assert (
        f"Scenario “cool_roofs”: {100 * share:.0f}% of the changed pixels with a prediction "
        "lie outside the fitted range of the predictor “albedo”. Its effect is therefore "
        "mostly extrapolated: beyond that range the model holds the response it has at the "
        "edge, so the effect is likely underestimated (conservative)."
    ) in text
    assert "Scenario “green_qpv”:" not in text
    assert "Extrapolated share: the share of the changed pixels with a prediction" in text
    # The area the per-hectare effect rests on is the table's, from comparison.csv.
    rows = dict(table_rows(en_report.doc, "scenarios-table"))
    column = headers(en_report.doc, "scenarios-table").index("Area changed with a prediction (ha)")
    assert rows["cool_roofs"][column] == en(
        comparison.loc["cool_roofs", "area_changed_predicted_m2"] / 1e4
    )


def test_ilots_report_draws_the_anomaly_map_in_the_range_of_the_folders_config(
    demo_run, tmp_path, monkeypatch
):
    """outputs.anomaly_range_k set in the run folder's config.yaml after the run: ``ilots
    report`` redraws the anomaly map over ±1.5 K (the demo's IRIS reach beyond it)."""
    from pipelines.report import sections

    run = copy_run(demo_run, tmp_path / "run")
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    assert config["outputs"]["anomaly_range_k"] is None  # the demo's: fitted to its values
    ranges = {}
    drawn = sections.figures.map_figure

    def map_figure(zones, column, *args, **kwargs):
        fig = drawn(zones, column, *args, **kwargs)
        norm = fig.axes[0].collections[0].norm
        ranges[column] = (norm.vmin, norm.vmax, zones[column].abs().max())
        return fig

    monkeypatch.setattr(sections.figures, "map_figure", map_figure)
    CliRunner().invoke(main, ["report", str(run)], catch_exceptions=False)
    low, high, largest = ranges["lst_anomaly_mean_k"]
    assert high == -low == largest > 1.5, "without it: the largest |anomaly| of the IRIS"
    config["outputs"]["anomaly_range_k"] = 1.5
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ranges["lst_anomaly_mean_k"][:2] == (-1.5, 1.5)
    assert ranges["ndvi_mean"][:2] != (-1.5, 1.5)
