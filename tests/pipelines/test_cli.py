"""The ``ilots lst`` and ``ilots indices`` commands on real products, and their errors.

Expected values are computed here, independently: QA bits decoded with plain integer
arithmetic, scale/offset and K1/K2 typed in from the product metadata (science.md §1.2, §2.1).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from pipelines.cli import main
from tests.conftest import NO_HOST, damage_tile, unreachable_item
from tests.refusals import assert_out_refused

T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
T2 = "landsat_c2l2/LC08_L2SP_001062_20201031_20201106_02_T2"
C1 = "landsat_l1/LC08_L1TP_016037_20170813_20170814_01_RT"
S2 = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _band(folder, suffix):
    (path,) = folder.glob(f"*_{suffix}.TIF")
    with rasterio.open(path) as src:
        return src.read(1)


def test_lst_level2_real_scene(real_data, tmp_path):
    out = tmp_path / "lst.tif"
    result = _run("lst", real_data / T1, "--out", out)
    assert result.exit_code == 0, result.output
    qa = _band(real_data / T1, "QA_PIXEL").astype(np.int64)
    st = _band(real_data / T1, "ST_B10").astype(np.float64)
    # Default preset: reject bits 0-5; water (bit 7) excluded from LST; ST fill is DN 0.
    keep = ((qa & 0b111111) == 0) & ((qa >> 7) & 1 == 0) & (st != 0)
    with rasterio.open(out) as src:
        lst = src.read(1)
        tags = src.tags()
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert src.crs.to_epsg() == 32618
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert tags["units"] == "K"
    assert tags["source_product"] == (real_data / T1).name
    assert "ST_B10" in tags["method"]
    assert tags["long_name"] == "land surface temperature"
    np.testing.assert_array_equal(np.isfinite(lst), keep)
    np.testing.assert_allclose(lst[keep], st[keep] * 0.00341802 + 149.0, rtol=1e-6)
    p5, p95 = np.percentile(lst[keep], [5, 95])
    assert 296.0 <= p5 and p95 <= 313.5, (p5, p95)
    assert f"({keep.sum()} valid pixels)" in result.output


def test_lst_same_from_folder_mtl_json_and_tar(real_data, tmp_path):
    import tarfile

    tar_path = tmp_path / "scene.tar"
    with tarfile.open(tar_path, "w") as tar:
        for f in (real_data / T1).iterdir():
            tar.add(f, arcname=f.name)
    outputs = []
    mtl = next((real_data / T1).glob("*_MTL.json"))
    for i, source in enumerate([real_data / T1, mtl, tar_path]):
        out = tmp_path / f"lst{i}.tif"
        assert _run("lst", source, "--out", out).exit_code == 0
        with rasterio.open(out) as src:
            outputs.append(src.read(1))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


def test_lst_almost_all_cloud_runs_and_warns(real_data, tmp_path):
    out = tmp_path / "lst.tif"
    result = _run("lst", real_data / T2, "--out", out)
    assert result.exit_code == 0, result.output
    # Its ~62 "clear" pixels all carry the shadow bit (value 23888), so the default mask
    # keeps none of them: science.md pitfall 4.
    qa = _band(real_data / T2, "QA_PIXEL").astype(np.int64)
    assert ((qa & 0b111111) == 0).sum() == 0
    assert (qa == 23888).sum() > 0
    assert "no valid pixel" in result.output
    assert "(all cloud, cloud shadow, fill or water)" in result.output
    with rasterio.open(out) as src:
        assert np.isnan(src.read(1)).all()


def _warning_lines(result):
    return [line for line in result.output.splitlines() if line.startswith("warning: ")]


def test_lst_and_indices_strict_end_with_status_3_when_they_warned(real_data, tmp_path):
    # T2: no pixel clear by the default mask (test above), one warning; T1 with --mask none:
    # 8 kept pixels of negative red (the indices test below), one warning. Each output is
    # written all the same; a command that did not warn ends with 0 under --strict.
    out = tmp_path / "lst.tif"
    result = _run("lst", real_data / T2, "--out", out, "--strict")
    assert result.exit_code == 3, result.output
    assert len(_warning_lines(result)) == 1 and "no valid pixel" in _warning_lines(result)[0]
    assert result.output.rstrip().endswith(
        "--strict: ilots lst finished with 1 warning(s) (above); exit status 3"
    )
    with rasterio.open(out) as src:
        assert np.isnan(src.read(1)).all()
    result = _run("indices", real_data / T1, "--mask", "none", "--out", tmp_path, "--strict")
    assert result.exit_code == 3 and (tmp_path / "ndvi.tif").is_file(), result.output
    assert result.output.rstrip().endswith(
        "--strict: ilots indices finished with 1 warning(s) (above); exit status 3"
    )
    clean = _run("indices", real_data / T1, "--out", tmp_path / "masked", "--strict")
    assert clean.exit_code == 0 and not _warning_lines(clean), clean.output


def test_strict_is_not_the_strict_cloud_mask_in_the_help():
    for command in ("lst", "indices"):
        said = " ".join(_run(command, "--help").output.split())
        assert "Exit with status 3 when ilots " + command + " warned" in said
        assert "Not a cloud mask: that is --mask strict." in said
        assert "(a cloud mask; the exit status is --strict's)" in said


def test_lst_empty_after_st_qa_names_the_threshold(real_data, tmp_path):
    # Data README: the clear pixels of T1 all have ST_QA >= 3.17 K, so 2 K leaves none.
    result = _run("lst", real_data / T1, "--st-qa-max", "2", "--out", tmp_path / "lst.tif")
    assert result.exit_code == 0, result.output
    assert "(all cloud, cloud shadow, fill, water or ST_QA above 2 K)" in result.output


def _mtl_number(text, key):
    return float(re.search(rf"{key} = ([-0-9.Ee+]+)", text).group(1))


def test_level1_collection1_brightness_temperature(real_data):
    from raster.load import load_items
    from raster.sources import open_product
    from raster.thermal import brightness_temperature

    folder = real_data / C1
    text = next(folder.glob("*_MTL.txt")).read_text()
    ml, al = _mtl_number(text, "RADIANCE_MULT_BAND_10"), _mtl_number(text, "RADIANCE_ADD_BAND_10")
    k1, k2 = _mtl_number(text, "K1_CONSTANT_BAND_10"), _mtl_number(text, "K2_CONSTANT_BAND_10")
    assert (k1, k2) == (774.8853, 1321.0789)
    dn = _band(folder, "B10").astype(np.float64)
    expected = np.where(dn > 0, k2 / np.log(k1 / (ml * dn + al) + 1), np.nan)

    ds = load_items([open_product(folder)], ["lwir11"]).isel(time=0)
    bt = brightness_temperature(ds.lwir11.values, float(ds.k1_lwir11), float(ds.k2_lwir11))
    np.testing.assert_allclose(bt, expected, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("method", ["single-band", "single-channel"])
def test_lst_level1_real_scene(real_data, tmp_path, method):
    out = tmp_path / "lst.tif"
    result = _run("lst", real_data / C1, "--method", method, "--out", out)
    assert result.exit_code == 0, result.output
    bqa = _band(real_data / C1, "BQA").astype(np.int64)
    with rasterio.open(out) as src:
        lst = src.read(1)
        assert src.tags()["method"] == method
    valid = np.isfinite(lst)
    assert valid.sum() > 10_000
    assert not valid[bqa == 1].any(), "fill pixels must be nodata"
    assert not valid[(bqa >> 4) & 1 == 1].any(), "cloud pixels must be nodata"
    # A clear August afternoon in South Carolina: land surface between 280 and 330 K.
    assert 280 < np.percentile(lst[valid], 5) and np.percentile(lst[valid], 95) < 330


def test_lst_collection1_leaves_water_out_by_ndvi(real_data, tmp_path):
    """Collection 1's BQA has no water bit: water is NDVI < 0 (science.md §2.2), by hand from
    the TOA reflectance of B4 and B5 (the sun-elevation factor cancels in the ratio)."""
    folder = real_data / C1
    text = next(folder.glob("*_MTL.txt")).read_text()
    rho = {}
    for band in (4, 5):
        mult = _mtl_number(text, f"REFLECTANCE_MULT_BAND_{band}")
        add = _mtl_number(text, f"REFLECTANCE_ADD_BAND_{band}")
        dn = _band(folder, f"B{band}").astype(np.float64)
        rho[band] = np.where(dn > 0, np.maximum(mult * dn + add, 0.0), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (rho[5] - rho[4]) / (rho[5] + rho[4])
    water = ndvi < 0
    assert water.sum() > 1_000  # the Atlantic off South Carolina
    outs = {}
    for flag in ((), ("--keep-water",)):
        out = tmp_path / f"lst{len(flag)}.tif"
        result = _run("lst", folder, *flag, "--out", out)
        assert result.exit_code == 0, result.output
        with rasterio.open(out) as src:
            outs[bool(flag)] = np.isfinite(src.read(1))
            assert src.tags()["ilots_keep_water"] == str(bool(flag))
    masked, kept = outs[False], outs[True]
    assert not masked[water].any()
    np.testing.assert_array_equal(masked, kept & ~water)
    assert kept[water].sum() > 1_000


def test_lst_water_vapour_outside_single_channel_is_said(real_data, tmp_path):
    result = _run("lst", real_data / T1, "--water-vapour", "3", "--out", tmp_path / "a.tif")
    assert result.exit_code == 0, result.output
    assert "water vapour applies to the single-channel method only" in result.output
    result = _run("lst", real_data / T1, "--out", tmp_path / "b.tif")
    assert "water vapour" not in result.output


def test_indices_level1_say_top_of_atmosphere(real_data, tmp_path):
    result = _run("indices", real_data / C1, "--index", "ndvi", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "top-of-atmosphere reflectance, not surface reflectance" in result.output
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        assert src.tags()["reflectance"] == "top of atmosphere (Level-1)"
    result = _run("indices", real_data / T1, "--index", "ndvi", "--out", tmp_path / "l2")
    assert "top-of-atmosphere" not in result.output


def test_lst_collection1_says_st_qa_is_not_applied(real_data, tmp_path):
    result = _run("lst", real_data / C1, "--st-qa-max", "1", "--out", tmp_path / "lst.tif")
    assert result.exit_code == 0, result.output
    assert "no ST_QA nor ST_CDIST, so --st-qa-max and --cdist-min are not applied" in (
        " ".join(result.output.split())
    )


def test_indices_sentinel2_real(real_data, tmp_path):
    result = _run("indices", real_data / S2, "--index", "ndvi,NDVI", "--mask", "none", "--out",
                  tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("wrote ") == 1  # an index named twice is made once
    with rasterio.open(real_data / S2 / "B04.tif") as src:
        red = src.read(1).astype(np.float64)
    with rasterio.open(real_data / S2 / "B08.tif") as src:
        nir = src.read(1).astype(np.float64)
    # Processing baseline 02.14: no BOA offset, reflectance = DN / 10000.
    red_r, nir_r = red / 1e4, nir / 1e4
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where((red > 0) & (nir > 0), (nir_r - red_r) / (nir_r + red_r), np.nan)
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        ndvi = src.read(1)
    np.testing.assert_allclose(ndvi, expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_indices_sentinel2_scl_mask(real_data, tmp_path):
    assert _run("indices", real_data / S2, "--index", "ndvi", "--out", tmp_path).exit_code == 0
    with rasterio.open(real_data / S2 / "SCL.tif") as src:
        scl = src.read(1)
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        ndvi = src.read(1)
    # SCL is 200 m, the bands 100 m on the same origin: nearest resampling replicates 2 x 2.
    scl_100 = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)[: ndvi.shape[0], : ndvi.shape[1]]
    keep = np.isin(scl_100, [4, 5, 6])  # water (6) kept for indices, as for Landsat
    assert not np.isfinite(ndvi[~keep]).any()
    assert np.isfinite(ndvi[keep]).mean() > 0.99


def test_indices_sentinel2_keep_water(tmp_path):
    """SCL 6 is kept for the indices (MNDWI and NDWI need water), as Landsat's water bit is;
    clouds (SCL 9) are not."""
    from raster.synthetic import write_sentinel2_earthsearch

    scl = np.full((20, 20), 5, dtype="uint8")
    scl[:, :6] = 6  # a river (whole 20 m SCL pixels)
    scl[14:, 10:] = 9  # a cloud
    dn = lambda v: np.full((20, 20), v, dtype="uint16")  # noqa: E731
    item = write_sentinel2_earthsearch(
        tmp_path / "in", bands={"red": dn(1500), "nir": dn(1300), "green": dn(1800),
                                "swir16": dn(1200), "scl": scl},
        tile="31TCJ", datetime="2023-07-14T10:56:00Z", crs=32631,
        transform=(10.0, 0.0, 300000.0, 0.0, -10.0, 4800000.0), processing_baseline="05.10",
    )  # fmt: skip
    result = _run("indices", item.parent, "--index", "mndwi", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "out" / "mndwi.tif") as src:
        mndwi = src.read(1)
    assert np.isfinite(mndwi[scl == 6]).all() and np.isfinite(mndwi[scl == 5]).all()
    assert not np.isfinite(mndwi[scl == 9]).any()
    # Baseline 05.10: reflectance = (DN − 1000) / 10000; MNDWI = (green − SWIR1) / (sum).
    np.testing.assert_allclose(mndwi[scl == 6], (0.08 - 0.02) / (0.08 + 0.02), rtol=1e-5)


def test_indices_landsat_several(real_data, tmp_path):
    result = _run("indices", real_data / T1, "--index", "ndvi,savi", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        ndvi = src.read(1)
    assert (tmp_path / "savi.tif").exists()
    valid = np.isfinite(ndvi)
    # Data README: NDVI on clear land 0.65-0.86 in this scene.
    assert 0.6 < np.percentile(ndvi[valid], 5) and np.percentile(ndvi[valid], 95) < 0.9


def _assert_one_line_error(result, *fragments):
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    message = errors[0]
    for fragment in fragments:
        assert fragment in message, message


def test_indices_of_an_unreachable_item_name_it_and_leave_no_folder(
    real_data, tmp_path, quick_http
):
    """An Earth Search item whose COGs cannot be reached (no network): one line naming the
    item file, the asset key in it (B04 red or B08 NIR, read first), the host and the fix;
    the --out folder the command made (with its missing parent) is removed, empty."""
    item = unreachable_item(
        real_data / "stac_items/odc-stac/S2A_28QCH_20200714_0_L2A.json", tmp_path
    )
    result = _run("indices", item, "--index", "ndvi", "--out", tmp_path / "made" / "ndvi")
    _assert_one_line_error(
        result,
        f"ReadError: {item}: asset 'B0",
        f"of S2A_28QCH_20200714_0_L2A) cannot be read from {NO_HOST} (",
        f"reading it needs network access to {NO_HOST}; or download the "
        "product and put the item JSON beside its files, which ilots then reads on disk",
    )
    assert re.search(r"asset 'B04' \(red of|asset 'B08' \(nir of", result.output)
    assert not (tmp_path / "made").exists()
    kept = tmp_path / "mine"  # a folder the user made is left in place
    kept.mkdir()
    assert _run("indices", item, "--out", kept).exit_code == 1
    assert kept.is_dir()


def test_error_l2sr_product(real_data, tmp_path):
    item = real_data / "stac_items/odc-stac/LC08_L2SR_081119_20200101_20200823_02_T2.json"
    result = _run("lst", item, "--out", tmp_path / "x.tif")
    _assert_one_line_error(result, "L2SR", "L2SP")
    assert not (tmp_path / "x.tif").exists()


def test_error_unrecognised_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a product")
    result = _run("lst", tmp_path, "--out", tmp_path / "x.tif")
    _assert_one_line_error(result, "not a product ilots recognises", "_MTL", "SAFE")


@pytest.mark.parametrize("command", ["lst", "indices"])
def test_error_a_stray_mtl_beside_the_product_folder(tmp_path, command):
    """A folder holding one product folder and a leftover MTL at its top: the MTL is read
    as the product; the error names it, says the bands are not beside it, and gives the
    product folder to use instead."""
    import datetime as dt

    from rasterio.transform import from_origin

    from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn, write_landsat_c2l2

    n = 8
    bands = {"lwir11": kelvin_to_st_dn(np.full((n, n), 300.0)),
             "qa_pixel": np.full((n, n), encode_qa_pixel(), dtype="uint16")}  # fmt: skip
    folder = write_landsat_c2l2(
        tmp_path / "downloads", bands=bands, crs=32631, platform="landsat-8", path=199,
        row=26, transform=from_origin(600000, 5400000, 30, 30), date=dt.date(2023, 7, 12),
    )  # fmt: skip
    (mtl,) = folder.glob("*_MTL.txt")
    stray = shutil.copy(mtl, tmp_path / "downloads")
    out = ["--out", tmp_path / ("x.tif" if command == "lst" else "idx")]
    result = _run(command, tmp_path / "downloads", *out)
    _assert_one_line_error(
        result,
        f"BandMissingError: {stray} was read as the product, but the product's band files "
        f"are not beside it; give the product folder itself: {folder}",
    )
    assert "warning" not in result.output  # the reader's "metadata only" gives way to it
    shutil.rmtree(folder)  # the MTL alone, with no product folder beside it
    result = _run(command, stray, *out)
    _assert_one_line_error(result, f"{stray} was read as the product", "give the product "
                           "folder itself, with its band files")  # fmt: skip


@pytest.mark.parametrize("command", ["lst", "indices"])
def test_a_metadata_only_mtl_suggests_no_folder_of_another_product(real_data, tmp_path, command):
    """The real Collection 2 MTL of path 201 / row 28 sits beside the folder of another scene
    (016037, Collection 1): that folder is not its product, so it is not suggested."""
    mtl = real_data / "landsat_l1/LC08_L1TP_201028_20171117_20200902_02_T1_MTL.xml"
    out = tmp_path / ("x.tif" if command == "lst" else "idx")
    result = _run(command, mtl, "--out", out)
    _assert_one_line_error(
        result,
        f"BandMissingError: {mtl} was read as the product, but the product's band files are "
        "not beside it; give the product folder itself, with its band files",
    )
    assert "016037" not in result.output
    assert not out.exists()


def test_indices_say_how_many_kept_pixels_have_a_negative_reflectance(real_data, tmp_path):
    # By hand from the DN: 8 pixels of T1 have red < 0 (SR_B4 DN below 7273) and none NIR < 0.
    rho = {b: _band(real_data / T1, b).astype(np.float64) for b in ("SR_B4", "SR_B5")}
    rho = {b: np.where(dn > 0, dn * 2.75e-5 - 0.2, np.nan) for b, dn in rho.items()}
    negative = (rho["SR_B4"] < 0) | (rho["SR_B5"] < 0)
    assert negative.sum() == 8 and (rho["SR_B5"] > 0)[negative].all()
    result = _run("indices", real_data / T1, "--mask", "none", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "warning: LC08_L2SP_008059_20191201_20200825_02_T1: on 8 pixels kept by the mask "
        "(none), NDVI reads a negative reflectance of red, nir08, taken as 0: there NDVI is "
        "-1, 1 or nodata whatever the surface (red < 0 gives NDVI 1, as dense vegetation); "
        "--mask default leaves most of them out"
    ) in said
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        ndvi = src.read(1)
        assert src.tags()["ilots_negative_reflectance_pixels"] == "8"
    assert (ndvi[negative] == 1.0).all()  # (nir - 0) / (nir + 0)
    result = _run("indices", real_data / T1, "--out", tmp_path / "masked")
    assert result.exit_code == 0 and "negative reflectance" not in result.output
    with rasterio.open(tmp_path / "masked" / "ndvi.tif") as src:
        assert src.tags()["ilots_negative_reflectance_pixels"] == "0"


def test_lst_collection1_says_the_preset_is_not_applied(real_data, tmp_path):
    """Collection 1's BQA has no preset: gee and strict are said not to apply (science.md
    gives no C1 BQA bits to build them from), and the LST is the default mask's."""
    outs = {}
    for preset in ("default", "strict", "gee"):
        out = tmp_path / f"{preset}.tif"
        result = _run("lst", real_data / C1, "--mask", preset, "--out", out)
        assert result.exit_code == 0, result.output
        said = [line for line in result.output.splitlines() if line.startswith("warning: ")]
        if preset == "default":
            assert not said
        else:
            assert said == [
                f"warning: {C1.split('/')[1]} is Collection 1: its BQA has fixed rules, so the "
                f"mask preset {preset!r} and the dilation are not applied"
            ]
        with rasterio.open(out) as src:
            outs[preset] = src.read(1)
    np.testing.assert_array_equal(outs["strict"], outs["default"])
    np.testing.assert_array_equal(outs["gee"], outs["default"])
    for command in ("lst", "indices"):  # and --help says so
        helped = " ".join(_run(command, "--help").output.split())
        assert (
            "A Collection 1 BQA has one fixed rule: gee and strict are not applied there"
            if command == "lst"
            else "(Collection 1: the BQA's fixed rule)"
        ) in helped


