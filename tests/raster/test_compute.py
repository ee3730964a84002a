import dask.array as da
import numpy as np
import pytest
import xarray as xr

from raster.compute import compute_into_memory


@pytest.mark.parametrize("chunks", [(3, 4), (7, 9), (10, 10)])
def test_compute_into_memory_equals_compute(chunks):
    rng = np.random.default_rng(1)
    base = rng.random((10, 10)).astype("float32")
    lazy = xr.DataArray(da.from_array(base, chunks=chunks), dims=("y", "x"),
                        coords={"y": np.arange(10)}, attrs={"units": "K"})  # fmt: skip
    a, b = lazy * 2, lazy + 1
    eager = xr.DataArray(base, dims=("y", "x"))
    out_a, out_b, out_e = compute_into_memory(a, b, eager)
    assert isinstance(out_a.data, np.ndarray) and isinstance(out_b.data, np.ndarray)
    np.testing.assert_array_equal(out_a.values, base * 2)
    np.testing.assert_array_equal(out_b.values, base + 1)
    assert out_e is eager
    assert out_a.dtype == np.float32 and out_a.dims == ("y", "x")
    np.testing.assert_array_equal(out_a.y.values, np.arange(10))
