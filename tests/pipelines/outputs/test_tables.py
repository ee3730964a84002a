import contextlib
import json
import logging
import os
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

from pipelines.inequality import run_inequality
from pipelines.inequality.results import CSV_COLUMNS
from pipelines.outputs import write_geoparquet, write_inequality
from pipelines.outputs.tables import write_table
from tests.pipelines.outputs.helpers import edited_in_qgis
from tiles.errors import CRSError, ZonesError


def test_geoparquet_round_trip_keeps_crs_and_geometry(tmp_path, layers):
    iris = layers["iris"]
    target = tmp_path / "iris.parquet"
    assert write_geoparquet(iris, target) == target
    assert os.listdir(tmp_path) == ["iris.parquet"]
    back = gpd.read_parquet(target)
    assert back.crs == iris.crs and back.crs.to_epsg() == 2154
    assert list(back.columns) == list(iris.columns)
    assert back.geometry.geom_equals(iris.geometry).all()
    np.testing.assert_allclose(back["lst_anomaly_mean_k"], iris["lst_anomaly_mean_k"])
    geo = json.loads(pq.read_schema(target).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["crs"]["id"] == {"authority": "EPSG", "code": 2154}


@pytest.mark.parametrize("synthetic", [True, False, None])
def test_geoparquet_says_whether_its_zones_are_synthetic(tmp_path, layers, synthetic):
    """Beside the GeoParquet ``geo`` key, still valid: an ``ilots`` key with the mark and the
    version (no mark for a table of unknown origin)."""
    from pipelines.outputs._atomic import ilots_version

    target = tmp_path / "iris.parquet"
    write_geoparquet(layers["iris"], target, synthetic=synthetic)
    metadata = pq.read_schema(target).metadata
    expected = {"ilots_version": ilots_version()}
    if synthetic is not None:
        expected["synthetic"] = synthetic
    assert json.loads(metadata[b"ilots"]) == expected
    geo = json.loads(metadata[b"geo"])
    assert geo["columns"]["geometry"]["crs"]["id"] == {"authority": "EPSG", "code": 2154}
    back = gpd.read_parquet(target)
    assert back.crs.to_epsg() == 2154 and back.geometry.geom_equals(layers["iris"].geometry).all()
    assert os.listdir(tmp_path) == ["iris.parquet"]


def test_a_text_column_without_values_is_typed_string(tmp_path, layers):
    """A QPV layer without commune names: Arrow's type is string, not null (untyped)."""
    qpv = layers["qpv"].assign(nom_com=pd.Series([None] * len(layers["qpv"]), dtype=object))
    write_geoparquet(qpv, tmp_path / "qpv.parquet")
    schema = pq.read_schema(tmp_path / "qpv.parquet")
    assert str(schema.field("nom_com").type) in ("string", "large_string")
    assert gpd.read_parquet(tmp_path / "qpv.parquet")["nom_com"].isna().all()
    assert qpv["nom_com"].dtype == object  # the caller's frame is left as it was


def test_geoparquet_refuses_missing_crs_and_plain_frames(tmp_path, layers):
    with pytest.raises(CRSError, match="no CRS"):
        write_geoparquet(layers["iris"].set_crs(None, allow_override=True), tmp_path / "a.parquet")
    with pytest.raises(ZonesError, match="GeoDataFrame"):
        write_geoparquet(pd.DataFrame({"a": [1]}), tmp_path / "a.parquet")
    with pytest.raises(ValueError, match=r"\.parquet"):
        write_geoparquet(layers["iris"], tmp_path / "a.gpkg")
    assert os.listdir(tmp_path) == []


def test_geoparquet_failure_mid_write_leaves_nothing(tmp_path, layers, monkeypatch):
    def partial(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("simulated disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", partial)
    with pytest.raises(OSError, match="disk full"):
        write_geoparquet(layers["iris"], tmp_path / "iris.parquet")
    assert os.listdir(tmp_path) == []


def test_inequality_json_and_csv(tmp_path, layers):
    table = layers["iris"].assign(income=np.linspace(12000, 40000, 12))
    report = run_inequality(table, outcome="lst_mean_k", income="income", bootstrap=20, seed=1)
    json_path, csv_path = write_inequality(
        report, tmp_path / "inequality.json", tmp_path / "inequality.csv"
    )
    assert sorted(os.listdir(tmp_path)) == ["inequality.csv", "inequality.json"]
    assert json.loads(json_path.read_text(encoding="utf-8")) == json.loads(report.to_json())
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert "concentration_index" in set(frame["metric"])


@pytest.mark.parametrize("keyed", [False, True], ids=["one report", "by outcome"])
def test_a_synthetic_inequality_csv_ends_with_a_synthetic_column(tmp_path, layers, keyed):
    """Issue #5: the CSV of synthetic zones (the demo's) says so in a last column, True on each
    row, which pandas reads with its defaults; a real run's CSV has the columns it had."""
    table = layers["iris"].assign(income=np.linspace(12000, 40000, 12))
    report = run_inequality(table, outcome="lst_mean_k", income="income", bootstrap=20, seed=1)
    reports = {"lst_mean_k": report} if keyed else report
    for name, synthetic in (("real", False), ("unknown", None), ("demo", True)):
        write_inequality(
            reports, tmp_path / f"{name}.json", tmp_path / f"{name}.csv", synthetic=synthetic
        )
    columns = ["outcome", *CSV_COLUMNS] if keyed else list(CSV_COLUMNS)
    real = pd.read_csv(tmp_path / "real.csv")
    assert list(real.columns) == columns
    assert (tmp_path / "unknown.csv").read_bytes() == (tmp_path / "real.csv").read_bytes()
    if not keyed:  # the report's own flat table, as it was
        assert (tmp_path / "real.csv").read_text(encoding="utf-8") == report.to_csv()
    demo = pd.read_csv(tmp_path / "demo.csv")
    assert list(demo.columns) == [*columns, "synthetic"]
    assert demo["synthetic"].dtype == bool and demo["synthetic"].all() and len(demo) > 3
    pd.testing.assert_frame_equal(demo.drop(columns="synthetic"), real)


@pytest.mark.parametrize("keyed", [False, True], ids=["one report", "by outcome"])
def test_a_run_inequality_json_differs_from_a_synthetic_one_by_its_mark_only(
    tmp_path, layers, keyed
):
    """The JSON of a run, its scenarios and ilots compare (a known provenance): a real one is
    laid out as it always was, pinned by the json module's own (1-space indent, non-ASCII
    text escaped); a synthetic one is the same bytes with ``true`` for ``false``."""
    table = layers["iris"].assign(income=np.linspace(12000, 40000, 12))
    table = table.rename(columns={"lst_mean_k": "lst_été_k"})
    report = run_inequality(table, outcome="lst_été_k", income="income", bootstrap=20, seed=1)
    reports = {"lst_été_k": report} if keyed else report
    texts = {}
    for name, synthetic in (("real", False), ("demo", True)):
        path, _ = write_inequality(
            reports, tmp_path / f"{name}.json", tmp_path / f"{name}.csv", synthetic=synthetic
        )
        texts[name] = path.read_text(encoding="utf-8")
    real = json.loads(texts["real"])
    assert texts["real"] == json.dumps(real, indent=1) + "\n"
    assert '\n "outcome": "lst_\\u00e9t\\u00e9_k",\n' in texts["real"]
    assert texts["real"].startswith('{\n "synthetic": false,\n "outcome": ')
    assert texts["demo"] == texts["real"].replace('"synthetic": false', '"synthetic": true', 1)


def _gpkg_with_two_layers_and_styles(path, layers):
    """A run's zones.gpkg as QGIS leaves it: iris and qpv, and a layer_styles table."""
    layers["iris"].to_file(path, layer="iris")
    layers["qpv"].to_file(path, layer="qpv")
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE layer_styles (id INTEGER PRIMARY KEY, f_table_name TEXT, "
                    "styleName TEXT, styleQML TEXT)")  # fmt: skip
        con.execute("INSERT INTO layer_styles (f_table_name, styleName, styleQML) "
                    "VALUES ('iris', 'heat', '<qgis/>')")  # fmt: skip
    return path


def _styles(path):
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT f_table_name, styleName, styleQML FROM layer_styles").fetchall()


def test_a_table_written_to_an_existing_geopackage_keeps_its_other_layers(tmp_path, layers, caplog):
    """write_table into a run's zones.gpkg adds its layer: iris, qpv and the QGIS styles stay
    (the file was replaced by one holding the new layer alone); written again, the layer of
    that name is replaced, the others still kept."""
    target = _gpkg_with_two_layers_and_styles(tmp_path / "zones.gpkg", layers)
    iris, qpv = layers["iris"], layers["qpv"]
    table = pd.DataFrame({"code_qp": ["QN07501M", "QN07502M"], "mean": [301.5, 299.25]})
    with caplog.at_level(logging.INFO, logger="pipelines.outputs.tables"):
        assert write_table(table, target, qpv) == target
    assert "wrote layer 'zones' of" in caplog.text and "other layers kept" in caplog.text
    listed = {str(name): geometry for name, geometry in pyogrio.list_layers(target)}
    assert listed.keys() == {"iris", "qpv", "zones", "layer_styles"}
    assert listed["layer_styles"] is None  # still an attribute table
    assert _styles(target) == [("iris", "heat", "<qgis/>")]
    back = gpd.read_file(target, layer="iris")
    assert back["code_iris"].tolist() == iris["code_iris"].tolist()
    assert back.geometry.geom_equals(iris.geometry).all()
    assert gpd.read_file(target, layer="qpv")["nom_qp"].tolist() == ["Les Tilleuls", "La Butte"]
    written = gpd.read_file(target, layer="zones")
    assert written["mean"].tolist() == [301.5, 299.25]
    assert written.geometry.geom_equals(qpv.geometry).all()
    write_table(table.assign(mean=[1.0, 2.0]), target, qpv)
    assert {str(n) for n, _ in pyogrio.list_layers(target)} == set(listed)
    assert gpd.read_file(target, layer="zones")["mean"].tolist() == [1.0, 2.0]
    assert _styles(target) == [("iris", "heat", "<qgis/>")]
    assert os.listdir(tmp_path) == ["zones.gpkg"]  # no temporary copy left


def test_a_failed_layer_write_leaves_the_geopackage_as_it_was(tmp_path, layers, monkeypatch):
    target = _gpkg_with_two_layers_and_styles(tmp_path / "zones.gpkg", layers)
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", fail)
    table = pd.DataFrame({"code_qp": ["QN07501M", "QN07502M"], "mean": [1.0, 2.0]})
    with pytest.raises(OSError, match="disk full"):
        write_table(table, target, layers["qpv"])
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["zones.gpkg"]


def test_a_geopackage_changed_while_its_layer_is_written_is_not_replaced(
    tmp_path, layers, monkeypatch
):
    """Without --overwrite, a layer added to a GeoPackage another command changes meanwhile
    (after the copy it is written into): refused, the other command's file left as it is
    (its layer was lost), no temporary file left."""
    from pipelines.outputs.tables import write_table
    from tiles.errors import OutputError

    target = tmp_path / "stats.gpkg"
    iris = layers["iris"]
    iris.to_file(target, layer="iris")
    real = gpd.GeoDataFrame.to_file

    def changed_meanwhile(self, path, *args, **kwargs):
        real(self, path, *args, **kwargs)
        if path != target:  # this command's copy: the other one adds its layer meanwhile
            real(layers["qpv"], target, layer="qpv")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", changed_meanwhile)
    table = pd.DataFrame(iris.drop(columns="geometry"))
    with pytest.raises(OutputError, match=r"stats\.gpkg changed while ilots wrote its layer stats"):
        write_table(table, target, iris, overwrite=False)
    assert sorted(str(name) for name, _ in pyogrio.list_layers(target)) == ["iris", "qpv"]
    assert os.listdir(tmp_path) == ["stats.gpkg"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_commands_adding_layers_to_one_geopackage_lose_neither(
    tmp_path, layers, monkeypatch, overwrite
):
    """Two commands add their layer to one GeoPackage (a.gpkg and b.gpkg: links to it); the
    second starts once the first has copied the file, before the first puts its copy in
    place. The first's renaming lost the second's layer (with --overwrite, unsaid; without,
    the first was refused). Now the second is refused, naming the first; run again once
    the first is done, it adds its layer: iris, a and b, and no lock file left."""
    import shutil
    import socket

    from tiles.errors import OutputError

    city = tmp_path / "city.gpkg"
    iris = layers["iris"]
    iris.to_file(city, layer="iris")
    for name in ("a", "b"):
        (tmp_path / f"{name}.gpkg").symlink_to(city)
    table = pd.DataFrame(iris.drop(columns="geometry"))
    copy, second = shutil.copyfile, []

    def copied_then_the_second(source, staging, *args, **kwargs):
        done = copy(source, staging, *args, **kwargs)
        if not second:  # the first command's copy: the second command runs now
            second.append("started")
            try:
                write_table(table, tmp_path / "b.gpkg", iris, overwrite=overwrite)
                second[0] = "written"
            except OutputError as err:
                second[0] = str(err)
        return done

    monkeypatch.setattr(shutil, "copyfile", copied_then_the_second)
    write_table(table, tmp_path / "a.gpkg", iris, overwrite=overwrite)
    assert second == [
        f"{os.path.realpath(city)} is being written by another ilots command (pid "
        f"{os.getpid()} on {socket.gethostname()}); wait for it to end, then run this one again"
    ]
    assert sorted(str(name) for name, _ in pyogrio.list_layers(city)) == ["a", "iris"]
    write_table(table, tmp_path / "b.gpkg", iris, overwrite=overwrite)  # run again
    assert sorted(str(name) for name, _ in pyogrio.list_layers(city)) == ["a", "b", "iris"]
    assert sorted(os.listdir(tmp_path)) == ["a.gpkg", "b.gpkg", "city.gpkg"]


def test_a_layer_is_not_added_to_a_geopackage_open_in_another_program(tmp_path, layers):
    """QGIS edits a GeoPackage in WAL mode: the copy the layer is added to missed the edits
    in its -wal, and that -wal, beside the file put in place, made it one no program could
    open. Refused, the file and its edits kept; closed, the layer is added to the whole."""
    from tiles.errors import OutputError

    target = tmp_path / "stats.gpkg"
    iris = layers["iris"]
    iris.to_file(target, layer="iris")
    table = pd.DataFrame(iris.drop(columns="geometry"))
    with edited_in_qgis(target):
        with pytest.raises(OutputError, match=r"stats.gpkg is open in another program"):
            write_table(table, target, iris, overwrite=False)
    write_table(table, target, iris, overwrite=False)
    with contextlib.closing(sqlite3.connect(target)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT note FROM user_notes").fetchall() == [("kept",)]
    assert {"iris", "stats"} <= {str(name) for name, _ in pyogrio.list_layers(target)}


def test_a_linked_geopackage_open_in_another_program_is_refused(tmp_path, layers):
    """--overwrite into a link: the file it names is written, so the -wal looked for is
    that file's (SQLite names it after the file it opened, not after the link)."""
    from tiles.errors import OutputError

    real, link = tmp_path / "real.gpkg", tmp_path / "link.gpkg"
    iris = layers["iris"]
    iris.to_file(real, layer="iris")
    link.symlink_to(real)
    table = pd.DataFrame(iris.drop(columns="geometry"))
    with edited_in_qgis(real):
        with pytest.raises(OutputError, match=r"real.gpkg is open in another program"):
            write_table(table, link, iris, overwrite=True)
    with contextlib.closing(sqlite3.connect(real)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert link.is_symlink()
