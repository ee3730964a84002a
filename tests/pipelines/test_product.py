"""Single-product flows on synthetic products: which pixels each mask option keeps."""

import datetime as dt
import io
import json
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from pipelines.product import MaskOptions, product_indices, product_lst, write_product_raster
from pipelines.progress import dask_progress
from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    write_landsat_c2l2,
)
from tiles.errors import BandMissingError, IlotsWarning

N = 16


@pytest.fixture
def product(tmp_path):
    qa = np.full((N, N), encode_qa_pixel(), dtype="uint16")
    qa[0, :4] = encode_qa_pixel(cloud=True)
    qa[1, :4] = encode_qa_pixel(water=True)
    radsat = np.zeros((N, N), dtype="uint16")
    radsat[5, 5] = 1 << 3  # red (B4) saturated
    radsat[6, 6] = 1 << 6  # SWIR 2 (B7) saturated: not used by NDVI or LST
    radsat[7, 7] = 1 << 11  # terrain occlusion: rejected for every output
    st_qa = np.full((N, N), 150, dtype="int16")  # 1.5 K
    st_qa[8, 8] = 450  # 4.5 K
    cdist = np.full((N, N), 500, dtype="int16")  # 5 km from a cloud
    cdist[9, 9] = 50  # 0.5 km
    bands = {
        "red": reflectance_to_dn_landsat(np.full((N, N), 0.05)),
        "nir08": reflectance_to_dn_landsat(np.full((N, N), 0.45)),
        "lwir11": kelvin_to_st_dn(np.full((N, N), 300.0)),
        "qa_pixel": qa,
        "qa_radsat": radsat,
        "st_qa": st_qa,
        "st_cdist": cdist,
    }
    return write_landsat_c2l2(
        tmp_path, bands=bands, crs=32631, transform=from_origin(600000, 5400000, 30, 30),
        platform="landsat-8", path=199, row=26, date=dt.date(2023, 7, 12),
    )  # fmt: skip


def _kept(arr):
    return set(zip(*np.nonzero(~np.isfinite(arr.values)), strict=True))


CLOUD = {(0, c) for c in range(4)}
WATER = {(1, c) for c in range(4)}


OCCLUDED = {(7, 7)}


def test_lst_masks_cloud_and_water_by_default(product):
    lst = product_lst(product)
    assert _kept(lst) == CLOUD | WATER | OCCLUDED
    np.testing.assert_allclose(np.nanmean(lst.values), 300.0, atol=2e-3)


def test_lst_thresholds_on_uncertainty_and_cloud_distance(product):
    lst = product_lst(product, mask=MaskOptions(st_qa_max_k=2.0, cdist_min_km=1.0))
    assert _kept(lst) == CLOUD | WATER | OCCLUDED | {(8, 8), (9, 9)}


def test_indices_mask_saturated_bands_they_use_and_keep_water(product):
    ndvi = product_indices(product, ["ndvi"])["ndvi"]
    assert _kept(ndvi) == CLOUD | OCCLUDED | {(5, 5)}
    np.testing.assert_allclose(np.nanmean(ndvi.values), 0.4 / 0.5, rtol=1e-4)


def test_water_can_be_kept_for_lst_and_masked_for_indices(product):
    assert _kept(product_lst(product, mask=MaskOptions(keep_water=True))) == CLOUD | OCCLUDED
    ndvi = product_indices(product, ["ndvi"], mask=MaskOptions(keep_water=False))["ndvi"]
    assert _kept(ndvi) == CLOUD | WATER | OCCLUDED | {(5, 5)}


def test_indices_without_mask(product):
    ndvi = product_indices(product, ["ndvi"], mask=MaskOptions(preset="none"))["ndvi"]
    assert np.isfinite(ndvi.values).all()


