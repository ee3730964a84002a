"""Tests of Landsat products → STAC items, on the real products in ../shared/data."""

from __future__ import annotations

import json
import logging
import math
import shutil
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

from raster.bands import LANDSAT_C2_L1
from raster.sources import (
    band_scaling,
    landsat_item,
    landsat_metadata,
    read_mtl,
    require_bands,
)
from tiles.errors import (
    BandMissingError,
    IlotsWarning,
    MetadataError,
    ProductError,
    ReadError,
    UnrecognisedProductError,
    UnsupportedProductError,
)

pytestmark = pytest.mark.realdata

T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
T2 = "landsat_c2l2/LC08_L2SP_001062_20201031_20201106_02_T2"
C1 = "landsat_l1/LC08_L1TP_016037_20170813_20170814_01_RT"
C2_L1_XML = "landsat_l1/LC08_L1TP_201028_20171117_20200902_02_T1_MTL.xml"
ODC = "stac_items/odc-stac"
STACTOOLS = "stac_items/stactools-landsat"

T1_BANDS = {"red", "nir08", "lwir11", "st_qa", "st_emis", "qa_pixel"}
T2_BANDS = {"red", "nir08", "lwir11", "st_qa", "qa_pixel"}
SUFFIX = {
    "red": "SR_B4",
    "nir08": "SR_B5",
    "lwir11": "ST_B10",
    "st_qa": "ST_QA",
    "st_emis": "ST_EMIS",
    "qa_pixel": "QA_PIXEL",
}


def _band(item: pystac.Item, key: str) -> dict:
    return item.assets[key].to_dict()["raster:bands"][0]


def _proj(item: pystac.Item, key: str) -> tuple:
    d = item.assets[key].to_dict()
    return d["proj:code"], tuple(d["proj:shape"]), tuple(d["proj:transform"])


def _file_proj(path: Path | str) -> tuple:
    """Independent oracle: the grid straight from rasterio."""
    with rasterio.open(path) as src:
        return (
            f"EPSG:{src.crs.to_epsg()}",
            (src.height, src.width),
            tuple(float(v) for v in tuple(src.transform)[:6]),
        )


def _make_tar(product: Path, folder: Path, prefix: str = "") -> Path:
    """The product's files in a tar; ``prefix="./"`` as ``tar -C product .`` stores them."""
    folder.mkdir(exist_ok=True)
    tar_path = folder / f"{product.name}.tar"
    with tarfile.open(tar_path, "w") as archive:
        for file in sorted(product.iterdir()):
            archive.add(file, arcname=prefix + file.name)
    return tar_path


def _routes(real_data: Path, folder: str, tmp_path: Path) -> dict[str, Path]:
    product = real_data / folder
    name = product.name
    return {
        "folder": product,
        "mtl.txt": product / f"{name}_MTL.txt",
        "mtl.json": product / f"{name}_MTL.json",
        "mtl.xml": product / f"{name}_MTL.xml",
        "tar": _make_tar(product, tmp_path / "flat"),
        "tar_dot": _make_tar(product, tmp_path / "dot", prefix="./"),
        "sr_stac": product / f"{name}_SR_stac.json",
        "st_stac": product / f"{name}_ST_stac.json",
    }


@pytest.mark.parametrize(("folder", "bands"), [(T1, T1_BANDS), (T2, T2_BANDS)])
def test_every_layout_gives_the_same_item(
    real_data: Path, tmp_path: Path, folder: str, bands: set[str]
) -> None:
    product = real_data / folder
    items = {
        route: landsat_item(path) for route, path in _routes(real_data, folder, tmp_path).items()
    }
    for route, item in items.items():
        assert item.id == product.name, route
        assert set(item.assets) == bands, route
        for key in bands:
            file = product / f"{product.name}_{SUFFIX[key]}.TIF"
            assert _proj(item, key) == _file_proj(file), (route, key)
            href = item.assets[key].href
            if route.startswith("tar"):
                assert href.startswith("/vsitar/") and href.endswith(file.name)
                assert _proj(item, key) == _file_proj(href)  # GDAL reads it in the tar
            else:
                assert Path(href) == file.resolve()
        assert item.datetime == items["folder"].datetime
        assert item.bbox == items["folder"].bbox
        assert item.properties["ilots:product_type"] == "landsat-c2-l2", route
    assert items["tar"].properties["ilots:source"].endswith(".tar")
    assert items["sr_stac"].properties["ilots:source"].endswith("_SR_stac.json")


