"""The area of interest from a box, a polygon file, or IRIS filtered by commune."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.ops as shapely_ops
from pyproj import CRS, Transformer
from shapely.geometry import box

from pipelines.config import ConfigError, area_of_interest, config_from_dict, grid_crs
from pipelines.config.aoi import (
    AreaOfInterest,
    _lonlat_bounds,
    _zone_of_extent,
    polygon_union,
    read_zone_layer,
)
from tiles.errors import IlotsWarning

from .conftest import MINIMAL, iris_layer


def load(write_config, text: str):
    from pipelines.config import load_config

    return load_config(write_config(text), check_paths=False)


def test_bbox(write_config):
    config = load(write_config, MINIMAL)
    area = area_of_interest(config)
    assert area.crs == CRS.from_epsg(4326)
    assert area.geometry.bounds == pytest.approx((1.35, 43.55, 1.52, 43.67))
    assert area.bounds_wgs84 == pytest.approx((1.35, 43.55, 1.52, 43.67))
    assert grid_crs(config, area) == CRS.from_epsg(32631)  # Toulouse: UTM 31N
    projected = area.to_crs(32631)
    assert 10e6 < projected.geometry.area < 2.5e8  # about 14 km x 13 km


def test_polygon_file_union(tmp_path, write_config):
    squares = [box(574_000, 6_279_000, 575_000, 6_280_000), box(575_000, 6_279_000, 576_000,
                                                                6_280_000)]  # fmt: skip
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=squares, crs="EPSG:2154").to_file(
        tmp_path / "aoi.geojson"
    )
    config = load(write_config, MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}",
                                                "{file: aoi.geojson}"))  # fmt: skip
    area = area_of_interest(config)
    assert area.crs == CRS.from_epsg(2154)
    assert area.geometry.area == pytest.approx(2e6)
    assert area.geometry.geom_type == "Polygon"  # merged
    assert grid_crs(config, area) == CRS.from_epsg(32631)
    explicit = config_from_dict({**config.model_dump(), "grid": {"crs": "EPSG:2154"}})
    assert grid_crs(explicit, area) == CRS.from_epsg(2154)


def test_polygon_file_buffered(tmp_path, write_config):
    (tmp_path / "aoi.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[1, 43], [1.1, 43], [1.1, 43.1], '
        "[1, 43]]]}}]}"
    )
    config = load(write_config, MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}",
                                                "{file: aoi.geojson, buffer_m: 1000}"))  # fmt: skip
    area = area_of_interest(config)
    assert area.crs == CRS.from_epsg(4326)
    west, south, _east, _north = area.geometry.bounds
    assert west == pytest.approx(1 - 1000 / 81_000, abs=2e-3)  # 1 km at 43 N
    assert south == pytest.approx(43 - 1000 / 111_000, abs=1e-3)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_polygon_file_without_crs(tmp_path, write_config):
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 10, 10)], crs=None).to_file(
        tmp_path / "aoi.shp"
    )
    config = load(write_config, MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}",
                                                "{file: aoi.shp}"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"^config.yaml: aoi.file: .*aoi.shp has no CRS"):
        area_of_interest(config, source="config.yaml")


IRIS_CONFIG = (
    MINIMAL.replace(
        "{bbox: [1.35, 43.55, 1.52, 43.67]}", "{zones: iris, communes: ['31555', '2A004']}"
    )
    + "zones: {iris: {path: zones/iris.gpkg}}\n"
)


def test_iris_filtered_by_communes(iris_gpkg, write_config):
    config = load(write_config, IRIS_CONFIG)
    area = area_of_interest(config)
    assert area.crs == CRS.from_epsg(2154)
    # IRIS 315550101, 315550102 (adjacent squares) and 2A0040101: 3 of the 4 squares
    assert area.geometry.area == pytest.approx(3 * 500.0 * 500.0)
    assert area.geometry.geom_type == "MultiPolygon"
    assert area.description == "3 iris features of commune(s) 31555, 2A004"
    everything = load(write_config, IRIS_CONFIG.replace(", communes: ['31555', '2A004']", ""))
    whole = area_of_interest(everything)
    assert whole.geometry.area == pytest.approx(4 * 500.0 * 500.0)
    # A whole (national) layer says how many communes it takes in: 31555, 31069, 2A004.
    assert whole.description == "4 iris features of 3 communes"


def test_the_description_of_many_communes_names_the_first_five(iris_gpkg, write_config):
    codes = ["31555", "31069", "31149", "31557", "31506", "31044", "31116"]
    text = IRIS_CONFIG.replace("['31555', '2A004']", "[" + ", ".join(f"'{c}'" for c in codes) + "]")
    iris = gpd.GeoDataFrame(  # one square IRIS in each commune, as the run reads them
        {"code_iris": [f"{c}0101" for c in codes], "insee_com": codes},
        geometry=[box(k * 500.0, 0, (k + 1) * 500.0, 500.0) for k in range(len(codes))],
        crs="EPSG:2154",
    )
    area = area_of_interest(load(write_config, text), features=iris)
    assert area.description == (
        "7 iris features of commune(s) 31555, 31069, 31149, 31557, 31506 and 2 more"
    )


def test_a_buffered_area_says_it_is_grown(iris_gpkg, write_config):
    text = IRIS_CONFIG.replace("communes: ['31555', '2A004']}", "communes: ['31555'], "
                               "buffer_m: 600}")  # fmt: skip
    area = area_of_interest(load(write_config, text))
    assert area.description == "2 iris features of commune(s) 31555, grown by 600 m"


def test_a_misspelt_commune_lists_the_nearest_codes_of_its_departement(tmp_path, write_config):
    # A national layer (communes of several départements): a typo shows the codes around it,
    # not the first codes of France.
    codes = ["01001", "01002", "31553", "31554", "31555", "31557", "31558", "31559", "31560"]
    gpd.GeoDataFrame(
        {"INSEE_COM": codes, "CODE_IRIS": [f"{c}0000" for c in codes]},
        geometry=[box(i * 100.0, 0, (i + 1) * 100.0, 100) for i in range(len(codes))],
        crs="EPSG:2154",
    ).to_file(tmp_path / "france.gpkg")
    text = (
        MINIMAL.replace(AOI_FILE, "{zones: iris, communes: ['31556']}")
        + "zones: {iris: {path: france.gpkg}}\n"
    )
    with pytest.raises(ConfigError) as err:
        area_of_interest(load(write_config, text), source="c.yaml")
    assert str(err.value) == (
        "c.yaml: aoi.communes: no iris feature of commune(s) 31556 in france.gpkg (the "
        "layer's communes nearest 31556: 31554, 31555, 31557, 31558, 31559); check the codes "
        "and the layer's millésime"
    )
    # No commune of its département: the layer's first codes.
    with pytest.raises(ConfigError, match=r"\(no commune of département 75 in the layer; "
                       r"communes found e.g. 01001, 01002, 31553, 31554, 31555\)"):  # fmt: skip
        area_of_interest(load(write_config, text.replace("31556", "75056")))


def test_a_qpv_listing_several_communes_is_of_each(tmp_path, write_config):
    # ANCT gives a QPV that spans communes all their codes in one field: with communes it
    # was left out, as "31069, 31555" is no code of the list.
    side = 500.0
    x0, y0 = 574_000.0, 6_279_000.0
    gpd.GeoDataFrame(
        {
            "code_qp": ["QP031001", "QP031002", "QP031003", "QP031004"],
            "insee_com": ["31555", "31069, 31555", "31069;31149", "31149"],
        },
        geometry=[box(x0 + i * side, y0, x0 + (i + 1) * side, y0 + side) for i in range(4)],
        crs="EPSG:2154",
    ).to_file(tmp_path / "qpv.gpkg")
    aoi = "{zones: qpv, communes: ['31069']}"
    text = MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}", aoi)
    area = area_of_interest(load(write_config, text + "zones: {qpv: {path: qpv.gpkg}}\n"))
    # the 2nd and 3rd squares, which list 31069 among their communes
    assert area.geometry.bounds == (x0 + side, y0, x0 + 3 * side, y0 + side)
    assert area.geometry.area == pytest.approx(2 * side * side)


def test_unknown_commune(iris_gpkg, write_config):
    config = load(write_config, IRIS_CONFIG.replace("'2A004'", "'75056'"))
    with pytest.raises(ConfigError) as err:
        area_of_interest(config, source="config.yaml")
    text = str(err.value)
    assert text.startswith("config.yaml: aoi.communes: no iris feature of commune(s) 75056")
    assert "31069" in text


def test_missing_zone_file_names_the_key(write_config):
    config = load(write_config, IRIS_CONFIG)
    with pytest.raises(ConfigError, match=r"^config.yaml: zones.iris.path: file not found"):
        area_of_interest(config, source="config.yaml")


@pytest.mark.parametrize("id_column", ["", ", id: CODE_IRIS"])
def test_a_misspelt_zone_layer_names_its_key_and_the_file_layers(
    iris_gpkg, write_config, id_column
):
    text = IRIS_CONFIG.replace(
        "{path: zones/iris.gpkg}", f"{{path: zones/iris.gpkg, layer: irs{id_column}}}"
    )
    with pytest.raises(ConfigError, match=r"^config.yaml: zones.iris.layer: iris.gpkg has no "
                       r"layer 'irs'; its layers: iris$"):  # fmt: skip
        area_of_interest(load(write_config, text), source="config.yaml")


def test_extra_layer_with_commune_field(tmp_path, write_config):
    gpd.GeoDataFrame(
        {"park_id": ["p1", "p2"], "CODE_COM": ["31555", "31069"]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)],
        crs="EPSG:32631",
    ).to_file(tmp_path / "parks.gpkg")
    text = (
        MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}", "{zones: parks, communes: ['31069']}")
        + "zones: {extra: [{name: parks, path: parks.gpkg, id: park_id, "
        "commune_field: code_com}]}\n"
    )
    area = area_of_interest(load(write_config, text))
    assert area.geometry.bounds == (200, 0, 300, 100)


def _national_iris(path):
    """The 4 IRIS squares near Toulouse, and one in Paris whose code is not an IRIS code."""
    path.parent.mkdir()
    near = gpd.read_file(iris_layer(path.parent / "near.gpkg"))
    paris = near.iloc[[0]].assign(CODE_IRIS="75101XXXX", INSEE_COM="75101")
    paris = paris.set_geometry([box(651_000, 6_861_000, 652_000, 6_862_000)], crs=2154)
    pd.concat([near, paris], ignore_index=True).to_file(path, driver="GPKG")
    return path


def test_zone_layer_is_read_near_the_area_only(tmp_path, write_config):
    # A national file (IGN's holds all France): with the area given, the features far from
    # it are not read, so a bad row in Paris does not stop a run in Toulouse.
    _national_iris(tmp_path / "zones" / "france.gpkg")
    text = MINIMAL + "zones: {iris: {path: zones/france.gpkg}}\n"
    config = load(write_config, text)
    near = read_zone_layer(config, "iris", within=area_of_interest(config))
    assert sorted(near["code_iris"]) == ["2A0040101", "310690101", "315550101", "315550102"]
    with pytest.raises(ConfigError, match=r"^config: zones.iris.path: .*75101XXXX"):
        read_zone_layer(config, "iris")  # the whole file


def test_a_run_reads_each_zone_file_once(iris_gpkg, write_config, monkeypatch):
    import pipelines.census as census
    from pipelines.run_graph import zones_and_area

    reads = []
    for name in ("read_iris", "read_qpv"):
        reader = getattr(census, name)
        monkeypatch.setattr(census, name, lambda *a, _r=reader, **k: reads.append(k) or _r(*a, **k))
    area, iris, qpv, _ = zones_and_area(load(write_config, IRIS_CONFIG))
    assert len(reads) == 1 and reads[0]["bbox"] is None  # aoi.zones: iris, read whole once
    assert sorted(iris["code_iris"]) == ["2A0040101", "315550101", "315550102"]
    assert qpv is None and area.geometry.area == pytest.approx(3 * 500.0 * 500.0)


@pytest.mark.realdata
def test_paris_commune_code_takes_its_arrondissements_iris(real_data, write_config):
    # IGN and INSEE code the IRIS of Paris by arrondissement (75101-75120), never 75056.
    path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    text = (
        MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}", "{zones: iris, communes: ['75056']}")
        + f"zones: {{iris: {{path: '{path}'}}}}\n"
    )
    config = load(write_config, text)
    raw = gpd.read_file(path)
    paris = raw[raw["CODE_IRIS"].str.startswith("751")]
    assert len(paris) == 992 and raw["CODE_IRIS"].str[:5].nunique() > 20  # and the suburbs
    area = area_of_interest(config)
    assert area.geometry.area == pytest.approx(paris.geometry.union_all().area, rel=1e-6)
    one = load(write_config, text.replace("'75056'", "'75112'"))
    twelfth = raw[raw["CODE_IRIS"].str.startswith("75112")]
    assert area_of_interest(one).geometry.area == pytest.approx(
        twelfth.geometry.union_all().area, rel=1e-6
    )


def test_communes_iris_are_read_alone_from_a_national_file(tmp_path, write_config):
    # aoi.zones: iris with communes: their IRIS are found from the attributes and read alone,
    # so the rest of France (a bad row in Paris here) is neither read nor repaired.
    from pipelines.run_graph import zones_and_area

    _national_iris(tmp_path / "zones" / "france.gpkg")
    text = IRIS_CONFIG.replace("zones/iris.gpkg", "zones/france.gpkg").replace(", '2A004'", "")
    area, iris, _, _ = zones_and_area(load(write_config, text))
    assert sorted(iris["code_iris"]) == ["315550101", "315550102"]
    assert area.geometry.area == pytest.approx(2 * 500.0 * 500.0)
    # A commune with no feature is said from the attributes, not from a bad row far away.
    missing = load(write_config, text.replace("'31555'", "'31556'"))
    with pytest.raises(ConfigError) as err:
        zones_and_area(missing)
    assert str(err.value).startswith(
        "config: aoi.communes: no iris feature of commune(s) 31556 in france.gpkg (the "
        "layer's communes nearest 31556: 31069, 31555)"
    )


def test_a_buffered_area_of_communes_keeps_the_iris_it_takes_in(iris_gpkg, write_config):
    # aoi.buffer_m grows the communes' area over the neighbouring IRIS: their inner points
    # fall in it (Blagnac's square touches Toulouse's; 400 m takes in its centre).
    from pipelines.run_graph import zones_and_area

    text = IRIS_CONFIG.replace(", '2A004']", "], buffer_m: 400")
    iris = zones_and_area(load(write_config, text)).iris
    assert sorted(iris["code_iris"]) == ["310690101", "315550101", "315550102"]


AOI_FILE = "{bbox: [1.35, 43.55, 1.52, 43.67]}"


def test_a_table_without_geometry_as_aoi_file_is_named(tmp_path, write_config):
    (tmp_path / "communes.csv").write_text("code,name\n31555,Toulouse\n")
    config = load(write_config, MINIMAL.replace(AOI_FILE, "{file: communes.csv}"))
    with pytest.raises(ConfigError) as err:
        area_of_interest(config, source="c.yaml")
    assert str(err.value) == (
        f"c.yaml: aoi.file: {tmp_path / 'communes.csv'} has no geometry (a table without "
        "coordinates); give a polygon file (GeoPackage, GeoJSON, shapefile) or use aoi.bbox "
        "or aoi.zones"
    )


def test_a_geopackage_layer_without_geometry_lists_the_layers(tmp_path, write_config):
    import pyogrio

    path = tmp_path / "city.gpkg"
    table = pd.DataFrame({"code": ["31555"], "name": ["Toulouse"]})
    pyogrio.write_dataframe(table, path, layer="communes")
    config = load(write_config, MINIMAL.replace(AOI_FILE, "{file: city.gpkg}"))
    with pytest.raises(ConfigError, match=r"city.gpkg has no geometry \(a table without coord"):
        area_of_interest(config, source="c.yaml")
    gpd.GeoDataFrame(
        {"name": ["centre"]}, geometry=[box(1.40, 43.58, 1.46, 43.62)], crs="EPSG:4326"
    ).to_file(path, layer="zone")
    config = load(write_config, MINIMAL.replace(AOI_FILE, "{file: city.gpkg, layer: communes}"))
    with pytest.raises(ConfigError) as err:
        area_of_interest(config, source="c.yaml")
    assert str(err.value) == (
        f"c.yaml: aoi.file: {path} has no geometry in its layer 'communes'; its layers: "
        "zone (Polygon), communes (no geometry); name a layer with geometry in aoi.layer"
    )
    config = load(write_config, MINIMAL.replace(AOI_FILE, "{file: city.gpkg, layer: zone}"))
    assert area_of_interest(config).geometry.bounds == pytest.approx((1.40, 43.58, 1.46, 43.62))


def test_a_geojson_in_lambert93_without_crs_member_is_named(tmp_path, write_config):
    """RFC 7946 GeoJSON is longitude/latitude: a file of Lambert-93 metres without a ``crs``
    member is read as degrees. Said even when grid.crs is set (no "set the grid CRS")."""
    (tmp_path / "aoi.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[563213, 6280806], [565619, '
        "6280806], [565619, 6283212], [563213, 6283212], [563213, 6280806]]]}}]}"
    )
    text = MINIMAL.replace(AOI_FILE, "{file: aoi.geojson}") + "grid: {crs: 'EPSG:32631'}\n"
    config = load(write_config, text)
    with pytest.raises(ConfigError) as err:
        area_of_interest(config, source="c.yaml")
    assert str(err.value) == (
        f"c.yaml: aoi.file: {tmp_path / 'aoi.geojson'}'s coordinates (e.g. x 563213 to 565619, "
        "y 6280806 to 6283212) are not longitude/latitude, although GeoJSON (RFC 7946) says "
        "they are: re-export it in EPSG:4326 (or as a GeoPackage, which keeps its CRS)"
    )


AREA_FILE_QPV_CONFIG = MINIMAL.replace(AOI_FILE, "{file: zones/area.gpkg}") + (
    "zones: {iris: {path: zones/iris.gpkg}, qpv: {path: zones/qpv.gpkg}}\n"
)


def _area_and_a_longer_iris(folder) -> tuple[float, float]:
    """Write a 1,000 m square area and one IRIS of 1,400 by 1,000 m reaching 400 m past it
    (Lambert-93) in ``folder``; return the area's south-west corner."""
    x0, y0 = 574_000.0, 6_279_000.0
    folder.mkdir()
    gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 1000, y0 + 1000)], crs=2154).to_file(
        folder / "area.gpkg"
    )
    gpd.GeoDataFrame(
        {"CODE_IRIS": ["315550101"], "INSEE_COM": ["31555"], "NOM_IRIS": ["A"]},
        geometry=[box(x0, y0, x0 + 1400, y0 + 1000)],
        crs=2154,
    ).to_file(folder / "iris.gpkg")
    return x0, y0


