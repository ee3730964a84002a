"""``ilots run`` end to end on the demo city: the run folder, the planted effect, --dry-run."""

import datetime as dt
import hashlib
import html
import json
import logging
import re
import shutil
import sqlite3
import warnings
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import shapely
import xarray as xr
import yaml
from click.testing import CliRunner

import pipelines.run as run_module
from pipelines import run_tiles
from pipelines.cli import main
from pipelines.config import apply_overrides, load_config
from pipelines.demo import S2_PRODUCTS, SCENES
from pipelines.demo_census import IRIS_GRID
from pipelines.demo_city import CLASSES, make_city
from pipelines.report import build_report
from pipelines.run import plan, run
from pipelines.run_plan import run_fingerprint
from raster.composite import temporal_composite
from tests.conftest import damage_tile, raise_if_dask_computes
from tiles.errors import ConfigError, OutputError, OutputExistsError, ReadError
from tiles.processing import Tile


def test_run_folder_files(demo_run):
    out, result = demo_run
    assert result.folder == out
    names = {"lst_median", "lst_p90", "lst_anomaly", "lst_anomaly_p90", "ndvi_median", "landcover"}
    names |= {"n_clear"}
    names |= {"albedo_median"}  # the demo's Sentinel-2 products carry B02 and B12
    assert {p.stem for p in (out / "rasters").glob("*.tif")} == names
    for name in names:
        with rasterio.open(out / "rasters" / f"{name}.tif") as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", name
            assert src.overviews(1), name
            assert src.crs.to_epsg() == 32631
    assert set(gpd.list_layers(out / "zones.gpkg")["name"]) >= {"iris", "qpv"}
    with sqlite3.connect(out / "zones.gpkg") as con:
        styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles"))
        described = dict(con.execute("SELECT table_name, description FROM gpkg_contents"))
    assert set(styles) >= {"iris", "qpv"}
    # The IRIS legend's class for zones without a value, in the report's language (French).
    assert 'label="sans valeur"' in styles["iris"] and "IS NULL" in styles["iris"]
    for layer in ("iris", "qpv"):  # the units, in the file as well as in the README
        assert "_k kelvin" in described[layer]
    # Each layer describes the census columns it has: the QPV layer holds none.
    assert "disp_med" in described["iris"] and "population" in described["iris"]
    assert "disp_med" not in described["qpv"] and "population" not in described["qpv"]
    # The demo's tables are synthetic: the description claims no INSEE year for them (a
    # real run's has the year of each table: tests/pipelines/outputs/test_geopackage.py).
    assert (
        described["iris"].startswith("SYNTHETIC DATA") and "INSEE census" not in described["iris"]
    )
    # The years of the tables, from their column names (the demo's DISP_MED21, P21_POP).
    census = json.loads((out / "manifest.json").read_text())["extra"]["census"]
    assert census["filosofi"]["year"] == 2021 and census["population"]["year"] == 2021
    assert census["population"]["column"] == "P21_POP" and census["filosofi"]["key"] == "IRIS"
    assert census["filosofi"]["rows"] == census["population"]["rows"] == IRIS_GRID**2
    assert not [w for w in result.warnings if w.startswith("census: the Filosofi income is")]
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
        "low_clear_area",
        "disp_med",
        "population",
        "qpv_share",
        "in_qpv",
    ):
        assert column in iris, column
    # The QPV (EPSG:4326 GeoJSON) in the IRIS layer's CRS, in both formats.
    assert gpd.read_parquet(out / "zones" / "qpv.parquet").crs == iris.crs
    assert gpd.read_file(out / "zones.gpkg", layer="qpv").crs == iris.crs
    inequality = json.loads((out / "inequality.json").read_text())
    assert "concentration_index" in inequality
    assert (out / "inequality.csv").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"landsat", "zonal", "write"} <= set(manifest["timings"])
    # The terminal says the run's time as the manifest (and so the report) does.
    assert f"run folder: {out} ({manifest['duration_s']:.1f} s)" in result.summary()
    # The report is built after the manifest it reads, then listed in it with its figures.
    assert (out / "report.html").stat().st_size > 10_000
    listed = {Path(r["path"]).name: r for r in manifest["outputs"]}
    assert (
        listed["report.html"]["sha256"]
        == hashlib.sha256((out / "report.html").read_bytes()).hexdigest()
    )
    assert listed["figures"]["kind"] == "folder" and listed["figures"]["files"]
    # Every file of the folder but the manifest itself (its hash cannot be its own), each
    # with the hash of what is on disk.
    on_disk = {p.name for p in out.rglob("*") if p.is_file() and "figures" not in p.parts}
    assert set(listed) - {"figures"} == on_disk - {"manifest.json", ".ilots.lock"}
    for name in ("lst_median.tif", "lst_median.qml", "zones.gpkg"):
        path = next(out.rglob(name))
        assert listed[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), name
    assert not any("report.html is not written" in w for w in manifest["warnings"])
    assert manifest["grid"]["crs"] == "EPSG:32631"
    # The demo's Sentinel-2 products carry green and SWIR 1.6: no land-cover fallback.
    assert not any("Sentinel-2 products lack bands" in w for w in manifest["warnings"])
    assert load_config(out / "config.yaml").grid.resolution == 30


def test_every_cog_says_the_runs_period(demo_run):
    """Two runs of two summers are told apart by their COGs: the demo's config has years
    [2023], months 6-8, so one period, 1 June to 31 August 2023 (both included)."""
    out, _ = demo_run
    cogs = sorted((out / "rasters").glob("*.tif"))
    assert cogs
    for path in cogs:
        with rasterio.open(path) as src:
            tags = src.tags()
        assert tags["time_coverage_start"] == "2023-06-01", path.name
        assert tags["time_coverage_end"] == "2023-08-31", path.name
        assert tags["ilots_periods"] == "2023-06-01/2023-08-31", path.name


def test_manifest_records_the_product_files_the_run_read(demo_run, demo_folder):
    """The manifest lists each product file the run read (each Landsat scene's ST_B10,
    QA_PIXEL, ST_QA, QA_RADSAT and the MTL it parsed; each Sentinel-2 product's bands and
    item JSON), with its size and SHA-256, beside the config's files; the assets it did not read are
    not listed (SR_B4/B5: the NDVI comes from Sentinel-2; ST_CDIST: no distance threshold)."""
    out, _ = demo_run
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    listed = {Path(record["path"]): record for record in inputs}
    assert len(listed) == len(inputs)  # each file once
    products = demo_folder / "products"
    expected = set()
    for folder in sorted(products.glob("L*_L2SP_*")):
        expected |= {
            next(folder.glob(f"*_{band}.TIF"))
            for band in ("ST_B10", "QA_PIXEL", "ST_QA", "QA_RADSAT")
        }
        mtl = [path for path in listed if path.parent == folder.resolve() and "_MTL." in path.name]
        assert len(mtl) == 1, folder.name
    for folder in sorted(products.glob("S2*_L2A")):
        bands = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL")
        expected |= {folder / f"{band}.tif" for band in bands} | {folder / f"{folder.name}.json"}
    expected = {path.resolve() for path in expected}
    read = {path for path in listed if products.resolve() in path.parents}
    assert read - {p for p in read if "_MTL." in p.name} == expected
    for path in (*read, (demo_folder / "zones" / "iris.gpkg").resolve()):
        record = listed[path]
        assert record["kind"] == "file" and record["size"] == path.stat().st_size, path
        assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), path


def test_each_input_file_is_hashed_once(demo_folder, tmp_path, monkeypatch):
    """The digests taken while the pixels are read are the final manifest's: no input is
    read again to hash it. The report (given an early manifest) does not wait for them: here
    the hashing of the products waits for the report to start."""
    import collections
    import threading

    import pipelines.outputs.manifest as manifest_module
    import pipelines.run as run_module

    counts = collections.Counter()
    real, report = manifest_module.sha256_file, run_module.build_report
    reported, products_root = threading.Event(), str((demo_folder / "products").resolve())
    waited = []  # whether the report had started when the products' hashing went on

    def counting(path):
        if products_root in str(Path(path).resolve()) and not waited:
            waited.append(reported.wait(30))
        counts[str(Path(path).resolve())] += 1
        return real(path)

    def reporting(*args, **kwargs):
        reported.set()
        return report(*args, **kwargs)

    monkeypatch.setattr(run_module, "sha256_file", counting)
    monkeypatch.setattr(manifest_module, "sha256_file", counting)
    monkeypatch.setattr(run_module, "build_report", reporting)
    run(load_config(demo_folder / "config.yaml"), out=tmp_path / "r")
    products = {p for p in counts if products_root in p}
    assert len(products) == 4 * 5 + 3 * 9  # 4 bands + MTL; 8 bands + item JSON
    assert all(counts[p] == 1 for p in products), {p: n for p, n in counts.items() if n > 1}
    assert waited == [True]


def test_a_failed_run_does_not_wait_for_the_hashes(demo_folder, tmp_path, monkeypatch):
    """A census error (raised before any pixel is read) stops the hashing of the inputs
    after the file being read: they are not all hashed before the error is said."""
    import time

    import pipelines.run as run_module

    hashed = []

    def slow(path):  # 10 files take 5 s: time enough for the error on a loaded machine
        time.sleep(0.5)
        hashed.append(path)
        return "0" * 64

    monkeypatch.setattr(run_module, "sha256_file", slow)
    bad = {"census.filosofi": str(demo_folder / "zones" / "qpv.geojson")}
    with pytest.raises(ConfigError, match=r"census\.filosofi"):
        run(apply_overrides(load_config(demo_folder / "config.yaml"), bad), out=tmp_path / "r")
    assert len(hashed) < 10  # of the 40 product files


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


def _demo_without_first(demo_folder, folder, product, band, damaged=None):
    """The demo's inputs in ``folder`` (links), without its first product matching
    ``product`` (a glob) or, with ``damaged`` ((col, row) of a tile of its file ending in
    ``band``), with a copy of it whose tile is damaged. Returns the config and that file."""
    (folder / "products").mkdir(parents=True)
    shutil.copy(demo_folder / "config.yaml", folder)
    for name in ("zones", "census"):
        (folder / name).symlink_to(demo_folder / name)
    first = sorted((demo_folder / "products").glob(product))[0]
    for other in (demo_folder / "products").iterdir():
        if other != first:
            (folder / "products" / other.name).symlink_to(other)
    (st,) = first.glob(f"*{band}")
    if damaged is None:
        return folder / "config.yaml", st
    shutil.copytree(first, folder / "products" / first.name)
    st = folder / "products" / first.name / st.name
    damage_tile(str(st), *damaged)
    return folder / "config.yaml", st


def _raster(folder, name):
    with rasterio.open(folder / "rasters" / f"{name}.tif") as src:
        return src.read(1), src.transform


#: Damaged band files: (product glob, file suffix, its band, the rasters it changes).
DAMAGED_FILES = {
    "landsat ST_B10": ("LC0*", "_ST_B10.TIF", "lwir11", ("n_clear", "lst_median")),
    "landsat QA_PIXEL": ("LC0*", "_QA_PIXEL.TIF", "qa_pixel", ("n_clear", "lst_median")),
    "sentinel-2 B04": ("S2*", "B04.tif", "red", ("ndvi_median",)),
    "sentinel-2 SCL": ("S2*", "SCL.tif", "scl", ("ndvi_median",)),
}


@pytest.mark.parametrize("case", list(DAMAGED_FILES))
def test_a_damaged_tile_is_left_out_under_on_damaged_skip(demo_run, demo_folder, tmp_path, case):
    """One tile of a band file damaged: with inputs.on_damaged: skip the run completes,
    warns once naming the file (code damaged_input in the manifest), and the parts of the
    chunks reading the tile that meet it count that scene out (its fill value is masked as
    clouds are): there the run equals one without the product (n_clear one less where the
    scene was clear), elsewhere the demo's run. With stop, the run stops with the file's
    ReadError."""
    product, suffix, band, names = DAMAGED_FILES[case]
    chunk = {"scheduler.chunk_px": 512}
    config, st = _demo_without_first(demo_folder, tmp_path / "damaged", product, suffix, (1, 1))
    with pytest.raises(ReadError, match=f"^{st}: the file is corrupt"):
        run(apply_overrides(load_config(config), chunk), out=tmp_path / "stop")
    skip = apply_overrides(load_config(config), {**chunk, "inputs.on_damaged": "skip"})
    run(skip, out=tmp_path / "skip")
    manifest = json.loads((tmp_path / "skip" / "manifest.json").read_text())
    said = [(w, c) for w, c in zip(manifest["warnings"], manifest["warning_codes"], strict=True)
            if c == "damaged_input"]  # fmt: skip
    assert len(said) == 1 and said[0][0].startswith(f"{st}: the file is corrupt, band {band} ")
    without, _st = _demo_without_first(demo_folder, tmp_path / "without", product, suffix)
    # Not into the inputs' folder: its zones/ links to the demo's, which the run would write.
    run(apply_overrides(load_config(without), chunk), out=tmp_path / "without_run")

    # The grid pixels inside the damaged tile (1, 1) of the file, its edge left out: the
    # scene is out there. Elsewhere, in the parts of the chunks reading the tile that meet
    # it, it may be out too, and in the rest it is in.
    with rasterio.open(st) as src:  # the centres of its first and last pixels
        (rows, cols), (height, width) = src.block_shapes[0], src.shape
        last_row, last_col = min(2 * rows, height) - 1, min(2 * cols, width) - 1
        xs, ys = rasterio.transform.xy(src.transform, [rows, last_row], [cols, last_col])
    clean, grid = _raster(demo_run[0], names[0])
    (r0, r1), (c0, c1) = (sorted(v) for v in rasterio.transform.rowcol(grid, xs, ys))
    tile = np.zeros(clean.shape, bool)
    tile[max(r0 + 1, 0) : r1, max(c0 + 1, 0) : c1] = True
    assert 0 < tile.sum() < tile.size, (r0, r1, c0, c1, clean.shape)
    for name in names:
        skipped, with_it = _raster(tmp_path / "skip", name)[0], _raster(demo_run[0], name)[0]
        without_it = _raster(tmp_path / "without_run", name)[0]
        np.testing.assert_array_equal(skipped[tile], without_it[tile])
        assert (skipped[tile] != with_it[tile]).any()
        same = lambda a, b: (a == b) | (np.isnan(a) & np.isnan(b))  # noqa: E731
        assert (same(skipped, with_it) | same(skipped, without_it)).all()
    if "n_clear" in names:
        dropped = clean.astype(int) - _raster(tmp_path / "skip", "n_clear")[0]
        assert (dropped[tile] == 1).any() and set(np.unique(dropped)) <= {0, 1}
        # Read again by quarters, the chunk loses about the tile, not the whole 512² chunk.
        assert (dropped == 1).sum() < 3 * tile.sum(), ((dropped == 1).sum(), tile.sum())


def _planted_offset(share):
    """The LST offset the generator planted over an IRIS's land (K): its classes' offsets
    weighted by their shares, water (no LST) left out."""
    land = 1.0 - share[1]
    return sum(share[c] * CLASSES[c][-1] for c in CLASSES if c != 1) / land


