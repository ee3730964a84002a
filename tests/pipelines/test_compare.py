"""``ilots compare``: two run folders made from the session's demo run, B edited by hand.

Run A is a copy of the demo run's ``manifest.json`` and ``zones.gpkg``; run B the same with a
change planted, so that every expected difference is known by construction.
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import warnings
from contextlib import closing, contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely import affinity

from pipelines.cli import STRICT_STATUS, main
from pipelines.compare import CompareError, compare_runs
from pipelines.inequality.results import CSV_COLUMNS
from tests.holders import held_elsewhere, waits_seen
from tests.pipelines.outputs.helpers import edited_in_qgis
from tests.refusals import assert_out_refused
from tiles.errors import GridError, IlotsWarning, OutputError, OutputExistsError, ZonesError

_FILES = ("manifest.json", "zones.gpkg", "inequality.json")


def _copy_run(source, target):
    target.mkdir()
    for name in _FILES:
        shutil.copyfile(source / name, target / name)
    return target


@pytest.fixture
def runs(demo_run, tmp_path):
    """Two copies of the demo run's folder: A and B, the latter for a test to edit."""
    folder, _ = demo_run
    return _copy_run(folder, tmp_path / "a"), _copy_run(folder, tmp_path / "b")


def _edit_layer(run, layer, edit):
    frame = gpd.read_file(run / "zones.gpkg", layer=layer)
    frame = edit(frame)
    frame.to_file(run / "zones.gpkg", layer=layer, driver="GPKG")
    return frame


def _edit_manifest(run, edit):
    path = run / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _compare(a, b, out, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare_runs(a, b, out, **options)
    return result, [w.message for w in caught if isinstance(w.message, IlotsWarning)]


def test_identical_runs_change_nothing(runs, tmp_path):
    a, b = runs
    result, said = _compare(a, b, tmp_path / "out")
    iris = result.tables["iris_change"]
    changes = [c for c in iris.columns if c.endswith("_change")]
    assert "lst_anomaly_mean_k_change" in changes and "ndvi_mean_change" in changes
    assert np.nanmax(np.abs(iris[changes].to_numpy(dtype=float))) == 0
    assert result.summary[0] == "periods: A June–August 2023; B June–August 2023"  # config
    assert result.summary[-2].startswith(
        "QPV gap of ΔT (each run's inequality.json, over its own IRIS):"
    )
    assert result.summary[-1] == (
        "change of the QPV gap of ΔT: +0.000 K (every IRIS changed by +0.000 K)"
    )
    assert result.inequality is None  # nothing to test
    # the same manifest twice, and the demo says it is synthetic
    assert [w.code for w in said] == ["same_run", "synthetic_run"]


def test_planted_one_kelvin_on_three_iris_moves_them_and_the_summary(runs, tmp_path):
    a, b = runs
    iris = gpd.read_file(a / "zones.gpkg", layer="iris")
    has_value = iris["lst_anomaly_mean_k"].notna()
    outside = iris.loc[has_value & ~iris["in_qpv"], "code_iris"]
    used = has_value & iris["disp_med"].notna() & iris["population"].notna()
    planted = list(iris.loc[used & ~iris["in_qpv"], "code_iris"][:3])

    def plant(frame):
        rows = frame["code_iris"].isin(planted)
        frame.loc[rows, "lst_anomaly_mean_k"] += 1.0
        return frame

    _edit_layer(b, "iris", plant)
    result, _ = _compare(a, b, tmp_path / "out")
    table = result.tables["iris_change"].set_index("code_iris")
    change = table["lst_anomaly_mean_k_change"]
    assert change[planted].to_numpy() == pytest.approx([1.0] * 3, abs=1e-12)
    assert (change.drop(planted).dropna() == 0).all()
    # By hand: +3 K over the len(outside) IRIS outside QPV with a value; 0 in QPV.
    moved = 3 / len(outside)
    summary = "\n".join(result.summary)
    assert f"+0.000 K in QPV IRIS, {moved:+.3f} K outside" in summary
    # The gap's change, as the run's QPV gap (population-weighted, one stratum in the demo,
    # over the IRIS with income, population and ΔT), by hand: 0 in QPV minus the planted
    # IRIS' population share of the rest.
    weights = iris.loc[used & ~iris["in_qpv"]].set_index("code_iris")["population"]
    gap = -weights[planted].sum() / weights.sum()
    assert result.inequality.group_difference.value == pytest.approx(gap, abs=1e-12)
    assert f"\nchange of the QPV gap of ΔT: {gap:+.3f} K, 95% " in summary
    assert f"over the {int(used.sum())} IRIS tested" in summary
    saved = json.loads((tmp_path / "out" / "inequality_change.json").read_text("utf-8"))
    assert saved["outcome"] == "lst_anomaly_mean_k_change" and saved["synthetic"] is True
    assert saved["group_difference"]["value"] == pytest.approx(gap, abs=1e-12)


def _weighted_gap(frame, column):
    inside = frame["in_qpv"].astype(bool)
    means = [
        np.average(frame.loc[side, column], weights=frame.loc[side, "population"])
        for side in (inside, ~inside)
    ]
    return means[0] - means[1]


def test_the_gaps_are_over_the_iris_tested_and_own_gaps_are_said_apart(runs, tmp_path):
    a, b = runs
    iris = gpd.read_file(a / "zones.gpkg", layer="iris")
    used = iris["lst_anomaly_mean_k"].notna() & iris["disp_med"].notna()
    used &= iris["population"].notna()
    outside = list(iris.loc[used & ~iris["in_qpv"], "code_iris"])
    dropped, planted = outside[:5], outside[5:8]

    def edit(frame):
        frame.loc[frame["code_iris"].isin(planted), "lst_anomaly_mean_k"] += 1.0
        return frame[~frame["code_iris"].isin(dropped)]

    after = _edit_layer(b, "iris", edit).set_index("code_iris")
    result, _ = _compare(a, b, tmp_path / "out")
    # By hand, over the IRIS of both runs with ΔT, income and population (B's roles):
    tested = iris[used & ~iris["code_iris"].isin(dropped)].set_index("code_iris")
    gap_a = _weighted_gap(tested, "lst_anomaly_mean_k")
    gap_b = _weighted_gap(
        tested.assign(lst_anomaly_mean_k=after["lst_anomaly_mean_k"]), "lst_anomaly_mean_k"
    )
    n_in = int(tested["in_qpv"].sum())
    summary = "\n".join(result.summary)
    assert (
        f"QPV gap of ΔT (population-weighted, unstratified) over the {len(tested)} IRIS tested "
        f"({n_in} in QPV): {gap_a:+.3f} K in A, {gap_b:+.3f} K in B"
    ) in summary
    assert result.inequality.group_difference.value == pytest.approx(gap_b - gap_a, abs=1e-12)
    # Each run's own gap (inequality.json: the demo's, over all its IRIS) is another set's.
    own = json.loads((a / "inequality.json").read_text(encoding="utf-8"))["group_difference"]
    assert f"over another set of IRIS: {own['value']:+.3f} K in A ({own['n']} IRIS" in summary
    change = re.search(r"change of the QPV gap of ΔT: .* K, (p [=<≤] [0-9.]+) ", summary)
    assert change is not None and change.group(1) != "p = 0.000"
    known = iris["lst_anomaly_mean_k"].notna() & ~iris["code_iris"].isin(dropped)
    assert (
        f"over the {int(known.sum())} IRIS with a value in both runs, "
        f"{int((known & iris['in_qpv']).sum())} in QPV)"
    ) in summary


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("crs", "EPSG:2154", "grid crs differs"), ("resolution", 10.0, "grid resolution differs")],
)
def test_another_grid_is_refused(runs, tmp_path, key, value, said):
    a, b = runs
    _edit_manifest(b, lambda manifest: manifest["grid"].update({key: value}))
    with pytest.raises(GridError, match=said) as err:
        compare_runs(a, b, tmp_path / "out")
    assert str(a) in str(err.value) and str(b) in str(err.value)
    assert not (tmp_path / "out").exists()


