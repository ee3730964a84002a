"""One product in, one raster out: the flows behind ``ilots lst`` and ``ilots indices``.

Each flow plans from metadata (open the product as a STAC Item, pick the bands, load them
lazily on the product's own grid), builds the mask → indices → LST graph without reading a
pixel, and leaves computing to the writer, so each input file is read once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pystac
import xarray as xr

from raster.cog import write_cog
from raster.compute import compute_into_memory
from raster.indices import INDICES, compute_indices, index_names
from raster.load import load_items
from raster.quality import (
    bqa_clear_mask,
    landsat_clear_mask,
    qa_pixel_preset,
    sentinel2_clear_mask,
)
from raster.sources import open_product
from raster.thermal import lst_level1, surface_temperature_l2
from tiles.errors import BandMissingError, IlotsWarning, UnsupportedProductError

__all__ = ["product_indices", "product_lst", "write_product_raster"]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

LstMethod = Literal["auto", "l2", "single-band", "single-channel"]


def product_lst(
    product: str | os.PathLike[str] | pystac.Item,
    *,
    method: LstMethod = "auto",
    mask: str = "default",
    keep_water: bool = False,
    st_qa_max_k: float | None = None,
    dilate_px: int = 0,
    water_vapour: float = 2.0,
    chunk: int = 2048,
) -> xr.DataArray:
    """Land surface temperature (K) of one Landsat product on its own grid, lazily.

    Parameters
    ----------
    product
        A product path (folder, MTL, tar, STAC JSON) or an Item from
        :func:`raster.sources.open_product`.
    method
        ``"l2"`` (USGS ST_B10), ``"single-band"`` or ``"single-channel"`` (Level-1 route), or
        ``"auto"``: ``l2`` for Level-2 products, ``single-band`` for Level-1.
    mask
        QA_PIXEL preset (:data:`raster.quality.QA_PIXEL_PRESETS`); Collection 1 BQA uses its
        own fixed rules.
    keep_water
        Keep water pixels (QA bit 7); masked by default since water LST is not urban LST.
    st_qa_max_k
        Reject pixels whose ST_QA uncertainty exceeds this (Level-2 only).
    dilate_px
        Grow the cloud mask by this many pixels.
    water_vapour
        Column water vapour (g cm-2) for the single-channel method.
    chunk
        Dask chunk edge in pixels.

    Returns
    -------
    xarray.DataArray
        Lazy 2-D float32 LST with NaN on masked pixels; attrs name the method and source, and
        ``valid_pixels`` is filled in when the array is written by :func:`write_product_raster`.

    Raises
    ------
    UnsupportedProductError
        For an L2SR product (no surface temperature) or a Sentinel-2 product.
    """
    item = product if isinstance(product, pystac.Item) else open_product(product)
    product_type = item.properties["ilots:product_type"]
    level = item.properties.get("ilots:processing_level", "")
    if product_type == "sentinel-2-l2a":
        raise UnsupportedProductError(
            f"{item.id} is a Sentinel-2 product, which has no thermal band; "
            "LST needs a Landsat 8/9 product"
        )
    if method == "auto":
        method = "l2" if product_type == "landsat-c2-l2" else "single-band"
    if method == "l2":
        if product_type != "landsat-c2-l2":
            raise UnsupportedProductError(
                f"{item.id} is a Level-1 product; use --method single-band or single-channel"
            )
        if level == "L2SR" or "lwir11" not in item.assets:
            raise UnsupportedProductError(
                f"{item.id} is {level or 'a Level-2 product'} without surface temperature "
                "(L2SR: reflectance only); download the L2SP product, or the Level-1 product "
                "with --method single-band"
            )
        lst = _lst_level2(item, mask, st_qa_max_k, dilate_px, keep_water, chunk)
    elif method in ("single-band", "single-channel"):
        if product_type == "landsat-c2-l2":
            raise UnsupportedProductError(
                f"{item.id} is a Level-2 product; the {method} method needs Level-1 radiance "
                "(use --method l2, the USGS surface temperature)"
            )
        lst = _lst_level1(item, method, mask, dilate_px, keep_water, water_vapour, chunk)
    else:
        raise ValueError(
            f"unknown LST method {method!r}; use auto, l2, single-band or single-channel"
        )
    lst.attrs.update(
        {"source_product": item.id, "ilots_mask": mask, "ilots_keep_water": str(keep_water)}
    )
    return lst


def _single_scene(ds: xr.Dataset) -> xr.Dataset:
    return ds.isel(time=0, drop=False).squeeze(drop=True)


def _landsat_mask(
    ds: xr.Dataset, mask: str, dilate_px: int, keep_water: bool, **thresholds: float | None
) -> xr.DataArray:
    """QA_PIXEL preset, with water rejected in the same pass unless it is kept."""
    spec = dataclasses.replace(qa_pixel_preset(mask), keep_water=keep_water)
    return landsat_clear_mask(ds, preset=spec, dilate_px=dilate_px, **thresholds)


def _lst_level2(
    item: pystac.Item,
    mask: str,
    st_qa_max_k: float | None,
    dilate_px: int,
    keep_water: bool,
    chunk: int,
) -> xr.DataArray:
    bands = ["lwir11", "qa_pixel"] + (["st_qa"] if st_qa_max_k is not None else [])
    ds = _single_scene(load_items([item], bands, chunk=chunk))
    clear = _landsat_mask(ds, mask, dilate_px, keep_water, st_qa_max_k=st_qa_max_k)
    lst = surface_temperature_l2(ds, mask=clear)
    lst.attrs["method"] = "USGS Collection 2 Level-2 ST_B10 (single-channel, ASTER GED emissivity)"
    return lst


def _lst_level1(
    item: pystac.Item,
    method: str,
    mask: str,
    dilate_px: int,
    keep_water: bool,
    water_vapour: float,
    chunk: int,
) -> xr.DataArray:
    qa_band = "bqa" if "bqa" in item.assets else "qa_pixel"
    ds = _single_scene(load_items([item], ["lwir11", "red", "nir08", qa_band], chunk=chunk))
    if qa_band == "bqa":
        if mask != "default" or dilate_px:
            warnings.warn(
                f"{item.id} is Collection 1: its BQA uses fixed rules, so --mask {mask} and "
                "--dilate are not applied",
                IlotsWarning,
                stacklevel=3,
            )
        clear = bqa_clear_mask(ds)
    else:
        clear = _landsat_mask(ds, mask, dilate_px, keep_water)
    lst = lst_level1(ds, method=method, water_vapour=water_vapour).where(clear)
    return lst


def product_indices(
    product: str | os.PathLike[str] | pystac.Item,
    names: Sequence[str],
    *,
    mask: str = "default",
    chunk: int = 2048,
) -> xr.Dataset:
    """Spectral indices of one Landsat or Sentinel-2 product on its own grid, lazily.

    Parameters
    ----------
    product
        A product path or Item.
    names
        Index names (:func:`raster.indices.index_names`).
    mask
        Cloud-mask preset: a QA_PIXEL preset for Landsat, an SCL preset for Sentinel-2, or
        ``"none"`` to keep every pixel.
    chunk
        Dask chunk edge in pixels.

    Returns
    -------
    xarray.Dataset
        One lazy float32 variable per index, NaN where masked or undefined.
    """
    unknown = [n for n in names if n not in INDICES]
    if unknown or not names:
        raise ValueError(
            f"unknown index {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(index_names())}"
        )
    item = product if isinstance(product, pystac.Item) else open_product(product)
    product_type = item.properties["ilots:product_type"]
    bands: list[str] = []
    for name in names:
        chosen = INDICES[name].resolve(item.assets)
        if chosen is None:
            needed = ", ".join("/".join(c) for _, c in INDICES[name].inputs)
            raise BandMissingError(
                f"index {name} needs the bands {needed}; product {item.id} "
                f"has {', '.join(sorted(item.assets))}"
            )
        bands.extend(chosen.values())
    qa = {"sentinel-2-l2a": "scl", "landsat-c1-l1": "bqa"}.get(product_type, "qa_pixel")
    if mask != "none":
        bands.append(qa)
    ds = _single_scene(load_items([item], bands, chunk=chunk))
    out = compute_indices(ds, names)
    if mask != "none":
        if qa == "scl":
            clear = sentinel2_clear_mask(ds, preset=mask)
        elif qa == "bqa":
            clear = bqa_clear_mask(ds)
        else:
            clear = landsat_clear_mask(ds, preset=mask)
        out = out.where(clear)
    for name in names:
        out[name].attrs.update({"source_product": item.id, "ilots_mask": mask})
    return out


def write_product_raster(data: xr.DataArray, path: str | os.PathLike[str]) -> Path:
    """Compute a 2-D product raster and write it as a COG; warn when nothing is valid.

    The count of valid pixels is stored in ``data.attrs["valid_pixels"]`` and in the COG tags.
    """
    (values,) = compute_into_memory(data)
    valid = int(np.isfinite(values.values).sum())
    if valid == 0:
        warnings.warn(
            f"{data.attrs.get('source_product', 'the product')}: no valid pixel after masking "
            f"(all cloud, fill or water); {path} is written with nodata everywhere",
            IlotsWarning,
            stacklevel=2,
        )
    data.attrs["valid_pixels"] = valid
    values.attrs["valid_pixels"] = valid
    return Path(write_cog(values, path))
