"""``ilots run --dry-run``: what a run would do, from metadata only (reads no pixel).

The grid, the scenes per sensor and per processing tile, the expected peak memory and, for a
run in several tiles, the disk its checkpoints take (:mod:`pipelines.run_tiles`), and the hosts
of the scenes whose files are remote, which the run needs network access to. The zone
layers and the census tables are read as the run reads them (they are small), and the headers
of the external land-cover map and the DEM checked as the run checks them, so that their
errors and warnings come out before the run.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dask.system import CPU_COUNT
from shapely.geometry import shape

from pipelines import run_layers, run_tiles
from pipelines.config import (
    RunConfig,
    Searches,
    check_coverage,
    check_extent_coverage,
    config_digest,
    config_paths,
    resolve_inputs,
)
from pipelines.outputs._atomic import ilots_source, ilots_version
from pipelines.outputs.folder import RunFolder
from pipelines.outputs.manifest import area_record
from pipelines.run_census import census_summary, check_iris_columns, read_census_tables
from pipelines.run_graph import (
    LANDSAT_NDVI_BANDS,
    analysis_grid,
    index_source,
    landsat_bands,
    sentinel2_left_out,
    sentinel2_needs,
    zones_and_area,
)
from raster.acquisitions import repeated_products
from raster.sources.hrefs import href_file, remote_host
from tiles.errors import IlotsWarning
from tiles.grid import LANDSAT_PIXEL_M
from tiles.memory import physical_memory
from tiles.processing import tile_spans

__all__ = [
    "NOT_IN_PIECES",
    "RunPlan",
    "TilePlan",
    "expected_memory",
    "grid_info",
    "plan",
    "run_fingerprint",
    "tile_size",
]

#: Share of the machine's memory a run with ``scheduler.tile_size_px: auto`` plans to use.
AUTO_MEMORY_SHARE = 0.5
#: Tile edge of ``auto`` on a Dask cluster (its workers' memory is not this machine's), and
#: where the system does not say its memory.
FIXED_TILE_PX = 4096


@dataclass(frozen=True)
class TilePlan:
    """One processing tile of a planned run: its name, size and scenes per sensor."""

    name: str
    shape: tuple[int, int]
    scenes: dict[str, int]


@dataclass(frozen=True)
class RunPlan:
    """What a run would do, computed without reading a pixel.

    ``memory_bytes`` is the expected peak (:func:`expected_memory`): fitted to the peaks
    ``benchmarks/bench_pipeline.py``'s city reaches on grids of 10 to 60 m, in one piece and
    in tiles, and rounded up. ``checkpoint_bytes`` is the disk the checkpoints of
    a run in several tiles take at most (0 for one tile), under ``<run folder>/.checkpoints``
    until the run ends. ``sharpen_bytes``, with ``sharpen.enabled``: the memory the sharpened
    LST takes while it is made, after the tiles (None when not asked). ``zones`` and
    ``census`` say what the zone layers and census tables read hold for the area (a line
    each; empty without them). ``resumed_tiles``: the tiles whose first pass an interrupted
    run in the folder checkpointed, which the run resumes from in that run's tile size
    (:func:`pipelines.run_tiles.resumed_tile_size`; 0: none). ``remote``: the hosts the
    scenes the run reads have files on (their item JSONs name URLs), each with the ids of
    those scenes (:func:`_remote_scenes`). ``extent``: the area's extent in km² and its
    bounds, as the run's manifest records them
    (:func:`pipelines.outputs.manifest.area_record`; None: not given). ``landcover`` and
    ``dem``: the external land-cover map and the DEM, as their headers describe them
    (:func:`pipelines.run_layers.planned_layers`; empty when not set).
    """

    area: str
    grid: dict[str, Any]
    scenes: dict[str, list[str]]
    skipped: tuple[str, ...]
    memory_bytes: int
    tiles: tuple[TilePlan, ...] = ()
    checkpoint_bytes: int = 0
    indices_from: str = "sentinel2"
    memory_budget: int | None = None
    folder: str = ""
    sharpen_bytes: int | None = None
    zones: str = ""
    census: str = ""
    resumed_tiles: int = 0
    remote: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extent: dict[str, Any] | None = None
    landcover: str = ""
    dem: str = ""

    def summary(self) -> str:
        """Lines for the terminal."""
        g = self.grid
        lines = [f"area of interest: {self.area}"]
        if self.extent is not None:
            lines.append(_extent_line(self.extent))
        lines += [line for line in (self.zones, self.census) if line]
        lines.append(f"grid: {g['crs']} {g['resolution']} m, {g['width']} x {g['height']} pixels")
        for sensor, ids in self.scenes.items():
            lines.append(f"{sensor}: {len(ids)} scenes" + (f" ({', '.join(ids)})" if ids else ""))
        if self.skipped:
            lines.append(f"left out: {len(self.skipped)} candidates")
            lines += [f"  {why}" for why in self.skipped[:_SKIPPED_LISTED]]
            if len(self.skipped) > _SKIPPED_LISTED:
                lines.append(f"  ... and {len(self.skipped) - _SKIPPED_LISTED} more")
        if self.remote:
            lines.append(_remote_line(self.remote))
        if self.landcover:
            lines.append(f"NDVI and albedo from: {_SOURCES[self.indices_from]}")
            lines.append(f"land cover from: {self.landcover}")
        else:
            lines.append(f"NDVI, albedo and land-cover indices from: {_SOURCES[self.indices_from]}")
        if self.dem:
            lines.append(f"DEM: {self.dem}")
        if self.sharpen_bytes is not None:
            lines.append(
                "sharpened LST: none, the run has no NDVI to sharpen with"
                if self.indices_from == "none"
                else "sharpened LST: rasters/lst_median_sharpened.tif, made once the composites "
                f"are final (about {self.sharpen_bytes / 1e9:.1f} GB more memory then)"
            )
        if len(self.tiles) > 1:
            biggest = max(self.tiles, key=lambda t: t.shape[0] * t.shape[1])
            lines.append(
                f"processing tiles: {len(self.tiles)} of up to {biggest.shape[1]} x "
                f"{biggest.shape[0]} pixels, checkpointed (a killed run resumes)"
            )
            for tile in self.tiles[:_TILES_LISTED]:
                counts = ", ".join(f"{k} {n}" for k, n in tile.scenes.items())
                lines.append(f"  {tile.name} ({tile.shape[1]} x {tile.shape[0]}): {counts}")
            if len(self.tiles) > _TILES_LISTED:
                lines.append(f"  ... and {len(self.tiles) - _TILES_LISTED} more tiles")
            lines.append(
                f"checkpoints on disk: up to {self.checkpoint_bytes / 1e9:.1f} GB in the run "
                "folder's .checkpoints/ (removed when the run ends)"
            )
            if self.resumed_tiles:
                lines.append(
                    f"resumes an interrupted run: {self.resumed_tiles} of {len(self.tiles)} "
                    f"tiles done (its checkpoints, in tiles of {biggest.shape[1]} px)"
                )
        else:
            lines.append("processing tiles: 1 (the whole grid in one piece)")
        if self.folder:
            lines.append(f"run folder: {self.folder}")
        lines.append(f"expected peak memory: {self.memory_bytes / 1e9:.1f} GB")
        if self.memory_budget is not None:
            budget = f"{self.memory_budget / 1e9:.1f} GB, half of this machine's (or container's)"
            lines.append(
                f"  (tile_size_px auto: the largest tiles whose run fits in {budget} memory)"
                if self.memory_bytes <= self.memory_budget
                else f"  (tile_size_px auto: even tiles of one chunk expect more than {budget} "
                "memory; lower scheduler.chunk_px or use a larger machine)"
            )
        return "\n".join(lines)


def _extent_line(extent: dict[str, Any]) -> str:
    """Say the area's extent (an :func:`~pipelines.outputs.manifest.area_record`)."""
    km2 = extent["area_km2"]
    # Three significant digits, none dropped before the point (1,234 km²).
    decimals = max(0, 2 - math.floor(math.log10(km2))) if km2 > 0 else 0
    west, south, east, north = extent["bounds_wgs84"]
    return (
        f"  extent: {km2:,.{decimals}f} km² (on the WGS 84 ellipsoid), longitudes {west:.3f} "
        f"to {east:.3f}, latitudes {south:.3f} to {north:.3f}"
    )