def test_run_recovers_planted_heat_island(demo_run):
    _, result = demo_run
    iris = result.zones["iris"]
    shares = _planted_shares(iris)
    dense = [code for code, s in shares.items() if s[4] >= 0.9]  # dense built, +7 K planted
    # suburban built (+3 K) with its gardens (low vegetation, 0 K), no dense built
    suburb = [code for code, s in shares.items() if s[5] >= 0.5 and s[4] < 0.05]
    assert len(dense) >= 4 and len(suburb) >= 4
    table = iris.set_index("code_iris")
    planted = {code: _planted_offset(shares[code]) for code in dense + suburb}
    want = np.mean([planted[c] for c in dense]) - np.mean([planted[c] for c in suburb])
    hot, edge = table.loc[dense, "lst_mean_k"].mean(), table.loc[suburb, "lst_mean_k"].mean()
    assert abs((hot - edge) - want) < 1.0, (hot, edge, want)
    # The anomaly is relative to the rural ring (low vegetation, fields, woods; no built).
    assert 5.5 < table.loc[dense, "lst_anomaly_mean_k"].mean() < 8.5
    for code in suburb:
        assert abs(table.loc[code, "lst_anomaly_mean_k"] - planted[code]) < 0.75, code
    assert table.loc[dense, "ndvi_mean"].mean() < table.loc[suburb, "ndvi_mean"].mean()
    assert table.loc[dense, "lc_built_frac"].mean() > 0.8
    # The suburbs' roofs are built land, their gardens not (pixels mixing roof and garden at
    # the 90 m blocks' edges go either way: about 0.15 of the planted roofs' share).
    built = np.array([shares[c][4] + shares[c][5] for c in suburb])
    assert np.abs(table.loc[suburb, "lc_built_frac"].to_numpy() - built).max() < 0.2
    assert table["in_qpv"].any()
    assert (table["valid_frac"] > 0.3).all()


def test_the_report_says_which_run_time_it_gives(demo_run, tmp_path):
    """Built in the run, before its COGs are done, the report gives the time up to it;
    built again (ilots report), the whole run's, as manifest.json."""
    out, _ = demo_run

    def text(folder: Path) -> str:
        return html.unescape((folder / "report.html").read_text()).replace("\u00a0", " ")

    assert "Durée du traitement jusqu'à ce rapport : " in text(out)
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    build_report(copy)
    seconds = json.loads((copy / "manifest.json").read_text())["duration_s"]
    rebuilt = text(copy)
    assert f"Durée du traitement : {seconds:.1f} s.".replace(".", ",", 1) in rebuilt


def test_each_zone_layers_metadata_names_the_sources_of_its_columns(demo_run):
    out, _ = demo_run
    with closing(sqlite3.connect(out / "zones.gpkg")) as con:
        rows = dict(
            con.execute(
                "SELECT r.table_name, m.metadata FROM gpkg_metadata_reference r "
                "JOIN gpkg_metadata m ON m.id = r.md_file_id"
            ).fetchall()
        )
    abstracts = {name: ET.fromstring(doc.split("\n", 1)[1]).find("abstract").text
                 for name, doc in rows.items()}  # fmt: skip
    # The QPV layer has no IRIS, income nor population column: only its own source's.
    assert "ANCT" in abstracts["qpv"] and "Landsat" in abstracts["qpv"]
    assert not any(word in abstracts["qpv"] for word in ("IRIS", "Filosofi", "recensement"))
    assert all(word in abstracts["iris"] for word in ("IRIS", "ANCT", "Filosofi"))


def test_valid_frac_is_of_the_zones_land(demo_run, demo_folder):
    """Water has no LST: an IRIS along the river is not 'cloudy'. Its valid_frac is the
    share of its land (area less land-cover water) with a composite LST on that land, here
    counted by hand over the pixel centres of the run's lst_median.tif and landcover.tif.
    Pixels the Landsat QA calls land and the land cover water count in neither term."""
    folder, result = demo_run
    with rasterio.open(folder / "rasters" / "lst_median.tif") as src:
        lst, transform, crs = src.read(1), src.transform, src.crs
    with rasterio.open(folder / "rasters" / "landcover.tif") as src:
        classes = src.read(1)
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs(crs)
    table = result.zones["iris"].set_index("code_iris")
    riverside = 0
    for code, geometry in zip(iris["CODE_IRIS"], iris.geometry, strict=True):
        inside = rasterio.features.geometry_mask([geometry], lst.shape, transform, invert=True)
        land = inside & (classes != 1)
        want = np.isfinite(lst[land]).sum() / land.sum()
        assert table.loc[code, "valid_frac"] == pytest.approx(want, abs=0.03), code
        if (classes[inside] == 1).mean() > 0.3:
            riverside += 1
            # Was the land's share of the IRIS (under 0.7 here); what is lost now is clouds:
            # land clear on fewer than composite.min_clear dates, up to ~11 % of an IRIS.
            assert table.loc[code, "valid_frac"] > 0.85
    assert riverside >= 4


def test_bounded_outcomes_get_the_erreygers_index(demo_run):
    # NDVI lies in [-1, 1]: E = 4·μ/(b − a)·C (Erreygers 2009), μ the population-weighted
    # mean NDVI of the IRIS with income, here from the zone table. Temperatures have none.
    folder, result = demo_run
    report = json.loads((folder / "inequality.json").read_text())
    ndvi = report["other_outcomes"]["ndvi_mean"]
    table = result.zones["iris"]
    used = table[["ndvi_mean", "disp_med", "population"]].dropna()
    mu = np.average(used["ndvi_mean"], weights=used["population"])
    c = ndvi["concentration_index"]["value"]
    assert ndvi["erreygers_index"]["bounds"] == [-1.0, 1.0]
    assert ndvi["erreygers_index"]["value"] == pytest.approx(4 * mu / 2.0 * c, rel=1e-9)
    assert report["erreygers_index"] is None  # lst_anomaly_mean_k: no bounds


@pytest.mark.parametrize("answer", [b"", b"SSH-2.0-OpenSSH_9.6\r\n"])
def test_a_scheduler_address_that_is_not_a_dask_scheduler_is_one_line(
    demo_folder, tmp_path, monkeypatch, answer
):
    # Something else listens there: silent as a web server awaiting its request (Client
    # hung for ever), or a banner (a traceback of a 2.8 EiB allocation).
    import socket
    import threading

    import pipelines.scheduler

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if answer:
                conn.sendall(answer * 64)

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setattr(pipelines.scheduler, "SCHEDULER_TIMEOUT_S", 1)
    args = ["run", str(demo_folder / "config.yaml"), "--out", str(tmp_path / "r"),
            "--scheduler", f"tcp://127.0.0.1:{port}"]  # fmt: skip
    try:
        result = CliRunner().invoke(main, args)
    finally:
        server.close()
        for conn in held:
            conn.close()
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert f"tcp://127.0.0.1:{port}" in lines[0] and "8787 is its dashboard" in lines[0]


def test_a_run_into_a_folder_another_run_holds_stops_at_once(demo_folder, tmp_path):
    # Two runs into one folder mixed their checkpoints and outputs: the second stops.
    from tests.holders import held_elsewhere

    folder = tmp_path / "run"
    with held_elsewhere(folder):
        with pytest.raises(OutputError, match="is in use by another ilots command"):
            run(load_config(demo_folder / "config.yaml"), out=folder)
        assert {p.name for p in folder.iterdir()} == {".ilots.lock"}  # nothing written


def test_dry_run_says_what_the_run_would_find_in_its_folder(demo_run, demo_folder, tmp_path):
    out, _ = demo_run
    config = load_config(demo_folder / "config.yaml")
    for overwrite, said in [
        (False, "holds a previous run: the run would stop before reading any pixel"),
        (True, "holds a previous run, which this run replaces"),
    ]:
        options = {"outputs.folder": str(out), "outputs.overwrite": overwrite}
        assert f"run folder: {out}" in plan(apply_overrides(config, options)).summary()
        assert said in plan(apply_overrides(config, options)).summary()
    args = ["run", str(demo_folder / "config.yaml"), "--dry-run", "--out", str(tmp_path / "new")]
    result = CliRunner().invoke(main, args)  # --out is the folder planned for
    assert f"run folder: {tmp_path / 'new'}\n" in result.output