def test_real_t1_item_shape(real_data: Path) -> None:
    item = landsat_item(real_data / T1)
    props = item.properties
    assert props["platform"] == "landsat-8"
    assert props["ilots:product_type"] == "landsat-c2-l2"
    assert props["ilots:processing_level"] == "L2SP"
    assert props["landsat:wrs_path"] == "008" and props["landsat:wrs_row"] == "059"
    assert props["landsat:collection_number"] == "02"
    assert props["eo:cloud_cover"] == 81.02
    assert props["view:sun_elevation"] == 57.08727307
    assert item.datetime.isoformat() == "2019-12-01T15:13:51.861099+00:00"
    # footprint from the file, close to the MTL's product corners
    west, south, east, north = item.bbox
    assert west == pytest.approx(-76.09465, abs=0.01) and east == pytest.approx(-74.04655, abs=0.01)
    assert south == pytest.approx(0.39349, abs=0.01) and north == pytest.approx(2.49398, abs=0.01)
    assert pystac.Item.from_dict(json.loads(json.dumps(item.to_dict()))).id == item.id


def test_level2_scale_offset_are_the_mtl_literals(real_data: Path) -> None:
    item = landsat_item(real_data / T1)
    for key in ("red", "nir08"):
        band = _band(item, key)
        assert (band["scale"], band["offset"]) == (2.75e-05, -0.2)
        assert band["nodata"] == 0 and band["data_type"] == "uint16" and band["unit"] == "1"
    lst = _band(item, "lwir11")
    assert (lst["scale"], lst["offset"], lst["unit"]) == (0.00341802, 149.0, "K")
    assert (_band(item, "st_qa")["scale"], _band(item, "st_qa")["nodata"]) == (0.01, -9999)
    assert _band(item, "st_emis")["scale"] == 0.0001
    qa = _band(item, "qa_pixel")
    assert (qa["scale"], qa["offset"], qa["nodata"]) == (1.0, 0.0, 1)


def test_collection1_level1(real_data: Path) -> None:
    item = landsat_item(real_data / C1)
    assert item.properties["ilots:product_type"] == "landsat-c1-l1"
    assert item.properties["landsat:collection_number"] == "01"
    assert set(item.assets) == {"red", "nir08", "lwir11", "lwir12", "bqa"}
    assert "qa_pixel" not in item.assets
    sin_sun = math.sin(math.radians(62.17310472))
    red = _band(item, "red")
    assert red["scale"] == pytest.approx(2.0e-05 / sin_sun, rel=1e-12)
    assert red["offset"] == pytest.approx(-0.1 / sin_sun, rel=1e-12)
    for key, k1, k2 in (("lwir11", 774.8853, 1321.0789), ("lwir12", 480.8883, 1201.1442)):
        asset = item.assets[key].to_dict()
        assert (asset["ilots:k1"], asset["ilots:k2"]) == (k1, k2)
        band = asset["raster:bands"][0]
        assert (band["scale"], band["offset"]) == (3.342e-04, 0.1)
        assert band["unit"] == "W m-2 sr-1 um-1"
    # zeros outside the footprint carry no nodata tag in the file: the band table's 0 is used
    assert _band(item, "red")["nodata"] == 0
    for key in item.assets:
        assert _proj(item, key) == _file_proj(item.assets[key].href)


def test_collection2_level1_scaling_from_mtl(real_data: Path) -> None:
    meta = landsat_metadata(read_mtl(real_data / C2_L1_XML))
    thermal = band_scaling(meta, LANDSAT_C2_L1["lwir11"])
    assert (thermal.scale, thermal.offset) == (3.342e-04, 0.1)
    assert dict(thermal.extra) == {"ilots:k1": 774.8853, "ilots:k2": 1321.0789}
    red = band_scaling(meta, LANDSAT_C2_L1["red"])
    sin_sun = math.sin(math.radians(23.56680993))
    assert red.scale == pytest.approx(2.0e-05 / sin_sun, rel=1e-12)
    assert red.offset == pytest.approx(-0.1 / sin_sun, rel=1e-12)
    qa = band_scaling(meta, LANDSAT_C2_L1["qa_pixel"])
    assert (qa.scale, qa.offset) == (1.0, 0.0)


