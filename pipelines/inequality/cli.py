"""``ilots inequality``: every inequality statistic of a zone table → RESULT.json + RESULT.csv.

A thin layer over :func:`~pipelines.inequality.report.run_inequality`. Register it on the main
group with ``main.add_command(inequality_command, "inequality")``.
"""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import click
import pandas as pd

from pipelines.inequality.report import run_inequality
from pipelines.outputs._atomic import all_or_none, check_new, check_output, written_path
from pipelines.outputs.provenance import split_synthetic_column, zones_are_synthetic
from pipelines.outputs.tables import inequality_texts
from tiles.errors import IlotsError, IlotsWarning, LayerNotFoundError

__all__ = ["inequality_command", "read_table"]


def read_table(path: Path, layer: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """Read a zone table; return it with the name of its geometry column (``None`` if none).

    Parameters
    ----------
    path
        ``.csv``, ``.parquet`` (GeoParquet keeps its geometry), or any vector file pyogrio
        reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf ...), as ``ilots zonal``'s zones.
    layer
        Layer of a vector file (default: the first one).

    Raises
    ------
    click.ClickException
        Unreadable file, or no layer ``layer``.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(encoding="utf-8", errors="replace") as file:
                header = file.readline()
            # INSEE writes ';' between fields (and decimal commas, which the statistics read)
            sep = ";" if header.count(";") > header.count(",") else ","
            return pd.read_csv(path, sep=sep), None
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            metadata = pq.read_schema(path).metadata or {}
            if b"geo" in metadata:
                import geopandas as gpd

                frame = gpd.read_parquet(path)
                return frame, frame.geometry.name
            return pd.read_parquet(path), None
        return _read_vector(path, layer)
    except click.ClickException:
        raise
    except LayerNotFoundError as err:
        raise click.ClickException(str(err)) from err
    except Exception as err:  # pyogrio's errors for unreadable files are not OSErrors
        raise click.ClickException(f"cannot read {path.name}: {err}") from err


def _read_vector(path: Path, layer: str | None) -> tuple[pd.DataFrame, str | None]:
    """Read a layer of a vector file (the first by default) as the zones of ``ilots zonal``."""
    import geopandas as gpd
    from pyogrio.errors import DataSourceError

    from pipelines.census import check_layer

    try:
        check_layer(path, layer)
    except DataSourceError:
        raise click.ClickException(
            f"cannot read {path.name}: the table must be .csv, .parquet or a vector file GDAL "
            "reads (.gpkg, .geojson, .shp, .fgb ...)"
        ) from None
    frame = gpd.read_file(path, layer=layer)
    has_geometry = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any()
    return frame, frame.geometry.name if has_geometry else None


def _parse_bounds(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter("give the outcome's range as LOW,HIGH, e.g. 0,1") from None
    return low, high


def _write_atomically(files: dict[Path, str], *, overwrite: bool) -> None:
    """Write every file under a temporary name, then put each in place, the last one last.

    Not ``overwrite``: none is replaced (:func:`~pipelines.outputs._atomic.publish`), even
    one that appeared since the command checked; then the files already put in place are
    removed (:func:`~pipelines.outputs._atomic.all_or_none`), so that none is left as if the
    result were whole. ``overwrite``: a symbolic link is written through.
    """
    staged = {}
    try:
        with all_or_none() as published:
            for given, text in files.items():
                target = written_path(given, overwrite)
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
                staging.write_text(text, encoding="utf-8")
                staged[target] = staging
            for target, staging in staged.items():
                published.publish(staging, target, overwrite=overwrite)
    finally:
        for staging in staged.values():
            staging.unlink(missing_ok=True)


@click.command("inequality")
@click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--outcome", required=True, help="Outcome column (e.g. lst_mean_k).")
@click.option("--income", required=True, help="Income column (e.g. DISP_MED21).")
@click.option("--population", default=None, help="Residents column (population weights).")
@click.option("--group", default=None, help="Group column, booleans or 0/1 (e.g. QPV).")
@click.option("--stratum", default=None, help="Stratum of the group test (e.g. commune code).")
@click.option(
    "--bounds",
    default=None,
    metavar="LOW,HIGH",
    help="Range of a bounded outcome (e.g. 0,1 for a green share): adds the Erreygers index.",
)
@click.option(
    "--interval-scale/--ratio-scale",
    default=None,
    help="Whether the outcome is on an interval scale, whose zero is arbitrary (a temperature "
    "in °C or K, a ΔT, a z-score): then the standard concentration index C, which depends on "
    "the origin, is not computed; read the generalized index GC. Default: interval scale when "
    "the outcome's name ends in _k (the run's temperatures) or holds zscore, ratio scale "
    "otherwise; give "
    "--interval-scale for a temperature in °C such as lst_c.",
)
@click.option(
    "--layer",
    default=None,
    help="Layer of a file that has several, as a GeoPackage (default: the first).",
)
@click.option(
    "--contiguity",
    type=click.Choice(["queen", "rook", "knn"]),
    default="queen",
    show_default=True,
    help="Spatial neighbours for Moran's I (geometry tables only).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=9999,
    show_default=True,
    help="Bootstrap resamples for the intervals of the concentration indices and the D1-D10 gap.",
)
@click.option(
    "--permutations",
    type=click.IntRange(min=0),
    default=9999,
    show_default=True,
    help="Random relabelings of the --group test (and its interval) when exact enumeration "
    "is too large; 0: no test.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="RESULT.json; a sibling RESULT.csv holds the flat table.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace OUT and its sibling .csv if they exist (default: refuse); through a "
    "symbolic link, the file it names.",
)
def inequality_command(
    table: Path,
    outcome: str,
    income: str,
    population: str | None,
    group: str | None,
    stratum: str | None,
    bounds: str | None,
    interval_scale: bool | None,
    layer: str | None,
    contiguity: str,
    bootstrap: int,
    permutations: int,
    seed: int,
    out: Path,
    overwrite: bool,
) -> None:
    """Inequality statistics of an outcome over income for the zones of TABLE.

    TABLE has one row per zone: a .csv, a .parquet, or a vector file GDAL reads (.gpkg,
    .geojson, .shp, .fgb ..., as ilots zonal's ZONES); with geometries (GeoParquet, vector
    files) Moran's I is added. Writes RESULT.json and RESULT.csv, both marked synthetic when
    TABLE says it is (a demo run's zone layer, or a CSV with a synthetic column of True
    values, as ilots writes them). Either existing is refused before any statistic is
    computed unless --overwrite is given.
    """
    if out.suffix.lower() != ".json":
        raise click.BadParameter("the result must end in .json", param_hint="--out")
    csv_path = out.with_suffix(".csv")
    frame, geometry = read_table(table, layer)
    marked = False  # a CSV's mark is a column, not data (not an outcome, not listed)
    if table.suffix.lower() == ".csv":
        frame, marked = split_synthetic_column(frame)
    wanted = {
        "--outcome": outcome,
        "--income": income,
        "--population": population,
        "--group": group,
        "--stratum": stratum,
    }
    missing = [f"{option} {name}" for option, name in wanted.items() if name and name not in frame]
    if missing:
        found = ", ".join(str(column) for column in frame.columns if column != geometry)
        raise click.ClickException(
            f"{table.name} has no column {'; '.join(missing)}; columns found: {found}"
        )
    check_output(out, inputs=[table], make_folder=True, overwrite=overwrite)  # before the work
    check_output(csv_path, inputs=[table], option="--out (its sibling .csv)", overwrite=overwrite)
    if not overwrite:
        check_new([out, csv_path])
    try:
        report = run_inequality(
            frame,
            outcome=outcome,
            income=income,
            population=population,
            group=group,
            stratum=stratum,
            geometry=geometry,
            bounds=_parse_bounds(bounds),
            interval_scale=interval_scale,
            contiguity=contiguity,
            bootstrap=bootstrap,
            permutations=permutations,
            seed=seed,
        )
    except IlotsError as err:
        raise click.ClickException(f"{type(err).__name__}: {err}") from err
    text, flat = inequality_texts(report, marked or zones_are_synthetic(table, layer) or None)
    # the .csv first: the --out appearing says that both are whole
    _write_atomically({csv_path: flat, out: text}, overwrite=overwrite)
    for note in report.notes:  # rows dropped, secret markers, decimal commas: said, not only kept
        if note in report.warnings:  # shown and counted (--strict) as the other commands' are
            warnings.warn(IlotsWarning(note), stacklevel=2)
        else:
            click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {out} and {csv_path}", err=True)
