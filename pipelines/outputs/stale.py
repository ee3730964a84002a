"""What a run into a folder holding an earlier run removes of the earlier one.

With ``outputs.overwrite``, the files an earlier run wrote and this one does not write again
would stay beside the new ones and be listed in the new manifest: its ``scenarios/`` (shown by
the new report as this run's), a zone format no longer asked for, a raster no longer made.
Only files ilots wrote go: those the earlier manifest lists; without a manifest, rasters
tagged as ilots' that have the name of one it writes. A user's copy of a raster stays. A
manifest before version 3 (:data:`~pipelines.outputs.manifest.MANIFEST_VERSION`) may list
every file of its folder, a user's saved there during its run too: of its files, only those
with the name of one ilots writes (:func:`is_run_output`) go, the others stay (logged).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import rasterio
from rasterio.errors import RasterioIOError

from pipelines.config.models import is_run_raster
from pipelines.outputs.folder import FIGURE_NAMES, RunFolder
from pipelines.outputs.geopackage import user_content
from pipelines.outputs.rasters import VERSION_TAG
from tiles.errors import IlotsWarning

__all__ = [
    "describe_previous_run",
    "folder_clock",
    "is_input",
    "is_run_output",
    "previous_outputs",
    "remove_stale_outputs",
    "remove_stale_rasters",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: The manifest version from which ``outputs`` lists only the files the run wrote.
_WRITTEN_ONLY = 3

#: Files a run writes at the top of its folder, under ``scenarios/``, and in each scenario's.
_ROOT_FILES = frozenset(path.name for path in RunFolder(Path()).root_files)
_SCENARIOS_FILES = frozenset({"comparison.csv", "comparison.png", "model.json"})
_SCENARIO_FILES = frozenset(
    {"delta_lst.tif", "delta_lst.qml", "delta_lst.png", "inequality.json", "inequality.csv",
     "summary.json"}
)  # fmt: skip


def folder_clock(root: str | os.PathLike[str]) -> float:
    """Return the folder's file time now: what a file written there from now on has, or later.

    Taken from a file written there and removed at once, so that it is on the same clock
    and with the same granularity as the times of the files the run then writes: a file
    system that rounds times down (two seconds on FAT), a network share whose server clock
    differs from this machine's, or Linux's coarse file clock (a few milliseconds behind
    :func:`time.time`) would otherwise date a file the run writes just after it started
    before its start. The current time if the folder cannot be written.
    """
    try:  # the name is one sweep_temporaries removes, left by a process killed meanwhile
        with tempfile.NamedTemporaryFile(dir=root, prefix=".clock.", suffix=".tmp") as probe:
            return os.fstat(probe.fileno()).st_mtime
    except OSError:
        return time.time()


def is_input(path: Path, inputs: Collection[Path]) -> bool:
    """Whether ``path`` is one of ``inputs`` (resolved paths) or inside one (a folder)."""
    resolved = path.resolve()
    return any(resolved == given or given in resolved.parents for given in inputs)


def describe_previous_run(folder: RunFolder) -> str | None:
    """Say which finished run the folder holds (its end, periods, scenarios); None: none.

    For the line a run that replaces it says first (``outputs.overwrite``), while stopping
    (Ctrl-C) still keeps it.
    """
    try:
        manifest = json.loads(folder.manifest.read_text(encoding="utf-8"))
        finished = str(manifest.get("finished") or "")[:16].replace("T", " ")
        periods = manifest["config"]["periods"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if periods.get("ranges"):
        when = ", ".join(f"{r.get('start')} to {r.get('end')}" for r in periods["ranges"])
    else:
        months = ", ".join(str(m) for m in periods.get("months") or ())
        years = ", ".join(str(y) for y in periods.get("years") or ())
        when = f"months {months} of {years}"
    scenarios = " and its scenarios/" if folder.scenarios.is_dir() else ""
    return f"the run of {when}" + (f", finished {finished} UTC" if finished else "") + scenarios


def previous_outputs(folder: RunFolder) -> list[Path] | None:
    """Return the files the folder's previous run listed as its outputs, in this folder.

    The previous run is the finished one whose manifest is ``manifest.json``, or, after a
    run into the folder stopped half-way (which set that manifest aside before replacing a
    file), ``.manifest.previous.json`` (:attr:`RunFolder.previous_manifest`): the run that
    resumes it still removes the files of the run it replaces. Its manifest names them
    relative to the folder (manifest version 2), or under the folder it ran into
    (``outputs.folder`` of its config, version 1); a folder copied or moved since has them
    here. Files outside it are not returned. None when the folder holds neither manifest
    (or none that can be read): no run into it finished.
    """
    listed = [_listed_files(folder, path) for path in (folder.manifest, folder.previous_manifest)]
    if all(files is None for files in listed):
        return None
    return list(dict.fromkeys(file for files in listed for file in files or ()))


def _listed_files(folder: RunFolder, manifest_path: Path) -> list[Path] | None:
    """Return the files the manifest at ``manifest_path`` lists, in ``folder`` (None: none).

    Of a manifest before version 3, only those with the name of one ilots writes.
    """
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        old_root = Path(manifest["config"]["outputs"]["folder"])
        records = list(manifest.get("outputs") or [])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    files = _recorded_files(folder, records, old_root)
    version = manifest.get("manifest_version")
    if isinstance(version, int) and version >= _WRITTEN_ONLY:
        return files
    return _run_outputs_only(folder, files, manifest, manifest_path)


def _run_outputs_only(
    folder: RunFolder, files: list[Path], manifest: Mapping[str, Any], manifest_path: Path
) -> list[Path]:
    """Return the ``files`` an older manifest lists that have a name ilots writes; log the rest."""
    ours, kept = [], []
    for path in files:
        relative = PurePosixPath(path.relative_to(folder.root).as_posix())
        (ours if is_run_output(relative, manifest) else kept).append(relative)
    if kept:
        logger.info(
            "%s, written by an earlier ilots, lists %d file(s) of the folder that are not "
            "ilots outputs (e.g. %s): kept, as a user's",
            manifest_path, len(kept), ", ".join(str(p) for p in kept[:3]),
        )  # fmt: skip
    return [Path(folder.root) / path for path in ours]


def is_run_output(relative: PurePosixPath, manifest: Mapping[str, Any]) -> bool:
    """Whether the run of ``manifest`` (or its scenarios) may write ``relative`` in its folder.

    Parameters
    ----------
    relative
        A path relative to the run folder.
    manifest
        The run folder's manifest: its ``config`` names the extra zone layers
        (``zones/<layer>.parquet``) and the scenarios (``scenarios/<name>/``), as do the
        rows of its ``scenarios`` record (written by ``ilots scenarios``).

    Returns
    -------
    bool
        True for the run folder's standard files (:class:`RunFolder`), a raster of a name
        ilots writes (:func:`~pipelines.config.models.is_run_raster`) or its QGIS style, a
        report figure (:data:`~pipelines.outputs.folder.FIGURE_NAMES`), a saved STAC item.
    """
    parts, name, stem, suffix = relative.parts, relative.name, relative.stem, relative.suffix
    config = _mapping(manifest.get("config"))
    layers = {"iris", "qpv", *_names(_mapping(config.get("zones")).get("extra"), "name")}
    if len(parts) == 1:
        return name in _ROOT_FILES
    if len(parts) == 2:
        rules = {
            "rasters": suffix in (".tif", ".qml") and is_run_raster(stem),
            "zones": suffix in (".parquet", ".csv") and stem in layers,
            "figures": suffix == ".png" and stem in FIGURE_NAMES,
            "scenarios": name in _SCENARIOS_FILES,
            "stac_items": suffix == ".json",
        }
        return rules.get(parts[0], False)
    rows = _mapping(manifest.get("scenarios")).get("comparison")
    scenarios = _names(config.get("scenarios"), "name") | _names(rows, "scenario")
    return (
        len(parts) == 3
        and parts[0] == "scenarios"
        and parts[1] in scenarios
        and (name in _SCENARIO_FILES or (suffix == ".csv" and stem in layers))
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    """Return ``value`` if it is a mapping (a recorded JSON object), else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _names(entries: Any, key: str) -> set[str]:
    """Return the ``key`` of each entry of ``entries`` (a recorded list of JSON objects)."""
    return {
        entry[key]
        for entry in (entries if isinstance(entries, list) else ())
        if isinstance(entry, Mapping) and isinstance(entry.get(key), str)
    }


