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
