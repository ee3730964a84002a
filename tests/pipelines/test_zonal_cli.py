"""``ilots zonal`` end to end, and the real-data oracles of issue #3.

Real inputs: the Landsat ST_B10 of the T1 scene with zones drawn in its UTM zone, and the real
Paris IRIS (EPSG:4326) over a synthetic raster in Lambert-93. exactextract is the oracle.
"""

import os
import socket
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from exactextract import exact_extract
from rasterio.transform import from_origin

from pipelines.cli import main
from tests.conftest import pinned_weighted_quantile
from tests.refusals import assert_out_refused

ST_B10 = (
    "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1/"
    "LC08_L2SP_008059_20191201_20200825_02_T1_ST_B10.TIF"
)


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _voronoi_zones(bounds, crs, n, seed=0):
    rng = np.random.default_rng(seed)
    left, bottom, right, top = bounds
    points = shapely.points(rng.uniform(left, right, n), rng.uniform(bottom, top, n))
    frame = shapely.box(left, bottom, right, top)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points),
                                                       extend_to=frame))  # fmt: skip
    ids = [f"Z{i:03d}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"zid": ids}, geometry=shapely.intersection(cells, frame), crs=crs)


def _compare(ours, theirs, pairs):
    for a, b in pairs.items():
        np.testing.assert_allclose(ours[a].to_numpy(float), theirs[b].to_numpy(float),
                                   rtol=1e-6, equal_nan=True, err_msg=a)  # fmt: skip


def test_real_landsat_st_b10_against_exactextract(real_data, tmp_path):
    raster = real_data / ST_B10
    with rasterio.open(raster) as src:
        zones = _voronoi_zones(src.bounds, src.crs, 40)
    zones_path = tmp_path / "zones.gpkg"
    zones.to_file(zones_path)
    out = tmp_path / "stats.csv"
    stats = "mean,std,count,min,max,median,p90"
    result = _run("zonal", raster, zones_path, "--id", "zid", "--stats", stats, "--out", out)
    assert result.exit_code == 0, result.output
    ours = pd.read_csv(out)
    assert list(ours.columns) == ["zid", "mean", "stdev", "count", "min", "max", "median", "p90"]
    theirs = exact_extract(str(raster), zones, ["mean", "stdev", "count", "min", "max",
                                                "median", "quantile(q=0.9)"],
                           include_cols=["zid"], output="pandas")  # fmt: skip
    assert ours["zid"].tolist() == theirs["zid"].tolist()
    _compare(ours, theirs, {"mean": "mean", "stdev": "stdev", "count": "count", "min": "min",
                            "max": "max"})  # fmt: skip
    # Quantiles: on this uint16 raster exactextract casts its interpolated quantiles to the
    # raster's integer type. Oracle: its definition written out plainly below, on
    # exactextract's own cell values and coverage fractions.
    _check_quantiles(ours, raster, zones, {0.5: "median", 0.9: "p90"})


def _check_quantiles(ours, raster, zones, columns):
    cells = exact_extract(str(raster), zones, ["values", "coverage"], output="pandas")
    for k in range(len(zones)):
        x, w = np.asarray(cells["values"][k], float), np.asarray(cells["coverage"][k], float)
        keep = (w > 0) & np.isfinite(x)
        for q, column in columns.items():
            if not keep.any():
                assert np.isnan(ours[column][k])
                continue
            expected = pinned_weighted_quantile(x[keep], w[keep], q)
            assert ours[column][k] == pytest.approx(expected, rel=1e-9), (k, column)


def test_real_paris_iris_over_lambert93_raster(real_data, tmp_path):
    iris = gpd.read_file(real_data / "iris/paris_iris_disp_med19_climbing_paris.geojson")
    iris = iris[["CODE_IRIS", "geometry"]].iloc[:400]
    l93 = iris.to_crs(2154)
    left, bottom, right, top = l93.total_bounds
    res = 50.0
    nx, ny = int((right - left) // res) + 3, int((top - bottom) // res) + 3
    transform = from_origin(left - res, top + res, res, res)
    yy, xx = np.mgrid[0:ny, 0:nx]
    values = (300 + 5 * np.sin(xx / 17.0) + 3 * np.cos(yy / 11.0)).astype("float32")
    raster = tmp_path / "lst_l93.tif"
    with rasterio.open(raster, "w", driver="GTiff", width=nx, height=ny, count=1,
                       dtype="float32", crs="EPSG:2154", transform=transform, tiled=True,
                       blockxsize=256, blockysize=256) as dst:  # fmt: skip
        dst.write(values, 1)
    zones_path = tmp_path / "iris.geojson"
    iris.to_file(zones_path)  # EPSG:4326, as published: ilots reprojects the zones
    out = tmp_path / "iris.parquet"
    result = _run("zonal", raster, zones_path, "--id", "CODE_IRIS", "--stats", "mean,count,p90",
                  "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    # DESIGN.md: a CRS mismatch is an explicit reprojection, said at the default verbosity.
    assert "zones reprojected from EPSG:4326" in result.output
    assert "to the raster's EPSG:2154" in result.output
    ours = pd.read_parquet(out)
    assert ours["CODE_IRIS"].tolist() == iris["CODE_IRIS"].tolist()
    assert ours["CODE_IRIS"].str.len().eq(9).all()
    valid = shapely.make_valid(l93.geometry.to_numpy())
    valid_zones = gpd.GeoDataFrame(geometry=valid, crs=2154)
    theirs = exact_extract(str(raster), valid_zones, ["mean", "count"], output="pandas")
    _compare(ours, theirs, {"mean": "mean", "count": "count"})
    _check_quantiles(ours, raster, valid_zones, {0.9: "p90"})


def test_gpkg_output_has_geometry_and_multiband_names(tmp_path):
    ny, nx = 40, 50
    transform = from_origin(600000, 5400000, 30, 30)
    raster = tmp_path / "two.tif"
    with rasterio.open(
        raster,
        "w",
        driver="GTiff",
        width=nx,
        height=ny,
        count=2,
        dtype="float32",
        crs="EPSG:32631",
        transform=transform,
    ) as dst:
        dst.write(np.stack([np.full((ny, nx), 1.0), np.full((ny, nx), 2.0)]).astype("float32"))
    zones = _voronoi_zones((600000, 5400000 - ny * 30, 600000 + nx * 30, 5400000), 32631, 5)
    zones.to_file(tmp_path / "z.gpkg")
    out = tmp_path / "out.gpkg"
    assert _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean",
                "--out", out).exit_code == 0  # fmt: skip
    got = gpd.read_file(out)
    assert list(got.columns) == ["zid", "b1_mean", "b2_mean", "geometry"]
    np.testing.assert_allclose(got["b1_mean"], 1.0)
    np.testing.assert_allclose(got["b2_mean"], 2.0)
    assert got.crs.to_epsg() == 32631
    one = tmp_path / "one.csv"
    assert _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--band", "2",
                "--stats", "mean", "--out", one).exit_code == 0  # fmt: skip
    np.testing.assert_allclose(pd.read_csv(one)["mean"], 2.0)


def _small_raster(path, values, **profile):
    """A 300 m square float32 raster in UTM 31N (``values``: its rows, its columns)."""
    ny, nx = values.shape
    transform = from_origin(600000, 5400000, 30, 30)
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=1,
                       dtype="float32", crs="EPSG:32631", transform=transform,
                       **profile) as dst:  # fmt: skip
        dst.write(values.astype("float32")[None])
    return path


