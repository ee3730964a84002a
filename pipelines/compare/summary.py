"""The summary lines ``ilots compare`` prints."""

from __future__ import annotations

import pandas as pd

from pipelines.compare.runs import Run
from pipelines.compare.tables import OUTCOME, alike, signed
from pipelines.inequality import InequalityReport
from pipelines.report.sections import period_text
from pipelines.report.text import Messages

__all__ = ["summarise"]


def summarise(iris: pd.DataFrame, a: Run, b: Run, tested: InequalityReport | None) -> list[str]:
    """Return the summary lines of the IRIS change table (see the module)."""
    lines = [
        f"periods: A {_periods(a)}; B {_periods(b)}",
        f"compared {len(iris)} IRIS ({int(iris['unreliable'].sum())} unreliable)",
    ]
    if "in_qpv" not in iris.columns:
        return [*lines, "no in_qpv column in run B's IRIS: no QPV summary"]
    in_qpv = iris["in_qpv"].fillna(False).to_numpy(dtype=bool)
    for measure, unit in ((OUTCOME, " K"), ("ndvi_mean", "")):
        change = f"{measure}_change"
        if change not in iris.columns:
            continue
        inside = iris.loc[in_qpv, change].mean()
        outside = iris.loc[~in_qpv, change].mean()
        lines.append(
            f"mean change of {measure} (IRIS means, unweighted): {signed(inside)}{unit} in "
            f"QPV IRIS, {signed(outside)}{unit} outside"
        )
    return [*lines, *_gap_lines(iris, a, b, tested)]


def _gap_lines(iris: pd.DataFrame, a: Run, b: Run, tested: InequalityReport | None) -> list[str]:
    """Say each run's QPV gap of ΔT and the test of its change (see :func:`gap_change`)."""
    gaps = [_saved_gap(run) for run in (a, b)]
    lines = []
    if not any(gap is None for gap in gaps):
        lines.append(
            f"QPV gap of ΔT (each run's inequality.json): {signed(gaps[0])} K in A, "
            f"{signed(gaps[1])} K in B"
        )
    difference = tested.group_difference if tested is not None else None
    shared = alike(iris)
    if shared is not None:
        return [*lines, f"change of the QPV gap of ΔT: +0.000 K (every IRIS changed by {shared})"]
    if difference is None:
        untested = "not tested (no ΔT in a run, or no QPV gap in B)"
        return [*lines, f"change of the QPV gap of ΔT: {untested}"]
    low, high = (signed(bound) for bound in (difference.ci_low, difference.ci_high))
    strata = f"within {difference.n_strata} strata" if difference.n_strata > 1 else "unstratified"
    return [
        *lines,
        f"change of the QPV gap of ΔT: {signed(difference.value)} K, "
        f"{difference.confidence:.0%} interval [{low}, {high}] K, p = {difference.p_value:.3f} "
        f"(permutation test of the per-IRIS change, {strata}, {difference.n} IRIS)",
    ]


def _saved_gap(run: Run) -> float | None:
    """Return the QPV gap of ΔT a run's ``inequality.json`` records, or None."""
    saved = run.inequality
    difference = saved.get("group_difference")
    if saved.get("outcome") != OUTCOME or not isinstance(difference, dict):
        return None
    value = difference.get("value")
    return float(value) if isinstance(value, (int, float)) else None


def _periods(run: Run) -> str:
    """Say a run's acquisition periods ("June–August 2023"), as its report does in English."""
    return period_text(run.config.get("periods"), Messages("en")) or "not recorded"
