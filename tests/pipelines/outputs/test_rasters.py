import datetime as dt
import os
import threading

import dask
import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr

from pipelines.outputs import write_rasters
from pipelines.outputs.rasters import is_categorical, period_tags, raster_tags, remove_scratch
from tests.conftest import raise_if_dask_computes
from tests.pipelines.outputs.helpers import CLASS_CODES, grid_array, make_rasters
from tiles.errors import CRSError

try:  # the independent COG validator (test extra); GDAL's own LAYOUT=COG flag is checked anyway
    from rio_cogeo.cogeo import cog_validate
except ImportError:  # pragma: no cover
    cog_validate = None


#: The files of the two rasters of :func:`make_rasters`: each COG with its QGIS style.
WRITTEN = ["landcover.qml", "landcover.tif", "lst_median.qml", "lst_median.tif"]


def test_cogs_are_valid_with_overviews_nodata_and_cf_tags(tmp_path, rasters):
    folder = tmp_path / "rasters"
    paths = write_rasters(rasters, folder, tags={"source": "unit test"}, compute=True)
    assert paths == {name: folder / f"{name}.tif" for name in ("lst_median", "landcover")}
    assert sorted(os.listdir(folder)) == WRITTEN
    for name, path in paths.items():
        if cog_validate is not None:
            valid, errors, warnings = cog_validate(path)
            assert valid and not errors, (name, errors, warnings)
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.crs.to_epsg() == 2154
            assert src.overviews(1), f"{name} needs internal overviews"
            tags = src.tags()
            assert tags["ilots_version"]
            assert tags["synthetic"] == "false"
            assert tags["source"] == "unit test"
            assert tags["long_name"]
            np.testing.assert_array_equal(src.read(1), rasters[name].to_numpy())
    with rasterio.open(paths["lst_median"]) as src:
        assert src.dtypes == ("float32",) and np.isnan(src.nodata)
        tags = src.tags()
        assert (tags["units"], tags["standard_name"]) == ("K", "surface_temperature")
        assert src.units == ("K",)
        assert src.descriptions == ("median land surface temperature",)
    with rasterio.open(paths["landcover"]) as src:
        assert src.dtypes == ("uint8",) and src.nodata == 0  # the classes' own nodata
        assert src.tags()["flag_values"] == "1 2 3 5 7"  # CF: blank-separated list
        palette = src.colormap(1)
        assert palette[4] == (203, 24, 29, 255) and palette[0][3] == 0  # built red, 0 clear


def test_counts_keep_their_integer_type_and_floats_become_float32(tmp_path):
    counts = grid_array(np.arange(600 * 520, dtype="int16").reshape(600, 520) % 40)
    ndvi = grid_array(np.linspace(-1, 1, 600 * 520).reshape(600, 520))  # float64
    paths = write_rasters({"n_clear": counts, "ndvi_median": ndvi}, tmp_path, compute=True)
    with rasterio.open(paths["n_clear"]) as src:
        assert (src.dtypes, src.nodata) == (("int16",), None)  # every count is a value
        np.testing.assert_array_equal(src.read(1), counts.to_numpy())
        with pytest.raises(ValueError):
            src.colormap(1)
    with rasterio.open(paths["ndvi_median"]) as src:
        assert src.dtypes == ("float32",) and np.isnan(src.nodata)
        np.testing.assert_array_equal(src.read(1), ndvi.to_numpy().astype("float32"))


def test_categorical_overviews_keep_the_original_codes(tmp_path, rasters):
    nearest = write_rasters({"landcover": rasters["landcover"]}, tmp_path / "a", compute=True)
    averaged = write_rasters(
        {"landcover": rasters["landcover"]},
        tmp_path / "b",
        overview_resampling={"landcover": "average"},
        compute=True,
    )
    with rasterio.open(nearest["landcover"], overview_level=0) as src:
        assert src.shape == (300, 260)  # the first overview, read directly
        codes = np.unique(src.read(1))
    assert set(codes.tolist()) <= set(CLASS_CODES)
    with rasterio.open(averaged["landcover"], overview_level=0) as src:
        mixed = np.unique(src.read(1))
    assert not set(mixed.tolist()) <= set(CLASS_CODES), "averaging classes must invent values"


