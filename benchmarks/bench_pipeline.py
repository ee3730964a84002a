"""End-to-end ``ilots run`` beside a plain rasterio read and an analyst's script (issue #5).

The workload is written once (deterministic) into ``<workdir>/pipeline/`` from the demo
city generator (:func:`pipelines.demo_city.make_city`) with the project's synthetic product
writers (:mod:`raster.synthetic`):

* a synthetic city of 4,000 x 4,000 pixels at 10 m (40 km square, UTM 31N) with a dense
  centre, suburbs, QPV, parks, a river and countryside;
* 6 Landsat 8/9 Collection 2 L2SP product folders (June-August 2023, USGS layout with MTL,
  30 m on USGS's pixel grid, edges at 15 m + k·30 m: the 1,332 x 1,332 pixels wholly inside
  the city, each the area-weighted mean of the 10 m cells it covers,
  ``CityModel.landsat_mean``; four with clouds and shadows flagged in QA_PIXEL, ST_QA above
  2 K around the clouds);
* 4 Sentinel-2 L2A products in the Earth Search COG layout with their STAC item JSON
  (10 m bands 4,000 x 4,000, 20 m bands and SCL 2,000 x 2,000; three with clouds and shadows
  in SCL); the clouds are blobs of 1-2 km made here (``_clouds``: the demo city's own are a
  pixel-scale speckle), their shadows 900 m to the north-west;
* 1,000 IRIS (the demo census writes a 64-IRIS grid, so the IRIS layer is built here: a
  Voronoi partition, denser towards the centre, of a 20 km square around the city, with IGN
  field names ``code_iris``, ``nom_iris``, ``insee_com``, ``nom_com``, ``typ_iris`` and nine
  synthetic communes), a Filosofi table (``IRIS;DISP_MED21``, decimal comma, ``s``/``nd``
  secrecy markers) and a population table (``IRIS;P21_POP``) for them; the QPV layer of
  :func:`pipelines.demo_census.write_demo_census`;
* ``config.yaml``: the analysis grid at 10 m (the IRIS union grown by the default 2-10 km
  rural ring is exactly the 40 km square), default masks (ST_QA <= 2 K; the synthetic
  products have no ST_CDIST band), median and P90 composites with at least 3 clear scenes,
  the default threaded scheduler and tile size.

Every measurement runs in a fresh Python process with the same libraries imported before the
clock starts (dask, rasterio, rioxarray, geopandas, rasterstats, xarray, odc-stac, ilots and
the reference module), so the figure is the work and peak memory (``ru_maxrss``) is that
work's own on the same base (the ``imports`` row). The best of ``--repeat`` runs is kept,
peak memory is the largest seen. Cases:

1. ``floor``: read and decode, whole file by whole file with rasterio, every band the run
   reads: Landsat ST_B10, QA_PIXEL, ST_QA, QA_RADSAT; Sentinel-2 red, nir, green, swir16 and
   scl (the bands ``pipelines.run_graph.sentinel2_indices`` loads), holding them all.
   ``floor-warp`` (no target, for reference) also resamples every band not already on the
   10 m grid onto it with ``rasterio.warp.reproject`` (nearest, as ilots' ``grid.resampling:
   auto`` upsamples), as ilots and the reference must: Landsat 30 m -> 10 m, Sentinel-2
   20 m -> 10 m.
2. ``ilots``: ``pipelines.run.run(load_config("config.yaml"))`` inside
   ``scheduler_context`` of the config, as ``ilots run config.yaml`` does: items, LST and
   masks, rural reference and anomaly, composites, NDVI/MNDWI/NDBI, land cover with its
   minimum-mapping-unit cleaning, exact zonal statistics of IRIS and QPV (coverage built in
   the run), census joins, IRIS x QPV overlay, inequality (bootstrap and permutations), and
   the run folder (6 COGs with overviews, zones.gpkg, GeoParquet, manifest).
   ``ilots-tiled`` (with ``--tiled``; no target, for context): the same run forced into
   processing tiles (``TILED``: 4 tiles of 2 x 2 chunks, as the default 4,096-pixel tiles
   of 2,048-pixel chunks cut a larger city), with its checkpoints, into ``run-tiled/``;
   its rasters and per-zone tables are checked against the one-piece run's.
   ``ilots-zstd`` (with ``--zstd``; no target): the one-piece run with
   ``outputs.raster_compression: zstd``, into ``run-zstd/``, checked the same way.
   ``ilots-tables`` (with ``--tables-only``; no target): the one-piece run writing only what
   the reference writes, the per-zone GeoParquet tables (``outputs.rasters: []``,
   ``outputs.report: false``, ``outputs.zone_formats: [parquet]``; the manifest and the
   inequality files are still written), into ``run-tables/``; its tables are checked
   against the one-piece run's.
3. ``reference``: ``benchmarks/reference_pipeline.py``, the same per-IRIS table as ilots'
   ``zones/iris.parquet`` written as a typical analyst would (rioxarray, xarray, NumPy,
   SciPy, scikit-image, geopandas, rasterstats; no Dask, no ilots), with ilots' definitions
   and the workload's config: the same masks, LST median and P90 composites, per-scene
   anomaly against the rural ring without water and built pixels, NDVI/MNDWI/NDBI medians,
   rule land cover with its minimum mapping unit, zonal means, zone P90, valid fraction,
   land-cover shares, census joins, IRIS x QPV overlay and "hotter than" ranks, written as
   GeoParquet. It writes no rasters, zones.gpkg, inequality or report.
   ``reference-means`` (no target, for context): the same script with ``--means-only``, its
   first version (LST, NDVI and n_clear means, valid fraction).

One untimed ilots run first warms the page cache and compiles the numba kernels (cached on
disk, as after a user's first run). The per-IRIS tables of ilots and the reference are
compared column by column before the times are printed, every numeric column the two share
(and ``code_qp_main``), each with its own tolerance (``TOLERANCE``): rasterstats uses the
pixel-centre rule and ilots exact coverage (and a coverage-weighted zone P90), so the
pixel-derived columns are compared loosely, the census and QPV ones (``EXACT``) strictly.
The script exits with an error when more than 1 % of the IRIS (for ``EXACT`` columns: any)
differ by more than the tolerance, when the median difference exceeds a tenth of it, or when
a shared numeric column has no tolerance. The means-only table is checked the same way on
its NDVI mean: its land is where no scene's QA water bit is set, ilots' where the land cover
is not water either, so river banks differ by definition in its LST and n_clear means and
valid fraction (the full reference, with its land cover, checks those). ``--profile``
adds one more ilots run under pyinstrument (cProfile when pyinstrument is not installed)
with Dask's synchronous scheduler, so that the profiler sees the tasks (under threads the
main thread only waits), and saves its report next to the workload (``profile.txt`` with a
call tree and functions by own time, ``profile.html``,
``profile.pyisession``); the stage timings printed are those of the last timed run's
``manifest.json``.

Usage::

    python benchmarks/bench_pipeline.py [--repeat 2] [--quick] [--profile] [--tiled] [--zstd]
        [--tables-only] [--pairs N] [--workdir DIR] [--skip-reference]

``--pairs N``: after the repeats, the floor and the ``ilots`` run are timed alternately N
times and the median of the N ratios is reported beside the best-against-best ratio. On a
shared machine the floor alone has moved by a quarter within one invocation; a pair's two
runs see nearly the same machine, so the median of pairs tracks ilots, not the machine.

``--quick``: a 1,000 x 1,000 city (10 km) with 100 IRIS and a 1-2.5 km ring, for a smoke run
(in ``<workdir>/pipeline-quick/``).

Targets (issue #5): ilots <= 2 x floor; ilots peak memory <= 3 GB; ilots >= 5 x faster than
the reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RES = 10.0
S2_20M_FACTOR = 2  # 10 m -> 20 m Sentinel-2 bands
PEAK_TARGET_MIB = 3e9 / 2**20  # 3 GB
FLOOR_TARGET = 2.0
SPEEDUP_TARGET = 5.0
#: Per-IRIS columns compared with the reference, and the largest difference accepted for an
#: IRIS. Pixel-derived columns are loose: rasterstats takes the pixels whose centre is in an
#: IRIS, ilots weighs each pixel by the share of it the IRIS covers, which moves the small
#: IRIS most (the per-pixel composites and land cover agree pixel for pixel). ``lst_p90_k``
#: is the zone's P90 of the median LST: np.percentile over the pixels against ilots'
#: coverage-weighted quantile of the distinct values (exactextract's), further apart on small
#: IRIS with few distinct 30 m values. The ranks (percentage points) amplify the small value
#: differences where the IRIS are dense (a 0.05 K shift passes tens of IRIS). Every numeric
#: column both tables hold must be listed; text columns listed are compared for equality.
TOLERANCE = {
    "area_m2": 1.0,  # m², the polygon area both ways
    "valid_frac": 0.02,
    "lst_mean_k": 0.1,
    "lst_p90_k": 0.5,
    "lst_p90_mean_k": 0.1,
    "lst_anomaly_mean_k": 0.1,
    "ndvi_mean": 0.01,
    "albedo_mean": 0.01,
    "n_clear_mean": 0.05,
    "lc_water_frac": 0.02,
    "lc_dense_vegetation_frac": 0.02,
    "lc_low_vegetation_frac": 0.02,
    "lc_built_frac": 0.02,
    "lc_bare_soil_frac": 0.02,
    "disp_med": 0.01,  # EUR
    "population": 0.0,
    "qpv_area_m2": 5.0,  # m²: two equal-area CRSs (ilots' local LAEA, the reference's EPSG:3035)
    # draw a polygon's edges straight in each: up to 1.1 m² apart on the benchmark's IRIS
    "qpv_share": 1e-4,
    "in_qpv": 0.0,
    "code_qp_main": 0.0,  # text: equal or not
    "lst_anomaly_hotter_than_pct": 3.0,
    "lst_anomaly_hotter_than_residents_pct": 3.0,
    "lst_hotter_than_pct": 3.0,
    "lst_hotter_than_residents_pct": 3.0,
}
#: Columns read from the same vectors and tables both ways, no pixel involved: no IRIS may
#: differ beyond the tolerance.
EXACT = frozenset(
    {"area_m2", "disp_med", "population", "qpv_area_m2", "qpv_share", "in_qpv", "code_qp_main"}
)
#: Share of IRIS allowed beyond the tolerance in the other columns (small IRIS, cloud edges).
OUTLIER_SHARE = 0.01
#: The reference's tables, under the workload folder.
REFERENCE_TABLE = Path("reference", "iris.parquet")
REFERENCE_MEANS = Path("reference", "iris_means.csv")
EPILOG = """\
workload (written once, deterministic, under <workdir>/pipeline/): the demo city generator at
  4,000 x 4,000 px (10 m), 6 Landsat C2 L2 folders (30 m), 4 Sentinel-2 L2A Earth Search
  products (10/20 m), 1,000 Voronoi IRIS with Filosofi and population tables, the demo QPV,
  and config.yaml (10 m grid = the IRIS union grown by the 2-10 km rural ring).
