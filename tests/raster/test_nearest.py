"""Nearest resampling as an index gather equals GDAL's nearest warp, and loads stay lazy.

The oracle is ``rasterio.warp.reproject`` (GDAL's warper) with ``Resampling.nearest`` on the
same source and target grids, including target pixel centres that fall exactly on source
pixel edges (ties) and grids whose ratio is not an integer.
"""

import datetime as dt

import dask
import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

import raster.load
from raster.load import load_items
from raster.nearest import gather_nearest, native_counts, native_gather, same_phase
from raster.sources import open_product
from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn, write_landsat_c2l2
from tests.conftest import raise_if_dask_computes

CRS = "EPSG:32631"


def _gdal_nearest(values: np.ndarray, source: GeoBox, target: GeoBox) -> np.ndarray:
    out = np.full(target.shape.yx, -1.0, dtype="float64")
    reproject(
        values.astype("float64"), out, src_transform=source.affine, src_crs=CRS,
        dst_transform=target.affine, dst_crs=CRS, resampling=Resampling.nearest,
        src_nodata=None, dst_nodata=-1.0,
    )  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("src_res", "dst_res", "dst_origin"),
    [
        (30.0, 10.0, (600_000.0, 5_400_000.0)),  # aligned, ratio 3
        (30.0, 10.0, (600_010.0, 5_399_980.0)),  # centres on source edges: ties
        (30.0, 10.0, (600_003.0, 5_399_993.5)),  # arbitrary phase
        (20.0, 10.0, (600_005.0, 5_399_995.0)),  # Sentinel-2 20 m on a 10 m grid, ties
        (30.0, 20.0, (600_007.0, 5_399_989.0)),  # ratio 1.5
        (30.0, 30.0, (600_015.0, 5_399_985.0)),  # same size, half-pixel shift
    ],
)
def test_gather_equals_gdal_nearest(src_res, dst_res, dst_origin):
    rng = np.random.default_rng(3)
    source = GeoBox((40, 36), from_origin(599_970.0, 5_400_030.0, src_res, src_res), CRS)
    values = rng.integers(0, 60_000, size=source.shape.yx).astype("float64")
    n = int(28 * min(src_res / dst_res, 2))
    target = GeoBox((n, n + 5), from_origin(*dst_origin, dst_res, dst_res), CRS)
    plan = native_gather(source, target)
    assert plan is not None
    # The plan's window lies inside the source: read it as a slice.
    col0 = round((plan.geobox.affine.c - source.affine.c) / src_res)
    row0 = round((plan.geobox.affine.f - source.affine.f) / -src_res)
    ny, nx = plan.geobox.shape.yx
    window = values[row0 : row0 + ny, col0 : col0 + nx]
    expected = _gdal_nearest(values, source, target)
    got = window.take(plan.rows, axis=0).take(plan.cols, axis=1)
    np.testing.assert_array_equal(got, expected)


#: A southern Landsat grid as USGS writes it (north zone, negative northings, edges at
#: 15 m + k·30 m) and the same zone's south CRS, where Sentinel-2 and the run's grid are.
NORTH_40, SOUTH_40 = "EPSG:32640", "EPSG:32740"
REUNION = GeoBox((40, 36), from_origin(339_985.0, -2_319_975.0, 30, 30), NORTH_40)


@pytest.mark.parametrize("dst_origin", [(340_003.0, 7_679_993.5), (340_127.0, 7_679_811.0)])
def test_gather_from_the_north_zone_onto_its_south_crs_equals_gdal(dst_origin):
    """Southern Landsat pixels (326zz) onto a 327zz grid are gathered, not warped: the oracle
    is GDAL's nearest warp between the two CRSs (phases off the pixel edges, where PROJ's
    rounding cannot decide a tie)."""
    values = np.random.default_rng(5).integers(0, 60_000, size=REUNION.shape.yx)
    target = GeoBox((70, 75), from_origin(*dst_origin, 10, 10), SOUTH_40)
    plan = native_gather(REUNION, target)
    assert plan is not None and plan.geobox.crs == REUNION.crs  # read on the product's grid
    col0 = round((plan.geobox.affine.c - REUNION.affine.c) / 30)
    row0 = round((REUNION.affine.f - plan.geobox.affine.f) / 30)
    ny, nx = plan.geobox.shape.yx
    got = values[row0 : row0 + ny, col0 : col0 + nx].take(plan.rows, 0).take(plan.cols, 1)
    expected = np.full(target.shape.yx, -1.0)
    reproject(
        values.astype("float64"), expected, src_transform=REUNION.affine, src_crs=NORTH_40,
        dst_transform=target.affine, dst_crs=SOUTH_40, resampling=Resampling.nearest,
        src_nodata=None, dst_nodata=-1.0,
    )  # fmt: skip
    assert (expected >= 0).all()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dst_origin", [(340_000.0, 7_680_000.0), (340_010.0, 7_679_980.0)])
