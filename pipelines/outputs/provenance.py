"""Whether an input file says it holds synthetic data (the demo's), as ilots' outputs mark it.

A run's COG rasters carry the tag ``synthetic=true``; its GeoParquet zone layers the key
``"synthetic": true`` of their :data:`~pipelines.outputs.tables.PROVENANCE_KEY` schema
metadata; its GeoPackage layers a description starting with
:data:`~pipelines.outputs.geopackage.SYNTHETIC_MARK`. The single commands (``ilots zonal``,
``ilots inequality``) read these marks of their inputs to mark their own outputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pyogrio
import rasterio

from pipelines.outputs.geopackage import SYNTHETIC_MARK
from pipelines.outputs.tables import PROVENANCE_KEY

__all__ = ["raster_is_synthetic", "truthy", "zones_are_synthetic"]

#: Texts of a tag or key read as true.
_TRUE = ("true", "1", "yes")


def truthy(value: Any) -> bool:
    """Return whether a tag or JSON value says yes: ``True``, or ``"true"``/``"1"``/``"yes"``."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _TRUE


def raster_is_synthetic(path: str | os.PathLike[str]) -> bool:
    """Return whether a raster's dataset tag ``synthetic`` says it holds synthetic data.

    Raises
    ------
    rasterio.errors.RasterioIOError
        The file cannot be opened as a raster.
    """
    with rasterio.open(path) as src:
        return truthy(src.tags().get("synthetic"))


def zones_are_synthetic(path: str | os.PathLike[str], layer: str | None = None) -> bool:
    """Return whether a zone file says it holds synthetic data.

    Parameters
    ----------
    path
        A GeoParquet or Parquet file (its :data:`~pipelines.outputs.tables.PROVENANCE_KEY`
        metadata says ``"synthetic": true``) or a vector file (the description of its layer
        ``layer``, the first by default, starts with
        :data:`~pipelines.outputs.geopackage.SYNTHETIC_MARK`, as a GeoPackage's can); a CSV
        says nothing (``False``).
    layer
        Layer of a vector file.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return False
    if suffix == ".parquet":
        metadata = pq.read_schema(source).metadata or {}
        try:
            provenance = json.loads(metadata.get(PROVENANCE_KEY, b"{}"))
        except ValueError:
            return False
        return isinstance(provenance, dict) and truthy(provenance.get("synthetic"))
    described = pyogrio.read_info(source, layer=layer).get("layer_metadata") or {}
    return str(described.get("DESCRIPTION", "")).startswith(SYNTHETIC_MARK)
