import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pipelines.outputs import default_zone_styles, graduated_qml, outline_qml
from pipelines.outputs.styles import DIVERGING_RAMP, class_breaks, ramp_colors
from tests.pipelines.outputs.helpers import ANOMALY


def _parse(qml: str) -> ET.Element:
    assert qml.startswith("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>")
    root = ET.fromstring(qml)
    assert root.tag == "qgis"
    return root


def _layer_props(symbol: ET.Element) -> tuple[dict[str, str], dict[str, str]]:
    """A symbol layer's properties as the Option map and as the legacy prop list."""
    layer = symbol.find("layer")
    options = {o.get("name"): o.get("value") for o in layer.find("Option").findall("Option")}
    props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
    return options, props


def test_equal_breaks_are_symmetric_about_zero():
    # max |value| = 3.0: edges -3 + 6 i / 7, by hand
    edges = class_breaks(ANOMALY, 7)
    np.testing.assert_allclose(edges, [-3 + 6 * i / 7 for i in range(8)])
    assert edges[3] < 0 < edges[4], "the middle class straddles 0"


def test_equal_breaks_plain_and_quantiles():
    np.testing.assert_allclose(class_breaks([1, 2, 3, 4, 5], 4, symmetric=False), [1, 2, 3, 4, 5])
    # numpy's default (linear) quantiles of 1..8: position 7 q, so 2.75, 4.5, 6.25
    q = class_breaks(np.arange(1, 9), 4, method="quantile")
    np.testing.assert_allclose(q, [1, 2.75, 4.5, 6.25, 8])
    # tied values merge duplicate edges into fewer classes
    assert len(class_breaks([1, 1, 1, 1, 2], 4, method="quantile")) < 5


def test_breaks_edge_cases():
    np.testing.assert_allclose(class_breaks([2.0, 2.0], 2, symmetric=False), [1.5, 2.0, 2.5])
    np.testing.assert_allclose(class_breaks([0.0, 0.0], 2), [-0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="no finite values"):
        class_breaks([np.nan, np.inf])
    with pytest.raises(ValueError, match="n_classes"):
        class_breaks([1.0], 0)
    with pytest.raises(ValueError, match="method"):
        class_breaks([1.0], 3, method="jenks")


def test_ramp_colors():
    assert ramp_colors(7) == list(DIVERGING_RAMP)
    three = ramp_colors(3)
    assert three[0] == DIVERGING_RAMP[0] and three[-1] == DIVERGING_RAMP[-1]
    assert three[1] == DIVERGING_RAMP[3]


def test_graduated_qml_classifies_the_anomaly_blue_to_red():
    root = _parse(graduated_qml(ANOMALY))
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == "lst_anomaly_mean_k"
    assert renderer.get("graduatedMethod") == "GraduatedColor"
    ranges = renderer.find("ranges").findall("range")
    assert len(ranges) == 7
    lowers = [float(r.get("lower")) for r in ranges]
    uppers = [float(r.get("upper")) for r in ranges]
    assert uppers[:-1] == lowers[1:], "classes are contiguous"
    finite = ANOMALY[np.isfinite(ANOMALY)]
    assert lowers[0] <= finite.min() and uppers[-1] >= finite.max()
    assert all(r.get("label").endswith(" K") for r in ranges)
    assert ranges[0].get("label") == "-3.0 – -2.1 K"
    symbols = {s.get("name"): s for s in renderer.find("symbols").findall("symbol")}
    assert {r.get("symbol") for r in ranges} == set(symbols)
    colors = []
    for r in ranges:
        options, props = _layer_props(symbols[r.get("symbol")])
        assert options == props, "new (Option) and legacy (prop) properties agree"
        assert options["style"] == "solid"
        colors.append(tuple(int(c) for c in options["color"].split(",")))
    assert colors[0][2] > colors[0][0], "lowest class is blue"
    assert colors[-1][0] > colors[-1][2], "highest class is red"
    method = renderer.find("classificationMethod")
    assert method.get("id") == "EqualInterval"
    assert method.find("symmetricMode").get("enabled") == "1"
    assert renderer.find("colorramp").get("name") == "[source]"
    assert root.find("layerGeometryType").text == "2"


def test_graduated_qml_quantiles_other_field():
    root = _parse(graduated_qml(np.arange(20.0), field="ndvi_mean", method="quantile", units=""))
    renderer = root.find("renderer-v2")
    assert renderer.get("attr") == "ndvi_mean"
    assert renderer.find("classificationMethod").get("id") == "Quantile"
    assert not renderer.find("ranges").find("range").get("label").endswith(" ")


def test_outline_qml_no_fill_thick_outline_labelled():
    root = _parse(outline_qml())
    assert root.get("labelsEnabled") == "1"
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "singleSymbol"
    options, props = _layer_props(renderer.find("symbols").find("symbol"))
    assert options == props
    assert options["style"] == "no"
    assert float(options["outline_width"]) >= 0.5
    red, green, blue, alpha = (int(c) for c in options["outline_color"].split(","))
    assert max(red, green, blue) < 80 and alpha == 255
    labeling = root.find("labeling")
    assert labeling.get("type") == "simple"
    assert labeling.find("settings/text-style").get("fieldName") == "nom_qp"
    unlabelled = _parse(outline_qml(label_field=None))
    assert unlabelled.get("labelsEnabled") == "0" and unlabelled.find("labeling") is None


def test_default_zone_styles(layers):
    styles = default_zone_styles(layers)
    assert set(styles) == {"iris", "qpv"}
    assert _parse(styles["iris"]).find("renderer-v2").get("type") == "graduatedSymbol"
    assert _parse(styles["qpv"]).find("renderer-v2").get("type") == "singleSymbol"
    bare = {"iris": layers["iris"].drop(columns="lst_anomaly_mean_k"), "other": layers["qpv"]}
    assert default_zone_styles(bare) == {}
