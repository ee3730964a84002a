"""Products of one overpass fused into one scene (raster.acquisitions)."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from raster.acquisitions import acquisition_groups, fuse_acquisitions, repeated_products
from tests.conftest import raise_if_dask_computes

NAN = np.nan


def _series(chunks=None) -> xr.DataArray:
    """Five products: landsat-8 rows 29 and 30 of one pass (24 s apart), a landsat-9 scene
    acquired in between, then landsat-8 again 16 days later, given twice."""
    t0 = np.datetime64("2023-06-26T10:45:00")
    times = [t0, t0 + np.timedelta64(24, "s"), t0 + np.timedelta64(60, "s"),
             t0 + np.timedelta64(16, "D"), t0 + np.timedelta64(16, "D")]  # fmt: skip
    values = np.array(
        [
            [[1.0, 2.0, NAN], [NAN, NAN, NAN]],  # row 29: the north
            [[1.0, NAN, NAN], [4.0, 5.0, NAN]],  # row 30: the south, overlapping at (0, 0)
            [[7.0, 7.0, 7.0], [7.0, 7.0, 7.0]],
            [[8.0, NAN, 8.0], [8.0, 8.0, 8.0]],
            [[8.0, 9.0, 8.0], [8.0, 8.0, NAN]],  # the same product from another collection
        ]
    )
    da = xr.DataArray(
        values, dims=("time", "y", "x"),
        coords={"time": times, "y": [1.0, 0.0], "x": [0.0, 1.0, 2.0],
                "product_id": ("time", ["L8_198029", "L8_198030", "L9_x", "L8_a", "L8_a"]),
                "platform": ("time", ["landsat-8", "landsat-8", "landsat-9", "landsat-8",
                                      "landsat-8"]),
                "cloud": ("time", [1.0, 2.0, 3.0, 4.0, 5.0])},
        attrs={"units": "K"},
    )  # fmt: skip
    # Data chunked per scene, coordinates in memory, as raster.load gives them.
    return da.copy(data=dsa.from_array(values, chunks=(1, 2, 3))) if chunks else da


def test_groups_are_one_platform_within_two_minutes():
    assert acquisition_groups(_series()) == [[0, 1], [2], [3, 4]]
    assert acquisition_groups(_series().drop_vars("platform")) == [[0, 1, 2], [3, 4]]


@pytest.mark.parametrize("chunks", [None, 1], ids=["numpy", "dask"])
def test_each_overpass_is_one_scene_with_the_first_valid_value(chunks):
    series = _series(chunks)
    with raise_if_dask_computes():
        fused = fuse_acquisitions(series, acquisition_groups(series))
    if chunks:
        assert isinstance(fused.data, dsa.Array)
    expected = np.array(
        [
            [[1.0, 2.0, NAN], [4.0, 5.0, NAN]],
            [[7.0, 7.0, 7.0], [7.0, 7.0, 7.0]],
            [[8.0, 9.0, 8.0], [8.0, 8.0, 8.0]],
        ]
    )
    np.testing.assert_array_equal(fused.values, expected)
    assert list(fused["product_id"].values) == ["L8_198029 + L8_198030", "L9_x", "L8_a"]
    assert list(fused["platform"].values) == ["landsat-8", "landsat-9", "landsat-8"]
    assert list(fused["cloud"].values) == [1.0, 3.0, 4.0]  # the first product's
    np.testing.assert_array_equal(fused["time"].values, series["time"].values[[0, 2, 3]])
    assert fused.attrs == {"units": "K"}
    # n_clear counts each overpass once: 3 observations at (0, 0), not 5.
    assert int(np.isfinite(series.values[:, 0, 0]).sum()) == 5
    assert int(np.isfinite(fused.values[:, 0, 0]).sum()) == 3


def test_a_dataset_is_fused_variable_by_variable():
    series = _series()
    ds = xr.Dataset({"a": series, "b": series * 10})
    fused = fuse_acquisitions(ds, acquisition_groups(ds))
    np.testing.assert_array_equal(fused["b"].values, 10 * fused["a"].values)
    assert fused["a"].values[0, 1, 0] == 4.0


def test_one_product_per_overpass_is_left_as_it_is():
    series = _series().isel(time=[0, 2, 3])
    assert fuse_acquisitions(series, acquisition_groups(series)) is series


def test_repeated_products_are_one_tile_of_one_overpass_without_a_warning():
    """pystac datetimes are UTC-aware: grouping them must not warn (NumPy's datetime64 does,
    and a run records every warning in its manifest)."""
    import datetime as dt
    import warnings

    import pystac

    t0 = dt.datetime(2023, 7, 14, 10, 56, 21, tzinfo=dt.UTC)

    def item(name, tile, when, platform="sentinel-2b"):
        props = {"platform": platform, "s2:mgrs_tile": tile}
        return pystac.Item(name, None, None, when, props)

    items = [
        item("a", "31TCJ", t0),
        item("b", "31TCJ", t0 + dt.timedelta(seconds=30)),  # the same product, elsewhere
        item("c", "31TCH", t0),  # the next tile of the pass: another product
        item("d", "31TCJ", t0 + dt.timedelta(days=5)),
        item("e", "31TCJ", t0, platform="sentinel-2a"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        groups = repeated_products(items, lambda it: it.properties["s2:mgrs_tile"])
    assert [[it.id for it in group] for group in groups] == [["a", "b"]]


# --- Sentinel-2: the datatake, whatever time each distributor gives -------------------------


def _s2_series(times_s, platforms, ids) -> xr.DataArray:
    t0 = np.datetime64("2020-02-19T11:21:11")
    return xr.DataArray(
        np.zeros((len(ids), 1, 1)), dims=("time", "y", "x"),
        coords={"time": [t0 + np.timedelta64(s, "s") for s in times_s],
                "platform": ("time", platforms), "product_id": ("time", ids)},
    )  # fmt: skip


def test_products_of_one_datatake_are_one_acquisition_whatever_their_times():
    """A SAFE dated at the datatake start (11:21:11), an Earth Search tile of the same
    datatake dated 13 min 14 s later, a tile without datatake 30 s after that (the time
    window), then another datatake of S2A within the window of nothing."""
    series = _s2_series(
        [0, 794, 824, 5 * 86400],
        ["sentinel-2a"] * 4,
        ["safe", "es", "unnamed", "later"],
    )
    datatakes = {"safe": "S2A_20200219T112111", "es": "S2A_20200219T112111",
                 "later": "S2A_20200224T112111"}  # fmt: skip
    assert acquisition_groups(series, datatakes) == [[0, 1, 2], [3]]
    # by time alone, 13 minutes apart: two acquisitions
    assert acquisition_groups(series) == [[0], [1, 2], [3]]


def test_a_datatake_between_the_products_of_another_is_not_joined_by_time():
    """The members of one datatake need not be consecutive in time; a product of another
    datatake is never joined by the time window, nor one of another platform."""
    series = _s2_series(
        [0, 30, 60, 794], ["sentinel-2a", "sentinel-2b", "sentinel-2a", "sentinel-2a"],
        ["a1", "b", "x", "a2"],
    )  # fmt: skip
    datatakes = {"a1": "S2A_1", "b": "S2B_1", "x": "S2A_2", "a2": "S2A_1"}
    assert acquisition_groups(series, datatakes) == [[0, 3], [1], [2]]


def test_repeated_products_of_one_datatake_and_tile_from_two_sources():
    import datetime as dt

    import pystac

    t0 = dt.datetime(2020, 2, 19, 11, 21, 11, tzinfo=dt.UTC)

    def item(name, tile, seconds, datatake):
        props = {"platform": "sentinel-2a", "s2:mgrs_tile": tile}
        if datatake:
            props["ilots:datatake"] = datatake
        return pystac.Item(name, None, None, t0 + dt.timedelta(seconds=seconds), props)

    items = [
        item("es", "29RKH", 794, "S2A_20200219T112111"),  # given first, dated later
        item("safe", "29RKH", 0, "S2A_20200219T112111"),
        item("es-next-tile", "29RKJ", 800, "S2A_20200219T112111"),
        item("unnamed", "29RKH", 824, None),  # within 2 min of "es": the same product
    ]
    groups = repeated_products(items, lambda it: it.properties["s2:mgrs_tile"])
    assert [[it.id for it in group] for group in groups] == [["es", "safe", "unnamed"]]


def test_range_only_items_are_grouped_by_their_start():
    """A STAC item may give a range only (``datetime: null``, ``start_datetime`` and
    ``end_datetime``): sorting items by ``datetime`` raised TypeError on None."""
    import datetime as dt

    import pystac

    t0 = dt.datetime(2023, 7, 14, 10, 56, 21, tzinfo=dt.UTC)

    def item(name, start, seconds=5):
        props = {"platform": "sentinel-2b", "s2:mgrs_tile": "31TCJ",
                 "start_datetime": start.isoformat(),
                 "end_datetime": (start + dt.timedelta(seconds=seconds)).isoformat()}  # fmt: skip
        return pystac.Item(name, None, None, None, props)

    # "a" ends 10 minutes after it starts: by their ends, "a" and "b" would be apart.
    items = [item("later", t0 + dt.timedelta(days=5)), item("a", t0, seconds=600),
             item("b", t0 + dt.timedelta(seconds=30))]  # fmt: skip
    groups = repeated_products(items, lambda it: it.properties["s2:mgrs_tile"])
    assert [[it.id for it in group] for group in groups] == [["a", "b"]]
