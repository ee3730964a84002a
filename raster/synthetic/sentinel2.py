"""Synthetic Sentinel-2 L2A products: the ESA SAFE tree and the Earth Search v1 COG layout.

Both writers take digital-number arrays keyed by common band name (:data:`raster.bands.
SENTINEL2_L2A`: ``blue``, ``red``, ``nir``, ``nir08``, ``swir16``, ``scl`` ... or the ESA band
id ``B04``) on a 10 m grid given by ``crs`` and ``transform``:

- **10 m bands** (B02, B03, B04, B08) have the grid's full shape.
- **20 m bands** (B05, B06, B07, B8A, B11, B12 and SCL) and **60 m bands** (B01, B09) are
  given either at their own resolution (half or a sixth of the 10 m shape) or at the full
  10 m shape, in which case the writer downsamples them: reflectance by the mean of each
  2×2 (6×6) block over its non-zero pixels (0 where all are 0), SCL by taking the upper-left
  pixel of each block (nearest; classes are never averaged).

The DNs are written as given: build them for the processing baseline with
:func:`raster.synthetic.encode.reflectance_to_dn_sentinel2` (``BOA_ADD_OFFSET`` = -1000 from
baseline 04.00 on, science.md §3.2). Each band is written once, at its native resolution (a
real SAFE also carries 20 m and 60 m resamplings of the 10 m bands, AOT, WVP and TCI; those
are not written). Times are deterministic functions of ``datetime`` (the datatake sensing
start, also used as the tile sensing time and the STAC ``datetime``); nothing depends on the
wall clock. Every metadata file says the product is synthetic (an XML comment in the SAFE
files; ``ilots:synthetic`` and a description in the STAC item).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from affine import Affine

from raster.bands import SENTINEL2_L2A
from raster.synthetic._sentinel2_meta import (
    BANDS,
    BY_KEY,
    SCL_QI,
    SENTINEL2_SYNTHETIC_MARKER,
    Band,
    Scene,
    boa_add_offset,
    earthsearch_item,
    mtd_msil2a,
    mtd_tl,
    parse_baseline,
)
from raster.synthetic._write import (
    SyntheticProductError,
    UtmGrid,
    atomic_write_text,
    choose_bands,
    staged_directory,
    write_raster_copy,
)

__all__ = [
    "SENTINEL2_SYNTHETIC_MARKER",
    "boa_add_offset",
    "write_sentinel2_earthsearch",
    "write_sentinel2_safe",
]

Platform = Literal["sentinel-2a", "sentinel-2b", "sentinel-2c"]

# Launch-era reference for a plausible absolute orbit number (14.3 orbits a day).
_ORBIT_EPOCH = {
    "sentinel-2a": dt.datetime(2015, 6, 23, 1, 52),
    "sentinel-2b": dt.datetime(2017, 3, 7, 1, 49),
    "sentinel-2c": dt.datetime(2024, 9, 5, 1, 50),
}
_TILE_RE = re.compile(r"^(\d{2})([C-HJ-NP-X])([A-HJ-NP-Z]{2})$")


def _utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SyntheticProductError(f"datetime {value!r} is not ISO 8601") from None
    if not isinstance(value, dt.datetime):
        raise SyntheticProductError(f"datetime must be a datetime, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _downsample(array: np.ndarray, factor: int, categorical: bool) -> np.ndarray:
    """Upper-left pixel of each block (classes) or mean of its non-zero pixels (DNs)."""
    if categorical:
        return np.ascontiguousarray(array[::factor, ::factor])
    rows, cols = array.shape
    out = np.zeros((rows // factor, cols // factor), dtype=array.dtype)
    step = factor * 256
    for r0 in range(0, rows, step):
        block = np.asarray(array[r0 : r0 + step]).reshape(-1, factor, cols // factor, factor)
        total = block.sum(axis=(1, 3), dtype=np.uint64)
        count = np.count_nonzero(block, axis=(1, 3)).astype(np.uint64)
        mean = (total + count // 2) // np.maximum(count, 1)
        out[r0 // factor : r0 // factor + mean.shape[0]] = mean.astype(array.dtype)
    return out


def _apply_offset(dn: np.ndarray, offset: int) -> np.ndarray:
    """``DN + offset`` for valid pixels, clipped to 1..65535; nodata 0 stays 0."""
    shifted = np.clip(dn.astype(np.int32) + offset, 1, 65535).astype(dn.dtype)
    shifted[dn == 0] = 0
    return shifted


def _scl_counts(scl: np.ndarray) -> np.ndarray:
    counts = np.zeros(256, dtype=np.int64)
    for r0 in range(0, scl.shape[0], 1024):
        counts += np.bincount(np.asarray(scl[r0 : r0 + 1024]).ravel(), minlength=256)
    return counts


def _prepare(
    *,
    bands: Mapping[str, np.ndarray],
    tile: str,
    datetime: dt.datetime | str,
    crs: Any,
    transform: Affine | Sequence[float],
    processing_baseline: str,
    platform: str,
    cloud_cover: float | None,
    shape: tuple[int, int] | None,
    relative_orbit: int,
    absolute_orbit: int | None,
    sun_elevation: float,
    sun_azimuth: float,
) -> Scene:
    m = _TILE_RE.match(str(tile))
    if m is None:
        raise SyntheticProductError(f"tile must be an MGRS tile id such as '31UDQ', got {tile!r}")
    zone, band_letter = int(m[1]), m[2]
    if not 1 <= zone <= 60:
        raise SyntheticProductError(f"tile {tile!r}: UTM zone must be 1..60")
    parse_baseline(processing_baseline)
    if platform not in _ORBIT_EPOCH:
        raise SyntheticProductError(
            f"platform must be one of {', '.join(_ORBIT_EPOCH)}, got {platform!r}"
        )
    sensing = _utc(datetime)
    if sensing < _ORBIT_EPOCH[platform]:
        raise SyntheticProductError(f"{platform} was not yet in orbit on {sensing:%Y-%m-%d}")
    if not 1 <= relative_orbit <= 143:
        raise SyntheticProductError(f"relative_orbit must be 1..143, got {relative_orbit}")
    if not 0 < sun_elevation <= 90 or not 0 <= sun_azimuth < 360:
        raise SyntheticProductError(
            f"sun_elevation must be in (0, 90] and sun_azimuth in [0, 360), got "
            f"{sun_elevation} and {sun_azimuth}"
        )

    chosen = choose_bands(SENTINEL2_L2A, bands)

    if shape is None:
        tens = [arr.shape for k, (_, arr) in chosen.items() if BY_KEY[k].resolution == 10]
        if not tens:
            raise SyntheticProductError(
                "cannot tell the 10 m grid shape: give a 10 m band (blue, green, red, nir) or "
                "shape=(rows, cols)"
            )
        shape = tens[0]
    grid = UtmGrid.build(crs, transform, shape)
    if not np.isclose(grid.res, 10.0):
        raise SyntheticProductError(
            f"transform must describe the 10 m grid, got {grid.res:g} m pixels"
        )
    if grid.zone != zone or grid.north != (band_letter >= "N"):
        hemi = "326" if band_letter >= "N" else "327"
        raise SyntheticProductError(
            f"tile {tile} is in UTM zone {zone}{'N' if band_letter >= 'N' else 'S'}; its CRS "
            f"is EPSG:{hemi}{zone:02d}, not EPSG:{grid.epsg}"
        )

    prepared: list[Band] = []
    for info in BANDS:
        if info.file_key not in chosen:
            continue
        spec, arr = chosen[info.file_key]
        factor = info.resolution // 10
        band_grid = grid.scaled(factor) if factor > 1 else grid
        if arr.shape == band_grid.shape:
            native = arr
        elif factor > 1 and arr.shape == grid.shape:
            native = _downsample(arr, factor, spec.is_categorical)
        else:
            raise SyntheticProductError(
                f"band {spec.name} ({info.file_key}, {info.resolution} m) has shape {arr.shape}; "
                f"expected {band_grid.shape}"
                + (f" or the 10 m shape {grid.shape}" if factor > 1 else "")
            )
        prepared.append(Band(spec, info, native, band_grid))

    scl = next((b.array for b in prepared if b.info.file_key == "SCL"), None)
    percentages: dict[int, float] | None = None
    nodata_pct = 0.0
    if scl is not None:
        counts = _scl_counts(scl)
        valid = int(counts[1:].sum())
        nodata_pct = 100.0 * int(counts[0]) / max(int(counts.sum()), 1)
        percentages = {c: (100.0 * int(counts[c]) / valid if valid else 0.0) for c in SCL_QI}
    if cloud_cover is None:
        cloud_cover = sum(percentages[c] for c in (8, 9, 10)) if percentages else 0.0
    if not 0 <= cloud_cover <= 100:
        raise SyntheticProductError(f"cloud_cover must be within 0..100 %, got {cloud_cover}")
    if absolute_orbit is None:
        days = (sensing - _ORBIT_EPOCH[platform]).total_seconds() / 86400
        absolute_orbit = 1 + int(days * 14.3)
    return Scene(
        platform=platform,
        tile=str(tile),
        sensing=sensing,
        baseline=processing_baseline,
        relative_orbit=int(relative_orbit),
        absolute_orbit=int(absolute_orbit),
        grid=grid,
        bands=tuple(prepared),
        cloud_cover=float(cloud_cover),
        scl_percentages=percentages,
        nodata_percentage=nodata_pct,
        sun_elevation=float(sun_elevation),
        sun_azimuth=float(sun_azimuth),
    )


# --------------------------------------------------------------------------------------------
# public writers


def write_sentinel2_safe(
    out_dir: str | os.PathLike[str],
    *,
    bands: Mapping[str, np.ndarray],
    tile: str,
    datetime: dt.datetime | str,
    crs: Any,
    transform: Affine | Sequence[float],
    processing_baseline: str = "05.10",
    platform: Platform = "sentinel-2b",
    cloud_cover: float | None = None,
    shape: tuple[int, int] | None = None,
    relative_orbit: int = 51,
    absolute_orbit: int | None = None,
    sun_elevation: float = 60.0,
    sun_azimuth: float = 150.0,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic Sentinel-2 L2A product as an ESA SAFE folder.

    Layout: ``S2B_MSIL2A_<sensing>_N0510_R051_T31UDQ_<generation>.SAFE/`` with
    ``MTD_MSIL2A.xml`` (processing baseline, ``BOA_QUANTIFICATION_VALUE`` 10000,
    ``BOA_ADD_OFFSET`` -1000 per band from baseline 04.00 on and no offset list before,
    ``Cloud_Coverage_Assessment``, the granule's ``IMAGE_FILE`` list) and
    ``GRANULE/L2A_T31UDQ_A<orbit>_<time>/`` holding ``MTD_TL.xml`` (tile geocoding, mean sun
    angles, SCL percentages) and ``IMG_DATA/R10m|R20m|R60m/T31UDQ_<sensing>_B04_10m.jp2``
    ... written losslessly with GDAL's JP2OpenJPEG driver (no nodata tag, as ESA's files).

    Parameters
    ----------
    out_dir
        Folder that receives the ``.SAFE`` folder.
    bands
        DNs keyed by common band name or ESA band id: ``uint16`` reflectance bands, ``uint8``
        SCL; resolutions as described in the module docstring.
    tile
        MGRS tile, e.g. ``"31UDQ"``; its UTM zone must be the CRS's.
    datetime
        Datatake sensing start (UTC; naive means UTC).
    crs, transform
        The 10 m grid: WGS 84 / UTM CRS (EPSG int or string) and pixel-corner transform.
    processing_baseline
        ``"NN.NN"``; decides ``BOA_ADD_OFFSET`` (science.md §3.2).
    platform
        ``"sentinel-2a"``, ``"sentinel-2b"`` (default) or ``"sentinel-2c"``.
    cloud_cover
        ``Cloud_Coverage_Assessment`` in percent; default from SCL (classes 8, 9, 10 among the
        non-nodata pixels), 0 without SCL.
    shape
        The 10 m grid shape; needed only when no 10 m band is given.
    relative_orbit, absolute_orbit
        Orbit numbers used in the names (absolute default: estimated from the date).
    sun_elevation, sun_azimuth
        Mean sun angles in degrees.
    overwrite
        Replace an existing SAFE folder; otherwise it raises :class:`FileExistsError`.

    Returns
    -------
    Path of the ``.SAFE`` folder.
    """
    s = _prepare(
        bands=bands,
        tile=tile,
        datetime=datetime,
        crs=crs,
        transform=transform,
        processing_baseline=processing_baseline,
        platform=platform,
        cloud_cover=cloud_cover,
        shape=shape,
        relative_orbit=relative_orbit,
        absolute_orbit=absolute_orbit,
        sun_elevation=sun_elevation,
        sun_azimuth=sun_azimuth,
    )
    final = Path(out_dir) / s.safe_name
    options = {"CODEC": "JP2", "QUALITY": "100", "REVERSIBLE": "YES", "YCBCR420": "NO"}
    with staged_directory(final, overwrite=overwrite) as tmp:
        granule = tmp / "GRANULE" / s.granule_dir
        for res in sorted({b.info.resolution for b in s.bands}):
            (granule / "IMG_DATA" / f"R{res}m").mkdir(parents=True)
        granule.mkdir(parents=True, exist_ok=True)
        for band in s.bands:
            write_raster_copy(
                tmp / f"{s.image_path(band)}.jp2",
                band.array,
                grid=band.grid,
                dtype=band.spec.dtype,
                nodata=None,
                driver="JP2OpenJPEG",
                options=options,
            )
        atomic_write_text(granule / "MTD_TL.xml", mtd_tl(s))
        atomic_write_text(tmp / "MTD_MSIL2A.xml", mtd_msil2a(s))
    return final


