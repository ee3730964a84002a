"""Write the rasters of a run as COGs with CF-style tags, all in one Dask pass.

Each raster goes through :func:`raster.cog.write_cog` (DEFLATE, internal overviews, atomic
rename): measures as float32 with NaN nodata, codes and counts in their integer type (land
cover as uint8 with 0 as nodata and a colour table, clear-observation counts as int16).
Continuous rasters get ``average`` overviews; categorical ones (land cover classes,
clear-observation counts, anything with CF ``flag_values``/``flag_masks`` or an
integer/boolean dtype) get ``nearest`` so that an overview pixel is always one of the original
codes. Tags follow CF attribute names (``units``, ``long_name``, ``standard_name``,
``flag_values``, ``flag_meanings``) and say which ilots wrote the file and whether its inputs
were synthetic; a run's COGs also say its acquisition periods (:func:`period_tags`, ACDD
names). Beside each COG goes a QGIS style, ``<name>.qml``
(:mod:`pipelines.outputs.raster_styles`), so that QGIS opens it with a colour ramp or the
named land-cover classes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
from dask.delayed import Delayed

from pipelines.outputs._atomic import ilots_version, note_written
from pipelines.outputs.folder import check_name
from pipelines.outputs.raster_styles import write_raster_style
from raster.cog import check_compression, write_cog
from raster.landcover import CLASS_COLOURS
from tiles.errors import CRSError

__all__ = [
    "OVERVIEW_RESAMPLINGS",
    "RASTER_SPECS",
    "VERSION_TAG",
    "RasterSpec",
    "map_year_tags",
    "period_tags",
    "raster_tags",
    "remove_scratch",
    "write_rasters",
]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

#: Overview resamplings GDAL's COG driver accepts (``OVERVIEW_RESAMPLING``), lower case.
OVERVIEW_RESAMPLINGS = frozenset(
    ("nearest", "average", "bilinear", "cubic", "cubicspline", "lanczos", "mode", "rms")
)

#: The tag that marks a raster as written by ilots (its version).
VERSION_TAG = "ilots_version"

# Attributes that describe an encoding, not the values written (already decoded floats).
_ENCODING_ATTRS = frozenset(
    ("scale_factor", "add_offset", "_FillValue", "missing_value", "grid_mapping", "coordinates")
)


@dataclass(frozen=True)
class RasterSpec:
    """Default CF-style description of a standard run-folder raster.

    Parameters
    ----------
    long_name
        CF ``long_name``.
    units
        CF ``units`` (``"1"`` for dimensionless), or ``None`` for class codes.
    standard_name
        CF ``standard_name`` where one exists.
    categorical
        Codes or counts: overviews use ``nearest``.
    colormap
        Colour table of integer codes, code → (red, green, blue, alpha).
    """

    long_name: str
    units: str | None = None
    standard_name: str | None = None
    categorical: bool = False
    colormap: Mapping[int, tuple[int, int, int, int]] | None = None


#: Defaults for the rasters DESIGN.md names; a DataArray's own attrs take precedence.
RASTER_SPECS: Mapping[str, RasterSpec] = {
    "lst_median": RasterSpec(
        "median land surface temperature", "K", standard_name="surface_temperature"
    ),
    "lst_p90": RasterSpec(
        "90th percentile of land surface temperature", "K", standard_name="surface_temperature"
    ),
    "lst_median_sharpened": RasterSpec(
        "median land surface temperature sharpened with the NDVI composite",
        "K",
        standard_name="surface_temperature",
    ),
    "lst_anomaly": RasterSpec("land surface temperature anomaly", "K"),
    "lst_anomaly_p90": RasterSpec(
        "90th percentile of the land surface temperature anomaly over the scenes", "K"
    ),
    "ndvi_median": RasterSpec(
        "median normalized difference vegetation index",
        "1",
        standard_name="normalized_difference_vegetation_index",
    ),
    "albedo_median": RasterSpec(
        "median surface broadband albedo", "1", standard_name="surface_albedo"
    ),
    "landcover": RasterSpec("land cover class", categorical=True, colormap=CLASS_COLOURS),
    "n_clear": RasterSpec("number of clear-sky observations", "1", categorical=True),
}


def write_rasters(
    rasters: xr.Dataset | Mapping[str, xr.DataArray],
    folder: str | os.PathLike[str],
    *,
    tags: Mapping[str, Any] | None = None,
    overview_resampling: Mapping[str, str] | None = None,
    synthetic: bool = False,
    compute: bool = False,
    scheduler: Any = None,
    compression: str = "deflate",
    qgis_styles: bool = True,
    stop: threading.Event | None = None,
    anomaly_range_k: float | None = None,
) -> dict[str, Delayed] | dict[str, Path]:
    """Write each raster as ``<folder>/<name>.tif`` (COG), lazily by default.

    Parameters
    ----------
    rasters
        A Dataset (each 2-D data variable is written) or a mapping name → ``(y, x)``
        DataArray, NumPy- or Dask-backed, all with the same CRS.
    folder
        Output folder (``RunFolder.rasters``); created if missing.
    tags
        Tags added to every file (e.g. ``source``, ``history``); they override the
        per-raster ones.
    overview_resampling
        Per-name overview resampling (``nearest``, ``average``, ``mode``, ...), overriding
        the inference: ``nearest`` for categorical rasters, ``average`` otherwise.
    synthetic
        The run used synthetic inputs (``ilots demo``): tags ``synthetic=true`` and a comment.
    compute
        ``False`` (default): return one :class:`~dask.delayed.Delayed` per raster, to pass
        to a single ``dask.compute`` together with the other outputs. ``True``: write all
        rasters now in one pass.
    scheduler
        With ``compute=True``, the Dask scheduler of that pass (a name such as ``"threads"``
        for arrays held in this process, or a get function); default the current one.
    compression
        ``deflate`` (default) or ``zstd`` (:data:`raster.cog.COMPRESSIONS`).
    qgis_styles
        Also write ``<name>.qml`` beside each COG once it is written, so that QGIS opens it
        styled (:func:`pipelines.outputs.raster_styles.write_raster_style`; rasters without
        a style in :data:`~pipelines.outputs.raster_styles.RASTER_STYLES` get none).
    stop
        With ``compute=True``: the rasters are written one at a time (a pass each), and
        none is started once ``stop`` is set (the one being written is finished).
    anomaly_range_k
        ``outputs.anomaly_range_k``: the styles of the LST anomalies span ``[-v, v]`` K
        instead of their own values' range; ``None`` (default) for that.

    Returns
    -------
    dict
        Name → Delayed (yielding the path) or name → path, in input order. Written now
        (``compute=True``), each file is noted for :func:`~._atomic.recorded_writes`;
        with ``stop`` set, only the rasters written before it was.

    Raises
    ------
    ValueError
        No rasters, a bad name, a non-2-D variable, an unknown resampling or a bad
        ``anomaly_range_k``.
    CRSError
        A raster without a CRS, or rasters with different CRSs.
    """
    arrays = _as_mapping(rasters)
    resampling = dict(overview_resampling or {})
    unknown = sorted(set(resampling) - set(arrays))
    if unknown:
        raise ValueError(f"overview_resampling names {unknown} are not among the rasters given")
    check_compression(compression)
    if anomaly_range_k is not None and not (np.isfinite(anomaly_range_k) and anomaly_range_k > 0):
        raise ValueError(f"anomaly_range_k must be a number > 0 (K), got {anomaly_range_k!r}")
    out = Path(folder)
    common = {k: text for k, v in (tags or {}).items() if (text := _tag_value(v)) is not None}
    first_crs = None
    plans: list[tuple[str, xr.DataArray, dict[str, str], dict[str, Any]]] = []
    for name, data in arrays.items():  # validate everything before creating any file
        check_name(name, "raster")
        if data.ndim != 2:
            raise ValueError(f"raster {name!r} has dims {data.dims}; write (y, x) arrays only")
        crs = data.rio.crs
        if crs is None:
            raise CRSError(f"raster {name!r} has no CRS; set one with .rio.write_crs()")
        if first_crs is None:
            first_crs = crs
        elif crs != first_crs:
            raise CRSError(
                f"raster {name!r} is in {crs}, the others in {first_crs}; reproject it first"
            )
        method = resampling.get(name) or ("nearest" if is_categorical(name, data) else "average")
        if method.lower() not in OVERVIEW_RESAMPLINGS:
            raise ValueError(
                f"overview resampling {method!r} for {name!r} is not one of "
                f"{', '.join(sorted(OVERVIEW_RESAMPLINGS))}"
            )
        file_tags = raster_tags(name, data.attrs, synthetic=synthetic)
        file_tags.update(common)
        plans.append((name, data, file_tags, _layout(name, data, method.lower())))

    out.mkdir(parents=True, exist_ok=True)
    settings = _WriteSettings(out, compression, qgis_styles, anomaly_range_k)
    if compute and stop is not None:
        return _write_until_stopped(plans, settings, stop, scheduler)
    tasks: dict[str, Delayed] = {}
    try:
        for name, data, file_tags, layout in plans:
            tasks[name] = _task(name, data, file_tags, layout, settings)
    except BaseException:
        remove_scratch(out, [plan[0] for plan in plans])
        raise
    if not compute:
        return tasks
    try:
        paths = dask.compute(*tasks.values(), scheduler=scheduler)
    except BaseException:
        remove_scratch(out, tasks)
        raise
    for path in paths:  # written by raster.cog, whichever process ran the task
        _note(path, qgis_styles)
    return dict(zip(tasks, (Path(p) for p in paths), strict=True))


@dataclass(frozen=True)
class _WriteSettings:
    """What every raster of one :func:`write_rasters` call is written with (its arguments).

    Parameters
    ----------
    out
        The output folder.
    compression
        The COGs' compression.
    qgis_styles
        Write each COG's QGIS style beside it.
    anomaly_range_k
        The range of the LST anomalies' styles, ``None`` for their values'.
    """

    out: Path
    compression: str
    qgis_styles: bool
    anomaly_range_k: float | None


def _task(
    name: str, data: xr.DataArray, file_tags: dict[str, str], layout: dict[str, Any],
    settings: _WriteSettings,
) -> Delayed:  # fmt: skip
    """Return the task that writes raster ``name`` (its scratch file, if any, made now)."""
    clean = data.copy(deep=False)
    clean.attrs = {}  # write_cog copies attrs into tags: pass the cleaned set instead
    _LOG.debug("raster %s: %s, tags %s", name, layout, sorted(file_tags))
    task = write_cog(
        clean, settings.out / f"{name}.tif", tags=file_tags, compute=False,
        compression=settings.compression, **layout,
    )  # fmt: skip
    if settings.qgis_styles:
        task = dask.delayed(_styled, pure=False)(task, name, settings.anomaly_range_k)
    return task  # type: ignore[return-value]


def _write_until_stopped(
    plans: list[tuple[str, xr.DataArray, dict[str, str], dict[str, Any]]],
    settings: _WriteSettings, stop: threading.Event, scheduler: Any,
) -> dict[str, Path]:  # fmt: skip
    """Write the rasters of ``plans`` one at a time until ``stop`` is set; return their paths.

    Each one's task (and scratch file) is made only when it is started: a stopped write
    leaves none of the others'.
    """
    written: dict[str, Path] = {}
    for name, data, file_tags, layout in plans:
        if stop.is_set():
            break
        try:
            task = _task(name, data, file_tags, layout, settings)
            (path,) = dask.compute(task, scheduler=scheduler)
        except BaseException:
            remove_scratch(settings.out, [name])
            raise
        _note(path, settings.qgis_styles)
        written[name] = Path(path)
    return written


def _note(path: str | os.PathLike[str], qgis_styles: bool) -> None:
    """Note the COG at ``path`` and its style for :func:`~._atomic.recorded_writes`."""
    note_written(path)
    if qgis_styles and (style := Path(path).with_suffix(".qml")).is_file():
        note_written(style)


def _styled(
    path: str | os.PathLike[str], name: str, anomaly_range_k: float | None = None
) -> str | os.PathLike[str]:
    """Write the QGIS style of the COG just written at ``path``; pass its path on."""
    write_raster_style(path, name, anomaly_range_k=anomaly_range_k)
    return path


def remove_scratch(folder: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Remove the scratch files :func:`raster.cog.write_cog` leaves when a compute fails.

    ``write_cog(compute=False)`` creates ``.<name>.tif.<hex>.scratch.tif`` when the graph is
    built and removes it only once the COG is finished, so a failed ``dask.compute`` leaves
    it behind. :func:`write_rasters` calls this itself with ``compute=True``; with
    ``compute=False``, call it when the shared compute fails.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for name in names:
        for scratch in Path(folder).glob(f".{name}.tif.*.scratch.tif"):
            scratch.unlink(missing_ok=True)
            removed.append(scratch)
    return removed


def _layout(name: str, data: xr.DataArray, resampling: str) -> dict[str, Any]:
    """write_cog's overview resampling, and for integer data its nodata and colour table.

    The nodata of integer data is the DataArray's own (rioxarray's ``rio.nodata``: the
    ``nodata`` or ``_FillValue`` attr, e.g. class 0 of the land cover); none otherwise.
    """
    layout: dict[str, Any] = {"overview_resampling": resampling}
    if data.dtype.kind in "iub":
        nodata = data.rio.nodata
        if nodata is not None and np.isfinite(nodata):
            layout["nodata"] = int(nodata)
        spec = RASTER_SPECS.get(name)
        if spec is not None and spec.colormap is not None and data.dtype.kind == "u":
            layout["colormap"] = spec.colormap
    return layout


def is_categorical(name: str, data: xr.DataArray) -> bool:
    """Whether overviews of ``data`` must use ``nearest`` (codes or counts, not measures).

    True for the categorical standard rasters (``landcover``, ``n_clear``), for CF flag
    variables (``flag_values`` or ``flag_masks`` attrs) and for integer or boolean dtypes.
    """
    spec = RASTER_SPECS.get(name)
    if spec is not None and spec.categorical:
        return True
    if "flag_values" in data.attrs or "flag_masks" in data.attrs:
        return True
    return bool(np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.bool_))


def raster_tags(
    name: str, attrs: Mapping[str, Any] | None = None, *, synthetic: bool = False
) -> dict[str, str]:
    """CF-style GDAL metadata tags for raster ``name``.

    Parameters
    ----------
    name
        Raster name; standard names (:data:`RASTER_SPECS`) get default ``long_name``,
        ``units`` and ``standard_name``.
    attrs
        The DataArray's attrs: they override the defaults. Sequences (``flag_values``) become
        space-separated strings as in CF; encoding attrs (``scale_factor``, ``_FillValue``,
        ...) and private ones (leading ``_``) are dropped.
    synthetic
        Mark the file as made from synthetic inputs.

    Returns
    -------
    dict
        Tag name → string, including ``ilots_version`` and ``synthetic``.
    """
    tags: dict[str, str] = {}
    spec = RASTER_SPECS.get(name)
    if spec is not None:
        tags["long_name"] = spec.long_name
        if spec.units is not None:
            tags["units"] = spec.units
        if spec.standard_name is not None:
            tags["standard_name"] = spec.standard_name
    for key, value in (attrs or {}).items():
        if key.startswith("_") or key in _ENCODING_ATTRS or value is None:
            continue
        text = _tag_value(value)
        if text is not None:
            tags[key] = text
    tags[VERSION_TAG] = ilots_version()
    tags["synthetic"] = "true" if synthetic else "false"
    if synthetic:
        note = "synthetic data from ilots demo, not a real place"
        tags["comment"] = f"{tags['comment']}; {note}" if tags.get("comment") else note
    return tags


def period_tags(periods: Sequence[tuple[dt.date, dt.date]]) -> dict[str, str]:
    """Tags saying the acquisition periods of a run's rasters, so that two runs differ.

    ACDD's ``time_coverage_start`` and ``time_coverage_end`` (the first and last day of
    all), and ``ilots_periods``: each period as an ISO 8601 interval of days, space
    separated (two summers are two periods, not the year between them).

    Parameters
    ----------
    periods
        The first and last day (both included) of each period, in order
        (:class:`~pipelines.outputs.geopackage.RunInputs`'s ``periods``).

    Returns
    -------
    dict
        Tag name → string; empty without a period.
    """
    if not periods:
        return {}
    return {
        "time_coverage_start": periods[0][0].isoformat(),
        "time_coverage_end": periods[-1][1].isoformat(),
        "ilots_periods": " ".join(f"{start}/{end}" for start, end in periods),
    }


def map_year_tags(year: int | None) -> dict[str, str]:
    """Tags saying the year a land-cover map shows, for a land cover taken from it.

    ACDD's ``time_coverage_start`` and ``time_coverage_end``: the first and last day of
    ``year``; none when the year is not known (never the run's periods: the classes are the
    map's, not the scenes').
    """
    if year is None:
        return {}
    return {"time_coverage_start": f"{year}-01-01", "time_coverage_end": f"{year}-12-31"}


def _tag_value(value: Any) -> str | None:
    """Format a scalar or flat sequence of scalars as a tag; ``None`` for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        return str(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, list | tuple | np.ndarray):
        items = np.asarray(value).ravel().tolist()
        if all(isinstance(v, int | float | str) for v in items):
            return " ".join(str(v) for v in items)
    return None


def _as_mapping(rasters: xr.Dataset | Mapping[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    if isinstance(rasters, xr.Dataset):
        arrays = {str(name): rasters[name] for name in rasters.data_vars}
    elif isinstance(rasters, Mapping):
        arrays = dict(rasters)
        bad = [name for name, value in arrays.items() if not isinstance(value, xr.DataArray)]
        if bad:
            raise TypeError(f"rasters {bad} are not xarray DataArrays")
    else:
        raise TypeError(
            f"write_rasters takes a Dataset or a mapping of DataArrays, got {type(rasters)}"
        )
    if not arrays:
        raise ValueError("no rasters to write; pass at least one DataArray")
    return arrays