def test_dry_run_reads_no_pixels(demo_folder):
    config = load_config(demo_folder / "config.yaml")
    with raise_if_dask_computes():
        summary = plan(config)
    assert len(summary.scenes["landsat"]) == len(SCENES)
    assert len(summary.scenes["sentinel2"]) == len(S2_PRODUCTS)
    assert summary.grid["resolution"] == 30
    assert summary.memory_bytes > 0
    assert len(summary.tiles) == 1 and "processing tiles: 1" in summary.summary()
    result = CliRunner().invoke(main, ["run", str(demo_folder / "config.yaml"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"landsat: {len(SCENES)} scenes" in result.output
    assert "expected peak memory" in result.output
    # The area's extent, as the manifest records it: the union of 8 x 8 IRIS of 550 m is
    # 4.4 km square, 19.36 km² (by hand); its bounds are those of the IRIS file.
    [extent] = [line for line in result.output.splitlines() if line.startswith("  extent: ")]
    assert extent.startswith("  extent: 19.4 km² (on the WGS 84 ellipsoid), longitudes ")
    west, east, south, north = map(float, re.findall(r"-?\d+\.\d{3}", extent.split("),")[1]))
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs("EPSG:4326")
    assert [west, south, east, north] == pytest.approx(list(iris.total_bounds), abs=1e-3)


def test_dry_run_warns_when_the_scenes_cannot_reach_min_clear(demo_folder):
    # Known before any pixel: a pixel cannot be clear on more dates than there are scenes.
    config = load_config(demo_folder / "config.yaml")
    n = len(SCENES)  # the demo's Landsat scenes, one per overpass

    def said(min_clear):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plan(apply_overrides(config, {"composite.min_clear": min_clear}))
        return [str(w.message) for w in caught if getattr(w.message, "code", "") == "no_clear_lst"]

    assert said(n) == []
    assert said(n + 1) == [
        f"the periods hold {n} Landsat scene(s), fewer than composite.min_clear ({n + 1}) "
        "clear observations a pixel needs, so every composite LST is empty; add scenes "
        "(inputs, periods) or lower composite.min_clear"
    ]


class _Stopped(Exception):
    """Stops a run at its checkpoint fingerprint, before any pixel."""


def test_dry_run_plans_the_tiles_of_an_interrupted_run(demo_folder, tmp_path, monkeypatch):
    """An interrupted auto run's checkpoints: the dry run plans (and says) their tile size,
    as the run takes it, reading no pixel and leaving the checkpoints as they are."""
    out = tmp_path / "run"
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 20, "scheduler.chunk_px": 512, "outputs.folder": str(out)},
    )
    assert config.scheduler.tile_size_px == "auto"
    seen = {}

    def stop(config, geobox, inputs, tile_size_px):
        seen.update(fingerprint=run_fingerprint(config, geobox, inputs, tile_size_px))
        seen.update(geobox=geobox)
        raise _Stopped

    monkeypatch.setattr(run_module, "run_fingerprint", stop)
    with pytest.raises(_Stopped):
        run(config, out=out)  # the run's own fingerprint, which its checkpoints are keyed by
    assert "resumes an interrupted run" not in plan(config).summary()
    tiles = run_tiles.tiles_of(seen["geobox"], 512)  # auto's least: never above the fresh size
    height, width = seen["geobox"].shape.yx
    assert len(tiles) == -(-height // 512) * -(-width // 512) > 2
    store = run_tiles.checkpoints(out, seen["fingerprint"], 512)
    for tile in tiles[:2]:
        store.save("inputs", tile, None)
    before = sorted((p.name, p.read_bytes()) for p in (out / ".checkpoints").iterdir())
    with raise_if_dask_computes():
        resumed = plan(config)
    assert [t.name for t in resumed.tiles] == [t.name for t in tiles]
    assert f"resumes an interrupted run: 2 of {len(tiles)} tiles done" in resumed.summary()
    assert sorted((p.name, p.read_bytes()) for p in (out / ".checkpoints").iterdir()) == before
    # Checkpoints of another run (another grid): the fresh plan.
    other = plan(apply_overrides(config, {"grid.resolution": 30}))
    assert "resumes an interrupted run" not in other.summary()


def test_dry_run_reads_the_census_tables_as_the_run(demo_folder, tmp_path):
    """--dry-run read no census table: a '|'-separated Filosofi file passed it, and stopped
    the run only. It now stops the dry run, with the config's name and key, and the plan
    says what the tables hold for the area (counted on the raw files)."""
    config = load_config(demo_folder / "config.yaml")
    with raise_if_dask_computes():
        summary = plan(config).summary()
    rows = {
        name: len(pd.read_csv(demo_folder / "census" / f"{name}.csv", sep=";", dtype=str))
        for name in ("filosofi", "population")
    }
    assert (
        f"census tables: filosofi filosofi.csv ({rows['filosofi']} rows of the area's "
        f"communes, 2021); population population.csv ({rows['population']} rows of the "
        "area's communes, 2021)"
    ) in summary.splitlines()
    text = (demo_folder / "census" / "filosofi.csv").read_text()
    (tmp_path / "filo.csv").write_text(text.replace(";", "|"))
    piped = apply_overrides(config, {"census.filosofi": str(tmp_path / "filo.csv")})
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        plan(piped, source="city.yaml")
    assert str(caught.value).startswith(
        f"city.yaml: census.filosofi: the Filosofi table {tmp_path / 'filo.csv'}: line 1 names "
        "the key column 'IRIS' but separates the columns with '|'"
    )
    result = CliRunner().invoke(main, ["run", "--dry-run", str(demo_folder / "config.yaml")])
    assert result.exit_code == 0 and "census tables: filosofi filosofi.csv" in result.output


def test_dry_run_reads_the_zone_layers_as_the_run(demo_folder, tmp_path):
    """A QPV file of Lambert-93 metres labelled EPSG:4326 passed --dry-run (which read no QPV)
    and gave a run with an empty QPV layer: the dry run now stops on it."""
    qpv = gpd.read_file(demo_folder / "zones" / "qpv.geojson").to_crs("EPSG:2154")
    qpv.set_crs("EPSG:4326", allow_override=True).to_file(tmp_path / "qpv.gpkg")
    config = apply_overrides(load_config(demo_folder / "config.yaml"),
                             {"zones.qpv.path": str(tmp_path / "qpv.gpkg")})  # fmt: skip
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        plan(config, source="city.yaml")
    assert str(caught.value).startswith(
        f"city.yaml: zones.qpv.path: {tmp_path / 'qpv.gpkg'} says EPSG:4326 (degrees) but its "
        "coordinates reach ("
    )


def test_dry_run_refuses_a_config_without_iris(demo_folder, tmp_path):
    """A config without ``zones.iris`` (the model allows it) stops --dry-run as it stops the
    run, with the key, instead of planning a run that would fail."""
    config = load_config(demo_folder / "config.yaml")
    bare = config.model_copy(update={"zones": config.zones.model_copy(update={"iris": None})})
    with pytest.raises(ConfigError, match=r"^zones\.iris: the run needs an IRIS layer"):
        plan(bare)


def test_dry_run_lists_tiles_and_their_scenes(demo_folder):
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"scheduler.tile_size_px": 512, "scheduler.chunk_px": 512, "grid.resolution": 20},
    )
    with raise_if_dask_computes():
        tiled = plan(config)
    whole = plan(apply_overrides(config, {"scheduler.tile_size_px": 4096}))
    grid = tiled.grid
    n_rows, n_cols = -(-grid["height"] // 512), -(-grid["width"] // 512)
    assert len(tiled.tiles) == n_rows * n_cols > 1 and len(whole.tiles) == 1
    assert sum(t.shape[0] * t.shape[1] for t in tiled.tiles) == grid["height"] * grid["width"]
    # Every demo scene covers the whole city and its ring.
    for tile in tiled.tiles:
        assert tile.scenes == {"landsat": len(SCENES), "sentinel2": len(S2_PRODUCTS)}
    assert tiled.memory_bytes < whole.memory_bytes
    text = tiled.summary()
    assert f"processing tiles: {len(tiled.tiles)} of up to 512 x 512 pixels" in text
    assert f"tile_000_000 (512 x 512): landsat {len(SCENES)}" in text
    assert "checkpoints on disk: up to" in text and tiled.checkpoint_bytes > 0
    assert "checkpoints on disk" not in whole.summary() and whole.checkpoint_bytes == 0
    # The candidates left out are listed with why (June and July only: August's scene).
    june_july = plan(apply_overrides(config, {"periods.months": [6, 7]})).summary()
    [august] = [s for s in SCENES if s.date.startswith("2023-08")]
    [line] = [line for line in june_july.splitlines() if august.date in line]
    assert line.startswith("  L") and f"acquired {august.date}, outside the periods" in line
    assert "left out: 2 candidates" in june_july  # and the August Sentinel-2 product


def test_grid_info_names_the_crs_by_its_epsg_code():
    """The manifest and the checkpoint fingerprint say EPSG:32631 even when the process made
    that CRS from its WKT first (odc-geo then prints the WKT, as it does here unless an
    earlier test made it from "EPSG:32631")."""
    from odc.geo.geobox import GeoBox
    from pyproj import CRS

    from pipelines.run_plan import grid_info

    wkt = CRS.from_epsg(32631).to_wkt()
    assert grid_info(GeoBox.from_bbox((0, 0, 100, 100), wkt, resolution=10))["crs"] == "EPSG:32631"
    local = CRS.from_proj4("+proj=tmerc +lon_0=3 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80")
    custom = GeoBox.from_bbox((0, 0, 100, 100), local, resolution=10)
    assert grid_info(custom)["crs"] == str(custom.crs)  # no EPSG code: its own text


def test_cli_run_synchronous(demo_folder, tmp_path):
    out = tmp_path / "run"
    args = ["run", str(demo_folder / "config.yaml"), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--scheduler", "synchronous"])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    assert "run folder" in result.stdout
    # The run's warnings go to stderr, as --dry-run's and those said as they happen.
    warned = json.loads((out / "manifest.json").read_text())["warnings"]
    assert warned and "warning:" not in result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("warning: ")] == [
        f"warning: {message}" for message in warned
    ]


def test_deprecated_keys_are_in_the_manifest_and_said_once(own_demo_folder, tmp_path):
    """A config's deprecated pixel key, said as the config is read (before the run records
    its warnings), is among the manifest's warnings with its kind, and not said again."""
    data = yaml.safe_load((own_demo_folder / "config.yaml").read_text())
    data["mask"]["dilate_px"] = 0  # the default dilate_m: 0 m, in deprecated pixels
    data["outputs"]["report"] = False
    (own_demo_folder / "deprecated.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    args = ["run", str(own_demo_folder / "deprecated.yaml"), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--scheduler", "synchronous"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    kinds = dict(zip(manifest["warnings"], manifest["warning_codes"], strict=True))
    [said] = [w for w in kinds if w.startswith("mask.dilate_px is deprecated")]
    assert kinds[said] == "deprecated_key"
    assert "write mask.dilate_m: 0 instead" in said
    assert result.stderr.splitlines().count(f"warning: {said}") == 1, result.stderr


def test_unknown_key_is_one_line_error(own_demo_folder, tmp_path):
    bad = own_demo_folder / "bad.yaml"
    bad.write_text((own_demo_folder / "config.yaml").read_text() + "\nbogus_key: 1\n")
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "bogus_key" in lines[0], result.output


def test_library_chatter_is_not_a_run_warning(demo_folder, tmp_path, monkeypatch):
    """rasterio's NotGeoreferencedWarning about its own in-memory datasets (which escapes its
    filters in threaded runs) is not listed among the run's warnings; ilots' own are."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    import pipelines.run as run_module
    from tiles.errors import IlotsWarning

    real = run_module.heat_island_summary

    def noisy(*args, **kwargs):
        warnings.warn("Dataset has no geotransform, gcps, or rpcs.", NotGeoreferencedWarning)
        warnings.warn("Sending large graph of size 23.56 MiB.\nThis may cause some slowdown.")
        warnings.warn("a warning of ilots", IlotsWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "heat_island_summary", noisy)
    result = run(load_config(demo_folder / "config.yaml"), out=tmp_path / "r")
    assert "a warning of ilots" in result.warnings
    assert not any("geotransform" in w or "large graph" in w for w in result.warnings)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert not any("geotransform" in w or "large graph" in w for w in manifest["warnings"])


def test_full_disk_is_one_line_error(demo_folder, tmp_path, monkeypatch):
    """No space left while writing (checkpoints, rasters): one line that says what to do."""
    import errno

    import pipelines.run as run_module

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "x.npy"))

    monkeypatch.setattr(run_module, "_run_to_folder", full)
    args = ["run", str(demo_folder / "config.yaml"), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "No space left on device writing" in lines[0], result.output
    assert "x.npy" in lines[0] and "resumes" in lines[0]


def test_bad_scheduler_is_rejected(demo_folder):
    result = CliRunner().invoke(
        main, ["run", str(demo_folder / "config.yaml"), "--scheduler", "gpu"]
    )
    assert result.exit_code != 0
    assert "--scheduler" in result.output
    # --workers starts a LocalCluster, which silently replaced the scheduler asked for.
    both = ["run", str(demo_folder / "config.yaml"), "--scheduler", "processes", "--workers", "2"]
    result = CliRunner().invoke(main, both)
    assert result.exit_code == 2 and "replaces --scheduler; give one of them" in result.output


def test_a_workers_cluster_is_quiet_unless_asked(monkeypatch):
    # distributed sets its loggers to INFO when imported: 40 lines of a cluster's start and
    # stop on every --workers run. They follow the run's level now (-v shows them).
    import logging

    from pipelines.scheduler import _quiet_distributed

    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.WARNING)
    logging.getLogger("distributed.scheduler").setLevel(logging.INFO)
    _quiet_distributed()
    assert not logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO)
    monkeypatch.setattr(root, "level", logging.DEBUG)  # ilots -vv
    _quiet_distributed()
    assert logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO)
    assert not logging.getLogger("distributed.scheduler").isEnabledFor(logging.DEBUG)


def test_errors_about_the_inputs_name_the_config_file(own_demo_folder, tmp_path):
    """``ilots run`` and ``--dry-run``: a period without scenes is said of the config file
    (it was said of "config")."""
    data = yaml.safe_load((own_demo_folder / "config.yaml").read_text())
    data["periods"]["years"] = [2031]
    path = own_demo_folder / "future.yaml"
    path.write_text(yaml.safe_dump(data))
    for extra in (["--dry-run"], ["--out", str(tmp_path / "r")]):
        result = CliRunner().invoke(main, ["run", str(path), *extra])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines[-1].startswith(f"Error: ConfigError: {path}: inputs.landsat: "), lines[-1]
        # ... and gives the products' dates (the demo's scenes: June to August 2023).
        first, last = min(s.date for s in SCENES), max(s.date for s in SCENES)
        assert f"outside the periods, acquired {first} to {last}" in lines[-1], lines[-1]


def test_the_no_lst_warning_names_the_settings_that_can_cause_it(demo_folder):
    """A run with no IRIS LST exits 0 with a warning: it names the coarse grid and the
    scene cloud filter when they are set, and says it plainly when the periods hold fewer
    scenes than composite.min_clear."""
    from pipelines.run import no_clear_note

    config = load_config(demo_folder / "config.yaml")
    plain = no_clear_note(config, 4)
    assert "grid.resolution" not in plain and "max_cloud_cover" not in plain
    # The ST filters (on by default): humid scenes' ST_QA can exceed 2 K everywhere.
    assert "mask.st_qa_max_k drops pixels whose ST_QA uncertainty exceeds 2 K" in plain
    assert "cdist_min_km" not in plain  # null in the demo config
    near = no_clear_note(apply_overrides(config, {"mask.cdist_min_km": 1.0}), 4)
    assert "mask.cdist_min_km drops pixels within 1 km of a cloud" in near
    unfiltered = config.model_copy(  # (apply_overrides skips None values)
        update={"mask": config.mask.model_copy(update={"st_qa_max_k": None})}
    )
    assert "st_qa_max_k" not in no_clear_note(unfiltered, 4)
    coarse = apply_overrides(config, {"grid.resolution": 300, "inputs.max_cloud_cover": 0.7})
    note = no_clear_note(coarse, 4, 2)
    assert "on a 300 m grid a pixel is clear only where every 30 m Landsat pixel" in note
    assert "inputs.max_cloud_cover (0.7, in percent) left out 2 cloudier scene(s)" in note
    assert "max_cloud_cover" not in no_clear_note(coarse, 4)  # it left none out
    nearest = apply_overrides(coarse, {"grid.resampling": "nearest"})  # one QA pixel each
    assert "grid pixel is clear only" not in no_clear_note(nearest, 4)
    assert "a pixel is clear only" not in no_clear_note(nearest, 4)
    few = no_clear_note(config, 2)  # min_clear: 3
    assert few.startswith("no IRIS has a composite LST: the periods hold 2 Landsat scene(s), "
                          "fewer than composite.min_clear (3)")  # fmt: skip
    assert few.code == note.code == "no_clear_lst"  # the kind the report names


def test_a_landsat_folder_of_sentinel2_products_says_so(demo_folder, tmp_path):
    """inputs.landsat pointing at Sentinel-2 products only: the error says they are of
    another sensor (it said "no product found" after a warning saying otherwise)."""
    only_s2 = tmp_path / "s2"
    only_s2.mkdir()
    for product in (demo_folder / "products").glob("S2*"):
        (only_s2 / product.name).symlink_to(product)
    config = apply_overrides(load_config(demo_folder / "config.yaml"),
                             {"inputs.landsat": [{"path": str(only_s2)}]})  # fmt: skip
    with pytest.warns(Warning), pytest.raises(ConfigError) as caught:
        plan(config)
    assert (
        f"no Landsat product within the periods and area of interest ({len(S2_PRODUCTS)} "
        "of another sensor)" in str(caught.value)
    )


def test_a_scheduler_address_nobody_answers_is_one_line(demo_folder, tmp_path, monkeypatch):
    import socket

    import pipelines.scheduler

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(pipelines.scheduler, "SCHEDULER_TIMEOUT_S", 1)
    args = ["run", str(demo_folder / "config.yaml"), "--out", str(tmp_path / "r"),
            "--scheduler", f"tcp://127.0.0.1:{port}"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert f"no Dask scheduler answers at tcp://127.0.0.1:{port}" in lines[0]
    assert "--scheduler threads" in lines[0]


def test_an_output_folder_that_cannot_be_written_stops_before_any_read(demo_folder, tmp_path):
    """``--out`` under a file (or without permission): one line, before any pixel is read
    (it used to be a traceback once the whole run was computed)."""
    (tmp_path / "a_file").write_text("not a folder")
    config = load_config(demo_folder / "config.yaml")
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        run(config, out=tmp_path / "a_file" / "out")
    assert str(caught.value).startswith("outputs.folder (--out): cannot write in ")
    assert "\n" not in str(caught.value)
    # A folder that can be made is made, tried and removed before the run goes on.
    with raise_if_dask_computes(), pytest.raises(ConfigError, match=r"census\.filosofi"):
        bad = {"census.filosofi": str(tmp_path / "a_file")}
        run(apply_overrides(config, bad), out=tmp_path / "new" / "out")
    assert not (tmp_path / "new").exists()


def test_an_income_column_the_table_lacks_says_what_to_write(own_demo_folder, tmp_path):
    """``income_column: DISP_MOY21`` (a mean income Filosofi does not publish by IRIS): the
    run stops before any pixel, naming the key, the suffix rule and the columns there are
    (``DISP_MED21``, the file's own header, is read as ``disp_med``: test_run_income)."""
    overrides = {"census.income_column": "DISP_MOY21", "outputs.report": False}
    config = apply_overrides(load_config(own_demo_folder / "config.yaml"), overrides)
    with pytest.raises(ConfigError) as err:
        run(config, out=tmp_path / "r")
    message = str(err.value)
    assert "census.income_column: 'DISP_MOY21' is no column of the IRIS table" in message
    assert "(DISP_MED21 becomes disp_med)" in message
    assert "income columns found: disp_med" in message
    # No IRIS in a QPV (a threshold above every IRIS's share): said, and the statistics
    # that do not compare QPV with the rest are there.
    strict = {"zones.qpv.iris_share_threshold": 0.95, "outputs.report": False}
    result = run(apply_overrides(load_config(own_demo_folder / "config.yaml"), strict),
                 out=tmp_path / "no_qpv")  # fmt: skip
    assert any(w.startswith("zones.qpv: no IRIS has 95% or more") for w in result.warnings)
    assert result.inequality is not None and result.inequality.group_difference is None
    assert result.inequality.generalized_concentration_index is not None
    # Without a population table, weighted statistics (the default) are unweighted: said.
    data = yaml.safe_load((own_demo_folder / "config.yaml").read_text())
    del data["census"]["population"]
    (own_demo_folder / "no_population.yaml").write_text(yaml.safe_dump(data))
    config = apply_overrides(
        load_config(own_demo_folder / "no_population.yaml"), {"outputs.report": False}
    )
    result = run(config, out=tmp_path / "unweighted")
    assert result.inequality is not None
    assert any(w.startswith("inequality.population_weighted: ") for w in result.warnings)


def test_a_national_iris_file_gives_the_communes_of_the_area(demo_run, demo_folder, tmp_path):
    """IGN publishes the IRIS of all France in one file, where every rural commune is an IRIS
    too. Given the demo's IRIS among neighbouring communes that tile the countryside (and
    one far away), with aoi.communes the run keeps the town's 64 IRIS: the same urban
    footprint, rural ring, tables and SUHII as the demo's own file (before, every IRIS read
    was a zone and part of the "urban" footprint, which then covered the countryside)."""
    town = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    west, south, east, north = town.to_crs(32631).total_bounds
    city = make_city()
    x0, y0 = city.origin[0], city.origin[1] - city.landcover.shape[0] * city.resolution
    x1, y1 = x0 + city.landcover.shape[1] * city.resolution, city.origin[1]
    around = [shapely.box(x0, y0, west, y1), shapely.box(east, y0, x1, y1),
              shapely.box(west, y0, east, south), shapely.box(west, north, east, y1)]  # fmt: skip
    rural = gpd.GeoDataFrame(
        {"CODE_IRIS": [f"3199900{k:02d}" for k in range(4)], "NOM_IRIS": ["rural"] * 4,
         "INSEE_COM": ["31999"] * 4, "NOM_COM": ["Voisine"] * 4, "TYP_IRIS": ["Z"] * 4},
        geometry=around, crs=32631,
    ).to_crs(town.crs)  # fmt: skip
    far = rural.iloc[[0]].assign(CODE_IRIS="751010101", INSEE_COM="75101")
    far = far.set_geometry([shapely.box(651_000, 6_861_000, 652_000, 6_862_000)], crs=2154)
    national = pd.concat([town, rural, far.to_crs(town.crs)], ignore_index=True)
    national.to_file(tmp_path / "france_iris.gpkg", layer="iris", driver="GPKG")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"zones.iris.path": str(tmp_path / "france_iris.gpkg"), "aoi.communes": ["31555"],
         "outputs.report": False},
    )  # fmt: skip
    result = run(config, out=tmp_path / "run")
    _, expected = demo_run
    got = result.zones["iris"].drop(columns="geometry").reset_index(drop=True)
    want = expected.zones["iris"].drop(columns="geometry").reset_index(drop=True)
    assert len(got) == IRIS_GRID**2 and set(got["code_iris"]) == set(want["code_iris"])
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    assert result.heat_island["composite"] == expected.heat_island["composite"]


def test_census_tables_of_different_years_are_said(demo_folder, tmp_path):
    """The year in each table's column names (``DISP_MED21``, ``P19_POP``) is recorded, and
    tables of different years are said: IRIS redrawn in between do not match."""
    from pipelines.run_census import census_years_note, read_census_tables

    text = (demo_folder / "census" / "population.csv").read_text()
    (tmp_path / "pop2019.csv").write_text(text.replace("P21_POP", "P19_POP"))
    config = apply_overrides(load_config(demo_folder / "config.yaml"),
                             {"census.population": str(tmp_path / "pop2019.csv")})  # fmt: skip
    tables, sources = read_census_tables(config)
    assert [(len(t), outside) for t, outside in tables] == [(IRIS_GRID**2, ())] * 2
    assert sources["filosofi"]["year"] == 2021 and sources["population"]["year"] == 2019
    assert sources["population"]["file"] == "pop2019.csv"
    note = census_years_note(sources)
    assert note.startswith("census: the Filosofi income is of 2021 and the population of 2019")
    assert census_years_note({**sources, "population": {"year": 2021}}) is None


def test_a_qpv_that_no_counted_iris_covers_is_said(demo_folder):
    """Three IRIS, two QPV: QP075001 covers 80 % of the first IRIS (counted in QPV),
    QP075002 40 % of the third (not counted): the run says QP075002 is left out of the gap,
    with the share of its IRIS in QPV that the threshold is compared with."""
    from pipelines.census.overlay import iris_qpv_overlaps
    from pipelines.run_census import qpv_without_iris_note
    from tests.pipelines.census.helpers import X0, Y0, layer

    config = load_config(demo_folder / "config.yaml")  # threshold 0.5, zones.gpkg written
    iris = layer({"code_iris": ["751010101", "751010102", "751010103"]})  # x 0..300 m
    overlay = pd.DataFrame({"code_iris": iris["code_iris"], "in_qpv": [True, False, False]})
    boxes = [shapely.box(X0, Y0, X0 + 80, Y0 + 100), shapely.box(X0 + 260, Y0, X0 + 300, Y0 + 100)]
    qpv = layer({"code_qp": ["QP075001", "QP075002"], "nom_qp": ["Un", "Deux"]}, geometry=boxes)
    overlaps = iris_qpv_overlaps(iris, qpv)
    note = qpv_without_iris_note(config, overlaps, overlay, qpv)
    assert note == (
        "zones.qpv.iris_share_threshold: 1 QPV is left out of the QPV gap, no IRIS with 50% or "
        "more of its area in QPV covering most of it: QP075002 (Deux, its IRIS at most 40% in "
        "QPV); its IRIS count as the rest, and the qpv layer of zones.gpkg gives its own exact "
        "statistics; lower zones.qpv.iris_share_threshold to count an IRIS in QPV from its share"
    )
    assert note.code == "qpv_without_iris"
    # Seven 5 m strips of the third IRIS, unnamed: five named, the others counted; each with
    # the third IRIS's share in all of them, 7 x 5 % (the threshold it is counted from).
    strips = [shapely.box(X0 + 200 + 10 * k, Y0, X0 + 205 + 10 * k, Y0 + 100) for k in range(7)]
    codes = ["QP075001", *(f"QP07510{k}" for k in range(1, 8))]
    strip_layer = layer({"code_qp": codes}, geometry=[boxes[0], *strips])
    note = qpv_without_iris_note(config, iris_qpv_overlaps(iris, strip_layer), overlay, strip_layer)
    assert note is not None and note.startswith(
        "zones.qpv.iris_share_threshold: 7 QPV are left out of the QPV gap, no IRIS with 50% or "
        "more of its area in QPV covering most of them: QP075101 (its IRIS at most 35% in QPV), "
    )
    assert (
        "QP075105 (its IRIS at most 35% in QPV), and 2 more; their IRIS count as the rest, "
        "and the qpv layer of zones.gpkg gives their own exact statistics" in note
    )
    # Every QPV of the area counted, or no IRIS counted (said otherwise): no note.
    assert qpv_without_iris_note(config, overlaps, overlay, qpv.iloc[[0]]) is None
    assert qpv_without_iris_note(config, overlaps, overlay.assign(in_qpv=False), qpv) is None


def test_a_runs_zones_given_as_the_iris_layer_get_the_runs_own_values(
    demo_run, demo_folder, tmp_path
):
    """A run's ``zones.gpkg`` given as the IRIS layer already holds every column the run
    computes and joins (statistics, census, QPV overlay). They are replaced, with a warning,
    so the tables equal the demo run's: before, the layer's population and QPV columns won
    and the run's came out as ``_right`` or ``_y`` columns."""
    folder, expected = demo_run
    layer = gpd.read_file(folder / "zones.gpkg", layer="iris")
    layer["population"] = 1.0  # stale values the run must not keep
    layer.to_file(tmp_path / "old_zones.gpkg", layer="iris", driver="GPKG")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"zones.iris.path": str(tmp_path / "old_zones.gpkg"), "outputs.report": False},
    )
    result = run(config, out=tmp_path / "run")
    got = result.zones["iris"].drop(columns="geometry").reset_index(drop=True)
    want = expected.zones["iris"].drop(columns="geometry").reset_index(drop=True)
    assert not [c for c in got.columns if c.endswith(("_right", "_x", "_y"))]
    pd.testing.assert_frame_equal(got[want.columns], want, check_exact=False, rtol=1e-9)
    notes = [w for w in result.warnings if w.startswith("zones.iris: the layer's own columns")]
    assert notes and "population" in " ".join(notes) and "lst_mean_k" in " ".join(notes)