def _set_min_clear(manifest):
    manifest["config"]["composite"]["min_clear"] = 5


def _set_ring(manifest):
    manifest["config"]["heat_island"]["ring_inner_km"] = 2.0


def _set_anomaly_reference(manifest):
    manifest["config"]["composite"]["anomaly_reference"] = "urban"


def _set_fallback(manifest):
    manifest["warning_codes"].append("landcover_fallback")


def _set_mask(manifest):
    manifest["config"]["mask"]["st_qa_max_k"] = 3.0


def _set_qpv_threshold(manifest):
    manifest["config"]["zones"]["qpv"]["iris_share_threshold"] = 0.3


def _set_area(manifest):
    """As ``aoi.buffer_m: 500``: a larger area, so a larger grid."""
    manifest["config"]["aoi"]["buffer_m"] = 500.0
    manifest["area"]["area_km2"] += 9.0
    manifest["area"]["bounds_wgs84"][0] -= 0.006
    manifest["grid"]["bounds"][0] -= 510.0
    manifest["grid"]["width"] += 17


def _set_extent(manifest):
    """Another grid extent over the same area of interest."""
    manifest["grid"]["bounds"][2] += 300.0
    manifest["grid"]["width"] += 10


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (_set_min_clear, "min_clear_differs"),
        (_set_ring, "reference_differs"),
        (_set_anomaly_reference, "reference_differs"),
        (_set_fallback, "landcover_source_differs"),
        (_set_mask, "mask_differs"),
        (_set_qpv_threshold, "qpv_threshold_differs"),
        (_set_area, "extent_differs"),
        (_set_extent, "extent_differs"),
    ],
)
def test_a_differing_setting_is_a_warning_of_its_kind(runs, tmp_path, edit, code):
    a, b = runs
    _edit_manifest(b, edit)
    _, said = _compare(a, b, tmp_path / "out")
    assert [w.code for w in said if w.code != "synthetic_run"] == [code]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert code in manifest["warning_codes"]


def test_each_differing_setting_says_both_values_its_effect_and_the_fix(runs, tmp_path):
    a, b = runs
    before = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    for edit in (_set_mask, _set_qpv_threshold, _set_area):
        _edit_manifest(b, edit)
    _, said = _compare(a, b, tmp_path / "out")
    texts = {w.code: str(w) for w in said}
    for text in texts.values():
        assert len(text.splitlines()) == 1
    mask = before["config"]["mask"]["st_qa_max_k"]
    assert (
        f"the mask section differs ({{'st_qa_max_k': {mask}}} vs {{'st_qa_max_k': 3.0}})"
        in (texts["mask_differs"])
    )
    threshold = before["config"]["zones"]["qpv"]["iris_share_threshold"]
    assert (
        f"the zones.qpv.iris_share_threshold differs ({threshold} vs 0.3): other IRIS"
        in (texts["qpv_threshold_differs"])
    )
    # The area, by hand from A's manifest: km² to 0.01, WGS84 bounds to 1e-5°.
    km2, (west, south, east, north) = before["area"]["area_km2"], before["area"]["bounds_wgs84"]
    area_a = f"{km2:.2f} km² within [{west:.5f}, {south:.5f}, {east:.5f}, {north:.5f}]°"
    area_b = f"{km2 + 9:.2f} km² within [{west - 0.006:.5f}, {south:.5f}, {east:.5f}, {north:.5f}]°"
    buffer = before["config"]["aoi"]["buffer_m"]
    assert (
        f"the area of interest differs ({area_a}, aoi {{'buffer_m': {buffer}}} vs {area_b}, "
        "aoi {'buffer_m': 500.0}): the IRIS it keeps or cuts, hence the rural ring"
    ) in texts["extent_differs"]
    assert [w.code for w in said].count("extent_differs") == 1  # the grid's: the same cause
    assert all(text.endswith("for a like-for-like comparison") for text in texts.values()
               if text.startswith(f"{a} and {b}: the "))  # fmt: skip
    compared = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))["config"]
    assert compared["compared"]["zones.qpv.iris_share_threshold"] == {"a": threshold, "b": 0.3}


def test_a_run_from_before_water_left_the_ndvi_is_said_to_differ(runs, tmp_path):
    """Run A from an ilots that kept water in the NDVI and albedo (its mask section has no
    indices_keep_water): B's leave it out by default, so the riverside zones' NDVI changes
    are water's, not the city's; said as a mask difference."""
    a, b = runs

    def older(manifest):
        del manifest["config"]["mask"]["indices_keep_water"]

    _edit_manifest(a, older)
    _, said = _compare(a, b, tmp_path / "out")
    (text,) = [str(w) for w in said if w.code == "mask_differs"]
    assert (
        "the mask section differs ({'indices_keep_water': True} vs {'indices_keep_water': False})"
    ) in text


def _dilate(**size):
    def edit(manifest):
        mask = manifest["config"]["mask"]
        mask.pop("dilate_m", None)
        mask.pop("dilate_px", None)
        mask.update(size)

    return edit


