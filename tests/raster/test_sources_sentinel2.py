"""Tests of Sentinel-2 L2A products → STAC items: the offset rule, SAFE, Earth Search, PC."""

from __future__ import annotations

import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from raster.sources import boa_scaling, open_product, parse_baseline, sentinel2_item
from raster.sources.assets import RasterHeader
from raster.sources.sentinel2_safe import read_mtd_msil2a
from raster.sources.sentinel2_sizes import check_band_sizes
from raster.synthetic import write_sentinel2_safe
from tiles.errors import IlotsWarning, MetadataError, ReadError, UnrecognisedProductError

ES_FOLDER = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"
ES_V0 = "stac_items/odc-stac/S2A_28QCH_20200714_0_L2A.json"
PC_ITEM = "stac_items/odc-stac/S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"

# --- the baseline rule (science.md §3.2, test vectors §9.2 S2-1..S2-3) ---------------------


@pytest.mark.parametrize(
    ("case", "dn", "baseline", "expected"),
    [("S2-1", 1500, "03.01", 0.15), ("S2-2", 1500, "04.00", 0.05), ("S2-3", 1000, "05.10", 0.0)],
)
def test_science_vectors(case: str, dn: int, baseline: str, expected: float) -> None:
    scale, offset = boa_scaling(baseline, boa_add_offset=-1000)
    assert dn * scale + offset == pytest.approx(expected, rel=1e-9, abs=1e-12), case


def test_offset_is_exactly_minus_one_tenth_from_baseline_4() -> None:
    assert boa_scaling("04.00") == (1e-4, -0.1)
    assert boa_scaling("05.10", boa_add_offset=-1000.0) == (1e-4, -0.1)
    assert boa_scaling("03.01") == (1e-4, 0.0)
    assert boa_scaling("02.14", boa_add_offset=-1000.0) == (1e-4, 0.0)  # baseline decides
    assert boa_scaling("05.10", offset_applied=True) == (1e-4, 0.0)


def test_baselines_compare_as_versions() -> None:
    # "4.00" > "10.00" as strings; as versions 10.00 is later
    assert parse_baseline("10.00") > parse_baseline("4.00")
    assert boa_scaling("10.00")[1] == -0.1
    assert boa_scaling("4.00")[1] == -0.1
    assert boa_scaling("3.99")[1] == 0.0
    assert parse_baseline("N0500") == (5, 0)
    with pytest.raises(MetadataError, match="baseline"):
        parse_baseline("2022-01-25")


# --- a synthetic SAFE in the real layout ----------------------------------------------------

TILE = "31UDQ"
SENSING = "20230615T105031"
GRANULE = "L2A_T31UDQ_A041234_20230615T105307"
BAND_IDS = [
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
]


def _mtd(baseline: str, start: str, offsets: dict[int, int] | None) -> str:
    spectral = "\n".join(
        f'          <Spectral_Information bandId="{i}" physicalBand="{b.replace("B0", "B")}">'
        f"<RESOLUTION>10</RESOLUTION></Spectral_Information>"
        for i, b in enumerate(BAND_IDS)
    )
    offset_xml = ""
    if offsets is not None:
        offset_xml = (
            "        <BOA_ADD_OFFSET_VALUES_LIST>\n"
            + "\n".join(
                f'          <BOA_ADD_OFFSET band_id="{i}">{v}</BOA_ADD_OFFSET>'
                for i, v in offsets.items()
            )
            + "\n        </BOA_ADD_OFFSET_VALUES_LIST>\n"
        )
    nbase = baseline.replace(".", "")
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{start}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>S2B_MSIL2A_{SENSING}_N{nbase}_R051_T{TILE}_20230615T123456.SAFE</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <GENERATION_TIME>2023-06-15T12:34:56.000000Z</GENERATION_TIME>
      <Datatake datatakeIdentifier="GS2B_{SENSING}_032756_N{baseline}">
        <SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
        <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_NUMBER>51</SENSING_ORBIT_NUMBER>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>
{offset_xml}      <Spectral_Information_List>
{spectral}
      </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
  <n1:Quality_Indicators_Info>
    <Cloud_Coverage_Assessment>12.5</Cloud_Coverage_Assessment>
  </n1:Quality_Indicators_Info>
