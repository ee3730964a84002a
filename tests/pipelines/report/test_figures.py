"""Figures: drawn on their own canvas, labelled in the report's language, PNG out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import ErrorbarContainer
from matplotlib.path import Path
from matplotlib.text import Text
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from shapely.geometry import MultiPolygon, Polygon, box

from pipelines.report import figures
from pipelines.report.tables import group_means, line_fit
from pipelines.report.text import Messages

FR, EN = Messages("fr"), Messages("en")
NBSP = "\u00a0"
#: Widest image the report shows at its own size: its 62 rem column (992 px) less the main's
#: padding (2 x 20 px), the figure's padding (2 x 12 px) and border (2 x 1 px), at 110 dpi.
REPORT_COLUMN_INCHES = (992 - 40 - 24 - 2) / 110


def _scenes(count, *, suhii=None):
    """``count`` scenes of the summers 2021 to 2023, by Landsat 8 and 9 in turn.

    14 a summer, 8 days apart from 2 June; past 42, the dates come round again (two scenes a
    day). ``suhii`` gives them all one SUHII (K).
    """
    days = [
        date(year, 6, 2) + timedelta(days=8 * i) for year in (2021, 2022, 2023) for i in range(14)
    ]
    return [
        {
            "time": f"{days[i % len(days)].isoformat()}T10:45:00",
            "platform": f"landsat-{8 + i % 2}",
            "suhii_k": (0.5 + 0.1 * (i % 7) - 0.35 * (i % 3)) if suhii is None else suhii,
        }
        for i in range(count)
    ]


def _draw(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _shown_x_labels(ax, renderer):
    """(position, text, extent) of the x tick labels ``ax`` drew, left to right."""
    low, high = sorted(ax.get_xlim())
    shown = [
        (tick.get_loc(), tick.label1.get_text(), tick.label1.get_window_extent(renderer))
        for tick in ax.xaxis.get_major_ticks()
        if low <= tick.get_loc() <= high and tick.label1.get_text()
    ]
    return sorted(shown, key=lambda item: item[0])


def _assert_apart(extents, min_gap_px=2.0):
    """Neighbouring label extents (left to right) leave ``min_gap_px`` blank between them."""
    for left, right in pairwise(extents):
        assert right.x0 - left.x1 >= min_gap_px, (left, right)


def _assert_inside(fig, renderer):
    box_ = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    assert box_.x0 >= 0 and box_.y0 >= 0 and box_.x1 <= width and box_.y1 <= height


def _zones():
    cells = [box(x, y, x + 100, y + 100) for y in (0, 100) for x in (0, 100, 200)]
    return gpd.GeoDataFrame(
        {
            "lst_anomaly_mean_k": [-0.5, 1.25, 2.5, np.nan, 4.0, 3.0],
            "ndvi_mean": [0.7, 0.5, 0.3, 0.2, 0.1, 0.15],
            "disp_med": [25000.0, 22000.0, 20000.0, 18000.0, 15000.0, 16000.0],
            "population": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
            "in_qpv": [False, False, False, True, True, True],
            "valid_frac": [0.9, 0.8, 0.95, 0.3, 0.85, 0.9],
        },
        geometry=cells,
        crs="EPSG:2154",
    )


def test_map_has_colorbar_legend_and_decimal_comma():
    zones = _zones()
    qpv = gpd.GeoDataFrame(geometry=[box(0, 100, 300, 200)], crs="EPSG:2154")
    fig = figures.map_figure(zones, "lst_anomaly_mean_k", FR, title="Carte", qpv=qpv)
    map_ax, bar_ax = fig.axes
    assert map_ax.get_title() == "Carte"
    assert bar_ax.get_ylabel() == "Anomalie de température de surface ΔT (K)"
    labels = [t.get_text() for t in map_ax.get_legend().get_texts()]
    assert labels == ["sans valeur", "QPV"]
    formatter = bar_ax.yaxis.get_major_formatter()
    formatter.set_locs([-0.5, 0.0, 0.5, 2.5])
    assert [formatter(v) for v in (-0.5, 2.5)] == ["−0,5", "2,5"]
    png = figures.png_bytes(fig)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and not fig.axes  # cleared after rendering


def test_scatter_in_english_with_fit_line():
    zones = _zones()
    fit = line_fit(zones["disp_med"], zones["lst_anomaly_mean_k"])
    fig = figures.income_scatter(zones, "lst_anomaly_mean_k", "disp_med", EN, fit=fit)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "Median disposable income per consumption unit (€)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "other IRIS",
        "QPV IRIS",
        "least-squares line",
    ]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "least-squares line"]
    x, y = line.get_data()
    assert np.allclose(y, fit.intercept + fit.slope * x)
    assert ax.xaxis.get_major_formatter()(20000.0) == "20,000"


def _scatter_points(ax):
    """The points of each labelled scatter of ``ax``: label -> sorted (x, y) pairs."""
    return {
        c.get_label(): sorted(map(tuple, np.asarray(c.get_offsets()).tolist()))
        for c in ax.collections
    }


@pytest.mark.parametrize(
    ("m", "unknown_label"),
    [(EN, "IRIS of unknown QPV status"), (FR, "IRIS au statut QPV inconnu")],
)
def test_scatter_draws_zones_of_unknown_qpv_status_apart(m, unknown_label):
    zones = _zones()
    zones["in_qpv"] = pd.array([False, pd.NA, False, True, True, pd.NA], dtype="boolean")
    fig = figures.income_scatter(zones, "lst_anomaly_mean_k", "disp_med", m, fit=None)
    (ax,) = fig.axes
    # By hand from _zones(): zone 3 has no outcome, so it is in no group.
    assert _scatter_points(ax) == {
        m("legend_other"): [(20000.0, 2.5), (25000.0, -0.5)],
        m("legend_in_qpv"): [(15000.0, 4.0)],
        unknown_label: [(16000.0, 3.0), (22000.0, 1.25)],
    }
    (hollow,) = [c for c in ax.collections if c.get_label() == unknown_label]
    assert hollow.get_facecolors().size == 0  # hollow: edges only
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == unknown_label


def test_scatter_without_unknown_qpv_status_has_no_unknown_group():
    fig = figures.income_scatter(_zones(), "lst_anomaly_mean_k", "disp_med", EN, fit=None)
    (ax,) = fig.axes
    assert set(_scatter_points(ax)) == {"other IRIS", "QPV IRIS"}


def test_decile_bars_with_and_without_intervals():
    # An anomaly ΔT: bars from its 0 (the rural reference).
    rows = [{"decile": d, "exposure": 5.0 - d / 2} for d in range(1, 11)]
    fig = figures.decile_figure({"deciles": rows, "overall": 2.3}, "lst_anomaly_mean_k", FR)
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [5.0 - d / 2 for d in range(1, 11)]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    for row in rows:
        row.update(ci_low=row["exposure"] - 0.5, ci_high=row["exposure"] + 1.0)
    fig = figures.decile_figure({"deciles": rows}, "lst_anomaly_mean_k", FR)
    (ax,) = fig.axes
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()
    assert np.allclose([s[:, 1] for s in segments], [[r["ci_low"], r["ci_high"]] for r in rows])
    assert figures.decile_figure({"deciles": []}, "lst_anomaly_mean_k", FR) is None


def test_decile_bars_of_an_absolute_temperature_show_the_gap_to_the_mean():
    # D1 310.0 K down to D10 304.25 K (the +5,75 K gap), mean of all IRIS 307.1 K: bars from
    # 0 K would all reach ~307 K; the differences from 307.1 K run from +2.9 to -2.85 K.
    exposure = [310.0 - 0.638889 * (d - 1) for d in range(1, 11)]
    rows = [{"decile": d, "exposure": e} for d, e in zip(range(1, 11), exposure, strict=True)]
    fig = figures.decile_figure({"deciles": rows, "overall": 307.1}, "lst_mean_k", FR)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([e - 307.1 for e in exposure])
    assert heights[0] == pytest.approx(2.9) and heights[-1] == pytest.approx(-2.85, abs=1e-4)
    low, high = ax.get_ylim()
    assert -4 < low < -2.85 and 2.9 < high < 4  # the view spans the gaps, not 0-310 K
    (mean,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert (
        mean.get_ydata()[0] == 0.0 and mean.get_label() == f"moyenne de l'ensemble (307,10{NBSP}K)"
    )
    assert ax.get_ylabel() == "Écart à la moyenne de l'ensemble (K)"
    # inequality.json's own differences are taken as they are
    given = [{**r, "exposure_minus_all": 0.25 * r["decile"]} for r in rows]
    (ax,) = figures.decile_figure({"deciles": given}, "lst_mean_k", EN).axes
    assert [p.get_height() for p in ax.patches] == [0.25 * d for d in range(1, 11)]


def test_qpv_figure_marks_the_weighted_means():
    zones = _zones()
    means = group_means(zones, ["lst_anomaly_mean_k"])
    fig = figures.qpv_figure(zones, "lst_anomaly_mean_k", means, EN)
    (ax,) = fig.axes
    diamonds = [c for c in ax.collections if c.get_offsets().shape == (1, 2)]
    assert sorted(float(d.get_offsets()[0, 1]) for d in diamonds) == sorted(
        [(4.0 * 500 + 3.0 * 600) / 1100, (-0.5 * 100 + 1.25 * 200 + 2.5 * 300) / 600]
    )
    assert figures.qpv_figure(zones.assign(in_qpv=False), "lst_anomaly_mean_k", means, EN) is None


def test_qpv_figure_leaves_out_zones_without_a_group_value():
    # The zone of anomaly −0.5 has no in_qpv: in neither box (it was drawn among the others).
    zones = _zones()
    zones["in_qpv"] = pd.Series([None, False, False, True, True, True], dtype=object)
    fig = figures.qpv_figure(zones, "lst_anomaly_mean_k", group_means(zones, []), EN)
    (ax,) = fig.axes
    points = [c.get_offsets() for c in ax.collections if c.get_offsets().shape[0] > 1]
    drawn = sorted(np.round(np.concatenate(points)[:, 1], 9).tolist())
    assert drawn == [1.25, 2.5, 3.0, 4.0]  # others 1.25, 2.5; QPV 4.0, 3.0 (and one NaN)


def test_suhii_and_quality_figures():
    heat = {
        "composite": {"suhii_k": 2.6},
        "scenes": [
            {"time": "2023-06-26T10:45", "platform": "landsat-8", "suhii_k": 2.7},
            {"time": "2023-07-20T10:45", "platform": "landsat-9", "suhii_k": None},
        ],
    }
    (ax,) = figures.suhii_figure(heat, EN).axes
    assert [p.get_height() for p in ax.patches] == [2.7]
    assert figures.suhii_figure({"composite": {}, "scenes": []}, EN) is None
    shares = pd.Series({2: 0.25, 3: 0.75})
    fig = figures.quality_figure(_zones(), FR, n_clear_shares=shares, min_valid_frac=0.5)
    assert len(fig.axes) == 2 and fig.get_suptitle() == "Couverture des données"
    # two scenes of one day and platform (two rows of a path): a bar each, side by side
    twice = [heat["scenes"][0], {**heat["scenes"][0], "suhii_k": 3.1}]
    (ax,) = figures.suhii_figure({"scenes": twice}, EN).axes
    assert sorted(p.get_x() + p.get_width() / 2 for p in ax.patches) == [0.0, 1.0]
    fig = figures.quality_figure(_zones(), FR, n_clear_shares=None, min_valid_frac=None)
    assert len(fig.axes) == 1


def test_quality_figure_names_what_the_valid_share_is_of():
    """Of the land when the run left water out of its LST; of the whole area when it kept it."""
    (ax,) = figures.quality_figure(_zones(), EN, n_clear_shares=None, min_valid_frac=None).axes
    assert ax.get_xlabel() == "Share of the land covered (water left out)"
    (ax,) = figures.quality_figure(
        _zones(), EN, n_clear_shares=None, min_valid_frac=None, water_left_out=False
    ).axes
    assert ax.get_xlabel() == "Share of the area covered"


def _signed_area(ring):
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def test_polygon_paths_are_the_rings_geopandas_draws():
    holed = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    pair = MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    geometry = gpd.GeoSeries([holed, None, Polygon(), pair])
    paths, rows = figures._polygon_paths(geometry)
    assert rows.tolist() == [0, 3]  # no path for the missing and the empty geometry
    closed_square = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    # normalised rings: shells clockwise, holes anticlockwise, each from its lowest-left corner
    assert paths[0].vertices.tolist() == [
        [0, 0], [0, 4], [4, 4], [4, 0], [0, 0], [1, 1], [2, 1], [2, 2], [1, 2], [1, 1]
    ]  # fmt: skip
    assert paths[1].vertices.tolist() == [
        [5, 5], [5, 6], [6, 6], [6, 5], [5, 5], [0, 0], [0, 1], [1, 1], [1, 0], [0, 0]
    ]  # fmt: skip
    assert paths[0].codes.tolist() == paths[1].codes.tolist() == closed_square * 2
    shell, hole = paths[0].vertices[:5], paths[0].vertices[5:]
    assert _signed_area(shell) == -16 and _signed_area(hole) == 1  # opposite windings: a hole
    outlines = figures._boundary_lines(geometry)
    assert [line.tolist() for line in outlines] == [
        [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]],
        [[0, 0], [0, 4], [4, 4], [4, 0], [0, 0]],
        [[5, 5], [5, 6], [6, 6], [6, 5], [5, 5]],
        [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]],
    ]


def test_map_height_follows_the_area_shape():
    # A wide city gets a low figure instead of white bands; a tall one a high figure.
    wide, square, tall = (0, 0, 10_000, 3_000), (0, 0, 5_000, 5_000), (0, 0, 3_000, 10_000)
    heights = [figures._map_height(np.array(b)) for b in (wide, square, tall)]
    assert heights[0] == 3.5 and 3.5 < heights[1] < 8.0 and heights[2] == 8.0  # clamped ends
    fig = figures.map_figure(_zones(), "ndvi_mean", EN, title="Map")  # 300 m x 200 m
    width, height = fig.get_size_inches()
    assert width == figures.MAP_WIDTH and height < 6.0


def test_map_of_one_value_up_to_rounding_is_one_colour():
    # Means of one value over zones of different sizes differ in their last bits: drawn on
    # a colour scale stretched to that range, rounding looked like contrast.
    zones = _zones()
    zones["ndvi_mean"] = 0.57 + np.arange(6) * np.spacing(0.57)
    fig = figures.map_figure(zones, "ndvi_mean", EN, title="Map", cmap="YlGn", diverging=False)
    known = fig.axes[0].collections[0]
    colours = known.to_rgba(known.get_array())
    assert np.ptp(colours, axis=0).max() == 0.0


def test_a_diverging_map_has_one_scale_both_sides_of_zero():
    """-0.5 K is as pale a blue as +0.5 K is a red: the colour bar runs from -4 to +4 K."""
    zones = _zones()
    fig = figures.map_figure(zones, "lst_anomaly_mean_k", EN, title="Map", cmap="RdBu_r")
    known = fig.axes[0].collections[0]
    assert (known.norm.vmin, known.norm.vmax) == (-4.0, 4.0)
    cmap = known.get_cmap()
    assert known.to_rgba(np.array([-0.5]))[0].tolist() == list(cmap(0.5 - 0.5 / 8))
    assert known.to_rgba(np.array([0.0]))[0].tolist() == list(cmap(0.5))


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["hotter", "cooler"])
def test_a_diverging_map_of_values_on_one_side_of_zero_keeps_zero_neutral(sign):
    """Every IRIS 6.84 to 7.20 K hotter than the rural reference (the audit's 4 IRIS): the
    colours run from 0 (the palette's pale middle) to 7.2 K, each IRIS in the colour it has
    on a -7.2..7.2 K scale, all warm; the mirror case (all cooler) all cool."""
    zones = _zones().iloc[:3].assign(lst_anomaly_mean_k=sign * np.array([6.84, 7.0, 7.2]))
    fig = figures.map_figure(zones, "lst_anomaly_mean_k", EN, title="Map")
    known = fig.axes[0].collections[0]
    assert sorted((known.norm.vmin, known.norm.vmax)) == [
        min(0.0, sign * 7.2),
        max(0.0, sign * 7.2),
    ]
    # The oracle: the palette's 256 entries over -7.2..7.2 K, entry 128 from 0 up; a range's
    # top takes its last entry (255; 127, just under the middle, for 0 atop -7.2..0 K).
    palette = mpl.colormaps["RdYlBu_r"]
    for value in (6.84, 7.0, 7.2, 0.0):
        entry = min(255 if sign > 0 else 127, int(256 * (0.5 + 0.5 * sign * value / 7.2)))
        assert known.to_rgba(np.array([sign * value]))[0].tolist() == list(palette(entry))
    red, _, blue, _ = known.to_rgba(np.array([sign * 6.84]))[0]
    assert (red > blue) if sign > 0 else (blue > red)
    _draw(fig)
    bar = fig.axes[1]
    assert sorted(bar.get_ylim()) == [min(0.0, sign * 7.2), max(0.0, sign * 7.2)]


def test_map_draws_values_and_hatched_zones_without_value():
    zones = _zones()
    fig = figures.map_figure(zones, "lst_anomaly_mean_k", EN, title="Map")
    known, missing = fig.axes[0].collections
    assert known.get_array().tolist() == [-0.5, 1.25, 2.5, 4.0, 3.0]
    assert len(known.get_paths()) == 5 and len(missing.get_paths()) == 1
    assert missing.get_hatch() == "///"
    assert fig.axes[0].get_xlim() == pytest.approx((-15.0, 315.0))  # data and 5 % margins


@pytest.mark.parametrize("m", [FR, EN], ids=["fr", "en"])
def test_figures_keep_their_text_inside_the_canvas(m):
    """Wide tick labels (kelvins, tens of thousands) still fit: the margins are measured."""
    rng = np.random.default_rng(0)
    cells = [box(x, y, x + 100, y + 100) for y in range(0, 1000, 100) for x in range(0, 3000, 100)]
    zones = gpd.GeoDataFrame(
        {
            "lst_mean_k": 300.0 + rng.normal(0.0, 2.0, len(cells)),
            "disp_med": rng.uniform(8000.0, 95000.0, len(cells)),
            "population": 100.0,
            "in_qpv": np.arange(len(cells)) % 7 == 0,
            "valid_frac": rng.uniform(0.5, 1.0, len(cells)),
        },
        geometry=cells,
        crs="EPSG:2154",
    )
    rows = [{"decile": d, "exposure": 301.0 - d / 7} for d in range(1, 11)]
    scenes = [
        {"time": f"2023-07-1{i}", "platform": "landsat-9", "suhii_k": -0.01 * i} for i in (1, 2)
    ]
    shares = pd.Series({2: 0.125, 3: 0.875})
    built = {
        "map": figures.map_figure(zones, "lst_mean_k", m, title="T", diverging=False),
        "scatter": figures.income_scatter(
            zones, "lst_mean_k", "disp_med", m, fit=line_fit(zones["disp_med"], zones["lst_mean_k"])
        ),
        "deciles": figures.decile_figure({"deciles": rows}, "lst_mean_k", m),
        "qpv": figures.qpv_figure(zones, "lst_mean_k", group_means(zones, ["lst_mean_k"]), m),
        "suhii": figures.suhii_figure({"scenes": scenes}, m),
        "quality": figures.quality_figure(zones, m, n_clear_shares=shares, min_valid_frac=0.6),
        # several Landsat summers: 40 scenes, 0 to 40 clear observations a pixel
        "suhii_40": figures.suhii_figure({"scenes": _scenes(40, suhii=-10.25)}, m),
        "quality_40": figures.quality_figure(
            zones,
            m,
            n_clear_shares=pd.Series(np.full(41, 1 / 41), index=np.arange(41)),
            min_valid_frac=0.6,
        ),
    }
    for name, fig in built.items():
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        width, height = fig.get_size_inches()
        # The report's column (report.html.j2, border-box): 62rem - 2 x 1.25rem of main's
        # padding - 2 x .75rem and 2 x 1px of the figure's = 926 px; wider, the browser
        # shrinks the figure and its text.
        assert width * fig.dpi <= 926, (name, width * fig.dpi)
        box_ = fig.get_tightbbox(renderer)
        assert box_.x0 >= 0 and box_.y0 >= 0, name
        assert box_.x1 <= width and box_.y1 <= height, name
        extents = [ax.get_tightbbox(renderer) for ax in fig.axes]
        for i, first in enumerate(extents):  # panels (and the map and its colorbar) apart
            for second in extents[i + 1 :]:
                assert not first.overlaps(second), name


@pytest.mark.parametrize("m", [FR, EN], ids=["fr", "en"])
@pytest.mark.parametrize("count", [1, 4, 8, 9, 12, 40])
def test_every_scene_labelled_without_overlap(m, count):
    """Up to 40 scenes (several Landsat summers), each bar keeps a readable label."""
    scenes = _scenes(count)
    fig = figures.suhii_figure({"composite": {"suhii_k": 0.4}, "scenes": scenes}, m)
    (ax,) = fig.axes
    renderer = _draw(fig)
    shown = _shown_x_labels(ax, renderer)
    dates = [s["time"][:10] for s in scenes]
    platforms = [s["platform"] for s in scenes]
    assert [p.get_height() for p in ax.patches] == [s["suhii_k"] for s in scenes]
    assert [loc for loc, _, _ in shown] == list(range(count))
    texts = [text for _, text, _ in shown]
    if count <= 4:  # as the demo's figure: the date over the platform, level
        assert texts == [f"{d}\n{p}" for d, p in zip(dates, platforms, strict=True)]
        assert {t.get_rotation() for t in ax.get_xticklabels()} == {0.0}
        assert tuple(fig.get_size_inches()) == (7.0, 4.0)
    if count >= 12:  # too many for level labels: one vertical line each
        assert texts == [f"{d} {p}" for d, p in zip(dates, platforms, strict=True)]
        assert {t.get_rotation() for t in ax.get_xticklabels()} == {90.0}
    _assert_apart([extent for _, _, extent in shown])
    _assert_inside(fig, renderer)
    assert fig.get_size_inches()[0] <= REPORT_COLUMN_INCHES
    assert fig.get_size_inches()[1] <= 5.5


def test_60_scenes_label_every_kth_bar():
    """60 scenes do not fit a label each: every k-th is labelled, every bar keeps a tick."""
    scenes = _scenes(60)
    fig = figures.suhii_figure({"scenes": scenes}, FR)
    (ax,) = fig.axes
    renderer = _draw(fig)
    shown = _shown_x_labels(ax, renderer)
    positions = [loc for loc, _, _ in shown]
    assert positions[0] == 0 and len(set(np.diff(positions))) == 1 and positions[1] > 1
    for loc, text, _ in shown:
        assert text == f"{scenes[loc]['time'][:10]} {scenes[loc]['platform']}"
    ticks = sorted([*ax.xaxis.get_majorticklocs(), *ax.xaxis.get_minorticklocs()])
    assert ticks == list(range(60))
    _assert_apart([extent for _, _, extent in shown])
    _assert_inside(fig, renderer)
    assert fig.get_size_inches()[0] <= REPORT_COLUMN_INCHES


@pytest.mark.parametrize("m", [FR, EN], ids=["fr", "en"])
def test_n_clear_panel_up_to_40_observations(m):
    """One bar per count from 0 to 40 clear observations; whole-number labels that fit."""
    shares = pd.Series(np.full(41, 1 / 41), index=np.arange(41))
    fig = figures.quality_figure(_zones(), m, n_clear_shares=shares, min_valid_frac=0.5)
    ax = fig.axes[0]
    renderer = _draw(fig)
    centres = [p.get_x() + p.get_width() / 2 for p in ax.patches]
    assert centres == pytest.approx(list(range(41)))
    shown = _shown_x_labels(ax, renderer)
    assert len(shown) >= 3 and shown[0][1] == "0"
    for loc, text, _ in shown:  # under the bar of its count
        assert text == str(int(loc)) and loc == int(loc)
    _assert_apart([extent for _, _, extent in shown], min_gap_px=5.0)
    _assert_inside(fig, renderer)


def test_n_clear_counts_without_pixels_keep_their_place():
    """2 and 5 observations but none of 3 or 4: the bars stand at 2 and 5, 3 and 4 empty."""
    shares = pd.Series({2: 0.4, 5: 0.6})
    ax = figures.quality_figure(_zones(), EN, n_clear_shares=shares, min_valid_frac=None).axes[0]
    renderer = _draw(ax.figure)
    assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == pytest.approx([2.0, 5.0])
    assert [text for _, text, _ in _shown_x_labels(ax, renderer)] == ["2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("m", "pattern"),
    [(FR, rf"\d{{1,3}}({NBSP}\d{{3}})+"), (EN, r"\d{1,3}(,\d{3})+")],
    ids=["fr", "en"],
)
def test_histogram_counts_in_the_language(m, pattern):
    """A city of 20,000 IRIS: the counts' axis writes thousands as the other axes do."""
    zones = pd.DataFrame({"valid_frac": np.r_[np.full(20000, 0.97), np.full(6000, 0.42)]})
    fig = figures.quality_figure(zones, m, n_clear_shares=None, min_valid_frac=0.5)
    (ax,) = fig.axes
    renderer = _draw(fig)
    low, high = ax.get_ylim()
    labels = [t.label1.get_text() for t in ax.yaxis.get_major_ticks() if low <= t.get_loc() <= high]
    big = [text for text in labels if text != "0"]
    assert big and all(re.fullmatch(pattern, text) for text in big), labels
    assert labels[0] == "0"
    _assert_inside(fig, renderer)


def test_histogram_counts_are_whole():
    """Three IRIS: the counts' axis has no half IRIS."""
    zones = pd.DataFrame({"valid_frac": [0.92, 0.93, 0.81]})
    (ax,) = figures.quality_figure(zones, FR, n_clear_shares=None, min_valid_frac=None).axes
    _draw(ax.figure)
    low, high = ax.get_ylim()
    locs = [v for v in ax.yaxis.get_majorticklocs() if low <= v <= high]
    assert locs == [0.0, 1.0, 2.0]
    assert [ax.yaxis.get_major_formatter()(v) for v in locs] == ["0", "1", "2"]


@pytest.mark.parametrize("m", [FR, EN], ids=["fr", "en"])
def test_the_synthetic_mark_sits_under_everything_in_the_canvas(m):
    """A figure of a synthetic run carries the mark in a strip of its own: every axes keeps
    its size in inches, and the mark is inside the canvas, below every axes' labels."""
    zones = _zones()
    scenes = [{"time": "2023-07-11", "platform": "landsat-9", "suhii_k": 1.5}]
    built = {
        "map": figures.map_figure(zones, "lst_anomaly_mean_k", m, title="T"),
        "scatter": figures.income_scatter(zones, "lst_anomaly_mean_k", "disp_med", m, fit=None),
        "suhii": figures.suhii_figure({"scenes": scenes}, m),
        "quality": figures.quality_figure(
            zones, m, n_clear_shares=pd.Series({2: 0.5, 3: 0.5}), min_valid_frac=0.6
        ),
    }
    mark = m("figure_synthetic")
    assert mark == ("Données synthétiques\u00a0: aucun lieu réel" if m is FR else
                    "Synthetic data: not a real place")  # fmt: skip
    for name, fig in built.items():
        width, height = fig.get_size_inches()
        sizes = [(ax.get_position().width * width, ax.get_position().height * height)
                 for ax in fig.axes]  # fmt: skip
        titles = [fig.get_tightbbox(_draw(fig)).y1]  # the top of the drawing, in inches
        figures.add_footer(fig, mark)
        renderer = _draw(fig)
        new_width, new_height = fig.get_size_inches()
        assert new_width == width and new_height > height, name
        for ax, (w, h) in zip(fig.axes, sizes, strict=True):
            box_ = ax.get_position()
            assert box_.width * new_width == pytest.approx(w) and box_.height * new_height == (
                pytest.approx(h)
            ), name
        (footer,) = [t for t in fig.texts if t.get_text() == mark]
        extent = footer.get_window_extent(renderer)
        assert extent.x0 >= 0 and extent.y0 >= 0 and extent.x1 <= fig.bbox.x1, name
        for ax in fig.axes:
            assert extent.y1 <= ax.get_tightbbox(renderer).y0, name
        # Nothing moved off the top: the drawing's top is as far from the top as it was.
        top = fig.get_tightbbox(renderer).y1
        assert new_height - top == pytest.approx(height - titles[0], abs=0.02), name
        _assert_inside(fig, renderer)


def _scale_bar(ax):
    """(length in data units, label) of the scale bar matplotlib was given for ``ax``."""
    (bar,) = [a for a in ax.get_children() if isinstance(a, AnchoredSizeBar)]
    (rectangle,) = bar.size_bar.get_children()
    (label,) = bar.findobj(Text)
    return rectangle.get_width(), label.get_text()


def _zones_wide(width, crs="EPSG:2154"):
    """Two zones side by side whose map is ``width`` units wide: 5 % margins each side."""
    inner = width / 1.1
    cells = [box(0, 0, inner / 2, inner / 3), box(inner / 2, 0, inner, inner / 3)]
    return gpd.GeoDataFrame({"ndvi_mean": [0.2, 0.6]}, geometry=cells, crs=crs)


def test_scale_bar_length_is_the_largest_round_length_under_a_fifth_of_the_width():
    # by hand: a fifth of 7,300 m is 1,460 m; of 1, 2, 5 x 10^k m, 1,000 m is the largest
    # under it (2,000 m is over); 10 km: exactly 2 km; 330 m: 66 m -> 50 m; 2.5 m: 0.5 m
    lengths = [figures.scale_bar_length(w) for w in (7300.0, 10_000.0, 330.0, 2.5)]
    assert lengths == [1000.0, 2000.0, 50.0, 0.5]


@pytest.mark.parametrize(
    ("m", "km", "half_metre"), [(FR, f"1{NBSP}km", f"0,5{NBSP}m"), (EN, "1 km", "0.5 m")]
)
def test_maps_have_a_round_scale_bar_in_the_language_and_a_north_arrow(m, km, half_metre):
    fig = figures.map_figure(_zones_wide(7300.0), "ndvi_mean", m, title="T", diverging=False)
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    assert right - left == pytest.approx(7300.0)  # the map is 7,300 m wide
    length, label = _scale_bar(ax)
    assert (length, label) == (pytest.approx(1000.0), km)
    assert label in [t.get_text() for t in fig.findobj(Text)]  # drawn with the figure's texts
    renderer = _draw(fig)
    (letter,) = [t for t in ax.texts if t.get_text() == "N"]
    (arrow,) = [t.arrow_patch for t in ax.texts if t.arrow_patch is not None]
    north, shaft = letter.get_window_extent(renderer), arrow.get_window_extent(renderer)
    assert shaft.y1 <= north.y0 + 1 and shaft.height > 2 * shaft.width  # under the N, upright
    assert abs((shaft.x0 + shaft.x1) / 2 - (north.x0 + north.x1) / 2) < 1
    _assert_inside(fig, renderer)
    small = figures.map_figure(_zones_wide(2.5), "ndvi_mean", m, title="T", diverging=False)
    assert _scale_bar(small.axes[0]) == (pytest.approx(0.5), half_metre)  # the decimal sign


def test_scale_bar_is_drawn_in_the_map_units_and_left_out_in_degrees():
    # EPSG:2249 is in US survey feet (1200/3937 m): a map 7,300 m wide gets 1 km,
    # 1000 x 3937 / 1200 = 3,280.83 ft of the map's units.
    feet = 7300.0 * 3937 / 1200
    fig = figures.map_figure(_zones_wide(feet, "EPSG:2249"), "ndvi_mean", EN, title="T")
    assert _scale_bar(fig.axes[0]) == (pytest.approx(1000.0 * 3937 / 1200), "1 km")
    # In degrees a unit has no one length: no bar (the report maps such IRIS in metres).
    fig = figures.map_figure(_zones_wide(0.1, "EPSG:4326"), "ndvi_mean", EN, title="T")
    assert not [a for a in fig.axes[0].get_children() if isinstance(a, AnchoredSizeBar)]


def test_a_fixed_range_map_spans_it_and_says_its_ends_are_open():
    """outputs.anomaly_range_k 2 K: the colours run from -2 to +2 K, the 2.5, 3 and 4 K
    zones take the end colour, and the colour bar's ends read ≤ -2 and ≥ 2."""
    zones = _zones()  # -0.5 .. 4.0 K
    fig = figures.map_figure(zones, "lst_anomaly_mean_k", EN, title="Map", bound=2.0)
    known = fig.axes[0].collections[0]
    assert (known.norm.vmin, known.norm.vmax) == (-2.0, 2.0)
    cmap = known.get_cmap()
    top, bottom = list(cmap(1.0)), list(cmap(0.0))
    colours = known.to_rgba(np.array([2.0, 2.5, 3.0, 4.0, -2.0, -9.0])).tolist()
    assert colours == [top] * 4 + [bottom] * 2, "clamped to the end colours"
    assert known.to_rgba(np.array([-0.5]))[0].tolist() == list(cmap(0.5 - 0.5 / 4))
    _draw(fig)
    bar = fig.axes[1]
    assert bar.yaxis.get_ticklocs().tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    labels = [t.get_text().replace(NBSP, " ") for t in bar.yaxis.get_ticklabels()]
    assert labels[0] == "≤ −2" and labels[-1] == "≥ 2" and labels[2] == "0"
    # without it, as before: the map's own range, ±4 K, and no open ends
    own = figures.map_figure(zones, "lst_anomaly_mean_k", EN, title="Map")
    assert (own.axes[0].collections[0].norm.vmin, own.axes[0].collections[0].norm.vmax) == (
        -4.0,
        4.0,
    )
    _draw(own)
    assert not any("≥" in t.get_text() for t in own.axes[1].yaxis.get_ticklabels())
