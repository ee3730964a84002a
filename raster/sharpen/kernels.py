"""Pure NumPy kernels of thermal sharpening (DisTrad / TsHARP with residual correction).

science.md §4.2. Arrays are 2-D ``(y, x)``; a coarse cell holds ``factor × factor`` fine
pixels (the fine grid nests in the coarse one; :mod:`raster.sharpen.api` checks it). Every
kernel works in float64, treats NaN as "no data" and never writes into its inputs.

The steps, each a function here:

1. :func:`block_mean` / :func:`block_stats`: fine NDVI → coarse mean, coefficient of
   variation (CV) and count of valid fine pixels.
2. :func:`ndvi_basis` (DisTrad) or :func:`tsharp_basis` (TsHARP): the basis ``f`` of the fit.
3. :func:`fit_basis`: least squares ``T_c = a + b·f_c`` over the homogeneous coarse cells.
4. :func:`sharpen_block`: ``T̂_f = a + b·f_f`` plus the residual correction of
   :func:`coarse_residual`, added to every fine pixel of its cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tiles.errors import IlotsError

__all__ = [
    "SharpenError",
    "SharpenFit",
    "SharpenSpec",
    "block_mean",
    "block_stats",
    "coarse_residual",
    "expand",
    "fit_basis",
    "ndvi_basis",
    "sharpen_block",
    "tsharp_basis",
]

Basis = Literal["ndvi", "tsharp"]
Correction = Literal["average", "linreg"]


class SharpenError(IlotsError, ValueError):
    """Thermal sharpening cannot run on the inputs given (units, too few homogeneous cells).

    When too few cells were homogeneous, ``fitted`` and ``eligible`` say how many were, of
    how many with an LST and an NDVI (else None), so that callers can word their own advice.
    """

    fitted: int | None = None
    eligible: int | None = None


@dataclass(frozen=True)
class SharpenSpec:
    """How to sharpen: the basis, the homogeneous-cell selection and the residual correction.

    Attributes
    ----------
    basis
        ``"ndvi"`` (default): DisTrad, ``f = NDVI`` (Kustas et al. 2003). It needs no
        constant, and the fit is invariant to any affine rescaling of NDVI. ``"tsharp"``:
        TsHARP's fractional cover ``f = 1 − ((NDVI_max − NDVI)/(NDVI_max − NDVI_min))^exponent``
        (Agam et al. 2007), whose three constants are **[U]** in science.md §4.2.
    correction
        ``"average"`` (default): ``ΔT_c = T_c,obs − mean(T̂_f in the cell)``, so each coarse
        cell's mean (or radiance mean, see ``radiance``) is reproduced whatever the basis and
        whatever fine pixels are NaN. ``"linreg"``: ``ΔT_c = T_c,obs − (a + b·f_c)``
        (ThUnmpy ``correction_linreg``, science.md vector S-1); with the ``"ndvi"`` basis and
        complete cells it equals the arithmetic ``"average"``.
    radiance
        With ``"average"``: aggregate the prediction as radiance, ``(mean T̂_f⁴)^¼``, and not
        as ``mean T̂_f`` (science.md pitfall 13, as pyDMS does; vector S-2). ``None``
        (default) means ``True`` for ``"average"``; ``"linreg"`` aggregates no temperature,
        so ``True`` there is an error. The residual is then added in kelvin, so the radiance
        mean of a cell is kept to second order only: about 1e-4 K for a ±2 K spread at 300 K.
    cv_quantile
        Quantile of the coarse cells' CV of sub-pixel NDVI below which a cell counts as
        homogeneous and enters the fit; ``1`` keeps every valid cell. Default ``0.8``, pyDMS'
        automatic threshold (its 80th percentile, **[V]** in science.md §4.2), rather than
        TsHARP's "25 % lowest CV" (**[U]**). Over a city the least heterogeneous quarter
        tends to be the uniform vegetated or uniformly built cells, so a 25 % fit may cover
        only part of the NDVI range and extrapolate to the rest; and at 30 m → 10 m a CV
        rests on 9 pixels, too noisy to rank finely. 80 % drops the most mixed fifth.
    min_cells
        Fewest homogeneous cells to fit (pyDMS' minimum sample count, 10, science.md §4.2).
    min_valid_fraction
        Fraction of a cell's fine pixels that must have an NDVI for the cell to enter the
        fit; default 1 (a partly masked cell's mean NDVI does not describe its whole area).
        Cells below it are still sharpened.
    ndvi_min, ndvi_max, exponent
        TsHARP's bare-soil and full-cover NDVI and exponent (``"tsharp"`` only), all **[U]**:
        default 0.125, 0.8 (typical bare-soil / dense-canopy NDVI, not from science.md)
        and 0.625 (science.md §4.2). Set ``ndvi_min``/``ndvi_max`` from the scene when you
        can; NDVI outside them is clipped (``f`` in [0, 1]).

    Raises
    ------
    ValueError
        On an unknown basis or correction, or a parameter out of range.
    """

    basis: Basis = "ndvi"
    correction: Correction = "average"
    radiance: bool | None = None
    cv_quantile: float = 0.8
    min_cells: int = 10
    min_valid_fraction: float = 1.0
    ndvi_min: float = 0.125
    ndvi_max: float = 0.8
    exponent: float = 0.625

    def __post_init__(self) -> None:
        if self.basis not in ("ndvi", "tsharp"):
            raise ValueError(f"basis must be 'ndvi' or 'tsharp', got {self.basis!r}")
        if self.correction not in ("average", "linreg"):
            raise ValueError(f"correction must be 'average' or 'linreg', got {self.correction!r}")
        if self.radiance and self.correction == "linreg":
            raise ValueError(
                "radiance=True needs correction='average': 'linreg' aggregates no temperature"
            )
        if not 0.0 < float(self.cv_quantile) <= 1.0:
            raise ValueError(f"cv_quantile must be in (0, 1], got {self.cv_quantile!r}")
        if int(self.min_cells) != self.min_cells or self.min_cells < 2:
            raise ValueError(f"min_cells must be a whole number >= 2, got {self.min_cells!r}")
        if not 0.0 < float(self.min_valid_fraction) <= 1.0:
            raise ValueError(
                f"min_valid_fraction must be in (0, 1], got {self.min_valid_fraction!r}"
            )
        if not (math.isfinite(self.ndvi_min) and math.isfinite(self.ndvi_max)) or not (
            self.ndvi_min < self.ndvi_max
        ):
            raise ValueError(
                f"ndvi_min must be below ndvi_max, got {self.ndvi_min!r} and {self.ndvi_max!r}"
            )
        if not (math.isfinite(self.exponent) and self.exponent > 0):
            raise ValueError(f"exponent must be positive, got {self.exponent!r}")

    @property
    def aggregates_radiance(self) -> bool:
        """Whether the ``average`` correction aggregates ``T⁴`` (``radiance``, resolved)."""
        return self.correction == "average" and self.radiance is not False

    def f(self, ndvi: np.ndarray) -> np.ndarray:
        """Return the basis ``f(NDVI)`` of this spec, float64."""
        if self.basis == "tsharp":
            return tsharp_basis(ndvi, self.ndvi_min, self.ndvi_max, self.exponent)
        return ndvi_basis(ndvi)

    def describe(self) -> str:
        """One line for a ``long_name``: the method, its basis and its correction."""
        basis = (
            "DisTrad (f = NDVI)"
            if self.basis == "ndvi"
            else f"TsHARP (f = fractional cover, NDVI {self.ndvi_min}-{self.ndvi_max}, "
            f"exponent {self.exponent})"
        )
        if self.correction == "linreg":
            corr = "linear-regression residual correction"
        else:
            corr = "residual correction conserving each coarse cell's " + (
                "radiance (T^4) mean" if self.aggregates_radiance else "mean"
            )
        return f"{basis}, {corr}"


@dataclass(frozen=True)
class SharpenFit:
    """The fitted relation ``T_c = a + b·f_c`` and what it rests on.

    Attributes
    ----------
    a, b
        Intercept (K) and slope (K per unit of ``f``).
    r2
        Coefficient of determination over the fitted cells (NaN if their LST is constant).
    n_cells
        Homogeneous coarse cells in the fit.
    cv_threshold
        The CV of sub-pixel NDVI at ``cv_quantile``: cells at or below it were fitted.
    """

    a: float
    b: float
    r2: float
    n_cells: int
    cv_threshold: float

    def as_array(self) -> np.ndarray:
        """Return ``[a, b, r2, n_cells, cv_threshold]`` as float64 (how Dask carries it)."""
        return np.array([self.a, self.b, self.r2, self.n_cells, self.cv_threshold], np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> SharpenFit:
        """Inverse of :meth:`as_array`."""
        a, b, r2, n, cv = (float(v) for v in np.asarray(values, dtype=np.float64))
        return cls(a=a, b=b, r2=r2, n_cells=int(n), cv_threshold=cv)


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------


def _blocks(fine: np.ndarray, factor: int) -> np.ndarray:
    """View of a 2-D array as ``(ny, factor, nx, factor)`` blocks, float64 (a copy if cast)."""
    fine = np.asarray(fine, dtype=np.float64)
    if fine.ndim != 2:
        raise ValueError(f"expected a 2-D (y, x) array, got shape {fine.shape}")
    if factor < 1 or fine.shape[0] % factor or fine.shape[1] % factor:
        raise ValueError(f"shape {fine.shape} is not a whole number of {factor}×{factor} blocks")
    ny, nx = fine.shape[0] // factor, fine.shape[1] // factor
    return fine.reshape(ny, factor, nx, factor)


def block_mean(fine: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each ``factor × factor`` block over its finite pixels, and their count.

    Parameters
    ----------
    fine
        2-D array whose shape is a multiple of ``factor``.
    factor
        Fine pixels per coarse pixel along each axis.

    Returns
    -------
    mean, count
        Coarse float64 mean (NaN where no pixel is finite) and int64 count of finite pixels.
    """
    return _block_mean(_blocks(fine, factor))


def _block_mean(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(blocks)
    count = valid.sum(axis=(1, 3))
    total = np.where(valid, blocks, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, count


def block_stats(fine: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block mean, coefficient of variation and count of valid pixels (NaN-aware).

    The CV is the population standard deviation (ddof 0) over ``|mean|``: ``inf`` where the
    mean is 0 and the pixels differ (never homogeneous), 0 where they are all equal, NaN
    where the block has no finite pixel.

    Returns
    -------
    mean, cv, count
        Coarse arrays (float64, float64, int64).
    """
    blocks = _blocks(fine, factor)
    mean, count = _block_mean(blocks)
    dev = blocks - mean[:, None, :, None]
    ss = np.where(np.isfinite(dev), dev * dev, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(ss / count)
        cv = np.where(std == 0, 0.0, std / np.abs(mean))
    return mean, np.where(count > 0, cv, np.nan), count


def expand(coarse: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every coarse pixel ``factor × factor`` times (nearest upsampling)."""
    coarse = np.asarray(coarse)
    return np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)


# --------------------------------------------------------------------------------------------
# basis functions
# --------------------------------------------------------------------------------------------


def ndvi_basis(ndvi: np.ndarray) -> np.ndarray:
    """DisTrad basis: NDVI itself (float64)."""
    return np.array(ndvi, dtype=np.float64)


def tsharp_basis(
    ndvi: np.ndarray, ndvi_min: float = 0.125, ndvi_max: float = 0.8, exponent: float = 0.625
) -> np.ndarray:
    """TsHARP basis, fractional vegetation cover (science.md §4.2, constants **[U]**).

    ``f = 1 − ((NDVI_max − NDVI)/(NDVI_max − NDVI_min))^exponent``, the ratio clipped to
    [0, 1] so that ``f`` is 0 at and below ``ndvi_min`` and 1 at and above ``ndvi_max``.
    NaN stays NaN.
    """
    ndvi = np.asarray(ndvi, dtype=np.float64)
    ratio = np.clip((ndvi_max - ndvi) / (ndvi_max - ndvi_min), 0.0, 1.0)
    return 1.0 - ratio**exponent


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def fit_basis(
    t_coarse: np.ndarray,
    f_coarse: np.ndarray,
    cv: np.ndarray,
    count: np.ndarray,
    factor: int,
    spec: SharpenSpec,
) -> SharpenFit:
    """Least-squares fit of ``T_c = a + b·f_c`` over the homogeneous coarse cells.

    A cell is eligible when its LST, basis and CV are finite and at least
    ``spec.min_valid_fraction`` of its ``factor²`` fine pixels have an NDVI; the eligible cells
    whose CV is at most the ``spec.cv_quantile`` quantile of their CVs are fitted.

    Parameters
    ----------
    t_coarse, f_coarse, cv, count
        Coarse LST (K), basis of the coarse mean NDVI, CV of the sub-pixel NDVI and count of
        valid fine pixels (:func:`block_stats`), all of one shape.
    factor
        Fine pixels per coarse pixel along each axis.
    spec
        Selection parameters.

    Raises
    ------
    SharpenError
        Fewer than ``spec.min_cells`` homogeneous cells, or their basis values all equal.
    """
    t = np.asarray(t_coarse, dtype=np.float64).ravel()
    f = np.asarray(f_coarse, dtype=np.float64).ravel()
    cv = np.asarray(cv, dtype=np.float64).ravel()
    need = math.ceil(spec.min_valid_fraction * factor * factor - 1e-9)
    eligible = np.isfinite(t) & np.isfinite(f) & np.isfinite(cv) & (np.ravel(count) >= need)
    n_eligible = int(eligible.sum())
    threshold = float(np.quantile(cv[eligible], spec.cv_quantile)) if n_eligible else math.nan
    chosen = eligible & (cv <= threshold)
    n = int(chosen.sum())
    if n < spec.min_cells:
        error = SharpenError(
            f"only {n} homogeneous coarse cells (of {n_eligible} with LST and NDVI) to fit "
            f"LST = a + b·f(NDVI), below min_cells={spec.min_cells}: raise cv_quantile "
            f"(now {spec.cv_quantile}), lower min_cells or min_valid_fraction "
            f"(now {spec.min_valid_fraction}), or sharpen a larger area"
        )
        error.fitted, error.eligible = n, n_eligible
        raise error
    tc, fc = t[chosen], f[chosen]
    df, dt = fc - fc.mean(), tc - tc.mean()
    sff = float(df @ df)
    if sff <= 1e-12 * max(1.0, float(fc @ fc)):
        raise SharpenError(
            f"the {n} homogeneous coarse cells all have the same f(NDVI), so LST cannot be "
            "fitted against it: sharpen an area with varied vegetation or raise cv_quantile"
        )
    b = float(df @ dt) / sff
    a = float(tc.mean()) - b * float(fc.mean())
    stt = float(dt @ dt)
    r2 = float(df @ dt) ** 2 / (sff * stt) if stt > 0 else math.nan
    return SharpenFit(a=a, b=b, r2=r2, n_cells=n, cv_threshold=threshold)


# --------------------------------------------------------------------------------------------
# prediction and residual correction
# --------------------------------------------------------------------------------------------


def coarse_residual(
    t_coarse: np.ndarray,
    t_hat: np.ndarray,
    ndvi_fine: np.ndarray,
    factor: int,
    fit: SharpenFit,
    spec: SharpenSpec,
) -> np.ndarray:
    """Residual ``ΔT_c`` of each coarse cell (K), per ``spec.correction``.

    * ``"linreg"``: ``T_c,obs − (a + b·f(NDVI_c))``, ``NDVI_c`` the mean valid fine NDVI.
    * ``"average"``: ``T_c,obs − mean(T̂_f)`` over the cell's valid fine pixels, the mean
      taken as ``(mean T̂_f⁴)^¼`` when ``spec.aggregates_radiance``.
    """
    t_coarse = np.asarray(t_coarse, dtype=np.float64)
    if spec.correction == "linreg":
        ndvi_c, _ = block_mean(ndvi_fine, factor)
        return t_coarse - (fit.a + fit.b * spec.f(ndvi_c))
    if spec.aggregates_radiance:
        m4, _ = block_mean(np.asarray(t_hat, dtype=np.float64) ** 4, factor)
        return t_coarse - m4**0.25
    mean, _ = block_mean(t_hat, factor)
    return t_coarse - mean


def sharpen_block(
    ndvi_fine: np.ndarray,
    t_coarse: np.ndarray,
    factor: int,
    fit: SharpenFit | np.ndarray,
    spec: SharpenSpec,
) -> np.ndarray:
    """Sharpened fine LST: ``T_f = a + b·f(NDVI_f) + ΔT_c`` (float64, K).

    Parameters
    ----------
    ndvi_fine
        Fine NDVI, shape ``factor ×`` that of ``t_coarse``.
    t_coarse
        Coarse LST (K).
    factor
        Fine pixels per coarse pixel along each axis.
    fit
        The fit (or its :meth:`SharpenFit.as_array`, as Dask passes it).
    spec
        Basis and correction.

    Returns
    -------
    numpy.ndarray
        NaN where the fine NDVI or the coarse LST is NaN.
    """
    if not isinstance(fit, SharpenFit):
        fit = SharpenFit.from_array(fit)
    t_coarse = np.asarray(t_coarse, dtype=np.float64)
    if np.shape(ndvi_fine) != (t_coarse.shape[0] * factor, t_coarse.shape[1] * factor):
        raise ValueError(
            f"fine shape {np.shape(ndvi_fine)} is not {factor} × coarse shape {t_coarse.shape}"
        )
    t_hat = fit.a + fit.b * spec.f(ndvi_fine)
    residual = coarse_residual(t_coarse, t_hat, ndvi_fine, factor, fit, spec)
    return t_hat + expand(residual, factor)
