"""Whether two runs can be compared: the grid (refused), the settings (warned)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pipelines.compare.runs import Run
from pipelines.config.models import SIZE_KEYS, MaskConfig
from pipelines.outputs.manifest import input_path
from tiles.errors import GridError, IlotsWarning, WarningCode

#: The outcome compared (the per-zone ΔT).
OUTCOME = "lst_anomaly_mean_k"
#: What a setting an earlier ilots did not record in its manifest reads as.
NOT_RECORDED = "not recorded"

__all__ = [
    "COMPARED_SETTINGS",
    "NOT_RECORDED",
    "OUTCOME",
    "area_of_interest",
    "check_comparable",
    "differing",
    "external_map",
    "grid_extent",
    "landcover_source",
    "mask_settings",
    "qpv_threshold",
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
    for what, value_a, value_b, code, effect, same in _setting_checks(a, b):
        if value_a != value_b and NOT_RECORDED not in (value_a, value_b):
            warn(
                f"{a.folder} and {b.folder}: the {what} differs ({value_a} vs {value_b}): "
                f"{effect}; rerun one with the other's {same} for a like-for-like comparison",
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


#: One check of :func:`check_comparable`: what it is, each run's value, its kind, its effect,
#: and what a rerun takes from the other run to make them alike.
_Check = tuple[str, Any, Any, WarningCode, str, str]


def _setting_checks(a: Run, b: Run) -> list[_Check]:
    """Return the settings compared, each with both runs' values (said when they differ)."""
    ref_a, ref_b = differing(reference(a), reference(b))
    mask_a, mask_b = differing(mask_settings(a), mask_settings(b))
    checks: list[_Check] = [
        (
            "rural reference (heat_island, composite.anomaly_reference/anomaly_method)",
            ref_a,
            ref_b,
            "reference_differs",
            "ΔT is taken against another reference: part of its change is the reference's",
            "setting",
        ),
        (
            "land-cover source",
            landcover_source(a),
            landcover_source(b),
            "landcover_source_differs",
            "land-cover shares (and the rural ring's built and water pixels) change with it",
            "land-cover settings and map file",
        ),
        (
            "composite.min_clear",
            recorded_setting(a, "composite", "min_clear"),
            recorded_setting(b, "composite", "min_clear"),
            "min_clear_differs",
            "the composites keep other pixels, so valid_frac and ΔT change with it",
            "setting",
        ),
        (
            "mask section",
            mask_a,
            mask_b,
            "mask_differs",
            "the cloud, quality and water masks keep other pixels, so valid_frac, the LST, "
            "ΔT, the NDVI and the albedo change with them",
            "settings",
        ),
        (
            "zones.qpv.iris_share_threshold",
            qpv_threshold(a),
            qpv_threshold(b),
            "qpv_threshold_differs",
            "other IRIS count as QPV (in_qpv), so the means in and outside QPV and the QPV "
            "gap are over other groups",
            "setting",
        ),
    ]
    if "ring_outer_km" not in ref_a:  # else the grid's extent moved with the ring, said above
        checks.append(_extent_check(a, b))
    return checks


def _extent_check(a: Run, b: Run) -> _Check:
    """Return the check of the area of interest, or else of the grid's extent.

    The grid is the area grown by the rural ring: another area moves the grid's extent too,
    said in one warning; another extent over the same area is said on its own.
    """
    area_a, area_b = area_of_interest(a), area_of_interest(b)
    if area_a != area_b and NOT_RECORDED not in (area_a, area_b):
        aoi_a, aoi_b = differing(a.config.get("aoi") or {}, b.config.get("aoi") or {})
        return (
            "area of interest",
            f"{area_a}, aoi {aoi_a}" if aoi_a else area_a,
            f"{area_b}, aoi {aoi_b}" if aoi_b else area_b,
            "extent_differs",
            "the IRIS it keeps or cuts, hence the rural ring around them (ΔT's reference), "
            "may differ, and the grid's extent moves with it",
            "aoi settings and zone files",
        )
    return (
        "grid's extent",
        grid_extent(a),
        grid_extent(b),
        "extent_differs",
        "the grid's edges may cut the rural ring elsewhere, so ΔT's reference may move",
        "aoi settings and zone files",
    )


