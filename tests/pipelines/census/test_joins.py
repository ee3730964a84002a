"""join_tables: matched and unmatched counts, numeric codes, errors, real Paris and Occitanie."""

from __future__ import annotations

import dataclasses
import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pipelines.census import JoinReport, join_tables, read_filosofi, read_iris, read_qpv
from tests.pipelines.census.helpers import call_quiet, layer, one_line
from tiles import CensusError, IlotsWarning


def left_right():
    left = pd.DataFrame({"code_iris": ["751010101", "751010102", "010020101"], "lst": [1, 2, 3]})
    right = pd.DataFrame(
        {"code_iris": ["010020101", "751010101", "999990000"], "disp_med": [10.0, 20.0, 30.0]}
    )
    return left, right


def test_left_join_reports_both_sides():
    left, right = left_right()
    (joined, report), emitted = call_quiet(join_tables, left, right)
    assert joined["code_iris"].tolist() == left["code_iris"].tolist()  # left order kept
    np.testing.assert_array_equal(joined["disp_med"], [20.0, np.nan, 10.0])
    assert report.matched == 2
    assert (report.unmatched_left, report.unmatched_right) == (1, 1)
    assert report.examples_left == ("751010102",)
    assert report.examples_right == ("999990000",)
    assert report.n_rows == 3 and (report.n_left, report.n_right) == (3, 3)
    assert len(emitted) == 2 and list(report.warnings) == emitted
    assert "kept with missing values" in emitted[0] and "dropped (how='left')" in emitted[1]
    assert [w.code for w in report.warnings] == ["unmatched_codes"] * 2  # the report's kind


def test_unmatched_iris_codes_point_at_the_millesime():
    left, right = left_right()
    (_, report), _ = call_quiet(join_tables, left, right)
    hint = "check that the IRIS layer's millésime matches the table's year (communes nouvelles"
    assert all(hint in w for w in report.warnings) and len(report.warnings) == 2
    # Other keys are no IRIS: no millésime to check.
    left, right = (f.rename(columns={"code_iris": "code"}) for f in left_right())
    (_, report), _ = call_quiet(join_tables, left, right, on="code")
    assert len(report.warnings) == 2 and not any("millésime" in w for w in report.warnings)


@pytest.mark.parametrize("column", ["TYP_IRIS", "typ_iris", "type_iris"])
def test_unmatched_activity_and_miscellaneous_iris_are_expected(column):
    """On a real run most IRIS without a Filosofi row are activity (A) or miscellaneous (D)
    IRIS, with few residents: counted apart, without the millésime hint, which is kept for
    the others (habitat H, unsplit commune Z, no type)."""
    codes = ["751010101", "751010102", "751010103", "751010104", "751010105", "751010106"]
    left = pd.DataFrame({"code_iris": codes, column: ["H", "A", "d", "H", "Z", None]})
    right = pd.DataFrame({"code_iris": ["751010101"], "disp_med": [20_000.0]})
    (_, report), _ = call_quiet(join_tables, left, right)
    [warning] = report.warnings
    assert warning.endswith(
        f"; 2 of them are activity (A) or miscellaneous (D) IRIS ({column}), with few "
        "residents: INSEE publishes no income for most of them (statistical secret), as "
        "expected; for the other 3, e.g. '751010104', '751010105', '751010106'; check that "
        "the IRIS layer's millésime matches the table's year (communes nouvelles, merged or "
        "split IRIS)"
    )
    # Only A and D IRIS unmatched: nothing to check.
    (_, report), _ = call_quiet(join_tables, left.iloc[:3], right)
    [warning] = report.warnings
    assert warning.endswith("as expected") and "millésime" not in warning