def test_gather_onto_the_south_crs_is_the_gather_onto_the_translated_grid(dst_origin):
    """With ties (10 m centres on 30 m edges): the south-CRS grid is the north-CRS grid moved
    10,000 km north, so its plan is that grid's, which equals GDAL in one CRS (above)."""
    south = GeoBox((70, 75), from_origin(*dst_origin, 10, 10), SOUTH_40)
    north = GeoBox((70, 75), from_origin(dst_origin[0], dst_origin[1] - 1e7, 10, 10), NORTH_40)
    got, want = native_gather(REUNION, south), native_gather(REUNION, north)
    assert got.geobox == want.geobox
    np.testing.assert_array_equal(got.rows, want.rows)
    np.testing.assert_array_equal(got.cols, want.cols)
    assert got.target == south
    # and the other way: the same pixels in the south CRS onto the north-CRS grid
    moved = GeoBox(REUNION.shape, from_origin(339_985.0, 7_680_025.0, 30, 30), SOUTH_40)
    back = native_gather(moved, north)
    np.testing.assert_array_equal(back.rows, want.rows)
    np.testing.assert_array_equal(back.cols, want.cols)
    assert native_gather(REUNION, GeoBox((5, 5), from_origin(0, 0, 10, 10), "EPSG:32739")) is None


def test_gather_declines_what_it_cannot_do():
    source = GeoBox((10, 10), from_origin(0, 100, 10, 10), CRS)
    finer = GeoBox((10, 10), from_origin(0, 100, 5, 5), CRS)
    assert native_gather(finer, source) is None  # downsampling: left to the warper
    assert native_gather(source, GeoBox((10, 10), from_origin(0, 100, 5, 5), "EPSG:2154")) is None
    rotated = GeoBox((10, 10), Affine(10, 1, 0, 1, -10, 100), CRS)
    assert native_gather(source, rotated) is None


def test_same_phase():
    a = GeoBox((10, 10), from_origin(15, 105, 30, 30), CRS)
    b = GeoBox((20, 5), from_origin(15 + 300, 105 - 600, 30, 30), CRS)
    c = GeoBox((10, 10), from_origin(0, 105, 30, 30), CRS)
    assert same_phase([a, b])
    assert not same_phase([a, c])
    assert not same_phase([a, GeoBox((10, 10), from_origin(15, 105, 20, 20), CRS)])


def test_gather_numpy_and_dask_agree_and_dask_stays_lazy():
    source = GeoBox((30, 30), from_origin(0, 900, 30, 30), CRS)
    target = GeoBox((80, 70), from_origin(5, 895, 10, 10), CRS)
    plan = native_gather(source, target)
    values = np.arange(3 * 30 * 30, dtype="uint16").reshape(3, 30, 30)
    ny, nx = plan.geobox.shape.yx
    window = values[:, :ny, :nx]
    coords = xr_coords(target, crs_coord_name="spatial_ref")
    eager = gather_nearest(
        xr.Dataset({"v": (("time", "y", "x"), window)}), plan, {"y": 32, "x": 32}
    )
    with raise_if_dask_computes():
        lazy = gather_nearest(
            xr.Dataset({"v": (("time", "y", "x"), da.from_array(window, chunks=(1, 7, 9)))}),
            plan, {"y": 32, "x": 32},
        )  # fmt: skip
    assert lazy.v.data.chunks == ((1, 1, 1), (32, 32, 16), (32, 32, 6))
    graph = lazy.v.data.__dask_graph__()
    gathers = [k for k in graph if str(k[0]).startswith("gather-nearest")]
    assert len(gathers) == 3 * 3 * 3  # one task per target chunk, whatever the source's
    np.testing.assert_array_equal(lazy.v.values, eager.v.values)
    assert eager.v.dtype == np.uint16
    np.testing.assert_array_equal(eager.y.values, coords["y"].values)


