"""Apply a scenario's changes to the surface (NDVI, albedo, land cover), in order.

Each change acts on the pixels of the scenario's ``where`` (optionally only on the classes of
its ``on``), on the surface as the previous changes left it:

``ndvi``
    ``add`` (clipped to [-1, 1]; with ``cap``, an addition never takes a pixel above ``cap``
    and a pixel already above it keeps its NDVI), ``set``, or ``cap`` alone (lower every NDVI
    above it). The land cover stays as it is: this is greening *within* a class (street
    trees, green roofs, vegetated car parks), which the model sees through NDVI.
``albedo``
    ``add`` (clipped to [0, 1]) or ``set``: cool roofs, pale pavements. Needs the run's
    ``albedo_median`` raster.
``reclassify``
    ``fraction`` of the selected pixels of class ``from`` (rounded to whole pixels) become
    class ``to``. The pixels are **whole pixels chosen in a seeded random order** (seeded by
    ``scenario_model.seed``, the scenario's ``where`` and changes and the change's position;
    drawn over the whole ``where``: each of several zones gets *about* the fraction), not a
    fractional mix of every pixel: a converted pixel takes the median NDVI and median albedo
    of class ``to`` over the run's grid (what a typical pixel of that class looks like
    there), and the neighbourhood shares and distances of the model follow from the new land
    cover. When that median rests on few of the class's pixels (fewer than
    :data:`MEDIAN_MIN_SHARE` of them or than :data:`MEDIAN_MIN_PIXELS` pixels, e.g. water,
    whose NDVI the masks mostly leave out), the scenario says so
    (:func:`thin_median_note`): the typical pixel is then guessed from a few. The pixels of
    class ``from`` without an NDVI (no clear date of the indices, e.g. water under a mask
    preset that rejects it) are not in the scenario's area: they are left as they are, which
    the scenario says (:func:`unseen_note`), with how many of the class's pixels it edits.
    An ``ndvi`` or ``albedo`` change says the same of the pixels of its ``on`` classes
    (without ``on``, of every class).

A pixel counts as *changed* when its NDVI, albedo or class differs from the baseline after
all changes; a change that sets a value a pixel already has changes nothing.
"""

from __future__ import annotations

import json
import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.config.scenarios import AlbedoChange, ChangeSpec, NdviChange, ReclassifyChange
from pipelines.scenarios.errors import ScenarioError
from pipelines.scenarios.predictors import Surface
from pipelines.scenarios.where import class_codes
from tiles.errors import IlotsWarning

__all__ = [
    "MEDIAN_MIN_PIXELS",
    "MEDIAN_MIN_SHARE",
    "Applied",
    "apply_changes",
    "class_medians",
    "ndvi_after",
    "selected_pixels",
    "thin_median_note",
    "unseen_note",
]

#: Least share of a class's pixels with a known NDVI (albedo) for the median NDVI (albedo)
#: a reclassification gives its converted pixels to be said to represent the class.
MEDIAN_MIN_SHARE = 0.5
#: Fewest pixels with a known NDVI (albedo) for that median to be said to represent the class.
MEDIAN_MIN_PIXELS = 30


@dataclass(frozen=True, eq=False)
class Applied:
    """A surface after a scenario's changes.

    Attributes
    ----------
    surface
        The changed surface (new arrays; the baseline's are untouched).
    changed
        Pixels whose NDVI, albedo or class differ from the baseline.
    steps
        One line per change: what it did to how many pixels.
    notes
        Warnings (a change that selected no pixel, a typical pixel guessed from few).
    converted
        One count per change: the pixels a reclassification converted (0 for the others).
    """

    surface: Surface
    changed: np.ndarray
    steps: tuple[str, ...]
    notes: tuple[str, ...]
    converted: tuple[int, ...] = ()


