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
# # 02 · Per-IRIS statistics and inequality: are the QPV hotter?
#
# This notebook answers, on the demo city, the question a city data team is usually asked
# first: *are our QPV (quartiers prioritaires de la politique de la ville) hotter and less
# green than the rest of the agglomeration, by how much, and how sure are we?*
#
# It takes the temperature and vegetation rasters of a finished `ilots run`, aggregates them
# exactly per **IRIS** (INSEE's sub-municipal statistical units, about 2,000 residents each)
# and per **QPV**, joins the IRIS to **Filosofi** (INSEE's median disposable income per IRIS)
# and to the census population, and measures how heat is spread across incomes.
#
# **Everything here is synthetic**: the city, its 64 IRIS, its 3 QPV, the incomes and the
# population come from `ilots demo` and describe no real place. The generator planted a known
# QPV-versus-rest gap, so we can also check that the chain recovers it.
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
import rioxarray
import xarray as xr

from pipelines.census import (
    iris_qpv_overlay,
    join_tables,
    read_filosofi,
    read_iris,
    read_population,
    read_qpv,
)
from pipelines.config import load_config
from pipelines.demo import demo_folder
from pipelines.inequality import percentile_ranks, run_inequality
from raster.zonal import zonal_stats
from tiles.errors import IlotsWarning

pd.set_option("display.width", 120)
# The readers return their warnings as notes, printed below: don't show them twice.
warnings.simplefilter("ignore", IlotsWarning)

DEMO = demo_folder()  # $ILOTS_DEMO_DIR, or a fresh demo in a temporary folder
if not os.environ.get("ILOTS_DEMO_DIR"):  # that temporary demo is this notebook's own:
    atexit.register(shutil.rmtree, DEMO, ignore_errors=True)  # removed when the kernel ends
config = load_config(DEMO / "config.yaml")
RUN = Path(config.outputs.folder)
print("demo folder:", DEMO)
print("run folder: ", RUN)
print("rasters:", ", ".join(sorted(p.name for p in (RUN / "rasters").glob("*.tif"))))

# %% [markdown]
# ## The zones: IRIS and QPV
#
# `read_iris` and `read_qpv` read the files as IGN and ANCT publish them (any format or
# millésime) and normalise the columns: `code_iris` (9 characters), `insee_com`, `code_qp`,
# and so on. They also repair invalid geometries and say so: the demo's QPV file holds a
# self-intersecting "bow-tie" polygon on purpose, as real files sometimes do.

# %%
iris, iris_notes = read_iris(config.zones.iris.path)
qpv, qpv_notes = read_qpv(config.zones.qpv.path)
for note in iris_notes + qpv_notes:
    print("note:", note)
print(f"{len(iris)} IRIS in {iris.crs}; {len(qpv)} QPV in {qpv.crs}")
print(qpv[["code_qp", "nom_qp", "insee_com"]].to_string(index=False))

# %% [markdown]
# ## Exact zonal statistics
#
# The run's rasters are 30 m composites of the summer scenes (June–August 2023):
# `lst_anomaly` is the median over the scenes of each pixel's LST minus that scene's rural
# reference (the countryside ring around the city), so that a hot day and a cool day can be
# combined. `zonal_stats` weights every pixel by the exact fraction of it that the zone
# covers (exactextract's coverage fractions): a 550 m IRIS on a 30 m grid has many pixels cut
# by its border, and counting them wholly or not at all would bias small zones. The zones are
# reprojected to the raster's CRS, never the raster to the zones'.

# %%
rasters = xr.Dataset(
    {
        name: rioxarray.open_rasterio(RUN / "rasters" / f"{name}.tif", masked=True).squeeze(
            "band", drop=True
        )
        for name in ("lst_anomaly", "lst_median", "ndvi_median")
    }
)
iris_stats = zonal_stats(
    rasters, iris, id="code_iris", stats=["mean", "p90", "count", "valid_frac", "area_m2"]
)
qpv_stats = zonal_stats(rasters, qpv, id="code_qp", stats=["mean", "count"])
shown = ["code_iris", "lst_anomaly_mean", "lst_anomaly_p90", "lst_anomaly_valid_frac"]
shown += ["lst_anomaly_area_m2", "ndvi_median_mean"]
print(iris_stats[shown].head(8).round(3).to_string(index=False))

