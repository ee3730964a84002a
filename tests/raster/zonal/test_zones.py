"""Tests for raster.zonal.zones.prepare_zones: errors, repair, reprojection, real IRIS/QPV.

Expected areas come from hand computation (triangles, rectangles, holes) or from pyproj
(geodesic area x the projection's areal scale factor, corners transformed by a Transformer),
never from prepare_zones itself.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from raster.zonal.zones import PreparedZones, prepare_zones
from tiles import CRSError, IlotsError, IlotsWarning, ZonesError

L93 = "EPSG:2154"
UTM31 = "EPSG:32631"

# A 1 km square in Lambert-93 near Paris (Châtelet is about x=652000, y=6862000).
X0, Y0, SIDE = 652_000.0, 6_862_000.0, 1_000.0


def zones_of(geoms, ids=None, crs=L93, column="code"):
    ids = [f"Z{i:03d}" for i in range(len(geoms))] if ids is None else ids
    return gpd.GeoDataFrame({column: ids}, geometry=list(geoms), crs=crs)


def prepare_quiet(zones, **kwargs):
    """Call prepare_zones and return (result, list of IlotsWarning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = prepare_zones(zones, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, IlotsWarning)]
    return result, messages


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    assert text
    return text


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (pd.DataFrame({"code": ["a"]}), "read_file"),
        (gpd.GeoSeries([box(0, 0, 1, 1)], crs=L93), "gpd.GeoDataFrame"),
        ([box(0, 0, 1, 1)], "read_file"),
    ],
)
def test_not_a_geodataframe_is_a_type_error(value, hint):
    with pytest.raises(TypeError, match=r"must be a geopandas\.GeoDataFrame") as err:
        prepare_zones(value, id="code", crs=UTM31)
    assert hint in one_line(err)
    assert type(value).__name__ in str(err.value)


def test_zones_without_crs():
    zones = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError) as err:
        prepare_zones(zones, id="code", crs=UTM31)
    text = one_line(err)
    assert text.startswith("zones have no CRS; set it (ogr2ogr -a_srs")
    assert isinstance(err.value, IlotsError)


def test_raster_crs_none():
    with pytest.raises(CRSError, match="raster CRS is None") as err:
        prepare_zones(zones_of([box(0, 0, 1, 1)]), id="code", crs=None)
    one_line(err)


@pytest.mark.parametrize("bad", ["EPSG:999999", "not a crs", object()])
def test_raster_crs_unreadable(bad):
    with pytest.raises(CRSError, match="cannot read the raster CRS") as err:
        prepare_zones(zones_of([box(0, 0, 1, 1)]), id="code", crs=bad)
    one_line(err)


def test_missing_id_column_lists_columns_found():
    zones = zones_of([box(0, 0, 1, 1)], column="CODE_IRIS")
    zones["NOM_IRIS"] = ["x"]
    with pytest.raises(ZonesError) as err:
        prepare_zones(zones, id="code_qp", crs=L93)
    text = one_line(err)
    assert "'code_qp' not found" in text
    assert "'CODE_IRIS'" in text and "'NOM_IRIS'" in text and "'geometry'" in text
    assert "did you mean" not in text
    assert isinstance(err.value, IlotsError)


def test_missing_id_column_suggests_case_insensitive_match():
    zones = zones_of([box(0, 0, 1, 1)], column="CODE_IRIS")
    with pytest.raises(ZonesError, match="did you mean 'CODE_IRIS'") as err:
        prepare_zones(zones, id="code_iris", crs=L93)
    one_line(err)


def test_duplicate_ids_give_count_and_five_examples():
    ids = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "f", "f", "g", "g", "unique"]
    zones = zones_of([box(i, 0, i + 1, 1) for i in range(len(ids))], ids=ids)
    with pytest.raises(ZonesError) as err:
        prepare_zones(zones, id="code", crs=L93)
    text = one_line(err)
    assert text.startswith("7 ids in column 'code' are not unique (14 rows)")
    quoted = re.findall(r"'([a-z]+)'", text)
    assert [q for q in quoted if len(q) == 1] == ["a", "b", "c", "d", "e"]
    assert "'f'" not in text and "'unique'" not in text


