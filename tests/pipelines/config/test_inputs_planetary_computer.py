"""Planetary Computer items from item files, static catalogues and unsigned searches (no network).

Planetary Computer's storage (Azure blobs) refuses unsigned reads. Its items, wherever they
come from, are marked to be signed at each read (``raster.load.SIGN_PROPERTY``), as a search
with ``stac_api.sign: planetary_computer`` is; without the planetary-computer package the
source is refused in one line before any pixel is read. A stand-in ``planetary_computer``
module signs here: each signature a fake token. The items are the real Planetary Computer
Sentinel-2 item of the shared data and Landsat items in Planetary Computer's layout made
from synthetic products (``tests/pipelines/test_run_stac_api.py``'s ``_pc_item``).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import sys
import threading
import types
from pathlib import Path

import pystac
import pytest
import yaml
from click.testing import CliRunner
from odc.loader.types import RasterSource

from pipelines.cli import main
from pipelines.config import ConfigError, apply_overrides, dump_config, load_config, resolve_inputs
from pipelines.run import run
from raster.load import SIGN_PROPERTY, _driver
from tests.pipelines.test_run_stac_api import (
    EXPIRED,
    SAS,
    _config,
    _pc_item,
    _same_run,
    _SignedFiles,
)

from .conftest import MINIMAL
from .test_inputs import L8_JULY, L9_JULY

#: Planetary Computer's storage of Landsat Collection 2.
PC_LANDSAT = "https://landsateuwest.blob.core.windows.net"
#: What a user's saved item keeps of the signature of the search that found it (expired).
OLD = "st=2023-09-01T00%3A00%3A00Z&se=2023-09-01T00%3A45%3A00Z&sp=rl&sr=c&sig=old"
FAKE = "sig=fake"
#: The links of an item of Planetary Computer's STAC API.
PC_API = "https://planetarycomputer.microsoft.com/api/stac/v1"
PC_LINKS = [
    {"rel": "self", "href": f"{PC_API}/collections/landsat-c2-l2/items/x"},
    {"rel": "collection", "href": f"{PC_API}/collections/landsat-c2-l2"},
    {"rel": "root", "href": PC_API},
]
PC_S2 = "stac_items/odc-stac/S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"


def pc_item_json(
    product: Path, base: str = PC_LANDSAT, *, token: str | None = OLD, links: list | None = None
) -> dict:
    """A Landsat item as Planetary Computer gives it, its files at ``base``, each href
    with ``token`` as a query (a saved signed item), with ``links``."""
    data = _pc_item(product, base).to_dict(include_self_link=False, transform_hrefs=False)
    for asset in data["assets"].values():
        asset["href"] += f"?{token}" if token else ""
    data["links"] = PC_LINKS if links is None else links
    return data


def write_items(folder: Path, *items: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for data in items:
        (folder / f"{data['id']}.json").write_text(json.dumps(data))
    return folder


def resolve(write_config, landsat, sentinel2=(), item_dir=None, **sections):
    """Resolve the inputs of MINIMAL with these sources (and other sections replaced)."""
    data = yaml.safe_load(MINIMAL)
    data["inputs"] = {"landsat": list(landsat), "sentinel2": list(sentinel2)}
    data.update(sections)
    config = load_config(write_config(yaml.safe_dump(data)), check_paths=False)
    return resolve_inputs(config, source="config.yaml", item_dir=item_dir)


@pytest.fixture
def signer(monkeypatch):
    """A stand-in planetary_computer whose ``sign`` appends a fake token; the hrefs it signed."""
    signed: list[str] = []
    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: signed.append(href) or f"{href}?{FAKE}"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    return signed


@pytest.fixture
def no_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "planetary_computer", None)  # import raises ImportError


def read_uri(items: tuple[pystac.Item, ...], band: str) -> str:
    """The href odc-stac's reader of ``items`` gives rasterio for the first item's ``band``."""
    driver = _driver(items)
    assert driver is not None, "the items are read without signing"
    return driver.open(RasterSource(items[0].assets[band].href), None)._src.uri


def test_planetary_computer_item_files_are_signed_at_each_read(
    products, tmp_path, write_config, signer
):
    data = pc_item_json(products / L8_JULY)
    folder = write_items(tmp_path / "items", data)
    found = resolve(write_config, [f"{folder}/*.json"])
    assert [it.id for it in found.landsat] == [L8_JULY]
    item = found.landsat[0]
    assert item.properties[SIGN_PROPERTY] == "planetary_computer"
    href = item.assets["lwir11"].href
    assert href.startswith(f"{PC_LANDSAT}/landsat-c2/") and href.endswith(f"_ST_B10.TIF?{OLD}")
    # Each read signs afresh, the saved (expired) signature left out.
    assert read_uri(found.landsat, "lwir11") == f"{href.split('?')[0]}?{FAKE}"
    assert signer == [href.split("?")[0]]


def test_gdal_curl_paths_of_planetary_computer_are_signed_after_the_prefix(
    products, tmp_path, write_config, signer, monkeypatch
):
    """Hrefs given as GDAL /vsicurl/ paths (with a saved signature) are Planetary Computer's
    too: signed at each read, the URL after the prefix, the prefix kept; without the
    package, refused before any read."""
    data = pc_item_json(products / L8_JULY)
    for asset in data["assets"].values():
        asset["href"] = f"/vsicurl/{asset['href']}"
    folder = write_items(tmp_path / "items", data)
    found = resolve(write_config, [str(folder)])
    assert [it.id for it in found.landsat] == [L8_JULY]
    assert found.landsat[0].properties[SIGN_PROPERTY] == "planetary_computer"
    href = found.landsat[0].assets["lwir11"].href
    assert href.startswith(f"/vsicurl/{PC_LANDSAT}/landsat-c2/")
    assert href.endswith(f"_ST_B10.TIF?{OLD}")
    url = href[len("/vsicurl/") :].split("?")[0]
    assert read_uri(found.landsat, "lwir11") == f"/vsicurl/{url}?{FAKE}"
    assert signer == [url]
    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    with pytest.raises(ConfigError, match=r"inputs.landsat\[0\]: 1 Planetary Computer item"):
        resolve(write_config, [str(folder)])


@pytest.mark.realdata
def test_a_real_planetary_computer_sentinel2_item_is_signed(
    real_data, products, tmp_path, write_config, signer, monkeypatch
):
    # The real item (tile 06VVN, 2019-06-29) beside a Landsat item made to cover it.
    s2 = json.loads((real_data / PC_S2).read_text())
    landsat = pc_item_json(products / L8_JULY, links=[])
    landsat.update(geometry=s2["geometry"], bbox=s2["bbox"])
    landsat["properties"]["datetime"] = s2["properties"]["datetime"]
    folder = write_items(tmp_path / "items", landsat)
    shutil.copy(real_data / PC_S2, folder)
    where = {"aoi": {"bbox": [-147.9, 60.8, -147.8, 60.85]}, "periods": {"years": [2019]}}
    landsat_src, s2_src = f"{folder}/LC08*.json", f"{folder}/S2B*.json"
    found = resolve(write_config, [landsat_src], [s2_src], **where)
    assert [it.id for it in found.sentinel2] == [s2["id"]]
    item = found.sentinel2[0]
    assert item.properties[SIGN_PROPERTY] == "planetary_computer"
    href = item.assets["red"].href
    assert href.startswith("https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/")
    assert read_uri(found.sentinel2, "red") == f"{href}?{FAKE}"
    # Without the package: refused at once, naming the source.
    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    usgs = pc_item_json(products / L8_JULY, "https://landsatlook.usgs.gov/data", links=[])
    usgs.update(geometry=s2["geometry"], bbox=s2["bbox"])
    usgs["properties"]["datetime"] = s2["properties"]["datetime"]
    write_items(tmp_path / "usgs", usgs)
    with pytest.raises(ConfigError) as err:
        resolve(write_config, [f"{tmp_path / 'usgs'}/*.json"], [s2_src], **where)
    assert str(err.value) == (
        f"config.yaml: inputs.sentinel2[0]: 1 Planetary Computer item(s) (e.g. {s2['id']}), "
        "whose storage refuses unsigned reads: signing their URLs needs the "
        "planetary-computer package (pip install planetary-computer)"
    )


@pytest.mark.parametrize(
    ("base", "links", "signed"),
    [
        (PC_LANDSAT, [], True),  # Planetary Computer's account, links dropped
        ("https://mycity.blob.core.windows.net", PC_LINKS, True),  # another account, its item
        ("https://mycity.blob.core.windows.net", [], False),  # a city's own Azure storage
        ("https://landsatlook.usgs.gov/data", PC_LINKS, False),  # not on Azure
    ],
)
def test_what_is_signed(products, tmp_path, write_config, signer, base, links, signed):
    folder = write_items(tmp_path / "items", pc_item_json(products / L8_JULY, base, links=links))
    item = resolve(write_config, [str(folder)]).landsat[0]
    assert item.properties.get(SIGN_PROPERTY) == ("planetary_computer" if signed else None)
    assert signer == []  # nothing signed before a read


def test_an_item_beside_its_files_or_off_planetary_computer_needs_no_package(
    products, tmp_path, write_config, no_package
):
    # A Planetary Computer item JSON beside the product's files reads the files on disk.
    local = tmp_path / "downloads" / L8_JULY
    shutil.copytree(products / L8_JULY, local)
    write_items(local, pc_item_json(products / L8_JULY))
    # A Landsat item of USGS's storage.
    usgs = pc_item_json(products / L9_JULY, "https://landsatlook.usgs.gov/data", links=[])
    folder = write_items(tmp_path / "usgs", usgs)
    found = resolve(write_config, [f"{local}/*_T1.json", str(folder)])
    assert [it.id for it in found.landsat] == [L8_JULY, L9_JULY]
    assert all(SIGN_PROPERTY not in it.properties for it in found.landsat)
    assert found.landsat[0].assets["red"].href == str(local / f"{L8_JULY}_SR_B4.TIF")
    assert found.landsat[1].assets["red"].href.startswith("https://landsatlook.usgs.gov/")


def test_without_the_package_a_planetary_computer_item_is_one_line(
    products, tmp_path, write_config, no_package
):
    folder = write_items(tmp_path / "items", pc_item_json(products / L8_JULY))
    with pytest.raises(ConfigError) as err:
        resolve(write_config, [str(products / L9_JULY), str(folder)])
    assert str(err.value) == (
        f"config.yaml: inputs.landsat[1]: 1 Planetary Computer item(s) (e.g. {L8_JULY}), whose "
        "storage refuses unsigned reads: signing their URLs needs the planetary-computer "
        "package (pip install planetary-computer)"
    )


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on 127.0.0.1: its URL."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def pc_catalogue(products: Path, folder: Path) -> None:
    """A static catalogue of signed Planetary Computer items (as saved after signing; its
    links are the catalogue's)."""
    catalog = pystac.Catalog("archive", "Planetary Computer items")
    catalog.add_item(pystac.Item.from_dict(pc_item_json(products / L8_JULY, links=[])))
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)


