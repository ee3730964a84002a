"""The analysis grid: CRS, pixel size, extent, and chunks aligned to it.

An analysis grid is an :class:`odc.geo.geobox.GeoBox`. By default its CRS is the UTM zone of
the area's centre (science.md §6.2: statistics are computed in the raster's UTM zone, never
in a warped Lambert-93 copy), its pixel edges sit on whole multiples of the resolution (so
grids built for neighbouring areas line up), and Dask chunks are whole multiples of a block
size so that every chunk maps to whole blocks of the output COG.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import pyproj
from odc.geo import CRS, xy_
from odc.geo.geobox import GeoBox
from odc.geo.geom import BoundingBox, Geometry

from tiles.errors import GridError

__all__ = [
    "DEFAULT_CHUNK",
    "LANDSAT_PIXEL_M",
    "SENTINEL2_PIXEL_M",
    "aligned_chunks",
    "analysis_geobox",
    "crs_name",
    "grid_anchor",
    "is_utm",
    "landsat_subdivision",
    "northing_offset",
    "sensor_pixel_edges",
    "utm_crs_for",
]


def crs_name(crs: Any) -> str:
    """Return a short name for a CRS, for messages.

    Parameters
    ----------
    crs
        Anything pyproj reads: a pyproj, rasterio or odc-geo CRS, WKT, ``"EPSG:2154"``.

    Returns
    -------
    ``EPSG:2154`` when it has an authority code; else its name; else, for a CRS named
    "unknown" (one built from a PROJ string, such as a local equal-area projection), its PROJ
    string; ``"unknown"`` only when it has none of these.
    """
    crs = pyproj.CRS.from_user_input(crs)
    authority = crs.to_authority(min_confidence=90)
    if authority:
        return ":".join(authority)
    if crs.name and crs.name != "unknown":
        return crs.name
    return _proj_string(crs) or "unknown"


def _proj_string(crs: pyproj.CRS) -> str | None:
    """Return the CRS's PROJ string without its ``+no_defs +type=crs`` tail, or None."""
    with warnings.catch_warnings():  # pyproj: "you will likely lose ... information"
        warnings.simplefilter("ignore", UserWarning)
        try:
            proj4 = crs.to_proj4()
        except pyproj.exceptions.CRSError:
            return None
    if not proj4:
        return None
    return " ".join(t for t in proj4.split() if t not in ("+no_defs", "+type=crs")) or None


#: Default chunk edge in pixels (a multiple of the 512-pixel COG block).
DEFAULT_CHUNK = 2048


def utm_crs_for(lon: float, lat: float) -> CRS:
    """Return the WGS 84 / UTM CRS whose zone contains a point.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (EPSG:4326).

    Returns
    -------
    The ``EPSG:326zz`` (north) or ``EPSG:327zz`` (south) CRS.

    Raises
    ------
    GridError
        If the coordinates are not valid longitudes/latitudes.
    """
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        raise GridError(
            f"({lon}, {lat}) is not a longitude/latitude inside the UTM domain; "
            "give the area in EPSG:4326 degrees or set the grid CRS explicitly"
        )
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return CRS(f"EPSG:{(32600 if lat >= 0 else 32700) + zone}")


def analysis_geobox(
    area: Geometry | BoundingBox | Sequence[float],
    resolution: float,
    crs: str | int | CRS | None = None,
    *,
    anchor: str = "edge",
) -> GeoBox:
    """Build the analysis grid covering an area.

    Parameters
    ----------
    area
        A geometry with a CRS, a bounding box with a CRS, or ``(west, south, east, north)``
        in EPSG:4326 degrees.
    resolution
        Pixel size in units of the grid CRS (metres for UTM).
    crs
        Grid CRS; default the UTM zone of the area's centre.
    anchor
        ``"edge"`` (default): pixel edges at whole multiples of ``resolution``, as
        Sentinel-2's grids; ``"center"``: pixel centres there, edges half a pixel off;
        ``"landsat"``: edges on those of Landsat's 30 m UTM pixels (15 m + k·30 m in the
        north zone USGS grids them in, also south of the equator) for any whole multiple of
        30 m (:func:`grid_anchor`).

    Returns
    -------
    A north-up GeoBox whose pixel edges (or centres) fall as ``anchor`` says.

    Raises
    ------
    GridError
        If the resolution is not positive or the area is empty.
    """
    if not resolution or resolution <= 0:
        raise GridError(f"grid resolution must be a positive number of metres, got {resolution!r}")
    geom = _as_geometry(area)
    if geom.is_empty or geom.area == 0:
        raise GridError("the area of interest is empty; give a bounding box or polygon with area")
    if crs is None:
        centre = geom.to_crs("EPSG:4326").centroid
        crs = utm_crs_for(centre.coords[0][0], centre.coords[0][1])
    if anchor not in ("edge", "center", "landsat"):
        raise GridError(f"grid anchor must be 'edge', 'center' or 'landsat', got {anchor!r}")
    snap: Any = anchor
    if anchor == "landsat":  # odc-geo's anchor: the edges' offset, as a fraction of a pixel
        snap = _landsat_anchor(float(resolution), CRS(crs))
    return GeoBox.from_geopolygon(geom.to_crs(crs), resolution=resolution, anchor=snap)


