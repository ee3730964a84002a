"""IRIS x QPV: the share of each IRIS's area inside the QPV, and its main QPV.

QPV boundaries do not follow IRIS boundaries (science.md §7.6), so an IRIS is classed as QPV
when at least ``threshold`` of its area lies inside the union of the QPV polygons (whichever
QPV: 30 % in one and 30 % in another make 60 %). The default, 50 %, is the rule of
science.md §7.6, marked **[U]** there: a parameter, not a constant. INSEE's own QPV/IRIS
correspondence is not used (not reached).

The layers are intersected once (:func:`iris_qpv_overlaps`); the IRIS's shares
(:func:`overlay_table`) and the QPV that the IRIS counted in QPV leave out
(:func:`qpv_left_out`) both derive from those overlaps.

Areas are computed in a projected CRS, by default a Lambert azimuthal equal-area projection
centred on the IRIS (:func:`equal_area_crs`): true areas in m² wherever the city is, in
metropolitan France and overseas alike. A conformal CRS's areal scale factor varies by well
under 0.1 % across one IRIS, so it cancels in the *ratio* ``qpv_share``, but not in the
areas: Lambert-93 (EPSG:2154) measures metropolitan areas within about 0.6 %, and overseas
areas 1.3 (Guadeloupe) to 3.5 (La Réunion) times too large, far outside its area of use.
Geometries are repaired after reprojection (:func:`raster.zonal.prepare_zones`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj.exceptions import CRSError as PyprojCRSError

from pipelines.census._messages import WarningLog
from raster.zonal.zones import prepare_zones
from tiles.errors import CRSError, ZonesError

__all__ = [
    "COUNTED_QPV_SHARE",
    "DEFAULT_THRESHOLD",
    "OVERLAY_COLUMNS",
    "IrisQpvOverlaps",
    "equal_area_crs",
    "iris_qpv_overlaps",
    "iris_qpv_overlay",
    "overlay_table",
    "qpv_left_out",
    "qpv_without_iris",
]

#: How far under the threshold a share may measure and still reach it: areas on the
#: ellipsoid put an IRIS exactly half in QPV at 0.4999998 of it, which a threshold of 0.5
#: must count (and the warning then quoted as "at most 50%").
SHARE_TOLERANCE = 1e-6
#: The columns :func:`iris_qpv_overlay` adds to an IRIS, which a run joins to its IRIS table
#: (``iris_area_m2`` left out: the run has its own ``area_m2``).
OVERLAY_COLUMNS = ("qpv_area_m2", "qpv_share", "in_qpv", "code_qp_main")

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Share of an IRIS's area inside QPV from which the IRIS counts as QPV (science.md §7.6 [U]).
DEFAULT_THRESHOLD = 0.5
#: Overlaps smaller than this (m²) are the shared edges of IRIS and QPV drawn along the same
#: streets, reprojected: no overlap (on the demo, 18 IRIS had a QPV "main" from a sliver).
SLIVER_M2 = 1.0
#: A QPV with less than this share of its area (inside the IRIS) in IRIS counted in QPV is
#: mostly counted as the rest by the IRIS gap: :func:`qpv_without_iris` names it.
COUNTED_QPV_SHARE = 0.5


@dataclass(frozen=True)
class IrisQpvOverlaps:
    """The overlaps of an IRIS layer and a QPV layer, measured once in one projected CRS.

    Both :func:`overlay_table` (each IRIS's share in QPV) and :func:`qpv_left_out` (the QPV
    that IRIS counted in QPV leave out) derive from it. Built by :func:`iris_qpv_overlaps`.

    Parameters
    ----------
    iris_ids
        The IRIS codes, in the IRIS layer's order.
    iris_area
        Each IRIS's area (m², in the CRS of the overlay), same order.
    qpv_area
        The part of each IRIS inside the union of the QPV (m²): overlapping QPV count once.
    qpv_ids
        The QPV codes, in the QPV layer's order.
    iris_index, qpv_index, area
        One entry per IRIS x QPV overlap of :data:`SLIVER_M2` or more: the IRIS's and the
        QPV's positions, and the overlap's area (m²).
    """

    iris_ids: pd.Index
    iris_area: np.ndarray
    qpv_area: np.ndarray
    qpv_ids: pd.Index
    iris_index: np.ndarray
    qpv_index: np.ndarray
    area: np.ndarray

    @property
    def qpv_share(self) -> np.ndarray:
        """Each IRIS's share of area inside the union of the QPV, in [0, 1] (NaN: no area)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.minimum(self.qpv_area / self.iris_area, 1.0)
        return np.where(self.iris_area > 0, ratio, np.nan)


