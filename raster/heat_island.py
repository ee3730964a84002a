"""Surface urban heat island: urban footprint, rural reference ring, per-scene ΔT and SUHII.

science.md §4.1. SUHII = mean LST over the urban footprint − mean LST over the rural
reference, on the same scene or composite. The rural reference here is a ring of pixels
``inner_m``–``outer_m`` (default 2–10 km) outside the urban footprint, without water and
built pixels and, when a DEM is given, within ``tolerance_m`` (±50 m) of the urban elevation
(Peng et al. 2012-like; a design choice, not a constant: report it, it is in the attributes
of every result as ``reference_definition`` and ``ring_inner_m``/``ring_outer_m``).

Per scene, before compositing (science.md §5), the anomaly ``ΔT = LST − μ_rural`` (K) and the
z-score against the reference (:func:`scene_zscore_against`) remove the day-to-day weather.

Workflow::

    urban = urban_footprint_from_zones(iris, lst)          # or ..._from_landcover(classes)
    ring = rural_ring(urban, inner_m=2000, outer_m=10000)
    ref_mask = rural_reference_mask(ring, water=classes == 1, built=classes == 4)
    ref = scene_reference(lst, ref_mask)                   # (time,)
    dt = lst_anomaly(lst, ref)                             # (time, y, x), K
    per_scene = suhii(lst, urban, ref_mask)                # SUHII per scene
    comp = temporal_composite(lst)                         # raster.composite
    composite = suhii(comp["median"], urban, ref_mask)     # SUHII of the composite

Everything is lazy on Dask except :func:`urban_footprint_from_zones`, which rasterises vectors
(no pixel is read). Warnings about empty references come when the values are computed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import odc.geo.xr  # registers the .odc accessor
import xarray as xr
from numpy.typing import ArrayLike
from odc.geo.geobox import GeoBox
from scipy import ndimage
from scipy.spatial import cKDTree

from raster.landcover import LandCover
from raster.thermal.scene import scene_zscore
from tiles.errors import CRSError, GridError, IlotsWarning

__all__ = [
    "RURAL_HINT",
    "URBAN_HINT",
    "clear_enough",
    "lst_anomaly",
    "rural_reference_mask",
    "rural_ring",
    "scene_reference",
    "scene_zscore_against",
    "suhii",
    "urban_footprint_from_landcover",
    "urban_footprint_from_zones",
    "warn_empty_mask",
]

_RING_ATTRS = ("ring_inner_m", "ring_outer_m")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _require_yx(da: Any, name: str) -> xr.DataArray:
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{name} must be an xarray DataArray, got {type(da).__name__}")
    if {"latitude", "longitude"} & set(da.dims):
        raise CRSError(
            f"{name} is on a geographic (latitude, longitude) grid; distances and ring widths "
            "are in metres: work on a projected (UTM) analysis grid"
        )
    if da.ndim != 2 or set(da.dims) != {"y", "x"}:
        raise ValueError(f"{name} must be a 2-D (y, x) DataArray, got dims {da.dims}")
    return da


def _aligned(reference: xr.DataArray, other: xr.DataArray, name: str) -> xr.DataArray:
    """``other`` on the grid of ``reference``, or a GridError (never a silent inner join)."""
    try:
        xr.align(reference, other, join="exact")
    except ValueError:
        raise GridError(
            f"{name} is not on the same y/x grid as the other inputs; resample it onto the "
            "analysis grid first"
        ) from None
    return other


def _resolution(da: xr.DataArray, resolution: float | tuple[float, float] | None) -> tuple:
    if resolution is not None:
        ry, rx = (resolution, resolution) if np.ndim(resolution) == 0 else resolution
    else:
        gbox = da.odc.geobox
        if gbox is None:
            raise ValueError(
                "cannot tell the pixel size from the coordinates; pass resolution= in metres"
            )
        if gbox.crs is not None and gbox.crs.geographic:
            raise CRSError(
                f"the grid CRS {gbox.crs} is geographic (degrees); ring widths are in metres: "
                "work on a projected (UTM) analysis grid"
            )
        ry, rx = gbox.resolution.y, gbox.resolution.x
    ry, rx = abs(float(ry)), abs(float(rx))
    if not (math.isfinite(ry) and math.isfinite(rx) and ry > 0 and rx > 0):
        raise ValueError(f"resolution must be positive metres, got {(ry, rx)}")
    return ry, rx


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def _spatial_dims(da: xr.DataArray) -> list[str]:
    missing = [d for d in ("y", "x") if d not in da.dims]
    if missing:
        raise ValueError(f"the array needs y and x dimensions, got {da.dims}")
    return ["y", "x"]


def _definition(mask: xr.DataArray, what: str) -> str:
    return str(mask.attrs.get("reference_definition", mask.attrs.get("definition", what)))


def _ring_attrs(*sources: xr.DataArray) -> dict[str, Any]:
    for src in sources:
        if all(k in src.attrs for k in _RING_ATTRS):
            return {k: src.attrs[k] for k in _RING_ATTRS}
    return {}


# --------------------------------------------------------------------------------------------
# urban footprint
# --------------------------------------------------------------------------------------------


def _class_label(code: int) -> str:
    try:
        return LandCover(code).label
    except ValueError:
        return str(code)


def urban_footprint_from_landcover(
    classes: xr.DataArray, built_classes: Iterable[int] = (LandCover.BUILT,)
) -> xr.DataArray:
    """Urban footprint: the pixels of the built classes of a land-cover map (lazy).

    Parameters
    ----------
    classes
        Land-cover codes ``(y, x)`` (:mod:`raster.landcover`).
    built_classes
        Codes counted as urban; default ``(4,)`` (built/impervious).

    Returns
    -------
    xarray.DataArray
        Boolean ``(y, x)`` footprint named ``urban``, its definition in the attributes.
    """
    _require_yx(classes, "classes")
    codes = sorted({int(c) for c in built_classes})
    if not codes:
        raise ValueError("built_classes is empty; give the land-cover codes that are urban")
    names = [_class_label(c) for c in codes]
    return (
        classes.isin(codes)
        .rename("urban")
        .assign_attrs(
            long_name="urban footprint",
            definition=f"land-cover classes {codes} ({', '.join(names)})",
        )
    )


def urban_footprint_from_zones(
    zones: Any,
    template: xr.DataArray | GeoBox,
    *,
    all_touched: bool = False,
    crs: Any = None,
) -> xr.DataArray:
    """Urban footprint: the union of zone polygons (e.g. the IRIS of the unité urbaine), rasterised.

    A pixel is urban when its centre falls in a zone (``all_touched=False``, GDAL's rule) or
    when any zone touches it (``all_touched=True``). Zones in another CRS are reprojected to
    the grid's CRS (an explicit, documented reprojection of vectors, never of pixels).

    Parameters
    ----------
    zones
        A GeoDataFrame or GeoSeries with a CRS, or a sequence of shapely geometries together
        with ``crs``.
    template
        The analysis grid: a GeoBox, or a DataArray on it (its y/x coordinates, CRS and, if
        Dask-backed, its y/x chunks are reused).
    all_touched
        Rasterisation rule (see above).
    crs
        CRS of plain shapely geometries; must be the grid's CRS.

    Returns
    -------
    xarray.DataArray
        Boolean ``(y, x)`` footprint named ``urban`` (computed now: rasterising vectors reads
        no pixels).

    Raises
    ------
    CRSError
        If the grid or the zones have no CRS, or plain geometries are in another CRS.

    Warns
    -----
    IlotsWarning
        If no zone covers any pixel of the grid.
    """
    from rasterio.features import rasterize

    if isinstance(template, GeoBox):
        gbox = template
        coords = odc.geo.xr.xr_coords(gbox)
        chunks = None
    elif isinstance(template, xr.DataArray):
        gbox = template.odc.geobox
        coords = {d: template.coords[d] for d in ("y", "x")}
        if "spatial_ref" in template.coords:
            coords["spatial_ref"] = template.coords["spatial_ref"]
        chunks = (
            {d: template.chunksizes[d] for d in ("y", "x")} if template.chunks is not None else None
        )
    else:
        raise TypeError(f"template must be a GeoBox or a DataArray, got {type(template).__name__}")
    if gbox is None or gbox.crs is None:
        raise CRSError("the template grid has no CRS; set one (da.rio.write_crs) first")
    geoms = _zone_geometries(zones, gbox, crs)
    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    ny, nx = gbox.shape.yx
    if shapes:
        burned = rasterize(shapes, out_shape=(ny, nx), transform=gbox.affine, fill=0,
                           all_touched=all_touched, dtype="uint8")  # fmt: skip
    else:
        burned = np.zeros((ny, nx), dtype=np.uint8)
    mask = burned.astype(bool)
    if not mask.any():
        warnings.warn(
            "no zone covers a pixel of the grid: the urban footprint is empty; check that the "
            "zones and the grid cover the same area",
            IlotsWarning,
            stacklevel=2,
        )
    out = xr.DataArray(mask, dims=("y", "x"), coords=coords, name="urban").assign_attrs(
        long_name="urban footprint",
        definition=f"union of {len(shapes)} zone polygons, "
        f"{'all touched pixels' if all_touched else 'pixel centres inside'}",
    )
    return out.chunk(chunks) if chunks else out


def _zone_geometries(zones: Any, gbox: GeoBox, crs: Any) -> list[Any]:
    grid_crs = gbox.crs
    if hasattr(zones, "geometry") and hasattr(zones, "to_crs"):
        if zones.crs is None:
            raise CRSError("the zones have no CRS; set it (gdf.set_crs(...)) before rasterising")
        if not grid_crs == zones.crs:
            zones = zones.to_crs(grid_crs.to_wkt())
        return list(zones.geometry if hasattr(zones, "geometry") else zones)
    if crs is None:
        raise CRSError(
            "plain geometries carry no CRS; pass crs= (it must be the grid's) or a GeoDataFrame"
        )
    from odc.geo import CRS

    if not CRS(crs) == grid_crs:
        raise CRSError(
            f"the geometries are in {crs}, the grid in {grid_crs}; reproject them (or pass a "
            "GeoDataFrame, which is reprojected) first"
        )
    return list(zones)


# --------------------------------------------------------------------------------------------
# rural reference
# --------------------------------------------------------------------------------------------


#: Block edge (pixels) of the coarse distance transform that decides most ring pixels (1, 2,
#: 4 or 8: a block row's booleans are read as one unsigned integer).
_RING_COARSE = 4


def _ring_block(
    urban: np.ndarray, inner_m: float, outer_m: float, sampling: tuple, workers: int = 1
) -> np.ndarray:
    """Ring of one block: ``inner_m < distance to the nearest urban pixel <= outer_m``.

    Exact, coarse to fine: a distance transform on blocks of ``_RING_COARSE``² pixels (a
    block is urban when any of its pixels is) bounds every pixel's distance within ±2h,
    h the largest offset of a pixel centre from its block centre; that settles all pixels
    but those of the blocks within 2h of a ring limit, whose distance is computed exactly
    from their nearest urban pixel (a k-d tree of the footprint's edge pixels: the nearest
    urban pixel of an outside point always has a non-urban 4-neighbour) with the arithmetic
    of :func:`scipy.ndimage.distance_transform_edt`. ~1/16 of the full transform's work;
    the per-pixel steps touch only the undecided blocks and the footprint's bounding box.
    ``workers``: threads of the k-d tree's queries (-1: every core).
    """
    u = np.ascontiguousarray(urban, dtype=bool)  # row-major: block rows read as integers
    if not u.any():
        return np.zeros(u.shape, dtype=bool)
    f = _RING_COARSE
    ny, nx = u.shape
    if min(ny, nx) < 16 * f:
        dist = ndimage.distance_transform_edt(~u, sampling=sampling)
        return (dist > inner_m) & (dist <= outer_m)
    sy, sx = (float(v) for v in sampling)
    cy, cx = -(-ny // f), -(-nx // f)
    padded = u
    if (cy * f, cx * f) != u.shape:
        padded = np.zeros((cy * f, cx * f), dtype=bool)
        padded[:ny, :nx] = u
    # Any over the f rows of each block (contiguous), then over its f columns: f bools read
    # as one unsigned integer (f is 1, 2, 4 or 8).
    rows_any = np.logical_or.reduce(padded.reshape(cy, f, cx * f), axis=1)
    coarse = rows_any.view(f"u{f}") != 0
    blocks = ndimage.distance_transform_edt(~coarse, sampling=(f * sy, f * sx))
    slack = 2.0 * math.hypot((f - 1) / 2 * sy, (f - 1) / 2 * sx) * (1 + 1e-9) + 1e-9 * outer_m
    lo, hi = blocks - slack, blocks + slack
    inside = (lo > inner_m) & (hi <= outer_m)  # whole blocks in the ring (none urban)
    unsure = ~inside & (hi > inner_m) & (lo <= outer_m)
    ring = np.repeat(np.repeat(inside, f, 0), f, 1)[:ny, :nx]
    rows, cols = _pixels_of_blocks(np.nonzero(unsure), f, (ny, nx))
    outside = ~u[rows, cols]
    rows, cols = rows[outside], cols[outside]
    if rows.size:
        ey, ex = _edge_pixels(u)
        tree = cKDTree(np.column_stack([ey * sy, ex * sx]))
        _, nearest = tree.query(np.column_stack([rows * sy, cols * sx]), workers=workers)
        dy = (ey[nearest] - rows).astype(np.float64) * sy
        dx = (ex[nearest] - cols).astype(np.float64) * sx
        dist = np.sqrt(dy * dy + dx * dx)
        ring[rows, cols] = (dist > inner_m) & (dist <= outer_m)
    return ring


def _pixels_of_blocks(
    blocks: tuple[np.ndarray, np.ndarray], f: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of every pixel of the ``f``² blocks ``blocks`` inside ``shape``."""
    by, bx = blocks
    dy, dx = np.divmod(np.arange(f * f), f)
    rows, cols = (by[:, None] * f + dy).ravel(), (bx[:, None] * f + dx).ravel()
    inside = (rows < shape[0]) & (cols < shape[1])
    return rows[inside], cols[inside]


def _edge_pixels(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the urban pixels with a non-urban 4-neighbour.

    Outside the array counts as non-urban: ``np.nonzero(u & ~binary_erosion(u,
    border_value=0))``, worked out on the footprint's bounding box.
    """
    rows, cols = np.flatnonzero(u.any(axis=1)), np.flatnonzero(u.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    # A non-urban frame around the box: what lies beyond it is non-urban, inside the array
    # (the box bounds the footprint) or outside it (border_value=0).
    box = np.zeros((r1 - r0 + 2, c1 - c0 + 2), dtype=bool)
    box[1:-1, 1:-1] = u[r0:r1, c0:c1]
    core = box[1:-1, 1:-1]
    interior = core & box[:-2, 1:-1] & box[2:, 1:-1] & box[1:-1, :-2] & box[1:-1, 2:]
    ey, ex = np.nonzero(core & ~interior)
    return ey + r0, ex + c0


def rural_ring(
    urban: xr.DataArray,
    *,
    inner_m: float = 2000.0,
    outer_m: float = 10000.0,
    resolution: float | tuple[float, float] | None = None,
) -> xr.DataArray:
    """Rural ring around an urban footprint: pixels ``inner_m < d <= outer_m`` from it.

    ``d`` is the Euclidean distance in metres between pixel centres, from a pixel to the
    nearest urban pixel (:func:`scipy.ndimage.distance_transform_edt` with the pixel size as
    sampling; rectangular pixels are fine). Urban pixels have ``d = 0`` and are never in the
    ring; ``inner_m = 0`` gives the ring right outside the footprint. Pixels outside the array
    do not count as urban.

    Dask: lazy, with ``map_overlap`` and a halo of ``ceil(outer_m / pixel size)`` pixels per
    axis. This is exact, not an approximation: a pixel within ``outer_m`` of the footprint has
    its nearest urban pixel inside its chunk's halo, and a pixel farther away cannot be put in
    the ring by a truncated search (which only overestimates distances). The footprint is
    never gathered whole, so memory stays per chunk (chunk + 2 × halo, 16 bytes per pixel in
    the distance transform); with a halo wider than the chunks Dask enlarges them first.

    Parameters
    ----------
    urban
        Boolean (or 0/1) footprint ``(y, x)`` on a projected grid in metres.
    inner_m, outer_m
        Ring limits in metres; science.md §4.1 suggests 2–10 km (a design choice).
    resolution
        Pixel size in metres, ``r`` or ``(ry, rx)``; default from the grid coordinates.

    Returns
    -------
    xarray.DataArray
        Boolean ``(y, x)`` ring named ``rural_ring`` with ``ring_inner_m``, ``ring_outer_m``
        and the definition in its attributes.

    Raises
    ------
    ValueError
        If ``not 0 <= inner_m < outer_m`` or the pixel size is unknown.
    CRSError
        If the grid CRS is geographic.
    """
    _require_yx(urban, "urban")
    inner_m, outer_m = float(inner_m), float(outer_m)
    if not (math.isfinite(outer_m) and 0.0 <= inner_m < outer_m):
        raise ValueError(f"need 0 <= inner_m < outer_m (metres), got {inner_m} and {outer_m}")
    urban = urban.transpose("y", "x")
    ry, rx = _resolution(urban, resolution)
    kwargs = {"inner_m": inner_m, "outer_m": outer_m, "sampling": (ry, rx)}
    data = urban.data
    if _is_dask(data):
        depth = {0: math.ceil(outer_m / ry), 1: math.ceil(outer_m / rx)}
        ring = data.astype(bool).map_overlap(_ring_block, depth=depth, boundary="none",
                                             dtype=bool, **kwargs)  # fmt: skip
        if ring.chunks != data.chunks:
            ring = ring.rechunk(data.chunks)
    else:  # computed now, while the graph is built: on every core
        ring = _ring_block(np.asarray(data), workers=-1, **kwargs)
    definition = (
        f"rural ring {inner_m:g}-{outer_m:g} m from the urban footprint "
        f"({urban.attrs.get('definition', 'as given')})"
    )
    return xr.DataArray(ring, dims=urban.dims, coords=urban.coords, name="rural_ring").assign_attrs(
        long_name="rural reference ring",
        ring_inner_m=inner_m,
        ring_outer_m=outer_m,
        definition=definition,
        distance="Euclidean, pixel centre to nearest urban pixel centre; inner < d <= outer",
    )


def rural_reference_mask(
    ring: xr.DataArray,
    *,
    water: xr.DataArray | None = None,
    built: xr.DataArray | None = None,
    elevation: xr.DataArray | None = None,
    urban_elevation: float | xr.DataArray | None = None,
    tolerance_m: float = 50.0,
    water_source: str | None = None,
    built_source: str | None = None,
) -> xr.DataArray:
    """Rural reference pixels: the ring without water and built pixels, near the urban elevation.

    Parameters
    ----------
    ring
        Ring from :func:`rural_ring`.
    water, built
        Boolean masks (True = water / built) on the same grid, e.g. ``classes == 1`` and
        ``classes == 4``; NaN in a float mask counts as True (excluded, conservatively).
    elevation
        DEM (m) on the same grid; pixels with NaN elevation are excluded.
    urban_elevation
        Reference elevation of the city (m), e.g. the median DEM over the urban footprint
        (science.md §4.1; Peng et al. 2012 use the mean); required with ``elevation``.
    tolerance_m
        Keep pixels with ``|elevation − urban_elevation| <= tolerance_m``; default 50 m **[U]**.
    water_source
        What flags the ``water`` pixels (e.g. ``"QA_PIXEL water bit on any date"``), said in
        the reference definition; default: nothing said.
    built_source
        What the ``built`` pixels are when not the built class alone (e.g. built and bare
        soil, which a land cover without NDBI cannot separate), said likewise.

    Returns
    -------
    xarray.DataArray
        Boolean ``(y, x)`` mask named ``rural_reference``; ``reference_definition`` and the
        ring widths in its attributes.

    Raises
    ------
    GridError
        If a mask or the DEM is not on the ring's grid.
    ValueError
        If ``elevation`` is given without ``urban_elevation`` or the tolerance is negative.
    """
    _require_yx(ring, "ring")
    mask = ring.astype(bool)
    parts = [str(ring.attrs.get("definition", "rural ring"))]
    for name, layer in (("water", water), ("built", built)):
        if layer is not None:
            _aligned(ring, _require_yx(layer, name), name)
            mask = mask & ~layer.astype(bool)
            source = {"water": water_source, "built": built_source}[name]
            parts.append(f"{name} pixels excluded" + (f" ({source})" if source else ""))
    if elevation is not None:
        _aligned(ring, _require_yx(elevation, "elevation"), "elevation")
        if urban_elevation is None:
            raise ValueError(
                "elevation needs urban_elevation= (e.g. the median DEM over the urban footprint)"
            )
        if not (math.isfinite(float(tolerance_m)) and float(tolerance_m) >= 0):
            raise ValueError(f"tolerance_m must be >= 0 metres, got {tolerance_m}")
        near = abs(elevation - urban_elevation) <= float(tolerance_m)
        mask = mask & near
        shown = (
            f"{float(urban_elevation):g} m"
            if not isinstance(urban_elevation, xr.DataArray) or urban_elevation.chunks is None
            else "the urban elevation"
        )
        parts.append(f"elevation within ±{float(tolerance_m):g} m of {shown}")
    return mask.rename("rural_reference").assign_attrs(
        long_name="rural reference pixels",
        reference_definition="; ".join(parts),
        **_ring_attrs(ring),
    )


def warn_empty_mask(what: str, hint: str, *, stacklevel: int = 2) -> None:
    """Warn that the ``what`` mask (e.g. ``"rural reference"``) has no pixel (``empty_mask``).

    Its mean is then NaN; ``hint`` says how to give it pixels (:data:`RURAL_HINT`,
    :data:`URBAN_HINT`). ``stacklevel`` is that of :func:`warnings.warn` from the caller.
    """
    warnings.warn(
        IlotsWarning(f"the {what} mask is empty, so its mean is NaN; {hint}", code="empty_mask"),
        stacklevel=stacklevel + 1,
    )


def _checked_mean(
    total: np.ndarray,
    count: np.ndarray,
    n_mask: np.ndarray,
    *,
    what: str,
    hint: str,
    min_pixels: int,
    min_frac: float = 0.0,
    outcome: str = "their mean is NaN (and so their ΔT / SUHII)",
    settings: tuple[str, str] | None = None,
) -> np.ndarray:
    """Mean from sum and count; warn when data are lacking.

    NaN where ``count`` is below ``min_pixels`` or below ``min_frac`` of the mask's
    ``n_mask`` pixels (the clear share ``count / n_mask``); ``outcome`` ends the warning
    (what the scenes lacking them lose). ``settings``: the names of the settings of
    ``min_frac`` and ``min_pixels`` (a config's keys), which the warning gives.
    """
    total = np.asarray(total, dtype=np.float64)
    count = np.asarray(count)
    n = int(np.asarray(n_mask))
    enough = clear_enough(count, n, min_pixels, min_frac)
    mean = np.where(enough, total / np.maximum(count, 1), np.nan)
    if n == 0:
        warn_empty_mask(what, hint)
    elif not enough.all():
        k = int((~enough).sum())
        warnings.warn(
            IlotsWarning(
                f"{k} of {enough.size} scene(s) have "
                f"{_too_few(min_pixels, min_frac, n, what, settings)}: "
                f"{outcome}",
                code="no_clear_pixels",
            ),
            stacklevel=2,
        )
    return mean


def clear_enough(
    count: ArrayLike, n_mask: int, min_pixels: int, min_frac: float = 0.0
) -> np.ndarray:
    """Whether a mean over ``count`` clear pixels of a mask of ``n_mask`` pixels stands.

    At least ``min_pixels`` (and one) clear pixels, and at least ``min_frac`` of the mask:
    the rule of a SUHII's urban and rural means, per scene and for the composite. The share
    ``count / n_mask`` is compared, not ``count`` with ``min_frac * n_mask`` (3 of 30 is 0.1
    exactly, 0.1 * 30 is not 3). A mask without pixels: never.
    """
    count = np.asarray(count)
    share = count / n_mask if n_mask else np.zeros(count.shape)
    return (count >= max(min_pixels, 1)) & (share >= min_frac)


def _too_few(
    min_pixels: int,
    min_frac: float,
    n_mask: int,
    what: str,
    settings: tuple[str, str] | None = None,
) -> str:
    """Say what a scene lacks in the ``what`` mask of ``n_mask`` pixels (a warning's words).

    ``settings``: the names of the settings of ``min_frac`` and ``min_pixels``, given after
    the limits they set.
    """
    said = minimum_words(min_pixels, min_frac, f"of its {n_mask} grid pixels", settings)
    return (
        f"too few clear pixels in the {what} ({said})" if said else f"no clear pixel in the {what}"
    )


def minimum_words(
    min_pixels: int, min_frac: float, of: str = "of it", settings: tuple[str, str] | None = None
) -> str:
    """Say the SUHII minimums that are set (:func:`clear_enough`'s), for a warning.

    ``"under 10% of it, or fewer than 9 grid pixels; <settings>"``: the share (``of`` says of
    what), then the count, each only when it limits anything, then the names of the settings
    of ``min_frac`` and ``min_pixels`` that are set. Empty when neither is.
    """
    frac, pixels = min_frac > 0, min_pixels > 1
    limits = [f"under {min_frac * 100:.4g}% {of}"] if frac else []
    limits += [f"fewer than {min_pixels} grid pixels"] if pixels else []
    named = [name for name, on in zip(settings or (), (frac, pixels), strict=False) if on]
    return ", or ".join(limits) + (f"; {', '.join(named)}" if named and limits else "")


def _masked_mean(
    lst: xr.DataArray,
    mask: xr.DataArray,
    *,
    what: str,
    hint: str,
    min_pixels: int = 1,
    min_frac: float = 0.0,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Per-scene mean of ``lst`` over ``mask`` and its pixel count; lazy, warns at compute."""
    dims = _spatial_dims(lst)
    _aligned(lst, _require_yx(mask, what), what)
    values = lst.where(mask.astype(bool))
    total = values.sum(dims, skipna=True, dtype=np.float64)  # float64 sums, no float64 copy
    count = values.count(dims)
    n_mask = mask.astype(bool).sum()
    if total.chunks is not None:  # the data only: chunked coordinates (product_id along
        # time) would be computed by every alignment with the LST, while a graph is built
        total = total.copy(data=total.data.rechunk(-1))
        count = count.copy(data=count.data.rechunk(-1))
    mean = xr.apply_ufunc(
        _checked_mean,
        total,
        count,
        n_mask,
        kwargs={"what": what, "hint": hint, "min_pixels": min_pixels, "min_frac": min_frac},
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    return mean, count


def _check_minimums(min_pixels: Any, min_frac: Any) -> None:
    """Refuse a ``min_pixels`` that is no integer >= 1 or a ``min_frac`` outside 0..1."""
    if (
        isinstance(min_pixels, bool)
        or not isinstance(min_pixels, int | np.integer)
        or min_pixels < 1
    ):
        raise ValueError(f"min_pixels must be an integer >= 1, got {min_pixels!r}")
    if isinstance(min_frac, bool) or not 0.0 <= float(min_frac) <= 1.0:
        raise ValueError(f"min_frac must be a share from 0 to 1, got {min_frac!r}")


#: What to do when the rural reference or the urban footprint holds no clear pixel.
RURAL_HINT = "widen the ring (outer_m) or relax the water, built or elevation filters"
URBAN_HINT = "check the zones or built classes"


def scene_reference(
    lst: xr.DataArray,
    reference_mask: xr.DataArray,
    *,
    min_pixels: int = 1,
    min_frac: float = 0.0,
) -> xr.DataArray:
    """Rural reference temperature of each scene: mean LST over the clear reference pixels.

    Parameters
    ----------
    lst
        LST ``(time, y, x)`` (or any dims with y and x), NaN where not clear.
    reference_mask
        Rural reference pixels ``(y, x)`` (:func:`rural_reference_mask`).
    min_pixels
        A scene with fewer clear reference pixels gets a NaN reference; default 1.
    min_frac
        A scene whose clear reference pixels are a smaller share of the mask's pixels gets a
        NaN reference too (a few pixels left clear between clouds are no rural reference);
        default 0 (no share asked).

    Returns
    -------
    xarray.DataArray
        Float64 reference per scene (dims of ``lst`` without y/x), named ``rural_reference``,
        with the clear pixel count as coordinate ``n_reference_pixels``; lazy on Dask.

    Warns
    -----
    IlotsWarning
        If the mask is empty, or some scenes have too few clear reference pixels (their
        reference is NaN). On Dask, when computed.
    """
    _check_minimums(min_pixels, min_frac)
    mean, count = _masked_mean(lst, reference_mask, what="rural reference", hint=RURAL_HINT,
                               min_pixels=int(min_pixels), min_frac=float(min_frac))  # fmt: skip
    return (
        mean.rename("rural_reference")
        .assign_coords(n_reference_pixels=count)
        .assign_attrs(
            long_name="mean LST over the rural reference pixels",
            units=lst.attrs.get("units", "K"),
            reference_definition=_definition(reference_mask, "rural reference mask"),
            min_pixels=int(min_pixels),
            min_frac=float(min_frac),
            **_ring_attrs(reference_mask),
        )
    )


def lst_anomaly(lst: xr.DataArray, reference: xr.DataArray) -> xr.DataArray:
    """Per-scene LST anomaly ``ΔT = LST − μ_rural`` (K), before compositing (science.md §4.1).

    Parameters
    ----------
    lst
        LST ``(time, y, x)``.
    reference
        Per-scene reference (:func:`scene_reference`), dims a subset of those of ``lst``.

    Returns
    -------
    xarray.DataArray
        ``float32`` ΔT named ``lst_anomaly``, units K; NaN where LST or the reference is NaN.

    Raises
    ------
    ValueError
        If the reference has dims ``lst`` lacks, or the units differ.
    """
    extra = [d for d in reference.dims if d not in lst.dims]
    if extra:
        raise ValueError(f"the reference has dims {extra} that the LST lacks; pass a "
                         "per-scene reference from scene_reference")  # fmt: skip
    units, ref_units = lst.attrs.get("units"), reference.attrs.get("units")
    if units is not None and ref_units is not None and units != ref_units:
        raise ValueError(f"LST is in {units!r} but the reference in {ref_units!r}; convert one")
    reference = reference.drop_vars("n_reference_pixels", errors="ignore")
    out = (lst.astype(np.float64) - reference).astype(np.float32).rename("lst_anomaly")
    out.attrs = {  # its own, not the LST's: a ΔT is no CF surface_temperature
        "long_name": "LST anomaly against the scene's rural reference (delta T)",
        "units": "K",
        "formula": "LST - mean LST over the rural reference pixels of the same scene",
        "reference_definition": reference.attrs.get("reference_definition", "rural reference"),
        **_ring_attrs(reference),
    }
    return out


def scene_zscore_against(
    lst: xr.DataArray, reference_mask: xr.DataArray, *, ddof: int = 0
) -> xr.DataArray:
    """Per-scene z-score against the reference pixels: ``(LST − μ_ref) / σ_ref``.

    :func:`raster.thermal.scene_zscore` with ``reference=reference_mask`` (science.md §4.1,
    ddof 0 by default); lazy on Dask.

    Parameters
    ----------
    lst
        LST ``(time, y, x)``.
    reference_mask
        Reference pixels ``(y, x)`` (rural ring or city).
    ddof
        Delta degrees of freedom of σ.

    Returns
    -------
    xarray.DataArray
        ``float32`` z-scores; NaN where σ is 0 or undefined (e.g. no reference pixel).
    """
    _aligned(lst, _require_yx(reference_mask, "reference_mask"), "reference_mask")
    z = scene_zscore(lst, reference=reference_mask.astype(bool), ddof=ddof)
    return z.assign_attrs(
        reference_definition=_definition(reference_mask, "reference mask"),
        **_ring_attrs(reference_mask),
    )


def suhii(
    lst: xr.DataArray,
    urban: xr.DataArray,
    reference_mask: xr.DataArray,
    *,
    min_pixels: int = 1,
    min_frac: float = 0.0,
) -> xr.Dataset:
    """Surface urban heat island intensity: urban mean − rural reference mean (K).

    Works on a scene series ``(time, y, x)`` (one SUHII per scene) and on a composite
    ``(y, x)`` (one value), e.g. ``suhii(temporal_composite(lst)["median"], ...)``; on ΔT it
    gives the same number as on LST for each scene (the reference cancels).

    Parameters
    ----------
    lst
        LST (or ΔT) with y and x dims, NaN where not clear.
    urban
        Urban footprint ``(y, x)``.
    reference_mask
        Rural reference pixels ``(y, x)``.
    min_pixels
        An urban (or rural) mean, of a scene or of a composite, over fewer clear pixels of
        the footprint (or of the reference) is NaN, and so is its SUHII; in pixels of the
        grid of ``lst`` (a run's ``heat_island.min_reference_pixels`` counts 30 m Landsat
        pixels: :meth:`pipelines.config.models.HeatIslandConfig.min_reference_grid_pixels`
        converts); default 1.
    min_frac
        Likewise under this share of the mask's pixels (:func:`clear_enough`: a few pixels
        left clear between clouds are no mean of the city); default 0 (no share asked).

    Returns
    -------
    xarray.Dataset
        ``suhii``, ``urban_mean``, ``rural_mean`` (float64) and the clear pixel counts
        ``n_urban``, ``n_rural`` (kept where a mean is NaN), over the non-spatial dims of
        ``lst``; attributes give the urban and reference definitions, the ring widths
        (report them with the SUHII) and ``min_pixels``, ``min_frac``.

    Raises
    ------
    ValueError
        If ``min_pixels`` is not an integer >= 1 or ``min_frac`` not a share from 0 to 1.

    Warns
    -----
    IlotsWarning
        If the urban or reference mask is empty, or a scene has too few clear pixels in one
        (on Dask, when computed).
    """
    _check_minimums(min_pixels, min_frac)
    _aligned(lst, _require_yx(urban, "urban"), "urban")
    limits = {"min_pixels": int(min_pixels), "min_frac": float(min_frac)}
    urban_mean, n_urban = _masked_mean(lst, urban, what="urban footprint", hint=URBAN_HINT,
                                       **limits)  # fmt: skip
    rural_mean, n_rural = _masked_mean(lst, reference_mask, what="rural reference",
                                       hint=RURAL_HINT, **limits)  # fmt: skip
    units = lst.attrs.get("units", "K")
    ds = xr.Dataset(
        {
            "suhii": (urban_mean - rural_mean).assign_attrs(
                long_name="surface urban heat island intensity", units=units
            ),
            "urban_mean": urban_mean.assign_attrs(
                long_name="mean over the urban footprint", units=units
            ),
            "rural_mean": rural_mean.assign_attrs(
                long_name="mean over the rural reference", units=units
            ),
            "n_urban": n_urban.assign_attrs(long_name="clear urban pixels", units="1"),
            "n_rural": n_rural.assign_attrs(long_name="clear rural reference pixels", units="1"),
        }
    )
    return ds.assign_attrs(
        formula="mean over urban footprint - mean over rural reference",
        urban_definition=_definition(urban, "urban footprint"),
        reference_definition=_definition(reference_mask, "rural reference mask"),
        **limits,
        **_ring_attrs(reference_mask),
    )
