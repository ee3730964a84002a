"""The scenario model: surface temperature explained by land cover, and its honest skill.

Estimators (``scenario_model.estimator``)
-----------------------------------------
``gradient_boosting`` (default)
    :class:`sklearn.ensemble.HistGradientBoostingRegressor` (100 iterations, learning rate
    0.1, at most 31 leaves, at least 40 pixels per leaf, L2 regularisation 1) with
    **monotonic constraints** (:data:`~.predictors.RESPONSE_SIGNS`): the predicted
    temperature never rises with NDVI, albedo, vegetation or water share, never falls with
    built share or distance to water and parks. It captures the non-linear class contrasts of
    urban surfaces; like every tree model it does not extrapolate: beyond the largest (or
    smallest) value of a predictor it saw, its response is flat, so scenarios that push a
    predictor outside that range get a conservative effect (each scenario reports the share
    of changed pixels outside the fitted range).
``ridge``
    :class:`sklearn.linear_model.RidgeCV` (alpha chosen among 10^-3..10^3 by efficient
    leave-one-out) on the standardised predictors, their squares and their pairwise
    products: a quadratic surface, not a linear one. Beyond the range of a predictor it saw,
    it follows that curve (its slope keeps changing), with no data to check it and no sign
    guarantee.

Skill: spatially blocked cross-validation
-----------------------------------------
Neighbouring pixels are alike, so random folds would let the model memorise its test pixels'
neighbours and overstate its skill. The grid is cut into square blocks of ``block_m`` metres;
whole blocks are assigned to ``folds`` folds (:class:`sklearn.model_selection.GroupKFold`);
each fold is predicted by a model fitted on the others. R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² and
RMSE (K) are those of the pooled out-of-fold predictions (the per-fold R² are kept too).
Scenarios are refused (:class:`~.errors.ModelSkillError`) when R² < ``r2_min`` (default 0.5:
the model must explain at least half of the spatial variance of the target it is asked to
change) unless ``force`` is set.

The fit uses ``sample`` pixels drawn without replacement (seeded) among the pixels of the fit
area (``fit_area``: the run's zones by default) where the target and every predictor are
known; predictors constant over them (e.g. no water pixel in the land cover) are dropped and
recorded. Fitting and prediction run on one thread (:func:`threadpoolctl.threadpool_limits`):
the sample is small, and OpenMP threads competing with Dask workers or other processes for
the same cores slow gradient boosting down by orders of magnitude.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from threadpoolctl import threadpool_limits

from pipelines.config.scenarios import ScenarioModelConfig
from pipelines.scenarios.errors import ModelSkillError, ScenarioError
from pipelines.scenarios.predictors import PREDICTORS, RESPONSE_SIGNS

__all__ = [
    "MIN_PIXELS",
    "CrossValidation",
    "ScenarioModel",
    "blocked_cv",
    "check_skill",
    "fit_model",
    "fitted_parameters",
    "make_estimator",
    "refit",
    "spatial_blocks",
]

#: Fewest pixels with a known target and predictors to fit a model on.
MIN_PIXELS = 200
_CV_METHOD = (
    "spatially blocked k-fold: square blocks of block_m metres assigned whole to folds "
    "(GroupKFold); R² and RMSE of the pooled out-of-fold predictions"
)


def make_estimator(kind: str, predictors: tuple[str, ...], seed: int = 0) -> RegressorMixin:
    """Build the unfitted estimator ``kind`` for the given predictor columns.

    Parameters
    ----------
    kind
        ``"gradient_boosting"`` or ``"ridge"`` (see the module docstring).
    predictors
        Column names of the design matrix, in order (for the monotonic constraints).
    seed
        Random state of the estimator.

    Returns
    -------
    sklearn estimator
    """
    if kind == "gradient_boosting":
        return HistGradientBoostingRegressor(
            max_iter=100,
            learning_rate=0.1,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            monotonic_cst=[RESPONSE_SIGNS[name] for name in predictors],
            early_stopping=False,
            random_state=seed,
        )
    if kind == "ridge":
        return make_pipeline(
            StandardScaler(),
            PolynomialFeatures(degree=2, include_bias=False),
            StandardScaler(),
            RidgeCV(alphas=np.logspace(-3, 3, 13)),
        )
    raise ValueError(f"unknown estimator {kind!r}; use gradient_boosting or ridge")


def spatial_blocks(
    rows: np.ndarray, cols: np.ndarray, resolution: float, block_m: float
) -> np.ndarray:
    """Label each pixel (row, column) with its square block of ``block_m`` metres.

    Blocks start at the grid's top-left corner; labels are non-negative integers.
    """
    if block_m <= 0 or resolution <= 0:
        raise ValueError("block_m and resolution must be > 0")
    size = block_m / resolution
    brow = np.floor(np.asarray(rows) / size).astype(np.int64)
    bcol = np.floor(np.asarray(cols) / size).astype(np.int64)
    return brow * (int(bcol.max(initial=0)) + 1) + bcol


@dataclass(frozen=True)
class CrossValidation:
    """Skill of a model by spatially blocked cross-validation.

    Attributes
    ----------
    r2, rmse_k
        R² and RMSE (target units, K) of the pooled out-of-fold predictions.
    folds, block_m
        Number of folds and block edge in metres.
    n_pixels, n_blocks
        Pixels and blocks the cross-validation used.
    fold_r2
        R² within each fold (around that fold's mean).
    """

    r2: float
    rmse_k: float
    folds: int
    block_m: float
    n_pixels: int
    n_blocks: int
    fold_r2: tuple[float, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return the record of ``model.json``'s ``cv`` key."""
        return {
            "r2": _finite(self.r2),
            "rmse_k": _finite(self.rmse_k),
            "folds": self.folds,
            "block_m": self.block_m,
            "n_pixels": self.n_pixels,
            "n_blocks": self.n_blocks,
            "fold_r2": [_finite(v) for v in self.fold_r2],
            "method": _CV_METHOD,
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum((y - predicted) ** 2))
    return 1.0 - residual / total if total > 0 else math.nan


def blocked_cv(
    estimator: RegressorMixin,
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    resolution: float,
    block_m: float,
    folds: int,
) -> tuple[CrossValidation, np.ndarray]:
    """Cross-validate ``estimator`` with whole spatial blocks held out per fold.

    Parameters
    ----------
    estimator
        An unfitted scikit-learn regressor (cloned for every fold).
    X, y
        Design matrix ``(n, p)`` and target ``(n,)`` of the sampled pixels.
    rows, cols
        Grid row and column of every sampled pixel.
    resolution
        Pixel size in metres.
    block_m
        Block edge in metres.
    folds
        Number of folds (at most the number of blocks).

    Returns
    -------
    CrossValidation, numpy.ndarray
        The skill, and the out-of-fold prediction of every pixel.

    Raises
    ------
    ScenarioError
        Fewer blocks than folds.
    """
    y = np.asarray(y, dtype=np.float64)
    groups = spatial_blocks(rows, cols, resolution, block_m)
    n_blocks = int(np.unique(groups).size)
    if n_blocks < folds:
        raise ScenarioError(
            f"scenario_model: only {n_blocks} blocks of {block_m:g} m hold usable pixels, fewer "
            f"than folds ({folds}); lower scenario_model.block_m or scenario_model.folds"
        )
    oof = np.empty_like(y)
    fold_r2 = []
    with threadpool_limits(limits=1):
        for train, test in GroupKFold(n_splits=folds).split(X, y, groups):
            model = clone(estimator).fit(X[train], y[train])
            oof[test] = model.predict(X[test])
            fold_r2.append(_r2(y[test], oof[test]))
    score = CrossValidation(
        r2=_r2(y, oof),
        rmse_k=float(np.sqrt(np.mean((y - oof) ** 2))),
        folds=folds,
        block_m=float(block_m),
        n_pixels=int(y.size),
        n_blocks=n_blocks,
        fold_r2=tuple(fold_r2),
    )
    return score, oof


@dataclass(frozen=True, eq=False)
class ScenarioModel:
    """A fitted scenario model with its skill and the range of every predictor it saw.

    ``sample``: the grid rows and columns of the pixels it was fitted on (a pixel a
    bootstrap draws more than once, as often); ``None`` when not known.
    """

    estimator: Any
    kind: str
    target: str
    predictors: tuple[str, ...]
    cv: CrossValidation
    ranges: Mapping[str, tuple[float, float]]
    dropped: Mapping[str, str]
    settings: ScenarioModelConfig
    sample: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def passed(self) -> bool:
        """Whether the cross-validated R² clears ``r2_min``."""
        return math.isfinite(self.cv.r2) and self.cv.r2 >= self.settings.r2_min

    def predict(self, predictors: Mapping[str, np.ndarray], where: np.ndarray) -> np.ndarray:
        """Predict the target at the pixels of boolean mask ``where`` (1-D, in row-major order)."""
        X = np.column_stack([predictors[name][where] for name in self.predictors])
        if X.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        with threadpool_limits(limits=1):
            return np.asarray(self.estimator.predict(X), dtype=np.float64)

    def ranges_record(self) -> dict[str, list[float]]:
        """Return the range of every predictor the model saw, ``[min, max]`` by name."""
        return {name: list(bounds) for name, bounds in self.ranges.items()}

    def to_json(self) -> dict[str, Any]:
        """Return the content of ``scenarios/model.json``."""
        record: dict[str, Any] = {
            "estimator": self.kind,
            "estimator_class": _estimator_text(self.estimator),
            "target": self.target,
            "target_units": "K",
            "predictors": list(self.predictors),
            "dropped_predictors": dict(self.dropped),
            "cv": self.cv.to_json(),
            "threshold": self.settings.r2_min,
            "passed": self.passed,
            "forced": self.settings.force,
            "seed": self.settings.seed,
            "replicates": self.settings.replicates,
            "sample": self.settings.sample,
            "fit_area": self.settings.fit_area,
            "window_px": self.settings.window_px,
            "distance_cap_m": self.settings.distance_cap_m,
            "ranges": self.ranges_record(),
            "ranges_of": "this model, fitted with scenario_model.seed; each scenario is "
            "predicted by its median fit (comparison.csv's fit_seed), whose ranges, those of "
            "its extrapolation notes, are its summary.json's fitted_ranges",
            "scikit_learn": sklearn.__version__,
            "effect": "predicted(scenario) - predicted(baseline), never minus the observed "
            "value: a constant bias of the model cancels, its error on the response to a "
            "change does not (and the after-scenario intervals leave it out)",
        }
        if self.kind == "gradient_boosting":
            record["monotonic_constraints"] = {n: RESPONSE_SIGNS[n] for n in self.predictors}
        record["parameters"] = fitted_parameters(self.estimator, self.predictors)
        record["parameters_of"] = (
            "this model, fitted with scenario_model.seed; each scenario's values, map and "
            "tables come from its median fit (comparison.csv's fit_seed), whose parameters are "
            "its summary.json's fitted_parameters"
        )
        return record


def fitted_parameters(estimator: Any, predictors: tuple[str, ...]) -> dict[str, Any]:
    """Return what a fitted estimator of :func:`make_estimator` is, for ``model.json``.

    Ridge: its pipeline's steps in order: the predictors' means and scales, the names of the
    polynomial features (``"ndvi built_share"`` a product, ``"ndvi^2"`` a square), their
    means and scales, then the coefficients on those standardised features, the intercept
    and the alpha chosen; enough to recompute a prediction by hand. Gradient boosting: its
    hyper-parameters and the number of trees fitted; a tree ensemble has no coefficients.
    """
    steps = getattr(estimator, "named_steps", None)
    if steps is None:
        params = estimator.get_params()
        return {
            "hyper_parameters": {
                key: params[key]
                for key in (
                    "max_iter",
                    "learning_rate",
                    "max_leaf_nodes",
                    "min_samples_leaf",
                    "l2_regularization",
                    "early_stopping",
                    "random_state",
                )
            },
            "n_trees": int(estimator.n_iter_),
            "coefficients": None,
            "reproducible": "a tree ensemble has no coefficients: its predictions are "
            "reproduced by fitting it again with the same scikit-learn version, "
            "scenario_model settings and seed (random_state) on the same run",
        }
    scale_in, poly, scale_poly, ridge = (step for _name, step in estimator.steps)
    return {
        "predictor_mean": dict(zip(predictors, _floats(scale_in.mean_), strict=True)),
        "predictor_scale": dict(zip(predictors, _floats(scale_in.scale_), strict=True)),
        "features": [str(name) for name in poly.get_feature_names_out(list(predictors))],
        "feature_mean": _floats(scale_poly.mean_),
        "feature_scale": _floats(scale_poly.scale_),
        "coefficients": _floats(ridge.coef_),
        "intercept": float(ridge.intercept_),
        "alpha": float(ridge.alpha_),
        "formula": "z = (x - predictor_mean) / predictor_scale; f = features of z (the z, "
        "their squares and pairwise products); prediction = intercept + sum(coefficients * "
        "(f - feature_mean) / feature_scale), in K",
    }


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values).ravel()]


