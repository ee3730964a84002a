"""Scenarios on the demo city, end to end: ``ilots demo`` runs them, ``ilots scenarios`` too.

The demo is the session's (one ``ilots demo`` for all the tests, read only). Its two scenarios
(greening the QPV, cool roofs on the built class) are checked against what the synthetic city
planted and against independent recomputations (exactextract zone means of the ΔT raster,
pandas group means); the other scenarios run on copies of its run folder, which
``ilots scenarios`` reuses.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import exactextract
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from click.testing import CliRunner
from rasterio.features import geometry_mask

from pipelines.cli import main
from pipelines.config import ConfigError, config_from_dict, load_config
from pipelines.demo_city import ALBEDO_LST_SLOPE_K, CLASSES, make_city
from pipelines.outputs import RunFolder
from pipelines.outputs.lock import LOCK_NAME, folder_lock
from pipelines.outputs.manifest import output_path
from pipelines.outputs.stale import previous_outputs
from pipelines.outputs.transaction import STAGE_NAME, interrupted_write
from pipelines.report.text import Messages
from pipelines.scenarios import (
    COMPARISON_COLUMNS,
    ScenarioError,
    run_matches,
    run_mismatch,
    run_scenarios,
)
from pipelines.scenarios.baseline import read_baseline
from tests.pipelines.outputs.helpers import after_each_change

BUILT = 4
FAST = {"sample": 3000}  # a smaller fitting sample for the extra runs of this module


@pytest.fixture(scope="module")
def demo(demo_cli):
    """The session's ``ilots demo`` folder (read only) and the report it ended with."""
    return demo_cli.root, demo_cli.report


@pytest.fixture
def run_copy(demo, tmp_path):
    """A copy of the demo's run folder and a config dict pointing at it."""
    root, _ = demo
    folder = tmp_path / "run"
    shutil.copytree(root / "outputs" / "rasters", folder / "rasters")
    shutil.copytree(root / "outputs" / "zones", folder / "zones")
    for name in ("manifest.json", "inequality.json", "inequality.csv", "heat_island.json",
                 "config.yaml", "zones.gpkg"):  # fmt: skip
        shutil.copy(root / "outputs" / name, folder / name)
    data = load_config(root / "config.yaml").model_dump(mode="json")
    data["outputs"]["folder"] = str(folder)
    return folder, data


def _without_bare_soil(folder):
    """Make the copied run's land cover lack a class: its bare soil (the demo's tilled fields,
    code 5) becomes low vegetation (3), in place."""
    path = folder / "rasters" / "landcover.tif"
    with rasterio.open(path) as src:
        classes, profile, tags = src.read(1), src.profile, src.tags()
    with rasterio.open(path, "w", **{**profile, "driver": "GTiff"}) as dst:
        dst.write(np.where(classes == 5, 3, classes).astype(classes.dtype), 1)
        dst.update_tags(**tags)


@pytest.fixture
def keep_water_copy(demo, tmp_path):
    """A run of the demo's config with ``mask.indices_keep_water: true`` (water's NDVI where
    its masks keep it, as before that key), without scenarios, and a config dict of it."""
    from pipelines.config import apply_overrides
    from pipelines.run import run

    root, _ = demo
    overrides = {"outputs.folder": str(tmp_path / "run"), "mask.indices_keep_water": True,
                 "scenarios": [], "outputs.report": False}  # fmt: skip
    config = apply_overrides(load_config(root / "config.yaml"), overrides)
    run(config)
    return tmp_path / "run", config.model_dump(mode="json")


def _config(data, scenarios, **model):
    return config_from_dict(
        {**data, "scenarios": scenarios, "scenario_model": {**data["scenario_model"], **model}},
        source="test.yaml",
    )


def folder_of(data):
    return Path(data["outputs"]["folder"])


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.tags()


def test_demo_prints_its_scenarios_as_synthetic(demo):
    _, report = demo
    lines = report.splitlines()
    assert all(line.startswith("[synthetic] ") for line in lines)
    for name in ("green_qpv", "cool_roofs"):
        assert any(line.startswith(f"[synthetic] scenario {name}: ") for line in lines), name
    assert any("scenario model: gradient_boosting" in line for line in lines)


