"""QGIS styles (QML) for the zone layers, so that ``zones.gpkg`` opens styled in QGIS.

Two styles, written as QGIS writes them (``<qgis>`` root, ``renderer-v2``), with each
symbol layer's properties both as an ``<Option type="Map">`` (the current format) and as the
legacy ``<prop k v>`` list (all older QGIS 3 releases read only that one):

* :func:`graduated_qml`: graduated colours on one numeric column (a :class:`GraduatedStyle`),
  by default ``lst_anomaly_mean_k`` of the ``iris`` layer, with a diverging blue → red ramp
  (ColorBrewer RdBu, 7 classes) and breaks computed from the data: equal intervals symmetric
  about 0 (the middle class astride 0 is the neutral colour) or quantiles. The equal intervals
  span the zones that are not outliers (Tukey's far-out fences), and the two outermost classes
  reach the minimum and maximum: one hot industrial zone takes the darkest red instead of
  pushing every other zone into the pale middle classes. Or equal classes of a fixed range
  ``[-v, v]`` (``outputs.anomaly_range_k``, :attr:`GraduatedStyle.bound`), the end classes
  open beyond it, so that two runs' colours mean the same ΔT. Labels carry the unit (K). A last
  legend class, "no value", draws the zones whose value is NULL (the ``lst_*`` columns of a
  zone under ``zones.min_valid_frac``, of ``valid_frac``, or for ΔT's, of
  ``anomaly_valid_frac``) in hatched light grey, as the report's maps do.
* :func:`outline_qml`: a single-symbol renderer with no fill and a thick dark outline, labelled
  by a name field (``nom_qp`` for the QPV layer).

The graduated colours are a rule-based renderer (``RuleRenderer``), one rule per class and one
``IS NULL`` rule, not QGIS's graduated renderer (``graduatedSymbol``): that one has no class
for NULL and draws nothing for those features (qgis/QGIS#31853), so the zones without a value
were holes in the map, and nothing in a style can draw them beside it (one renderer per
layer; the renderers that wrap another, an ``embeddedRenderer``, are the inverted-polygon,
merged-feature and point displacement / cluster ones, and none draws what the one it wraps
skips). The rule-based renderer and its XML are the same in QGIS 2 and every QGIS 3, and its
legend lists the rules in their order. The filters are those QGIS writes when it converts a
graduated renderer to rules (``QgsRuleBasedRenderer::convertFromRenderer``), ``>= lower AND
<= upper`` for the first class and ``> lower AND <= upper`` after it, so a value on a break
falls in the lower class as with the graduated renderer and no feature is drawn twice; the
breaks keep every digit (QGIS rounds them to 6 decimals there), only the labels are rounded.
What the rules lose is the graduated renderer's one-click reclassification in QGIS's layer
properties ("Refine Selected Rules › Add Ranges to Rules" still splits a class).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pipelines.outputs._atomic import ilots_version

__all__ = [
    "DIVERGING_RAMP",
    "LST_ANOMALY_STYLE",
    "NO_VALUE_FILL",
    "NO_VALUE_HATCH",
    "OUTLIER_FENCE",
    "OUTLIER_SHARE",
    "GraduatedStyle",
    "class_breaks",
    "default_zone_styles",
    "graduated_qml",
    "graduated_sld",
    "outline_qml",
    "outline_sld",
    "ramp_colors",
]

#: ColorBrewer RdBu, 7 classes, reversed: blue (cool) → near white → red (hot).
DIVERGING_RAMP: tuple[tuple[int, int, int], ...] = (
    (33, 102, 172),
    (103, 169, 207),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (239, 138, 98),
    (178, 24, 43),
)

#: Zones without a value: light grey under grey ``///`` hatching, as the report's maps draw
#: them (``pipelines.report.figures.map_figure``: face ``#e4e4e4``, edge and hatch ``#9a9a9a``).
NO_VALUE_FILL: tuple[int, int, int] = (228, 228, 228)
NO_VALUE_HATCH: tuple[int, int, int] = (154, 154, 154)
# Matplotlib's "///" as it draws it (measured at 100 to 508 dpi): lines 2.0 mm apart, 1 pt
# (hatch.linewidth, 0.35 mm) wide, at 45°; the report's zone edges are 0.4 pt (0.14 mm).
_HATCH_ANGLE = 45.0  # degrees anticlockwise from the x axis: "/"
_HATCH_DISTANCE_MM = 2.0
_HATCH_WIDTH_MM = 0.35
_NO_VALUE_OUTLINE_MM = 0.14

_CLASS_OUTLINE_MM = 0.1  # the thin outline of each class of the graduated style
#: SLD's standard rendering pixel (OGC SE 1.1 §10.2), what QGIS converts millimetres with.
_SLD_PIXEL_MM = 0.28
#: The root attributes of the SLD 1.1 documents QGIS exports (``QgsVectorLayer::exportSldStyle``).
_SLD_NAMESPACES = {
    "xmlns": "http://www.opengis.net/sld",
    "xmlns:ogc": "http://www.opengis.net/ogc",
    "xmlns:se": "http://www.opengis.net/se",
    "xmlns:xlink": "http://www.w3.org/1999/xlink",
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "version": "1.1.0",
    "xsi:schemaLocation": "http://www.opengis.net/sld "
    "http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
}

_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_QGIS_VERSION = "3.28.0-Firenze"  # an LTR still in use: newer QGIS read it silently
_POLYGON = "2"  # QgsWkbTypes::PolygonGeometry, the layerGeometryType of a polygon layer
_METHODS = ("equal", "quantile")
#: Tukey's fence factor of :func:`class_breaks`: farther than this many interquartile ranges
#: beyond the quartiles, a zone is an outlier (his "far out" values).
OUTLIER_FENCE = 3.0
#: Most outliers :func:`class_breaks` sets apart, as a share of the zones (at least one): a
#: longer tail (a district of hot IRIS) is what the map is for, and is spanned by the classes.
OUTLIER_SHARE = 0.05

BreakMethod = Literal["equal", "quantile"]


def class_breaks(
    values: ArrayLike,
    n_classes: int = 7,
    *,
    method: BreakMethod = "equal",
    symmetric: bool = True,
    fence: float | None = OUTLIER_FENCE,
) -> np.ndarray:
    """Class edges (``n + 1`` increasing numbers) of the finite ``values``.

    Parameters
    ----------
    values
        The column to classify; NaN and infinities are ignored.
    n_classes
        Number of classes (at least 1).
    method
        ``"equal"``: equal intervals; ``"quantile"``: equal counts (duplicate edges, from
        tied values, are merged so fewer classes may come back).
    symmetric
        With ``"equal"``, span ``[-m, m]`` where ``m`` is the largest ``|value|`` of a
        non-outlier, so that a diverging ramp puts its neutral colour on 0 (an anomaly of
        zero). Ignored for quantiles.
    fence
        With ``"equal"``: values more than ``fence`` interquartile ranges below the first
        quartile or above the third (Tukey's fences; 3, his "far out" values) are outliers.
        The equal intervals span the other values, and the outermost classes are
        open-ended: they stretch to the minimum and maximum, so an outlier takes the
        extreme colour without squeezing every other zone into the middle classes. Only
        when the outliers are few (:data:`OUTLIER_SHARE` of the zones, at least one): a
        long tail of hot zones is spanned like the rest. ``None``: every value is spanned.

    Returns
    -------
    numpy.ndarray
        Edges, the first ≤ the minimum value and the last ≥ the maximum.

    Raises
    ------
    ValueError
        No finite value, or a bad ``n_classes`` / ``method`` / ``fence``.
    """
    _check_classes(n_classes, method, fence)
    data = np.asarray(values, dtype=np.float64).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        raise ValueError("no finite values to classify; check the zonal statistics column")
    if method == "quantile":
        edges = np.unique(np.quantile(data, np.linspace(0.0, 1.0, n_classes + 1)))
        if edges.size >= 2:
            return edges
    low, high = _spanned(data, fence)
    if symmetric and method == "equal":
        bound = max(abs(low), abs(high))
        low, high = (-bound, bound) if bound > 0 else (-0.5, 0.5)
    elif low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, n_classes + 1)
    edges[0], edges[-1] = min(edges[0], data.min()), max(edges[-1], data.max())
    return edges


def _check_classes(n_classes: int, method: str, fence: float | None) -> None:
    """Raise ValueError for a bad ``n_classes``, ``method`` or ``fence`` of :func:`class_breaks`."""
    if not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be 'equal' or 'quantile', got {method!r}")
    if fence is not None and not fence >= 0:
        raise ValueError(f"fence must be a number >= 0 (or None for no outliers), got {fence!r}")


def _spanned(data: np.ndarray, fence: float | None) -> tuple[float, float]:
    """Smallest and largest of the finite ``data`` that are not outliers (see ``fence``).

    Every value is spanned where the outliers are more than :data:`OUTLIER_SHARE` of the
    values (at least one may be set apart), and where the non-outliers are all 0 (a layer
    mostly of zeros): the fences would leave nothing to classify.
    """
    if fence is not None:
        first, third = np.percentile(data, [25.0, 75.0])
        reach = fence * (third - first)
        inliers = data[(data >= first - reach) & (data <= third + reach)]
        few = data.size - inliers.size <= max(1, int(OUTLIER_SHARE * data.size))
        if few and np.any(inliers != 0):
            return float(inliers.min()), float(inliers.max())
    return float(data.min()), float(data.max())


def ramp_colors(
    n: int, ramp: Sequence[tuple[int, int, int]] = DIVERGING_RAMP
) -> list[tuple[int, int, int]]:
    """``n`` colours sampled evenly along ``ramp`` (linear in RGB), first and last included."""
    if n < 1:
        raise ValueError(f"need at least one colour, got n={n}")
    stops = np.asarray(ramp, dtype=np.float64)
    where = np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5])
    grid = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(where, grid, stops[:, c]) for c in range(3)]
    return [tuple(round(float(ch[i])) for ch in channels) for i in range(n)]  # type: ignore[misc]


@dataclass(frozen=True)
class GraduatedStyle:
    """The graduated colours of one numeric column (:func:`graduated_qml`, :func:`graduated_sld`).

    Attributes
    ----------
    field
        Attribute the renderer classifies.
    n_classes, method, symmetric, fence
        See :func:`class_breaks`; an open-ended outer class is labelled from the minimum or
        to the maximum it reaches (``"2.1 – 12.0 K"``).
    units
        Unit shown in the class labels (``"-1.2 – -0.4 K"``); empty for none.
    ramp
        Colour stops, low to high.
    outline
        RGBA of the thin polygon outlines of the classes.
    no_value_label
        Legend label of the features without a value.
    bound
        A fixed range ``[-bound, bound]`` instead of one from the values
        (``outputs.anomaly_range_k``): ``n_classes`` equal classes of it, whatever the
        values, so that two layers' colours mean the same values. The end classes are open
        beyond it (their filters have no outer bound): labelled ``"≤ -2.9 K"`` and
        ``"> 2.9 K"``. Only with the ``"equal"`` method; ``symmetric`` and ``fence`` are
        then unused. ``None`` (default): classes from the values (:func:`class_breaks`).

    Raises
    ------
    ValueError
        A bad ``n_classes``, ``method``, ``fence`` (see :func:`class_breaks`) or ``bound``.
    """

    field: str = "lst_anomaly_mean_k"
    n_classes: int = 7
    method: BreakMethod = "equal"
    symmetric: bool = True
    fence: float | None = OUTLIER_FENCE
    units: str = "K"
    ramp: tuple[tuple[int, int, int], ...] = DIVERGING_RAMP
    outline: tuple[int, int, int, int] = (255, 255, 255, 160)
    no_value_label: str = "no value"
    bound: float | None = None

    def __post_init__(self) -> None:
        _check_classes(self.n_classes, self.method, self.fence)
        if self.bound is not None and not (math.isfinite(self.bound) and self.bound > 0):
            raise ValueError(f"bound must be a finite number > 0 (or None), got {self.bound!r}")
        if self.bound is not None and self.method != "equal":
            raise ValueError(f"a fixed bound needs the 'equal' method, got {self.method!r}")
        object.__setattr__(self, "ramp", tuple(tuple(stop) for stop in self.ramp))
        object.__setattr__(self, "outline", tuple(self.outline))


#: The zone layers' default: the LST anomaly in 7 equal classes symmetric about 0, blue to red.
LST_ANOMALY_STYLE = GraduatedStyle()


def graduated_qml(values: ArrayLike, style: GraduatedStyle = LST_ANOMALY_STYLE) -> str:
    """QML of a graduated-colour polygon style on ``style.field``, classes from ``values``.

    A rule-based renderer: one rule per class of :func:`class_breaks`, low to high, then one
    for the features whose field is NULL, drawn hatched light grey (see the module's
    docstring for why not QGIS's graduated renderer). Without any finite value, the NULL rule
    alone.

    Parameters
    ----------
    values
        The column's values (the layer's ``style.field``), to compute the breaks.
    style
        The field, classes, colours and labels.

    Returns
    -------
    str
        The QML document (UTF-8 text with the QGIS doctype).
    """
    classes = _graduated_classes(values, style)
    field, outline = style.field, style.outline
    column = _quoted_column(field)

    root = _qgis_root(labels=False)
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {
            "type": "RuleRenderer",
            "symbollevels": "0",
            "forceraster": "0",
            "enableorderby": "0",
            "referencescale": "-1",
        },
    )
    rules = ET.SubElement(renderer, "rules", {"key": f"ilots-{field}"})
    symbols = ET.SubElement(renderer, "symbols")
    for i, (lower, upper, label, color) in enumerate(classes):
        tests = [f"{column} {op} {_number(bound)}" for op, bound in _class_tests(i, lower, upper)]
        ET.SubElement(
            rules,
            "rule",
            {
                "key": f"ilots-{field}-{i}",
                "symbol": str(i),
                "label": label,
                "filter": " AND ".join(tests) or f"{column} IS NOT NULL",
            },
        )
        symbols.append(
            _fill_symbol(str(i), (*color, 255), outline, outline_width=_CLASS_OUTLINE_MM)
        )
    ET.SubElement(
        rules,
        "rule",
        {
            "key": f"ilots-{field}-null",
            "symbol": str(len(classes)),
            "label": style.no_value_label,
            "filter": f"{column} IS NULL",
        },
    )
    symbols.append(_no_value_symbol(str(len(classes))))
    _finish(root)
    return _serialise(root)


def graduated_sld(
    values: ArrayLike, style: GraduatedStyle = LST_ANOMALY_STYLE, *, layer: str = "iris"
) -> str:
    """SLD 1.1 of :func:`graduated_qml`'s style: the same classes, filters and colours.

    As QGIS exports a rule-based style (``QgsVectorLayer::exportSldStyle``): one ``se:Rule``
    per class, its label as name and title, an ``ogc:Filter`` ``>= lower AND <= upper``
    (``> lower`` after the first class) and a ``se:PolygonSymbolizer``; then the ``IS NULL``
    rule, light grey under a 45° ``horline`` hatching. Widths in pixels of 0.28 mm (the
    SLD standard's rendering pixel).

    Parameters
    ----------
    values, style
        As :func:`graduated_qml`.
    layer
        Name of the layer (``se:Name`` of the ``NamedLayer`` and of its style).

    Returns
    -------
    str
        The SLD document (UTF-8 text with its XML declaration).
    """
    classes = _graduated_classes(values, style)
    root, feature_style = _sld_root(layer)
    for i, (lower, upper, label, color) in enumerate(classes):
        rule = _sld_rule(feature_style, label)
        tests = _class_tests(i, lower, upper)
        parent = ET.SubElement(rule, "ogc:Filter")
        if len(tests) == 2:
            parent = ET.SubElement(parent, "ogc:And")
        elif not tests:  # one class open both ways: every value
            parent = ET.SubElement(parent, "ogc:Not")
            null = ET.SubElement(parent, "ogc:PropertyIsNull")
            ET.SubElement(null, "ogc:PropertyName").text = style.field
        for op, bound in tests:
            compare = ET.SubElement(parent, _SLD_COMPARISONS[op])
            ET.SubElement(compare, "ogc:PropertyName").text = style.field
            ET.SubElement(compare, "ogc:Literal").text = _number(bound)
        _sld_polygon(rule, (*color, 255), style.outline, _CLASS_OUTLINE_MM)
    rule = _sld_rule(feature_style, style.no_value_label)
    null = ET.SubElement(ET.SubElement(rule, "ogc:Filter"), "ogc:PropertyIsNull")
    ET.SubElement(null, "ogc:PropertyName").text = style.field
    hatch = (*NO_VALUE_HATCH, 255)
    _sld_polygon(rule, (*NO_VALUE_FILL, 255), hatch, _NO_VALUE_OUTLINE_MM)
    _sld_hatch(rule, hatch)
    return _sld_serialise(root)


def outline_sld(
    *,
    layer: str = "qpv",
    label_field: str | None = "nom_qp",
    color: tuple[int, int, int, int] = (35, 35, 35, 255),
    width_mm: float = 0.8,
) -> str:
    """SLD 1.1 of :func:`outline_qml`'s style: no fill, a thick outline, labels.

    As QGIS exports it: one ``se:Rule`` with a ``se:PolygonSymbolizer`` that has a stroke
    and no fill, then one with the ``se:TextSymbolizer`` of the labels (bold 9 pt text with
    a white halo, centred).

    Parameters
    ----------
    layer
        Name of the layer (``se:Name`` of the ``NamedLayer`` and of its style).
    label_field, color, width_mm
        As :func:`outline_qml`.

    Returns
    -------
    str
        The SLD document.
    """
    root, style = _sld_root(layer)
    _sld_polygon(_sld_rule(style, "Single symbol"), None, color, width_mm)
    if label_field is not None:
        _sld_text(ET.SubElement(ET.SubElement(style, "se:Rule"), "se:TextSymbolizer"),
                  label_field, color)  # fmt: skip
    return _sld_serialise(root)


def outline_qml(
    *,
    label_field: str | None = "nom_qp",
    color: tuple[int, int, int, int] = (35, 35, 35, 255),
    width_mm: float = 0.8,
) -> str:
    """QML of a no-fill, thick-outline polygon style, labelled by ``label_field``.

    Parameters
    ----------
    label_field
        Field whose value labels each polygon (``None``: no labels).
    color
        RGBA of the outline and of the label text.
    width_mm
        Outline width in millimetres.

    Returns
    -------
    str
        The QML document.
    """
    root = _qgis_root(labels=label_field is not None)
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {
            "type": "singleSymbol",
            "symbollevels": "0",
            "forceraster": "0",
            "enableorderby": "0",
            "referencescale": "-1",
        },
    )
    symbols = ET.SubElement(renderer, "symbols")
    symbols.append(_fill_symbol("0", (0, 0, 0, 0), color, outline_width=width_mm, filled=False))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    if label_field is not None:
        root.append(_simple_labeling(label_field, color))
    _finish(root)
    return _serialise(root)


def default_zone_styles(
    layers: Mapping[str, object],
    iris_style: GraduatedStyle = LST_ANOMALY_STYLE,
    *,
    qpv_label: str = "nom_qp",
    style_format: Literal["qml", "sld"] = "qml",
) -> dict[str, str]:
    """Build the default styles of the zone layers present: ``iris`` graduated, ``qpv`` outlined.

    Parameters
    ----------
    layers
        Layer name → GeoDataFrame (only ``iris`` and ``qpv`` get a style here).
    iris_style
        The graduated colours of ``iris``: its field (all missing: the "no value" class
        alone; when absent the layer gets no style), classes, and the legend label of the
        IRIS without a value (the report's language).
    qpv_label
        Column of ``qpv`` labelling each QPV; labels are left off when absent.
    style_format
        ``"qml"`` (QGIS's) or ``"sld"`` (the same style in SLD 1.1, for other programs).

    Returns
    -------
    dict
        Layer name → QML (or SLD).
    """
    if style_format not in ("qml", "sld"):
        raise ValueError(f"style_format must be 'qml' or 'sld', got {style_format!r}")
    sld = style_format == "sld"
    styles: dict[str, str] = {}
    iris = layers.get("iris")
    columns = getattr(iris, "columns", ())
    if iris is not None and iris_style.field in columns:
        values = np.asarray(iris[iris_style.field], dtype=np.float64)  # type: ignore[index]
        graduated = graduated_sld if sld else graduated_qml
        styles["iris"] = graduated(values, iris_style)
    qpv = layers.get("qpv")
    if qpv is not None:
        has_label = qpv_label in getattr(qpv, "columns", ())
        label = qpv_label if has_label else None
        styles["qpv"] = outline_sld(label_field=label) if sld else outline_qml(label_field=label)
    return styles


def _graduated_classes(
    values: ArrayLike, style: GraduatedStyle
) -> list[tuple[float, float, str, tuple[int, int, int]]]:
    """Return ``(lower, upper, label, colour)`` of each class, low to high; none without values.

    With ``style.bound``, the first class's ``lower`` is ``-inf`` and the last's ``upper``
    ``inf`` (open beyond the range) when there are two classes or more.
    """
    if not np.isfinite(np.asarray(values, dtype=np.float64)).any():
        return []
    if style.bound is None:
        edges = class_breaks(
            values, style.n_classes, method=style.method, symmetric=style.symmetric,
            fence=style.fence,
        )  # fmt: skip
    else:
        # Rounded to 1e-12: the filters read -0.2, not linspace's -0.19999999999999996.
        edges = np.round(np.linspace(-style.bound, style.bound, style.n_classes + 1), 12)
    count = len(edges) - 1
    decimals = _label_decimals(edges)
    suffix = f" {style.units}" if style.units else ""
    classes = []
    for i, (lower, upper, color) in enumerate(
        zip(map(float, edges[:-1]), map(float, edges[1:]), ramp_colors(count, style.ramp),
            strict=True)
    ):  # fmt: skip
        label = f"{lower:.{decimals}f} – {upper:.{decimals}f}{suffix}"
        if style.bound is not None and count > 1 and i == 0:
            lower, label = -math.inf, f"≤ {upper:.{decimals}f}{suffix}"
        elif style.bound is not None and count > 1 and i == count - 1:
            upper, label = math.inf, f"> {lower:.{decimals}f}{suffix}"
        classes.append((lower, upper, label, color))
    return classes


#: The SLD (OGC Filter Encoding) element of each comparison of :func:`_class_tests`.
_SLD_COMPARISONS = {
    ">=": "ogc:PropertyIsGreaterThanOrEqualTo",
    ">": "ogc:PropertyIsGreaterThan",
    "<=": "ogc:PropertyIsLessThanOrEqualTo",
}


def _class_tests(i: int, lower: float, upper: float) -> list[tuple[str, float]]:
    """``(operator, bound)`` comparisons of class ``i``'s filter; an infinite bound has none.

    As QGIS converts a graduated renderer to rules: ``>= lower`` for the first class and
    ``> lower`` after it (a value on a break falls in the lower class), ``<= upper``.
    """
    tests = []
    if math.isfinite(lower):
        tests.append((">=" if i == 0 else ">", lower))
    if math.isfinite(upper):
        tests.append(("<=", upper))
    return tests


def _label_decimals(edges: np.ndarray) -> int:
    """Decimals that tell the narrowest class's edges apart: 1 to 4."""
    width = float(np.min(np.diff(edges)))
    if not width > 0:
        return 1
    return int(min(4, max(1, math.floor(-math.log10(width)) + 1)))


def _qgis_root(*, labels: bool) -> ET.Element:
    return ET.Element(
        "qgis",
        {
            "version": _QGIS_VERSION,
            "styleCategories": "Symbology|Labeling",
            "labelsEnabled": "1" if labels else "0",
            "hasScaleBasedVisibilityFlag": "0",
            "minScale": "100000000",
            "maxScale": "0",
        },
    )


def _finish(root: ET.Element) -> None:
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = "1"
    ET.SubElement(root, "layerGeometryType").text = _POLYGON
    _custom_properties(root)


def _custom_properties(root: ET.Element) -> None:
    """Record in the style which ilots wrote it (QGIS keeps custom properties as they are)."""
    custom = ET.SubElement(root, "customproperties")
    option = ET.SubElement(custom, "Option", {"type": "Map"})
    ET.SubElement(
        option,
        "Option",
        {"type": "QString", "name": "ilots/style_version", "value": ilots_version()},
    )


def _serialise(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def _sld_root(layer: str) -> tuple[ET.Element, ET.Element]:
    """Build an SLD 1.1 document as QGIS exports it; return it and its ``se:FeatureTypeStyle``."""
    root = ET.Element("StyledLayerDescriptor", _SLD_NAMESPACES)
    named = ET.SubElement(root, "NamedLayer")
    ET.SubElement(named, "se:Name").text = layer
    user = ET.SubElement(named, "UserStyle")
    ET.SubElement(user, "se:Name").text = layer
    return root, ET.SubElement(user, "se:FeatureTypeStyle")


def _sld_rule(style: ET.Element, label: str) -> ET.Element:
    """Add a ``se:Rule`` named and titled ``label`` to ``style``."""
    rule = ET.SubElement(style, "se:Rule")
    ET.SubElement(rule, "se:Name").text = label
    ET.SubElement(ET.SubElement(rule, "se:Description"), "se:Title").text = label
    return rule


def _svg_parameters(parent: ET.Element, parameters: Mapping[str, str]) -> None:
    for name, value in parameters.items():
        ET.SubElement(parent, "se:SvgParameter", {"name": name}).text = value


def _hex(color: Sequence[int]) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in color[:3])


def _opacity(color: Sequence[int]) -> dict[str, str]:
    """``{key: opacity}`` of an RGBA colour that is not opaque (as QGIS writes it), else ``{}``."""
    return {} if color[3] == 255 else {"opacity": f"{color[3] / 255:.2g}"}


def _px(mm: float) -> str:
    """``mm`` in SLD pixels (0.28 mm each, the standard rendering pixel)."""
    return f"{mm / _SLD_PIXEL_MM:.3g}"


def _sld_polygon(
    rule: ET.Element,
    fill: Sequence[int] | None,
    stroke: Sequence[int],
    width_mm: float,
) -> None:
    """Add a polygon symbolizer: ``fill`` (None: no fill) and a solid ``stroke``."""
    symbolizer = ET.SubElement(rule, "se:PolygonSymbolizer")
    if fill is not None:
        fill_opacity = {f"fill-{k}": v for k, v in _opacity(fill).items()}
        _svg_parameters(ET.SubElement(symbolizer, "se:Fill"), {"fill": _hex(fill), **fill_opacity})
    stroke_opacity = {f"stroke-{k}": v for k, v in _opacity(stroke).items()}
    _svg_parameters(
        ET.SubElement(symbolizer, "se:Stroke"),
        {"stroke": _hex(stroke), **stroke_opacity, "stroke-width": _px(width_mm),
         "stroke-linejoin": "bevel"},
    )  # fmt: skip


def _sld_hatch(rule: ET.Element, color: Sequence[int]) -> None:
    """Add the no-value hatching: ``horline`` marks turned to :data:`_HATCH_ANGLE`."""
    fill = ET.SubElement(ET.SubElement(rule, "se:PolygonSymbolizer"), "se:Fill")
    graphic = ET.SubElement(ET.SubElement(fill, "se:GraphicFill"), "se:Graphic")
    mark = ET.SubElement(graphic, "se:Mark")
    ET.SubElement(mark, "se:WellKnownName").text = "horline"
    _svg_parameters(
        ET.SubElement(mark, "se:Stroke"),
        {"stroke": _hex(color), "stroke-width": _px(_HATCH_WIDTH_MM)},
    )
    ET.SubElement(graphic, "se:Size").text = _px(_HATCH_DISTANCE_MM)
    ET.SubElement(ET.SubElement(graphic, "se:Rotation"), "ogc:Literal").text = f"{_HATCH_ANGLE:g}"


def _sld_text(symbolizer: ET.Element, field: str, color: Sequence[int]) -> None:
    """Fill a text symbolizer as :func:`_simple_labeling` labels: bold 9 pt, white halo."""
    ET.SubElement(ET.SubElement(symbolizer, "se:Label"), "ogc:PropertyName").text = field
    _svg_parameters(
        ET.SubElement(symbolizer, "se:Font"),
        {"font-family": "Sans Serif", "font-size": _px(9 * 25.4 / 72), "font-weight": "bold"},
    )
    point = ET.SubElement(ET.SubElement(symbolizer, "se:LabelPlacement"), "se:PointPlacement")
    anchor = ET.SubElement(point, "se:AnchorPoint")
    ET.SubElement(anchor, "se:AnchorPointX").text = "0.5"
    ET.SubElement(anchor, "se:AnchorPointY").text = "0.5"
    halo = ET.SubElement(symbolizer, "se:Halo")
    ET.SubElement(halo, "se:Radius").text = _px(1.0)
    _svg_parameters(ET.SubElement(halo, "se:Fill"), {"fill": "#ffffff", "fill-opacity": "0.8"})
    _svg_parameters(ET.SubElement(symbolizer, "se:Fill"), {"fill": _hex(color)})


def _sld_serialise(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _rgba(color: Sequence[int]) -> str:
    return ",".join(str(int(c)) for c in color)


def _properties(parent: ET.Element, props: Mapping[str, str]) -> None:
    """Write properties as current QGIS reads them (Option map) and as older 3.x do (prop)."""
    option = ET.SubElement(parent, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(option, "Option", {"type": "QString", "name": key, "value": value})
    for key, value in props.items():
        ET.SubElement(parent, "prop", {"k": key, "v": value})


def _fill_symbol(
    name: str,
    fill_color: Sequence[int],
    outline_color: Sequence[int],
    *,
    outline_width: float,
    filled: bool = True,
) -> ET.Element:
    """Build a one-layer fill symbol (``SimpleFill``); ``filled=False`` draws the outline only."""
    symbol = ET.Element(
        "symbol",
        {
            "type": "fill",
            "name": name,
            "alpha": "1",
            "clip_to_extent": "1",
            "force_rhr": "0",
            "frame_rate": "10",
            "is_animated": "0",
        },
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
    )
    _properties(
        layer,
        {
            "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
            "color": _rgba(fill_color),
            "joinstyle": "bevel",
            "offset": "0,0",
            "offset_map_unit_scale": "3x:0,0,0,0,0,0",
            "offset_unit": "MM",
            "outline_color": _rgba(outline_color),
            "outline_style": "solid",
            "outline_width": f"{outline_width:g}",
            "outline_width_unit": "MM",
            "style": "solid" if filled else "no",
        },
    )
    return symbol


def _no_value_symbol(name: str) -> ET.Element:
    """Build the symbol of the zones without a value: light grey fill, grey ``///`` hatching."""
    symbol = _fill_symbol(
        name,
        (*NO_VALUE_FILL, 255),
        (*NO_VALUE_HATCH, 255),
        outline_width=_NO_VALUE_OUTLINE_MM,
    )
    hatch = ET.SubElement(
        symbol,
        "layer",
        {"class": "LinePatternFill", "enabled": "1", "locked": "0", "pass": "0"},
    )
    color = _rgba((*NO_VALUE_HATCH, 255))
    width = f"{_HATCH_WIDTH_MM:g}"
    _properties(
        hatch,
        {
            "angle": f"{_HATCH_ANGLE:g}",
            "color": color,
            "distance": f"{_HATCH_DISTANCE_MM:g}",
            "distance_map_unit_scale": "3x:0,0,0,0,0,0",
            "distance_unit": "MM",
            "line_width": width,
            "line_width_map_unit_scale": "3x:0,0,0,0,0,0",
            "line_width_unit": "MM",
            "offset": "0",
            "offset_map_unit_scale": "3x:0,0,0,0,0,0",
            "offset_unit": "MM",
        },
    )
    # The lines themselves: QGIS 3 draws the pattern with this sub-symbol, named as QGIS
    # names sub-symbols ("@<symbol>@<layer>"); "color" and "line_width" above are its own.
    line = ET.SubElement(
        hatch,
        "symbol",
        {
            "type": "line",
            "name": f"@{name}@1",
            "alpha": "1",
            "clip_to_extent": "1",
            "force_rhr": "0",
        },
    )
    _properties(
        ET.SubElement(
            line, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"}
        ),
        {
            "capstyle": "square",
            "joinstyle": "bevel",
            "line_color": color,
            "line_style": "solid",
            "line_width": width,
            "line_width_unit": "MM",
            "offset": "0",
            "offset_unit": "MM",
        },
    )
    return symbol


def _quoted_column(field: str) -> str:
    """``field`` as a column reference of a QGIS expression (``QgsExpression::quotedColumnRef``)."""
    return '"' + field.replace('"', '""') + '"'


def _number(value: float) -> str:
    """``value`` as a QGIS expression literal that reads back as the same double.

    Positional (never ``1e-05``), and the shortest such digits: every QGIS release parses it.
    """
    return np.format_float_positional(value, unique=True, trim="-")


def _gradient_ramp(ramp: Sequence[tuple[int, int, int]]) -> ET.Element:
    """Build the source colour ramp, so that reclassifying in QGIS keeps the colours."""
    element = ET.Element("colorramp", {"type": "gradient", "name": "[source]"})
    last = len(ramp) - 1
    stops = ":".join(f"{i / last:.6g};{_rgba((*ramp[i], 255))}" for i in range(1, last))
    _properties(
        element,
        {
            "color1": _rgba((*ramp[0], 255)),
            "color2": _rgba((*ramp[-1], 255)),
            "discrete": "0",
            "rampType": "gradient",
            "stops": stops,
        },
    )
    return element


def _simple_labeling(field: str, color: Sequence[int]) -> ET.Element:
    """Label by ``field``: bold 9 pt text with a white halo, over the centroid."""
    labeling = ET.Element("labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    style = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": field,
            "isExpression": "0",
            "fontFamily": "Sans Serif",
            "fontSize": "9",
            "fontSizeUnit": "Point",
            "fontWeight": "75",
            "fontItalic": "0",
            "textColor": _rgba(color),
            "textOpacity": "1",
            "multilineHeight": "1",
            "allowHtml": "0",
        },
    )
    ET.SubElement(
        style,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "1",
            "bufferSizeUnits": "MM",
            "bufferColor": "255,255,255,255",
            "bufferOpacity": "0.8",
            "bufferJoinStyle": "128",
            "bufferNoFill": "1",
        },
    )
    ET.SubElement(
        settings,
        "text-format",
        {"wrapChar": "", "autoWrapLength": "20", "multilineAlign": "3", "plussign": "0"},
    )
    ET.SubElement(
        settings,
        "placement",
        {"placement": "1", "centroidWhole": "1", "centroidInside": "1", "fitInPolygonOnly": "0"},
    )
    ET.SubElement(
        settings,
        "rendering",
        {"obstacle": "1", "displayAll": "0", "upsidedownLabels": "0", "limitNumLabels": "0"},
    )
    return labeling
