import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from odc.geo.geom import BoundingBox

from tiles.errors import GridError
from tiles.grid import analysis_geobox
from tiles.processing import TileCheckpoints, processing_tiles


def _grid(ny, nx):
    box = BoundingBox(600000, 5400000 - ny * 30, 600000 + nx * 30, 5400000, crs="EPSG:32631")
    return analysis_geobox(box, resolution=30, crs="EPSG:32631")


@given(ny=st.integers(1, 3000), nx=st.integers(1, 3000), size=st.integers(1, 2000))
def test_tiles_partition_the_grid(ny, nx, size):
    gbox = _grid(ny, nx)
    tiles = processing_tiles(gbox, size)
    covered = np.zeros((ny, nx), dtype=np.int8)
    for tile in tiles:
        covered[tile.rows, tile.cols] += 1
        assert tile.geobox.shape.yx == (tile.rows.stop - tile.rows.start,
                                         tile.cols.stop - tile.cols.start)  # fmt: skip
        # A tile's grid is the window of the full grid: same pixels, same alignment.
        assert tile.geobox.affine.a == 30 and tile.geobox.affine.e == -30
        assert tile.geobox.affine.c == gbox.affine.c + 30 * tile.cols.start
        assert tile.geobox.affine.f == gbox.affine.f - 30 * tile.rows.start
        assert (tile.rows.stop - tile.rows.start) % 512 == 0 or tile.rows.stop == ny
    assert (covered == 1).all()


def test_bad_tile_size():
    with pytest.raises(GridError, match="tile size"):
        processing_tiles(_grid(10, 10), 0)


def test_checkpoints_roundtrip_and_invalidation(tmp_path):
    tiles = processing_tiles(_grid(1200, 700), 512)
    store = TileCheckpoints(tmp_path, {"config": "a", "inputs": [1, 2]})
    assert not store.done("zonal", tiles[0])
    store.save("zonal", tiles[0], {"sum": np.arange(3.0)})
    assert store.done("zonal", tiles[0]) and not store.done("zonal", tiles[1])
    np.testing.assert_array_equal(store.load("zonal", tiles[0])["sum"], np.arange(3.0))
    assert [t.name for t in store.finished("zonal", tiles)] == [tiles[0].name]
    # Same run: checkpoints kept.
    assert TileCheckpoints(tmp_path, {"inputs": [1, 2], "config": "a"}).done("zonal", tiles[0])
    # Another run: checkpoints dropped.
    assert not TileCheckpoints(tmp_path, {"config": "b", "inputs": [1, 2]}).done("zonal", tiles[0])
    assert not list(tmp_path.glob(".*tmp"))


def test_raster_pieces_roundtrip_memory_mapped_and_invalidated(tmp_path):
    tiles = processing_tiles(_grid(1200, 700), 512)
    store = TileCheckpoints(tmp_path, {"config": "a"})
    lst = np.arange(12, dtype="float32").reshape(3, 4)
    classes = np.asfortranarray(np.eye(3, dtype="uint8"))
    store.save_arrays("raster", tiles[1], {"lst": lst, "classes": classes})
    back = store.load_array("raster", tiles[1], "lst")
    assert isinstance(back, np.memmap) and not back.flags.writeable
    np.testing.assert_array_equal(back, lst)
    np.testing.assert_array_equal(store.load_array("raster", tiles[1], "classes"), classes)
    assert store.load_array("raster", tiles[1], "classes").dtype == np.uint8
    assert not list(tmp_path.glob(".*tmp"))
    TileCheckpoints(tmp_path, {"config": "b"})  # another run: pieces dropped too
    assert not list(tmp_path.glob("*.npy"))


def test_array_targets_are_filled_by_regions_and_kept_only_when_whole(tmp_path):
    """Pieces streamed region by region (as dask.array.store does, from any process: the
    writer is pickled) are renamed into place when the block ends; an error removes them."""
    import pickle

    import dask.array as da

    tiles = processing_tiles(_grid(1200, 700), 512)
    store = TileCheckpoints(tmp_path, {"config": "a"})
    values = np.arange(2 * 5 * 7, dtype="float32").reshape(2, 5, 7)
    pieces = {
        (tiles[0].name, "lst"): ((2, 5, 7), "float32"),
        (tiles[1].name, "lst"): ((2, 3, 7), "float32"),
    }
    with store.array_targets("inputs", pieces) as targets:
        assert not list(tmp_path.glob("*.npy"))  # nothing in place before the end
        da.store(da.from_array(values, chunks=(1, 2, 4)), targets[(tiles[0].name, "lst")])
        copy = pickle.loads(pickle.dumps(targets[(tiles[1].name, "lst")]))  # another process
        copy[:, :, :] = values[:, :3] * 2
    np.testing.assert_array_equal(store.load_array("inputs", tiles[0], "lst"), values)
    np.testing.assert_array_equal(store.load_array("inputs", tiles[1], "lst"), values[:, :3] * 2)
    with pytest.raises(RuntimeError, match="stopped"):
        with store.array_targets("inputs", {(tiles[2].name, "lst"): ((1, 1), "uint8")}):
            raise RuntimeError("stopped")
    assert not (tmp_path / f"inputs.{tiles[2].name}.lst.npy").exists()
    assert not list(tmp_path.glob(".*tmp"))
