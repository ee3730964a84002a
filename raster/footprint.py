"""Masks over each grid pixel's whole footprint, for grids coarser than the mask band.

When a grid pixel is coarser than a band (a 30 m run of Sentinel-2's 10 m reflectances, a
60 m run of Landsat's 30 m pixels), the band is averaged over the pixel: every source pixel
under it counts. Its mask must then speak for all of them. A class band resampled by nearest
(SCL, 20 m) samples one point of the pixel: a grid pixel whose centre is clear keeps the
average of its cloudy edge pixels, and where the centre falls exactly on a class-pixel edge
(a 30 m grid in Landsat's phase over 20 m SCL, every other pixel) the warper's tie-break
decides.

Here the flags are computed on the band's own pixels and their share of each grid pixel's area
is taken with exact area weights (each partly covered source pixel weighed by the part it
covers, as GDAL's ``average`` does; axis by axis where the grids share a CRS, or are the north
and south CRSs of one UTM zone): a pixel is cloudy when any source pixel under it is, clear
only when every one is (:data:`FULL_SHARE`; no data under it counts as not clear), water when
at least half of it is. Water is a surface, not a contamination: a riverbank pixel is clear
when its land is, and, where the mask rejects water, masked when at least half of it is water,
as the class at its centre would mostly say.

The Landsat surface temperature of such a pixel is taken from the same read of the 30 m
pixels (:func:`landsat_footprint_flags` with ``temperature=True``): as radiance, not as
temperature (science.md pitfall 13), with the Stefan–Boltzmann proxy pyDMS uses, the
fourth root of the area-weighted mean of T⁴. A linear mean of T is biased low by about
(3/2)·σ²/T̄ for a spread σ of the 30 m temperatures under the pixel (0.12 K for 5 K at
300 K). The exact band radiance would go through Planck's law at 10.9 µm; T⁴ is science.md's
choice. Where the mask rejects water, the mean is over the pixel's land only (its 30 m pixels
without the QA water bit, each weighed by the area it covers), and only they must be clear and
hold a temperature: a riverbank pixel's LST is its land's, not cooled by the river beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pystac
import xarray as xr
from affine import Affine
from dask.base import is_dask_collection
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords, xr_reproject

from raster._lift import lift
from raster.load import item_geobox, load_stored, read_grid
from raster.nearest import same_phase
from raster.quality.dilation import dilate_mask
from raster.quality.masks import landsat_clear_mask, landsat_radsat_mask, landsat_water_mask
from raster.quality.qa_pixel import QAPixelMask, qa_pixel_cloudy, qa_pixel_preset
from raster.quality.scl import SCL, SCL_CLOUD_CLASSES, SCLMask, scl_preset
from tiles.errors import MetadataError
from tiles.grid import DEFAULT_CHUNK, northing_offset

__all__ = [
    "FULL_SHARE",
    "footprint_means",
    "footprint_shares",
    "landsat_footprint_flags",
    "native_flag_shares",
    "native_groups",
    "on_coords_of",
    "sentinel2_footprint_flags",
    "temperature_means",
]

#: Share of a pixel at or above which a flag holds over the whole pixel (float32 sums of
#: area weights fall short of 1 by rounding).
FULL_SHARE = 1.0 - 1e-6


def native_groups(
    items: Sequence[pystac.Item], band: str, target: GeoBox
) -> list[tuple[list[pystac.Item], GeoBox]]:
    """Group items by the native grid of ``band``, each with its window covering ``target``.

    Items whose ``band`` shares CRS, pixel size and phase (Sentinel-2 tiles of one UTM zone)
    form one group; the window is that grid cropped to the target's extent plus one pixel.

    Parameters
    ----------
    items
        STAC items with ``proj`` fields on ``band`` (:func:`raster.sources.open_product`).
    band
        The band whose native grid is wanted (``scl``).
    target
        The grid the results go onto.

    Returns
    -------
    list of (items, GeoBox)
        In the order of each group's first item.
    """
    groups: list[tuple[list[pystac.Item], GeoBox]] = []
    for item in items:
        try:
            grid = item_geobox(item, band)
        except MetadataError:  # an item without proj fields: the file header says
            grid = read_grid(item, band)
        for members, first in groups:
            if same_phase([first, grid]):
                members.append(item)
                break
        else:
            groups.append(([item], grid))
    return [(members, _window(grid, target)) for members, grid in groups]


def _window(grid: GeoBox, target: GeoBox) -> GeoBox:
    """Crop ``grid``'s pixel lattice to cover ``target``, one pixel to spare."""
    left, bottom, right, top = target.extent.to_crs(grid.crs).boundingbox
    a = grid.affine
    cols = sorted(((left - a.c) / a.a, (right - a.c) / a.a))
    rows = sorted(((top - a.f) / a.e, (bottom - a.f) / a.e))
    c0, c1 = int(np.floor(cols[0])) - 1, int(np.ceil(cols[1])) + 1
    r0, r1 = int(np.floor(rows[0])) - 1, int(np.ceil(rows[1])) + 1
    return GeoBox((r1 - r0, c1 - c0), a * Affine.translation(c0, r0), grid.crs)


