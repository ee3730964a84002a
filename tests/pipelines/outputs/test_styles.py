import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.outputs import GraduatedStyle, default_zone_styles, graduated_qml, outline_qml
from pipelines.outputs.styles import DIVERGING_RAMP, class_breaks, outline_sld, ramp_colors
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


def _rules(renderer: ET.Element) -> list[ET.Element]:
    assert renderer.get("type") == "RuleRenderer"
    return renderer.find("rules").findall("rule")


_CLASS_FILTER = re.compile(
    r'^"(?P<field>.+)" (?P<op>>=?) (?P<lo>\S+) AND "(?P=field)" <= (?P<hi>\S+)$'
)


def _class_filter(rule: ET.Element) -> tuple[str, str, float, float]:
    """Field, lower operator and bounds of a class rule's filter, read back as QGIS would."""
    match = _CLASS_FILTER.match(rule.get("filter"))
    assert match, rule.get("filter")
    assert "e" not in match["lo"].lower() + match["hi"].lower(), "positional numbers only"
    return match["field"], match["op"], float(match["lo"]), float(match["hi"])


def _matching(rules: list[ET.Element], value: float) -> list[int]:
    """Indexes of the rules whose filter a feature with ``value`` (NaN: NULL) passes."""
    hits = []
    for i, rule in enumerate(rules):
        if rule.get("filter").endswith(" IS NULL"):
            ok = np.isnan(value)
        else:
            _, op, low, high = _class_filter(rule)
            ok = (value >= low if op == ">=" else value > low) and value <= high
        if ok:
            hits.append(i)
    return hits


def test_graduated_qml_classifies_the_anomaly_blue_to_red():
    root = _parse(graduated_qml(ANOMALY))
    renderer = root.find("renderer-v2")
    rules = _rules(renderer)
    assert len(rules) == 8, "7 classes, then no value"
    classes, no_value = rules[:7], rules[7]
    # the breaks to the last bit (max |value| = 3.0: -3 + 6 i / 7), the lowest class closed
    edges = class_breaks(ANOMALY, 7)
    np.testing.assert_allclose(edges, [-3 + 6 * i / 7 for i in range(8)])
    bounds = [_class_filter(rule) for rule in classes]
    assert [b[0] for b in bounds] == ["lst_anomaly_mean_k"] * 7
    assert [b[1] for b in bounds] == [">="] + [">"] * 6
    assert [b[2] for b in bounds] == list(edges[:-1])
    assert [b[3] for b in bounds] == list(edges[1:])
    assert [r.get("label") for r in classes] == [
        f"{lo:.1f} – {hi:.1f} K" for lo, hi in itertools.pairwise(edges)
    ]
    assert classes[0].get("label") == "-3.0 – -2.1 K"
    # every value in exactly one class, a break in the lower one (as QGIS's graduated
    # renderer: the first range with lower <= value <= upper); NULL in the last rule only
    for value in [*ANOMALY, *edges]:
        if np.isnan(value):
            assert _matching(rules, value) == [7]
        else:
            expected = next(i for i in range(7) if edges[i] <= value <= edges[i + 1])
            assert _matching(rules, value) == [expected], value
    assert no_value.get("filter") == '"lst_anomaly_mean_k" IS NULL'
    assert no_value.get("label") == "no value"
    assert len({r.get("key") for r in rules}) == 8

    symbols = {s.get("name"): s for s in renderer.find("symbols").findall("symbol")}
    assert [r.get("symbol") for r in rules] == [str(i) for i in range(8)] == list(symbols)
    colors = []
    for rule in classes:
        symbol = symbols[rule.get("symbol")]
        assert len(symbol.findall("layer")) == 1
        options, props = _layer_props(symbol)
        assert options == props, "new (Option) and legacy (prop) properties agree"
        assert options["style"] == "solid"
        assert options["outline_color"] == "255,255,255,160"
        colors.append(tuple(int(c) for c in options["color"].split(",")))
    assert colors == [(*c, 255) for c in DIVERGING_RAMP], "the same colours, blue to red"
    assert root.find("layerGeometryType").text == "2"


def _class_counts(qml: str, values: np.ndarray) -> list[int]:
    """How many of ``values`` each class rule of ``qml`` draws, as QGIS evaluates the filters."""
    rules = _rules(_parse(qml).find("renderer-v2"))
    counts = [0] * (len(rules) - 1)
    for value in values:
        (hit,) = _matching(rules, value)
        counts[hit] += 1
    return counts


