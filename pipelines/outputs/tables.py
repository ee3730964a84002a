"""Tabular outputs of a run: GeoParquet zone layers and the inequality report.

GeoParquet goes through :func:`pipelines.zonal.write_table` (atomic, geopandas
``to_parquet``, which writes the GeoParquet ``geo`` metadata with the CRS as PROJJSON);
the inequality report's JSON and CSV texts through :func:`write_text_atomic`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd

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
    reports: _Report | Mapping[str, _Report],
    json_path: str | os.PathLike[str],
    csv_path: str | os.PathLike[str],
) -> tuple[Path, Path]:
    """Write :class:`~pipelines.inequality.InequalityReport` s as JSON and CSV, atomically.

    Parameters
    ----------
    reports
        One report, or ``{outcome: report}`` with the primary outcome first: the JSON is the
        primary report with the others under ``"other_outcomes"``; the CSV has one row per
        metric and outcome, with an ``outcome`` column first.
    json_path, csv_path
        Targets (``RunFolder.inequality_json`` / ``inequality_csv``).

    Returns
    -------
    tuple of Path
        The JSON and CSV paths.
    """
    if not isinstance(reports, Mapping):
        text = reports.to_json()
        json_file = write_text_atomic(json_path, text if text.endswith("\n") else text + "\n")
        return json_file, write_text_atomic(csv_path, reports.to_csv())
    if not reports:
        raise ValueError("no inequality report to write")
    outcomes = list(reports)
    primary = json.loads(reports[outcomes[0]].to_json())
    primary["other_outcomes"] = {o: json.loads(reports[o].to_json()) for o in outcomes[1:]}
    json_file = write_text_atomic(json_path, json.dumps(primary, indent=1) + "\n")
    frames = []
    for outcome, report in reports.items():
        frame = pd.read_csv(io.StringIO(report.to_csv()), keep_default_na=False)
        frame.insert(0, "outcome", outcome)
        frames.append(frame)
    csv_file = write_text_atomic(csv_path, pd.concat(frames).to_csv(index=False))
    return json_file, csv_file
