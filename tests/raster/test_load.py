"""Loading items onto a grid: physical units, laziness, file opens, multi-scene, errors.

Expected values are computed here from the files with rasterio and the literal scale/offset
of the product metadata (science.md §1.2), never from the loader.
"""

import datetime as dt
import re
import shutil
import warnings
from pathlib import Path

import dask
import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin

from raster.load import item_geobox, load_items
from raster.sources import open_product
from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    toa_reflectance_to_dn_landsat,
    write_landsat_c2l1,
    write_landsat_c2l2,
)
from tests.conftest import NO_HOST, damage_tile, raise_if_dask_computes
from tiles.errors import BandMissingError, GridError, IlotsWarning, ReadError

T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"


def _read(folder, suffix):
    (path,) = folder.glob(f"*_{suffix}.TIF")
    with rasterio.open(path) as src:
        return src.read(1)


@pytest.fixture
def t1(real_data):
    return real_data / T1


def test_real_l2_in_physical_units(t1):
    ds = load_items([open_product(t1)], ["red", "lwir11", "st_qa", "qa_pixel"])
    out = ds.isel(time=0).compute()
    for band, suffix, scale, offset, fill in [
        ("red", "SR_B4", 2.75e-05, -0.2, 0),
        ("lwir11", "ST_B10", 0.00341802, 149.0, 0),
        ("st_qa", "ST_QA", 0.01, 0.0, -9999),
        ("qa_pixel", "QA_PIXEL", 1.0, 0.0, 1),
    ]:
        dn = _read(t1, suffix).astype("float64")
        expected = np.where(dn == fill, np.nan, dn * scale + offset)
        assert out[band].dtype == np.float32
        np.testing.assert_allclose(out[band].values, expected, rtol=2e-7, atol=1e-6)
    assert out.lwir11.attrs["units"] == "K"
    assert out.lwir11.attrs["standard_name"] == "surface_temperature"
    assert "not air temperature" in out.lwir11.attrs["comment"]
    assert out.red.attrs["units"] == "1"
    assert ds.product_id.values.tolist() == [t1.name]
    assert ds.rio.crs.to_epsg() == 32618


def test_native_grid_is_the_file_grid(t1):
    ds = load_items([open_product(t1)], ["red"])
    with rasterio.open(next(t1.glob("*_SR_B4.TIF"))) as src:
        assert ds.red.shape[1:] == src.shape
        assert tuple(ds.rio.transform())[:6] == tuple(src.transform)[:6]


def test_building_the_graph_reads_no_pixel_and_compute_opens_each_file_once(t1, monkeypatch):
    """Building the graph may read headers (the windowed reads check them), never pixels."""
    from raster.indices import compute_index
    from raster.quality import landsat_clear_mask
    from raster.thermal import surface_temperature_l2

    opened, read = [], []
    real_open, real_read = rasterio.open, rasterio.io.DatasetReader.read

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def counting_read(self, *args, **kwargs):
        read.append(self.name)
        return real_read(self, *args, **kwargs)

    item = open_product(t1)  # reads headers only
    monkeypatch.setattr(rasterio, "open", counting_open)
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    with raise_if_dask_computes():
        ds = load_items([item], ["red", "nir08", "lwir11", "qa_pixel"]).isel(time=0)
        clear = landsat_clear_mask(ds)
        ndvi = compute_index(ds, "ndvi").where(clear)
        lst = surface_temperature_l2(ds, mask=clear)
    assert read == [], "building the graph read pixels"
    opened.clear()
    import dask

    dask.compute(ndvi, lst)
    files = sorted(
        str(a.href)
        for a in item.assets.values()
        if a.href.endswith(("SR_B4.TIF", "SR_B5.TIF", "ST_B10.TIF", "QA_PIXEL.TIF"))
    )
    assert sorted(opened) == files
    assert sorted(set(read)) == files


def test_numpy_and_dask_backed_give_identical_results(t1):
    from raster.indices import compute_index
    from raster.quality import landsat_clear_mask
    from raster.thermal import surface_temperature_l2

    lazy = load_items([open_product(t1)], ["red", "nir08", "lwir11", "qa_pixel"], chunk=128)
    eager = lazy.compute()
    assert lazy.red.data.chunks[1] == (512,)  # rounded up to a whole 512 block

    def chain(ds):
        clear = landsat_clear_mask(ds)
        return compute_index(ds, "ndvi").where(clear), surface_temperature_l2(ds, mask=clear)

    for a, b in zip(chain(lazy), chain(eager), strict=True):
        np.testing.assert_array_equal(a.compute().values, b.values)
        assert a.rio.crs == b.rio.crs == lazy.rio.crs, "kernels must keep the CRS coordinate"


