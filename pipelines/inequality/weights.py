"""Spatial weights between zones: queen/rook contiguity of polygons, k nearest neighbours.

Weights are held as a sparse n × n matrix with a zero diagonal (:class:`SpatialWeights`),
built with shapely 2 and scipy, so Moran's I needs neither libpysal nor esda:

* **queen**: two zones are neighbours when their polygons share at least one point
  (``tolerance`` > 0: when they are at most ``tolerance`` apart, to bridge digitising gaps);
* **rook**: when they share a boundary of positive length (``tolerance`` > 0: more than
  4·tolerance of one boundary lies within ``tolerance`` of the other, which excludes corner
  contacts), or their interiors overlap (sliver overlaps of real IRIS layers);
* **knn**: the k nearest zones by representative point (in a projected CRS); not symmetric.

Contiguity is topological, so it works in any CRS; k-nearest needs metric distances and
refuses a geographic CRS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
import xxhash
from scipy import sparse
from scipy.spatial import cKDTree

from tiles.errors import InequalityError

__all__ = [
    "SpatialWeights",
    "as_spatial_weights",
    "contiguity_weights",
    "geometry_key",
    "knn_weights",
]

Contiguity = Literal["queen", "rook"]
Transform = Literal["binary", "row"]


@dataclass(frozen=True, eq=False)
class SpatialWeights:
    """Sparse spatial weights between n zones.

    Attributes
    ----------
    matrix
        n × n CSR matrix, non-negative, zero diagonal; w_ij > 0 when j is a neighbour of i.
    description
        How the weights were built (e.g. ``"queen contiguity"``).
    """

    matrix: sparse.csr_array
    description: str

    def __post_init__(self) -> None:
        matrix = sparse.csr_array(self.matrix, dtype=np.float64, copy=True)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise InequalityError(f"spatial weights must be square, got shape {matrix.shape}")
        if matrix.nnz and (matrix.data < 0).any():
            raise InequalityError("spatial weights must be non-negative")
        if not np.isfinite(matrix.data).all():
            raise InequalityError("spatial weights must be finite")
        matrix.setdiag(0.0)
        matrix.eliminate_zeros()
        object.__setattr__(self, "matrix", matrix)

    @property
    def n(self) -> int:
        """Number of zones."""
        return int(self.matrix.shape[0])

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of neighbours of each zone."""
        return np.diff(self.matrix.indptr)

    @property
    def islands(self) -> int:
        """Zones without a neighbour."""
        return int(np.count_nonzero(self.cardinalities == 0))

    def transformed(self, transform: Transform) -> sparse.csr_array:
        """Return the matrix as ``"binary"`` (every neighbour 1) or ``"row"`` (rows sum to 1).

        Islands keep an all-zero row.
        """
        matrix = self.matrix.copy()
        if transform == "binary":
            matrix.data[:] = 1.0
            return matrix
        if transform == "row":
            sums = np.asarray(matrix.sum(axis=1)).ravel()
            scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
            return sparse.csr_array(sparse.diags_array(scale) @ matrix)
        raise InequalityError(f"transform must be 'binary' or 'row'; got {transform!r}")

    def subset(self, keep: npt.ArrayLike) -> SpatialWeights:
        """Weights among the zones where ``keep`` is True (links to dropped zones vanish)."""
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (self.n,):
            raise InequalityError(f"subset mask has shape {mask.shape}, expected ({self.n},)")
        index = np.flatnonzero(mask)
        return SpatialWeights(self.matrix[index][:, index], self.description)