def test_qpv_overlapping_an_iris_past_the_area_count_in_its_share(tmp_path, write_config):
    """An IRIS kept by its inner point reaches past the area into a QPV wholly outside it:
    that QPV is no zone of the area, but covers 400 of the IRIS's 1,400 m (hand oracle)."""
    from pipelines.census import iris_qpv_overlay
    from pipelines.run_graph import zones_and_area

    x0, y0 = _area_and_a_longer_iris(tmp_path / "zones")
    gpd.GeoDataFrame(
        {"code_qp": ["QN03101M", "QN03102M"], "nom_qp": ["Dedans", "Dehors"],
         "insee_com": ["31555", "31555"]},
        geometry=[box(x0 + 100, y0, x0 + 200, y0 + 1000),  # inside the area
                  box(x0 + 1000, y0, x0 + 1400, y0 + 1000)],  # outside it
        crs=2154,
    ).to_file(tmp_path / "zones" / "qpv.gpkg")  # fmt: skip
    text = AREA_FILE_QPV_CONFIG
    zones = zones_and_area(load(write_config, text))
    assert zones.iris["code_iris"].tolist() == ["315550101"]
    assert zones.qpv["code_qp"].tolist() == ["QN03101M"]  # the QPV of the area
    assert sorted(zones.qpv_of_iris["code_qp"]) == ["QN03101M", "QN03102M"]
    out = iris_qpv_overlay(zones.iris, zones.qpv_of_iris, crs="EPSG:2154")
    assert out["qpv_share"].iloc[0] == pytest.approx(500 / 1400, abs=1e-9)
    assert out["code_qp_main"].iloc[0] == "QN03102M"


