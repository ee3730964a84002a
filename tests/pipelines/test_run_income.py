"""The run's notes on its income: a configured column not in the IRIS table (F10a), an
implausible income level said once."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

import pipelines.run as run_module
from pipelines.census import read_iris
from pipelines.config import config_from_dict
from pipelines.run_census import check_iris_columns, read_census_tables
from tiles.errors import ConfigError, collected_warnings

CONFIG = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
    "census": {},
}


@pytest.mark.parametrize(
    ("columns", "income", "found", "advice"),
    [
        # A declared-income (DEC) Filosofi file, the default disp_med asked for.
        (["dec_med", "dec_d1", "dec_tp60"], None, "dec_med, dec_d1, dec_tp60", "dec_med"),
        # A name the Filosofi table does not have (its mean income is not published).
        (["disp_med", "disp_d1"], "DISP_MOY21", "disp_med, disp_d1", "disp_med"),
        ([], None, "none (is census.filosofi set?)", None),
    ],
)
def test_a_missing_income_column_lists_every_income_column(columns, income, found, advice):
    census = {} if income is None else {"income_column": income}
    config = config_from_dict({**CONFIG, "census": census})
    table = pd.DataFrame({"code_iris": ["751010101"], "lst_mean_k": [300.0]})
    for column in columns:
        table[column] = [20_000.0]
    notes: list[str] = []
    assert run_module._inequality_reports(config, table, notes) == {}
    [note] = notes
    assert note.startswith("census.income_column: the IRIS table has no column ")
    assert f"income columns found: {found}" in note
    if advice is None:
        assert "set census.income_column" not in note
    else:
        assert note.endswith(f"; set census.income_column: {advice}")


def test_the_income_column_as_insee_names_it_is_the_normalised_one():
    """``census.income_column: DISP_MED21``, the file's own header, left the inequality
    statistics out (the IRIS table has ``disp_med``); it names that column."""
    _assert_income_crossed("DISP_MED21", "disp_med")


@pytest.mark.parametrize("income_column", ["DISP_MED19", "disp_med19"])
def test_the_iris_layers_own_income_column_is_crossed(income_column):
    """An IGN IRIS layer a user enriched with ``DISP_MED19``, no Filosofi table: the name was
    read as ``disp_med`` (the default), and the run skipped the inequality statistics
    ("the IRIS table has no column 'disp_med'"); the layer's column, whatever its case, is
    the income."""
    _assert_income_crossed(income_column, "DISP_MED19")


def _assert_income_crossed(income_column: str, iris_column: str) -> None:
    """Five IRIS whose income is ``iris_column``: with ``census.income_column``, the run
    crosses the LST with it, and says nothing of the income column."""
    config = config_from_dict(
        {
            **CONFIG,
            "census": {"income_column": income_column},
            "inequality": {"outcomes": ["lst_mean_k"], "bootstrap": 0, "stratum": None},
        }
    )
    table = gpd.GeoDataFrame(
        {
            "code_iris": [f"31555010{i}" for i in range(5)],
            "lst_mean_k": [311.0, 309.5, 310.2, 307.9, 306.4],
            iris_column: [17_500.0, 19_300.0, 21_100.0, 25_400.0, 30_100.0],
        },
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        crs="EPSG:2154",
    )
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reports = run_module._inequality_reports(config, table, notes)
    assert set(reports) == {"lst_mean_k"}
    assert not any("census.income_column" in note for note in notes), notes


@pytest.mark.parametrize("from_filosofi", [True, False])
def test_an_implausible_income_level_is_said_once(tmp_path, from_filosofi):
    """Medians in thousands of euros (19,3 for 19 300 €) are said once in a run, among its
    warnings (the manifest's): by the Filosofi reader, or by the run when the IRIS table
    holds the income itself; not again in the inequality statistics of each outcome."""
    codes = [f"31555010{i}" for i in range(5)]
    thousands = ["19,3", "17,5", "21,1", "25,4", "30,1"]
    census: dict = {}
    iris = gpd.GeoDataFrame(
        {"code_iris": codes, "lst_mean_k": [311.0, 309.5, 310.2, 307.9, 306.4]},
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        crs="EPSG:2154",
    )
    iris["ndvi_mean"] = [0.2, 0.3, 0.25, 0.4, 0.5]
    if from_filosofi:
        path = tmp_path / "filosofi.csv"
        rows = "".join(f"{c};{v}\n" for c, v in zip(codes, thousands, strict=True))
        path.write_text("IRIS;DISP_MED21\n" + rows, encoding="utf-8")
        census = {"filosofi": str(path)}
    else:
        iris["disp_med"] = [float(v.replace(",", ".")) for v in thousands]
    config = config_from_dict(
        {
            **CONFIG,
            "zones": {"iris": {"path": str(tmp_path / "iris.gpkg")}},
            "census": census,
            "inequality": {
                "outcomes": ["lst_mean_k", "ndvi_mean"],
                "bootstrap": 0,
                "moran_permutations": 0,
                "stratum": None,
            },
        }
    )
    notes: list[str] = []
    with warnings.catch_warnings(), collected_warnings() as warned:
        warnings.simplefilter("ignore")
        tables, _ = read_census_tables(config)
        table = iris
        for census_table, _outside in tables:
            table = table.merge(census_table, on="code_iris")
        reports = run_module._inequality_reports(config, table, notes)
    assert set(reports) == {"lst_mean_k", "ndvi_mean"}
    said = [*warned, *notes, *(note for r in reports.values() for note in r.notes)]
    # By hand: the median of 17.5, 19.3, 21.1, 25.4, 30.1 is 21.1 (€/year: 1000 times short).
    (message,) = [text for text in said if "€/year per consumption unit" in text]
    assert "median of 21.1," in message and "thousands" in message
    assert message in (warned if from_filosofi else notes)


def test_a_filosofi_table_without_income_stops_the_run(tmp_path):
    """The population table given as census.filosofi: the run ended without inequality
    statistics after a warning in the reader's words ("meta.year is None"). It now stops,
    naming the key, the file and its columns; a table of another income column is read."""
    path = tmp_path / "population.csv"
    path.write_text("IRIS;P21_POP\n315550101;1875\n315550102;1768\n", encoding="utf-8")
    zones = {"iris": {"path": str(tmp_path / "iris.gpkg")}}  # never read here
    config = config_from_dict({**CONFIG, "zones": zones, "census": {"filosofi": str(path)}})
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ConfigError) as err:
        warnings.simplefilter("always")
        read_census_tables(config, source="city.yaml")
    assert str(err.value) == (
        "city.yaml: census.filosofi: population.csv holds no Filosofi indicator (e.g. "
        "DISP_MED21) nor the column census.income_column names ('disp_med'); its columns: "
        "'IRIS', 'P21_POP': is it the Filosofi table (INSEE's BASE_TD_FILO_IRIS_<year>_DISP)?"
    )
    assert [str(w.message) for w in caught] == []  # the error says it, once
    census = {"filosofi": str(path), "income_column": "p21_pop"}
    own = config_from_dict({**CONFIG, "zones": zones, "census": census})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [(table, _)], _ = read_census_tables(own)
    assert table["p21_pop"].tolist() == [1875.0, 1768.0]
    # A custom income table: not asked whether it is the Filosofi table.
    assert not [w for w in caught if "Filosofi table?" in str(w.message)], caught


def test_an_income_column_named_as_in_its_file_is_found_whatever_its_case(tmp_path):
    """A custom income table's header ``Revenu_Median``, given as census.income_column as
    written in the file: the reader lower-cases the columns (``revenu_median``), and the
    table was refused as holding neither a Filosofi indicator nor that column; the run
    then finds it in the IRIS table (the name differs only in case) and crosses it."""
    path = tmp_path / "revenus.csv"
    path.write_text("IRIS;Revenu_Median\n315550101;17500\n315550102;21100\n", encoding="utf-8")
    zones = {"iris": {"path": str(tmp_path / "iris.gpkg")}}  # never read here
    census = {"filosofi": str(path), "income_column": "Revenu_Median"}
    config = config_from_dict({**CONFIG, "zones": zones, "census": census})
    [(table, _)], _ = read_census_tables(config, source="city.yaml")
    assert table["revenu_median"].tolist() == [17_500.0, 21_100.0]
    _assert_income_crossed("Revenu_Median", "revenu_median")


def _layer_census(tmp_path, population_column: str):
    """Five IRIS of an IGN layer a user enriched with DISP_MED19 and P18_POP, and a config
    that names both, with no census table."""
    iris = gpd.GeoDataFrame(
        {
            "code_iris": [f"31555010{i}" for i in range(5)],
            "lst_mean_k": [311.0, 309.5, 310.2, 307.9, 306.4],
            "DISP_MED19": [17_500.0, 19_300.0, 21_100.0, 25_400.0, 30_100.0],
            "P18_POP": [2_100.0, 1_800.0, 2_500.0, 950.0, 3_050.0],
        },
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        crs="EPSG:2154",
    )
    census = {"income_column": "DISP_MED19", "population_column": population_column}
    config = config_from_dict(
        {
            **CONFIG,
            "zones": {"iris": {"path": str(tmp_path / "iris.gpkg")}},  # never read here
            "census": census,
            "inequality": {"outcomes": ["lst_mean_k"], "bootstrap": 0, "stratum": None},
        }
    )
    return iris, config


@pytest.mark.parametrize("population_column", ["P18_POP", "p18_pop"])
def test_the_iris_layers_population_column_weighs_the_statistics(tmp_path, population_column):
    """``census.population_column: P18_POP`` without ``census.population``: it was ignored,
    and the run said the IRIS table had no population column (set census.population). The
    layer's column (whatever its case) is the population, of 2018, and weighs the means."""
    iris, config = _layer_census(tmp_path, population_column)
    tables, sources = read_census_tables(config, iris=iris, source="city.yaml")
    [(people, _)] = tables
    assert people["population"].tolist() == [2_100.0, 1_800.0, 2_500.0, 950.0, 3_050.0]
    assert sources["population"] == {
        "file": "iris.gpkg",
        "year": 2018,
        "key": "code_iris",
        "rows": 5,
        "column": "P18_POP",
    }
    table = iris.merge(people, on="code_iris")
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reports = run_module._inequality_reports(config, table, notes)
    assert not any("population" in note for note in notes), notes
    report = reports["lst_mean_k"]
    assert report.population == "population"
    assert report.population_total == 2_100 + 1_800 + 2_500 + 950 + 3_050


def test_a_population_column_the_iris_layer_lacks_stops_the_dry_run(tmp_path):
    iris, config = _layer_census(tmp_path, "P21_POP")
    with pytest.raises(ConfigError) as err:
        read_census_tables(config, iris=iris, source="city.yaml")
    assert str(err.value) == (
        "city.yaml: census.population_column: 'P21_POP' is no column of zones.iris (did you "
        "mean 'P18_POP'?); name the layer's population column, or set census.population to "
        "a population table"
    )


@pytest.mark.realdata
def test_real_paris_iris_layer_gives_income_and_population(real_data, tmp_path):
    """The real Paris IRIS layer, enriched by its publisher with DISP_MED19 and P18_POP,
    without any census table: both columns are the run's income and population."""
    path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    raw = gpd.read_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iris, _ = read_iris(path)
    census = {"income_column": "DISP_MED19", "population_column": "P18_POP"}
    config = config_from_dict({**CONFIG, "zones": {"iris": {"path": str(path)}}, "census": census})
    tables, sources = read_census_tables(config, iris=iris, source="city.yaml")
    check_iris_columns(config, iris.columns, tables, source="city.yaml")  # no error
    [(people, _)] = tables
    expected = raw.set_index("CODE_IRIS")["P18_POP"]
    got = people.set_index("code_iris")["population"]
    pd.testing.assert_series_equal(got, expected.loc[got.index], check_names=False)
    assert len(people) == 2297 and sources["population"]["year"] == 2018
    assert config.census.income_in(iris.columns) == "DISP_MED19"


@pytest.mark.parametrize(("income_column", "said"), [("DISP_MED21", True), ("DISP_MED19", False),
                                                       ("disp_med", False)])  # fmt: skip
def test_an_income_column_of_another_year_than_the_filosofi_table_is_said(
    tmp_path, income_column, said
):
    # The file is the 2019 table; DISP_MED21 reads its disp_med all the same, of 2019.
    path = tmp_path / "BASE_TD_FILO_DISP_IRIS_2019.csv"
    path.write_text("IRIS;DISP_MED19\n315550101;19300\n315550102;17500\n", encoding="utf-8")
    census = {"filosofi": str(path), "income_column": income_column}
    zones = {"iris": {"path": str(tmp_path / "iris.gpkg")}}  # never read here
    config = config_from_dict({**CONFIG, "zones": zones, "census": census})
    with warnings.catch_warnings(), collected_warnings() as warned:
        warnings.simplefilter("ignore")
        [(table, _)], sources = read_census_tables(config)
    assert table["disp_med"].tolist() == [19300.0, 17500.0] and sources["filosofi"]["year"] == 2019
    other_year = [text for text in warned if "names Filosofi" in text]
    assert all(text.code == "census_year_mismatch" for text in other_year)
    assert other_year == (
        [
            "census.income_column: DISP_MED21 names Filosofi 2021, but census.filosofi "
            "BASE_TD_FILO_DISP_IRIS_2019.csv is the 2019 table: its disp_med is of 2019; give "
            "the 2021 table, or name the column disp_med to use this one"
        ]
        if said
        else []
    )


def test_secret_values_are_counted_over_the_run_iris_not_their_communes(tmp_path):
    """A box keeps 2 IRIS of a commune whose 2 others are secret: the warning counted the
    commune's secret values ("disp_med 2"), though none of the run's IRIS is secret."""
    path = tmp_path / "filosofi.csv"
    path.write_text(
        "IRIS;DISP_MED21\n315550101;21000\n315550102;s\n315550103;nd\n315550104;22000\n",
        encoding="utf-8",
    )
    zones = {"iris": {"path": str(tmp_path / "iris.gpkg")}}  # never read here
    config = config_from_dict({**CONFIG, "zones": zones, "census": {"filosofi": str(path)}})
    iris = pd.DataFrame({"code_iris": ["315550101", "315550104"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [(table, _)], _ = read_census_tables(config, communes={"31555"}, iris=iris)
    assert len(table) == 4  # the commune's rows, for the join's warnings
    assert not [w for w in caught if "secret" in str(w.message)], [str(w.message) for w in caught]
    # The run's IRIS one of which is secret: counted.
    iris = pd.DataFrame({"code_iris": ["315550101", "315550102"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_census_tables(config, communes={"31555"}, iris=iris)
    (said,) = [str(w.message) for w in caught if "secret" in str(w.message)]
    assert said.endswith("in 1 columns: disp_med 1 (cells by marker: 's' 1)")