# -3.0, -2.9, ..., 3.0 K and one industrial zone at +12 K: 62 zones.
WITH_OUTLIER = np.append(np.arange(-30, 31) / 10, 12.0)


def test_an_outlier_takes_the_extreme_class_instead_of_squeezing_the_others():
    # By hand: the quartiles of the 62 values (numpy's linear ones, positions 15.25 and
    # 45.75 of the sorted values) are -1.475 and 1.575, so the far-out fence is
    # 1.575 + 3 x 3.05 = 10.725 < 12: the 12 K zone is an outlier, the others span ±3 K.
    edges = class_breaks(WITH_OUTLIER)
    np.testing.assert_allclose(edges, [*(-3 + 6 * i / 7 for i in range(7)), 12.0])
    # The classes cut at -3 + 6 i / 7 (-2.14, -1.29, -0.43, 0.43, ...): counting the tenths
    # in each, 9, 9, 8, 9, 8, 9, and 9 + the outlier in the last, open-ended one.
    qml = graduated_qml(WITH_OUTLIER)
    assert _class_counts(qml, WITH_OUTLIER) == [9, 9, 8, 9, 8, 9, 10]
    labels = [r.get("label") for r in _rules(_parse(qml).find("renderer-v2"))]
    assert labels[0] == "-3.0 – -2.1 K" and labels[6] == "2.1 – 12.0 K"
    # Spanning every value (the old style): classes of 24 / 7 = 3.43 K cut at ±1.71 and
    # ±5.14, so 13 + 35 + 13 = 61 of the 62 zones in the three middle classes.
    squeezed = graduated_qml(WITH_OUTLIER, GraduatedStyle(fence=None))
    assert _class_counts(squeezed, WITH_OUTLIER) == [0, 0, 13, 35, 13, 0, 1]
    np.testing.assert_allclose(class_breaks(WITH_OUTLIER, fence=None), np.linspace(-12, 12, 8))


def test_an_outlier_below_opens_the_first_class_of_plain_breaks():
    # 1.0, 1.1, ..., 3.0 and -9: quartiles (positions 5.25, 15.75) 1.425 and 2.475, the
    # far-out fence 1.425 - 3 x 1.05 = -1.725 > -9. The others span 1 to 3 in 4 classes.
    values = np.append(np.arange(10, 31) / 10, -9.0)
    edges = class_breaks(values, 4, symmetric=False)
    np.testing.assert_allclose(edges, [-9.0, 1.5, 2.0, 2.5, 3.0])
    qml = graduated_qml(values, GraduatedStyle(n_classes=4, symmetric=False, units=""))
    assert _class_counts(qml, values) == [7, 5, 5, 5]  # -9 and 1.0 ... 1.5, then 5 tenths each


def test_a_long_hot_tail_is_spanned_not_set_apart():
    # 80 zones at -0.1, -0.1 + 0.2/79, ..., 0.1 K (the city's background) and a district of
    # 20 hot zones at 1.5 + 2.5 k/19 K, k = 0..19 (1.5 to 4 K). The quartiles are about
    # -0.037 and 0.088, so the far-out fence (about 0.46 K) would set all 20 hot zones
    # apart in one class: 20 % of the zones, more than the 5 % a few outliers may be. Every
    # value is spanned: ±4 K in 7 classes of 8/7 K, cut at ±4/7, ±12/7 (1.714), ±20/7
    # (2.857). By hand: the 80 background zones in the middle class; of the hot ones,
    # k = 0, 1 (1.5, 1.63) up to 12/7, k = 2..10 (1.76 ... 2.82) up to 20/7, k = 11..19 above.
    values = np.concatenate([np.linspace(-0.1, 0.1, 80), np.linspace(1.5, 4.0, 20)])
    np.testing.assert_allclose(class_breaks(values), np.linspace(-4, 4, 8))
    assert _class_counts(graduated_qml(values), values) == [0, 0, 0, 80, 2, 9, 9]
    # With the hot zones set apart (the fence alone), they would share the last class.
    assert class_breaks(values)[-2] > 2.0