def _recorded_files(folder: RunFolder, records: list[Any], old_root: Path) -> list[Path]:
    """Return the files of a manifest's ``outputs`` records, in ``folder``."""
    files = []
    for record in records:
        if not isinstance(record, dict) or record.get("kind") not in ("file", "folder"):
            continue
        try:
            recorded = Path(str(record["path"]))
            path = Path(folder.root) / (
                recorded.relative_to(old_root) if recorded.is_absolute() else recorded
            )
        except (KeyError, ValueError):
            continue
        if ".." in path.relative_to(folder.root).parts:  # a hand-edited record
            continue
        if record["kind"] == "file":
            files.append(path)
        else:  # the figures: their files
            files += [path / str(item.get("path")) for item in record.get("files") or []]
    return files


def _holds_users_layers(path: Path, folder: RunFolder) -> bool:
    """Whether ``path`` is the folder's ``zones.gpkg`` holding a user's layers; said if so.

    A run that no longer writes it (``outputs.zone_formats`` without ``gpkg``) keeps it
    then, with a warning (kind ``zones_gpkg_kept``): its user's layers, projects and styles,
    which a run writing it carries into the new file, would go with it.
    """
    if path.resolve() != Path(folder.zones_gpkg).resolve():
        return False
    theirs = user_content(path)
    if theirs:
        warnings.warn(
            IlotsWarning(
                f"{path}: kept, although this run does not write it (outputs.zone_formats "
                f"without gpkg), since it holds what is yours: {'; '.join(theirs)}; move "
                "these to another file and remove it, or add gpkg to outputs.zone_formats",
                code="zones_gpkg_kept",
            ),
            stacklevel=3,
        )
    return bool(theirs)


