"""``manifest.json``: what a run read, with what, on which grid, how long it took, what it warned.

The manifest makes a run folder auditable: the configuration as run, every input file with its
size and SHA-256 (each file of a product folder, each file a VRT reads), every output with the
same (the files the run wrote, no other file of its folder), the library versions (including
GDAL, GEOS and PROJ), the platform, the area of interest (:func:`area_record`) and the analysis
grid, per-step timings and the warnings raised. ``warning_codes`` gives the kind of each
warning, in the same order (a :data:`tiles.errors.WarningCode`, or ``null`` for a warning of no
kind); manifests written before it have none, nor ``area`` (``null`` when not given). JSON is
strict: NaN and infinities become ``null``; NumPy scalars and arrays, paths, datetimes,
dataclasses and pydantic models are converted.

Paths (POSIX separators where relative), so that a run folder moved or copied whole keeps a
manifest that names its files: an output's is relative to the run folder (the manifest's
own folder); an input's is relative to ``inputs_base`` when the input lies under it, else
absolute. ``inputs_base`` is that folder, given relative to the run folder: ``"."`` (the run
folder), or ``".."`` when the run folder sits in a demo or project folder holding a
``config.yaml`` (the base of the run folder's own ``config.yaml``, whose relative paths
lead there); ``null`` when every input path is absolute (manifests before version 3).
:func:`output_path` and :func:`input_path` read the paths back.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry.base import BaseGeometry

from pipelines.config.aoi import WGS84, polygon_parts
from pipelines.outputs._atomic import ilots_version, write_text_atomic
from tiles.errors import WarningText

__all__ = [
    "MANIFEST_KEYS",
    "MANIFEST_VERSION",
    "area_record",
    "build_manifest",
    "file_record",
    "input_path",
    "library_versions",
    "output_path",
    "output_record",
    "sha256_file",
    "to_jsonable",
    "vrt_sources",
    "write_json_atomic",
    "write_manifest",
]

#: Version of the manifest layout; bump when a key changes meaning. 2: output paths are
#: relative to the run folder (1: absolute), so a copied or moved folder's manifest holds.
#: 3: input paths relative to ``inputs_base`` where they lie under it (2: absolute), and
#: ``outputs`` lists only the files the run wrote (before 3 it may list every file of the
#: folder, a user's too: :mod:`pipelines.outputs.stale` removes only ilots' names of those).
#: 4: with water left out of the LST (``mask.lst_keep_water`` false), a zone's ``n_clear_mean``
#: is the mean over its pixels the land cover does not call water (before 4, over all its
#: pixels, water included: the report words it so, :mod:`pipelines.report.data`).
#: A new config key needs no bump: its absence marks the earlier runs (no
#: ``mask.indices_keep_water``: the land cover's water was not taken out of the NDVI and
#: albedo, as ``ilots compare`` and the report read it).
MANIFEST_VERSION = 4

#: Top-level keys of every manifest, in order.
MANIFEST_KEYS = (
    "manifest_version",
    "ilots_version",
    "started",
    "finished",
    "duration_s",
    "config",
    "inputs_base",
    "inputs",
    "outputs",
    "area",
    "grid",
    "timings",
    "warnings",
    "warning_codes",
    "versions",
    "platform",
    "extra",
)

_BLOCK = 1 << 20  # hash in 1 MiB blocks

# Display name → distribution name of the libraries whose versions a manifest records.
_DISTRIBUTIONS = {
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "xarray": "xarray",
    "dask": "dask",
    "distributed": "distributed",
    "rasterio": "rasterio",
    "rioxarray": "rioxarray",
    "odc-stac": "odc-stac",
    "odc-geo": "odc-geo",
    "pystac": "pystac",
    "geopandas": "geopandas",
    "pyogrio": "pyogrio",
    "pyarrow": "pyarrow",
    "shapely": "shapely",
    "pyproj": "pyproj",
    "exactextract": "exactextract",
    "numba": "numba",
    "scikit-image": "scikit-image",
    "scikit-learn": "scikit-learn",  # the scenario model
    "matplotlib": "matplotlib",  # the report's and the scenarios' figures
    "jinja2": "jinja2",  # the report
}


def build_manifest(
    *,
    config: Mapping[str, Any],
    inputs: Iterable[str | os.PathLike[str]],
    grid: Mapping[str, Any],
    timings: Mapping[str, float],
    warnings: Iterable[str],
    outputs: Iterable[str | os.PathLike[str]],
    extra: Mapping[str, Any] | None = None,
    started: datetime | None = None,
    finished: datetime | None = None,
    hash_inputs: bool = True,
    known_digests: Mapping[str, str] | None = None,
    remote_inputs: Iterable[str] = (),
    outputs_root: str | os.PathLike[str] | None = None,
    inputs_root: str | os.PathLike[str] | None = None,
    area: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the manifest of a run (every key of :data:`MANIFEST_KEYS`, in that order).

    Parameters
    ----------
    config
        The configuration as run (e.g. ``model.model_dump(mode="json")``).
    inputs
        Input files or folders (product folders are hashed file by file). One gone since the
        run read it (moved or deleted during the run) is recorded as ``"kind": "missing"``,
        without size or hash, and said in ``warnings``.
    grid
        The analysis grid (CRS, transform, shape, resolution ...).
    timings
        Step name → seconds.
    warnings
        Warning messages raised during the run; a :class:`tiles.errors.WarningText` gives
        its kind to ``warning_codes``.
    outputs
        Files written (sizes and hashes recorded; folders file by file).
    extra
        Anything else worth keeping (e.g. ``{"synthetic": True}`` for the demo).
    started, finished
        Start and end of the run (timezone-aware, or naive local time); ``finished``
        defaults to now, ``started`` to unknown (``null``).
    hash_inputs
        Hash input files (reads them all once; a Landsat scene is about 1 GB). When false,
        sizes only and ``sha256`` is ``null``.
    known_digests
        Absolute path → SHA-256 of files already hashed (outputs as they were written, inputs
        while the run read them): not read again.
    remote_inputs
        URLs of inputs read over the network, listed after ``inputs`` as ``"kind":
        "remote"`` without size or hash (give them without a signature or token).
    outputs_root
        The run folder: output paths are recorded relative to it (POSIX), so that the
        manifest of a folder copied or moved elsewhere still names its files
        (:func:`output_path` reads them back). ``None``: absolute paths.
    inputs_root
        The folder under which input paths are recorded relative to it (POSIX), recorded
        as ``inputs_base`` relative to ``outputs_root`` (:func:`input_path` reads them
        back): the run folder, or the demo or project folder around it. ``None``: absolute
        paths, ``inputs_base`` null.
    area
        The area of interest the run covered (:func:`area_record`); ``None``: not known.

    Returns
    -------
    dict
        JSON-ready after :func:`to_jsonable` (which :func:`write_manifest` applies).

    Raises
    ------
    FileNotFoundError
        An output does not exist.
    ValueError
        ``inputs_root`` without ``outputs_root``, whose folder its base is given from.
    """
    if inputs_root is not None and outputs_root is None:
        raise ValueError("inputs_root needs outputs_root (its base is given from there)")
    messages = list(warnings)
    codes = [message.code if isinstance(message, WarningText) else None for message in messages]
    warnings = [str(message) for message in messages]
    input_records = []
    for path in inputs:
        if Path(path).exists():
            input_records.append(file_record(path, hash_files=hash_inputs, known=known_digests))
            continue
        gone = str(Path(path).absolute())
        input_records.append({"path": gone, "kind": "missing", "size": None, "sha256": None})
        warnings.append(
            f"input {gone} was moved or deleted during the run: the outputs were computed "
            "from it, but manifest.json records no size or hash for it; keep inputs in place "
            "until a run ends"
        )
        codes.append(None)
    if inputs_root is not None:
        for record in input_records:
            record["path"] = _relative_path(record["path"], inputs_root)
    input_records += [
        {"path": str(href), "kind": "remote", "size": None, "sha256": None}
        for href in remote_inputs
    ]
    end = _aware(finished) if finished is not None else datetime.now(UTC)
    start = _aware(started) if started is not None else None
    duration = (end - start).total_seconds() if start is not None else None
    return {
        "manifest_version": MANIFEST_VERSION,
        "ilots_version": ilots_version(),
        "started": _iso(start) if start is not None else None,
        "finished": _iso(end),
        "duration_s": duration,
        "config": dict(config),
        "inputs_base": _inputs_base(inputs_root, outputs_root),
        "inputs": input_records,
        "outputs": [output_record(path, outputs_root, known=known_digests) for path in outputs],
        "area": dict(area) if area is not None else None,
        "grid": dict(grid),
        "timings": {str(step): float(seconds) for step, seconds in timings.items()},
        "warnings": warnings,
        "warning_codes": codes,
        "versions": library_versions(),
        "platform": _platform(),
        "extra": dict(extra or {}),
    }


