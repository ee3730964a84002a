"""Mergeable partial aggregates per zone: computed per chunk, merged by a tree, finalised once.

A :class:`Partials` holds, per zone, what the requested statistics need: the coverage-weighted
moments (Σc, Σc·x, Σc·x², min, max), the weight-raster sums (Σc·w, Σc·w·x), the class
coverage sums for ``frac``, and for quantiles either the quantiles themselves or the samples
they need. Merging two partials is exact (additions, min/max, concatenation), so a chunked,
tiled or distributed run gives the same statistics as one pass over the whole raster.

Quantiles need every (value, coverage) sample of a zone at once. A chunk's samples are grouped
by zone as they are collected (:func:`~raster.zonal.kernels.zone_samples`: values in their
own dtype, fractions only for the partly covered pixels, no zone index per pixel); the zones
that cover no pixel outside the chunk (most of them, when chunks are much larger than zones)
get their quantiles there and then, and only the samples of the other zones are kept
(:class:`ZoneSamples`) until the merged partials are finalised. The quantile of a zone depends
only on the multiset of its samples, so where it is computed never changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from raster.zonal.coverage import ZoneCoverageWindow
from raster.zonal.kernels import (
    accumulate,
    accumulate_weighted,
    class_coverage,
    covered_codes,
    covered_range,
    gather_segments,
    run_samples,
    weighted_quantiles,
    zone_cells,
    zone_samples,
)
from raster.zonal.statistics import Statistic

__all__ = [
    "MAX_FRAC_CLASSES",
    "Needs",
    "Partials",
    "ZoneSamples",
    "check_classes",
    "chunk_partials",
    "finalise",
    "layer_partials",
    "merge",
    "merge_all",
]


@dataclass(frozen=True)
class Needs:
    """Which partial aggregates a set of statistics needs.

    ``quantiles`` lists the quantiles requested: with them, the zones wholly inside a chunk
    get their quantiles in the chunk (``samples`` alone keeps every sample to the end).
    """

    moments: bool = True
    weighted: bool = False
    samples: bool = False
    classes: bool = False
    quantiles: tuple[float, ...] = ()

    @classmethod
    def of(cls, stats: Sequence[Statistic]) -> Needs:
        """Derive the needs of parsed statistics (moments are always kept: count, valid_frac)."""
        kinds = {s.kind for s in stats}
        qs = tuple(dict.fromkeys(float(s.q) for s in stats if s.kind == "quantile"))
        return cls(
            moments=True,
            weighted="weighted" in kinds,
            samples="quantile" in kinds,
            classes="frac" in kinds,
            quantiles=qs,
        )


@dataclass(frozen=True)
class ZoneSamples:
    """Quantile samples of some zones, grouped by zone.

    Attributes
    ----------
    zone
        ``int32``: the zones, each once, in the order of their values below.
    n_whole, n_part
        ``int64``: how many wholly and partly covered samples each of them has.
    whole
        Values of the wholly covered pixels (weight 1), zone after zone, each zone's sorted.
    part, part_weights
        Values of the partly covered pixels and their covered fractions (``float64``), zone
        after zone, in any order within a zone.
    """

    zone: np.ndarray
    n_whole: np.ndarray
    n_part: np.ndarray
    whole: np.ndarray
    part: np.ndarray
    part_weights: np.ndarray

    @classmethod
    def take(
        cls,
        keep: np.ndarray,
        whole: np.ndarray,
        whole_starts: np.ndarray,
        part: np.ndarray,
        part_weights: np.ndarray,
        part_starts: np.ndarray,
        first_zone: int = 0,
    ) -> ZoneSamples:
        """Copy out the zones ``keep`` (boolean per zone) of samples grouped by zone.

        The inputs are as :func:`~raster.zonal.kernels.zone_samples` returns them for zones
        ``first_zone`` onwards, each zone's ``whole`` values sorted.
        """
        n_whole, n_part = np.diff(whole_starts), np.diff(part_starts)
        kept = np.flatnonzero(keep)
        in_part = np.repeat(keep, n_part)
        return cls(
            zone=(kept + first_zone).astype(np.int32),
            n_whole=n_whole[kept],
            n_part=n_part[kept],
            whole=whole[np.repeat(keep, n_whole)],
            part=part[in_part],
            part_weights=part_weights[in_part],
        )


@dataclass
class Partials:
    """Partial aggregates of one layer over some pixels, per zone (index = zone index)."""

    w: np.ndarray
    s: np.ndarray
    ss: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cw: np.ndarray | None = None
    cwx: np.ndarray | None = None
    classes: dict[float, np.ndarray] = field(default_factory=dict)
    samples: list[ZoneSamples] = field(default_factory=list)
    #: Quantiles ``qs`` (columns) of the zones marked ``done``, computed from all their
    #: samples (rows of the other zones are NaN; their samples are in ``samples``).
    quantiles: np.ndarray | None = None
    done: np.ndarray | None = None
    qs: tuple[float, ...] = ()

    @classmethod
    def empty(cls, n_zones: int, needs: Needs) -> Partials:
        """Neutral element of :func:`merge` for ``n_zones`` zones."""
        zeros = np.zeros(n_zones)
        return cls(
            w=zeros.copy(), s=zeros.copy(), ss=zeros.copy(),
            lo=np.full(n_zones, np.inf), hi=np.full(n_zones, -np.inf),
            cw=zeros.copy() if needs.weighted else None,
            cwx=zeros.copy() if needs.weighted else None,
        )  # fmt: skip


def chunk_partials(
    values: np.ndarray,
    window: ZoneCoverageWindow,
    n_zones: int,
    needs: Needs,
    weights: np.ndarray | None = None,
) -> Partials:
    """Partial aggregates of one chunk of one layer.

    Parameters
    ----------
    values
        The chunk's pixel values, 2-D, NaN = no data (any float or integer dtype).
    window
        The coverage of the same chunk.
    n_zones
        Number of zones.
    needs
        Which aggregates to compute.
    weights
        The chunk of the weight raster, for weighted statistics.
    """
    return layer_partials(np.asarray(values)[None], window, n_zones, needs, weights)[0]


def layer_partials(
    values: np.ndarray,
    window: ZoneCoverageWindow,
    n_zones: int,
    needs: Needs,
    weights: np.ndarray | None = None,
) -> list[Partials]:
    """Partial aggregates of one chunk of several layers, in one pass over the coverage.

    Parameters
    ----------
    values
        The chunk's pixel values, ``(layer, y, x)``, NaN = no data (any float or integer
        dtype; views of a larger array are read in place).
    window
        The coverage of the chunk.
    n_zones
        Number of zones.
    needs
        Which aggregates to compute.
    weights
        The chunk of the weight raster (2-D, shared by every layer), for weighted statistics.

    Returns
    -------
    list of Partials
        One per layer, in order.
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"values must be (layer, y, x), got shape {values.shape}")
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    n_layers = values.shape[0]
    w, s, ss = (np.zeros((n_zones, n_layers)) for _ in range(3))
    lo, hi = np.full((n_zones, n_layers), np.inf), np.full((n_zones, n_layers), -np.inf)
    runs = (window.run_row, window.run_c0, window.run_c1, window.run_zone)
    sparse = (window.rows, window.cols, window.zones, window.fractions)
    accumulate(values, *runs, *sparse, w, s, ss, lo, hi)
    cw = cwx = None
    if needs.weighted:
        if weights is None:
            raise ValueError("weighted statistics need a weight raster (weights=...)")
        cw, cwx = np.zeros((n_zones, n_layers)), np.zeros((n_zones, n_layers))
        wts = np.asarray(weights, dtype=np.float64)
        accumulate_weighted(values, wts, *runs, *sparse, cw, cwx)
    batches = _ZoneBatches.of(window, n_zones) if needs.samples else None
    parts = []
    for k in range(n_layers):
        part = Partials(w=w[:, k], s=s[:, k], ss=ss[:, k], lo=lo[:, k], hi=hi[:, k])
        if cw is not None and cwx is not None:
            part.cw, part.cwx = cw[:, k], cwx[:, k]
        if needs.samples:
            _quantile_partials(part, values[k], window, batches, n_zones, needs.quantiles)
        if needs.classes:
            part.classes = _class_coverage(values[k], window, n_zones)
        parts.append(part)
    return parts


