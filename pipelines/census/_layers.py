"""Shared steps of the IRIS and QPV layer readers: open, check the CRS, assemble, repair."""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import CodeFormat, normalise_codes
from pipelines.census.fields import describe_columns
from raster.zonal.zones import prepare_zones
from tiles.errors import CRSError, LayerNotFoundError, ZonesError

__all__ = [
    "assemble",
    "check_layer",
    "checked_codes",
    "duplicated_codes_error",
    "extent_text",
    "layer_bounds",
    "layer_extent",
    "layer_header",
    "missing_column_error",
    "open_layer",
    "repair_geometries",
    "text_column",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

LayerSource = str | os.PathLike[str] | gpd.GeoDataFrame


def open_layer(
    source: LayerSource,
    *,
    layer: str | int | None,
    what: str,
    bbox: gpd.GeoSeries | None = None,
    fids: Sequence[int] | None = None,
) -> gpd.GeoDataFrame:
    """Return a GeoDataFrame from a vector file or a copy of a GeoDataFrame, with a CRS.

    With ``bbox`` (an area with its CRS), a file is read only for the features whose
    bounding box meets the area's bounds (taken in the layer's CRS, grown by 1 %), through
    the file's spatial index where it has one: a national layer gives a city's features
    without reading France. The caller still selects among them; a GeoDataFrame is kept whole.
    ``fids`` reads those features of a file only (OGR feature ids, e.g. a city's IRIS found
    from the attributes by :func:`pipelines.config.aoi.read_zone_layer`).

    Raises
    ------
    TypeError
        If ``source`` is neither a path nor a GeoDataFrame.
    FileNotFoundError
        If the path does not exist.
    tiles.errors.LayerNotFoundError
        If the file has no layer named ``layer`` (a :class:`~tiles.errors.ZonesError`).
    tiles.errors.ZonesError
        If the file cannot be read or has no geometry column.
    tiles.errors.CRSError
        If the layer has no CRS, or says degrees but its coordinates are not (checked on the
        whole file's bounds when only part of it is read).
    """
    if isinstance(source, gpd.GeoDataFrame):
        frame = source.copy()
        name = f"the {what} GeoDataFrame"
    elif isinstance(source, pd.DataFrame):
        raise TypeError(
            f"the {what} layer is a pandas DataFrame without geometry; pass a GeoDataFrame "
            "or the path of a shapefile, GeoPackage or GeoJSON"
        )
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists() and not str(source).startswith("/vsi"):
            raise FileNotFoundError(f"{what} layer not found: {path}")
        try:
            check_layer(path, layer)
            if bbox is not None or fids is not None:  # part of the layer: check all of it
                crs, extent = layer_extent(path, layer)
                _check_degrees(crs, extent, str(path))
            bounds = None if bbox is None else layer_bounds(path, layer, bbox)
            frame = gpd.read_file(path, layer=layer, bbox=bounds, fids=fids)
        except (ZonesError, CRSError):
            raise
        except Exception as err:  # pyogrio raises several types for unreadable files
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ZonesError(f"cannot read the {what} layer {path}: {reason}") from err
        name = str(path)
        logger.info("read %d %s features from %s", len(frame), what, path)
    else:
        raise TypeError(
            f"the {what} layer must be a path or a GeoDataFrame, got {type(source).__name__}"
        )
    try:
        frame.geometry  # noqa: B018 - raises when there is no active geometry column
    except AttributeError as err:
        raise ZonesError(
            f"{name} has no geometry column; set one with gdf.set_geometry('column')"
        ) from err
    if frame.crs is None:
        raise CRSError(
            f"{name} has no CRS; set it with gdf.set_crs(...) (IGN IRIS and ANCT QPV in "
            "metropolitan France: 'EPSG:2154'; GeoJSON: 'EPSG:4326')"
        )
    if len(frame) and not frame.geometry.is_empty.all():
        _check_degrees(frame.crs, tuple(frame.total_bounds), name)
    return frame


def layer_extent(
    path: str | os.PathLike[str], layer: str | int | None
) -> tuple[CRS | None, tuple[float, float, float, float] | None]:
    """Return a vector file's layer CRS and the bounds of all its features, in that CRS.

    The bounds come from the file's header or index where it has them (GeoPackage,
    shapefile, FlatGeobuf), else from a pass over the features. None for a layer without
    features (or without a CRS, for the CRS).
    """
    crs, bounds, _count = layer_header(path, layer)
    return crs, bounds


def layer_header(
    path: str | os.PathLike[str], layer: str | int | None
) -> tuple[CRS | None, tuple[float, float, float, float] | None, int]:
    """Return a layer's CRS, extent (:func:`layer_extent`) and number of features, read once.

    The number is -1 when the driver cannot give it without a pass over the features.
    """
    info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
    crs = None if info["crs"] is None else CRS.from_user_input(info["crs"])
    count = int(info["features"])
    bounds = info.get("total_bounds")
    if bounds is None or not np.all(np.isfinite(bounds)):
        return crs, None, count
    west, south, east, north = (float(v) for v in bounds)
    return crs, (west, south, east, north), count


def extent_text(bounds: Sequence[float]) -> str:
    """``(west, south) to (east, north)`` for a message: metres whole, degrees to 1e-4."""
    whole = max(abs(float(v)) for v in bounds) >= 1000
    values = [f"{float(v):.0f}" if whole else f"{float(v):.4f}" for v in bounds]
    return f"({values[0]}, {values[1]}) to ({values[2]}, {values[3]})"


def _check_degrees(crs: CRS | None, bounds: Sequence[float] | None, name: str) -> None:
    """Raise a CRSError when a layer in degrees has coordinates that are not degrees.

    ``bounds``: the layer's (west, south, east, north) in ``crs``; nothing is checked
    without them or in a projected CRS.
    """
    if crs is None or bounds is None or not crs.is_geographic:
        return
    west, south, east, north = bounds
    if min(west, south) < -180 or max(east, north) > 180 or min(south, north) < -90:
        raise CRSError(
            f"{name} says {crs.to_string()} (degrees) but its coordinates reach "
            f"({east:.0f}, {north:.0f}), which are not degrees: the file's CRS is wrong; "
            "coordinates in metres are a projected CRS (IGN IRIS and ANCT QPV in "
            "metropolitan France: Lambert-93, EPSG:2154): fix the file, e.g. ogr2ogr "
            "-a_srs EPSG:2154 fixed.gpkg <file>"
        )


def check_layer(
    path: str | os.PathLike[str], layer: str | int | None, *, spatial: bool = False
) -> list[str]:
    """Return the names of a vector file's layers, having checked that ``layer`` is one.

    With ``spatial``, only the layers with a geometry column count (a GeoPackage may also
    hold attribute tables and QGIS's ``layer_styles``). An integer or no ``layer`` is not
    checked.

    Raises
    ------
    tiles.errors.LayerNotFoundError
        If ``layer`` is a name the file does not have; the message lists the file's layers.
    """
    listed = pyogrio.list_layers(path)
    names = [str(name) for name, geometry in listed if geometry is not None or not spatial]
    if isinstance(layer, str) and layer not in names:
        kind = "zone layer" if spatial else "layer"
        raise LayerNotFoundError(
            f"{Path(path).name} has no {kind} {layer!r}; its {kind}s: {', '.join(names)}"
        )
    return names


def layer_bounds(
    path: str | os.PathLike[str], layer: str | int | None, area: gpd.GeoSeries
) -> tuple[float, float, float, float] | None:
    """Return the bounds of ``area`` in the CRS of a vector file's layer, grown by 1 %.

    The margin keeps every feature that meets the area when its edges bend a little in the
    reprojection. None when the layer has no CRS (the whole layer is then read, and refused).
    """
    crs = pyogrio.read_info(path, layer=layer)["crs"]
    if crs is None:
        return None
    west, south, east, north = area.to_crs(crs).total_bounds
    pad = 0.01 * max(east - west, north - south)
    return (west - pad, south - pad, east + pad, north + pad)


def text_column(frame: pd.DataFrame, column: Hashable | None) -> pd.Series:
    """Return the column as stripped text (missing kept missing; all missing if absent)."""
    if column is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = [None if _is_missing(v) else str(v).strip() for v in frame[column].tolist()]
    return pd.Series(text, index=frame.index)


def assemble(
    frame: gpd.GeoDataFrame,
    normalised: dict[str, pd.Series],
    used: Sequence[Hashable],
) -> gpd.GeoDataFrame:
    """Build the output layer: normalised columns, then the others, then ``geometry``.

    The source columns in ``used`` (now held by the normalised ones) are dropped, the index
    becomes a RangeIndex and the geometry column is named ``geometry``.

    Raises
    ------
    tiles.errors.ZonesError
        If a column kept from the input already has one of the normalised names.
    """
    geometry_name = frame.geometry.name
    dropped = {*used, geometry_name}
    others = [c for c in frame.columns if c not in dropped]
    clash = [c for c in others if c in normalised or c == "geometry"]
    if clash:
        raise ZonesError(
            f"columns {', '.join(map(repr, clash))} would clash with the normalised columns "
            f"{', '.join(normalised)}; rename or drop them"
        )
    index = pd.RangeIndex(len(frame))
    data = {name: pd.Series(values.tolist(), index=index) for name, values in normalised.items()}
    for column in others:
        data[column] = frame[column].reset_index(drop=True)
    geometry = gpd.GeoSeries(frame.geometry.to_numpy(), index=index, crs=frame.crs)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=frame.crs)