def area_record(description: str, lonlat: BaseGeometry) -> dict[str, Any]:
    """Describe the area of interest of a run for its manifest (and its report).

    Parameters
    ----------
    description
        The area as the config gives it (:attr:`pipelines.config.AreaOfInterest.description`,
        what the dry run prints).
    lonlat
        The area's polygon in EPSG:4326 (longitude, latitude), densified so that its edges
        stay true (:meth:`pipelines.config.AreaOfInterest.to_crs`).

    Returns
    -------
    dict
        ``{"description", "area_km2", "bounds_wgs84": [west, south, east, north]}``: the
        area on the WGS 84 ellipsoid, in km² (independent of the grid's CRS; holes measured on
        an equal-area projection, see :func:`_ellipsoid_area_m2`), and the bounds in degrees.
    """
    return {
        "description": str(description),
        "area_km2": _ellipsoid_area_m2(lonlat) / 1e6,
        "bounds_wgs84": [float(v) for v in lonlat.bounds],
    }


def _ellipsoid_area_m2(lonlat: BaseGeometry) -> float:
    """Return the area in m² on the WGS 84 ellipsoid of the polygons of ``lonlat`` (degrees).

    Each polygon's exterior ring is measured as a geodesic polygon (:class:`pyproj.Geod`);
    its holes, which can be hundreds of thousands (the union of zones whose shared edges
    differ by a metre), are measured together, as plane polygons on a Lambert azimuthal
    equal-area projection of the ellipsoid centred on the area (:func:`_ring_areas`): within
    1e-9 of their geodesic area for holes of a city's zones. An area wider than
    :data:`_BULK_SPAN_DEG` of longitude (or one across the antimeridian) or reaching beyond
    :data:`_BULK_LAT_DEG` of latitude has every ring measured geodesically. Rings count
    whichever their orientation; lines and points of a geometry collection count for nothing;
    z is ignored.
    """
    polygons = polygon_parts(lonlat)
    if polygons.size == 0:
        return 0.0
    # 2D: a polygon of a 3D layer (z of a GeoPackage in EPSG:4326) is measured by its x, y
    _, coords, (ring_starts, polygon_starts) = shapely.to_ragged_array(polygons, include_z=False)
    is_hole = np.ones(len(ring_starts) - 1, dtype=bool)
    is_hole[polygon_starts[:-1]] = False  # each polygon's first ring: its exterior
    west, south, east, north = lonlat.bounds
    if not is_hole.any() or east - west > _BULK_SPAN_DEG or max(-south, north) > _BULK_LAT_DEG:
        # Every ring geodesically: no hole, or an area too wide for one projection (across
        # the antimeridian its bounds span 360 degrees) or reaching a pole.
        return float(
            np.dot(np.where(is_hole, -1.0, 1.0), _geodesic_ring_areas(coords, ring_starts))
        )
    shell_m2 = _geodesic_ring_areas(coords, ring_starts, ~is_hole).sum()
    equal_area = CRS.from_dict(
        {"proj": "laea", "lat_0": (south + north) / 2, "lon_0": (west + east) / 2, "ellps": "WGS84"}
    )
    x, y = Transformer.from_crs(WGS84, equal_area, always_xy=True).transform(*coords.T)
    return float(shell_m2 - _ring_areas(x, y, ring_starts)[is_hole].sum())