</n1:Level-2A_User_Product>
"""


MTD_TL = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
  <n1:Geometric_Info><Tile_Angles><Mean_Sun_Angle>
    <ZENITH_ANGLE unit="deg">30.5</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">150.0</AZIMUTH_ANGLE>
  </Mean_Sun_Angle></Tile_Angles></n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
"""

# (band id, resolution): B04 at three resolutions, SCL at two, to test "finest wins"
FILES = [
    ("B04", 10),
    ("B04", 20),
    ("B04", 60),
    ("B08", 10),
    ("B8A", 20),
    ("B11", 20),
    ("SCL", 20),
    ("SCL", 60),
    ("TCI", 10),
    ("AOT", 20),
]


def _write_jp2(path: Path, res: int, dtype: str) -> None:
    size = 60 // res * 2
    with rasterio.open(
        path,
        "w",
        driver="JP2OpenJPEG",
        width=size,
        height=size,
        count=1,
        dtype=dtype,
        crs="EPSG:32631",
        transform=Affine(res, 0.0, 399960.0, 0.0, -res, 5500020.0),
        REVERSIBLE="YES",
        QUALITY=100,
    ) as dst:
        dst.write(np.full((size, size), 4 if dtype == "uint8" else 1500, dtype=dtype), 1)


def make_safe(
    root: Path,
    *,
    baseline: str = "05.10",
    start: str = "2023-06-15T10:50:31.024Z",
    offsets: dict[int, int] | None = None,
) -> Path:
    """Write a tiny L2A SAFE (real folder structure, real MTD layout) under ``root``."""
    nbase = baseline.replace(".", "")
    safe = root / f"S2B_MSIL2A_{SENSING}_N{nbase}_R051_T{TILE}_20230615T123456.SAFE"
    if offsets is None:
        offsets = {i: -1000 for i in range(13)}
    (safe / "GRANULE" / GRANULE / "IMG_DATA").mkdir(parents=True)
    (safe / "MTD_MSIL2A.xml").write_text(_mtd(baseline, start, offsets or None))
    (safe / "GRANULE" / GRANULE / "MTD_TL.xml").write_text(MTD_TL)
    for band, res in FILES:
        folder = safe / "GRANULE" / GRANULE / "IMG_DATA" / f"R{res}m"
        folder.mkdir(exist_ok=True)
        dtype = "uint8" if band in ("SCL", "TCI") else "uint16"
        _write_jp2(folder / f"T{TILE}_{SENSING}_{band}_{res}m.jp2", res, dtype)
    return safe


def _band(item, key: str) -> dict:
    return item.assets[key].to_dict()["raster:bands"][0]


def _proj(item, key: str) -> tuple:
    d = item.assets[key].to_dict()
    return d["proj:code"], tuple(d["proj:shape"]), tuple(d["proj:transform"])


def _file_proj(path: str) -> tuple:
    with rasterio.open(path) as src:
        return (
            f"EPSG:{src.crs.to_epsg()}",
            (src.height, src.width),
            tuple(float(v) for v in tuple(src.transform)[:6]),
        )