def _l2_product(tmp_path, platform, date, origin, size=32, tag=0):
    rng = np.random.default_rng(tag)
    red = reflectance_to_dn_landsat(np.full((size, size), 0.1) + 0.01 * rng.random((size, size)))
    lst = kelvin_to_st_dn(np.full((size, size), 300.0 + tag))
    qa = np.broadcast_to(encode_qa_pixel(), (size, size))
    return write_landsat_c2l2(
        tmp_path, bands={"red": red, "lwir11": lst, "qa_pixel": qa}, crs=32631,
        transform=from_origin(*origin, 30, 30), platform=platform, path=199, row=26, date=date,
    )  # fmt: skip


def test_multi_scene_sorted_by_time_on_union_grid(tmp_path):
    late = _l2_product(tmp_path, "landsat-9", dt.date(2023, 7, 20), (600000, 5400000), tag=2)
    early = _l2_product(tmp_path, "landsat-8", dt.date(2023, 7, 12), (600480, 5399520), tag=1)
    ds = load_items([open_product(late), open_product(early)], ["lwir11"])
    assert ds.platform.values.tolist() == ["landsat-8", "landsat-9"]
    assert ds.sizes["y"] == 32 + 16 and ds.sizes["x"] == 32 + 16
    assert ds.rio.transform().c == 600000 and ds.rio.transform().f == 5400000
    values = ds.lwir11.compute().values
    # Each scene covers its own 32 x 32 block of the 48 x 48 union; the rest is NaN.
    np.testing.assert_allclose(values[0, 16:, 16:], 301.0, atol=2e-3)
    assert np.isnan(values[0, :16, :]).all()
    np.testing.assert_allclose(values[1, :32, :32], 302.0, atol=2e-3)
    assert np.isnan(values[1, 32:, :]).all()


def test_explicit_grid_resampling_keeps_qa_codes(tmp_path):
    product = _l2_product(tmp_path, "landsat-8", dt.date(2023, 7, 12), (600000, 5400000))
    ds = load_items([open_product(product)], ["lwir11", "qa_pixel"], resolution=20,
                    crs="EPSG:2154")  # fmt: skip
    assert ds.rio.crs.to_epsg() == 2154
    qa = ds.qa_pixel.compute().values
    assert set(np.unique(qa[np.isfinite(qa)])) <= {21824.0}, "QA must be resampled by nearest"


def test_level1_per_scene_thermal_constants(tmp_path):
    products = []
    for platform, day in (("landsat-8", 10), ("landsat-9", 18)):
        size = 16
        bands = {
            "red": toa_reflectance_to_dn_landsat(np.full((size, size), 0.1), sun_elevation=60),
            "nir08": toa_reflectance_to_dn_landsat(np.full((size, size), 0.3), sun_elevation=60),
            "lwir11": np.full((size, size), 30000, dtype="uint16"),
            "qa_pixel": np.broadcast_to(encode_qa_pixel(), (size, size)),
        }
        products.append(write_landsat_c2l1(
            tmp_path, bands=bands, crs=32631, transform=from_origin(600000, 5400000, 30, 30),
            platform=platform, path=199, row=26, date=dt.date(2023, 7, day), sun_elevation=60,
        ))  # fmt: skip
    ds = load_items([open_product(p) for p in products], ["lwir11"])
    # science.md §2.1: L8 B10 K1 774.8853, L9 B10 K1 799.0284; radiance = ML * DN + AL.
    np.testing.assert_allclose(ds.k1_lwir11.values, [774.8853, 799.0284])
    np.testing.assert_allclose(ds.k2_lwir11.values, [1321.0789, 1329.2405])
    radiance = ds.lwir11.compute().values[:, 0, 0]
    np.testing.assert_allclose(radiance, [3.342e-4 * 30000 + 0.1, 3.8e-4 * 30000 + 0.1], rtol=1e-6)


def test_missing_band_names_band_and_product(t1):
    with pytest.raises(BandMissingError, match=r"swir16.*LC08_L2SP_008059") as info:
        load_items([open_product(t1)], ["red", "swir16"])
    assert "\n" not in str(info.value)


def test_no_items_and_no_bands(t1):
    with pytest.raises(GridError, match="empty"):
        load_items([], ["red"])
    with pytest.raises(ValueError, match="no band"):
        load_items([open_product(t1)], [])


def test_mixed_crs_needs_a_resolution(tmp_path):
    a = _l2_product(tmp_path, "landsat-8", dt.date(2023, 7, 12), (600000, 5400000))
    b = write_landsat_c2l2(
        tmp_path, bands={"lwir11": kelvin_to_st_dn(np.full((8, 8), 300.0))}, crs=32630,
        transform=from_origin(300000, 5400000, 30, 30), platform="landsat-8", path=200, row=26,
        date=dt.date(2023, 7, 12),
    )  # fmt: skip
    with pytest.raises(GridError, match="different CRSs"):
        load_items([open_product(a), open_product(b)], ["lwir11"])
    ds = load_items([open_product(a), open_product(b)], ["lwir11"], resolution=30)
    assert ds.rio.crs.to_epsg() in (32630, 32631)