def _negative_red_product(tmp_path):
    """Red 0.05 and NIR 0.45, but red -0.01 at (0, 1) (under the cloud), (2, 2) and (2, 3),
    and red and NIR -0.01 at (3, 3)."""
    red, nir = np.full((N, N), 0.05), np.full((N, N), 0.45)
    red[[0, 2, 2, 3], [1, 2, 3, 3]] = -0.01
    nir[3, 3] = -0.01
    qa = np.full((N, N), encode_qa_pixel(), dtype="uint16")
    qa[0, :4] = encode_qa_pixel(cloud=True)
    bands = {"red": reflectance_to_dn_landsat(red), "nir08": reflectance_to_dn_landsat(nir),
             "qa_pixel": qa}  # fmt: skip
    return write_landsat_c2l2(
        tmp_path, bands=bands, crs=32631, transform=from_origin(600000, 5400000, 30, 30),
        platform="landsat-8", path=199, row=26, date=dt.date(2023, 7, 12),
    )  # fmt: skip


@pytest.mark.parametrize(("preset", "count"), [("none", 4), ("default", 3)])
def test_a_negative_reflectance_taken_as_zero_is_counted_and_said(tmp_path, preset, count):
    # By hand: 4 pixels have a negative red; the cloud mask leaves out the one at (0, 1).
    product = _negative_red_product(tmp_path)
    ndvi = product_indices(product, ["ndvi"], mask=MaskOptions(preset=preset))["ndvi"]
    with pytest.warns(
        IlotsWarning,
        match=rf"on {count} pixels kept by the mask \({preset}\), "
        r"NDVI reads a negative reflectance of red, nir08, taken as 0",
    ) as said:
        write_product_raster(ndvi, tmp_path / "ndvi.tif")
    (message,) = [str(w.message) for w in said if issubclass(w.category, IlotsWarning)]
    assert ("--mask default leaves most of them out" in message) == (preset == "none")
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        values, tags = src.read(1, masked=True).filled(np.nan), src.tags()
    assert tags["ilots_negative_reflectance_pixels"] == str(count)
    # (0.45 - 0) / (0.45 + 0) = 1 where red < 0; no value where both are (0 / 0)
    assert values[2, 2] == values[2, 3] == 1.0 and np.isnan(values[3, 3])
    assert np.isnan(values[0, 1]) == (preset == "default")