cases (each in a fresh process, libraries imported before the clock, peak = ru_maxrss):
  floor      rasterio reads and decodes every band the run reads (whole files)
  floor-warp the same, plus resampling onto the 10 m grid (rasterio.warp; no target)
  ilots      pipelines.run.run(load_config(config.yaml)), as `ilots run config.yaml`
  reference  benchmarks/reference_pipeline.py: ilots' per-IRIS table (rioxarray, xarray,
             SciPy, scikit-image, geopandas, rasterstats; same masks and definitions)
  reference-means  the same with --means-only: LST, NDVI, n_clear means (no target)
The per-IRIS tables of ilots and the reference are compared column by column (loosely for
pixel statistics: pixel-centre rule against exact coverage) before the times are printed.
targets (issue #5): ilots <= 2 x floor, peak <= 3 GB, >= 5 x faster than the reference.
example: python benchmarks/bench_pipeline.py --repeat 2 --profile
"""


@dataclass(frozen=True)
class Workload:
    """Sizes of one benchmark city."""

    size: int  # pixels per side at 10 m
    n_iris: int
    ring_inner_km: float
    ring_outer_km: float

    @property
    def name(self) -> str:
        return f"{self.size}px_{self.n_iris}iris"

    @property
    def side_m(self) -> float:
        return self.size * RES

    @property
    def iris_side_m(self) -> float:
        """Edge of the IRIS square: the grid is this grown by the ring on each side.

        5 m short of exact, so that the buffered area (through EPSG:4326 and back) snaps out
        to exactly the city's pixel edges.
        """
        return self.side_m - 2000.0 * self.ring_outer_km - 10.0


FULL = Workload(size=4000, n_iris=1000, ring_inner_km=2.0, ring_outer_km=10.0)
QUICK = Workload(size=1000, n_iris=100, ring_inner_km=1.0, ring_outer_km=2.5)

#: Landsat acquisitions: (date, platform, rural LST K, cloud fraction, seed). Landsat 8 and 9
#: pass over path 198 eight days apart.
LANDSAT_SCENES = (
    ("2023-06-18", "landsat-9", 301.5, 0.0, 40),
    ("2023-06-26", "landsat-8", 303.0, 0.15, 41),
    ("2023-07-12", "landsat-8", 306.0, 0.0, 42),
    ("2023-07-20", "landsat-9", 307.5, 0.08, 43),
    ("2023-08-05", "landsat-9", 305.5, 0.25, 44),
    ("2023-08-13", "landsat-8", 304.0, 0.05, 45),
)
#: Sentinel-2 acquisitions: (UTC time, platform, processing baseline, cloud fraction, seed).
S2_SCENES = (
    (dt.datetime(2023, 6, 29, 10, 56, 21, tzinfo=dt.UTC), "sentinel-2a", "05.09", 0.0, 60),
    (dt.datetime(2023, 7, 14, 10, 56, 21, tzinfo=dt.UTC), "sentinel-2b", "05.09", 0.10, 61),
    (dt.datetime(2023, 7, 24, 10, 56, 19, tzinfo=dt.UTC), "sentinel-2b", "05.09", 0.20, 62),
    (dt.datetime(2023, 8, 8, 10, 56, 19, tzinfo=dt.UTC), "sentinel-2a", "05.10", 0.05, 63),
)
#: The bands the run reads (pipelines/run_graph.py: landsat_lst with st_qa_max_k and
#: mask.radsat set, and sentinel2_indices).
LANDSAT_FILES = ("ST_B10", "QA_PIXEL", "ST_QA", "QA_RADSAT")
S2_BANDS = ("red", "nir", "green", "swir16", "scl")
#: Bump when the products or zones written change, so that an old workload is rewritten.
GENERATOR_VERSION = 4
CENTRE_COMMUNE = "31555"
OTHER_COMMUNES = tuple(f"319{k:02d}" for k in range(1, 9))  # not real codes: synthetic


# --------------------------------------------------------------------------------------------
# workload


def _coarsen(values: np.ndarray, factor: int) -> np.ndarray:
    """Block mean by ``factor``, the edge repeated so that the blocks cover the whole grid."""
    n = values.shape[0]
    m = math.ceil(n / factor)
    pad = m * factor - n
    if pad:
        values = np.pad(values, ((0, pad), (0, pad)), mode="edge")
    return values.reshape(m, factor, m, factor).mean(axis=(1, 3))


def _clouds(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cloud and shadow masks of an ``n`` x ``n`` 10 m grid: blobs of about 1-2 km.

    The demo city's own clouds (``CityModel.clouds``) are smoothed per pixel, a speckle of
    tens of metres at any grid size; here a random field on 400 m cells is smoothed and
    interpolated to 10 m, thresholded at the wanted cloud fraction, and shadows fall 900 m
    to the north-west (a cloud ~1.5 km high, the sun 60 degrees up in the south-east).
    """
    from scipy import ndimage

    if fraction <= 0:
        empty = np.zeros((n, n), dtype=bool)
        return empty, empty
    cells = max(4, math.ceil(n / 40))
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(cells, cells)), 1.5)
    field = ndimage.zoom(field, 40, order=1)[:n, :n]
    cloud = field > np.quantile(field, 1.0 - fraction)
    shift = 90
    shadow = np.roll(np.roll(cloud, -shift, axis=0), -shift, axis=1) & ~cloud
    return cloud, shadow