def test_no_qpv_warning_when_an_iris_reaches_into_a_qpv_past_the_area(tmp_path, write_config):
    """No QPV lies in the area, but its IRIS reaches past it into one (400 of its 1,400 m):
    the run has in_qpv from that QPV, so it must not say "in_qpv false for every IRIS"."""
    from pipelines.run_graph import zones_and_area

    x0, y0 = _area_and_a_longer_iris(tmp_path / "zones")
    _qpv_file(tmp_path / "zones" / "qpv.gpkg", [(x0 + 1000, y0, 400)])  # outside the area
    text = AREA_FILE_QPV_CONFIG
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zones = zones_and_area(load(write_config, text))
    assert zones.qpv.empty and zones.qpv_of_iris["code_qp"].tolist() == ["QN03101M"]
    assert not [w for w in caught if "no QPV of" in str(w.message)]


def _qpv_file(path, squares) -> None:
    """Write QPV squares (x0, y0, side in Lambert-93 metres) with ANCT 2024 fields."""
    codes = [f"QN0310{i}M" for i in range(1, len(squares) + 1)]
    gpd.GeoDataFrame(
        {"code_qp": codes, "lib_qp": codes, "insee_com": ["31555"] * len(codes)},
        geometry=[box(x, y, x + side, y + side) for x, y, side in squares],
        crs="EPSG:2154",
    ).to_file(path)