def repair_geometries(frame: gpd.GeoDataFrame, id_column: str, log: WarningLog) -> gpd.GeoDataFrame:
    """Repair invalid geometries in the layer's own CRS with :func:`prepare_zones`.

    Geometry collections become their polygonal parts, missing geometries empty polygons;
    each fix is one warning (with its count) recorded in ``log``. Returns a new frame.
    """
    prepared = log.call(prepare_zones, frame, id=id_column, crs=frame.crs)
    out = frame.copy()
    out[frame.geometry.name] = gpd.GeoSeries(
        np.asarray(prepared.geometry, dtype=object).copy(), index=frame.index, crs=frame.crs
    )
    return out


def duplicated_codes_error(codes: pd.Series, what: str, column: Hashable) -> ZonesError | None:
    """Return a ZonesError naming duplicated codes, or None when every code is unique."""
    duplicated = codes.duplicated(keep=False).to_numpy()
    if not duplicated.any():
        return None
    values = pd.unique(codes[duplicated])
    return ZonesError(
        f"{len(values)} {what} codes in column {column!r} appear more than once "
        f"({int(duplicated.sum())} rows), e.g. {examples(values)}; a layer needs one row per "
        f"code: dissolve multi-part rows (gdf.dissolve(by={column!r})) or keep one millésime"
    )