def test_indices_without_negative_reflectance_say_nothing(product, tmp_path):
    ndvi = product_indices(product, ["ndvi", "savi"], mask=MaskOptions(preset="none"))
    # Lazy counts stay out of the attributes, which any writer takes as plain values.
    assert all(np.ndim(v) == 0 or isinstance(v, str) for v in ndvi["ndvi"].attrs.values())
    ndvi.to_netcdf(tmp_path / "indices.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        write_product_raster(ndvi["ndvi"], tmp_path / "ndvi.tif")
    assert ndvi["ndvi"].attrs["ilots_negative_reflectance_pixels"] == 0
    assert "ilots_negative_reflectance_pixels" not in ndvi["savi"].attrs  # no floor in SAVI


def test_threshold_needing_an_absent_band(tmp_path):
    folder = write_landsat_c2l2(
        tmp_path, bands={"lwir11": kelvin_to_st_dn(np.full((N, N), 300.0)),
                         "qa_pixel": np.full((N, N), encode_qa_pixel(), dtype="uint16")},
        crs=32631, transform=from_origin(600000, 5400000, 30, 30), platform="landsat-8",
        path=199, row=26, date=dt.date(2023, 7, 12),
    )  # fmt: skip
    with pytest.raises(BandMissingError, match="st_qa"):
        product_lst(folder, mask=MaskOptions(st_qa_max_k=2.0))


#: The files of each USGS STAC API item of a Level-2 product, by the API's asset keys.
USGS_HALVES = {
    "SR": {"red": "SR_B4.TIF", "nir08": "SR_B5.TIF", "qa_pixel": "QA_PIXEL.TIF"},
    "ST": {"lwir11": "ST_B10.TIF", "QA": "ST_QA.TIF", "CDIST": "ST_CDIST.TIF",
           "qa_pixel": "QA_PIXEL.TIF"},
}  # fmt: skip


def _usgs_item(product: Path, half: str, folder: Path) -> Path:
    """The ``<id>_SR`` or ``<id>_ST`` item of the LandsatLook STAC API for ``product``,
    written in ``folder`` (apart from the product's MTL) with hrefs to its files."""
    pid = product.name
    item = {
        "type": "Feature", "stac_version": "1.0.0", "id": f"{pid}_{half}",
        "collection": f"landsat-c2l2-{half.lower()}",
        "properties": {"datetime": "2023-07-12T10:45:00Z", "platform": "LANDSAT_8",
                       "instruments": ["OLI", "TIRS"], "landsat:correction": "L2SP"},
        "geometry": None, "links": [],
        "assets": {key: {"href": str(product / f"{pid}_{name}"), "roles": ["data"]}
                   for key, name in USGS_HALVES[half].items()},
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pid}_{half}.json"
    path.write_text(json.dumps(item))
    return path


def test_lst_of_a_lone_sr_item_names_the_st_item(product, tmp_path):
    sr = _usgs_item(product, "SR", tmp_path / "sr_only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no scale/offset in the item: the defaults
        with pytest.raises(BandMissingError) as info:
            product_lst(sr)
    message = str(info.value)
    assert f"it is the SR half ({product.name}_SR.json, collection landsat-c2l2-sr" in message
    assert f"without its ST item ({product.name}_ST, collection landsat-c2l2-st" in message
    assert "download the product again" not in message


def test_indices_of_a_lone_st_item_name_the_sr_item(product, tmp_path):
    st = _usgs_item(product, "ST", tmp_path / "st_only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BandMissingError) as info:
            product_indices(st, ["ndvi"])
    message = str(info.value)
    assert f"it is the ST half ({product.name}_ST.json, collection landsat-c2l2-st" in message
    assert f"without its SR item ({product.name}_SR, collection landsat-c2l2-sr" in message


def test_sr_and_st_items_side_by_side_give_lst_and_indices(product, tmp_path):
    folder = tmp_path / "items"
    sr, st = (_usgs_item(product, half, folder) for half in ("SR", "ST"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lst = product_lst(sr)
        ndvi = product_indices(st, ["ndvi"])["ndvi"]
    # the product was written at 300 K, red 0.05 and NIR 0.45 (fixture above)
    assert _kept(lst) == CLOUD | WATER
    np.testing.assert_allclose(np.nanmean(lst.values), 300.0, atol=2e-3)
    np.testing.assert_allclose(np.nanmean(ndvi.values), 0.4 / 0.5, rtol=1e-4)


def test_bad_mask_options():
    with pytest.raises(ValueError, match="dilate_px"):
        MaskOptions(dilate_px=-1)


def test_progress_bar_follows_a_computation(capsys):
    with dask_progress("test", enabled=True):
        total = da.ones(100, chunks=10).sum().compute()
    assert total == 100
    with dask_progress("test", enabled=False):
        assert da.ones(4, chunks=2).sum().compute() == 4


def test_progress_has_one_bar_per_stage_that_fills_up():
    """Computations in one stage add up on its bar (a tiled run's passes: one bar each, not
    one per tile); the stage's detail is shown; others go to the default bar."""
    from rich.console import Console
    from rich.progress import Progress

    from pipelines.progress import _follow, progress_detail, progress_stage

    progress = Progress(console=Console(file=io.StringIO()))
    with progress, _follow(progress, "other"):
        with progress_stage("one tile"):
            da.ones(40, chunks=10).sum().compute()
        with progress_stage("reading"):
            for k in (1, 2, 3):
                progress_detail(f"tile {k}/3")
                da.ones(40, chunks=10).sum().compute()
        da.ones(4, chunks=2).sum().compute()
    bars = {task.description: task for task in progress.tasks}
    assert set(bars) == {"one tile", "reading (tile 3/3)", "other"}
    one, reading, other = bars["one tile"], bars["reading (tile 3/3)"], bars["other"]
    assert one.total == one.completed > 1
    assert reading.total == reading.completed == 3 * one.total
    assert other.total == other.completed > 0