def test_a_commune_nouvelle_left_out_of_the_table_is_logged(tmp_path, caplog):
    # The IRIS layer is of a later millésime: Seynod (74268) and Cran-Gevrier (74093) merged
    # into a commune nouvelle, here given the new code 74999, whose IRIS are 74999xxxx. The
    # older Filosofi table has no row of 74999 but has 742680101, 742680102, 740930101.
    table = tmp_path / "filo2016.csv"
    table.write_text("IRIS;DISP_MED16\n740100101;21000\n742680101;22000\n742680102;23000\n"
                     "740930101;20000\n690010101;19000\n")  # fmt: skip
    iris = pd.DataFrame({"code_iris": ["740100101", "749990101", "749990102"]})
    filo, meta, _ = read_filosofi(table, communes=set(iris["code_iris"].str[:5]))
    assert meta.outside_communes == ("74093", "74268")
    with caplog.at_level(logging.INFO, logger="pipelines.census.joins"):
        (joined, report), warns = call_quiet(
            join_tables, iris, filo, outside_communes=meta.outside_communes
        )
    assert joined["disp_med"].tolist()[0] == 21000.0 and report.unmatched_left == 2
    # One warning, with the millésime hint; the former communes in an info log (ilots -v):
    # with a national table, neighbours look the same (next test).
    assert len(warns) == 1 and "2 left codes have no match" in warns[0]
    assert "millésime matches the table's year" in warns[0]
    [logged] = [r.getMessage() for r in caplog.records if "has no row of" in r.getMessage()]
    assert "commune(s) '74999'" in logged and "'74093', '74268'" in logged
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipelines.census.joins"):
        call_quiet(join_tables, iris, filo, outside_communes=("69001",))  # another département
    assert not [r for r in caplog.records if "has no row of" in r.getMessage()]


def test_neighbours_of_a_national_table_are_not_taken_for_former_communes():
    """The real case a review found (Lyon's IRIS, the national Filosofi): IRIS unmatched
    in a commune the table has rows of (an IRIS Filosofi withholds), or the one IRIS of a
    small commune (…0000, never in Filosofi), while the communes filter left out the rest
    of the département: no commune nouvelle to name, only the millésime hint."""
    table = pd.DataFrame({"code_iris": ["693810101", "693810102"], "disp_med": [1.0, 2.0]})
    iris = pd.DataFrame({"code_iris": ["693810101", "693810102", "693810103", "690270000"]})
    (_, report), _ = call_quiet(join_tables, iris, table, outside_communes=("69027", "69243"))
    assert len(report.warnings) == 1 and "millésime" in report.warnings[0]
    assert report.unmatched_left == 2


def test_a_commune_with_no_row_in_the_table_is_named():
    """Blagnac (31069) in the area, its IRIS absent from the table: the warning named no
    commune ("3 left codes have no match", the millésime hint); it names 31069 now. The one
    IRIS of a small commune (31001, …0000, never in Filosofi) and an IRIS of Toulouse, which
    has rows, are no such commune."""
    table = pd.DataFrame({"code_iris": ["315550101", "315550102"], "disp_med": [1.0, 2.0]})
    codes = ["315550101", "315550103", "310690101", "310690102", "310010000"]
    (_, report), _ = call_quiet(join_tables, pd.DataFrame({"code_iris": codes}), table)
    warning = report.warnings[0]  # the second: 315550102 of the table, not in the layer
    assert warning == (
        "join on 'code_iris': 4 left codes have no match and are kept with missing values, "
        "e.g. '315550103', '310690101', '310690102', '310010000'; the table has no row of any "
        "IRIS of commune(s) 31069 (2 of these codes): check that it covers them; 1 of them "
        "are communes not split into IRIS (…0000), of which the table has none: INSEE's IRIS "
        "tables (Filosofi) leave such communes out, their figures are in its commune-level "
        "tables; for the other 3, e.g. '315550103', '310690101', '310690102'; check that the "
        "IRIS layer's millésime matches the table's year (communes nouvelles, merged or split "
        "IRIS)"
    )


def test_unsplit_communes_missing_from_an_iris_table_are_expected():
    """Filosofi's IRIS files have no …0000 code (the real 2018 file: none of 12,395), so a
    small commune's one IRIS is never matched: counted apart, without the millésime hint.
    A table that has such codes (a census population table) is expected to have them all."""
    table = pd.DataFrame({"code_iris": ["315550101"], "disp_med": [1.0]})
    codes = ["315550101", "310010000", "310020000"]
    (_, report), _ = call_quiet(join_tables, pd.DataFrame({"code_iris": codes}), table)
    [warning] = report.warnings
    assert warning.endswith(
        "; 2 of them are communes not split into IRIS (…0000), of which the table has none: "
        "INSEE's IRIS tables (Filosofi) leave such communes out, their figures are in its "
        "commune-level tables"
    )
    with_unsplit = pd.DataFrame({"code_iris": ["315550101", "310030000"], "pop": [1, 2]})
    (_, report), _ = call_quiet(join_tables, pd.DataFrame({"code_iris": codes}), with_unsplit)
    left_warning = report.warnings[0]
    assert "not split" not in left_warning and left_warning.endswith("merged or split IRIS)")


