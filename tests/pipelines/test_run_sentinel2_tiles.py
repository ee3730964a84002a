"""Two overlapping Sentinel-2 tiles of one datatake count as one acquisition in a run.

MGRS tiles overlap by about 10 km: a city in the overlap of two tiles of one datatake (same
platform, same sensing time) sees one acquisition in two products. Synthetic products
(:mod:`raster.synthetic`) on a small grid: tiles A (31TCJ, west) and B (31TDJ, east) of
2023-07-14, overlapping over 200 m, and C (the whole grid) ten days later, with a Landsat
scene for the LST; ``ilots run`` on them, its NDVI median compared with hand-computed values.
"""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from rasterio.transform import from_origin

from pipelines import run_graph, run_tiles
from pipelines.config import apply_overrides, load_config
from pipelines.run import run
from pipelines.run_tiles import input_pieces
from raster.acquisitions import acquisition_groups
from raster.footprint import sentinel2_footprint_flags
from raster.load import load_stored
from raster.sources import open_product
from raster.synthetic import (
    encode_qa_pixel,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    write_landsat_c2l2,
    write_sentinel2_earthsearch,
)
from tiles.errors import IlotsWarning

CRS = 32631
#: The IRIS: 2 x 2 boxes of 300 m; the grid is their union grown by the 300 m ring.
WEST, SOUTH, SIDE = 500_000.0, 4_800_000.0, 300.0
#: Every product's north edge and row count (10 m): 4,801,000 down to 4,799,600.
NORTH, ROWS = 4_801_000.0, 140
#: The tiles' columns (10 m pixels): A 499,600-500,400, B 500,200-501,000, C all.
TILES = {"A": (499_600.0, 80), "B": (500_200.0, 80), "C": (499_600.0, 140)}
#: The overlap of A and B, and the north edge of the cloud on A in it.
OVERLAP, CLOUD_SOUTH = (500_200.0, 500_400.0), 4_800_500.0
DATATAKE = "2023-07-14T10:56:21Z"


def _sentinel2(folder, name, *, red, nir, when, tile, cloud=False, baseline="05.10"):
    """One product of uniform reflectance on its tile's columns; SCL 4 (vegetation), or 9
    (cloud) on its part of the overlap north of CLOUD_SOUTH when ``cloud``."""
    west, cols = TILES[name]
    shape = (ROWS, cols)
    scl = np.full(shape, 4, np.uint8)
    if cloud:
        x = west + (np.arange(cols) + 0.5) * 10.0
        y = NORTH - (np.arange(ROWS) + 0.5) * 10.0
        scl[np.ix_(y > CLOUD_SOUTH, (x > OVERLAP[0]) & (x < OVERLAP[1]))] = 9
    dn = {
        band: reflectance_to_dn_sentinel2(np.full(shape, rho), processing_baseline=baseline)
        for band, rho in (("red", red), ("nir", nir))
    }
    return write_sentinel2_earthsearch(
        folder, bands={**dn, "scl": scl}, tile=tile, datetime=when, crs=CRS,
        transform=from_origin(west, NORTH, 10.0, 10.0), processing_baseline=baseline,
    )  # fmt: skip


def _landsat(folder, red=0.08):
    """One clear Landsat 8 scene at 300 K over the grid (30 m, USGS pixel phase 15 m)."""
    shape = (52, 52)
    write_landsat_c2l2(
        folder,
        bands={
            "red": reflectance_to_dn_landsat(np.full(shape, red)),
            "nir08": reflectance_to_dn_landsat(np.full(shape, 0.30)),
            "lwir11": np.full(shape, round((300.0 - 149.0) / 0.00341802), np.uint16),
            "qa_pixel": np.full(shape, encode_qa_pixel(), np.uint16),
            "st_qa": np.full(shape, 100, np.int16),
            "qa_radsat": np.zeros(shape, np.uint16),
        },
        crs=CRS, transform=from_origin(499_515.0, 4_801_095.0, 30.0, 30.0),
        platform="landsat-8", path=198, row=30, date="2023-07-12",
    )  # fmt: skip