def differing(
    full_a: Mapping[str, Any], full_b: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the keys both mappings hold whose values differ, with each one's value.

    A key one of them lacks (a setting an earlier ilots did not record) is left out.
    """
    keys = [key for key in full_a if key in full_b and full_a[key] != full_b[key]]
    return {key: full_a[key] for key in keys}, {key: full_b[key] for key in keys}


def mask_settings(run: Run) -> dict[str, Any]:
    """Return the run's ``mask`` section with its cloud dilation as applied: ``dilate``.

    ``mask.dilate_m``, or the deprecated ``mask.dilate_px``, becomes the radius of the disk
    the clouds were grown by, in whole pixels of the run's grid
    (:meth:`~pipelines.config.models.MaskConfig.dilate_pixels`), said in metres and pixels
    (``"60 m (2 px)"``): the distance the masks grow on the ground, which the grid's pixels
    round up. ``dilate_px: 2`` on one 30 m grid and ``dilate_m: 60`` (or 45: rounded up to
    2 px too) on the other mask the same pixels; 3 px do not. A section with neither key (an
    earlier ilots') has no ``dilate``: not said to differ. A section without
    ``indices_keep_water`` (an ilots that kept water in the Landsat NDVI and albedo, before
    the key) has it true: its water entered them.
    """
    mask = dict(run.config.get("mask") or {})
    if mask:
        mask.setdefault("indices_keep_water", True)
    given = {key: mask.pop(key) for key in SIZE_KEYS["mask"] if key in mask}
    if given:
        resolution = run.manifest["grid"]["resolution"]
        pixels = MaskConfig.model_validate(given).dilate_pixels(resolution)
        mask["dilate"] = f"{pixels * resolution:g} m ({pixels} px)"
    return mask


def qpv_threshold(run: Run) -> Any:
    """Return ``zones.qpv.iris_share_threshold`` (:data:`NOT_RECORDED`: none, or no QPV)."""
    qpv = (run.config.get("zones") or {}).get("qpv") or {}
    return qpv.get("iris_share_threshold", NOT_RECORDED)


def area_of_interest(run: Run) -> str:
    """Describe the run's area of interest (the manifest's ``area``): km² and WGS84 bounds.

    Rounded to 0.01 km² and 1e-5° (about 1 m), so that two runs over one area read alike.
    """
    area = run.manifest.get("area")
    if not isinstance(area, Mapping) or not area.get("bounds_wgs84") or "area_km2" not in area:
        return NOT_RECORDED
    bounds = ", ".join(f"{value:.5f}" for value in area["bounds_wgs84"])
    return f"{area['area_km2']:.2f} km² within [{bounds}]°"


def grid_extent(run: Run) -> str:
    """Describe the grid's extent (the manifest's ``grid``): its size in pixels and bounds."""
    grid = run.manifest["grid"]
    if not grid.get("bounds"):
        return NOT_RECORDED
    bounds = ", ".join(f"{value:.12g}" for value in grid["bounds"])  # to the mm
    return f"{grid.get('width')}×{grid.get('height')} px, bounds [{bounds}]"


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

    An external map is said by :func:`external_map`.

    The rules' sensor is ``composite.indices_from`` (``auto``: Landsat when the run found no
    Sentinel-2 product); a run whose products lacked NDBI (``landcover_fallback``) counted
    bare soil as built.
    """
    if not any(section in run.config for section in ("landcover", "composite", "inputs")):
        return NOT_RECORDED
    external = run.setting("landcover", "external")
    if external:
        return external_map(run, external) if isinstance(external, Mapping) else external
    codes = set(run.manifest.get("warning_codes") or ())
    sensor = run.setting("composite", "indices_from") or "auto"
    if sensor == "auto":
        has_s2 = bool(run.setting("inputs", "sentinel2")) and "no_sentinel2" not in codes
        sensor = "sentinel2" if has_s2 else "landsat"
    fallback = ", NDVI-only fallback" if "landcover_fallback" in codes else ""
    return f"rules on {sensor} indices{fallback}"


def external_map(run: Run, external: Mapping[str, Any]) -> str:
    """Describe the run's external land-cover map: its file, mapping, band and contents.

    The contents are the SHA-256 the manifest's inputs record of the file (of a VRT, of it
    and the files it reads, taken together), so that another year's map under the same name
    differs; when the manifest recorded none (``outputs.hash_inputs: false``, an earlier
    ilots), the file's path stands for them.
    """
    path = str(external.get("path"))
    setting = f"mapping {external.get('mapping')}, band {external.get('band', 1)}"
    digest = _contents(run, path)
    if digest is None:
        return f"external map {path} ({setting})"
    return f"external map {PurePath(path).name} ({setting}, sha256 {digest[:12]})"


def _contents(run: Run, path: str) -> str | None:
    """Return the SHA-256 of the input ``path`` (a VRT's with its files'), None if unrecorded."""
    target = input_path(path, run.manifest, run.folder).resolve()
    for record in run.manifest.get("inputs") or ():
        if not isinstance(record, Mapping) or not record.get("path"):
            continue
        if input_path(str(record["path"]), run.manifest, run.folder).resolve() != target:
            continue
        digests = [record.get("sha256")]
        digests += [source.get("sha256") for source in record.get("sources") or ()]
        if not all(digests):
            return None
        if len(digests) == 1:
            return digests[0]
        return hashlib.sha256(" ".join(digests).encode()).hexdigest()
    return None


def warn(message: str, code: WarningCode | None) -> None:
    """Warn ``message`` as an :class:`~tiles.errors.IlotsWarning` of kind ``code``."""
    warnings.warn(IlotsWarning(message, code=code), stacklevel=3)


COMPARED_SETTINGS = {
    "grid.crs": lambda run: run.manifest["grid"].get("crs"),
    "grid.resolution": lambda run: run.manifest["grid"].get("resolution"),
    "reference": reference,
    "landcover_source": landcover_source,
    "composite.min_clear": lambda run: recorded_setting(run, "composite", "min_clear"),
    "mask": lambda run: run.config.get("mask", NOT_RECORDED),
    "zones.qpv.iris_share_threshold": qpv_threshold,
    "area": area_of_interest,
    "grid.extent": grid_extent,
    "zones.min_valid_frac": lambda run: recorded_setting(run, "zones", "min_valid_frac"),
}