def remove_stale_outputs(
    folder: RunFolder,
    previous: list[Path] | None,
    since: float,
    inputs: Collection[Path] = (),
    writing: Collection[Path] = (),
) -> None:
    """Remove the previous run's outputs this run did not write again (older than ``since``).

    A run into a folder with ``outputs.overwrite`` would otherwise keep, and list in its
    manifest, files it no longer makes: a zone format or an inequality outcome left out, and
    the previous run's ``scenarios/``, which its report would show as this run's.
    ``inputs`` (resolved files and folders) stay whatever the previous manifest says: an
    input kept in the run folder, which a manifest of an earlier ilots listed as an output.
    ``writing`` (resolved files) are files another thread of the run is writing meanwhile
    (the COGs and their styles, renamed into place once whole): never removed, since the
    new file may take their name between the test of the old one's time and its removal.
    ``previous``: :func:`previous_outputs` (None, no previous manifest: nothing to remove).
    """
    root = Path(folder.root).resolve()
    emptied = set()
    for path in previous or ():
        if (
            path.is_file()
            and path.resolve() not in writing
            and root in path.resolve().parents
            and path.stat().st_mtime < since
            and not is_input(path, inputs)
            and not _holds_users_layers(path, folder)
        ):
            path.unlink()
            emptied.add(path.parent)
    # A folder another thread writes into stays, emptied or not (rasters/: the COGs).
    kept = {folder for path in writing for folder in path.parents}
    for parent in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while (
            parent != Path(folder.root)
            and parent.resolve() not in kept
            and parent.is_dir()
            and not any(parent.iterdir())
        ):
            parent.rmdir()
            parent = parent.parent


def remove_stale_rasters(
    folder: RunFolder, written: Collection[str], previous: Collection[Path] | None
) -> None:
    """Remove the rasters an earlier run left in the folder that this run did not write.

    With ``outputs.overwrite``, a run without NDVI (or with fewer ``outputs.rasters``) would
    otherwise leave the earlier run's files beside its own, listed in its manifest and read
    by ``ilots scenarios``. Such a raster goes, with its QGIS style, when it has the name of
    a raster ilots writes (:func:`~pipelines.config.models.is_run_raster`) and the previous
    run wrote it: ``previous`` (:func:`previous_outputs`) lists it, or, when the folder held
    no manifest (a run killed before its first one ended, an earlier ilots), it is tagged
    :data:`VERSION_TAG`. A user's own files stay, a copy of a raster too (``cp``, or QGIS's
    "Save As", keeps its tags): its name is not one ilots writes, nor listed.

    Parameters
    ----------
    folder
        The run folder.
    written
        The names (stems) of the rasters this run wrote.
    previous
        The files the previous run's manifest listed, or None without one.
    """
    listed = None if previous is None else {path.resolve() for path in previous}
    for path in sorted(folder.rasters.glob("*.tif")) if folder.rasters.is_dir() else []:
        if path.stem in written or not is_run_raster(path.stem):
            continue
        if path.resolve() in listed if listed is not None else _tagged(path):
            path.unlink()
            path.with_suffix(".qml").unlink(missing_ok=True)


def _tagged(path: Path) -> bool:
    """Whether the raster at ``path`` carries ilots' :data:`VERSION_TAG` (False: unreadable)."""
    try:
        with rasterio.open(path) as src:
            return VERSION_TAG in src.tags()
    except RasterioIOError:
        return False
