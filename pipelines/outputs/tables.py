"""Tabular outputs of a run: GeoParquet zone layers and the inequality report.

GeoParquet goes through :func:`write_geoparquet` (atomic, geopandas ``to_parquet``, which
writes the GeoParquet ``geo`` metadata with the CRS as PROJJSON, plus an ``ilots`` key of
provenance: :data:`PROVENANCE_KEY`); the inequality report's JSON and CSV texts through
:func:`write_text_atomic`. A CSV of synthetic data (the demo's) ends with a
:data:`SYNTHETIC_COLUMN` (:func:`with_synthetic_mark`), as the other outputs say it.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from pipelines.outputs._atomic import (
    ilots_version,
    refuse_replacing,
    staged,
    taken,
    write_text_atomic,
    written_path,
)
from pipelines.outputs.geopackage import SYNTHETIC_MARK, check_closed
from pipelines.outputs.lock import file_lock
from tiles.errors import CRSError, OutputError, ZonesError

__all__ = [
    "PROVENANCE_KEY",
    "SYNTHETIC_COLUMN",
    "TABLE_FORMATS",
    "check_table_path",
    "file_overwrite",
    "inequality_texts",
    "replaced_table",
    "with_synthetic_mark",
    "write_geoparquet",
    "write_inequality",
    "write_table",
]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

#: Suffixes of the per-zone tables ``ilots zonal`` writes.
TABLE_FORMATS = (".csv", ".parquet", ".gpkg")
#: Schema metadata key of a GeoParquet zone layer's provenance, beside GeoParquet's ``geo``:
#: JSON ``{"synthetic": true/false, "ilots_version": "..."}`` (``synthetic`` left out when
#: unknown), as ``manifest.json`` (``extra.synthetic``) and the GeoPackage descriptions say.
PROVENANCE_KEY = b"ilots"
#: Last column of every CSV a run, its scenarios or ``ilots compare`` write from synthetic
#: data (the demo's), ``True`` on every row; a CSV of real data has none, so stays as it was.
#: A column, not a ``#`` comment line, which pandas, R, Excel and QGIS would read as data.
SYNTHETIC_COLUMN = "synthetic"
#: Description of a GeoPackage layer of ``ilots zonal`` statistics of synthetic data.
_SYNTHETIC_STATS = f"{SYNTHETIC_MARK}Zonal statistics of synthetic inputs, one row per zone."


class _Report(Protocol):
    def to_json(self) -> str: ...

    def to_csv(self) -> str: ...

    def to_frame(self) -> pd.DataFrame: ...


def with_synthetic_mark(table: pd.DataFrame, synthetic: bool | None) -> pd.DataFrame:
    """Return ``table`` with a last :data:`SYNTHETIC_COLUMN` of ``True`` when ``synthetic``.

    Parameters
    ----------
    table
        A table about to be written as CSV; not changed.
    synthetic
        Whether its data are synthetic (the demo's); ``False`` or ``None`` (unknown) returns
        ``table`` itself, so that a real run's CSV is written as before.

    Returns
    -------
    pandas.DataFrame
        A copy with the column last (a table's own ``synthetic`` column is replaced), or
        ``table``.
    """
    if not synthetic:
        return table
    return table.drop(columns=SYNTHETIC_COLUMN, errors="ignore").assign(**{SYNTHETIC_COLUMN: True})


def write_geoparquet(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, synthetic: bool | None = None
) -> Path:
    """Write a zone layer as GeoParquet, atomically; the CRS travels in the file's metadata.

    Parameters
    ----------
    gdf
        The layer, one row per zone; keep ids in columns (the index is not written).
    path
        Target ending in ``.parquet`` (``RunFolder.zone_parquet(layer)``); its folder must
        exist.
    synthetic
        Whether the zones' data are synthetic (the demo's), written with the ilots version
        under the schema metadata key :data:`PROVENANCE_KEY`; ``None`` writes the version
        only (a table of unknown origin).

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
    check_table_path(target)
    with staged(target) as staging:
        _typed_text(gdf).to_parquet(staging, index=False)
        _add_provenance(staging, synthetic)
    return target


def _add_provenance(path: Path, synthetic: bool | None) -> None:
    """Add a Parquet file's :data:`PROVENANCE_KEY`: ``synthetic`` (unless None), the version."""
    provenance = {} if synthetic is None else {"synthetic": synthetic}
    provenance["ilots_version"] = ilots_version()
    _add_schema_metadata(path, {PROVENANCE_KEY: json.dumps(provenance).encode()})


def _add_schema_metadata(path: Path, entries: Mapping[bytes, bytes]) -> None:
    """Add keys to a Parquet file's schema metadata, keeping the others (GeoParquet's ``geo``).

    geopandas' ``to_parquet`` takes no metadata of the caller's: the file, a zone layer small
    enough to hold in memory, is read back and written again with it.
    """
    table = pq.read_table(path)
    metadata = {**(table.schema.metadata or {}), **entries}
    pq.write_table(table.replace_schema_metadata(metadata), path)


def write_inequality(
    reports: _Report | Mapping[str, _Report],
    json_path: str | os.PathLike[str],
    csv_path: str | os.PathLike[str],
    *,
    synthetic: bool | None = None,
    overwrite: bool | None = None,
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
    synthetic
        Whether the zones' data are synthetic (the demo's): a top-level ``"synthetic"`` key
        of the JSON, first; ``None`` writes none (a table of unknown origin). When ``True``,
        the CSV also ends with a :data:`SYNTHETIC_COLUMN` (:func:`with_synthetic_mark`).
        The JSON's layout (1-space indent, ASCII escapes when the key is written) is the
        same for ``True`` and ``False``: a real run's and a synthetic one's differ by the
        key's value only.
    overwrite
        What may be at the targets (:func:`~pipelines.outputs._atomic.staged`).

    Returns
    -------
    tuple of Path
        The JSON and CSV paths.
    """
    put = functools.partial(write_text_atomic, overwrite=overwrite)
    marked = {} if synthetic is None else {"synthetic": synthetic}
    if not isinstance(reports, Mapping):  # laid out as the keyed reports' JSON when marked
        text = reports.to_json()
        if marked:
            text = json.dumps({**marked, **json.loads(text)}, indent=1)
        json_file = put(json_path, _line_ended(text))
        return json_file, put(csv_path, _inequality_csv(reports, synthetic))
    if not reports:
        raise ValueError("no inequality report to write")
    outcomes = list(reports)
    primary = {**marked, **json.loads(reports[outcomes[0]].to_json())}
    primary["other_outcomes"] = {o: json.loads(reports[o].to_json()) for o in outcomes[1:]}
    json_file = put(json_path, json.dumps(primary, indent=1) + "\n")
    frames = []
    for outcome, report in reports.items():
        frame = pd.read_csv(io.StringIO(report.to_csv()), keep_default_na=False)
        frame.insert(0, "outcome", outcome)
        frames.append(frame)
    flat = with_synthetic_mark(pd.concat(frames), synthetic).to_csv(index=False)
    return json_file, put(csv_path, flat)


def inequality_texts(report: _Report, synthetic: bool | None = None) -> tuple[str, str]:
    """Return the JSON and CSV texts of one inequality report, marked when ``synthetic``.

    Parameters
    ----------
    report
        An :class:`~pipelines.inequality.InequalityReport`.
    synthetic
        Whether the zones' data are synthetic (the demo's): a top-level ``"synthetic"`` key
        of the JSON, first, and when ``True`` a last :data:`SYNTHETIC_COLUMN` of the CSV;
        ``None`` marks neither (``report.to_json()`` and ``report.to_csv()`` as they are).
        The JSON is laid out as ``report.to_json()`` either way (2-space indent, UTF-8), so
        that a marked text differs from an unmarked one by the key's line only.

    Returns
    -------
    tuple of str
        The JSON text (ending with a newline) and the CSV text.
    """
    text = report.to_json()
    if synthetic is not None:
        text = json.dumps(
            {"synthetic": synthetic, **json.loads(text)}, indent=2, ensure_ascii=False
        )
    return _line_ended(text), _inequality_csv(report, synthetic)


def _line_ended(text: str) -> str:
    """Return ``text`` ending with a newline."""
    return text if text.endswith("\n") else text + "\n"


def _inequality_csv(report: _Report, synthetic: bool | None) -> str:
    """Return ``report.to_csv()``, with a last :data:`SYNTHETIC_COLUMN` when ``synthetic``."""
    if not synthetic:
        return report.to_csv()
    # as to_csv writes it, with the column
    return with_synthetic_mark(report.to_frame(), True).to_csv(index=False, lineterminator="\n")


def check_table_path(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that a table has a suffix ilots writes; return it as a Path.

    Whether its folder takes the file is :func:`~pipelines.outputs._atomic.check_output`'s.
    """
    target = Path(path)
    if target.suffix.lower() not in TABLE_FORMATS:
        raise ValueError(f"--out must end in {', '.join(TABLE_FORMATS)}; got {target.name}")
    return target


