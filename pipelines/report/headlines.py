"""The report's sentences: headline findings, SUHII, scenarios and method notes.

Each function reads the parsed run files (``inequality.json``, ``heat_island.json``,
``scenarios/``) and returns sentences in the language of its :class:`~.text.Messages`, or
``None`` when the numbers it needs are absent. Directions are worded from the sign ("plus
chauds" / "moins chauds") and the magnitude is written positive, its interval flipped with it.

One rule says whether a direction (the QPV gap, the D1 − D10 gap, the concentration index,
Pearson's r) is established, wherever the report states one (:func:`_unestablished`): its
interval excludes 0, its p-value (where it has one) is below α = 1 − confidence, and it rests
on at least :func:`min_direction_zones` IRIS. Otherwise the sentence says the value "in these
data" and why it is not established, and states no direction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.inequality.report import FEW_ZONES
from pipelines.inequality.spatial import ALPHA
from pipelines.report.messages import MESSAGES
from pipelines.report.text import BESIDE_CELSIUS_DIGITS, Messages, is_number, is_temperature
from pipelines.scenarios.compare import TIE_K, is_range

__all__ = [
    "Headline",
    "concentration_headline",
    "correlation_headline",
    "decile_headline",
    "few_iris_note",
    "hottest_headline",
    "method_notes",
    "min_direction_zones",
    "model_sentences",
    "model_word",
    "moran_note",
    "optimistic_intervals_note",
    "qpv_gap_headline",
    "qpv_gap_unestablished",
    "qpv_left_out_note",
    "scenario_best_sentence",
    "suhii_composites",
    "suhii_coverage_note",
    "suhii_sentences",
]

#: How many QPV left out of the gap a note names; the others are counted.
NAMED_QPV = 5

#: Gap from the poorest to the richest (rank 0 to 1) per unit of the generalised concentration
#: index, for an outcome linear in the fractional income rank: GC = 2·b·var(r) = b/6.
_RANK_SPAN = 6.0


@dataclass(frozen=True)
class Headline:
    """One headline finding.

    Attributes
    ----------
    key
        Stable name (the HTML element id is ``headline-<key>``).
    text
        The sentence.
    notes
        Qualifying sentences shown under it.
    """

    key: str
    text: str
    notes: tuple[str, ...] = ()


def _bound(value: Any) -> float | None:
    """Return an interval bound as a float, ±inf included; ``None`` when missing (NaN, text)."""
    if is_number(value) or (isinstance(value, float) and math.isinf(value)):
        return float(value)
    return None


def _includes_zero(low: Any, high: Any) -> bool:
    """Whether the interval holds 0; an infinite bound holds it on its side.

    A missing bound (``None``) is not read as unbounded here: it means no interval for the
    decile gap, the indices and r; the QPV gap's missing bounds are unbounded ones, made
    infinite by :func:`_gap_interval` first.
    """
    lo, hi = _bound(low), _bound(high)
    return lo is not None and hi is not None and lo <= 0 <= hi


def _gap_interval(metric: Mapping[str, Any]) -> tuple[Any, Any]:
    """Return the QPV gap's interval with −∞/+∞ on its unbounded sides.

    ``inequality.json`` writes an infinite bound as ``null`` and names the side in
    ``ci_unbounded``. A tested gap (one with a p-value) always has an interval, so a missing
    bound beside a p-value is an unbounded one too (run folders written before that key).
    """
    low, high = metric.get("ci_low"), metric.get("ci_high")
    side = metric.get("ci_unbounded")
    tested = is_number(metric.get("p_value"))
    if side in ("low", "both") or (tested and _bound(low) is None):
        low = -math.inf
    if side in ("high", "both") or (tested and _bound(high) is None):
        high = math.inf
    return low, high


def _with_gap_interval(metric: Mapping[str, Any]) -> dict[str, Any]:
    """Return the QPV gap's metric with its interval as :func:`_gap_interval` reads it."""
    low, high = _gap_interval(metric)
    return {**metric, "ci_low": low, "ci_high": high}


def _untested(metric: Mapping[str, Any]) -> bool:
    """Whether the QPV gap was not tested (``inequality.permutations: 0``: no p-value)."""
    return metric.get("relabelings") == 0 and not is_number(metric.get("p_value"))


