"""The run's cloud masks on a grid coarser than the bands it averages.

Sentinel-2 on the demo's 30 m grid (in Landsat's phase): the demo's products copied with
clouds painted into their SCL (bright reflectance under them), overviews kept. Landsat on a
60 m grid: the demo's products as they are (speckled clouds and shadows; their ST_QA, 1.5 K
everywhere, and ST_CDIST reject nothing: ``tests/raster/test_footprint.py`` checks those).
The oracle is computed here from the product files with NumPy: each grid pixel's value is the
area-weighted mean of the pixels under it (interval overlaps by hand; for the LST, the fourth
root of the mean of their T⁴: a pixel averages radiance, not temperature; over its land only,
water left out), and a date counts for a pixel only when every mask pixel under it is clear
(for SCL: vegetation, not-vegetated or water, water not most of it; for the LST: every land
pixel, water not most of it), with the clouds grown by ``mask.dilate_m`` (whole grid pixels).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from scipy import ndimage

from pipelines import run_tiles
from pipelines.config import apply_overrides, load_config, resolve_inputs
from pipelines.demo import SCENES
from pipelines.run import run
from pipelines.run_graph import lst_mask_steps, scene_graph, sentinel2_indices
from pipelines.run_plan import plan
from tests.conftest import overlap_lengths, raise_if_dask_computes
from tiles.errors import IlotsWarning

CLOUD = 9
BRIGHT_DN = 6000


def _on_grid(values: np.ndarray, source, grid, shape) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted mean of ``values`` over each grid pixel, and which pixels each touches."""
    wy = overlap_lengths(
        grid.f + grid.e * np.arange(shape[0] + 1),
        source.f + source.e * np.arange(values.shape[0] + 1),
    )
    wx = overlap_lengths(grid.c + grid.a * np.arange(shape[1] + 1),
                         source.c + source.a * np.arange(values.shape[1] + 1))  # fmt: skip
    mean = wy @ values.astype(float) @ wx.T / (wy.sum(1)[:, None] * wx.sum(1)[None, :])
    return mean, (wy > 0).astype(float), (wx > 0).astype(float)


def _cloudy_products(demo_folder, folder):
    """Copy the demo's Sentinel-2 products with a cloud painted in each (and bright under it)."""
    folder.mkdir()
    products = sorted(demo_folder.glob("products/S2*_L2A"))
    for k, source in enumerate(products):
        product = folder / source.name
        shutil.copytree(source, product)
        with rasterio.open(product / "SCL.tif") as src:
            scl, profile = src.read(1), src.profile
        r0, c0 = 200 + 150 * k, 250 + 130 * k
        scl[r0 : r0 + 13, c0 : c0 + 11] = CLOUD
        with rasterio.open(product / "SCL.tif", "w", **profile) as dst:
            dst.write(scl, 1)
        for band in ("B04", "B08"):
            with rasterio.open(product / f"{band}.tif") as src:
                dn, profile = src.read(1), src.profile
            dn[2 * r0 : 2 * r0 + 26, 2 * c0 : 2 * c0 + 22] = BRIGHT_DN
            with rasterio.open(product / f"{band}.tif", "w", **profile) as dst:
                dst.write(dn, 1)
                # Overviews as the products have them: a 30 m average must not read them.
                dst.build_overviews([2, 4], Resampling.nearest)
    return sorted(folder.iterdir())


def _ndvi_by_hand(products, grid, shape, dilate: int):
    """The NDVI median of the products on the grid, masked over each pixel's footprint."""
    per_date, bounds, partly_cloudy = [], [], 0
    for product in products:
        item = json.loads((product / f"{product.name}.json").read_text())
        reflectance = {}
        for band, name in (("red", "B04"), ("nir", "B08")):
            meta = item["assets"][band]["raster:bands"][0]
            with rasterio.open(product / f"{name}.tif") as src:
                dn, transform = src.read(1), src.transform
            assert (dn > 0).all()  # no fill: every 10 m pixel weighs in the mean
            mean, _, _ = _on_grid(dn, transform, grid, shape)
            # GDAL rounds the mean into the uint16 it loads; its ties go either way.
            reflectance[band] = np.round(mean) * meta["scale"] + meta["offset"]
            step = meta["scale"]
        with rasterio.open(product / "SCL.tif") as src:
            scl, transform = src.read(1), src.transform
        water_share, wy, wx = _on_grid(scl == 6, transform, grid, shape)
        cloud = (wy @ (scl == CLOUD) @ wx.T) > 0
        clear = ((wy @ ~np.isin(scl, [4, 5, 6]) @ wx.T) == 0) & (water_share < 0.5)
        if dilate:
            cross = ndimage.generate_binary_structure(2, 1)
            clear &= ~ndimage.binary_dilation(cloud, cross)  # a disk of radius 1
        # What the class at each pixel's centre says (the nearest sample of before).
        rows = np.floor((grid.f + grid.e * (np.arange(shape[0]) + 0.5) - transform.f) / transform.e)
        cols = np.floor((grid.c + grid.a * (np.arange(shape[1]) + 0.5) - transform.c) / transform.a)
        centre = scl[np.ix_(rows.astype(int), cols.astype(int))]
        partly_cloudy += int((np.isin(centre, [4, 5]) & cloud).sum())
        red, nir = reflectance["red"], reflectance["nir"]
        per_date.append(np.where(clear, (nir - red) / (nir + red), np.nan))
        # How far one DN of rounding in each band moves the NDVI.
        bounds.append(2 * step * (abs(red) + abs(nir)) / (nir + red) ** 2 * 1.01)
    assert partly_cloudy > 20  # pixels the centre called clear but a cloud covers in part
    return np.nanmedian(np.stack(per_date), axis=0), np.max(bounds, axis=0)


@pytest.mark.filterwarnings("ignore:All-NaN slice")
@pytest.mark.parametrize("dilate", [0, 1])
def test_a_pixel_counts_a_date_only_when_its_whole_footprint_is_clear(
    demo_folder, tmp_path, dilate
):
    products = _cloudy_products(demo_folder, tmp_path / "s2")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {
            "inputs.sentinel2": [str(tmp_path / "s2")],
            "inputs.landsat": [str(demo_folder / "products")],
            "mask.dilate_m": 30 * dilate,  # grid pixels of 30 m
            "mask.indices_keep_water": True,  # the clear masks alone (water: test_run_water)
            "outputs.report": False,
            "scenarios": [],
            "inequality.outcomes": ["lst_mean_k"],
        },
    )
    assert config.grid.resolution == 30
    run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "ndvi_median.tif") as src:
        got, grid = src.read(1), src.transform
    assert grid.a == 30 and (grid.c - 15) % 30 == 0  # Landsat's phase, not Sentinel-2's
    want, rounding = _ndvi_by_hand(products, grid, got.shape, dilate)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    valid = ~np.isnan(want)
    assert valid.mean() > 0.9
    off = np.abs(got - want)[valid]
    assert (off <= rounding[valid] + 1e-6).all(), off.max()
    assert np.median(off) < 1e-6  # most means are no tie: equal to float32 precision