def test_duplicate_integer_ids_are_shown_plainly():
    zones = zones_of([box(0, 0, 1, 1), box(1, 0, 2, 1)], ids=[75056, 75056])
    with pytest.raises(ZonesError, match=r"1 ids .* e\.g\. 75056;") as err:
        prepare_zones(zones, id="code", crs=L93)
    assert "np.int64" not in one_line(err)


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_null_ids(missing):
    zones = zones_of([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], ids=["a", missing, "c"])
    with pytest.raises(
        ZonesError, match=r"1 zones have no value in id column 'code' \(rows \[1\]\)"
    ):
        prepare_zones(zones, id="code", crs=L93)


def test_id_must_not_be_the_geometry_column():
    with pytest.raises(ZonesError, match="is the geometry column") as err:
        prepare_zones(zones_of([box(0, 0, 1, 1)]), id="geometry", crs=L93)
    one_line(err)


def test_no_active_geometry_column():
    frame = gpd.GeoDataFrame({"code": ["a"], "geom": gpd.GeoSeries([box(0, 0, 1, 1)], crs=L93)})
    with pytest.raises(ZonesError, match=r"set_geometry") as err:
        prepare_zones(frame, id="code", crs=L93)
    one_line(err)


def test_zones_outside_the_raster_projection_are_a_crs_error():
    zones = zones_of([box(2, 45, 3, 46), box(-179, 0, -178, 1)], ids=["here", "antipode"], crs=4326)
    with pytest.raises(CRSError, match=r"1 zones cannot be reprojected .* 'antipode'") as err:
        prepare_zones(zones, id="code", crs="+proj=ortho +lat_0=45 +lon_0=2 +ellps=WGS84")
    one_line(err)


# --------------------------------------------------------------------------------------------
# reprojection


def _utm_area_oracle(corners_l93):
    """Geodesic area (GRS80) of the corners x UTM 31N areal scale at the centre (pyproj)."""
    to_lonlat = pyproj.Transformer.from_crs(L93, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(*zip(*corners_l93, strict=True))
    geodesic, _ = pyproj.Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)
    cx, cy = np.mean(corners_l93, axis=0)
    clon, clat = to_lonlat.transform(cx, cy)
    scale = pyproj.Proj(UTM31).get_factors(clon, clat).areal_scale
    return abs(geodesic) * scale


def _shoelace(xs, ys):
    x, y = np.asarray(xs) - xs[0], np.asarray(ys) - ys[0]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_square_lambert93_to_utm31_area(caplog):
    corners = [(X0, Y0), (X0 + SIDE, Y0), (X0 + SIDE, Y0 + SIDE), (X0, Y0 + SIDE)]
    zones = zones_of([Polygon(corners)])
    with caplog.at_level(logging.INFO, logger="raster.zonal.zones"):
        prepared, messages = prepare_quiet(zones, id="code", crs=UTM31)
    assert messages == []
    assert prepared.crs == pyproj.CRS(UTM31)
    assert prepared.source_crs == pyproj.CRS(L93)
    assert prepared.repaired == 0
    area = shapely.area(prepared.geometry[0])
    # The UTM area is not the Lambert-93 area (different scale factors): ~0.07 % smaller here.
    assert abs(area - SIDE**2) / SIDE**2 > 1e-4
    assert area == pytest.approx(_utm_area_oracle(corners), rel=1e-6)
    # The vertices themselves: corners through a pyproj Transformer, shoelace by hand.
    xs, ys = pyproj.Transformer.from_crs(L93, UTM31, always_xy=True).transform(
        *zip(*corners, strict=True)
    )
    assert area == pytest.approx(_shoelace(xs, ys), rel=1e-9)
    assert any(
        "reprojecting 1 zones from EPSG:2154 to EPSG:32631" in r.getMessage()
        for r in caplog.records
    )


def test_same_crs_is_not_reprojected(caplog):
    square = box(X0, Y0, X0 + SIDE, Y0 + SIDE)
    with caplog.at_level(logging.INFO, logger="raster.zonal.zones"):
        prepared = prepare_zones(zones_of([square]), id="code", crs=2154)
    assert not caplog.records
    assert shapely.equals_exact(prepared.geometry[0], square, tolerance=0.0)