def min_direction_zones(alpha: float) -> int:
    """Return the fewest IRIS a direction is stated from at level ``alpha``: 5 at 0.05.

    The smallest n for which an exact test over n zones can reject at all: relabelling n
    zones gives n! orderings, and the most extreme (the outcome perfectly in the order of
    income) has the two-sided p-value 2/n! (the one-sided 1/n!, doubled, as the QPV test's),
    which is below α only from n = 5 at α = 0.05 (2/24 ≈ 0.083 with 4 IRIS). With fewer, an
    interval that excludes 0 comes from its approximation (a bootstrap over 4 zones, with
    35 distinct resamples), not from the data. In simulation (an outcome independent of
    income, population weights, B = 999, 2,000 draws each), the generalised concentration
    index's 95 % bootstrap interval excluded 0 in 8.8 % of the draws with 4 IRIS, in 5.7 to
    7.1 % with 5 to 40.
    """
    n = 1
    while 2.0 / math.factorial(n) >= max(alpha, 1e-12):
        n += 1
    return n


def _unestablished(metric: Mapping[str, Any]) -> str | None:
    """Say why a direction is not established: ``"ci"``, ``"p"``, ``"few"``, ``"no_ci"``.

    ``None`` when it is. The report's one rule: a direction is established when the
    two-sided test rejects 0 at α = 1 − confidence, which the interval (the values that test
    does not reject) says by excluding 0 (``"ci"`` when it holds 0; an unbounded side holds
    it) and a p-value, where the metric has one, by being below α (``"p"``); and when the
    metric rests on at least :func:`min_direction_zones` IRIS (``"few"``: its ``n`` is
    under). ``"no_ci"``: no interval was computed (``inequality.bootstrap: 0``).
    """
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if _includes_zero(low, high):
        return "ci"
    p = metric.get("p_value")
    if is_number(p) and float(p) >= _alpha(metric) - 1e-12:  # 1/20 against 1 − 0.95
        return "p"
    n = metric.get("n")
    if is_number(n) and float(n) < min_direction_zones(_alpha(metric)):
        return "few"
    if _bound(low) is None or _bound(high) is None:
        return "no_ci"
    return None


def _reason(metric: Mapping[str, Any], reason: str, m: Messages) -> str:
    """Say why a direction is not established (``reason`` from :func:`_unestablished`)."""
    alpha = _alpha(metric)
    return m(
        f"unestablished_{reason}",
        alpha=_alpha_text(metric, m),
        n=m.integer(metric.get("n")),
        least=m.integer(min_direction_zones(alpha)),
    )


def _unestablished_note(metric: Mapping[str, Any], reason: str, m: Messages) -> str:
    """Say, as a note, that the gap is not established and why."""
    why = _reason(metric, reason, m)
    return m("unestablished_note", reason=why[:1].upper() + why[1:])


def _alpha(metric: Mapping[str, Any]) -> float:
    """Return α = 1 − confidence, the level of the test the interval inverts."""
    confidence = metric.get("confidence")
    return 1.0 - float(confidence) if is_number(confidence) else ALPHA


def _alpha_text(metric: Mapping[str, Any], m: Messages) -> str:
    """Write α with the decimals it needs (``0,05``, ``0,1``)."""
    alpha = _alpha(metric)
    digits = next((d for d in range(1, 6) if abs(round(alpha, d) - alpha) < 1e-9), 6)
    return m.number(alpha, digits)


def _metric(inequality: Mapping[str, Any] | None, *path: str) -> Mapping[str, Any] | None:
    node: Any = inequality
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, Mapping) and is_number(node.get("value")) else None


def _magnitude(metric: Mapping[str, Any]) -> tuple[float, Any, Any]:
    """``|value|`` and the interval of ``|value|``: flipped and negated for a negative value."""
    value = float(metric["value"])
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if value >= 0:
        return value, low, high

    def flip(bound: Any) -> float | None:
        value = _bound(bound)
        return -value if value is not None else None

    return -value, flip(high), flip(low)


#: Below this many QPV IRIS, the QPV gap's headline says it rests on very few zones (its
#: bootstrap resamples a handful of values, its permutations are few distinct splits).
FEW_QPV_IRIS = 10


