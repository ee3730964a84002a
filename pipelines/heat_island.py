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
from typing import Any, Literal

import numpy as np
import xarray as xr

from raster.heat_island import (
    RURAL_HINT,
    URBAN_HINT,
    _definition,
    clear_enough,
    minimum_words,
    warn_empty_mask,
)
from tiles.errors import IlotsWarning

__all__ = ["heat_island_summary", "suhii_record"]


def heat_island_summary(
    sums: dict[str, dict[str, float]],
    urban: xr.DataArray,
    reference_mask: xr.DataArray,
    scenes: list[dict[str, Any]],
    definition: dict[str, Any],
    *,
    min_pixels: int = 1,
    min_frac: float = 0.0,
    anomaly_reference: Literal["rural", "urban"] = "rural",
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
    min_pixels, min_frac
        The fewest composite pixels, and the least share of its mask, a mean over the
        footprint or the reference rests on (``heat_island.min_reference_pixels``, in grid
        pixels, and ``min_reference_frac``: as a scene's); under them it is None, and so is
        the composite SUHII, said in a warning.
    anomaly_reference
        The mask of the scenes' reference means the ΔT is taken against
        (``composite.anomaly_reference``): with it empty the ΔT has no value anywhere (the
        empty mask's warning says why); with the other mask empty, a ΔT left without a value
        in it for the minimums is said in the composite's warning.

    Returns
    -------
    dict
        ``definition``; ``composite`` (on ΔT) and ``composite_lst`` (on LST), each with
        ``suhii_k``, ``urban_mean_k``, ``rural_mean_k``, ``urban_pixels``, ``rural_pixels``,
        ``variable``; ``scenes`` (per-scene records) with their mean and spread; JSON-ready
        (NaN as None).
    """
    values = [s["suhii_k"] for s in scenes if s["suhii_k"] is not None]
    _say_composites(sums, min_pixels, min_frac, anomaly_reference)
    return {
        "definition": {
            **definition,
            "formula": "mean LST over the urban footprint - mean LST over the rural reference",
            "urban_definition": _definition(urban, "urban footprint"),
            "reference_definition": _definition(reference_mask, "rural reference mask"),
        },
        "composite": _record(sums, "lst_anomaly", min_pixels, min_frac),
        "composite_lst": _record(sums, "lst_median", min_pixels, min_frac),
        "scenes": scenes,
        "scenes_mean_k": float(np.mean(values)) if values else None,
        "scenes_std_k": float(np.std(values)) if len(values) > 1 else None,
    }


#: The two masks of a SUHII: region, its name in messages, how to give it pixels.
_REGIONS = (("urban", "urban footprint", URBAN_HINT), ("rural", "rural reference", RURAL_HINT))


def _record(
    sums: dict[str, dict[str, float]], variable: str, min_pixels: int = 1, min_frac: float = 0.0
) -> dict[str, Any]:
    """Return the composite SUHII record of ``variable``.

    A mask without a value of it has a None mean, said once by :func:`_say_composites`; so has a
    mask where it has too few (:func:`_thin_regions`), its pixel count kept.
    """
    layer = sums.get(variable, {})
    counts = {region: int(layer.get(f"{region}_count", 0)) for region, _, _ in _REGIONS}
    thin = _thin_regions(layer, sums.get("n_mask", {}), min_pixels, min_frac)
    means = {
        region: layer.get(f"{region}_total", 0.0) / count if count and region not in thin
        else np.nan
        for region, count in counts.items()
    }  # fmt: skip
    return {"variable": variable, **suhii_record(means["urban"], means["rural"],
                                                 counts["urban"], counts["rural"])}  # fmt: skip


def _thin_regions(
    layer: dict[str, float], n_mask: dict[str, float], min_pixels: int, min_frac: float
) -> dict[str, tuple[int, int]]:
    """Return the masks where ``layer`` has a value on too few pixels for a mean.

    Under ``min_pixels`` or under ``min_frac`` of the mask's pixels, as a scene's mean
    (:func:`raster.heat_island._checked_mean`): one clear urban pixel of a thousand is no
    mean of the city. Each with its count and its mask's pixels. A mask with no value at all
    is :func:`_empty_words`'s.
    """
    thin = {}
    for region, _, _ in _REGIONS:
        n, count = int(n_mask.get(region, 0)), int(layer.get(f"{region}_count", 0))
        if n and count and not clear_enough(count, n, min_pixels, min_frac):
            thin[region] = (count, n)
    return thin


#: The settings of ``min_frac`` and ``min_pixels``, as the warnings name them.
REFERENCE_SETTINGS = ("heat_island.min_reference_frac", "heat_island.min_reference_pixels")
#: The composites of ``heat_island.json``: their sums' layer, name in messages and record.
_COMPOSITES = (("lst_anomaly", "ΔT", "composite"), ("lst_median", "LST", "composite_lst"))


def _say_composites(
    sums: dict[str, dict[str, float]], min_pixels: int, min_frac: float, anomaly_reference: str
) -> None:
    """Warn of the SUHII masks without pixels, and of the composites left without a SUHII.

    Each mask without pixels in its own ``empty_mask`` warning (:func:`warn_empty_mask`);
    the composites empty (:func:`_empty_words`) or thin (:func:`_thin_words`) in a mask with
    pixels in one ``empty_composite`` warning, which names each case, every record of
    ``heat_island.json`` left without a SUHII and, when that is all of them, that only the
    scenes' own are kept. With a mask without pixels no SUHII has a value, the scenes'
    neither: the warning names the composite rasters left empty in the other mask, and
    says nothing of thin composites.
    """
    n_mask = sums.get("n_mask", {})
    for region, what, hint in _REGIONS:
        if not n_mask.get(region, 0):
            warn_empty_mask(what, hint, stacklevel=3)
    empty, records, minimums = _empty_words(sums, anomaly_reference)
    # A mask without pixels leaves every SUHII None, the scenes' too, whatever the counts:
    # a thin composite changes nothing, and an empty one is said by its rasters.
    mask_empty = any(not n_mask.get(region, 0) for region, _, _ in _REGIONS)
    thin, thin_records = ([], []) if mask_empty else _thin_words(sums, min_pixels, min_frac)
    said = empty + thin
    if not said:
        return
    if mask_empty:
        rasters = [f"{v}.tif" for v, _, record in _COMPOSITES if record in records]
        outcome = (
            f"so {' and '.join(rasters)} {'has' if len(rasters) == 1 else 'have'} no value there"
        )
    else:
        records = [record for _, _, record in _COMPOSITES if record in {*records, *thin_records}]
        kept = ", only the scenes' own" if len(records) == len(_COMPOSITES) else ""
        outcome = f"so heat_island.json has no SUHII in {' nor '.join(records)}{kept}"
    fix = "lower composite.min_clear or widen the periods"
    if minimums or thin:
        fix = "lower composite.min_clear, widen the periods or lower those minimums"
    warnings.warn(
        IlotsWarning(f"{'; '.join(said)}, {outcome}; {fix}", code="empty_composite"),
        stacklevel=3,
    )


def _thin_words(
    sums: dict[str, dict[str, float]], min_pixels: int, min_frac: float
) -> tuple[list[str], list[str]]:
    """Say the composites (ΔT, LST) with too few pixels in a mask, each on its own counts.

    The words (:func:`_thin_regions` of each composite: each thin composite and its counts,
    then the minimums) and the records of ``heat_island.json`` they leave without a SUHII.
    """
    n_mask, said, records = sums.get("n_mask", {}), [], []
    for variable, name, record in _COMPOSITES:
        thin = _thin_regions(sums.get(variable, {}), n_mask, min_pixels, min_frac)
        where = [f"{thin[region][0]} of the {thin[region][1]} pixels of the {what}"
                 for region, what, _ in _REGIONS if region in thin]  # fmt: skip
        if where:
            said.append(f"the composite {name} has a value on only {' and '.join(where)}")
            records.append(record)
    if not said:
        return [], []
    limits = minimum_words(min_pixels, min_frac, settings=REFERENCE_SETTINGS)
    return [f"{'; '.join(said)} ({limits})"], records


def _empty_words(
    sums: dict[str, dict[str, float]], anomaly_reference: str
) -> tuple[list[str], list[str], bool]:
    """Say the masks with pixels where a composite has no value.

    Each composite (ΔT, LST) on its own counts, as :func:`_thin_words`. A composite has a
    value where a pixel has ``composite.min_clear`` clear scenes: with fewer scenes than that
    in the periods, neither has, however clear the scenes are (their own SUHII are in
    ``heat_island.json``). The ΔT also needs those scenes to have a reference mean (over the
    ``anomaly_reference`` mask, ``"rural"`` or ``"urban"``), so it can be empty where the LST
    is not: that is said with the reference's settings.

    Returns the words, the records of ``heat_island.json`` left without a SUHII, and
    whether lowering the minimums would help (a ΔT empty where the LST is not).
    """
    n_mask = sums.get("n_mask", {})
    empty = {
        variable: [what for region, what, _ in _REGIONS if n_mask.get(region, 0)
                   and not sums.get(variable, {}).get(f"{region}_count", 0)]
        for variable, _, _ in _COMPOSITES
    }  # fmt: skip
    without = [what for what in empty["lst_anomaly"] if what in empty["lst_median"]]
    said = [f"the composites ΔT and LST have no value in the {' nor the '.join(without)}: no "
            "pixel there has composite.min_clear clear scenes (with fewer scenes than that in "
            "the periods, none can)"] if without else []  # fmt: skip
    # The ΔT's reference mask without pixels (said by warn_empty_mask): no scene has a
    # reference mean, so the ΔT has no value anywhere, not for the minimums. Under the other
    # mask without pixels, the ΔT in the reference is empty for the minimums: said below.
    if not n_mask.get(anomaly_reference, 0):
        empty["lst_anomaly"] = without
    for variable, name, _ in _COMPOSITES:
        if own := [what for what in empty[variable] if what not in without]:
            said.append(f"the composite {name} has no value in the {' nor the '.join(own)}"
                        + _EMPTY_CAUSES[variable])  # fmt: skip
    records = [record for variable, _, record in _COMPOSITES if empty[variable]]
    return said, records, any(what not in without for what in empty["lst_anomaly"])


#: Why a composite has no value in a mask where the other one has.
_EMPTY_CAUSES = {
    "lst_anomaly": (
        ", where the LST has: fewer than composite.min_clear of the clear scenes there have a "
        f"ΔT (a scene has none without its reference mean; {', '.join(REFERENCE_SETTINGS)})"
    ),
    "lst_median": ": no pixel there has composite.min_clear clear scenes",
}


def suhii_record(
    urban_mean: float, rural_mean: float, urban_pixels: int, rural_pixels: int
) -> dict[str, Any]:
    """One SUHII record of ``heat_island.json`` (a mean under the minimums is None).

    A mean is NaN, so None, where its side (the urban footprint or the rural reference) had
    too few clear pixels for ``heat_island.min_reference_pixels`` or ``min_reference_frac``,
    in a scene or in the composite.
    """
    return {
        "suhii_k": _number(urban_mean - rural_mean),
        "urban_mean_k": _number(urban_mean),
        "rural_mean_k": _number(rural_mean),
        "urban_pixels": int(urban_pixels),
        "rural_pixels": int(rural_pixels),
    }


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