def test_zonal_cli_errors(tmp_path):
    raster = _small_raster(tmp_path / "r.tif", np.ones((10, 10)))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones = pd.concat([zones, zones.iloc[:1]])
    zones.to_file(tmp_path / "dup.gpkg")
    for args, fragment in [
        (("--id", "zid", "--out", tmp_path / "a.csv"), "not unique"),
        (("--id", "missing", "--out", tmp_path / "a.csv"), "columns found"),
        (("--id", "zid", "--stats", "mode", "--out", tmp_path / "a.csv"), "unknown statistic"),
        (("--id", "zid", "--out", tmp_path / "a.xlsx"), ".csv, .parquet, .gpkg"),
    ]:
        result = _run("zonal", raster, tmp_path / "dup.gpkg", *args)
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and fragment in errors[0], result.output
    assert not (tmp_path / "a.csv").exists()


def test_zonal_makes_a_missing_output_folder(tmp_path):
    """As the other commands (it refused with a FileNotFoundError); a failure leaves none."""
    raster = _small_raster(tmp_path / "r.tif", np.ones((10, 10)))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    out = tmp_path / "new" / "deeper" / "stats.csv"
    result = _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (3 zones" in result.output
    assert pd.read_csv(out)["zid"].tolist() == ["Z000", "Z001", "Z002"]
    gone = tmp_path / "gone" / "stats.csv"
    result = _run("zonal", raster, tmp_path / "z.gpkg", "--id", "nope", "--out", gone)
    assert result.exit_code == 1 and "columns found" in result.output
    assert not gone.parent.exists()


def test_zonal_into_an_existing_geopackage_adds_its_layer(tmp_path):
    """--out a GeoPackage holding iris, qpv and QGIS's layer_styles (a run's zones.gpkg):
    the statistics become its layer ``zones``, the others are kept (they were all wiped)."""
    import contextlib
    import sqlite3

    import pyogrio

    raster = _small_raster(tmp_path / "r.tif", np.arange(100.0).reshape(10, 10))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg")
    out = tmp_path / "zones.gpkg"
    zones.rename(columns={"zid": "code_iris"}).to_file(out, layer="iris")
    zones.iloc[:1].rename(columns={"zid": "code_qp"}).to_file(out, layer="qpv")
    with contextlib.closing(sqlite3.connect(out)) as con, con:
        con.execute("CREATE TABLE layer_styles (f_table_name TEXT, styleQML TEXT)")
        con.execute("INSERT INTO layer_styles VALUES ('iris', '<qgis/>')")
    result = _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}, layer zones (3 zones, 2 columns)" in result.output
    assert sorted(str(n) for n, _ in pyogrio.list_layers(out)) == [
        "iris", "layer_styles", "qpv", "zones"
    ]  # fmt: skip
    assert gpd.read_file(out, layer="iris")["code_iris"].tolist() == ["Z000", "Z001", "Z002"]
    assert gpd.read_file(out, layer="qpv")["code_qp"].tolist() == ["Z000"]
    with contextlib.closing(sqlite3.connect(out)) as con:
        assert con.execute("SELECT * FROM layer_styles").fetchall() == [("iris", "<qgis/>")]
    theirs = exact_extract(str(raster), zones, ["mean", "count"], output="pandas")
    written = gpd.read_file(out, layer="zones")
    assert written["zid"].tolist() == ["Z000", "Z001", "Z002"]
    _compare(written, theirs, {"mean": "mean", "count": "count"})