def test_qpv_codes_of_two_generations_are_named():
    # A 2015 table (QP codes) joined to a 2024 layer (QN codes): no code can match.
    layer_2024 = pd.DataFrame({"code_qp": ["QN09301A", "QN09302B"]})
    table_2015 = pd.DataFrame({"code_qp": ["QP093028", "QP093029"], "disp_med": [1.0, 2.0]})
    (_, report), _ = call_quiet(join_tables, layer_2024, table_2015, on="code_qp")
    assert report.matched == 0 and len(report.warnings) == 3
    said = "QPV 2024 codes (left, e.g. 'QN09301A') against QPV 2015 codes (right, e.g. "
    assert said + "'QP093028')" in report.warnings[2]
    assert "use tables of the same QPV generation" in report.warnings[2]
    assert report.warnings[2].code == "unmatched_codes"  # the kind the report names
    # One generation on both sides (overseas 2015 codes stay in the 2024 list): no warning.
    overseas = pd.DataFrame({"code_qp": ["QN09301A", "QP974001"], "x": [1, 2]})
    (_, report), _ = call_quiet(join_tables, layer_2024, overseas, on="code_qp")
    assert not any("generation" in w for w in report.warnings)


@pytest.mark.parametrize(("how", "rows"), [("inner", 2), ("outer", 4), ("right", 3)])
def test_other_join_types(how, rows):
    left, right = left_right()
    (joined, report), _ = call_quiet(join_tables, left, right, how=how)
    assert len(joined) == rows == report.n_rows
    assert report.matched == 2


def test_codes_stored_as_numbers_on_one_side():
    left = pd.DataFrame({"code_iris": ["010020101", "751010101"]})
    right = pd.DataFrame({"code_iris": [10020101, 751010101], "x": [1.0, 2.0]})
    with pytest.warns(IlotsWarning, match="leading zeros restored"):
        joined, report = join_tables(left, right)
    assert report.matched == 2 and report.unmatched_left == 0
    assert joined["x"].tolist() == [1.0, 2.0]
    assert right["code_iris"].tolist() == [10020101, 751010101]  # caller untouched


def test_unknown_key_numbers_padded_to_the_text_width():
    left = pd.DataFrame({"code_dep": ["01", "75"]})
    right = pd.DataFrame({"code_dep": [1, 75], "n": [3, 4]})
    (joined, report), warns = call_quiet(join_tables, left, right, on="code_dep")
    assert report.matched == 2 and joined["n"].tolist() == [3, 4]
    assert len(warns) == 1


def test_different_key_names():
    left = pd.DataFrame({"code_qp": ["QP093028"], "a": [1]})
    right = pd.DataFrame({"CODE_QP": ["qp093028"], "b": [2]})
    joined, report = join_tables(left, right, on=("code_qp", "CODE_QP"))
    assert list(joined.columns) == ["code_qp", "a", "b"] and report.matched == 1


def test_missing_join_column_lists_columns():
    left, right = left_right()
    with pytest.raises(CensusError) as err:
        join_tables(left, right.rename(columns={"code_iris": "IRIS"}))
    text = one_line(err)
    assert "right table" in text and "'IRIS'" in text and "'disp_med'" in text


def test_near_miss_column_name_hinted():
    left, right = left_right()
    with pytest.raises(CensusError, match="did you mean 'CODE_IRIS'"):
        join_tables(left.rename(columns={"code_iris": "CODE_IRIS"}), right)


@pytest.mark.parametrize("side", ["left", "right"])
def test_duplicate_codes_on_either_side(side):
    left, right = left_right()
    frame = left if side == "left" else right
    frame.loc[len(frame)] = frame.iloc[0]
    with pytest.raises(CensusError) as err:
        join_tables(left, right)
    text = one_line(err)
    assert f"{side} table" in text and repr(frame["code_iris"].iloc[0]) in text


def test_missing_codes_refused():
    left, right = left_right()
    left.loc[1, "code_iris"] = None
    with pytest.raises(CensusError, match="rows \\[1\\]"):
        join_tables(left, right)


def test_how_validated():
    left, right = left_right()
    with pytest.raises(ValueError, match="how"):
        join_tables(left, right, how="cross")  # type: ignore[arg-type]


def test_shared_columns_suffixed_with_a_warning():
    left, right = left_right()
    right["lst"] = [7, 8, 9]
    (joined, _), warns = call_quiet(join_tables, left, right, how="inner")
    assert {"lst", "lst_right"} <= set(joined.columns)
    assert any("suffixes" in w for w in warns)


