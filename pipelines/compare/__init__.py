"""``ilots compare``: the per-zone change between two finished run folders, A (before), B (after).

Two summers, or two configs, of one city: for each zone layer both runs have (``iris``,
``qpv``), one row per zone id in both, with the value in A, in B and B − A of the ΔT
(``lst_anomaly_mean_k``), the NDVI and each land-cover share both runs computed, both runs'
``valid_frac`` and ``anomaly_valid_frac`` (ΔT's own share; empty for a run made before ilots
wrote it, said in the summary) and an ``unreliable`` flag (below).

ΔT, never the raw LST, is the headline: each scene's ΔT is taken against that scene's own
rural reference, so the weather's level (a summer 3 K warmer) drops out of it, while it moves
``lst_mean_k`` of every zone alike; a raw LST difference mostly measures the weather.

Comparability is checked first, from each folder's ``manifest.json`` (the config as run and
the grid): another grid CRS or resolution, or no zone id in common, is refused; another rural
reference, land-cover source, ``composite.min_clear``, ``mask`` section (its cloud dilation as
applied: :func:`~pipelines.compare.checks.mask_settings`),
``zones.qpv.iris_share_threshold``, area of interest or grid extent, zone ids in part only or
an id with another shape, or a synthetic run (the demo) is said as an
:class:`~tiles.errors.IlotsWarning` of its kind, recorded in the output's ``manifest.json``
(a setting one run's manifest does not record, an earlier ilots', is not said).

``unreliable`` is true where either run would not trust the zone: its ``valid_frac`` below
that run's own ``zones.min_valid_frac`` (the zone then has no LST value in it), or its
``anomaly_valid_frac`` (no ΔT value in it), or its
``low_clear_area`` flag set (less than ``composite.min_clear_area_frac`` of its area with
``composite.min_clear`` clear scenes, for the LST or for ΔT); and where the zone is
reshaped: more than :data:`~pipelines.compare.tables.RESHAPED_FRAC` of its two shapes' union
in one run's shape only (``reshaped_frac``; another millésime's boundary, said as
``zones_differ``), so that its change mixes the zone's with the boundary's.

The summary's mean changes inside and outside QPV are zone means (unweighted) over the IRIS
with a value in both runs (their count said). The change of the QPV gap of ΔT is tested on the
per-IRIS change of ΔT with run B's inequality roles and settings (:func:`gap_change`): the same
statistic of the change, a permutation test and its interval, whose full inequality report is
written as ``inequality_change.json`` and ``.csv``. Beside it, the gap of A's and of B's ΔT
over the same IRIS, with the same weights and strata (their difference is the change tested),
and each run's own gap (its ``inequality.json``) where it is over another set of IRIS.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from pipelines.compare.checks import COMPARED_SETTINGS, check_comparable
from pipelines.compare.output import check_out, open_out, remove_stale, write_tables
from pipelines.compare.runs import LAYERS, CompareError, Run, read_run
from pipelines.compare.summary import summarise
from pipelines.compare.tables import change_table, gap_change
from pipelines.inequality import InequalityReport
from pipelines.outputs.geopackage import SYNTHETIC_MARK
from pipelines.outputs.lock import folder_lock, read_lock
from pipelines.outputs.manifest import build_manifest, sha256_file, write_manifest
from pipelines.outputs.tables import write_inequality
from tiles.errors import collected_warnings

__all__ = ["CompareError", "Comparison", "compare_runs", "read_run"]


@dataclass
class Comparison:
    """What :func:`compare_runs` wrote and found."""

    tables: dict[str, gpd.GeoDataFrame]
    summary: list[str]
    inequality: InequalityReport | None = None
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def compare_runs(
    run_a: str | Path, run_b: str | Path, out: str | Path, *, overwrite: bool = False
) -> Comparison:
    """Compare run folder ``run_b`` (after) with ``run_a`` (before), writing into ``out``.

    Writes ``compare.gpkg`` (layers ``<layer>_change``), ``<layer>_change.csv`` (and its
    ``.csvt``), the inequality statistics of the IRIS' ΔT change (``inequality_change.json``
    and ``.csv``, when run B has an inequality) and ``manifest.json``, each atomically, once
    every table is made. A folder holding an earlier comparison's files is refused unless
    ``overwrite``; with it, the earlier ``manifest.json`` is removed first, its files the new
    comparison does not write after the new ones, and the new ``manifest.json`` is written
    last: a ``manifest.json`` marks a finished comparison,
    whose files are all its own (:mod:`pipelines.compare.output`).

    The run folders are held to read while they are read
    (:func:`~pipelines.outputs.lock.read_lock`): a run, scenarios or a report into one of them
    does not start meanwhile, while other comparisons may read them too. ``run_a`` and
    ``run_b`` may be the same folder (every change is then 0, which is said), and ``out`` a
    folder inside one of them.

    Raises
    ------
    CompareError
        A folder is not a finished run folder, or ``out`` is one of them or holds another
        manifest than a comparison's.
    OutputExistsError
        Not ``overwrite``, and ``out`` holds an earlier comparison's files: nothing is done.
    OutputError
        Another process (a comparison, a run) holds ``out``
        (:func:`~pipelines.outputs.lock.folder_lock`), or writes in ``run_a`` or ``run_b``
        (:func:`~pipelines.outputs.lock.read_lock`): nothing is written there.
    GridError, ZonesError
        The runs are not comparable (see :func:`check_comparable`, :func:`change_table`).
    """
    started = time.perf_counter()
    target = Path(out)
    check_out(target, (run_a, run_b), overwrite=overwrite)
    with contextlib.ExitStack() as held:
        for run in (run_a, run_b):  # read while no run writes there; others may read them too
            held.enter_context(read_lock(run))
        held.enter_context(folder_lock(target))  # no other compare, nor a run, writes there
        check_out(target, (run_a, run_b), overwrite=overwrite)  # one may have, until now
        return _compare_into(target, run_a, run_b, started, overwrite=overwrite)


def _compare_into(
    target: Path, run_a: str | Path, run_b: str | Path, started: float, *, overwrite: bool
) -> Comparison:
    """Compare the runs and write the comparison into ``target``, which this process holds.

    Not ``overwrite``: no file is replaced, even one that appeared since it was checked.
    """
    with collected_warnings() as said:
        a, b = read_run(run_a), read_run(run_b)
        check_comparable(a, b)
        tables = {
            f"{layer}_change": change_table(a, b, layer)
            for layer in LAYERS
            if layer in a.layers and layer in b.layers
        }
        iris = tables.get("iris_change")
        tested = gap_change(b, iris) if iris is not None else None
        summary = summarise(iris, a, b, tested) if iris is not None else []
    open_out(target, overwrite=overwrite)
    synthetic = a.synthetic or b.synthetic
    descriptions = {name: _description(name, a, b, synthetic) for name in tables}
    files = write_tables(tables, descriptions, target, synthetic=synthetic, overwrite=overwrite)
    if tested is not None:
        files.extend(
            write_inequality(
                tested.report,
                target / "inequality_change.json",
                target / "inequality_change.csv",
                synthetic=synthetic,
                overwrite=overwrite,
            )
        )
    remove_stale(target, files, overwrite=overwrite)
    manifest = build_manifest(
        config=_settings(a, b),
        inputs=[a.folder / "manifest.json", b.folder / "manifest.json"],
        grid=b.manifest["grid"],
        timings={"compare": time.perf_counter() - started},
        warnings=said,
        outputs=files,
        outputs_root=target,
        extra={
            "runs": {"a": _run_record(a), "b": _run_record(b)},
            "synthetic": synthetic,
        },
    )
    files.append(write_manifest(target / "manifest.json", manifest, overwrite=overwrite))
    report = tested.report if tested is not None else None
    return Comparison(tables, summary, report, [str(message) for message in said], files)


def _description(layer: str, a: Run, b: Run, synthetic: bool) -> str:
    """Say what a layer of ``compare.gpkg`` is (its GeoPackage description).

    First that it is of synthetic data when ``synthetic`` (either run is the demo's), as
    ``zones.gpkg`` says.
    """
    zones = "IRIS" if layer.startswith("iris") else "QPV"
    return (
        (SYNTHETIC_MARK if synthetic else "")
        + f"ilots compare: per-{zones} change from run A {a.folder.resolve()} (before) to run B "
        f"{b.folder.resolve()} (after): ΔT (lst_anomaly_mean_k), NDVI and land-cover shares in "
        "A, in B and their change B − A (after minus before); unreliable: a zone either run "
        "does not trust, or reshaped (reshaped_frac: the share of its two shapes' union in "
        "one run's only)"
    )


def _settings(a: Run, b: Run) -> dict[str, Any]:
    """Return the settings compared, per run (the output manifest's ``config``)."""
    return {
        "run_a": str(a.folder.resolve()),
        "run_b": str(b.folder.resolve()),
        "compared": {
            name: {"a": reader(a), "b": reader(b)} for name, reader in COMPARED_SETTINGS.items()
        },
    }


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "folder": str(run.folder.resolve()),
        "manifest_sha256": sha256_file(run.folder / "manifest.json"),
        "periods": run.config.get("periods"),
        "synthetic": run.synthetic,
    }