def test_scenario_files_and_comparison(demo):
    root, _ = demo
    folder = root / "outputs" / "scenarios"
    table = pd.read_csv(folder / "comparison.csv")
    assert list(table.columns) == [*COMPARISON_COLUMNS, "synthetic"]  # the demo's mark
    assert list(table["scenario"]) == ["green_qpv", "cool_roofs"]
    for name in table["scenario"]:
        for file in ("delta_lst.tif", "delta_lst.png", "iris.csv", "qpv.csv", "inequality.json"):
            assert (folder / name / file).is_file(), (name, file)
        assert (folder / name / "delta_lst.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert json.loads((folder / name / "inequality.json").read_text())["synthetic"] is True
        with rasterio.open(folder / name / "delta_lst.tif") as src:
            tags = src.tags()
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.crs.to_epsg() == 32631
        assert tags["units"] == "K" and tags["synthetic"] == "true"
        # summary.json holds the scenario's whole comparison row, the best-fit counts
        # (known once every scenario has run) and its steps included.
        summary = json.loads((folder / name / "summary.json").read_text())
        row = table.set_index("scenario").loc[name]
        assert summary["scenario"]["name"] == name
        assert summary["comparison"]["qpv_gap_best_fits"] == row["qpv_gap_best_fits"]
        assert summary["comparison"]["steps"] and summary["where_pixels"] > 0
        for column in ("changed_mean_delta_k", "qpv_gap_after_k", "qpv_gap_after_k_max"):
            assert summary["comparison"][column] == pytest.approx(row[column], rel=1e-9)
    assert (folder / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    # The concentration index before is the run's generalised one (its key findings'), in K.
    ineq = json.loads((root / "outputs" / "inequality.json").read_text())
    assert ineq["outcome"] == "lst_anomaly_mean_k"
    before = table["generalized_concentration_index_before"]
    assert before.tolist() == pytest.approx([ineq["generalized_concentration_index"]["value"]] * 2)
    manifest = json.loads((root / "outputs" / "manifest.json").read_text())
    assert manifest["scenarios"]["model"]["cv"]["r2"] == pytest.approx(
        json.loads((folder / "model.json").read_text())["cv"]["r2"]
    )
    assert [row["scenario"] for row in manifest["scenarios"]["comparison"]] == list(
        table["scenario"]
    )
    recorded = {record["path"] for record in manifest["outputs"]}
    assert "scenarios/comparison.csv" in recorded  # relative to the run folder
    # The report is rebuilt after the scenarios, so it shows them.
    assert "green_qpv" in (root / "outputs" / "report.html").read_text(encoding="utf-8")


def test_model_skill_clears_the_threshold(demo):
    root, _ = demo
    model = json.loads((root / "outputs" / "scenarios" / "model.json").read_text())
    assert model["estimator"] == "gradient_boosting" and model["target"] == "lst_anomaly"
    assert model["cv"]["r2"] >= model["threshold"] == 0.5
    assert model["passed"] is True and model["forced"] is False
    assert model["cv"]["block_m"] == 1000 and model["cv"]["folds"] == 5
    assert 0 < model["cv"]["rmse_k"] < 3
    assert {"ndvi", "albedo", "built_share"} <= set(model["predictors"])


def test_greening_the_qpv_cools_them_and_narrows_the_gap(demo):
    root, _ = demo
    folder = root / "outputs" / "scenarios" / "green_qpv"
    qpv = pd.read_csv(folder / "qpv.csv")
    assert (qpv["delta_lst_mean_k"] < -0.3).all(), qpv
    np.testing.assert_allclose(
        qpv["lst_anomaly_after_mean_k"],
        qpv["lst_anomaly_before_mean_k"] + qpv["delta_lst_mean_k"],
        rtol=1e-12,
    )
    # The zone means of the ΔT raster, independently with exactextract.
    zones = gpd.read_file(root / "outputs" / "zones.gpkg", layer="qpv")
    with rasterio.open(folder / "delta_lst.tif") as src:
        crs = src.crs
        tags = src.tags()
    # The baseline's period (the demo config's summer), as the run's own COGs say it.
    assert tags["time_coverage_start"] == "2023-06-01"
    assert tags["time_coverage_end"] == "2023-08-31"
    oracle = exactextract.exact_extract(
        str(folder / "delta_lst.tif"), zones.to_crs(crs), ["mean"],
        include_cols=["code_qp"], output="pandas",
    ).set_index("code_qp")["mean"]  # fmt: skip
    ours = qpv.set_index("code_qp")["delta_lst_mean_k"]
    np.testing.assert_allclose(ours.loc[oracle.index], oracle, atol=1e-5)  # float32 COG
    row = pd.read_csv(root / "outputs" / "scenarios" / "comparison.csv").iloc[0]
    assert row["qpv_gap_after_k"] < row["qpv_gap_before_k"] - 0.3
    assert row["area_changed_m2"] > 0 and row["mean_delta_k"] < 0
    # The changed pixels get cooler than the QPV as a whole (mostly unchanged pixels).
    assert row["changed_mean_delta_k"] < row["mean_delta_k"]
    assert row["qpv_delta_mean_k"] < row["rest_delta_mean_k"] < 0
    run = json.loads((root / "outputs" / "inequality.json").read_text())
    assert row["qpv_gap_before_k"] == pytest.approx(run["group_difference"]["value"])
    after = json.loads((folder / "inequality.json").read_text())
    assert row["qpv_gap_after_k"] == pytest.approx(after["group_difference"]["value"])
    # Its CSV has the run's columns (the outcome first), so the two stack.
    flat = pd.read_csv(folder / "inequality.csv")
    assert list(flat.columns) == list(pd.read_csv(root / "outputs" / "inequality.csv").columns)
    assert set(flat["outcome"]) == {"lst_anomaly_mean_k"}
    # The gap after, recomputed with pandas: population-weighted IRIS means in / out of QPV.
    iris = gpd.read_file(root / "outputs" / "zones.gpkg", layer="iris")
    iris = iris.merge(pd.read_csv(folder / "iris.csv", dtype={"code_iris": str}), on="code_iris")
    used = iris.dropna(subset=["disp_med", "population", "lst_anomaly_mean_k"])
    inside, outside = used[used["in_qpv"]], used[~used["in_qpv"]]

    def wmean(frame, column):
        return np.average(frame[column], weights=frame["population"])

    gap = wmean(inside, "lst_anomaly_after_mean_k") - wmean(outside, "lst_anomaly_after_mean_k")
    assert row["qpv_gap_after_k"] == pytest.approx(gap, rel=1e-9)
    assert row["qpv_delta_mean_k"] == pytest.approx(wmean(inside, "delta_lst_mean_k"), rel=1e-9)
    assert row["qpv_gap_after_k"] - row["qpv_gap_before_k"] == pytest.approx(
        row["qpv_delta_mean_k"] - row["rest_delta_mean_k"], abs=1e-9
    )


def test_cool_roofs_cool_the_built_class(demo):
    root, _ = demo
    delta, _ = _read(root / "outputs" / "scenarios" / "cool_roofs" / "delta_lst.tif")
    landcover, _ = _read(root / "outputs" / "rasters" / "landcover.tif")
    built = (landcover == BUILT) & np.isfinite(delta) & (delta != 0)
    assert built.sum() > 1000
    # Only the albedo rose, and the model's response to albedo is monotonic: no pixel warms.
    assert np.nanmax(delta) <= 1e-6
    mean = float(delta[built].mean())
    # The generator planted -15 K per unit of albedo on roofs: +0.15 gives -2.25 K; the
    # tree model holds its response beyond the albedos it saw, so it finds less, not more
    # than about that (the run's "built" also holds bare fields, brighter and cooler).
    assert 1.5 * ALBEDO_LST_SLOPE_K * 0.15 < mean < -0.3, mean
    row = pd.read_csv(root / "outputs" / "scenarios" / "comparison.csv").iloc[1]
    assert row["extrapolated_share"] > 0  # reported, not hidden
    # The changed pixels, recomputed: the run's built class with its centre in an IRIS.
    iris = gpd.read_file(root / "outputs" / "zones.gpkg", layer="iris")
    with rasterio.open(root / "outputs" / "rasters" / "landcover.tif") as src:
        shapes = list(iris.to_crs(src.crs).geometry)
        inside = geometry_mask(shapes, out_shape=src.shape, transform=src.transform, invert=True)
    changed = inside & (landcover == BUILT)
    assert row["pixels_changed"] == changed.sum()
    expected = float(np.nanmean(delta[changed]))  # no ΔT where the run has no anomaly
    assert row["changed_mean_delta_k"] == pytest.approx(expected, abs=1e-6)
    assert row["changed_mean_delta_k"] < row["mean_delta_k"] < 0  # the IRIS: mostly unchanged


def test_the_effect_per_hectare_rests_on_the_changed_pixels_with_a_prediction(demo):
    """Cool roofs change every built pixel of the IRIS, some without an LST composite (too
    few clear dates: no anomaly, no ΔT). By hand from the rasters: the changed area counts
    them, the area with a prediction does not, and the city's ΔT per hectare divides by it."""
    root, report = demo
    outputs = root / "outputs"
    delta, _ = _read(outputs / "scenarios" / "cool_roofs" / "delta_lst.tif")
    anomaly, _ = _read(outputs / "rasters" / "lst_anomaly.tif")
    iris = gpd.read_file(outputs / "zones.gpkg", layer="iris")
    with rasterio.open(outputs / "rasters" / "landcover.tif") as src:
        landcover, transform = src.read(1), src.transform
        inside = geometry_mask(list(iris.to_crs(src.crs).geometry), out_shape=src.shape,
                               transform=transform, invert=True)  # fmt: skip
    pixel_m2 = abs(transform.a * transform.e)
    changed = inside & (landcover == BUILT)
    predicted = changed & np.isfinite(delta)
    # No ΔT exactly where the run has no anomaly; the demo has such changed pixels.
    np.testing.assert_array_equal(np.isfinite(delta), np.isfinite(anomaly))
    assert 0 < predicted.sum() < changed.sum()
    row = pd.read_csv(outputs / "scenarios" / "comparison.csv").set_index("scenario")
    row = row.loc["cool_roofs"]
    assert row["pixels_changed"] == changed.sum()
    assert row["area_changed_m2"] == pytest.approx(changed.sum() * pixel_m2)
    assert row["area_changed_predicted_m2"] == pytest.approx(predicted.sum() * pixel_m2)
    city = float(np.nanmean(delta[inside]))  # the IRIS' pixels with a ΔT (float32 COG)
    assert row["urban_mean_delta_k"] == pytest.approx(city, rel=1e-5)
    per_ha = city / (predicted.sum() * pixel_m2 / 1e4)
    assert row["delta_k_per_ha"] == pytest.approx(per_ha, rel=1e-5)
    assert row["changed_mean_delta_k"] == pytest.approx(float(delta[predicted].mean()), abs=1e-6)
    # The terminal line quotes both areas, the mean "on them" being over the second.
    line = next(x for x in report.splitlines() if "scenario cool_roofs:" in x)
    assert (
        f"scenario cool_roofs: {changed.sum() * pixel_m2 / 1e4:.1f} ha changed, of which "
        f"{predicted.sum() * pixel_m2 / 1e4:.1f} ha with a prediction: mean ΔLST "
        f"{float(delta[predicted].mean()):+.2f} ["
    ) in line


def test_no_op_scenario_gives_exactly_zero(run_copy):
    folder, data = run_copy
    noop = [
        {"name": "nothing", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.0}}]},
        {
            "name": "nothing_either",
            "where": {"everywhere": True},
            "change": [
                {"reclassify": {"from": "built", "to": "dense_vegetation", "fraction": 0.0}},
                {"albedo": {"add": 0.0, "on": "built"}},
            ],
        },
    ]
    result = run_scenarios(_config(data, noop, **FAST))
    assert result.reused_run
    anomaly, _ = _read(folder / "rasters" / "lst_anomaly.tif")
    for name in ("nothing", "nothing_either"):
        delta, _ = _read(folder / "scenarios" / name / "delta_lst.tif")
        assert (delta[np.isfinite(anomaly)] == 0).all()
        assert np.isnan(delta[np.isnan(anomaly)]).all()
        qpv = pd.read_csv(folder / "scenarios" / name / "qpv.csv")
        assert (qpv["delta_lst_mean_k"] == 0).all()
    table = result.comparison.set_index("scenario")
    assert (table["area_changed_m2"] == 0).all() and (table["mean_delta_k"] == 0).all()
    assert (table["qpv_gap_after_k"] == table["qpv_gap_before_k"]).all()
    assert table["delta_k_per_ha"].isna().all()


