"""ANCT QPV layers, 2015 or 2024 geography, with normalised columns.

:func:`read_qpv` finds the ANCT fields whatever their spelling (``code_qp``; ``lib_qp`` or
``nom_qp``; ``insee_com`` or ``code_commune``; ``lib_com`` or ``nom_commune``) and returns:

===============  ========================================================================
column           content
===============  ========================================================================
``code_qp``      upper-case code, ``QP093028`` (2015) or ``QN04901M`` (2024)
``nom_qp``       QPV name
``insee_com``    commune code as given (5 characters for a single commune; ANCT lists
                 several communes for a QPV that spans them; missing when absent)
``nom_com``      commune name(s)
``generation``   ``"2015"`` or ``"2024"``: the QPV geography, from the code format
``geometry``     the QPV polygon, invalid ones repaired in the layer's CRS
===============  ========================================================================

Other input columns follow the normalised ones. The geography comes from the codes, not from
the file name (science.md pitfall 15): ``QP`` codes are the 2015 list, ``QN`` codes the 2024
metropolitan list. The 2015 list stayed in force overseas in 2024, so a layer mixing ``QN``
codes with overseas ``QP97…`` codes is the 2024 geography (with a warning); any other mix is
an error. ``commune_qp`` is the main commune's *name* in the 2015 ANCT and hackaviz files:
it is used as ``insee_com`` only when its values are commune codes.
"""

from __future__ import annotations

import logging

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
from pipelines.census.codes import COMMUNE, QPV, QPV_2015, QPV_2024, normalise_codes
from tiles.errors import ZonesError

__all__ = ["QPV_COLUMNS", "qpv_generation", "read_qpv"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: The normalised columns, in output order (``geometry`` comes last, after the others).
QPV_COLUMNS = ("code_qp", "nom_qp", "insee_com", "nom_com", "generation")


def read_qpv(
    source: LayerSource,
    *,
    layer: str | int | None = None,
    bbox: gpd.GeoSeries | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read a QPV layer and normalise its columns.

    Parameters
    ----------
    source
        Path of a vector file (shapefile, GeoPackage, GeoJSON ...) or a GeoDataFrame (never
        modified).
    layer
        Layer name or index in a multi-layer file; the first layer by default.
    bbox
        An area (with its CRS): read only the features of a file whose bounding box meets
        its bounds, e.g. a city's out of a national file. Default: the whole layer.

    Returns
    -------
    qpv : geopandas.GeoDataFrame
        One row per QPV, RangeIndex, columns ``code_qp``, ``nom_qp``, ``insee_com``,
        ``nom_com``, ``generation``, the other input columns, ``geometry``; same CRS as the
        input.
    warnings : list of str
        Every warning raised (also emitted as :class:`~tiles.errors.IlotsWarning`), e.g.
        "32 invalid zone geometries were repaired ..." for the Occitanie hackaviz file.

    Raises
    ------
    tiles.errors.CRSError
        If the layer has no CRS.
    tiles.errors.ZonesError
        If no code column is found (the message lists the columns), codes are missing, not
        QPV codes, duplicated, or mix the 2015 and 2024 geographies.
    FileNotFoundError, TypeError
        For a path that does not exist or a source of another type.
    """
    frame = open_layer(source, layer=layer, what="QPV", bbox=bbox)
    log = WarningLog("QPV layer")
    columns = [c for c in frame.columns if c != frame.geometry.name]

    code_column = fields.find_column(columns, fields.QPV_CODE, error=ZonesError, what="QPV code")
    if code_column is None:
        raise missing_column_error("QPV code", fields.QPV_CODE, columns)
    codes = checked_codes(frame[code_column], QPV, code_column, log, "QPV")
    error = duplicated_codes_error(codes, "QPV", code_column)
    if error is not None:
        raise error
    generation = qpv_generation(codes, log)
    used: list[object] = [code_column]

    commune_column, commune = _commune_codes(frame, columns, used, log)
    if commune_column is not None:
        used.append(commune_column)
    name_column = fields.find_column(
        columns, fields.QPV_NAME, error=ZonesError, what="QPV name", exclude=used
    )
    if name_column is not None:
        used.append(name_column)
    commune_name_column = fields.find_column(
        columns, fields.QPV_COMMUNE_NAME, error=ZonesError, what="commune name", exclude=used
    )
    if commune_name_column is not None:
        used.append(commune_name_column)

    normalised = {
        "code_qp": codes,
        "nom_qp": text_column(frame, name_column),
        "insee_com": commune,
        "nom_com": text_column(frame, commune_name_column),
        "generation": pd.Series([generation] * len(frame), index=frame.index),
    }
    out = assemble(frame, normalised, used)
    out = repair_geometries(out, "code_qp", log)
    return out, log.emit()


def qpv_generation(codes: pd.Series, log: WarningLog | None = None) -> str:
    """Return ``"2015"`` or ``"2024"``: the QPV geography the (normalised) codes belong to.

    Parameters
    ----------
    codes
        Normalised QPV codes (upper case, no missing values).
    log
        Where to record the warning for a 2024 layer that keeps overseas 2015 codes.

    Raises
    ------
    tiles.errors.ZonesError
        If the codes mix the two geographies (other than overseas ``QP97…`` codes beside
        ``QN`` codes) or match neither format.
    """
    values = codes.astype(str)
    is_2015 = values.map(QPV_2015.matches).to_numpy(dtype=bool)
    is_2024 = values.map(QPV_2024.matches).to_numpy(dtype=bool)
    neither = ~(is_2015 | is_2024)
    if neither.any():
        raise ZonesError(
            f"{int(neither.sum())} codes are not QPV codes, e.g. "
            f"{examples(values[neither].tolist())}; expected e.g. {QPV.example}"
        )
    if not is_2024.any():
        return "2015"
    if not is_2015.any():
        return "2024"
    overseas = values[is_2015].str.startswith("QP97").all()
    if overseas:
        if log is not None:
            log.add(
                f"{int(is_2015.sum())} overseas QPV keep their 2015 codes beside "
                f"{int(is_2024.sum())} 2024 codes; the 2015 list stayed in force overseas, "
                "so the layer is read as the 2024 geography"
            )
        return "2024"
    raise ZonesError(
        f"the QPV codes mix the 2015 geography ({int(is_2015.sum())} codes like "
        f"{examples(values[is_2015].tolist(), 2)}) and the 2024 one ({int(is_2024.sum())} "
        f"like {examples(values[is_2024].tolist(), 2)}); keep one geography per layer"
    )


def _commune_codes(
    frame: pd.DataFrame, columns: list[object], used: list[object], log: WarningLog
) -> tuple[object | None, pd.Series]:
    """Return the commune-code column and values (``COMMUNE_QP`` only if it holds codes)."""
    exclude = list(used)
    while True:
        column = fields.find_column(
            columns, fields.QPV_COMMUNE, error=ZonesError, what="commune code", exclude=exclude
        )
        if column is None:
            logger.info("no commune code column in the QPV layer")
            return None, pd.Series([None] * len(frame), index=frame.index, dtype=object)
        result = normalise_codes(frame[column], COMMUNE)
        if str(column).strip().lower() == "commune_qp" and result.invalid.any():
            exclude.append(column)  # commune names, not codes: leave it for nom_com
            continue
        message = result.restored_message(column, COMMUNE)
        if message:
            log.add(message)
        if result.invalid.any():
            log.add(
                f"{int(result.invalid.sum())} values in column {column!r} are not single "
                f"commune codes, e.g. {examples(frame[column][result.invalid].tolist())}; "
                "kept as given (a QPV can span several communes)"
            )
        return column, result.codes
