"""Report sections built from hand-made run summaries (no demo run): titles, notes, meta."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pipelines.config.models import MaskConfig
from pipelines.outputs.folder import RunFolder
from pipelines.report import sections
from pipelines.report.data import RunSummary, ScenarioFiles
from pipelines.report.headlines import suhii_coverage_note
from pipelines.report.tables import GroupMeans, hottest_zones
from pipelines.report.text import Messages
from pipelines.report.views import FigureBlock, HeadlineBlock, Paragraph, TableBlock
from tests.pipelines.report.helpers import NBSP

FR, EN = Messages("fr"), Messages("en")


def _iris(values):
    """One square IRIS per value of ``lst_mean_k`` (NaN: no value), codes 1, 2, ..."""
    return gpd.GeoDataFrame(
        {
            "code_iris": [str(k + 1) for k in range(len(values))],
            "nom_iris": [f"IRIS {k + 1}" for k in range(len(values))],
            "lst_mean_k": values,
        },
        geometry=[box(k, 0, k + 1, 1) for k in range(len(values))],
        crs="EPSG:2154",
    )


def _summary(
    tmp_path, *, iris=None, manifest=None, heat_island=None, n_clear=None, inequality=None
):
    return RunSummary(
        folder=RunFolder(tmp_path),
        manifest=manifest or {},
        iris=iris if iris is not None else _iris([300.0, 301.0]),
        qpv=None,
        inequality=inequality,
        heat_island=heat_island,
        scenarios=ScenarioFiles(),
        n_clear=n_clear,
        n_clear_decimated=False,
        synthetic=False,
    )


def _texts(section):
    """The plain text of each paragraph and headline of a section."""
    found = []
    for block in section.blocks:
        if isinstance(block, Paragraph):
            found.append(block.text.replace(NBSP, " "))
        elif isinstance(block, HeadlineBlock):
            for headline in block.headlines:
                found += [t.replace(NBSP, " ") for t in (headline.text, *headline.notes)]
    return found


# 9 IRIS, 4 without a value: the 5 with one are 305, 304, 303, 302, 301 K.
FEW_VALUES = [305.0, np.nan, 304.0, np.nan, 303.0, np.nan, 302.0, np.nan, 301.0]


def test_the_hottest_section_of_five_iris_with_a_value_says_five(tmp_path):
    summary = _summary(tmp_path, iris=_iris(FEW_VALUES))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    section = sections._hottest(summary, hottest, "lst_mean_k", FR)
    assert section.title == "Les 5 IRIS les plus chauds"
    assert sections._hottest(summary, hottest, "lst_mean_k", EN).title == "The 5 hottest IRIS"
    # One IRIS with a value: no "Les 1 IRIS"
    one = _summary(tmp_path, iris=_iris([305.0, np.nan]))
    hottest = hottest_zones(one.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    assert sections._hottest(one, hottest, "lst_mean_k", FR).title == "L'IRIS le plus chaud"
    assert sections._hottest(one, hottest, "lst_mean_k", EN).title == "The hottest IRIS"


def test_the_hottest_table_says_no_iris_but_the_hottest_is_hotter_than_all(tmp_path):
    """870 evenly spaced IRIS: the k-th hottest is hotter than (870 − k)/869 of the others,
    100 % for the first, 99.88 % to 99.54 % for the 2nd to 5th ("> 99 %"), 99.42 % for the
    6th ("99 %")."""
    summary = _summary(tmp_path, iris=_iris(300.0 + 0.01 * np.arange(870)))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    (table,) = [b for b in sections._hottest(summary, hottest, "lst_mean_k", EN).blocks
                if isinstance(b, TableBlock)]  # fmt: skip
    column = table.headers.index(EN("col_hotter_than"))
    shown = [row[column].text for row in table.rows[:7]]
    assert shown == ["100%", "> 99%", "> 99%", "> 99%", "> 99%", "99%", "99%"]


def test_the_hottest_headline_counts_the_other_iris_with_a_value(tmp_path):
    summary = _summary(tmp_path, iris=_iris(FEW_VALUES))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    (text,) = [t for t in _texts(sections._headlines(summary, hottest, "lst_mean_k", FR, None))
               if t.startswith("L'IRIS le plus chaud")]  # fmt: skip
    # IRIS 1 (305 K) is hotter than the 4 others with a value: 4/4.
    assert "IRIS 1 (1), est plus chaud que 100 % des 4 autres IRIS ayant une valeur" in text
    (text,) = [t for t in _texts(sections._headlines(summary, hottest, "lst_mean_k", EN, None))
               if t.startswith("The hottest IRIS")]  # fmt: skip
    assert "is hotter than 100% of the 4 other IRIS with a value" in text


def test_the_deciles_caption_says_the_bars_are_differences_from_the_mean(tmp_path):
    rows = [{"decile": d, "exposure": 310.0 - 0.5 * d, "n_zones": 1} for d in range(1, 11)]
    deciles = {"by": "zones", "overall": 307.1, "deciles": rows,
               "gap_d1_d10": {"value": 4.5, "ci_low": 3.0, "ci_high": 6.0}}  # fmt: skip
    inequality = {"outcome": "lst_mean_k", "exposure_by_decile": deciles}
    summary = _summary(tmp_path, inequality=inequality)
    (figure,) = [b for b in sections._deciles(summary, FR, sections._Drawer()).blocks
                 if isinstance(b, FigureBlock)]  # fmt: skip
    assert figure.caption.replace(NBSP, " ").endswith(
        "Barres : écart de chaque décile à la moyenne de l'ensemble (307,10 K)."
    )


def test_a_qpv_left_out_without_a_gap_is_said_out_of_the_table_row(tmp_path):
    """No inequality file (no census): no gap is given, so the QPV no IRIS counted in QPV
    covers (C: 40 % of IRIS 3) is said to be out of the table's row of the QPV IRIS, not
    out of "this gap"."""
    iris = _iris([305.0, 301.0, 302.0]).assign(
        lst_anomaly_mean_k=[5.0, 1.0, 2.0], in_qpv=[True, False, False]
    )
    iris = iris.set_geometry([box(100 * k, 0, 100 * k + 100, 100) for k in range(3)])  # m
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QP000001", "QP000003"], "nom_qp": ["A", "C"]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 240, 100)],
        crs="EPSG:2154",
    )
    summary = dataclasses.replace(_summary(tmp_path, iris=iris), qpv=qpv)
    left_out = sections._qpv_left_out(summary)
    assert left_out["code_qp"].tolist() == ["QP000003"]
    texts = _texts(sections._qpv(summary, FR, sections._Drawer(), left_out))
    assert texts[0] == (
        "Le QPV QP000003 « C » (ses IRIS au plus à 40 % en QPV) n'entre pas dans la ligne "
        "« IRIS en QPV » du tableau ci-dessous : aucun IRIS compté en QPV n'en couvre la "
        "majeure partie, et ses IRIS comptent parmi les autres IRIS. Ses statistiques propres "
        "sont dans le tableau des QPV (couche qpv)."
    )
    texts = _texts(sections._qpv(summary, EN, sections._Drawer(), left_out))
    assert texts[0].startswith(
        "QPV QP000003 'C' (its IRIS at most 40% in QPV) is not in the row “QPV IRIS” of the "
        "table below: no IRIS counted in QPV covers most of it, and its IRIS count among the "
        "other IRIS."
    )


def test_the_area_of_interest_says_the_area_its_whole_iris_cover(tmp_path):
    """The audit's bounding box of 0.807 km² touches 4 IRIS of 0.3025 km² each (550 m
    squares), kept whole: they cover 1.21 km², said beside the box's area; IRIS that make up
    the area of interest (within 1 %) are not said twice."""
    iris = _iris([300.0] * 4).assign(area_m2=[550.0**2] * 4)
    area = {"description": "bbox [1.309, 43.6195, 1.319, 43.6285]", "area_km2": 0.8070646,
            "bounds_wgs84": [1.309, 43.6195, 1.319, 43.6285]}  # fmt: skip
    summary = _summary(tmp_path, iris=iris, manifest={"area": area})
    (line,) = sections._area_line(summary, FR)
    assert line.replace(NBSP, " ") == (
        "Zone d'étude : rectangle [1.309, 43.6195, 1.319, 43.6285] (0,807 km²) ; les 4 IRIS "
        "retenus, analysés entiers, couvrent 1,21 km²"
    )
    about = [i for i in sections._about(summary, EN).blocks[0].items if "km²" in i]
    assert about == [
        "Area of interest: bbox [1.309, 43.6195, 1.319, 43.6285]; 0.807 km² (on the WGS 84 "
        "ellipsoid); the 4 IRIS kept, analysed whole, cover 1.21 km²; longitudes 1.309 "
        "to 1.319 and latitudes 43.620 to 43.629 (degrees, WGS 84)."
    ]
    one = _summary(tmp_path, iris=iris.iloc[:1].assign(area_m2=600.0**2), manifest={"area": area})
    assert sections._area_line(one, EN)[0].endswith(
        "(0.807 km²); the IRIS kept, analysed whole, covers 0.360 km²"
    )
    whole = {**area, "description": "4 iris features of 1 commune", "area_km2": 1.2109}
    summary = _summary(tmp_path, iris=iris, manifest={"area": whole})
    assert sections._area_line(summary, EN) == (
        "Area of interest: 4 iris features of 1 commune (1.21 km²)",
    )


def test_the_quality_section_counts_the_iris_flagged_low_clear_area(tmp_path):
    """3 of 4 IRIS flagged low_clear_area (composite.min_clear_area_frac 0.95), 2 of them
    with a value (valid_frac over zones.min_valid_frac 0.9): said, after the IRIS without
    a value; no flag, no sentence."""
    iris = _iris([300.0, np.nan, 301.0, 302.0]).assign(
        valid_frac=[0.92, 0.85, 0.93, 0.99], low_clear_area=[True, True, True, False]
    )
    config = {"composite": {"min_clear_area_frac": 0.95}, "zones": {"min_valid_frac": 0.9}}
    summary = _summary(tmp_path, iris=iris, manifest={"config": config})
    texts = _texts(sections._quality(summary, "lst_mean_k", FR, sections._Drawer()))
    # one IRIS: the singular, in French as in English (it read "1 IRIS sont ... n'ont")
    assert texts[1] == "1 IRIS est sous le seuil de couverture de 90 % et n'a pas de valeur."
    assert texts[2] == (
        "3 IRIS sont signalés low_clear_area (colonne de zones.gpkg) : moins de 95 % de leur "
        "surface hors eau a une LST composite et une anomalie ΔT composite "
        "(composite.min_clear_area_frac), le reste n'ayant pas assez d'observations claires. "
        "2 d'entre eux ont pourtant une valeur, tirée de leur seule partie dégagée : elle "
        "peut mal décrire l'IRIS entier, à lire avec prudence."
    )
    kept = {**config, "mask": {"lst_keep_water": True}}
    flagged = iris.assign(low_clear_area=[False, True, False, False])
    summary = _summary(tmp_path, iris=flagged, manifest={"config": kept})
    texts = _texts(sections._quality(summary, "lst_mean_k", EN, sections._Drawer()))
    assert texts[2] == (
        "1 IRIS is flagged low_clear_area (a column of zones.gpkg): under 95% of its area "
        "has a composite LST and a composite anomaly ΔT (composite.min_clear_area_frac), the "
        "rest having too few clear observations."
    )
    none = _summary(tmp_path, iris=iris.assign(low_clear_area=False), manifest={"config": config})
    texts = _texts(sections._quality(none, "lst_mean_k", EN, sections._Drawer()))
    assert not any("low_clear_area" in t for t in texts)


def test_the_quality_section_says_the_iris_with_an_lst_but_no_delta_t_apart(tmp_path):
    """For the ΔT column: 1 IRIS under the LST's share (the sentence's and histogram's), and
    2 more with an LST but ΔT on under 90 % of them (anomaly_valid_frac), said apart; for
    the LST column, not said."""
    iris = _iris([300.0, np.nan, 301.0, 302.0]).assign(
        valid_frac=[0.92, 0.85, 0.93, 0.99],
        anomaly_valid_frac=[0.5, 0.85, 0.6, 0.99],
        lst_anomaly_mean_k=[np.nan, np.nan, np.nan, 2.0],
    )
    config = {"zones": {"min_valid_frac": 0.9}}
    summary = _summary(tmp_path, iris=iris, manifest={"config": config})
    texts = _texts(sections._quality(summary, "lst_anomaly_mean_k", EN, sections._Drawer()))
    assert texts[2] == "1 IRIS is under the coverage threshold of 90% and has no value."
    assert texts[3] == (
        "2 other IRIS have a composite LST, but a ΔT anomaly on under 90% of their area "
        "(anomaly_valid_frac: fewer scenes have a reference) and have no anomaly value."
    )
    texts = _texts(sections._quality(summary, "lst_mean_k", EN, sections._Drawer()))
    assert not any("other IRIS" in t for t in texts)


def test_the_quality_section_gives_the_delta_t_share_after_the_lst_s(tmp_path):
    """anomaly_valid_frac 0.5, 0.8, 0.7, 0.99: minimum 50 %, median (0.7 + 0.8) / 2 = 75 %,
    said after the LST's share (valid_frac: minimum 85 %), in English and French; a table
    of an earlier ilots, without the column, has no such sentence."""
    iris = _iris([300.0, np.nan, 301.0, 302.0]).assign(
        valid_frac=[0.92, 0.85, 0.93, 0.99], anomaly_valid_frac=[0.5, 0.8, 0.7, 0.99]
    )
    summary = _summary(tmp_path, iris=iris, manifest={"config": {"zones": {"min_valid_frac": 0.9}}})
    texts = _texts(sections._quality(summary, "lst_mean_k", EN, sections._Drawer()))
    assert "covered by valid pixels: minimum 85%" in texts[0]
    assert texts[1] == (
        "On the same base, the share covered by pixels with an anomaly ΔT (anomaly_valid_frac, "
        "from the scenes with a reference only): minimum 50%, median 75%."
    )
    texts = _texts(sections._quality(summary, "lst_mean_k", FR, sections._Drawer()))
    assert texts[1] == (
        "Sur la même base, la part couverte par des pixels ayant une anomalie ΔT "
        "(anomaly_valid_frac, des seules scènes ayant une référence) : minimum 50 %, "
        "médiane 75 %."
    )
    older = dataclasses.replace(summary, iris=iris.drop(columns="anomaly_valid_frac"))
    texts = _texts(sections._quality(older, "lst_mean_k", EN, sections._Drawer()))
    assert texts[1] == "1 IRIS is under the coverage threshold of 90% and has no value."
    assert not any("anomaly" in t for t in texts)


def _decile_rows(counts):
    """Decile rows holding ``counts`` IRIS (D1 first), an empty one without income or value."""
    return [
        {"decile": d, "n_zones": n, "population": 1000.0 * n,
         "exposure": 7.0 - 0.05 * d if n else None,
         "income_min": 14000.0 + 300 * d if n else None,
         "income_max": 14000.0 + 300 * d if n else None}
        for d, n in enumerate(counts, start=1)
    ]  # fmt: skip


def _decile_texts(tmp_path, counts, gap, m):
    """The deciles section's figure caption and notes for deciles of ``counts`` IRIS."""
    deciles = {"by": "population", "overall": 7.0, "deciles": _decile_rows(counts),
               "gap_d1_d10": gap}  # fmt: skip
    inequality = {"outcome": "lst_anomaly_mean_k", "exposure_by_decile": deciles}
    section = sections._deciles(_summary(tmp_path, inequality=inequality), m, sections._Drawer())
    (figure,) = [b for b in section.blocks if isinstance(b, FigureBlock)]
    return figure.caption.replace(NBSP, " "), _texts(section)


