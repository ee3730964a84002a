"""Synthetic Landsat 8/9 Collection 2 products (Level-2 L2SP/L2SR and Level-1) in the USGS formats.

The writers take digital-number arrays keyed by common band name (:mod:`raster.bands`) and
lay out a product folder exactly as USGS ships it: ``<PRODUCT_ID>/<PRODUCT_ID>_SR_B4.TIF`` ...
(single-band tiled DEFLATE GeoTIFFs, ``AREA_OR_POINT=Point``, the USGS nodata tags) and the
``_MTL.txt`` / ``_MTL.json`` / ``_MTL.xml`` metadata with identical content, group order, key
order, quoting and number formats as the real files (checked against real L8 and L9 products
in the tests). The MTL ``ORIGIN`` says the product is synthetic; every other field is
real-looking and consistent with the arrays and grid given (corner coordinates, line and
sample counts, cloud cover from ``QA_PIXEL``). Landsat 9 carries its own TIRS-2 radiance
rescaling and K1/K2 constants (science.md §2.1).

Only the bands given are written, and ``PRODUCT_CONTENTS`` lists only the files written, so a
synthetic product is self-consistent (a real one lists every band). Output is deterministic:
no wall-clock time or randomness enters any file.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from affine import Affine

from raster.bands import LANDSAT_C2_L1, LANDSAT_C2_L2, BandSpec
from raster.synthetic._landsat_mtl import (
    L1_CONTENTS,
    L2_CONTENTS,
    LANDSAT_CALIBRATION,
    LANDSAT_SYNTHETIC_ORIGIN,
    LandsatCalibration,
    LandsatProductId,
    Scene,
    build_mtl,
)
from raster.synthetic._mtl import to_json, to_odl, to_xml
from raster.synthetic._write import (
    SyntheticProductError,
    UtmGrid,
    atomic_write_text,
    choose_bands,
    staged_directory,
    write_geotiff,
)

__all__ = [
    "LANDSAT_CALIBRATION",
    "LANDSAT_FILE_NODATA",
    "LANDSAT_SYNTHETIC_ORIGIN",
    "LandsatCalibration",
    "LandsatProductId",
    "write_landsat_c2l1",
    "write_landsat_c2l2",
]

_MTL_FORMATS = ("txt", "json", "xml")

Platform = Literal["landsat-8", "landsat-9"]


#: GeoTIFF nodata tags where the file differs from :mod:`raster.bands`: USGS writes no nodata
#: tag on the bit-field QA bands (their fill is bit 0 of ``QA_PIXEL``), as real files show.
LANDSAT_FILE_NODATA: Mapping[str, float | None] = {"QA_PIXEL": None, "QA_RADSAT": None}

_QA_RADSAT_L1 = BandSpec(
    "qa_radsat", "QA_RADSAT", "bitfield", "uint16", None, long_name="radiometric saturation bits"
)

# --------------------------------------------------------------------------------------------
# public writers


def write_landsat_c2l2(
    out_dir: str | os.PathLike[str],
    *,
    bands: Mapping[str, np.ndarray],
    crs: Any,
    transform: Affine | Sequence[float],
    product_id: str | LandsatProductId | None = None,
    platform: Platform | None = None,
    path: int | None = None,
    row: int | None = None,
    date: dt.date | dt.datetime | str | None = None,
    processing_date: dt.date | str | None = None,
    tier: str | None = None,
    processing_level: Literal["L2SP", "L2SR"] | None = None,
    cloud_cover: float | None = None,
    sun_elevation: float = 60.0,
    sun_azimuth: float = 145.0,
    scene_center_time: dt.time | str | None = None,
    formats: Sequence[str] = _MTL_FORMATS,
    blocksize: int = 256,
    compress: str | None = "deflate",
    tar: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic Landsat 8/9 Collection 2 Level-2 product in the USGS layout.

    Parameters
    ----------
    out_dir
        Folder that receives ``<PRODUCT_ID>/`` (and ``<PRODUCT_ID>.tar`` with ``tar=True``).
    bands
        Digital numbers keyed by common band name (``red``, ``nir08``, ``lwir11``,
        ``qa_pixel``, ``st_qa`` ... see :data:`raster.bands.LANDSAT_C2_L2`) or by USGS band
        name (``SR_B4``). 2-D arrays, all the same shape, in (or losslessly castable to) the
        file type (``uint16``; ``int16`` for the ST intermediate bands and ``ST_QA``; ``uint8``
        for ``SR_QA_AEROSOL``). See :mod:`raster.synthetic.encode` to build them.
    crs
        The grid's CRS: a WGS 84 / UTM north zone, e.g. ``32631`` or ``"EPSG:32631"`` (USGS
        grids southern scenes in the north zone too, with negative northings).
    transform
        Affine transform of the pixel corners (north-up, square pixels; USGS uses 30 m).
    product_id
        The product id to use; otherwise built from ``platform``, ``path``, ``row``, ``date``,
        ``processing_date``, ``tier`` and ``processing_level`` (which then must agree with it).
    platform
        ``"landsat-8"`` (default) or ``"landsat-9"``.
    path, row
        WRS-2 path and row; required without ``product_id``.
    date
        Acquisition date; required without ``product_id``. A datetime also gives the scene
        centre time (converted to UTC) unless ``scene_center_time`` is given.
    processing_date
        Processing date (default: acquisition + 2 days).
    tier
        Collection category, ``"T1"`` (default), ``"T2"`` or ``"RT"``.
    processing_level
        ``"L2SP"`` (default: SR and ST) or ``"L2SR"`` (SR only: ST bands are refused).
    cloud_cover
        ``CLOUD_COVER`` in percent; default: share of non-fill ``QA_PIXEL`` pixels with the
        cloud bit set (0 without ``qa_pixel``).
    sun_elevation, sun_azimuth
        Degrees, written to ``SUN_ELEVATION`` / ``SUN_AZIMUTH``.
    scene_center_time
        UTC time of the scene centre (default 10:45:00, a typical overpass over France).
    formats
        Which of the ``_MTL`` files to write: any of ``"txt"``, ``"json"``, ``"xml"``.
    blocksize
        GeoTIFF tile size in pixels.
    compress
        GeoTIFF compression (``"deflate"`` as USGS; ``None`` for none).
    tar
        Also write ``<PRODUCT_ID>.tar`` beside the folder, every file at the archive root as
        USGS ships it.
    overwrite
        Replace an existing product folder (and tar); otherwise they raise
        :class:`FileExistsError`.

    Returns
    -------
    Path of the product folder ``out_dir/<PRODUCT_ID>``.

    Raises
    ------
    SyntheticProductError
        (a ``ValueError``) for arguments that cannot make a valid product.
    """
    return _write_landsat(
        "l2",
        out_dir,
        bands=bands,
        crs=crs,
        transform=transform,
        product_id=product_id,
        platform=platform,
        path=path,
        row=row,
        date=date,
        processing_date=processing_date,
        tier=tier,
        processing_level=processing_level,
        cloud_cover=cloud_cover,
        sun_elevation=sun_elevation,
        sun_azimuth=sun_azimuth,
        scene_center_time=scene_center_time,
        formats=formats,
        blocksize=blocksize,
        compress=compress,
        tar=tar,
        overwrite=overwrite,
    )


