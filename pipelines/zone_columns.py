"""The per-zone columns a run computes: one list for the run's zone tables and the config.

:func:`pipelines.run._zone_table` builds the columns of :data:`ZONE_STATISTICS` and
:func:`landcover_column`, :func:`pipelines.run._with_percentile_ranks` those of
:func:`rank_columns`; :func:`pipelines.run_census.check_iris_columns` checks
the config's column names against :func:`zone_columns` and the columns of the tables read. Light
on purpose: the config imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from raster.landcover import CLASS_NAMES

__all__ = [
    "ANOMALY_COLUMNS",
    "ANOMALY_LAYERS",
    "ANOMALY_VALID_FRAC",
    "LANDCOVER_CLASSES",
    "LOW_CLEAR_AREA",
    "RANKED",
    "ZONE_STATISTICS",
    "landcover_column",
    "rank_columns",
    "zone_columns",
]

#: The column of a zone's share (of its land, water left out) with a composite ΔT, which
#: gates its ΔT columns (those of :data:`ANOMALY_LAYERS`) as ``valid_frac`` its LST columns.
ANOMALY_VALID_FRAC = "anomaly_valid_frac"
#: Per-zone column -> (raster layer, statistic) of the zonal tables it holds, in the order of
#: the zone tables; the zonal tables name it ``<layer>_<statistic>``
#: (:func:`pipelines.run_tiles._tables`). ``lst_zscore_mean`` exists with
#: ``composite.anomaly_method: zscore`` only; ``albedo_mean`` is empty without the bands.
#: ``ndvi_mean`` and ``albedo_mean`` are means over the zone's land: the composites leave out
#: the land cover's water, as the LST does (``mask.indices_keep_water`` false, the default).
ZONE_STATISTICS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "area_m2": ("lst_median", "area_m2"),
        "valid_frac": ("lst_median", "valid_frac"),
        ANOMALY_VALID_FRAC: ("lst_anomaly", "valid_frac"),
        "lst_mean_k": ("lst_median", "mean"),
        # The zone's 90th percentile of the median LST (its hot spots), and the zone mean of
        # the per-pixel 90th percentile over the scenes (its hot days).
        "lst_p90_k": ("lst_median", "p90"),
        "lst_p90_mean_k": ("lst_p90", "mean"),
        "lst_anomaly_mean_k": ("lst_anomaly", "mean"),
        "lst_anomaly_p90_mean_k": ("lst_anomaly_p90", "mean"),
        "lst_zscore_mean": ("lst_zscore", "mean"),
        "ndvi_mean": ("ndvi_median", "mean"),
        "albedo_mean": ("albedo_median", "mean"),
        "n_clear_mean": ("n_clear", "mean"),
    }
)
#: The raster layers made from the per-scene ΔT (its median and 90th percentile, its
#: z-score): they rest on the scenes with a reference, which can be fewer than the LST's, so
#: their columns are gated on the median ΔT's own valid fraction (``anomaly_valid_frac``),
#: not on ``valid_frac``.
ANOMALY_LAYERS: tuple[str, ...] = ("lst_anomaly", "lst_anomaly_p90", "lst_zscore")
#: The zone columns of :data:`ANOMALY_LAYERS` (ΔT's values), gated on both shares; not the
#: share ``anomaly_valid_frac`` itself, which is never emptied.
ANOMALY_COLUMNS: frozenset[str] = frozenset(
    column
    for column, (layer, statistic) in ZONE_STATISTICS.items()
    if layer in ANOMALY_LAYERS and statistic != "valid_frac"
)
#: Flag of the zones with too little clear area (``composite.min_clear_area_frac``) in their
#: composite LST or ΔT.
LOW_CLEAR_AREA = "low_clear_area"
#: Land-cover class names of :class:`raster.landcover.LandCover`, in code order 1..5 (0 is no
#: data); their per-zone columns are :func:`landcover_column`.
LANDCOVER_CLASSES: tuple[str, ...] = tuple(name for code, name in CLASS_NAMES.items() if code)
#: Per-zone columns ranked ("hotter than X % of the IRIS", science.md §7.5) -> column prefix.
RANKED: Mapping[str, str] = MappingProxyType(
    {"lst_anomaly_mean_k": "lst_anomaly", "lst_mean_k": "lst"}
)


def landcover_column(name: str) -> str:
    """Return the per-zone column of land-cover class ``name``: its share of the zone."""
    return f"lc_{name}_frac"


def rank_columns(prefix: str) -> tuple[str, str]:
    """Return the rank columns of a :data:`RANKED` prefix: over the zones, over residents."""
    return f"{prefix}_hotter_than_pct", f"{prefix}_hotter_than_residents_pct"


def zone_columns() -> tuple[str, ...]:
    """Return every per-zone value column a run can compute, in the zone tables' order.

    The zonal statistics, the low-clear-area flag, the land-cover shares, then the ranks.
    The zone layer's own columns and the census columns joined to the IRIS are not listed.
    """
    ranks = (column for prefix in RANKED.values() for column in rank_columns(prefix))
    return (
        *ZONE_STATISTICS,
        LOW_CLEAR_AREA,
        *(landcover_column(name) for name in LANDCOVER_CLASSES),
        *ranks,
    )