def iris_qpv_overlaps(
    iris: gpd.GeoDataFrame,
    qpv: gpd.GeoDataFrame,
    *,
    crs: Any = None,
    iris_id: str = "code_iris",
    qpv_id: str = "code_qp",
) -> IrisQpvOverlaps:
    """Intersect the IRIS with the QPV once: every overlap, and each IRIS's area in QPV.

    Parameters
    ----------
    iris
        IRIS polygons with a CRS and an ``iris_id`` column (as from
        :func:`~pipelines.census.read_iris`). Never modified.
    qpv
        QPV polygons with a CRS and a ``qpv_id`` column (as from
        :func:`~pipelines.census.read_qpv`). Never modified. Overlapping QPV count once.
    crs
        Projected CRS the areas are computed in; by default :func:`equal_area_crs` of the
        IRIS (true areas).
    iris_id, qpv_id
        The code columns.

    Returns
    -------
    IrisQpvOverlaps
        For :func:`overlay_table` and :func:`qpv_left_out`.

    Raises
    ------
    tiles.errors.CRSError
        If a layer has no CRS, ``crs`` is unreadable or not projected, or a polygon falls
        outside its area of use.
    tiles.errors.ZonesError
        If an id column is missing or holds missing or duplicated codes.

    Warns
    -----
    tiles.errors.IlotsWarning
        For geometries repaired after reprojection.
    """
    log = WarningLog("IRIS x QPV overlay")
    out = _measure(iris, qpv, crs=crs, iris_id=iris_id, qpv_id=qpv_id, log=log)
    log.emit()
    return out


def iris_qpv_overlay(
    iris: gpd.GeoDataFrame,
    qpv: gpd.GeoDataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    crs: Any = None,
    iris_id: str = "code_iris",
    qpv_id: str = "code_qp",
) -> pd.DataFrame:
    """For each IRIS, the share of its area inside QPV and the QPV it overlaps most.

    :func:`overlay_table` of :func:`iris_qpv_overlaps`: see them for the parameters, the
    columns returned, the errors and the warnings.
    """
    _check_threshold(threshold)
    log = WarningLog("IRIS x QPV overlay")
    overlaps = _measure(iris, qpv, crs=crs, iris_id=iris_id, qpv_id=qpv_id, log=log)
    out = _overlay_table(overlaps, threshold, log)
    log.emit()
    return out


