# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Planner scenarios: how much cooler would greening or cool roofs make us?
#
# Notebook 02 showed that the demo city's QPV are hotter than the rest. The next question a
# city's planners ask is what to do about it: *if we turn part of the QPV's mineral surfaces
# into parks, or put cool roofs on the built-up area, how much cooler does it get, where, for
# how many square metres, and does the gap between the QPV and the rest shrink?*
#
# `ilots scenarios` answers with a model fitted on the run itself:
#
# 1. **predictors** per 30 m pixel: NDVI, broadband albedo, the share of built, vegetated and
#    water pixels around it, the distance to water and to parks;
# 2. a **model** of the surface-temperature anomaly (ΔT, kelvin above the rural reference)
#    on those predictors, whose skill is measured by **spatially blocked cross-validation**
#    and which is refused when that skill is too low;
# 3. **scenarios** that change the predictors somewhere (NDVI, albedo, land cover), and
#    their **effect** = predicted(scenario) − predicted(baseline).
#
# **Everything here is synthetic**: the city comes from `ilots demo` and describes no real
# place. Its roofs were planted cooler when brighter (−1.5 K per +0.1 of albedo), so the
# cool-roof scenario has something to find.
#
# Set `ILOTS_DEMO_DIR` to a folder written by `ilots demo --out DIR` to reuse it; otherwise the
# notebook writes a fresh demo into a temporary folder (about a minute) and removes it when
# its kernel, or the script, ends.

# %%
import atexit
import json
import os
import shutil
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from pipelines.config import ChangeSpec, apply_overrides, config_from_dict, load_config
from pipelines.demo import demo_folder
from pipelines.scenarios import (
    apply_changes,
    compute_predictors,
    fit_model,
    predict_effect,
    read_baseline,
    run_scenarios,
    update_predictors,
    where_mask,
)
from tiles.errors import IlotsWarning

pd.set_option("display.width", 120)
warnings.simplefilter("ignore", IlotsWarning)  # the no-op scenario warns it changes nothing

DEMO = demo_folder()  # $ILOTS_DEMO_DIR, or a fresh demo in a temporary folder
if not os.environ.get("ILOTS_DEMO_DIR"):  # that temporary demo is this notebook's own:
    atexit.register(shutil.rmtree, DEMO, ignore_errors=True)  # removed when the kernel ends
# The scenario figures (comparison.png, the ΔT maps) and the report are written in the
# run's outputs.report_language, French by default: in English here, as this notebook.
config = apply_overrides(load_config(DEMO / "config.yaml"), {"outputs.report_language": "en"})
RUN = Path(config.outputs.folder)
print("demo folder:", DEMO)
print("run folder: ", RUN)

# %% [markdown]
# ## The scenarios, as the config writes them
#
# Scenarios live in the run's YAML config, under `scenarios:`. Each has a `name` (its folder
# in the outputs), a `description`, a `where` (a zone layer with ids or a filter, a land-cover
# class, a polygon file, or `everywhere: true`) and a list of `change`s applied in order:
# `ndvi` (add / set / cap), `reclassify` (a fraction of one land-cover class into another),
# `albedo` (add / set, optionally `on` one class). `scenario_model:` sets the model.

# %%
text = (DEMO / "config.yaml").read_text()
print(text[text.index("scenarios:") :])

# %% [markdown]
# ## The baseline and its predictors
#
# `read_baseline` loads the run folder: the 30 m rasters (`lst_anomaly`, `ndvi_median`,
# `albedo_median`, `landcover`), the IRIS and QPV layers with their columns, and the run's
# inequality metrics. `compute_predictors` derives, for every pixel, the shares of built,
# vegetated and water pixels in its 3 × 3 neighbourhood and the distances to water and to
# dense vegetation (parks, woods), in metres.

