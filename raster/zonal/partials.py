"""Mergeable partial aggregates per zone: computed per chunk, merged by a tree, finalised once.

A :class:`Partials` holds, per zone, what the requested statistics need: the coverage-weighted
moments (Σc, Σc·x, Σc·x², min, max), the weight-raster sums (Σc·w, Σc·w·x), the class
coverage sums for ``frac``, and the (zone, value, coverage) samples for quantiles. Merging two
partials is exact (additions, min/max, concatenation), so a chunked, tiled or distributed run
gives the same statistics as one pass over the whole raster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from raster.zonal.coverage import ZoneCoverageWindow
from raster.zonal.kernels import (
    accumulate,
    accumulate_weighted,
    group_by_zone,
    run_samples,
    weighted_quantiles,
)
from raster.zonal.statistics import Statistic

__all__ = ["Needs", "Partials", "chunk_partials", "finalise", "layer_partials", "merge"]


@dataclass(frozen=True)
class Needs:
    """Which partial aggregates a set of statistics needs."""

    moments: bool = True
    weighted: bool = False
    samples: bool = False
    classes: bool = False

    @classmethod
    def of(cls, stats: Sequence[Statistic]) -> Needs:
        """Derive the needs of parsed statistics (moments are always kept: count, valid_frac)."""
        kinds = {s.kind for s in stats}
        return cls(
            moments=True,
            weighted="weighted" in kinds,
            samples="quantile" in kinds,
            classes="frac" in kinds,
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
    samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

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
    parts = []
    for k in range(n_layers):
        part = Partials(w=w[:, k], s=s[:, k], ss=ss[:, k], lo=lo[:, k], hi=hi[:, k])
        if cw is not None and cwx is not None:
            part.cw, part.cwx = cw[:, k], cwx[:, k]
        if needs.samples or needs.classes:
            samples = _samples(values[k], window)
            if needs.samples:
                part.samples.append(samples)
            if needs.classes:
                whole_zone, whole_val, part_zone, part_val, fraction = samples
                part.classes = _class_sums(
                    np.concatenate([whole_zone, part_zone]),
                    np.concatenate([whole_val, part_val]),
                    np.concatenate([np.ones(whole_val.shape[0]), fraction]),
                    n_zones,
                )
        parts.append(part)
    return parts


def _samples(values: np.ndarray, window: ZoneCoverageWindow) -> tuple[np.ndarray, ...]:
    """Collect the valid covered pixels of a chunk of one layer.

    Returns (zone, value) of the wholly covered pixels and (zone, value, fraction) of the
    partly covered ones; values keep their dtype (float32 sorts twice as fast as float64).
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


def _class_sums(
    zone: np.ndarray, val: np.ndarray, cov: np.ndarray, n_zones: int
) -> dict[float, np.ndarray]:
    classes, inverse = np.unique(val, return_inverse=True)
    sums = np.bincount(inverse * n_zones + zone, weights=cov,
                       minlength=classes.shape[0] * n_zones)  # fmt: skip
    return {float(c): sums[i * n_zones : (i + 1) * n_zones] for i, c in enumerate(classes)}


def merge(a: Partials, b: Partials) -> Partials:
    """Combine the partials of two disjoint sets of pixels (exact, order-independent)."""
    classes = dict(a.classes)
    for value, sums in b.classes.items():
        classes[value] = classes[value] + sums if value in classes else sums
    return Partials(
        w=a.w + b.w, s=a.s + b.s, ss=a.ss + b.ss,
        lo=np.minimum(a.lo, b.lo), hi=np.maximum(a.hi, b.hi),
        cw=None if a.cw is None else a.cw + b.cw,
        cwx=None if a.cwx is None else a.cwx + b.cwx,
        classes=classes,
        samples=a.samples + b.samples,
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
            return np.where(covered > 0, part.w / covered, np.nan)
        if name == "area_m2":
            return covered * cell_area
    raise ValueError(f"statistic {name!r} has no finaliser")


def _quantiles(part: Partials, qs: Sequence[float], n_zones: int) -> np.ndarray:
    columns = list(zip(*part.samples, strict=True)) if part.samples else [()] * 5
    whole_zone, whole_val, part_zone, part_val, fraction = (
        np.concatenate(c) if c else np.empty(0) for c in columns
    )
    whole, whole_starts = _grouped(whole_zone, whole_val, n_zones)
    for z in range(n_zones):  # numpy's vectorised sort, zone by zone, in place
        whole[whole_starts[z] : whole_starts[z + 1]].sort()
    part_sorted, part_starts = _grouped(part_zone, part_val, n_zones)
    weights, _ = _grouped(part_zone, fraction.astype(np.float64), n_zones)
    out = np.empty((n_zones, len(qs)))
    weighted_quantiles(whole, whole_starts, part_sorted, weights, part_starts,
                       np.asarray(qs, dtype=np.float64), out)  # fmt: skip
    return out


def _grouped(zone: np.ndarray, values: np.ndarray, n_zones: int) -> tuple[np.ndarray, ...]:
    zone = zone.astype(np.int64, copy=False)
    starts = np.zeros(n_zones + 1, dtype=np.int64)
    np.cumsum(np.bincount(zone, minlength=n_zones), out=starts[1:])
    values = values if values.dtype.kind == "f" else values.astype(np.float64)
    return group_by_zone(zone, values, starts), starts
