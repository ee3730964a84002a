"""Checks of user parameters shared by the QA specs, kernels and wrappers.

Two-bit confidence levels, finite non-negative thresholds and preset names; each failure is a
:class:`ValueError` that says what to give instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def _check_confidence(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= 3:
        raise ValueError(f"{name} must be None or 1 (low), 2 (medium) or 3 (high); got {value!r}")


def _finite_positive(name: str, value: float, *, allow_zero: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return number


def _resolve(preset: Any, kind: type, presets: Mapping[str, Any], what: str) -> Any:
    if isinstance(preset, kind):
        return preset
    if isinstance(preset, str):
        try:
            return presets[preset]
        except KeyError:
            raise ValueError(
                f"unknown {what} preset {preset!r}; use one of {', '.join(presets)} "
                f"or a {kind.__name__}"
            ) from None
    raise ValueError(f"{what} preset must be a name or a {kind.__name__}; got {preset!r}")