def ndvi_after(values: np.ndarray, change: NdviChange) -> np.ndarray:
    """Apply an NDVI change to an array of NDVI values (a new array, clipped to [-1, 1])."""
    if change.set is not None:
        out = np.full_like(values, change.set, dtype=np.float64)
    elif change.add is not None:
        out = values + change.add
        if change.cap is not None:
            out = np.where(values >= change.cap, values, np.minimum(out, change.cap))
    else:
        out = np.minimum(values, change.cap)
    return np.clip(out, -1.0, 1.0)


def _albedo_after(values: np.ndarray, change: AlbedoChange) -> np.ndarray:
    if change.set is not None:
        return np.full_like(values, change.set, dtype=np.float64)
    return np.clip(values + float(change.add or 0.0), 0.0, 1.0)


def class_medians(surface: Surface, class_name: str) -> tuple[float, float | None]:
    """Median NDVI and albedo (``None`` without albedo) of the pixels of a land-cover class.

    Raises
    ------
    ScenarioError
        The class has no pixel with a known NDVI in the run.
    """
    (code,) = class_codes([class_name])
    pixels = surface.landcover == code
    ndvi = surface.ndvi[pixels & np.isfinite(surface.ndvi)]
    if ndvi.size == 0:
        raise ScenarioError(
            f"the run's land cover has no {class_name} pixel to take a typical NDVI and "
            "albedo from; reclassify into a class present in the run"
        )
    albedo = None
    if surface.albedo is not None:
        known = surface.albedo[pixels & np.isfinite(surface.albedo)]
        albedo = float(np.median(known)) if known.size else None
    return float(np.median(ndvi)), albedo


def thin_median_note(surface: Surface, class_name: str) -> str | None:
    """Say that the median NDVI or albedo of a class rests on few of its pixels, or None.

    Few: under :data:`MEDIAN_MIN_SHARE` of the class's pixels, or under
    :data:`MEDIAN_MIN_PIXELS` pixels, have a known value (water: the masks leave out most of
    its NDVI). The note starts with what it is about; the caller prefixes the scenario.
    """
    (code,) = class_codes([class_name])
    pixels = surface.landcover == code
    total = int(pixels.sum())
    rasters = {"NDVI": surface.ndvi, "albedo": surface.albedo}
    thin = []
    for name, values in rasters.items():
        if values is None or not total:
            continue
        known = int((pixels & np.isfinite(values)).sum())
        if known < MEDIAN_MIN_PIXELS or known < MEDIAN_MIN_SHARE * total:
            thin.append(f"{name} ({known} of its {total} pixels known)")
    if not thin:
        return None
    return (
        f"the converted pixels take the median {' and the median '.join(thin)} of class "
        f"{class_name}, known at fewer than {MEDIAN_MIN_SHARE:.0%} of its pixels or at fewer "
        f"than {MEDIAN_MIN_PIXELS}: a typical pixel guessed from few, so the effect is unsure; "
        "reclassify into a class the run observes better, or set the converted pixels' NDVI "
        "(albedo) with a change after it"
    )


def unseen_note(
    class_name: str, changed: int, usable: int, unseen: int, what: str | None = None
) -> str:
    """Say that a change leaves the pixels of its class without an NDVI as they are.

    ``changed`` of the ``usable`` pixels of class ``class_name`` with an NDVI in the area
    are converted (``what`` None: a reclassification) or have their ``what`` changed
    (``"NDVI"``, ``"albedo"``: a change, with ``on`` or without: ``class_name`` then
    ``""``, the pixels of every class); ``unseen`` more of them have none. The note starts
    with what it is about; the caller prefixes the scenario and the change. Why they have
    none, and the run that would see them, is said of water (``mask.indices_keep_water``
    false, the default, or a mask.sentinel2_preset that rejects it) when the classes include
    water, else of clouds and the masks' thresholds.
    """
    if what is None:
        verb, among, stay, again = "converts", "drawn from", class_name, "converts them"
    else:
        verb, among, stay = f"changes the {what} of", "among", "as they are"
        again = f"changes their {what}"
    pixels = f"{class_name} pixels" if class_name else "pixels"
    if "water" in class_name.split(" or "):
        why = "mask.indices_keep_water false, or a mask.sentinel2_preset that rejects water"
        keeps = (
            "whose masks keep them (for water, mask.indices_keep_water: true and, with "
            "Sentinel-2, mask.sentinel2_preset: conservative)"
        )
    else:  # without on (class_name ""), water is not counted (see _unseen_in)
        why = "clouds, shadows or a quality threshold on each date"
        keeps = "with more clear dates there (more scenes, or looser mask thresholds)"
    return (
        f"{verb} {changed} of the {usable + unseen} {pixels} of its area, "
        f"{among} the {usable} with an NDVI: the other {unseen} have none (the masks "
        f"left them out of every date: {why}), so the model has nothing to start from "
        f"there and they stay {stay}; a run {keeps} {again}"
    )