def test_lone_mtl_gives_a_metadata_only_item(real_data: Path) -> None:
    with pytest.warns(IlotsWarning, match="metadata only"):
        item = landsat_item(real_data / C2_L1_XML)
    assert item.properties["ilots:product_type"] == "landsat-c2-l1"
    assert item.assets == {}
    assert item.bbox is not None  # from the MTL corners
    with pytest.raises(BandMissingError, match="no bands"):
        require_bands(item, ["red"])


def test_l2sr_item_is_recognised(real_data: Path) -> None:
    with pytest.warns(IlotsWarning, match="defaults"):
        item = landsat_item(real_data / ODC / "LC08_L2SR_081119_20200101_20200823_02_T2.json")
    assert item.properties["ilots:processing_level"] == "L2SR"
    assert item.properties["ilots:product_type"] == "landsat-c2-l2"
    assert not any(k == "lwir11" or k.startswith("st_") for k in item.assets)
    assert _proj(item, "red")[0] == "EPSG:3031"
    assert item.assets["red"].href.startswith("https://")
    # the SR_B2 asset's file has another name in this item: the asset key says which band
    assert item.assets["blue"].href.endswith("_SR_B2_small.TIF")


def test_l2sr_folder_flags_st_bands_empty(real_data: Path, tmp_path: Path) -> None:
    product = real_data / T1
    folder = tmp_path / product.name
    folder.mkdir()
    for file in product.glob("*.TIF"):
        (folder / file.name).symlink_to(file)
    text = (product / f"{product.name}_MTL.txt").read_text()
    (folder / f"{product.name}_MTL.txt").write_text(
        text.replace('PROCESSING_LEVEL = "L2SP"', 'PROCESSING_LEVEL = "L2SR"')
    )
    item = landsat_item(folder)
    assert item.properties["ilots:processing_level"] == "L2SR"
    assert item.assets["lwir11"].to_dict()["ilots:empty"] is True
    assert "ilots:empty" not in item.assets["red"].to_dict()


def _copy_product(product: Path, tmp_path: Path) -> Path:
    folder = tmp_path / product.name
    shutil.copytree(product, folder)
    return folder


def test_missing_level2_group_falls_back_with_warning(real_data: Path, tmp_path: Path) -> None:
    folder = _copy_product(real_data / T1, tmp_path)
    for mtl in folder.glob("*_MTL.*"):
        mtl.unlink()
    text = (real_data / T1 / f"{folder.name}_MTL.txt").read_text()
    start = text.index("  GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS")
    end = text.index("  END_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS")
    end = text.index("\n", end) + 1
    (folder / f"{folder.name}_MTL.txt").write_text(text[:start] + text[end:])
    with pytest.warns(IlotsWarning, match="lwir11"):
        item = landsat_item(folder)
    assert (_band(item, "lwir11")["scale"], _band(item, "lwir11")["offset"]) == (0.00341802, 149.0)
    assert _band(item, "red")["scale"] == 2.75e-05


def test_missing_thermal_group_is_an_error_for_level1(real_data: Path, tmp_path: Path) -> None:
    folder = _copy_product(real_data / C1, tmp_path)
    mtl = folder / f"{folder.name}_MTL.txt"
    text = mtl.read_text()
    start = text.index("  GROUP = TIRS_THERMAL_CONSTANTS")
    end = text.index("\n", text.index("  END_GROUP = TIRS_THERMAL_CONSTANTS")) + 1
    mtl.write_text(text[:start] + text[end:])
    with pytest.raises(MetadataError, match="TIRS_THERMAL_CONSTANTS"):
        landsat_item(folder)


def test_missing_image_attributes_is_an_error(real_data: Path, tmp_path: Path) -> None:
    src = real_data / T1 / f"{Path(T1).name}_MTL.xml"
    text = src.read_text()
    start = text.index("<IMAGE_ATTRIBUTES>")
    end = text.index("</IMAGE_ATTRIBUTES>") + len("</IMAGE_ATTRIBUTES>")
    mtl = tmp_path / src.name
    mtl.write_text(text[:start] + text[end:])
    with pytest.raises(MetadataError, match="IMAGE_ATTRIBUTES"):
        landsat_item(mtl)