def test_lazy_until_one_compute_writes_all(tmp_path):
    arrays = {
        name: data.copy(data=da.from_array(data.to_numpy(), chunks=256))
        for name, data in make_rasters().items()
    }
    folder = tmp_path / "rasters"
    with raise_if_dask_computes():
        tasks = write_rasters(arrays, folder)
    assert set(tasks) == {"lst_median", "landcover"}
    finals = [name for name in os.listdir(folder) if not name.startswith(".")]
    assert finals == [], "building the graph writes no output (only write_cog's scratch files)"
    written = dask.compute(*tasks.values())
    assert sorted(p.name for p in written) == ["landcover.tif", "lst_median.tif"]
    assert sorted(os.listdir(folder)) == WRITTEN


def test_dataset_input_and_synthetic_marker(tmp_path, rasters):
    dataset = xr.Dataset(rasters)
    paths = write_rasters(dataset, tmp_path, synthetic=True, compute=True)
    with rasterio.open(paths["lst_median"]) as src:
        tags = src.tags()
    assert tags["synthetic"] == "true"
    assert "synthetic" in tags["comment"]


def _crashing(data):
    def boom(block):
        raise RuntimeError("simulated crash while computing")

    blocks = da.from_array(data.to_numpy(), chunks=256).map_blocks(boom, dtype="float32")
    return data.copy(data=blocks)


def test_failure_mid_write_leaves_no_file(tmp_path, rasters):
    def boom(block):
        raise RuntimeError("simulated crash while computing")

    lst = rasters["lst_median"]
    broken = lst.copy(
        data=da.from_array(lst.to_numpy(), chunks=256).map_blocks(boom, dtype="float32")
    )
    folder = tmp_path / "rasters"
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_rasters({"landcover": rasters["landcover"], "lst_median": broken}, folder,
                      compute=True)  # fmt: skip
    leftovers = [name for name in os.listdir(folder) if name != "landcover.tif"]
    assert leftovers == [], "no final lst file and no scratch or temporary file"


def test_a_stopped_write_ends_with_the_raster_being_written(tmp_path, rasters):
    """An interrupted run's COG thread: the raster being written is finished, the next one
    is not started, and leaves no scratch file (a lazy one's is made when it is planned)."""
    stop = threading.Event()

    def stopping(block):  # the run is interrupted while lst_median is being written
        stop.set()
        return block

    lst = rasters["lst_median"]
    blocks = da.from_array(lst.to_numpy(), chunks=256)
    meta = np.array((), lst.dtype)  # map_blocks calls nothing to learn the type
    first = lst.copy(data=blocks.map_blocks(stopping, dtype=lst.dtype, meta=meta))
    second = rasters["landcover"].chunk(256)
    folder = tmp_path / "rasters"
    paths = write_rasters(
        {"lst_median": first, "landcover": second}, folder, compute=True, stop=stop
    )
    assert paths == {"lst_median": folder / "lst_median.tif"}
    assert sorted(os.listdir(folder)) == ["lst_median.qml", "lst_median.tif"]
    with rasterio.open(paths["lst_median"]) as src:
        np.testing.assert_array_equal(src.read(1), lst.to_numpy())


def test_lazy_failure_scratch_can_be_removed(tmp_path, rasters):
    def boom(block):
        raise RuntimeError("simulated crash while computing")

    lst = rasters["lst_median"]
    broken = lst.copy(
        data=da.from_array(lst.to_numpy(), chunks=256).map_blocks(boom, dtype="float32")
    )
    tasks = write_rasters({"lst_median": broken}, tmp_path)
    with pytest.raises(RuntimeError, match="simulated crash"):
        dask.compute(*tasks.values())
    removed = remove_scratch(tmp_path, tasks)
    assert len(removed) == 1
    assert os.listdir(tmp_path) == []


def test_a_bad_raster_is_refused_before_any_file_is_made(tmp_path, rasters):
    folder = tmp_path / "rasters"
    late = {**rasters, "zz": grid_array(np.zeros((4, 4), "float32"), crs="EPSG:32631")}
    with pytest.raises(CRSError):
        write_rasters(late, folder)
    assert not folder.exists(), "validation comes before the first scratch file"


