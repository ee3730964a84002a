"""IGN Contours IRIS in any millésime and format, with normalised columns.

:func:`read_iris` accepts a shapefile, GeoPackage, GeoJSON (anything pyogrio reads) or a
GeoDataFrame, finds the code, name, commune and type fields whatever their spelling
(:mod:`pipelines.census.fields`), and returns one row per IRIS with:

=============  ==========================================================================
column         content
=============  ==========================================================================
``code_iris``  9-character text code; leading zeros restored (with a warning) when the
               file stored it as a number; Corsica ``2A``/``2B`` kept
``nom_iris``   IRIS name (missing when the layer has none)
``insee_com``  5-character commune code; ``code_iris[:5]`` when the layer has none
``typ_iris``   ``H``, ``A``, ``D`` or ``Z`` (science.md §8.1; missing when absent)
``nom_com``    commune name (missing when absent)
...            every other input column, in input order
``geometry``   the IRIS polygon, invalid ones repaired, in the layer's own CRS
=============  ==========================================================================

The CRS is kept: zones are reprojected to the raster CRS only at zonal time
(:func:`raster.zonal.prepare_zones`). Older IRIS-GE layers that hold only the 4-digit IRIS
number in ``IRIS`` next to ``DEPCOM`` get ``code_iris = DEPCOM + IRIS``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from pipelines.census import fields
from pipelines.census._layers import (
    LayerSource,
    assemble,
    checked_codes,
    duplicated_codes_error,
    missing_column_error,
    open_layer,
    repair_geometries,
    text_column,
)
from pipelines.census._messages import WarningLog, examples
from pipelines.census.codes import COMMUNE, IRIS, IRIS_NUMBER
from tiles.errors import ZonesError

__all__ = ["IRIS_COLUMNS", "IRIS_TYPES", "read_iris"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: The normalised columns, in output order (``geometry`` comes last, after the others).
IRIS_COLUMNS = ("code_iris", "nom_iris", "insee_com", "typ_iris", "nom_com")
#: IRIS types (science.md §8.1): habitat, activité, divers, commune not split.
IRIS_TYPES = frozenset({"H", "A", "D", "Z"})


def read_iris(
    source: LayerSource,
    *,
    layer: str | int | None = None,
    bbox: gpd.GeoSeries | None = None,
    fids: Sequence[int] | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read an IRIS layer and normalise its columns.

    Parameters
    ----------
    source
        Path of a vector file (shapefile, GeoPackage, GeoJSON, zipped shapefile ...) or a
        GeoDataFrame (never modified).
    layer
        Layer name or index in a multi-layer file (GeoPackage); the first layer by default.
    bbox
        An area (with its CRS): read only the features of a file whose bounding box meets
        its bounds, e.g. a city's out of a national file. Default: the whole layer.
    fids
        Read these features of a file only (OGR feature ids). Default: all.

    Returns
    -------
    iris : geopandas.GeoDataFrame
        One row per IRIS, RangeIndex, columns ``code_iris``, ``nom_iris``, ``insee_com``,
        ``typ_iris``, ``nom_com``, then the other input columns, then ``geometry``; same CRS
        as the input.
    warnings : list of str
        Every warning raised (also emitted as :class:`~tiles.errors.IlotsWarning`): codes
        stored as numbers, commune codes disagreeing with the IRIS codes, unknown IRIS types,
        geometries repaired.

    Raises
    ------
    tiles.errors.CRSError
        If the layer has no CRS.
    tiles.errors.ZonesError
        If no code column is found (the message lists the columns), codes are missing, not
        IRIS codes, or duplicated (the message gives examples).
    FileNotFoundError, TypeError
        For a path that does not exist or a source of another type.
    """
    frame = open_layer(source, layer=layer, what="IRIS", bbox=bbox, fids=fids)
    log = WarningLog("IRIS layer")
    columns = [c for c in frame.columns if c != frame.geometry.name]

    code_column = fields.find_column(columns, fields.IRIS_CODE, error=ZonesError, what="IRIS code")
    if code_column is None:
        raise missing_column_error("IRIS code", fields.IRIS_CODE, columns)
    commune_column = fields.find_column(
        columns, fields.IRIS_COMMUNE, error=ZonesError, what="commune code", exclude=[code_column]
    )
    used: list[object] = [code_column]
    compose = commune_column is not None and _holds_iris_numbers(frame[code_column])
    commune = None
    if commune_column is not None:
        used.append(commune_column)
        commune = checked_codes(
            frame[commune_column],
            COMMUNE,
            commune_column,
            log,
            "commune",
            allow_missing=not compose,
        )
    if compose:
        number = checked_codes(frame[code_column], IRIS_NUMBER, code_column, log, "IRIS number")
        composed = (commune.astype(str) + number.astype(str)).rename(code_column)
        codes = checked_codes(composed, IRIS, code_column, log, "IRIS")
        logger.info("IRIS codes built as %s + %s", commune_column, code_column)
    else:
        codes = checked_codes(frame[code_column], IRIS, code_column, log, "IRIS")
    error = duplicated_codes_error(codes, "IRIS", code_column)
    if error is not None:
        raise error
    if commune is None:
        commune = codes.str[:5]
        logger.info("no commune code column: insee_com taken from code_iris[:5]")
    else:
        commune = _check_commune_prefix(codes, commune, commune_column, log)

    optional = {}
    for name, variants in (
        ("nom_iris", fields.IRIS_NAME),
        ("typ_iris", fields.IRIS_TYPE),
        ("nom_com", fields.IRIS_COMMUNE_NAME),
    ):
        column = fields.find_column(columns, variants, error=ZonesError, what=name, exclude=used)
        if column is None:
            logger.info("no %s column (expected one of %s)", name, ", ".join(variants))
        else:
            used.append(column)
        optional[name] = text_column(frame, column)
    typ = (
        optional["typ_iris"].str.upper()
        if optional["typ_iris"].notna().any()
        else optional["typ_iris"]
    )
    _check_types(typ, log)

    normalised = {
        "code_iris": codes,
        "nom_iris": optional["nom_iris"],
        "insee_com": commune,
        "typ_iris": typ,
        "nom_com": optional["nom_com"],
    }
    out = assemble(frame, normalised, used)
    out = repair_geometries(out, "code_iris", log)
    return out, log.emit()