QPV_CONFIG = IRIS_CONFIG.replace(
    "zones: {iris: {path: zones/iris.gpkg}}", "zones: {iris: {path: zones/iris.gpkg}, "
    "qpv: {path: zones/qpv.gpkg}}"
)  # fmt: skip


def test_a_qpv_file_of_another_place_stops_the_run_with_both_extents(iris_gpkg, write_config):
    """A QPV file wholly away from the area (another city's, or a wrong CRS) gave a run with
    an empty qpv layer and in_qpv false everywhere, said by a vague closing warning only."""
    from pipelines.run_graph import zones_and_area

    _qpv_file(iris_gpkg.parent / "qpv.gpkg", [(652_000, 6_862_000, 100)])  # Paris
    with pytest.raises(ConfigError) as err:
        zones_and_area(load(write_config, QPV_CONFIG), source="c.yaml")
    # The IRIS of 31555 and 2A004: 574,000-575,000 and 575,500-576,000 by 6,279,000-500.
    assert str(err.value) == (
        "c.yaml: zones.qpv.path: no QPV of qpv.gpkg lies in the area of interest: the layer "
        "spans (652000, 6862000) to (652100, 6862100) and the area of interest with its IRIS "
        "(574000, 6279000) to (576000, 6279500), in the layer's CRS (EPSG:2154), which do not "
        "meet: the file is of another place or its CRS is wrong; give the QPV layer of the "
        "area, with its CRS"
    )


def test_a_qpv_file_with_no_qpv_in_the_area_is_warned_of(iris_gpkg, write_config):
    """A file around the area with no QPV in it (a national file, a commune without QPV) is
    a warning: the run goes on without QPV statistics, and says so."""
    from pipelines.run_graph import zones_and_area

    squares = [(573_000, 6_279_000, 100), (575_100, 6_279_100, 100), (577_000, 6_279_400, 100)]
    _qpv_file(iris_gpkg.parent / "qpv.gpkg", squares)  # west, Blagnac's square, east
    with pytest.warns(IlotsWarning) as caught:
        zones = zones_and_area(load(write_config, QPV_CONFIG))
    assert zones.qpv.empty and len(zones.iris) == 3
    said = [str(w.message) for w in caught if "zones.qpv" in str(w.message)]
    assert said == [
        "zones.qpv: no QPV of qpv.gpkg lies in the area of interest (the layer spans (573000, "
        "6279000) to (577100, 6279500) and the area of interest with its IRIS (574000, "
        "6279000) to (576000, 6279500), in the layer's CRS (EPSG:2154)): the qpv zone layer "
        "is empty and in_qpv false for every IRIS; if the area has QPV, check zones.qpv (the "
        "file, its geography and CRS); if it has none, remove zones.qpv"
    ]


def _l_shaped_iris(path, x0: float, y0: float) -> None:
    """IRIS about the 1 km square of an aoi.file at (x0, y0), in Lambert-93.

    ``315550001``: 120,000 of its 260,000 m² inside (46 %), its inner point inside (its tall
    arm holds the middle of its height); ``315550002``: 140,000 of 260,000 m² inside (54 %),
    its inner point outside; ``315550003`` inside; ``315550004`` touches the edge from outside.
    """

    def shifted(*boxes):
        return shapely.union_all([box(x0 + a, y0 + b, x0 + c, y0 + d) for a, b, c, d in boxes])

    shapes = [
        shifted((800, 0, 1000, 600), (1000, 0, 1700, 200)),
        shifted((300, 700, 1000, 900), (1000, 700, 1200, 1300)),
        shifted((100, 100, 300, 300)),
        shifted((1000, 300, 1200, 400)),
    ]
    codes = [f"31555000{i}" for i in range(1, 5)]
    gpd.GeoDataFrame(
        {"INSEE_COM": ["31555"] * 4, "CODE_IRIS": codes, "TYP_IRIS": ["H"] * 4},
        geometry=shapes,
        crs="EPSG:2154",
    ).to_file(path)


