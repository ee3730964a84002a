"""``ilots run``: the end-to-end pipeline of a config, in processing tiles (``run_tiles``).

Stages: the lazy graph of :mod:`pipelines.run_graph` (grid, scenes, land cover, reference
pixels) -> per-scene references from tile sums -> per-scene LST anomaly (and z-score) ->
temporal composites -> zonal statistics per IRIS and QPV -> (``sharpen``) the LST composite
sharpened with the NDVI composite -> SUHII -> census join and QPV overlay -> percentile
ranks -> inequality -> run folder (rasters, zones.gpkg, zones/<layer>.parquet,
heat_island.json, inequality.json/.csv, config.yaml, manifest.json).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import glob
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from dask.system import CPU_COUNT
from rasterio.errors import NotGeoreferencedWarning
from threadpoolctl import threadpool_limits

from pipelines import run_layers, run_tiles
from pipelines.census import join_tables, open_layer
from pipelines.census.filosofi import implausible_income
from pipelines.census.overlay import iris_qpv_overlaps, overlay_table
from pipelines.config import (
    RunConfig,
    apply_overrides,
    config_digest,
    config_paths,
    dump_config,
)
from pipelines.config._types import has_glob
from pipelines.config.load import portable_root
from pipelines.heat_island import heat_island_summary
from pipelines.inequality import percentile_ranks, run_inequality, zone_roles
from pipelines.inequality.shared import SharedDraws
from pipelines.mask_counts import MaskCounts, count_mask_steps, mask_counts_text
from pipelines.outputs import (
    GraduatedStyle,
    RunFolder,
    build_manifest,
    default_zone_styles,
    write_geoparquet,
    write_inequality,
    write_json_atomic,
    write_manifest,
    write_rasters,
    write_zones_gpkg,
    zone_layer_description,
)
from pipelines.outputs._atomic import WrittenFiles, probe_folder, recorded_writes, staged
from pipelines.outputs.folder import claimed
from pipelines.outputs.geopackage import (
    RunInputs,
    check_closed,
    index_means_with_values,
    landcover_map_source,
    zone_layer_metadata,
)
from pipelines.outputs.lock import JobHold, run_folder_lock, sweep_temporaries
from pipelines.outputs.manifest import area_record, output_record, sha256_file
from pipelines.outputs.rasters import map_year_tags, period_tags
from pipelines.outputs.stale import (
    describe_previous_run,
    folder_clock,
    is_input,
    previous_outputs,
    remove_stale_outputs,
    remove_stale_rasters,
)
from pipelines.outputs.tables import with_synthetic_mark
from pipelines.progress import progress_stage
from pipelines.report import Messages, build_report
from pipelines.report.data import RASTERS_READ
from pipelines.run_census import (
    census_years_note,
    check_iris_columns,
    income_advice,
    qpv_without_iris_note,
    read_census_tables,
)
from pipelines.run_graph import derive_layers, floored_note, scene_graph, zones_in_area
from pipelines.run_plan import (
    RunPlan,
    TilePlan,
    grid_info,
    plan,
    run_fingerprint,
    run_tile_size,
    too_few_scenes,
)
from pipelines.run_sharpen import SHARPENED, sharpen_composite, sharpen_record
from pipelines.scheduler import (
    LOCAL_SCHEDULERS,
    cluster_record,
    config_scheduler,
    scheduler_context,
    version_mismatches,
    worker_warnings,
)
from pipelines.zone_columns import (
    ANOMALY_COLUMNS,
    ANOMALY_VALID_FRAC,
    LOW_CLEAR_AREA,
    RANKED,
    ZONE_STATISTICS,
    landcover_column,
    rank_columns,
)
from raster.composite import temporal_composite
from raster.heat_island import (
    lst_anomaly,
)
from raster.index_composite import FLOORED
from raster.landcover import CLASS_NAMES
from raster.load import native_window, skip_damaged_reads
from raster.sources.hrefs import href_file
from tiles.allocator import frozen_heap, numpy_hugepage_advice, tune_allocator
from tiles.errors import (
    ConfigError,
    IlotsWarning,
    InequalityError,
    LayerNotFoundError,
    OutputExistsError,
    WarningText,
    collected_warnings,
    warning_text,
)
from tiles.grid import LANDSAT_PIXEL_M

__all__ = ["RunPlan", "RunResult", "TilePlan", "plan", "run", "scheduler_context"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Land-cover class code -> name (:data:`raster.landcover.CLASS_NAMES` without no data).
LANDCOVER_NAMES = {code: name for code, name in CLASS_NAMES.items() if code}


@dataclass
class RunResult:
    """The outcome of a run: its folder, the per-zone tables and the stage timings."""

    folder: Path
    zones: dict[str, gpd.GeoDataFrame]
    inequality: Any
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    heat_island: dict[str, Any] | None = None
    report: Path | None = None
    sharpen: dict[str, Any] | None = None  # the sharpened LST's fit (manifest extra.sharpen)
    census: dict[str, Any] | None = None  # the census tables' files and years (extra.census)
    synthetic: bool = False  # read the demo's synthetic inputs (extra.synthetic)
    duration_s: float | None = None  # start to manifest, as manifest.json and the report say

    def summary(self, with_warnings: bool = True) -> str:
        """Lines for the terminal.

        ``with_warnings=False``: without the run's warnings (``ilots run`` writes them to
        stderr).
        """
        total = self.duration_s if self.duration_s is not None else sum(self.timings.values())
        lines = [f"run folder: {self.folder} ({total:.1f} s)"]
        iris = self.zones.get("iris")
        if iris is not None and "lst_anomaly_mean_k" in iris:
            col = iris["lst_anomaly_mean_k"]
            if not col.notna().any():
                lines.append("IRIS LST anomaly: none (no IRIS has a value; see the warnings)")
            else:
                lines.append(
                    f"IRIS LST anomaly (K): min {col.min():.1f}, median {col.median():.1f}, "
                    f"max {col.max():.1f} over {int(col.notna().sum())} IRIS"
                )
        composite = (self.heat_island or {}).get("composite") or {}
        if composite.get("suhii_k") is not None:
            lines.append(
                f"SUHII (median of the scene anomalies): {composite['suhii_k']:+.2f} K over "
                f"{composite['urban_pixels']} urban and {composite['rural_pixels']} rural pixels"
            )
        if self.report is not None:
            lines.append(f"report: {self.report}")
        if with_warnings:
            lines += [f"warning: {message}" for message in self.warnings]
        return "\n".join(lines)


#: What the progress bar of each timed stage says (the stage's name otherwise).
STAGE_LABELS = {
    "reference": "rural reference",
    "read": "reading the inputs",
    "coverage": "zone coverage",
    "tiles": "rasters and zonal statistics",
    "rasters": "writing the rasters",
    "sharpen": "sharpening the LST",
}


class _Timer:
    """Time the stages of a run (``manifest.json``); each is a stage of the progress bar."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            with progress_stage(STAGE_LABELS.get(stage, stage.replace("_", " "))):
                yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


def _zone_table(
    table: pd.DataFrame,
    frac: pd.DataFrame,
    id_col: str,
    *,
    min_valid_frac: float = 0.0,
    min_clear_area_frac: float = 0.0,
    water_excluded: bool = False,
) -> pd.DataFrame:
    """Build the per-zone columns of a run from the zonal tables of its merged tile partials.

    A zone whose share of covered area with a composite LST (``valid_frac``: pixels with at
    least ``composite.min_clear`` clear scenes) is below ``min_valid_frac`` gets no LST
    value: a few clear pixels in one corner do not describe it (science.md §6.2). The ΔT
    columns (:data:`ANOMALY_COLUMNS`) are gated alike on the median ΔT's own share
    (``anomaly_valid_frac``, a column too): ΔT rests on the scenes with a reference, which
    can be fewer than the LST's (a scene whose rural reference is too cloudy has none), so a
    zone can have an LST and no ΔT. Below
    ``min_clear_area_frac`` of either share it is flagged, ``low_clear_area`` (§5). With
    water left out of the LST (``water_excluded``), the shares are of the zone's land
    (:func:`_land_valid_frac`): water has no LST whatever the clouds (a riverside IRIS is not
    "cloudy").
    """
    out = pd.DataFrame({id_col: table[id_col]})
    for column, (layer, statistic) in ZONE_STATISTICS.items():
        source = f"{layer}_{statistic}"
        if source in table:
            out[column] = table[source]
        elif column == "albedo_mean":  # no albedo without the blue and SWIR 2.2 bands
            out[column] = np.nan
        elif column != "lst_zscore_mean":  # only with composite.anomaly_method zscore
            raise KeyError(f"zonal table without {source!r}")
    shares = _class_shares(frac, id_col)
    if water_excluded:
        for column in ("valid_frac", ANOMALY_VALID_FRAC):
            out[column] = _land_valid_frac(out[column], frac, shares["water"])
    anomaly_frac = out[ANOMALY_VALID_FRAC]
    lst = [c for c in out.columns if c.startswith("lst_")]
    delta = [c for c in lst if c in ANOMALY_COLUMNS]
    # NaN: a zone the grid does not cover. ΔT's pixels are among the LST's, so a zone
    # without an LST has no ΔT either.
    few = ~(out["valid_frac"] >= min_valid_frac)
    out.loc[few, lst] = np.nan
    out.loc[~(anomaly_frac >= min_valid_frac), delta] = np.nan
    clear = (out["valid_frac"] >= min_clear_area_frac) & (anomaly_frac >= min_clear_area_frac)
    out[LOW_CLEAR_AREA] = ~clear
    for name, share in shares.items():
        out[landcover_column(name)] = share
    return out


