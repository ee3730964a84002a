"""QGIS styles of the run rasters (QML sidecars): ranges, legends, and their files."""

import xml.etree.ElementTree as ET

import dask.array as da
import numpy as np
import pytest

from pipelines.outputs import write_rasters
from pipelines.outputs.raster_styles import (
    COUNT_RAMP,
    THERMAL_RAMP,
    count_classes,
    count_qml,
    paletted_qml,
    pseudocolor_qml,
    raster_style_qml,
    stretch,
    write_raster_style,
)
from tests.pipelines.outputs.helpers import grid_array


def _renderer(qml: str) -> ET.Element:
    root = ET.fromstring(qml.split("\n", 1)[1])  # past the doctype
    assert root.tag == "qgis" and root.find("blendMode") is not None
    return root.find("pipe/rasterrenderer")


def _items(renderer: ET.Element) -> list[tuple[float, str, str]]:
    shader = renderer.find("rastershader/colorrampshader")
    return [(float(i.get("value")), i.get("label"), i.get("color")) for i in shader.iter("item")]


def test_stretch_is_the_2_98_percent_cut():
    # 0, 1, ..., 100: the 2nd and 98th percentiles are 2 and 98 (linear interpolation).
    values = np.append(np.arange(101.0), [np.nan, np.inf])
    assert stretch(values) == (2.0, 98.0)
    assert stretch(values - 90.0, symmetric=True) == (-88.0, 88.0)  # -88 .. 8 → ±88
    # A scenario's ΔT: 0 wherever nothing changed; the range comes from the changes.
    delta = np.zeros(1000)
    delta[:11] = -np.arange(11.0)  # -1 … -10 K on 1 % of the pixels
    assert stretch(delta, symmetric=True) == (-0.5, 0.5)  # the zeros swamp the 2-98 % cut
    low, high = stretch(delta, symmetric=True, nonzero=True)
    assert high == -low == pytest.approx(np.percentile(np.arange(1.0, 11.0), 98))
    assert stretch(np.full(5, 2.0)) == (1.5, 2.5)
    assert stretch(np.full(5, np.nan)) is None


def test_pseudocolor_qml_ramp_items_and_labels():
    renderer = _renderer(pseudocolor_qml(300.0, 312.0, THERMAL_RAMP, units="K"))
    assert renderer.get("type") == "singlebandpseudocolor" and renderer.get("band") == "1"
    assert (float(renderer.get("classificationMin")), float(renderer.get("classificationMax"))) == (
        300.0,
        312.0,
    )
    assert renderer.find("minMaxOrigin/limits").text == "None"  # QGIS keeps the range
    items = _items(renderer)
    assert [v for v, _, _ in items] == [300.0, 302.0, 304.0, 306.0, 308.0, 310.0, 312.0]
    assert [label for _, label, _ in items][:2] == ["300.0 K", "302.0 K"]
    assert items[0][2] == "#4575b4" and items[-1][2] == "#d73027"  # blue cool, red hot
    shader = renderer.find("rastershader/colorrampshader")
    assert shader.get("colorRampType") == "INTERPOLATED"
    with pytest.raises(ValueError, match="low < high"):
        pseudocolor_qml(1.0, 1.0, THERMAL_RAMP)


def test_count_classes_one_per_count_or_binned():
    assert count_classes(0) == [(0, 0)]
    assert count_classes(4) == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
    assert count_classes(11) == [(0, 0)] + [(k, k) for k in range(1, 12)]  # 12 classes
    # 1 to 40 in at most 11 bins: ceil(40 / 11) = 4 counts each, 1-4 ... 37-40
    assert count_classes(40) == [(0, 0)] + [(k, k + 3) for k in range(1, 41, 4)]
    # 1 to 12 in 2-count bins; 1 to 23 in 3-count bins, the last one 22-23
    assert count_classes(12)[-1] == (11, 12) and len(count_classes(12)) == 7
    assert count_classes(23)[-2:] == [(19, 21), (22, 23)]
    with pytest.raises(ValueError, match="count >= 0"):
        count_classes(-1)


def _discrete_shader(qml: str) -> ET.Element:
    renderer = _renderer(qml)
    assert renderer.get("type") == "singlebandpseudocolor"
    shader = renderer.find("rastershader/colorrampshader")
    assert shader.get("colorRampType") == "DISCRETE"
    return shader