def footprint_shares(flags: xr.Dataset, target: GeoBox, chunk: int | None = None) -> xr.Dataset:
    """Share of each ``target`` pixel's area where each boolean flag of ``flags`` holds.

    Where the flags' grid and ``target`` share a CRS (or are the north and south CRSs of one
    UTM zone) and neither is rotated, the area weights are separable (an x overlap times a y
    overlap) and taken axis by axis, without a warp; otherwise GDAL's ``average`` warp
    computes them.

    Parameters
    ----------
    flags
        Boolean ``(..., y, x)`` variables on a georeferenced grid (any CRS).
    target
        The grid to take the shares on.
    chunk
        Output chunk edge for Dask input (default: the input's chunks).

    Returns
    -------
    xarray.Dataset
        float32 shares in [0, 1] (exact area weights, as GDAL's ``average``); NaN where no
        source pixel lies under the target pixel. Lazy on Dask input. A target pixel the
        source covers in part (at the source's edge) takes the mean over the covered part;
        GDAL leaves some of those empty (:func:`raster.footprint.native_groups` reads a
        window one pixel wider than the target, so the runs meet none).
    """
    # One warp for all flags: stacked as 0/1 bytes, averaged in float32.
    shares = _each_area_mean(flags, np.uint8, target, chunk)
    return xr.Dataset({
        name: share.assign_attrs(long_name=f"share of the pixel: {name}")
        for name, share in shares.items()
    })  # fmt: skip


def footprint_means(values: xr.Dataset, target: GeoBox, chunk: int | None = None) -> xr.Dataset:
    """Mean of each variable of ``values`` over each ``target`` pixel, with exact area weights.

    The weights of :func:`footprint_shares` (a source pixel weighs by the part of the target
    pixel it covers), applied to numbers instead of flags.

    Parameters
    ----------
    values
        Finite float ``(..., y, x)`` variables on a georeferenced grid (any CRS). A NaN
        spreads to the target pixels next to it (a weight of 0 times NaN is NaN): give
        missing values a number (0) and their own flag, whose share says where they weigh.
    target
        The grid to take the means on.
    chunk
        Output chunk edge for Dask input (default: the input's chunks).

    Returns
    -------
    xarray.Dataset
        float32 means, each variable keeping its attributes; NaN where no source pixel lies
        under the target pixel. Lazy on Dask input.
    """
    means = _each_area_mean(values, np.float32, target, chunk)
    return xr.Dataset({name: mean.assign_attrs(values[name].attrs)
                       for name, mean in means.items()})  # fmt: skip


def _each_area_mean(
    data: xr.Dataset, dtype: type, target: GeoBox, chunk: int | None
) -> dict[str, xr.DataArray]:
    """Area means of every variable of ``data`` (as ``dtype``), stacked for one pass."""
    means = _area_means(data.to_dataarray("variable").astype(dtype), target, chunk)
    return {str(name): means.isel(variable=k, drop=True) for k, name in enumerate(data.data_vars)}


def _area_means(stack: xr.DataArray, target: GeoBox, chunk: int | None) -> xr.DataArray:
    """Area-weighted float32 means of ``stack`` (``(..., y, x)``) over ``target`` pixels."""
    source = stack.odc.geobox
    lazy = is_dask_collection(stack.data)
    if _separable(source, target):
        means = _separable_shares(stack, source, target)
        if lazy and chunk:  # the data only (DataArray.chunk would chunk product_id too)
            means = means.copy(data=means.data.rechunk({-2: chunk, -1: chunk}))
        return means
    extra = {"chunks": (chunk, chunk)} if chunk and lazy else {}
    return xr_reproject(stack, target, resampling="average", dst_nodata=np.nan,
                        dtype=np.float32, **extra)  # fmt: skip


