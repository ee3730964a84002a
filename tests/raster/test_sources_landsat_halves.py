"""USGS's SR and ST items of one Level-2 product, read alone, side by side and merged.

The SR item is the real one of USGS's LandsatLook STAC API (``stac_items/odc-stac``); its
ST twin is written here in the shape of that API's ``landsat-c2l2-st`` items (id with
``_ST``, the ST files' hrefs beside the SR ones, the same scene properties). Expected hrefs
and grids are read from the JSON files themselves, never from the code under test.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from pathlib import Path

import pytest

from raster.sources import (
    HALF_PROPERTY,
    half_note,
    merge_halves,
    open_product,
    open_products,
)
from tiles.errors import UnrecognisedProductError

pytestmark = pytest.mark.realdata

PRODUCT = "LC08_L2SP_028030_20200114_20200824_02_T1"
SR_JSON = f"stac_items/odc-stac/{PRODUCT}_SR.json"
STACTOOLS = "stac_items/stactools-landsat"
STACTOOLS_PRODUCT = "LC08_L2SP_047027_20201204_20210313_02_T1"
T1 = "landsat_c2l2/LC08_L2SP_008059_20191201_20200825_02_T1"
#: The ST files of a USGS landsat-c2l2-st item, by the API's asset keys.
ST_FILES = {
    "lwir11": "ST_B10.TIF",
    "TRAD": "ST_TRAD.TIF",
    "URAD": "ST_URAD.TIF",
    "DRAD": "ST_DRAD.TIF",
    "ATRAN": "ST_ATRAN.TIF",
    "EMIS": "ST_EMIS.TIF",
    "EMSD": "ST_EMSD.TIF",
    "CDIST": "ST_CDIST.TIF",
    "QA": "ST_QA.TIF",
    "qa_pixel": "QA_PIXEL.TIF",
    "qa_radsat": "QA_RADSAT.TIF",
    "MTL.json": "MTL.json",
}


def _st_twin(sr: dict) -> dict:
    """The ST item of the SR item's product, as the LandsatLook STAC API gives it."""
    folder = sr["assets"]["red"]["href"].rsplit("/", 1)[0]
    st = copy.deepcopy({k: v for k, v in sr.items() if k != "assets"})
    st["id"] = f"{PRODUCT}_ST"
    st["collection"] = "landsat-c2l2-st"
    st["description"] = "Landsat Collection 2 Level-2 Surface Temperature Product"
    st["links"] = [
        {"rel": "self", "href": "https://landsatlook.usgs.gov/stac-server/collections/"
         f"landsat-c2l2-st/items/{PRODUCT}_ST"},
    ]  # fmt: skip
    st["assets"] = {
        key: {"href": f"{folder}/{PRODUCT}_{name}", "type": "image/vnd.stac.geotiff; "
              "cloud-optimized=true", "roles": ["data"]}
        for key, name in ST_FILES.items()
    }  # fmt: skip
    return st


@pytest.fixture
def halves(real_data: Path) -> tuple[dict, dict]:
    sr = json.loads((real_data / SR_JSON).read_text())
    return sr, _st_twin(sr)


