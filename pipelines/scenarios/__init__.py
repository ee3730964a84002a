"""Planner scenarios: fit surface temperature to land cover, apply changes, compare.

A city asks "if we green these QPV, or put cool roofs on the industrial zone, how much cooler
does it get, where, for how many m², and does the gap between QPV and the rest shrink?".
This package answers with a model fitted on the run itself:

1. :mod:`.predictors` — per pixel of the run's grid: NDVI, albedo, built / vegetation / water
   shares of the neighbourhood, distance to water and to dense vegetation;
2. :mod:`.model` — a scikit-learn estimator of the run's ΔT (or LST) on those predictors,
   with its skill by spatially blocked cross-validation; scenarios are refused below a
   threshold unless forced;
3. :mod:`.where` and :mod:`.apply` — each scenario's area and its changes (NDVI add / set /
   cap, reclassify a share of a class, albedo add / set), in order;
4. :mod:`.effect` — ΔT = predicted(scenario) − predicted(baseline), never minus the observed
   value;
5. :mod:`.compare` and :mod:`.figures` — per-zone ΔT, inequality recomputed, the comparison
   table and figures; :mod:`.pipeline` runs it all (``ilots scenarios``).

Public API
----------
``run_scenarios(config, *, out=None, force=False, echo=None) -> ScenariosResult``
    Reuse (or make) the run folder, fit, apply, compare, write ``scenarios/``.
``fit_model``, ``blocked_cv``, ``check_skill``, ``ScenarioModel``, ``CrossValidation``
    The model and its skill.
``compute_predictors``, ``Surface``, ``apply_changes``, ``predict_effect``, ``where_mask``
    The steps, for notebooks and tests.
"""

from pipelines.scenarios.apply import Applied, apply_changes
from pipelines.scenarios.baseline import Baseline, read_baseline
from pipelines.scenarios.compare import COMPARISON_COLUMNS
from pipelines.scenarios.effect import Effect, predict_effect
from pipelines.scenarios.errors import ModelSkillError, ScenarioError
from pipelines.scenarios.model import (
    CrossValidation,
    ScenarioModel,
    blocked_cv,
    check_skill,
    fit_model,
    make_estimator,
    spatial_blocks,
)
from pipelines.scenarios.pipeline import (
    ScenariosResult,
    run_matches,
    run_mismatch,
    run_scenarios,
)
from pipelines.scenarios.predictors import (
    PREDICTORS,
    Surface,
    compute_predictors,
    update_predictors,
)
from pipelines.scenarios.where import where_mask

__all__ = [
    "COMPARISON_COLUMNS",
    "PREDICTORS",
    "Applied",
    "Baseline",
    "CrossValidation",
    "Effect",
    "ModelSkillError",
    "ScenarioError",
    "ScenarioModel",
    "ScenariosResult",
    "Surface",
    "apply_changes",
    "blocked_cv",
    "check_skill",
    "compute_predictors",
    "fit_model",
    "make_estimator",
    "predict_effect",
    "read_baseline",
    "run_matches",
    "run_mismatch",
    "run_scenarios",
    "spatial_blocks",
    "update_predictors",
    "where_mask",
]
