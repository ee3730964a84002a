"""Spatially blocked cross-validation on analytic cases, monotonic responses, the skill gate."""

import json

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from pipelines.config import ScenarioModelConfig
from pipelines.scenarios import (
    ModelSkillError,
    ScenarioError,
    blocked_cv,
    check_skill,
    fit_model,
    make_estimator,
    spatial_blocks,
)
from pipelines.scenarios.model import refit
from pipelines.scenarios.pipeline import median_fit
from pipelines.scenarios.predictors import PREDICTORS, RESPONSE_SIGNS


def _grid(n):
    rows, cols = np.mgrid[0:n, 0:n]
    return rows.ravel(), cols.ravel()


def test_blocks_by_hand():
    rows = np.array([0, 0, 3, 3, 4, 7])
    cols = np.array([0, 4, 0, 4, 0, 7])
    # 30 m pixels, 120 m blocks: 4 pixels per block edge; two block columns.
    assert list(spatial_blocks(rows, cols, 30.0, 120.0)) == [0, 1, 0, 1, 2, 3]


def test_exactly_linear_target_has_r2_one_and_zero_rmse():
    rows, cols = _grid(40)
    x = np.random.default_rng(1).uniform(0, 1, rows.size)
    y = 2.0 * x + 1.0
    cv, oof = blocked_cv(
        LinearRegression(), x[:, None], y, rows, cols, resolution=30, block_m=300, folds=5
    )
    assert cv.r2 == pytest.approx(1.0, abs=1e-12)
    assert cv.rmse_k == pytest.approx(0.0, abs=1e-9)
    assert (cv.folds, cv.n_blocks, cv.n_pixels) == (5, 16, 1600)
    np.testing.assert_allclose(oof, y, atol=1e-9)


def test_pure_noise_has_no_skill():
    rows, cols = _grid(60)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(rows.size, 3)), rng.normal(size=rows.size)
    cv, _ = blocked_cv(LinearRegression(), x, y, rows, cols, resolution=30, block_m=300, folds=5)
    assert cv.r2 <= 0.01
    assert cv.rmse_k == pytest.approx(1.0, abs=0.1)


def test_held_out_blocks_are_predicted_from_the_others_only():
    # Four 2 x 2 blocks of constant values 1, 2, 3, 4, four folds: each block is predicted by
    # the mean of the other three (DummyRegressor). By hand: residuals -2, -2/3, 2/3, 2 on 4
    # pixels each: SS_res = 4 (8 + 8/9) = 320/9; SS_tot = 4 (2.25 + .25 + .25 + 2.25) = 20.
    rows, cols = _grid(4)
    value = 1 + 2 * (rows // 2) + (cols // 2)  # blocks 1 2 / 3 4
    cv, oof = blocked_cv(
        DummyRegressor(), np.zeros((16, 1)), value.astype(float), rows, cols,
        resolution=10, block_m=20, folds=4,
    )  # fmt: skip
    assert cv.r2 == pytest.approx(1 - (320 / 9) / 20)
    assert cv.rmse_k == pytest.approx(np.sqrt(20 / 9))
    assert oof[value == 1] == pytest.approx(3.0)
    assert oof[value == 4] == pytest.approx(2.0)


def test_fewer_blocks_than_folds_is_an_error():
    rows, cols = _grid(10)
    with pytest.raises(ScenarioError, match="block_m"):
        blocked_cv(
            LinearRegression(), np.ones((100, 1)), np.ones(100), rows, cols,
            resolution=30, block_m=1000, folds=5,
        )  # fmt: skip


def test_gradient_boosting_responses_follow_the_physical_signs():
    names = PREDICTORS
    estimator = make_estimator("gradient_boosting", names)
    assert list(estimator.monotonic_cst) == [RESPONSE_SIGNS[n] for n in names]
    assert RESPONSE_SIGNS["ndvi"] == -1 and RESPONSE_SIGNS["albedo"] == -1
    # Data where temperature *rises* with NDVI: the constrained model cannot follow it.
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (1000, len(names)))
    y = 5 * X[:, 0] + rng.normal(0, 0.1, 1000)
    with threadpool_limits(limits=1):  # OpenMP threads fight over shared CI cores
        fitted = estimator.fit(X, y)
        sweep = np.tile(X.mean(axis=0), (21, 1))
        sweep[:, 0] = np.linspace(0, 1, 21)
        assert np.all(np.diff(fitted.predict(sweep)) <= 1e-12)


def _case(noise):
    """A 60 x 60 grid whose target is linear in NDVI plus noise of the given size."""
    rng = np.random.default_rng(5)
    ndvi = rng.uniform(0, 0.8, (60, 60))
    predictors = {"ndvi": ndvi, "built_share": 1 - ndvi, "water_share": np.zeros((60, 60))}
    target = -6 * ndvi + noise * rng.normal(size=(60, 60))
    target[0, :5] = np.nan
    return target, predictors