#: Samples grouped at once when a chunk's quantiles are computed (2 MiB of float32 values):
#: zones are taken in batches of about this many covered pixels, so the buffers stay small
#: whatever the chunk size.
_BATCH_SAMPLES = 1 << 19


@dataclass(frozen=True)
class _ZoneBatches:
    """A window's runs and sparse triples ordered by zone, cut into batches of whole zones.

    Batch ``b`` holds zones ``edges[b]..edges[b + 1] - 1``, about :data:`_BATCH_SAMPLES`
    covered pixels (a larger zone is a batch of its own): its runs are
    ``run_order[run_edges[b]:run_edges[b + 1]]`` and its triples
    ``part_order[part_edges[b]:part_edges[b + 1]]`` (each zone's by row).
    """

    edges: np.ndarray
    run_order: np.ndarray
    run_edges: np.ndarray
    part_order: np.ndarray
    part_edges: np.ndarray

    @classmethod
    def of(cls, window: ZoneCoverageWindow, n_zones: int) -> _ZoneBatches:
        """Order and cut the runs and triples of ``window``."""
        run_order = np.argsort(window.run_zone, kind="stable")
        part_order = np.argsort(window.zones, kind="stable")
        size = zone_cells(window.run_zone, window.run_c0, window.run_c1, window.zones,
                          window.fractions, n_zones)  # fmt: skip
        before = np.cumsum(size) - size  # pixels of the zones before each zone
        batch_of_zone = before // _BATCH_SAMPLES
        cuts = np.flatnonzero(np.diff(batch_of_zone)) + 1  # first zone of each new batch
        edges = np.concatenate([[0], cuts, [n_zones]]).astype(np.int64)
        return cls(
            edges=edges,
            run_order=run_order,
            run_edges=np.searchsorted(window.run_zone[run_order], edges),
            part_order=part_order,
            part_edges=np.searchsorted(window.zones[part_order], edges),
        )


