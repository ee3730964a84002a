"""Carry a user's own layers and tables from a GeoPackage a run replaces into its new one.

A planner who saves a layer of their own in ``zones.gpkg`` (QGIS's "Export › Save Features
As" or a drag into the file in the Browser: GDAL's GeoPackage driver writes it) keeps it
through the next run. Each table the old file lists in ``gpkg_contents`` as ``features`` or
``attributes`` that is not one of ilots' layers, nor a table of the format (``gpkg_*``,
``rtree_*``, ``sqlite_*``) nor one of QGIS's that ilots carries itself (``layer_styles``,
``qgis_projects``), is copied whole, in SQLite, as GDAL wrote it: the table's own ``CREATE``
statement (columns, types, constraints, defaults), its rows (fids kept, and its
``AUTOINCREMENT`` sequence), its indexes and triggers, its spatial index (the ``rtree``
virtual table, its entries copied rather than recomputed), and its rows in
``gpkg_contents`` (identifier, description, extent), ``gpkg_geometry_columns``,
``gpkg_extensions`` and GDAL's ``gpkg_ogr_contents``. Its CRS's ``gpkg_spatial_ref_sys``
entry comes along when the new file lacks it; when the new file holds another CRS under the
same ``srs_id`` (two custom CRSs both numbered from 100000), the layer's CRS takes a free
``srs_id``, which the header of each of its geometries is rewritten to name.

The table's metadata (its rows of ``gpkg_metadata_reference``, at any scope, and the
``gpkg_metadata`` documents they name: the licences and attribution QGIS's "Save Features
As" persists) come along under new ids, naming the table by its name in the new file; a
reference's parent that is ilots' record of its own document (:data:`RECORD_URI`) does not,
so that the copy never passes for ilots' layer. A reference whose document ``gpkg_metadata``
lacks stays behind, said in the warning of what goes (``geopackage._warn_of_what_goes``).

A user's table named as a table ilots now writes (a zone layer added since) is kept under
the name :func:`_free_name` gives it (``<name>_user``), and a warning (kind
``user_tables_renamed``) says so. A layer of ilots' a user edited (``edited``: a column
added, a value changed, which the run would overwrite) is carried as a user's, under
``<name>_user`` when the run writes that layer again, and a warning (kind
``zone_layer_edits_kept``) says so. The user's styles of their layers are carried with the
styles of ilots' layers (``geopackage._carry_styles``), under the new name of a renamed one.
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tiles.errors import IlotsWarning

__all__ = ["FORMAT_PREFIXES", "RECORD_URI", "CarriedTables", "carry_user_tables"]

#: Prefixes of the tables of the GeoPackage format, SQLite and the spatial index.
FORMAT_PREFIXES = ("gpkg_", "rtree_", "sqlite_")
#: QGIS's tables of a GeoPackage, which ilots carries itself (projects; styles by row).
_QGIS_TABLES = ("layer_styles", "qgis_projects")
#: The first ``srs_id`` of the CRSs without an authority code, as GDAL numbers them.
_FIRST_CUSTOM_SRS = 100000
#: The GeoPackage registers a table may have a row in, with the column naming it.
_REGISTERS = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents")
#: Extensions whose rows name tables the new file may lack (not carried: the row would dangle).
_UNCARRIED_EXTENSIONS = ("gpkg_schema", "gpkg_metadata")
#: The standard of ilots' record of the metadata document it wrote for a layer
#: (``geopackage``'s module docstring): what makes a reference ilots' own.
RECORD_URI = "urn:x-ilots:layer-metadata-written"
#: The metadata extension's tables, created in the new file as the old one has them.
_METADATA_TABLES = ("gpkg_metadata", "gpkg_metadata_reference")
_HEAD = re.compile(
    r'^(\s*CREATE\s+(?:VIRTUAL\s+|UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER)\s+)("(?:[^"]|"")*"|[^\s(]+)',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _UserTable:
    """A user's table of the old file: its name, and its geometry column and CRS if any."""

    name: str
    geometry: str | None
    srs_id: int | None


