"""The lazy per-pixel graph of ``ilots run``, built from metadata only (reads no pixel).

Area of interest and zone layers -> analysis grid -> items -> Landsat LST per scene (masked)
-> index composites (Sentinel-2, or Landsat surface reflectance: ``composite.indices_from``)
-> land cover (rules, or an external map) -> urban footprint, rural ring and reference mask
(:mod:`pipelines.run_layers`). :func:`scene_graph` returns them all; :mod:`pipelines.run`
computes them in processing tiles.

Land cover falls back to what the inputs hold: without green and swir16 bands (Sentinel-2
products downloaded with only red, nir and scl; Landsat products with SR_B4 and SR_B5 only),
MNDWI is replaced by the SCL water class (or the Landsat QA water bit) and NDBI is
unavailable, so non-vegetated pixels are all called built (class 4): bare soil is not
separated. The manifest records this as a warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from odc.geo.geom import Geometry

from pipelines import run_layers
from pipelines.config import (
    RunConfig,
    Searches,
    area_of_interest,
    check_coverage,
    check_extent_coverage,
    grid_crs,
    resolve_inputs,
)
from pipelines.config.aoi import AreaOfInterest, polygon_union, read_zone_layer
from raster.acquisitions import acquisition_groups, fuse_acquisitions, repeated_products
from raster.bands import band_table
from raster.composite import temporal_composite
from raster.footprint import landsat_footprint_flags, on_coords_of, sentinel2_footprint_flags
from raster.heat_island import rural_ring, scene_reference, urban_footprint_from_zones
from raster.index_composite import FLOORED, index_median_composite
from raster.indices import INDICES, compute_indices
from raster.landcover import (
    BARE_SOIL_ATTR,
    LandCover,
    LandcoverThresholds,
    classify_landcover,
    clean_minimum_mapping_unit,
)
from raster.load import load_items, load_stored, native_window
from raster.nearest import NativeGather, gather_nearest
from raster.quality import (
    landsat_clear_mask,
    landsat_mask_steps,
    landsat_radsat_mask,
    landsat_water_mask,
    sentinel2_clear_mask,
    sentinel2_water_mask,
)
from raster.quality.qa_pixel import QAPixelMask, qa_pixel_preset
from raster.sources.assets import item_time
from raster.sources.sentinel2_scaling import DATATAKE_PROPERTY
from raster.thermal import surface_temperature_l2
from tiles.errors import ConfigError, IlotsWarning, WarningText
from tiles.grid import (
    LANDSAT_PIXEL_M,
    aligned_chunks,
    analysis_geobox,
    grid_anchor,
    is_utm,
    sensor_pixel_edges,
)

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = [
    "LandsatSeries",
    "SceneGraph",
    "analysis_grid",
    "derive_layers",
    "floored_note",
    "grid_resampling",
    "index_source",
    "landsat_indices",
    "landsat_lst",
    "lst_mask_steps",
    "rule_classes",
    "scene_graph",
    "sentinel2_indices",
    "sentinel2_left_out",
    "zones_and_area",
    "zones_in_area",
]


@dataclass
class SceneGraph:
    """Everything a run computes from, lazy (Dask) where it is pixels.

    Attributes
    ----------
    area
        The area of interest (:func:`pipelines.config.area_of_interest`).
    iris, qpv, qpv_of_iris
        The zone layers as read (QPV may be None), and every QPV overlapping the IRIS
        (:class:`AreaZones`).
    geobox
        The analysis grid.
    inputs
        The resolved items (Landsat and Sentinel-2).
    lst
        Masked LST per scene ``(time, y, x)`` in K.
    idx
        Sentinel-2 index composites (``ndvi``, ``mndwi``, ``ndbi``, ``albedo``), or None.
    classes, landcover
        Land-cover classes ``(y, x)`` per pixel, and after the minimum mapping unit
        (:func:`derive_layers`); None without Sentinel-2 nor external map.
    zone_union, urban, ring, reference_mask
        The union of the IRIS, the urban footprint, the rural ring and reference pixels.
    template
        The lazy per-scene rural reference (for its dims, coords and attributes).
    landsat
        The Landsat series, with the LST on the Landsat pixels when the grid is finer.
    notes
        Warnings about what the inputs lack.
    read
        The files (hrefs) the run reads pixels or metadata from: each used product's
        metadata file (MTL, item JSON) and the assets of the bands it loads
        (:func:`files_read`).
    """

    area: Any
    iris: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame | None
    qpv_of_iris: gpd.GeoDataFrame | None
    geobox: Any
    inputs: Any
    lst: xr.DataArray
    idx: xr.Dataset | None
    classes: xr.DataArray | None
    landcover: xr.DataArray | None
    zone_union: xr.DataArray
    urban: xr.DataArray
    ring: xr.DataArray
    reference_mask: xr.DataArray
    template: xr.DataArray
    landsat: LandsatSeries | None = None
    notes: list[str] = field(default_factory=list)
    read: tuple[str, ...] = ()


def scene_graph(config: RunConfig, timer: Any = None, *, source: str = "config") -> SceneGraph:
    """Build the lazy graph of a run from its config; read no pixel.

    Parameters
    ----------
    config
        A validated run config.
    timer
        Optional context-manager factory ``timer(stage)`` that times each stage.
    source
        How messages about the inputs name the config (its file).
    """
    timer = timer or _no_timer
    notes: list[str] = []
    with timer("aoi"):
        # A national file taken whole is refused from its extent, not after minutes of reading.
        searches = Searches()  # a catalogue's or API's searched once
        check_extent_coverage(config, source=source, searches=searches)
        area, iris, qpv, qpv_of_iris = zones_and_area(config, source=source)
    with timer("items"):
        inputs = resolve_inputs(config, area=area, source=source, searches=searches)
        check_coverage(config, area, inputs.landsat, source=source)
    with timer("grid"):
        geobox = analysis_grid(config, area)
    with timer("landsat"):
        landsat = landsat_lst(config, inputs.landsat, geobox)
        lst, qa_water = landsat.lst, landsat.water
    read = [(inputs.landsat, landsat.bands)]
    with timer("reference"):
        zone_union = urban_footprint_from_zones(iris, geobox)
        hi = config.heat_island
        ring = rural_ring(
            zone_union, inner_m=hi.ring_inner_km * 1000, outer_m=hi.ring_outer_km * 1000
        )
    indices = IndexComposites(None)
    if index_source(config, inputs) == "sentinel2":
        with timer("sentinel2"):
            indices = sentinel2_indices(config, inputs.sentinel2, geobox)
            notes += indices.notes
    if indices.data is None:  # no Sentinel-2, or none usable: Landsat's reflectance
        with timer("landsat_indices"):
            indices = landsat_indices(config, inputs.landsat, geobox)
            notes += indices.notes
    idx = indices.data
    read.append((indices.items, indices.bands))
    with timer("landcover"):
        if config.landcover.external is not None:
            classes = run_layers.external_landcover(config, lst.isel(time=0, drop=True))
        else:
            classes = rule_classes(config, idx, qa_water) if idx is not None else None
        notes += [note] if (note := run_layers.exclusion_note(config, classes is not None)) else []
    with timer("anomaly"):
        landcover, urban, reference_mask = derive_layers(
            config, zone_union, ring, classes, qa_water if classes is None else None
        )
        # Lazy, for its dims, coords and attributes; its values come from the tile sums.
        template = scene_reference(
            lst, reference_mask, min_pixels=hi.min_reference_grid_pixels(config.grid.resolution),
            min_frac=hi.min_reference_frac,
        )  # fmt: skip
    return SceneGraph(
        area=area,
        iris=iris,
        qpv=qpv,
        qpv_of_iris=qpv_of_iris,
        geobox=geobox,
        inputs=inputs,
        lst=lst,
        idx=idx,
        classes=classes,
        landcover=landcover,
        zone_union=zone_union,
        urban=urban,
        ring=ring,
        reference_mask=reference_mask,
        template=template,
        landsat=landsat,
        notes=notes,
        read=files_read(read),
    )


def files_read(reads: list[tuple[Any, Any]]) -> tuple[str, ...]:
    """Return the hrefs a run reads of ``(items, bands)``: metadata files, then bands.

    Each item's metadata file (the one its reader parsed, ``ilots:metadata``: the MTL, the
    item JSON) comes before its bands; a band an item lacks is skipped; each href once.
    """
    hrefs: dict[str, None] = {}
    for items, bands in reads:
        for item in items:
            metadata = item.properties.get("ilots:metadata")
            if metadata:
                hrefs[str(metadata)] = None
            for band in bands:
                if band in item.assets:
                    asset = item.assets[band]
                    hrefs[asset.get_absolute_href() or asset.href] = None
    return tuple(hrefs)


def _no_timer(stage: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


#: Pixel size (m) of the Sentinel-2 L2A bands the run reads (others, incl. SCL: 20 m).
SENTINEL2_NATIVE_M = {"blue": 10.0, "green": 10.0, "red": 10.0, "nir": 10.0}


def grid_resampling(config: RunConfig, native_m: float) -> str:
    """Resampling of a continuous band of ``native_m`` metres onto the run's grid.

    ``grid.resampling`` when set; for ``auto``, ``nearest`` when the grid is as fine as the
    band or finer (upsampling invents no detail and, on aligned grids, keeps zonal statistics
    equal to the band's own), ``average`` when it is coarser (every source pixel counts).
    """
    method = config.grid.resampling
    if method != "auto":
        return method
    return "average" if _coarser(config, native_m) else "nearest"


def _coarser(config: RunConfig, native_m: float) -> bool:
    """Whether the run's grid pixels are larger than a band's ``native_m`` metres."""
    return config.grid.resolution > native_m * 1.001


def _continuous(
    config: RunConfig, items: Any, bands: list[str], native_m: Callable[[str], float]
) -> dict[str, str]:
    """Resampling per continuous band (QA and class bands are left to load_items: nearest)."""
    if not items:
        return {}
    table = band_table(items[0].properties.get("ilots:product_type", ""))
    return {
        band: grid_resampling(config, native_m(band))
        for band in bands
        if band in table and not table[band].is_categorical
    }


def analysis_grid(config: RunConfig, area: Any) -> Any:
    """Build the run's analysis grid: the area grown by the outer rural ring, in the grid CRS.

    Warns when ``grid.resampling`` is bilinear or cubic (:func:`_kernel_reach_note`), and
    when a UTM grid's pixel edges fall on neither sensor's (:func:`_off_pixels_note`).
    """
    note = _kernel_reach_note(config)
    if note is not None:
        warnings.warn(note, IlotsWarning, stacklevel=2)
    crs = grid_crs(config, area)
    kept = sensor_pixel_edges(config.grid.resolution)
    read = ("landsat", "sentinel2") if config.inputs.sentinel2 else ("landsat",)
    if is_utm(crs.to_epsg()) and not set(kept) & set(read):
        warnings.warn(
            IlotsWarning(
                _off_pixels_note(config.grid.resolution, kept), code="grid_off_sensor_pixels"
            ),
            stacklevel=2,
        )
    grown = area.buffered(config.heat_island.ring_outer_km * 1000.0).to_crs(crs)
    resolution = config.grid.resolution
    anchor = grid_anchor(resolution, crs)
    return analysis_geobox(Geometry(grown.geometry, crs=crs), resolution, crs, anchor=anchor)


def _off_pixels_note(resolution: float, kept: tuple[str, ...] = ()) -> str:
    """Say what a grid whose pixel edges fall on no read sensor's costs, and the sizes that fit.

    :func:`tiles.grid.sensor_pixel_edges` gives the sizes whose edges fall on Landsat's
    (15 m + k·30 m) or Sentinel-2's (k·10 m and k·20 m) in UTM; ``kept`` are those of this
    size, when they are only of a sensor the run does not read (Sentinel-2's, without
    ``inputs.sentinel2``).
    """
    if kept:
        where = (
            "on Sentinel-2's pixels, but the run reads no Sentinel-2 (inputs.sentinel2 is "
            "empty) and they are not Landsat's (30 m or a multiple, 15 m)"
        )
        sizes = "30 or 15 m, or add Sentinel-2 products (inputs.sentinel2),"
    else:
        where = (
            "on neither Landsat's pixels (30 m or a multiple, 15 m) nor Sentinel-2's (10 m, "
            "20 m or a multiple of 20 m)"
        )
        sizes = "30 m (Landsat) or 10 or 20 m (Sentinel-2)"
    return (
        f"grid.resolution: {resolution:g} m puts the pixel edges {where}: every "
        "band is resampled across its pixels' edges, each grid pixel mixing parts of "
        "neighbouring pixels (or taking the nearest one, shifted by up to half a pixel), which "
        f"blurs sharp contrasts such as a park's edge; use {sizes} unless this size is what "
        "you need"
    )


def _kernel_reach_note(config: RunConfig) -> str | None:
    """Say that bilinear or cubic resampling weighs band pixels the cloud masks do not cover.

    A grid pixel's masks speak for the band pixel nearest its centre, or for those under its
    footprint on a coarser grid (:mod:`raster.footprint`); a bilinear or cubic kernel also
    weighs their neighbours, whose clouds no mask then removes.
    """
    method = config.grid.resampling
    if method not in ("bilinear", "cubic"):
        return None
    return (
        f"grid.resampling: {method} weighs the band pixels around each grid pixel, beyond "
        "those its cloud masks speak for: cloud edges can leak into clear pixels; use auto "
        "(nearest, or average onto a coarser grid), or widen the masks (mask.dilate_m)"
    )


def require_iris(config: RunConfig) -> None:
    """Raise a one-line ConfigError when the config names no IRIS layer (a run needs one)."""
    if config.zones.iris is None:
        raise ConfigError("zones.iris: the run needs an IRIS layer (per-IRIS statistics, census)")


class AreaZones(NamedTuple):
    """The area of interest and its zone layers (:func:`zones_and_area`).

    Attributes
    ----------
    area
        The area of interest (:class:`pipelines.config.aoi.AreaOfInterest`).
    iris
        The IRIS of the area.
    qpv
        The QPV of the area (a zone layer: statistics per QPV); None without ``zones.qpv``.
    qpv_of_iris
        Every QPV overlapping the area's IRIS, for the IRIS × QPV overlay: an IRIS kept by
        its inner point may reach past the area into a QPV wholly outside it, which still
        covers part of that IRIS. None without ``zones.qpv``.
    """

    area: AreaOfInterest
    iris: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame | None
    qpv_of_iris: gpd.GeoDataFrame | None


def zones_and_area(config: RunConfig, *, source: str = "config") -> AreaZones:
    """Read the area of interest, the IRIS layer (required) and the QPV layer (optional).

    The layer ``aoi.zones`` names (IRIS or QPV) is read first, only its features of
    ``aoi.communes`` when listed, and makes the area; the other layers are read near the area
    only (a national IGN or ANCT file gives the city's zones, not 48,000 rows), and so is
    that layer again when ``aoi.buffer_m`` grows the area past its features. Each layer then
    keeps the zones of the area (:func:`zones_in_area`), so that the "urban" footprint does
    not cover the countryside. The QPV file is read near the area and its IRIS, whose QPV
    shares count every QPV they overlap, of any commune.
    """
    require_iris(config)
    named = config.aoi.zones if config.aoi.zones in ("iris", "qpv") else None
    whole = None
    if named is not None:  # with aoi.communes, that layer's features of those communes
        whole = read_zone_layer(config, named, source=source, communes=config.aoi.communes)
    area = area_of_interest(config, source=source, features=whole)
    layers: dict[str, gpd.GeoDataFrame | None] = {"iris": None, "qpv": None}
    qpv_of_iris = None
    for name in layers:
        if name == "qpv" and config.zones.qpv is None:
            continue
        if name == "qpv":  # the QPV are read near the IRIS and matched to them
            of_area = named == "iris" and not config.aoi.buffer_m
            of_iris, near = _iris_outlines(area, layers["iris"], of_area, config.scheduler.workers)
        if name == named and not config.aoi.buffer_m:
            frame = whole
        else:  # grown by aoi.buffer_m, the area takes in features of other communes too
            frame = read_zone_layer(
                config, name, source=source, within=area if name == "iris" else near()
            )
        # An area made of IRIS (or a box, a file): its IRIS. Made of QPV or another layer:
        # the IRIS around them too, so that there is a "rest" to compare with.
        rule = "share" if name == "iris" and config.aoi.zones in (None, "iris") else "overlap"
        if frame is whole:  # the features the area was made of: each is in it
            rule = "all"
        required = name == "iris"
        layers[name] = zones_in_area(
            frame, area, f"zones.{name}", rule=rule, required=required,
            edge_warning=name == "iris" and config.aoi.kind in ("bbox", "file"),
        )  # fmt: skip
        if name == "qpv":
            qpv_of_iris = zones_in_area(frame, of_iris, "zones.qpv", rule="overlap",
                                        required=False)  # fmt: skip
            if layers["qpv"].empty and qpv_of_iris.empty:  # else some IRIS are in a QPV
                _no_qpv_in_area(config, near(), source)
    return AreaZones(area, layers["iris"], layers["qpv"], qpv_of_iris)


def _iris_outlines(
    area: AreaOfInterest, iris: gpd.GeoDataFrame, of_area: bool, workers: int | None
) -> tuple[AreaOfInterest, Callable[[], AreaOfInterest]]:
    """Return the union of the IRIS, and a function giving it with the area, made once.

    ``of_area``: the IRIS are those the area was made of (``aoi.zones: iris`` without
    ``aoi.buffer_m``), whose union the area is: it is given back, not made again (of a
    département's IRIS whose edges differ, the union takes a minute, and each of its
    reprojections tens of seconds). The union with the area is made only when asked for.
    ``workers``: the union's threads (:func:`polygon_union`).
    """
    if of_area:
        return area, lambda: area
    union = polygon_union(iris.geometry.to_numpy(), workers=workers)
    return _with_zones(None, iris, union), functools.cache(lambda: _with_zones(area, iris, union))


def _no_qpv_in_area(config: RunConfig, near: AreaOfInterest, source: str) -> None:
    """Say that the QPV file has no QPV in the area, with its extent and the area's.

    When the file's extent does not even meet the area's (with its IRIS), the file is of
    another place or its CRS is wrong: an error, as a run would go on with ``in_qpv`` false
    everywhere, which reads as "no QPV is hot". When it does (a national file, a commune
    without QPV, as most are), a warning: the run has no QPV statistics.
    """
    from pipelines.census._layers import extent_text, layer_extent

    layer = config.zones.qpv
    crs, extent = layer_extent(layer.path, layer.layer)
    if extent is None:
        raise ConfigError(
            f"{source}: zones.qpv.path: {layer.path.name} holds no QPV feature; give the ANCT "
            "QPV layer, or remove zones.qpv"
        )
    west, south, east, north = (float(v) for v in near.series().to_crs(crs).total_bounds)
    extents = (
        f"the layer spans {extent_text(extent)} and the area of interest with its IRIS "
        f"{extent_text((west, south, east, north))}, in the layer's CRS ({crs.to_string()})"
    )
    lw, ls, le, ln = extent
    if lw > east or le < west or ls > north or ln < south:
        raise ConfigError(
            f"{source}: zones.qpv.path: no QPV of {layer.path.name} lies in the area of "
            f"interest: {extents}, which do not meet: the file is of another place or its "
            "CRS is wrong; give the QPV layer of the area, with its CRS"
        )
    warnings.warn(
        f"zones.qpv: no QPV of {layer.path.name} lies in the area of interest ({extents}): "
        "the qpv zone layer is empty and in_qpv false for every IRIS; if the area has QPV, "
        "check zones.qpv (the file, its geography and CRS); if it has none, remove zones.qpv",
        IlotsWarning,
        stacklevel=3,
    )


def _with_zones(area: AreaOfInterest | None, zones: gpd.GeoDataFrame, union: Any) -> AreaOfInterest:
    """Return the union of ``area`` (if any) and ``union``, the polygons of ``zones``'.

    In the zones' CRS. Both unions of valid polygons are valid: no repair is needed.
    """
    if area is not None:
        union = union.union(area.to_crs(zones.crs).geometry)
    return AreaOfInterest(union, zones.crs, "the area and its IRIS")


#: The share of its area a zone must have inside an area of interest that cuts it (a box, a
#: polygon file, an area grown by ``aoi.buffer_m``) to be kept, whole.
MIN_SHARE_INSIDE = 0.5
#: A zone crosses the area's edge when more than this share of its area is on either side of
#: it: a zone along the edge that only touches it, or overlaps it by a sliver of rounding,
#: does not.
_EDGE_SLIVER = 0.001


def zones_in_area(
    zones: gpd.GeoDataFrame,
    area: Any,
    key: str,
    *,
    rule: str = "share",
    required: bool = True,
    edge_warning: bool = False,
) -> gpd.GeoDataFrame:
    """Keep the zones of ``area``: those mostly inside it, or that overlap it.

    ``rule="share"``: at least :data:`MIN_SHARE_INSIDE` (half) of a zone's area lies in the
    area; a zone the area's edge cuts is then kept whole, else left out (with a box or a
    polygon file, the IRIS mostly inside it). ``rule="overlap"``: the zone shares some area
    with it (QPV: one straddling the edge still gives the IRIS inside their QPV share).
    ``rule="all"``: the zones the area was made of (``aoi.zones`` without ``aoi.buffer_m``),
    each in it by construction: only those without geometry are left out. The area's geometry
    is prepared (:func:`shapely.prepare`), so that a large one (the union of a national
    layer) is tested against each zone through its index.

    Logs how many were kept; no zone in the area is a ConfigError for ``required`` layers.
    With ``edge_warning``, an :class:`~tiles.errors.IlotsWarning` says how many zones the
    area's edge cuts and what became of them.
    """
    if rule not in ("share", "overlap", "all"):
        raise ValueError(f"rule must be 'share', 'overlap' or 'all', got {rule!r}")
    shapes = np.asarray(zones.geometry.array, dtype=object)
    inside = ~(shapely.is_missing(shapes) | shapely.is_empty(shapes))
    if rule != "all":
        geometry = area.to_crs(zones.crs).geometry
        shapely.prepare(geometry)
        inside[inside] = shapely.intersects(geometry, shapes[inside])
        if rule == "overlap":
            inside[inside] = ~shapely.touches(geometry, shapes[inside])
        else:
            share = _share_inside(geometry, shapes, inside)
            if edge_warning:
                _warn_edge(share, key, area.description)
            inside = share >= MIN_SHARE_INSIDE
    kept = zones[inside]
    if len(kept) < len(zones):
        logger.info("%s: %d of %d zones in the area of interest", key, len(kept), len(zones))
    if required and kept.empty:
        raise ConfigError(
            f"{key}: none of the {len(zones)} zones lies in the area of interest "
            f"({area.description}); check aoi and the zone layer's extent"
        )
    return kept


def _share_inside(geometry: Any, shapes: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Return the share of each shape's area inside the prepared ``geometry`` (0 off ``hits``).

    The shapes it covers are 1 without an intersection; only those its edge cuts are cut.
    """
    share = np.zeros(len(shapes))
    covered = hits.copy()
    covered[hits] = shapely.covers(geometry, shapes[hits])
    share[covered] = 1.0
    cut = hits & ~covered
    if cut.any():
        whole = shapely.area(shapes[cut])
        part = shapely.area(shapely.intersection(shapes[cut], geometry))
        share[cut] = np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)
    return share


