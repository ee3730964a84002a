"""The report's figures, drawn with matplotlib's object API (no pyplot state) and saved as PNG.

Each function returns a :class:`matplotlib.figure.Figure` (or ``None`` when its data are
absent); :func:`png_bytes` renders one with the Agg canvas and releases it. Labels come from
:class:`~pipelines.report.text.Messages`, and in French the tick labels use the decimal comma.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from PIL import Image
from pyproj import CRS

from pipelines.outputs.styles import NO_VALUE_FILL, NO_VALUE_HATCH
from pipelines.report.tables import GroupMeans, LineFit, group_flags
from pipelines.report.text import NBSP, Messages, is_number, is_temperature

__all__ = [
    "add_footer",
    "add_north_arrow",
    "add_scale_bar",
    "decile_figure",
    "decile_gaps",
    "income_scatter",
    "localise",
    "map_figure",
    "png_bytes",
    "qpv_figure",
    "quality_figure",
    "scale_bar_label",
    "scale_bar_length",
    "suhii_figure",
]

#: Resolution of the PNGs (dots per inch).
DPI = 110
_QPV_COLOUR = "#c2185b"
_OTHER_COLOUR = "#4a6fa5"
#: Edge colour of the hollow markers of zones whose QPV status is unknown.
_UNKNOWN_COLOUR = "#8a8a8a"
_BAR_COLOUR = "#e07b39"
#: zlib level of the PNGs; measured on the 7 figures of the 1,000-IRIS benchmark: 54 ms and
#: 668 kB at 3, 75 ms and 638 kB at zlib's default 6.
_PNG_LEVEL = 3
#: Blank margin kept between the outermost text and the canvas's edge (inches).
_EDGE = 0.06
#: Height of one line of text, in font sizes (glyphs' ascent and descent).
_LINE = 1.25
#: Font size of the quality figure's panel titles (points).
_PANEL_TITLE_POINTS = 10
#: Room right of a panel for the part of its last x tick label past the axes (inches).
_PANEL_RIGHT = 0.15
#: Font size of the SUHII figure's scene labels (points).
_SCENE_POINTS = 8
#: Blank kept between two neighbouring level tick labels (inches).
_TICK_GAP = 0.08
#: Blank kept between two neighbouring vertical tick labels (inches): 4 pixels, the gap of two
#: lines of text; 40 scenes' labels fit the widest SUHII figure with it.
_LINE_GAP = 0.04
#: Size of the SUHII figure with its scene labels level (inches).
_SUHII_SIZE = (7.0, 4.0)
#: Widest SUHII figure (inches): still drawn at its own size in the report's 62 rem column.
_SUHII_MAX_WIDTH = 8.4
#: Font size of a figure's footer (the synthetic-data mark), in points.
FOOTER_POINTS = 7


def png_bytes(fig: Figure, *, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg canvas, then clear it.

    The figures are opaque (white background), so the PNG is RGB, at zlib level
    :data:`_PNG_LEVEL`; measured on the 1,000-IRIS benchmark, against ``savefig`` (RGBA, zlib
    level 6): encoding the 7 figures 104 ms -> 54 ms, 700 kB -> 668 kB, the same pixels.
    """
    canvas = _agg_canvas(fig)
    buffer = io.BytesIO()
    try:
        fig.set_dpi(dpi)
        canvas.draw()
        size = canvas.get_width_height(physical=True)
        image = Image.frombytes("RGB", size, canvas.buffer_rgba(), "raw", "RGBX")
        image.save(buffer, format="png", dpi=(dpi, dpi), compress_level=_PNG_LEVEL)
    finally:
        # Detach the axes before clearing: Figure.clear resets each Axes first (new axis and
        # tick artists), work thrown away with the figure; measured: 24 ms for the 7 figures.
        for ax in tuple(fig.axes):
            fig.delaxes(ax)
        fig.clear()
    return buffer.getvalue()


class _LocalFormatter(ScalarFormatter):
    """Matplotlib's default tick labels in the report's language.

    Whole numbers from 1000 up get the language's thousands separator; in French the decimal
    point becomes a comma.
    """

    def __init__(self, m: Messages) -> None:
        super().__init__(useOffset=False)
        self._messages = m

    def __call__(self, x: float, pos: int | None = None) -> str:
        if abs(x) >= 1000 and float(x).is_integer():
            return self._messages.integer(x)
        text = super().__call__(x, pos)
        return text.replace(".", ",") if self._messages.lang == "fr" else text


def localise(m: Messages, *axes: Any) -> None:
    """Write the tick labels of the numeric ``axes`` the way the report's language does.

    ``axes``: matplotlib :class:`~matplotlib.axis.Axis` objects (``ax.xaxis``, a colour
    bar's ``cbar.ax.yaxis``); French gets the decimal comma and the thousands space.
    """
    for axis in axes:
        axis.set_major_formatter(_LocalFormatter(m))