@pytest.mark.parametrize("module", ["odc.geo", "rasterio.crs"])
def test_raster_crs_objects_from_other_libraries(module):
    mod = pytest.importorskip(module)
    crs = mod.CRS("EPSG:32631") if module == "odc.geo" else mod.CRS.from_epsg(32631)
    corners = [(X0, Y0), (X0 + SIDE, Y0), (X0 + SIDE, Y0 + SIDE), (X0, Y0 + SIDE)]
    prepared = prepare_zones(zones_of([Polygon(corners)]), id="code", crs=crs)
    assert prepared.crs.to_epsg() == 32631
    assert shapely.area(prepared.geometry[0]) == pytest.approx(_utm_area_oracle(corners), rel=1e-6)


# --------------------------------------------------------------------------------------------
# repair, polygonal parts, empties


def test_bow_tie_becomes_two_triangles():
    # (0,0)-(2,2)-(2,0)-(0,2): two triangles meeting at (1,1), base 2, height 1 -> 1 + 1.
    bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bow_tie.is_valid
    zones = zones_of([bow_tie, box(10, 10, 11, 11)])
    with pytest.warns(
        IlotsWarning, match=r"^1 invalid zone geometries were repaired .*'Z000'"
    ) as said:
        prepared = prepare_zones(zones, id="code", crs=L93)
    assert [w.message.code for w in said] == ["zone_geometry_repaired"]  # the report's kind
    assert prepared.repaired == 1
    assert shapely.is_valid(prepared.geometry).all()
    assert prepared.geometry[0].geom_type == "MultiPolygon"
    assert len(prepared.geometry[0].geoms) == 2
    assert shapely.area(prepared.geometry).tolist() == pytest.approx([2.0, 1.0], rel=1e-12)


def test_repair_warns_once_with_the_total():
    bow_ties = [Polygon([(i, 0), (i + 2, 2), (i + 2, 0), (i, 2)]) for i in range(0, 30, 3)]
    prepared, messages = prepare_quiet(zones_of(bow_ties), id="code", crs=L93)
    assert prepared.repaired == 10
    assert len(messages) == 1
    assert messages[0].startswith("10 invalid zone geometries were repaired")
    assert "'Z000', 'Z001', 'Z002', 'Z003', 'Z004', ..." in messages[0]


def test_self_overlapping_multipolygon_counts_the_overlap_once():
    # Two 2x2 squares overlapping on a 1x1 square: union = 4 + 4 - 1 = 7.
    overlapping = MultiPolygon([box(0, 0, 2, 2), box(1, 1, 3, 3)])
    assert not overlapping.is_valid
    prepared, messages = prepare_quiet(zones_of([overlapping]), id="code", crs=L93)
    assert prepared.repaired == 1
    assert len(messages) == 1 and messages[0].startswith("1 invalid zone geometries")
    assert shapely.area(prepared.geometry[0]) == pytest.approx(7.0, rel=1e-12)


def test_spike_is_dropped():
    # A 1x1 square with a zero-width spike out to (3, 0.5): area stays 1.
    spiky = Polygon([(0, 0), (1, 0), (1, 0.5), (3, 0.5), (1, 0.5), (1, 1), (0, 1)])
    assert not spiky.is_valid
    prepared, _ = prepare_quiet(zones_of([spiky]), id="code", crs=L93)
    assert prepared.geometry[0].geom_type == "Polygon"
    assert shapely.area(prepared.geometry[0]) == pytest.approx(1.0, rel=1e-12)


def test_geometry_collection_keeps_polygonal_parts():
    collection = GeometryCollection(
        [box(0, 0, 1, 1), LineString([(5, 5), (9, 9)]), Point(3, 3), box(5, 5, 7, 6)]
    )
    nested = GeometryCollection(
        [GeometryCollection([box(0, 0, 1, 1), MultiPolygon([box(2, 0, 3, 2)])]), Point(0, 0)]
    )
    single = GeometryCollection([box(0, 0, 4, 1), LineString([(0, 0), (1, 1)])])
    prepared, messages = prepare_quiet(zones_of([collection, nested, single]), id="code", crs=L93)
    assert messages == []
    assert prepared.repaired == 0
    assert shapely.area(prepared.geometry).tolist() == pytest.approx([1 + 2, 1 + 2, 4])
    assert [g.geom_type for g in prepared.geometry] == ["MultiPolygon", "MultiPolygon", "Polygon"]