def _write_landsat(city, scene, folder: Path) -> Path:
    from rasterio.transform import from_origin
    from scipy import ndimage

    from pipelines.demo import roof_saturation
    from pipelines.demo_city import Scene
    from raster.synthetic import (
        encode_qa_pixel,
        kelvin_to_st_dn,
        reflectance_to_dn_landsat,
        write_landsat_c2l2,
    )
    from tiles.grid import LANDSAT_PIXEL_M

    date, platform, rural, cloud_fraction, seed = scene
    s = Scene(date, platform, rural_lst_k=rural, cloud_fraction=cloud_fraction, seed=seed)
    to30 = city.landsat_mean
    cloud, shadow = _clouds(city.landcover.shape[0], cloud_fraction, seed + 1000)
    cloud30, shadow30 = to30(cloud) > 0.3, to30(shadow) > 0.3
    water30 = to30(city.landcover == 1) > 0.5
    lst = to30(city.surface_temperature(s))
    lst = np.where(cloud30, rural - 25.0, lst)  # cold cloud tops
    lst = np.where(shadow30 & ~cloud30, lst - 4.0, lst)
    # ST uncertainty 1.5 K; 2.6 K (rejected by the 2 K threshold) within 90 m of a cloud.
    near = ndimage.binary_dilation(cloud30, iterations=3) & ~cloud30
    st_qa = np.where(near, 260, 150).astype("int16")
    bands = {
        "red": reflectance_to_dn_landsat(to30(city.reflectance("red", seed))),
        "nir08": reflectance_to_dn_landsat(to30(city.reflectance("nir", seed))),
        "lwir11": kelvin_to_st_dn(lst),
        "qa_pixel": encode_qa_pixel(
            cloud=cloud30, dilated_cloud=cloud30, shadow=shadow30, water=water30
        ),
        "st_qa": st_qa,
        # As real products: QA_RADSAT, B2-B4 saturated on the brightest dense roofs (the demo's).
        "qa_radsat": roof_saturation(city),
    }
    return write_landsat_c2l2(
        folder,
        bands=bands,
        crs=city.crs,
        transform=from_origin(*city.landsat_grid()[0], LANDSAT_PIXEL_M, LANDSAT_PIXEL_M),
        platform=platform,
        path=198,
        row=30,
        date=dt.date.fromisoformat(date),
        cloud_cover=float(cloud30.mean() * 100),
        overwrite=True,
    )


