"""Tabular outputs of a run: GeoParquet zone layers and the inequality report.

GeoParquet goes through :func:`pipelines.zonal.write_table` (atomic, geopandas
``to_parquet``, which writes the GeoParquet ``geo`` metadata with the CRS as PROJJSON);
the inequality report's JSON and CSV texts through :func:`write_text_atomic`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import geopandas as gpd

from pipelines.outputs._atomic import write_text_atomic
from pipelines.zonal import write_table
from tiles.errors import CRSError, ZonesError

__all__ = ["write_geoparquet", "write_inequality"]


class _Report(Protocol):
    def to_json(self) -> str: ...

    def to_csv(self) -> str: ...


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a zone layer as GeoParquet, atomically; the CRS travels in the file's metadata.

    Parameters
    ----------
    gdf
        The layer, one row per zone; keep ids in columns (the index is not written).
    path
        Target ending in ``.parquet`` (``RunFolder.zone_parquet(layer)``); its folder must
        exist.

    Returns
    -------
    Path
        The target.

    Raises
    ------
    ZonesError
        Not a GeoDataFrame, or no active geometry column.
    CRSError
        The layer has no CRS.
    """
    target = Path(path)
    if target.suffix.lower() != ".parquet":
        raise ValueError(f"a GeoParquet path must end in .parquet; got {target.name}")
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ZonesError(f"GeoParquet needs a GeoDataFrame, got {type(gdf).__name__}")
    if gdf._geometry_column_name not in gdf.columns:
        raise ZonesError("the layer has no active geometry column; call set_geometry() first")
    if gdf.crs is None:
        raise CRSError(f"the layer for {target.name} has no CRS; set it with .set_crs()")
    return write_table(gdf, target)


def write_inequality(
    report: _Report,
    json_path: str | os.PathLike[str],
    csv_path: str | os.PathLike[str],
) -> tuple[Path, Path]:
    """Write an :class:`~pipelines.inequality.InequalityReport` as JSON and CSV, atomically.

    Parameters
    ----------
    report
        Anything with ``to_json()`` and ``to_csv()`` returning text.
    json_path, csv_path
        Targets (``RunFolder.inequality_json`` / ``inequality_csv``).

    Returns
    -------
    tuple of Path
        The JSON and CSV paths.
    """
    text = report.to_json()
    json_file = write_text_atomic(json_path, text if text.endswith("\n") else text + "\n")
    csv_file = write_text_atomic(csv_path, report.to_csv())
    return json_file, csv_file