def test_geometry_collection_with_overlapping_polygons_is_repaired():
    collection = GeometryCollection([box(0, 0, 2, 2), box(1, 1, 3, 3)])
    assert collection.is_valid  # GEOS accepts overlapping members of a collection
    prepared, messages = prepare_quiet(zones_of([collection]), id="code", crs=L93)
    assert prepared.repaired == 1
    assert len(messages) == 1 and messages[0].startswith("1 invalid zone geometries")
    assert shapely.area(prepared.geometry[0]) == pytest.approx(7.0, rel=1e-12)
    assert shapely.is_valid(prepared.geometry[0])


def test_zone_without_polygonal_part_becomes_empty():
    geoms = [
        box(0, 0, 1, 1),
        LineString([(0, 0), (1, 1)]),
        GeometryCollection([Point(0, 0), LineString([(0, 0), (2, 0)])]),
        Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]),  # collapsed: a line drawn as a polygon
    ]
    prepared, messages = prepare_quiet(zones_of(geoms), id="code", crs=UTM31)
    assert shapely.is_empty(prepared.geometry).tolist() == [False, True, True, True]
    assert all(g.geom_type == "Polygon" for g in prepared.geometry)
    no_polygon = [m for m in messages if "no polygonal part" in m]
    assert len(no_polygon) == 1
    assert no_polygon[0].startswith("3 zones have no polygonal part")
    assert "'Z001', 'Z002', 'Z003'" in no_polygon[0]
    assert prepared.repaired == 1  # the collapsed polygon was invalid


def test_empty_and_missing_geometries_are_kept_empty():
    geoms = [box(0, 0, 1, 1), None, Polygon(), GeometryCollection(), MultiPolygon()]
    zones = zones_of(geoms)
    prepared, messages = prepare_quiet(zones, id="code", crs=UTM31)
    assert len(prepared) == 5
    assert list(prepared.ids) == ["Z000", "Z001", "Z002", "Z003", "Z004"]
    assert shapely.is_empty(prepared.geometry).tolist() == [False, True, True, True, True]
    assert not shapely.is_missing(prepared.geometry).any()
    assert all(g.geom_type == "Polygon" for g in prepared.geometry)
    assert messages == [
        "4 zones have a missing or empty geometry, e.g. ids 'Z001', 'Z002', 'Z003', 'Z004'; "
        "they are kept and get NaN statistics"
    ]
    assert prepared.repaired == 0


def test_multipolygon_with_hole():
    # 10x10 shell with a 2x3 hole, plus a separate 1x1 part: 100 - 6 + 1 = 95.
    shell = [(0, 0), (10, 0), (10, 10), (0, 10)]
    hole = [(2, 2), (4, 2), (4, 5), (2, 5)]
    geom = MultiPolygon([Polygon(shell, [hole]), box(20, 20, 21, 21)])
    prepared, messages = prepare_quiet(zones_of([geom]), id="code", crs=L93)
    assert messages == []
    assert shapely.area(prepared.geometry[0]) == pytest.approx(95.0, rel=1e-12)
    assert len(prepared.geometry[0].geoms[0].interiors) == 1


def test_repair_after_reprojection_is_counted(monkeypatch):
    bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    real_to_crs = gpd.GeoSeries.to_crs

    def to_crs_making_a_bow_tie(self, *args, **kwargs):
        projected = real_to_crs(self, *args, **kwargs)
        geoms = projected.array.copy()
        geoms[1] = bow_tie
        return gpd.GeoSeries(geoms, index=projected.index, crs=projected.crs)

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", to_crs_making_a_bow_tie)
    spiky = Polygon([(0, 0), (1, 0), (1, 0.5), (3, 0.5), (1, 0.5), (1, 1), (0, 1)])
    zones = zones_of([spiky, box(X0, Y0, X0 + 1, Y0 + 1)])
    prepared, messages = prepare_quiet(zones, id="code", crs=UTM31)
    assert prepared.repaired == 2
    assert messages == [
        "2 invalid zone geometries were repaired with shapely.make_valid (1 in EPSG:2154, "
        "1 after reprojection to EPSG:32631), e.g. ids 'Z000', 'Z001'; their areas may "
        "differ slightly from the published ones"
    ]
    assert shapely.area(prepared.geometry[1]) == pytest.approx(2.0)


def test_unrepairable_geometry_is_an_error(monkeypatch):
    monkeypatch.setattr(shapely, "make_valid", lambda geoms, **kwargs: geoms)
    zones = zones_of([Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])], ids=["bad"])
    with pytest.raises(ZonesError, match=r"stay invalid .* 'bad'") as err:
        prepare_zones(zones, id="code", crs=L93)
    one_line(err)


