"""Median composites of spectral indices straight from the stored bands, in one fused pass.

The general chain — bands to reflectance (:func:`raster.load.load_items`), indices
(:func:`raster.indices.compute_indices`), the Sentinel-2 clear mask
(:func:`raster.quality.sentinel2_clear_mask`), then a per-pixel median
(:func:`raster.composite.temporal_composite`) — materialises a float32 array for every band,
index and date. For a 10 m run that is gigabytes of temporaries for three maps. Here one numba
loop per chunk reads each pixel's stored values, converts them, masks them with the SCL (or
with clear and water flags computed beforehand: over each pixel's footprint, or dilated),
computes every index and keeps its median, and the water flag on any date: the same
values as the chain, bit for bit (the same float32 conversion, the same float64 sums in the
same order — :class:`raster.indices.AffineRatio` — and numpy's quantile arithmetic), with no
temporary larger than a pixel.

The products of one acquisition (Sentinel-2 MGRS tiles of one datatake, which overlap by
about 10 km) count once: given the groups of :func:`raster.acquisitions.acquisition_groups`,
each index of a pixel keeps the first value of its group's products in time order, as
:func:`raster.acquisitions.fuse_acquisitions` does with the chain's per-date indices. The
products are fused after their conversion, not as stored DNs: two products of one datatake
may come from different processing baselines, with different offsets.

The normalized differences take a negative reflectance as 0 (:func:`raster.indices.ndvi`):
with ``floored=True`` the same pass counts, per pixel, the dates whose value of one of them,
kept for the median, read a negative reflectance (red < 0 gives an NDVI of exactly 1), so
that a caller can say how often the rule decided a value.

Indices that are not ratios of affine forms of their bands (SAVI, IBI) are not fused; compute
them with the general chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr
from numba import njit

# Compiled into this module's kernels, whose numba cache (cache=True) is invalidated by edits
# to this file only: after editing sort_columns or sorted_quantile, edit this file too (or
# remove its __pycache__), or the kernels keep the former code.
from raster.composite import sort_columns, sorted_quantile, statistic_attrs
from raster.footprint import on_coords_of
from raster.indices import _attrs, _resolve_bands, _spec
from raster.load import StoredBands
from raster.quality.scl import SCL, SCLMask, scl_preset

__all__ = ["FLOORED", "index_median_composite"]

#: The Sentinel-2 band whose classes mask the dates and flag water.
SCL_BAND = "scl"
#: The band that carries precomputed clear/water flags into the fused pass.
FLAGS_BAND = "_flags"
#: The variable counting, per pixel, the dates whose normalized difference read a negative
#: reflectance (``floored=True``).
FLOORED = "negative_reflectance"
#: Size of the buffer that holds a strip of rows of every band and date (bytes).
STRIP_BYTES = 8 << 20


def index_median_composite(
    stored: StoredBands,
    names: Iterable[str],
    *,
    scl: str | SCLMask | Iterable[int] | None = "default",
    flags: xr.Dataset | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    floored: bool = False,
) -> xr.Dataset:
    """Median over clear acquisitions of each index, and the SCL water flag, from stored bands.

    Equal to ``temporal_composite(fuse_acquisitions(compute_indices(stored.physical(),
    names)[n].where(sentinel2_clear_mask(ds, preset=scl)), groups), stats="median",
    min_clear=1)["median"]`` for each index ``n``, and ``sentinel2_water_mask(ds).any("time")``,
    without their temporaries. Lazy on Dask input: one task per y/x chunk, reading every date.

    Parameters
    ----------
    stored
        Bands as stored (:func:`raster.load.load_stored`), with ``scl`` for Sentinel-2 masks.
    names
        Indices whose :attr:`raster.indices.IndexSpec.ratio` is set (NDVI, MNDWI, NDBI,
        NDWI, UI, the albedos).
    scl
        SCL classes to keep (a preset name, :class:`raster.quality.scl.SCLMask` or codes);
        None for no mask. Ignored (no mask, no water flag) when ``stored`` has no ``scl``.
    flags
        Boolean ``(time, y, x)`` ``clear`` and ``water`` on the grid, in the dates' order,
        used instead of the SCL classes (give ``scl=None``): masks the classes alone cannot
        express, e.g. over each pixel's footprint
        (:func:`raster.footprint.sentinel2_footprint_flags`) or with dilated clouds.
    groups
        The positions along ``time`` of each acquisition, in increasing order
        (:func:`raster.acquisitions.acquisition_groups`): a pixel's index takes, of a group's
        dates, the first one's value that is not NaN (clear, inside its footprint), so that
        an acquisition delivered as several products counts once. Default: each date is an
        acquisition of its own.
    floored
        Also return :data:`FLOORED`, counted in the same pass.

    Returns
    -------
    xarray.Dataset
        One float32 variable per index (NaN where no date is clear) with the attributes
        :func:`raster.composite.temporal_composite` gives its median, and ``scl_water``
        (bool: SCL class 6 on any date) when masked by SCL or ``flags``. With ``floored``,
        :data:`FLOORED` (uint16): per pixel, the dates (an acquisition's products counted
        once) at which a normalized difference (an index whose ratio floors its bands at 0)
        kept for its median read a negative reflectance, taken as 0.

    Raises
    ------
    ValueError
        If an index is unknown or not a ratio of affine forms, both ``scl`` and ``flags``
        are given, or ``groups`` do not split the dates' positions into increasing runs.
    tiles.errors.BandMissingError
        If a band an index needs is not loaded.
    """
    specs = list(dict.fromkeys(_spec(n) for n in names))
    if not specs:
        raise ValueError("no index name given")
    bands: list[str] = []
    chosen: list[dict[str, str]] = []
    for spec in specs:
        if spec.ratio is None:
            raise ValueError(
                f"index {spec.name!r} is not a ratio of affine forms of its bands; compute it "
                "with raster.indices.compute_indices and raster.composite.temporal_composite"
            )
        picked = _resolve_bands(stored.data, spec)
        chosen.append(picked)
        bands += [picked[arg] for arg in spec.ratio.arguments]
    if flags is not None and scl is not None and SCL_BAND in stored.data:
        raise ValueError("give the SCL classes (scl=...) or precomputed flags, not both")
    mask = (
        scl_preset(scl) if scl is not None and flags is None and SCL_BAND in stored.data else None
    )
    keep = np.zeros(256, dtype=np.bool_)
    water = np.zeros(256, dtype=np.bool_)
    if flags is not None:
        stored = _with_flag_codes(stored, flags)
        keep[[1, 3]] = True
        water[[2, 3]] = True
    elif mask is not None:
        keep[sorted(mask.keep)] = True
        water[int(SCL.WATER)] = True
    masked = flags is not None or mask is not None
    if masked:
        bands.append(FLAGS_BAND if flags is not None else SCL_BAND)
    bands = list(dict.fromkeys(bands))
    terms = _terms(specs, chosen, bands)
    scl_at = len(bands) - 1 if masked else -1
    # float32 scale and offset: the float32 arithmetic of dn_to_physical
    per_date = [np.stack([getattr(stored, k)[b] for b in bands]).astype(dtype, copy=False)
                for k, dtype in (("scale", np.float32), ("offset", np.float32),
                                 ("fill", np.float64))]  # fmt: skip
    kwargs: dict[str, Any] = dict(zip(("scale", "offset", "fill"), per_date, strict=True))
    first = _first_of_group(groups, stored.data.sizes["time"])
    kwargs.update(terms, scl_at=scl_at, keep=keep, water=water, first=first)
    arrays = [stored.data[b].transpose("time", "y", "x").data for b in bands]
    n_out = len(specs) + 2
    if all(isinstance(a, np.ndarray) for a in arrays):
        data: Any = _composite_block(*([a] for a in arrays), **kwargs)
    else:
        arrays = [dsa.asarray(a) for a in arrays]
        template = arrays[0]
        arrays = [a.rechunk({1: template.chunks[1], 2: template.chunks[2]}) for a in arrays]
        data = dsa.blockwise(
            _composite_block, "kyx", *(x for a in arrays for x in (a, "tyx")),
            new_axes={"k": n_out}, concatenate=False, dtype=np.float32, **kwargs,
        )  # fmt: skip
    first = stored.data[bands[0]]
    coords = {k: v for k, v in first.coords.items() if "time" not in v.dims}
    stack = xr.DataArray(data, dims=("index", "y", "x"), coords=coords)
    out = xr.Dataset()
    for i, (spec, picked) in enumerate(zip(specs, chosen, strict=True)):
        index_attrs = _attrs(spec, {arg: stored.data[band] for arg, band in picked.items()}, {})
        out[spec.name] = stack.isel(index=i, drop=True).assign_attrs(
            statistic_attrs(index_attrs, spec.name, "median")
        )
    if masked:
        comment = "SCL class 6 (water) on any date"
        if flags is not None:
            comment = flags["water"].attrs.get("comment", "water") + ", on any date"
        out["scl_water"] = (stack.isel(index=len(specs), drop=True) > 0).assign_attrs(
            long_name="water", comment=comment
        )
    if floored:
        out[FLOORED] = (
            stack.isel(index=len(specs) + 1, drop=True)
            .astype(np.uint16)
            .assign_attrs(
                long_name="dates whose normalized difference read a negative reflectance",
                units="1",
                comment="a negative reflectance is taken as 0 (red < 0 gives NDVI 1)",
            )
        )
    return out


def _first_of_group(groups: Sequence[Sequence[int]] | None, n_time: int) -> np.ndarray:
    """Return, for each date, the position of the first date of its acquisition group.

    Raises
    ------
    ValueError
        If ``groups`` do not split ``0 .. n_time - 1`` into non-empty increasing runs.
    """
    first = np.arange(n_time, dtype=np.int64)
    if groups is None:
        return first
    positions = [[int(t) for t in group] for group in groups]
    if sorted(t for group in positions for t in group) != list(range(n_time)) or any(
        not group or group != sorted(group) for group in positions
    ):
        raise ValueError(
            f"groups must split the positions 0..{n_time - 1} of the {n_time} dates into "
            f"groups in increasing order (raster.acquisitions.acquisition_groups), got {groups!r}"
        )
    for group in positions:
        first[group] = group[0]
    return first


def _with_flag_codes(stored: StoredBands, flags: xr.Dataset) -> StoredBands:
    """Add ``flags`` to ``stored`` as one code band: 1 clear, 2 water, 3 both, 0 neither."""
    first = next(iter(stored.data.data_vars.values())).transpose("time", "y", "x")
    codes = on_coords_of(flags["clear"].astype(np.uint8) + 2 * flags["water"].astype(np.uint8),
                         first)  # fmt: skip
    n = first.sizes["time"]
    return replace(
        stored,
        data=stored.data.assign({FLAGS_BAND: codes}),
        scale={**stored.scale, FLAGS_BAND: np.ones(n, np.float32)},
        offset={**stored.offset, FLAGS_BAND: np.zeros(n, np.float32)},
        fill={**stored.fill, FLAGS_BAND: np.full(n, np.nan)},
        specs={**stored.specs, FLAGS_BAND: None},
    )


def _terms(specs: Sequence[Any], chosen: Sequence[dict[str, str]], bands: list[str]) -> dict:
    """Encode the ratios as index arrays into ``bands`` (−1 ends a row) and coefficients."""
    width = max(len(r) for s in specs for r in (s.ratio.numerator, s.ratio.denominator))
    out = {
        key: np.full((len(specs), max(width, 1)), fill, dtype=dtype)
        for key, fill, dtype in (
            ("num_band", -1, np.int64), ("num_coef", 0.0, np.float64),
            ("den_band", -1, np.int64), ("den_coef", 0.0, np.float64),
        )
    }  # fmt: skip
    out["num_const"] = np.array([s.ratio.numerator_constant for s in specs], dtype=np.float64)
    out["den_const"] = np.array([s.ratio.denominator_constant for s in specs], dtype=np.float64)
    out["floor"] = np.array([s.ratio.floor for s in specs], dtype=np.float64)
    for k, (spec, picked) in enumerate(zip(specs, chosen, strict=True)):
        for side, terms in (("num", spec.ratio.numerator), ("den", spec.ratio.denominator)):
            for m, (arg, coef) in enumerate(terms):
                out[f"{side}_band"][k, m] = bands.index(picked[arg])
                out[f"{side}_coef"][k, m] = coef
    return out


def _composite_block(*per_band: Sequence[np.ndarray], **kwargs: Any) -> np.ndarray:
    """One y/x block: each band's ``(time, y, x)`` date blocks, composited strip by strip.

    The rows of a strip, for every band and date, are copied into one ``(band, time, row, x)``
    buffer of about :data:`STRIP_BYTES`, reused from strip to strip: a stack of the whole
    block (160 MB for 5 bands and 4 dates of 2,048²) would be fresh memory, page-faulted
    every time.
    """
    blocks = [[np.asarray(b) for b in band] for band in per_band]
    n_time = sum(b.shape[0] for b in blocks[0])
    ny, nx = blocks[0][0].shape[1:]
    dtype = np.result_type(*(b[0] for b in blocks))
    rows = max(1, min(ny, STRIP_BYTES // max(1, len(blocks) * n_time * nx * dtype.itemsize)))
    strip = np.empty((len(blocks), n_time, rows, nx), dtype=dtype)
    out = np.empty((kwargs["num_band"].shape[0] + 2, ny, nx), dtype=np.float32)
    for row0 in range(0, ny, rows):
        n_rows = min(rows, ny - row0)
        for i, band in enumerate(blocks):
            start = 0
            for block in band:
                strip[i, start : start + block.shape[0], :n_rows] = block[:, row0 : row0 + n_rows]
                start += block.shape[0]
        _fused(strip, n_rows, row0, out=out, **kwargs)
    return out


@njit(cache=True, nogil=True)
def _fused(  # pragma: no cover - compiled
    dn, n_rows, row0, scale, offset, fill, num_band, num_coef, num_const, den_band, den_coef,
    den_const, floor, scl_at, keep, water, first, out,
):  # fmt: skip
    """Fill rows ``row0 ...`` of ``out`` with the index medians, the water flag and the count.

    ``dn[:, :, :n_rows]`` holds those rows of every band and date, as stored. In phases the
    compiler vectorises along the row: physical values, SCL, indices (a date whose
    acquisition began at an earlier date ``first[t]`` moves its value there where that date
    has none, and is left out; with it, whether the value read a band below the index's
    floor), then the medians: each pixel's dates sorted by an odd-even transposition network
    (NaN as +inf, no data-dependent branch), its median taken from its ``n`` clear values.
    The last plane counts the dates at which some index's value read a band below its floor.

    Physical values and indices are float32, as the chain stores them (exactly: the float64
    ratio is rounded to float32 before it is kept); the ratios' sums and quotients, and the
    medians' interpolation, are float64. Flags are uint8 and combined with ``&`` and ``|``,
    without branches. Measured on the benchmark city's 1,952² chunks: 0.29 → 0.21 CPU-s
    each, against float64 buffers and booleans.
    """
    n_band, n_time, _, nx = dn.shape
    n_index = num_band.shape[0]
    value = np.empty((n_band, n_time, nx), dtype=np.float32)
    index = np.empty((n_index, n_time, nx), dtype=np.float32)
    clear = np.ones((n_time, nx), dtype=np.uint8)
    wet = np.zeros(nx, dtype=np.uint8)
    num = np.empty(nx, dtype=np.float64)
    den = np.empty(nx, dtype=np.float64)
    srt = np.empty((n_time, nx), dtype=np.float32)
    tmp = np.empty(nx, dtype=np.float32)
    count = np.empty(nx, dtype=np.int64)
    low = np.empty(nx, dtype=np.uint8)
    hit = np.empty(nx, dtype=np.uint8)
    n_below = np.empty(nx, dtype=np.int64)
    below = np.zeros((n_index, n_time, nx), dtype=np.uint8)
    nan = np.float32(np.nan)
    for y in range(n_rows):
        for b in range(n_band):
            for t in range(n_time):
                s, o, f = scale[b, t], offset[b, t], fill[b, t]
                for x in range(nx):
                    d = dn[b, t, y, x]
                    # float32 arithmetic, as dn_to_physical
                    v = np.float32(np.float32(d) * s) + o
                    value[b, t, x] = nan if np.float64(d) == f else v
        if scl_at >= 0:
            wet[:] = 0
            for t in range(n_time):
                for x in range(nx):
                    code = value[scl_at, t, x]
                    # missing or not a class: never kept, never water
                    ok = (code >= 0.0) & (code < 256.0) & (code == np.floor(code))
                    c = int(code) if ok else 0
                    clear[t, x] = ok & keep[c]
                    wet[x] |= ok & water[c]
        for k in range(n_index):
            for t in range(n_time):
                _affine_row(num, num_const[k], num_band[k], num_coef[k], value, t, floor[k])
                _affine_row(den, den_const[k], den_band[k], den_coef[k], value, t, floor[k])
                _below_row(low, den_band[k], value, t, floor[k])
                for x in range(nx):
                    v = np.float32(num[x] / den[x]) if den[x] != 0.0 else nan
                    index[k, t, x] = v if clear[t, x] != 0 else nan
                    below[k, t, x] = low[x] & (index[k, t, x] == index[k, t, x])  # not NaN
                f = first[t]
                if f != t:  # fillna of the acquisition's first date, as fuse_acquisitions
                    for x in range(nx):
                        if np.isnan(index[k, f, x]):
                            index[k, f, x] = index[k, t, x]
                            below[k, f, x] = below[k, t, x]
                        index[k, t, x] = nan
                        below[k, t, x] = 0
        for k in range(n_index):
            for x in range(nx):
                count[x] = 0
            for t in range(n_time):
                for x in range(nx):
                    v = index[k, t, x]
                    ok = np.isfinite(v)
                    srt[t, x] = v if ok else np.float32(np.inf)
                    count[x] += ok
            sort_columns(srt, n_time, nx, tmp)
            for x in range(nx):
                n = count[x]
                med = np.nan if n == 0 else sorted_quantile(srt[:, x], n, 0.5)
                out[k, row0 + y, x] = med
        n_below[:] = 0
        for t in range(n_time):
            hit[:] = 0
            for k in range(n_index):
                for x in range(nx):
                    hit[x] |= below[k, t, x]
            for x in range(nx):
                n_below[x] += hit[x]
        for x in range(nx):
            out[n_index, row0 + y, x] = 1.0 if wet[x] != 0 else 0.0
            out[n_index + 1, row0 + y, x] = n_below[x]


@njit(cache=True, nogil=True, inline="always")
def _below_row(out, bands, value, t, floor):  # pragma: no cover - compiled
    """``out[x]``: one of ``bands`` is below ``floor`` at ``(t, x)`` (−1 ends ``bands``).

    Given a ratio's denominator bands: a floored ratio (a normalized difference) reads the
    same bands above and below.
    """
    out[:] = 0
    if floor == -np.inf:
        return
    for m in range(bands.shape[0]):
        b = bands[m]
        if b < 0:
            break
        for x in range(out.shape[0]):
            out[x] |= value[b, t, x] < floor


@njit(cache=True, nogil=True, inline="always")
def _affine_row(out, const, bands, coefs, value, t, floor):  # pragma: no cover - compiled
    """``out[x] = const + Σ coefs[m] * max(value[bands[m], t, x], floor)``, term by term.

    −1 ends ``bands``; NaN values stay NaN.
    """
    out[:] = const
    for m in range(bands.shape[0]):
        b = bands[m]
        if b < 0:
            break
        c = coefs[m]
        for x in range(out.shape[0]):
            v = value[b, t, x]
            out[x] = out[x] + c * (floor if v < floor else v)