@pytest.mark.parametrize(
    ("size_a", "size_b", "radii"),
    [
        # In metres, pixels of the run's grid (r m): 2 px are 2r m; 1.5r m are rounded up
        # to 2 px as well. Same pixels masked: not said.
        ({"dilate_px": 2}, {"dilate_m": 2.0}, None),
        ({"dilate_m": 1.5}, {"dilate_m": 2.0}, None),
        # 2 px against 3 px (3r m): said, as the metres and pixels applied.
        ({"dilate_px": 2}, {"dilate_m": 3.0}, (2, 3)),
        ({"dilate_m": 2.0}, {"dilate_px": 3}, (2, 3)),
    ],
)
def test_the_cloud_dilation_is_compared_as_applied(runs, tmp_path, size_a, size_b, radii):
    a, b = runs
    manifest = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    r = manifest["grid"]["resolution"]

    def metres(size):  # dilate_m given in grid pixels above: r m each
        return {key: value * r if key == "dilate_m" else value for key, value in size.items()}

    _edit_manifest(a, _dilate(**metres(size_a)))
    _edit_manifest(b, _dilate(**metres(size_b)))
    _, said = _compare(a, b, tmp_path / "out")
    texts = [str(w) for w in said if w.code == "mask_differs"]
    if radii is None:
        assert texts == []
        return
    (text,) = texts
    pixels_a, pixels_b = radii
    assert (
        f"the mask section differs ({{'dilate': '{pixels_a * r:g} m ({pixels_a} px)'}} vs "
        f"{{'dilate': '{pixels_b * r:g} m ({pixels_b} px)'}})"
    ) in text


def test_the_grid_s_extent_alone_is_said_with_its_bounds(runs, tmp_path):
    a, b = runs
    _edit_manifest(b, _set_extent)
    _, said = _compare(a, b, tmp_path / "out")
    (text,) = [str(w) for w in said if w.code == "extent_differs"]
    grid = json.loads((a / "manifest.json").read_text(encoding="utf-8"))["grid"]
    assert all(value == int(value) for value in grid["bounds"])  # whole metres, written so
    west, south, east, north = (int(value) for value in grid["bounds"])
    assert (
        f"the grid's extent differs ({grid['width']}×{grid['height']} px, bounds "
        f"[{west}, {south}, {east}, {north}] vs {grid['width'] + 10}×{grid['height']} "
        f"px, bounds [{west}, {south}, {east + 300}, {north}]): the grid's edges"
    ) in text


def test_a_wider_ring_moves_the_grid_but_is_said_once(runs, tmp_path):
    a, b = runs

    def widen(manifest):
        manifest["config"]["heat_island"]["ring_outer_km"] += 1.0
        _set_extent(manifest)  # the grid is the area grown by the ring

    _edit_manifest(b, widen)
    _, said = _compare(a, b, tmp_path / "out")
    assert [w.code for w in said if w.code != "synthetic_run"] == ["reference_differs"]


def _as_an_earlier_ilots(manifest):
    del manifest["config"]["heat_island"]["min_reference_frac"]
    del manifest["config"]["composite"]["min_clear"]
    del manifest["config"]["mask"]["st_qa_max_k"]
    del manifest["config"]["zones"]["qpv"]["iris_share_threshold"]
    del manifest["area"]
    del manifest["grid"]["bounds"]


def test_settings_an_earlier_ilots_did_not_record_are_not_said_to_differ(runs, tmp_path):
    a, b = runs
    _edit_manifest(a, _as_an_earlier_ilots)
    for edit in (_set_ring, _set_mask, _set_qpv_threshold, _set_area):
        _edit_manifest(b, edit)
    _, said = _compare(a, b, tmp_path / "out")
    (differs,) = [str(w) for w in said if w.code not in ("synthetic_run",)]
    ring = json.loads((a / "manifest.json").read_text("utf-8"))["config"]["heat_island"]
    assert f"({{'ring_inner_km': {ring['ring_inner_km']}}} vs {{'ring_inner_km': 2.0}})" in differs
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    min_clear = manifest["config"]["compared"]["composite.min_clear"]
    assert min_clear["a"] == "not recorded" and min_clear["b"] is not None


def test_a_run_without_anomaly_and_the_same_run_twice_are_warned(runs, tmp_path):
    a, b = runs
    for layer in ("iris", "qpv"):
        _edit_layer(b, layer, lambda frame: frame.drop(columns="lst_anomaly_mean_k"))
    _, said = _compare(a, b, tmp_path / "out")
    (no_anomaly,) = [str(w) for w in said if w.code == "no_anomaly"]
    assert no_anomaly.startswith(f"{b}: no ΔT") and "composite.anomaly: true" in no_anomaly
    _edit_manifest(b, _set_min_clear)  # another manifest: not the same run
    _, said = _compare(a, b, tmp_path / "out", overwrite=True)
    assert "same_run" not in [w.code for w in said]
    _, said = _compare(a, a, tmp_path / "again")  # the same folder
    assert [w.code for w in said].count("same_run") == 1


def test_partial_zone_overlap_is_counted(runs, tmp_path):
    a, b = runs
    frame = _edit_layer(a, "iris", lambda frame: frame.iloc[2:])
    n_iris = len(frame) + 2

    def rename(frame):
        frame.loc[5:7, "code_iris"] = ["X1", "X2", "X3"]
        return frame

    _edit_layer(b, "iris", rename)
    result, said = _compare(a, b, tmp_path / "out")
    (zones,) = [str(w) for w in said if w.code == "zones_differ"]
    assert "3 only in A" in zones and "5 only in B" in zones and "'X1'" in zones
    assert len(result.tables["iris_change"]) == n_iris - 5
    # Zones only missing from B: no empty list of examples for A.
    _edit_layer(b, "iris", lambda _: gpd.read_file(a / "zones.gpkg", layer="iris").iloc[2:])
    result, said = _compare(a, b, tmp_path / "fewer")
    (zones,) = [str(w) for w in said if w.code == "zones_differ"]
    assert "ids differ in part: 2 only in A (e.g. [" in zones and ", 0 only in B;" in zones