def test_gather_reads_each_source_chunk_once():
    """A source chunk that several target chunks, and another layer, need is computed once
    (the band read of a Landsat or 20 m Sentinel-2 chunk)."""
    source = GeoBox((30, 30), from_origin(0, 900, 30, 30), CRS)
    target = GeoBox((80, 70), from_origin(5, 895, 10, 10), CRS)
    plan = native_gather(source, target)
    ny, nx = plan.geobox.shape.yx
    reads = []

    def read(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        reads.append((r0, c0))
        return np.arange(ny * nx, dtype="float32").reshape(ny, nx)[r0:r1, c0:c1]

    band = da.map_blocks(read, chunks=((16, ny - 16), (nx,)), dtype="float32")
    gathered = gather_nearest(xr.Dataset({"v": (("y", "x"), band)}), plan, {"y": 32, "x": 32})
    values, total = dask.compute(gathered.v.data, band.sum())
    assert sorted(reads) == [(0, 0), (16, 0)]
    whole = np.arange(ny * nx, dtype="float32").reshape(ny, nx)
    np.testing.assert_array_equal(values, whole[plan.rows][:, plan.cols])
    assert total == whole.sum()


def _l2(tmp_path, day, origin, tag, crs=32631):
    rng = np.random.default_rng(tag)
    size = 24
    lst = kelvin_to_st_dn(300.0 + 10 * rng.random((size, size)))
    qa = np.broadcast_to(encode_qa_pixel(), (size, size)).copy()
    qa[rng.random((size, size)) < 0.2] = encode_qa_pixel(cloud=True)
    return write_landsat_c2l2(
        tmp_path, bands={"lwir11": lst, "qa_pixel": qa}, crs=crs,
        transform=from_origin(*origin, 30, 30), platform="landsat-8", path=199, row=26,
        date=dt.date(2023, 7, day),
    )  # fmt: skip


def test_30m_grid_reads_landsat_pixels_unshifted(tmp_path):
    """USGS Landsat C2 grids in UTM have their edges at 15 m + k·30 m (the shared USGS STAC
    items' proj:transform: x0 173085, 478485): the 30 m analysis grid, anchored at pixel
    centres (grid_anchor), shares those edges, so each of its pixels is one Landsat pixel,
    read as stored; anchored at edges, its centres fell on Landsat edges."""
    from odc.geo.geom import BoundingBox

    from tiles.grid import analysis_geobox, grid_anchor

    path = _l2(tmp_path, 1, (600015, 5400015), 1)  # 24 x 24 Landsat pixels
    items = [open_product(path)]
    native = load_items(items, ["lwir11"]).lwir11.isel(time=0).values  # its own grid
    area = BoundingBox(600100, 5399500, 600600, 5399900, crs=CRS)
    assert grid_anchor(30, CRS) == "landsat"
    grid = analysis_geobox(area, 30, CRS, anchor=grid_anchor(30, CRS))
    assert (grid.affine.c - 600015) % 30 == 0 and (grid.affine.f - 5400015) % 30 == 0
    r0, c0 = int((5400015 - grid.affine.f) // 30), int((grid.affine.c - 600015) // 30)
    ny, nx = grid.shape.yx
    got = load_items(items, ["lwir11"], geobox=grid).lwir11.isel(time=0).values
    np.testing.assert_array_equal(got, native[r0 : r0 + ny, c0 : c0 + nx])
    edge = analysis_geobox(area, 30, CRS)
    assert (edge.affine.c + 15 - 600015) % 30 == 0  # its pixel centres on Landsat edges


def test_load_items_gathers_coarse_bands_exactly_as_the_warper(tmp_path, monkeypatch):
    items = [
        open_product(_l2(tmp_path, 4, (600_015, 5_400_015), 1)),
        open_product(_l2(tmp_path, 20, (600_105, 5_399_985), 2)),  # another extent, same phase
    ]
    grid = GeoBox((50, 60), from_origin(600_050, 5_399_990, 10, 10), CRS)
    read, real_read = [], rasterio.io.DatasetReader.read
    counting = lambda src, *a, **k: read.append(src) or real_read(src, *a, **k)  # noqa: E731
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting)
    with raise_if_dask_computes():
        fast = load_items(items, ["lwir11", "qa_pixel"], geobox=grid, chunk=512,
                          resampling="nearest")  # fmt: skip
    assert read == [], "building the graph read pixels"
    layers = fast.lwir11.data.__dask_graph__().layers
    assert any(name.startswith("gather-nearest") for name in layers)  # no warp
    monkeypatch.setattr(raster.load, "_gather_plan", lambda *args: None)  # odc-stac + GDAL
    warped = load_items(items, ["lwir11", "qa_pixel"], geobox=grid, chunk=512,
                        resampling="nearest")  # fmt: skip
    xr.testing.assert_identical(fast.compute(), warped.compute())
    assert np.isfinite(fast.lwir11.values).any() and np.isnan(fast.lwir11.values).any()


def test_southern_landsat_products_are_gathered_onto_a_south_crs_grid(tmp_path, monkeypatch):
    """La Réunion: USGS products in EPSG:32640 with negative northings under a run in
    EPSG:32740. Read on their own grid and gathered (no warp in the graph), the values are
    GDAL's (odc-stac's warp between the two CRSs) on a grid whose centres are off the
    30 m edges, and the masks and LST can run on the Landsat pixels (a native window)."""
    items = [
        open_product(_l2(tmp_path, 4, (339_985, -2_319_975), 1, crs=32640)),
        open_product(_l2(tmp_path, 20, (340_075, -2_320_065), 2, crs=32640)),
    ]
    grid = GeoBox((50, 60), from_origin(340_052, 7_679_953, 10, 10), SOUTH_40)
    assert raster.load.native_window(items, ["lwir11", "qa_pixel"], grid) is not None
    with raise_if_dask_computes():
        fast = load_items(items, ["lwir11", "qa_pixel"], geobox=grid, chunk=512,
                          resampling="nearest")  # fmt: skip
    layers = fast.lwir11.data.__dask_graph__().layers
    assert any(name.startswith("gather-nearest") for name in layers)
    monkeypatch.setattr(raster.load, "_gather_plan", lambda *args: None)  # odc-stac + GDAL
    warped = load_items(items, ["lwir11", "qa_pixel"], geobox=grid, chunk=512,
                        resampling="nearest")  # fmt: skip
    xr.testing.assert_identical(fast.compute(), warped.compute())
    assert np.isfinite(fast.lwir11.values).any() and np.isnan(fast.lwir11.values).any()


@pytest.mark.parametrize("dst_origin", [(600_000.0, 5_400_000.0), (600_010.0, 5_399_980.0),
                                        (600_003.0, 5_399_993.5)])  # fmt: skip
def test_native_counts_is_the_adjoint_of_the_gather(dst_origin):
    """Σ of gathered values over a grid mask equals Σ counts × native values (hand oracle:
    the gathered sum itself), for aligned, tie and arbitrary phases; counts are exact."""
    rng = np.random.default_rng(7)
    source = GeoBox((40, 36), from_origin(599_970.0, 5_400_030.0, 30.0, 30.0), CRS)
    target = GeoBox((70, 61), from_origin(*dst_origin, 10.0, 10.0), CRS)
    plan = native_gather(source, target)
    assert plan is not None
    native = rng.normal(300.0, 5.0, plan.geobox.shape.yx)
    mask = rng.random(target.shape.yx) < 0.4
    counts = native_counts(mask, plan.rows, plan.cols, plan.geobox.shape.yx)
    gathered = native[plan.rows][:, plan.cols]
    assert counts.sum() == mask.sum()
    assert (counts * native).sum() == pytest.approx(gathered[mask].sum(), rel=1e-12)
    # One native pixel: the number of mask pixels whose gather reads it, counted by hand.
    r, c = plan.rows[35], plan.cols[30]
    by_hand = sum(bool(mask[i, j]) for i in range(70) for j in range(61)
                  if plan.rows[i] == r and plan.cols[j] == c)  # fmt: skip
    assert counts[r, c] == by_hand
    # Rows in any order (a window listed out of order) give the same counts.
    order = rng.permutation(70)
    shuffled = native_counts(mask[order], plan.rows[order], plan.cols, plan.geobox.shape.yx)
    np.testing.assert_array_equal(shuffled, counts)


@pytest.mark.parametrize("fill", [0.0, 0.3, 1.0])
def test_native_counts_are_numpys_add_at(fill):
    """Counts of a mask (none, some, all True) against np.add.at over every pixel, with rows
    and columns in any order and native pixels that no target pixel reads."""
    rng = np.random.default_rng(11)
    mask = rng.random((50, 40)) < fill
    rows, cols = rng.integers(0, 20, 50), rng.integers(0, 17, 40)
    expected = np.zeros((21, 18), dtype=np.int64)
    np.add.at(expected, (rows[:, None], cols[None, :]), mask.astype(np.int64))
    counts = native_counts(mask, rows, cols, (21, 18))
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)
    # A window of a larger mask (a strided view) counts the same.
    wide = np.zeros((50, 80), dtype=bool)
    wide[:, ::2] = mask
    np.testing.assert_array_equal(native_counts(wide[:, ::2], rows, cols, (21, 18)), expected)


def test_native_counts_refuse_a_mask_of_another_shape():
    with pytest.raises(ValueError, match=r"mask of shape \(3, 4\) needs as many rows"):
        native_counts(np.ones((3, 4), bool), np.arange(3), np.arange(5), (3, 5))