def write_landsat_c2l1(
    out_dir: str | os.PathLike[str],
    *,
    bands: Mapping[str, np.ndarray],
    crs: Any,
    transform: Affine | Sequence[float],
    product_id: str | LandsatProductId | None = None,
    platform: Platform | None = None,
    path: int | None = None,
    row: int | None = None,
    date: dt.date | dt.datetime | str | None = None,
    processing_date: dt.date | str | None = None,
    tier: str | None = None,
    processing_level: Literal["L1TP", "L1GT"] | None = None,
    cloud_cover: float | None = None,
    sun_elevation: float = 60.0,
    sun_azimuth: float = 145.0,
    scene_center_time: dt.time | str | None = None,
    formats: Sequence[str] = _MTL_FORMATS,
    blocksize: int = 256,
    compress: str | None = "deflate",
    tar: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic Landsat 8/9 Collection 2 Level-1 product in the USGS layout.

    Same arguments as :func:`write_landsat_c2l2`, with ``bands`` keyed by the names of
    :data:`raster.bands.LANDSAT_C2_L1` (``red`` = ``B4``, ``nir08`` = ``B5``, ``lwir11`` =
    ``B10``, ``lwir12`` = ``B11``, ``qa_pixel``; also ``qa_radsat``), all ``uint16``, and
    ``processing_level`` ``"L1TP"`` (default) or ``"L1GT"``. The MTL carries the platform's
    ``RADIANCE_MULT/ADD``, ``REFLECTANCE_MULT/ADD`` and ``K1/K2`` constants
    (:data:`LANDSAT_CALIBRATION`); see :func:`raster.synthetic.encode.brightness_temperature_to_dn`
    and :func:`~raster.synthetic.encode.toa_reflectance_to_dn_landsat` to build the DNs.

    Returns
    -------
    Path of the product folder ``out_dir/<PRODUCT_ID>``.
    """
    return _write_landsat(
        "l1",
        out_dir,
        bands=bands,
        crs=crs,
        transform=transform,
        product_id=product_id,
        platform=platform,
        path=path,
        row=row,
        date=date,
        processing_date=processing_date,
        tier=tier,
        processing_level=processing_level,
        cloud_cover=cloud_cover,
        sun_elevation=sun_elevation,
        sun_azimuth=sun_azimuth,
        scene_center_time=scene_center_time,
        formats=formats,
        blocksize=blocksize,
        compress=compress,
        tar=tar,
        overwrite=overwrite,
    )


# --------------------------------------------------------------------------------------------
# argument handling


def _as_date(value: dt.date | dt.datetime | str, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return _utc(value).date()
    if isinstance(value, dt.date):
        return value
    try:
        text = str(value).strip()
        return (
            _utc(dt.datetime.fromisoformat(text)).date()
            if "T" in text
            else dt.date.fromisoformat(text)
        )
    except ValueError:
        raise SyntheticProductError(f"{what} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _utc(value: dt.datetime) -> dt.datetime:
    """Return a naive UTC datetime (naive input is taken as UTC, aware input is converted)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _as_time(value: dt.time | str) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    m = re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?", str(value).strip())
    if m is None:
        raise SyntheticProductError(f"scene_center_time {value!r} is not HH:MM:SS[.fffffff][Z]")
    micro = int((m[4] or "0")[:6].ljust(6, "0"))
    try:
        return dt.time(int(m[1]), int(m[2]), int(m[3]), micro)
    except ValueError as exc:
        raise SyntheticProductError(f"scene_center_time {value!r}: {exc}") from None


def _resolve_product_id(
    kind: str,
    product_id: str | LandsatProductId | None,
    *,
    platform: str | None,
    path: int | None,
    row: int | None,
    date: dt.date | dt.datetime | str | None,
    processing_date: dt.date | str | None,
    tier: str | None,
    level: str | None,
) -> LandsatProductId:
    levels = ("L2SP", "L2SR") if kind == "l2" else ("L1TP", "L1GT")
    if level is not None and level not in levels:
        raise SyntheticProductError(
            f"processing_level must be one of {', '.join(levels)} here, got {level!r}"
        )
    if product_id is not None:
        try:
            pid = (
                product_id
                if isinstance(product_id, LandsatProductId)
                else LandsatProductId.parse(str(product_id))
            )
        except ValueError as exc:
            raise SyntheticProductError(str(exc)) from None
        if pid.level not in levels:
            raise SyntheticProductError(
                f"product id {pid} is a {pid.level} product; this writer makes "
                f"{' or '.join(levels)}"
            )
        given = {
            "platform": (platform, pid.platform),
            "path": (path, pid.path),
            "row": (row, pid.row),
            "date": (None if date is None else _as_date(date, "date"), pid.acquired),
            "processing_date": (
                None if processing_date is None else _as_date(processing_date, "processing_date"),
                pid.processed,
            ),
            "tier": (tier, pid.tier),
            "processing_level": (level, pid.level),
        }
        for name, (value, expected) in given.items():
            if value is not None and value != expected:
                raise SyntheticProductError(
                    f"{name}={value!r} contradicts product_id {pid} ({expected!r}); give one or "
                    "the other"
                )
        return pid
    missing = [n for n, v in (("path", path), ("row", row), ("date", date)) if v is None]
    if missing:
        raise SyntheticProductError(
            f"give product_id, or path, row and date (missing: {', '.join(missing)})"
        )
    acquired = _as_date(date, "date")  # type: ignore[arg-type]  # None ruled out above
    processed = (
        acquired + dt.timedelta(days=2)
        if processing_date is None
        else _as_date(processing_date, "processing_date")
    )
    try:
        return LandsatProductId(
            platform=platform or "landsat-8",
            level=level or levels[0],
            path=int(path),  # type: ignore[arg-type]
            row=int(row),  # type: ignore[arg-type]
            acquired=acquired,
            processed=processed,
            tier=tier or "T1",
        )
    except ValueError as exc:
        raise SyntheticProductError(str(exc)) from None


def _resolve_bands(
    kind: str, bands: Mapping[str, np.ndarray]
) -> list[tuple[BandSpec, str, np.ndarray]]:
    """Map the caller's keys to band specs; return ``(spec, mtl_suffix, array)`` in MTL order."""
    table: dict[str, BandSpec] = dict(LANDSAT_C2_L2 if kind == "l2" else LANDSAT_C2_L1)
    if kind == "l1":
        table["qa_radsat"] = _QA_RADSAT_L1
    contents = L2_CONTENTS if kind == "l2" else L1_CONTENTS
    chosen = choose_bands(table, bands)
    return [(chosen[k][0], suffix, chosen[k][1]) for k, suffix in contents if k in chosen]


def _qa_cloud_cover(qa: np.ndarray) -> float:
    """Percent of non-fill pixels whose cloud bit (3) is set, counted strip by strip."""
    valid = cloudy = 0
    for r0 in range(0, qa.shape[0], 1024):
        strip = np.asarray(qa[r0 : r0 + 1024], dtype=np.uint16)
        ok = (strip & 1) == 0
        valid += int(np.count_nonzero(ok))
        cloudy += int(np.count_nonzero(ok & ((strip & 8) != 0)))
    return 100.0 * cloudy / valid if valid else 0.0


# --------------------------------------------------------------------------------------------
# the writer


def _write_landsat(
    kind: str,
    out_dir: str | os.PathLike[str],
    *,
    bands: Mapping[str, np.ndarray],
    crs: Any,
    transform: Affine | Sequence[float],
    product_id: str | LandsatProductId | None,
    platform: str | None,
    path: int | None,
    row: int | None,
    date: dt.date | dt.datetime | str | None,
    processing_date: dt.date | str | None,
    tier: str | None,
    processing_level: str | None,
    cloud_cover: float | None,
    sun_elevation: float,
    sun_azimuth: float,
    scene_center_time: dt.time | str | None,
    formats: Sequence[str],
    blocksize: int,
    compress: str | None,
    tar: bool,
    overwrite: bool,
) -> Path:
    pid = _resolve_product_id(
        kind,
        product_id,
        platform=platform,
        path=path,
        row=row,
        date=date,
        processing_date=processing_date,
        tier=tier,
        level=processing_level,
    )
    items = _resolve_bands(kind, bands)
    if pid.level == "L2SR":
        st = [spec.file_key for spec, _, _ in items if spec.file_key.startswith("ST_")]
        if st:
            raise SyntheticProductError(
                f"an L2SR product has no surface-temperature bands; drop {', '.join(st)} or "
                "use processing_level='L2SP'"
            )
    shapes = {arr.shape for _, _, arr in items}
    if len(shapes) != 1:
        raise SyntheticProductError(
            f"all Landsat bands share one grid; got shapes {sorted(shapes)}"
        )
    grid = UtmGrid.build(crs, transform, shapes.pop())
    if not grid.north:
        raise SyntheticProductError(
            f"EPSG:{grid.epsg} is a southern UTM zone; USGS grids Landsat scenes in the "
            f"northern zone (EPSG:{grid.epsg - 100}) with negative northings"
        )
    if blocksize <= 0 or blocksize % 16:
        raise SyntheticProductError(f"blocksize must be a positive multiple of 16, got {blocksize}")
    fmts = tuple(dict.fromkeys(formats))
    if not fmts or any(f not in _MTL_FORMATS for f in fmts):
        raise SyntheticProductError(
            f"formats must be a non-empty subset of {_MTL_FORMATS}, got {tuple(formats)}"
        )
    if not -90 < sun_elevation <= 90 or not 0 <= sun_azimuth < 360:
        raise SyntheticProductError(
            f"sun_elevation must be in (-90, 90] and sun_azimuth in [0, 360), got "
            f"{sun_elevation} and {sun_azimuth}"
        )
    if cloud_cover is None:
        qa = next((arr for spec, _, arr in items if spec.file_key == "QA_PIXEL"), None)
        cloud_cover = 0.0 if qa is None else _qa_cloud_cover(qa)
    if not 0 <= cloud_cover <= 100:
        raise SyntheticProductError(f"cloud_cover must be within 0..100 %, got {cloud_cover}")
    if scene_center_time is not None:
        centre = _as_time(scene_center_time)
    elif isinstance(date, dt.datetime):
        centre = _utc(date).time()
    else:
        centre = dt.time(10, 45)
    scene = Scene(
        pid=pid,
        cal=LANDSAT_CALIBRATION[pid.platform],
        grid=grid,
        acquired=dt.datetime.combine(pid.acquired, centre),
        cloud_cover=float(cloud_cover),
        sun_elevation=float(sun_elevation),
        sun_azimuth=float(sun_azimuth),
    )
    tree = build_mtl(scene, [(spec, sfx) for spec, sfx, _ in items], fmts)
    encoders = {"txt": to_odl, "json": to_json, "xml": to_xml}

    out = Path(out_dir)
    final = out / str(pid)
    tar_path = out / f"{pid}.tar"
    if tar and tar_path.exists() and not overwrite:
        raise FileExistsError(f"{tar_path} already exists; pass overwrite=True to replace it")
    with staged_directory(final, overwrite=overwrite) as tmp:
        for spec, _, arr in items:
            write_geotiff(
                tmp / f"{pid}_{spec.file_key}.TIF",
                arr,
                grid=grid,
                dtype=spec.dtype,
                nodata=LANDSAT_FILE_NODATA.get(spec.file_key, spec.nodata),
                blocksize=blocksize,
                compress=compress,
                tags={"AREA_OR_POINT": "Point"},
            )
        for fmt in fmts:
            atomic_write_text(tmp / f"{pid}_MTL.{fmt}", encoders[fmt](tree))
    if tar:
        _write_tar(final, tar_path, mtime=calendar.timegm(pid.processed.timetuple()))
    return final


def _write_tar(folder: Path, target: Path, *, mtime: int) -> None:
    """Write every file of ``folder`` at the root of an uncompressed tar, atomically."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as archive:
            for file in sorted(folder.iterdir()):
                info = archive.gettarinfo(str(file), arcname=file.name)
                info.mtime = mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with open(file, "rb") as fh:
                    archive.addfile(info, fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