def test_an_id_with_another_shape_is_said(runs, tmp_path):
    a, b = runs
    iris = gpd.read_file(a / "zones.gpkg", layer="iris")
    grown, nudged = iris.loc[3, "code_iris"], iris.loc[4, "code_iris"]

    moved = iris.loc[5, "code_iris"]

    def redraw(frame):
        # Grown by 10 % each way (21 % more area, another millésime's boundary); nudged by
        # 0.1 % (0.2 % more area: under the 1 % said); moved 50 km clear of itself (its area
        # kept: all of its two shapes' union differs, which a share of its larger shape
        # read as 200 %).
        for row, factor in ((3, 1.1), (4, 1.001)):
            frame.loc[row, "geometry"] = affinity.scale(frame.loc[row, "geometry"], factor, factor)
        frame.loc[5, "geometry"] = affinity.translate(frame.loc[5, "geometry"], 50_000, 0)
        return frame

    _edit_layer(b, "iris", redraw)
    result, said = _compare(a, b, tmp_path / "out")
    (text,) = [str(w) for w in said if w.code == "zones_differ"]
    km2, kept = iris.loc[3].geometry.area / 1e6, iris.loc[5].geometry.area / 1e6
    assert (
        f"{a} and {b}: 2 iris zone(s) have the same id but another shape (more than 1% of the "
        f"area differs; e.g. {grown}: 17% of it differs, {km2:.3f} vs {km2 * 1.21:.3f} km², "
        f"{moved}: 100% of it differs, {kept:.3f} vs {kept:.3f} km²)"
    ) in text
    assert nudged not in text and text.endswith(
        "so they are marked unreliable (reshaped_frac); compare runs made with the same zone file"
    )
    table = result.tables["iris_change"].set_index("code_iris")
    assert len(table) == len(iris)  # compared all the same
    # The share of the two shapes' union in one only, by hand: the grown shape holds the
    # first, so 1 − 1/1.21 (1 − 1/1.001² nudged); none in common moved; 0 the others.
    assert table.loc[grown, "reshaped_frac"] == pytest.approx(1 - 1 / 1.21, rel=1e-9)
    assert table.loc[nudged, "reshaped_frac"] == pytest.approx(1 - 1 / 1.001**2, rel=1e-6)
    assert table.loc[moved, "reshaped_frac"] == pytest.approx(1.0, abs=1e-12)
    assert (table.drop([grown, nudged, moved])["reshaped_frac"] == 0).all()
    # The two reshaped are unreliable, though both runs trust them (their own thresholds);
    # every other zone as in the comparison of A with itself.
    trusted = iris.set_index("code_iris")
    min_valid = json.loads((a / "manifest.json").read_text("utf-8"))["config"]["zones"]
    trusted = (trusted["valid_frac"] >= min_valid["min_valid_frac"]) & ~trusted["low_clear_area"]
    assert trusted[[grown, moved]].all()
    assert table.loc[[grown, moved], "unreliable"].all()
    same, _ = _compare(a, a, tmp_path / "same")
    expected = same.tables["iris_change"].set_index("code_iris")["unreliable"]
    others = table.index.difference([grown, moved])
    assert (table.loc[others, "unreliable"] == expected[others]).all()


def test_a_zone_without_delta_t_coverage_in_either_run_is_unreliable(runs, tmp_path):
    """A zone whose ΔT share (anomaly_valid_frac) is under zones.min_valid_frac (0.5 in the
    demo) has no ΔT in that run: unreliable, though its LST share is full and it is not
    flagged low_clear_area (as under a composite.min_clear_area_frac below 0.3). At 0.5
    exactly it is trusted (the run's gate keeps it)."""
    a, b = runs
    iris = gpd.read_file(a / "zones.gpkg", layer="iris")
    trusted = (iris["valid_frac"] >= 0.5) & (iris["anomaly_valid_frac"] >= 0.5)
    trusted &= ~iris["low_clear_area"].astype(bool)
    low, edge = iris.loc[trusted, "code_iris"].iloc[:2]

    def thin(frame):
        rows = frame["code_iris"].isin([low, edge])
        frame.loc[rows, ["valid_frac", "low_clear_area"]] = [1.0, False]
        frame.loc[frame["code_iris"] == low, "anomaly_valid_frac"] = 0.3
        frame.loc[frame["code_iris"] == edge, "anomaly_valid_frac"] = 0.5
        frame.loc[frame["code_iris"] == low, "lst_anomaly_mean_k"] = np.nan
        return frame

    _edit_layer(b, "iris", thin)
    result, _ = _compare(a, b, tmp_path / "out")
    table = result.tables["iris_change"].set_index("code_iris")
    assert table.loc[low, "unreliable"] and not table.loc[edge, "unreliable"]


def test_each_run_s_delta_t_share_is_beside_its_valid_frac(runs, tmp_path):
    """anomaly_valid_frac_a and _b, next to valid_frac_a and _b in the tables and the CSV:
    each run's own value, as planted (0.3 in B) or read from A's layer."""
    a, b = runs
    iris = gpd.read_file(a / "zones.gpkg", layer="iris")
    code, before = iris.loc[0, ["code_iris", "anomaly_valid_frac"]]

    def thin(frame):
        frame.loc[frame["code_iris"] == code, "anomaly_valid_frac"] = 0.3
        return frame

    _edit_layer(b, "iris", thin)
    result, _ = _compare(a, b, tmp_path / "out")
    table = result.tables["iris_change"].set_index("code_iris")
    assert table.loc[code, "anomaly_valid_frac_a"] == before
    assert table.loc[code, "anomaly_valid_frac_b"] == 0.3
    header = (tmp_path / "out" / "iris_change.csv").read_text("utf-8").splitlines()[0]
    shares = "valid_frac_a,valid_frac_b,anomaly_valid_frac_a,anomaly_valid_frac_b"
    assert shares in header
    qpv = gpd.read_file(tmp_path / "out" / "compare.gpkg", layer="qpv_change")
    assert qpv["anomaly_valid_frac_b"].notna().all()


def test_a_run_from_before_the_delta_t_share_still_compares(runs, tmp_path):
    """Run A's zones without anomaly_valid_frac (an earlier ilots): its column is NaN, B's
    kept, and the summary says so for A alone."""
    a, b = runs
    for layer in ("iris", "qpv"):
        _edit_layer(a, layer, lambda frame: frame.drop(columns="anomaly_valid_frac"))
    result, _ = _compare(a, b, tmp_path / "out")
    for table in result.tables.values():
        assert table["anomaly_valid_frac_a"].isna().all()
        assert table["anomaly_valid_frac_b"].notna().all()
    assert (
        "no anomaly_valid_frac in run A's zones (made before ilots wrote it): "
        "anomaly_valid_frac_a is empty, and the unreliable flag does not check run A's ΔT "
        "share; rerun it with this ilots to have it"
    ) in result.summary
    assert not [line for line in result.summary if "run B's zones" in line]


def test_no_shared_zone_is_refused(runs, tmp_path):
    a, b = runs
    _edit_layer(b, "qpv", lambda frame: frame.assign(code_qp="other" + frame["code_qp"]))
    with pytest.raises(ZonesError, match="the qpv layers share no zone id"):
        compare_runs(a, b, tmp_path / "out")