@dataclass(frozen=True)
class CarriedTables:
    """What :func:`carry_user_tables` copied into the new file.

    Attributes
    ----------
    names
        Each table copied, old name → name in the new file.
    metadata_left
        The metadata of those tables not copied, described (``"metadata 7 of layer x"``).
    """

    names: dict[str, str] = field(default_factory=dict)
    metadata_left: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> dict[str, str]:
        """The tables copied under another name, old name → new name."""
        return {old: new for old, new in self.names.items() if new != old}


def carry_user_tables(
    con: sqlite3.Connection,
    target: Path,
    *,
    ours: Collection[str],
    edited: Mapping[str, str] | None = None,
) -> CarriedTables:
    """Copy the user's tables of the GeoPackage attached as ``old`` into ``main``.

    Parameters
    ----------
    con
        A connection to the new file (``main``), the replaced one attached as ``old``.
    target
        The file replaced (for the warnings).
    ours
        The layers of ``old`` that ilots wrote (not the user's).
    edited
        Those of ``ours`` a user edited since, name → what tells it (``"last changed ..."``):
        copied as the user's.

    Returns
    -------
    CarriedTables
        The tables copied (those renamed warned of, kind ``user_tables_renamed``; the edited
        ones kind ``zone_layer_edits_kept``).
    """
    edited = dict(edited or {})
    if not ours:  # no mark tells ilots' layers from a user's: none is carried (warned of)
        return CarriedTables()
    taken = {name.lower() for (name,) in con.execute("SELECT name FROM main.sqlite_master")}
    carried = CarriedTables()
    for table in _user_tables(con, set(ours) - set(edited)):
        name = _free_name(table.name, taken)
        con.execute("SAVEPOINT user_table")
        try:
            carried.metadata_left.extend(_copy_table(con, table, name))
        except sqlite3.DatabaseError:  # left out whole: the warning of what goes names it
            con.execute("ROLLBACK TO user_table")
            continue
        finally:
            con.execute("RELEASE user_table")
        taken |= {row.lower() for (row,) in con.execute("SELECT name FROM main.sqlite_master")}
        carried.names[table.name] = name
    _warn_of_kept(target, carried.names, edited)
    return carried


def _warn_of_kept(target: Path, names: Mapping[str, str], edited: Mapping[str, str]) -> None:
    """Warn of the user's tables kept under another name and of ilots' layers kept as edited.

    ``names``: the tables copied, old name → new name; ``edited``: ilots' layers a user
    edited, name → what tells it.
    """
    renamed = [
        f"{old} (now {new})" for old, new in names.items() if new != old and old not in edited
    ]
    if renamed:
        warnings.warn(
            IlotsWarning(
                f"{target}: your layers named as layers this run writes are kept under another "
                f"name: {', '.join(renamed)}; rename them in QGIS (or the run's zone layers) to "
                "keep them apart",
                code="user_tables_renamed",
            ),
            stacklevel=5,
        )
    kept = [f"{old} ({edited[old]}; kept as {new})" for old, new in names.items() if old in edited]
    if kept:
        warnings.warn(
            IlotsWarning(
                f"{target}: layers ilots wrote were edited since (in QGIS or GDAL): they are "
                f"kept as you left them, as your own layers (under another name where this run "
                f"writes the layer again, beside its new one): {'; '.join(kept)}; carry your "
                "edits over to the new layers (or keep them in another file), then remove the "
                "kept copies",
                code="zone_layer_edits_kept",
            ),
            stacklevel=5,
        )


def _user_tables(con: sqlite3.Connection, ours: Collection[str]) -> list[_UserTable]:
    """List the user's tables of ``old`` (see the module's docstring), in its order."""
    old = {name for (name,) in con.execute("SELECT name FROM old.sqlite_master")}
    new = {name for (name,) in con.execute("SELECT name FROM main.sqlite_master")}
    if not {"gpkg_contents", "gpkg_geometry_columns"} <= old & new:
        return []
    rows = con.execute(
        "SELECT c.table_name, g.column_name, g.srs_id FROM old.gpkg_contents c "
        "JOIN old.sqlite_master m ON m.name = c.table_name AND m.type = 'table' "
        "LEFT JOIN old.gpkg_geometry_columns g ON g.table_name = c.table_name "
        "WHERE (c.data_type = 'attributes' OR (c.data_type = 'features' AND g.column_name "
        "NOT NULL)) ORDER BY m.rowid"
    ).fetchall()
    return [
        _UserTable(name, geometry, srs_id)
        for name, geometry, srs_id in rows
        if name not in ours
        and not name.lower().startswith(FORMAT_PREFIXES)
        and name.lower() not in _QGIS_TABLES
    ]


