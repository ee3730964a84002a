"""iris_qpv_overlay on hand-made squares (areas computed by hand) and on the real QPV.

The squares are drawn in Lambert-93 and measured there (``crs=L93``): their areas and shares
are then exact by hand. By default areas are measured in an equal-area CRS; its oracle is
the geodesic area on the ellipsoid (pyproj's ``Geod``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import MultiPolygon, box

from pipelines.census import iris_qpv_overlay, read_qpv
from pipelines.census.overlay import (
    OVERLAY_COLUMNS,
    iris_qpv_overlaps,
    overlay_table,
    qpv_left_out,
    qpv_without_iris,
)
from tests.pipelines.census.helpers import L93, X0, Y0, call_quiet, layer
from tiles import CRSError, ZonesError

S = 100.0  # the IRIS are 100 m squares: area 10 000 m²


def geodesic_areas(frame) -> np.ndarray:
    """Areas (m²) on the WGS 84 ellipsoid, by pyproj's Geod (geodesic edges)."""
    geod = Geod(ellps="WGS84")
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in frame.to_crs(4326).geometry])


def sq(x0, y0, x1, y1):
    """A box in metres from the corner (X0, Y0)."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def iris_layer(crs="EPSG:2154"):
    geoms = [
        sq(0, 0, S, S),  # A: right half inside Q1
        sq(200, 0, 300, S),  # B: wholly inside Q2
        sq(400, 0, 500, S),  # C: outside every QPV
        sq(600, 0, 700, S),  # D: 30 % in Q3, 20 % in Q4
        sq(800, 0, 900, S),  # E: 40 % in Q5 and Q6, which overlap there
    ]
    return layer({"code_iris": [f"75101010{i}" for i in range(1, 6)]}, geometry=geoms, crs=crs)


def qpv_layer(crs="EPSG:2154"):
    geoms = [
        sq(50, 0, 150, S),  # Q1 covers x 50..100 of A
        sq(190, -10, 310, 110),  # Q2 contains B
        sq(600, 0, 630, S),  # Q3: 30 of 100 m of D
        sq(680, 0, 700, S),  # Q4: 20 of 100 m of D
        sq(800, 0, 840, S),  # Q5: 40 % of E
        sq(800, 0, 840, 50),  # Q6: inside Q5 (overlap counted once)
    ]
    codes = ["QP075001", "QP075002", "QP075003", "QP075004", "QP075005", "QP075006"]
    return layer({"code_qp": codes}, geometry=geoms, crs=crs)


def test_shares_by_hand():
    out = iris_qpv_overlay(iris_layer(), qpv_layer(), crs=L93)
    assert list(out.columns) == [
        "code_iris",
        "iris_area_m2",
        "qpv_area_m2",
        "qpv_share",
        "in_qpv",
        "code_qp_main",
    ]
    assert list(out.columns[2:]) == list(OVERLAY_COLUMNS)  # the outcomes a run may name
    assert out["code_iris"].tolist() == [f"75101010{i}" for i in range(1, 6)]
    np.testing.assert_allclose(out["iris_area_m2"], [10_000.0] * 5)
    np.testing.assert_allclose(out["qpv_area_m2"], [5000.0, 10_000.0, 0.0, 5000.0, 4000.0])
    np.testing.assert_allclose(out["qpv_share"], [0.5, 1.0, 0.0, 0.5, 0.4], atol=1e-12)
    assert out["in_qpv"].tolist() == [True, True, False, True, False]
    assert out["code_qp_main"].tolist() == ["QP075001", "QP075002", None, "QP075003", "QP075005"]


def test_threshold_is_inclusive_and_configurable():
    out = iris_qpv_overlay(iris_layer(), qpv_layer(), threshold=0.6, crs=L93)
    assert out["in_qpv"].tolist() == [False, True, False, False, False]
    out = iris_qpv_overlay(iris_layer(), qpv_layer(), threshold=0.4, crs=L93)
    assert out["in_qpv"].tolist() == [True, True, False, True, True]


def test_an_iris_exactly_half_in_qpv_on_the_ellipsoid_reaches_a_half_threshold():
    """Areas on the ellipsoid put a 1 km IRIS exactly half covered at 0.4999998 of it:
    it is half in QPV, so a threshold of 0.5 counts it, and no QPV is left out."""
    iris = layer({"code_iris": ["751010101"]}, geometry=[sq(0, 0, 1000, 1000)], crs=L93)
    qpv = layer({"code_qp": ["QP075001"]}, geometry=[sq(500, 0, 1500, 1000)], crs=L93)
    overlaps = iris_qpv_overlaps(iris, qpv)
    assert overlaps.qpv_share[0] == pytest.approx(0.5, abs=1e-6)
    assert overlay_table(overlaps, threshold=0.5)["in_qpv"].tolist() == [True]
    assert overlay_table(overlaps, threshold=0.51)["in_qpv"].tolist() == [False]


def test_layers_in_wgs84_give_the_same_shares():
    iris = iris_layer().to_crs("EPSG:4326")
    qpv = qpv_layer().to_crs("EPSG:4326")
    out = iris_qpv_overlay(iris, qpv)
    np.testing.assert_allclose(out["qpv_share"], [0.5, 1.0, 0.0, 0.5, 0.4], atol=1e-6)


def test_equal_area_crs_gives_the_same_shares():
    out = iris_qpv_overlay(iris_layer(), qpv_layer(), crs="EPSG:3035")
    np.testing.assert_allclose(out["qpv_share"], [0.5, 1.0, 0.0, 0.5, 0.4], atol=1e-6)


def test_touching_only_is_no_overlap():
    iris = layer({"code_iris": ["751010101"]}, geometry=[sq(0, 0, S, S)])
    qpv = layer({"code_qp": ["QP075001"]}, geometry=[sq(S, 0, 2 * S, S)])
    out = iris_qpv_overlay(iris, qpv, crs=L93)
    assert out["qpv_share"].tolist() == [0.0] and out["code_qp_main"].tolist() == [None]


def test_a_sliver_of_a_shared_edge_is_no_overlap():
    """A QPV drawn along the IRIS's edge, 2 mm over it (0.2 m²): no QPV there; 2 cm (2 m²)
    is an overlap, however small, with its QPV named."""
    iris = layer({"code_iris": ["751010101", "751010102"]},
                 geometry=[sq(0, 0, S, S), sq(0, 200, S, 300)])  # fmt: skip
    qpv = layer({"code_qp": ["QP075001", "QP075002"]},
                geometry=[sq(S - 0.002, 0, 2 * S, S), sq(S - 0.02, 200, 2 * S, 300)])  # fmt: skip
    out = iris_qpv_overlay(iris, qpv, crs=L93)
    np.testing.assert_allclose(out["qpv_area_m2"], [0.0, 2.0], rtol=1e-6)
    assert out["code_qp_main"].tolist() == [None, "QP075002"]
    assert out["in_qpv"].tolist() == [False, False]


def test_qpv_without_iris_by_hand():
    """IRIS A (counted in QPV), B and C (not): the QPV whose area lies mostly outside A, with
    the largest share of an IRIS inside each, by hand from the squares."""
    iris = layer({"code_iris": ["751010101", "751010102", "751010103"]})  # x 0..300
    iris["in_qpv"] = [True, False, False]
    qpv = layer(
        {"code_qp": [f"QP07500{i}" for i in range(1, 6)], "nom_qp": list("UVWXY")},
        geometry=[
            sq(0, 0, 80, S),  # Q1: 80 % of A, wholly in it: counted
            # Q2: 5 % of A (500 m²) and 40 % of C (4000 m²): 1/9 of it in A, left out
            MultiPolygon([sq(95, 0, 100, S), sq(260, 0, 300, S)]),
            sq(80, 0, 90, S),  # Q3: 10 % of A, not A's main QPV, wholly in A: counted
            sq(120, 0, 130, S),  # Q4: 10 % of B: left out
            sq(1000, 0, 1100, S),  # Q5: in no IRIS: left out, no share
        ],
    )
    out = qpv_without_iris(iris, qpv, crs=L93)
    assert list(out.columns) == ["code_qp", "nom_qp", "iris_share_max", "counted_share"]
    assert out["code_qp"].tolist() == ["QP075002", "QP075004", "QP075005"]
    assert out["nom_qp"].tolist() == ["V", "X", "Y"]
    np.testing.assert_allclose(out["iris_share_max"], [0.4, 0.1, 0.0], atol=1e-12)
    np.testing.assert_allclose(out["counted_share"], [1 / 9, 0.0, np.nan], atol=1e-12)
    # Every IRIS counted: only the QPV in no IRIS is left out.
    iris["in_qpv"] = True
    assert qpv_without_iris(iris, qpv, crs=L93)["code_qp"].tolist() == ["QP075005"]
    with pytest.raises(ZonesError, match="no 'in_qpv' column"):
        qpv_without_iris(iris.drop(columns="in_qpv"), qpv)


def two_qpv_layers():
    """IRIS A: 30 % in QPV 1 and 30 % in QPV 2 (60 % in QPV); IRIS B: 20 % in QPV 3 and 20 %
    in QPV 4 (40 %). Each QPV lies wholly in its IRIS."""
    iris = layer({"code_iris": ["751010101", "751010102"]},
                 geometry=[sq(0, 0, S, S), sq(200, 0, 300, S)])  # fmt: skip
    qpv = layer(
        {"code_qp": [f"QP07500{i}" for i in range(1, 5)], "nom_qp": list("WXYZ")},
        geometry=[sq(0, 0, 30, S), sq(70, 0, S, S), sq(200, 0, 220, S), sq(280, 0, 300, S)],
    )
    return iris, qpv


def test_an_iris_counts_for_the_qpv_it_reaches_the_threshold_with_together():
    """An IRIS is in QPV from its share in the union of the QPV: A (60 %) counts QPV 1 and 2,
    though each covers only 30 % of it. A QPV left out is named with the share the threshold
    is compared with, that of its IRIS in all QPV (40 % for B, not 20 %), from which down it
    is counted."""
    iris, qpv = two_qpv_layers()
    overlaps = iris_qpv_overlaps(iris, qpv, crs=L93)
    overlay = overlay_table(overlaps, threshold=0.5)
    np.testing.assert_allclose(overlay["qpv_share"], [0.6, 0.4], atol=1e-12)
    assert overlay["in_qpv"].tolist() == [True, False]
    out = qpv_left_out(overlaps, overlay["in_qpv"], qpv)
    assert out["code_qp"].tolist() == ["QP075003", "QP075004"]
    np.testing.assert_allclose(out["iris_share_max"], [0.4, 0.4], atol=1e-12)
    np.testing.assert_allclose(out["counted_share"], [0.0, 0.0])
    # At 70 %, A is not counted either: QPV 1 and 2 are left out, at 60 %, ...
    out = qpv_left_out(overlaps, overlay_table(overlaps, threshold=0.7)["in_qpv"], qpv)
    assert out["code_qp"].tolist() == [f"QP07500{i}" for i in range(1, 5)]
    np.testing.assert_allclose(out["iris_share_max"], [0.6, 0.6, 0.4, 0.4], atol=1e-12)
    # ... and counted from a threshold of 60 % (inclusive), as named.
    out = qpv_left_out(overlaps, overlay_table(overlaps, threshold=0.6)["in_qpv"], qpv)
    assert out["code_qp"].tolist() == ["QP075003", "QP075004"]
    # The same, from the layers, as the report does for a run folder.
    counted = iris.assign(in_qpv=[True, False])
    out = qpv_without_iris(counted, qpv, crs=L93)
    np.testing.assert_allclose(out["iris_share_max"], [0.4, 0.4], atol=1e-12)


def test_the_overlaps_measured_once_give_the_overlay_and_the_qpv_left_out():
    """The run intersects IRIS and QPV once: both tables derive from those overlaps, as from
    the layers; the QPV checked may be some of those overlapped, or overlap no IRIS."""
    iris, qpv = iris_layer(), qpv_layer()
    overlaps = iris_qpv_overlaps(iris, qpv, crs=L93)
    np.testing.assert_allclose(overlaps.qpv_area, [5000.0, 10_000.0, 0.0, 5000.0, 4000.0])
    overlay = overlay_table(overlaps, threshold=0.5)
    pd.testing.assert_frame_equal(overlay, iris_qpv_overlay(iris, qpv, crs=L93))
    counted = iris.assign(in_qpv=overlay["in_qpv"])
    pd.testing.assert_frame_equal(
        qpv_left_out(overlaps, overlay["in_qpv"], qpv), qpv_without_iris(counted, qpv, crs=L93)
    )
    # Q5 and Q6 (in E, 40 % in QPV, not counted) of the area, and a QPV in no IRIS.
    boxes = [sq(800, 0, 840, 50), sq(800, 0, 840, S), sq(2000, 0, 2100, S)]
    area = layer({"code_qp": ["QP075006", "QP075005", "QP075009"]}, geometry=boxes)
    out = qpv_left_out(overlaps, overlay["in_qpv"], area)
    assert out["code_qp"].tolist() == ["QP075006", "QP075005", "QP075009"]
    np.testing.assert_allclose(out["iris_share_max"], [0.4, 0.4, 0.0], atol=1e-12)
    np.testing.assert_allclose(out["counted_share"], [0.0, 0.0, np.nan])
    with pytest.raises(ValueError, match="in_qpv has 2 values for 5 IRIS"):
        qpv_left_out(overlaps, [True, False], qpv)
    with pytest.raises(ValueError, match="threshold"):
        overlay_table(overlaps, threshold=0)


def test_iris_without_area():
    iris = layer({"code_iris": ["751010101", "751010102"]}, geometry=[sq(0, 0, S, S), None])
    qpv = layer({"code_qp": ["QP075001"]}, geometry=[sq(0, 0, S, S)])
    out, warns = call_quiet(iris_qpv_overlay, iris, qpv, crs=L93)
    assert out["qpv_share"].iloc[0] == 1.0 and np.isnan(out["qpv_share"].iloc[1])
    assert out["in_qpv"].tolist() == [True, False]
    assert any("no area" in w for w in warns)


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5])
def test_threshold_validated(threshold):
    with pytest.raises(ValueError, match="threshold"):
        iris_qpv_overlay(iris_layer(), qpv_layer(), threshold=threshold)


def test_crs_errors():
    with pytest.raises(CRSError, match="not projected"):
        iris_qpv_overlay(iris_layer(), qpv_layer(), crs="EPSG:4326")
    with pytest.raises(CRSError):
        iris_qpv_overlay(iris_layer(crs=None), qpv_layer())


def test_missing_id_column():
    with pytest.raises(ZonesError, match="code_qp"):
        iris_qpv_overlay(iris_layer(), qpv_layer().rename(columns={"code_qp": "qp"}))


@pytest.mark.realdata
def test_real_qpv_over_themselves(real_data):
    qpv, _ = call_quiet(read_qpv, real_data / "qpv" / "occitanie_qp_hackaviz2021.geojson")[0]
    as_iris = qpv.rename(columns={"code_qp": "code_iris"})
    out = iris_qpv_overlay(as_iris, qpv)
    np.testing.assert_allclose(out["qpv_share"], 1.0, atol=1e-9)
    assert out["in_qpv"].all()
    assert (out["code_qp_main"] == out["code_iris"]).all()  # no QPV overlaps another much
    np.testing.assert_allclose(out["iris_area_m2"], geodesic_areas(qpv), rtol=1e-6)
    assert isinstance(out, pd.DataFrame)


def test_areas_overseas_are_true_areas():
    """La Réunion, drawn in its IGN CRS (RGR92 / UTM 40S, EPSG:2975): 1 km IRIS squares, a
    QPV over the west 60 % of the first. The default equal-area CRS gives the geodesic areas
    and the share; Lambert-93, far outside its area of use there, gave areas 3.5 times too
    large and moved the share."""
    x0, y0 = 338_000.0, 7_688_000.0  # Saint-Denis
    iris = layer({"code_iris": ["974110101", "974110102"]}, crs="EPSG:2975",
                 geometry=[box(x0, y0, x0 + 1000, y0 + 1000),
                           box(x0 + 1000, y0, x0 + 2000, y0 + 1000)])  # fmt: skip
    qpv = layer({"code_qp": ["QN97401M"]}, crs="EPSG:2975",
                geometry=[box(x0 - 200, y0, x0 + 600, y0 + 1000)])  # fmt: skip
    out = iris_qpv_overlay(iris, qpv)
    true_iris = geodesic_areas(iris)
    true_inside = geodesic_areas(qpv.clip(iris.geometry.iloc[0]))
    np.testing.assert_allclose(out["iris_area_m2"], true_iris, rtol=1e-6)
    np.testing.assert_allclose(out["qpv_area_m2"], [true_inside[0], 0.0], rtol=1e-6)
    np.testing.assert_allclose(out["qpv_share"], [0.6, 0.0], atol=1e-5)
    assert out["in_qpv"].tolist() == [True, False]
    lambert = iris_qpv_overlay(iris, qpv, crs=L93)
    assert lambert["iris_area_m2"].iloc[0] / true_iris[0] > 3  # the former default


def test_the_default_area_crs_is_equal_area_and_centred():
    from pipelines.census.overlay import equal_area_crs

    crs = equal_area_crs(iris_layer())
    operation = crs.coordinate_operation
    assert "Lambert Azimuthal Equal Area" in operation.method_name
    params = {param.name: param.value for param in operation.params}
    lon, lat = params["Longitude of natural origin"], params["Latitude of natural origin"]
    # The squares' corner (652,000, 6,862,000) in Lambert-93 is Paris, about 2.35°E 48.85°N.
    assert lon == pytest.approx(2.35, abs=0.02) and lat == pytest.approx(48.85, abs=0.02)