def test_changes_outside_the_fitted_zones_are_said_to_be_extrapolated(run_copy):
    # The model is fitted on the zones' pixels (fit_area: zones); a change everywhere also
    # changes the rural ring's, where its effect is an extrapolation in space. Oracle: the
    # pixels with an NDVI (those an addition changes) whose centre is in no IRIS or QPV.
    folder, data = run_copy
    everywhere = {"name": "all", "where": {"everywhere": True}, "change": [{"ndvi": {"add": 0.05}}]}
    result = run_scenarios(_config(data, [everywhere], **FAST, replicates=1))
    with rasterio.open(folder / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform, crs = src.read(1), src.transform, src.crs
    shapes = [
        geom
        for name in ("iris", "qpv")
        for geom in gpd.read_parquet(folder / "zones" / f"{name}.parquet").to_crs(crs).geometry
    ]
    inside = ~geometry_mask(shapes, out_shape=ndvi.shape, transform=transform)
    changed = np.isfinite(ndvi)
    want = (changed & ~inside).sum() / changed.sum()
    (note,) = [n for n in result.notes if "outside the zones the model was fitted on" in n]
    assert f": {want:.0%} of the changed pixels" in note and 0.5 < want < 1
    inside_only = {**everywhere, "where": {"layer": "iris"}}
    result = run_scenarios(_config(data, [inside_only], **FAST, replicates=1))
    assert not [n for n in result.notes if "outside the zones" in n]


def test_a_run_without_income_values_gives_scenarios_without_inequality(run_copy):
    # The run skipped its inequality (no IRIS matched a Filosofi row): the scenarios do too,
    # instead of stopping on "income column all missing".
    folder, data = run_copy
    iris = gpd.read_parquet(folder / "zones" / "iris.parquet")
    iris["disp_med"] = np.nan
    iris.to_parquet(folder / "zones" / "iris.parquet")
    noop = [{"name": "nothing", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.0}}]}]
    result = run_scenarios(_config(data, noop, **FAST))
    assert not (folder / "scenarios" / "nothing" / "inequality.json").exists()
    assert (folder / "scenarios" / "nothing" / "delta_lst.tif").is_file()
    assert len(result.comparison) == 1


def test_a_run_with_too_few_iris_with_a_delta_t_gives_scenarios_without_inequality(run_copy):
    """Two IRIS with a ΔT (the others gated out for want of clear scenes): the run skips its
    inequality with a note; the scenarios do too, instead of stopping on the error."""
    folder, data = run_copy
    iris = gpd.read_parquet(folder / "zones" / "iris.parquet")
    iris.loc[iris.index[2:], "lst_anomaly_mean_k"] = np.nan
    iris.to_parquet(folder / "zones" / "iris.parquet")
    noop = [{"name": "nothing", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.0}}]}]
    result = run_scenarios(_config(data, noop, **FAST))
    assert not (folder / "scenarios" / "nothing" / "inequality.json").exists()
    assert (folder / "scenarios" / "nothing" / "delta_lst.tif").is_file()
    (note,) = [n for n in result.notes if "inequality statistics" in n]
    assert note.startswith("the scenarios' inequality statistics of lst_anomaly_mean_k are "
                           "skipped: ")  # fmt: skip


def test_where_matching_nothing_names_the_filter(run_copy, tmp_path):
    folder, data = run_copy
    _without_bare_soil(folder)
    cases = [
        ({"layer": "qpv", "ids": ["QP999999"]}, "QP999999"),
        ({"layer": "iris", "filter": {"insee_com": "99999"}}, "insee_com: '99999'"),
        ({"layer": "iris", "filter": {"rent": 1}}, "filter column 'rent' is not in zone layer"),
        # Text for a true/false column selected the IRIS outside QPV (any text but "true"
        # read as false), and text for a number column was dropped.
        ({"layer": "iris", "filter": {"in_qpv": "oui"}},
         "filter 'in_qpv' is a true/false column: give true or false (got 'oui')"),
        ({"layer": "iris", "filter": {"in_qpv": "1"}}, "give true or false (got '1')"),
        ({"landcover": "bare_soil"}, "selects no pixel: the run's land cover has no pixel of "
         "bare_soil"),  # none left in this copy
        ({"layer": "iris", "filter": {"population": "many"}},
         "filter 'population' is a number column: give numbers (got 'many')"),
    ]  # fmt: skip
    for where, expected in cases:
        scenario = {"name": "nowhere", "where": where, "change": [{"ndvi": {"add": 0.1}}]}
        with pytest.raises(ScenarioError) as err:
            run_scenarios(_config(data, [scenario], **FAST))
        text = str(err.value)
        assert "scenarios[0] 'nowhere'" in text and expected in text, text
        assert "\n" not in text
    # Polygons far from the city: no pixel of the grid.
    far = gpd.GeoDataFrame(geometry=gpd.points_from_xy([2.35], [48.85]).buffer(0.01), crs=4326)
    far.to_file(tmp_path / "paris.gpkg")
    scenario = {"name": "paris", "where": {"file": str(tmp_path / "paris.gpkg")},
                "change": [{"ndvi": {"add": 0.1}}]}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"where \{file: .*paris.gpkg\} holds no pixel centre"):
        run_scenarios(_config(data, [scenario], **FAST))
    # A polygon inside the city smaller than a pixel, between pixel centres: said so.
    with rasterio.open(folder_of(data) / "rasters" / "lst_anomaly.tif") as src:
        x0, y0 = src.transform * (src.width // 2, src.height // 2)  # a pixel corner
        crs = src.crs
    tiny = gpd.GeoDataFrame(geometry=gpd.points_from_xy([x0], [y0]).buffer(2.0), crs=crs)
    tiny.to_file(tmp_path / "tiny.gpkg")
    scenario = {"name": "tiny", "where": {"file": str(tmp_path / "tiny.gpkg")},
                "change": [{"ndvi": {"add": 0.1}}]}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"larger than a pixel") as err:
        run_scenarios(_config(data, [scenario], **FAST))
    assert "centre" in str(err.value) and "\n" not in str(err.value)