def qpv_gap_headline(
    inequality: Mapping[str, Any] | None, m: Messages, left_out: pd.DataFrame | None = None
) -> Headline | None:
    """Word the QPV gap ("Les QPV sont en moyenne X K plus chauds …") from ``group_difference``.

    ``left_out``: the QPV the gap leaves out (:func:`~pipelines.census.overlay.qpv_without_iris`),
    named in a note (:func:`qpv_left_out_note`).
    """
    metric = _metric(inequality, "group_difference")
    if metric is None:
        return None
    metric = _with_gap_interval(metric)
    outcome = str(inequality.get("outcome", ""))  # type: ignore[union-attr]
    label = m.label(outcome)
    confidence = metric.get("confidence", 0.95)
    # Monte Carlo relabelings bound the p-value below (an exact test's is exact).
    relabelings = None if metric.get("exact") else metric.get("relabelings")
    # A stratified gap (the QPV IRIS against the others of their commune) as soon as the
    # IRIS span several strata, even when one of them holds every QPV IRIS.
    within = int(metric.get("n_strata") or 1) > 1 and int(metric.get("n_strata_compared") or 0) >= 1
    stratum = _stratum_word(inequality, m)
    common = {
        "n_in": m.integer(metric.get("n_in")),
        "others": m(
            m.by_count("other_iris", metric.get("n_out")), n=m.integer(metric.get("n_out"))
        ),
        "p": m.p_clause(metric.get("p_value"), relabelings, _alpha(metric)),
        "rest": m("qpv_rest_stratum", stratum=stratum) if within else m("qpv_rest_area"),
    }
    value = float(metric["value"])
    # inequality.permutations: 0: neither p-value nor interval, said in the interval's place
    untested = _untested(metric)
    untested_ci = m("qpv_gap_untested") if untested else None
    unclear = None if untested else _unestablished(metric)
    said = False  # whether the sentence itself says the gap is not established
    if not is_temperature(outcome):
        text = m(
            "qpv_gap_generic",
            label=label,
            value=m.number(value, 3, signed=True),
            ci=untested_ci or m.ci(metric.get("ci_low"), metric.get("ci_high"), confidence, 3),
            **common,
        )
    elif m.number(abs(value)) == m.number(0.0):
        text = m(
            "qpv_gap_same",
            value=m.number(value),
            ci=untested_ci or m.ci(metric.get("ci_low"), metric.get("ci_high"), confidence),
            **common,
        )
    else:
        size, low, high = _magnitude(metric)
        direction = m("qpv_hotter") if value > 0 else m("qpv_cooler")
        said = unclear is not None
        text = m(
            "qpv_gap_unclear" if unclear else "qpv_gap",
            value=m.number(size),
            direction=direction,
            ci=untested_ci or m.ci(low, high, confidence),
            reason=_reason(metric, unclear, m) if unclear else "",
            **common,
        )
    weighted = (inequality or {}).get("population") is not None
    basis = "qpv_gap_basis" if weighted else "qpv_gap_basis_unweighted"
    notes = [m(f"{basis}_untested" if untested else basis, label=label)]
    if within:
        pooled = metric.get("pooled_difference")
        notes.append(
            m(m.one_or_many("qpv_gap_within", metric.get("n_strata_compared")), stratum=stratum,
              n=m.integer(metric.get("n_strata_compared")),
              pooled=m.number(pooled, signed=True) if is_number(pooled) else "–")
        )  # fmt: skip
    if unclear and not said:
        notes.append(_unestablished_note(metric, unclear, m))
    n_in = metric.get("n_in")
    if is_number(n_in) and n_in < FEW_QPV_IRIS:
        notes.append(m(m.by_count("qpv_few_zones", n_in), n_in=m.integer(n_in)))
    if (note := qpv_left_out_note(left_out, m)) is not None:
        notes.append(note)
    return Headline("qpv_gap", text, tuple(notes))


def qpv_left_out_note(
    left_out: pd.DataFrame | None, m: Messages, *, gap: bool = True
) -> str | None:
    """Name the QPV the IRIS gap leaves out (up to :data:`NAMED_QPV`), or None if none.

    ``left_out``: columns ``code_qp``, ``nom_qp`` and ``iris_share_max``, as from
    :func:`~pipelines.census.overlay.qpv_without_iris`. Without a ``gap`` said before the
    note (no inequality file, or no QPV test in it), the note says they are left out of the
    QPV table's row of the IRIS in QPV.
    """
    if left_out is None or left_out.empty:
        return None
    items = [
        m(
            "qpv_left_out_item" if isinstance(row.nom_qp, str) and row.nom_qp else
            "qpv_left_out_item_unnamed",
            code=row.code_qp, name=row.nom_qp, share=m.share(row.iris_share_max),
        )
        for row in left_out.head(NAMED_QPV).itertuples()
    ]  # fmt: skip
    listed = ", ".join(items)
    if len(left_out) > NAMED_QPV:
        more = len(left_out) - NAMED_QPV
        listed += " " + m(m.by_count("qpv_left_out_more", more), n=m.integer(more))
    number = "one" if len(left_out) == 1 else "many"
    if gap:
        return m(f"qpv_left_out_{number}", qpv=listed)
    return m(
        f"qpv_left_out_table_{number}",
        qpv=listed,
        row=m("legend_in_qpv"),
        other=m("legend_other"),
    )