@pytest.mark.parametrize("where", ["local catalogue", "served catalogue", "unsigned search"])
def test_catalogue_and_search_items_are_signed_and_saved_without_token(
    products, tmp_path, write_config, signer, served, monkeypatch, where
):
    root, url = served
    if where == "unsigned search":
        pystac_client = pytest.importorskip("pystac_client")
        items = [pystac.Item.from_dict(pc_item_json(products / L8_JULY))]

        class Client:
            @classmethod
            def open(cls, url, modifier=None, **kwargs):
                assert modifier is None
                return cls()

            def search(self, **kwargs):
                return types.SimpleNamespace(items=lambda: iter(it.clone() for it in items))

        monkeypatch.setattr(pystac_client, "Client", Client)
        source = {"stac_api": {"url": PC_API, "collections": ["landsat-c2-l2"]}}
    else:
        pc_catalogue(products, root / "stac")
        href = str(root / "stac" / "catalog.json")
        source = {"catalog": {"href": href if where == "local catalogue" else
                              f"{url}/stac/catalog.json"}}  # fmt: skip
    found = resolve(write_config, [source], item_dir=tmp_path / "saved")
    assert [it.properties[SIGN_PROPERTY] for it in found.landsat] == ["planetary_computer"]
    assert read_uri(found.landsat, "red").endswith(f"_SR_B4.TIF?{FAKE}")
    saved = list((tmp_path / "saved").glob("*.json"))
    assert len(saved) == (0 if where == "local catalogue" else 1)  # a local one read in place
    assert all("sig=" not in path.read_text() for path in saved)


