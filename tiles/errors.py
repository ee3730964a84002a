"""The exceptions of ilots.

Every error ilots raises on bad input derives from :class:`IlotsError`, so a caller (and the
CLI) can catch them all in one place. The root lives in :mod:`tiles`, the lowest package, so
that ``raster``, ``tiles`` and ``pipelines`` share it without breaking the dependency direction
(``pipelines -> raster -> tiles``). Messages are one line: what is wrong, then how to fix it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

__all__ = [
    "BandMissingError",
    "CRSError",
    "CensusError",
    "ConfigError",
    "GridError",
    "IlotsError",
    "IlotsWarning",
    "InequalityError",
    "MetadataError",
    "OutputError",
    "OutputExistsError",
    "ProductError",
    "ProductNotFoundError",
    "ReadError",
    "UnrecognisedProductError",
    "UnsupportedProductError",
    "WarningCode",
    "WarningText",
    "ZonesError",
    "collect_warning",
    "collected_warnings",
    "warning_text",
    "withdraw_warning",
    "withheld_warnings",
]

#: The kinds of :class:`IlotsWarning` a run's report names in its own words (the manifest's
#: ``warning_codes``): invalid zone geometries repaired, census values withheld as secret,
#: codes without a match in a join, scenes without enough clear pixels in the urban footprint
#: or the rural reference, no IRIS with a composite LST, many IRIS (not all) without one,
#: inputs skipped, deprecated config keys (said when the config is read), tile checkpoints
#: damaged (removed; their tiles computed anew) or of another run (discarded), Landsat
#: products covering only part of the area of interest, IRIS cut by the area's edge (a box,
#: a polygon file), band files with a damaged block whose pixels there a run left out
#: (``inputs.on_damaged: skip``), what a user saved in the run's ``zones.gpkg`` that the run,
#: which replaces it whole, cannot carry into the new file (a view, a raster tile table, a
#: style of a layer gone), QPV that no IRIS counted in QPV covers (the QPV gap counts their
#: IRIS as the rest), layer metadata a user saved in ``zones.gpkg`` kept while what ilots
#: writes of it changed, a census income column named for another Filosofi year than its
#: table's, a Dask cluster running other library versions than this machine, a user's layer
#: of ``zones.gpkg`` named as a layer the run writes, kept under another name, a land cover
#: classified without MNDWI or NDBI (products lacking their bands: water from the QA or SCL
#: flags, bare soil counted as built), a composite without a value in the urban footprint or
#: the rural reference (no composite SUHII), no Sentinel-2 product within the periods and area
#: of interest (indices from Landsat), an input source (``inputs.landsat[i]`` or
#: ``inputs.sentinel2[i]``) that gave no product of its sensor, a UTM grid whose pixel size
#: puts its pixel edges on neither Landsat's nor Sentinel-2's (every band resampled across
#: its pixels' edges), a zone layer of ``zones.gpkg`` a user edited since a run wrote it,
#: kept as a user's beside the new run's layers; and those of ``ilots compare`` (two runs
#: whose rural reference, land-cover source, ``composite.min_clear``, ``mask`` section,
#: ``zones.qpv.iris_share_threshold``, area of interest or grid extent differ, whose zones
#: differ in part (ids, or the shape of an id), one of which is synthetic or has no ΔT, or
#: the same run twice); a
#: ``zones.gpkg`` a run no longer writes, kept for the user's layers in it; an external
#: land-cover map or DEM covering only part of the run's grid, codes of an external land-cover
#: map not in its mapping (set to no data), an external land-cover map finer than half the
#: grid's pixel (sampled at the grid pixels' centres), a map under ``corine_grid`` with OSO's
#: codes and a pixel finer than CORINE's (maybe an OSO map), an urban footprint or rural
#: reference without a pixel. A warning of no kind has ``None``.
WarningCode = Literal[
    "zone_geometry_repaired",
    "secret_values",
    "unmatched_codes",
    "no_clear_pixels",
    "no_clear_lst",
    "few_clear_lst",
    "skipped_input",
    "deprecated_key",
    "damaged_checkpoint",
    "discarded_checkpoints",
    "partial_coverage",
    "zones_cut_by_area",
    "damaged_input",
    "user_tables_replaced",
    "qpv_without_iris",
    "layer_metadata_kept",
    "census_year_mismatch",
    "cluster_versions",
    "user_tables_renamed",
    "landcover_fallback",
    "empty_composite",
    "no_sentinel2",
    "empty_source",
    "reference_differs",
    "landcover_source_differs",
    "min_clear_differs",
    "zones_differ",
    "synthetic_run",
    "grid_off_sensor_pixels",
    "zone_layer_edits_kept",
    "no_anomaly",
    "same_run",
    "zones_gpkg_kept",
    "mask_differs",
    "qpv_threshold_differs",
    "extent_differs",
    "layer_partial_coverage",
    "unknown_landcover_codes",
    "empty_mask",
    "landcover_map_sampled",
    "landcover_map_maybe_oso",
]


class IlotsError(Exception):
    """Root of every error ilots raises about its inputs or configuration."""


class ProductError(IlotsError):
    """A satellite product cannot be used as given."""


class ProductNotFoundError(ProductError, FileNotFoundError):
    """A product path does not exist."""


class UnrecognisedProductError(ProductError):
    """A path is not a product layout ilots knows; the message lists the known layouts.

    ``reason`` says what was looked for and not found, when known (e.g. "no MTL ... inside").
    """

    reason: str = ""


class MetadataError(ProductError):
    """A product's metadata file (MTL, MTD_MSIL2A.xml, STAC item) is missing a needed field."""