# %%
baseline = read_baseline(RUN, config)
settings = config.scenario_model
grid = {
    "resolution": baseline.resolution,
    "window_px": settings.window_px,
    "distance_cap_m": settings.distance_cap_m,
}
before = compute_predictors(baseline.surface, **grid)
extent = baseline.template.rio.bounds()
extent = (extent[0], extent[2], extent[1], extent[3])
fig, axes = plt.subplots(1, 4, figsize=(17, 4), constrained_layout=True)
panels = [
    (baseline.anomaly, "inferno", "observed LST anomaly (K)"),
    (before["ndvi"], "YlGn", "NDVI"),
    (before["albedo"], "Greys_r", "albedo"),
    (before["built_share"], "Reds", "built share (3 x 3)"),
]
for ax, (values, cmap, title) in zip(axes, panels, strict=True):
    image = ax.imshow(values, cmap=cmap, extent=extent)
    baseline.zones["qpv"].to_crs(baseline.crs).boundary.plot(ax=ax, color="tab:cyan", lw=1.5)
    x0, y0, x1, y1 = baseline.zones["iris"].to_crs(baseline.crs).total_bounds
    ax.set(xlim=(x0 - 300, x1 + 300), ylim=(y0 - 300, y1 + 300), title=f"{title} (synthetic)")
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, shrink=0.7)
plt.show()

# %% [markdown]
# ## The model and its honest skill
#
# The default estimator is scikit-learn's `HistGradientBoostingRegressor` with **monotonic
# constraints**: the predicted temperature may never rise with NDVI, albedo, vegetation or
# water share, nor fall with built share or distance to parks. It is fitted on a seeded
# sample of the city's pixels (`fit_area: zones`).
#
# Its skill is measured by **spatially blocked cross-validation**: the grid is cut into 1 km
# squares, whole squares are held out in turn (5 folds), and each is predicted by a model that
# never saw it. Random folds would let the model "predict" a pixel from its twin next door and
# overstate its skill. Below `r2_min` (0.5 here), `ilots scenarios` refuses to run scenarios
# unless forced: a model that explains less than half of the spatial variance of ΔT should not
# be trusted to say what a change would do.

# %%
inside = np.zeros(baseline.shape, dtype=bool)
for frame in baseline.zones.values():
    inside |= baseline.mask_of(frame.geometry)
model = fit_model(
    np.where(inside, baseline.target, np.nan), before, settings, resolution=baseline.resolution
)
cv = model.cv
print(f"estimator: {model.kind}, target: {model.target}, predictors: {', '.join(model.predictors)}")
print(f"dropped (constant over the city): {model.dropped or 'none'}")
print(
    f"blocked cross-validation: R² {cv.r2:.3f}, RMSE {cv.rmse_k:.2f} K over {cv.n_pixels} "
    f"pixels in {cv.n_blocks} blocks of {cv.block_m:.0f} m; per fold R² "
    + ", ".join(f"{r:.2f}" for r in cv.fold_r2)
)
print("passes the threshold" if model.passed else "below the threshold: scenarios refused")

# %% [markdown]
# What did the model learn? Sweeping one predictor at a time over its fitted range, the others
# held at a typical built pixel's values, shows the responses (flat beyond the fitted range: a
# tree model does not extrapolate, so scenarios that leave the range get a conservative
# effect, and each scenario reports how many of its pixels did).

# %%
built = inside & (baseline.surface.landcover == 4) & np.isfinite(before["albedo"])
typical = {name: float(np.nanmedian(before[name][built])) for name in model.predictors}


def response(name, xs):
    """Predicted ΔT of a typical built pixel as predictor `name` takes the values `xs`."""
    sweep = {k: np.full((1, xs.size), v) for k, v in typical.items()}
    sweep[name] = xs[None, :]
    return model.predict(sweep, np.ones((1, xs.size), dtype=bool))


fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
for ax, name in zip(axes, ("ndvi", "albedo"), strict=True):
    lo, hi = model.ranges[name]
    xs = np.linspace(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), 60)
    ax.plot(xs, response(name, xs), color="tab:red")
    ax.axvspan(lo, hi, color="0.9", label="fitted range")
    ax.set(xlabel=name, ylabel="predicted ΔT (K)", title=f"response to {name} (built pixel)")
    ax.legend()
plt.show()
albedos = np.linspace(*np.nanpercentile(before["albedo"][built], [5, 95]), 20)
slope = np.polyfit(albedos, response("albedo", albedos), 1)[0]
print(f"fitted response to albedo on built pixels: {slope / 10:+.2f} K per +0.1 (planted: -1.50)")

