"""Reading the run folders ``ilots compare`` is given: manifest, zone layers, inequality."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from pipelines.outputs.folder import RunFolder
from tiles.errors import IlotsError

__all__ = ["LAYERS", "CompareError", "Run", "read_run"]

#: The zone layers compared, when both runs have them.
LAYERS = ("iris", "qpv")
#: The per-zone values compared, headline first, before the land-cover shares.


class CompareError(IlotsError):
    """A folder given to ``ilots compare`` is not a finished run folder, or is the output."""


@dataclass(frozen=True)
class Run:
    """A finished run folder: its manifest and zone layers (ids as text)."""

    folder: Path
    manifest: Mapping[str, Any]
    layers: Mapping[str, gpd.GeoDataFrame]
    inequality: Mapping[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Mapping[str, Any]:
        """The config as run (the manifest's)."""
        return self.manifest.get("config") or {}

    def setting(self, section: str, key: str) -> Any:
        """Return the config's ``section.key`` (``None`` when missing)."""
        return (self.config.get(section) or {}).get(key)

    @property
    def synthetic(self) -> bool:
        """Whether the run processed synthetic data (the demo)."""
        extra = self.manifest.get("extra") or {}
        return bool(extra.get("synthetic") or self.config.get("synthetic"))


def read_run(folder: str | Path) -> Run:
    """Read a finished run folder of ``ilots run`` or ``ilots demo``.

    Raises
    ------
    CompareError
        Not a folder, no readable ``manifest.json`` with a grid, or no zone layer.
    """
    run = RunFolder(Path(folder))
    if not run.root.is_dir():
        raise CompareError(f"{run.root} is not a folder; give a run folder of ilots run/demo")
    try:
        manifest = json.loads(run.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(
            f"{run.root} has no manifest.json: not a finished run folder; give the folder "
            "ilots run or ilots demo wrote (its outputs/), or finish that run first"
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CompareError(f"{run.manifest} cannot be read ({err}); rerun ilots run") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("grid"), dict):
        raise CompareError(f"{run.manifest} records no grid; rerun ilots run on that config")
    layers = {name: frame for name in LAYERS if (frame := _read_layer(run, name)) is not None}
    if not layers:
        raise CompareError(
            f"{run.root} has no zone layer (zones.gpkg or zones/*.parquet); rerun ilots run"
        )
    return Run(run.root, manifest, layers, _read_inequality(run))


def _read_inequality(run: RunFolder) -> dict[str, Any]:
    """Return the run's ``inequality.json`` (empty: none, or unreadable)."""
    try:
        saved = json.loads(run.inequality_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _read_layer(run: RunFolder, name: str) -> gpd.GeoDataFrame | None:
    """Read zone layer ``name`` of a run, its first column (the zone id) as text."""
    if run.zones_gpkg.is_file() and name in set(pyogrio.list_layers(run.zones_gpkg)[:, 0]):
        frame = gpd.read_file(run.zones_gpkg, layer=name)
    elif run.zone_parquet(name).is_file():
        frame = gpd.read_parquet(run.zone_parquet(name))
    else:
        return None
    key = frame.columns[0]
    return frame.assign(**{key: frame[key].astype("string")})