def test_cloud_dilation_reaches_sentinel2_on_a_grid_as_fine_as_its_bands(demo_folder, tmp_path):
    """``mask.dilate_m`` grows the SCL clouds too (it once applied to Landsat only): on a 10 m
    grid in Sentinel-2's phase, each pixel takes its 10 m reflectance and the SCL pixel it
    lies in, and the clouds grow by 20 m, a disk of 2 grid pixels."""
    products = _cloudy_products(demo_folder, tmp_path / "s2")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inputs.sentinel2": [str(tmp_path / "s2")], "grid.resolution": 10, "mask.dilate_m": 20},
    )
    items = resolve_inputs(config).sentinel2
    with raise_if_dask_computes():
        idx = sentinel2_indices(config, items, _s2_window(products[0])).data
    got = idx["ndvi"].values
    disk = np.add.outer(np.arange(-2, 3) ** 2, np.arange(-2, 3) ** 2) <= 4
    want, per_date = _ndvi_on_s2_pixels(products, disk)
    assert np.isnan(want).sum() < np.isnan(per_date).sum() / len(per_date)  # dates fill in
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)


def test_sentinel2_ndbi_pairs_b11_with_b8a(demo_folder):
    """NDBI = (B11 − B8A)/(B11 + B8A) (science.md §3.1, §3.4: B8A is OLI B5's spectral match),
    not B08: on the products' own 20 m pixels, each date with its SCL (kept: 4, 5), median over
    the dates, by hand from the files."""
    products = sorted(demo_folder.glob("products/S2*_L2A"))
    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"grid.resolution": 20})
    with rasterio.open(products[0] / "B11.tif") as src:
        window = GeoBox(src.shape, src.transform, src.crs)[100:220, 150:300]
    items = resolve_inputs(config).sentinel2
    with raise_if_dask_computes():
        ndbi = sentinel2_indices(config, items, window).data["ndbi"]
    got = ndbi.values
    per_date, b08 = [], []
    for product in products:
        item = json.loads((product / f"{product.name}.json").read_text())
        rho = {}
        for name, file in (("swir16", "B11"), ("nir08", "B8A"), ("nir", "B08")):
            meta = item["assets"][name]["raster:bands"][0]
            with rasterio.open(product / f"{file}.tif") as src:
                dn = src.read(1)
            dn = dn[::2, ::2] if name == "nir" else dn  # a 10 m pixel of each 20 m one
            rho[name] = dn[100:220, 150:300] * meta["scale"] + meta["offset"]
        with rasterio.open(product / "SCL.tif") as src:
            clear = np.isin(src.read(1)[100:220, 150:300], [4, 5])
        swir = rho["swir16"]
        per_date.append(np.where(clear, (swir - rho["nir08"]) / (swir + rho["nir08"]), np.nan))
        b08.append(np.where(clear, (swir - rho["nir"]) / (swir + rho["nir"]), np.nan))
    want = np.nanmedian(np.stack(per_date), axis=0)
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)
    assert np.nanmax(np.abs(want - np.nanmedian(np.stack(b08), axis=0))) > 0.01  # it tells


def test_a_product_without_b8a_makes_ndbi_take_b08_and_says_so(demo_folder, tmp_path):
    # B8A is NDBI's preferred near-infrared, not a band it needs: a product without it makes
    # the run read B08 in every product, which it says (not that an index is left out).
    folder = tmp_path / "s2"
    folder.mkdir()
    for source in sorted(demo_folder.glob("products/S2*_L2A")):
        shutil.copytree(source, folder / source.name)
    _drop_band(sorted(folder.iterdir())[0], "nir08", "B8A")
    config = apply_overrides(load_config(demo_folder / "config.yaml"),
                             {"inputs.sentinel2": [str(folder)]})  # fmt: skip
    items = resolve_inputs(config).sentinel2
    with rasterio.open(sorted(folder.iterdir())[0] / "B11.tif") as src:
        window = GeoBox(src.shape, src.transform, src.crs)[100:120, 150:170]
    indices = sentinel2_indices(config, items, window)
    assert "nir08" not in indices.bands and "nir" in indices.bands
    assert "ndbi" in indices.data
    (said,) = [note for note in indices.notes if "lack" in note]
    assert said.startswith("NDBI pairs B11 with B08, not B8A (science.md §3.4), in every ")
    assert f"1 of {len(items)} lack B8A (nir08)" in said


#: A window of the products' 10 m pixels, around the first two painted clouds.
ROWS, COLS = np.s_[380:560], np.s_[480:680]


def _s2_window(product):
    with rasterio.open(product / "B08.tif") as src:
        return GeoBox(src.shape, src.transform, src.crs)[ROWS, COLS]


def _ndvi_on_s2_pixels(products, disk=None):
    """NDVI median on the products' own 10 m pixels (:data:`ROWS`, :data:`COLS`), by hand:
    each pixel with the SCL pixel it lies in (kept: 4, 5), clouds grown by ``disk``."""
    per_date = []
    for product in products:
        item = json.loads((product / f"{product.name}.json").read_text())
        band = {}
        for name, file in (("red", "B04"), ("nir", "B08")):
            meta = item["assets"][name]["raster:bands"][0]
            with rasterio.open(product / f"{file}.tif") as src:
                band[name] = src.read(1)[ROWS, COLS] * meta["scale"] + meta["offset"]
        with rasterio.open(product / "SCL.tif") as src:
            scl = np.repeat(np.repeat(src.read(1), 2, axis=0), 2, axis=1)[ROWS, COLS]
        clear = np.isin(scl, [4, 5])
        if disk is not None:
            clear &= ~ndimage.binary_dilation(np.isin(scl, [3, 8, 9, 10]), disk)
        per_date.append(
            np.where(clear, (band["nir"] - band["red"]) / (band["nir"] + band["red"]), np.nan)
        )
    return np.nanmedian(np.stack(per_date), axis=0), per_date


def _drop_band(product, name, file):
    """Deliver a product without one band: its file and its asset gone."""
    path = product / f"{product.name}.json"
    item = json.loads(path.read_text())
    del item["assets"][name]
    path.write_text(json.dumps(item))
    (product / f"{file}.tif").unlink()


def test_a_product_without_a_band_is_left_out_or_the_indices_needing_it(demo_folder, tmp_path):
    """One product without red (a partial download): no NDVI can come from it, so it is left
    out; another without SWIR 1.6 µm: MNDWI, NDBI and the albedo need it, so they are left
    out of every date (the NDVI keeps it). Both said in the notes, none stops the run."""
    products = _cloudy_products(demo_folder, tmp_path / "s2")
    _drop_band(products[0], "red", "B04")
    _drop_band(products[1], "swir16", "B11")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inputs.sentinel2": [str(tmp_path / "s2")], "grid.resolution": 10},
    )
    items = resolve_inputs(config).sentinel2
    assert len(items) == 3
    with raise_if_dask_computes():
        indices = sentinel2_indices(config, items, _s2_window(products[2]))
        idx, notes = indices.data, indices.notes
    assert set(idx.data_vars) == {"ndvi", "scl_water", "negative_reflectance"}
    assert len(indices.items) == 2  # swir16 is read from none, as one product lacks it
    assert indices.bands == ("red", "nir", "nir08", "green", "blue", "swir22", "scl")
    assert any(
        f"were left out of the NDVI and land cover: {products[0].name} (no red)" in n for n in notes
    )  # the band it lacks, not every band the NDVI needs
    assert any("some Sentinel-2 products lack swir16" in n for n in notes)
    want, _ = _ndvi_on_s2_pixels(products[1:])
    got = idx["ndvi"].values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)


