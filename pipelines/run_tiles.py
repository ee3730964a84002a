"""Processing tiles of ``ilots run``: per-tile passes, checkpoints, merge and mosaic.

The run builds one lazy (Dask) graph of the whole grid; a processing tile is a window of it
(:func:`tiles.processing.processing_tiles`), computed on its own. Neighbourhood operations in
the graph (cloud-mask dilation, the land-cover minimum-mapping-unit cleaning) are Dask
``map_overlap`` or whole-array steps, so a tile's window is computed with whatever halo its
pixels need: a tile gives exactly the pixels of the one-piece graph.

The passes, each checkpointed per tile (:class:`tiles.processing.TileCheckpoints`, under
``<run folder>/.checkpoints/``, removed after a successful run):

0. ``inputs`` (several tiles only): the tile's share of every per-pixel layer read from the
   inputs, before any neighbourhood step (LST per scene, index composites, land-cover
   classes: :func:`input_pieces`). The passes after read their lazy mosaic, so every input
   is read and composited once, and the halos of the neighbourhood steps read neighbouring
   tiles' pieces, not their inputs. The LST on the Landsat pixels, whose chunks each meet
   several tiles, is streamed into every tile's piece in one computation first.
1. ``reference``: per-scene sum and count of the LST over the rural reference mask of the
   tile (float64), and the mask's pixel count; merged over tiles into the per-scene rural
   reference (the same mean as :func:`raster.heat_island.scene_reference`). Several tiles:
   the tile's share of the derived layers (land cover after its minimum mapping unit, urban
   footprint, reference mask) is kept from the same computation (:func:`first_pass`).
2. ``tile``: the tile's rasters (NumPy pieces, checkpointed as ``.npy`` files and mosaicked
   lazily from them, so the full grid is never in memory; the rasters that are per-pixel
   layers as they are, such as the NDVI composite, are final before this pass and mosaicked
   from the pieces of passes 0 and 1 instead), the zonal :class:`Partials` of
   every zone layer, computed with the window of the layer's coverage (built once on the
   full grid), and the urban / rural sums of the composite SUHII.

Partials merge exactly (sums, min/max, sample concatenation); only the order of float64
additions changes with the tiling, so sums agree to ~1e-15 relative and means to far
better than 1e-9.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.system import CPU_COUNT

from pipelines.heat_island import REFERENCE_SETTINGS, suhii_record
from pipelines.progress import progress_detail
from pipelines.scheduler import current_client
from raster.heat_island import RURAL_HINT, URBAN_HINT, _checked_mean
from raster.landcover import LandCover
from raster.nearest import NativeGather, native_counts
from raster.zonal.coverage import ZoneCoverage, zone_coverage
from raster.zonal.partials import Needs, Partials, chunk_partials, finalise, merge_all
from raster.zonal.statistics import parse_statistics
from raster.zonal.zones import prepare_zones
from tiles.errors import IlotsWarning
from tiles.processing import Tile, TileCheckpoints, processing_tiles

__all__ = [
    "CHECKPOINT_FORMAT",
    "SUHII_LAYERS",
    "ZONE_LAYERS",
    "ZONE_STATS",
    "MemoryCheckpoints",
    "ZoneLayer",
    "checkpoints",
    "composite_sums",
    "first_pass",
    "input_pieces",
    "land_cover_water",
    "lst_share",
    "merge_composite_sums",
    "merged_reference",
    "opened_on_cluster",
    "recorded_tile_size",
    "reference_sums",
    "resumable_tiles",
    "resumed_tile_size",
    "run_tiles",
    "scene_suhii",
    "tile_pieces",
    "tiles_of",
]

#: Version of the checkpoint contents (2: raster pieces as .npy, per-zone quantile samples;
#: 3: pass 0 keeps the input layers, pass 1 the derived ones; 4: on grids coarser than a band,
#: masks over each pixel's footprint; 5: there, the LST as the T⁴ mean of its 30 m pixels; 6:
#: pass 0 keeps the index composites' count of dates that read a negative reflectance; 7: the
#: 90th percentile of ΔT over the dates, and water out of coarse pixels' LST; 8: a tile's
#: checkpoint names the pieces it needs; so pieces of earlier versions are not resumed beside;
#: 9: the partials of the median LST on land; 10: the LST rasters and the zones' n_clear
#: without the land cover's water; 11: the NDVI and albedo partials without it too).
CHECKPOINT_FORMAT = 11

#: The raster layers summarised per zone, and their statistics (as ``_zone_table`` reads);
#: a layer the run does not have (``albedo_median`` without blue and SWIR 2.2 bands) is skipped.
ZONE_LAYERS = (
    "lst_median",
    "lst_p90",
    "lst_anomaly",
    "lst_anomaly_p90",
    "lst_zscore",
    "ndvi_median",
    "n_clear",
    "albedo_median",
)
ZONE_STATS = parse_statistics(["mean", "p90", "valid_frac", "area_m2"])
#: Only the median LST needs more than the mean (its p90, valid fraction and area): the
#: samples a quantile keeps are not held for the other layers.
MEAN_STATS = parse_statistics(["mean"])
#: The median ΔT's mean and valid fraction: ΔT can rest on fewer scenes than the LST (a
#: scene without a reference has no ΔT), and ``_zone_table`` gates the ΔT columns on its
#: own share. Both come from the moments every layer keeps.
ANOMALY_STATS = parse_statistics(["mean", "valid_frac"])


def layer_stats(name: str) -> Any:
    """Return the parsed statistics of raster layer ``name``."""
    return {"lst_median": ZONE_STATS, "lst_anomaly": ANOMALY_STATS}.get(name, MEAN_STATS)


def _lst_rasters(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the LST rasters among ``arrays``: the LST composites, ΔT and its z-score."""
    return [name for name in arrays if name.startswith("lst_")]


def land_cover_water(classes: Any) -> Any:
    """Where the land cover ``classes`` (NumPy or xarray) says water: the water left out.

    The one definition of the pixels the run leaves out of its LST rasters and zone
    statistics (``mask.lst_keep_water`` false) and of its NDVI and albedo composites
    (``mask.indices_keep_water`` false), whatever the land cover's source (rules from MNDWI
    or the QA and SCL water flags, or an external map): science.md §1.3.
    """
    return classes == LandCover.WATER


