"""The reference for ``bench_pipeline.py``: the per-IRIS table as a typical analyst scripts it.

Plain rioxarray + rasterstats, no Dask, no ilots: every scene is opened whole with
``rioxarray.open_rasterio``, resampled onto the 10 m grid of the first Sentinel-2 red band
with ``rio.reproject_match`` where it is not already on it (nearest, its default, as ilots'
``grid.resampling: auto`` upsamples: the 30 m Landsat and 20 m SCL pixels keep their
values), masked with the same rules as ilots' default presets, scaled to
kelvin or reflectance, stacked, and reduced per pixel with ``median`` over time; then
``rasterstats.zonal_stats`` gives per IRIS the mean (and pixel count) of each composite.

The masks are those of ``ilots run`` with the bench config (``mask.landsat_preset: default``,
``mask.st_qa_max_k: 2.0``, ``mask.sentinel2_preset: default``, ``composite.min_clear: 3``):

* Landsat C2 L2: QA_PIXEL bits 0-5 (fill, dilated cloud, cirrus, cloud, shadow, snow) reject
  a pixel (mask 63, as ``raster.quality.qa_pixel``), so does ST_QA > 2 K or missing, and an
  ST_B10 outside (149, 373] K; LST = DN x 0.00341802 + 149 (the MTL values).
* Sentinel-2 L2A: SCL classes 4 (vegetation) and 5 (not vegetated) are kept; reflectance =
  DN x scale + offset from the item's ``raster:bands`` (offset -0.1 from baseline 04.00 on).
* Composites: per-pixel median of LST over clear scenes, NaN where fewer than 3 are clear;
  ``n_clear``, the number of clear scenes; NDVI median over clear Sentinel-2 scenes (NaN where
  none is clear).

As ilots does (odc-stac), the bands are resampled first and masked on the analysis grid; that
makes the masks the same pixel for pixel. The zonal statistics differ by method: rasterstats
counts the pixels whose centre is inside an IRIS, ilots weighs every pixel by the exact share
of it that an IRIS covers; the benchmark compares the two tables loosely for that reason.

Usage::

    python benchmarks/reference_pipeline.py PRODUCTS_DIR IRIS.gpkg OUT.csv

writes ``code_iris, lst_mean_k, ndvi_mean, n_clear_mean, valid_frac, lst_count`` per IRIS.
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
from rasterstats import zonal_stats

QA_REJECT = 0b111111  # QA_PIXEL bits 0-5: fill, dilated cloud, cirrus, cloud, shadow, snow
ST_SCALE, ST_OFFSET = 0.00341802, 149.0  # ST_B10 DN -> K
ST_QA_SCALE = 0.01  # ST_QA DN -> K
ST_QA_MAX_K = 2.0
SCL_KEEP = [4, 5]  # vegetation, not vegetated
MIN_CLEAR = 3


def open_band(path, masked=True):
    """One band of a GeoTIFF as a 2-D DataArray (NaN for nodata when ``masked``)."""
    return rioxarray.open_rasterio(path, masked=masked).squeeze("band", drop=True)


def on_grid(da, template, resampling):
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


def landsat_lst(folder: Path, template) -> xr.DataArray:
    """Clear-sky LST (K) of one Landsat C2 L2 product on the template grid."""
    st = on_grid(open_band(next(folder.glob("*_ST_B10.TIF"))), template, Resampling.nearest)
    st_qa = on_grid(open_band(next(folder.glob("*_ST_QA.TIF"))), template, Resampling.nearest)
    qa = on_grid(
        open_band(next(folder.glob("*_QA_PIXEL.TIF")), masked=False), template, Resampling.nearest
    )
    lst = st * ST_SCALE + ST_OFFSET
    clear = (qa & QA_REJECT) == 0
    clear &= (st_qa * ST_QA_SCALE >= 0) & (st_qa * ST_QA_SCALE <= ST_QA_MAX_K)
    clear &= (lst > 149.0) & (lst <= 373.0)
    return lst.where(clear)


def sentinel2_ndvi(item: dict, template) -> xr.DataArray:
    """Clear-sky NDVI of one Sentinel-2 L2A product on the template grid."""
    bands = {}
    for key in ("red", "nir"):
        path, scale, offset = asset(item, key)
        bands[key] = on_grid(open_band(path), template, Resampling.nearest) * scale + offset
    scl_path, _, _ = asset(item, "scl")
    scl = on_grid(open_band(scl_path, masked=False), template, Resampling.nearest)
    ndvi = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
    return ndvi.where(scl.isin(SCL_KEEP))


def run_reference(products: Path, iris_path: Path, out_csv: Path) -> pd.DataFrame:
    """Composites and the per-IRIS table; writes ``out_csv`` and returns the table."""
    products = Path(products)
    iris = gpd.read_file(iris_path)
    items = sentinel2_items(products)
    template = open_band(asset(items[0], "red")[0])  # the 10 m grid

    lst = xr.concat(
        [landsat_lst(f, template) for f in sorted(products.glob("L*_L2SP_*")) if f.is_dir()],
        dim="time",
    )
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
    # n_clear is defined on every pixel of the grid: its count is the zone's pixel count.
    table["valid_frac"] = table["lst_count"] / table["n_clear_count"]
    table = table[["code_iris", "lst_mean_k", "ndvi_mean", "n_clear_mean", "valid_frac",
                   "lst_count"]]  # fmt: skip
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("products", type=Path, help="folder of Landsat and Sentinel-2 products")
    parser.add_argument("iris", type=Path, help="IRIS layer (code_iris field)")
    parser.add_argument("out", type=Path, help="per-IRIS table (CSV) to write")
    args = parser.parse_args()
    print(run_reference(args.products, args.iris, args.out).describe().T)


if __name__ == "__main__":
    main()
