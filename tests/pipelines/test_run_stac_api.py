"""``ilots run`` with its inputs searched on STAC APIs, as the shipped ``toulouse_stac.yaml``.

The shipped ``toulouse_stac.yaml`` takes Landsat from Planetary Computer, whose items differ
from a USGS download: the item id leaves out the processing date
(``LC08_L2SP_198030_20230712_02_T1``), the assets have their own keys (``qa`` for ST_QA,
``cdist`` for ST_CDIST, ``mtl.txt`` ...), the files keep the USGS product names, and every
href must be signed (``planetary_computer.sign_inplace`` appends a SAS token as a query
string; the storage refuses unsigned reads). Here a local HTTP server holds the demo's
Landsat files in Planetary Computer's blob layout and refuses any request without a
signature; a stand-in ``pystac_client.Client`` answers the search with items in that
layout, applying the modifier as pystac-client does. Sentinel-2 comes from Earth Search:
its items point to the public bucket (no signature) with absolute URLs. The oracle is the
same run on the product folders.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
import types
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pystac
import pytest
import rasterio
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import apply_overrides, dump_config, load_config
from pipelines.demo import S2_PRODUCTS, SCENES
from pipelines.run import plan, run
from raster.sources import open_product

SAS = "st=2023-09-01T00%3A00%3A00Z&se=2023-09-01T01%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c&sig=x"
#: A token that has expired: what the items found at the start of a long run carry an hour on.
EXPIRED = "st=2023-09-01T00%3A00%3A00Z&se=2023-09-01T00%3A45%3A00Z&sp=rl&sr=c&sig=expired"
#: Planetary Computer's asset keys for the files of a Landsat C2 L2 product.
PC_KEYS = {
    "SR_B4.TIF": "red",
    "SR_B5.TIF": "nir08",
    "ST_B10.TIF": "lwir11",
    "ST_QA.TIF": "qa",
    "ST_CDIST.TIF": "cdist",
    "QA_PIXEL.TIF": "qa_pixel",
    "QA_RADSAT.TIF": "qa_radsat",
    "MTL.txt": "mtl.txt",
    "MTL.json": "mtl.json",
    "MTL.xml": "mtl.xml",
}
#: Offsets and scales the Planetary Computer items give in ``raster:bands`` (USGS values).
PC_SCALING = {
    "red": (2.75e-05, -0.2),
    "nir08": (2.75e-05, -0.2),
    "lwir11": (0.00341802, 149.0),
    "qa": (0.01, 0.0),
    "cdist": (0.01, 0.0),
}
OVERRIDES = {"outputs.report": False, "inequality.outcomes": ["lst_mean_k"]}


class _SignedFiles(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with HTTP range requests; under ``landsat-c2/`` (Planetary Computer's
    storage) refuses requests without a signature, elsewhere (Earth Search's public bucket)
    serves anyone."""

    def log_message(self, *args):  # quiet
        pass

    def _signed(self) -> bool:
        path, _, query = self.path.partition("?")
        if not path.startswith("/landsat-c2/"):
            return True
        if "sig=" not in query:
            self.send_error(409, "PublicAccessNotPermitted")  # what Azure answers
            return False
        if "sig=expired" in query:
            self.send_error(403, "AuthenticationFailed")  # Signed expiry time has passed
            return False
        return True

    def do_HEAD(self):
        if self._signed():
            super().do_HEAD()

    def do_GET(self):
        if not self._signed():
            return
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match is None:
            return super().do_GET()
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            return self.send_error(404)
        data = path.read_bytes()
        start = int(match[1])
        end = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start : end + 1])


