"""The surface urban heat island intensity (SUHII) of a run: per scene and for the composite.

SUHII = mean LST over the urban footprint − mean LST over the rural reference pixels
(science.md §4.1). Per scene it comes from the tile sums of the run's first pass
(:func:`pipelines.run_tiles.scene_suhii`); for the composite, from the second pass's sums
of the median of the per-scene anomalies ΔT over the same two masks
(:func:`pipelines.run_tiles.composite_sums`, the numbers :func:`raster.heat_island.suhii`
gives on the whole grid).
The run writes both to ``heat_island.json`` with the definition of the footprint and of the
ring, so a reader knows what the number compares.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from raster.heat_island import RURAL_HINT, URBAN_HINT, _definition, warn_empty_mask
from tiles.errors import IlotsWarning

__all__ = ["heat_island_summary", "suhii_record"]


def heat_island_summary(
    sums: dict[str, dict[str, float]],
    urban: xr.DataArray,
    reference_mask: xr.DataArray,
    scenes: list[dict[str, Any]],
    definition: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the run's ``heat_island.json``.

    Parameters
    ----------
    sums
        The merged :func:`pipelines.run_tiles.composite_sums` of the composites: Σ and count
        over the urban footprint and the rural reference of the median of the per-scene
        anomalies ΔT (``lst_anomaly``: the composite SUHII, free of day-to-day weather, each
        scene's rural reference removed before the median) and of the median LST
        (``lst_median``: reported too as ``composite_lst``, but it mixes scenes of different
        weather where pixels have different clear dates).
    urban, reference_mask
        Urban footprint and rural reference pixels (their attributes only: definitions).
    scenes
        Per-scene records of :func:`pipelines.run_tiles.scene_suhii`.
    definition
        How the footprint and the ring were defined, as applied
        (:func:`pipelines.run_layers.heat_island_definition`), copied as given.

    Returns
    -------
    dict
        ``definition``; ``composite`` (on ΔT) and ``composite_lst`` (on LST), each with
        ``suhii_k``, ``urban_mean_k``, ``rural_mean_k``, ``urban_pixels``, ``rural_pixels``,
        ``variable``; ``scenes`` (per-scene records) with their mean and spread; JSON-ready
        (NaN as None).
    """
    values = [s["suhii_k"] for s in scenes if s["suhii_k"] is not None]
    _say_empty(sums)
    return {
        "definition": {
            **definition,
            "formula": "mean LST over the urban footprint - mean LST over the rural reference",
            "urban_definition": _definition(urban, "urban footprint"),
            "reference_definition": _definition(reference_mask, "rural reference mask"),
        },
        "composite": _record(sums, "lst_anomaly"),
        "composite_lst": _record(sums, "lst_median"),
        "scenes": scenes,
        "scenes_mean_k": float(np.mean(values)) if values else None,
        "scenes_std_k": float(np.std(values)) if len(values) > 1 else None,
    }


#: The two masks of a SUHII: region, its name in messages, how to give it pixels.
_REGIONS = (("urban", "urban footprint", URBAN_HINT), ("rural", "rural reference", RURAL_HINT))


def _record(sums: dict[str, dict[str, float]], variable: str) -> dict[str, Any]:
    """Return the composite SUHII record of ``variable``.

    A mask without a value of it has a None mean, said once by :func:`_say_empty`.
    """
    layer = sums.get(variable, {})
    counts = {region: int(layer.get(f"{region}_count", 0)) for region, _, _ in _REGIONS}
    means = {
        region: layer.get(f"{region}_total", 0.0) / count if count else np.nan
        for region, count in counts.items()
    }
    return {"variable": variable, **suhii_record(means["urban"], means["rural"],
                                                 counts["urban"], counts["rural"])}  # fmt: skip


def _say_empty(sums: dict[str, dict[str, float]]) -> None:
    """Warn of the SUHII masks without pixels, and of those where the composite has no value.

    The composite (the median of the scenes' ΔT) has a value where a pixel has
    ``composite.min_clear`` clear scenes: with fewer scenes than that in the periods, none
    has, however clear the scenes are (their own SUHII are in ``heat_island.json``).
    """
    n_mask, layer = sums.get("n_mask", {}), sums.get("lst_anomaly", {})
    for region, what, hint in _REGIONS:
        if not n_mask.get(region, 0):
            warn_empty_mask(what, hint, stacklevel=3)
    empty = [what for region, what, _ in _REGIONS
             if n_mask.get(region, 0) and not layer.get(f"{region}_count", 0)]  # fmt: skip
    if empty:
        warnings.warn(
            IlotsWarning(
                f"the composite ΔT has no value in the {' nor the '.join(empty)}: no pixel "
                "there has composite.min_clear clear scenes (with fewer scenes than that in "
                "the periods, none can), so heat_island.json has no composite SUHII, only the "
                "scenes' own; lower composite.min_clear or widen the periods",
                code="empty_composite",
            ),
            stacklevel=3,
        )


def suhii_record(
    urban_mean: float, rural_mean: float, urban_pixels: int, rural_pixels: int
) -> dict[str, Any]:
    """One SUHII record of ``heat_island.json`` (a mean with no clear pixel is None)."""
    return {
        "suhii_k": _number(urban_mean - rural_mean),
        "urban_mean_k": _number(urban_mean),
        "rural_mean_k": _number(rural_mean),
        "urban_pixels": int(urban_pixels),
        "rural_pixels": int(rural_pixels),
    }


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
