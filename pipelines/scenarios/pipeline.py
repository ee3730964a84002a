"""``ilots scenarios``: the baseline run, the model, each scenario, and their comparison.

:func:`run_scenarios` reuses the run folder of the config when it holds a finished run of the
same *run part* of the config (everything but ``scenarios``, ``scenario_model``,
``scheduler``, ``outputs.overwrite`` and ``outputs.folder``, which do not change the run's
numbers), and otherwise runs :func:`pipelines.run.run` first. It then writes, under
``<run folder>/scenarios/``::

    model.json                  estimator, target, predictors, blocked CV skill, threshold,
                                fitted parameters (ridge coefficients; boosting settings)
    comparison.csv              one row per scenario (pipelines.scenarios.compare)
    comparison.png              ΔT maps side by side and the QPV gap before and after
    <name>/delta_lst.tif        ΔT (K) COG on the run's grid
    <name>/delta_lst.png        ΔT map with the QPV outlined
    <name>/iris.csv, qpv.csv    per-zone ΔT and anomaly before and after (and extra layers)
    <name>/inequality.json      inequality metrics on the after-scenario anomaly (and .csv)
    <name>/summary.json         what was changed, where, the predictor ranges and the
                                parameters of its fit (fitted_ranges, fitted_parameters)
                                and the scenario's comparison row

and records the model skill and the comparison in ``manifest.json`` under ``scenarios``.
``model.json`` is written even when the model is refused for its skill, so that the refusal
can be read. With ``outputs.report`` (the default), ``report.html`` (and ``figures/``) is
rebuilt so that it shows the scenarios; ``config.yaml`` gains the scenarios as run.

These entries describe each other, so they are replaced together
(:func:`~pipelines.outputs.transaction.staged_entries`): written whole into
``.ilots-staged/`` first, then renamed in place. A failure or a kill before the renames
leaves the previous ones as they were; a kill during them leaves a folder that the next
command holding it (``ilots scenarios``, ``ilots report``, ``ilots run``) completes first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.config import ConfigError, RunConfig, apply_overrides
from pipelines.config.load import config_yaml
from pipelines.config.scenarios import ReclassifyChange, ScenarioSpec
from pipelines.inequality.shared import SharedDraws
from pipelines.outputs import RunFolder, write_inequality, write_json_atomic, write_rasters
from pipelines.outputs._atomic import ilots_version, recorded_writes, write_text_atomic
from pipelines.outputs.folder import StagedRunFolder, claimed
from pipelines.outputs.lock import run_folder_lock
from pipelines.outputs.manifest import file_record, input_path, output_path, sha256_file
from pipelines.outputs.rasters import period_tags
from pipelines.outputs.stale import previous_outputs
from pipelines.outputs.tables import with_synthetic_mark
from pipelines.outputs.transaction import carry_over, staged_entries
from pipelines.report.text import Messages
from pipelines.scenarios.apply import Applied, apply_changes
from pipelines.scenarios.baseline import Baseline, read_baseline
from pipelines.scenarios.compare import (
    COMPARISON_COLUMNS,
    OUTCOME,
    SPREAD_COLUMNS,
    TIE_K,
    group_deltas,
    inequality_of,
    is_range,
    layer_coverage,
    metric_value,
    zone_effects,
)
from pipelines.scenarios.effect import Effect, predict_effect
from pipelines.scenarios.errors import ModelSkillError, ScenarioError
from pipelines.scenarios.figures import comparison_figure, delta_map
from pipelines.scenarios.model import (
    ScenarioModel,
    check_skill,
    fit_model,
    fitted_parameters,
    refit,
)
from pipelines.scenarios.predictors import compute_predictors, update_predictors
from pipelines.scenarios.where import class_codes, usable_pixels, where_selection
from tiles.errors import IlotsWarning

__all__ = [
    "ScenariosResult",
    "best_fits",
    "extrapolated_share",
    "extrapolation_notes",
    "run_digest",
    "run_matches",
    "run_mismatch",
    "run_scenarios",
    "thin_sources",
    "thin_targets",
    "unpredictable_targets",
    "unpredicted_note",
]

#: Config keys that do not change a run's numbers (left out of the run-part digest).
_NOT_RUN_KEYS = ("scenarios", "scenario_model", "scheduler")
#: Keys of ``outputs`` that change no number of the run: whether and in which language the
#: report is written, whether the manifest hashes the inputs.
_REPORT_KEYS = ("report", "report_language", "hash_inputs")


@dataclass
class ScenariosResult:
    """What :func:`run_scenarios` did: the folder, the model, the comparison table."""

    folder: Path
    model: ScenarioModel
    comparison: pd.DataFrame
    reused_run: bool
    notes: list[str] = field(default_factory=list)
    #: The warnings of the run the scenarios made first (its manifest's; none when reused).
    run_warnings: list[str] = field(default_factory=list)

    def summary(self, with_warnings: bool = True) -> list[str]:
        """Lines for the terminal: the model's skill, one line per scenario, the warnings.

        ``with_warnings=False``: without the warnings (``ilots scenarios`` writes them to
        stderr).
        """
        cv = self.model.cv
        lines = [
            f"scenario model: {self.model.kind} on {self.model.target}, spatially blocked CV "
            f"R² {cv.r2:.2f}, RMSE {cv.rmse_k:.2f} K ({cv.folds} folds of {cv.block_m:g} m "
            f"blocks, {cv.n_pixels} pixels; threshold {self.model.settings.r2_min:g}"
            + (", forced" if not self.model.passed else "")
            + ")"
        ]
        replicates = self.model.settings.replicates
        if replicates > 1 and len(self.comparison):
            lines.append(
                f"values of the median fit [lowest, highest] over {replicates} fits of the "
                "model (scenario_model.replicates), its random part only"
            )
        for row in self.comparison.to_dict("records"):
            lines.append(scenario_line(row))
        lines.append(f"scenarios written to {self.folder / 'scenarios'}")
        if with_warnings:
            lines += [f"warning: {note}" for note in (*self.run_warnings, *self.notes)]
        return lines


def _number(value: Any, fmt: str) -> str:
    return format(float(value), fmt) if value is not None and math.isfinite(value) else "n/a"


def scenario_line(row: dict[str, Any]) -> str:
    """Describe a scenario's comparison row in one terminal line (ranges over replicates)."""

    def value(column: str, fmt: str) -> str:
        text = _number(row[column], fmt)
        low, high = row.get(f"{column}_min"), row.get(f"{column}_max")
        if low is not None and high is not None and is_range(low, high):
            text += f" [{_number(low, fmt)}, {_number(high, fmt)}]"
        return text

    area = f"{_number(row['area_changed_m2'] / 1e4, '.1f')} ha changed,"
    predicted = row.get("area_changed_predicted_m2")
    if predicted is not None:  # the mean over the changed pixels is over those predicted
        area += f" of which {_number(predicted / 1e4, '.1f')} ha with a prediction:"
    text = (
        f"scenario {row['scenario']}: {area} "
        f"mean ΔLST {value('changed_mean_delta_k', '+.2f')} K on them, "
        f"{value('mean_delta_k', '+.2f')} K over the target area, "
        f"{value('urban_mean_delta_k', '+.3f')} K over the city"
    )
    if math.isfinite(row["qpv_gap_before_k"]):
        text += (
            f", QPV gap {_number(row['qpv_gap_before_k'], '+.2f')} → "
            f"{value('qpv_gap_after_k', '+.2f')} K"
        )
    return text