# %% [markdown]
# ## One scenario, step by step
#
# Street trees and green courtyards in the QPV: **NDVI +0.2 on their built pixels, capped at
# 0.7**, without changing their land-cover class. The steps `ilots scenarios` takes:
#
# 1. `where_mask`: the pixels whose centre lies in a QPV (an error names the `where` if it
#    matches nothing);
# 2. `apply_changes`: the changed surface (new arrays; the baseline is untouched);
# 3. `update_predictors`: the predictors of the changed surface (shares and distances are
#    recomputed only when the land cover changes);
# 4. `predict_effect`: ΔT = predicted(scenario) − predicted(baseline). The part of the
#    model's error that the change does not touch is in both predictions and cancels (its
#    error on how temperature responds to the change does not); a change that changes nothing
#    gives exactly 0.

# %%
street_trees = config_from_dict(
    {
        **config.model_dump(mode="json"),
        "scenarios": [
            {
                "name": "street_trees_qpv",
                "description": "NDVI +0.2 (capped at 0.7) on the built pixels of the QPV",
                "where": {"layer": "qpv"},
                "change": [{"ndvi": {"add": 0.2, "cap": 0.7, "on": "built"}}],
            }
        ],
    },
    source="notebook",
).scenarios[0]
area = where_mask(street_trees.where, baseline, label="street_trees_qpv")
applied = apply_changes(
    baseline.surface,
    area,
    street_trees.change,
    seed=settings.seed,
    name=street_trees.name,
    label="street_trees_qpv",
)
after = update_predictors(before, baseline.surface, applied.surface, **grid)
effect = predict_effect(model, before, after, baseline.anomaly, applied.changed)
print("; ".join(applied.steps))
print(
    f"{int(area.sum())} pixels in the QPV, {int(applied.changed.sum())} changed "
    f"({applied.changed.sum() * baseline.pixel_area_m2 / 1e4:.1f} ha); mean ΔT over the QPV "
    f"{np.nanmean(effect.delta[area]):+.2f} K, over the changed pixels "
    f"{np.nanmean(effect.delta[applied.changed]):+.2f} K"
)
outside = ", ".join(f"{k} {v:.0%}" for k, v in effect.outside_range.items()) or "none"
print(
    f"of the {effect.outside_of} changed pixels with a prediction, outside the fitted "
    f"range: {outside}"
)

# The same scenario with a zero change gives exactly zero, everywhere.
zero = [ChangeSpec.model_validate({"ndvi": {"add": 0.0, "on": "built"}})]
noop = apply_changes(baseline.surface, area, zero, seed=0, name="noop", label="noop")
noop_after = update_predictors(before, baseline.surface, noop.surface, **grid)
noop_effect = predict_effect(model, before, noop_after, baseline.anomaly)
print(f"no-op scenario: largest |ΔT| = {np.nanmax(np.abs(noop_effect.delta)):g} K")

# %% [markdown]
# ## All the config's scenarios, compared
#
# `run_scenarios(config)` (the `ilots scenarios config.yaml` command) reuses the finished run
# when the run part of the config has not changed, fits the model, runs every scenario and
# writes `scenarios/` in the run folder: `model.json`, `comparison.csv`, `comparison.png`, and
# per scenario a ΔT COG and map, per-IRIS and per-QPV ΔT, and the inequality metrics
# recomputed on the after-scenario anomaly.
#
# The comparison's columns: `area_changed_m2` and `area_changed_predicted_m2` (the changed
# pixels with an observed anomaly, which get a ΔT); `mean_delta_k` (mean ΔT over the
# scenario's area); `urban_mean_delta_k` (over the whole city) and `delta_k_per_ha` (that,
# per hectare changed with a prediction: the city-wide return of each hectare of effort);
# `qpv_delta_mean_k` and `rest_delta_mean_k` (population-weighted IRIS means, as the gap is
# computed); the QPV gap and the concentration index before and after.