def _quantile_partials(
    part: Partials,
    values: np.ndarray,
    window: ZoneCoverageWindow,
    batches: _ZoneBatches,
    n_zones: int,
    qs: tuple[float, ...],
) -> None:
    """Add the quantile partials of one chunk of one layer (2-D ``values``) to ``part``.

    Batch by batch of zones (:class:`_ZoneBatches`), the chunk's samples are grouped by
    zone; the zones the window holds wholly (``window.complete``) get their quantiles ``qs``
    then, the others keep their samples (:class:`ZoneSamples`).
    """
    done = None
    if window.complete is not None and qs:
        done = np.asarray(window.complete, dtype=np.bool_)
        part.quantiles = np.full((n_zones, len(qs)), np.nan)
        part.done, part.qs = done, tuple(qs)
    q_array = np.asarray(qs, dtype=np.float64)
    runs = (window.run_row, window.run_c0, window.run_c1, window.run_zone)
    triples = (window.rows, window.cols, window.zones, window.fractions)
    for b in range(batches.edges.shape[0] - 1):
        z0, z1 = int(batches.edges[b]), int(batches.edges[b + 1])
        r_take = batches.run_order[batches.run_edges[b] : batches.run_edges[b + 1]]
        p_take = batches.part_order[batches.part_edges[b] : batches.part_edges[b + 1]]
        if r_take.size == 0 and p_take.size == 0:
            continue
        whole, whole_starts, part_val, weights, part_starts = zone_samples(
            values, *runs, r_take, *triples, p_take, z0, z1
        )
        n_whole = np.diff(whole_starts)
        for i in np.flatnonzero(n_whole > 1):  # numpy's vectorised sort, zone by zone
            whole[whole_starts[i] : whole_starts[i + 1]].sort()
        has = (n_whole > 0) | (part_starts[1:] > part_starts[:-1])
        keep = has
        if done is not None:
            weighted_quantiles(whole, whole_starts, part_val, weights, part_starts, q_array,
                               part.quantiles[z0:z1], done[z0:z1] & has)  # fmt: skip
            keep = has & ~done[z0:z1]
        if keep.any():
            part.samples.append(
                ZoneSamples.take(keep, whole, whole_starts, part_val, weights, part_starts, z0)
            )


