"""Local band files on the grid they are read onto: windowed reads instead of odc-loader.

Two oracles: the values odc-loader gives for the same load (``raster.load._native_reads``
switched off: the path every other load takes), and the files read whole with rasterio and
indexed by hand (grid pixel ``(i, j)`` of a grid offset by ``(oy, ox)`` 10 m pixels from the
product is 10 m pixel ``(i + oy, j + ox)`` and 20 m pixel ``((i + oy) // 2, (j + ox) // 2)``;
``DN * 1e-4 - 0.1`` from baseline 04.00 on, ``DN * 1e-4`` before; NaN for DN 0, 65535 and
outside the file).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

import raster.load
from raster.load import item_geobox, load_stored
from raster.native_read import NativeBand, read_native
from raster.sources import open_product
from raster.synthetic import write_sentinel2_earthsearch
from tests.conftest import raise_if_dask_computes
from tiles.errors import ReadError

X0, Y0, SIZE = 600000.0, 5400000.0, 1040  # the products' 10 m grid (20 m: 520 pixels)
BANDS = ["red", "nir", "swir16", "scl"]
FILES = {"red": "B04.tif", "nir": "B08.tif", "swir16": "B11.tif", "scl": "SCL.tif"}
#: Grids as (rows, cols) offsets in 10 m pixels from the products' origin and shapes:
#: the products' own; whole 20 m pixels into it, past its south edge; whole 20 m pixels
#: before it (north-west), past every edge; odd 10 m pixels (each 20 m pixel still 2 x 2
#: grid pixels, at another phase).
GRIDS = {
    "own": ((0, 0), (SIZE, SIZE)),
    "20m-inside-past-south": ((10, 6), (1100, 1000)),
    "20m-before-past-all": ((-4, -14), (1100, 1090)),
    "odd-10m": ((-3, 5), (1030, 1045)),
}


def _products(tmp_path):
    rng = np.random.default_rng(5)
    items = []
    for k, (date, baseline) in enumerate([("2023-07-14T10:56:00Z", "05.10"),
                                          ("2023-08-03T10:56:00Z", "02.14")]):  # fmt: skip
        bands = {
            "red": rng.integers(1, 20000, (SIZE, SIZE), dtype=np.uint16),
            "nir": rng.integers(1, 20000, (SIZE, SIZE), dtype=np.uint16),
            "swir16": rng.integers(1, 20000, (SIZE // 2, SIZE // 2), dtype=np.uint16),
            "scl": rng.integers(0, 12, (SIZE // 2, SIZE // 2), dtype=np.uint8),
        }
        for name in ("red", "swir16"):  # NO_DATA and SATURATED DNs
            band = bands[name]
            band[rng.random(band.shape) < 0.01] = 0
            band[rng.random(band.shape) < 0.01] = 65535
        path = write_sentinel2_earthsearch(
            tmp_path / str(k), bands=bands, tile="31TCJ", datetime=date, crs=32631,
            transform=from_origin(X0, Y0, 10, 10), processing_baseline=baseline, blocksize=256,
        )  # fmt: skip
        items.append(open_product(path.parent))
    return items


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    return _products(tmp_path_factory.mktemp("s2"))


def _grid(name):
    (oy, ox), shape = GRIDS[name]
    return GeoBox(shape, from_origin(X0 + 10 * ox, Y0 - 10 * oy, 10, 10), "EPSG:32631")


def _load(items, grid, resampling, *, odc_loader, monkeypatch):
    """Stored values computed, through odc-loader or (with it forbidden) the windowed reads."""
    with monkeypatch.context() as patch:
        if odc_loader:
            patch.setattr(raster.load, "_native_reads", lambda *args, **kwargs: {})
        else:
            patch.setattr(raster.load.odc.stac, "load", _no_odc_loader)
        stored = load_stored(items, BANDS, geobox=grid, chunk=512, resampling=resampling)
        return stored, stored.data.compute()


def _no_odc_loader(*args, **kwargs):
    raise AssertionError("odc-stac loaded a band the windowed reads should have")


@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("resampling", ["nearest", "red bilinear"])
def test_windowed_reads_give_odc_loaders_values(products, grid, resampling, monkeypatch):
    methods = {b: "nearest" for b in BANDS}
    if resampling == "red bilinear":  # a 10 m band on the 10 m grid: nothing to resample
        methods["red"] = "bilinear"
    new, got = _load(products, _grid(grid), methods, odc_loader=False, monkeypatch=monkeypatch)
    old, want = _load(products, _grid(grid), methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)
    for band in BANDS:
        assert new.data[band].data.chunks == old.data[band].data.chunks
    xr.testing.assert_identical(new.physical().compute(), old.physical().compute())


@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_windowed_reads_give_the_files_pixels_indexed_by_hand(products, grid, monkeypatch):
    stored, _ = _load(products, _grid(grid), {b: "nearest" for b in BANDS}, odc_loader=False,
                      monkeypatch=monkeypatch)  # fmt: skip
    got = stored.physical().compute()
    (oy, ox), (ny, nx) = GRIDS[grid]
    rows, cols = np.arange(ny) + oy, np.arange(nx) + ox
    for t, (item, offset) in enumerate(zip(products, (-0.1, 0.0), strict=True)):
        for band in BANDS:
            step = 1 if band in ("red", "nir") else 2
            with rasterio.open(item.assets[band].get_absolute_href()) as src:
                dn = src.read(1).astype(np.float64)
            r, c = np.floor_divide(rows, step), np.floor_divide(cols, step)
            inside = (r[:, None] >= 0) & (r[:, None] < dn.shape[0])
            inside = inside & (c[None, :] >= 0) & (c[None, :] < dn.shape[1])
            values = dn[np.clip(r, 0, dn.shape[0] - 1)][:, np.clip(c, 0, dn.shape[1] - 1)]
            missing = ~inside | (values == 0) | ((values == 65535) & (band != "scl"))
            scale, add = (1.0, 0.0) if band == "scl" else (1e-4, offset)
            want = np.where(missing, np.nan, values * scale + add)
            np.testing.assert_allclose(got[band].values[t], want, rtol=1e-6, atol=1e-7,
                                       err_msg=f"{band} of {item.id}")  # fmt: skip


def _recording_odc_loader(monkeypatch):
    """Record the bands each odc-stac load is given (and load them)."""
    loaded, real_load = [], raster.load.odc.stac.load

    def recording_load(*args, **kwargs):
        loaded.append(list(kwargs["bands"]))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(raster.load.odc.stac, "load", recording_load)
    return loaded


@pytest.mark.parametrize("disagreement", ["transform", "crs"])
def test_a_band_whose_file_header_is_not_its_items_grid_is_left_to_odc_loader(
    products, disagreement, tmp_path, monkeypatch
):
    """The item says B04 starts one 10 m pixel further east than its file does, or its file
    says another UTM zone than its item: odc-loader places the pixels by the header and picks
    files by the item, so the whole band is read by it, and only that band."""
    items = [item.clone() for item in products]
    for k, item in enumerate(items):
        asset = item.assets["red"]
        if disagreement == "transform":
            transform = list(asset.extra_fields["proj:transform"])
            transform[2] += 10.0
            asset.extra_fields["proj:transform"] = transform
        else:
            copy = tmp_path / f"B04-{k}.tif"
            shutil.copy(asset.get_absolute_href(), copy)
            with rasterio.open(copy, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
                dst.crs = "EPSG:32632"
            asset.href = str(copy)
    grid = _grid("20m-inside-past-south")
    methods = {b: "nearest" for b in BANDS}
    with monkeypatch.context() as patch:
        loaded = _recording_odc_loader(patch)
        got = load_stored(items, BANDS, geobox=grid, chunk=512, resampling=methods).data.compute()
    assert loaded == [["red"]]
    _, want = _load(items, grid, methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)
    if disagreement == "transform":
        with rasterio.open(items[0].assets["red"].get_absolute_href()) as src:
            first = src.read(1, window=((10, 11), (6, 7)))[0, 0]  # the grid's pixel (0, 0)
        assert got.red.values[0, 0, 0] == (first if first != 65535 else 0)


def test_files_are_read_in_odc_loaders_gdal_environment_without_their_sidecars(
    products, tmp_path, monkeypatch
):
    """odc-loader opens files without listing their folder (GDAL_DISABLE_READDIR_ON_OPEN=
    EMPTY_DIR), so a ``.aux.xml`` beside a file, here one moving B04 a pixel east and naming
    a DN of its pixels nodata, is not seen: neither by the windowed reads (the header check,
    the pixel reads)."""
    items = [item.clone() for item in products]
    with rasterio.open(items[0].assets["red"].get_absolute_href()) as src:
        common = int(src.read(1, window=((5, 6), (5, 6)))[0, 0])
    for k, item in enumerate(items):
        copy = tmp_path / f"B04-{k}.tif"
        shutil.copy(item.assets["red"].get_absolute_href(), copy)
        gt = f"{X0 + 10:.1f}, 10.0, 0.0, {Y0:.1f}, 0.0, -10.0"
        band = f'<PAMRasterBand band="1"><NoDataValue>{common}</NoDataValue></PAMRasterBand>'
        Path(f"{copy}.aux.xml").write_text(f"<PAMDataset><GeoTransform>{gt}</GeoTransform>"
                                           f"{band}</PAMDataset>")  # fmt: skip
        item.assets["red"].href = str(copy)
    with rasterio.open(items[0].assets["red"].href) as src:  # GDAL's default: the sidecar
        assert src.transform.c == X0 + 10 and src.nodata == common
    grid = _grid("odd-10m")
    methods = {b: "nearest" for b in BANDS}
    _, got = _load(items, grid, methods, odc_loader=False, monkeypatch=monkeypatch)
    _, want = _load(items, grid, methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)


@pytest.mark.parametrize("stamp", ["with-offset", "range-only"])
def test_the_time_coordinate_is_odc_stacs(products, stamp, monkeypatch):
    """odc-stac's time is the item's ``datetime`` as written (its offset dropped, not turned
    into UTC), else its ``start_datetime``."""
    items = [item.clone() for item in products]
    paris = timezone(timedelta(hours=2))
    for item in items:
        when = item.datetime
        if stamp == "with-offset":  # the same instant, in Paris summer time
            item.datetime = when.astimezone(paris)
        else:
            item.common_metadata.start_datetime = when
            item.common_metadata.end_datetime = when + timedelta(seconds=5)
            item.datetime = None
    grid = _grid("own")
    methods = {b: "nearest" for b in BANDS}
    _, got = _load(items, grid, methods, odc_loader=False, monkeypatch=monkeypatch)
    _, want = _load(items, grid, methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)
    hours = 12 if stamp == "with-offset" else 10  # 10:56 UTC
    assert [str(t)[:19] for t in got.time.values] == [f"2023-07-14T{hours}:56:00",
                                                       f"2023-08-03T{hours}:56:00"]  # fmt: skip


def test_items_with_different_offsets_are_in_the_order_of_their_coordinate(products, monkeypatch):
    """One item at 10:30+02:00 (08:30 UTC), the other at 09:00 UTC: odc-stac keeps the order
    it is given and writes each time as written, so they are sorted as written (09:00, then
    10:30), for a coordinate that increases."""
    items = [item.clone() for item in products]
    items[0].datetime = datetime(2023, 7, 14, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    items[1].datetime = datetime(2023, 7, 14, 9, 0, tzinfo=UTC)
    grid, methods = _grid("own"), {b: "nearest" for b in BANDS}
    _, got = _load(items, grid, methods, odc_loader=False, monkeypatch=monkeypatch)
    _, want = _load(items, grid, methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)
    assert [str(t)[11:16] for t in got.time.values] == ["09:00", "10:30"]
    assert list(got.product_id.values) == [items[1].id, items[0].id]


def _write_band(path, data, transform, crs):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1],
                       count=1, dtype=data.dtype, crs=crs, transform=transform,
                       nodata=0) as dst:  # fmt: skip
        dst.write(data, 1)


def test_a_file_replaced_after_planning_is_refused_not_read_at_the_wrong_place(tmp_path):
    data = np.arange(1, 121, dtype=np.uint16).reshape(12, 10)
    grid = GeoBox(data.shape, from_origin(X0, Y0, 10, 10), "EPSG:32631")
    path = tmp_path / "band.tif"
    _write_band(path, data, grid.affine, "EPSG:32631")
    band = NativeBand((str(path),), (grid,), "uint16", 0, None, (None,))
    out = read_native(band, grid, (6, 10), [np.datetime64("2023-07-14")], {})
    _write_band(path, data, from_origin(X0 + 10, Y0, 10, 10), "EPSG:32631")  # a pixel east
    with pytest.raises(ReadError, match=r"band\.tif: the file's grid is no longer the one"):
        out.compute()


def test_a_geographic_grid_keeps_its_latitude_and_longitude_dimensions(tmp_path):
    data = np.arange(1, 121, dtype=np.uint16).reshape(12, 10)
    grid = GeoBox(data.shape, from_origin(2.0, 49.0, 0.001, 0.001), "EPSG:4326")
    _write_band(tmp_path / "band.tif", data, grid.affine, "EPSG:4326")
    band = NativeBand((str(tmp_path / "band.tif"),), (grid,), "uint16", 0, None, (None,))
    out = read_native(band, grid, (5, 4), [np.datetime64("2023-07-14")], {})
    assert out.dims == ("time", "latitude", "longitude")
    np.testing.assert_array_equal(out.values[0], data)
    assert out.latitude.values[0] == pytest.approx(49.0 - 0.0005)


def test_a_chunk_the_file_does_not_cover_is_filled_without_opening_it(tmp_path, monkeypatch):
    data = np.arange(1, 121, dtype=np.uint16).reshape(12, 10)
    file_grid = GeoBox(data.shape, from_origin(X0, Y0, 10, 10), "EPSG:32631")
    _write_band(tmp_path / "band.tif", data, file_grid.affine, "EPSG:32631")
    grid = GeoBox((24, 10), file_grid.affine, "EPSG:32631")  # 12 rows past the file's south
    band = NativeBand((str(tmp_path / "band.tif"),), (file_grid,), "uint16", 0, None, (None,))
    out = read_native(band, grid, (6, 10), [np.datetime64("2023-07-14")], {})
    opened, real_open = [], rasterio.open
    monkeypatch.setattr(rasterio, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    values = out.values[0]
    assert len(opened) == 2  # the two chunks of rows 0-11
    np.testing.assert_array_equal(values[:12], data)
    assert (values[12:] == 0).all()


def _item_of(path, affine):
    """A STAC item whose ``red`` asset is the 12 x 10 ``path`` on ``affine`` in EPSG:32631."""
    item = pystac.Item("one", None, None, datetime(2023, 7, 14), {})
    item.add_asset("red", pystac.Asset(str(path), extra_fields={
        "proj:shape": [12, 10], "proj:transform": list(affine)[:6], "proj:code": "EPSG:32631",
        "raster:bands": [{"data_type": "uint16", "nodata": 0}],
    }))  # fmt: skip
    return item


def _native_band_of(item, grid):
    driver = raster.load.SigningRioDriver(None)
    return raster.load._native_band([item], "red", grid, driver, driver.capture_env())


@pytest.mark.parametrize("rotated", [False, True])
def test_a_rotated_grid_is_left_to_odc_loader(tmp_path, rotated):
    """A rotated grid's rows are not rows of the file: no windowed read applies."""
    shear = 2.0 if rotated else 0.0
    affine = Affine(10.0, shear, X0, shear, -10.0, Y0)
    grid = GeoBox((12, 10), affine, "EPSG:32631")
    _write_band(tmp_path / "band.tif", np.ones((12, 10), np.uint16), affine, "EPSG:32631")
    band = _native_band_of(_item_of(tmp_path / "band.tif", affine), grid)
    assert (band is None) == rotated