def _stratum_word(inequality: Mapping[str, Any] | None, m: Messages) -> str:
    """Name the QPV test's strata: "commune" for a commune code column, else the column."""
    from pipelines.census.fields import IRIS_COMMUNE

    column = str((inequality or {}).get("stratum") or "")
    communes = {name.lower() for name in IRIS_COMMUNE}
    return (
        m("stratum_commune") if column.lower() in communes else m("stratum_column", column=column)
    )


def decile_headline(inequality: Mapping[str, Any] | None, m: Messages) -> Headline | None:
    """Word the D1 − D10 exposure gap by its sign."""
    metric = _metric(inequality, "exposure_by_decile", "gap_d1_d10")
    if metric is None:
        return None
    outcome = str(inequality.get("outcome", ""))  # type: ignore[union-attr]
    by = inequality["exposure_by_decile"].get("by")  # type: ignore[index]
    confidence = metric.get("confidence", 0.95)
    value = float(metric["value"])
    unclear = _unestablished(metric)
    said = False  # whether the sentence itself says the gap is not established
    if is_temperature(outcome) and m.number(abs(value)) != m.number(0.0):
        size, low, high = _magnitude(metric)
        key = "decile_gap" if by == "population" else "decile_gap_zones"
        said = unclear is not None
        text = m(
            f"{key}_unclear" if unclear else key,
            value=m.number(size),
            direction=m("qpv_hotter") if value > 0 else m("qpv_cooler"),
            ci=m.ci(low, high, confidence),
            n=m.integer(metric.get("n")),
            reason=_reason(metric, unclear, m) if unclear else "",
        )
    else:
        text = m(
            "decile_gap_generic",
            label=m.label(outcome),
            value=m.number(value, 3, signed=True),
            ci=m.ci(metric.get("ci_low"), metric.get("ci_high"), confidence, 3),
            n=m.integer(metric.get("n")),
        )
    notes = [m("decile_basis")]
    if unclear and not said:
        notes.append(_unestablished_note(metric, unclear, m))
    return Headline("decile_gap", text, tuple(notes))


def concentration_headline(inequality: Mapping[str, Any] | None, m: Messages) -> Headline | None:
    """State the generalised concentration index (outcome units) and what its sign means."""
    metric = _metric(inequality, "generalized_concentration_index")
    if metric is None:
        return None
    outcome = str(inequality.get("outcome", ""))  # type: ignore[union-attr]
    value = float(metric["value"])
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if unclear := _unestablished(metric):
        reading = m("concentration_none", reason=_reason(metric, unclear, m))
    else:
        reading = m("concentration_poor") if value < 0 else m("concentration_rich")
    unit = " K" if is_temperature(outcome) else ""
    text = m(
        "concentration",
        label=m.label(outcome),
        value=m.number(value) + unit,
        ci=m.ci(low, high, metric.get("confidence", 0.95)),
        n=m.integer(metric.get("n")),
        reading=reading,
    )
    # Its scale: an outcome h = a + b·r linear in the fractional rank r (uniform on [0, 1])
    # has GC = 2·cov(h, r) = 2·b/12 = b/6, so the gap b from the poorest to the richest is 6·GC.
    note = m(
        "concentration_note",
        label=m.label(outcome),
        value=m.number(value) + unit,
        span=m.number(abs(_RANK_SPAN * value)) + unit,
    )
    return Headline("concentration", text, (note,))


def correlation_headline(inequality: Mapping[str, Any] | None, m: Messages) -> Headline | None:
    """Pearson's r of income and the outcome, with its Fisher-z interval."""
    metric = _metric(inequality, "correlations", "pearson")
    if metric is None:
        return None
    outcome = str(inequality.get("outcome", ""))  # type: ignore[union-attr]
    r = float(metric["value"])
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if unclear := _unestablished(metric):  # no interval: n <= 3, under the rule's least
        reading = m("correlation_none", reason=_reason(metric, unclear, m))
    else:
        label = m.label(outcome)
        reading = m(
            "correlation_lower" if r < 0 else "correlation_higher",
            label=label[:1].upper() + label[1:],
            r2=m.share(r * r),
        )
    text = m(
        "correlation",
        label=m.label(outcome),
        value=m.number(r),
        ci=m.ci(low, high, metric.get("confidence", 0.95)),
        n=m.integer(metric.get("n")),
        reading=reading,
    )
    return Headline("correlation", text)


