"""Tests of the product dispatcher: open_product, open_products, and the error messages."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tarfile
from pathlib import Path

import pystac
import pytest
import rasterio
from rasterio.errors import RasterioIOError

from raster.sources import (
    RECOGNISED_LAYOUTS,
    ProductNotFoundError,
    open_product,
    open_products,
)
from tiles.errors import (
    IlotsError,
    IlotsWarning,
    ReadError,
    UnrecognisedProductError,
    UnsupportedProductError,
)

T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
T2 = "landsat_c2l2/LC08_L2SP_001062_20201031_20201106_02_T2"
C1 = "landsat_l1/LC08_L1TP_016037_20170813_20170814_01_RT"
ES_FOLDER = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "product_type"),
    [
        (T1, "landsat-c2-l2"),
        (f"{T1}/LC08_L2SP_008059_20191201_20200825_02_T1_MTL.json", "landsat-c2-l2"),
        (f"{T1}/LC08_L2SP_008059_20191201_20200825_02_T1_ST_stac.json", "landsat-c2-l2"),
        (C1, "landsat-c1-l1"),
        (ES_FOLDER, "sentinel-2-l2a"),
        (f"{ES_FOLDER}/S2A_29RKH_20200219_0_L2A.json", "sentinel-2-l2a"),
    ],
)
def test_open_product_recognises_layouts(real_data: Path, relative: str, product_type: str) -> None:
    item = open_product(real_data / relative)
    assert isinstance(item, pystac.Item)
    assert item.properties["ilots:product_type"] == product_type
    # every item is plain JSON and loads back
    again = pystac.Item.from_dict(json.loads(json.dumps(item.to_dict())))
    assert set(again.assets) == set(item.assets)
    for asset in item.assets.values():
        d = asset.to_dict()
        assert {"proj:code", "proj:shape", "proj:transform", "raster:bands"} <= set(d)
        assert {"data_type", "scale", "offset", "unit"} <= set(d["raster:bands"][0])


def test_unrecognised_folder_lists_layouts(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnrecognisedProductError) as info:
        open_product(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "_MTL" in message and "MTD_MSIL2A.xml" in message and ".tar" in message
    assert all(layout in message for layout in RECOGNISED_LAYOUTS)


def test_unrecognised_file(tmp_path: Path) -> None:
    path = tmp_path / "scene.txt"
    path.write_bytes(b"PK")
    with pytest.raises(UnrecognisedProductError, match=r"scene\.txt"):
        open_product(path)
    other = tmp_path / "catalog.json"
    other.write_text(json.dumps({"type": "Catalog", "id": "x"}))
    with pytest.raises(UnrecognisedProductError, match="neither a Landsat nor a Sentinel-2"):
        open_product(other)


@pytest.mark.realdata
@pytest.mark.parametrize("folder", [T1, ES_FOLDER])
def test_a_band_file_points_to_its_folder(real_data: Path, folder: str) -> None:
    band = sorted((real_data / folder).glob("*.[Tt][Ii][Ff]"))[0]
    with pytest.raises(UnrecognisedProductError) as info:
        open_product(band)
    assert f"one band file of a product: give its folder {real_data / folder}" in str(info.value)


@pytest.mark.realdata
def test_folder_of_products_says_so(real_data: Path) -> None:
    folder = real_data / "landsat_c2l2"
    with pytest.raises(UnrecognisedProductError, match=rf"2 product folders: give them one by "
                       rf"one, or a glob such as {folder}/\*"):  # fmt: skip
        open_product(folder)


@pytest.mark.realdata
def test_a_product_nested_in_a_folder_of_its_name_is_read(real_data: Path, tmp_path: Path) -> None:
    # What Windows' "Extract all" makes of a .zip: X.SAFE/X.SAFE; here a Landsat folder.
    name = "LC08_L2SP_008059_20191201_20200825_02_T1"
    (tmp_path / name).mkdir()
    (tmp_path / name / name).symlink_to(real_data / "landsat_c2l2" / name)
    assert open_product(tmp_path / name).id == open_product(real_data / "landsat_c2l2" / name).id


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "LC08_nothing"
    with pytest.raises(ProductNotFoundError, match="does not exist") as info:
        open_product(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, IlotsError)


@pytest.mark.realdata
def test_open_products_skip_and_raise(real_data: Path, tmp_path: Path) -> None:
    paths = [real_data / T1, tmp_path / "missing", tmp_path, real_data / T2]
    with pytest.warns(IlotsWarning, match="skipping product") as record:
        items = open_products(paths, on_error="skip")
    assert [item.id for item in items] == [Path(T1).name, Path(T2).name]
    assert [w.message.code for w in record if issubclass(w.category, IlotsWarning)] == [
        "skipped_input"
    ] * 2
    with pytest.raises(ProductNotFoundError):
        open_products(paths)
    with pytest.raises(ValueError, match="on_error"):
        open_products(paths, on_error="ignore")  # type: ignore[arg-type]


@pytest.mark.realdata
def test_items_load_lazily_with_odc_stac(real_data: Path, no_compute: None) -> None:
    """The proj fields are what odc-stac reads: the load plan uses the file grid."""
    odc_stac = pytest.importorskip("odc.stac")
    item = open_product(real_data / T1)
    ds = odc_stac.load([item], bands=["red", "qa_pixel"], chunks={})
    assert ds["red"].shape[-2:] == (512, 512)
    assert ds.odc.geobox.resolution.x == pytest.approx(444.78515625)


@pytest.mark.realdata
def test_open_product_reads_a_usgs_tar(real_data: Path, tmp_path: Path) -> None:
    product = real_data / T2
    tar_path = tmp_path / f"{product.name}.tar"
    with tarfile.open(tar_path, "w") as archive:
        for file in sorted(product.iterdir()):
            archive.add(file, arcname=file.name)
    item = open_product(tar_path)
    assert item.id == product.name
    assert all(a.href.startswith(f"/vsitar/{tar_path}/") for a in item.assets.values())


def test_tar_without_mtl_is_unrecognised(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not a product")
    tar_path = tmp_path / "something.tar"
    with tarfile.open(tar_path, "w") as archive:
        archive.add(tmp_path / "readme.txt", arcname="readme.txt")
    with pytest.raises(UnrecognisedProductError, match="_MTL"):
        open_product(tar_path)


def test_sentinel2_l1c_is_unsupported(tmp_path: Path) -> None:
    safe = tmp_path / "S2B_MSIL1C_20230615T105031_N0509_R051_T31UDQ_20230615T123456.SAFE"
    safe.mkdir()
    (safe / "MTD_MSIL1C.xml").write_text("<x/>")
    with pytest.raises(UnsupportedProductError, match="L1C"):
        open_product(safe)
    zipped = tmp_path / f"{safe.name}.zip"  # as Copernicus delivers it
    zipped.write_bytes(b"PK")
    with pytest.raises(UnsupportedProductError, match=r"is a Sentinel-2 L1C product; ilots "
                       r"reads L2A \(download the MSIL2A one\)"):  # fmt: skip
        open_product(zipped)


# --- permissions: what root cannot see, so the calls that meet them are stood in for ------


def _forbid(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` one that may not be entered nor listed, as ``chmod 000`` does.

    Tests run as root here, whom permissions do not stop: the calls meeting them raise as
    they would for any other user.
    """
    stat, scandir, listdir = os.stat, os.scandir, os.listdir

    def denied(path: object) -> PermissionError:
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def fake_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(path, int) and folder in Path(os.fspath(path)).parents:
            raise denied(path)
        return stat(path, *args, **kwargs)

    def fake_list(real):  # type: ignore[no-untyped-def]
        def listing(path="."):  # type: ignore[no-untyped-def]
            if not isinstance(path, int) and Path(os.fspath(path)) == folder:
                raise denied(path)
            return real(path)

        return listing

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "scandir", fake_list(scandir))
    monkeypatch.setattr(os, "listdir", fake_list(listdir))


