"""Exact coverage fractions of polygons on a grid, by signed-area accumulation (numba).

The covered fraction of a pixel is the integral of the polygon's indicator over the pixel.
For a valid polygon (shells and holes oriented oppositely, parts disjoint) the indicator is
the winding number of its rings, and the integral decomposes over the ring edges: each edge
adds, to the pixels of every row it crosses, the signed area between itself and the left
end of the row (a trapezoid per pixel, exact for straight edges). Accumulating these areas
in a buffer and taking the running sum along each row gives every pixel's exact fraction:
the pixels an edge crosses get their partial areas, the pixels right of it the full height.
This is the scanline accumulation of anti-aliasing font rasterisers (font-rs), applied to
the rings of each zone in turn on the zone's bounding window, so the work is proportional to
the window area plus the number of boundary pixels.

Numerical care: the running sum is snapped back to the nearest integer on pixels no edge
crosses (their fraction is exactly 0 or 1), so rounding never drifts along a row; fractions
within ``1e-12`` of 0 or 1 are taken as 0 or 1. exactextract computes the same areas and
stores them as float32, so the two agree within float32 rounding (about 6e-8).

The result is the compact form of :class:`~raster.zonal.coverage.ZoneCoverage` directly: a
label raster of the pixels wholly inside exactly one zone and, sorted by row, the (row,
column, zone, fraction) of every other covered pixel (zone borders, and every pixel of
overlapping zones).

Memory: the label raster is the only grid-sized array, 2 bytes a pixel (``uint16``) up to
65,534 zones, 4 (``int32``) beyond (:func:`~raster.zonal.kernels.label_dtype`). While the
zones are accumulated it also records which pixels some zone already covers in part (a
reserved label), so no separate count raster is needed; the buffers of a zone's window are
at most :data:`_BAND_ROWS` rows.
"""

from __future__ import annotations

import numpy as np
import shapely
from numba import njit

from raster.zonal.kernels import label_dtype, no_zone

__all__ = ["exact_coverage"]

#: Rows of a zone's window accumulated at once (bounds the buffer of very large zones).
_BAND_ROWS = 512
#: Fractions this close to 0 or 1 are 0 or 1 (accumulation rounding is ~1e-15).
_SNAP = 1e-12