def hottest_headline(
    hottest: pd.DataFrame | None,
    column: str,
    m: Messages,
    *,
    n_valid: int | None = None,
    n_zones: int | None = None,
) -> Headline | None:
    """Word the hottest IRIS ("plus chaud que X % des autres IRIS").

    ``n_valid`` of the ``n_zones`` IRIS have a value of ``column``: when some have none, the
    sentence says the percentage is of the ``n_valid − 1`` others with a value. None when
    no IRIS, or a single one, has a value: there is no other to compare it with.
    """
    if hottest is None or hottest.empty or (n_valid is not None and n_valid < 2):
        return None
    top = hottest.iloc[0]
    if not is_number(top["hotter_than_pct"]):
        return None
    some_missing = n_valid is not None and n_zones is not None and n_valid < n_zones
    others = (
        m(m.by_count("hottest_others_valued", n_valid - 1), n=m.integer(n_valid - 1))  # type: ignore[operator]
        if some_missing
        else m("hottest_others")
    )
    text = m(
        "hottest" if top["name"] else "hottest_unnamed",  # without IRIS names: the code alone
        name=top["name"],
        code=top["id"],
        pct=m.percent(top["hotter_than_pct"]),
        others=others,
        label=m.label(column),
        value=m.number(top["value"]),
    )
    return Headline("hottest", text)


def suhii_composites(heat_island: Mapping[str, Any]) -> list[tuple[str | None, Mapping[str, Any]]]:
    """List the composites of ``heat_island.json`` as ``(variable, record)``.

    ``composite`` (the headline SUHII) comes first, then ``composite_lst`` when the run also
    gives the SUHII of the median LST; ``variable`` is ``lst_anomaly``, ``lst_median`` or
    ``None`` when not recorded.
    """
    found = []
    for key, default in (("composite", None), ("composite_lst", "lst_median")):
        record = heat_island.get(key)
        if isinstance(record, Mapping):
            found.append((record.get("variable") or default, record))
    return found


#: Under this share of the rural reference's pixels clear on a scene, the SUHII headline
#: says its coverage is partial (a scene half clouded over the ring compares the city with
#: the clear half only).
LOW_CLEAR_SHARE = 0.5


def suhii_coverage_note(heat_island: Mapping[str, Any], m: Messages) -> str | None:
    """Say the scenes whose rural reference was under :data:`LOW_CLEAR_SHARE` clear, or None.

    From each scene's ``rural_clear_share`` (clear reference pixels over all of them) in
    ``heat_island.json``; the note names the lowest share and its date.
    """
    shares = [
        (float(s["rural_clear_share"]), str(s.get("time") or "")[:10])
        for s in heat_island.get("scenes") or ()
        if isinstance(s, Mapping) and is_number(s.get("rural_clear_share"))
    ]
    low = [share for share in shares if share[0] < LOW_CLEAR_SHARE]
    if not low:
        return None
    share, date = min(low)
    return m(
        m.one_or_many("suhii_low_clear", len(shares)),
        n=m.integer(len(low)),
        total=m.integer(len(shares)),
        threshold=m.share(LOW_CLEAR_SHARE),
        share=m.share(share),
        date=date or m("unknown"),
    )


