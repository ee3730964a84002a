# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · One Landsat scene: land surface temperature and NDVI
#
# This notebook is for a city data team that wants to see, on a single summer Landsat image,
# what ilots does before any aggregation: read a **Landsat 8/9 Collection 2 Level-2** product
# as delivered by USGS, mask the clouds, turn the `ST_B10` band into **land surface
# temperature (LST) in kelvin**, and compute the **NDVI** vegetation index from the red and
# near-infrared surface reflectance.
#
# **The data is synthetic.** It comes from `ilots demo`: a made-up town about 4.4 km across
# (64 IRIS, 3 QPV) in a scene of about 18 km × 18 km, written in the real USGS product layout
# (GeoTIFF bands, `_MTL.txt`, `_MTL.json`, `QA_PIXEL` bits) so that the same code runs on your
# own downloads. No value here describes a real place (its commune code, 31555, and its
# Landsat path and row, 198/030, are real ones borrowed for realism: do not join them to real
# data).
#
# Set `ILOTS_DEMO_DIR` to a folder written by `ilots demo --out DIR` to reuse it; otherwise the
# notebook writes a fresh demo into a temporary folder (about a minute) and removes it when
# its kernel, or the script, ends.
#
# Keep in mind throughout: LST is the temperature of the *surface* (roofs, roads, tree
# canopy) seen from space at about 10:30 solar time, not the air temperature people feel.

# %%
import atexit
import json
import os
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pipelines.demo import demo_folder
from raster.indices import compute_indices
from raster.load import load_items
from raster.quality import landsat_clear_mask, landsat_water_mask
from raster.sources import open_product
from raster.thermal import surface_temperature_l2

DEMO = demo_folder()  # $ILOTS_DEMO_DIR, or a fresh demo in a temporary folder
if not os.environ.get("ILOTS_DEMO_DIR"):  # that temporary demo is this notebook's own:
    atexit.register(shutil.rmtree, DEMO, ignore_errors=True)  # removed when the kernel ends
print("demo folder:", DEMO)
print("Landsat products:", *sorted(p.name for p in (DEMO / "products").glob("LC0*")), sep="\n  ")

# %% [markdown]
# ## Reading a product
#
# `open_product` accepts a product folder, any of its `_MTL` files, the `.tar` downloaded from
# USGS, or a STAC item. It reads only metadata and returns a STAC item: which bands exist,
# their grid, and the scale and offset that turn the stored integers (DN) into physical units.
#
# We pick the 20 July 2023 Landsat 9 scene: the generator put some clouds and their shadows
# on it, so the cloud mask has work to do.

# %%
product = next((DEMO / "products").glob("LC09_L2SP_198030_20230720_*"))
item = open_product(product)
print("product:", item.id)
print("platform:", item.properties["platform"], "· date:", item.datetime.date())
print("cloud cover (metadata):", item.properties.get("eo:cloud_cover"), "%")
print("bands:", ", ".join(sorted(item.assets)))

# %% [markdown]
# ## Loading the bands, lazily, in physical units
#
# `load_items` puts one or more items on a common grid with odc-stac. Nothing is read yet: the
# result is a lazy Dask-backed `xarray.Dataset`. Each band is already scaled to physical units
# (surface reflectance for `red` and `nir08`, kelvin for `lwir11` = `ST_B10`), with NaN where
# the product has no data.

# %%
ds = load_items([item], ["red", "nir08", "lwir11", "qa_pixel", "qa_radsat", "st_qa"])
print(ds)

# %% [markdown]
# ## Clouds, shadows and water
#
# Landsat's `QA_PIXEL` band flags every pixel bit by bit. The `default` preset of
# `landsat_clear_mask` rejects fill, dilated cloud, cirrus, cloud, cloud shadow and snow
# (bits 0–5). Water (bit 7) is *not* rejected here: it is a separate mask, because whether a
# river belongs in an urban statistic is a choice, not a quality problem.
#
# Two more tests, as `ilots run` makes them by default: `ST_QA` (the product's own
# uncertainty of each temperature, in K) above 2 K rejects a pixel for the LST, and
# `QA_RADSAT` rejects a pixel for an index where a band it reads is saturated (bright roofs)
# and for every output where the terrain hides it.
#
# `surface_temperature_l2` then keeps the valid kelvin values under the LST's mask, and
# `compute_indices` builds NDVI = (NIR − red) / (NIR + red) on the clear pixels whose red and
# near-infrared are not saturated.

# %%
clear = landsat_clear_mask(ds, preset="default", st_qa_max_k=2.0, radsat_bands=())
clear_ndvi = landsat_clear_mask(ds, preset="default", radsat_bands=["red", "nir08"])
water = landsat_water_mask(ds)
lst = surface_temperature_l2(ds, mask=clear).isel(time=0)
ndvi = compute_indices(ds, ["ndvi"])["ndvi"].where(clear_ndvi).isel(time=0)

# One compute reads each file once.
lst_v, ndvi_v, clear_v, water_v = (
    a.values for a in (lst, ndvi, clear.isel(time=0), water.isel(time=0))
)
print(f"grid: {lst_v.shape[1]} x {lst_v.shape[0]} pixels of 30 m")
print(f"clear pixels: {clear_v.mean():.1%} of the scene; water pixels: {water_v.mean():.1%}")