def _write(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _open(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no scale/offset in USGS's items: the defaults
        return open_product(path)


def _hrefs(item) -> dict[str, str]:
    return {key: asset.href for key, asset in item.assets.items()}


def test_a_lone_sr_item_is_said_to_be_the_sr_half(halves, tmp_path):
    sr, _ = halves
    item = _open(_write(sr, tmp_path / f"{PRODUCT}_SR.json"))
    assert item.id == PRODUCT
    assert item.properties[HALF_PROPERTY] == "SR"
    assert "lwir11" not in item.assets
    assert item.assets["red"].href == sr["assets"]["red"]["href"]
    note = half_note(item, needed="ST")
    assert note is not None and note.startswith(f"the SR half ({PRODUCT}_SR.json")
    assert f"its ST item ({PRODUCT}_ST, collection landsat-c2l2-st" in note
    assert note.endswith(f"beside it as {PRODUCT}_ST.json)")
    assert half_note(item, needed="SR") is None  # it has the reflectance


def test_sr_and_st_items_side_by_side_read_as_one_product(halves, tmp_path):
    sr, st = halves
    sr_path = _write(sr, tmp_path / f"{PRODUCT}_SR.json")
    st_path = _write(st, tmp_path / f"{PRODUCT}_ST.json")
    from_sr, from_st = _open(sr_path), _open(st_path)
    for item in (from_sr, from_st):
        assert item.id == PRODUCT
        assert HALF_PROPERTY not in item.properties
        assert item.assets["red"].href == sr["assets"]["red"]["href"]
        assert item.assets["nir08"].href == sr["assets"]["nir08"]["href"]
        assert item.assets["lwir11"].href == st["assets"]["lwir11"]["href"]
        assert item.assets["st_qa"].href == st["assets"]["QA"]["href"]
        assert item.assets["st_cdist"].href == st["assets"]["CDIST"]["href"]
        # the remote ST band's grid from the item's projection fields
        lwir11 = item.assets["lwir11"].to_dict()
        assert lwir11["proj:shape"] == sr["properties"]["proj:shape"]
        assert lwir11["proj:transform"] == sr["properties"]["proj:transform"]
        scaling = lwir11["raster:bands"][0]
        assert (scaling["scale"], scaling["offset"]) == (0.00341802, 149.0)
    assert _hrefs(from_sr) == _hrefs(from_st)
    # Both files of one product in a folder: one item.
    assert _hrefs(_open(tmp_path)) == _hrefs(from_sr)


def test_halves_from_separate_folders_merge_into_one_item(halves, tmp_path):
    """A static catalogue keeps each item in its own folder: the halves meet in a list."""
    sr, st = halves
    sr_item = _open(_write(sr, tmp_path / f"{PRODUCT}_SR" / f"{PRODUCT}_SR.json"))
    st_item = _open(_write(st, tmp_path / f"{PRODUCT}_ST" / f"{PRODUCT}_ST.json"))
    assert (sr_item.properties[HALF_PROPERTY], st_item.properties[HALF_PROPERTY]) == ("SR", "ST")
    assert half_note(st_item, needed="SR").startswith(f"the ST half ({PRODUCT}_ST.json")
    for order in ([sr_item, st_item], [st_item, sr_item]):
        (merged,) = merge_halves(order)
        assert merged.id == PRODUCT
        assert HALF_PROPERTY not in merged.properties
        assert _hrefs(merged) == {**_hrefs(sr_item), **_hrefs(st_item)}
        assert merged.assets["red"].href == sr["assets"]["red"]["href"]
        assert merged.assets["lwir11"].href == st["assets"]["lwir11"]["href"]
        assert merged.datetime == sr_item.datetime
    # the items given are left as they were
    assert sr_item.properties[HALF_PROPERTY] == "SR" and "lwir11" not in sr_item.assets
    assert st_item.properties[HALF_PROPERTY] == "ST" and "red" not in st_item.assets
    # the halves of two products stay two products; a half alone stays a half
    other = copy.deepcopy(st)
    other["id"] = "LC08_L2SP_028030_20200130_20200823_02_T1_ST"
    lone = _open(_write(other, tmp_path / "other" / f"{other['id']}.json"))
    merged = merge_halves([sr_item, lone])
    assert [m.properties.get(HALF_PROPERTY) for m in merged] == ["SR", "ST"]


def test_open_products_merges_the_halves(halves, tmp_path):
    sr, st = halves
    paths = [
        _write(sr, tmp_path / "a" / f"{PRODUCT}_SR.json"),
        _write(st, tmp_path / "b" / f"{PRODUCT}_ST.json"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = open_products(paths)
    assert len(items) == 1
    assert {"red", "nir08", "lwir11", "st_qa", "qa_pixel"} <= set(items[0].assets)


def test_a_folder_of_several_products_item_jsons_is_refused_then_read_one_by_one(
    real_data, tmp_path
):
    """USGS's ``_SR_stac.json`` / ``_ST_stac.json`` of two products, without their MTL."""
    folder = tmp_path / "stac_jsons"
    folder.mkdir()
    for source, name in (
        (real_data / STACTOOLS, STACTOOLS_PRODUCT),
        (real_data / T1, Path(T1).name),
    ):
        for half in ("SR", "ST"):
            shutil.copy(source / f"{name}_{half}_stac.json", folder)
    with pytest.raises(UnrecognisedProductError, match="item JSONs of 2 Landsat products"):
        open_product(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = open_products(sorted(folder.glob("*.json")))
    assert sorted(item.id for item in items) == sorted([STACTOOLS_PRODUCT, Path(T1).name])
    for item in items:
        assert {"red", "nir08", "lwir11", "st_qa", "qa_pixel"} <= set(item.assets)
        assert HALF_PROPERTY not in item.properties


def test_other_items_of_one_id_are_not_merged(real_data, tmp_path):
    """A product read from two places (a copy of its folder) stays two items; the same
    product read twice is one."""
    copied = tmp_path / Path(T1).name
    shutil.copytree(real_data / T1, copied)
    first, second = open_product(real_data / T1), open_product(copied)
    assert len(merge_halves([first, second])) == 2
    assert merge_halves([first, open_product(real_data / T1)]) == [first]