def _free_name(name: str, taken: set[str]) -> str:
    """Return ``name``, or ``<name>_user`` (``_user2`` ...) when a table of ``taken`` has it.

    SQLite compares table names without case: ``taken`` holds them in lower case. Only a
    file where ilots marked its own layers (a description, a style or a metadata record:
    every run's file) has tables taken for a user's (:func:`carry_user_tables`).
    """
    suffixes = ("", "_user", *(f"_user{n}" for n in range(2, len(taken) + 2)))
    return next(name + s for s in suffixes if (name + s).lower() not in taken)


def _copy_table(con: sqlite3.Connection, table: _UserTable, name: str) -> list[str]:
    """Copy ``table`` of ``old`` into ``main`` as ``name``: schema, rows, index, registers.

    Returns the metadata of the table not copied, described (:func:`_carry_metadata`).
    """
    rename = _renamer(table.name, name)
    objects = con.execute(
        "SELECT type, name, sql FROM old.sqlite_master WHERE sql NOT NULL AND (tbl_name = ? "
        "OR (type = 'table' AND name = ?)) ORDER BY rowid",
        (table.name, f"rtree_{table.name}_{table.geometry}"),
    ).fetchall()
    srs_id = _carry_srs(con, table.srs_id) if table.srs_id is not None else None
    for kind, old_name, sql in objects:  # the table first, then the rtree: rows before triggers
        if kind == "table":
            con.execute(rename(sql))
            con.execute(
                f"INSERT INTO main.{_quote(rename(old_name, head_only=True))} "
                f"SELECT * FROM old.{_quote(old_name)}"
            )
    if srs_id is not None and srs_id != table.srs_id:
        con.create_function("ilots_gpkg_srs", 2, _with_srs_id, deterministic=True)
        column = _quote(table.geometry)
        con.execute(f"UPDATE main.{_quote(name)} SET {column} = ilots_gpkg_srs({column}, ?)",
                    (srs_id,))  # fmt: skip
    for kind, _, sql in objects:
        if kind != "table":
            con.execute(rename(sql))
    _carry_sequence(con, table.name, name)
    _register(con, table, name, srs_id)
    return _carry_metadata(con, table.name, name)


def _carry_metadata(con: sqlite3.Connection, old_name: str, name: str) -> list[str]:
    """Copy the metadata references of ``old_name`` in ``old``, and their documents, for ``name``.

    Each ``gpkg_metadata`` document (and parent) a reference names is copied once, under a
    new id; a parent that is ilots' record (:data:`RECORD_URI`) is not (the reference gets
    none). The extension's tables are created as ``old`` has them when ``main`` lacks them.

    Returns
    -------
    list[str]
        The references not copied (their document missing from ``old``), described.
    """
    old = {row for (row,) in con.execute("SELECT name FROM old.sqlite_master")}
    if not set(_METADATA_TABLES) <= old:
        return []
    references = con.execute(
        "SELECT reference_scope, column_name, row_id_value, timestamp, md_file_id, md_parent_id "
        "FROM old.gpkg_metadata_reference WHERE table_name = ? ORDER BY rowid",
        (old_name,),
    ).fetchall()
    if not references:
        return []
    _metadata_tables(con)
    ids: dict[int, int | None] = {}
    left = []
    for scope, column, row, stamp, file_id, parent in references:
        document = _copy_document(con, file_id, ids)
        if document is None:
            left.append(f"metadata {file_id} of layer {old_name} (no such document to copy)")
            continue
        con.execute(
            "INSERT INTO main.gpkg_metadata_reference (reference_scope, table_name, column_name, "
            "row_id_value, timestamp, md_file_id, md_parent_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scope, name, column, row, stamp, document, _copy_document(con, parent, ids)),
        )
    return left


