"""Run configuration: YAML files validated into frozen pydantic models.

A config names the area of interest, the periods, the satellite inputs, the grid, the masks,
the composites, the heat-island reference, the land cover, the sharpened LST map, the zone
layers, the census files, the inequality statistics, the outputs, the scheduler and the
planner scenarios
(:mod:`.scenarios`). Unknown keys and bad values raise :class:`~tiles.errors.ConfigError` with
one line naming the file and the dotted key
(``config.yaml: grid.resolution: must be > 0 (got -30)``); paths resolve against the config
file's folder. Example configs ship in ``pipelines/configs/`` (:func:`example_config`).

Public API
----------
``load_config(path, *, check_paths=True) -> RunConfig``
    Read, validate and check a YAML config (:mod:`.load`).
``dump_config(config, path) -> Path``
    Write a config as YAML that ``load_config`` reads back equal; relative paths stay
    relative to the file's folder.
``config_from_dict(data, *, base_dir=None, source="config") -> RunConfig``
    Validate a mapping.
``check_paths(config, *, source="config")``, ``config_paths(config)``
    Check, list the input paths by key.
``apply_overrides(config, {"outputs.folder": ..., "scheduler": "tcp://..."})``
    Command-line overrides, validated again.
``config_digest(config)``, ``config_reference()``
    Run fingerprint; every key with its default and description.
``area_of_interest(config) -> AreaOfInterest``, ``grid_crs(config, area)``
    The AOI as a shapely geometry with its CRS (:mod:`.aoi`).
``resolve_inputs(config) -> ResolvedInputs``
    Products as ilots STAC Items from folders, globs, static catalogues and STAC APIs
    (:mod:`.inputs`); ``search_catalog`` and ``search_stac_api`` do the searching;
    ``check_coverage(config, area, items)`` says when their footprints miss most of the area;
    ``check_extent_coverage(config)`` says it of a large area's extent before its features are
    read; a ``Searches`` given to both keeps the catalogue and API searches made once.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from pipelines.config.aoi import AreaOfInterest, area_of_interest, grid_crs
from pipelines.config.inputs import (
    ResolvedInputs,
    Searches,
    check_coverage,
    check_extent_coverage,
    resolve_inputs,
    search_catalog,
    search_stac_api,
)
from pipelines.config.load import (
    apply_overrides,
    check_paths,
    config_digest,
    config_from_dict,
    config_paths,
    config_reference,
    dump_config,
    load_config,
)
from pipelines.config.models import (
    LANDCOVER_CLASSES,
    AOIConfig,
    CatalogSource,
    CensusConfig,
    CompositeConfig,
    DateRange,
    ExternalLandcover,
    ExtraZoneLayer,
    GridConfig,
    HeatIslandConfig,
    InequalityConfig,
    InputsConfig,
    InputSource,
    LandcoverConfig,
    LandcoverRules,
    MaskConfig,
    OutputsConfig,
    PeriodsConfig,
    QpvLayerConfig,
    RunConfig,
    SchedulerConfig,
    StacApiSource,
    ZoneLayerConfig,
    ZonesConfig,
)
from pipelines.config.scenarios import (
    SCENARIO_CLASSES,
    AlbedoChange,
    ChangeSpec,
    NdviChange,
    ReclassifyChange,
    ScenarioModelConfig,
    ScenarioSpec,
    WhereSpec,
)
from tiles.errors import ConfigError

__all__ = [
    "EXAMPLE_CONFIGS",
    "LANDCOVER_CLASSES",
    "SCENARIO_CLASSES",
    "AOIConfig",
    "AlbedoChange",
    "AreaOfInterest",
    "CatalogSource",
    "CensusConfig",
    "ChangeSpec",
    "CompositeConfig",
    "ConfigError",
    "DateRange",
    "ExternalLandcover",
    "ExtraZoneLayer",
    "GridConfig",
    "HeatIslandConfig",
    "InequalityConfig",
    "InputSource",
    "InputsConfig",
    "LandcoverConfig",
    "LandcoverRules",
    "MaskConfig",
    "NdviChange",
    "OutputsConfig",
    "PeriodsConfig",
    "QpvLayerConfig",
    "ReclassifyChange",
    "ResolvedInputs",
    "RunConfig",
    "ScenarioModelConfig",
    "ScenarioSpec",
    "SchedulerConfig",
    "Searches",
    "StacApiSource",
    "WhereSpec",
    "ZoneLayerConfig",
    "ZonesConfig",
    "apply_overrides",
    "area_of_interest",
    "check_coverage",
    "check_extent_coverage",
    "check_paths",
    "config_digest",
    "config_from_dict",
    "config_paths",
    "config_reference",
    "dump_config",
    "example_config",
    "grid_crs",
    "load_config",
    "resolve_inputs",
    "search_catalog",
    "search_stac_api",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Example configs shipped in ``pipelines/configs/``: the demo city, Toulouse from downloaded
#: USGS/Copernicus products, and Toulouse from STAC APIs.
EXAMPLE_CONFIGS: tuple[str, ...] = ("demo", "toulouse", "toulouse_stac")


def example_config(name: str) -> Path:
    """Path of a shipped example config (``demo``, ``toulouse`` or ``toulouse_stac``).

    Parameters
    ----------
    name
        One of :data:`EXAMPLE_CONFIGS`.

    Returns
    -------
    pathlib.Path
        The YAML file inside the installed package.

    Raises
    ------
    ConfigError
        For an unknown name.
    """
    if name not in EXAMPLE_CONFIGS:
        raise ConfigError(f"no example config {name!r}; use one of {', '.join(EXAMPLE_CONFIGS)}")
    return Path(str(resources.files("pipelines").joinpath("configs", f"{name}.yaml")))
