"""One product in, one raster out: the flows behind ``ilots lst`` and ``ilots indices``.

Each flow plans from metadata (open the product as a STAC Item, pick the bands, load them
lazily on the product's own grid), builds the mask → indices → LST graph without reading a
pixel, and leaves computing to the writer, so each input file is read once.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import operator
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import odc.geo.xr  # noqa: F401  (registers the .odc accessor)
import pystac
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from raster.cog import write_cog
from raster.compute import compute_into_memory
from raster.footprint import temperature_means
from raster.indices import INDICES, compute_indices, index_names
from raster.load import load_items
from raster.quality import (
    RADSAT_BITS,
    SCLMask,
    bqa_clear_mask,
    landsat_clear_mask,
    qa_pixel_preset,
    scl_preset,
    sentinel2_clear_mask,
)
from raster.sharpen import SharpenResult, sharpen_lst
from raster.sources import half_note, open_product
from raster.sources.hrefs import href_file
from raster.sources.landsat_halves import split_half
from raster.thermal import lst_level1, surface_temperature_l2
from tiles.errors import (
    BandMissingError,
    GridError,
    IlotsWarning,
    ReadError,
    UnsupportedProductError,
)

if TYPE_CHECKING:
    from pipelines.outputs._atomic import Published

__all__ = [
    "MaskOptions",
    "open_item",
    "product_files",
    "product_indices",
    "product_lst",
    "sharpen_product_lst",
    "write_product_raster",
]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

LstMethod = Literal["auto", "l2", "single-band", "single-channel"]


@dataclass(frozen=True)
class MaskOptions:
    """Which pixels a single-product flow keeps.

    Parameters
    ----------
    preset
        QA_PIXEL preset for Landsat (:data:`raster.quality.QA_PIXEL_PRESETS`), SCL preset for
        Sentinel-2, or ``"none"`` to keep every pixel. Collection 1 BQA has fixed rules.
    keep_water
        Keep water pixels (Landsat QA bit 7). ``None``: the flow's default, masked for LST
        (water LST is not urban LST), kept for indices (MNDWI and NDWI need water).
    dilate_px
        Grow the cloud mask by this many pixels.
    st_qa_max_k
        Reject pixels whose ST_QA uncertainty (K) is larger (Landsat Level-2).
    cdist_min_km
        Reject pixels closer than this to a cloud (ST_CDIST, Landsat Level-2).
    """

    preset: str = "default"
    keep_water: bool | None = None
    dilate_px: int = 0
    st_qa_max_k: float | None = None
    cdist_min_km: float | None = None

    def __post_init__(self) -> None:
        if self.dilate_px < 0:
            raise ValueError(f"dilate_px must be >= 0, got {self.dilate_px}")

    def keeps_water(self, default: bool) -> bool:
        """Whether water is kept: ``keep_water``, else the flow's ``default``."""
        return default if self.keep_water is None else self.keep_water

    def extra_bands(self) -> list[str]:
        """Level-2 QA bands these thresholds need besides the QA band."""
        return [b for b, v in (("st_qa", self.st_qa_max_k), ("st_cdist", self.cdist_min_km))
                if v is not None]  # fmt: skip