def test_callers_attrs_are_not_mutated(tmp_path):
    data = grid_array(np.ones((8, 8), "float32"), attrs={"units": "K", "scale_factor": 0.01})
    before = dict(data.attrs)
    path = write_rasters({"lst_p90": data}, tmp_path, compute=True)["lst_p90"]
    assert data.attrs == before
    with rasterio.open(path) as src:
        tags = src.tags()
    assert "scale_factor" not in tags, "encoding attrs describe no written value"
    assert tags["units"] == "K"


def test_categorical_inference():
    values = np.zeros((4, 4), "float32")
    assert is_categorical("landcover", grid_array(values))
    assert is_categorical("n_clear", grid_array(values))
    assert is_categorical("mask", grid_array(values, attrs={"flag_values": (0, 1)}))
    assert is_categorical("classes", grid_array(values.astype("int16")))
    assert is_categorical("flags", grid_array(values.astype(bool)))
    assert not is_categorical("lst_median", grid_array(values))
    assert not is_categorical("anything", grid_array(values))


def test_tags_let_array_attrs_override_defaults():
    tags = raster_tags("lst_median", {"long_name": "LST median of 12 scenes", "_private": 1})
    assert tags["long_name"] == "LST median of 12 scenes"
    assert tags["units"] == "K"
    assert "_private" not in tags
    landcover = raster_tags(
        "landcover",
        {
            "flag_values": np.asarray([1, 2], dtype=np.uint8),
            "flag_meanings": "water trees",
            "rules": {"ndvi": 0.3},
        },
    )
    assert landcover["flag_values"] == "1 2"
    assert landcover["flag_meanings"] == "water trees"
    assert "rules" not in landcover, "nested attrs have no tag form"
    assert "units" not in landcover, "class codes carry no unit"


def test_bad_inputs_are_refused(tmp_path):
    ok = grid_array(np.zeros((4, 4), "float32"))
    with pytest.raises(CRSError, match="has no CRS"):
        write_rasters({"a": xr.DataArray(np.zeros((4, 4)), dims=("y", "x"))}, tmp_path)
    with pytest.raises(CRSError, match="reproject"):
        write_rasters({"a": ok, "b": grid_array(np.zeros((4, 4)), crs="EPSG:32631")}, tmp_path)
    with pytest.raises(ValueError, match=r"\(y, x\)"):
        write_rasters({"a": ok.expand_dims(time=2)}, tmp_path)
    with pytest.raises(ValueError, match="not a valid file name"):
        write_rasters({"../evil": ok}, tmp_path)
    with pytest.raises(ValueError, match="overview resampling 'smooth'"):
        write_rasters({"a": ok}, tmp_path, overview_resampling={"a": "smooth"})
    with pytest.raises(ValueError, match="not among the rasters"):
        write_rasters({"a": ok}, tmp_path, overview_resampling={"b": "nearest"})
    with pytest.raises(ValueError, match="no rasters"):
        write_rasters({}, tmp_path)


@pytest.mark.parametrize("lazy", [False, True])
def test_zstd_cogs_are_valid_and_hold_the_same_values(tmp_path, rasters, lazy):
    """outputs.raster_compression: zstd writes valid COGs whose values equal the DEFLATE ones."""
    if lazy:
        rasters = {name: data.chunk(256) for name, data in rasters.items()}
    paths = write_rasters(rasters, tmp_path, compute=True, compression="zstd")
    for name, path in paths.items():
        if cog_validate is not None:
            valid, errors, _warnings = cog_validate(path)
            assert valid and not errors, (name, errors)
        with rasterio.open(path) as src:
            assert src.compression.name.lower() == "zstd"
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.overviews(1)
            np.testing.assert_array_equal(src.read(1), rasters[name].to_numpy())
    with pytest.raises(ValueError, match="compression 'lzw' is not one of deflate, zstd"):
        write_rasters(rasters, tmp_path / "other", compute=True, compression="lzw")
    assert not (tmp_path / "other").exists()  # refused before any file is made


def test_the_period_tags_of_two_summers_say_each_summer():
    summers = [
        (dt.date(2022, 6, 1), dt.date(2022, 8, 31)),
        (dt.date(2023, 6, 1), dt.date(2023, 8, 31)),
    ]
    assert period_tags(summers) == {
        "time_coverage_start": "2022-06-01",
        "time_coverage_end": "2023-08-31",
        "ilots_periods": "2022-06-01/2022-08-31 2023-06-01/2023-08-31",
    }
    assert period_tags([]) == {}
