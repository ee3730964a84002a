"""Reading a run folder: what is required, what may be absent, what is an error."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from pipelines.outputs.folder import RunFolder
from pipelines.report import ReportError, read_run
from pipelines.report.data import _read_n_clear
from tests.holders import held_elsewhere
from tests.pipelines.report.helpers import add_extras, copy_run, tiny_png


def test_missing_folder(tmp_path):
    with pytest.raises(ReportError, match=r"run folder .*nope does not exist"):
        read_run(tmp_path / "nope")


def test_not_a_run_folder_names_what_is_missing(tmp_path):
    with pytest.raises(ReportError) as info:
        read_run(tmp_path)
    message = str(info.value)
    assert "not an ilots run folder: manifest.json and zones.gpkg missing" in message
    assert "\n" not in message


def test_demo_root_suggests_its_outputs_folder(tmp_path):
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "manifest.json").write_text("{}")
    with pytest.raises(ReportError, match=r"did you mean .*outputs\?"):
        read_run(tmp_path)


@pytest.mark.parametrize("left", [".checkpoints/inputs.tile_000.pkl", ".manifest.previous.json"])
def test_a_stopped_run_says_how_to_finish_it(tmp_path, left):
    """A run killed before its manifest: not "not an ilots run folder", but the command."""
    (tmp_path / left).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / left).write_text("x")
    with pytest.raises(ReportError) as info:
        read_run(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: a run into it was stopped before it finished (manifest.json missing); "
        f"finish it with ilots run CONFIG.yaml --out {tmp_path} (CONFIG.yaml: the config it "
        f"was started with), which resumes a tiled run from its finished tiles, then ilots "
        f"report {tmp_path}"
    )


@pytest.mark.parametrize(("config", "folder"), [("run/config.yaml", "."), ("config.yaml", "run")])
def test_a_stopped_run_names_the_config_that_runs_into_its_folder(tmp_path, config, folder):
    """The run's own config (written before its last steps, or a previous run's), or the
    demo's beside its outputs folder."""
    run = tmp_path / "run"
    (run / ".checkpoints").mkdir(parents=True)
    (tmp_path / config).write_text(f"outputs:\n  folder: {folder}\n")
    with pytest.raises(ReportError, match="stopped before it finished") as info:
        read_run(run)
    assert f"finish it with ilots run {tmp_path / config} --out {run}, which" in str(info.value)


def test_a_config_into_another_folder_is_no_sign_of_a_stopped_run(tmp_path):
    (tmp_path / "config.yaml").write_text("outputs:\n  folder: outputs\n")  # a demo's root
    with pytest.raises(ReportError, match=r"not an ilots run folder: manifest\.json and zones"):
        read_run(tmp_path)


def test_optional_files_absent(plain_run):
    summary = read_run(plain_run)
    assert summary.inequality is not None and summary.heat_island is None
    assert not summary.scenarios.present
    assert summary.qpv is not None and summary.qpv.crs == summary.iris.crs
    assert len(summary.iris) == 64
    assert summary.synthetic  # the demo's rasters carry synthetic=true
    assert summary.n_clear is not None and summary.n_clear.min() >= 0


