"""Inputs: local globs and folders, static STAC catalogues, STAC API searches (no network)."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import shutil
import sqlite3
import warnings
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pyogrio
import pystac
import pytest
import rasterio
import yaml
from pyproj import CRS
from rasterio.transform import from_origin
from shapely.geometry import MultiPolygon, Polygon, box

from pipelines.config import (
    AreaOfInterest,
    ConfigError,
    Searches,
    apply_overrides,
    area_of_interest,
    check_coverage,
    check_extent_coverage,
    load_config,
    resolve_inputs,
    search_catalog,
    search_stac_api,
)
from pipelines.config.inputs import landsat_coverage
from pipelines.config.models import StacApiSource
from pipelines.outputs.manifest import build_manifest
from raster.sources import open_product
from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    write_landsat_c2l2,
)
from tiles.errors import IlotsWarning, collected_warnings

from .conftest import MINIMAL, UTM_ORIGIN, iris_layer, landsat_product

L8_JULY = "LC08_L2SP_199030_20230712_20230714_02_T1"
L9_JULY = "LC09_L2SP_199030_20230720_20230722_02_T1"
L8_MAY = "LC08_L2SP_199030_20230502_20230504_02_T1"
UTC = dt.UTC
SUMMER = ((dt.datetime(2023, 6, 1, tzinfo=UTC), dt.datetime(2023, 9, 1, tzinfo=UTC)),)


def config_for(write_config, landsat: str, **sections):
    """A config from MINIMAL with inputs.landsat (YAML text) and other sections replaced."""
    data = yaml.safe_load(MINIMAL)
    data["inputs"]["landsat"] = yaml.safe_load(landsat)
    data.update(sections)
    return load_config(write_config(yaml.safe_dump(data)), check_paths=False)


def ids(items) -> list[str]:
    return [item.id for item in items]


def messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, IlotsWarning)]


def test_folder_of_products(products, write_config):
    config = config_for(write_config, f"['{products}']")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    assert found.sentinel2 == ()
    assert all(item.properties["ilots:product_type"] == "landsat-c2-l2" for item in found.items)
    skipped = "\n".join(found.skipped)
    assert f"{L8_MAY}: acquired 2023-05-02, outside the periods" in skipped
    assert f"{L8_JULY}: duplicate" in skipped  # the .tar beside its folder
    assert "README.txt: not a product ilots recognises" in skipped
    text = messages(caught)
    assert len(text) == 1 and "README.txt: not a product ilots recognises" in text[0]
    assert "inputs.landsat[0]" in text[0]
    kinds = [w.message.code for w in caught if issubclass(w.category, IlotsWarning)]
    assert kinds == ["skipped_input"]  # the kind the report names


def test_a_folder_listed_for_both_sensors_names_both_keys(products, write_config):
    """What in a folder listed under landsat and sentinel2 is no product is said once, of
    both keys (it was said of inputs.landsat[0], also for a Sentinel-2 product)."""
    config = apply_overrides(config_for(write_config, f"['{products}']"),
                             {"inputs.sentinel2": [str(products)]})  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolve_inputs(config)
    said = [m for m in messages(caught) if "README.txt" in m]
    assert len(said) == 1 and "inputs.landsat[0], inputs.sentinel2[0]: skipping" in said[0]


def test_a_folder_without_metadata_says_what_it_lacks(tmp_path, write_config):
    """A product folder whose MTL was not downloaded: the warning says what is missing."""
    folder = tmp_path / "downloads" / L8_JULY
    folder.mkdir(parents=True)
    (folder / f"{L8_JULY}_ST_B10.TIF").write_bytes(b"II*\x00")
    config = config_for(write_config, f"['{tmp_path / 'downloads'}']")
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ConfigError):
        warnings.simplefilter("always")
        resolve_inputs(config)
    assert any(
        f"skipping {folder}: not a product ilots recognises (no MTL, MTD_MSIL2A.xml or item "
        "JSON inside)" in text
        for text in messages(caught)
    ), messages(caught)


def test_a_product_folder_also_gives_the_products_of_its_sub_folders(tmp_path, write_config):
    """A download folder holding one product's files loose and another product's folder:
    both products are read (the loose files hid the sub-folder), and the product's own
    sub-folders that are no product pass unsaid."""
    downloads = tmp_path / "downloads"
    loose = landsat_product(downloads, dt.date(2023, 7, 12))
    for file in loose.iterdir():
        file.rename(downloads / file.name)
    loose.rmdir()
    landsat_product(downloads, dt.date(2023, 7, 20), platform="landsat-9")
    (downloads / "notes").mkdir()  # no product: a folder of the user's
    config = config_for(write_config, f"['{downloads}']")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    assert messages(caught) == [] and found.skipped == ()


def test_a_product_too_cloudy_says_its_cloud_cover_and_the_key(tmp_path, write_config):
    """The cloud covers (the MTLs' CLOUD_COVER, as written) against the limit, and the key
    to change, in the error and its hint."""
    folder = tmp_path / "cloudy"
    landsat_product(folder, dt.date(2023, 7, 12), cloud_cover=81.0)
    config = config_for(write_config, f"['{folder}']")
    config = apply_overrides(config, {"inputs.max_cloud_cover": 70})
    with warnings.catch_warnings(), pytest.raises(ConfigError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        resolve_inputs(config, source="config.yaml")
    text = str(err.value)
    assert "(1 too cloudy: 81 % > 70 %, inputs.max_cloud_cover)" in text
    assert text.endswith("; check the paths, periods, aoi and inputs.max_cloud_cover")
    landsat_product(folder, dt.date(2023, 7, 20), platform="landsat-9", cloud_cover=90.5)
    with warnings.catch_warnings(), pytest.raises(ConfigError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        resolve_inputs(config, source="config.yaml")
    assert "(2 too cloudy: 81 to 90.5 % > 70 %, inputs.max_cloud_cover)" in str(err.value)


def test_glob_of_tars_and_of_mtl_files(products, write_config):
    tars = resolve_inputs(config_for(write_config, f"['{products}/*.tar']"))
    assert ids(tars.landsat) == [L8_JULY]
    assert tars.landsat[0].properties["ilots:source"].endswith(".tar")
    mtls = resolve_inputs(config_for(write_config, f"['{products}/**/*_MTL.txt']"))
    assert ids(mtls.landsat) == [L8_JULY, L9_JULY]


def test_product_path_as_given_and_relative(products, tmp_path, write_config):
    (tmp_path / "data").symlink_to(products)
    found = resolve_inputs(config_for(write_config, f"[data/{L9_JULY}]"))
    assert ids(found.landsat) == [L9_JULY]


def test_periods_area_and_clouds_filter(products, write_config):
    everything = config_for(
        write_config, f"['{products}']",
        periods={"ranges": [{"start": "2023-05-01", "end": "2023-07-31"}]},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IlotsWarning)
        found = resolve_inputs(everything)
    assert ids(found.landsat) == [L8_MAY, L8_JULY, L9_JULY]
    far = config_for(
        write_config, f"['{products}']", heat_island={"ring_inner_km": 0.5, "ring_outer_km": 1},
        aoi={"bbox": [2.0, 44.0, 2.1, 44.1]},
    )  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(ConfigError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        resolve_inputs(far, source="config.yaml")
    text = str(err.value)
    assert text.startswith("config.yaml: inputs.landsat: no Landsat product within the periods")
    assert (
        "(1 outside the periods, acquired 2023-05-02; 3 with their footprint outside the area "
        "of interest)" in text
    )
    assert "\n" not in text  # one line
    assert "CRS" not in text  # a bounding box, in degrees
    # Where the scenes are, and where the area is (lon/lat, 2 decimals; the scenes' own
    # bounding boxes, as the run found them above; the bbox grown by its 1 km ring).
    for item in found.landsat[1:]:  # the two July products (May is outside the periods)
        west, south, east, north = item.bbox
        where = f"lon {west:.2f} to {east:.2f}, lat {south:.2f} to {north:.2f}"
        assert text.count(f"{item.id} ({where})") == 1  # once, though in a folder and a .tar
    assert "the area of interest with its rural ring: lon 1.99 to 2.11, lat 43.99 to 44.11" in text


@pytest.mark.parametrize(("layer", "key"), [("iris", "zones.iris"), ("file", "aoi.file")])
def test_an_area_from_a_layer_labelled_with_a_wrong_crs_asks_about_its_crs(
    products, tmp_path, write_config, layer, key
):
    """IRIS in Lambert-93 labelled Lambert II étendu (EPSG:27572) put the area near the
    pole: the error says which file's CRS to check, not only that no product is there."""
    iris = gpd.read_file(iris_layer(tmp_path / "l93.gpkg"))
    mislabelled = tmp_path / "iris_27572.gpkg"
    iris.set_crs("EPSG:27572", allow_override=True).to_file(mislabelled, driver="GPKG")
    aoi = {"zones": "iris"} if layer == "iris" else {"file": str(mislabelled)}
    # June-August: the July products (one of them twice, folder and .tar) are outside the
    # area; a window around 20 July: the landsat-9 product alone.
    window = {"ranges": [{"start": "2023-07-15", "end": "2023-07-25"}]}
    periods, counted = {
        "iris": (window, "1 with its footprint outside the area of interest"),
        "file": ({"years": [2023]}, "3 with their footprint outside the area of interest"),
    }[layer]
    config = config_for(
        write_config, f"['{products}']", aoi=aoi, zones={"iris": {"path": str(mislabelled)}},
        periods=periods,
    )  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(ConfigError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        resolve_inputs(config, source="config.yaml")
    text = str(err.value)
    assert counted in text, text
    assert f"; is the CRS of {key} right? The area lies where the CRS its file declares" in text


def _forbid(monkeypatch, folder: Path) -> None:
    """Make ``folder`` one that may not be entered nor listed, as ``chmod 000`` does.

    Tests run as root here, whom permissions do not stop: the calls meeting them raise as
    they would for any other user (tests/raster/test_sources_product.py does the same).
    """
    stat, scandir, listdir = os.stat, os.scandir, os.listdir

    def denied(path):
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def fake_stat(path, *args, **kwargs):
        if not isinstance(path, int) and folder in Path(os.fspath(path)).parents:
            raise denied(path)
        return stat(path, *args, **kwargs)

    def fake_list(real):
        def listing(path="."):
            if not isinstance(path, int) and Path(os.fspath(path)) == folder:
                raise denied(path)
            return real(path)

        return listing

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "scandir", fake_list(scandir))
    monkeypatch.setattr(os, "listdir", fake_list(listdir))


def test_paths_that_may_not_be_read_are_skipped_with_the_permission_message(
    products, tmp_path, write_config, monkeypatch
):
    """A product in a folder that may not be entered, and a glob in a folder that may not
    be listed: each is skipped with the permission message (was a PermissionError's
    traceback, and a glob matching nothing without a word)."""
    shut = tmp_path / "shut"
    shut.mkdir()
    (shut / L9_JULY).symlink_to(products / L9_JULY)
    product, pattern = shut / L9_JULY, shut / "*"
    config = config_for(write_config, f"['{product}', '{pattern}', '{products / L8_JULY}']")
    _forbid(monkeypatch, shut)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY]
    denied = f"cannot read {shut}: permission denied; check its permissions"
    said = [m for m in messages(caught) if "skipping" in m]
    assert said == [
        f"config: inputs.landsat[0]: skipping {product}: {denied}",
        f"config: inputs.landsat[1]: skipping {pattern}: {denied}",
    ]
    assert [w.message.code for w in caught if "skipping" in str(w.message)] == ["skipped_input"] * 2
    assert f"{product}: {denied}" in found.skipped