def _geodesic_ring_areas(
    coords: np.ndarray, ring_starts: np.ndarray, which: np.ndarray | None = None
) -> np.ndarray:
    """Return the geodesic area (m², unsigned) of each ring (or of those ``which`` selects)."""
    rings = np.flatnonzero(which) if which is not None else np.arange(len(ring_starts) - 1)
    bounds = zip(ring_starts[rings], ring_starts[rings + 1], strict=True)
    measure = _WGS84_ELLIPSOID.polygon_area_perimeter
    return np.array([abs(measure(*coords[start:end].T)[0]) for start, end in bounds], dtype=float)


def _ring_areas(x: np.ndarray, y: np.ndarray, ring_starts: np.ndarray) -> np.ndarray:
    """Return the plane area of each closed ring of vertices ``x``, ``y`` (shoelace formula).

    Ring ``i`` is vertices ``ring_starts[i]`` to ``ring_starts[i + 1]`` (its last one repeating
    its first), as :func:`shapely.to_ragged_array` gives them; each ring is moved to its first
    vertex first, so that a ring of a few metres far from the origin keeps its precision.
    """
    counts = np.diff(ring_starts)
    ring = np.repeat(np.arange(counts.size), counts)
    x = x - np.repeat(x[ring_starts[:-1]], counts)
    y = y - np.repeat(y[ring_starts[:-1]], counts)
    same = ring[:-1] == ring[1:]  # the edges: consecutive vertices of one ring
    cross = (x[:-1] * y[1:] - x[1:] * y[:-1])[same]
    return np.abs(np.bincount(ring[:-1][same], weights=cross, minlength=counts.size)) / 2


