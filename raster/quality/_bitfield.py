"""Input conversion shared by the QA kernels: bit-field and class bands to integer codes.

Integers pass through; floats must be whole numbers in range, NaN marking missing pixels (see
"Input encodings" in :mod:`raster.quality`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _bitfield(values: Any, what: str, max_value: int = 0xFFFF) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a bit-field/class array and the mask of its NaN (missing) pixels.

    Returns a new ``uint16`` array (0 where missing) and a boolean array (True where NaN).
    """
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > max_value):
            raise ValueError(
                f"{what} values must lie in 0..{max_value}; got {arr.min()}..{arr.max()}"
                " (check that the right band was loaded)"
            )
        return arr.astype(np.uint16), np.zeros(arr.shape, dtype=bool)
    if np.issubdtype(arr.dtype, np.floating):
        missing = np.isnan(arr)
        with np.errstate(invalid="ignore"):
            codes = arr.astype(np.uint16)
        # A value survives the round trip only if it is a whole number in 0..65535.
        bad = (codes != arr) | (codes > max_value)
        bad &= ~missing
        if bad.any():
            example = arr[bad].flat[0]
            raise ValueError(
                f"{what} holds {example!r}, not a whole number in 0..{max_value}; "
                "load QA and class bands with nearest-neighbour resampling"
            )
        codes[missing] = 0
        return codes, missing
    raise ValueError(f"{what} must be an integer or float array; got dtype {arr.dtype}")


def _field(codes: np.ndarray, shift: int, width: int) -> np.ndarray:
    return ((codes >> shift) & ((1 << width) - 1)).astype(np.uint8)
