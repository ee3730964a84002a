"""The scenario figures: in the run's language, their footer wrapped inside the canvas.

A stand-in for the run (grid, zones, synthetic flag) draws the figures; their texts are read
from the matplotlib figure just before it would be written, and its text extents measured on
the Agg canvas it is drawn with.
"""

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from shapely.geometry import box

from pipelines.report.text import Messages
from pipelines.scenarios import figures

NBSP = "\u00a0"
FR, EN = Messages("fr"), Messages("en")


def _baseline(synthetic=True):
    """A 40 x 40 grid of 30 m pixels, four IRIS and one QPV (what the figures read)."""
    iris = gpd.GeoDataFrame(
        geometry=[box(x, y, x + 600, y + 600) for x in (0, 600) for y in (0, 600)],
        crs="EPSG:2154",
    )
    qpv = gpd.GeoDataFrame(geometry=[box(100, 100, 500, 500)], crs="EPSG:2154")
    return SimpleNamespace(
        transform=Affine(30.0, 0.0, 0.0, 0.0, -30.0, 1200.0),
        shape=(40, 40),
        crs="EPSG:2154",
        zones={"iris": iris, "qpv": qpv},
        synthetic=synthetic,
    )


def _delta():
    delta = np.zeros((40, 40))
    delta[5:15, 5:15] = -1.25
    delta[0, :] = np.nan
    return delta


@pytest.fixture
def drawn(monkeypatch):
    """The figures the functions would write, drawn on their canvas instead."""
    figs = []

    def keep(fig, path):
        FigureCanvasAgg(fig).draw()
        figs.append(fig)
        return Path(path)

    monkeypatch.setattr(figures, "save_png", keep)
    return figs


def _texts(fig):
    labels = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        labels += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        labels += [t.get_text() for t in legend.get_texts()] if legend else []
    return labels


def _footer_inside(fig):
    """The footer's lines lie inside the canvas, under every axes (colour bar included)."""
    renderer = fig.canvas.get_renderer()
    (footer,) = fig.texts
    extent = footer.get_window_extent(renderer)
    assert extent.x0 >= 0 and extent.y0 >= 0, extent
    assert extent.x1 <= fig.bbox.x1 and extent.y1 <= fig.bbox.y1, (extent, fig.bbox)
    for ax in fig.axes:
        assert extent.y1 <= ax.get_tightbbox(renderer).y0 + 1e-6, ax
    return footer.get_text()


TABLE = pd.DataFrame(
    {"scenario": ["green_qpv", "cool_roofs"], "qpv_gap_before_k": [2.25, 2.25],
     "qpv_gap_after_k": [0.34, 1.37], "qpv_gap_after_k_min": [0.27, 1.18],
     "qpv_gap_after_k_max": [0.80, 1.49]}
)  # fmt: skip


def test_the_map_of_a_french_run_is_in_french_with_decimal_commas(drawn, tmp_path):
    figures.delta_map(_baseline(), _delta(), tmp_path / "a.png", title="t", drawn=True, m=FR)
    (fig,) = drawn
    texts = _texts(fig)
    assert "ΔLST, scénario − situation actuelle (K)" in texts
    footer = _footer_inside(fig)
    assert footer.replace("\n", " ") == (
        "QPV en noir, IRIS en gris. Les pixels convertis sont un tirage au hasard de la part "
        f"demandée, pas un plan. Données synthétiques{NBSP}: aucun lieu réel."
    )
    assert "\n" in footer  # wrapped: one line is wider than the map
    assert not any(word in " ".join(texts) for word in ("outlined", "synthetic", "baseline"))
    colour_bar = fig.axes[1].yaxis.get_major_formatter()
    colour_bar.set_locs([-1.0, -0.5, 0.0])
    assert colour_bar(-0.5) == "−0,5"