def add_footer(fig: Figure, text: str) -> Figure:
    """Write ``text`` in a strip added under everything ``fig`` holds (the synthetic mark).

    The figure grows by the strip's height (one line of :data:`FOOTER_POINTS` text and its
    margins); its axes and figure texts keep their size and their place from the top, so
    the footer overlaps nothing. Call it once the figure is laid out.
    """
    width, height = (float(v) for v in fig.get_size_inches())
    strip = 2 * _EDGE + _LINE * FOOTER_POINTS / 72
    total = height + strip
    for ax in fig.axes:
        box = ax.get_position(original=True)
        ax.set_position(
            (box.x0, (box.y0 * height + strip) / total, box.width, box.height * height / total)
        )
    for label in fig.texts:  # the suptitle: as far from the top as it was
        if label.get_transform() == fig.transFigure:
            x, y = label.get_position()
            label.set_position((x, 1 - (1 - y) * height / total))
    fig.set_size_inches(width, total)
    fig.text(
        _EDGE / width,
        _EDGE / total,
        text,
        fontsize=FOOTER_POINTS,
        color="0.3",
        ha="left",
        va="bottom",
    )
    return fig


def _new_figure(width: float, height: float) -> Figure:
    # No layout engine: each figure puts its axes where its labels fit (_place_*). Constrained
    # layout drew each figure twice on savefig and measured every artist in between; measured
    # on the 1,000-IRIS benchmark, the report 0.75 s -> 0.55 s.
    return Figure(figsize=(width, height), dpi=DPI)


def _agg_canvas(fig: Figure) -> FigureCanvasAgg:
    """Return the Agg canvas of ``fig``, attaching one if it has none (a bare one cannot draw).

    The layout measures the tick labels with its renderer, which the PNG is then drawn with.
    """
    canvas = fig.canvas
    return canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def _title(ax: Axes, text: str, **kwargs: Any) -> None:
    """Title ``ax`` with ``text`` just above it, where matplotlib puts it by default.

    At the default height, each draw first measures the y axis (its ticks and their labels)
    to check the title clears them, which it always does here (no tick labels on top); a
    title given its height is not moved. Same pixels; measured: 25 ms of the 1,000-IRIS report.
    """
    ax.set_title(text, y=1.0, **kwargs)


def _place(fig: Figure, ax: Axes, *, left: float, bottom: float, right: float, top: float) -> None:
    """Put ``ax`` ``left``, ``bottom``, ``right`` and ``top`` inches from the figure's edges."""
    width, height = fig.get_size_inches()
    ax.set_position(
        (left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top) / height)
    )


def _points(key: str) -> float:
    """Return the font size of the rc setting ``key`` (e.g. ``"axes.titlesize"``) in points."""
    return FontProperties(size=mpl.rcParams[key]).get_size_in_points()


def _title_room(points: float | None = None) -> float:
    """Inches above an axes that its title (``points`` in size, else the default) takes."""
    points = _points("axes.titlesize") if points is None else points
    return _EDGE + (mpl.rcParams["axes.titlepad"] + _LINE * points) / 72


def _x_room(
    *, lines: int = 1, size: float | None = None, label: bool = True, depth: float | None = None
) -> float:
    """Inches below an axes that ``lines`` lines of tick labels and the x label take.

    ``depth`` (inches) replaces the lines' height: the length of vertical tick labels.
    """
    size = _points("xtick.labelsize") if size is None else size
    points = mpl.rcParams["xtick.major.size"] + mpl.rcParams["xtick.major.pad"]
    points += lines * _LINE * size if depth is None else depth * 72
    if label:
        points += mpl.rcParams["axes.labelpad"] + _LINE * _points("axes.labelsize")
    return _EDGE + points / 72


def _y_room(fig: Figure, axis: Axis, *, label: bool = True) -> float:
    """Inches beside an axes that the tick labels of ``axis`` and its label take."""
    points = mpl.rcParams["ytick.major.size"] + mpl.rcParams["ytick.major.pad"]
    if label:
        points += mpl.rcParams["axes.labelpad"] + _LINE * _points("axes.labelsize")
    return _EDGE + points / 72 + _tick_label_width(fig, axis)


def _tick_label_width(fig: Figure, axis: Axis) -> float:
    """Width in inches of the widest major tick label ``axis`` draws in its current view.

    The locator and formatter calls of the draw, without making the tick artists (what makes a
    layout engine's measure of an axis costly); in the rc font size, which no y axis here
    changes.
    """
    locs = axis.get_majorticklocs()
    labels = axis.get_major_formatter().format_ticks(locs)
    low, high = sorted(axis.get_view_interval())
    slack = 1e-10 * (high - low)
    shown = [t for v, t in zip(locs, labels, strict=True) if low - slack <= v <= high + slack]
    return _text_width(fig, shown, mpl.rcParams[f"{axis.axis_name}tick.labelsize"])


def _text_width(fig: Figure, texts: Sequence[str], size: float | str) -> float:
    """Width in inches of the widest of the one-line ``texts`` in font size ``size``."""
    renderer = _agg_canvas(fig).get_renderer()  # the renderer savefig draws with (same dpi)
    font = FontProperties(size=size)
    widths = [renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in texts]
    return max(widths, default=0.0) / fig.dpi