def replaced_table(path: str | os.PathLike[str]) -> list[str]:
    """Return what writing a table at ``path`` (:func:`write_table`) would replace; none: [].

    The file (or a symbolic link, even one naming no file), or in a GeoPackage its layer
    named after the file (its other layers are kept, so a GeoPackage without that layer
    replaces nothing). A file GDAL cannot list the layers of counts as replaced.
    """
    target = Path(path)
    if not taken(target):
        return []
    if not target.is_file() or target.suffix.lower() != ".gpkg":  # a dangling link: taken
        return [str(target)]
    return _replaced_layer(target, target)


def file_overwrite(path: str | os.PathLike[str], overwrite: bool | None) -> bool | None:
    """Return what :func:`write_table` at ``path`` lets replace of the file (:func:`staged`).

    ``overwrite``, but for a GeoPackage there without it: the file is replaced whole (its
    other layers copied into the new one, a link written through), only its layer refused.
    """
    target = Path(path)
    if overwrite is False and target.suffix.lower() == ".gpkg" and target.exists():
        return True
    return overwrite


def _replaced_layer(gpkg: Path, target: Path) -> list[str]:
    """Return what writing the layer ``target.stem`` into ``gpkg`` would replace; none: [].

    ``gpkg`` is ``target`` or a copy of it. The layer, or the whole file when GDAL cannot
    list its layers.
    """
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        layers = {str(name).lower() for name in pyogrio.list_layers(gpkg)[:, 0]}
    except DataSourceError:
        return [str(target)]
    return [f"{target} (its layer {target.stem})"] if target.stem.lower() in layers else []