def test_iris_cut_by_the_area_are_kept_when_half_inside_and_said(tmp_path, write_config):
    # An aoi.file cuts two L-shaped IRIS: the one 46 % inside (its inner point inside) is left
    # out, the one 54 % inside (its inner point outside) is kept whole; one is said of each.
    from pipelines.run_graph import zones_and_area

    x0, y0 = 574_000.0, 6_279_000.0
    _l_shaped_iris(tmp_path / "iris.gpkg", x0, y0)
    gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 1000, y0 + 1000)], crs="EPSG:2154").to_file(
        tmp_path / "aoi.gpkg"
    )
    text = MINIMAL.replace(AOI_FILE, "{file: aoi.gpkg}") + "zones: {iris: {path: iris.gpkg}}\n"
    with pytest.warns(IlotsWarning) as caught:
        iris = zones_and_area(load(write_config, text)).iris
    assert sorted(iris["code_iris"]) == ["315550002", "315550003"]
    said = [w.message for w in caught if "edge" in str(w.message)]
    assert [str(m) for m in said] == [
        "zones.iris: 2 IRIS cross the edge of the area of interest (1 features of aoi.gpkg): "
        "1 at least half inside is kept whole, 1 is left out; to analyse whole communes, set "
        "aoi.zones: iris with aoi.communes"
    ]
    assert said[0].code == "zones_cut_by_area"


def test_the_area_is_prepared_for_the_zones_spatial_tests(monkeypatch):
    # A national area (the union of 48,000 IRIS) tested unprepared against each QPV took
    # 245 s: each predicate now takes the prepared area first; the zones kept are the same.
    from pipelines.config.aoi import AreaOfInterest
    from pipelines.run_graph import zones_in_area

    squares = [box(i * 100.0, 0, i * 100.0 + 100, 100) for i in range(6)]
    zones = gpd.GeoDataFrame({"code": list("abcdef")}, geometry=squares, crs="EPSG:2154")
    area = AreaOfInterest(box(150, 0, 300, 100), CRS.from_epsg(2154), "test")
    # By hand: b (100-200) and c (200-300) share area with it; d (300-400) touches it.
    seen = []
    for name in ("intersects", "touches", "covers"):
        original = getattr(shapely, name)
        monkeypatch.setattr(
            shapely, name, lambda a, b, _f=original: seen.append(shapely.is_prepared(a)) or _f(a, b)
        )
    assert zones_in_area(zones, area, "zones.qpv", rule="overlap")["code"].tolist() == ["b", "c"]
    assert [bool(s) for s in seen] == [True, True]  # intersects, touches
    # b is half inside (kept whole), c inside
    assert zones_in_area(zones, area, "zones.iris")["code"].tolist() == ["b", "c"]
    assert [bool(s) for s in seen] == [True] * 4  # and intersects, covers