@pytest.mark.parametrize("after_cli", [False, True])
def test_on_error_skip_warns_and_goes_on(tmp_path, monkeypatch, after_cli):
    """Also once the command line set its logging up (it keeps odc-stac's failed-read log
    lines off the terminal, and once took its records away from this warning too)."""
    if after_cli:
        import logging

        from pipelines.cli import _setup_logging

        odc = logging.getLogger("odc.loader")
        monkeypatch.setattr(odc, "propagate", odc.propagate)
        monkeypatch.setattr(odc, "handlers", list(odc.handlers))
        with warnings.catch_warnings():  # its warning filters and display, undone after
            _setup_logging(0)
    good = _l2_product(tmp_path, "landsat-8", dt.date(2023, 7, 12), (600000, 5400000), tag=1)
    bad = _l2_product(tmp_path, "landsat-9", dt.date(2023, 7, 20), (600000, 5400000), tag=2)
    items = [open_product(good), open_product(bad)]
    # The file goes bad after planning (e.g. a network share dropped it).
    (st_file,) = bad.glob("*_ST_B10.TIF")
    shutil.copy(next(bad.glob("*_MTL.txt")), st_file)
    with pytest.raises(ReadError, match=f"^{re.escape(str(st_file))}: the file is corrupt"):
        load_items(items, ["lwir11"]).compute()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = load_items(items, ["lwir11"], on_error="skip").lwir11.compute().values
    said = [w.message for w in caught if issubclass(w.category, IlotsWarning)]
    assert [w.code for w in said] == ["damaged_input"], said  # once per file
    assert str(said[0]).startswith(f"{st_file}: the file is corrupt, band lwir11 of {bad.name}")
    assert str(said[0]).endswith("; download it again")
    np.testing.assert_allclose(values[0], 301.0, atol=2e-3)
    assert np.isnan(values[1]).all()


def test_a_remote_file_that_cannot_be_read_names_its_item_asset_and_host(tmp_path, quick_http):
    """An item JSON naming its band files by URL, on a machine that cannot reach them: the
    error is one line with the JSON, the asset's key in it, the host and the fix (not GDAL's
    "does not exist in the file system", which reads as a wrong path). Twice: GDAL says
    curl's error at the first open of a URL only."""
    import json

    item = open_product(_l2_product(tmp_path, "landsat-8", dt.date(2023, 7, 12), (600000, 5400000)))
    url = f"http://{NO_HOST}/collection02/{item.id}_SR_B4.TIF"
    item_json = tmp_path / f"{item.id}_SR_stac.json"
    item_json.write_text(json.dumps({"assets": {"SR_B4.TIF": {"href": url}}}), encoding="utf-8")
    item.properties["ilots:source"] = str(item_json)
    item.assets["red"].href = url
    for _attempt in range(2):
        with pytest.raises(ReadError) as err:
            load_items([item], ["red"]).red.compute()
        text = str(err.value)
        assert text.startswith(
            f"{item_json}: asset 'SR_B4.TIF' (red of {item.id}) cannot be read from {NO_HOST} ("
        )
        assert f"resolve host: {NO_HOST}" in text.lower()
        assert text.endswith(
            f"reading it needs network access to {NO_HOST}; or download the product and put "
            "the item JSON beside its files, which ilots then reads on disk"
        )
        assert "\n" not in text


# --- a damaged tile inside an intact file: one line naming the file, its product, the fix --


def _damaged_sentinel2(tmp_path, band):
    """A 64 x 64 Earth Search product (10 m, 16-pixel tiles) with one tile of ``band`` damaged."""
    from raster.synthetic import reflectance_to_dn_sentinel2, write_sentinel2_earthsearch

    dn = reflectance_to_dn_sentinel2(np.full((64, 64), 0.1), processing_baseline="05.10")
    path = write_sentinel2_earthsearch(
        tmp_path, bands={"red": dn, "nir": dn, "scl": np.full((32, 32), 4, np.uint8)},
        tile="31TCJ", datetime="2023-07-14T10:56:00Z", crs=32631,
        transform=from_origin(600000, 5400000, 10, 10), blocksize=16,
    )  # fmt: skip
    name = {"red": "B04.tif", "scl": "SCL.tif"}[band]
    damage_tile(str(path.parent / name))
    return open_product(path.parent), str(path.parent / name)