def _typed_text(table: pd.DataFrame) -> pd.DataFrame:
    """Type the text columns with no value (a QPV layer without commune names) as strings.

    Arrow would type them ``null``, which DuckDB, R and QGIS read as untyped columns.
    """
    empty = [c for c in table.columns if table[c].dtype == object and table[c].isna().all()]
    return table.astype(dict.fromkeys(empty, "string")) if empty else table


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    zones: gpd.GeoDataFrame | None = None,
    *,
    synthetic: bool = False,
    overwrite: bool | None = None,
) -> Path:
    """Write a per-zone table as CSV, Parquet or GeoPackage (with the zone geometry), atomically.

    Parameters
    ----------
    table
        The statistics, one row per zone, the id column first.
    path
        Target ending in ``.csv``, ``.parquet`` or ``.gpkg``. A GeoPackage gets the table as
        its layer named after the file (``stats.gpkg``: layer ``stats``); an existing one
        keeps its other layers and tables (QGIS's ``layer_styles``), a layer of that name is
        replaced.
    zones
        The zones in table order, for the GeoPackage geometry (in the zones' own CRS).
    synthetic
        Whether the statistics are of synthetic data (the demo's), which the file says as a
        run's do: a CSV ends with a :data:`SYNTHETIC_COLUMN`, a Parquet file has
        ``"synthetic": true`` under :data:`PROVENANCE_KEY`, a GeoPackage layer a description
        starting with :data:`~pipelines.outputs.geopackage.SYNTHETIC_MARK`. ``False`` writes
        none of them.
    overwrite
        What may be replaced (:func:`~pipelines.outputs._atomic.staged`): ``False`` refuses
        a file at ``path``, or of a GeoPackage the layer, even one that appeared since the
        command checked (:class:`~tiles.errors.OutputExistsError`).

    Raises
    ------
    OutputError
        Another ilots command is writing the GeoPackage (its layer) now
        (:func:`~pipelines.outputs.lock.file_lock`): run again once it is done.
    """
    target = check_table_path(path)
    suffix = target.suffix.lower()
    if suffix == ".gpkg":
        if zones is None:
            raise ValueError("a GeoPackage output needs the zones for its geometry")
        geo = gpd.GeoDataFrame(table, geometry=zones.geometry.to_numpy(), crs=zones.crs)
        _write_layer(geo, target, _SYNTHETIC_STATS if synthetic else None, overwrite)
        return target
    with staged(target, overwrite=overwrite) as staging:
        if suffix == ".csv":
            with_synthetic_mark(table, synthetic).to_csv(staging, index=False)
        else:
            plain = _typed_text(table).copy(deep=False)
            plain.attrs = {}  # zonal_table's mark: said once, by the provenance key below
            plain.to_parquet(staging, index=False)
            if synthetic:
                _add_provenance(staging, True)
    return target


