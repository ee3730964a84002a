"""The run folder of DESIGN.md ("Contracts"): one place that knows every standard path.

::

    rasters/<name>.tif          COGs (overviews, nodata, CF-style tags)
    zones.gpkg                  layers iris, qpv, ... with QGIS styles in ``layer_styles``
    zones/<layer>.parquet       GeoParquet, one file per zone layer
    inequality.json, .csv       inequality metrics
    scenarios/<name>/           one folder per greening scenario, plus comparison.csv
    report.html + figures/      the HTML report and its figures
    manifest.json               config, inputs, versions, grid, timings, warnings

``manifest.json`` is the last file a run puts in place: a folder without it holds no finished
run (stopped half-way, its replaced run's manifest is ``.manifest.previous.json``).

A run makes the folder its own (:func:`claimed`) once it leaves something there even if it
stops; :func:`watching_claims` tells the CLI, which then writes its log there (``ilots.log``:
no output, never listed in the manifest, never removed by a run).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FIGURE_NAMES", "LOG_NAME", "RunFolder", "StagedRunFolder", "claimed", "watching_claims"]

#: The log the CLI keeps in a run folder (:mod:`pipelines.run_log`): no output of the run.
LOG_NAME = "ilots.log"

#: Stems of the figures the report may write under ``figures/``; a stale one from an earlier
#: report whose data are gone is removed.
FIGURE_NAMES = (
    "lst_map",
    "ndvi_map",
    "income_scatter",
    "deciles",
    "qpv_comparison",
    "suhii",
    "data_quality",
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_name(name: str, what: str) -> str:
    """Return ``name`` if it is a safe file stem (letters, digits, ``_ . -``), else raise."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith("."):
        raise ValueError(
            f"{what} name {name!r} is not a valid file name; use letters, digits, '_', '.', '-'"
        )
    return name


@dataclass(frozen=True)
class RunFolder:
    """The standard paths of one run folder.

    Parameters
    ----------
    root
        The run folder; nothing is created until :meth:`create`.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(os.fspath(self.root)))

    def holds_comparison(self) -> bool:
        """Whether ``manifest.json`` is an ``ilots compare``'s (it records ``extra.runs``).

        A comparison's folder is no run folder: a run into it would mix its files with the
        comparison's. An unreadable manifest is no comparison's.
        """
        try:
            saved = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        extra = saved.get("extra") if isinstance(saved, dict) else None
        return isinstance(extra, dict) and "runs" in extra

    @property
    def rasters(self) -> Path:
        """Folder of the COG rasters."""
        return self.root / "rasters"

    def raster(self, name: str) -> Path:
        """COG path of raster ``name`` (``rasters/<name>.tif``)."""
        return self.rasters / f"{check_name(name, 'raster')}.tif"

    @property
    def zones_gpkg(self) -> Path:
        """The GeoPackage holding every zone layer and its QGIS style."""
        return self.root / "zones.gpkg"

    @property
    def zones(self) -> Path:
        """Folder of the per-layer GeoParquet files."""
        return self.root / "zones"

    def zone_parquet(self, layer: str) -> Path:
        """GeoParquet path of zone layer ``layer`` (``zones/<layer>.parquet``)."""
        return self.zones / f"{check_name(layer, 'zone layer')}.parquet"

    @property
    def inequality_json(self) -> Path:
        """Inequality metrics, nested JSON."""
        return self.root / "inequality.json"

    @property
    def inequality_csv(self) -> Path:
        """Inequality metrics, one row per metric."""
        return self.root / "inequality.csv"

    @property
    def heat_island_json(self) -> Path:
        """Surface heat-island intensity (SUHII), per scene and for the composite."""
        return self.root / "heat_island.json"

    @property
    def scenarios(self) -> Path:
        """Folder of the greening scenarios."""
        return self.root / "scenarios"

    def scenario(self, name: str) -> Path:
        """Folder of scenario ``name`` (``scenarios/<name>/``)."""
        return self.scenarios / check_name(name, "scenario")

    @property
    def report(self) -> Path:
        """The HTML report."""
        return self.root / "report.html"

    @property
    def figures(self) -> Path:
        """Folder of the report's figures."""
        return self.root / "figures"

    @property
    def manifest(self) -> Path:
        """The run manifest."""
        return self.root / "manifest.json"

    @property
    def config(self) -> Path:
        """The config the folder's outputs were made with (``ilots run config.yaml``)."""
        return self.root / "config.yaml"

    @property
    def log(self) -> Path:
        """The log of the commands that wrote the folder (written by the CLI, not an output)."""
        return self.root / LOG_NAME

    @property
    def root_files(self) -> tuple[Path, ...]:
        """The files a run writes at the top of the folder, but its manifest.

        ``zones.gpkg``, ``inequality.json`` and ``.csv``, ``heat_island.json``,
        ``report.html`` and ``config.yaml``: those of the earlier run that a run into the
        folder may remove (:mod:`.stale`).
        """
        return (
            self.zones_gpkg,
            self.inequality_json,
            self.inequality_csv,
            self.heat_island_json,
            self.report,
            self.config,
        )

    @property
    def previous_manifest(self) -> Path:
        """The manifest of the run a new run into the folder replaces, set aside (hidden).

        A run moves ``manifest.json`` here before it replaces a file, so that the folder
        never looks like a finished run until it is one, while a run resumed after a crash
        still knows which files the replaced run wrote (:mod:`.stale`). Hidden: never listed
        as an output, never read as the folder's manifest.
        """
        return self.root / ".manifest.previous.json"

    def create(self) -> RunFolder:
        """Create the root and its ``rasters/``, ``zones/`` and ``figures/`` folders; return self.

        Existing folders and files are kept (each file is replaced atomically when rewritten).
        """
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"run folder {self.root} is a file; choose another --out")
        for folder in (self.root, self.rasters, self.zones, self.figures):
            folder.mkdir(parents=True, exist_ok=True)
        return self


