"""The surface urban heat island intensity (SUHII) of a run: per scene and for the composite.

SUHII = mean LST over the urban footprint − mean LST over the rural reference pixels
(science.md §4.1). Per scene it comes from the tile sums of the run's first pass
(:func:`pipelines.run_tiles.scene_suhii`); for the composite it is computed on the median
of the per-scene anomalies ΔT with the same two masks (:func:`raster.heat_island.suhii`).
The run writes both to ``heat_island.json`` with the definition of the footprint and of the
ring, so a reader knows what the number compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from raster.heat_island import suhii

__all__ = ["heat_island_summary"]


def heat_island_summary(
    anomaly: xr.DataArray,
    lst: xr.DataArray,
    urban: xr.DataArray,
    reference_mask: xr.DataArray,
    scenes: list[dict[str, Any]],
    definition: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the run's ``heat_island.json``.

    Parameters
    ----------
    anomaly
        Median composite of the per-scene anomalies ΔT ``(y, x)`` in K (NaN where too few
        clear observations): the composite SUHII, free of day-to-day weather (each scene's
        rural reference is removed before the median).
    lst
        Median LST composite ``(y, x)`` in K: its SUHII is reported too (``composite_lst``),
        but mixes scenes of different weather where pixels have different clear dates.
    urban, reference_mask
        Urban footprint and rural reference pixels ``(y, x)`` on the same grid.
    scenes
        Per-scene records of :func:`pipelines.run_tiles.scene_suhii`.
    definition
        How the footprint and the ring were defined (config values), copied as given.

    Returns
    -------
    dict
        ``definition``; ``composite`` (on ΔT) and ``composite_lst`` (on LST), each with
        ``suhii_k``, ``urban_mean_k``, ``rural_mean_k``, ``urban_pixels``, ``rural_pixels``,
        ``variable``; ``scenes`` (per-scene records) with their mean and spread; JSON-ready
        (NaN as None).
    """
    urban, reference_mask = urban.compute(), reference_mask.compute()
    values = [s["suhii_k"] for s in scenes if s["suhii_k"] is not None]
    ds = suhii(anomaly, urban, reference_mask).compute()
    return {
        "definition": {
            **definition,
            "formula": "mean LST over the urban footprint - mean LST over the rural reference",
            "urban_definition": ds.attrs.get("urban_definition"),
            "reference_definition": ds.attrs.get("reference_definition"),
        },
        "composite": _record(ds, "lst_anomaly"),
        "composite_lst": _record(suhii(lst, urban, reference_mask).compute(), "lst_median"),
        "scenes": scenes,
        "scenes_mean_k": float(np.mean(values)) if values else None,
        "scenes_std_k": float(np.std(values)) if len(values) > 1 else None,
    }


def _record(ds: xr.Dataset, variable: str) -> dict[str, Any]:
    return {
        "variable": variable,
        "suhii_k": _number(ds["suhii"]),
        "urban_mean_k": _number(ds["urban_mean"]),
        "rural_mean_k": _number(ds["rural_mean"]),
        "urban_pixels": int(ds["n_urban"]),
        "rural_pixels": int(ds["n_rural"]),
    }


def _number(value: xr.DataArray) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