def _landsat_by_hand(demo_folder, grid, shape, bands):
    """Per Landsat date: each band's GDAL-style uint16 mean DN over each grid pixel (fill
    left out; for ST_B10, ``"ST_B10_K"`` too: the fourth root of the area-weighted mean of
    T⁴ in K over the land 30 m pixels (QA_PIXEL bit 7 unset), NaN where one of them is fill
    or there is no land), the QA_PIXEL and ST_QA flags per 30 m pixel, the overlap weights,
    the grid pixels' centres, water (QA_PIXEL bit 7) per 30 m pixel and its share of each
    grid pixel, and QA_RADSAT per 30 m pixel."""
    for product in sorted(demo_folder.glob("products/LC0*")):
        read = {}
        for band in (*bands, "QA_PIXEL", "ST_QA", "QA_RADSAT"):
            with rasterio.open(next(product.glob(f"*_{band}.TIF"))) as src:
                read[band], transform = src.read(1), src.transform
        means = {}
        for band in bands:
            valid = read[band] > 0
            weight_sum, wy, wx = _on_grid(valid, transform, grid, shape)
            total, _, _ = _on_grid(np.where(valid, read[band], 0), transform, grid, shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                means[band] = np.round(total / weight_sum)
            if band == "ST_B10":
                land = (read["QA_PIXEL"] & 128) == 0
                t4 = np.where(valid & land, (read[band] * 0.00341802 + 149.0) ** 4, 0.0)
                mean_t4, _, _ = _on_grid(t4, transform, grid, shape)
                land_share, _, _ = _on_grid(land, transform, grid, shape)
                with_t, _, _ = _on_grid(valid | ~land, transform, grid, shape)
                with np.errstate(invalid="ignore", divide="ignore"):
                    kelvin = (mean_t4 / land_share) ** 0.25
                means["ST_B10_K"] = np.where(
                    (with_t >= 1 - 1e-9) & (land_share > 0), kelvin, np.nan
                )
        qa_clear = (read["QA_PIXEL"] & 63) == 0  # the default preset: bits 0-5
        st_ok = (read["ST_QA"] != -9999) & (read["ST_QA"] * 0.01 <= 2.0)
        rows = np.floor((grid.f + grid.e * (np.arange(shape[0]) + 0.5) - transform.f) / -30)
        cols = np.floor((grid.c + grid.a * (np.arange(shape[1]) + 0.5) - transform.c) / 30)
        centre = np.ix_(rows.astype(int), cols.astype(int))
        water30 = (read["QA_PIXEL"] & 128) != 0
        water_share, _, _ = _on_grid(water30, transform, grid, shape)
        yield means, qa_clear, st_ok, (wy, wx), centre, (water30, water_share), read["QA_RADSAT"]


def test_landsat_on_a_grid_coarser_than_30_m_is_masked_over_each_footprint(demo_folder, tmp_path):
    """On a 60 m grid the LST of a date is the fourth root of the area-weighted mean of T⁴ of
    the land 30 m pixels under a grid pixel (science.md pitfall 13; water, QA_PIXEL bit 7, is
    no land surface temperature: §1.3), and counts only when every one of them is clear
    (QA_PIXEL bits 0-5 unset, ST_QA <= 2 K) and water is less than half of it: a cloud's edge
    no longer warms or cools the pixels it partly covers, and the river neither is urban LST
    nor cools the riverbank pixels. QA_RADSAT has no band-10 bit: only terrain occlusion
    (bit 11, none in the demo) would reject a pixel."""
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 60, "outputs.report": False, "scenarios": [],
         "inequality.outcomes": ["lst_mean_k"]},
    )  # fmt: skip
    run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        got, grid = src.read(1), src.transform
    assert grid.a == 60
    per_date, partly_cloudy, riverbank = [], 0, 0
    for means, qa_clear, st_ok, (wy, wx), centre, water, radsat in _landsat_by_hand(
        demo_folder, grid, got.shape, ["ST_B10"]
    ):
        (water30, water_share), kelvin = water, means["ST_B10_K"]
        clear30 = ((qa_clear & st_ok) | water30) & ((radsat & 2048) == 0)  # water: left out
        clear = ((wy @ ~clear30 @ wx.T) == 0) & (water_share < 0.5)
        partly_cloudy += int((clear30[centre] & ~clear).sum())
        riverbank += int((clear & (water_share > 0) & (kelvin > 149.0)).sum())
        per_date.append(np.where(clear & (kelvin > 149.0), kelvin, np.nan))
    assert partly_cloudy > 50  # what the centre's QA called clear, a cloud partly covers
    assert riverbank > 100  # pixel-dates with water under them, their land's LST kept
    stack = np.stack(per_date)
    with np.errstate(all="ignore"):
        want = np.where(np.isfinite(stack).sum(0) >= 3, np.nanmedian(stack, axis=0), np.nan)
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        want[src.read(1) == 1] = np.nan  # no LST where the land cover says water either
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    # The demo's clouds are a speckle: at 60 m, many pixels have a cloudy 30 m pixel under
    # them on two of the four dates, and fewer than the 3 clear dates the config asks.
    assert np.isfinite(want).mean() > 0.3
    off = np.abs(got - want)[np.isfinite(want)]
    assert off.max() <= 1e-4  # float32 sums of T⁴ (no uint16 rounding: the mean is float)


#: A 36 x 36 block of 30 m pixels (rows, columns of the demo's Landsat products) in the
#: countryside, clear on the first two dates and dry, where the checkerboard is 290 / 320 K.
PATCH = np.s_[60:96, 60:96]
#: The 30 m pixel made cloudy on the first date, inside the patch (under one 60 m and one
#: 90 m pixel: both grids' edges are on Landsat's).
CLOUD_PIXEL = (76, 76)