def test_cli_scenarios_end_to_end(run_copy, tmp_path):
    folder, data = run_copy
    config = {**data, "scenarios": [{
        "name": "green_schoolyards", "description": "Greener courtyards in two IRIS",
        "where": {"layer": "iris", "filter": {"in_qpv": True}},
        "change": [{"ndvi": {"add": 0.3, "cap": 0.8, "on": "built"}},
                   {"ndvi": {"add": 0.1, "on": "water"}}],
    }], "scenario_model": {**data["scenario_model"], **FAST}}  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    result = runner.invoke(main, ["scenarios", str(path)])
    assert result.exit_code == 0, result.output
    assert "reusing the finished run" in result.output
    assert "scenario green_schoolyards:" in result.output
    # The warnings go to stderr (once), not among the results on stdout.
    assert "warning" not in result.stdout
    # The QPV's water has no NDVI (the default mask leaves water out): said, with its count.
    (line,) = result.stderr.splitlines()
    assert re.match(
        r"warning: scenarios\[0\] 'green_schoolyards': change\[1\] changes the NDVI of 0 of "
        r"the (\d+) water pixels of its area, among the 0 with an NDVI: the other \1 have none",
        line,
    )
    assert (folder / "scenarios" / "green_schoolyards" / "delta_lst.tif").is_file()
    assert list(pd.read_csv(folder / "scenarios" / "comparison.csv")["scenario"]) == [
        "green_schoolyards"
    ]  # the demo's previous scenarios are replaced
    # Below the skill threshold: refused in one line, unless --force.
    config["scenario_model"]["r2_min"] = 0.99
    path.write_text(yaml.safe_dump(config))
    refused = runner.invoke(main, ["scenarios", str(path)])
    assert refused.exit_code == 1
    *progress, message = refused.output.strip().splitlines()
    assert progress == [f"reusing the finished run in {folder}"]
    assert message.startswith("Error: ModelSkillError: ") and "r2_min 0.99" in message
    model = json.loads((folder / "scenarios" / "model.json").read_text())
    assert model["passed"] is False and model["threshold"] == 0.99
    # Nothing of the previous scenarios is left, or listed: the manifest lists what is on
    # disk, and the report says the scenarios were refused.
    assert [p.name for p in (folder / "scenarios").iterdir()] == ["model.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert all((folder / r["path"]).exists() for r in manifest["outputs"])
    assert manifest["scenarios"]["comparison"] == []
    report = (folder / "report.html").read_text()
    assert "Scénarios refusés" in report or "Scenarios refused" in report
    assert "green_schoolyards" not in report
    forced = runner.invoke(main, ["scenarios", str(path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "forced" in forced.output
    assert json.loads((folder / "scenarios" / "model.json").read_text())["forced"] is True
    # A bad config: one line naming the key.
    config["scenarios"][0]["change"] = [{"paint": {"colour": "white"}}]
    path.write_text(yaml.safe_dump(config))
    bad = runner.invoke(main, ["scenarios", str(path)])
    assert bad.exit_code == 1
    assert len(bad.output.strip().splitlines()) == 1
    assert "scenarios[0].change[0].paint: unknown key" in bad.output


def test_the_run_is_reused_only_when_its_run_part_matches(demo, run_copy, tmp_path):
    root, _ = demo
    folder, data = run_copy
    same = {**data, "scheduler": {"kind": "synchronous"}}
    same["outputs"] = {**data["outputs"], "overwrite": False, "folder": str(tmp_path / "x")}
    assert run_matches(RunFolder(folder), _config(same, [], force=True))
    english = {**data, "outputs": {**data["outputs"], "report_language": "en", "report": False}}
    assert run_matches(RunFolder(folder), _config(english, []))  # the report only
    other = {**data, "grid": {**data["grid"], "resolution": 60}}
    assert not run_matches(RunFolder(folder), _config(other, []))
    scenario = {"name": "s", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    other["outputs"] = {**data["outputs"], "overwrite": False}
    # The message names what differs (a folder of an earlier ilots: the keys it lacked).
    said = r"cannot be reused: it is a run of another config \(grid\.resolution differs\)"
    with pytest.raises(ConfigError, match=said):
        run_scenarios(_config(other, [scenario]))
    # No run in the folder yet: the pipeline runs first, then the scenarios.
    config = load_config(root / "config.yaml")
    fresh = tmp_path / "fresh"
    data = config.model_dump(mode="json")
    result = run_scenarios(_config(data, [scenario], **FAST), out=fresh)
    assert not result.reused_run
    # The run's warnings reach the caller (the CLI says them), as its manifest has them.
    manifest = json.loads((fresh / "manifest.json").read_text(encoding="utf-8"))
    assert result.run_warnings == manifest["warnings"] and result.run_warnings
    assert (fresh / "rasters" / "albedo_median.tif").is_file()
    assert (fresh / "scenarios" / "s" / "delta_lst.tif").is_file()
    assert run_matches(RunFolder(fresh), config)


@pytest.mark.parametrize("damage", ["remove", "truncate"])
def test_a_missing_or_corrupt_run_raster_says_to_rerun_the_run(run_copy, damage):
    # A run's own output: "rerun ilots run", not the product reader's "download it again".
    folder, data = run_copy
    raster = folder / "rasters" / "ndvi_median.tif"
    if damage == "remove":
        raster.unlink()
    else:
        raster.write_bytes(raster.read_bytes()[:5000])
    scenario = {"name": "s", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    with pytest.raises(ScenarioError, match=r"rasters/ndvi_median.tif.*rerun ilots run"):
        read_baseline(folder, _config(data, [scenario]))


def test_the_run_folder_config_reproduces_the_scenarios_run(run_copy):
    folder, data = run_copy
    good = {"name": "good", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    config = _config(data, [good], sample=2000, replicates=2)
    run_scenarios(config)
    written = load_config(folder / "config.yaml")
    assert written.scenarios == config.scenarios and written.scenario_model == config.scenario_model
    manifest = json.loads((folder / "manifest.json").read_text())
    here = "config.yaml"  # relative to the run folder
    (record,) = [r for r in manifest["outputs"] if r["path"] == here]
    paths = [r["path"] for r in manifest["outputs"]]
    assert len(paths) == len(set(paths))  # the report's update listed scenarios/ again
    assert record["sha256"] == hashlib.sha256((folder / "config.yaml").read_bytes()).hexdigest()
    assert run_matches(RunFolder(folder), written)  # the run part is the run's


def test_a_demo_folder_moved_whole_reuses_its_run(demo, tmp_path):
    # Its manifest records the inputs and the run folder where they were: both moved alike,
    # the run is reused; the inputs checked are the moved folder's own.
    root, _ = demo
    skip = shutil.ignore_patterns("scenarios", "figures", "report.html")
    moved = shutil.copytree(root, tmp_path / "moved", ignore=skip)
    config = load_config(moved / "config.yaml")
    assert run_mismatch(RunFolder(moved / "outputs"), config) is None
    qpv = moved / "zones" / "qpv.geojson"
    qpv.write_text(qpv.read_text() + " ")
    said = run_mismatch(RunFolder(moved / "outputs"), config)
    assert said == f"its input {qpv} changed size since the run"


def test_a_run_whose_inputs_changed_is_not_reused(run_copy, tmp_path):
    # The manifest's record of an input (here a copy of the QPV file, so the shared demo is
    # left alone) is checked: an edit of the same size, another size, a removal.
    folder, data = run_copy
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(e for e in manifest["inputs"] if e["path"].endswith("qpv.geojson"))
    copy = tmp_path / "qpv.geojson"
    copy.write_bytes(Path(data["zones"]["qpv"]["path"]).read_bytes())  # the file it names
    entry["path"] = str(copy)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    config = _config(data, [])
    assert run_mismatch(RunFolder(folder), config) is None
    text = copy.read_text()
    copy.write_text(text.replace("QP031903", "QP031999"))  # same size, another code
    assert run_mismatch(RunFolder(folder), config) == f"its input {copy} changed since the run"
    copy.write_text(text + " ")
    assert run_mismatch(RunFolder(folder), config).endswith("changed size since the run")
    copy.unlink()
    assert run_mismatch(RunFolder(folder), config).endswith("was removed since the run")
    scenario = {"name": "s", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    data["outputs"] = {**data["outputs"], "overwrite": False}
    with pytest.raises(ConfigError, match=r"cannot be reused: its input .*qpv.geojson was removed"):
        run_scenarios(_config(data, [scenario]))


def test_a_failing_scenario_leaves_the_previous_scenarios_as_they_were(run_copy, monkeypatch):
    folder, data = run_copy
    _without_bare_soil(folder)
    good = {"name": "good", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    run_scenarios(_config(data, [good], **FAST))
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    # Into a class the run lacks (none left in this copy), second in the list: refused
    # before the model is fitted, naming the scenario and the change.
    bare = {"name": "bare", "where": {"layer": "qpv"},
            "change": [{"reclassify": {"from": "built", "to": "bare_soil"}}]}  # fmt: skip
    import pipelines.scenarios.pipeline as pipeline

    def no_fit(*args, **kwargs):
        raise AssertionError("the model is fitted before the scenarios are checked")

    monkeypatch.setattr(pipeline, "fit_model", no_fit)
    with pytest.raises(ScenarioError, match=r"scenarios\[1\] 'bare': change\[0\]: .*bare_soil"):
        run_scenarios(_config(data, [good, bare], **FAST))
    monkeypatch.undo()
    # A failure while the second scenario is written: the previous folder comes back.
    written = []
    real = pipeline._write_scenario

    def failing(*args, **kwargs):
        if written:
            raise OSError("disk full")
        written.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_scenario", failing)
    other = {**good, "name": "other"}
    with pytest.raises(OSError, match="disk full"):
        run_scenarios(_config(data, [good, other], **FAST))
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before


def test_a_users_files_in_scenarios_outlive_the_next_scenarios(run_copy):
    """scenarios/ is replaced whole: the files a user saved in it (beside the scenarios, in
    a scenario's folder) stay, with their content, and are not listed as outputs; the
    previous scenario's files, which this one does not write again, go."""
    folder, data = run_copy
    old = {"name": "old", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    run_scenarios(_config(data, [old], **FAST, replicates=1))
    assert (folder / "scenarios" / "old" / "delta_lst.tif").is_file()
    mine = {
        "scenarios/my_notes.txt": b"what the council asked",
        "scenarios/green_qpv/mine.csv": b"code_qp,budget\nQP1,100\n",
        "scenarios/old/mine.csv": b"kept too",
    }
    for name, content in mine.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    green = {**old, "name": "green_qpv"}
    run_scenarios(_config(data, [green], **FAST, replicates=1))
    assert {name: (folder / name).read_bytes() for name in mine} == mine
    assert not (folder / "scenarios" / "old" / "delta_lst.tif").exists()
    assert (folder / "scenarios" / "green_qpv" / "delta_lst.tif").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {record["path"] for record in manifest["outputs"]}
    assert "scenarios/green_qpv/delta_lst.tif" in listed and listed.isdisjoint(mine)


def test_a_users_figure_is_not_listed_as_an_output_by_the_scenarios(run_copy):
    """A figure a user saved among the report's (a copy of a map) stays and is not listed in
    the manifest: the next run, which removes the files it lists, would remove it."""
    folder, data = run_copy
    (folder / "figures").mkdir()
    council = folder / "figures" / "lst_map_for_council.png"
    council.write_bytes(b"PNG the map as sent to the council")
    scenario = {"name": "green", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    run_scenarios(_config(data, [scenario], **FAST, replicates=1))
    manifest = json.loads((folder / "manifest.json").read_text())
    (figures,) = [r for r in manifest["outputs"] if r["path"] == "figures"]
    drawn = {record["path"] for record in figures["files"]}
    assert "lst_map.png" in drawn and "lst_map_for_council.png" not in drawn
    assert council.resolve() not in {p.resolve() for p in previous_outputs(RunFolder(folder))}
    assert council.read_bytes() == b"PNG the map as sent to the council"


def test_the_ranges_are_those_of_the_runs_with_the_replicates_seeds(run_copy):
    """Each effect's range over 3 replicates (seeds 4, 5, 6) is the range of the effects of
    three runs of 1 replicate with those seeds: the refits are the models those runs fit, and
    the redrawn pixels theirs. The values, map and fit_seed are those of the run whose
    effect on the changed pixels is the middle one of the three, and so are the predictor
    ranges in its summary.json (those its extrapolation notes quote): each the model.json
    ranges of the run with its fit_seed, while model.json's are the model's (seed 4)."""
    folder, data = run_copy
    scenarios = [
        {"name": "green_qpv", "where": {"layer": "qpv"},
         "change": [{"reclassify": {"from": "built", "to": "dense_vegetation",
                                    "fraction": 0.3}}]},
        {"name": "cool_roofs", "where": {"everywhere": True},
         "change": [{"albedo": {"add": 0.15, "on": "built"}}]},
    ]  # fmt: skip
    singles, maps, ranges = [], [], []
    for seed in (4, 5, 6):
        singles.append(
            run_scenarios(_config(data, scenarios, **FAST, seed=seed, replicates=1)).comparison
        )
        ranges.append(json.loads((folder / "scenarios" / "model.json").read_text())["ranges"])
        maps.append(
            {
                spec["name"]: _read(folder / "scenarios" / spec["name"] / "delta_lst.tif")[0]
                for spec in scenarios
            }
        )
    spread = run_scenarios(_config(data, scenarios, **FAST, seed=4, replicates=3)).comparison
    changed = np.array([single["changed_mean_delta_k"].to_numpy() for single in singles])
    middle = np.argsort(changed, axis=0)[1]  # per scenario, the run of the median effect
    assert spread["fit_seed"].tolist() == [(4, 5, 6)[m] for m in middle]
    assert json.loads((folder / "scenarios" / "model.json").read_text())["ranges"] == ranges[0]
    for k, spec in enumerate(scenarios):
        summary = json.loads((folder / "scenarios" / spec["name"] / "summary.json").read_text())
        assert summary["fitted_ranges"] == ranges[middle[k]], spec["name"]
    assert any(ranges[m] != ranges[0] for m in middle)  # a fit other than the model's
    for k, spec in enumerate(scenarios):
        np.testing.assert_array_equal(
            _read(folder / "scenarios" / spec["name"] / "delta_lst.tif")[0],
            maps[middle[k]][spec["name"]],
        )
    for column in ("changed_mean_delta_k", "mean_delta_k", "urban_mean_delta_k",
                   "qpv_gap_after_k"):  # fmt: skip
        values = np.array([single[column].to_numpy() for single in singles])
        np.testing.assert_allclose(
            spread[column], values[middle, range(len(scenarios))], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(spread[f"{column}_min"], values.min(axis=0), atol=1e-9)
        np.testing.assert_allclose(spread[f"{column}_max"], values.max(axis=0), atol=1e-9)
        assert (values.max(axis=0) > values.min(axis=0)).all(), column  # the seeds matter
        for single in singles:  # one replicate: no range beyond the value
            assert (single[f"{column}_min"] == single[column]).all()
            assert (single[f"{column}_max"] == single[column]).all()
    # In how many fits each scenario narrows the QPV gap the most, from the three runs.
    before = abs(spread["qpv_gap_before_k"].iloc[0])
    wins = [0, 0]
    for single in singles:
        change = single["qpv_gap_after_k"].abs().to_numpy() - before
        if change.min() < 0:  # scenarios tied for the lowest each win the fit
            for s in np.flatnonzero(change == change.min()):
                wins[s] += 1
    assert spread["qpv_gap_best_fits"].tolist() == wins
    assert sum(wins) == 3  # the demo's QPV greening narrows the gap in every fit


def _ridge_by_hand(parameters, predictors, pixels):
    """A ridge fit's prediction at ``pixels``, from its recorded parameters by the formula
    model.json states (the features parsed from their names: ``a b`` a product, ``a^2``)."""
    names = list(parameters["predictor_mean"])
    z = {
        n: (predictors[n][pixels] - parameters["predictor_mean"][n])
        / parameters["predictor_scale"][n]
        for n in names
    }
    features = []
    for feature in parameters["features"]:
        value = np.ones(int(pixels.sum()))
        for term in feature.split(" "):
            name, _, power = term.partition("^")
            value = value * z[name] ** int(power or 1)
        features.append(value)
    scaled = (np.column_stack(features) - parameters["feature_mean"]) / parameters["feature_scale"]
    return parameters["intercept"] + scaled @ np.array(parameters["coefficients"])


def test_a_scenarios_ridge_delta_is_recomputed_by_hand_from_its_summary(run_copy):
    """With 3 fits, a scenario's ΔT map comes from its median fit (fit_seed): its
    summary.json's fitted_parameters reproduce it by hand, model.json's (the seed's fit)
    do not where fit_seed is not the seed."""
    from pipelines.scenarios.predictors import compute_predictors

    folder, data = run_copy
    scenario = {"name": "greener_roofs", "where": {"layer": "qpv"},
                "change": [{"ndvi": {"add": 0.2, "on": ["built"]}}]}  # fmt: skip
    for seed in range(4):  # a seed whose median fit is another one
        result = run_scenarios(
            _config(data, [scenario], **FAST, estimator="ridge", seed=seed, replicates=3)
        )
        if result.comparison["fit_seed"].iloc[0] != seed:
            break
    else:
        pytest.fail("every median fit was the seed's")
    scenarios = folder / "scenarios"
    summary = json.loads((scenarios / "greener_roofs" / "summary.json").read_text())
    model = json.loads((scenarios / "model.json").read_text())
    assert "summary.json's fitted_parameters" in model["parameters_of"]
    delta, _ = _read(scenarios / "greener_roofs" / "delta_lst.tif")
    config = _config(data, [scenario])
    baseline = read_baseline(RunFolder(folder), config)
    before = compute_predictors(baseline.surface, resolution=baseline.resolution)
    qpv = baseline.mask_of(baseline.zones["qpv"].geometry)
    edited = qpv & (baseline.surface.landcover == BUILT)
    raised = np.clip(before["ndvi"] + 0.2, -1, 1)  # the NDVI is clipped to [-1, 1]
    after = {**before, "ndvi": np.where(edited, raised, before["ndvi"])}
    pixels = edited & np.isfinite(delta) & np.isfinite(before["ndvi"])
    assert pixels.sum() > 100

    def by_hand(parameters):
        return _ridge_by_hand(parameters, after, pixels) - _ridge_by_hand(
            parameters, before, pixels
        )

    own = by_hand(summary["fitted_parameters"])
    np.testing.assert_allclose(delta[pixels], own, rtol=0, atol=1e-5)  # float32 map
    assert np.abs(by_hand(model["parameters"]) - delta[pixels]).max() > 1e-3


def test_a_scenario_none_of_whose_changed_pixels_has_a_prediction_says_so(keep_water_copy):
    """Water has no LST in the demo (mask.lst_keep_water false): greening the water pixels
    that have an NDVI (mask.indices_keep_water: true, else none has) changes pixels none of
    which has a prediction. Its extrapolated share is unknown (NaN, of 0 pixels), not 0, and
    a warning says why its effect is unknown."""
    folder, data = keep_water_copy
    anomaly, _ = _read(folder / "rasters" / "lst_anomaly.tif")
    landcover, _ = _read(folder / "rasters" / "landcover.tif")
    assert (landcover == 1).any() and np.isnan(anomaly[landcover == 1]).all()
    drain = {"ndvi": {"add": 0.1, "on": "water"}}
    scenario = {"name": "drained", "where": {"everywhere": True}, "change": [drain]}
    result = run_scenarios(_config(data, [scenario], **FAST))
    row = result.comparison.iloc[0]
    n_changed = int(row["pixels_changed"])
    assert n_changed > 0 and row["area_changed_predicted_m2"] == 0
    assert np.isnan(row["extrapolated_share"])
    summary = json.loads((folder / "scenarios" / "drained" / "summary.json").read_text())
    assert summary["outside_fitted_range_of"] == 0
    csv = pd.read_csv(folder / "scenarios" / "comparison.csv")
    assert np.isnan(csv["extrapolated_share"].iloc[0])
    (note,) = [n for n in result.notes if "has a prediction" in n]
    assert note.startswith(
        f"scenarios[0] 'drained': none of the {n_changed} pixels it changes has a prediction"
    )
    assert note in json.loads((folder / "manifest.json").read_text())["scenarios"]["warnings"]


def test_a_reclassification_from_water_says_which_water_pixels_it_leaves(keep_water_copy):
    """Under mask.lst_keep_water (the run's manifest says so, so it is reused) and
    mask.indices_keep_water, the demo's water may be reclassified, but the default
    Sentinel-2 mask leaves most of its NDVI
    out: of the water pixels (landcover.tif), only those with an NDVI (ndvi_median.tif) are
    converted; the step and a warning say how many of the class it converts and why not the
    others, and they stay water. The step says how many water pixels the model was fitted on
    (at most those with an NDVI), and a warning too when fewer than 40."""
    folder, data = keep_water_copy
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"]["mask"]["lst_keep_water"] = True
    (folder / "manifest.json").write_text(json.dumps(manifest))
    data["mask"]["lst_keep_water"] = True
    landcover, _ = _read(folder / "rasters" / "landcover.tif")
    ndvi, _ = _read(folder / "rasters" / "ndvi_median.tif")
    water = landcover == 1
    seen = int((water & np.isfinite(ndvi)).sum())
    total = int(water.sum())
    assert 0 < seen < total
    drain = {"reclassify": {"from": "water", "to": "dense_vegetation"}}
    scenario = {"name": "drained", "where": {"everywhere": True}, "change": [drain]}
    result = run_scenarios(_config(data, [scenario], **FAST))
    assert result.reused_run
    row = result.comparison.iloc[0]
    assert row["pixels_changed"] == seen
    summary = json.loads((folder / "scenarios" / "drained" / "summary.json").read_text())
    step = re.fullmatch(
        f"reclassify {seen} of {seen} water pixels to dense_vegetation \\({total - seen} more "
        r"without an NDVI left as they are\), the model fitted on (\d+) water pixels",
        summary["comparison"]["steps"],
    )
    fitted = int(step.group(1))
    assert fitted <= seen  # the fit's water pixels have an LST and an NDVI
    note = (
        f"scenarios[0] 'drained': change[0] converts {seen} of the {total} water pixels of its "
        f"area, drawn from the {seen} with an NDVI: the other {total - seen} have none"
    )
    assert [n for n in result.notes if n.startswith(note)]
    warned = json.loads((folder / "manifest.json").read_text())["scenarios"]["warnings"]
    assert [n for n in warned if n.startswith(note)]
    # Fewer than 40 of them in the fit (the model's fewest pixels per leaf): said too.
    thin = (
        "scenarios[0] 'drained': change[0] converts water pixels, of which the model's fitting "
        f"sample holds {fitted} of its"
    )
    assert bool([n for n in warned if n.startswith(thin)]) == (fitted < 40)
    delta, _ = _read(folder / "scenarios" / "drained" / "delta_lst.tif")
    assert np.isnan(delta[water & np.isnan(ndvi)]).all()  # left as they are: no prediction


def test_with_every_pixel_sampled_the_fits_are_bootstraps_only(run_copy):
    """sample above the usable pixels: the refits are bootstraps, and so is the seed's fit,
    so the model fitted on every pixel (a replicates: 1 run) is none of the fits."""
    _, data = run_copy
    scenario = {"name": "cool_roofs", "where": {"everywhere": True},
                "change": [{"albedo": {"add": 0.15, "on": "built"}}]}  # fmt: skip
    model_only = run_scenarios(_config(data, [scenario], sample=10**6, replicates=1))
    assert model_only.model.cv.n_pixels < 10**6  # every usable pixel
    fits = run_scenarios(_config(data, [scenario], sample=10**6, replicates=2)).comparison
    value = model_only.comparison["changed_mean_delta_k"].iloc[0]
    low, high = fits[["changed_mean_delta_k_min", "changed_mean_delta_k_max"]].iloc[0]
    assert low < high and value not in (low, high)


def test_the_gap_identity_holds_with_iris_the_group_test_leaves_out(run_copy):
    """qpv_gap_after − qpv_gap_before = qpv_delta − rest_delta (comparison.csv's docs), also
    when an IRIS with income has no stratum or no QPV membership (the group difference
    leaves it out: so must the QPV and rest means of ΔT)."""
    folder, data = run_copy
    iris = gpd.read_parquet(folder / "zones" / "iris.parquet")
    with_income = iris["disp_med"].notna()
    in_qpv = iris.index[with_income & iris["in_qpv"].astype(bool)]
    outside = iris.index[with_income & ~iris["in_qpv"].astype(bool)]
    iris["insee_com"] = iris["insee_com"].astype(object)
    iris.loc[in_qpv[0], "insee_com"] = None  # no stratum
    iris["in_qpv"] = iris["in_qpv"].astype(object)
    iris.loc[outside[0], "in_qpv"] = None  # no membership
    iris.to_parquet(folder / "zones" / "iris.parquet")
    config = {**data, "inequality": {**data["inequality"], "stratum": "insee_com"}}
    scenario = {"name": "green", "where": {"layer": "qpv"},
                "change": [{"ndvi": {"add": 0.3, "on": "built"}}]}  # fmt: skip
    row = run_scenarios(_config(config, [scenario], **FAST, replicates=2)).comparison.iloc[0]
    gap_change = row["qpv_gap_after_k"] - row["qpv_gap_before_k"]
    delta_change = row["qpv_delta_mean_k"] - row["rest_delta_mean_k"]
    assert gap_change == pytest.approx(delta_change, abs=1e-12)
    assert row["qpv_gap_after_k_min"] <= row["qpv_gap_after_k"] <= row["qpv_gap_after_k_max"]


def test_a_report_that_fails_leaves_the_folder_as_it_was(run_copy, monkeypatch):
    """The report is written with the scenarios and the manifest, or none of them is."""
    folder, data = run_copy
    first = {"name": "first", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    run_scenarios(_config(data, [first], **FAST, replicates=1))
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    import pipelines.report

    def broken(*args, **kwargs):
        raise RuntimeError("report failed")

    monkeypatch.setattr(pipelines.report, "build_report", broken)
    second = {**first, "name": "second"}
    with pytest.raises(RuntimeError, match="report failed"):
        run_scenarios(_config(data, [second], **FAST, replicates=1))
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before


def test_renaming_a_scenario_keeps_its_pixels(run_copy):
    """The random pixels of a partial reclassification follow the scenario's where and
    changes, not its name or its place in the list."""
    _, data = run_copy
    change = [{"reclassify": {"from": "built", "to": "dense_vegetation", "fraction": 0.3}}]
    first = {"name": "green_qpv", "where": {"layer": "qpv"}, "change": change}
    other = {"name": "cool", "where": {"everywhere": True}, "change": [{"ndvi": {"add": 0.05}}]}
    # One replicate: every replicate draws its pixels the same way, with its own seed.
    one = run_scenarios(_config(data, [first], **FAST, replicates=1)).comparison.iloc[0]
    renamed = {**first, "name": "g4"}
    two = run_scenarios(_config(data, [other, renamed], **FAST, replicates=1)).comparison.iloc[1]
    assert two["pixels_changed"] == one["pixels_changed"]
    assert two["changed_mean_delta_k"] == one["changed_mean_delta_k"]
    assert two["qpv_gap_after_k"] == one["qpv_gap_after_k"]


def test_a_run_folder_without_the_comparison_columns_is_refused_in_one_line(run_copy):
    folder, data = run_copy
    iris = gpd.read_parquet(folder / "zones" / "iris.parquet")
    iris.drop(columns=["lst_anomaly_mean_k"]).to_parquet(folder / "zones" / "iris.parquet")
    scenario = {"name": "s", "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}
    with pytest.raises(ScenarioError, match="no lst_anomaly_mean_k column") as err:
        run_scenarios(_config(data, [scenario], **FAST))
    assert "\n" not in str(err.value)


def test_the_run_writes_the_sentinel2_albedo(demo):
    root, _ = demo
    albedo, tags = _read(root / "outputs" / "rasters" / "albedo_median.tif")
    assert tags["standard_name"] == "surface_albedo"
    landcover, _ = _read(root / "outputs" / "rasters" / "landcover.tif")
    city = make_city()
    # Dense vegetation keeps its class reflectances (no roof factor): by hand, with the
    # Bonafoni & Sekertekin (2020) weights of science.md §3.5 on B02 B03 B04 B08 B11 B12.
    weights = (0.2266, 0.1236, 0.1573, 0.3417, 0.1170, 0.0338)
    _name, green, red, nir, swir16, blue, swir22, _offset = CLASSES[2]
    expected = np.dot(weights, (blue, green, red, nir, swir16, swir22))
    assert expected == pytest.approx(0.1781, abs=1e-4)
    with rasterio.open(root / "outputs" / "rasters" / "albedo_median.tif") as src:
        rows, cols = np.mgrid[0 : src.height, 0 : src.width] + 0.5
        east, north = src.transform * (cols, rows)
    i = ((city.origin[1] - north) // city.resolution).astype(int)
    j = ((east - city.origin[0]) // city.resolution).astype(int)
    n = city.landcover.shape[0]
    inside = (i >= 2) & (i < n - 2) & (j >= 2) & (j < n - 2)
    ii, jj = np.clip(i, 0, n - 1), np.clip(j, 0, n - 1)
    woods = inside & np.all(
        [city.landcover[ii + di, jj + dj] == 2 for di in (-2, 0, 2) for dj in (-2, 0, 2)], axis=0
    )
    assert woods.sum() > 500
    assert np.nanmean(albedo[woods]) == pytest.approx(expected, abs=0.01)
    assert (landcover[woods] == 2).mean() > 0.9  # dense vegetation in the run's land cover
    iris = gpd.read_file(root / "outputs" / "zones.gpkg", layer="iris")
    assert iris["albedo_mean"].between(0.1, 0.3).all()


def test_the_terminal_line_gives_the_ranges_that_are_ranges():
    from pipelines.scenarios.pipeline import scenario_line

    row = {
        "scenario": "s", "area_changed_m2": 25_000.0,
        "changed_mean_delta_k": -2.0, "changed_mean_delta_k_min": -2.5,
        "changed_mean_delta_k_max": -1.75,
        "mean_delta_k": -0.5, "mean_delta_k_min": -0.5, "mean_delta_k_max": -0.5,
        "urban_mean_delta_k": -0.01, "qpv_gap_before_k": float("nan"),
    }  # fmt: skip
    assert scenario_line(row) == (
        "scenario s: 2.5 ha changed, mean ΔLST -2.00 [-2.50, -1.75] K on them, -0.50 K over "
        "the target area, -0.010 K over the city"
    )
    # With the area that got a prediction, the mean "on them" is said to be over it.
    assert scenario_line({**row, "area_changed_predicted_m2": 21_000.0}) == (
        "scenario s: 2.5 ha changed, of which 2.1 ha with a prediction: mean ΔLST -2.00 "
        "[-2.50, -1.75] K on them, -0.50 K over the target area, -0.010 K over the city"
    )


def test_best_fits_counts_the_fits_each_scenario_narrows_the_gap_most_in():
    from pipelines.scenarios.pipeline import best_fits

    # gap before 1.0; three scenarios over four fits (by hand: |after| - 1 lowest and < 0)
    gaps = [[0.5, 0.2, 1.5, float("nan")], [-0.3, 0.4, 1.2, 0.9], [0.9, -0.1, 1.1, 0.95]]
    # fit 1: -0.5, -0.7, -0.1 -> 2nd; fit 2: -0.8, -0.6, -0.9 -> 3rd; fit 3: none narrows;
    # fit 4: (no value), -0.1, -0.05 -> 2nd
    assert best_fits(1.0, gaps) == [0, 2, 1]
    assert best_fits(float("nan"), gaps) == [0, 0, 0]
    # Two scenarios alike tie: each wins the fit, not the first listed. By hand: fits 1, 2,
    # 4: -0.5, -0.8, -0.3 for both against -0.1; fit 3: +0.5 for both, -0.1 for the third.
    alike = [0.5, 0.2, 1.5, 0.7]
    assert best_fits(1.0, [alike, list(alike), [0.9] * 4]) == [3, 3, 1]


def test_a_drawn_scenario_map_says_its_pixels_are_one_draw(run_copy, monkeypatch, tmp_path):
    from pipelines.scenarios import figures

    folder, data = run_copy
    baseline = read_baseline(folder, _config(data, []))
    said: list[str] = []

    def capture(fig, path):
        said.extend(text.get_text().replace("\n", " ") for text in fig.texts)  # unwrapped
        return Path(path)

    monkeypatch.setattr(figures, "save_png", capture)
    delta = np.zeros(baseline.shape)
    en = Messages("en")
    figures.delta_map(baseline, delta, tmp_path / "a.png", title="t", drawn=True, m=en)
    assert any("The converted pixels are one random draw" in text for text in said)
    said.clear()
    figures.delta_map(baseline, delta, tmp_path / "b.png", title="t", m=en)
    assert said and not any("random draw" in text for text in said)
    # The QPV gap after, with its range over the fits, which crosses zero here.
    table = pd.DataFrame(
        {"scenario": ["s"], "qpv_gap_before_k": [1.5], "qpv_gap_after_k": [-0.15]}
    ).assign(qpv_gap_after_k_min=-0.18, qpv_gap_after_k_max=0.30)
    said.clear()
    figures.comparison_figure(baseline, {"s": delta}, table, tmp_path / "c.png", m=en)
    assert any("Error bars: lowest to highest gap after over the model's" in t for t in said)


# A scenario write killed at any point: the run folder's files are the previous ones or the
# new ones, whole, or the next command completes the write first (saying so in one line).
# Oracle: the folder's files (path → SHA-256) before and after a whole write.

_STOPPED = "the last ilots scenarios was stopped while it put its files in place"


def _digests(root, cache, *, stage=True):
    """Path → SHA-256 of the folder's files but the lock (the stage's only if asked).

    ``cache``: digests by inode; the killed folders are hard-linked copies.
    """
    digests = {}
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if not path.is_file() or path.name == LOCK_NAME or (not stage and STAGE_NAME in parts):
            continue
        st = path.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in cache:
            cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        digests[path.relative_to(root).as_posix()] = cache[key]
    return digests


def _one_scenario(name):
    return {"name": name, "where": {"layer": "qpv"}, "change": [{"ndvi": {"add": 0.1}}]}


def test_a_kill_at_any_point_of_the_scenario_write_leaves_a_whole_folder(
    run_copy, tmp_path, monkeypatch
):
    """kill -9 after each change to the file system: the run folder as it is then (a
    hard-linked copy, which later renames do not touch), no handler run."""
    folder, data = run_copy
    run_scenarios(_config(data, [_one_scenario("old_x7")], **FAST, replicates=1))
    cache = {}
    old = _digests(folder, cache)
    killed = []

    def kill():
        copy = tmp_path / "killed" / str(len(killed))
        killed.append(shutil.copytree(folder, copy, copy_function=os.link))

    after_each_change(monkeypatch, kill)
    run_scenarios(_config(data, [_one_scenario("new_y8")], **FAST, replicates=1))
    monkeypatch.undo()
    new = _digests(folder, cache)
    assert any("new_y8" in path for path in new) and not any("old_x7" in path for path in new)
    outcomes = []
    for copy in killed:
        seen = _digests(copy, cache, stage=False)  # what a reader of the folder sees then
        marked = interrupted_write(copy) is not None
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            with folder_lock(copy):  # the next command takes the folder
                pass
        said = [str(w.message) for w in said]
        assert not (copy / STAGE_NAME).exists()
        if marked:
            assert len(said) == 1 and _STOPPED in said[0]
            assert _digests(copy, cache) == new
            outcomes.append("mix" if seen not in (old, new) else "completed")
        else:
            assert said == [] and seen in (old, new) and _digests(copy, cache) == seen
            outcomes.append("old" if seen == old else "new")
    rank = {"old": 0, "completed": 1, "mix": 1, "new": 2}
    assert [rank[o] for o in outcomes] == sorted(rank[o] for o in outcomes)
    # Killed before the entries are renamed, between two of them, and after.
    assert {"old", "mix", "new"} <= set(outcomes)


_KILL_WHILE_PUT_IN_PLACE = """
import json, os, sys
from pathlib import Path
from pipelines.config import config_from_dict
from pipelines.scenarios import run_scenarios

config = config_from_dict(json.loads(sys.argv[1]), source="test.yaml")
manifest = (Path(config.outputs.folder) / "manifest.json").resolve()
real = os.replace

def replace(source, target, **kwargs):
    if Path(target).resolve() == manifest:  # config.yaml and figures/ are in place already
        print("putting the manifest in place", flush=True)
        sys.stdin.read()  # until killed
    return real(source, target, **kwargs)

os.replace = replace
run_scenarios(config)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGKILL on Windows")
def test_a_kill_9_while_the_files_are_put_in_place_is_completed_by_ilots_report(run_copy):
    folder, data = run_copy
    run_scenarios(_config(data, [_one_scenario("old_x7")], **FAST, replicates=1))
    config = {**data, "scenarios": [_one_scenario("new_y8")],
              "scenario_model": {**data["scenario_model"], **FAST, "replicates": 1}}  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", _KILL_WHILE_PUT_IN_PLACE, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "putting the manifest in place"
    child.kill()
    assert child.wait() == -signal.SIGKILL

    def names():
        scenarios = yaml.safe_load((folder / "config.yaml").read_text())["scenarios"]
        manifest = json.loads((folder / "manifest.json").read_text())
        return {
            "config.yaml": [spec["name"] for spec in scenarios],
            "manifest.json": [row["scenario"] for row in manifest["scenarios"]["comparison"]],
            "comparison.csv": pd.read_csv(folder / "scenarios" / "comparison.csv")[
                "scenario"
            ].tolist(),
            "scenarios/": sorted(p.name for p in (folder / "scenarios").iterdir() if p.is_dir()),
        }

    # Killed halfway: the folder's files disagree (the config names the new scenario).
    assert names() == {"config.yaml": ["new_y8"], "manifest.json": ["old_x7"],
                       "comparison.csv": ["old_x7"], "scenarios/": ["old_x7"]}  # fmt: skip
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {folder}: {_STOPPED}; its new config.yaml, figures/, manifest.json, "
        "report.html, scenarios/ are now all in place, so they agree again"
    ]
    assert set(map(tuple, names().values())) == {("new_y8",)}
    # The manifest records the files on disk: every scenario file, with its digest (the
    # copied manifest also lists the demo folder's, elsewhere).
    written = [folder.resolve() / "scenarios", folder.resolve() / "config.yaml"]
    listed = json.loads((folder / "manifest.json").read_text())["outputs"]
    where = {output_path(r["path"], folder.resolve()): r.get("sha256") for r in listed}
    recorded = {
        str(path): digest
        for path, digest in where.items()
        if any(path.is_relative_to(entry) for entry in written)
    }
    on_disk = {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in [*written[0].rglob("*"), written[1]]
        if path.is_file()
    }
    assert recorded == on_disk and len(on_disk) > 5
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "new_y8" in report and "old_x7" not in report
    assert not (folder / STAGE_NAME).exists()


def test_a_config_of_an_earlier_version_names_the_keys_it_lacked():
    from pipelines.scenarios.pipeline import _differing_keys

    old = {"heat_island": {"ring_outer_km": 10}, "inequality": {"bootstrap": 999}}
    new = {"heat_island": {"ring_outer_km": 10, "min_reference_frac": 0.1},
           "inequality": {"bootstrap": 9999}}  # fmt: skip
    assert _differing_keys(old, new) == ["heat_island.min_reference_frac", "inequality.bootstrap"]
    assert _differing_keys(new, new) == []


@pytest.mark.parametrize(("tag", "synthetic"), [("1", True), ("yes", True), ("false", False)])
def test_the_baseline_reads_the_synthetic_tag_as_the_other_commands(run_copy, tag, synthetic):
    """Issue #5: ``synthetic=1`` or ``yes`` on lst_anomaly.tif is synthetic, as ilots zonal
    and the report read the tag (provenance.truthy); only ``"true"`` was."""
    folder, data = run_copy
    _unmark_inequality(folder)  # the tag alone says it
    path = folder / "rasters" / "lst_anomaly.tif"
    with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.update_tags(synthetic=tag)
    with rasterio.open(path) as src:
        assert src.tags()["synthetic"] == tag  # the tag the baseline reads, rewritten
    assert read_baseline(folder, _config(data, [])).synthetic is synthetic


def _unmark_inequality(folder):
    path = folder / "inequality.json"
    saved = json.loads(path.read_text())
    assert saved.pop("synthetic") is True  # the demo's mark, removed
    path.write_text(json.dumps(saved))


@pytest.mark.parametrize("said", [True, "true", False, "false"])
def test_the_baseline_is_synthetic_when_its_inequality_json_says_so(run_copy, said):
    """Issue #5: a run whose lst_anomaly.tif lost its tag (rewritten by another tool) but
    whose inequality.json says synthetic is still synthetic; "false" there is no."""
    folder, data = run_copy
    path = folder / "rasters" / "lst_anomaly.tif"
    with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.update_tags(synthetic="false")
    saved = json.loads((folder / "inequality.json").read_text())
    (folder / "inequality.json").write_text(json.dumps({**saved, "synthetic": said}))
    assert read_baseline(folder, _config(data, [])).synthetic is (said in (True, "true"))