def test_sources_giving_nothing(tmp_path, write_config):
    (tmp_path / "empty").mkdir()
    config = config_for(write_config, "[empty]")
    with pytest.warns(IlotsWarning, match=r"inputs.landsat\[0\]: no Landsat product found"):
        with pytest.raises(ConfigError, match="no Landsat product within the periods"):
            resolve_inputs(config)


def test_no_sentinel2_product_is_a_warning_of_its_kind(products, tmp_path, write_config):
    """A Sentinel-2 source giving no product: indices come from Landsat, said in a warning
    with its kind (no_sentinel2), which the report names in its words."""
    (tmp_path / "empty").mkdir()
    config = apply_overrides(config_for(write_config, f"['{products}']"),
                             {"inputs.sentinel2": [str(tmp_path / "empty")]})  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY] and found.sentinel2 == ()
    (said,) = [w.message for w in caught if "within the periods" in str(w.message)]
    assert str(said).endswith("; indices will come from Landsat")
    assert said.code == "no_sentinel2"


def test_a_source_giving_no_product_is_a_warning_of_its_kind(products, tmp_path, write_config):
    """A Landsat source giving nothing beside one giving products, and a Sentinel-2 source
    giving nothing: each said with the kind empty_source (whichever the sensor), which
    reaches the manifest's warning_codes beside its message; the Sentinel-2 one is then
    followed by no_sentinel2."""
    empty = tmp_path / "empty"
    empty.mkdir()
    config = apply_overrides(config_for(write_config, f"['{products}', '{empty}']"),
                             {"inputs.sentinel2": [str(empty)]})  # fmt: skip
    with warnings.catch_warnings(), collected_warnings() as said:
        warnings.simplefilter("ignore")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    manifest = build_manifest(config={}, inputs=[], grid={}, timings={}, warnings=said,
                              outputs=[], hash_inputs=False)  # fmt: skip
    kinds = dict(zip(manifest["warnings"], manifest["warning_codes"], strict=True))
    assert kinds["config: inputs.landsat[1]: no Landsat product found"] == "empty_source"
    assert kinds["config: inputs.sentinel2[0]: no Sentinel-2 product found"] == "empty_source"
    assert manifest["warning_codes"][-1] == "no_sentinel2"