def _checkerboard_products(demo_folder, folder):
    """The demo's Landsat products (at USGS's pixel phase, edges at 15 m + k·30 m), their
    ST_B10 a checkerboard of the demo's temperatures + 15 K and - 15 K, exactly 290 K and
    320 K in :data:`PATCH`; on the first date, :data:`CLOUD_PIXEL` cloudy."""
    from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn

    for k, product in enumerate(sorted(demo_folder.glob("products/LC0*"))):
        bands = {}
        for band, name in (("ST_B10", "lwir11"), ("QA_PIXEL", "qa_pixel"), ("ST_QA", "st_qa"),
                           ("QA_RADSAT", "qa_radsat")):  # fmt: skip
            with rasterio.open(next(product.glob(f"*_{band}.TIF"))) as src:
                bands[name], transform = src.read(1), src.transform
        kelvin = np.where(bands["lwir11"] > 0, bands["lwir11"] * 0.00341802 + 149.0, np.nan)
        kelvin[PATCH] = 305.0
        rows, cols = np.indices(kelvin.shape)
        bands["lwir11"] = kelvin_to_st_dn(kelvin + np.where((rows + cols) % 2, -15.0, 15.0))
        if k == 0:
            bands["qa_pixel"][CLOUD_PIXEL] = encode_qa_pixel(cloud=True)
        assert transform.c % 30 == 15 and transform.f % 30 == 15  # as the demo writes them
        _rewrite(product, folder, bands, crs=32631, transform=transform, path=198, row=30)
    return sorted(folder.iterdir())


def _rewrite(product, folder, bands, *, crs, transform, path, row):
    """Write ``bands`` as a Landsat product of ``product``'s date and platform."""
    from raster.synthetic import write_landsat_c2l2

    pid = product.name
    return write_landsat_c2l2(
        folder, bands=bands, crs=crs, transform=transform, path=path, row=row,
        date=dt.date(int(pid[17:21]), int(pid[21:23]), int(pid[23:25])),
        platform="landsat-9" if pid.startswith("LC09") else "landsat-8",
    )  # fmt: skip


def _radiance_lst_by_hand(products, grid, shape):
    """Per date, each grid pixel's (area-weighted mean of T⁴)^(1/4) over the land 30 m
    pixels under it (QA_PIXEL bit 7 unset), where every one of them is clear (QA_PIXEL bits
    0-5, ST_QA <= 2 K), holds a temperature and none is terrain-occluded, and water is under
    half of it; else NaN. Also the grid rows and columns wholly inside :data:`PATCH`, and the
    grid pixels :data:`CLOUD_PIXEL` overlaps."""
    per_date = []
    for product in products:
        read = {}
        for band in ("ST_B10", "QA_PIXEL", "ST_QA", "QA_RADSAT"):
            with rasterio.open(next(product.glob(f"*_{band}.TIF"))) as src:
                read[band], transform = src.read(1), src.transform
        dn, qa = read["ST_B10"], read["QA_PIXEL"]
        kelvin = dn * 0.00341802 + 149.0
        land = (qa & 128) == 0
        with_t = _on_grid((dn > 0) | ~land, transform, grid, shape)[0] >= 1 - 1e-9
        t4 = np.where((dn > 0) & land, kelvin**4, 0.0)
        mean_t4, wy, wx = _on_grid(t4, transform, grid, shape)
        land_share = _on_grid(land, transform, grid, shape)[0]
        clear30 = ((qa & 63) == 0) & (read["ST_QA"] * 0.01 <= 2.0) & (read["ST_QA"] != -9999)
        clear30 = (clear30 | ~land) & ((read["QA_RADSAT"] & 2048) == 0)
        water = _on_grid(~land, transform, grid, shape)[0] >= 0.5
        clear = ((wy @ ~clear30 @ wx.T) == 0) & ~water & with_t
        with np.errstate(invalid="ignore", divide="ignore"):
            per_date.append(np.where(clear, (mean_t4 / land_share) ** 0.25, np.nan))
    # Grid pixels wholly inside the patch: their edges within its 30 m pixels' edges.
    x0, y0 = transform.c + 30 * PATCH[1].start, transform.f - 30 * PATCH[0].start
    x1, y1 = transform.c + 30 * PATCH[1].stop, transform.f - 30 * PATCH[0].stop
    xs, ys = grid.c + grid.a * np.arange(shape[1] + 1), grid.f + grid.e * np.arange(shape[0] + 1)
    cols = np.nonzero((xs[:-1] >= x0) & (xs[1:] <= x1))[0]
    rows = np.nonzero((ys[:-1] <= y0) & (ys[1:] >= y1))[0]
    under = np.outer(wy[:, CLOUD_PIXEL[0]] > 0, wx[:, CLOUD_PIXEL[1]] > 0)
    return np.stack(per_date), np.ix_(rows, cols), under


@pytest.mark.filterwarnings("ignore:All-NaN slice")
@pytest.mark.parametrize("resolution", [60, 90])
def test_a_coarse_pixel_takes_the_radiance_mean_of_its_30_m_temperatures(
    demo_folder, tmp_path, resolution
):
    """science.md pitfall 13: on a grid coarser than 30 m, a pixel's LST on a date is
    (mean of T⁴)^(1/4) over the 30 m pixels under it, each weighed by the area it covers, not
    their mean temperature. Products with a ± 15 K checkerboard (290 / 320 K in a patch)
    under 60 m pixels (2 × 2 whole Landsat pixels: half hot, half cold) and 90 m pixels
    (5 hot and 4 cold, or 4 and 5), both on Landsat's pixel edges: the LST per date, the
    median, n_clear equal the oracle computed from the product files; a pixel with one cloudy
    30 m pixel under it has no LST that date. A run in tiles gives the same outputs."""
    from pipelines.run_graph import scene_graph
    from raster.synthetic import kelvin_to_st_dn

    products = _checkerboard_products(demo_folder, tmp_path / "landsat")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inputs.landsat": [str(tmp_path / "landsat")], "grid.resolution": resolution,
         "outputs.report": False, "scenarios": [], "inequality.outcomes": ["lst_mean_k"]},
    )  # fmt: skip
    with raise_if_dask_computes():
        graph = scene_graph(config)
    grid, shape = graph.geobox.affine, graph.geobox.shape.yx
    want, patch, under = _radiance_lst_by_hand(products, grid, shape)
    lst = graph.lst.values
    np.testing.assert_array_equal(np.isnan(lst), np.isnan(want))
    np.testing.assert_allclose(lst, want, rtol=0, atol=1e-3, equal_nan=True)

    # The patch, by hand: the DN-scaled 290 and 320 K, as radiance (T⁴) and as temperature.
    cold, hot = kelvin_to_st_dn([290.0, 320.0]) * 0.00341802 + 149.0
    mixes = [(5, 4), (4, 5)] if resolution == 90 else [(1, 1)]
    radiance = [((h * hot**4 + c * cold**4) / (h + c)) ** 0.25 for h, c in mixes]
    linear = [(h * hot + c * cold) / (h + c) for h, c in mixes]
    if resolution == 60:  # half and half: 306.10 K, where the mean temperature is 305.00 K
        np.testing.assert_allclose([radiance[0], linear[0]], [306.10, 305.00], atol=0.005)
    assert min(abs(r - m) for r in radiance for m in linear) > 1.0  # ~ (3/2)·σ²/T̄
    second = lst[1][patch]  # a date without clouds
    assert second.size >= 100 and np.isfinite(second).all()
    nearest = np.min([np.abs(second - r) for r in radiance], axis=0)
    assert nearest.max() < 1e-3
    # One cloudy 30 m pixel under it: no LST on the first date, as on no other pixel there.
    assert under.sum() == 1 and under[patch].sum() == under.sum()  # grids on Landsat's edges
    assert np.isnan(lst[0][under]).all() and np.isfinite(lst[1][under]).all()
    assert np.isnan(lst[0][patch]).sum() == under.sum()

    whole = run(config, out=tmp_path / "whole")
    rasters = {}
    for name in ("lst_median", "n_clear", "lst_anomaly"):
        with rasterio.open(tmp_path / "whole" / "rasters" / f"{name}.tif") as src:
            rasters[name] = src.read(1)
    n_clear = np.isfinite(want).sum(0)
    np.testing.assert_array_equal(rasters["n_clear"], n_clear)
    with np.errstate(all="ignore"):
        median = np.where(n_clear >= 3, np.nanmedian(want, axis=0), np.nan)
    with rasterio.open(tmp_path / "whole" / "rasters" / "landcover.tif") as src:
        median[src.read(1) == 1] = np.nan  # no LST where the land cover says water either
    np.testing.assert_allclose(rasters["lst_median"], median, rtol=0, atol=1e-3, equal_nan=True)
    assert np.isfinite(median).mean() > 0.3

    half = -(-max(shape) // 2)  # 2 x 2 tiles (on Landsat's pixel edges: the grid is coarser)
    assert len(run_tiles.tiles_of(graph.geobox, half)) == 4
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=half)
    for name, values in rasters.items():
        with rasterio.open(tmp_path / "tiled" / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), values, err_msg=name)
    assert whole.zones["iris"]["lst_mean_k"].notna().sum() >= 5  # the speckle leaves few at 60 m
    for layer in ("iris", "qpv"):
        a, b = whole.zones[layer], tiled.zones[layer]
        for column in ("lst_mean_k", "lst_anomaly_mean_k", "n_clear_mean", "valid_frac"):
            np.testing.assert_allclose(b[column], a[column], rtol=1e-9, err_msg=column)


