"""Turn a scenario's ``where`` into a mask of pixels on the run's grid.

A pixel belongs to a polygon when its centre lies inside it (the rule of
:func:`rasterio.features.geometry_mask`), so the area changed is a whole number of pixels.
Zone ``filter`` values are compared as numbers on numeric columns, as booleans on boolean
ones (``in_qpv: true``) and as text otherwise (``insee_com: '31555'`` or ``31555``).
A ``where`` that selects no zone, or no pixel with a land cover and an NDVI, is an error that
names it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from pipelines.config.scenarios import WhereSpec
from pipelines.scenarios.baseline import Baseline
from pipelines.scenarios.errors import ScenarioError
from raster.landcover import CLASS_NAMES
from tiles.errors import IlotsWarning

__all__ = ["class_codes", "usable_pixels", "where_mask", "where_selection"]

_CODES = {name: code for code, name in CLASS_NAMES.items()}


def class_codes(names: Iterable[str]) -> list[int]:
    """Land-cover codes of class names (as validated by the config)."""
    return [_CODES[name] for name in names]


def _values(wanted: Any) -> list[Any]:
    return list(wanted) if isinstance(wanted, list | tuple) else [wanted]


def _matches(column: pd.Series, wanted: list[Any]) -> pd.Series:
    """Rows of ``column`` equal to one of ``wanted``.

    Raises
    ------
    ValueError
        A value that the column's type cannot hold: text other than true/false for a
        true/false column (``oui`` or ``1`` is not read as either), text for a number column.
    """
    if pd.api.types.is_bool_dtype(column):
        flags = set()
        for value in wanted:
            text = value.strip().lower() if isinstance(value, str) else None
            if isinstance(value, bool | int) and value in (0, 1):
                flags.add(bool(value))
            elif text in ("true", "false"):
                flags.add(text == "true")
            else:
                raise ValueError(f"is a true/false column: give true or false (got {value!r})")
        return column.isin(flags)
    if pd.api.types.is_numeric_dtype(column):
        numbers = []
        for value in wanted:
            try:
                numbers.append(float(value))
            except (TypeError, ValueError):
                raise ValueError(f"is a number column: give numbers (got {value!r})") from None
        return column.astype(float).isin(numbers)
    return column.astype("string").isin([str(v) for v in wanted]).fillna(False).astype(bool)


def _filtered(
    frame: gpd.GeoDataFrame, where: WhereSpec, id_column: str | None, label: str, what: str
) -> gpd.GeoDataFrame:
    keep = pd.Series(True, index=frame.index)
    if where.ids is not None and id_column is not None:
        ids = frame[id_column].astype("string")
        keep = ids.isin(where.ids).fillna(False).astype(bool)
        missing = sorted(set(where.ids) - set(ids.dropna()))
        if missing and keep.any():
            warnings.warn(
                f"{label}: where ids {missing} are not in {what}; the others are used",
                IlotsWarning,
                stacklevel=3,
            )
        if not keep.any():
            examples = ", ".join(str(v) for v in ids.dropna().head(5))
            raise ScenarioError(
                f"{label}: where {where.describe()} matches no zone: no {id_column} of {what} is "
                f"among {list(where.ids)} (ids there: {examples}, ...)"
            )
    for column, wanted in (where.filter or {}).items():
        if column not in frame.columns:
            columns = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            raise ScenarioError(
                f"{label}: where filter column {column!r} is not in {what} (columns: {columns})"
            )
        try:
            keep &= _matches(frame[column], _values(wanted))
        except ValueError as err:
            raise ScenarioError(f"{label}: where filter {column!r} {err}") from None
    if not keep.any():
        raise ScenarioError(
            f"{label}: where {where.describe()} matches no zone of {what}; check the filter "
            "values against the layer's columns"
        )
    return frame[keep.to_numpy()]


def _file_frame(where: WhereSpec, label: str) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(where.file, layer=where.layer)
    except Exception as err:  # pyogrio raises several types for unreadable files
        raise ScenarioError(f"{label}: cannot read where file {where.file} ({err})") from err
    if frame.crs is None:
        raise ScenarioError(
            f"{label}: where file {where.file} has no CRS; set one (e.g. in QGIS) and rerun"
        )
    return frame


def where_mask(
    where: WhereSpec, baseline: Baseline, *, label: str, layers: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Return the pixels of the grid a scenario's ``where`` selects (with land cover and NDVI).

    :func:`usable_pixels` of :func:`where_selection`.

    Parameters
    ----------
    where
        The validated selection.
    baseline
        The run (grid, zone layers, land cover, NDVI).
    label
        How messages name the scenario, e.g. ``"scenarios[0] 'green_qpv'"``.
    layers
        Zone layers to use instead of ``baseline.zones`` (name → GeoDataFrame).

    Returns
    -------
    numpy.ndarray
        Boolean mask of the grid's shape.

    Raises
    ------
    ScenarioError
        The selection matches no zone or no usable pixel (the message names it), a filter
        column is missing, or a file cannot be read.
    """
    selected = where_selection(where, baseline, label=label, layers=layers)
    return usable_pixels(selected, where, baseline, label=label)