def _land_valid_frac(
    valid_frac: pd.Series | np.ndarray, frac: pd.DataFrame, water: np.ndarray
) -> np.ndarray:
    """Each zone's share of its land with a value of a layer (NaN: no land, or not on the grid).

    Land is the zone's area less what the land cover calls water (its unclassified pixels
    are land), in both terms: the area with a value (``valid_frac``, the layer's share of
    the zone; the run's LST and ΔT are NaN on the land cover's water,
    ``run_tiles.tile_pieces``), over the area less the water (``water``, the share of the
    classified area, times that area's share of the zone; NaN, no classified pixel: no
    water).
    """
    water_area = np.nan_to_num(water) * frac["valid_frac"].to_numpy(dtype=float)
    land = 1.0 - water_area
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(land > 0, np.asarray(valid_frac, dtype=float) / land, np.nan)
    # The two terms are sums in different orders: a zone whose land all has an LST is
    # 1 +- 1e-15, made 1 exactly (its pixels are a subset: anything more is not rounding).
    return np.where(np.abs(share - 1.0) <= 1e-9, 1.0, share)


def _class_shares(frac: pd.DataFrame, id_col: str) -> dict[str, np.ndarray]:
    """Each land-cover class's share of each zone, by :data:`LANDCOVER_NAMES`.

    The frac statistic gives 0 for a class absent from a zone and NaN for every class of a
    zone without a classified pixel (all masked, or outside the land cover): that zone has
    no shares, not 0 % of each. A class absent from the whole grid has no column: 0 %.
    """
    classes = [c for c in frac.columns if c != id_col and _frac_code(c) is not None]
    empty = frac[classes].isna().all(axis=1).to_numpy() if classes else np.ones(len(frac), bool)
    shares = {}
    for code, name in LANDCOVER_NAMES.items():
        cols = [c for c in classes if _frac_code(c) == code]
        share = frac[cols[0]].to_numpy(dtype=float) if cols else np.zeros(len(frac))
        shares[name] = np.where(empty, np.nan, np.nan_to_num(share))
    return shares