@pytest.mark.parametrize("keep", [False, True])
def test_water_is_left_out_of_the_lst_unless_kept(demo_folder, tmp_path, keep):
    """On the demo's 30 m grid (a Landsat pixel per grid pixel), a date counts in n_clear
    where the pixel's QA_PIXEL bits 0-5 are unset and ST_QA <= 2 K, and not on water (bit 7)
    unless ``mask.lst_keep_water``: the river's LST is no urban LST (science.md §1.3)."""
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"outputs.report": False, "scenarios": [], "inequality.outcomes": ["lst_mean_k"],
         "mask.lst_keep_water": keep},
    )  # fmt: skip
    run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "n_clear.tif") as src:
        got, grid = src.read(1), src.transform
    assert grid.a == 30
    want, wet = np.zeros(got.shape, int), np.zeros(got.shape, int)
    for _, qa_clear, st_ok, _, centre, (water30, _), _ in _landsat_by_hand(
        demo_folder, grid, got.shape, ["ST_B10"]
    ):
        clear = (qa_clear & st_ok)[centre]
        wet += clear & water30[centre]
        want += clear & (keep | ~water30[centre])
    assert (wet > 0).sum() > 500  # the river, clear on some dates
    np.testing.assert_array_equal(got, want)


def _as_row_29(product, folder, keep_rows):
    """Copy a demo Landsat product as row 29 of the same path and overpass, its pixels below
    ``keep_rows`` made fill (as a scene north of the demo's would reach only its north)."""
    copy = folder / product.name.replace("_198030_", "_198029_")
    copy.mkdir()
    for source in product.iterdir():
        target = copy / source.name.replace("_198030_", "_198029_")
        if source.suffix == ".TIF":
            with rasterio.open(source) as src:
                data, profile = src.read(1), src.profile
            data[keep_rows:] = 1 if "QA_PIXEL" in source.name else 0  # fill
            with rasterio.open(target, "w", **profile) as dst:
                dst.write(data, 1)
        else:
            text = source.read_text().replace("_198030_", "_198029_")
            target.write_text(text.replace("WRS_ROW = 30", "WRS_ROW = 29"))
    return copy


def test_products_of_one_overpass_count_once(demo_folder, tmp_path):
    """Each demo Landsat product given again as row 29 of the same pass (the same pixels over
    the north third of the grid, fill elsewhere): the run equals the demo's run exactly, as
    each pair is one overpass; before, n_clear doubled over the overlap."""
    overrides = {"outputs.report": False, "scenarios": [], "inequality.outcomes": ["lst_mean_k"]}
    plain = apply_overrides(load_config(demo_folder / "config.yaml"), overrides)
    run(plain, out=tmp_path / "plain")
    rows = tmp_path / "rows"
    rows.mkdir()
    products = sorted(demo_folder.glob("products/LC0*"))
    for product in products:
        shutil.copytree(product, rows / product.name)
        _as_row_29(product, rows, keep_rows=200)
    both = apply_overrides(plain, {"inputs.landsat": [str(rows)]})
    result = run(both, out=tmp_path / "both")
    for name in ("n_clear", "lst_median", "lst_anomaly"):
        with rasterio.open(tmp_path / "plain" / "rasters" / f"{name}.tif") as src:
            want = src.read(1)
        with rasterio.open(tmp_path / "both" / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), want, err_msg=name)
    assert (want != 0).any()
    heat = json.loads((tmp_path / "both" / "heat_island.json").read_text())
    ids = [scene["product_id"] for scene in heat["scenes"]]
    assert ids == [f"{p.name.replace('_198030_', '_198029_')} + {p.name}" for p in products]
    assert len(result.zones["iris"]) == 64
    # Two dates in four products: the no-LST warning counts the two scenes.
    two = tmp_path / "two"
    two.mkdir()
    for product in products[:2]:
        shutil.copytree(product, two / product.name)
        _as_row_29(product, two, keep_rows=200)
    warned = run(
        apply_overrides(plain, {"inputs.landsat": [str(two)]}), out=tmp_path / "2"
    ).warnings
    said = "no IRIS has a composite LST: the periods hold 2 Landsat scene(s), fewer than "
    assert any(w.startswith(said) for w in warned), warned


def test_mask_steps_count_the_products_of_one_overpass_once(demo_folder, tmp_path):
    """The no-LST warning's mask steps (lst_mask_steps) of the demo's products given again
    as row 29 of the same pass: one scene per overpass, equal to the demo's own steps (the
    copies repeat its pixels or are fill); the last step is where the LST has a value."""
    plain = load_config(demo_folder / "config.yaml")
    rows = tmp_path / "rows"
    rows.mkdir()
    for product in sorted(demo_folder.glob("products/LC0*")):
        shutil.copytree(product, rows / product.name)
        _as_row_29(product, rows, keep_rows=200)
    both = apply_overrides(plain, {"inputs.landsat": [str(rows)]})
    graph = scene_graph(both)
    assert len(graph.inputs.landsat) == 2 * len(SCENES)
    steps = lst_mask_steps(both, graph.inputs.landsat, graph.geobox).compute()
    want = scene_graph(plain)
    want = lst_mask_steps(plain, want.inputs.landsat, want.geobox).compute()
    assert steps.sizes["time"] == len(SCENES) == graph.lst.sizes["time"]
    for name in want.data_vars:
        np.testing.assert_array_equal(steps[name].values, want[name].values, err_msg=name)
    np.testing.assert_array_equal(steps["st_qa"].values, graph.lst.notnull().values)


