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
    "UINT16_ZONES",
    "accumulate",
    "accumulate_weighted",
    "chunks_touched",
    "class_coverage",
    "covered_codes",
    "covered_range",
    "gather_segments",
    "label_dtype",
    "label_runs",
    "no_zone",
    "run_samples",
    "runs_to_labels",
    "weighted_quantiles",
    "zone_cells",
    "zone_samples",
]


#: Largest zone count a ``uint16`` label raster holds: its two largest values are the
#: "no zone" label and, while the coverage is built, the "more than one zone" mark.
UINT16_ZONES = int(np.iinfo(np.uint16).max) - 1


def label_dtype(n_zones: int) -> np.dtype:
    """Return the dtype of a label raster of ``n_zones`` zones.

    ``uint16`` (2 bytes a pixel) up to :data:`UINT16_ZONES` zones, ``int32`` beyond.
    """
    return np.dtype(np.uint16 if n_zones <= UINT16_ZONES else np.int32)


def no_zone(dtype: np.dtype | type) -> int:
    """Return the label of pixels wholly inside no single zone, for a label raster's dtype.

    -1 for a signed dtype (``int32``), the largest value for an unsigned one (``uint16``).
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "i":
        return -1
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    raise TypeError(f"a label raster holds integers, not {dtype}")


def label_runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the runs ``(row, c0, c1, zone)`` (``int32``, by row) of a 2-D label raster.

    Pixels labelled :func:`no_zone` of the raster's dtype belong to no run.
    """
    return _label_runs(labels, labels.dtype.type(no_zone(labels.dtype)))


@njit(cache=True, nogil=True)
def _label_runs(labels, none):  # pragma: no cover - compiled
    ny, nx = labels.shape
    n = 0
    for i in range(ny):
        prev = none
        for j in range(nx):
            z = labels[i, j]
            if z != none and z != prev:
                n += 1
            prev = z
    row = np.empty(n, dtype=np.int32)
    c0 = np.empty(n, dtype=np.int32)
    c1 = np.empty(n, dtype=np.int32)
    zone = np.empty(n, dtype=np.int32)
    k = -1
    for i in range(ny):
        prev = none
        for j in range(nx):
            z = labels[i, j]
            if z != none:
                if z != prev:
                    k += 1
                    row[k], c0[k], zone[k] = i, j, z
                c1[k] = j + 1
            prev = z
    return row, c0, c1, zone


def runs_to_labels(
    ny: int, nx: int, row: np.ndarray, c0: np.ndarray, c1: np.ndarray, zone: np.ndarray,
    n_zones: int,
) -> np.ndarray:  # fmt: skip
    """Return the label raster (dtype :func:`label_dtype`) of runs from :func:`label_runs`."""
    dtype = label_dtype(n_zones)
    labels = np.full((ny, nx), no_zone(dtype), dtype=dtype)
    _fill_runs(labels, row, c0, c1, zone)
    return labels


@njit(cache=True, nogil=True)
def _fill_runs(labels, row, c0, c1, zone):  # pragma: no cover - compiled
    for k in range(row.shape[0]):
        labels[row[k], c0[k] : c1[k]] = zone[k]


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
def covered_range(values, r_row, r_c0, r_c1, p_row, p_col, p_frac):  # pragma: no cover - compiled
    """``(n, lo, hi, whole)`` of the valid covered values of a 2-D layer.

    The values of the runs' pixels and of the triples with a fraction > 0 that are not NaN:
    how many, their min and max (float64), and whether all are finite whole numbers.
    """
    n = 0
    lo = np.inf
    hi = -np.inf
    whole = True
    for k in range(r_row.shape[0]):
        line = values[r_row[k]]
        for j in range(r_c0[k], r_c1[k]):
            v = np.float64(line[j])
            if v == v:
                n += 1
                lo = min(lo, v)
                hi = max(hi, v)
                whole = whole and v == np.floor(v) and abs(v) < np.inf
    for k in range(p_row.shape[0]):
        v = np.float64(values[p_row[k], p_col[k]])
        if p_frac[k] > 0.0 and v == v:
            n += 1
            lo = min(lo, v)
            hi = max(hi, v)
            whole = whole and v == np.floor(v) and abs(v) < np.inf
    return n, lo, hi, whole