def _one_error(result):
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    return errors[0]


def test_zonal_zone_files_as_users_give_them(tmp_path):
    """The run's GeoParquet and a layer of its zones.gpkg are read; a table without geometry,
    a GeoPackage of several layers without --layer, an empty layer, zones off the raster, a
    truncated raster and --out naming the zone file each get one line (the zone file left
    as it was)."""
    values = np.arange(100.0).reshape(10, 10)
    raster = _small_raster(tmp_path / "r.tif", values, tiled=True, blockxsize=16, blockysize=16)
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_parquet(tmp_path / "z.parquet")
    gpkg = tmp_path / "zones.gpkg"
    zones.to_file(gpkg, layer="iris")
    far = zones.assign(geometry=zones.translate(1e5, 0))  # 100 km east: off the raster
    far.to_file(gpkg, layer="qpv")
    zones.iloc[:0].to_file(tmp_path / "empty.gpkg")
    pd.DataFrame({"zid": ["Z000"]}).to_csv(tmp_path / "table.csv", index=False)
    pd.DataFrame({"zid": ["Z000"]}).to_parquet(tmp_path / "table.parquet")  # no GeoParquet
    points = zones.assign(geometry=zones.centroid)
    points.to_file(tmp_path / "points.gpkg")
    common = ("--id", "zid", "--stats", "mean")
    parquet = _run("zonal", raster, tmp_path / "z.parquet", *common, "--out", tmp_path / "p.csv")
    layer = _run("zonal", raster, gpkg, "--layer", "iris", *common, "--out", tmp_path / "l.csv")
    assert parquet.exit_code == 0 and layer.exit_code == 0, parquet.output + layer.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), pd.read_csv(tmp_path / "l.csv"))
    before = gpkg.read_bytes()
    for zone_file, extra, fragment in [
        (tmp_path / "table.csv", (), "table.csv has no zone geometry"),
        (tmp_path / "table.parquet", (), "table.parquet has no zone geometry"),
        (tmp_path / "z.parquet", ("--layer", "iris"), "holds one layer: leave out --layer"),
        (tmp_path / "points.gpkg", (), "no zone has a polygon"),
        (gpkg, (), "zones.gpkg has several layers (iris, qpv); choose one with --layer"),
        (gpkg, ("--layer", "qpvv"), "has no zone layer 'qpvv'; its zone layers: iris, qpv"),
        (gpkg, ("--layer", "qpv"), "none of the 3 zones overlaps the raster"),
        (tmp_path / "empty.gpkg", (), "empty.gpkg holds no zone"),
    ]:
        result = _run("zonal", raster, zone_file, *extra, *common, "--out", tmp_path / "x.csv")
        assert fragment in _one_error(result)
    result = _run("zonal", raster, gpkg, "--layer", "iris", *common, "--out", gpkg)
    assert "is the input file" in _one_error(result) and gpkg.read_bytes() == before
    partly = pd.concat([zones, far.iloc[:1].assign(zid="far")])
    partly.to_file(tmp_path / "partly.gpkg")
    out = tmp_path / "y.csv"
    result = _run("zonal", raster, tmp_path / "partly.gpkg", *common, "--out", out)
    assert result.exit_code == 0 and pd.read_csv(out)["mean"].isna().sum() == 1
    assert "reprojected" not in result.output  # zones and raster both in EPSG:32631
    said = "warning: 1 of 4 zones do not overlap the raster (e.g. far); they get NaN statistics"
    assert said in result.output.splitlines()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(raster.read_bytes()[:-200])
    result = _run("zonal", cut, gpkg, "--layer", "iris", *common, "--out", tmp_path / "c.csv")
    assert "file is truncated" in _one_error(result)
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "c.csv").exists()