def _place_plot(
    fig: Figure, ax: Axes, *, bottom: float, right: float = 0.3, top: float | None = None
) -> None:
    """Put a plot with a title, y tick labels and a y label in ``fig``, its left margin fitted.

    The view must be final (everything drawn, limits set): the y ticks it shows are measured.
    ``right`` leaves room for the half of the last x tick label that can pass the axes' end
    (0.3 in: half of "30 000"; categories sit inside the axes).
    """
    top = _title_room() if top is None else top
    _place(fig, ax, left=1.0, bottom=bottom, right=right, top=top)  # the height of the ticks
    _place(fig, ax, left=_y_room(fig, ax.yaxis), bottom=bottom, right=right, top=top)


def map_figure(
    zones: gpd.GeoDataFrame,
    column: str,
    m: Messages,
    *,
    title: str,
    qpv: gpd.GeoDataFrame | None = None,
    cmap: str = "RdYlBu_r",
    diverging: bool = True,
    bound: float | None = None,
) -> Figure:
    """Choropleth of ``column`` per zone with the QPV outlined and zones without value hatched.

    Parameters
    ----------
    zones
        Zone polygons with ``column``.
    column
        The mapped variable.
    m
        Messages (labels, decimal comma).
    title
        Figure title.
    qpv
        QPV polygons in the same CRS, drawn as outlines.
    cmap
        Matplotlib colormap name.
    diverging
        Keep the palette's neutral middle on 0 (anomalies), with one scale both sides: a
        value ``v`` takes the colour it has on ``[-M, M]``, ``M`` the largest absolute
        value. Values on both sides of 0 use the whole palette, the colour bar running from
        ``-M`` to ``M``; values all on one side its half on that side, the colour bar from 0
        to ``M`` (or ``-M`` to 0): a city hotter than its rural reference everywhere is drawn
        in warm colours only, never blue.
    bound
        A fixed range ``[-bound, bound]`` of the colours instead (``outputs.anomaly_range_k``),
        the same in every run that sets it: values beyond take the end colours, the colour
        bar's arrows, and its end ticks read ``≤ -bound`` and ``≥ bound``.
    """
    values = pd.to_numeric(zones[column], errors="coerce")
    fig = _new_figure(MAP_WIDTH, _map_height(zones.total_bounds))
    ax = fig.add_subplot()
    cax = fig.add_axes((0.9, 0.1, 0.03, 0.8))
    if bound is None:
        vmin, vmax, values = _own_range(values, diverging=diverging)
    else:
        vmin, vmax = -float(bound), float(bound)
    norm = Normalize(vmin=vmin, vmax=vmax)
    palette = _side_of_palette(cmap, vmin, vmax) if diverging else mpl.colormaps[cmap]
    # The artists geopandas' plot makes (same pixels), built from the coordinate arrays at
    # once instead of a patch per zone: measured on the 1,000-IRIS benchmark, building the
    # two maps 91 ms -> 34 ms.
    paths, rows = _polygon_paths(zones.geometry)
    has_value = values.notna().to_numpy()[rows]
    if has_value.any():
        known = Collection(norm=norm, edgecolor="white", linewidth=0.4)
        known.set_paths([path for path, ok in zip(paths, has_value, strict=True) if ok])
        known.set_cmap(palette)
        known.set_array(values.to_numpy()[rows][has_value])
        ax.add_collection(known, autolim=True)
    handles = []
    if not has_value.all():
        look = {"facecolor": _hex(NO_VALUE_FILL), "edgecolor": _hex(NO_VALUE_HATCH), "hatch": "///"}
        missing = Collection(**look, linewidth=0.4)  # as QGIS draws them (zones.gpkg's style)
        missing.set_paths([path for path, ok in zip(paths, has_value, strict=True) if not ok])
        ax.add_collection(missing, autolim=True)
        handles.append(Patch(**look, label=m("legend_no_value")))
    if qpv is not None and len(qpv):
        outlines = LineCollection(_boundary_lines(qpv.geometry), color="black", linewidth=1.6)
        ax.add_collection(outlines, autolim=True)
        handles.append(Line2D([], [], color="black", linewidth=1.6, label=m("legend_qpv")))
    ax.autoscale_view()
    colorbar = fig.colorbar(
        ScalarMappable(norm=norm, cmap=palette),
        cax=cax,
        label=m.label(column, "axis"),
        extend="neither" if bound is None else "both",
    )
    if bound is None:
        localise(m, colorbar.ax.yaxis)
    else:
        colorbar.set_ticks(np.linspace(vmin, vmax, 5))
        colorbar.ax.yaxis.set_major_formatter(_OpenEndsFormatter(m, vmin, vmax))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    _title(ax, title)
    ax.set_aspect("equal")
    ax.set_axis_off()
    # The zones' CRS: projected (read_run maps IRIS given in degrees in their UTM zone).
    add_scale_bar(ax, m, zones.crs)
    add_north_arrow(ax)
    _place_map(fig, ax, cax)
    return fig