def _metadata_tables(con: sqlite3.Connection) -> None:
    """Create in ``main`` the metadata extension's tables it lacks, as ``old`` has them."""
    main = {row for (row,) in con.execute("SELECT name FROM main.sqlite_master")}
    for table in _METADATA_TABLES:
        if table in main:
            continue
        (sql,) = con.execute(
            "SELECT sql FROM old.sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        con.execute(sql)
        if "gpkg_extensions" in main:
            _copy_rows(con, "gpkg_extensions", "table_name", table, {})


def _copy_document(
    con: sqlite3.Connection, file_id: int | None, ids: dict[int, int | None]
) -> int | None:
    """Copy the ``gpkg_metadata`` row ``file_id`` of ``old`` into ``main``; return its new id.

    Once per row (``ids``: old id → new id); None for no row, a row ``old`` lacks, or
    ilots' record (:data:`RECORD_URI`).
    """
    if file_id is None:
        return None
    if file_id not in ids:
        row = con.execute(
            "SELECT md_scope, md_standard_uri, mime_type, metadata FROM old.gpkg_metadata "
            "WHERE id = ?",
            (file_id,),
        ).fetchone()
        ids[file_id] = (
            None
            if row is None or row[1] == RECORD_URI
            else con.execute(
                "INSERT INTO main.gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
                "VALUES (?, ?, ?, ?)",
                row,
            ).lastrowid
        )
    return ids[file_id]


def _renamer(old: str, new: str) -> Callable[..., str]:
    """Return a function renaming table ``old`` to ``new`` in a ``CREATE`` statement.

    The object the statement creates is renamed (``old`` in its name becomes ``new``:
    ``rtree_<old>_geom``, ``trigger_insert_feature_count_<old>``); in its body, the table
    and its rtree where quoted as GDAL quotes them (``ON "old"``, ``"rtree_old_geom"``,
    ``lower('old')``), or as the table an ``ON`` clause names. Columns (``NEW."old"``) stay.
    With ``head_only``, the function renames an object's name alone.
    """

    def object_name(name: str) -> str:
        if name.startswith(f"rtree_{old}_"):
            return f"rtree_{new}_{name[len(old) + 7 :]}"
        return name.replace(old, new, 1) if old in name else f"{new}_{name}"

    def rename(sql: str, *, head_only: bool = False) -> str:
        if old == new:
            return sql
        if head_only:
            return object_name(sql)
        head = _HEAD.match(sql)
        if head is None:
            return sql
        quoted = head.group(2)
        name = quoted[1:-1].replace('""', '"') if quoted.startswith('"') else quoted
        body = sql[head.end() :]
        for pattern, replacement in (
            (rf'(?<![.\w])"{re.escape(old)}"', f'"{new}"'),
            (rf'"rtree_{re.escape(old)}_', f'"rtree_{new}_'),
            (rf"'{re.escape(old)}'", f"'{new}'"),
            (rf"(?i)\bON\s+{re.escape(old)}(?=[\s(]|$)", f'ON "{new}"'),
        ):
            body = re.sub(pattern, replacement.replace("\\", "\\\\"), body)
        return f"{head.group(1)}{_quote(object_name(name))}{body}"

    return rename


def _quote(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _carry_srs(con: sqlite3.Connection, srs_id: int) -> int:
    """Give ``main`` the CRS ``srs_id`` of ``old``; return its ``srs_id`` in ``main``.

    The same id when ``main`` lacks it (the entry copied) or holds the same CRS (the same
    authority code, or the same definition without one); else a free id, from
    :data:`_FIRST_CUSTOM_SRS`, under which the entry is copied.
    """
    query = (
        "SELECT organization, organization_coordsys_id, definition FROM {}.gpkg_spatial_ref_sys "
        "WHERE srs_id = ?"
    )
    theirs = con.execute(query.format("old"), (srs_id,)).fetchone()
    ours = con.execute(query.format("main"), (srs_id,)).fetchone()
    if theirs is None or (ours is not None and _same_crs(theirs, ours)):
        return srs_id
    free = srs_id
    if ours is not None:
        (top,) = con.execute("SELECT max(srs_id) FROM main.gpkg_spatial_ref_sys").fetchone()
        free = max(_FIRST_CUSTOM_SRS, top + 1)
    _copy_rows(con, "gpkg_spatial_ref_sys", "srs_id", srs_id, {"srs_id": free})
    return free


def _same_crs(theirs: tuple, ours: tuple) -> bool:
    """Whether two ``gpkg_spatial_ref_sys`` entries (organization, code, definition) agree."""
    if str(theirs[0]).upper() != str(ours[0]).upper() or theirs[1] != ours[1]:
        return False
    return str(ours[0]).upper() == "EPSG" or theirs[2] == ours[2]


def _with_srs_id(blob: bytes | None, srs_id: int) -> bytes | None:
    """Rewrite the ``srs_id`` of a GeoPackage geometry's header (bytes 4-8, flags' order)."""
    if not isinstance(blob, bytes) or len(blob) < 8 or blob[:2] != b"GP":
        return blob
    order = "little" if blob[3] & 1 else "big"
    return blob[:4] + srs_id.to_bytes(4, order, signed=True) + blob[8:]


def _carry_sequence(con: sqlite3.Connection, old: str, new: str) -> None:
    """Keep the ``AUTOINCREMENT`` sequence of ``old`` (fids of deleted rows stay unused)."""
    if (
        not con.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'"
        ).fetchone()
        or not con.execute(
            "SELECT 1 FROM old.sqlite_master WHERE name = 'sqlite_sequence'"
        ).fetchone()
    ):
        return
    con.execute(
        "UPDATE main.sqlite_sequence SET seq = max(seq, (SELECT seq FROM old.sqlite_sequence "
        "WHERE name = ?)) WHERE name = ? AND EXISTS (SELECT 1 FROM old.sqlite_sequence WHERE "
        "name = ?)",
        (old, new, old),
    )


def _register(con: sqlite3.Connection, table: _UserTable, name: str, srs_id: int | None) -> None:
    """Copy the rows of ``table`` in the GeoPackage's registers, for ``name`` in ``main``."""
    (identifier,) = con.execute(
        "SELECT identifier FROM old.gpkg_contents WHERE table_name = ?", (table.name,)
    ).fetchone()
    if con.execute(
        "SELECT 1 FROM main.gpkg_contents WHERE identifier = ?", (identifier,)
    ).fetchone():
        identifier = name  # identifiers are unique: ilots' layer of that name keeps its own
    values = {"table_name": name, "identifier": identifier}
    if srs_id is not None:
        values["srs_id"] = srs_id
    _copy_rows(con, "gpkg_contents", "table_name", table.name, values)
    for register in _REGISTERS[1:]:
        where = (
            f" AND extension_name NOT IN {_UNCARRIED_EXTENSIONS}"
            if register == "gpkg_extensions"
            else ""
        )
        _copy_rows(con, register, "table_name", table.name, values, where)


def _copy_rows(
    con: sqlite3.Connection,
    table: str,
    key: str,
    value: object,
    values: dict[str, object],
    where: str = "",
) -> None:
    """Copy the rows of ``old.table`` whose ``key`` is ``value`` into ``main.table``.

    In the columns both tables have, ``values`` replacing theirs; nothing when either file
    lacks the table.
    """
    columns = [
        [row[1] for row in con.execute(f"PRAGMA {schema}.table_info({table})")]
        for schema in ("main", "old")
    ]
    common = [column for column in columns[0] if column in columns[1]]
    if not common:
        return
    selected = [("?" if column in values else _quote(column)) for column in common]
    con.execute(
        f"INSERT INTO main.{table} ({', '.join(map(_quote, common))}) SELECT "
        f"{', '.join(selected)} FROM old.{table} WHERE {_quote(key)} = ?{where}",
        (*(values[column] for column in common if column in values), value),
    )