def _with_percentile_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Add the "hotter than X %" columns of :data:`RANKED` (science.md §7.5).

    ``<prefix>_hotter_than_pct``: share of the other zones of the layer (the IRIS, the QPV)
    with a lower value (%), over the zones with a value; with a population column,
    ``<prefix>_hotter_than_residents_pct``: share of the residents of the other zones
    (zones with a population).
    """
    out = table.copy()
    for column, prefix in RANKED.items():
        if column not in out:
            continue
        over_zones, over_residents = rank_columns(prefix)
        ranks = percentile_ranks(out[column])
        out[over_zones] = ranks["hotter_than_pct"].to_numpy()
        if "population" in out:
            weighted = percentile_ranks(out[column], weights=out["population"])
            out[over_residents] = weighted["hotter_than_residents_pct"].to_numpy()
    return out


#: Share of the IRIS without a composite LST or ΔT above which a run says so (below it, the
#: report's maps and quality section show them; all of them: :func:`no_clear_note`).
FEW_CLEAR_SHARE = 0.1


def _coarse_grid_cause(config: RunConfig) -> str | None:
    """Why fewer pixels are clear on a grid coarser than the Landsat pixels, or None."""
    if config.grid.resolution <= LANDSAT_PIXEL_M or config.grid.resampling == "nearest":
        return None
    return (
        f"on a {config.grid.resolution:g} m grid a pixel is clear only where every "
        f"{LANDSAT_PIXEL_M:g} m Landsat pixel under it is (a finer grid.resolution keeps more)"
    )


def few_clear_note(
    config: RunConfig, without: int, total: int, without_delta: int = 0
) -> WarningText:
    """Say that many IRIS (not all) have no composite LST, or no composite ΔT, and what to do.

    ``without``: the IRIS without an LST; ``without_delta``: those with an LST but no ΔT
    (its own share, of the scenes with a reference, under ``zones.min_valid_frac``). Both
    are left out of the inequality statistics of ΔT.
    """
    coarse = f"; {cause}" if (cause := _coarse_grid_cause(config)) else ""
    land = "land" if not config.mask.lst_keep_water else "area"
    clear = (
        f"the share of their {land} clear on at least composite.min_clear "
        f"({config.composite.min_clear}) scenes"
    )
    under = f"is under zones.min_valid_frac ({config.zones.min_valid_frac:g})"
    parts = []
    if without:
        parts.append(
            f"{without} of {total} IRIS have no composite LST: {clear} {under}{coarse}. Their "
            "LST columns are empty and they are left out of the inequality statistics"
        )
    if without_delta:
        who = f"{without_delta} more" if without else f"{without_delta} of {total} IRIS"
        parts.append(
            f"{who} have a composite LST but no composite ΔT: {clear} with a reference "
            f"(heat_island.min_reference_pixels, heat_island.min_reference_frac) {under}"
            f"{'' if without else coarse}. Their ΔT columns are empty and they are left out "
            "of the inequality statistics of ΔT"
        )
    fix = "add scenes (inputs, periods), or lower composite.min_clear or zones.min_valid_frac"
    if without_delta:
        fix += " (for ΔT, also heat_island.min_reference_pixels or min_reference_frac)"
    return WarningText(". ".join(parts) + f"; {fix}", "few_clear_lst")


def few_clear_counts(iris: pd.DataFrame) -> tuple[int, int]:
    """Count the IRIS without a composite LST, and those with one but without a ΔT.

    Only the IRIS on the grid (a ``valid_frac``) are counted: one without land has no share.
    When no IRIS has a ΔT, none is counted without one: no scene kept a rural reference, which
    the heat island's warnings say (``no_clear_pixels``, ``empty_mask``), with their fix.
    """
    covered = iris["valid_frac"].notna()
    without = iris["lst_mean_k"].isna() & covered
    delta = iris["lst_anomaly_mean_k"]
    if not delta.notna().any():
        return int(without.sum()), 0
    without_delta = delta.isna() & covered & ~without
    return int(without.sum()), int(without_delta.sum())


def no_clear_note(
    config: RunConfig, n_scenes: int, too_cloudy: int = 0, counts: MaskCounts | None = None
) -> WarningText:
    """Say that no IRIS has a composite LST, why it can be, and what to change.

    ``too_cloudy``: the scenes ``inputs.max_cloud_cover`` left out (named only when some were);
    ``counts``: what each mask step kept over the IRIS (:func:`count_mask_steps`), said when
    given.
    """
    min_clear = config.composite.min_clear
    if n_scenes < min_clear:  # the plain cause: no pixel can reach min_clear
        return WarningText(
            f"no IRIS has a composite LST: {too_few_scenes(config, n_scenes)}", "no_clear_lst"
        )
    causes = [cause] if (cause := _coarse_grid_cause(config)) else []
    mask = config.mask
    if mask.st_qa_max_k is not None:  # humid scenes' ST_QA is above 2 K over whole scenes
        causes.append(
            f"mask.st_qa_max_k drops pixels whose ST_QA uncertainty exceeds {mask.st_qa_max_k:g} "
            "K, which in humid air can be every pixel of a scene: raise it or set it to null"
        )
    if mask.cdist_min_km is not None:
        causes.append(f"mask.cdist_min_km drops pixels within {mask.cdist_min_km:g} km of a cloud")
    if config.inputs.max_cloud_cover is not None and too_cloudy:
        causes.append(
            f"inputs.max_cloud_cover ({config.inputs.max_cloud_cover:g}, in percent) left out "
            f"{too_cloudy} cloudier scene(s)"
        )
    also = f" ({'; '.join(causes)})" if causes else ""
    said = f"{text}. " if counts is not None and (text := mask_counts_text(config, counts)) else ""
    return WarningText(
        f"no IRIS has a composite LST: over every IRIS the {n_scenes} Landsat scene(s) in the "
        f"periods are cloud, shadow or fill (mask.landsat_preset "
        f"'{config.mask.landsat_preset}'), or fewer than composite.min_clear "
        f"({min_clear}) are clear on more than zones.min_valid_frac "
        f"({config.zones.min_valid_frac:g}) of its land{also}; the LST columns are empty. "
        f"{said}Add scenes (inputs, periods), or lower composite.min_clear or "
        "zones.min_valid_frac",
        "no_clear_lst",
    )


def _inequality_reports(config: RunConfig, table: pd.DataFrame, notes: list[str]) -> dict:
    """Cross each configured outcome with income (science.md §7); the first is the primary.

    Without an income column, or with no IRIS matched to an income, nothing is computed
    (a note says why). An outcome absent from the IRIS table, without values, or that cannot
    be crossed (the same value in every IRIS, fewer than 3 IRIS with income) is skipped with
    a note.
    """
    census, ineq = config.census, config.inequality
    if census is None:
        notes.append("no income column: inequality statistics skipped")
        return {}
    income = census.income_in(table.columns)
    if income is None:
        notes.append(
            f"census.income_column: the IRIS table has no column {census.income_column!r}, so "
            f"inequality statistics are skipped; {income_advice(map(str, table.columns))}"
        )
        return {}
    if not pd.to_numeric(table[income], errors="coerce").notna().any():
        notes.append(
            f"census: no IRIS of the run has a value of {income!r}: inequality statistics "
            "skipped; check that the Filosofi table covers the area's communes and matches "
            "the IRIS layer's millésime"
        )
        return {}
    roles = zone_roles(
        table, income=income, population_weighted=ineq.population_weighted, stratum=ineq.stratum
    )
    if ineq.population_weighted and roles["population"] is None:
        notes.append(
            "inequality.population_weighted: the IRIS table has no population column (set "
            "census.population, or census.population_column to a column of zones.iris), so "
            "the inequality statistics weigh every IRIS alike"
        )
    outcomes = []
    for outcome in ineq.outcomes:
        if outcome not in table:
            notes.append(f"inequality.outcomes: no per-IRIS column {outcome!r}; skipped")
        elif not pd.to_numeric(table[outcome], errors="coerce").notna().any():
            notes.append(f"inequality.outcomes: no IRIS has a value of {outcome!r}; skipped")
        else:
            outcomes.append(outcome)
    if ineq.stratum is not None and ineq.stratum not in table:
        notes.append(f"inequality.stratum: no per-IRIS column {ineq.stratum!r}; no strata")
    if census.filosofi is None:  # else read_filosofi warned of it: the run says it once
        values = pd.to_numeric(table[income], errors="coerce").to_numpy(dtype=float)
        implausible = implausible_income(income, values)
        if implausible:
            notes.append(f"census.income_column: {implausible}")

    shared = SharedDraws()  # the outcomes' draws and weights, made once

    def one(outcome: str) -> Any:
        try:
            bounds = outcome_bounds(outcome)
            scale = ineq.interval_scale.get(outcome)  # None: the name decides
            return run_inequality(
                table,
                outcome=outcome,
                bounds=bounds,
                interval_scale=scale,
                check_income=False,  # said once above, or by read_filosofi
                shared=shared,
                **roles,
                **ineq.run_options(),
            )
        except InequalityError as err:  # e.g. the same value in every IRIS, < 3 with income
            return err

    # Each outcome only reads the table, and its draws are the other outcomes' (the same
    # seeded streams, made once in ``shared`` by the first outcome to need them): they run
    # side by side (the bootstrap's numba kernels and NumPy's draws release the GIL), each
    # with the run's one BLAS thread: OpenBLAS's own threads spin on the cores the outcomes
    # and the COG encoding share (measured with one OpenBLAS thread: 1.3 → 0.8 s for the
    # benchmark's three).
    workers = max(1, min(len(outcomes), CPU_COUNT))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = dict(zip(outcomes, pool.map(one, outcomes), strict=True))
    for outcome, result in results.items():
        if isinstance(result, InequalityError):
            notes.append(f"inequality.outcomes: {outcome!r} skipped: {result}")
    return {k: v for k, v in results.items() if not isinstance(v, InequalityError)}


def outcome_bounds(column: str) -> tuple[float, float] | None:
    """Return the range of a bounded per-zone column of the run, for the Erreygers index.

    NDVI lies in [−1, 1]; albedo and the land-cover and valid shares in [0, 1]. Other columns
    (temperatures, counts) have no bounds the index could use.
    """
    if column.startswith("ndvi_"):
        return (-1.0, 1.0)
    if column.startswith("albedo_") or column.endswith("_frac"):
        return (0.0, 1.0)
    return None


def _frac_code(column: str) -> int | None:
    tail = column.rsplit("_", 1)[-1]
    try:
        return int(float(tail))
    except ValueError:
        return None


def run(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    overwrite: bool | None = None,
    tile_size_px: int | None = None,
    source: str = "config",
) -> RunResult:
    """Run the whole pipeline of ``config`` and write its run folder.

    Parameters
    ----------
    config
        A validated config (:func:`pipelines.config.load_config`).
    out
        Run folder; default ``config.outputs.folder``.
    overwrite
        Replace a previous run in the run folder (``ilots run --overwrite``); default
        ``config.outputs.overwrite``. Said for this run only: the ``config.yaml`` it records
        keeps the config's own value, so that running that file again is refused there.
    tile_size_px
        Processing tile edge in pixels, overriding ``scheduler.tile_size_px`` (which is at
        least 512); small values are for tests that force a grid into several tiles.
    source
        How messages about the inputs name the config (its file, as ``ilots run`` gives).

    Returns
    -------
    RunResult
    """
    tune_allocator()  # chunk-sized buffers reused, not page-faulted afresh (tiles.allocator)
    with contextlib.ExitStack() as stack:
        if dask.config.get("scheduler", None) is None:  # none chosen (a distributed Client
            # or scheduler_context sets one): the config's, as `ilots run` would
            stack.enter_context(
                scheduler_context(config_scheduler(config), None, config.scheduler.workers)
            )
        stack.enter_context(_process_settings())
        return _run_to_folder(config, out, overwrite, tile_size_px, source)


_settings_lock = threading.Lock()
_settings_users = 0
_settings_made: contextlib.ExitStack | None = None


@contextlib.contextmanager
def _process_settings() -> Iterator[None]:
    """Make the process-wide settings of a run; overlapping runs share them.

    The first of overlapping runs (threads of one process) makes them and the last undoes
    them, so that none is left behind. GC passes skip what the imports and the caller made;
    NumPy asks for no huge pages, whose first touch can stall on memory compaction (both in
    tiles.allocator). One BLAS thread, as dask.distributed's workers have: the run's
    parallelism is Dask's, and OpenBLAS's own threads spin on the cores after each call
    (0.17 CPU-s of the benchmark run, in the reference sums' dot products, beside the
    inequality's fits).
    """
    global _settings_users, _settings_made
    with _settings_lock:
        if _settings_users == 0:
            made = contextlib.ExitStack()
            made.enter_context(frozen_heap())
            made.enter_context(numpy_hugepage_advice(False))
            made.enter_context(threadpool_limits(limits=1, user_api="blas"))
            _settings_made = made
        _settings_users += 1
    try:
        yield
    finally:
        with _settings_lock:
            _settings_users -= 1
            if _settings_users == 0 and _settings_made is not None:
                _settings_made.close()
                _settings_made = None


def _run_to_folder(
    config: RunConfig,
    out: str | Path | None,
    overwrite: bool | None,
    tile_size_px: int | None,
    source: str = "config",
) -> RunResult:
    if out is not None:
        config = apply_overrides(config, {"outputs.folder": str(Path(out).resolve())})
    _check_folder(config, config.outputs.overwrite if overwrite is None else overwrite)
    with run_folder_lock(config.outputs.folder):  # a second run into the folder stops at once
        sweep_temporaries(config.outputs.folder)  # what a killed run left half-written
        folder = RunFolder(Path(config.outputs.folder))
        previous = previous_outputs(folder)
        replaced = describe_previous_run(folder)
        if replaced is not None:  # said before any file of it goes: Ctrl-C still keeps it
            logger.warning(
                "%s holds %s: this run replaces it (--overwrite, outputs.overwrite); stop now "
                "(Ctrl-C) to keep it, or give another --out",
                config.outputs.folder,
                replaced,
            )
        with recorded_writes(config.outputs.folder) as wrote:  # the outputs it lists
            return _locked_run(config, tile_size_px, source, previous, wrote)


def _locked_run(
    config: RunConfig,
    tile_size_px: int | None,
    source: str,
    previous: list[Path] | None,
    wrote: WrittenFiles,
) -> RunResult:
    started = dt.datetime.now(dt.UTC)
    # The files with this time or a later one are the run's: those it wrote.
    since = folder_clock(config.outputs.folder)
    timer = _Timer()
    report_possible = bool({"gpkg", "parquet"} & set(config.outputs.zone_formats))
    with (
        warnings.catch_warnings(record=True) as caught,
        collected_warnings() as ours,
        worker_warnings() as relayed,  # those of tasks in other processes: collected too
    ):
        warnings.simplefilter("always")
        # A cluster's other libraries, said as it was checked (scheduler_context): recorded.
        for message in version_mismatches():
            warnings.warn(IlotsWarning(message, code="cluster_versions"), stacklevel=1)
        # The COGs are encoded in this thread while the tables and the report are written
        # (GDAL releases the GIL); the run waits for them before it ends.
        with _InputHashes() as hashes, _cog_thread() as cogs:
            try:
                with _on_damaged(config):
                    result = _run(config, timer, tile_size_px, cogs, hashes, source)
            except BaseException:
                hashes.stop()  # the error (or Ctrl-C) is said without waiting for the hashes
                raise
            folder = RunFolder(result.folder)
            inputs = _input_paths(config, result._products[0].local)  # type: ignore[attr-defined]
            written = _Written(wrote, inputs)
            futures = result._cogs  # type: ignore[attr-defined]
            # Before the report, which would show a previous run's scenarios as this run's.
            remove_stale_outputs(
                folder, previous, since=since, inputs=inputs, writing=_cog_files(folder, futures)
            )
            folder.previous_manifest.unlink(missing_ok=True)  # its outputs are gone
            if config.outputs.report and report_possible:
                # The report reads the manifest (warnings, timings), given here as it stands
                # (no output listed), and the rasters of RASTERS_READ, waited for. No
                # manifest.json until the run is whole: a run killed meanwhile is not taken
                # for a finished one, and the same command resumes it.
                _check_cogs(futures)  # a COG that failed stops the run before the report
                for name in RASTERS_READ & futures.keys():
                    futures[name].result()
                relayed()
                early = _manifest(
                    config, result, timer, caught, ours, started, written, settled=False
                )
                early["duration_until"] = "report"  # the whole run's is the manifest's
                result.report = build_report(
                    folder.root, lang=config.outputs.report_language, manifest=early
                )
            digests: dict[str, str] = {}
            for cog in dict.fromkeys(futures.values()):
                digests.update(cog.result())
            remove_stale_rasters(folder, written=set(futures), previous=previous)
    run_tiles.remove_checkpoints(folder.root)  # after the COGs: a tiled mosaic reads them
    manifest = _manifest(config, result, timer, caught, ours, started, written, digests=digests)
    if config.outputs.report and not report_possible:
        manifest["warnings"].append(
            "report.html not written: it maps the zones, so outputs.zone_formats needs gpkg "
            "or parquet"
        )
        manifest["warning_codes"].append(None)
    write_manifest(folder.manifest, manifest)
    # With their kinds: the CLI's run log writes them (those said at the end) with theirs.
    result.warnings = [
        WarningText(text, code)
        for text, code in zip(manifest["warnings"], manifest["warning_codes"], strict=True)
    ]
    result.timings = timer.timings
    result.duration_s = manifest["duration_s"]
    return result


def _on_damaged(config: RunConfig) -> contextlib.AbstractContextManager[Any]:
    """Skip the damaged blocks of band files, warning of each file, under ``on_damaged: skip``."""
    if config.inputs.on_damaged == "skip":
        return skip_damaged_reads()
    return contextlib.nullcontext()


def _manifest(
    config: RunConfig,
    result: RunResult,
    timer: _Timer,
    caught: list,
    ours: list[WarningText],
    started: dt.datetime,
    written: _Written,
    settled: bool = True,
    digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the manifest of the run folder as it stands (the files the run wrote listed).

    ``settled=False`` while the COGs are still being encoded: the report's copy, given to it
    in memory, which lists no output (the report does not read them; the final manifest,
    written last, lists them all).
    ``digests``: the COGs' SHA-256, taken as they were written (:func:`_write_cogs`).
    ``written`` gives the run's files, not the others: an input kept in the folder, a
    user's notes or QGIS project saved there (before or during the run), which would be
    hashed as outputs and which the next run would remove as this one's
    (:func:`~pipelines.outputs.stale.remove_stale_outputs`).
    """
    # Not for users: library deprecations, and rasterio's NotGeoreferencedWarning about its own
    # in-memory datasets (warp, rasterize), which rasterio silences with warnings filters that
    # other threads' filters undo (seen in threaded runs only); ilots checks its inputs' CRS
    # and transform itself (ReadError).
    chatter = (DeprecationWarning, PendingDeprecationWarning, FutureWarning,
               NotGeoreferencedWarning)  # fmt: skip
    recorded = [
        warning_text(w.message)  # with its kind, for the report
        for w in caught
        if not issubclass(w.category, chatter) and not str(w.message).startswith(_CHATTER)
    ]
    # ilots' own are all in `ours`, however other threads swapped the filters (tiles.errors).
    # The config's deprecated keys were said when it was read, before the run: first here.
    deprecated = [WarningText(t, "deprecated_key") for t in config.pixel_key_warnings()]
    messages = list(dict.fromkeys(deprecated + recorded + ours))
    folder = RunFolder(result.folder.resolve())
    figures = folder.figures  # listed as one folder record
    # Every file the run wrote but hidden ones (the commit mark of a staged write), the
    # figures (one record) and the manifest itself (written after this list).
    wrote = written() if settled else []
    outputs = [
        path for path in wrote
        if not any(part.startswith(".") for part in path.relative_to(folder.root).parts)
        and figures not in path.parents and path != folder.manifest
    ]  # fmt: skip
    products, hashes = result._products  # type: ignore[attr-defined]
    config_files = [str(Path(p).resolve()) for _k, p in config_paths(config) if Path(p).is_file()]
    manifest = build_manifest(
        config=config.model_dump(mode="json"),
        inputs=[*config_files, *(p for p in products.local if p not in config_files)],
        hash_inputs=config.outputs.hash_inputs and settled,  # the report reads no digest
        area=result._area,  # type: ignore[attr-defined]
        grid=result._grid,  # type: ignore[attr-defined]
        timings=dict(timer.timings),
        warnings=messages + result.warnings,
        outputs=outputs,
        extra={
            "config_digest": config_digest(config),
            "synthetic": result.synthetic,
            "suhii_k": ((result.heat_island or {}).get("composite") or {}).get("suhii_k"),
            **({"sharpen": result.sharpen} if result.sharpen is not None else {}),
            **({"census": result.census} if result.census is not None else {}),
            **({"cluster": cluster} if (cluster := cluster_record()) is not None else {}),
        },
        started=started,
        finished=dt.datetime.now(dt.UTC),
        known_digests={**(digests or {}), **(hashes.result() if settled else {})},
        remote_inputs=products.remote,
        outputs_root=result.folder,
        # Inputs in the run folder, or in the demo or project folder around it, are recorded
        # relative to it, as its config.yaml gives them: the whole folder can move.
        inputs_root=portable_root(result.folder.resolve()),
    )
    if settled and figures.is_dir():
        manifest["outputs"].append(output_record(figures, result.folder, only=wrote))
    return manifest


@dataclass(frozen=True)
class _Written:
    """The files of the run folder the run wrote (called: resolved, sorted).

    Those it put in place (``files``: :func:`~pipelines.outputs._atomic.recorded_writes`),
    not a file saved there by someone else, and not one of its ``inputs`` (the folder's
    ``config.yaml`` given as the config, which the run writes again).
    """

    files: WrittenFiles
    inputs: tuple[Path, ...]

    def __call__(self) -> list[Path]:
        return [path for path in self.files() if not is_input(path, self.inputs)]


def _input_paths(config: RunConfig, local: Iterable[str]) -> tuple[Path, ...]:
    """Return the run's local inputs, resolved.

    The config's files and folders, the files its globs match, and the product files the
    run read (``local``).
    """
    given = [Path(p) for p in local]
    for _key, path in config_paths(config):
        given += (
            [Path(p) for p in glob.glob(str(path), recursive=True)] if has_glob(path) else [path]
        )
    return tuple(dict.fromkeys(p.resolve() for p in given))


#: Starts of library warnings a user cannot act on: distributed's advice on the size of the
#: graph it sends to a cluster (the run's inputs are read by the workers, not sent).
_CHATTER = ("Sending large graph",)


def _replaced(
    layer: pd.DataFrame, incoming: pd.DataFrame, key: str, name: str, notes: list[str]
) -> pd.DataFrame:
    """Drop the columns of a zone layer that the run is about to join, and say so.

    A layer that already has them (an ilots ``zones.gpkg`` given as the IRIS layer, a field
    called ``population``) would otherwise keep its own values and get the run's under
    another name, and the run would go on with the old ones.
    """
    clash = [c for c in incoming.columns if c != key and c in layer.columns]
    if not clash:
        return layer
    notes.append(
        f"{name}: the layer's own columns {', '.join(clash)} were replaced by those the run "
        "computes and joins (is the layer a run's output? give the source zone layer)"
    )
    return layer.drop(columns=clash)


def _in_area(census: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """Keep the rows of a census table whose IRIS the run has; log how many were left.

    Read for the communes of the run's IRIS, a table also holds those communes' IRIS outside
    an area given as a box, a polygon or other zones (the QPV): not an unmatched code worth
    a warning.
    """
    inside = census["code_iris"].astype(str).isin(set(codes.astype(str)))
    if not inside.all():
        logger.info(
            "census: %d rows of the area's communes are IRIS outside the area", (~inside).sum()
        )
    return census[inside]


def _check_folder(config: RunConfig, overwrite: bool) -> None:
    """Stop before any pixel is read when the run folder cannot be written, or holds a run.

    A previous run is replaced when ``overwrite`` (``--overwrite`` or the config's).
    """
    folder = RunFolder(Path(config.outputs.folder))
    if folder.manifest.exists() and folder.holds_comparison():
        raise ConfigError(
            f"outputs.folder: {folder.root} holds a comparison (ilots compare), not a run: a "
            "run would mix its files with it; choose another --out"
        )
    if folder.manifest.exists() and not overwrite:
        raise OutputExistsError(
            f"{folder.root} holds a previous run; give --overwrite (outputs.overwrite: true) "
            "to replace it, or another --out",
            option="outputs.folder (--out)",
        )
    check_closed(folder.zones_gpkg)  # open in QGIS: said now, not once the run is done
    root = Path(folder.root)
    made = [path for path in (root, *root.parents) if not path.exists()]  # deepest first
    try:
        probe_folder(root, make=True)
    except OSError as err:
        raise ConfigError(
            f"outputs.folder (--out): cannot write in {root}: {err.strerror or err}; choose "
            "a folder you can write to"
        ) from None
    finally:  # the folders made to try are removed: a run that stops leaves nothing
        for path in made:
            with contextlib.suppress(OSError):
                path.rmdir()


def _run(
    config: RunConfig,
    timer: _Timer,
    tile_size_px: int | None,
    cogs: _CogThread,
    hashes: _InputHashes,
    source: str = "config",
) -> RunResult:
    notes: list[str] = []
    graph = scene_graph(config, timer, source=source)
    notes += graph.notes
    # The products' files the run reads are hashed on a thread of their own while the pixels
    # are read (the page cache serves both); the saved STAC items are the run's own files.
    products = _product_files(graph.read, within=Path(config.outputs.folder).resolve())
    if config.outputs.hash_inputs:
        hashes.start(products.local)
    iris, qpv, geobox, inputs = graph.iris, graph.qpv, graph.geobox, graph.inputs
    # Before any pixel is read: a wrong table, or an outcome, stratum or income column no
    # table holds, stops the run.
    with timer("census"):
        census_tables, census_sources = read_census_tables(
            config, communes=set(iris["code_iris"].str[:5]), iris=iris, source=source
        )
        check_iris_columns(config, iris.columns, census_tables, source=source)
        notes += [note] if (note := census_years_note(census_sources)) else []
    urban, template = graph.urban, graph.template
    # Per-pixel LST work runs on the Landsat pixels when the grid is finer (with the gather
    # that puts results onto the grid), else on the grid.
    landsat = graph.landsat
    gather = landsat.gather if landsat is not None else None
    # The per-pixel layers read from the inputs, and those derived from them by
    # neighbourhood steps (minimum mapping unit, masks): run_tiles.input_pieces, first_pass.
    input_layers = {"series": graph.lst if gather is None else landsat.native}
    if graph.idx is not None:
        input_layers.update(
            {k: graph.idx[k] for k in ("ndvi", "albedo", FLOORED) if k in graph.idx}
        )
    if graph.classes is not None:
        input_layers["classes"] = graph.classes
    elif landsat is not None and config.heat_island.exclude_water:  # the QA water bit
        input_layers["water"] = landsat.water

    def derive(layers: Mapping[str, xr.DataArray], settle: bool = False) -> dict[str, xr.DataArray]:
        landcover, footprint, reference_mask = derive_layers(
            config, graph.zone_union, graph.ring, layers.get("classes"), layers.get("water"),
            settle=settle,
        )  # fmt: skip
        out = {k: v for k, v in layers.items() if k not in ("classes", "water")}
        out.update(reference_mask=reference_mask, urban=footprint)
        if landcover is not None:
            out["landcover"] = landcover
        return out

    hi = config.heat_island
    # Processing tiles: windows of the lazy graph, checkpointed (pipelines/run_tiles.py).
    # A grid no larger than the tile size (scheduler.tile_size_px, or for auto what fits in
    # memory: run_plan.tile_size) is one tile: the one-piece run. Auto's size depends on the
    # workers and the cluster, which a resumed run may change: it takes the size its
    # interrupted run chose, as that run's checkpoints record it, if it fits here.
    fingerprint = run_fingerprint(config, geobox, inputs, tile_size_px)
    folder_path = Path(config.outputs.folder)
    size = tile_size_px or _auto_tile_size(config, geobox, inputs, folder_path, fingerprint)
    tiles = run_tiles.tiles_of(geobox, size)
    one_piece = len(tiles) == 1
    pixels = None
    if one_piece:
        # Read and resample every input once; both passes and the SUHII summary then work
        # from memory. (A tiled run keeps each tile's share in checkpoints instead.)
        # Below 30 m the LST stays on the Landsat pixels (the grid's copy is never computed:
        # the reference sums weigh those pixels, build_rasters gathers the composites).
        with timer("read"):
            lazy = derive(input_layers)
            pixels = dict(zip(lazy, dask.persist(*lazy.values()), strict=True))
    comp = config.composite
    floored: list[xr.DataArray] = []  # the index composites' count, as the passes read it
    # The NDVI with water, before settled_rasters leaves it out, when the sharpening reads it:
    # one piece, its persisted layer (its own array: Dask copies a selection of under half a
    # chunk, so the index stack it was taken from is not kept); tiles, a lazy mosaic of
    # the tiles' checkpointed pieces.
    ndvi_with_water: list[xr.DataArray] = []
    sharpen_with_water = _sharpens_with_water(config)

    def build_rasters(reference: xr.DataArray, pixels: dict[str, xr.DataArray]) -> xr.Dataset:
        floored.extend(pixels[k] for k in (FLOORED,) if k in pixels)
        if sharpen_with_water:
            ndvi_with_water.extend(pixels[k] for k in ("ndvi",) if k in pixels)
        series = pixels["series"]
        spread = xr.DataArray(reference["reference_std"].values, dims=reference.dims,
                              coords={d: reference[d] for d in reference.dims})  # fmt: skip
        delta = lst_anomaly(series, reference.drop_vars("reference_std"))
        if comp.anomaly_reference == "urban":
            delta.attrs.update(
                long_name="LST anomaly against the scene's urban mean (delta T)",
                formula="LST - mean LST over the urban footprint of the same scene",
                reference_definition=urban.attrs.get("definition", "urban footprint"),
            )
        stats = list(dict.fromkeys(["median", "p90", *comp.statistics]))
        lst_c = temporal_composite(series, stats=stats, min_clear=comp.min_clear)
        # ΔT as the LST: its median, and its 90th percentile over the dates (hot days).
        d_c = temporal_composite(delta, stats=["median", "p90"], min_clear=comp.min_clear)
        rasters = xr.Dataset(
            {
                "lst_median": lst_c["median"],
                "lst_p90": lst_c["p90"],
                **{f"lst_{stat}": lst_c[stat] for stat in stats[2:]},  # composite.statistics
                "lst_anomaly": d_c["median"],
                "lst_anomaly_p90": d_c["p90"],
                "n_clear": lst_c["n_clear"],
            }
        )
        if comp.anomaly_method == "zscore":
            z = (delta / spread.where(spread > 0)).astype(np.float32)
            z = z.rename("lst_zscore").assign_attrs(
                long_name=f"LST z-score against the scene's {comp.anomaly_reference} reference",
                units="1",
                formula="(LST - mean) / standard deviation (ddof 0) of the reference pixels "
                "of the same scene",
                reference_definition=delta.attrs.get("reference_definition", ""),
            )
            rasters["lst_zscore"] = temporal_composite(
                z, stats=["median"], min_clear=comp.min_clear
            )["median"]
        if landsat is not None:  # gathered onto the grid from the Landsat pixels, if there
            if one_piece:
                # Computed whole anyway: the composites now, on the Landsat pixels, each then
                # gathered into one NumPy array; Dask would gather grid chunks, then copy
                # them into one (benchmark: 0.3 → 0.12 CPU-s for these rasters). On a grid
                # of 30 m or coarser nothing is gathered: on_grid returns them as they are.
                (rasters,) = dask.compute(rasters)
            rasters = landsat.on_grid(rasters, config.scheduler.chunk_px)
        # Without NDVI or a land cover (settled_rasters has none): empty layers for the zone
        # tables' columns, marked so that no empty COG is written.
        empty = {PLACEHOLDER: True}
        if "ndvi" not in pixels:
            rasters["ndvi_median"] = xr.full_like(rasters["lst_median"], np.nan).assign_attrs(empty)
        if "landcover" not in pixels:
            rasters["landcover"] = xr.zeros_like(rasters["lst_median"], dtype="uint8").assign_attrs(
                empty
            )
        return rasters.drop_vars([c for c in rasters.coords if c == "time"], errors="ignore")

    with timer("coverage"):
        method = config.zones.method
        frames = {"iris": (iris, "code_iris")}
        if qpv is not None:
            frames["qpv"] = (qpv, "code_qp")
        for extra in config.zones.extra:
            key, near = f"zones.extra[{extra.name}]", graph.area.series()
            try:
                frame = open_layer(extra.path, layer=extra.layer, what=key, bbox=near)
            except LayerNotFoundError as err:
                raise ConfigError(f"{source}: {key}.layer: {err}") from err
            kept = zones_in_area(frame, graph.area, key, rule="overlap", required=False)
            frames[extra.name] = (kept, extra.id)
        zone_layers = [
            run_tiles.zone_layer(name, frame, id_col, geobox, method)
            for name, (frame, id_col) in frames.items()
        ]
    # One tile has nothing to resume from: its passes are kept in memory.
    store = (
        run_tiles.MemoryCheckpoints()
        if one_piece
        else run_tiles.checkpoints(folder_path, fingerprint, size)
    )
    if not one_piece:  # the checkpoints stay if the run stops: the folder is the run's
        claimed(folder_path)
    resumed = sum(store.done("inputs", tile) for tile in tiles)
    if resumed and not one_piece:
        warnings.warn(
            f"resumed an interrupted run: {resumed} of {len(tiles)} tiles read from its "
            f"checkpoints ({run_tiles.CHECKPOINT_DIR}/, made with the same config, inputs and "
            "ilots version)",
            IlotsWarning,
            stacklevel=2,
        )
    # `cogs` writes the COGs in its thread with Dask's synchronous scheduler (the pieces are
    # in this process, or its checkpoint files), one batch at a time, in the order given.
    folder = RunFolder(Path(config.outputs.folder))
    crs, synthetic, wanted = str(geobox.crs), _synthetic(inputs), config.outputs.rasters
    compression = config.outputs.raster_compression
    futures: dict[str, concurrent.futures.Future] = {}

    def encode(rasters: Mapping[str, xr.DataArray]) -> None:
        batch = {
            str(k): v if v.rio.crs is not None else v.rio.write_crs(crs)  # no deep copy
            for k, v in rasters.items()
            if (wanted is None or k in wanted) and k not in futures and not v.attrs.get(PLACEHOLDER)
        }
        _check_cogs(futures)  # a COG that failed stops the run now, not at its end
        for part, tags in _dated(batch, config):
            _claim(folder)
            future = cogs.submit(
                part, folder, synthetic, timer, compression, config.outputs.anomaly_range_k, tags
            )
            futures.update(dict.fromkeys(part, future))

    rasters, tables, scene_suhii, composite_sums = run_tiles.run_tiles(
        inputs=input_layers,
        derive=derive,
        pixels=pixels,
        reference_template=template,
        min_pixels=hi.min_reference_grid_pixels(config.grid.resolution),
        min_frac=hi.min_reference_frac,
        build_rasters=build_rasters,
        settled_rasters=functools.partial(
            settled_rasters, without_water=not config.mask.indices_keep_water
        ),
        on_settled=encode,
        layers=zone_layers,
        tiles=tiles,
        store=store,
        timer=timer,
        anomaly_reference=comp.anomaly_reference,
        gather=gather,
        without_water=not config.mask.lst_keep_water,
    )
    pixels = None  # a one-piece run's persisted inputs: not kept through the tables and report
    notes += [note for layer in floored if (note := floored_note(layer))]
    floored.clear()  # a persisted layer: not kept through the tables and report
    # Each raster is encoded once it is final (index composites and land cover during the
    # tiles pass; then n_clear, which the report reads, and the LST rasters): the tables, the
    # statistics and the report are made meanwhile.
    encode({k: v for k, v in rasters.items() if k == "n_clear"})
    encode(rasters)
    sharpened_fit = None
    if config.sharpen.enabled:  # on the final composites: a tiled run's are the mosaics
        ndvi = _sharpening_ndvi(rasters.get("ndvi_median"), ndvi_with_water)
        ndvi_with_water.clear()  # not kept through the zonal statistics and the report
        # Which Landsat pixel each grid pixel lies in: the run's gather, or (when it loaded
        # the bands onto the grid: mask dilation, another resampling) the same plan anew.
        landsat_pixels = (
            gather
            if gather is not None
            else native_window(list(inputs.landsat), ["lwir11"], geobox)
        )
        with timer("sharpen"):
            sharpened = sharpen_composite(
                config.sharpen, rasters["lst_median"], ndvi, crs, notes, landsat_pixels
            )
        del ndvi
        if sharpened is not None:
            sharpened_fit = sharpen_record(sharpened, config.sharpen)
            encode({SHARPENED: sharpened})  # its writing job keeps it until written
        del sharpened
    with timer("heat_island"):
        heat = heat_island_summary(
            composite_sums,
            urban,
            graph.reference_mask,
            scene_suhii,
            run_layers.heat_island_definition(config, graph.landcover is not None),
            min_pixels=hi.min_reference_grid_pixels(config.grid.resolution),
            min_frac=hi.min_reference_frac,
            anomaly_reference=comp.anomaly_reference,
        )
    with timer("zonal"):
        layers = {}
        for name, (frame, id_col) in frames.items():
            stats = _zone_table(
                *tables[name], id_col, min_valid_frac=config.zones.min_valid_frac,
                min_clear_area_frac=comp.min_clear_area_frac,
                water_excluded=not config.mask.lst_keep_water,
            )  # fmt: skip
            if run_layers.bare_soil_as_built(graph.landcover):  # not separated: unknown, not 0
                stats[landcover_column("bare_soil")] = np.nan
            frame = _replaced(frame, stats, id_col, f"zones.{name}", notes)
            layers[name] = frame.merge(stats, on=id_col, how="left")
        lst_of_iris = layers["iris"].get("lst_mean_k")
        if lst_of_iris is not None and not lst_of_iris.notna().any():
            cloudy = sum(": cloud cover " in why for why in inputs.skipped)
            n_scenes = graph.lst.sizes["time"]
            counts = None  # which mask step removed the pixels: its bands read again
            if n_scenes >= config.composite.min_clear:
                counts = count_mask_steps(config, graph, rasters["n_clear"])
            notes.append(no_clear_note(config, n_scenes, cloudy, counts))
        elif lst_of_iris is not None:  # for want of clear scenes (not IRIS without land)
            without, without_delta = few_clear_counts(layers["iris"])
            if without + without_delta > FEW_CLEAR_SHARE * len(lst_of_iris):
                notes.append(few_clear_note(config, without, len(lst_of_iris), without_delta))
    with timer("census"):
        table = layers["iris"]
        for census_table, outside in census_tables:
            if config.aoi.zones != "iris":  # a box, a polygon, the QPV cut communes: their
                census_table = _in_area(census_table, table["code_iris"])  # IRIS outside it
            table = _replaced(table, census_table, "code_iris", "zones.iris", notes)
            table, _ = join_tables(table, census_table, on="code_iris", outside_communes=outside)
        if qpv is not None:
            threshold = config.zones.qpv.iris_share_threshold  # type: ignore[union-attr]
            overlaps = iris_qpv_overlaps(iris, graph.qpv_of_iris)  # once, for both below
            overlay = overlay_table(overlaps, threshold=threshold).drop(columns=["iris_area_m2"])
            table = _replaced(table, overlay, "code_iris", "zones.iris", notes)
            table, _ = join_tables(table, overlay, on="code_iris")
            if not overlay["in_qpv"].any():
                notes.append(
                    f"zones.qpv: no IRIS has {threshold:.0%} or more of its area in a QPV "
                    "(zones.qpv.iris_share_threshold), so QPV and the rest are not compared; "
                    "check that the QPV layer covers the area of interest, or lower the "
                    "threshold"
                )
            note = qpv_without_iris_note(config, overlaps, overlay, qpv)
            notes += [note] if note else []
        table = _with_percentile_ranks(table)
        layers["iris"] = gpd.GeoDataFrame(table, geometry="geometry", crs=iris.crs)
        if "qpv" in layers:  # "which QPV is the hottest": ranked among the QPV
            layers["qpv"] = _with_percentile_ranks(layers["qpv"])
        # Every layer in the IRIS layer's CRS, so that they overlay without a reprojection.
        layers = {name: layer.to_crs(iris.crs) for name, layer in layers.items()}
    with timer("inequality"):
        reports = _inequality_reports(config, table, notes)
        report = next(iter(reports.values()), None)
    _check_cogs(futures)  # before the tables: a COG that failed stops the run
    with timer("write"):
        _claim(folder)
        formats = config.outputs.zone_formats
        if "gpkg" in formats:
            years = {table: source["year"] for table, source in census_sources.items()}
            water_out = not config.mask.indices_keep_water  # of the NDVI and albedo means
            descriptions = {
                name: zone_layer_description(
                    name,
                    frame.columns,
                    years,
                    synthetic=synthetic,
                    over_land=index_means_with_values(frame) if water_out else (),
                )
                for name, frame in layers.items()
            }
            no_value = Messages(config.outputs.report_language)("legend_no_value")
            anomaly = GraduatedStyle(  # the report's words, the run's range
                no_value_label=no_value, bound=config.outputs.anomaly_range_k
            )
            styles = default_zone_styles(layers, anomaly)
            slds = default_zone_styles(layers, anomaly, style_format="sld")
            run_inputs = _run_inputs(config, inputs, census_sources, layers, synthetic)
            metadata = {
                name: zone_layer_metadata(name, frame, _layer_inputs(name, run_inputs))
                for name, frame in layers.items()
            }
            write_zones_gpkg(
                folder.zones_gpkg, layers, styles,
                descriptions=descriptions, slds=slds, metadata=metadata,
            )  # fmt: skip
        for name, frame in layers.items():
            if "parquet" in formats:
                write_geoparquet(frame, folder.zone_parquet(name), synthetic=synthetic)
            if "csv" in formats:
                with staged(folder.zones / f"{name}.csv") as staging:
                    table = pd.DataFrame(frame.drop(columns="geometry"))
                    with_synthetic_mark(table, synthetic).to_csv(staging, index=False)
        if reports:
            write_inequality(
                reports, folder.inequality_json, folder.inequality_csv, synthetic=synthetic
            )
        write_json_atomic(folder.heat_island_json, {"synthetic": synthetic, **heat})
        dump_config(config, folder.config)
    result = RunResult(
        folder=Path(folder.root),
        zones=layers,
        inequality=report,
        warnings=notes,
        heat_island=heat,
        sharpen=sharpened_fit,
        census=census_sources or None,
        synthetic=synthetic,
    )
    result._grid = grid_info(geobox)  # type: ignore[attr-defined]
    lonlat = graph.area.to_crs("EPSG:4326").geometry  # the area as configured: the report
    result._area = area_record(graph.area.description, lonlat)  # type: ignore[attr-defined]
    result._cogs = futures  # type: ignore[attr-defined]
    result._products = (products, hashes)  # type: ignore[attr-defined]
    return result


def _cog_files(folder: RunFolder, names: Iterable[str]) -> set[Path]:
    """Return the files the COG thread writes for the rasters ``names`` (resolved paths)."""
    cogs = [Path(folder.rasters) / f"{name}.tif" for name in names]
    return {path.resolve() for cog in cogs for path in (cog, cog.with_suffix(".qml"))}


def _claim(folder: RunFolder) -> None:
    """Make ``folder`` this run's before a file in it is written or replaced.

    A previous run's manifest is set aside first (``outputs.overwrite``): if this run stops
    half-way, the folder holds no manifest, so it never looks like a whole run mixing two
    runs' files, and the run that resumes it still removes the previous run's outputs it
    does not make (:func:`~pipelines.outputs.stale.previous_outputs`). A run that stops
    before writing anything leaves the previous run as it was. Said to the CLI's run log
    (:func:`~pipelines.outputs.folder.claimed`).
    """
    folder.create()
    if folder.manifest.exists():
        folder.manifest.replace(folder.previous_manifest)
    claimed(folder.root)


class _CogThread:
    """The thread that encodes a run's COGs (:func:`_write_cogs`), a batch at a time.

    Each batch holds the run folder (:class:`~pipelines.outputs.lock.JobHold`) from before
    it is queued until its job ends: a run that stops with a COG being encoded, or as a
    batch is queued, leaves the folder locked until that COG is written, so that no other
    run writes there meanwhile.
    """

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ilots-cogs")
        self._stopped = threading.Event()
        self._holds: list[JobHold] = []

    def submit(
        self, rasters: dict[str, xr.DataArray], folder: RunFolder, synthetic: bool,
        timer: _Timer, compression: str, anomaly_range_k: float | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> concurrent.futures.Future:  # fmt: skip
        """Queue the COGs of ``rasters`` (:func:`_write_cogs`); return the job's future."""
        hold = JobHold(folder.root)  # first: an interrupt as the job is queued leaves it held
        self._holds.append(hold)
        return self._pool.submit(
            hold.run, _write_cogs, rasters, folder, synthetic, timer, compression,
            self._stopped, anomaly_range_k, tags,
        )  # fmt: skip

    def stop(self, wait: bool) -> None:
        """Drop the queued batches and end the job after the COG it is encoding.

        ``wait``: return once that COG is written; else at once. The folder is let go by
        the batches that never started (their hold kept by no job) before the wait, so that
        a Ctrl-C during the wait leaves no hold behind.
        """
        self._stopped.set()
        try:
            self._pool.shutdown(wait=False, cancel_futures=True)
        finally:
            for hold in self._holds:
                hold.drop()
        if wait:
            self._pool.shutdown(wait=True)

    def close(self) -> None:
        """Wait for every queued batch."""
        self._pool.shutdown(wait=True)


@contextlib.contextmanager
def _cog_thread() -> Iterator[_CogThread]:
    """Give the thread that encodes the COGs, one at a time, while the run goes on.

    A run that stops drops the COGs still queued and the rest of the batch being encoded:
    the thread ends after the one COG it is encoding (GDAL's encoding cannot be
    interrupted), which holds the run folder until it is written (:class:`_CogThread`). On
    Ctrl-C (or SIGTERM) the run raises without waiting for it, so that the interruption is
    said at once; a process that ends waits for it, since Python joins the thread at
    interpreter exit, and a notebook's goes on. On an error, the run waits for it before
    raising. It writes to a temporary name, renamed only once whole, which the next run
    into the folder removes (``sweep_temporaries``) if the process is killed first.
    """
    cogs = _CogThread()
    try:
        yield cogs
    except BaseException as err:
        cogs.stop(wait=isinstance(err, Exception))
        raise
    cogs.close()


def _check_cogs(futures: Mapping[str, concurrent.futures.Future]) -> None:
    """Raise the error of a COG job that failed, if one has: the run stops with it."""
    for future in dict.fromkeys(futures.values()):
        if future.done() and not future.cancelled():
            future.result()  # raises the job's error


def _sharpens_with_water(config: RunConfig) -> bool:
    """Whether the run sharpens its LST with the NDVI with water (:func:`_sharpening_ndvi`).

    So when it sharpens (``sharpen.enabled``) an LST keeping water (``mask.lst_keep_water``)
    with an NDVI composite leaving the land cover's water out (``mask.indices_keep_water``
    false); otherwise ``ndvi_median`` has an NDVI on every pixel the LST has.
    """
    mask = config.mask
    return config.sharpen.enabled and mask.lst_keep_water and not mask.indices_keep_water


#: Name of the NDVI composite with water the sharpening reads (:func:`_sharpening_ndvi`), as
#: the manifest's ``extra.sharpen.ndvi`` records it (not written: no file has this name).
NDVI_WITH_WATER = "ndvi_with_water"


def _sharpening_ndvi(
    ndvi: xr.DataArray | None, with_water: list[xr.DataArray]
) -> xr.DataArray | None:
    """Return the NDVI composite to sharpen the run's LST with (None when it has none).

    ``ndvi`` is the run's ``ndvi_median``; ``with_water`` the composite before
    :func:`settled_rasters` left the land cover's water out, given when the run sharpens
    with it (:func:`_sharpens_with_water`), else empty. Then the sharpening reads it, named
    :data:`NDVI_WITH_WATER`, so the sharpened LST covers the water the NDVI composite has
    (with Sentinel-2, only the water its ``mask.sentinel2_preset`` keeps: the default drops
    SCL's water class) as the sharpening of a run with ``mask.indices_keep_water`` does.
    """
    if ndvi is None or ndvi.attrs.get(PLACEHOLDER):
        return None
    if with_water:
        return with_water[0].drop_vars("time", errors="ignore").rename(NDVI_WITH_WATER)
    return ndvi


#: Attribute of the empty layers a run without NDVI or land cover computes its tables with.
PLACEHOLDER = "ilots:placeholder"


def settled_rasters(
    pixels: Mapping[str, xr.DataArray], without_water: bool = False
) -> dict[str, xr.DataArray]:
    """Return the run's rasters that are per-pixel layers as they are, by raster name.

    The NDVI and albedo median composites and the land cover need no rural reference: they
    are final once the first pass has made the per-pixel layers (``run_tiles.run_tiles``).
    ``without_water`` (``mask.indices_keep_water`` false): the NDVI and albedo composites
    are NaN where the land cover says water (:func:`run_tiles.land_cover_water`, the water
    the LST leaves out), so their COGs and zone means are of the land whatever the sensor;
    the land cover itself was classified from them with water.
    """
    names = {"ndvi": "ndvi_median", "landcover": "landcover"}
    if "ndvi" in pixels:  # albedo comes with the NDVI (the same Sentinel-2 composite)
        names["albedo"] = "albedo_median"
    out = {
        raster: pixels[layer].drop_vars("time", errors="ignore").rename(raster)
        for layer, raster in names.items()
        if layer in pixels
    }
    if without_water and "landcover" in pixels:
        land = ~run_tiles.land_cover_water(pixels["landcover"])
        for layer in ("ndvi", "albedo"):
            if layer in pixels:
                raster = names[layer]
                out[raster] = out[raster].where(land).assign_attrs(out[raster].attrs)
    return out


def _write_cogs(
    rasters: dict[str, xr.DataArray],
    folder: RunFolder,
    synthetic: bool,
    timer: _Timer,
    compression: str,
    stop: threading.Event,
    anomaly_range_k: float | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write ``rasters`` as COGs; return their SHA-256 by absolute path.

    ``tags``: added to every COG's (the run's periods). Once ``stop`` is set (the run
    stopped), no other COG is started and none is hashed.
    """
    # One COG at a time (GDAL compresses each with every core): five side by side, with
    # their GDAL threads, starved the statistics and the report the run waits for
    # (measured on the benchmark: 2.56 → 2.32 s from the tiles' end to the run's, medians of
    # five alternated runs; the same files).
    with timer("rasters"):
        written = write_rasters(
            rasters,
            folder.rasters,
            compute=True,
            synthetic=synthetic,
            scheduler=LOCAL_SCHEDULERS["synchronous"],
            compression=compression,
            stop=stop,
            anomaly_range_k=anomaly_range_k,
            tags=tags,
        )
    if stop.is_set():  # the run stopped: no digest is read
        return {}
    # Hashed here, beside the statistics and the report, not after them: the manifest
    # takes these digests (0.1 s less at the end of the benchmark run).
    return {str(Path(path).resolve()): sha256_file(path) for path in written.values()}


def _auto_tile_size(
    config: RunConfig, geobox: Any, inputs: Any, folder: Path, fingerprint: Any
) -> int:
    """Return the tile edge of a run with ``scheduler.tile_size_px: auto``.

    What auto gives here, or the edge an interrupted run's checkpoints in ``folder`` were
    made in (:func:`run_tiles.resumed_tile_size`, the rule the dry run plans with too).
    """
    fresh = run_tile_size(config, geobox.shape.yx, inputs)
    return run_tiles.resumed_tile_size(folder, fingerprint, fresh, cluster=run_tiles.on_cluster())


@dataclass(frozen=True)
class _Products:
    """The files of the products a run reads (:attr:`SceneGraph.read`): local, and remote."""

    local: tuple[str, ...]
    remote: tuple[str, ...]


def _product_files(hrefs: Iterable[str], within: Path) -> _Products:
    """Sort the hrefs a run reads into local files (absolute, each once) and remote ones.

    Files ``within`` the run folder (the STAC items a search saved there) are its outputs.
    """
    local: dict[str, None] = {}
    remote: dict[str, None] = {}
    for href in hrefs:
        path = href_file(href)
        if path is None:
            remote[href.split("?", 1)[0]] = None  # no signature or token in the manifest
        elif path.is_file() and within not in path.resolve().parents:
            local[str(path.resolve())] = None
    return _Products(tuple(local), tuple(remote))


class _InputHashes:
    """The SHA-256 of the input files, taken on a thread of their own while the run computes.

    A context manager: leaving it waits for the hashing, which :meth:`stop` ends after the
    file being read; leaving it on an error (or Ctrl-C) stops it first, so that a failed run
    says its error without hashing the rest.
    """

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ilots-hash")
        self._stopped = threading.Event()
        self._future: concurrent.futures.Future | None = None

    def __enter__(self) -> _InputHashes:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is not None:
            self.stop()
        self._pool.shutdown(wait=True)

    def start(self, paths: Iterable[str]) -> None:
        """Hash ``paths`` in the background."""
        self._future = self._pool.submit(self._hash, list(paths))

    def stop(self) -> None:
        """Hash no more files."""
        self._stopped.set()

    def result(self) -> dict[str, str]:
        """Return the digests by path (waiting for them); empty if nothing was started."""
        return self._future.result() if self._future is not None else {}

    def _hash(self, paths: list[str]) -> dict[str, str]:
        digests = {}
        for path in paths:
            if self._stopped.is_set():
                break
            try:
                digests[path] = sha256_file(path)
            except FileNotFoundError:  # moved or deleted during the run: said by the manifest
                continue
        return digests


def _dated(
    rasters: Mapping[str, xr.DataArray], config: RunConfig
) -> list[tuple[dict[str, xr.DataArray], dict[str, str]]]:
    """Split a batch of rasters by the time their tags say, each part with its tags.

    The run's periods (:func:`~pipelines.outputs.rasters.period_tags`), but for a land cover
    taken from ``landcover.external``: the map's year, if known
    (:func:`~pipelines.outputs.rasters.map_year_tags`). Empty parts are left out.
    """
    external = config.landcover.external
    own = {"landcover"} if external is not None else set()
    parts = [
        ({k: v for k, v in rasters.items() if k not in own}, period_tags(config.periods.days())),
        (
            {k: v for k, v in rasters.items() if k in own},
            map_year_tags(external.map_year()) if external is not None else {},
        ),
    ]
    return [(part, tags) for part, tags in parts if part]


def _run_inputs(
    config: RunConfig,
    inputs: Any,
    census_sources: Mapping[str, Any],
    layers: Mapping[str, Any],
    synthetic: bool,
) -> RunInputs:
    """Return what the zone layers' metadata say the run read.

    Its periods, sensors, zones, census tables and external land-cover map.
    """
    platforms = {str(item.properties.get("platform", "")).lower() for item in inputs.items}
    sensors = [
        key
        for key, prefix in (("landsat", "landsat"), ("sentinel2", "sentinel-2"))
        if any(platform.startswith(prefix) for platform in platforms)
    ]
    zones = [key for key in ("iris", "qpv") if key in layers]
    census = ["filosofi"] if "filosofi" in census_sources else []
    if config.census is not None and config.census.population is not None:  # INSEE's table
        census.append("population")
    external = config.landcover.external
    landcover_map = (
        None
        if external is None
        else landcover_map_source(external.mapping, external.path.name, external.map_year())
    )
    return RunInputs(
        config.periods.days(),
        (*sensors, *zones, *census),
        synthetic=synthetic,
        landcover_map=landcover_map,
    )


#: The zone and census sources whose columns each zone layer carries (the IRIS layer's QPV
#: columns come from the QPV layer); every layer carries the imagery's statistics.
_LAYER_SOURCES = {"iris": {"iris", "qpv", "filosofi", "population"}, "qpv": {"qpv"}}


def _layer_inputs(layer: str, run_inputs: RunInputs) -> RunInputs:
    """Return ``run_inputs`` with only the sources zone layer ``layer``'s columns come from."""
    own = _LAYER_SOURCES.get(layer, set()) | {"landsat", "sentinel2"}
    return replace(run_inputs, sources=tuple(key for key in run_inputs.sources if key in own))


def _synthetic(inputs: Any) -> bool:
    """Whether any input says it is synthetic (``ilots:synthetic``, or the MTL ``ORIGIN``)."""
    for item in inputs.items:
        if item.properties.get("ilots:synthetic"):
            return True
        for key in ("ilots:metadata", "ilots:source"):
            path = Path(str(item.properties.get(key, "")))
            if path.is_file() and path.stat().st_size < 2_000_000:
                text = path.read_text(errors="replace").lower()
                if (
                    "synthetic product written by ilots" in text
                    or '"ilots:synthetic": true' in text
                ):
                    return True
    return False