def test_a_header_rewritten_with_its_size_and_modification_time_is_read_again(tmp_path):
    """The file rewritten in place a pixel east, its size the same and its modification time
    set back (as ``cp -p`` or an archive would): its header is read again, not the cached
    one, and the band is left to odc-loader."""
    path, grid = tmp_path / "band.tif", GeoBox((12, 10), from_origin(X0, Y0, 10, 10), "EPSG:32631")
    _write_band(path, np.ones((12, 10), np.uint16), grid.affine, "EPSG:32631")
    item = _item_of(path, grid.affine)
    assert _native_band_of(item, grid) is not None
    before = path.stat()
    time.sleep(0.05)  # past a coarse clock's tick (ctime before Linux 6.13: a jiffy, <= 10 ms)
    _write_band(path, np.ones((12, 10), np.uint16), from_origin(X0 + 10, Y0, 10, 10), "EPSG:32631")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert _native_band_of(item, grid) is None


def test_building_the_graph_reads_no_pixel_and_compute_reads_each_file(products, monkeypatch):
    """Building the graph reads each file's header once at most (none when built again: they
    are cached) and no pixel; computing it reads pixels of every file."""
    opened, read = [], []
    real_open, real_read = rasterio.open, rasterio.io.DatasetReader.read

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def counting_read(self, *args, **kwargs):
        read.append(self.name)
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(raster.load.odc.stac, "load", _no_odc_loader)
    monkeypatch.setattr(rasterio, "open", counting_open)
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    grid, methods = _grid("20m-before-past-all"), {b: "nearest" for b in BANDS}
    with raise_if_dask_computes():
        stored = load_stored(products, BANDS, geobox=grid, chunk=512, resampling=methods)
        physical = stored.physical()
        assert len(opened) == len(set(opened)) and read == [], "building the graph read pixels"
        opened.clear()
        load_stored(products, BANDS, geobox=grid, chunk=512, resampling=methods).physical()
        assert opened == [], "building the graph again opened files"
    physical.compute()
    files = {str(item.assets[b].get_absolute_href()) for item in products for b in BANDS}
    assert set(read) == files