def synthetic_item(item_id: str, when: dt.datetime, bbox, collection: str, cloud: float = 10.0):
    west, south, east, north = bbox
    geometry = {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                         [west, south]]],
    }  # fmt: skip
    return pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=list(bbox),
        datetime=when,
        properties={"eo:cloud_cover": cloud},
        collection=collection,
    )


@pytest.fixture
def catalogue(tmp_path) -> Path:
    """A static catalogue of synthetic items, with a sub-catalogue (walked recursively)."""
    root = pystac.Catalog(id="test", description="synthetic items")
    sub = pystac.Catalog(id="sub", description="nested")
    root.add_child(sub)
    toulouse, lyon = (1.3, 43.5, 1.6, 43.7), (4.7, 45.6, 5.0, 45.9)
    july, may = dt.datetime(2023, 7, 12, 10, 45, tzinfo=UTC), dt.datetime(2023, 5, 2, tzinfo=UTC)
    root.add_item(synthetic_item("toulouse-july", july, toulouse, "landsat-c2-l2"))
    root.add_item(synthetic_item("toulouse-may", may, toulouse, "landsat-c2-l2"))
    sub.add_item(synthetic_item("lyon-july", july, lyon, "landsat-c2-l2"))
    sub.add_item(synthetic_item("toulouse-s2", july, toulouse, "sentinel-2-l2a"))
    sub.add_item(synthetic_item("toulouse-cloudy", july, toulouse, "landsat-c2-l2", cloud=90))
    root.normalize_hrefs(str(tmp_path / "stac"))
    root.save(pystac.CatalogType.SELF_CONTAINED)
    return tmp_path / "stac" / "catalog.json"


def test_static_catalogue_search(catalogue):
    bbox = (1.35, 43.55, 1.52, 43.67)
    found = search_catalog(str(catalogue), bbox=bbox, intervals=SUMMER)
    assert sorted(ids(found)) == ["toulouse-cloudy", "toulouse-july", "toulouse-s2"]
    landsat = search_catalog(
        catalogue.as_uri(), bbox=bbox, intervals=SUMMER, collections=["landsat-c2-l2"],
        max_cloud_cover=50,
    )  # fmt: skip
    assert ids(landsat) == ["toulouse-july"]
    assert Path(landsat[0].get_self_href()).is_file()
    folder = search_catalog(str(catalogue.parent), bbox=(4.8, 45.7, 4.9, 45.8))
    assert ids(folder) == ["lyon-july"]
    assert len(search_catalog(str(catalogue))) == 5
    with pytest.raises(ConfigError, match="cannot read the STAC catalogue"):
        search_catalog(str(catalogue.parent / "missing.json"))


def test_an_item_whose_self_href_is_a_file_url_is_read_in_place(tmp_path):
    """An item found on disk, its self href a percent-encoded file URL (a folder with a
    space and an accent), is read where it is rather than saved again."""
    from pipelines.config.inputs import _local_self

    path = tmp_path / "Mes données" / "LC09.json"
    path.parent.mkdir()
    path.write_text("{}")
    item = pystac.Item("LC09", None, None, dt.datetime(2023, 7, 1), {})
    for href in (path.as_uri(), f"file://localhost{path.as_uri()[len('file://') :]}"):
        item.set_self_href(href)
        assert "%C3%A9" in item.get_self_href()
        assert _local_self(item) == path
    item.set_self_href("https://example.org/LC09.json")
    assert _local_self(item) is None


