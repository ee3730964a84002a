"""Reading the run folders ``ilots compare`` is given: manifest, zone layers, inequality."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pyogrio.errors

from pipelines.outputs.folder import RunFolder
from pipelines.outputs.provenance import truthy
from pipelines.outputs.transaction import interrupted_write
from tiles.errors import IlotsError, IlotsWarning, ZonesError

__all__ = ["LAYERS", "CompareError", "Run", "read_run"]

#: The zone layers compared, when both runs have them.
LAYERS = ("iris", "qpv")
#: How many zone ids an error gives as examples.
_EXAMPLES = 5
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
        """Whether the run processed synthetic data (the demo): its manifest says yes.

        Read as a tag is (:func:`~pipelines.outputs.provenance.truthy`): ``"false"`` is no.
        """
        extra = self.manifest.get("extra") or {}
        return truthy(extra.get("synthetic")) or truthy(self.config.get("synthetic"))


def read_run(folder: str | Path) -> Run:
    """Read a finished run folder of ``ilots run`` or ``ilots demo``.

    Raises
    ------
    CompareError
        Not a folder (a scenario's is said), the files a stopped ``ilots scenarios`` left
        half put in place (:func:`~pipelines.outputs.transaction.interrupted_write`), no
        readable ``manifest.json`` with a grid, no zone layer, or a ``zones.gpkg`` that
        cannot be read without ``zones/*.parquet``.
    ZonesError
        A zone id is in a layer more than once.
    """
    run = RunFolder(Path(folder))
    if not run.root.is_dir():
        raise CompareError(f"{run.root} is not a folder; give a run folder of ilots run/demo")
    if (writer := interrupted_write(run.root)) is not None:
        raise CompareError(
            f"{run.root}: the last {writer} was stopped while it put its files in place, which "
            f"disagree; ilots report {run.root} completes that write, then compare it"
        )
    try:
        manifest = json.loads(run.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _refuse_scenario(run.root)
        raise CompareError(
            f"{run.root} has no manifest.json: not a finished run folder; give the folder "
            "ilots run or ilots demo wrote (its outputs/), or finish that run first"
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CompareError(f"{run.manifest} cannot be read ({err}); rerun ilots run") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("grid"), dict):
        raise CompareError(f"{run.manifest} records no grid; rerun ilots run on that config")
    in_gpkg = _gpkg_layers(run)
    layers = {
        name: frame for name in LAYERS if (frame := _read_layer(run, name, in_gpkg)) is not None
    }
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


def _refuse_scenario(folder: Path) -> None:
    """Refuse a scenario's folder (``<run>/scenarios/<name>``), which has no manifest of its own.

    Raises
    ------
    CompareError
        ``folder`` is in a ``scenarios`` folder of a run folder.
    """
    scenarios = folder.resolve().parent
    if scenarios.name == "scenarios" and (scenarios.parent / "manifest.json").is_file():
        raise CompareError(
            f"{folder} is a scenario of run {scenarios.parent}, not a run folder: the scenarios "
            f"are compared with each other in {scenarios / 'comparison.csv'}; give two run "
            "folders (two summers, or two configs)"
        )


def _gpkg_layers(run: RunFolder) -> set[str] | None:
    """Return the layers of the run's ``zones.gpkg`` (None: no such file).

    A file that cannot be read is said, when a ``zones/<layer>.parquet`` can be read instead
    (as a warning; its layers are then read from there), or refused.

    Raises
    ------
    CompareError
        ``zones.gpkg`` cannot be read and the run has no ``zones/*.parquet``.
    """
    if not run.zones_gpkg.is_file():
        return None
    try:
        return set(pyogrio.list_layers(run.zones_gpkg)[:, 0])
    except (pyogrio.errors.DataSourceError, OSError) as err:
        reason = str(err).splitlines()[0].rsplit("; ", 1)[-1]  # GDAL's last word: the cause
        if not any(run.zone_parquet(name).is_file() for name in LAYERS):
            raise CompareError(
                f"{run.zones_gpkg} cannot be read ({reason}); rerun ilots run on that config "
                "to write it again"
            ) from None
        warnings.warn(
            IlotsWarning(
                f"{run.zones_gpkg} cannot be read ({reason}): its zone layers are read from "
                f"{run.zones} (zones/<layer>.parquet) instead"
            ),
            stacklevel=3,
        )
        return set()


def _read_layer(run: RunFolder, name: str, in_gpkg: set[str] | None) -> gpd.GeoDataFrame | None:
    """Read zone layer ``name`` of a run, its first column (the zone id) as text.

    Raises
    ------
    ZonesError
        A zone id is in the layer more than once.
    """
    if in_gpkg and name in in_gpkg:
        frame = gpd.read_file(run.zones_gpkg, layer=name)
    elif run.zone_parquet(name).is_file():
        frame = gpd.read_parquet(run.zone_parquet(name))
    else:
        return None
    key = frame.columns[0]
    ids = frame[key].astype("string")
    repeated = ids[ids.duplicated()].dropna().unique()
    if len(repeated):
        raise ZonesError(
            f"{run.root}: the {name} layer has {len(repeated)} {key} id(s) in more than one row "
            f"({', '.join(repeated[:_EXAMPLES])}); rerun ilots run with a zone file whose ids "
            "are unique"
        )
    return frame.assign(**{key: ids})
