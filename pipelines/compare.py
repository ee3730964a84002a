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

import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from pipelines.config.models import InequalityConfig
from pipelines.inequality import InequalityReport, run_inequality
from pipelines.outputs._atomic import probe_folder, staged
from pipelines.outputs.folder import RunFolder
from pipelines.outputs.manifest import build_manifest, sha256_file, write_manifest
from pipelines.outputs.tables import write_inequality
from pipelines.report.sections import period_text
from pipelines.report.text import Messages
from pipelines.zone_columns import LANDCOVER_CLASSES, LOW_CLEAR_AREA, landcover_column
from tiles.errors import (
    GridError,
    IlotsError,
    IlotsWarning,
    InequalityError,
    WarningCode,
    ZonesError,
    collected_warnings,
)

__all__ = ["CompareError", "Comparison", "compare_runs", "read_run"]

#: The zone layers compared, when both runs have them.
LAYERS = ("iris", "qpv")
#: The per-zone values compared, headline first, before the land-cover shares.
MEASURES = ("lst_anomaly_mean_k", "ndvi_mean")
#: The outcome whose QPV gap the summary compares, and its per-IRIS change.
OUTCOME = "lst_anomaly_mean_k"
CHANGE = f"{OUTCOME}_change"
#: The columns of an ``inequality.json`` that name its zone roles.
_ROLES = ("income", "population", "group", "stratum")
#: How many zone ids a warning gives as examples.
_EXAMPLES = 5


class CompareError(IlotsError):
    """A folder given to ``ilots compare`` is not a finished run folder, or is the output."""


