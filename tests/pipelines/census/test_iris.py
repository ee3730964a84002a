"""read_iris: field variants, codes as numbers, Corsica, errors, repair, real Paris and Lyon.

Expected values are written by hand or read from the raw files with geopandas/pandas in the
test, never from read_iris itself.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Polygon

from pipelines.census import read_iris
from tests.pipelines.census.helpers import X0, Y0, call_quiet, layer, one_line
from tiles import CRSError, IlotsWarning, ZonesError

NORMALISED = ["code_iris", "nom_iris", "insee_com", "typ_iris", "nom_com"]


def test_ign_fields_normalised_and_other_columns_kept_after_them():
    gdf = layer(
        {
            "INSEE_COM": ["75101", "75101"],
            "NOM_COM": ["Paris 1er", "Paris 1er"],
            "IRIS": ["0101", "0102"],
            "CODE_IRIS": ["751010101", "751010102"],
            "NOM_IRIS": ["Saint-Germain 1", "Saint-Germain 2"],
            "TYP_IRIS": ["H", "a"],
            "P18_POP": [942.0, 166.0],
        }
    )
    (out, warns), emitted = call_quiet(read_iris, gdf)
    assert warns == [] and emitted == []
    assert list(out.columns) == [*NORMALISED, "IRIS", "P18_POP", "geometry"]
    assert out["code_iris"].tolist() == ["751010101", "751010102"]
    assert out["insee_com"].tolist() == ["75101", "75101"]
    assert out["typ_iris"].tolist() == ["H", "A"]
    assert out["nom_iris"].tolist() == ["Saint-Germain 1", "Saint-Germain 2"]
    assert out["IRIS"].tolist() == ["0101", "0102"]  # the 4-digit number is kept as is
    assert out.crs == gdf.crs
    assert list(out.index) == [0, 1]
    assert "CODE_IRIS" in gdf.columns and "code_iris" not in gdf.columns  # caller untouched


def test_lower_case_names_and_crs_kept():
    gdf = layer(
        {
            "code_iris": ["692860202"],
            "nom_iris": ["X"],
            "insee_com": ["69286"],
            "typ_iris": ["H"],
            "nom_com": ["Rillieux"],
        },
        crs="EPSG:3946",
    )
    out, _ = read_iris(gdf)
    assert out.crs.to_epsg() == 3946
    assert out.loc[0, NORMALISED].tolist() == ["692860202", "X", "69286", "H", "Rillieux"]


def test_codes_stored_as_numbers_get_their_leading_zero_back():
    gdf = layer({"CODE_IRIS": [10020101, 751010101]})  # Ain lost its leading zero
    with pytest.warns(IlotsWarning, match="leading zeros restored"):
        out, warns = read_iris(gdf)
    assert out["code_iris"].tolist() == ["010020101", "751010101"]
    assert out["insee_com"].tolist() == ["01002", "75101"]  # derived from code_iris[:5]
    assert len(warns) == 1
    assert "2 values" in warns[0] and "10020101 -> '010020101'" in warns[0]


def test_codes_stored_as_floats_like_a_shapefile_real_field():
    gdf = layer({"CODE_IRIS": [10020101.0, 751010101.0], "INSEE_COM": [1002.0, 75101.0]})
    out, warns = call_quiet(read_iris, gdf)[0]
    assert out["code_iris"].tolist() == ["010020101", "751010101"]
    assert out["insee_com"].tolist() == ["01002", "75101"]
    assert len(warns) == 2  # one per column


def test_corsica_codes_kept_and_upper_cased():
    gdf = layer({"code_iris": ["2A0040101", "2b0330101 "]})
    out, warns = read_iris(gdf)
    assert out["code_iris"].tolist() == ["2A0040101", "2B0330101"]
    assert out["insee_com"].tolist() == ["2A004", "2B033"]
    assert warns == []


def test_dcomiris_variant():
    out, _ = read_iris(layer({"DCOMIRIS": ["751010101"], "DEPCOM": ["75101"]}))
    assert out["code_iris"].tolist() == ["751010101"]
    assert out["insee_com"].tolist() == ["75101"]


def test_ign_2024_geopackage_schema():
    # IGN's CONTOURS-IRIS 2024 GeoPackage: cleabs, code_insee, nom_commune, iris (4 digits),
    # code_iris, nom_iris, type_iris (lower case). The commune code is code_insee's.
    gdf = layer({"cleabs": ["IRIS0001"], "code_insee": ["31555"], "nom_commune": ["Toulouse"],
                 "iris": ["0101"], "code_iris": ["315550101"], "nom_iris": ["Capitole"],
                 "type_iris": ["H"]})  # fmt: skip
    out, warns = call_quiet(read_iris, gdf)[0]
    assert out["code_iris"].tolist() == ["315550101"] and out["insee_com"].tolist() == ["31555"]
    assert out["nom_com"].tolist() == ["Toulouse"] and "code_insee" not in out.columns
    assert not any("commune" in w for w in warns), warns


def test_iris_ge_commune_plus_four_digit_number():
    gdf = layer({"depcom": ["1002", "75101"], "iris": [101, "0102"], "nom_iris": ["a", "b"]})
    out, warns = call_quiet(read_iris, gdf)[0]
    assert out["code_iris"].tolist() == ["010020101", "751010102"]
    assert out["insee_com"].tolist() == ["01002", "75101"]
    assert "iris" not in out.columns and "depcom" not in out.columns
    assert any("'depcom'" in w for w in warns)  # the commune code stored without its zero


def test_absent_optional_columns_are_missing_not_errors():
    out, warns = read_iris(layer({"CODE_IRIS": ["751010101"]}))
    assert list(out.columns) == [*NORMALISED, "geometry"]
    assert out[["nom_iris", "typ_iris", "nom_com"]].isna().all().all()
    assert warns == []


def test_missing_commune_code_filled_and_disagreeing_one_warned():
    gdf = layer({"CODE_IRIS": ["751010101", "751020101"], "INSEE_COM": [None, "75103"]})
    out, warns = call_quiet(read_iris, gdf)[0]
    assert out["insee_com"].tolist() == ["75101", "75103"]
    assert len(warns) == 1 and "1 commune codes" in warns[0] and "751020101/75103" in warns[0]


def test_unknown_type_warned():
    out, warns = call_quiet(read_iris, layer({"CODE_IRIS": ["751010101"], "TYP_IRIS": ["X"]}))[0]
    assert out["typ_iris"].tolist() == ["X"]
    assert len(warns) == 1 and "outside H, A, D, Z" in warns[0]


def test_no_crs_is_an_error():
    with pytest.raises(CRSError) as err:
        read_iris(layer({"CODE_IRIS": ["751010101"]}, crs=None))
    assert "set_crs" in one_line(err)


def test_metres_under_a_degrees_crs_are_named(tmp_path):
    """Lambert-93 coordinates in a file that says EPSG:4326 (a GeoJSON written without
    reprojecting): one line naming the file and the likely CRS, not a grid error later."""
    path = tmp_path / "iris.geojson"
    layer({"CODE_IRIS": ["751010101", "751010102"]}).set_crs(
        "EPSG:4326", allow_override=True
    ).to_file(path)
    with pytest.raises(CRSError) as err:
        read_iris(path)
    text = one_line(err)
    assert text.startswith(f"{path} says EPSG:4326 (degrees) but its coordinates reach (")
    assert "EPSG:2154" in text and "ogr2ogr -a_srs EPSG:2154" in text
    degrees = layer({"CODE_IRIS": ["751010101"]}).to_crs("EPSG:4326")
    assert len(read_iris(degrees)[0]) == 1  # real degrees pass


def test_no_code_column_lists_the_columns_found():
    with pytest.raises(ZonesError) as err:
        read_iris(layer({"CODE": ["751010101"], "LIBELLE": ["x"]}))
    text = one_line(err)
    assert "'CODE'" in text and "'LIBELLE'" in text and "CODE_IRIS" in text


def test_duplicate_codes_give_examples():
    with pytest.raises(ZonesError) as err:
        read_iris(layer({"CODE_IRIS": ["751010101", "751010101", "751010102", 751010102]}))
    text = one_line(err)
    assert "2 IRIS codes" in text and "'751010101'" in text and "'751010102'" in text


def test_code_that_is_not_an_iris_code():
    with pytest.raises(ZonesError) as err:
        read_iris(layer({"CODE_IRIS": ["751010101", "Paris"]}))
    assert "'Paris'" in one_line(err)


def test_missing_code():
    with pytest.raises(ZonesError) as err:
        read_iris(layer({"CODE_IRIS": ["751010101", None]}))
    assert "rows [1]" in one_line(err)


def test_two_spellings_of_the_code_column_are_ambiguous():
    with pytest.raises(ZonesError, match="drop or rename"):
        read_iris(layer({"CODE_IRIS": ["751010101"], "code_iris": ["751010102"]}))


def test_bow_tie_repaired_with_a_warning():
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    gdf = layer({"CODE_IRIS": ["751010101"]}, geometry=[bow_tie])
    with pytest.warns(IlotsWarning, match="1 invalid zone geometries were repaired"):
        out, warns = read_iris(gdf)
    assert warns[0].startswith("IRIS layer: 1 invalid")
    assert out.geometry.is_valid.all()
    assert out.geometry.area.iloc[0] == pytest.approx(5000.0)  # two triangles of 50 x 100
    assert not gdf.geometry.is_valid.iloc[0]  # caller untouched


def test_path_source_shapefile_with_lower_case_fields(tmp_path):
    gdf = layer({"code_iris": ["010020101", "2A0040101"], "nom_iris": ["a", "b"]})
    path = tmp_path / "iris.shp"
    gdf.to_file(path)
    out, _ = read_iris(path)
    assert out["code_iris"].tolist() == ["010020101", "2A0040101"]
    assert out.crs.to_epsg() == 2154


def test_missing_file_and_wrong_type():
    with pytest.raises(FileNotFoundError):
        read_iris("/nonexistent/iris.gpkg")
    with pytest.raises(TypeError):
        read_iris(pd.DataFrame({"CODE_IRIS": ["751010101"]}))


# --------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_paris_iris(real_data):
    path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    raw = gpd.read_file(path)
    out, warns = read_iris(path)
    assert len(out) == len(raw) == 2297
    assert out["code_iris"].tolist() == raw["CODE_IRIS"].tolist()
    assert (out["code_iris"].str.len() == 9).all()
    assert out["insee_com"].tolist() == raw["CODE_IRIS"].str[:5].tolist()
    assert out["nom_com"].tolist() == raw["NOM_COM"].tolist()
    np.testing.assert_array_equal(out["P18_POP"], raw["P18_POP"])
    assert out.crs.to_epsg() == 4326
    assert warns == []


@pytest.mark.realdata
def test_real_lyon_iris_keeps_cc46(real_data):
    path = real_data / "iris" / "LyonIris_EPSG3946.gpkg"
    raw = gpd.read_file(path)
    out, warns = read_iris(path)
    assert out.crs.to_epsg() == 3946
    assert len(out) == 506 and out["code_iris"].is_unique
    assert (out["code_iris"].str.len() == 9).all()
    assert out["code_iris"].tolist() == raw["CODE_IRIS"].tolist()
    assert out["insee_com"].tolist() == raw["INSEE_COM"].tolist()
    assert shapely.equals(out.geometry.to_numpy(), raw.geometry.to_numpy()).all()  # all valid
    assert "NivVieMed" in out.columns and warns == []
