"""The per-zone change tables of two runs, and the inequality statistics of ΔT's change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipelines.compare.checks import OUTCOME, warn
from pipelines.compare.runs import Run
from pipelines.config.models import InequalityConfig
from pipelines.inequality import GroupDifferenceResult, InequalityReport, run_inequality
from pipelines.zone_columns import (
    ANOMALY_VALID_FRAC,
    LANDCOVER_CLASSES,
    LOW_CLEAR_AREA,
    landcover_column,
)
from tiles.errors import InequalityError, ZonesError

__all__ = [
    "CHANGE",
    "MEASURES",
    "OUTCOME",
    "RESHAPED_FRAC",
    "TestedGap",
    "alike",
    "change_table",
    "gap_change",
    "signed",
]

#: The per-zone values compared, headline first, before the land-cover shares.
MEASURES = ("lst_anomaly_mean_k", "ndvi_mean")
#: The outcome whose QPV gap the summary compares, and its per-IRIS change.
CHANGE = f"{OUTCOME}_change"
#: The columns of an ``inequality.json`` that name its zone roles.
_ROLES = ("income", "population", "group", "stratum")
#: How many zone ids a warning gives as examples.
_EXAMPLES = 5
#: The share of a zone's two shapes' union that may lie in one run's shape only before the
#: zone is said to be reshaped (the same id, another boundary).
RESHAPED_FRAC = 0.01


def _shared_ids(a: Run, b: Run, layer: str) -> list[str]:
    """Return the zone ids of ``layer`` in both runs (B's order); warn of those in one only."""
    ids_a = list(a.layers[layer].iloc[:, 0].dropna())
    ids_b = list(b.layers[layer].iloc[:, 0].dropna())
    set_a = set(ids_a)
    shared = [code for code in ids_b if code in set_a]
    if not shared:
        raise ZonesError(
            f"{a.folder} and {b.folder}: the {layer} layers share no zone id (e.g. "
            f"{ids_a[:2]} vs {ids_b[:2]}); compare runs made with the same zone file"
        )
    only_a = [code for code in ids_a if code not in set(shared)]
    only_b = [code for code in ids_b if code not in set_a]
    if only_a or only_b:
        warn(
            f"{a.folder} and {b.folder}: {layer} ids differ in part: "
            f"{_only(only_a, 'A')}, {_only(only_b, 'B')}; only the {len(shared)} in both are "
            "compared",
            "zones_differ",
        )
    return shared


def _shapes(frame_a: gpd.GeoDataFrame, frame_b: gpd.GeoDataFrame) -> tuple[Any, Any]:
    """Return the geometries of A's and B's rows (same order), A's taken in B's CRS."""
    if frame_a.crs is not None and frame_b.crs is not None and frame_a.crs != frame_b.crs:
        frame_a = frame_a.to_crs(frame_b.crs)
    return frame_a.geometry.to_numpy(), frame_b.geometry.to_numpy()


def _reshaped_share(geom_a: Any, geom_b: Any) -> np.ndarray:
    """Return, per zone, the share of its two shapes' union that is in one run's shape only.

    0 for the same shape, 1 for a zone moved clear of itself (a share of the larger shape
    would read 200 % there); NaN for a zone without a geometry in either run.
    """
    share = np.zeros(len(geom_b))
    maybe = ~shapely.equals_exact(geom_a, geom_b, tolerance=0.0)
    apart = shapely.area(shapely.symmetric_difference(geom_a[maybe], geom_b[maybe]))
    share[maybe] = apart / shapely.area(shapely.union(geom_a[maybe], geom_b[maybe]))
    return share


def _warn_reshaped(
    a: Run,
    b: Run,
    layer: str,
    ids: Any,
    shapes: tuple[Any, Any],
    share: np.ndarray,
    moved: np.ndarray,
) -> None:
    """Warn of the zones whose shape differs between the runs (kind ``zones_differ``).

    ``moved`` marks the reshaped ones: more than :data:`RESHAPED_FRAC` of their two shapes'
    union in one run's shape only (``share``, :func:`_reshaped_share`: another IGN millésime
    of IRIS, the same id, another boundary); ``ids`` and ``shapes`` (A's, B's;
    :func:`_shapes`) are in its order. A zone without a geometry in either run is not said.
    """
    if not moved.any():
        return
    area_a, area_b = (shapely.area(geoms[moved]) for geoms in shapes)
    examples = ", ".join(
        f"{code}: {part:.0%} of it differs, {before / 1e6:.3f} vs {after / 1e6:.3f} km²"
        for code, part, before, after in zip(
            np.asarray(ids, dtype=object)[moved][:_EXAMPLES],
            share[moved][:_EXAMPLES],
            area_a[:_EXAMPLES],
            area_b[:_EXAMPLES],
            strict=False,
        )
    )
    warn(
        f"{a.folder} and {b.folder}: {int(moved.sum())} {layer} zone(s) have the same id but "
        f"another shape (more than {RESHAPED_FRAC:.0%} of the area differs; e.g. {examples}): "
        "another zone file or millésime, whose change mixes the zone's with the boundary's, so "
        "they are marked unreliable (reshaped_frac); compare runs made with the same zone file",
        "zones_differ",
    )


def _only(ids: list[str], run: str) -> str:
    """Say how many zone ids only ``run`` has, with a few of them."""
    return f"{len(ids)} only in {run}" + (f" (e.g. {ids[:_EXAMPLES]})" if ids else "")


def change_table(a: Run, b: Run, layer: str) -> gpd.GeoDataFrame:
    """Return the per-zone change of ``layer`` from A to B, with B's geometry.

    Columns: the id, the name (when the layer has one), ``in_qpv`` (B's, IRIS only), then
    for each measure both runs have ``<measure>_a``, ``_b`` and ``_change`` (B − A),
    ``valid_frac_a``, ``valid_frac_b``, ``anomaly_valid_frac_a``, ``anomaly_valid_frac_b``
    (the zone's share with a composite ΔT in each run; NaN for a run made before ilots wrote
    ``anomaly_valid_frac``), ``reshaped_frac`` (the share of the zone's two shapes' union in
    one run's shape only: 0 the same shape, 1 none in common) and ``unreliable`` (see the
    module).
    """
    shared = _shared_ids(a, b, layer)
    frame_a = a.layers[layer].set_index(a.layers[layer].columns[0])
    frame_b = b.layers[layer].set_index(b.layers[layer].columns[0]).loc[shared]
    frame_a = frame_a.loc[shared]
    key = b.layers[layer].columns[0]
    table = pd.DataFrame({key: pd.array(shared, dtype="string")})
    name = next((c for c in frame_b.columns if c.startswith("nom") or c == "name"), None)
    if name is not None:
        table[name] = frame_b[name].to_numpy()
    if "in_qpv" in frame_b.columns:
        table["in_qpv"] = frame_b["in_qpv"].to_numpy()
    shares = [landcover_column(n) for n in LANDCOVER_CLASSES]
    for measure in (*MEASURES, *shares):
        if measure not in frame_a.columns or measure not in frame_b.columns:
            continue
        value_a = pd.to_numeric(frame_a[measure]).to_numpy(dtype=float)
        value_b = pd.to_numeric(frame_b[measure]).to_numpy(dtype=float)
        if measure in shares and (pd.isna(value_a).all() or pd.isna(value_b).all()):
            continue  # a class one run did not compute (bare soil without NDBI)
        table[f"{measure}_a"] = value_a
        table[f"{measure}_b"] = value_b
        table[f"{measure}_change"] = value_b - value_a
    for share in ("valid_frac", ANOMALY_VALID_FRAC):  # ΔT's share: NaN before ilots had it
        table[f"{share}_a"] = _share(frame_a, share)
        table[f"{share}_b"] = _share(frame_b, share)
    shapes = _shapes(frame_a, frame_b)
    table["reshaped_frac"] = share = _reshaped_share(*shapes)
    reshaped = share > RESHAPED_FRAC  # NaN (no geometry): False
    _warn_reshaped(a, b, layer, shared, shapes, share, reshaped)
    table["unreliable"] = _unreliable(a, frame_a) | _unreliable(b, frame_b) | reshaped
    return gpd.GeoDataFrame(table, geometry=frame_b.geometry.to_numpy(), crs=frame_b.crs)


def _share(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a run's zone share ``column`` as floats, NaN where the run has no such column."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column]).to_numpy(dtype=float)


def _unreliable(run: Run, frame: pd.DataFrame) -> Any:
    """Whether ``run`` would not trust each zone (its own thresholds; see the module)."""
    threshold = run.setting("zones", "min_valid_frac")
    valid = pd.to_numeric(frame["valid_frac"]).to_numpy(dtype=float)
    low = (valid < threshold) if threshold is not None else valid != valid
    if threshold is not None and ANOMALY_VALID_FRAC in frame.columns:  # not before ilots had it
        low = low | (pd.to_numeric(frame[ANOMALY_VALID_FRAC]).to_numpy(dtype=float) < threshold)
    if LOW_CLEAR_AREA in frame.columns:
        low = low | frame[LOW_CLEAR_AREA].fillna(False).to_numpy(dtype=bool)
    return low | (valid != valid)  # no valid_frac: no trust either


def alike(iris: pd.DataFrame) -> str | None:
    """Say the one change of ΔT every IRIS with a value shares ("+0.000 K"); None: not so.

    A change shared by every IRIS moves no gap: there is nothing to test.
    """
    if CHANGE not in iris.columns:
        return None
    values = pd.to_numeric(iris[CHANGE]).dropna().unique()
    return f"{signed(values[0])} K" if len(values) == 1 else None


@dataclass(frozen=True)
class TestedGap:
    """The test of the change of the QPV gap of ΔT, and both runs' gaps over its IRIS.

    Attributes
    ----------
    report
        Run B's inequality statistics of the per-IRIS change of ΔT (its group difference:
        the change of the gap, tested).
    gap_a, gap_b
        The QPV gap of A's and of B's ΔT over the same IRIS, with the same roles, weights and
        strata: ``gap_b.value − gap_a.value`` is ``report.group_difference.value``.
    """

    report: InequalityReport
    gap_a: GroupDifferenceResult
    gap_b: GroupDifferenceResult


def gap_change(b: Run, iris: pd.DataFrame) -> TestedGap | None:
    """Run run B's inequality statistics on the per-IRIS change of ΔT, and its gap on each ΔT.

    The zone roles (income, population, QPV membership, stratum) are those B's
    ``inequality.json`` names, the options (permutations, bootstrap, confidence, seed) those
    of B's config: the group difference of the change is then the change of the QPV gap over
    the IRIS it uses (those with a ΔT in both runs, an income and a population), with a
    permutation test and its interval; the concentration index of the change says whether
    the poorer IRIS warmed more. The gap of A's and of B's ΔT over those IRIS, with the same
    weights and strata, are computed beside it (untested). None when B computed no
    inequality (no income, no QPV membership) or the change allows none (e.g. fewer than 3
    IRIS); the latter is said as a warning.
    """
    roles = {role: b.inequality.get(role) for role in _ROLES}
    if None in (roles["income"], roles["group"]) or CHANGE not in iris or alike(iris):
        return None
    layer = b.layers["iris"]
    key = layer.columns[0]
    table = layer.set_index(key).loc[iris[key]].reset_index()
    table[CHANGE] = iris[CHANGE].to_numpy(dtype=float)
    if any(table.get(role) is None for role in roles.values() if role is not None):
        return None
    tested = table[CHANGE].notna().to_numpy()
    for side in ("a", "b"):  # each run's ΔT where the change is: the same IRIS
        table[f"{OUTCOME}_{side}"] = iris[f"{OUTCOME}_{side}"].to_numpy(dtype=float)
        table.loc[~tested, f"{OUTCOME}_{side}"] = float("nan")
    options = InequalityConfig.model_validate(b.config.get("inequality") or {}).run_options()
    common = {"interval_scale": True, "check_income": False, **roles}  # run B said it once
    try:
        report = run_inequality(table, outcome=CHANGE, **common, **options)
        untested = {**options, "bootstrap": 0, "permutations": 0, "geometry": None}
        gaps = [
            run_inequality(
                table, outcome=f"{OUTCOME}_{side}", **common, **untested
            ).group_difference
            for side in ("a", "b")
        ]
    except InequalityError as err:
        warn(f"{b.folder}: the change of the QPV gap is not tested: {err}", None)
        return None
    if report.group_difference is None or None in gaps:
        return None
    return TestedGap(report, *gaps)


def signed(value: float) -> str:
    """Write ``value`` with its sign and three decimals (``n/a``: NaN)."""
    return "n/a" if value != value else f"{value:+.3f}"