def _run_part(config_json: dict[str, Any]) -> dict[str, Any]:
    """Return the run part of a config dumped as JSON: what changes the run's numbers.

    The scenario, scheduler and report keys are left out.
    """
    data = {k: v for k, v in config_json.items() if k not in _NOT_RUN_KEYS}
    outputs = dict(data.get("outputs") or {})
    outputs.pop("overwrite", None)
    outputs.pop("folder", None)  # a run folder may move; the manifest found is the one compared
    for key in _REPORT_KEYS:  # the scenarios rebuild the report as they are asked to
        outputs.pop(key, None)
    data["outputs"] = outputs
    return data


def run_digest(config_json: dict[str, Any]) -> str:
    """SHA-256 of the run part of a config dumped as JSON (:func:`_run_part`)."""
    text = json.dumps(_run_part(config_json), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _differing_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dumps (a key one lacks included)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            key
            for name in sorted(set(old) | set(new), key=str)
            for key in _differing_keys(old.get(name), new.get(name), f"{prefix}{name}.")
        ]
    return [] if old == new else [prefix.rstrip(".")]


def run_matches(folder: RunFolder, config: RunConfig) -> bool:
    """Whether ``folder`` holds a reusable run of ``config`` (:func:`run_mismatch`)."""
    return run_mismatch(folder, config) is None