def test_deciles_too_few_to_fill_are_said_and_give_no_gap(tmp_path):
    """The audit's 4 IRIS: D2, D4, D7 and D9 hold one each, D1 and D10 none, so there is no
    D1 − D10 gap (null in inequality.json): said, not "— K (IC 95 % — à —)"."""
    counts = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0]
    gap = {"value": None, "ci_low": None, "ci_high": None, "n": 4}
    caption, notes = _decile_texts(tmp_path, counts, gap, FR)
    assert caption.endswith(
        "Écart D1 − D10 : non calculé, faute d'IRIS en D1 et D10 (voir sous le tableau)."
    )
    assert "—" not in caption
    assert notes == [
        "Les 4 IRIS retenus sont trop peu nombreux pour remplir les dix déciles de revenu : "
        "D1, D3, D5, D6, D8, D10 n'en comptent aucun. Sans IRIS en D1 et D10, l'écart D1 − D10 "
        "n'est pas calculé ; une zone d'étude plus grande, avec plus d'IRIS, le donnerait."
    ]
    caption, notes = _decile_texts(tmp_path, [0, 2, 2, 2, 2, 2, 2, 2, 2, 3], gap, EN)
    assert caption.endswith(
        "D1 − D10 gap: not computed, for want of IRIS in D1 (see under the table)."
    )
    assert notes == [
        "The 19 IRIS used are too few to fill the ten income deciles: D1 holds none. With no "
        "IRIS in D1, the D1 − D10 gap is not computed; a larger study area, with more IRIS, "
        "would give it."
    ]