def _warn_edge(share: np.ndarray, key: str, description: str) -> None:
    """Warn how many zones the area's edge cuts: kept whole when at least half inside."""
    cut = (share > _EDGE_SLIVER) & (share < 1.0 - _EDGE_SLIVER)
    if not cut.any():
        return
    n = int(cut.sum())
    kept = int((share[cut] >= MIN_SHARE_INSIDE).sum())

    def verb(count: int, one: str, many: str) -> str:
        return one if count == 1 else many

    warnings.warn(
        IlotsWarning(
            f"{key}: {n} IRIS {verb(n, 'crosses', 'cross')} the edge of the area of interest "
            f"({description}): {kept} at least half inside {verb(kept, 'is', 'are')} kept "
            f"whole, {n - kept} {verb(n - kept, 'is', 'are')} left out; to analyse whole "
            "communes, set aoi.zones: iris with aoi.communes",
            code="zones_cut_by_area",
        ),
        stacklevel=4,
    )


@dataclass(frozen=True)
class LandsatSeries:
    """The Landsat part of a run's graph.

    Attributes
    ----------
    lst
        Masked LST per scene ``(time, y, x)`` in K, on the analysis grid.
    water
        The QA water bit on any date ``(y, x)``, on the analysis grid (on a grid coarser
        than 30 m: the bit over at least half of the pixel, :mod:`raster.footprint`).
    bands
        The bands read from every product (:func:`landsat_bands`).
    native, gather
        When the grid is finer than the Landsat pixels: the same LST on those pixels
        (``gather.geobox``) and the gather that puts per-pixel results of it onto the grid
        (:func:`raster.nearest.gather_nearest`); else None.
    """

    lst: xr.DataArray
    water: xr.DataArray
    bands: tuple[str, ...] = ()
    native: xr.DataArray | None = None
    gather: NativeGather | None = None

    def on_grid(self, data: xr.Dataset, chunk: int) -> xr.Dataset:
        """Put per-pixel results computed from :attr:`native` onto the analysis grid."""
        if self.gather is None:
            return data
        return gather_nearest(data, self.gather, aligned_chunks(self.gather.target, chunk))


