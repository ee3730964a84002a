"""Zonal statistics against the science sheet, exactextract and rasterstats.

exactextract (method="exact") and rasterstats (method="centre") are the oracles; the sheet's
§9.6 vectors pin the formulas; hypothesis checks that chunking and tiling never change a
number.
"""

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import shapely
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raster.zonal.api import zonal_stats
from raster.zonal.coverage import ZoneCoverage, no_zone
from raster.zonal.partials import chunk_partials, finalise, merge
from raster.zonal.statistics import parse_statistics
from tests.conftest import raise_if_dask_computes
from tiles.errors import CRSError, GridError, ZonesError

CRS = "EPSG:32631"
X0, Y0, RES = 600000.0, 5400000.0, 30.0


def grid_array(values, chunks=None, name="v"):
    ny, nx = values.shape
    x = X0 + RES * (np.arange(nx) + 0.5)
    y = Y0 - RES * (np.arange(ny) + 0.5)
    data = da.from_array(values, chunks=chunks) if chunks else values
    arr = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    return arr.rio.write_crs(CRS)


def ee_source(values):
    ny, nx = values.shape
    return NumPyRasterSource(values.astype(np.float64), X0, Y0 - ny * RES, X0 + nx * RES, Y0,
                             srs_wkt=gpd.GeoSeries([], crs=CRS).crs.to_wkt())  # fmt: skip


def cell_box(c0, r0, c1, r1):
    """A box in pixel units (column, row from the top-left corner) -> map coordinates."""
    return shapely.box(X0 + c0 * RES, Y0 - r1 * RES, X0 + c1 * RES, Y0 - r0 * RES)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(42)
    ny, nx = 60, 80
    values = 300 + 8 * rng.standard_normal((ny, nx))
    values[5:9, 10:30] = np.nan  # no data inside a zone
    classes = rng.integers(1, 5, (ny, nx)).astype(np.float64)
    weights = rng.uniform(0, 50, (ny, nx))
    ring = shapely.Polygon(
        [(X0 + 5.3 * RES, Y0 - 3.7 * RES), (X0 + 40.2 * RES, Y0 - 2.2 * RES),
         (X0 + 35.5 * RES, Y0 - 30.9 * RES), (X0 + 8.1 * RES, Y0 - 25.4 * RES)],
        holes=[[(X0 + 15 * RES, Y0 - 10 * RES), (X0 + 25.5 * RES, Y0 - 10 * RES),
                (X0 + 25.5 * RES, Y0 - 18.2 * RES), (X0 + 15 * RES, Y0 - 18.2 * RES)]],
    )  # fmt: skip
    zones = gpd.GeoDataFrame(
        {"zid": ["A", "B", "C", "D", "E", "F"]},
        geometry=[
            ring,  # with a hole
            shapely.MultiPolygon([cell_box(50.2, 5.5, 60.7, 15.1), cell_box(62.3, 40.1, 70, 50)]),
            cell_box(30.5, 20.5, 55.5, 45.5),  # overlaps A
            cell_box(70.4, 50.6, 95.0, 70.0),  # partly outside the raster
            cell_box(10.25, 40.75, 10.75, 41.25),  # smaller than one pixel
            cell_box(200, 200, 210, 210),  # wholly outside
        ],
        crs=CRS,
    )
    return values, classes, weights, zones


EXACT_STATS = ["count", "sum", "mean", "stdev", "variance", "min", "max", "median",
               "quantile(q=0.9)", "quantile(q=0.1)"]  # fmt: skip


def _ee(values, zones, stats, weights=None):
    out = exact_extract(ee_source(values), zones, stats, include_cols=["zid"],
                        weights=None if weights is None else ee_source(weights),
                        output="pandas")  # fmt: skip
    return out


