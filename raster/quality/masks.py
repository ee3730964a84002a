"""Clear-sky and water masks of a loaded Dataset: the xarray wrappers of the QA kernels.

Each wrapper reads its QA band by common band name, lifts the kernels lazily with
:func:`raster._lift.lift` and describes the mask in CF-style attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from raster._lift import lift
from raster.quality._checks import _finite_positive
from raster.quality.bqa import bqa_clear
from raster.quality.dilation import _check_radius, dilate_mask
from raster.quality.landsat_qa import cdist_ok, radsat_ok, radsat_reject_value, st_qa_ok
from raster.quality.qa_pixel import (
    QAPixelMask,
    qa_pixel_clear,
    qa_pixel_cloudy,
    qa_pixel_preset,
    qa_pixel_water,
)
from raster.quality.scl import SCL_CLOUD_CLASSES, SCLMask, _scl_in, scl_keep, scl_preset, scl_water
from tiles.errors import BandMissingError


def _band(ds: xr.Dataset, name: str, hint: str) -> xr.DataArray:
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"expected an xarray.Dataset with a {name!r} variable; got {type(ds)}")
    if name not in ds.data_vars:
        have = ", ".join(map(str, ds.data_vars)) or "none"
        raise BandMissingError(f"band {name!r} is missing from the dataset (has: {have}); {hint}")
    return ds[name]


def _lift(kernel: Callable[..., np.ndarray], *arrays: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    return lift(kernel, *arrays, dtype=bool, kwargs=kwargs)


def _dilate_da(reject: xr.DataArray, radius_px: int) -> xr.DataArray:
    if reject.ndim < 2:
        raise ValueError("dilation needs a mask with (y, x) as its last two dimensions")
    return reject.copy(data=dilate_mask(reject.data, radius_px))


def _finish(mask: xr.DataArray, kind: str, comment: str) -> xr.DataArray:
    """Name the mask and describe it in CF-style attributes; ``kind`` is "clear" or "water"."""
    mask = mask.rename(f"{kind}_mask")
    mask.attrs = {
        "long_name": _LONG_NAMES[kind],
        "flag_values": (0, 1),
        "flag_meanings": _FLAG_MEANINGS[kind],
        "comment": comment,
    }
    return mask


_LONG_NAMES = {"clear": "clear-sky mask (True = keep)", "water": "water flag (True = water)"}
_FLAG_MEANINGS = {"clear": "rejected kept", "water": "not_water water"}


def landsat_clear_mask(
    ds: xr.Dataset,
    *,
    preset: str | QAPixelMask = "default",
    radsat_bands: Iterable[int | str] | None = None,
    st_qa_max_k: float | None = None,
    cdist_min_km: float | None = None,
    dilate_px: int = 0,
) -> xr.DataArray:
    """Clear-sky mask of Landsat Collection 2 data (True = keep).

    Parameters
    ----------
    ds
        Dataset with a ``qa_pixel`` variable, plus ``qa_radsat``, ``st_qa`` (kelvin) and
        ``st_cdist`` (km) when the matching option is set. NumPy- or Dask-backed; integer or
        float with NaN for nodata.
    preset
        QA_PIXEL preset name (:data:`QA_PIXEL_PRESETS`) or a :class:`QAPixelMask`.
    radsat_bands
        Bands whose saturation rejects a pixel (see :func:`radsat_ok`); ``None`` skips QA_RADSAT.
    st_qa_max_k
        Reject pixels with an ST uncertainty above this (K); ``None`` skips ST_QA.
    cdist_min_km
        Reject pixels closer to a cloud than this (km); ``None`` skips ST_CDIST.
    dilate_px
        Grow the QA_PIXEL cloud rejection (:func:`qa_pixel_cloudy`, not fill or water) by a
        disk of this radius in pixels over the last two dimensions (y, x).

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask`` with the coordinates of ``qa_pixel``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If a band needed by the options is absent.
    ValueError
        On an unknown preset or invalid thresholds.
    """
    spec = qa_pixel_preset(preset)
    dilate_px = _check_radius(dilate_px)
    qa = _band(ds, "qa_pixel", "load the 'qa_pixel' band with the others")
    mask = _lift(qa_pixel_clear, qa, spec=spec)
    comment = spec.describe()
    if dilate_px:
        mask = mask & ~_dilate_da(_lift(qa_pixel_cloudy, qa, spec=spec), dilate_px)
        comment += f"; cloud rejection dilated by a disk of {dilate_px} px"
    for _name, test, said in _band_tests(ds, radsat_bands, st_qa_max_k, cdist_min_km):
        mask = mask & test
        comment += f"; {said}"
    return _finish(mask, "clear", comment)


def _band_tests(
    ds: xr.Dataset,
    radsat_bands: Iterable[int | str] | None,
    st_qa_max_k: float | None,
    cdist_min_km: float | None,
) -> list[tuple[str, xr.DataArray, str]]:
    """Return the clear-sky mask's tests of bands other than QA_PIXEL, in its order.

    ``(step, pixels kept, what it rejects)`` for each option set (:func:`landsat_clear_mask`).
    """
    tests = []
    if radsat_bands is not None:
        radsat = landsat_radsat_mask(ds, radsat_bands, hint="or pass radsat_bands=None")
        tests.append(("qa_radsat", radsat, radsat.attrs["comment"]))
    if st_qa_max_k is not None:
        _finite_positive("st_qa_max_k", st_qa_max_k, allow_zero=False)
        st_qa = _band(ds, "st_qa", "load the 'st_qa' band or pass st_qa_max_k=None")
        tests.append(("st_qa", _lift(st_qa_ok, st_qa, max_k=st_qa_max_k),
                      f"ST_QA > {st_qa_max_k} K or missing rejected"))  # fmt: skip
    if cdist_min_km is not None:
        _finite_positive("cdist_min_km", cdist_min_km, allow_zero=True)
        cdist = _band(ds, "st_cdist", "load the 'st_cdist' band or pass cdist_min_km=None")
        tests.append(("st_cdist", _lift(cdist_ok, cdist, min_km=cdist_min_km),
                      f"ST_CDIST < {cdist_min_km} km or missing rejected"))  # fmt: skip
    return tests


#: The steps of :func:`landsat_mask_steps`, in the order the clear-sky mask applies them.
LANDSAT_MASK_STEPS = ("not_fill", "qa_pixel", "not_water", "qa_radsat", "st_qa", "st_cdist")


def landsat_mask_steps(
    ds: xr.Dataset,
    *,
    preset: str | QAPixelMask = "default",
    radsat_bands: Iterable[int | str] | None = None,
    st_qa_max_k: float | None = None,
    cdist_min_km: float | None = None,
    dilate_px: int = 0,
) -> xr.Dataset:
    """Return the pixels each step of :func:`landsat_clear_mask` keeps, after those before it.

    For saying which test removed the pixels (no clear pixel left): ``not_fill`` (QA_PIXEL
    fill and NaN), ``qa_pixel`` (the preset's cloud, shadow, snow and cirrus bits and
    confidences, grown by ``dilate_px``), ``not_water`` (unless the preset keeps water),
    ``qa_radsat``, ``st_qa`` and ``st_cdist`` (when their option is set), in the order of
    :data:`LANDSAT_MASK_STEPS`. Each variable is cumulative: True where that step and every
    step before it keep the pixel, so the last one is :func:`landsat_clear_mask` of the same
    arguments. Parameters as for :func:`landsat_clear_mask`; lazy on Dask input.

    Returns
    -------
    xarray.Dataset
        Boolean ``(..., y, x)`` variables named by step, in the order they apply.
    """
    spec = qa_pixel_preset(preset)
    dilate_px = _check_radius(dilate_px)
    qa = _band(ds, "qa_pixel", "load the 'qa_pixel' band with the others")
    keep = _lift(qa_pixel_clear, qa, spec=QAPixelMask(reject_bits=(0,), name="fill"))
    steps = {"not_fill": keep}
    keep = keep & _lift(qa_pixel_clear, qa, spec=replace(spec, keep_water=True))
    if dilate_px:
        keep = keep & ~_dilate_da(_lift(qa_pixel_cloudy, qa, spec=spec), dilate_px)
    steps["qa_pixel"] = keep
    if not spec.keep_water:
        steps["not_water"] = keep = keep & ~_lift(qa_pixel_water, qa)
    for name, test, _said in _band_tests(ds, radsat_bands, st_qa_max_k, cdist_min_km):
        steps[name] = keep = keep & test
    return xr.Dataset({name: step.rename(name) for name, step in steps.items()})


def landsat_radsat_mask(
    ds: xr.Dataset, bands: Iterable[int | str] | int | str, *, hint: str = ""
) -> xr.DataArray:
    """Pixels where none of ``bands`` is saturated nor the terrain occludes the view (True = keep).

    The xarray wrapper of :func:`raster.quality.radsat_ok`, for the bands one output uses
    (NDVI: ``("red", "nir08")``); several outputs of one scene each take their own mask from
    the same ``qa_radsat`` variable.

    Parameters
    ----------
    ds
        Dataset with a ``qa_radsat`` variable (Landsat 8/9 QA_RADSAT, integer or float with
        NaN for nodata; NaN is rejected). NumPy- or Dask-backed.
    bands
        Band numbers (1-7, 9) or common band names (:data:`raster.quality.RADSAT_BITS`);
        empty checks terrain occlusion (bit 11) only, as for the thermal band, which has no
        saturation bit in Level-2 QA_RADSAT (science.md §1.3).
    hint
        Appended to the message when ``qa_radsat`` is missing (how the caller skips the test).

    Returns
    -------
    xarray.DataArray
        Boolean ``radsat_mask`` with the coordinates of ``qa_radsat``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``qa_radsat`` is absent.
    ValueError
        On a band with no QA_RADSAT bit.
    """
    chosen = (bands,) if isinstance(bands, str | int) else tuple(bands)
    radsat_reject_value(chosen)  # validate before building the graph
    radsat = _band(ds, "qa_radsat", f"load the 'qa_radsat' band {hint}".rstrip())
    saturated = f"saturated {list(chosen)} or terrain occlusion" if chosen else "terrain occlusion"
    mask = _lift(radsat_ok, radsat, bands=chosen).rename("radsat_mask")
    mask.attrs = {
        "long_name": "not saturated nor terrain-occluded (True = keep)",
        "flag_values": (0, 1),
        "flag_meanings": "rejected kept",
        "comment": f"QA_RADSAT: {saturated} rejected",
    }
    return mask


def landsat_water_mask(ds: xr.Dataset) -> xr.DataArray:
    """Water flag of Landsat Collection 2 data (QA_PIXEL bit 7; fill and NaN are False).

    Parameters
    ----------
    ds
        Dataset with a ``qa_pixel`` variable.

    Returns
    -------
    xarray.DataArray
        Boolean ``water_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``qa_pixel`` is absent.
    """
    qa = _band(ds, "qa_pixel", "load the 'qa_pixel' band with the others")
    return _finish(
        _lift(qa_pixel_water, qa),
        "water",
        "QA_PIXEL bit 7 (water) set, fill excluded; exclude from urban statistics",
    )


def sentinel2_clear_mask(
    ds: xr.Dataset, *, preset: str | SCLMask | Iterable[int] = "default", dilate_px: int = 0
) -> xr.DataArray:
    """Clear-sky mask of Sentinel-2 L2A data from its SCL band (True = keep).

    Parameters
    ----------
    ds
        Dataset with an ``scl`` variable (integer, or float with NaN for nodata).
    preset
        SCL preset name (:data:`SCL_PRESETS`), an :class:`SCLMask` or SCL codes to keep.
    dilate_px
        Grow the cloud classes (:data:`SCL_CLOUD_CLASSES`: 3, 8, 9, 10) by a disk of this
        radius in pixels over the last two dimensions (y, x) before masking.

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``scl`` is absent.
    """
    spec = scl_preset(preset)
    dilate_px = _check_radius(dilate_px)
    scl = _band(ds, "scl", "load the 'scl' band with the others")
    mask = _lift(scl_keep, scl, keep_classes=spec)
    comment = spec.describe()
    if dilate_px:
        cloudy = _lift(_scl_in, scl, classes=SCL_CLOUD_CLASSES)
        mask = mask & ~_dilate_da(cloudy, dilate_px)
        comment += f"; cloud classes 3, 8, 9, 10 dilated by a disk of {dilate_px} px"
    return _finish(mask, "clear", comment)


def sentinel2_water_mask(ds: xr.Dataset) -> xr.DataArray:
    """Water flag of Sentinel-2 L2A data (SCL class 6).

    Parameters
    ----------
    ds
        Dataset with an ``scl`` variable.

    Returns
    -------
    xarray.DataArray
        Boolean ``water_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``scl`` is absent.
    """
    scl = _band(ds, "scl", "load the 'scl' band with the others")
    return _finish(
        _lift(scl_water, scl),
        "water",
        "SCL class 6 (water); exclude from urban statistics",
    )


def bqa_clear_mask(
    ds: xr.Dataset,
    *,
    cloud_confidence_min: int | None = 3,
    shadow_confidence_min: int | None = 3,
    snow_confidence_min: int | None = 3,
    cirrus_confidence_min: int | None = 3,
    saturation_min: int | None = None,
) -> xr.DataArray:
    """Clear-sky mask of Landsat 8 Collection 1 Level-1 data from its BQA band (True = keep).

    Parameters
    ----------
    ds
        Dataset with a ``bqa`` variable (integer, or float with NaN for nodata).
    cloud_confidence_min, shadow_confidence_min, snow_confidence_min, cirrus_confidence_min, \
saturation_min
        As in :func:`bqa_clear`.

    Returns
    -------
    xarray.DataArray
        Boolean ``clear_mask``, lazy on Dask input.

    Raises
    ------
    BandMissingError
        If ``bqa`` is absent.
    """
    options = {
        "cloud_confidence_min": cloud_confidence_min,
        "shadow_confidence_min": shadow_confidence_min,
        "snow_confidence_min": snow_confidence_min,
        "cirrus_confidence_min": cirrus_confidence_min,
        "saturation_min": saturation_min,
    }
    bqa_clear(np.zeros(0, dtype=np.uint16), **options)  # validate before building the graph
    bqa = _band(ds, "bqa", "load the 'bqa' band of the Collection 1 product")
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    return _finish(
        _lift(bqa_clear, bqa, **options),
        "clear",
        f"Collection 1 BQA: fill, terrain occlusion and cloud bit rejected; {text}",
    )