# %% [markdown]
# ## Maps
#
# Left, the LST: the dense mineral centre stands out several kelvin above the countryside,
# the parks and the river are cooler, and the white speckles are the masked clouds and their
# shadows (the generator's clouds are small and scattered; real ones come in larger blobs).
# Right, NDVI: high (green) over parks and fields, low over roofs and roads, negative over
# water.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
low, high = np.nanpercentile(lst_v, [2, 98])  # a colour scale that is not set by outliers
im = axes[0].imshow(lst_v, cmap="inferno", vmin=low, vmax=high)
fig.colorbar(im, ax=axes[0], label="LST (K)")
axes[0].set_title(f"Land surface temperature, {item.datetime.date()} (synthetic)")
im = axes[1].imshow(ndvi_v, cmap="RdYlGn", vmin=-0.3, vmax=0.9)
fig.colorbar(im, ax=axes[1], label="NDVI")
axes[1].set_title("NDVI on clear pixels (synthetic)")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## Hotter where it is less green
#
# The scatter of LST against NDVI over clear land pixels is the relation the greening
# scenarios build on: the less vegetation, the hotter the surface. The table gives the
# scene's LST statistics over clear pixels, and separately over clear land (water excluded).

# %%
valid = np.isfinite(lst_v) & np.isfinite(ndvi_v)
land = valid & ~water_v
fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
ax.hexbin(ndvi_v[land], lst_v[land], gridsize=50, cmap="viridis", mincnt=1)
slope, intercept = np.polyfit(ndvi_v[land], lst_v[land], 1)
xs = np.linspace(np.nanmin(ndvi_v[land]), np.nanmax(ndvi_v[land]), 10)
ax.plot(xs, intercept + slope * xs, color="tab:red", label=f"fit: {slope:+.1f} K per NDVI unit")
ax.set(xlabel="NDVI", ylabel="LST (K)", title="LST vs NDVI, clear land pixels (synthetic)")
ax.legend()
plt.show()


def describe(values: np.ndarray) -> dict[str, float]:
    """Summary statistics of the finite values of an array."""
    v = values[np.isfinite(values)].astype("float64")
    return {
        "pixels": int(v.size),
        "mean": float(v.mean()),
        "min": float(v.min()),
        "p10": float(np.percentile(v, 10)),
        "median": float(np.median(v)),
        "p90": float(np.percentile(v, 90)),
        "max": float(v.max()),
    }


lst_stats = describe(lst_v)
table = pd.DataFrame(
    {
        "LST, clear pixels (K)": lst_stats,
        "LST, clear land (K)": describe(np.where(land, lst_v, np.nan)),
        "NDVI, clear pixels": describe(ndvi_v),
    }
).T
print(table.round(3).to_string())

# %% [markdown]
# ## The same on a real product (optional)
#
# When `ILOTS_REAL_DATA` points to the project's shared real-data folder, the cell below runs
# the same four calls on a real Landsat 8 Level-2 product (1 December 2019, southern
# Colombia, downsampled by its publisher): the code that reads the synthetic city reads the
# USGS files unchanged. Without that folder, the cell says so and moves on.

# %%
real_env = os.environ.get("ILOTS_REAL_DATA")
real_product = (
    Path(real_env) / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    if real_env
    else None
)
real_stats = None
if real_product is not None and real_product.is_dir():
    real_item = open_product(real_product)
    real = load_items([real_item], ["red", "nir08", "lwir11", "qa_pixel"])
    real_clear = landsat_clear_mask(real)
    real_lst = surface_temperature_l2(real, mask=real_clear).isel(time=0).values
    real_ndvi = compute_indices(real, ["ndvi"])["ndvi"].where(real_clear).isel(time=0).values
    real_stats = describe(real_lst)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    low, high = np.nanpercentile(real_lst, [2, 98])
    im = axes[0].imshow(real_lst, cmap="inferno", vmin=low, vmax=high)
    fig.colorbar(im, ax=axes[0], label="LST (K)")
    axes[0].set_title(f"{real_item.id[:25]}…: LST (real)")
    im = axes[1].imshow(real_ndvi, cmap="RdYlGn", vmin=-0.3, vmax=0.9)
    fig.colorbar(im, ax=axes[1], label="NDVI")
    axes[1].set_title("NDVI (real)")
    for ax in axes:
        ax.set_axis_off()
    plt.show()
    print(pd.Series(real_stats, name="real LST, clear pixels (K)").round(2).to_string())
else:
    print("ILOTS_REAL_DATA is not set (or lacks landsat_c2l2/): real product skipped")

# %% [markdown]
# ## Key results
#
# The last cell stores the key numbers as JSON when `ILOTS_NOTEBOOK_RESULTS` names a file
# (the project's tests compare them with an independent computation from the raw files).

# %%
results = {
    "product": item.id,
    "lst": lst_stats,
    "ndvi_mean": float(np.nanmean(ndvi_v)),
    "clear_pixels": int(clear_v.sum()),
    "lst_ndvi_slope_k": float(slope),
    "real_lst": real_stats,
}
print(json.dumps(results, indent=2))
if os.environ.get("ILOTS_NOTEBOOK_RESULTS"):
    Path(os.environ["ILOTS_NOTEBOOK_RESULTS"]).write_text(json.dumps(results, indent=2))

# %% [markdown]
# ## On your city
#
# The same two steps from the command line, on any Landsat 8/9 Level-2 product you
# downloaded (the USGS `.tar`, its folder or its STAC item): `ilots lst PRODUCT --out lst.tif`
# and `ilots indices PRODUCT --index ndvi --out indices/` (their `--help` lists the masks;
# the ST_QA test is off there unless `--st-qa-max 2` is given). For a whole summer, a city's
# IRIS and its QPV, write a config and run `ilots run` (the README's "Run it on your own
# city").