def test_an_empty_middle_decile_is_said_and_the_gap_given(tmp_path):
    """D5 empty, D1 and D10 with 3 IRIS: the gap (+0.45 K) is given, D5 said empty."""
    gap = {"value": 0.45, "ci_low": 0.1, "ci_high": 0.8, "n": 27}
    caption, notes = _decile_texts(tmp_path, [3, 3, 3, 3, 0, 3, 3, 3, 3, 3], gap, EN)
    assert caption.endswith("D1 − D10 gap: +0.45 K (95% CI 0.10 to 0.80).")
    assert notes[-1] == (
        "The 27 IRIS used are too few to fill the ten income deciles: D5 holds none."
    )


ONE_SCENE = {
    "definition": {
        "urban_definition": "union of 9 zone polygons",
        "reference_definition": "rural ring 1000-6000 m",
    },
    "composite": {
        "variable": "lst_anomaly",
        "suhii_k": 2.48,
        "urban_mean_k": 2.5,
        "rural_mean_k": 0.02,
        "urban_pixels": 900,
        "rural_pixels": 4000,
    },
    "scenes": [
        {
            "time": "2023-07-20T10:45:00Z",
            "platform": "landsat-9",
            "suhii_k": 2.48,
            "urban_mean_k": 310.0,
            "rural_mean_k": 307.52,
            "urban_pixels": 900,
            "rural_pixels": 4000,
            "rural_clear_share": 0.225,
            "urban_clear_share": 0.9,
        }
    ],
}


def test_the_suhii_headline_of_a_scene_with_a_rural_reference_225_pct_clear_says_so(tmp_path):
    summary = _summary(tmp_path, heat_island=ONE_SCENE)
    texts = _texts(sections._headlines(summary, None, None, FR, None))
    assert texts[0].startswith("Intensité de l'îlot de chaleur urbain de surface (SUHII) : 2,48 K")
    assert texts[1] == (
        "Couverture partielle : sur la seule scène (2023-07-20), 22 % seulement des pixels de "
        "la référence rurale étaient dégagés (moins de 50 %) ; le SUHII repose sur une partie "
        "seulement de la référence."
    )
    section = sections._suhii(summary, EN, sections._Drawer())
    (table,) = [b for b in section.blocks if isinstance(b, TableBlock)]
    assert table.headers[-2:] == ("Urban share clear", "Rural share clear")
    # the scene; the composite
    assert [[cell.text for cell in row[-2:]] for row in table.rows] == [["90%", "22%"], ["—", "—"]]
    assert _texts(section)[-1].startswith(
        "Partial coverage: on the only scene (2023-07-20), only 22%"
    )


def test_a_run_of_one_scene_says_its_temperatures_are_of_one_date(tmp_path):
    """One Landsat scene (composite.min_clear: 1): the headlines say so, the SUHII is not
    "on the median composite", the method note does not say day-to-day weather cancels,
    and the about section says "1 scene"."""
    summary = _summary(tmp_path, heat_island=ONE_SCENE)
    texts = _texts(sections._headlines(summary, None, None, FR, None))
    assert texts[0].startswith(
        "Intensité de l'îlot de chaleur urbain de surface (SUHII) : 2,48 K sur la seule scène "
        "de la période (2023-07-20)."
    )
    assert texts[2] == (
        "Une seule date : les températures de ce rapport viennent d'une seule scène Landsat "
        "(2023-07-20). Elles décrivent ce jour-là, avec sa météo (vent, humidité des sols, "
        "chaleur des jours précédents), qu'aucune autre date ne vient compenser ; des périodes "
        "plus larges, avec plus de scènes, donneraient un portrait plus sûr de la saison."
    )
    page = sections.build_page(summary, EN)
    (method,) = [s for s in page.sections if s.id == "method"]
    notes = method.blocks[0].items
    assert not any("day-to-day weather cancels" in n for n in notes)
    assert "with no other date, the median of clear observations is that scene" in notes[2]
    # two scenes: the median composite, weather cancelling, no single-date paragraph
    two = {**ONE_SCENE, "scenes": [ONE_SCENE["scenes"][0]] * 2}
    summary = _summary(tmp_path, heat_island=two)
    texts = _texts(sections._headlines(summary, None, None, EN, None))
    assert "SUHII): 2.48 K on the median composite of the anomaly ΔT" in texts[0]
    assert not any(t.startswith("A single date") for t in texts)
    (method,) = [s for s in sections.build_page(summary, EN).sections if s.id == "method"]
    assert "so that day-to-day weather cancels" in method.blocks[0].items[2]