# --------------------------------------------------------------- a run on item files


@pytest.fixture(scope="module")
def pc_storage(demo_folder, tmp_path_factory):
    """The demo's Landsat files over HTTP in Planetary Computer's layout, refusing unsigned
    (HTTP 409) and expired (403) requests; its URL."""
    root = tmp_path_factory.mktemp("blob")
    for product in sorted((demo_folder / "products").glob("L[CO]0*_L2SP_*")):
        pid = product.name
        target = root / "landsat-c2/level-2/standard/oli-tirs" / pid[17:21] / pid[10:13]
        target = target / pid[13:16]
        target.mkdir(parents=True, exist_ok=True)
        (target / pid).symlink_to(product)
    handler = functools.partial(_SignedFiles, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_run_on_planetary_computer_item_files_is_the_run_of_the_downloads(
    demo_folder, pc_storage, tmp_path, monkeypatch
):
    """Landsat from Planetary Computer item JSONs saved after a signed search (their tokens
    expired), as a user downloads them: each read signs again, through the signer, and the
    run equals the run on the product folders; no token reaches the run folder."""
    products = sorted((demo_folder / "products").glob("L[CO]0*"))
    folder = write_items(tmp_path / "items", *(pc_item_json(p) for p in products))
    signed: list[str] = []

    def sign(href):  # a fresh token for Planetary Computer's storage, here served locally
        assert "?" not in href and href.startswith(f"{PC_LANDSAT}/landsat-c2/")
        signed.append(href)
        return f"{href.replace(PC_LANDSAT, pc_storage)}?{SAS}"

    module = types.ModuleType("planetary_computer")
    module.sign = sign
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    config = _config(demo_folder, [str(folder)])
    # Marked before any read (an unmarked item would be read from Azure, unsigned).
    marked = resolve_inputs(config).landsat
    assert [it.properties.get(SIGN_PROPERTY) for it in marked] == ["planetary_computer"] * len(
        products
    )
    run(config, out=tmp_path / "remote")
    assert {Path(h).name.split("_", 7)[-1] for h in signed} >= {"ST_B10.TIF", "QA_PIXEL.TIF"}
    run(_config(demo_folder, [str(demo_folder / "products")]), out=tmp_path / "local")
    _same_run(tmp_path / "remote", tmp_path / "local")
    inputs = json.loads((tmp_path / "remote" / "manifest.json").read_text())["inputs"]
    remote = [r["path"] for r in inputs if r["kind"] == "remote"]
    assert remote and all(h.startswith(f"{PC_LANDSAT}/") and "?" not in h for h in remote)
    for path in (tmp_path / "remote").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".yaml", ".html", ".csv", ".txt"}:
            assert "sig=" not in path.read_text(errors="replace"), path


