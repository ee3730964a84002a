"""An oracle of pixel-centre membership that says which centres are too close to call.

A run rasterises its zones with GDAL (centre rule, one polygon at a time); a test's oracle
takes the pixel centres in the zones' union with shapely. A centre lying on the union's
boundary is in or out by the last bits of the reprojected coordinates (the PROJ build, the
floating-point path), not by ilots: the demo's IRIS union, taken from Lambert-93 to UTM,
passes within 1e-8 m of 293 pixel centres of the 30 m grid. Such centres are *ambiguous*:
left out of exact comparisons, which bound the run's counts and means by them instead.

:data:`EDGE_TOLERANCE_M` is 1e-6 m: a reprojection's rounding at UTM coordinates (under
10^7 m, a float64 spacing of 2e-9 m) is some ulps, under 1e-8 m, a hundred times less; a
centre off the boundary by a real amount is off it by far more (the demo's nearest is 10 m
off), since zone vertices are given to the millimetre at most.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from affine import Affine

#: How close to a zone boundary a pixel centre is ambiguous, in metres (see the module).
EDGE_TOLERANCE_M = 1e-6


def centres_in(
    geometry: shapely.Geometry,
    shape: tuple[int, int],
    transform: Affine,
    tolerance: float = EDGE_TOLERANCE_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the pixels whose centre is inside ``geometry``, and those whose centre is on it.

    Every centre is decided alike (shapely's ``contains_xy``, not GDAL's scanline rule);
    those within ``tolerance`` of the boundary are ambiguous: in the second mask, not the
    first.

    Returns
    -------
    tuple of numpy.ndarray
        Boolean ``shape`` masks: centres inside, farther than ``tolerance`` from the
        boundary; centres within ``tolerance`` of it.
    """
    rows, cols = np.indices(shape)
    x, y = transform * (cols + 0.5, rows + 0.5)
    boundary = geometry.boundary
    shapely.prepare(boundary)  # ten times faster over a grid's centres
    edge = shapely.dwithin(boundary, shapely.points(x, y), tolerance)
    return shapely.contains_xy(geometry, x, y) & ~edge, edge


def most_centres_on_boundary(geometry: shapely.Geometry, pixel: float) -> int:
    """Return how many centres of a grid of square ``pixel`` cells can lie on the boundary.

    A straight segment of length ``l`` holds at most ``floor(l / pixel) + 1`` points of a
    square lattice of that spacing (two of its points on one line are ``pixel`` or more
    apart); the boundary holds at most the sum over its segments.
    """
    total = 0
    for line in shapely.get_parts(geometry.boundary):
        coords = shapely.get_coordinates(line)
        lengths = np.hypot(*np.diff(coords, axis=0).T)
        total += sum(math.floor(length / pixel) + 1 for length in lengths)
    return total


def assert_count_and_mean(
    count: int,
    mean: float | None,
    sure: np.ndarray,
    ambiguous: np.ndarray,
    rel: float = 1e-9,
    abs_tol: float = 0.0,
    note: Callable[[], str] | None = None,
) -> None:
    """Check a run's pixel count and mean over a footprint against the oracle's pixels.

    ``sure`` holds the finite values of the pixels certainly in the footprint, ``ambiguous``
    those of its ambiguous pixels (:func:`centres_in`). The run took all of the first and
    ``k = count - sure.size`` of the second, so its sum less ``sure``'s lies between the
    sums of the ``k`` smallest and the ``k`` largest ambiguous values (equal to ``sure``'s
    mean, to ``rel`` or ``abs_tol``, when ``k`` is 0). A ``mean`` of None checks the count.
    A failure says by how much the count or the mean is out, then what ``note()`` says (what
    the caller knows that may explain it; called on a failure only).
    """
    failure = _count_and_mean_failure(count, mean, sure, ambiguous, rel, abs_tol)
    if failure is not None:
        raise AssertionError(failure + (f"; {note()}" if note is not None else ""))


def _count_and_mean_failure(
    count: int,
    mean: float | None,
    sure: np.ndarray,
    ambiguous: np.ndarray,
    rel: float,
    abs_tol: float,
) -> str | None:
    """Say how the count or the mean is out (:func:`assert_count_and_mean`), or None."""
    k = count - sure.size
    if not 0 <= k <= ambiguous.size:
        return (
            f"the run counts {count} pixels, {k:+d} beside the {sure.size} whose centre is "
            f"surely in the footprint, where 0 to {ambiguous.size} ambiguous ones may join them"
        )
    if mean is None:
        return None
    total = sure.astype(np.float64).sum()
    extra = float(mean * count - total)
    sure_mean = float(total / sure.size) if sure.size else math.nan
    ordered = np.sort(ambiguous.astype(np.float64))
    low, high = float(ordered[:k].sum()), float(ordered[ordered.size - k :].sum())
    slack = max(rel * abs(mean), abs_tol) * count
    below, above = (low - slack) - extra, extra - (high + slack)  # both <= 0 when within
    if below <= 0 and above <= 0:
        return None
    off = (above if below <= 0 else -below) / max(count, 1)  # K beyond the bound it is past
    return (
        f"the run's mean {mean!r} over {count} pixels is {off:+.3g} K past its bounds: its "
        f"sum beyond the {sure.size} sure pixels (mean {sure_mean!r}) is "
        f"{extra!r}, not within [{low!r}, {high!r}] ± {slack:.3g} (the {k} smallest, largest "
        f"of {ambiguous.size} ambiguous values)"
    )


def mean_shift_bound(sure: np.ndarray, ambiguous: np.ndarray) -> float:
    """Return how far a mean over ``sure`` and some of ``ambiguous`` can be from ``sure``'s.

    Adding values ``a`` to ``n`` values of mean ``m`` moves their mean by the sum of the
    ``a - m`` over ``n`` plus the number added: at most the sum of the positive ``a - m`` of
    ``ambiguous`` over ``n`` up, of the negative ones down (NaN ignored).
    """
    sure, ambiguous = sure[np.isfinite(sure)], ambiguous[np.isfinite(ambiguous)]
    deviations = ambiguous.astype(np.float64) - sure.astype(np.float64).mean()
    up, down = deviations[deviations > 0].sum(), -deviations[deviations < 0].sum()
    return float(max(up, down) / sure.size)