def test_counts_get_discrete_classes_labelled_with_whole_numbers():
    shader = _discrete_shader(count_qml(4, COUNT_RAMP))
    items = [(i.get("value"), i.get("label"), i.get("color")) for i in shader.iter("item")]
    # QGIS's discrete shader: a value takes the first item whose value is not below it; the
    # last item, at inf, takes any count above the sampled maximum too.
    assert [(v, label) for v, label, _ in items] == [
        ("0.0", "0"), ("1.0", "1"), ("2.0", "2"), ("3.0", "3"), ("inf", "≥ 4")
    ]  # fmt: skip
    assert items[0][2] == "#ffffcc" and items[-1][2] == "#0c2c84"  # the ramp's ends
    assert len({color for _, _, color in items}) == 5
    binned = _discrete_shader(count_qml(40, COUNT_RAMP))
    labels = [(i.get("value"), i.get("label")) for i in binned.iter("item")]
    assert labels[:3] == [("0.0", "0"), ("4.0", "1–4"), ("8.0", "5–8")]
    assert labels[-2:] == [("36.0", "33–36"), ("inf", "≥ 37")]


def test_n_clear_is_styled_as_counts():
    counts = np.array([[0, 2, 3], [3, 3, np.nan]])  # NaN: no data
    shader = _discrete_shader(raster_style_qml("n_clear", counts))
    assert [i.get("label") for i in shader.iter("item")] == ["0", "1", "2", "≥ 3"]
    assert raster_style_qml("n_clear", np.full(3, np.nan)) is None
    zeros = _discrete_shader(raster_style_qml("n_clear", np.zeros(3)))
    assert [(i.get("value"), i.get("label")) for i in zeros.iter("item")] == [("inf", "≥ 0")]


def test_land_cover_palette_names_every_class():
    renderer = _renderer(raster_style_qml("landcover"))
    assert renderer.get("type") == "paletted"
    entries = {
        int(e.get("value")): (e.get("label"), e.get("color")) for e in renderer.iter("paletteEntry")
    }
    assert entries == {
        1: ("water", "#3182bd"),
        2: ("dense vegetation", "#238443"),
        3: ("low vegetation", "#addd8e"),
        4: ("built", "#cb181d"),
        5: ("bare soil", "#d9b47e"),
    }  # raster.landcover.CLASS_COLOURS, no entry for 0 (no data)
    with pytest.raises(ValueError, match="at least one class"):
        paletted_qml({})


def test_styles_by_raster():
    values = np.linspace(-3.0, 5.0, 101)
    anomaly = _items(_renderer(raster_style_qml("lst_anomaly", values)))
    assert anomaly[0][0] == -anomaly[-1][0] and anomaly[3][0] == 0.0  # white on 0
    assert anomaly[3][2] == "#f7f7f7" and anomaly[-1][1].endswith(" K")
    ndvi = _items(_renderer(raster_style_qml("ndvi_median", values / 10)))
    assert not ndvi[0][1].endswith("K") and ndvi[-1][2] == "#005a32"  # dark green high
    assert raster_style_qml("lst_median", np.full(4, np.nan)) is None  # all clouds
    assert raster_style_qml("my_extra_layer", values) is None  # no style known


@pytest.mark.parametrize("lazy", [False, True])
def test_write_rasters_puts_a_style_beside_each_cog(tmp_path, lazy):
    lst = np.arange(101.0 * 7).reshape(7, 101).astype("float32") + 290.0
    lst[0, :5] = np.nan
    data = grid_array(lst)
    if lazy:
        data = data.copy(data=da.from_array(lst, chunks=(4, 50)))
    paths = write_rasters({"lst_median": data}, tmp_path, compute=True)
    qml = (tmp_path / "lst_median.qml").read_text(encoding="utf-8")
    renderer = _renderer(qml)
    finite = lst[np.isfinite(lst)]  # 702 values: the file is read whole (no overview needed)
    assert float(renderer.get("classificationMin")) == pytest.approx(np.percentile(finite, 2))
    assert float(renderer.get("classificationMax")) == pytest.approx(np.percentile(finite, 98))
    assert paths["lst_median"].with_suffix(".qml").is_file()

    write_rasters({"lst_median": data}, tmp_path / "plain", compute=True, qgis_styles=False)
    assert not list((tmp_path / "plain").glob("*.qml"))