@pytest.fixture(scope="module")
def blob_storage(demo_folder, tmp_path_factory):
    """The demo's products over HTTP: Landsat under ``landsat-c2/level-2/standard/...`` as on
    Planetary Computer and under ``landsatlook/data/collection02/...`` as on USGS's
    LandsatLook, Sentinel-2 under ``sentinel-cogs/...`` as on Earth Search."""
    root = tmp_path_factory.mktemp("blob")
    for product in sorted((demo_folder / "products").glob("L[CO]0*_L2SP_*")):
        pid = product.name
        path, row, year = pid[10:13], pid[13:16], pid[17:21]
        target = root / "landsat-c2" / "level-2" / "standard" / "oli-tirs" / year / path / row
        target.mkdir(parents=True, exist_ok=True)
        (target / pid).symlink_to(product)
        usgs = root / "landsatlook" / "data" / "collection02" / "level-2" / "standard"
        usgs = usgs / "oli-tirs" / year / path / row  # USGS's own storage: no signature
        usgs.mkdir(parents=True, exist_ok=True)
        (usgs / pid).symlink_to(product)
    for product in sorted((demo_folder / "products").glob("S2*_L2A")):
        tile, date = product.name.split("_")[1], product.name.split("_")[2]
        target = (root / "sentinel-cogs" / "sentinel-s2-l2a-cogs" / tile[:2] / tile[2] /
                  tile[3:] / date[:4] / str(int(date[4:6])))  # fmt: skip
        target.mkdir(parents=True, exist_ok=True)
        (target / product.name).symlink_to(product)
    handler = functools.partial(_SignedFiles, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def _pc_item(product: Path, base: str) -> pystac.Item:
    """A Landsat item as Planetary Computer's STAC API returns it, before signing."""
    local = open_product(product)
    pid = product.name
    scene_id = pid[:25] + pid[34:]  # the processing date left out
    folder = f"{base}/landsat-c2/level-2/standard/oli-tirs/{pid[17:21]}/{pid[10:13]}/{pid[13:16]}"
    assets = {}
    for suffix, key in PC_KEYS.items():
        if not (product / f"{pid}_{suffix}").is_file():
            continue
        extra = {}
        if key in PC_SCALING:
            scale, offset = PC_SCALING[key]
            extra["raster:bands"] = [{"scale": scale, "offset": offset, "nodata": 0}]
        assets[key] = pystac.Asset(f"{folder}/{pid}/{pid}_{suffix}", extra_fields=extra)
    with rasterio.open(product / f"{pid}_ST_B10.TIF") as src:
        epsg, shape, transform = src.crs.to_epsg(), list(src.shape), list(src.transform)[:6]
    properties = {
        "platform": local.properties["platform"],
        "instruments": ["oli", "tirs"],
        "eo:cloud_cover": local.properties["eo:cloud_cover"],
        "landsat:correction": "L2SP",
        "landsat:wrs_path": pid[10:13],
        "landsat:wrs_row": pid[13:16],
        "proj:epsg": epsg,
        "proj:shape": shape,
        "proj:transform": transform,
    }
    item = pystac.Item(
        scene_id,
        geometry=local.geometry,
        bbox=local.bbox,
        datetime=local.datetime,
        properties=properties,
        collection="landsat-c2-l2",
    )
    for key, asset in assets.items():
        item.add_asset(key, asset)
    return item


def _earth_search_item(product: Path, root: Path, base: str) -> pystac.Item:
    """A Sentinel-2 item as Earth Search's STAC API returns it: absolute URLs in its bucket."""
    item = pystac.Item.from_file(str(next(product.glob("*.json"))))
    served = next(root.glob(f"sentinel-cogs/**/{product.name}"))
    folder = f"{base}/{served.relative_to(root).as_posix()}"
    for asset in item.assets.values():
        asset.href = f"{folder}/{Path(asset.href).name}"
    item.clear_links()
    return item


@pytest.fixture
def planetary_computer_api(monkeypatch, demo_folder, blob_storage):
    """pystac-client's Client answering as Planetary Computer (Landsat, signed with a
    stand-in signer) or Earth Search (Sentinel-2), by URL."""
    pystac_client = pytest.importorskip("pystac_client")
    base, root = blob_storage
    products = demo_folder / "products"
    landsat = [_pc_item(p, base) for p in sorted(products.glob("L[CO]0*"))]
    sentinel2 = [_earth_search_item(p, root, base) for p in sorted(products.glob("S2*_L2A"))]
    assert len(landsat) == len(SCENES) and len(sentinel2) == len(S2_PRODUCTS)

    def sign_inplace(item):  # planetary_computer.sign_inplace, at search time: a SAS token
        for asset in item.assets.values():  # that has expired by the time the run reads
            asset.href = f"{asset.href}?{EXPIRED}"
        return item

    def sign(href):  # planetary_computer.sign of a URL: a fresh token
        assert "?" not in href
        return f"{href}?{SAS}"

    class Search:
        def __init__(self, found, modifier):
            self._found, self._modifier = found, modifier

        def items(self):
            for item in self._found:
                item = item.clone()
                yield self._modifier(item) if self._modifier else item

    class Client:
        opened: ClassVar[list[str]] = []

        def __init__(self, items, modifier):
            self._items, self._modifier = items, modifier

        @classmethod
        def open(cls, url, modifier=None, **kwargs):
            cls.opened.append(url)
            return cls(sentinel2 if "earth-search" in url else landsat, modifier)

        def search(self, **kwargs):
            start, end = kwargs["datetime"].split("/")
            found = [it for it in self._items
                     if start[:10] <= it.datetime.isoformat()[:10] <= end]  # fmt: skip
            return Search(found, self._modifier)

    monkeypatch.setattr(pystac_client, "Client", Client)
    module = types.ModuleType("planetary_computer")
    module.sign_inplace, module.sign = sign_inplace, sign
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    return Client


def _config(demo_folder, landsat, sentinel2=None):
    config = load_config(demo_folder / "config.yaml")
    inputs = {"inputs.landsat": landsat}
    if sentinel2 is not None:
        inputs["inputs.sentinel2"] = sentinel2
    return apply_overrides(config, {**OVERRIDES, **inputs})


#: The searches of the shipped toulouse_stac.yaml.
PLANETARY_COMPUTER = {
    "url": "https://planetarycomputer.microsoft.com/api/stac/v1",
    "collections": ["landsat-c2-l2"],
    "query": {"platform": {"in": ["landsat-8", "landsat-9"]}},
    "sign": "planetary_computer",
}
EARTH_SEARCH = {
    "url": "https://earth-search.aws.element84.com/v1",
    "collections": ["sentinel-2-l2a"],
}


@pytest.fixture(scope="module")
def downloads_run(demo_folder, tmp_path_factory):
    """The oracle: the same run on the product folders."""
    out = tmp_path_factory.mktemp("downloads") / "local"
    run(_config(demo_folder, [str(demo_folder / "products")]), out=out)
    return out


def _same_run(got, want):
    """The rasters equal pixel for pixel, the per-IRIS LST means to 1e-9."""
    for name in ("lst_median", "lst_p90", "n_clear", "lst_anomaly", "ndvi_median", "landcover"):
        with rasterio.open(want / "rasters" / f"{name}.tif") as src:
            expected = src.read(1)
        with rasterio.open(got / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), expected, err_msg=name)
    iris_want = gpd.read_parquet(want / "zones" / "iris.parquet")
    iris_got = gpd.read_parquet(got / "zones" / "iris.parquet")
    np.testing.assert_allclose(iris_got["lst_mean_k"], iris_want["lst_mean_k"], rtol=0, atol=1e-9)