def test_zonal_options_that_do_nothing_are_said(tmp_path):
    raster = _small_raster(tmp_path / "r.tif", np.arange(100.0).reshape(10, 10))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    result = _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean,frac",
                  "--all-touched", "--weights", raster, "--out", tmp_path / "o.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 2  # frac on a float raster of whole codes (0 to 99) is not one
    assert "--all-touched only changes --method centre" in warned[0]
    assert "--weights is only used by weighted_mean and weighted_sum" in warned[1]


def test_zonal_strict_ends_with_status_3_when_it_warned(tmp_path):
    # The two options that do nothing above: two warnings, the table written all the same.
    raster = _small_raster(tmp_path / "r.tif", np.arange(100.0).reshape(10, 10))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    common = (raster, tmp_path / "z.gpkg", "--id", "zid", "--strict")
    result = _run("zonal", *common, "--all-touched", "--weights", raster,
                  "--out", tmp_path / "o.csv")  # fmt: skip
    assert result.exit_code == 3, result.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 3
    assert result.output.rstrip().endswith(
        "--strict: ilots zonal finished with 2 warning(s) (above); exit status 3"
    )
    clean = _run("zonal", *common, "--out", tmp_path / "c.csv")
    assert clean.exit_code == 0 and "warning" not in clean.output, clean.output


