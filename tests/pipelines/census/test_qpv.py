"""read_qpv: 2015 and 2024 codes, ANCT and hackaviz field names, repair, real Occitanie."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely import Polygon

from pipelines.census import read_qpv
from tests.pipelines.census.helpers import X0, Y0, call_quiet, layer, one_line
from tiles import CRSError, IlotsWarning, ZonesError


def test_anct_2024_fields_and_generation():
    gdf = layer(
        {
            "code_qp": ["QN04901M", "qn97414i"],
            "lib_qp": ["Centre", "Le Port"],
            "insee_com": ["04901", "97414"],
            "lib_com": ["Digne", "Saint-Louis"],
            "siren_epci": ["200067452", "249740077"],
        }
    )
    out, warns = read_qpv(gdf)
    assert list(out.columns) == [
        "code_qp",
        "nom_qp",
        "insee_com",
        "nom_com",
        "generation",
        "siren_epci",
        "geometry",
    ]
    assert out["code_qp"].tolist() == ["QN04901M", "QN97414I"]
    assert out["nom_qp"].tolist() == ["Centre", "Le Port"]
    assert out["insee_com"].tolist() == ["04901", "97414"]
    assert out["nom_com"].tolist() == ["Digne", "Saint-Louis"]
    assert out["generation"].tolist() == ["2024", "2024"]
    assert warns == []


def test_hackaviz_fields_commune_qp_is_a_name():
    gdf = layer(
        {
            "code_qp": ["QP031001", "QP093028"],
            "nom_qp": ["Bagatelle", "Cité"],
            "commune_qp": ["Toulouse", "Saint-Denis"],
            "code_commune": ["31555", "93066"],
            "nom_commune": ["Toulouse", "Saint-Denis, Aubervilliers"],
        }
    )
    out, warns = read_qpv(gdf)
    assert out["generation"].tolist() == ["2015", "2015"]
    assert out["insee_com"].tolist() == ["31555", "93066"]
    assert out["nom_com"].tolist() == ["Toulouse", "Saint-Denis, Aubervilliers"]
    assert out["commune_qp"].tolist() == ["Toulouse", "Saint-Denis"]  # kept as another column
    assert warns == []


def test_commune_qp_used_when_it_holds_codes():
    (out, _), warns = call_quiet(read_qpv, layer({"CODE_QP": ["QP093028"], "COMMUNE_QP": [93066]}))
    assert len(warns) == 1 and "stored as numbers" in warns[0]
    assert out["insee_com"].tolist() == ["93066"]


def test_several_communes_kept_as_given_with_a_warning():
    gdf = layer({"code_qp": ["QN06901A"], "insee_com": ["69029, 69259"]})
    out, warns = call_quiet(read_qpv, gdf)[0]
    assert out["insee_com"].tolist() == ["69029, 69259"]
    assert len(warns) == 1 and "several communes" in warns[0]


def test_mixed_generations_is_an_error():
    with pytest.raises(ZonesError) as err:
        read_qpv(layer({"code_qp": ["QP093028", "QN04901M"]}))
    text = one_line(err)
    assert "2015" in text and "2024" in text and "QP093028" in text


def test_2024_layer_with_overseas_2015_codes():
    gdf = layer({"code_qp": ["QN04901M", "QP971001"]})
    with pytest.warns(IlotsWarning, match="overseas"):
        out, warns = read_qpv(gdf)
    assert out["generation"].tolist() == ["2024", "2024"]
    assert len(warns) == 1


def test_not_a_qpv_code():
    with pytest.raises(ZonesError) as err:
        read_qpv(layer({"code_qp": ["QP093028", "93028"]}))
    assert "'93028'" in one_line(err)


def test_no_code_column_lists_columns():
    with pytest.raises(ZonesError) as err:
        read_qpv(layer({"quartier": ["QP093028"]}))
    assert "'quartier'" in one_line(err)


def test_duplicate_codes():
    with pytest.raises(ZonesError) as err:
        read_qpv(layer({"code_qp": ["QP093028", "qp093028"]}))
    assert "'QP093028'" in one_line(err)


def test_no_crs():
    with pytest.raises(CRSError):
        read_qpv(layer({"code_qp": ["QP093028"]}, crs=None))


def test_invalid_geometry_repaired_with_count():
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    square = shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100)
    gdf = layer({"code_qp": ["QP093028", "QP093029"]}, geometry=[bow_tie, square])
    out, warns = call_quiet(read_qpv, gdf)[0]
    assert len(warns) == 1 and warns[0].startswith("QPV layer: 1 invalid")
    assert out.geometry.is_valid.all()
    assert out.geometry.area.tolist() == pytest.approx([5000.0, 10000.0])


# --------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_occitanie_qpv(real_data):
    path = real_data / "qpv" / "occitanie_qp_hackaviz2021.geojson"
    raw = gpd.read_file(path)
    n_invalid = int((~shapely.is_valid(raw.geometry.to_numpy())).sum())
    assert n_invalid == 32  # as the data README says, counted here with shapely directly
    with pytest.warns(IlotsWarning, match="32 invalid"):
        out, warns = read_qpv(path)
    assert len(out) == 105
    assert out["code_qp"].tolist() == raw["code_qp"].tolist()
    assert set(out["generation"]) == {"2015"}
    assert out.geometry.is_valid.all()
    assert (out.to_crs("EPSG:2154").geometry.area > 0).all()
    assert out["insee_com"].tolist() == raw["code_commune"].tolist()
    assert out["nom_com"].tolist() == raw["nom_commune"].tolist()
    assert len(warns) == 1 and "32 invalid" in warns[0]
    # the valid ones are untouched
    valid = shapely.is_valid(raw.geometry.to_numpy())
    assert shapely.equals(out.geometry.to_numpy()[valid], raw.geometry.to_numpy()[valid]).all()


def test_a_file_in_metres_labelled_degrees_is_refused_before_its_area_is_read(tmp_path):
    """Read near an area (a city out of a national file), a QPV file of Lambert-93 metres
    labelled EPSG:4326 gave no feature and no error: the bounding-box read found nothing
    near Toulouse in "degrees" of 652,000. Its whole extent is now checked first."""
    path = tmp_path / "qpv.gpkg"
    frame = layer({"code_qp": ["QN07501M", "QN07502M"]})  # 652000-652200 x 6862000-6862100
    frame.set_crs("EPSG:4326", allow_override=True).to_file(path)
    toulouse = gpd.GeoSeries([shapely.box(1.35, 43.55, 1.52, 43.67)], crs="EPSG:4326")
    with pytest.raises(CRSError) as err:
        read_qpv(path, bbox=toulouse)
    text = one_line(err)
    assert f"{path} says EPSG:4326 (degrees) but its coordinates reach (652200, 6862100)" in text
    assert "Lambert-93, EPSG:2154" in text and "ANCT QPV" in text