@pytest.mark.parametrize("chunks", [None, (17, 23)])
def test_exact_matches_exactextract(scene, chunks):
    values, _, _, zones = scene
    got = zonal_stats(grid_array(values, chunks), zones, id="zid", stats=EXACT_STATS)
    expected = _ee(values, zones, EXACT_STATS)
    assert got["zid"].tolist() == zones["zid"].tolist()
    pairs = {"count": "count", "sum": "sum", "mean": "mean", "stdev": "stdev",
             "variance": "variance", "min": "min", "max": "max", "median": "median",
             "p90": "quantile_90", "p10": "quantile_10"}  # fmt: skip
    inside = zones["zid"] != "F"
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(got.loc[inside, ours], expected.loc[inside, theirs],
                                   rtol=1e-6, err_msg=ours)  # fmt: skip
    # Zone F covers no pixel: count 0, statistics NaN.
    f = got.set_index("zid").loc["F"]
    assert f["count"] == 0 and np.isnan(f["mean"]) and np.isnan(f["p90"])


def test_weighted_and_frac_match_exactextract(scene):
    values, classes, weights, zones = scene
    got = zonal_stats(
        grid_array(values),
        zones,
        id="zid",
        stats=["weighted_mean", "weighted_sum"],
        weights=grid_array(weights),
    )
    expected = _ee(values, zones, ["weighted_mean", "weighted_sum"], weights=weights)
    inside = zones["zid"] != "F"
    for stat in ("weighted_mean", "weighted_sum"):
        np.testing.assert_allclose(got.loc[inside, stat], expected.loc[inside, stat], rtol=1e-6)

    got = zonal_stats(grid_array(classes, (25, 30)), zones, id="zid", stats=["frac"])
    expected = _ee(classes, zones, ["unique", "frac"])
    for k in np.flatnonzero(inside.to_numpy()):
        for value, share in zip(expected["unique"][k], expected["frac"][k], strict=True):
            assert got[f"frac_{value:g}"].iloc[k] == pytest.approx(share, rel=1e-6)


def test_frac_of_whole_codes_stored_as_floats():
    # A land cover saved as float32 with NaN nodata: codes 1 and 2, by hand 3/5 and 2/5 of
    # the valid pixels of the box of 2 x 3 pixels (one of them NaN).
    values = np.array([[1, 1, 2], [1, 2, np.nan]], dtype=np.float32)
    zones = gpd.GeoDataFrame({"zid": ["A"]}, geometry=[cell_box(0, 0, 3, 2)], crs=CRS)
    got = zonal_stats(grid_array(values), zones, id="zid", stats=["frac"])
    assert list(got.columns) == ["zid", "frac_1", "frac_2"]
    assert got["frac_1"].item() == pytest.approx(3 / 5) and got["frac_2"].item() == 0.4


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (np.arange(12.0).reshape(3, 4) / 4, r"non-integer values \(e\.g\. 0\.25\)"),
        (np.arange(300.0).reshape(15, 20), r"more than 256 distinct values \(300 seen\)"),
        (np.arange(300, dtype=np.int16).reshape(15, 20), r"more than 256 distinct values"),
    ],
)
def test_frac_of_measurements_is_refused(values, said):
    ny, nx = values.shape
    zones = gpd.GeoDataFrame({"zid": ["A"]}, geometry=[cell_box(0, 0, nx, ny)], crs=CRS)
    with pytest.raises(ValueError, match=rf"frac gives the share of each class .*{said}"):
        zonal_stats(grid_array(values), zones, id="zid", stats=["mean", "frac"])


