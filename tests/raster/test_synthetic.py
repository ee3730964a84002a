"""Synthetic products in the real formats: layout, encodings, metadata, round trips.

Expected values come from science.md (QA_PIXEL examples, scale factors, L8/L9 constants), from
the real product files in ../shared/data (layout of the MTL, Earth Search item keys) and from
independent parsing here (a small ODL parser, json, xml.etree, rasterio, pyproj, pystac); never
from the writer's own helpers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from raster.synthetic import (
    LandsatProductId,
    SyntheticProductError,
    boa_add_offset,
    brightness_temperature_to_dn,
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    toa_reflectance_to_dn_landsat,
    write_landsat_c2l1,
    write_landsat_c2l2,
    write_sentinel2_earthsearch,
    write_sentinel2_safe,
)
from tiles.errors import IlotsError

N = 64
T30 = Affine(30.0, 0.0, 399960.0, 0.0, -30.0, 5400000.0)
T10 = Affine(10.0, 0.0, 399960.0, 0.0, -10.0, 5400000.0)
WHEN = dt.datetime(2023, 6, 15, 10, 50, 31, 24000)

# science.md §2.1
L8 = {"K1_10": 774.8853, "K2_10": 1321.0789, "ML_10": 3.342e-4, "AL_10": 0.1}
L9 = {"K1_10": 799.0284, "K2_10": 1329.2405, "ML_10": 3.8e-4, "AL_10": 0.1}


# ------------------------------------------------------------------------------------------
# independent parsers

_ODL = re.compile(r"^(?P<indent> *)(?P<key>[A-Z0-9_]+) = (?P<value>.*)$")


def parse_odl(text: str) -> tuple[dict, dict]:
    """USGS ODL -> (nested dict of strings, {(group, key): quoted?})."""
    lines = text.split("\n")
    assert lines[-2:] == ["END", ""], "ODL must end with END and a newline"
    root: dict = {}
    stack = [root]
    names = ["<root>"]
    quoted = {}
    for line in lines[:-2]:
        m = _ODL.match(line)
        assert m, f"not an ODL line: {line!r}"
        assert len(m["indent"]) % 2 == 0
        depth = len(m["indent"]) // 2
        key, value = m["key"], m["value"]
        if key == "END_GROUP":
            assert names[-1] == value
            stack.pop()
            names.pop()
            assert depth == len(stack) - 1
            continue
        assert depth == len(stack) - 1, f"bad indentation: {line!r}"
        if key == "GROUP":
            stack[-1][value] = {}
            stack.append(stack[-1][value])
            names.append(value)
            continue
        is_quoted = value.startswith('"')
        if is_quoted:
            assert value.endswith('"')
            value = value[1:-1]
        quoted[(names[-1], key)] = is_quoted
        stack[-1][key] = value
    assert len(stack) == 1
    return root, quoted


def xml_to_dict(el: ET.Element) -> dict:
    return {c.tag: xml_to_dict(c) if len(c) else (c.text or "") for c in el}


def read_mtl(folder: Path) -> dict[str, dict]:
    """The three MTL files of a product, each as a nested dict of strings."""
    (txt,) = folder.glob("*_MTL.txt")
    (js,) = folder.glob("*_MTL.json")
    (xm,) = folder.glob("*_MTL.xml")
    root = ET.parse(xm).getroot()
    return {
        "txt": parse_odl(txt.read_text())[0],
        "json": json.loads(js.read_text()),
        "xml": {root.tag: xml_to_dict(root)},
    }


# ------------------------------------------------------------------------------------------
# inputs


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240615)


def _qa(rng: np.random.Generator) -> np.ndarray:
    qa = np.full((N, N), 21824, np.uint16)
    qa[:8] = 22280  # cloud rows
    qa[8:12] = 23888  # shadow, clear bit set
    qa[-4:] = 1  # fill rows
    return qa


@pytest.fixture
def l2_bands(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "red": rng.integers(7273, 20000, (N, N), dtype=np.uint16),
        "nir08": rng.integers(10000, 30000, (N, N), dtype=np.uint16),
        "lwir11": rng.integers(40000, 50000, (N, N), dtype=np.uint16),
        "st_qa": rng.integers(0, 800, (N, N), dtype=np.int16),
        "qa_pixel": _qa(rng),
    }


def _l2(tmp_path: Path, bands: dict, **kw) -> Path:
    args = {"crs": 32631, "transform": T30, "path": 199, "row": 26, "date": dt.date(2022, 7, 18)}
    args.update(kw)
    return write_landsat_c2l2(tmp_path, bands=bands, **args)


@pytest.fixture
def s2_bands(rng: np.random.Generator) -> dict[str, np.ndarray]:
    scl = rng.choice(np.array([0, 4, 5, 6, 8, 9, 10], np.uint8), (N // 2, N // 2))
    return {
        "red": rng.integers(1000, 4000, (N, N), dtype=np.uint16),
        "nir": rng.integers(2000, 6000, (N, N), dtype=np.uint16),
        "swir16": rng.integers(1500, 5000, (N // 2, N // 2), dtype=np.uint16),
        "scl": scl,
    }


def _s2_kw(**kw) -> dict:
    args = {"tile": "31UDQ", "datetime": WHEN, "crs": 32631, "transform": T10}
    args.update(kw)
    return args


# ------------------------------------------------------------------------------------------
# encoding helpers


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, 21824),
        ({"water": True}, 21952),
        ({"cloud": True}, 22280),
        ({"shadow": True}, 23888),
        ({"fill": True}, 1),
        ({"snow": True}, 30048),
        ({"cirrus": True}, 54596),
        ({"cloud": True, "cirrus": True}, 55052),
        ({"cloud": True, "shadow": True, "cloud_confidence": 2}, 24088),
        ({"cirrus_confidence": 0}, 5440),
    ],
)
def test_encode_qa_pixel_matches_science_examples(flags, expected):
    assert int(encode_qa_pixel(**flags)) == expected


def test_encode_qa_pixel_broadcasts_and_sets_clear_bit():
    cloud = np.array([[True, False], [False, False]])
    dilated = np.array([[False, True], [False, False]])
    qa = encode_qa_pixel(cloud=cloud, dilated_cloud=dilated, water=np.array([False, True]))
    assert qa.dtype == np.uint16 and qa.shape == (2, 2)
    clear = (qa >> 6) & 1
    np.testing.assert_array_equal(clear, [[0, 0], [1, 1]])
    np.testing.assert_array_equal((qa >> 7) & 1, [[0, 1], [0, 1]])
    with pytest.raises(ValueError):
        encode_qa_pixel(cloud_confidence=4)
    conf = encode_qa_pixel(cloud=True, cloud_confidence=np.array([1, 2, 3]))
    np.testing.assert_array_equal((conf >> 8) & 3, [1, 2, 3])


def test_reflectance_to_dn_landsat_scale_offset_fill_and_clip():
    rho = np.array([0.0, 1.0, np.nan, -1.0, 5.0, 0.1])
    before = rho.copy()
    dn = reflectance_to_dn_landsat(rho)
    assert dn.dtype == np.uint16
    np.testing.assert_array_equal(dn[:5], [7273, 43636, 0, 1, 65535])
    assert abs(dn[5] * 2.75e-05 - 0.2 - 0.1) <= 2.75e-05 / 2
    np.testing.assert_array_equal(rho, before)  # input untouched


def test_kelvin_to_st_dn():
    dn = kelvin_to_st_dn([300.0, 149.003418, np.nan, 400.0])
    assert abs(dn[0] * 0.00341802 + 149.0 - 300.0) <= 0.00341802 / 2
    np.testing.assert_array_equal(dn[1:], [1, 0, 65535])


@pytest.mark.parametrize(("platform", "c"), [("landsat-8", L8), ("landsat-9", L9)])
def test_brightness_temperature_to_dn_uses_platform_constants(platform, c):
    dn = brightness_temperature_to_dn(np.array([300.0]), platform=platform, band=10)
    radiance = c["ML_10"] * float(dn[0]) + c["AL_10"]
    bt = c["K2_10"] / math.log(c["K1_10"] / radiance + 1)
    assert abs(bt - 300.0) < 0.02


def test_brightness_temperature_l8_and_l9_differ():
    d8 = brightness_temperature_to_dn(300.0, platform="landsat-8")
    d9 = brightness_temperature_to_dn(300.0, platform="landsat-9")
    assert int(d8) != int(d9)
    with pytest.raises(ValueError):
        brightness_temperature_to_dn(300.0, platform="landsat-7")


def test_toa_reflectance_to_dn_landsat():
    dn = toa_reflectance_to_dn_landsat(np.array([0.2]), sun_elevation=45.0)
    rho = (2.0e-5 * float(dn[0]) - 0.1) / math.sin(math.radians(45.0))
    assert abs(rho - 0.2) < 2e-5


@pytest.mark.parametrize(
    ("baseline", "offset", "dn"),
    [("02.14", 0, 500), ("03.01", 0, 500), ("04.00", -1000, 1500), ("05.10", -1000, 1500)],
)
def test_sentinel2_offset_follows_baseline(baseline, offset, dn):
    assert boa_add_offset(baseline) == offset
    out = reflectance_to_dn_sentinel2(np.array([0.05, np.nan]), processing_baseline=baseline)
    np.testing.assert_array_equal(out, [dn, 0])


def test_bad_baseline_is_rejected():
    with pytest.raises(ValueError, match=r"05\.10"):
        boa_add_offset("5.1")


# ------------------------------------------------------------------------------------------
# Landsat product ids


def test_product_id_round_trip_and_scene_id():
    text = "LC08_L2SP_008059_20191201_20200825_02_T1"
    pid = LandsatProductId.parse(text)
    assert str(pid) == text
    assert (pid.platform, pid.path, pid.row, pid.tier) == ("landsat-8", 8, 59, "T1")
    assert pid.scene_id == "LC80080592019335LGN00"  # as in the real MTL
    assert str(pid.with_level("L1TP")).startswith("LC08_L1TP_008059")


@pytest.mark.parametrize(
    "bad",
    [
        "LC07_L2SP_008059_20191201_20200825_02_T1",
        "LC08_L2XX_008059_20191201_20200825_02_T1",
        "LC08_L2SP_008059_20191301_20200825_02_T1",
        "LC08_L2SP_008059_20201201_20200825_02_T1",
        "LC08_L2SP_000059_20191201_20200825_02_T1",
    ],
)
def test_product_id_rejects_bad_ids(bad):
    with pytest.raises(ValueError):
        LandsatProductId.parse(bad)


# ------------------------------------------------------------------------------------------
# Landsat Collection 2 Level-2


def test_l2_files_and_geotiffs(tmp_path, l2_bands):
    folder = _l2(tmp_path, l2_bands)
    pid = "LC08_L2SP_199026_20220718_20220720_02_T1"
    assert folder == tmp_path / pid
    expected = {
        "SR_B4": ("red", "uint16", 0.0),
        "SR_B5": ("nir08", "uint16", 0.0),
        "ST_B10": ("lwir11", "uint16", 0.0),
        "ST_QA": ("st_qa", "int16", -9999.0),
        "QA_PIXEL": ("qa_pixel", "uint16", None),
    }
    names = {p.name for p in folder.iterdir()}
    assert names == {f"{pid}_{k}.TIF" for k in expected} | {
        f"{pid}_MTL.{e}" for e in ("txt", "json", "xml")
    }
    for key, (band, dtype, nodata) in expected.items():
        with rasterio.open(folder / f"{pid}_{key}.TIF") as ds:
            assert ds.driver == "GTiff"
            assert ds.profile["tiled"] and ds.block_shapes == [(256, 256)]
            assert ds.compression.name.lower() == "deflate"
            assert ds.dtypes[0] == dtype
            assert ds.nodata == nodata
            assert ds.crs.to_epsg() == 32631
            assert ds.transform == T30
            assert ds.tags()["AREA_OR_POINT"] == "Point"
            np.testing.assert_array_equal(ds.read(1), l2_bands[band])


def test_l2_mtl_formats_carry_identical_content(tmp_path, l2_bands):
    mtl = read_mtl(_l2(tmp_path, l2_bands))
    assert mtl["txt"] == mtl["json"] == mtl["xml"]


def test_l2_mtl_values(tmp_path, l2_bands):
    folder = _l2(tmp_path, l2_bands, sun_elevation=61.5, scene_center_time="10:47:12.3456789Z")
    m = read_mtl(folder)["txt"]["LANDSAT_METADATA_FILE"]
    pc, ia, pa = m["PRODUCT_CONTENTS"], m["IMAGE_ATTRIBUTES"], m["PROJECTION_ATTRIBUTES"]
    assert "synthetic" in pc["ORIGIN"].lower() and "not a USGS product" in pc["ORIGIN"]
    assert m["LEVEL2_PROCESSING_RECORD"]["ORIGIN"] == pc["ORIGIN"]
    assert pc["PROCESSING_LEVEL"] == "L2SP" and pc["COLLECTION_NUMBER"] == "02"
    assert ia["SPACECRAFT_ID"] == "LANDSAT_8" and ia["SENSOR_ID"] == "OLI_TIRS"
    assert (ia["WRS_PATH"], ia["WRS_ROW"]) == ("199", "26")
    assert ia["DATE_ACQUIRED"] == "2022-07-18"
    assert ia["SCENE_CENTER_TIME"] == "10:47:12.3456780Z"
    assert ia["SUN_ELEVATION"] == "61.50000000"
    valid = 60 * N
    assert float(ia["CLOUD_COVER"]) == pytest.approx(100 * 8 * N / valid, abs=0.005)
    sr = m["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]
    assert sr["REFLECTANCE_MULT_BAND_4"] == "2.75e-05" and sr["REFLECTANCE_ADD_BAND_4"] == "-0.2"
    st = m["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]
    assert st["TEMPERATURE_MULT_BAND_ST_B10"] == "0.00341802"
    assert st["TEMPERATURE_ADD_BAND_ST_B10"] == "149.0"
    assert st["TEMPERATURE_MINIMUM_BAND_ST_B10"] == "149.003418"
    assert m["LEVEL1_THERMAL_CONSTANTS"]["K1_CONSTANT_BAND_10"] == "774.8853"
    assert m["LEVEL1_THERMAL_CONSTANTS"]["K2_CONSTANT_BAND_10"] == "1321.0789"
    assert m["LEVEL1_RADIOMETRIC_RESCALING"]["RADIANCE_MULT_BAND_10"] == "3.3420E-04"
    assert m["LEVEL1_PROCESSING_RECORD"]["LANDSAT_PRODUCT_ID"].startswith("LC08_L1TP_199026")
    # grid: USGS corners are pixel centres
    assert pa["UTM_ZONE"] == "31" and pa["GRID_CELL_SIZE_REFLECTIVE"] == "30.00"
    assert pa["REFLECTIVE_LINES"] == pa["THERMAL_SAMPLES"] == str(N)
    ul = (399960.0 + 15, 5400000.0 - 15)
    lr = (399960.0 + 30 * N - 15, 5400000.0 - 30 * N + 15)
    assert float(pa["CORNER_UL_PROJECTION_X_PRODUCT"]) == ul[0]
    assert float(pa["CORNER_UL_PROJECTION_Y_PRODUCT"]) == ul[1]
    assert float(pa["CORNER_LR_PROJECTION_X_PRODUCT"]) == lr[0]
    assert float(pa["CORNER_LR_PROJECTION_Y_PRODUCT"]) == lr[1]
    to_ll = Transformer.from_crs(32631, 4326, always_xy=True)
    lon, lat = to_ll.transform(*ul)
    assert float(pa["CORNER_UL_LON_PRODUCT"]) == pytest.approx(lon, abs=6e-6)
    assert float(pa["CORNER_UL_LAT_PRODUCT"]) == pytest.approx(lat, abs=6e-6)


def test_l2_mtl_lists_exactly_the_files_written(tmp_path, l2_bands):
    folder = _l2(tmp_path, l2_bands)
    pc = read_mtl(folder)["json"]["LANDSAT_METADATA_FILE"]["PRODUCT_CONTENTS"]
    listed = {v for k, v in pc.items() if k.startswith("FILE_NAME_")}
    on_disk = {p.name for p in folder.iterdir() if not p.name.endswith("_MTL.json")}
    assert listed == on_disk
    assert pc["DATA_TYPE_QUALITY_L2_SURFACE_TEMPERATURE"] == "INT16"
    assert pc["DATA_TYPE_BAND_4"] == "UINT16"


def test_l9_carries_tirs2_constants(tmp_path, l2_bands):
    folder = _l2(tmp_path, l2_bands, platform="landsat-9")
    assert folder.name.startswith("LC09_L2SP_199026_")
    m = read_mtl(folder)["xml"]["LANDSAT_METADATA_FILE"]
    assert m["IMAGE_ATTRIBUTES"]["SPACECRAFT_ID"] == "LANDSAT_9"
    assert "TRUNCATION_OLI" not in m["IMAGE_ATTRIBUTES"]
    k = m["LEVEL1_THERMAL_CONSTANTS"]
    assert (k["K1_CONSTANT_BAND_10"], k["K2_CONSTANT_BAND_10"]) == ("799.0284", "1329.2405")
    rescaling = m["LEVEL1_RADIOMETRIC_RESCALING"]
    assert rescaling["RADIANCE_MULT_BAND_10"] == "3.8000E-04"
    assert rescaling["RADIANCE_MULT_BAND_11"] == "3.4900E-04"


def test_l2sr_has_no_surface_temperature(tmp_path, l2_bands):
    sr_only = {k: v for k, v in l2_bands.items() if k not in ("lwir11", "st_qa")}
    folder = _l2(tmp_path, sr_only, processing_level="L2SR")
    assert folder.name.startswith("LC08_L2SR_")
    assert not list(folder.glob("*_ST_*.TIF"))
    m = read_mtl(folder)["txt"]["LANDSAT_METADATA_FILE"]
    assert "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS" not in m
    assert "ALGORITHM_SOURCE_SURFACE_TEMPERATURE" not in m["LEVEL2_PROCESSING_RECORD"]
    with pytest.raises(SyntheticProductError, match="L2SR"):
        _l2(tmp_path / "x", l2_bands, processing_level="L2SR")


def test_l2_tar_has_every_file_at_its_root(tmp_path, l2_bands):
    folder = _l2(tmp_path, l2_bands, tar=True)
    with tarfile.open(tmp_path / f"{folder.name}.tar") as archive:
        members = archive.getnames()
        assert sorted(members) == sorted(p.name for p in folder.iterdir())
        assert all("/" not in name for name in members)
        mtl = archive.extractfile(f"{folder.name}_MTL.txt").read()
    assert mtl == (folder / f"{folder.name}_MTL.txt").read_bytes()


def test_l2_product_id_and_conflicts(tmp_path, l2_bands):
    pid = "LC09_L2SP_198027_20230704_20230706_02_T2"
    folder = write_landsat_c2l2(
        tmp_path, bands=l2_bands, crs="EPSG:32631", transform=tuple(T30)[:6], product_id=pid
    )
    assert folder.name == pid
    pc = read_mtl(folder)["txt"]["LANDSAT_METADATA_FILE"]["PRODUCT_CONTENTS"]
    assert pc["COLLECTION_CATEGORY"] == "T2"
    with pytest.raises(SyntheticProductError, match="contradicts"):
        write_landsat_c2l2(
            tmp_path / "b", bands=l2_bands, crs=32631, transform=T30, product_id=pid, path=1
        )
    with pytest.raises(SyntheticProductError, match="missing: row"):
        write_landsat_c2l2(
            tmp_path / "c", bands=l2_bands, crs=32631, transform=T30, path=1, date="2022-07-18"
        )


def test_l2_overwrite_and_no_leftovers(tmp_path, l2_bands):
    _l2(tmp_path, l2_bands)
    with pytest.raises(FileExistsError):
        _l2(tmp_path, l2_bands)
    changed = dict(l2_bands, red=np.full((N, N), 9999, np.uint16))
    folder = _l2(tmp_path, changed, overwrite=True)
    with rasterio.open(next(folder.glob("*_SR_B4.TIF"))) as ds:
        assert int(ds.read(1)[0, 0]) == 9999
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_l2_failure_mid_write_leaves_nothing_behind(tmp_path, l2_bands, monkeypatch):
    import raster.synthetic.landsat as landsat

    real_write = landsat.write_geotiff
    calls = []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(landsat, "write_geotiff", failing)
    with pytest.raises(OSError, match="disk full"):
        _l2(tmp_path, l2_bands)
    assert list(tmp_path.iterdir()) == []


def test_l2_accepts_file_keys_and_castable_integers(tmp_path, rng):
    red = rng.integers(7273, 20000, (N, N)).astype(np.int64)
    folder = _l2(tmp_path, {"SR_B4": red, "QA_PIXEL": np.full((N, N), 21824, np.int32)})
    with rasterio.open(next(folder.glob("*_SR_B4.TIF"))) as ds:
        assert ds.dtypes[0] == "uint16"
        np.testing.assert_array_equal(ds.read(1), red)
    m = read_mtl(folder)["txt"]["LANDSAT_METADATA_FILE"]
    assert m["IMAGE_ATTRIBUTES"]["CLOUD_COVER"] == "0.00"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"bands": {"red": np.zeros((N, N), np.float32)}}, "digital numbers"),
        (
            {"bands": {"red": np.zeros((N, N), np.uint16), "nir08": np.zeros((N, 8), np.uint16)}},
            "shapes",
        ),
        ({"bands": {"thermal": np.zeros((N, N), np.uint16)}}, "unknown band"),
        ({"bands": {"red": np.full((N, N), 70000, np.int32)}}, "do not fit"),
        ({"bands": {"red": np.zeros(N, np.uint16)}}, "2-D"),
        ({"bands": {}}, "empty"),
        ({"crs": 2154}, "UTM"),
        ({"crs": 32731}, "southern"),
        ({"transform": Affine(30, 1, 399960, 0, -30, 5400000)}, "north-up"),
        ({"transform": Affine(30, 0, 399960, 0, -20, 5400000)}, "square"),
        ({"formats": ()}, "formats"),
        ({"formats": ("csv",)}, "formats"),
        ({"cloud_cover": 120.0}, "cloud_cover"),
        ({"processing_level": "L1TP"}, "processing_level"),
        ({"blocksize": 100}, "blocksize"),
        ({"sun_azimuth": 360.0}, "sun_azimuth"),
        ({"scene_center_time": "25:00:00"}, "scene_center_time"),
        ({"date": "18/07/2022"}, "ISO date"),
        ({"platform": "landsat-7"}, "platform"),
    ],
)
def test_l2_rejects_bad_input(tmp_path, change, match):
    args = {"bands": {"red": np.zeros((N, N), np.uint16)}}
    args.update(change)
    with pytest.raises(SyntheticProductError, match=match) as err:
        _l2(tmp_path, **args)
    assert isinstance(err.value, ValueError) and isinstance(err.value, IlotsError)
    assert list(tmp_path.iterdir()) == []


def test_l2_output_is_deterministic(tmp_path, l2_bands):
    a = _l2(tmp_path / "a", l2_bands)
    b = _l2(tmp_path / "b", l2_bands)
    for file in a.iterdir():
        assert file.read_bytes() == (b / file.name).read_bytes(), file.name


# ------------------------------------------------------------------------------------------
# Landsat Collection 2 Level-1


@pytest.mark.parametrize(("platform", "k1"), [("landsat-8", "774.8853"), ("landsat-9", "799.0284")])
def test_l1_product(tmp_path, rng, platform, k1):
    bands = {
        "red": toa_reflectance_to_dn_landsat(rng.uniform(0, 0.3, (N, N)), sun_elevation=60.0),
        "nir08": rng.integers(5000, 30000, (N, N), dtype=np.uint16),
        "lwir11": brightness_temperature_to_dn(np.full((N, N), 300.0), platform=platform),
        "lwir12": brightness_temperature_to_dn(np.full((N, N), 298.0), platform=platform, band=11),
        "qa_pixel": _qa(rng),
    }
    folder = write_landsat_c2l1(
        tmp_path,
        bands=bands,
        crs=32630,
        transform=T30,
        path=201,
        row=28,
        date=dt.datetime(2017, 11, 17, 10, 54, 13),
        platform=platform,
    )
    pid = folder.name
    assert re.fullmatch(r"LC0[89]_L1TP_201028_20171117_20171119_02_T1", pid)
    assert {p.name.removeprefix(pid + "_") for p in folder.glob("*.TIF")} == {
        "B4.TIF",
        "B5.TIF",
        "B10.TIF",
        "B11.TIF",
        "QA_PIXEL.TIF",
    }
    for key, band in (("B4", "red"), ("B10", "lwir11"), ("B11", "lwir12")):
        with rasterio.open(folder / f"{pid}_{key}.TIF") as ds:
            np.testing.assert_array_equal(ds.read(1), bands[band])
    mtl = read_mtl(folder)
    assert mtl["txt"] == mtl["json"] == mtl["xml"]
    m = mtl["txt"]["LANDSAT_METADATA_FILE"]
    assert not [g for g in m if g.startswith("LEVEL2")]
    assert m["PRODUCT_CONTENTS"]["PROCESSING_LEVEL"] == "L1TP"
    assert m["IMAGE_ATTRIBUTES"]["SCENE_CENTER_TIME"] == "10:54:13.0000000Z"
    assert m["PROJECTION_ATTRIBUTES"]["PANCHROMATIC_LINES"] == str(2 * N - 1)
    assert m["PROJECTION_ATTRIBUTES"]["UTM_ZONE"] == "30"
    assert m["LEVEL1_THERMAL_CONSTANTS"]["K1_CONSTANT_BAND_10"] == k1
    assert m["LEVEL1_RADIOMETRIC_RESCALING"]["REFLECTANCE_MULT_BAND_4"] == "2.0000E-05"
    assert m["LEVEL1_PROCESSING_RECORD"]["FILE_NAME_BAND_10"] == f"{pid}_B10.TIF"


# ------------------------------------------------------------------------------------------
# layout against the real USGS files


def _real_ordered_keys(path: Path) -> dict[str, list[str]]:
    root = ET.parse(path).getroot()
    return {g.tag: [c.tag for c in g] for g in root}


@pytest.mark.realdata
def test_mtl_layout_matches_real_usgs_files(tmp_path, l2_bands, real_data):
    l2_dir = real_data / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    real_txt = (l2_dir / "LC08_L2SP_008059_20191201_20200825_02_T1_MTL.txt").read_text()
    real_tree, real_quoted = parse_odl(real_txt)
    l9_keys = _real_ordered_keys(
        real_data / "stac_items/stactools-landsat/LC09_L2SP_010065_20220129_20220131_02_T1_MTL.xml"
    )
    l8_keys = {g: list(v) for g, v in real_tree["LANDSAT_METADATA_FILE"].items()}
    for platform, real_keys in (("landsat-8", l8_keys), ("landsat-9", l9_keys)):
        folder = _l2(tmp_path / platform, l2_bands, platform=platform)
        txt = next(folder.glob("*_MTL.txt")).read_text()
        tree, quoted = parse_odl(txt)
        groups = tree["LANDSAT_METADATA_FILE"]
        assert list(groups) == list(real_keys), "group order"
        for group, keys in groups.items():
            known = real_keys[group] + [
                k for k in l9_keys.get(group, []) if k not in real_keys[group]
            ]
            assert set(keys) <= set(known) | set(l8_keys.get(group, [])), group
            order = [real_keys[group].index(k) for k in keys if k in real_keys[group]]
            assert order == sorted(order), f"key order in {group}"
            for key in keys:  # quoted strings vs bare literals, as USGS writes them
                if (group, key) in real_quoted:
                    assert quoted[(group, key)] == real_quoted[(group, key)], key
        # JSON: one line, no trailing newline, json.dumps separators; XML: same header
        real_json = (l2_dir / "LC08_L2SP_008059_20191201_20200825_02_T1_MTL.json").read_text()
        syn_json = next(folder.glob("*_MTL.json")).read_text()
        assert real_json == json.dumps(json.loads(real_json))
        assert syn_json == json.dumps(json.loads(syn_json))
        real_xml = (l2_dir / "LC08_L2SP_008059_20191201_20200825_02_T1_MTL.xml").read_text()
        syn_xml = next(folder.glob("*_MTL.xml")).read_text()
        assert syn_xml.splitlines()[:2] == real_xml.splitlines()[:2]
        assert syn_xml.endswith("</LANDSAT_METADATA_FILE>\n")

    l1_real = _real_ordered_keys(
        real_data / "landsat_l1/LC08_L1TP_201028_20171117_20200902_02_T1_MTL.xml"
    )
    bands = {"red": l2_bands["red"], "qa_pixel": l2_bands["qa_pixel"]}
    folder = write_landsat_c2l1(
        tmp_path / "l1", bands=bands, crs=32630, transform=T30, path=201, row=28, date="2017-11-17"
    )
    l1_syn = _real_ordered_keys(next(folder.glob("*_MTL.xml")))
    assert list(l1_syn) == list(l1_real)
    for group, keys in l1_syn.items():
        assert set(keys) <= set(l1_real[group]), group
        order = [l1_real[group].index(k) for k in keys]
        assert order == sorted(order), group


# ------------------------------------------------------------------------------------------
# Sentinel-2 SAFE


def _mtd(safe: Path) -> ET.Element:
    return ET.parse(safe / "MTD_MSIL2A.xml").getroot()


def _scl_cloud_pct(scl: np.ndarray) -> float:
    valid = scl[scl != 0]
    return 100.0 * np.isin(valid, [8, 9, 10]).sum() / valid.size


def test_safe_layout_and_product_metadata(tmp_path, s2_bands):
    safe = write_sentinel2_safe(tmp_path, bands=s2_bands, **_s2_kw())
    assert re.fullmatch(
        r"S2B_MSIL2A_20230615T105031_N0510_R051_T31UDQ_\d{8}T\d{6}\.SAFE", safe.name
    )
    text = (safe / "MTD_MSIL2A.xml").read_text()
    assert "Synthetic product written by ilots" in text.splitlines()[1]
    root = _mtd(safe)
    assert root.tag.endswith("Level-2A_User_Product")
    assert root.findtext(".//PROCESSING_BASELINE") == "05.10"
    assert root.findtext(".//PRODUCT_URI") == safe.name
    assert root.findtext(".//PRODUCT_START_TIME") == "2023-06-15T10:50:31.024Z"
    assert root.findtext(".//SPACECRAFT_NAME") == "Sentinel-2B"
    assert root.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"
    offsets = root.findall(".//BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET")
    assert [o.get("band_id") for o in offsets] == [str(i) for i in range(13)]
    assert {o.text for o in offsets} == {"-1000"}
    spectral = root.findall(".//Spectral_Information_List/Spectral_Information")
    assert [s.get("physicalBand") for s in spectral][7:9] == ["B8", "B8A"]
    cloud = float(root.findtext(".//Cloud_Coverage_Assessment"))
    assert cloud == pytest.approx(_scl_cloud_pct(s2_bands["scl"]), abs=1e-6)
    images = [e.text for e in root.iter("IMAGE_FILE")]
    assert len(images) == 4
    for image in images:
        assert (safe / f"{image}.jp2").is_file(), image
    assert any(i.endswith("/IMG_DATA/R10m/T31UDQ_20230615T105031_B04_10m") for i in images)
    assert any(i.endswith("/IMG_DATA/R20m/T31UDQ_20230615T105031_SCL_20m") for i in images)
    (granule,) = (safe / "GRANULE").iterdir()
    assert re.fullmatch(r"L2A_T31UDQ_A\d{6}_\d{8}T\d{6}", granule.name)
    assert not list(safe.rglob("*.aux.xml"))


def test_safe_jp2_round_trip_and_tile_geocoding(tmp_path, s2_bands):
    safe = write_sentinel2_safe(tmp_path, bands=s2_bands, **_s2_kw())
    (granule,) = (safe / "GRANULE").iterdir()
    img = granule / "IMG_DATA"
    t20 = T10 @ Affine.scale(2)
    files = {
        "red": (img / "R10m/T31UDQ_20230615T105031_B04_10m.jp2", T10),
        "nir": (img / "R10m/T31UDQ_20230615T105031_B08_10m.jp2", T10),
        "swir16": (img / "R20m/T31UDQ_20230615T105031_B11_20m.jp2", t20),
        "scl": (img / "R20m/T31UDQ_20230615T105031_SCL_20m.jp2", t20),
    }
    for band, (path, transform) in files.items():
        with rasterio.open(path) as ds:
            assert ds.driver == "JP2OpenJPEG"
            assert ds.crs.to_epsg() == 32631
            assert ds.transform.almost_equals(transform)
            assert ds.dtypes[0] == str(s2_bands[band].dtype)
            np.testing.assert_array_equal(ds.read(1), s2_bands[band])
    tl = ET.parse(granule / "MTD_TL.xml").getroot()
    assert tl.findtext(".//HORIZONTAL_CS_CODE") == "EPSG:32631"
    sizes = {
        s.get("resolution"): (s.findtext("NROWS"), s.findtext("NCOLS")) for s in tl.iter("Size")
    }
    assert sizes["10"] == (str(N), str(N)) and sizes["20"] == (str(N // 2), str(N // 2))
    geo = {g.get("resolution"): g for g in tl.iter("Geoposition")}
    assert (geo["10"].findtext("ULX"), geo["10"].findtext("ULY")) == ("399960", "5400000")
    assert geo["20"].findtext("XDIM") == "20" and geo["20"].findtext("YDIM") == "-20"
    assert tl.findtext(".//SENSING_TIME") == "2023-06-15T10:50:31.024000Z"


def test_safe_before_baseline_04_has_no_offset_list(tmp_path, s2_bands):
    safe = write_sentinel2_safe(tmp_path, bands=s2_bands, **_s2_kw(processing_baseline="02.14"))
    assert "_N0214_" in safe.name
    root = _mtd(safe)
    assert root.find(".//BOA_ADD_OFFSET_VALUES_LIST") is None
    assert root.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"


def test_safe_downsamples_full_size_20m_bands(tmp_path, rng):
    red = rng.integers(1000, 4000, (N, N), dtype=np.uint16)
    swir = rng.integers(1000, 4000, (N, N), dtype=np.uint16)
    swir[:2, :2] = 0  # one all-nodata block
    swir[2:4, 0] = 0  # one half-nodata block
    scl = rng.integers(0, 12, (N, N), dtype=np.uint8)
    safe = write_sentinel2_safe(
        tmp_path, bands={"red": red, "swir16": swir, "scl": scl}, **_s2_kw()
    )
    (granule,) = (safe / "GRANULE").iterdir()
    with rasterio.open(granule / "IMG_DATA/R20m/T31UDQ_20230615T105031_SCL_20m.jp2") as ds:
        np.testing.assert_array_equal(ds.read(1), scl[::2, ::2])
    with rasterio.open(granule / "IMG_DATA/R20m/T31UDQ_20230615T105031_B11_20m.jp2") as ds:
        out = ds.read(1)
    assert out.shape == (N // 2, N // 2)
    for i, j in [(0, 0), (1, 0), (5, 7), (31, 31)]:
        block = swir[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].astype(float)
        good = block[block != 0]
        expected = 0 if good.size == 0 else math.floor(good.mean() + 0.5)
        assert int(out[i, j]) == expected, (i, j)


_Z10 = np.zeros((N, N), np.uint16)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"crs": 32630}, "zone"),
        ({"tile": "31IDQ"}, "MGRS"),
        ({"transform": T30}, "10 m"),
        ({"processing_baseline": "5.10"}, "05.10"),
        ({"platform": "sentinel-3a"}, "platform"),
        ({"datetime": dt.datetime(2016, 1, 1)}, "orbit"),
        ({"bands": {"scl": np.zeros((N // 2, N // 2), np.uint8)}}, "10 m grid shape"),
        ({"bands": {"red": _Z10, "scl": np.zeros((N, 8), np.uint8)}}, "expected"),
        ({"bands": {"red": np.zeros((N, N), np.float64)}}, "digital numbers"),
        ({"bands": {"red": _Z10, "blue": _Z10, "B04": _Z10}}, "twice"),
    ],
)
def test_sentinel2_rejects_bad_input(tmp_path, s2_bands, change, match):
    args = dict(_s2_kw(), bands=s2_bands)
    args.update(change)
    with pytest.raises(SyntheticProductError, match=match):
        write_sentinel2_safe(tmp_path, **args)
    assert list(tmp_path.iterdir()) == []


def test_sentinel2_shape_allows_products_without_10m_bands(tmp_path, s2_bands):
    safe = write_sentinel2_safe(tmp_path, bands={"scl": s2_bands["scl"]}, shape=(N, N), **_s2_kw())
    assert len(list(safe.rglob("*.jp2"))) == 1


# ------------------------------------------------------------------------------------------
# Sentinel-2 Earth Search layout


def test_earthsearch_item_and_cogs(tmp_path, s2_bands):
    path = write_sentinel2_earthsearch(tmp_path, bands=s2_bands, **_s2_kw())
    assert path == tmp_path / "S2B_31UDQ_20230615_0_L2A" / "S2B_31UDQ_20230615_0_L2A.json"
    item = pystac.Item.from_file(str(path))
    assert item.id == "S2B_31UDQ_20230615_0_L2A"
    assert item.datetime == dt.datetime(2023, 6, 15, 10, 50, 31, 24000, tzinfo=dt.UTC)
    p = item.properties
    assert p["s2:processing_baseline"] == "05.10"
    assert p["earthsearch:boa_offset_applied"] is False
    assert p["platform"] == "sentinel-2b" and p["grid:code"] == "MGRS-31UDQ"
    assert p["ilots:synthetic"] is True and "Synthetic" in p["description"]
    assert p["eo:cloud_cover"] == pytest.approx(_scl_cloud_pct(s2_bands["scl"]), abs=1e-5)
    assert set(item.assets) == {"red", "nir", "swir16", "scl"}
    west, south, east, north = item.bbox
    assert 1.5 < west < east < 2.0 and 48.5 < south < north < 48.8
    for key, file_key in (("red", "B04"), ("nir", "B08"), ("swir16", "B11"), ("scl", "SCL")):
        asset = item.assets[key]
        assert asset.href == f"./{file_key}.tif"
        href = Path(asset.get_absolute_href())
        assert href == path.parent / f"{file_key}.tif"
        (rb,) = asset.extra_fields["raster:bands"]
        assert rb["nodata"] == 0
        if key != "scl":
            assert (rb["scale"], rb["offset"]) == (0.0001, -0.1)
        with rasterio.open(href) as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert ds.compression.name.lower() == "deflate"
            assert ds.block_shapes == [(512, 512)]
            assert ds.nodata == 0
            assert rb["data_type"] == ds.dtypes[0]
            assert list(ds.shape) == asset.extra_fields["proj:shape"]
            assert list(ds.transform)[:6] == asset.extra_fields["proj:transform"]
            np.testing.assert_array_equal(ds.read(1), s2_bands[key])


def test_earthsearch_offsets_follow_baseline(tmp_path, s2_bands):
    path = write_sentinel2_earthsearch(
        tmp_path / "a", bands=s2_bands, **_s2_kw(processing_baseline="02.14")
    )
    old = pystac.Item.from_file(str(path))
    assert old.properties["earthsearch:boa_offset_applied"] is False
    assert old.assets["red"].extra_fields["raster:bands"][0]["offset"] == 0
    path = write_sentinel2_earthsearch(
        tmp_path / "b", bands=s2_bands, boa_offset_applied=True, **_s2_kw()
    )
    flagged = pystac.Item.from_file(str(path))
    assert flagged.properties["earthsearch:boa_offset_applied"] is True
    assert flagged.assets["red"].extra_fields["raster:bands"][0]["offset"] == -0.1
    red = s2_bands["red"].copy()
    red[0, :3] = (0, 500, 1001)
    path = write_sentinel2_earthsearch(
        tmp_path / "c", bands=dict(s2_bands, red=red), boa_offset_applied=True, **_s2_kw()
    )
    with rasterio.open(path.parent / "B04.tif") as ds:
        out = ds.read(1)
    np.testing.assert_array_equal(out[0, :3], [0, 1, 1])  # nodata kept, clipped to 1
    np.testing.assert_array_equal(out[1:], np.maximum(red[1:].astype(int) - 1000, 1))
    with rasterio.open(path.parent / "SCL.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), s2_bands["scl"])  # classes untouched
    with pytest.raises(SyntheticProductError, match=r"04\.00"):
        write_sentinel2_earthsearch(
            tmp_path / "d",
            bands=s2_bands,
            boa_offset_applied=True,
            **_s2_kw(processing_baseline="02.14"),
        )


def test_earthsearch_absolute_hrefs(tmp_path, s2_bands):
    path = write_sentinel2_earthsearch(tmp_path, bands=s2_bands, absolute_hrefs=True, **_s2_kw())
    raw = json.loads(path.read_text())
    for asset in raw["assets"].values():
        assert Path(asset["href"]).is_absolute() and Path(asset["href"]).is_file()


def test_sentinel2_output_is_deterministic(tmp_path, s2_bands):
    for sub in ("a", "b"):
        write_sentinel2_safe(tmp_path / sub, bands=s2_bands, **_s2_kw())
        write_sentinel2_earthsearch(tmp_path / sub, bands=s2_bands, **_s2_kw())
    for file in sorted((tmp_path / "a").rglob("*")):
        if file.is_file():
            twin = tmp_path / "b" / file.relative_to(tmp_path / "a")
            assert file.read_bytes() == twin.read_bytes(), file.name


@pytest.mark.realdata
def test_earthsearch_item_matches_real_item_keys(tmp_path, s2_bands, real_data):
    real = json.loads(
        (
            real_data / "sentinel2_l2a/S2A_29RKH_20200219_0_L2A/S2A_29RKH_20200219_0_L2A.json"
        ).read_text()
    )
    path = write_sentinel2_earthsearch(
        tmp_path, bands=s2_bands, **_s2_kw(processing_baseline="02.14")
    )
    syn = json.loads(path.read_text())
    assert set(real) == set(syn)
    remote_only = {"earthsearch:s3_path", "earthsearch:payload_id"}
    assert set(real["properties"]) - remote_only <= set(syn["properties"])
    assert syn["stac_extensions"] == real["stac_extensions"]
    for key in ("red", "swir16", "scl"):
        assert set(syn["assets"][key]) == set(real["assets"][key]), key
        assert syn["assets"][key]["raster:bands"] == real["assets"][key]["raster:bands"] or (
            set(syn["assets"][key]["raster:bands"][0])
            == set(real["assets"][key]["raster:bands"][0])
        )
        assert syn["assets"][key]["title"] == real["assets"][key]["title"]
        assert syn["assets"][key].get("eo:bands") == real["assets"][key].get("eo:bands")