def test_the_about_section_says_one_scene_in_the_singular(tmp_path):
    manifest = {"inputs": [{"path": "p/LC09_L2SP_198030_20230720_20230722_02_T1/x_MTL.xml"}]}
    items = sections._sources(_summary(tmp_path, manifest=manifest), FR)
    assert (
        items[0].replace(NBSP, " ") == "Température de surface : 1 scène Landsat 8/9 (2023-07-20)."
    )
    assert sections._one_date(_summary(tmp_path, manifest=manifest)) == "2023-07-20"


def test_no_coverage_note_when_the_rural_reference_is_half_clear(tmp_path):
    scene = {**ONE_SCENE["scenes"][0], "rural_clear_share": 0.5}
    summary = _summary(tmp_path, heat_island={**ONE_SCENE, "scenes": [scene]})
    assert not any("Couverture partielle" in t
                   for t in _texts(sections._headlines(summary, None, None, FR, None)))  # fmt: skip


def test_the_coverage_note_counts_the_scenes_under_half_clear():
    scenes = [{**ONE_SCENE["scenes"][0], "time": f"2023-0{k}-01", "rural_clear_share": share}
              for k, share in ((6, 0.9), (7, 0.4), (8, 0.3))]  # fmt: skip
    note = suhii_coverage_note({"scenes": scenes}, EN)
    assert note.startswith("Partial coverage: on 2 of the 3 scenes, under 50% of the rural "
                           "reference's pixels were clear (lowest 30%, on 2023-08-01)")  # fmt: skip


MANIFEST = {
    "config": {"name": "demo", "periods": {"years": [2023], "months": [6, 7, 8]}},
    "inputs": [
        {"path": "products/LC08_L2SP_198030_20230626_20230628_02_T1/x_MTL.xml", "kind": "file"},
        {"path": "products/LC08_L2SP_198030_20230626_20230628_02_T1/x_ST_B10.TIF"},
        {"path": "products/LC09_L2SP_198030_20230720_20230722_02_T1/x_MTL.xml"},
        {"path": "products/S2A_31TCJ_20230629_0_L2A/B04.tif"},
        {"path": "products/S2A_31TCJ_20230629_0_L2A/SCL.tif"},
        {"path": "s2/S2B_MSIL2A_20230714T105029_N0509_R051_T31TCJ_20230714T140114.SAFE.zip"},
        {"path": "s2/S2B_MSIL2A_20230714T105029_N0509_R051_T31TCH_20230714T140114.SAFE.zip"},
        {"path": "census/filosofi.csv"},
    ],
    "extra": {
        "census": {
            "filosofi": {"file": "filosofi.csv", "year": 2021},
            "population": {"file": "population.csv", "year": 2020},
        }
    },
}


def _with_map(path, mapping, year=None):
    external = {"path": path, "band": 1, "mapping": mapping, "year": year}
    return {**MANIFEST, "config": {**MANIFEST["config"], "landcover": {"external": external}}}


def test_the_report_names_an_external_land_cover_map_and_its_credit(tmp_path):
    """It said "NDVI and land cover: 2 Sentinel-2 scenes" of a run whose classes were a map's."""
    wc = _with_map("/maps/ESA_WorldCover_10m_2021_v200_N42E000_Map.tif", "worldcover")
    (items,) = sections._about(_summary(tmp_path, manifest=wc), EN).blocks
    said = [item.replace(NBSP, " ") for item in items.items]
    assert "NDVI: 2 Sentinel-2 scenes (2023-06-29, 2023-07-14)." in said
    assert not any(item.startswith("NDVI and land cover") for item in said)
    assert (
        "Land cover: map ESA WorldCover 10 m (ESA_WorldCover_10m_2021_v200_N42E000_Map.tif), "
        "recoded to ilots classes (mapping worldcover), each grid pixel taking the map's class "
        "at its centre. Credit: © ESA WorldCover project 2021 / Contains modified Copernicus "
        "Sentinel data (2021) processed by ESA WorldCover consortium."
    ) in said
    table = _with_map("/maps/clc.tif", {"111": "built"}, year=2018)
    (items,) = sections._about(_summary(tmp_path, manifest=table), FR).blocks
    said = [item.replace(NBSP, " ") for item in items.items]
    assert (
        "Occupation du sol : carte clc.tif, recodée en classes ilots (correspondance de la "
        "configuration), chaque pixel de la grille prenant la classe de la carte en son centre."
    ) in said


def test_the_report_says_its_period_images_and_census_years(tmp_path):
    summary = _summary(tmp_path, manifest=MANIFEST)
    assert sections._meta(summary, FR)[0].replace(NBSP, " ") == ("Période étudiée : juin–août 2023")
    (items,) = sections._about(summary, FR).blocks
    said = [item.replace(NBSP, " ") for item in items.items]
    # two Landsat products (the 20230628 is their processing day), two Sentinel-2 days (the
    # 14 July overpass over two tiles is one)
    assert "Température de surface : 2 scènes Landsat 8/9 (2023-06-26, 2023-07-20)." in said
    assert "NDVI et occupation du sol : 2 scènes Sentinel-2 (2023-06-29, 2023-07-14)." in said
    assert (
        "Données socio-économiques : revenus INSEE Filosofi 2021 ; population du recensement "
        "2020." in said
    )
    assert sections._meta(summary, EN)[0] == "Study period: June–August 2023"


def test_a_period_of_date_ranges_or_scattered_months(tmp_path):
    ranges = {"ranges": [{"start": "2022-07-01", "end": "2022-07-31"}]}
    assert sections.period_text(ranges, EN) == "2022-07-01 to 2022-07-31"
    assert (
        sections.period_text({"years": [2023, 2022], "months": [8, 6]}, FR)
        == "juin, août 2022, 2023"
    )


