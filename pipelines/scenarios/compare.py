"""Compare a scenario with the baseline: per-zone ΔT, inequality before and after, one row.

Per zone (exact zonal means with the run's coverage method, :mod:`raster.zonal`):
``delta_lst_mean_k`` (mean ΔT), ``lst_anomaly_before_mean_k`` (the run's
``lst_anomaly_mean_k``), ``lst_anomaly_after_mean_k`` (before + mean ΔT: ΔT is NaN exactly
where the observed anomaly is, so the zone mean of the after-scenario anomaly is the run's
mean plus the mean ΔT), ``changed_area_m2`` (area of changed pixels in the zone, coverage
weighted).

The inequality metrics (:func:`pipelines.inequality.run_inequality`) of the IRIS
``lst_anomaly_mean_k`` are computed before (the run's values) and after (the after-scenario
values) with the run's settings, so both rest on the same IRIS, weights and seeds.

Columns of ``scenarios/comparison.csv`` (:data:`COMPARISON_COLUMNS`, one row per scenario).
The values are those of the scenario's *median fit*: of the ``scenario_model.replicates``
fits (the model and its refits, seeds ``seed``, ``seed + 1``, ...), the one whose
``changed_mean_delta_k`` is the median (of the two middle ones, the smaller effect); the
scenario's ΔT map, per-zone tables and ``inequality.json`` are that fit's too:

``scenario``, ``description``
    Name and description from the config.
``area_changed_m2``
    Area of the pixels whose NDVI, albedo or class the scenario changed.
``area_changed_predicted_m2``
    Area of the changed pixels that got a ΔT: those with an observed LST anomaly (at least
    ``composite.min_clear`` clear dates; 0 where the model sees no change of its
    predictors). The changed pixels without one (the run's NaN anomaly: too few clear
    dates, outside the scenes) count in ``area_changed_m2``, not here.
``changed_mean_delta_k``
    Mean ΔT (K) over the changed pixels that got a prediction (how much cooler they get).
    ΔT, as every mean below, is over the pixels with an observed LST anomaly.
``mean_delta_k``
    Mean ΔT (K) over the pixels of the scenario's ``where``, changed or not (how much cooler
    the targeted area gets: a cool-roof scenario on the IRIS averages its roofs' ΔT with the
    unchanged streets, parks and fields of the IRIS); the ``where`` holds the pixels with a
    land cover and an NDVI, so over the whole city it can differ from
    ``urban_mean_delta_k``.
``urban_mean_delta_k``
    Mean ΔT (K) over the pixels of the IRIS (the whole city).
``delta_k_per_ha``
    ``urban_mean_delta_k`` per hectare of ``area_changed_predicted_m2``: city-wide effect per
    unit of effort (K/ha), comparable between scenarios of different sizes; the changed
    hectares without a prediction add nothing to the city's mean, so they do not divide it
    either. Empty when no changed pixel got a prediction.
``qpv_delta_mean_k``, ``rest_delta_mean_k``
    Mean per-IRIS ΔT of the IRIS in QPV and of the others, weighted and restricted as the
    run's QPV gap is (population-weighted, IRIS with income and population), so that
    ``qpv_gap_after_k − qpv_gap_before_k = qpv_delta_mean_k − rest_delta_mean_k``.
``qpv_gap_before_k``, ``qpv_gap_after_k``
    QPV-minus-rest difference of the IRIS LST anomaly before and after the scenario.
``generalized_concentration_index_before``, ``generalized_concentration_index_after``
    Generalised concentration index (K) of the IRIS LST anomaly over income ranks, before
    and after: the index the report's key findings give (the relative index divides by the
    mean anomaly, near 0 and of either sign).
``pixels_changed``, ``pixels_predicted``
    Pixels changed, and pixels whose predictors changed (neighbours included) and were
    predicted.
``extrapolated_share``
    Largest share, over the predictors, of the changed pixels with a prediction (those whose
    own NDVI, albedo or class the scenario changed, not their neighbours) pushed outside the
    range the model was fitted on (where a gradient-boosting model's response is flat); of
    ``summary.json``'s ``outside_fitted_range_of`` pixels, NaN when there are none.
``qpv_gap_best_fits``
    In how many of the model's fits (the model and its replicates) this scenario narrows
    the QPV gap the most of all the scenarios (``|after| − |before|`` lowest and negative);
    scenarios tied for the lowest each count the fit.
``fit_seed``
    The seed of the median fit (its pixel sample and its estimator's seed). Where ``sample``
    is below the usable pixels, ``scenario_model.seed: <fit_seed>`` with ``replicates: 1``
    fits the same model; where it takes them all, the fits are bootstraps and a
    ``replicates: 1`` run uses the model fitted on every pixel instead.
``<column>_min``, ``<column>_max`` for each of :data:`SPREAD_COLUMNS`
    The lowest and highest value of the column over the ``scenario_model.replicates``
    fits of the model and redraws of a ``reclassify`` fraction's pixels (seeds ``seed``,
    ``seed + 1``, ...; the column itself is one of them): how much the model's own
    randomness moves it, a lower bound of its uncertainty (the model's structural error is
    not in it).
    ``qpv_gap_after_k`` of a refit is ``qpv_gap_before_k + qpv_delta_mean_k −
    rest_delta_mean_k``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pipelines.config import RunConfig
from pipelines.inequality import InequalityReport, run_inequality, zone_roles
from pipelines.inequality.shared import SharedDraws
from pipelines.scenarios.baseline import Baseline
from raster.zonal import ZoneCoverage, prepare_zones, zonal_stats, zone_coverage
from tiles.errors import InequalityError

__all__ = [
    "COMPARISON_COLUMNS",
    "OUTCOME",
    "SPREAD_COLUMNS",
    "TIE_K",
    "group_deltas",
    "inequality_of",
    "is_range",
    "layer_coverage",
    "metric_value",
    "zone_effects",
]

COMPARISON_COLUMNS: tuple[str, ...] = (
    "scenario",
    "description",
    "area_changed_m2",
    "area_changed_predicted_m2",
    "changed_mean_delta_k",
    "mean_delta_k",
    "urban_mean_delta_k",
    "delta_k_per_ha",
    "qpv_delta_mean_k",
    "rest_delta_mean_k",
    "qpv_gap_before_k",
    "qpv_gap_after_k",
    "generalized_concentration_index_before",
    "generalized_concentration_index_after",
    "pixels_changed",
    "pixels_predicted",
    "extrapolated_share",
    "qpv_gap_best_fits",
    "fit_seed",
)
#: Comparison columns also given as their range over the model's replicates.
SPREAD_COLUMNS: tuple[str, ...] = (
    "changed_mean_delta_k",
    "mean_delta_k",
    "urban_mean_delta_k",
    "qpv_gap_after_k",
)
COMPARISON_COLUMNS += tuple(f"{c}_{end}" for c in SPREAD_COLUMNS for end in ("min", "max"))
OUTCOME = "lst_anomaly_mean_k"  # the IRIS column the inequality metrics rest on
#: Relative width under which a range over replicates is one value (rounding, identities).
RANGE_RTOL = 1e-9


#: QPV gaps after (K) closer than this are a tie for the narrowest: the same up to rounding
#: (``pipelines.scenarios.pipeline.best_fits``, the report's best scenario).
TIE_K = 1e-9


def is_range(low: float, high: float) -> bool:
    """Whether ``[low, high]`` (over the replicates) is wider than rounding."""
    scale = max(1.0, abs(low), abs(high))
    return bool(np.isfinite(low) and np.isfinite(high) and high - low > RANGE_RTOL * scale)


def layer_coverage(baseline: Baseline, layer: str, method: str) -> ZoneCoverage:
    """Coverage of a zone layer of the run on its grid (computed once, reused per scenario)."""
    frame = baseline.zones[layer]
    geobox = baseline.template.odc.geobox
    prepared = prepare_zones(frame, id=baseline.id_columns[layer], crs=geobox.crs.to_wkt())
    return zone_coverage(prepared, geobox, method=method)  # type: ignore[arg-type]


def zone_effects(
    baseline: Baseline,
    layer: str,
    coverage: ZoneCoverage,
    delta: np.ndarray,
    changed: np.ndarray,
) -> pd.DataFrame:
    """Per-zone ΔT, anomaly before and after, and changed area of one zone layer.

    Returns
    -------
    pandas.DataFrame
        The id column, ``delta_lst_mean_k``, ``lst_anomaly_before_mean_k``,
        ``lst_anomaly_after_mean_k``, ``changed_area_m2``; one row per zone, in the layer's
        order.
    """
    id_column = baseline.id_columns[layer]
    frame = baseline.zones[layer]
    values = xr.Dataset(
        {
            "delta": baseline.template.copy(data=delta.astype(np.float64)),
            "changed": baseline.template.copy(data=changed.astype(np.float64)),
        }
    )
    table = zonal_stats(values, frame, id=id_column, stats=["mean", "sum"], coverage=coverage)
    before = frame.set_index(id_column)[OUTCOME] if OUTCOME in frame else np.nan
    out = pd.DataFrame({id_column: table[id_column]})
    out["delta_lst_mean_k"] = table["delta_mean"].to_numpy()
    out["lst_anomaly_before_mean_k"] = (
        out[id_column].map(before).to_numpy(dtype=np.float64)
        if isinstance(before, pd.Series)
        else np.nan
    )
    out["lst_anomaly_after_mean_k"] = out["lst_anomaly_before_mean_k"] + out["delta_lst_mean_k"]
    out["changed_area_m2"] = table["changed_sum"].to_numpy() * baseline.pixel_area_m2
    return out


def _income_setup(config: RunConfig, table: pd.DataFrame) -> dict[str, Any] | None:
    """Return the run's inequality columns (:func:`zone_roles`), or None without an income.

    No income column, or no IRIS with an income value: the run itself skipped its
    inequality then, and so do the scenarios.
    """
    census = config.census
    income = census.income_in(table.columns) if census is not None else None  # as the run's
    if income is None:
        return None
    if not pd.to_numeric(table[income], errors="coerce").notna().any():
        return None
    ineq = config.inequality
    return zone_roles(
        table, income=income, population_weighted=ineq.population_weighted, stratum=ineq.stratum
    )


def inequality_of(
    baseline: Baseline,
    config: RunConfig,
    iris_values: pd.DataFrame | None = None,
    notes: list[str] | None = None,
    shared: SharedDraws | None = None,
) -> InequalityReport | None:
    """Run the run's inequality metrics of the IRIS LST anomaly, before or after a scenario.

    Parameters
    ----------
    baseline
        The run (its ``iris`` layer with income, population and QPV membership).
    config
        The config (inequality settings, income column).
    iris_values
        :func:`zone_effects` of the ``iris`` layer: its ``lst_anomaly_after_mean_k`` replaces
        the run's ``lst_anomaly_mean_k``; ``None`` keeps the run's (the baseline).
    notes
        Given, a table the statistics cannot be computed from (too few IRIS with a ΔT, none
        with a neighbour: :class:`~tiles.errors.InequalityError`) is said there, and ``None``
        returned, as the run skips its inequality then; else the error propagates.
    shared
        Given, the draws and the spatial weights of the calls before and after the
        scenarios (the same IRIS and settings) are made once
        (:class:`~pipelines.inequality.shared.SharedDraws`): the same values as without.

    Returns
    -------
    InequalityReport or None
        ``None`` when the run has no income column (no inequality to compute), or (with
        ``notes``) when the statistics cannot be computed.
    """
    table = baseline.zones["iris"].copy()
    setup = _income_setup(config, table)
    if setup is None or OUTCOME not in table:
        return None
    if iris_values is not None:
        after = iris_values.set_index("code_iris")["lst_anomaly_after_mean_k"]
        table[OUTCOME] = table["code_iris"].map(after).to_numpy(dtype=np.float64)
    try:
        return run_inequality(
            table,
            outcome=OUTCOME,
            interval_scale=config.inequality.interval_scale.get(OUTCOME),  # as the run
            check_income=False,  # the run said an implausible income once, among its warnings
            shared=shared,
            **config.inequality.run_options(),
            **setup,
        )
    except InequalityError as err:
        if notes is None:
            raise
        notes.append(f"the scenarios' inequality statistics of {OUTCOME} are skipped: {err}")
        return None


def group_deltas(
    baseline: Baseline, config: RunConfig, iris_after: pd.DataFrame
) -> tuple[float, float]:
    """Mean per-IRIS ΔT in QPV and outside, weighted and restricted as the run's QPV gap.

    Returns ``(nan, nan)`` without QPV membership or income.
    """
    table = baseline.zones["iris"]
    setup = _income_setup(config, table)
    if setup is None or setup["group"] is None:
        return float("nan"), float("nan")
    delta = table["code_iris"].map(iris_after.set_index("code_iris")["delta_lst_mean_k"])
    delta = delta.to_numpy(dtype=np.float64)
    income = pd.to_numeric(table[setup["income"]], errors="coerce").to_numpy(dtype=np.float64)
    outcome = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=np.float64)
    present = np.isfinite(outcome) & np.isfinite(income) & np.isfinite(delta)
    weights = np.ones_like(delta)
    if setup["population"] is not None:
        weights = pd.to_numeric(table[setup["population"]], errors="coerce").to_numpy(
            dtype=np.float64
        )
        present &= np.isfinite(weights)
    # The rows the run's group difference keeps (its complete rows): a missing membership
    # or stratum leaves the IRIS out, as it leaves it out of qpv_gap_*.
    present &= table[setup["group"]].notna().to_numpy()
    if setup.get("stratum") is not None:
        present &= table[setup["stratum"]].notna().to_numpy()
    group = table[setup["group"]].fillna(False).to_numpy(dtype=bool)
    means = []
    for members in (present & group, present & ~group):
        total = weights[members].sum()
        means.append(float((weights[members] * delta[members]).sum() / total) if total else np.nan)
    return means[0], means[1]


def metric_value(report: Mapping[str, Any] | None, key: str) -> float:
    """Return the point value of metric ``key`` of an inequality JSON record (NaN if absent)."""
    record = (report or {}).get(key) or {}
    value = record.get("value")
    return float(value) if value is not None else float("nan")