def _own_range(values: pd.Series, *, diverging: bool) -> tuple[float, float, pd.Series]:
    """Colour range of a map fitted to its ``values``: ``(vmin, vmax, values to draw)``.

    One value (up to rounding) is drawn in one colour: the middle of a range of 1, or with
    ``diverging`` its colour on ``[-m, m]`` (0 alone: the middle of ``[-0.5, 0.5]``). With
    ``diverging``, the range reaches 0 with one scale each side: ``[-m, m]`` when the values
    span 0, else ``[0, m]`` or ``[-m, 0]``, ``m`` their largest absolute value.
    """
    vmin, vmax = float(values.min()), float(values.max())
    if not np.isfinite(vmin):
        vmin, vmax = 0.0, 1.0
    if vmax - vmin <= 1e-9 * max(1.0, abs(vmax)):  # one value (up to rounding): one colour
        values = values.where(values.isna(), vmin)
        vmax = vmin
    if diverging:
        # One scale each side of 0: -1.3 K as pale as +1.3 K. (Two slopes, each end its own
        # extreme, drew a -1.3 K IRIS as dark as a +7.4 K one; a range stretched over values
        # all above 0 drew an IRIS 6.8 K hotter than the rural reference in deep blue.)
        bound = max(abs(vmin), abs(vmax))
        if bound == 0:
            return -0.5, 0.5, values
        return (-bound if vmin < 0 else 0.0), (bound if vmax > 0 else 0.0), values
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    return vmin, vmax, values


def _side_of_palette(name: str, vmin: float, vmax: float) -> Colormap:
    """Return the colours of the diverging palette ``name`` a map of ``[vmin, vmax]`` uses.

    All of them when the range spans 0; over ``[0, m]`` (``[-m, 0]``) the upper (lower) half
    of the palette's entries, so that 0 keeps the palette's neutral middle and every value
    the colour it has on ``[-m, m]``: the same entry of the palette (for an even number of
    entries, as matplotlib's 256).
    """
    palette = mpl.colormaps[name]
    if vmin < 0 < vmax:
        return palette
    half = palette.N // 2
    entries = np.arange(half, palette.N) if vmin >= 0 else np.arange(half)
    return ListedColormap(
        palette(entries), name=f"{palette.name}_{'upper' if vmin >= 0 else 'lower'}"
    )


class _OpenEndsFormatter(_LocalFormatter):
    """:class:`_LocalFormatter` labels, the range's ends read ``≤ low`` and ``≥ high``."""

    def __init__(self, m: Messages, low: float, high: float) -> None:
        super().__init__(m)
        self._ends = (low, high)

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = super().__call__(x, pos)
        if math.isclose(x, self._ends[0]):
            return f"≤{NBSP}{text}"
        return f"≥{NBSP}{text}" if math.isclose(x, self._ends[1]) else text


#: Share of a map's width its scale bar is at most.
_SCALE_BAR_SHARE = 0.2


def scale_bar_length(width_m: float) -> float:
    """Length (m) of the scale bar of a map ``width_m`` metres wide.

    The largest 1, 2 or 5 x 10^k m that is at most a fifth of the width (so between
    1/12.5 and 1/5 of it): a map 7,300 m wide gets 1,000 m, one 330 m wide 50 m.
    """
    target = _SCALE_BAR_SHARE * width_m
    power = 10.0 ** math.floor(math.log10(target) + 1e-9)
    return next(step * power for step in (5, 2, 1) if step * power <= target * (1 + 1e-9))


def scale_bar_label(length_m: float, m: Messages) -> str:
    """``length_m`` in the report's language: ``500 m``, ``2 km``, French ``0,5 m``.

    Whole kilometres from 1 km on (the lengths of :func:`scale_bar_length` are), else metres
    with as many decimals as their one significant digit needs.
    """
    space = NBSP if m.lang == "fr" else " "  # as the report writes a number and its unit
    if length_m >= 1000:
        return f"{m.number(length_m / 1000, 0)}{space}km"
    digits = max(0, -math.floor(math.log10(length_m) + 1e-9))
    return f"{m.number(length_m, digits)}{space}m"


def _metres_per_unit(crs: Any) -> float | None:
    """Metres in one unit of the projected ``crs``'s coordinates; ``None`` if not projected.

    A CRS in degrees has no one length per unit (a degree of longitude shrinks with the
    latitude), and without a CRS the units are unknown: such a map gets no scale bar.
    """
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        return None
    return float(crs.axis_info[0].unit_conversion_factor)


def add_scale_bar(
    ax: Axes, m: Messages, crs: Any, *, fontsize: float = 8
) -> AnchoredSizeBar | None:
    """Draw a scale bar at the lower right of the map ``ax``, drawn in ``crs`` coordinates.

    Its length is :func:`scale_bar_length` of the map's width (its x limits, which must be
    final), in data units; labelled by :func:`scale_bar_label`, on a white box. ``None``
    (nothing drawn) when ``crs`` is not projected (see :func:`_metres_per_unit`).
    """
    per_unit = _metres_per_unit(crs)
    left, right = ax.get_xlim()
    width = abs(right - left) * (per_unit or 0.0)
    if not (per_unit and np.isfinite(width) and width > 0):
        return None
    length = scale_bar_length(width)
    bar = AnchoredSizeBar(
        ax.transData,
        length / per_unit,
        scale_bar_label(length, m),
        "lower right",
        pad=0.3,
        borderpad=0.5,
        sep=3,
        size_vertical=length / per_unit / 20,
        fontproperties=FontProperties(size=fontsize),
    )
    bar.patch.set(facecolor="white", alpha=0.8, edgecolor="none")
    ax.add_artist(bar)
    return bar


