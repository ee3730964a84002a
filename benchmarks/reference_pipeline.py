"""The reference for ``bench_pipeline.py``: the per-IRIS table as a typical analyst scripts it.

Plain rioxarray + xarray + NumPy/SciPy/scikit-image + geopandas + rasterstats, no Dask, no
ilots: every scene is opened whole with ``rioxarray.open_rasterio``, resampled onto the 10 m
grid of the first Sentinel-2 red band with ``rio.reproject_match`` where it is not already on
it (nearest, its default, as ilots' ``grid.resampling: auto`` upsamples: the 30 m Landsat and
20 m Sentinel-2 pixels keep their values), masked with the same rules as ilots' default
presets, scaled to kelvin or reflectance, stacked with ``xr.concat`` and reduced per pixel over
time; then ``rasterstats.zonal_stats`` summarises the composites per IRIS, and pandas and
geopandas add the census and the IRIS x QPV overlay. It computes, with ilots' definitions
(``ilots run`` with the bench config: default masks, ``st_qa_max_k: 2``, no ST_CDIST,
``composite.min_clear: 3``, default heat island and land-cover rules,
``landcover.min_mapping_unit_m2: 400``, 4 pixels):

* Masks. Landsat C2 L2: QA_PIXEL bits 0-5 (fill, dilated cloud, cirrus, cloud, shadow, snow)
  reject a pixel (mask 63), and for the LST water (bit 7: no urban LST), so does ST_QA > 2 K
  or missing, QA_RADSAT terrain occlusion (bit 11; ``mask.radsat``: QA_RADSAT has no band-10
  saturation bit, and the Landsat reflectance is not used) and an ST_B10 outside (149, 373]
  K; LST = DN x 0.00341802 + 149. Sentinel-2 L2A: SCL 4 (vegetation) and 5 (not vegetated)
  are kept; reflectance = DN x scale + offset of the item's ``raster:bands``.
* LST composites: per pixel over the clear scenes, the median (``lst_median``) and the 90th
  percentile (``lst_p90``, NumPy's linear quantile), NaN where fewer than 3 scenes are clear;
  ``n_clear``, the number of clear scenes.
* Sentinel-2 composites: NDVI (B08, B04), MNDWI (B03, B11) and NDBI (B11, B08: the products
  have no B8A) of the clear pixels of each date, median over the dates (at least one);
  broadband albedo (Bonafoni & Sekertekin, B02 B03 B04 B08 B11 B12) only when every product
  has B02 and B12, else the column is empty, as in ilots.
* Land cover (``raster.landcover``): NaN index -> no data (0); MNDWI > 0 water (1); NDVI >= 0.5
  dense vegetation (2); NDVI >= 0.2 low vegetation (3); NDBI > 0 built (4); else bare soil
  (5); no-data pixels flagged water by SCL 6 or the Landsat QA water bit (bit 7) on any date
  are water; then the minimum mapping unit: 4-connected one-class regions under 4 pixels
  take the majority class of the valid, non-small pixels touching them (ties: lowest code).
  GDAL's sieve (``rasterio.features.sieve``) merges into the largest neighbouring region
  instead, a different rule, so it is written out here with scikit-image and SciPy.
* Heat island: the urban footprint is the IRIS union (pixel centres inside); the rural
  reference is the pixels whose centre lies more than 2 km and at most 10 km from the nearest
  urban pixel centre (``scipy.ndimage.distance_transform_edt``), neither water nor built; per
  scene ``delta T = LST - mean LST of the clear reference pixels``, and ``lst_anomaly`` is
  its median over the clear scenes (at least 3).
* Per IRIS (rasterstats, pixel-centre rule): means of ``lst_median`` (``lst_mean_k``),
  ``lst_p90`` (``lst_p90_mean_k``), ``lst_anomaly``, NDVI, albedo and ``n_clear``; the 90th
  percentile of ``lst_median`` over the IRIS (``lst_p90_k``); ``valid_frac``, the share of
  the IRIS's land pixels (not of the water class) with a median LST on them; land-cover shares over
  the classified pixels (``categorical=True``); ``area_m2``, the polygon area in the grid
  CRS.
* Census: Filosofi ``DISP_MED21`` (decimal comma; secret markers ``nd``, ``ns``, ``s``, ``so``
  -> NaN) as ``disp_med``, ``P21_POP`` as ``population``; IRIS x QPV in LAEA Europe
  (EPSG:3035, equal-area: true areas; invalid QPV repaired): ``qpv_area_m2`` inside the QPV
  union, ``qpv_share`` of
  the IRIS area, ``in_qpv`` (share >= 0.5), ``code_qp_main`` (largest overlap).
* Ranks: ``<x>_hotter_than_pct``, the share (%) of the other IRIS with a value strictly
  lower, and ``<x>_hotter_than_residents_pct``, the share of the residents of the other IRIS
  (those with a population) living in a cooler one, for ``x`` = ``lst_anomaly`` and ``lst``.

Two shortcuts an analyst takes once they hit the slow path: ``np.nanquantile`` along an axis
(what ``DataArray.quantile`` calls) loops in Python pixel by pixel, about 20 s per million
pixels here (over 5 minutes for the 16 million of the workload), so the per-pixel P90 sorts
the stack once and interpolates (the same linear quantile); and the land-cover cleaning is
the few NumPy lines above rather than a loop over regions.

The zonal statistics differ by method: rasterstats counts the pixels whose centre is inside
an IRIS, ilots weighs every pixel by the exact share of it that an IRIS covers (and its zone
P90 is a coverage-weighted quantile); the benchmark compares the two tables loosely for that.

``--means-only`` keeps the first version of this script: LST median, NDVI median and
``n_clear`` only, reduced to ``code_iris, lst_mean_k, ndvi_mean, n_clear_mean, valid_frac,
lst_count``.

Usage::

    python benchmarks/reference_pipeline.py PRODUCTS_DIR IRIS.gpkg OUT.{csv,parquet} \\
        --qpv QPV.geojson --filosofi FILOSOFI.csv --population POPULATION.csv \\
        [--ring-km 2 10]
    python benchmarks/reference_pipeline.py PRODUCTS_DIR IRIS.gpkg OUT.csv --means-only

A ``.parquet`` output is a GeoParquet with the geometry, as ilots' ``zones/iris.parquet``;
a ``.csv`` one has no geometry.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray
import xarray as xr
from rasterio.enums import Resampling
from rasterio.features import geometry_mask
from rasterstats import zonal_stats
from scipy import ndimage
from skimage.measure import label

QA_REJECT = 0b111111  # QA_PIXEL bits 0-5: fill, dilated cloud, cirrus, cloud, shadow, snow
QA_FILL, QA_WATER = 1 << 0, 1 << 7
RADSAT_TERRAIN = 1 << 11  # QA_RADSAT terrain occlusion; no bit for band 10
ST_SCALE, ST_OFFSET = 0.00341802, 149.0  # ST_B10 DN -> K
ST_QA_SCALE = 0.01  # ST_QA DN -> K
ST_QA_MAX_K = 2.0
SCL_KEEP = [4, 5]  # vegetation, not vegetated
SCL_WATER = 6
MIN_CLEAR = 3
# Land-cover rules (ilots' defaults) and classes.
WATER_MNDWI, DENSE_NDVI, LOW_NDVI, BUILT_NDBI = 0.0, 0.5, 0.2, 0.0
MIN_MAPPING_UNIT = 4  # pixels of 10 m, 4-connected (landcover.min_mapping_unit_m2: 400)
CLASSES = {1: "water", 2: "dense_vegetation", 3: "low_vegetation", 4: "built", 5: "bare_soil"}
WATER, BUILT = 1, 4
# Bonafoni & Sekertekin (2020) Sentinel-2 albedo.
ALBEDO_S2 = {"blue": 0.2266, "green": 0.1236, "red": 0.1573, "nir": 0.3417,
             "swir16": 0.1170, "swir22": 0.0338}  # fmt: skip
RING_KM = (2.0, 10.0)
SECRET = ["nd", "ns", "s", "so"]  # INSEE secrecy markers
AREA_CRS = "EPSG:3035"  # LAEA Europe, equal-area: true areas for the IRIS x QPV overlay
QPV_SHARE = 0.5
COLUMNS = [
    "code_iris", "nom_iris", "insee_com", "typ_iris", "nom_com", "geometry", "area_m2",
    "valid_frac", "lst_mean_k", "lst_p90_k", "lst_p90_mean_k", "lst_anomaly_mean_k",
    "ndvi_mean", "albedo_mean", "n_clear_mean", *(f"lc_{n}_frac" for n in CLASSES.values()),
    "disp_med", "population", "qpv_area_m2", "qpv_share", "in_qpv", "code_qp_main",
    "lst_anomaly_hotter_than_pct", "lst_anomaly_hotter_than_residents_pct",
    "lst_hotter_than_pct", "lst_hotter_than_residents_pct",
]  # fmt: skip


def open_band(path, masked=True):
    """One band of a GeoTIFF as a 2-D DataArray (NaN for nodata when ``masked``)."""
    return rioxarray.open_rasterio(path, masked=masked).squeeze("band", drop=True)


def on_grid(da, template, resampling=Resampling.nearest):
    """``da`` resampled onto the template grid, unless it is on it already."""
    if da.rio.shape == template.rio.shape and da.rio.transform() == template.rio.transform():
        return da
    return da.rio.reproject_match(template, resampling=resampling)


def sentinel2_items(products: Path) -> list[dict]:
    """The Earth Search item JSONs of the folder, sorted by date."""
    items = []
    for path in sorted(products.glob("S2*_L2A/*.json")):
        item = json.loads(path.read_text())
        item["_dir"] = path.parent
        items.append(item)
    return sorted(items, key=lambda it: it["properties"]["datetime"])


def asset(item: dict, key: str) -> tuple[Path, float, float]:
    """Path, scale and offset of one asset of an Earth Search item."""
    a = item["assets"][key]
    bands = a.get("raster:bands", [{}])[0]
    return item["_dir"] / a["href"], bands.get("scale", 1.0), bands.get("offset", 0.0)


def landsat_scene(folder: Path, template) -> tuple[xr.DataArray, xr.DataArray]:
    """Clear-sky LST (K) of one Landsat C2 L2 product on the template grid, and its water bit."""
    st = on_grid(open_band(next(folder.glob("*_ST_B10.TIF"))), template)
    st_qa = on_grid(open_band(next(folder.glob("*_ST_QA.TIF"))), template)
    qa = on_grid(open_band(next(folder.glob("*_QA_PIXEL.TIF")), masked=False), template)
    radsat = on_grid(open_band(next(folder.glob("*_QA_RADSAT.TIF")), masked=False), template)
    lst = st * ST_SCALE + ST_OFFSET
    clear = ((qa & QA_REJECT) == 0) & ((qa & QA_WATER) == 0)  # water is no urban LST
    clear &= (radsat & RADSAT_TERRAIN) == 0
    clear &= (st_qa * ST_QA_SCALE >= 0) & (st_qa * ST_QA_SCALE <= ST_QA_MAX_K)
    clear &= (lst > 149.0) & (lst <= 373.0)
    water = ((qa & QA_FILL) == 0) & ((qa & QA_WATER) != 0)
    return lst.where(clear), water


def sentinel2_ndvi(item: dict, template) -> xr.DataArray:
    """Clear-sky NDVI of one Sentinel-2 L2A product on the template grid (``--means-only``)."""
    bands = {}
    for key in ("red", "nir"):
        path, scale, offset = asset(item, key)
        bands[key] = on_grid(open_band(path), template) * scale + offset
    scl = on_grid(open_band(asset(item, "scl")[0], masked=False), template)
    ndvi = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
    return ndvi.where(scl.isin(SCL_KEEP))


def normalized_difference(a, b):
    return (a - b) / (a + b)


def sentinel2_scene(item: dict, template, albedo: bool) -> tuple[xr.Dataset, xr.DataArray]:
    """Clear-sky NDVI, MNDWI, NDBI (and albedo) of one Sentinel-2 L2A product, and SCL water."""
    keys = ["red", "nir", "green", "swir16"] + (["blue", "swir22"] if albedo else [])
    rho = {}
    for key in keys:
        path, scale, offset = asset(item, key)
        rho[key] = on_grid(open_band(path), template) * scale + offset
    scl = on_grid(open_band(asset(item, "scl")[0], masked=False), template)
    indices = xr.Dataset(
        {
            "ndvi": normalized_difference(rho["nir"], rho["red"]),
            "mndwi": normalized_difference(rho["green"], rho["swir16"]),
            "ndbi": normalized_difference(rho["swir16"], rho["nir"]),
        }
    )
    if albedo:
        indices["albedo"] = sum(c * rho[band] for band, c in ALBEDO_S2.items())
    return indices.where(scl.isin(SCL_KEEP)), scl == SCL_WATER


def nanquantile_time(da: xr.DataArray, q: float) -> xr.DataArray:
    """``da.quantile(q, "time")`` (NumPy's linear method over the non-NaN values), vectorised:
    sort the stack once (NaN last) and interpolate at ``(n - 1) q`` among each pixel's ``n``.
    """
    ordered = np.sort(da.values, axis=0)
    n = np.isfinite(ordered).sum(axis=0)
    h = (n - 1) * q
    lo = np.clip(np.floor(h).astype(int), 0, None)
    hi = np.clip(lo + 1, None, np.maximum(n - 1, 0))
    a = np.take_along_axis(ordered, lo[None], axis=0)[0]
    b = np.take_along_axis(ordered, hi[None], axis=0)[0]
    out = np.where(n > 0, a + (h - lo) * (b - a), np.nan)
    return da.isel(time=0, drop=True).copy(data=out.astype(da.dtype))


def minimum_mapping_unit(classes: np.ndarray, min_pixels: int) -> np.ndarray:
    """One-class regions (4-connected) smaller than ``min_pixels`` take the majority class of
    the pixels around them that are neither small nor no data (ties: the lowest code); groups
    of adjacent small pixels vote together and keep their classes when nothing votes.
    """
    regions = label(classes, background=0, connectivity=1)
    small = (np.bincount(regions.ravel()) < min_pixels)[regions] & (regions > 0)
    holes, n_holes = ndimage.label(small)
    voters = np.pad(~small & (classes > 0), 1)
    codes = np.pad(classes, 1)
    votes = np.zeros((n_holes + 1, len(CLASSES) + 1), dtype=np.int64)
    ny, nx = classes.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        neighbour = np.s_[1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx]
        pick = (holes > 0) & voters[neighbour]
        np.add.at(votes, (holes[pick], codes[neighbour][pick]), 1)
    filled = small & (votes.max(axis=1) > 0)[holes]
    out = classes.copy()
    out[filled] = votes.argmax(axis=1)[holes[filled]]
    return out


def land_cover(s2: xr.Dataset, water: np.ndarray) -> np.ndarray:
    """Rule-based classes of the index composites, masked water, minimum mapping unit."""
    ndvi, mndwi, ndbi = (s2[k].values for k in ("ndvi", "mndwi", "ndbi"))
    classes = np.select(
        [
            np.isnan(ndvi) | np.isnan(mndwi) | np.isnan(ndbi),
            mndwi > WATER_MNDWI,
            ndvi >= DENSE_NDVI,
            ndvi >= LOW_NDVI,
            ndbi > BUILT_NDBI,
        ],
        [0, 1, 2, 3, 4],
        default=5,
    ).astype("uint8")
    classes[(classes == 0) & water] = WATER
    return minimum_mapping_unit(classes, MIN_MAPPING_UNIT)


def zonal(iris, values, affine, stats, **kwargs) -> pd.DataFrame:
    return pd.DataFrame(zonal_stats(iris, values, affine=affine, stats=stats, **kwargs))


def census(table, filosofi: Path, population: Path) -> pd.DataFrame:
    """Filosofi median income and population joined on the IRIS code."""
    filo = pd.read_csv(filosofi, sep=";", decimal=",", dtype={"IRIS": str}, na_values=SECRET)
    filo = filo.rename(columns={"IRIS": "code_iris", "DISP_MED21": "disp_med"})
    pop = pd.read_csv(population, sep=";", dtype={"IRIS": str}, na_values=SECRET)
    pop = pop.rename(columns={"IRIS": "code_iris", "P21_POP": "population"})
    pop["population"] = pop["population"].astype(float)
    table = table.merge(filo[["code_iris", "disp_med"]], on="code_iris", how="left")
    return table.merge(pop[["code_iris", "population"]], on="code_iris", how="left")


def qpv_overlay(iris, qpv_path: Path) -> pd.DataFrame:
    """Per IRIS: area inside the QPV union, its share, in_qpv and the QPV overlapping most."""
    qpv = gpd.read_file(qpv_path)
    qpv["geometry"] = qpv.make_valid()
    iris93 = iris[["code_iris", "geometry"]].to_crs(AREA_CRS)
    qpv93 = qpv[["code_qp", "geometry"]].to_crs(AREA_CRS)
    pieces = gpd.overlay(iris93, qpv93, how="intersection")
    pieces["area"] = pieces.area
    main = pieces.sort_values("area", ascending=False).drop_duplicates("code_iris")
    out = pd.DataFrame({"code_iris": iris93["code_iris"]})
    out["qpv_area_m2"] = iris93.intersection(qpv93.union_all()).area.to_numpy()
    out["qpv_share"] = out["qpv_area_m2"] / iris93.area.to_numpy()
    out["in_qpv"] = out["qpv_share"] >= QPV_SHARE
    return out.merge(main[["code_iris", "code_qp"]].rename(columns={"code_qp": "code_qp_main"}),
                     on="code_iris", how="left")  # fmt: skip


def hotter_than(table: pd.DataFrame, column: str, prefix: str) -> None:
    """Share (%) of the other IRIS, and of their residents, cooler than each IRIS."""
    values = table[column]
    cooler = values.rank(method="min") - 1  # IRIS with a lower value
    table[f"{prefix}_hotter_than_pct"] = 100 * cooler / (values.count() - 1)
    ok = values.notna() & table["population"].notna()
    x, pop = values[ok].to_numpy(), table.loc[ok, "population"].to_numpy()
    residents = (x[None, :] < x[:, None]) @ pop  # living in an IRIS cooler than each
    table[f"{prefix}_hotter_than_residents_pct"] = np.nan
    table.loc[ok, f"{prefix}_hotter_than_residents_pct"] = 100 * residents / (pop.sum() - pop)


def write(table: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out)
    else:
        pd.DataFrame(table.drop(columns="geometry", errors="ignore")).to_csv(out, index=False)


def run_means_only(products: Path, iris_path: Path, out: Path) -> pd.DataFrame:
    """The first version: LST median, NDVI median and n_clear means per IRIS."""
    products = Path(products)
    iris = gpd.read_file(iris_path)
    items = sentinel2_items(products)
    template = open_band(asset(items[0], "red")[0])  # the 10 m grid

    folders = [f for f in sorted(products.glob("L*_L2SP_*")) if f.is_dir()]
    scenes = [landsat_scene(f, template) for f in folders]
    lst = xr.concat([scene[0] for scene in scenes], dim="time")
    water = np.any([scene[1].values for scene in scenes], axis=0)  # the QA water bit
    n_clear = lst.count("time")
    lst_median = lst.median("time").where(n_clear >= MIN_CLEAR)
    ndvi = xr.concat([sentinel2_ndvi(it, template) for it in items], dim="time")
    ndvi_median = ndvi.median("time")

    iris = iris.to_crs(template.rio.crs)
    affine = template.rio.transform()
    table = pd.DataFrame({"code_iris": iris["code_iris"].to_numpy()})
    layers = {
        "lst": lst_median.values,
        "ndvi": ndvi_median.values,
        "n_clear": n_clear.values.astype("float32"),
    }
    for name, values in layers.items():
        stats = zonal_stats(iris, values, affine=affine, nodata=np.nan, stats=["mean", "count"])
        table[f"{name}_mean"] = [s["mean"] for s in stats]
        table[f"{name}_count"] = [s["count"] for s in stats]
    table = table.rename(columns={"lst_mean": "lst_mean_k", "lst_count": "lst_count"})
    # n_clear is defined on every pixel of the grid: its count where it is not water is the
    # zone's land pixel count (water has no LST).
    land = zonal_stats(iris, np.where(water, np.nan, 1.0), affine=affine, nodata=np.nan,
                       stats=["count"])  # fmt: skip
    table["land_count"] = [s["count"] for s in land]
    table["valid_frac"] = (table["lst_count"] / table["land_count"]).clip(upper=1.0)
    table = table[["code_iris", "lst_mean_k", "ndvi_mean", "n_clear_mean", "valid_frac",
                   "lst_count"]]  # fmt: skip
    write(table, out)
    return table


def run_reference(
    products: Path,
    iris_path: Path,
    out: Path,
    *,
    qpv: Path | None = None,
    filosofi: Path | None = None,
    population: Path | None = None,
    ring_km: tuple[float, float] = RING_KM,
    means_only: bool = False,
) -> pd.DataFrame:
    """Composites and the per-IRIS table; writes ``out`` (CSV or GeoParquet), returns it."""
    if means_only:
        return run_means_only(products, iris_path, out)
    if qpv is None or filosofi is None or population is None:
        raise SystemExit("the full table needs --qpv, --filosofi and --population")
    products = Path(products)
    items = sentinel2_items(products)
    template = open_band(asset(items[0], "red")[0])  # the 10 m grid
    iris = gpd.read_file(iris_path).to_crs(template.rio.crs)
    affine = template.rio.transform()

    # Landsat: LST per scene, composites.
    folders = [f for f in sorted(products.glob("L*_L2SP_*")) if f.is_dir()]
    scenes = [landsat_scene(f, template) for f in folders]
    lst = xr.concat([s[0] for s in scenes], dim="time")
    qa_water = np.any([s[1].values for s in scenes], axis=0)
    del scenes
    n_clear = lst.count("time")
    enough = n_clear >= MIN_CLEAR
    lst_median = lst.median("time").where(enough)
    lst_p90 = nanquantile_time(lst, 0.9).where(enough)

    # Sentinel-2: index composites, land cover.
    albedo = all({"blue", "swir22"} <= set(it["assets"]) for it in items)
    s2 = [sentinel2_scene(it, template, albedo) for it in items]
    composites = xr.concat([s[0] for s in s2], dim="time").median("time")
    scl_water = np.any([s[1].values for s in s2], axis=0)
    del s2
    landcover = land_cover(composites, qa_water | scl_water)

    # Heat island: urban footprint, rural ring without water and built, per-scene delta T.
    urban = geometry_mask(iris.geometry, out_shape=template.shape, transform=affine, invert=True)
    distance = ndimage.distance_transform_edt(~urban, sampling=abs(affine.a))
    ring = (distance > ring_km[0] * 1000) & (distance <= ring_km[1] * 1000)
    rural = template.copy(data=ring & (landcover != WATER) & (landcover != BUILT))
    rural_mean = lst.where(rural).mean(["y", "x"])
    lst_anomaly = (lst - rural_mean).median("time").where(enough)

    # Per IRIS; the LST and its clear dates over land only (no LST where the land cover says
    # water, as where the QA does).
    water = landcover == WATER
    lst_median, lst_p90, lst_anomaly = (x.where(~water) for x in (lst_median, lst_p90, lst_anomaly))
    table = iris[["code_iris", "nom_iris", "insee_com", "typ_iris", "nom_com", "geometry"]].copy()
    table["area_m2"] = iris.area
    med = zonal(iris, lst_median.values, affine, ["mean", "percentile_90"], nodata=np.nan)
    n_land = np.where(water, np.nan, n_clear.values.astype("float32"))
    n = zonal(iris, n_land, affine, ["mean"], nodata=np.nan)
    table["lst_mean_k"] = med["mean"]
    table["lst_p90_k"] = med["percentile_90"]
    for column, layer in (
        ("lst_p90_mean_k", lst_p90),
        ("lst_anomaly_mean_k", lst_anomaly),
        ("ndvi_mean", composites["ndvi"]),
    ):
        table[column] = zonal(iris, layer.values, affine, ["mean"], nodata=np.nan)["mean"]
    table["albedo_mean"] = (
        zonal(iris, composites["albedo"].values, affine, ["mean"], nodata=np.nan)["mean"]
        if albedo
        else np.nan
    )
    table["n_clear_mean"] = n["mean"]
    counts = zonal(iris, landcover, affine, [], nodata=0, categorical=True)
    counts = counts.reindex(columns=list(CLASSES)).fillna(0)
    shares = counts.div(counts.sum(axis=1), axis=0).fillna(0)  # IRIS without classes: 0
    for code, name in CLASSES.items():
        table[f"lc_{name}_frac"] = shares[code]
    # valid_frac: the share of the land pixels (not of the water class; no class is land)
    # with a median LST on them
    lst_on_land = zonal(iris, lst_median.values, affine, ["count"], nodata=np.nan)["count"]
    land = zonal(iris, np.where(landcover == WATER, np.nan, 1.0), affine, ["count"],
                 nodata=np.nan)["count"]  # fmt: skip
    table["valid_frac"] = (lst_on_land / land).where(land > 0)

    table = census(table, filosofi, population)
    table = table.merge(qpv_overlay(iris, qpv), on="code_iris", how="left")
    hotter_than(table, "lst_anomaly_mean_k", "lst_anomaly")
    hotter_than(table, "lst_mean_k", "lst")
    table = gpd.GeoDataFrame(table[COLUMNS], geometry="geometry", crs=iris.crs)
    write(table, out)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("products", type=Path, help="folder of Landsat and Sentinel-2 products")
    parser.add_argument("iris", type=Path, help="IRIS layer (code_iris, nom_iris ... fields)")
    parser.add_argument("out", type=Path, help="per-IRIS table to write (.csv or .parquet)")
    parser.add_argument("--qpv", type=Path, help="QPV layer (code_qp field)")
    parser.add_argument("--filosofi", type=Path, help="Filosofi table (IRIS;DISP_MED21)")
    parser.add_argument("--population", type=Path, help="population table (IRIS;P21_POP)")
    parser.add_argument(
        "--ring-km",
        type=float,
        nargs=2,
        default=RING_KM,
        metavar=("INNER", "OUTER"),
        help="rural ring around the IRIS union, km (default 2 10)",
    )
    parser.add_argument(
        "--means-only",
        action="store_true",
        help="only the LST, NDVI and n_clear means and valid fraction (the first version)",
    )
    args = parser.parse_args()
    table = run_reference(
        args.products,
        args.iris,
        args.out,
        qpv=args.qpv,
        filosofi=args.filosofi,
        population=args.population,
        ring_km=tuple(args.ring_km),
        means_only=args.means_only,
    )
    print(pd.DataFrame(table.drop(columns="geometry", errors="ignore")).describe().T)


if __name__ == "__main__":
    main()
