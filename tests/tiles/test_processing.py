import errno
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from odc.geo.geom import BoundingBox

from tiles.errors import GridError, IlotsWarning
from tiles.grid import analysis_geobox
from tiles.processing import TileCheckpoints, processing_tiles, tile_spans


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


def test_a_narrow_remainder_of_the_grid_widens_the_tile_before_it():
    # The demo grid at 4 m, 4101 pixels a side, was 4 tiles of 4096: 4096², 5 x 4096,
    # 4096 x 5 and 5 x 5 pixels. A remainder narrower than 4096 / 8 = 512 pixels joins the
    # tile before it; 512 or more is a tile of its own.
    square = processing_tiles(_grid(4101, 4101), 4096)
    assert [(t.rows, t.cols) for t in square] == [(slice(0, 4101), slice(0, 4101))]
    wide = processing_tiles(_grid(4101, 4608), 4096)
    assert [(t.index, t.rows, t.cols) for t in wide] == [
        ((0, 0), slice(0, 4101), slice(0, 4096)),
        ((0, 1), slice(0, 4101), slice(4096, 4608)),
    ]
    assert tile_spans(4607, 4096) == [(0, 4607)]  # 511 left
    assert tile_spans(8703, 4096) == [(0, 4096), (4096, 8703)]  # 8703 - 8192 = 511 left
    assert tile_spans(8704, 4096) == [(0, 4096), (4096, 8192), (8192, 8704)]  # 512 left
    assert tile_spans(300, 4096) == [(0, 300)]


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


# --- what a crash, a kill or a full disk leaves -----------------------------------------------


def _failing_fallocate(code):
    def fallocate(fd, offset, length):
        raise OSError(code, os.strerror(code))

    return fallocate


def _write_piece(store, tile, how, shape=(64, 256)):
    """Checkpoint one float32 raster piece of ``tile`` the way ``how`` says."""
    values = np.ones(shape, dtype="float32")
    if how == "save_arrays":
        store.save_arrays("inputs", tile, {"lst": values})
    else:
        with store.array_targets("inputs", {(tile.name, "lst"): (shape, "float32")}) as targets:
            targets[(tile.name, "lst")][:, :] = values


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate")
def test_array_targets_are_not_sparse(tmp_path):
    """The pieces written through memory maps have their space on disk before any write
    (a sparse file on a full disk: SIGBUS, no message)."""
    tile = processing_tiles(_grid(100, 100), 512)[0]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    shape = (1000, 1000)
    with store.array_targets("inputs", {(tile.name, "lst"): (shape, "float32")}):
        (staging,) = tmp_path.glob(".*.tmp")
        assert staging.stat().st_blocks * 512 >= 4 * 1000 * 1000


@pytest.mark.parametrize("how", ["array_targets", "save_arrays"])
def test_a_full_disk_is_an_error_naming_the_checkpoint(tmp_path, monkeypatch, how):
    tile = processing_tiles(_grid(100, 100), 512)[0]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    monkeypatch.setattr(os, "posix_fallocate", _failing_fallocate(errno.ENOSPC), raising=False)
    with pytest.raises(OSError, match=r"inputs\.tile_000_000\.lst\.npy") as caught:
        _write_piece(store, tile, how)
    assert caught.value.errno == errno.ENOSPC
    assert not list(tmp_path.glob("*.npy")) and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("how", ["array_targets", "save_arrays"])
def test_file_systems_without_fallocate_still_take_checkpoints(tmp_path, monkeypatch, how):
    tile = processing_tiles(_grid(100, 100), 512)[0]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    monkeypatch.setattr(os, "posix_fallocate", _failing_fallocate(errno.EOPNOTSUPP), raising=False)
    _write_piece(store, tile, how)
    np.testing.assert_array_equal(store.load_array("inputs", tile, "lst"), np.ones((64, 256)))