def test_leading_zero_codes_survive_the_csv(runs, tmp_path):
    a, b = runs
    for run in runs:
        _edit_layer(run, "iris", lambda f: f.assign(code_iris="0" + f["code_iris"].str[1:]))
    _compare(a, b, tmp_path / "out")
    text = (tmp_path / "out" / "iris_change.csv").read_text(encoding="utf-8")
    assert "\n015550001," in text
    gpkg = gpd.read_file(tmp_path / "out" / "compare.gpkg", layer="iris_change")
    assert "015550001" in set(gpkg["code_iris"])


def test_outputs_are_written_whole_or_not_at_all(runs, tmp_path, monkeypatch):
    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)
    names = {"compare.gpkg", "manifest.json", ".ilots.lock"}  # the lock stays, hidden
    names |= {f"{layer}_change.{ext}" for layer in ("iris", "qpv") for ext in ("csv", "csvt")}
    assert {path.name for path in out.iterdir()} == names  # no temporary file left
    real = gpd.GeoDataFrame.to_file

    def failing(self, path, layer=None, **kwargs):
        if layer == "qpv_change":
            raise OSError("disk gone")
        return real(self, path, layer=layer, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", failing)
    failed = tmp_path / "failed"
    with pytest.raises(OSError, match="disk gone"):
        _compare(a, b, failed)
    assert not failed.exists()  # made for the comparison, nothing in it: removed


def _iris_only_without_inequality(run):
    """Make ``run`` a run without a QPV layer nor inequality.json."""
    iris = gpd.read_file(run / "zones.gpkg", layer="iris")
    (run / "zones.gpkg").unlink()
    (run / "inequality.json").unlink()
    iris.to_file(run / "zones.gpkg", layer="iris", driver="GPKG")


def test_a_reused_out_keeps_only_the_new_comparisons_files(runs, tmp_path):
    a, b = runs
    out = tmp_path / "out"
    _compare(a, a, out)  # the same run twice: a gap of +0.000 K, no inequality_change
    planted = _edit_layer(b, "iris", lambda f: f.assign(lst_anomaly_mean_k=f.index * 0.01))
    assert planted["lst_anomaly_mean_k"].nunique() > 1
    _compare(a, b, out, overwrite=True)
    assert (out / "inequality_change.json").is_file() and (out / "qpv_change.csv").is_file()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    _iris_only_without_inequality(b)
    _compare(a, b, out, overwrite=True)
    assert {path.name for path in out.iterdir()} == {
        "compare.gpkg", "iris_change.csv", "iris_change.csvt", "manifest.json", "notes.txt",
        ".ilots.lock",
    }  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = sorted(output["path"] for output in manifest["outputs"])
    assert listed == ["compare.gpkg", "iris_change.csv", "iris_change.csvt"]


def _refused_as_holding(result, out, names):
    assert_out_refused(result, f"{out} holds {', '.join(names)}")


def test_a_previous_comparison_is_replaced_only_when_told(runs, tmp_path, monkeypatch):
    """--out holding a finished comparison, or an interrupted one's files, is refused
    before the runs are read (exit status 2, naming its files), nothing touched; with
    --overwrite it is replaced, a user's file beside it kept."""
    import pipelines.compare

    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    written = ["compare.gpkg", "iris_change.csv", "iris_change.csvt", "qpv_change.csv",
               "qpv_change.csvt", "manifest.json"]  # fmt: skip

    def read(*args, **kwargs):
        raise AssertionError("a run was read")

    args = ["compare", str(a), str(b), "--out", str(out)]
    with monkeypatch.context() as patched:
        patched.setattr(pipelines.compare, "read_run", read)
        _refused_as_holding(CliRunner().invoke(main, args), out, written)
        (out / "manifest.json").unlink()  # interrupted: no manifest, its files
        del before["manifest.json"]
        _refused_as_holding(CliRunner().invoke(main, args), out, written[:-1])
        with pytest.raises(OutputExistsError):
            compare_runs(a, b, out)  # the Python API refuses too, unless told
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    result = CliRunner().invoke(main, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [*written, "notes.txt", ".ilots.lock"]
    )
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert len(gpd.read_file(out / "compare.gpkg", layer="iris_change")) == len(
        gpd.read_file(a / "zones.gpkg", layer="iris")
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(output["path"] for output in manifest["outputs"]) == sorted(written[:-1])


def test_a_comparison_finished_meanwhile_is_not_replaced(runs, tmp_path, monkeypatch):
    """Two comparisons into one new --out at once: the second, whose check passed before
    the first finished, is refused once it holds the folder, the first one's files (its
    manifest.json too) left byte for byte."""
    import pipelines.compare

    a, b = runs
    out = tmp_path / "out"
    hold = pipelines.compare.folder_lock
    before = {}

    @contextmanager
    def held_after_another(folder):
        monkeypatch.setattr(pipelines.compare, "folder_lock", hold)
        _compare(a, b, out)  # the other comparison, which finished first
        before.update({path.name: path.read_bytes() for path in out.iterdir()})
        with hold(folder):
            yield

    monkeypatch.setattr(pipelines.compare, "folder_lock", held_after_another)
    with pytest.raises(OutputExistsError, match=f"^{re.escape(str(out))} holds compare.gpkg"):
        compare_runs(a, b, out)
    assert "manifest.json" in before
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_a_file_that_appears_once_the_folder_is_held_is_kept(runs, tmp_path, monkeypatch):
    """Without --overwrite the locked check found no output name in --out: a manifest.json
    that appears after it is another program's, neither removed as an earlier comparison's
    nor replaced; the comparison is refused when it would put its own in place."""
    import pipelines.compare

    a, b = runs
    out = tmp_path / "out"
    real_check = pipelines.compare.check_out
    checks = []

    def checked_then_written(*args, **kwargs):
        real_check(*args, **kwargs)
        checks.append(args[0])
        if len(checks) == 2:  # the check made holding the folder's lock
            (out / "manifest.json").write_text("a user's notes")

    monkeypatch.setattr(pipelines.compare, "check_out", checked_then_written)
    with pytest.raises(OutputExistsError, match=re.escape(f"{out / 'manifest.json'} exists")):
        compare_runs(a, b, out)
    assert len(checks) == 2
    assert (out / "manifest.json").read_text() == "a user's notes"


def test_only_an_overwrite_removes_the_output_names_a_comparison_does_not_write(tmp_path):
    from pipelines.compare.output import remove_stale

    for name in ("qpv_change.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert remove_stale(tmp_path, [], overwrite=False) == []
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "qpv_change.csv"]
    assert remove_stale(tmp_path, [], overwrite=True) == ["qpv_change.csv"]
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_compare_gpkg_open_in_another_program_is_not_replaced(runs, tmp_path):
    """QGIS editing compare.gpkg (WAL mode): --overwrite is refused before the work, as a
    run's zones.gpkg is, rather than put a new file beside the old one's -wal."""
    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)
    with edited_in_qgis(out / "compare.gpkg"):
        before = (out / "manifest.json").read_bytes()
        with pytest.raises(OutputError, match=r"compare.gpkg is open in another program"):
            compare_runs(a, b, out, overwrite=True)
        assert (out / "manifest.json").read_bytes() == before  # refused before the work
    with closing(sqlite3.connect(out / "compare.gpkg")) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT note FROM user_notes").fetchall() == [("kept",)]


def _change_table():
    """A comparison's layer, small: two zones."""
    import shapely

    boxes = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    return gpd.GeoDataFrame({"code_iris": ["01", "02"], "change": [0.5, -1.0]},
                            geometry=boxes, crs=2154)  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_an_ilots_zonal_into_compare_gpkg_is_refused_while_it_is_written(tmp_path, monkeypatch):
    """compare.gpkg was written with no lock: ``ilots zonal`` adding its layer meanwhile
    (its copy of the previous file renamed after the new one) put the previous comparison
    back. Held as it is written, as a run's zones.gpkg: the zonal is refused."""
    from pipelines.compare.output import write_tables
    from pipelines.outputs.tables import write_table

    gpkg = tmp_path / "compare.gpkg"
    table = _change_table()
    real_to_file, refused = gpd.GeoDataFrame.to_file, []

    def zonal_meanwhile(frame, *args, **kwargs):  # a zonal into compare.gpkg, at that moment
        with pytest.raises(OutputError) as caught:
            write_table(pd.DataFrame(table.drop(columns="geometry")), gpkg, table)
        refused.append(str(caught.value))
        return real_to_file(frame, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", zonal_meanwhile)
    write_tables({"iris_change": table}, {"iris_change": "change"}, tmp_path)
    assert refused == [
        f"{gpkg.resolve()} is being written by another ilots command (pid {os.getpid()} on "
        f"{socket.gethostname()}); wait for it to end, then run this one again"
    ]
    assert [str(name) for name, _ in pyogrio.list_layers(gpkg)] == ["iris_change"]


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_compare_gpkg_waits_for_a_layer_being_added(tmp_path, monkeypatch, caplog):
    """An ``ilots zonal`` adding its layer to compare.gpkg (its file_lock held) is waited for,
    as a run writing its zones.gpkg waits, which a warning says: the comparison's file is put
    in place after."""
    import logging
    import threading

    from pipelines.compare.output import write_tables
    from pipelines.outputs.lock import file_lock

    gpkg = tmp_path / "compare.gpkg"
    table = _change_table()
    written = threading.Thread(
        target=write_tables, args=({"iris_change": table}, {"iris_change": "change"}, tmp_path)
    )
    waiting = waits_seen(monkeypatch)
    with caplog.at_level(logging.WARNING, "pipelines.outputs.lock"), file_lock(gpkg):
        written.start()  # what zonal holds from its copy to its renaming
        assert waiting.wait(timeout=60), "the comparison did not wait for the lock"
        written.join(timeout=0.5)  # blocked, not merely about to take the lock
        assert written.is_alive() and not gpkg.exists()
    written.join()
    assert [record.getMessage() for record in caplog.records] == [
        f"{gpkg.resolve()} is being written by another ilots command (pid {os.getpid()} on "
        f"{socket.gethostname()}): waiting for it to end"
    ]
    assert gpd.read_file(gpkg, layer="iris_change")["change"].tolist() == [0.5, -1.0]


def test_an_interrupted_comparison_leaves_no_manifest(runs, tmp_path, monkeypatch):
    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)  # after compare.gpkg
    with pytest.raises(KeyboardInterrupt):
        _compare(a, b, out, overwrite=True)
    assert (out / "compare.gpkg").is_file() and not (out / "manifest.json").exists()


def test_the_output_may_not_be_another_run_folder(runs, tmp_path):
    a, b = runs
    other = _copy_run(a, tmp_path / "other")
    before = (other / "manifest.json").read_bytes()
    with pytest.raises(CompareError, match=r"holds a manifest\.json that is not an ilots compare"):
        compare_runs(a, b, other)
    assert (other / "manifest.json").read_bytes() == before
    assert sorted(path.name for path in other.iterdir()) == sorted(_FILES)
    # A run stopped or under way (no manifest yet): its rasters/ or tile checkpoints, or its
    # config and zones (a run holding its lock: test_a_held_out_is_refused_and_left_alone).
    (other / "manifest.json").unlink()
    for left in ("rasters", ".checkpoints"):
        (other / left).mkdir()
        with pytest.raises(CompareError, match=rf"is a run folder \({left}, a run stopped"):
            compare_runs(a, b, other)
        (other / left).rmdir()
    (other / "config.yaml").write_text("name: x\n", encoding="utf-8")
    with pytest.raises(CompareError, match=r"is a run folder \(config\.yaml, zones\.gpkg"):
        compare_runs(a, b, other)
    assert not (other / "compare.gpkg").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_a_held_out_is_refused_and_left_alone(runs, tmp_path):
    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)  # an earlier comparison, whose files must stay as they are
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.name != ".ilots.lock"}
    with held_elsewhere(out) as other:  # another compare, or a run
        args = ["compare", str(a), str(b), "--out", str(out), "--overwrite"]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: OutputError: {out.resolve()} is in use by another ilots command (pid "
        f"{other.pid} on {socket.gethostname()}: a run, scenarios or a comparison); wait for it "
        "to end, or choose another --out"
    ]
    after = {path.name: path.read_bytes() for path in out.iterdir() if path.name != ".ilots.lock"}
    assert after == before  # nothing written, nothing removed
    _compare(a, b, out, overwrite=True)  # free again: a comparison leaves no mark of a run