def _holds_iris_numbers(values: pd.Series) -> bool:
    """Whether a column holds 4-digit IRIS numbers (IGN ``IRIS``) rather than full codes."""
    text = values.dropna().astype(str).str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)
    return bool(len(text)) and bool(text.str.fullmatch(r"\d{1,4}").all())


def _check_commune_prefix(
    codes: pd.Series, commune: pd.Series, column: object, log: WarningLog
) -> pd.Series:
    """Fill missing commune codes from the IRIS codes; warn when a given one disagrees."""
    prefix = codes.str[:5]
    given = commune.notna().to_numpy()
    differ = given & (commune.astype(object).to_numpy() != prefix.astype(object).to_numpy())
    if differ.any():
        pairs = [f"{c}/{m}" for c, m in zip(codes[differ], commune[differ], strict=True)]
        log.add(
            f"{int(differ.sum())} commune codes in column {column!r} differ from the first 5 "
            f"characters of their IRIS code (code_iris/insee_com e.g. {examples(pairs)}); "
            "they are kept as given: check the layer's millésime"
        )
    if not given.all():
        logger.info("%d missing commune codes taken from code_iris[:5]", int((~given).sum()))
        return commune.where(given, prefix)
    return commune


def _check_types(typ: pd.Series, log: WarningLog) -> None:
    """Warn about IRIS types outside H, A, D, Z."""
    unknown = typ.notna() & ~typ.isin(IRIS_TYPES)
    if unknown.any():
        log.add(
            f"{int(unknown.sum())} IRIS have a type outside H, A, D, Z, e.g. "
            f"{examples(pd.unique(typ[unknown]).tolist())}; they are kept as given"
        )