def _samples(values: np.ndarray, window: ZoneCoverageWindow) -> tuple[np.ndarray, ...]:
    """Collect the valid covered pixels of a chunk of one layer (for ``frac``).

    Returns (zone, value) of the wholly covered pixels and (zone, value, fraction) of the
    partly covered ones; values keep their dtype.
    """
    whole_zone, whole_val = run_samples(
        values, window.run_row, window.run_c0, window.run_c1, window.run_zone
    )
    part_values = values[window.rows, window.cols]
    keep = ~np.isnan(part_values) & (window.fractions > 0)
    return (
        whole_zone,
        whole_val,
        window.zones[keep],
        part_values[keep],
        window.fractions[keep],
    )


#: The most distinct values ``frac`` takes as classes: no uint8 class raster has more. A
#: raster with more, or with any non-integer value, holds measurements, of which ``frac``
#: would give one column per distinct value.
MAX_FRAC_CLASSES = 256


def check_classes(classes: np.ndarray) -> None:
    """Refuse ``frac`` over values that are not class codes.

    Parameters
    ----------
    classes
        The distinct valid values seen (a chunk's, or the merged ones).

    Raises
    ------
    ValueError
        A value is not a whole number, or there are more than :data:`MAX_FRAC_CLASSES`.
        Whole class codes stored as floats (a land cover saved as float32) pass.
    """
    advice = (
        "ask for statistics such as mean or p90 instead (--stats mean,p90), or classify the "
        "raster first"
    )
    if classes.dtype.kind == "f":
        odd = classes[np.isfinite(classes) & (classes != np.round(classes))]
        if odd.size:
            raise ValueError(
                f"frac gives the share of each class of a class raster (land cover), but this "
                f"raster holds non-integer values (e.g. {odd[0]:g}): {advice}"
            )
    if classes.size > MAX_FRAC_CLASSES:
        raise ValueError(
            f"frac gives the share of each class of a class raster (land cover), but this "
            f"raster holds more than {MAX_FRAC_CLASSES} distinct values ({classes.size} "
            f"seen): {advice}"
        )


#: The widest range of class codes (whole numbers) :func:`_class_coverage` counts in place.
_COUNTED_SPAN = 1 << 16


def _class_coverage(
    values: np.ndarray, window: ZoneCoverageWindow, n_zones: int
) -> dict[float, np.ndarray]:
    """Each zone's coverage of each class (distinct valid value) in one chunk of one layer.

    Class codes (whole numbers within :data:`_COUNTED_SPAN` of each other) are counted in
    place by compiled loops (:func:`~raster.zonal.kernels.class_coverage`): collecting the
    samples and sorting them (``np.unique``) took 0.79 CPU-s for the benchmark city's IRIS
    land cover, this 0.035 s. Other values take that way, and are refused by
    :func:`check_classes` as the codes are.
    """
    runs = (window.run_row, window.run_c0, window.run_c1)
    triples = (window.rows, window.cols, window.fractions)
    n, low, high, whole = covered_range(values, *runs, *triples)
    if n == 0:
        return {}
    if not (whole and high - low < _COUNTED_SPAN):
        whole_zone, whole_val, part_zone, part_val, fraction = _samples(values, window)
        return _class_sums(
            np.concatenate([whole_zone, part_zone]),
            np.concatenate([whole_val, part_val]),
            np.concatenate([np.ones(whole_val.shape[0]), fraction]),
            n_zones,
        )
    seen = np.zeros(int(high - low) + 1, dtype=np.bool_)
    covered_codes(values, *runs, *triples, low, seen)
    offsets = np.flatnonzero(seen)
    classes = (offsets + low).astype(values.dtype)  # whole numbers: exact
    check_classes(classes)
    position = np.zeros(seen.size, dtype=np.int64)
    position[offsets] = np.arange(offsets.size)
    sums = np.zeros((offsets.size, n_zones))
    class_coverage(values, *runs, window.run_zone, window.rows, window.cols, window.zones,
                   window.fractions, low, position, sums)  # fmt: skip
    return {float(c): sums[i] for i, c in enumerate(classes)}