@dataclass(frozen=True)
class IndexComposites:
    """The index composites of a run (:func:`sentinel2_indices`, :func:`landsat_indices`).

    Attributes
    ----------
    data
        Median composites ``(y, x)`` of the indices the products allow, and
        :data:`raster.index_composite.FLOORED` (per pixel, the dates whose normalized
        difference read a negative reflectance: :func:`floored_note`); None when the
        products lack the bands NDVI needs.
    notes
        What the products lack, for the run's warnings.
    items, bands
        The products read and the bands read from each (none when ``data`` is None).
    """

    data: xr.Dataset | None
    notes: tuple[str, ...] = ()
    items: tuple[Any, ...] = ()
    bands: tuple[str, ...] = ()


def qa_pixel_preset_of(config: RunConfig, *, lst: bool = False) -> QAPixelMask:
    """Return the QA_PIXEL preset of ``mask.landsat_preset`` (``none``: reject fill only).

    For the LST (``lst``), water is rejected too unless ``mask.lst_keep_water``; the indices
    keep it (the land cover finds water there; the NDVI and albedo composites the run writes
    leave out the land cover's water afterwards, unless ``mask.indices_keep_water``).
    """
    name = config.mask.landsat_preset
    spec = QAPixelMask(reject_bits=(0,), name="none") if name == "none" else qa_pixel_preset(name)
    if lst and not config.mask.lst_keep_water:
        spec = dataclasses.replace(spec, keep_water=False)
    return spec