def test_frac_counts_the_classes_of_all_chunks_together():
    # 4 chunks of 150 distinct whole values each: every chunk passes, their union does not.
    values = np.arange(600.0).reshape(20, 30)
    zones = gpd.GeoDataFrame({"zid": ["A"]}, geometry=[cell_box(0, 0, 30, 20)], crs=CRS)
    with pytest.raises(ValueError, match=r"more than 256 distinct values \(300 seen\)"):
        zonal_stats(grid_array(values, (5, 30)), zones, id="zid", stats=["frac"])
    two = zonal_stats(grid_array(values[:8], (4, 30)), zones, id="zid", stats=["frac"])
    assert two.shape == (1, 241) and two["frac_239"].item() == pytest.approx(1 / 240)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    low=st.sampled_from([0.0, -3.0, 2.0**20, 70_000.0]),
    values_are=st.sampled_from(["codes", "halves", "infinite", "far apart"]),
)
def test_class_coverage_is_the_sum_by_hand(scene, seed, dtype, low, values_are):
    # Each zone's coverage of each distinct value: every wholly covered pixel counts 1, then
    # every partly covered one its fraction, in the coverage's order (a loop in Python over
    # the runs, then the triples), equal bit for bit; codes counted in place and other
    # values (halves, infinities, codes more than 2**16 apart) sorted must agree with it.
    from raster.zonal.coverage import zone_coverage
    from raster.zonal.partials import Needs
    from raster.zonal.zones import prepare_zones

    _, _, _, zones = scene
    rng = np.random.default_rng(seed)
    values = low + rng.integers(0, 6, (60, 80)).astype(np.float64)
    values[rng.random(values.shape) < 0.1] = np.nan
    odd = rng.random(values.shape) < 0.05
    if values_are == "halves":
        values[odd] += 0.5
    elif values_are == "infinite":
        values[odd] = np.inf
    elif values_are == "far apart":
        values[odd] += 2.0**16
    values = values.astype(dtype)
    cov = zone_coverage(prepare_zones(zones, id="zid", crs=CRS), grid_array(values).odc.geobox)
    window = cov.window(slice(None), slice(None))
    try:
        got = chunk_partials(values, window, 6, Needs(classes=True)).classes
    except ValueError as err:  # halves: refused as measurements
        assert values_are == "halves" and "non-integer values" in str(err)
        return
    expected: dict[float, np.ndarray] = {}
    runs = (window.run_row, window.run_c0, window.run_c1, window.run_zone)
    for row, c0, c1, zone in zip(*runs, strict=True):
        for col in range(c0, c1):
            v = float(values[row, col])
            if v == v:
                expected.setdefault(v, np.zeros(6))[zone] += 1.0
    triples = (window.rows, window.cols, window.zones, window.fractions)
    for row, col, zone, fraction in zip(*triples, strict=True):
        v = float(values[row, col])
        if v == v and fraction > 0:
            expected.setdefault(v, np.zeros(6))[zone] += fraction
    assert sorted(got) == sorted(expected)
    for value, sums in expected.items():
        np.testing.assert_array_equal(got[value], sums)