def _class_sums(
    zone: np.ndarray, val: np.ndarray, cov: np.ndarray, n_zones: int
) -> dict[float, np.ndarray]:
    classes, inverse = np.unique(val, return_inverse=True)
    check_classes(classes)
    sums = np.bincount(inverse * n_zones + zone, weights=cov,
                       minlength=classes.shape[0] * n_zones)  # fmt: skip
    return {float(c): sums[i * n_zones : (i + 1) * n_zones] for i, c in enumerate(classes)}


def merge(a: Partials, b: Partials) -> Partials:
    """Combine the partials of two disjoint sets of pixels (exact, order-independent)."""
    classes = dict(a.classes)
    for value, sums in b.classes.items():
        classes[value] = classes[value] + sums if value in classes else sums
    if len(classes) > MAX_FRAC_CLASSES:
        check_classes(np.fromiter(classes, dtype=np.float64, count=len(classes)))
    quantiles, done, qs = a.quantiles, a.done, a.qs
    if b.done is not None:
        if done is None:
            quantiles, done, qs = b.quantiles, b.done, b.qs
        else:
            if b.qs != qs:
                raise ValueError(f"cannot merge partials of quantiles {qs} and {b.qs}")
            quantiles = np.where(b.done[:, None], b.quantiles, quantiles)
            done = done | b.done
    return Partials(
        w=a.w + b.w, s=a.s + b.s, ss=a.ss + b.ss,
        lo=np.minimum(a.lo, b.lo), hi=np.maximum(a.hi, b.hi),
        cw=None if a.cw is None else a.cw + b.cw,
        cwx=None if a.cwx is None else a.cwx + b.cwx,
        classes=classes,
        samples=a.samples + b.samples,
        quantiles=quantiles, done=done, qs=qs,
    )  # fmt: skip


def merge_all(parts: Sequence[Partials]) -> Partials:
    """Merge many partials pairwise (a balanced tree, as across Dask chunks)."""
    level = list(parts)
    if not level:
        raise ValueError("nothing to merge")
    while len(level) > 1:
        level = [merge(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]  # fmt: skip
    return level[0]


def finalise(
    part: Partials, stats: Sequence[Statistic], covered: np.ndarray, cell_area: float
) -> dict[str, np.ndarray]:
    """Turn merged partials into one column per statistic (``frac`` gives one per class).

    Parameters
    ----------
    part
        Merged partials of one layer.
    stats
        Parsed statistics.
    covered
        Total covered fraction per zone, valid or not (for ``valid_frac`` and ``area_m2``).
    cell_area
        Pixel area in m².
    """
    w = part.w
    has = w > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, part.s / w, np.nan)
        variance = np.where(has, np.maximum(part.ss / w - mean * mean, 0.0), np.nan)
    columns: dict[str, np.ndarray] = {}
    quantiles = [s for s in stats if s.kind == "quantile"]
    qvalues = _quantiles(part, [s.q for s in quantiles], len(w)) if quantiles else None
    for stat in stats:
        if stat.kind == "quantile":
            columns[stat.column] = qvalues[:, quantiles.index(stat)]
        elif stat.kind == "frac":
            with np.errstate(invalid="ignore", divide="ignore"):
                for value in sorted(part.classes):
                    label = f"{value:g}"
                    columns[f"frac_{label}"] = np.where(has, part.classes[value] / w, np.nan)
        else:
            columns[stat.column] = _simple(stat.name, part, mean, variance, has, covered, cell_area)
    return columns