# %% [markdown]
# The same numbers are in the run's `zones.gpkg` (the layers to open in QGIS) and its
# GeoParquet twin `zones/iris.parquet`, read here, computed there tile by tile from mergeable
# partial sums: the two agree to floating-point precision.

# %%
run_iris = pd.read_parquet(RUN / "zones" / "iris.parquet").set_index("code_iris")
ours = iris_stats.set_index("code_iris")["lst_anomaly_mean"]
print(
    "largest difference to the run's lst_anomaly_mean_k:",
    f"{float(np.nanmax(np.abs(ours - run_iris.loc[ours.index, 'lst_anomaly_mean_k']))):.2e} K",
)

# %% [markdown]
# ## Joining income and population
#
# `read_filosofi` reads the INSEE Filosofi table as published (`;` separator, decimal comma,
# year-suffixed columns such as `DISP_MED21`) and keeps the secrecy markers (`s`, `nd`, ...)
# as missing values, never zero. `join_tables` joins on `code_iris` and reports what did not
# match. `iris_qpv_overlay` gives each IRIS the share of its area inside a QPV: an IRIS is
# counted "in QPV" from a share of 50 % (`zones.qpv.iris_share_threshold` in the config).

# %%
filosofi, filosofi_meta, filosofi_notes = read_filosofi(config.census.filosofi)
population, _pop_meta, _pop_notes = read_population(config.census.population)
for note in filosofi_notes:
    print("note:", note)

table = iris.merge(iris_stats, on="code_iris").rename(
    columns={
        "lst_anomaly_mean": "lst_anomaly_mean_k",
        "lst_median_mean": "lst_mean_k",
        "ndvi_median_mean": "ndvi_mean",
    }
)
table, report = join_tables(table, filosofi, on="code_iris")
print(
    f"Filosofi join: {report.matched} of {report.n_left} IRIS matched; "
    f"unmatched IRIS codes: {list(report.examples_left) or 'none'}"
)
table, _ = join_tables(table, population, on="code_iris")
overlay = iris_qpv_overlay(iris, qpv, threshold=config.zones.qpv.iris_share_threshold)
table, _ = join_tables(table, overlay.drop(columns=["iris_area_m2"]), on="code_iris")
print(f"{int(table['in_qpv'].sum())} of {len(table)} IRIS are in a QPV")

# %% [markdown]
# ## Maps
#
# Left, the mean LST anomaly per IRIS (kelvin above the rural reference) with the QPV
# outlines; right, the mean NDVI. The QPV sit in the hot, mineral part of the city.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
panels = [
    ("lst_anomaly_mean_k", "inferno", "LST anomaly (K)"),
    ("ndvi_mean", "YlGn", "NDVI"),
]
qpv_on_grid = qpv.to_crs(table.crs)
for ax, (column, cmap, label) in zip(axes, panels, strict=True):
    table.plot(column=column, cmap=cmap, legend=True, ax=ax, legend_kwds={"label": label})
    qpv_on_grid.boundary.plot(ax=ax, color="tab:cyan", linewidth=2)
    ax.set_title(f"{label} per IRIS, QPV outlined (synthetic)")
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## Who lives where it is hottest?
#
# `run_inequality` runs every statistic of the project's reference sheet on the IRIS table,
# each with its uncertainty and the number of IRIS it rests on:
#
# * the **QPV gap**: population-weighted mean anomaly inside QPV minus outside, with a
#   permutation test (labels shuffled within each commune; the demo has one commune, so here
#   over all IRIS) and the interval that test gives (the gaps it does not reject: with a
#   handful of QPV IRIS a bootstrap interval would exclude 0 too often);
# * the **generalised concentration index** GC = 2·cov(h, r) of the anomaly over income
#   ranks, in kelvin: negative when the poorer IRIS are the hotter ones (for temperatures the
#   standard relative index depends on the zero of the scale, so GC is the one to read);
# * **exposure by income decile** (each decile holds about 10 % of residents);
# * **Moran's I**: neighbouring IRIS resemble each other, so intervals that assume
#   independent zones are optimistic — each metric's `notes` say so, printed below.
#
# The same settings as the run's config are used, so the numbers match `inequality.json`.

