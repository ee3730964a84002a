"""Fixtures of the config tests: YAML writing, synthetic IRIS layers and Landsat products."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from rasterio.transform import from_origin
from shapely.geometry import box

from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    write_landsat_c2l2,
)

# A 240 m Landsat tile in UTM 31N, west of Toulouse.
UTM_ORIGIN = (363_000.0, 4_830_000.0)
N = 8

MINIMAL = """
aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}
periods: {years: [2023]}
inputs: {landsat: [products]}
"""


@pytest.fixture
def write_config(tmp_path):
    """Write YAML text (dedented) to tmp_path/name and return its path."""

    def write(text: str, name: str = "config.yaml", folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def iris_layer(path: Path) -> Path:
    """Write 4 IRIS squares in Lambert-93 with IGN field names (communes 31555 x2, 31069, 2A004)."""
    x0, y0, side = 574_000.0, 6_279_000.0, 500.0
    frame = gpd.GeoDataFrame(
        {
            "INSEE_COM": ["31555", "31555", "31069", "2A004"],
            "NOM_COM": ["Toulouse", "Toulouse", "Blagnac", "Ajaccio"],
            "IRIS": ["0101", "0102", "0101", "0101"],
            "CODE_IRIS": ["315550101", "315550102", "310690101", "2A0040101"],
            "NOM_IRIS": ["Capitole", "Saint-Georges", "Centre", "Centre"],
            "TYP_IRIS": ["H", "H", "H", "H"],
        },
        geometry=[box(x0 + i * side, y0, x0 + (i + 1) * side, y0 + side) for i in range(4)],
        crs="EPSG:2154",
    )
    frame.to_file(path, driver="GPKG")
    return path


@pytest.fixture
def iris_gpkg(tmp_path):
    return (
        iris_layer(tmp_path / "zones" / "iris.gpkg")
        if (tmp_path / "zones").mkdir() is None
        else None
    )


def landsat_product(
    folder: Path,
    date: dt.date,
    platform: str = "landsat-8",
    tar: bool = False,
    cloud_cover: float | None = None,
):
    """A tiny Landsat 8/9 C2 L2SP product (red, ST_B10, QA_PIXEL) near Toulouse.

    ``cloud_cover``: the MTL's CLOUD_COVER, in percent (default: the QA_PIXEL's, 0).
    """
    bands = {
        "red": reflectance_to_dn_landsat(np.full((N, N), 0.05)),
        "lwir11": kelvin_to_st_dn(np.full((N, N), 300.0)),
        "qa_pixel": np.full((N, N), encode_qa_pixel(), dtype="uint16"),
    }
    return write_landsat_c2l2(
        folder, bands=bands, crs=32631, transform=from_origin(*UTM_ORIGIN, 30, 30),
        platform=platform, path=199, row=30, date=date, tar=tar, cloud_cover=cloud_cover,
    )  # fmt: skip


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """A folder of products: L8 2023-07-12 (folder and .tar), L9 2023-07-20, L8 2023-05-02
    (outside June-August) and a README that is not a product."""
    folder = tmp_path_factory.mktemp("inputs") / "products"
    landsat_product(folder, dt.date(2023, 7, 12), tar=True)
    landsat_product(folder, dt.date(2023, 7, 20), platform="landsat-9")
    landsat_product(folder, dt.date(2023, 5, 2))
    (folder / "README.txt").write_text("downloaded from USGS\n")
    return folder
