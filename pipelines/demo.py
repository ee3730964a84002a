"""``ilots demo``: write a synthetic city in real product formats, then process it.

Today the demo exercises what ilots can do per product: it writes two Landsat Collection 2
L2SP products (Landsat 8 and 9, one partly cloudy) and one Sentinel-2 L2A product in the Earth
Search COG layout (processing baseline 05.10, so the -1000 BOA offset applies), then computes
LST and NDVI COGs from them and checks that the planted heat-island effects come back out.
It then writes synthetic IRIS and QPV layers and Filosofi and population tables
(:mod:`pipelines.demo_census`), copies ``pipelines/configs/demo.yaml`` to ``config.yaml`` and
runs the whole pipeline on it (:func:`pipelines.run.run`) into ``outputs/``.

All inputs are synthetic: their metadata says so, and so does every line the demo prints.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rasterio.transform import from_origin

from pipelines.config import example_config, load_config
from pipelines.demo_census import write_demo_census
from pipelines.demo_city import CLASSES, CityModel, Scene, make_city
from pipelines.product import product_indices, product_lst, write_product_raster
from pipelines.run import run
from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    write_landsat_c2l2,
    write_sentinel2_earthsearch,
)

__all__ = ["run_demo"]

SCENES = (
    Scene("2023-07-12", "landsat-8", rural_lst_k=304.0, cloud_fraction=0.0, seed=11),
    Scene("2023-07-20", "landsat-9", rural_lst_k=307.5, cloud_fraction=0.15, seed=12),
)
S2_DATE = dt.datetime(2023, 7, 14, 10, 56, 21, tzinfo=dt.UTC)
_LANDSAT_FACTOR = 3  # 10 m model -> 30 m Landsat pixels


def run_demo(out: str | os.PathLike[str], echo: Callable[[str], None] = print) -> str:
    """Synthesise the demo city's products under ``out/products`` and process them.

    Parameters
    ----------
    out
        Output folder (created). Products go to ``products/``, zones and census tables to
        ``zones/`` and ``census/``, the config run to ``config.yaml``, results to ``outputs/``
        (per-product COGs and the run folder).
    echo
        Where progress lines go.

    Returns
    -------
    A short report: where the outputs are, and the class means recovered from them.
    """
    root = Path(out)
    products_dir, outputs_dir = root / "products", root / "outputs"
    products_dir.mkdir(parents=True, exist_ok=True)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    city = make_city()
    echo(f"synthetic city: {city.landcover.shape[0] * city.resolution / 1000:.0f} km square, "
         f"EPSG:{city.crs} (synthetic data, not a real place)")  # fmt: skip

    lines = ["mean land surface temperature by synthetic land-cover class (K):"]
    for scene in SCENES:
        folder = _write_landsat(city, scene, products_dir)
        echo(f"wrote {folder.name}")
        lst = product_lst(folder)
        path = write_product_raster(lst, outputs_dir / f"lst_{scene.platform}_{scene.date}.tif")
        echo(f"wrote {path}")
        lines.append(f"  {scene.date} {scene.platform}: " + _class_means(lst.values, city))
    item = _write_sentinel2(city, products_dir)
    echo(f"wrote {item.parent.name}")
    ndvi = product_indices(item.parent, ["ndvi"])["ndvi"]
    path = write_product_raster(ndvi, outputs_dir / "ndvi_sentinel-2.tif")
    echo(f"wrote {path}")
    lines.append("mean NDVI by class (Sentinel-2, 10 m): " + _class_means(ndvi.values, city, 1))
    lines.append(f"per-product outputs (COG, open them in QGIS): {outputs_dir}")

    census = write_demo_census(city, root)
    echo(f"wrote {census['iris'].parent} and {census['filosofi'].parent} (synthetic IRIS, QPV, "
         "Filosofi, population)")  # fmt: skip
    config_path = root / "config.yaml"
    shutil.copyfile(example_config("demo"), config_path)
    echo(f"running the pipeline of {config_path} (synthetic data)")
    result = run(load_config(config_path))
    lines.append(result.summary())
    lines.append(f"run again with: ilots run {config_path}")
    return "\n".join(lines)


def _block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    n = values.shape[0] // factor
    return values[: n * factor, : n * factor].reshape(n, factor, n, factor).mean(axis=(1, 3))


def _write_landsat(city: CityModel, scene: Scene, folder: Path) -> Path:
    f = _LANDSAT_FACTOR
    cloud, shadow = city.clouds(scene)
    cloud30, shadow30 = _block_mean(cloud, f) > 0.3, _block_mean(shadow, f) > 0.3
    water30 = _block_mean(city.landcover == 1, f) > 0.5
    lst = _block_mean(city.surface_temperature(scene), f)
    lst = np.where(cloud30, scene.rural_lst_k - 25.0, lst)  # cold cloud tops
    lst = np.where(shadow30 & ~cloud30, lst - 4.0, lst)
    bands = {
        "red": reflectance_to_dn_landsat(_block_mean(city.reflectance("red", scene.seed), f)),
        "nir08": reflectance_to_dn_landsat(_block_mean(city.reflectance("nir", scene.seed), f)),
        "lwir11": kelvin_to_st_dn(lst),
        "qa_pixel": encode_qa_pixel(
            cloud=cloud30, dilated_cloud=cloud30, shadow=shadow30, water=water30
        ),
        "st_qa": np.full(lst.shape, 150, dtype="int16"),  # 1.5 K uncertainty
    }
    return write_landsat_c2l2(
        folder, bands=bands, crs=city.crs,
        transform=from_origin(*city.origin, city.resolution * f, city.resolution * f),
        platform=scene.platform, path=198, row=30, date=dt.date.fromisoformat(scene.date),
        cloud_cover=float(cloud30.mean() * 100), overwrite=True,
    )  # fmt: skip


def _write_sentinel2(city: CityModel, folder: Path) -> Path:
    baseline = "05.10"
    scl = np.where(city.landcover == 1, 6, np.where(np.isin(city.landcover, (2, 3)), 4, 5))
    red, nir = city.reflectance("red", 21), city.reflectance("nir", 22)
    bands = {
        "red": reflectance_to_dn_sentinel2(red, processing_baseline=baseline),
        "nir": reflectance_to_dn_sentinel2(nir, processing_baseline=baseline),
        "scl": scl[::2, ::2].astype("uint8"),  # SCL is delivered at 20 m
    }
    return write_sentinel2_earthsearch(
        folder, bands=bands, tile="31TCJ", datetime=S2_DATE, crs=city.crs,
        transform=from_origin(*city.origin, city.resolution, city.resolution),
        processing_baseline=baseline, overwrite=True,
    )  # fmt: skip


def _class_means(values: np.ndarray, city: CityModel, digits: int = 1) -> str:
    factor = city.landcover.shape[0] // values.shape[0]
    classes = city.landcover[::factor, ::factor][: values.shape[0], : values.shape[1]]
    parts = []
    for code, (name, *_rest) in CLASSES.items():
        sel = (classes == code) & np.isfinite(values)
        if sel.any():
            parts.append(f"{name} {np.mean(values[sel]):.{digits + 1 if digits > 1 else 2}f}")
    return ", ".join(parts)
