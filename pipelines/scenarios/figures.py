"""Maps of ΔLST per scenario and the side-by-side comparison figure (matplotlib, Agg canvas).

Figures use matplotlib's object API (no pyplot state) and are written atomically as PNG. Maps
show the scenario effect ΔLST (K, blue cooler, red warmer, zero white) over the extent of the
run's zones with the QPV outlined in black and the IRIS in grey, a scale bar and the north;
a run made from synthetic inputs says so on every figure. Their words come from the report's
messages (:class:`pipelines.report.text.Messages`), in the run's ``outputs.report_language``,
and in French their tick labels and scale bar use the decimal comma, as the report's own
figures do; the footer is wrapped to the figure's width.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from pipelines.outputs._atomic import staged
from pipelines.report.figures import FOOTER_POINTS, add_north_arrow, add_scale_bar, localise
from pipelines.report.text import Messages
from pipelines.scenarios.baseline import Baseline

__all__ = ["comparison_figure", "delta_map", "delta_scale", "footer_lines", "save_png"]

#: Resolution of the PNGs (dots per inch).
DPI = 110
_CMAP = "RdBu_r"
#: The footer's line height (in font sizes) and margin (inches); its font is the report's.
_FOOTER_LINE = 1.3
_FOOTER_MARGIN = 0.08


def save_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG atomically (Agg canvas), then clear it; return the path."""
    FigureCanvasAgg(fig)
    try:
        with staged(path) as staging:
            fig.savefig(staging, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        fig.clear()
    return Path(path)


def footer_lines(fig: Figure, sentences: Sequence[str], *, dpi: int = DPI) -> list[str]:
    """Wrap the footer ``sentences`` into lines that fit the width of ``fig``.

    Words are measured with the Agg renderer the PNG is drawn with, in the footer's font; a
    word longer than a line keeps a line of its own.
    """
    text = ". ".join(s.rstrip(".") for s in sentences) + "."
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    renderer = canvas.get_renderer()
    font = FontProperties(size=FOOTER_POINTS)
    room = (fig.get_figwidth() - 2 * _FOOTER_MARGIN) * dpi

    def width(line: str) -> float:
        return renderer.get_text_width_height_descent(line, font, ismath=False)[0]

    lines: list[str] = []
    for word in text.split(" "):
        if lines and width(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _footer(fig: Figure, sentences: Sequence[str]) -> None:
    """Write the wrapped footer at the bottom of ``fig`` and keep the layout above it."""
    lines = footer_lines(fig, sentences)
    height = (len(lines) * _FOOTER_LINE * FOOTER_POINTS / 72 + 2 * _FOOTER_MARGIN) / (
        fig.get_figheight()
    )
    fig.get_layout_engine().set(rect=(0, height, 1, 1 - height))  # type: ignore[union-attr]
    fig.text(
        _FOOTER_MARGIN / fig.get_figwidth(),
        _FOOTER_MARGIN / fig.get_figheight(),
        "\n".join(lines),
        fontsize=FOOTER_POINTS,
        color="0.3",
        va="bottom",
        linespacing=_FOOTER_LINE,
    )


def delta_scale(deltas: Sequence[np.ndarray]) -> float:
    """Half-range of a symmetric ΔT colour scale: the 99th percentile of |ΔT| ≠ 0 (≥ 0.05 K)."""
    values = [np.abs(d[np.isfinite(d) & (d != 0)]) for d in deltas]
    pooled = np.concatenate(values) if values else np.empty(0)
    return max(float(np.percentile(pooled, 99)) if pooled.size else 0.0, 0.05)


def _extent(baseline: Baseline) -> tuple[float, float, float, float]:
    """Map extent (left, right, bottom, top) of the grid, in its CRS."""
    t = baseline.transform
    ny, nx = baseline.shape
    return t.c, t.c + nx * t.a, t.f + ny * t.e, t.f


def _zoom(ax: Any, baseline: Baseline) -> None:
    """Frame the axes on the run's zones (with a margin), or leave the whole grid."""
    frames = [f.to_crs(baseline.crs) for f in baseline.zones.values() if len(f)]
    if not frames:
        return
    bounds = np.array([f.total_bounds for f in frames])
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    margin = 0.05 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y0 - margin, y1 + margin)


def _draw_map(ax: Any, baseline: Baseline, delta: np.ndarray, half: float, m: Messages) -> Any:
    """Draw ``delta``, the zones' outlines, a scale bar and the north on ``ax``; return the image.

    The axes are in the grid's CRS, a projected CRS in metres (``grid.crs`` is checked to be).
    """
    image = ax.imshow(
        np.ma.masked_invalid(delta),
        extent=_extent(baseline),
        cmap=_CMAP,
        norm=TwoSlopeNorm(vmin=-half, vcenter=0.0, vmax=half),
        interpolation="nearest",
    )
    iris = baseline.zones.get("iris")
    if iris is not None and len(iris):
        iris.to_crs(baseline.crs).boundary.plot(ax=ax, color="0.6", linewidth=0.3)
    qpv = baseline.zones.get("qpv")
    if qpv is not None and len(qpv):
        gpd.GeoSeries(qpv.geometry.make_valid(), crs=qpv.crs).to_crs(baseline.crs).boundary.plot(
            ax=ax, color="black", linewidth=1.0
        )
    _zoom(ax, baseline)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    add_scale_bar(ax, m, baseline.crs)
    add_north_arrow(ax)
    return image


def delta_map(
    baseline: Baseline,
    delta: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str,
    half: float | None = None,
    drawn: bool = False,
    m: Messages | None = None,
) -> Path:
    """Write the ΔLST map of one scenario (``scenarios/<name>/delta_lst.png``).

    ``drawn``: the scenario converts a random share of pixels, whose places on the map are
    one draw (said under it), not a plan. ``m``: the words, in the run's language (French
    by default, as the report).
    """
    m = m or Messages()
    half = delta_scale([delta]) if half is None else half
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.add_subplot()
    image = _draw_map(ax, baseline, delta, half, m)
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, label=m("scenario_figure_colorbar"))
    localise(m, colorbar.ax.yaxis)
    ax.set_title(title, fontsize=10)
    notes = [m("scenario_figure_outlines")]
    if drawn:
        notes.append(m("scenario_figure_drawn"))
    if baseline.synthetic:
        notes.append(m("figure_synthetic"))
    _footer(fig, notes)
    return save_png(fig, path)