def test_frac_of_many_class_pixels_is_the_count_by_hand():
    # A 300 x 400 land cover of codes 1..7 with NaN gaps and two zones splitting it at a
    # pixel edge: each zone's class shares are its pixels' class counts over its valid ones.
    rng = np.random.default_rng(7)
    values = rng.integers(1, 8, (300, 400)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    zones = gpd.GeoDataFrame(
        {"zid": ["W", "E"]}, geometry=[cell_box(0, 0, 150, 300), cell_box(150, 0, 400, 300)],
        crs=CRS,
    )  # fmt: skip
    got = zonal_stats(grid_array(values, (128, 128)), zones, id="zid", stats=["frac"])
    for row, block in zip(got.itertuples(), (values[:, :150], values[:, 150:]), strict=True):
        valid = block[np.isfinite(block)]
        for code in range(1, 8):
            share = np.count_nonzero(valid == code) / valid.size
            assert getattr(row, f"frac_{code}") == pytest.approx(share, rel=1e-12)


def test_exactextract_documentation_example():
    # science.md §9.6: values 1..4, coverage 0.5, 0, 1, 0.25, weights 5..8.
    cov = ZoneCoverage(
        shape=(1, 4), transform=(RES, 0, X0, 0, -RES, Y0), crs_wkt="", ids=pd.Index(["z"]),
        labels=np.full((1, 4), -1, dtype=np.int32), rows=np.zeros(4, np.int32),
        cols=np.arange(4, dtype=np.int32), zones=np.zeros(4, np.int32),
        fractions=np.array([0.5, 0.0, 1.0, 0.25]), method="exact",
    )  # fmt: skip
    stats = parse_statistics("mean,weighted_mean,sum,count,variance,stdev")
    from raster.zonal.partials import Needs

    part = chunk_partials(np.array([[1.0, 2, 3, 4]]), cov.window(slice(None), slice(None)), 1,
                          Needs.of(stats), weights=np.array([[5.0, 6, 7, 8]]))  # fmt: skip
    out = finalise(part, stats, cov.covered(), cov.cell_area)
    assert out["mean"][0] == pytest.approx(2.5714285714, rel=1e-9)
    assert out["weighted_mean"][0] == pytest.approx(2.7391304348, rel=1e-9)
    assert out["sum"][0] == pytest.approx(4.5, rel=1e-12)
    assert out["count"][0] == pytest.approx(1.75, rel=1e-12)
    assert out["variance"][0] == pytest.approx(1.1020408163, rel=1e-9)
    assert out["stdev"][0] == pytest.approx(1.0497813183, rel=1e-9)


def _whole_zone_quantiles(row, stats):
    cov = ZoneCoverage(
        shape=(1, row.size), transform=(RES, 0, X0, 0, -RES, Y0), crs_wkt="",
        ids=pd.Index([1]), labels=np.zeros((1, row.size), np.int32),
        rows=np.empty(0, np.int32), cols=np.empty(0, np.int32), zones=np.empty(0, np.int32),
        fractions=np.empty(0), method="exact",
    )  # fmt: skip
    from raster.zonal.partials import Needs

    parsed = parse_statistics(stats)
    part = chunk_partials(row[None, :], cov.window(slice(None), slice(None)), 1, Needs.of(parsed))
    return finalise(part, parsed, cov.covered(), cov.cell_area)


def test_equal_weight_quantiles_of_distinct_values_are_numpy_linear():
    values = np.array([3.0, 1, 4, 7, 5, 9, 2, 6])
    out = _whole_zone_quantiles(values, "p25,median,p90")
    expected = np.quantile(values, [0.25, 0.5, 0.9])  # Hyndman-Fan type 7
    np.testing.assert_allclose([out["p25"][0], out["median"][0], out["p90"][0]], expected)


def test_tied_values_are_merged_as_exactextract_does():
    # science.md §9.6 Z-7 input. exactextract merges equal values into one sample with the
    # summed weight before interpolating, so with the tie (two 1s) it is NOT numpy's 1.75 /
    # 3.5 / 6.9 (the sheet's vector assumes no merge; exactextract 0.3 gives the values
    # below). By hand: distinct 1 (w 2), 2, 3, 4, 5, 6, 9; n = 7, W = 8;
    # s = 0, 13, 20, 27, 34, 41, 48; q·W·(n-1) = 12, 24, 43.2 ->
    # 1 + 12/13, 3 + 4/7, 6 + 3·2.2/7.
    out = _whole_zone_quantiles(np.array([3.0, 1, 4, 1, 5, 9, 2, 6]), "p25,median,p90")
    assert out["p25"][0] == pytest.approx(1 + 12 / 13, rel=1e-12)
    assert out["median"][0] == pytest.approx(3 + 4 / 7, rel=1e-12)
    assert out["p90"][0] == pytest.approx(6 + 3 * 2.2 / 7, rel=1e-12)
    ee = exact_extract(
        ee_source(np.array([[3.0, 1, 4, 1, 5, 9, 2, 6]])),
        gpd.GeoDataFrame({"zid": [1]}, geometry=[cell_box(0, 0, 8, 1)], crs=CRS),
        ["quantile(q=0.25)", "median", "quantile(q=0.9)"],
        output="pandas",
    )
    assert ee["quantile_25"][0] == pytest.approx(out["p25"][0], rel=1e-9)
    assert ee["median"][0] == pytest.approx(out["median"][0], rel=1e-9)
    assert ee["quantile_90"][0] == pytest.approx(out["p90"][0], rel=1e-9)


def test_centre_method_matches_rasterstats(scene):
    from rasterstats import zonal_stats as rs_zonal_stats

    values, _, _, zones = scene
    affine = (RES, 0.0, X0, 0.0, -RES, Y0)
    from affine import Affine

    for all_touched in (False, True):
        got = zonal_stats(
            grid_array(values),
            zones,
            id="zid",
            method="centre",
            all_touched=all_touched,
            stats=["mean", "count", "min", "max", "sum"],
        )
        expected = rs_zonal_stats(zones, np.where(np.isnan(values), -9999, values),
                                  affine=Affine(*affine), nodata=-9999, all_touched=all_touched,
                                  stats=["mean", "count", "min", "max", "sum"])  # fmt: skip
        for k, row in enumerate(expected):
            if row["count"] == 0:
                assert got["count"].iloc[k] == 0
                continue
            for stat in ("mean", "count", "min", "max", "sum"):
                assert got[stat].iloc[k] == pytest.approx(row[stat], rel=1e-9), (k, stat)


def test_valid_frac_and_area(scene):
    values, _, _, zones = scene
    got = zonal_stats(grid_array(values), zones, id="zid", stats=["valid_frac", "area_m2"])
    # Zone C lies wholly on the raster: its covered area is its geometric area.
    c = got.set_index("zid").loc["C"]
    assert c["area_m2"] == pytest.approx(zones.geometry[2].area, rel=1e-9)
    # Zone A contains the NaN block: fewer valid than covered pixels.
    a = got.set_index("zid").loc["A"]
    assert 0.5 < a["valid_frac"] < 1.0
    assert got.set_index("zid").loc["C", "valid_frac"] == pytest.approx(1.0)
    assert np.isnan(got.set_index("zid").loc["F", "valid_frac"])


def test_area_in_degrees_is_refused(scene):
    # On a raster in degrees, the covered area came out in square degrees (0.000034 for a
    # 30 ha IRIS), named area_m2.
    values, _, _, zones = scene
    geographic = grid_array(values).rio.reproject("EPSG:4326")
    with pytest.raises(CRSError, match=r"area_m2 needs a projected raster: this one is in "
                       r"degrees \(EPSG:4326\); reproject it first"):  # fmt: skip
        zonal_stats(geographic, zones.to_crs(4326), id="zid", stats=["mean", "area_m2"])
    means = zonal_stats(geographic, zones.to_crs(4326), id="zid", stats=["mean"])["mean"]
    assert means.notna().any()  # other statistics are fine in degrees


def test_a_coverage_is_used_with_its_own_zones_only(scene):
    # The table takes its ids from the coverage: other zones or another id column labelled
    # its rows wrongly; zones in another CRS than the grid gave all-NaN statistics.
    from raster.zonal import prepare_zones, zone_coverage

    values, _, _, zones = scene
    grid = grid_array(values)
    coverage = zone_coverage(prepare_zones(zones, id="zid", crs=CRS), grid.odc.geobox)
    want = zonal_stats(grid, zones, id="zid", stats=["mean"])
    pd.testing.assert_frame_equal(
        zonal_stats(grid, zones, id="zid", stats=["mean"], coverage=coverage), want
    )
    with pytest.raises(ZonesError, match="the coverage was computed for other zones"):
        zonal_stats(grid, zones.iloc[:3], id="zid", stats=["mean"], coverage=coverage)
    renamed = zones.assign(name=[f"zone {k}" for k in range(len(zones))])
    with pytest.raises(ZonesError, match=r"other zones than these \(by 'name'\)"):
        zonal_stats(grid, renamed, id="name", stats=["mean"], coverage=coverage)
    with pytest.raises(CRSError, match=r"the zones are in EPSG:2154, the grid in EPSG:32631"):
        zone_coverage(prepare_zones(zones.to_crs(2154), id="zid", crs=2154), grid.odc.geobox)


def test_multiband_and_dataset_column_names(scene):
    values, classes, _, zones = scene
    stack = xr.concat([grid_array(values), grid_array(classes)], dim="band")
    got = zonal_stats(stack, zones, id="zid", stats=["mean"])
    assert list(got.columns) == ["zid", "b1_mean", "b2_mean"]
    ds = xr.Dataset({"lst": grid_array(values), "lc": grid_array(classes)})
    got_ds = zonal_stats(ds, zones, id="zid", stats="mean,std")
    assert list(got_ds.columns) == ["zid", "lst_mean", "lst_stdev", "lc_mean", "lc_stdev"]
    np.testing.assert_allclose(got_ds["lst_mean"], got["b1_mean"], rtol=1e-12)


def test_building_the_graph_reads_no_pixels(scene):
    values, _, _, zones = scene
    lazy = grid_array(values, (20, 20))
    with raise_if_dask_computes():
        task = zonal_stats(lazy, zones, id="zid", stats=["mean", "p90"], compute=False)
    table = task.compute()
    assert table.shape == (6, 3)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE_OK)