def _separable(source: GeoBox, target: GeoBox) -> bool:
    """Whether area weights between the grids are an x overlap times a y overlap.

    So they are on north-up grids of one CRS, or of the north and south CRSs of one UTM zone
    (a southern Landsat scene in 326zz under a 327zz grid: :func:`tiles.grid.northing_offset`).
    """
    s, t = source.affine, target.affine
    return northing_offset(source.crs, target.crs) is not None and s.b == s.d == t.b == t.d == 0


def _axis_weights(
    t0: float, t_step: float, n_target: int, s0: float, s_step: float, n_source: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each target pixel on one axis, the source pixels it overlaps and their weights.

    Returns ``(index, weight)`` of shape ``(n_target, k)``: source indices (clipped into the
    source) and the share of the target pixel's length each covers (0 outside the source).
    """
    k = int(np.ceil(abs(t_step) / abs(s_step))) + 1
    lo_t = t0 + t_step * np.arange(n_target) + min(t_step, 0.0)  # low edge of each pixel
    first = np.floor((lo_t - s0) / s_step if s_step > 0 else (lo_t + abs(t_step) - s0) / s_step)
    index = first.astype(np.int64)[:, None] + np.arange(k)
    lo_s = s0 + s_step * index + min(s_step, 0.0)
    overlap = np.minimum(lo_t[:, None] + abs(t_step), lo_s + abs(s_step)) - np.maximum(
        lo_t[:, None], lo_s
    )
    inside = (index >= 0) & (index < n_source)
    weight = np.where(inside, np.clip(overlap, 0.0, None), 0.0) / abs(t_step)
    return np.clip(index, 0, n_source - 1), weight


def _separable_shares(stack: xr.DataArray, source: GeoBox, target: GeoBox) -> xr.DataArray:
    """Area-weighted means of ``stack`` over ``target`` pixels, one axis at a time."""
    s, t = source.affine, target.affine
    (sy, sx), (ty, tx) = source.shape.yx, target.shape.yx
    ix, wx = _axis_weights(t.c, t.a, tx, s.c, s.a, sx)
    shift = northing_offset(source.crs, target.crs) or 0.0
    iy, wy = _axis_weights(t.f, t.e, ty, s.f + shift, s.e, sy)
    data = stack.data
    along_x = sum(
        data[..., ix[:, m]].astype(np.float32) * wx[:, m].astype(np.float32)
        for m in range(ix.shape[1])
    )
    along_y = sum(
        along_x[..., iy[:, m], :] * wy[:, m, None].astype(np.float32) for m in range(iy.shape[1])
    )
    covered = (wy.sum(1)[:, None] * wx.sum(1)[None, :]).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = along_y / np.where(covered > 0, covered, np.nan)
    coords = {k: v for k, v in stack.coords.items() if not {"y", "x"} & set(v.dims)}
    coords.update(xr_coords(target, crs_coord_name="spatial_ref"))
    return xr.DataArray(shares, dims=stack.dims, coords=coords)


def on_coords_of(flag: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """Put ``flag`` (built beside ``like``, on the same grid and dates) on ``like``'s coords.

    The two come from different loads: their coordinates are checked equal (dates by
    product, x and y to a thousandth of a pixel), then ``flag``'s values are taken by
    position, so that no arithmetic between them aligns (and drops) anything.

    Raises
    ------
    ValueError
        If the dates, the shape or the pixel coordinates differ.
    """
    flag = flag.transpose(*like.dims)
    if "product_id" not in flag.coords or "product_id" not in like.coords:
        raise ValueError("flags and bands need a product_id along time to be matched")
    if list(flag["product_id"].values) != list(like["product_id"].values):
        raise ValueError("flags and bands list different dates; load both from the same items")
    if flag.shape != like.shape:
        raise ValueError(f"flags of shape {flag.shape} for bands of shape {like.shape}")
    step = float(abs(like["x"][1] - like["x"][0])) if like.sizes["x"] > 1 else 1.0
    for axis in ("y", "x"):
        if not np.allclose(flag[axis].values, like[axis].values, rtol=0, atol=step * 1e-3):
            raise ValueError(f"flags and bands lie on different grids (their {axis} differ)")
    out = like.copy(data=flag.data)
    out.attrs = dict(flag.attrs)
    return out.rename(flag.name)


def native_flag_shares(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    target: GeoBox,
    flag: Callable[[xr.Dataset], xr.Dataset],
    chunk: int = DEFAULT_CHUNK,
    *,
    stored: bool = False,
) -> xr.Dataset:
    """Flag ``bands`` on their own pixels and take each flag's share of every target pixel.

    Numbers ``flag`` computes beside its flags (float variables) are averaged over each
    target pixel with the same area weights (:func:`footprint_means`), from the same read.

    Parameters
    ----------
    items
        STAC items; ``bands[0]`` gives the native grid (the others must share it).
    bands
        Bands ``flag`` needs, loaded in physical units (:func:`raster.load.load_items`).
    target
        The grid to take the shares on.
    flag
        ``flag(native) -> Dataset`` of boolean ``(time, y, x)`` flags, and of finite float
        ones to average (:func:`footprint_means`), if any.
    chunk
        Chunk edge of the results, in ``target`` pixels.
    stored
        Give ``flag`` the values as the files store them (:func:`raster.load.load_stored`:
        class codes stay bytes) instead of in physical units.

    Returns
    -------
    xarray.Dataset
        float32 shares (:func:`footprint_shares`) of the flags and means of the numbers,
        dates in :func:`raster.load.load_items`' order. Lazy.
    """
    parts = []
    for members, window in native_groups(items, bands[0], target):
        ratio = abs(target.affine.a / window.affine.a)
        native = load_stored(members, list(bands), geobox=window, chunk=int(chunk * ratio))
        per_pixel = flag(native.data if stored else native.physical())
        flags = [name for name, v in per_pixel.data_vars.items() if v.dtype == bool]
        numbers = [name for name in per_pixel.data_vars if name not in flags]
        part = footprint_shares(per_pixel[flags], target, chunk)
        if numbers:
            means = footprint_means(per_pixel[numbers], target, chunk)
            part = xr.merge([part, means], compat="override", join="exact")
        parts.append(part)
    shares = xr.concat(parts, "time") if len(parts) > 1 else parts[0]
    return shares.sortby(["time", "product_id"])


def _clear_and_water(
    shares: xr.Dataset, *, water_kept: bool, dilate_px: int, comment: str, water: str
) -> xr.Dataset:
    """Turn the shares of ``clear`` (kept or water), ``cloud`` and ``water`` into the flags.

    Water is a surface a pixel may partly be, not a contamination: a pixel kept except for
    some water is clear, unless water is at least half of it and the mask rejects water.
    """
    is_water = shares["water"] >= 0.5
    clear = shares["clear"] >= FULL_SHARE
    if not water_kept:
        clear = clear & ~is_water
    if dilate_px:
        cloudy = shares["cloud"] > 1.0 - FULL_SHARE
        clear = clear & ~cloudy.copy(data=dilate_mask(cloudy.data, dilate_px))
        comment += f"; clouds grown by a disk of {dilate_px} px"
    return xr.Dataset({
        "clear": clear.assign_attrs(long_name="clear-sky mask (True = keep)", comment=comment),
        "water": is_water.assign_attrs(
            long_name="water", comment=f"{water} over at least half of the pixel"
        ),
    })  # fmt: skip


def sentinel2_footprint_flags(
    items: Sequence[pystac.Item],
    target: GeoBox,
    *,
    preset: str | SCLMask = "default",
    dilate_px: int = 0,
    chunk: int = DEFAULT_CHUNK,
) -> xr.Dataset:
    """Per date, the SCL clear and water flags over each ``target`` pixel's whole footprint.

    Parameters
    ----------
    items
        Sentinel-2 L2A items with an ``scl`` asset.
    target
        The run's grid (coarser than the 10 m bands, or the flags add nothing to nearest).
    preset
        SCL classes to keep (:data:`raster.quality.scl.SCL_PRESETS`).
    dilate_px
        Grow the cloud classes (3, 8, 9, 10) by a disk of this radius in ``target`` pixels:
        a pixel with any cloud under it is cloudy.
    chunk
        Chunk edge of the results, in ``target`` pixels.

    Returns
    -------
    xarray.Dataset
        Lazy boolean ``(time, y, x)`` variables, dates in :func:`raster.load.load_items`'
        order: ``water`` (SCL class 6 over at least half of the pixel) and ``clear`` (every
        SCL pixel under it kept by ``preset`` or water, not ``water`` unless ``preset`` keeps
        class 6, and no dilated cloud).
    """
    spec = scl_preset(preset)

    def flag(native: xr.Dataset) -> xr.Dataset:
        scl = native["scl"]
        return xr.Dataset({
            "clear": scl.isin(sorted(spec.keep | {int(SCL.WATER)})),
            "cloud": scl.isin(sorted(SCL_CLOUD_CLASSES)),
            "water": scl == int(SCL.WATER),
        })  # fmt: skip

    shares = native_flag_shares(items, ["scl"], target, flag, chunk, stored=True)
    return _clear_and_water(
        shares, water_kept=int(SCL.WATER) in spec.keep, dilate_px=dilate_px,
        comment=f"{spec.describe()}, over every SCL pixel under the grid pixel",
        water="SCL class 6 (water)",
    )  # fmt: skip


def landsat_footprint_flags(
    items: Sequence[pystac.Item],
    target: GeoBox,
    *,
    preset: str | QAPixelMask = "default",
    st_qa_max_k: float | None = None,
    cdist_min_km: float | None = None,
    radsat: Mapping[str, Iterable[int | str]] | None = None,
    dilate_px: int = 0,
    temperature: bool = False,
    valid_range: tuple[float, float] = (149.0, 373.0),
    chunk: int = DEFAULT_CHUNK,
) -> xr.Dataset:
    """Per date, the Landsat clear and water flags over each ``target`` pixel's whole footprint.

    With ``temperature``, also the pixel's surface temperature from the same read of the 30 m
    pixels: the fourth root of the area-weighted mean of their T⁴ (radiance by the
    Stefan–Boltzmann proxy, science.md pitfall 13), not the mean of T. Where ``preset``
    rejects water, of its land pixels only (no QA water bit), and ``clear`` asks only them to
    be clear: the water of a riverbank pixel is neither in its LST nor in its mask.

    Parameters
    ----------
    items
        Landsat Collection 2 Level-2 items with ``qa_pixel`` (and ``st_qa``, ``st_cdist``
        when their thresholds are set).
    target
        The run's grid (coarser than the 30 m pixels).
    preset, st_qa_max_k, cdist_min_km
        As :func:`raster.quality.landsat_clear_mask`, on the 30 m pixels.
    radsat
        Per output name, the bands whose QA_RADSAT saturation (or terrain occlusion) rejects
        a pixel (:func:`raster.quality.landsat_radsat_mask`): one more flag ``radsat_<name>``
        each, True where no 30 m pixel under the grid pixel is rejected. QA_RADSAT is read
        once for them all; ``None`` or empty reads it not.
    dilate_px
        Grow the QA_PIXEL cloud rejection by a disk of this radius in ``target`` pixels.
    temperature
        Also read ST_B10 (``lwir11``) and return its temperature over each pixel.
    valid_range
        ``(low, high)`` in K: a 30 m pixel holds a temperature when ``low < T <= high``
        (:func:`raster.thermal.surface_temperature_l2`'s range; the fill DN 0 is 149 K).
    chunk
        Chunk edge of the results, in ``target`` pixels.

    Returns
    -------
    xarray.Dataset
        Lazy boolean ``(time, y, x)`` ``clear`` (every 30 m pixel under it clear or water,
        not ``water`` when the preset rejects water, no dilated cloud) and ``water`` (the QA
        water bit over at least half of it), dates in :func:`raster.load.load_items`' order;
        ``radsat_<name>`` per entry of ``radsat``. With ``temperature``, float32 ``lwir11``
        in K: (mean of T⁴)^(1/4) over the 30 m pixels under the pixel, weighted by the area
        each covers; NaN where one of them holds no temperature in ``valid_range``. Where
        ``clear`` holds, they are all clear. When the preset rejects water, "the 30 m pixels"
        of ``lwir11`` and ``clear`` are the land ones (a water pixel under it, clear or not,
        counts for neither; ``lwir11`` is NaN where there is no land).
    """
    spec = qa_pixel_preset(preset)
    water_kept = replace(spec, keep_water=True)
    land_only = temperature and not spec.keep_water  # water left out of the LST and its mask
    outputs = {name: tuple(bands) for name, bands in (radsat or {}).items()}
    bands = ["qa_pixel"] + ["st_qa"] * (st_qa_max_k is not None)
    bands += ["st_cdist"] * (cdist_min_km is not None) + ["qa_radsat"] * bool(outputs)
    bands += ["lwir11"] * temperature
    low, high = valid_range

    def flag(native: xr.Dataset) -> xr.Dataset:
        kept = landsat_clear_mask(native, preset=water_kept, st_qa_max_k=st_qa_max_k,
                                  cdist_min_km=cdist_min_km)  # fmt: skip
        cloudy = lift(qa_pixel_cloudy, native["qa_pixel"], dtype=bool, kwargs={"spec": spec})
        water = landsat_water_mask(native)
        out = xr.Dataset({
            "clear": (kept | water) if land_only else kept, "cloud": cloudy, "water": water,
            **{f"radsat_{name}": landsat_radsat_mask(native, used)
               for name, used in outputs.items()},
        })  # fmt: skip
        if temperature:
            kelvin = native["lwir11"]
            has_st = (kelvin > low) & (kelvin <= high)
            out["has_st"] = (has_st | water) if land_only else has_st
            if land_only:
                has_st = has_st & ~water
                out["land"] = ~water
            out["t4"] = lift(_fourth_power, kelvin, has_st, dtype=np.float32)
        return out

    shares = native_flag_shares(items, bands, target, flag, chunk)
    flags = _clear_and_water(
        shares, water_kept=spec.keep_water, dilate_px=dilate_px,
        comment=f"{spec.describe()}, over every 30 m pixel under the grid pixel",
        water="QA_PIXEL water (bit 7)",
    )  # fmt: skip
    for name, used in outputs.items():
        saturated = f"any of {list(used)} saturated or " if used else ""
        flags[f"radsat_{name}"] = (shares[f"radsat_{name}"] >= FULL_SHARE).assign_attrs(
            long_name=f"not saturated nor terrain-occluded for {name} (True = keep)",
            comment=f"QA_RADSAT: {saturated}terrain occlusion under the grid pixel rejected",
        )
    if temperature:
        land = [shares["land"]] if land_only else []
        kelvin = lift(_fourth_root, shares["t4"], shares["has_st"], *land, dtype=np.float32)
        pixels = "land 30 m pixels (no QA water bit)" if land_only else "30 m pixels"
        flags["lwir11"] = kelvin.assign_attrs(
            units="K", long_name="surface temperature (ST_B10)",
            comment="land surface (skin) temperature, not air temperature; over the grid "
            f"pixel: (mean of T⁴)^(1/4) over the {pixels} under it, weighted by the area "
            "each covers (radiance by the Stefan–Boltzmann proxy, not the mean of T)",
        )  # fmt: skip
    return flags


def temperature_means(
    kelvin: xr.DataArray, target: GeoBox, chunk: int | None = None
) -> xr.DataArray:
    """Average a temperature onto ``target`` as radiance, NaN unless all of a pixel has one.

    (area-weighted mean of T⁴)^(1/4) of the source pixels under it (science.md pitfall 13),
    with the weights of :func:`footprint_means`; a target pixel with a NaN source pixel
    under it (masked, cloudy) gets none, where a plain ``average`` warp would give it the
    value of its valid part.

    Parameters
    ----------
    kelvin
        ``(..., y, x)`` temperatures (K) on a georeferenced grid, NaN where there is none.
    target
        The grid to take the means on.
    chunk
        Output chunk edge for Dask input (default: the input's chunks).

    Returns
    -------
    xarray.DataArray
        float32 temperatures (K), without the input's attributes. Lazy on Dask input.
    """
    valid = np.isfinite(kelvin)
    parts = xr.Dataset({
        "t4": lift(_fourth_power, kelvin, valid, dtype=np.float32),
        "valid": valid.astype(np.float32),
    })  # fmt: skip
    means = footprint_means(parts, target, chunk)
    return lift(_fourth_root, means["t4"], means["valid"], dtype=np.float32)


def _fourth_power(kelvin: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """T⁴ (K⁴, float64) where ``valid``, 0 elsewhere (finite, for :func:`footprint_means`)."""
    return np.where(valid, np.asarray(kelvin, dtype=np.float64), 0.0) ** 4


def _fourth_root(
    mean_t4: np.ndarray, valid_share: np.ndarray, part_share: np.ndarray | float = 1.0
) -> np.ndarray:
    """(mean of T⁴)^(1/4) in K over a part of the pixel, where all of it held a temperature.

    ``mean_t4`` is the area mean of T⁴ over the whole pixel with 0 outside the part,
    ``part_share`` the share of the pixel's area the part covers (1: all of it, the mean as
    it is), ``valid_share`` the share that holds a temperature or lies outside the part
    (:data:`FULL_SHARE`: all). NaN where a pixel of the part holds none, or there is no part.
    """
    part = np.asarray(part_share)
    whole = (np.asarray(valid_share) >= FULL_SHARE) & (part > 0)  # NaN (no source): False
    t4 = np.where(whole, mean_t4, 0.0).astype(np.float64) / np.where(whole, part, 1.0)
    return np.where(whole, t4**0.25, np.nan)
