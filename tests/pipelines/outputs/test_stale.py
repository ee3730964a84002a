"""The previous run's outputs a run removes, and what it never removes (its inputs)."""

import json
import logging
import os
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import rasterio

from pipelines.outputs.folder import RunFolder
from pipelines.outputs.rasters import VERSION_TAG
from pipelines.outputs.stale import (
    folder_clock,
    is_run_output,
    previous_outputs,
    remove_stale_outputs,
    remove_stale_rasters,
)


def _previous_run(root: Path, files: list[str]) -> RunFolder:
    """A run folder whose manifest lists ``files`` (written an hour ago) as outputs."""
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("old")
        os.utime(root / name, (0, 3600.0))
    manifest = {
        "config": {"outputs": {"folder": str(root)}},
        "outputs": [{"path": name, "kind": "file"} for name in files],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return RunFolder(root)


def test_stale_outputs_go_and_inputs_listed_as_outputs_stay(tmp_path):
    # An earlier ilots listed every file of the folder, inputs kept there included: an input
    # file, and a file in an input folder, stay; an output the run no longer makes goes.
    listed = ["zones/iris.csv", "inputs/filosofi.csv", "products/scene/B10.TIF"]
    folder = _previous_run(tmp_path, listed)
    inputs = [(tmp_path / "inputs" / "filosofi.csv").resolve(), (tmp_path / "products").resolve()]
    remove_stale_outputs(folder, previous_outputs(folder), since=7200.0, inputs=inputs)
    assert not (tmp_path / "zones").exists()
    assert (tmp_path / "inputs" / "filosofi.csv").read_text() == "old"
    assert (tmp_path / "products" / "scene" / "B10.TIF").read_text() == "old"


def test_files_being_written_are_never_removed(tmp_path):
    # The COGs the run's own thread is replacing: removing the old one could remove the new
    # one, renamed into place between the test of the old one's time and its removal.
    listed = ["rasters/lst_p90.tif", "rasters/lst_p90.qml", "zones/iris.csv"]
    folder = _previous_run(tmp_path, listed)
    writing = {(tmp_path / name).resolve() for name in listed[:2]}
    remove_stale_outputs(folder, previous_outputs(folder), since=7200.0, writing=writing)
    assert sorted(path.name for path in (tmp_path / "rasters").iterdir()) == [
        "lst_p90.qml", "lst_p90.tif"
    ]  # fmt: skip
    assert not (tmp_path / "zones").exists()


def test_a_folder_being_written_into_stays_when_emptied(tmp_path):
    # rasters/ emptied of the previous run's raster, while the COG thread is about to write
    # this run's first COG there: removing the folder failed its write.
    folder = _previous_run(tmp_path, ["rasters/lst_p90.tif", "zones/iris.csv"])
    writing = {(tmp_path / "rasters" / "lst_median.tif").resolve()}
    remove_stale_outputs(folder, previous_outputs(folder), since=7200.0, writing=writing)
    assert (tmp_path / "rasters").is_dir() and not any((tmp_path / "rasters").iterdir())
    assert not (tmp_path / "zones").exists()


def test_a_zones_gpkg_holding_a_users_layer_outlives_a_run_without_gpkg(tmp_path, layers):
    """A run with outputs.zone_formats without gpkg removed the previous run's zones.gpkg,
    and with it a layer the user had saved there (which a run writing it carries): it is
    now kept, said once; one holding only ilots' layers goes as before."""
    import geopandas as gpd
    from shapely.geometry import Point

    from pipelines.outputs import default_zone_styles, write_zones_gpkg
    from pipelines.outputs.geopackage import zone_layer_description
    from tiles.errors import IlotsWarning

    def previous_run(root):
        folder = _previous_run(root, ["zones/iris.csv"])
        described = {name: zone_layer_description(name) for name in layers}
        write_zones_gpkg(
            folder.zones_gpkg, layers, default_zone_styles(layers), descriptions=described
        )
        os.utime(folder.zones_gpkg, (0, 3600.0))
        manifest = json.loads(folder.manifest.read_text())
        manifest["outputs"].append({"path": "zones.gpkg", "kind": "file"})
        folder.manifest.write_text(json.dumps(manifest))
        return folder

    plain = previous_run(tmp_path / "plain")
    remove_stale_outputs(plain, previous_outputs(plain), since=7200.0)
    assert not plain.zones_gpkg.exists()
    mine = previous_run(tmp_path / "mine")
    schools = gpd.GeoDataFrame({"nom": ["école"]}, geometry=[Point(0, 0)], crs="EPSG:2154")
    schools.to_file(mine.zones_gpkg, layer="ecoles", driver="GPKG")
    os.utime(mine.zones_gpkg, (0, 3600.0))
    with pytest.warns(IlotsWarning) as caught:
        remove_stale_outputs(mine, previous_outputs(mine), since=7200.0)
    (warning,) = [w.message for w in caught if isinstance(w.message, IlotsWarning)]
    assert warning.code == "zones_gpkg_kept" and "holds what is yours: table ecoles;" in str(
        warning
    )
    assert mine.zones_gpkg.is_file() and not (tmp_path / "mine" / "zones").exists()


def test_a_previous_run_is_described_by_its_periods_and_end(tmp_path):
    from pipelines.outputs.stale import describe_previous_run

    folder = RunFolder(tmp_path)
    assert describe_previous_run(folder) is None  # no run there
    periods = {"ranges": [{"start": "2024-07-01", "end": "2024-07-31"}]}
    manifest = {"finished": "2026-12-01T05:58:44+00:00", "config": {"periods": periods}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    said = "the run of 2024-07-01 to 2024-07-31, finished 2026-12-01 05:58 UTC"
    assert describe_previous_run(folder) == said
    (tmp_path / "scenarios").mkdir()
    assert describe_previous_run(folder) == said + " and its scenarios/"
    (tmp_path / "manifest.json").write_text("{")  # damaged: nothing said, the run goes on
    assert describe_previous_run(folder) is None


def test_a_file_written_after_the_folder_clock_is_not_older(tmp_path):
    since = folder_clock(tmp_path)
    (tmp_path / "written.txt").write_text("new")
    assert (tmp_path / "written.txt").stat().st_mtime >= since
    assert list(tmp_path.iterdir()) == [tmp_path / "written.txt"]  # the probe is gone


def _raster(path: Path, tags: dict[str, str]) -> None:
    """A one-pixel GeoTIFF with ``tags`` and its QGIS style beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": 1, "height": 1, "count": 1, "dtype": "uint8"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, 1, 1), 7, dtype="uint8"))
        dst.update_tags(**tags)
    path.with_suffix(".qml").write_text("<qgis/>")


OURS = {VERSION_TAG: "0.1.0"}  # as every raster ilots writes, and a copy of one


def test_a_users_copy_of_a_raster_outlives_the_next_run(tmp_path):
    """A copy of a run's raster (``cp``, QGIS "Save As": its tags kept) is the user's: the
    next run removes only the rasters the previous manifest lists that it did not write."""
    folder = _previous_run(tmp_path, ["rasters/lst_p90.tif", "rasters/lst_median.tif"])
    for name in ("lst_p90", "lst_median", "lst_median_edited"):
        _raster(tmp_path / "rasters" / f"{name}.tif", OURS)
    mine = {p: p.read_bytes() for p in (tmp_path / "rasters").glob("lst_median_edited.*")}
    remove_stale_rasters(folder, written={"lst_median"}, previous=previous_outputs(folder))
    assert not (tmp_path / "rasters" / "lst_p90.tif").exists()  # listed, not written again
    assert not (tmp_path / "rasters" / "lst_p90.qml").exists()
    assert (tmp_path / "rasters" / "lst_median.tif").is_file()  # written by this run
    assert len(mine) == 2 and {p: p.read_bytes() for p in mine} == mine


def test_without_a_manifest_only_tagged_rasters_of_ilots_names_go(tmp_path):
    """A folder without a manifest (a run killed before its end): a raster tagged as ilots'
    goes when it has the name of one ilots writes; a copy or an untagged raster stays."""
    folder = RunFolder(tmp_path)
    _raster(tmp_path / "rasters" / "lst_anomaly.tif", OURS)
    _raster(tmp_path / "rasters" / "lst_median_edited.tif", OURS)
    _raster(tmp_path / "rasters" / "ndvi_median.tif", {"source": "my own NDVI"})
    assert previous_outputs(folder) is None
    remove_stale_rasters(folder, written={"lst_median"}, previous=None)
    left = sorted(path.name for path in (tmp_path / "rasters").iterdir())
    assert left == ["lst_median_edited.qml", "lst_median_edited.tif", "ndvi_median.qml",
                    "ndvi_median.tif"]  # fmt: skip


def _older_manifest(root: Path, version: int | None) -> RunFolder:
    """A run folder whose manifest (of ``version``; None: no version key) lists, as an ilots
    before version 3 did, every file of the folder: its outputs, and a user's files saved
    there during the run (written an hour ago)."""
    files = ["zones/iris.parquet", "rasters/lst_p90.tif", "scenarios/green/summary.json",
             "scenarios/green/iris.csv", "scenarios/comparison.csv", "scenarios/cool/qpv.csv",
             "notes.txt",
             "zones/my_layer.parquet", "scenarios/green/my_table.csv", "rasters/my_lst.tif",
             "figures/lst_map.png", "figures/site_photo.png"]  # fmt: skip
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("old")
        os.utime(root / name, (0, 3600.0))
    figures = {"path": "figures", "kind": "folder",
               "files": [{"path": "lst_map.png"}, {"path": "site_photo.png"}]}  # fmt: skip
    manifest = {
        "config": {"outputs": {"folder": str(root)}, "scenarios": [{"name": "green"}]},
        "outputs": [{"path": name, "kind": "file"} for name in files if "figures" not in name]
        + [figures],
        # `ilots scenarios` with another config: its scenarios are in its rows.
        "scenarios": {"comparison": [{"scenario": "cool"}]},
    }
    if version is not None:
        manifest["manifest_version"] = version
    (root / "manifest.json").write_text(json.dumps(manifest))
    return RunFolder(root)


USERS = ["notes.txt", "zones/my_layer.parquet", "scenarios/green/my_table.csv",
         "rasters/my_lst.tif", "figures/site_photo.png"]  # fmt: skip


@pytest.mark.parametrize("version", [None, 1, 2])
def test_an_older_manifest_removes_only_files_of_ilots_names(tmp_path, version, caplog):
    """A manifest before version 3 listed every file of its folder, a user's saved there
    during the run too: the next run removes only those of names ilots writes."""
    folder = _older_manifest(tmp_path, version)
    with caplog.at_level(logging.INFO, logger="pipelines.outputs.stale"):
        remove_stale_outputs(folder, previous_outputs(folder), since=7200.0)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([*USERS, "manifest.json"])
    assert "lists 5 file(s) of the folder that are not ilots outputs" in caplog.text


@pytest.mark.parametrize("version", [3, 4])
def test_a_manifest_of_version_3_on_lists_only_what_its_run_wrote(tmp_path, version):
    # Its outputs are the files its run wrote, whatever their names: all go.
    folder = _older_manifest(tmp_path, version)
    remove_stale_outputs(folder, previous_outputs(folder), since=7200.0)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["manifest.json"]


def test_the_root_files_of_a_run_folder_are_its_outputs(tmp_path):
    # DESIGN.md's run folder: the files a run writes at its top, its manifest aside (the
    # record of the others, which an earlier run's manifest does not list).
    named = ["zones.gpkg", "inequality.json", "inequality.csv", "heat_island.json",
             "report.html", "config.yaml"]  # fmt: skip
    assert [path.name for path in RunFolder(tmp_path).root_files] == named
    assert all(path.parent == tmp_path for path in RunFolder(tmp_path).root_files)
    for name in [*named, "manifest.json", ".manifest.previous.json", "notes.txt"]:
        assert is_run_output(PurePosixPath(name), {}) is (name in named), name
