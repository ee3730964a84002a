import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from pipelines.outputs import default_zone_styles, write_zones_gpkg, zone_layer_description
from pipelines.outputs import geopackage as gpkg_module
from pipelines.outputs.geopackage import (
    RunInputs,
    index_means_with_values,
    landcover_map_source,
    zone_layer_metadata,
)
from tests.holders import waits_seen
from tests.pipelines.outputs.helpers import ORIGIN
from tests.pipelines.test_qgis import QGIS_PYTHON, _env
from tiles.errors import CRSError, IlotsWarning, OutputError, ZonesError

# QgsOgrProviderMetadata::saveStyle field list, in order, with GDAL's SQL types for them
QGIS_LAYER_STYLES = [
    ("id", "INTEGER"),
    ("f_table_catalog", "TEXT(256)"),
    ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"),
    ("f_geometry_column", "TEXT(256)"),
    ("styleName", "TEXT(30)"),
    ("styleQML", "TEXT"),
    ("styleSLD", "TEXT"),
    ("useAsDefault", "BOOLEAN"),
    ("description", "TEXT"),
    ("owner", "TEXT(30)"),
    ("ui", "TEXT(30)"),
    ("update_time", "DATETIME"),
]


def _query(path, sql, *args):
    with closing(sqlite3.connect(path)) as con:
        return con.execute(sql, args).fetchall()


