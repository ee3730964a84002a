"""read_filosofi: separators, decimal comma, XLSX header rows, markers, names, real files.

Expected values are written in the test files by hand or counted on the raw CSV with plain
pandas, never taken from read_filosofi.
"""

from __future__ import annotations

import math
import sys
import types

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from pipelines.census import FilosofiMeta, read_filosofi
from pipelines.census.filosofi import implausible_income, indicator_name
from tests.pipelines.census.helpers import call_quiet, one_line
from tiles import CensusError, IlotsWarning

MARKERS = {"", "nd", "ns", "s", "so"}


def write(tmp_path, text: str, name: str = "filo.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("DISP_MED18", ("disp_med", 2018)),
        ("DISP_TP6021", ("disp_tp60", 2021)),
        ("DISP_D121", ("disp_d1", 2021)),
        ("DISP_S80S2021", ("disp_s80s20", 2021)),
        ("DEC_MED19", ("dec_med", 2019)),
        ("DISP_MED_A21", ("disp_med", 2021)),
        ("DISP_TP60_A21", ("disp_tp60", 2021)),
        ("disp_q2", ("disp_med", None)),
        ("tp60", ("disp_tp60", None)),
        ("decuc_q2", ("dec_med", None)),
        ("LIBIRIS", None),
        ("IRIS", None),
    ],
)
def test_indicator_names(column, expected):
    assert indicator_name(column) == expected


