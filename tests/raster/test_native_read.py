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

import numpy as np
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

import raster.load
from raster.load import item_geobox, load_stored
from raster.sources import open_product
from raster.synthetic import write_sentinel2_earthsearch
from tests.conftest import raise_if_dask_computes

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


def test_a_file_whose_header_is_not_its_items_grid_is_read_as_odc_loader_reads_it(
    products, monkeypatch
):
    """The item says B04 starts one 10 m pixel further east than its file does: the file's
    header decides the window (the odc-loader values), not the item."""
    items = [item.clone() for item in products]
    for item in items:
        transform = list(item.assets["red"].extra_fields["proj:transform"])
        transform[2] += 10.0
        item.assets["red"].extra_fields["proj:transform"] = transform
    grid = _grid("20m-inside-past-south")
    methods = {b: "nearest" for b in BANDS}
    _, got = _load(items, grid, methods, odc_loader=False, monkeypatch=monkeypatch)
    _, want = _load(items, grid, methods, odc_loader=True, monkeypatch=monkeypatch)
    xr.testing.assert_identical(got, want)
    with rasterio.open(items[0].assets["red"].get_absolute_href()) as src:
        first = src.read(1, window=((10, 11), (6, 7)))[0, 0]  # the grid's pixel (0, 0)
    assert got.red.values[0, 0, 0] == (first if first != 65535 else 0)


def test_building_the_graph_reads_nothing_and_compute_reads_each_file(products, monkeypatch):
    opened = []
    real_open = rasterio.open

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(raster.load.odc.stac, "load", _no_odc_loader)
    monkeypatch.setattr(rasterio, "open", counting_open)
    with raise_if_dask_computes():
        stored = load_stored(products, BANDS, geobox=_grid("20m-before-past-all"), chunk=512,
                             resampling={b: "nearest" for b in BANDS})  # fmt: skip
        physical = stored.physical()
    assert opened == [], "building the graph opened files"
    physical.compute()
    files = {str(item.assets[b].get_absolute_href()) for item in products for b in BANDS}
    assert set(opened) == files


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