def _lacking_band(items: Any, band: str, key: str, off: str = "null") -> str | None:
    """Say which products lack ``band``, which ``key`` needs; None when none does.

    ``off`` is the value of ``key`` that turns the test off, named in the message.
    """
    lacking = [item.id for item in items if band not in item.assets]
    if not lacking:
        return None
    shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
    return (
        f"{key}: {len(lacking)} Landsat product(s) lack the {band.upper()} band it needs "
        f"({shown}); add that file (every USGS L2SP product has it) or set {key}: {off}"
    )


#: The band ``mask.radsat`` needs, the key, and the value that turns its test off.
_RADSAT_NEED = ("qa_radsat", "mask.radsat", "false")


def _require_bands(items: Any, needs: list[tuple[str, str, str]]) -> None:
    """Raise one ConfigError for every ``(band, key, off)`` of ``needs`` a product lacks."""
    problems = [m for need in needs if (m := _lacking_band(items, *need)) is not None]
    if problems:
        raise ConfigError("; ".join(problems))


def _radsat_band(config: RunConfig, items: Any) -> list[str]:
    """``["qa_radsat"]`` under ``mask.radsat`` (an error when a product lacks it), else none."""
    if not config.mask.radsat:
        return []
    _require_bands(items, [_RADSAT_NEED])
    return ["qa_radsat"]


#: The bands whose QA_RADSAT saturation rejects an LST pixel: none, as Level-2 QA_RADSAT has
#: no band-10 bit (science.md §1.3); terrain occlusion (bit 11) is checked all the same.
LST_RADSAT_BANDS: tuple[str, ...] = ()


def _index_radsat_bands(names: list[str], bands: list[str]) -> dict[str, tuple[str, ...]]:
    """Return the reflectance bands each index reads among ``bands`` (saturated: rejected)."""
    return {name: tuple(INDICES[name].resolve(bands).values()) for name in names}


def _load_landsat(
    config: RunConfig, items: Any, bands: list[str], geobox: Any
) -> tuple[xr.Dataset, NativeGather | None]:
    """Load Landsat ``bands``, on the Landsat pixels when the run's work on them is per pixel.

    With nearest resampling from the 30 m grid (and no mask dilation, counted in
    analysis-grid pixels), masks, LST and indices are per pixel: they run on the Landsat
    pixels and their results are gathered onto the grid with the returned gather (the same
    values, on a ninth of the pixels at 10 m). Otherwise the bands are loaded onto the grid
    and the gather is None.
    """
    resampling = _continuous(config, items, bands, lambda band: LANDSAT_PIXEL_M)
    native = None
    dilate = config.mask.dilate_pixels(config.grid.resolution)
    if dilate == 0 and all(resampling.get(b, "nearest") == "nearest" for b in bands):
        native = native_window(items, bands, geobox)
    grid = native.geobox if native is not None else geobox
    ds = load_items(items, bands, geobox=grid, chunk=config.scheduler.chunk_px,
                    resampling=resampling)  # fmt: skip
    return ds, native


