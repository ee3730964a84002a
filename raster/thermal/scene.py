"""UTFVI and z-scores per scene on xarray, lazily: the xarray form of :mod:`raster.thermal.metrics`.

Means and standard deviations are taken over the spatial dimensions of each scene
(science.md §4.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from raster.thermal.dataset import _KELVIN, _kelvin_values


def _spatial_dims(da: xr.DataArray, dims: str | Sequence[str] | None) -> list[str]:
    if dims is None:
        dims = [d for d in ("y", "x") if d in da.dims] or list(da.dims)
    elif isinstance(dims, str):
        dims = [dims]
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"dims {missing} not in the array's dims {list(da.dims)}")
    return list(dims)


def scene_utfvi(
    lst: xr.DataArray,
    *,
    dims: str | Sequence[str] | None = None,
    reference: xr.DataArray | None = None,
) -> xr.DataArray:
    """UTFVI per scene, lazily: :func:`utfvi` with ``T_mean`` over ``dims`` (xarray form).

    Parameters
    ----------
    lst
        Land surface temperature in **K**, e.g. ``(time, y, x)``.
    dims
        Dimensions of ``T_mean``; default ``("y", "x")`` (one mean per scene).
    reference
        Boolean DataArray, True on the pixels that define ``T_mean``.

    Returns
    -------
    xarray.DataArray
        ``float32`` UTFVI named ``utfvi`` with attributes.

    Raises
    ------
    ValueError
        If the ``units`` attribute says the input is not in kelvin.
    tiles.errors.ProductError
        If every temperature is below 100 K (degrees Celsius, whatever ``units`` says; 0 is
        taken as fill): at once on NumPy, as each chunk is computed on Dask.
    """
    units = lst.attrs.get("units")
    if units is not None and units not in _KELVIN:
        raise ValueError(f"scene_utfvi needs LST in K, got units {units!r}: convert to kelvin")
    lst = _kelvin_values(lst, "scene_utfvi")
    reduce_dims = _spatial_dims(lst, dims)
    ts = lst.astype(np.float64)
    ref = ts if reference is None else ts.where(reference)
    mean = ref.mean(reduce_dims, skipna=True)
    out = ((ts - mean) / ts.where(ts > 0)).astype(np.float32)
    return out.rename("utfvi").assign_attrs(
        long_name="urban thermal field variance index",
        units="1",
        formula="(Ts - Ts_mean) / Ts, Ts in K",
        comment=f"Ts_mean over {', '.join(reduce_dims)} of valid pixels; thresholds [U]",
    )


def scene_zscore(
    da: xr.DataArray,
    *,
    dims: str | Sequence[str] | None = None,
    ddof: int = 0,
    reference: xr.DataArray | None = None,
) -> xr.DataArray:
    """Standardised anomaly per scene, lazily: :func:`zscore` over ``dims`` (xarray form).

    Parameters
    ----------
    da
        Values, e.g. LST ``(time, y, x)``.
    dims
        Dimensions of μ and σ; default ``("y", "x")`` (one μ, σ per scene).
    ddof
        Delta degrees of freedom of σ (0: population σ).
    reference
        Boolean DataArray, True on the pixels defining μ and σ.

    Returns
    -------
    xarray.DataArray
        ``float32`` z-scores named ``<name>_zscore``; NaN where σ is 0.
    """
    if ddof < 0:
        raise ValueError(f"ddof must be >= 0, got {ddof}")
    reduce_dims = _spatial_dims(da, dims)
    values = da.astype(np.float64)
    ref = values if reference is None else values.where(reference)
    mean = ref.mean(reduce_dims, skipna=True)
    std = ref.std(reduce_dims, skipna=True, ddof=ddof)
    out = ((values - mean) / std.where(std > 0)).astype(np.float32)
    out = out.rename(f"{da.name}_zscore" if da.name is not None else "zscore")
    out.attrs = {  # its own, not the input's (a z-score has no CF standard_name)
        "long_name": f"standardised anomaly of {da.attrs.get('long_name', da.name or 'values')}",
        "units": "1",
        "formula": f"(x - mean) / std, ddof={ddof}",
        "comment": f"mean and std over {', '.join(reduce_dims)} of valid pixels",
    }
    return out