def test_error_missing_band(real_data, tmp_path):
    result = _run("indices", real_data / T1, "--index", "ndbi", "--out", tmp_path)
    _assert_one_line_error(result, "swir16", (real_data / T1).name)


def test_error_unknown_index(real_data, tmp_path):
    result = _run("indices", real_data / T1, "--index", "ndxx", "--out", tmp_path)
    _assert_one_line_error(result, "ndxx", "ndvi")


def test_error_corrupt_tiff_names_the_file(real_data, tmp_path):
    copy = tmp_path / (real_data / T1).name
    shutil.copytree(real_data / T1, copy)
    (st,) = copy.glob("*_ST_B10.TIF")
    st.write_bytes(st.read_bytes()[:4000])
    result = _run("lst", copy, "--out", tmp_path / "x.tif")
    _assert_one_line_error(result, "ST_B10.TIF")


def test_error_undecodable_tiff_names_the_file(demo_folder, tmp_path):
    """Garbage inside a band (a whole file, but its DEFLATE tiles do not decode): one line
    naming it, not a traceback, and no output."""
    product = sorted((demo_folder / "products").glob("LC0*"))[0]
    copy = tmp_path / product.name
    shutil.copytree(product, copy)
    (st,) = copy.glob("*_ST_B10.TIF")
    data = bytearray(st.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20000] = np.random.default_rng(0).bytes(20000)
    st.write_bytes(bytes(data))
    result = _run("lst", copy, "--out", tmp_path / "x.tif")
    _assert_one_line_error(result, "ReadError", "ST_B10.TIF", "corrupt", "download it again")
    assert not (tmp_path / "x.tif").exists()