def add_north_arrow(ax: Axes, *, fontsize: float = 8) -> None:
    """Draw a small "N" over an arrow pointing up at the upper right of the map ``ax``.

    The maps are north-up in their projected CRS: up is grid north, within a few degrees of
    true north over a city (the meridian convergence of UTM or Lambert-93).
    """
    letter = ax.annotate(
        "N", xy=(0.97, 0.97), xycoords="axes fraction", ha="center", va="top", fontsize=fontsize
    )
    ax.annotate(
        "",
        xy=(0.5, 0.0),
        xycoords=letter,
        xytext=(0, -3 * fontsize),
        textcoords="offset points",
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.0, "shrinkA": 0},
    )


#: Width of a map figure (inches); its height follows the area's shape (:func:`_map_height`).
MAP_WIDTH = 7.0


def _map_height(bounds: np.ndarray) -> float:
    """Figure height (inches) that fits a map of ``bounds`` at :data:`MAP_WIDTH`.

    The map's room is the width less the colorbar's (~1.3 in), plus the title's; a wide city
    gets a low figure instead of white bands above and below it, a tall one up to 8 in.
    """
    west, south, east, north = (float(v) for v in bounds)
    aspect = (north - south) / (east - west) if east > west else 1.0
    if not np.isfinite(aspect):
        aspect = 1.0
    return float(np.clip((MAP_WIDTH - 1.3) * aspect + _title_room() + 2 * _EDGE, 3.5, 8.0))


def _polygon_paths(geometry: gpd.GeoSeries) -> tuple[list[Path], np.ndarray]:
    """Return one compound path per (multi)polygon of ``geometry`` and the row each comes from.

    The paths geopandas' ``plot`` draws: rings normalised (a hole winds against its shell, so
    it stays empty), each ring closed. Rows without a polygon (empty, missing, not areal)
    have no path.
    """
    shapes = shapely.normalize(np.asarray(geometry.array, dtype=object))
    parts, part_row = shapely.get_parts(shapes, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    counts = np.bincount(coord_ring, minlength=len(rings))
    ends = np.cumsum(counts)
    codes[ends - counts] = Path.MOVETO
    codes[ends - 1] = Path.CLOSEPOLY
    rows, starts = np.unique(part_row[ring_part][coord_ring], return_index=True)
    stops = np.append(starts[1:], len(coords))
    paths = [Path(coords[a:b], codes[a:b]) for a, b in zip(starts, stops, strict=True)]
    return paths, rows


def _boundary_lines(geometry: gpd.GeoSeries) -> list[np.ndarray]:
    """Return the coordinates of each ring of ``geometry``, as geopandas plots a boundary."""
    lines = shapely.get_parts(shapely.normalize(shapely.boundary(np.asarray(geometry.array))))
    coords, index = shapely.get_coordinates(lines, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(index)) + 1) if len(coords) else []


def _place_map(fig: Figure, ax: Axes, cax: Axes) -> None:
    """Put the map in ``fig`` with its colorbar on the right, as tall as 85 % of the map's room.

    The map's box keeps its aspect inside that room (centred); the colorbar's width is 1/20 of
    its height, as ``Figure.colorbar`` draws them.
    """
    width, height = fig.get_size_inches()
    top, bottom = _title_room(), _EDGE
    bar_height = 0.85 * (height - top - bottom)
    bar_width = bar_height / 20
    bar_bottom = bottom + (height - top - bottom - bar_height) / 2
    _place(fig, cax, left=1.0, bottom=bar_bottom, right=1.0, top=height - bar_bottom - bar_height)
    right = _y_room(fig, cax.yaxis)  # the colorbar's ticks and label are on its right
    _place(
        fig,
        cax,
        left=width - right - bar_width,
        bottom=bar_bottom,
        right=right,
        top=height - bar_bottom - bar_height,
    )
    gap = 0.3  # between the map's room and the colorbar
    _place(fig, ax, left=_EDGE, bottom=bottom, right=right + bar_width + gap, top=top)