def test_planetary_computer_landsat_gives_the_run_of_the_downloads(
    demo_folder, planetary_computer_api, downloads_run, tmp_path
):
    apis = _config(demo_folder, [{"stac_api": PLANETARY_COMPUTER}], [{"stac_api": EARTH_SEARCH}])
    run(apis, out=tmp_path / "remote")
    assert planetary_computer_api.opened == [PLANETARY_COMPUTER["url"], EARTH_SEARCH["url"]]
    # The items found are kept in the run folder, and open as the USGS products with every
    # band the default mask needs.
    saved = sorted((tmp_path / "remote" / "stac_items").glob("L*.json"))
    products = sorted((demo_folder / "products").glob("L[CO]0*"))
    assert [p.stem for p in saved] == [p.name[:25] + p.name[34:] for p in products]
    for path in saved:
        item = open_product(path)
        assert item.id == next((demo_folder / "products").glob(f"{path.stem[:25]}*")).name
        assert {"lwir11", "qa_pixel", "st_qa", "st_cdist", "qa_radsat"} <= set(item.assets)
        assert item.assets["lwir11"].href.startswith("http://127.0.0.1:")
        # Without the search's signature (expired by now, and no token in the run folder):
        # each read signs again.
        assert item.assets["st_qa"].href.endswith("_ST_QA.TIF")
        assert "sig=" not in path.read_text()
    # The manifest lists the files read over HTTP (no signature; neither size nor hash),
    # and the items saved in the run folder as outputs.
    manifest = json.loads((tmp_path / "remote" / "manifest.json").read_text())
    assert {f"stac_items/{p.name}" for p in saved} <= {r["path"] for r in manifest["outputs"]}
    inputs = manifest["inputs"]
    remote = [r["path"] for r in inputs if r["kind"] == "remote"]
    assert len(remote) == 4 * 4 + 3 * 8  # ST_B10, QA_PIXEL, ST_QA, QA_RADSAT; 7 bands, SCL
    assert all(h.startswith("http://127.0.0.1:") and "?" not in h for h in remote)
    assert all(r["sha256"] is None for r in inputs if r["kind"] == "remote")
    _same_run(tmp_path / "remote", downloads_run)