def test_a_sentinel2_product_given_twice_counts_once(demo_folder, tmp_path):
    """The demo's July Sentinel-2 product also given as Earth Search's collection 1 item (its
    id, baseline 05.10): the newer baseline's is kept, with a warning naming both, and the
    NDVI median equals the demo run's (the July date counted twice moved it, by up to 0.02
    in an audit)."""
    overrides = {"outputs.report": False, "scenarios": [], "inequality.outcomes": ["lst_mean_k"]}
    plain = apply_overrides(load_config(demo_folder / "config.yaml"), overrides)
    run(plain, out=tmp_path / "plain")
    s2 = tmp_path / "s2"
    shutil.copytree(demo_folder / "products", s2, ignore=shutil.ignore_patterns("LC0*"))
    july = s2 / "S2B_31TCJ_20230714_0_L2A"
    twice = s2 / "S2B_T31TCJ_20230714T105621_L2A"
    shutil.copytree(july, twice)
    item = json.loads((july / f"{july.name}.json").read_text())
    (twice / f"{july.name}.json").unlink()
    item["id"] = twice.name
    item["properties"]["s2:processing_baseline"] = "05.10"
    (twice / f"{twice.name}.json").write_text(json.dumps(item))
    both = apply_overrides(plain, {"inputs.sentinel2": [str(s2)]})
    warned = run(both, out=tmp_path / "both").warnings
    for name in ("ndvi_median", "landcover"):
        with rasterio.open(tmp_path / "plain" / "rasters" / f"{name}.tif") as src:
            want = src.read(1)
        with rasterio.open(tmp_path / "both" / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), want, err_msg=name)
    said = (
        "inputs.sentinel2: S2B_31TCJ_20230714_0_L2A and S2B_T31TCJ_20230714T105621_L2A are one "
        "product (tile 31TCJ, datatake S2B_20230714T105621); S2B_T31TCJ_20230714T105621_L2A kept "
        "(processing baseline 05.10), the other left out so that its date counts once"
    )
    assert said in warned, warned


def test_landsat_indices_on_a_coarser_grid_are_masked_over_each_footprint(demo_folder, tmp_path):
    """``composite.indices_from: landsat`` on a 60 m grid: the NDVI of a date comes from the
    reflectance averaged over the 30 m pixels under a grid pixel, all clear by QA_PIXEL and
    none with B4 or B5 saturated (QA_RADSAT bits 3, 4; the demo's brightest dense roofs
    saturate B2-B4 on every date) nor terrain-occluded (bit 11)."""
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 60, "composite.indices_from": "landsat", "outputs.report": False,
         "scenarios": [], "inequality.outcomes": ["lst_mean_k"],
         "mask.indices_keep_water": True},  # the clear masks alone (water: test_run_water)
    )  # fmt: skip
    run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "ndvi_median.tif") as src:
        got, grid = src.read(1), src.transform
    per_date, bounds = [], []
    saturated = np.zeros(got.shape, dtype=bool)
    for means, qa_clear, _, (wy, wx), _, _, radsat in _landsat_by_hand(
        demo_folder, grid, got.shape, ["SR_B4", "SR_B5"]
    ):
        red, nir = (means[b] * 0.0000275 - 0.2 for b in ("SR_B4", "SR_B5"))
        unsaturated = (radsat & (8 | 16 | 2048)) == 0
        clear = (wy @ ~(qa_clear & unsaturated) @ wx.T) == 0
        saturated |= (wy @ ~unsaturated @ wx.T) > 0
        per_date.append(np.where(clear, (nir - red) / (nir + red), np.nan))
        bounds.append(2 * 0.0000275 * (abs(red) + abs(nir)) / (nir + red) ** 2 * 1.01)
    with np.errstate(all="ignore"):
        want = np.nanmedian(np.stack(per_date), axis=0)
        rounding = np.nanmax(np.stack(bounds), axis=0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert saturated.sum() > 10 and np.isnan(got[saturated]).all()
    valid = np.isfinite(want)
    assert valid.mean() > 0.8
    assert (np.abs(got - want)[valid] <= rounding[valid] + 1e-6).all()


@pytest.mark.parametrize(("resampling", "footprints"), [("auto", 2), ("nearest", 0)])
def test_the_footprint_masks_serve_grids_that_mix_pixels(
    demo_folder, monkeypatch, resampling, footprints
):
    """On a 60 m grid, ``auto`` averages both sensors' pixels: both masks cover the
    footprint. ``nearest`` samples each band at the pixel centre, where the mask is taken
    too: no footprint mask."""
    from pipelines import run_graph

    calls = []
    for name in ("sentinel2_footprint_flags", "landsat_footprint_flags"):
        real = getattr(run_graph, name)
        monkeypatch.setattr(
            run_graph, name, lambda *a, _f=real, **k: calls.append(1) or _f(*a, **k)
        )
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 60, "grid.resampling": resampling},
    )
    with raise_if_dask_computes():
        run_graph.scene_graph(config)
    assert len(calls) == footprints