def test_extras_are_read(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    (run / "heat_island.json").unlink(missing_ok=True)
    add_extras(run)
    summary = read_run(run)
    assert summary.heat_island["composite"]["suhii_k"] == 3.2874
    assert summary.scenarios.comparison["scenario"].tolist() == ["green_qpv", "cool_roofs"]
    assert [name for name, _ in summary.scenarios.maps] == ["green_qpv", "cool_roofs"]
    assert summary.scenarios.model["cv"]["folds"] == 5


def test_bad_json_is_an_error_naming_the_file(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    (run / "heat_island.json").write_text('{"composite": ', encoding="utf-8")
    with pytest.raises(ReportError, match=r"heat_island.json is not valid JSON"):
        read_run(run)


def test_a_file_that_is_not_png_is_left_out_with_a_warning(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    tiny_png(run / "scenarios" / "good" / "delta_lst.png")
    (run / "scenarios" / "bad").mkdir()
    (run / "scenarios" / "bad" / "delta_lst.png").write_text("not an image")
    with pytest.warns(UserWarning, match=r"is not a PNG image"):
        summary = read_run(run)
    assert [name for name, _ in summary.scenarios.maps] == ["good"]


def test_synthetic_flag_from_tags_or_manifest(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["extra"].pop("synthetic") is True  # the demo's run says it
    (run / "manifest.json").write_text(json.dumps(manifest))  # as a run before it did
    assert read_run(run).synthetic  # from its rasters' tags
    for path in (run / "rasters").glob("*.tif"):
        with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
            ds.update_tags(synthetic="false")
    assert not read_run(run).synthetic
    manifest["extra"]["synthetic"] = True
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert read_run(run).synthetic
    shutil.rmtree(run / "rasters")
    manifest["extra"]["synthetic"] = False
    (run / "manifest.json").write_text(json.dumps(manifest))
    summary = read_run(run)
    assert not summary.synthetic and summary.n_clear is None


def test_zones_in_degrees_are_mapped_in_metres(demo_run, tmp_path):
    # IRIS exported as GeoJSON are in EPSG:4326: drawn as they are, Paris comes out stretched
    # east-west by 1 / cos(48.8 deg) = 1.5. The report maps them in their UTM zone.
    import geopandas as gpd

    run = copy_run(demo_run, tmp_path / "run")
    iris = gpd.read_parquet(run / "zones" / "iris.parquet")
    iris.to_crs(4326).to_parquet(run / "zones" / "iris.parquet")
    (run / "zones.gpkg").unlink()
    summary = read_run(run)
    assert summary.iris.crs.to_epsg() == 32631 and summary.qpv.crs == summary.iris.crs
    assert summary.iris.geometry.area.sum() == pytest.approx(iris.to_crs(32631).area.sum(),
                                                            rel=1e-3)  # fmt: skip


def test_a_report_of_a_stopped_run_does_not_take_its_own_hold_for_a_run(tmp_path):
    """A run killed after its zones.gpkg, before its manifest: ilots report holds the folder
    (as a run would) while it reads it, and said "a run is writing it (pid <its own>)";
    it says the run was stopped, and how to finish it."""
    from pipelines.report import build_report

    (tmp_path / ".checkpoints").mkdir()
    (tmp_path / "zones.gpkg").write_bytes(b"")
    with pytest.raises(ReportError) as info:
        build_report(tmp_path)
    assert "a run into it was stopped before it finished (manifest.json missing)" in str(info.value)
    assert "a run is writing it" not in str(info.value)


def test_a_folder_a_run_is_writing_is_not_called_stopped(tmp_path):
    """While a run holds the folder (its lock), its missing manifest is no stopped run."""
    import socket

    (tmp_path / ".checkpoints").mkdir()
    with held_elsewhere(tmp_path) as holder, pytest.raises(ReportError) as info:
        read_run(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: a run is writing it (pid {holder.pid} on {socket.gethostname()}), "
        f"so it has no manifest.json yet; wait for it to end, then ilots report {tmp_path}"
    )
    with pytest.raises(ReportError, match="stopped before it finished"):  # killed: stopped
        read_run(tmp_path)


def test_a_report_of_a_folder_another_process_writes_says_a_run_is_writing_it(tmp_path):
    """zones.gpkg written, no manifest yet, the folder held by another process's run:
    ilots report says the run is writing it and when to report, not that the folder's
    lock refuses the report's own hold ("choose another --out")."""
    import socket

    from pipelines.report import build_report

    (tmp_path / "zones.gpkg").write_bytes(b"")
    with held_elsewhere(tmp_path) as holder, pytest.raises(ReportError) as info:
        build_report(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: a run is writing it (pid {holder.pid} on {socket.gethostname()}), "
        f"so it has no manifest.json yet; wait for it to end, then ilots report {tmp_path}"
    )


@pytest.mark.parametrize("zones", [True, False], ids=["report-re-enters", "report-holds-nothing"])
def test_a_run_of_this_process_is_not_called_stopped(tmp_path, zones):
    """A notebook runs into the folder (its hold, taken first) while it builds the report
    there: the report, which re-enters that hold (zones.gpkg written) or takes none, says a
    run is writing it, named as this process; once the hold is let go, a stopped run."""
    import os
    import socket

    from pipelines.outputs.lock import folder_lock
    from pipelines.report import build_report

    (tmp_path / ".checkpoints").mkdir()
    if zones:
        (tmp_path / "zones.gpkg").write_bytes(b"")
    with folder_lock(tmp_path), pytest.raises(ReportError) as info:
        build_report(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: a run is writing it (pid {os.getpid()} on {socket.gethostname()}), "
        f"so it has no manifest.json yet; wait for it to end, then ilots report {tmp_path}"
    )
    with pytest.raises(ReportError, match="stopped before it finished"):
        build_report(tmp_path)


def _raster(path, values, dtype):
    """A 4 x 4 raster of 10 m pixels from (0, 40) in EPSG:2154."""
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = {"crs": "EPSG:2154", "transform": rasterio.transform.from_origin(0, 40, 10, 10)}
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": dtype, **grid}
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.asarray(values, dtype=dtype), 1)


def test_n_clear_counts_the_land_pixels_of_the_iris_only(tmp_path):
    # The IRIS cover the left half (x < 20 m); the land cover has water (1) in the first row.
    n_clear = [[0, 0, 0, 0], [3, 4, 9, 9], [2, 3, 9, 9], [4, 4, 9, 9]]
    classes = [[1, 1, 1, 1], [4, 4, 4, 4], [2, 3, 4, 4], [4, 4, 1, 4]]
    folder = RunFolder(tmp_path)
    _raster(folder.raster("n_clear"), n_clear, "int16")
    iris = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 40)], crs="EPSG:2154")
    values, decimated, water_out = _read_n_clear(folder, iris)
    assert not water_out and sorted(values) == [0, 0, 2, 3, 3, 4, 4, 4]  # the water's 0s too
    _raster(folder.raster("landcover"), classes, "uint8")
    values, decimated, water_out = _read_n_clear(folder, iris)
    assert water_out and not decimated
    assert sorted(values) == [2, 3, 3, 4, 4, 4]  # the 9s outside the IRIS, the 0s of water


def test_the_anomaly_range_comes_from_config_yaml_else_the_manifest(tmp_path):
    from pipelines.report.data import _anomaly_range

    config = tmp_path / "config.yaml"
    recorded = {"config": {"outputs": {"anomaly_range_k": 2}}}
    assert _anomaly_range(config, recorded) == 2.0, "no config.yaml: the manifest's"
    assert _anomaly_range(config, {}) is None
    config.write_text("outputs: {anomaly_range_k: 3.5}\n", encoding="utf-8")
    assert _anomaly_range(config, recorded) == 3.5, "config.yaml first"
    config.write_text("outputs: {anomaly_range_k: null}\n", encoding="utf-8")
    assert _anomaly_range(config, recorded) is None
    config.write_text("outputs: {anomaly_range_k: -1}\n", encoding="utf-8")
    with pytest.raises(
        ReportError, match=r"config.yaml: outputs.anomaly_range_k: must be a number > 0 \(K\)"
    ):
        _anomaly_range(config, recorded)
