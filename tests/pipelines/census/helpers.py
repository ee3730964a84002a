"""Small builders shared by the census tests: square layers and warning capture."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pytest
from shapely import box

from tiles import IlotsWarning

L93 = "EPSG:2154"
# Squares of 100 m near Châtelet in Lambert-93.
X0, Y0, SIDE = 652_000.0, 6_862_000.0, 100.0


def squares(n: int, *, crs: str | None = L93):
    """N adjacent 100 m squares along x, as a list of shapely boxes."""
    return [box(X0 + i * SIDE, Y0, X0 + (i + 1) * SIDE, Y0 + SIDE) for i in range(n)]


def layer(columns: dict[str, list[Any]], *, crs: str | None = L93, geometry=None):
    """A GeoDataFrame of squares with the given attribute columns."""
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=geometry or squares(n), crs=crs)


def call_quiet(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call func and return (result, IlotsWarning messages emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, IlotsWarning)]


def one_line(err: pytest.ExceptionInfo) -> str:
    """The error message, checked to be one non-empty line."""
    text = str(err.value)
    assert text
    assert "\n" not in text
    return text