def test_model_json_and_dropped_constant_predictors():
    target, predictors = _case(0.1)
    settings = ScenarioModelConfig(block_m=300, sample=2000, estimator="ridge")
    model = fit_model(target, predictors, settings, resolution=30)
    assert model.predictors == ("ndvi", "built_share")
    assert "water_share" in model.dropped
    record = json.loads(json.dumps(model.to_json()))
    assert {"estimator", "target", "predictors", "cv", "threshold", "forced", "seed"} <= set(record)
    assert set(record["cv"]) >= {"r2", "rmse_k", "folds", "block_m", "n_pixels"}
    assert record["cv"]["n_pixels"] == 2000 and record["threshold"] == 0.5
    assert record["cv"]["r2"] > 0.9 and model.passed
    check_skill(model)  # passes: no error
    again = fit_model(target, predictors, settings, resolution=30)
    assert again.cv == model.cv  # seeded sample and folds: reproducible


def test_model_json_holds_the_ridge_fit_to_predict_by_hand():
    """model.json's ridge parameters reproduce its predictions by the formula it states."""
    target, predictors = _case(0.1)
    settings = ScenarioModelConfig(block_m=300, sample=2000, estimator="ridge")
    model = fit_model(target, predictors, settings, resolution=30)
    fitted = json.loads(json.dumps(model.to_json(), allow_nan=False))["parameters"]
    assert fitted["features"] == [
        "ndvi", "built_share", "ndvi^2", "ndvi built_share", "built_share^2"
    ]  # fmt: skip
    assert fitted["alpha"] in np.logspace(-3, 3, 13)
    pixels = np.zeros((60, 60), dtype=bool)
    pixels[10, :7] = True
    x = np.column_stack([predictors[name][pixels] for name in ("ndvi", "built_share")])
    mean = np.array(list(fitted["predictor_mean"].values()))
    z = (x - mean) / np.array(list(fitted["predictor_scale"].values()))
    f = np.column_stack([z[:, 0], z[:, 1], z[:, 0] ** 2, z[:, 0] * z[:, 1], z[:, 1] ** 2])
    f = (f - np.array(fitted["feature_mean"])) / np.array(fitted["feature_scale"])
    by_hand = fitted["intercept"] + f @ np.array(fitted["coefficients"])
    np.testing.assert_allclose(by_hand, model.predict(predictors, pixels), rtol=0, atol=1e-9)


def test_model_json_holds_the_gradient_boosting_settings():
    target, predictors = _case(0.1)
    settings = ScenarioModelConfig(block_m=300, sample=2000, seed=7)
    fitted = fit_model(target, predictors, settings, resolution=30).to_json()["parameters"]
    # The module docstring's settings, and the seed.
    assert fitted["hyper_parameters"] == {
        "max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 40,
        "l2_regularization": 1.0, "early_stopping": False, "random_state": 7,
    }  # fmt: skip
    assert fitted["n_trees"] == 100 and fitted["coefficients"] is None
    assert "seed" in fitted["reproducible"]


def test_weak_model_is_refused_unless_forced():
    target, predictors = _case(8.0)  # the signal is lost in the noise
    settings = ScenarioModelConfig(block_m=300, sample=2000, estimator="ridge", r2_min=0.5)
    model = fit_model(target, predictors, settings, resolution=30)
    assert model.cv.r2 < 0.5 and not model.passed
    with pytest.raises(ModelSkillError) as err:
        check_skill(model)
    message = str(err.value)
    assert "r2_min 0.5" in message and "force" in message and "\n" not in message
    forced = fit_model(
        target, predictors, settings.model_copy(update={"force": True}), resolution=30
    )
    check_skill(forced)  # no error
    assert forced.to_json()["forced"] is True and forced.to_json()["passed"] is False
    check_skill(model, force=True)


def test_extrapolation_notes_from_one_percent_of_the_pixels():
    from types import SimpleNamespace

    from pipelines.scenarios.pipeline import extrapolation_notes

    trees = SimpleNamespace(kind="gradient_boosting", ranges={"albedo": (0.05, 0.25),
                                                                "ndvi": (0.0, 0.9)})  # fmt: skip
    outside = {"albedo": 0.96, "ndvi": 0.004}
    notes = extrapolation_notes("scenarios[1] 'roofs'", outside, trees, 250)
    # 0.4 % of the pixels is no note (it printed "0 %" in every scenario); 96 % is.
    assert notes == [
        "scenarios[1] 'roofs': 96% of the 250 pixels it edits that have a prediction (their "
        "neighbours not counted) have albedo outside the fitted range [0.05, 0.25]; the "
        "model's response is held there, so the effect is conservative"
    ]
    assert extrapolation_notes("s", {"ndvi": 0.01}, trees, 100)[0].startswith("s: 1% of")
    # Ridge on degree-2 polynomial features is quadratic: no "linear" extrapolation.
    ridge = SimpleNamespace(kind="ridge", ranges=trees.ranges)
    note = extrapolation_notes("s", {"ndvi": 0.5}, ridge, 10)[0]
    assert "linear" not in note and note.endswith(
        "the model (ridge on the predictors, their squares and their pairwise products, a "
        "quadratic surface) extends its curve there with no data to check it, so the effect "
        "is unsure"
    )