def _clear_mask(
    item: pystac.Item,
    ds: xr.Dataset,
    options: MaskOptions,
    used: Iterable[str],
    *,
    keep_water: bool,
) -> xr.DataArray | None:
    """Build the keep-mask of a loaded single-scene dataset (``None`` for preset "none").

    ``keep_water``: whether water is kept (:meth:`MaskOptions.keeps_water`). Water is SCL 6
    for Sentinel-2, QA_PIXEL bit 7 for Landsat Collection 2, and NDVI < 0 for Collection 1,
    whose BQA has no water bit (science.md §2.2).
    """
    if options.preset == "none":
        return None
    product_type = item.properties["ilots:product_type"]
    if product_type == "sentinel-2-l2a":
        preset = scl_preset(options.preset)
        if keep_water:  # SCL 6 kept, its cloud dilation unchanged
            preset = SCLMask(preset.keep | {6}, name=f"{preset.name} + water")
        return sentinel2_clear_mask(ds, preset=preset, dilate_px=options.dilate_px)
    if "bqa" in ds:
        if options.preset != "default" or options.dilate_px:
            warnings.warn(
                f"{item.id} is Collection 1: its BQA has fixed rules, so the mask preset "
                f"{options.preset!r} and the dilation are not applied",
                IlotsWarning,
                stacklevel=3,
            )
        if options.extra_bands():
            warnings.warn(
                f"{item.id} is Collection 1 Level-1: it has no ST_QA nor ST_CDIST, so "
                "--st-qa-max and --cdist-min are not applied",
                IlotsWarning,
                stacklevel=3,
            )
        clear = bqa_clear_mask(ds)
        if keep_water:
            return clear
        if not {"red", "nir08"} <= set(ds.data_vars):
            raise BandMissingError(
                f"{item.id} is Collection 1, whose BQA has no water bit: water is found as "
                "NDVI < 0, which needs its red and near-infrared bands (B4, B5)"
            )
        water = compute_indices(ds[["red", "nir08"]], ["ndvi"])["ndvi"] < 0
        return clear & ~water
    spec = dataclasses.replace(qa_pixel_preset(options.preset), keep_water=keep_water)
    # With QA_RADSAT: the saturation of the bands used, and terrain occlusion (bit 11) always,
    # also for the LST (Level-2 QA_RADSAT has no band-10 bit), as in the run.
    saturated = [b for b in used if b in RADSAT_BITS] if "qa_radsat" in ds else None
    return landsat_clear_mask(
        ds,
        preset=spec,
        radsat_bands=saturated,
        st_qa_max_k=options.st_qa_max_k,
        cdist_min_km=options.cdist_min_km,
        dilate_px=options.dilate_px,
    )


def _qa_bands(item: pystac.Item, options: MaskOptions) -> list[str]:
    if options.preset == "none":
        return []
    product_type = item.properties["ilots:product_type"]
    if product_type == "sentinel-2-l2a":
        return ["scl"]
    if product_type == "landsat-c1-l1":
        return ["bqa"]
    radsat = ["qa_radsat"] if "qa_radsat" in item.assets else []
    return ["qa_pixel", *radsat, *options.extra_bands()]


def _load_scene(item: pystac.Item, bands: Sequence[str], chunk: int) -> xr.Dataset:
    ds = load_items([item], list(dict.fromkeys(bands)), chunk=chunk)
    return ds.isel(time=0)