@given(cy=st.integers(1, 60), cx=st.integers(1, 80))
def test_any_chunking_gives_the_same_result(scene, cy, cx):
    values, _, _, zones = scene
    stats = ["count", "sum", "mean", "stdev", "min", "max", "p90", "median"]
    whole = zonal_stats(grid_array(values), zones, id="zid", stats=stats)
    chunked = zonal_stats(grid_array(values, (cy, cx)), zones, id="zid", stats=stats)
    # Sums in another order round differently: equal to float64 rounding (stdev comes from
    # Σx² / Σc − mean², which amplifies it by mean² / variance).
    pd.testing.assert_frame_equal(whole, chunked, rtol=1e-10, atol=0)


@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(split=st.integers(1, 59))
def test_tiles_merge_to_the_whole(scene, split):
    from raster.zonal.coverage import zone_coverage
    from raster.zonal.partials import Needs
    from raster.zonal.zones import prepare_zones

    values, _, _, zones = scene
    gbox = grid_array(values).odc.geobox
    cov = zone_coverage(prepare_zones(zones, id="zid", crs=CRS), gbox)
    stats = parse_statistics("count,mean,stdev,min,max,p90")
    needs = Needs.of(stats)
    top = chunk_partials(values[:split], cov.window(slice(0, split), slice(None)), 6, needs)
    bottom = chunk_partials(values[split:], cov.window(slice(split, None), slice(None)), 6, needs)
    whole = chunk_partials(values, cov.window(slice(None), slice(None)), 6, needs)
    a = finalise(merge(top, bottom), stats, cov.covered(), cov.cell_area)
    b = finalise(whole, stats, cov.covered(), cov.cell_area)
    for column in a:
        np.testing.assert_allclose(a[column], b[column], rtol=1e-10, equal_nan=True)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_coverage_of_a_partition_sums_to_one(seed):
    from raster.zonal.coverage import zone_coverage
    from raster.zonal.zones import prepare_zones

    rng = np.random.default_rng(seed)
    ny, nx = 23, 31
    frame = cell_box(0, 0, nx, ny)
    points = shapely.points(rng.uniform(X0, X0 + nx * RES, 7), rng.uniform(Y0 - ny * RES, Y0, 7))
    voronoi = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame)
    cells = shapely.get_parts(voronoi)
    parts = gpd.GeoDataFrame({"zid": range(len(cells))},
                             geometry=shapely.intersection(cells, frame), crs=CRS)  # fmt: skip
    gbox = grid_array(np.zeros((ny, nx))).odc.geobox
    cov = zone_coverage(prepare_zones(parts, id="zid", crs=CRS), gbox)
    total = np.zeros(ny * nx)
    flat = cov.labels.ravel()
    total[flat != no_zone(flat.dtype)] += 1.0
    np.add.at(total, cov.rows.astype(np.int64) * nx + cov.cols, cov.fractions)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