# %%
result = run_scenarios(config)
print("\n".join(result.summary()))
comparison = result.comparison
columns = ["scenario", "area_changed_m2", "mean_delta_k", "urban_mean_delta_k", "delta_k_per_ha"]
columns += ["qpv_delta_mean_k", "rest_delta_mean_k", "qpv_gap_before_k", "qpv_gap_after_k"]
print(comparison[columns].round(4).to_string(index=False))

# %%
image = plt.imread(RUN / "scenarios" / "comparison.png")
fig, ax = plt.subplots(figsize=(13, 5))
ax.imshow(image)
ax.set_axis_off()
plt.show()

# %% [markdown]
# Reading it: a scenario that cools the QPV more than the rest narrows the gap; the one with
# the most negative `delta_k_per_ha` gives the most city-wide cooling per hectare changed.
# All of this is a **model's** answer on **synthetic** data: it inherits the model's skill
# (see `model.json`), says nothing about air temperature (LST is the surface's), and an
# effect is conservative where the scenario pushes a predictor outside the fitted range.
#
# The warning printed above is such a case: `cool_roofs` raises the roofs' albedo beyond the
# brightest albedo the model saw, where the model holds its response flat. Its ΔT is
# therefore a **lower bound** on the cooling (the `extrapolated_share` column says how much of
# each scenario rests on such pixels): compare it with the other scenarios with that in
# mind. Each row is the fit whose effect is the median of `scenario_model.replicates`
# refits; the `_min`/`_max` columns give the range over them (the model's random part, not a
# confidence interval).

# %%
shown = ["scenario", "extrapolated_share", "changed_mean_delta_k", "changed_mean_delta_k_min"]
shown += ["changed_mean_delta_k_max"]
print(comparison[shown].round(3).to_string(index=False))

# %%
narrowest = comparison.loc[
    (comparison["qpv_gap_after_k"] - comparison["qpv_gap_before_k"]).idxmin()
]
efficient = comparison.loc[comparison["delta_k_per_ha"].idxmin()]
print(
    f"narrows the QPV gap the most: {narrowest['scenario']} "
    f"({narrowest['qpv_gap_before_k']:+.2f} → {narrowest['qpv_gap_after_k']:+.2f} K)"
)
print(
    f"most city-wide cooling per hectare changed: {efficient['scenario']} "
    f"({efficient['delta_k_per_ha']:+.4f} K per hectare changed)"
)

# %% [markdown]
# Per-IRIS results are in `scenarios/<name>/iris.csv`, ready to join to the IRIS layer in
# QGIS:

# %%
green = pd.read_csv(RUN / "scenarios" / "green_qpv" / "iris.csv", dtype={"code_iris": str})
print(green.sort_values("delta_lst_mean_k").head(8).round(3).to_string(index=False))

# %% [markdown]
# ## Key results
#
# Stored as JSON when `ILOTS_NOTEBOOK_RESULTS` names a file (the project's tests compare them
# with `model.json`, `comparison.csv` and a recomputation from the per-IRIS tables).

# %%
results = {
    "r2": float(cv.r2),
    "rmse_k": float(cv.rmse_k),
    "threshold": float(settings.r2_min),
    "albedo_response_k_per_0_1": float(slope / 10),
    "street_trees_qpv_mean_delta_k": float(np.nanmean(effect.delta[area])),
    "street_trees_changed_pixels": int(applied.changed.sum()),
    "noop_max_abs_delta_k": float(np.nanmax(np.abs(noop_effect.delta))),
    "scenarios": json.loads(comparison.to_json(orient="records")),
}
print(yaml.safe_dump({k: v for k, v in results.items() if k != "scenarios"}, sort_keys=False))
if os.environ.get("ILOTS_NOTEBOOK_RESULTS"):
    Path(os.environ["ILOTS_NOTEBOOK_RESULTS"]).write_text(json.dumps(results, indent=2))

# %% [markdown]
# ## On your city
#
# Add `scenarios:` to your run's config (the demo's `config.yaml` has two to copy: greening
# the QPV, cool roofs) and run `ilots scenarios my-city.yaml`: it reuses the finished run,
# fits the model, and writes `scenarios/` and the report's scenario section. Check the
# model's cross-validated R² in `model.json` first, and read every effect as the model's.