def test_landsat_products_of_another_utm_zone_are_warped_onto_the_grid(demo_folder, tmp_path):
    """Around Toulouse, paths 199-200 come in UTM 30N while the grid is in 31N. The demo's
    Landsat products rewritten in zone 30 (their own 30 m grid there), run on the demo's
    zone-31 grid: the LST median equals the one made here by warping each product's files
    onto the grid with rasterio (nearest, as ``auto`` takes a 30 m band onto a 30 m grid),
    masking by QA_PIXEL bits 0-5 and 7 (water) and ST_QA <= 2 K and taking the median of >=
    3 dates."""
    from rasterio.warp import Resampling as R
    from rasterio.warp import calculate_default_transform, reproject

    zone30 = tmp_path / "zone30"
    for product in sorted(demo_folder.glob("products/LC0*")):
        files = {
            b: next(product.glob(f"*_{b}.TIF"))
            for b in ("ST_B10", "QA_PIXEL", "ST_QA", "QA_RADSAT")
        }
        with rasterio.open(files["ST_B10"]) as src:
            transform, width, height = calculate_default_transform(
                src.crs, "EPSG:32630", src.width, src.height, *src.bounds, resolution=30
            )
            transform = Affine(30, 0, np.floor(transform.c / 30) * 30 - 15, 0, -30,
                               np.ceil(transform.f / 30) * 30 + 15)  # fmt: skip
        bands = {}
        for band, name in (("ST_B10", "lwir11"), ("QA_PIXEL", "qa_pixel"), ("ST_QA", "st_qa"),
                           ("QA_RADSAT", "qa_radsat")):  # fmt: skip
            with rasterio.open(files[band]) as src:
                out = np.full(
                    (height + 2, width + 2), 1 if band == "QA_PIXEL" else 0, src.dtypes[0]
                )
                reproject(rasterio.band(src, 1), out, dst_transform=transform,
                          dst_crs="EPSG:32630", resampling=R.nearest)  # fmt: skip
            bands[name] = out
        _rewrite(product, zone30, bands, crs=32630, transform=transform, path=200, row=30)
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inputs.landsat": [str(zone30)], "outputs.report": False, "scenarios": [],
         "inequality.outcomes": ["lst_mean_k"]},
    )  # fmt: skip
    run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        got, grid, crs = src.read(1), src.transform, src.crs
    assert crs.to_epsg() == 32631
    per_date = []
    for product in sorted(zone30.iterdir()):
        warped = {}
        for band in ("ST_B10", "QA_PIXEL", "ST_QA"):
            with rasterio.open(next(product.glob(f"*_{band}.TIF"))) as src:
                out = np.zeros(got.shape, src.dtypes[0])
                reproject(rasterio.band(src, 1), out, dst_transform=grid, dst_crs=crs,
                          resampling=R.nearest, dst_nodata=0)  # fmt: skip
                warped[band] = out.astype(np.int64)
        kelvin = warped["ST_B10"] * 0.00341802 + 149.0
        clear = ((warped["QA_PIXEL"] & 63) == 0) & (warped["QA_PIXEL"] > 0)
        clear &= (warped["QA_PIXEL"] & 128) == 0  # water is no urban LST (mask.lst_keep_water)
        clear &= (warped["ST_QA"] > 0) & (warped["ST_QA"] * 0.01 <= 2.0) & (warped["ST_B10"] > 0)
        per_date.append(np.where(clear, kelvin, np.nan))
    stack = np.stack(per_date)
    with np.errstate(all="ignore"):
        want = np.where(np.isfinite(stack).sum(0) >= 3, np.nanmedian(stack, axis=0), np.nan)
    assert np.isfinite(want).mean() > 0.5
    differ = (np.isnan(got) != np.isnan(want)) | (np.abs(got - want) > 1e-4)
    # odc-stac warps chunk by chunk with GDAL's approximate transformer, rasterio the whole
    # array: a nearest pick may differ where a pixel centre is within a hair of an edge.
    assert differ.mean() < 0.005, differ.sum()


def test_without_a_usable_sentinel2_product_the_indices_come_from_landsat(demo_folder, tmp_path):
    products = _cloudy_products(demo_folder, tmp_path / "s2")
    for product in products:
        _drop_band(product, "nir", "B08")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"), {"inputs.sentinel2": [str(tmp_path / "s2")]}
    )
    from pipelines.run_graph import scene_graph

    with raise_if_dask_computes():
        graph = scene_graph(config)
    assert any(
        "3 Sentinel-2 product(s) lack bands the NDVI needs (nir, red, scl)" in n
        and n.count("(no nir)") == 3
        for n in graph.notes
    )
    # The NDVI comes from the Landsat reflectance (the demo's products: red and NIR only).
    assert any("Landsat products lack bands for mndwi, ndbi" in n for n in graph.notes)
    assert set(graph.idx.data_vars) == {"ndvi", "negative_reflectance"}
    assert "indices from: Landsat surface reflectance" in plan(config).summary()  # --dry-run


@pytest.mark.parametrize("resampling", ["bilinear", "cubic"])
def test_bilinear_and_cubic_are_said_to_reach_past_the_masks(demo_folder, resampling):
    """--dry-run (and the run) warn that these kernels weigh pixels the masks do not cover."""
    config = apply_overrides(load_config(demo_folder / "config.yaml"),
                             {"grid.resampling": resampling})  # fmt: skip
    with pytest.warns(IlotsWarning, match=rf"grid.resampling: {resampling} weighs the band "
                      r"pixels around each grid pixel.*mask.dilate_m"):  # fmt: skip
        plan(config)
    with warnings.catch_warnings(record=True) as caught:  # the zones' and tables' warn too
        warnings.simplefilter("always", IlotsWarning)
        plan(load_config(demo_folder / "config.yaml"))  # auto: no such warning
    assert not [w for w in caught if "grid.resampling" in str(w.message)]


#: QA_RADSAT bits (science.md §1.3): B1 (coastal) 0, B4 (red) 3, B5 (NIR) 4, B7 (SWIR 2) 6,
#: terrain occlusion 11.
COASTAL, RED, NIR, SWIR22, TERRAIN = 1, 8, 16, 64, 2048


def _saturated_products(demo_folder, folder):
    """Copy the demo's Landsat products with QA_RADSAT bits painted in (beside the demo's own
    bright roofs, B2-B4 saturated on every date). Blocks of 30 m pixels, by date k:
    ``all_red`` red saturated on every date, ``nir_first`` NIR on the first date only,
    ``other`` coastal and SWIR 2 (bands no NDVI reads) on every date, ``terrain_second``
    terrain occlusion on the second date only."""
    folder.mkdir()
    blocks = {"all_red": (200, 210), "nir_first": (230, 250), "other": (260, 280),
              "terrain_second": (250, 330)}  # fmt: skip
    for k, source in enumerate(sorted(demo_folder.glob("products/LC0*"))):
        product = folder / source.name
        shutil.copytree(source, product)
        path = next(product.glob("*_QA_RADSAT.TIF"))
        with rasterio.open(path) as src:
            radsat, profile = src.read(1), src.profile
        bits = {"all_red": RED, "nir_first": NIR if k == 0 else 0, "other": COASTAL | SWIR22,
                "terrain_second": TERRAIN if k == 1 else 0}  # fmt: skip
        for name, (r0, c0) in blocks.items():
            radsat[r0 : r0 + 6, c0 : c0 + 6] |= bits[name]
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(radsat, 1)
    return blocks


def _by_hand_on(graph_da, products, radsat_rejects):
    """Per date, the product files read by hand onto ``graph_da``'s grid (its pixel centres
    fall on the 30 m pixels): red and NIR reflectance, ST_B10 in K, QA_PIXEL bits 0-5 clear,
    QA_PIXEL water, ST_QA <= 2 K, no ``radsat_rejects`` bit, and the 30 m pixel (row and
    column) of each grid pixel."""
    xs, ys = graph_da["x"].values, graph_da["y"].values
    for product in products:
        read = {}
        for band in ("SR_B4", "SR_B5", "ST_B10", "QA_PIXEL", "ST_QA", "QA_RADSAT"):
            with rasterio.open(next(product.glob(f"*_{band}.TIF"))) as src:
                read[band], t = src.read(1).astype(np.int64), src.transform
        rows = np.floor((t.f - ys) / 30).astype(int)
        cols = np.floor((xs - t.c) / 30).astype(int)
        on = {band: values[np.ix_(rows, cols)] for band, values in read.items()}
        yield {
            "red": on["SR_B4"] * 0.0000275 - 0.2,
            "nir": on["SR_B5"] * 0.0000275 - 0.2,
            "kelvin": on["ST_B10"] * 0.00341802 + 149.0,
            "clear": (on["QA_PIXEL"] & 63) == 0,
            "water": (on["QA_PIXEL"] & 128) != 0,
            "st_ok": on["ST_QA"] * 0.01 <= 2.0,
            "unsaturated": (on["QA_RADSAT"] & radsat_rejects) == 0,
            "pixels": (rows, cols),
        }


