"""``ilots compare``: the per-zone change between two finished run folders, A (before), B (after).

Two summers, or two configs, of one city: for each zone layer both runs have (``iris``,
``qpv``), one row per zone id in both, with the value in A, in B and B − A of the ΔT
(``lst_anomaly_mean_k``), the NDVI and each land-cover share both runs computed, both runs'
``valid_frac`` and an ``unreliable`` flag (below).

ΔT, never the raw LST, is the headline: each scene's ΔT is taken against that scene's own
rural reference, so the weather's level (a summer 3 K warmer) drops out of it, while it moves
``lst_mean_k`` of every zone alike; a raw LST difference mostly measures the weather.

Comparability is checked first, from each folder's ``manifest.json`` (the config as run and
the grid): another grid CRS or resolution, or no zone id in common, is refused; another rural
reference, land-cover source or ``composite.min_clear``, zone ids in part only, or a synthetic
run (the demo) is said as an :class:`~tiles.errors.IlotsWarning` of its kind, recorded in the
output's ``manifest.json``.

``unreliable`` is true where either run would not trust the zone: its ``valid_frac`` below
that run's own ``zones.min_valid_frac`` (the zone then has no LST value in it), or its
``low_clear_area`` flag set (less than ``composite.min_clear_area_frac`` of its area with
``composite.min_clear`` clear scenes).

The summary's mean changes inside and outside QPV are zone means (unweighted) over the IRIS
with a value in both runs. The QPV gap of ΔT is each run's own (its ``inequality.json``:
population-weighted, within strata); its change is tested on the per-IRIS change of ΔT with run
B's inequality settings (:func:`gap_change`): the same statistic of the change, a permutation
test and its interval, whose full inequality report is written as ``inequality_change.json``
and ``.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pipelines.compare.checks import COMPARED_SETTINGS, check_comparable
from pipelines.compare.runs import LAYERS, CompareError, Run, read_run
from pipelines.compare.summary import summarise
from pipelines.compare.tables import change_table, gap_change
from pipelines.inequality import InequalityReport
from pipelines.outputs._atomic import probe_folder, staged
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


def compare_runs(run_a: str | Path, run_b: str | Path, out: str | Path) -> Comparison:
    """Compare run folder ``run_b`` (after) with ``run_a`` (before), writing into ``out``.

    Writes ``compare.gpkg`` (layers ``<layer>_change``), ``<layer>_change.csv``, the
    inequality statistics of the IRIS' ΔT change (``inequality_change.json`` and ``.csv``,
    when run B has an inequality) and ``manifest.json``, each atomically, once every table is
    made.

    Raises
    ------
    CompareError
        A folder is not a finished run folder, or ``out`` is one of them.
    GridError, ZonesError
        The runs are not comparable (see :func:`check_comparable`, :func:`change_table`).
    """
    started = time.perf_counter()
    target = Path(out)
    for given in (run_a, run_b):
        if target.resolve() == Path(given).resolve():
            raise CompareError(
                f"--out {target} is the run folder {given}: its manifest.json would be "
                "replaced; choose another folder"
            )
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
    probe_folder(target, make=True)
    files = _write_tables(tables, target)
    if tested is not None:
        synthetic = a.synthetic or b.synthetic
        files.extend(
            write_inequality(
                tested,
                target / "inequality_change.json",
                target / "inequality_change.csv",
                synthetic=synthetic,
            )
        )
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
            "synthetic": a.synthetic or b.synthetic,
        },
    )
    files.append(write_manifest(target / "manifest.json", manifest))
    return Comparison(tables, summary, tested, [str(message) for message in said], files)


def _write_tables(tables: Mapping[str, gpd.GeoDataFrame], out: Path) -> list[Path]:
    """Write the GeoPackage (every layer, one file put in place at once), then the CSVs."""
    gpkg = out / "compare.gpkg"
    with staged(gpkg) as staging:
        for name, table in tables.items():
            table.to_file(staging, layer=name, driver="GPKG")
    files = [gpkg]
    for name, table in tables.items():
        path = out / f"{name}.csv"
        with staged(path) as staging:
            pd.DataFrame(table.drop(columns="geometry")).to_csv(
                staging, index=False, encoding="utf-8"
            )
        files.append(path)
    return files


def _settings(a: Run, b: Run) -> dict[str, Any]:
    """Return the settings compared, per run (the output manifest's ``config``)."""
    return {
        "run_a": str(a.folder),
        "run_b": str(b.folder),
        "compared": {
            name: {"a": reader(a), "b": reader(b)} for name, reader in COMPARED_SETTINGS.items()
        },
    }


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "folder": str(run.folder),
        "manifest_sha256": sha256_file(run.folder / "manifest.json"),
        "periods": run.config.get("periods"),
        "synthetic": run.synthetic,
    }
