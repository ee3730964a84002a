"""File plumbing shared by the synthetic writers: atomic files, staged folders, rasters, grids.

Every file is written under a temporary name in its own folder and renamed onto its final name
(``os.replace``), and a whole product is first built in a hidden sibling folder that is renamed
into place at the end, so a crash never leaves a half-written product that looks whole.
Rasters are written strip by strip from the caller's arrays; the only full-size temporaries
are the GDAL scratch files that the copy-only drivers (COG, JPEG 2000) need.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window

from raster.bands import BandSpec
from tiles.errors import IlotsError
from tiles.grid import is_utm

__all__ = [
    "SyntheticProductError",
    "UtmGrid",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_dn_array",
    "choose_bands",
    "staged_directory",
    "write_geotiff",
    "write_raster_copy",
]

#: Rows written per strip; a multiple of every block size used here.
_STRIP_ROWS = 1024


class SyntheticProductError(IlotsError, ValueError):
    """The arguments given to a synthetic-product writer cannot make a valid product."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with the line endings given (no translation), atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_directory(final: Path, *, overwrite: bool) -> Iterator[Path]:
    """Build a folder in a hidden sibling, then rename it onto ``final``.

    Parameters
    ----------
    final
        The folder to create.
    overwrite
        Replace an existing ``final`` (removed only once the new one is complete); when false
        an existing ``final`` raises :class:`FileExistsError` before anything is written.

    Yields
    ------
    The staging folder to write into.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists; pass overwrite=True to replace it")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        tmp.chmod(0o755)
        if final.exists():
            old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_dn_array(array: Any, dtype: str, name: str) -> np.ndarray:
    """Check that ``array`` holds integers that fit the file data type ``dtype``.

    Parameters
    ----------
    array
        The caller's 2-D array of digital numbers.
    dtype
        The storage type of the file (``uint16``, ``int16``, ``uint8``).
    name
        Band name, for the error messages.

    Returns
    -------
    The array itself (never copied); the writer casts it strip by strip.

    Raises
    ------
    SyntheticProductError
        If the array is not 2-D, not integer, or holds values outside ``dtype``.
    """
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise SyntheticProductError(f"band {name!r}: expected a 2-D array, got shape {arr.shape}")
    target = np.dtype(dtype)
    if arr.dtype == target:
        return arr
    if arr.dtype.kind not in "iub":
        raise SyntheticProductError(
            f"band {name!r}: expected digital numbers ({dtype}), got {arr.dtype}; convert "
            "physical values first (e.g. reflectance_to_dn_landsat, kelvin_to_st_dn)"
        )
    if arr.size:
        info = np.iinfo(target)
        lo, hi = int(arr.min()), int(arr.max())
        if lo < info.min or hi > info.max:
            raise SyntheticProductError(
                f"band {name!r}: values {lo}..{hi} do not fit {dtype} ({info.min}..{info.max})"
            )
    return arr


def choose_bands(
    table: Mapping[str, BandSpec], bands: Mapping[str, Any]
) -> dict[str, tuple[BandSpec, np.ndarray]]:
    """Match the caller's band arrays to the specs of a band table, checking each array.

    Parameters
    ----------
    table
        The product's band table, keyed by common band name.
    bands
        The caller's arrays, keyed by common band name (``red``) or file key (``SR_B4``,
        ``B04``; any case).

    Returns
    -------
    ``{file_key: (spec, array)}`` in the order given; the arrays as :func:`check_dn_array`
    returns them.

    Raises
    ------
    SyntheticProductError
        On an unknown key, a band given twice (under both names), no band at all, or an array
        :func:`check_dn_array` refuses.
    """
    by_file_key = {s.file_key.upper(): s for s in table.values()}
    chosen: dict[str, tuple[BandSpec, np.ndarray]] = {}
    for key, array in bands.items():
        spec = table.get(key) or by_file_key.get(str(key).upper())
        if spec is None:
            names = ", ".join(sorted(table))
            raise SyntheticProductError(f"unknown band {key!r}; expected one of {names}")
        if spec.file_key in chosen:
            raise SyntheticProductError(f"band {spec.file_key} given twice (as {key!r})")
        chosen[spec.file_key] = (spec, check_dn_array(array, spec.dtype, key))
    if not chosen:
        raise SyntheticProductError("bands is empty; give at least one band array")
    return chosen


@dataclass(frozen=True)
class UtmGrid:
    """A north-up grid in a WGS 84 / UTM CRS: what every Landsat and Sentinel-2 product uses.

    Parameters
    ----------
    epsg
        EPSG code, 32601–32660 (north) or 32701–32760 (south).
    transform
        Affine transform of the pixel corners; north-up, square pixels.
    shape
        ``(rows, cols)``.
    """

    epsg: int
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        if not is_utm(self.epsg):
            raise SyntheticProductError(
                f"EPSG:{self.epsg} is not a WGS 84 / UTM zone; Landsat and Sentinel-2 products "
                "are gridded in EPSG:326zz (north) or 327zz (south)"
            )
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise SyntheticProductError(
                f"transform {tuple(t)[:6]} is not north-up (need a > 0, e < 0, no rotation)"
            )
        if not np.isclose(t.a, -t.e):
            raise SyntheticProductError(f"pixels must be square, got {t.a} x {-t.e}")
        rows, cols = self.shape
        if rows <= 0 or cols <= 0:
            raise SyntheticProductError(f"grid shape must be positive, got {self.shape}")

    @classmethod
    def build(cls, crs: Any, transform: Any, shape: tuple[int, int]) -> UtmGrid:
        """Normalise a CRS (EPSG int, ``"EPSG:32631"``, rasterio CRS) and a transform."""
        try:
            epsg = CRS.from_user_input(crs).to_epsg()
        except Exception as exc:  # rasterio raises its own CRSError types
            raise SyntheticProductError(f"cannot read the CRS {crs!r}: {exc}") from None
        if epsg is None:
            raise SyntheticProductError(f"the CRS {crs!r} has no EPSG code")
        affine = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
        return cls(int(epsg), affine, (int(shape[0]), int(shape[1])))

    @property
    def zone(self) -> int:
        """UTM zone number."""
        return self.epsg % 100

    @property
    def north(self) -> bool:
        """Whether the CRS is a northern-hemisphere UTM zone."""
        return self.epsg < 32700

    @property
    def res(self) -> float:
        """Pixel size in metres."""
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the pixel edges."""
        t = self.transform
        rows, cols = self.shape
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    def scaled(self, factor: int) -> UtmGrid:
        """Return the same extent with pixels ``factor`` times larger (shape must divide)."""
        rows, cols = self.shape
        if rows % factor or cols % factor:
            raise SyntheticProductError(
                f"grid shape {self.shape} is not divisible by {factor} for the "
                f"{self.res * factor:g} m bands"
            )
        return UtmGrid(
            self.epsg, self.transform @ Affine.scale(factor), (rows // factor, cols // factor)
        )

    def to_lonlat(self, xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
        """Transform projected coordinates to (longitude, latitude) in EPSG:4326."""
        lons, lats = warp_transform(CRS.from_epsg(self.epsg), CRS.from_epsg(4326), xs, ys)
        return list(zip(lons, lats, strict=True))

    def footprint(self) -> tuple[list[list[float]], list[float]]:
        """GeoJSON ring (counter-clockwise, closed) and bbox of the grid in EPSG:4326."""
        left, bottom, right, top = self.bounds
        pts = self.to_lonlat([left, left, right, right], [top, bottom, bottom, top])
        ring = [[lon, lat] for lon, lat in pts] + [[pts[0][0], pts[0][1]]]
        lons = [p[0] for p in pts]
        lats = [p[1] for p in pts]
        return ring, [min(lons), min(lats), max(lons), max(lats)]


def write_geotiff(
    path: Path,
    array: np.ndarray,
    *,
    grid: UtmGrid,
    dtype: str,
    nodata: float | None,
    blocksize: int,
    compress: str | None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write one band as a tiled GeoTIFF, strip by strip, under a temporary name.

    Parameters
    ----------
    path
        Target file (its folder must exist); replaced atomically.
    array
        2-D array already checked with :func:`check_dn_array`.
    grid
        CRS, transform and shape of the file.
    dtype, nodata
        Storage type and nodata tag (``None`` writes no tag).
    blocksize
        Tile size in pixels (a multiple of 16).
    compress
        GDAL compression name (``"deflate"``) or ``None``.
    tags
        Dataset metadata tags (e.g. ``AREA_OR_POINT``).
    """
    if blocksize <= 0 or blocksize % 16:
        raise SyntheticProductError(f"blocksize must be a positive multiple of 16, got {blocksize}")
    rows, cols = array.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": dtype,
        "crs": CRS.from_epsg(grid.epsg),
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "interleave": "band",
    }
    if compress:
        profile["compress"] = compress
    strip = max(blocksize, (_STRIP_ROWS // blocksize) * blocksize)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with rasterio.Env(GDAL_PAM_ENABLED=False), rasterio.open(tmp, "w", **profile) as dst:
            if tags:
                dst.update_tags(**tags)
            for r0 in range(0, rows, strip):
                r1 = min(rows, r0 + strip)
                block = np.asarray(array[r0:r1], dtype=dtype)
                dst.write(block, 1, window=Window(0, r0, cols, r1 - r0))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_raster_copy(
    path: Path,
    array: np.ndarray,
    *,
    grid: UtmGrid,
    dtype: str,
    nodata: float | None,
    driver: str,
    options: Mapping[str, str],
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write one band with a copy-only GDAL driver (``COG``, ``JP2OpenJPEG``), atomically.

    The band is streamed into an uncompressed tiled GeoTIFF scratch file beside the target,
    which GDAL then copies with ``driver`` and ``options`` under a temporary name; PAM
    side-car files (``.aux.xml``) are disabled so only the target appears.
    """
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.src.tif")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write_geotiff(
            scratch,
            array,
            grid=grid,
            dtype=dtype,
            nodata=nodata,
            blocksize=512,
            compress=None,
            tags=tags,
        )
        with rasterio.Env(GDAL_PAM_ENABLED=False):
            rasterio.shutil.copy(scratch, tmp, driver=driver, **dict(options))
        os.replace(tmp, path)
    finally:
        scratch.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