def _block(rows, cols, r0, c0):
    """Index the grid pixels that are the 6 x 6 30 m pixels from (r0, c0)."""
    return np.ix_((rows >= r0) & (rows < r0 + 6), (cols >= c0) & (cols < c0 + 6))


@pytest.mark.filterwarnings("ignore:All-NaN slice")
@pytest.mark.parametrize("radsat", [True, False])
def test_landsat_indices_and_lst_leave_out_saturated_and_occluded_pixels(
    demo_folder, tmp_path, radsat
):
    """``composite.indices_from: landsat`` on the demo's 30 m grid (a Landsat pixel per grid
    pixel): with ``mask.radsat`` a date's NDVI is left out where QA_RADSAT flags B4 or B5
    saturated or the terrain occluded (bits 3, 4, 11), not for bands the NDVI does not read;
    the LST of a date only where the terrain is occluded (QA_RADSAT has no band-10 bit).
    ``mask.radsat: false`` keeps them all."""
    from pipelines.run_graph import scene_graph

    blocks = _saturated_products(demo_folder, tmp_path / "landsat")
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"inputs.landsat": [str(tmp_path / "landsat")], "composite.indices_from": "landsat",
         "mask.radsat": radsat},
    )  # fmt: skip
    with raise_if_dask_computes():
        graph = scene_graph(config)
    assert ("qa_radsat" in graph.landsat.bands) == radsat
    assert any(href.endswith("_QA_RADSAT.TIF") for href in graph.read) == radsat
    ndvi = graph.idx["ndvi"].compute()
    lst = graph.lst.compute()
    products = sorted((tmp_path / "landsat").iterdir())
    ndvi_rejects = RED | NIR | TERRAIN if radsat else 0
    per_date, lst_dates = [], []
    for scene in _by_hand_on(ndvi, products, ndvi_rejects):
        keep = scene["clear"] & scene["unsaturated"]
        per_date.append(
            np.where(keep, (scene["nir"] - scene["red"]) / (scene["nir"] + scene["red"]), np.nan)
        )
    for scene in _by_hand_on(lst, products, TERRAIN if radsat else 0):
        keep = scene["clear"] & ~scene["water"] & scene["st_ok"] & scene["unsaturated"]
        lst_dates.append(np.where(keep, scene["kelvin"], np.nan))
    want = np.nanmedian(np.stack(per_date), axis=0)
    got = ndvi.values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(lst.values), np.isnan(np.stack(lst_dates)))
    np.testing.assert_allclose(lst.values, np.stack(lst_dates), atol=2e-4, equal_nan=True)

    # The planted blocks, one by one (none of them is water or one of the demo's roofs).
    rows, cols = scene["pixels"]  # the same on every date
    all_red = _block(rows, cols, *blocks["all_red"])
    assert np.isnan(got[all_red]).all() if radsat else np.isfinite(got[all_red]).all()
    nir_first = _block(rows, cols, *blocks["nir_first"])
    later = np.nanmedian(np.stack(per_date[1:]), axis=0)[nir_first]  # the first date left out
    assert np.isfinite(later).all()
    if radsat:
        np.testing.assert_allclose(got[nir_first], later, atol=1e-6)
    else:
        assert np.abs(got[nir_first] - later).max() > 1e-3
    other = _block(rows, cols, *blocks["other"])
    assert np.isfinite(got[other]).all()  # coastal and SWIR 2 saturation: no NDVI test
    terrain = _block(rows, cols, *blocks["terrain_second"])
    second = lst.isel(time=1).values[terrain]
    assert np.isnan(second).all() == radsat and np.isfinite(lst.isel(time=0).values[terrain]).all()


def test_a_landsat_product_without_qa_radsat_stops_the_run_unless_radsat_is_off(
    demo_folder, tmp_path
):
    """As for ST_QA and ST_CDIST: a product without the QA band a mask key needs is a
    one-line ConfigError naming the key, the product and the fix; ``mask.radsat: false``
    runs without QA_RADSAT and reads it from no product."""
    from pipelines.run_graph import scene_graph
    from tiles.errors import ConfigError

    folder = tmp_path / "landsat"
    folder.mkdir()
    for source in sorted(demo_folder.glob("products/LC0*")):
        shutil.copytree(source, folder / source.name)
    lacking = sorted(folder.iterdir())[2]
    next(lacking.glob("*_QA_RADSAT.TIF")).unlink()  # a partial download
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"), {"inputs.landsat": [str(folder)]}
    )
    with pytest.raises(ConfigError) as caught:
        scene_graph(config)
    message = str(caught.value)
    assert message == (
        f"mask.radsat: 1 Landsat product(s) lack the QA_RADSAT band it needs ({lacking.name}); "
        "add that file (every USGS L2SP product has it) or set mask.radsat: false"
    )
    with pytest.raises(ConfigError) as caught:  # --dry-run says it before any run
        plan(config)
    assert str(caught.value) == message
    with raise_if_dask_computes():
        graph = scene_graph(apply_overrides(config, {"mask.radsat": False}))
    assert "qa_radsat" not in graph.landsat.bands
    assert not any("QA_RADSAT" in href for href in graph.read)


def test_a_run_says_when_many_iris_have_no_lst(demo_folder, tmp_path):
    # At 90 m a pixel is clear only where all nine Landsat pixels of its land are: most of
    # the demo's 550 m IRIS keep under half their land clear on 3 dates. Before, only a run
    # where no IRIS had an LST said anything.
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 90, "outputs.report": False, "scenarios": []},
    )
    result = run(config, out=tmp_path / "run")
    lst = result.zones["iris"]["lst_mean_k"]
    without = int(lst.isna().sum())
    assert 0.1 * len(lst) < without < len(lst)  # many, not all
    said = [w for w in result.warnings if "IRIS have no composite LST" in w]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    kinds = dict(zip(manifest["warnings"], manifest["warning_codes"], strict=True))
    assert kinds[said[0]] == "few_clear_lst"  # its own title in the report, not "no IRIS'
    assert said == [
        f"{without} of {len(lst)} IRIS have no composite LST: the share of their land clear on "
        "at least composite.min_clear (3) scenes is under zones.min_valid_frac (0.5); on a "
        "90 m grid a pixel is clear only where every 30 m Landsat pixel under it is (a finer "
        "grid.resolution keeps more). Their LST columns are empty and they are left out of the "
        "inequality statistics; add scenes (inputs, periods), or lower composite.min_clear or "
        "zones.min_valid_frac"
    ]