def test_layers_and_qgis_styles(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    result = write_zones_gpkg(
        target, layers, default_zone_styles(layers), descriptions={"iris": "LST in K"}
    )
    assert result == target
    assert os.listdir(tmp_path) == ["zones.gpkg"], "no temporary file left"

    listed = {name: geom for name, geom in pyogrio.list_layers(target)}
    assert {"iris", "qpv"} <= set(listed)
    iris = gpd.read_file(target, layer="iris")
    assert iris.crs.to_epsg() == 2154 and len(iris) == 12
    np.testing.assert_allclose(iris["lst_anomaly_mean_k"], layers["iris"]["lst_anomaly_mean_k"])
    assert list(gpd.read_file(target, layer="qpv")["nom_qp"]) == ["Les Tilleuls", "La Butte"]

    columns = [(row[1], row[2]) for row in _query(target, "PRAGMA table_info(layer_styles)")]
    assert columns == QGIS_LAYER_STYLES
    contents = _query(
        target, "SELECT data_type, identifier FROM gpkg_contents WHERE table_name = 'layer_styles'"
    )
    assert contents == [("attributes", "layer_styles")]
    description = _query(target, "SELECT description FROM gpkg_contents WHERE table_name='iris'")
    assert description == [("LST in K",)]

    geometry_column = dict(
        _query(target, "SELECT table_name, column_name FROM gpkg_geometry_columns")
    )
    rows = _query(
        target,
        "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
        "styleQML, useAsDefault, update_time FROM layer_styles ORDER BY id",
    )
    assert [row[2] for row in rows] == ["iris", "qpv"]
    for catalog, schema, table, column, name, qml, default, updated in rows:
        # the row QGIS's loadStyle() selects: schema '', the table and its geometry column
        assert (catalog, schema, column, default) == ("", "", geometry_column[table], 1)
        assert name == table
        assert updated.endswith("Z") and "T" in updated  # the ISO-8601 form GDAL wants
        ET.fromstring(qml)
    renderer = ET.fromstring(rows[0][5]).find("renderer-v2")
    assert renderer.get("type") == "RuleRenderer"
    no_value = renderer.find("rules").findall("rule")[-1]
    assert no_value.get("filter") == '"lst_anomaly_mean_k" IS NULL'
    # the IRIS without a value (NaN) is stored NULL, which that last rule draws
    null = "SELECT nom_iris FROM iris WHERE lst_anomaly_mean_k IS NULL"
    assert _query(target, null) == [("IRIS 9",)]

    # GDAL sees the table as QGIS does: FID ``id``, boolean default flag, datetime stamps
    info = pyogrio.read_info(target, layer="layer_styles")
    assert info["fid_column"] == "id" and info["features"] == 2
    styles = pyogrio.read_dataframe(target, layer="layer_styles")
    assert styles["useAsDefault"].dtype == bool and styles["useAsDefault"].all()
    assert styles["update_time"].notna().all()


def test_without_styles_no_layer_styles_table(tmp_path, layers):
    target = write_zones_gpkg(tmp_path / "zones.gpkg", layers)
    assert "layer_styles" not in {name for name, _ in pyogrio.list_layers(target)}


def test_written_as_geopackage_1_2_for_older_qgis(tmp_path, layers):
    # GDAL >= 3.7.1 writes GeoPackage 1.4 by default; the GDAL of QGIS 3.22 (3.6) warns that
    # it "may only be partially supported". The header says 1.2 (OGC 12-128r15: application
    # id "GPKG", user_version 10200).
    path = write_zones_gpkg(tmp_path / "zones.gpkg", layers, default_zone_styles(layers))
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
    assert set(pyogrio.list_layers(path)[:, 0]) == {"iris", "qpv", "layer_styles"}


def test_failure_after_layers_leaves_nothing(tmp_path, layers, monkeypatch):
    def boom(path, styles, slds):
        raise RuntimeError("simulated crash while adding styles")

    monkeypatch.setattr(gpkg_module, "_add_layer_styles", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_zones_gpkg(tmp_path / "zones.gpkg", layers, default_zone_styles(layers))
    assert os.listdir(tmp_path) == []


def test_failure_in_second_layer_keeps_previous_file(tmp_path, layers, monkeypatch):
    target = tmp_path / "zones.gpkg"
    write_zones_gpkg(target, {"iris": layers["iris"]})
    before = target.read_bytes()
    original = gpd.GeoDataFrame.to_file

    def flaky(self, filename, *args, layer=None, **kwargs):
        if layer == "qpv":
            raise RuntimeError("simulated crash while writing qpv")
        return original(self, filename, *args, layer=layer, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_zones_gpkg(target, layers, default_zone_styles(layers))
    assert os.listdir(tmp_path) == ["zones.gpkg"]
    assert target.read_bytes() == before, "the previous GeoPackage is untouched"


def test_bad_inputs_are_refused(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    with pytest.raises(CRSError, match="no CRS"):
        write_zones_gpkg(target, {"iris": layers["iris"].set_crs(None, allow_override=True)})
    with pytest.raises(ValueError, match="not among the layers"):
        write_zones_gpkg(target, {"iris": layers["iris"]}, {"qpv": "<qgis/>"})
    with pytest.raises(ValueError, match="reserved"):
        write_zones_gpkg(target, {"layer_styles": layers["iris"]})
    with pytest.raises(ValueError, match=r"\.gpkg"):
        write_zones_gpkg(tmp_path / "zones.sqlite", layers)
    with pytest.raises(ValueError, match="no zone layers"):
        write_zones_gpkg(target, {})
    with pytest.raises(ZonesError, match="not a GeoDataFrame"):
        write_zones_gpkg(target, {"iris": layers["iris"].drop(columns="geometry")})
    assert os.listdir(tmp_path) == []


def test_layer_description_names_the_census_tables_and_their_years():
    columns = ["code_iris", "lst_mean_k", "disp_med", "population"]
    real = zone_layer_description("iris", columns, {"filosofi": 2021, "population": 2020})
    assert real.startswith("ilots: one row per IRIS. Units by column suffix: _k kelvin")
    assert "(EUR/year, INSEE Filosofi 2021)" in real
    assert "population residents (INSEE census 2020)" in real
    qpv = zone_layer_description("qpv", ["code_qp", "lst_mean_k"], {"filosofi": 2021})
    assert "disp_med" not in qpv and "population" not in qpv  # columns it does not have
    # The demo's made-up tables: said first, and no INSEE table or year claimed.
    demo = zone_layer_description("iris", columns, {"filosofi": 2021}, synthetic=True)
    assert demo.startswith("SYNTHETIC DATA (ilots demo, not a real place). ilots: one row")
    assert "synthetic median income" in demo and "INSEE Filosofi 20" not in demo


def test_layer_description_says_the_index_means_are_over_land_when_water_is_left_out():
    """mask.indices_keep_water false: the run passes the layer's ndvi_mean and albedo_mean
    with values (over_land), which the description says are means over the zone's land."""
    columns = ["code_iris", "lst_mean_k", "ndvi_mean", "albedo_mean"]
    both = zone_layer_description("iris", columns, over_land=("albedo_mean", "ndvi_mean"))
    assert "; ndvi_mean and albedo_mean over the zone's land (water left out)." in both
    assert "water" not in zone_layer_description("iris", columns)
    once = iter(["ndvi_mean"])  # read once: an iterator is not consumed column by column
    ndvi_only = zone_layer_description("iris", iter(columns), over_land=once)
    assert "; ndvi_mean over the zone's land (water left out)." in ndvi_only
    with_census = zone_layer_description("iris", iter([*columns, "disp_med", "population"]))
    assert "; disp_med median" in with_census and "; population residents" in with_census


def test_the_index_means_with_values_are_those_with_a_number():
    """A run without NDVI (ndvi_mean all NaN) has none; without the blue and SWIR bands,
    albedo_mean is all NaN: only ndvi_mean."""
    frame = pd.DataFrame({"ndvi_mean": [0.3, np.nan], "albedo_mean": [np.nan, np.nan]})
    assert index_means_with_values(frame) == ["ndvi_mean"]
    both = frame.assign(albedo_mean=[np.nan, 0.1])
    assert index_means_with_values(both) == ["ndvi_mean", "albedo_mean"]
    assert index_means_with_values(frame.assign(ndvi_mean=np.nan)) == []
    assert index_means_with_values(pd.DataFrame({"lst_mean_k": [300.0]})) == []


def test_replacing_the_file_keeps_qgis_projects_and_styles_and_warns_of_the_rest(tmp_path, layers):
    """A QGIS project saved in the GeoPackage (QGIS's qgis_projects table), a user's layer
    and a user's style of a layer the new file has are carried into it; a style of a layer
    gone goes with the file a run replaces: one warning names it. The layers of an earlier
    run (its zone layer "ecoles", dropped since) are not the user's: they go too, named as
    such."""
    target = tmp_path / "zones.gpkg"
    first = {**layers, "ecoles": layers["qpv"]}
    described = {name: zone_layer_description(name) for name in first}
    metadata = {
        name: zone_layer_metadata(name, frame, RunInputs()) for name, frame in first.items()
    }
    write_zones_gpkg(
        target, first, default_zone_styles(layers), descriptions=described, metadata=metadata
    )
    # What QGIS writes: "Save to GeoPackage" (QgsGeoPackageProjectStorage), a layer
    # exported into the file, a style "saved in the datasource database".
    layers["qpv"].to_file(target, layer="my_parcels", driver="GPKG")
    with closing(sqlite3.connect(target)) as con, con:
        con.execute(
            "CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)"
        )
        con.execute("INSERT INTO qgis_projects VALUES ('canicule 2023', '{}', x'504b')")
        for layer, style in (("iris", "mine"), ("ecoles", "old")):
            con.execute(
                "INSERT INTO layer_styles (f_table_name, styleName, styleQML, useAsDefault, "
                "description) VALUES (?, ?, '<qgis/>', 0, 'for the council')",
                (layer, style),
            )
    described = {name: zone_layer_description(name) for name in layers}
    with pytest.warns(IlotsWarning) as caught:
        write_zones_gpkg(target, layers, default_zone_styles(layers), descriptions=described)
    (warning,) = [w.message for w in caught if isinstance(w.message, IlotsWarning)]
    assert warning.code == "user_tables_replaced"
    text = str(warning)
    assert "QGIS style 'old' of layer ecoles" in text and "my_parcels" not in text
    assert "qgis_projects" not in text and "'mine'" not in text
    assert "table ecoles" not in text and "default style" not in text
    assert "layer ecoles of an earlier run, which this run does not write" in text
    assert set(pyogrio.list_layers(target)[:, 0]) == {"iris", "qpv", "layer_styles", "my_parcels"}
    with closing(sqlite3.connect(target)) as con:
        assert con.execute("SELECT * FROM qgis_projects").fetchall() == [
            ("canicule 2023", "{}", b"PK")
        ]
        styles = con.execute(
            "SELECT f_table_name, styleName, styleQML, useAsDefault FROM layer_styles "
            "ORDER BY styleName"
        ).fetchall()
    assert ("iris", "mine", "<qgis/>", 0) in styles
    assert {name for _, name, _, _ in styles} == {"iris", "qpv", "mine"}  # ilots' defaults


def test_replacing_a_file_of_ilots_alone_says_nothing(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            write_zones_gpkg(target, layers, default_zone_styles(layers))


def test_a_file_open_in_another_program_is_not_replaced(tmp_path, layers):
    """QGIS edits a GeoPackage in WAL mode: its -wal, beside the file ilots renamed over it,
    was read into the new file, which no program could open. Refused, the file kept."""
    target = tmp_path / "zones.gpkg"
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    qgis = sqlite3.connect(target)
    try:
        qgis.execute("PRAGMA journal_mode=WAL")
        qgis.execute("CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata, content)")
        qgis.execute("INSERT INTO qgis_projects VALUES ('p', '{}', x'504b')")
        qgis.commit()
        before = target.read_bytes()
        with pytest.raises(OutputError, match=r"zones.gpkg is open in another program "
                           r"\(zones.gpkg-wal"):  # fmt: skip
            write_zones_gpkg(target, layers, default_zone_styles(layers))
        assert target.read_bytes() == before
    finally:
        qgis.close()
    write_zones_gpkg(target, layers, default_zone_styles(layers))  # closed: replaced
    with closing(sqlite3.connect(target)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT name FROM qgis_projects").fetchall() == [("p",)]


def test_a_journal_left_by_a_crash_is_settled_and_its_project_kept(tmp_path, layers):
    """A -wal left beside the file by a program that crashed holds committed rows (here a
    QGIS project): opening the file once applies it, then the file is replaced."""
    first = tmp_path / "first.gpkg"
    write_zones_gpkg(first, layers, default_zone_styles(layers))
    with closing(sqlite3.connect(first)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")
        con.execute("CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata, content)")
        con.execute("INSERT INTO qgis_projects VALUES ('left', '{}', x'504b')")
        con.commit()
        target = tmp_path / "zones.gpkg"  # the files as the crash left them
        for side in ("", "-wal"):
            shutil.copyfile(f"{first}{side}", f"{target}{side}")
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    assert not Path(f"{target}-wal").exists()
    with closing(sqlite3.connect(target)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT name FROM qgis_projects").fetchall() == [("left",)]


def test_a_users_default_style_stays_the_default(tmp_path, layers):
    """QGIS's "save as default" makes the user's style the default and ilots' not: carried,
    ilots' new style was a default too, newer, which QGIS took."""
    target = tmp_path / "zones.gpkg"
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    with closing(sqlite3.connect(target)) as con, con:
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = 'iris'")
        con.execute(
            "INSERT INTO layer_styles (f_table_name, styleName, styleQML, useAsDefault, "
            "description) VALUES ('iris', 'mine', '<qgis/>', 1, 'for the council')"
        )
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    with closing(sqlite3.connect(target)) as con:
        defaults = con.execute(
            "SELECT f_table_name, styleName FROM layer_styles WHERE useAsDefault ORDER BY 1"
        ).fetchall()
    assert defaults == [("iris", "mine"), ("qpv", "qpv")]


def test_styles_of_a_table_without_descriptions_are_the_users(tmp_path, layers):
    """A layer_styles table of other columns (no description: ilots always writes one) did
    not stop the run at its last step: its rows are the user's, carried."""
    target = tmp_path / "zones.gpkg"
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    with closing(sqlite3.connect(target)) as con, con:
        con.execute("DROP TABLE layer_styles")
        con.execute("CREATE TABLE layer_styles (id INTEGER PRIMARY KEY, f_table_name TEXT, "
                    "styleName TEXT, styleQML TEXT, useAsDefault BOOLEAN)")  # fmt: skip
        con.execute("INSERT INTO layer_styles (f_table_name, styleName, styleQML, "
                    "useAsDefault) VALUES ('qpv', 'old', '<qgis/>', 0)")  # fmt: skip
    write_zones_gpkg(target, layers, default_zone_styles(layers))
    with closing(sqlite3.connect(target)) as con:
        names = con.execute("SELECT styleName FROM layer_styles ORDER BY 1").fetchall()
    assert names == [("iris",), ("old",), ("qpv",)]


#: A planner's annotation layer, in another CRS than the zones (WGS 84), saved into the file.
PROJECTS = gpd.GeoDataFrame(
    {"nom": ["cour Jaurès", "square Nord", "rue Haute"], "budget_eur": [12000.0, 8500.5, 300.0]},
    geometry=[shapely.box(2.30, 48.80, 2.31, 48.81), shapely.box(2.40, 48.90, 2.41, 48.91),
              shapely.box(2.50, 48.95, 2.52, 48.97)],
    crs="EPSG:4326",
)  # fmt: skip


def _write_described(target, layers):
    described = {name: zone_layer_description(name) for name in layers}
    write_zones_gpkg(target, layers, default_zone_styles(layers), descriptions=described)


def _save_users_layer(target, name="projets_vegetalisation"):
    """Save PROJECTS into ``target`` as QGIS does (GDAL, with its rtree); delete its fid 2;
    save a style of it "in the datasource database"."""
    PROJECTS.to_file(target, layer=name, driver="GPKG")
    with closing(sqlite3.connect(target)) as con, con:
        con.execute(f'DELETE FROM "{name}" WHERE fid = 2')
        con.execute(
            "INSERT INTO layer_styles (f_table_schema, f_table_name, f_geometry_column, "
            "styleName, styleQML, useAsDefault, description) VALUES ('', ?, 'geom', 'projets', "
            "'<qgis/>', 1, 'for the council')",
            (name,),
        )


def _ilots_warnings(caught):
    return [w.message for w in caught if isinstance(w.message, IlotsWarning)]


def _sql_of(target, *names):
    marks = ", ".join("?" * len(names))
    return dict(_query(target, f"SELECT name, sql FROM sqlite_master WHERE name IN ({marks})",
                       *names))  # fmt: skip


def test_a_users_layer_and_table_outlive_a_run_whole(tmp_path, layers):
    """A layer a user saved in zones.gpkg (another CRS than the zones), an attribute-only
    table and the user's style of the layer are in the file a run writes, as they were: rows,
    fids (and the next one), columns, CRS, the spatial index (a bbox query uses it), the
    tables' own SQL."""
    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    _save_users_layer(target)
    gpd.GeoDataFrame({"k": [1, 2], "note": ["à revoir", None]}).to_file(target, layer="notes")
    before = _sql_of(target, "projets_vegetalisation", "notes")
    with closing(sqlite3.connect(target)) as con, con:  # fids 4 to 7 added, then deleted
        con.execute("UPDATE sqlite_sequence SET seq = 7 WHERE name = 'projets_vegetalisation'")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _write_described(target, layers)
    assert _ilots_warnings(caught) == []  # no user_tables_replaced: nothing goes
    assert {"projets_vegetalisation", "notes"} <= set(pyogrio.list_layers(target)[:, 0])
    read = gpd.read_file(target, layer="projets_vegetalisation", fid_as_index=True)
    assert list(read.index) == [1, 3] and read.crs == PROJECTS.crs
    expected = PROJECTS.iloc[[0, 2]]
    assert list(read["nom"]) == list(expected["nom"])
    assert list(read["budget_eur"]) == list(expected["budget_eur"])
    assert read.geometry.geom_equals_exact(expected.geometry, 0, align=False).all()
    assert len(gpd.read_file(target, layer="notes")) == 2
    assert _query(target, "SELECT fid, k, note FROM notes") == [(1, 1, "à revoir"), (2, 2, None)]
    assert _sql_of(target, "projets_vegetalisation", "notes") == before
    sequence = "SELECT seq FROM sqlite_sequence WHERE name = 'projets_vegetalisation'"
    assert _query(target, sequence) == [(7,)]  # a new feature's fid is 8, as it was
    # The spatial index: GDAL uses it, and a bbox query through it finds fid 3 alone.
    info = pyogrio.read_info(target, layer="projets_vegetalisation")
    assert info["capabilities"]["fast_spatial_filter"] and info["features"] == 2
    hit = gpd.read_file(target, layer="projets_vegetalisation", bbox=(2.49, 48.94, 2.53, 48.98),
                        fid_as_index=True)  # fmt: skip
    assert list(hit.index) == [3]
    rtree = "rtree_projets_vegetalisation_geom"
    assert _query(target, f"SELECT id FROM {rtree} ORDER BY id") == [(1,), (3,)]
    assert _query(target, f"SELECT rtreecheck('{rtree}')") == [("ok",)]
    assert _query(target, "PRAGMA integrity_check") == [("ok",)]
    assert _query(target, "PRAGMA foreign_key_check") == []
    assert _query(
        target, "SELECT table_name, data_type, srs_id, min_x, max_y FROM gpkg_contents WHERE "
        "table_name IN ('projets_vegetalisation', 'notes') ORDER BY 1"
    ) == [("notes", "attributes", 0, None, None),
          ("projets_vegetalisation", "features", 4326, 2.30, 48.97)]  # fmt: skip
    assert _query(
        target,
        "SELECT f_table_name, styleName, useAsDefault FROM layer_styles "
        "WHERE styleName = 'projets'",
    ) == [("projets_vegetalisation", "projets", 1)]


def test_a_users_layer_named_as_a_new_zone_layer_is_kept_renamed(tmp_path, layers):
    """A run that adds a zone layer "ecoles" over a file where the user saved their own
    "ecoles": the user's is kept as ecoles_user, with its style, and a warning says so."""
    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    _save_users_layer(target, "ecoles")
    with pytest.warns(IlotsWarning) as caught:
        _write_described(target, {**layers, "ecoles": layers["qpv"]})
    (warning,) = _ilots_warnings(caught)
    assert warning.code == "user_tables_renamed" and "ecoles (now ecoles_user)" in str(warning)
    assert len(gpd.read_file(target, layer="ecoles")) == 2  # ilots' layer: the QPV
    mine = gpd.read_file(target, layer="ecoles_user", bbox=(2.29, 48.79, 2.32, 48.82),
                         fid_as_index=True)  # fmt: skip
    assert list(mine.index) == [1] and list(mine["nom"]) == ["cour Jaurès"]
    assert pyogrio.read_info(target, layer="ecoles_user")["capabilities"]["fast_spatial_filter"]
    assert _query(target, "PRAGMA integrity_check") == [("ok",)]
    assert _query(target, "SELECT rtreecheck('rtree_ecoles_user_geom')") == [("ok",)]
    triggers = _query(target, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' "
                      "AND tbl_name LIKE 'ecoles%'")  # fmt: skip
    assert sorted(table for _, table in triggers) == ["ecoles"] * 8 + ["ecoles_user"] * 8
    assert _query(target, "SELECT f_table_name, styleName, useAsDefault FROM layer_styles WHERE "
                  "f_table_name LIKE 'ecoles%'") == [("ecoles_user", "projets", 1)]  # fmt: skip


def test_a_users_layer_in_a_crs_the_new_file_numbers_otherwise_keeps_its_crs(tmp_path, layers):
    """Two CRSs without an EPSG code are both numbered 100000 by GDAL, the user's layer's in
    the old file and a new zone layer's in the new one: the user's takes another srs_id."""
    mine = "+proj=tmerc +lat_0=46 +lon_0=2.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
    other = "+proj=tmerc +lat_0=45 +lon_0=3 +k=1 +x_0=600000 +y_0=0 +ellps=GRS80 +units=m"
    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    plan = gpd.GeoDataFrame({"nom": ["a"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=mine)
    plan.to_file(target, layer="plan", driver="GPKG")
    _write_described(target, {**layers, "ecoles": layers["qpv"].to_crs(other)})
    srs = dict(_query(target, "SELECT table_name, srs_id FROM gpkg_geometry_columns"))
    assert srs["ecoles"] == 100000 and srs["plan"] == 100001
    assert gpd.read_file(target, layer="plan").crs.equals(plan.crs)
    assert gpd.read_file(target, layer="ecoles").crs.equals(other)
    # The geometries' headers name the srs_id (GeoPackage §2.1.3): "GP", version 0, flags 3
    # (little-endian, envelope), then 100001 = 0x000186A1.
    assert _query(target, "SELECT hex(substr(geom, 1, 8)) FROM plan") == [("47500003A1860100",)]


def test_a_users_view_still_goes_and_is_warned_of_as_a_view(tmp_path, layers):
    """What cannot be carried (a view) is named in the warning, as a view; the user's layer,
    carried, is not."""
    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    _save_users_layer(target)
    with closing(sqlite3.connect(target)) as con, con:
        con.execute("CREATE VIEW chers AS SELECT * FROM projets_vegetalisation "
                    "WHERE budget_eur > 10000")  # fmt: skip
    with pytest.warns(IlotsWarning) as caught:
        _write_described(target, layers)
    (warning,) = _ilots_warnings(caught)
    assert warning.code == "user_tables_replaced"
    assert "gone with it: view chers;" in str(warning) and "projets" not in str(warning)


def test_layers_of_a_file_without_ilots_marks_are_not_taken_for_the_users(tmp_path, layers):
    """A file the Python API wrote without descriptions, styles nor metadata has nothing
    telling ilots' layers from a user's: none is carried as a user's, and one the new file
    lacks (a zone layer no longer written) goes, warned of."""
    target = tmp_path / "zones.gpkg"
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error", IlotsWarning)
            write_zones_gpkg(target, layers)
    assert set(pyogrio.list_layers(target)[:, 0]) == {"iris", "qpv"}
    with pytest.warns(IlotsWarning, match="gone with it: table qpv") as said:
        write_zones_gpkg(target, {"iris": layers["iris"]})
    assert [w.message.code for w in said] == ["user_tables_replaced"]
    assert set(pyogrio.list_layers(target)[:, 0]) == {"iris"}


def test_a_users_table_that_cannot_be_copied_is_left_out_whole_and_warned_of(
    tmp_path, layers, monkeypatch
):
    """A copy that fails half way (here at its registers) leaves nothing of the table in the
    new file, which stays sound; the warning names the table as gone."""
    from pipelines.outputs import gpkg_user_layers

    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    _save_users_layer(target)

    def fail(*args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(gpkg_user_layers, "_register", fail)
    with pytest.warns(IlotsWarning) as caught:
        _write_described(target, layers)
    (warning,) = _ilots_warnings(caught)
    assert "gone with it: table projets_vegetalisation;" in str(warning)
    assert _query(target, "SELECT name FROM sqlite_master WHERE name LIKE '%projets%'") == []
    assert _query(target, "PRAGMA integrity_check") == [("ok",)]


def _metadata_rows(path):
    return _query(
        path,
        "SELECT r.reference_scope, r.table_name, r.column_name, r.row_id_value, m.md_scope, "
        "m.md_standard_uri, m.mime_type, m.metadata FROM gpkg_metadata_reference r "
        "JOIN gpkg_metadata m ON m.id = r.md_file_id ORDER BY r.table_name",
    )


def test_each_layer_carries_its_qgis_metadata(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    inputs = RunInputs(
        periods=((dt.date(2022, 6, 1), dt.date(2022, 8, 31)),
                 (dt.date(2023, 6, 1), dt.date(2023, 8, 31))),
        sources=("sentinel2", "iris", "qpv", "filosofi"),
    )  # fmt: skip
    metadata = {name: zone_layer_metadata(name, frame, inputs) for name, frame in layers.items()}
    for _ in range(2):  # a re-run into the same folder: one document per layer still
        write_zones_gpkg(target, layers, default_zone_styles(layers), metadata=metadata)
    assert sorted(_query(
        target, "SELECT table_name, column_name, extension_name, definition, scope "
        "FROM gpkg_extensions WHERE extension_name = 'gpkg_metadata'",
    )) == [
        (table, None, "gpkg_metadata", "http://www.geopackage.org/spec120/#extension_metadata",
         "read-write") for table in ("gpkg_metadata", "gpkg_metadata_reference")
    ]  # fmt: skip
    rows = _metadata_rows(target)
    assert [row[:7] for row in rows] == [
        ("table", name, None, None, "dataset", "http://mrcc.com/qgis.dtd", "text/xml")
        for name in ("iris", "qpv")
    ]
    iris = ET.fromstring(rows[0][7])
    assert rows[0][7].startswith("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>")
    assert iris.tag == "qgis" and iris.find("type").text == "dataset"
    assert iris.find("title").text == "Urban heat island per IRIS"
    abstract = iris.find("abstract").text
    assert "per IRIS" in abstract and "2022-06-01 to 2022-08-31 and 2023-06-01" in abstract
    assert "Copernicus Sentinel-2" in abstract and "Landsat" not in abstract
    assert not abstract.startswith("SYNTHETIC")
    vocabularies = {k.get("vocabulary") for k in iris.findall("keywords")}
    assert vocabularies == {"gmd:topicCategory", "ilots"}
    # the licences and attributions of the four sources read, and of no other
    licences = [e.text for e in iris.findall("license")]
    assert len(licences) == 4 and sum("Licence Ouverte" in text for text in licences) == 3
    rights = [e.text for e in iris.findall("rights")]
    assert "Contains modified Copernicus Sentinel data 2022-2023" in rights
    assert not any("U.S. Geological Survey" in text for text in rights)
    assert iris.find("history").text.startswith("Written by ilots ")
    assert iris.find("crs/spatialrefsys/authid").text == "EPSG:2154"
    # the extent: the 4 x 3 squares of 500 m from ORIGIN (helpers.make_layers)
    spatial = iris.find("extent/spatial")
    assert spatial.get("crs") == "EPSG:2154"
    bounds = [float(spatial.get(k)) for k in ("minx", "miny", "maxx", "maxy")]
    assert bounds == [ORIGIN[0], ORIGIN[1] - 1500, ORIGIN[0] + 2000, ORIGIN[1]]
    periods = [(p.find("start").text, p.find("end").text) for p in iris.iter("period")]
    assert periods == [("2022-06-01T00:00:00Z", "2022-08-31T23:59:59Z"),
                       ("2023-06-01T00:00:00Z", "2023-08-31T23:59:59Z")]  # fmt: skip
    qpv = ET.fromstring(rows[1][7])
    assert qpv.find("title").text == "Urban heat island per QPV (quartier prioritaire)"


#: A layer's metadata as QGIS saves it (QgsLayerMetadata::writeMetadataXml): a contact and
#: the <links> element it always writes.
USERS_METADATA = """<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.34.4-Prizren">
  <identifier>ilots:iris</identifier>
  <title>Ilots de chaleur par IRIS, Toulouse</title>
  <abstract>Pour le conseil municipal.</abstract>
  <contact><name>Service SIG</name><organization>Mairie</organization></contact>
  <links/>
</qgis>
"""


def _save_in_qgis(path, layer, document):
    """Save ``document`` as ``layer``'s metadata as QGIS does (saveLayerMetadata): update the
    document the layer's reference names, the abstract as the layer's description."""
    with closing(sqlite3.connect(path)) as con, con:
        (row,) = con.execute(
            "SELECT id from gpkg_metadata LEFT JOIN gpkg_metadata_reference ON "
            "(gpkg_metadata_reference.table_name = ? AND gpkg_metadata.id = "
            "gpkg_metadata_reference.md_file_id) WHERE md_standard_uri = "
            "'http://mrcc.com/qgis.dtd' and reference_scope = 'table'",
            (layer,),
        ).fetchone()
        con.execute("UPDATE gpkg_metadata SET metadata = ? WHERE id = ?", (document, row))
        con.execute(
            "UPDATE gpkg_contents SET description = 'Pour le conseil municipal.' "
            "WHERE table_name = ?",
            (layer,),
        )


def _documents(path):
    """Each layer's QGIS metadata document (not GDAL's, which QGIS's save leaves too)."""
    return {row[1]: row[7] for row in _metadata_rows(path) if row[5] == "http://mrcc.com/qgis.dtd"}


def _summer(year):
    return RunInputs(((dt.date(year, 6, 1), dt.date(year, 8, 31)),), ("landsat", "iris"))


def _write_with_metadata(target, layers, inputs):
    metadata = {name: zone_layer_metadata(name, frame, inputs) for name, frame in layers.items()}
    write_zones_gpkg(target, layers, default_zone_styles(layers), metadata=metadata)
    return metadata


def test_metadata_a_user_saved_in_qgis_outlives_a_run(tmp_path, layers):
    """The document QGIS saved for iris stays the layer's; qpv's, not edited, is ilots'.
    The run's documents unchanged (the same inputs): nothing to warn of, run after run."""
    target = tmp_path / "zones.gpkg"
    ours = _write_with_metadata(target, layers, _summer(2023))
    _save_in_qgis(target, "iris", USERS_METADATA)
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error", IlotsWarning)
            _write_with_metadata(target, layers, _summer(2023))
        assert _documents(target) == {"iris": USERS_METADATA, "qpv": ours["qpv"]}
    # ilots' own description of the layer again (the units), not QGIS's abstract
    (description,) = _query(
        target, "SELECT description FROM gpkg_contents WHERE table_name = 'iris'"
    )[0]
    assert description is None or "Pour le conseil" not in description


def test_a_kept_users_metadata_is_warned_of_when_ilots_own_changed(tmp_path, layers):
    """Another summer: ilots' iris document would say other periods, in its abstract and
    extent (the Landsat attribution has no year, the ilots version is the same). The user's
    stays, a warning names what changed; qpv's, not edited, is ilots' new one. The next run
    of that summer has nothing new to say."""
    target = tmp_path / "zones.gpkg"
    _write_with_metadata(target, layers, _summer(2023))
    _save_in_qgis(target, "iris", USERS_METADATA)
    with pytest.warns(IlotsWarning) as caught:
        ours = _write_with_metadata(target, layers, _summer(2024))
    (warning,) = [w.message for w in caught if isinstance(w.message, IlotsWarning)]
    assert warning.code == "layer_metadata_kept"
    assert "has changed since: iris (abstract, extent); update these in QGIS" in str(warning)
    assert _documents(target) == {"iris": USERS_METADATA, "qpv": ours["qpv"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        _write_with_metadata(target, layers, _summer(2024))
    assert _documents(target)["iris"] == USERS_METADATA


#: QGIS's own save of a layer's metadata to its GeoPackage (Layer Properties › Metadata).
SAVE_IN_QGIS = """
import sys
from qgis.core import QgsAbstractMetadataBase, QgsApplication, QgsProviderRegistry, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(sys.argv[1] + "|layername=iris", "iris", "ogr")
metadata = layer.metadata()
assert metadata.title() == "Urban heat island per IRIS", metadata.title()
metadata.setTitle("Ilots de chaleur, Toulouse")
metadata.addContact(QgsAbstractMetadataBase.Contact("Service SIG"))
ok, error = QgsProviderRegistry.instance().saveLayerMetadata("ogr", layer.source(), metadata)
assert ok, error
del layer  # before QGIS exits, which would crash on a layer still open
app.exitQgis()
"""


@pytest.mark.skipif(QGIS_PYTHON is None, reason="QGIS's Python bindings not found")
def test_metadata_saved_by_qgis_itself_outlives_a_run(tmp_path, layers):
    """The oracle is QGIS: the document it saves is the user's, kept by the next run."""
    target = tmp_path / "zones.gpkg"
    _write_with_metadata(target, layers, _summer(2023))
    subprocess.run(
        [QGIS_PYTHON, "-c", SAVE_IN_QGIS, str(target)],
        capture_output=True, env=_env(), timeout=300, check=True,
    )  # fmt: skip
    saved = _documents(target)["iris"]
    assert "<name>Service SIG</name>" in saved
    with pytest.warns(IlotsWarning, match=r"since: iris \(abstract, extent\); update"):
        _write_with_metadata(target, layers, _summer(2024))
    assert _documents(target)["iris"] == saved


def test_a_change_of_form_only_in_ilots_own_metadata_is_not_warned_of(tmp_path, layers):
    """ilots' record says another QGIS version on its root, and nothing else differs: the
    user's document is kept without a word (nothing in it to update)."""
    target = tmp_path / "zones.gpkg"
    ours = _write_with_metadata(target, layers, _summer(2023))
    _save_in_qgis(target, "iris", USERS_METADATA)
    older = ours["iris"].replace('<qgis version="3.28.0-Firenze">', '<qgis version="3.22.0">')
    assert older != ours["iris"]
    with closing(sqlite3.connect(target)) as con, con:
        con.execute(
            "UPDATE gpkg_metadata SET metadata = ? WHERE metadata = ?", (older, ours["iris"])
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        _write_with_metadata(target, layers, _summer(2023))
    assert _documents(target)["iris"] == USERS_METADATA


def test_metadata_of_a_file_without_ilots_record_is_the_users_when_qgis_saved_it(tmp_path, layers):
    """A file of an earlier ilots, which kept no record of its documents: one QGIS saved
    (with its <links>) stays, with a warning; ilots' own (without) is replaced."""
    target = tmp_path / "zones.gpkg"
    _write_with_metadata(target, layers, _summer(2023))
    _save_in_qgis(target, "iris", USERS_METADATA)
    with closing(sqlite3.connect(target)) as con, con:
        con.execute("UPDATE gpkg_metadata_reference SET md_parent_id = NULL")
        con.execute("DELETE FROM gpkg_metadata WHERE md_standard_uri != 'http://mrcc.com/qgis.dtd'")
    with pytest.warns(IlotsWarning, match="iris \\(no record of what it wrote before"):
        ours = _write_with_metadata(target, layers, _summer(2023))
    assert _documents(target) == {"iris": USERS_METADATA, "qpv": ours["qpv"]}


def test_synthetic_metadata_says_so_first_and_credits_no_third_party(layers):
    inputs = RunInputs(((dt.date(2023, 6, 1), dt.date(2023, 8, 31)),), ("landsat", "iris"),
                       synthetic=True)  # fmt: skip
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    assert root.find("title").text.startswith("SYNTHETIC ")
    assert root.find("abstract").text.startswith("SYNTHETIC DATA (ilots demo, not a real place). ")
    assert root.findall("license") == []
    assert [e.text for e in root.findall("rights")] == [
        "Synthetic data written by the ilots demo: no third-party data."
    ]


def test_the_demo_city_with_a_real_land_cover_map_credits_the_map(layers):
    """A synthetic run over which a real map (WorldCover, CC BY 4.0) was used said "no
    third-party data", dropping the credit the map's licence asks."""
    source = landcover_map_source("worldcover", "ESA_WorldCover_10m_2021_v200_N42E000_Map.tif",
                                  2021)  # fmt: skip
    inputs = RunInputs(_SUMMER, ("landsat", "iris"), synthetic=True, landcover_map=source)
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    rights = [e.text for e in root.findall("rights")]
    assert rights[0] == "Synthetic data written by the ilots demo, but for its land-cover map."
    assert rights[1].startswith("© ESA WorldCover project 2021")
    assert [e.text for e in root.findall("license")] == [
        f"{source.name}: CC BY 4.0 (Creative Commons Attribution 4.0 International)"
    ]
    # A map of the user's own (a table): its licence is said not known, as in a real run.
    own = landcover_map_source({10: "built"}, "toulouse_lc.tif", None)
    inputs = RunInputs(_SUMMER, ("landsat",), synthetic=True, landcover_map=own)
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    assert [e.text for e in root.findall("rights")] == [
        "Synthetic data written by the ilots demo, but for its land-cover map."
    ]
    assert [e.text for e in root.findall("license")] == [
        "land-cover map toulouse_lc.tif: not known to ilots: see the terms of the map's publisher"
    ]


@pytest.mark.parametrize(
    ("years", "said"),
    [((2023,), "2023"), ((2021, 2022, 2023), "2021-2023"), ((2019, 2023), "2019, 2023")],
)
def test_the_copernicus_attribution_names_the_years_as_a_range_or_a_list(layers, years, said):
    periods = tuple((dt.date(year, 6, 1), dt.date(year, 8, 31)) for year in years)
    inputs = RunInputs(periods, ("sentinel2",))
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    assert [e.text for e in root.findall("rights")] == [
        f"Contains modified Copernicus Sentinel data {said}"
    ]


_SUMMER = ((dt.date(2023, 6, 1), dt.date(2023, 8, 31)),)


@pytest.mark.parametrize(
    ("mapping", "year", "name", "licence", "attribution"),
    [
        (
            "worldcover",
            2021,
            "ESA WorldCover 10 m",
            "CC BY 4.0",
            # the text ESA asks of a map using WorldCover (esa-worldcover-datasets README)
            "© ESA WorldCover project 2021 / Contains modified Copernicus Sentinel data (2021) "
            "processed by ESA WorldCover consortium",
        ),
        (
            "oso",
            2023,
            "Theia OSO land cover by the CES Occupation des sols",
            "Licence Ouverte / Open Licence 2.0",
            "Theia, CES Occupation des sols (CESBIO), carte OSO 2023",
        ),
        (
            "corine",
            2018,
            "CORINE Land Cover",
            "Copernicus data policy",
            "© European Union, Copernicus Land Monitoring Service 2018, European Environment "
            "Agency (EEA)",
        ),
        (
            "corine_grid",  # the EEA raster's grid codes: CORINE too
            2018,
            "CORINE Land Cover",
            "Copernicus data policy",
            "© European Union, Copernicus Land Monitoring Service 2018, European Environment "
            "Agency (EEA)",
        ),
        (
            "worldcover",
            None,
            "ESA WorldCover 10 m",
            "CC BY 4.0",  # a year not known: none said
            "© ESA WorldCover project / Contains modified Copernicus Sentinel data processed by "
            "ESA WorldCover consortium",
        ),
    ],
)
def test_an_external_land_cover_map_is_named_with_its_licence_and_attribution(
    layers, mapping, year, name, licence, attribution
):
    """The layers credited the sensors only, though WorldCover's CC BY asks its mention."""
    source = landcover_map_source(mapping, "map.tif", year)
    inputs = RunInputs(_SUMMER, ("landsat", "iris"), landcover_map=source)
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    assert root.find("abstract").text.startswith("Urban heat island statistics")
    assert root.find("abstract").text.endswith(
        f"from USGS Landsat 8-9 Collection 2, IGN Contours... IRIS, {source.name}."
    )
    assert source.name.startswith(name) and source.name.endswith(" (map.tif)")
    assert [e.text for e in root.findall("rights")] == [
        "Landsat imagery courtesy of the U.S. Geological Survey",
        "IGN - INSEE, Contours... IRIS",
        attribution,
    ]
    (said,) = [e.text for e in root.findall("license") if e.text.startswith(name)]
    assert said.startswith(f"{source.name}: ") and licence in said


def test_a_map_of_a_mapping_table_is_named_by_its_file_with_its_licence_unknown(layers):
    source = landcover_map_source({10: "built"}, "lc_2020.tif", 2020)
    inputs = RunInputs(_SUMMER, ("landsat",), landcover_map=source)
    root = ET.fromstring(zone_layer_metadata("iris", layers["iris"], inputs))
    assert [e.text for e in root.findall("license")][-1] == (
        "land-cover map lc_2020.tif: not known to ilots: see the terms of the map's publisher"
    )
    assert [e.text for e in root.findall("rights")] == [
        "Landsat imagery courtesy of the U.S. Geological Survey"
    ]


def test_metadata_of_a_layer_without_crs_is_refused(layers):
    with pytest.raises(CRSError, match="zone layer 'iris' has no CRS"):
        zone_layer_metadata("iris", layers["iris"].set_crs(None, allow_override=True), RunInputs())


def test_run_inputs_are_checked():
    with pytest.raises(ValueError, match="unknown sources"):
        RunInputs(sources=("modis",))
    with pytest.raises(ValueError, match="ends before it starts"):
        RunInputs(periods=((dt.date(2023, 8, 1), dt.date(2023, 6, 1)),))


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not installed")
def test_gdal_reads_the_metadata_without_a_warning(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    inputs = RunInputs(((dt.date(2023, 6, 1), dt.date(2023, 8, 31)),), ("landsat", "iris"))
    metadata = {name: zone_layer_metadata(name, frame, inputs) for name, frame in layers.items()}
    write_zones_gpkg(target, layers, default_zone_styles(layers), metadata=metadata)
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(target), "iris"], capture_output=True, text=True, check=True
    )
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert "GPKG_METADATA_ITEM_1=<!DOCTYPE qgis" in done.stdout
    assert "<title>Urban heat island per IRIS</title>" in done.stdout


def test_the_styles_carry_their_sld(tmp_path, layers):
    target = tmp_path / "zones.gpkg"
    slds = default_zone_styles(layers, style_format="sld")
    write_zones_gpkg(target, layers, default_zone_styles(layers), slds=slds)
    stored = dict(_query(target, "SELECT f_table_name, styleSLD FROM layer_styles"))
    assert stored == slds and all(ET.fromstring(sld.encode()) is not None for sld in slds.values())
    with pytest.raises(ValueError, match="SLD styles given for \\['qpv'\\]"):
        write_zones_gpkg(target, layers, {"iris": "<qgis/>"}, slds=slds)


def test_an_empty_or_damaged_metadata_document_neither_stays_nor_stops_the_run(tmp_path, layers):
    """An empty document (the column's default) is nobody's: ilots' new one replaces it. A
    damaged record of ilots' (not XML) beside a user's document: the user's stays, and the
    warning says the whole document may have changed, instead of the run stopping."""
    target = tmp_path / "zones.gpkg"
    _write_with_metadata(target, layers, _summer(2023))
    _save_in_qgis(target, "iris", "")
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        ours = _write_with_metadata(target, layers, _summer(2023))
    assert _documents(target) == ours
    _save_in_qgis(target, "iris", USERS_METADATA)
    with closing(sqlite3.connect(target)) as con, con:
        con.execute(
            "UPDATE gpkg_metadata SET metadata = '<qgis><abstract>' "
            "WHERE md_standard_uri = 'urn:x-ilots:layer-metadata-written' AND metadata = ?",
            (ours["iris"],),
        )
    with pytest.warns(IlotsWarning, match=r"since: iris \(document\); update"):
        _write_with_metadata(target, layers, _summer(2023))
    assert _documents(target)["iris"] == USERS_METADATA


def _write_full(target, layers):
    """Write ``layers`` as a run does: styles, descriptions and metadata."""
    described = {name: zone_layer_description(name) for name in layers}
    metadata = {
        name: zone_layer_metadata(name, frame, _summer(2023)) for name, frame in layers.items()
    }
    write_zones_gpkg(
        target, layers, default_zone_styles(layers), descriptions=described, metadata=metadata
    )


def _count(target, table):
    ((count,),) = _query(target, f'SELECT count(*) FROM "{table}"')
    return count


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL's ogr2ogr not installed")
def test_copies_of_ilots_layers_under_other_names_are_the_users(tmp_path, layers):
    """ogr2ogr copies a layer's description (ilots' "one row per IRIS"): a copy of iris in
    the file itself, and one from another run's file, are the user's layers all the same,
    kept whole run after run, and GDAL's metadata written for iris by the copy is no edit."""
    target, other = tmp_path / "zones.gpkg", tmp_path / "2023" / "zones.gpkg"
    other.parent.mkdir()
    for path in (target, other):
        _write_full(path, layers)
    for source, name, where in (
        (target, "iris_ogr", ["-where", "fid = 1"]),
        (other, "iris_2023", []),
    ):
        subprocess.run(["ogr2ogr", "-update", str(target), str(source), "iris", "-nln", name,
                        *where], check=True, capture_output=True)  # fmt: skip
    marked = (
        "SELECT table_name FROM gpkg_contents WHERE description LIKE 'ilots: one row per IRIS%'"
    )
    assert sorted(_query(target, marked)) == [("iris",), ("iris_2023",), ("iris_ogr",)]
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error", IlotsWarning)
            _write_full(target, layers)
        assert _count(target, "iris_ogr") == 1
        assert _count(target, "iris_2023") == _count(target, "iris") == len(layers["iris"])


def _edit_with_gdal(target, layer):
    """Append a copy of the first row of ``layer`` with GDAL, as QGIS saves an edit: its
    last_change moves to the GDAL clock (set to 2099, past ilots' write)."""
    row = gpd.read_file(target, layer=layer).iloc[:1]
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2099-06-01T12:00:00.000Z"})
    try:
        pyogrio.write_dataframe(row, target, layer=layer, append=True)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def test_a_zone_layer_edited_since_the_run_is_kept_as_the_users(tmp_path, layers):
    """A row added to iris with GDAL (as QGIS saves an edit: last_change moves past ilots'
    write) is kept as iris_user beside the run's new iris, warned of; from then on the copy
    is the user's, kept silently."""
    target = tmp_path / "zones.gpkg"
    _write_full(target, layers)
    _edit_with_gdal(target, "iris")
    with pytest.warns(IlotsWarning) as caught:
        _write_full(target, layers)
    (warning,) = _ilots_warnings(caught)
    assert warning.code == "zone_layer_edits_kept"
    assert "iris (last changed 2099-06-01 12:00:00 UTC, after ilots wrote it" in str(warning)
    assert "kept as iris_user" in str(warning)
    n = len(layers["iris"])
    assert (_count(target, "iris_user"), _count(target, "iris")) == (n + 1, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        _write_full(target, layers)
    assert (_count(target, "iris_user"), _count(target, "iris")) == (n + 1, n)
    assert _query(target, "PRAGMA foreign_key_check") == []


def test_an_edited_layer_kept_under_its_name_stays_the_users_when_written_again(tmp_path, layers):
    """qpv edited, then a run writing iris only: qpv is kept as it is (its name free). It
    kept ilots' description, so the next run writing qpv once took it for its own and
    overwrote the edits silently; it is now the user's, kept as qpv_user, warned of."""
    target = tmp_path / "zones.gpkg"
    _write_full(target, layers)
    _edit_with_gdal(target, "qpv")
    n = len(layers["qpv"])
    with pytest.warns(IlotsWarning) as caught:
        _write_full(target, {"iris": layers["iris"]})
    (warning,) = _ilots_warnings(caught)
    assert warning.code == "zone_layer_edits_kept" and "kept as qpv)" in str(warning)
    assert "under another name where this run writes the layer again" in str(warning)
    assert _count(target, "qpv") == n + 1
    with pytest.warns(IlotsWarning) as caught:
        _write_full(target, layers)
    assert [w.code for w in _ilots_warnings(caught)] == ["user_tables_renamed"]
    assert (_count(target, "qpv_user"), _count(target, "qpv")) == (n + 1, n)


def test_the_metadata_of_a_users_layer_comes_with_it(tmp_path, layers):
    """The metadata QGIS's "Save Features As" persists with a layer (a document referenced
    by the table) is carried with it, under its new name when renamed, with a new id; ilots'
    layer of the old name keeps its own document."""
    target = tmp_path / "zones.gpkg"
    _write_full(target, layers)
    _save_users_layer(target, "ecoles")
    with closing(sqlite3.connect(target)) as con, con:
        row = con.execute(
            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES "
            "('dataset', 'http://mrcc.com/qgis.dtd', 'text/xml', ?)",
            (USERS_METADATA,),
        ).lastrowid
        con.execute(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, timestamp, "
            "md_file_id) VALUES ('table', 'ecoles', '2024-05-02T10:00:00.000Z', ?)",
            (row,),
        )
    with pytest.warns(IlotsWarning) as caught:
        _write_full(target, {**layers, "ecoles": layers["qpv"]})
    assert [w.code for w in _ilots_warnings(caught)] == ["user_tables_renamed"]
    carried = _query(
        target,
        "SELECT r.reference_scope, r.timestamp, r.md_parent_id, m.md_standard_uri, m.metadata "
        "FROM gpkg_metadata_reference r JOIN gpkg_metadata m ON m.id = r.md_file_id "
        "WHERE r.table_name = 'ecoles_user'",
    )
    assert carried == [
        ("table", "2024-05-02T10:00:00.000Z", None, "http://mrcc.com/qgis.dtd", USERS_METADATA)
    ]
    assert _documents(target)["ecoles"] == zone_layer_metadata(
        "ecoles", layers["qpv"], _summer(2023)
    )
    assert _query(target, "PRAGMA foreign_key_check") == []


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_a_run_waits_for_a_layer_being_added_and_keeps_it(tmp_path, layers, monkeypatch):
    """A run writing zones.gpkg anew while ``ilots zonal`` adds a layer to it (its copy of
    the file, its layer, its renaming, under :func:`file_lock`) waits for the renaming, then
    carries that layer: neither the run's new layers nor the added one is lost."""
    import threading

    from pipelines.outputs.lock import file_lock

    target = tmp_path / "zones.gpkg"
    _write_described(target, layers)
    newer = {name: frame.assign(run=2) for name, frame in layers.items()}
    run = threading.Thread(target=_write_described, args=(target, newer))
    waiting = waits_seen(monkeypatch)
    with file_lock(target):  # what zonal holds from its copy to its renaming
        copy = tmp_path / ".zonal-copy.gpkg"
        shutil.copyfile(target, copy)
        run.start()
        assert waiting.wait(timeout=60), "the run did not wait for the lock"
        PROJECTS.to_file(copy, layer="lst_zonal", driver="GPKG")
        os.replace(copy, target)
    run.join()
    assert "lst_zonal" in set(pyogrio.list_layers(target)[:, 0])
    for name in layers:
        assert (gpd.read_file(target, layer=name)["run"] == 2).all()
