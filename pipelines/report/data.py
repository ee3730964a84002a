"""Read a run folder into one typed summary: what the report can say and what it must omit.

A run folder (:class:`~pipelines.outputs.RunFolder`) must hold ``manifest.json`` and an ``iris``
zone layer (``zones.gpkg`` or ``zones/iris.parquet``). Everything else is optional and, when
absent, the report leaves its section out or says it was not computed: ``inequality.json``,
the ``qpv`` layer, ``heat_island.json``, ``rasters/n_clear.tif`` and the ``scenarios/`` files.
A file that is present but unreadable is an error naming the file, never a silent omission.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import yaml
from affine import Affine
from pyogrio.errors import DataSourceError
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.features import geometry_mask

from pipelines.config.models import CompositeConfig, InputsConfig, MaskConfig, ZonesConfig
from pipelines.outputs.folder import RunFolder
from pipelines.outputs.lock import lock_holder
from pipelines.outputs.provenance import raster_is_synthetic, truthy
from pipelines.outputs.transaction import interrupted_write
from pipelines.report.errors import ReportError
from raster.landcover import BARE_SOIL_ATTR, LandCover
from tiles.errors import IlotsWarning
from tiles.grid import utm_crs_for

__all__ = ["RASTERS_READ", "RunSummary", "ScenarioFiles", "read_run"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: The rasters of the run folder the report reads (:func:`_read_n_clear`, the land cover's
#: tags): a run waits for their COGs before it builds the report.
RASTERS_READ = frozenset({"n_clear", "landcover"})
#: Pixels read at most from ``n_clear.tif`` (larger rasters are read from a decimated view).
MAX_QUALITY_PIXELS = 1_000_000
#: The manifest version from which a zone's ``n_clear_mean`` leaves water out with the LST
#: (:data:`~pipelines.outputs.manifest.MANIFEST_VERSION`).
_N_CLEAR_OVER_LAND = 4
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ScenarioFiles:
    """The scenario outputs of a run folder, each ``None`` (or empty) when absent.

    Attributes
    ----------
    comparison
        ``scenarios/comparison.csv``: one row per scenario.
    model
        ``scenarios/model.json``: the estimator and its cross-validated skill.
    comparison_png
        ``scenarios/comparison.png``, the side-by-side figure.
    maps
        ``(scenario name, scenarios/<name>/delta_lst.png)`` for each scenario with a map.
    warnings
        What ``ilots scenarios`` warned of (``manifest.json``, ``scenarios.warnings``): pixels
        outside the model's fitted range, changes that select nothing ...
    outside_range
        Scenario name → predictor → share of its edited pixels with a prediction outside the
        model's fitted range (``scenarios/<name>/summary.json``, ``outside_fitted_range``);
        a scenario without a readable summary is absent.
    shares_of_predicted
        Whether the extrapolated shares are of every predicted pixel, neighbours included:
        a ``summary.json`` written before they were of the edited pixels only (it lacks
        ``outside_fitted_range_of``).
    figures_lang
        The language the figures are drawn in: ``ilots scenarios`` draws them in its config's
        ``outputs.report_language`` and writes that config to the run folder's
        ``config.yaml``, which says it; ``None`` when it does not (absent, unreadable).
    """

    comparison: pd.DataFrame | None = None
    model: Mapping[str, Any] | None = None
    comparison_png: Path | None = None
    maps: tuple[tuple[str, Path], ...] = ()
    warnings: tuple[str, ...] = ()
    outside_range: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    shares_of_predicted: bool = False
    figures_lang: str | None = None

    @property
    def present(self) -> bool:
        """Whether the run has any scenario output."""
        return (
            self.comparison is not None
            or self.model is not None
            or self.comparison_png is not None
            or bool(self.maps)
        )


@dataclass(frozen=True)
class RunSummary:
    """Everything the report reads from one run folder.

    Attributes
    ----------
    folder
        The run folder's standard paths.
    manifest
        ``manifest.json`` as parsed.
    iris
        The IRIS zone layer (one row per IRIS, with geometry).
    qpv
        The QPV zone layer in the IRIS layer's CRS, or ``None``.
    inequality
        ``inequality.json`` as parsed, or ``None``.
    heat_island
        ``heat_island.json`` as parsed, or ``None``.
    scenarios
        The scenario outputs.
    n_clear
        Finite per-pixel counts of clear observations (``rasters/n_clear.tif``, decimated when
        larger than :data:`MAX_QUALITY_PIXELS`) of the pixels whose centre lies in an IRIS
        and, when ``rasters/landcover.tif`` is there, that are not water (water has no LST,
        hence no clear observation: counted, it reads as lasting cloud), or ``None``.
    n_clear_decimated
        Whether ``n_clear`` was read from a decimated view of the raster.
    synthetic
        Whether the run processed synthetic data (raster ``synthetic`` tag, or the manifest or
        config says so).
    n_clear_water_out
        Whether water pixels were left out of ``n_clear`` (the land cover was read).
    anomaly_range_k
        The colour range ``[-v, v]`` of the anomaly map (``outputs.anomaly_range_k`` of the
        folder's ``config.yaml``, else of the manifest's config), or ``None``: fitted to
        the values.
    """

    folder: RunFolder
    manifest: Mapping[str, Any]
    iris: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame | None
    inequality: Mapping[str, Any] | None
    heat_island: Mapping[str, Any] | None
    scenarios: ScenarioFiles
    n_clear: np.ndarray | None
    n_clear_decimated: bool
    synthetic: bool
    n_clear_water_out: bool = False
    anomaly_range_k: float | None = None

    @property
    def config(self) -> Mapping[str, Any]:
        """The run configuration recorded in the manifest (empty when absent)."""
        config = self.manifest.get("config")
        return config if isinstance(config, Mapping) else {}

    @property
    def config_name(self) -> str | None:
        """The configuration's ``name``."""
        name = self.config.get("name")
        return str(name) if name else None

    @property
    def ilots_version(self) -> str | None:
        """The ilots version that made the run."""
        version = self.manifest.get("ilots_version")
        return str(version) if version else None

    @property
    def finished(self) -> str | None:
        """When the run finished (ISO 8601 text from the manifest)."""
        value = self.manifest.get("finished") or self.manifest.get("started")
        return str(value) if value else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The warnings the run recorded in its manifest."""
        found = self.manifest.get("warnings") or ()
        return tuple(str(w) for w in found)

    @property
    def warning_codes(self) -> tuple[str | None, ...]:
        """The kind of each of :attr:`warnings` (the manifest's ``warning_codes``).

        ``None`` for a warning of no kind, and for every warning of a manifest written before
        ``warning_codes`` (or with fewer codes than warnings).
        """
        found = self.manifest.get("warning_codes")
        codes = found if isinstance(found, list) else []
        return tuple(
            codes[k] if k < len(codes) and isinstance(codes[k], str) else None
            for k in range(len(self.warnings))
        )

    @property
    def acquisitions(self) -> Mapping[str, tuple[str, ...]]:
        """The acquisition days of the products the run read, per sensor.

        ``{"landsat": (...), "sentinel2": (...)}``: ISO dates, sorted, one per satellite and
        day (two Sentinel-2 tiles of one overpass are one), read from the names of the
        manifest's inputs (Landsat product or item ids, Sentinel-2 product names; files and
        remote URLs alike). A sensor without any is absent.
        """
        found: dict[str, set[tuple[str, str]]] = {}
        for record in self.manifest.get("inputs") or ():
            path = str(record.get("path", "")) if isinstance(record, Mapping) else ""
            for sensor, pattern in _PRODUCT_NAMES.items():
                for match in pattern.finditer(path):
                    day = match["acquired"]
                    found.setdefault(sensor, set()).add(
                        (f"{day[:4]}-{day[4:6]}-{day[6:]}", match["satellite"])
                    )
        return {sensor: tuple(sorted(day for day, _ in days)) for sensor, days in found.items()}

    @property
    def bare_soil_as_built(self) -> bool:
        """Whether the run's land cover counts bare soil as built (classified without NDBI).

        The :data:`~raster.landcover.BARE_SOIL_ATTR` tag of ``rasters/landcover.tif``; false
        without that raster.
        """
        try:
            with rasterio.open(self.folder.raster("landcover")) as src:
                return BARE_SOIL_ATTR in src.tags()
        except RasterioIOError:
            return False

    @property
    def census_years(self) -> Mapping[str, int]:
        """The years of the census tables the run read (``filosofi``, ``population``).

        From the manifest's ``extra.census``; a table without a year is absent.
        """
        census = (self.manifest.get("extra") or {}).get("census")
        if not isinstance(census, Mapping):
            return {}
        return {
            name: int(table["year"])
            for name, table in census.items()
            if isinstance(table, Mapping) and isinstance(table.get("year"), int)
        }

    @property
    def area(self) -> Mapping[str, Any] | None:
        """The area of interest the run covered (the manifest's ``area``).

        Its ``description`` (as the config gives it), ``area_km2`` and ``bounds_wgs84``
        (:func:`~pipelines.outputs.manifest.area_record`); ``None`` for a manifest written
        before that record.
        """
        area = self.manifest.get("area")
        return area if isinstance(area, Mapping) and area.get("description") else None

    @property
    def min_valid_frac(self) -> float | None:
        """The configured ``zones.min_valid_frac`` (below it a zone gets no value)."""
        zones = self.config.get("zones")
        value = zones.get("min_valid_frac") if isinstance(zones, Mapping) else None
        return float(value) if isinstance(value, int | float) else None

    @property
    def changed_settings(self) -> tuple[tuple[str, Any, Any], ...]:
        """The run's quality settings that differ from ilots' defaults.

        ``(dotted key, value, default)`` for each of :data:`QUALITY_SETTINGS` the config
        records with another value than the default (the masks, ``composite.min_clear``...).
        """
        changed = []
        for section, model in QUALITY_SETTINGS.items():
            recorded = self.config.get(section)
            if not isinstance(recorded, Mapping):
                continue
            for name, spec in model.model_fields.items():
                wanted = (section, name) in _QUALITY_FIELDS or model is MaskConfig
                default = spec.get_default(call_default_factory=True)
                if wanted and name in recorded and recorded[name] != default:
                    changed.append((f"{section}.{name}", recorded[name], default))
        return tuple(changed)

    @property
    def water_left_out(self) -> bool:
        """Whether the run left water out of its LST, so a zone's ``valid_frac`` is of its land.

        ``mask.lst_keep_water`` false (the default) or absent (a run from before that key).
        """
        return self._mask_setting("lst_keep_water") is not True

    @property
    def indices_water_left_out(self) -> bool:
        """Whether a zone's ``ndvi_mean`` and ``albedo_mean`` are means over its land.

        So when the run left water out of its NDVI and albedo composites:
        ``mask.indices_keep_water`` false (the default); a run from before that key (absent)
        kept water in them.
        """
        return self._mask_setting("indices_keep_water") is False

    def _mask_setting(self, name: str) -> Any:
        """Return the run's ``mask.<name>`` as its config recorded it (None when absent)."""
        mask = self.config.get("mask")
        return mask.get(name) if isinstance(mask, Mapping) else None

    @property
    def n_clear_over_land(self) -> bool:
        """Whether a zone's ``n_clear_mean`` is the mean over its pixels but water.

        So when the run left water out of its LST (:attr:`water_left_out`) and its manifest
        is of version 4 or later; an earlier run (or a manifest without a version) averaged
        all the zone's pixels, water included, whatever ``mask.lst_keep_water``.
        """
        version = self.manifest.get("manifest_version")
        recent = isinstance(version, int) and version >= _N_CLEAR_OVER_LAND
        return recent and self.water_left_out


#: The product names of each sensor in the manifest's input paths, with their satellite and
#: acquisition day: Landsat product or STAC item ids (``LC08_L2SP_198030_20230626_...``),
#: Sentinel-2 SAFE, Planetary Computer or Earth Search names (``S2A_MSIL2A_20230629T...``,
#: ``S2A_31TCJ_20230629_0_L2A``).
_PRODUCT_NAMES = {
    "landsat": re.compile(
        r"(?<![A-Za-z0-9])(?P<satellite>L[COTEM]0\d)_L[12][A-Z]{2}_\d{6}_(?P<acquired>\d{8})_"
    ),
    "sentinel2": re.compile(
        r"(?<![A-Za-z0-9])(?P<satellite>S2[A-D])_(?:MSIL2A_)?(?:\d{2}[A-Z]{3}_)?"
        r"(?P<acquired>\d{8})"
    ),
}
#: The config sections whose settings decide which pixels count (the report names those
#: changed from the defaults): every mask setting, and the fields of :data:`_QUALITY_FIELDS`.
QUALITY_SETTINGS = {"inputs": InputsConfig, "mask": MaskConfig, "composite": CompositeConfig,
                    "zones": ZonesConfig}  # fmt: skip
_QUALITY_FIELDS = {("inputs", "max_cloud_cover"), ("composite", "min_clear"),
                   ("composite", "min_clear_area_frac"), ("zones", "min_valid_frac")}  # fmt: skip


def read_run(
    run_dir: str | os.PathLike[str] | RunFolder, *, manifest: Mapping[str, Any] | None = None
) -> RunSummary:
    """Read the run folder ``run_dir`` for the report.

    Parameters
    ----------
    run_dir
        A folder written by ``ilots run`` or ``ilots demo`` (the demo's is ``<out>/outputs``),
        or its :class:`~pipelines.outputs.folder.RunFolder` (a staged one reads its stage's
        scenarios and manifest).
    manifest
        The manifest of a run still writing the folder (``ilots run``, whose
        ``manifest.json`` is written last), read instead of ``manifest.json``.

    Returns
    -------
    RunSummary
        The parsed files; absent optional files are ``None``.

    Raises
    ------
    ReportError
        The folder does not exist, lacks ``manifest.json`` or the IRIS layer, holds a file
        that cannot be parsed, or holds a write of ``ilots scenarios`` killed halfway
        (:func:`~pipelines.outputs.transaction.interrupted_write`).
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(Path(run_dir))
    return read_held_run(folder, manifest, run_writer(folder, manifest))


def run_writer(folder: RunFolder, manifest: Mapping[str, Any] | None = None) -> str | None:
    """Return who writes ``folder`` as a run without its manifest yet, else None.

    The folder's holder (:func:`~pipelines.outputs.lock.lock_holder`), asked before the
    caller takes its own hold (``ilots report`` holds the folder as a run does): a hold there
    then is a run's, of another process or of this one (a notebook running into the folder
    while it builds its report). None when ``manifest`` is given or ``manifest.json`` is
    there: the folder is read, not said to be written.
    """
    if manifest is not None or folder.manifest.is_file():
        return None
    return lock_holder(folder.root)


def being_written(root: Path, writer: str) -> str:
    """Say that the run ``writer`` (:func:`run_writer`) is writing ``root``: wait, then report."""
    return (
        f"{root}: a run is writing it ({writer}), so it has no manifest.json yet; wait for it "
        f"to end, then ilots report {root}"
    )


def read_held_run(
    folder: RunFolder, manifest: Mapping[str, Any] | None, writer: str | None
) -> RunSummary:
    """:func:`read_run` of ``folder``, which the caller may hold.

    ``writer``: :func:`run_writer` of ``folder``, asked before the caller took its hold (so
    that its own hold is not taken for a run's).
    """
    _check_run_folder(folder, manifest is not None, writer)
    manifest = _read_json(folder.manifest) if manifest is None else dict(manifest)
    iris = _read_layer(folder, "iris")
    if iris is None:
        raise ReportError(
            f"{folder.root} has no 'iris' zone layer (in zones.gpkg or zones/iris.parquet); "
            "rebuild the run with ilots run"
        )
    if iris.crs is not None and iris.crs.is_geographic:
        # IRIS in degrees (a GeoJSON export): mapped in metres, or they come out stretched
        # east-west by 1 / cos(latitude) (1.5 x in Paris).
        # The zone of the layer's bounding box's centre: no union of thousands of IRIS.
        west, south, east, north = iris.total_bounds
        iris = iris.to_crs(utm_crs_for((west + east) / 2, (south + north) / 2))
    qpv = _read_layer(folder, "qpv")
    if qpv is not None and iris.crs is not None and qpv.crs is not None:
        qpv = qpv.to_crs(iris.crs)
    inequality = _read_json(folder.inequality_json) if folder.inequality_json.exists() else None
    heat_path = folder.root / "heat_island.json"
    heat_island = _read_json(heat_path) if heat_path.exists() else None
    n_clear, decimated, water_out = _read_n_clear(folder, iris)
    return RunSummary(
        folder=folder,
        manifest=manifest,
        iris=iris,
        qpv=qpv,
        inequality=inequality,
        heat_island=heat_island,
        scenarios=_read_scenarios(folder, manifest),
        n_clear=n_clear,
        n_clear_decimated=decimated,
        n_clear_water_out=water_out,
        synthetic=_is_synthetic(folder, manifest),
        anomaly_range_k=_anomaly_range(folder.config, manifest),
    )


def _check_run_folder(folder: RunFolder, manifest_given: bool, writer: str | None) -> None:
    root = folder.root
    if not root.is_dir():
        raise ReportError(
            f"run folder {root} does not exist; pass the folder ilots run or ilots demo wrote"
        )
    missing = []
    if not manifest_given and not folder.manifest.is_file():
        missing.append("manifest.json")
    if not folder.zones_gpkg.is_file() and not folder.zone_parquet("iris").is_file():
        missing.append("zones.gpkg")
    if (stopped_write := interrupted_write(root)) is not None:  # folder_lock completes it
        raise ReportError(
            f"{root}: the last {stopped_write} was stopped while it put its files in place, which "
            f"disagree; ilots report {root} completes that write, then reports"
        )
    if missing:
        nested = root / "outputs" / "manifest.json"
        stopped = None if nested.is_file() or manifest_given else _stopped_run(folder, writer)
        if stopped is not None:
            raise ReportError(stopped)
        hint = f" (did you mean {root / 'outputs'}?)" if nested.is_file() else ""
        raise ReportError(
            f"{root} is not an ilots run folder: {' and '.join(missing)} missing; pass the "
            f"folder ilots run or ilots demo wrote{hint}"
        )


def _stopped_run(folder: RunFolder, writer: str | None) -> str | None:
    """Say how to finish the run stopped in ``folder``, when the folder shows one, else None.

    A run stopped before it wrote ``manifest.json`` leaves its tile checkpoints, the
    replaced run's manifest set aside, or a config that runs into the folder (its own,
    written before its last steps; a previous run's; the demo's beside it). One that
    ``writer`` (:func:`run_writer`) holds is still running: said so.
    """
    root = folder.root
    if writer is not None:
        return being_written(root, writer)
    config = _config_into(root)
    left = (root / ".checkpoints", folder.previous_manifest)
    if config is None and not any(path.exists() for path in left):
        return None
    command = f"ilots run {config if config else 'CONFIG.yaml'} --out {root}"
    started = "" if config else " (CONFIG.yaml: the config it was started with)"
    return (
        f"{root}: a run into it was stopped before it finished (manifest.json missing); "
        f"finish it with {command}{started}, which resumes a tiled run from its finished "
        f"tiles, then ilots report {root}"
    )


def _config_into(root: Path) -> Path | None:
    """Return the ``config.yaml`` whose ``outputs.folder`` is ``root``: in it, or beside it."""
    for config in (root / "config.yaml", root.parent / "config.yaml"):
        try:
            target = yaml.safe_load(config.read_text(encoding="utf-8"))["outputs"]["folder"]
            if (config.parent / str(target)).resolve() == root.resolve():
                return config
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
            continue
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportError(
            f"{path} is not valid JSON ({err.msg} at line {err.lineno}); rebuild the run"
        ) from err
    except UnicodeDecodeError as err:
        raise ReportError(f"{path} is not UTF-8 text; rebuild the run") from err
    if not isinstance(data, dict):
        raise ReportError(f"{path} holds a {type(data).__name__}, not an object; rebuild the run")
    return data


def _read_layer(folder: RunFolder, layer: str) -> gpd.GeoDataFrame | None:
    gpkg = folder.zones_gpkg
    try:
        if gpkg.is_file() and layer in set(pyogrio.list_layers(gpkg)[:, 0]):
            return gpd.read_file(gpkg, layer=layer)
        parquet = folder.zone_parquet(layer)
        if parquet.is_file():
            return gpd.read_parquet(parquet)
    except (DataSourceError, OSError, ValueError) as err:
        raise ReportError(
            f"zone layer {layer!r} of {folder.root} cannot be read ({err}); rebuild the run"
        ) from err
    return None


def _read_n_clear(
    folder: RunFolder, iris: gpd.GeoDataFrame
) -> tuple[np.ndarray | None, bool, bool]:
    """Read the clear-observation counts of the study area's land pixels.

    Returns the counts of the pixels whose centre lies in an IRIS, less those the land cover
    classes as water (``None`` without ``n_clear.tif``), whether they were read from a
    decimated view, and whether the water was left out (``landcover.tif`` read, on the
    same grid).
    """
    path = folder.raster("n_clear")
    if not path.is_file():
        return None, False, False
    data, decimated, (shape, transform, crs) = _read_decimated(path)
    keep = ~np.ma.getmaskarray(data)
    if iris.crs is not None and crs is not None and len(iris):
        keep &= geometry_mask(
            iris.to_crs(crs).geometry, out_shape=shape, transform=transform, invert=True
        )
    water = None
    if folder.raster("landcover").is_file():
        classes, _, grid = _read_decimated(folder.raster("landcover"))
        if grid[0] == shape and grid[1] == transform:
            water = np.ma.filled(classes, 0) == int(LandCover.WATER)
            keep &= ~water
    values = np.ma.filled(data.astype("float64"), np.nan)[keep]
    return values[np.isfinite(values)], decimated, water is not None


def _read_decimated(path: Path) -> tuple[np.ma.MaskedArray, bool, tuple[Any, ...]]:
    """Read band 1 of ``path``, decimated to at most :data:`MAX_QUALITY_PIXELS` pixels.

    Returns the masked band, whether it was decimated, and its grid: shape, transform, CRS.
    """
    try:
        with rasterio.open(path) as ds:
            factor = max(1, math.ceil(math.sqrt(ds.width * ds.height / MAX_QUALITY_PIXELS)))
            shape = (max(1, ds.height // factor), max(1, ds.width // factor))
            data = ds.read(1, out_shape=shape, resampling=Resampling.nearest, masked=True)
            transform = ds.transform * Affine.scale(ds.width / shape[1], ds.height / shape[0])
            crs = ds.crs
    except RasterioIOError as err:
        raise ReportError(f"{path} cannot be read ({err}); rebuild the run") from err
    return data, factor > 1, (shape, transform, crs)


def _is_synthetic(folder: RunFolder, manifest: Mapping[str, Any]) -> bool:
    config = manifest.get("config")
    extra = manifest.get("extra")
    for source in (manifest, config, extra):
        if isinstance(source, Mapping) and truthy(source.get("synthetic")):
            return True
    rasters = sorted(folder.rasters.glob("*.tif")) if folder.rasters.is_dir() else []
    return any(map(raster_is_synthetic, rasters))  # an unreadable raster says nothing


def _read_scenarios(folder: RunFolder, manifest: Mapping[str, Any]) -> ScenarioFiles:
    root = folder.scenarios
    if not root.is_dir():
        return ScenarioFiles()
    comparison = None
    csv = root / "comparison.csv"
    if csv.is_file():
        try:
            comparison = pd.read_csv(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ReportError(
                f"{csv} cannot be read as CSV ({err}); rerun ilots scenarios"
            ) from err
        if "scenario" not in comparison.columns:
            raise ReportError(f"{csv} has no 'scenario' column; rerun ilots scenarios")
    model_path = root / "model.json"
    model = _read_json(model_path) if model_path.is_file() else None
    names = (
        [str(name) for name in comparison["scenario"]]
        if comparison is not None
        else sorted(p.name for p in root.iterdir() if p.is_dir())
    )
    maps = []
    outside: dict[str, dict[str, float]] = {}
    of_predicted = False
    for name in names:
        try:
            png = folder.scenario(name) / "delta_lst.png"
        except ValueError:
            continue
        if _is_png(png):
            maps.append((name, png))
        shares = _outside_range(png.with_name("summary.json"))
        if shares is not None:
            outside[name], predicted = shares
            of_predicted |= predicted
    side_by_side = root / "comparison.png"
    return ScenarioFiles(
        comparison=comparison,
        model=model,
        comparison_png=side_by_side if _is_png(side_by_side) else None,
        maps=tuple(maps),
        warnings=tuple(str(w) for w in (manifest.get("scenarios") or {}).get("warnings") or ()),
        outside_range=outside,
        shares_of_predicted=of_predicted,
        figures_lang=_config_language(folder.config),
    )


def _config_language(path: Path) -> str | None:
    """``outputs.report_language`` of a config file; ``None`` when absent or unreadable."""
    outputs = _config_outputs(path)
    lang = outputs.get("report_language") if outputs is not None else None
    return lang if isinstance(lang, str) else None


def _config_outputs(path: Path) -> dict[str, Any] | None:
    """Return the ``outputs`` section of a config file; ``None`` when absent or unreadable."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    outputs = config.get("outputs") if isinstance(config, dict) else None
    return outputs if isinstance(outputs, dict) else None