def income_scatter(
    zones: pd.DataFrame,
    outcome: str,
    income: str,
    m: Messages,
    *,
    fit: LineFit | None,
    group: str | None = "in_qpv",
) -> Figure:
    """Income against the outcome, one point per zone, zones in QPV marked, with the OLS line.

    Zones whose ``group`` value is missing (no QPV status known) are drawn as grey hollow
    circles of their own, neither among the QPV nor among the others: they are in the line
    and the correlation, which take every zone with both values.
    """
    x = pd.to_numeric(zones[income], errors="coerce")
    y = pd.to_numeric(zones[outcome], errors="coerce")
    ok = x.notna() & y.notna()
    if group and group in zones.columns:
        known, inside = group_flags(zones[group])
    else:
        known, inside = pd.Series(True, index=zones.index), pd.Series(False, index=zones.index)
    fig = _new_figure(7.0, 4.8)
    ax = fig.add_subplot()
    ax.scatter(
        x[ok & known & ~inside],
        y[ok & known & ~inside],
        s=28,
        color=_OTHER_COLOUR,
        alpha=0.8,
        label=m("legend_other"),
    )
    if (ok & inside).any():
        ax.scatter(
            x[ok & inside],
            y[ok & inside],
            s=40,
            color=_QPV_COLOUR,
            marker="s",
            label=m("legend_in_qpv"),
        )
    if (ok & ~known).any():
        ax.scatter(
            x[ok & ~known],
            y[ok & ~known],
            s=28,
            facecolors="none",
            edgecolors=_UNKNOWN_COLOUR,
            linewidths=1.2,
            label=m("legend_qpv_unknown"),
        )
    if fit is not None:
        xs = np.linspace(float(x[ok].min()), float(x[ok].max()), 50)
        ax.plot(
            xs, fit.intercept + fit.slope * xs, color="black", linewidth=1.4, label=m("legend_fit")
        )
    if is_temperature(outcome) and (y[ok] < 0).any():
        ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_xlabel(m.label(income, "axis"))
    ax.set_ylabel(m.label(outcome, "axis"))
    _title(ax, m("fig_scatter", label=m.label(outcome)))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    localise(m, ax.xaxis, ax.yaxis)
    _place_plot(fig, ax, bottom=_x_room())
    return fig


def decile_gaps(deciles: Mapping[str, Any], outcome: str) -> np.ndarray | None:
    """Each decile's exposure minus the all-zones mean, when the deciles figure plots it.

    For an absolute temperature (a ``_k`` outcome that is no anomaly: 307 K, say), bars from
    0 K would all look alike, the D1 − D10 gap a few pixels of their tops: the figure plots
    each decile's difference from the mean of all zones instead (its ``exposure_minus_all``,
    else its ``exposure`` minus ``overall``). ``None`` for another outcome (an anomaly ΔT
    reads from its 0, the rural reference) or when a decile has no such difference.
    """
    if not is_temperature(outcome) or "anomaly" in outcome:
        return None
    rows = [r for r in deciles.get("deciles") or () if is_number(r.get("exposure"))]
    overall = deciles.get("overall")
    gaps = []
    for row in rows:
        if is_number(row.get("exposure_minus_all")):
            gaps.append(float(row["exposure_minus_all"]))
        elif is_number(overall):
            gaps.append(float(row["exposure"]) - float(overall))
        else:
            return None
    return np.array(gaps) if gaps else None


def decile_figure(deciles: Mapping[str, Any], outcome: str, m: Messages) -> Figure | None:
    """Bars of the mean outcome per income decile, with per-decile intervals when given.

    An absolute temperature is drawn as each decile's difference from the all-zones mean,
    a dashed line at 0 marking that mean (:func:`decile_gaps`).
    """
    rows = [r for r in deciles.get("deciles") or () if is_number(r.get("exposure"))]
    if not rows:
        return None
    labels = [f"D{r['decile']}" for r in rows]
    exposure = np.array([float(r["exposure"]) for r in rows])
    gaps = decile_gaps(deciles, outcome)
    # What the bars' 0 stands for: 0 of the outcome, or the mean of all zones.
    origin = np.zeros(len(rows)) if gaps is None else exposure - gaps
    heights = exposure - origin
    fig = _new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    with_ci = all(is_number(r.get("ci_low")) and is_number(r.get("ci_high")) for r in rows)
    yerr = None
    if with_ci:
        low = np.array([float(r["ci_low"]) for r in rows])
        high = np.array([float(r["ci_high"]) for r in rows])
        yerr = np.vstack([exposure - low, high - exposure])
    ax.bar(labels, heights, color=_BAR_COLOUR, yerr=yerr, capsize=3 if with_ci else 0)
    overall = deciles.get("overall")
    if gaps is not None:
        mean = float(overall) if is_number(overall) else float(origin[0])
        label = m("legend_overall_mean", value=f"{m.number(mean)} K")
        ax.axhline(0.0, color="black", linestyle="--", linewidth=1.0, label=label)
        ax.legend(fontsize=8)
        ax.set_ylabel(m("axis_minus_all"))
    else:
        if is_number(overall):
            ax.axhline(
                float(overall),
                color="black",
                linestyle="--",
                linewidth=1.0,
                label=m("legend_overall"),
            )
            ax.legend(fontsize=8)
        ax.axhline(0.0, color="#888888", linewidth=0.6)
        ax.set_ylabel(m.label(outcome, "axis"))
    ax.set_xlabel(m("axis_decile"))
    _title(ax, m("fig_deciles"))
    ax.grid(axis="y", alpha=0.3)
    localise(m, ax.yaxis)
    _place_plot(fig, ax, bottom=_x_room(), right=0.15)
    return fig