def test_the_title_says_the_years_of_the_period(tmp_path):
    """Two runs of two summers: their reports' titles differ (and say no year without one)."""
    summers = {"name": "Lyon", "periods": {"years": [2023, 2022], "months": [6, 7, 8]}}
    page = sections.build_page(_summary(tmp_path, manifest={"config": summers}), EN)
    assert page.title == "Urban heat islands: Lyon, 2022–2023"
    winter = {"periods": {"ranges": [{"start": "2022-12-15", "end": "2023-01-31"}]}}
    page = sections.build_page(_summary(tmp_path, manifest={"config": winter}), FR)
    assert page.title == "Îlots de chaleur urbains, 2022–2023"
    # A decade of summers is one span; years apart are listed (a name with its own
    # parentheses, as the demo's, gets none more).
    scattered = {"name": "Lyon (test)", "periods": {"years": [2019, 2014, 2015, 2016, 2022]}}
    page = sections.build_page(_summary(tmp_path, manifest={"config": scattered}), EN)
    assert page.title == "Urban heat islands: Lyon (test), 2014–2016, 2019, 2022"
    decade = {"periods": {"ranges": [{"start": "2014-06-01", "end": "2023-08-31"}]}}
    page = sections.build_page(_summary(tmp_path, manifest={"config": decade}), EN)
    assert page.title == "Urban heat islands, 2014–2023"
    assert sections.build_page(_summary(tmp_path), EN).title == "Urban heat islands"


def test_the_quality_section_says_which_pixels_its_counts_are_of(tmp_path, monkeypatch):
    iris = _iris([300.0, 301.0]).assign(valid_frac=[0.9, 1.0], n_clear_mean=[2.1, 3.0])
    summary = _summary(
        tmp_path, iris=iris, n_clear=np.array([2.0, 3.0, 3.0]), manifest={"manifest_version": 4}
    )
    titles = []
    drawn = sections.figures.quality_figure

    def quality_figure(*args, **kwargs):
        titles.append(kwargs["n_clear_title"])
        return drawn(*args, **kwargs)

    monkeypatch.setattr(sections.figures, "quality_figure", quality_figure)
    texts = _texts(sections._quality(summary, "lst_mean_k", FR, sections._Drawer()))
    # n_clear_mean is the mean over the zone's land (README, zones.gpkg) when water is left
    # out of the LST: for IRIS 315550017 of the demo (37 % water) 3.61 clear dates, the mean
    # of n_clear.tif over its land pixels, not 2.37, over all of them (audit).
    assert (
        "Observations claires par IRIS (moyenne sur ses pixels hors eau : l'eau est exclue de "
        "la LST) : minimum 2,1, médiane 2,5." in texts
    )
    water_out = RunSummary(**{**summary.__dict__, "n_clear_water_out": True})
    texts = _texts(sections._quality(water_out, "lst_mean_k", EN, sections._Drawer()))
    assert (
        "Clear observations per IRIS (mean over its pixels but water: water is left out of the "
        "LST): minimum 2.1, median 2.5." in texts
    )
    kept = {"manifest_version": 4, "config": {"mask": {"lst_keep_water": True}}}
    texts = _texts(sections._quality(dataclasses.replace(summary, manifest=kept), "lst_mean_k",
                                     EN, sections._Drawer()))  # fmt: skip
    assert "Clear observations per IRIS (mean over its pixels): minimum 2.1, median 2.5." in texts
    assert titles[:2] == ["Observations claires par pixel des IRIS",
                          "Clear observations, IRIS pixels but water"]  # fmt: skip


@pytest.mark.parametrize("manifest", [{"manifest_version": 3}, {}])
def test_the_n_clear_mean_of_a_run_before_manifest_4_is_not_said_to_leave_water_out(
    tmp_path, manifest
):
    """A run folder written before manifest version 4 averaged n_clear over all of a zone's
    pixels, water included, though it left water out of its LST: the report says so."""
    iris = _iris([300.0, 301.0]).assign(valid_frac=[0.9, 1.0], n_clear_mean=[2.1, 3.0])
    summary = _summary(tmp_path, iris=iris, manifest=manifest)
    assert summary.water_left_out
    french = _texts(sections._quality(summary, "lst_mean_k", FR, sections._Drawer()))
    english = _texts(sections._quality(summary, "lst_mean_k", EN, sections._Drawer()))
    assert (
        "Observations claires par IRIS (moyenne sur ses pixels) : minimum 2,1, médiane 2,5."
        in french
    )
    assert "Clear observations per IRIS (mean over its pixels): minimum 2.1, median 2.5." in (
        english
    )
    assert not [t for t in french + english if "hors eau" in t or "but water" in t]


def _with_scenarios(tmp_path, p_value):
    comparison = pd.DataFrame(
        {"scenario": ["a"], "qpv_gap_before_k": [2.18], "qpv_gap_after_k": [0.58]}
    )
    inequality = {
        "outcome": "lst_anomaly_mean_k",
        "group_difference": {"value": 2.18, "ci_low": 0.4, "ci_high": 4.6, "p_value": p_value,
                             "n_in": 4, "n_out": 58, "confidence": 0.95},
    }  # fmt: skip
    summary = _summary(tmp_path, inequality=inequality)
    return dataclasses.replace(summary, scenarios=ScenarioFiles(comparison=comparison))


def test_the_best_scenario_says_when_the_starting_gap_is_not_established(tmp_path):
    caveat = "These data do not establish the starting gap"
    established = _texts(sections._scenarios(_with_scenarios(tmp_path, 0.012), EN))
    prediction = "The model predicts that scenario “a” narrows the QPV − rest gap"
    assert any(t.startswith(prediction) for t in established)
    assert not any(caveat in t for t in established)
    (best,) = [
        t
        for t in _texts(sections._scenarios(_with_scenarios(tmp_path, 0.42), EN))
        if t.startswith("The model predicts that scenario “a”")
    ]
    assert best.endswith(
        "from 2.18 to 0.58 K. These data do not establish the starting gap (see the QPV − rest "
        "gap above), nor therefore its narrowing by this scenario."
    )


def test_the_headlines_say_their_intervals_are_optimistic_when_neighbours_are_alike(tmp_path):
    inequality = {
        "outcome": "lst_anomaly_mean_k",
        "group_difference": {"value": 2.18, "ci_low": 0.4, "ci_high": 4.6, "p_value": 0.012,
                             "n_in": 4, "n_out": 58, "confidence": 0.95},
        "morans_i": {"value": 0.497, "p_value": 0.001, "permutations": 999},
    }  # fmt: skip
    caveat = "The confidence intervals assume independent IRIS. Neighbouring IRIS are alike"
    texts = _texts(
        sections._headlines(_summary(tmp_path, inequality=inequality), None, None, EN, None)
    )
    assert any(t.startswith(caveat) and "Moran's I = 0.497, p ≤ 0.001" in t for t in texts)
    # Not alike (p = 0.3), or I negative: no caveat beside the headlines.
    for moran in ({"value": 0.1, "p_value": 0.3}, {"value": -0.4, "p_value": 0.001}):
        inequality["morans_i"] = moran
        summary = _summary(tmp_path, inequality=inequality)
        assert not any(
            t.startswith(caveat) for t in _texts(sections._headlines(summary, None, None, EN, None))
        )


