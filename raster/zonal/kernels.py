"""Fused per-chunk accumulation loops (numba): one pass over a chunk's pixels per layer.

Two shapes of input, matching :class:`~raster.zonal.coverage.ZoneCoverage`:

* *dense*: a label raster (zone index, or -1) of pixels wholly inside exactly one zone,
  every such pixel with coverage 1;
* *sparse*: (pixel, zone, fraction) triples for the other pixels (zone borders, overlaps).

Each loop adds into caller-owned accumulators, so the same code serves one chunk, a processing
tile, or a whole array, and partial results merge by addition (sums) or min/max.
NaN values are skipped: they are "no data".
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "accumulate_dense",
    "accumulate_sparse",
    "group_by_zone",
    "label_counts",
    "weighted_quantiles",
]


@njit(cache=True, nogil=True)
def accumulate_dense(values, labels, w, s, ss, lo, hi):  # pragma: no cover - compiled
    """Add the pixels of whole-zone label raster ``labels`` (2-D) to the accumulators.

    ``w`` (sum of coverage), ``s`` (sum of values), ``ss`` (sum of squares), ``lo``/``hi``
    (min/max) are 1-D float64 arrays indexed by zone.
    """
    ny, nx = values.shape
    for i in range(ny):
        for j in range(nx):
            z = labels[i, j]
            if z < 0:
                continue
            v = np.float64(values[i, j])
            if np.isnan(v):
                continue
            w[z] += 1.0
            s[z] += v
            ss[z] += v * v
            if v < lo[z]:
                lo[z] = v
            if v > hi[z]:
                hi[z] = v


@njit(cache=True, nogil=True)
def accumulate_sparse(values, rows, cols, zones, fractions, w, s, ss, lo, hi):  # pragma: no cover
    """Add the partly covered or shared pixels (``rows``, ``cols`` into ``values``)."""
    for k in range(rows.shape[0]):
        f = fractions[k]
        if f <= 0.0:
            continue
        v = np.float64(values[rows[k], cols[k]])
        if np.isnan(v):
            continue
        z = zones[k]
        w[z] += f
        s[z] += f * v
        ss[z] += f * v * v
        if v < lo[z]:
            lo[z] = v
        if v > hi[z]:
            hi[z] = v


@njit(cache=True, nogil=True)
def accumulate_weighted_dense(values, weights, labels, cw, cwx):  # pragma: no cover
    """Add coverage x weight (``cw``) and coverage x weight x value (``cwx``) per zone."""
    ny, nx = values.shape
    for i in range(ny):
        for j in range(nx):
            z = labels[i, j]
            if z < 0:
                continue
            v = np.float64(values[i, j])
            p = np.float64(weights[i, j])
            if np.isnan(v) or np.isnan(p):
                continue
            cw[z] += p
            cwx[z] += p * v


@njit(cache=True, nogil=True)
def accumulate_weighted_sparse(values, weights, rows, cols, zones, fractions, cw, cwx):
    """Sparse counterpart of :func:`accumulate_weighted_dense`."""
    for k in range(rows.shape[0]):
        f = fractions[k]
        if f <= 0.0:
            continue
        v = np.float64(values[rows[k], cols[k]])
        p = np.float64(weights[rows[k], cols[k]])
        if np.isnan(v) or np.isnan(p):
            continue
        cw[zones[k]] += f * p
        cwx[zones[k]] += f * p * v


@njit(cache=True, nogil=True)
def weighted_quantiles(
    whole, whole_starts, part, part_weights, part_starts, qs, out
):  # pragma: no cover
    """Weighted quantiles of each zone's samples, with exactextract's definition.

    A zone's samples are its wholly covered pixels (weight 1), given *sorted* in
    ``whole[whole_starts[z]:whole_starts[z + 1]]``, and its partly covered ones with their
    fractions in ``part``/``part_weights[part_starts[z]:part_starts[z + 1]]`` (any order).
    Equal values are merged into one sample with the sum of their weights (as exactextract
    does, so the result never depends on pixel order). With the ``n`` distinct values sorted,
    weights ``w_k`` and cumulative weights ``W_k``, ``s_0 = 0`` and
    ``s_k = k * w_k + (n - 1) * W_{k-1}``; the quantile ``q`` interpolates linearly at
    ``q * (n - 1) * W_n`` between the samples around it. ``out[z, i]`` receives quantile
    ``qs[i]``, NaN for a zone without samples.
    """
    n_zones = whole_starts.shape[0] - 1
    longest = 0
    for z in range(n_zones):
        size = whole_starts[z + 1] - whole_starts[z] + part_starts[z + 1] - part_starts[z]
        longest = max(longest, size)
    xs = np.empty(longest)
    ws = np.empty(longest)
    sk = np.empty(longest)
    for z in range(n_zones):
        xa = whole[whole_starts[z] : whole_starts[z + 1]]
        xb = part[part_starts[z] : part_starts[z + 1]]
        wb = part_weights[part_starts[z] : part_starts[z + 1]]
        order = np.argsort(xb)
        i, j, m = 0, 0, 0
        while i < xa.shape[0] or j < xb.shape[0]:
            if j >= xb.shape[0] or (i < xa.shape[0] and xa[i] <= xb[order[j]]):
                x, w = np.float64(xa[i]), 1.0
                i += 1
            else:
                x, w = np.float64(xb[order[j]]), np.float64(wb[order[j]])
                j += 1
            if m > 0 and xs[m - 1] == x:
                ws[m - 1] += w
            else:
                xs[m], ws[m] = x, w
                m += 1
        if m == 0:
            for k in range(qs.shape[0]):
                out[z, k] = np.nan
            continue
        cum = 0.0
        for k in range(m):
            sk[k] = 0.0 if k == 0 else k * ws[k] + (m - 1) * cum
            cum += ws[k]
        for k in range(qs.shape[0]):
            target = qs[k] * cum * (m - 1)
            right = np.searchsorted(sk[:m], target, side="right")
            if right == 0:
                out[z, k] = xs[0]
            elif right == m:
                out[z, k] = xs[m - 1]
            else:
                left = right - 1
                out[z, k] = xs[left] + (target - sk[left]) * (xs[right] - xs[left]) / (
                    sk[right] - sk[left]
                )


@njit(cache=True, nogil=True)
def label_counts(labels, n_zones):  # pragma: no cover - compiled
    """Count the pixels of each zone index in a label raster (-1 = none), in one pass."""
    counts = np.zeros(n_zones)
    flat = labels.ravel()
    for k in range(flat.shape[0]):
        if flat[k] >= 0:
            counts[flat[k]] += 1.0
    return counts


@njit(cache=True, nogil=True)
def group_by_zone(zone, values, starts):  # pragma: no cover - compiled
    """Sort samples by zone (counting sort): zone ``z`` gets ``starts[z]:starts[z+1]``."""
    nxt = starts[:-1].copy()
    out = np.empty(values.shape[0], dtype=values.dtype)
    for k in range(zone.shape[0]):
        z = zone[k]
        out[nxt[z]] = values[k]
        nxt[z] += 1
    return out