def _denied(path: Path) -> str:
    return f"cannot read {path}: permission denied; check its permissions"


@pytest.mark.realdata
def test_a_product_folder_that_may_not_be_read_is_skipped_as_such(
    real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shut, other = tmp_path / Path(T1).name, tmp_path / Path(T2).name
    shut.symlink_to(real_data / T1)
    other.symlink_to(real_data / T2)
    _forbid(monkeypatch, shut)
    with pytest.raises(ReadError) as info:
        open_product(shut)
    assert str(info.value) == _denied(shut)
    with pytest.raises(ReadError) as info:
        open_product(shut / f"{shut.name}_MTL.txt")
    assert str(info.value) == _denied(shut)
    with pytest.warns(IlotsWarning) as record:
        items = open_products([shut, other], on_error="skip")
    assert [item.id for item in items] == [other.name]
    assert [str(w.message) for w in record] == [f"skipping product {shut}: {_denied(shut)}"]
    # their folder is a folder of products, of which one may not be read, not a bad product
    with pytest.raises(UnrecognisedProductError, match="it holds 2 product folders"):
        open_product(tmp_path)


@pytest.mark.realdata
def test_a_band_file_that_may_not_be_read_is_not_called_corrupt(
    real_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    band = (real_data / T1 / f"{Path(T1).name}_ST_B10.TIF").resolve()
    real_open, real_access = rasterio.open, os.access

    def fake_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(band):  # what GDAL says of a file it may not read
            raise RasterioIOError(f"{band}: Permission denied")
        return real_open(path, *args, **kwargs)

    def fake_access(path, mode, **kwargs):  # type: ignore[no-untyped-def]
        return os.fspath(path) != str(band) and real_access(path, mode, **kwargs)

    monkeypatch.setattr(rasterio, "open", fake_open)
    monkeypatch.setattr(os, "access", fake_access)
    with pytest.raises(ReadError) as info:
        open_product(real_data / T1)
    assert str(info.value) == _denied(band)


@pytest.mark.realdata
@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads whatever the permissions say: chmod cannot shut a file to root",
)
def test_permissions_for_real(real_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / Path(T1).name
    shutil.copytree(real_data / T1, folder)
    band = folder / f"{folder.name}_ST_B10.TIF"
    try:
        band.chmod(0)
        with pytest.raises(ReadError) as info:
            open_product(folder)
        assert str(info.value) == _denied(band)
        band.chmod(0o644)
        folder.chmod(0)
        with pytest.raises(ReadError) as info:
            open_product(folder)
        assert str(info.value) == _denied(folder)
    finally:
        folder.chmod(0o755)
        band.chmod(0o644)
