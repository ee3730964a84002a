"""Statistic names (exactextract's, plus ``pNN`` and ``valid_frac``/``area_m2``) and their specs.

Semantics follow exactextract (science.md §6.1): with value ``x_i``, covered fraction ``c_i``
and weight ``w_i`` of each pixel of a zone, ``mean = Σx·c / Σc``, ``sum = Σx·c``,
``count = Σc``, ``variance``/``stdev`` the population versions weighted by ``c``,
``min``/``max`` over pixels with ``c > 0`` (coverage ignored), quantiles weighted by ``c``
(exactextract's definition: equal values merged into one sample with their summed coverage,
then its weighted type-7 interpolation; see :func:`raster.zonal.kernels.weighted_quantiles`),
``weighted_mean = Σx·c·w / Σc·w``,
``weighted_sum = Σx·c·w``, ``frac`` the share of each class value in ``Σc``. ilots adds
``valid_frac`` (covered area with a value / covered area) and ``area_m2`` (covered area).
NaN is no data everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["STATISTICS", "Statistic", "parse_statistics"]

#: Statistics that need only the coverage and the per-zone moments.
_MOMENTS = ("count", "sum", "mean", "stdev", "variance", "min", "max")
_WEIGHTED = ("weighted_mean", "weighted_sum")
_OTHER = ("frac", "valid_frac", "area_m2", "median")
#: Names accepted besides ``pNN`` and ``quantile(q=...)``.
STATISTICS: tuple[str, ...] = _MOMENTS + _WEIGHTED + _OTHER
_ALIASES = {"std": "stdev", "stddev": "stdev", "var": "variance", "avg": "mean"}
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_QUANTILE = re.compile(r"^quantile\(\s*q\s*=\s*([0-9.eE+-]+)\s*\)$")


@dataclass(frozen=True)
class Statistic:
    """One requested statistic.

    Attributes
    ----------
    kind
        ``"moments"``, ``"weighted"``, ``"quantile"``, ``"frac"`` or ``"coverage"``.
    name
        Canonical name (``mean``, ``stdev``, ``quantile`` ...).
    column
        Output column name (``mean``, ``p90``, ``median``; ``frac`` expands per class).
    q
        Quantile in [0, 1] for quantiles.
    """

    kind: str
    name: str
    column: str
    q: float | None = None

    def __post_init__(self) -> None:
        if self.q is not None and not 0.0 <= self.q <= 1.0:
            raise ValueError(f"quantile q must lie in [0, 1], got {self.q}")


def _one(text: str) -> Statistic:
    raw = text.strip().lower()
    name = _ALIASES.get(raw, raw)
    if name in _MOMENTS:
        return Statistic("moments", name, name)
    if name in _WEIGHTED:
        return Statistic("weighted", name, name)
    if name in ("valid_frac", "area_m2"):
        return Statistic("coverage", name, name)
    if name == "frac":
        return Statistic("frac", name, name)
    if name == "median":
        return Statistic("quantile", "quantile", "median", 0.5)
    if match := _PERCENTILE.match(name):
        pct = float(match.group(1))
        if pct > 100:
            raise ValueError(f"percentile {text!r} is above 100")
        return Statistic("quantile", "quantile", f"p{pct:g}", pct / 100.0)
    if match := _QUANTILE.match(name):
        q = float(match.group(1))
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"{text!r}: q must lie in [0, 1]")
        return Statistic("quantile", "quantile", f"p{q * 100:g}", q)
    raise ValueError(
        f"unknown statistic {text!r}; use {', '.join(STATISTICS)}, std, pNN (e.g. p90) or "
        "quantile(q=0.9)"
    )


def parse_statistics(stats: str | Iterable[str]) -> tuple[Statistic, ...]:
    """Parse statistic names (a comma-separated string or a list), duplicates removed.

    Raises
    ------
    ValueError
        For an unknown name or an out-of-range quantile; the message lists what is accepted.
    """
    items = stats.split(",") if isinstance(stats, str) else list(stats)
    parsed: dict[str, Statistic] = {}
    for item in items:
        if str(item).strip():
            stat = _one(str(item))
            parsed.setdefault(stat.column, stat)
    if not parsed:
        raise ValueError("no statistic requested; ask for at least one, e.g. mean,count")
    return tuple(parsed.values())
