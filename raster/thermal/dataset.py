"""LST of a loaded Landsat Dataset: Level-2 ST (the product path) and Level-1 radiance.

xarray wrappers, lazy on Dask, with CF-style attributes: :func:`surface_temperature_l2` (USGS
ST_B10) and :func:`lst_level1` (BT from the scene's K1/K2, then single-band or single-channel
LST; science.md §2).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr
from numpy.typing import DTypeLike

from raster._lift import lift
from raster.indices import ndvi as _ndvi_kernel
from raster.thermal._kernel import _WAVELENGTH_HINT, _check_scalar
from raster.thermal.emissivity import emissivity_ndvi_threshold
from raster.thermal.lst import lst_single_band, lst_single_channel
from raster.thermal.radiance import brightness_temperature
from tiles.errors import BandMissingError, IlotsWarning, MetadataError, ProductError

LST_LONG_NAME = "land surface temperature"
LST_COMMENT = "surface (skin) temperature, not air temperature"


_KELVIN = {"K", "kelvin", "Kelvin"}

#: Below this, a temperature in K is no land surface's (Level-2 ST starts at 149 K): values
#: all under it are degrees Celsius, whatever the ``units`` attribute says (xarray keeps it
#: through ``lwir11 - 273.15``).
_NOT_KELVIN_BELOW = 100.0


def _check_celsius(values: np.ndarray, who: str = "surface_temperature_l2") -> np.ndarray:
    """Return ``values``; raise if its temperatures (0 taken as fill) are all under 100 K."""
    top = float(np.fmax.reduce(values, axis=None)) if values.size else np.nan  # NaN-blind
    if top != 0 and top < _NOT_KELVIN_BELOW:  # False for NaN: nothing to judge
        low = float(np.fmin.reduce(values, axis=None))
        raise ProductError(
            f"{who} was given temperatures from {low:.4g} to {top:.4g}: degrees Celsius, "
            "not K; give it kelvin (add 273.15)"
        )
    return values


def _kelvin_values(lst: xr.DataArray, who: str = "surface_temperature_l2") -> xr.DataArray:
    """``lst`` checked to hold K, not °C: now if in memory, else as each chunk is computed."""
    if isinstance(lst.data, np.ndarray):
        _check_celsius(lst.data, who)
        return lst
    return lst.copy(data=lst.data.map_blocks(_check_celsius, who, dtype=lst.dtype))


def _band(ds: xr.Dataset, name: str, purpose: str) -> xr.DataArray:
    if name not in ds.data_vars:
        present = ", ".join(sorted(str(v) for v in ds.data_vars)) or "none"
        raise BandMissingError(
            f"{purpose} needs band {name!r}, which is missing; bands present: {present}"
        )
    da = ds[name]
    if da.dtype.kind in "iub":
        raise ProductError(
            f"band {name!r} is {da.dtype} (raw DN?); {purpose} needs physical values: load the "
            "product with its scale/offset applied"
        )
    return da


def _lift(kernel: Any, *args: Any, dtype: DTypeLike = np.float32, **kwargs: Any) -> xr.DataArray:
    """Apply a NumPy kernel element-wise to DataArrays/scalars, lazily on Dask.

    ``dtype`` is passed to the kernel and declared as the Dask output type; intermediate
    steps use float64 so that only the final result is rounded to float32.
    """
    return lift(kernel, *args, dtype=dtype, kwargs={**kwargs, "dtype": dtype})


def _lst_attrs(**extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "long_name": LST_LONG_NAME,
        "units": "K",
        "standard_name": "surface_temperature",
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


def surface_temperature_l2(
    ds: xr.Dataset,
    *,
    valid_range: tuple[float, float] = (149.0, 373.0),
    max_uncertainty_k: float | None = None,
    mask: xr.DataArray | None = None,
) -> xr.DataArray:
    """Land surface temperature from a loaded Landsat C2 Level-2 product (USGS ST_B10).

    ``ds["lwir11"]`` is already in kelvin after loading (DN·0.00341802 + 149.0). This keeps
    the values inside ``valid_range`` (open at the bottom, so the fill DN 0 = 149.0 K is
    dropped even if a loader scaled it), optionally drops pixels whose ST_QA uncertainty
    exceeds ``max_uncertainty_k``, applies ``mask``, and sets the attributes.

    Parameters
    ----------
    ds
        Dataset with a float ``lwir11`` band in K (and ``st_qa`` in K for
        ``max_uncertainty_k``), NumPy- or Dask-backed.
    valid_range
        ``(low, high)`` in K: keep ``low < T <= high``. The MTL range is 149.003418–372.999941.
    max_uncertainty_k
        Drop pixels whose ``st_qa`` (1-σ uncertainty, K) is larger; ``None`` keeps all.
    mask
        Boolean DataArray, True on the pixels to keep (e.g. from :mod:`raster.quality`).

    Returns
    -------
    xarray.DataArray
        ``float32`` LST named ``lst`` with ``long_name`` "land surface temperature",
        ``units`` "K", ``standard_name`` "surface_temperature" and a ``comment`` saying it is
        skin temperature, not air temperature. Lazy if the input is.

    Raises
    ------
    tiles.errors.BandMissingError
        If ``lwir11`` (or ``st_qa`` when asked for) is absent.
    tiles.errors.ProductError
        If ``lwir11`` holds integers (unscaled DN), its ``units`` attribute is not kelvin, or
        its temperatures are all below 100 K (degrees Celsius; 0 is taken as fill). On Dask,
        that last check runs as each chunk is computed.
    """
    lwir = _band(ds, "lwir11", "surface_temperature_l2")
    units = lwir.attrs.get("units")
    if units is not None and units not in _KELVIN:
        raise ProductError(
            f"lwir11 has units {units!r}, expected K: surface_temperature_l2 reads a Level-2 "
            "ST band; use lst_level1 for Level-1 radiance"
        )
    lwir = _kelvin_values(lwir)  # °C would all be masked, silently, as below 149 K
    low, high = valid_range
    keep = (lwir > low) & (lwir <= high)
    if max_uncertainty_k is not None:
        keep = keep & (_band(ds, "st_qa", "max_uncertainty_k") <= max_uncertainty_k)
    if mask is not None:
        keep = keep & mask.astype(bool)
    out = lwir.where(keep).astype(np.float32)
    comment = f"{LST_COMMENT}; USGS Landsat Collection 2 Level-2 ST_B10"
    return out.rename("lst").assign_attrs(
        _lst_attrs(comment=comment, valid_min=float(low), valid_max=float(high))
    )


def _scene_constants(
    ds: xr.Dataset, lwir: xr.DataArray, k1: float | None, k2: float | None
) -> tuple[Any, Any]:
    """K1, K2 from coords ``k1_lwir11``/``k2_lwir11``, else attrs, else arguments."""
    found: list[Any] = []
    for name in ("k1", "k2"):
        coord = f"{name}_lwir11"
        if coord in ds.coords:
            found.append(ds.coords[coord].reset_coords(drop=True))
        elif name in lwir.attrs or f"ilots:{name}" in lwir.attrs:
            found.append(float(lwir.attrs.get(name, lwir.attrs.get(f"ilots:{name}"))))
        else:
            found.append(None)
    meta_k1, meta_k2 = found
    if (meta_k1 is None) != (meta_k2 is None):
        raise MetadataError("lwir11 has only one of K1/K2 in its metadata: give both from the MTL")
    if meta_k1 is None:
        if k1 is None or k2 is None:
            raise MetadataError(
                "no K1/K2 for lwir11: they come from the scene's MTL (K1_CONSTANT_BAND_10, "
                "K2_CONSTANT_BAND_10) as lwir11 attrs or k1_lwir11/k2_lwir11 coords; or pass "
                "k1=, k2="
            )
        return float(k1), float(k2)
    for given, meta, name in ((k1, meta_k1, "k1"), (k2, meta_k2, "k2")):
        if given is None:
            continue
        if isinstance(meta, xr.DataArray):  # per scene, possibly lazy: never computed here
            raise MetadataError(
                f"{name}={given} given, but the Dataset carries per-scene {name.upper()} "
                f"(coordinate {name}_lwir11): drop the argument (L8 and L9 constants differ)"
            )
        if not np.isclose(meta, given, rtol=1e-9, atol=0.0):
            raise MetadataError(
                f"{name}={given} contradicts the scene's {name.upper()} {meta} from its "
                "metadata: drop the argument (L8 and L9 constants differ)"
            )
    return meta_k1, meta_k2


def _describe(value: Any, name: str) -> float | str:
    """Return a scalar constant as a float, or name the per-scene coordinate holding it."""
    if isinstance(value, xr.DataArray):
        return f"per scene, coordinate {name}_lwir11"
    return float(value)


def _emissivity(ds: xr.Dataset, emissivity: Any, options: Mapping[str, Any]) -> tuple[Any, str]:
    if emissivity is None or (isinstance(emissivity, str) and emissivity == "ndvi"):
        red = _band(ds, "red", "NDVI emissivity")
        nir = _band(ds, "nir08", "NDVI emissivity")
        # Validate the options now (a bad one would otherwise only raise at compute time).
        emissivity_ndvi_threshold(np.array([0.1, 0.3, 0.7]), np.array([0.1, 0.1, 0.1]), **options)
        nd = _lift(_ndvi_kernel, red, nir, dtype=np.float64)
        eps = _lift(emissivity_ndvi_threshold, nd, red, dtype=np.float64, **options)
        form = options.get("form", "simplified")
        return eps, f"NDVI threshold (Sobrino et al. 2004, {form}) from red and nir08"
    if isinstance(emissivity, str):
        raise ValueError(
            f"emissivity must be None, 'ndvi', a number or a DataArray, got {emissivity!r}"
        )
    if isinstance(emissivity, xr.DataArray):
        return emissivity, "given"
    value = float(emissivity)
    if not 0 < value <= 1:
        raise ValueError(f"emissivity must be in (0, 1], got {value}")
    return value, f"constant {value}"


def lst_level1(
    ds: xr.Dataset,
    *,
    method: Literal["single-band", "single-channel"] = "single-band",
    water_vapour: float | xr.DataArray = 2.0,
    k1: float | None = None,
    k2: float | None = None,
    emissivity: str | float | xr.DataArray | None = None,
    wavelength_um: float | None = None,
    emissivity_options: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Land surface temperature from Landsat Level-1 TIRS B10 radiance (science.md §2).

    BT from the scene's K1/K2, then either the emissivity-corrected single-band formula
    (:func:`lst_single_band`: no atmospheric correction) or the Jiménez-Muñoz et al. 2014
    single-channel algorithm (:func:`lst_single_channel`, needs water vapour). The USGS
    Level-2 product (:func:`surface_temperature_l2`) is preferred; this is the fallback and
    validation path.

    K1/K2 are read, in this order, from the coordinates ``k1_lwir11``/``k2_lwir11`` (one value
    per scene along ``time``: Landsat 8 and 9 differ), from ``ds["lwir11"].attrs`` ``k1``/``k2``
    (or ``ilots:k1``/``ilots:k2``), else from the ``k1``/``k2`` arguments. Arguments that
    contradict the metadata raise rather than being silently used or ignored.

    Parameters
    ----------
    ds
        Dataset with ``lwir11`` as at-sensor radiance (W m⁻² sr⁻¹ µm⁻¹) and, for NDVI
        emissivity, ``red`` and ``nir08`` as TOA reflectance; NumPy- or Dask-backed.
    method
        ``"single-band"`` or ``"single-channel"``.
    water_vapour
        Column water vapour in g cm⁻² (scalar, per scene or per pixel), single-channel only.
        A warning is issued for scalars above 3 g cm⁻², where the algorithm degrades.
    k1, k2
        Fallback thermal constants when the Dataset carries none (see above).
    emissivity
        ``None`` or ``"ndvi"``: NDVI-threshold emissivity (:func:`emissivity_ndvi_threshold`)
        from ``red`` and ``nir08``; a number in (0, 1]: constant emissivity; a DataArray: used
        as given.
    wavelength_um
        Effective wavelength in µm; default 10.895 (single-band) or 10.904 (single-channel).
    emissivity_options
        Keyword arguments for :func:`emissivity_ndvi_threshold` (``form``, ``eps_veg`` ...).

    Returns
    -------
    xarray.DataArray
        ``float32`` LST in K named ``lst`` with CF attributes (``long_name`` "land surface
        temperature", ``standard_name`` "surface_temperature"), ``method``, ``k1``, ``k2``,
        ``wavelength_um``, ``emissivity`` and a ``comment``. Lazy if the input is.

    Raises
    ------
    tiles.errors.MetadataError
        If no K1/K2 can be found, or the arguments contradict the Dataset's.
    tiles.errors.BandMissingError
        If ``lwir11`` (or ``red``/``nir08`` for NDVI emissivity) is absent.
    tiles.errors.ProductError
        If ``lwir11`` is in K (a Level-2 ST band) or holds integers.
    ValueError
        If ``method`` or ``emissivity`` is not understood.
    """
    if method not in ("single-band", "single-channel"):
        raise ValueError(f"method must be 'single-band' or 'single-channel', got {method!r}")
    radiance = _band(ds, "lwir11", "lst_level1")
    if radiance.attrs.get("units") in _KELVIN:
        raise ProductError(
            "lwir11 is in K (a Level-2 ST band?): lst_level1 needs Level-1 radiance; use "
            "surface_temperature_l2 for Level-2 products"
        )
    c1, c2 = _scene_constants(ds, radiance, k1, k2)
    eps, eps_text = _emissivity(ds, emissivity, dict(emissivity_options or {}))
    lam = (
        (10.895 if method == "single-band" else 10.904) if wavelength_um is None else wavelength_um
    )
    _check_scalar("wavelength_um", lam, 3.0, 20.0, _WAVELENGTH_HINT)
    bt = _lift(brightness_temperature, radiance, c1, c2, dtype=np.float64)
    if method == "single-band":
        lst = _lift(lst_single_band, bt, eps, wavelength_um=lam)
        extra: dict[str, Any] = {}
        comment = "emissivity-corrected only, no atmospheric correction (Artis & Carnahan 1982)"
    else:
        if np.ndim(water_vapour) == 0 and not isinstance(water_vapour, xr.DataArray):
            if float(water_vapour) < 0:
                raise ValueError(f"water_vapour must be >= 0 g cm-2, got {water_vapour}")
            if float(water_vapour) > 3:
                warnings.warn(
                    f"water_vapour={water_vapour} g cm-2: the single-channel algorithm is only "
                    "reliable below about 3 g cm-2",
                    IlotsWarning,
                    stacklevel=2,
                )
            extra = {"water_vapour_g_cm2": float(water_vapour)}
        else:
            extra = {}
        lst = _lift(lst_single_channel, radiance, bt, eps, water_vapour, wavelength_um=lam)
        comment = "single-channel algorithm, Jimenez-Munoz et al. 2014 (psi coefficients [U])"
    attrs = _lst_attrs(
        comment=f"{LST_COMMENT}; Landsat Level-1 TIRS B10, {method}: {comment}",
        method=method,
        k1=_describe(c1, "k1"),
        k2=_describe(c2, "k2"),
        wavelength_um=float(lam),
        emissivity=eps_text,
        **extra,
    )
    return lst.rename("lst").assign_attrs(attrs)