def _landsat_anchor(resolution: float, crs: CRS) -> Any:
    """Return the odc-geo anchor that puts a grid's edges on Landsat's (15 m + k·30 m).

    USGS grids southern scenes in the north UTM zone, with negative northings (EPSG:326zz);
    a grid in the zone's south CRS (327zz, 10,000 km false northing) has Landsat's edges at
    10,000,015 m + k·30 m there.
    """
    half = LANDSAT_PIXEL_M / 2
    south = crs.epsg is not None and 32701 <= crs.epsg <= 32760
    y_edge = half + (SOUTH_FALSE_NORTHING_M if south else 0.0)
    return xy_(half % resolution / resolution, y_edge % resolution / resolution)


#: Pixel size (m) of the Landsat Collection 2 Level-2 bands (ST is delivered at 30 m,
#: resampled by USGS from TIRS's 100 m). Its UTM grids have their pixel edges at
#: 15 m + k·30 m (the USGS products' ``proj:transform``), half a pixel off Sentinel-2's, at
#: multiples of 10 m.
LANDSAT_PIXEL_M = 30.0
#: False northing of the southern UTM zones (EPSG:327zz), in metres.
SOUTH_FALSE_NORTHING_M = 10_000_000.0


def is_utm(epsg: int | None) -> bool:
    """Whether an EPSG code is a WGS 84 / UTM zone (326zz north, 327zz south)."""
    return epsg is not None and (32601 <= epsg <= 32660 or 32701 <= epsg <= 32760)


def northing_offset(source: Any, target: Any) -> float | None:
    """Add this to a ``source`` northing to get the same point's northing in ``target``.

    0 when the CRSs are equal; ±10,000 km between the north and south CRSs of one UTM zone
    (USGS grids southern Landsat scenes in the north zone, EPSG:326zz with negative
    northings, where Sentinel-2 and the analysis grid use the south zone, 327zz): the same
    projection, so a grid in one is a translated grid in the other, with no resampling.
    None otherwise (the grids need a warp).

    ``source``, ``target``: anything odc-geo reads as a CRS.
    """
    a, b = CRS(source), CRS(target)
    if a == b:
        return 0.0
    if not (is_utm(a.epsg) and is_utm(b.epsg)) or a.epsg % 100 != b.epsg % 100:
        return None
    south = (b.epsg > 32700) - (a.epsg > 32700)  # type: ignore[operator]
    return south * SOUTH_FALSE_NORTHING_M


def landsat_subdivision(resolution: float) -> int | None:
    """Grid pixels per Landsat pixel along an axis when ``resolution`` divides 30 m.

    2 or more (15 m: 2, 10 m: 3); None when ``resolution`` is not a whole fraction of 30 m
    finer than it (the grids thermal sharpening can put the Landsat LST on).
    """
    ratio = LANDSAT_PIXEL_M / float(resolution)
    factor = round(ratio)
    return factor if factor >= 2 and abs(ratio - factor) < 1e-6 else None


