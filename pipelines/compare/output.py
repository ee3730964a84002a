"""The output folder of ``ilots compare``: what it may be, and how its files are put in place.

A folder holds one comparison's files or none. One that holds any (a previous comparison,
finished or interrupted) is refused unless told to replace them (``--overwrite``); then the
previous ``manifest.json`` is removed before the new files are written, the earlier
comparison's files the new one does not write are removed after them, and the new
``manifest.json`` is written last. A folder with a ``manifest.json`` is therefore a finished
comparison; one without is an interrupted one. No other file of the folder (a user's) is
ever removed or replaced.
The folder is held while a comparison is made there, as a run holds its own
(:func:`~pipelines.outputs.lock.folder_lock`): a second comparison, or a run, into it is
refused while the first writes. ``compare.gpkg`` is held too while it is written
(:func:`~pipelines.outputs.lock.file_lock`), against ``ilots zonal`` adding a layer to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pipelines.compare.runs import CompareError
from pipelines.outputs._atomic import (
    probe_folder,
    refuse_replacing,
    staged,
    taken,
    written_path,
)
from pipelines.outputs.folder import RunFolder
from pipelines.outputs.geopackage import GPKG_VERSION, check_closed
from pipelines.outputs.lock import file_lock
from pipelines.outputs.tables import with_synthetic_mark

__all__ = ["OUTPUT_NAMES", "check_out", "csvt_type", "open_out", "remove_stale", "write_tables"]

#: Every file ``ilots compare`` writes (some only with some runs): the names a new
#: comparison removes from its folder when it does not write them again.
OUTPUT_NAMES = (
    "compare.gpkg",
    "iris_change.csv",
    "iris_change.csvt",
    "qpv_change.csv",
    "qpv_change.csvt",
    "inequality_change.json",
    "inequality_change.csv",
    "manifest.json",
)

#: The tile checkpoints a stopped tiled run leaves (``pipelines.run_tiles.CHECKPOINT_DIR``,
#: not imported: that module loads the whole pipeline).
_CHECKPOINTS = ".checkpoints"


def check_out(target: Path, runs: Iterable[str | Path], *, overwrite: bool = False) -> None:
    """Refuse an output folder that is a run folder, or holds any manifest but a comparison's.

    Unless ``overwrite``, refuse one that holds any file of :data:`OUTPUT_NAMES` too.

    Raises
    ------
    CompareError
        ``target`` is one of ``runs``, a run folder without a manifest (a run stopped or
        under way: its ``rasters/``, tile checkpoints, previous manifest, or its
        ``config.yaml`` and ``zones.gpkg``), or its ``manifest.json`` has no ``extra.runs``.
        (The lock file is no mark: a comparison leaves one too. A run under way holds it,
        which :func:`~pipelines.outputs.lock.folder_lock` refuses.)
    OutputExistsError
        Not ``overwrite``, and ``target`` holds files of :data:`OUTPUT_NAMES` (a previous
        comparison's): the message names them.
    """
    for given in runs:
        if target.resolve() == Path(given).resolve():
            raise CompareError(
                f"--out {target} is the run folder {given}: its manifest.json would be "
                "replaced; choose another folder"
            )
    run = RunFolder(target)
    left = (run.rasters, target / _CHECKPOINTS, run.previous_manifest)
    marks = [path.name for path in left if path.exists()]
    if marks or (run.config.is_file() and run.zones_gpkg.is_file()):
        raise CompareError(
            f"--out {target} is a run folder ({', '.join(marks) or 'config.yaml, zones.gpkg'}, "
            "a run stopped or under way): choose another folder"
        )
    if run.manifest.is_file() and not run.holds_comparison():
        raise CompareError(
            f"--out {target} holds a manifest.json that is not an ilots compare's (a run "
            "folder?): it would be replaced; choose another folder"
        )
    if not overwrite:
        held = [name for name in OUTPUT_NAMES if taken(target / name)]
        refuse_replacing(held, folder=target)
    check_closed(written_path(target / "compare.gpkg", overwrite))  # said before the work


def open_out(target: Path, *, overwrite: bool = True) -> None:
    """Make ``target`` if needed and remove its previous comparison's ``manifest.json``.

    Without ``overwrite`` there is none (:func:`check_out` said so): a ``manifest.json``
    there now is another program's, kept (the comparison's own is then refused).
    """
    probe_folder(target, make=True)
    if overwrite:
        (target / "manifest.json").unlink(missing_ok=True)


def remove_stale(target: Path, written: Iterable[Path], *, overwrite: bool = True) -> list[str]:
    """Remove the files of :data:`OUTPUT_NAMES` in ``target`` not in ``written``.

    Only with ``overwrite``: without it, :func:`check_out` found none of those names, so
    one there now appeared since, and is not an earlier comparison's: it is kept.

    Returns
    -------
    list of str
        The names removed (an earlier comparison's, e.g. ``qpv_change.csv`` when the new
        runs have no QPV layer).
    """
    if not overwrite:
        return []
    kept = {Path(path).name for path in written}
    removed = []
    for name in OUTPUT_NAMES:
        path = target / name
        if name not in kept and path.is_file():
            path.unlink()
            removed.append(name)
    return removed


def write_tables(
    tables: Mapping[str, gpd.GeoDataFrame],
    descriptions: Mapping[str, str],
    out: Path,
    *,
    synthetic: bool = False,
    overwrite: bool | None = None,
) -> list[Path]:
    """Write the GeoPackage (every layer, one file put in place at once), then the CSVs.

    The GeoPackage is version :data:`~pipelines.outputs.geopackage.GPKG_VERSION`, as the
    run's, each layer with its description; each CSV has a ``.csvt`` beside it (the column
    types QGIS and GDAL read: ids as text, so that a leading zero stays). ``synthetic``: a
    run compared is synthetic (the demo's), which each CSV's last column says
    (:func:`~pipelines.outputs.tables.with_synthetic_mark`). ``overwrite``: what may be at
    the targets (:func:`~pipelines.outputs._atomic.staged`). The GeoPackage is held
    (:func:`~pipelines.outputs.lock.file_lock`) from its check to its renaming, as a run's
    ``zones.gpkg`` is: another ilots command writing it is waited for, which a warning says.
    """
    gpkg = out / "compare.gpkg"
    # Held to its renaming, as a run's zones.gpkg: an ``ilots zonal`` adding a layer to it
    # is waited for (its renaming after this one would put the previous comparison back),
    # and one started meanwhile is refused.
    with file_lock(gpkg, wait=True):
        check_closed(written_path(gpkg, overwrite))  # open in QGIS: its -wal would spoil it
        with staged(gpkg, overwrite=overwrite) as staging:
            for name, table in tables.items():
                table.to_file(
                    staging, layer=name, driver="GPKG",
                    layer_options={"DESCRIPTION": descriptions[name]},
                    dataset_options={"VERSION": GPKG_VERSION},
                )  # fmt: skip
    files = [gpkg]
    for name, table in tables.items():
        frame = with_synthetic_mark(pd.DataFrame(table.drop(columns="geometry")), synthetic)
        path = out / f"{name}.csv"
        with staged(path, overwrite=overwrite) as staging:
            frame.to_csv(staging, index=False, encoding="utf-8")
        types = out / f"{name}.csvt"
        with staged(types, overwrite=overwrite) as staging:
            staging.write_text(",".join(f'"{csvt_type(frame[c])}"' for c in frame) + "\n")
        files.extend((path, types))
    return files


def csvt_type(column: pd.Series) -> str:
    """Return a column's ``.csvt`` type: ``Integer(Boolean)``, ``Integer``, ``Real``, ``String``."""
    if pd.api.types.is_bool_dtype(column):
        return "Integer(Boolean)"
    if pd.api.types.is_integer_dtype(column):
        return "Integer"
    if pd.api.types.is_float_dtype(column):
        return "Real"
    return "String"
