"""Zone layers made ready for zonal statistics: ids checked, geometries valid, raster CRS.

:func:`prepare_zones` is the single gate every zone layer (IRIS, QPV, any polygons) goes
through before coverage fractions are computed. It never touches the raster: the zones are
reprojected to the raster CRS (science.md §6.2 rule 1), because warping the raster would
resample and smear it.

What it decides, in order:

1. **Ids.** The id column must exist, hold no nulls and no duplicates; its values are kept
   with their dtype (IRIS codes stay strings, with their leading zeros) and in input order.
2. **Polygonal parts.** Zones are areas. A geometry collection is reduced to its polygons;
   lines and points are dropped. A zone with no polygonal part at all (a line, a point) is
   kept as an empty polygon, and so is a missing (``None``) or empty geometry: the zone keeps
   its row and gets NaN statistics later. Each of these cases gives one
   :class:`~tiles.errors.IlotsWarning` with its count.
3. **Repair, in the zones' own CRS first.** Invalid geometries are repaired with
   ``shapely.make_valid(method="structure", keep_collapsed=False)``: rings are noded, shells
   are unioned and holes subtracted, so a bow-tie becomes its two triangles and overlapping
   parts count once (the default ``"linework"`` method would turn an overlap into a hole);
   collapsed parts (spikes, zero-area slivers) are dropped, so the result is always polygonal.
   Repairing before reprojection fixes the geometry the publisher drew, in the coordinates
   it was drawn in.
4. **Reprojection** to the raster CRS with :meth:`geopandas.GeoSeries.to_crs` when the two
   CRSs differ (logged at INFO). Reprojection can itself make a geometry invalid (two nearly
   touching vertices crossing after the transform), so validity is checked again in the
   raster CRS and those geometries are repaired too. One warning gives the total repaired
   and how many of them were found after reprojection.

All steps are vectorised shapely 2 operations; the caller's GeoDataFrame is never modified.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely import GeometryType

from tiles.errors import CRSError, IlotsWarning, ZonesError
from tiles.grid import crs_name

__all__ = ["PreparedZones", "prepare_zones"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: How many example ids an error or warning message names.
_N_EXAMPLES = 5
#: How many column names a "column not found" message lists before eliding the rest.
_N_COLUMNS = 30

_EMPTY = shapely.Polygon()
_POLYGON = int(GeometryType.POLYGON)
_MULTIPOLYGON = int(GeometryType.MULTIPOLYGON)
_COLLECTIONS = (int(GeometryType.MULTIPOLYGON), int(GeometryType.GEOMETRYCOLLECTION))


@dataclass(frozen=True, eq=False)
class PreparedZones:
    """A zone layer validated and brought to the raster CRS, ready for coverage fractions.

    Parameters
    ----------
    ids
        The zone ids, unique and non-null, in input order, with the dtype of the id column
        (its ``name`` is the id column's name).
    geometry
        One Polygon or MultiPolygon per zone, in ``crs``, same order as ``ids``; an empty
        polygon where the zone has no area (missing, empty, or non-polygonal input). Stored
        as a read-only object array of shapely geometries.
    crs
        The raster CRS the geometries are in.
    source_crs
        The CRS of the zones as given.
    repaired
        How many geometries were invalid and repaired (in the source CRS or after
        reprojection).

    Raises
    ------
    ValueError
        If ``ids`` and ``geometry`` differ in length, ids are not unique, a geometry is not
        polygonal, or ``repaired`` is negative.
    """

    ids: pd.Index
    geometry: np.ndarray
    crs: pyproj.CRS
    source_crs: pyproj.CRS
    repaired: int = 0

    def __post_init__(self) -> None:
        ids = self.ids if isinstance(self.ids, pd.Index) else pd.Index(self.ids)
        geometry = np.array(_to_numpy(self.geometry), dtype=object)
        if geometry.ndim != 1:
            raise ValueError(f"geometry must be one-dimensional, got shape {geometry.shape}")
        if len(ids) != len(geometry):
            raise ValueError(
                f"ids ({len(ids)}) and geometry ({len(geometry)}) must have the same length"
            )
        if not ids.is_unique:
            raise ValueError("zone ids must be unique")
        types = shapely.get_type_id(geometry)
        if not np.isin(types, (_POLYGON, _MULTIPOLYGON)).all():
            raise ValueError(
                "every zone geometry must be a Polygon or MultiPolygon (empty allowed, not None); "
                "build PreparedZones with prepare_zones()"
            )
        if self.repaired < 0:
            raise ValueError(f"repaired must be >= 0, got {self.repaired}")
        geometry.flags.writeable = False
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "geometry", geometry)
        object.__setattr__(self, "crs", pyproj.CRS.from_user_input(self.crs))
        object.__setattr__(self, "source_crs", pyproj.CRS.from_user_input(self.source_crs))
        object.__setattr__(self, "repaired", int(self.repaired))

    def __len__(self) -> int:
        return len(self.ids)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Return the zones as a new GeoDataFrame: the id column and the geometry, in ``crs``.

        Returns
        -------
        A GeoDataFrame with a RangeIndex, one row per zone in order, the id column named as
        in the input (``"id"`` if the ids have no name) and a ``geometry`` column.
        """
        name = self.ids.name if self.ids.name is not None else "id"
        return gpd.GeoDataFrame(
            {name: pd.Series(self.ids, copy=True)},
            geometry=gpd.GeoSeries(self.geometry.copy(), crs=self.crs),
            crs=self.crs,
        )


def prepare_zones(zones: gpd.GeoDataFrame, *, id: Hashable, crs: Any) -> PreparedZones:
    """Validate a zone layer and bring it to the raster CRS.

    Parameters
    ----------
    zones
        The zones, one row per zone, with a CRS. Never modified.
    id
        Name of the column holding the zone ids (e.g. ``"CODE_IRIS"``, ``"code_qp"``).
    crs
        The raster CRS: anything :meth:`pyproj.CRS.from_user_input` accepts (EPSG code,
        ``"EPSG:32631"``, WKT, a pyproj, odc-geo or rasterio CRS).

    Returns
    -------
    PreparedZones
        The ids in input order and one polygonal geometry per zone in the raster CRS.

    Raises
    ------
    TypeError
        If ``zones`` is not a GeoDataFrame.
    tiles.errors.CRSError
        If the zones have no CRS, the raster CRS is None or unreadable, or a zone cannot be
        reprojected to the raster CRS.
    tiles.errors.ZonesError
        If the id column is missing, holds nulls or duplicates, or the zones have no active
        geometry column.

    Warns
    -----
    tiles.errors.IlotsWarning
        Once for invalid geometries repaired, once for zones with no polygonal part, once for
        missing or empty geometries; each gives the count and example ids.
    """
    if not isinstance(zones, gpd.GeoDataFrame):
        hint = (
            "wrap it with gpd.GeoDataFrame({'id': ...}, geometry=series)"
            if isinstance(zones, gpd.GeoSeries)
            else "read the zones with geopandas.read_file(...)"
        )
        raise TypeError(
            f"zones must be a geopandas.GeoDataFrame, got {type(zones).__name__}; {hint}"
        )
    geometry_name = _active_geometry_name(zones)
    if zones.crs is None:
        raise CRSError(
            "zones have no CRS; set it (ogr2ogr -a_srs EPSG:2154 OUT IN, QGIS's Set Layer CRS, "
            "or gdf.set_crs(...); e.g. 'EPSG:2154' for IGN IRIS, 'EPSG:4326' for GeoJSON)"
        )
    source_crs = pyproj.CRS.from_user_input(zones.crs)
    target_crs = _raster_crs(crs)
    ids = _zone_ids(zones, id, geometry_name)

    geoms = np.array(_to_numpy(zones.geometry), dtype=object)  # a copy: never the caller's
    no_area_in = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms = _polygonal_parts(geoms)
    geoms, repaired_source = _repair(geoms, ids)

    repaired_target = np.zeros(len(geoms), dtype=bool)
    if not source_crs.equals(target_crs, ignore_axis_order=True):
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "reprojecting %d zones from %s to %s",
                len(geoms),
                crs_name(source_crs),
                crs_name(target_crs),
            )
        projected = gpd.GeoSeries(geoms, crs=source_crs).to_crs(target_crs)
        geoms = np.array(_to_numpy(projected), dtype=object)
        _check_finite(geoms, ids, source_crs, target_crs)
        geoms, repaired_target = _repair(geoms, ids)

    _warn_repaired(ids, repaired_source, repaired_target, source_crs, target_crs)
    no_polygon = ~no_area_in & shapely.is_empty(geoms)
    if no_polygon.any():
        warnings.warn(
            f"{int(no_polygon.sum())} zones have no polygonal part (a line, a point, or a "
            f"polygon that collapsed when repaired), e.g. ids {_examples(ids[no_polygon])}; "
            "they are kept as empty geometries and get NaN statistics",
            IlotsWarning,
            stacklevel=2,
        )
    if no_area_in.any():
        warnings.warn(
            f"{int(no_area_in.sum())} zones have a missing or empty geometry, e.g. ids "
            f"{_examples(ids[no_area_in])}; they are kept and get NaN statistics",
            IlotsWarning,
            stacklevel=2,
        )
    repaired = int(repaired_source.sum() + repaired_target.sum())
    return PreparedZones(
        ids=ids, geometry=geoms, crs=target_crs, source_crs=source_crs, repaired=repaired
    )


