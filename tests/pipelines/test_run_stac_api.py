"""``ilots run`` with Landsat searched on a STAC API laid out as Microsoft Planetary Computer's.

The shipped ``toulouse_stac.yaml`` takes Landsat from Planetary Computer, whose items differ
from a USGS download: the item id leaves out the processing date
(``LC08_L2SP_198030_20230712_02_T1``), the assets have their own keys (``qa`` for ST_QA,
``cdist`` for ST_CDIST, ``mtl.txt`` ...), the files keep the USGS product names, and every
href must be signed (``planetary_computer.sign_inplace`` appends a SAS token as a query
string; the storage refuses unsigned reads). Here a local HTTP server holds the demo's
Landsat files in Planetary Computer's blob layout and refuses any request without a
signature; a stand-in ``pystac_client.Client`` answers the search with items in that
layout, applying the modifier as pystac-client does. The oracle is the same run on the
product folders.
"""

from __future__ import annotations

import functools
import http.server
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

from pipelines.config import apply_overrides, load_config
from pipelines.demo import SCENES
from pipelines.run import plan, run
from raster.sources import open_product

SAS = "st=2023-09-01T00%3A00%3A00Z&se=2023-09-01T01%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c&sig=x"
#: Planetary Computer's asset keys for the files of a Landsat C2 L2 product.
PC_KEYS = {
    "SR_B4.TIF": "red",
    "SR_B5.TIF": "nir08",
    "ST_B10.TIF": "lwir11",
    "ST_QA.TIF": "qa",
    "ST_CDIST.TIF": "cdist",
    "QA_PIXEL.TIF": "qa_pixel",
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
    """Serves a folder with HTTP range requests; refuses requests without a signature."""

    def log_message(self, *args):  # quiet
        pass

    def _signed(self) -> bool:
        if "sig=" not in self.path.partition("?")[2]:
            self.send_error(409, "PublicAccessNotPermitted")  # what Azure answers
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
def blob_storage(demo_folder):
    """The demo's Landsat files under ``landsat-c2/level-2/standard/oli-tirs/...``, over HTTP."""
    root = demo_folder / "blob"
    for product in sorted((demo_folder / "products").glob("L[CO]0*_L2SP_*")):
        pid = product.name
        path, row, year = pid[10:13], pid[13:16], pid[17:21]
        target = root / "landsat-c2" / "level-2" / "standard" / "oli-tirs" / year / path / row
        target.mkdir(parents=True, exist_ok=True)
        (target / pid).symlink_to(product)
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


@pytest.fixture
def planetary_computer_api(monkeypatch, demo_folder, blob_storage):
    """pystac-client's Client answering with Planetary Computer items; a stand-in signer."""
    pystac_client = pytest.importorskip("pystac_client")
    base, _ = blob_storage
    items = [_pc_item(p, base) for p in sorted((demo_folder / "products").glob("L[CO]0*"))]
    assert len(items) == len(SCENES)

    def sign_inplace(item):  # planetary_computer.sign_inplace: a SAS token on every href
        for asset in item.assets.values():
            asset.href = f"{asset.href}?{SAS}"
        return item

    class Search:
        def __init__(self, found, modifier):
            self._found, self._modifier = found, modifier

        def items(self):
            for item in self._found:
                item = item.clone()
                yield self._modifier(item) if self._modifier else item

    class Client:
        opened: ClassVar[list[str]] = []

        def __init__(self, modifier):
            self._modifier = modifier

        @classmethod
        def open(cls, url, modifier=None, **kwargs):
            cls.opened.append(url)
            return cls(modifier)

        def search(self, **kwargs):
            start, end = kwargs["datetime"].split("/")
            found = [it for it in items if start[:10] <= it.datetime.isoformat()[:10] <= end]
            return Search(found, self._modifier)

    monkeypatch.setattr(pystac_client, "Client", Client)
    module = types.ModuleType("planetary_computer")
    module.sign_inplace = sign_inplace
    monkeypatch.setitem(sys.modules, "planetary_computer", module)
    return Client


def _config(demo_folder, landsat):
    config = load_config(demo_folder / "config.yaml")
    return apply_overrides(config, {**OVERRIDES, "inputs.landsat": landsat})


def test_planetary_computer_landsat_gives_the_run_of_the_downloads(
    demo_folder, planetary_computer_api, tmp_path
):
    run(_config(demo_folder, [str(demo_folder / "products")]), out=tmp_path / "local")
    api = {
        "url": "https://planetarycomputer.microsoft.com/api/stac/v1",
        "collections": ["landsat-c2-l2"],
        "query": {"platform": {"in": ["landsat-8", "landsat-9"]}},
        "sign": "planetary_computer",
    }
    run(_config(demo_folder, [{"stac_api": api}]), out=tmp_path / "remote")
    assert planetary_computer_api.opened == [api["url"]]
    # The items found are kept in the run folder as the API gave them (signed), and open
    # as the USGS products with every band the default mask needs.
    saved = sorted((tmp_path / "remote" / "stac_items").glob("*.json"))
    products = sorted((demo_folder / "products").glob("L[CO]0*"))
    assert [p.stem for p in saved] == [p.name[:25] + p.name[34:] for p in products]
    for path in saved:
        item = open_product(path)
        assert item.id == next((demo_folder / "products").glob(f"{path.stem[:25]}*")).name
        assert {"lwir11", "qa_pixel", "st_qa", "st_cdist"} <= set(item.assets)
        assert item.assets["lwir11"].href.startswith("http://127.0.0.1:")
        assert item.assets["st_qa"].href.endswith(f"_ST_QA.TIF?{SAS}")  # read signed
    for name in ("lst_median", "lst_p90", "n_clear", "lst_anomaly"):
        with rasterio.open(tmp_path / "local" / "rasters" / f"{name}.tif") as src:
            expected = src.read(1)
        with rasterio.open(tmp_path / "remote" / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), expected, err_msg=name)
    want = gpd.read_parquet(tmp_path / "local" / "zones" / "iris.parquet")
    got = gpd.read_parquet(tmp_path / "remote" / "zones" / "iris.parquet")
    np.testing.assert_allclose(got["lst_mean_k"], want["lst_mean_k"], rtol=0, atol=1e-9)


def test_dry_run_writes_nothing_in_the_run_folder(demo_folder, planetary_computer_api, tmp_path):
    api = {"url": "https://planetarycomputer.microsoft.com/api/stac/v1",
           "collections": ["landsat-c2-l2"], "sign": "planetary_computer"}  # fmt: skip
    config = apply_overrides(
        _config(demo_folder, [{"stac_api": api}]), {"outputs.folder": str(tmp_path / "run")}
    )
    described = plan(config)
    assert len(described.scenes["landsat"]) == len(SCENES)
    assert not (tmp_path / "run").exists()
