"""The predicted effect of a scenario: ΔT = predicted(scenario) − predicted(baseline).

The effect is never taken against the observed temperature: the model's error at a pixel is
in both predictions and cancels, so a scenario that changes nothing gives ΔT = 0 exactly
(identical inputs, identical predictions; pixels whose predictors did not change are not even
predicted). The after-scenario anomaly of a pixel is its observed anomaly plus ΔT.

ΔT is 0 at pixels with an observed anomaly whose predictors did not change (or cannot be
predicted), and NaN where the observed anomaly is unknown (water, clouds, outside the data),
so that zone means of ΔT and of the after-scenario anomaly rest on the same pixels as the
run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pipelines.scenarios.model import ScenarioModel

__all__ = ["Effect", "predict_effect"]


@dataclass(frozen=True, eq=False)
class Effect:
    """The per-pixel effect of a scenario.

    Attributes
    ----------
    delta
        ΔT in K (float64), 0 where nothing changed, NaN where the observed anomaly is unknown.
    predicted
        Pixels predicted (some predictor changed, all known, observed anomaly known).
    outside_range
        Predictor → share of the edited pixels (those whose own NDVI, albedo or class the
        scenario changed) with a prediction whose after-scenario value lies outside the
        range the model was fitted on (only predictors with a non-zero share). Their
        neighbours, changed only through the neighbourhood shares and distances, are left
        out: they would dilute the share of the pixels the scenario is about.
    outside_of
        How many pixels those shares are of (the edited pixels with a prediction).
    """

    delta: np.ndarray
    predicted: np.ndarray
    outside_range: Mapping[str, float]
    outside_of: int


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


def predict_effect(
    model: ScenarioModel,
    before: Mapping[str, np.ndarray],
    after: Mapping[str, np.ndarray],
    observed: np.ndarray,
    edited: np.ndarray | None = None,
) -> Effect:
    """Predict ΔT of a scenario from the baseline and scenario predictors.

    Parameters
    ----------
    model
        The fitted scenario model.
    before, after
        Predictor rasters of the baseline and of the scenario (same names).
    observed
        The observed LST anomaly (its NaN pixels get a NaN ΔT).
    edited
        The pixels whose own surface the scenario changed
        (:attr:`~pipelines.scenarios.apply.Applied.changed`), those the shares outside the
        fitted range are of; None: every predicted pixel.

    Returns
    -------
    Effect
    """
    changed = np.zeros(observed.shape, dtype=bool)
    known = np.isfinite(observed)
    for name in model.predictors:
        changed |= _differs(before[name], after[name])
        known &= np.isfinite(before[name]) & np.isfinite(after[name])
    predicted = changed & known
    delta = np.where(np.isfinite(observed), 0.0, np.nan)
    if predicted.any():
        delta[predicted] = model.predict(after, predicted) - model.predict(before, predicted)
    of = predicted if edited is None else predicted & edited
    n = int(of.sum())
    outside = {}
    for name in model.predictors:
        lo, hi = model.ranges[name]
        values = after[name][of]
        share = float(np.mean((values < lo) | (values > hi))) if n else 0.0
        if share > 0:
            outside[name] = share
    return Effect(delta=delta, predicted=predicted, outside_range=outside, outside_of=n)
