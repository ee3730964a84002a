"""Whether an input file says it holds synthetic data (the demo's), as ilots' outputs mark it.

A run's COG rasters carry the tag ``synthetic=true``; its GeoParquet zone layers the key
``"synthetic": true`` of their :data:`~pipelines.outputs.tables.PROVENANCE_KEY` schema
metadata; its GeoPackage layers a description starting with
:data:`~pipelines.outputs.geopackage.SYNTHETIC_MARK`; its CSVs a (last)
:data:`~pipelines.outputs.tables.SYNTHETIC_COLUMN` of true values. The single commands
(``ilots zonal``, ``ilots inequality``) read these marks of their inputs to mark their own
outputs.
"""

from __future__ import annotations

import decimal
import json
import logging
import numbers
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import rasterio
from pyogrio.errors import DataSourceError
from rasterio.errors import RasterioIOError

from pipelines.outputs.geopackage import SYNTHETIC_MARK
from pipelines.outputs.tables import PROVENANCE_KEY, SYNTHETIC_COLUMN

__all__ = ["raster_is_synthetic", "split_synthetic_column", "truthy", "zones_are_synthetic"]

logger = logging.getLogger(__name__)

#: What reading a mark may raise: the file was read already (a command's input), so a mark
#: that cannot be read is unknown (no mark), never an error after the command's work.
_UNREADABLE = (RasterioIOError, DataSourceError, OSError, ValueError, pa.ArrowException)

#: Texts of a tag or key read as true, besides a number equal to 1 (:data:`_NUMBER`).
_TRUE = ("true", "yes")
#: A number as JSON writes it (no sign ``+``, no leading zero, ASCII digits): the text of a
#: tag (always text, so a tool's number 1.0 is ``"1.0"``) read as the number it writes.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def truthy(value: Any) -> bool:
    """Return whether a tag or JSON value says yes.

    Its values: a raster's tag (text), a key of a Parquet file's provenance, a manifest or a
    config (JSON or YAML: a boolean, a number or a text). JSON ``true``; a number equal to
    1, or its text as JSON writes it (``1``, ``1.0``, ``"1"``, ``"1.0"``, ``"1e0"``: a text
    reads as the number it writes, exactly); or the text ``"true"`` or ``"yes"``; texts in
    any case, spaces around them ignored. Anything else says no: ``false``, ``0``, ``null``,
    ``2``, a list, ``"no"``, ``"1.0000000000000001"``, and texts other tools may read as yes
    (``"y"``, ``"on"``, ``"+1"``).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        return value == 1
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if _NUMBER.fullmatch(text) is None:  # no nan nor inf
        return False
    try:  # Decimal: exact (a float rounds "1.0000000000000001" to 1)
        return decimal.Decimal(text) == 1
    except decimal.InvalidOperation:  # an exponent past Decimal's range: not 1
        return False


def raster_is_synthetic(path: str | os.PathLike[str]) -> bool:
    """Return whether a raster's dataset tag ``synthetic`` says it holds synthetic data.

    False when it does not, or when the file cannot be read as a raster (logged).
    """
    try:
        with rasterio.open(path) as src:
            return truthy(src.tags().get("synthetic"))
    except _UNREADABLE as err:
        logger.debug("cannot read the tags of %s: %s", path, err)
        return False


def zones_are_synthetic(path: str | os.PathLike[str], layer: str | None = None) -> bool:
    """Return whether a zone file says it holds synthetic data.

    Parameters
    ----------
    path
        A GeoParquet or Parquet file (its :data:`~pipelines.outputs.tables.PROVENANCE_KEY`
        metadata says ``"synthetic": true``) or a vector file (the description of its layer
        ``layer``, the first by default, starts with
        :data:`~pipelines.outputs.geopackage.SYNTHETIC_MARK`, as a GeoPackage's can); a CSV
        says nothing here (``False``): its mark is a column of its data, which
        :func:`split_synthetic_column` reads.
    layer
        Layer of a vector file.
    """
    source = Path(path)
    try:
        return _zones_say_synthetic(source, layer)
    except _UNREADABLE as err:
        logger.debug("cannot read whether %s is synthetic: %s", source, err)
        return False


def _zones_say_synthetic(source: Path, layer: str | None) -> bool:
    """:func:`zones_are_synthetic`, which may raise what reading the file raises."""
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return False
    if suffix == ".parquet":  # a file, or a folder of parts (a dataset)
        schema = pq.ParquetDataset(source).schema if source.is_dir() else pq.read_schema(source)
        metadata = schema.metadata or {}
        provenance = json.loads(metadata.get(PROVENANCE_KEY, b"{}"))
        return isinstance(provenance, dict) and truthy(provenance.get("synthetic"))
    described = pyogrio.read_info(source, layer=layer).get("layer_metadata") or {}
    return str(described.get("DESCRIPTION", "")).startswith(SYNTHETIC_MARK)


def split_synthetic_column(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Return a table read from a CSV without its synthetic mark, and whether it had one.

    The mark (:func:`~pipelines.outputs.tables.with_synthetic_mark`) is a column named
    :data:`~pipelines.outputs.tables.SYNTHETIC_COLUMN` whose every value is true: ``True``,
    as pandas reads the ``True`` ilots writes, or the text ``true`` in any case. ilots writes
    it last; it is read wherever it is, as a join of the table with others moves it. A
    column so named with a false, missing or other value (a count of 1s included), or in a
    table of no row, is data: the table is returned as it is, with ``False``.
    """
    if SYNTHETIC_COLUMN not in table.columns or table.empty:
        return table, False
    if not all(map(_is_true, table[SYNTHETIC_COLUMN])):
        return table, False
    return table.drop(columns=SYNTHETIC_COLUMN), True


def _is_true(value: Any) -> bool:
    """Whether a cell of a CSV's mark column says true: ``True`` or the text ``true``."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return isinstance(value, str) and value.strip().lower() == "true"