def _star(x: float, y: float, radius: float, n: int, rng) -> shapely.Polygon:
    """An irregular star-shaped polygon of ``n`` vertices around (x, y)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.2, 1.0, n)
    return shapely.Polygon(np.c_[x + radii * np.cos(angles), y + radii * np.sin(angles)])


def _oracle_utm_epsg(geometry, crs) -> int:
    """The UTM zone (EPSG) of the centroid of ``geometry`` with all its vertices in degrees."""
    to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
    lonlat = shapely.transform(geometry, to_lonlat.transform, interleaved=False)
    centre = shapely.make_valid(lonlat).centroid
    zone = min(math.floor((centre.x + 180.0) / 6.0) + 1, 60)
    return (32600 if centre.y >= 0 else 32700) + zone


def _irregular_areas():
    """Irregular polygons and multipolygons in Lambert-93, UTM 31N and degrees: over France,
    across the zone edges at 0° and 6° E (centre on either side) and across the equator."""
    rng = np.random.default_rng(7)
    areas = []
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    places = [(1.44, 43.6, 20), (-0.02, 44.8, 60), (0.03, 47.0, 60), (5.98, 45.2, 40),
              (6.05, 48.6, 80), (2.35, 48.85, 150), (-4.4, 48.4, 5), (7.5, 43.8, 300)]  # fmt: skip
    for lon, lat, km in places:
        x, y = to_l93.transform(lon, lat)
        parts = [_star(x, y, km * 1000, 300, rng)]
        parts.append(_star(x + rng.uniform(-2, 2) * km * 1000, y, km * 300, 200, rng))
        areas.append((shapely.MultiPolygon(parts) if rng.random() < 0.5 else parts[0], 2154))
    for lon, lat in [(3.0, 0.05), (-60.0, -0.03), (11.99, 20.0), (12.01, -33.0)]:
        areas.append((_star(lon, lat, 0.2, 150, rng), 4326))
    x, y = Transformer.from_crs(4326, 32631, always_xy=True).transform(3.0, 44.0)
    areas.append((_star(x + 3.0 * 111_000, y, 50_000, 400, rng), 32631))  # across 6° E
    return areas


def test_utm_crs_is_the_zone_of_the_centroid_of_all_vertices():
    """The UTM zone, found from the extent when it lies in one zone, is the zone of the
    centroid of the area's vertices all reprojected (the rule as it was), on irregular areas
    inside one zone and across zone edges and the equator."""
    fast = 0
    for geometry, epsg in _irregular_areas():
        crs = CRS.from_epsg(epsg)
        area = AreaOfInterest(shapely.make_valid(geometry), crs)
        assert area.utm_crs() == CRS.from_epsg(_oracle_utm_epsg(area.geometry, crs)), (epsg,)
        fast += _zone_of_extent(_lonlat_bounds(area.geometry.bounds, crs)) is not None
    assert 4 <= fast <= len(_irregular_areas()) - 4  # both ways taken


def test_utm_crs_of_an_area_in_one_zone_reprojects_no_vertex(monkeypatch):
    rng = np.random.default_rng(1)
    area = AreaOfInterest(_star(574_000, 6_279_000, 50_000, 5_000, rng), CRS.from_epsg(2154))
    monkeypatch.setattr(shapely, "transform", _refuse)
    assert area.utm_crs() == CRS.from_epsg(32631)


def _refuse(*args, **kwargs):
    raise AssertionError("the area's vertices were reprojected")


def test_reprojections_and_buffers_are_made_once(monkeypatch):
    """A run asks for the area in degrees, its UTM zone and the area grown by the rural ring
    several times (items, coverage, grid, manifest): each is made once."""
    from pipelines.config import aoi as module

    rng = np.random.default_rng(2)
    area = AreaOfInterest(_star(574_000, 6_279_000, 20_000, 500, rng), CRS.from_epsg(2154))
    expected = {
        "lonlat": area.to_crs(4326).geometry,
        "grown": area.buffered(10_000.0).geometry,
    }
    fresh = AreaOfInterest(area.geometry, area.crs)
    made, densify = [], module._densify
    monkeypatch.setattr(module, "_densify", lambda g, crs: made.append(crs) or densify(g, crs))
    for _ in range(3):
        grown = fresh.buffered(10_000.0)
        lonlat = fresh.to_crs("EPSG:4326")
        fresh.utm_crs(), fresh.series(), fresh.bounds_wgs84
    # the area (to UTM and to degrees) and the grown area (to degrees): once each
    assert len(made) == 2
    assert fresh.to_crs(4326) is lonlat and fresh.buffered(10_000.0) is grown
    assert shapely.equals_exact(lonlat.geometry, expected["lonlat"], tolerance=0)
    assert shapely.equals_exact(grown.geometry, expected["grown"], tolerance=0)


def test_an_area_is_densified_only_where_an_edge_is_longer_than_the_step(monkeypatch):
    """Steps of 1 km (metres) and 0.01 degree. A 900 m square with a 45 m hole 1,234 m from
    where the square's ring ends (the step from one ring to the next is no edge): no vertex
    to add, the polygon given back without shapely.segmentize (which checks its validity
    again: 20 s on a noisy département's union). Of a 2.5 x 0.9 km rectangle, each long side
    gets 2 vertices (segments of 833 m), each short one none."""
    from pipelines.config import aoi as module

    holed = shapely.Polygon(
        box(0, 0, 900, 900).exterior.coords, [[(5, 850), (5, 895), (50, 895), (50, 850)]]
    )
    assert holed.exterior.coords[-1] == (900.0, 0.0)  # 1,234 m from the hole's first vertex
    degrees = box(2.0, 45.0, 2.01, 45.01)
    with monkeypatch.context() as patch:
        patch.setattr(shapely, "segmentize", _refuse)
        assert module._densify(holed, CRS.from_epsg(2154)) is holed
        assert module._densify(degrees, CRS.from_epsg(4326)) is degrees
    long = box(0, 0, 2500, 900)
    densified = module._densify(long, CRS.from_epsg(2154))
    assert shapely.get_num_coordinates(densified) == 5 + 2 * 2
    edges = np.hypot(*np.diff(shapely.get_coordinates(densified), axis=0).T)
    assert sorted(edges) == pytest.approx([2500 / 3] * 6 + [900.0] * 2)
    assert densified.area == pytest.approx(long.area)
    # a long edge in a hole only, or in a second part only, is densified too
    shell = shapely.segmentize(box(0, 0, 5000, 5000), 500).exterior.coords
    hole = [(1000, 1000), (3000, 1000), (3000, 1500), (1000, 1500)]  # 2 km sides
    for area in (shapely.Polygon(shell, [hole]),
                 shapely.MultiPolygon([box(0, 0, 900, 900), box(2000, 0, 4000, 500)])):  # fmt: skip
        densified = module._densify(area, CRS.from_epsg(2154))
        assert shapely.get_num_coordinates(densified) == shapely.get_num_coordinates(area) + 2
        assert densified.area == pytest.approx(area.area)


def _same_union(union, oracle) -> None:
    """The same area: a symmetric difference below 1 m², the same extent to 1 cm, valid."""
    assert union.is_valid
    assert union.geom_type in ("Polygon", "MultiPolygon")
    assert shapely.symmetric_difference(union, oracle).area < 1.0
    assert union.bounds == pytest.approx(oracle.bounds, abs=0.01)


def test_the_union_of_the_demo_iris_is_their_square():
    from types import SimpleNamespace

    from pipelines.demo_census import IRIS_GRID, IRIS_SIZE_M, _iris

    iris = _iris(SimpleNamespace(centre=(570_000.0, 6_280_000.0), crs=2154))
    side = IRIS_GRID * IRIS_SIZE_M  # the IRIS tile a square of 8 x 550 m about the centre
    square = box(570_000 - side / 2, 6_280_000 - side / 2, 570_000 + side / 2, 6_280_000 + side / 2)
    union = polygon_union(iris.geometry.to_numpy())
    _same_union(union, square)
    assert union.geom_type == "Polygon" and not union.interiors


def _noisy_tiling(n: int, noise_m: float, seed: int = 0) -> list[shapely.Polygon]:
    """``n`` x ``n`` cells of 100 m whose shared edges have 20 vertices each, every polygon's
    vertices then moved by ``noise_m`` on their own: neighbours overlap and leave slivers
    between them, as in a file simplified polygon by polygon."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, 21)[:-1]
    cells = []
    for i in range(n):
        for j in range(n):
            corners = np.array([(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)], float) * 100
            ring = np.concatenate(
                [
                    a + t[:, None] * (b - a)
                    for a, b in zip(corners, np.roll(corners, -1, 0), strict=True)
                ]
            )
            cells.append(shapely.Polygon(ring + rng.normal(0.0, noise_m, ring.shape)))
    return cells


def test_the_union_of_zones_whose_edges_do_not_match_covers_the_same_points():
    cells = _noisy_tiling(6, 1.0)
    assert not shapely.coverage_is_valid(cells)  # the case: overlaps and slivers
    union = polygon_union(np.array(cells, dtype=object))
    # Oracles by other means: the cells made a coverage, then merged; and points tested
    # against each cell.
    oracle = shapely.coverage_union_all(shapely.coverage_clean(cells, snapping_distance=0.0))
    assert shapely.get_num_interior_rings(oracle) > 5  # slivers the union keeps as holes
    _same_union(union, oracle)
    x, y = np.random.default_rng(1).uniform(-5.0, 605.0, (2, 20_000))
    in_a_cell = np.any([shapely.contains_xy(cell, x, y) for cell in cells], axis=0)
    np.testing.assert_array_equal(shapely.contains_xy(union, x, y), in_a_cell)


def test_the_union_of_overlapping_nested_and_invalid_zones_by_hand():
    zones = np.array(
        [
            box(0, 0, 10, 10).difference(box(4, 4, 6, 6)),  # a hole of 4 m²...
            box(4, 4, 5, 6),  # ...half filled
            box(8, 0, 20, 10),  # overlaps the first by 2 x 10 m
            box(8, 0, 20, 10),  # twice
            shapely.Polygon([(30, 0), (40, 10), (40, 0), (30, 10)]),  # a bow-tie: 2 triangles
            shapely.LineString([(50, 0), (60, 0)]),  # no area: left out
            None,
        ],
        dtype=object,
    )
    union = polygon_union(zones)
    oracle = shapely.MultiPolygon(
        [
            shapely.Polygon(
                [(0, 0), (20, 0), (20, 10), (0, 10)], [[(5, 4), (6, 4), (6, 6), (5, 6)]]
            ),
            shapely.Polygon([(30, 0), (35, 5), (30, 10)]),
            shapely.Polygon([(40, 0), (35, 5), (40, 10)]),
        ]
    )
    assert union.area == pytest.approx(200 - 2 + 25 + 25)
    _same_union(union, oracle)


def test_the_union_of_real_iris_is_union_alls(real_data):
    iris = gpd.read_file(real_data / "iris" / "LyonIris_EPSG3946.gpkg")
    geometries = iris.geometry.to_numpy()
    assert shapely.coverage_is_valid(geometries)  # the case: real IRIS whose edges match
    oracle = shapely.union_all(shapely.make_valid(geometries))
    _same_union(polygon_union(geometries), oracle)


def test_no_zone_with_an_area_makes_an_empty_union():
    assert polygon_union(np.array([shapely.Point(0, 0), None], dtype=object)).is_empty


def test_a_layers_outline_reads_its_header_once(iris_gpkg, write_config, monkeypatch):
    """aoi.zones without aoi.communes: the layer's CRS, extent and feature count come from
    one read of its header (they took two)."""
    import pyogrio

    from pipelines.config.aoi import area_outline

    real, reads = pyogrio.read_info, []

    def counting(*args, **kwargs):
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "read_info", counting)
    config = load(write_config, IRIS_CONFIG.replace(", communes: ['31555', '2A004']", ""))
    outline = area_outline(config)
    assert len(reads) == 1
    # iris_layer: 4 squares of 500 m from (574,000, 6,279,000), side by side eastwards.
    assert outline.geometry.bounds == (574_000.0, 6_279_000.0, 576_000.0, 6_279_500.0)
    assert outline.description == "the extent of the 4 features of iris.gpkg in zones.iris"