def contiguity_weights(
    geometries: Any, *, contiguity: Contiguity = "queen", tolerance: float = 0.0
) -> SpatialWeights:
    """Queen or rook contiguity between polygons.

    Parameters
    ----------
    geometries
        A GeoDataFrame, GeoSeries or sequence of shapely polygons, one per zone, in order.
    contiguity
        ``"queen"`` (a shared point suffices) or ``"rook"`` (a shared edge is needed).
    tolerance
        Gap, in CRS units, still counted as contact (0: exact contact).

    Returns
    -------
    SpatialWeights
        Binary symmetric weights.

    Raises
    ------
    InequalityError
        Unknown contiguity, negative tolerance, or a missing, empty or non-polygon geometry.

    Examples
    --------
    >>> from shapely import box
    >>> w = contiguity_weights([box(i, 0, i + 1, 1) for i in range(3)], contiguity="rook")
    >>> w.matrix.toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    if contiguity not in ("queen", "rook"):
        raise InequalityError(f"contiguity must be 'queen' or 'rook'; got {contiguity!r}")
    if not tolerance >= 0:
        raise InequalityError(f"tolerance must be ≥ 0, got {tolerance}")
    geoms = _geometry_array(geometries)
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {3, 6}:  # Polygon, MultiPolygon
        raise InequalityError("contiguity needs polygons; use knn_weights for points or lines")
    tree = shapely.STRtree(geoms)
    if tolerance > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    if contiguity == "rook" and len(left):
        other = shapely.boundary(geoms[right])
        if tolerance > 0:
            other = shapely.buffer(other, tolerance)
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms[left]), other))
        overlap = shapely.area(shapely.intersection(geoms[left], geoms[right])) > 0
        link = (shared > 4.0 * tolerance) | overlap
        left, right = left[link], right[link]
    n = len(geoms)
    rows = np.concatenate([left, right])
    cols = np.concatenate([right, left])
    matrix = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    gap = f", tolerance {tolerance:g}" if tolerance > 0 else ""
    return SpatialWeights(matrix, f"{contiguity} contiguity{gap}")


def knn_weights(geometries: Any, *, k: int = 4) -> SpatialWeights:
    """Link each zone to its k nearest zones, by representative point (binary, not symmetric).

    Parameters
    ----------
    geometries
        GeoDataFrame, GeoSeries or sequence of shapely geometries in a projected CRS.
    k
        Neighbours per zone, 1 ≤ k < n.

    Raises
    ------
    InequalityError
        Bad k, missing or empty geometries, or a geographic CRS.
    """
    crs = getattr(geometries, "crs", None)
    if crs is not None and getattr(crs, "is_geographic", False):
        raise InequalityError(
            "k-nearest neighbours need a projected CRS; reproject the zones "
            "(e.g. to EPSG:2154) first"
        )
    geoms = _geometry_array(geometries)
    n = len(geoms)
    if not 1 <= k < n:
        raise InequalityError(f"k must be between 1 and n − 1 = {n - 1}, got {k}")
    points = shapely.get_coordinates(shapely.point_on_surface(geoms))
    _, neighbours = cKDTree(points).query(points, k=k + 1)
    rows, cols = [], []
    for i, candidates in enumerate(neighbours):
        chosen = [j for j in candidates if j != i][:k]
        rows.extend([i] * len(chosen))
        cols.extend(chosen)
    matrix = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return SpatialWeights(matrix, f"{k} nearest neighbours")


def as_spatial_weights(
    geometries_or_weights: Any, *, contiguity: Contiguity | Literal["knn"] = "queen", k: int = 4
) -> SpatialWeights:
    """Spatial weights from geometries, a dense or sparse matrix, or :class:`SpatialWeights`.

    Parameters
    ----------
    geometries_or_weights
        GeoDataFrame / GeoSeries / sequence of shapely geometries (weights built with
        ``contiguity``), an n × n array or scipy sparse matrix, or ``SpatialWeights``.
    contiguity
        ``"queen"``, ``"rook"`` or ``"knn"`` when geometries are given.
    k
        Neighbours for ``"knn"``.
    """
    if isinstance(geometries_or_weights, SpatialWeights):
        return geometries_or_weights
    if sparse.issparse(geometries_or_weights):
        return SpatialWeights(sparse.csr_array(geometries_or_weights), "given matrix")
    if isinstance(geometries_or_weights, np.ndarray) and geometries_or_weights.dtype != object:
        return SpatialWeights(sparse.csr_array(geometries_or_weights), "given matrix")
    if contiguity == "knn":
        return knn_weights(geometries_or_weights, k=k)
    return contiguity_weights(geometries_or_weights, contiguity=contiguity)


def geometry_key(geometries: Any) -> tuple[int, str, str | None]:
    """Return what identifies zones' geometries: their count, a digest of their WKB, their CRS.

    Zones with the same key get the same weights (the CRS, for k-nearest's refusal of a
    geographic one), wherever and whenever they were read: unlike a column name or an
    ``id``, the key changes with any vertex.

    Parameters
    ----------
    geometries
        A GeoDataFrame, a GeoSeries, or a sequence of shapely geometries, in the zones' order.

    Returns
    -------
    tuple
        The number of zones, the hex xxh3-128 digest of their WKB in order, and the CRS as WKT
        (``None`` without a CRS).

    Raises
    ------
    InequalityError
        A missing or empty geometry (as the weights would).
    """
    geoms = _geometry_array(geometries)
    digest = xxhash.xxh3_128()  # 128 bits: two tables' geometries do not collide by chance
    for wkb in shapely.to_wkb(geoms):  # each WKB says its length: their sequence is unique
        digest.update(wkb)
    crs = getattr(geometries, "crs", None)
    return len(geoms), digest.hexdigest(), None if crs is None else crs.to_wkt()


def _geometry_array(geometries: Any) -> np.ndarray:
    """Shapely geometries as an object array; refuse missing or empty ones."""
    if hasattr(geometries, "geometry"):  # GeoDataFrame or GeoSeries
        geometries = geometries.geometry
    if hasattr(geometries, "values") and not isinstance(geometries, np.ndarray):
        geometries = geometries.values
    array = np.asarray(geometries if not isinstance(geometries, Sequence) else list(geometries))
    array = np.asarray(array, dtype=object).ravel()
    if not len(array):
        raise InequalityError("no geometries given")
    valid = np.array([isinstance(g, shapely.Geometry) for g in array])
    if not valid.all():
        raise InequalityError(
            f"{int((~valid).sum())} zones have no geometry; drop or repair them first"
        )
    empty = shapely.is_empty(array)
    if empty.any():
        raise InequalityError(f"{int(empty.sum())} zones have an empty geometry; drop them first")
    return array
