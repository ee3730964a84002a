"""Fused per-chunk accumulation loops (numba): one pass over a chunk's pixels for all layers.

Two shapes of coverage, matching :class:`~raster.zonal.coverage.ZoneCoverage`:

* *runs*: the pixels wholly inside exactly one zone, as row runs ``(row, first column, end
  column, zone)``, every such pixel with coverage 1 (a label raster, compressed: the loops
  read the values of a run contiguously and keep its sums in registers);
* *sparse*: (row, column, zone, fraction) triples for the other pixels (borders, overlaps).

Values come as a ``(layer, y, x)`` array: the coverage is read once for all layers. Each loop
adds into caller-owned ``(zone, layer)`` accumulators, so the same code serves one chunk, a
processing tile, or a whole array, and partial results merge by addition (sums) or min/max.
NaN values are skipped: they are "no data".
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "accumulate",
    "accumulate_weighted",
    "group_by_zone",
    "label_runs",
    "run_samples",
    "runs_to_labels",
    "weighted_quantiles",
]


@njit(cache=True, nogil=True)
def label_runs(labels):  # pragma: no cover - compiled
    """Return the runs ``(row, c0, c1, zone)`` (``int32``, by row) of labels >= 0 (2-D)."""
    ny, nx = labels.shape
    n = 0
    for i in range(ny):
        prev = -1
        for j in range(nx):
            z = labels[i, j]
            if z >= 0 and z != prev:
                n += 1
            prev = z
    row = np.empty(n, dtype=np.int32)
    c0 = np.empty(n, dtype=np.int32)
    c1 = np.empty(n, dtype=np.int32)
    zone = np.empty(n, dtype=np.int32)
    k = -1
    for i in range(ny):
        prev = -1
        for j in range(nx):
            z = labels[i, j]
            if z >= 0:
                if z != prev:
                    k += 1
                    row[k], c0[k], zone[k] = i, j, z
                c1[k] = j + 1
            prev = z
    return row, c0, c1, zone


@njit(cache=True, nogil=True)
def runs_to_labels(ny, nx, row, c0, c1, zone):  # pragma: no cover - compiled
    """Return the label raster (-1 outside every run) of runs from :func:`label_runs`."""
    labels = np.full((ny, nx), -1, dtype=np.int32)
    for k in range(row.shape[0]):
        labels[row[k], c0[k] : c1[k]] = zone[k]
    return labels


#: Sums may be reassociated (so they vectorise); NaN and infinities keep IEEE semantics.
_REASSOC = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True, fastmath=_REASSOC)
def _run_sums(line, j0, j1):  # pragma: no cover - compiled
    """Count, sum and sum of squares of the valid values of ``line[j0:j1]``, branch-free."""
    n = 0.0
    s = 0.0
    q = 0.0
    for j in range(j0, j1):
        x = np.float64(line[j])
        ok = x == x
        v = x if ok else 0.0
        n += 1.0 if ok else 0.0
        s += v
        q += v * v
    return n, s, q


@njit(cache=True, nogil=True)
def _run_range(line, j0, j1, lo, hi):  # pragma: no cover - compiled
    """Min and max of ``lo``, ``hi`` and the valid values of ``line[j0:j1]``."""
    for j in range(j0, j1):
        x = np.float64(line[j])
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi


@njit(cache=True, nogil=True)
def accumulate(
    values, r_row, r_c0, r_c1, r_zone, p_row, p_col, p_zone, p_frac, w, s, ss, lo, hi
):  # pragma: no cover - compiled
    """Add the covered pixels of every layer of ``values`` (3-D) to the accumulators.

    ``w`` (sum of coverage), ``s`` (sum of coverage x value), ``ss`` (sum of coverage x
    value²), ``lo``/``hi`` (min/max) are ``(zone, layer)`` float64 arrays (a triple's
    layers are neighbours in memory). Layer by layer,
    the runs are read in memory order (their row segments follow each other), which keeps
    the reads streaming; a run's sums vectorise.
    """
    n_layers = values.shape[0]
    for layer in range(n_layers):
        for k in range(r_row.shape[0]):
            z = r_zone[k]
            line = values[layer, r_row[k]]
            n, a, q = _run_sums(line, r_c0[k], r_c1[k])
            w[z, layer] += n
            s[z, layer] += a
            ss[z, layer] += q
            lo[z, layer], hi[z, layer] = _run_range(line, r_c0[k], r_c1[k], lo[z, layer],
                                                    hi[z, layer])  # fmt: skip
    for k in range(p_row.shape[0]):  # a triple's layers at once: its accumulators are close
        f = p_frac[k]
        if f <= 0.0:
            continue
        i, j, z = p_row[k], p_col[k], p_zone[k]
        for layer in range(n_layers):
            v = np.float64(values[layer, i, j])
            if v != v:
                continue
            w[z, layer] += f
            s[z, layer] += f * v
            ss[z, layer] += f * v * v
            lo[z, layer] = min(lo[z, layer], v)
            hi[z, layer] = max(hi[z, layer], v)


@njit(cache=True, nogil=True)
def accumulate_weighted(
    values, weights, r_row, r_c0, r_c1, r_zone, p_row, p_col, p_zone, p_frac, cw, cwx
):  # pragma: no cover - compiled
    """Add coverage x weight (``cw``) and coverage x weight x value (``cwx``) per zone.

    ``weights`` is 2-D (one weight raster for every layer); accumulators are
    ``(zone, layer)``. Pixels where the value or the weight is NaN are skipped.
    """
    n_layers = values.shape[0]
    for k in range(r_row.shape[0]):
        i, z = r_row[k], r_zone[k]
        for layer in range(n_layers):
            a = 0.0
            b = 0.0
            for j in range(r_c0[k], r_c1[k]):
                v = np.float64(values[layer, i, j])
                p = np.float64(weights[i, j])
                if v == v and p == p:
                    a += p
                    b += p * v
            cw[z, layer] += a
            cwx[z, layer] += b
    for k in range(p_row.shape[0]):
        f = p_frac[k]
        if f <= 0.0:
            continue
        i, j, z = p_row[k], p_col[k], p_zone[k]
        p = np.float64(weights[i, j])
        for layer in range(n_layers):
            v = np.float64(values[layer, i, j])
            if v != v or p != p:
                continue
            cw[z, layer] += f * p
            cwx[z, layer] += f * p * v


@njit(cache=True, nogil=True)
def run_samples(line_values, r_row, r_c0, r_c1, r_zone):  # pragma: no cover - compiled
    """(zone, value) of the valid pixels of runs in one 2-D layer, values in their dtype."""
    n = 0
    for k in range(r_row.shape[0]):
        n += r_c1[k] - r_c0[k]
    zone = np.empty(n, dtype=np.int32)
    out = np.empty(n, dtype=line_values.dtype)
    m = 0
    for k in range(r_row.shape[0]):
        line = line_values[r_row[k]]
        z = r_zone[k]
        for j in range(r_c0[k], r_c1[k]):
            v = line[j]
            if v == v:
                zone[m] = z
                out[m] = v
                m += 1
    return zone[:m], out[:m]


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
def group_by_zone(zone, values, starts):  # pragma: no cover - compiled
    """Sort samples by zone (counting sort): zone ``z`` gets ``starts[z]:starts[z+1]``."""
    nxt = starts[:-1].copy()
    out = np.empty(values.shape[0], dtype=values.dtype)
    for k in range(zone.shape[0]):
        z = zone[k]
        out[nxt[z]] = values[k]
        nxt[z] += 1
    return out