def write_sentinel2_earthsearch(
    out_dir: str | os.PathLike[str],
    *,
    bands: Mapping[str, np.ndarray],
    tile: str,
    datetime: dt.datetime | str,
    crs: Any,
    transform: Affine | Sequence[float],
    processing_baseline: str = "05.10",
    platform: Platform = "sentinel-2b",
    cloud_cover: float | None = None,
    shape: tuple[int, int] | None = None,
    relative_orbit: int = 51,
    absolute_orbit: int | None = None,
    sun_elevation: float = 60.0,
    sun_azimuth: float = 150.0,
    boa_offset_applied: bool = False,
    absolute_hrefs: bool = False,
    blocksize: int = 512,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic Sentinel-2 L2A product in the Earth Search v1 COG layout.

    Layout: ``S2B_31UDQ_20230615_0_L2A/`` with ``B02.tif``, ``B04.tif``, ``B08.tif``,
    ``B11.tif``, ``SCL.tif`` ... (COGs from GDAL's COG driver: DEFLATE, ``blocksize`` tiles,
    nearest overviews, nodata 0) and ``S2B_31UDQ_20230615_0_L2A.json``, a STAC 1.0 item with the
    Earth Search properties (``eo``, ``proj``, ``view``, ``mgrs``, ``grid``, ``s2:*`` including
    ``s2:processing_baseline`` and the SCL class percentages, ``earthsearch:boa_offset_applied``)
    and one asset per band keyed by common name, with ``proj:shape``, ``proj:transform`` and
    ``raster:bands`` (``scale`` 0.0001 and ``offset`` -0.1 from baseline 04.00 on, 0 before).

    Earth Search flags with ``earthsearch:boa_offset_applied: true`` the products whose COG
    pixels it shifted by ``BOA_ADD_OFFSET`` (so their DN scale as before baseline 04.00), yet
    their ``raster:bands`` still say ``offset: -0.1`` (Element84 earth-search #9, #66; the flag
    is the truth). By default the product here is the consistent kind (flag false, DNs as ESA
    encodes them, offset declared); ``boa_offset_applied=True`` reproduces the other kind.

    Parameters
    ----------
    out_dir, bands, tile, datetime, crs, transform, processing_baseline, platform
        As :func:`write_sentinel2_safe`.
    cloud_cover, shape, relative_orbit, absolute_orbit, sun_elevation, sun_azimuth
        As :func:`write_sentinel2_safe`.
    boa_offset_applied
        Write the reflectance COGs with the offset already added (``DN + BOA_ADD_OFFSET``,
        i.e. ``DN - 1000``, clipped to 1; nodata 0 kept) and flag the item
        ``earthsearch:boa_offset_applied: true``, keeping ``raster:bands`` ``offset`` -0.1 as
        Earth Search does. ``bands`` are always given in the ESA encoding of the baseline.
        Only for baselines from 04.00 on.
    absolute_hrefs
        Write absolute local paths as asset hrefs instead of ``./B04.tif``.
    blocksize
        COG tile size (Earth Search uses 512).
    overwrite
        Replace an existing item folder; otherwise it raises :class:`FileExistsError`.

    Returns
    -------
    Path of the item JSON, ``out_dir/<id>/<id>.json``.
    """
    s = _prepare(
        bands=bands,
        tile=tile,
        datetime=datetime,
        crs=crs,
        transform=transform,
        processing_baseline=processing_baseline,
        platform=platform,
        cloud_cover=cloud_cover,
        shape=shape,
        relative_orbit=relative_orbit,
        absolute_orbit=absolute_orbit,
        sun_elevation=sun_elevation,
        sun_azimuth=sun_azimuth,
    )
    if blocksize <= 0 or blocksize % 16:
        raise SyntheticProductError(f"blocksize must be a positive multiple of 16, got {blocksize}")
    applied = bool(boa_offset_applied)
    if applied and s.offset == 0:
        raise SyntheticProductError(
            f"baseline {s.baseline} has no BOA_ADD_OFFSET to apply; boa_offset_applied=True "
            "needs a baseline from 04.00 on"
        )
    final = Path(out_dir) / s.earthsearch_id
    options = {
        "COMPRESS": "DEFLATE",
        "BLOCKSIZE": str(blocksize),
        "OVERVIEW_RESAMPLING": "NEAREST",
        "BIGTIFF": "IF_SAFER",
    }
    with staged_directory(final, overwrite=overwrite) as tmp:
        for band in s.bands:
            harmonise = applied and not band.spec.is_categorical
            write_raster_copy(
                tmp / f"{band.info.file_key}.tif",
                _apply_offset(band.array, s.offset) if harmonise else band.array,
                grid=band.grid,
                dtype=band.spec.dtype,
                nodata=0,
                driver="COG",
                options=options,
            )
        item = earthsearch_item(s, applied=applied, href_root=final if absolute_hrefs else None)
        atomic_write_text(tmp / f"{s.earthsearch_id}.json", json.dumps(item, separators=(",", ":")))
    return final / f"{s.earthsearch_id}.json"
