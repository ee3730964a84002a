"""Exact coverage fractions (numba signed-area accumulation) against exactextract.

Two oracles: exactextract's ``cell_id``/``coverage`` (every (pixel, zone) fraction must agree;
exactextract computes parts of them in float32 and returns float32 values, so they agree within
a few float32 units, 4 x 2**-24), and shapely's exact ``intersection(zone, pixel).area``
(agreement within 1e-9); the pixel areas of a zone add up to its area.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from hypothesis import given, settings
from hypothesis import strategies as st

from raster.zonal.kernels import no_zone
from raster.zonal.rasterize import exact_coverage

CRS = "EPSG:2154"
X0, Y0, RES = 600000.0, 6900000.0, 10.0
NY, NX = 30, 40
FLOAT32 = 4 * 2.0**-24


def _dense_ours(geoms):
    labels, rows, cols, zones, fractions = exact_coverage(
        np.asarray(geoms, dtype=object), (RES, 0.0, X0, 0.0, -RES, Y0), (NY, NX)
    )
    assert np.all(np.diff(rows) >= 0), "triples are sorted by row"
    assert np.all((fractions > 0) & (fractions <= 1))
    out = np.zeros((len(geoms), NY * NX))
    flat = labels.ravel()
    inside = np.flatnonzero(flat != no_zone(flat.dtype))
    out[flat[inside], inside] = 1.0
    np.add.at(out, (zones, rows.astype(np.int64) * NX + cols), fractions)
    return out


def _dense_ee(geoms):
    keep = [k for k, g in enumerate(geoms) if not g.is_empty]  # exactextract refuses empties
    frame = gpd.GeoDataFrame({"z": keep}, geometry=[geoms[k] for k in keep], crs=CRS)
    grid = NumPyRasterSource(np.zeros((NY, NX)), X0, Y0 - NY * RES, X0 + NX * RES, Y0,
                             srs_wkt=frame.crs.to_wkt())  # fmt: skip
    got = exact_extract(grid, frame, ["cell_id", "coverage"], include_cols=["z"],
                        output="pandas")  # fmt: skip
    out = np.zeros((len(geoms), NY * NX))
    for z, cells, fractions in zip(got["z"], got["cell_id"], got["coverage"], strict=True):
        out[z, cells] = fractions
    return out


def _dense_shapely(geoms):
    cols, rows = np.meshgrid(np.arange(NX), np.arange(NY))
    x0, y1 = X0 + cols.ravel() * RES, Y0 - rows.ravel() * RES
    pixels = shapely.box(x0, y1 - RES, x0 + RES, y1)
    return np.stack([shapely.area(shapely.intersection(g, pixels)) / RES**2 for g in geoms])


def _pixel(c, r):
    return X0 + c * RES, Y0 - r * RES


def _polygon(rng):
    """A random star polygon in pixel units (maybe with a hole, reversed, off the grid)."""
    cx, cy = rng.uniform(-4, NX + 4), rng.uniform(-4, NY + 4)
    n = int(rng.integers(3, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.2, 12, n)
    shell = [
        _pixel(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    polygon = shapely.make_valid(shapely.Polygon(shell))
    parts = [p for p in shapely.get_parts(polygon) if p.geom_type == "Polygon"]
    polygon = shapely.union_all(parts) if parts else shapely.Polygon()
    if rng.random() < 0.4:
        hole = shapely.Point(*_pixel(cx, cy)).buffer(RES * rng.uniform(0.3, 3))
        polygon = shapely.difference(polygon, hole)
    if rng.random() < 0.4:
        polygon = polygon.reverse()  # clockwise shell, counter-clockwise holes
    return polygon


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_fractions_equal_exactextract(seed):
    rng = np.random.default_rng(seed)
    geoms = [_polygon(rng) for _ in range(5)]
    two = [shapely.box(*_pixel(2.3, 9.1), *_pixel(7, 3.5)),
           shapely.box(*_pixel(20, 29.5), *_pixel(25.25, 24))]  # fmt: skip
    geoms.append(shapely.MultiPolygon(two))
    ours, theirs = _dense_ours(geoms), _dense_ee(geoms)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=FLOAT32)
    np.testing.assert_allclose(ours, _dense_shapely(geoms), rtol=0, atol=1e-9)
    # Each zone's fractions add up to its area inside the grid (exact up to float64).
    frame = shapely.box(X0, Y0 - NY * RES, X0 + NX * RES, Y0)
    areas = shapely.area(shapely.intersection(np.asarray(geoms, dtype=object), frame))
    np.testing.assert_allclose(ours.sum(axis=1) * RES * RES, areas, rtol=1e-10, atol=1e-6)


def test_grid_aligned_and_degenerate_zones():
    geoms = [
        shapely.box(*_pixel(3, 8), *_pixel(9, 2)),  # on pixel edges: whole pixels only
        shapely.box(*_pixel(10.5, 4.5), *_pixel(11.5, 5.5)),  # one pixel over four
        shapely.box(*_pixel(20.25, 10.75), *_pixel(20.75, 10.25)),  # inside one pixel
        shapely.box(*_pixel(-10, 40), *_pixel(50, -10)),  # the whole grid and more
        shapely.box(*_pixel(100, 100), *_pixel(110, 90)),  # off the grid
        shapely.Polygon(),  # empty
    ]
    ours, theirs = _dense_ours(geoms), _dense_ee(geoms)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=FLOAT32)
    assert ours[0].sum() == 36.0 and set(np.unique(ours[0])) == {0.0, 1.0}
    assert ours[1].reshape(NY, NX)[4:6, 10:12] == pytest.approx(np.full((2, 2), 0.25))
    assert ours[2].sum() == pytest.approx(0.25, rel=1e-12)
    assert np.all(ours[3] == 1.0) and ours[4].sum() == 0 and ours[5].sum() == 0


def test_overlapping_zones_leave_the_label_raster():
    a = shapely.box(*_pixel(2, 12), *_pixel(12, 2))
    b = shapely.box(*_pixel(6, 20), *_pixel(18, 6))
    labels, rows, cols, zones, fractions = exact_coverage(
        np.array([a, b], dtype=object), (RES, 0.0, X0, 0.0, -RES, Y0), (NY, NX)
    )
    assert labels.dtype == np.uint16
    assert np.all(labels[6:12, 6:12] == no_zone(labels.dtype)), "in both zones: not 'wholly one'"
    assert np.all(labels[2:6, 2:12] == 0) and np.all(labels[12:20, 6:18] == 1)
    shared = (rows >= 6) & (rows < 12) & (cols >= 6) & (cols < 12)
    assert shared.sum() == 2 * 36 and np.all(fractions[shared] == 1.0)
    assert sorted(set(zones[shared].tolist())) == [0, 1]


def test_rotated_grid_is_refused():
    with pytest.raises(ValueError, match="north-up"):
        exact_coverage(np.array([shapely.box(0, 0, 1, 1)], dtype=object),
                       (1.0, 0.5, 0.0, 0.0, -1.0, 0.0), (4, 4))  # fmt: skip
