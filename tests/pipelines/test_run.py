"""``ilots run`` end to end on the demo city: the run folder, the planted effect, --dry-run."""

import json
import shutil
import sqlite3

import geopandas as gpd
import pytest
import rasterio
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import apply_overrides, example_config, load_config
from pipelines.demo import SCENES, _write_landsat, _write_sentinel2
from pipelines.demo_census import IRIS_GRID, write_demo_census
from pipelines.demo_city import CLASSES, make_city
from pipelines.run import plan, run
from tests.conftest import raise_if_dask_computes
from tiles.errors import ConfigError


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """The demo's inputs (products, zones, census) and its config, without running it."""
    root = tmp_path_factory.mktemp("demo_inputs")
    city = make_city()
    (root / "products").mkdir()
    for scene in SCENES:
        _write_landsat(city, scene, root / "products")
    _write_sentinel2(city, root / "products")
    write_demo_census(city, root)
    shutil.copyfile(example_config("demo"), root / "config.yaml")
    return root


@pytest.fixture(scope="module")
def demo_run(demo_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run(load_config(demo_folder / "config.yaml"), out=out)
    return out, result


def test_run_folder_files(demo_run):
    out, result = demo_run
    assert result.folder == out
    names = {"lst_median", "lst_p90", "lst_anomaly", "ndvi_median", "landcover", "n_clear"}
    assert {p.stem for p in (out / "rasters").glob("*.tif")} == names
    for name in names:
        with rasterio.open(out / "rasters" / f"{name}.tif") as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", name
            assert src.overviews(1), name
            assert src.crs.to_epsg() == 32631
    assert set(gpd.list_layers(out / "zones.gpkg")["name"]) >= {"iris", "qpv"}
    with sqlite3.connect(out / "zones.gpkg") as con:
        styled = {row[0] for row in con.execute("SELECT f_table_name FROM layer_styles")}
    assert styled >= {"iris", "qpv"}
    iris = gpd.read_parquet(out / "zones" / "iris.parquet")
    assert iris.crs is not None and len(iris) == IRIS_GRID**2
    for column in (
        "code_iris",
        "area_m2",
        "valid_frac",
        "lst_mean_k",
        "lst_p90_k",
        "lst_anomaly_mean_k",
        "ndvi_mean",
        "lc_built_frac",
        "lc_dense_vegetation_frac",
        "n_clear_mean",
        "disp_med",
        "population",
        "qpv_share",
        "in_qpv",
    ):
        assert column in iris, column
    assert gpd.read_parquet(out / "zones" / "qpv.parquet").crs is not None
    inequality = json.loads((out / "inequality.json").read_text())
    assert "concentration_index" in inequality
    assert (out / "inequality.csv").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"landsat", "zonal", "write"} <= set(manifest["timings"])
    assert manifest["grid"]["crs"] == "EPSG:32631"
    assert any("Sentinel-2 products lack bands" in w for w in manifest["warnings"])
    assert load_config(out / "config.yaml").grid.resolution == 30


def _planted_shares(iris):
    """Share of each planted class of the demo city in each IRIS (from the city model)."""
    city = make_city()
    west, north = city.origin
    shares = {}
    for code, geom in zip(iris["code_iris"], iris.to_crs(city.crs).geometry, strict=True):
        x0, y0, x1, y1 = geom.bounds
        cols = slice(round((x0 - west) / city.resolution), round((x1 - west) / city.resolution))
        rows = slice(round((north - y1) / city.resolution), round((north - y0) / city.resolution))
        block = city.landcover[rows, cols]
        shares[code] = {c: float((block == c).mean()) for c in CLASSES}
    return shares


def test_run_recovers_planted_heat_island(demo_run):
    _, result = demo_run
    iris = result.zones["iris"]
    shares = _planted_shares(iris)
    dense = [code for code, s in shares.items() if s[4] >= 0.9]  # dense built, +7 K planted
    suburb = [code for code, s in shares.items() if s[5] >= 0.95]  # suburban built, +3 K
    assert len(dense) >= 4 and len(suburb) >= 4
    table = iris.set_index("code_iris")
    hot, edge = table.loc[dense, "lst_mean_k"].mean(), table.loc[suburb, "lst_mean_k"].mean()
    assert 3.0 < hot - edge < 5.0, (hot, edge)  # 7 - 3 = 4 K planted
    # The anomaly is relative to the rural ring (low vegetation, fields, woods; no built).
    assert 5.5 < table.loc[dense, "lst_anomaly_mean_k"].mean() < 8.5
    assert 1.5 < table.loc[suburb, "lst_anomaly_mean_k"].mean() < 4.5
    assert table.loc[dense, "ndvi_mean"].mean() < table.loc[suburb, "ndvi_mean"].mean()
    assert table.loc[dense, "lc_built_frac"].mean() > 0.8
    assert table["in_qpv"].any()
    assert (table["valid_frac"] > 0.3).all()
    assert (table["lst_p90_k"] >= table["lst_mean_k"]).all()


def test_dry_run_reads_no_pixels(demo_folder):
    config = load_config(demo_folder / "config.yaml")
    with raise_if_dask_computes():
        summary = plan(config)
    assert len(summary.scenes["landsat"]) == 2
    assert len(summary.scenes["sentinel2"]) == 1
    assert summary.grid["resolution"] == 30
    assert summary.memory_bytes > 0
    result = CliRunner().invoke(main, ["run", str(demo_folder / "config.yaml"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "landsat: 2 scenes" in result.output


def test_cli_run_synchronous(demo_folder, tmp_path):
    out = tmp_path / "run"
    args = ["run", str(demo_folder / "config.yaml"), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--scheduler", "synchronous"])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    assert "run folder" in result.output


def test_unknown_key_is_one_line_error(demo_folder, tmp_path):
    bad = demo_folder / "bad.yaml"
    bad.write_text((demo_folder / "config.yaml").read_text() + "\nbogus_key: 1\n")
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "bogus_key" in lines[0], result.output


def test_bad_scheduler_is_rejected(demo_folder):
    result = CliRunner().invoke(
        main, ["run", str(demo_folder / "config.yaml"), "--scheduler", "gpu"]
    )
    assert result.exit_code != 0
    assert "--scheduler" in result.output


def test_previous_run_is_kept_without_overwrite(demo_run, demo_folder):
    out, _ = demo_run
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"outputs.overwrite": False, "outputs.zone_formats": ["csv"]},
    )
    with pytest.raises(ConfigError, match="previous run"):
        run(config, out=out)


def test_zone_formats_csv_only(demo_folder, tmp_path):
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"), {"outputs.zone_formats": ["csv"]}
    )
    result = run(config, out=tmp_path / "csv")
    assert (result.folder / "zones" / "iris.csv").is_file()
    assert not (result.folder / "zones.gpkg").exists()
    assert not (result.folder / "zones" / "iris.parquet").exists()