def test_a_changed_setting_is_named_by_its_label_then_its_config_key():
    changed = (("mask.cdist_min_km", None, 1.0), ("composite.min_clear", 1, 3),
               ("mask.some_later_key", "x<y", "z"))  # fmt: skip
    french = sections._settings(changed, FR).text
    assert french == (
        f"Réglages qui décident des pixels retenus, changés par rapport aux valeurs par défaut "
        f"d'ilots{NBSP}: distance minimale d&#39;un pixel aux nuages (ST_CDIST), en km "
        f"(<code>mask.cdist_min_km</code>){NBSP}: null (défaut 1.0){NBSP}; observations "
        f"claires minimales d&#39;un pixel pour sa LST composite (<code>composite.min_clear"
        f"</code>){NBSP}: 1 (défaut 3){NBSP}; <code>mask.some_later_key</code>{NBSP}: x&lt;y "
        f"(défaut z)."
    )
    english = sections._settings(changed[:1], EN).text
    assert english == (
        "Settings that decide which pixels count, changed from ilots' defaults: minimum "
        "distance of a pixel to clouds (ST_CDIST), in km (<code>mask.cdist_min_km</code>): "
        "null (default 1.0)."
    )


def test_every_setting_the_quality_section_can_name_has_a_label_in_both_languages():
    # The keys RunSummary.changed_settings can give: every mask key and four others.
    keys = [f"mask.{name}" for name in MaskConfig.model_fields]
    keys += ["inputs.max_cloud_cover", "composite.min_clear", "composite.min_clear_area_frac",
             "zones.min_valid_frac"]  # fmt: skip
    assert "mask.cdist_min_km" in keys and len(keys) == 13  # with mask.indices_keep_water
    for key in keys:
        assert FR.setting(key) and EN.setting(key), key
        assert FR.setting(key) != EN.setting(key), key
    assert FR.setting("mask.unknown") is None


def _tagged_raster(path, **tags):
    """A 2 x 2 raster at ``path`` with the tags ``tags`` (its values are never read here)."""
    import rasterio
    from rasterio.transform import from_origin

    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8",
                       crs="EPSG:2154", transform=from_origin(0, 2, 1, 1)) as dst:  # fmt: skip
        dst.write(np.ones((1, 2, 2), dtype=np.uint8))
        dst.update_tags(**tags)


#: The manifest of a run that read Landsat products only (no Sentinel-2).
LANDSAT_ONLY = {**MANIFEST, "inputs": MANIFEST["inputs"][:3]}


def test_a_land_cover_from_landsat_ndvi_alone_is_said(tmp_path):
    """No Sentinel-2 read: the NDVI and land cover came from the Landsat scenes, said in "À
    propos" (the line was left out); a land cover whose landcover.tif says bare soil is
    counted as built (no NDBI) is said there and in the method notes; one with NDBI is not."""
    from pipelines.report.headlines import method_notes

    _tagged_raster(tmp_path / "rasters" / "ndvi_median.tif")
    _tagged_raster(tmp_path / "rasters" / "landcover.tif",
                   bare_soil="counted as built: the products lack the bands of NDBI")  # fmt: skip
    summary = _summary(tmp_path, manifest=LANDSAT_ONLY)
    (items,) = sections._about(summary, FR).blocks
    said = [item.replace(NBSP, " ") for item in items.items]
    assert "NDVI et occupation du sol : réflectance de surface des mêmes scènes Landsat." in said
    assert (
        "Occupation du sol tirée du NDVI seul (les produits n'ont pas les bandes du NDBI) : "
        "bâti et sol nu non séparés, le sol nu compté comme bâti ; les parts de sol nu sont "
        "vides." in said
    )
    page = sections.build_page(summary, EN)
    (method,) = [s for s in page.sections if s.id == "method"]
    assert any(
        note.startswith("The land cover comes from NDVI alone: the products lack the bands of "
                        "NDBI") for note in method.blocks[0].items
    )  # fmt: skip
    _tagged_raster(tmp_path / "rasters" / "landcover.tif")  # classified with NDBI
    assert not summary.bare_soil_as_built
    (items,) = sections._about(summary, EN).blocks
    assert "NDVI and land cover: surface reflectance of the same Landsat scenes." in items.items
    assert not any("NDVI alone" in note for note in method_notes(None, EN, synthetic=False))
    assert not any("NDVI alone" in item for item in items.items)


def _few_scenes_summary(tmp_path):
    """No IRIS with an LST, of 2 scenes (July 2023 of the demo) under composite.min_clear 3."""
    iris = _iris([np.nan, np.nan])
    scenes = [{"time": "2023-07-12", "suhii_k": 2.35}, {"time": "2023-07-20", "suhii_k": 2.33}]
    manifest = {"config": {"composite": {"min_clear": 3}}}
    return _summary(tmp_path, iris=iris, manifest=manifest, heat_island={"scenes": scenes})


def test_no_lst_for_want_of_scenes_is_said_as_such(tmp_path):
    """Fewer scenes than composite.min_clear (July 2023 of the demo: 2, min_clear 3): every
    composite pixel is empty however clear the scenes (each has a SUHII). The summary says
    that, and how to fix it, not "no clear Landsat observation", which stays for scenes as
    many as min_clear."""
    summary = _few_scenes_summary(tmp_path)
    scenes = summary.heat_island["scenes"]
    texts = _texts(sections._headlines(summary, None, "lst_mean_k", EN, None))
    assert (
        "No IRIS has a surface temperature: the periods hold 2 Landsat scenes, fewer than "
        "the 3 clear observations a pixel needs (composite.min_clear), so every composite "
        "pixel is empty, however clear. Lower composite.min_clear or widen the periods (each "
        "scene's SUHII is in heat_island.json)." in texts
    )
    assert not any("no clear Landsat observation" in t for t in texts)
    clouded = dataclasses.replace(summary, heat_island={"scenes": [*scenes, scenes[0]]})
    texts = _texts(sections._headlines(clouded, None, "lst_mean_k", EN, None))
    assert any(t.startswith("No IRIS has a surface temperature: no clear Landsat") for t in texts)


def test_no_lst_map_for_want_of_scenes_is_said_as_such(tmp_path):
    """The map's line gives the summary's cause (too few scenes, how to fix it), in French and
    English, not "no clear observation", which stays for scenes as many as min_clear."""
    summary = _few_scenes_summary(tmp_path)
    assert _texts(sections._maps(summary, "lst_mean_k", EN, sections._Drawer())) == [
        "Not computed for this run: temperature map: no IRIS has a value (the periods hold 2 "
        "Landsat scenes, fewer than the 3 clear observations a pixel needs; lower "
        "composite.min_clear or widen the periods)."
    ]
    assert _texts(sections._maps(summary, "lst_mean_k", FR, sections._Drawer())) == [
        "Non calculé pour ce traitement : carte de la température : aucun IRIS n'a de valeur "
        "(les périodes n'ont que 2 scènes Landsat, moins que les 3 observations claires "
        "qu'un pixel doit avoir ; abaisser composite.min_clear ou élargir les périodes)."
    ]
    scenes = summary.heat_island["scenes"]
    clouded = dataclasses.replace(summary, heat_island={"scenes": [*scenes, scenes[0]]})
    texts = _texts(sections._maps(clouded, "lst_mean_k", EN, sections._Drawer()))
    assert texts == [
        "Not computed for this run: temperature map: no IRIS has a value (no clear "
        'observation; see "Data quality").'
    ]


