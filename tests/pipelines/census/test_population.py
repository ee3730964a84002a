"""read_population: INSEE census tables, a column on the IRIS layer, errors, real Paris."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from pipelines.census import PopulationMeta, read_iris, read_population
from tests.pipelines.census.helpers import call_quiet, layer, one_line
from tiles import CensusError


def test_insee_table_picks_the_total(tmp_path):
    path = tmp_path / "base-ic-evol-struct-pop-2021.csv"
    path.write_text(
        "IRIS;REG;COM;P21_POP;P21_POP0014;P21_POP1529\n"
        "010040101;84;01004;2095,3;400,1;300\n"
        "2A0040101;94;2A004;1500;200;100\n"
    )
    table, meta, warns = read_population(path)
    assert list(table.columns) == ["code_iris", "population"]
    assert table["code_iris"].tolist() == ["010040101", "2A0040101"]
    np.testing.assert_array_equal(table["population"], [2095.3, 1500.0])
    assert meta == PopulationMeta(
        year=2021, column="P21_POP", source=str(path), key="IRIS", n_rows=2, missing=0
    )
    assert warns == []


def test_several_years_need_a_choice(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;P15_POP;P21_POP\n751010101;10;12\n")
    with pytest.raises(CensusError) as err:
        read_population(path)
    assert "P15_POP" in one_line(err) and "column=" in one_line(err)
    table, meta, _ = read_population(path, column="p15_pop")
    assert meta.year == 2015 and table["population"].tolist() == [10.0]


def test_secret_population_is_nan_not_zero(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;P21_POP\n751010101;s\n751010102;0\n751010103;\n")
    (table, meta, warns), emitted = call_quiet(read_population, path)
    np.testing.assert_array_equal(table["population"], [np.nan, 0.0, np.nan])
    assert meta.missing == 2
    assert len(warns) == 1 and "2 of 3" in warns[0] and emitted == warns


def test_rows_kept_to_communes(tmp_path):
    # A national table read for one city: its rows, and its secret values only.
    path = tmp_path / "pop.csv"
    path.write_text(  # and a malformed code elsewhere, not the city's concern
        "IRIS;P21_POP\n751010101;s\n315550101;12\n315550102;s\n2A0040101;7\n75101XXXX;3\n"
    )
    (table, meta, warns), _ = call_quiet(read_population, path, communes={"31555", "2A004"})
    assert table["code_iris"].tolist() == ["315550101", "315550102", "2A0040101"]
    np.testing.assert_array_equal(table["population"], [12.0, np.nan, 7.0])
    assert meta.missing == 1 and meta.n_rows == 3
    assert len(warns) == 1 and "1 of 3" in warns[0]


def test_populations_with_thousands_separators_are_refused(tmp_path):
    # 2,345 residents in an English export, never 2.345.
    path = tmp_path / "pop.csv"
    path.write_text('IRIS,P21_POP\n751010101,"2,345"\n751010102,"1,890"\n')
    with pytest.raises(CensusError) as err:
        read_population(path)
    text = one_line(err)
    assert str(path) in text and "P21_POP (e.g. '2,345')" in text and "re-export" in text


def test_population_decimal_comma(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;P21_POP\n751010101;2345,67891\n751010102;1890,5\n")
    table, _, _ = read_population(path)
    np.testing.assert_array_equal(table["population"], [2345.67891, 1890.5])


def test_rows_outside_any_iris_and_of_other_communes(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;P21_POP\nZZZZZZZZZ;40\n315550101;12\n310690101;9\n751010101;3\n")
    (table, meta, warns), _ = call_quiet(read_population, path, communes={"31555"})
    assert table["code_iris"].tolist() == ["315550101"]
    assert meta.outside == 2 and meta.outside_communes == ("31069",)
    assert len(warns) == 1 and "1 rows coded 'ZZZZZZZZZ'" in warns[0]


def test_a_commune_population_table_is_refused(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("CODGEO;P21_POP\n01001;832\n01002;250\n")
    with pytest.raises(CensusError) as err:
        read_population(path, communes={"01001"})
    text = one_line(err)
    assert "2 of 2 values in column 'CODGEO' are commune codes" in text
    assert "base-ic-evol-struct-pop" in text


def test_no_population_column_lists_columns(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;POPULATION_TOTALE\n751010101;10\n")
    with pytest.raises(CensusError) as err:
        read_population(path)
    assert "'POPULATION_TOTALE'" in one_line(err)


def test_negative_population(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("IRIS;P21_POP\n751010101;-3\n")
    with pytest.raises(CensusError, match="negative"):
        read_population(path)


def test_population_column_on_a_layer_with_numeric_codes():
    gdf = layer({"CODE_IRIS": [10020101, 751010101], "P18_POP": [120.5, 3000.0]})
    (table, meta, warns), _ = call_quiet(read_population, gdf)
    assert table["code_iris"].tolist() == ["010020101", "751010101"]
    assert table["population"].tolist() == [120.5, 3000.0]
    assert meta.year == 2018 and meta.column == "P18_POP" and meta.key == "CODE_IRIS"
    assert len(warns) == 1 and "leading zeros restored" in warns[0]


def test_xlsx_with_header_rows(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Évolution et structure de la population en 2021"])
    sheet.append([])
    sheet.append(["IRIS", "Commune", "Population en 2021"])
    sheet.append(["IRIS", "COM", "P21_POP"])
    sheet.append(["751010101", "75101", 1234.5])
    path = tmp_path / "pop.xlsx"
    book.save(path)
    table, meta, _ = read_population(path)
    assert table["code_iris"].tolist() == ["751010101"]
    assert table["population"].tolist() == [1234.5] and meta.year == 2021


@pytest.mark.realdata
def test_real_paris_layer_population(real_data):
    path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    raw = gpd.read_file(path)
    iris, _ = read_iris(path)
    table, meta, warns = read_population(iris)
    assert meta.year == 2018 and meta.column == "P18_POP" and warns == []
    assert table["code_iris"].tolist() == raw["CODE_IRIS"].tolist()
    np.testing.assert_array_equal(table["population"], raw["P18_POP"].to_numpy())


def test_a_vector_layer_given_as_the_table_says_how_to_make_a_table(tmp_path):
    # An IRIS layer carrying P18_POP, given by its path: "no header with a key column ...
    # first line: '{'" before; then a fix for Python users only.
    from shapely.geometry import box

    path = tmp_path / "iris.geojson"
    gpd.GeoDataFrame({"CODE_IRIS": ["315550101"], "P18_POP": [2000]},
                     geometry=[box(0, 0, 1, 1)], crs=2154).to_file(path)  # fmt: skip
    with pytest.raises(CensusError) as err:
        read_population(path)
    text = one_line(err)
    assert "is a vector layer, not a table" in text
    assert f"ogr2ogr -f CSV iris.csv {path}" in text and "geopandas.read_file" in text
    frame = gpd.read_file(path)
    assert read_population(frame)[0]["population"].tolist() == [2000]