def test_bad_inputs(scene):
    values, _, _, zones = scene
    arr = grid_array(values)
    with pytest.raises(CRSError, match="zones"):
        zonal_stats(arr, zones.set_crs(None, allow_override=True), id="zid")
    no_crs = xr.DataArray(values, dims=("y", "x"))
    with pytest.raises(CRSError, match="raster has no CRS"):
        zonal_stats(no_crs, zones, id="zid")
    with pytest.raises(ValueError, match="unknown statistic"):
        zonal_stats(arr, zones, id="zid", stats=["mean", "average_ish"])
    with pytest.raises(ValueError, match="weight raster"):
        zonal_stats(arr, zones, id="zid", stats=["weighted_mean"])
    with pytest.raises(GridError, match="grid"):
        zonal_stats(arr, zones, id="zid", stats=["weighted_mean"],
                    weights=grid_array(values[:10]))  # fmt: skip
    all_nan = zonal_stats(grid_array(np.full_like(values, np.nan)), zones, id="zid",
                          stats=["mean", "count", "p90"])  # fmt: skip
    assert (all_nan["count"] == 0).all() and all_nan["mean"].isna().all()


def test_empty_and_collection_geometries_keep_their_rows(scene):
    values = scene[0]
    odd = gpd.GeoDataFrame(
        {"zid": ["empty", "collection", "ok"]},
        geometry=[shapely.Polygon(), shapely.GeometryCollection([cell_box(1, 1, 5, 5),
                  shapely.LineString([(X0, Y0), (X0 + 90, Y0 - 90)])]), cell_box(1, 1, 5, 5)],
        crs=CRS,
    )  # fmt: skip
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = zonal_stats(grid_array(values), odd, id="zid", stats=["mean", "count"])
    assert got["zid"].tolist() == ["empty", "collection", "ok"]
    assert got["count"].iloc[0] == 0
    assert got["mean"].iloc[1] == pytest.approx(got["mean"].iloc[2], rel=1e-12)
    assert got["count"].iloc[1] == pytest.approx(16.0)