def overlay_table(
    overlaps: IrisQpvOverlaps, *, threshold: float = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """For each IRIS, the share of its area inside QPV and the QPV it overlaps most.

    Parameters
    ----------
    overlaps
        The IRIS x QPV overlaps (:func:`iris_qpv_overlaps`).
    threshold
        An IRIS is ``in_qpv`` when ``qpv_share >= threshold`` (within
        :data:`SHARE_TOLERANCE`); in (0, 1], default 0.5.

    Returns
    -------
    pandas.DataFrame
        One row per IRIS in input order, RangeIndex, columns:

        * ``code_iris`` (the IRIS id column's name);
        * ``iris_area_m2``: the IRIS area in the CRS of the overlaps;
        * ``qpv_area_m2``: the part of it inside the union of the QPV;
        * ``qpv_share``: their ratio in [0, 1] (NaN for an IRIS without area);
        * ``in_qpv``: ``qpv_share >= threshold`` (False where the share is NaN);
        * ``code_qp_main``: the QPV with the largest overlap (None when there is none;
          ties go to the first QPV in ``qpv`` order).

        Overlaps under :data:`SLIVER_M2` (1 m²: the shared edge of an IRIS and a QPV drawn
        along the same street) count as none.

    Raises
    ------
    ValueError
        If ``threshold`` is not in (0, 1].

    Warns
    -----
    tiles.errors.IlotsWarning
        For IRIS without area.
    """
    _check_threshold(threshold)
    log = WarningLog("IRIS x QPV overlay")
    out = _overlay_table(overlaps, threshold, log)
    log.emit()
    return out


def _overlay_table(overlaps: IrisQpvOverlaps, threshold: float, log: WarningLog) -> pd.DataFrame:
    """Return :func:`overlay_table`; the IRIS without area are said in ``log``."""
    share = overlaps.qpv_share
    no_area = np.isnan(share)
    if no_area.any():
        log.add(
            f"{int(no_area.sum())} IRIS have no area: qpv_share is NaN and in_qpv False for them"
        )
    in_qpv = np.zeros(len(share), dtype=bool)
    in_qpv[~no_area] = share[~no_area] >= threshold - SHARE_TOLERANCE
    out = pd.DataFrame(
        {
            overlaps.iris_ids.name: pd.Series(list(overlaps.iris_ids)),
            "iris_area_m2": overlaps.iris_area,
            "qpv_area_m2": overlaps.qpv_area,
            "qpv_share": share,
            "in_qpv": in_qpv,
            "code_qp_main": pd.Series(list(_main_qpv(overlaps)), dtype=object),
        }
    )
    logger.info(
        "IRIS x QPV: %d of %d IRIS have at least %.0f %% of their area in QPV",
        int(in_qpv.sum()), len(out), 100 * threshold,
    )  # fmt: skip
    return out


def _main_qpv(overlaps: IrisQpvOverlaps) -> np.ndarray:
    """Return each IRIS's QPV of largest overlap (ties: QPV order), None without overlap."""
    main = np.full(len(overlaps.iris_ids), None, dtype=object)
    i_idx, q_idx = overlaps.iris_index, overlaps.qpv_index
    if len(i_idx):
        order = np.lexsort((q_idx, -overlaps.area, i_idx))  # per IRIS: largest, QPV order
        i_sorted, q_sorted = i_idx[order], q_idx[order]
        first = np.ones(len(i_sorted), dtype=bool)
        first[1:] = i_sorted[1:] != i_sorted[:-1]
        main[i_sorted[first]] = np.asarray(overlaps.qpv_ids, dtype=object)[q_sorted[first]]
    return main


def qpv_without_iris(
    iris: gpd.GeoDataFrame,
    qpv: gpd.GeoDataFrame,
    *,
    crs: Any = None,
    iris_id: str = "code_iris",
    qpv_id: str = "code_qp",
    qpv_name: str = "nom_qp",
    in_qpv: str = "in_qpv",
) -> pd.DataFrame:
    """Return the QPV that lie mostly in IRIS not counted in QPV: the IRIS gap misses them.

    :func:`qpv_left_out` of :func:`iris_qpv_overlaps`, for IRIS that carry their ``in_qpv``
    column (a run folder's IRIS layer). See :func:`qpv_left_out` for the rule and the
    columns returned.

    Parameters
    ----------
    iris
        IRIS polygons with a CRS, an ``iris_id`` column and a boolean ``in_qpv`` one (missing
        values count as False). Never modified.
    qpv
        QPV polygons with a CRS and a ``qpv_id`` column (a ``qpv_name`` one optional).
        Never modified.
    crs
        Projected CRS the areas are computed in; by default :func:`equal_area_crs` of the IRIS.
    iris_id, qpv_id, qpv_name, in_qpv
        The column names.

    Returns
    -------
    pandas.DataFrame
        As :func:`qpv_left_out`.

    Raises
    ------
    tiles.errors.ZonesError
        If ``in_qpv`` or an id column is missing, or an id column holds missing or
        duplicated codes.
    tiles.errors.CRSError
        As :func:`iris_qpv_overlaps`.
    """
    if in_qpv not in iris.columns:
        raise ZonesError(
            f"the IRIS have no {in_qpv!r} column; add it with iris_qpv_overlay(iris, qpv)"
        )
    # Geometries repaired silently: iris_qpv_overlay and the layer readers said so.
    log = WarningLog("IRIS x QPV overlay")
    overlaps = _measure(iris, qpv, crs=crs, iris_id=iris_id, qpv_id=qpv_id, log=log)
    counted = iris[in_qpv].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return qpv_left_out(overlaps, counted, qpv, qpv_id=qpv_id, qpv_name=qpv_name)


def qpv_left_out(
    overlaps: IrisQpvOverlaps,
    in_qpv: np.ndarray | pd.Series,
    qpv: pd.DataFrame,
    *,
    qpv_id: str = "code_qp",
    qpv_name: str = "nom_qp",
) -> pd.DataFrame:
    """Return the QPV that lie mostly in IRIS not counted in QPV: the IRIS gap misses them.

    An IRIS is counted in QPV (``in_qpv``, from :func:`overlay_table`) when at least the
    threshold of its area lies in the union of the QPV, whichever QPV they are: an IRIS 30 %
    in one QPV and 30 % in another is 60 % in QPV, and counts for both. A QPV is returned
    when under :data:`COUNTED_QPV_SHARE` of its area inside the IRIS lies in IRIS counted in
    QPV: its IRIS are compared as the rest, while its own statistics are those of the QPV
    layer; an IRIS counted that it merely touches does not count it.

    Parameters
    ----------
    overlaps
        The IRIS x QPV overlaps (:func:`iris_qpv_overlaps`).
    in_qpv
        Whether each IRIS of ``overlaps`` (in its order) is counted in QPV.
    qpv
        The QPV to check, with a ``qpv_id`` column (a ``qpv_name`` one optional): those of
        ``overlaps`` or some of them; a QPV not in ``overlaps`` overlaps no IRIS.
    qpv_id, qpv_name
        The column names.

    Returns
    -------
    pandas.DataFrame
        One row per such QPV, in ``qpv`` order, RangeIndex, columns ``code_qp`` (named
        ``qpv_id``), ``nom_qp`` (named ``qpv_name``; None without that column),
        ``iris_share_max``: the largest share of area in QPV (``qpv_share``, over the union
        of the QPV, as the threshold is compared with) among the IRIS not counted in QPV
        that it overlaps: from that threshold down, the first of them is counted; and
        ``counted_share``: the share of the QPV's area inside the IRIS that lies in IRIS
        counted in QPV (both 0, and NaN, for a QPV overlapping no IRIS). Overlaps under
        :data:`SLIVER_M2` count as none.

    Raises
    ------
    tiles.errors.ZonesError
        If ``qpv`` has no ``qpv_id`` column.
    ValueError
        If ``in_qpv`` has not one value per IRIS.
    """
    if qpv_id not in qpv.columns:
        raise ZonesError(f"the QPV have no {qpv_id!r} column; pass the QPV code column")
    counted = np.asarray(in_qpv, dtype=bool)
    if counted.shape != (len(overlaps.iris_ids),):
        raise ValueError(
            f"in_qpv has {counted.size} values for {len(overlaps.iris_ids)} IRIS; "
            "pass one per IRIS, in the order of the overlaps"
        )
    q_idx, areas = overlaps.qpv_index, overlaps.area
    pair_counted = counted[overlaps.iris_index]
    n_qpv = len(overlaps.qpv_ids)
    # IRIS do not overlap one another: their parts of a QPV add up.
    covered = np.bincount(q_idx, weights=areas, minlength=n_qpv)
    in_counted = np.bincount(q_idx[pair_counted], weights=areas[pair_counted], minlength=n_qpv)
    largest = np.zeros(n_qpv)
    share = np.nan_to_num(overlaps.qpv_share[overlaps.iris_index])  # overlaps have area
    np.fmax.at(largest, q_idx[~pair_counted], share[~pair_counted])
    with np.errstate(invalid="ignore", divide="ignore"):
        counted_share = np.minimum(np.where(covered > 0, in_counted / covered, np.nan), 1.0)
    at = overlaps.qpv_ids.get_indexer(qpv[qpv_id])  # -1: overlaps no IRIS
    largest = np.where(at >= 0, largest[at], 0.0)
    counted_share = np.where(at >= 0, counted_share[at], np.nan)
    keep = np.flatnonzero(~(counted_share >= COUNTED_QPV_SHARE))
    names = qpv[qpv_name] if qpv_name in qpv.columns else pd.Series(None, index=qpv.index)
    return pd.DataFrame(
        {
            qpv_id: pd.Series(qpv[qpv_id].to_numpy(dtype=object)[keep], dtype=object),
            qpv_name: pd.Series(names.to_numpy(dtype=object)[keep], dtype=object),
            "iris_share_max": largest[keep],
            "counted_share": counted_share[keep],
        }
    )


def _check_threshold(threshold: float) -> None:
    """Refuse a threshold outside (0, 1]."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")


def _measure(
    iris: gpd.GeoDataFrame,
    qpv: gpd.GeoDataFrame,
    *,
    crs: Any,
    iris_id: str,
    qpv_id: str,
    log: WarningLog,
) -> IrisQpvOverlaps:
    """Return :func:`iris_qpv_overlaps`; the geometries repaired are said in ``log``."""
    target = equal_area_crs(iris) if crs is None else _projected_crs(crs)
    iris_zones = log.call(prepare_zones, iris, id=iris_id, crs=target)
    qpv_zones = log.call(prepare_zones, qpv, id=qpv_id, crs=target)
    iris_geoms = np.asarray(iris_zones.geometry, dtype=object)
    qpv_geoms = np.asarray(qpv_zones.geometry, dtype=object)
    i_idx, q_idx, areas = _overlaps(iris_geoms, qpv_geoms)
    inside = np.bincount(i_idx, weights=areas, minlength=len(iris_geoms))
    counts = np.bincount(i_idx, minlength=len(iris_geoms))
    for i in np.flatnonzero(counts > 1):  # overlapping QPV must count once
        union = shapely.union_all(qpv_geoms[q_idx[i_idx == i]])
        inside[i] = shapely.area(shapely.intersection(iris_geoms[i], union))
    return IrisQpvOverlaps(
        iris_ids=iris_zones.ids,
        iris_area=shapely.area(iris_geoms),
        qpv_area=inside,
        qpv_ids=qpv_zones.ids,
        iris_index=i_idx,
        qpv_index=q_idx,
        area=areas,
    )


def _overlaps(
    iris_geoms: np.ndarray, qpv_geoms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the IRIS index, QPV index and area (CRS units²) of each IRIS x QPV overlap.

    Overlaps under :data:`SLIVER_M2` (touching only, or a sliver of a shared edge) are left out.
    """
    tree = shapely.STRtree(qpv_geoms)
    i_idx, q_idx = tree.query(iris_geoms, predicate="intersects")  # (2, n) IRIS, QPV index
    areas = shapely.area(shapely.intersection(iris_geoms[i_idx], qpv_geoms[q_idx]))
    keep = areas >= SLIVER_M2
    return i_idx[keep], q_idx[keep], areas[keep]


def equal_area_crs(zones: gpd.GeoDataFrame) -> pyproj.CRS:
    """Return a Lambert azimuthal equal-area CRS centred on ``zones`` (WGS 84, metres).

    Equal-area everywhere, and nearly free of shape distortion over a city around its
    centre: areas measured in it are the zones' areas on the ellipsoid.

    Raises
    ------
    tiles.errors.CRSError
        If ``zones`` has no CRS.
    """
    if zones.crs is None:
        raise CRSError("the IRIS layer has no CRS; set it (e.g. EPSG:2154) before the overlay")
    west, south, east, north = zones.total_bounds
    to_degrees = pyproj.Transformer.from_crs(zones.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_degrees.transform((west + east) / 2, (south + north) / 2)
    if not np.isfinite([lon, lat]).all():  # no zone: any centre measures nothing
        lon = lat = 0.0
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat:.4f} +lon_0={lon:.4f} +x_0=0 +y_0=0 +datum=WGS84 +units=m"
    )


def _projected_crs(crs: Any) -> pyproj.CRS:
    """Return the area CRS as a pyproj CRS; refuse a geographic CRS."""
    if crs is None:
        raise CRSError("the area CRS is None; pass a projected CRS such as 'EPSG:2154'")
    try:
        out = pyproj.CRS.from_user_input(crs)
    except (PyprojCRSError, TypeError, ValueError) as err:
        raise CRSError(f"cannot read the area CRS {crs!r}; pass e.g. 'EPSG:2154'") from err
    if not out.is_projected:
        raise CRSError(
            f"the area CRS {out.name} is not projected: areas in degrees are meaningless; "
            "pass 'EPSG:2154' (metropolitan France) or the local UTM CRS overseas"
        )
    return out