@pytest.mark.parametrize("keep_bytes", [16, 200_000])
def test_truncated_tiff_is_a_read_error(real_data: Path, tmp_path: Path, keep_bytes: int) -> None:
    product = real_data / T1
    folder = tmp_path / product.name
    folder.mkdir()
    shutil.copy(product / f"{product.name}_MTL.txt", folder)
    bad = folder / f"{product.name}_SR_B4.TIF"
    bad.write_bytes((product / bad.name).read_bytes()[:keep_bytes])
    with pytest.raises(ReadError, match=bad.name) as info:
        landsat_item(folder)
    assert "\n" not in str(info.value)


def test_folder_without_mtl_is_unrecognised(tmp_path: Path) -> None:
    (tmp_path / "LC08_L2SP_008059_20191201_20200825_02_T1_SR_B4.TIF").write_bytes(b"")
    with pytest.raises(UnrecognisedProductError, match="MTL"):
        landsat_item(tmp_path)


def test_planetary_computer_id_without_product_files_is_unrecognised(tmp_path: Path) -> None:
    # Planetary Computer's ids leave out the processing date, which its file names give; an
    # item with neither names no product.
    item = {"type": "Feature", "id": "LC08_L2SP_047027_20201204_02_T1", "properties": {},
            "assets": {"lwir11": {"href": "https://example.org/lwir11.tif?sig=x"}}}  # fmt: skip
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    with pytest.raises(UnrecognisedProductError, match="no file named after its Landsat product"):
        landsat_item(path)


def test_stac_json_keep_and_drop_remote_assets(real_data: Path) -> None:
    path = real_data / T1 / f"{Path(T1).name}_SR_stac.json"
    kept = landsat_item(path, remote="keep")
    assert T1_BANDS < set(kept.assets)
    assert kept.assets["swir16"].href.startswith("https://landsatlook.usgs.gov/")
    assert Path(kept.assets["red"].href).is_file()
    dropped = landsat_item(path, remote="drop")
    assert set(dropped.assets) == T1_BANDS


def test_remote_usgs_items_merge_sr_and_st(real_data: Path) -> None:
    path = real_data / STACTOOLS / "LC08_L2SP_047027_20201204_20210313_02_T1_SR_stac.json"
    with pytest.warns(IlotsWarning, match="defaults"):
        item = landsat_item(path)
    assert {"red", "swir22", "lwir11", "st_qa", "qa_pixel"} <= set(item.assets)
    assert all(a.href.startswith("https://") for a in item.assets.values())
    assert item.properties["landsat:wrs_path"] == "047"
    assert item.datetime.year == 2020
    assert (_band(item, "lwir11")["scale"], _band(item, "lwir11")["offset"]) == (0.00341802, 149.0)


@pytest.mark.parametrize("start", ["2020-12-04T11:02:00-08:00", "bogus"])
def test_a_remote_item_giving_a_time_range_only_is_dated_by_its_start(
    tmp_path: Path, start: str
) -> None:
    """``datetime: null`` with a range, as STAC allows: dated by its start, in UTC (it was
    skipped as "datetime 'None' is not ISO 8601"); a bad start is named as such."""
    path = _stac11_item(tmp_path)
    data = json.loads(path.read_text())
    data["properties"].update(datetime=None, start_datetime=start,
                              end_datetime="2020-12-04T11:03:00-08:00")  # fmt: skip
    path.write_text(json.dumps(data))
    if start == "bogus":
        with pytest.raises(MetadataError, match=r"item\.json: start_datetime 'bogus' is not ISO"):
            landsat_item(path)
        return
    assert landsat_item(path).datetime.isoformat() == "2020-12-04T19:02:00+00:00"


def test_remote_item_proj_from_item_metadata(real_data: Path) -> None:
    path = real_data / ODC / "LC08_L2SP_028030_20200114_20200824_02_T1_SR.json"
    with pytest.warns(IlotsWarning):
        item = landsat_item(path)
    assert _proj(item, "nir08") == (
        "EPSG:32615",
        (8041, 7931),
        (30.0, 0.0, 173085.0, 0.0, -30.0, 4904715.0),
    )
    assert item.properties["view:sun_elevation"] == 22.57988462