_WGS84_ELLIPSOID = Geod(ellps="WGS84")
#: The widest area (degrees of longitude) and the farthest latitude whose holes are measured
#: together on one equal-area projection (:func:`_ellipsoid_area_m2`); beyond, one by one.
_BULK_SPAN_DEG = 10.0
_BULK_LAT_DEG = 80.0


def write_manifest(
    path: str | os.PathLike[str], manifest: Mapping[str, Any], *, overwrite: bool | None = None
) -> Path:
    """Write a manifest (from :func:`build_manifest`) as indented strict JSON, atomically.

    ``overwrite``: what may be at ``path`` (:func:`~pipelines.outputs._atomic.staged`).
    """
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        raise ValueError(f"manifest lacks keys {missing}; build it with build_manifest()")
    return write_json_atomic(path, manifest, overwrite=overwrite)


def write_json_atomic(
    path: str | os.PathLike[str],
    obj: Any,
    *,
    indent: int | None = 2,
    overwrite: bool | None = None,
) -> Path:
    """Write ``obj`` as strict UTF-8 JSON (NaN → ``null``), atomically; return the path.

    See :func:`to_jsonable` for the conversions applied; ``overwrite``: what may be at
    ``path`` (:func:`~pipelines.outputs._atomic.staged`).
    """
    text = json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
    return write_text_atomic(path, text + "\n", overwrite=overwrite)


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types.

    NaN and infinities → ``None``; NumPy scalars and arrays → Python numbers and lists;
    mappings → dicts with string keys; tuples and sets → lists (sets sorted); paths →
    strings; datetimes and dates → ISO 8601; enums → their value; dataclasses → dicts;
    pydantic models → ``model_dump(mode="json")``; objects with ``to_dict()`` → that.

    Raises
    ------
    TypeError
        Anything else, naming its type.
    """
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else str(obj)
    if isinstance(obj, Mapping):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, set | frozenset):
        return [to_jsonable(item) for item in sorted(obj, key=repr)]
    if isinstance(obj, list | tuple):
        return [to_jsonable(item) for item in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, datetime):
        return None if obj != obj else obj.isoformat()  # NaT compares unequal to itself
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump(mode="json"))
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if obj is getattr(sys.modules.get("pandas"), "NA", object()):
        return None
    raise TypeError(f"cannot write a {type(obj).__name__} to JSON; convert it to plain types")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_record(
    path: str | os.PathLike[str],
    *,
    hash_files: bool = True,
    known: Mapping[str, str] | None = None,
    only: Collection[Path] | None = None,
) -> dict[str, Any]:
    """Size and SHA-256 of a file, or of each file in a folder (recursively, sorted).

    ``known`` maps absolute paths to the digests their writer took of them as it wrote
    them (a run's COGs, hashed on their encoding thread); those files are not read again.
    ``only`` (resolved paths): of a folder, record these files and no other (those a run
    wrote there, not a file a user saved beside them).

    Returns
    -------
    dict
        ``{"path", "kind": "file", "size", "sha256"}`` (a GDAL VRT adds ``"sources"``: the
        files it reads, ``{"path" (relative to the VRT's folder where under it, POSIX),
        "size", "sha256"}``, :func:`vrt_sources`), or for a folder
        ``{"path", "kind": "folder", "size" (total), "files": [{"path" (relative, POSIX),
        "size", "sha256"}, ...]}``. Paths are absolute.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; cannot record it in the manifest")
    if source.is_dir():
        files = []
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            for filename in sorted(filenames):
                item = Path(dirpath) / filename
                if not item.is_file():  # broken symlinks, sockets
                    continue
                if only is not None and item.resolve() not in only:
                    continue
                files.append(
                    {
                        "path": item.relative_to(source).as_posix(),
                        "size": item.stat().st_size,
                        "sha256": sha256_file(item) if hash_files else None,
                    }
                )
        return {
            "path": str(source.resolve()),
            "kind": "folder",
            "size": sum(entry["size"] for entry in files),
            "files": files,
        }
    resolved = str(source.resolve())
    digest = (known or {}).get(resolved)
    record = {
        "path": resolved,
        "kind": "file",
        "size": source.stat().st_size,
        "sha256": digest or (sha256_file(source) if hash_files else None),
    }
    if source.suffix.lower() == ".vrt":  # its pixels are in its sources: record them too
        record["sources"] = [
            {
                "path": _relative_path(str(item.resolve()), source.resolve().parent),
                "size": item.stat().st_size,
                "sha256": (known or {}).get(str(item.resolve()))
                or (sha256_file(item) if hash_files else None),
            }
            for item in vrt_sources(source)
        ]
    return record


def vrt_sources(path: str | os.PathLike[str]) -> list[Path]:
    """Return the local files a GDAL VRT reads its pixels from, as GDAL lists them.

    Sources GDAL reads over a virtual file system (``/vsicurl/``, ...) and files gone are
    left out; so is every source of a VRT GDAL cannot open (the run could not read it).
    """
    try:
        with rasterio.open(path) as dataset:
            files = dataset.files
    except rasterio.errors.RasterioIOError:
        return []
    own = Path(path).resolve()
    return [
        Path(name) for name in dict.fromkeys(files)
        if Path(name).is_file() and Path(name).resolve() != own
    ]  # fmt: skip


def output_record(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None,
    *,
    known: Mapping[str, str] | None = None,
    only: Collection[Path] | None = None,
) -> dict[str, Any]:
    """Return :func:`file_record` of an output with its path relative to the run folder.

    ``root`` is the run folder; a path outside it (or ``root=None``) stays absolute.
    ``only``: of a folder, the files to record (:func:`file_record`).
    """
    record = file_record(path, known=known, only=only)
    if root is not None:
        record["path"] = _relative_path(record["path"], root)
    return record


def _relative_path(path: str, root: str | os.PathLike[str]) -> str:
    """``path`` relative to ``root`` (POSIX) when it lies under it, else ``path`` unchanged."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path


def _inputs_base(
    inputs_root: str | os.PathLike[str] | None, outputs_root: str | os.PathLike[str] | None
) -> str | None:
    """``inputs_root`` relative to ``outputs_root`` (POSIX: ``"."``, ``".."``), or None."""
    if inputs_root is None or outputs_root is None:
        return None
    base = os.path.relpath(Path(inputs_root).resolve(), Path(outputs_root).resolve())
    return PurePath(base).as_posix()


def output_path(record_path: str, root: str | os.PathLike[str]) -> Path:
    """Return where a manifest's output record points, for the run folder at ``root`` now.

    Relative paths (manifest version 2) are the run folder's; absolute ones (version 1,
    written where the folder was then) are returned as they are.
    """
    path = Path(record_path)
    return path if path.is_absolute() else Path(root) / path


def input_path(record_path: str, manifest: Mapping[str, Any], root: str | os.PathLike[str]) -> Path:
    """Return where a manifest's input record points, for the run folder at ``root`` now.

    Relative paths (manifest version 3) are relative to the manifest's ``inputs_base``:
    under ``root`` (a demo or project folder moved or copied whole), or, when nothing is
    there, under the run folder the manifest's config names (``outputs.folder``: the run
    folder moved or copied alone, its inputs left where the run read them). Absolute ones
    (inputs outside that folder, or manifests before version 3) are returned as they are.
    """
    path = Path(record_path)
    if path.is_absolute():
        return path
    base = str(manifest.get("inputs_base") or ".")
    # Lexically: "outputs/../zones" is no path once the run folder "outputs" has moved away.
    # Resolved first: the manifest measured inputs_base from the resolved run folder.
    here = Path(os.path.normpath(Path(root).resolve() / base / path))
    try:
        ran_in = Path(manifest["config"]["outputs"]["folder"])
    except (KeyError, TypeError):
        return here
    there = Path(os.path.normpath(ran_in / base / path))
    return there if not here.exists() and there.exists() else here


def library_versions() -> dict[str, str | None]:
    """Versions of Python, ilots, the libraries it runs on, and GDAL, GEOS and PROJ.

    Rasterio and pyogrio each bundle a GDAL, which may differ: ``gdal`` is rasterio's (the
    rasters), ``gdal_pyogrio`` pyogrio's (the vector layers).

    A library that is not installed maps to ``None``.
    """
    found: dict[str, str | None] = {
        "python": platform.python_version(),
        "ilots": ilots_version(),
    }
    for name, distribution in _DISTRIBUTIONS.items():
        try:
            found[name] = version(distribution)
        except PackageNotFoundError:
            found[name] = None
    found["gdal"] = _native("rasterio", "__gdal_version__")
    # The vector files (zone layers in, zones.gpkg out) go through pyogrio's own GDAL.
    found["gdal_pyogrio"] = _native("pyogrio", "__gdal_version_string__")
    found["geos"] = _native("shapely", "geos_version_string")
    found["proj"] = _native("pyproj", "proj_version_str")
    return found


def _native(module: str, attribute: str) -> str | None:
    try:
        value = getattr(__import__(module), attribute)
    except (ImportError, AttributeError):
        return None
    return str(value)


def _platform() -> dict[str, Any]:
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
    }


def _aware(moment: datetime) -> datetime:
    """Return ``moment`` timezone-aware, taking a naive one as local time."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