_TRY = (
    "import sys\nfrom pipelines.outputs.lock import folder_lock, read_lock\n"
    "from tiles.errors import OutputError\n"
    "try:\n    with {'write': folder_lock, 'read': read_lock}[sys.argv[1]](sys.argv[2]):\n"
    "        print('held')\nexcept OutputError as err:\n    print(err)\n"
)


def _try(how, folder):
    """Take ``folder`` in another process, to write (as a run does first) or to read."""
    done = subprocess.run([sys.executable, "-c", _TRY, how, str(folder)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
@pytest.mark.parametrize("side", ["a", "b"])
def test_a_run_folder_being_written_is_not_read(runs, tmp_path, side):
    """A run writing into A (or B) could hand the comparison a half-replaced folder."""
    written = dict(zip("ab", runs, strict=True))[side]
    out = tmp_path / "out"
    with held_elsewhere(written) as other:  # a run, scenarios or a report
        result = CliRunner().invoke(main, ["compare", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: OutputError: {written.resolve()} is being written by another ilots command "
        f"(pid {other.pid} on {socket.gethostname()}: a run, scenarios or a report); wait for "
        "it to end before reading it"
    ]
    assert not out.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_no_run_starts_in_the_run_folders_while_they_are_read(runs, tmp_path, monkeypatch):
    import pipelines.compare

    a, b = runs
    real, tried = pipelines.compare.read_run, {}

    def reading(folder):  # as each folder is read: a run into it, and another comparison
        tried[folder] = (_try("write", folder), _try("read", folder))
        return real(folder)

    monkeypatch.setattr(pipelines.compare, "read_run", reading)
    _compare(a, b, tmp_path / "out")
    me = f"pid {os.getpid()} on {socket.gethostname()}"
    for folder in (a, b):
        assert tried[folder] == (
            f"{folder.resolve()} is in use by another ilots command ({me}: a run, scenarios or "
            "a comparison); wait for it to end, or choose another --out",
            "held",  # comparisons read it side by side
        )
        assert _try("write", folder) == "held"  # free again once compared


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")
def test_the_same_run_twice_into_a_folder_inside_it_is_compared(runs, tmp_path):
    a, _ = runs
    result, said = _compare(a, a, a / "change")  # held to read twice, its sub-folder to write
    assert "same_run" in [w.code for w in said]
    assert (a / "change" / "manifest.json").is_file() and len(result.tables["iris_change"])
    assert _try("write", a) == "held"


def test_a_run_folder_left_half_replaced_is_refused(runs, tmp_path):
    """A killed ilots scenarios left its files half put in place (its commit mark)."""
    a, b = runs
    (a / ".ilots-staged").mkdir()
    mark = {"by": "ilots scenarios", "entries": ["manifest.json"]}
    (a / ".ilots-staged" / "commit.json").write_text(json.dumps(mark), encoding="utf-8")
    with pytest.raises(CompareError) as caught:
        compare_runs(a, b, tmp_path / "out")
    assert str(caught.value) == (
        f"{a}: the last ilots scenarios was stopped while it put its files in place, which "
        f"disagree; ilots report {a} completes that write, then compare it"
    )


def test_gpkg_is_version_1_2_with_descriptions_and_csvs_have_their_types(runs, tmp_path):
    a, b = runs
    out = tmp_path / "out"
    _compare(a, b, out)
    with closing(sqlite3.connect(out / "compare.gpkg")) as con:
        (version,) = con.execute("PRAGMA user_version").fetchone()
        descriptions = dict(con.execute("SELECT table_name, description FROM gpkg_contents"))
    assert version == 10200  # GeoPackage 1.2.0 (the spec's user_version)
    assert set(descriptions) == {"iris_change", "qpv_change"}
    assert "per-IRIS change" in descriptions["iris_change"]
    assert "B − A (after minus before)" in descriptions["qpv_change"]
    header = (out / "iris_change.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    types = dict(
        zip(header, (out / "iris_change.csvt").read_text().strip().split(","), strict=True)
    )
    assert types["code_iris"] == types["nom_iris"] == '"String"'
    assert types["in_qpv"] == types["unreliable"] == '"Integer(Boolean)"'
    assert types["lst_anomaly_mean_k_change"] == types["valid_frac_a"] == '"Real"'
    read = pyogrio.read_dataframe(out / "iris_change.csv")  # GDAL, as QGIS reads it
    assert read["unreliable"].dtype == bool and read["valid_frac_b"].dtype == float


@pytest.mark.parametrize("synthetic", [True, False], ids=["demo", "real"])
def test_each_csv_of_a_synthetic_comparison_ends_with_a_synthetic_column(runs, tmp_path, synthetic):
    """Issue #5: a comparison of the demo's runs says so in each CSV, a last column True on
    each row (typed Boolean for QGIS), read with pandas' defaults; with runs of real inputs
    (no run says synthetic) the CSVs have the tables' columns alone."""
    a, b = runs
    if not synthetic:
        for run in runs:
            _edit_manifest(run, lambda manifest: manifest["extra"].update(synthetic=False))

    def plant(frame):  # +1 K on three IRIS outside QPV: a change to test
        rows = frame.index[frame["lst_anomaly_mean_k"].notna() & ~frame["in_qpv"]][:3]
        frame.loc[rows, "lst_anomaly_mean_k"] += 1.0
        return frame

    _edit_layer(b, "iris", plant)
    out = tmp_path / "out"
    result, said = _compare(a, b, out)
    assert ("synthetic_run" in [w.code for w in said]) is synthetic
    mark = ["synthetic"] if synthetic else []
    for name in ("iris_change", "qpv_change", "inequality_change"):
        table = pd.read_csv(out / f"{name}.csv")
        if name in result.tables:
            columns = list(result.tables[name].drop(columns="geometry").columns)
            assert list(table.columns) == columns + mark, name
            types = (out / f"{name}.csvt").read_text().strip().split(",")
            assert len(types) == len(table.columns), name
            if synthetic:
                assert types[-1] == '"Integer(Boolean)"', name
        else:  # the inequality of the IRIS' change: one report, no outcome column
            assert list(table.columns) == [*CSV_COLUMNS, *mark], name
        if synthetic:
            assert table["synthetic"].dtype == bool and table["synthetic"].all(), name
    with closing(sqlite3.connect(out / "compare.gpkg")) as con:
        descriptions = [d for (d,) in con.execute("SELECT description FROM gpkg_contents")]
    assert len(descriptions) == 2
    for description in descriptions:  # as the runs' zones.gpkg say it
        assert description.startswith("SYNTHETIC DATA (ilots demo") is synthetic, description


def test_manifest_records_the_resolved_run_folders(runs, tmp_path, monkeypatch):
    a, b = runs
    monkeypatch.chdir(tmp_path)
    _compare("a", "b", "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["run_a"] == str(a.resolve())
    assert manifest["extra"]["runs"]["b"]["folder"] == str(b.resolve())


def test_a_duplicate_zone_id_is_refused_naming_it(runs, tmp_path):
    a, b = runs

    def duplicate(frame):
        frame.loc[0, "code_iris"] = frame.loc[1, "code_iris"]
        return frame

    frame = _edit_layer(b, "iris", duplicate)
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: ZonesError: ") and str(b) in error
    assert (
        f"the iris layer has 1 code_iris id(s) in more than one row ({frame.loc[1, 'code_iris']})"
        in error
    )


def _corrupt(gpkg):
    data = bytearray(gpkg.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # past SQLite's header: its schema page
    gpkg.write_bytes(bytes(data))


def test_a_corrupt_zones_gpkg_is_a_one_line_error(runs, tmp_path):
    a, b = runs
    _corrupt(b / "zones.gpkg")
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"{b / 'zones.gpkg'} cannot be read (" in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1
    assert "Traceback" not in result.output


def test_a_corrupt_zones_gpkg_falls_back_to_the_parquet(demo_run, runs, tmp_path):
    a, b = runs
    _corrupt(b / "zones.gpkg")
    shutil.copytree(demo_run[0] / "zones", b / "zones")
    result, said = _compare(a, b, tmp_path / "out")
    assert any("zones.gpkg cannot be read" in str(w) and "parquet" in str(w) for w in said)
    changes = result.tables["iris_change"]["lst_anomaly_mean_k_change"].dropna()
    assert len(changes) and (changes == 0).all()  # the same zones, read from the parquet


def test_a_scenario_folder_is_sent_to_its_comparison_csv(runs, tmp_path):
    a, b = runs
    scenario = b / "scenarios" / "cool_roofs"
    scenario.mkdir(parents=True)
    with pytest.raises(CompareError, match=r"is a scenario of run .*scenarios/comparison\.csv"):
        compare_runs(a, scenario, tmp_path / "out")


def test_not_a_run_folder_is_a_one_line_error(runs, tmp_path):
    a, _ = runs
    result = CliRunner().invoke(main, ["compare", str(a), str(tmp_path), "--out", "x"])
    assert result.exit_code == 1
    assert f"{tmp_path} has no manifest.json: not a finished run folder" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_output_may_not_be_a_run_folder(runs):
    a, b = runs
    with pytest.raises(CompareError, match=r"its manifest\.json would be replaced"):
        compare_runs(a, b, b)


def test_cli_prints_the_summary_and_help_says_what_is_refused(runs, tmp_path):
    a, b = runs
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "compared 64 IRIS" in result.output
    help_text = CliRunner().invoke(main, ["compare", "--help"]).output
    assert "Refuses runs on another grid" in help_text and "raw LST" in help_text


def test_strict_exits_with_its_status_when_the_comparison_warned(runs, tmp_path):
    a, b = runs
    args = ["compare", str(a), str(b), "--out", str(tmp_path / "o"), "--strict"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == STRICT_STATUS  # the demo is synthetic: a warning
    assert (tmp_path / "o" / "manifest.json").is_file()  # written all the same


def _with_map(mapping="worldcover", sha256="a" * 64, band=1):
    """Give a run the external map /data/wc.tif, with its record among the inputs."""

    def edit(manifest):
        manifest["config"]["landcover"]["external"] = {
            "path": "/data/wc.tif", "band": band, "mapping": mapping, "year": None,
        }  # fmt: skip
        manifest["inputs"].append(
            {"path": "/data/wc.tif", "kind": "file", "size": 10, "sha256": sha256}
        )

    return edit


@pytest.mark.parametrize(
    ("b_map", "said_b"),
    [
        (
            _with_map(mapping={"90": "low_vegetation"}),
            "external map wc.tif (mapping {'90': 'low_vegetation'}, band 1, sha256 aaaaaaaaaaaa)",
        ),
        (
            _with_map(sha256="b" * 64),  # another year's map under the same name
            "external map wc.tif (mapping worldcover, band 1, sha256 bbbbbbbbbbbb)",
        ),
        (
            _with_map(band=2),
            "external map wc.tif (mapping worldcover, band 2, sha256 aaaaaaaaaaaa)",
        ),
    ],
)
def test_an_external_map_differs_by_its_mapping_band_or_contents(runs, tmp_path, b_map, said_b):
    """The map's path alone was compared: another mapping or file under it went unsaid."""
    a, b = runs
    _edit_manifest(a, _with_map())
    _edit_manifest(b, b_map)
    _, said = _compare(a, b, tmp_path / "out")
    (text,) = [str(w) for w in said if w.code == "landcover_source_differs"]
    assert (
        "the land-cover source differs (external map wc.tif (mapping worldcover, band 1, "
        f"sha256 aaaaaaaaaaaa) vs {said_b})"
    ) in text


def test_the_same_external_map_is_no_difference(runs, tmp_path):
    a, b = runs
    _edit_manifest(a, _with_map())
    _edit_manifest(b, _with_map())
    _, said = _compare(a, b, tmp_path / "out")
    assert "landcover_source_differs" not in [w.code for w in said]


def test_an_external_map_without_a_recorded_hash_is_said_by_its_path(runs, tmp_path):
    a, b = runs
    _edit_manifest(a, _with_map(sha256=None))
    _edit_manifest(b, _with_map(sha256=None, mapping="oso"))
    _, said = _compare(a, b, tmp_path / "out")
    (text,) = [str(w) for w in said if w.code == "landcover_source_differs"]
    assert (
        "(external map /data/wc.tif (mapping worldcover, band 1) vs external map /data/wc.tif "
        "(mapping oso, band 1))"
    ) in text


def test_a_run_into_a_comparison_folder_is_refused(runs, demo_folder, tmp_path):
    """A run with outputs.overwrite into a finished comparison replaced its manifest.json and
    left compare.gpkg and the *_change.csv among the run's outputs."""
    from pipelines.config import apply_overrides, load_config
    from pipelines.run import run
    from tiles.errors import ConfigError

    a, b = runs
    out = tmp_path / "change"
    _compare(a, b, out)
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    config = apply_overrides(load_config(demo_folder / "config.yaml"), {"outputs.overwrite": True})
    with pytest.raises(ConfigError) as caught:
        run(config, out=out)
    assert str(caught.value) == (
        f"outputs.folder: {out.resolve()} holds a comparison (ilots compare), not a run: a run "
        "would mix its files with it; choose another --out"
    )
    # The dry run says so too (it said the run would replace "a previous run").
    from pipelines.run_plan import plan

    summary = plan(apply_overrides(config, {"outputs.folder": str(out)})).summary()
    assert (
        f"run folder: {out} holds a comparison (ilots compare), not a run: the run would stop "
        "before reading any pixel; choose another --out"
    ) in summary
    after = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    assert after == before


@pytest.mark.parametrize(
    ("extra", "config", "expected"),
    [
        ({"synthetic": True}, {}, True),
        ({"synthetic": "true"}, {}, True),
        ({"synthetic": "false"}, {}, False),
        ({"synthetic": False}, {"synthetic": "False"}, False),
        ({}, {"synthetic": True}, True),
        ({}, {}, False),
    ],
)
def test_a_run_is_synthetic_only_when_its_manifest_says_yes(tmp_path, extra, config, expected):
    """The text "false" is no, as in a raster's tag; a manifest without the key is real."""
    from pipelines.compare.runs import Run

    run = Run(tmp_path, {"extra": extra, "config": config}, {})
    assert run.synthetic is expected
