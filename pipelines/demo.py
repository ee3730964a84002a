"""``ilots demo``: write a synthetic city in real product formats, then process it.

The demo writes, from the synthetic city of :mod:`pipelines.demo_city`:

* four summer Landsat Collection 2 L2SP product folders on USGS's 30 m pixel grid (edges at
  15 m + k·30 m, :meth:`pipelines.demo_city.CityModel.landsat_grid`; Landsat 8 and 9, June
  to August 2023, each with its own rural temperature; two with clouds and their shadows
  flagged in ``QA_PIXEL``; ``ST_QA``; ``QA_RADSAT`` with the brightest dense roofs saturated
  in the visible bands; ``_MTL.txt`` and ``_MTL.json``);
* three Sentinel-2 L2A products in the Earth Search COG layout with their STAC item JSON,
  bands ``blue`` (B02), ``green``, ``red``, ``nir`` (B08), ``nir08`` (B8A), ``swir16`` (B11),
  ``swir22`` (B12) and ``scl``: one at processing baseline 02.14 (no BOA offset) and two at
  05.09/05.10 (the -1000 offset, the item's ``raster:bands`` offset -0.1), so that the run's
  land cover has NDVI, MNDWI and NDBI, and the run has a broadband albedo.

It computes per-product LST and NDVI COGs into ``scenes/`` (beside the run folder, not in
it: ``ilots run`` does not write them) and prints class means recovered from them, writes
synthetic IRIS and QPV layers and Filosofi and population tables
(:mod:`pipelines.demo_census`) and ``planted_effects.json`` (what the generator planted:
QPV-vs-rest LST gap, SUHII, NDVI of parks and dense districts, LST per unit of roof albedo), copies
``pipelines/configs/demo.yaml`` to ``config.yaml``, runs the whole pipeline on it
(:func:`pipelines.run.run`) into ``outputs/``, then its planner scenarios (greening the QPV,
cool roofs; :func:`pipelines.scenarios.run_scenarios`) into ``outputs/scenarios/``.

All inputs are synthetic: their metadata says so, and so does every line the demo prints.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr
from rasterio.transform import from_origin
from scipy import ndimage

from pipelines.config import example_config, load_config
from pipelines.demo_census import planted_effects, write_demo_census
from pipelines.demo_city import CLASSES, CityModel, Scene, make_city
from pipelines.outputs._atomic import write_text_atomic
from pipelines.product import product_indices, product_lst, write_product_raster
from pipelines.run import RunResult, run
from pipelines.scenarios import run_scenarios
from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    reflectance_to_dn_sentinel2,
    write_landsat_c2l2,
    write_sentinel2_earthsearch,
)
from tiles.errors import OutputExistsError
from tiles.grid import LANDSAT_PIXEL_M

__all__ = [
    "S2_PRODUCTS",
    "SCENES",
    "demo_folder",
    "roof_saturation",
    "run_demo",
    "write_demo_products",
]

#: The Landsat scenes (path 198 row 30; Landsat 8 and 9 pass 8 days apart).
SCENES = (
    Scene("2023-06-26", "landsat-8", rural_lst_k=302.5, cloud_fraction=0.0, seed=10),
    Scene("2023-07-12", "landsat-8", rural_lst_k=304.0, cloud_fraction=0.0, seed=11),
    Scene("2023-07-20", "landsat-9", rural_lst_k=307.5, cloud_fraction=0.15, seed=12),
    Scene("2023-08-05", "landsat-9", rural_lst_k=305.5, cloud_fraction=0.08, seed=13),
)
#: The Sentinel-2 products: (acquisition time, platform, processing baseline, seed). Real 2023
#: products carry baseline 05.09 or later; the 02.14 one is there to exercise the products
#: without a BOA offset (as Earth Search still serves for older dates).
S2_PRODUCTS = (
    (dt.datetime(2023, 6, 29, 10, 56, 21, tzinfo=dt.UTC), "sentinel-2a", "02.14", 21),
    (dt.datetime(2023, 7, 14, 10, 56, 21, tzinfo=dt.UTC), "sentinel-2b", "05.09", 23),
    (dt.datetime(2023, 8, 8, 10, 56, 19, tzinfo=dt.UTC), "sentinel-2a", "05.10", 25),
)
_TAG = "[synthetic] "  # every line the demo prints carries it


def demo_folder(env: str = "ILOTS_DEMO_DIR") -> Path:
    """Return a folder holding the demo city, running ``ilots demo`` into it when needed.

    The folder named by the environment variable ``env`` when it holds a demo
    (``config.yaml``); else that folder, or a new temporary one, after running the demo in it.
    The notebooks start with it, so they run alone or on a demo made beforehand.
    """
    named = os.environ.get(env)
    if named and (Path(named) / "config.yaml").is_file():
        return Path(named)
    folder = Path(named) if named else Path(tempfile.mkdtemp(prefix="ilots-demo-"))
    print(f"writing the synthetic demo city into {folder} ...")
    run_demo(folder, echo=lambda line: None)
    return folder


#: What the demo writes at the top of its folder (replaced by a new demo).
DEMO_ENTRIES = ("config.yaml", "planted_effects.json", "products", "scenes", "zones", "census",
                "outputs")  # fmt: skip
#: The ``source`` of a demo's ``planted_effects.json`` (written by every version).
DEMO_SOURCE = "ilots demo generator"


def _check_demo_folder(root: Path) -> None:
    """Refuse, before any work, a folder holding what the demo would replace, unless a demo's.

    The demo writes :data:`DEMO_ENTRIES` (products named after real Landsat path/rows, IGN
    and INSEE file names, a config, then its run into ``outputs/`` with ``outputs.overwrite:
    true``): in a user's project folder it would replace their products, zones, census
    tables, config and run. A previous demo (its ``planted_effects.json`` says so, as every
    version's has) is made anew; a folder holding none of these entries is used as it is.
    """
    found = [name for name in DEMO_ENTRIES if (root / name).exists() or (root / name).is_symlink()]
    if not found or _is_demo(root):
        return
    raise OutputExistsError(
        f"{root} holds {', '.join(found)} and is not a previous demo's folder: the demo would "
        "replace them; choose another --out (or remove them, if an interrupted demo left them)"
    )


def _is_demo(root: Path) -> bool:
    """Whether ``root`` holds a demo's ``planted_effects.json``."""
    try:
        planted = json.loads((root / "planted_effects.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(planted, dict) and planted.get("source") == DEMO_SOURCE


def run_demo(
    out: str | os.PathLike[str],
    echo: Callable[[str], None] = print,
    warned: Callable[[list[str]], None] | None = None,
) -> str:
    """Synthesise the demo city's products under ``out/products`` and process them.

    Parameters
    ----------
    out
        Output folder (created). Products go to ``products/``, zones and census tables to
        ``zones/`` and ``census/``, the per-product LST and NDVI COGs to ``scenes/``, the config
        run to ``config.yaml``, the run folder to ``outputs/``.
    echo
        Where progress lines go.
    warned
        Called with the warnings of the run, then with those of the scenarios, as each
        ends: those the returned report says (``ilots demo`` writes them to the run
        folder's log, as ``ilots run`` and ``ilots scenarios`` do).

    Returns
    -------
    A short report: where the outputs are, and the class means recovered from them; its
    last line says which report.html to open.

    Raises
    ------
    OutputExistsError
        ``out`` holds what the demo writes and is not a previous demo's folder
        (:func:`_check_demo_folder`).
    """
    root = Path(out)
    _check_demo_folder(root)
    products_dir, scenes_dir = root / "products", root / "scenes"
    products_dir.mkdir(parents=True, exist_ok=True)
    scenes_dir.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        echo(_TAG + line)

    city = make_city()
    say(f"synthetic city: {city.landcover.shape[0] * city.resolution / 1000:.0f} km square, "
        f"EPSG:{city.crs} (synthetic data, not a real place)")  # fmt: skip

    lines = ["mean land surface temperature by synthetic land-cover class (K):"]
    for scene in SCENES:
        folder = _write_landsat(city, scene, products_dir)
        say(f"wrote synthetic Landsat product {folder.name}")
        lst = product_lst(folder)
        path = write_product_raster(lst, scenes_dir / f"lst_{scene.platform}_{scene.date}.tif")
        say(f"wrote {path} (from synthetic data)")
        lines.append(f"  {scene.date} {scene.platform}: " + _class_means(lst, city))
    lines.append("mean NDVI by synthetic land-cover class (Sentinel-2, 10 m):")
    for when, platform, baseline, seed in S2_PRODUCTS:
        item = _write_sentinel2(city, products_dir, when, platform, baseline, seed)
        say(f"wrote synthetic Sentinel-2 product {item.parent.name} (baseline {baseline})")
        ndvi = product_indices(item.parent, ["ndvi"])["ndvi"]
        name = f"ndvi_sentinel-2_{when.date().isoformat()}.tif"
        path = write_product_raster(ndvi, scenes_dir / name)
        say(f"wrote {path} (from synthetic data)")
        lines.append(f"  {when.date()} baseline {baseline}: " + _class_means(ndvi, city))
    lines.append(f"per-product outputs (COG, open them in QGIS): {scenes_dir}")

    census = write_demo_census(city, root)
    say(f"wrote {census['iris'].parent} and {census['filosofi'].parent} (synthetic IRIS, QPV, "
        "Filosofi, population)")  # fmt: skip
    config_path = root / "config.yaml"
    write_text_atomic(config_path, example_config("demo").read_text(encoding="utf-8"))
    config = load_config(config_path)
    hi = config.heat_island
    planted = planted_effects(city, hi.ring_inner_km, hi.ring_outer_km)
    planted_path = root / "planted_effects.json"
    write_text_atomic(
        planted_path,
        json.dumps({"synthetic": True, "source": DEMO_SOURCE, **planted}, indent=2) + "\n",
    )
    say(f"wrote {planted_path} (the effects the generator planted)")
    say(f"running the pipeline of {config_path} (synthetic data)")
    result = run(config, source=str(config_path))
    if warned is not None:
        warned(result.warnings)
    lines.append(
        f"planted by the generator: QPV-vs-rest LST gap {planted['qpv_gap_k']:+.2f} K, "
        f"SUHII {planted['suhii_k']:+.2f} K"
    )
    if recovered := _recovered_effects(result):
        lines.append(f"recovered by the run: {recovered}")
    lines += result.summary().splitlines()
    lines.append(f"run again with: ilots run {config_path}")
    if config.scenarios:
        say(f"running the planner scenarios of {config_path} (synthetic data)")
        scenarios = run_scenarios(config)
        if warned is not None:
            warned(scenarios.notes)
        lines += scenarios.summary()
        lines.append(f"run the scenarios again with: ilots scenarios {config_path}")
    if result.report is not None:  # last: what to open once the demo has ended
        with_scenarios = " (the run and its scenarios)" if config.scenarios else ""
        lines.append(f"open the report in a web browser{with_scenarios}: {result.report}")
    return "\n".join(_TAG + line for line in lines)


def _recovered_effects(result: RunResult) -> str:
    """Return the run's numbers to set beside the planted ones: QPV gap and SUHII, if any."""
    parts = []
    if result.inequality is not None:
        gap = json.loads(result.inequality.to_json())["group_difference"]
        if gap is not None:
            parts.append(f"QPV-vs-rest LST anomaly gap {gap['value']:+.2f} K")
    suhii = ((result.heat_island or {}).get("composite") or {}).get("suhii_k")
    if suhii is not None:
        parts.append(f"SUHII {suhii:+.2f} K")
    return ", ".join(parts)


def _block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    n = values.shape[0] // factor
    return values[: n * factor, : n * factor].reshape(n, factor, n, factor).mean(axis=(1, 3))


def _write_landsat(city: CityModel, scene: Scene, folder: Path) -> Path:
    """Write one Landsat product on USGS's pixel grid (:meth:`CityModel.landsat_grid`)."""
    to30 = city.landsat_mean
    cloud, shadow = city.clouds(scene)
    cloud30, shadow30 = to30(cloud) > 0.3, to30(shadow) > 0.3
    water30 = to30(city.landcover == 1) > 0.5
    lst = to30(city.surface_temperature(scene))
    lst = np.where(cloud30, scene.rural_lst_k - 25.0, lst)  # cold cloud tops
    lst = np.where(shadow30 & ~cloud30, lst - 4.0, lst)
    bands = {
        "red": reflectance_to_dn_landsat(to30(city.reflectance("red", scene.seed))),
        "nir08": reflectance_to_dn_landsat(to30(city.reflectance("nir", scene.seed))),
        "lwir11": kelvin_to_st_dn(lst),
        "qa_pixel": encode_qa_pixel(
            cloud=cloud30, dilated_cloud=cloud30, shadow=shadow30, water=water30
        ),
        "st_qa": np.full(lst.shape, 150, dtype="int16"),  # 1.5 K uncertainty
        "st_cdist": _cloud_distance_dn(cloud30, LANDSAT_PIXEL_M),
        "qa_radsat": roof_saturation(city),
    }
    (west, north), _ = city.landsat_grid()
    return write_landsat_c2l2(
        folder, bands=bands, crs=city.crs,
        transform=from_origin(west, north, LANDSAT_PIXEL_M, LANDSAT_PIXEL_M),
        platform=scene.platform, path=198, row=30, date=dt.date.fromisoformat(scene.date),
        cloud_cover=float(cloud30.mean() * 100), overwrite=True,
    )  # fmt: skip


#: Roof brightness factor (:data:`pipelines.demo_city.ROOF_BRIGHTNESS`), averaged over a 30 m
#: pixel wholly on dense roofs, above which the pixel is flagged saturated in the visible
#: bands: under 1 % of the dense roofs (36 pixels of 4,103 in the demo).
SATURATED_ROOF_BRIGHTNESS = 1.58
#: QA_RADSAT bits of the bright roofs: bands 2-4 (blue, green, red; science.md §1.3).
_VISIBLE_SATURATION = (1 << 1) | (1 << 2) | (1 << 3)


def roof_saturation(city: CityModel) -> np.ndarray:
    """Return QA_RADSAT: B2-B4 saturated on the brightest dense roofs, 0 elsewhere.

    As on real scenes, a few bright roofs saturate OLI's visible bands; NIR, SWIR and the
    thermal band are not flagged, and the flat city has no terrain occlusion.
    """
    brightness = city.brightness if city.brightness is not None else np.ones(city.landcover.shape)
    dense = city.landsat_mean(city.landcover == 4) == 1.0
    bright = city.landsat_mean(brightness) > SATURATED_ROOF_BRIGHTNESS
    return np.where(dense & bright, _VISIBLE_SATURATION, 0).astype("uint16")


def _cloud_distance_dn(cloud: np.ndarray, pixel_m: float) -> np.ndarray:
    """Return ST_CDIST digital numbers: the distance to the nearest cloud pixel in 0.01 km.

    0-24000, the USGS valid range (science.md §1.2); the most where a scene has no cloud.
    """
    if not cloud.any():
        return np.full(cloud.shape, 24000, dtype="int16")
    km = ndimage.distance_transform_edt(~cloud, sampling=pixel_m) / 1000.0
    return np.minimum(np.round(km / 0.01), 24000).astype("int16")


def write_demo_products(city: CityModel, folder: Path) -> list[Path]:
    """Write every synthetic Landsat and Sentinel-2 product of the demo into ``folder``.

    Returns the Landsat product folders and the Sentinel-2 item JSON paths.
    """
    paths = [_write_landsat(city, scene, folder) for scene in SCENES]
    return paths + [_write_sentinel2(city, folder, *product) for product in S2_PRODUCTS]


def _write_sentinel2(
    city: CityModel,
    folder: Path,
    when: dt.datetime | None = None,
    platform: str = "sentinel-2b",
    baseline: str = "05.10",
    seed: int = 21,
) -> Path:
    """Write one Sentinel-2 product; without ``when``, every product of :data:`S2_PRODUCTS`.

    Returns the item JSON path (the last one written).
    """
    if when is None:
        items = [_write_sentinel2(city, folder, *product) for product in S2_PRODUCTS]
        return items[-1]
    scl = np.where(city.landcover == 1, 6, np.where(np.isin(city.landcover, (2, 3)), 4, 5))
    reflectance = {
        band: city.reflectance(band, seed + k)
        for k, band in enumerate(("green", "red", "nir", "swir16", "blue", "swir22"))
    }
    reflectance["nir08"] = city.reflectance("nir", seed + 10)

    def dn(values: np.ndarray) -> np.ndarray:
        return reflectance_to_dn_sentinel2(values, processing_baseline=baseline)

    bands = {
        "blue": dn(reflectance["blue"]),
        "green": dn(reflectance["green"]),
        "red": dn(reflectance["red"]),
        "nir": dn(reflectance["nir"]),
        # B8A, B11, B12 and SCL are delivered at 20 m
        "nir08": dn(_block_mean(reflectance["nir08"], 2)),
        "swir16": dn(_block_mean(reflectance["swir16"], 2)),
        "swir22": dn(_block_mean(reflectance["swir22"], 2)),
        "scl": scl[::2, ::2].astype("uint8"),
    }
    return write_sentinel2_earthsearch(
        folder, bands=bands, tile="31TCJ", datetime=when, crs=city.crs,
        transform=from_origin(*city.origin, city.resolution, city.resolution),
        processing_baseline=baseline, platform=platform, overwrite=True,
    )  # fmt: skip


def _class_means(values: xr.DataArray, city: CityModel, digits: int = 1) -> str:
    """Mean of ``values`` per class of the model cell under each pixel centre."""
    west, north = city.origin
    n = city.landcover.shape[0]
    rows = np.clip(((north - values.y.values) // city.resolution).astype(int), 0, n - 1)
    cols = np.clip(((values.x.values - west) // city.resolution).astype(int), 0, n - 1)
    classes, data = city.landcover[np.ix_(rows, cols)], values.values
    parts = []
    for code, (name, *_rest) in CLASSES.items():
        sel = (classes == code) & np.isfinite(data)
        if sel.any():
            parts.append(f"{name} {np.mean(data[sel]):.{digits + 1 if digits > 1 else 2}f}")
    return ", ".join(parts)