def _write_sentinel2(city, scene, folder: Path) -> Path:
    from rasterio.transform import from_origin

    from raster.synthetic import reflectance_to_dn_sentinel2, write_sentinel2_earthsearch

    when, platform, baseline, cloud_fraction, seed = scene
    cloud, shadow = _clouds(city.landcover.shape[0], cloud_fraction, seed + 1000)
    lc = city.landcover
    scl = np.where(lc == 1, 6, np.where(np.isin(lc, (2, 3)), 4, 5))
    scl = np.where(shadow, 3, np.where(cloud, 9, scl)).astype("uint8")

    def dn(band: str, k: int, factor: int = 1) -> np.ndarray:
        rho = city.reflectance(band, seed + k)
        rho = np.where(cloud, 0.45 + 0.1 * rho, np.where(shadow, 0.5 * rho, rho))
        if factor > 1:
            rho = _coarsen(rho, factor)
        return reflectance_to_dn_sentinel2(rho, processing_baseline=baseline)

    bands = {
        "green": dn("green", 0),
        "red": dn("red", 1),
        "nir": dn("nir", 2),
        "swir16": dn("swir16", 3, S2_20M_FACTOR),  # delivered at 20 m
        "scl": scl[::S2_20M_FACTOR, ::S2_20M_FACTOR],  # 20 m
    }
    return write_sentinel2_earthsearch(
        folder,
        bands=bands,
        tile="31TCJ",
        datetime=when,
        crs=city.crs,
        transform=from_origin(*city.origin, RES, RES),
        processing_baseline=baseline,
        platform=platform,
        overwrite=True,
    )


def _iris_layer(city, work: Workload, seed: int = 5):
    """``n_iris`` Voronoi cells of a square around the centre, denser towards the centre."""
    import geopandas as gpd
    import shapely

    cx, cy = city.centre
    half = work.iris_side_m / 2
    extent = shapely.box(cx - half, cy - half, cx + half, cy + half)
    rng = np.random.default_rng(seed)
    n = work.n_iris
    n_dense = int(0.6 * n)
    dense = rng.normal(0.0, half / 4, (4 * n_dense, 2))
    dense = dense[(np.abs(dense) < half).all(axis=1)][:n_dense]
    spread = rng.uniform(-half, half, (n - len(dense), 2))
    points = np.vstack([dense, spread]) + np.array([cx, cy])
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent, ordered=True)
    polygons = shapely.intersection(shapely.get_parts(cells), extent)
    centroids = shapely.centroid(polygons)
    dx, dy = shapely.get_x(centroids) - cx, shapely.get_y(centroids) - cy
    dist = np.hypot(dx, dy)
    sector = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * 8).astype(int) % 8
    communes = np.where(dist < 0.3 * half, CENTRE_COMMUNE, np.array(OTHER_COMMUNES)[sector])
    codes, names = [], []
    seen: dict[str, int] = {}
    for com in communes:
        seen[com] = seen.get(com, 0) + 1
        codes.append(f"{com}{seen[com]:04d}")
        names.append(f"Synthetique {seen[com]}")
    commune_names = {c: f"Commune synthetique {c}" for c in (CENTRE_COMMUNE, *OTHER_COMMUNES)}
    return gpd.GeoDataFrame(
        {
            "code_iris": codes,
            "nom_iris": names,
            "insee_com": communes,
            "nom_com": [commune_names[c] for c in communes],
            "typ_iris": "H",
        },
        geometry=polygons,
        crs=f"EPSG:{city.crs}",
    )