def test_a_static_catalogue_gives_the_run_of_the_downloads(
    demo_folder, blob_storage, downloads_run, tmp_path
):
    """``inputs.*[].catalog``: a static catalogue on disk, as a team keeps one, with the
    Landsat items of a local archive (Planetary Computer's layout, files on disk) and
    Earth Search's Sentinel-2 items (public URLs, read over HTTP), in sub-catalogues, beside
    an item of another year and one elsewhere that the search leaves out."""
    base, root = blob_storage
    products = demo_folder / "products"
    catalog = pystac.Catalog("archive", "the city's imagery")
    landsat = pystac.Catalog("landsat", "Landsat C2 L2")
    sentinel2 = pystac.Catalog("sentinel2", "Sentinel-2 L2A")
    catalog.add_children([landsat, sentinel2])
    landsat.add_items([_pc_item(p, str(root)) for p in sorted(products.glob("L[CO]0*"))])
    sentinel2.add_items([_earth_search_item(p, root, base) for p in sorted(products.glob("S2*"))])
    other_year = _earth_search_item(next(products.glob("S2*")), root, base)
    other_year.id, other_year.datetime = (
        "S2B_31TCJ_20210701_0_L2A",
        other_year.datetime.replace(year=2021),
    )
    elsewhere = _earth_search_item(next(products.glob("S2*")), root, base)
    elsewhere.id = "S2B_30TYN_20230701_0_L2A"
    elsewhere.geometry = {"type": "Polygon", "coordinates": [[[-4, 48], [-3, 48], [-3, 49],
                                                              [-4, 48]]]}  # fmt: skip
    elsewhere.bbox = [-4, 48, -3, 49]
    sentinel2.add_items([other_year, elsewhere])
    catalog.normalize_hrefs(str(tmp_path / "catalog"))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    href = str(tmp_path / "catalog" / "catalog.json")
    config = _config(demo_folder, [{"catalog": {"href": href, "collections": ["landsat-c2-l2"]}}],
                     [{"catalog": {"href": href}}])  # fmt: skip
    found = plan(config).scenes
    assert sorted(found["landsat"]) == sorted(p.name for p in products.glob("L[CO]0*"))
    assert sorted(found["sentinel2"]) == sorted(p.name for p in products.glob("S2*"))
    run(config, out=tmp_path / "static")
    _same_run(tmp_path / "static", downloads_run)


def test_dry_run_writes_nothing_in_the_run_folder(demo_folder, planetary_computer_api, tmp_path):
    config = apply_overrides(
        _config(demo_folder, [{"stac_api": PLANETARY_COMPUTER}], [{"stac_api": EARTH_SEARCH}]),
        {"outputs.folder": str(tmp_path / "run")},
    )
    described = plan(config)
    assert len(described.scenes["landsat"]) == len(SCENES)
    assert len(described.scenes["sentinel2"]) == len(S2_PRODUCTS)
    assert not (tmp_path / "run").exists()


def test_a_refused_read_is_one_line_saying_what_to_do(
    demo_folder, planetary_computer_api, tmp_path
):
    # Planetary Computer searched without stac_api.sign: its storage refuses every read
    # (HTTP 409 on Azure), and the run stops with one line, not GDAL's traceback.
    unsigned = {k: v for k, v in PLANETARY_COMPUTER.items() if k != "sign"}
    config = apply_overrides(
        _config(demo_folder, [{"stac_api": unsigned}]), {"outputs.folder": str(tmp_path / "run")}
    )
    dump_config(config, tmp_path / "config.yaml")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "config.yaml")])
    assert result.exit_code == 1, result.output
    message = result.output.strip().splitlines()[-1]
    assert message == (
        "Error: a remote input file could not be read (HTTP 409): access refused: the STAC "
        "API of inputs.landsat[0] may need its URLs signed (inputs.landsat[0].stac_api.sign: "
        "planetary_computer, with pip install planetary-computer), or its signing service "
        "refused; run the same command again (a tiled run resumes from its finished tiles)"
    )