def test_semicolon_decimal_comma_and_markers(tmp_path):
    path = write(
        tmp_path,
        "IRIS;LIBIRIS;COM;DISP_TP6021;DISP_MED21;DISP_GI21\r\n"
        "010040101;Centre;01004;20,1;19 300;0,242\r\n"
        "751010101;Louvre;75101;nd;25000;s\r\n"
        "2A0040101;Ajaccio;2A004;ns;so;0,3\r\n"
        "751010102;Halles;75101;;21500,5;S\r\n",
    )
    table, meta, warns = call_quiet(read_filosofi, path)[0]
    assert list(table.columns) == [
        "code_iris",
        "libiris",
        "com",
        "disp_tp60",
        "disp_med",
        "disp_gi",
    ]
    assert table["code_iris"].tolist() == ["010040101", "751010101", "2A0040101", "751010102"]
    assert table["com"].tolist() == ["01004", "75101", "2A004", "75101"]  # text, zero kept
    np.testing.assert_array_equal(table["disp_tp60"], [20.1, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(table["disp_med"], [19300.0, 25000.0, np.nan, 21500.5])
    np.testing.assert_array_equal(table["disp_gi"], [0.242, np.nan, 0.3, np.nan])
    assert (table.select_dtypes("number") != 0).all().all()  # no marker became 0
    assert meta.year == 2021 and meta.decimal == "," and meta.separator == ";"
    assert dict(meta.missing) == {"disp_tp60": 3, "disp_med": 1, "disp_gi": 2}
    assert dict(meta.markers) == {"": 1, "nd": 1, "ns": 1, "s": 2, "so": 1}
    assert len(warns) == 1
    assert "disp_tp60 3, disp_med 1, disp_gi 2" in warns[0] and "never 0" in warns[0]


def test_comma_separator_point_decimal(tmp_path):
    path = write(tmp_path, 'IRIS,DISP_MED18,DISP_TP6018\n"751010101",21000.5,12.5\n751010102,,s\n')
    table, meta, _ = call_quiet(read_filosofi, path)[0]
    assert meta.separator == "," and meta.decimal == "." and meta.year == 2018
    assert table["code_iris"].tolist() == ["751010101", "751010102"]
    np.testing.assert_array_equal(table["disp_med"], [21000.5, np.nan])


def test_codes_stored_as_numbers_in_a_csv(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED18\n10040101;19300\n751010101;25000\n")
    with pytest.warns(IlotsWarning, match="leading zeros restored"):
        table, _, warns = read_filosofi(path)
    assert table["code_iris"].tolist() == ["010040101", "751010101"]
    assert any("10040101 -> '010040101'" in w for w in warns)


def test_latin1_file(tmp_path):
    path = write(
        tmp_path, "IRIS;LIBIRIS;DISP_MED18\n910490101;Évry Centre;18000\n", encoding="cp1252"
    )
    table, _, _ = read_filosofi(path)
    assert table["libiris"].tolist() == ["Évry Centre"]


def test_all_secret_column_is_all_nan_with_a_warning(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED21;DISP_D121\n751010101;25000;s\n751010102;21000;nd\n")
    (table, meta, warns), emitted = call_quiet(read_filosofi, path)
    assert emitted == warns
    assert len(warns) == 2 and "disp_d1 2" in warns[0] and "entirely secret" in warns[1]
    assert [w.code for w in warns] == ["secret_values"] * 2  # the kind the report names
    assert table["disp_d1"].isna().all() and table["disp_d1"].dtype == np.float64
    assert dict(meta.missing) == {"disp_d1": 2}
    assert any("disp_d1" in w and "2 of 2 rows" in w for w in warns)


@pytest.mark.parametrize("other", ["DISP_MED21", "DISP_D121"])
def test_mixed_years_is_an_error(tmp_path, other):
    path = write(tmp_path, f"IRIS;DISP_MED18;{other}\n751010101;1;2\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert "2018 (" in text and "2021 (" in text


def test_two_columns_on_one_name(tmp_path):
    path = write(tmp_path, "CODE_QP;DISP_MED_A21;disp_med21\nQP093028;1;2\n")
    with pytest.raises(CensusError, match="same name"):
        read_filosofi(path, level="qpv")


def test_duplicate_codes(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED18\n751010101;1\n751010101;2\n")
    with pytest.raises(CensusError, match="'751010101'"):
        read_filosofi(path)


def test_no_key_column(tmp_path):
    path = write(tmp_path, "CODE;DISP_MED18\n751010101;1\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert "IRIS" in one_line(err) and "CODE;DISP_MED18" in one_line(err)


def test_unparsable_indicator_cell(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED18\n751010101;12abc\n751010102;n.d.\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert "'12abc'" in one_line(err) and "'n.d.'" in one_line(err)


def test_mixed_decimal_marks_in_one_column(tmp_path):
    path = write(tmp_path, "IRIS;DISP_GI18\n751010101;0,25\n751010102;0.3\n")
    with pytest.raises(CensusError, match="mixes decimal commas"):
        read_filosofi(path)


# --------------------------------------------------------------------------------------------
# one decimal mark per table: thousands separators are never read as decimal marks


def test_thousands_commas_beside_decimal_points_are_refused(tmp_path):
    # An English re-save: 19,300 is 19 300 €, never 19.3; read per column it was 19.3.
    path = write(tmp_path, 'IRIS,DISP_TP6021,DISP_MED21\n010040101,20.1,"19,300"\n'
                 '010040102,25.7,"17,530"\n')  # fmt: skip
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert str(path) in text and "thousands separators" in text
    assert "DISP_MED21 (e.g. '19,300')" in text and "DISP_TP6021 (e.g. '20.1')" in text


def test_columns_disagreeing_on_the_decimal_mark_are_refused(tmp_path):
    path = write(tmp_path, "IRIS;DISP_TP6021;DISP_GI21\n751010101;20.1;0,242\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert "disagree" in text and "DISP_TP6021" in text and "DISP_GI21" in text
    assert str(path) in text


def test_commas_that_may_be_thousands_separators_are_refused(tmp_path):
    # Every comma has 3 digits after it and no column shows the decimal mark.
    path = write(tmp_path, 'IRIS,DISP_MED21\n010040101,"19,300"\n010040102,"17,530"\n')
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert "DISP_MED21 (e.g. '19,300')" in text and "re-export" in text
    assert str(path) in text


def test_three_decimals_take_the_decimal_comma_of_another_column(tmp_path):
    # 3,400 alone is ambiguous; DISP_TP6021's 20,1 shows the table's decimal comma.
    path = write(tmp_path, "IRIS;DISP_TP6021;DISP_S80S2021\n751010101;20,1;3,400\n"
                 "751010102;8,0;2,125\n")  # fmt: skip
    table, meta, _ = read_filosofi(path)
    assert meta.decimal == ","
    np.testing.assert_array_equal(table["disp_s80s20"], [3.4, 2.125])


def test_three_decimals_in_a_rate_beside_integer_incomes_are_a_decimal_comma(tmp_path):
    # A rate does not run in the thousands: 14,300 is 14.3 %, although the integer medians
    # show no mark to settle it (refused before the rule was narrowed to income levels).
    path = write(tmp_path, "IRIS;DISP_TP6021;DISP_MED21\n751010101;14,300;21340\n"
                 "751010102;9,125;19300\n")  # fmt: skip
    table, meta, _ = call_quiet(read_filosofi, path)[0]
    assert meta.decimal == ","
    np.testing.assert_array_equal(table["disp_tp60"], [14.3, 9.125])
    np.testing.assert_array_equal(table["disp_med"], [21340.0, 19300.0])


def test_spaces_as_thousands_separators_make_the_comma_decimal(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED21\n751010101;19 300,500\n751010102;17 530,250\n")
    table, meta, warns = call_quiet(read_filosofi, path)[0]
    np.testing.assert_array_equal(table["disp_med"], [19300.5, 17530.25])
    assert meta.decimal == "," and warns == []


def test_numbers_with_thousands_separators_say_so(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED21\n751010101;19.300,5\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert "thousands separators" in one_line(err) and "re-export" in one_line(err)


def test_income_levels_in_thousands_of_euros_are_warned(tmp_path):
    # Medians and deciles of 19.3 and 10.3 (thousands of euros), rates left alone.
    path = write(tmp_path, "IRIS;DISP_TP6021;DISP_MED21;DISP_D121\n751010101;12,5;19,3;10,3\n"
                 "751010102;8,0;21,5;11,1\n751010103;9,0;20,0;10,9\n")  # fmt: skip
    (table, _, warns), emitted = call_quiet(read_filosofi, path)
    assert emitted == warns and len(warns) == 2
    assert "'DISP_MED21'" in warns[0] and "median of 20," in warns[0]
    assert "'DISP_D121'" in warns[1] and "median of 10.9," in warns[1]
    assert all("thousands" in w for w in warns)
    assert table["disp_med"].tolist() == [19.3, 21.5, 20.0]  # read, not changed


@pytest.mark.parametrize(
    ("column", "values", "warned"),
    [
        ("DISP_MED21", [1000.0, 1000.0, np.nan], False),  # the bounds are plausible
        ("DISP_MED21", [999.0, 999.0, 5e5], True),  # the median, not one IRIS, decides
        ("disp_med", [200_000.0], False),
        ("disp_d9", [200_001.0], True),
        ("disp_q2", [19.3], True),  # the hackaviz median
        ("DEC_Q121", [12.0], False),  # declared Q1, D1-D3: near 0 in the poorest areas
        ("decuc_d1", [0.0, 0.0, 410.0], False),  # the real hackaviz QPV first deciles
        ("DEC_Q321", [12.0], True),
        ("dec_d1", [5e5], True),  # their high end is checked
        ("decuc_q2", [np.nan, 19.3], True),
        ("DISP_TP6021", [12.5], False),  # a rate
        ("disp_gi", [0.25], False),
        ("disp_s80s20", [3.4], False),
        ("DISP_MED21", [np.nan], False),  # nothing to judge
    ],
)
def test_implausible_income(column, values, warned):
    message = implausible_income(column, np.array(values))
    assert (message is not None) == warned
    if warned:
        assert repr(column) in message and "€/year per consumption unit" in message


def test_income_in_cents_is_warned():
    message = implausible_income("DISP_MED21", np.array([2_134_050.0, 1_930_000.0]))
    assert "cents" in message and "2.03202e+06" in message


# --------------------------------------------------------------------------------------------
# rows that are no IRIS, and rows of other communes


@pytest.mark.parametrize("communes", [None, {"01004"}])
def test_rows_outside_any_iris_are_dropped_and_counted(tmp_path, communes):
    path = write(tmp_path, "IRIS;DISP_MED21\n010040101;19300\nZZZZZZZZZ;18000\n"
                 "010040102;21000\nzzzzzzzzz;17000\n")  # fmt: skip
    (table, meta, warns), emitted = call_quiet(read_filosofi, path, communes=communes)
    assert table["code_iris"].tolist() == ["010040101", "010040102"]
    assert meta.n_rows == 2 and emitted == warns and len(warns) == 1
    assert "2 rows coded 'ZZZZZZZZZ' in column 'IRIS' dropped" in warns[0]


@pytest.mark.parametrize("communes", [None, {"01001"}])
def test_a_commune_level_table_is_refused(tmp_path, communes):
    # With the communes filter its rows used to vanish (IRIS "01001" is of no commune).
    path = write(tmp_path, "CODGEO;LIBGEO;DISP_MED21\n01001;L'Abergement;19300\n"
                 "2A004;Ajaccio;18000\n")  # fmt: skip
    with pytest.raises(CensusError) as err:
        read_filosofi(path, communes=communes)
    text = one_line(err)
    assert "2 of 2 values in column 'CODGEO' are commune codes" in text
    assert "a commune-level table" in text and "BASE_TD_FILO_DISP_IRIS" in text


def test_commune_rows_among_iris_rows_are_refused():
    # Numbers as a spreadsheet gives them: 1001 is commune 01001, 10040101 IRIS 010040101.
    raw = pd.DataFrame({"IRIS": [10040101, 1001], "DISP_MED21": [19300, 17000]})
    with pytest.raises(CensusError) as err:
        read_filosofi(raw)
    assert "1 of 2 values in column 'IRIS' are commune codes, e.g. 1001" in one_line(err)
    assert "rows of communes" in one_line(err)


def test_rows_of_other_communes_are_counted(tmp_path, caplog):
    # A Filosofi 2016 extract: Seynod (74268) later merged into Annecy (74010).
    path = write(tmp_path, "IRIS;DISP_MED16\n740100101;21000\n742680101;22000\n"
                 "742680102;23000\n751010101;25000\n")  # fmt: skip
    with caplog.at_level("INFO", logger="pipelines.census"):
        table, meta, warns = read_filosofi(path, communes={"74010"})
    assert table["code_iris"].tolist() == ["740100101"] and warns == []
    assert meta.outside == 3 and meta.outside_communes == ("74268",)  # 75101: not in 74
    assert meta.to_dict()["outside_communes"] == ["74268"]
    assert "3 rows of other communes left out" in caplog.text
    _, whole, _ = read_filosofi(path)
    assert whole.outside == 0 and whole.outside_communes == ()


def test_secret_values_are_counted_over_the_iris_counted_only(tmp_path):
    # A box keeps 2 IRIS of a commune whose other 2 are secret: kept in the table (the
    # communes filter), they are not counted in the warning nor in meta.missing.
    path = write(tmp_path, "IRIS;DISP_MED21;DISP_D121\n315550101;21000;9000\n"
                 "315550102;s;s\n315550103;nd;8000\n315550104;22000;s\n")  # fmt: skip
    kept = ["315550101", "315550104"]
    table, meta, warns = call_quiet(read_filosofi, path, communes={"31555"}, counted=kept)[0]
    assert len(table) == 4 and np.isnan(table["disp_med"]).sum() == 2
    assert meta.missing == (("disp_d1", 1),) and meta.markers == (("s", 1),)
    assert warns == [
        f"Filosofi table {path}: secret or missing values (nd/ns/s/so/empty) set to NaN, never "
        "0, in 1 columns: disp_d1 1 (cells by marker: 's' 1)"
    ]
    # Over IRIS none of which is secret: nothing to say.
    assert call_quiet(read_filosofi, path, counted=["315550101"])[0][2] == []
    # Every row counted, as without it: disp_d1 is all secret over 315550102 and 315550104.
    secret = call_quiet(read_filosofi, path, counted=["315550102", "315550104"])[0][2]
    assert secret[1].endswith("1 columns are entirely secret or empty (2 of 2 rows), all NaN: "
                              "disp_d1")  # fmt: skip


def test_level_validated(tmp_path):
    with pytest.raises(ValueError, match="level"):
        read_filosofi(write(tmp_path, "IRIS;DISP_MED18\n751010101;1\n"), level="commune")


def test_insee_qpv_level_names(tmp_path):
    path = write(tmp_path, "CODE_QP;LIB_QP;DISP_MED_A21;DISP_TP60_A21\nQP093028;Cité;11890;42,3\n")
    table, meta, warns = read_filosofi(path, level="qpv")
    assert list(table.columns) == ["code_qp", "lib_qp", "disp_med", "disp_tp60"]
    assert table.loc[0, "disp_med"] == 11890.0 and table.loc[0, "disp_tp60"] == 42.3
    assert meta.year == 2021 and meta.level == "qpv" and warns == []


def _insee_like_workbook(path):
    """An XLSX laid out like INSEE's: a doc sheet, then title rows, labels, codes, data."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    doc = book.active
    doc.title = "Documentation"
    doc.append(["Revenus, pauvreté et niveau de vie en 2021 (Iris)"])
    doc.append(["Variable", "Libellé"])
    sheet = book.create_sheet("IRIS")
    sheet.append(["Revenus, pauvreté et niveau de vie en 2021 (Iris)"])
    sheet.append(["Base de données Filosofi"])
    sheet.append([])
    sheet.append(["Source : Insee-DGFiP-Cnaf-Cnav-CCMSA, Fichier localisé social et fiscal"])
    sheet.append(["IRIS", "Libellé de l'IRIS", "Commune", "Médiane (€)", "Taux de pauvreté (%)"])
    sheet.append(["IRIS", "LIBIRIS", "COM", "DISP_MED21", "DISP_TP6021"])
    sheet.append([10040101, "Centre", "01004", 19300, 20.1])  # code stored as a number
    sheet.append(["2A0040101", "Ajaccio", "2A004", 21000.5, "s"])
    sheet.append(["751010101", "Louvre", "75101", "nd", "ns"])
    book.save(path)


def test_xlsx_with_insee_header_rows(tmp_path):
    path = tmp_path / "BASE_TD_FILO_IRIS_2021_DISP.xlsx"
    _insee_like_workbook(path)
    table, meta, warns = call_quiet(read_filosofi, path)[0]
    assert meta.header_row == 5 and meta.sheet == "IRIS" and meta.separator is None
    assert meta.year == 2021
    assert list(table.columns) == ["code_iris", "libiris", "com", "disp_med", "disp_tp60"]
    assert table["code_iris"].tolist() == ["010040101", "2A0040101", "751010101"]
    assert table["com"].tolist() == ["01004", "2A004", "75101"]
    np.testing.assert_array_equal(table["disp_med"], [19300.0, 21000.5, np.nan])
    np.testing.assert_array_equal(table["disp_tp60"], [20.1, np.nan, np.nan])
    assert dict(meta.markers) == {"nd": 1, "ns": 1, "s": 1}
    assert any("leading zeros restored" in w for w in warns)


def test_xlsx_code_columns_become_text_with_their_zeros(tmp_path):
    # A re-saved workbook: code cells as numbers beside text; the run's GeoParquet failed
    # on the mixed column (ArrowInvalid) after all the work.
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["IRIS", "COM", "DEP", "REG", "LIBCOM", "TRIRIS", "DISP_MED21"])
    sheet.append(["010040101", 1004, 1, 84, "Ambérieu", 10011, 19300])
    sheet.append(["010040102", "01004", "01", "84", "Ambérieu", "010011", 17530])
    sheet.append(["2A0040101", "2A004", "2A", 94, "Ajaccio", None, 21000])
    sheet.append(["751010101", 75101, 75, 11, 1789, "751011", 30000])
    path = tmp_path / "filo.xlsx"
    book.save(path)
    (table, _, warns), _ = call_quiet(read_filosofi, path)
    assert table["com"].tolist() == ["01004", "01004", "2A004", "75101"]
    assert table["dep"].tolist() == ["01", "01", "2A", "75"]
    assert table["reg"].tolist() == ["84", "84", "94", "11"]
    assert table["libcom"].tolist() == ["Ambérieu", "Ambérieu", "Ajaccio", "1789"]
    assert table["triris"].tolist() == ["10011", "010011", None, "751011"]  # no known width
    assert any("column 'COM' were stored as numbers" in w and "1004 -> '01004'" in w
               for w in warns)  # fmt: skip
    from pipelines.outputs.tables import write_geoparquet

    zones = gpd.GeoDataFrame(table, geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=2154)
    back = pd.read_parquet(write_geoparquet(zones, tmp_path / "zones.parquet"))
    assert back["com"].tolist() == ["01004", "01004", "2A004", "75101"]


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the first bytes of an Excel 97-2003 file


def _insee_like_xls(path):
    """The workbook of :func:`_insee_like_workbook` in the old Excel format (BIFF8, OLE2),
    as INSEE published the Filosofi tables before 2017, written with xlwt."""
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    doc = book.add_sheet("Documentation")
    doc.write(0, 0, "Revenus, pauvreté et niveau de vie en 2014 (Iris)")
    sheet = book.add_sheet("IRIS")
    rows = [
        ["Revenus, pauvreté et niveau de vie en 2014 (Iris)"],
        [],
        ["IRIS", "Libellé de l'IRIS", "Commune", "Médiane (€)", "Taux de pauvreté (%)"],
        ["IRIS", "LIBIRIS", "COM", "DISP_MED14", "DISP_TP6014"],
        [10040101, "Centre", "01004", 19300, 20.1],  # code stored as a number
        ["010040102", "Gare", 1004, 17530.5, "s"],  # a text code with its zero, a number COM
        ["2A0040101", "Ajaccio", "2A004", "nd", "ns"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))


@pytest.mark.parametrize("xlrd_installed", [False, True])
def test_an_old_excel_file_is_read(tmp_path, monkeypatch, xlrd_installed):
    # Older INSEE millésimes are .xls (OLE2), read with python-calamine: pandas' default
    # for them is xlrd (pandas 2; pandas 3 too when xlrd is installed), which pandas
    # deprecates and ilots does not install. Text codes keep their leading zeros.
    path = tmp_path / "BASE_TD_FILO_DISP_IRIS_2014.xls"
    _insee_like_xls(path)
    if xlrd_installed:  # a stand-in that pandas would pick, and that reads nothing
        monkeypatch.setitem(sys.modules, "xlrd", types.SimpleNamespace(__version__="2.0.1"))
    assert path.read_bytes()[: len(OLE2)] == OLE2  # the old format, whatever its suffix
    (table, meta, warns), emitted = call_quiet(read_filosofi, path)
    assert meta.header_row == 3 and meta.sheet == "IRIS" and meta.year == 2014
    assert list(table.columns) == ["code_iris", "libiris", "com", "disp_med", "disp_tp60"]
    assert table["code_iris"].tolist() == ["010040101", "010040102", "2A0040101"]
    assert table["com"].tolist() == ["01004", "01004", "2A004"]
    np.testing.assert_array_equal(table["disp_med"], [19300.0, 17530.5, np.nan])
    np.testing.assert_array_equal(table["disp_tp60"], [20.1, np.nan, np.nan])
    assert dict(meta.markers) == {"nd": 1, "ns": 1, "s": 1}
    assert any("leading zeros restored" in w for w in warns) and emitted == warns
    with pytest.raises(CensusError, match=r"its sheets: 'Documentation', 'IRIS'"):
        read_filosofi(path, sheet="2014")


def test_an_old_excel_file_without_calamine_names_calamine(tmp_path, monkeypatch):
    # pandas reads .xls with xlrd unless told; ilots asks for calamine, and names it.
    path = tmp_path / "BASE_TD_FILO_DISP_IRIS_2014.xls"
    path.write_bytes(OLE2 + bytes(504))
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # its import raises ImportError
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert "old Excel (.xls)" in text and "needs python-calamine: pip install python-ca" in text
    assert "openpyxl" not in text and "xlrd" not in text


def test_an_xlsx_file_without_openpyxl_names_openpyxl(tmp_path, monkeypatch):
    path = tmp_path / "filo.xlsx"
    _insee_like_workbook(path)
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(CensusError, match=r"XLSX Filosofi table .* needs openpyxl: pip install"):
        read_filosofi(path)


def test_an_unreadable_old_excel_file_is_one_line(tmp_path):
    # The engine's own errors (xlrd's CompDocError, calamine's CalamineError) came out as a
    # traceback.
    path = tmp_path / "filo.xls"
    path.write_bytes(OLE2 + bytes(600))
    with pytest.raises(CensusError, match=rf"^cannot read the Filosofi table {path}: "):
        read_filosofi(path)


def test_dataframe_source():
    raw = pd.DataFrame({"iris": [10040101, 751010101], "DISP_MED19": [19300, None]})
    table, meta, warns = call_quiet(read_filosofi, raw)[0]
    assert table["code_iris"].tolist() == ["010040101", "751010101"]
    np.testing.assert_array_equal(table["disp_med"], [19300.0, np.nan])
    assert meta.year == 2019 and meta.source == "<DataFrame>"
    assert raw["iris"].tolist() == [10040101, 751010101]  # caller untouched
    assert len(warns) == 2


def test_meta_is_frozen_and_serialisable(tmp_path):
    _, meta, _ = read_filosofi(write(tmp_path, "IRIS;DISP_MED18\n751010101;21000\n"))
    assert isinstance(meta, FilosofiMeta)
    with pytest.raises(AttributeError):
        meta.year = 2021  # type: ignore[misc]
    assert meta.to_dict()["columns"] == {"IRIS": "code_iris", "DISP_MED18": "disp_med"}


# --------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_filosofi_2018_markers_counted(real_data):
    path = real_data / "filosofi" / "BASE_TD_FILO_DISP_IRIS_2018_france.csv"
    raw = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    table, meta, warns = call_quiet(read_filosofi, path)[0]
    assert len(table) == len(raw) == 12_395
    assert meta.year == 2018 and meta.separator == ";" and meta.header_row == 0
    assert table["code_iris"].tolist() == raw["IRIS"].tolist()
    expected = {}
    for column in raw.columns[1:]:
        n = int(raw[column].str.strip().str.lower().isin(MARKERS).sum())
        if n:
            expected[column[:-2].lower()] = n
    assert dict(meta.missing) == expected
    assert expected["disp_tp60"] == 2881  # the secret poverty rates
    # values: NaN exactly where the raw cell is a marker, else the raw number
    is_marker = raw["DISP_TP6018"].str.strip().str.lower().isin(MARKERS).to_numpy()
    np.testing.assert_array_equal(table["disp_tp60"].isna().to_numpy(), is_marker)
    raw_values = raw.loc[~is_marker, "DISP_TP6018"].astype(float).to_numpy()
    np.testing.assert_array_equal(table.loc[~is_marker, "disp_tp60"].to_numpy(), raw_values)
    assert len(warns) == 1 and "disp_tp60 2881" in warns[0]


@pytest.mark.realdata
def test_real_filosofi_2018_kept_to_communes(real_data):
    # INSEE's table holds France: with communes, the rows and the secret counts are theirs.
    path = real_data / "filosofi" / "BASE_TD_FILO_DISP_IRIS_2018_france.csv"
    raw = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    communes = {"31555", "75112"}  # Toulouse, Paris 12th
    mine = raw[raw["IRIS"].str[:5].isin(communes)]
    table, meta, warns = call_quiet(read_filosofi, path, communes=communes)[0]
    assert 100 < len(table) == len(mine) < 300
    assert table["code_iris"].tolist() == mine["IRIS"].tolist()
    secret = int(mine["DISP_TP6018"].str.strip().str.lower().isin(MARKERS).sum())
    assert dict(meta.missing).get("disp_tp60", 0) == secret
    assert all("2881" not in w for w in warns)
    # Paris (75056) names its IRIS through its 20 arrondissements (75101-75120).
    paris = call_quiet(read_filosofi, path, communes="75056")[0][0]
    arrondissements = {f"751{k:02d}" for k in range(1, 21)}
    assert len(paris) == raw["IRIS"].str[:5].isin(arrondissements).sum() == 870


@pytest.mark.realdata
def test_real_hackaviz_qpv_table(real_data):
    path = real_data / "qpv" / "occitanie_qp_indicateurs_hackaviz2021.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table, meta, warns = call_quiet(read_filosofi, path, level="qpv")[0]
    assert len(table) == 105 and meta.year is None
    assert any("year is unknown" in w for w in warns)
    assert table["code_qp"].tolist() == raw["code_qp"].tolist()
    np.testing.assert_array_equal(table["disp_med"], raw["disp_q2"].astype(float))
    np.testing.assert_array_equal(table["disp_tp60"], raw["tp60"].astype(float))
    assert table["pop_mun"].sum() == sum(int(v) for v in raw["pop_mun"])
    assert dict(meta.missing)["part_chomprinc"] == int((raw["part_chomprinc"] == "").sum())
    assert not math.isnan(table["disp_med"].sum())


# --------------------------------------------------------------------------------------------
# files that are not plain CSV: other separators, UTF-16, ZIP archives


def test_another_separator_is_named_with_those_read(tmp_path):
    """A '|'-separated table said "no header with a key column ... first line: 'IRIS|...'",
    which did not say that the separator is what is wrong, nor which ones are read."""
    path = write(tmp_path, "IRIS|DISP_MED21\n751010101|25000\n")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert one_line(err) == (
        f"the Filosofi table {path}: line 1 names the key column 'IRIS' but separates the "
        "columns with '|': save the table as CSV with ';', ',' or a tab between the fields "
        "(INSEE's own: ';')"
    )
    path = write(tmp_path, "CODE|DISP_MED21\n751010101|25000\n")  # no key column at all
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert "read as fields separated by ';', ',' or a tab; first line: 'CODE|" in one_line(err)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_read(tmp_path, encoding):
    """Excel's "Unicode text" (UTF-16 with a byte-order mark, tabs between the fields) gave
    "no header ...; first line: 'ÿþI\\x00R\\x00I\\x00S...'"."""
    text = "\ufeffIRIS\tLIBIRIS\tDISP_MED21\r\n751010101\tLouvre\t25000,5\r\n"
    text += "910490101\tÉvry\tnd\r\n"  # the byte-order mark first: Excel writes one
    table, meta, _ = call_quiet(read_filosofi, write(tmp_path, text, encoding=encoding))[0]
    assert meta.separator == "\t" and meta.decimal == ","
    assert table["code_iris"].tolist() == ["751010101", "910490101"]
    assert table["libiris"].tolist() == ["Louvre", "Évry"]
    np.testing.assert_array_equal(table["disp_med"], [25000.5, np.nan])


def test_utf16_without_a_byte_order_mark_says_how_to_save_the_table(tmp_path):
    path = write(tmp_path, "IRIS;DISP_MED21\n751010101;25000\n", encoding="utf-16-le")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    text = one_line(err)
    assert text.startswith(f"the Filosofi table {path} is not a text table: it holds NUL")
    assert text.endswith("save it as CSV UTF-8 (';' or ',' between fields)")


def _zip(path, members: dict[str, str]):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text.encode("utf-8"))
    return path


INSEE_CSV = "IRIS;LIBIRIS;DISP_MED21\n751010101;Louvre;25000,5\n751010102;Halles;s\n"
#: INSEE's description of the columns, shipped beside the table: it names IRIS too.
INSEE_META = "COD_VAR;LIB_VAR\nIRIS;Code de l'IRIS\nDISP_MED21;Médiane (€)\n"


def test_an_insee_zip_archive_is_read_from_its_table(tmp_path):
    """INSEE ships each table zipped beside its meta_ file: the archive was read as text
    ("first line: 'PK\\x03\\x04...'"); its table is now read, the meta_ file passed over."""
    members = {"BASE_TD_FILO_IRIS_2021_DISP.csv": INSEE_CSV,
               "meta_BASE_TD_FILO_IRIS_2021_DISP.csv": INSEE_META}  # fmt: skip
    path = _zip(tmp_path / "BASE_TD_FILO_IRIS_2021_DISP_CSV.zip", members)
    table, meta, _ = call_quiet(read_filosofi, path)[0]
    assert meta.source == f"{path} (BASE_TD_FILO_IRIS_2021_DISP.csv)" and meta.year == 2021
    assert table["code_iris"].tolist() == ["751010101", "751010102"]
    assert table["libiris"].tolist() == ["Louvre", "Halles"]
    np.testing.assert_array_equal(table["disp_med"], [25000.5, np.nan])


def test_a_zip_archive_without_one_table_says_to_unzip_it(tmp_path):
    two = _zip(tmp_path / "two.zip", {"a.csv": INSEE_CSV, "b.csv": INSEE_CSV})
    with pytest.raises(CensusError) as err:
        read_filosofi(two)
    assert one_line(err) == (
        f"the Filosofi table {two} is a ZIP archive with 2 tables whose header has a key "
        "column (IRIS, CODE_IRIS, DCOMIRIS, CODGEO) among its files ('a.csv', 'b.csv'): unzip "
        "it and give the table file in it (.csv or .xlsx)"
    )
    none = _zip(tmp_path / "none.zip", {"meta_filo.csv": INSEE_META, "notes.txt": "hello"})
    with pytest.raises(CensusError, match=r"is a ZIP archive with no table whose header"):
        read_filosofi(none)


def test_a_zip_member_too_large_to_read_is_named(tmp_path, monkeypatch):
    """A table larger than the archive limit was passed over in silence, and the archive
    said to hold "no table whose header has a key column"; it is named with its size."""
    import pipelines.census.tables as tables

    size = len(INSEE_CSV.encode("utf-8"))  # ASCII: one byte a character
    monkeypatch.setattr(tables, "_ZIP_MEMBER_LIMIT", size - 1)
    members = {"filo/BASE.csv": INSEE_CSV, "meta_BASE.csv": INSEE_META}
    path = _zip(tmp_path / "filo.zip", members)
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert one_line(err) == (
        f"the Filosofi table {path} is a ZIP archive whose text files are larger uncompressed "
        f"than ilots reads from an archive ({size - 1:,} bytes): 'filo/BASE.csv' ({size:,} "
        "bytes); unzip it and give the CSV"
    )
    # A table within the limit is read, a larger file beside it passed over.
    monkeypatch.setattr(tables, "_ZIP_MEMBER_LIMIT", size)
    path = _zip(tmp_path / "two.zip", {"BASE.csv": INSEE_CSV, "notes.txt": "x" * (size + 1)})
    table, _, _ = call_quiet(read_filosofi, path)[0]
    assert table["code_iris"].tolist() == ["751010101", "751010102"]


def test_an_xlsx_named_csv_says_to_rename_it(tmp_path):
    pytest.importorskip("openpyxl")
    pd.DataFrame({"IRIS": ["751010101"], "DISP_MED21": [25000]}).to_excel(
        tmp_path / "filo.xlsx", index=False
    )
    path = (tmp_path / "filo.xlsx").rename(tmp_path / "filo.csv")
    with pytest.raises(CensusError) as err:
        read_filosofi(path)
    assert one_line(err) == (
        f"the Filosofi table {path} is an Excel workbook (.xlsx) named '.csv': rename it filo.xlsx"
    )


def test_a_table_without_indicator_asks_whether_it_is_the_filosofi_table(tmp_path):
    """Said "no two-digit year suffix ...; no Filosofi indicator found (meta.year is None):
    check the source's documentation", of a population table given as Filosofi."""
    path = write(tmp_path, "IRIS;P21_POP\n751010101;1875\n")
    (_, meta, warns), _ = call_quiet(read_filosofi, path)
    assert meta.year is None
    assert warns == [
        f"Filosofi table {path}: no Filosofi indicator among its columns ('IRIS', 'P21_POP'), "
        "which are named like DISP_MED21 or DISP_TP6021: is it the Filosofi table?"
    ]


def test_a_table_with_the_income_column_asked_for_is_read_without_a_word(tmp_path):
    """A custom income table (no Filosofi indicator) was warned "is it the Filosofi table?"
    though it holds census.income_column; without that column it is refused, once."""
    path = write(tmp_path, "IRIS;Revenu\n751010101;21000\n")
    (table, meta, warns), caught = call_quiet(read_filosofi, path, income_column="revenu")
    assert table["revenu"].tolist() == [21000.0] and meta.year is None
    assert warns == caught == []
    with pytest.raises(CensusError) as err:
        call_quiet(read_filosofi, path, income_column="disp_med")
    assert one_line(err) == (
        f"{path.name} holds no Filosofi indicator (e.g. DISP_MED21) nor the column "
        "census.income_column names ('disp_med'); its columns: 'IRIS', 'Revenu': is it the "
        "Filosofi table (INSEE's BASE_TD_FILO_IRIS_<year>_DISP)?"
    )