def _estimator_text(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    if steps:
        return " -> ".join(type(step).__name__ for _name, step in steps)
    return type(estimator).__name__


def fit_model(
    target: np.ndarray,
    predictors: Mapping[str, np.ndarray],
    settings: ScenarioModelConfig,
    *,
    resolution: float,
) -> ScenarioModel:
    """Fit the scenario model of ``target`` on ``predictors`` and cross-validate it by blocks.

    Parameters
    ----------
    target
        The target raster (K), NaN where unknown.
    predictors
        Name → raster of :func:`~.predictors.compute_predictors`.
    settings
        ``scenario_model`` of the config.
    resolution
        Pixel size in metres.

    Returns
    -------
    ScenarioModel

    Raises
    ------
    ScenarioError
        Too few usable pixels, or fewer blocks than folds.
    """
    names = [name for name in PREDICTORS if name in predictors]
    usable = np.isfinite(target)
    for name in names:
        usable &= np.isfinite(predictors[name])
    n_usable = int(usable.sum())
    if n_usable < MIN_PIXELS:
        wider = ""
        if settings.fit_area == "zones":
            wider = ", or fit on the whole grid (scenario_model.fit_area: grid)"
        raise ScenarioError(
            f"only {n_usable} pixels have {settings.target} and every predictor (need "
            f"{MIN_PIXELS}); check the run's rasters (NDVI, land cover, LST) over the area" + wider
        )
    rows, cols = _fitting_sample(usable, settings.sample, settings.seed)
    dropped: dict[str, str] = {}
    kept = []
    for name in names:
        values = predictors[name][rows, cols]
        if float(values.min()) == float(values.max()):
            dropped[name] = f"constant ({float(values[0]):g}) over the fitted pixels"
        else:
            kept.append(name)
    if not kept:
        raise ScenarioError("every predictor is constant over the fitted pixels; nothing to fit")
    X = np.column_stack([predictors[name][rows, cols] for name in kept])
    y = np.asarray(target[rows, cols], dtype=np.float64)
    estimator = make_estimator(settings.estimator, tuple(kept), settings.seed)
    cv, _oof = blocked_cv(
        estimator,
        X,
        y,
        rows,
        cols,
        resolution=resolution,
        block_m=settings.block_m,
        folds=settings.folds,
    )
    with threadpool_limits(limits=1):
        fitted = clone(estimator).fit(X, y)
    ranges = {name: (float(X[:, k].min()), float(X[:, k].max())) for k, name in enumerate(kept)}
    return ScenarioModel(
        estimator=fitted,
        kind=settings.estimator,
        target=settings.target,
        predictors=tuple(kept),
        cv=cv,
        ranges=ranges,
        dropped=dropped,
        settings=settings,
        sample=(rows, cols),
    )


def check_skill(model: ScenarioModel, *, force: bool | None = None) -> None:
    """Refuse a model whose blocked cross-validated R² is below ``r2_min``, unless forced.

    Raises
    ------
    ModelSkillError
        R² below the threshold (or undefined) and neither ``force`` nor
        ``scenario_model.force``.
    """
    forced = model.settings.force if force is None else force
    if model.passed or forced:
        return
    cv = model.cv
    r2 = f"{cv.r2:.2f}" if math.isfinite(cv.r2) else "undefined"
    raise ModelSkillError(
        f"scenario model too weak to trust: spatially blocked cross-validated R² {r2} < "
        f"scenario_model.r2_min {model.settings.r2_min:g} (RMSE {cv.rmse_k:.2f} K, {cv.folds} "
        f"folds of {cv.block_m:g} m blocks, {cv.n_pixels} pixels); scenarios refused. Set "
        "scenario_model.force: true (or --force) to run them anyway, or lower r2_min"
    )


def _fitting_sample(usable: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of ``size`` pixels drawn (seeded) among the ``usable`` ones."""
    rows, cols = np.nonzero(usable)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(rows.size, size=min(size, rows.size), replace=False))
    return rows[pick], cols[pick]


def refit(
    model: ScenarioModel,
    target: np.ndarray,
    predictors: Mapping[str, np.ndarray],
    seed: int,
) -> ScenarioModel:
    """Fit ``model`` again on the pixels drawn with ``seed``.

    The same estimator and predictors, no cross-validation (the skill is the model's): one
    replicate of the scenario comparison's spread (``scenario_model.replicates``). The
    pixels are drawn as the model's (``sample`` of them, without replacement), so a refit
    with the model's seed is the model (returned as is). Where ``sample`` takes every usable
    pixel, they are drawn with replacement (a bootstrap), else every refit would be the
    model; then the refit with the model's seed is a bootstrap too, so that the replicates
    are alike (the model, on every pixel, would be the least noisy of them).
    """
    usable = np.isfinite(target)
    for name in model.predictors:
        usable &= np.isfinite(predictors[name])
    rows, cols = _fitting_sample(usable, model.settings.sample, seed)
    bootstrap = rows.size == int(usable.sum())  # the sample is every usable pixel
    if seed == model.settings.seed and not bootstrap:
        return model
    if bootstrap:
        pick = np.random.default_rng(seed).integers(0, rows.size, rows.size)
        rows, cols = rows[pick], cols[pick]
    X = np.column_stack([predictors[name][rows, cols] for name in model.predictors])
    y = np.asarray(target[rows, cols], dtype=np.float64)
    with threadpool_limits(limits=1):
        fitted = make_estimator(model.settings.estimator, model.predictors, seed).fit(X, y)
    ranges = {
        name: (float(X[:, k].min()), float(X[:, k].max()))
        for k, name in enumerate(model.predictors)
    }
    return dataclasses.replace(model, estimator=fitted, ranges=ranges, sample=(rows, cols))