def selected_pixels(count: int, fraction: float, seed: Sequence[int]) -> np.ndarray:
    """Positions (in ``range(count)``) of the ``fraction`` of ``count`` pixels to convert.

    ``round(fraction × count)`` positions (halves up), the first ones of a random permutation
    seeded by ``seed``; sorted.
    """
    n = min(count, math.floor(fraction * count + 0.5))
    order = np.random.default_rng(np.random.SeedSequence(list(seed))).permutation(count)
    return np.sort(order[:n])


def _on(surface: Surface, where: np.ndarray, on: tuple[str, ...] | None) -> np.ndarray:
    return where if on is None else where & np.isin(surface.landcover, class_codes(on))


def _unseen_in(surface: Surface, unseen: np.ndarray | None, on: tuple[str, ...] | None) -> int:
    """Count the pixels ``unseen`` (selected, without an NDVI) of the classes ``on``.

    Without ``on``, those of every land class: the change is on all of them, but water
    without an NDVI (most of it, under the default Sentinel-2 mask) is no land left out.
    """
    if unseen is None:
        return 0
    if on is None:
        classes = (surface.landcover > 0) & (surface.landcover != class_codes(["water"])[0])
    else:
        classes = np.isin(surface.landcover, class_codes(on))
    return int((unseen & classes).sum())