def landsat_lst(config: RunConfig, items: Any, geobox: Any) -> LandsatSeries:
    """Load the Landsat scenes onto the grid: masked LST per scene (K) and the QA water bit.

    Under ``mask.radsat`` the LST is also left out where QA_RADSAT flags terrain occlusion
    (bit 11): Level-2 QA_RADSAT has no band-10 saturation bit (science.md §1.3). On a grid
    coarser than 30 m (``average``), a pixel's LST is (mean of T⁴)^(1/4) over the 30 m pixels
    under it, all clear where it is kept (:func:`_qa_flags`); with water left out (the
    default), over its land 30 m pixels only; on a 30 m or finer grid, the LST of the 30 m
    pixel under it.
    """
    bands = landsat_bands(config, items)
    chunk = config.scheduler.chunk_px
    radsat = {"lst": LST_RADSAT_BANDS} if config.mask.radsat else None
    flags = _qa_flags(config, items, geobox, ["lwir11"], lst=True, radsat=radsat)
    if flags is not None:
        clear = flags["clear"] & flags["radsat_lst"] if radsat else flags["clear"]
        lst = one_scene_per_overpass(surface_temperature_l2(flags, mask=clear))
        return LandsatSeries(
            lst, flags["water"].any("time").rename("water_mask"), bands=tuple(bands)
        )
    ds, native = _load_landsat(config, items, bands, geobox)
    clear = landsat_clear_mask(
        ds,
        preset=qa_pixel_preset_of(config, lst=True),
        radsat_bands=LST_RADSAT_BANDS if radsat else None,
        st_qa_max_k=config.mask.st_qa_max_k,
        cdist_min_km=config.mask.cdist_min_km,
        dilate_px=config.mask.dilate_pixels(config.grid.resolution),
    )
    lst = one_scene_per_overpass(surface_temperature_l2(ds, mask=clear))
    # QA water bit (bit 7) on any date, for the land cover.
    water = landsat_water_mask(ds).any("time")
    if native is None:
        return LandsatSeries(lst, water, bands=tuple(bands))
    out = gather_nearest(xr.Dataset({"lst": lst, "water": water}), native,
                         aligned_chunks(geobox, chunk))  # fmt: skip
    return LandsatSeries(out["lst"].rename(lst.name), out["water"].rename(water.name),
                         bands=tuple(bands), native=lst, gather=native)  # fmt: skip


def lst_mask_steps(config: RunConfig, items: Any, geobox: Any) -> xr.Dataset:
    """Return the pixels each step of the LST's clear-sky mask keeps, per scene, on the grid.

    The Landsat mask bands loaded again, lazily, as :func:`landsat_lst` loads them (on the
    Landsat pixels, gathered onto a finer grid), and tested one option at a time
    (:func:`raster.quality.landsat_mask_steps`: each step after those before it). The
    products of one overpass are one scene, which keeps a pixel where one of them does. On a
    grid coarser than 30 m, QA_PIXEL and QA_RADSAT are taken at each grid pixel's centre
    (nearest; ST_QA and ST_CDIST averaged), where the LST's mask needs every 30 m pixel under
    it clear: a sample of the 30 m pixels. For saying which test left no clear pixel; the
    run's masks are built by :func:`landsat_lst`.
    """
    bands = [band for band in landsat_bands(config, items) if band != "lwir11"]
    ds, native = _load_landsat(config, items, bands, geobox)
    steps = landsat_mask_steps(
        ds,
        preset=qa_pixel_preset_of(config, lst=True),
        radsat_bands=LST_RADSAT_BANDS if config.mask.radsat else None,
        st_qa_max_k=config.mask.st_qa_max_k,
        cdist_min_km=config.mask.cdist_min_km,
        dilate_px=config.mask.dilate_pixels(config.grid.resolution),
    )
    groups = acquisition_groups(steps)
    if any(len(group) > 1 for group in groups):
        steps = xr.concat([steps.isel(time=group).any("time") for group in groups], "time")
    if native is not None:
        steps = gather_nearest(steps, native, aligned_chunks(geobox, config.scheduler.chunk_px))
    return steps


def one_scene_per_overpass(series: Any) -> Any:
    """Fuse the products of one overpass (adjacent rows, a product given twice) into one scene.

    Their overlap would otherwise count twice in ``n_clear`` and the composites
    (:mod:`raster.acquisitions`).
    """
    groups = acquisition_groups(series)
    fused = [group for group in groups if len(group) > 1]
    if fused:
        ids = series["product_id"].values if "product_id" in series.coords else None
        logger.info(
            "%d Landsat products are %d overpasses, each fused into one scene%s",
            sum(map(len, fused)), len(fused),
            f": {', '.join(' + '.join(ids[g]) for g in fused)}" if ids is not None else "",
        )  # fmt: skip
    return fuse_acquisitions(series, groups)


def landsat_bands(config: RunConfig, items: Any) -> list[str]:
    """Return the Landsat bands the LST and its masks read.

    ST_B10 and QA_PIXEL; ST_QA and ST_CDIST when their thresholds are set, QA_RADSAT under
    ``mask.radsat`` (an error when a product lacks one).
    """
    thresholds = [(band, f"mask.{key}", "null") for band, key in
                  (("st_qa", "st_qa_max_k"), ("st_cdist", "cdist_min_km"))
                  if getattr(config.mask, key) is not None]  # fmt: skip
    radsat = [_RADSAT_NEED] if config.mask.radsat else []
    _require_bands(items, thresholds + radsat)  # every missing band in one message
    return ["lwir11", "qa_pixel", *(need[0] for need in thresholds + radsat)]


def _qa_flags(
    config: RunConfig,
    items: Any,
    geobox: Any,
    bands: list[str],
    *,
    lst: bool,
    radsat: dict[str, tuple[str, ...]] | None = None,
) -> xr.Dataset | None:
    """Load ``bands`` onto a coarser grid, with the QA flags over each pixel's footprint.

    None when no grid pixel mixes several Landsat pixels (the grid is as fine as the 30 m
    pixels, or ``grid.resampling: nearest``: the per-pixel path). Otherwise ``bands`` on the
    grid beside ``clear`` (every 30 m pixel under the grid pixel clear by the run's QA_PIXEL
    preset, and by ST_QA and ST_CDIST for the ``lst``; for the ``lst`` with water left out,
    every land 30 m pixel), ``water`` and, per output of
    ``radsat``, ``radsat_<output>`` (no 30 m pixel under it saturated in the bands the output
    uses, nor terrain-occluded) (:func:`raster.footprint.landsat_footprint_flags`), on the
    bands' coordinates. An ``average`` of ST_B10 (``lwir11``, the ``auto`` resampling onto a
    coarser grid) is taken as radiance, not temperature (science.md pitfall 13): the flags'
    (mean of T⁴)^(1/4) of the 30 m pixels, from the read the flags make of them (ST_B10 read
    once); the other bands (reflectance) are averaged as they are.
    """
    resampling = _continuous(config, items, bands, lambda band: LANDSAT_PIXEL_M)
    if not _mixes_pixels(config, resampling, lambda band: LANDSAT_PIXEL_M):
        return None
    mask = config.mask
    radiance = resampling.get("lwir11") == "average"
    flags = landsat_footprint_flags(
        items, geobox, preset=qa_pixel_preset_of(config, lst=lst),
        dilate_px=mask.dilate_pixels(config.grid.resolution),
        st_qa_max_k=mask.st_qa_max_k if lst else None,
        cdist_min_km=mask.cdist_min_km if lst else None, radsat=radsat,
        temperature=radiance, chunk=config.scheduler.chunk_px,
    )  # fmt: skip
    bands = [band for band in bands if not (radiance and band == "lwir11")]
    if not bands:
        return flags
    ds = load_items(items, bands, geobox=geobox, chunk=config.scheduler.chunk_px,
                    resampling=resampling)  # fmt: skip
    for name, flag in flags.data_vars.items():
        ds[name] = on_coords_of(flag, ds[bands[0]])
    return ds