def comparison_figure(
    baseline: Baseline,
    deltas: Mapping[str, np.ndarray],
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    m: Messages | None = None,
) -> Path:
    """Write the side-by-side figure: one ΔLST map per scenario (one scale), QPV gap bars.

    ``m``: the words, in the run's language (French by default, as the report).
    """
    m = m or Messages()
    names = list(deltas)
    half = delta_scale(list(deltas.values()))
    fig = Figure(figsize=(3.6 * (len(names) + 1), 4.6), layout="constrained")
    grid = fig.add_gridspec(1, len(names) + 1, width_ratios=[1] * len(names) + [1.2])
    image, maps = None, []
    for k, name in enumerate(names):
        ax = fig.add_subplot(grid[0, k])
        image = _draw_map(ax, baseline, deltas[name], half, m)
        ax.set_title(name, fontsize=9)
        maps.append(ax)
    if image is not None:
        colorbar = fig.colorbar(
            image, ax=maps, shrink=0.6, location="bottom", label=m("scenario_figure_colorbar_short")
        )
        localise(m, colorbar.ax.xaxis)
    bars = fig.add_subplot(grid[0, len(names)])
    x = np.arange(len(table))
    before = pd.to_numeric(table["qpv_gap_before_k"], errors="coerce").to_numpy(dtype=float)
    after = pd.to_numeric(table["qpv_gap_after_k"], errors="coerce").to_numpy(dtype=float)
    bars.bar(x - 0.2, before, width=0.4, color="0.6", label=m("scenario_figure_gap_before"))
    bars.bar(x + 0.2, after, width=0.4, color="#2b8cbe", label=m("scenario_figure_gap_after"))
    notes = [m("scenario_figure_delta"), m("scenario_figure_qpv")]
    if {"qpv_gap_after_k_min", "qpv_gap_after_k_max"} <= set(table.columns):
        low = pd.to_numeric(table["qpv_gap_after_k_min"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(table["qpv_gap_after_k_max"], errors="coerce").to_numpy(dtype=float)
        spread = np.isfinite(low) & np.isfinite(high) & np.isfinite(after)
        if spread.any():  # the range over the model's fits, which may cross zero
            bars.errorbar(
                (x + 0.2)[spread],
                after[spread],
                yerr=np.clip([after[spread] - low[spread], high[spread] - after[spread]], 0, None),
                fmt="none",
                ecolor="black",
                capsize=3,
                linewidth=0.8,
            )
            notes.append(m("scenario_figure_range"))
    bars.axhline(0, color="black", linewidth=0.6)
    bars.set_xticks(x, [str(s) for s in table["scenario"]], rotation=20, fontsize=8)
    bars.set_ylabel(m("scenario_figure_gap_axis"))
    localise(m, bars.yaxis)
    bars.legend(fontsize=7, loc="best")
    bars.set_title(m("scenario_figure_gap_title"), fontsize=9)
    if baseline.synthetic:
        notes.append(m("figure_synthetic"))
    _footer(fig, notes)
    return save_png(fig, path)