def test_landsat7_is_unsupported(real_data: Path) -> None:
    with pytest.raises(UnsupportedProductError, match="LANDSAT_7"):
        landsat_item(real_data / ODC / "LE07_L2SP_044033_20210329_20210424_02_T1_SR.json")


def test_require_bands(real_data: Path) -> None:
    item = landsat_item(real_data / T1)
    require_bands(item, ["red", "nir08", "lwir11", "qa_pixel"])
    with pytest.raises(BandMissingError) as info:
        require_bands(item, ["red", "swir16"])
    message = str(info.value)
    assert "swir16" in message and item.id in message and "red" in message
    assert isinstance(info.value, KeyError)


def test_headers_only_no_warning_for_a_complete_product(real_data: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        landsat_item(real_data / T2)


def _stac11_item(
    tmp_path: Path, *, on_asset: bool = False, red: tuple[float, float] = (2.75e-05, -0.2)
) -> Path:
    """The audit's STAC 1.1 item of a remote Landsat product: per-band ``bands`` with
    ``raster:scale``/``raster:offset`` (no ``raster:bands``), or the same fields on the
    asset itself (``on_asset``, as STAC 1.1 allows for one-band assets); ``red``: SR_B4's
    scale and offset."""
    name = "LC08_L2SP_047027_20201204_20210313_02_T1"
    base = f"https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/{name}/{name}"
    assets = {}
    for key, suffix, fields in (
        ("red", "SR_B4", {"raster:scale": red[0], "raster:offset": red[1], "nodata": 0}),
        ("lwir11", "ST_B10", {"raster:scale": 0.00341802, "raster:offset": 149.0, "nodata": 0}),
        ("qa_pixel", "QA_PIXEL", {"nodata": 1}),
    ):
        asset = {
            "href": f"{base}_{suffix}.TIF", "roles": ["data"], "proj:code": "EPSG:32610",
            "proj:shape": [7801, 7681], "proj:transform": [30, 0, 472485, 0, -30, 5373615],
        }  # fmt: skip
        if on_asset:
            asset.update(fields)
        else:
            asset["bands"] = [{"data_type": "uint16", **fields}]
        assets[key] = asset
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "LC08_L2SP_047027_20201204_02_T1",
        "collection": "landsat-c2-l2", "bbox": [-123, 47, -121, 49],
        "geometry": {"type": "Polygon", "coordinates": [
            [[-123, 47], [-121, 47], [-121, 49], [-123, 49], [-123, 47]]]},
        "properties": {"datetime": "2020-12-04T19:02:11Z", "platform": "landsat-8"},
        "assets": assets, "links": [],
    }  # fmt: skip
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    return path