# --------------------------------------------------------------------------------------------
# the caller's data, ids, the result type


def test_input_is_not_mutated():
    geoms = [
        Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]),
        None,
        GeometryCollection([box(X0, Y0, X0 + 1, Y0 + 1), Point(X0, Y0)]),
        LineString([(X0, Y0), (X0 + 5, Y0)]),
    ]
    zones = zones_of(geoms)
    zones.index = [30, 10, 20, 0]
    zones["other"] = [1.5, 2.5, 3.5, 4.5]
    before = zones.copy(deep=True)
    objects = list(zones.geometry.array)
    prepared, _ = prepare_quiet(zones, id="code", crs=UTM31)
    assert_geodataframe_equal(zones, before)
    assert zones.crs == pyproj.CRS(L93)
    assert all(a is b for a, b in zip(zones.geometry.array, objects, strict=True))
    assert not shapely.is_valid(zones.geometry.iloc[0])
    assert zones.geometry.iloc[1] is None
    # and the result does not share the caller's id storage
    zones.loc[30, "code"] = "changed"
    assert prepared.ids[0] == "Z000"


def test_string_ids_keep_dtype_and_order():
    codes = ["751010102", "2A0040000", "010010000", "751010101"]  # not sorted, leading zero
    zones = zones_of([box(i, 0, i + 1, 1) for i in range(4)], ids=codes, column="CODE_IRIS")
    zones.index = [7, 3, 9, 1]
    prepared = prepare_zones(zones, id="CODE_IRIS", crs=L93)
    assert list(prepared.ids) == codes
    assert prepared.ids.dtype == zones["CODE_IRIS"].dtype
    assert prepared.ids.name == "CODE_IRIS"
    assert [shapely.get_x(shapely.centroid(g)) for g in prepared.geometry] == [0.5, 1.5, 2.5, 3.5]


@pytest.mark.parametrize(
    "values",
    [
        np.array([30, 10, 20], dtype="int64"),
        np.array([3, 1, 2], dtype="int32"),
        pd.array(["b", "c", "a"], dtype="string"),
        pd.Categorical(["z", "x", "y"]),
    ],
)
def test_id_dtype_preserved(values):
    zones = zones_of([box(i, 0, i + 1, 1) for i in range(3)], ids=values)
    prepared = prepare_zones(zones, id="code", crs=L93)
    assert prepared.ids.dtype == zones["code"].dtype
    assert list(prepared.ids) == list(zones["code"])


def test_prepared_zones_is_frozen_and_read_only():
    prepared = prepare_zones(zones_of([box(0, 0, 1, 1)]), id="code", crs=L93)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prepared.repaired = 3
    with pytest.raises(ValueError, match="read-only"):
        prepared.geometry[0] = box(0, 0, 2, 2)


def test_prepared_zones_validates_construction():
    with pytest.raises(ValueError, match="same length"):
        PreparedZones(pd.Index(["a", "b"]), np.array([box(0, 0, 1, 1)]), UTM31, L93)
    with pytest.raises(ValueError, match="unique"):
        PreparedZones(pd.Index(["a", "a"]), [box(0, 0, 1, 1)] * 2, UTM31, L93)
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        PreparedZones(pd.Index(["a"]), [LineString([(0, 0), (1, 1)])], UTM31, L93)
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        PreparedZones(pd.Index(["a"]), [None], UTM31, L93)
    with pytest.raises(ValueError, match="repaired"):
        PreparedZones(pd.Index(["a"]), [box(0, 0, 1, 1)], UTM31, L93, repaired=-1)


def test_to_geodataframe():
    zones = zones_of([box(X0, Y0, X0 + 10, Y0 + 10), None], ids=["b", "a"], column="code_qp")
    prepared, _ = prepare_quiet(zones, id="code_qp", crs=UTM31)
    frame = prepared.to_geodataframe()
    assert list(frame.columns) == ["code_qp", "geometry"]
    assert list(frame["code_qp"]) == ["b", "a"]
    assert frame.crs == pyproj.CRS(UTM31)
    assert frame.geometry.is_empty.tolist() == [False, True]
    assert frame.area.iloc[0] == pytest.approx(shapely.area(prepared.geometry[0]))