def grid_anchor(resolution: float, crs: Any) -> str:
    """Anchor of an analysis grid, so that the Landsat pixels need no resampling if they can.

    ``"landsat"`` for a UTM grid whose pixel is a whole multiple of 30 m: its edges then fall
    on Landsat's (15 m + k·30 m), so at 30 m the LST is read pixel for pixel (an edge-anchored
    grid put every pixel centre on a Landsat pixel edge and took the pixel half a pixel east
    and south) and at 60 m a pixel holds 2 × 2 whole Landsat pixels (centre-anchored, it cut
    3 × 3 of them); the Sentinel-2 bands are averaged onto it as at any 30 m grid. ``"edge"``
    otherwise: below 30 m the grid keeps Sentinel-2's edges (its 10 and 20 m pixels are not
    resampled), and a grid in another CRS resamples both sensors.
    """
    ratio = float(resolution) / LANDSAT_PIXEL_M
    whole = ratio >= 1 and abs(ratio - round(ratio)) < 1e-9
    return "landsat" if whole and is_utm(CRS(crs).epsg) else "edge"


#: Pixel size (m) of Sentinel-2's finest bands (B2, B3, B4, B8); its UTM grids have their
#: pixel edges at k·10 m, and those of its 20 m bands at k·20 m.
SENTINEL2_PIXEL_M = 10.0


def sensor_pixel_edges(resolution: float) -> tuple[str, ...]:
    """Return the sensors whose pixel edges a UTM analysis grid of this pixel size keeps.

    Along such edges every grid pixel holds whole pixels of the sensor, or lies inside one of
    them, so the sensor's pixels are read as stored, averaged whole, or subdivided; off them,
    every band is resampled across its pixels' edges.

    Parameters
    ----------
    resolution
        Pixel size of the grid, in metres.

    Returns
    -------
    ``"landsat"`` when the pixel is a whole multiple of 30 m (:func:`grid_anchor` lays the
    grid on Landsat's edges, 15 m + k·30 m) or a whole fraction of 15 m (15, 7.5, 5 m: the
    ``"edge"`` anchor's k·resolution includes them); ``"sentinel2"`` when the grid is
    edge-anchored (not a multiple of 30 m) and its pixel is a whole fraction of 10 m or a
    whole multiple of 20 m (the edges of the 20 m bands, SWIR and the SCL, as well as the
    10 m ones: a 50 m pixel cuts the 20 m pixels); both, one or none of them, in that order.
    """
    landsat_anchor = _whole(resolution / LANDSAT_PIXEL_M)
    kept = []
    if landsat_anchor or _whole(LANDSAT_PIXEL_M / 2 / resolution):
        kept.append("landsat")
    if not landsat_anchor and (
        _whole(resolution / (2 * SENTINEL2_PIXEL_M)) or _whole(SENTINEL2_PIXEL_M / resolution)
    ):
        kept.append("sentinel2")
    return tuple(kept)


def _whole(ratio: float) -> bool:
    """Whether a ratio of pixel sizes is a whole number, 1 or more."""
    return ratio >= 1 - 1e-9 and abs(ratio - round(ratio)) < 1e-9


def aligned_chunks(geobox: GeoBox, chunk: int = DEFAULT_CHUNK, block: int = 512) -> dict[str, int]:
    """Chunk sizes for a grid: square, a multiple of ``block``, never larger than needed.

    Parameters
    ----------
    geobox
        The grid to chunk.
    chunk
        Wanted chunk edge in pixels; rounded up to a multiple of ``block``.
    block
        Block edge of the output files (COG tiles).

    Returns
    -------
    ``{"y": ny, "x": nx}`` for ``odc.stac.load(chunks=...)`` and ``xarray.Dataset.chunk``.
    """
    if chunk <= 0 or block <= 0:
        raise GridError(f"chunk and block sizes must be positive, got {chunk} and {block}")
    edge = int(math.ceil(chunk / block) * block)
    ny, nx = geobox.shape.yx
    return {"y": min(edge, ny), "x": min(edge, nx)}


def _as_geometry(area: Geometry | BoundingBox | Sequence[float]) -> Geometry:
    if isinstance(area, Geometry):
        if area.crs is None:
            raise GridError("the area geometry has no CRS; set one (e.g. EPSG:4326)")
        return area
    if isinstance(area, BoundingBox):
        if area.crs is None:
            raise GridError("the area bounding box has no CRS; set one (e.g. EPSG:4326)")
        return area.polygon
    values = tuple(float(v) for v in area)
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise GridError(
            f"a bounding box is (west, south, east, north) with west < east and south < north, "
            f"got {values}"
        )
    return BoundingBox(*values, crs="EPSG:4326").polygon