def test_an_area_made_of_qpv_keeps_the_iris_around_them(demo_folder, tmp_path):
    # aoi.zones: qpv: the IRIS overlapping the QPV (by geopandas, by hand), not only those
    # whose inner point falls in a QPV, so the QPV IRIS have neighbours to compare with.
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"aoi.zones": "qpv", "outputs.report": False, "inequality.outcomes": ["lst_mean_k"]},
    )  # fmt: skip
    result = run(config, out=tmp_path / "run")
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    qpv = gpd.read_file(demo_folder / "zones" / "qpv.geojson").to_crs(iris.crs)
    union = qpv.geometry.make_valid().union_all()  # one QPV is an invalid bow-tie
    overlap = iris[iris.intersects(union) & ~iris.touches(union)]
    assert set(result.zones["iris"]["code_iris"]) == set(overlap["CODE_IRIS"])
    assert 0 < len(overlap) < IRIS_GRID**2
    assert result.zones["iris"]["in_qpv"].any() and not result.zones["iris"]["in_qpv"].all()


def test_previous_run_is_kept_without_overwrite(demo_run, demo_folder, tmp_path):
    out = shutil.copytree(demo_run[0], tmp_path / "run")  # the shared run is never written
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"outputs.overwrite": False, "outputs.zone_formats": ["csv"]},
    )
    with pytest.raises(OutputExistsError, match="holds a previous run; give --overwrite"):
        run(config, out=out)


def test_a_run_removes_the_previous_runs_outputs_it_does_not_make(
    demo_run, demo_folder, tmp_path, caplog
):
    # A copy of a finished run (its config names the original folder) that also had
    # scenarios and CSV zone tables; the new run makes neither. The previous run's files it
    # does not write again go, the original folder and the user's own file stay.
    out, _ = demo_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    old = {"scenarios/green/delta_lst.tif": b"old", "zones/iris.csv": b"code_iris\n"}
    for name, data in old.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
        # Relative to the folder, as runs record them since manifest version 2, or under
        # the folder the run wrote into, as version 1 did.
        recorded = name if name.endswith(".csv") else str(out / name)
        manifest["outputs"].append({"path": recorded, "kind": "file", "size": 3})
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "notes.txt").write_text("mine")
    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.report": False})
    finished = manifest["finished"][:16].replace("T", " ")
    with caplog.at_level(logging.WARNING, logger="pipelines.run"):
        run(config, out=copy)
    said = [r.getMessage() for r in caplog.records if "this run replaces it" in r.getMessage()]
    assert said == [
        f"{copy} holds the run of months 6, 7, 8 of 2023, finished {finished} UTC and its "
        "scenarios/: this run replaces it (--overwrite, outputs.overwrite); stop now (Ctrl-C) "
        "to keep it, or give another --out"
    ]
    assert not (copy / "scenarios").exists() and not (copy / "zones" / "iris.csv").exists()
    assert not (copy / "report.html").exists() and not (copy / "figures").exists()  # no report
    assert (copy / "notes.txt").read_text() == "mine"
    listed = {r["path"] for r in json.loads((copy / "manifest.json").read_text())["outputs"]}
    assert not any("scenarios" in path or path.endswith("iris.csv") for path in listed)
    assert (out / "manifest.json").is_file() and (out / "zones.gpkg").is_file()  # untouched


def test_a_rerun_never_removes_a_raster_it_is_writing(demo_run, demo_folder, tmp_path, monkeypatch):
    """The previous run's rasters (listed in its manifest, older than the run) are the files
    the COG thread replaces meanwhile: the stale removal leaves them to it. It once tested an
    old raster's time, the new COG was renamed into place, and it removed the new one."""
    import threading

    out, _ = demo_run
    copy = shutil.copytree(out, tmp_path / "copy")
    stale_done, removed = threading.Event(), []
    write_cogs, remove_stale = run_module._write_cogs, run_module.remove_stale_outputs

    def held_cogs(*args, **kwargs):
        stale_done.wait(120)  # no COG is encoded before the stale removal is over
        return write_cogs(*args, **kwargs)

    def watched_removal(*args, **kwargs):
        before = set((copy / "rasters").glob("*"))
        try:
            remove_stale(*args, **kwargs)
        finally:
            removed.extend(before - set((copy / "rasters").glob("*")))
            stale_done.set()

    monkeypatch.setattr(run_module, "_write_cogs", held_cogs)
    monkeypatch.setattr(run_module, "remove_stale_outputs", watched_removal)
    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.report": False})
    run(config, out=copy)
    assert removed == []
    written = sorted(path.name for path in (copy / "rasters").iterdir())
    assert written == sorted(path.name for path in (out / "rasters").iterdir())


def test_a_rerun_keeps_a_users_raster_copy_and_qgis_project(demo_run, demo_folder, tmp_path):
    """A user's copy of a raster (cp keeps ilots' tags) and its style stay through a re-run;
    so does a QGIS project saved in zones.gpkg (QGIS's qgis_projects table), carried into
    the file the run writes, without a warning (kind user_tables_replaced)."""
    import sqlite3
    from contextlib import closing

    out, _ = demo_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    rasters = copy / "rasters"
    for suffix in (".tif", ".qml"):
        shutil.copyfile(rasters / f"lst_median{suffix}", rasters / f"lst_median_edited{suffix}")
    mine = {path: path.read_bytes() for path in rasters.glob("lst_median_edited.*")}
    with closing(sqlite3.connect(copy / "zones.gpkg")) as con, con:
        con.execute("CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata, content)")
        con.execute("INSERT INTO qgis_projects VALUES ('plan canicule', '{}', x'504b')")
    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.report": False})
    run(config, out=copy)
    assert len(mine) == 2 and {path: path.read_bytes() for path in mine} == mine
    manifest = json.loads((copy / "manifest.json").read_text())
    assert "user_tables_replaced" not in manifest["warning_codes"]
    with closing(sqlite3.connect(copy / "zones.gpkg")) as con:
        kept = con.execute("SELECT name, content FROM qgis_projects").fetchall()
    assert kept == [("plan canicule", b"PK")]
    assert "rasters/lst_median_edited.tif" not in {r["path"] for r in manifest["outputs"]}


def test_inputs_and_a_users_project_in_the_run_folder_outlive_next_runs(demo_folder, tmp_path):
    """A run folder that holds some of its inputs (the QPV layer, the Filosofi table), run
    into three times with overwrite, and a QGIS project the user saved there after the
    first run: the later runs read the inputs and keep them, keep the project, and no
    manifest lists any of them as an output (the next run would remove it)."""
    import os
    import time

    out = tmp_path / "run"
    kept = {"qpv": out / "inputs" / "qpv.geojson", "filosofi": out / "inputs" / "filosofi.csv"}
    kept["qpv"].parent.mkdir(parents=True)
    shutil.copyfile(demo_folder / "zones" / "qpv.geojson", kept["qpv"])
    shutil.copyfile(demo_folder / "census" / "filosofi.csv", kept["filosofi"])
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {
            "zones.qpv.path": str(kept["qpv"]),
            "census.filosofi": str(kept["filosofi"]),
            "outputs.report": False,
        },
    )
    originals = {name: path.read_bytes() for name, path in kept.items()}

    def listed() -> set[str]:
        manifest = json.loads((out / "manifest.json").read_text())
        read = {record["path"] for record in manifest["inputs"]}
        assert manifest["inputs_base"] == "."  # inputs in the run folder: relative to it
        assert {"inputs/qpv.geojson", "inputs/filosofi.csv"} <= read
        return {record["path"] for record in manifest["outputs"]}

    run(config, out=out)
    assert {"inputs/qpv.geojson", "inputs/filosofi.csv"}.isdisjoint(listed())
    project = out / "project.qgz"
    project.write_bytes(b"PK user project")
    saved = time.time() - 60  # saved a minute before the next run
    os.utime(project, (saved, saved))
    for _ in range(2):
        run(config, out=out)
        assert {name: path.read_bytes() for name, path in kept.items()} == originals
        assert project.read_bytes() == b"PK user project"
        assert {"inputs/qpv.geojson", "inputs/filosofi.csv", "project.qgz"}.isdisjoint(listed())
        assert "zones.gpkg" in listed()  # what the run wrote is


def test_files_a_user_saves_in_the_run_folder_are_not_listed_as_outputs(
    demo_folder, tmp_path, monkeypatch
):
    """Files saved in the run folder by someone else, before the run (an old note, even
    dated now) or while it runs (beside the rasters, among the figures), are neither
    hashed nor listed in manifest.json, and stay where they are."""
    out = tmp_path / "run"
    out.mkdir()
    mine = {"notes.txt": b"mine, from before"}
    (out / "notes.txt").write_bytes(mine["notes.txt"])
    meanwhile = {
        "notes-during.txt": b"saved while it ran",
        "rasters/my_edit.tif": b"not a COG of the run",
        "figures/sketch.png": b"a user's sketch",
    }
    inequality = run_module._inequality_reports

    def and_a_user_saves_files(*args, **kwargs):  # mid-run: after the COGs are queued
        for name, data in meanwhile.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
        return inequality(*args, **kwargs)

    monkeypatch.setattr(run_module, "_inequality_reports", and_a_user_saves_files)
    run(load_config(demo_folder / "config.yaml"), out=out)
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {record["path"] for record in manifest["outputs"]}
    assert {"zones.gpkg", "rasters/lst_median.tif", "rasters/lst_median.qml", "report.html",
            "config.yaml", "inequality.json", "figures"} <= listed  # fmt: skip
    assert listed.isdisjoint({*mine, *meanwhile})
    (figures,) = [r for r in manifest["outputs"] if r["path"] == "figures"]
    drawn = {record["path"] for record in figures["files"]}
    assert "lst_map.png" in drawn and "sketch.png" not in drawn
    for name, data in {**mine, **meanwhile}.items():
        assert (out / name).read_bytes() == data


@pytest.mark.parametrize("crash_in", ["first_pass", "tile_pieces"])
def test_overwritten_run_that_stops_leaves_no_manifest(
    demo_run, demo_folder, tmp_path, monkeypatch, crash_in
):
    """Overwriting a previous run: stopped before writing anything, the previous run is
    left whole; stopped after its first COG was queued (the NDVI, before pass 2), the folder
    has no manifest, so it does not pass for either run."""
    import shutil
    import time

    out = tmp_path / "run"
    shutil.copytree(demo_run[0], out)
    before = (out / "manifest.json").read_bytes()
    ndvi = out / "rasters" / "ndvi_median.tif"
    copied = ndvi.stat().st_ino

    def crash(*args, **kwargs):
        # In pass 2, once the NDVI COG queued before it is in place (a new file): the COG
        # thread, racing the crash, else sometimes had not started it, and a run stopped
        # before a COG starts cancels it (the folder then holds no new file).
        waited = time.monotonic() + 60
        while crash_in == "tile_pieces" and ndvi.stat().st_ino == copied:
            assert time.monotonic() < waited, "the NDVI COG was never written"
            time.sleep(0.05)
        raise RuntimeError("stopped")

    monkeypatch.setattr(run_tiles, crash_in, crash)
    with pytest.raises(RuntimeError, match="stopped"):
        run(load_config(demo_folder / "config.yaml"), out=out)
    if crash_in == "first_pass":
        assert (out / "manifest.json").read_bytes() == before
    else:
        assert not (out / "manifest.json").exists()
        assert (out / "rasters" / "ndvi_median.tif").stat().st_mtime > (
            demo_run[0] / "rasters" / "ndvi_median.tif"
        ).stat().st_mtime


