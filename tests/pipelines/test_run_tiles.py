"""Pieces of a run on small inputs.

Pass 1 on the Landsat pixels equals pass 1 on the gathered LST, tile by tile; the zone
table's land-cover shares.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.transform import from_origin
from shapely.geometry import box

from pipelines import run_tiles
from pipelines.run import _zone_table
from pipelines.zone_columns import ANOMALY_LAYERS
from raster.nearest import gather_nearest, native_gather
from tiles.errors import IlotsWarning

CRS = "EPSG:32631"


def _case(chunked: bool):
    rng = np.random.default_rng(11)
    source = GeoBox((30, 28), from_origin(599_970.0, 5_400_030.0, 30.0, 30.0), CRS)
    grid = GeoBox((80, 75), from_origin(600_010.0, 5_399_980.0, 10.0, 10.0), CRS)
    plan = native_gather(source, grid)
    assert plan is not None
    values = rng.normal(300.0, 4.0, (3, *plan.geobox.shape.yx)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = np.nan  # clouds
    coords = xr_coords(plan.geobox, crs_coord_name="spatial_ref")
    native = xr.DataArray(values, dims=("time", "y", "x"),
                          coords={"time": np.arange(3), **coords})  # fmt: skip
    grid_coords = xr_coords(grid, crs_coord_name="spatial_ref")
    masks = [
        xr.DataArray(rng.random(grid.shape.yx) < p, dims=("y", "x"), coords=grid_coords)
        for p in (0.5, 0.2)
    ]
    if chunked:
        native = native.chunk({"time": 1, "y": 16, "x": 16})
        masks = [m.chunk({"y": 32, "x": 32}) for m in masks]
    on_grid = gather_nearest(native.to_dataset(name="lst"), plan, {"y": 32, "x": 32})["lst"]
    return plan, grid, native, on_grid, masks


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_reference_sums_on_landsat_pixels_equal_the_gathered_ones(chunked):
    plan, grid, native, on_grid, (mask, urban) = _case(chunked)
    for tile in run_tiles.tiles_of(grid, 32):  # tiles that split Landsat pixels
        expected = run_tiles.reference_sums(on_grid, mask, tile, urban)
        got = run_tiles.reference_sums(native, mask, tile, urban, plan)
        assert set(got) == set(expected)
        for key, value in expected.items():
            if key.endswith(("count", "n_mask")):
                np.testing.assert_array_equal(got[key], value, err_msg=key)
            else:
                np.testing.assert_allclose(got[key], value, rtol=1e-12, err_msg=key)
    whole = run_tiles.tiles_of(grid, 4096)
    assert len(whole) == 1
    sums = run_tiles.reference_sums(native, mask, whole[0], None, plan)
    clear = on_grid.values[:, mask.values].astype(np.float64)
    # Hand oracle: the per-scene mean of the gathered LST over the mask.
    np.testing.assert_allclose(sums["total"] / sums["count"], np.nanmean(clear, axis=1),
                               rtol=1e-9)  # fmt: skip
    assert sums["n_mask"] == int(mask.values.sum())


def test_reference_sums_on_landsat_pixels_are_lazy_until_called():
    plan, grid, native, _, (mask, _) = _case(True)
    assert isinstance(native.data, da.Array)  # building the case computed nothing
    tile = run_tiles.tiles_of(grid, 4096)[0]
    assert run_tiles.reference_sums(native, mask, tile, None, plan)["count"].shape == (3,)


def test_zone_without_classified_pixel_has_no_land_cover_shares():
    """Zone "a": classes 1 and 4 only (absent classes are 0 %); zone "b": every pixel masked
    (NaN shares, not 0 % of each class); class 5 absent from the whole grid (no column)."""
    table = pd.DataFrame({
        "code": ["a", "b"], "lst_median_area_m2": [1.0, 1.0], "lst_median_valid_frac": [1, 0],
        "lst_median_mean": [300.0, np.nan], "lst_median_p90": [301.0, np.nan],
        "lst_p90_mean": [302.0, np.nan], "lst_anomaly_mean": [1.0, np.nan],
        "lst_anomaly_valid_frac": [1.0, 0.0],
        "lst_anomaly_p90_mean": [2.0, np.nan],
        "ndvi_median_mean": [0.3, np.nan], "n_clear_mean": [4.0, 0.0],
    })  # fmt: skip
    frac = pd.DataFrame({"code": ["a", "b"], "frac_1": [0.25, np.nan], "frac_2": [0.0, np.nan],
                         "frac_4": [0.75, np.nan]})  # fmt: skip
    out = _zone_table(table, frac, "code").set_index("code")
    assert out.loc["a", "lc_water_frac"] == 0.25 and out.loc["a", "lc_built_frac"] == 0.75
    assert out.loc["a", "lc_dense_vegetation_frac"] == 0.0
    assert out.loc["a", "lc_bare_soil_frac"] == 0.0  # no class-5 column at all
    lc = [c for c in out.columns if c.startswith("lc_")]
    assert len(lc) == 5 and out.loc["b", lc].isna().all()


def _zone_tables_of(
    lst: np.ndarray,
    classes: np.ndarray,
    zones: dict[str, tuple],
    without_water: bool = True,
    anomaly: np.ndarray | None = None,
):
    """The zone tables of pass 2 and the merge on a 10 m grid, one tile; ``zones``: code ->
    (row, col, size) of a square of whole pixels (coverage 1). ``anomaly``: the values of
    the ΔT layers (the median, its p90 and a z-score), else ``lst`` and no z-score."""
    grid = GeoBox(lst.shape, from_origin(600_000.0, 5_400_000.0, 10.0, 10.0), CRS)
    squares = [
        box(600_000.0 + 10 * c, 5_400_000.0 - 10 * (r + n), 600_000.0 + 10 * (c + n),
            5_400_000.0 - 10 * r)
        for r, c, n in zones.values()
    ]  # fmt: skip
    frame = gpd.GeoDataFrame({"code": list(zones)}, geometry=squares, crs=CRS)
    layer = run_tiles.zone_layer("iris", frame, "code", grid, "exact")
    coords = xr_coords(grid, crs_coord_name="spatial_ref")
    layers = {name: (("y", "x"), lst) for name in run_tiles.ZONE_LAYERS}  # values: any
    del layers["lst_zscore"], layers["albedo_median"]  # the optional ones
    if anomaly is not None:
        layers.update({name: (("y", "x"), anomaly) for name in ANOMALY_LAYERS})
    rasters = xr.Dataset({**layers, "landcover": (("y", "x"), classes)}, coords=coords)
    (tile,) = run_tiles.tiles_of(grid, 4096)
    parts = run_tiles.tile_pieces(rasters, [layer], tile, without_water=without_water)
    return run_tiles._tables(layer, parts["partials"]["iris"])


def test_valid_frac_of_land_counts_lst_on_land_only():
    """With water left out of the LST, valid_frac is (LST on land) / land, land being the
    area less the land cover's water, so an LST pixel the land cover calls water (the Landsat
    QA said land) counts in neither term and no share exceeds 1 (it was capped at 1).

    Zones of 4 x 4 whole pixels, 4 of them land-cover water (class 1), 1 unclassified (0,
    land), 11 built (4). "a": LST NaN on 2 of the water pixels (QA water) and on 3 built
    pixels (clouds): 9 of the 12 land pixels have an LST, 0.75 (was 11/16 / (1 - 4/15)).
    "b": LST on every pixel but one built one: 11/12 (was 15/16 / (12/16) = 1.25, capped
    to 1). Hand counts.
    """
    classes = np.full((4, 8), 4, dtype=np.uint8)
    lst = np.full((4, 8), 300.0, dtype=np.float32)
    for left in (0, 4):
        classes[0, left : left + 4] = 1  # a row of water
        classes[3, left + 3] = 0  # no class: land
    lst[0, 0:2] = np.nan  # "a": QA water on 2 of the 4 water pixels
    lst[2, 0:3] = np.nan  # "a": clouds on 3 built pixels
    lst[1, 4] = np.nan  # "b": clouds on 1 built pixel
    table, frac = _zone_tables_of(lst, classes, {"a": (0, 0, 4), "b": (0, 4, 4)})
    out = _zone_table(table, frac, "code", water_excluded=True).set_index("code")
    assert out.loc["a", "valid_frac"] == pytest.approx(9 / 12, abs=1e-12)
    assert out.loc["b", "valid_frac"] == pytest.approx(11 / 12, abs=1e-12)
    # Water kept in the LST (mask.lst_keep_water): of the whole area.
    table, frac = _zone_tables_of(lst, classes, {"a": (0, 0, 4), "b": (0, 4, 4)}, False)
    kept = _zone_table(table, frac, "code").set_index("code")
    assert kept["valid_frac"].tolist() == pytest.approx([11 / 16, 15 / 16], abs=1e-12)


def test_anomaly_columns_are_gated_on_the_anomaly_s_own_share():
    """ΔT rests on the scenes with a reference: a zone can have an LST on all its pixels and
    a ΔT on few. The ΔT columns (lst_anomaly_*, lst_zscore_mean) get no value under
    zones.min_valid_frac (0.5) of the zone (of its land, water left out) with a composite
    ΔT (anomaly_valid_frac, a column too), and low_clear_area flags a zone under
    composite.min_clear_area_frac (0.6) of either share. Zones of 4 x 4 whole pixels, the LST
    300 K on every pixel; hand values:

    "a": ΔT 2 K on 6 of 16 pixels (0.375): no ΔT value (it read 2.0), flagged (it was not).
    "b": ΔT 1 K on 8 pixels, 3 K on 4 (0.75): mean 20 / 12 = 5/3 K, not flagged.
    "c": a row of land-cover water (no ΔT there), ΔT 1 K on 4 and 2 K on 3 of its 12 land
    pixels (7/12 ~ 0.58 of its land): mean 10 / 7 K, flagged. Water kept in the LST: 7 of its
    16 pixels (0.44), no ΔT value.
    """
    lst = np.full((4, 12), 300.0, dtype=np.float32)
    classes = np.full((4, 12), 4, dtype=np.uint8)
    classes[0, 8:12] = 1
    anomaly = np.full((4, 12), np.nan, dtype=np.float32)
    anomaly[0, 0:4] = anomaly[1, 0:2] = 2.0  # "a"
    anomaly[0:2, 4:8], anomaly[2, 4:8] = 1.0, 3.0  # "b"
    anomaly[1, 8:12], anomaly[2, 8:11] = 1.0, 2.0  # "c"
    zones = {"a": (0, 0, 4), "b": (0, 4, 4), "c": (0, 8, 4)}
    delta = ["lst_anomaly_mean_k", "lst_anomaly_p90_mean_k", "lst_zscore_mean"]
    table, frac = _zone_tables_of(lst, classes, zones, anomaly=anomaly)
    out = _zone_table(table, frac, "code", min_valid_frac=0.5, min_clear_area_frac=0.6,
                      water_excluded=True).set_index("code")  # fmt: skip
    assert out["valid_frac"].tolist() == [1.0, 1.0, 1.0]
    # The share that gates ΔT is published beside valid_frac: 6/16, 12/16, 7 of 12 land.
    assert out["anomaly_valid_frac"].tolist() == pytest.approx([6 / 16, 12 / 16, 7 / 12])
    assert out["lst_mean_k"].tolist() == pytest.approx([300.0, 300.0, 300.0])
    assert out.loc["a", delta].isna().all()
    for column in delta:
        assert out.loc["b", column] == pytest.approx(5 / 3, rel=1e-6), column
        assert out.loc["c", column] == pytest.approx(10 / 7, rel=1e-6), column
    assert out["low_clear_area"].tolist() == [True, False, True]
    # Water kept in the LST (mask.lst_keep_water): the shares are of the whole area.
    table, frac = _zone_tables_of(lst, classes, zones, False, anomaly)
    kept = _zone_table(table, frac, "code", min_valid_frac=0.5,
                       min_clear_area_frac=0.6).set_index("code")  # fmt: skip
    assert kept["anomaly_valid_frac"].tolist() == pytest.approx([6 / 16, 12 / 16, 7 / 16])
    assert kept.loc["c", delta].isna().all() and kept.loc["c", "lst_mean_k"] == 300.0
    assert kept.loc["b", "lst_anomaly_mean_k"] == pytest.approx(5 / 3, rel=1e-6)
    assert kept["low_clear_area"].tolist() == [True, False, True]


def _pieces_with_water(without_water: bool) -> dict:
    """Pass 2 of one 4 x 4 zone: a row of land-cover water (class 1) whose LST reads 290 K
    (the Landsat QA said land), 300 K and n_clear 5 on the 12 built pixels (class 4), n_clear 9
    on the water; the whole zone is the urban footprint."""
    grid = GeoBox((4, 4), from_origin(600_000.0, 5_400_000.0, 10.0, 10.0), CRS)
    classes = np.full((4, 4), 4, dtype=np.uint8)
    classes[0] = 1
    lst = np.where(classes == 1, 290.0, 300.0).astype(np.float32)
    n_clear = np.where(classes == 1, 9, 5).astype(np.uint8)
    frame = gpd.GeoDataFrame(
        {"code": ["a"]}, geometry=[box(600_000.0, 5_399_960.0, 600_040.0, 5_400_000.0)], crs=CRS
    )
    layer = run_tiles.zone_layer("iris", frame, "code", grid, "exact")
    coords = xr_coords(grid, crs_coord_name="spatial_ref")
    layers = {name: (("y", "x"), lst) for name in run_tiles.ZONE_LAYERS}
    del layers["lst_zscore"], layers["albedo_median"]
    layers["n_clear"] = (("y", "x"), n_clear)
    rasters = xr.Dataset({**layers, "landcover": (("y", "x"), classes)}, coords=coords)
    urban = xr.DataArray(np.ones((4, 4), bool), dims=("y", "x"), coords=coords)
    (tile,) = run_tiles.tiles_of(grid, 4096)
    pieces = run_tiles.tile_pieces(rasters, [layer], tile, {"urban": urban}, without_water)
    pieces["tables"] = run_tiles._tables(layer, pieces["partials"]["iris"])
    return pieces


@pytest.mark.parametrize("without_water", [True, False])
def test_water_of_the_land_cover_leaves_the_lst_rasters_and_zone_statistics(without_water):
    """Water left out of the LST (science.md §1.3): a pixel the land cover calls water has no
    LST in the rasters, the zone means nor the composite SUHII sums, and the zone's n_clear
    mean is over its land; mask.lst_keep_water (``without_water`` false) keeps it all.
    Hand values: 12 land pixels at 300 K and 5 clear dates, 4 water ones at 290 K and 9."""
    pieces = _pieces_with_water(without_water)
    rasters, (table, _) = pieces["rasters"], pieces["tables"]
    water_lst = rasters["lst_anomaly"][0]
    sums = pieces["composite_sums"]["lst_median"]
    if without_water:
        assert np.isnan(water_lst).all() and np.isnan(rasters["lst_median"][0]).all()
        assert table.loc[0, "lst_median_mean"] == pytest.approx(300.0)
        assert table.loc[0, "lst_anomaly_mean"] == pytest.approx(300.0)
        assert table.loc[0, "n_clear_mean"] == pytest.approx(5.0)
        assert (sums["urban_total"], sums["urban_count"]) == (pytest.approx(3600.0), 12)
    else:
        assert (water_lst == 290.0).all()
        assert table.loc[0, "lst_median_mean"] == pytest.approx((12 * 300 + 4 * 290) / 16)
        assert table.loc[0, "n_clear_mean"] == pytest.approx((12 * 5 + 4 * 9) / 16)
        assert sums["urban_count"] == 16
    assert (rasters["n_clear"][0] == 9).all()  # the raster counts the QA's clear dates
    assert (rasters["ndvi_median"][0] == 290.0).all()  # only the LST rasters lose water


@pytest.mark.parametrize("own", [True, False])
def test_rasters_handed_to_pass_2_lose_water_in_place(own):
    """A one-piece run hands pass 2 its NumPy rasters (``own``): the LST rasters lose the
    land cover's water in those arrays, no second copy of each; else the caller's arrays are
    left as they were. Hand values: a row of water (class 1) at 290 K, land at 300 K."""
    grid = GeoBox((4, 4), from_origin(600_000.0, 5_400_000.0, 10.0, 10.0), CRS)
    classes = np.full((4, 4), 4, dtype=np.uint8)
    classes[0] = 1
    layers = {
        name: (("y", "x"), np.where(classes == 1, 290.0, 300.0).astype(np.float32))
        for name in ("lst_median", "lst_anomaly", "ndvi_median", "n_clear")
    }
    coords = xr_coords(grid, crs_coord_name="spatial_ref")
    rasters = xr.Dataset({**layers, "landcover": (("y", "x"), classes)}, coords=coords)
    frame = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(*grid.boundingbox)], crs=CRS)
    layer = run_tiles.zone_layer("iris", frame, "code", grid, "exact")
    (tile,) = run_tiles.tiles_of(grid, 4096)
    pieces = run_tiles.tile_pieces(rasters, [layer], tile, None, True, own)["rasters"]
    for name in ("lst_median", "lst_anomaly"):
        given = rasters[name].values
        assert np.isnan(pieces[name][0]).all() and (pieces[name][1:] == 300.0).all()
        assert np.shares_memory(pieces[name], given) == own
        assert np.isnan(given[0]).all() == own
    assert (rasters["ndvi_median"].values[0] == 290.0).all()  # only the LST rasters
    assert (pieces["ndvi_median"][0] == 290.0).all() and (pieces["n_clear"][0] == 290.0).all()


def test_pass_0_batches_tiles_to_give_every_worker_a_chunk():
    """On 4 threads, tiles of one chunk are computed 4 at a time, tiles of 4 or 16 chunks one
    at a time; on 8 threads, tiles of 4 chunks 2 at a time (the series' chunks over time do
    not count: the work is per grid chunk)."""
    import dask

    def pieces(chunks):
        return {"ndvi": da.zeros((512, 512), chunks=512 // chunks),
                "series": da.zeros((3, 512, 512), chunks=(1, 64, 64))}  # fmt: skip

    with dask.config.set(num_workers=4):
        assert run_tiles._workers() == 4
        assert [run_tiles._batch_size(pieces(n)) for n in (1, 2, 3)] == [4, 1, 1]
    with dask.config.set(num_workers=8):
        assert run_tiles._batch_size(pieces(2)) == 2


def test_discarded_checkpoints_say_what_changed_in_words(tmp_path):
    """Checkpoints of another run are discarded with one warning naming what changed."""
    grid = GeoBox((400, 400), from_origin(600_000.0, 5_400_000.0, 30.0, 30.0), CRS)
    tile = run_tiles.tiles_of(grid, 150)[0]
    first = {"checkpoint_format": 7, "ilots": "1.0", "config": "a", "grid": [1],
             "tile_size": 150, "items": ["x"], "files": [["b10.tif", 1, 2]]}  # fmt: skip
    run_tiles.checkpoints(tmp_path, first, 150).save("tile", tile, None)
    later = {**first, "tile_size": 300, "files": [["b10.tif", 1, 3]], "ilots": "1.1"}
    with pytest.warns(IlotsWarning) as caught:
        store = run_tiles.checkpoints(tmp_path, later, 300)
    assert [w.message.code for w in caught] == ["discarded_checkpoints"]
    assert "(made with another ilots version, tile size, inputs)" in str(caught[0].message)
    assert not store.done("tile", tile)
    assert run_tiles.recorded_tile_size(tmp_path, later) == 300
    assert run_tiles.recorded_tile_size(tmp_path, first) is None


class _Killed(BaseException):
    """The process killed (``kill -9``): nothing after it runs in the removal."""


def _finished_checkpoints(folder):
    """Checkpoints of a run in 4 tiles, each marked done with two pieces."""
    grid = GeoBox((300, 300), from_origin(600_000.0, 5_400_000.0, 30.0, 30.0), CRS)
    tiles = run_tiles.tiles_of(grid, 150)
    store = run_tiles.checkpoints(folder, {"config": "a"}, 150)
    for tile in tiles:
        store.save_arrays("inputs", tile, {"lst": np.ones((2, 2)), "ndvi": np.ones((2, 2))})
        store.save("inputs", tile, None, {"inputs": ["lst", "ndvi"]})
    return tiles


def _killed_half_way(path, ignore_errors=False):
    """``shutil.rmtree`` killed once it removed every other raster piece."""
    for piece in sorted(Path(path).glob("*.npy"))[::2]:
        piece.unlink()
    raise _Killed


def test_checkpoints_removed_half_way_are_not_taken_for_a_resumable_run(tmp_path, monkeypatch):
    """Killed while it removes a finished run's checkpoints, a run leaves none that look
    resumable (they were renamed first), and the next run's sweep removes what is left."""
    from pipelines.outputs.lock import sweep_temporaries

    tiles = _finished_checkpoints(tmp_path)
    monkeypatch.setattr(shutil, "rmtree", _killed_half_way)
    with pytest.raises(_Killed):
        run_tiles.remove_checkpoints(tmp_path)
    monkeypatch.undo()
    assert not (tmp_path / run_tiles.CHECKPOINT_DIR).exists()
    assert run_tiles.resumable_tiles(tmp_path, {"config": "a"}, tiles, 150) == 0
    sweep_temporaries(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_that_cannot_be_renamed_lose_their_marks_first(tmp_path, monkeypatch):
    """Where the checkpoint folder cannot be renamed (a file open on Windows), the tiles'
    marks are removed before their pieces: killed meanwhile, no tile is left marked done."""
    tiles = _finished_checkpoints(tmp_path)

    def held(self, target):
        raise PermissionError(13, "in use", str(self))

    monkeypatch.setattr(Path, "rename", held)
    monkeypatch.setattr(shutil, "rmtree", _killed_half_way)
    with pytest.raises(_Killed):
        run_tiles.remove_checkpoints(tmp_path)
    monkeypatch.undo()
    left = tmp_path / run_tiles.CHECKPOINT_DIR
    assert not list(left.glob("*.pkl")) and list(left.glob("*.npy"))
    assert run_tiles.resumable_tiles(tmp_path, {"config": "a"}, tiles, 150) == 0


def test_checkpoints_record_whether_their_run_is_on_a_cluster(tmp_path, monkeypatch):
    """What an error about a checkpoint says once the run has ended (its client closed)."""
    for cluster in (True, False):
        monkeypatch.setattr(run_tiles, "on_cluster", lambda config=None, c=cluster: c)
        run_tiles.checkpoints(tmp_path, {"config": "a"}, 150)
        assert run_tiles.opened_on_cluster() is cluster