def test_a_raster_without_values_loses_its_old_style(tmp_path):
    good = grid_array(np.linspace(290, 300, 64 * 64, dtype="float32").reshape(64, 64))
    write_rasters({"lst_median": good}, tmp_path, compute=True)
    assert (tmp_path / "lst_median.qml").is_file()
    cloudy = grid_array(np.full((64, 64), np.nan, dtype="float32"))
    write_rasters({"lst_median": cloudy}, tmp_path, compute=True)  # an overwriting run
    assert not (tmp_path / "lst_median.qml").exists()  # no stale range from the last run
    assert write_raster_style(tmp_path / "lst_median.tif") is None


def _ramp_range(renderer: ET.Element) -> tuple[float, ...]:
    """The range of a pseudocolour renderer, as its renderer and its shader say it."""
    shader = renderer.find("rastershader/colorrampshader")
    return tuple(
        float(element.get(key))
        for element, key in (
            (renderer, "classificationMin"),
            (renderer, "classificationMax"),
            (shader, "minimumValue"),
            (shader, "maximumValue"),
        )
    )


@pytest.mark.parametrize("name", ["lst_anomaly", "lst_anomaly_p90"])
def test_an_anomaly_range_fixes_the_anomaly_ramps(name):
    """outputs.anomaly_range_k: 2.5 K spans -2.5 .. 2.5 K, whatever the values (±9 K)."""
    values = np.linspace(-9.0, 9.0, 101)
    renderer = _renderer(raster_style_qml(name, values, anomaly_range_k=2.5))
    assert _ramp_range(renderer) == (-2.5, 2.5, -2.5, 2.5)
    shader = renderer.find("rastershader/colorrampshader")
    assert shader.get("clip") == "0", "values beyond the range take the end colours"
    items = _items(renderer)
    # 7 stops 5/6 K apart, by hand: -2.5, -5/3, -5/6, 0, 5/6, 5/3, 2.5
    np.testing.assert_allclose([v for v, _, _ in items], [-2.5 + 5 * i / 6 for i in range(7)])
    labels = [label for _, label, _ in items]
    assert labels[0] == "≤ -2.5 K" and labels[-1] == "≥ 2.5 K"
    assert labels[1:-1] == ["-1.7 K", "-0.8 K", "0.0 K", "0.8 K", "1.7 K"]
    assert items[3][2] == "#f7f7f7", "white on 0"
    assert raster_style_qml(name, None, anomaly_range_k=2.5) is not None, "no values needed"
    # without it, as before: the 2-98 % cut of the values, symmetric (±8.64 K)
    low, high = _ramp_range(_renderer(raster_style_qml(name, values)))[:2]
    assert high == -low == pytest.approx(np.percentile(values, 98))


def test_an_anomaly_range_leaves_the_other_rasters_styled_by_their_values():
    values = np.linspace(-9.0, 9.0, 101)
    for name in ("lst_median", "lst_zscore", "delta_lst", "ndvi_median"):
        fixed = raster_style_qml(name, values, anomaly_range_k=2.5)
        assert fixed == raster_style_qml(name, values), name


def test_write_rasters_gives_the_anomaly_styles_the_range(tmp_path):
    anomaly = grid_array(np.linspace(-6.0, 6.0, 64 * 64, dtype="float32").reshape(64, 64))
    lst = grid_array(np.linspace(290, 300, 64 * 64, dtype="float32").reshape(64, 64))
    rasters = {"lst_anomaly": anomaly, "lst_median": lst}
    write_rasters(rasters, tmp_path / "fixed", compute=True, anomaly_range_k=4.0)
    write_rasters(rasters, tmp_path / "own", compute=True)
    fixed = _renderer((tmp_path / "fixed" / "lst_anomaly.qml").read_text(encoding="utf-8"))
    assert _ramp_range(fixed) == (-4.0, 4.0, -4.0, 4.0)
    own = _renderer((tmp_path / "own" / "lst_anomaly.qml").read_text(encoding="utf-8"))
    assert _ramp_range(own)[1] > 5.5  # the 98th percentile of -6 .. 6 K
    for folder in ("fixed", "own"):  # the LST keeps its own range
        renderer = _renderer((tmp_path / folder / "lst_median.qml").read_text(encoding="utf-8"))
        assert _ramp_range(renderer)[:2] == pytest.approx((290.2, 299.8), abs=0.01)
    with pytest.raises(ValueError, match="anomaly_range_k must be a number > 0"):
        write_rasters(rasters, tmp_path / "bad", compute=True, anomaly_range_k=0.0)