def test_a_run_resumed_after_a_stop_removes_the_replaced_runs_outputs(
    demo_run, demo_folder, tmp_path, monkeypatch
):
    """A run over a finished one (with scenarios and CSV tables, which the new run does not
    make), stopped after it replaced a file, then run again: stopped, the folder is not
    taken for a finished run; finished, it neither keeps nor lists the replaced run's files,
    nor keeps its set-aside manifest."""
    from pipelines.outputs.folder import RunFolder
    from pipelines.report.data import read_run
    from pipelines.report.errors import ReportError
    from pipelines.scenarios.pipeline import run_mismatch

    out = tmp_path / "run"
    shutil.copytree(demo_run[0], out)
    manifest = json.loads((out / "manifest.json").read_text())
    old = {"scenarios/green/delta_lst.tif": b"old", "zones/iris.csv": b"code_iris\n"}
    for name, data in old.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
        manifest["outputs"].append({"path": name, "kind": "file", "size": len(data)})
    (out / "manifest.json").write_text(json.dumps(manifest))
    config = load_config(demo_folder / "config.yaml")
    real = run_tiles.tile_pieces

    def stopped(*args):
        raise RuntimeError("stopped")

    monkeypatch.setattr(run_tiles, "tile_pieces", stopped)  # after the NDVI COG is queued
    with pytest.raises(RuntimeError, match="stopped"):
        run(config, out=out)
    monkeypatch.setattr(run_tiles, "tile_pieces", real)
    with pytest.raises(ReportError, match=r"manifest\.json missing"):
        read_run(out)
    assert "no finished run" in run_mismatch(RunFolder(out), config)
    run(config, out=out)
    assert not (out / "scenarios").exists() and not (out / "zones" / "iris.csv").exists()
    listed = {r["path"] for r in json.loads((out / "manifest.json").read_text())["outputs"]}
    assert not [path for path in listed if path.startswith(("scenarios/", "zones/iris.csv"))]
    hidden = [p.name for p in out.rglob(".*")]
    assert hidden == [".ilots.lock"]


def test_a_run_killed_while_its_report_is_built_resumes(demo_folder, tmp_path, monkeypatch):
    """Killed (as the OOM killer does: no clean-up) while it builds its report, the COGs
    still being encoded, a tiled run leaves no manifest.json: it is not taken for a finished
    run, and the same command (no outputs.overwrite) resumes it from its checkpoints."""
    import pipelines.run as run_module
    from pipelines.report.data import read_run
    from pipelines.report.errors import ReportError

    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.overwrite": False})
    out, killed = tmp_path / "run", tmp_path / "killed"
    real = run_module.build_report

    def left_by_a_kill(directory, names):  # the lock and the COGs' temporary files
        return [n for n in names if n.startswith(".") and n != run_tiles.CHECKPOINT_DIR]

    def killed_meanwhile(*args, **kwargs):
        shutil.copytree(out, killed, ignore=left_by_a_kill)  # the folder a kill leaves
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "build_report", killed_meanwhile)
    finished = run(config, out=out, tile_size_px=RESUME_TILE_PX)
    monkeypatch.setattr(run_module, "build_report", real)
    assert (killed / run_tiles.CHECKPOINT_DIR).is_dir()
    assert not (killed / "manifest.json").exists()
    with pytest.raises(ReportError, match=r"manifest\.json missing"):
        read_run(killed)
    resumed = run(config, out=killed, tile_size_px=RESUME_TILE_PX)
    n_tiles = len(_tile_names(config, RESUME_TILE_PX))
    said = f"resumed an interrupted run: {n_tiles} of {n_tiles} tiles read from its checkpoints"
    assert any(w.startswith(said) for w in resumed.warnings), resumed.warnings
    _assert_same_run(finished, resumed, exact=True)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "manifest.json" in report and "EPSG:32631" in report  # the manifest it was given


def test_a_run_killed_while_it_removes_its_checkpoints_is_run_again(
    demo_folder, tmp_path, monkeypatch
):
    """Killed while it removes its checkpoints (``kill -9``: nothing after runs), a tiled run
    leaves none that look resumable: the same command runs it again. Checkpoints whose
    tiles are marked done with some of their pieces gone (as that removal used to leave
    them) are resumed, those tiles' stages computed anew. Both equal the finished run."""
    from pipelines.report.data import read_run
    from pipelines.report.errors import ReportError

    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.overwrite": False})
    out, killed, stale = tmp_path / "run", tmp_path / "killed", tmp_path / "stale"
    remove, rmtree = run_tiles.remove_checkpoints, shutil.rmtree
    gone = []

    def half_removed(folder):  # some pieces gone, the tiles' marks kept
        shutil.copytree(folder, stale)
        for piece in sorted((stale / run_tiles.CHECKPOINT_DIR).glob("*.npy"))[::5]:
            piece.unlink()
            gone.append(piece.name.split(".")[:2])  # [stage, tile]
        remove(folder)

    def killed_half_way(path, *args, **kwargs):
        if Path(path).name.startswith(run_tiles.CHECKPOINT_DIR):
            for piece in sorted(Path(path).glob("*.npy"))[::2]:
                piece.unlink()
            shutil.copytree(out, killed)  # the folder the kill leaves
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(run_tiles, "remove_checkpoints", half_removed)
    monkeypatch.setattr(shutil, "rmtree", killed_half_way)
    finished = run(config, out=out, tile_size_px=RESUME_TILE_PX)
    monkeypatch.undo()
    assert not (killed / "manifest.json").exists()
    assert not (killed / run_tiles.CHECKPOINT_DIR).exists()
    finish = f"finish it with ilots run {killed / 'config.yaml'} --out {killed}, which"
    with pytest.raises(ReportError, match="stopped before it finished") as info:
        read_run(killed)
    assert finish in str(info.value)
    again = run(config, out=killed, tile_size_px=RESUME_TILE_PX)
    assert not any("resumed an interrupted run" in w for w in again.warnings), again.warnings
    _assert_same_run(finished, again, exact=True)
    assert [p.name for p in killed.rglob(".*")] == [".ilots.lock"]

    passes = _count_passes(monkeypatch)
    resumed = run(config, out=stale, tile_size_px=RESUME_TILE_PX)
    for stage, pieces in (("inputs", "inputs"), ("reference", "derived"), ("tile", "raster")):
        expected = sorted({tile for of, tile in gone if of == pieces})
        assert expected and sorted(passes[stage]) == expected, stage
    _assert_same_run(finished, resumed, exact=True)


def test_ctrl_c_waits_for_no_cog(demo_folder, tmp_path, monkeypatch):
    """Ctrl-C while a COG is encoded and others are queued: the run stops at once, without
    encoding the queued ones nor waiting for the one being encoded (it writes to a temporary
    name, which the next run into the folder removes)."""
    import threading

    import pipelines.run as run_module

    encoding, release, started, finished = threading.Event(), threading.Event(), [], []

    def slow_cogs(rasters, *args):  # the first: a large city's
        started.append(set(rasters))
        if len(started) == 1:
            encoding.set()
            release.wait(timeout=60)  # only ends a run that waits for it (without the fix)
        finished.append(set(rasters))
        return {}

    def interrupted(*args, **kwargs):  # after every COG is queued
        encoding.wait()
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "_write_cogs", slow_cogs)
    monkeypatch.setattr(run_module, "_inequality_reports", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(load_config(demo_folder / "config.yaml"), out=tmp_path / "run")
        assert finished == []  # not waited for
    finally:
        release.set()
        for thread in threading.enumerate():
            if thread.name.startswith("ilots-cogs"):
                thread.join()
    assert len(started) == 1 and "ndvi_median" in started[0]  # the queued ones: dropped


def test_ctrl_c_keeps_the_folder_locked_until_the_cog_being_encoded_is_written(
    demo_folder, tmp_path, monkeypatch
):
    """Ctrl-C while a COG is encoded: the run says it at once, but the folder stays locked
    until that COG is written, and the thread encodes no other one of its batch. It once
    released the folder at once: another run took it, then the interrupted run's thread
    put rasters there that the other run's manifest did not list."""
    import threading

    import raster.cog
    from pipelines.outputs.lock import lock_holder

    encoding, release = threading.Event(), threading.Event()
    copy_to_cog = raster.cog._copy_to_cog

    def held_copy(source, target, tags, layout):
        encoding.set()
        release.wait(timeout=60)  # until the test has looked at the folder
        copy_to_cog(source, target, tags, layout)

    def interrupted(*args, **kwargs):  # after every COG is queued
        encoding.wait(timeout=60)
        raise KeyboardInterrupt

    monkeypatch.setattr(raster.cog, "_copy_to_cog", held_copy)
    monkeypatch.setattr(run_module, "_inequality_reports", interrupted)
    out = tmp_path / "run"
    try:
        with pytest.raises(KeyboardInterrupt):  # said without waiting for the COG
            run(load_config(demo_folder / "config.yaml"), out=out)
        assert lock_holder(out) is not None  # the COG job still holds the folder
        assert list((out / "rasters").glob("*.tif")) == []
    finally:
        release.set()
        for thread in threading.enumerate():
            if thread.name.startswith("ilots-cogs"):
                thread.join()
    assert lock_holder(out) is None  # released once the job ended: nothing writes there
    # The first COG of the first batch (the index composites and the land cover), and
    # nothing else: no other COG, no scratch or temporary file.
    written = sorted(path.name for path in (out / "rasters").iterdir())
    assert written == ["ndvi_median.qml", "ndvi_median.tif"]


def test_a_failed_cog_stops_the_run_before_the_tables_and_the_report(
    demo_folder, tmp_path, monkeypatch
):
    """A COG that fails stops the run at the next stage, with its error: the run once went
    on to write the tables and the report (hours, on a large city), then raised it."""
    import concurrent.futures

    import raster.cog

    copy_to_cog, submit = raster.cog._copy_to_cog, run_module._CogThread.submit
    inequality_reports, jobs, reports = run_module._inequality_reports, [], []

    def full_disk(source, target, tags, layout):
        if target.name == "landcover.tif":
            raise OSError(28, "No space left on device")
        copy_to_cog(source, target, tags, layout)

    def watched_submit(self, *args):
        jobs.append(submit(self, *args))
        return jobs[-1]

    def after_the_land_cover(*args, **kwargs):  # a stage after the failure
        concurrent.futures.wait(jobs[:1])  # the first batch: the land cover's
        return inequality_reports(*args, **kwargs)

    monkeypatch.setattr(raster.cog, "_copy_to_cog", full_disk)
    monkeypatch.setattr(run_module._CogThread, "submit", watched_submit)
    monkeypatch.setattr(run_module, "_inequality_reports", after_the_land_cover)
    monkeypatch.setattr(run_module, "build_report", lambda *args, **kwargs: reports.append(1))
    out = tmp_path / "run"
    with pytest.raises(OSError, match="No space left on device"):
        run(load_config(demo_folder / "config.yaml"), out=out)
    assert reports == []
    assert not (out / "zones.gpkg").exists() and not (out / "manifest.json").exists()


def test_a_cog_job_queued_as_the_run_is_interrupted_holds_the_folder(tmp_path, monkeypatch):
    """Ctrl-C as a COG batch is queued (after the pool took it): the run lets go of the
    folder, and the job, running on, keeps it locked until it ends. The hold was once
    taken after the job was queued: such a job wrote with the folder unlocked."""
    import concurrent.futures
    import os
    import socket
    import threading

    from pipelines.outputs.folder import RunFolder
    from pipelines.outputs.lock import folder_lock, lock_holder, wait_for_jobs

    started, release, held = threading.Event(), threading.Event(), []
    folder = RunFolder(tmp_path / "run")

    def encoding(*args):  # the COG job: runs until released
        started.set()
        release.wait(30)
        held.append(lock_holder(folder.root))
        return {}

    queue = concurrent.futures.ThreadPoolExecutor.submit

    def interrupted(pool, *args, **kwargs):
        queue(pool, *args, **kwargs)
        started.wait(30)  # the job has started: stopping the pool does not cancel it
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "_write_cogs", encoding)
    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", interrupted)
    with (
        pytest.raises(KeyboardInterrupt),
        folder_lock(folder.root),
        run_module._cog_thread() as cogs,
    ):
        cogs.submit({}, folder, False, None, "deflate")
    monkeypatch.undo()
    me = f"pid {os.getpid()} on {socket.gethostname()}"
    assert started.is_set() and lock_holder(folder.root) == me
    release.set()
    wait_for_jobs(folder.root)
    assert held == [me] and lock_holder(folder.root) is None


def test_a_ctrl_c_while_a_failed_run_waits_for_its_cog_leaves_no_hold(tmp_path, monkeypatch):
    """A run fails (it waits for the COG being encoded) and Ctrl-C comes during that wait:
    the batch still queued, cancelled, once kept its hold, so the folder stayed locked and
    the next run in the notebook waited for it for ever (wait_for_jobs)."""
    import concurrent.futures
    import threading

    from pipelines.outputs.folder import RunFolder
    from pipelines.outputs.lock import folder_lock, lock_holder, wait_for_jobs

    started, release = threading.Event(), threading.Event()
    folder = RunFolder(tmp_path / "run")

    def encoding(*args):  # the COG job: runs until released
        started.set()
        release.wait(30)
        return {}

    shutdown = concurrent.futures.ThreadPoolExecutor.shutdown

    def interrupted(pool, wait=True, **kwargs):
        shutdown(pool, wait=False, **kwargs)
        if wait:  # Ctrl-C during the join
            raise KeyboardInterrupt
        return None

    monkeypatch.setattr(run_module, "_write_cogs", encoding)
    with pytest.raises(KeyboardInterrupt), folder_lock(folder.root):
        with run_module._cog_thread() as cogs:
            cogs.submit({}, folder, False, None, "deflate")  # encoding
            started.wait(30)
            cogs.submit({}, folder, False, None, "deflate")  # queued
            monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "shutdown", interrupted)
            raise OSError("disk full")  # the run fails: it waits for the COG
    monkeypatch.undo()
    release.set()
    waited = threading.Thread(target=wait_for_jobs, args=(folder.root,), daemon=True)
    waited.start()
    waited.join(30)
    assert not waited.is_alive() and lock_holder(folder.root) is None


def test_zone_formats_csv_only_and_zstd_rasters(demo_run, demo_folder, tmp_path):
    overrides = {"outputs.zone_formats": ["csv"], "outputs.raster_compression": "zstd",
                 "outputs.hash_inputs": False}  # fmt: skip
    config = apply_overrides(load_config(demo_folder / "config.yaml"), overrides)
    result = run(config, out=tmp_path / "csv")
    inputs = json.loads((result.folder / "manifest.json").read_text())["inputs"]
    assert len(inputs) > 4 and all(r["sha256"] is None and r["size"] > 0 for r in inputs)
    for name in ("lst_median", "landcover"):  # ZSTD, the same values as the DEFLATE run's
        with rasterio.open(result.folder / "rasters" / f"{name}.tif") as got:
            with rasterio.open(demo_run[0] / "rasters" / f"{name}.tif") as want:
                assert (got.compression.name, want.compression.name) == ("zstd", "deflate")
                np.testing.assert_array_equal(got.read(1), want.read(1))
    for layer, frame in result.zones.items():  # the demo's tables say they are synthetic
        table = pd.read_csv(result.folder / "zones" / f"{layer}.csv")
        assert list(table.columns) == [*frame.columns.drop("geometry"), "synthetic"], layer
        assert table["synthetic"].dtype == bool and table["synthetic"].all(), layer
    assert not (result.folder / "zones.gpkg").exists()
    assert not (result.folder / "zones" / "iris.parquet").exists()
    assert not (result.folder / "report.html").exists()
    assert any("outputs.zone_formats needs gpkg" in w for w in result.warnings)