@njit(cache=True, nogil=True)
def covered_codes(
    values, r_row, r_c0, r_c1, p_row, p_col, p_frac, low, seen
):  # pragma: no cover - compiled
    """Set ``seen[v - low]`` for each valid covered value ``v`` (whole, from ``low``).

    The pixels of :func:`covered_range`, whose ``lo`` is ``low``.
    """
    for k in range(r_row.shape[0]):
        line = values[r_row[k]]
        for j in range(r_c0[k], r_c1[k]):
            v = np.float64(line[j])
            if v == v:
                seen[np.int64(v - low)] = True
    for k in range(p_row.shape[0]):
        v = np.float64(values[p_row[k], p_col[k]])
        if p_frac[k] > 0.0 and v == v:
            seen[np.int64(v - low)] = True


@njit(cache=True, nogil=True)
def class_coverage(
    values, r_row, r_c0, r_c1, r_zone, p_row, p_col, p_zone, p_frac, low, position, sums
):  # pragma: no cover - compiled
    """Add each zone's coverage of each class to ``sums`` (``(class, zone)`` float64).

    The valid covered values are whole numbers from ``low`` (:func:`covered_codes`): value
    ``v`` adds to row ``position[v - low]``. Every run pixel adds 1, then every triple its
    fraction (> 0), in that order: the sums ``np.bincount`` gives over the values of the
    runs followed by those of the triples.
    """
    for k in range(r_row.shape[0]):
        line = values[r_row[k]]
        z = r_zone[k]
        for j in range(r_c0[k], r_c1[k]):
            v = np.float64(line[j])
            if v == v:
                sums[position[np.int64(v - low)], z] += 1.0
    for k in range(p_row.shape[0]):
        v = np.float64(values[p_row[k], p_col[k]])
        if p_frac[k] > 0.0 and v == v:
            sums[position[np.int64(v - low)], p_zone[k]] += p_frac[k]


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
def zone_samples(
    values, r_row, r_c0, r_c1, r_zone, r_take, p_row, p_col, p_zone, p_frac, p_take, z0, z1
):  # pragma: no cover - compiled
    """Collect the valid covered pixels of zones ``z0..z1-1`` in one 2-D layer, by zone.

    The runs ``r_take`` (indices into the run arrays) and the triples ``p_take`` (indices
    into the triple arrays) are those of these zones. Returns ``whole, whole_starts, part,
    part_weights, part_starts``: the values of the wholly covered pixels, zone ``z0 + i``'s in
    ``whole[whole_starts[i] : whole_starts[i + 1]]`` (in run order, unsorted), and those of
    the partly covered pixels (triples with a fraction > 0) with their fractions, grouped
    the same way. Values keep their dtype (float32 sorts twice as fast as float64); no zone
    index is stored per pixel.
    """
    n = z1 - z0
    whole_starts = np.zeros(n + 1, dtype=np.int64)
    for t in range(r_take.shape[0]):  # room for every pixel of the runs, NaN or not
        k = r_take[t]
        whole_starts[r_zone[k] - z0 + 1] += r_c1[k] - r_c0[k]
    part_starts = np.zeros(n + 1, dtype=np.int64)
    for t in range(p_take.shape[0]):
        k = p_take[t]
        if p_frac[k] > 0.0:
            part_starts[p_zone[k] - z0 + 1] += 1
    for i in range(n):
        whole_starts[i + 1] += whole_starts[i]
        part_starts[i + 1] += part_starts[i]
    whole = np.empty(whole_starts[n], dtype=values.dtype)
    at = whole_starts[:-1].copy()
    for t in range(r_take.shape[0]):
        k = r_take[t]
        line = values[r_row[k]]
        i = r_zone[k] - z0
        m = at[i]
        for j in range(r_c0[k], r_c1[k]):
            v = line[j]
            if v == v:
                whole[m] = v
                m += 1
        at[i] = m
    part = np.empty(part_starts[n], dtype=values.dtype)
    part_weights = np.empty(part_starts[n])
    at_part = part_starts[:-1].copy()
    for t in range(p_take.shape[0]):
        k = p_take[t]
        f = p_frac[k]
        if f <= 0.0:
            continue
        v = values[p_row[k], p_col[k]]
        if v == v:
            i = p_zone[k] - z0
            part[at_part[i]] = v
            part_weights[at_part[i]] = f
            at_part[i] += 1
    # Close the gaps NaN left: each zone's values move left, in order (never overwritten).
    m = 0
    mp = 0
    for i in range(n):
        first, first_part = whole_starts[i], part_starts[i]  # before they are rewritten
        whole_starts[i] = m
        part_starts[i] = mp
        for src in range(first, at[i]):
            whole[m] = whole[src]
            m += 1
        for src in range(first_part, at_part[i]):
            part[mp] = part[src]
            part_weights[mp] = part_weights[src]
            mp += 1
    whole_starts[n] = m
    part_starts[n] = mp
    return whole[:m], whole_starts, part[:mp], part_weights[:mp], part_starts