#: The land-cover shares of the classified area, and its share of the zone (``valid_frac``).
FRAC_STATS = parse_statistics(["frac", "valid_frac"])
CHECKPOINT_DIR = ".checkpoints"


@dataclass(frozen=True)
class ZoneLayer:
    """One zone layer with its coverage on the full grid (computed once)."""

    name: str
    id_column: str
    coverage: ZoneCoverage


def zone_layer(name: str, frame: Any, id_column: str, geobox: Any, method: str) -> ZoneLayer:
    """Prepare a zone layer and compute its coverage on the full grid."""
    prepared = prepare_zones(frame, id=id_column, crs=geobox.crs.to_wkt())
    return ZoneLayer(name, id_column, zone_coverage(prepared, geobox, method=method))


class MemoryCheckpoints:
    """The :class:`~tiles.processing.TileCheckpoints` interface, in memory (one-tile runs)."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], Any] = {}

    def done(self, stage: str, tile: Tile) -> bool:
        """Whether ``stage`` of ``tile`` has a result."""
        return (stage, tile.name) in self._results

    def save(
        self,
        stage: str,
        tile: Tile,
        result: Any,
        pieces: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Keep the result of ``stage`` for ``tile`` (its ``pieces`` are kept: not checked)."""
        self._results[(stage, tile.name)] = result

    def load(self, stage: str, tile: Tile) -> Any:
        """Return a result kept by :meth:`save`."""
        return self._results[(stage, tile.name)]

    def save_arrays(self, stage: str, tile: Tile, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep raster pieces (no copy)."""
        for name, array in arrays.items():
            self._results[_piece_key(stage, tile.name, name)] = array

    @contextlib.contextmanager
    def array_targets(
        self, stage: str, pieces: Mapping[tuple[str, str], tuple[tuple[int, ...], Any]]
    ) -> Iterator[dict[tuple[str, str], np.ndarray]]:
        """Yield raster pieces to fill, by ``(tile name, piece name)``, kept if no error.

        NumPy arrays, written in this process (a one-tile run has no other).
        """
        targets = {key: np.empty(shape, dtype) for key, (shape, dtype) in pieces.items()}
        yield targets
        for (tile, name), array in targets.items():
            self._results[_piece_key(stage, tile, name)] = array

    def load_array(self, stage: str, tile: Tile, name: str) -> np.ndarray:
        """Return a raster piece kept by :meth:`save_arrays`."""
        return self._results[_piece_key(stage, tile.name, name)]


def _piece_key(stage: str, tile_name: str, name: str) -> tuple[str, str]:
    """Key of a raster piece in :class:`MemoryCheckpoints` (beside the tiles' own results)."""
    return stage, f"{tile_name}.{name}"


def tiles_of(geobox: Any, tile_size: int) -> list[Tile]:
    """Cut the grid into processing tiles (one tile when the grid is not larger)."""
    return processing_tiles(geobox, tile_size, block=min(int(tile_size), 512))


#: The parts of a run's checkpoint fingerprint (``pipelines.run_plan.run_fingerprint``), in the
#: words that say which changed.
_FINGERPRINT_WORDS = {
    "checkpoint_format": "checkpoint format",
    "ilots": "ilots version",
    "ilots_source": "ilots source",  # a development version's code (outputs._atomic.ilots_source)
    "config": "config",
    "grid": "grid",
    "tile_size": "tile size",
    "tile_size_px": "tile size",  # the size an automatic one chose (a recorded setting)
    "items": "inputs",
    "files": "inputs",
}


#: Whether the checkpoints last opened in this process are a cluster's run's (``on_cluster``).
_opened = {"on_cluster": False}


def checkpoints(folder: Path, fingerprint: Any, tile_size: int | None = None) -> TileCheckpoints:
    """Open the checkpoint store of a run folder, for a run in tiles of ``tile_size`` pixels.

    The tile size is recorded (:func:`recorded_tile_size`). The checkpoints of another run
    (another ``fingerprint``) are discarded, with an :class:`~tiles.errors.IlotsWarning`
    saying what changed. Whether the run computes on a cluster is recorded too
    (:func:`opened_on_cluster`).
    """
    _opened["on_cluster"] = on_cluster()
    settings = {"tile_size_px": int(tile_size)} if tile_size is not None else None
    store = TileCheckpoints(Path(folder) / CHECKPOINT_DIR, fingerprint, settings)
    if store.discarded is not None:
        words = list(dict.fromkeys(_FINGERPRINT_WORDS.get(k, k) for k in store.discarded))
        made = f"made with another {', '.join(words)}" if words else "made by an earlier ilots"
        warnings.warn(
            IlotsWarning(
                f"discarded the tile checkpoints of an earlier run in {CHECKPOINT_DIR}/ ({made}): "
                "every tile is computed anew",
                code="discarded_checkpoints",
            ),
            stacklevel=2,
        )
    return store


def opened_on_cluster() -> bool:
    """Whether the checkpoints last opened here were a run's on a cluster of other machines.

    Opened by :func:`checkpoints`, in this process; the cluster as :func:`on_cluster` tells
    it. Its workers write and read them, each where it sees the run folder: an error about
    them, said once the run has ended (its client closed), names the cluster only then.
    """
    return _opened["on_cluster"]


def recorded_tile_size(folder: Path, fingerprint: Any) -> int | None:
    """Return the tile size the checkpoints of ``fingerprint`` in a run folder were made in.

    None when the folder holds none. A run with ``scheduler.tile_size_px: auto`` resumed
    with other workers or on a cluster, where auto would choose another size, takes it so
    that its finished tiles are kept.
    """
    settings = TileCheckpoints.recorded_settings(Path(folder) / CHECKPOINT_DIR, fingerprint)
    size = settings.get("tile_size_px")
    return size if isinstance(size, int) and size > 0 else None


def resumed_tile_size(folder: Path, fingerprint: Any, fresh: int, *, cluster: bool) -> int:
    """Return the tile edge of an ``auto`` run: ``fresh``, or its interrupted run's.

    The edge the checkpoints of ``fingerprint`` in the run folder were made in
    (:func:`recorded_tile_size`) is kept when it is no larger than ``fresh`` (its tiles fit
    in this memory: other workers, a bigger machine) or on a ``cluster`` (no memory budget);
    larger, it could exhaust this machine's memory: its tiles are computed anew in
    ``fresh``'s, which the discarded checkpoints' warning says. Reads only.
    """
    recorded = recorded_tile_size(folder, fingerprint)
    if recorded is not None and (recorded <= fresh or cluster):
        return recorded
    return fresh


def resumable_tiles(folder: Path, fingerprint: Any, tiles: list[Tile], tile_size: int) -> int:
    """Count the ``tiles`` whose first pass an interrupted run in a run folder checkpointed.

    Those a run of ``fingerprint`` in tiles of ``tile_size`` pixels resumes from (as the
    run counts them: the ``inputs`` pass); 0 when the folder holds no checkpoints of that
    run and size. Reads only (a dry run): the folder is neither created nor cleaned.
    """
    if recorded_tile_size(folder, fingerprint) != int(tile_size):
        return 0
    store = Path(folder) / CHECKPOINT_DIR
    return sum(TileCheckpoints.resumable(store, "inputs", t) for t in tiles)


def remove_checkpoints(folder: Path) -> None:
    """Drop the checkpoints of a finished run.

    The checkpoint folder is first renamed to a temporary name (one that
    :func:`pipelines.outputs.lock.sweep_temporaries` removes when a run next takes the
    folder), then removed: a run killed meanwhile never leaves checkpoints whose tiles are
    marked done while some of their pieces are already gone. Where the folder cannot be
    renamed (a file still open on Windows), the tiles' marks go first.
    """
    store = Path(folder) / CHECKPOINT_DIR
    doomed = store.with_name(f"{CHECKPOINT_DIR}.{uuid.uuid4().hex}.tmp")
    try:
        store.rename(doomed)
    except FileNotFoundError:
        return
    except OSError:
        for mark in store.glob("*.pkl"):
            mark.unlink(missing_ok=True)
        doomed = store
    shutil.rmtree(doomed, ignore_errors=True)


def _window(data: xr.DataArray | xr.Dataset, tile: Tile) -> Any:
    return data.isel(y=tile.rows, x=tile.cols)


def _scene_sums(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-scene Σ, Σ² (float64) and count of the finite values of ``values`` under ``mask``.

    ``values`` is ``(time, y, x)``, ``mask`` ``(1, y, x)``; returns ``(time, 1, 1, 4)`` with
    the mask's pixel count last (the same for every scene), one block of a Dask reduction.
    """
    out = np.zeros((values.shape[0], 1, 1, 4))
    keep = mask[0].astype(bool)
    out[:, 0, 0, 3] = np.count_nonzero(keep)
    for k, scene in enumerate(values):
        v = scene[keep]
        v = v[np.isfinite(v)].astype(np.float64)
        out[k, 0, 0, :3] = v.sum(), np.dot(v, v), v.size
    return out


def reference_sums(
    lst: xr.DataArray,
    mask: xr.DataArray,
    tile: Tile,
    urban: xr.DataArray | None = None,
    gather: NativeGather | None = None,
) -> dict[str, np.ndarray]:
    """Pass 1 of one tile: per-scene Σ LST, Σ LST² and count over the reference mask, Σ mask.

    With ``urban``, the same over the urban footprint (``urban_total``, ``urban_sumsq``,
    ``urban_count``, ``urban_n_mask``): :func:`scene_suhii` derives the per-scene heat-island
    intensity from them, and :func:`merged_reference` an urban reference. One fused NumPy
    pass per chunk and mask (no float64 copy of the scenes).

    With ``gather``, ``lst`` is on the Landsat pixels (``gather.geobox``) and the masks on
    the grid (``gather.target``): each Landsat pixel is weighted by the number of mask pixels
    the gather fills from it (:func:`raster.nearest.native_counts`): the same sums as over
    the gathered LST, without gathering it.
    """
    pixels = {"series": lst, "reference_mask": mask}
    if urban is not None:
        pixels["urban"] = urban
    return first_pass(pixels, tile, gather)[0]


def input_pieces(
    inputs: Mapping[str, xr.DataArray], tile: Tile, gather: NativeGather | None = None
) -> dict[str, Any]:
    """Pass 0 of a tiled run: the tile's share of every per-pixel layer read from the inputs.

    ``inputs`` holds layers ``(..., y, x)`` without neighbourhood steps (the LST per scene
    as ``series``, on the Landsat pixels with ``gather``; the index composites; the land-cover
    classes before the minimum mapping unit), so a tile's share reads only that tile's
    inputs. Returns the shares lazily, by layer name: :func:`run_tiles` computes a few tiles'
    together when a tile has fewer chunks than Dask has workers, and their mosaic replaces
    ``inputs`` for the passes after.
    """
    return {name: _share_of(name, layer, tile, gather) for name, layer in inputs.items()}


def _input_pass(
    inputs: Mapping[str, xr.DataArray],
    tiles: list[Tile],
    store: TileCheckpoints | MemoryCheckpoints,
    gather: NativeGather | None,
) -> None:
    """Checkpoint the :func:`input_pieces` of every tile not done yet, a batch at a time.

    A batch holds enough tiles for a chunk per worker (one tile when a tile has that many
    chunks, as the default 4,096-pixel tiles of 2,048-pixel chunks on 4 threads), so small
    tiles or a large cluster keep every worker busy; each tile is checkpointed on its own.
    The LST on the Landsat pixels (``series`` with ``gather``) goes first, for every tile at
    once (:func:`_store_shares`).
    """
    import pipelines.run_tiles as me  # through the module, so tests can wrap the pass

    names = {"inputs": list(inputs)}  # the pieces a tile's checkpoint needs
    todo = [t for t in tiles if not store.done("inputs", t)]
    done, size = len(tiles) - len(todo), 0
    if gather is not None and "series" in inputs and len(todo) > 1:
        progress_detail(f"Landsat, {_tiles_label(done + 1, len(tiles), len(tiles))}")
        _store_shares(inputs["series"], "series", todo, store, gather)
        inputs = {name: layer for name, layer in inputs.items() if name != "series"}
    while todo:
        batch = [todo.pop(0)]
        lazy = [me.input_pieces(inputs, batch[0], gather)]
        size = size or _batch_size(lazy[0])
        while todo and len(batch) < size:
            batch.append(todo.pop(0))
            lazy.append(me.input_pieces(inputs, batch[-1], gather))
        first, last = done + 1, done + len(batch)
        progress_detail(_tiles_label(first, last, len(tiles)), _span(first, last, len(tiles)))
        for tile, pieces in zip(batch, dask.compute(*lazy), strict=True):
            store.save_arrays("inputs", tile, {k: np.asarray(v) for k, v in pieces.items()})
            store.save("inputs", tile, None, names)  # written last: the tile is done
        done = last


def _store_shares(
    layer: xr.DataArray,
    name: str,
    tiles: list[Tile],
    store: TileCheckpoints | MemoryCheckpoints,
    gather: NativeGather,
) -> None:
    """Checkpoint the tiles' shares of a layer on the Landsat pixels in one computation.

    That layer's chunks, in Landsat pixels, each span several tiles' shares (a 2,048-pixel
    chunk is 61 km at 30 m): computed tile by tile, a chunk's LST would be computed (and its
    bands read) once per tile it meets. Here each chunk is computed once and streamed into
    the shares it meets (:func:`dask.array.store`), never holding the whole layer.
    """
    shares = {(tile.name, name): da.asarray(_share_of(name, layer, tile, gather)) for tile in tiles}
    pieces = {key: (share.shape, share.dtype) for key, share in shares.items()}
    with store.array_targets("inputs", pieces) as targets:
        da.store(list(shares.values()), [targets[key] for key in shares], lock=False)


def _tiles_label(first: int, last: int, total: int) -> str:
    """Say which tiles a pass is at (``"tile 2/4"``, ``"tiles 3-4/16"``; nothing for one)."""
    if total == 1:
        return ""
    return f"tile {first}/{total}" if first == last else f"tiles {first}-{last}/{total}"


def tile_progress(k: int, total: int) -> None:
    """Say that a pass is at tile ``k`` of ``total`` (:func:`pipelines.progress.progress_detail`).

    With several tiles, the stage's bar reads the share of its tiles done; with one, it
    counts the tasks of each computation, so that a stage computing twice on its one tile
    climbs on and does not drop back from full to empty.
    """
    progress_detail(_tiles_label(k, k, total), _span(k, k, total) if total > 1 else None)


def _span(first: int, last: int, total: int) -> tuple[float, float]:
    """Return the share of a pass that tiles ``first`` to ``last`` of ``total`` make."""
    return (first - 1) / total, last / total


def _batch_size(pieces: Mapping[str, Any]) -> int:
    """Tiles per pass-0 computation: Dask's workers over a tile's chunks, at least 1."""
    chunks = max((getattr(v, "npartitions", 1) for v in pieces.values() if v.ndim == 2),
                 default=1)  # fmt: skip
    return max(1, -(-_workers() // chunks))


def on_cluster(config: Any = None) -> bool:
    """Return whether the run computes on a Dask cluster of other machines.

    ``scheduler.kind: distributed`` in ``config``, or a ``dask.distributed`` client of a
    scheduler elsewhere (``--scheduler tcp://...``); not a ``LocalCluster`` (``--workers``),
    whose workers share this machine.
    """
    if config is not None and config.scheduler.kind == "distributed":
        return True
    client = current_client()
    if client is None:
        return False
    from distributed import LocalCluster

    return not isinstance(client.cluster, LocalCluster)


def _workers() -> int:
    """Count the threads Dask computes with: a distributed client's, else the local pool's."""
    client = current_client()
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return int(dask.config.get("num_workers", None) or CPU_COUNT)


def _share_of(name: str, layer: xr.DataArray, tile: Tile, gather: NativeGather | None) -> Any:
    return layer.transpose(..., "y", "x").isel(_slices(name, tile, gather)).data


def _slices(name: str, tile: Tile, gather: NativeGather | None) -> dict[str, slice]:
    """Slice the tile's share of layer ``name`` (the LST, ``series``, may be on Landsat pixels)."""
    return lst_share(tile, gather if name == "series" else None)


def first_pass(
    pixels: Mapping[str, xr.DataArray],
    tile: Tile,
    gather: NativeGather | None = None,
    keep: Collection[str] = (),
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Pass 1 of one tile: its :func:`reference_sums`, and the pieces of layers ``keep``.

    Parameters
    ----------
    pixels
        The run's per-pixel layers, ``(..., y, x)``: ``series`` (LST per scene, on the
        Landsat pixels with ``gather``), ``reference_mask``, optionally ``urban``, and any
        other grid layer the second pass reads.
    tile
        The processing tile.
    gather
        As in :func:`reference_sums`.
    keep
        Names of the layers whose tile share (:func:`lst_share` for ``series``, the tile's
        window for the others) to return too, computed with the sums in one Dask
        computation, so what they share is computed once.

    Returns
    -------
    sums, pieces
        The :func:`reference_sums` of the tile (with ``urban``'s when given), and the pieces
        by layer name.
    """
    masks = {"": pixels["reference_mask"]}
    if "urban" in pixels:
        masks["urban_"] = pixels["urban"]
    wanted = {name: _share_of(name, pixels[name], tile, gather) for name in keep}
    return _reference_sums(pixels["series"], masks, tile, gather, wanted)


def lst_share(tile: Tile, gather: NativeGather | None) -> dict[str, slice]:
    """Return the tile's share of the LST pixels, as ``isel`` slices.

    The tile's window of the grid; with ``gather`` (LST on the Landsat pixels), the Landsat
    rows (columns) from the one the tile's first row (column) gathers from up to the next
    tile's: the tiles' shares partition the Landsat pixels (a pixel split by a tile edge
    belongs to the tile after it), so their mosaic is the whole LST.
    """
    if gather is None:
        return {"y": tile.rows, "x": tile.cols}
    ny, nx = gather.geobox.shape.yx
    return {"y": _share(gather.rows, tile.rows, ny), "x": _share(gather.cols, tile.cols, nx)}


def _share(index: np.ndarray, span: slice, size: int) -> slice:
    stop = int(index[span.stop]) if span.stop < len(index) else size
    return slice(int(index[span.start]), stop)


def _reference_sums(
    lst: xr.DataArray,
    masks: Mapping[str, xr.DataArray],
    tile: Tile,
    gather: NativeGather | None,
    also: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Compute the sums of :func:`reference_sums` and the lazy arrays ``also`` together."""
    if gather is not None:
        return _native_reference_sums(lst, masks, tile, gather, also)
    scenes = _window(lst.transpose("time", "y", "x"), tile).data
    if not isinstance(scenes, da.Array):
        scenes = da.from_array(scenes, chunks=(-1, 2048, 2048))
    blocks = []
    for region in masks.values():
        keep = da.asarray(_window(region, tile).data).rechunk(scenes.chunks[1:])[None]
        blocks.append(
            da.map_blocks(
                _scene_sums,
                scenes,
                keep,
                new_axis=3,
                chunks=(
                    scenes.chunks[0],
                    (1,) * len(scenes.chunks[1]),
                    (1,) * len(scenes.chunks[2]),
                    (4,),
                ),
                dtype=np.float64,
            ).sum(axis=(1, 2))
        )
    totals, pieces = dask.compute(blocks, dict(also))
    out = {}
    for prefix, sums in zip(masks, totals, strict=True):
        out[f"{prefix}total"] = sums[:, 0]
        out[f"{prefix}sumsq"] = sums[:, 1]
        out[f"{prefix}count"] = sums[:, 2].astype(np.int64)
        out[f"{prefix}n_mask"] = np.int64(sums[0, 3]) if len(sums) else np.int64(0)
    return out, {name: np.asarray(v) for name, v in pieces.items()}


def _native_reference_sums(
    lst: xr.DataArray,
    masks: Mapping[str, xr.DataArray],
    tile: Tile,
    gather: NativeGather,
    also: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Compute :func:`reference_sums` on the Landsat pixels, weighted by mask pixel counts."""
    rows, cols = gather.rows[tile.rows], gather.cols[tile.cols]
    r0, c0 = int(rows.min()), int(cols.min())
    shape = (int(rows.max()) + 1 - r0, int(cols.max()) + 1 - c0)
    window = lst.transpose("time", "y", "x").isel(
        y=slice(r0, r0 + shape[0]), x=slice(c0, c0 + shape[1])
    )
    scenes, regions, pieces = dask.compute(
        window.data, [_window(m, tile).data for m in masks.values()], dict(also)
    )
    out = {}
    for prefix, region in zip(masks, regions, strict=True):
        weights = native_counts(np.asarray(region, dtype=bool), rows - r0, cols - c0, shape)
        sums = _weighted_scene_sums(np.asarray(scenes), weights)
        out[f"{prefix}total"] = sums[:, 0]
        out[f"{prefix}sumsq"] = sums[:, 1]
        out[f"{prefix}count"] = sums[:, 2].astype(np.int64)
        out[f"{prefix}n_mask"] = np.int64(weights.sum())
    return out, {name: np.asarray(v) for name, v in pieces.items()}


def _weighted_scene_sums(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-scene Σ w·v, Σ w·v² (float64) and Σ w over the finite values where ``w > 0``."""
    keep = weights > 0
    w = weights[keep].astype(np.float64)
    out = np.zeros((values.shape[0], 3))
    for k, scene in enumerate(values):
        v = scene[keep].astype(np.float64)
        finite = np.isfinite(v)
        wv = np.where(finite, w * v, 0.0)
        out[k] = wv.sum(), np.dot(wv, np.where(finite, v, 0.0)), w[finite].sum()
    return out


def scene_suhii(
    parts: list[dict[str, np.ndarray]],
    reference: xr.DataArray,
    min_pixels: int = 1,
    min_frac: float = 0.0,
    urban: xr.DataArray | None = None,
) -> list[dict[str, Any]]:
    """Per-scene SUHII (urban mean − rural reference, K) from the merged pass-1 tile sums.

    Parameters
    ----------
    parts
        The :func:`reference_sums` of every tile, computed with ``urban``.
    reference
        The merged rural reference per scene (:func:`merged_reference`).
    min_pixels, min_frac
        The minimums of the rural reference, applied to the urban footprint too: a scene
        with fewer clear footprint pixels, or a smaller clear share of them, has no urban
        mean (a few pixels left clear between clouds are no mean of the city), so no SUHII,
        said in a warning.
    urban
        The urban footprint's mean per scene when it is ΔT's reference
        (``merged_reference(..., "urban", min_frac)``: the same minimums, already said).

    Returns
    -------
    list of dict
        One record per scene, in time order: ``time``, ``platform``, ``product_id``, ``suhii_k``,
        ``urban_mean_k``, ``rural_mean_k``, ``urban_pixels``, ``rural_pixels`` (clear pixels;
        a mean under the minimums, or a scene without a reference, is None),
        ``rural_clear_share`` (``rural_pixels`` over the reference's pixels) and
        ``urban_clear_share`` (``urban_pixels`` over the footprint's pixels).
    """
    if not parts or "urban_total" not in parts[0]:
        return []
    urban_total = np.sum([p["urban_total"] for p in parts], axis=0)
    urban_count = np.sum([p["urban_count"] for p in parts], axis=0)
    rural_count = np.sum([p["count"] for p in parts], axis=0)
    rural_n_mask = np.sum([p["n_mask"] for p in parts])
    urban_n_mask = np.sum([p["urban_n_mask"] for p in parts])
    if urban is not None:
        urban_mean = np.asarray(urban.values, dtype=np.float64)
    elif urban_n_mask:
        urban_mean = _checked_mean(
            urban_total, urban_count, urban_n_mask, what="urban footprint", hint=URBAN_HINT,
            min_pixels=min_pixels, min_frac=min_frac, settings=REFERENCE_SETTINGS,
            outcome="they have no SUHII (heat_island.json) and are left out of its scenes_mean_k",
        )  # fmt: skip
    else:  # no footprint: said with the composite (pipelines.heat_island)
        urban_mean = np.full(np.shape(urban_total), np.nan)
    rural_mean = np.asarray(reference.values, dtype=np.float64)
    times = reference["time"].values if "time" in reference.coords else [None] * len(rural_mean)
    labels = {
        name: reference[name].values if name in reference.coords else [None] * len(rural_mean)
        for name in ("platform", "product_id")
    }
    records = []
    for k, when in enumerate(np.atleast_1d(times)):
        records.append(
            {
                # UTC, as the products' times (ISO 8601 with its "Z": readers take no zone
                # for local time)
                "time": None if when is None else f"{np.datetime_as_string(when, unit='s')}Z",
                **{name: None if v[k] is None else str(v[k]) for name, v in labels.items()},
                **suhii_record(urban_mean[k], rural_mean[k], urban_count[k], rural_count[k]),
                "rural_clear_share": _ratio(rural_count[k], rural_n_mask),
                "urban_clear_share": _ratio(urban_count[k], urban_n_mask),
            }
        )
    return records


def _ratio(count: float, total: float) -> float | None:
    """``count`` over ``total``, or None when ``total`` is 0."""
    return float(count / total) if total else None


def merged_reference(
    parts: list[dict[str, np.ndarray]],
    template: xr.DataArray,
    min_pixels: int,
    region: str = "rural",
    min_frac: float = 0.0,
) -> xr.DataArray:
    """Derive the per-scene reference from the merged tile sums (as ``scene_reference``).

    ``region`` is ``"rural"`` (the reference mask) or ``"urban"`` (the urban footprint, from
    sums taken with ``urban``). A scene with fewer than ``min_pixels`` clear pixels there, or
    a clear share of its pixels under ``min_frac``, gets none (NaN). The population standard
    deviation (ddof 0) of the clear reference pixels rides along as coordinate
    ``reference_std`` (for z-scores).
    """
    prefix = {"rural": "", "urban": "urban_"}[region]
    total = np.sum([p[f"{prefix}total"] for p in parts], axis=0)
    sumsq = np.sum([p[f"{prefix}sumsq"] for p in parts], axis=0)
    count = np.sum([p[f"{prefix}count"] for p in parts], axis=0)
    n_mask = np.sum([p[f"{prefix}n_mask"] for p in parts])
    what = "rural reference" if region == "rural" else "urban footprint"
    hint = RURAL_HINT if region == "rural" else URBAN_HINT
    mean = _checked_mean(total, count, n_mask, what=what, hint=hint, min_pixels=min_pixels,
                         min_frac=min_frac, settings=REFERENCE_SETTINGS)  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.maximum(sumsq / count - mean * mean, 0.0)
    dims = template.dims
    coords = {
        name: template[name]
        for name in (*dims, "platform", "product_id")
        if name in template.coords
    }
    coords["reference_std"] = (dims, np.sqrt(variance))
    return xr.DataArray(
        mean,
        dims=dims,
        coords=coords,
        attrs={**template.attrs, "reference_region": region},
        name=f"{region}_reference",
    )


def tile_pieces(
    rasters: xr.Dataset,
    layers: list[ZoneLayer],
    tile: Tile,
    masks: Mapping[str, xr.DataArray] | None = None,
    without_water: bool = False,
    own: bool = False,
) -> dict[str, Any]:
    """Pass 2 of one tile: its raster pieces and the zonal partials of every zone layer.

    With ``masks`` (``{"urban": footprint, "rural": reference mask}``), also the sums of the
    composite SUHII (:func:`composite_sums`), computed with the rasters in one pass.
    ``without_water`` (water left out of the LST, ``mask.lst_keep_water`` false): the LST
    rasters (:func:`_lst_rasters`) are NaN on the land cover's water too, not only on the
    Landsat QA's 30 m water, and the zones' ``n_clear`` mean is over their land, so the zone
    statistics, the composite SUHII and the COGs rest on the same pixels (science.md §1.3:
    no urban LST over water). The LST rasters computed here are blanked in place; NumPy ones
    of ``rasters`` are copied, unless ``own`` (the caller hands them over: a one-piece
    run's, computed for this pass).
    """
    masks = dict(masks or {})
    fresh = {str(k) for k, v in rasters.data_vars.items() if own or isinstance(v.data, da.Array)}
    piece, *regions = dask.compute(
        _window(rasters, tile), *(_window(m, tile) for m in masks.values())
    )
    arrays = {str(k): np.asarray(v.values) for k, v in piece.data_vars.items()}
    del piece  # the arrays blanked below replace its own, or are its own
    classes = arrays["landcover"]
    water = land_cover_water(classes) if without_water else None
    if water is not None:
        for name in _lst_rasters(arrays):
            if name in fresh:  # no second copy of the grid's rasters (4,000²: 64 MB each)
                np.copyto(arrays[name], np.float32(np.nan), where=water)
            else:
                arrays[name] = np.where(water, np.float32(np.nan), arrays[name])
    sums = composite_sums(
        arrays, {k: np.asarray(r.values) for k, r in zip(masks, regions, strict=True)}
    )
    values = {
        name: (arrays[name].astype(np.float32, copy=False), Needs.of(layer_stats(name)))
        for name in ZONE_LAYERS
        if name in arrays  # albedo_median, lst_zscore: only when the run makes them
    }
    if water is not None and "n_clear" in values:  # clear dates counted over land
        values["n_clear"] = (np.where(water, np.float32(np.nan), values["n_clear"][0]),
                             values["n_clear"][1])  # fmt: skip
    class_values = classes.astype(np.float32)
    class_values[classes == 0] = np.nan  # class 0: no data
    values["landcover"] = (class_values, Needs.of(FRAC_STATS))
    windows = {layer.name: layer.coverage.window(tile.rows, tile.cols) for layer in layers}
    jobs = [(layer, name) for layer in layers for name in values]
    # One pass per (zone layer, raster); the kernels release the GIL, so they share the cores.

    def partial(job: tuple[ZoneLayer, str]) -> Partials:
        layer, name = job
        data, needs = values[name]
        return chunk_partials(data, windows[layer.name], layer.coverage.n_zones, needs)

    with ThreadPoolExecutor(min(len(jobs), CPU_COUNT)) as pool:
        partials: dict[str, dict[str, Partials]] = {layer.name: {} for layer in layers}
        for (layer, name), part in zip(jobs, pool.map(partial, jobs), strict=True):
            partials[layer.name][name] = part
    return {"rasters": arrays, "partials": partials, "composite_sums": sums}


#: The composites whose SUHII the run reports (``heat_island.json``).
SUHII_LAYERS = ("lst_anomaly", "lst_median")


def composite_sums(
    arrays: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Σ (float64) and count of each SUHII composite's finite pixels per mask, and mask sizes.

    Returns ``{"<layer>": {"<mask>_total": Σ, "<mask>_count": n}, "n_mask": {"<mask>": n}}``;
    tiles' sums add up to the whole grid's (:func:`merge_composite_sums`).
    """
    out: dict[str, dict[str, float]] = {"n_mask": {}}
    for region, mask in masks.items():
        keep = mask.astype(bool)
        out["n_mask"][region] = int(np.count_nonzero(keep))
        for name in SUHII_LAYERS:
            if name in arrays:
                values = arrays[name][keep]
                values = values[np.isfinite(values)]
                layer = out.setdefault(name, {})
                layer[f"{region}_total"] = float(values.sum(dtype=np.float64))
                layer[f"{region}_count"] = int(values.size)
    return out


def merge_composite_sums(parts: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Add the :func:`composite_sums` of every tile."""
    merged: dict[str, dict[str, float]] = {}
    for part in parts:
        for name, values in part.items():
            into = merged.setdefault(name, {})
            for key, value in values.items():
                into[key] = into.get(key, 0) + value
    return merged


def _tables(layer: ZoneLayer, parts: Mapping[str, Partials]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the zonal_stats-shaped tables of one zone layer from its merged partials."""
    cov = layer.coverage
    covered = cov.covered()
    values: dict[str, Any] = {layer.id_column: cov.ids}
    for name in (n for n in ZONE_LAYERS if n in parts):
        stats = layer_stats(name)
        for column, data in finalise(parts[name], stats, covered, cov.cell_area).items():
            values[f"{name}_{column}"] = data
    frac: dict[str, Any] = {layer.id_column: cov.ids}
    frac.update(finalise(parts["landcover"], FRAC_STATS, covered, cov.cell_area))
    return pd.DataFrame(values), pd.DataFrame(frac)


def run_tiles(
    *,
    inputs: Mapping[str, xr.DataArray],
    derive: Callable[..., dict[str, xr.DataArray]],
    reference_template: xr.DataArray,
    min_pixels: int,
    build_rasters: Callable[[xr.DataArray, Mapping[str, xr.DataArray]], xr.Dataset],
    settled_rasters: Callable[[Mapping[str, xr.DataArray]], Mapping[str, xr.DataArray]],
    layers: list[ZoneLayer],
    tiles: list[Tile],
    store: TileCheckpoints | MemoryCheckpoints,
    timer: Any,
    anomaly_reference: str = "rural",
    gather: NativeGather | None = None,
    pixels: Mapping[str, xr.DataArray] | None = None,
    min_frac: float = 0.0,
    on_settled: Callable[[Mapping[str, xr.DataArray]], None] | None = None,
    without_water: bool = False,
) -> tuple[
    xr.Dataset,
    dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    list[dict[str, Any]],
    dict[str, dict[str, float]],
]:
    """Run the passes over the tiles (resuming from checkpoints), the merge and the mosaic.

    ``inputs`` are the per-pixel layers read from the inputs (see :func:`input_pieces`);
    ``derive(layers, settle=False)`` makes the run's per-pixel layers from them (see
    :func:`first_pass`: ``series``, ``reference_mask``, optionally ``urban``, and whatever
    ``build_rasters`` reads). One tile: the passes read ``pixels`` (``derive(inputs)``,
    persisted by the caller). Several tiles: pass 0 keeps each tile's share of ``inputs``;
    ``derive`` runs on their lazy mosaic (:func:`_mosaic`) with ``settle=True`` (whole-grid
    reductions computed once), so the neighbourhood steps read no input twice; pass 1 keeps
    the tiles' shares of the derived layers, and pass 2 reads the mosaics.

    Returns the full rasters on the grid of the lazy ones (:func:`_mosaic`: NumPy for one
    tile, lazy reads of the checkpointed pieces for several, so write them before the
    checkpoints are removed); per zone layer, its value table and land-cover fraction table;
    with ``urban``, the per-scene SUHII records of :func:`scene_suhii` (else an empty list)
    and the merged :func:`composite_sums` of the composites (else only empty ``n_mask``).
    ``build_rasters`` receives the per-scene reference of ``anomaly_reference``
    (``"rural"``, or ``"urban"``: needs ``urban``; NaN for a scene below ``min_pixels`` or
    ``min_frac``, :func:`merged_reference`), with its spread as coordinate
    ``reference_std``, and the per-pixel layers. With ``gather``, ``series`` is on the
    Landsat pixels (see :func:`reference_sums`). Its rasters are the tiles pass's (called
    in it): lazy, or for one tile NumPy arrays that pass may change (:func:`tile_pieces`'s
    ``own``: a one-piece run computes them whole).

    ``settled_rasters(pixels)`` names the rasters that are per-pixel layers as they are
    (the index composites, the land cover): final after pass 1, they are handed to
    ``on_settled`` before pass 2 (so their COGs are written meanwhile), and a tiled run's
    mosaic of them reads the pieces of passes 0 and 1 instead of keeping them again.
    ``without_water``: the LST rasters and the zones' ``n_clear`` leave out the land cover's
    water too (:func:`tile_pieces`).
    """
    import pipelines.run_tiles as me  # through the module, so tests can wrap the passes

    keep: list[str] = []
    if len(tiles) > 1:
        with timer("read"):
            _input_pass(inputs, tiles, store, gather)
        with timer("reference"):
            # settle: whole-grid reductions in the derived layers are computed once, here.
            pixels = derive(_mosaics(inputs, tiles, store, "inputs", gather), settle=True)
        keep = [name for name in pixels if name not in inputs]
    elif pixels is None:
        pixels = derive(inputs)
    with timer("reference"):
        sums = []
        for k, tile in enumerate(tiles, 1):
            tile_progress(k, len(tiles))
            if not store.done("reference", tile):
                sums_of_tile, pieces = me.first_pass(pixels, tile, gather, keep)
                # Pieces first: the tile's own checkpoint, written last, marks it done.
                store.save_arrays("derived", tile, pieces)
                store.save("reference", tile, sums_of_tile, {"derived": list(pieces)})
            sums.append(store.load("reference", tile))
        reference = merged_reference(sums, reference_template, min_pixels, min_frac=min_frac)
        urban = None
        if anomaly_reference == "urban":
            urban = merged_reference(sums, reference_template, min_pixels, "urban", min_frac)
        # The urban side of each scene's SUHII needs the reference's minimums too.
        scenes = scene_suhii(sums, reference, min_pixels, min_frac, urban)
        if urban is not None:
            reference = urban
    if keep:
        derived = {name: pixels[name] for name in keep}
        pixels = {**pixels, **_mosaics(derived, tiles, store, "derived", gather)}
    settled = dict(settled_rasters(pixels))
    if len(tiles) == 1:  # persisted, maybe on a cluster's workers: as NumPy, here (the COGs)
        settled = dict(zip(settled, dask.compute(*settled.values()), strict=True))
    if on_settled is not None and settled:
        on_settled(settled)
    masks = None
    if "urban" in pixels:
        masks = {"urban": pixels["urban"], "rural": pixels["reference_mask"]}
    with timer("tiles"):
        one = len(tiles) == 1  # the rasters are this pass's own
        tile_progress(1, len(tiles))  # build_rasters may compute (one piece)
        rasters = build_rasters(reference, pixels).assign(settled)
        results = []
        for k, tile in enumerate(tiles, 1):
            tile_progress(k, len(tiles))
            if not store.done("tile", tile):
                result = me.tile_pieces(rasters, layers, tile, masks, without_water, one)
                # Pieces first: the tile's own checkpoint, written last, marks it done.
                arrays = result.pop("rasters")
                kept = {name: array for name, array in arrays.items() if name not in settled}
                store.save_arrays("raster", tile, kept)
                store.save("tile", tile, result, {"raster": list(kept)})
            results.append(store.load("tile", tile))
    with timer("mosaic"):
        mosaic = xr.Dataset(
            {
                k: settled[k] if k in settled else _mosaic(v, tiles, store, "raster", str(k))
                for k, v in rasters.data_vars.items()
            },
            coords=rasters.coords,
            attrs=rasters.attrs,
        )
    with timer("zonal"):
        tables = {}
        for layer in layers:
            present = results[0]["partials"][layer.name]
            names = [n for n in (*ZONE_LAYERS, "landcover") if n in present]
            merged = {n: merge_all([r["partials"][layer.name][n] for r in results]) for n in names}
            tables[layer.name] = _tables(layer, merged)
    composite = merge_composite_sums([r["composite_sums"] for r in results])
    return mosaic, tables, scenes, composite


def _mosaic(
    var: xr.DataArray,
    tiles: list[Tile],
    store: TileCheckpoints | MemoryCheckpoints,
    stage: str,
    name: str,
    gather: NativeGather | None = None,
) -> xr.DataArray:
    """Assemble a layer ``(..., y, x)`` from the tiles' pieces: NumPy for one tile, else lazily.

    Several tiles: a Dask array with one chunk per tile, each chunk a memory-mapped read of
    that tile's checkpointed piece, so reading it streams the tiles and never holds the
    whole grid in memory. ``name`` is the pieces' name in ``stage``; each tile's piece is
    its share of the layer (:func:`lst_share`, with ``gather`` for ``series``).
    """
    if len(tiles) == 1:  # one piece: its array is the mosaic (no copy)
        array: Any = store.load_array(stage, tiles[0], name)
    else:
        lead = tuple(var.shape[:-2])
        rows: dict[int, list[Tile]] = {}
        for tile in tiles:
            rows.setdefault(tile.index[0], []).append(tile)
        load = dask.delayed(store.load_array, pure=True)

        def piece(tile: Tile) -> da.Array:
            window = _slices(name, tile, gather)
            shape = (*lead, *(s.stop - s.start for s in (window["y"], window["x"])))
            return da.from_delayed(load(stage, tile, name), shape=shape, dtype=var.dtype)

        array = da.block([[piece(t) for t in row] for row in rows.values()])
    return xr.DataArray(array, dims=var.dims, coords=var.coords, attrs=var.attrs, name=var.name)


def _mosaics(
    pixels: Mapping[str, xr.DataArray],
    tiles: list[Tile],
    store: TileCheckpoints | MemoryCheckpoints,
    stage: str,
    gather: NativeGather | None,
) -> dict[str, xr.DataArray]:
    """Lazy mosaics of the tiles' shares of ``pixels`` (:func:`lst_share`), chunked alike."""
    return {
        name: _rechunked(
            _mosaic(layer.transpose(..., "y", "x"), tiles, store, stage, name, gather), layer
        )
        for name, layer in pixels.items()
    }


def _rechunked(mosaic: xr.DataArray, layer: xr.DataArray) -> xr.DataArray:
    """Give a lazy mosaic the chunks of the layer it replaces (so its work stays parallel)."""
    if isinstance(layer.data, da.Array) and isinstance(mosaic.data, da.Array):
        return mosaic.copy(data=mosaic.data.rechunk(layer.transpose(*mosaic.dims).data.chunks))
    return mosaic