def qpv_figure(
    zones: pd.DataFrame, outcome: str, means: GroupMeans, m: Messages, *, group: str = "in_qpv"
) -> Figure | None:
    """Box plots of the outcome for the zones in QPV and the others, points and means on top."""
    y = pd.to_numeric(zones[outcome], errors="coerce")
    known, inside = group_flags(zones[group])
    groups = [
        (m("legend_in_qpv"), y[known & inside].dropna(), _QPV_COLOUR, True),
        (m("legend_other"), y[known & ~inside].dropna(), _OTHER_COLOUR, False),
    ]
    if any(len(values) == 0 for _, values, _, _ in groups):
        return None
    fig = _new_figure(6.0, 4.4)
    ax = fig.add_subplot()
    ax.boxplot([values.to_numpy() for _, values, _, _ in groups], widths=0.5, showfliers=False)
    ax.set_xticks([1, 2], [name for name, _, _, _ in groups])
    rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
    for position, (_, values, colour, key) in enumerate(groups, start=1):
        jitter = rng.uniform(-0.12, 0.12, len(values))
        ax.scatter(position + jitter, values, s=18, color=colour, alpha=0.7, zorder=3)
        mean = means.table.loc[key, outcome] if outcome in means.table.columns else np.nan
        if np.isfinite(mean):
            ax.scatter([position], [mean], marker="D", s=70, color="black", zorder=4)
    ax.set_ylabel(m.label(outcome, "axis"))
    _title(ax, m("fig_qpv"))
    ax.grid(axis="y", alpha=0.3)
    localise(m, ax.yaxis)
    _place_plot(fig, ax, bottom=_x_room(label=False), right=0.15)
    return fig


def suhii_figure(heat_island: Mapping[str, Any], m: Messages) -> Figure | None:
    """Bars of SUHII per scene and a line at the composite's SUHII.

    Each bar is labelled with its scene's date and platform: on two level lines while they fit
    side by side, else on one vertical line (see :func:`_stand_scene_labels`).
    """
    scenes = [s for s in heat_island.get("scenes") or () if is_number(s.get("suhii_k"))]
    composite = (heat_island.get("composite") or {}).get("suhii_k")
    if not scenes and not is_number(composite):
        return None
    fig = _new_figure(*_SUHII_SIZE)
    ax = fig.add_subplot()
    # Bars at 0, 1, ...: two scenes of one day (two platforms' overpasses) keep a bar each,
    # where a categorical axis would draw them on the same spot.
    positions = np.arange(len(scenes))
    ax.bar(positions, [float(s["suhii_k"]) for s in scenes], color=_BAR_COLOUR)
    dates = [str(s.get("time", ""))[:10] for s in scenes]
    platforms = [str(s.get("platform", "")) for s in scenes]
    ax.set_xticks(positions, [f"{d}\n{p}" for d, p in zip(dates, platforms, strict=True)])
    if is_number(composite):
        ax.axhline(
            float(composite),
            color="black",
            linestyle="--",
            linewidth=1.2,
            label=m("legend_composite"),
        )
        ax.legend(fontsize=8)
    ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_xlabel(m("axis_scene"))
    ax.set_ylabel(m("axis_suhii"))
    _title(ax, m("fig_suhii"))
    ax.tick_params(axis="x", labelsize=_SCENE_POINTS)
    ax.grid(axis="y", alpha=0.3)
    localise(m, ax.yaxis)
    _place_plot(fig, ax, bottom=_x_room(lines=2, size=_SCENE_POINTS), right=0.15)
    if not _side_by_side(fig, ax, [dates, platforms]):
        _stand_scene_labels(fig, ax, [f"{d} {p}" for d, p in zip(dates, platforms, strict=True)])
    return fig


def _side_by_side(fig: Figure, ax: Axes, lines: Sequence[Sequence[str]]) -> bool:
    """Whether level scene labels, ``lines[i][j]`` on line ``i`` under bar ``j``, fit ``ax``.

    Measured in the font of the scene labels, each with :data:`_TICK_GAP` of blank. The first
    date alone settles long runs: a measure costs 0.2 ms, those of 40 scenes' lines 17 ms.
    """
    count = len(lines[0])
    room = ax.get_position().width * fig.get_figwidth() / max(count, 1) - _TICK_GAP
    if count and _text_width(fig, lines[0][:1], _SCENE_POINTS) > room:
        return False
    return _text_width(fig, list({t for line in lines for t in line}), _SCENE_POINTS) <= room


def _stand_scene_labels(fig: Figure, ax: Axes, labels: Sequence[str]) -> None:
    """Label the scenes' bars of the placed ``ax`` with the vertical one-line ``labels``.

    For the scenes whose level labels would overlap (from about 9): the figure grows by the
    labels' length (its plot keeps its height) and widens, up to :data:`_SUHII_MAX_WIDTH`, to
    give each label the room of a line (40 scenes: 8.4 x 4.9 in); past about 42 scenes, every
    k-th bar only is labelled (every bar keeps a tick, a minor one when not labelled).
    """
    positions = np.arange(len(labels))
    ax.set_xticks(positions, labels)
    ax.tick_params(axis="x", labelrotation=90)
    width, height = fig.get_size_inches()
    level = _x_room(lines=2, size=_SCENE_POINTS)
    bottom = _x_room(size=_SCENE_POINTS, depth=_text_width(fig, list(set(labels)), _SCENE_POINTS))
    slot = _LINE * _SCENE_POINTS / 72 + _LINE_GAP  # a line of text and a blank
    margins = width * (1 - ax.get_position().width)
    wanted = min(_SUHII_MAX_WIDTH, max(width, margins + len(labels) * slot))
    fig.set_size_inches(wanted, height + bottom - level)
    _place_plot(fig, ax, bottom=bottom, right=0.15)
    step = math.ceil(len(labels) * slot / (ax.get_position().width * wanted))
    if step > 1:
        ax.set_xticks(positions, minor=True)
        ax.set_xticks(positions[::step], labels[::step])