def product_lst(
    product: str | os.PathLike[str] | pystac.Item,
    *,
    method: LstMethod = "auto",
    mask: MaskOptions | None = None,
    water_vapour: float | None = None,
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
        Pixels to keep; default :class:`MaskOptions` (clouds and water masked).
    water_vapour
        Column water vapour (g cm-2) for the single-channel method; default 2.0. Given with
        another method, it is ignored with a warning.
    chunk
        Dask chunk edge in pixels.

    Returns
    -------
    xarray.DataArray
        Lazy 2-D float32 LST with NaN on masked pixels; attrs name the method and source.

    Raises
    ------
    UnsupportedProductError
        For an L2SR product (no surface temperature), a Sentinel-2 product, or a method that
        does not fit the product level.
    """
    options = mask or MaskOptions()
    item = product if isinstance(product, pystac.Item) else open_item(product)
    product_type = item.properties["ilots:product_type"]
    method = _lst_method(item, product_type, method)
    keep_water = options.keeps_water(False)  # water LST is not urban LST
    if water_vapour is not None and method != "single-channel":
        warnings.warn(
            f"the water vapour applies to the single-channel method only; the {method} "
            "method does not use it",
            IlotsWarning,
            stacklevel=2,
        )
    if method == "l2":
        ds = _load_scene(item, ["lwir11", *_qa_bands(item, options)], chunk)
        clear = _clear_mask(item, ds, options, ["lwir11"], keep_water=keep_water)
        lst = surface_temperature_l2(ds, mask=clear)
        lst.attrs["method"] = (
            "USGS Collection 2 Level-2 ST_B10 (single-channel, ASTER GED emissivity)"
        )
    else:
        used = ["lwir11", "red", "nir08"]
        ds = _load_scene(item, used + _qa_bands(item, options), chunk)
        vapour = 2.0 if water_vapour is None else water_vapour
        lst = lst_level1(ds, method=method, water_vapour=vapour)
        clear = _clear_mask(item, ds, options, used, keep_water=keep_water)
        lst = lst if clear is None else lst.where(clear)
    lst.attrs.update(
        {
            "source_product": item.id,
            "ilots_mask": options.preset,
            "ilots_keep_water": str(keep_water),
            "ilots_rejected": _rejected(options, keep_water=keep_water, thresholds=method == "l2"),
        }
    )
    return lst


def open_item(product: str | os.PathLike[str]) -> pystac.Item:
    """Open a product path; refuse one read from metadata alone (:func:`_check_band_files`).

    The flows take the Item in place of the path (:func:`product_files` lists the files
    they will read).

    A Planetary Computer item is signed at each read (a one-line error without the
    planetary-computer package: :mod:`pipelines.config.planetary_computer`).

    The reader's warning that the item has metadata only gives way to that error.
    """
    from pipelines.config.planetary_computer import sign_planetary_computer

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        item = open_product(product)
    _check_band_files(item)
    sign_planetary_computer([item], Path(product).name)  # its storage refuses unsigned reads
    for w in said:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return item


def product_files(item: pystac.Item) -> list[Path]:
    """Return the files of this machine that a flow of ``item`` may read.

    Its asset files (an archive for a band inside one), the metadata it was read from
    (``ilots:metadata``: the MTL or item JSON) and its own JSON; remote ones are left out.
    An output must be none of them (:func:`pipelines.outputs._atomic.check_output`).
    """
    hrefs = [asset.href for asset in item.assets.values()]
    hrefs += [item.properties.get("ilots:metadata"), item.get_self_href()]
    files = (href_file(str(href)) for href in hrefs if href)
    return list(dict.fromkeys(file for file in files if file is not None))


def _check_band_files(item: pystac.Item) -> None:
    """Refuse a product read from metadata alone (an MTL with none of its band files beside it).

    Raises
    ------
    BandMissingError
        Naming the metadata file, and the product folder beside it named by its product id
        when there is one: a stray MTL left at the top of a folder of products is read before
        the folders. A folder of another product is not suggested.
    """
    if item.assets:
        return
    metadata = item.properties.get("ilots:metadata")
    if not metadata or "://" in str(metadata):
        raise BandMissingError(f"{item.id} has no band file; give the product folder itself")
    where = Path(str(metadata)).parent
    inside = sorted(where.iterdir()) if where.is_dir() else []  # not a folder: in a .tar
    product_id, _ = split_half(item.id)
    folders = [p for p in inside if p.is_dir() and product_id in (p.name, p.stem)
               and (any(p.glob("*_MTL.*")) or p.suffix == ".SAFE")]  # fmt: skip
    hint = "give the product folder itself, with its band files"
    if folders:
        hint = f"give the product folder itself: {folders[0]}"
    raise BandMissingError(
        f"{metadata} was read as the product, but the product's band files are not beside "
        f"it; {hint}"
    )


def _rejected(options: MaskOptions, *, keep_water: bool, thresholds: bool = False) -> str:
    """Say what the mask rejects, for the message when no pixel is left.

    ``thresholds``: the ST_QA and ST_CDIST thresholds apply (Level-2 surface temperature).
    """
    if options.preset == "none":
        return "fill"
    reasons = ["cloud", "cloud shadow", "fill"] + ([] if keep_water else ["water"])
    if thresholds and options.st_qa_max_k is not None:
        reasons.append(f"ST_QA above {options.st_qa_max_k:g} K")
    if thresholds and options.cdist_min_km is not None:
        reasons.append(f"closer than {options.cdist_min_km:g} km to a cloud")
    return ", ".join(reasons[:-1]) + " or " + reasons[-1]


def _lst_method(item: pystac.Item, product_type: str, method: str) -> str:
    level = item.properties.get("ilots:processing_level", "")
    if product_type == "sentinel-2-l2a":
        raise UnsupportedProductError(
            f"{item.id} is a Sentinel-2 product, which has no thermal band; "
            "LST needs a Landsat 8/9 product"
        )
    if method == "auto":
        method = "l2" if product_type == "landsat-c2-l2" else "single-band"
    if method not in ("l2", "single-band", "single-channel"):
        raise ValueError(
            f"unknown LST method {method!r}; use auto, l2, single-band or single-channel"
        )
    if method == "l2" and product_type != "landsat-c2-l2":
        raise UnsupportedProductError(
            f"{item.id} is a Level-1 product; use --method single-band or single-channel"
        )
    half = half_note(item, needed="ST")
    if method == "l2" and half is not None and "lwir11" not in item.assets:
        raise BandMissingError(f"{item.id} has no surface temperature: it is {half}")
    if method == "l2" and level == "L2SP" and "lwir11" not in item.assets:
        raise BandMissingError(
            f"{item.id}: its surface temperature file ({item.id}_ST_B10.TIF) is missing; "
            "download the product again, whole"
        )
    if method == "l2" and (level == "L2SR" or "lwir11" not in item.assets):
        raise UnsupportedProductError(
            f"{item.id} is {level or 'a Level-2 product'} without surface temperature "
            "(L2SR: reflectance only); download the L2SP product, or the Level-1 product "
            "with --method single-band"
        )
    if method != "l2" and product_type == "landsat-c2-l2":
        raise UnsupportedProductError(
            f"{item.id} is a Level-2 product; the {method} method needs Level-1 radiance "
            "(use --method l2, the USGS surface temperature)"
        )
    return method


def product_indices(
    product: str | os.PathLike[str] | pystac.Item,
    names: Sequence[str],
    *,
    mask: MaskOptions | None = None,
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
        Pixels to keep; default :class:`MaskOptions` (clouds masked, water kept: water
        indices such as MNDWI need it). Saturated pixels of the bands an index uses are
        masked when the product has QA_RADSAT.
    chunk
        Dask chunk edge in pixels.

    Returns
    -------
    xarray.Dataset
        One lazy float32 variable per index, NaN where masked or undefined. The normalized
        differences take a negative reflectance as 0 (red < 0 gives NDVI 1): their
        ``encoding[NEGATIVE_REFLECTANCE]`` counts the kept pixels concerned, lazily (the
        attributes stay plain values, for any writer), which :func:`write_product_raster`
        computes and warns about.
    """
    options = mask or MaskOptions()
    unknown = [n for n in names if n not in INDICES]
    if unknown or not names:
        raise ValueError(
            f"unknown index {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(index_names())}"
        )
    item = product if isinstance(product, pystac.Item) else open_item(product)
    sentinel2 = str(item.properties.get("platform", "")).lower().startswith("sentinel-2")
    if "albedo_liang" in names and sentinel2:
        raise ValueError(
            f"albedo_liang is Liang's formula for Landsat OLI bands; {item.id} is a Sentinel-2 "
            "product: use albedo_s2"
        )
    used: list[str] = []
    for name in names:
        chosen = INDICES[name].resolve(item.assets)
        if chosen is None:
            needed = ", ".join("/".join(c) for _, c in INDICES[name].inputs)
            half = half_note(item, needed="SR")
            raise BandMissingError(
                f"index {name} needs the bands {needed}; product {item.id} "
                f"has {', '.join(sorted(item.assets))}"
                + (f": it is {half}" if half is not None else "")
            )
        used.extend(chosen.values())
    ds = _load_scene(item, used + _qa_bands(item, options), chunk)
    out = compute_indices(ds, names)
    keep_water = options.keeps_water(True)  # MNDWI and NDWI need water
    clear = _clear_mask(item, ds, options, used, keep_water=keep_water)
    if clear is not None:
        out = out.where(clear)
    floored = _floored_pixels(ds, names, clear)
    level1 = str(item.properties.get("ilots:processing_level", "")).startswith("L1")
    if level1:
        warnings.warn(
            f"{item.id} is Level-1: its indices are of top-of-atmosphere reflectance, not "
            "surface reflectance (use the Level-2 product to compare with other dates)",
            IlotsWarning,
            stacklevel=2,
        )
    for name in names:
        if level1:
            out[name].attrs["reflectance"] = "top of atmosphere (Level-1)"
        out[name].attrs.update(
            {
                "source_product": item.id,
                "ilots_mask": options.preset,
                "ilots_keep_water": str(keep_water),
                "ilots_rejected": _rejected(options, keep_water=keep_water),
            }
        )
        if name in floored:
            out[name].encoding[NEGATIVE_REFLECTANCE] = floored[name]
    return out


#: Key of a normalized difference from :func:`product_indices`: the pixels the mask kept
#: where a band of the index has a negative reflectance, taken as 0. In its ``encoding``, a
#: pair (the bands read, as ``"red, nir08"``; a lazy 0-d count), until
#: :func:`write_product_raster` computes the count with the index; then an int in its
#: attributes, also written as a COG tag.
NEGATIVE_REFLECTANCE = "ilots_negative_reflectance_pixels"


def _floored_pixels(
    ds: xr.Dataset, names: Sequence[str], clear: xr.DataArray | None
) -> dict[str, tuple[str, xr.DataArray]]:
    """Count, lazily, the kept pixels where a normalized difference floors a reflectance.

    The normalized differences (NDVI, NDBI, MNDWI, NDWI, UI) take a negative reflectance as
    0 (:func:`raster.indices.ndvi`: noise about 0, as on dark water), so that a pixel with
    red < 0 and NIR > 0 has an NDVI of exactly 1, as dense vegetation, and one with both
    below 0 none. Returns ``{index: (bands, count)}`` for those indices, ``bands`` naming the
    bands the index reads (``"red, nir08"``).
    """
    counts: dict[str, tuple[str, xr.DataArray]] = {}
    for name in names:
        ratio = INDICES[name].ratio
        if ratio is None or ratio.floor != 0.0:
            continue
        bands = list(dict.fromkeys(INDICES[name].resolve(ds.data_vars).values()))
        negative = functools.reduce(operator.or_, (ds[b] < 0 for b in bands))
        if clear is not None:
            negative = negative & clear
        counts[name] = (", ".join(bands), negative.sum())
    return counts


def sharpen_product_lst(lst: xr.DataArray, ndvi_path: str | os.PathLike[str]) -> SharpenResult:
    """Sharpen a product's LST to the grid of an NDVI GeoTIFF, lazily (``--sharpen-with``).

    The NDVI file defines the output grid; its pixel size must divide the LST's (30 m → 10 or
    15 m). The LST is first put on the grid of ``factor × factor`` NDVI pixels (same CRS and
    corner as the NDVI, cropped to whole blocks) as radiance, (area-weighted mean of T⁴)^(1/4)
    of the Landsat pixels under each block, NaN where one of them is masked; where the NDVI's
    pixel edges fall on the Landsat edges (15 m + k·30 m in UTM) this changes no value,
    elsewhere it is the only resampling of the LST, and an explicit reprojection when the
    NDVI is in another CRS. Then :func:`raster.sharpen.sharpen_lst`
    with its defaults (NDVI basis, radiance-conserving ``average`` correction).

    Parameters
    ----------
    lst
        LST (K) from :func:`product_lst`.
    ndvi_path
        One-band NDVI GeoTIFF with a CRS (e.g. a Sentinel-2 NDVI from ``ilots indices``);
        its nodata pixels are NaN.

    Raises
    ------
    IlotsError, ReadError
        The NDVI file cannot be read, has no CRS or more than one band.
    GridError
        Its pixel size does not divide the LST's, or it is smaller than one LST pixel.
    """
    ndvi = _open_ndvi(Path(ndvi_path))
    fine = ndvi.odc.geobox
    coarse_res = abs(float(lst.odc.geobox.resolution.x))
    rx, ry = abs(float(fine.resolution.x)), abs(float(fine.resolution.y))
    factor = round(coarse_res / rx)
    if factor < 2 or abs(coarse_res / rx - factor) > 1e-6 or abs(coarse_res / ry - factor) > 1e-6:
        raise GridError(
            f"{Path(ndvi_path).name}: its {rx:g} m pixels do not divide the LST's "
            f"{coarse_res:g} m pixels by an integer >= 2; write the NDVI at e.g. 10 or 15 m"
        )
    ny, nx = fine.shape.y // factor, fine.shape.x // factor
    if ny == 0 or nx == 0:
        raise GridError(
            f"{Path(ndvi_path).name} is smaller than one {coarse_res:g} m LST pixel; "
            "give an NDVI covering the area to sharpen"
        )
    ndvi = ndvi.isel(y=slice(0, ny * factor), x=slice(0, nx * factor))
    grid = GeoBox((ny, nx), fine.affine * Affine.scale(factor), fine.crs)
    # As radiance, and none where a masked pixel lies under a block (a plain average warp
    # gave a block the value of its clear part, which the sharpening spread over the cloud).
    coarse = temperature_means(lst, grid).rename(lst.name).assign_attrs(lst.attrs)
    result = sharpen_lst(coarse, ndvi)
    keep = ("source_product", "method", "ilots_mask", "ilots_keep_water")
    extra = {k: lst.attrs[k] for k in keep if k in lst.attrs}
    return SharpenResult(lst=result.lst.assign_attrs(extra), fit=result.fit)


def _open_ndvi(path: Path) -> xr.DataArray:
    from pipelines.zonal import open_raster  # the raster reader of ``ilots zonal``

    src = open_raster(path)
    if "band" in src.dims:
        raise ReadError(f"{path.name} must be a one-band NDVI GeoTIFF")
    if src.rio.crs is None:
        raise ReadError(f"{path.name} has no CRS; write the NDVI with its CRS")
    return src.rename("ndvi")


def write_product_raster(
    data: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool | None = None,
    published: Published | None = None,
) -> Path:
    """Compute a 2-D product raster and write it as a COG; warn when nothing is valid.

    The count of valid pixels is stored in ``data.attrs["valid_pixels"]`` and in the COG tags.
    An index of :func:`product_indices` that took a negative reflectance as 0 on kept pixels
    (:data:`NEGATIVE_REFLECTANCE`, counted in the same pass) warns how many, and its count
    becomes a COG tag too. ``overwrite``: what may be at ``path``
    (:func:`~pipelines.outputs._atomic.staged`; ``False``: nothing). ``published``: the
    files of the command (:func:`~pipelines.outputs._atomic.all_or_none`) the COG is one of.
    """
    from pipelines.outputs._atomic import publish, written_path  # geopandas: when writing

    floored = data.encoding.get(NEGATIVE_REFLECTANCE)
    if isinstance(floored, tuple):
        bands, lazy = floored
        values, count = compute_into_memory(data, lazy)
        negative = int(count.values)
        data.attrs[NEGATIVE_REFLECTANCE] = values.attrs[NEGATIVE_REFLECTANCE] = negative
        if negative:
            mask = data.attrs.get("ilots_mask", "default")
            index = str(data.name).upper()
            warnings.warn(
                f"{data.attrs.get('source_product', 'the product')}: on {negative} pixels "
                f"kept by the mask ({mask}), {index} reads a negative reflectance of {bands}, "
                f"taken as 0: there {index} is -1, 1 or nodata whatever the surface (red < 0 "
                "gives NDVI 1, as dense vegetation)"
                + ("; --mask default leaves most of them out" if mask == "none" else ""),
                IlotsWarning,
                stacklevel=2,
            )
    else:
        (values,) = compute_into_memory(data)
    valid = int(np.isfinite(values.values).sum())
    if valid == 0:
        warnings.warn(
            f"{data.attrs.get('source_product', 'the product')}: no valid pixel after masking "
            f"(all {data.attrs.get('ilots_rejected', 'cloud, fill or water')}); {path} is "
            "written with nodata everywhere",
            IlotsWarning,
            stacklevel=2,
        )
    data.attrs["valid_pixels"] = valid
    values.attrs["valid_pixels"] = valid
    put_in_place = functools.partial(
        published.publish if published else publish, overwrite=overwrite
    )
    return Path(write_cog(values, written_path(path, overwrite), put_in_place=put_in_place))