# --------------------------------------------------------------------------------------------
# checks


def _active_geometry_name(zones: gpd.GeoDataFrame) -> Hashable:
    """Return the active geometry column name, or raise a ZonesError saying how to set one."""
    try:
        return zones.geometry.name
    except AttributeError as err:
        raise ZonesError(
            "zones have no active geometry column; set it with gdf.set_geometry('column')"
        ) from err


def _raster_crs(crs: Any) -> pyproj.CRS:
    """Return the raster CRS as a pyproj CRS, or raise a one-line CRSError."""
    if crs is None:
        raise CRSError(
            "the raster CRS is None; pass the CRS of the raster grid (e.g. geobox.crs, "
            "da.rio.crs or 'EPSG:32631')"
        )
    try:
        return pyproj.CRS.from_user_input(crs)
    except (PyprojCRSError, TypeError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        shown = repr(crs)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise CRSError(
            f"cannot read the raster CRS {shown}: {reason}; pass an EPSG code, WKT or CRS object"
        ) from err


def _zone_ids(zones: gpd.GeoDataFrame, column: Hashable, geometry_name: Hashable) -> pd.Index:
    """Return the id column as a new pandas Index, checked for presence, nulls, duplicates."""
    if column not in zones.columns:
        names = [str(c) for c in zones.columns]
        listed = ", ".join(repr(c) for c in names[:_N_COLUMNS])
        if len(names) > _N_COLUMNS:
            listed += f", ... ({len(names) - _N_COLUMNS} more)"
        near = [c for c in names if c.lower() == str(column).lower()]
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise ZonesError(
            f"id column {column!r} not found in the zones; {hint}columns found: {listed}"
        )
    if column == geometry_name:
        raise ZonesError(
            f"id column {column!r} is the geometry column; pass the column holding zone codes"
        )
    values = zones[column]
    if isinstance(values, pd.DataFrame):
        raise ZonesError(
            f"{values.shape[1]} columns are named {column!r}; rename them so the id is unique"
        )
    ids = pd.Index(values, name=column, copy=True)
    null = np.asarray(ids.isna())
    if null.any():
        rows = np.flatnonzero(null)[:_N_EXAMPLES].tolist()
        raise ZonesError(
            f"{int(null.sum())} zones have no value in id column {column!r} (rows {rows}); "
            "fill or drop those zones before zonal statistics"
        )
    duplicated = np.asarray(ids.duplicated(keep=False))
    if duplicated.any():
        values = ids[duplicated].unique()
        raise ZonesError(
            f"{len(values)} ids in column {column!r} are not unique ({int(duplicated.sum())} "
            f"rows), e.g. {_examples(values)}; dissolve the zones by that id (in QGIS or "
            "geopandas) or give an id column that names each zone once"
        )
    return ids


def _check_finite(geoms: np.ndarray, ids: pd.Index, source: pyproj.CRS, target: pyproj.CRS) -> None:
    """Raise a CRSError if reprojection sent some zone to non-finite coordinates."""
    bounds = shapely.bounds(geoms)  # NaN for empty geometries, inf where projection failed
    bad = np.isinf(bounds).any(axis=1)
    if bad.any():
        raise CRSError(
            f"{int(bad.sum())} zones cannot be reprojected from {crs_name(source)} to "
            f"{crs_name(target)} (outside its area of use), e.g. ids {_examples(ids[bad])}; "
            "check the zones' CRS and clip the zones to the raster"
        )


# --------------------------------------------------------------------------------------------
# geometry


def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Reduce every geometry to its polygonal part; no area (or None) becomes POLYGON EMPTY.

    Polygons and MultiPolygons are kept as they are. Geometry collections (nested or not)
    are flattened and their polygons regrouped into one Polygon or MultiPolygon per row;
    lines and points are dropped. Regrouped polygons may overlap: validity is left to
    :func:`_repair`.
    """
    out = geoms.copy()
    types = shapely.get_type_id(out)
    no_area = shapely.is_missing(out) | shapely.is_empty(out)
    out[no_area] = _EMPTY
    mixed = ~no_area & (types != _POLYGON) & (types != _MULTIPOLYGON)
    if not mixed.any():
        return out

    rows = np.flatnonzero(mixed)
    parts, owner = shapely.get_parts(out[rows], return_index=True)
    while True:  # one pass per nesting level, not per zone
        nested = np.isin(shapely.get_type_id(parts), _COLLECTIONS)
        if not nested.any():
            break
        sub, sub_owner = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        owner = np.concatenate([owner[~nested], owner[nested][sub_owner]])
    keep = (shapely.get_type_id(parts) == _POLYGON) & ~shapely.is_empty(parts)
    parts, owner = parts[keep], owner[keep]
    order = np.argsort(owner, kind="stable")
    parts, owner = parts[order], owner[order]

    regrouped = np.full(len(rows), _EMPTY, dtype=object)
    if len(parts):
        shapely.multipolygons(parts, indices=owner, out=regrouped)
        single = np.bincount(owner, minlength=len(rows)) == 1
        regrouped[single] = shapely.get_geometry(regrouped[single], 0)
    out[rows] = regrouped
    return out


def _repair(geoms: np.ndarray, ids: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Make invalid polygonal geometries valid; return the new array and the repaired mask."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, invalid
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    fixed = _polygonal_parts(fixed)
    still = ~shapely.is_valid(fixed)
    if still.any():  # GEOS could not repair them: refuse rather than compute on them
        raise ZonesError(
            f"{int(still.sum())} zone geometries stay invalid after shapely.make_valid, e.g. "
            f"ids {_examples(ids[invalid][still])}; fix them in QGIS (Vector > Geometry "
            "Tools > Fix Geometries) and retry"
        )
    out = geoms.copy()
    out[invalid] = fixed
    return out, invalid


def _warn_repaired(
    ids: pd.Index,
    in_source: np.ndarray,
    in_target: np.ndarray,
    source: pyproj.CRS,
    target: pyproj.CRS,
) -> None:
    """Warn once for every geometry repaired, before and after reprojection."""
    n_source, n_target = int(in_source.sum()), int(in_target.sum())
    if not n_source + n_target:
        return
    where = f"{n_source} in {crs_name(source)}"
    if n_target:
        where += f", {n_target} after reprojection to {crs_name(target)}"
    warnings.warn(
        IlotsWarning(
            f"{n_source + n_target} invalid zone geometries were repaired with "
            f"shapely.make_valid ({where}), e.g. ids {_examples(ids[in_source | in_target])}; "
            "their areas may differ slightly from the published ones",
            code="zone_geometry_repaired",
        ),
        stacklevel=3,
    )


# --------------------------------------------------------------------------------------------
# small helpers


def _to_numpy(geometry: Any) -> np.ndarray:
    """Return an object ndarray of shapely geometries from a GeoSeries or GeometryArray."""
    if isinstance(geometry, gpd.GeoSeries):
        geometry = geometry.array
    return np.asarray(geometry, dtype=object)


def _examples(values: Sequence[Any] | pd.Index) -> str:
    """Format up to five values, quoted, for a one-line message."""
    shown = [v.item() if isinstance(v, np.generic) else v for v in list(values[:_N_EXAMPLES])]
    text = ", ".join(repr(v) for v in shown)
    return text + (", ..." if len(values) > _N_EXAMPLES else "")