def test_a_refused_read_of_item_files_does_not_ask_for_a_search_setting(
    demo_folder, pc_storage, tmp_path, monkeypatch
):
    """Planetary Computer item files are signed already: a read the storage refuses (an
    expired token, HTTP 403) says so in one line, without the stac_api.sign of a search."""
    products = sorted((demo_folder / "products").glob("L[CO]0*"))
    folder = write_items(tmp_path / "items", *(pc_item_json(p) for p in products))
    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: f"{href.replace(PC_LANDSAT, pc_storage)}?{EXPIRED}"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    config = _config(demo_folder, [str(folder)])
    config = apply_overrides(config, {"outputs.folder": str(tmp_path / "run")})
    dump_config(config, tmp_path / "config.yaml")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "config.yaml")])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: a remote input file could not be read (HTTP 403): access refused: Planetary "
        "Computer's files are signed at each read, from item files, catalogues and searches "
        "alike, so either its storage refused the token: run the same command again (a tiled "
        "run resumes from its finished tiles); or the files are in storage ilots cannot sign: "
        "download the products and give their folder"
    )


def test_ilots_lst_on_a_planetary_computer_item_file_signs_it_or_says_what_is_missing(
    products, tmp_path, monkeypatch
):
    """The single-product commands open PC item files as the run does."""
    from pipelines.product import product_lst

    (path,) = write_items(tmp_path / "items", pc_item_json(products / L8_JULY)).glob("*.json")
    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    with pytest.raises(ConfigError) as err:
        product_lst(path)
    assert str(err.value).startswith(f"{path.name}: 1 Planetary Computer item(s)")
    assert "pip install planetary-computer" in str(err.value) and "\n" not in str(err.value)
    module = types.ModuleType("planetary_computer")
    module.sign = lambda href: f"{href}?{FAKE}"
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    lst = product_lst(path)  # lazy: nothing read
    assert lst.dims == ("y", "x")
