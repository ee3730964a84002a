import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from raster import _lift
from raster._lift import lift


def kernel(a, b, *, factor, dtype):
    # element-wise, with float64 temporaries, returning the asked dtype
    return ((a.astype(np.float64) * factor + b) / 3.0).astype(dtype)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_strips_give_the_whole_array_result(monkeypatch, backend):
    monkeypatch.setattr(_lift, "STRIP_PIXELS", 50)  # force many strips, ragged last one
    rng = np.random.default_rng(3)
    a = rng.random((2, 37, 23)).astype(np.float32)
    per_time = np.array([1.5, -2.0])
    data = da.from_array(a, chunks=(1, 20, 23)) if backend == "dask" else a
    arr = xr.DataArray(data, dims=("time", "y", "x"))
    scale = xr.DataArray(per_time, dims="time")
    out = lift(kernel, arr, scale, dtype=np.float32, kwargs={"factor": 2.0, "dtype": np.float32})
    expected = kernel(a, per_time[:, None, None], factor=2.0, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out.values), expected)


def test_lift_keeps_coordinate_attrs_but_not_input_attrs():
    arr = xr.DataArray(np.ones((4, 4)), dims=("y", "x"), attrs={"standard_name": "x"})
    arr = arr.rio.write_crs("EPSG:32631")
    out = lift(np.negative, arr, dtype=np.float64)
    assert out.attrs == {}
    assert out.rio.crs.to_epsg() == 32631
