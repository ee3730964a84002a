"""How many pixels each Landsat mask step kept over the IRIS, for a run that has no LST.

A run whose IRIS all lack a composite LST says so (:func:`pipelines.run.no_clear_note`);
these counts tell which test removed the pixels (a humid scene's ST_QA above
``mask.st_qa_max_k`` everywhere, a preset rejecting more than the clouds), so that one run
says which setting to change. They read the Landsat mask bands again, so a run makes them
only when it has no LST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
import xarray as xr

from pipelines.config import RunConfig
from pipelines.run_graph import lst_mask_steps

__all__ = ["MaskCounts", "count_mask_steps", "mask_counts_text"]


@dataclass(frozen=True)
class MaskCounts:
    """What the Landsat masks kept over the IRIS (:func:`count_mask_steps`).

    Attributes
    ----------
    scenes
        The scenes (one per overpass).
    pixels
        The grid pixels over the IRIS (centre in one).
    kept
        Per mask step, in the order they apply (:data:`raster.quality.LANDSAT_MASK_STEPS`),
        the pixels of all scenes over the IRIS it kept, with every step before it.
    enough
        The pixels over the IRIS clear on at least ``composite.min_clear`` scenes.
    """

    scenes: int
    pixels: int
    kept: dict[str, int]
    enough: int


def count_mask_steps(config: RunConfig, graph: Any, n_clear: xr.DataArray) -> MaskCounts:
    """Count what each Landsat mask step kept over the IRIS of a run; one ``dask.compute``.

    ``graph``: the run's :class:`~pipelines.run_graph.SceneGraph`; ``n_clear``: its clear
    scenes per grid pixel. Each scene is reduced to its counts chunk by chunk: the mask
    stack is never held whole.
    """
    steps = lst_mask_steps(config, graph.inputs.landsat, graph.geobox)
    area = np.asarray(graph.zone_union.data, dtype=bool)
    per_scene = {name: (step.data & area).sum(axis=(-2, -1)) for name, step in steps.items()}
    enough = ((n_clear.data >= config.composite.min_clear) & area).sum()
    kept, enough = dask.compute(per_scene, enough)
    return MaskCounts(
        scenes=steps.sizes["time"],
        pixels=int(area.sum()),
        kept={name: int(np.sum(count)) for name, count in kept.items()},
        enough=int(enough),
    )


def _labels(config: RunConfig) -> dict[str, str]:
    """Name what each mask step keeps, with its setting."""
    mask = config.mask
    grown = " (clouds grown by mask.dilate_m)" if mask.dilate_pixels(config.grid.resolution) else ""
    return {
        "not_fill": "not fill",
        "qa_pixel": f"QA_PIXEL clear{grown}",
        "not_water": "not water",
        "qa_radsat": "QA_RADSAT not terrain-occluded",
        "st_qa": f"ST_QA ≤ {mask.st_qa_max_k:g} K" if mask.st_qa_max_k is not None else "",
        "st_cdist": f"ST_CDIST ≥ {mask.cdist_min_km:g} km" if mask.cdist_min_km is not None else "",
    }


def _percent(share: float) -> str:
    """Write a share as a short percentage: 0 % and 100 % only when it is exactly."""
    if share <= 0:
        return "0 %"
    if share >= 1:
        return "100 %"
    pct = 100 * share
    if pct < 0.1:
        return "< 0.1 %"
    if pct > 99.9:
        return "> 99.9 %"
    return f"{pct:.1f} %" if pct < 10 or pct > 90 else f"{pct:.0f} %"


def mask_counts_text(config: RunConfig, counts: MaskCounts) -> str:
    """Say, in one sentence, the share of the pixels each mask step kept over the IRIS.

    E.g. "Of the pixels of the 4 scene(s) over the IRIS, the masks kept: not fill 100 %, then
    QA_PIXEL clear 62 %, then ST_QA ≤ 2 K 0.1 %; clear on at least composite.min_clear (3)
    scenes: 0 % of the pixels". Empty without a pixel over the IRIS.
    """
    total = counts.scenes * counts.pixels
    if total == 0:
        return ""
    labels = _labels(config)
    kept = ", then ".join(
        f"{labels[name]} {_percent(count / total)}" for name, count in counts.kept.items()
    )
    return (
        f"Of the pixels of the {counts.scenes} scene(s) over the IRIS, the masks kept: {kept}; "
        f"clear on at least composite.min_clear ({config.composite.min_clear}) scenes: "
        f"{_percent(counts.enough / counts.pixels)} of the pixels"
    )