def test_zonal_frac_on_a_float_raster_of_measurements_is_refused(tmp_path):
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    lst = _small_raster(tmp_path / "lst.tif", 290 + np.arange(100.0).reshape(10, 10) / 8)
    result = _run("zonal", lst, tmp_path / "z.gpkg", "--id", "zid", "--stats", "frac",
                  "--out", tmp_path / "o.csv")  # fmt: skip
    error = _one_error(result)
    assert "frac gives the share of each class of a class raster (land cover)" in error
    assert "non-integer values (e.g. 290.125)" in error and "--stats mean,p90" in error
    assert not (tmp_path / "o.csv").exists()
    # The same raster classified, and stored as float32 (NaN nodata): frac by hand.
    classes = np.where(np.arange(100).reshape(10, 10) < 30, 1.0, 2.0)
    classes[9, 9] = np.nan
    land = _small_raster(tmp_path / "land.tif", classes, nodata=np.nan)
    one = gpd.GeoDataFrame({"zid": ["all"]}, geometry=[shapely.box(600000, 5399700, 600300,
                           5400000)], crs=32631)  # fmt: skip
    one.to_file(tmp_path / "one.gpkg")
    result = _run("zonal", land, tmp_path / "one.gpkg", "--id", "zid", "--stats", "frac",
                  "--out", tmp_path / "f.csv")  # fmt: skip
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    table = pd.read_csv(tmp_path / "f.csv")
    assert list(table.columns) == ["zid", "frac_1", "frac_2"]
    assert table["frac_1"].item() == pytest.approx(30 / 99)  # 3 rows of 10 of 99 valid
    assert table["frac_2"].item() == pytest.approx(69 / 99)


def _stats_files(tmp_path, raster, zones, name, *extra):
    """Run ``ilots zonal`` (mean) into NAME.csv and NAME.parquet; return both paths."""
    outs = [tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet"]
    for out in outs:
        result = _run("zonal", raster, zones, "--id", "zid", "--stats", "mean", *extra,
                      "--out", out)  # fmt: skip
        assert result.exit_code == 0, result.output
    return outs


def test_zonal_of_a_synthetic_raster_is_marked_synthetic(tmp_path):
    """Issue #5: a raster tagged ``synthetic=true`` (as a demo run's COGs) gives a CSV with a
    last ``synthetic`` column and a Parquet file whose ``ilots`` metadata says so."""
    import json

    import pyarrow.parquet as pq

    values = np.arange(100.0).reshape(10, 10)
    raster = _small_raster(tmp_path / "r.tif", values)
    with rasterio.open(raster, "r+") as dst:
        dst.update_tags(synthetic="true")
    zones = gpd.GeoDataFrame({"zid": ["A", "B"]}, crs=32631, geometry=[
        shapely.box(600000, 5399850, 600150, 5400000),  # rows 0-4, columns 0-4
        shapely.box(600150, 5399700, 600300, 5399850),  # rows 5-9, columns 5-9
    ])  # fmt: skip
    zones.to_file(tmp_path / "z.gpkg")
    csv, parquet = _stats_files(tmp_path, raster, tmp_path / "z.gpkg", "stats")
    table = pd.read_csv(csv)
    # hand: mean of 10 r + c over r, c in 0..4 is 22; over 5..9 it is 77
    assert list(table.columns) == ["zid", "mean", "synthetic"]
    assert table["synthetic"].tolist() == [True, True]
    np.testing.assert_allclose(table["mean"], [22.0, 77.0])
    provenance = json.loads(pq.read_schema(parquet).metadata[b"ilots"])
    assert provenance["synthetic"] is True
    # said once: no second key from pandas' attrs (zonal_table's mark)
    assert set(pq.read_schema(parquet).metadata) == {b"ilots", b"pandas"}
    assert "synthetic" not in pd.read_parquet(parquet).columns
    # a --weights raster tagged synthetic marks the table too, when a statistic uses it
    plain = _small_raster(tmp_path / "plain.tif", values)
    weighted, _ = _stats_files(tmp_path, plain, tmp_path / "z.gpkg", "w",
                               "--stats", "weighted_mean", "--weights", raster)  # fmt: skip
    assert list(pd.read_csv(weighted).columns) == ["zid", "weighted_mean", "synthetic"]
    # ignored weights (no weighted statistic) neither mark it nor are read: not even a raster
    (tmp_path / "w.txt").write_text("not a raster")
    ignored, _ = _stats_files(tmp_path, plain, tmp_path / "z.gpkg", "i", "--weights",
                              tmp_path / "w.txt")  # fmt: skip
    assert list(pd.read_csv(ignored).columns) == ["zid", "mean"]


def test_zonal_of_synthetic_zones_is_marked_synthetic(tmp_path):
    """Zones that say they are synthetic: a GeoPackage layer described with SYNTHETIC_MARK,
    or a GeoParquet file of ``"synthetic": true`` (a demo run's zones.gpkg, zones/*.parquet)."""
    import pyogrio

    from pipelines.outputs.geopackage import SYNTHETIC_MARK
    from pipelines.outputs.tables import write_geoparquet

    raster = _small_raster(tmp_path / "r.tif", np.ones((10, 10)))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg", layer="iris",
                  layer_options={"DESCRIPTION": SYNTHETIC_MARK + "IRIS"})  # fmt: skip
    write_geoparquet(zones, tmp_path / "z.parquet", synthetic=True)
    write_geoparquet(zones, tmp_path / "real.parquet", synthetic=False)
    for source, marked in [("z.gpkg", True), ("z.parquet", True), ("real.parquet", False)]:
        out = tmp_path / f"of_{source}.csv"
        result = _run("zonal", raster, tmp_path / source, "--id", "zid", "--out", out)
        assert result.exit_code == 0, result.output
        assert ("synthetic" in pd.read_csv(out).columns) is marked, source
    out = tmp_path / "of_z.gpkg"
    assert _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--out", out).exit_code == 0
    described = pyogrio.read_info(out, layer="of_z")["layer_metadata"]["DESCRIPTION"]
    assert described.startswith(SYNTHETIC_MARK)