def test_a_run_with_qpv_unites_the_area_s_iris_once(iris_gpkg, write_config, monkeypatch):
    """With aoi.zones: iris (no aoi.buffer_m) the area is the union of the IRIS the QPV are
    matched to: it is not made again (a minute on a département whose edges differ)."""
    from pipelines.config import aoi as module
    from pipelines.run_graph import zones_and_area

    _qpv_file(iris_gpkg.parent / "qpv.gpkg", [(574_100, 6_279_100, 100)])  # in 31555
    unions = []
    union = module.polygon_union
    counted = lambda geometries, **kw: unions.append(len(geometries)) or union(geometries, **kw)  # noqa: E731
    monkeypatch.setattr(module, "polygon_union", counted)
    monkeypatch.setattr("pipelines.run_graph.polygon_union", counted)
    zones = zones_and_area(load(write_config, QPV_CONFIG))
    assert unions == [3]  # the 3 IRIS of 31555 and 2A004, once
    assert list(zones.qpv["code_qp"]) == list(zones.qpv_of_iris["code_qp"]) == ["QN03101M"]
    assert zones.area.geometry.area == pytest.approx(3 * 500.0 * 500.0)


def _holed_square(side: float, holes: list[tuple[float, float, float, float]]) -> shapely.Polygon:
    """A square of ``side`` metres at Toulouse (Lambert-93) with box holes (offsets in it),
    its edges 100 m long at most (nothing to densify)."""
    x0, y0 = 574_000.0, 6_279_000.0
    rings = [box(x0, y0, x0 + side, y0 + side)]
    rings += [box(x0 + a, y0 + b, x0 + c, y0 + d) for a, b, c, d in holes]
    shell, *inner = (shapely.segmentize(ring, 100.0).exterior for ring in rings)
    return shapely.Polygon(shell, inner)


def test_an_area_grown_is_the_buffer_of_the_whole_area(monkeypatch):
    """The holes narrower than twice the distance, left out before the repair, change no
    vertex of the grown area. Oracle: GEOS' buffer of the area with all its holes in UTM 31N,
    by pyproj and shapely directly."""
    metres = 300.0
    holes = [(100, 100, 150, 2_000), (300, 300, 800, 800), (1_000, 1_000, 1_700, 1_700),
             (2_000, 500, 3_500, 1_300), (2_000, 2_000, 4_000, 4_000)]  # fmt: skip
    # 50 and 500 m wide, then 700, 800 and 2,000; the last holds an island with a hole of
    # 100 m of its own
    island = box(576_500, 6_281_500, 577_500, 6_282_500).difference(
        box(576_900, 6_281_900, 577_000, 6_282_000)
    )
    geometry = shapely.MultiPolygon([_holed_square(5_000, holes), island])
    assert geometry.is_valid
    area = AreaOfInterest(geometry, CRS.from_epsg(2154))
    repaired = []
    make_valid = shapely.make_valid

    def counted(geometry):
        repaired.append(int(shapely.get_num_interior_rings(shapely.get_parts(geometry)).sum()))
        return make_valid(geometry)

    monkeypatch.setattr(shapely, "make_valid", counted)
    grown = area.buffered(metres)
    assert repaired[0] == 3  # those at least 600 m wide
    to_utm = Transformer.from_crs(2154, 32631, always_xy=True)
    oracle = shapely.transform(geometry, to_utm.transform, interleaved=False).buffer(metres)
    assert shapely.get_num_interior_rings(oracle) == 2  # 700 and 800: 100 and 200 m left
    # back to degrees as every area is (densified: the buffer joined the square's edges)
    oracle = AreaOfInterest(oracle, CRS.from_epsg(32631)).to_crs(4326).geometry
    assert shapely.equals_exact(grown.geometry, oracle, tolerance=1e-12)


def _bow_ties_and_overlaps() -> list:
    """Overlapping squares, a square over two others' gap, a bow-tie (invalid: 2 triangles),
    a multipolygon of two squares apart and a square apart from all: 3 parts, 1 hole."""
    return [
        box(0, 0, 10, 10).difference(box(4, 4, 6, 6)),
        box(8, 0, 20, 10),
        box(8, 2, 12, 8),
        box(21, 0, 30, 10),
        box(19, 3, 22, 7),  # bridges the 1 m gap between the 2nd and the 4th
        shapely.Polygon([(30, 0), (40, 10), (40, 0), (30, 10)]),
        shapely.MultiPolygon([box(50, 0, 55, 5), box(60, 0, 65, 5)]),
        box(100, 100, 101, 101),
    ]