def _one_of_each_product(items: Any) -> list[Any]:
    """Keep one Sentinel-2 item of each tile and datatake (the newest processing baseline).

    The same product from two collections (Earth Search's ``sentinel-2-l2a`` and
    ``sentinel-2-c1-l2a``) or two distributors (an Earth Search item, a SAFE, a Planetary
    Computer item: the same datatake, dated up to minutes apart) would weigh its date twice
    in the medians. The composite would count it once too (as the other tiles of a datatake,
    :func:`sentinel2_indices`), but with the first in time order, not the newest baseline,
    and after reading both. Of equal baselines, the first in time order is kept.
    """
    items = list(items)
    for group in repeated_products(items, lambda item: str(item.properties.get("s2:mgrs_tile"))):
        kept = _newest_baseline(group)
        left = [item for item in group if item is not kept]
        baseline = kept.properties.get("s2:processing_baseline", "unknown")
        tie = all(it.properties.get("s2:processing_baseline") == baseline for it in left)
        why = f"processing baseline {baseline}" + (", the same: the first in time" if tie else "")
        datatake = kept.properties.get(DATATAKE_PROPERTY)
        when = f"datatake {datatake}" if datatake else f"{_utc(kept):%Y-%m-%d %H:%M} UTC"
        warnings.warn(
            f"inputs.sentinel2: {' and '.join(item.id for item in group)} are one product "
            f"(tile {kept.properties.get('s2:mgrs_tile')}, {when}); {kept.id} kept ({why}), "
            f"{'the other' if len(left) == 1 else 'the others'} left out so that its date "
            "counts once",
            IlotsWarning,
            stacklevel=3,
        )
        items = [item for item in items if all(item is not other for other in left)]
    return items


def _newest_baseline(group: list[Any]) -> Any:
    """Return the item of the newest processing baseline; of equal ones, the first in time."""
    first = sorted(group, key=item_time)
    return max(first, key=lambda item: str(item.properties.get("s2:processing_baseline", "")))


def _utc(item: Any) -> dt.datetime:
    """Return an item's time (:func:`raster.sources.assets.item_time`) in UTC."""
    return item_time(item).astimezone(dt.UTC)


def sentinel2_indices(config: RunConfig, items: Any, geobox: Any) -> IndexComposites:
    """Median composites of the Sentinel-2 indices the products allow, and notes on gaps.

    The tiles of one datatake (same platform and datatake, from any source; or, for products
    that do not name their datatake, acquired within two minutes:
    :func:`raster.acquisitions.acquisition_groups`) count once in the medians: in their
    overlap, the first clear one.
    No composite (and a note) when no product has the bands NDVI needs.
    """
    notes: list[str] = []
    items = _one_of_each_product(items)
    items, bands, more = _sentinel2_bands(config, items)
    notes += more
    if not items:
        return IndexComposites(None, tuple(notes))
    read = tuple(bands)  # SCL too: read for its flags, when it leaves the bands below
    native_m = lambda band: SENTINEL2_NATIVE_M.get(band, 20.0)  # noqa: E731
    resampling = _continuous(config, items, bands, native_m)
    preset = config.mask.sentinel2_preset
    flags = None
    if preset != "none" and "scl" in bands:
        flags = _scl_flags(config, items, geobox, _mixes_pixels(config, resampling, native_m))
        bands = [b for b in bands if b != "scl"] if flags is not None else bands
    chunk = config.scheduler.chunk_px
    stored = load_stored(items, bands, geobox=geobox, chunk=chunk, resampling=resampling)
    groups = acquisition_groups(stored.data, _datatakes(items))
    fused = [group for group in groups if len(group) > 1]
    if fused:
        ids = stored.data["product_id"].values
        logger.info(
            "%d Sentinel-2 products are %d acquisitions, each counted once in the index "
            "medians: %s", sum(map(len, fused)), len(fused),
            ", ".join(" + ".join(ids[g]) for g in fused),
        )  # fmt: skip
    names, more = _land_cover_indices(
        bands, "nir", "Sentinel-2", "the SCL water class", "the products whole (B03, B11)"
    )
    notes += more
    # Broadband albedo (science.md §3.5) where the products carry B02..B12; else none.
    if {"blue", "green", "red", "nir", "swir16", "swir22"} <= set(bands):
        names.append("albedo_s2")
    # Reflectance, indices, the SCL clear mask (water taken before it: the default preset
    # keeps SCL 4 and 5 only) and the medians in one fused pass per chunk.
    scl = None if preset == "none" or flags is not None else preset
    out = index_median_composite(stored, names, scl=scl, flags=flags, groups=groups, floored=True)
    out[FLOORED].attrs.update(_floored_attrs("Sentinel-2", names))
    out = out.rename({"albedo_s2": "albedo"} if "albedo_s2" in out else {})
    return IndexComposites(out, tuple(notes), tuple(items), read)


def _datatakes(items: Any) -> dict[str, str]:
    """Return the datatake of each item that names it, by item id."""
    return {
        item.id: str(item.properties[DATATAKE_PROPERTY])
        for item in items
        if item.properties.get(DATATAKE_PROPERTY)
    }


def sentinel2_needs(config: RunConfig) -> set[str]:
    """Return the bands a Sentinel-2 product needs to give the run an NDVI it can trust."""
    return {"red", "nir"} | ({"scl"} if config.mask.sentinel2_preset != "none" else set())


def sentinel2_left_out(config: RunConfig, items: Any) -> WarningText | None:
    """Say which Sentinel-2 products lack bands the NDVI needs (:func:`sentinel2_needs`).

    The run leaves them out of the NDVI and land cover (:func:`sentinel2_indices`); the dry
    run says it from the items' assets too. None when every product has them.
    """
    need = sentinel2_needs(config)
    left = [f"{item.id} (no {', '.join(sorted(need - set(item.assets)))})"
            for item in items if not need <= set(item.assets)]  # fmt: skip
    if not left:
        return None
    return WarningText(
        f"{len(left)} Sentinel-2 product(s) lack bands the NDVI needs "
        f"({', '.join(sorted(need))}) and were left out of the NDVI and land cover: "
        f"{', '.join(left[:3])}" + (f" and {len(left) - 3} more" if len(left) > 3 else ""),
        "skipped_input",
    )