def test_zonal_of_real_inputs_is_written_as_before(tmp_path):
    """Untagged raster, unmarked zones: no ``synthetic`` column, and the bytes pandas writes
    for the table itself (the oracle: the CSV of the hand-computed means, the Parquet of the
    same table) -- no ilots metadata, no GeoPackage description."""
    import pyarrow.parquet as pq
    import pyogrio

    values = np.arange(100.0).reshape(10, 10)
    raster = _small_raster(tmp_path / "r.tif", values)
    zones = gpd.GeoDataFrame({"zid": ["A", "B"]}, crs=32631, geometry=[
        shapely.box(600000, 5399850, 600150, 5400000),
        shapely.box(600150, 5399700, 600300, 5399850),
    ])  # fmt: skip
    zones.to_file(tmp_path / "z.gpkg")
    csv, parquet = _stats_files(tmp_path, raster, tmp_path / "z.gpkg", "stats")
    expected = pd.DataFrame({"zid": ["A", "B"], "mean": [22.0, 77.0]})
    assert csv.read_text() == expected.to_csv(index=False)
    assert b"ilots" not in (pq.read_schema(parquet).metadata or {})
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), expected, check_dtype=False)
    out = tmp_path / "stats.gpkg"
    assert _run("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean",
                "--out", out).exit_code == 0  # fmt: skip
    assert pyogrio.read_info(out)["layer_metadata"] is None


@pytest.mark.parametrize("tag", ["true", "yes", None])
def test_zonal_table_says_a_synthetic_raster_in_its_attrs(tmp_path, tag):
    """Issue #5: the Python API marks its table as the command marks its file, in
    ``table.attrs["synthetic"]`` (pandas' metadata), with the columns of a real table; a
    real (untagged) raster leaves the key out."""
    from pipelines.zonal import zonal_table

    raster = _small_raster(tmp_path / "r.tif", np.arange(100.0).reshape(10, 10))
    if tag is not None:
        with rasterio.open(raster, "r+") as dst:
            dst.update_tags(synthetic=tag)
    zones = gpd.GeoDataFrame({"zid": ["A", "B"]}, crs=32631, geometry=[
        shapely.box(600000, 5399850, 600150, 5400000),  # rows 0-4, columns 0-4
        shapely.box(600150, 5399700, 600300, 5399850),  # rows 5-9, columns 5-9
    ])  # fmt: skip
    zones.to_file(tmp_path / "z.gpkg")
    for given in (zones, tmp_path / "z.gpkg"):  # a GeoDataFrame, or a zone file
        table, _ = zonal_table(raster, given, id="zid", stats="mean")
        assert list(table.columns) == ["zid", "mean"]
        np.testing.assert_allclose(table["mean"], [22.0, 77.0])  # by hand, as above
        if tag is None:
            assert "synthetic" not in table.attrs
        else:
            assert table.attrs["synthetic"] is True