def _damaged_landsat(tmp_path, band, tar=False):
    """A 64 x 64 Landsat 8 Level-2 product (16-pixel tiles) with one tile of ``band`` damaged."""
    size = 64
    folder = write_landsat_c2l2(
        tmp_path, bands={"lwir11": kelvin_to_st_dn(np.full((size, size), 300.0)),
                         "qa_pixel": np.full((size, size), encode_qa_pixel(), np.uint16)},
        crs=32631, transform=from_origin(600000, 5400000, 30, 30), platform="landsat-8",
        path=199, row=26, date=dt.date(2023, 7, 12), blocksize=16, tar=tar,
    )  # fmt: skip
    suffix = {"lwir11": "ST_B10", "qa_pixel": "QA_PIXEL"}[band]
    name = f"{folder.name}_{suffix}.TIF"
    href = f"/vsitar/{folder}.tar/{name}" if tar else str(folder / name)
    damage_tile(href)
    return open_product(Path(f"{folder}.tar") if tar else folder), href


#: (sensor, damaged band, bands loaded, load_items keywords, read by an index gather).
DAMAGED_READS = {
    "sentinel2 native": ("sentinel2", "red", ["red"], {}, False),
    "sentinel2 bilinear": ("sentinel2", "red", ["red"], {"resolution": 20}, False),
    "sentinel2 average": ("sentinel2", "red", ["red"], {"resolution": 20, "resampling":
                                                         "average"}, False),
    "sentinel2 reprojected": ("sentinel2", "red", ["red"], {"crs": "EPSG:2154",
                                                           "resolution": 15}, False),
    "sentinel2 nearest gathered": ("sentinel2", "scl", ["scl"], {"resolution": 10}, True),
    "landsat native": ("landsat", "lwir11", ["lwir11"], {}, False),
    "landsat bilinear": ("landsat", "lwir11", ["lwir11"], {"resolution": 20}, False),
    "landsat nearest gathered": ("landsat", "qa_pixel", ["qa_pixel"], {"resolution": 10}, True),
    "landsat nearest warped": ("landsat", "qa_pixel", ["qa_pixel"], {"crs": "EPSG:2154",
                                                                     "resolution": 30}, False),
    "landsat tar": ("landsat tar", "lwir11", ["lwir11"], {"resolution": 20}, False),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DAMAGED_READS))
def test_a_damaged_tile_names_the_file_its_product_and_the_fix(tmp_path, case):
    """The audit's case: one tile of B04.tif overwritten, its header intact. The run ended
    in a 97-line traceback ending "WarpOperationError: Chunk and warp failed" that named
    only B04.tif (in every Sentinel-2 product). Every read path, warped or not, gives one
    line: the file's full path, its band and product, and what to do."""
    from raster.load import native_window

    sensor, band, bands, keywords, gathered = DAMAGED_READS[case]
    if sensor == "sentinel2":
        item, href = _damaged_sentinel2(tmp_path, band)
    else:
        item, href = _damaged_landsat(tmp_path, band, tar=sensor == "landsat tar")
    ds = load_items([item], bands, **keywords)
    if gathered:  # the band is read on its own grid and gathered (raster.nearest)
        assert native_window([item], [band], ds.odc.geobox) is not None
    with pytest.raises(ReadError) as err:
        ds.compute()
    text = str(err.value)
    assert text.startswith(f"{href}: the file is corrupt, its pixels cannot be read (")
    assert text.endswith("); download it again") and "\n" not in text


def test_a_damaged_tile_read_on_a_dask_worker_reaches_the_client_whole(tmp_path):
    """On a Dask cluster the client got ``Exception("RasterioIOError('Read failed. See
    previous exception for details.')")``: distributed sends a worker's error pickled with
    its causes, and GDAL's do not unpickle. The ReadError comes back as it was raised."""
    from distributed import Client, LocalCluster

    item, href = _damaged_sentinel2(tmp_path, "red")
    with pytest.raises(ReadError) as local:
        load_items([item], ["red"]).compute(scheduler="synchronous")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
        with pytest.raises(ReadError) as remote:
            load_items([item], ["red"]).compute()
    assert str(remote.value) == str(local.value)
    assert str(remote.value).startswith(f"{href}: the file is corrupt")


#: Reads whose resampling kernel, from any quarter of these small files' windows, reaches
#: the damaged tile: all of it is left out.
MARGIN_REACHES_ALL = {"sentinel2 bilinear", "sentinel2 reprojected"}
#: The value of every pixel of the damaged files (:func:`_damaged_landsat`, ``_sentinel2``).
UNDAMAGED = {"lwir11": 300.0, "qa_pixel": float(encode_qa_pixel()), "red": 0.1, "scl": 4.0}