@pytest.mark.parametrize("scheduler", ["threads", "processes", "distributed"])
def test_schedulers_agree(scene, scheduler):
    import dask

    values, _, _, zones = scene
    stats = ["count", "mean", "stdev", "min", "max", "p90"]
    reference = zonal_stats(grid_array(values), zones, id="zid", stats=stats)
    lazy = grid_array(values, (20, 30))
    if scheduler == "distributed":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
            got = zonal_stats(lazy, zones, id="zid", stats=stats)
    else:
        with dask.config.set(scheduler=scheduler):
            got = zonal_stats(lazy, zones, id="zid", stats=stats)
    pd.testing.assert_frame_equal(reference, got, rtol=1e-10, atol=0)


def test_coverage_cache_is_reused_and_keyed(scene, tmp_path, monkeypatch):
    from raster.zonal import coverage as coverage_module

    values, _, _, zones = scene
    first = zonal_stats(grid_array(values), zones, id="zid", stats=["mean"], cache_dir=tmp_path)
    cached = sorted(tmp_path.glob("coverage-*.npz"))
    assert len(cached) == 1

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached coverage should have been read")

    monkeypatch.setattr(coverage_module, "_exact", no_rebuild)
    again = zonal_stats(grid_array(values), zones, id="zid", stats=["mean"], cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)
    monkeypatch.undo()
    moved = zones.copy()
    moved["geometry"] = moved.translate(30.0, 0.0)
    zonal_stats(grid_array(values), moved, id="zid", stats=["mean"], cache_dir=tmp_path)
    assert len(sorted(tmp_path.glob("coverage-*.npz"))) == 2, "other zones, other cache entry"


def test_gdal_block_cache_is_capped_while_reading_unless_the_user_set_it(scene, monkeypatch):
    """Every block is read once: zonal_stats caps GDAL's block cache while it computes from
    Dask layers, restores it after, and leaves a user's GDAL_CACHEMAX alone."""
    import rasterio
    from rasterio.env import get_gdal_config

    from raster.zonal.api import READ_CACHE_MIB

    values, _, _, zones = scene
    seen = []

    def probe(block):
        seen.append(get_gdal_config("GDAL_CACHEMAX"))
        return block

    def lazy():
        return grid_array(values, chunks=(30, 40)).copy(
            data=da.from_array(values, chunks=(30, 40)).map_blocks(
                probe, meta=np.array((), dtype=values.dtype)
            )
        )

    before = get_gdal_config("GDAL_CACHEMAX")
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    table = zonal_stats(lazy(), zones, id="zid", stats=["mean"])
    assert seen and set(seen) == {READ_CACHE_MIB}
    assert get_gdal_config("GDAL_CACHEMAX") == before
    np.testing.assert_allclose(
        table["mean"], zonal_stats(grid_array(values), zones, id="zid", stats=["mean"])["mean"]
    )
    seen.clear()
    with rasterio.Env(GDAL_CACHEMAX=100):
        zonal_stats(lazy(), zones, id="zid", stats=["mean"])
    assert seen and set(seen) == {100}
    seen.clear()
    monkeypatch.setenv("GDAL_CACHEMAX", "200")
    zonal_stats(lazy(), zones, id="zid", stats=["mean"])
    assert seen and READ_CACHE_MIB not in seen
