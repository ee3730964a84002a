"""The NumPy kernels refuse lazy inputs and name the lazy function to use instead.

``ndvi(ds.red, ds.nir08)`` on Dask bands failed inside Dask ("The out parameter is not fully
supported"); other kernels read the whole array and returned it without coordinates.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from raster.indices import ndvi, savi
from raster.quality.qa_pixel import qa_pixel_clear
from raster.thermal import brightness_temperature, utfvi
from tests.conftest import raise_if_dask_computes


def _lazy(value, dtype="float64"):
    return xr.DataArray(da.full((4, 4), value, dtype=dtype, chunks=2), dims=("y", "x"))


@pytest.mark.parametrize(
    ("kernel", "args", "instead"),
    [
        (ndvi, (_lazy(0.1), _lazy(0.5)), r"raster.compute_indices\(ds, \[...\]\)"),
        (savi, (_lazy(0.1), _lazy(0.5)), r"raster.compute_indices"),
        (utfvi, (_lazy(300.0),), r"scene_utfvi"),
        (brightness_temperature, (_lazy(10.0).data, 774.9, 1321.1), r"lst_level1"),
        (qa_pixel_clear, (_lazy(21824, "uint16"),), r"raster.quality.landsat_clear_mask"),
    ],
)
def test_a_lazy_input_is_refused_without_computing_it(kernel, args, instead):
    with raise_if_dask_computes(), pytest.raises(TypeError, match=f"lazy .*use .*{instead}"):
        kernel(*args)


def test_numpy_inputs_are_computed_as_before():
    assert ndvi(np.array([0.1]), np.array([0.5])) == pytest.approx((0.5 - 0.1) / 0.6)
    assert bool(qa_pixel_clear(np.array([21824], dtype=np.uint16))[0])