@pytest.mark.parametrize("case", list(DAMAGED_READS))
def test_a_skipped_damaged_tile_reads_as_nodata_and_warns_once(tmp_path, case, monkeypatch):
    """on_error="skip" (inputs.on_damaged: skip): every read path gives the band's fill
    (NaN) where the damaged tile is, and one warning naming the file and the fix. The
    failed window is read again by quarters, down to SKIPPED_PIECE_PX (here 16 pixels):
    the rest keeps its pixels (the whole chunk, here the whole file, was left out)."""
    monkeypatch.setattr("raster.load.SKIPPED_PIECE_PX", 16)
    sensor, band, bands, keywords, _gathered = DAMAGED_READS[case]
    if sensor == "sentinel2":
        item, href = _damaged_sentinel2(tmp_path, band)
    else:
        item, href = _damaged_landsat(tmp_path, band, tar=sensor == "landsat tar")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = load_items([item], bands, on_error="skip", **keywords)[band].compute().values
    lost = np.isnan(values)
    assert lost.any()
    if case not in MARGIN_REACHES_ALL:
        assert lost.mean() <= 0.5, lost.mean()  # one 16-pixel tile of 64 x 64
    np.testing.assert_allclose(values[~lost], UNDAMAGED[band], rtol=1e-4)
    said = [str(w.message) for w in caught if getattr(w.message, "code", None) == "damaged_input"]
    assert len(said) == 1 and said[0].startswith(f"{href}: the file is corrupt, band {band} of ")
    assert "download it again" in said[0]


def test_skip_leaves_a_file_this_process_cannot_open_to_stop_the_load(tmp_path, monkeypatch):
    """Only damage inside a file is skipped: a file this process may not read (permissions;
    root reads any file here, so os.access says no) stops the load as before."""
    item, _href = _damaged_landsat(tmp_path, "lwir11")
    monkeypatch.setattr("raster.load.os.access", lambda path, mode: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(rasterio.errors.RasterioError):
            load_items([item], ["lwir11"], on_error="skip").compute()
    assert not [w for w in caught if issubclass(w.category, IlotsWarning)]


def test_a_load_that_stops_warns_of_nothing_after_another_skipped(tmp_path):
    """odc-stac's "Failed to load" log records became ilots warnings for every load of the
    process once one load had used on_error="skip"."""
    item, _href = _damaged_landsat(tmp_path, "lwir11")
    with warnings.catch_warnings(record=True):
        load_items([item], ["lwir11"], on_error="skip").compute()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ReadError):
            load_items([item], ["lwir11"]).compute()
    assert not [w for w in caught if issubclass(w.category, IlotsWarning)], caught


def test_a_read_skipped_in_dasks_process_pool_is_warned_of_here(tmp_path):
    """A process of Dask's ``processes`` pool keeps its warnings: it writes the skipped
    read to the token's spool file, which skip_damaged_reads says here as its block ends,
    once, and removes."""
    from raster.load import skip_damaged_reads

    item, href = _damaged_sentinel2(tmp_path, "red")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with skip_damaged_reads() as skips, dask.config.set(scheduler="processes", num_workers=1):
            values = load_items([item], ["red"]).red.compute().values
            assert skips.spool().is_file()  # written by the pool's process, not this one
    assert np.isnan(values).all() and not skips.spool().exists()
    said = [str(w.message) for w in caught if getattr(w.message, "code", None) == "damaged_input"]
    assert len(said) == 1 and said[0].startswith(f"{href}: the file is corrupt, band red of ")


def test_no_spool_file_is_left_behind(tmp_path, monkeypatch):
    """The spool is read back by skip_damaged_reads alone: a bare on_error="skip" in Dask's
    process pool (none to read it) wrote one that stayed in the temporary folder, as did a
    block that failed before reading it back."""
    import glob
    import tempfile

    from raster.load import skip_damaged_reads

    scratch = tmp_path / "tmp"  # this test's own temporary folder, the pool's processes' too
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again

    def spools():
        return set(glob.glob(f"{tempfile.gettempdir()}/ilots-skipped-*.jsonl"))

    assert tempfile.gettempdir() == str(scratch)
    before = spools()
    item, _href = _damaged_sentinel2(tmp_path, "red")
    with warnings.catch_warnings(record=True), dask.config.set(scheduler="processes",
                                                                num_workers=1):  # fmt: skip
        load_items([item], ["red"], on_error="skip").red.compute()
        with pytest.raises(RuntimeError, match="after the read"):
            with skip_damaged_reads():
                load_items([item], ["red"]).red.compute()
                raise RuntimeError("a failure after the read")
    assert spools() == before


def test_a_read_skipped_on_a_dask_worker_is_warned_of_on_the_client(tmp_path):
    """A worker's warning stays on the worker: it reports the skipped read in the cluster's
    events, which skip_damaged_reads says on the client as its block ends, once."""
    from distributed import Client, LocalCluster

    from raster.load import skip_damaged_reads

    item, href = _damaged_sentinel2(tmp_path, "red")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with skip_damaged_reads():
                values = load_items([item], ["red"]).red.compute().values
                load_items([item], ["red"]).red.compute()  # the same file, read again
    assert np.isnan(values).all()
    said = [str(w.message) for w in caught if getattr(w.message, "code", None) == "damaged_input"]
    assert len(said) == 1 and said[0].startswith(f"{href}: the file is corrupt, band red of ")