def test_product_deleted_during_the_run_is_said_in_the_manifest(demo_folder, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    """A product file moved away after the run read it: the run still ends with its
    manifest, which records the file as missing and says so (it used to raise at the end,
    after the checkpoints were removed)."""
    import shutil

    inputs = tmp_path / "inputs"
    shutil.copytree(demo_folder, inputs)
    qa = sorted((inputs / "products").glob("L*/*_QA_PIXEL.TIF"))[0]
    remove = run_tiles.remove_checkpoints

    def delete_then_remove(root):
        qa.unlink()
        remove(root)

    monkeypatch.setattr(run_tiles, "remove_checkpoints", delete_then_remove)
    config = apply_overrides(load_config(inputs / "config.yaml"), {"outputs.report": False})
    result = run(config, out=tmp_path / "run")
    records = json.loads((result.folder / "manifest.json").read_text())["inputs"]
    gone = [r for r in records if r["kind"] == "missing"]
    assert gone == [{"path": str(qa), "kind": "missing", "size": None, "sha256": None}]
    assert all(r["sha256"] for r in records if r["kind"] == "file")
    assert any(str(qa) in w and "moved or deleted" in w for w in result.warnings)


def test_input_hashes_stop_after_the_file_being_read_on_an_error(tmp_path, monkeypatch):
    """Leaving the hashing on an error (or Ctrl-C) after the run's stages ends it after the
    file being read: the error is said without hashing the rest."""
    import threading

    import pipelines.run as run_module

    release, hashed = threading.Event(), []

    def held(path):
        hashed.append(path)
        release.wait(10)  # the first file is being read when the error comes
        return "0" * 64

    class Releasing(threading.Event):  # stopping lets the file being read end
        def set(self):
            super().set()
            release.set()

    monkeypatch.setattr(run_module, "sha256_file", held)
    with pytest.raises(KeyboardInterrupt), run_module._InputHashes() as hashes:
        hashes._stopped = Releasing()
        hashes.start([str(tmp_path / f"B{n}.TIF") for n in range(5)])
        while not hashed:
            threading.Event().wait(0.01)
        raise KeyboardInterrupt
    assert len(hashed) == 1


def test_input_hashes_skip_a_file_gone_before_its_turn(tmp_path):
    from pipelines.run import _InputHashes

    kept = tmp_path / "B10.TIF"
    kept.write_bytes(b"II*\x00 pixels")
    with _InputHashes() as hashes:
        hashes.start([str(tmp_path / "gone.TIF"), str(kept)])
        digests = hashes.result()
    assert digests == {str(kept): hashlib.sha256(kept.read_bytes()).hexdigest()}


# ------------------------------------------------------------------------ processing tiles

_TABLE_COLUMNS = (
    "area_m2",
    "valid_frac",
    "lst_mean_k",
    "lst_p90_k",
    "lst_p90_mean_k",
    "lst_anomaly_mean_k",
    "ndvi_mean",
    "n_clear_mean",
    "lc_built_frac",
    "lc_dense_vegetation_frac",
    "lc_low_vegetation_frac",
    "lc_water_frac",
)


def _rasters(folder):
    out = {}
    for path in sorted((folder / "rasters").glob("*.tif")):
        with rasterio.open(path) as src:
            out[path.stem] = src.read(1)
    return out


def _assert_same_run(a, b, *, exact=False):
    """Two runs agree: rasters identical, zone tables equal (means to 1e-9)."""
    ra, rb = _rasters(a.folder), _rasters(b.folder)
    assert set(ra) == set(rb) and ra
    for name in ra:
        np.testing.assert_array_equal(ra[name], rb[name], err_msg=name)
    for layer in ("iris", "qpv"):
        ta = a.zones[layer].drop(columns="geometry").reset_index(drop=True)
        tb = b.zones[layer].drop(columns="geometry").reset_index(drop=True)
        assert list(ta.columns) == list(tb.columns)
        for column in _TABLE_COLUMNS:
            if exact:
                np.testing.assert_array_equal(ta[column], tb[column], err_msg=column)
            elif column in ("area_m2",):
                # Coverage sums: the same numbers whatever the tiling.
                np.testing.assert_array_equal(ta[column], tb[column], err_msg=column)
            else:
                # Means of sums merged over tiles: only the order of float64 additions differs.
                np.testing.assert_allclose(ta[column], tb[column], rtol=1e-9, err_msg=column)


#: Tile size of the tiled twins of one-piece runs: 2 x 2 tiles of the demo's 548-pixel grid.
TILES_2X2_PX = 272


@pytest.mark.parametrize(
    ("tile_size", "spans"),
    [
        (200, [(0, 200), (200, 400), (400, 548)]),  # 3 x 3 tiles: the middle one has 8 neighbours
        # 548 = 2 x 272 + 4: the 4-pixel strip (< 272 / 8) widens the last tile.
        (TILES_2X2_PX, [(0, 272), (272, 548)]),
    ],
)
def test_small_tiles_equal_one_piece(demo_run, demo_folder, tmp_path, tile_size, spans):
    _, whole = demo_run
    config = load_config(demo_folder / "config.yaml")
    tiles = run_tiles.tiles_of(_grid_of(config), tile_size)
    assert sorted({(t.rows.start, t.rows.stop) for t in tiles}) == spans
    assert sorted({(t.cols.start, t.cols.stop) for t in tiles}) == spans
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=tile_size)
    _assert_same_run(whole, tiled)
    assert not (tmp_path / "tiled" / ".checkpoints").exists()  # removed after success
    assert not any(".checkpoints" in p for p in _manifest_outputs(tmp_path / "tiled"))


#: The demo at 20 m, where the LST work runs on the 30 m Landsat pixels, in 2 x 2 tiles of 512.
OVERRIDES_20M = {"grid.resolution": 20, "scheduler.tile_size_px": 512, "scheduler.chunk_px": 512}


def _measuring_checkpoints(monkeypatch, sizes):
    """Append to ``sizes`` the bytes of a run's checkpoints as they are removed."""
    remove = run_tiles.remove_checkpoints

    def measured(folder):
        files = (Path(folder) / run_tiles.CHECKPOINT_DIR).rglob("*")
        sizes.append(sum(f.stat().st_size for f in files if f.is_file()))
        remove(folder)

    monkeypatch.setattr(run_tiles, "remove_checkpoints", measured)


def _counting_st_b10_reads(monkeypatch, reads):
    """Append to ``reads`` the URI of each ST_B10 chunk read (by odc-loader or, for a file
    on the grid read, :mod:`raster.native_read`)."""
    import odc.loader._rio as rio

    import raster.native_read

    real_read, real_window = rio.rio_read, raster.native_read._read_window

    def counting_read(src, *args, **kwargs):
        if "ST_B10" in str(src.uri):
            reads.append(src.uri)
        return real_read(src, *args, **kwargs)

    def counting_window(href, *args, **kwargs):
        if "ST_B10" in str(href):
            reads.append(href)
        return real_window(href, *args, **kwargs)

    monkeypatch.setattr(rio, "rio_read", counting_read)
    monkeypatch.setattr(raster.native_read, "_read_window", counting_window)


@pytest.fixture(scope="module")
def whole_20m(demo_folder, tmp_path_factory):
    """The demo at 20 m (:data:`OVERRIDES_20M`) run in one piece (tiles of 4096 px), made
    once for the module: its result (folder read only), the bytes of the checkpoints it
    removed and the ST_B10 chunks it read (sorted)."""
    from tests.conftest import share

    config = apply_overrides(load_config(demo_folder / "config.yaml"), OVERRIDES_20M)
    sizes, reads = [], []
    with pytest.MonkeyPatch.context() as monkeypatch:
        _measuring_checkpoints(monkeypatch, sizes)
        _counting_st_b10_reads(monkeypatch, reads)
        whole = run(config, out=tmp_path_factory.mktemp("whole_20m"), tile_size_px=4096)
    share(whole.folder)
    return whole, sizes, sorted(reads)


def test_tiles_splitting_landsat_pixels_equal_one_piece(
    whole_20m, demo_folder, tmp_path, monkeypatch
):
    """At 20 m the LST work runs on the 30 m Landsat pixels; tiles of 512 pixels (10,240 m)
    split them, and pass 0 keeps each tile's share of them for the passes after. The
    checkpoints take no more disk than --dry-run announces (nor twice less)."""
    config = apply_overrides(load_config(demo_folder / "config.yaml"), OVERRIDES_20M)
    whole, whole_sizes, _ = whole_20m
    sizes = []
    _measuring_checkpoints(monkeypatch, sizes)
    tiled = run(config, out=tmp_path / "tiled")
    assert len(run_tiles.tiles_of(_grid_of(config), 512)) == 4
    _assert_same_run(whole, tiled)
    estimate = plan(config).checkpoint_bytes
    assert whole_sizes == [0] and sizes[0] <= estimate <= 2 * sizes[0]
    assert plan(apply_overrides(config, {"scheduler.tile_size_px": 4096})).checkpoint_bytes == 0


def test_composite_suhii_equals_the_whole_grid_computation(demo_run, demo_folder, tmp_path):
    """heat_island.json's composite SUHII, merged from tile sums, equals raster.heat_island's
    suhii() on the written composite with the run's own (lazy) masks and minimums, tiled or
    not."""
    from pipelines.run_graph import scene_graph
    from raster.heat_island import suhii

    out, _ = demo_run
    config = load_config(demo_folder / "config.yaml")
    graph = scene_graph(config)
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=TILES_2X2_PX)
    heat_options = config.heat_island
    min_pixels = heat_options.min_reference_grid_pixels(config.grid.resolution)
    for folder in (out, tiled.folder):
        heat = json.loads((Path(folder) / "heat_island.json").read_text())
        for key, name in (("composite", "lst_anomaly"), ("composite_lst", "lst_median")):
            with rasterio.open(Path(folder) / "rasters" / f"{name}.tif") as src:
                values = graph.urban.copy(data=src.read(1))
            oracle = suhii(values, graph.urban, graph.reference_mask, min_pixels=min_pixels,
                           min_frac=heat_options.min_reference_frac).compute()  # fmt: skip
            record = heat[key]
            np.testing.assert_allclose(record["suhii_k"], float(oracle["suhii"]), rtol=1e-9)
            np.testing.assert_allclose(
                record["rural_mean_k"], float(oracle["rural_mean"]), rtol=1e-9
            )
            assert record["urban_pixels"] == int(oracle["n_urban"]) > 0
            assert record["rural_pixels"] == int(oracle["n_rural"]) > 0


def test_tiled_mosaic_streams_checkpointed_pieces(tmp_path):
    """Several tiles: the mosaic is lazy, one chunk per tile, each a read of that tile's
    checkpointed piece (the whole grid is never in memory); one tile: the piece itself."""
    from odc.geo.geobox import GeoBox
    from rasterio.transform import from_origin

    grid = GeoBox((700, 1100), from_origin(600_000, 5_400_000, 10, 10), "EPSG:32631")
    tiles = run_tiles.tiles_of(grid, 512)
    values = np.random.default_rng(1).random((700, 1100)).astype("float32")
    lazy = xr.DataArray(da.from_array(values, chunks=256), dims=("y", "x"), name="lst")
    store = run_tiles.checkpoints(tmp_path, {"test": 1})
    for tile in tiles:
        store.save_arrays("raster", tile, {"lst": values[tile.rows, tile.cols]})
    loads = []
    real = store.load_array
    store.load_array = lambda *args: loads.append(args[1].name) or real(*args)
    mosaic = run_tiles._mosaic(lazy, tiles, store, "raster", "lst")
    assert loads == [] and mosaic.data.chunks == ((512, 188), (512, 512, 76))
    np.testing.assert_array_equal(mosaic.data.blocks[1, 2].compute(), values[512:, 1024:])
    assert loads == [tiles[-1].name]
    np.testing.assert_array_equal(mosaic.values, values)
    memory = run_tiles.MemoryCheckpoints()
    memory.save_arrays("raster", tiles[0], {"lst": values})
    assert run_tiles._mosaic(lazy, tiles[:1], memory, "raster", "lst").data is values


def test_landsat_pixel_shares_of_the_tiles_mosaic_to_the_whole(tmp_path):
    """The tiles' shares of the Landsat pixels (30 m under a 10 m grid whose tile edges
    split Landsat pixels) partition them: the mosaic of the shares, per scene, is the LST."""
    from odc.geo.geobox import GeoBox
    from rasterio.transform import from_origin

    from raster.nearest import native_gather

    source = GeoBox((40, 40), from_origin(599_970.0, 5_400_030.0, 30.0, 30.0), "EPSG:32631")
    grid = GeoBox((100, 95), from_origin(600_010.0, 5_399_980.0, 10.0, 10.0), "EPSG:32631")
    gather = native_gather(source, grid)
    tiles = run_tiles.tiles_of(grid, 32)  # 32 px = 10.7 Landsat pixels: edges split them
    values = np.random.default_rng(2).random((3, *gather.geobox.shape.yx)).astype("float32")
    lst = xr.DataArray(values, dims=("time", "y", "x"), name="series")
    store = run_tiles.checkpoints(tmp_path, {"test": 2})
    for tile in tiles:
        store.save_arrays(
            "pixels", tile, {"series": lst.isel(run_tiles.lst_share(tile, gather)).values}
        )
    mosaic = run_tiles._mosaic(lst, tiles, store, "pixels", "series", gather)
    np.testing.assert_array_equal(mosaic.values, values)


def test_tiled_run_reads_its_inputs_in_one_pass(demo_folder, tmp_path, monkeypatch):
    """A tiled run reads its inputs in pass 0 only: the reference pass and the tiles pass
    read the tiles' pieces of the per-pixel layers kept before them."""
    import odc.loader._rio as rio

    reads = {"inputs": 0, "reference": 0, "tiles": 0}
    stage = ["inputs"]
    real_read = rio.rio_read

    def counting_read(*args, **kwargs):
        reads[stage[0]] += 1
        return real_read(*args, **kwargs)

    def entering(name, real):
        def wrapped(*args, **kwargs):
            stage[0] = name
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(rio, "rio_read", counting_read)
    monkeypatch.setattr(run_tiles, "first_pass", entering("reference", run_tiles.first_pass))
    monkeypatch.setattr(run_tiles, "tile_pieces", entering("tiles", run_tiles.tile_pieces))
    config = load_config(demo_folder / "config.yaml")
    run(config, out=tmp_path / "tiled", tile_size_px=TILES_2X2_PX)
    assert reads["inputs"] > 0 and reads["reference"] == reads["tiles"] == 0


def test_tiles_read_each_landsat_chunk_once(whole_20m, demo_folder, tmp_path, monkeypatch):
    """At 20 m the LST runs on the 30 m Landsat pixels, whose chunks meet several tiles'
    shares: pass 0 reads (and converts) each of them once, as the one-piece run does."""
    _, _, whole = whole_20m
    reads = []
    _counting_st_b10_reads(monkeypatch, reads)
    config = apply_overrides(load_config(demo_folder / "config.yaml"), OVERRIDES_20M)
    run(config, out=tmp_path / "tiled")
    assert len(run_tiles.tiles_of(_grid_of(config), 512)) == 4
    assert len(whole) > len(SCENES) and sorted(reads) == whole  # several chunks per scene


def _manifest_outputs(folder):
    return [str(p) for p in json.loads((folder / "manifest.json").read_text())["outputs"]]