def _remote_line(remote: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """Say which scenes' files are remote, on which hosts, and what the run needs then."""
    scenes = {scene for _host, ids in remote for scene in ids}
    hosts = "; ".join(
        f"{host} ({', '.join(ids[:_REMOTE_LISTED])}"
        + (f" and {len(ids) - _REMOTE_LISTED} more" if len(ids) > _REMOTE_LISTED else "")
        + ")"
        for host, ids in remote
    )
    one = len(scenes) == 1
    return (
        f"remote files: {len(scenes)} {'scene reads its' if one else 'scenes read their'} "
        f"files over the network, from {hosts}; the run needs network access to "
        f"{'this host' if len(remote) == 1 else 'these hosts'} (or download the "
        f"{'product' if one else 'products'} and put each item JSON beside its files, which "
        "ilots then reads on disk)"
    )


_SOURCES = {
    "sentinel2": "Sentinel-2",
    "landsat": "Landsat surface reflectance (30 m)",
    "none": "none: the Landsat products lack red and near-infrared reflectance (SR_B4, "
    "SR_B5), so the run makes no NDVI and no land cover",
}
#: Tiles listed one by one in a plan's summary.
_TILES_LISTED = 12
#: Candidates left out listed one by one (with why) in a plan's summary.
_SKIPPED_LISTED = 20
#: Scenes with remote files listed by id per host in a plan's summary.
_REMOTE_LISTED = 4
#: The expected peak memory (:func:`expected_memory`), fitted to the peaks of 11 runs of the
#: benchmark city (benchmarks/RESULTS.md, session 11): grids of 10 to 60 m, in one piece and
#: in tiles of 512 to 2,048 pixels, with 1 to 4 Sentinel-2 and 2 to 6 Landsat scenes, then
#: rounded up so that it errs high on all of them (by 2 to 25 %). The libraries and what a
#: run holds whatever its size; bytes per pixel of the largest tile; per Landsat scene per
#: Landsat pixel of it; per Sentinel-2 scene per 10 m pixel a chunk reads (a coarse grid
#: averages every 10 m pixel under it), times the worker threads over two (every run measured
#: had two: more threads, more chunks read at once, an extrapolation that errs high); per
#: pixel of the whole grid in a tiled run (zone coverage, the mosaics' encoding, the
#: report's rasters).
_BYTES_FIXED = 720_000_000
_BYTES_PER_TILE_PX, _BYTES_PER_LANDSAT_PX, _BYTES_PER_S2_SOURCE_PX = 64, 6, 1.0
_BYTES_GRID_TILED = 30
#: Native pixel of the Sentinel-2 bands the indices need most (red, NIR), in metres.
_S2_PIXEL_M = 10.0
#: Memory the sharpened LST (``sharpen.enabled``) takes while it is made, per grid pixel,
#: besides the run's rasters: 51 bytes measured (tracemalloc, a 2.7 M-pixel grid), rounded up.
_BYTES_SHARPEN_PX = 60
#: Checkpoint bytes per grid pixel (pipelines/run_tiles.py): the float32 LST of each Landsat
#: scene (on the Landsat pixels below 30 m); NDVI and albedo (float32) and the land-cover
#: classes (uint8) with Sentinel-2 or an external map; the derived land cover, urban footprint
#: and reference mask (1 byte each); the LST rasters (median, P90, anomaly, its P90 and
#: z-score in float32, n_clear int16: the NDVI, albedo and land-cover rasters are mosaicked from the
#: pieces above, or, without them, take less than they would); the zonal partials
#: (measured 1.3 on the benchmark city, counted 2).
_CKPT_LST, _CKPT_INDICES, _CKPT_DERIVED, _CKPT_PARTIALS = 4, 9, 3, 2
_CKPT_RASTERS = 5 * 4 + 2


def grid_info(geobox: Any) -> dict[str, Any]:
    """Describe a grid for the plan and the manifest (CRS, resolution, size, bounds)."""
    # EPSG code when there is one: str() of an odc-geo CRS is the text it was first made
    # from in the process (a WKT if another module made it from WKT before).
    epsg = geobox.crs.epsg
    return {
        "crs": f"EPSG:{epsg}" if epsg is not None else str(geobox.crs),
        "resolution": float(abs(geobox.resolution.x)),
        "width": int(geobox.shape[1]),
        "height": int(geobox.shape[0]),
        "bounds": [float(v) for v in geobox.boundingbox],
        "transform": [float(v) for v in tuple(geobox.transform)[:6]],
    }


def plan(config: RunConfig, *, source: str = "config") -> RunPlan:
    """Describe a run (grid, scenes, tiles, memory and disk estimates) without reading pixels.

    ``source`` names the config in messages about its inputs (its file). The zone layers and
    the census tables are read as the run reads them (their errors stop the plan with the
    run's message, their warnings are emitted), so are the headers of the external
    land-cover map and the DEM, and ``inequality.outcomes``,
    ``inequality.stratum`` and ``census.income_column`` are checked against their columns as
    the run checks them; no pixel is.
    """
    # Items found on a catalogue or an API are saved to be opened; a plan keeps none of them
    # (the run saves its own under its folder): a dry run writes nothing there.
    with tempfile.TemporaryDirectory(prefix="ilots-plan-") as items:
        searches = Searches()  # a catalogue's or API's searched once, as by the run
        check_extent_coverage(config, source=source, searches=searches)  # before the zones
        area, iris, qpv, _ = zones_and_area(config, source=source)
        inputs = resolve_inputs(config, area=area, item_dir=items, source=source, searches=searches)
        # As the run, before the grid: an area the scenes miss is said before it is planned.
        check_coverage(config, area, inputs.landsat, source=source)
        tables, census = read_census_tables(
            config, communes=set(iris["code_iris"].str[:5]), iris=iris, source=source
        )
        check_iris_columns(config, iris.columns, tables, source=source)
        geobox = analysis_grid(config, area)
        fingerprint = run_fingerprint(config, geobox, inputs, None)
    # As the run, from their headers: a map or DEM it cannot open, place or read a band of.
    landcover, dem = run_layers.planned_layers(config, geobox)
    landsat_bands(config, inputs.landsat)  # the QA bands the masks need: as the run, an error
    npix = int(geobox.shape[0] * geobox.shape[1])
    n_l, n_s2 = _scenes_read(config, inputs)
    if (overpasses := landsat_overpasses(inputs.landsat)) < config.composite.min_clear:
        warnings.warn(IlotsWarning(too_few_scenes(config, overpasses), code="no_clear_lst"),
                      stacklevel=2)  # fmt: skip
    if index_source(config, inputs) == "sentinel2" and (
        left := sentinel2_left_out(config, inputs.sentinel2)
    ):  # as the run says it
        warnings.warn(IlotsWarning(left, code=left.code), stacklevel=2)
    # On the cluster the config names, or the client of the caller's (--scheduler tcp://).
    cluster = run_tiles.on_cluster(config)
    budget = _memory_budget(config, cluster)
    fresh = tile_size(config, geobox.shape.yx, n_l, n_s2, budget=budget)
    # An interrupted run's checkpoints in the folder: the run resumes in their tile size.
    folder = Path(config.outputs.folder)
    size = run_tiles.resumed_tile_size(folder, fingerprint, fresh, cluster=cluster)
    grid_tiles = run_tiles.tiles_of(geobox, size)
    resumed = run_tiles.resumable_tiles(folder, fingerprint, grid_tiles, size)
    tiles = [_tile_plan(tile, inputs) for tile in grid_tiles]
    tile_px = max(t.shape[0] * t.shape[1] for t in tiles)
    memory = expected_memory(config, tile_px, npix, n_l, n_s2)
    return RunPlan(
        area=area.description,
        # As the run's manifest records it: the area as configured, in longitude and latitude.
        extent=area_record(area.description, area.to_crs("EPSG:4326").geometry),
        grid=grid_info(geobox),
        scenes={
            "landsat": [it.id for it in inputs.landsat],
            "sentinel2": [it.id for it in inputs.sentinel2],
        },
        skipped=inputs.skipped,
        memory_bytes=memory,
        tiles=tuple(tiles),
        checkpoint_bytes=_checkpoint_bytes(config, n_l, npix) if len(tiles) > 1 else 0,
        indices_from=_indices_from(config, inputs),
        memory_budget=budget,
        folder=_folder_note(config),
        sharpen_bytes=_BYTES_SHARPEN_PX * npix if config.sharpen.enabled else None,
        zones=f"zones: {len(iris)} IRIS" + ("" if qpv is None else f", {len(qpv)} QPV"),
        census=census_summary(census) or "",
        resumed_tiles=resumed if len(tiles) > 1 else 0,
        remote=_remote_scenes(inputs.landsat + (inputs.sentinel2 if n_s2 else ())),
        landcover=landcover,
        dem=dem,
    )


def _remote_scenes(items: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return the hosts ``items`` have files on, each with the ids of those items, sorted.

    A host as :func:`raster.sources.hrefs.remote_host` names it; local files (paths, GDAL
    archive paths) have none.
    """
    found: dict[str, list[str]] = {}
    for item in items:
        hosts = {
            remote_host(asset.get_absolute_href() or asset.href) for asset in item.assets.values()
        }
        for host in sorted(hosts - {None}):
            found.setdefault(host, []).append(item.id)
    return tuple((host, tuple(ids)) for host, ids in sorted(found.items()))


#: Config keys a tiled run's checkpointed pieces do not depend on: read only after the tiles
#: (census joins, inequality, the outputs written, scenarios, the sharpened LST made from the
#: mosaicked composites), naming the run, or saying where the work runs. A run stopped by a
#: bad census table, or resumed on a cluster, with the report in English or with sharpening
#: on, resumes from its finished tiles; any setting of the grid, inputs, masks, composites,
#: heat island, land cover, zones or tiling recomputes them.
NOT_IN_PIECES = ("name", "census", "inequality", "outputs", "scenarios", "scenario_model",
                 "sharpen", "scheduler.kind", "scheduler.address",
                 "scheduler.workers", "scheduler.worker_timeout_s")  # fmt: skip


def run_fingerprint(
    config: RunConfig, geobox: Any, inputs: Any, tile_size_px: int | None
) -> dict[str, Any]:
    """Return what a tiled run's checkpointed pieces depend on (any change: every tile anew).

    Also the files its pieces read, so that a product or zone file replaced under the same
    name (a reprocessed scene, edited IRIS) is never resumed from stale pieces; what only
    the steps after the tiles read (census tables, outputs, inequality settings) can be
    fixed and the run resumed. The tile size as given (``auto``: the size chosen is
    recorded with the checkpoints, :func:`run_tiles.checkpoints`).
    """
    return {
        # Bumped when what a checkpoint holds changes, so older ones are never resumed from.
        "checkpoint_format": run_tiles.CHECKPOINT_FORMAT,
        "ilots": ilots_version(),  # an upgrade (a mended kernel) recomputes every tile
        # A development version's own code (a pulled kernel fix: same version); not a release's
        **({"ilots_source": source} if (source := ilots_source()) is not None else {}),
        "config": config_digest(config, without=NOT_IN_PIECES),
        "grid": grid_info(geobox),
        "tile_size": tile_size_px or config.scheduler.tile_size_px,
        "items": [it.id for it in inputs.items],
        "files": _file_stamps(config, inputs),
    }


def _file_stamps(config: RunConfig, inputs: Any) -> list[tuple[str, int, int]]:
    """Path, size and modification time (ns) of every local file the tiles' pieces read.

    The config's files (zones, DEM, land-cover map, ...; not those of the sections in
    :data:`NOT_IN_PIECES`, such as the census tables joined after the tiles) and every item's
    local assets; a stat each, no reading (the manifest hashes the config's files once the
    run is done).
    """
    paths = {
        Path(p)
        for key, p in config_paths(config)
        if key.split(".")[0].split("[")[0] not in NOT_IN_PIECES
    }
    for item in inputs.items:
        for asset in item.assets.values():
            path = href_file(asset.get_absolute_href() or asset.href)
            if path is not None:
                paths.add(path)
    stamps = []
    for path in sorted(paths):
        if path.is_file():
            stat = path.stat()
            stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
    return stamps


def _folder_note(config: RunConfig) -> str:
    """Say where the run writes, and what it will do with a previous run there."""
    root = Path(config.outputs.folder)
    if not (root / "manifest.json").is_file():
        return str(root)
    if RunFolder(root).holds_comparison():  # as the run's check of its folder says it
        return (
            f"{root} holds a comparison (ilots compare), not a run: the run would stop before "
            "reading any pixel; choose another --out"
        )
    if config.outputs.overwrite:
        return f"{root} (holds a previous run, which this run replaces: outputs.overwrite)"
    return (
        f"{root} holds a previous run: the run would stop before reading any pixel; give "
        "--overwrite (outputs.overwrite: true) or another --out"
    )


def run_tile_size(config: RunConfig, shape: tuple[int, int], inputs: Any) -> int:
    """Return the tile edge a run of ``inputs`` on a grid of ``shape`` uses (:func:`tile_size`).

    On a cluster when the run computes with a client of one (the scheduler it runs on, not
    ``scheduler.kind``, which ``--scheduler`` may have replaced).
    """
    budget = _memory_budget(config, run_tiles.on_cluster())
    return tile_size(config, shape, *_scenes_read(config, inputs), budget=budget)


def _scenes_read(config: RunConfig, inputs: Any) -> tuple[int, int]:
    """Return the counts of Landsat and Sentinel-2 scenes a run reads.

    Sentinel-2: 0 when the indices come from Landsat.
    """
    n_s2 = len(inputs.sentinel2) if _indices_from(config, inputs) == "sentinel2" else 0
    return len(inputs.landsat), n_s2


def landsat_overpasses(items: Any) -> int:
    """Count the Landsat overpasses of ``items`` (adjacent rows of one overpass count once)."""
    repeated = repeated_products(list(items), tile=lambda _item: "")
    return len(items) - sum(len(group) - 1 for group in repeated)


def too_few_scenes(config: RunConfig, n_scenes: int) -> str:
    """Say that no pixel can reach ``composite.min_clear`` with the scenes of the periods."""
    return (
        f"the periods hold {n_scenes} Landsat scene(s), fewer than composite.min_clear "
        f"({config.composite.min_clear}) clear observations a pixel needs, so every composite "
        "LST is empty; add scenes (inputs, periods) or lower composite.min_clear"
    )


def tile_size(
    config: RunConfig,
    shape: tuple[int, int],
    n_landsat: int,
    n_sentinel2: int,
    *,
    budget: float | None,
) -> int:
    """Return the processing tile edge of a run: ``scheduler.tile_size_px``, or what fits.

    ``auto``: the whole grid (``shape``, rows and columns) in one piece when its
    :func:`expected_memory` is within ``budget`` bytes; else the largest multiple of
    ``chunk_px`` whose tiles' run is (its largest tile's, a narrow remainder of the grid
    included: :func:`tiles.processing.tile_spans`), at least ``chunk_px``.
    Without a budget (a cluster, or a system that does not say its memory):
    :data:`FIXED_TILE_PX`.
    """
    size = config.scheduler.tile_size_px
    if size != "auto":
        return int(size)
    chunk = config.scheduler.chunk_px
    if budget is None:
        return max(chunk, FIXED_TILE_PX)
    ny, nx = shape
    grid_px = ny * nx
    edge = -(-max(ny, nx) // chunk) * chunk  # one tile
    while edge > chunk:
        rows, cols = (max(stop - start for start, stop in tile_spans(n, edge)) for n in shape)
        tile_px = rows * cols
        if expected_memory(config, tile_px, grid_px, n_landsat, n_sentinel2) <= budget:
            return edge
        edge -= chunk
    return chunk


def _memory_budget(config: RunConfig, cluster: bool) -> int | None:
    """Bytes a run with ``tile_size_px: auto`` may plan for; None on a cluster or when unknown."""
    if config.scheduler.tile_size_px != "auto" or cluster:
        return None
    total = physical_memory()
    return int(AUTO_MEMORY_SHARE * total) if total else None


def expected_memory(
    config: RunConfig, tile_px: int, grid_px: int, n_landsat: int, n_sentinel2: int
) -> int:
    """Return the expected peak memory of a run, in bytes (see the constants above).

    Parameters
    ----------
    config
        The run's config (resolution, chunk size, mask dilation, worker threads).
    tile_px, grid_px
        Pixels of the largest processing tile and of the whole grid.
    n_landsat, n_sentinel2
        Scenes the run reads (Sentinel-2: 0 when the indices come from elsewhere).
    """
    resolution = config.grid.resolution
    # Below 30 m (and without mask dilation) the LST series stays on the Landsat pixels.
    dilate = config.mask.dilate_pixels(resolution)
    on_landsat_pixels = resolution < LANDSAT_PIXEL_M and dilate == 0
    landsat_px = (resolution / LANDSAT_PIXEL_M) ** 2 if on_landsat_pixels else 1.0
    chunk_px = min(config.scheduler.chunk_px**2, tile_px)
    threads = max(2, config.scheduler.workers or CPU_COUNT)
    s2_read = n_sentinel2 * chunk_px * (resolution / _S2_PIXEL_M) ** 2 * threads / 2
    memory = (
        _BYTES_FIXED
        + tile_px * (_BYTES_PER_TILE_PX + _BYTES_PER_LANDSAT_PX * n_landsat * landsat_px)
        + _BYTES_PER_S2_SOURCE_PX * s2_read
        + (_BYTES_GRID_TILED * grid_px if tile_px < grid_px else 0)
    )
    return int(memory)


def _indices_from(config: RunConfig, inputs: Any) -> str:
    """Where the run takes its indices: ``index_source``, or ``none`` without reflectance."""
    source = index_source(config, inputs)
    need = sentinel2_needs(config)
    if source == "sentinel2" and not any(need <= set(it.assets) for it in inputs.sentinel2):
        source = "landsat"  # as the run: no usable Sentinel-2 product
    if source == "landsat" and not all(
        LANDSAT_NDVI_BANDS <= set(item.assets) for item in inputs.landsat
    ):
        return "none"
    return source


def _checkpoint_bytes(config: RunConfig, n_landsat: int, npix: int) -> int:
    """Upper estimate of the checkpoints of a run in several tiles, in bytes."""
    resolution = config.grid.resolution
    # Below 30 m (and without mask dilation) the LST is kept on the Landsat pixels.
    dilate = config.mask.dilate_pixels(resolution)
    on_landsat_pixels = resolution < LANDSAT_PIXEL_M and dilate == 0
    lst = _CKPT_LST * n_landsat * ((resolution / LANDSAT_PIXEL_M) ** 2 if on_landsat_pixels else 1)
    per_px = lst + _CKPT_INDICES + _CKPT_DERIVED + _CKPT_RASTERS + _CKPT_PARTIALS
    return int(npix * per_px)


def _tile_plan(tile: Any, inputs: Any) -> TilePlan:
    """Count the scenes of each sensor whose footprint meets the tile."""
    extent = tile.geobox.extent.to_crs("EPSG:4326").geom
    counts = {}
    for sensor, items in (("landsat", inputs.landsat), ("sentinel2", inputs.sentinel2)):
        counts[sensor] = sum(
            1 for it in items if it.geometry is None or shape(it.geometry).intersects(extent)
        )
    return TilePlan(tile.name, tuple(tile.geobox.shape.yx), counts)