def test_the_extrapolated_share_is_of_the_edited_pixels_not_their_neighbours():
    """One pixel's NDVI pushed out of the fitted range, its nine neighbours changed only
    through their vegetation share (inside the range): 1 of 1 edited pixels, not 1 of 10."""
    from types import SimpleNamespace

    from pipelines.scenarios.effect import predict_effect

    def predict(predictors, where):
        return -10.0 * predictors["ndvi"][where] - predictors["vegetation_share"][where]

    model = SimpleNamespace(
        predictors=("ndvi", "vegetation_share"),
        ranges={"ndvi": (0.0, 0.5), "vegetation_share": (0.0, 1.0)},
        predict=predict,
    )
    before = {"ndvi": np.full(10, 0.2), "vegetation_share": np.full(10, 0.1)}
    after = {"ndvi": before["ndvi"].copy(), "vegetation_share": np.full(10, 0.2)}
    after["ndvi"][0] = 0.9
    edited = np.zeros(10, dtype=bool)
    edited[0] = True
    effect = predict_effect(model, before, after, np.zeros(10), edited)
    assert effect.predicted.all()  # all ten predicted: their predictors changed
    assert effect.outside_range == {"ndvi": 1.0} and effect.outside_of == 1
    # ΔT by hand: -10 x 0.7 - 0.1 at the edited pixel, -0.1 at its neighbours.
    np.testing.assert_allclose(effect.delta, [-7.1] + [-0.1] * 9)


@pytest.mark.parametrize("fit_area", ["zones", "grid"])
def test_too_few_pixels_says_what_to_change(fit_area):
    target, predictors = _case(0.1)
    target[:, :] = np.nan
    target[:3, :3] = 1.0  # 9 usable pixels
    settings = ScenarioModelConfig(block_m=300, sample=2000, fit_area=fit_area)
    with pytest.raises(ScenarioError) as err:
        fit_model(target, predictors, settings, resolution=30)
    text = str(err.value)
    assert text.startswith("only 9 pixels have") and "\n" not in text
    assert ("scenario_model.fit_area: grid" in text) == (fit_area == "zones")


@pytest.mark.parametrize("estimator", ["gradient_boosting", "ridge"])
def test_a_refit_with_the_models_seed_is_the_model_and_another_seed_another(estimator):
    target, predictors = _case(0.5)
    settings = ScenarioModelConfig(block_m=300, sample=1000, estimator=estimator, seed=3)
    model = fit_model(target, predictors, settings, resolution=30)
    everywhere = np.isfinite(target)
    same = refit(model, target, predictors, seed=3)
    np.testing.assert_array_equal(
        same.predict(predictors, everywhere), model.predict(predictors, everywhere)
    )
    assert same.ranges == model.ranges and same.cv == model.cv
    other = refit(model, target, predictors, seed=4)  # another sample of 1,000 of 3,595
    assert not np.array_equal(
        other.predict(predictors, everywhere), model.predict(predictors, everywhere)
    )
    assert other.predictors == model.predictors and other.cv == model.cv


def test_refits_differ_when_the_sample_takes_every_pixel():
    """sample above the usable pixels: the model fits them all, and a refit draws them with
    replacement (a bootstrap), else every refit would be the model; the refit with the
    model's seed too, so that the replicates are alike."""
    target, predictors = _case(0.5)
    settings = ScenarioModelConfig(block_m=300, sample=5000, estimator="ridge", seed=3)
    model = fit_model(target, predictors, settings, resolution=30)
    everywhere = np.isfinite(target)
    assert model.cv.n_pixels == int(everywhere.sum()) < 5000
    first = model.predict(predictors, everywhere)
    for seed in (3, 4, 5):
        again = refit(model, target, predictors, seed=seed).predict(predictors, everywhere)
        assert not np.allclose(again, first, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([-7.1, -5.3, -6.7], 2),  # odd count: the middle value
        ([-7.1, -5.3, -6.7, -6.3], 3),  # even: of -6.7 and -6.3, the smaller effect
        ([0.4, 1.0, -0.2, 2.0], 0),  # of 0.4 and 1.0 (either sign), the one nearer 0
        ([-1.0, 1.0], 0),  # the same size: the earlier fit
        ([1.0, -1.0], 0),
        ([float("nan"), -3.0, -1.0, -2.0], 3),  # a fit without a value is left out
        ([float("nan"), float("nan")], 0),  # none: the model's own fit
        ([-2.5], 0),
    ],
)
def test_median_fit_by_hand(values, expected):
    assert median_fit(values) == expected