def write_catalogue_of(products_items, folder: Path) -> Path:
    root = pystac.Catalog(id="local", description="ilots items of synthetic products")
    for item in products_items:
        clone = item.clone()
        clone.collection_id = "landsat-c2-l2"
        root.add_item(clone)
    root.normalize_hrefs(str(folder))
    root.save(pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"


def test_catalogue_source_gives_ilots_items(products, tmp_path, write_config):
    items = [open_product(products / name) for name in (L8_JULY, L9_JULY, L8_MAY)]
    href = write_catalogue_of(items, tmp_path / "stac")
    config = config_for(
        write_config, "[{catalog: {href: stac/catalog.json, collections: [landsat-c2-l2]}}]"
    )
    found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    assert found.landsat[0].assets["red"].href == items[0].assets["red"].href
    assert found.landsat[0].properties["ilots:source"].startswith(str(href.parent))
    assert not (config.outputs.folder / "stac_items").exists()  # local items read in place


class FakeSearch:
    def __init__(self, items):
        self._items = items

    def items(self):
        return iter(self._items)


class FakeClient:
    """Stands in for pystac_client.Client: records the searches, returns given items."""

    searches: ClassVar[list[dict]] = []
    opened: ClassVar[list[tuple]] = []

    def __init__(self, items):
        self._items = items

    def search(self, **kwargs):
        FakeClient.searches.append(kwargs)
        start = kwargs["datetime"].split("/")[0]
        return FakeSearch([it for it in self._items if it.datetime.isoformat() >= start[:10]])


@pytest.fixture
def fake_api(monkeypatch, products):
    pystac_client = pytest.importorskip("pystac_client")

    items = []
    for name in (L8_JULY, L9_JULY):
        item = open_product(products / name)
        item.set_self_href(None)
        item.clear_links()
        items.append(item)
    FakeClient.searches, FakeClient.opened = [], []

    def open_client(url, modifier=None, **kwargs):
        FakeClient.opened.append((url, modifier))
        return FakeClient(items)

    monkeypatch.setattr(pystac_client.Client, "open", staticmethod(open_client))
    return FakeClient


def test_stac_api_search_per_period(fake_api, tmp_path, write_config):
    config = config_for(
        write_config,
        "[{stac_api: {url: 'https://stac.example/v1/', collections: [landsat-c2-l2], "
        "query: {platform: {in: [landsat-8, landsat-9]}}, max_items: 50}}]",
        periods={"years": [2022, 2023]},
    )
    config = apply_overrides(config, {"inputs.max_cloud_cover": 40})
    found = resolve_inputs(config, item_dir=tmp_path / "items")
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    assert fake_api.opened == [("https://stac.example/v1", None)]
    assert [s["datetime"] for s in fake_api.searches] == [
        "2022-06-01T00:00:00Z/2022-08-31T23:59:59Z",
        "2023-06-01T00:00:00Z/2023-08-31T23:59:59Z",
    ]
    search = fake_api.searches[0]
    assert search["collections"] == ["landsat-c2-l2"] and search["max_items"] == 50
    assert search["query"] == {
        "platform": {"in": ["landsat-8", "landsat-9"]},
        "eo:cloud_cover": {"lte": 40.0},
    }
    west, south, east, north = search["bbox"]
    # the AOI grown by the 10 km rural ring
    assert west < 1.35 - 0.1 and east > 1.52 + 0.1 and south < 43.55 - 0.08 and north > 43.67
    saved = sorted(p.name for p in (tmp_path / "items").iterdir())
    assert saved == [f"{L8_JULY}.json", f"{L9_JULY}.json"]
    assert found.landsat[0].properties["ilots:source"] == str(tmp_path / "items" / saved[0])


def test_stac_api_signing_needs_its_package(fake_api, write_config, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    api = StacApiSource(url="https://x.org", collections=["c"], sign="planetary_computer")
    with pytest.raises(ConfigError, match="pip install planetary-computer"):
        search_stac_api(api, bbox=(0, 0, 1, 1), intervals=SUMMER)


def test_stac_api_failure_names_the_source(monkeypatch, write_config):
    pystac_client = pytest.importorskip("pystac_client")

    def broken(url, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(pystac_client.Client, "open", staticmethod(broken))
    config = config_for(write_config, "[{stac_api: {url: 'https://x.org', collections: [c]}}]")
    with pytest.raises(ConfigError) as err:
        resolve_inputs(config, source="config.yaml")
    assert str(err.value) == (
        "config.yaml: inputs.landsat[0].stac_api: cannot search the STAC API https://x.org: "
        "connection refused"
    )


def test_level1_products_are_left_out_with_a_warning(products, tmp_path, write_config):
    # A Collection 2 Level-1 scene among the L2SP ones: the run takes LST from Level-2
    # surface temperature, so the L1 scene is left out, said once, and the rest kept.
    from raster.synthetic import write_landsat_c2l1

    from .conftest import UTM_ORIGIN, N

    l1 = write_landsat_c2l1(
        tmp_path / "l1", bands={"qa_pixel": np.ones((N, N), dtype="uint16")}, crs=32631,
        transform=from_origin(*UTM_ORIGIN, 30, 30), platform="landsat-8", path=199, row=30,
        date=dt.date(2023, 7, 28),
    )  # fmt: skip
    config = config_for(write_config, f"['{products}', '{l1}']")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    said = [m for m in messages(caught) if "left out" in m]
    assert len(said) == 1 and f"e.g. {l1.name} is a Level-1 product (L1TP)" in said[0]
    assert "download the L2SP product" in said[0]


def test_an_l2sp_product_without_its_st_b10_file_is_named_as_such(products, tmp_path,
                                                                  write_config):  # fmt: skip
    """An L2SP folder whose ST_B10 file is missing is not "an L2SR product": it says which
    file to fetch again."""
    copy = tmp_path / "copy"
    shutil.copytree(products / L9_JULY, copy / L9_JULY)
    (copy / L9_JULY / f"{L9_JULY}_ST_B10.TIF").unlink()
    config = config_for(write_config, f"['{products}', '{copy}']")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolve_inputs(config)
    said = [m for m in messages(caught) if "left out" in m]
    assert len(said) == 1
    assert f"e.g. {L9_JULY} is without its ST_B10 file (surface temperature)" in said[0]


#: The files of each USGS STAC item of a Level-2 product, by the LandsatLook API's keys.
USGS_HALVES = {
    "SR": {"red": "SR_B4.TIF", "qa_pixel": "QA_PIXEL.TIF", "MTL.json": "MTL.json"},
    "ST": {"lwir11": "ST_B10.TIF", "qa_pixel": "QA_PIXEL.TIF", "MTL.json": "MTL.json"},
}


def usgs_item(product: Path, half: str, *, suffixed_id: bool = True) -> dict:
    """The SR or ST item of a product as USGS gives it: the LandsatLook STAC API's
    (``<id>_SR``, remote hrefs) or, with ``suffixed_id=False``, a download's
    ``_SR_stac.json`` (the product id). Hrefs point to USGS; the files are not beside."""
    local = open_product(product)
    pid = product.name
    base = f"https://landsatlook.usgs.gov/data/collection02/level-2/standard/oli-tirs/2023/199/030/{pid}"
    with rasterio.open(product / f"{pid}_SR_B4.TIF") as src:
        grid = {"proj:epsg": src.crs.to_epsg(), "proj:shape": list(src.shape),
                "proj:transform": list(src.transform)[:6]}  # fmt: skip
    return {
        "type": "Feature", "stac_version": "1.0.0",
        "id": f"{pid}_{half}" if suffixed_id else pid,
        "collection": f"landsat-c2l2-{half.lower()}",
        "properties": {"datetime": local.datetime.isoformat(), "platform": "LANDSAT_8",
                       "eo:cloud_cover": 5.0, "landsat:correction": "L2SP", **grid},
        "geometry": local.geometry, "bbox": local.bbox, "links": [],
        "assets": {key: {"href": f"{base}/{pid}_{name}", "roles": ["data"]}
                   for key, name in USGS_HALVES[half].items()},
    }  # fmt: skip


def usgs_catalogue(products: Path, folder: Path, halves=("SR", "ST")) -> Path:
    """A static catalogue of USGS items (each in its own folder, as pystac saves them)."""
    root = pystac.Catalog(id="usgs", description="LandsatLook items")
    for half in halves:
        root.add_item(pystac.Item.from_dict(usgs_item(products / L8_JULY, half)))
    root.normalize_hrefs(str(folder))
    root.save(pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"


def test_usgs_sr_and_st_items_of_a_catalogue_make_one_product(products, tmp_path, write_config):
    href = usgs_catalogue(products, tmp_path / "stac")
    config = config_for(write_config, f"[{{catalog: {{href: '{href}'}}}}]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY]
    (item,) = found.landsat
    base = "https://landsatlook.usgs.gov/data/collection02/level-2/standard/oli-tirs/2023/199/030"
    assert item.assets["red"].href == f"{base}/{L8_JULY}/{L8_JULY}_SR_B4.TIF"
    assert item.assets["lwir11"].href == f"{base}/{L8_JULY}/{L8_JULY}_ST_B10.TIF"
    assert "ilots:usgs_half" not in item.properties
    assert found.skipped == ()
    assert not [m for m in messages(caught) if "left out" in m or "half" in m]


def test_a_lone_usgs_sr_item_is_said_to_be_the_sr_half(products, tmp_path, write_config):
    href = usgs_catalogue(products, tmp_path / "stac", halves=("SR",))
    config = config_for(write_config, f"[{{catalog: {{href: '{href}'}}}}]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError) as err:
            resolve_inputs(config, source="c.yaml")
    message = str(err.value)
    assert message.startswith("c.yaml: inputs.landsat: no Landsat product within the periods")
    assert f"e.g. {L8_JULY} is the SR half ({L8_JULY}_SR.json, collection landsat-c2l2-sr" in (
        message
    )
    assert f"without its ST item ({L8_JULY}_ST, collection landsat-c2l2-st" in message
    assert "download the product again" not in message


def test_a_lone_usgs_st_item_warns_that_indices_need_the_sr_item(products, tmp_path, write_config):
    href = usgs_catalogue(products, tmp_path / "stac", halves=("ST",))
    config = config_for(write_config, f"[{{catalog: {{href: '{href}'}}}}]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config, source="c.yaml")
    assert ids(found.landsat) == [L8_JULY]  # its LST is used
    said = [m for m in messages(caught) if "without reflectance" in m]
    assert said == [
        "c.yaml: inputs.landsat: 1 product(s) without reflectance, so no Landsat NDVI, albedo "
        f"or land cover: e.g. {L8_JULY} is the ST half ({L8_JULY}_ST.json, collection "
        "landsat-c2l2-st: surface temperature only) of a USGS product without its SR item "
        f"({L8_JULY}_SR, collection landsat-c2l2-sr: the surface reflectance); give both "
        "(search or catalogue both collections, or put the SR item beside it as "
        f"{L8_JULY}_SR.json)"
    ]


def test_a_folder_of_usgs_stac_jsons_gives_every_product(products, tmp_path, write_config):
    """USGS's ``_SR_stac.json`` / ``_ST_stac.json`` of two products, without their MTL."""
    folder = tmp_path / "stac_jsons"
    folder.mkdir()
    for pid in (L8_JULY, L9_JULY):
        for half in ("SR", "ST"):
            data = usgs_item(products / pid, half, suffixed_id=False)
            (folder / f"{pid}_{half}_stac.json").write_text(json.dumps(data))
    config = config_for(write_config, f"['{folder}']")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = resolve_inputs(config)
    assert ids(found.landsat) == [L8_JULY, L9_JULY]
    for item in found.landsat:
        assert {"red", "lwir11", "qa_pixel"} <= set(item.assets)
    assert found.skipped == ()
    assert not [m for m in messages(caught) if "skipping" in m or "left out" in m]


def test_usgs_api_sr_and_st_items_make_one_product(monkeypatch, products, tmp_path, write_config):
    pystac_client = pytest.importorskip("pystac_client")
    found_items = [pystac.Item.from_dict(usgs_item(products / L8_JULY, half))
                   for half in ("SR", "ST")]  # fmt: skip
    monkeypatch.setattr(
        pystac_client.Client, "open", staticmethod(lambda url, **kw: FakeClient(found_items))
    )
    config = config_for(
        write_config,
        "[{stac_api: {url: 'https://landsatlook.usgs.gov/stac-server', "
        "collections: [landsat-c2l2-sr, landsat-c2l2-st]}}]",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no scale/offset in USGS's items: the defaults
        found = resolve_inputs(config, item_dir=tmp_path / "items")
    assert ids(found.landsat) == [L8_JULY]
    assert {"red", "lwir11", "qa_pixel"} <= set(found.landsat[0].assets)
    saved = sorted(p.name for p in (tmp_path / "items").iterdir())
    assert saved == [f"{L8_JULY}_SR.json", f"{L8_JULY}_ST.json"]


@pytest.mark.parametrize(("max_items", "warned"), [(2, True), (3, False), (None, False)])
def test_a_search_stopped_by_max_items_is_said(fake_api, max_items, warned):
    """The fake API holds 2 items of summer 2023: a limit of 2 may have cut the answer."""
    api = StacApiSource(
        url="https://stac.example/v1", collections=["landsat-c2-l2"], max_items=max_items
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = search_stac_api(
            api,
            bbox=(1.3, 43.5, 1.6, 43.7),
            intervals=SUMMER,
            key="c.yaml: inputs.landsat[0].stac_api",
        )
    assert len(items) == 2
    said = [m for m in messages(caught) if "max_items" in m]
    if warned:
        assert said == [
            "c.yaml: inputs.landsat[0].stac_api.max_items: the search of "
            "https://stac.example/v1 returned 2 items, the limit, for 1 period(s) (e.g. "
            "2023-06-01 to 2023-08-31): there may be more products; raise max_items (null: no "
            "limit), or narrow the periods or max_cloud_cover"
        ]
    else:
        assert said == []


@pytest.mark.realdata
def test_an_espa_collection1_level2_folder_says_so(real_data, tmp_path, write_config):
    """A run given an ESPA order (C1 Level-1 MTL beside ``_sr_band4.tif`` ...): the warning
    that skips it says it is Collection 1 Level-2 (ESPA), and what to download."""
    name = "LC08_L1TP_016037_20170813_20170814_01_RT"
    source = real_data / "landsat_l1" / name
    folder = tmp_path / "downloads" / name
    folder.mkdir(parents=True)
    shutil.copy(source / f"{name}_MTL.txt", folder)
    for level1, espa in (("B4", "sr_band4"), ("BQA", "pixel_qa")):
        (folder / f"{name}_{espa}.tif").symlink_to(source / f"{name}_{level1}.TIF")
    config = config_for(write_config, f"['{tmp_path / 'downloads'}']")
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ConfigError):
        warnings.simplefilter("always")
        resolve_inputs(config)
    said = (
        f"skipping {folder.parent}: {folder}: {name}_sr_band4.tif and the files beside it are "
        "Collection 1 Level-2 as ESPA delivered it; Collection 1 Level-2 (ESPA) is not "
        "supported: download Collection 2 Level-2 from EarthExplorer"
    )
    assert any(text.endswith(said) for text in messages(caught)), messages(caught)


@pytest.mark.realdata
def test_a_real_loose_mtl_does_not_hide_the_product_folder_beside_it(real_data, write_config):
    """``landsat_l1/`` holds a Collection 2 Level-1 MTL loose and a Collection 1 Level-1
    product folder: both are read (and left out as Level-1, the run needing Level-2)."""
    config = config_for(
        write_config, f"['{real_data / 'landsat_l1'}']",
        periods={"ranges": [{"start": "2017-08-01", "end": "2017-11-30"}]},  # both dates
        aoi={"bbox": [-85.0, 30.0, 5.0, 50.0]},  # South Carolina to western France
    )  # fmt: skip
    with warnings.catch_warnings(), pytest.raises(ConfigError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        resolve_inputs(config)
    assert "(2 without Level-2 surface temperature)" in str(err.value)


def _laea_share(area_bbox, footprint_bbox) -> float:
    """The share of a lon/lat box another covers, in the Lambert equal-area CRS (an oracle)."""
    boxes = gpd.GeoSeries([box(*area_bbox), box(*footprint_bbox)], crs=4326).to_crs(3035)
    return float(boxes[0].intersection(boxes[1]).area / boxes[0].area)


def _strip(share_of_longitude: float):
    """A product whose footprint is the west ``share_of_longitude`` of lon 1-2, lat 43-44."""
    when = dt.datetime(2023, 7, 12, tzinfo=UTC)
    footprint = (1.0, 43.0, 1.0 + share_of_longitude, 44.0)
    return synthetic_item("L8", when, footprint, "landsat-c2-l2"), footprint


def test_products_covering_part_of_the_area_are_warned_about(write_config):
    # A 1 x 1 degree box; the footprint covers its west 30 %: warned, with the share and fix.
    config = config_for(write_config, "[products]", aoi={"bbox": [1.0, 43.0, 2.0, 44.0]})
    area = area_of_interest(config)
    item, footprint = _strip(0.3)
    expected = _laea_share((1.0, 43.0, 2.0, 44.0), footprint)
    assert 0.29 < expected < 0.31
    assert landsat_coverage(area, [item]) == pytest.approx(expected, abs=1e-3)
    with pytest.warns(IlotsWarning) as caught:
        share = check_coverage(config, area, [item], source="c.yaml")
    assert share == pytest.approx(expected, abs=1e-3)
    (warning,) = [w.message for w in caught if "cover" in str(w.message)]
    assert warning.code == "partial_coverage"
    assert str(warning) == (
        f"c.yaml: aoi: the Landsat products cover {100 * expected:.1f} % of the area of "
        "interest (bbox [1.0, 43.0, 2.0, 44.0]); their footprints span lon 1.00 to 1.30, lat "
        "43.00 to 44.00: the zones outside them get no LST; add the products that cover them "
        "(inputs.landsat), or set aoi.bbox to the area your scenes cover"
    )
    # Half of it or more: nothing said.
    wide, _ = _strip(0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_coverage(config, area, [wide]) > 0.5


def test_products_covering_a_tiny_part_of_a_national_area_stop_the_run(tmp_path, write_config):
    # aoi.zones: iris without aoi.communes, the IRIS file of all France (here 4 IRIS of
    # 500 m): the products cover a speck of it, an error saying how to fix the config.
    iris_layer(tmp_path / "iris.gpkg")
    config = config_for(
        write_config, "[products]", aoi={"zones": "iris"}, zones={"iris": {"path": "iris.gpkg"}}
    )
    area = area_of_interest(config)
    # A 0.0004 x 0.0004 degree box (about 32 x 44 m) inside the first IRIS square:
    # 1400 m² of the 4 squares' 1,000,000 m², about 0.14 %.
    square = gpd.GeoSeries([box(574_000, 6_279_000, 574_500, 6_279_500)], crs=2154)
    centre = square.centroid.to_crs(4326).iloc[0]
    speck = (centre.x - 0.0002, centre.y - 0.0002, centre.x + 0.0002, centre.y + 0.0002)
    when = dt.datetime(2023, 7, 12, tzinfo=UTC)
    item = synthetic_item("L8", when, speck, "landsat-c2-l2")
    expected = float(gpd.GeoSeries([box(*speck)], crs=4326).to_crs(2154).area.iloc[0] / 1_000_000.0)
    assert landsat_coverage(area, [item]) == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ConfigError) as err:
        check_coverage(config, area, [item], source="c.yaml")
    assert re.fullmatch(
        r"c\.yaml: aoi: the Landsat products cover 0\.1\d % of the area of interest \(4 iris "
        r"features of 3 communes\); their footprints span lon [\d.]+ to [\d.]+, lat [\d.]+ to "
        r"[\d.]+: set aoi\.communes or aoi\.bbox to the area your scenes cover, or add the "
        r"products that cover it \(inputs\.landsat\)",
        str(err.value),
    )


def test_the_share_covered_counts_each_hole_and_part_under_the_footprints():
    """Three squares of Lambert-93 (a multipolygon, in km²): S1, 10 x 10 across the 3 E
    meridian, which Lambert-93 draws as the line x = 700 km, with 1 km² holes west and east
    of it and a 2 km² one across it; S2, 2 x 2 west of it, less a 0.25 km² hole; S3, 2 x 2
    east. A footprint from 1 W to 3 E covers the west of S1 (50 - 1 - 1) and S2 (3.75) of
    the 103.75 km²: 51.75 / 103.75. One reaching 3.5 E covers all of it."""

    def square(west_km, south_km, side_km):
        x, y = 1000 * west_km, 1000 * south_km
        return box(x, y, x + 1000 * side_km, y + 1000 * side_km).exterior

    s1 = Polygon(
        square(695, 6600, 10),
        [square(696, 6601, 1), box(699_000, 6_605_000, 701_000, 6_606_000).exterior,
         square(702, 6601, 1)],
    )  # fmt: skip
    s2 = Polygon(square(690, 6600, 2), [square(690.5, 6600.5, 0.5)])
    area = AreaOfInterest(MultiPolygon([s1, s2, Polygon(square(710, 6600, 2))]), CRS(2154))
    assert area.geometry.area == pytest.approx(103.75e6)
    when = dt.datetime(2023, 7, 12, tzinfo=UTC)
    west = synthetic_item("L8", when, (-1.0, 40.0, 3.0, 50.0), "landsat-c2-l2")
    assert landsat_coverage(area, [west]) == pytest.approx(51.75 / 103.75, rel=1e-9)
    wider = synthetic_item("L8", when, (-1.0, 40.0, 3.5, 50.0), "landsat-c2-l2")
    assert landsat_coverage(area, [wider]) == pytest.approx(1.0, rel=1e-12)


def _far_apart_iris(path: Path) -> tuple[float, float, float, float]:
    """Write 3 IRIS in Lambert-93: a 200 m square at the centre of :func:`landsat_product`'s
    240 m footprint, 100 m squares in Brittany and Alsace; return the layer's bounds."""
    to_l93 = gpd.GeoSeries.from_xy([UTM_ORIGIN[0] + 120], [UTM_ORIGIN[1] - 120], crs=32631)
    centre = to_l93.to_crs(2154).iloc[0]
    squares = [
        box(centre.x - 100, centre.y - 100, centre.x + 100, centre.y + 100),
        box(300_000, 6_700_000, 300_100, 6_700_100),
        box(999_900, 6_899_900, 1_000_000, 6_900_000),
    ]
    gpd.GeoDataFrame(
        {
            "code_iris": ["315550101", "290190101", "670820101"],
            "nom_iris": ["Capitole", "Centre", "Centre"],
            "insee_com": ["31555", "29019", "67082"],
            "nom_com": ["Toulouse", "Brest", "Haguenau"],
            "iris": ["0101", "0101", "0101"],
            "typ_iris": ["H", "H", "H"],
        },
        geometry=squares,
        crs="EPSG:2154",
    ).to_file(path, layer="contours_iris", driver="GPKG")
    return 300_000.0, centre.y - 100, 1_000_000.0, 6_900_000.0


def test_a_few_iris_far_apart_are_refused_from_their_extent(tmp_path, write_config):
    """aoi.zones: iris without aoi.communes over 3 IRIS 700 km apart: the products cover
    most of the IRIS (2/3 of their area), but the run's grid would span 700 x 620 km of
    which they cover a speck: refused, saying the extent's size and the fix."""
    west, south, east, north = _far_apart_iris(tmp_path / "iris.gpkg")
    landsat_product(tmp_path / "products", dt.date(2023, 7, 12))
    config = config_for(
        write_config, "[products]", aoi={"zones": "iris"}, zones={"iris": {"path": "iris.gpkg"}}
    )
    items = resolve_inputs(config).landsat
    # The share of the IRIS themselves: 0.04 of 0.06 km², far above the 5 % refused.
    assert landsat_coverage(area_of_interest(config), items) == pytest.approx(2 / 3, rel=0.01)
    size = f"{(east - west) / 1000:,.0f} x {(north - south) / 1000:,.0f} km"
    assert size == "700 x 620 km"
    with pytest.raises(ConfigError) as err:
        check_extent_coverage(config, source="c.yaml")
    assert re.fullmatch(
        r"c\.yaml: aoi: the Landsat products cover under 0\.001 % of the area of interest \(the "
        r"extent of the 3 features of iris\.gpkg in zones\.iris, all of them as aoi\.zones has "
        rf"no aoi\.communes\), which spans {size}, under the 5\.0 % a run needs; their "
        r"footprints span lon [\d.]+ to [\d.]+, lat [\d.]+ to [\d.]+: set aoi\.communes or "
        r"aoi\.bbox to the area your scenes cover, or add the products that cover it "
        r"\(inputs\.landsat\)",
        str(err.value),
    ), str(err.value)
    # With the communes of the covered IRIS, the extent is not known before reading them:
    # nothing said here (the run's own check then measures their area).
    communes = config_for(
        write_config, "[products]", aoi={"zones": "iris", "communes": ["31555"]},
        zones={"iris": {"path": "iris.gpkg"}},
    )  # fmt: skip
    check_extent_coverage(communes, source="c.yaml")


def _delete_iris(path: Path, codes: list[str]) -> None:
    """Delete IRIS as ``ogrinfo FILE -sql "DELETE FROM ..."`` does (GDAL hands a GeoPackage's
    SQL to SQLite; QGIS deletes alike): their R-tree rows go, the gpkg_contents extent
    stays."""
    listed = ", ".join("?" for _ in codes)
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute(f"DELETE FROM contours_iris WHERE code_iris IN ({listed})", codes)


def test_a_stale_geopackage_extent_is_confirmed_from_the_features(tmp_path, write_config):
    """A GeoPackage's gpkg_contents keeps the extent of IRIS deleted since: the far IRIS gone,
    the remaining one (under the scenes) was refused for a 700 x 620 km extent. The extent
    is now confirmed from the features' own bounds; with one far IRIS left, the refusal says
    their extent."""
    west, south, east, north = _far_apart_iris(tmp_path / "iris.gpkg")
    landsat_product(tmp_path / "products", dt.date(2023, 7, 12))
    config = config_for(
        write_config, "[products]", aoi={"zones": "iris"}, zones={"iris": {"path": "iris.gpkg"}}
    )
    _delete_iris(tmp_path / "iris.gpkg", ["670820101"])  # Alsace
    info = pyogrio.read_info(tmp_path / "iris.gpkg", force_total_bounds=True)
    assert info["features"] == 2
    assert tuple(info["total_bounds"]) == (west, south, east, north)  # stale: Alsace's
    # Left: Brittany's square and the centre's, their extent read from the file whole.
    left, bottom, right, top = gpd.read_file(tmp_path / "iris.gpkg").total_bounds
    size = f"{(right - left) / 1000:,.0f} x {(top - bottom) / 1000:,.0f} km"
    with pytest.raises(ConfigError) as err:
        check_extent_coverage(config, source="c.yaml")
    assert re.fullmatch(
        r"c\.yaml: aoi: the Landsat products cover under 0\.001 % of the area of interest \(the "
        r"extent of the 2 features of iris\.gpkg in zones\.iris, all of them as aoi\.zones has "
        rf"no aoi\.communes\), which spans {size}, under the 5\.0 % a run needs; .*",
        str(err.value),
    ), str(err.value)
    _delete_iris(tmp_path / "iris.gpkg", ["290190101"])  # Brittany: the centre's IRIS alone
    check_extent_coverage(config, source="c.yaml")


def _two_iris_150_km_apart(path: Path) -> None:
    """Write 2 IRIS of 1 km² in Lambert-93, 150 km apart east-west and 100 km north-south
    (an extent of 15,000 km², checked before the IRIS are read)."""
    gpd.GeoDataFrame(
        {"code_iris": ["315550101", "810040101"], "insee_com": ["31555", "81004"],
         "nom_iris": ["A", "B"], "nom_com": ["Toulouse", "Albi"], "iris": ["0101", "0101"],
         "typ_iris": ["H", "H"]},
        geometry=[box(520_000, 6_230_000, 521_000, 6_231_000),
                  box(669_000, 6_329_000, 670_000, 6_330_000)],
        crs="EPSG:2154",
    ).to_file(path, layer="contours_iris", driver="GPKG")  # fmt: skip


@pytest.fixture
def wide_api(monkeypatch, tmp_path):
    """A fake API of 2 products of summer 2023: L8 over most of Occitanie (240 km square,
    pixels of 30 km), L9 near Toulouse (240 m square, 70 km from both IRIS)."""
    pystac_client = pytest.importorskip("pystac_client")
    big = {band: data[:1, :1].repeat(8, 0).repeat(8, 1) for band, data in _bands().items()}
    write_landsat_c2l2(tmp_path / "api", bands=big, crs=32631, platform="landsat-8",
                       transform=from_origin(240_000, 4_940_000, 30_000, 30_000), path=199,
                       row=30, date=dt.date(2023, 7, 12))  # fmt: skip
    landsat_product(tmp_path / "api", dt.date(2023, 7, 20), platform="landsat-9")
    items = []
    for name in (L8_JULY, L9_JULY):
        item = open_product(tmp_path / "api" / name)
        item.set_self_href(None)
        item.clear_links()
        items.append(item)
    FakeClient.searches = []
    monkeypatch.setattr(
        pystac_client.Client, "open", staticmethod(lambda url, **kw: FakeClient(items))
    )
    return FakeClient


def _bands():
    n = 8
    return {
        "red": reflectance_to_dn_landsat(np.full((n, n), 0.05)),
        "lwir11": kelvin_to_st_dn(np.full((n, n), 300.0)),
        "qa_pixel": np.full((n, n), encode_qa_pixel(), dtype="uint16"),
    }


@pytest.mark.parametrize("max_items", [None, 1])
def test_a_large_area_is_searched_once(wide_api, tmp_path, write_config, max_items):
    """aoi.zones: iris without aoi.communes over an extent of 15,000 km²: the extent check
    searches the API over it, the run's resolution over the IRIS (their box lies within it)
    finds the same items without a second search, as a fresh search finds them. A search
    stopped at max_items may have left out some of the IRIS's: theirs is made again, the
    extent's not (it took a third, over the extent's own box)."""
    _two_iris_150_km_apart(tmp_path / "iris.gpkg")
    api = "{stac_api: {url: 'https://stac.example/v1', collections: [landsat-c2-l2]"
    api += "}}" if max_items is None else f", max_items: {max_items}}}}}"
    config = config_for(write_config, f"[{api}]", aoi={"zones": "iris"},
                        zones={"iris": {"path": "iris.gpkg"}})  # fmt: skip
    area = area_of_interest(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = resolve_inputs(config, area=area, item_dir=tmp_path / "fresh")
        wide_api.searches.clear()
        searches = Searches()
        check_extent_coverage(config, source="c.yaml", searches=searches)
        found = resolve_inputs(config, area=area, item_dir=tmp_path / "items", searches=searches)
    assert len(wide_api.searches) == (1 if max_items is None else 2)  # 1 period: summer 2023
    assert ids(found.landsat) == ids(fresh.landsat) == [L8_JULY]
    assert [s.replace("/items/", "/fresh/") for s in found.skipped] == list(fresh.skipped)
    assert found.skipped[0].startswith(f"{L9_JULY}: footprint outside the area of interest")
    saved = sorted(p.name for p in (tmp_path / "items").iterdir())
    assert saved == sorted(p.name for p in (tmp_path / "fresh").iterdir())


@pytest.mark.parametrize("max_items", [None, 1])
def test_a_large_bbox_is_searched_once_even_when_stopped(wide_api, tmp_path, write_config,
                                                         max_items):  # fmt: skip
    """aoi.bbox over 26,000 km²: the extent check and the run search the same box, so the
    run takes the extent check's search, a search stopped at max_items too (the same search
    again finds the same items; it took 3), and says the stop once, as a fresh run does."""
    api = "{stac_api: {url: 'https://stac.example/v1', collections: [landsat-c2-l2]"
    api += "}}" if max_items is None else f", max_items: {max_items}}}}}"
    config = config_for(write_config, f"[{api}]", aoi={"bbox": [0.5, 43.0, 2.5, 44.5]})
    area = area_of_interest(config)
    with warnings.catch_warnings(record=True) as fresh_said:
        warnings.simplefilter("always")
        fresh = resolve_inputs(config, area=area, item_dir=tmp_path / "fresh")
    wide_api.searches.clear()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        searches = Searches()
        check_extent_coverage(config, source="config", searches=searches)
        found = resolve_inputs(config, area=area, item_dir=tmp_path / "items", searches=searches)
    assert len(wide_api.searches) == 1  # 1 period: summer 2023
    assert ids(found.landsat) == ids(fresh.landsat)
    stopped = [m for m in messages(said) if "max_items" in m]
    assert stopped == [m for m in messages(fresh_said) if "max_items" in m]
    assert len(stopped) == (0 if max_items is None else 1)