#: The callbacks of the open :func:`watching_claims` blocks.
_watchers: list[Callable[[Path], None]] = []
_watchers_lock = threading.Lock()


@contextlib.contextmanager
def watching_claims(callback: Callable[[Path], None]) -> Iterator[None]:
    """Call ``callback(root)`` each time a run makes a folder its own while the block runs.

    The seam of the CLI's run log (``RUN_DIR/ilots.log``), which holds its records until
    then: before a run claims its folder (:func:`claimed`), a run that stops leaves the
    folder as it found it, or removes it, and so no log there. The callback is called in
    the claiming thread, for any run of the process, maybe several times for one folder.
    """
    with _watchers_lock:
        _watchers.append(callback)
    try:
        yield
    finally:
        with _watchers_lock:
            _watchers.remove(callback)


def claimed(root: str | os.PathLike[str]) -> None:
    """Say that a run has made the existing folder ``root`` its own (:func:`watching_claims`).

    Called once the run leaves something there even if it stops: when ``ilots run`` or
    ``ilots scenarios`` has locked a folder that existed before it (a re-run: the folder
    stays whatever happens), when ``ilots run`` first writes an output
    (``pipelines.run._claim``) or opens its tile checkpoints, and when ``ilots scenarios``
    has put its scenarios in place.
    """
    with _watchers_lock:
        watchers = list(_watchers)
    for callback in watchers:
        callback(Path(root))


@dataclass(frozen=True)
class StagedRunFolder(RunFolder):
    """A run folder whose scenario entries are read and written in a stage folder.

    ``scenarios/``, ``figures/``, ``report.html``, ``manifest.json`` and ``config.yaml`` are
    those of ``stage`` (:func:`~pipelines.outputs.transaction.staged_entries`), which replace
    the run folder's together; the other paths are the run folder's. ``ilots scenarios``
    builds the report of the staged state through it.

    Parameters
    ----------
    root
        The run folder.
    stage
        The stage folder.
    """

    stage: Path

    @property
    def scenarios(self) -> Path:
        """Staged folder of the greening scenarios."""
        return self.stage / "scenarios"

    @property
    def report(self) -> Path:
        """Staged HTML report."""
        return self.stage / "report.html"

    @property
    def figures(self) -> Path:
        """Staged folder of the report's figures."""
        return self.stage / "figures"

    @property
    def manifest(self) -> Path:
        """Staged run manifest."""
        return self.stage / "manifest.json"

    @property
    def config(self) -> Path:
        """Staged config (the one the staged scenarios were made with)."""
        return self.stage / "config.yaml"

    def final(self, path: str | os.PathLike[str]) -> Path:
        """Return where a path in the stage will be once the stage is put in place."""
        return self.root / Path(path).relative_to(self.stage)