def _sentinel2_bands(config: RunConfig, items: Any) -> tuple[list[Any], list[str], list[str]]:
    """Choose the products to use, the bands to read from all of them; note what is left.

    A product without red or near-infrared (or without SCL when the run masks with it)
    gives no NDVI it could be trusted for: it is left out (:func:`sentinel2_left_out`). The
    other bands are read where every product kept has them (an index needing a band one
    product lacks is left out).
    """
    need = sentinel2_needs(config)
    kept = [item for item in items if need <= set(item.assets)]
    notes: list[str] = [note] if (note := sentinel2_left_out(config, items)) else []
    common = set.intersection(*(set(item.assets) for item in kept)) if kept else set()
    # nir08 (B8A, 20 m): NDBI's near-infrared, the spectral match of OLI B5 that science.md
    # §3.1 pairs with B11 (the index registry prefers it). Not a band any index lacks: when
    # one product has no B8A, none is read and NDBI takes B08, which the note below says.
    wanted = ["red", "nir", "nir08", "green", "swir16", "blue", "swir22", "scl"]
    lacking = sorted({b for item in kept for b in item.assets if b in wanted} - common - {"nir08"})
    without = [item.id for item in kept if "nir08" not in item.assets]
    if without and len(without) < len(kept):
        notes.append(
            f"NDBI pairs B11 with B08, not B8A (science.md §3.4), in every Sentinel-2 product: "
            f"{len(without)} of {len(kept)} lack B8A (nir08), e.g. {without[0]}; download the "
            "products whole"
        )
    if lacking:
        notes.append(
            f"some Sentinel-2 products lack {', '.join(lacking)}: read from none, so the "
            "indices needing them are left out; download the products whole"
        )
    return kept, [b for b in wanted if b in common], notes


def _mixes_pixels(
    config: RunConfig, resampling: dict[str, str], native_m: Callable[[str], float]
) -> bool:
    """Whether a band is resampled onto a grid coarser than its pixels by more than nearest.

    Then a grid pixel mixes several of the band's pixels (``average`` weighs all those under
    it; ``bilinear`` and ``cubic`` reach further), and its mask must cover them all
    (:mod:`raster.footprint`), not only the one at its centre.
    """
    return any(
        method != "nearest" and _coarser(config, native_m(band))
        for band, method in resampling.items()
    )


def _scl_flags(config: RunConfig, items: Any, geobox: Any, mixes: bool) -> xr.Dataset | None:
    """Build the SCL clear and water flags on the grid when its classes alone cannot mask.

    None (the fused pass reads SCL itself) when no grid pixel mixes several band pixels and
    no dilation is asked. When one does (``mixes``), a pixel must be clear over its whole
    footprint (:mod:`raster.footprint`); when ``mask.dilate_m`` is set, the cloud classes
    are grown by that distance in whole grid pixels.
    """
    dilate = config.mask.dilate_pixels(config.grid.resolution)
    preset = config.mask.sentinel2_preset
    chunk = config.scheduler.chunk_px
    if mixes:
        return sentinel2_footprint_flags(items, geobox, preset=preset, dilate_px=dilate,
                                         chunk=chunk)  # fmt: skip
    if not dilate:
        return None
    scl = load_items(items, ["scl"], geobox=geobox, chunk=chunk)
    return xr.Dataset({"clear": sentinel2_clear_mask(scl, preset=preset, dilate_px=dilate),
                       "water": sentinel2_water_mask(scl)})  # fmt: skip


def _land_cover_indices(
    bands: list[str], nir: str, sensor: str, water: str, fix: str
) -> tuple[list[str], list[WarningText]]:
    """NDVI, with MNDWI and NDBI where ``bands`` allow, and a warning saying what is missing.

    Without MNDWI the land cover's water is what ``water`` flags; without NDBI bare soil is
    counted as built (:func:`rule_classes`). ``fix``: the products to download instead.
    """
    names = ["ndvi"] + [
        n for n, need in (("mndwi", {"green", "swir16"}), ("ndbi", {"swir16", nir}))
        if need <= set(bands)
    ]  # fmt: skip
    missing = sorted({"ndvi", "mndwi", "ndbi"} - set(names))
    if not missing:
        return names, []
    done = [f"takes water from {water}"] if "mndwi" in missing else []
    if "ndbi" in missing:
        done.append(
            "does not separate built and bare soil: bare soil is counted as built (also where "
            "the heat island leaves built pixels out) and lc_bare_soil_frac is left empty"
        )
    return names, [
        WarningText(
            f"{sensor} products lack bands for {', '.join(missing)}: the land cover, from "
            f"NDVI, {' and '.join(done)}; download {fix}",
            "landcover_fallback",
        )
    ]


def index_source(config: RunConfig, inputs: Any) -> str:
    """Return the sensor of the index composites: ``composite.indices_from``, ``auto`` resolved.

    ``auto`` is Sentinel-2 when the inputs hold Sentinel-2 products, else Landsat.
    """
    source = config.composite.indices_from
    if source == "auto":
        return "sentinel2" if inputs.sentinel2 else "landsat"
    return source


#: The Landsat reflectance bands the run's NDVI and land cover need (SR_B4, SR_B5).
LANDSAT_NDVI_BANDS = frozenset({"red", "nir08"})
#: Landsat 8/9 Collection 2 surface-reflectance bands the index composites use (OLI B2-B7).
LANDSAT_SR_BANDS = ("blue", "green", "red", "nir08", "swir16", "swir22")


def _landsat_sr_bands(items: Any) -> list[str]:
    """Return the reflectance bands of :data:`LANDSAT_SR_BANDS` every product carries."""
    common = set.intersection(*(set(item.assets) for item in items)) if items else set()
    return [band for band in LANDSAT_SR_BANDS if band in common]


def landsat_indices(config: RunConfig, items: Any, geobox: Any) -> IndexComposites:
    """Median composites of the indices Landsat surface reflectance allows, and notes on gaps.

    For ``composite.indices_from: landsat``, or ``auto`` without Sentinel-2: the OLI
    reflectance of each scene (the bands every product carries), masked with the run's
    QA_PIXEL preset (water kept, as MNDWI needs it) and, under ``mask.radsat``, each index
    where QA_RADSAT flags a band it reads saturated or the terrain occluded, NDVI, MNDWI and
    NDBI where the bands allow, the Liang (2001) broadband albedo with B2, B4-B7, then the
    median over the clear scenes. Like the LST, the per-pixel work runs on the Landsat
    pixels when the grid is finer and is gathered onto it. No composite (and a note) when
    the products lack red or near-infrared reflectance (ST-only downloads).
    """
    notes: list[str] = []
    bands = _landsat_sr_bands(items)
    if not LANDSAT_NDVI_BANDS <= set(bands):
        notes.append(
            "Landsat products lack red and near-infrared reflectance (SR_B4, SR_B5): no NDVI "
            "or land cover; download the L2SP products with their SR bands, or add Sentinel-2"
        )
        return IndexComposites(None, tuple(notes))
    names, more = _land_cover_indices(
        bands, "nir08", "Landsat", "the QA water bit", "the L2SP products with SR_B3 and SR_B6"
    )
    notes += more
    if {"blue", "red", "nir08", "swir16", "swir22"} <= set(bands):
        names.append("albedo_liang")
    qa = ["qa_pixel", *_radsat_band(config, items)]
    # Per index, the bands whose saturation (QA_RADSAT) rejects its pixels.
    used = _index_radsat_bands(names, bands) if config.mask.radsat else {}
    flags = _qa_flags(config, items, geobox, bands, lst=False, radsat=used or None)
    if flags is not None:
        ds, native, clear = flags, None, flags["clear"]
        keep = {name: flags[f"radsat_{name}"] for name in used}
    else:
        ds, native = _load_landsat(config, items, [*bands, *qa], geobox)
        clear = landsat_clear_mask(
            ds,
            preset=qa_pixel_preset_of(config),
            dilate_px=config.mask.dilate_pixels(config.grid.resolution),
        )
        # One QA_RADSAT read per scene; each index's test fuses into its own chunk tasks.
        keep = {name: landsat_radsat_mask(ds, read) for name, read in used.items()}
    indices = compute_indices(ds, names)
    kept = {name: indices[name].where(clear & keep[name] if name in keep else clear)
            for name in names}  # fmt: skip
    floored = _floored_flags(ds, kept)
    per_scene = one_scene_per_overpass(xr.Dataset({**kept, **floored}, attrs=indices.attrs))
    out = xr.Dataset(
        {name: temporal_composite(per_scene[name], stats=["median"], min_clear=1)["median"]
         for name in names}
    )  # fmt: skip
    hit = functools.reduce(operator.or_, (per_scene[flag] == 1 for flag in floored))
    out[FLOORED] = hit.sum("time").astype(np.uint16).assign_attrs(_floored_attrs("Landsat", names))
    if native is not None:
        out = gather_nearest(out, native, aligned_chunks(geobox, config.scheduler.chunk_px))
    out = out.rename({"albedo_liang": "albedo"} if "albedo_liang" in out else {})
    return IndexComposites(out, tuple(notes), tuple(items), (*bands, *qa))