def _anomaly_range(path: Path, manifest: Mapping[str, Any]) -> float | None:
    """``outputs.anomaly_range_k`` of the config file ``path``, else of the manifest's config.

    The file first: ``ilots report`` then redraws the map with a range set there after the
    run. ``None`` when neither sets one.

    Raises
    ------
    ReportError
        The range is not a number > 0.
    """
    outputs = _config_outputs(path)
    where = str(path)
    if outputs is None:
        config = manifest.get("config")
        recorded = config.get("outputs") if isinstance(config, Mapping) else None
        outputs, where = (recorded if isinstance(recorded, Mapping) else {}), "manifest.json"
    value = outputs.get("anomaly_range_k")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ReportError(
            f"{where}: outputs.anomaly_range_k: must be a number > 0 (K) or null, got "
            f"{value!r}; fix it and rerun ilots report"
        )
    return float(value)


def _outside_range(path: Path) -> tuple[dict[str, float], bool] | None:
    """Read a scenario's shares of edited pixels outside the fitted range (summary.json).

    With whether they are of every predicted pixel instead (a summary without
    ``outside_fitted_range_of``, written before). ``None`` when the summary is absent or
    unreadable: the report then words the extrapolation from ``comparison.csv`` alone.
    """
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    shares = summary.get("outside_fitted_range") if isinstance(summary, dict) else None
    if not isinstance(shares, dict):
        return None
    numbers = {
        str(k): float(v)
        for k, v in shares.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return numbers, "outside_fitted_range_of" not in summary


def _is_png(path: Path) -> bool:
    """Whether ``path`` is a PNG file; a file that is not one is left out with a warning."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        if handle.read(len(_PNG_SIGNATURE)) == _PNG_SIGNATURE:
            return True
    warnings.warn(
        f"{path} is not a PNG image; the report leaves it out (rerun ilots scenarios)",
        IlotsWarning,
        stacklevel=3,
    )
    return False