@pytest.mark.parametrize("on_asset", [False, True], ids=["bands", "asset"])
def test_stac11_raster_scale_and_offset_are_read(tmp_path: Path, on_asset: bool) -> None:
    """STAC 1.1 moved the raster extension's fields into ``bands`` (``raster:scale``,
    ``raster:offset``): read, not replaced by the band table's defaults with a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        item = landsat_item(_stac11_item(tmp_path, on_asset=on_asset))
    assert (_band(item, "red")["scale"], _band(item, "red")["offset"]) == (2.75e-05, -0.2)
    assert (_band(item, "lwir11")["scale"], _band(item, "lwir11")["offset"]) == (0.00341802, 149.0)
    # the item's own numbers, not the defaults: a hand-made SR_B4 scale and offset
    item = landsat_item(_stac11_item(tmp_path, on_asset=on_asset, red=(1e-4, -0.1)))
    assert (_band(item, "red")["scale"], _band(item, "red")["offset"]) == (1e-4, -0.1)


def _espa_folder(real_data: Path, folder: Path, *, with_level1: bool = False) -> Path:
    """A Collection 1 Level-2 product as ESPA delivered it: the real C1 Level-1 MTL beside
    ``_sr_band4.tif``, ``_sr_band5.tif``, ``_bt_band10.tif``, ``_pixel_qa.tif`` (here the
    Level-1 files under ESPA's names), and optionally the Level-1 bands too."""
    source = real_data / C1
    name = source.name
    folder.mkdir(parents=True)
    shutil.copy(source / f"{name}_MTL.txt", folder)
    for level1, espa in (("B4", "sr_band4"), ("B5", "sr_band5"), ("B10", "bt_band10"),
                         ("BQA", "pixel_qa")):  # fmt: skip
        (folder / f"{name}_{espa}.tif").symlink_to(source / f"{name}_{level1}.TIF")
        if with_level1:
            (folder / f"{name}_{level1}.TIF").symlink_to(source / f"{name}_{level1}.TIF")
    return folder


def test_an_espa_collection1_level2_folder_is_refused_as_such(
    real_data: Path, tmp_path: Path
) -> None:
    """Not "its band files are not beside it" (the MTL's Level-1 bands are absent): the
    folder is named, with what to download instead. As a folder, its MTL or a tar."""
    folder = _espa_folder(real_data, tmp_path / "espa")
    mtl = folder / f"{Path(C1).name}_MTL.txt"
    archive = tmp_path / "espa.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path.resolve(), arcname=path.name)
    for given in (folder, mtl, archive):
        with pytest.raises(UnsupportedProductError) as caught:
            landsat_item(given)
        message = str(caught.value)
        assert message.startswith(f"{given.resolve()}: {Path(C1).name}_sr_band4.tif and ")
        assert message.endswith(
            "Collection 1 Level-2 (ESPA) is not supported: download Collection 2 Level-2 from "
            "EarthExplorer"
        )


def test_a_level1_folder_with_espa_files_beside_is_read_as_level1(
    real_data: Path, tmp_path: Path
) -> None:
    item = landsat_item(_espa_folder(real_data, tmp_path / "both", with_level1=True))
    assert item.properties["ilots:product_type"] == "landsat-c1-l1"
    assert {"red", "nir08", "lwir11", "bqa"} <= set(item.assets)


# --- damaged downloads: another file in a band's place, broken MTLs, empty tars -----------

ES_B04 = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A/B04.tif"  # uint16, 1098 x 1098


def _linked(product: Path, folder: Path, *, mtl: bool = True) -> Path:
    """The product's band files (linked) and, with ``mtl``, its MTL files (copied)."""
    folder = folder / product.name
    folder.mkdir(parents=True)
    for file in product.glob("*.TIF"):
        (folder / file.name).symlink_to(file)
    if mtl:
        for file in product.glob("*_MTL.*"):
            shutil.copy(file, folder)
    return folder


def _put_float32(band: Path) -> None:
    """Replace a band file by a float32 GeoTIFF of its grid (an LST raster, say)."""
    with rasterio.open(band) as src:
        profile = {**src.profile, "dtype": "float32", "nodata": None}
    band.unlink()
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(np.full((profile["height"], profile["width"]), 300.0, np.float32), 1)


def test_a_float_file_in_a_band_s_place_is_refused(real_data: Path, tmp_path: Path) -> None:
    folder = _linked(real_data / T1, tmp_path)
    band = folder / f"{folder.name}_ST_B10.TIF"
    _put_float32(band)
    # the MTL says DATA_TYPE_BAND_ST_B10 = "UINT16"; the file is 512 x 512
    with pytest.raises(ReadError) as info:
        landsat_item(folder)
    assert str(info.value) == (
        f"{band} is float32 / 512 x 512 where the MTL says UINT16: not this band's file; "
        "download the product again"
    )


def test_a_band_file_of_another_size_is_refused(real_data: Path, tmp_path: Path) -> None:
    folder = _linked(real_data / T1, tmp_path)
    band = folder / f"{folder.name}_SR_B5.TIF"
    band.unlink()
    band.symlink_to(real_data / ES_B04)  # a Sentinel-2 band put in a Landsat one's place
    # The files were downsampled to 512 x 512 by their publisher; the MTL still says
    # 7591 x 7741 (REFLECTIVE_SAMPLES x _LINES): the size expected is the other files'.
    with pytest.raises(ReadError) as info:
        landsat_item(folder)
    assert str(info.value) == (
        f"{band} is uint16 / 1098 x 1098 where the product's other files are UINT16 / "
        "512 x 512: not this band's file; download the product again"
    )
    # A product whose files have the MTL's size (as USGS delivers it): the MTL's size.
    for mtl in folder.glob("*_MTL.*"):
        mtl.unlink()
    text = (real_data / T1 / f"{folder.name}_MTL.txt").read_text()
    for key, native in (("LINES", "7741"), ("SAMPLES", "7591")):
        for kind in ("REFLECTIVE", "THERMAL"):
            text = text.replace(f"{kind}_{key} = {native}", f"{kind}_{key} = 512")
    (folder / f"{folder.name}_MTL.txt").write_text(text)
    with pytest.raises(ReadError) as info:
        landsat_item(folder)
    assert str(info.value) == (
        f"{band} is uint16 / 1098 x 1098 where the MTL says UINT16 / 512 x 512: not this "
        "band's file; download the product again"
    )


@pytest.mark.parametrize("given", ["folder", "xml"])
def test_a_broken_mtl_xml_falls_back_to_the_txt(
    real_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, given: str
) -> None:
    folder = _linked(real_data / T1, tmp_path)
    xml = folder / f"{folder.name}_MTL.xml"
    xml.write_bytes(xml.read_bytes()[:5000])  # a download cut short
    source = folder if given == "folder" else xml
    with caplog.at_level(logging.INFO, logger="raster.sources.mtl"):
        item = landsat_item(source)
    assert item.properties["ilots:metadata"] == str(folder / f"{folder.name}_MTL.txt")
    assert f"reading {folder.name}_MTL.txt instead" in caplog.text
    whole = landsat_item(real_data / T1)
    assert set(item.assets) == set(whole.assets) == T1_BANDS
    assert item.datetime == whole.datetime
    assert _band(item, "lwir11") == _band(whole, "lwir11")
    assert item.properties["ilots:source"] == str(source)


def test_a_broken_mtl_xml_given_alone_is_named(real_data: Path, tmp_path: Path) -> None:
    folder = _linked(real_data / T1, tmp_path)
    xml = folder / f"{folder.name}_MTL.xml"
    xml.write_bytes(xml.read_bytes()[:5000])
    for other in (".txt", ".json"):
        (folder / f"{folder.name}_MTL{other}").unlink()
    with pytest.raises(MetadataError) as info:
        landsat_item(xml)
    assert str(info.value).startswith(f"{folder}: cannot read the product's MTL ({xml.name}: ")


def test_when_every_mtl_is_broken_each_is_named(real_data: Path, tmp_path: Path) -> None:
    folder = _linked(real_data / T1, tmp_path)
    for mtl in folder.glob("*_MTL.*"):
        mtl.write_bytes(b"")
    with pytest.raises(MetadataError) as info:
        landsat_item(folder)
    message = str(info.value)
    assert message.startswith(f"{folder}: cannot read the product's MTL (")
    assert message.endswith("; download the product again")
    assert message.index("_MTL.xml: ") < message.index("_MTL.txt: ") < message.index("_MTL.json: ")


def test_the_mtl_of_another_product_is_named_as_such(real_data: Path, tmp_path: Path) -> None:
    folder = _linked(real_data / T1, tmp_path, mtl=False)
    other = real_data / T2
    for suffix in ("_MTL.txt", "_MTL.xml"):  # T2's metadata under T1's names
        shutil.copy(other / f"{other.name}{suffix}", folder / f"{folder.name}{suffix}")
    with pytest.raises(MetadataError) as info:
        landsat_item(folder)
    assert str(info.value) == (
        f"{folder / folder.name}_MTL.xml names product {other.name} while the files beside it "
        f"are of product {folder.name}: the MTL is another product's; download the product again"
    )


@pytest.mark.parametrize(("content", "what"), [(b"", "is empty"), (b"<html>" * 99, "is not a tar")])
def test_an_empty_or_foreign_tar_is_one_line(tmp_path: Path, content: bytes, what: str) -> None:
    tar_path = tmp_path / "LC08_L2SP_008059_20191201_20200825_02_T1.tar"
    tar_path.write_bytes(content)
    with pytest.raises(ProductError) as info:
        landsat_item(tar_path)
    assert str(info.value).startswith(f"{tar_path} {what}")
    assert str(info.value).endswith("; download it again")
    assert "\n" not in str(info.value)