def test_a_layer_mostly_of_one_value_is_still_classified():
    # The quartiles are equal (no spread): every other value would be an outlier, and the
    # non-outliers leave nothing to span; all values are spanned then.
    np.testing.assert_allclose(class_breaks([0, 0, 0, 0, 10.0], 5), np.linspace(-10, 10, 6))
    # A non-zero constant with one outlier: the constant's class, widened by 0.5, then open.
    np.testing.assert_allclose(class_breaks([1, 1, 1, 1, 5.0], 2), [-1, 0, 5])
    np.testing.assert_allclose(class_breaks([1, 1, 1, 1, 5.0], 2, symmetric=False), [0.5, 1, 5])
    with pytest.raises(ValueError, match="fence"):
        class_breaks([1.0], fence=-1.0)


_ZONE_VALUES = st.lists(
    st.one_of(
        st.floats(-50, 50, allow_subnormal=False),
        st.sampled_from([0.0, 1.0, 300.0, -300.0, np.nan]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    values=_ZONE_VALUES,
    n_classes=st.integers(1, 9),
    symmetric=st.booleans(),
    fence=st.sampled_from([3.0, 1.5, 0.0, None]),
)
def test_every_zone_falls_in_exactly_one_class(values, n_classes, symmetric, fence):
    """No zone left unstyled in QGIS, none drawn twice, whatever the values."""
    values = np.asarray(values)
    finite = values[np.isfinite(values)]
    qml = graduated_qml(
        values, GraduatedStyle(n_classes=n_classes, symmetric=symmetric, fence=fence)
    )
    rules = _rules(_parse(qml).find("renderer-v2"))
    for value in values:
        assert len(_matching(rules, value)) == 1, value
    if finite.size == 0:
        return
    edges = class_breaks(values, n_classes, symmetric=symmetric, fence=fence)
    _, _, first, _ = _class_filter(rules[0])
    _, _, _, last = _class_filter(rules[n_classes - 1])
    assert first == edges[0] <= finite.min() and last == edges[-1] >= finite.max()
    assert np.all(np.diff(edges) > 0)
    if symmetric:  # the inner breaks mirror each other: the neutral class sits on 0
        np.testing.assert_allclose(edges[1:-1], -edges[-2:0:-1], atol=1e-12)


def test_no_value_is_hatched_light_grey_as_in_the_report():
    qml = graduated_qml(ANOMALY, GraduatedStyle(no_value_label="sans valeur"))
    renderer = _parse(qml).find("renderer-v2")
    no_value = _rules(renderer)[-1]
    assert no_value.get("label") == "sans valeur"
    symbol = renderer.find(f"symbols/symbol[@name='{no_value.get('symbol')}']")
    fill, hatch = symbol.findall("layer")
    assert (fill.get("class"), hatch.get("class")) == ("SimpleFill", "LinePatternFill")
    fill_options, fill_props = _layer_props(symbol)
    assert fill_options == fill_props
    # the report's maps: face #e4e4e4, edges and "///" hatching #9a9a9a
    assert fill_options["color"] == "228,228,228,255" and fill_options["style"] == "solid"
    assert fill_options["outline_color"] == "154,154,154,255"
    hatch_options = {o.get("name"): o.get("value") for o in hatch.find("Option")}
    assert hatch_options == {p.get("k"): p.get("v") for p in hatch.findall("prop")}
    assert hatch_options["angle"] == "45" and hatch_options["distance_unit"] == "MM"
    assert 0 < float(hatch_options["line_width"]) < float(hatch_options["distance"])
    line = hatch.find("symbol")
    assert line.get("type") == "line"
    line_options, line_props = _layer_props(line)
    assert line_options == line_props
    assert line_options["line_color"] == "154,154,154,255"
    assert line_options["line_width"] == hatch_options["line_width"]


def test_graduated_qml_breaks_keep_every_digit():
    # tiny values: a 6-decimal or exponent form would merge or garble the breaks
    values = np.array([-3.3e-7, 0.5e-7, 2.9e-7])
    rules = _rules(_parse(graduated_qml(values, GraduatedStyle(n_classes=3))).find("renderer-v2"))
    edges = class_breaks(values, 3)
    assert [_class_filter(r)[2:] for r in rules[:3]] == list(itertools.pairwise(edges))
    assert [_matching(rules, v) for v in values] == [[0], [1], [2]]


def test_graduated_qml_quantiles_other_field():
    values = np.arange(20.0)
    root = _parse(
        graduated_qml(values, GraduatedStyle(field='ndvi "mean"', method="quantile", units=""))
    )
    rules = _rules(root.find("renderer-v2"))
    # a double quote in a column name is doubled, as QgsExpression.quotedColumnRef does
    assert rules[0].get("filter").startswith('"ndvi ""mean""" >= 0 AND "ndvi ""mean""" <= ')
    assert rules[-1].get("filter") == '"ndvi ""mean""" IS NULL'
    edges = class_breaks(values, 7, method="quantile")
    assert [float(r.get("filter").rsplit(" ", 1)[1]) for r in rules[:-1]] == list(edges[1:])
    assert not rules[0].get("label").endswith(" ")


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
    assert _parse(styles["iris"]).find("renderer-v2").get("type") == "RuleRenderer"
    assert _parse(styles["qpv"]).find("renderer-v2").get("type") == "singleSymbol"
    bare = {"iris": layers["iris"].drop(columns="lst_anomaly_mean_k"), "other": layers["qpv"]}
    assert default_zone_styles(bare) == {}


def test_all_values_missing_gives_the_no_value_class_alone():
    """An all-cloudy run: every IRIS is NULL, drawn hatched as such (not QGIS's random
    single symbol of an unstyled layer)."""
    frame = pd.DataFrame({"lst_anomaly_mean_k": [np.nan, np.nan]})
    qml = default_zone_styles({"iris": frame}, GraduatedStyle(no_value_label="sans valeur"))["iris"]
    rules = _parse(qml).findall(".//rules/rule")
    assert [(r.get("label"), r.get("filter")) for r in rules] == [
        ("sans valeur", '"lst_anomaly_mean_k" IS NULL')
    ]


SLD = "{http://www.opengis.net/sld}"
SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"
#: An SLD comparison operator → the QML filter operator it stands for.
_SLD_ABOVE = {"PropertyIsGreaterThanOrEqualTo": ">=", "PropertyIsGreaterThan": ">"}


def _parse_sld(sld: str, layer: str) -> list[ET.Element]:
    """The rules of a well-formed SLD 1.1 document of ``layer`` (what QGIS exports)."""
    root = ET.fromstring(sld.encode())  # well-formed XML, its declaration included
    assert root.tag == f"{SLD}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    assert root.find(f"{SLD}NamedLayer/{SE}Name").text == layer
    return root.findall(f"{SLD}NamedLayer/{SLD}UserStyle/{SE}FeatureTypeStyle/{SE}Rule")


def _sld_params(element: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.text for p in element.findall(f"{SE}SvgParameter")}


def _sld_class(rule: ET.Element) -> tuple[str, str, float, float]:
    """Field, lower operator and bounds of a class rule's ``ogc:And`` filter."""
    above, below = list(rule.find(f"{OGC}Filter/{OGC}And"))
    assert below.tag == f"{OGC}PropertyIsLessThanOrEqualTo"
    field = above.find(f"{OGC}PropertyName").text
    assert below.find(f"{OGC}PropertyName").text == field
    low, high = (float(op.find(f"{OGC}Literal").text) for op in (above, below))
    return field, _SLD_ABOVE[above.tag.removeprefix(OGC)], low, high


def test_graduated_sld_has_the_classes_and_colours_of_the_qml():
    qml = default_zone_styles({"iris": pd.DataFrame({"lst_anomaly_mean_k": ANOMALY})})["iris"]
    sld = default_zone_styles(
        {"iris": pd.DataFrame({"lst_anomaly_mean_k": ANOMALY})}, style_format="sld"
    )["iris"]
    qml_root = _parse(qml)
    qml_rules = _rules(qml_root.find("renderer-v2"))
    sld_rules = _parse_sld(sld, "iris")
    assert len(sld_rules) == len(qml_rules) == 8
    # the same labels, fields, operators and breaks (to the last bit) as the QML's filters
    assert [r.find(f"{SE}Name").text for r in sld_rules] == [r.get("label") for r in qml_rules]
    assert [r.find(f"{SE}Description/{SE}Title").text for r in sld_rules] == [
        r.get("label") for r in qml_rules
    ]
    assert [_sld_class(r) for r in sld_rules[:7]] == [_class_filter(r) for r in qml_rules[:7]]
    # the same fill colours, and the ramp's (ColorBrewer RdBu, as hex)
    symbols = {s.get("name"): s for s in qml_root.find("renderer-v2/symbols").findall("symbol")}
    qml_fills = [_layer_props(symbols[r.get("symbol")])[0]["color"] for r in qml_rules]
    sld_fills = [_sld_params(r.find(f"{SE}PolygonSymbolizer/{SE}Fill"))["fill"] for r in sld_rules]
    as_hex = ["#" + "".join(f"{int(c):02x}" for c in rgba.split(",")[:3]) for rgba in qml_fills]
    assert sld_fills == as_hex
    assert sld_fills[:7] == ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62",
                             "#b2182b"]  # fmt: skip
    # the thin white outline at 160/255 opacity, 0.1 mm = 0.357 px of 0.28 mm
    stroke = _sld_params(sld_rules[0].find(f"{SE}PolygonSymbolizer/{SE}Stroke"))
    assert stroke["stroke"] == "#ffffff" and stroke["stroke-opacity"] == "0.63"
    assert stroke["stroke-width"] == "0.357"
    # no value: NULL, light grey, hatched grey at 45°
    null = sld_rules[7]
    assert null.find(f"{OGC}Filter/{OGC}PropertyIsNull/{OGC}PropertyName").text == (
        "lst_anomaly_mean_k"
    )
    fill, hatch = null.findall(f"{SE}PolygonSymbolizer")
    assert _sld_params(fill.find(f"{SE}Fill"))["fill"] == "#e4e4e4"
    mark = hatch.find(f"{SE}Fill/{SE}GraphicFill/{SE}Graphic")
    assert mark.find(f"{SE}Mark/{SE}WellKnownName").text == "horline"
    assert _sld_params(mark.find(f"{SE}Mark/{SE}Stroke"))["stroke"] == "#9a9a9a"
    assert mark.find(f"{SE}Rotation/{OGC}Literal").text == "45"


def test_outline_sld_is_the_qml_outline_and_labels():
    sld = default_zone_styles({"qpv": pd.DataFrame({"nom_qp": ["A"]})}, style_format="sld")["qpv"]
    outline, labels = _parse_sld(sld, "qpv")
    symbolizer = outline.find(f"{SE}PolygonSymbolizer")
    assert symbolizer.find(f"{SE}Fill") is None, "no fill"
    stroke = _sld_params(symbolizer.find(f"{SE}Stroke"))
    assert stroke["stroke"] == "#232323"  # (35, 35, 35) of the QML
    assert stroke["stroke-width"] == "2.86"  # 0.8 mm in pixels of 0.28 mm
    text = labels.find(f"{SE}TextSymbolizer")
    assert text.find(f"{SE}Label/{OGC}PropertyName").text == "nom_qp"
    unlabelled = _parse_sld(outline_sld(label_field=None), "qpv")
    assert len(unlabelled) == 1


def test_style_format_is_checked(layers):
    with pytest.raises(ValueError, match="style_format must be 'qml' or 'sld'"):
        default_zone_styles(layers, style_format="svg")


def test_a_graduated_style_is_checked_when_made_and_hashable():
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        GraduatedStyle(n_classes=0)
    with pytest.raises(ValueError, match="method must be 'equal' or 'quantile'"):
        GraduatedStyle(method="jenks")
    with pytest.raises(ValueError, match="fence must be a number >= 0"):
        GraduatedStyle(fence=-1.0)
    # stops given as lists are kept as tuples: the spec stays frozen and hashable
    style = GraduatedStyle(ramp=[[0, 0, 255], [255, 0, 0]], outline=[0, 0, 0, 255])
    assert style.ramp == ((0, 0, 255), (255, 0, 0)) and style.outline == (0, 0, 0, 255)
    assert hash(style) == hash(GraduatedStyle(ramp=((0, 0, 255), (255, 0, 0)),
                                              outline=(0, 0, 0, 255)))  # fmt: skip


# -5 and +7.3 K lie beyond a ±3.5 K range; the rest inside it, two of them on breaks.
BEYOND = np.array([-5.0, -2.5, -0.4, 0.0, 1.2, 2.5, 3.4, 7.3, np.nan])
_COMPARISON = re.compile(r'^"lst_anomaly_mean_k" (?P<op><=|>=|>) (?P<value>\S+)$')
_OPS = {"<=": np.less_equal, ">=": np.greater_equal, ">": np.greater}


def _open_matching(rules: list[ET.Element], value: float) -> list[int]:
    """As :func:`_matching`, for filters of one or two comparisons (open end classes too)."""
    hits = []
    for i, rule in enumerate(rules):
        text = rule.get("filter")
        if text.endswith(" IS NULL"):
            ok = np.isnan(value)
        else:
            comparisons = [_COMPARISON.match(part) for part in text.split(" AND ")]
            assert all(comparisons), text
            ok = all(_OPS[c["op"]](value, float(c["value"])) for c in comparisons)
        if ok:
            hits.append(i)
    return hits


def test_a_fixed_range_gives_equal_classes_open_beyond_it():
    """outputs.anomaly_range_k: 3.5 K → 7 classes 1 K wide from -3.5 to 3.5 K, whatever
    the values; -5 K and 7.3 K take the end classes."""
    style = GraduatedStyle(no_value_label="no value", bound=3.5)
    qml = default_zone_styles({"iris": pd.DataFrame({"lst_anomaly_mean_k": BEYOND})}, style)
    rules = _rules(_parse(qml["iris"]).find("renderer-v2"))
    assert len(rules) == 8, "7 classes, then no value"
    # by hand: the breaks -3.5 + i for i = 1 .. 6; the end classes have no outer bound
    breaks = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    assert rules[0].get("filter") == '"lst_anomaly_mean_k" <= -2.5'
    assert [_class_filter(rule)[1:] for rule in rules[1:6]] == [
        (">", low, high) for low, high in itertools.pairwise(breaks)
    ]
    assert rules[6].get("filter") == '"lst_anomaly_mean_k" > 2.5'
    assert [r.get("label") for r in rules] == [
        "≤ -2.5 K", "-2.5 – -1.5 K", "-1.5 – -0.5 K", "-0.5 – 0.5 K", "0.5 – 1.5 K",
        "1.5 – 2.5 K", "> 2.5 K", "no value",
    ]  # fmt: skip
    expected = {-5.0: 0, -2.5: 0, -0.4: 3, 0.0: 3, 1.2: 4, 2.5: 5, 3.4: 6, 7.3: 6}
    for value in BEYOND:
        hit = 7 if np.isnan(value) else expected[value]
        assert _open_matching(rules, value) == [hit], value
    # the same classes for other values: only the range decides them
    other = default_zone_styles({"iris": pd.DataFrame({"lst_anomaly_mean_k": BEYOND / 3})}, style)
    assert other == qml
    # without it, as before: fitted to the values (here up to 7.3 K, not an outlier)
    assert _class_filter(_rules(_parse(graduated_qml(BEYOND)).find("renderer-v2"))[6])[3] == 7.3


def test_a_fixed_range_sld_has_the_open_end_classes():
    frame = pd.DataFrame({"lst_anomaly_mean_k": BEYOND})
    style = GraduatedStyle(bound=3.5)
    sld = _parse_sld(
        default_zone_styles({"iris": frame}, style, style_format="sld")["iris"], "iris"
    )
    qml = _rules(_parse(default_zone_styles({"iris": frame}, style)["iris"]).find("renderer-v2"))
    assert [r.find(f"{SE}Name").text for r in sld] == [r.get("label") for r in qml]
    (first,) = list(sld[0].find(f"{OGC}Filter"))
    assert first.tag == f"{OGC}PropertyIsLessThanOrEqualTo"
    assert first.find(f"{OGC}Literal").text == "-2.5"
    (last,) = list(sld[6].find(f"{OGC}Filter"))
    assert last.tag == f"{OGC}PropertyIsGreaterThan" and last.find(f"{OGC}Literal").text == "2.5"
    assert [_sld_class(r) for r in sld[1:6]] == [_class_filter(r) for r in qml[1:6]]


def test_a_fixed_range_is_checked():
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="bound must be a finite number > 0"):
            GraduatedStyle(bound=bad)
    with pytest.raises(ValueError, match="a fixed bound needs the 'equal' method"):
        GraduatedStyle(bound=2.0, method="quantile")


def test_a_fixed_range_breaks_read_as_typed():
    """±1.4 K: breaks -1.4 + 0.4 i read -1, -0.6, -0.2, 0.2 ... (not -0.19999999999999996)."""
    qml = graduated_qml(BEYOND, GraduatedStyle(bound=1.4))
    filters = [r.get("filter") for r in _rules(_parse(qml).find("renderer-v2"))]
    assert filters[3] == '"lst_anomaly_mean_k" > -0.2 AND "lst_anomaly_mean_k" <= 0.2'
    assert [r.get("label") for r in _rules(_parse(qml).find("renderer-v2"))][::6] == [
        "≤ -1.0 K",
        "> 1.0 K",
    ]