def test_the_undecodable_file_is_found_in_gdal_errors():
    from pipelines.cli import _undecodable_file

    cause = OSError(r"C:\My Data\LC08_ST_B10.TIF, band 1: IReadBlock failed at X offset 0")
    err = OSError("Read failed. See previous exception for details.")
    err.__cause__ = cause
    assert _undecodable_file(err) == r"C:\My Data\LC08_ST_B10.TIF"  # spaces kept
    assert _undecodable_file(OSError("Read failed.")) == "a raster file"
    assert _undecodable_file(OSError("Permission denied")) is None


def _demo_with_damaged_b04(demo_folder, tmp_path):
    """The demo's inputs with one tile of the first Sentinel-2 product's B04.tif damaged
    (its header intact); the other files are links to the demo's. Returns the config, the
    damaged file and its product's folder."""
    folder = tmp_path / "demo"
    (folder / "products").mkdir(parents=True)
    shutil.copy(demo_folder / "config.yaml", folder)
    for name in ("zones", "census"):
        (folder / name).symlink_to(demo_folder / name)
    first_s2 = sorted((demo_folder / "products").glob("S2*"))[0]
    for product in (demo_folder / "products").iterdir():
        if product != first_s2:
            (folder / "products" / product.name).symlink_to(product)
    damaged = folder / "products" / first_s2.name
    shutil.copytree(first_s2, damaged)
    damage_tile(str(damaged / "B04.tif"), 2, 2)
    return folder / "config.yaml", damaged / "B04.tif", damaged


@pytest.mark.parametrize("on", ["threads", "a Dask cluster"])
def test_a_damaged_tile_of_a_sentinel2_band_is_one_line_naming_it(demo_folder, tmp_path, on):
    """The audit's case: one tile of B04.tif damaged inside an intact file. The run ended in
    a 97-line traceback ending "WarpOperationError: Chunk and warp failed" naming a bare
    B04.tif (every Earth Search product has one); on a cluster, one line without the file
    that said to run the same command again (which fails the same way)."""
    from distributed import LocalCluster

    config, b04, _product = _demo_with_damaged_b04(demo_folder, tmp_path)
    args = ["run", str(config), "--out", str(tmp_path / "out"), "--no-progress"]
    if on == "threads":
        result = CliRunner().invoke(main, args)
    else:
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster:  # fmt: skip
            result = CliRunner().invoke(main, [*args, "--scheduler", cluster.scheduler_address])
    _assert_one_line_error(
        result,
        f"Error: ReadError: {b04}: the file is corrupt, its pixels cannot be read (",
    )
    assert result.output.rstrip().endswith("); download it again"), result.output
    assert "run the same command" not in result.output and "Traceback" not in result.output


def test_on_damaged_skip_says_the_file_a_cluster_skipped(demo_folder, tmp_path):
    """inputs.on_damaged: skip on a Dask cluster: a worker's warning stays on the worker;
    the run gets its report back, prints it and lists it in manifest.json."""
    from distributed import LocalCluster

    config, b04, _product = _demo_with_damaged_b04(demo_folder, tmp_path)
    text = config.read_text().replace("  sentinel2: [products]", "  sentinel2: [products]\n"
                                      "  on_damaged: skip")  # fmt: skip
    config.write_text(text)
    out = tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:  # fmt: skip
        result = CliRunner().invoke(main, ["run", str(config), "--out", str(out), "--no-progress",
                                           "--scheduler", cluster.scheduler_address])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{b04}: the file is corrupt, band red of " in " ".join(result.output.split())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["warning_codes"].count("damaged_input") == 1


