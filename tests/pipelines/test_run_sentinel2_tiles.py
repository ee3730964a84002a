"""Two overlapping Sentinel-2 tiles of one datatake count as one acquisition in a run.

MGRS tiles overlap by about 10 km: a city in the overlap of two tiles of one datatake (same
platform, same sensing time) sees one acquisition in two products. Synthetic products
(:mod:`raster.synthetic`) on a small grid: tiles A (31TCJ, west) and B (31TDJ, east) of
2023-07-14, overlapping over 200 m, and C (the whole grid) ten days later, with a Landsat
scene for the LST; ``ilots run`` on them, its NDVI median compared with hand-computed values.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from rasterio.transform import from_origin

from pipelines import run_graph
from pipelines.config import load_config
from pipelines.run import run
from raster.footprint import sentinel2_footprint_flags
from raster.synthetic import (
    encode_qa_pixel,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    write_landsat_c2l2,
    write_sentinel2_earthsearch,
)

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


def _landsat(folder):
    """One clear Landsat 8 scene at 300 K over the grid (30 m, USGS pixel phase 15 m)."""
    shape = (52, 52)
    write_landsat_c2l2(
        folder,
        bands={
            "red": reflectance_to_dn_landsat(np.full(shape, 0.08)),
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