def test_geodataframe_stays_geo_and_report_is_frozen_json():
    gdf = layer({"code_iris": ["751010101", "751010102"]})
    right = pd.DataFrame({"code_iris": [f"75101{i:04d}" for i in range(200, 225)]})
    (joined, report), _ = call_quiet(join_tables, gdf, right)
    assert isinstance(joined, gpd.GeoDataFrame) and joined.crs == gdf.crs
    assert len(report.examples_right) == 10  # capped
    assert report.unmatched_right == 25
    json.dumps(report.to_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.matched = 0  # type: ignore[misc]
    assert isinstance(report, JoinReport)


# --------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_paris_iris_to_filosofi_2018(real_data):
    iris_path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    filo_path = real_data / "filosofi" / "BASE_TD_FILO_DISP_IRIS_2018_france.csv"
    raw_iris = gpd.read_file(iris_path)
    raw_filo = pd.read_csv(filo_path, sep=";", dtype=str, keep_default_na=False)
    expected = len(set(raw_iris["CODE_IRIS"]) & set(raw_filo["IRIS"]))  # plain set algebra

    iris, _ = read_iris(iris_path)
    filo, meta, _ = call_quiet(read_filosofi, filo_path)[0]
    (joined, report), _ = call_quiet(join_tables, iris, filo)
    assert report.matched == expected == 2142
    assert 2100 <= report.matched <= 2200
    assert report.unmatched_left == 2297 - 2142
    assert report.unmatched_right == 12_395 - 2142
    assert len(joined) == 2297 and isinstance(joined, gpd.GeoDataFrame)
    # unmatched examples are IRIS the Filosofi file does not cover
    assert len(report.examples_left) == 10
    assert not set(report.examples_left) & set(raw_filo["IRIS"])
    # most are activity (A) or "divers" (D) IRIS with few households: said, and the
    # millésime hint is for the others only
    unmatched = raw_iris[~raw_iris["CODE_IRIS"].isin(raw_filo["IRIS"])]
    few = unmatched["TYP_IRIS"].isin(["A", "D"])
    assert few.mean() > 0.8 and (few.sum(), (~few).sum()) == (132, 23)
    left_warning = report.warnings[0]
    assert f"; {few.sum()} of them are activity (A) or miscellaneous (D) IRIS (typ_iris)" in (
        left_warning
    )
    # the one IRIS of a commune not split (…0000): Filosofi's IRIS file has none of them
    whole = unmatched["CODE_IRIS"].str.endswith("0000")
    assert whole.sum() == 2 and not raw_filo["IRIS"].str.endswith("0000").any()
    assert "; 2 of them are communes not split into IRIS (…0000)" in left_warning
    assert f"for the other {(~(few | whole)).sum()}, e.g. " in left_warning
    others = unmatched.loc[~(few | whole), "CODE_IRIS"].tolist()
    assert f"e.g. {others[0]!r}" in left_warning.split("for the other")[1]

    both = joined.dropna(subset=["DISP_MED19", "disp_med"])
    r = np.corrcoef(both["DISP_MED19"], both["disp_med"])[0, 1]
    merged = raw_iris.merge(raw_filo, left_on="CODE_IRIS", right_on="IRIS")
    merged = merged[merged["DISP_MED18"] != ""].dropna(subset=["DISP_MED19"])
    r_raw = np.corrcoef(merged["DISP_MED19"], merged["DISP_MED18"].astype(float))[0, 1]
    assert r == pytest.approx(r_raw, rel=1e-12)
    assert r > 0.99 and r == pytest.approx(0.997, abs=0.001)
    assert meta.year == 2018


@pytest.mark.realdata
def test_real_occitanie_qpv_to_indicators(real_data):
    qpv, _ = call_quiet(read_qpv, real_data / "qpv" / "occitanie_qp_hackaviz2021.geojson")[0]
    table, _, _ = call_quiet(
        read_filosofi,
        real_data / "qpv" / "occitanie_qp_indicateurs_hackaviz2021.csv",
        level="qpv",
    )[0]
    (joined, report), warns = call_quiet(join_tables, qpv, table, on="code_qp")
    # both files come from the same hackaviz release: all 105 QPV match, none is left over
    assert report.matched == 105 and report.unmatched_left == report.unmatched_right == 0
    assert {"nom_qp", "nom_qp_right", "disp_med", "disp_tp60"} <= set(joined.columns)
    assert joined["disp_med"].notna().all()
    assert len(warns) == 1 and "suffixes" in warns[0]