def quality_figure(
    zones: pd.DataFrame,
    m: Messages,
    *,
    n_clear_shares: pd.Series | None,
    min_valid_frac: float | None,
    water_left_out: bool = True,
    n_clear_title: str | None = None,
) -> Figure | None:
    """Clear observations per pixel (when known) and the zones' valid share, side by side.

    ``water_left_out``: the valid share is of the zones' land (the run left water out of its
    LST) rather than of their whole area. ``n_clear_title``: the title of the clear
    observations' panel, which says which pixels it counts (by default, "per pixel").
    """
    has_valid = "valid_frac" in zones.columns
    panels = int(n_clear_shares is not None) + int(has_valid)
    if panels == 0:
        return None
    # Two panels: 8.2 in = 902 px at DPI, inside the report's ~926 px column (9 in was 990 px,
    # shrunk by the browser).
    fig = _new_figure(3.6 * panels + 1.0, 3.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    index = 0
    if n_clear_shares is not None:
        ax = axes[index]
        index += 1
        # A numeric axis: a count no pixel has keeps its (empty) place, and the ticks label
        # as many counts as fit (every one up to 7, every 5th or 10th up to 40).
        counts = n_clear_shares.index.to_numpy(dtype="float64")
        ax.bar(counts, n_clear_shares.to_numpy(), color=_OTHER_COLOUR)
        ax.xaxis.set_major_locator(_count_locator())
        ax.set_xlabel(m("axis_n_clear"))
        ax.set_ylabel(m("axis_share_pixels"))
        _title(ax, n_clear_title or m("fig_quality_n_clear"), fontsize=_PANEL_TITLE_POINTS)
        ax.grid(axis="y", alpha=0.3)
        localise(m, ax.xaxis, ax.yaxis)
    if has_valid:
        ax = axes[index]
        values = pd.to_numeric(zones["valid_frac"], errors="coerce").dropna()
        ax.hist(values, bins=np.linspace(0.0, 1.0, 21), color=_BAR_COLOUR)
        if min_valid_frac is not None:
            ax.axvline(
                min_valid_frac,
                color="black",
                linestyle="--",
                linewidth=1.0,
                label=m("fig_quality_threshold", value=m.share(min_valid_frac)),
            )
            ax.legend(fontsize=8)
        ax.set_xlabel(m("axis_valid_frac" if water_left_out else "axis_valid_frac_water_kept"))
        ax.set_ylabel(m("axis_share_zones"))
        _title(ax, m("fig_quality_valid"), fontsize=_PANEL_TITLE_POINTS)
        ax.grid(axis="y", alpha=0.3)
        ax.yaxis.set_major_locator(_count_locator())  # no half IRIS when a bin has a few
        localise(m, ax.xaxis, ax.yaxis)
    fig.suptitle(m("fig_quality"))
    _place_panels(fig, axes)
    return fig


def _count_locator() -> MaxNLocator:
    """Ticks of a count axis: matplotlib's default ticks (as many as fit), whole numbers only.

    Whole even when the view holds a single one (one bar), where ``integer`` alone gives way.
    """
    return MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=1)


def _place_panels(fig: Figure, axes: Sequence[Axes]) -> None:
    """Put ``axes`` side by side under the figure's title, each left margin fitted to its ticks.

    The panels share the width their margins leave; each keeps :data:`_PANEL_RIGHT` on its
    right for the end of its last x tick label.
    """
    width, height = fig.get_size_inches()
    # the suptitle hangs from 0.98 of the height; the panels' titles sit under it
    suptitle = 0.02 * height + _LINE * _points("figure.titlesize") / 72
    top = suptitle + _title_room(_PANEL_TITLE_POINTS)
    bottom = _x_room()
    for ax in axes:  # the height first: it sets how many y ticks there are
        _place(fig, ax, left=1.0, bottom=bottom, right=width - 2.0, top=top)
    lefts = [_y_room(fig, ax.yaxis) for ax in axes]
    panel = (width - sum(lefts) - _PANEL_RIGHT * len(axes)) / len(axes)
    x = 0.0
    for ax, left in zip(axes, lefts, strict=True):
        x += left
        _place(fig, ax, left=x, bottom=bottom, right=width - x - panel, top=top)
        x += panel + _PANEL_RIGHT


def _hex(rgb: Sequence[int]) -> str:
    """``#rrggbb`` of an RGB triple."""
    return "#" + "".join(f"{c:02x}" for c in rgb)