@dataclass(frozen=True)
class Run:
    """A finished run folder: its manifest and zone layers (ids as text)."""

    folder: Path
    manifest: Mapping[str, Any]
    layers: Mapping[str, gpd.GeoDataFrame]
    inequality: Mapping[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Mapping[str, Any]:
        """The config as run (the manifest's)."""
        return self.manifest.get("config") or {}

    def setting(self, section: str, key: str) -> Any:
        """Return the config's ``section.key`` (``None`` when missing)."""
        return (self.config.get(section) or {}).get(key)

    @property
    def synthetic(self) -> bool:
        """Whether the run processed synthetic data (the demo)."""
        extra = self.manifest.get("extra") or {}
        return bool(extra.get("synthetic") or self.config.get("synthetic"))


@dataclass
class Comparison:
    """What :func:`compare_runs` wrote and found."""

    tables: dict[str, gpd.GeoDataFrame]
    summary: list[str]
    inequality: InequalityReport | None = None
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def read_run(folder: str | Path) -> Run:
    """Read a finished run folder of ``ilots run`` or ``ilots demo``.

    Raises
    ------
    CompareError
        Not a folder, no readable ``manifest.json`` with a grid, or no zone layer.
    """
    run = RunFolder(Path(folder))
    if not run.root.is_dir():
        raise CompareError(f"{run.root} is not a folder; give a run folder of ilots run/demo")
    try:
        manifest = json.loads(run.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(
            f"{run.root} has no manifest.json: not a finished run folder; give the folder "
            "ilots run or ilots demo wrote (its outputs/), or finish that run first"
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CompareError(f"{run.manifest} cannot be read ({err}); rerun ilots run") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("grid"), dict):
        raise CompareError(f"{run.manifest} records no grid; rerun ilots run on that config")
    layers = {name: frame for name in LAYERS if (frame := _read_layer(run, name)) is not None}
    if not layers:
        raise CompareError(
            f"{run.root} has no zone layer (zones.gpkg or zones/*.parquet); rerun ilots run"
        )
    return Run(run.root, manifest, layers, _read_inequality(run))


def _read_inequality(run: RunFolder) -> dict[str, Any]:
    """Return the run's ``inequality.json`` (empty: none, or unreadable)."""
    try:
        saved = json.loads(run.inequality_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _read_layer(run: RunFolder, name: str) -> gpd.GeoDataFrame | None:
    """Read zone layer ``name`` of a run, its first column (the zone id) as text."""
    if run.zones_gpkg.is_file() and name in set(pyogrio.list_layers(run.zones_gpkg)[:, 0]):
        frame = gpd.read_file(run.zones_gpkg, layer=name)
    elif run.zone_parquet(name).is_file():
        frame = gpd.read_parquet(run.zone_parquet(name))
    else:
        return None
    key = frame.columns[0]
    return frame.assign(**{key: frame[key].astype("string")})


def check_comparable(a: Run, b: Run) -> None:
    """Refuse two runs whose grids differ; warn of the settings that differ.

    Raises
    ------
    GridError
        The grid's CRS or resolution differs.
    """
    for key in ("crs", "resolution"):
        if a.manifest["grid"].get(key) != b.manifest["grid"].get(key):
            raise GridError(
                f"{a.folder} and {b.folder}: grid {key} differs "
                f"({a.manifest['grid'].get(key)} vs {b.manifest['grid'].get(key)}); rerun one "
                f"with the other's grid.{key} so that the zones average the same pixels"
            )
    checks: list[tuple[str, Any, Any, WarningCode, str]] = [
        (
            "rural reference (heat_island, composite.anomaly_reference/anomaly_method)",
            _reference(a),
            _reference(b),
            "reference_differs",
            "ΔT is taken against another reference: part of its change is the reference's",
        ),
        (
            "land-cover source",
            landcover_source(a),
            landcover_source(b),
            "landcover_source_differs",
            "land-cover shares (and the rural ring's built and water pixels) change with it",
        ),
        (
            "composite.min_clear",
            a.setting("composite", "min_clear"),
            b.setting("composite", "min_clear"),
            "min_clear_differs",
            "the composites keep other pixels, so valid_frac and ΔT change with it",
        ),
    ]
    for what, value_a, value_b, code, effect in checks:
        if value_a != value_b:
            _warn(
                f"{a.folder} and {b.folder}: the {what} differs ({value_a} vs {value_b}): "
                f"{effect}; rerun one with the other's setting for a like-for-like comparison",
                code,
            )
    synthetic = [str(run.folder) for run in (a, b) if run.synthetic]
    if synthetic:
        _warn(
            f"{' and '.join(synthetic)}: synthetic data (the demo city, not a real place): "
            "the comparison shows the method, not a city's change",
            "synthetic_run",
        )


def _reference(run: Run) -> dict[str, Any]:
    """Return the settings of the run's ΔT reference: ``heat_island``, the anomaly's own."""
    reference = dict(run.config.get("heat_island") or {})
    for key in ("anomaly_reference", "anomaly_method"):
        reference[key] = run.setting("composite", key)
    return reference


def landcover_source(run: Run) -> str:
    """Describe where a run's land cover came from: an external map, or the rules' indices.

    The rules' sensor is ``composite.indices_from`` (``auto``: Landsat when the run found no
    Sentinel-2 product); a run whose products lacked NDBI (``landcover_fallback``) counted
    bare soil as built.
    """
    external = run.setting("landcover", "external")
    if external:
        path = external.get("path") if isinstance(external, Mapping) else external
        return f"external map {path}"
    codes = set(run.manifest.get("warning_codes") or ())
    sensor = run.setting("composite", "indices_from") or "auto"
    if sensor == "auto":
        has_s2 = bool(run.setting("inputs", "sentinel2")) and "no_sentinel2" not in codes
        sensor = "sentinel2" if has_s2 else "landsat"
    fallback = ", NDVI-only fallback" if "landcover_fallback" in codes else ""
    return f"rules on {sensor} indices{fallback}"


def _warn(message: str, code: WarningCode | None) -> None:
    warnings.warn(IlotsWarning(message, code=code), stacklevel=3)


def _shared_ids(a: Run, b: Run, layer: str) -> list[str]:
    """Return the zone ids of ``layer`` in both runs (B's order); warn of those in one only."""
    ids_a = list(a.layers[layer].iloc[:, 0].dropna())
    ids_b = list(b.layers[layer].iloc[:, 0].dropna())
    set_a = set(ids_a)
    shared = [code for code in ids_b if code in set_a]
    if not shared:
        raise ZonesError(
            f"{a.folder} and {b.folder}: the {layer} layers share no zone id (e.g. "
            f"{ids_a[:2]} vs {ids_b[:2]}); compare runs made with the same zone file"
        )
    only_a = [code for code in ids_a if code not in set(shared)]
    only_b = [code for code in ids_b if code not in set_a]
    if only_a or only_b:
        _warn(
            f"{a.folder} and {b.folder}: {layer} ids differ in part: {len(only_a)} only in A "
            f"(e.g. {only_a[:_EXAMPLES]}), {len(only_b)} only in B (e.g. "
            f"{only_b[:_EXAMPLES]}); only the {len(shared)} in both are compared",
            "zones_differ",
        )
    return shared


def change_table(a: Run, b: Run, layer: str) -> gpd.GeoDataFrame:
    """Return the per-zone change of ``layer`` from A to B, with B's geometry.

    Columns: the id, the name (when the layer has one), ``in_qpv`` (B's, IRIS only), then
    for each measure both runs have ``<measure>_a``, ``_b`` and ``_change`` (B − A),
    ``valid_frac_a``, ``valid_frac_b`` and ``unreliable`` (see the module).
    """
    shared = _shared_ids(a, b, layer)
    frame_a = a.layers[layer].set_index(a.layers[layer].columns[0])
    frame_b = b.layers[layer].set_index(b.layers[layer].columns[0]).loc[shared]
    frame_a = frame_a.loc[shared]
    key = b.layers[layer].columns[0]
    table = pd.DataFrame({key: pd.array(shared, dtype="string")})
    name = next((c for c in frame_b.columns if c.startswith("nom") or c == "name"), None)
    if name is not None:
        table[name] = frame_b[name].to_numpy()
    if "in_qpv" in frame_b.columns:
        table["in_qpv"] = frame_b["in_qpv"].to_numpy()
    shares = [landcover_column(n) for n in LANDCOVER_CLASSES]
    for measure in (*MEASURES, *shares):
        if measure not in frame_a.columns or measure not in frame_b.columns:
            continue
        value_a = pd.to_numeric(frame_a[measure]).to_numpy(dtype=float)
        value_b = pd.to_numeric(frame_b[measure]).to_numpy(dtype=float)
        if measure in shares and (pd.isna(value_a).all() or pd.isna(value_b).all()):
            continue  # a class one run did not compute (bare soil without NDBI)
        table[f"{measure}_a"] = value_a
        table[f"{measure}_b"] = value_b
        table[f"{measure}_change"] = value_b - value_a
    table["valid_frac_a"] = pd.to_numeric(frame_a["valid_frac"]).to_numpy(dtype=float)
    table["valid_frac_b"] = pd.to_numeric(frame_b["valid_frac"]).to_numpy(dtype=float)
    table["unreliable"] = _unreliable(a, frame_a) | _unreliable(b, frame_b)
    return gpd.GeoDataFrame(table, geometry=frame_b.geometry.to_numpy(), crs=frame_b.crs)


def _unreliable(run: Run, frame: pd.DataFrame) -> Any:
    """Whether ``run`` would not trust each zone (its own thresholds; see the module)."""
    threshold = run.setting("zones", "min_valid_frac")
    valid = pd.to_numeric(frame["valid_frac"]).to_numpy(dtype=float)
    low = (valid < threshold) if threshold is not None else valid != valid
    if LOW_CLEAR_AREA in frame.columns:
        low = low | frame[LOW_CLEAR_AREA].fillna(False).to_numpy(dtype=bool)
    return low | (valid != valid)  # no valid_frac: no trust either


def summarise(iris: pd.DataFrame, a: Run, b: Run, tested: InequalityReport | None) -> list[str]:
    """Return the summary lines of the IRIS change table (see the module)."""
    lines = [
        f"periods: A {_periods(a)}; B {_periods(b)}",
        f"compared {len(iris)} IRIS ({int(iris['unreliable'].sum())} unreliable)",
    ]
    if "in_qpv" not in iris.columns:
        return [*lines, "no in_qpv column in run B's IRIS: no QPV summary"]
    in_qpv = iris["in_qpv"].fillna(False).to_numpy(dtype=bool)
    for measure, unit in ((OUTCOME, " K"), ("ndvi_mean", "")):
        change = f"{measure}_change"
        if change not in iris.columns:
            continue
        inside = iris.loc[in_qpv, change].mean()
        outside = iris.loc[~in_qpv, change].mean()
        lines.append(
            f"mean change of {measure} (IRIS means, unweighted): {_signed(inside)}{unit} in "
            f"QPV IRIS, {_signed(outside)}{unit} outside"
        )
    return [*lines, *_gap_lines(iris, a, b, tested)]


def _gap_lines(iris: pd.DataFrame, a: Run, b: Run, tested: InequalityReport | None) -> list[str]:
    """Say each run's QPV gap of ΔT and the test of its change (see :func:`gap_change`)."""
    gaps = [_saved_gap(run) for run in (a, b)]
    lines = []
    if not any(gap is None for gap in gaps):
        lines.append(
            f"QPV gap of ΔT (each run's inequality.json): {_signed(gaps[0])} K in A, "
            f"{_signed(gaps[1])} K in B"
        )
    difference = tested.group_difference if tested is not None else None
    alike = _alike(iris)
    if alike is not None:
        return [*lines, f"change of the QPV gap of ΔT: +0.000 K (every IRIS changed by {alike})"]
    if difference is None:
        untested = "not tested (no ΔT in a run, or no QPV gap in B)"
        return [*lines, f"change of the QPV gap of ΔT: {untested}"]
    low, high = (_signed(bound) for bound in (difference.ci_low, difference.ci_high))
    strata = f"within {difference.n_strata} strata" if difference.n_strata > 1 else "unstratified"
    return [
        *lines,
        f"change of the QPV gap of ΔT: {_signed(difference.value)} K, "
        f"{difference.confidence:.0%} interval [{low}, {high}] K, p = {difference.p_value:.3f} "
        f"(permutation test of the per-IRIS change, {strata}, {difference.n} IRIS)",
    ]


def _alike(iris: pd.DataFrame) -> str | None:
    """Say the one change of ΔT every IRIS with a value shares ("+0.000 K"); None: not so.

    A change shared by every IRIS moves no gap: there is nothing to test.
    """
    if CHANGE not in iris.columns:
        return None
    values = pd.to_numeric(iris[CHANGE]).dropna().unique()
    return f"{_signed(values[0])} K" if len(values) == 1 else None


def _saved_gap(run: Run) -> float | None:
    """Return the QPV gap of ΔT a run's ``inequality.json`` records, or None."""
    saved = run.inequality
    difference = saved.get("group_difference")
    if saved.get("outcome") != OUTCOME or not isinstance(difference, dict):
        return None
    value = difference.get("value")
    return float(value) if isinstance(value, (int, float)) else None


def gap_change(b: Run, iris: pd.DataFrame) -> InequalityReport | None:
    """Run run B's inequality statistics on the per-IRIS change of ΔT.

    The zone roles (income, population, QPV membership, stratum) are those B's
    ``inequality.json`` names, the options (permutations, bootstrap, confidence, seed) those
    of B's config: the group difference of the change is then the change of B's QPV gap
    (B's gap minus A's, when both runs weigh the same IRIS alike), with a permutation test and
    its interval; the concentration index of the change says whether the poorer IRIS warmed
    more. None when B computed no inequality (no income, no QPV membership) or the change
    allows none (e.g. fewer than 3 IRIS); the latter is said as a warning.
    """
    roles = {role: b.inequality.get(role) for role in _ROLES}
    if None in (roles["income"], roles["group"]) or CHANGE not in iris or _alike(iris):
        return None
    layer = b.layers["iris"]
    key = layer.columns[0]
    table = layer.set_index(key).loc[iris[key]].reset_index()
    table[CHANGE] = iris[CHANGE].to_numpy(dtype=float)
    if any(table.get(role) is None for role in roles.values() if role is not None):
        return None
    options = InequalityConfig.model_validate(b.config.get("inequality") or {}).run_options()
    try:
        return run_inequality(
            table,
            outcome=CHANGE,
            interval_scale=True,  # a difference of temperatures
            check_income=False,  # run B said it once
            **roles,
            **options,
        )
    except InequalityError as err:
        _warn(f"{b.folder}: the change of the QPV gap is not tested: {err}", None)
        return None


def _periods(run: Run) -> str:
    """Say a run's acquisition periods ("June–August 2023"), as its report does in English."""
    return period_text(run.config.get("periods"), Messages("en")) or "not recorded"


def _signed(value: float) -> str:
    return "n/a" if value != value else f"{value:+.3f}"


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
            name: {"a": reader(a), "b": reader(b)} for name, reader in _COMPARED_SETTINGS.items()
        },
    }


def _run_record(run: Run) -> dict[str, Any]:
    return {
        "folder": str(run.folder),
        "manifest_sha256": sha256_file(run.folder / "manifest.json"),
        "periods": run.config.get("periods"),
        "synthetic": run.synthetic,
    }


_COMPARED_SETTINGS = {
    "grid.crs": lambda run: run.manifest["grid"].get("crs"),
    "grid.resolution": lambda run: run.manifest["grid"].get("resolution"),
    "reference": _reference,
    "landcover_source": landcover_source,
    "composite.min_clear": lambda run: run.setting("composite", "min_clear"),
    "zones.min_valid_frac": lambda run: run.setting("zones", "min_valid_frac"),
}
