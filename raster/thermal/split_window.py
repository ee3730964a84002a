"""Split-window LST from TIRS B10 and B11 — research path (science.md §2.5).

Jiménez-Muñoz et al. 2014 and Du et al. 2015; the USGS product uses B10 only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from raster.thermal._kernel import _f64, _finish
from raster.thermal.constants import DU2015_CWV_COEFFICIENTS, JM2014_SPLIT_WINDOW


def _coefficients(
    values: Sequence[float], count: int, *, names: str, method: str
) -> tuple[float, ...]:
    """Return ``values`` as floats, refusing any other number than ``count`` of them."""
    coefs = tuple(float(v) for v in values)
    if len(coefs) != count:
        raise ValueError(f"{method} needs {count} coefficients {names}, got {len(coefs)}")
    return coefs


def lst_split_window_jm2014(
    t10: ArrayLike,
    t11: ArrayLike,
    eps10: ArrayLike,
    eps11: ArrayLike,
    w: ArrayLike,
    *,
    coefficients: Sequence[float] = JM2014_SPLIT_WINDOW,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Split-window LST (Jiménez-Muñoz et al. 2014; science.md §2.5) — research path.

    ``Ts = T10 + c1·ΔT + c2·ΔT² + c0 + (c3 + c4·w)(1 − ε) + (c5 + c6·w)·Δε`` with
    ``ΔT = T10 − T11``, ``ε = (ε10 + ε11)/2``, ``Δε = ε10 − ε11``. TIRS B11 has larger
    stray-light and calibration errors; the USGS product uses B10 only.

    Parameters
    ----------
    t10, t11
        Brightness temperatures of TIRS B10 and B11 in K.
    eps10, eps11
        Band emissivities.
    w
        Column water vapour in g cm⁻².
    coefficients
        c0 … c6; default :data:`JM2014_SPLIT_WINDOW`.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K.
    """
    c = _coefficients(coefficients, 7, names="c0..c6", method="split-window")
    a, b, e10, e11, wv = _f64(t10), _f64(t11), _f64(eps10), _f64(eps11), _f64(w)
    with np.errstate(invalid="ignore", over="ignore"):
        dt = a - b
        eps, deps = (e10 + e11) / 2.0, e10 - e11
        out = (
            a
            + c[1] * dt
            + c[2] * dt**2
            + c[0]
            + (c[3] + c[4] * wv) * (1.0 - eps)
            + (c[5] + c[6] * wv) * deps
        )
    return _finish(out, dtype)


def lst_split_window_du2015(
    t10: ArrayLike,
    t11: ArrayLike,
    eps10: ArrayLike,
    eps11: ArrayLike,
    *,
    coefficients: Sequence[float] = DU2015_CWV_COEFFICIENTS[(0.0, 6.3)],
    b2_epsilon_power: Literal[1, 2] = 1,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """Split-window LST after Du et al. (2015) (science.md §2.5) — research path.

    ``LST = b0 + (b1 + b2·(1−ε)/ε^p + b3·Δε/ε²)·(Ti+Tj)/2
    + (b4 + b5·(1−ε)/ε + b6·Δε/ε²)·(Ti−Tj)/2 + b7·(Ti−Tj)²``.

    Parameters
    ----------
    t10, t11
        Brightness temperatures Ti, Tj of TIRS B10 and B11 in K.
    eps10, eps11
        Band emissivities.
    coefficients
        b0 … b7 of one water-vapour range of :data:`DU2015_CWV_COEFFICIENTS` (default: the
        all-range row 0–6.3 g cm⁻²).
    b2_epsilon_power
        Power p of ε in the b2 term: 1 as in the i.landsat8.swlst README (and the sheet's test
        vector), 2 as in its ``constants.py``; which matches the paper is **[U]**.
    dtype
        Floating type of the result.

    Returns
    -------
    numpy.ndarray
        LST in K.
    """
    b = _coefficients(coefficients, 8, names="b0..b7", method="Du 2015 split-window")
    if b2_epsilon_power not in (1, 2):
        raise ValueError(f"b2_epsilon_power must be 1 or 2, got {b2_epsilon_power}")
    ti, tj, e10, e11 = _f64(t10), _f64(t11), _f64(eps10), _f64(eps11)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eps, deps = (e10 + e11) / 2.0, e10 - e11
        mean, diff = (ti + tj) / 2.0, ti - tj
        out = (
            b[0]
            + (b[1] + b[2] * (1 - eps) / eps**b2_epsilon_power + b[3] * deps / eps**2) * mean
            + (b[4] + b[5] * (1 - eps) / eps + b[6] * deps / eps**2) * diff / 2.0
            + b[7] * diff**2
        )
    return _finish(out, dtype)