def exact_coverage(
    geometry: np.ndarray, transform: tuple[float, ...], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact covered fractions of zones on a north-up grid, in compact form.

    Parameters
    ----------
    geometry
        One valid Polygon or MultiPolygon (possibly empty) per zone, in the grid's CRS.
    transform
        The grid's affine coefficients ``(a, b, c, d, e, f)``; ``b = d = 0``, ``e < 0``.
    shape
        Grid shape ``(ny, nx)``.

    Returns
    -------
    labels, rows, cols, zones, fractions
        ``labels`` (``(ny, nx)``, dtype :func:`~raster.zonal.kernels.label_dtype` of the zone
        count: ``uint16`` up to 65,534 zones, else ``int32``): the zone index of each pixel
        wholly inside exactly one zone, else :func:`~raster.zonal.kernels.no_zone` of that
        dtype (65,535 or -1); the other covered pixels as ``int32`` row, column, zone index
        and ``float64`` fraction in (0, 1], sorted by row.
    """
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    if b != 0 or d != 0 or e >= 0 or a <= 0:
        raise ValueError("exact coverage needs a north-up grid without rotation")
    ny, nx = (int(v) for v in shape)
    geometry = np.asarray(geometry, dtype=object)
    n_zones = geometry.shape[0]
    parts, zone_of_part = shapely.get_parts(geometry, return_index=True)
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    exterior = np.ones(part_of_ring.shape[0], dtype=np.bool_)
    exterior[1:] = part_of_ring[1:] != part_of_ring[:-1]  # a polygon's exterior comes first
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    ring_start = np.searchsorted(ring_of_coord, np.arange(rings.shape[0] + 1))
    zone_of_ring = zone_of_part[part_of_ring]
    zone_ring_start = np.searchsorted(zone_of_ring, np.arange(n_zones + 1))
    # Pixel space: x = column, y = row, both from the grid's top-left corner.
    px = (coords[:, 0] - c) / a
    py = (coords[:, 1] - f) / e
    dtype = label_dtype(n_zones)
    none = no_zone(dtype)
    labels = np.full((ny, nx), none, dtype=dtype)
    # The label just below "no zone" (65,534 or -2) marks pixels some zone covers in part,
    # or that several zones cover: never a zone index (label_dtype leaves room for it).
    shared = none - 1 if dtype.kind == "u" else -2
    rows, cols, zones, fractions = _build(
        labels, dtype.type(none), dtype.type(shared), px, py, ring_start.astype(np.int64),
        exterior, zone_ring_start.astype(np.int64), _BAND_ROWS, _SNAP,
    )  # fmt: skip
    return labels, rows, cols, zones, fractions


@njit(cache=True, nogil=True)
def _deposit(acc, touched, i, lo, hi, d, width):  # pragma: no cover - compiled
    """Add the signed area of one edge piece inside row ``i`` of the buffer.

    The piece spans columns ``lo..hi`` (any side of the window) and has signed height ``d``.
    Pieces left of the window count wholly in its first pixel; pieces right of it are dropped.
    ``acc[i, k]`` receives what pixel ``k`` and every pixel right of it gain.
    """
    if hi <= 0.0:
        acc[i, 0] += d
        return
    if lo >= width:
        return
    if lo < 0.0:
        left = -lo / (hi - lo)
        acc[i, 0] += d * left
        d -= d * left
        lo = 0.0
    if hi > width:
        d -= d * (hi - width) / (hi - lo)
        hi = float(width)
    x0floor = np.floor(lo)
    x0i = int(x0floor)
    x1ceil = np.ceil(hi)
    x1i = int(x1ceil)
    if x1i <= x0i + 1:
        xmf = 0.5 * (lo + hi) - x0floor
        acc[i, x0i] += d - d * xmf
        acc[i, x0i + 1] += d * xmf
        touched[i, x0i] = 1
        return
    s = 1.0 / (hi - lo)
    x0f = lo - x0floor
    a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f)
    x1f = hi - x1ceil + 1.0
    am = 0.5 * s * x1f * x1f
    acc[i, x0i] += d * a0
    if x1i == x0i + 2:
        acc[i, x0i + 1] += d * (1.0 - a0 - am)
    else:
        a1 = s * (1.5 - x0f)
        acc[i, x0i + 1] += d * (a1 - a0)
        for k in range(x0i + 2, x1i - 1):
            acc[i, k] += d * s
        a2 = a1 + (x1i - x0i - 3) * s
        acc[i, x1i - 1] += d * (1.0 - a2 - am)
    acc[i, x1i] += d * am
    for k in range(x0i, x1i):
        touched[i, k] = 1


@njit(cache=True, nogil=True)
def _edge(acc, touched, xa, ya, xb, yb, sign, top, height, width):  # pragma: no cover
    """Accumulate edge ``(xa, ya) -> (xb, yb)`` (window pixel space) over rows ``top..``."""
    if ya == yb:  # horizontal: no area, but the pixels it crosses are not whole
        i = int(np.floor(ya)) - top
        if 0 <= i < height and np.floor(ya) != ya:
            for k in range(
                max(int(np.floor(min(xa, xb))), 0), min(int(np.ceil(max(xa, xb))), width)
            ):
                touched[i, k] = 1
        return
    if ya < yb:
        d, y0, x0, y1, x1 = sign, ya, xa, yb, xb
    else:
        d, y0, x0, y1, x1 = -sign, yb, xb, ya, xa
    dxdy = (x1 - x0) / (y1 - y0)
    first = max(int(np.floor(y0)) - top, 0)
    last = min(int(np.ceil(y1)) - top, height)
    for i in range(first, last):
        ys = max(y0, float(i + top))
        ye = min(y1, float(i + top + 1))
        if ye <= ys:
            continue
        xs = x0 + (ys - y0) * dxdy
        xe = x0 + (ye - y0) * dxdy
        if ys == y0:
            xs = x0
        if ye == y1:
            xe = x1
        _deposit(acc, touched, i, min(xs, xe), max(xs, xe), d * (ye - ys), width)


@njit(cache=True, nogil=True)
def _grow(array, size):  # pragma: no cover - compiled
    out = np.empty(max(2 * array.shape[0], size), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True, nogil=True)
def _build(labels, none, shared, px, py, ring_start, exterior, zone_ring_start, band_rows, snap):
    """Fill ``labels`` and return the sorted sparse triples (see :func:`exact_coverage`).

    ``labels`` comes filled with ``none``. While zones are accumulated, a pixel's label is
    ``none`` (no zone covers it yet), a zone index (one zone covers it wholly, and no other
    zone so far) or ``shared`` (its coverage is in the sparse triples); ``shared`` becomes
    ``none`` at the end.
    """
    ny, nx = labels.shape
    n_zones = zone_ring_start.shape[0] - 1
    p_cell = np.empty(1024, dtype=np.int64)
    p_zone = np.empty(1024, dtype=np.int32)
    p_frac = np.empty(1024, dtype=np.float64)
    n_p = 0
    # Orientation of each ring: shells count +1, holes -1, whatever the vertex order.
    n_rings = ring_start.shape[0] - 1
    ring_sign = np.zeros(n_rings)
    for r in range(n_rings):
        area = 0.0
        for k in range(ring_start[r], ring_start[r + 1] - 1):
            area += px[k] * py[k + 1] - px[k + 1] * py[k]
        if area != 0.0:
            ring_sign[r] = (-1.0 if exterior[r] else 1.0) * (1.0 if area > 0 else -1.0)
    for z in range(n_zones):
        rs, re = zone_ring_start[z], zone_ring_start[z + 1]
        if rs == re or ring_start[re] == ring_start[rs]:
            continue
        ks, ke = ring_start[rs], ring_start[re]
        minx, maxx = px[ks:ke].min(), px[ks:ke].max()
        miny, maxy = py[ks:ke].min(), py[ks:ke].max()
        r0, r1 = max(int(np.floor(miny)), 0), min(int(np.ceil(maxy)), ny)
        c0, c1 = max(int(np.floor(minx)), 0), min(int(np.ceil(maxx)), nx)
        if r0 >= r1 or c0 >= c1:
            continue
        width = c1 - c0
        for b0 in range(r0, r1, band_rows):
            height = min(r1, b0 + band_rows) - b0
            acc = np.zeros((height, width + 2))
            touched = np.zeros((height, width + 2), dtype=np.uint8)
            for r in range(rs, re):
                sign = ring_sign[r]
                if sign == 0.0:
                    continue
                for k in range(ring_start[r], ring_start[r + 1] - 1):
                    ya, yb = py[k], py[k + 1]
                    if max(ya, yb) <= b0 or min(ya, yb) >= b0 + height:
                        continue
                    _edge(acc, touched, px[k] - c0, ya, px[k + 1] - c0, yb, sign, b0,
                          height, width)  # fmt: skip
            # Running sums -> fractions (in place), and how many sparse triples they add.
            need = 0
            for i in range(height):
                cover = 0.0
                for j in range(width):
                    cover += acc[i, j]
                    if touched[i, j] == 0:
                        cover = np.floor(cover + 0.5)
                    f = cover
                    if f >= 1.0 - snap:
                        f = 1.0
                        if labels[b0 + i, c0 + j] != none:
                            need += 2
                    elif f <= snap:
                        f = 0.0
                    else:
                        need += 2
                    acc[i, j] = f
            if n_p + need > p_cell.shape[0]:
                p_cell, p_zone = _grow(p_cell, n_p + need), _grow(p_zone, n_p + need)
                p_frac = _grow(p_frac, n_p + need)
            for i in range(height):
                row = b0 + i
                for j in range(width):
                    f = acc[i, j]
                    if f == 0.0:
                        continue
                    col = c0 + j
                    before = labels[row, col]
                    if f == 1.0 and before == none:
                        labels[row, col] = z
                        continue
                    # Partly covered, or covered by another zone too: sparse triples.
                    if before != none and before != shared:  # another zone held it whole
                        p_cell[n_p], p_zone[n_p], p_frac[n_p] = row * nx + col, before, 1.0
                        n_p += 1
                    p_cell[n_p], p_zone[n_p], p_frac[n_p] = row * nx + col, z, f
                    n_p += 1
                    labels[row, col] = shared
    for i in range(ny):
        for j in range(nx):
            if labels[i, j] == shared:
                labels[i, j] = none
    # Sort the sparse triples by row (stable counting sort).
    starts = np.zeros(ny + 1, dtype=np.int64)
    for k in range(n_p):
        starts[p_cell[k] // nx + 1] += 1
    for r in range(ny):
        starts[r + 1] += starts[r]
    rows = np.empty(n_p, dtype=np.int32)
    cols = np.empty(n_p, dtype=np.int32)
    zones = np.empty(n_p, dtype=np.int32)
    fractions = np.empty(n_p, dtype=np.float64)
    for k in range(n_p):
        row = p_cell[k] // nx
        at = starts[row]
        starts[row] += 1
        rows[at] = row
        cols[at] = p_cell[k] - row * nx
        zones[at] = p_zone[k]
        fractions[at] = p_frac[k]
    return rows, cols, zones, fractions
