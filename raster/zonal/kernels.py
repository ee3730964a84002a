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
def weighted_quantiles(values, weights, starts, qs, out):  # pragma: no cover - compiled
    """Weighted quantiles of each zone's samples, exactextract's definition.

    ``values``/``weights`` hold every zone's samples back to back, zone ``z`` in
    ``starts[z]:starts[z + 1]``. For each zone the samples are sorted by value (ties by
    weight: exactextract leaves their order to its unstable sort, which can change the result
    when the quantile falls next to tied values of unequal weight); with
    cumulative weights ``W_k`` and ``n`` samples, ``s_0 = 0`` and
    ``s_k = k * w_k + (n - 1) * W_{k-1}``; the quantile ``q`` interpolates linearly at
    ``q * (n - 1) * W_n`` between the samples around it (equal weights: numpy's default,
    Hyndman-Fan type 7). ``out[z, i]`` receives quantile ``qs[i]`` (NaN for an empty zone).
    """
    n_zones = starts.shape[0] - 1
    for z in range(n_zones):
        a, b = starts[z], starts[z + 1]
        n = b - a
        if n == 0:
            for i in range(qs.shape[0]):
                out[z, i] = np.nan
            continue
        order = np.argsort(values[a:b], kind="mergesort")
        x = values[a:b][order]
        wz = weights[a:b][order]
        # Ties in value: order them by weight, so the result never depends on pixel order.
        start = 0
        for k in range(1, n + 1):
            if k == n or x[k] != x[start]:
                if k - start > 1:
                    wz[start:k] = np.sort(wz[start:k])
                start = k
        sk = np.empty(n)
        cum = 0.0
        for k in range(n):
            sk[k] = 0.0 if k == 0 else k * wz[k] + (n - 1) * cum
            cum += wz[k]
        for i in range(qs.shape[0]):
            target = qs[i] * cum * (n - 1)
            # first element whose s is greater than the target (upper bound)
            right = np.searchsorted(sk, target, side="right")
            if right == 0:
                out[z, i] = x[0]
            elif right == n:
                out[z, i] = x[n - 1]
            else:
                left = right - 1
                out[z, i] = x[left] + (target - sk[left]) * (x[right] - x[left]) / (
                    sk[right] - sk[left]
                )