def suhii_sentences(heat_island: Mapping[str, Any], m: Messages) -> list[str]:
    """Word the composite SUHII, the per-scene range, and the definition used."""
    sentences = []
    composites = suhii_composites(heat_island)
    variable, composite = composites[0] if composites else (None, {})
    scenes = [s for s in heat_island.get("scenes") or () if isinstance(s, Mapping)]
    if is_number(composite.get("suhii_k")):
        on_key = f"composite_{variable}"
        on = m(on_key) if on_key in MESSAGES else m("composite_default")
        if len(scenes) == 1:  # the "median composite" of one scene is that scene
            date = str(scenes[0].get("time") or "")[:10] or m("unknown")
            on = m("composite_one_scene", date=date)
        # Mean temperatures only from a composite of LST itself, never of the anomaly.
        absolute = [
            record
            for var, record in composites
            if var != "lst_anomaly"
            and is_number(record.get("urban_mean_k"))
            and is_number(record.get("rural_mean_k"))
        ]
        if absolute:  # beside the means in °C: one decimal (Messages.temperature)
            sentences.append(
                m(
                    "suhii_headline",
                    value=m.number(composite["suhii_k"], BESIDE_CELSIUS_DIGITS),
                    on=on,
                    urban=m.temperature(absolute[0]["urban_mean_k"]),
                    rural=m.temperature(absolute[0]["rural_mean_k"]),
                )
            )
        else:
            sentences.append(m("suhii_headline_short", value=m.number(composite["suhii_k"]), on=on))
    else:
        sentences.append(m("suhii_none"))
    valued = [s for s in scenes if is_number(s.get("suhii_k"))]
    values = [float(s["suhii_k"]) for s in valued]
    # The others had too few clear urban or rural pixels (heat_island.min_reference_*).
    if len(values) == 1 and len(scenes) > 1:
        date = str(valued[0].get("time") or "")[:10] or m("unknown")
        sentences.append(
            m("suhii_one_valued", value=m.number(values[0]), total=len(scenes), date=date)
        )
    elif len(values) == 1 and not is_number(composite.get("suhii_k")):
        # (with the composite's, the sentence above said it of the only scene already)
        sentences.append(m("suhii_one_scene", value=m.number(values[0])))
    elif len(values) > 1:
        sentences.append(
            m(
                "suhii_scenes",
                low=m.number(min(values)),
                high=m.number(max(values)),
                n=m.integer(len(values)),
                mean=m.number(sum(values) / len(values)),
            )
        )
    definition = heat_island.get("definition") or {}
    urban = definition.get("urban_definition") or definition.get("urban")
    rural = definition.get("reference_definition")
    if rural is None and is_number(definition.get("ring_inner_km")):
        rural = f"{definition['ring_inner_km']}–{definition.get('ring_outer_km')} km"
    sentences.append(
        m(
            "suhii_definition",
            formula=m("suhii_formula"),
            urban=m.definition(urban) if urban else m("unknown"),
            rural=m.definition(rural) if rural else m("unknown"),
        )
    )
    return sentences


def model_word(name: Any, m: Messages) -> str:
    """Say one of model.json's identifiers (estimator, target, predictor) in words.

    An identifier without words of its own is kept as it is.
    """
    if not name:
        return m("unknown")
    key = f"model_{name}"
    return m(key) if key in MESSAGES else str(name)


def model_sentences(model: Mapping[str, Any], m: Messages) -> list[str]:
    """Describe the scenario model and its blocked cross-validated skill; warn when forced."""
    cv = model.get("cv") or {}
    predictors = model.get("predictors") or ()
    threshold = model.get("threshold")
    sentences = [
        m(
            "model_skill",
            estimator=model_word(model.get("estimator"), m),
            target=model_word(model.get("target"), m),
            predictors=", ".join(model_word(p, m) for p in predictors) or m("unknown"),
            r2=m.number(cv.get("r2")),
            rmse=m.number(cv.get("rmse_k")),
            folds=m.integer(cv.get("folds")),
            block=m.integer(cv.get("block_m")),
            pixels=m.integer(cv.get("n_pixels")),
            threshold=m.number(threshold) if is_number(threshold) else str(threshold),
        )
    ]
    below = not is_number(cv.get("r2")) or (
        is_number(threshold) and float(cv["r2"]) < float(threshold)
    )
    if model.get("forced") and below:
        sentences.append(m("model_forced"))
    elif below:
        sentences.append(m("model_refused"))
    sentences.append(m("scenario_effect"))
    return sentences