def _write_layer(
    geo: gpd.GeoDataFrame,
    target: Path,
    description: str | None = None,
    overwrite: bool | None = None,
) -> None:
    """Write ``geo`` as the layer ``target.stem`` of a GeoPackage, keeping the file's others.

    The existing ``target`` is copied to a staging file of :func:`staged` first and the layer
    written there, so that its renaming puts the whole file in place at once.
    A file another program has open (its ``-wal`` beside it) is refused first
    (:func:`~pipelines.outputs.geopackage.check_closed`): the copy would miss the edits in
    its journal, and the journal would spoil the file put in place.
    ``description``: the layer's ``gpkg_contents`` description, if any. ``overwrite``
    ``False`` refuses the layer in the file copied, or a file that appeared or changed (a
    program writing it at the same time) between the copy and the renaming. Another ilots
    command writing the file then is refused first (:func:`~pipelines.outputs.lock.file_lock`).
    """
    layer = target.stem
    # From its copy to its renaming, no other ilots command puts the file in place, which
    # the renaming would lose (a layer it added; with --overwrite, unseen).
    with file_lock(target):
        exists = target.exists()
        whole = file_overwrite(target, overwrite)  # a file there: replaced, its layer maybe not
        # A file open in QGIS: its -wal (beside the file a link names, as SQLite names it) would
        # spoil the file put in place.
        check_closed(written_path(target, whole))
        copied = os.stat(target) if exists else None  # after check_closed, which may settle it
        with staged(target, overwrite=whole) as staging:
            if copied is not None:
                shutil.copyfile(target, staging)
                if overwrite is False:  # the layer may have appeared since the command checked
                    refuse_replacing(_replaced_layer(staging, target))
            options = {"layer_options": {"DESCRIPTION": description}} if description else {}
            geo.to_file(staging, layer=layer, driver="GPKG", **options)
            if overwrite is False and copied is not None and not _unchanged(target, copied):
                raise OutputError(
                    f"{target} changed while ilots wrote its layer {layer}; run again"
                )
    kept = " (its other layers kept)" if copied is not None else ""
    _LOG.info("wrote layer %r of %s%s", layer, target, kept)


def _unchanged(path: Path, seen: os.stat_result) -> bool:
    """Whether ``path`` is still the file ``seen`` was of: same inode, size, modification time."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) == (
        seen.st_dev, seen.st_ino, seen.st_size, seen.st_mtime_ns
    )  # fmt: skip
