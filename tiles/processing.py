"""Processing tiles: split a large analysis grid into pieces that are computed one at a time.

A run over an area larger than a configurable size is cut into square tiles aligned to the
grid (and to the output blocks). Each tile's results are checkpointed under a folder as soon
as they are done, so a run that crashes resumes from the finished tiles; because every
per-tile result is mergeable (zonal partials) or spatially disjoint (raster pieces), a run
in tiles gives the same numbers as a run in one piece.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import pickle
import uuid
import warnings
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from odc.geo.geobox import GeoBox

from tiles.errors import GridError, IlotsWarning

__all__ = [
    "FOLD_SHARE",
    "NpyRegions",
    "Tile",
    "TileCheckpoints",
    "processing_tiles",
    "save_npy",
    "tile_spans",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Along each axis, what is left of the grid after its whole tiles is a tile of its own
#: unless it is narrower than this share of the tile edge: then it widens the tile before
#: it. A 4,101-pixel grid in 4,096-pixel tiles was 4 tiles, of 4,096², 5 x 4,096, 4,096 x 5
#: and 5 x 5 pixels, each with a tile's fixed work (inputs read, halos), for 1.3 % more of
#: the grid (and a larger expected peak than in one piece); it is one piece. The tile before
#: a remainder grows by less than this share (its pixels by less than 27 %).
FOLD_SHARE = 1 / 8


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
    Tiles in row-major order; the last tiles of a row or column end at the grid's edge
    (:func:`tile_spans`): smaller, or wider by a remainder narrower than
    :data:`FOLD_SHARE` of the edge.
    """
    if tile_size <= 0 or block <= 0:
        raise GridError(f"tile size must be a positive number of pixels, got {tile_size}")
    edge = -(-tile_size // block) * block
    ny, nx = geobox.shape.yx
    tiles = []
    for i, (r0, r1) in enumerate(tile_spans(ny, edge)):
        for j, (c0, c1) in enumerate(tile_spans(nx, edge)):
            rows, cols = slice(r0, r1), slice(c0, c1)
            tiles.append(Tile((i, j), rows, cols, geobox[rows, cols]))
    return tiles


def tile_spans(length: int, edge: int) -> list[tuple[int, int]]:
    """Cut ``length`` pixels of one axis into tiles of ``edge``: ``(start, stop)`` of each.

    What is left after the whole tiles is the last tile, or, narrower than
    :data:`FOLD_SHARE` of ``edge``, part of the tile before it: 4,101 pixels in tiles of
    4,096 are one tile, ``[(0, 4101)]``; 4,700 are two, ``[(0, 4096), (4096, 4700)]``.
    """
    starts = list(range(0, length, edge))
    if len(starts) > 1 and length - starts[-1] < FOLD_SHARE * edge:
        starts.pop()
    return list(zip(starts, [*starts[1:], length], strict=True))


class TileCheckpoints:
    """Finished tiles' results on disk, written atomically, keyed by a run fingerprint.

    A checkpoint is the pickled result of one tile (zonal partials, small per-scene sums),
    written under a temporary name, flushed to disk and renamed, so a tile is either wholly
    done or absent; raster pieces are ``.npy`` files beside it (:meth:`save_arrays`),
    memory-mapped when read back so a mosaic never needs every tile in memory at once; the
    checkpoint names those its tile needs, and while one is missing the tile is not done
    (:meth:`done`). Their space is reserved before they are written, so a full disk stops a
    run with an error (``ENOSPC``), never a crash. The fingerprint (a hash of whatever
    defines the run: config, inputs, grid) is stored beside them; checkpoints of another run
    are never reused.

    Opening the store cleans up what a killed or crashed run left: the temporary files of
    its unfinished writes, any checkpoint that cannot be read back (empty or truncated:
    the tile's checkpoints are removed, with an :class:`~tiles.errors.IlotsWarning`, and the
    tile is computed anew), and any checkpoint one of whose pieces is missing (a run killed
    while it removed its checkpoints: that stage of the tile is computed anew, which is
    logged). Open it only with the run folder held (the caller's lock), so that no live
    process is writing there.

    Parameters
    ----------
    folder
        Where the checkpoints live (created).
    fingerprint
        JSON-serialisable description of the run; any change invalidates the checkpoints.
        A mapping's top-level keys name what changed (:attr:`discarded`).
    settings
        JSON-serialisable values the run chose that its fingerprint leaves open (an
        automatic tile size), recorded so that a resumed run takes them again
        (:meth:`recorded_settings`); other values than those recorded with the same
        fingerprint invalidate the checkpoints too.

    Attributes
    ----------
    discarded
        The top-level keys of ``fingerprint`` (then of ``settings``) whose values differ
        from those of the run whose checkpoints were discarded on opening (empty when that
        run's are not known: written by an earlier ilots); ``None`` when no checkpoint was
        discarded for another run.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        fingerprint: Any,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = _digest(fingerprint)
        parts = _parts(fingerprint)
        self.discarded: tuple[str, ...] | None = None
        self._remove_temporaries()
        settings = dict(settings or {})
        stamp = _read_stamp(self.folder)
        if stamp is not None and (changed := _changes(stamp, self.key, parts, settings)):
            removed = self._remove(("*.pkl", "*.npy"))
            if removed and not stamp:
                self._warn_damaged(
                    f"removed the tile checkpoints in {self.folder}: their {_STAMP} is damaged "
                    f"({_DAMAGE}), so they cannot be told to be this run's; every tile is "
                    "computed anew"
                )
            elif removed:
                self.discarded = tuple(k for k in changed if k)
        self._remove_damaged()
        self._remove_incomplete()
        stamp = {"key": self.key, "parts": parts, "settings": settings}
        _atomic_write(self.folder / _STAMP, json.dumps(stamp).encode())

    @staticmethod
    def recorded_settings(folder: str | os.PathLike[str], fingerprint: Any) -> dict[str, Any]:
        """Return the ``settings`` recorded with the checkpoints of ``fingerprint`` in ``folder``.

        Empty when the folder holds no checkpoints of that fingerprint. Reads only.
        """
        stamp = _read_stamp(Path(folder))
        if stamp is None or stamp.get("key") != _digest(fingerprint):
            return {}
        settings = stamp.get("settings")
        return dict(settings) if isinstance(settings, dict) else {}

    def _remove(self, patterns: tuple[str, ...]) -> list[Path]:
        removed = [path for pattern in patterns for path in self.folder.glob(pattern)]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def _remove_temporaries(self) -> None:
        """Remove the temporary files of writes a killed run left unfinished (``.*.tmp``)."""
        self._remove((".*.tmp",))

    def _remove_damaged(self) -> None:
        """Remove the checkpoints that cannot be read back, and their tiles' other ones.

        An empty or truncated file (a crash before its data reached the disk, a full disk)
        makes its tile not done: each of its passes is computed anew.
        """
        damaged = [p for p in sorted(self.folder.glob("*.pkl")) if not _unpickles(p)]
        damaged += [p for p in sorted(self.folder.glob("*.npy")) if not _maps(p)]
        if not damaged:
            return
        tiles = sorted({path.name.split(".")[1] for path in damaged})
        for path in damaged:
            path.unlink(missing_ok=True)
        self._remove(tuple(f"*.{tile}.pkl" for tile in tiles))
        names = ", ".join(path.name for path in damaged[:_NAMED])
        names += f" and {len(damaged) - _NAMED} more" if len(damaged) > _NAMED else ""
        self._warn_damaged(
            f"removed damaged tile checkpoints in {self.folder} ({_DAMAGE}): {names}; "
            f"{len(tiles)} tile(s) computed anew"
        )

    def _remove_incomplete(self) -> None:
        """Remove the checkpoints one of whose pieces is missing: their stage is not done."""
        removed = [mark for mark in sorted(self.folder.glob("*.pkl")) if _missing_pieces(mark)]
        for mark in removed:
            mark.unlink(missing_ok=True)
        if removed:
            names = ", ".join(mark.name for mark in removed[:_NAMED])
            names += f" and {len(removed) - _NAMED} more" if len(removed) > _NAMED else ""
            logger.info(
                "removed tile checkpoints in %s whose pieces are missing (left by a run killed "
                "while it removed its checkpoints): %s; those stages of their tiles are "
                "computed anew",
                self.folder,
                names,
            )

    @staticmethod
    def _warn_damaged(message: str) -> None:
        warnings.warn(IlotsWarning(message, code="damaged_checkpoint"), stacklevel=4)

    def _path(self, stage: str, tile: Tile) -> Path:
        return self.checkpoint_path(self.folder, stage, tile)

    @staticmethod
    def checkpoint_path(folder: str | os.PathLike[str], stage: str, tile: Tile) -> Path:
        """Return the file of the checkpoint of ``stage`` for ``tile`` in ``folder``."""
        return Path(folder) / f"{stage}.{tile.name}.pkl"

    def done(self, stage: str, tile: Tile) -> bool:
        """Whether ``stage`` of ``tile`` has a checkpoint, and every piece it names exists."""
        return self.resumable(self.folder, stage, tile)

    @classmethod
    def resumable(cls, folder: str | os.PathLike[str], stage: str, tile: Tile) -> bool:
        """Whether ``stage`` of ``tile`` is done in the checkpoints in ``folder`` (reads only).

        Its checkpoint exists and every piece it names exists (see :meth:`done`); whether
        the checkpoints are of this run is the fingerprint's concern.
        """
        return _missing_pieces(cls.checkpoint_path(folder, stage, tile)) == []

    def save(
        self,
        stage: str,
        tile: Tile,
        result: Any,
        pieces: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Checkpoint the result of ``stage`` for ``tile`` (atomic): the stage is done.

        ``pieces`` names, by their stage, the raster pieces of the tile that this stage
        needs (written before, by :meth:`save_arrays` or :meth:`array_targets`): the stage
        of the tile is done only while they all exist.
        """
        names = [
            self._array_path(of, tile.name, name).name
            for of, named in (pieces or {}).items()
            for name in named
        ]
        header = pickle.dumps({"pieces": names}, pickle.HIGHEST_PROTOCOL)
        _atomic_write(
            self._path(stage, tile), header + pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        )

    def load(self, stage: str, tile: Tile) -> Any:
        """Read a checkpoint written by :meth:`save` (this run's own files only)."""
        with open(self._path(stage, tile), "rb") as src:
            pickle.load(src)  # the pieces it names; our own checkpoint, same run fingerprint
            return pickle.load(src)

    def save_arrays(self, stage: str, tile: Tile, arrays: Mapping[str, np.ndarray]) -> None:
        """Checkpoint raster pieces as one ``.npy`` file each (atomic per file).

        Write them before the tile's :meth:`save`, whose file marks the tile done.
        """
        for name, array in arrays.items():
            save_npy(self._array_path(stage, tile.name, name), array)

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
                # A sparse file: reserved, so that a full disk is an error here, not a crash
                # (SIGBUS) in a write through a memory map.
                with open(staging[key], "r+b") as out:
                    _reserve(out, os.fstat(out.fileno()).st_size, final[key])
            yield {key: NpyRegions(path) for key, path in staging.items()}
            for key, path in staging.items():
                _fsync(path)
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


#: The file holding the fingerprint's key in a checkpoint folder.
_STAMP = "fingerprint.json"

#: What a checkpoint that cannot be read back is, and what left it so.
_DAMAGE = "empty or truncated, left by a crash or a full disk"

#: How many damaged checkpoints a warning names.
_NAMED = 5

#: Errors of :func:`os.posix_fallocate` on a file system that cannot reserve space.
_NO_FALLOCATE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _parts(fingerprint: Any) -> dict[str, str]:
    """Digest of each top-level value of a mapping fingerprint (what changed is told by them)."""
    if not isinstance(fingerprint, Mapping):
        return {}
    return {str(key): _digest(value) for key, value in fingerprint.items()}


def _changes(
    stamp: Mapping[str, Any], key: str, parts: Mapping[str, str], settings: Mapping[str, Any]
) -> tuple[str, ...]:
    """Return what differs between the run a checkpoint folder's ``stamp`` is of and this one.

    The top-level keys of the fingerprint (``parts``) whose values changed, then those of
    the ``settings`` (recorded ones only); ``("",)`` when the fingerprint changed but which
    of its parts is not known (a stamp without them, or unreadable); empty when the same.
    """
    earlier = stamp.get("parts")
    earlier = earlier if isinstance(earlier, dict) else {}
    if stamp.get("key") != key:
        return tuple(k for k in parts if earlier and earlier.get(k) != parts[k]) or ("",)
    recorded = stamp.get("settings")
    recorded = recorded if isinstance(recorded, dict) else {}
    return tuple(k for k in settings if k in recorded and recorded[k] != settings[k])


def _read_stamp(folder: Path) -> dict[str, Any] | None:
    """Read the fingerprint file of a checkpoint folder: None if absent, ``{}`` if unreadable.

    An unreadable one (empty: a crash before it reached the disk) matches no run.
    """
    try:
        stamp = json.loads((folder / _STAMP).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _unpickles(path: Path) -> bool:
    """Whether a checkpoint can be read back, its pieces' names and result (any error: no)."""
    try:
        with open(path, "rb") as src:
            header = pickle.load(src)  # our own checkpoint
            pickle.load(src)
    except Exception:  # empty, truncated, unreadable: all mean not done
        return False
    return isinstance(header, dict) and isinstance(header.get("pieces"), list)


def _missing_pieces(mark: Path) -> list[str] | None:
    """Return the names of the pieces a checkpoint names that are missing beside it.

    None when the checkpoint is absent or cannot be read.
    """
    try:
        with open(mark, "rb") as src:
            names = pickle.load(src)["pieces"]  # our own checkpoint
        return [name for name in names if not (mark.parent / name).is_file()]
    except Exception:  # absent, or damaged (those are removed on opening)
        return None


def _maps(path: Path) -> bool:
    """Whether a raster piece can be memory-mapped as :meth:`TileCheckpoints.load_array` does."""
    try:
        np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception:  # a header cut short, data shorter than its shape says
        return False
    return True


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` as :func:`numpy.save` does, atomically (temporary name).

    A full disk raises ``OSError`` with ``errno.ENOSPC`` naming ``path`` (:func:`_write_npy`),
    where :func:`numpy.save` says "N requested and M written" without an ``errno``.
    """
    with _staged(path) as staging, open(staging, "wb") as out:
        _write_npy(out, np.ascontiguousarray(array), path)


def _write_npy(out: Any, array: np.ndarray, path: Path) -> None:
    """Write a C-contiguous ``array`` as ``.npy`` (as :func:`numpy.save`) into ``out``.

    Its space is reserved first (:func:`_reserve`); the data is written by Python's file
    I/O, whose errors carry their ``errno`` (a full disk is ``ENOSPC``), where NumPy's
    ``tofile`` reports a short write without one. No in-memory copy of the array.
    """
    header = np.lib.format.header_data_from_array_1_0(array)
    try:
        np.lib.format.write_array_header_1_0(out, header)
    except ValueError:  # a header too long for version 1.0
        np.lib.format.write_array_header_2_0(out, header)
    _reserve(out, out.tell() + array.nbytes, path)
    try:
        out.write(array.reshape(-1).view(np.uint8))
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from err


def _reserve(out: Any, size: int, path: Path) -> None:
    """Allocate the first ``size`` bytes of the open file ``out`` on disk (``path``: its name).

    Raises ``OSError`` (``ENOSPC``: the disk is full) naming ``path``. Where the file system
    (or the system) cannot reserve space, the file is left as it is.
    """
    if size <= 0 or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(out.fileno(), 0, size)
    except OSError as err:
        if err.errno in _NO_FALLOCATE:
            return
        raise OSError(err.errno, err.strerror, str(path)) from err


def _fsync(path: Path) -> None:
    """Flush a file's data to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    with _staged(path) as staging:
        staging.write_bytes(data)


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; flushed, renamed onto it if the block ends well."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield staging
        _fsync(staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