def scenario_best_sentence(
    comparison: pd.DataFrame,
    m: Messages,
    fits: int | None = None,
    *,
    gap_unestablished: bool = False,
) -> str | None:
    """Name the scenario that narrows the QPV gap the most (|after| − |before| lowest).

    With ``fits`` (the model's fits, ``scenario_model.replicates``) above one and the
    comparison's ``qpv_gap_best_fits``, the scenario best in the most fits is named, and in
    how many (each scenario's values come from its own median fit, so comparing them across
    scenarios compares different fits); scenarios best in as many fits are named together,
    each with its gap after. With one fit, scenarios whose gaps after are within
    :data:`~pipelines.scenarios.compare.TIE_K` of the lowest are named together, as
    ``comparison.csv`` credits each of them. The gap after is given with its range over the
    fits (``qpv_gap_after_k_min``, ``_max``), when the comparison has one: the median fit's
    value can sit at an end of it. ``gap_unestablished``: the run's starting gap is not
    established, which the sentence then says (of the scenario, or of the scenarios tied).
    """
    needed = {"scenario", "qpv_gap_before_k", "qpv_gap_after_k"}
    if not needed <= set(comparison.columns):
        return None
    before = pd.to_numeric(comparison["qpv_gap_before_k"], errors="coerce")
    after = pd.to_numeric(comparison["qpv_gap_after_k"], errors="coerce")
    change = (after.abs() - before.abs()).dropna()
    if change.empty or change.min() >= 0:
        return None
    wins = None
    if fits is not None and fits > 1 and "qpv_gap_best_fits" in comparison:
        wins = pd.to_numeric(comparison["qpv_gap_best_fits"], errors="coerce")
        wins = wins if wins.notna().any() else None
    if wins is not None:
        leaders = [i for i in wins.index[wins == wins.max()] if i in change.index]
    else:
        leaders = list(change.index[change - change.min() <= TIE_K])
    if not leaders:
        leaders = [change.idxmin()]
    gaps = _ScenarioGaps(comparison, before, after, wins, fits)
    if len(leaders) > 1:
        sentence = _tie_sentence(gaps, leaders, m)
    else:
        sentence = _best_sentence(gaps, leaders[0], m)
    if gap_unestablished:
        tied = "scenario_gap_unestablished_tie" if len(leaders) > 1 else ""
        sentence += " " + m(tied or "scenario_gap_unestablished")
    return sentence


@dataclass(frozen=True)
class _ScenarioGaps:
    """The scenarios' QPV gaps that :func:`scenario_best_sentence` compares, by row."""

    comparison: pd.DataFrame  # comparison.csv: a row per scenario
    before: pd.Series  # the run's gap (qpv_gap_before_k)
    after: pd.Series  # each scenario's gap after (its median fit's)
    wins: pd.Series | None  # in how many fits each scenario is best (None: one fit)
    fits: int | None  # the model's fits

    def name(self, row: Any) -> str:
        """Return the scenario's name of ``row``."""
        return str(self.comparison.loc[row, "scenario"])

    def spread(self, row: Any, m: Messages) -> str:
        """Return the range of the scenario's gap after over the fits (:func:`_gap_spread`)."""
        return _gap_spread(self.comparison.loc[row], m)


def _best_sentence(gaps: _ScenarioGaps, best: Any, m: Messages) -> str:
    """Say that one scenario narrows the gap the most, and in how many fits."""
    sentence = m(
        "scenario_best",
        name=gaps.name(best),
        before=m.number(gaps.before[best]),
        after=m.number(gaps.after[best]),
        spread=gaps.spread(best, m),
    )
    wins = gaps.wins
    if wins is not None and is_number(wins[best]):
        key = "scenario_best_fits_all" if wins[best] == gaps.fits else "scenario_best_fits"
        sentence += " " + m(key, k=m.integer(wins[best]), n=m.integer(gaps.fits))
    return sentence


def _tie_sentence(gaps: _ScenarioGaps, leaders: list[Any], m: Messages) -> str:
    """Say that scenarios tie for narrowing the gap the most, with each one's gap after.

    One fit: their gaps after are the same (up to :data:`~.compare.TIE_K`), said once.
    Several: each is best in as many fits; each one's gap after (and range) is given.
    """
    names = _listed([m("quoted_name", name=gaps.name(i)) for i in leaders], m)
    first = leaders[0]
    before = m.number(gaps.before[first])
    if gaps.wins is None:
        after = m.number(gaps.after[first])
        return m("scenario_best_tie_alike", names=names, before=before, after=after)
    afters = [
        m("scenario_tie_after", after=m.number(gaps.after[i]), spread=gaps.spread(i, m))
        for i in leaders
    ]
    return m(
        "scenario_best_tie",
        names=names,
        k=m.integer(gaps.wins.max()),
        n=m.integer(gaps.fits),
        before=before,
        afters=_listed(afters, m),
    )


def _listed(items: list[str], m: Messages) -> str:
    """Join two or more ``items`` as a sentence lists them: ``a, b and c`` (``et`` in French)."""
    return f"{', '.join(items[:-1])} {m('and')} {items[-1]}"


def _gap_spread(row: pd.Series, m: Messages) -> str:
    """Return `` (low to high K over the model's fits)`` of a scenario's gap after, or ""."""
    low, high = row.get("qpv_gap_after_k_min"), row.get("qpv_gap_after_k_max")
    if not (is_number(low) and is_number(high) and is_range(float(low), float(high))):
        return ""
    return m("scenario_best_spread", low=m.number(low), high=m.number(high))


