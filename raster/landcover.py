"""Land cover: five rule-based classes from spectral indices, or an external map recoded.

Two ways to a land-cover raster on the analysis grid, both giving the same class codes
(:class:`LandCover`, ``uint8``, 0 = no data):

* :func:`classify_landcover` — rules on NDVI, MNDWI and NDBI (:mod:`raster.indices`) with the
  thresholds of :class:`LandcoverThresholds`, then optionally :func:`clean_minimum_mapping_unit`
  to dissolve regions smaller than a minimum mapping unit into their surroundings;
* :func:`map_external_landcover` — recode an external map (OSO, ESA WorldCover, CORINE, or any
  table given in the configuration) with a code → class mapping; shipped tables:
  :data:`WORLDCOVER_MAPPING`, :data:`OSO_MAPPING`, :data:`CORINE_MAPPING`,
  :data:`CORINE_GRID_MAPPING`.

Per-zone class shares come from the zonal ``frac`` statistic (:mod:`raster.zonal`) on the class
raster; :data:`CLASS_NAMES` names the codes (``lc_<name>_frac`` columns).

Every function takes NumPy arrays, Dask arrays or DataArrays and returns the same kind; Dask
and Dask-backed DataArrays stay lazy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from skimage.measure import label as _label_regions

from raster._lift import lift
from tiles.errors import IlotsWarning

__all__ = [
    "BARE_SOIL_ATTR",
    "CLASS_COLOURS",
    "CLASS_NAMES",
    "CORINE_CODES",
    "CORINE_GRID_MAPPING",
    "CORINE_MAPPING",
    "EXTERNAL_MAPPINGS",
    "OSO_MAPPING",
    "WORLDCOVER_MAPPING",
    "LandCover",
    "LandcoverThresholds",
    "classify_landcover",
    "clean_minimum_mapping_unit",
    "map_external_landcover",
    "unmapped_codes",
]


class LandCover(IntEnum):
    """The land-cover classes of ilots (``uint8`` codes; 0 is no data)."""

    NODATA = 0
    WATER = 1
    DENSE_VEGETATION = 2
    LOW_VEGETATION = 3
    BUILT = 4
    BARE_SOIL = 5

    @property
    def label(self) -> str:
        """Lower-case name used in outputs, e.g. ``"dense_vegetation"``."""
        return self.name.lower()


#: Class code → output name (``lc_<name>_frac`` columns), no-data included.
CLASS_NAMES: Mapping[int, str] = MappingProxyType({int(c): c.label for c in LandCover})
#: Colour of each class, (red, green, blue, alpha): the palette of ``rasters/landcover.tif``
#: (no data transparent).
CLASS_COLOURS: Mapping[int, tuple[int, int, int, int]] = MappingProxyType(
    {
        LandCover.NODATA: (0, 0, 0, 0),
        LandCover.WATER: (49, 130, 189, 255),
        LandCover.DENSE_VEGETATION: (35, 132, 67, 255),
        LandCover.LOW_VEGETATION: (173, 221, 142, 255),
        LandCover.BUILT: (203, 24, 29, 255),
        LandCover.BARE_SOIL: (217, 180, 126, 255),
    }
)

#: The attribute (a raster tag) of a land cover whose built class holds bare soil too,
#: classified without NDBI; its value says why. Its zones' bare-soil shares are unknown.
BARE_SOIL_ATTR = "bare_soil"

_N_CLASSES = len(LandCover)


@dataclass(frozen=True)
class LandcoverThresholds:
    """Thresholds of the rule-based classification (:func:`classify_landcover`).

    Rules, in order of precedence (the first that holds wins):

    0. any input NaN → ``NODATA`` (0);
    1. ``MNDWI > water_mndwi`` → ``WATER`` (1) (Xu 2006: water has MNDWI > 0);
    2. ``NDVI >= dense_ndvi`` → ``DENSE_VEGETATION`` (2);
    3. ``NDVI >= low_ndvi`` → ``LOW_VEGETATION`` (3);
    4. ``NDBI > built_ndbi`` → ``BUILT`` (4) (Zha et al. 2003: built-up has NDBI > 0); by
       precedence this also implies ``NDVI < low_ndvi``;
    5. otherwise → ``BARE_SOIL`` (5).

    The defaults are common literature values, **[U]** in science.md terms (not checked
    against a reference classification): tune them per city and season. Water comes first so
    that flooded vegetation and turbid rivers are not taken for vegetation; bright built
    surfaces with MNDWI > 0 (some roofs, deep shadows) will be called water; check the map.

    Parameters
    ----------
    water_mndwi
        MNDWI above which a pixel is water; default 0.
    dense_ndvi
        NDVI from which a pixel is dense vegetation; default 0.5.
    low_ndvi
        NDVI from which a pixel is low vegetation; default 0.2.
    built_ndbi
        NDBI above which a non-vegetated pixel is built/impervious; default 0.
    """

    water_mndwi: float = 0.0
    dense_ndvi: float = 0.5
    low_ndvi: float = 0.2
    built_ndbi: float = 0.0

    def __post_init__(self) -> None:
        for name in ("water_mndwi", "dense_ndvi", "low_ndvi", "built_ndbi"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not -1.0 <= float(value) <= 1.0:
                raise ValueError(f"{name}={value} is outside [-1, 1], the range of the index")
            object.__setattr__(self, name, float(value))
        if not self.low_ndvi < self.dense_ndvi:
            raise ValueError(
                f"low_ndvi ({self.low_ndvi}) must be below dense_ndvi ({self.dense_ndvi})"
            )

    def describe(self, *, water: str | None = None, built: bool = True) -> str:
        """One-line description of the rules, written to the output attributes.

        ``water``: what flags water instead of ``MNDWI > water_mndwi`` (a land cover
        classified without MNDWI); ``built`` false: the rules applied without NDBI, where
        every pixel below ``low_ndvi`` is built (bare soil included).
        """
        water_rule = water or f"MNDWI > {self.water_mndwi}"
        rest = (
            f"built: NDBI > {self.built_ndbi}; else bare soil"
            if built
            else "else built (bare soil included: no NDBI to separate them)"
        )
        return (
            f"water: {water_rule}; dense vegetation: NDVI >= {self.dense_ndvi}; "
            f"low vegetation: NDVI >= {self.low_ndvi}; {rest}; first rule wins; NaN input -> 0"
        )


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _class_attrs(**extra: Any) -> dict[str, Any]:
    codes = [int(c) for c in LandCover]
    return {
        "long_name": "land cover class",
        "flag_values": np.asarray(codes, dtype=np.uint8),
        "flag_meanings": " ".join(CLASS_NAMES[c] for c in codes),
        "nodata": 0,
        **extra,
    }


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def _rewrap(template: xr.DataArray, data: Any, name: str, attrs: dict[str, Any]) -> xr.DataArray:
    return xr.DataArray(data, dims=template.dims, coords=template.coords, name=name, attrs=attrs)


# --------------------------------------------------------------------------------------------
# rule-based classification
# --------------------------------------------------------------------------------------------


def _classify_kernel(
    ndvi: NDArray[np.floating],
    mndwi: NDArray[np.floating],
    ndbi: NDArray[np.floating],
    *,
    thresholds: LandcoverThresholds,
) -> NDArray[np.uint8]:
    t = thresholds
    ndvi, mndwi, ndbi = np.broadcast_arrays(ndvi, mndwi, ndbi)
    with np.errstate(invalid="ignore"):
        conditions = [
            np.isnan(ndvi) | np.isnan(mndwi) | np.isnan(ndbi),
            mndwi > t.water_mndwi,
            ndvi >= t.dense_ndvi,
            ndvi >= t.low_ndvi,
            ndbi > t.built_ndbi,
        ]
    choices = [
        LandCover.NODATA,
        LandCover.WATER,
        LandCover.DENSE_VEGETATION,
        LandCover.LOW_VEGETATION,
        LandCover.BUILT,
    ]
    out = np.select(conditions, [np.uint8(c) for c in choices], np.uint8(LandCover.BARE_SOIL))
    return out.astype(np.uint8, copy=False)


def classify_landcover(
    ndvi: Any,
    mndwi: Any,
    ndbi: Any,
    *,
    thresholds: LandcoverThresholds | None = None,
) -> Any:
    """Classify land cover from NDVI, MNDWI and NDBI with documented rules.

    See :class:`LandcoverThresholds` for the rules and their order of precedence. Typically
    computed on median composites of the indices (:func:`raster.composite.temporal_composite`)
    so that one cloudy or harvested date does not decide the class.

    Parameters
    ----------
    ndvi, mndwi, ndbi
        The three indices on the same grid (:mod:`raster.indices`): NumPy arrays, or
        DataArrays (NumPy- or Dask-backed, lazy on Dask). Broadcastable.
    thresholds
        The rule thresholds; default :class:`LandcoverThresholds` ``()``.

    Returns
    -------
    numpy.ndarray or xarray.DataArray
        ``uint8`` :class:`LandCover` codes, 0 where any input is NaN. A DataArray result is
        named ``landcover`` and carries CF ``flag_values``/``flag_meanings`` and the rules.
    """
    thresholds = LandcoverThresholds() if thresholds is None else thresholds
    if not isinstance(thresholds, LandcoverThresholds):
        raise TypeError(f"thresholds must be a LandcoverThresholds, got {type(thresholds)}")
    inputs = (ndvi, mndwi, ndbi)
    for name, value in zip(("ndvi", "mndwi", "ndbi"), inputs, strict=True):
        dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
        if np.dtype(dtype).kind not in "fiu":
            raise TypeError(f"{name} must be a real-valued index, got dtype {dtype}")
    if not any(isinstance(v, xr.DataArray) for v in inputs):
        arrays = [np.asarray(v, dtype=np.float64) for v in inputs]
        return _classify_kernel(*arrays, thresholds=thresholds)
    out = lift(_classify_kernel, *inputs, dtype=np.uint8, kwargs={"thresholds": thresholds})
    return out.rename("landcover").assign_attrs(
        _class_attrs(rule=thresholds.describe(), source="rule-based, raster.landcover")
    )


# --------------------------------------------------------------------------------------------
# minimum mapping unit
# --------------------------------------------------------------------------------------------


def _neighbour_offsets(connectivity: int) -> list[tuple[int, int]]:
    structure = ndimage.generate_binary_structure(2, connectivity)
    return [(dy - 1, dx - 1) for dy, dx in zip(*np.nonzero(structure), strict=True)
            if (dy, dx) != (1, 1)]  # fmt: skip


#: Largest side of the one-class squares that tell the pixels of big regions apart without
#: labelling the whole block (:func:`_small_regions`): a unit up to 9 px. Beyond, too many
#: pixels lie outside every square for the sparse pass to beat scikit-image's labelling
#: (the benchmark's 4 blocks: 4 px 0.25 -> 0.06 CPU-s, 9 px 0.26 -> 0.17, 16 px 0.24 -> 0.51).
_MAX_SQUARE = 3
#: Above this share of a block's pixels, grouping pixels sparsely (:func:`_components`) is
#: slower and far bigger than labelling the whole block (speckled classes: a 1,500² salt and
#: pepper block took 1.6 s and 460 MiB against 0.14 s and 58 MiB).
_SPARSE_SHARE = 1 / 16
#: Above this share of a block's pixels, small pixels are grouped into holes and their votes
#: found over the whole block (:func:`_dense_votes`), not at each small pixel: on a 2,000²
#: block the passes take 25-45 ms whatever the share, the pixels about 11 ms per 1 % of the
#: block (a 36 px unit on a city: 5 %; salt and pepper: 0.5 -> 0.15 CPU-s, 290 -> 90 MiB).
_DENSE_HOLES_SHARE = 1 / 32


def _small_regions(cls: np.ndarray, min_pixels: int, connectivity: int) -> np.ndarray:
    """Return whether each pixel is in a one-class region of fewer than ``min_pixels`` pixels.

    No-data pixels (0) never are. A pixel in a one-class square of ``side`` × ``side`` ≥
    ``min_pixels`` pixels is not: its region holds the square. Up to :data:`_MAX_SQUARE`,
    only the pixels in no such square (1 % of a city's at 2 × 2) are grouped into regions;
    a group reaching a pixel of the same class in a square is part of a big region, any
    other is a whole region, small when it has fewer than ``min_pixels`` pixels. Beyond,
    the whole block is labelled.
    """
    side = math.isqrt(min_pixels - 1) + 1  # the smallest square of at least min_pixels
    if side > _MAX_SQUARE or min(cls.shape) < side:
        return _labelled_small(cls, min_pixels, connectivity)
    ny, nx = cls.shape
    flat = cls.ravel()
    big = _in_one_class_square(cls, side).ravel()
    where = np.flatnonzero(~big & (flat != 0))
    small = np.zeros(cls.shape, dtype=bool)
    if not len(where):
        return small
    if len(where) > cls.size * _SPARSE_SHARE:  # speckled: labelling the block is cheaper
        return _labelled_small(cls, min_pixels, connectivity)
    rows, cols = np.divmod(where, nx)
    offsets = _neighbour_offsets(connectivity)
    values = flat[where]
    group, n_groups = _components(where, rows, cols, (ny, nx), offsets, values)
    grown = np.bincount(group, minlength=n_groups) >= min_pixels
    for dy, dx in offsets:  # a group touching its class in a square: part of a big region
        y, x = rows + dy, cols + dx
        at = np.flatnonzero((y >= 0) & (y < ny) & (x >= 0) & (x < nx))
        neighbour = where[at] + dy * nx + dx
        grown[group[at[big[neighbour] & (flat[neighbour] == values[at])]]] = True
    small.ravel()[where[~grown[group]]] = True
    return small


def _labelled_small(cls: np.ndarray, min_pixels: int, connectivity: int) -> np.ndarray:
    """:func:`_small_regions` by labelling every one-class region of the block."""
    regions = _label_regions(cls, background=0, connectivity=connectivity)
    is_small = np.bincount(regions.ravel()) < min_pixels
    is_small[0] = False  # no data (label 0) is never small
    return is_small[regions]


def _in_one_class_square(cls: np.ndarray, side: int) -> np.ndarray:
    """Return whether each pixel lies in a ``side`` × ``side`` square of pixels of one class."""
    ny, nx = cls.shape
    width, height = nx - side + 1, ny - side + 1
    run = np.ones((ny, width), dtype=bool)  # the row of side pixels from here has one class
    for d in range(1, side):
        run &= cls[:, d : d + width] == cls[:, :width]
    square = run[:height].copy()  # the square from here (its top-left pixel) has one class
    for d in range(1, side):
        square &= run[d : d + height]
        square &= cls[d : d + height, :width] == cls[:height, :width]
    across = np.zeros((height, nx), dtype=bool)
    for d in range(side):
        across[:, d : d + width] |= square
    inside = np.zeros((ny, nx), dtype=bool)
    for d in range(side):
        inside[d : d + height] |= across
    return inside


def _components(
    where: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    shape: tuple[int, int],
    offsets: list[tuple[int, int]],
    values: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Return the connected group (0..n-1) of each of some pixels, and n.

    ``where`` holds the pixels' flat indices, sorted (``rows``, ``cols`` the same pixels);
    two of them at one of ``offsets`` from each other are in the same group, if they have
    the same ``values`` when given. The numbering is arbitrary: a group is only ever told
    apart from the others.
    """
    ny, nx = shape
    pairs = []
    for dy, dx in offsets:
        if (dy, dx) < (0, 0):  # each pair once, from its first pixel in raster order
            continue
        y, x = rows + dy, cols + dx
        first = np.flatnonzero((y < ny) & (x >= 0) & (x < nx))
        target = where[first] + dy * nx + dx
        at = np.minimum(np.searchsorted(where, target), len(where) - 1)
        linked = where[at] == target
        if values is not None:
            linked &= values[at] == values[first]
        pairs.append((first[linked], at[linked]))
    a = np.concatenate([pair[0] for pair in pairs])
    b = np.concatenate([pair[1] for pair in pairs])
    graph = sparse.coo_array((np.ones(len(a), np.int8), (a, b)), shape=(len(where),) * 2)
    n, labels = csgraph.connected_components(graph, directed=False)
    return labels, int(n)


def _clean_kernel(classes: np.ndarray, min_pixels: int, connectivity: int) -> np.ndarray:
    """Dissolve same-class regions of fewer than ``min_pixels`` pixels (2-D NumPy block).

    The small regions are found with few passes over the block (:func:`_small_regions`).
    A few small pixels (a few thousand of millions on a city) are grouped into holes and
    vote at their own pixels (:func:`_sparse_votes`); more are grouped by labelling the
    block and vote where a whole-block pass finds them beside a source (:func:`_dense_votes`).
    """
    cls = np.asarray(classes)
    if min_pixels <= 1 or cls.size == 0:
        return cls.copy()
    small = _small_regions(cls, min_pixels, connectivity)
    where = np.flatnonzero(small)  # the small pixels, in raster order
    if not len(where):
        return cls.copy()
    if cls.dtype.kind == "i" and int(cls.min()) < 0:  # its votes would go to another hole
        raise ValueError(
            f"land-cover class codes must be 0 (no data) or positive, got {int(cls.min())}; "
            "map the negative codes (e.g. a nodata of -1) to 0 before cleaning"
        )
    n_codes = int(cls.max()) + 1
    if len(where) > cls.size * _DENSE_HOLES_SHARE:
        hole, votes = _dense_votes(cls, small, where, n_codes, connectivity)
    else:
        hole, votes = _sparse_votes(cls, small, where, n_codes, connectivity)
    votes = votes.reshape(-1, n_codes)
    fill = votes.argmax(axis=1).astype(cls.dtype)  # ties: lowest code
    target = (votes.max(axis=1) > 0)[hole]  # a hole touching no source keeps its classes
    out = cls.copy()
    out.ravel()[where[target]] = fill[hole[target]]
    return out


def _sparse_votes(
    cls: np.ndarray, small: np.ndarray, where: np.ndarray, n_codes: int, connectivity: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the hole of each small pixel ``where`` and the holes' flat vote counts.

    Votes are ``hole * n_codes + class`` counts of the source pixels (big region, not no
    data) beside each hole, counted at the small pixels themselves.
    """
    ny, nx = cls.shape
    rows, cols = np.divmod(where, nx)
    offsets = _neighbour_offsets(connectivity)
    hole, n_holes = _components(where, rows, cols, (ny, nx), offsets)
    flat, flat_small = cls.ravel(), small.ravel()
    votes = np.zeros(n_holes * n_codes, dtype=np.int64)
    for dy, dx in offsets:
        y, x = rows + dy, cols + dx
        inside = np.flatnonzero((y >= 0) & (y < ny) & (x >= 0) & (x < nx))
        at = where[inside] + dy * nx + dx
        neighbour = flat[at].astype(np.int64)  # int64 keys, whatever the codes' dtype
        ok = ~flat_small[at] & (neighbour != 0)  # a source: big region, not no data
        key = hole[inside[ok]].astype(np.int64) * n_codes + neighbour[ok]
        votes += np.bincount(key, minlength=votes.size)
    return hole, votes


def _dense_votes(
    cls: np.ndarray, small: np.ndarray, where: np.ndarray, n_codes: int, connectivity: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sparse_votes` with whole-block passes (speckled blocks, large units).

    The holes are labelled over the block, and the small pixels beside a source found with
    one pass per neighbour.
    """
    holes, n_holes = ndimage.label(small, ndimage.generate_binary_structure(2, connectivity))
    ny, nx = cls.shape
    flat, flat_holes = cls.ravel(), holes.ravel()
    source = ~small & (cls != 0)
    votes = np.zeros((n_holes + 1) * n_codes, dtype=np.int64)
    touching = np.empty(cls.shape, dtype=bool)  # a small pixel beside a source
    for dy, dx in _neighbour_offsets(connectivity):
        here = slice(max(0, -dy), ny - max(0, dy)), slice(max(0, -dx), nx - max(0, dx))
        there = slice(max(0, dy), ny - max(0, -dy)), slice(max(0, dx), nx - max(0, -dx))
        touching[:] = False
        np.logical_and(small[here], source[there], out=touching[here])
        at = np.flatnonzero(touching)
        key = flat_holes[at].astype(np.int64) * n_codes + flat[at + dy * nx + dx].astype(np.int64)
        votes += np.bincount(key, minlength=votes.size)
    return flat_holes[where], votes


def clean_minimum_mapping_unit(
    classes: Any,
    min_pixels: int,
    *,
    connectivity: int = 1,
    depth: int | None = None,
) -> Any:
    """Dissolve class regions smaller than a minimum mapping unit into their surroundings.

    Connected regions of one class (scikit-image labelling) with fewer than ``min_pixels``
    pixels are *small*. Adjacent small pixels form holes; each hole takes the majority class
    of the non-small, non-nodata pixels that touch it (one vote per touching pixel pair; ties
    go to the lowest code). A hole that touches nothing but no data or the array edge keeps
    its classes. No-data pixels (0) are never filled and never vote. This is the "majority of
    the surroundings" rule: unlike a nearest-pixel fill it does not depend on scan order, so
    it gives the same answer on a whole array and on overlapping Dask blocks.

    Parameters
    ----------
    classes
        2-D integer class raster ``(y, x)``: NumPy, Dask or a DataArray of either.
    min_pixels
        Minimum mapping unit in pixels (e.g. 0.25 ha at 10 m = 25 px); 0 or 1 changes nothing.
    connectivity
        1: regions connect through edges (4-neighbours, GDAL sieve's default); 2: corners too.
    depth
        Dask halo in pixels; default ``2 * min_pixels``. On Dask each chunk is cleaned with
        this halo (``map_overlap``), which is exact as long as every hole (a group of adjacent
        small regions) spans fewer than ``min_pixels`` pixels: then each small region, its
        surroundings and enough of every big neighbour to be recognised as big fit in the
        halo. A wider patch of adjacent small regions (salt-and-pepper noise) is still
        cleaned, but chunk by chunk, and may differ near chunk borders from the NumPy result.

    Returns
    -------
    numpy.ndarray or dask.array.Array or xarray.DataArray
        The cleaned classes, same type, dtype and shape. The input is not modified.

    Raises
    ------
    ValueError
        On a non-2-D array, a negative ``min_pixels`` or ``depth``, or a bad connectivity;
        on a negative class code in a block with a region to dissolve (on a Dask array, at
        compute).
    TypeError
        If the classes are not integers.
    """
    if isinstance(min_pixels, bool) or not isinstance(min_pixels, int | np.integer):
        raise ValueError(f"min_pixels must be an integer >= 0, got {min_pixels!r}")
    if min_pixels < 0:
        raise ValueError(f"min_pixels must be an integer >= 0, got {min_pixels}")
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 (edges) or 2 (edges and corners), got "
                         f"{connectivity!r}")  # fmt: skip
    depth = 2 * int(min_pixels) if depth is None else depth
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 0:
        raise ValueError(f"depth must be an integer >= 0, got {depth!r}")
    data = classes.data if isinstance(classes, xr.DataArray) else classes
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError("clean_minimum_mapping_unit needs a 2-D (y, x) class raster")
    dtype = np.dtype(data.dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"classes must be integer codes, got dtype {dtype}")
    kwargs = {"min_pixels": int(min_pixels), "connectivity": connectivity}
    if _is_dask(data):
        cleaned = data
        if min_pixels > 1:
            cleaned = data.map_overlap(
                _clean_kernel, depth=int(depth), boundary="none", dtype=dtype, **kwargs
            )
            if cleaned.chunks != data.chunks:  # Dask enlarges chunks thinner than the halo
                cleaned = cleaned.rechunk(data.chunks)
    else:
        cleaned = _clean_kernel(np.asarray(data), **kwargs)
    if not isinstance(classes, xr.DataArray):
        return cleaned
    attrs = {**classes.attrs, "minimum_mapping_unit_px": int(min_pixels),
             "minimum_mapping_unit_connectivity": connectivity}  # fmt: skip
    return _rewrap(classes, cleaned, classes.name or "landcover", attrs)


# --------------------------------------------------------------------------------------------
# external maps
# --------------------------------------------------------------------------------------------

_W, _D, _L, _B, _S, _N = (LandCover.WATER, LandCover.DENSE_VEGETATION, LandCover.LOW_VEGETATION,
                          LandCover.BUILT, LandCover.BARE_SOIL, LandCover.NODATA)  # fmt: skip

#: ESA WorldCover 10 m (v100 2020, v200 2021) → ilots. Codes **[V2]** (WorldCover product
#: documentation as quoted by several independent users). Choices: shrubland (20) is low
#: vegetation (shrubs rarely reach the NDVI of closed canopy in summer); herbaceous wetland
#: (90) is water, to keep wetlands out of the rural reference like open water (both are cool
#: by day), and so out of the LST where water is (``mask.lst_keep_water`` false); snow and
#: ice (70) have no ilots class and become no data; mangroves (95) dense vegetation, moss and
#: lichen (100) low vegetation.
WORLDCOVER_MAPPING: Mapping[int, int] = MappingProxyType({
    0: _N,     # no data
    10: _D,    # tree cover
    20: _L,    # shrubland
    30: _L,    # grassland
    40: _L,    # cropland
    50: _B,    # built-up
    60: _S,    # bare / sparse vegetation
    70: _N,    # snow and ice: no ilots class
    80: _W,    # permanent water bodies
    90: _W,    # herbaceous wetland (choice: treated as water)
    95: _D,    # mangroves
    100: _L,   # moss and lichen
})  # fmt: skip

#: CESBIO / Theia OSO, 23-class nomenclature of the 2018-and-later maps → ilots. Codes 1–23
#: **[V2]** (Theia OSO description, Sentinel Hub collection documentation). **[U]** entries:
#: 0 and 255 taken as no data; 24 (greenhouses, "Serres", in the newest vector products only)
#: as built. Choices: all crops, grasslands, vineyards, natural grasslands and woody moorlands
#: are low vegetation; orchards (14) are dense vegetation (tree rows; their summer NDVI is
#: usually high but the canopy is open: check it for your city). The 2016–2017 maps use
#: another, 17-class coding (11, 12, 31, 32, 34, 36, 41–46, 51, 53, 211, 221, 222): give
#: your own mapping for them.
OSO_MAPPING: Mapping[int, int] = MappingProxyType({
    0: _N,     # no data [U]
    1: _B,     # bâti dense (dense built-up)
    2: _B,     # bâti diffus (diffuse built-up)
    3: _B,     # zones industrielles et commerciales
    4: _B,     # surfaces routes (roads)
    5: _L,     # colza (rapeseed)
    6: _L,     # céréales à paille (straw cereals)
    7: _L,     # protéagineux (protein crops)
    8: _L,     # soja (soy)
    9: _L,     # tournesol (sunflower)
    10: _L,    # maïs (maize)
    11: _L,    # riz (rice)
    12: _L,    # tubercules / racines
    13: _L,    # prairies (grasslands)
    14: _D,    # vergers (orchards), choice
    15: _L,    # vignes (vineyards)
    16: _D,    # forêts de feuillus (broadleaf forest)
    17: _D,    # forêts de conifères (coniferous forest)
    18: _L,    # pelouses (natural grasslands and pastures)
    19: _L,    # landes ligneuses (woody moorlands), choice
    20: _S,    # surfaces minérales (natural mineral surfaces)
    21: _S,    # plages et dunes (beaches and dunes)
    22: _N,    # glaciers ou neiges éternelles: no ilots class
    23: _W,    # eau (water)
    24: _B,    # serres (greenhouses) [U]
    255: _N,   # no data [U]
})  # fmt: skip

#: The 44 CORINE Land Cover level-3 codes (``CODE_18``), in the order of the nomenclature.
CORINE_CODES: tuple[int, ...] = (
    111, 112, 121, 122, 123, 124, 131, 132, 133, 141, 142,
    211, 212, 213, 221, 222, 223, 231, 241, 242, 243, 244,
    311, 312, 313, 321, 322, 323, 324, 331, 332, 333, 334, 335,
    411, 412, 421, 422, 423, 511, 512, 521, 522, 523,
)  # fmt: skip

#: CORINE Land Cover → ilots, level-3 codes (``CODE_18``, three digits: the vector product,
#: and rasters converted to them); 999 (the vector product's no data) is no data. The EEA's
#: rasters store other codes: :data:`CORINE_GRID_MAPPING`. Choices **[U]**: green urban
#: areas (141) and sport and leisure facilities (142) are low vegetation; mineral
#: extraction, dump and construction sites (131–133) are bare soil; agro-forestry (244) and
#: transitional woodland-shrub (324) low vegetation; sparsely vegetated areas and burnt
#: areas (333, 334) bare soil; all wetlands (4xx) water, as for WorldCover (so out of the
#: LST with water); glaciers (335) no data.
_CORINE_CLASSES: tuple[int, ...] = (
    _B, _B, _B, _B, _B, _B, _S, _S, _S, _L, _L,
    _L, _L, _L, _L, _L, _L, _L, _L, _L, _L, _L,
    _D, _D, _D, _L, _L, _L, _L, _S, _S, _S, _S, _N,
    _W, _W, _W, _W, _W, _W, _W, _W, _W, _W,
)  # fmt: skip
CORINE_MAPPING: Mapping[int, int] = MappingProxyType({
    **dict(zip(CORINE_CODES, _CORINE_CLASSES, strict=True)), 999: _N,
})  # fmt: skip

#: CORINE Land Cover → ilots, ``GRID_CODE`` of the EEA's 100 m rasters
#: (``U2018_CLC2018_V2020_20u1.tif`` and earlier): 1–44, the level-3 codes numbered in the
#: order of :data:`CORINE_CODES` (their value attribute table maps them back to
#: ``CODE_18``), each with the class of its level-3 code in :data:`CORINE_MAPPING`. **[V2]**
#: grid codes 1–44 and 48 = no data (EEA raster legends, "VALUE Land Cover class (1-44)",
#: ``GRID_CODE`` beside ``CLC_CODE``). **[U]** no data too: 49 and 50 (unclassified land
#: surface and water bodies of older versions), 128 and −128 (the 2018 raster's no-data
#: value, read without its tag or as unsigned bytes) and 255 (older 8-bit rasters). A
#: mapping of its own, not part of ``corine``: OSO's codes (1–23) and WorldCover's (10–40)
#: are grid codes too, and a map of theirs under ``corine`` must stop the run as unknown
#: codes, not read as CORINE classes.
CORINE_GRID_MAPPING: Mapping[int, int] = MappingProxyType({
    **dict(enumerate(_CORINE_CLASSES, start=1)),
    **dict.fromkeys((48, 49, 50, 128, -128, 255), _N),
})  # fmt: skip

#: Shipped mappings by name, for configuration files (``mapping: worldcover``).
EXTERNAL_MAPPINGS: Mapping[str, Mapping[int, int]] = MappingProxyType({
    "worldcover": WORLDCOVER_MAPPING, "oso": OSO_MAPPING, "corine": CORINE_MAPPING,
    "corine_grid": CORINE_GRID_MAPPING,
})  # fmt: skip


def _mapping_table(mapping: Mapping[int, int] | str) -> tuple[np.ndarray, np.ndarray, str]:
    if isinstance(mapping, str):
        key = mapping.lower()
        if key not in EXTERNAL_MAPPINGS:
            raise ValueError(
                f"unknown land-cover mapping {mapping!r}; use one of {sorted(EXTERNAL_MAPPINGS)} "
                "or give a {code: class} dict"
            )
        return (*_mapping_table(EXTERNAL_MAPPINGS[key])[:2], key)
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError("mapping must be a non-empty {external code: ilots class} dict or a name")
    keys, targets = [], []
    for code, target in mapping.items():
        if isinstance(code, bool) or not isinstance(code, int | np.integer):
            raise ValueError(f"external code {code!r} is not an integer; fix the mapping")
        if (
            isinstance(target, bool)
            or not isinstance(target, int | np.integer)
            or not (0 <= int(target) < _N_CLASSES)
        ):
            raise ValueError(
                f"code {code} maps to {target!r}, not an ilots class 0..{_N_CLASSES - 1} "
                f"({', '.join(f'{int(c)} {c.label}' for c in LandCover)})"
            )
        keys.append(int(code))
        targets.append(int(target))
    order = np.argsort(keys)
    return (np.asarray(keys, dtype=np.float64)[order],
            np.asarray(targets, dtype=np.uint8)[order], "custom")  # fmt: skip


def _map_kernel(values: ArrayLike, *, keys: np.ndarray, targets: np.ndarray) -> np.ndarray:
    v = np.asarray(values)
    valid = np.isfinite(v) if v.dtype.kind == "f" else np.ones(v.shape, dtype=bool)
    idx = np.clip(np.searchsorted(keys, v), 0, keys.size - 1)
    found = valid & (keys[idx] == v)
    out = np.where(found, targets[idx], np.uint8(0)).astype(np.uint8, copy=False)
    unknown = valid & ~found
    if unknown.any():
        codes = np.unique(v[unknown])
        shown = ", ".join(f"{c:g}" for c in codes[:10]) + (", ..." if codes.size > 10 else "")
        warnings.warn(
            IlotsWarning(
                f"land-cover codes [{shown}] are not in the class mapping and were set to 0 "
                "(no data): the zones' class shares leave their pixels out, and so do a built "
                "urban footprint and the reference's water and built exclusions; add them to "
                "the mapping",
                code="unknown_landcover_codes",
            ),
            stacklevel=2,
        )
    return out


def unmapped_codes(values: ArrayLike, mapping: Mapping[int, int] | str) -> dict[int, int]:
    """Count the values of ``values`` that ``mapping`` lacks, by code (NaN is no data, left out).

    ``mapping`` is as :func:`map_external_landcover` takes it.
    """
    keys = _mapping_table(mapping)[0]
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    codes, counts = np.unique(v[~np.isin(v, keys)], return_counts=True)
    return {int(c): int(n) for c, n in zip(codes, counts, strict=True)}


def map_external_landcover(classes: Any, mapping: Mapping[int, int] | str) -> Any:
    """Recode an external land-cover map (OSO, WorldCover, CORINE ...) to ilots classes.

    Parameters
    ----------
    classes
        External class codes on the analysis grid (loaded with nearest resampling): NumPy,
        Dask, or a DataArray of either. NaN (no data after loading) becomes 0 silently.
    mapping
        ``{external code: ilots class}`` (classes 0..5, :class:`LandCover`), e.g. from the run
        configuration, or the name of a shipped table: ``"worldcover"``, ``"oso"``,
        ``"corine"`` (CORINE's level-3 codes), ``"corine_grid"`` (the grid codes of the
        EEA's CORINE rasters) (:data:`EXTERNAL_MAPPINGS`).

    Returns
    -------
    numpy.ndarray or dask.array.Array or xarray.DataArray
        ``uint8`` :class:`LandCover` codes, same type and shape.

    Warns
    -----
    IlotsWarning
        When codes absent from the mapping are found (``unknown_landcover_codes``); they
        become 0. On Dask the check runs with the computation, once per chunk that holds
        such codes.
    """
    keys, targets, source = _mapping_table(mapping)
    kwargs = {"keys": keys, "targets": targets}
    data = classes.data if isinstance(classes, xr.DataArray) else classes
    if _is_dask(data):
        mapped = data.map_blocks(_map_kernel, dtype=np.uint8, **kwargs)
    else:
        mapped = _map_kernel(np.asarray(data), **kwargs)
    if not isinstance(classes, xr.DataArray):
        return mapped
    return _rewrap(classes, mapped, "landcover",
                   _class_attrs(source=f"external map recoded ({source} mapping)"))  # fmt: skip