def test_a_short_write_of_a_checkpoint_says_its_errno(tmp_path, monkeypatch, file_size_limit):
    """Where space cannot be reserved, a write cut short by the disk says why (NumPy's
    tofile said "requested and written" without an errno, which the CLI could not tell)."""
    tile = processing_tiles(_grid(100, 100), 512)[0]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    monkeypatch.setattr(os, "posix_fallocate", _failing_fallocate(errno.EOPNOTSUPP), raising=False)
    with (
        file_size_limit(16384),
        pytest.raises(OSError, match=r"inputs\.tile_000_000\.lst\.npy") as caught,
    ):
        _write_piece(store, tile, "save_arrays")  # 64 KiB
    assert caught.value.errno == errno.EFBIG
    assert not list(tmp_path.glob("*.npy")) and not list(tmp_path.glob(".*tmp"))


def test_checkpoints_reach_the_disk_before_their_rename(tmp_path, monkeypatch):
    """Each checkpoint file is flushed (fsync) before it is renamed into place, so a power
    cut never leaves an empty checkpoint under its final name."""
    tiles = processing_tiles(_grid(1200, 700), 512)
    flushed, renamed = set(), []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        flushed.add(os.fstat(fd).st_ino)
        fsync(fd)

    def spy_replace(src, dst):
        renamed.append((Path(dst).name, os.stat(src).st_ino in flushed))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    store = TileCheckpoints(tmp_path, {"config": "a"})
    _write_piece(store, tiles[0], "save_arrays")
    _write_piece(store, tiles[1], "array_targets")
    store.save("inputs", tiles[0], None)
    assert sorted(renamed) == [
        ("fingerprint.json", True),
        ("inputs.tile_000_000.lst.npy", True),
        ("inputs.tile_000_000.pkl", True),
        ("inputs.tile_000_001.lst.npy", True),
    ]


def test_temporary_files_of_a_killed_run_are_removed(tmp_path):
    left = [
        tmp_path / f".inputs.tile_000_000.lst.npy.{'a' * 32}.tmp",  # array_targets's
        tmp_path / f".tile.tile_000_001.pkl.{'b' * 32}.tmp",  # save's
    ]
    for path in left:
        path.write_bytes(b"\0" * 10)
    (tmp_path / "notes.txt").write_text("kept")
    TileCheckpoints(tmp_path, {"config": "a"})
    assert not any(path.exists() for path in left)
    assert (tmp_path / "notes.txt").read_text() == "kept"


def test_damaged_checkpoints_are_removed_and_their_tiles_computed_anew(tmp_path):
    """An empty pickle or a truncated piece (a crash before the data reached the disk) makes
    its tile not done, with one warning naming the files; the other tiles are kept."""
    tiles = processing_tiles(_grid(1200, 1200), 512)[:3]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    for tile in tiles:
        _write_piece(store, tile, "save_arrays")
        store.save("inputs", tile, None)
        store.save("tile", tile, {"sum": 1.0})
    (tmp_path / f"tile.{tiles[0].name}.pkl").write_bytes(b"")
    piece = tmp_path / f"inputs.{tiles[1].name}.lst.npy"
    piece.write_bytes(piece.read_bytes()[:1000])
    with pytest.warns(IlotsWarning) as caught:
        again = TileCheckpoints(tmp_path, {"config": "a"})
    assert len(caught) == 1 and caught[0].message.code == "damaged_checkpoint"
    said = str(caught[0].message)
    assert f"tile.{tiles[0].name}.pkl" in said and f"inputs.{tiles[1].name}.lst.npy" in said
    for stage in ("inputs", "tile"):
        assert [t.name for t in again.finished(stage, tiles)] == [tiles[2].name]
    assert not piece.exists()
    assert again.load("tile", tiles[2]) == {"sum": 1.0}


