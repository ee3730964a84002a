"""Read what the scenarios start from out of a finished run folder.

A run folder (:class:`~pipelines.outputs.RunFolder`) holds the rasters on the analysis grid
(``rasters/*.tif``), the zone layers with their per-zone columns (``zones/<layer>.parquet`` or
``zones.gpkg``) and the inequality metrics (``inequality.json``). :func:`read_baseline` loads
the ones the scenarios need into NumPy arrays and GeoDataFrames.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import rioxarray
import xarray as xr
from rasterio.features import geometry_mask

from pipelines.config import RunConfig
from pipelines.outputs import RunFolder
from pipelines.outputs.provenance import raster_is_synthetic, truthy
from pipelines.scenarios.errors import ScenarioError
from pipelines.scenarios.predictors import Surface

__all__ = ["Baseline", "read_baseline", "zone_id_columns"]

_NEEDED = ("lst_anomaly", "ndvi_median", "landcover")


@dataclass(frozen=True, eq=False)
class Baseline:
    """The observed state of a run: rasters on its grid, zone layers, inequality metrics.

    Attributes
    ----------
    folder
        The run folder.
    template
        A raster of the grid (``lst_anomaly``) with its coordinates and CRS, to shape outputs.
    resolution
        Pixel size in metres.
    anomaly
        Observed LST anomaly (K), NaN where unknown.
    target
        The raster the scenario model predicts (``lst_anomaly`` or ``lst_median``).
    surface
        NDVI, albedo (``None`` without ``albedo_median.tif``) and land cover.
    zones
        Zone layer name → GeoDataFrame (per-zone columns of the run, geometry).
    id_columns
        Zone layer name → its id column.
    inequality
        ``inequality.json`` of the run, or ``None``.
    synthetic
        Whether the run says it comes from synthetic inputs (``ilots demo``): the tag of
        ``lst_anomaly.tif``, or the ``synthetic`` key of ``inequality.json``.
    """

    folder: RunFolder
    template: xr.DataArray
    resolution: float
    anomaly: np.ndarray
    target: np.ndarray
    surface: Surface
    zones: Mapping[str, gpd.GeoDataFrame]
    id_columns: Mapping[str, str]
    inequality: Mapping[str, Any] | None
    synthetic: bool

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(rows, columns)``."""
        return self.anomaly.shape  # type: ignore[return-value]

    @property
    def transform(self) -> Any:
        """Affine transform of the grid."""
        return self.template.rio.transform()

    @property
    def crs(self) -> Any:
        """CRS of the grid."""
        return self.template.rio.crs

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel in m²."""
        return self.resolution**2

    def mask_of(self, geometries: Any) -> np.ndarray:
        """Pixels whose centre lies inside any of ``geometries`` (a GeoSeries in any CRS)."""
        shapes = [g for g in geometries.to_crs(self.crs) if g is not None and not g.is_empty]
        if not shapes:
            return np.zeros(self.shape, dtype=bool)
        return geometry_mask(shapes, out_shape=self.shape, transform=self.transform, invert=True)


#: Per-IRIS columns of the run the comparison reads (the QPV gap's outcome).
_IRIS_COLUMNS = ("lst_anomaly_mean_k",)


def zone_id_columns(config: RunConfig) -> dict[str, str]:
    """Zone layer name → id column, for the layers a config declares."""
    ids = {}
    if config.zones.iris is not None:
        ids["iris"] = "code_iris"
    if config.zones.qpv is not None:
        ids["qpv"] = "code_qp"
    for layer in config.zones.extra:
        ids[layer.name] = layer.id
    return ids


def _raster(folder: RunFolder, name: str) -> xr.DataArray:
    path = folder.rasters / f"{name}.tif"
    if not path.is_file():
        raise ScenarioError(
            f"run folder {folder.root} has no rasters/{name}.tif; rerun ilots run (with "
            "Sentinel-2 inputs for NDVI and land cover) before ilots scenarios"
        )
    try:
        data = rioxarray.open_rasterio(path, masked=True).squeeze("band", drop=True)
        return data.load()
    except (rasterio.errors.RasterioError, OSError) as err:  # truncated, not a GeoTIFF
        cause = err.__cause__ or err  # rasterio's "Read failed" says its reason there
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise ScenarioError(
            f"run folder {folder.root}: rasters/{name}.tif cannot be read ({reason}); rerun "
            "ilots run to write it again"
        ) from err


def _zone_layer(folder: RunFolder, name: str) -> gpd.GeoDataFrame:
    parquet = folder.zone_parquet(name)
    if parquet.is_file():
        return gpd.read_parquet(parquet)
    if folder.zones_gpkg.is_file():
        try:
            return gpd.read_file(folder.zones_gpkg, layer=name)
        except (ValueError, OSError) as err:
            raise ScenarioError(
                f"zone layer {name!r} not in {folder.zones_gpkg} ({err}); rerun ilots run"
            ) from err
    raise ScenarioError(
        f"run folder {folder.root} has neither zones/{name}.parquet nor zones.gpkg; rerun "
        "ilots run with outputs.zone_formats including parquet or gpkg"
    )


def read_baseline(folder: str | Path | RunFolder, config: RunConfig) -> Baseline:
    """Load a finished run folder for the scenarios of ``config``.

    Parameters
    ----------
    folder
        The run folder.
    config
        The config (its zone layers and ``scenario_model.target``).

    Returns
    -------
    Baseline

    Raises
    ------
    ScenarioError
        A raster or zone layer the scenarios need is missing, or a column of one.
    """
    folder = folder if isinstance(folder, RunFolder) else RunFolder(Path(folder))
    target_name = config.scenario_model.target
    rasters = {name: _raster(folder, name) for name in dict.fromkeys((*_NEEDED, target_name))}
    albedo_path = folder.rasters / "albedo_median.tif"
    albedo = _raster(folder, "albedo_median") if albedo_path.is_file() else None
    template = rasters["lst_anomaly"]
    for name, data in rasters.items():
        if data.shape != template.shape:
            raise ScenarioError(
                f"rasters/{name}.tif is {data.shape}, lst_anomaly.tif {template.shape}: not one "
                "run's grid; rerun ilots run"
            )
    transform = template.rio.transform()
    landcover = np.nan_to_num(rasters["landcover"].values, nan=0).astype(np.uint8)
    surface = Surface(
        ndvi=np.asarray(rasters["ndvi_median"].values, dtype=np.float64),
        albedo=None if albedo is None else np.asarray(albedo.values, dtype=np.float64),
        landcover=landcover,
    )
    ids = zone_id_columns(config)
    zones = {name: _zone_layer(folder, name) for name in ids}
    for name, frame in zones.items():
        wanted = [ids[name]] + (list(_IRIS_COLUMNS) if name == "iris" else [])
        if missing := [column for column in wanted if column not in frame.columns]:
            raise ScenarioError(
                f"zone layer {name!r} of {folder.root} has no {', '.join(missing)} column: "
                "not a run of this config, or of another ilots version; rerun ilots run"
            )
    inequality = None
    if folder.inequality_json.is_file():
        inequality = json.loads(folder.inequality_json.read_text(encoding="utf-8"))
    return Baseline(
        folder=folder,
        template=template,
        resolution=float(abs(transform.a)),
        anomaly=np.asarray(rasters["lst_anomaly"].values, dtype=np.float64),
        target=np.asarray(rasters[target_name].values, dtype=np.float64),
        surface=surface,
        zones=zones,
        id_columns=ids,
        inequality=inequality,
        synthetic=raster_is_synthetic(folder.rasters / "lst_anomaly.tif")
        or (isinstance(inequality, dict) and truthy(inequality.get("synthetic"))),
    )
