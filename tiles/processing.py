"""Processing tiles: split a large analysis grid into pieces that are computed one at a time.

A run over an area larger than a configurable size is cut into square tiles aligned to the
grid (and to the output blocks). Each tile's results are checkpointed under a folder as soon
as they are done, so a run that crashes resumes from the finished tiles; because every
per-tile result is mergeable (zonal partials) or spatially disjoint (raster pieces), a run
in tiles gives the same numbers as a run in one piece.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox

from tiles.errors import GridError

__all__ = ["NpyRegions", "Tile", "TileCheckpoints", "processing_tiles"]


@dataclass(frozen=True)
class Tile:
    """One processing tile: its position in the tile grid and its window of the full grid.

    Attributes
    ----------
    index
        ``(tile_row, tile_col)``.
    rows, cols
        Slices of the full grid covered by the tile.
    geobox
        The tile's own grid (a window of the full grid: same CRS, resolution and alignment).
    """

    index: tuple[int, int]
    rows: slice
    cols: slice
    geobox: GeoBox

    @property
    def name(self) -> str:
        """Stable name used for checkpoint files, e.g. ``tile_003_001``."""
        return f"tile_{self.index[0]:03d}_{self.index[1]:03d}"


def processing_tiles(geobox: GeoBox, tile_size: int, block: int = 512) -> list[Tile]:
    """Cut a grid into square tiles of ``tile_size`` pixels (a multiple of ``block``).

    Parameters
    ----------
    geobox
        The full analysis grid.
    tile_size
        Tile edge in pixels; rounded up to a multiple of ``block`` so tiles map to whole
        output blocks. A grid smaller than one tile gives one tile.
    block
        Output block size in pixels.

    Returns
    -------
    Tiles in row-major order; edge tiles are smaller.
    """
    if tile_size <= 0 or block <= 0:
        raise GridError(f"tile size must be a positive number of pixels, got {tile_size}")
    edge = -(-tile_size // block) * block
    ny, nx = geobox.shape.yx
    tiles = []
    for i, r0 in enumerate(range(0, ny, edge)):
        for j, c0 in enumerate(range(0, nx, edge)):
            rows, cols = slice(r0, min(r0 + edge, ny)), slice(c0, min(c0 + edge, nx))
            tiles.append(Tile((i, j), rows, cols, geobox[rows, cols]))
    return tiles


class TileCheckpoints:
    """Finished tiles' results on disk, written atomically, keyed by a run fingerprint.

    A checkpoint is the pickled result of one tile (zonal partials, small per-scene sums),
    written under a temporary name and renamed, so a tile is either wholly done or absent;
    raster pieces are ``.npy`` files beside it (:meth:`save_arrays`), memory-mapped when read
    back so a mosaic never needs every tile in memory at once. The fingerprint (a hash of
    whatever defines the run: config, inputs, grid) is stored beside them; checkpoints of
    another run are never reused.

    Parameters
    ----------
    folder
        Where the checkpoints live (created).
    fingerprint
        JSON-serialisable description of the run; any change invalidates the checkpoints.
    """

    def __init__(self, folder: str | os.PathLike[str], fingerprint: Any) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(fingerprint, sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]
        stamp = self.folder / "fingerprint.json"
        if stamp.exists() and json.loads(stamp.read_text()).get("key") != self.key:
            for old in (*self.folder.glob("*.pkl"), *self.folder.glob("*.npy")):
                old.unlink()
        _atomic_write(stamp, json.dumps({"key": self.key}).encode())

    def _path(self, stage: str, tile: Tile) -> Path:
        return self.folder / f"{stage}.{tile.name}.pkl"

    def done(self, stage: str, tile: Tile) -> bool:
        """Whether ``stage`` of ``tile`` has a checkpoint."""
        return self._path(stage, tile).exists()

    def save(self, stage: str, tile: Tile, result: Any) -> None:
        """Checkpoint the result of ``stage`` for ``tile`` (atomic)."""
        _atomic_write(self._path(stage, tile), pickle.dumps(result, pickle.HIGHEST_PROTOCOL))

    def load(self, stage: str, tile: Tile) -> Any:
        """Read a checkpoint written by :meth:`save` (this run's own files only)."""
        with open(self._path(stage, tile), "rb") as src:
            return pickle.load(src)  # our own checkpoint, same run fingerprint

    def save_arrays(self, stage: str, tile: Tile, arrays: Mapping[str, np.ndarray]) -> None:
        """Checkpoint raster pieces as one ``.npy`` file each (atomic per file).

        Write them before the tile's :meth:`save`, whose file marks the tile done.
        """
        for name, array in arrays.items():
            with (
                _staged(self._array_path(stage, tile.name, name)) as staging,
                open(staging, "wb") as out,
            ):
                # Straight into the file: no in-memory copy of a tile-sized array.
                np.save(out, np.ascontiguousarray(array), allow_pickle=False)

    @contextlib.contextmanager
    def array_targets(
        self, stage: str, pieces: Mapping[tuple[str, str], tuple[tuple[int, ...], Any]]
    ) -> Iterator[dict[tuple[str, str], NpyRegions]]:
        """Yield writable raster pieces to fill, by ``(tile name, piece name)``: shape, dtype.

        ``.npy`` files under temporary names that a computation streams its chunks into
        (:func:`dask.array.store`, from any worker that sees this folder); renamed into place
        (what :meth:`load_array` reads) when the block ends without error, else removed.
        """
        final = {key: self._array_path(stage, *key) for key in pieces}
        staging = {
            key: p.with_name(f".{p.name}.{uuid.uuid4().hex}.tmp") for key, p in final.items()
        }
        try:
            for key, (shape, dtype) in pieces.items():
                np.lib.format.open_memmap(staging[key], "w+", np.dtype(dtype), tuple(shape))
            yield {key: NpyRegions(path) for key, path in staging.items()}
            for key, path in staging.items():
                os.replace(path, final[key])
        finally:
            for path in staging.values():
                path.unlink(missing_ok=True)

    def load_array(self, stage: str, tile: Tile, name: str) -> np.ndarray:
        """Memory-map a raster piece written by :meth:`save_arrays` (read-only)."""
        return np.load(self._array_path(stage, tile.name, name), mmap_mode="r", allow_pickle=False)

    def _array_path(self, stage: str, tile_name: str, name: str) -> Path:
        return self.folder / f"{stage}.{tile_name}.{name}.npy"

    def finished(self, stage: str, tiles: list[Tile]) -> Iterator[Tile]:
        """Yield the tiles of ``tiles`` whose ``stage`` is checkpointed."""
        return (t for t in tiles if self.done(stage, t))


@dataclass(frozen=True)
class NpyRegions:
    """An ``.npy`` file written region by region (``target[region] = values``).

    Each write memory-maps the file, so the writer can be sent to another process (a Dask
    worker) and write the same file, which a pickled memory map would not (it is copied).
    """

    path: Path

    def __setitem__(self, region: Any, values: np.ndarray) -> None:
        target = np.load(self.path, mmap_mode="r+", allow_pickle=False)
        target[region] = values
        target.flush()


def _atomic_write(path: Path, data: bytes) -> None:
    with _staged(path) as staging:
        staging.write_bytes(data)


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; renamed onto it if the block ends well."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
