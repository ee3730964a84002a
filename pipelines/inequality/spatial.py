"""Global Moran's I (plain and on OLS residuals) and local Getis–Ord Gi* (science.md §7.4).

Moran's I = (n/S0)·Σ_iΣ_j w_ij z_i z_j / Σ z_i², z = x − x̄, S0 = Σ w_ij.

* Permutation inference: the values are shuffled over the zones B times; ``p_value`` is
  esda's folded pseudo p-value (1 + #{I* on the observed side of I, as extreme})/(B + 1), i.e.
  one-sided in the direction of the observed I, a permuted I equal to I counting on both
  sides (esda leaves such ties out of its lower tail); ``z_sim`` = (I − mean I*)/sd I*.
* Normal approximation: ``expected`` = −1/(n − 1) and ``z_norm``/``p_norm`` (two-sided) from
  the Cliff–Ord moments under normality. For OLS residuals the same moments are computed with
  the residual projector M = I − X(X'X)⁻¹X' (E[I] = (n/S0)·tr(MW)/(n − k)); they reduce to the
  plain ones when X is the intercept alone. Permuting residuals is only approximate, since
  residuals are not exchangeable: prefer ``z_norm``/``p_norm`` for residuals (Cliff & Ord
  1981; Anselin 1988), as :func:`spatial_note` does.

When p < 0.05 (``p_norm`` for residuals) the result carries the note of :func:`spatial_note`:
intervals that assume independent zones are optimistic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse, stats

from pipelines.inequality._inputs import as_vector, rng_from
from pipelines.inequality.results import MoranResult
from pipelines.inequality.shared import KEEP_BYTES, SharedDraws, seed_key
from pipelines.inequality.weights import SpatialWeights, Transform, as_spatial_weights
from tiles.errors import InequalityError

__all__ = ["getis_ord_gi_star", "morans_i", "residual_morans_i", "spatial_note"]

_BLOCK_ELEMENTS = 4_000_000
#: Significance level under which results carry the spatial-autocorrelation note.
ALPHA = 0.05


def morans_i(
    values: npt.ArrayLike,
    geometries_or_weights: Any,
    *,
    contiguity: Literal["queen", "rook", "knn"] = "queen",
    transform: Transform = "row",
    permutations: int = 999,
    seed: Any = None,
    shared: SharedDraws | None = None,
) -> MoranResult:
    """Global Moran's I of ``values`` with permutation and normal inference.

    Parameters
    ----------
    values
        Value per zone; zones with a missing value are dropped with their links.
    geometries_or_weights
        Zone polygons (GeoDataFrame, GeoSeries, shapely sequence) in the order of ``values``,
        an n × n weights matrix, or :class:`~pipelines.inequality.weights.SpatialWeights`.
    contiguity
        Neighbour rule when polygons are given: ``"queen"``, ``"rook"`` or ``"knn"`` (k = 4).
    transform
        ``"row"`` (default, each zone's neighbours weigh 1 in total, as esda's default) or
        ``"binary"`` (every link weighs 1).
    permutations
        Random permutations B for the pseudo p-value (0: normal approximation only).
    seed
        Seed of the permutations.
    shared
        Draws shared with the other outcomes of the same zones
        (:class:`~pipelines.inequality.shared.SharedDraws`): the permutations of a seed are
        drawn once. The same values as without.

    Returns
    -------
    MoranResult
        ``value`` I, ``expected``, ``z_sim``, ``p_value`` (permutation), ``z_norm``, ``p_norm``.

    Raises
    ------
    InequalityError
        Misaligned weights, fewer than 3 zones, constant values, or no links at all.

    Examples
    --------
    >>> from shapely import box
    >>> line = [box(i, 0, i + 1, 1) for i in range(5)]
    >>> r = morans_i([38, 36, 35, 33, 31], line, contiguity="rook", transform="binary",
    ...              permutations=0)
    >>> round(r.value, 10), r.expected
    (0.4469178082, -0.25)
    """
    x = as_vector(values, "values")
    weights = _aligned_weights(geometries_or_weights, contiguity, len(x))
    x, weights, notes = _drop_missing(x, weights)
    design = np.ones((len(x), 1))
    return _moran(
        x, design, weights, transform, permutations, seed, notes, "morans_i", shared=shared
    )


def residual_morans_i(
    outcome: npt.ArrayLike,
    predictors: npt.ArrayLike,
    geometries_or_weights: Any,
    *,
    contiguity: Literal["queen", "rook", "knn"] = "queen",
    transform: Transform = "row",
    permutations: int = 999,
    seed: Any = None,
    shared: SharedDraws | None = None,
) -> MoranResult:
    """Moran's I of the OLS residuals of ``outcome`` on ``predictors`` (plus an intercept).

    Use it to check a regression of LST on income across zones: a significant I means the
    OLS standard errors are optimistic (report spatial-lag/error models or Conley SEs), and in
    any case the cross-sectional association is not causal.

    Parameters
    ----------
    outcome
        Dependent variable per zone.
    predictors
        One predictor per zone (1-D) or several (2-D, zones × predictors, or a DataFrame).
    geometries_or_weights, contiguity, transform, permutations, seed, shared
        As in :func:`morans_i`.

    Returns
    -------
    MoranResult
        As :func:`morans_i`, with the Cliff–Ord residual moments in ``expected``/``z_norm``.
    """
    y = as_vector(outcome, "outcome")
    try:
        design = np.array(predictors, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise InequalityError("predictors are not numeric; convert them first") from None
    if design.ndim == 1:
        design = design[:, None]
    if design.ndim != 2 or design.shape[0] != len(y):
        raise InequalityError(
            f"predictors must have one row per zone ({len(y)}), got shape {design.shape}"
        )
    weights = _aligned_weights(geometries_or_weights, contiguity, len(y))
    complete = np.isfinite(y) & np.isfinite(design).all(axis=1)
    y, weights, notes = _drop_missing(np.where(complete, y, np.nan), weights)
    design = np.column_stack([np.ones(len(y)), design[complete]])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise InequalityError("predictors are collinear (or constant); drop redundant ones")
    if len(y) <= design.shape[1] + 1:
        raise InequalityError(f"{len(y)} zones are too few for {design.shape[1]} coefficients")
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coef
    notes.append("permutation p on residuals is approximate; z_norm/p_norm use Cliff–Ord moments")
    return _moran(
        residuals, design, weights, transform, permutations, seed, notes, "residual_morans_i",
        shared=shared,
    )  # fmt: skip


def getis_ord_gi_star(
    values: npt.ArrayLike,
    geometries_or_weights: Any,
    *,
    contiguity: Literal["queen", "rook", "knn"] = "queen",
    transform: Transform = "binary",
) -> np.ndarray:
    """Local Getis–Ord Gi* z-scores (hot spots > 0, cold spots < 0), each zone its own neighbour.

    Gi* = (Σ_j w_ij x_j − x̄·W_i) / (S·√((n·Σ_j w_ij² − W_i²)/(n − 1))) with w_ii = 1
    (before a row transform), W_i = Σ_j w_ij, x̄ and S (ddof 0) over all zones
    (Getis & Ord 1995). No multiple-testing correction is applied.

    Parameters
    ----------
    values
        Value per zone; missing values give NaN and are left out of the others' sums.
    geometries_or_weights, contiguity
        As in :func:`morans_i`.
    transform
        ``"binary"`` (default) or ``"row"``.

    Returns
    -------
    numpy.ndarray
        One z-score per zone, in input order.
    """
    x = as_vector(values, "values")
    weights = _aligned_weights(geometries_or_weights, contiguity, len(x))
    valid = np.isfinite(x)
    out = np.full(len(x), np.nan)
    x_valid = x[valid]
    n = len(x_valid)
    if n < 3:
        raise InequalityError(f"only {n} zones with values (need at least 3)")
    binary = weights.subset(valid).transformed("binary")
    star = sparse.csr_array(binary + sparse.eye_array(n, format="csr"))
    if transform == "row":
        star = sparse.csr_array(sparse.diags_array(1.0 / star.sum(axis=1)) @ star)
    elif transform != "binary":
        raise InequalityError(f"transform must be 'binary' or 'row'; got {transform!r}")
    mean = x_valid.mean()
    spread = np.sqrt(np.mean(x_valid**2) - mean**2)
    if not spread > 0:
        raise InequalityError("values are constant, so Gi* is undefined")
    row_sum = np.asarray(star.sum(axis=1)).ravel()
    row_sq = np.asarray(star.multiply(star).sum(axis=1)).ravel()
    numerator = star @ x_valid - mean * row_sum
    denominator = spread * np.sqrt((n * row_sq - row_sum**2) / (n - 1))
    out[valid] = numerator / denominator
    return out


def spatial_note(result: MoranResult, alpha: float = ALPHA) -> str | None:
    """Return the caveat for other results when ``result`` shows autocorrelation, else None.

    Moran's I of values uses the permutation p-value (the normal one when no permutation was
    run); Moran's I of OLS residuals uses the normal p-value with the Cliff–Ord residual
    moments, ``p_norm``: residuals are not exchangeable, so permuting them is not a valid test
    (Cliff & Ord 1981; Anselin 1988). Only a positive autocorrelation (neighbours alike) makes
    intervals that assume independence optimistic; a negative one makes them conservative,
    and gets no caveat.
    """
    residual = result.metric.startswith("residual")
    if residual:
        p, name = result.p_norm, "p_norm"
    elif np.isfinite(result.p_value):
        p, name = result.p_value, "p"
    else:
        p, name = result.p_norm, "p_norm"
    if not (np.isfinite(p) and p < alpha and result.value > 0):
        return None
    what = "residual spatial autocorrelation" if residual else "spatial autocorrelation"
    return (
        f"{what} (Moran's I = {result.value:.3f}, {name} = {p:.3g}): confidence intervals "
        "that assume independent zones are optimistic"
    )


def _aligned_weights(geometries_or_weights: Any, contiguity: str, n: int) -> SpatialWeights:
    weights = as_spatial_weights(geometries_or_weights, contiguity=contiguity)  # type: ignore[arg-type]
    if weights.n != n:
        raise InequalityError(f"spatial weights cover {weights.n} zones but {n} values given")
    return weights


def _drop_missing(
    x: np.ndarray, weights: SpatialWeights
) -> tuple[np.ndarray, SpatialWeights, list[str]]:
    notes = []
    valid = np.isfinite(x)
    if not valid.any():
        raise InequalityError("values are all missing; check the column")
    if not valid.all():
        notes.append(f"{int((~valid).sum())} of {len(x)} zones dropped (missing value)")
        x, weights = x[valid], weights.subset(valid)
    if len(x) < 3:
        raise InequalityError(f"only {len(x)} zones with values (need at least 3)")
    return x, weights, notes


def _moran(
    x: np.ndarray,
    design: np.ndarray,
    weights: SpatialWeights,
    transform: Transform,
    permutations: int,
    seed: Any,
    notes: list[str],
    metric: str,
    shared: SharedDraws | None = None,
) -> MoranResult:
    if permutations < 0:
        raise InequalityError(f"permutations must be ≥ 0, got {permutations}")
    n = len(x)
    matrix = weights.transformed(transform)
    s0 = float(matrix.sum())
    if not s0 > 0:
        raise InequalityError("no zone has a neighbour; check the geometries or the weights")
    z = x - x.mean()
    denominator = float(z @ z)
    if not denominator > 0:
        raise InequalityError("values are constant, so Moran's I is undefined")
    value = n / s0 * float(z @ (matrix @ z)) / denominator
    expected, variance = _cliff_ord_moments(matrix, design, s0)
    z_norm = (value - expected) / np.sqrt(variance) if variance > 0 else np.nan
    p_norm = float(2.0 * stats.norm.sf(abs(z_norm))) if np.isfinite(z_norm) else np.nan

    p_sim = z_sim = sd_sim = np.nan
    if permutations > 0:
        orders = _permutations(n, permutations, seed, shared)
        simulated = _permuted_i(z, matrix, s0, denominator, orders)
        p_sim = _folded_p(simulated, value)
        sd_sim = float(simulated.std())
        z_sim = (value - float(simulated.mean())) / sd_sim if sd_sim > 0 else np.nan
        if seed is None:
            notes.append("permutations not seeded: pass seed= for a reproducible p-value")
    if weights.islands:
        zones = "1 zone has" if weights.islands == 1 else f"{weights.islands} zones have"
        notes.append(f"{zones} no neighbour (islands)")
    result = MoranResult(
        metric=metric,
        value=value,
        se=sd_sim,
        p_value=p_sim,
        n=n,
        method=(
            f"global Moran's I, {weights.description}, {transform} weights; "
            + (
                f"pseudo p from {permutations} permutations (one-sided, folded as esda, ties "
                "in both tails); p_norm two-sided"
                if permutations
                else "normal approximation only (p_norm two-sided)"
            )
        ),
        notes=tuple(notes),
        expected=expected,
        z_sim=z_sim,
        z_norm=float(z_norm),
        p_norm=p_norm,
        permutations=permutations,
        transform=transform,
        weights=weights.description,
        islands=weights.islands,
    )
    note = spatial_note(result)
    return result.with_notes(note) if note else result


def _cliff_ord_moments(
    matrix: sparse.csr_array, design: np.ndarray, s0: float
) -> tuple[float, float]:
    """E[I] and Var[I] of Moran's I of OLS residuals on ``design`` (normality; Cliff & Ord 1981).

    With M = I − X G X', G = (X'X)⁻¹ and traces expanded so that no n × n dense matrix is
    formed: tr(MW) = tr(W) − tr(G X'WX), tr((MW)²) = tr(WW) − 2 tr(G X'WWX) + tr((G X'WX)²),
    tr(MWMW') = tr(WW') − tr(G X'WW'X) − tr(G X'W'WX) + tr(G X'WX G X'W'X).
    """
    n, k = design.shape
    x = design
    gram_inv = np.linalg.inv(x.T @ x)
    wx = matrix @ x
    wtx = matrix.T @ x
    xwx = x.T @ wx
    xwtx = x.T @ wtx
    tr_w = float(matrix.diagonal().sum())
    tr_ww = float(matrix.multiply(matrix.T).sum())
    tr_wwt = float(matrix.multiply(matrix).sum())
    tr_mw = tr_w - float(np.trace(gram_inv @ xwx))
    tr_mw_mw = (
        tr_ww
        - 2.0 * float(np.trace(gram_inv @ (x.T @ (matrix @ wx))))
        + float(np.trace(gram_inv @ xwx @ gram_inv @ xwx))
    )
    tr_mw_mwt = (
        tr_wwt
        - float(np.trace(gram_inv @ (wx.T @ wx)))
        - float(np.trace(gram_inv @ (wtx.T @ wtx)))
        + float(np.trace(gram_inv @ xwx @ gram_inv @ xwtx))
    )
    expected = n / s0 * tr_mw / (n - k)
    second = (n / s0) ** 2 * (tr_mw_mwt + tr_mw_mw + tr_mw**2) / ((n - k) * (n - k + 2))
    return float(expected), float(second - expected**2)


def _folded_p(simulated: np.ndarray, value: float) -> float:
    """Pseudo p-value of ``value`` among the ``simulated`` statistics, the smaller tail's.

    As esda's one-sided pseudo p, (tail + 1) / (B + 1) with the tail the simulated values at
    least as extreme on the side ``value`` lies, but a simulated value equal to ``value`` (to
    rounding) counts in both tails: esda's lower tail, B minus the upper one, leaves ties out,
    so a statistic no permutation can change (4 zones, each the others' neighbour: every
    permutation gives I = -1/3) read p = 1/(B + 1), "significant", instead of 1.
    """
    tie = 1e-12 * max(1.0, abs(value))
    above = int(np.count_nonzero(simulated >= value - tie))
    below = int(np.count_nonzero(simulated <= value + tie))
    return (min(above, below) + 1.0) / (len(simulated) + 1.0)


def _permutations(
    n: int, permutations: int, seed: Any, shared: SharedDraws | None
) -> Iterable[np.ndarray]:
    """Return the permutations of ``n`` zones, block by block: row b orders draw b's zones.

    Drawn from ``seed`` as its Generator would permute the values themselves (the draws
    depend on the shape only); with ``shared`` and a seed, once per seed and shape (up to
    :data:`~.shared.KEEP_BYTES`).
    """
    key = seed_key(seed)
    if shared is None or key is None or permutations * n * 8 > KEEP_BYTES:
        return _draw_permutations(n, permutations, rng_from(seed))
    return shared.once(
        ("permutations", key, n, permutations),
        lambda: list(_draw_permutations(n, permutations, rng_from(seed))),
    )


def _draw_permutations(n: int, permutations: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    zones = np.arange(n)
    block = max(1, _BLOCK_ELEMENTS // n)
    for first in range(0, permutations, block):
        size = min(block, permutations - first)
        yield rng.permuted(np.broadcast_to(zones, (size, n)), axis=1)


def _permuted_i(
    z: np.ndarray,
    matrix: sparse.csr_array,
    s0: float,
    denominator: float,
    orders: Iterable[np.ndarray],
) -> np.ndarray:
    n = len(z)
    out = []
    for order in orders:
        shuffled = z[order]  # the layout (and sums) of the permuted values
        lagged = (matrix @ shuffled.T).T
        out.append(n / s0 * np.sum(shuffled * lagged, axis=1) / denominator)
    return np.concatenate(out)
