"""Pixels: product metadata, loading onto a grid, quality masks, indices, thermal, COGs.

The short public API; each submodule documents its concern in full.
"""

from raster.cog import write_cog
from raster.compute import compute_into_memory
from raster.indices import compute_index, compute_indices, index_names
from raster.load import load_items
from raster.quality import (
    bqa_clear_mask,
    landsat_clear_mask,
    landsat_water_mask,
    sentinel2_clear_mask,
    sentinel2_water_mask,
)
from raster.sharpen import sharpen_lst
from raster.sources import open_product, open_products
from raster.thermal import lst_level1, surface_temperature_l2
from raster.zonal import zonal_stats, zone_coverage

__all__ = [
    "bqa_clear_mask",
    "compute_index",
    "compute_indices",
    "compute_into_memory",
    "index_names",
    "landsat_clear_mask",
    "landsat_water_mask",
    "load_items",
    "lst_level1",
    "open_product",
    "open_products",
    "sentinel2_clear_mask",
    "sentinel2_water_mask",
    "sharpen_lst",
    "surface_temperature_l2",
    "write_cog",
    "zonal_stats",
    "zone_coverage",
]
