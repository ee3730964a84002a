"""Inequality: who lives where it is hottest and least green, and how sure we are.

Concentration indices over income (standard, generalized, Erreygers), exposure by income
decile, group (QPV) differences with stratified permutation tests, percentile ranks,
correlations with Fisher-z intervals, spatial weights, Moran's I and Gi*, and
:func:`run_inequality`, which runs them all on a zone table (science.md §7).
"""

from pipelines.inequality.concentration import concentration_index, gini
from pipelines.inequality.correlation import correlation
from pipelines.inequality.deciles import exposure_by_decile
from pipelines.inequality.groups import group_difference
from pipelines.inequality.percentiles import percentile_ranks
from pipelines.inequality.ranks import fractional_ranks
from pipelines.inequality.report import InequalityReport, run_inequality, zone_roles
from pipelines.inequality.results import (
    ConcentrationResult,
    CorrelationResult,
    DecileExposure,
    DecileRow,
    GroupDifferenceResult,
    MetricResult,
    MoranResult,
)
from pipelines.inequality.spatial import getis_ord_gi_star, morans_i, residual_morans_i
from pipelines.inequality.weights import SpatialWeights, contiguity_weights, knn_weights

__all__ = [
    "ConcentrationResult",
    "CorrelationResult",
    "DecileExposure",
    "DecileRow",
    "GroupDifferenceResult",
    "InequalityReport",
    "MetricResult",
    "MoranResult",
    "SpatialWeights",
    "concentration_index",
    "contiguity_weights",
    "correlation",
    "exposure_by_decile",
    "fractional_ranks",
    "getis_ord_gi_star",
    "gini",
    "group_difference",
    "knn_weights",
    "morans_i",
    "percentile_ranks",
    "residual_morans_i",
    "run_inequality",
    "zone_roles",
]
