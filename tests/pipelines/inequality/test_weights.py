from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point, box

from pipelines.inequality import contiguity_weights, knn_weights
from pipelines.inequality.weights import as_spatial_weights, geometry_key
from tiles.errors import InequalityError


def grid(rows=3, cols=3, gap=0.0):
    step = 1.0 + gap
    return [
        box(c * step, r * step, c * step + 1, r * step + 1)
        for r in range(rows)
        for c in range(cols)
    ]


def test_queen_and_rook_on_a_three_by_three_grid():
    queen = contiguity_weights(gpd.GeoSeries(grid()), contiguity="queen")
    rook = contiguity_weights(grid(), contiguity="rook")
    # Corners, edges, centre: 3/5/8 neighbours with queen, 2/3/4 with rook.
    assert queen.cardinalities.tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    assert rook.cardinalities.tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]
    dense = rook.matrix.toarray()
    assert (dense == dense.T).all() and (np.diag(dense) == 0).all()
    assert dense[4, [1, 3, 5, 7]].tolist() == [1, 1, 1, 1]


def test_against_libpysal():
    libpysal = pytest.importorskip("libpysal", reason="libpysal is the independent oracle")
    frame = gpd.GeoDataFrame(geometry=grid(4, 5))
    for rule, ours in (("queen", "Queen"), ("rook", "Rook")):
        theirs = getattr(libpysal.weights, ours).from_dataframe(frame, use_index=False)
        expected = theirs.sparse.toarray()
        got = contiguity_weights(frame, contiguity=rule).matrix.toarray()
        np.testing.assert_array_equal(got, expected)


def test_tolerance_bridges_digitising_gaps():
    gapped = grid(1, 3, gap=1e-6)
    assert contiguity_weights(gapped).islands == 3
    bridged = contiguity_weights(gapped, tolerance=1e-3)
    assert bridged.cardinalities.tolist() == [1, 2, 1]
    # With a tolerance, rook still excludes corner contacts.
    rook = contiguity_weights(grid(3, 3, gap=1e-6), contiguity="rook", tolerance=1e-3)
    assert rook.cardinalities.tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]


def test_sliver_overlap_counts_as_rook_neighbours():
    overlapping = [box(0, 0, 1, 1), box(0.999, 0.5, 2, 1.5)]
    assert contiguity_weights(overlapping, contiguity="rook").cardinalities.tolist() == [1, 1]


def test_knn():
    frame = gpd.GeoDataFrame(geometry=grid(1, 5), crs="EPSG:2154")
    w = knn_weights(frame, k=2)
    assert w.cardinalities.tolist() == [2] * 5
    assert sorted(w.matrix[[2]].indices.tolist()) == [1, 3]
    with pytest.raises(InequalityError, match="projected CRS"):
        knn_weights(frame.set_crs("EPSG:4326", allow_override=True), k=2)
    with pytest.raises(InequalityError, match="k must be"):
        knn_weights(frame, k=5)


def test_transforms_and_subset():
    w = contiguity_weights(grid(1, 3))
    row = w.transformed("row").toarray()
    np.testing.assert_allclose(row.sum(axis=1), 1.0)
    np.testing.assert_allclose(row[1], [0.5, 0, 0.5])
    sub = w.subset([True, False, True])
    assert sub.n == 2 and sub.islands == 2
    with pytest.raises(InequalityError, match="transform"):
        w.transformed("double")


def test_matrix_input_and_validation():
    dense = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float)
    assert as_spatial_weights(dense).cardinalities.tolist() == [1, 2, 1]
    with pytest.raises(InequalityError, match="square"):
        as_spatial_weights(np.ones((2, 3)))
    with pytest.raises(InequalityError, match="non-negative"):
        as_spatial_weights(-dense)


def test_bad_geometries():
    with pytest.raises(InequalityError, match="no geometry"):
        contiguity_weights([box(0, 0, 1, 1), None, box(1, 0, 2, 1)])
    with pytest.raises(InequalityError, match="polygons"):
        contiguity_weights([Point(0, 0), Point(1, 0), Point(2, 0)])
    with pytest.raises(InequalityError, match="contiguity must be"):
        contiguity_weights(grid(), contiguity="bishop")


def test_geometry_key_follows_the_geometries_not_the_object():
    frame = gpd.GeoDataFrame(geometry=grid(2, 3), crs="EPSG:2154")
    key = geometry_key(frame)
    assert geometry_key(frame.geometry.copy()) == key
    assert geometry_key(list(frame.geometry)) == (6, key[1], None)  # no CRS given
    moved = grid(2, 3)
    moved[4] = box(1, 1, 2, 2.000001)  # one vertex
    assert geometry_key(gpd.GeoSeries(moved, crs="EPSG:2154")) != key
    assert geometry_key(gpd.GeoSeries(grid(2, 3)[::-1], crs="EPSG:2154")) != key  # order
    assert geometry_key(frame.to_crs("EPSG:4326").set_crs("EPSG:2154", allow_override=True)) != key
    assert geometry_key(frame.set_crs("EPSG:3857", allow_override=True)) != key
    with pytest.raises(InequalityError, match="1 zones have no geometry"):
        geometry_key([*grid(1, 2), None])