# %%
ineq = config.inequality
settings = {
    "contiguity": ineq.contiguity,
    "bootstrap": ineq.bootstrap,
    "permutations": ineq.permutations,
    "moran_permutations": ineq.moran_permutations,
    "confidence": ineq.confidence,
    "seed": ineq.seed,
}
heat = run_inequality(
    table,
    outcome="lst_anomaly_mean_k",
    income=config.census.income_in(table.columns),
    population="population",
    group="in_qpv",
    stratum="insee_com",
    geometry="geometry",
    **settings,
)
frame = heat.to_frame()
main_rows = ["group_difference", "generalized_concentration_index", "exposure_gap_d1_d10"]
main_rows += ["correlation_spearman", "morans_i"]
print(
    frame.set_index("metric")
    .loc[main_rows, ["value", "ci_low", "ci_high", "p_value", "n"]]
    .round(3)
    .to_string()
)
for note in heat.notes:
    print("note:", note)
# Each metric's caveats (its `notes`, joined with " | " in the flat table).
metrics = [heat.group_difference, heat.generalized_concentration_index, heat.morans_i]
caveats = {note for metric in metrics if metric is not None for note in metric.notes}
for caveat in sorted(caveats):
    print("caveat:", caveat)

# %%
gap = heat.group_difference
planted = json.loads((DEMO / "planted_effects.json").read_text())
established = not (gap.ci_low <= 0 <= gap.ci_high)
print(
    f"In these data the QPV IRIS are on average {abs(gap.value):.2f} K "
    f"{'hotter' if gap.value > 0 else 'cooler'} than the rest of the area "
    f"({ineq.confidence * 100:.0f}% CI {gap.ci_low:+.2f} to {gap.ci_high:+.2f} K, "
    f"p = {gap.p_value:.3f}; {gap.n_in} QPV IRIS against {gap.n_out})"
    + ("." if established else ", but the gap is not established: its interval includes 0.")
)
print(f"(the generator planted a gap of {planted['qpv_gap_k']:+.2f} K in this synthetic city)")
alpha = 1 - ineq.confidence
print(
    f"With only {gap.n_in} QPV IRIS the interval is wide; the permutation test "
    + (
        f"rejects 'no difference' (p = {gap.p_value:.3f} < {alpha:g}): here the gap is large "
        "against the spread of the other IRIS."
        if gap.p_value < alpha
        else f"does not reject 'no difference' (p = {gap.p_value:.3f}), even if the point "
        "estimate is close to the truth: the honest answer for a small city."
    )
)

# %% [markdown]
# With only a handful of IRIS in QPV the interval is wide, and whether the test rejects "no
# difference" depends on how large the gap is against the spread of the other IRIS: the last
# sentence above says which it is in these data. Either answer is honest only with its
# interval and its n, the reason the report always shows them.
#
# The income gradient rests on every IRIS, not a handful. Below, left: mean anomaly against
# median income, each IRIS a dot, QPV in colour. Right: the population-weighted anomaly of
# each income decile, with the whole city's mean as a line.

# %%
income = config.census.income_in(table.columns)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
ok = table[[income, "lst_anomaly_mean_k"]].notna().all(axis=1)
for flag, colour, label in ((False, "tab:gray", "outside QPV"), (True, "tab:red", "in QPV")):
    sel = ok & (table["in_qpv"] == flag)
    axes[0].scatter(
        table.loc[sel, income], table.loc[sel, "lst_anomaly_mean_k"], c=colour, label=label, s=25
    )
fit = np.polyfit(table.loc[ok, income], table.loc[ok, "lst_anomaly_mean_k"], 1)
xs = np.linspace(table.loc[ok, income].min(), table.loc[ok, income].max(), 10)
axes[0].plot(
    xs, np.polyval(fit, xs), color="black", lw=1, label=f"fit: {fit[0] * 1000:+.2f} K per 1,000 €"
)
axes[0].set(
    xlabel="median disposable income (€, Filosofi)",
    ylabel="LST anomaly (K)",
    title="Poorer IRIS are hotter (synthetic)",
)
axes[0].legend()
deciles = heat.deciles
axes[1].bar(
    [r.decile for r in deciles.rows], [r.exposure for r in deciles.rows], color="tab:orange"
)
axes[1].axhline(deciles.overall, color="black", lw=1, label="whole city")
axes[1].set(
    xlabel="income decile of residents (1 = poorest)",
    ylabel="LST anomaly (K)",
    title="Exposure by income decile (synthetic)",
    xticks=range(1, 11),
)
axes[1].legend()
plt.show()