@njit(cache=True, nogil=True)
def zone_cells(run_zone, run_c0, run_c1, zones, fractions, n_zones):  # pragma: no cover
    """Pixels per zone (``int64``) of row runs and of sparse triples with a fraction > 0."""
    cells = np.zeros(n_zones, dtype=np.int64)
    for k in range(run_zone.shape[0]):
        cells[run_zone[k]] += run_c1[k] - run_c0[k]
    for k in range(zones.shape[0]):
        if fractions[k] > 0.0:
            cells[zones[k]] += 1
    return cells


@njit(cache=True, nogil=True)
def chunks_touched(
    rows, cols, run_row, run_c0, run_c1, row_chunk, col_chunk, n_row_chunks, n_col_chunks
):  # pragma: no cover - compiled
    """Which chunks hold a sparse triple or part of a run (``row_chunk[i]`` is row ``i``'s)."""
    hit = np.zeros((n_row_chunks, n_col_chunks), dtype=np.bool_)
    for k in range(rows.shape[0]):
        hit[row_chunk[rows[k]], col_chunk[cols[k]]] = True
    for k in range(run_row.shape[0]):
        i = row_chunk[run_row[k]]
        for j in range(col_chunk[run_c0[k]], col_chunk[run_c1[k] - 1] + 1):
            hit[i, j] = True
    return hit


@njit(cache=True, nogil=True)
def gather_segments(seg_zone, seg_length, values, starts):  # pragma: no cover - compiled
    """Regroup concatenated per-zone segments by zone.

    ``values`` holds segments one after another, segment ``k`` (``seg_length[k]`` values)
    belonging to zone ``seg_zone[k]``; ``starts`` (``n_zones + 1``) is where each zone's
    values go in the output (its cumulative counts). Segments of a zone keep their order.
    """
    out = np.empty(values.shape[0], dtype=values.dtype)
    at = starts[:-1].copy()
    src = 0
    for k in range(seg_zone.shape[0]):
        z = seg_zone[k]
        for i in range(seg_length[k]):
            out[at[z] + i] = values[src + i]
        at[z] += seg_length[k]
        src += seg_length[k]
    return out


@njit(cache=True, nogil=True)
def weighted_quantiles(
    whole, whole_starts, part, part_weights, part_starts, qs, out, todo
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
    ``qs[i]``, NaN for a zone without samples; only zones with ``todo[z]`` are computed
    (the other rows of ``out`` are left as they are).
    """
    n_zones = whole_starts.shape[0] - 1
    longest = 0
    for z in range(n_zones):
        if todo[z]:
            size = whole_starts[z + 1] - whole_starts[z] + part_starts[z + 1] - part_starts[z]
            longest = max(longest, size)
    xs = np.empty(longest)
    ws = np.empty(longest)
    sk = np.empty(longest)
    for z in range(n_zones):
        if not todo[z]:
            continue
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