#: The files of USGS's two LandsatLook STAC items of a Level-2 product, by the API's asset keys.
USGS_KEYS = {
    "SR": {"SR_B4.TIF": "red", "SR_B5.TIF": "nir08", "QA_PIXEL.TIF": "qa_pixel",
           "QA_RADSAT.TIF": "qa_radsat", "MTL.json": "MTL.json"},
    "ST": {"ST_B10.TIF": "lwir11", "ST_QA.TIF": "QA", "ST_CDIST.TIF": "CDIST",
           "QA_PIXEL.TIF": "qa_pixel", "QA_RADSAT.TIF": "qa_radsat", "MTL.json": "MTL.json"},
}  # fmt: skip


def _usgs_item(product: Path, half: str, base: str) -> pystac.Item:
    """An item of USGS's LandsatLook STAC API: ``<id>_SR`` (collection landsat-c2l2-sr) or
    ``<id>_ST`` (landsat-c2l2-st), each with its half of the files, the grid in the item's
    properties and no ``raster:bands`` (USGS gives none)."""
    local = open_product(product)
    pid = product.name
    folder = f"{base}/landsatlook/data/collection02/level-2/standard/oli-tirs/{pid[17:21]}/"
    folder += f"{pid[10:13]}/{pid[13:16]}/{pid}"
    with rasterio.open(product / f"{pid}_ST_B10.TIF") as src:
        epsg, shape, transform = src.crs.to_epsg(), list(src.shape), list(src.transform)[:6]
    properties = {
        "platform": local.properties["platform"].upper().replace("-", "_"),
        "instruments": ["OLI", "TIRS"],
        "eo:cloud_cover": local.properties["eo:cloud_cover"],
        "landsat:correction": "L2SP",
        "landsat:wrs_path": pid[10:13],
        "landsat:wrs_row": pid[13:16],
        "proj:epsg": epsg,
        "proj:shape": shape,
        "proj:transform": transform,
    }
    item = pystac.Item(
        f"{pid}_{half}",
        geometry=local.geometry,
        bbox=local.bbox,
        datetime=local.datetime,
        properties=properties,
        collection=f"landsat-c2l2-{half.lower()}",
    )
    for suffix, key in USGS_KEYS[half].items():
        item.add_asset(key, pystac.Asset(f"{folder}/{pid}_{suffix}"))
    return item


LANDSATLOOK = {
    "url": "https://landsatlook.usgs.gov/stac-server",
    "collections": ["landsat-c2l2-sr", "landsat-c2l2-st"],
}


@pytest.fixture
def landsatlook_api(monkeypatch, demo_folder, blob_storage):
    """pystac-client's Client answering as USGS's LandsatLook: each product as two items."""
    pystac_client = pytest.importorskip("pystac_client")
    base, _root = blob_storage
    products = sorted((demo_folder / "products").glob("L[CO]0*"))
    items = [_usgs_item(p, half, base) for p in products for half in ("SR", "ST")]

    class Search:
        def __init__(self, found):
            self._found = found

        def items(self):
            return iter([item.clone() for item in self._found])

    class Client:
        searches: ClassVar[list[dict]] = []

        @classmethod
        def open(cls, url, modifier=None, **kwargs):
            return cls()

        def search(self, **kwargs):
            Client.searches.append(kwargs)
            start, end = kwargs["datetime"].split("/")
            return Search([it for it in items if it.collection_id in kwargs["collections"]
                           and start[:10] <= it.datetime.isoformat()[:10] <= end])  # fmt: skip

    monkeypatch.setattr(pystac_client, "Client", Client)
    return Client


@pytest.mark.filterwarnings("ignore:.*gives no scale/offset")  # USGS's items: the defaults
def test_usgs_sr_and_st_items_give_the_landsat_only_run_of_the_downloads(
    demo_folder, landsatlook_api, tmp_path
):
    """Without Sentinel-2, NDVI and land cover come from the Landsat reflectance, which USGS
    gives in the SR item and the temperature in the ST item: each pair is one product."""
    products = demo_folder / "products"
    usgs = _config(demo_folder, [{"stac_api": LANDSATLOOK}], [])
    described = plan(usgs)
    assert sorted(described.scenes["landsat"]) == sorted(p.name for p in products.glob("L[CO]0*"))
    assert described.indices_from == "landsat"
    assert described.skipped == ()
    run(usgs, out=tmp_path / "usgs")
    saved = sorted(p.name for p in (tmp_path / "usgs" / "stac_items").glob("L*.json"))
    assert saved == sorted(
        f"{p.name}_{h}.json" for p in products.glob("L[CO]0*") for h in "SR ST".split()
    )
    local = _config(demo_folder, [str(products)], [])
    run(local, out=tmp_path / "local")
    _same_run(tmp_path / "usgs", tmp_path / "local")