def _config(folder, resolution):
    """Write the IRIS (``iris.gpkg``) and a run config on ``resolution`` m into ``folder``."""
    x, y = np.meshgrid(WEST + np.arange(2) * SIDE, SOUTH + np.arange(2) * SIDE)
    boxes = shapely.box(x.ravel(), y.ravel(), x.ravel() + SIDE, y.ravel() + SIDE)
    gpd.GeoDataFrame(
        {"code_iris": [f"9999900{k:02d}" for k in range(4)],
         "nom_iris": [f"IRIS {k}" for k in range(4)], "insee_com": ["99999"] * 4},
        geometry=boxes, crs=CRS,
    ).to_file(folder / "iris.gpkg", driver="GPKG")  # fmt: skip
    config = {
        "name": "two tiles of one datatake",
        "aoi": {"zones": "iris"},
        "periods": {"years": [2023], "months": [7]},
        "inputs": {"landsat": ["products"], "sentinel2": ["products"]},
        "grid": {"crs": "utm", "resolution": resolution},
        "mask": {"cdist_min_km": None},
        "composite": {"min_clear": 1},
        "heat_island": {"ring_inner_km": 0, "ring_outer_km": 0.3},
        "zones": {"iris": {"path": "iris.gpkg"}},
        "scenarios": [],
        "outputs": {"folder": "out", "report": False},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_config(folder / "config.yaml")


@pytest.mark.parametrize("resolution", [10, 20], ids=["scl-in-the-fused-pass", "footprint-flags"])
def test_two_tiles_of_one_datatake_count_once_in_the_ndvi_median(
    tmp_path, caplog, monkeypatch, resolution
):
    """NDVI: A and B 0.5 ((0.3 - 0.1) / 0.4, one measurement in two products), C 0.2
    ((0.3 - 0.2) / 0.5). Over the acquisitions the median is (0.5 + 0.2) / 2 = 0.35 on the
    whole grid; over the products the overlap would take median(0.5, 0.5, 0.2) = 0.5. Where A
    is cloudy in the overlap, B's 0.5 stands for the datatake: 0.35 again. At 20 m the 10 m
    bands are averaged and the SCL flags are taken over each pixel's footprint."""
    products = tmp_path / "products"
    products.mkdir()
    _landsat(products)
    for name, tile in (("A", "31TCJ"), ("B", "31TDJ")):
        _sentinel2(products, name, red=0.1, nir=0.3, when=DATATAKE, tile=tile,
                   cloud=name == "A")  # fmt: skip
    _sentinel2(products, "C", red=0.2, nir=0.3, when="2023-07-24T10:56:21Z", tile="31TCJ")
    caplog.set_level(logging.INFO, logger="pipelines.run_graph")
    footprints = []

    def footprint_flags(*args, **kwargs):
        footprints.append(kwargs)
        return sentinel2_footprint_flags(*args, **kwargs)

    monkeypatch.setattr(run_graph, "sentinel2_footprint_flags", footprint_flags)
    run(_config(tmp_path, resolution))
    assert len(footprints) == (resolution == 20)
    with rasterio.open(tmp_path / "out" / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    rows, cols = np.mgrid[0 : ndvi.shape[0], 0 : ndvi.shape[1]]
    x, y = transform * (cols + 0.5, rows + 0.5)
    overlap = (x > OVERLAP[0]) & (x < OVERLAP[1])
    cloud = overlap & (y > CLOUD_SOUTH)
    assert cloud.any() and (overlap & ~cloud).any() and (~overlap).any()
    np.testing.assert_allclose(ndvi[overlap & ~cloud], 0.35, atol=1e-6)
    np.testing.assert_allclose(ndvi[cloud], 0.35, atol=1e-6)
    np.testing.assert_allclose(ndvi[~overlap], 0.35, atol=1e-6)
    said = "2 Sentinel-2 products are 1 acquisitions, each counted once in the index medians"
    assert any(said in record.getMessage() for record in caplog.records)


def test_tiles_of_one_datatake_dated_apart_by_their_distributor_count_once(tmp_path):
    """Earth Search dates each tile by its own sensing time, a SAFE or Planetary Computer by
    the datatake's start: tile B's item moved 13 min 14 s after A (as the real Earth Search
    item S2A_29RKH_20200219_0_L2A is after its datatake), its product name unchanged. Still
    one acquisition: 0.35 in the overlap (by time alone, two: median(0.5, 0.5, 0.2) = 0.5)."""
    products = tmp_path / "products"
    products.mkdir()
    _landsat(products)
    for name, tile in (("A", "31TCJ"), ("B", "31TDJ")):
        path = _sentinel2(products, name, red=0.1, nir=0.3, when=DATATAKE, tile=tile)
    item = json.loads(path.read_text())
    item["properties"]["datetime"] = "2023-07-14T11:09:35Z"
    path.write_text(json.dumps(item))
    _sentinel2(products, "C", red=0.2, nir=0.3, when="2023-07-24T10:56:21Z", tile="31TCJ")
    run(_config(tmp_path, 10))
    with rasterio.open(tmp_path / "out" / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    cols = np.arange(ndvi.shape[1])
    x = (transform * (cols + 0.5, np.zeros_like(cols)))[0]
    overlap = (x > OVERLAP[0]) & (x < OVERLAP[1])
    assert overlap.any()
    np.testing.assert_allclose(ndvi, 0.35, atol=1e-6)


ES_FOLDER = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"


def _planetary_computer_copy(real_data, folder, tile="29RKH"):
    """The real Earth Search product as a Planetary Computer item (the audit's variant):
    its band files under PC names, ``datetime`` the datatake start (11:21:11.024, 13 min 14 s
    before Earth Search's), PC's id; the product name and datatake id of the real item."""
    es_dir = real_data / ES_FOLDER
    es = json.loads((es_dir / "S2A_29RKH_20200219_0_L2A.json").read_text())
    folder.mkdir()
    assets = {}
    for key, name, res in (("B04", "B04.tif", 10), ("B08", "B08.tif", 10), ("SCL", "SCL.tif", 20)):
        local = f"T{tile}_20200219T112111_{key}_{res}m.tif"
        (folder / local).symlink_to(es_dir / name)
        assets[key] = {"href": f"https://example.invalid/R{res}m/{local}", "roles": ["data"]}
    props = {
        "datetime": "2020-02-19T11:21:11.024000Z", "platform": "Sentinel-2A",
        "s2:mgrs_tile": tile, "s2:processing_baseline": "02.14", "s2:product_type": "S2MSI2A",
        "s2:product_uri": es["properties"]["s2:product_uri"].replace("29RKH", tile),
        "s2:datatake_id": es["properties"]["s2:datatake_id"],
    }  # fmt: skip
    item = {
        "type": "Feature", "stac_version": "1.0.0", "collection": "sentinel-2-l2a",
        "id": f"S2A_MSIL2A_20200219T112111_R037_T{tile}_20200219T123947",
        "geometry": es["geometry"], "bbox": es["bbox"], "links": [], "assets": assets,
        "properties": props,
    }  # fmt: skip
    (folder / "item.json").write_text(json.dumps(item))
    return folder / "item.json"


@pytest.mark.realdata
def test_one_product_from_earth_search_and_planetary_computer_is_read_once(real_data, tmp_path):
    """The real Earth Search item (11:34:25.405) and the same product as Planetary Computer
    gives it (11:21:11.024): one product, the first in time kept (same baseline), with a
    warning saying which and why."""
    es = open_product(real_data / ES_FOLDER)
    pc = open_product(_planetary_computer_copy(real_data, tmp_path / "pc"))
    assert (es.datetime - pc.datetime).total_seconds() == pytest.approx(794.381)
    with pytest.warns(IlotsWarning) as caught:
        kept = run_graph._one_of_each_product([pc, es])
    assert [item.id for item in kept] == [pc.id]
    said = (
        f"inputs.sentinel2: {pc.id} and {es.id} are one product (tile 29RKH, datatake "
        f"S2A_20200219T112111); {pc.id} kept (processing baseline 02.14, the same: the first "
        "in time), the other left out so that its date counts once"
    )
    assert [str(w.message) for w in caught] == [said]


@pytest.mark.realdata
def test_two_tiles_of_one_datatake_from_two_distributors_are_one_acquisition(real_data, tmp_path):
    """The real Earth Search tile and a Planetary Computer tile of the same datatake (its
    neighbour, 29RKJ: here the same pixels): two products, not one product given twice, but
    one acquisition in the index medians."""
    es = open_product(real_data / ES_FOLDER)
    pc = open_product(_planetary_computer_copy(real_data, tmp_path / "pc", tile="29RKJ"))
    assert run_graph._one_of_each_product([pc, es]) == [pc, es]
    stored = load_stored([es, pc], ["red"])
    assert list(stored.data["product_id"].values) == [pc.id, es.id]  # in time order
    assert acquisition_groups(stored.data, run_graph._datatakes([es, pc])) == [[0, 1]]


@pytest.mark.parametrize(
    ("indices_from", "tile_size_px"),
    [("sentinel2", None), ("sentinel2", 64), ("landsat", None)],
    ids=["sentinel2", "sentinel2-tiled", "landsat"],
)
def test_the_run_says_how_often_a_negative_reflectance_was_taken_as_zero(
    tmp_path, monkeypatch, indices_from, tile_size_px
):
    """Sentinel-2 tile C (the whole grid) has red -0.02 (DN 800 at baseline 05.10), NIR
    0.3: its NDVI reads a negative red, taken as 0, on every grid pixel; A and B (red 0.1)
    never. One pixel-date per grid pixel, counted in the pass that makes the composites
    (also a tiled run's, from its checkpointed pieces). From Landsat (red -0.01 on its one
    scene, which covers the grid): the same count."""
    products = tmp_path / "products"
    products.mkdir()
    _landsat(products, red=-0.01 if indices_from == "landsat" else 0.08)
    for name, tile in (("A", "31TCJ"), ("B", "31TDJ")):
        _sentinel2(products, name, red=0.1, nir=0.3, when=DATATAKE, tile=tile)
    if indices_from == "sentinel2":
        _sentinel2(products, "C", red=-0.02, nir=0.3, when="2023-07-24T10:56:21Z", tile="31TCJ")
    config = apply_overrides(_config(tmp_path, 10), {"composite.indices_from": indices_from})
    pieces = []
    monkeypatch.setattr(
        run_tiles, "input_pieces", lambda *a: pieces.append(a[1]) or input_pieces(*a)
    )
    result = run(config, tile_size_px=tile_size_px)
    assert len(pieces) == (4 if tile_size_px else 0)  # 2 x 2 tiles of the 120 x 120 grid, or one
    with rasterio.open(tmp_path / "out" / "rasters" / "ndvi_median.tif") as src:
        ndvi = src.read(1)
    sensor = {"sentinel2": "Sentinel-2", "landsat": "Landsat"}[indices_from]
    said = (
        f"{sensor} index composites: on {ndvi.size} pixel-dates kept by the masks (a grid "
        "pixel on one acquisition), a normalized difference (NDVI) read a negative "
        "reflectance, taken as 0: there the index is -1 or 1 whatever the surface (red < 0 "
        "gives NDVI 1, as dense vegetation)"
    )
    assert said in result.warnings, result.warnings
    if indices_from == "landsat":
        assert (ndvi == 1.0).all()


def test_range_only_items_of_one_product_keep_the_first_and_say_its_time_in_utc():
    """Items giving a range only (``datetime: null``): the first in time is kept, and the
    warning gives its start in UTC (it read ``datetime``, None)."""
    import datetime as dt

    import pystac

    paris = dt.timezone(dt.timedelta(hours=2))
    t0 = dt.datetime(2023, 7, 14, 12, 56, 21, tzinfo=paris)  # 10:56 UTC

    def item(name, start, seconds):
        props = {"platform": "sentinel-2b", "s2:mgrs_tile": "31TCJ",
                 "s2:processing_baseline": "05.09", "start_datetime": start.isoformat(),
                 "end_datetime": (start + dt.timedelta(seconds=seconds)).isoformat()}  # fmt: skip
        return pystac.Item(name, None, None, None, props)

    # "first" ends last: by their ends, "later" would be the first in time.
    later, first = item("later", t0 + dt.timedelta(seconds=30), 5), item("first", t0, 90)
    with pytest.warns(IlotsWarning) as caught:
        kept = run_graph._one_of_each_product([later, first])
    assert [it.id for it in kept] == ["first"]
    assert "(tile 31TCJ, 2023-07-14 10:56 UTC); first kept" in str(caught[0].message)