def test_the_map_of_an_english_run_is_in_english(drawn, tmp_path):
    figures.delta_map(_baseline(), _delta(), tmp_path / "a.png", title="t", drawn=True, m=EN)
    (fig,) = drawn
    assert "ΔLST, scenario − baseline (K)" in _texts(fig)
    footer = _footer_inside(fig).replace("\n", " ")
    assert footer == (
        "QPV outlined in black, IRIS in grey. The converted pixels are one random draw of the "
        "share asked for, not a plan. Synthetic data: not a real place."
    )
    colour_bar = fig.axes[1].yaxis.get_major_formatter()
    colour_bar.set_locs([-1.0, -0.5, 0.0])
    assert colour_bar(-0.5) == "−0.5"
    drawn.clear()
    figures.delta_map(_baseline(False), _delta(), tmp_path / "b.png", title="t", m=EN)
    assert _footer_inside(drawn[0]).replace("\n", " ") == "QPV outlined in black, IRIS in grey."


def test_the_comparison_figure_in_french(drawn, tmp_path):
    deltas = {"green_qpv": _delta(), "cool_roofs": 0.5 * _delta()}
    figures.comparison_figure(_baseline(), deltas, TABLE, tmp_path / "c.png", m=FR)
    (fig,) = drawn
    texts = _texts(fig)
    for french in ("ΔLST (K)", "Écart QPV avant", "Écart QPV après, prédit",
                   "Écart QPV avant et après",
                   "QPV − reste, anomalie ΔT des IRIS (K)"):  # fmt: skip
        assert french in texts, french
    footer = _footer_inside(fig).replace("\n", " ")
    assert footer == (
        "ΔLST = LST prédite (scénario) − LST prédite (situation actuelle). QPV en noir. Barres "
        "d'erreur : écart après, du plus bas au plus haut sur les ajustements du modèle (pas "
        "l'erreur du modèle). Données synthétiques : aucun lieu réel."
    ).replace(" :", NBSP + ":")
    bars = next(ax for ax in fig.axes if ax.get_title() == "Écart QPV avant et après")
    formatter = bars.yaxis.get_major_formatter()
    formatter.set_locs([0.0, 0.5, 1.0])
    assert formatter(0.5) == "0,5"
    # A narrow figure (one scenario) wraps its footer into more lines, still inside.
    drawn.clear()
    one = TABLE.iloc[:1]
    figures.comparison_figure(_baseline(), {"green_qpv": _delta()}, one, tmp_path / "d.png", m=FR)
    assert _footer_inside(drawn[0]).count("\n") >= 1


def _scale_bars(fig):
    """(axes title, length in data units, label) of each scale bar matplotlib was given."""
    bars = []
    for ax in fig.axes:
        for bar in [a for a in ax.get_children() if isinstance(a, AnchoredSizeBar)]:
            (rectangle,) = bar.size_bar.get_children()
            (label,) = bar.findobj(Text)
            bars.append((ax.get_title(), rectangle.get_width(), label.get_text()))
    return bars


@pytest.mark.parametrize(("m", "label"), [(FR, f"200{NBSP}m"), (EN, "200 m")], ids=["fr", "en"])
def test_every_scenario_map_has_a_round_scale_bar_and_the_north(drawn, tmp_path, m, label):
    # By hand: the zones span 0-1,200 m, framed with 5 % of 1,200 m each side, so the map is
    # 1,320 m wide; a fifth is 264 m, and 200 m the largest 1, 2, 5 x 10^k m under it.
    figures.delta_map(_baseline(), _delta(), tmp_path / "a.png", title="t", m=m)
    deltas = {"green_qpv": _delta(), "cool_roofs": 0.5 * _delta()}
    figures.comparison_figure(_baseline(), deltas, TABLE, tmp_path / "c.png", m=m)
    one, both = drawn
    assert one.axes[0].get_xlim() == pytest.approx((-60.0, 1260.0))
    assert _scale_bars(one) == [("t", pytest.approx(200.0), label)]
    assert _scale_bars(both) == [
        ("green_qpv", pytest.approx(200.0), label),
        ("cool_roofs", pytest.approx(200.0), label),
    ]  # the maps only, not the colour bar or the gap bars
    for fig in drawn:
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert texts.count(label) == texts.count("N") == len(_scale_bars(fig))
        _footer_inside(fig)
