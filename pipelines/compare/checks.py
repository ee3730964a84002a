"""Whether two runs can be compared: the grid (refused), the settings (warned)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from pipelines.compare.runs import Run
from tiles.errors import GridError, IlotsWarning, WarningCode

#: The outcome compared (the per-zone ΔT).
OUTCOME = "lst_anomaly_mean_k"
#: What a setting an earlier ilots did not record in its manifest reads as.
NOT_RECORDED = "not recorded"

__all__ = [
    "COMPARED_SETTINGS",
    "NOT_RECORDED",
    "OUTCOME",
    "check_comparable",
    "landcover_source",
    "recorded_setting",
    "warn",
]


def check_comparable(a: Run, b: Run) -> None:
    """Refuse two runs whose grids differ; warn of the settings that differ.

    Raises
    ------
    GridError
        The grid's CRS or resolution differs.
    """
    for key in ("crs", "resolution"):
        if a.manifest["grid"].get(key) != b.manifest["grid"].get(key):
            raise GridError(
                f"{a.folder} and {b.folder}: grid {key} differs "
                f"({a.manifest['grid'].get(key)} vs {b.manifest['grid'].get(key)}); rerun one "
                f"with the other's grid.{key} so that the zones average the same pixels"
            )
    full_a, full_b = reference(a), reference(b)
    recorded = set(full_a) & set(full_b)  # an earlier ilots records fewer keys
    ref_a, ref_b = ({k: v for k, v in full.items() if k in recorded} for full in (full_a, full_b))
    checks: list[tuple[str, Any, Any, WarningCode, str]] = [
        (
            "rural reference (heat_island, composite.anomaly_reference/anomaly_method)",
            {key: value for key, value in ref_a.items() if ref_b[key] != value},
            {key: value for key, value in ref_b.items() if ref_a[key] != value},
            "reference_differs",
            "ΔT is taken against another reference: part of its change is the reference's",
        ),
        (
            "land-cover source",
            landcover_source(a),
            landcover_source(b),
            "landcover_source_differs",
            "land-cover shares (and the rural ring's built and water pixels) change with it",
        ),
        (
            "composite.min_clear",
            recorded_setting(a, "composite", "min_clear"),
            recorded_setting(b, "composite", "min_clear"),
            "min_clear_differs",
            "the composites keep other pixels, so valid_frac and ΔT change with it",
        ),
    ]
    for what, value_a, value_b, code, effect in checks:
        if value_a != value_b and NOT_RECORDED not in (value_a, value_b):
            warn(
                f"{a.folder} and {b.folder}: the {what} differs ({value_a} vs {value_b}): "
                f"{effect}; rerun one with the other's setting for a like-for-like comparison",
                code,
            )
    if a.folder.resolve() == b.folder.resolve() or a.manifest == b.manifest:
        warn(
            f"{a.folder} and {b.folder} are the same run (same folder or same manifest.json): "
            "every change is 0; give the run folders of two summers or two configs",
            "same_run",
        )
    for run in (a, b):
        if not any(OUTCOME in layer.columns for layer in run.layers.values()):
            warn(
                f"{run.folder}: no ΔT ({OUTCOME}; composite.anomaly: false): neither its change "
                "nor the QPV gap's is compared; rerun it with composite.anomaly: true",
                "no_anomaly",
            )
    synthetic = [str(run.folder) for run in (a, b) if run.synthetic]
    if synthetic:
        warn(
            f"{' and '.join(synthetic)}: synthetic data (the demo city, not a real place): "
            "the comparison shows the method, not a city's change",
            "synthetic_run",
        )


def recorded_setting(run: Run, section: str, key: str) -> Any:
    """Return the config's ``section.key``, or :data:`NOT_RECORDED` (an earlier ilots')."""
    return (run.config.get(section) or {}).get(key, NOT_RECORDED)


def reference(run: Run) -> dict[str, Any]:
    """Return the settings of the run's ΔT reference: ``heat_island``, the anomaly's own."""
    reference = dict(run.config.get("heat_island") or {})
    for key in ("anomaly_reference", "anomaly_method"):
        reference[key] = run.setting("composite", key)
    return reference


def landcover_source(run: Run) -> str:
    """Describe where a run's land cover came from: an external map, or the rules' indices.

    The rules' sensor is ``composite.indices_from`` (``auto``: Landsat when the run found no
    Sentinel-2 product); a run whose products lacked NDBI (``landcover_fallback``) counted
    bare soil as built.
    """
    if not any(section in run.config for section in ("landcover", "composite", "inputs")):
        return NOT_RECORDED
    external = run.setting("landcover", "external")
    if external:
        path = external.get("path") if isinstance(external, Mapping) else external
        return f"external map {path}"
    codes = set(run.manifest.get("warning_codes") or ())
    sensor = run.setting("composite", "indices_from") or "auto"
    if sensor == "auto":
        has_s2 = bool(run.setting("inputs", "sentinel2")) and "no_sentinel2" not in codes
        sensor = "sentinel2" if has_s2 else "landsat"
    fallback = ", NDVI-only fallback" if "landcover_fallback" in codes else ""
    return f"rules on {sensor} indices{fallback}"


def warn(message: str, code: WarningCode | None) -> None:
    """Warn ``message`` as an :class:`~tiles.errors.IlotsWarning` of kind ``code``."""
    warnings.warn(IlotsWarning(message, code=code), stacklevel=3)


COMPARED_SETTINGS = {
    "grid.crs": lambda run: run.manifest["grid"].get("crs"),
    "grid.resolution": lambda run: run.manifest["grid"].get("resolution"),
    "reference": reference,
    "landcover_source": landcover_source,
    "composite.min_clear": lambda run: recorded_setting(run, "composite", "min_clear"),
    "zones.min_valid_frac": lambda run: recorded_setting(run, "zones", "min_valid_frac"),
}