def test_a_rasterio_error_that_is_no_oserror_is_one_line(tmp_path):
    """rasterio's warp and window errors are no OSError: they went out as a traceback. A
    warp that could not read a block of its source says the file is corrupt (GDAL names
    it bare); another says rasterio's and GDAL's words; -vv keeps the traceback."""
    import logging

    import click
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject

    from pipelines.cli import _friendly_errors

    path = tmp_path / "b04.tif"
    profile = {"driver": "GTiff", "width": 64, "height": 64, "count": 1, "dtype": "uint16",
               "crs": "EPSG:32631", "transform": from_origin(600000, 5400000, 10, 10),
               "tiled": True, "blockxsize": 16, "blockysize": 16,
               "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((64, 64), 1000, np.uint16), 1)
    damage_tile(str(path))

    def warp():
        with rasterio.open(path) as src:
            reproject(rasterio.band(src, 1), np.zeros((32, 32), np.uint16),
                      dst_transform=from_origin(600000, 5400000, 20, 20), dst_crs="EPSG:32631",
                      resampling=Resampling.bilinear)  # fmt: skip

    def window():
        raise rasterio.errors.WindowError("the window is outside the raster")

    with pytest.raises(rasterio.errors.WarpOperationError):
        warp()
    with pytest.raises(click.ClickException) as caught:
        _friendly_errors(warp)()
    assert caught.value.message == (
        "ReadError: b04.tif: the file is corrupt (its pixels cannot be decoded); download it again"
    )
    with pytest.raises(click.ClickException) as caught:
        _friendly_errors(window)()
    assert caught.value.message == "WindowError: the window is outside the raster"
    ilots_log = logging.getLogger("ilots")
    previous = ilots_log.level
    ilots_log.setLevel(logging.DEBUG)  # -vv
    try:
        with pytest.raises(rasterio.errors.WindowError):
            _friendly_errors(window)()
    finally:
        ilots_log.setLevel(previous)


def test_an_unwritable_out_is_said_before_the_work(real_data, tmp_path):
    (tmp_path / "a_file").write_text("")
    for args in (["lst", real_data / T1], ["indices", real_data / T1, "--index", "ndvi"]):
        out = tmp_path / "a_file" / ("x.tif" if args[0] == "lst" else "folder")
        result = _run(*args, "--out", out)
        _assert_one_line_error(result, "OutputError", str(out.parent if args[0] == "lst" else out))
    assert (tmp_path / "a_file").read_text() == ""


def test_a_missing_output_folder_is_made_and_removed_again_if_the_command_fails(
    real_data, tmp_path
):
    """lst makes the missing folders of its --out, as indices, zonal, inequality and run do
    (it refused them, in other words than zonal); a command that fails leaves none behind."""
    out = tmp_path / "new" / "deeper" / "lst.tif"
    result = _run("lst", real_data / T1, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (" in result.output and out.is_file()
    out = tmp_path / "new2" / "indices"
    result = _run("indices", real_data / T1, "--index", "ndvi", "--out", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["ndvi.tif"]
    result = _run(
        "lst", real_data / T1, "--method", "single-band", "--out", tmp_path / "gone" / "x.tif"
    )
    _assert_one_line_error(result, "is a Level-2 product")
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize("given", ["folder", "MTL.txt"])
def test_lst_refuses_to_write_over_a_file_of_its_product(real_data, tmp_path, given):
    """--out is one of the band files the command reads (not the PRODUCT argument itself):
    refused in one line before any work, the product left whole (it was replaced, exit 0)."""
    copy = shutil.copytree(real_data / T1, tmp_path / (real_data / T1).name)
    product = copy if given == "folder" else next(copy.glob("*_MTL.txt"))
    for band in ("ST_B10", "QA_PIXEL"):
        (target,) = copy.glob(f"*_{band}.TIF")
        before = target.read_bytes()
        result = _run("lst", product, "--out", target)
        _assert_one_line_error(result, f"OutputError: --out {target} is the input file {target}")
        assert target.read_bytes() == before
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        p.name for p in (real_data / T1).iterdir()
    )


def test_indices_refuse_to_write_over_a_file_of_their_product(real_data, tmp_path):
    """A Sentinel-2 item whose red band file is named ndvi.tif, indices written into its
    folder: ndvi.tif would replace the red band the NDVI is read from; refused."""
    copy = shutil.copytree(real_data / S2, tmp_path / "s2")
    red = copy / "ndvi.tif"
    (copy / "B04.tif").rename(red)
    (item_path,) = copy.glob("*.json")
    item = json.loads(item_path.read_text())
    item["assets"]["red"]["href"] = "./ndvi.tif"
    item_path.write_text(json.dumps(item))
    before = red.read_bytes()
    result = _run("indices", copy, "--index", "ndvi", "--out", copy)
    _assert_one_line_error(result, f"OutputError: --out {red} is the input file {red}")
    assert red.read_bytes() == before


def _refused_as_existing(result, *paths):
    """Refused for ``paths``, which exist."""
    verb = "exists" if len(paths) == 1 else "exist"
    assert_out_refused(result, f"{', '.join(map(str, paths))} {verb}")


def _no_computation(monkeypatch):
    """Make the commands' pixel work (it computes, then writes each COG) fail if it starts."""
    import pipelines.product

    def computed(*args, **kwargs):
        raise AssertionError("the pixels were computed")

    monkeypatch.setattr(pipelines.product, "write_product_raster", computed)


def test_lst_refuses_an_existing_out_unless_told_to_overwrite(real_data, tmp_path, monkeypatch):
    """Last month's lst.tif is not replaced silently: refused before any pixel is read,
    left byte for byte; --overwrite replaces it with the new COG."""
    out = tmp_path / "lst.tif"
    out.write_bytes(b"last month")
    with monkeypatch.context() as patched:
        _no_computation(patched)
        _refused_as_existing(_run("lst", real_data / T1, "--out", out), out)
    assert out.read_bytes() == b"last month"
    result = _run("lst", real_data / T1, "--out", out, "--overwrite")
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src:
        assert src.tags()["source_product"] == (real_data / T1).name
        assert src.tags()["units"] == "K" and src.dtypes[0] == "float32"
    assert [p.name for p in tmp_path.iterdir()] == ["lst.tif"]  # no temporary file left


def test_lst_does_not_replace_a_cog_that_appeared_meanwhile(real_data, tmp_path, monkeypatch):
    """Two lst into one new --out at once: the one finishing second (here: another COG put
    there while this one encoded, after its check passed) is refused as the check refuses,
    the first one's COG left byte for byte, no temporary file left."""
    from tests.pipelines.outputs.helpers import cog_written_meanwhile

    out = tmp_path / "lst.tif"
    cog_written_meanwhile(monkeypatch, out)
    _refused_as_existing(_run("lst", real_data / T1, "--out", out), out)
    assert out.read_bytes() == b"the other command's"
    assert [p.name for p in tmp_path.iterdir()] == ["lst.tif"]


def test_indices_refuse_existing_cogs_unless_told_to_overwrite(real_data, tmp_path, monkeypatch):
    """Each <index>.tif that exists is named; the folder's other files are no output."""
    out = tmp_path / "indices"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "ndvi.tif").write_bytes(b"old ndvi")
    args = ("indices", real_data / T1, "--index", "ndvi,savi", "--out", out)
    with monkeypatch.context() as patched:
        _no_computation(patched)
        _refused_as_existing(_run(*args), out / "ndvi.tif")
        (out / "savi.tif").write_bytes(b"old savi")
        _refused_as_existing(_run(*args), out / "ndvi.tif", out / "savi.tif")
    assert (out / "ndvi.tif").read_bytes() == b"old ndvi"
    assert (out / "savi.tif").read_bytes() == b"old savi"
    result = _run(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    for name in ("ndvi", "savi"):
        with rasterio.open(out / f"{name}.tif") as src:
            assert src.tags()["source_product"] == (real_data / T1).name
            assert src.dtypes[0] == "float32"
    assert sorted(p.name for p in out.iterdir()) == ["ndvi.tif", "notes.txt", "savi.tif"]
    assert (out / "notes.txt").read_text() == "mine"


def test_indices_take_back_their_cogs_when_a_later_one_is_refused(real_data, tmp_path, monkeypatch):
    """ndvi,savi into a new --out; another command puts a savi.tif there while this one
    encodes it (after the up-front check passed, ndvi.tif already in place): refused as the
    check refuses, the other command's file left, and this command's ndvi.tif taken back,
    so that no index is left as if the command had finished. No "wrote" line, no temporary
    file."""
    import rasterio.shutil

    out = tmp_path / "indices"
    theirs = out / "savi.tif"
    copy, encoded = rasterio.shutil.copy, []

    def savi_meanwhile(*args, **kwargs):  # each COG's encoding: ndvi's, then savi's
        copy(*args, **kwargs)
        encoded.append(args)
        if len(encoded) == 2:
            theirs.write_bytes(b"the other command's")

    monkeypatch.setattr(rasterio.shutil, "copy", savi_meanwhile)
    result = _run("indices", real_data / T1, "--index", "ndvi,savi", "--out", out)
    _refused_as_existing(result, theirs)
    assert [p.name for p in out.iterdir()] == ["savi.tif"]
    assert theirs.read_bytes() == b"the other command's"
    assert len(encoded) == 2 and "wrote" not in result.output


@pytest.mark.parametrize(("overwrite", "last_month"), [(False, False), (True, True),
                                                       (True, False)])  # fmt: skip
def test_indices_failing_on_a_later_cog_leave_no_new_one(real_data, tmp_path, monkeypatch,
                                                         overwrite, last_month):  # fmt: skip
    """ndvi,savi; the disk fills while savi is encoded. Into a new --out (with --overwrite
    or not): ndvi.tif is taken back, so the same command run again is not refused by a file
    of its own (no "wrote" line, no folder left). With --overwrite over last month's two
    COGs: the new ndvi.tif, which replaced last month's, stays and is said; savi.tif is
    last month's."""
    import errno

    import rasterio.shutil

    out = tmp_path / "indices"
    if last_month:
        out.mkdir()
        for name in ("ndvi", "savi"):
            (out / f"{name}.tif").write_bytes(b"last month")
    copy, encoded = rasterio.shutil.copy, []

    def disk_full_on_savi(*args, **kwargs):  # each COG's encoding: ndvi's, then savi's
        encoded.append(args)
        if len(encoded) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        copy(*args, **kwargs)

    monkeypatch.setattr(rasterio.shutil, "copy", disk_full_on_savi)
    flags = ["--overwrite"] if overwrite else []
    result = _run("indices", real_data / T1, "--index", "ndvi,savi", "--out", out, *flags)
    assert result.exit_code == 1 and len(encoded) == 2
    if last_month:
        assert sorted(p.name for p in out.iterdir()) == ["ndvi.tif", "savi.tif"]
        assert (out / "savi.tif").read_bytes() == b"last month"
        assert (out / "ndvi.tif").read_bytes()[:2] in (b"II", b"MM")  # the new COG
        assert f"wrote {out / 'ndvi.tif'}" in result.output
    else:
        assert not out.exists() and "wrote" not in result.output


@pytest.mark.parametrize("command", ["lst", "indices"])
def test_overwrite_through_a_link_into_a_read_only_folder_stops_before_any_work(
    real_data, tmp_path, monkeypatch, command
):
    """--out's COG a link to last month's in a read-only store: --overwrite writes through
    it, so the temporary COG would be made in the store; said in one line before any pixel
    is read, the COG left."""
    from tests.pipelines.outputs.helpers import read_only

    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "ndvi.tif"
    real.write_bytes(b"last month")
    (tmp_path / "out").mkdir()
    link = tmp_path / "out" / "ndvi.tif"
    link.symlink_to(real)
    read_only(monkeypatch, real.parent)
    _no_computation(monkeypatch)
    out = ["--out", link] if command == "lst" else ["--index", "ndvi", "--out", link.parent]
    result = _run(command, real_data / T1, *out, "--overwrite")
    _assert_one_line_error(
        result, f"--out {link}: cannot write in {real.parent} (where the link {link} points)"
    )
    assert real.read_bytes() == b"last month" and link.is_symlink()


def test_options_the_command_cannot_honour(real_data, tmp_path):
    """A COG named .txt, and Liang's OLI albedo asked of a Sentinel-2 product: one line, no
    file (they were written, the albedo from the wrong coefficients)."""
    result = _run("lst", real_data / T1, "--out", tmp_path / "lst.txt")
    assert result.exit_code == 2 and "must end in .tif" in result.output
    result = _run("indices", real_data / S2, "--index", "albedo_liang", "--out", tmp_path / "ix")
    _assert_one_line_error(result, "albedo_liang is Liang's formula", "use albedo_s2")
    assert list(tmp_path.iterdir()) == []


def test_error_l2sp_without_its_st_b10_file(real_data, tmp_path):
    copy = tmp_path / (real_data / T1).name
    shutil.copytree(real_data / T1, copy)
    (st,) = copy.glob("*_ST_B10.TIF")
    st.unlink()
    result = _run("lst", copy, "--out", tmp_path / "x.tif")
    _assert_one_line_error(result, f"{st.name}) is missing", "download the product again")


def test_python_dash_m_and_help():
    done = subprocess.run([sys.executable, "-m", "pipelines", "--help"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    for command in ("lst", "indices", "demo"):
        assert command in done.stdout


STUCK_RUN = """
import sys, threading, time
import pipelines.run

def stuck(config, **kwargs):
    if sys.argv[1] == "hang":  # a thread that never ends, as Dask's pool caught mid-callback
        threading.Thread(target=time.sleep, args=(600,)).start()
        config.outputs.folder.mkdir()  # the run made its folder
    print("running", flush=True)
    time.sleep(600)

pipelines.run.run = pipelines.run.plan = stuck
import pipelines.cli
pipelines.cli.EXIT_GRACE_S = 1
from pipelines.cli import main
main(["run", sys.argv[2], *(["--dry-run"] if sys.argv[1] == "dry" else [])])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is not deliverable on Windows")
@pytest.mark.parametrize("hang", ["exit", "hang", "dry"])
def test_sigterm_stops_a_run_with_one_line_and_the_process_ends(tmp_path, hang):
    import signal

    config = tmp_path / "config.yaml"
    config.write_text(
        "aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n"
        f"inputs: {{landsat: [{tmp_path}]}}\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", STUCK_RUN, hang, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "running"
        child.send_signal(signal.SIGTERM)  # as kill, SLURM, systemd and docker stop send
        _, err = child.communicate(timeout=30)  # a thread left hanging: ended after 1 s
    finally:
        child.kill()
    assert child.returncode == 130
    lines = [line for line in err.splitlines() if line.strip()]
    if hang == "hang":  # stopped once the run made its folder
        assert lines == [
            "interrupted: the run folder has no manifest.json, so it is not taken for a "
            "finished run; a tiled run keeps its finished tiles in .checkpoints/ and the same "
            "command resumes from them"
        ]
    elif hang == "dry":  # a dry run writes nothing: no word of a run folder
        assert lines == ["interrupted: the dry run was stopped; it writes nothing"]
    else:  # it said so of a folder never made
        assert lines == [
            "interrupted: the run was stopped before it made its folder; nothing was written"
        ]
        assert not (tmp_path / "run").exists()


CLUSTER_RUN = """
import logging, sys, time
import dask
import pipelines.run

def task():
    print("computing", flush=True)  # from the worker's process, on the same stdout
    if sys.argv[1] == "fail":  # a failed read, as odc-stac and rasterio log it
        logging.getLogger("odc.loader._rio").error(
            "Failed to load <VRTDataset>:1 due to rasterio error: 'broken'")
        logging.getLogger("rasterio._env").info("GDAL signalled an error: err_no=1")
        raise ValueError("a task failed on its worker")
    time.sleep(600)

def computing(config, **kwargs):
    dask.delayed(task)().compute()

pipelines.run.run = computing
from pipelines.cli import main
main([*sys.argv[4:], "run", sys.argv[2], "--workers", sys.argv[3], "--no-progress"])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no process groups on Windows")
@pytest.mark.parametrize("case", ["ctrl-c", "fail", "fail -v"])
def test_a_local_cluster_says_an_interrupt_or_a_failure_in_one_line(tmp_path, case):
    """Ctrl-C signals the terminal's whole process group: the --workers cluster's worker
    processes printed their KeyboardInterrupt tracebacks and shutdown warnings; a task that
    failed was a "Compute Failed" block with its traceback, before ilots' one line, and the
    worker's odc-stac records of a failed read ("Failed to load ..."), which the worker
    processes printed without ilots' logging rules. With -v they show, as ilots logs."""
    import os
    import signal

    config = tmp_path / "config.yaml"
    config.write_text(
        "aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n"
        f"inputs: {{landsat: [{tmp_path}]}}\n"
    )
    mode, workers = ("wait", "2") if case == "ctrl-c" else ("fail", "1")
    child = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_RUN, mode, str(config), workers, *case.split()[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's command
    )
    try:
        assert child.stdout.readline().strip() == "computing"  # the task runs on a worker
        if case == "ctrl-c":
            os.killpg(child.pid, signal.SIGINT)  # as Ctrl-C in the terminal
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
    lines = [line for line in err.splitlines() if line.strip()]
    if case == "ctrl-c":
        assert child.returncode == 130, err
        assert lines == [
            "interrupted: the run was stopped before it made its folder; nothing was written"
        ], err
    elif case == "fail":
        assert child.returncode == 1, err
        assert lines == ["Error: ValueError: a task failed on its worker"], err
    else:  # the worker's records, as ilots' -v shows its own
        assert child.returncode == 1, err
        assert lines[-1] == "Error: ValueError: a task failed on its worker", err
        failed = "Failed to load <VRTDataset>:1 due to rasterio error: 'broken'"
        assert f"ERROR odc.loader._rio: {failed}" in lines, err
        assert "INFO rasterio._env: GDAL signalled an error: err_no=1" in lines, err


def test_other_library_versions_on_the_cluster_are_said_once_before_the_run(tmp_path, monkeypatch):
    """They were said as the run ended only; now as the cluster is checked, and not again
    from the manifest's warnings (where the run records them)."""
    from importlib.metadata import version
    from types import SimpleNamespace

    from distributed import Client, LocalCluster

    import pipelines.run
    from pipelines.scheduler import version_mismatches

    real = Client.get_versions

    def older_scheduler(self, *args, **kwargs):
        found = real(self, *args, **kwargs)
        found["scheduler"]["packages"] = {**found["scheduler"]["packages"], "dask": "2024.1.0"}
        return found

    def recorded_run(config, **kwargs):  # records the versions as the run does, then ends
        print("the run")
        return SimpleNamespace(summary=lambda **_: "done", warnings=version_mismatches())

    monkeypatch.setattr(Client, "get_versions", older_scheduler)
    monkeypatch.setattr(pipelines.run, "run", recorded_run)
    config = tmp_path / "config.yaml"
    config.write_text(
        "aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n"
        f"inputs: {{landsat: [{tmp_path}]}}\n"
    )
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:  # fmt: skip
        args = ["run", str(config), "--no-progress", "--scheduler", cluster.scheduler_address]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    warning = (
        f"warning: the Dask cluster runs other library versions than this machine: dask "
        f"{version('dask')} here, 2024.1.0 on the scheduler; install the same versions "
        "everywhere (results and failures may differ)"
    )
    assert result.output.splitlines() == [warning, "the run", "done"]


def test_a_log_file_follows_the_stages_and_minus_vv_is_not_flooded(caplog):
    # A log written to a file gets no progress bar: -v logs each stage and tile instead;
    # -vv shows ilots' debug lines, not rasterio's for every file it opens.
    import logging

    from pipelines.cli import _setup_logging
    from pipelines.progress import progress_detail, progress_stage

    root = logging.getLogger()
    before = root.level, logging.getLogger("rasterio").level
    try:
        _setup_logging(2)
        assert logging.getLogger("rasterio").getEffectiveLevel() == logging.INFO
    finally:
        root.setLevel(before[0])
        logging.getLogger("rasterio").setLevel(before[1])
    with caplog.at_level(logging.INFO, logger="pipelines.progress"):
        with progress_stage("rasters and zonal statistics"):
            progress_detail("tile 2/16")
    said = [record.getMessage() for record in caplog.records]
    assert said[0] == "rasters and zonal statistics ..."
    assert said[1] == "rasters and zonal statistics: tile 2/16"
    assert said[2].startswith("rasters and zonal statistics: done in ")


# --------------------------------------------------------------------------------------------
# ilots lst --sharpen-with (synthetic product, NDVI GeoTIFF on a nesting 10 m grid)
# --------------------------------------------------------------------------------------------


def _sharpen_inputs(tmp_path, ndvi_res=10.0):
    """A Level-2 product whose LST is 300 − 10·(block-mean NDVI), and the fine NDVI file.

    The NDVI grid's corner is the product's corner, so its 3 × 3 blocks are the product's
    30 m pixels and the LST is not resampled before sharpening.
    """
    import datetime as dt

    import xarray as xr
    from rasterio.transform import from_origin

    from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn, write_landsat_c2l2

    n, k, x0, y0 = 24, 3, 600000.0, 5400000.0
    rng = np.random.default_rng(11)
    ndvi = rng.uniform(0.1, 0.8, (n * k, n * k)).astype("float32")
    ndvi[30:33, 30:33][0, 1] = np.nan  # one fine pixel of coarse cell (10, 10)
    filled = np.where(np.isnan(ndvi), 0.45, ndvi).astype(np.float64)
    ndvi_c = filled.reshape(n, k, n, k).mean(axis=(1, 3))
    bands = {
        "lwir11": kelvin_to_st_dn(300.0 - 10.0 * ndvi_c),
        "qa_pixel": np.full((n, n), encode_qa_pixel(), dtype="uint16"),
    }
    product = write_landsat_c2l2(
        tmp_path, bands=bands, crs=32631, transform=from_origin(x0, y0, 30, 30),
        platform="landsat-8", path=199, row=26, date=dt.date(2023, 7, 12),
    )  # fmt: skip
    m = round(n * 30 / ndvi_res)
    values = ndvi if ndvi_res == 10.0 else np.full((m, m), 0.5, "float32")
    da_ = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={
            "y": y0 - ndvi_res * (np.arange(m) + 0.5),
            "x": x0 + ndvi_res * (np.arange(m) + 0.5),
        },
    ).rio.write_crs("EPSG:32631")
    path = tmp_path / "ndvi.tif"
    da_.rio.write_nodata(np.nan).rio.to_raster(path)
    return product, path, ndvi


def test_lst_sharpen_with_ndvi(tmp_path):
    product, ndvi_path, ndvi = _sharpen_inputs(tmp_path)
    out = tmp_path / "lst10.tif"
    result = _run("lst", product, "--out", out, "--sharpen-with", ndvi_path)
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src, rasterio.open(ndvi_path) as ref:
        lst = src.read(1)
        tags = src.tags()
        assert (src.crs, src.transform, src.shape) == (ref.crs, ref.transform, ref.shape)
    assert tags["units"] == "K" and "sharpened 3x" in tags["long_name"]
    assert int(tags["sharpen_n_cells"]) >= 10
    assert float(tags["sharpen_b"]) == pytest.approx(-10.0, abs=0.05)
    np.testing.assert_array_equal(np.isnan(lst), np.isnan(ndvi))
    # Analytically: LST_c = 300 − 10·NDVI_c (to the 0.0034 K ST step), so the sharpened LST
    # is 300 − 10·NDVI_f plus the radiance correction's offset, (3/2)·var(T̂)/T ≈ 0.02 K
    # (var ≤ 10² · 0.7²/12 ≈ 4 K²). Cell (10, 10), with a NaN pixel, is left out.
    keep = np.ones_like(lst, dtype=bool)
    keep[30:33, 30:33] = False
    np.testing.assert_allclose(lst[keep], 300.0 - 10.0 * ndvi[keep], atol=0.05)
    assert "- 10.00·NDVI over " in result.output and "cells, r² 1.00" in result.output


def test_lst_sharpen_with_an_ndvi_that_does_not_nest(tmp_path):
    product, ndvi_path, _ = _sharpen_inputs(tmp_path, ndvi_res=20.0)
    result = CliRunner().invoke(
        main, ["lst", str(product), "--out", str(tmp_path / "x.tif"), "--sharpen-with",
               str(ndvi_path)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "GridError" in result.output and "do not divide" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_sharpen_blocks_off_landsat_edges_are_radiance_means_and_skip_clouds(tmp_path):
    """A 10 m NDVI grid whose edges are 10 m off Landsat's (Sentinel-2's never meet them):
    each 30 m block of it straddles 2 x 2 Landsat pixels with weights 2/3 and 1/3 per axis.
    Its LST is (area-weighted mean of T⁴)^(1/4) of those pixels, computed here by hand from
    the ST_B10 DN, not their mean temperature; a block touching the cloudy pixel gets none,
    nor do its sharpened 10 m pixels (a plain average warp gave it its clear part's value)."""
    import datetime as dt

    import xarray as xr
    from rasterio.transform import from_origin

    from pipelines.product import product_lst, sharpen_product_lst
    from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn, write_landsat_c2l2

    n, x0, y0 = 12, 600000.0, 5400000.0
    hot = (np.add.outer(np.arange(n), np.arange(n)) % 2).astype(bool)
    dn = kelvin_to_st_dn(np.where(hot, 320.0, 290.0))
    qa = np.full((n, n), encode_qa_pixel(), dtype="uint16")
    qa[6, 6] = encode_qa_pixel(cloud=True)
    product = write_landsat_c2l2(
        tmp_path, bands={"lwir11": dn, "qa_pixel": qa}, crs=32631,
        transform=from_origin(x0, y0, 30, 30), platform="landsat-8", path=199, row=26,
        date=dt.date(2023, 7, 12),
    )  # fmt: skip
    m = 3 * (n - 1)  # 10 m pixels from x0 + 10 to the last whole block inside the product
    rng = np.random.default_rng(5)
    ndvi = xr.DataArray(
        rng.uniform(0.1, 0.8, (m, m)).astype("float32"), dims=("y", "x"),
        coords={"y": y0 - 10 - 10 * (np.arange(m) + 0.5), "x": x0 + 10 + 10 * (np.arange(m) + 0.5)},
    ).rio.write_crs("EPSG:32631")  # fmt: skip
    ndvi.rio.write_nodata(np.nan).rio.to_raster(tmp_path / "ndvi.tif")

    lst = product_lst(product)
    coarse = sharpen_product_lst(lst, tmp_path / "ndvi.tif").compute()
    fine = coarse.lst.values
    kelvin = dn * 0.00341802 + 149.0
    w = np.array([2 / 3, 1 / 3])
    blocks = m // 3
    expected = np.full((blocks, blocks), np.nan)
    for i in range(blocks):
        for j in range(blocks):
            under = (slice(i, i + 2), slice(j, j + 2))
            if (qa[under] != encode_qa_pixel()).any():
                continue
            expected[i, j] = (np.outer(w, w) * kelvin[under] ** 4).sum() ** 0.25
    # Blocks touching the cloudy pixel (6, 6): those at (5..6, 5..6); their 10 m pixels: NaN.
    assert np.isnan(expected).sum() == 4
    by_block = fine.reshape(blocks, 3, blocks, 3).transpose(0, 2, 1, 3)  # (block, block, 3, 3)
    assert np.isnan(by_block[np.isnan(expected)]).all()
    assert np.isfinite(by_block[~np.isnan(expected)]).all()
    # The residual correction keeps each block's radiance: (mean of T⁴)^(1/4) of its 10 m
    # pixels is the block's, to second order (mK); a linear mean would be ~1 K lower.
    got = (np.mean(by_block.astype("float64") ** 4, axis=(2, 3))) ** 0.25
    np.testing.assert_allclose(got, expected, atol=0.01, equal_nan=True)
    linear = np.array([[(np.outer(w, w) * kelvin[i : i + 2, j : j + 2]).sum()
                        for j in range(blocks)] for i in range(blocks)])  # fmt: skip
    assert np.nanmin(np.abs(expected - linear)) > 0.5


def test_a_refused_read_names_the_searches_that_do_not_sign(tmp_path):
    """The HTTP 403/409 line asks for stac_api.sign on the config's searches that do not
    sign, by key; a config without one (item files, catalogues, signed searches) is told
    that Planetary Computer's files are signed already."""
    from pipelines.cli import _http_message, _unsigned_searches

    api = "{stac_api: {url: 'https://x.org/stac', collections: [c]%s}}"
    config = tmp_path / "config.yaml"
    config.write_text(
        "aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n"
        f"inputs:\n  landsat: [items, {api % ''}, {api % ', sign: planetary_computer'}]\n"
        f"  sentinel2: [{api % ''}]\n"
    )
    unsigned = _unsigned_searches(config)
    assert unsigned == ["inputs.landsat[1]", "inputs.sentinel2[0]"]
    assert _http_message(409, unsigned) == (
        "a remote input file could not be read (HTTP 409): access refused: the STAC APIs of "
        "inputs.landsat[1], inputs.sentinel2[0] may need their URLs signed "
        "(inputs.landsat[1].stac_api.sign: planetary_computer, with pip install "
        "planetary-computer), or their signing service refused; run the same command again "
        "(a tiled run resumes from its finished tiles)"
    )
    assert _unsigned_searches(None) == []  # ilots lst / indices: an item file
    assert _unsigned_searches(tmp_path / "missing.yaml") == []
    assert "Planetary Computer's files are signed at each read" in _http_message(403, [])
    assert "stac_api.sign" not in _http_message(403, [])


@pytest.mark.parametrize("command", ["lst", "indices"])
def test_error_a_collection1_level2_espa_folder(real_data, tmp_path, command):
    """An ESPA order: the real C1 Level-1 MTL beside ``_sr_band4.tif``, ``_pixel_qa.tif``
    ... (here the Level-1 files under those names), the Level-1 bands absent. The error says
    what it is and what to download, not that the band files are not beside the MTL."""
    name = C1.rsplit("/", 1)[-1]
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(real_data / C1 / f"{name}_MTL.txt", folder)
    for level1, espa in (("B4", "sr_band4"), ("B5", "sr_band5"), ("BQA", "pixel_qa")):
        (folder / f"{name}_{espa}.tif").symlink_to(real_data / C1 / f"{name}_{level1}.TIF")
    out = ["--out", tmp_path / ("x.tif" if command == "lst" else "idx")]
    result = _run(command, folder, *out)
    _assert_one_line_error(
        result,
        f"UnsupportedProductError: {folder}: {name}_sr_band4.tif and the files beside it are "
        "Collection 1 Level-2 as ESPA delivered it; Collection 1 Level-2 (ESPA) is not "
        "supported: download Collection 2 Level-2 from EarthExplorer",
    )


def _cluster_errors():
    """Failures of a run on a Dask cluster, as distributed raises them in the client."""
    from types import SimpleNamespace

    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    qa = "/data/products/LC08_X/LC08_X_QA_PIXEL.TIF"
    checkpoint = "/runs/r/.checkpoints/inputs.tile_001_000.classes.npy"
    b04 = "/data/products/S2A_31TCJ_20230629_0_L2A/B04.tif"
    lost = "Client lost the connection to the scheduler. Please check your connection."
    return [
        (  # a worker that cannot see an input: rasterio's error, which distributed wraps
            Exception(f"RasterioIOError('{qa}: No such file or directory')"),
            f"a Dask worker cannot open {qa} (no such file): on a cluster every worker must "
            "see the inputs and the run folder at the same paths; run the same command again "
            "to resume from the finished tiles",
        ),
        (
            KilledWorker(
                ("composite_block-ec15", 0, 0), SimpleNamespace(address="tcp://10.0.0.7:41179"), 0
            ),
            "the Dask worker tcp://10.0.0.7:41179 died while running the run's tasks (out of "
            "memory, or killed: its log says which); run the same command again to resume "
            "from the finished tiles",
        ),
        (
            FutureCancelledError("finalize-a261", "scheduler-connection-lost", lost),
            "lost the connection to the Dask scheduler (it stopped, or the network failed): "
            "check that the scheduler and its workers run; run the same command again to "
            "resume from the finished tiles",
        ),
        (  # a worker wrote it where this machine does not see it
            FileNotFoundError(2, "No such file or directory", checkpoint),
            f"the tile checkpoint {checkpoint} is missing: on a cluster every worker must see "
            "the inputs and the run folder at the same paths (a worker wrote it, or read it, "
            "where this machine does not); run the same command again to resume from the "
            "finished tiles",
        ),
        (  # a corrupt input, said by a ReadError this machine could not rebuild
            Exception(f"ReadError('{b04}: the file is corrupt; download it again')"),
            f"ReadError on a Dask worker: {b04}: the file is corrupt; download it again",
        ),
        (  # a corrupt input, said by GDAL alone: running again fails the same way
            Exception("RasterioIOError('Read failed. See previous exception for details.')"),
            "RasterioIOError on a Dask worker: Read failed. See previous exception for "
            "details.: an input file is corrupt (its pixels cannot be decoded; the worker's "
            "log names it); download it again",
        ),
    ]


@pytest.mark.parametrize("case", range(6))
def test_failures_on_a_cluster_are_one_line(case, monkeypatch):
    # They were 40 to 150 lines of traceback.
    import click

    from pipelines import run_tiles
    from pipelines.cli import _friendly_errors

    monkeypatch.setattr(run_tiles, "opened_on_cluster", lambda: True)
    error, said = _cluster_errors()[case]

    def failing():
        raise error

    with pytest.raises(click.ClickException) as caught:
        _friendly_errors(failing)()
    assert caught.value.message == said


def test_a_missing_checkpoint_of_a_local_run_names_no_cluster(monkeypatch):
    """A local run's missing checkpoint is no worker's view of the files: no cluster said."""
    import click

    from pipelines import run_tiles
    from pipelines.cli import _friendly_errors

    monkeypatch.setattr(run_tiles, "opened_on_cluster", lambda: False)
    checkpoint = "/runs/k/.checkpoints/inputs.tile_000_002.classes.npy"

    def failing():
        raise FileNotFoundError(2, "No such file or directory", checkpoint)

    with pytest.raises(click.ClickException) as caught:
        _friendly_errors(failing)()
    assert caught.value.message == (
        f"the tile checkpoint {checkpoint} is missing (removed while the run ran); run the "
        "same command again to resume from the finished tiles"
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("tcp://127.0.0.1", "has no port (a scheduler listens on 8786 by default); use e.g. "
                            "tcp://127.0.0.1:8786"),
        ("http://127.0.0.1:8799", "use e.g. tcp://127.0.0.1:8799"),
        ("127.0.0.1:8799", "needs its protocol; use e.g. tcp://127.0.0.1:8799"),
        ("gpu", "use threads, processes, synchronous or tcp://HOST:PORT"),
    ],
)  # fmt: skip
def test_a_malformed_scheduler_address_is_refused_before_any_contact(tmp_path, given, said):
    # tcp://127.0.0.1 said "not a Dask scheduler (ValueError)"; http:// was taken.
    result = CliRunner().invoke(main, ["run", str(tmp_path / "c.yaml"), "--scheduler", given])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "--scheduler" in flat and said in flat


def test_the_dry_run_help_says_it_reads_no_pixel_data():
    # A damaged tile inside a file passes the dry run (headers and metadata) and stops the
    # run: the help says so.
    result = CliRunner().invoke(main, ["run", "--help"])
    flat = " ".join(result.output.split())
    assert "the products' headers and metadata only" in flat
    assert "damage inside a file's pixel data shows in the run, not here" in flat


def test_strict_ends_a_run_that_warned_with_status_3(demo_folder, tmp_path):
    # The demo warns (its invalid QPV geometry repaired, secret Filosofi values): the run
    # writes its folder, says the warnings, then ends with status 3; so does its dry run.
    from pipelines.cli import _strict_exit

    config = str(demo_folder / "config.yaml")
    out = tmp_path / "run"
    args = ["run", config, "--out", str(out), "--no-progress", "--strict"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert (out / "manifest.json").is_file()  # the outputs are written all the same
    warned = json.loads((out / "manifest.json").read_text())["warnings"]
    assert result.output.rstrip().endswith(
        f"--strict: the run finished with {len(warned)} warning(s) (above); exit status 3"
    )
    dry = CliRunner().invoke(main, ["run", config, "--dry-run", "--strict"])
    assert dry.exit_code == 3 and "--strict: the dry run finished with" in dry.output
    assert CliRunner().invoke(main, ["run", config, "--dry-run"]).exit_code == 0
    _strict_exit(True, 0, "the run")  # no warning: no exit
    _strict_exit(False, 5, "the run")  # not strict: no exit


# --------------------------------------------------------------------------------------------
# The run folder's log (ilots.log)
# --------------------------------------------------------------------------------------------

#: A record of ilots.log: its ISO 8601 UTC time, then what it says.
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (.*)$")


def _log_records(folder):
    """The records of ``folder/ilots.log``: (kind, text) per line, continuation lines apart."""
    lines = (folder / "ilots.log").read_text(encoding="utf-8").splitlines()
    return [m.groups() if (m := _LOG_RECORD.match(line)) else ("", line) for line in lines]


def test_the_demo_run_folder_keeps_the_log_of_the_command(demo_cli):
    # Its header, ilots' INFO stage lines (not on the terminal without -v), each warning with
    # its kind, and the end naming the manifest; the log is no output of the run.
    folder = demo_cli.root / "outputs"
    records = _log_records(folder)
    kind, header = records[0]
    assert kind == "START" and re.match(r"ilots \S+: .* \(cwd /.*\)$", header), header
    assert ("INFO", "pipelines.progress: reading the inputs ...") in records
    assert not any("reading the inputs ..." in line for line in demo_cli.output.splitlines())
    warned = [text for kind, text in records if kind == "WARNING"]
    assert any(text.startswith("IlotsWarning[secret_values]: Filosofi table ") for text in warned)
    kind, end = records[-1]
    assert kind == "END" and re.fullmatch(rf"finished in [\d.]+ s: {folder}/manifest.json", end)
    assert all(kind for kind, _ in records)  # one record per line: no traceback here
    manifest = json.loads((folder / "manifest.json").read_text())
    assert not any("ilots.log" in record["path"] for record in manifest["outputs"])


def test_the_demo_log_has_every_warning_of_its_manifest_once_with_its_kind(demo_cli):
    # The run's notes (qpv_without_iris) and the scenarios' warnings too, which the demo
    # says in its tagged lines rather than on stderr.
    folder = demo_cli.root / "outputs"
    manifest = json.loads((folder / "manifest.json").read_text())
    expected = [
        f"IlotsWarning[{code}]: {text}" if code else f"IlotsWarning: {text}"
        for text, code in zip(manifest["warnings"], manifest["warning_codes"], strict=True)
    ] + [f"IlotsWarning: {text}" for text in manifest["scenarios"]["warnings"]]
    assert any("[qpv_without_iris]" in line for line in expected)  # the demo has them
    assert manifest["scenarios"]["warnings"]
    logged = [text for kind, text in _log_records(folder) if kind == "WARNING"]
    assert sorted(logged) == sorted(expected)
    for text in [*manifest["warnings"], *manifest["scenarios"]["warnings"]]:
        assert f"[synthetic] warning: {text}" in demo_cli.output.splitlines()


def test_a_rerun_appends_to_the_log_and_keeps_it(demo_cli, tmp_path, monkeypatch):
    # The demo's config has outputs.overwrite: a run into a copy of its run folder replaces
    # the outputs, not the log, which it extends; the manifest does not list it.
    folder = shutil.copytree(demo_cli.root / "outputs", tmp_path / "run")
    before = (folder / "ilots.log").read_text(encoding="utf-8")
    config = demo_cli.root / "config.yaml"
    argv = ["ilots", "run", str(config), "--out", str(folder), "--no-progress"]
    monkeypatch.setattr(sys, "argv", argv)
    result = CliRunner().invoke(main, argv[1:])
    assert result.exit_code == 0, result.output
    after = (folder / "ilots.log").read_text(encoding="utf-8")
    assert after.startswith(before)
    records = _log_records(folder)[before.count("\n") :]
    assert records[0][0] == "START" and records[0][1].endswith(
        f": ilots run {config} --out {folder} --no-progress (cwd {Path.cwd()})"
    )
    assert ("INFO", "pipelines.progress: zonal ...") in records
    assert any(text.startswith("IlotsWarning[zone_geometry_repaired]: ") for _, text in records)
    assert records[-1][0] == "END" and records[-1][1].endswith(f"{folder}/manifest.json")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert not any("ilots.log" in record["path"] for record in manifest["outputs"])


def test_a_failed_run_says_one_line_and_logs_its_traceback(demo_folder, tmp_path, monkeypatch):
    # A config refused before the run made its folder writes no log (nor a folder); a run
    # failing once it has written there says one line on the terminal and logs it with its
    # traceback.
    import pipelines.run
    from tiles.errors import ReadError

    out = tmp_path / "run"
    bad = tmp_path / "bad.yaml"
    bad.write_text("aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n")
    refused = CliRunner().invoke(main, ["run", str(bad), "--out", str(out)])
    assert refused.exit_code == 1 and "Error: " in refused.stderr
    assert not out.exists()

    def damaged(*args, **kwargs):
        raise ReadError("b10.tif: the file is damaged; download it again")

    monkeypatch.setattr(pipelines.run, "heat_island_summary", damaged)
    config = demo_folder / "config.yaml"
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(out), "--no-progress"])
    assert result.exit_code == 1
    said = "ReadError: b10.tif: the file is damaged; download it again"
    assert result.stderr.splitlines() == [f"Error: {said}"]
    records = _log_records(out)
    assert [kind for kind, _ in records].count("START") == 1  # not the refused command's
    at = records.index(("ERROR", said))
    trace = [text for _, text in records[at + 1 : -1]]
    assert (
        trace[0] == "  Traceback (most recent call last):" and trace[-1] == f"  tiles.errors.{said}"
    )
    assert any("in damaged" in line for line in trace)
    assert records[-1][0] == "END" and records[-1][1].startswith("failed after ")


def test_a_run_failing_early_in_a_folder_it_found_logs_there(demo_folder, tmp_path, monkeypatch):
    # A re-run (the folder was there) failing before it writes anything: the folder stays
    # whatever happens, so the log of the failure is kept there; a new folder is removed.
    import pipelines.run
    from tiles.errors import ReadError

    def damaged(*args, **kwargs):
        raise ReadError("b10.tif: the file is damaged; download it again")

    monkeypatch.setattr(pipelines.run, "scene_graph", damaged)
    config = demo_folder / "config.yaml"
    new, found = tmp_path / "new", tmp_path / "found"
    found.mkdir()
    for out in (new, found):
        result = CliRunner().invoke(main, ["run", str(config), "--out", str(out), "--no-progress"])
        assert result.exit_code == 1 and "damaged" in result.stderr
    assert not new.exists()
    records = _log_records(found)
    assert records[0][0] == "START" and records[-1][0] == "END"
    assert ("ERROR", "ReadError: b10.tif: the file is damaged; download it again") in records
    assert [path.name for path in found.iterdir() if not path.name.startswith(".")] == [
        "ilots.log"
    ]  # and the lock file


RUN_STOPPED = """
import logging, sys, time
import pipelines.run
from pipelines.outputs.folder import claimed

def stopped(config, **kwargs):
    config.outputs.folder.mkdir()
    claimed(config.outputs.folder)  # the run made the folder its own
    logging.getLogger("pipelines.run").info("reading the inputs ...")
    print("running", flush=True)
    time.sleep(600)

pipelines.run.run = stopped
from pipelines.cli import main
main(["run", sys.argv[1]])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is not deliverable on Windows")
def test_a_run_stopped_by_sigterm_logs_that_it_was_interrupted(tmp_path):
    import signal

    config = tmp_path / "config.yaml"
    config.write_text(
        "aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}\nperiods: {years: [2023]}\n"
        f"inputs: {{landsat: [{tmp_path}]}}\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_STOPPED, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "running"
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "INFO" not in err  # the terminal's level: INFO is for the log
    records = _log_records(tmp_path / "run")
    assert records[0][0] == "START" and records[-1][0] == "END"
    assert ("INFO", "pipelines.run: reading the inputs ...") in records
    assert records[-1][1].startswith("interrupted after ")


def test_the_scenarios_say_the_warnings_of_the_run_they_make_first(demo_cli, monkeypatch):
    """ilots scenarios into a folder without a run runs the pipeline first: the run's
    warnings (its manifest's) were once lost from the terminal; now said before the
    scenarios' own."""
    from types import SimpleNamespace

    import pipelines.scenarios

    made = SimpleNamespace(  # what run_scenarios returns after running the pipeline first
        run_warnings=["QPV layer: 1 invalid zone geometries were repaired"],
        notes=["scenarios[0] 's': a scenario's note"],
        summary=lambda with_warnings=True: ["scenarios written"],
    )
    monkeypatch.setattr(pipelines.scenarios, "run_scenarios", lambda config, **kw: made)
    config = demo_cli.root / "config.yaml"
    result = CliRunner().invoke(main, ["scenarios", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: QPV layer: 1 invalid zone geometries were repaired",
        "warning: scenarios[0] 's': a scenario's note",
    ]


def test_the_scenarios_append_to_the_log_of_the_run_they_reuse(demo_cli, tmp_path):
    # Their scenarios/, report and manifest replace the run folder's: its log is kept.
    folder = shutil.copytree(demo_cli.root / "outputs", tmp_path / "run")
    before = (folder / "ilots.log").read_text(encoding="utf-8")
    config = demo_cli.root / "config.yaml"
    result = CliRunner().invoke(main, ["scenarios", str(config), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"reusing the finished run in {folder}" in result.output
    assert (folder / "ilots.log").read_text(encoding="utf-8").startswith(before)
    records = _log_records(folder)[before.count("\n") :]
    assert records[0][0] == "START" and records[-1][0] == "END"
    assert records[-1][1].endswith(f"{folder}/manifest.json")
    said = [line.removeprefix("warning: ") for line in result.stderr.splitlines()]
    assert said and all(("WARNING", f"IlotsWarning: {text}") in records for text in said)


def test_the_demo_refuses_a_folder_holding_what_it_would_replace(tmp_path, monkeypatch):
    """ilots demo --out a project folder would replace its config.yaml, zones, census tables,
    products (named as real Landsat ones) and, running with outputs.overwrite: true, its run
    in outputs/: refused before any work, nothing touched, even with a config copied from the
    shipped demo's. A previous demo's folder (its planted_effects.json says so) and a folder
    of other files are no refusal."""
    import pipelines.demo
    from pipelines.config import example_config

    def made(*args, **kwargs):
        raise RuntimeError("the demo began")

    monkeypatch.setattr(pipelines.demo, "make_city", made)
    project = tmp_path / "project"
    (project / "outputs").mkdir(parents=True)
    (project / "config.yaml").write_text("name: toulouse\n", encoding="utf-8")
    (project / "outputs" / "manifest.json").write_text("{}", encoding="utf-8")
    result = _run("demo", "--out", project)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: Invalid value for --out: {project} holds config.yaml, outputs and is not a "
        "previous demo's folder: the demo would replace them; choose another --out (or remove "
        "them, if an interrupted demo left them)"
    )
    assert (project / "config.yaml").read_text(encoding="utf-8") == "name: toulouse\n"
    assert sorted(p.name for p in project.rglob("*")) == ["config.yaml", "manifest.json", "outputs"]

    # no config at all, or one copied from the shipped demo's: the user's files stay
    census = tmp_path / "census-only"
    (census / "census").mkdir(parents=True)
    (census / "census" / "filosofi.csv").write_text("IRIS;DISP_MED21\n", encoding="utf-8")
    copied = tmp_path / "copied"
    (copied / "zones").mkdir(parents=True)
    (copied / "zones" / "iris.gpkg").write_bytes(b"mine")
    (copied / "config.yaml").write_text(example_config("demo").read_text(encoding="utf-8"))
    (copied / "planted_effects.json").write_text('{"source": "my notes"}', encoding="utf-8")
    for folder, found in [(census, "census"), (copied, "config.yaml, planted_effects.json, zones")]:
        result = _run("demo", "--out", folder)
        assert result.exit_code == 2, result.output
        assert f"{folder} holds {found} and is not a previous demo's folder" in result.output
    assert (census / "census" / "filosofi.csv").read_text(encoding="utf-8") == "IRIS;DISP_MED21\n"
    assert (copied / "zones" / "iris.gpkg").read_bytes() == b"mine"

    earlier = tmp_path / "earlier"  # a previous demo, its config edited
    (earlier / "outputs").mkdir(parents=True)
    edited = example_config("demo").read_text(encoding="utf-8") + "# my edit\n"
    (earlier / "config.yaml").write_text(edited, encoding="utf-8")
    planted = {"synthetic": True, "source": "ilots demo generator"}  # as every demo writes it
    (earlier / "planted_effects.json").write_text(json.dumps(planted), encoding="utf-8")
    other = tmp_path / "other"  # files of the user's, none the demo writes
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    for folder in (earlier, other):
        with pytest.raises(RuntimeError, match="the demo began"):  # not refused
            _run("demo", "--out", folder)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_run_refuses_a_previous_run_with_status_2_unless_given_overwrite(
    own_demo_folder, demo_run, tmp_path
):
    """As the single commands: a run folder holding a run is a bad --out (exit status 2, the
    fix named); ``--overwrite`` sets outputs.overwrite, as the dry run's plan says."""
    config = own_demo_folder / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["outputs"]["overwrite"] = False
    config.write_text(yaml.safe_dump(data))
    previous = shutil.copytree(demo_run[0], tmp_path / "previous")
    before = sorted(p.name for p in previous.rglob("*"))
    args = ["run", str(config), "--out", str(previous), "--no-progress"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2, refused.output
    assert (
        f"Invalid value for outputs.folder (--out): {previous} holds a previous run; give "
        "--overwrite (outputs.overwrite: true) to replace it, or another --out"
    ) in " ".join(refused.output.split())
    assert sorted(p.name for p in previous.rglob("*")) == before  # nothing written
    planned = CliRunner().invoke(main, [*args, "--dry-run"])
    assert "the run would stop before reading any pixel; give --overwrite" in planned.output
    planned = CliRunner().invoke(main, [*args, "--dry-run", "--overwrite"])
    assert planned.exit_code == 0, planned.output
    assert f"{previous} (holds a previous run, which this run replaces" in planned.output
    replaced = CliRunner().invoke(main, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    # --overwrite was for that run: its config.yaml, run again there, is refused
    recorded = yaml.safe_load((previous / "config.yaml").read_text())
    assert recorded["outputs"]["overwrite"] is False
    again = CliRunner().invoke(main, ["run", str(previous / "config.yaml"), "--no-progress"])
    assert again.exit_code == 2 and "holds a previous run; give --overwrite" in again.output