def _boxes_and_one_astray() -> list:
    """8 boxes of 10 m that match (a coverage), and a box over two of them, sticking out."""
    boxes = [box(x, y, x + 10, y + 10) for x in range(0, 40, 10) for y in (0, 10)]
    return [*boxes, box(35, 5, 45, 15)]


#: Each case's polygons, and the sizes of the sets shapely.union_all gets on 4 threads: the
#: polygons with an edge astray (all of a noisy tiling's, none of a coverage's, 5 of the
#: bow-ties' case: the 5 boxes from 0 to 30 m; the box astray and the 2 it overlaps),
#: halved twice (fewer than 2 polygons are not split).
UNION_CASES = {
    "noisy tiling": (lambda: _noisy_tiling(6, 1.0), [9, 9, 9, 9]),
    "noisy columns with gaps": (lambda: _noisy_tiling(6, 1.0)[::2], [4, 4, 5, 5]),
    "bow-ties and overlaps": (_bow_ties_and_overlaps, [1, 1, 1, 2]),
    "coverage": (lambda: _boxes_and_one_astray()[:-1], []),
    "coverage and one astray": (_boxes_and_one_astray, [1, 1, 1]),
}


@pytest.mark.parametrize("case", UNION_CASES)
def test_a_union_on_threads_is_union_all_s(case, monkeypatch):
    """Oracle: one shapely.union_all of the repaired polygons. The polygons that are no
    coverage are split in halves on 4 threads (2 levels) even when a few."""
    from pipelines.config import aoi as module

    make, sizes = UNION_CASES[case]
    geometries = np.array(make(), dtype=object)
    oracle = shapely.union_all(shapely.make_valid(geometries))
    monkeypatch.setattr(module, "SPLIT_FROM", 2)
    monkeypatch.setattr(module, "CPU_COUNT", 4)  # 4 threads whatever this machine's cores
    united = []
    union_all = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda g: united.append(len(g)) or union_all(g))
    union = polygon_union(geometries, workers=4)
    _same_union(union, oracle)
    assert shapely.symmetric_difference(union, oracle).area < 1e-6 * oracle.area
    assert shapely.get_num_geometries(union) == shapely.get_num_geometries(oracle)
    assert shapely.get_num_interior_rings(shapely.get_parts(union)).sum() == (
        shapely.get_num_interior_rings(shapely.get_parts(oracle)).sum()
    )
    assert sorted(united) == sizes


def test_a_union_on_one_thread_is_one_union_all(monkeypatch):
    from pipelines.config import aoi as module

    monkeypatch.setattr(module, "SPLIT_FROM", 2)
    united = []
    union_all = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda g: united.append(len(g)) or union_all(g))
    polygon_union(np.array(_noisy_tiling(3, 1.0), dtype=object), workers=1)
    assert united == [9]


def test_an_area_in_its_utm_zone_is_grown_without_a_repair(monkeypatch):
    """An area given in its own UTM zone (an aoi.file in EPSG:32631) is buffered as it is:
    no reprojection nor make_valid before the buffer, only that of the grown area in
    degrees; the grown area is shapely's buffer of it (oracle),
    taken back to degrees by pyproj."""
    square = box(370_000, 4_830_000, 375_000, 4_835_000)  # near Toulouse, UTM 31N
    area = AreaOfInterest(square, CRS.from_epsg(32631))
    assert area.utm_crs() == CRS.from_epsg(32631)
    repaired = []
    make_valid = shapely.make_valid
    monkeypatch.setattr(shapely, "make_valid", lambda g: repaired.append(1) or make_valid(g))
    grown = area.buffered(1_000.0)
    assert repaired == [1]  # the grown area's in degrees only
    to_lonlat = Transformer.from_crs(32631, 4326, always_xy=True).transform
    expected = shapely_ops.transform(to_lonlat, square.buffer(1_000.0))
    assert grown.crs == CRS.from_epsg(4326)
    # to degrees, ilots densifies long edges (the true curve), the oracle does not: 1e-3
    assert grown.geometry.symmetric_difference(expected).area < 1e-3 * expected.area


def test_the_polygons_of_a_collection_make_an_area(tmp_path, write_config):
    """A zone stored as a GeometryCollection (a polygon and a stray line, as some exports
    write) adds its polygon to the area, 1 km² by hand; a layer of lines alone has none."""
    import shapely.geometry as geometry

    square = box(574_000, 6_279_000, 575_000, 6_280_000)
    other = box(575_000, 6_279_000, 576_000, 6_280_000)
    line = geometry.LineString([(576_000, 6_279_000), (577_000, 6_279_000)])
    collection = geometry.GeometryCollection([other, line])
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[square, collection], crs=2154)
    frame.to_file(tmp_path / "aoi.gpkg")
    text = MINIMAL.replace("{bbox: [1.35, 43.55, 1.52, 43.67]}", "{file: aoi.gpkg}")
    assert area_of_interest(load(write_config, text)).geometry.area == pytest.approx(2e6)
    gpd.GeoDataFrame(geometry=[line], crs=2154).to_file(tmp_path / "aoi.gpkg")
    with pytest.raises(ConfigError, match=r"aoi\.file: no polygon to make the area of interest"):
        area_of_interest(load(write_config, text))


def test_a_union_uses_no_more_threads_than_cpus(monkeypatch):
    """scheduler.workers 64 (a cluster's) on a 2-CPU client: 2 threads, one split level."""
    from pipelines.config import aoi as module

    monkeypatch.setattr(module, "SPLIT_FROM", 2)
    monkeypatch.setattr(module, "CPU_COUNT", 2)
    united = []
    union_all = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda g: united.append(len(g)) or union_all(g))
    polygon_union(np.array(_noisy_tiling(3, 1.0), dtype=object), workers=64)
    assert sorted(united) == [4, 5]  # two halves of the 9 noisy zones, no further split


def test_a_polygon_in_a_collection_in_a_collection_is_in_the_union():
    """An invalid polygon (a bow-tie: two triangles of 50 m² by hand) inside a collection
    inside a collection: repaired, its area kept in the union (it was lost one level deep)."""
    bow_tie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    inner = shapely.GeometryCollection([bow_tie, shapely.Point(50, 50)])
    nested = shapely.GeometryCollection([inner, shapely.LineString([(20, 0), (30, 0)])])
    union = polygon_union(np.array([nested, box(100, 0, 110, 10)], dtype=object))
    assert union.area == pytest.approx(50.0 + 100.0)
