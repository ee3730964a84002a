"""The summary lines ``ilots compare`` prints."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.compare.runs import Run
from pipelines.compare.tables import OUTCOME, TestedGap, alike, signed
from pipelines.inequality import GroupDifferenceResult
from pipelines.report.sections import period_text
from pipelines.report.text import Messages
from pipelines.zone_columns import ANOMALY_VALID_FRAC

__all__ = ["summarise"]


def summarise(iris: pd.DataFrame, a: Run, b: Run, tested: TestedGap | None) -> list[str]:
    """Return the summary lines of the IRIS change table (see the module)."""
    lines = [
        f"periods: A {_periods(a)}; B {_periods(b)}",
        f"compared {len(iris)} IRIS ({int(iris['unreliable'].sum())} unreliable)",
        *_no_anomaly_share(a, b),
    ]
    if "in_qpv" not in iris.columns:
        return [*lines, "no in_qpv column in run B's IRIS: no QPV summary"]
    in_qpv = iris["in_qpv"].fillna(False).to_numpy(dtype=bool)
    for measure, unit in ((OUTCOME, " K"), ("ndvi_mean", "")):
        change = f"{measure}_change"
        if change not in iris.columns:
            continue
        known = iris[change].notna().to_numpy()
        inside = iris.loc[in_qpv, change].mean()
        outside = iris.loc[~in_qpv, change].mean()
        lines.append(
            f"mean change of {measure} (IRIS means, unweighted, over the {int(known.sum())} "
            f"IRIS with a value in both runs, {int((known & in_qpv).sum())} in QPV): "
            f"{signed(inside)}{unit} in QPV IRIS, {signed(outside)}{unit} outside"
        )
    return [*lines, *_gap_lines(iris, a, b, tested)]


def _no_anomaly_share(a: Run, b: Run) -> list[str]:
    """Say which run's IRIS have a ΔT but no ``anomaly_valid_frac`` (an earlier ilots')."""
    older = [
        side
        for side, run in (("A", a), ("B", b))
        if OUTCOME in run.layers["iris"].columns
        and ANOMALY_VALID_FRAC not in run.layers["iris"].columns
    ]
    return [
        f"no {ANOMALY_VALID_FRAC} in run {side}'s zones (made before ilots wrote it): "
        f"{ANOMALY_VALID_FRAC}_{side.lower()} is empty, and the unreliable flag does not "
        f"check run {side}'s ΔT share; rerun it with this ilots to have it"
        for side in older
    ]


def _gap_lines(iris: pd.DataFrame, a: Run, b: Run, tested: TestedGap | None) -> list[str]:
    """Say the QPV gap of ΔT in A and B and the test of its change (see :func:`gap_change`).

    With a test, both gaps are over the IRIS tested (so that their difference is the change
    tested), and each run's own gap (its ``inequality.json``) is said too where it is not
    that one (over another set of IRIS); without, each run's own gap.
    """
    shared = alike(iris)
    if tested is None:
        own = _own_gaps(a, b)
        if shared is not None:
            return [*own, f"change of the QPV gap of ΔT: +0.000 K (every IRIS changed by {shared})"]
        untested = "not tested (no ΔT in a run, or no QPV gap in B)"
        return [*own, f"change of the QPV gap of ΔT: {untested}"]
    difference = tested.report.group_difference
    weighting = "population-weighted" if tested.report.population else "IRIS means"
    strata = f"within {difference.n_strata} strata" if difference.n_strata > 1 else "unstratified"
    lines = [
        f"QPV gap of ΔT ({weighting}, {strata}) over the {difference.n} IRIS tested "
        f"({difference.n_in} in QPV): {signed(tested.gap_a.value)} K in A, "
        f"{signed(tested.gap_b.value)} K in B"
    ]
    low, high = (signed(bound) for bound in (difference.ci_low, difference.ci_high))
    relabelings = None if difference.exact else difference.relabelings
    lines.append(
        f"change of the QPV gap of ΔT: {signed(difference.value)} K, "
        f"{difference.confidence:.0%} interval [{low}, {high}] K, "
        f"{Messages('en').p_clause(difference.p_value, relabelings)} (permutation test of the "
        "per-IRIS change over the same IRIS)"
    )
    published = [
        f"{signed(saved['value'])} K in {name} ({saved['n']} IRIS, {saved['n_in']} in QPV)"
        for name, run, gap in (("A", a, tested.gap_a), ("B", b, tested.gap_b))
        if (saved := _saved_gap(run)) is not None and not _same_gap(saved, gap)
    ]
    if published:
        lines.append(
            f"each run's own QPV gap of ΔT (its inequality.json), over another set of IRIS: "
            f"{', '.join(published)}"
        )
    return lines


def _own_gaps(a: Run, b: Run) -> list[str]:
    """Say each run's own QPV gap of ΔT (its ``inequality.json``), when both have one."""
    saved = [_saved_gap(run) for run in (a, b)]
    if any(gap is None for gap in saved):
        return []
    said = [
        f"{signed(gap['value'])} K in {name} ({gap['n']} IRIS)"
        for name, gap in zip("AB", saved, strict=True)
    ]
    return [f"QPV gap of ΔT (each run's inequality.json, over its own IRIS): {', '.join(said)}"]


def _same_gap(saved: dict[str, Any], gap: GroupDifferenceResult) -> bool:
    """Whether a run's own gap is the one over the IRIS tested (same IRIS counts and value)."""
    same_counts = (saved["n"], saved["n_in"]) == (gap.n, gap.n_in)
    return same_counts and abs(saved["value"] - gap.value) < 5e-4


def _saved_gap(run: Run) -> dict[str, Any] | None:
    """Return the QPV gap of ΔT a run's ``inequality.json`` records (value, n, n_in), or None."""
    saved = run.inequality
    difference = saved.get("group_difference")
    if saved.get("outcome") != OUTCOME or not isinstance(difference, dict):
        return None
    gap = {key: difference.get(key) for key in ("value", "n", "n_in")}
    if not all(isinstance(value, (int, float)) for value in gap.values()):
        return None
    return gap


def _periods(run: Run) -> str:
    """Say a run's acquisition periods ("June–August 2023"), as its report does in English."""
    return period_text(run.config.get("periods"), Messages("en")) or "not recorded"