class BandMissingError(ProductError, KeyError):
    """A band needed for a computation is absent from a product or dataset."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnsupportedProductError(ProductError):
    """The product exists but cannot give what was asked (e.g. LST from an L2SR product)."""


class ReadError(IlotsError):
    """A raster file is corrupt, truncated or unreadable."""


class CRSError(IlotsError):
    """A coordinate reference system is missing or does not match."""


class GridError(IlotsError):
    """An analysis grid cannot be built from the inputs given."""


class ZonesError(IlotsError):
    """A zone layer cannot be used as given (missing, null or duplicated ids; no geometry)."""


class LayerNotFoundError(ZonesError):
    """A vector file has no layer of the name given; the message lists its layers."""


class CensusError(IlotsError):
    """A census table (Filosofi, population) or a join of tables cannot be used as given."""


class ConfigError(IlotsError):
    """A run configuration is unusable: unknown key, bad value, missing file; names the key."""


class InequalityError(IlotsError):
    """An inequality statistic cannot be computed from the table given (missing column, no data)."""


class OutputError(IlotsError):
    """An output cannot be written there (its folder is read-only, or it is an input)."""


class OutputExistsError(OutputError):
    """An output a command would write exists, and replacing it was not asked for.

    ``option``: the command's option that names the output (``--out``).
    """

    def __init__(self, message: str, option: str = "--out") -> None:
        super().__init__(message)
        self.option = option


class WarningText(str):
    """The message of a warning, which also knows the warning's kind.

    A ``str`` (equal to, and written as, the message alone), so that it goes wherever a
    run's messages go; ``code`` is the :data:`WarningCode` of the warning, ``None`` when it
    has none.
    """

    code: WarningCode | None

    def __new__(cls, text: str, code: WarningCode | None = None) -> WarningText:
        """Return ``text`` with the kind ``code``."""
        self = super().__new__(cls, text)
        self.code = code
        return self


class IlotsWarning(UserWarning):
    """A documented warning: the run goes on, but a user should know (fallback, repair, skip).

    ``code``: its kind (:data:`WarningCode`), which the report names in its language; issue
    one with a kind as ``warnings.warn(IlotsWarning(message, code=...), stacklevel=2)``.
    Every one issued inside :func:`collected_warnings` is recorded there, from any thread
    and whatever the warning filters say (see it).
    """

    def __init__(self, *args: object, code: WarningCode | None = None) -> None:
        super().__init__(*args)
        self.code = code
        if getattr(_WITHHELD, "depth", 0):  # to be said again in other words (withheld_warnings)
            return
        collect_warning(WarningText(str(self), code))


def collect_warning(message: WarningText) -> None:
    """Record ``message`` in the open :func:`collected_warnings` blocks of this process.

    What creating an :class:`IlotsWarning` does; also for one created in another process
    (a worker's, relayed here: :func:`pipelines.scheduler.worker_warnings`).
    """
    for messages in tuple(_COLLECTORS):
        messages.append(message)


def warning_text(message: Warning | str) -> WarningText:
    """Return the text of a caught warning with its kind (``None`` unless an IlotsWarning's)."""
    return WarningText(str(message), message.code if isinstance(message, IlotsWarning) else None)


#: The message lists of the open :func:`collected_warnings` blocks.
_COLLECTORS: list[list[WarningText]] = []


class _Told(list):
    """A message list of :func:`collected_warnings` that tells ``on_warning`` of each message."""

    def __init__(self, on_warning: Callable[[WarningText], None]) -> None:
        super().__init__()
        self._on_warning = on_warning

    def append(self, message: WarningText) -> None:
        super().append(message)
        self._on_warning(message)


@contextmanager
def collected_warnings(
    on_warning: Callable[[WarningText], None] | None = None,
) -> Iterator[list[WarningText]]:
    """Collect the message of every :class:`IlotsWarning` issued in the block, in any thread.

    ``warnings.catch_warnings`` is not thread-safe: a library entering and leaving it in
    another thread (rasterio does, around its in-memory datasets) swaps the process-wide
    filters and ``showwarning`` under a run's recorder, and warnings issued meanwhile are
    lost. This records ilots' own warnings as they are created, so a run's manifest lists
    them all; those of other processes (a Dask worker's) are in it as a relay brings them
    back (:func:`collect_warning`). Each message is a :class:`WarningText`: it keeps the
    warning's kind.
    ``on_warning`` is also called with each, as it is created, in the thread creating it
    (the CLI's run log writes it then).
    """
    messages: list[WarningText] = [] if on_warning is None else _Told(on_warning)
    _COLLECTORS.append(messages)
    try:
        yield messages
    finally:  # this very list (another collector may hold equal messages)
        del _COLLECTORS[next(i for i, held in enumerate(_COLLECTORS) if held is messages)]


#: Per thread, how many :func:`withheld_warnings` blocks are open.
_WITHHELD = threading.local()


@contextmanager
def withheld_warnings() -> Iterator[None]:
    """Keep the IlotsWarnings created in this thread in the block out of the collectors.

    For code that catches the warnings of what it calls to issue them again in its own
    words (:meth:`pipelines.census._messages.WarningLog.capture`): the open
    :func:`collected_warnings` blocks, and what they tell as each is created (the CLI's run
    log), get the reworded message only. Those created meanwhile in other threads are
    taken back by :func:`withdraw_warning`.
    """
    depth = getattr(_WITHHELD, "depth", 0)
    _WITHHELD.depth = depth + 1
    try:
        yield
    finally:
        _WITHHELD.depth = depth


def withdraw_warning(message: str) -> None:
    """Take back an :class:`IlotsWarning` that code caught and reports otherwise.

    For code that records the warnings of what it calls and issues them again in its own
    words (:meth:`pipelines.census._messages.Messages.capture`): the open
    :func:`collected_warnings` blocks then hold the reworded message only.
    """
    for messages in tuple(_COLLECTORS):
        for k in range(len(messages) - 1, -1, -1):
            if messages[k] == message:
                del messages[k]
                break