def test_mixed_resolutions_keep_the_finest_grid_and_its_alignment(real_data):
    # Sentinel-2: B04 at 100 m and SCL at 200 m share an origin that is not a multiple of 200.
    folder = real_data / "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"
    ds = load_items([open_product(folder)], ["red", "scl"])
    with rasterio.open(folder / "B04.tif") as src:
        assert ds.red.shape[1:] == src.shape
        assert tuple(ds.rio.transform())[:6] == tuple(src.transform)[:6]
    with rasterio.open(folder / "SCL.tif") as src:
        scl = src.read(1).astype("float64")
    np.testing.assert_array_equal(
        ds.scl.isel(time=0).values, np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)
    )


@pytest.mark.parametrize(
    ("writer", "baseline", "boa_offset_applied", "expected"),
    [
        # science.md S2-1 / S2-2 / S2-3: DN 1500 -> 0.15 before 04.00, 0.05 from 04.00 on;
        # DN 1000 -> 0.0 at 05.10.
        ("safe", "03.01", False, (0.15, 0.0)),
        ("safe", "05.10", False, (0.05, -0.1)),
        ("earthsearch", "04.00", False, (0.05, -0.1)),
        ("earthsearch", "02.14", False, (0.15, 0.0)),
    ],
)
def test_sentinel2_offset_follows_processing_baseline(
    tmp_path, writer, baseline, boa_offset_applied, expected
):
    from raster.synthetic import write_sentinel2_earthsearch, write_sentinel2_safe

    dn = np.full((8, 8), 1500, dtype="uint16")
    dn[0, 0] = 1000
    dn[0, 1] = 0  # NO_DATA
    write = write_sentinel2_safe if writer == "safe" else write_sentinel2_earthsearch
    path = write(
        tmp_path, bands={"red": dn}, tile="31TCJ", datetime="2023-07-14T10:56:21Z",
        crs=32631, transform=from_origin(360000, 4836000, 10, 10), processing_baseline=baseline,
    )  # fmt: skip
    red = load_items([open_product(path)], ["red"]).red.isel(time=0).values
    rho, dn1000 = expected
    np.testing.assert_allclose(red[1:, :], rho, atol=1e-7)
    np.testing.assert_allclose(red[0, 0], 0.1 + dn1000, atol=1e-7)
    assert np.isnan(red[0, 1])


def test_signed_items_are_read_through_a_driver_that_signs_each_open(monkeypatch):
    # Planetary Computer's tokens expire: the reader signs every URL when it opens it, with
    # the token planetary_computer keeps fresh. The driver travels to workers (pickled).
    import pickle
    import sys
    import types

    from odc.loader.types import RasterSource

    from raster.load import SIGN_PROPERTY, SigningRioDriver, _driver

    signed = []
    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: signed.append(href) or f"{href}?sig=fresh"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    driver = pickle.loads(pickle.dumps(SigningRioDriver("planetary_computer")))
    reader = driver.open(RasterSource("https://x.blob.core.windows.net/c/a.TIF?sig=old"), None)
    assert reader._src.uri == "https://x.blob.core.windows.net/c/a.TIF?sig=fresh"
    assert signed == ["https://x.blob.core.windows.net/c/a.TIF"]
    local = driver.open(RasterSource("/data/b.TIF"), None)  # a BandReader: names it on failure
    assert local.reader._src.uri == "/data/b.TIF"
    plain = pystac.Item("a", None, None, dt.datetime(2023, 7, 1), {})
    assert _driver([plain]).signer is None  # read as they are (a failed read names its file)
    marked = plain.clone()
    marked.properties[SIGN_PROPERTY] = "planetary_computer"
    assert _driver([plain, marked]).signer == "planetary_computer"


def test_a_gdal_curl_path_is_signed_after_its_prefix(monkeypatch):
    # /vsicurl/ + a URL: planetary_computer.sign signs the URL only, GDAL needs the prefix.
    import sys
    import types

    from raster.load import _signed

    signed = []
    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: signed.append(href) or f"{href}?sig=fresh"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    url = "https://landsateuwest.blob.core.windows.net/landsat-c2/a_ST_B10.TIF"
    assert _signed(f"/vsicurl/{url}?sig=old", "planetary_computer") == f"/vsicurl/{url}?sig=fresh"
    assert signed == [url]
    for local in ("/vsizip//data/a.zip/b.TIF", "/data/b.TIF"):
        assert _signed(local, "planetary_computer") == local
    assert signed == [url]


# --- Sentinel-2 DN 65535 (SATURATED) is missing, before any resampling ---------------------

S2_FOLDER = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"
#: A pixel of the real B04 whose SCL (200 m) is 5, bare soil: kept by the default mask.
SAT_ROW, SAT_COL = 500, 500


