"""Census inputs: IRIS and QPV layers, Filosofi income, population, joins, IRIS x QPV.

Every reader returns a normalised (Geo)DataFrame and the list of its warnings (also emitted
as :class:`~tiles.errors.IlotsWarning`), and raises one-line :class:`~tiles.errors.IlotsError`
subclasses on unusable input.

Public API
----------
``read_iris(source, *, layer=None, bbox=None, fids=None) -> (GeoDataFrame, warnings)``
    (:mod:`.iris`) IGN Contours IRIS, any millésime and format: ``code_iris`` (9 characters),
    ``nom_iris``, ``insee_com``, ``typ_iris``, ``nom_com``, other columns, ``geometry``.
``read_qpv(source, *, layer=None, bbox=None) -> (GeoDataFrame, warnings)``
    (:mod:`.qpv`) ANCT QPV, 2015 or 2024 geography: ``code_qp``, ``nom_qp``, ``insee_com``,
    ``nom_com``, ``generation``, other columns, ``geometry`` (invalid polygons repaired).
``read_filosofi(source, *, level="iris", sheet=None, communes=None)``
    ``-> (DataFrame, FilosofiMeta, warnings)``
    (:mod:`.filosofi`) INSEE Filosofi CSV, XLSX or XLS: year suffix removed (``disp_med``), year
    in the metadata, secret markers as NaN and counted; ``communes`` keeps their IRIS (the
    rows left out counted in the metadata); ``ZZZZZZZZZ`` rows dropped and counted.
``read_population(source, *, column=None, sheet=None, communes=None)``
    ``-> (DataFrame, PopulationMeta, warnings)``
    (:mod:`.population`) ``code_iris`` and ``population`` from an INSEE census table or an
    IRIS layer's ``P18_POP``-style column.
``join_tables(left, right, on="code_iris", how="left", *, outside_communes=())``
    ``-> (DataFrame, JoinReport)``
    (:mod:`.joins`) A one-to-one join that reports every unmatched code; unmatched IRIS
    point at the IRIS millésime, naming the communes a reader left out (``outside_communes``).
``iris_qpv_overlay(iris, qpv, *, threshold=0.5, crs=None) -> DataFrame``
    (:mod:`.overlay`) Per IRIS: ``qpv_share``, ``in_qpv``, ``code_qp_main``; areas in an
    equal-area CRS centred on the IRIS unless ``crs`` is given.
``open_layer(source, *, layer, what, bbox=None, fids=None) -> GeoDataFrame``
    (:mod:`._layers`) A vector layer with its CRS checked, read near an area (``bbox``) or
    for some features (``fids``) only.
``check_layer(path, layer, *, spatial=False) -> list[str]``
    (:mod:`._layers`) The names of a vector file's layers; a name it does not have is
    refused with the list.
"""

from pipelines.census._layers import check_layer, open_layer
from pipelines.census.filosofi import FILOSOFI_ALIASES, FilosofiMeta, read_filosofi
from pipelines.census.iris import read_iris
from pipelines.census.joins import JoinReport, join_tables
from pipelines.census.overlay import iris_qpv_overlay
from pipelines.census.population import PopulationMeta, read_population
from pipelines.census.qpv import read_qpv

__all__ = [
    "FILOSOFI_ALIASES",
    "FilosofiMeta",
    "JoinReport",
    "PopulationMeta",
    "check_layer",
    "iris_qpv_overlay",
    "join_tables",
    "open_layer",
    "read_filosofi",
    "read_iris",
    "read_population",
    "read_qpv",
]