@pytest.mark.parametrize(
    ("mask", "said"),
    [
        ({"indices_keep_water": False}, True),  # the default: water out of the NDVI
        ({"indices_keep_water": True}, False),
        ({}, False),  # a run from before the key kept water in its NDVI
    ],
)
def test_the_maps_say_the_ndvi_is_a_mean_over_land_when_water_is_left_out(tmp_path, mask, said):
    iris = _iris([300.0, 301.0]).assign(ndvi_mean=[0.3, 0.5])
    summary = _summary(tmp_path, iris=iris, manifest={"config": {"mask": mask}})
    english = _texts(sections._maps(summary, "lst_mean_k", EN, sections._Drawer()))
    french = _texts(sections._maps(summary, "lst_mean_k", FR, sections._Drawer()))
    phrase = "NDVI: mean over each IRIS's land (water left out)."
    assert (phrase in english) is said
    assert ("NDVI : moyenne sur les terres de chaque IRIS (l'eau exclue)." in french) is said
    assert "albedo" not in english and "albédo" not in french  # the maps draw no albedo
    without_ndvi = dataclasses.replace(summary, iris=_iris([300.0, 301.0]))
    assert phrase not in _texts(sections._maps(without_ndvi, "lst_mean_k", EN, sections._Drawer()))


def _drawn_ranges(monkeypatch) -> list:
    """Record (column, vmin, vmax) of each map the report draws, in a list it fills."""
    ranges = []
    drawn = sections.figures.map_figure

    def map_figure(*args, **kwargs):
        fig = drawn(*args, **kwargs)
        norm = fig.axes[0].collections[0].norm
        ranges.append((args[1], norm.vmin, norm.vmax))
        return fig

    monkeypatch.setattr(sections.figures, "map_figure", map_figure)
    return ranges


def test_the_anomaly_map_spans_the_run_range(tmp_path, monkeypatch):
    """outputs.anomaly_range_k (RunSummary.anomaly_range_k): the anomaly map's colours span
    ±3 K whatever its values; a map of the mean LST keeps its own range."""
    iris = _iris([300.0, 301.0]).assign(lst_anomaly_mean_k=[-0.5, 1.5])
    ranges = _drawn_ranges(monkeypatch)
    fixed = dataclasses.replace(_summary(tmp_path, iris=iris), anomaly_range_k=3.0)
    sections._maps(fixed, "lst_anomaly_mean_k", EN, sections._Drawer())
    sections._maps(fixed, "lst_mean_k", EN, sections._Drawer())
    sections._maps(_summary(tmp_path, iris=iris), "lst_anomaly_mean_k", EN, sections._Drawer())
    assert ranges == [
        ("lst_anomaly_mean_k", -3.0, 3.0),
        ("lst_mean_k", 300.0, 301.0),
        ("lst_anomaly_mean_k", -1.5, 1.5),  # without it: ±(largest |value|), as before
    ]


def test_an_anomaly_map_hotter_everywhere_starts_at_zero(tmp_path, monkeypatch):
    """Every IRIS 6.84 to 7.2 K hotter than the rural reference: the anomaly map's colours
    run from 0 K (the neutral colour) to 7.2 K; the mean LST's (no rural reference to be
    neutral at) over its own range."""
    iris = _iris([300.0, 301.0, 302.0]).assign(lst_anomaly_mean_k=[6.84, 7.0, 7.2])
    ranges = _drawn_ranges(monkeypatch)
    summary = _summary(tmp_path, iris=iris)
    sections._maps(summary, "lst_anomaly_mean_k", EN, sections._Drawer())
    sections._maps(summary, "lst_mean_k", EN, sections._Drawer())
    assert ranges == [("lst_anomaly_mean_k", 0.0, 7.2), ("lst_mean_k", 300.0, 302.0)]


def test_counts_of_one_are_said_in_the_singular(tmp_path):
    """Sentences built on a count of one IRIS (or scene, input) agree with it: "1 IRIS sur
    2 a une valeur", "1 IRIS est signalé ... de sa surface", "Il a pourtant une valeur",
    "L'IRIS le plus chaud selon ...", "n'ont que 1 scène Landsat", "1 fichier d'entrée";
    read from the report's sections, not the messages (1 IRIS read "sont", "ont", "leur")."""
    iris = _iris([300.0, np.nan]).assign(valid_frac=[0.92, 0.85], low_clear_area=[True, False])
    config = {"composite": {"min_clear_area_frac": 0.95}, "zones": {"min_valid_frac": 0.9}}
    summary = _summary(tmp_path, iris=iris, manifest={"config": config})
    texts = _texts(sections._quality(summary, "lst_mean_k", FR, sections._Drawer()))
    assert texts[0].startswith("1 IRIS sur 2 a une valeur de ")
    assert texts[1] == "1 IRIS est sous le seuil de couverture de 90 % et n'a pas de valeur."
    assert texts[2] == (
        "1 IRIS est signalé low_clear_area (colonne de zones.gpkg) : moins de 95 % de sa "
        "surface hors eau a une LST composite et une anomalie ΔT composite "
        "(composite.min_clear_area_frac), le reste n'ayant pas assez d'observations claires. "
        "Il a pourtant une valeur, tirée de sa seule partie dégagée : elle "
        "peut mal décrire l'IRIS entier, à lire avec prudence."
    )
    texts = _texts(sections._quality(summary, "lst_mean_k", EN, sections._Drawer()))
    assert texts[0].startswith("1 of 2 IRIS has a value of ")
    assert texts[2].endswith(
        "observations. It still has a value, from its clear part only: it may describe the "
        "whole IRIS poorly, to be read with care."
    )
    # Two flagged, one of them with a value: "1 d'entre eux a ..., de sa seule partie".
    two = iris.assign(low_clear_area=[True, True])
    texts = _texts(sections._quality(_summary(tmp_path, iris=two, manifest={"config": config}),
                                     "lst_mean_k", FR, sections._Drawer()))  # fmt: skip
    assert texts[2].startswith("2 IRIS sont signalés low_clear_area")
    assert "de leur surface hors eau" in texts[2]
    assert texts[2].endswith(" 1 d'entre eux a pourtant une valeur, tirée de sa seule partie "
                             "dégagée : elle peut mal décrire l'IRIS entier, à lire avec "
                             "prudence.")  # fmt: skip
    # None of 2 with a value: French says 0 in the singular, English in the plural.
    none = _summary(tmp_path, iris=_iris([np.nan, np.nan]).assign(valid_frac=[0.5, 0.5]))
    assert _texts(sections._quality(none, "lst_mean_k", FR, sections._Drawer()))[0].startswith(
        "0 IRIS sur 2 a une valeur de "
    )
    assert _texts(sections._quality(none, "lst_mean_k", EN, sections._Drawer()))[0].startswith(
        "0 of 2 IRIS have a value of "
    )


