"""The area of interest of a config as a shapely geometry with its CRS.

Three forms (``aoi`` section): a bounding box in EPSG:4326, the union of a polygon file's
features, or the union of zone features (IRIS, QPV, or an extra layer), optionally only those
of some communes (``insee_com``). The result keeps the source CRS (EPSG:4326 for a box,
the file's CRS otherwise, e.g. Lambert-93 for IGN IRIS); reproject with
:meth:`AreaOfInterest.to_crs`. The grid CRS ``utm`` is the UTM zone of the area's centre.
"""

from __future__ import annotations

import logging
import re
import warnings
from bisect import bisect_left
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from dask.system import CPU_COUNT
from pyproj import CRS, Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from pipelines.census.codes import commune_codes, departement
from pipelines.config.models import RunConfig
from tiles.errors import ConfigError, IlotsError, LayerNotFoundError
from tiles.grid import utm_crs_for

__all__ = [
    "AreaOfInterest",
    "area_of_interest",
    "area_outline",
    "grid_crs",
    "polygon_parts",
    "polygon_union",
    "read_zone_layer",
    "zone_source",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

WGS84 = CRS.from_epsg(4326)
#: Between the communes of one value (ANCT lists a QPV's communes as ``"69266, 69290"``).
_LISTED = re.compile(r"[,;\s]+")
#: The commune codes a description names at most (the first ones given); more are counted.
NAMED_COMMUNES = 5


@dataclass(frozen=True)
class AreaOfInterest:
    """A polygonal area with its CRS.

    Parameters
    ----------
    geometry
        Polygon or multipolygon, valid and not empty.
    crs
        Its coordinate reference system.
    description
        Where it came from, for logs and the report (``"bbox [...]"``, ``"4 IRIS of 31555"``).
    """

    geometry: BaseGeometry
    crs: CRS
    description: str = ""
    #: The reprojections and buffers made of this area and its densified geometry, each made
    #: once: of the union of a département's IRIS (a million vertices), each takes tens of
    #: seconds.
    _made: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.geometry.is_empty or self.geometry.area <= 0:
            raise ValueError(f"the area of interest is empty ({self.description})")

    def to_crs(self, crs: Any) -> AreaOfInterest:
        """Return the area reprojected to ``crs`` (anything :class:`pyproj.CRS` accepts).

        Made once per CRS and kept (the area is frozen); its vertices are densified once.
        """
        target = CRS.from_user_input(crs)
        if target == self.crs:
            return self
        if ("crs", target) not in self._made:
            geometry = shapely.make_valid(self._transformed(target))
            self._made[("crs", target)] = AreaOfInterest(geometry, target, self.description)
        return self._made[("crs", target)]

    def _transformed(self, target: CRS) -> BaseGeometry:
        """Return the densified area's vertices moved to ``target``, not repaired."""
        if "densified" not in self._made:  # the same for every target
            self._made["densified"] = _densify(self.geometry, self.crs)
        transformer = Transformer.from_crs(self.crs, target, always_xy=True)
        return shapely.transform(self._made["densified"], transformer.transform, interleaved=False)

    def series(self) -> gpd.GeoSeries:
        """Return the area as a one-row GeoSeries in EPSG:4326, for the zone readers' ``bbox``.

        Densified (:meth:`to_crs`), so that its bounds stay true in any CRS.
        """
        return gpd.GeoSeries([self.to_crs(WGS84).geometry], crs=WGS84)

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in EPSG:4326 degrees."""
        return tuple(float(v) for v in self.to_crs(WGS84).geometry.bounds)  # type: ignore[return-value]

    def utm_crs(self) -> CRS:
        """Return the WGS 84 / UTM CRS of the zone holding the area's centre.

        The centre is the centroid of the area in EPSG:4326, which lies within its extent
        there: when that extent (:func:`_lonlat_bounds`, a margin added) holds in one zone,
        its zone is the centre's, found without reprojecting the area's vertices.
        """
        zone = _zone_of_extent(_lonlat_bounds(self.geometry.bounds, self.crs))
        if zone is not None:
            return zone
        centre = self.to_crs(WGS84).geometry.centroid
        return CRS.from_epsg(utm_crs_for(centre.x, centre.y).epsg)

    def buffered(self, metres: float) -> AreaOfInterest:
        """Return the area grown by ``metres`` (computed in its UTM zone), in EPSG:4326.

        Made once per distance and kept (the area is frozen). The holes the buffer fills
        (:func:`_without_eroded_holes`) are left out before the area reprojected to its UTM
        zone is repaired: of the union of 8,100 IRIS whose edges differ by a metre (260,000
        holes), that repair took as long as the one to EPSG:4326 (22 s), for the same grown
        area.
        """
        if metres <= 0:
            return self.to_crs(WGS84)
        if ("buffer", metres) not in self._made:
            utm = self.utm_crs()
            if utm == self.crs:  # in its UTM zone already: nothing to reproject nor repair
                local = self.geometry
            elif ("crs", utm) in self._made:  # repaired whole already
                local = self._made[("crs", utm)].geometry
            else:
                local = shapely.make_valid(_without_eroded_holes(self._transformed(utm), metres))
            grown = AreaOfInterest(local.buffer(metres), utm, self.description)
            self._made[("buffer", metres)] = grown.to_crs(WGS84)
        return self._made[("buffer", metres)]


def _without_eroded_holes(geometry: BaseGeometry, metres: float) -> BaseGeometry:
    """Return the polygons of ``geometry`` without the holes a buffer of ``metres`` fills.

    Those whose extent is narrower than ``2 * metres`` in width or in height: each of their
    points lies within ``metres`` of their ring, which the polygon holds. GEOS' buffer leaves
    out the same holes (``BufferCurveSetBuilder::isRingFullyEroded``, on the same extent), so
    the buffer of a valid reprojection is the same; of one made invalid by rounding, the same
    within that rounding.
    """
    parts = polygon_parts(geometry)
    rings, part = shapely.get_rings(parts, return_index=True)
    west, south, east, north = shapely.bounds(rings).T
    shell = np.r_[True, part[1:] != part[:-1]]  # each part's exterior comes first
    kept = shell | (np.minimum(east - west, north - south) >= 2 * metres)
    return shapely.multipolygons(shapely.polygons(rings[kept], indices=part[kept]))


#: Points per edge of an extent reprojected to EPSG:4326 (:func:`_lonlat_bounds`).
_EXTENT_DENSIFY = 100
#: Degrees added around an extent in EPSG:4326 before its UTM zone is taken for its centre's
#: (:func:`_zone_of_extent`): far more than a reprojected edge of 100 points departs from its
#: curve (a few metres for an edge of 1,000 km).
_ZONE_MARGIN_DEG = 0.01


def _lonlat_bounds(
    bounds: tuple[float, float, float, float], crs: CRS
) -> tuple[float, float, float, float]:
    """Return the extent in EPSG:4326 of the box ``bounds`` in ``crs``, its edges densified.

    Holds every point of a geometry within ``bounds`` reprojected (to a margin: see
    :data:`_ZONE_MARGIN_DEG`); ``west > east`` when it crosses the antimeridian.
    """
    if crs == WGS84:
        return bounds
    transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
    return transformer.transform_bounds(*bounds, densify_pts=_EXTENT_DENSIFY)


def _zone_of_extent(lonlat: tuple[float, float, float, float]) -> CRS | None:
    """Return the UTM CRS of every point of an extent in EPSG:4326 (a margin added), or None.

    None when the extent, grown by :data:`_ZONE_MARGIN_DEG`, meets two zones or both
    hemispheres, crosses the antimeridian or leaves the UTM domain: the centre's zone is then
    computed from the area's vertices.
    """
    west, south, east, north = lonlat
    west, south = west - _ZONE_MARGIN_DEG, south - _ZONE_MARGIN_DEG
    east, north = east + _ZONE_MARGIN_DEG, north + _ZONE_MARGIN_DEG
    if not (-180.0 <= west <= east <= 180.0 and -80.0 <= south <= north <= 84.0):
        return None
    corners = {utm_crs_for(lon, lat).epsg for lon in (west, east) for lat in (south, north)}
    # The zone of a longitude never decreases eastwards, the hemisphere changes once (at 0):
    # four corners in one zone and hemisphere put every point between them there.
    return CRS.from_epsg(corners.pop()) if len(corners) == 1 else None


def _densify(geometry: BaseGeometry, crs: CRS) -> BaseGeometry:
    """Add vertices so that straight edges stay close to straight after reprojection.

    Given back as it is when no edge is longer than the step (zones' edges):
    :func:`shapely.segmentize` (GEOS' Densifier) would check the polygon's validity again, 20 s
    on the union of 8,100 IRIS whose edges differ by a metre, to add no vertex. ``geometry``
    must be valid (an area is: a box, a union or a buffer); segmentize would repair an invalid
    one with ``buffer(0)``, this shortcut does not.
    """
    length = 0.01 if crs.is_geographic else 1000.0
    if _longest_edge(geometry) <= length:
        return geometry
    return shapely.segmentize(geometry, length)


def _longest_edge(geometry: BaseGeometry) -> float:
    """Return the length of the longest edge of the rings of the polygons of ``geometry``."""
    rings = shapely.get_rings(polygon_parts(geometry))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive vertices of one ring
    lengths = np.hypot(*np.diff(xy, axis=0)[same].T)
    return float(lengths.max(initial=0.0))


def area_of_interest(
    config: RunConfig, *, source: str = "config", features: gpd.GeoDataFrame | None = None
) -> AreaOfInterest:
    """Build the area of interest of a config.

    Parameters
    ----------
    config
        A validated config.
    source
        Name of the config in error messages.
    features
        With ``aoi.zones`` naming IRIS or QPV: that layer already read with
        :func:`read_zone_layer` (a run reads it once); default: read here, its warnings
        silenced (the run's own read reports them).

    Returns
    -------
    AreaOfInterest
        In EPSG:4326 for a bounding box, in the layer's CRS otherwise; grown by
        ``aoi.buffer_m`` if set (then in EPSG:4326, its description saying so).

    Raises
    ------
    ConfigError
        An unreadable or empty polygon file, a table without geometry, a layer without CRS
        or whose coordinates contradict it (a GeoJSON in metres, which RFC 7946 makes
        longitude/latitude), or communes with no feature; the message names the ``aoi`` key.
    """
    aoi = config.aoi
    if aoi.bbox is not None:
        area = AreaOfInterest(box(*aoi.bbox), WGS84, f"bbox {list(aoi.bbox)}")
    elif aoi.file is not None:
        frame = _read_layer(aoi.file, aoi.layer, key="aoi.file", source=source)
        description = f"{len(frame)} features of {aoi.file.name}"
        area = _union(frame, description, "aoi.file", source, config.scheduler.workers)
    else:
        frame = _zone_features(config, source=source, features=features)
        description = _zones_description(config, frame)
        area = _union(frame, description, "aoi.zones", source, config.scheduler.workers)
    if aoi.buffer_m:
        grown = area.buffered(aoi.buffer_m)
        area = replace(grown, description=f"{area.description}, grown by {aoi.buffer_m:g} m")
    logger.info("area of interest: %s", area.description)
    return area


def area_outline(config: RunConfig, *, from_features: bool = False) -> AreaOfInterest | None:
    """Return the area of interest, or a box holding it, without reading a feature.

    A bounding box (``aoi.bbox``) is the area itself. The union of a polygon file's features
    (``aoi.file``) or of a zone layer's (``aoi.zones`` without ``aoi.communes``) lies within
    the layer's extent, which the file's header or index gives (a GeoPackage's
    ``gpkg_contents``, a shapefile's header: :func:`pipelines.census._layers.layer_extent`).
    Grown by ``aoi.buffer_m`` if set.

    Parameters
    ----------
    config
        The run config.
    from_features
        Take a layer's extent from its features' own bounds (:func:`_features_bounds`, no
        geometry read whole, repaired or united) instead of its header, which may hold
        features since deleted: GDAL and QGIS leave a GeoPackage's ``gpkg_contents`` extent
        as it was when they delete features.

    Returns
    -------
    AreaOfInterest or None
        Its description says where it comes from (``"the extent of the 48,056 features of
        CONTOURS-IRIS.gpkg in zones.iris"``). None when only the features can tell: the zones
        of ``aoi.communes``, or a layer that is missing, unreadable, empty, without CRS or with
        coordinates its CRS contradicts (reading it then says what is wrong).
    """
    aoi = config.aoi
    if aoi.bbox is not None:
        area = AreaOfInterest(box(*aoi.bbox), WGS84, f"bbox {list(aoi.bbox)}")
    elif aoi.communes is not None:
        return None
    else:
        if aoi.file is not None:
            path, layer, key = aoi.file, aoi.layer, "aoi.file"
        elif (zones := _zone_layer(config, aoi.zones)) is not None:
            path, layer, key = zones[0].path, zones[0].layer, zones[1]
        else:
            return None
        outline = _layer_outline(Path(path), layer, key, from_features=from_features)
        if outline is None:
            return None
        area = outline
    if aoi.buffer_m:
        grown = area.buffered(aoi.buffer_m)
        area = replace(grown, description=f"{area.description}, grown by {aoi.buffer_m:g} m")
    return area


def _layer_outline(
    path: Path, layer: str | None, key: str, *, from_features: bool = False
) -> AreaOfInterest | None:
    """Return the extent of a vector file's layer as a box (see :func:`area_outline`)."""
    from pipelines.census._layers import layer_header

    try:
        crs, extent, count = layer_header(path, layer)
        if from_features:
            extent = _features_bounds(path, layer)
    except Exception:  # missing or unreadable: the read of its features says why
        return None
    if crs is None or extent is None:
        return None
    west, south, east, north = extent
    if crs.is_geographic and not (-180 <= west and east <= 180 and -90 <= south and north <= 90):
        return None
    features = f"{count:,} features" if count >= 0 else "features"
    description = f"the extent of the {features} of {path.name} in {key}"
    try:
        return AreaOfInterest(box(west, south, east, north), crs, description)
    except ValueError:  # a point or a line: no area
        return None


def _features_bounds(path: Path, layer: str | None) -> tuple[float, float, float, float] | None:
    """Return the bounds of all of a layer's features from each one's own bounds.

    With :func:`pyogrio.read_bounds`, no geometry is built: under a second for a GeoPackage
    of 48,000 IRIS, where reading, repairing and uniting them takes minutes. None for a
    layer without a non-empty geometry.
    """
    bounds = pyogrio.read_bounds(path, layer=layer)[1]
    bounds = bounds[:, np.isfinite(bounds).all(axis=0)]  # empty geometries: NaN bounds
    if not bounds.shape[1]:
        return None
    west, south = bounds[:2].min(axis=1)
    east, north = bounds[2:].max(axis=1)
    return float(west), float(south), float(east), float(north)


def grid_crs(config: RunConfig, area: AreaOfInterest) -> CRS:
    """Return the grid CRS: ``grid.crs``, or the UTM zone of the area's centre for ``utm``."""
    if config.grid.crs == "utm":
        return area.utm_crs()
    return CRS.from_user_input(config.grid.crs)


def _read_layer(path: Path, layer: str | None, *, key: str, source: str) -> gpd.GeoDataFrame:
    if not path.exists():
        raise ConfigError(f"{source}: {key}: file not found: {path}")
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as err:  # pyogrio raises several types for unreadable files
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"{source}: {key}: cannot read {path}: {reason}") from err
    if not _has_geometry(frame):
        raise ConfigError(
            f"{source}: {key}: {path} has no geometry{_other_layers(path, layer, key)}"
        )
    if frame.crs is None:
        raise ConfigError(f"{source}: {key}: {path} has no CRS; set one (e.g. EPSG:2154)")
    _check_lonlat(frame, path, key=key, source=source)
    return frame


def _has_geometry(frame: Any) -> bool:
    """Whether a read table is a GeoDataFrame with its geometry column (not a CSV's table)."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return False
    try:
        return frame.geometry.name in frame.columns
    except AttributeError:  # a GeoDataFrame without an active geometry column
        return False


def _other_layers(path: Path, layer: str | None, key: str) -> str:
    """Say what to do about a layer without geometry: the file's layers, if some have one."""
    layer_key = "aoi.layer" if key == "aoi.file" else f"{key}.layer"
    try:
        layers = [(str(name), kind) for name, kind in pyogrio.list_layers(path)]
    except Exception:  # only a hint, about a file that was read
        layers = []
    if not any(kind is not None for _name, kind in layers):
        alternatives = " or use aoi.bbox or aoi.zones" if key == "aoi.file" else ""
        return (
            " (a table without coordinates); give a polygon file (GeoPackage, GeoJSON, "
            f"shapefile){alternatives}"
        )
    listed = ", ".join(f"{name} ({kind or 'no geometry'})" for name, kind in layers)
    what = f"its layer {layer!r}" if layer is not None else "its first layer"
    return f" in {what}; its layers: {listed}; name a layer with geometry in {layer_key}"


def _check_lonlat(frame: gpd.GeoDataFrame, path: Path, *, key: str, source: str) -> None:
    """Refuse a layer whose CRS is geographic but whose coordinates are no degrees.

    GeoJSON has no CRS but EPSG:4326 (RFC 7946): a file written in Lambert-93 without a
    ``crs`` member is read as degrees, and its metres would be taken for longitudes.
    """
    if not CRS.from_user_input(frame.crs).is_geographic or frame.empty:
        return
    west, south, east, north = (float(v) for v in frame.total_bounds)
    if not all(np.isfinite([west, south, east, north])):
        return
    if -180.0 <= west and east <= 180.0 and -90.0 <= south and north <= 90.0:
        return
    where = f"coordinates (e.g. x {west:.0f} to {east:.0f}, y {south:.0f} to {north:.0f})"
    if _is_geojson(path):
        raise ConfigError(
            f"{source}: {key}: {path}'s {where} are not longitude/latitude, although GeoJSON "
            "(RFC 7946) says they are: re-export it in EPSG:4326 (or as a GeoPackage, which "
            "keeps its CRS)"
        )
    raise ConfigError(
        f"{source}: {key}: {path} says its CRS is {CRS.from_user_input(frame.crs).name}, but "
        f"its {where} are not longitude/latitude: set its true CRS (e.g. EPSG:2154)"
    )


def _is_geojson(path: Path) -> bool:
    try:
        return str(pyogrio.read_info(path).get("driver", "")).lower() == "geojson"
    except Exception:  # GDAL cannot say: the name does
        return path.suffix.lower() in (".geojson", ".json")


def _union(
    frame: gpd.GeoDataFrame, description: str, key: str, source: str, workers: int | None
) -> AreaOfInterest:
    geometries = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    # Every geometry: the polygons of a collection count too (polygon_union keeps them).
    union = polygon_union(geometries.to_numpy(), workers=workers)
    if union.is_empty:
        raise ConfigError(f"{source}: {key}: no polygon to make the area of interest from")
    return AreaOfInterest(union, CRS.from_user_input(frame.crs), description)


#: The fewest polygons a union splits into two halves united each on its own thread
#: (:func:`_bisected_union`).
SPLIT_FROM = 256


def polygon_union(geometries: np.ndarray, *, workers: int | None = None) -> BaseGeometry:
    """Return the union of the polygonal parts of ``geometries``, each repaired first.

    Zones that form a coverage (no overlap, shared edges that match: the demo's IRIS, the
    real ones of Lyon and Paris in the tests' data) only lose their shared edges
    (:func:`shapely.coverage_union_all`, 3 times faster than :func:`shapely.union_all` on
    8,100 IRIS). Zones whose edges differ from their neighbours' or overlap them (a file
    simplified or edited polygon by polygon) are merged by :func:`shapely.union_all` on
    ``workers`` threads (:func:`_bisected_union`; making them a coverage first,
    :func:`shapely.coverage_clean`, takes as long and twice the memory), then with the
    coverage of the others. Either union of valid polygons is valid: the result is not
    repaired again (on 8,100 noisy IRIS that check alone took 22 s).

    Parameters
    ----------
    geometries
        Geometries (shapely), valid or not; their points and lines are left out, as
        :func:`shapely.make_valid` makes of collapsed rings.
    workers
        Threads at most (``scheduler.workers``; a power of 2 of them is used), and never more
        than one per CPU of this machine (a cluster's workers are not its threads); default:
        one per CPU. The union's vertices where edges cross may differ by rounding with the
        number of threads (not its area).

    Returns
    -------
    BaseGeometry
        A valid polygon or multipolygon, empty if no geometry has an area.
    """
    polygons = polygon_parts(shapely.make_valid(np.asarray(geometries, dtype=object)))
    if len(polygons) == 0:
        return shapely.MultiPolygon()
    # The polygons with no edge astray (each shared edge matched, none inside another
    # polygon) form a coverage among themselves: the others, often few, overlap or miss.
    astray = ~shapely.is_empty(shapely.coverage_invalid_edges(polygons))
    united = [shapely.coverage_union_all(polygons[~astray])] if not astray.all() else []
    if astray.any():
        levels = int(np.log2(max(min(workers or CPU_COUNT, CPU_COUNT), 1)))
        centres = shapely.get_coordinates(shapely.centroid(polygons[astray]))
        united.append(_bisected_union(polygons[astray], centres, levels))
    return united[0] if len(united) == 1 else shapely.union(*united)


def _bisected_union(polygons: np.ndarray, centres: np.ndarray, levels: int) -> BaseGeometry:
    """Return the union of ``polygons`` on ``2 ** levels`` threads.

    The polygons are split in two halves at the median of their centres (``(n, 2)``) along
    the wider side of their extent, each half united on its own thread (GEOS lets go of the
    GIL), then the two unions merged: on 2 threads with a core free, 2,025 IRIS whose edges
    differ by a metre took 5.8 s against 12.2 s for one :func:`shapely.union_all`, for no
    more CPU (on a busy machine, no faster). The same points as one union: the crossings of
    the edges are rounded in another order (the symmetric difference measured 0 m²).
    """
    if levels <= 0 or len(polygons) < SPLIT_FROM:
        return shapely.union_all(polygons)
    axis = int(np.argmax(np.ptp(centres, axis=0)))
    order = np.argsort(centres[:, axis], kind="stable")
    first, second = np.array_split(order, 2)
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(_bisected_union, polygons[second], centres[second], levels - 1)
        union = _bisected_union(polygons[first], centres[first], levels - 1)
        return shapely.union(union, other.result())


def polygon_parts(geometry: BaseGeometry | np.ndarray) -> np.ndarray:
    """Return the polygons of ``geometry``, not empty, out of any multi-part or collection.

    ``geometry``: one geometry, or an array of them (missing ones left out). The points and
    lines of a collection (:func:`shapely.make_valid`'s collapsed rings) are left out.
    """
    parts = np.asarray(geometry, dtype=object).reshape(-1)
    while (nested := shapely.get_type_id(parts) >= 4).any():  # multi-parts, collections
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    return parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]


def _zone_features(
    config: RunConfig, *, source: str, features: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    """Read the zone layer named by ``aoi.zones``, filtered by ``aoi.communes``."""
    name = config.aoi.zones
    if name in ("iris", "qpv"):
        if features is not None:
            frame = features
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the run's own read reports them
                frame = read_zone_layer(config, name, source=source, communes=config.aoi.communes)
        commune_column = "insee_com"
    else:
        extra = next(layer for layer in config.zones.extra if layer.name == name)
        frame = _read_layer(extra.path, extra.layer, key=f"zones.extra[{name}]", source=source)
        commune_column = _find_column(frame, extra.commune_field)
        if commune_column is None and config.aoi.communes is not None:
            raise ConfigError(
                f"{source}: aoi.communes: zone layer {name!r} has no column "
                f"{extra.commune_field!r}; set zones.extra[].commune_field"
            )
    communes = config.aoi.communes
    if communes is None:
        return frame
    codes = frame[commune_column].astype("string").str.strip().str.upper()
    inside, missing = _of_communes([codes], communes)
    if missing:
        raise _missing_communes(config, name, missing, codes, source)
    return frame[inside]


def _of_communes(keys: list[pd.Series], communes: Collection[str]) -> tuple[np.ndarray, list[str]]:
    """Rows whose code in any of ``keys`` files a listed commune, and the communes not found.

    A value may list several communes (ANCT's ``insee_com`` of a QPV that spans them,
    ``"69266, 69290"``): it files each of them. Paris, Marseille and Lyon also take their
    arrondissements' codes (:func:`commune_codes`).
    """
    wanted = {code: commune_codes(code) for code in communes}
    accepted = frozenset().union(*wanted.values())
    inside = np.zeros(len(keys[0]) if keys else 0, dtype=bool)
    found: set[str] = set()
    for key in keys:
        listed = [set(_LISTED.split(v.strip())) if isinstance(v, str) else set() for v in key]
        hits = [codes & accepted for codes in listed]
        inside |= np.array([bool(hit) for hit in hits], dtype=bool)
        found.update(*hits)
    return inside, [code for code, codes in wanted.items() if not codes & found]


def _missing_communes(
    config: RunConfig, name: str, missing: list[str], codes: pd.Series, source: str
) -> ConfigError:
    found = sorted(set(codes.dropna()))
    layer, _key = _zone_layer(config, name)  # the layer the communes were read from
    return ConfigError(
        f"{source}: aoi.communes: no {name} feature of commune(s) {', '.join(missing)} in "
        f"{layer.path.name} ({_nearest_codes(missing[0], found)}); check the "
        "codes and the layer's millésime"
    )


#: How many of a layer's commune codes an error about a missing commune lists.
_CODES_SHOWN = 5


def _nearest_codes(code: str, found: list[str]) -> str:
    """Say which of the sorted codes ``found`` are nearest ``code``, in its département.

    A typo (``31556`` for ``31555``) then shows the right code beside it, not the first
    communes of France. When the layer has no commune of that département, its first codes.
    """
    area = departement(code)
    near = [c for c in found if departement(c) == area]
    if not near:
        return (
            f"no commune of département {area} in the layer; communes found e.g. "
            f"{', '.join(found[:_CODES_SHOWN])}"
        )
    at = bisect_left(near, code)
    start = min(max(at - _CODES_SHOWN // 2, 0), max(len(near) - _CODES_SHOWN, 0))
    return f"the layer's communes nearest {code}: {', '.join(near[start : start + _CODES_SHOWN])}"


def read_zone_layer(
    config: RunConfig,
    name: str,
    *,
    source: str = "config",
    within: AreaOfInterest | None = None,
    communes: Collection[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read zone layer ``name`` (``iris`` or ``qpv``) of a config with its census reader.

    The reader (:func:`pipelines.census.read_iris`, ``read_qpv``) normalises the columns,
    repairs the geometries and emits its warnings. With ``within``, only the features of the
    file near that area are read (the reader's ``bbox``): a national IGN or ANCT file gives a
    city's features; the caller keeps those of the area. With ``communes`` (IRIS only), the
    IRIS of those communes are found from the file's attributes and only they are read
    (:func:`_commune_fids`); the caller still filters.

    Raises
    ------
    ConfigError
        The layer is not configured, its file is missing or unreadable, or its codes are
        wrong; the message names the ``zones.<name>`` key.
    """
    from pipelines.census import read_iris, read_qpv

    layer_config = {"iris": config.zones.iris, "qpv": config.zones.qpv}[name]
    if layer_config is None:
        raise ConfigError(f"{source}: zones.{name}: no {name.upper()} layer configured")
    if not layer_config.path.exists():
        raise ConfigError(f"{source}: zones.{name}.path: file not found: {layer_config.path}")
    bbox = None if within is None else within.series()
    try:
        zones, layer = zone_source(layer_config, name, bbox=bbox)
        fids = None
        if name == "iris" and communes is not None and isinstance(zones, Path):
            fids = _commune_fids(config, zones, layer, communes, source)
        if name == "iris":
            frame, _warnings = read_iris(zones, layer=layer, bbox=bbox, fids=fids)
        else:
            frame, _warnings = read_qpv(zones, layer=layer, bbox=bbox)
    except ConfigError:
        raise
    except (IlotsError, OSError) as err:
        key = "layer" if isinstance(err, LayerNotFoundError) else "path"
        raise ConfigError(f"{source}: zones.{name}.{key}: {err}") from err
    return frame


def _commune_fids(
    config: RunConfig, path: Path, layer: Any, communes: Collection[str], source: str
) -> list[int] | None:
    """Return the feature ids of a file's IRIS of ``communes``, read from its attributes only.

    A feature is taken when its commune code or the first 5 characters of its IRIS code
    files one of ``communes`` (:func:`_of_communes`). None when the columns cannot be told
    apart (the whole file is then read, and filtered after).

    Raises
    ------
    ConfigError
        A listed commune has no feature (the message gives codes found in the file).
    """
    from pipelines.census.codes import COMMUNE, IRIS, normalise_codes
    from pipelines.census.fields import IRIS_CODE, IRIS_COMMUNE, find_column

    try:
        table = pyogrio.read_dataframe(path, layer=layer, read_geometry=False, fid_as_index=True)
        commune = find_column(table.columns, IRIS_COMMUNE, error=ValueError, what="commune")
        code = find_column(table.columns, IRIS_CODE, error=ValueError, what="IRIS code")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError):
        return None
    keys = [normalise_codes(table[commune], COMMUNE).codes] if commune is not None else []
    if code is not None:
        keys.append(normalise_codes(table[code], IRIS).codes.str[:5])
    if not keys:
        return None
    inside, missing = _of_communes(keys, communes)
    if missing:
        raise _missing_communes(config, "iris", missing, keys[0], source)
    return [int(fid) for fid in table.index[inside]]


def zone_source(layer: Any, name: str, *, bbox: gpd.GeoSeries | None = None) -> tuple[Any, Any]:
    """Return what the reader of zone layer ``name`` reads: its file and layer, or features.

    The readers (:func:`pipelines.census.read_iris`, ``read_qpv``) find the zone code among
    the column names IGN and ANCT use; ``zones.<name>.id`` names another column, which then
    takes the first of those names (the others are dropped). ``bbox`` as the readers'.
    """
    from pipelines.census import open_layer
    from pipelines.census.fields import IRIS_CODE, QPV_CODE

    known = IRIS_CODE if name == "iris" else QPV_CODE
    if layer.id == "auto":
        return layer.path, layer.layer
    frame = open_layer(layer.path, layer=layer.layer, what=name.upper(), bbox=bbox)
    if layer.id not in frame.columns:
        columns = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise ConfigError(f"zones.{name}.id: no column {layer.id!r} in {layer.path.name} "
                          f"(columns: {columns})")  # fmt: skip
    others = [c for c in frame.columns if str(c).upper() in known and c != layer.id]
    return frame.drop(columns=others).rename(columns={layer.id: known[0]}), None


def _zone_layer(config: RunConfig, name: str | None) -> tuple[Any, str] | None:
    """Return the config of zone layer ``name`` and its key (``zones.iris``, ``zones.extra[0]``).

    None when the config has no such layer.
    """
    if name in ("iris", "qpv"):
        layer = config.zones.iris if name == "iris" else config.zones.qpv
        return None if layer is None else (layer, f"zones.{name}")
    names = [layer.name for layer in config.zones.extra]
    if name not in names:
        return None
    return config.zones.extra[names.index(name)], f"zones.extra[{names.index(name)}]"


def _find_column(frame: gpd.GeoDataFrame, wanted: str) -> str | None:
    for column in frame.columns:
        if str(column).lower() == wanted.lower():
            return str(column)
    return None


def _zones_description(config: RunConfig, frame: gpd.GeoDataFrame) -> str:
    """``"64 iris features of commune(s) 31555"``; without ``aoi.communes``, how many communes.

    Of more than :data:`NAMED_COMMUNES` communes, the first ones given and how many more
    (``"of commune(s) 31555, 31069, 31149, 31557, 31506 and 40 more"``). An IRIS layer read
    whole (a national file: ``"47952 iris features of 34816 communes"``)
    says so, as the area is then all of them.
    """
    text = f"{len(frame)} {config.aoi.zones} features"
    if config.aoi.communes is not None:
        codes = list(config.aoi.communes)
        text += f" of commune(s) {', '.join(codes[:NAMED_COMMUNES])}"
        if len(codes) > NAMED_COMMUNES:
            text += f" and {len(codes) - NAMED_COMMUNES} more"
    elif config.aoi.zones == "iris" and "insee_com" in frame.columns:
        communes = frame["insee_com"].nunique()
        text += f" of {communes} commune{'s' if communes > 1 else ''}"
    return text