def _floored_flags(ds: xr.Dataset, kept: dict[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """Per normalized difference, whether its kept value read a negative reflectance.

    ``kept``: each index per scene, NaN where masked. Returns, by ``_floored_<index>``, 1
    where a band of the index is below 0 (taken as 0: :func:`raster.indices.ndvi`), 0 where
    none is, NaN where the index has no value: fused as the index is
    (:func:`one_scene_per_overpass`), a flag follows the value its acquisition keeps.
    """
    flags = {}
    for name, values in kept.items():
        ratio = INDICES[name].ratio
        if ratio is None or ratio.floor != 0.0:
            continue
        bands = dict.fromkeys(INDICES[name].resolve(ds.data_vars).values())
        negative = functools.reduce(operator.or_, (ds[band] < 0 for band in bands))
        flags[f"_floored_{name}"] = xr.where(values.notnull(), negative, np.nan).astype("float32")
    return flags


def _floored_attrs(sensor: str, names: list[str]) -> dict[str, str]:
    """Attributes of the count of dates that read a negative reflectance (:func:`floored_note`)."""
    normalized = [n for n in names if (r := INDICES[n].ratio) is not None and r.floor == 0.0]
    return {"sensor": sensor, "indices": ", ".join(n.upper() for n in normalized)}


def floored_note(count: xr.DataArray) -> str | None:
    """Say how often the index composites took a negative reflectance as 0; None if never.

    ``count``: the composites' :data:`raster.index_composite.FLOORED` layer (per pixel, the
    dates whose normalized difference, kept for its median, read a negative reflectance), as
    the run's passes keep it (in memory, or a tiled run's checkpointed pieces): summing it
    reads no product again.
    """
    total = int(count.sum())
    if total == 0:
        return None
    return (
        f"{count.attrs.get('sensor', 'the')} index composites: on {total} pixel-dates kept by "
        f"the masks (a grid pixel on one acquisition), a normalized difference "
        f"({count.attrs.get('indices', 'NDVI')}) read a negative reflectance, taken as 0: there "
        "the index is -1 or 1 whatever the surface (red < 0 gives NDVI 1, as dense vegetation)"
    )


def rule_classes(config: RunConfig, idx: xr.Dataset, water: xr.DataArray) -> xr.DataArray:
    """Classify the land cover from the index composites with the config's rules, per pixel.

    Pixels the cloud masks leave without any index value (the default Sentinel-2 preset
    keeps SCL vegetation and bare classes only, so open water is always masked) are water
    when the SCL water class or the Landsat QA water bit flags them, else no data. Without
    MNDWI those flags are the water; without NDBI bare soil is built, and the classes'
    :data:`~raster.landcover.BARE_SOIL_ATTR` says so. The ``rule`` attribute is the rule
    applied. The minimum mapping unit is applied by :func:`derive_layers`.
    """
    ndvi = idx["ndvi"]
    is_water = water | idx["scl_water"] if "scl_water" in idx else water
    if "mndwi" in idx:
        mndwi = idx["mndwi"]
    else:
        mndwi = xr.where(is_water, 1.0, -1.0).where(ndvi.notnull())
    ndbi = idx["ndbi"] if "ndbi" in idx else xr.ones_like(ndvi).where(ndvi.notnull())
    rules = config.landcover.rules
    thresholds = LandcoverThresholds(
        water_mndwi=rules.water_mndwi,
        dense_ndvi=rules.dense_ndvi,
        low_ndvi=rules.low_ndvi,
        built_ndbi=rules.built_ndbi,
    )
    classes = classify_landcover(ndvi, mndwi, ndbi, thresholds=thresholds)
    # No index value (masked) but flagged water: water.
    masked_water = (classes == LandCover.NODATA) & is_water
    attrs = dict(classes.attrs)
    # The rule applied: without MNDWI or NDBI, not the one of the three indices.
    flags = "the SCL water class or the QA water bit"
    rule = thresholds.describe(
        water=None if "mndwi" in idx else f"{flags} (no MNDWI)", built="ndbi" in idx
    )
    attrs["rule"] = rule.replace(
        "NaN input -> 0", f"NaN input -> 0, or 1 (water) where {flags} flags the pixel"
    )
    if "ndbi" not in idx:
        attrs[BARE_SOIL_ATTR] = run_layers.BARE_SOIL_AS_BUILT
    classes = classes.where(~masked_water, np.uint8(LandCover.WATER))
    return classes.rename("landcover").assign_attrs(attrs)


def derive_layers(
    config: RunConfig,
    zone_union: xr.DataArray,
    ring: xr.DataArray,
    classes: xr.DataArray | None,
    water: xr.DataArray | None = None,
    *,
    settle: bool = False,
) -> tuple[xr.DataArray | None, xr.DataArray, xr.DataArray]:
    """Derive the land cover, urban footprint and rural reference mask from per-pixel classes.

    The neighbourhood steps of the graph: the minimum mapping unit of the rule land cover
    (an external map is used as mapped), then the masks that depend on it. A tiled run
    applies them to the mosaic of its tiles' classes, so their halos read no input, with
    ``settle``: whole-grid reductions (the urban median elevation of a DEM filter) are
    computed at once, not again for every tile's window. ``water``: the QA water bit, the
    footprint's and the reference's water without ``classes``
    (:func:`pipelines.run_layers.urban_footprint`, :func:`~pipelines.run_layers.reference_mask`).

    Returns
    -------
    landcover, urban, reference_mask
        ``landcover`` is None without ``classes``.
    """
    landcover = classes
    mmu = config.landcover.min_mapping_unit_pixels(config.grid.resolution)
    if classes is not None and config.landcover.external is None and mmu > 1:
        landcover = clean_minimum_mapping_unit(
            classes, mmu, connectivity=config.landcover.connectivity
        ).rename("landcover")
        # the unit as applied, beside its pixels: whole pixels of the grid, in m²
        landcover.attrs["minimum_mapping_unit_m2"] = mmu * float(config.grid.resolution) ** 2
    urban = run_layers.urban_footprint(config, zone_union, landcover, water)
    mask = run_layers.reference_mask(config, ring, urban, landcover, water, settle_elevation=settle)
    return landcover, urban, mask