@pytest.mark.parametrize("tile_size", [4096, TILES_2X2_PX])
def test_index_and_landcover_cogs_are_queued_before_the_tiles_pass(
    demo_run, demo_folder, tmp_path, monkeypatch, tile_size
):
    """The NDVI and albedo composites and the land cover need no rural reference: their
    COGs are queued before pass 2 (one piece, or small tiles), which keeps no second copy of
    them, and they are the one-piece run's."""
    from pipelines.run import settled_rasters
    from tiles.processing import TileCheckpoints

    expected = {"ndvi_median", "albedo_median", "landcover"}
    layers = {"ndvi": 0, "albedo": 0, "landcover": 0, "series": 0, "urban": 0}
    assert set(settled_rasters(xr.Dataset(layers))) == expected
    assert set(settled_rasters(xr.Dataset({"albedo": 0, "series": 0}))) == set()
    events, kept = [], set()
    real_run_tiles, real_pieces = run_tiles.run_tiles, run_tiles.tile_pieces

    def recording_run_tiles(**kwargs):
        def on_settled(rasters):
            events.append(("settled", set(rasters)))
            kwargs["on_settled"](rasters)

        return real_run_tiles(**{**kwargs, "on_settled": on_settled})

    def recording_pieces(*args):
        events.append(("tile", _tile_of(args).name))
        return real_pieces(*args)

    def recording_saves(real):
        def save_arrays(self, stage, tile, arrays):
            if stage == "raster":
                kept.update(arrays)
            return real(self, stage, tile, arrays)

        return save_arrays

    monkeypatch.setattr(run_tiles, "run_tiles", recording_run_tiles)
    monkeypatch.setattr(run_tiles, "tile_pieces", recording_pieces)
    for store in (TileCheckpoints, run_tiles.MemoryCheckpoints):
        monkeypatch.setattr(store, "save_arrays", recording_saves(store.save_arrays))
    config = load_config(demo_folder / "config.yaml")
    out = tmp_path / "run"
    run(config, out=out, tile_size_px=tile_size)
    assert events[0] == ("settled", expected)
    assert events[1:] == [("tile", name) for name in _tile_names(config, tile_size)]
    assert kept and not kept & expected
    for name in expected:
        with rasterio.open(out / "rasters" / f"{name}.tif") as got:
            with rasterio.open(demo_run[0] / "rasters" / f"{name}.tif") as want:
                np.testing.assert_array_equal(got.read(1), want.read(1), err_msg=name)


def test_tiles_same_partials_as_one_piece(demo_folder, tmp_path, monkeypatch):
    """Sums and counts of the merged tile partials equal the one-piece ones."""
    from raster.zonal import partials as partials_module

    seen = []
    merge_all = partials_module.merge_all

    def spy(parts):
        merged = merge_all(parts)
        seen.append(merged)
        return merged

    monkeypatch.setattr(run_tiles, "merge_all", spy)
    config = load_config(demo_folder / "config.yaml")
    run(config, out=tmp_path / "one")
    one, seen[:] = list(seen), []
    run(config, out=tmp_path / "many", tile_size_px=TILES_2X2_PX)
    many = list(seen)
    assert len(one) == len(many) > 0
    for a, b in zip(one, many, strict=True):
        # Counts are sums of coverage fractions (floats): only the addition order differs.
        np.testing.assert_allclose(a.w, b.w, rtol=1e-12)
        np.testing.assert_array_equal(a.lo, b.lo)
        np.testing.assert_array_equal(a.hi, b.hi)
        # Σx over float32 pixels in float64: exact here, order-dependent only in principle.
        np.testing.assert_allclose(a.s, b.s, rtol=1e-12)
        assert a.classes.keys() == b.classes.keys()
        for key in a.classes:
            np.testing.assert_allclose(a.classes[key], b.classes[key], rtol=1e-12)


#: The passes of a tiled run: the function of each, and the stage its checkpoints are named by.
_PASSES = {"inputs": "input_pieces", "reference": "first_pass", "tile": "tile_pieces"}

#: Tile size of the tests that kill a tiled run and resume it: 2 x 2 tiles of the demo's grid,
#: enough for tiles both finished and not when it is killed, each run half as long as in 4 x 4.
RESUME_TILE_PX = 272


@pytest.mark.parametrize("killed_in", ["inputs", "tile"])
def test_killed_run_resumes_from_finished_tiles(demo_folder, tmp_path, monkeypatch, killed_in):
    config = load_config(demo_folder / "config.yaml")
    size = RESUME_TILE_PX
    reference = run(config, out=tmp_path / "uninterrupted", tile_size_px=size)
    assert not any("resumed" in w for w in reference.warnings)
    out = tmp_path / "resumed"
    calls = _killed_run(monkeypatch, config, out, size, killed_in, after=3)
    checkpoints = (out / ".checkpoints").glob(f"{killed_in}.*.pkl")
    saved = {p.name.split(".")[1] for p in checkpoints}
    # Pass 0 computes tiles in batches (a chunk per worker): the tiles of the batch being
    # built when it was killed were not computed.
    assert saved <= set(calls) and saved
    if killed_in == "tile":
        assert saved == set(calls)

    inputs_done = len(list((out / ".checkpoints").glob("inputs.*.pkl")))
    again = _count_passes(monkeypatch)
    resumed = run(config, out=out, tile_size_px=size)
    n_tiles = len(_tile_names(config, size))
    said = f"resumed an interrupted run: {inputs_done} of {n_tiles} tiles read from its checkpoints"
    assert inputs_done and any(w.startswith(said) for w in resumed.warnings), resumed.warnings
    for stage in _PASSES:  # finished passes and tiles are not recomputed
        if stage == killed_in:
            assert sorted(again[stage]) == sorted(set(_tile_names(config, size)) - saved)
            assert n_tiles > 3
        elif list(_PASSES).index(stage) < list(_PASSES).index(killed_in):
            assert again[stage] == []
        else:
            assert len(again[stage]) == n_tiles
    _assert_same_run(reference, resumed, exact=True)