def missing_column_error(
    what: str, variants: Sequence[str], columns: Sequence[Hashable]
) -> ZonesError:
    """Return a ZonesError saying the code column is missing, listing the columns found."""
    return ZonesError(
        f"no {what} column in the layer: expected one of {', '.join(variants)} (any case); "
        f"columns found: {describe_columns(columns)}; rename the column holding the codes"
    )


def checked_codes(
    values: pd.Series,
    fmt: CodeFormat,
    column: object,
    log: WarningLog,
    what: str,
    *,
    allow_missing: bool = False,
    error: type[Exception] = ZonesError,
) -> pd.Series:
    """Normalised codes of one column; missing or malformed codes raise ``error``.

    Codes stored as numbers (leading zeros restored) give one warning in ``log``.
    """
    result = normalise_codes(values, fmt)
    message = result.restored_message(column, fmt)
    if message:
        log.add(message)
    if result.missing.any() and not allow_missing:
        rows = np.flatnonzero(result.missing)[:5].tolist()
        raise error(
            f"{int(result.missing.sum())} {what} codes are missing in column {column!r} "
            f"(rows {rows}); fill or drop those rows"
        )
    if result.invalid.any():
        bad = values[result.invalid]
        raise error(
            f"{int(result.invalid.sum())} values in column {column!r} are not {fmt.name}s, "
            f"e.g. {examples(bad.tolist())}; expected e.g. {fmt.example}"
        )
    return result.codes


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and np.isnan(value)