def _no_computation(monkeypatch):
    import pipelines.zonal

    def computed(*args, **kwargs):
        raise AssertionError("the statistics were computed")

    monkeypatch.setattr(pipelines.zonal, "zonal_table", computed)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_zonal_refuses_an_existing_table_unless_told_to_overwrite(tmp_path, monkeypatch, suffix):
    """Last month's table is not replaced silently: refused before any statistic, left byte
    for byte; --overwrite replaces it (a raster of 7 everywhere: each zone's mean is 7)."""
    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    out = tmp_path / f"stats{suffix}"
    out.write_bytes(b"last month")
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    with monkeypatch.context() as patched:
        _no_computation(patched)
        assert_out_refused(_run(*args), f"{out} exists")
    assert out.read_bytes() == b"last month"
    result = _run(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert table["zid"].tolist() == ["Z000", "Z001", "Z002"]
    np.testing.assert_allclose(table["mean"], 7.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tif", f"stats{suffix}", "z.gpkg"]


def test_zonal_into_a_geopackage_refuses_only_its_own_layer(tmp_path, monkeypatch):
    """A GeoPackage that has the layer named after it (stats.gpkg: stats) would lose it:
    refused; with --overwrite that layer is replaced and the others kept. One without that
    layer only gains it (test_zonal_into_an_existing_geopackage_adds_its_layer)."""
    import pyogrio

    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg")
    out = tmp_path / "stats.gpkg"
    zones.iloc[:1].assign(mean=-1.0).to_file(out, layer="stats")  # last month's
    zones.rename(columns={"zid": "code_iris"}).to_file(out, layer="iris")
    before = out.read_bytes()
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    with monkeypatch.context() as patched:
        _no_computation(patched)
        assert_out_refused(_run(*args), f"{out} (its layer stats) exists")
    assert out.read_bytes() == before
    result = _run(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(str(n) for n, _ in pyogrio.list_layers(out)) == ["iris", "stats"]
    written = gpd.read_file(out, layer="stats")
    assert written["zid"].tolist() == ["Z000", "Z001", "Z002"]
    np.testing.assert_allclose(written["mean"], 7.0)
    assert gpd.read_file(out, layer="iris")["code_iris"].tolist() == ["Z000", "Z001", "Z002"]


def _written_meanwhile(monkeypatch, write):
    """Make ``write()`` run once the statistics are computed: another command aimed at the
    same --out finishing first, after this one's up-front check passed."""
    import pipelines.zonal

    compute = pipelines.zonal.zonal_table

    def computed(*args, **kwargs):
        result = compute(*args, **kwargs)
        write()
        return result

    monkeypatch.setattr(pipelines.zonal, "zonal_table", computed)


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_zonal_does_not_replace_a_table_that_appeared_meanwhile(tmp_path, monkeypatch, suffix):
    """Two commands into one new --out at once: the second to finish is refused as the
    up-front check refuses, the first one's file is left byte for byte, no temporary file."""
    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    out = tmp_path / f"stats{suffix}"
    _written_meanwhile(monkeypatch, lambda: out.write_bytes(b"the other command's"))
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    assert_out_refused(_run(*args), f"{out} exists")
    assert out.read_bytes() == b"the other command's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tif", f"stats{suffix}", "z.gpkg"]


def test_zonal_does_not_replace_a_layer_that_appeared_meanwhile(tmp_path, monkeypatch):
    """A GeoPackage without the layer at the check; another command adds it meanwhile:
    refused for the layer, the file as the other command left it."""
    import pyogrio

    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg")
    out = tmp_path / "stats.gpkg"
    zones.to_file(out, layer="iris")
    _written_meanwhile(monkeypatch, lambda: zones.assign(mean=-1.0).to_file(out, layer="stats"))
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    result = _run(*args)
    assert_out_refused(result, f"{out} (its layer stats) exists")
    assert sorted(str(n) for n, _ in pyogrio.list_layers(out)) == ["iris", "stats"]
    np.testing.assert_allclose(gpd.read_file(out, layer="stats")["mean"], -1.0)  # theirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tif", "stats.gpkg", "z.gpkg"]


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
@pytest.mark.parametrize("layer", ["iris", "stats"])
def test_zonal_into_a_geopackage_another_command_writes_stops_before_the_work(
    tmp_path, monkeypatch, layer
):
    """A GeoPackage another ilots command is adding a layer to (its file_lock held) was
    refused only once the statistics were computed: refused before them, naming the holder,
    the file left as it was, and before anything opens it with SQLite (its layers listed,
    its journals checked) while that command copies it. Holding the layer zonal would write
    ("stats"), it is not refused as a layer to --overwrite first."""
    import pyogrio

    from pipelines.outputs import geopackage
    from pipelines.outputs.lock import file_lock

    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg")
    out = tmp_path / "stats.gpkg"
    zones.to_file(out, layer=layer)
    before = out.read_bytes()
    _no_computation(monkeypatch)
    checked, listed = [], []
    monkeypatch.setattr(geopackage, "check_closed", checked.append)
    monkeypatch.setattr(pyogrio, "list_layers", lambda *a, **k: listed.append(a))
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    with file_lock(out):  # another command's hold (another open of the lock file)
        result = _run(*args)
    assert checked == [] and listed == []
    assert _one_error(result) == (
        f"Error: OutputError: {out.resolve()} is being written by another ilots command (pid "
        f"{os.getpid()} on {socket.gethostname()}); wait for it to end, then run this one again"
    )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tif", "stats.gpkg", "z.gpkg"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_zonal_into_a_linked_geopackage_writes_through_the_link(tmp_path, overwrite):
    """stats.gpkg a link to a GeoPackage elsewhere holding iris (and, for --overwrite, last
    month's stats): the layer is written into the file the link names, iris kept, and the
    link stays a link (it was replaced by a file)."""
    import pyogrio

    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    zones = _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3)
    zones.to_file(tmp_path / "z.gpkg")
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "city.gpkg"
    zones.rename(columns={"zid": "code_iris"}).to_file(real, layer="iris")
    if overwrite:
        zones.assign(mean=-1.0).to_file(real, layer="stats")
    out = tmp_path / "stats.gpkg"
    out.symlink_to(real)
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    result = _run(*args, *(["--overwrite"] if overwrite else []))
    assert result.exit_code == 0, result.output
    assert out.is_symlink() and out.readlink() == real
    assert sorted(str(n) for n, _ in pyogrio.list_layers(real)) == ["iris", "stats"]
    np.testing.assert_allclose(gpd.read_file(real, layer="stats")["mean"], 7.0)
    assert gpd.read_file(real, layer="iris")["code_iris"].tolist() == ["Z000", "Z001", "Z002"]
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["city.gpkg"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_zonal_into_a_linked_geopackage_in_a_read_only_folder_stops_first(
    tmp_path, monkeypatch, overwrite
):
    """stats.gpkg a link to a GeoPackage in a read-only store: the layer is written through
    the link (a new layer without --overwrite too), so the new file would be made in the
    store; said in one line before any statistic, the GeoPackage left."""
    from tests.pipelines.outputs.helpers import read_only

    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "city.gpkg"
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(real, layer="iris")
    before = real.read_bytes()
    out = tmp_path / "stats.gpkg"
    out.symlink_to(real)
    read_only(monkeypatch, real.parent)
    _no_computation(monkeypatch)
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    result = _run(*args, *(["--overwrite"] if overwrite else []))
    assert _one_error(result) == (
        f"Error: OutputError: --out {out}: cannot write in {real.parent} (where the link {out} "
        "points) (Permission denied); choose a folder you can write to"
    )
    assert real.read_bytes() == before and out.is_symlink()


def test_zonal_refuses_a_dangling_link_at_out(tmp_path, monkeypatch):
    """A link at --out naming no file (a store not mounted) is refused as a file is."""
    raster = _small_raster(tmp_path / "r.tif", np.full((10, 10), 7.0))
    _voronoi_zones((600000, 5399700, 600300, 5400000), 32631, 3).to_file(tmp_path / "z.gpkg")
    out = tmp_path / "stats.gpkg"
    out.symlink_to(tmp_path / "unmounted" / "stats.gpkg")
    args = ("zonal", raster, tmp_path / "z.gpkg", "--id", "zid", "--stats", "mean", "--out", out)
    with monkeypatch.context() as patched:
        _no_computation(patched)
        assert_out_refused(_run(*args), f"{out} exists")
    assert out.is_symlink() and not out.exists()
