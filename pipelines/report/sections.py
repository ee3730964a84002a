"""Assemble the report's page from a run summary: one builder per section.

Every builder returns a :class:`~pipelines.report.views.Section`; when the files it needs are
absent it still returns the section, holding one "not computed" paragraph, so a reader knows
the analysis exists and how to get it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, get_args

import pandas as pd
import yaml
from markupsafe import Markup, escape

from pipelines.census.overlay import qpv_without_iris
from pipelines.config.models import landcover_map_year
from pipelines.outputs._atomic import ilots_version
from pipelines.outputs.geopackage import has_values, landcover_map_source
from pipelines.report import figures
from pipelines.report.data import RunSummary, ScenarioFiles
from pipelines.report.headlines import (
    Headline,
    concentration_headline,
    correlation_headline,
    decile_headline,
    hottest_headline,
    method_notes,
    model_sentences,
    model_word,
    optimistic_intervals_note,
    qpv_gap_headline,
    qpv_gap_unestablished,
    qpv_left_out_note,
    scenario_best_sentence,
    suhii_composites,
    suhii_coverage_note,
    suhii_sentences,
)
from pipelines.report.messages import LANGUAGES, MESSAGES
from pipelines.report.tables import (
    GroupMeans,
    group_means,
    hottest_zones,
    line_fit,
    n_clear_distribution,
    quality_summary,
    ranked,
)
from pipelines.report.text import NBSP, Messages, is_number, is_temperature
from pipelines.report.views import (
    Block,
    Cell,
    FigureBlock,
    HeadlineBlock,
    ListBlock,
    Page,
    Paragraph,
    Section,
    TableBlock,
    WarningGroup,
    WarningsBlock,
)
from pipelines.scenarios.compare import is_range
from pipelines.zone_columns import ANOMALY_VALID_FRAC, LOW_CLEAR_AREA
from tiles.errors import WarningCode

__all__ = ["EXTRAPOLATED_LARGE", "HOTTEST_COUNT", "build_page", "period_text", "ranking_column"]

#: How many of the hottest IRIS the report lists.
HOTTEST_COUNT = 20
#: From this share of its edited pixels with a prediction outside the model's fitted range
#: (``extrapolated_share``), a scenario's effect is said, in its section, to be mostly
#: extrapolated.
EXTRAPOLATED_LARGE = 0.5
#: Below this many IRIS in D1 or D10, the decile section says the two means rest on few zones.
FEW_DECILE_ZONES = 10
_ID = "code_iris"
_NAME = "nom_iris"
_QPV_ID = "code_qp"
_QPV_NAME = "nom_qp"
#: The kinds of warning the report names (a message ``warning_kind_<code>`` each).
_WARNING_KINDS: tuple[str, ...] = get_args(WarningCode)


def ranking_column(summary: RunSummary) -> str | None:
    """Choose the temperature column the report ranks and maps IRIS by.

    The outcome of ``inequality.json`` when it is a temperature, else ``lst_anomaly_mean_k``,
    else ``lst_mean_k``; ``None`` when the IRIS layer has none of them.
    """
    outcome = (summary.inequality or {}).get("outcome")
    for column in (outcome, "lst_anomaly_mean_k", "lst_mean_k"):
        if isinstance(column, str) and is_temperature(column) and column in summary.iris.columns:
            return column
    return None


def build_page(summary: RunSummary, m: Messages) -> Page:
    """Build the whole report page of ``summary`` in the language of ``m``."""
    column = ranking_column(summary)
    hottest = None
    if column is not None:
        hottest = hottest_zones(
            summary.iris,
            column,
            id_column=_ID if _ID in summary.iris.columns else summary.iris.columns[0],
            name_column=_NAME,
            n=HOTTEST_COUNT,
        )
    draw = _Drawer(m("figure_synthetic") if summary.synthetic else None)
    left_out = _qpv_left_out(summary)
    sections = (
        _headlines(summary, hottest, column, m, left_out),
        _maps(summary, column, m, draw),
        _income(summary, m, draw),
        _deciles(summary, m, draw),
        _qpv(summary, m, draw, left_out),
        _hottest(summary, hottest, column, m),
        _suhii(summary, m, draw),
        _quality(summary, column, m, draw),
        _scenarios(summary, m),
        Section(
            "method",
            m("sec_method"),
            (
                ListBlock(
                    tuple(
                        method_notes(
                            summary.inequality,
                            m,
                            synthetic=summary.synthetic,
                            bare_soil_as_built=summary.bare_soil_as_built,
                            one_date=_one_date(summary) is not None,
                        )
                    )
                ),
            ),
        ),
        _about(summary, m),
    )
    name = summary.config_name
    title = m("title", name=name) if name else m("title_default")
    years = _period_years(summary.config.get("periods"))
    return Page(
        lang=m.lang,
        title=f"{title}, {years}" if years else title,
        subtitle=m("subtitle"),
        meta=(*_meta(summary, m), *_area_line(summary, m)),
        banner=m("synthetic_banner") if summary.synthetic else None,
        contents_title=m("contents"),
        sections=sections,
    )


def _missing(m: Messages, what: str) -> Paragraph:
    return Paragraph(m("not_computed", what=m(what)), style="missing")


@dataclass(frozen=True)
class _Drawer:
    """Render the report's figures to PNG blocks, each marked as synthetic when the run is.

    ``mark``: the footer a figure of a synthetic run carries (in the report's language), so
    that a figure copied out of ``figures/`` still says it shows no real place.
    """

    mark: str | None = None

    def __call__(
        self, fig: Any, alt: str, caption: str = "", name: str | None = None
    ) -> FigureBlock | None:
        if fig is None:
            return None
        if self.mark:
            figures.add_footer(fig, self.mark)
        return FigureBlock(png=figures.png_bytes(fig), alt=alt, caption=caption, name=name)


def _note(text: str | None) -> Paragraph | None:
    """Return a note paragraph of ``text``, or None without one."""
    return Paragraph(text, style="note") if text else None


def _blocks(*blocks: Block | None) -> tuple[Block, ...]:
    return tuple(b for b in blocks if b is not None)


def _headline_blocks(headline: Headline | None) -> tuple[Paragraph, ...]:
    """Repeat a headline in a section: its sentence, then its notes (its caveats)."""
    if headline is None:
        return ()
    return (
        Paragraph(headline.text),
        *(Paragraph(note, style="note") for note in headline.notes),
    )


def _headlines(
    summary: RunSummary,
    hottest: pd.DataFrame | None,
    column: str | None,
    m: Messages,
    left_out: pd.DataFrame | None,
) -> Section:
    ineq = summary.inequality
    found: list[Headline | None] = [
        qpv_gap_headline(ineq, m, left_out),
        decile_headline(ineq, m),
        concentration_headline(ineq, m),
        correlation_headline(ineq, m),
        hottest_headline(
            hottest,
            column,
            m,
            n_valid=int(ranked(summary.iris, column).sum()),
            n_zones=len(summary.iris),
        )
        if column
        else None,
    ]
    composite = (summary.heat_island or {}).get("composite") or {}
    if is_number(composite.get("suhii_k")):
        coverage = suhii_coverage_note(summary.heat_island, m)
        found.append(
            Headline(
                "suhii",
                suhii_sentences(summary.heat_island, m)[0],
                (coverage,) if coverage else (),
            )
        )
    headlines = tuple(h for h in found if h is not None)
    optimistic = optimistic_intervals_note(ineq, m)  # their intervals, when IRIS are alike
    one_date = _one_date(summary)
    return Section(
        "headlines",
        m("sec_headlines"),
        _blocks(
            # No IRIS with a value: said first, whatever else the run found (NDVI, SUHII).
            Paragraph(_no_lst_values(summary, m), style="missing")
            if column is not None and not has_values(summary.iris, column)
            else None,
            HeadlineBlock(headlines) if headlines else None,
            Paragraph(m("one_date", date=one_date or m("unknown")))
            if headlines and one_date is not None
            else None,
            Paragraph(optimistic) if headlines and optimistic else None,
            _missing(m, "what_inequality") if ineq is None else None,
        ),
    )


def _one_date(summary: RunSummary) -> str | None:
    """Give the date of the run's only LST scene when it read one ("" if unknown), else None.

    The scenes of ``heat_island.json`` (one per acquisition), else the Landsat products of
    the manifest's inputs.
    """
    scenes = (summary.heat_island or {}).get("scenes")
    if isinstance(scenes, list):
        dates = [str(s.get("time") or "")[:10] for s in scenes if isinstance(s, Mapping)]
    else:
        dates = list(summary.acquisitions.get("landsat") or ())
    return dates[0] if len(dates) == 1 else None


def _too_few_scenes(summary: RunSummary) -> tuple[int, float] | None:
    """Give the number of scenes and ``composite.min_clear`` when the scenes are fewer, or None.

    Fewer scenes (``heat_island.json``'s, one per acquisition) than ``composite.min_clear``
    leave every composite pixel empty, however clear the scenes.
    """
    scenes = (summary.heat_island or {}).get("scenes")
    min_clear = (summary.config.get("composite") or {}).get("min_clear")
    if isinstance(scenes, list) and is_number(min_clear) and len(scenes) < min_clear:
        return len(scenes), min_clear
    return None


def _no_lst_values(summary: RunSummary, m: Messages) -> str:
    """Say why no IRIS has a surface temperature: too few scenes, else the clouds."""
    few = _too_few_scenes(summary)
    if few is not None:
        key = m.by_count("no_lst_values_few_scenes", few[0])
        return m(key, n=m.integer(few[0]), min_clear=m.integer(few[1]))
    return m("no_lst_values")


def _no_lst_map(summary: RunSummary, m: Messages) -> Paragraph:
    """Say why the temperature map is not drawn, with the cause :func:`_no_lst_values` gives."""
    few = _too_few_scenes(summary)
    if few is None:
        return _missing(m, "what_map_lst")
    key = m.by_count("what_map_lst_few_scenes", few[0])
    what = m(key, n=m.integer(few[0]), min_clear=m.integer(few[1]))
    return Paragraph(m("not_computed", what=what), style="missing")


def _maps(summary: RunSummary, column: str | None, m: Messages, draw: _Drawer) -> Section:
    iris, qpv = summary.iris, summary.qpv
    blocks: list[Block | None] = []
    # A column without a single value (every IRIS clouded; no red or NIR band for the NDVI)
    # is said in a line, not drawn as a map of hatching under an empty colour bar.
    lst_drawn = column is not None and has_values(iris, column)
    if lst_drawn:
        title = m("fig_map_lst") if column == "lst_anomaly_mean_k" else m.label(column, "axis")
        # A fixed range (outputs.anomaly_range_k), and a neutral colour at 0, are of
        # anomalies (0: the rural reference): not of a mean LST, drawn over its own range.
        anomaly = "anomaly" in column
        bound = summary.anomaly_range_k if anomaly else None
        fig = figures.map_figure(
            iris, column, m, title=title, qpv=qpv, diverging=anomaly, bound=bound
        )
        blocks.append(draw(fig, title, name="lst_map"))
    elif column is not None:
        blocks.append(_no_lst_map(summary, m))
    if has_values(iris, "ndvi_mean"):
        fig = figures.map_figure(
            iris, "ndvi_mean", m, title=m("fig_map_ndvi"), qpv=qpv, cmap="YlGn", diverging=False
        )
        blocks.append(draw(fig, m("fig_map_ndvi"), name="ndvi_map"))
    elif "ndvi_mean" in iris.columns:
        blocks.append(_missing(m, "what_map_ndvi"))
    if any(isinstance(b, FigureBlock) for b in blocks):
        caption = m("fig_map_caption") if qpv is not None and len(qpv) else ""
        missing = int(pd.to_numeric(iris[column], errors="coerce").isna().sum()) if lst_drawn else 0
        if missing:
            caption = f"{caption} {m('fig_map_missing', n=m.integer(missing))}".strip()
        if summary.indices_water_left_out and has_values(iris, "ndvi_mean"):
            caption = f"{caption} {m('fig_map_ndvi_land')}".strip()
        if caption:
            blocks.append(Paragraph(caption, style="note"))
    elif not any(blocks):
        blocks.append(_missing(m, "what_maps"))
    return Section("maps", m("sec_maps"), _blocks(*blocks))


def _names(summary: RunSummary) -> tuple[str, str, str]:
    ineq = summary.inequality or {}
    return (
        str(ineq.get("income") or "disp_med"),
        str(ineq.get("population") or "population"),
        str(ineq.get("group") or "in_qpv"),
    )


def _income(summary: RunSummary, m: Messages, draw: _Drawer) -> Section:
    ineq = summary.inequality
    income, _, group = _names(summary)
    outcome = str((ineq or {}).get("outcome") or ranking_column(summary) or "")
    if outcome not in summary.iris.columns or income not in summary.iris.columns:
        return Section("income", m("sec_income"), (_missing(m, "what_income"),))
    fit = line_fit(summary.iris[income], summary.iris[outcome])
    fig = figures.income_scatter(summary.iris, outcome, income, m, fit=fit, group=group)
    pearson = ((ineq or {}).get("correlations") or {}).get("pearson") or {}
    caption = ""
    if fit is not None:
        caption = m(
            "fig_scatter_caption",
            slope=m.significant(1000.0 * fit.slope) + (" K" if is_temperature(outcome) else ""),
            r=m.number(pearson.get("value")),
            ci=m.ci(pearson.get("ci_low"), pearson.get("ci_high"), pearson.get("confidence", 0.95)),
        )
    title = m("fig_scatter", label=m.label(outcome))
    return Section(
        "income",
        m("sec_income"),
        _blocks(
            *_headline_blocks(correlation_headline(ineq, m)),
            draw(fig, title, caption, name="income_scatter"),
        ),
    )


def _deciles(summary: RunSummary, m: Messages, draw: _Drawer) -> Section:
    ineq = summary.inequality
    deciles = (ineq or {}).get("exposure_by_decile")
    if not isinstance(deciles, Mapping):
        return Section("deciles", m("sec_deciles"), (_missing(m, "what_inequality"),))
    outcome = str(ineq.get("outcome", ""))  # type: ignore[union-attr]
    gap = deciles.get("gap_d1_d10") or {}
    basis = (
        "deciles_basis_population" if deciles.get("by") == "population" else "deciles_basis_zones"
    )
    digits = 2 if is_temperature(outcome) else 3
    weighted = deciles.get("by") == "population"
    rows = [r for r in deciles.get("deciles") or () if isinstance(r, Mapping)]
    ends = _empty_ends(rows, m)
    if ends:  # no gap to give: said, not a dash
        gap_text = m("deciles_gap_empty", ends=ends)
    else:
        gap_text = m(
            "deciles_gap",
            gap=m.number(gap.get("value"), digits, signed=True)
            + (NBSP + "K" if is_temperature(outcome) else ""),
            ci=m.ci(gap.get("ci_low"), gap.get("ci_high"), gap.get("confidence", 0.95), digits),
        )
    caption = m(
        "fig_deciles_caption" if weighted else "fig_deciles_caption_unweighted",
        label=m.label(outcome),
        basis=m(basis),
        gap=gap_text,
    )
    if figures.decile_gaps(deciles, outcome) is not None and is_number(deciles.get("overall")):
        overall = f"{m.number(deciles['overall'])}{NBSP}K"
        caption += " " + m("deciles_minus_all", overall=overall)
    if rows and all(is_number(r.get("ci_low")) for r in rows):
        caption += " " + m("deciles_ci_per_decile")
    headline = decile_headline(ineq, m)
    table = TableBlock(
        id="deciles-table",
        headers=(
            m("axis_decile"),
            m("col_n_zones"),
            *((m("col_population"),) if weighted else ()),  # else each IRIS weighs 1
            m("col_income"),
            m.label(outcome, "axis"),
        ),
        rows=tuple(
            (
                Cell(f"D{r.get('decile')}"),
                Cell(m.integer(r.get("n_zones")), True),
                *((Cell(m.integer(r.get("population")), True),) if weighted else ()),
                Cell(f"{m.integer(r.get('income_min'))} – {m.integer(r.get('income_max'))}", True),
                Cell(m.number(r.get("exposure"), digits), True),
            )
            for r in rows
        ),
        caption=m("deciles_table_caption", label=m.label(outcome)),
    )
    return Section(
        "deciles",
        m("sec_deciles"),
        _blocks(
            *_headline_blocks(headline),
            draw(
                figures.decile_figure(deciles, outcome, m),
                m("fig_deciles"),
                caption,
                name="deciles",
            ),
            table if rows else None,
            _empty_deciles(rows, m) or _few_decile_zones(rows, m),
        ),
    )


def _empty(rows: list[Mapping[str, Any]]) -> list[int]:
    """Return the deciles of ``rows`` that hold no IRIS (``n_zones`` 0), lowest first."""
    return sorted(
        int(r["decile"]) for r in rows if r.get("n_zones") == 0 and is_number(r.get("decile"))
    )


def _empty_ends(rows: list[Mapping[str, Any]], m: Messages) -> str | None:
    """Name the end deciles (D1, D10) that hold no IRIS, the D1 − D10 gap's; None if neither."""
    ends = [d for d in _empty(rows) if d in (1, 10)]
    if not ends:
        return None
    return m("deciles_ends_both") if len(ends) == 2 else f"D{ends[0]}"


def _empty_deciles(rows: list[Mapping[str, Any]], m: Messages) -> Paragraph | None:
    """Say the IRIS are too few to fill the ten deciles, when some hold none.

    Named, with the IRIS the deciles hold; when D1 or D10 is among them, that the D1 − D10
    gap is not computed and what would give it.
    """
    empty = _empty(rows)
    if not empty:
        return None
    n = sum(int(r["n_zones"]) for r in rows if is_number(r.get("n_zones")))
    # one IRIS (or none) leaves nine deciles (or ten) empty
    key = "deciles_empty_iris_one" if m.singular(n) else m.by_count("deciles_empty", len(empty))
    text = m(key, n=m.integer(n), empty=", ".join(f"D{d}" for d in empty))
    ends = _empty_ends(rows, m)
    if ends:
        text += " " + m("deciles_empty_no_gap", ends=ends)
    return Paragraph(text, style="note")


def _few_decile_zones(rows: list[Mapping[str, Any]], m: Messages) -> Paragraph | None:
    """Say D1 and D10 rest on few IRIS when either holds under :data:`FEW_DECILE_ZONES`."""
    ends = {r.get("decile"): r.get("n_zones") for r in rows if r.get("decile") in (1, 10)}
    counts = [ends.get(1), ends.get(10)]
    if not all(is_number(n) for n in counts) or min(counts) >= FEW_DECILE_ZONES:
        return None
    return Paragraph(
        m("deciles_few_zones", d1=m.integer(counts[0]), d10=m.integer(counts[1])), style="note"
    )


_QPV_COLUMNS = ("lst_anomaly_mean_k", "lst_mean_k", "ndvi_mean", "lc_built_frac")


def _qpv_value_cells(row: Mapping[str, Any] | pd.Series, m: Messages) -> tuple[Cell, ...]:
    return (
        Cell(m.number(row.get("lst_anomaly_mean_k")), True),
        Cell(m.number(row.get("lst_mean_k")), True),
        Cell(m.number(row.get("ndvi_mean")), True),
        Cell(m.share(row.get("lc_built_frac")), True),
    )


def _qpv_left_out(summary: RunSummary) -> pd.DataFrame | None:
    """Return the QPV the IRIS gap leaves out (no IRIS counted in QPV covers most of them).

    None without a QPV layer or IRIS counted in QPV (the QPV section says so otherwise).
    """
    iris, qpv = summary.iris, summary.qpv
    group = _names(summary)[2]
    if qpv is None or qpv.empty or _QPV_ID not in qpv.columns or _ID not in iris.columns:
        return None
    if group not in iris.columns or not iris[group].fillna(False).astype(bool).any():
        return None
    return qpv_without_iris(iris, qpv, in_qpv=group)


def _qpv(
    summary: RunSummary, m: Messages, draw: _Drawer, left_out: pd.DataFrame | None = None
) -> Section:
    iris = summary.iris
    _, population, group = _names(summary)
    outcome = ranking_column(summary)
    if group not in iris.columns or not iris[group].fillna(False).astype(bool).any():
        return Section("qpv", m("sec_qpv"), (_missing(m, "what_qpv"),))
    means = group_means(iris, _QPV_COLUMNS, group=group, population=population, count=outcome)
    weighted = population in iris.columns
    headline = qpv_gap_headline(summary.inequality, m, left_out)
    value_headers = (m("col_anomaly"), m("col_lst"), m("col_ndvi"), m("col_built"))
    rows = _qpv_rows(means, ("legend_in_qpv", "legend_other"), weighted, m)
    row_ids = ["in", "out"]
    threshold = ((summary.config.get("zones") or {}).get("qpv") or {}).get("iris_share_threshold")
    suffix = "" if weighted else "_unweighted"
    caption = (
        m("qpv_table_caption" + suffix, threshold=m.share(threshold))
        if is_number(threshold)
        else m("qpv_table_caption_plain" + suffix)
    )
    caption += _qpv_counts(means, m, suffix)
    n_used = (summary.inequality or {}).get("n_used")
    if is_number(n_used) and int(n_used) < means.table["n_zones"].sum():
        # The IRIS the QPV test used, in rows of their own: the headline's gap reads off them.
        tested = group_means(
            iris,
            _QPV_COLUMNS,
            group=group,
            population=population,
            count=outcome,
            required=_test_columns(summary),
        )
        rows += _qpv_rows(tested, ("legend_in_qpv_tested", "legend_other_tested"), weighted, m)
        row_ids += ["in-tested", "out-tested"]
        caption += " " + m("qpv_table_rows", n=m.integer(n_used))
        total = (summary.inequality or {}).get("population_total")
        used = (summary.inequality or {}).get("population_used")
        if is_number(total) and is_number(used):  # science.md §8.3
            caption += " " + m(
                "residents_left_out", n=m.integer(total - used), total=m.integer(total)
            )
    # Without a gap (its headline's notes name them): of the table's rows.
    left_out_note = qpv_left_out_note(left_out, m, gap=False) if headline is None else None
    blocks: list[Block | None] = [
        *_headline_blocks(headline),
        Paragraph(left_out_note, style="note") if left_out_note else None,
        TableBlock(
            id="qpv-table",
            headers=(
                m("col_group"),
                m("col_n_zones"),
                *((m("col_population"),) if weighted else ()),
                *value_headers,
            ),
            rows=tuple(rows),
            caption=caption,
            row_ids=tuple(row_ids),
        ),
    ]
    if outcome is not None:
        fig = figures.qpv_figure(iris, outcome, means, m, group=group)
        caption = m("fig_qpv_caption" + suffix)
        blocks.append(draw(fig, m("fig_qpv"), caption, name="qpv_comparison"))
    qpv = summary.qpv
    if qpv is not None and len(qpv):
        ids = qpv[_QPV_ID].astype(str) if _QPV_ID in qpv.columns else qpv.index.astype(str)
        names = qpv[_QPV_NAME].astype(str) if _QPV_NAME in qpv.columns else ids
        blocks.append(
            TableBlock(
                id="qpv-polygons",
                headers=(m("col_code"), m("col_name"), *value_headers),
                rows=tuple(
                    (Cell(code), Cell(name), *_qpv_value_cells(row, m))
                    for code, name, (_, row) in zip(ids, names, qpv.iterrows(), strict=True)
                ),
                caption=m("qpv_polygons_caption"),
                row_ids=tuple(ids),
            )
        )
    return Section("qpv", m("sec_qpv"), _blocks(*blocks))


def _qpv_rows(
    means: GroupMeans, labels: tuple[str, str], weighted: bool, m: Messages
) -> list[tuple[Cell, ...]]:
    """Return the QPV table rows of ``means``: in the group, then out, labelled by keys."""
    rows = []
    for key, label in zip((True, False), labels, strict=True):
        row = means.table.loc[key]
        rows.append(
            (
                Cell(m(label)),
                Cell(m.integer(row["n_zones"]), True),
                *((Cell(m.integer(row["population"]), True),) if weighted else ()),
                *_qpv_value_cells(row, m),
            )
        )
    return rows


def _test_columns(summary: RunSummary) -> tuple[str, ...]:
    """Return the columns a zone needs a number in for the QPV test: outcome and income."""
    ineq = summary.inequality or {}
    return tuple(str(ineq[key]) for key in ("outcome", "income") if ineq.get(key))


def _qpv_counts(means: GroupMeans, m: Messages, suffix: str) -> str:
    """Say what the QPV table's IRIS and population columns count, and who is left out."""
    if means.counted is None:
        return ""
    text = " " + m("qpv_table_counts" + suffix, label=m.label(means.counted))
    left_in, left_out = (int(means.table.loc[key, "n_left_out"]) for key in (True, False))
    if left_in + left_out:
        text += " " + m(
            m.by_count("qpv_table_left_out" + suffix, left_in + left_out),
            n=m.integer(left_in + left_out),
            n_in=m.integer(left_in),
            others=m(m.by_count("other_count", left_out), n=m.integer(left_out)),
        )
    return text


def _hottest(
    summary: RunSummary, hottest: pd.DataFrame | None, column: str | None, m: Messages
) -> Section:
    if hottest is None or column is None:
        title = m("sec_hottest", n=HOTTEST_COUNT)
        return Section("hottest", title, (_missing(m, "what_inequality"),))
    n_valid = int(ranked(summary.iris, column).sum())  # the IRIS the table ranks (not ±inf)
    if not n_valid:  # no table captioned "L'IRIS le plus chaud" over no row
        paragraph = Paragraph(m("hottest_none", label=m.label(column)))
        return Section("hottest", m("sec_hottest", n=HOTTEST_COUNT), (paragraph,))
    # "Les 5 IRIS les plus chauds" when only 5 have a value
    shown = min(HOTTEST_COUNT, n_valid)
    title = m(m.one_or_many("sec_hottest", shown), n=shown)
    value_header = m("col_anomaly") if column == "lst_anomaly_mean_k" else m("col_lst")
    extras = [
        (name, header, fmt)
        for name, header, fmt in (
            ("lst_mean_k", m("col_lst"), m.number),
            ("ndvi_mean", m("col_ndvi"), m.number),
            ("disp_med", m("col_income"), m.integer),
            ("population", m("col_population"), m.integer),
        )
        if name in hottest.columns
    ]
    has_qpv = "in_qpv" in hottest.columns
    headers = (
        m("col_rank"),
        m("col_code"),
        m("col_name"),
        value_header,
        m("col_hotter_than"),
        *(header for _, header, _ in extras),
        *((m("col_in_qpv"),) if has_qpv else ()),
    )
    rows = tuple(
        (
            Cell(str(int(row["rank"])), True),
            Cell(str(row["id"])),
            Cell(str(row["name"])),
            Cell(m.number(row["value"]), True),
            Cell(m.percent(row["hotter_than_pct"]), True),
            *(Cell(fmt(row[name]), True) for name, _, fmt in extras),
            *((_in_qpv_cell(row, m),) if has_qpv else ()),
        )
        for _, row in hottest.iterrows()
    )
    definition = m(
        m.by_count("hottest_definition", n_valid), n=m.integer(n_valid), label=m.label(column)
    )
    if has_qpv and any(_partly_in_qpv(row) for _, row in hottest.iterrows()):
        definition += " " + m("qpv_part_of_iris_note")
    return Section(
        "hottest",
        title,
        (
            TableBlock(
                id="hottest-table",
                headers=headers,
                rows=rows,
                caption=m(
                    m.one_or_many("hottest_table_caption", len(rows)),
                    n=m.integer(len(rows)),
                    label=m.label(column),
                ),
                row_ids=tuple(hottest["id"].astype(str)),
                row_header=1,  # the IRIS code names the row
            ),
            Paragraph(definition, style="note"),
        ),
    )


def _partly_in_qpv(row: pd.Series) -> bool:
    """Whether an IRIS not counted in QPV has part of its area in one (``qpv_share`` > 0)."""
    in_qpv, share = row.get("in_qpv"), row.get("qpv_share")
    return not pd.isna(in_qpv) and not bool(in_qpv) and is_number(share) and share > 0


def _in_qpv_cell(row: pd.Series, m: Messages) -> Cell:
    """Return the hottest table's "in QPV" cell: yes, no, or no with the IRIS's QPV share."""
    if _partly_in_qpv(row):
        return Cell(m("qpv_part_of_iris", share=m.share(row["qpv_share"])))
    return Cell(m.yes_no(row["in_qpv"]))


def _suhii(summary: RunSummary, m: Messages, draw: _Drawer) -> Section:
    heat = summary.heat_island
    if heat is None:
        return Section("suhii", m("sec_suhii"), (_missing(m, "what_suhii"),))
    scenes = [s for s in heat.get("scenes") or () if isinstance(s, Mapping)]

    def cells(label: str, record: Mapping[str, Any], platform: str = "") -> tuple[Cell, ...]:
        return (
            Cell(label),
            Cell(platform),
            Cell(m.number(record.get("suhii_k")), True),
            Cell(m.number(record.get("urban_mean_k")), True),
            Cell(m.number(record.get("rural_mean_k")), True),
            Cell(m.integer(record.get("urban_pixels")), True),
            Cell(m.integer(record.get("rural_pixels")), True),
            Cell(m.share(record.get("urban_clear_share")), True),
            Cell(m.share(record.get("rural_clear_share")), True),
        )

    rows = [
        cells(str(s.get("time", ""))[:16].replace("T", " "), s, str(s.get("platform", "")))
        for s in scenes
    ]
    for variable, record in suhii_composites(heat):
        key = f"row_composite_{variable}"
        rows.append(cells(m(key) if key in MESSAGES else m("row_composite"), record))
    table = TableBlock(
        id="suhii-table",
        headers=(
            m("col_scene"),
            m("col_platform"),
            m("col_suhii"),
            m("col_urban_mean"),
            m("col_rural_mean"),
            m("col_urban_pixels"),
            m("col_rural_pixels"),
            m("col_urban_clear"),
            m("col_rural_clear"),
        ),
        rows=tuple(rows),
        caption=m("suhii_table_caption"),
    )
    sentences = suhii_sentences(heat, m)
    return Section(
        "suhii",
        m("sec_suhii"),
        _blocks(
            *(Paragraph(s) for s in sentences[:-1]),
            draw(figures.suhii_figure(heat, m), m("fig_suhii"), name="suhii"),
            table,
            Paragraph(sentences[-1], style="note"),
            _note(suhii_coverage_note(heat, m)),
        ),
    )


def _quality(summary: RunSummary, column: str | None, m: Messages, draw: _Drawer) -> Section:
    iris = summary.iris
    threshold = summary.min_valid_frac
    blocks: list[Block | None] = []
    if column is not None:
        q = quality_summary(iris, column, min_valid_frac=threshold)
        blocks.append(
            Paragraph(
                m(
                    m.by_count(
                        "quality_zones" if summary.water_left_out else "quality_zones_water_kept",
                        q.n_with_value,
                    ),
                    with_value=m.integer(q.n_with_value),
                    n=m.integer(q.n_zones),
                    label=m.label(column),
                    vmin=m.share(q.valid_frac_min),
                    vmed=m.share(q.valid_frac_median),
                )
            )
        )
        if is_number(q.anomaly_valid_frac_median):  # not in the tables of an earlier ilots
            vmin, vmed = (
                m.share(v) for v in (q.anomaly_valid_frac_min, q.anomaly_valid_frac_median)
            )
            said = m("quality_delta_share", label=m.label(ANOMALY_VALID_FRAC), vmin=vmin, vmed=vmed)
            blocks.append(Paragraph(said))
        # Under the LST's share (the histogram's), then, for ΔT, under its own share only.
        for key, count in (("quality_below", q.n_below_threshold),
                           ("quality_below_delta", q.n_below_delta)):  # fmt: skip
            if count:
                said = m(m.by_count(key, count), count=m.integer(count),
                         threshold=m.share(threshold))  # fmt: skip
                blocks.append(Paragraph(said))
        blocks.append(_low_clear(summary, column, m))
        if is_number(q.n_clear_mean_median):
            blocks.append(
                Paragraph(
                    m(
                        "quality_n_clear" if summary.n_clear_over_land else "quality_n_clear_all",
                        vmin=m.number(q.n_clear_mean_min, 1),
                        vmed=m.number(q.n_clear_mean_median, 1),
                    )
                )
            )
    shares = (
        n_clear_distribution(summary.n_clear)
        if summary.n_clear is not None and len(summary.n_clear)
        else None
    )
    fig = figures.quality_figure(
        iris,
        m,
        n_clear_shares=shares,
        min_valid_frac=threshold,
        water_left_out=summary.water_left_out,
        n_clear_title=m(
            "fig_quality_n_clear_land" if summary.n_clear_water_out else "fig_quality_n_clear_iris"
        ),
    )
    blocks.append(draw(fig, m("fig_quality"), name="data_quality"))
    if shares is None:
        blocks.append(_missing(m, "what_n_clear"))
    elif summary.n_clear_decimated:
        blocks.append(Paragraph(m("quality_decimated"), style="note"))
    blocks.append(_settings(summary.changed_settings, m))
    if summary.warnings:
        blocks.append(_warnings(summary.warnings, m, "quality_warnings", summary.warning_codes))
    else:
        blocks.append(Paragraph(m("quality_no_warnings")))
    return Section("quality", m("sec_quality"), _blocks(*blocks))


def _low_clear(summary: RunSummary, column: str, m: Messages) -> Paragraph | None:
    """Say how many IRIS are flagged ``low_clear_area``, and how many of them have a value.

    Flagged: under ``composite.min_clear_area_frac`` of the IRIS (of its land, water left
    out) has a composite LST and ΔT. A flagged IRIS keeps its value when its share is still at
    least ``zones.min_valid_frac``: a value from part of it. None when none is flagged.
    """
    iris = summary.iris
    if LOW_CLEAR_AREA not in iris.columns:
        return None
    flagged = iris[LOW_CLEAR_AREA].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if not flagged.any():
        return None
    threshold = (summary.config.get("composite") or {}).get("min_clear_area_frac")
    count = int(flagged.sum())
    of = "quality_low_clear_land" if summary.water_left_out else "quality_low_clear_area"
    text = m(
        m.by_count("quality_low_clear", count),
        count=m.integer(count),
        threshold=m.share(threshold),
        of=m(m.one_or_many(of, count)),
    )
    valued = int(pd.to_numeric(iris.loc[flagged, column], errors="coerce").notna().sum())
    if valued:
        key = "quality_low_clear_valued"  # of the one flagged IRIS: "it still has a value"
        key = f"{key}_alone" if count == 1 else m.by_count(key, valued)
        text += " " + m(key, count=m.integer(valued))
    return Paragraph(text)


def _settings(changed: tuple[tuple[str, Any, Any], ...], m: Messages) -> Paragraph:
    """Name the quality settings changed from the defaults (a run's masks, thresholds).

    Each by its label in the report's language, then its ``config.yaml`` key in ``<code>``
    (the key alone when it has no label: :meth:`~pipelines.report.text.Messages.setting`).
    """
    if not changed:
        return Paragraph(m("quality_settings_default"))
    items = Markup(m("settings_separator")).join(
        _setting(key, value, default, m) for key, value, default in changed
    )
    return Paragraph(Markup(m("quality_settings", items=items)))


def _setting(key: str, value: Any, default: Any, m: Messages) -> Markup:
    """Say one changed setting: its label, its key in ``<code>``, its value and default."""

    def shown(value: Any) -> str:  # as the config file writes it
        return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()

    code = Markup("<code>{}</code>").format(key)
    label = m.setting(key)
    fields = {"setting": code, "value": escape(shown(value)), "default": escape(shown(default))}
    if label is None:
        return Markup(m("quality_setting_unlabelled", **fields))
    return Markup(m("quality_setting", name=escape(label), **fields))


_SCENARIO_COLUMNS = (
    ("scenario", "col_scenario", None),
    ("description", "col_description", None),
    ("area_changed_m2", "col_area_changed", "ha"),
    ("area_changed_predicted_m2", "col_area_predicted", "ha"),
    ("changed_mean_delta_k", "col_changed_delta", 2),
    ("mean_delta_k", "col_mean_delta", 2),
    ("urban_mean_delta_k", "col_urban_delta", 3),
    ("delta_k_per_ha", "col_delta_per_ha", "significant"),
    ("qpv_delta_mean_k", "col_qpv_delta", 2),
    ("rest_delta_mean_k", "col_rest_delta", 2),
    ("qpv_gap_before_k", "col_gap_before", 2),
    ("qpv_gap_after_k", "col_gap_after", 2),
    ("generalized_concentration_index_before", "col_ci_before", 3),
    ("generalized_concentration_index_after", "col_ci_after", 3),
    ("extrapolated_share", "col_extrapolated", "share"),
)


def _has_spread(table: Any) -> bool:
    """Whether the comparison gives ranges over replicates wider than rounding."""
    return any(
        _range(row, column[: -len("_min")]) is not None
        for _, row in table.iterrows()
        for column in table.columns
        if column.endswith("_min")
    )


def _replicates(model: Mapping[str, Any] | None) -> int | None:
    """Return the model's fits (``model.json``'s ``replicates``; None if older)."""
    count = (model or {}).get("replicates")
    return count if isinstance(count, int) else None


def _range(row: Any, name: str) -> tuple[Any, Any] | None:
    """Return the range of column ``name`` over the replicates (None: a single value)."""
    low, high = row.get(f"{name}_min"), row.get(f"{name}_max")
    if is_number(low) and is_number(high) and is_range(float(low), float(high)):
        return low, high
    return None


def _scenario_cell(
    value: Any, how: str | int | None, m: Messages, spread: tuple[Any, Any] | None = None
) -> Cell:
    if spread is not None and isinstance(how, int):
        low, high = (m.number(v, how) for v in spread)
        return Cell(f"{m.number(value, how)} ({low} … {high})", True)
    if how is None:
        return Cell(
            "" if value is None or (isinstance(value, float) and value != value) else str(value)
        )
    if how == "share":
        return Cell(m.share(value), True)
    if how == "significant":
        return Cell(m.significant(value), True)
    if how == "ha":
        return Cell(m.number(float(value) / 1e4, 2) if is_number(value) else m.number(None), True)
    return Cell(m.number(value, int(how)), True)


def _scenarios(summary: RunSummary, m: Messages) -> Section:
    files = summary.scenarios
    if not files.present:
        return Section("scenarios", m("sec_scenarios"), (_missing(m, "what_scenarios"),))
    blocks: list[Block | None] = []
    if files.model is not None:
        warned = {m("model_forced"), m("model_refused")}
        blocks.extend(
            Paragraph(s, style="warning" if s in warned else "")
            for s in model_sentences(files.model, m)
        )
    table = files.comparison
    if table is not None:
        fits = _replicates(files.model)
        unestablished = qpv_gap_unestablished(summary.inequality)
        best = scenario_best_sentence(table, m, fits=fits, gap_unestablished=unestablished)
        if best:
            blocks.append(Paragraph(best))
        columns = [c for c in _SCENARIO_COLUMNS if c[0] in table.columns]
        spread = _has_spread(table)
        if spread:
            blocks.append(Paragraph(m("scenario_spread", n=m.integer(fits))))
        elif fits == 1:
            blocks.append(Paragraph(m("scenario_one_fit")))
        blocks.append(
            TableBlock(
                id="scenarios-table",
                headers=tuple(m(key) for _, key, _ in columns),
                rows=tuple(
                    tuple(
                        _scenario_cell(row[name], how, m, _range(row, name))
                        for name, _, how in columns
                    )
                    for _, row in table.iterrows()
                ),
                caption=m("scenarios_table_caption"),
                row_ids=tuple(str(s) for s in table["scenario"]),
            )
        )
        if "area_changed_predicted_m2" in table.columns:
            blocks.append(Paragraph(m("scenario_area_predicted"), style="note"))
        if "extrapolated_share" in table.columns:
            key = "scenario_extrapolated_definition"
            key += "_predicted" if files.shares_of_predicted else ""
            blocks.append(Paragraph(m(key), style="note"))
            blocks.extend(_extrapolated(table, files, m))
    if files.warnings:
        blocks.append(_warnings(files.warnings, m, "scenario_warnings", kinds_expected=False))
    if files.comparison_png is not None or files.maps:
        blocks.append(_figures_language(files.figures_lang, m))
    if files.comparison_png is not None:
        blocks.append(
            FigureBlock(
                files.comparison_png.read_bytes(),
                m("scenario_comparison"),
                m("scenario_comparison"),
            )
        )
    for name, path in files.maps:
        label = m("scenario_map", name=name)
        blocks.append(FigureBlock(path.read_bytes(), label, label))
    return Section("scenarios", m("sec_scenarios"), _blocks(*blocks))


def _figures_language(drawn: str | None, m: Messages) -> Paragraph | None:
    """Say that the scenario figures are in another language than the report, and how to redraw.

    ``ilots scenarios`` draws them once, in its config's language (``drawn``); a report in
    another language (``ilots report --lang``, or a run whose config says another) shows them
    as they are.
    """
    if drawn is None or drawn == m.lang or drawn not in LANGUAGES:
        return None
    return Paragraph(
        m(
            "scenario_figures_language",
            drawn=m(f"language_{drawn}"),
            drawn_code=drawn,
            wanted=m(f"language_{m.lang}"),
            wanted_code=m.lang,
        ),
        style="note",
    )


def _extrapolated(table: pd.DataFrame, files: ScenarioFiles, m: Messages) -> list[Paragraph]:
    """Say of each scenario mostly extrapolated (:data:`EXTRAPOLATED_LARGE`) what it implies.

    A gradient-boosting model holds its response flat beyond the range it was fitted on, so
    the effect there is likely underestimated; a ridge one (a quadratic surface) extends its
    curve unchecked. The predictor most often outside its range is named from the
    scenario's ``summary.json``. The shares of a folder scenario'd before they were of the
    edited pixels are said to be of the predicted pixels
    (:attr:`~.data.ScenarioFiles.shares_of_predicted`).
    """
    model = files.model or {}
    key = (
        "scenario_extrapolated_linear"
        if model.get("estimator") == "ridge"
        else "scenario_extrapolated_held"
    )
    said = []
    for _, row in table.iterrows():
        share = row.get("extrapolated_share")
        if not is_number(share) or float(share) < EXTRAPOLATED_LARGE:
            continue
        name = str(row["scenario"])
        detail = ""
        outside = files.outside_range.get(name) or {}
        if outside:  # the predictor most pushed out of its range
            predictor = max(outside, key=outside.__getitem__)
            detail = m("scenario_extrapolated_detail", predictor=model_word(predictor, m))
        pixels = m("scenario_pixels_predicted" if files.shares_of_predicted else "scenario_pixels")
        said.append(
            Paragraph(
                m(key, name=name, share=m.share(share), detail=detail, pixels=pixels),
                style="warning",
            )
        )
    return said


def _warnings(
    items: tuple[str, ...],
    m: Messages,
    key: str,
    codes: tuple[str | None, ...] = (),
    *,
    kinds_expected: bool = True,
) -> WarningsBlock:
    """List warnings as the manifest holds them (English) under a heading per kind.

    ``codes``: the kind of each item (:data:`tiles.errors.WarningCode`; missing or unknown:
    none). Kinds come in the order they were first warned of, each headed by its summary in
    the report's language; the items of no kind come last, under a generic heading that says
    the report has no summary of them ("Avertissements non classés : ..."). Without
    ``kinds_expected`` (the scenarios' warnings, which have no kinds: the block's lead says
    what they are), items of no kind alone get no heading.
    """
    kinds: dict[str | None, list[str]] = {}
    for k, item in enumerate(items):
        code = codes[k] if k < len(codes) else None
        kinds.setdefault(code if code in _WARNING_KINDS else None, []).append(item)
    other = kinds.pop(None, [])
    groups = [WarningGroup(m(f"warning_kind_{code}"), tuple(said)) for code, said in kinds.items()]
    if other and (kinds or kinds_expected):
        groups.append(
            WarningGroup(m(m.one_or_many("warning_unclassified", len(other))), tuple(other))
        )
    elif other:
        groups.append(WarningGroup("", tuple(other)))
    return WarningsBlock(
        title=m(key),
        lead=m("warning_kinds_lead" if kinds else f"{key}_lead"),
        groups=tuple(groups),
        lang=None if m.lang == "en" else "en",
    )


def _when(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


def _meta(summary: RunSummary, m: Messages) -> tuple[str, ...]:
    period = period_text(summary.config.get("periods"), m)
    return (
        *((m("meta_period", period=period),) if period else ()),
        m(
            "meta_run",
            date=_when(summary.finished) or m("unknown"),
            config=summary.config_name or m("unknown"),
            version=summary.ilots_version or m("unknown"),
        ),
        m("meta_report", version=ilots_version(), folder=summary.folder.root.resolve()),
    )


def period_text(periods: Any, m: Messages) -> str | None:
    """Say the config's acquisition periods: "juin–août 2023", or its date ranges."""
    if not isinstance(periods, Mapping):
        return None
    if periods.get("ranges"):
        return ", ".join(
            m("period_range", start=r.get("start"), end=r.get("end"))
            for r in periods["ranges"]
            if isinstance(r, Mapping)
        )
    years, months = periods.get("years"), sorted(periods.get("months") or ())
    if not years or not months:
        return None
    names = m("month_names").split()
    if len(months) > 2 and months[-1] - months[0] == len(months) - 1:  # consecutive months
        span = f"{names[months[0] - 1]}–{names[months[-1] - 1]}"
    else:
        span = ", ".join(names[month - 1] for month in months)
    return f"{span} {', '.join(str(year) for year in sorted(years))}"


def _period_years(periods: Any) -> str | None:
    """Say the years of the config's acquisition periods ("2019, 2022–2023"), for the title.

    Those of its ``years``, or every year its date ``ranges`` touch; None without either.
    """
    if not isinstance(periods, Mapping):
        return None
    years: set[int] = set()
    for window in periods.get("ranges") or ():
        try:
            first, last = (dt.date.fromisoformat(str(window[end])).year for end in ("start", "end"))
        except (KeyError, TypeError, ValueError):  # not a run's dumped config: no year said
            continue
        years.update(range(first, last + 1))
    years.update(year for year in periods.get("years") or () if isinstance(year, int))
    return _year_spans(sorted(years)) or None


def _year_spans(years: list[int]) -> str:
    """Join sorted years, consecutive ones as a span: ``2014–2016, 2019, 2022–2023``."""
    spans: list[list[int]] = []
    for year in years:
        if spans and year == spans[-1][-1] + 1:
            spans[-1].append(year)
        else:
            spans.append([year])
    return ", ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)


def _sources(summary: RunSummary, m: Messages) -> list[str]:
    """Say the images the run read (count and days, per sensor) and the census years.

    The NDVI and land cover come from the Sentinel-2 scenes when the run read any, else
    from the Landsat scenes' reflectance, said in a line of its own, as a land cover that
    could not separate built and bare soil (no NDBI) is; an external land-cover map is
    named, with the credit its licence asks (:func:`_landcover_map`).
    """
    items = []
    acquisitions = summary.acquisitions
    external = (summary.config.get("landcover") or {}).get("external")
    for sensor in ("landsat", "sentinel2"):
        days = acquisitions.get(sensor)
        if days:
            key = "sentinel2_ndvi" if sensor == "sentinel2" and external else sensor
            key = m.by_count(f"about_{key}", len(days))
            items.append(m(key, n=m.integer(len(days)), dates=", ".join(days)))
    folder = summary.folder
    if "sentinel2" not in acquisitions and folder.raster("ndvi_median").is_file():
        landcover = folder.raster("landcover").is_file() and not external
        items.append(m("about_landsat_landcover" if landcover else "about_landsat_ndvi"))
    if isinstance(external, Mapping):
        items.append(_landcover_map(external, m))
    if summary.bare_soil_as_built:
        items.append(m("about_landcover_ndvi_only"))
    tables = [
        m(f"about_census_{name}", year=year)
        for name, year in summary.census_years.items()
        if f"about_census_{name}" in MESSAGES
    ]
    if tables:
        items.append(m("about_census", tables=m("settings_separator").join(tables)))
    return items


#: From this relative difference between the area of interest and its IRIS' total area,
#: the report gives the latter too (the IRIS a bounding box touches are analysed whole).
AREA_IRIS_DIFFERENCE = 0.01


def _area_iris(summary: RunSummary, m: Messages) -> str:
    """Say the area the IRIS cover when it differs from the area of interest's, else "".

    The IRIS an area of interest touches are kept whole (their statistics, the SUHII's urban
    footprint): a bounding box of 0.8 km² can analyse 1.2 km² of IRIS. From ``area_m2``
    (on the analysis grid: within about 0.1 % of the ellipsoid's), when it differs by more
    than :data:`AREA_IRIS_DIFFERENCE` from the area of interest's.
    """
    area, iris = summary.area or {}, summary.iris
    if "area_m2" not in iris.columns or not is_number(area.get("area_km2")):
        return ""
    km2 = float(pd.to_numeric(iris["area_m2"], errors="coerce").sum()) / 1e6
    if not km2 or abs(km2 - float(area["area_km2"])) <= AREA_IRIS_DIFFERENCE * km2:
        return ""
    return m(
        m.one_or_many("area_iris", len(iris)), n=m.integer(len(iris)), km2=m.significant(km2, 3)
    )


def _landcover_map(external: Mapping[str, Any], m: Messages) -> str:
    """Say the external land-cover map (``landcover.external``): product, file, mapping, credit.

    The product, its year and its credit where the shipped mapping names it (WorldCover,
    OSO, CORINE), else the file alone.
    """
    file_name = PurePath(str(external.get("path"))).name
    mapping = external.get("mapping")
    year = landcover_map_year(file_name, external.get("year"))
    source = landcover_map_source(mapping, file_name, year)
    text = m(
        "about_landcover_map",
        name=source.name if source.attribution else file_name,
        mapping=mapping if isinstance(mapping, str) else m("about_landcover_map_table"),
    )
    if source.attribution:
        text += " " + m("about_landcover_credit", attribution=source.attribution)
    return text


def _area_line(summary: RunSummary, m: Messages) -> tuple[str, ...]:
    """Say the area of interest under the title: description and extent (none if unknown)."""
    area = summary.area
    if area is None:
        return ()
    return (
        m(
            "meta_area",
            description=m.area(str(area["description"])),
            km2=m.significant(area.get("area_km2"), 3),
            iris=_area_iris(summary, m),
        ),
    )


def _area_details(area: Mapping[str, Any], m: Messages, iris: str = "") -> str:
    """Say the area of interest in full: description, extent and bounds (in degrees).

    ``iris``: the area its IRIS cover, when said (:func:`_area_iris`).
    """
    bounds = area.get("bounds_wgs84")
    if not (isinstance(bounds, list) and len(bounds) == 4):
        bounds = [None] * 4  # said as dashes
    west, south, east, north = bounds
    return m(
        "about_area",
        description=m.area(str(area["description"])),
        km2=m.significant(area.get("area_km2"), 3),
        iris=iris,
        west=m.number(west, 3),
        east=m.number(east, 3),
        south=m.number(south, 3),
        north=m.number(north, 3),
    )


def _about(summary: RunSummary, m: Messages) -> Section:
    items = list(_meta(summary, m))
    if summary.area is not None:
        items.append(_area_details(summary.area, m, _area_iris(summary, m)))
    items += _sources(summary, m)
    grid = summary.manifest.get("grid")
    if isinstance(grid, Mapping):
        items.append(
            m(
                "about_grid",
                crs=grid.get("crs", m("unknown")),
                resolution=m.number(grid.get("resolution"), 0),
                width=m.integer(grid.get("width")),
                height=m.integer(grid.get("height")),
            )
        )
    if is_number(summary.manifest.get("duration_s")):
        # Built in the run, the report says the time up to it: the run goes on after it
        # (its COGs, the manifest); built again (ilots report), the whole run's.
        until_report = summary.manifest.get("duration_until") == "report"
        items.append(
            m(
                "about_duration_report" if until_report else "about_duration",
                seconds=m.number(summary.manifest["duration_s"], 1),
            )
        )
    inputs = summary.manifest.get("inputs")
    if isinstance(inputs, list):
        items.append(m(m.by_count("about_inputs", len(inputs)), n=m.integer(len(inputs))))
    root = summary.folder.root
    # manifest.json is the summary's, even when ilots run gives it before writing it last.
    files = [
        name + (f" ({m('about_qgis')})" if name == "zones.gpkg" else "")
        for name in ("zones.gpkg", "inequality.json", "manifest.json", "figures/")
        if name == "manifest.json" or (root / name.rstrip("/")).exists()
    ]
    items.append(m("about_files", files=", ".join(files)))
    return Section("about", m("sec_about"), (ListBlock(tuple(items)),))