def test_empty_layer():
    zones = gpd.GeoDataFrame({"code": pd.Series([], dtype="str")}, geometry=[], crs=L93)
    prepared = prepare_zones(zones, id="code", crs=UTM31)
    assert len(prepared) == 0
    assert prepared.geometry.shape == (0,)


# --------------------------------------------------------------------------------------------
# property


@settings(max_examples=60, deadline=None)
@given(
    rects=st.lists(
        st.tuples(
            st.floats(100_000, 1_200_000),  # Lambert-93 x
            st.floats(6_100_000, 7_100_000),  # Lambert-93 y
            st.floats(0.5, 5_000),  # width (m)
            st.floats(0.5, 5_000),  # height (m)
        ),
        min_size=1,
        max_size=20,
    ),
    crs=st.sampled_from([L93, "EPSG:3946"]),
)
def test_rectangles_keep_their_area_in_their_own_crs(rects, crs):
    geoms = [box(x, y, x + w, y + h) for x, y, w, h in rects]
    ids = [f"R{i}" for i in range(len(rects))][::-1]
    prepared, messages = prepare_quiet(zones_of(geoms, ids=ids, crs=crs), id="code", crs=crs)
    assert messages == []
    assert list(prepared.ids) == ids
    expected = [w * h for _, _, w, h in rects]
    np.testing.assert_allclose(shapely.area(prepared.geometry), expected, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# real data


def test_real_occitanie_qpv(real_data):
    path = real_data / "qpv" / "occitanie_qp_hackaviz2021.geojson"
    if not path.exists():
        pytest.skip(f"{path} not found")
    zones = gpd.read_file(path)
    assert len(zones) == 105
    assert int((~zones.is_valid).sum()) == 32
    prepared, messages = prepare_quiet(zones, id="code_qp", crs=UTM31)
    assert len(prepared) == 105
    assert list(prepared.ids) == list(zones["code_qp"])
    assert shapely.is_valid(prepared.geometry).all()
    assert (shapely.area(prepared.geometry) > 0).all()
    assert set(shapely.get_type_id(prepared.geometry)) <= {3, 6}
    assert prepared.repaired == 32
    assert len(messages) == 1
    assert re.match(r"32 invalid zone geometries were repaired", messages[0])
    # Oracle: geodesic area of the input rings x UTM areal scale at each centroid (pyproj).
    # Valid zones match to 1e-6; repaired ones only lose slivers (within 1e-3 of their rings).
    geod = pyproj.Geod(ellps="WGS84")
    geodesic = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in zones.geometry])
    centroids = shapely.centroid(zones.geometry.array)
    scale = pyproj.Proj(UTM31).get_factors(shapely.get_x(centroids), shapely.get_y(centroids))
    expected = geodesic * scale.areal_scale
    area = shapely.area(prepared.geometry)
    was_valid = zones.is_valid.to_numpy()
    np.testing.assert_allclose(area[was_valid], expected[was_valid], rtol=1e-6)
    np.testing.assert_allclose(area[~was_valid], expected[~was_valid], rtol=1e-3)


def test_real_paris_iris(real_data):
    path = real_data / "iris" / "paris_iris_disp_med19_climbing_paris.geojson"
    if not path.exists():
        pytest.skip(f"{path} not found")
    zones = gpd.read_file(path)
    assert len(zones) == 2297
    assert zones.crs.to_epsg() == 4326
    prepared, messages = prepare_quiet(zones, id="CODE_IRIS", crs=32631)
    assert messages == []
    assert prepared.crs.to_epsg() == 32631
    assert len(prepared) == 2297
    assert prepared.ids.is_unique
    assert all(isinstance(code, str) and len(code) == 9 for code in prepared.ids)
    assert list(prepared.ids) == list(zones["CODE_IRIS"])
    expected = zones.make_valid().to_crs(32631).area.sum()
    assert shapely.area(prepared.geometry).sum() == pytest.approx(expected, rel=1e-9)


def test_real_lyon_iris(real_data):
    path = real_data / "iris" / "LyonIris_EPSG3946.gpkg"
    if not path.exists():
        pytest.skip(f"{path} not found")
    zones = gpd.read_file(path)
    prepared, messages = prepare_quiet(zones, id="CODE_IRIS", crs=UTM31)
    assert messages == []
    assert prepared.source_crs.to_epsg() == 3946
    assert prepared.repaired == 0
    assert len(prepared) == 506
    assert (shapely.area(prepared.geometry) > 0).all()