@pytest.mark.realdata
@pytest.mark.parametrize("offset", [(0, 0), (-3, 2)])
def test_windowed_reads_give_odc_loaders_values_on_the_real_product(real_data, offset, monkeypatch):
    """The Earth Search product of /work/shared/data (B04, B08 at 100 m, SCL at 200 m): on its
    own grid, and on one offset by whole SCL pixels that it covers in part."""
    item = open_product(real_data / "sentinel2_l2a/S2A_29RKH_20200219_0_L2A")
    native = item_geobox(item, "red")
    (dy, dx), res = offset, native.resolution.x
    transform = native.affine * native.affine.translation(2 * dx, 2 * dy)
    grid = GeoBox((native.shape.y + 50, native.shape.x - 30), transform, native.crs)
    assert res == 100.0 and json.dumps(item.properties["s2:processing_baseline"]) == '"02.14"'
    bands = ["red", "nir", "scl"]
    out = {}
    for odc_loader in (False, True):
        with monkeypatch.context() as patch:
            if odc_loader:
                patch.setattr(raster.load, "_native_reads", lambda *args, **kwargs: {})
            else:
                patch.setattr(raster.load.odc.stac, "load", _no_odc_loader)
            out[odc_loader] = load_stored([item], bands, geobox=grid, chunk=512,
                                          resampling="nearest").data.compute()  # fmt: skip
    xr.testing.assert_identical(out[False], out[True])
    assert (out[False].scl.values > 0).mean() > 0.5