def apply_changes(
    baseline: Surface,
    where: np.ndarray,
    changes: Sequence[ChangeSpec],
    *,
    seed: int,
    name: str,
    label: str,
    unseen: np.ndarray | None = None,
) -> Applied:
    """Apply ``changes`` in order to the pixels ``where`` of a baseline surface.

    Parameters
    ----------
    baseline
        The run's surface (never modified).
    where
        Pixels the scenario applies to (:func:`~.where.where_mask`).
    changes
        The scenario's changes.
    seed
        ``scenario_model.seed``.
    name
        What seeds the scenario's random pixel choices, with ``seed``
        (:func:`pipelines.scenarios.pipeline.draw_key`: its area). A ``reclassify`` draws
        with it and the changes up to it: adding a change after it never moves its pixels.
    label
        How messages name the scenario.
    unseen
        Pixels of the scenario's selection left out of ``where`` for want of an NDVI
        (:func:`~.where.where_selection` less ``where``): a ``reclassify`` counts those of its
        class, an ``ndvi`` or ``albedo`` change those of its ``on`` classes (without ``on``,
        those with a land cover), which it leaves as they are, and says so
        (:func:`unseen_note`).

    Returns
    -------
    Applied

    Raises
    ------
    ScenarioError
        An albedo change on a run without albedo; a reclassification into a class absent
        from the run.
    """
    ndvi = baseline.ndvi.astype(np.float64, copy=True)
    albedo = None if baseline.albedo is None else baseline.albedo.astype(np.float64, copy=True)
    landcover = baseline.landcover.copy()
    steps: list[str] = []
    converted = [0] * len(changes)
    notes: list[str] = []
    thin: list[str] = []  # typical pixels guessed from few (after the notes of no change)
    for k, change in enumerate(changes):
        current = Surface(ndvi, albedo, landcover)
        if change.ndvi is not None:
            on, what = change.ndvi.on, "NDVI"
            sel = _on(current, where, on) & np.isfinite(ndvi)
            ndvi[sel] = ndvi_after(ndvi[sel], change.ndvi)
        elif change.albedo is not None:
            if albedo is None:
                raise ScenarioError(
                    f"{label}: change[{k}] changes the albedo, but the run has no "
                    "rasters/albedo_median.tif (albedo needs Sentinel-2 inputs with their blue "
                    "and SWIR 2.2 bands); drop the albedo change, or rerun ilots run with them"
                )
            on, what = change.albedo.on, "albedo"
            sel = _on(current, where, on) & np.isfinite(albedo)
            albedo[sel] = _albedo_after(albedo[sel], change.albedo)
        else:
            spec: ReclassifyChange = change.reclassify  # type: ignore[assignment]
            try:
                typical_ndvi, typical_albedo = class_medians(baseline, spec.to)
            except ScenarioError as err:
                raise ScenarioError(f"{label}: change[{k}]: {err}") from None
            note = thin_median_note(baseline, spec.to)
            if note is not None:
                thin.append(f"{label}: change[{k}]: {note}")
            (code,) = class_codes([spec.from_])
            candidates = np.flatnonzero(where & (landcover == code))
            stream = (seed, zlib.crc32(_draw_name(name, changes[: k + 1]).encode()), k)
            chosen = candidates[selected_pixels(candidates.size, spec.fraction, stream)]
            landcover.flat[chosen] = class_codes([spec.to])[0]
            ndvi.flat[chosen] = typical_ndvi
            if albedo is not None and typical_albedo is not None:
                albedo.flat[chosen] = typical_albedo
            sel_count = candidates.size
            converted[k] = int(chosen.size)
            n_unseen = 0 if unseen is None else int((unseen & (landcover == code)).sum())
            left = f" ({n_unseen} more without an NDVI left as they are)" if n_unseen else ""
            steps.append(
                f"reclassify {chosen.size} of {sel_count} {spec.from_} pixels to {spec.to}{left}"
            )
            if n_unseen:
                note = unseen_note(spec.from_, chosen.size, sel_count, n_unseen)
                notes.append(f"{label}: change[{k}] {note}")
            elif sel_count == 0:
                notes.append(f"{label}: change[{k}] finds no {spec.from_} pixel in its area")
            continue
        n_unseen = _unseen_in(current, unseen, on)
        left = f" ({n_unseen} more without an NDVI left as they are)" if n_unseen else ""
        steps.append(f"{change.kind} change on {int(sel.sum())} pixels{left}")
        if n_unseen:
            usable = int(_on(current, where, on).sum())
            note = unseen_note(" or ".join(on or ()), int(sel.sum()), usable, n_unseen, what)
            notes.append(f"{label}: change[{k}] {note}")
        elif not sel.any():
            notes.append(f"{label}: change[{k}] ({change.kind}) selects no pixel in its area")
    changed = landcover != baseline.landcover
    changed |= ~_same(ndvi, baseline.ndvi)
    if albedo is not None and baseline.albedo is not None:
        changed |= ~_same(albedo, baseline.albedo)
    if not notes and not changed.any():  # pixels selected, none changed (fraction 0, add 0)
        notes.append(
            f"{label}: changes no pixel: its changes leave the selected pixels as they are "
            "(a fraction or an addition of 0, a cap above every value)"
        )
    notes += thin
    for note in notes:
        warnings.warn(note, IlotsWarning, stacklevel=2)
    return Applied(
        surface=Surface(ndvi, albedo, landcover),
        changed=changed,
        steps=tuple(steps),
        notes=tuple(notes),
        converted=tuple(converted),
    )


def _draw_name(name: str, changes: Sequence[ChangeSpec]) -> str:
    """``name`` and ``changes`` as JSON: what a reclassification's draw depends on."""
    done = [c.model_dump(mode="json", by_alias=True) for c in changes]
    return name + json.dumps(done, sort_keys=True, separators=(",", ":"))


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))