# %% [markdown]
# ## "Hotter than X % of the other IRIS"
#
# Percentile ranks turn a temperature into a sentence a resident understands: the hottest
# IRIS is hotter than 100 % of the *other* IRIS (science.md §7.5). The ten hottest IRIS, with
# their income, population and QPV status:

# %%
ranks = percentile_ranks(table["lst_anomaly_mean_k"])
table["hotter_than_pct"] = ranks["hotter_than_pct"]
columns = ["code_iris", "lst_anomaly_mean_k", "hotter_than_pct", income, "population", "in_qpv"]
print(
    table.sort_values("lst_anomaly_mean_k", ascending=False)[columns]
    .head(10)
    .round(2)
    .to_string(index=False)
)

# %% [markdown]
# ## And vegetation?
#
# The same question for NDVI, per QPV directly (one row per QPV, from the QPV layer) and as
# an inequality over income. The `_count` columns are not whole numbers: `count` is the
# number of valid pixels weighted by the fraction of each that the QPV covers (a 30 m pixel
# cut in half by the QPV's border counts 0.5), so × 900 m² it is the QPV's area with a value.
# NDVI counts more pixels than LST because fewer are masked for it (water is kept).

# %%
print(qpv_stats.rename(columns=lambda c: c.replace("_median", "")).round(3).to_string(index=False))
green = run_inequality(
    table,
    outcome="ndvi_mean",
    income=income,
    population="population",
    group="in_qpv",
    stratum="insee_com",
    geometry="geometry",
    bounds=(-1.0, 1.0),  # NDVI is bounded: the Erreygers index is comparable across cities
    **settings,
)
nd_gap, nd_e = green.group_difference, green.erreygers_index
print(
    f"NDVI: QPV minus rest {nd_gap.value:+.3f} ({ineq.confidence * 100:.0f}% CI "
    f"{nd_gap.ci_low:+.3f} to {nd_gap.ci_high:+.3f}, p = {nd_gap.p_value:.3f}); Erreygers "
    f"concentration index {nd_e.value:+.3f} (CI {nd_e.ci_low:+.3f} to {nd_e.ci_high:+.3f}; "
    "positive: the greener IRIS are the richer ones)"
)
for caveat in sorted({note for metric in (nd_gap, nd_e) for note in metric.notes}):
    print("caveat:", caveat)

# %% [markdown]
# ## Key results
#
# Stored as JSON when `ILOTS_NOTEBOOK_RESULTS` names a file (the project's tests compare them
# with the run's `inequality.json` and with a recomputation from `zones.gpkg`).

# %%
results = {
    "qpv_gap_k": float(gap.value),
    "qpv_gap_ci_k": [float(gap.ci_low), float(gap.ci_high)],
    "qpv_gap_p_value": float(gap.p_value),
    "n_in_qpv": int(gap.n_in),
    "n_used": int(heat.n_used),
    "generalized_concentration_index_k": float(heat.generalized_concentration_index.value),
    "iris_lst_anomaly_mean_k": {str(k): float(v) for k, v in ours.items() if np.isfinite(v)},
    "ndvi_qpv_gap": float(green.group_difference.value),
}
print(json.dumps({k: v for k, v in results.items() if k != "iris_lst_anomaly_mean_k"}, indent=2))
if os.environ.get("ILOTS_NOTEBOOK_RESULTS"):
    Path(os.environ["ILOTS_NOTEBOOK_RESULTS"]).write_text(json.dumps(results, indent=2))

# %% [markdown]
# ## On your city
#
# The command line does all of this in one go: `ilots run my-city.yaml` writes the per-IRIS
# table (`zones.gpkg`, `zones/*.parquet`), `inequality.json` and the report, from the IGN
# IRIS, the ANCT QPV, INSEE Filosofi and the census population (the README's "Run it on
# your own city" says where each comes from; `pipelines/configs/toulouse.yaml` is a
# commented example). For one raster and any polygons, `ilots zonal RASTER ZONES --id FIELD`;
# for the statistics of a table you already have, `ilots inequality`; `ilots report RUN_DIR`
# rebuilds the report.
