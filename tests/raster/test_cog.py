import os
import warnings

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from raster.cog import overview_factors, write_cog


def _grid(values, crs="EPSG:32631"):
    ny, nx = values.shape
    transform = from_origin(600000, 5400000, 30, 30)
    x = transform.c + 30 * (np.arange(nx) + 0.5)
    y = transform.f - 30 * (np.arange(ny) + 0.5)
    arr = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x})
    return arr.rio.write_crs(crs).assign_attrs(units="K", long_name="land surface temperature")


def _expected(ny=1100, nx=900):
    rng = np.random.default_rng(0)
    values = (290 + 20 * rng.random((ny, nx))).astype("float32")
    values[:50, :70] = np.nan
    return values


@pytest.mark.parametrize("lazy", [False, True])
def test_cog_roundtrip_with_tags_and_overviews(tmp_path, lazy):
    values = _expected()
    data = da.from_array(values, chunks=(512, 512)) if lazy else values
    target = tmp_path / "lst.tif"
    result = write_cog(_grid(data), target, tags={"method": "test"})
    assert result == target
    with rasterio.open(target) as src:
        assert src.driver == "GTiff"
        assert src.crs.to_epsg() == 32631
        assert np.isnan(src.nodata)
        assert src.dtypes[0] == "float32"
        assert src.block_shapes[0] == (512, 512)
        assert src.overviews(1), "a COG of this size needs internal overviews"
        assert src.tags()["units"] == "K"
        assert src.tags()["method"] == "test"
        assert src.units == ("K",)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        np.testing.assert_array_equal(src.read(1), values)
    assert sorted(os.listdir(tmp_path)) == ["lst.tif"], "no scratch file may be left behind"


def test_cog_lazy_writes_nothing_until_computed(tmp_path):
    target = tmp_path / "lst.tif"
    task = write_cog(_grid(da.from_array(_expected(), chunks=512)), target, compute=False)
    assert not target.exists()
    task.compute()
    assert target.exists()


def test_cog_failure_leaves_no_file(tmp_path):
    def boom(block):
        raise RuntimeError("simulated crash while computing")

    values = da.from_array(_expected(), chunks=512).map_blocks(boom, dtype="float32")
    target = tmp_path / "lst.tif"
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_cog(_grid(values), target)
    assert not target.exists()
    assert os.listdir(tmp_path) == [], "no scratch file may be left behind"


def test_cog_rejects_missing_crs_and_3d(tmp_path):
    values = xr.DataArray(np.zeros((4, 4), "float32"), dims=("y", "x"))
    with pytest.raises(ValueError, match="no CRS"):
        write_cog(values, tmp_path / "a.tif")
    with pytest.raises(ValueError, match="2-D"):
        write_cog(values.expand_dims(time=2), tmp_path / "a.tif")


@pytest.mark.parametrize(
    ("shape", "factors"),
    [((4000, 4000), [2, 4, 8]), ((1100, 900), [2, 4]), ((512, 300), []), ((513, 10), [2])],
)
def test_overview_factors_halve_until_one_block(shape, factors):
    assert overview_factors(*shape) == factors


@pytest.mark.parametrize("lazy", [False, True])
def test_overviews_average_continuous_and_pick_classes(tmp_path, lazy):
    values = _expected(1100, 900)
    classes = np.arange(1100 * 900, dtype="float32").reshape(1100, 900) % 5
    for name, array, method in (("lst", values, "average"), ("cls", classes, "nearest")):
        data = da.from_array(array, chunks=512) if lazy else array
        write_cog(_grid(data), tmp_path / f"{name}.tif", overview_resampling=method)
    with rasterio.open(tmp_path / "lst.tif") as src:
        assert src.overviews(1) == [2, 4]
        first = src.read(1, out_shape=(550, 450))  # the 2x overview
    # Average of each 2x2 block, NaN (nodata) pixels left out: a hand computation.
    blocks = values.reshape(550, 2, 450, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        expected = np.nanmean(blocks, axis=(1, 3))
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    with rasterio.open(tmp_path / "cls.tif") as src:
        level = src.read(1, out_shape=(550, 450))
    assert set(np.unique(level)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


@pytest.mark.parametrize("lazy", [False, True])
def test_integer_codes_keep_their_type_nodata_and_palette(tmp_path, lazy):
    codes = (np.arange(1100 * 900).reshape(1100, 900) % 6).astype("uint8")  # 0 = no data
    palette = {0: (0, 0, 0, 0), 1: (0, 0, 255, 255), 5: (200, 150, 100, 255)}
    data = da.from_array(codes, chunks=512) if lazy else codes
    target = tmp_path / "classes.tif"
    write_cog(_grid(data), target, overview_resampling="nearest", nodata=0, colormap=palette)
    with rasterio.open(target) as src:
        assert (src.dtypes[0], src.nodata) == ("uint8", 0)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.colormap(1)[5] == (200, 150, 100, 255)
        assert src.colormap(1)[0][3] == 0
        np.testing.assert_array_equal(src.read(1), codes)
        assert set(np.unique(src.read(1, out_shape=(550, 450)))) <= set(range(6))
    assert sorted(os.listdir(tmp_path)) == ["classes.tif"]


def test_booleans_become_uint8_and_bad_layouts_are_refused(tmp_path):
    mask = np.zeros((40, 30), dtype=bool)
    mask[:10] = True
    write_cog(_grid(mask), tmp_path / "mask.tif")
    with rasterio.open(tmp_path / "mask.tif") as src:
        assert (src.dtypes[0], src.nodata) == ("uint8", None)
        assert src.read(1).sum() == 10 * 30
    with pytest.raises(ValueError, match="integer data"):
        write_cog(_grid(np.zeros((4, 4), "float32")), tmp_path / "a.tif", nodata=0)
    with pytest.raises(ValueError, match="does not fit"):
        write_cog(_grid(np.zeros((4, 4), "uint8")), tmp_path / "a.tif", nodata=-1)
    with pytest.raises(ValueError, match="colour table"):
        write_cog(_grid(np.zeros((4, 4), "int16")), tmp_path / "a.tif", colormap={0: (0, 0, 0, 0)})
    assert sorted(os.listdir(tmp_path)) == ["mask.tif"]


def test_a_temporary_name_held_elsewhere_does_not_fail_a_cog_in_place(tmp_path, monkeypatch):
    """Windows: an antivirus holding the new COG (put in place by a hard link) blocks removing
    its temporary name; the COG is in place, so the write succeeds, the name left."""
    real_unlink = os.unlink

    def held(path, *args, **kwargs):
        if ".tmp" in os.fspath(path) and os.path.exists(path):
            raise PermissionError(13, "The process cannot access the file")
        return real_unlink(path, *args, **kwargs)

    def link_in_place(staging, target):  # as ilots' commands without --overwrite
        os.link(staging, target)
        try:
            os.unlink(staging)
        except OSError:
            pass  # their publish logs it

    monkeypatch.setattr(os, "unlink", held)
    target = tmp_path / "lst.tif"
    assert write_cog(_grid(_expected(40, 30)), target, put_in_place=link_in_place) == target
    with rasterio.open(target) as src:
        np.testing.assert_array_equal(src.read(1), _expected(40, 30))
    assert len(os.listdir(tmp_path)) == 2  # the COG, and its temporary name left