def _simple(
    name: str,
    part: Partials,
    mean: np.ndarray,
    variance: np.ndarray,
    has: np.ndarray,
    covered: np.ndarray,
    cell_area: float,
) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "count":
            return part.w.copy()
        if name == "sum":
            return np.where(has, part.s, np.nan)
        if name == "mean":
            return mean
        if name == "variance":
            return variance
        if name == "stdev":
            return np.sqrt(variance)
        if name == "min":
            return np.where(has, part.lo, np.nan)
        if name == "max":
            return np.where(has, part.hi, np.nan)
        if name == "weighted_mean":
            return np.where(part.cw > 0, part.cwx / part.cw, np.nan)
        if name == "weighted_sum":
            return np.where(part.cw > 0, part.cwx, np.nan)
        if name == "valid_frac":
            # The valid and covered weights are summed in different orders: a wholly valid
            # zone's ratio is 1 +- 1e-15, made 1 exactly (a fraction never exceeds 1).
            frac = part.w / covered
            frac = np.where(np.abs(frac - 1.0) <= 1e-9, 1.0, np.minimum(frac, 1.0))
            return np.where(covered > 0, frac, np.nan)
        if name == "area_m2":
            return covered * cell_area
    raise ValueError(f"statistic {name!r} has no finaliser")


def _quantiles(part: Partials, qs: Sequence[float], n_zones: int) -> np.ndarray:
    """Quantiles ``qs`` per zone: those computed in the chunks, the rest from the samples."""
    out = np.full((n_zones, len(qs)), np.nan)
    todo = np.ones(n_zones, dtype=np.bool_)
    if part.done is not None:
        missing = [q for q in qs if q not in part.qs]
        if missing:
            raise ValueError(f"the partials hold quantiles {part.qs}, not {missing}")
        columns = [part.qs.index(q) for q in qs]
        out[part.done] = part.quantiles[part.done][:, columns]
        todo = ~part.done
    if not todo.any():
        return out
    samples = part.samples
    dtype = np.result_type(*(s.whole.dtype for s in samples)) if samples else np.float64

    def joined(name: str, kind: type | np.dtype) -> np.ndarray:
        arrays = [getattr(s, name) for s in samples]
        return np.concatenate(arrays).astype(kind, copy=False) if arrays else np.empty(0, kind)

    zone = joined("zone", np.int32)
    whole, whole_starts = _regroup(zone, joined("n_whole", np.int64),
                                   joined("whole", dtype), n_zones)  # fmt: skip
    n_segments = np.bincount(zone, minlength=n_zones)
    for z in np.flatnonzero((n_segments > 1) & (np.diff(whole_starts) > 1)):
        whole[whole_starts[z] : whole_starts[z + 1]].sort()  # sorted runs, one per chunk
    n_part = joined("n_part", np.int64)
    part_val, part_starts = _regroup(zone, n_part, joined("part", dtype), n_zones)
    weights, _ = _regroup(zone, n_part, joined("part_weights", np.float64), n_zones)
    weighted_quantiles(whole, whole_starts, part_val, weights, part_starts,
                       np.asarray(qs, dtype=np.float64), out, todo)  # fmt: skip
    return out


def _regroup(
    zone: np.ndarray, length: np.ndarray, values: np.ndarray, n_zones: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group per-zone segments (``length[k]`` values of zone ``zone[k]``) by zone."""
    starts = np.zeros(n_zones + 1, dtype=np.int64)
    counts = np.bincount(zone, weights=length.astype(np.float64), minlength=n_zones)
    np.cumsum(counts.astype(np.int64), out=starts[1:])
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    return gather_segments(zone, length, values, starts), starts