def _s2_with_red_pixel(real_data, folder, value):
    """The real Earth Search product with B04's pixel (SAT_ROW, SAT_COL) set to ``value``."""
    source = real_data / S2_FOLDER
    folder.mkdir()
    shutil.copy(source / "S2A_29RKH_20200219_0_L2A.json", folder)
    for name in ("B08.tif", "SCL.tif"):
        (folder / name).symlink_to(source / name)
    with rasterio.open(source / "B04.tif") as src:
        profile, red = src.profile, src.read(1)
    red[SAT_ROW, SAT_COL] = value
    with rasterio.open(folder / "B04.tif", "w", **profile) as dst:
        dst.write(red, 1)
    return open_product(folder)


@pytest.mark.realdata
def test_a_saturated_sentinel2_pixel_is_missing_and_its_neighbours_unchanged(real_data, tmp_path):
    """The audit's case: one B04 pixel at DN 65535 (MTD_MSIL2A.xml SATURATED) on bare soil.
    Its NDVI is NaN (not (NIR - 6.5535) / (NIR + 6.5535)); its neighbours' NDVI is
    (B08 - B04) / (B08 + B04) of their DNs (baseline 02.14: no offset)."""
    from pipelines.product import product_indices

    item = _s2_with_red_pixel(real_data, tmp_path / "s2", 65535)
    assert item.properties["s2:processing_baseline"] == "02.14"
    red = load_items([item], ["red"]).red.isel(time=0).values
    assert np.isnan(red[SAT_ROW, SAT_COL])
    ndvi = product_indices(item, ["ndvi"]).ndvi.values
    assert np.isnan(ndvi[SAT_ROW, SAT_COL])
    with rasterio.open(real_data / S2_FOLDER / "B04.tif") as src:
        b04 = src.read(1).astype(float)
    with rasterio.open(real_data / S2_FOLDER / "B08.tif") as src:
        b08 = src.read(1).astype(float)
    for r, c in ((SAT_ROW, SAT_COL + 1), (SAT_ROW - 1, SAT_COL), (SAT_ROW + 1, SAT_COL - 1)):
        want = (b08[r, c] - b04[r, c]) / (b08[r, c] + b04[r, c])
        assert ndvi[r, c] == pytest.approx(want, abs=1e-6)


@pytest.mark.realdata
@pytest.mark.parametrize("resampling", ["average", "bilinear", "cubic", "nearest"])
def test_a_saturated_sentinel2_pixel_is_left_out_of_a_coarser_grid(real_data, tmp_path, resampling):
    """On a 150 m grid (the files are 100 m), the saturated pixel is left out of the
    resampling as a nodata pixel is: the grid is the one loaded with DN 0 (NODATA) there, and
    no reflectance exceeds 1 (6.5535 averaged in gave up to 1.3 in the audit)."""
    from odc.geo.geobox import GeoBox

    saturated = _s2_with_red_pixel(real_data, tmp_path / "sat", 65535)
    nodata = _s2_with_red_pixel(real_data, tmp_path / "nodata", 0)
    native = item_geobox(saturated, "red")
    grid = GeoBox.from_bbox(native.boundingbox, crs=native.crs, resolution=150)
    got, want = (
        load_items([item], ["red"], geobox=grid, resampling=resampling).red.values
        for item in (saturated, nodata)
    )
    np.testing.assert_array_equal(got, want)
    assert np.nanmax(got) <= 1.0
    # and the pixels around it are not all missing: only that one is left out
    x, y = native.affine * (SAT_COL + 0.5, SAT_ROW + 0.5)
    col, row = ~grid.affine * (x, y)
    assert np.isfinite(got[0, int(row), int(col)])


def test_saturation_vrt_takes_the_items_fill_where_the_file_has_none(tmp_path):
    """A file without a nodata tag (a SAFE's JPEG 2000): the VRT reads 65535 and 0 as the
    item's fill 0, every other value as it is."""
    from raster.load import saturation_vrt

    path = tmp_path / "b04.tif"
    dn = np.array([[0, 1, 65535], [65534, 1000, 7]], dtype="uint16")
    with rasterio.open(path, "w", driver="GTiff", width=3, height=2, count=1, dtype="uint16",
                       crs="EPSG:32631", transform=from_origin(0, 20, 10, 10)) as dst:  # fmt: skip
        dst.write(dn, 1)
    with rasterio.open(saturation_vrt(str(path), 1, 65535, 0)) as vrt:
        assert vrt.nodata == 0
        np.testing.assert_array_equal(vrt.read(1), [[0, 1, 0], [65534, 1000, 7]])
        assert vrt.transform == from_origin(0, 20, 10, 10) and vrt.crs.to_epsg() == 32631