def test_resume_ignores_checkpoints_of_replaced_input_files(own_demo_folder, tmp_path, monkeypatch):
    """A killed tiled run whose input file is then replaced under the same name (a scene
    reprocessed, here its modification time moved) recomputes every pass, from pass 0."""
    import os

    config = load_config(own_demo_folder / "config.yaml")
    out, size = tmp_path / "run", RESUME_TILE_PX
    _killed_run(monkeypatch, config, out, size, "tile", after=2)
    band = next(own_demo_folder.rglob("*_ST_B10.TIF"))
    before = band.stat()
    again = _count_passes(monkeypatch)
    try:
        os.utime(band, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        run(config, out=out, tile_size_px=size)
    finally:
        os.utime(band, ns=(before.st_atime_ns, before.st_mtime_ns))
    n_tiles = len(_tile_names(config, size))
    assert all(len(again[stage]) == n_tiles for stage in _PASSES)


def test_resume_after_fixing_what_the_tiles_do_not_read(own_demo_folder, tmp_path, monkeypatch):
    """A killed tiled run resumes from its finished tiles after changes only the steps after
    the tiles read (the report language, the inequality settings, the census population
    table, the scheduler's workers); a setting of the composites recomputes every pass."""
    import os

    config = load_config(own_demo_folder / "config.yaml")
    out, size = tmp_path / "run", RESUME_TILE_PX
    started = _killed_run(monkeypatch, config, out, size, "tile", after=2)
    fixed = apply_overrides(
        config,
        {"outputs.report_language": "en", "inequality.bootstrap": 99, "scheduler.workers": 1},
    )
    table = config.census.population
    before = table.stat()
    again = _count_passes(monkeypatch)
    try:
        os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        resumed = run(fixed, out=out, tile_size_px=size)
    finally:
        os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    names = _tile_names(config, size)
    assert again["inputs"] == again["reference"] == []
    assert sorted(again["tile"]) == sorted(set(names) - set(started))
    whole = run(fixed, out=tmp_path / "whole", tile_size_px=4096)
    _assert_same_run(whole, resumed)
    _killed_run(monkeypatch, config, tmp_path / "other", size, "tile", after=2)
    again = _count_passes(monkeypatch)
    other = run(apply_overrides(config, {"composite.min_clear": 1}), out=tmp_path / "other",
                tile_size_px=size)  # fmt: skip
    assert all(sorted(again[stage]) == sorted(names) for stage in _PASSES)
    said = [w for w in other.warnings if w.startswith("discarded the tile checkpoints")]
    assert len(said) == 1 and "(made with another config)" in said[0], other.warnings


def test_auto_tile_size_resumes_in_the_tiles_of_its_interrupted_run(
    demo_folder, tmp_path, monkeypatch
):
    """With ``tile_size_px: auto``, a run resumed with other workers (or on a cluster),
    where auto chooses another size, keeps its finished tiles: it takes the size its
    interrupted run chose."""
    from pipelines import run as run_module

    config = load_config(demo_folder / "config.yaml")
    assert config.scheduler.tile_size_px == "auto"
    out, chosen = tmp_path / "run", RESUME_TILE_PX
    monkeypatch.setattr(run_module, "run_tile_size", lambda *args: chosen)
    started = _killed_run(monkeypatch, config, out, None, "tile", after=2)
    monkeypatch.setattr(run_module, "run_tile_size", lambda *args: 2 * chosen)  # now
    again = _count_passes(monkeypatch)
    resumed = run(apply_overrides(config, {"scheduler.workers": 1}), out=out)
    assert again["inputs"] == again["reference"] == []
    assert sorted(again["tile"]) == sorted(set(_tile_names(config, chosen)) - set(started))
    assert not any(w.startswith("discarded the tile checkpoints") for w in resumed.warnings)


def test_auto_tile_size_of_a_bigger_machine_is_not_resumed_where_it_would_not_fit(
    demo_folder, tmp_path, monkeypatch
):
    """Resumed on a machine whose memory fits only smaller tiles than the interrupted run
    chose, auto takes this machine's size (the recorded one could exhaust its memory): every
    tile is computed anew, which the discarded checkpoints' warning says."""
    from pipelines import run as run_module

    config = load_config(demo_folder / "config.yaml")
    out, chosen = tmp_path / "run", 400  # 2 x 2 tiles, then 3 x 3
    monkeypatch.setattr(run_module, "run_tile_size", lambda *args: chosen)
    _killed_run(monkeypatch, config, out, None, "tile", after=1)
    monkeypatch.setattr(run_module, "run_tile_size", lambda *args: chosen // 2)  # less memory
    again = _count_passes(monkeypatch)
    resumed = run(config, out=out)
    assert sorted(again["tile"]) == sorted(_tile_names(config, chosen // 2))
    said = [w for w in resumed.warnings if w.startswith("discarded the tile checkpoints")]
    assert len(said) == 1, resumed.warnings


def test_file_stamps_cover_local_assets_and_archives(demo_folder, tmp_path):
    """The checkpoint fingerprint stamps local assets and the archive of /vsitar/ assets
    (a Landsat .tar read in place), not remote URLs."""
    import os
    from types import SimpleNamespace

    import pystac

    from pipelines.run_plan import _file_stamps

    band = tmp_path / "B4.TIF"
    band.write_bytes(b"x" * 10)
    archive = tmp_path / "LC08_L2SP.tar"
    archive.write_bytes(b"y" * 20)
    item = pystac.Item("a", None, None, dt.datetime(2023, 7, 1), {})
    item.add_asset("red", pystac.Asset(str(band)))
    item.add_asset("st", pystac.Asset(f"/vsitar/{archive}/LC08_L2SP_ST_B10.TIF"))
    item.add_asset("nir", pystac.Asset("https://example.org/B8.tif"))
    config = load_config(demo_folder / "config.yaml")
    stamps = {path: (size, mtime) for path, size, mtime in
              _file_stamps(config, SimpleNamespace(items=[item]))}  # fmt: skip
    assert stamps[str(band)] == (10, os.stat(band).st_mtime_ns)
    assert stamps[str(archive)] == (20, os.stat(archive).st_mtime_ns)
    assert not any("example.org" in path or path.endswith("B8.tif") for path in stamps)
    assert str(demo_folder / "zones" / "iris.gpkg") in stamps  # the config's files too


def test_product_files_decode_file_urls_and_keep_curl_paths_remote(tmp_path):
    """The manifest's input files: a file URL into a folder with a space and an accent (as
    pystac writes it), one of host localhost, a /vsitar/ member (its archive), and a
    /vsicurl/ URL listed as remote without its signature."""
    from urllib.parse import quote

    from pipelines.run import _product_files

    folder = tmp_path / "Mes données"
    folder.mkdir()
    band, qa, archive = folder / "ST_B10.TIF", folder / "QA_PIXEL.TIF", folder / "LC09.tar"
    for path in (band, qa, archive):
        path.write_bytes(b"x")
    url = "https://landsateuwest.blob.core.windows.net/landsat-c2/LC09_SR_B4.TIF"
    hrefs = [
        band.as_uri(),
        f"file://localhost{quote(str(qa))}",
        f"/vsitar/{archive}/LC09/LC09_ST_QA.TIF",
        f"/vsicurl/{url}?st=2023&sig=abc",
    ]
    found = _product_files(hrefs, within=tmp_path / "run")
    assert "%20" in hrefs[0] and "%C3%A9" in hrefs[1]
    assert found.local == (str(band), str(qa), str(archive))
    assert found.remote == (f"/vsicurl/{url}",)


def _killed_run(monkeypatch, config, out, size, stage, after):
    """Run tiled, killed when pass ``stage`` starts its tile number ``after + 1``; return the
    names of the tiles it started before (the pass's real function is restored)."""
    calls = []
    real = getattr(run_tiles, _PASSES[stage])

    def crashing(*args):
        if len(calls) == after:
            raise RuntimeError("killed")
        calls.append(_tile_of(args).name)
        return real(*args)

    monkeypatch.setattr(run_tiles, _PASSES[stage], crashing)
    with pytest.raises(RuntimeError, match="killed"):
        run(config, out=out, tile_size_px=size)
    monkeypatch.setattr(run_tiles, _PASSES[stage], real)
    return calls


def _count_passes(monkeypatch):
    """Record, per pass, the tiles each pass function is called for from now on."""
    again = {stage: [] for stage in _PASSES}

    def counting(stage, real):
        def wrapped(*args):
            again[stage].append(_tile_of(args).name)
            return real(*args)

        return wrapped

    for stage, name in _PASSES.items():
        monkeypatch.setattr(run_tiles, name, counting(stage, getattr(run_tiles, name)))
    return again


def _tile_names(config, size):
    return [t.name for t in run_tiles.tiles_of(_grid_of(config), size)]


def _tile_of(args):
    return next(a for a in args if isinstance(a, Tile))


def _grid_of(config):
    from pipelines.config import area_of_interest
    from pipelines.run_graph import analysis_grid as _grid

    return _grid(config, area_of_interest(config))


def test_checkpoints_of_another_run_are_not_reused(demo_folder, tmp_path):
    from tiles.processing import TileCheckpoints

    config = load_config(demo_folder / "config.yaml")
    tiles = run_tiles.tiles_of(_grid_of(config), 150)
    store = run_tiles.checkpoints(tmp_path, {"config": "old"})
    store.save("tile", tiles[0], {"bogus": 1})
    fresh = TileCheckpoints(tmp_path / run_tiles.CHECKPOINT_DIR, {"config": "new"})
    assert not fresh.done("tile", tiles[0])


def test_cluster_run_equals_threaded_run(demo_run, demo_folder, tmp_path):
    """A run on a process-based ``LocalCluster``, reached by its tcp:// address, equals a
    threaded run: the graph, its readers and the zonal partials travel between processes."""
    from distributed import LocalCluster

    threaded_folder, threaded = demo_run
    out = tmp_path / "cluster"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        args = ["run", str(demo_folder / "config.yaml"), "--out", str(out)]
        result = CliRunner().invoke(main, [*args, "--scheduler", address, "--no-progress"])
        assert result.exit_code == 0, result.output
        # The work ran on the cluster's workers, not on a local thread pool.
        assert any(t[2] == "memory" for t in cluster.scheduler.transition_log)
    for layer in ("iris", "qpv"):
        a = threaded.zones[layer].drop(columns="geometry")
        b = gpd.read_parquet(out / "zones" / f"{layer}.parquet").drop(columns="geometry")
        assert list(a.columns) == list(b.columns)
        for column in a.columns:
            if a[column].dtype.kind in "fc":
                np.testing.assert_allclose(a[column], b[column], rtol=1e-9, err_msg=column)
            else:
                assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column
    for name in ("lst_median", "lst_anomaly", "ndvi_median", "landcover"):
        with rasterio.open(out / "rasters" / f"{name}.tif") as a:
            with rasterio.open(threaded_folder / "rasters" / f"{name}.tif") as b:
                np.testing.assert_array_equal(a.read(1), b.read(1), err_msg=name)


def test_tiled_cluster_run_equals_one_piece(whole_20m, demo_folder, tmp_path):
    """In a tiled run on a process-based cluster, the workers write the tiles' shares of the
    LST on the Landsat pixels (at 20 m) into the run folder's checkpoints and read the
    pieces back: the same run folder as one piece on threads."""
    from distributed import LocalCluster

    from pipelines.scheduler import scheduler_context

    config = apply_overrides(load_config(demo_folder / "config.yaml"), OVERRIDES_20M)
    whole, _, _ = whole_20m
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with scheduler_context(cluster.scheduler_address):
            tiled = run(config, out=tmp_path / "tiled")
        assert any(t[2] == "memory" for t in cluster.scheduler.transition_log)
    assert len(run_tiles.tiles_of(_grid_of(config), 512)) == 4
    _assert_same_run(whole, tiled)


def test_iris_percentile_rank_columns(demo_run):
    """ "Hotter than X % of the IRIS": hand-counted share of the other IRIS with a lower value."""
    out, _ = demo_run
    iris = gpd.read_parquet(out / "zones" / "iris.parquet")
    for column, prefix in (("lst_anomaly_mean_k", "lst_anomaly"), ("lst_mean_k", "lst")):
        values = iris[column].to_numpy()
        valid = np.isfinite(values)
        n = int(valid.sum())
        expected = np.full(len(values), np.nan)
        for i in np.flatnonzero(valid):
            expected[i] = 100.0 * (values[valid] < values[i]).sum() / (n - 1)
        np.testing.assert_allclose(iris[f"{prefix}_hotter_than_pct"], expected, atol=1e-9)
        # Residents: population of the other IRIS with a lower value over that of the others.
        pop = iris["population"].to_numpy(dtype=float)
        both = valid & np.isfinite(pop)
        got = iris[f"{prefix}_hotter_than_residents_pct"].to_numpy()
        for i in np.flatnonzero(both):
            others = both.copy()
            others[i] = False
            lower = others & (values < values[i])
            assert got[i] == pytest.approx(100.0 * pop[lower].sum() / pop[others].sum())
        assert np.isnan(got[~both]).all()


def test_qpv_are_ranked_among_the_qpv(demo_run):
    """ "Hotter than X % of the QPV", hand-counted; no population there, so no residents rank."""
    out, _ = demo_run
    qpv = gpd.read_parquet(out / "zones" / "qpv.parquet")
    assert len(qpv) > 2 and "lst_anomaly_hotter_than_residents_pct" not in qpv
    for column, prefix in (("lst_anomaly_mean_k", "lst_anomaly"), ("lst_mean_k", "lst")):
        values = qpv[column].to_numpy()
        valid = np.isfinite(values)
        expected = np.full(len(values), np.nan)
        for i in np.flatnonzero(valid):
            expected[i] = 100.0 * (values[valid] < values[i]).sum() / (valid.sum() - 1)
        np.testing.assert_allclose(qpv[f"{prefix}_hotter_than_pct"], expected, atol=1e-9)
    layer = gpd.read_file(out / "zones.gpkg", layer="qpv")
    np.testing.assert_array_equal(layer["lst_hotter_than_pct"], qpv["lst_hotter_than_pct"])


def test_every_configured_outcome_is_crossed_with_income(demo_run):
    """The primary outcome in inequality.json, the others under other_outcomes, all in the CSV;
    the NDVI concentration index recomputed by hand (science.md §7.1, weighted ranks)."""
    out, _ = demo_run
    data = json.loads((out / "inequality.json").read_text())
    assert data["outcome"] == "lst_anomaly_mean_k"
    assert set(data["other_outcomes"]) == {"lst_mean_k", "ndvi_mean"}
    table = pd.read_csv(out / "inequality.csv")
    assert table.columns[0] == "outcome"
    assert set(table["outcome"]) == {"lst_anomaly_mean_k", "lst_mean_k", "ndvi_mean"}
    iris = gpd.read_parquet(out / "zones" / "iris.parquet")
    used = iris.dropna(subset=["ndvi_mean", "disp_med", "population"]).sort_values("disp_med")
    h, w = used["ndvi_mean"].to_numpy(), used["population"].to_numpy(dtype=float)
    total = w.sum()
    rank = (np.cumsum(w) - w / 2) / total
    mu = (w * h).sum() / total
    cov = (w * (h - mu) * (rank - (w * rank).sum() / total)).sum() / total
    ndvi = data["other_outcomes"]["ndvi_mean"]["concentration_index"]
    assert ndvi["n"] == len(used)
    assert ndvi["value"] == pytest.approx(2 * cov / mu, rel=1e-9)
    assert ndvi["value"] > 0  # greener where richer, as the generator planted


def test_scheduler_workers_and_chunks_from_the_config(own_demo_folder, monkeypatch):
    """scheduler.workers sizes the local pool; scheduler.chunk_px the Dask chunks."""
    import dask
    import dask.multiprocessing

    import pipelines.run as run_module
    from pipelines.run_graph import scene_graph
    from pipelines.scheduler import scheduler_context

    with scheduler_context("processes", num_workers=3):
        assert dask.config.get("scheduler") is dask.multiprocessing.get
        assert dask.config.get("num_workers") == 3
    seen = {}

    def fake_run(config, out=None, overwrite=None, source=None):
        seen["num_workers"] = dask.config.get("num_workers", None)
        raise ConfigError("stop here")

    monkeypatch.setattr(run_module, "run", fake_run)
    config = own_demo_folder / "config.yaml"
    text = config.read_text() + "\n"
    small = own_demo_folder / "small_chunks.yaml"
    small.write_text(text.replace("scheduler:\n  kind: threads", "scheduler:\n  kind: threads\n"
                                  "  workers: 2\n  chunk_px: 512"))  # fmt: skip
    result = CliRunner().invoke(main, ["run", str(small)])
    assert "stop here" in result.output and seen["num_workers"] == 2

    # The Python API on the config's scheduler too, unless the caller chose one.
    def fake_folder(config, out, overwrite, tile_size_px, source):
        seen["api"] = (dask.config.get("scheduler"), dask.config.get("num_workers", None))
        raise ConfigError("stop")

    monkeypatch.setattr(run_module, "_run_to_folder", fake_folder)
    sync = apply_overrides(load_config(config), {"scheduler.kind": "synchronous",
                                                 "scheduler.workers": 3})  # fmt: skip
    with pytest.raises(ConfigError, match="stop"):
        run(sync)  # the module's own run (run_module.run is the fake above)
    assert seen["api"] == (dask.local.get_sync, 3)
    with dask.config.set(scheduler="threads"), pytest.raises(ConfigError, match="stop"):
        run(sync)
    assert seen["api"][0] == "threads"  # the caller's choice stands
    # `ilots scenarios` (which reruns the run when needed) on the same scheduler settings.
    import pipelines.scenarios as scenarios_module

    def fake_scenarios(config, **kwargs):
        seen["scenarios"] = (dask.config.get("scheduler"), dask.config.get("num_workers", None))
        raise ConfigError("stop there")

    monkeypatch.setattr(scenarios_module, "run_scenarios", fake_scenarios)
    processes = own_demo_folder / "processes.yaml"
    processes.write_text(text.replace("scheduler:\n  kind: threads",
                                      "scheduler:\n  kind: processes\n  workers: 2"))  # fmt: skip
    result = CliRunner().invoke(main, ["scenarios", str(processes)])
    assert "stop there" in result.output
    assert seen["scenarios"] == (dask.multiprocessing.get, 2)
    graph = scene_graph(load_config(small))
    assert graph.lst.chunks[1][0] == 512 and graph.lst.chunks[2][0] == 512
    assert scene_graph(load_config(config)).lst.chunks[1][0] == graph.lst.shape[1]  # 2048


def test_processes_scheduler_keeps_one_pool_for_the_run():
    """With --scheduler processes every computation of a run uses the same worker processes
    (a pool per computation re-imported the libraries each time: 116 s for a tiled demo
    run instead of 12), and the pool is shut down after."""
    import os

    import dask

    from pipelines.scheduler import scheduler_context

    def pids(n):
        return set(dask.compute(*[dask.delayed(_worker_pid)(k) for k in range(n)]))

    with scheduler_context("processes", num_workers=2):
        pool = dask.config.get("pool")
        first, second = pids(8), pids(8)
    # Two workers in all (a pool per computation would bring fresh processes, new PIDs).
    assert len(first | second) <= 2 and os.getpid() not in first | second
    with pytest.raises(RuntimeError):
        pool.submit(int)


def _worker_pid(_k):
    import os

    return os.getpid()


@pytest.mark.parametrize("resolution", [10, 20])
def test_landsat_work_on_landsat_pixels_equals_work_on_the_grid(
    demo_folder, monkeypatch, resolution
):
    """Below 30 m, masks and LST run on the Landsat pixels and are gathered onto the grid:
    the same values as loading every band onto the grid first (odc-stac's reprojection)."""
    from pipelines import run_graph
    from pipelines.config import area_of_interest, resolve_inputs

    config = apply_overrides(
        load_config(demo_folder / "config.yaml"), {"grid.resolution": resolution}
    )
    area = area_of_interest(config)
    geobox = run_graph.analysis_grid(config, area)
    items = resolve_inputs(config, area=area).landsat
    bands = ["lwir11", "qa_pixel", "st_qa"]
    assert run_graph.native_window(items, bands, geobox) is not None
    with raise_if_dask_computes():
        series = run_graph.landsat_lst(config, items, geobox)
        lst, water = series.lst, series.water
        composite = series.on_grid(temporal_composite(series.native), 512)
    assert lst.shape[1:] == water.shape == geobox.shape.yx
    assert series.native.sizes["y"] < lst.sizes["y"]  # on the coarser Landsat pixels
    monkeypatch.setattr(run_graph, "native_window", lambda *args: None)
    plain = run_graph.landsat_lst(config, items, geobox)
    assert plain.native is None and plain.on_grid(composite, 512) is composite
    xr.testing.assert_identical(lst.compute(), plain.lst.compute())
    xr.testing.assert_identical(water.compute(), plain.water.compute())
    assert np.isfinite(lst.values).mean() > 0.5 and water.values.any()
    # Composites on the Landsat pixels, gathered, equal composites of the gathered series.
    xr.testing.assert_identical(composite.compute(), temporal_composite(plain.lst).compute())


def test_missing_stratum_column_is_said(demo_run, demo_folder):
    # inequality.stratum names a column the IRIS table lacks: the statistics are computed
    # without strata, and the run says so (it said nothing).
    import pipelines.run as run_module

    _, result = demo_run
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inequality.stratum": "no_such_column", "inequality.outcomes": ["lst_mean_k"],
         "inequality.bootstrap": 99, "inequality.moran_permutations": 0},
    )  # fmt: skip
    notes: list[str] = []
    reports = run_module._inequality_reports(config, result.zones["iris"], notes)
    assert list(reports) == ["lst_mean_k"]
    assert notes == ["inequality.stratum: no per-IRIS column 'no_such_column'; no strata"]


def test_a_filosofi_table_of_former_communes_is_logged(demo_folder, tmp_path, caplog):
    """The demo's IRIS (commune 31555) against a table whose rows are all under another
    commune of the département (31999, as a table older than a commune nouvelle with a new
    code would be): the IRIS stay unmatched, said with the millésime hint, and the run
    hands the communes the filter left out to the join, which logs them (``ilots -v``)."""
    text = (demo_folder / "census" / "filosofi.csv").read_text().splitlines()
    moved = [f"31999{row[5:]}" for row in text[1:]]
    (tmp_path / "filosofi.csv").write_text("\n".join([text[0], *moved]) + "\n")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"census.filosofi": str(tmp_path / "filosofi.csv"), "outputs.report": False,
         "inequality.outcomes": ["lst_mean_k"]},
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="pipelines.census.joins"):
        result = run(config, out=tmp_path / "run")
    assert result.zones["iris"]["disp_med"].isna().all()
    assert any("millésime matches the table's year" in w for w in result.warnings)
    [logged] = [r.getMessage() for r in caplog.records if "has no row of" in r.getMessage()]
    assert "commune(s) '31555'" in logged and "'31999'" in logged


def _with_cluster(demo_folder, tmp_path, address, **scheduler):
    """The demo's config with ``scheduler.address``, written in ``tmp_path``."""
    from pipelines.config import dump_config

    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"scheduler": {"kind": "distributed", "address": address, **scheduler}},
    )
    return dump_config(config, tmp_path / "cluster.yaml")


def test_workers_win_over_the_configs_cluster_and_are_what_the_run_records(
    demo_folder, tmp_path, monkeypatch
):
    # --workers was ignored when the config named a cluster, whose error blamed --scheduler;
    # the run's config (manifest.json, config.yaml) said the config's scheduler.
    from types import SimpleNamespace

    from pipelines.scheduler import cluster_record

    seen = {}

    def fake_run(config, **kwargs):
        seen.update(scheduler=config.scheduler, cluster=cluster_record())
        return SimpleNamespace(summary=lambda with_warnings: "ran", warnings=[])

    monkeypatch.setattr(run_module, "run", fake_run)
    path = _with_cluster(demo_folder, tmp_path, "tcp://192.0.2.1:8786", tile_size_px=4096)
    result = CliRunner().invoke(main, ["run", str(path), "--workers", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert seen["cluster"]["local"] is True and seen["cluster"]["workers"] == 1
    scheduler = seen["scheduler"]
    assert (scheduler.kind, scheduler.address, scheduler.workers) == ("processes", None, 1)
    assert scheduler.tile_size_px == 4096  # the rest of the section as the config gives it
    result = CliRunner().invoke(main, ["run", str(path), "--scheduler", "threads"])
    assert result.exit_code == 0, result.output
    assert (seen["scheduler"].kind, seen["scheduler"].address) == ("threads", None)
    assert seen["cluster"] is None


def test_a_configs_cluster_without_workers_is_said_of_the_config(demo_folder, tmp_path):
    # The run waited forever, printing nothing.
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        address = empty.scheduler_address
        path = _with_cluster(demo_folder, tmp_path, address, worker_timeout_s=0.5)
        args = ["run", str(path), "--out", str(tmp_path / "r")]
        result = CliRunner().invoke(main, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(
        f"Error: ConfigError: {path}: scheduler.address: no worker joined the Dask scheduler "
        f"at {address} within 0.5 s; start workers with `dask worker {address}`"
    )
    assert not (tmp_path / "r").exists()


def test_a_cluster_run_records_the_cluster_it_ran_on(demo_folder, tmp_path):
    # --scheduler tcp://... recorded the config's kind threads in manifest.json and the run
    # folder's config.yaml; the cluster was nowhere.
    from distributed import LocalCluster

    out = tmp_path / "r"
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        args = ["run", str(demo_folder / "config.yaml"), "--out", str(out), "--no-progress"]
        result = CliRunner().invoke(main, [*args, "--scheduler", address])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["scheduler"]["kind"] == "distributed"
    assert manifest["config"]["scheduler"]["address"] == address
    assert manifest["extra"]["cluster"] == {
        "scheduler": address, "workers": 1, "threads": 2, "local": False
    }  # fmt: skip
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert recorded["scheduler"]["address"] == address