def where_selection(
    where: WhereSpec, baseline: Baseline, *, label: str, layers: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Return the pixels of the grid in a scenario's ``where``, with or without an NDVI.

    Parameters are those of :func:`where_mask`.

    Raises
    ------
    ScenarioError
        The selection matches no zone, a filter column is missing, or a file cannot be read.
    """
    surface = baseline.surface
    if where.kind == "everywhere":
        return np.ones(baseline.shape, dtype=bool)
    if where.kind == "landcover":
        return np.isin(surface.landcover, class_codes(where.landcover or ()))
    if where.kind == "layer":
        zones = layers if layers is not None else baseline.zones
        if where.layer not in zones:
            raise ScenarioError(
                f"{label}: where layer {where.layer!r} is not in the run folder (layers: "
                f"{', '.join(zones)}); rerun ilots run with it under zones"
            )
        frame = _filtered(
            zones[where.layer],
            where,
            baseline.id_columns.get(str(where.layer)),
            label,
            f"zone layer {where.layer}",
        )
        return baseline.mask_of(frame.geometry)
    frame = _filtered(_file_frame(where, label), where, None, label, f"file {where.file}")
    return baseline.mask_of(frame.geometry)


def usable_pixels(
    mask: np.ndarray, where: WhereSpec, baseline: Baseline, *, label: str
) -> np.ndarray:
    """Return the pixels of ``mask`` (:func:`where_selection`) with a land cover and an NDVI.

    The others (no clear date of the indices, e.g. water under a mask preset that rejects
    it) have nothing for the model to start from.

    Raises
    ------
    ScenarioError
        No pixel of ``mask`` is usable (the message names the ``where`` and why).
    """
    surface = baseline.surface
    usable = mask & (surface.landcover > 0) & np.isfinite(surface.ndvi)
    if not usable.any():
        if not mask.any() and where.kind == "landcover":
            why = (
                "selects no pixel: the run's land cover has no pixel of "
                f"{' or '.join(where.landcover or ())}"
            )
        elif not mask.any():
            why = (
                "holds no pixel centre of the run's grid (a pixel belongs to a polygon when "
                f"its centre does; pixels are {baseline.resolution:g} m): check that it lies "
                "inside the area of the run and is larger than a pixel"
            )
        else:
            why = (
                f"has {int(mask.sum())} pixels of the run's grid, none with both a land cover "
                "and an NDVI (a pixel that the masks left out of every date, such as water "
                "under a mask preset that rejects it, has no NDVI)"
            )
        raise ScenarioError(f"{label}: where {where.describe()} {why}")
    return usable