def qpv_gap_unestablished(inequality: Mapping[str, Any] | None) -> bool:
    """Whether the run's QPV gap was tested and not established (its headline's caveat)."""
    metric = _metric(inequality, "group_difference")
    if metric is None or _untested(metric):
        return False  # no gap, or not tested: nothing to say of it
    return _unestablished(_with_gap_interval(metric)) is not None


def moran_note(inequality: Mapping[str, Any] | None, m: Messages) -> str:
    """Say what the intervals' independence assumption is worth, from Moran's I when given.

    Neighbouring IRIS are said to be alike only when Moran's I is positive and significant
    (p < :data:`~pipelines.inequality.spatial.ALPHA`, as the run's own caveats); a p-value at the
    smallest the permutations allow reads ``p ≤ 0,001``.
    """
    moran = _metric(inequality, "morans_i")
    p, permutations = _moran_p(moran)
    if moran is None or p is None:
        return m("method_ci")
    key = "method_ci_moran" if _neighbours_alike(moran) else "method_ci_moran_unclear"
    return m(key, value=m.number(moran["value"], 3), p=m.p_clause(p, permutations))


def optimistic_intervals_note(inequality: Mapping[str, Any] | None, m: Messages) -> str | None:
    """Return :func:`moran_note`'s caveat when neighbouring IRIS are alike, else ``None``.

    Shown beside the headlines, whose intervals it qualifies, and not only in the method
    notes at the end of the report.
    """
    moran = _metric(inequality, "morans_i")
    return moran_note(inequality, m) if moran is not None and _neighbours_alike(moran) else None


def _moran_p(moran: Mapping[str, Any] | None) -> tuple[float | None, Any]:
    """Return Moran's I p-value and its permutations (the normal approximation's without)."""
    if moran is None:
        return None, None
    permutations, p = moran.get("permutations"), moran.get("p_value")
    if not is_number(p):
        # No permutation run (inequality.moran_permutations: 0): the normal approximation's.
        p, permutations = moran.get("p_norm"), None
    return (float(p), permutations) if is_number(p) else (None, None)


def _neighbours_alike(moran: Mapping[str, Any]) -> bool:
    """Moran's I positive and significant; a significant negative one is not "alike"."""
    p, _ = _moran_p(moran)
    value = moran.get("value")
    return p is not None and p < ALPHA and is_number(value) and float(value) > 0


def few_iris_note(inequality: Mapping[str, Any] | None, m: Messages) -> str | None:
    """Say that bootstrap intervals are somewhat narrow below about 100 IRIS, else ``None``.

    Read from ``inequality.json``: the IRIS used (``n_used``, under
    :data:`~pipelines.inequality.report.FEW_ZONES`) and the generalised index's interval
    method (a bootstrap: the simulation behind the note is of bootstrap intervals). Under
    :func:`min_direction_zones`, the note says instead that the report states no direction.
    """
    n_used = (inequality or {}).get("n_used")
    index = _metric(inequality, "generalized_concentration_index")
    alpha = _alpha(index or {})
    if is_number(n_used) and float(n_used) < min_direction_zones(alpha):
        return m(
            "method_ci_very_few_iris",
            n=m.integer(n_used),
            least=m.integer(min_direction_zones(alpha)),
            alpha=_alpha_text(index or {}, m),
        )
    if not (is_number(n_used) and float(n_used) < FEW_ZONES and index is not None):
        return None
    if not str(index.get("ci_method") or "").startswith("bootstrap"):
        return None
    return m("method_ci_few_iris", n=m.integer(n_used))


def method_notes(
    inequality: Mapping[str, Any] | None,
    m: Messages,
    *,
    synthetic: bool,
    bare_soil_as_built: bool = False,
    one_date: bool = False,
) -> list[str]:
    """List the caveats every reader must see; quote Moran's I when the run computed it.

    ``bare_soil_as_built``: the land cover came from NDVI alone, bare soil counted as built
    (:attr:`~pipelines.report.data.RunSummary.bare_soil_as_built`). ``one_date``: the LST
    comes from a single scene, whose weather no median over dates cancels.
    """
    anomaly = m("method_anomaly_one_date" if one_date else "method_anomaly")
    notes = [m("method_lst"), m("method_units"), anomaly, m("method_zonal")]
    if bare_soil_as_built:
        notes.append(m("method_landcover_ndvi_only"))
    notes.append(moran_note(inequality, m))
    few = few_iris_note(inequality, m)
    if few:
        notes.append(few)
    notes += [m("method_causal"), m("method_income")]
    if synthetic:
        notes.append(m("method_synthetic"))
    return notes
