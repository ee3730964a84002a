"""QGIS styles (QML sidecars) for the run's rasters, so that each COG opens styled in QGIS.

QGIS applies ``<name>.qml`` beside ``<name>.tif`` as the layer's default style when it opens
the file (``QgsMapLayer::loadDefaultStyle``); without one it shows a grey stretch, and the land
cover's 256-entry colour table as 256 unnamed classes. Two renderers, the first in two
styles, written as QGIS writes them (``<pipe><rasterrenderer>``):

* :func:`pseudocolor_qml`: ``singlebandpseudocolor``, a colour ramp interpolated between
  evenly spaced values, each labelled with its unit; for the measures (LST, ΔT, NDVI,
  albedo). The range is a 2–98 % cut of the raster's values (:func:`stretch`), symmetric
  about 0 for anomalies so that the neutral colour means "as the reference"; or, for the
  LST anomalies, a fixed ``[-v, v]`` K (``outputs.anomaly_range_k``), the same in every run
  that sets it, its end labels ``"≤ -v"`` and ``"≥ v"``.
* :func:`count_qml`: ``singlebandpseudocolor`` with discrete classes of whole numbers, one
  colour per count (binned when there are many), labelled with the counts; for the number
  of clear observations.
* :func:`paletted_qml`: ``paletted``, one named, coloured entry per land-cover class
  (:data:`raster.landcover.CLASS_NAMES`, :data:`raster.landcover.CLASS_COLOURS`).

:func:`write_raster_style` reads the written COG at a reduced resolution (its overviews), so
it costs milliseconds whatever the raster's size, and writes the sidecar atomically.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from pipelines.outputs._atomic import write_text_atomic
from pipelines.outputs.styles import (
    _QGIS_VERSION,
    DIVERGING_RAMP,
    _custom_properties,
    _gradient_ramp,
    _label_decimals,
    _serialise,
    ramp_colors,
)
from raster.landcover import CLASS_COLOURS, CLASS_NAMES, LandCover

__all__ = [
    "RASTER_STYLES",
    "RasterStyle",
    "count_classes",
    "count_qml",
    "paletted_qml",
    "pseudocolor_qml",
    "raster_style_qml",
    "stretch",
    "style_of",
    "write_raster_style",
]

Ramp = Sequence[tuple[int, int, int]]

#: ColorBrewer RdYlBu, 7 classes, reversed: cool blue → pale yellow → hot red (temperatures).
THERMAL_RAMP: tuple[tuple[int, int, int], ...] = (
    (69, 117, 180), (145, 191, 219), (224, 243, 248), (255, 255, 191),
    (254, 224, 144), (252, 141, 89), (215, 48, 39),
)  # fmt: skip
#: ColorBrewer YlGn, 7 classes: bare or sealed (pale) → dense vegetation (dark green).
VEGETATION_RAMP: tuple[tuple[int, int, int], ...] = (
    (255, 255, 204), (217, 240, 163), (173, 221, 142), (120, 198, 121),
    (65, 171, 93), (35, 132, 67), (0, 90, 50),
)  # fmt: skip
#: ColorBrewer Greys, 7 classes, reversed: dark (absorbs) → light (reflects).
ALBEDO_RAMP: tuple[tuple[int, int, int], ...] = (
    (37, 37, 37), (82, 82, 82), (115, 115, 115), (150, 150, 150),
    (189, 189, 189), (217, 217, 217), (247, 247, 247),
)  # fmt: skip
#: ColorBrewer YlGnBu, 7 classes: few → many clear observations.
COUNT_RAMP: tuple[tuple[int, int, int], ...] = (
    (255, 255, 204), (199, 233, 180), (127, 205, 187), (65, 182, 196),
    (29, 145, 192), (34, 94, 168), (12, 44, 132),
)  # fmt: skip

#: Names of the other LST composites a run writes (``composite.statistics``).
_LST_STATISTIC = re.compile(r"lst_(mean|median|p\d+(\.\d+)?)")
#: Percentiles of the values that bound a ramp (QGIS's own default cumulative cut).
CUT_PERCENT = (2.0, 98.0)
#: Longest side (pixels) of the reduced read a stretch is computed from: GDAL serves it from
#: an overview (a 4,000² raster's 1,000² level: ~10 ms, where its 2,000² level took ~50 ms).
#: Overviews average the extremes, so the range is a little narrower than the full
#: resolution's, as QGIS's own estimated statistics are.
SAMPLE_PX = 512
#: Most classes of a count raster's style (:func:`count_classes`); more counts are binned.
MAX_COUNT_CLASSES = 12


@dataclass(frozen=True)
class RasterStyle:
    """How a run raster is drawn.

    Parameters
    ----------
    ramp
        Colour stops, low to high; ``None`` for the land-cover palette.
    symmetric
        Centre the range on 0 (anomalies, ΔT): a diverging ramp's middle colour is 0.
    units
        Unit shown after each legend value (``"K"``); empty for none.
    integer
        Counts: discrete classes of whole numbers from 0 to the largest value
        (:func:`count_qml`).
    nonzero
        The range comes from the non-zero values only (a scenario's ΔT is 0 wherever it
        changes nothing, most of the city).
    anomaly
        An LST anomaly (ΔT against the run's reference): a fixed range
        (``outputs.anomaly_range_k``) replaces the stretch.
    """

    ramp: Ramp | None
    symmetric: bool = False
    units: str = ""
    integer: bool = False
    nonzero: bool = False
    anomaly: bool = False


#: Style of each run raster with one (the run folder's and a scenario's ``delta_lst``).
RASTER_STYLES: Mapping[str, RasterStyle] = {
    "lst_median": RasterStyle(THERMAL_RAMP, units="K"),
    "lst_p90": RasterStyle(THERMAL_RAMP, units="K"),
    "lst_median_sharpened": RasterStyle(THERMAL_RAMP, units="K"),
    "lst_anomaly": RasterStyle(DIVERGING_RAMP, symmetric=True, units="K", anomaly=True),
    "lst_anomaly_p90": RasterStyle(DIVERGING_RAMP, symmetric=True, units="K", anomaly=True),
    "lst_zscore": RasterStyle(DIVERGING_RAMP, symmetric=True),
    "delta_lst": RasterStyle(DIVERGING_RAMP, symmetric=True, units="K", nonzero=True),
    "ndvi_median": RasterStyle(VEGETATION_RAMP),
    "albedo_median": RasterStyle(ALBEDO_RAMP),
    "n_clear": RasterStyle(COUNT_RAMP, integer=True),
    "landcover": RasterStyle(None),
}


def stretch(
    values: ArrayLike, *, symmetric: bool = False, nonzero: bool = False
) -> tuple[float, float] | None:
    """Return the range a colour ramp spans: the :data:`CUT_PERCENT` percentiles of ``values``.

    Non-finite values are left out, and zeros with ``nonzero``. ``symmetric`` widens it to
    ``[-m, m]`` with ``m`` the larger bound in absolute value. A single value is widened by
    0.5 each side. Returns ``None`` when no value is left.
    """
    data = np.asarray(values, dtype=np.float64).ravel()
    data = data[np.isfinite(data) & ((data != 0) if nonzero else True)]
    if data.size == 0:
        return None
    low, high = (float(v) for v in np.percentile(data, CUT_PERCENT))
    if symmetric:
        bound = max(abs(low), abs(high))
        low, high = -bound, bound
    if low == high:
        low, high = low - 0.5, high + 0.5
    return low, high


def pseudocolor_qml(
    low: float, high: float, ramp: Ramp, *, units: str = "", open_ends: bool = False
) -> str:
    """QML of a ``singlebandpseudocolor`` style: ``ramp`` interpolated from ``low`` to ``high``.

    One legend item per ramp colour, at evenly spaced values, labelled ``"<value> <units>"``
    with enough decimals to tell the items apart. Values outside the range take the end
    colours; ``open_ends`` says so in the end labels (``"≤ -4.0 K"``, ``"≥ 4.0 K"``).
    """
    if not high > low:
        raise ValueError(f"a colour ramp needs low < high, got {low} and {high}")
    values = np.linspace(low, high, len(ramp))
    places = _label_decimals(values)
    suffix = f" {units}" if units else ""
    root, pipe = _raster_root()
    shader = _colorramp_shader(pipe, low, high, ramp, interpolated=True, places=places)
    labels = [f"{value:.{places}f}{suffix}" for value in values]
    if open_ends:
        labels[0], labels[-1] = f"≤ {labels[0]}", f"≥ {labels[-1]}"
    for value, color, label in zip(values, ramp_colors(len(values), ramp), labels, strict=True):
        _shader_item(shader, repr(float(value)), color, label)
    _finish(root, pipe)
    return _serialise(root)


def count_classes(high: int, max_classes: int = MAX_COUNT_CLASSES) -> list[tuple[int, int]]:
    """Classes of a count raster from 0 to ``high``: inclusive ``(first, last)`` counts.

    0 (never observed) is a class of its own; 1 to ``high`` get one class per count, or
    equal bins of whole counts when that would make more than ``max_classes`` classes in
    all (the last bin may be narrower).
    """
    if high < 0 or max_classes < 2:
        raise ValueError(f"need a count >= 0 and at least 2 classes, got {high}, {max_classes}")
    width = max(1, -(-high // (max_classes - 1)))  # ceil: 1 to high in max_classes - 1 bins
    return [(0, 0)] + [(lo, min(lo + width - 1, high)) for lo in range(1, high + 1, width)]


def count_qml(high: int, ramp: Ramp, *, max_classes: int = MAX_COUNT_CLASSES) -> str:
    """QML of a discrete style of a count raster (whole numbers from 0 to about ``high``).

    A ``singlebandpseudocolor`` renderer with a ``DISCRETE`` colour ramp shader: each class of
    :func:`count_classes` has one colour of ``ramp`` and is labelled with its counts (``"3"``,
    ``"5–8"``); QGIS draws a value with the first class whose upper count is not below it.
    The last class is open-ended (``"≥ 4"``, upper value ``inf``): ``high`` comes from a
    sample of the raster, so a count above it still takes the last colour.
    """
    classes = count_classes(int(high), max_classes)
    top = max(int(high), 1)  # the range QGIS shows when reclassifying: 0 to 1 at least
    root, pipe = _raster_root()
    shader = _colorramp_shader(pipe, 0.0, float(top), ramp, interpolated=False, places=0)
    colors = ramp_colors(len(classes), ramp)
    for i, ((first, last), color) in enumerate(zip(classes, colors, strict=True)):
        if i == len(classes) - 1:
            value, label = "inf", f"≥ {first}"
        else:
            value, label = repr(float(last)), str(first) if first == last else f"{first}–{last}"
        _shader_item(shader, value, color, label)
    _finish(root, pipe)
    return _serialise(root)


def _colorramp_shader(
    pipe: ET.Element,
    low: float,
    high: float,
    ramp: Ramp,
    *,
    interpolated: bool,
    places: int,
) -> ET.Element:
    """Add a ``singlebandpseudocolor`` renderer of ``low`` to ``high`` to ``pipe``.

    Returns its colour ramp shader (``INTERPOLATED`` or ``DISCRETE``), to add the items to.
    """
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        {
            "type": "singlebandpseudocolor",
            "band": "1",
            "opacity": "1",
            "alphaBand": "-1",
            "nodataColor": "",
            "classificationMin": repr(float(low)),
            "classificationMax": repr(float(high)),
        },
    )
    renderer.append(_min_max_origin())
    shader = ET.SubElement(
        ET.SubElement(renderer, "rastershader"),
        "colorrampshader",
        {
            "colorRampType": "INTERPOLATED" if interpolated else "DISCRETE",
            "classificationMode": "1" if interpolated else "2",  # continuous, equal interval
            "clip": "0",
            "minimumValue": repr(float(low)),
            "maximumValue": repr(float(high)),
            "labelPrecision": str(places),
        },
    )
    shader.append(_gradient_ramp(ramp))
    return shader


def _shader_item(shader: ET.Element, value: str, color: Sequence[int], label: str) -> None:
    ET.SubElement(
        shader, "item", {"value": value, "color": _hex(color), "alpha": "255", "label": label}
    )


def paletted_qml(classes: Mapping[int, tuple[str, tuple[int, int, int, int]]]) -> str:
    """QML of a ``paletted`` style: code → (label, RGBA), in code order."""
    if not classes:
        raise ValueError("a paletted style needs at least one class")
    root, pipe = _raster_root()
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        {"type": "paletted", "band": "1", "opacity": "1", "alphaBand": "-1", "nodataColor": ""},
    )
    renderer.append(_min_max_origin())
    palette = ET.SubElement(renderer, "colorPalette")
    for code in sorted(classes):
        label, rgba = classes[code]
        ET.SubElement(
            palette,
            "paletteEntry",
            {"value": str(int(code)), "color": _hex(rgba[:3]), "alpha": str(rgba[3]),
             "label": label},
        )  # fmt: skip
    _finish(root, pipe)
    return _serialise(root)


def style_of(name: str) -> RasterStyle | None:
    """Return the style of run raster ``name``, or None.

    :data:`RASTER_STYLES`, and the LST one for every LST composite (``lst_mean``, ``lst_p75``).
    """
    if name in RASTER_STYLES:
        return RASTER_STYLES[name]
    return RASTER_STYLES["lst_median"] if _LST_STATISTIC.fullmatch(name) else None


def raster_style_qml(
    name: str, values: ArrayLike | None = None, *, anomaly_range_k: float | None = None
) -> str | None:
    """Build the QML of run raster ``name`` from its ``values`` (a sample of them will do).

    ``None`` for a raster without a style (:func:`style_of`), or a measure with no
    finite value (QGIS's default grey is then as good as any). ``values`` is not needed for
    the land cover, nor for an LST anomaly given ``anomaly_range_k``
    (``outputs.anomaly_range_k``): its ramp then spans ``[-anomaly_range_k,
    anomaly_range_k]``, whatever the values.
    """
    style = style_of(name)
    if style is None:
        return None
    if style.anomaly and anomaly_range_k is not None:
        bound = float(anomaly_range_k)
        return pseudocolor_qml(-bound, bound, style.ramp, units=style.units, open_ends=True)
    if style.ramp is None:
        return paletted_qml(
            {code: (CLASS_NAMES[code].replace("_", " "), CLASS_COLOURS[code])
             for code in CLASS_NAMES if code != LandCover.NODATA}
        )  # fmt: skip
    if values is None:
        return None
    if style.integer:
        counts = np.asarray(values, dtype=np.float64)
        counts = counts[np.isfinite(counts)]
        return count_qml(max(0, int(counts.max())), style.ramp) if counts.size else None
    bounds = stretch(values, symmetric=style.symmetric, nonzero=style.nonzero)
    if bounds is None:
        return None
    return pseudocolor_qml(*bounds, style.ramp, units=style.units)


def write_raster_style(
    tif: str | os.PathLike[str],
    name: str | None = None,
    *,
    anomaly_range_k: float | None = None,
) -> Path | None:
    """Write ``<tif stem>.qml`` beside a written COG for QGIS; return its path.

    The values come from a read of at most :data:`SAMPLE_PX` pixels a side (GDAL takes them
    from the COG's overviews); nodata is left out. An LST anomaly with ``anomaly_range_k``
    reads none: its range is that one (:func:`raster_style_qml`). When the raster gets no
    style a sidecar left by an earlier run is removed and ``None`` is returned.
    """
    import rasterio
    from rasterio.enums import Resampling

    path = Path(tif)
    name = name or path.stem
    sidecar = path.with_suffix(".qml")
    values = None
    style = style_of(name)
    fixed = style is not None and style.anomaly and anomaly_range_k is not None
    if style is not None and style.ramp is not None and not fixed:
        with rasterio.open(path) as src:
            scale = max(1.0, max(src.height, src.width) / SAMPLE_PX)
            shape = (max(1, round(src.height / scale)), max(1, round(src.width / scale)))
            values = src.read(1, out_shape=shape, masked=True, resampling=Resampling.nearest)
            values = values.astype(np.float64).filled(np.nan)
    qml = raster_style_qml(name, values, anomaly_range_k=anomaly_range_k)
    if qml is None:
        sidecar.unlink(missing_ok=True)
        return None
    return write_text_atomic(sidecar, qml)


def _raster_root() -> tuple[ET.Element, ET.Element]:
    root = ET.Element(
        "qgis",
        {
            "version": _QGIS_VERSION,
            "styleCategories": "Symbology",
            "hasScaleBasedVisibilityFlag": "0",
            "minScale": "1e+08",
            "maxScale": "0",
        },
    )
    _custom_properties(root)
    pipe = ET.SubElement(root, "pipe")
    ET.SubElement(
        ET.SubElement(pipe, "provider"),
        "resampling",
        {"enabled": "false", "maxOversampling": "2",
         "zoomedInResamplingMethod": "nearestNeighbour",
         "zoomedOutResamplingMethod": "nearestNeighbour"},
    )  # fmt: skip
    return root, pipe


def _min_max_origin() -> ET.Element:
    """Build the range's origin: the style's own (``limits`` None), not recomputed on load."""
    origin = ET.Element("minMaxOrigin")
    for tag, text in (
        ("limits", "None"),
        ("extent", "WholeRaster"),
        ("statAccuracy", "Estimated"),
        ("cumulativeCutLower", f"{CUT_PERCENT[0] / 100:g}"),
        ("cumulativeCutUpper", f"{CUT_PERCENT[1] / 100:g}"),
        ("stdDevFactor", "2"),
    ):
        ET.SubElement(origin, tag).text = text
    return origin


def _finish(root: ET.Element, pipe: ET.Element) -> None:
    ET.SubElement(pipe, "brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"})
    ET.SubElement(
        pipe,
        "huesaturation",
        {"saturation": "0", "grayscaleMode": "0", "invertColors": "0", "colorizeOn": "0",
         "colorizeRed": "255", "colorizeGreen": "128", "colorizeBlue": "128",
         "colorizeStrength": "100"},
    )  # fmt: skip
    ET.SubElement(pipe, "rasterresampler", {"maxOversampling": "2"})
    ET.SubElement(pipe, "resamplingStage").text = "resamplingFilter"
    ET.SubElement(root, "blendMode").text = "0"


def _hex(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb[:3])
