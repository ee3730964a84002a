import dataclasses

import pytest

from pipelines.outputs import RunFolder


def test_standard_paths(tmp_path):
    run = RunFolder(str(tmp_path / "run"))
    root = tmp_path / "run"
    assert run.root == root
    assert run.raster("lst_median") == root / "rasters" / "lst_median.tif"
    assert run.zones_gpkg == root / "zones.gpkg"
    assert run.zone_parquet("iris") == root / "zones" / "iris.parquet"
    assert (run.inequality_json, run.inequality_csv) == (
        root / "inequality.json",
        root / "inequality.csv",
    )
    assert run.manifest == root / "manifest.json"
    assert (run.report, run.figures) == (root / "report.html", root / "figures")
    assert run.scenario("green_qpv") == root / "scenarios" / "green_qpv"
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.root = tmp_path  # type: ignore[misc]


def test_create_makes_the_folders(tmp_path):
    run = RunFolder(tmp_path / "a" / "run").create()
    for folder in (run.root, run.rasters, run.zones, run.figures):
        assert folder.is_dir()
    assert run.create() == run, "creating twice is fine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        RunFolder(tmp_path / "file").create()


@pytest.mark.parametrize("name", ["", "../iris", "a/b", ".hidden", "iris.", "é t"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="not a valid file name"):
        RunFolder(tmp_path).zone_parquet(name)


def test_a_whole_run_folder_in_one_pass(tmp_path, rasters, layers):
    import json

    import dask

    from pipelines.outputs import (
        build_manifest,
        default_zone_styles,
        write_geoparquet,
        write_manifest,
        write_rasters,
        write_zones_gpkg,
    )

    run = RunFolder(tmp_path / "run").create()
    tasks = write_rasters(rasters, run.rasters, synthetic=True)
    (written,) = dask.compute(list(tasks.values()))
    gpkg = write_zones_gpkg(run.zones_gpkg, layers, default_zone_styles(layers))
    parquets = [write_geoparquet(frame, run.zone_parquet(name)) for name, frame in layers.items()]
    outputs = [*written, gpkg, *parquets]
    manifest = build_manifest(config={}, inputs=[], grid={}, timings={}, warnings=[],
                              outputs=outputs, extra={"synthetic": True})  # fmt: skip
    write_manifest(run.manifest, manifest)

    files = sorted(p.relative_to(run.root).as_posix() for p in run.root.rglob("*") if p.is_file())
    assert files == [
        "manifest.json",
        "rasters/landcover.qml",
        "rasters/landcover.tif",
        "rasters/lst_median.qml",
        "rasters/lst_median.tif",
        "zones.gpkg",
        "zones/iris.parquet",
        "zones/qpv.parquet",
    ]  # fmt: skip  -- and no temporary or scratch file anywhere
    listed = [entry["path"] for entry in json.loads(run.manifest.read_text())["outputs"]]
    assert listed == [str(p.resolve()) for p in outputs]