def test_synthetic_safe_baseline_05_10(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    item = sentinel2_item(safe)
    assert set(item.assets) == {"red", "nir", "nir08", "swir16", "scl"}
    for key in ("red", "nir", "nir08", "swir16"):
        band = _band(item, key)
        assert (band["scale"], band["offset"]) == (1e-4, -0.1), key
        assert band["nodata"] == 0
    assert (_band(item, "scl")["scale"], _band(item, "scl")["offset"]) == (1.0, 0.0)
    assert item.assets["red"].href.endswith("_B04_10m.jp2")
    assert item.assets["scl"].href.endswith("_SCL_20m.jp2")
    assert item.assets["red"].media_type == "image/jp2"
    for key in item.assets:
        assert _proj(item, key) == _file_proj(item.assets[key].href)
    props = item.properties
    assert props["s2:processing_baseline"] == "05.10"
    assert props["s2:mgrs_tile"] == TILE
    assert props["platform"] == "sentinel-2b"
    assert props["ilots:product_type"] == "sentinel-2-l2a"
    assert props["ilots:processing_level"] == "L2A"
    assert props["eo:cloud_cover"] == 12.5
    assert props["view:sun_elevation"] == pytest.approx(59.5)
    assert item.datetime.isoformat() == "2023-06-15T10:50:31.024000+00:00"
    assert item.id.endswith("_20230615T123456")
    # one DN through the item's own numbers: DN 1500 -> 0.05
    assert 1500 * _band(item, "red")["scale"] + _band(item, "red")["offset"] == pytest.approx(0.05)


def test_safe_offset_follows_baseline_not_date(tmp_path: Path) -> None:
    reprocessed = make_safe(tmp_path / "a", baseline="05.00", start="2018-05-01T10:00:00.000Z")
    assert _band(sentinel2_item(reprocessed), "red")["offset"] == -0.1
    old = make_safe(tmp_path / "b", baseline="03.01", start="2023-06-15T10:50:31.024Z", offsets={})
    assert _band(sentinel2_item(old), "red")["offset"] == 0.0


def test_safe_missing_offset_for_a_band_warns(tmp_path: Path) -> None:
    offsets = {i: -1000 for i in range(13) if i != 3}  # no B04
    safe = make_safe(tmp_path, offsets=offsets)
    with pytest.warns(IlotsWarning, match="B04"):
        item = sentinel2_item(safe / "MTD_MSIL2A.xml")
    assert _band(item, "red")["offset"] == -0.1


def test_safe_reads_offsets_per_band(tmp_path: Path) -> None:
    meta = read_mtd_msil2a(make_safe(tmp_path, offsets={3: -1000, 8: -900}) / "MTD_MSIL2A.xml")
    assert dict(meta.boa_add_offsets) == {"B04": -1000.0, "B8A": -900.0}
    assert meta.quantification == 10000.0


def test_safe_without_baseline_is_a_metadata_error(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(mtd.read_text().replace("<PROCESSING_BASELINE>05.10</PROCESSING_BASELINE>", ""))
    with pytest.raises(MetadataError, match="PROCESSING_BASELINE"):
        sentinel2_item(safe)


def test_open_product_recognises_safe(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    assert open_product(safe).properties["ilots:product_type"] == "sentinel-2-l2a"
    assert open_product(safe / "MTD_MSIL2A.xml").id == open_product(safe).id


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_safe_zip_is_read_in_place(tmp_path: Path, compression: int) -> None:
    # The Copernicus Data Space delivers each product as a zip of its SAFE folder.
    safe = make_safe(tmp_path / "folder")
    archive = tmp_path / f"{safe.name}.zip"
    with zipfile.ZipFile(archive, "w", compression) as out:
        for path in sorted(safe.rglob("*")):
            out.write(path, path.relative_to(safe.parent).as_posix())
    zipped, folder = open_product(archive), open_product(safe)
    assert zipped.id == folder.id and zipped.datetime == folder.datetime
    assert set(zipped.assets) == set(folder.assets)
    for key, asset in zipped.assets.items():
        assert asset.href.startswith(f"/vsizip/{archive}/{safe.name}/GRANULE/")
        assert _band(zipped, key) == _band(folder, key) and _proj(zipped, key) == _proj(folder, key)
        with rasterio.open(asset.href) as a, rasterio.open(folder.assets[key].href) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
    same = ("s2:processing_baseline", "s2:mgrs_tile", "eo:cloud_cover", "view:sun_elevation")
    assert {k: zipped.properties[k] for k in same} == {k: folder.properties[k] for k in same}


def test_safe_zip_of_its_contents_and_of_two_products(tmp_path: Path) -> None:
    safe = make_safe(tmp_path / "folder")
    flat = tmp_path / "flat.zip"  # the SAFE's files at the top, as a user may re-zip it
    with zipfile.ZipFile(flat, "w") as out:
        for path in sorted(safe.rglob("*")):
            out.write(path, path.relative_to(safe).as_posix())
    item = open_product(flat)
    assert item.id == open_product(safe).id
    assert item.assets["red"].href.startswith(f"/vsizip/{flat}/GRANULE/")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as out:
        for prefix in ("a", "b"):
            for path in sorted(safe.rglob("*")):
                out.write(path, f"{prefix}/{path.relative_to(safe.parent).as_posix()}")
    with pytest.raises(UnrecognisedProductError, match="holds 2 Sentinel-2 SAFE products"):
        open_product(two)


def test_a_zip_without_a_safe_is_not_a_product(tmp_path: Path) -> None:
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a.txt", "not a product")
    with pytest.raises(UnrecognisedProductError, match="not a product ilots recognises"):
        open_product(archive)


def _safe_zip(folder: Path) -> Path:
    """A SAFE from :func:`write_sentinel2_safe`, zipped as the Copernicus Data Space does."""
    n = 32
    bands = {"red": np.full((n, n), 1500, np.uint16), "nir": np.full((n, n), 3000, np.uint16)}
    safe = write_sentinel2_safe(
        folder, bands=bands, tile=TILE, datetime="2023-06-15T10:50:31Z", crs=32631,
        transform=Affine(10.0, 0.0, 399960.0, 0.0, -10.0, 5400000.0),
    )  # fmt: skip
    archive = folder / f"{safe.name}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(safe.rglob("*")):
            out.write(path, path.relative_to(safe.parent).as_posix())
    return archive


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_a_cut_safe_zip_says_so(tmp_path: Path, keep: float) -> None:
    archive = _safe_zip(tmp_path)
    assert open_product(archive).properties["ilots:product_type"] == "sentinel-2-l2a"
    with archive.open("r+b") as file:
        file.truncate(int(archive.stat().st_size * keep))  # a download cut short
    with pytest.raises(ReadError) as info:
        open_product(archive)
    assert str(info.value) == (
        f"{archive}: cannot read the zip (File is not a zip file); is the download complete?"
    )


def test_a_zip_that_cannot_be_read_says_so_whatever_its_name(tmp_path: Path) -> None:
    archive = tmp_path / "download.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(ReadError, match=r"download\.zip: cannot read the zip \("):
        open_product(archive)
    named = tmp_path / "S2B_MSIL2A_20230615T105031_N0510_R051_T31UDQ_20230615T123456.SAFE.zip"
    with zipfile.ZipFile(named, "w") as out:
        out.writestr("notes.txt", "no product here")
    with pytest.raises(UnrecognisedProductError, match=f"{named.name} holds no MTD_MSIL2A.xml"):
        open_product(named)


# --- real Earth Search COG folder, real item JSONs ------------------------------------------


@pytest.mark.realdata
def test_real_earth_search_folder(real_data: Path) -> None:
    folder = real_data / ES_FOLDER
    item = open_product(folder)
    assert set(item.assets) == {"red", "nir", "scl"}
    for key in ("red", "nir"):
        assert (_band(item, key)["scale"], _band(item, key)["offset"]) == (1e-4, 0.0)
    # the grid is the file's (100 m, downsampled), not the item JSON's 10 m
    assert _proj(item, "red") == _file_proj(str(folder / "B04.tif"))
    assert _proj(item, "red")[1] == (1098, 1098)
    assert _proj(item, "scl") == _file_proj(str(folder / "SCL.tif"))
    assert item.properties["s2:processing_baseline"] == "02.14"
    assert item.properties["s2:mgrs_tile"] == "29RKH"
    assert item.properties["platform"] == "sentinel-2a"
    json_item = sentinel2_item(folder / "S2A_29RKH_20200219_0_L2A.json")
    assert json_item.assets["red"].href == item.assets["red"].href


@pytest.mark.realdata
@pytest.mark.parametrize(("cut", "why"), [(0, "the file is empty"), (900, "at line 1 column")])
def test_a_cut_item_json_is_named(real_data: Path, tmp_path: Path, cut: int, why: str) -> None:
    source = real_data / ES_FOLDER
    folder = tmp_path / source.name
    folder.mkdir()
    for band in source.glob("*.tif"):
        (folder / band.name).symlink_to(band)
    item_json = folder / "S2A_29RKH_20200219_0_L2A.json"
    item_json.write_bytes((source / item_json.name).read_bytes()[:cut])
    for given in (folder, item_json):
        with pytest.raises(MetadataError) as info:
            open_product(given)
        message = str(info.value)
        assert message.startswith(f"{item_json} is not valid JSON (")
        assert why in message and message.endswith("); download it again")


@pytest.mark.realdata
def test_a_float_file_in_a_sentinel2_band_s_place_is_refused(
    real_data: Path, tmp_path: Path
) -> None:
    source = real_data / ES_FOLDER
    folder = tmp_path / source.name
    folder.mkdir()
    for file in source.iterdir():
        (folder / file.name).symlink_to(file)
    band = folder / "B04.tif"
    with rasterio.open(source / "B04.tif") as src:
        profile = {**src.profile, "dtype": "float32", "nodata": None}
    band.unlink()
    with rasterio.open(band, "w", **profile) as dst:  # an NDVI raster, say
        dst.write(np.zeros((profile["height"], profile["width"]), np.float32), 1)
    with pytest.raises(ReadError) as info:
        open_product(folder)
    # raster.bands: Sentinel-2 L2A reflectance is stored as uint16
    assert str(info.value) == (
        f"{band} is float32 / 1098 x 1098 where B04 files are uint16: not this band's file; "
        "download the product again"
    )


def _es_linked(real_data: Path, tmp_path: Path) -> Path:
    """The real Earth Search folder, its files linked (its item JSON copied)."""
    source = real_data / ES_FOLDER
    folder = tmp_path / source.name
    folder.mkdir()
    for file in source.glob("*.tif"):
        (folder / file.name).symlink_to(file)
    shutil.copy(source / "S2A_29RKH_20200219_0_L2A.json", folder)
    return folder


def _put_like(band: Path, like: Path, rows: int, cols: int) -> None:
    """Replace ``band`` by a file of ``like``'s data type and origin, of another size."""
    with rasterio.open(like) as src:
        profile = {**src.profile, "height": rows, "width": cols}
    band.unlink()
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(np.ones((rows, cols), profile["dtype"]), 1)


@pytest.mark.realdata
def test_a_sentinel2_band_file_of_another_size_is_refused(real_data: Path, tmp_path: Path) -> None:
    folder = _es_linked(real_data, tmp_path)
    scl = folder / "SCL.tif"
    _put_like(scl, real_data / ES_FOLDER / "SCL.tif", 1098, 1098)  # at the 10 m bands' size
    with pytest.raises(ReadError) as info:
        open_product(folder)
    # The files were downsampled by their publisher (B04 and B08 1098 x 1098, 100 m) while
    # the JSON still says 10980 and 5490: the SCL (20 m) is half the 10 m bands' size.
    assert str(info.value) == (
        f"{scl} is 1098 x 1098 where a 20 m band of this product is 549 x 549 (its 10 m bands "
        "are 1098 x 1098): not this band's file; download it again"
    )
    # a 10 m band one column short: the other 10 m file and the SCL agree on 1098 x 1098
    scl.unlink()
    scl.symlink_to(real_data / ES_FOLDER / "SCL.tif")
    b04 = folder / "B04.tif"
    _put_like(b04, real_data / ES_FOLDER / "B04.tif", 1098, 1097)
    with pytest.raises(ReadError) as info:
        sentinel2_item(folder)
    assert str(info.value) == (
        f"{b04} is 1097 x 1098 where the product's other 10 m files are 1098 x 1098: not this "
        "band's file; download it again"
    )


@pytest.mark.realdata
def test_a_sentinel2_band_file_is_checked_against_proj_shape(
    real_data: Path, tmp_path: Path
) -> None:
    """When the item JSON's sizes are the files' (as Earth Search delivers them), a file is
    checked against its own asset's ``proj:shape``."""
    folder = _es_linked(real_data, tmp_path)
    item_json = folder / "S2A_29RKH_20200219_0_L2A.json"
    data = json.loads(item_json.read_text())
    for key, shape in (("red", 1098), ("nir", 1098), ("scl", 549)):  # the files' sizes
        data["assets"][key]["proj:shape"] = [shape, shape]
    item_json.write_text(json.dumps(data))
    assert set(open_product(folder).assets) == {"red", "nir", "scl"}
    scl = folder / "SCL.tif"
    _put_like(scl, real_data / ES_FOLDER / "SCL.tif", 548, 549)  # one row short
    with pytest.raises(ReadError) as info:
        open_product(folder)
    assert str(info.value) == (
        f"{scl} is 549 x 548 where the item JSON says 549 x 549 (proj:shape): not this band's "
        "file; download it again"
    )


def test_a_safe_band_file_of_another_size_is_refused(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    r20 = safe / "GRANULE" / GRANULE / "IMG_DATA" / "R20m"
    scl = r20 / f"T{TILE}_{SENSING}_SCL_20m.jp2"
    _write_jp2(scl, 10, "uint8")  # the 10 m size (12 x 12) under the 20 m name
    with pytest.raises(ReadError) as info:
        sentinel2_item(safe)
    # make_safe: 10 m files 12 x 12, so a 20 m file covers the tile in 6 x 6
    assert str(info.value) == (
        f"{scl} is 12 x 12 where a 20 m band of this product is 6 x 6 (its 10 m bands are "
        "12 x 12): not this band's file; download it again"
    )


def _header(name: str, rows: int, cols: int, res: int) -> RasterHeader:
    return RasterHeader(
        href=name, crs_code="EPSG:32631", crs_wkt="", shape=(rows, cols),
        transform=(res, 0.0, 399960.0, 0.0, -res, 5500020.0), dtype="uint16", nodata=0,
        bounds=(399960.0, 5500020.0 - rows * res, 399960.0 + cols * res, 5500020.0),
        driver="GTiff",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "res", "fits"),
    # a tile of 101 10 m pixels (1010 m): 50.5 pixels at 20 m, 16.8 at 60 m, cut either way
    [(50, 20, True), (51, 20, True), (49, 20, False), (52, 20, False),
     (16, 60, True), (17, 60, True), (15, 60, False), (18, 60, False)],
)  # fmt: skip
def test_a_coarser_band_of_a_clipped_tile_may_be_rounded_either_way(
    rows: int, res: int, fits: bool
) -> None:
    headers = {"red": _header("B04.tif", 101, 101, 10), "other": _header("X.tif", rows, rows, res)}
    resolutions = {"red": 10, "other": res}
    if fits:
        check_band_sizes(headers, resolutions)
    else:
        with pytest.raises(ReadError, match=rf"^X.tif is {rows} x {rows} where a {res} m band"):
            check_band_sizes(headers, resolutions)


def _es_variant(real_data: Path, tmp_path: Path, **props: object) -> Path:
    data = json.loads((real_data / ES_FOLDER / "S2A_29RKH_20200219_0_L2A.json").read_text())
    data["properties"].update(props)
    path = tmp_path / "item.json"
    path.write_text(json.dumps(data))
    return path


def _set_offsets(path: Path, offset: float) -> None:
    data = json.loads(path.read_text())
    for asset in data["assets"].values():
        for band in asset.get("raster:bands", []):
            if band.get("scale") == 0.0001:
                band["offset"] = offset
    path.write_text(json.dumps(data))


@pytest.mark.realdata
def test_offset_already_applied_by_earth_search(real_data: Path, tmp_path: Path) -> None:
    path = _es_variant(
        real_data,
        tmp_path,
        **{"s2:processing_baseline": "05.00", "earthsearch:boa_offset_applied": True},
    )
    _set_offsets(path, -0.1)
    with pytest.warns(IlotsWarning, match="boa_offset_applied=true.*using offset 0"):
        item = sentinel2_item(path)
    assert _band(item, "red")["offset"] == 0.0
    assert item.properties["ilots:boa_offset_applied"] is True
    assert item.assets["red"].href.startswith("https://")  # remote: no file beside the JSON
    assert _proj(item, "red") == (
        "EPSG:32629",
        (10980, 10980),
        (10.0, 0.0, 199980.0, 0.0, -10.0, 2800020.0),
    )


@pytest.mark.realdata
def test_item_offset_disagreeing_with_baseline(real_data: Path, tmp_path: Path) -> None:
    path = _es_variant(real_data, tmp_path, **{"s2:processing_baseline": "04.00"})
    with pytest.warns(IlotsWarning, match="baseline 04.00; using offset -0.1"):
        item = sentinel2_item(path)
    assert _band(item, "red")["offset"] == -0.1
    # and a pre-04.00 item declaring -0.1 keeps 0
    path = _es_variant(real_data, tmp_path)
    _set_offsets(path, -0.1)
    with pytest.warns(IlotsWarning, match="using offset 0"):
        assert _band(sentinel2_item(path), "red")["offset"] == 0.0


@pytest.mark.realdata
def test_planetary_computer_item(real_data: Path) -> None:
    item = open_product(real_data / PC_ITEM)
    assert {"red", "nir", "nir08", "swir16", "swir22", "scl"} <= set(item.assets)
    assert item.assets["nir"].href.endswith("_B08_10m.tif")
    assert item.assets["nir08"].href.endswith("_B8A_20m.tif")
    assert (_band(item, "red")["scale"], _band(item, "red")["offset"]) == (1e-4, 0.0)
    assert _proj(item, "red") == (
        "EPSG:32606",
        (10980, 10980),
        (10.0, 0.0, 399960.0, 0.0, -10.0, 6800040.0),
    )
    assert item.properties["s2:processing_baseline"] == "02.12"
    assert item.properties["s2:mgrs_tile"] == "06VVN"
    assert item.properties["platform"] == "sentinel-2b"
    assert item.properties["view:sun_elevation"] == pytest.approx(90 - 37.9128805424161)
    assert math.isclose(item.properties["eo:cloud_cover"], 0.314306)


@pytest.mark.realdata
def test_earth_search_v0_baseline_from_product_id(real_data: Path) -> None:
    item = open_product(real_data / ES_V0)
    assert item.properties["s2:processing_baseline"] == "02.14"
    assert item.properties["s2:mgrs_tile"] == "28QCH"
    assert _band(item, "red")["offset"] == 0.0


def test_folder_without_item_json_is_unrecognised(tmp_path: Path) -> None:
    (tmp_path / "B04.tif").write_bytes(b"")
    with pytest.raises(UnrecognisedProductError, match="item JSON"):
        sentinel2_item(tmp_path)


@pytest.mark.realdata
def test_relative_hrefs_resolve_against_the_json(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads((real_data / ES_FOLDER / "S2A_29RKH_20200219_0_L2A.json").read_text())
    data["assets"]["red"]["href"] = "./B04.tif"
    folder = tmp_path / "product"
    folder.mkdir()
    with rasterio.open(
        folder / "B04.tif",
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="uint16",
        crs="EPSG:32629",
        nodata=0,
        transform=Affine(100.0, 0.0, 199980.0, 0.0, -100.0, 2800020.0),
    ) as dst:
        dst.write(np.ones((4, 4), dtype="uint16"), 1)
    (folder / "item.json").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)  # the href is relative to the JSON, not to the working dir
    item = sentinel2_item(folder / "item.json")
    assert set(item.assets) == {"red"}  # a local product keeps only its local bands
    assert Path(item.assets["red"].href) == (folder / "B04.tif").resolve()
    assert _proj(item, "red")[1] == (4, 4)


# --- the datatake, the same from every distributor ------------------------------------------


@pytest.mark.realdata
def test_datatake_from_every_layout(real_data: Path, tmp_path: Path) -> None:
    """``ilots:datatake`` is spacecraft + datatake sensing start, read off the names by hand:
    Earth Search v1 ``s2:datatake_id`` GS2A_20200219T112111_024344_N02.14 (its ``datetime``,
    11:34:25, is the tile's own sensing time); Earth Search v0 ``sentinel:product_id``
    S2A_MSIL2A_20200714T115221_...; Planetary Computer S2B_MSIL2A_20190629T212529_...; a
    SAFE's PRODUCT_URI; a Planetary Computer item with only its id."""
    es = open_product(real_data / ES_FOLDER)
    assert es.properties["ilots:datatake"] == "S2A_20200219T112111"
    assert es.datetime.isoformat() == "2020-02-19T11:34:25.405000+00:00"
    assert open_product(real_data / ES_V0).properties["ilots:datatake"] == "S2A_20200714T115221"
    assert open_product(real_data / PC_ITEM).properties["ilots:datatake"] == "S2B_20190629T212529"
    assert open_product(make_safe(tmp_path)).properties["ilots:datatake"] == f"S2B_{SENSING}"
    data = json.loads((real_data / PC_ITEM).read_text())
    for key in ("s2:datatake_id", "s2:product_uri"):
        del data["properties"][key]
    (tmp_path / "pc.json").write_text(json.dumps(data))
    assert open_product(tmp_path / "pc.json").properties["ilots:datatake"] == "S2B_20190629T212529"


@pytest.mark.realdata
def test_no_datatake_where_no_name_tells_it(real_data: Path, tmp_path: Path) -> None:
    """An Earth Search item without datatake id nor product name (its id, S2A_29RKH_20200219_
    0_L2A, has no time of day) has none: it is grouped by its time."""
    path = _es_variant(real_data, tmp_path, **{"s2:datatake_id": None, "s2:product_uri": None})
    assert "ilots:datatake" not in sentinel2_item(path).properties


@pytest.mark.realdata
def test_stac11_bands_scale_and_offset_are_read(real_data: Path, tmp_path: Path) -> None:
    """The real Earth Search item in STAC 1.1 form: each asset's ``raster:bands`` moved to
    ``bands`` as ``raster:scale``/``raster:offset``. Declaring offset -0.1 at baseline 02.14
    is seen (and refused, with the warning), its scale 2e-4 (hand-made) used."""
    path = _es_variant(real_data, tmp_path)
    data = json.loads(path.read_text())
    data["stac_version"] = "1.1.0"
    for asset in data["assets"].values():
        for band in asset.pop("raster:bands", []):
            if band.get("scale") == 0.0001:
                band.update({"scale": 2e-4, "offset": -0.1})
            fields = {f"raster:{k}" if k in ("scale", "offset") else k: v for k, v in band.items()}
            asset["bands"] = [fields]
    path.write_text(json.dumps(data))
    with pytest.warns(IlotsWarning, match=r"declares for .*red \(-0\.1\).*baseline 02\.14"):
        item = sentinel2_item(path)
    assert (_band(item, "red")["scale"], _band(item, "red")["offset"]) == (2e-4, 0.0)


# --- baselines written with one decimal, and errors that name the file ----------------------


def test_one_digit_minor_baselines_are_tenths() -> None:
    """A baseline stored as a JSON number loses its trailing zero: 4.0 is 04.00, 5.1 is
    05.10 (never 05.01)."""
    assert parse_baseline("4.0") == (4, 0)
    assert parse_baseline("5.1") == (5, 10)
    assert parse_baseline("5.11") == (5, 11)
    assert parse_baseline("N0510") == parse_baseline("05.10") == (5, 10)
    assert boa_scaling("4.0") == (1e-4, -0.1)
    assert boa_scaling("3.9")[1] == 0.0


@pytest.mark.realdata
@pytest.mark.parametrize(("stored", "baseline"), [(4.0, "04.00"), (5.1, "05.10"), ("5.1", "05.10")])
def test_numeric_baselines_of_an_item(
    real_data: Path, tmp_path: Path, stored: object, baseline: str
) -> None:
    path = _es_variant(
        real_data, tmp_path,
        **{"s2:processing_baseline": stored, "earthsearch:boa_offset_applied": None},
    )  # fmt: skip
    _set_offsets(path, -0.1)
    item = sentinel2_item(path)
    assert item.properties["s2:processing_baseline"] == baseline
    assert _band(item, "red")["offset"] == -0.1


@pytest.mark.realdata
def test_a_baseline_that_is_not_one_names_the_file(real_data: Path, tmp_path: Path) -> None:
    path = _es_variant(real_data, tmp_path, **{"s2:processing_baseline": "baseline 5"})
    with pytest.raises(MetadataError) as caught:
        sentinel2_item(path)
    assert str(caught.value).startswith(f"{path} (s2:processing_baseline): processing baseline ")
    safe = make_safe(tmp_path / "safe")
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(
        mtd.read_text().replace(">05.10</PROCESSING_BASELINE>", ">5</PROCESSING_BASELINE>")
    )
    with pytest.raises(
        MetadataError, match=rf"^{mtd} \(PROCESSING_BASELINE\): processing baseline '5'"
    ):
        sentinel2_item(safe)


@pytest.mark.parametrize("given", ["range", "none"])
def test_an_item_giving_a_time_range_only_is_dated_by_its_start(tmp_path: Path, given: str) -> None:
    """STAC allows ``datetime: null`` with ``start_datetime`` and ``end_datetime``: the item
    is dated by its start, in UTC (it was skipped as "datetime 'None' is not ISO 8601"); an
    item with no time at all says so."""
    from rasterio.transform import from_origin

    from raster.synthetic import write_sentinel2_earthsearch

    bands = {"red": np.ones((64, 64), np.uint16), "nir": np.ones((64, 64), np.uint16),
             "scl": np.full((32, 32), 4, np.uint8)}  # fmt: skip
    path = write_sentinel2_earthsearch(
        tmp_path, bands=bands, tile="31TCJ", datetime="2023-07-14T10:56:00Z", crs=32631,
        transform=from_origin(600000.0, 5400000.0, 10, 10), processing_baseline="05.10",
    )  # fmt: skip
    data = json.loads(path.read_text())
    data["properties"]["datetime"] = None
    if given == "range":
        data["properties"]["start_datetime"] = "2023-07-14T12:56:00+02:00"
        data["properties"]["end_datetime"] = "2023-07-14T13:06:00+02:00"
    path.write_text(json.dumps(data))
    if given == "none":
        with pytest.raises(MetadataError, match="gives neither a datetime nor a start_datetime"):
            open_product(path.parent)
        return
    item = open_product(path.parent)
    assert item.datetime.isoformat() == "2023-07-14T10:56:00+00:00"