def test_the_hottest_table_of_one_iris_with_a_value_says_the_iris(tmp_path):
    summary = _summary(tmp_path, iris=_iris([305.0, np.nan]))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    section = sections._hottest(summary, hottest, "lst_mean_k", FR)
    (table,) = [b for b in section.blocks if isinstance(b, TableBlock)]
    assert table.caption.replace(NBSP, " ") == (
        "L'IRIS le plus chaud selon la température de surface."
    )
    (definition,) = [b.text for b in section.blocks if isinstance(b, Paragraph)]
    assert "calculé sur le N = 1 IRIS qui a une valeur de " in definition.replace(NBSP, " ")
    two = _summary(tmp_path, iris=_iris([305.0, 304.0]))
    hottest = hottest_zones(two.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    section = sections._hottest(two, hottest, "lst_mean_k", FR)
    (table,) = [b for b in section.blocks if isinstance(b, TableBlock)]
    assert table.caption.startswith("Les 2 IRIS les plus chauds selon ")


def test_the_hottest_section_of_no_iris_with_a_value_has_no_table(tmp_path):
    """No IRIS with a value: French says 0 in the singular, and the empty table was
    captioned "L'IRIS le plus chaud", its note "calculé sur le N = 0 IRIS"."""
    summary = _summary(tmp_path, iris=_iris([np.nan, np.nan]))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    section = sections._hottest(summary, hottest, "lst_mean_k", FR)
    assert not [b for b in section.blocks if isinstance(b, TableBlock)]
    assert _texts(section) == [
        "Aucun IRIS n'a de valeur de la température de surface : il n'y a pas d'IRIS à classer."
    ]
    assert section.title == "Les 20 IRIS les plus chauds"


def test_the_hottest_section_ranks_no_iris_of_infinite_value(tmp_path):
    """±inf has no rank: an IRIS column of ±inf alone gave an empty table captioned "L'IRIS
    le plus chaud" (French's singular 0), "The 0 hottest IRIS", and beside one finite value
    the title said "Les 2 IRIS les plus chauds" over one row."""
    summary = _summary(tmp_path, iris=_iris([np.inf, -np.inf]))
    hottest = hottest_zones(summary.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    for m, title, text in (
        (FR, "Les 20 IRIS les plus chauds",
         "Aucun IRIS n'a de valeur de la température de surface : il n'y a pas d'IRIS à classer."),
        (EN, "The 20 hottest IRIS",
         "No IRIS has a value of the land surface temperature: there is no IRIS to rank."),
    ):  # fmt: skip
        section = sections._hottest(summary, hottest, "lst_mean_k", m)
        assert not [b for b in section.blocks if isinstance(b, TableBlock)]
        assert (section.title, _texts(section)) == (title, [text])
    one = _summary(tmp_path, iris=_iris([np.inf, 305.0, np.nan]))
    hottest = hottest_zones(one.iris, "lst_mean_k", id_column="code_iris",
                            name_column="nom_iris", n=sections.HOTTEST_COUNT)  # fmt: skip
    for m, title, caption, n in (
        (FR, "L'IRIS le plus chaud", "L'IRIS le plus chaud selon la température de surface.",
         "calculé sur le N = 1 IRIS qui a une valeur"),
        (EN, "The hottest IRIS", "The hottest IRIS by the land surface temperature.",
         "over the N = 1 IRIS with a value"),
    ):  # fmt: skip
        section = sections._hottest(one, hottest, "lst_mean_k", m)
        (table,) = [b for b in section.blocks if isinstance(b, TableBlock)]
        assert (section.title, table.caption.replace(NBSP, " ")) == (title, caption)
        assert n in _texts(section)[0]


def test_one_scene_under_min_clear_and_one_input_are_said_in_the_singular(tmp_path):
    summary = _few_scenes_summary(tmp_path)
    one = dataclasses.replace(summary, heat_island={"scenes": summary.heat_island["scenes"][:1]})
    texts = _texts(sections._headlines(one, None, "lst_mean_k", FR, None))
    assert any("les périodes n'ont que 1 scène Landsat, moins que les 3 observations" in t
               for t in texts)  # fmt: skip
    texts = _texts(sections._maps(one, "lst_mean_k", EN, sections._Drawer()))
    assert "(the periods hold 1 Landsat scene, fewer than the 3 clear" in texts[0]


def test_the_deciles_of_one_iris_are_not_said_of_the_1_iris_used():
    rows = [{"decile": d, "n_zones": 1 if d == 1 else 0} for d in range(1, 11)]
    text = sections._empty_deciles(rows, FR).text.replace(NBSP, " ")
    assert text.startswith(
        "Avec 1 IRIS retenu, les dix déciles de revenu ne peuvent pas être remplis : D2, D3, "
    )
    english = sections._empty_deciles(rows, EN).text
    assert english.startswith("With 1 IRIS used, the ten income deciles cannot be filled: D2,")
    rows[9]["n_zones"] = 1  # two IRIS, eight empty deciles: the plural, as before
    assert sections._empty_deciles(rows, FR).text.startswith("Les 2 IRIS retenus sont trop peu")


def test_the_qpv_table_left_out_of_one_iris_says_it_in_the_singular():
    """One IRIS in QPV left out of the QPV table's means, none outside: "1 IRIS sans valeur
    n'y entre pas (1 en QPV, 0 autre)", not "n'y entrent pas (1 en QPV, 0 autres)"."""
    table = pd.DataFrame({"n_zones": [3.0, 5.0], "n_left_out": [1.0, 0.0]}, index=[True, False])
    means = GroupMeans(columns=("lst_mean_k",), table=table, weighted=False, counted="lst_mean_k")
    text = sections._qpv_counts(means, FR, "_unweighted").replace(NBSP, " ")
    assert text.endswith(" 1 IRIS sans valeur n'y entre pas (1 en QPV, 0 autre).")
    english = sections._qpv_counts(means, EN, "_unweighted")
    assert english.endswith(" 1 IRIS without a value is left out (1 in QPV, 0 others).")
    table["n_left_out"] = [1.0, 2.0]
    text = sections._qpv_counts(means, FR, "_unweighted").replace(NBSP, " ")
    assert text.endswith(" 3 IRIS sans valeur n'y entrent pas (1 en QPV, 2 autres).")


def test_the_suhii_section_of_one_scene_says_its_suhii_once(tmp_path):
    """One clear scene: the composite's sentence gives its SUHII "sur la seule scène de la
    période (2023-07-20)"; no second sentence "Sur la seule scène de la période, le SUHII
    est de 2,48 K" after it."""
    summary = _summary(tmp_path, heat_island=ONE_SCENE)
    for m, only in ((FR, "seule scène de la période"), (EN, "periods' only scene")):
        texts = _texts(sections._suhii(summary, m, sections._Drawer()))
        said = [t for t in texts if only in t and "SUHII" in t]
        assert len(said) == 1, texts
        assert sum(t.count("2,48 K" if m is FR else "2.48 K") for t in texts) == 1, texts
    assert _texts(sections._suhii(summary, FR, sections._Drawer()))[0] == (
        "Intensité de l'îlot de chaleur urbain de surface (SUHII) : 2,48 K sur la seule scène "
        "de la période (2023-07-20)."
    )