def run_mismatch(folder: RunFolder, config: RunConfig) -> str | None:
    """Why ``folder`` cannot be reused for the scenarios of ``config``; None if it can.

    It can when it holds a finished run (manifest and ``lst_anomaly.tif``) of the run part
    of ``config`` whose input files are as the manifest recorded them: same size, and same
    SHA-256 where it has one (an edited zone or census file, a reprocessed product). A run
    folder moved or copied since the run is compared with its recorded paths moved alike
    (:func:`_moved_paths`).
    """
    if not folder.manifest.is_file():
        return "it holds no finished run (no manifest.json)"
    if not (folder.rasters / "lst_anomaly.tif").is_file():
        return "its rasters/lst_anomaly.tif is missing"
    try:
        manifest = json.loads(folder.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its manifest.json is unreadable"
    recorded = manifest.get("config")
    if not isinstance(recorded, dict):
        return "its manifest.json records no config"
    moved = _moved_paths(recorded, folder)
    recorded, inputs = _relocated((recorded, manifest.get("inputs") or []), *moved)
    # Relative input paths (manifest version 3) are the run folder's wherever it is now.
    inputs = [_resolved_input(entry, manifest, folder) for entry in inputs]
    current = config.model_dump(mode="json")
    if run_digest(recorded) != run_digest(current):
        keys = _differing_keys(_run_part(recorded), _run_part(current))
        named = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        verb = "differs" if len(keys) == 1 else "differ"
        version = manifest.get("ilots_version")
        earlier = f"it was written by ilots {version}" if version != ilots_version() else ""
        why = "; ".join(filter(None, [f"{named} {verb}" if keys else "", earlier]))
        return "it is a run of another config" + (f" ({why})" if why else "")
    for entry in inputs:
        changed = _input_change(entry)
        if changed is not None:
            return f"its input {entry.get('path')} {changed} since the run"
    return None


def _moved_paths(recorded: Mapping[str, Any], folder: RunFolder) -> tuple[str, str]:
    """Return the recorded folder and the folder it is now, to move recorded paths alike.

    The recorded run folder (``outputs.folder``) and ``folder``; or their parents when the
    run folder sits, under the same name, in a folder holding a ``config.yaml`` (a demo or
    project folder moved or copied whole, its inputs beside the run folder). The same
    folder twice when the run folder has not moved.
    """
    old = Path(str((recorded.get("outputs") or {}).get("folder") or folder.root))
    new = folder.root.resolve()
    if old != new and old.name == new.name and (new.parent / "config.yaml").is_file():
        old, new = old.parent, new.parent
    return str(old), str(new)


def _relocated(value: Any, old: str, new: str) -> Any:
    """``value`` (JSON data) with every path string under folder ``old`` moved to ``new``."""
    if isinstance(value, Mapping):
        return {key: _relocated(item, old, new) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_relocated(item, old, new) for item in value)
    if old != new and isinstance(value, str) and Path(value).is_relative_to(old):
        return str(Path(new) / Path(value).relative_to(old))
    return value


def _resolved_input(entry: Any, manifest: Mapping[str, Any], folder: RunFolder) -> Any:
    """Return a manifest's input record with its path where it is now (:func:`input_path`)."""
    if not isinstance(entry, Mapping) or entry.get("kind") not in ("file", "folder"):
        return entry
    return {**entry, "path": str(input_path(str(entry.get("path")), manifest, folder.root))}


def _input_change(entry: Mapping[str, Any]) -> str | None:
    """How a recorded input file differs from the manifest's record, or None."""
    if not isinstance(entry, Mapping) or entry.get("kind") not in ("file", "folder"):
        return None  # remote, or already missing when the run read it
    path = Path(str(entry.get("path")))
    files = (
        [(path / str(item["path"]), item) for item in entry.get("files") or []]
        if entry.get("kind") == "folder"
        else [(path, entry)]
    )
    for file, record in files:
        if not file.is_file():
            return "was removed"
        if file.stat().st_size != record.get("size"):
            return "changed size"
        if record.get("sha256") and sha256_file(file) != record["sha256"]:
            return "changed"
    return None


#: Share of a scenario's edited pixels with a prediction outside the model's fitted range of
#: a predictor from which the run says so (the exact shares are in ``comparison.csv`` and
#: ``summary.json``): below it, the fitting sample's extremes show up in every scenario as
#: "0 %" notes.
NOTE_OUTSIDE_SHARE = 0.01


def extrapolation_notes(
    label: str, outside: Mapping[str, float], model: ScenarioModel, of: int
) -> list[str]:
    """Say, per predictor, that the model is used outside its fitted range, and how.

    One note per predictor with at least :data:`NOTE_OUTSIDE_SHARE` of the ``of`` edited
    pixels with a prediction (:attr:`~pipelines.scenarios.effect.Effect.outside_of`)
    outside the range (``outside``: :attr:`~pipelines.scenarios.effect.Effect.outside_range`).
    """
    notes = []
    for name, share in outside.items():
        if share >= NOTE_OUTSIDE_SHARE:
            lo, hi = model.ranges[name]
            notes.append(
                f"{label}: {share:.0%} of the {of} pixels it edits that have a prediction "
                f"(their neighbours not counted) have {name} outside the fitted range "
                f"[{lo:.3g}, {hi:.3g}]; {beyond_range(model.kind)}"
            )
    return notes


def extrapolated_share(effect: Effect) -> float:
    """Largest share of a scenario's edited pixels with a prediction outside a fitted range.

    NaN when no edited pixel has a prediction (:attr:`~.effect.Effect.outside_of` 0): a
    share of no pixel is unknown, not 0.
    """
    if not effect.outside_of:
        return math.nan
    return max(effect.outside_range.values(), default=0.0)


def unpredicted_note(label: str, changed: np.ndarray, effect: Effect) -> str | None:
    """Say that none of the pixels a scenario changes has a prediction, or None.

    None too when it changes no pixel (:mod:`.apply` says so).
    """
    n_changed = int(changed.sum())
    if not n_changed or effect.outside_of:
        return None
    return (
        f"{label}: none of the {n_changed} pixels it changes has a prediction (no observed "
        "anomaly there, e.g. water or too few clear dates, or a predictor unknown): its "
        "effect on them is unknown, its mean over them and its extrapolated share are "
        "empty, and only their neighbours' predicted change counts; change pixels that have "
        "an observed temperature"
    )


def beyond_range(kind: str) -> str:
    """Say what the estimator ``kind`` does beyond the range of a predictor it was fitted on."""
    if kind == "gradient_boosting":
        return "the model's response is held there, so the effect is conservative"
    return (
        "the model (ridge on the predictors, their squares and their pairwise products, a "
        "quadratic surface) extends its curve there with no data to check it, so the effect "
        "is unsure"
    )


def _label(index: int, spec: ScenarioSpec) -> str:
    return f"scenarios[{index}] {spec.name!r}"


def _zone_pixels(baseline: Baseline) -> np.ndarray:
    """Pixels of any zone layer (what ``scenario_model.fit_area: zones`` fits on)."""
    inside = np.zeros(baseline.shape, dtype=bool)
    for frame in baseline.zones.values():
        inside |= baseline.mask_of(frame.geometry)
    return inside


def outside_fit_note(label: str, changed: np.ndarray, fitted: np.ndarray) -> str | None:
    """Say that a scenario changes pixels outside the area the model was fitted on, or None.

    ``fitted``: the pixels of ``scenario_model.fit_area: zones``. From
    :data:`NOTE_OUTSIDE_SHARE` of the changed pixels.
    """
    n_changed = int(changed.sum())
    share = int((changed & ~fitted).sum()) / n_changed if n_changed else 0.0
    if share < NOTE_OUTSIDE_SHARE:
        return None
    return (
        f"{label}: {share:.0%} of the changed pixels lie outside the zones the model was "
        "fitted on (scenario_model.fit_area: zones), e.g. in the rural ring: its effect there "
        "is extrapolated; fit_area: grid fits it on the whole grid"
    )


def run_scenarios(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
    source: str = "config",
) -> ScenariosResult:
    """Run the planner scenarios of ``config`` on its run folder and compare them.

    Parameters
    ----------
    config
        A validated config with a ``scenarios`` list.
    out
        Run folder, overriding ``outputs.folder``.
    force
        Run the scenarios even when the model's skill is below ``scenario_model.r2_min``
        (as ``scenario_model.force``).
    echo
        Where progress lines go (default: nowhere).
    source
        How messages about the inputs name the config (its file), when the run is made.

    Returns
    -------
    ScenariosResult

    Raises
    ------
    ConfigError
        No scenarios; a reclassification into or from water when the run leaves water out
        of the LST (:func:`unpredictable_targets`); or the run folder holds a run of another
        config and ``outputs.overwrite`` is false.
    ScenarioError
        A ``where`` matches nothing, an albedo change without albedo, a missing raster, a
        reclassification into a class the model was fitted on too few pixels of
        (:func:`thin_targets`);
        raised before any output is replaced (as is any failure while the scenarios, the
        manifest and the report are written: the previous ones stay as they were).
    ModelSkillError
        The model's blocked cross-validated R² is below the threshold and not forced;
        raised once ``scenarios/`` holds only ``model.json`` and the report and the
        manifest say so.
    """
    say = echo or (lambda _line: None)
    if out is not None:
        config = apply_overrides(config, {"outputs.folder": str(Path(out).resolve())})
    if not config.scenarios:
        raise ConfigError(
            "scenarios: the config lists no scenario; add a scenarios: list (name, where, "
            "change), e.g. as in the demo config (ilots demo writes config.yaml)"
        )
    unpredictable_targets(config, source)
    if force:
        settings = config.scenario_model.model_copy(update={"force": True})
        config = config.model_copy(update={"scenario_model": settings})
    with run_folder_lock(config.outputs.folder):  # no run nor scenarios write there meanwhile
        return _scenarios_in_folder(config, say, source)


def unpredictable_targets(config: RunConfig, source: str = "config") -> None:
    """Refuse, before any run, a reclassification into or from water when water has no LST.

    With ``mask.lst_keep_water`` false (the default), water pixels are left out of the LST:
    the model is fitted on no water pixel, so what it predicts for a pixel turned into
    water is a guess from the other classes, not an effect, and a water pixel turned into
    another class has no prediction to start from (its change would be unknown on every
    pixel it edits). The NDVI composite leaves the land cover's water out too
    (``mask.indices_keep_water`` false, the default): both keys must keep water. Even then,
    with Sentinel-2, the default ``mask.sentinel2_preset`` drops most of it, so water may
    still have almost no pixel in the fit: :func:`thin_targets` checks, once the model is
    fitted, the pixels of every class a scenario reclassifies into. From water, the pixels
    without an NDVI are left as they are, which the scenario's warnings say
    (:func:`~.apply.apply_changes`).

    Raises
    ------
    ConfigError
        Naming the config file ``source``, the change's key, the scenario and the class.
    """
    left_out = [(setting, what) for setting, what, kept in (
        ("mask.lst_keep_water", "LST", config.mask.lst_keep_water),
        ("mask.indices_keep_water", "NDVI", config.mask.indices_keep_water),
    ) if not kept]  # fmt: skip
    if not left_out:
        return
    lacks = " or ".join(what for _, what in left_out)
    out_of = " and ".join(what for _, what in left_out)
    settings = " and ".join(setting for setting, _ in left_out)
    false = f"{settings} {'is' if len(left_out) == 1 else 'are'} false"
    for key, name, change in _reclassifications(config):
        if change.to == "water":
            raise ConfigError(
                f"{source}: {key}.to: scenario {name!r} turns pixels into class water, which "
                f"has no {lacks} in this run ({false}): the model is fitted on no water "
                "pixel and cannot predict a pixel turned into water; reclassify into another "
                "class"
            )
        if change.from_ == "water":
            raise ConfigError(
                f"{source}: {key}.from: scenario {name!r} reclassifies pixels of class water, "
                f"which this run leaves out of the {out_of} ({false}): the model has no water "
                "pixel to start from and cannot predict their change; set "
                "mask.lst_keep_water: true and mask.indices_keep_water: true in the run's "
                "config (with Sentinel-2, also a mask.sentinel2_preset that keeps water's NDVI, "
                "e.g. conservative) and run it again to model water"
            )


def _reclassifications(config: RunConfig) -> Iterator[tuple[str, str, ReclassifyChange]]:
    """Each ``reclassify`` of the scenarios: its config key, its scenario's name, the change.

    The key is the change's (``scenarios[i].change[k].reclassify``): add ``.to`` or
    ``.from`` to name a class.
    """
    for i, spec in enumerate(config.scenarios):
        for k, change in enumerate(spec.change):
            if change.reclassify is not None:
                yield f"scenarios[{i}].change[{k}].reclassify", spec.name, change.reclassify


#: Fewest pixels of a class a scenario reclassifies into that the model's fitting sample
#: must hold: the gradient-boosting model's fewest pixels per leaf (``min_samples_leaf``).
#: With fewer, no part of the model rests on that class's pixels, and what it predicts for
#: a pixel turned into it is a guess from the other classes, not an effect. Of a class a
#: scenario reclassifies *from*, fewer is warned of (:func:`thin_sources`): the prediction
#: before the change, on those pixels, is then the guess.
MIN_TARGET_PIXELS = 40


def thin_targets(
    config: RunConfig, model: ScenarioModel, landcover: np.ndarray, source: str = "config"
) -> None:
    """Refuse a reclassification into a class the model's fitting sample barely holds.

    Counts, of each class a ``reclassify`` turns pixels into, the pixels of the fitting
    sample (:attr:`~.model.ScenarioModel.sample`); below :data:`MIN_TARGET_PIXELS`, refused
    (e.g. water, whose LST or NDVI the masks leave out).

    Raises
    ------
    ScenarioError
        Naming the config file ``source``, the change, the scenario, the class and the count.
    """
    if model.sample is None:
        return
    counts = np.bincount(landcover[model.sample].ravel(), minlength=256)
    for key, name, change in _reclassifications(config):
        into = change.to
        n = int(counts[class_codes([into])[0]])
        if n < MIN_TARGET_PIXELS:
            raise ScenarioError(
                f"{source}: {key}.to: scenario {name!r} turns pixels into class {into}, of which "
                f"the model's fitting sample holds {n} of its {model.sample[0].size} pixels "
                f"(fewer than {MIN_TARGET_PIXELS}: the masks leave out its LST or NDVI, or it "
                "is rare in the fit area), so the model cannot predict a pixel turned into it; "
                "reclassify into another class"
            )


def thin_sources(
    spec: ScenarioSpec,
    label: str,
    applied: Applied,
    fit: ScenarioModel,
    landcover: np.ndarray,
) -> tuple[tuple[str, ...], list[str]]:
    """Say of each reclassification how many pixels of its class ``from`` ``fit`` rests on.

    Each ``reclassify`` step (``applied.steps``: one per change of ``spec``, in order) gains
    the count of the distinct pixels of its class ``from`` in the fitting sample of ``fit``
    (:attr:`~.model.ScenarioModel.sample`, on the baseline ``landcover``); below
    :data:`MIN_TARGET_PIXELS`, for a step that converted pixels (``applied.converted``), a
    note (e.g. water under ``mask.lst_keep_water: true``,
    whose NDVI the default ``mask.indices_keep_water`` leaves out): what the model predicts for
    those pixels as they are is extrapolated from the other classes, and so is the effect.

    Returns
    -------
    tuple of str, list of str
        The steps, and the notes (prefixed by ``label`` and the change).
    """
    if fit.sample is None:
        return tuple(applied.steps), []
    rows, cols = fit.sample
    distinct = np.unique(np.ravel_multi_index((rows, cols), landcover.shape))
    counts = np.bincount(landcover.flat[distinct], minlength=256)
    out, notes = list(applied.steps), []
    for k, change in enumerate(spec.change):
        if change.reclassify is None:
            continue
        source = change.reclassify.from_
        n = int(counts[class_codes([source])[0]])
        out[k] += f", the model fitted on {n} {source} pixels"
        if n < MIN_TARGET_PIXELS and applied.converted[k]:
            notes.append(
                f"{label}: change[{k}] converts {source} pixels, of which the model's fitting "
                f"sample holds {n} of its {distinct.size} pixels (fewer than "
                f"{MIN_TARGET_PIXELS}: the masks leave out their LST or NDVI, or the class is "
                "rare in the fit area), so what it predicts for them as they are is "
                "extrapolated from the other classes, and so is the effect; for water, a run "
                "with mask.indices_keep_water: true (with Sentinel-2, also "
                "mask.sentinel2_preset: conservative) keeps more of it in the fit"
            )
    return tuple(out), notes


def _scenarios_in_folder(
    config: RunConfig, say: Callable[[str], None], source: str
) -> ScenariosResult:
    folder = RunFolder(Path(config.outputs.folder))
    mismatch = run_mismatch(folder, config)
    reused = mismatch is None
    run_warnings: list[str] = []
    if not reused:
        if folder.manifest.exists() and not config.outputs.overwrite:
            raise ConfigError(
                f"outputs.folder: {folder.root} cannot be reused: {mismatch}; set "
                "outputs.overwrite: true to run the pipeline there again, or choose another --out"
            )
        from pipelines.run import run

        say(f"running the pipeline into {folder.root} first: {mismatch}")
        run_warnings = list(run(config, source=source).warnings)
    else:
        say(f"reusing the finished run in {folder.root}")
    baseline = read_baseline(folder, config)
    areas, unseen = [], []  # per scenario, its pixels and those it selects without an NDVI
    for i, spec in enumerate(config.scenarios):
        selected = where_selection(spec.where, baseline, label=_label(i, spec))
        areas.append(usable_pixels(selected, spec.where, baseline, label=_label(i, spec)))
        unseen.append(selected & ~areas[-1])
    settings = config.scenario_model
    # Every scenario's changes are tried before the model is fitted and before any output is
    # replaced: a class absent from the run or an albedo change without albedo stops here.
    for i, (spec, area) in enumerate(zip(config.scenarios, areas, strict=True)):
        _applied(baseline, area, spec, settings.seed, _label(i, spec))
    grid_args = {
        "resolution": baseline.resolution,
        "window_px": settings.window_px,
        "distance_cap_m": settings.distance_cap_m,
    }
    before = compute_predictors(baseline.surface, **grid_args)
    # The model is fitted on the zones' pixels (fit_area: zones), or on the whole grid.
    zone_pixels = _zone_pixels(baseline) if settings.fit_area == "zones" else None
    target = baseline.target
    if zone_pixels is not None:
        target = np.where(zone_pixels, target, np.nan)
    model = fit_model(target, before, settings, resolution=baseline.resolution)
    thin_targets(config, model, baseline.surface.landcover, source)
    refused: ModelSkillError | None = None
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    # Everything the scenarios change is written whole aside, then put in place together: a
    # failure or a kill on the way leaves the previous scenarios/, report and manifest as
    # they were (killed while they are put in place, the next command completes it).
    with staged_entries(folder.root, by="ilots scenarios") as stage:
        new = StagedRunFolder(folder.root, stage)
        new.scenarios.mkdir()
        write_json_atomic(new.scenarios / "model.json", model.to_json())
        try:
            check_skill(model)
        except ModelSkillError as err:  # scenarios/ says so (model.json), as will the report
            refused = err
        else:
            rows, notes = _write_scenarios(
                baseline,
                new,
                config,
                (areas, unseen),
                model,
                before,
                grid_args,
                target,
                zone_pixels,
            )
        table = pd.DataFrame(rows, columns=None if rows else list(COMPARISON_COLUMNS))
        # A user's files in scenarios/ stay; the previous scenarios' files (listed) go.
        mine = carry_over(folder.root, stage, "scenarios", previous_outputs(folder) or ())
        _stage_records(new, config, model, table, notes, reused, mine)
    claimed(folder.root)  # its scenarios in place: the CLI's run log is written there
    if refused is not None:
        raise refused
    return ScenariosResult(
        folder=Path(folder.root), model=model, comparison=table[[*COMPARISON_COLUMNS]],
        reused_run=reused, notes=notes, run_warnings=run_warnings,
    )  # fmt: skip


def _stage_records(
    new: StagedRunFolder,
    config: RunConfig,
    model: ScenarioModel,
    table: pd.DataFrame,
    notes: list[str],
    reused: bool,
    mine: Collection[Path],
) -> None:
    """Stage the config, the manifest and the report that describe the staged scenarios/.

    ``mine``: the staged files of ``scenarios/`` that are a user's, not listed as outputs.
    """
    # The run folder's config.yaml (the run's) gains the scenarios as run here, so that
    # `ilots scenarios <folder>/config.yaml` reproduces scenarios/ (the run part is the same).
    write_text_atomic(new.config, config_yaml(config, new.final(new.config)))
    run = RunFolder(new.root)
    shutil.copy2(run.manifest, new.manifest)
    _update_manifest(new, model, table, notes, reused, ["config.yaml"], mine)
    if config.outputs.report:  # the report reads the staged manifest and scenarios/
        from pipelines.report import build_report

        if run.figures.is_dir():  # the report replaces its figures, and removes stale ones
            shutil.copytree(run.figures, new.figures)  # a user's files there too
        with recorded_writes(new.stage) as drawn:  # the figures listed: those it draws
            build_report(new, lang=config.outputs.report_language)
        _update_manifest(
            new, model, table, notes, reused, ["report.html", "figures"], mine, drawn=drawn()
        )


def _applied(
    baseline: Baseline,
    area: np.ndarray,
    spec: ScenarioSpec,
    seed: int,
    label: str,
    unseen: np.ndarray | None = None,
) -> Applied:
    """Apply a scenario's changes to the baseline surface (its notes not warned).

    ``unseen``: the pixels its ``where`` selects without an NDVI, which a reclassification
    leaves as they are and counts (:func:`~.apply.apply_changes`).
    """
    with warnings.catch_warnings():  # its warnings are in the result's notes, said once
        warnings.simplefilter("ignore", IlotsWarning)
        return apply_changes(
            baseline.surface,
            area,
            spec.change,
            seed=seed,
            name=draw_key(spec),
            label=label,
            unseen=unseen,
        )


def _scenario_surface(
    baseline: Baseline,
    area: np.ndarray,
    unseen: np.ndarray,
    spec: ScenarioSpec,
    label: str,
    before: Mapping[str, np.ndarray],
    grid_args: dict[str, Any],
    *,
    seed: int,
) -> tuple[Applied, Mapping[str, np.ndarray]]:
    """Return the scenario's changed surface (pixels drawn with ``seed``) and predictors.

    ``unseen``: the pixels its ``where`` selects without an NDVI (:func:`_applied`).
    """
    applied = _applied(baseline, area, spec, seed, label, unseen)
    return applied, update_predictors(before, baseline.surface, applied.surface, **grid_args)


def draw_key(spec: ScenarioSpec) -> str:
    """Return what seeds a scenario's random pixel choices (with ``scenario_model.seed``).

    Its ``where`` as JSON, not its name or place in the list; each ``reclassify`` adds the
    changes up to it (:func:`~.apply.apply_changes`), not those after it.
    """
    drawn = spec.model_dump(mode="json", include={"where"})
    return json.dumps(drawn, sort_keys=True, separators=(",", ":"))


def _write_scenarios(
    baseline: Baseline,
    out: RunFolder,
    config: RunConfig,
    areas: tuple[list[np.ndarray], list[np.ndarray]],
    model: ScenarioModel,
    before: Any,
    grid_args: dict[str, Any],
    target: np.ndarray,
    zone_pixels: np.ndarray | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Predict and write every scenario, then the comparison; return its rows and notes.

    ``out``: where ``scenarios/`` is written (the stage). ``areas``: per scenario, the pixels
    it applies to and those its ``where`` selects without an NDVI. ``target`` is what the
    model was fitted on (refits too), ``zone_pixels`` the pixels of ``fit_area: zones`` (None
    for the whole grid).

    Each scenario is predicted by every fit, seeds ``seed``, ``seed + 1``, ... (the first
    is the model itself, unless ``sample`` takes every usable pixel: then each fit is a
    bootstrap, :func:`~.model.refit`), the pixels of a partial reclassification redrawn with
    each seed, for the range of its effects. Its values, map and tables are those of its
    median fit (:func:`median_fit`), not of whichever fit the seed gives: one seed can give a
    fit at the edge of the range.
    """
    settings = config.scenario_model
    coverages = {
        layer: layer_coverage(baseline, layer, config.zones.method) for layer in baseline.zones
    }
    notes: list[str] = []
    shared = SharedDraws()  # the inequality's draws and weights, before and after each
    before_report = (
        inequality_of(baseline, config, notes=notes, shared=shared)
        if "iris" in baseline.zones
        else None
    )
    before_json = json.loads(before_report.to_json()) if before_report is not None else None
    gap_before = metric_value(before_json, "group_difference")
    city = _city(baseline)
    seeds = range(settings.seed, settings.seed + settings.replicates)
    fits = [refit(model, target, before, seed) for seed in seeds] if len(seeds) > 1 else [model]
    rows: list[dict[str, Any]] = []
    deltas: dict[str, np.ndarray] = {}
    gaps: list[list[float]] = []  # per scenario, the QPV gap after it in each fit
    summaries: list[dict[str, Any]] = []
    for i, (spec, area, unseen) in enumerate(zip(config.scenarios, *areas, strict=True)):
        label = _label(i, spec)
        args = (baseline, area, unseen, spec, label, before, grid_args)
        # Without a random draw of pixels, every fit predicts the same changed surface.
        fixed = None if _draws(spec) else _scenario_surface(*args, seed=settings.seed)
        trials = []  # the mean effects of each fit
        for seed, fit in zip(seeds, fits, strict=True):
            applied, after = fixed or _scenario_surface(*args, seed=seed)
            trial = predict_effect(fit, before, after, baseline.anomaly, applied.changed)
            delta = trial.delta
            iris = None
            if "iris" in baseline.zones:
                iris = zone_effects(baseline, "iris", coverages["iris"], delta, applied.changed)
            trials.append(_mean_effects(
                baseline, config, area, applied.changed & np.isfinite(delta), delta, iris, city,
                gap_before,
            ))  # fmt: skip
        point = median_fit([trial["changed_mean_delta_k"] for trial in trials])
        applied, after = fixed or _scenario_surface(*args, seed=seeds[point])
        effect = predict_effect(fits[point], before, after, baseline.anomaly, applied.changed)
        steps, thin = thin_sources(spec, label, applied, fits[point], baseline.surface.landcover)
        notes += (
            list(applied.notes)
            + thin
            + extrapolation_notes(label, effect.outside_range, fits[point], effect.outside_of)
        )
        note = unpredicted_note(label, applied.changed, effect)
        notes += [note] if note else []
        if zone_pixels is not None:
            note = outside_fit_note(label, applied.changed, zone_pixels)
            notes += [note] if note else []
        others = [trial for j, trial in enumerate(trials) if j != point]
        row, summary = _write_scenario(
            baseline, out, config, spec, area, applied.changed, effect, coverages, before_json,
            others, city, shared,
        )  # fmt: skip
        # The ranges its outside_fitted_range and notes are of, and the parameters its
        # values come from (model.json's: the model's, the seed's fit).
        summary["fitted_ranges"] = fits[point].ranges_record()
        summary["fitted_parameters"] = fitted_parameters(
            fits[point].estimator, fits[point].predictors
        )
        summaries.append(summary)
        gaps.append([trial["qpv_gap_after_k"] for trial in trials])
        row["fit_seed"] = seeds[point]
        row["steps"] = "; ".join(steps)
        rows.append(row)
        deltas[spec.name] = effect.delta
    for row, wins in zip(rows, best_fits(gap_before, gaps), strict=True):
        row["qpv_gap_best_fits"] = wins
    for spec, summary in zip(config.scenarios, summaries, strict=True):  # rows now whole
        write_json_atomic(out.scenario(spec.name) / "summary.json", summary)
    comparison = pd.DataFrame(rows)[[*COMPARISON_COLUMNS]]
    marked = with_synthetic_mark(comparison, baseline.synthetic)
    write_text_atomic(
        out.scenarios / "comparison.csv", marked.to_csv(index=False, lineterminator="\n")
    )
    comparison_figure(
        baseline, deltas, comparison, out.scenarios / "comparison.png", m=_messages(config)
    )
    return rows, notes


def _messages(config: RunConfig) -> Messages:
    """Return the words of the scenario figures, in the run's report language."""
    return Messages(config.outputs.report_language)


def median_fit(values: list[float]) -> int:
    """Index of the fit whose value is the median of ``values`` (NaN ones left out).

    With an even count, of the two middle values the one nearer 0 (the smaller effect);
    ties go to the earlier fit. Without a finite value, the first fit (the model).
    """
    finite = [j for j, value in enumerate(values) if math.isfinite(value)]
    if not finite:
        return 0
    ranked = sorted(finite, key=values.__getitem__)  # stable: ties keep the fits' order
    middle = ranked[(len(ranked) - 1) // 2 : len(ranked) // 2 + 1]
    return min(middle, key=lambda j: (abs(values[j]), j))


def best_fits(gap_before: float, gaps: list[list[float]]) -> list[int]:
    """In how many fits each scenario narrows the QPV gap the most (and narrows it).

    ``gaps[s][j]``: the QPV gap after scenario ``s`` in fit ``j``; narrowing is
    ``|after| − |before|`` (the report's best scenario), the lowest and negative wins.
    Scenarios tied for the lowest (within :data:`TIE_K` of it, e.g. two scenarios alike) each
    win the fit: the report names them together, not the first listed.
    """
    wins = [0] * len(gaps)
    if not gaps or not math.isfinite(gap_before):
        return wins
    for fit in zip(*gaps, strict=True):
        change = [abs(g) - abs(gap_before) if math.isfinite(g) else math.inf for g in fit]
        lowest = min(change)
        if lowest < 0:
            for s, value in enumerate(change):
                if value - lowest <= TIE_K:
                    wins[s] += 1
    return wins


def _draws(spec: ScenarioSpec) -> bool:
    """Whether the scenario converts a random share of a class's pixels."""
    return any(
        change.reclassify is not None and change.reclassify.fraction < 1 for change in spec.change
    )


def _write_scenario(
    baseline: Baseline,
    out: RunFolder,
    config: RunConfig,
    spec: ScenarioSpec,
    area: np.ndarray,
    changed: np.ndarray,
    effect: Effect,
    coverages: dict[str, Any],
    before_json: dict[str, Any] | None,
    replicates: list[dict[str, float]],
    city: np.ndarray,
    shared: SharedDraws,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write one scenario's folder in ``out`` but its ``summary.json``; return its row and summary.

    The caller completes the row (the fits in which the scenario does best are known once
    every scenario has run), then writes the summary, which holds it.

    ``replicates``: the :func:`_mean_effects` of the other fits, whose range with this
    effect's gives the ``<column>_min`` and ``_max`` of :data:`SPREAD_COLUMNS`. ``shared``:
    the inequality's draws and weights, made once for the baseline's and every scenario's.
    """
    folder = out.scenario(spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    delta = effect.delta
    raster = baseline.template.copy(data=delta.astype(np.float32))
    raster.attrs = {
        "long_name": "predicted change of land surface temperature, scenario minus baseline",
        "units": "K",
        "comment": f"ilots scenario {spec.name}: predicted(scenario) - predicted(baseline) of "
        f"the {config.scenario_model.estimator} model of {config.scenario_model.target}",
    }
    write_rasters(
        {"delta_lst": raster},
        folder,
        synthetic=baseline.synthetic,
        compute=True,
        tags=period_tags(config.periods.days()),  # the run's: its baseline's periods
    )
    m = _messages(config)
    delta_map(
        baseline,
        delta,
        folder / "delta_lst.png",
        title=m("scenario_figure_title", name=spec.name),
        drawn=_draws(spec),
        m=m,
    )
    tables = {}
    for layer in baseline.zones:
        tables[layer] = zone_effects(baseline, layer, coverages[layer], delta, changed)
        marked = with_synthetic_mark(tables[layer], baseline.synthetic)
        write_text_atomic(folder / f"{layer}.csv", marked.to_csv(index=False, lineterminator="\n"))
    # None before (no income, or too few IRIS with a ΔT: said once, in the notes): none after.
    with_before = "iris" in tables and before_json is not None
    report = inequality_of(baseline, config, tables["iris"], shared=shared) if with_before else None
    after_json = json.loads(report.to_json()) if report is not None else None
    if report is not None:
        # Keyed by outcome, as the run's: its CSV has the same columns (outcome first).
        write_inequality(
            {OUTCOME: report},
            folder / "inequality.json",
            folder / "inequality.csv",
            synthetic=baseline.synthetic,
        )
    gap_before = metric_value(before_json, "group_difference")
    # The changed pixels that got a ΔLST: those with an observed anomaly (enough clear
    # dates), 0 where the model sees no change; the others have no part in its means.
    predicted = changed & np.isfinite(delta)
    means = _mean_effects(
        baseline, config, area, predicted, delta, tables.get("iris"), city, gap_before
    )
    area_m2 = float(changed.sum()) * baseline.pixel_area_m2
    predicted_m2 = float(predicted.sum()) * baseline.pixel_area_m2
    row = {
        "scenario": spec.name,
        "description": spec.description,
        "area_changed_m2": area_m2,
        "area_changed_predicted_m2": predicted_m2,
        "changed_mean_delta_k": means["changed_mean_delta_k"],
        "mean_delta_k": means["mean_delta_k"],
        "urban_mean_delta_k": means["urban_mean_delta_k"],
        "delta_k_per_ha": (
            means["urban_mean_delta_k"] / (predicted_m2 / 1e4) if predicted_m2 > 0 else math.nan
        ),
        "qpv_delta_mean_k": means["qpv_delta_mean_k"],
        "rest_delta_mean_k": means["rest_delta_mean_k"],
        "qpv_gap_before_k": gap_before,
        "qpv_gap_after_k": metric_value(after_json, "group_difference"),
        "generalized_concentration_index_before": metric_value(
            before_json, "generalized_concentration_index"
        ),
        "generalized_concentration_index_after": metric_value(
            after_json, "generalized_concentration_index"
        ),
        "pixels_changed": int(changed.sum()),
        "pixels_predicted": int(effect.predicted.sum()),
        "extrapolated_share": extrapolated_share(effect),
    }
    for column in SPREAD_COLUMNS:
        values = [row[column]] + [r[column] for r in replicates]
        finite = [v for v in values if math.isfinite(v)]
        row[f"{column}_min"] = min(finite) if finite else math.nan
        row[f"{column}_max"] = max(finite) if finite else math.nan
    summary = {
        "scenario": spec.model_dump(mode="json"),
        "synthetic": baseline.synthetic,
        "where_pixels": int(area.sum()),
        "outside_fitted_range": dict(effect.outside_range),
        "outside_fitted_range_of": effect.outside_of,
        "comparison": row,
    }
    return row, summary


def _mean_effects(
    baseline: Baseline,
    config: RunConfig,
    area: np.ndarray,
    changed: np.ndarray,
    delta: np.ndarray,
    iris: pd.DataFrame | None,
    city: np.ndarray,
    gap_before: float,
) -> dict[str, float]:
    """Mean ΔT over the changed pixels, the ``where``, the city, and the QPV and other IRIS.

    ``changed``: the changed pixels that got a ΔLST (``changed & isfinite(delta)``), those
    the mean "on the changed pixels" is over.

    ``iris``: the per-IRIS effects (:func:`~.compare.zone_effects`), None without IRIS;
    ``city``: the pixels of the IRIS (:func:`_city`). With them, the QPV gap after the
    scenario by the identity of :mod:`~.compare` (``gap_before`` + QPV − rest ΔT), which a
    replicate takes instead of rerunning the inequality metrics.
    """
    finite = np.isfinite(delta)
    qpv_delta, rest_delta = (
        group_deltas(baseline, config, iris) if iris is not None else (math.nan,) * 2
    )

    def mean(pixels: np.ndarray) -> float:
        pixels = pixels & finite
        return float(delta[pixels].mean()) if pixels.any() else math.nan

    return {
        "changed_mean_delta_k": mean(changed),
        "mean_delta_k": mean(area),
        "urban_mean_delta_k": mean(city),
        "qpv_delta_mean_k": qpv_delta,
        "rest_delta_mean_k": rest_delta,
        "qpv_gap_after_k": gap_before + qpv_delta - rest_delta,
    }


def _city(baseline: Baseline) -> np.ndarray:
    """Pixels of the IRIS (none without IRIS)."""
    if "iris" not in baseline.zones:
        return np.zeros(baseline.shape, dtype=bool)
    return baseline.mask_of(baseline.zones["iris"].geometry)


def _update_manifest(
    new: StagedRunFolder,
    model: ScenarioModel,
    table: pd.DataFrame,
    notes: list[str],
    reused: bool,
    entries: list[str],
    mine: Collection[Path],
    *,
    drawn: Collection[Path] | None = None,
) -> None:
    """Add the ``scenarios`` record to the staged manifest and list the staged ``entries``.

    The staged files are listed under the paths they will have once put in place; of
    ``scenarios/``, not ``mine`` (a user's files, carried over), and of a folder entry
    (``figures``), only the files ``drawn`` (resolved), when given.
    """
    manifest = json.loads(new.manifest.read_text(encoding="utf-8"))
    # The scenario files are listed afresh at each call (the report's come second). Paths
    # are the run folder's (absolute in a manifest before version 2).
    root = new.root.resolve()
    replaced = [root / name for name in [*entries, "scenarios"]]

    def listed_again(record: dict) -> bool:
        path = output_path(str(record.get("path", "")), root)
        return any(path == entry or entry in path.parents for entry in replaced)

    outputs = [record for record in manifest.get("outputs", []) if not listed_again(record)]
    # The scenario files one by one (as the run lists its outputs); the report and its
    # figures folder as the run records them.
    staged = [f for f in sorted(new.scenarios.rglob("*")) if f.is_file() and f not in mine]
    for path in [*staged, *(new.stage / name for name in entries)]:
        final = new.final(path).relative_to(new.root).as_posix()
        outputs.append({**file_record(path, only=drawn), "path": final})
    manifest["outputs"] = outputs
    manifest["scenarios"] = {
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reused_run": reused,
        "model": model.to_json(),
        "comparison": table.replace({np.nan: None}).to_dict("records"),
        "warnings": list(notes),
    }
    write_json_atomic(new.manifest, manifest)
