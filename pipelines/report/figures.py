"""The report's figures, drawn with matplotlib's object API (no pyplot state) and saved as PNG.

Each function returns a :class:`matplotlib.figure.Figure` (or ``None`` when its data are
absent); :func:`png_bytes` renders one with the Agg canvas and releases it. Labels come from
:class:`~pipelines.report.text.Messages`, and in French the tick labels use the decimal comma.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter

from pipelines.report.tables import GroupMeans, LineFit
from pipelines.report.text import Messages, is_number, is_temperature

__all__ = [
    "decile_figure",
    "income_scatter",
    "map_figure",
    "png_bytes",
    "qpv_figure",
    "quality_figure",
    "suhii_figure",
]

#: Resolution of the PNGs (dots per inch).
DPI = 110
_QPV_COLOUR = "#c2185b"
_OTHER_COLOUR = "#4a6fa5"
_BAR_COLOUR = "#e07b39"


def png_bytes(fig: Figure, *, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg canvas, then clear it."""
    FigureCanvasAgg(fig)  # attaches itself to the figure
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    finally:
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


def _localise(m: Messages, *axes: Any) -> None:
    """Write the tick labels of the numeric ``axes`` the way the report's language does."""
    for axis in axes:
        axis.set_major_formatter(_LocalFormatter(m))


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def map_figure(
    zones: gpd.GeoDataFrame,
    column: str,
    m: Messages,
    *,
    title: str,
    qpv: gpd.GeoDataFrame | None = None,
    cmap: str = "RdYlBu_r",
    diverging: bool = True,
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
        Centre the colours on 0 when the values span it (anomalies).
    """
    values = pd.to_numeric(zones[column], errors="coerce")
    fig = _new_figure(7.0, 6.0)
    ax = fig.add_subplot()
    vmin, vmax = float(values.min()), float(values.max())
    if not np.isfinite(vmin):
        vmin, vmax = 0.0, 1.0
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    norm: Normalize = (
        TwoSlopeNorm(vcenter=0.0, vmin=vmin, vmax=vmax)
        if diverging and vmin < 0 < vmax
        else Normalize(vmin=vmin, vmax=vmax)
    )
    known = zones[values.notna()]
    if len(known):
        known.plot(column=column, ax=ax, cmap=cmap, norm=norm, edgecolor="white", linewidth=0.4)
    handles = []
    missing = zones[values.isna()]
    if len(missing):
        missing.plot(ax=ax, facecolor="#e4e4e4", edgecolor="#9a9a9a", hatch="///", linewidth=0.4)
        handles.append(
            Patch(facecolor="#e4e4e4", edgecolor="#9a9a9a", hatch="///", label=m("legend_no_value"))
        )
    if qpv is not None and len(qpv):
        qpv.boundary.plot(ax=ax, color="black", linewidth=1.6)
        handles.append(Line2D([], [], color="black", linewidth=1.6, label=m("legend_qpv")))
    colorbar = fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.85, label=m.label(column, "axis")
    )
    _localise(m, colorbar.ax.yaxis)
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def income_scatter(
    zones: pd.DataFrame,
    outcome: str,
    income: str,
    m: Messages,
    *,
    fit: LineFit | None,
    group: str | None = "in_qpv",
) -> Figure:
    """Income against the outcome, one point per zone, zones in QPV marked, with the OLS line."""
    x = pd.to_numeric(zones[income], errors="coerce")
    y = pd.to_numeric(zones[outcome], errors="coerce")
    ok = x.notna() & y.notna()
    inside = (
        zones[group].fillna(False).astype(bool)
        if group and group in zones.columns
        else pd.Series(False, index=zones.index)
    )
    fig = _new_figure(7.0, 4.8)
    ax = fig.add_subplot()
    ax.scatter(
        x[ok & ~inside],
        y[ok & ~inside],
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
    if fit is not None:
        xs = np.linspace(float(x[ok].min()), float(x[ok].max()), 50)
        ax.plot(
            xs, fit.intercept + fit.slope * xs, color="black", linewidth=1.4, label=m("legend_fit")
        )
    if is_temperature(outcome) and (y[ok] < 0).any():
        ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_xlabel(m.label(income, "axis"))
    ax.set_ylabel(m.label(outcome, "axis"))
    ax.set_title(m("fig_scatter", label=m.label(outcome)))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _localise(m, ax.xaxis, ax.yaxis)
    return fig


def decile_figure(deciles: Mapping[str, Any], outcome: str, m: Messages) -> Figure | None:
    """Bars of the mean outcome per income decile, with per-decile intervals when given."""
    rows = [r for r in deciles.get("deciles") or () if is_number(r.get("exposure"))]
    if not rows:
        return None
    labels = [f"D{r['decile']}" for r in rows]
    heights = np.array([float(r["exposure"]) for r in rows])
    fig = _new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    with_ci = all(is_number(r.get("ci_low")) and is_number(r.get("ci_high")) for r in rows)
    yerr = None
    if with_ci:
        low = np.array([float(r["ci_low"]) for r in rows])
        high = np.array([float(r["ci_high"]) for r in rows])
        yerr = np.vstack([heights - low, high - heights])
    ax.bar(labels, heights, color=_BAR_COLOUR, yerr=yerr, capsize=3 if with_ci else 0)
    overall = deciles.get("overall")
    if is_number(overall):
        ax.axhline(
            float(overall), color="black", linestyle="--", linewidth=1.0, label=m("legend_overall")
        )
        ax.legend(fontsize=8)
    ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_xlabel(m("axis_decile"))
    ax.set_ylabel(m.label(outcome, "axis"))
    ax.set_title(m("fig_deciles"))
    ax.grid(axis="y", alpha=0.3)
    _localise(m, ax.yaxis)
    return fig


def qpv_figure(
    zones: pd.DataFrame, outcome: str, means: GroupMeans, m: Messages, *, group: str = "in_qpv"
) -> Figure | None:
    """Box plots of the outcome for the zones in QPV and the others, points and means on top."""
    y = pd.to_numeric(zones[outcome], errors="coerce")
    inside = zones[group].fillna(False).astype(bool)
    groups = [
        (m("legend_in_qpv"), y[inside].dropna(), _QPV_COLOUR, True),
        (m("legend_other"), y[~inside].dropna(), _OTHER_COLOUR, False),
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
    ax.set_title(m("fig_qpv"))
    ax.grid(axis="y", alpha=0.3)
    _localise(m, ax.yaxis)
    return fig


def suhii_figure(heat_island: Mapping[str, Any], m: Messages) -> Figure | None:
    """Bars of SUHII per scene and a line at the composite's SUHII."""
    scenes = [s for s in heat_island.get("scenes") or () if is_number(s.get("suhii_k"))]
    composite = (heat_island.get("composite") or {}).get("suhii_k")
    if not scenes and not is_number(composite):
        return None
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot()
    labels = [f"{str(s.get('time', ''))[:10]}\n{s.get('platform', '')}" for s in scenes]
    ax.bar(labels, [float(s["suhii_k"]) for s in scenes], color=_BAR_COLOUR)
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
    ax.set_title(m("fig_suhii"))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    _localise(m, ax.yaxis)
    return fig


def quality_figure(
    zones: pd.DataFrame,
    m: Messages,
    *,
    n_clear_shares: pd.Series | None,
    min_valid_frac: float | None,
) -> Figure | None:
    """Clear observations per pixel (when known) and the zones' valid share, side by side."""
    has_valid = "valid_frac" in zones.columns
    panels = int(n_clear_shares is not None) + int(has_valid)
    if panels == 0:
        return None
    fig = _new_figure(4.0 * panels + 1.0, 3.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    index = 0
    if n_clear_shares is not None:
        ax = axes[index]
        index += 1
        ax.bar(n_clear_shares.index.astype(str), n_clear_shares.to_numpy(), color=_OTHER_COLOUR)
        ax.set_xlabel(m("axis_n_clear"))
        ax.set_ylabel(m("axis_share_pixels"))
        ax.set_title(m("fig_quality_n_clear"), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        _localise(m, ax.yaxis)
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
        ax.set_xlabel(m("axis_valid_frac"))
        ax.set_ylabel(m("axis_share_zones"))
        ax.set_title(m("fig_quality_valid"), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        _localise(m, ax.xaxis)
    fig.suptitle(m("fig_quality"))
    return fig