def test_a_checkpoint_whose_piece_is_missing_is_not_done(tmp_path, caplog):
    """A run killed while it removed its checkpoints leaves tiles marked done without some
    of their pieces: those stages are not done (computed anew, logged), the others are."""
    tiles = processing_tiles(_grid(1200, 1200), 512)[:3]
    store = TileCheckpoints(tmp_path, {"config": "a"})
    for tile in tiles:
        store.save_arrays("inputs", tile, {"lst": np.ones((2, 2)), "ndvi": np.zeros((2, 2))})
        store.save("inputs", tile, None, {"inputs": ["lst", "ndvi"]})
        store.save("tile", tile, {"sum": 1.0})  # needs no piece
    (tmp_path / f"inputs.{tiles[1].name}.ndvi.npy").unlink()
    assert not store.done("inputs", tiles[1])
    assert not TileCheckpoints.resumable(tmp_path, "inputs", tiles[1])
    assert TileCheckpoints.resumable(tmp_path, "inputs", tiles[0])
    with caplog.at_level("INFO", logger="tiles.processing"):
        again = TileCheckpoints(tmp_path, {"config": "a"})
    assert [t.name for t in again.finished("inputs", tiles)] == [tiles[0].name, tiles[2].name]
    assert [t.name for t in again.finished("tile", tiles)] == [t.name for t in tiles]
    assert not (tmp_path / f"inputs.{tiles[1].name}.pkl").exists()
    said = [r.getMessage() for r in caplog.records if r.name == "tiles.processing"]
    assert len(said) == 1 and "missing (left by a run killed while it removed its" in said[0]
    assert f": inputs.{tiles[1].name}.pkl; those stages" in said[0]
    assert again.load("tile", tiles[1]) == {"sum": 1.0}
    np.testing.assert_array_equal(again.load_array("inputs", tiles[0], "lst"), np.ones((2, 2)))


def test_a_damaged_fingerprint_discards_every_checkpoint(tmp_path):
    tile = processing_tiles(_grid(100, 100), 512)[0]
    TileCheckpoints(tmp_path, {"config": "a"}).save("tile", tile, {"sum": 1.0})
    (tmp_path / "fingerprint.json").write_bytes(b"")
    with pytest.warns(IlotsWarning, match="fingerprint.json is damaged") as caught:
        again = TileCheckpoints(tmp_path, {"config": "a"})
    assert caught[0].message.code == "damaged_checkpoint"
    assert not again.done("tile", tile) and again.discarded is None


def test_discarded_checkpoints_say_what_changed(tmp_path):
    tile = processing_tiles(_grid(100, 100), 512)[0]
    first = {"config": "a", "grid": [1, 2], "ilots": "1.0"}
    store = TileCheckpoints(tmp_path, first)
    assert store.discarded is None  # nothing there before
    store.save("tile", tile, None)
    assert TileCheckpoints(tmp_path, first).discarded is None  # kept
    other = {**first, "config": "b", "ilots": "1.1"}
    assert TileCheckpoints(tmp_path, other).discarded == ("config", "ilots")
    assert TileCheckpoints(tmp_path, first).discarded is None  # nothing left to discard


def test_settings_are_recorded_with_the_checkpoints_of_their_fingerprint(tmp_path):
    TileCheckpoints(tmp_path, {"config": "a"}, settings={"tile_size_px": 1024})
    assert TileCheckpoints.recorded_settings(tmp_path, {"config": "a"}) == {"tile_size_px": 1024}
    assert TileCheckpoints.recorded_settings(tmp_path, {"config": "b"}) == {}
    assert TileCheckpoints.recorded_settings(tmp_path / "none", {"config": "a"}) == {}


def test_other_settings_than_recorded_discard_the_checkpoints(tmp_path):
    """Checkpoints made in tiles of another (automatic) size are never mixed with these."""
    tile = processing_tiles(_grid(100, 100), 512)[0]
    TileCheckpoints(tmp_path, {"config": "a"}, {"tile_size_px": 512}).save("tile", tile, None)
    again = TileCheckpoints(tmp_path, {"config": "a"}, {"tile_size_px": 1024})
    assert again.discarded == ("tile_size_px",) and not again.done("tile", tile)