@pytest.mark.realdata
def test_reading_through_the_saturation_vrt_changes_no_other_value(real_data, monkeypatch):
    """The real product (no DN 65535) resampled into another CRS, as odc-stac's own reader
    gives it from the file: the same DNs, bilinear and average (GDAL's kernels and source
    windows are those of the file's grid)."""
    from odc.geo.geobox import GeoBox

    import raster.load

    item = open_product(real_data / S2_FOLDER)
    native = item_geobox(item, "red")
    grid = GeoBox.from_bbox(
        native.boundingbox.to_crs("EPSG:4326"), crs="EPSG:4326", resolution=0.002
    )
    for resampling in ("bilinear", "average"):
        got = raster.load.load_stored([item], ["red"], geobox=grid, resampling=resampling)
        with monkeypatch.context() as patch:
            patch.setattr(raster.load, "_saturated", lambda items, bands: {})
            want = raster.load.load_stored([item], ["red"], geobox=grid, resampling=resampling)
        np.testing.assert_array_equal(got.data.red.values, want.data.red.values)
        assert (got.data.red.values > 0).sum() > 100_000


def test_a_signed_saturation_read_is_signed(monkeypatch):
    import sys
    import types

    from odc.loader.types import RasterSource

    from raster.load import SaturationReader, SigningRioDriver

    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: f"{href}?sig=fresh"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    href = "https://x.blob.core.windows.net/c/B04.tif"
    driver = SigningRioDriver("planetary_computer", {href: 65535.0})
    reader = driver.open(RasterSource(href), None)
    assert isinstance(reader, SaturationReader) and reader.saturated == 65535.0
    assert reader._src.uri == f"{href}?sig=fresh"
    assert not isinstance(driver.open(RasterSource(href + "x"), None), SaturationReader)


@pytest.mark.realdata
def test_a_saturated_pixel_read_with_nearest_on_its_own_grid_is_missing(real_data, tmp_path):
    """``nearest`` (each grid pixel one of the file's): the saturated pixel alone is NaN, the
    others are their DN / 10,000 (baseline 02.14)."""
    item = _s2_with_red_pixel(real_data, tmp_path / "s2", 65535)
    red = load_items([item], ["red"], resampling="nearest").red.isel(time=0).values
    with rasterio.open(real_data / S2_FOLDER / "B04.tif") as src:
        dn = src.read(1).astype(np.float64)
    want = np.where(dn == 0, np.nan, dn * 1e-4)
    want[SAT_ROW, SAT_COL] = np.nan
    np.testing.assert_allclose(red, want, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/data/T31TCJ/B04.tif", "/data/T31TCJ/B04.tif"),
        ("https://host/B04.tif?se=2026&sig=x", "/vsicurl/https://host/B04.tif?se=2026&sig=x"),
        ("s3://sentinel-cogs/tiles/B04.tif", "/vsis3/sentinel-cogs/tiles/B04.tif"),
        ("file:///home/a/Mes%20donn%C3%A9es/B04.tif", "/home/a/Mes données/B04.tif"),
        ("/vsicurl/https://host/B04.tif", "/vsicurl/https://host/B04.tif"),
    ],
)
def test_the_saturation_vrt_reads_urls_through_gdal_file_systems(href, expected):
    """Inside a VRT a bare URL goes to GDAL's HTTP driver, which downloads the whole file at
    each open; the VRT names it as rasterio opens it (ranged reads)."""
    from raster.sources.hrefs import gdal_path

    assert gdal_path(href) == expected


def test_only_a_file_gdal_cannot_decode_is_said_to_be_corrupt(tmp_path):
    # A window outside the file, or a warp out of memory, is no damage of the file: its
    # rasterio error goes on as it is (the CLI words it), not "download it again".
    from raster.load import BandReader, LocalBand

    path = tmp_path / "B04.tif"
    path.write_bytes(b"II*\x00")

    class Failing:
        def __init__(self, error):
            self.error = error

        def read(self, *args, **kwargs):
            raise self.error

    band = LocalBand(str(path))
    window = rasterio.errors.WindowError("Window (-1, 0, 5, 5) is outside the dataset bounds")
    memory = rasterio.errors.WarpOperationError("Out of memory allocating 8 GB")
    for error in (window, memory):
        with pytest.raises(type(error)):
            BandReader(Failing(error), band).read(None, None)
    decode = rasterio.errors.RasterioIOError("Read failed. See previous exception for details.")
    decode.__cause__ = RuntimeError(f"{path}: ZIPDecode:Decoding error")  # GDAL's CPLE_*
    with pytest.raises(ReadError) as said:
        BandReader(Failing(decode), band).read(None, None)
    assert str(said.value) == (
        f"{path}: the file is corrupt, its pixels cannot be read (B04.tif: ZIPDecode:Decoding "
        "error); download it again"
    )


def test_a_band_reader_pickles():
    # Readers may travel to a Dask cluster's worker processes: a wrapper that looked its
    # attributes up in the wrapped reader recursed without end when unpickled, and a
    # notebook's cluster run waited for ever.
    import pickle

    from raster.load import BandReader, LocalBand

    copy = pickle.loads(pickle.dumps(BandReader("reader", LocalBand("/data/b.TIF"))))
    assert copy.reader == "reader" and copy.band == LocalBand("/data/b.TIF")