def _census_tables(city, iris, qpv, seed: int = 9):
    """Filosofi and population tables of the IRIS (synthetic): QPV and centre poorer."""
    import pandas as pd

    cx, cy = city.centre
    centroids = iris.geometry.centroid
    dist_km = np.hypot(centroids.x - cx, centroids.y - cy) / 1000.0
    share = iris.geometry.intersection(qpv.to_crs(iris.crs).geometry.make_valid().union_all())
    share = (share.area / iris.geometry.area).to_numpy()
    rng = np.random.default_rng(seed)
    income = 16000.0 + 900.0 * dist_km - 4000.0 * share + rng.normal(0, 1500, len(iris))
    cells = [f"{v:.1f}".replace(".", ",") for v in income]
    secret = rng.choice(len(iris), size=max(2, len(iris) // 50), replace=False)
    for k, row in enumerate(secret):
        cells[row] = "s" if k % 2 else "nd"
    population = np.maximum(200, np.round(2500 - 60 * dist_km + rng.normal(0, 400, len(iris))))
    filosofi = pd.DataFrame({"IRIS": iris["code_iris"], "DISP_MED21": cells})
    pop = pd.DataFrame({"IRIS": iris["code_iris"], "P21_POP": population.astype(int)})
    return filosofi, pop


def _config(work: Workload) -> dict:
    return {
        "name": f"bench_pipeline synthetic city {work.name} (synthetic data, not a real place)",
        "aoi": {"zones": "iris"},
        "periods": {"years": [2023], "months": [6, 7, 8]},
        "inputs": {"landsat": ["products"], "sentinel2": ["products"]},
        "grid": {"crs": "EPSG:32631", "resolution": RES},
        "mask": {
            "landsat_preset": "default",
            "sentinel2_preset": "default",
            "st_qa_max_k": 2.0,
            "cdist_min_km": None,  # the synthetic products carry no ST_CDIST band
            "radsat": True,
        },
        "composite": {"statistics": ["median", "p90"], "min_clear": 3, "anomaly": True},
        "heat_island": {"ring_inner_km": work.ring_inner_km, "ring_outer_km": work.ring_outer_km},
        # 4 pixels of 10 m, the reference's MIN_MAPPING_UNIT (the default is 3600 m², 36 px)
        "landcover": {"min_mapping_unit_m2": 400},
        "zones": {"iris": {"path": "zones/iris.gpkg"}, "qpv": {"path": "zones/qpv.geojson"}},
        "census": {
            "filosofi": "census/filosofi.csv",
            "population": "census/population.csv",
            "income_column": "disp_med",
        },
        "outputs": {"folder": "run", "overwrite": True},
        "scheduler": {"kind": "threads"},
    }


def make_workload(root: Path, work: Workload) -> None:
    """Write the products, zones, census tables and config once (deterministic)."""
    import yaml

    from pipelines.demo_census import write_demo_census
    from pipelines.demo_city import make_city

    marker = root / "workload.json"
    wanted = {"workload": work.name, "generator": GENERATOR_VERSION, "config": _config(work)}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    print(f"writing the {work.name} workload into {root} ...", flush=True)
    city = make_city(size_m=work.side_m, resolution=RES)
    if city.landcover.shape != (work.size, work.size):
        raise SystemExit(f"make_city gave {city.landcover.shape}, wanted {work.size}²")
    products = root / "products"
    products.mkdir()
    for scene in LANDSAT_SCENES:
        print(f"  Landsat {_write_landsat(city, scene, products).name}", flush=True)
    for scene in S2_SCENES:
        print(f"  Sentinel-2 {_write_sentinel2(city, scene, products).parent.name}", flush=True)
    # The demo census gives the QPV layer (and a 64-IRIS grid, replaced below).
    paths = write_demo_census(city, root)
    import geopandas as gpd

    qpv = gpd.read_file(paths["qpv"])
    iris = _iris_layer(city, work)
    paths["iris"].unlink()
    iris.to_file(paths["iris"], layer="iris", driver="GPKG")
    filosofi, population = _census_tables(city, iris, qpv)
    filosofi.to_csv(paths["filosofi"], sep=";", index=False)
    population.to_csv(paths["population"], sep=";", index=False)
    (root / "config.yaml").write_text(
        "# bench_pipeline.py: a synthetic city (not a real place), written by the benchmark\n"
        + yaml.safe_dump(_config(work), sort_keys=False)
    )
    _check_grid(root, work)
    marker.write_text(json.dumps(wanted))
    print(f"workload written in {time.perf_counter() - t0:.0f} s", flush=True)


def _check_grid(root: Path, work: Workload) -> None:
    """The run's grid must be the city's 10 m grid (the reference resamples onto that one)."""
    from pipelines.config import load_config
    from pipelines.run import plan

    grid = plan(load_config(root / "config.yaml")).grid
    if (grid["width"], grid["height"]) != (work.size, work.size):
        raise SystemExit(f"the run's grid is {grid['width']} x {grid['height']}, not {work.size}²")
    red = _s2_band_paths(root)["red"][0]
    import rasterio

    with rasterio.open(red) as src:
        origin = (src.transform.c, src.transform.f)
    if tuple(grid["transform"][i] for i in (2, 5)) != origin:
        raise SystemExit(f"the run's grid origin {grid['transform']} is not the products' {origin}")


def _s2_band_paths(root: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {b: [] for b in S2_BANDS}
    for item_path in sorted((root / "products").glob("S2*_L2A/*.json")):
        assets = json.loads(item_path.read_text())["assets"]
        for band in S2_BANDS:
            out[band].append(item_path.parent / assets[band]["href"])
    return out


def input_files(root: Path) -> list[Path]:
    """Every file the run reads pixels from (the floor reads these)."""
    files = []
    for folder in sorted((root / "products").glob("L*_L2SP_*")):
        if folder.is_dir():
            files += [next(folder.glob(f"*_{suffix}.TIF")) for suffix in LANDSAT_FILES]
    for paths in _s2_band_paths(root).values():
        files += paths
    return files


# --------------------------------------------------------------------------------------------
# runs (each in a child process, libraries already imported)


def run_floor(root: Path) -> list:
    import rasterio

    held = []
    for path in input_files(root):
        with rasterio.open(path) as src:
            held.append(src.read(1))
    return held


def run_floor_warp(root: Path) -> None:
    """The floor plus resampling every band onto the 10 m grid (rasterio.warp.reproject,
    whole arrays, one band at a time): nearest, as ilots upsamples onto a finer grid. Bands
    already on the grid are only read.
    """
    import rasterio
    from rasterio.warp import Resampling, reproject

    with rasterio.open(_s2_band_paths(root)["red"][0]) as src:
        crs, transform, shape = src.crs, src.transform, src.shape
    for path in input_files(root):
        with rasterio.open(path) as src:
            data = src.read(1)
            if src.transform == transform and src.shape == shape:
                continue
            out = np.empty(shape, dtype=data.dtype)
            reproject(
                data,
                out,
                src_transform=src.transform,
                src_crs=src.crs,
                src_nodata=src.nodata,
                dst_transform=transform,
                dst_crs=crs,
                dst_nodata=src.nodata,
                resampling=Resampling.nearest,
            )


#: The tiled case: tile and chunk edges in pixels (a quarter of the city per tile).
TILED = {"scheduler.tile_size_px": 2048, "scheduler.chunk_px": 1024}
#: The ZSTD case: the one-piece run with ZSTD-compressed COGs.
ZSTD = {"outputs.raster_compression": "zstd"}
#: The tables-only case: no COG, no report, the zone tables as GeoParquet only.
TABLES = {"outputs.rasters": [], "outputs.report": False, "outputs.zone_formats": ["parquet"]}
#: Run folder of each variant of the ilots run (the one-piece run writes ``run/``).
VARIANTS = {
    "ilots-tiled": ("run-tiled", TILED),
    "ilots-zstd": ("run-zstd", ZSTD),
    "ilots-tables": ("run-tables", TABLES),
}


def run_ilots(root: Path, variant: str | None = None) -> None:
    from pipelines.config import apply_overrides, load_config
    from pipelines.run import run
    from pipelines.scheduler import scheduler_context

    config = load_config(root / "config.yaml")
    if variant is not None:
        folder, overrides = VARIANTS[variant]
        config = apply_overrides(config, {**overrides, "outputs.folder": str(root / folder)})
    with scheduler_context(config.scheduler.kind):  # as `ilots run` does
        run(config)


def planned_memory(root: Path, tiled: bool) -> dict[str, float]:
    """The peak memory ``ilots run --dry-run`` expects for the one-piece and tiled cases, GB."""
    from pipelines.config import apply_overrides, load_config
    from pipelines.run import plan

    config = load_config(root / "config.yaml")
    planned = {"ilots": plan(config).memory_bytes / 1e9}
    if tiled:
        planned["ilots-tiled"] = plan(apply_overrides(config, TILED)).memory_bytes / 1e9
    return planned


def check_variant(root: Path, variant: str) -> None:
    """Stop when a variant's rasters or tables differ from the one-piece run's."""
    import pandas as pd
    import rasterio

    one, other = root / "run", root / VARIANTS[variant][0]
    rasters = sorted((one / "rasters").glob("*.tif")) if variant != "ilots-tables" else []
    for path in rasters:
        with rasterio.open(path) as a, rasterio.open(other / "rasters" / path.name) as b:
            if not np.array_equal(a.read(), b.read(), equal_nan=True):
                raise SystemExit(f"{variant} RUN DIFFERS: rasters/{path.name}")
    for layer in ("iris", "qpv"):
        a, b = (pd.read_parquet(folder / "zones" / f"{layer}.parquet") for folder in (one, other))
        for column in a.columns:
            if a[column].dtype.kind == "f" and not np.allclose(
                a[column], b[column], rtol=1e-9, atol=0, equal_nan=True
            ):
                raise SystemExit(f"{variant} RUN DIFFERS: {layer}.{column}")


def run_reference(root: Path, means_only: bool = False) -> None:
    """The analyst's script on the workload, with the inputs and ring of its config."""
    sys.path.insert(0, str(HERE))
    from reference_pipeline import run_reference as reference

    config = json.loads((root / "workload.json").read_text())["config"]
    iris = root / config["zones"]["iris"]["path"]
    if means_only:
        reference(root / "products", iris, root / REFERENCE_MEANS, means_only=True)
        return
    census, ring = config["census"], config["heat_island"]
    reference(
        root / "products",
        iris,
        root / REFERENCE_TABLE,
        qpv=root / config["zones"]["qpv"]["path"],
        filosofi=root / census["filosofi"],
        population=root / census["population"],
        ring_km=(ring["ring_inner_km"], ring["ring_outer_km"]),
    )


def run_profile(root: Path) -> None:
    """One ilots run under pyinstrument (or cProfile); the report goes to the workload.

    Dask's synchronous scheduler runs every task in the main thread, where the profilers
    look (with threads the main thread only waits): the report says which functions the
    time goes to, not how long a threaded run takes.
    """
    import dask

    from pipelines.config import load_config
    from pipelines.run import run

    config = load_config(root / "config.yaml")
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        with dask.config.set(scheduler="synchronous"):
            profiler.runcall(run, config)
        with open(root / "profile.txt", "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(80)
        return
    profiler = Profiler(interval=0.005)
    with dask.config.set(scheduler="synchronous"):
        profiler.start()
        run(config)
        profiler.stop()
    tree = profiler.output_text(unicode=False, color=False)
    flat = profiler.output_text(unicode=False, color=False, flat=True)
    (root / "profile.txt").write_text(tree + "\nfunctions by own time:\n" + flat)
    (root / "profile.html").write_text(profiler.output_html())
    profiler.last_session.save(root / "profile.pyisession")  # pyinstrument --load=... -r html


def child(mode: str, root: Path) -> None:
    """Run one measurement in this process; print seconds and peak RSS as JSON."""
    import dask  # noqa: F401
    import geopandas  # noqa: F401
    import odc.stac  # noqa: F401
    import rasterio  # noqa: F401
    import rasterstats  # noqa: F401
    import rioxarray  # noqa: F401
    import xarray  # noqa: F401

    import pipelines.config
    import pipelines.run  # noqa: F401

    sys.path.insert(0, str(HERE))
    import reference_pipeline  # noqa: F401

    runs = {
        "imports": lambda: None,
        "floor": lambda: run_floor(root),
        "floor-warp": lambda: run_floor_warp(root),
        "ilots": lambda: run_ilots(root),
        "ilots-tiled": lambda: run_ilots(root, "ilots-tiled"),
        "ilots-zstd": lambda: run_ilots(root, "ilots-zstd"),
        "ilots-tables": lambda: run_ilots(root, "ilots-tables"),
        "warmup": lambda: run_ilots(root),
        "reference": lambda: run_reference(root),
        "reference-means": lambda: run_reference(root, means_only=True),
        "profile": lambda: run_profile(root),
    }
    start = time.perf_counter()
    runs[mode]()
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def measure(mode: str, root: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--root", str(root)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"run {mode!r} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# value check


def _read_table(path: Path):
    import pandas as pd

    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, dtype={"code_iris": str, "code_qp_main": str})
    return table.drop(columns="geometry", errors="ignore").set_index("code_iris")


def compare_tables(
    root: Path, reference: Path, skip: tuple[str, ...] = ()
) -> dict[str, dict[str, float]]:
    """Per column both tables hold: median, 99th percentile and largest |ilots - reference|
    over IRIS, and the IRIS beyond the tolerance (NaN on one side only counts as beyond; a
    text column counts its unequal cells). A numeric column without a tolerance is an error.
    ``skip``: columns of the reference defined otherwise than ilots', not compared.
    """
    ours = _read_table(root / "run" / "zones" / "iris.parquet")
    theirs = _read_table(reference).drop(columns=list(skip))
    missing = ours.index.difference(theirs.index)
    if len(missing):
        raise SystemExit(f"the reference table lacks {len(missing)} IRIS, e.g. {list(missing[:5])}")
    theirs = theirs.loc[ours.index]
    shared = [c for c in ours.columns if c in theirs.columns]
    numeric = [c for c in shared if ours[c].dtype.kind in "biuf" or theirs[c].dtype.kind in "biuf"]
    untested = [c for c in numeric if c not in TOLERANCE]
    if untested:
        raise SystemExit(f"no tolerance for the shared columns {untested}: add them to TOLERANCE")
    out = {}
    for column in (c for c in TOLERANCE if c in shared):
        tol = TOLERANCE[column]
        if column in numeric:
            a, b = ours[column].to_numpy(float), theirs[column].to_numpy(float)
            both = np.isfinite(a) & np.isfinite(b)
            diff = np.abs(a - b)[both]
            one_sided = int((np.isfinite(a) != np.isfinite(b)).sum())
            beyond = int((diff > tol).sum()) + one_sided
        else:  # text: equal (missing on both sides is equal) or not
            a, b = ours[column].astype(object), theirs[column].astype(object)
            diff = np.array([])
            one_sided = int((a.isna() != b.isna()).sum())
            beyond = int(((a != b) & ~(a.isna() & b.isna())).sum())
        empty = diff.size == 0 and one_sided == 0 and column in numeric
        out[column] = {
            "tolerance": tol,
            "median": float(np.median(diff)) if diff.size else 0.0,
            "p99": float(np.percentile(diff, 99)) if diff.size else 0.0,
            "max": float(diff.max(initial=0.0)),
            "beyond": beyond,
            "one_sided_nan": one_sided,
            "n": len(a),
            "empty": empty,  # NaN in every IRIS on both sides (e.g. albedo without B02, B12)
            "text": column not in numeric,
        }
    return out


def check_comparison(title: str, comparison: dict[str, dict[str, float]]) -> list[str]:
    """Print one comparison; return the columns that fail it."""
    print(f"{title}, |ilots - reference| over IRIS (median / p99 / max; beyond tol):")
    failed = []
    for column, c in comparison.items():
        if c["empty"]:
            detail = "empty on both sides"
        elif c["text"]:
            detail = f"{c['beyond']}/{c['n']} differ"
        else:
            detail = (
                f"{c['median']:.4g} / {c['p99']:.4g} / {c['max']:.4g}; "
                f"{c['beyond']}/{c['n']} beyond {c['tolerance']:g}"
            )
        if c["one_sided_nan"]:
            detail += f" ({c['one_sided_nan']} NaN on one side)"
        allowed = 0 if column in EXACT else OUTLIER_SHARE * c["n"]
        if c["beyond"] > allowed or c["median"] > c["tolerance"] / 10:
            failed.append(column)
            detail += "  <- FAILS"
        print(f"  {column:<38} {detail}")
    return failed


# --------------------------------------------------------------------------------------------
# driver


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per case (best kept)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: a 1,000 x 1,000 city (10 km), 100 IRIS, in <workdir>/pipeline-quick",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one more ilots run under pyinstrument, Dask's synchronous scheduler (so the "
        "profiler sees the tasks); report in <root>/profile.txt, .html and .pyisession",
    )
    parser.add_argument(
        "--skip-reference", action="store_true", help="do not run the rioxarray+rasterstats script"
    )
    parser.add_argument(
        "--tiled",
        action="store_true",
        help="also time the run forced into 4 processing tiles (no target), checked against "
        "the one-piece run",
    )
    parser.add_argument(
        "--zstd",
        action="store_true",
        help="also time the one-piece run with ZSTD-compressed COGs "
        "(outputs.raster_compression: zstd; no target), checked against the DEFLATE run",
    )
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="also time the one-piece run writing only the per-zone GeoParquet tables, as the "
        "reference does (no COG, no report; no target), checked against the full run's tables",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="after the repeats, time the floor and the run alternately N times and report the "
        "median of the N run / floor ratios (the machine's drift hits both sides of a pair)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=HERE / "_work",
        help="where the workload is written once (default benchmarks/_work, git-ignored)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = QUICK if args.quick else FULL
    if args.child == "make":
        make_workload(args.root, work)
        return
    if args.child:
        child(args.child, args.root)
        return

    root = args.workdir / ("pipeline-quick" if args.quick else "pipeline")
    # In a child process: Linux carries a process's peak RSS over fork and exec, so this
    # process must stay small for the children's ru_maxrss to be their own.
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "make", "--root", str(root)]
    subprocess.run(cmd + (["--quick"] if args.quick else []), check=True)
    files = input_files(root)
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"before: {_load()}", flush=True)
    t0 = time.perf_counter()
    measure("floor", root)  # warm the page cache
    measure("warmup", root)  # compile numba (cached on disk), and the page cache of the rest
    print(f"warm-up done in {time.perf_counter() - t0:.0f} s", flush=True)

    best: dict[str, dict] = {}
    plan = ["imports", "floor", "floor-warp", "ilots"] + (["ilots-tiled"] if args.tiled else [])
    plan += ["ilots-zstd"] if args.zstd else []
    plan += ["ilots-tables"] if args.tables_only else []
    plan += [] if args.skip_reference else ["reference", "reference-means"]
    for rep in range(args.repeat):
        for mode in plan:
            r = measure(mode, root)
            if mode not in best or r["seconds"] < best[mode]["seconds"]:
                r["peak_mib"] = max(r["peak_mib"], best.get(mode, {}).get("peak_mib", 0.0))
                best[mode] = r
            else:
                best[mode]["peak_mib"] = max(best[mode]["peak_mib"], r["peak_mib"])
            print(f"  {mode}: {r['seconds']:.2f} s, {r['peak_mib']:.0f} MiB", flush=True)
        print(f"repeat {rep + 1}/{args.repeat} done at {time.perf_counter() - t0:.0f} s")
    pairs = [_pair(root) for _ in range(args.pairs)]
    after = _load()
    manifest = root / "run" / "manifest.json"  # of the last timed ilots run
    timings = json.loads(manifest.read_text()).get("timings", {}) if manifest.exists() else {}
    if args.profile:
        measure("profile", root)
        print(f"profile: {root / 'profile.txt'} and profile.html", flush=True)

    if args.tiled:
        check_variant(root, "ilots-tiled")
        print("values: the tiled run equals the one-piece run")
    if args.zstd:
        check_variant(root, "ilots-zstd")
        print("values: the ZSTD run equals the one-piece run")
    if args.tables_only:
        check_variant(root, "ilots-tables")
        print("values: the tables-only run's tables equal the one-piece run's")
    planned = planned_memory(root, args.tiled)
    comparison = None
    if not args.skip_reference:
        comparison = {
            "per-IRIS tables (full reference)": compare_tables(root, root / REFERENCE_TABLE),
            # Its land is where no scene's QA water bit is set, ilots' (and the full
            # reference's) where the land cover is not water either: river banks differ by
            # definition in every column over land (the full reference checks those).
            "means-only reference (NDVI only: its land is the QA water bit's)": (
                compare_tables(
                    root, root / REFERENCE_MEANS, skip=("valid_frac", "lst_mean_k", "n_clear_mean")
                )
            ),
        }
    report(best, work, files, size_mb, args, comparison, timings, after, pairs)
    shown = ", ".join(f"{mode} {gb:.1f} GB" for mode, gb in planned.items())
    print(f"peak memory --dry-run expects: {shown}")


def _pair(root: Path) -> tuple[float, float]:
    """One floor then one ilots run, back to back: (floor s, ilots s)."""
    floor, run = measure("floor", root)["seconds"], measure("ilots", root)["seconds"]
    print(f"  pair: floor {floor:.2f} s, ilots {run:.2f} s, {run / floor:.2f} x", flush=True)
    return floor, run


def report(best, work, files, size_mb, args, comparison, timings, after, pairs) -> None:
    import rasterio

    n_landsat = len(LANDSAT_SCENES)
    n_s2 = len(S2_SCENES)
    with rasterio.open(files[0]) as src:  # a Landsat band: the pixels inside the city
        landsat = " x ".join(str(n) for n in src.shape)
    print()
    print(
        f"workload: {work.size} x {work.size} px at 10 m, {n_landsat} Landsat C2 L2 "
        f"({landsat} at 30 m), {n_s2} Sentinel-2 L2A (10 m bands "
        f"{work.size}², 20 m {work.size // 2}²), {work.n_iris} IRIS; floor reads {len(files)} "
        f"files ({size_mb:.0f} MB compressed); best of {args.repeat}"
    )
    if comparison is not None:
        failed = []
        for title, table in comparison.items():
            failed += [f"{column} ({title})" for column in check_comparison(title, table)]
        if failed:
            raise SystemExit(f"TABLES DIFFER from the reference beyond the tolerance: {failed}")
        print("values: ilots and the reference agree within the tolerance")
    floor = best["floor"]["seconds"]
    print()
    print(f"{'case':<40} {'best s':>8} {'x floor':>8} {'ref / run':>9} {'peak MiB':>9}")
    labels = {
        "imports": "imports only (base RSS)",
        "floor": f"floor: rasterio reads {len(files)} bands",
        "floor-warp": "floor + resample to 10 m (no target)",
        "ilots": "ilots run (config -> run folder)",
        "ilots-tiled": "ilots run in 4 tiles (no target)",
        "ilots-zstd": "ilots run, ZSTD COGs (no target)",
        "ilots-tables": "ilots run, tables only (no target)",
        "reference": "reference: rioxarray + rasterstats, table",
        "reference-means": "reference, means only (no target)",
    }
    for mode, label in labels.items():
        if mode not in best:
            continue
        r = best[mode]
        xfloor = f"{r['seconds'] / floor:8.2f}" if mode != "imports" else ""
        speed = ""
        if "reference" in best and mode in ("ilots", *VARIANTS, "reference", "reference-means"):
            speed = f"{best['reference']['seconds'] / r['seconds']:9.2f}"
        print(f"{label:<40} {r['seconds']:8.2f} {xfloor:>8} {speed:>9} {r['peak_mib']:9.0f}")

    def line(text: str, ok: bool, detail: str) -> None:
        print(f"target {text}: {'met' if ok else 'NOT met'} ({detail})")

    print()
    ratio = best["ilots"]["seconds"] / floor
    peak = best["ilots"]["peak_mib"]
    line("ilots <= 2 x floor", ratio <= FLOOR_TARGET, f"{ratio:.2f} x, best against best")
    if pairs:
        ratios = sorted(run / floor for floor, run in pairs)
        median = float(np.median(ratios))
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        line(
            "ilots <= 2 x floor, alternated pairs",
            median <= FLOOR_TARGET,
            f"median {median:.2f} x of {len(ratios)} pairs: {shown}",
        )
    line("ilots peak <= 3 GB", peak <= PEAK_TARGET_MIB, f"{peak:.0f} MiB")
    if "reference" in best:
        speed = best["reference"]["seconds"] / best["ilots"]["seconds"]
        line("ilots >= 5 x faster than the reference", speed >= SPEEDUP_TARGET, f"{speed:.2f} x")
    if "reference-means" in best:
        speed = best["reference-means"]["seconds"] / best["ilots"]["seconds"]
        print(f"for context: the means-only reference / ilots run = {speed:.2f} (no target)")
    if timings:
        shown = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        print(f"ilots stage timings of the last timed run (s, manifest.json): {shown}")
    print(f"after: {after}")


if __name__ == "__main__":
    main()
