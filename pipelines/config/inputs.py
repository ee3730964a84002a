"""Resolve a config's ``inputs`` into ilots STAC Items, filtered by area, periods and clouds.

Each source of ``inputs.landsat`` and ``inputs.sentinel2`` gives products:

``path``
    A product (folder, ``_MTL`` file, ``.tar``, ``.SAFE``, item JSON), a folder of products
    (its entries are tried one by one), or a glob (``products/*.tar``, ``data/**/*_MTL.txt``).
    A product folder's sub-folders that hold products give theirs too (one product's files
    loose in a download folder beside other products' folders).
    Every candidate is recognised by :func:`raster.sources.open_product`; non-products and
    products ilots cannot use are skipped with an :class:`~tiles.errors.IlotsWarning`.
``catalog``
    A static STAC catalogue walked with pystac (:func:`search_catalog`): items are kept when
    their collection, footprint and acquisition time match. This is the offline twin of the
    API search, with the same filters.
``stac_api``
    A STAC API searched with pystac-client (:func:`search_stac_api`) over the area of
    interest grown by the rural ring (``heat_island.ring_outer_km``), once per period.

Items from catalogues and APIs are written as JSON under ``item_dir`` (default
``<outputs.folder>/stac_items``; a local catalogue's own files are read in place) and opened
with :func:`~raster.sources.open_product`, so every item follows the contract of
:mod:`raster.sources` whatever its origin. USGS's SR and ST items of one Level-2 product
(``<id>_SR``, ``<id>_ST``), from any sources of a sensor, make one product
(:func:`~raster.sources.merge_halves`). Products of the other sensor are left out
silently (one folder may serve both lists); duplicates (a ``.tar`` beside its folder) keep
the first one found. A search that returns ``stac_api.max_items`` items is warned about.

Items of any source whose files are in Planetary Computer's storage (item JSONs saved from
its Explorer or API, static catalogues of its items) are signed at each read, as a search with
``stac_api.sign: planetary_computer`` is (:mod:`pipelines.config.planetary_computer`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import itertools
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from pipelines.config._types import has_glob, is_url
from pipelines.config.aoi import (
    WGS84,
    AreaOfInterest,
    area_of_interest,
    area_outline,
    polygon_parts,
)
from pipelines.config.models import InputSource, RunConfig, StacApiSource
from pipelines.config.planetary_computer import (
    found_on_planetary_computer,
    planetary_computer_module,
    sign_planetary_computer,
)
from raster.load import SIGN_PROPERTY
from raster.sources import half_note, merge_halves, open_product
from raster.sources.assets import item_time
from raster.sources.hrefs import href_file
from raster.sources.product import permission_error
from tiles.errors import (
    ConfigError,
    IlotsError,
    IlotsWarning,
    UnrecognisedProductError,
    WarningCode,
    withheld_warnings,
)

__all__ = [
    "COVERAGE_MIN",
    "COVERAGE_WARN",
    "EXTENT_CHECKED_KM2",
    "Interval",
    "ResolvedInputs",
    "Searches",
    "check_coverage",
    "check_extent_coverage",
    "landsat_coverage",
    "resolve_inputs",
    "search_catalog",
    "search_stac_api",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: A half-open UTC time interval ``[start, end)``.
Interval = tuple[dt.datetime, dt.datetime]
BBox = tuple[float, float, float, float]

_SENSOR_PREFIX = {"landsat": "landsat-", "sentinel2": "sentinel-2-"}
_SENSOR_NAME = {"landsat": "Landsat", "sentinel2": "Sentinel-2"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ResolvedInputs:
    """The products a run will read.

    Parameters
    ----------
    landsat, sentinel2
        ilots STAC Items (contract of :mod:`raster.sources`), sorted by acquisition time.
    skipped
        One line per candidate left out: not a product, outside the periods or the area,
        too cloudy, or a duplicate.
    """

    landsat: tuple[pystac.Item, ...]
    sentinel2: tuple[pystac.Item, ...]
    skipped: tuple[str, ...] = ()

    @property
    def items(self) -> tuple[pystac.Item, ...]:
        """All items, Landsat first."""
        return self.landsat + self.sentinel2


@dataclass
class Searches:
    """The catalogue and STAC API searches of a run, each answered once.

    :func:`check_extent_coverage` searches over the extent of a large area, and
    :func:`resolve_inputs` then over the area itself, whose box lies within it: the items
    found for the extent that meet the area's box are the items its search finds (the
    catalogue's filter, a STAC API's ``bbox``), so the second search is not made. A search
    that stopped at ``max_items`` may have left out some of them: it serves only the same
    search over the same box (an area that is its own extent, ``aoi.bbox``), which would
    find the same items again.

    Parameters
    ----------
    margin_deg
        Degrees added around the box of each search made (:meth:`widened`); its items are
        then those meeting the box asked for.
    """

    margin_deg: float = 0.0
    _done: list[tuple[str, BBox, list[pystac.Item], list[str]]] = field(default_factory=list)

    def widened(self, degrees: float) -> Searches:
        """Return these searches, the ones made from now on over their box grown by ``degrees``."""
        return Searches(degrees, self._done)

    def search_box(self, bbox: BBox) -> BBox:
        """Return the box a search for ``bbox`` is made over (grown by :attr:`margin_deg`)."""
        west, south, east, north = bbox
        m = self.margin_deg
        return (max(west - m, -180.0), max(south - m, -90.0), min(east + m, 180.0),
                min(north + m, 90.0))  # fmt: skip

    def find(self, key: str, bbox: BBox) -> tuple[list[pystac.Item], list[str]] | None:
        """Return the items of search ``key`` over ``bbox`` from one made, and its cut periods.

        From a search over a box holding ``bbox`` that found all it could (its items meeting
        ``bbox``), or from one over ``bbox`` itself that stopped at ``max_items`` (with the
        periods it stopped in, for the warning). None when no such search was made.
        """
        west, south, east, north = bbox
        for done, (w, s, e, n), items, full in self._done:
            if done != key:
                continue
            if full and (w, s, e, n) == bbox:
                return items, full
            if not full and w <= west <= east <= e and s <= south <= north <= n:
                return _meeting(items, bbox), []
        return None

    def add(self, key: str, bbox: BBox, items: list[pystac.Item], full: Sequence[str] = ()) -> None:
        """Keep the items a search ``key`` over ``bbox`` found, and the periods it stopped in."""
        self._done.append((key, bbox, items, list(full)))


def _meeting(items: list[pystac.Item], bbox: BBox) -> list[pystac.Item]:
    """Return the items whose footprint (if any) meets ``bbox``."""
    area = box(*bbox)
    return [it for it in items if (f := _item_footprint(it)) is None or f.intersects(area)]


@dataclass
class _Opener:
    """Opens local products once, and warns once about each path that is not one."""

    cache: dict[Path, pystac.Item | IlotsError] = field(default_factory=dict)
    warned: set[Path] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def _try(self, path: Path) -> pystac.Item | IlotsError:
        path = path.resolve()
        if path not in self.cache:
            try:
                self.cache[path] = open_product(path)
            except IlotsError as err:
                self.cache[path] = err
        return self.cache[path]

    def open(self, path: Path, key: str) -> pystac.Item | None:
        """Return the item of one product path, or None (with a warning) if it is unusable."""
        result = self._try(path)
        if isinstance(result, pystac.Item):
            return result
        why = str(result)
        if isinstance(result, UnrecognisedProductError):  # without the layouts' list
            why = "not a product ilots recognises" + (
                f" ({result.reason})" if result.reason else ""
            )
        self._skip(path, why, key)
        return None

    def _skip(self, path: Path, why: str, key: str) -> None:
        """Warn once that ``path`` is skipped, and why."""
        if path.resolve() not in self.warned:
            self.warned.add(path.resolve())
            self.skipped.append(f"{path}: {why}")
            _warn(f"{key}: skipping {path}: {why}", code="skipped_input")

    def expand(self, path: Path, key: str) -> list[pystac.Item]:
        """Items of a product path, of the products in a folder, or of a glob's matches.

        A folder that is no product has its entries tried one by one (those that are no
        product warned about); a product folder also gives the products in its sub-folders
        (:meth:`inner`). A path, folder or glob that may not be read (its permissions) is
        warned about and skipped, keeping what was found before.
        """
        try:
            candidates = _candidates(path)
        except PermissionError as err:
            self._skip(path, str(permission_error(err, path)), key)
            return []
        items = []
        for candidate in candidates:
            found: list[pystac.Item | None] = []
            try:
                self._expand_one(candidate, key, found)
            except PermissionError as err:
                self._skip(candidate, str(permission_error(err, candidate)), key)
            items.extend(item for item in found if item is not None)
        return items

    def _expand_one(self, candidate: Path, key: str, found: list[pystac.Item | None]) -> None:
        """Add to ``found`` the items of one candidate of :meth:`expand`."""
        result = self._try(candidate)
        if isinstance(result, UnrecognisedProductError) and candidate.is_dir():
            children = [c for c in sorted(candidate.iterdir()) if not c.name.startswith(".")]
            found.extend(self.open(child, key) for child in children)
        else:
            found.append(self.open(candidate, key))
            if isinstance(result, pystac.Item) and candidate.is_dir():
                found.extend(self.inner(candidate, key))

    def inner(self, folder: Path, key: str) -> list[pystac.Item | None]:
        """Items of the products in the sub-folders of a product folder.

        A download folder may hold one product's files loose beside other products' folders
        (``landsat_l1/`` with an MTL and ``LC08_L1TP_.../``): the loose files are a product
        and so is each such sub-folder. Sub-folders that are no product are the product's
        own (a SAFE's ``GRANULE/``) and pass unsaid; one recognised but unusable is warned
        about (None).
        """
        found: list[pystac.Item | None] = []
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                if not isinstance(self._try(child), UnrecognisedProductError):
                    found.append(self.open(child, key))
        return found


def _candidates(path: Path) -> list[Path]:
    """Return the paths a source's ``path`` names: itself if it exists, else a glob's matches.

    Raises
    ------
    PermissionError
        If ``path``, or the folder a glob that matches nothing starts from, may not be read
        (:func:`glob.glob` says nothing of the folders it may not list).
    """
    if not has_glob(path):
        return [path] if path.exists() else []
    matches = [Path(p) for p in sorted(glob.glob(str(path), recursive=True))]
    if not matches:
        root = Path(*itertools.takewhile(lambda part: not has_glob(part), path.parts))
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.listdir(root)
    return matches


def _warn(message: str, code: WarningCode | None = None) -> None:
    warnings.warn(IlotsWarning(message, code=code), stacklevel=4)


def _item_footprint(item: pystac.Item) -> BaseGeometry | None:
    if item.geometry:
        return shape(item.geometry)
    if item.bbox:
        west, south, *_, east, north = (
            item.bbox if len(item.bbox) == 4 else [item.bbox[i] for i in (0, 1, 3, 4)]
        )
        return box(west, south, east, north)
    return None


_OUTSIDE_AREA = "footprint outside the area of interest"
#: How the error counts the products left out for a reason: (one, several), after the number.
_COUNTED = {
    _OUTSIDE_AREA: (
        "with its footprint outside the area of interest",
        "with their footprint outside the area of interest",
    ),
    "duplicate of a product already found": (
        "duplicate of a product already found",
        "duplicates of products already found",
    ),
    "no acquisition time": ("without an acquisition time", "without an acquisition time"),
}
#: Footprints an error lists at most (the rest are counted).
_FOOTPRINTS_SHOWN = 4


def _rejection(
    item: pystac.Item,
    *,
    area: BaseGeometry | None,
    intervals: Sequence[Interval] | None,
    collections: Iterable[str] | None = None,
    max_cloud_cover: float | None = None,
) -> str | None:
    """Why an item is left out (None if it is kept)."""
    if collections is not None and item.collection_id not in set(collections):
        return f"collection {item.collection_id!r} not asked for"
    when = item_time(item)
    if intervals is not None:
        if when is None:
            return "no acquisition time"
        if not any(start <= when < end for start, end in intervals):
            return f"acquired {when:%Y-%m-%d}, outside the periods"
    if area is not None:
        footprint = _item_footprint(item)
        if footprint is not None and not footprint.intersects(area):
            return _OUTSIDE_AREA
    cloud = item.properties.get("eo:cloud_cover")
    if max_cloud_cover is not None and cloud is not None and float(cloud) > max_cloud_cover:
        return f"cloud cover {float(cloud):.0f} % > {max_cloud_cover:g} %"
    return None


def _bounds_text(bounds: Sequence[float]) -> str:
    """``(west, south, east, north)`` degrees as ``lon 1.23 to 3.90, lat 43.10 to 45.00``."""
    west, south, east, north = bounds
    return f"lon {west:.2f} to {east:.2f}, lat {south:.2f} to {north:.2f}"


def _footprint_text(item: pystac.Item) -> str:
    footprint = _item_footprint(item)
    where = _bounds_text(footprint.bounds) if footprint is not None else "no footprint"
    return f"{item.id} ({where})"


def _catalog_location(href: str) -> str:
    if is_url(href):
        return href
    path = Path(href_file(href) or href)
    return str(path / "catalog.json") if path.is_dir() else str(path)


def search_catalog(
    href: str,
    *,
    bbox: BBox | None = None,
    intervals: Sequence[Interval] | None = None,
    collections: Iterable[str] | None = None,
    max_cloud_cover: float | None = None,
) -> list[pystac.Item]:
    """Walk a static STAC catalogue and keep the items that match, as a STAC API would.

    Parameters
    ----------
    href
        Path or URL of the root ``catalog.json`` (or of its folder).
    bbox
        ``(west, south, east, north)`` in EPSG:4326: keep items whose footprint (geometry,
        else bbox) intersects it.
    intervals
        Keep items acquired within one of these half-open UTC intervals.
    collections
        Keep items of these collections.
    max_cloud_cover
        Keep items whose ``eo:cloud_cover`` (percent) is at most this (or unknown).

    Returns
    -------
    list of pystac.Item
        Matching items in catalogue order; their self hrefs point at their JSON files.

    Raises
    ------
    ConfigError
        If the catalogue cannot be read.
    """
    location = _catalog_location(href)
    try:
        catalog = pystac.Catalog.from_file(location)
        items = list(catalog.get_items(recursive=True))
    except Exception as err:  # pystac raises OSError, JSON and STAC errors
        raise ConfigError(f"cannot read the STAC catalogue {location}: {err}") from err
    area = box(*bbox) if bbox is not None else None
    collection_set = set(collections) if collections is not None else None
    kept = []
    for item in items:
        why = _rejection(
            item,
            area=area,
            intervals=intervals,
            collections=collection_set,
            max_cloud_cover=max_cloud_cover,
        )
        if why is None:
            kept.append(item)
        else:
            logger.debug("catalogue item %s left out: %s", item.id, why)
    logger.info("catalogue %s: %d of %d items match", location, len(kept), len(items))
    return kept


def _stac_datetime(interval: Interval) -> str:
    start, end = interval
    last = end - dt.timedelta(seconds=1)
    return f"{start:%Y-%m-%dT%H:%M:%SZ}/{last:%Y-%m-%dT%H:%M:%SZ}"


def _period_text(interval: Interval) -> str:
    """``2023-06-01 to 2023-08-31``: the days of a half-open interval."""
    start, end = interval
    return f"{start:%Y-%m-%d} to {end - dt.timedelta(seconds=1):%Y-%m-%d}"


def _modifier(sign: str | None) -> Callable[[Any], Any] | None:
    if sign is None:
        return None
    return planetary_computer_module("stac_api.sign: planetary_computer").sign_inplace


def search_stac_api(
    api: StacApiSource,
    *,
    bbox: BBox,
    intervals: Sequence[Interval],
    max_cloud_cover: float | None = None,
    key: str = "stac_api",
) -> list[pystac.Item]:
    """Search a STAC API over a box, once per period, with pystac-client.

    Parameters
    ----------
    api
        URL, collections, extra query, item limit and signing.
    bbox
        ``(west, south, east, north)`` in EPSG:4326.
    intervals
        Half-open UTC intervals, one search each.
    max_cloud_cover
        Adds ``eo:cloud_cover <= max_cloud_cover`` to the query.
    key
        The config key of ``api``, for the warning.

    Returns
    -------
    list of pystac.Item
        Items of all periods, each once, with absolute asset hrefs (signed if asked).

    Raises
    ------
    ConfigError
        If pystac-client is missing or the API cannot be searched (the message gives the URL).

    Warns
    -----
    IlotsWarning
        When the search of a period returns ``api.max_items`` items: there may be more.
    """
    found, full = _search_stac_api(
        api, bbox=bbox, intervals=intervals, max_cloud_cover=max_cloud_cover
    )
    _warn_full(api, full, key)
    return found


def _warn_full(api: StacApiSource, full: Sequence[str], key: str) -> None:
    """Say that the search of periods ``full`` stopped at ``api.max_items`` (if any did)."""
    if full:
        _warn(
            f"{key}.max_items: the search of {api.url} returned {api.max_items} items, the "
            f"limit, for {len(full)} period(s) (e.g. {full[0]}): there may be more products; "
            "raise max_items (null: no limit), or narrow the periods or max_cloud_cover"
        )


def _search_stac_api(
    api: StacApiSource,
    *,
    bbox: BBox,
    intervals: Sequence[Interval],
    max_cloud_cover: float | None = None,
) -> tuple[list[pystac.Item], list[str]]:
    """Search as :func:`search_stac_api`; return the items and the periods cut at max_items."""
    try:
        from pystac_client import Client
    except ImportError as err:
        raise ConfigError(
            "stac_api: searching a STAC API needs pystac-client (pip install pystac-client)"
        ) from err
    query = dict(api.query or {})
    if max_cloud_cover is not None:
        query.setdefault("eo:cloud_cover", {"lte": max_cloud_cover})
    found: dict[str, pystac.Item] = {}
    full: list[str] = []  # the periods whose search stopped at max_items
    try:
        client = Client.open(api.url, modifier=_modifier(api.sign))
        for interval in intervals:
            search = client.search(
                collections=list(api.collections),
                bbox=list(bbox),
                datetime=_stac_datetime(interval),
                query=query or None,
                max_items=api.max_items,
            )
            count = 0
            for item in search.items():
                count += 1
                found.setdefault(item.id, item)
            if api.max_items is not None and count >= api.max_items:
                full.append(_period_text(interval))
    except ConfigError:
        raise
    except Exception as err:  # network, HTTP and API errors of pystac-client
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"cannot search the STAC API {api.url}: {reason}") from err
    logger.info("STAC API %s: %d items", api.url, len(found))
    return list(found.values()), full


def _save_item(item: pystac.Item, folder: Path, *, signed: bool = False) -> Path:
    """Write an item's JSON (absolute asset hrefs) under ``folder``, atomically.

    ``signed``: the hrefs carry a signature (a query) that is left out: each read signs
    again (:class:`raster.load.SigningRioDriver`), and the run folder keeps no token.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if item.get_self_href() is not None:
        item.make_asset_hrefs_absolute()
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    if signed:
        for asset in data.get("assets", {}).values():
            asset["href"] = str(asset.get("href", "")).split("?", 1)[0]
    # The writers' atomic write, which a run notes as its own (its manifest lists the items
    # saved in its folder). Imported here: reading a config needs no writer.
    from pipelines.outputs._atomic import write_text_atomic

    return write_text_atomic(
        folder / f"{_SAFE_NAME.sub('_', item.id)}.json", json.dumps(data, indent=1)
    )


def _local_self(item: pystac.Item) -> Path | None:
    href = item.get_self_href()
    if href is None or is_url(href):
        return None
    path = href_file(href)
    return path if path is not None and path.is_file() else None


def _source_items(
    src: InputSource,
    key: str,
    *,
    opener: _Opener,
    bbox: BBox,
    intervals: Sequence[Interval],
    max_cloud_cover: float | None,
    item_dir: Path,
    searches: Searches,
) -> list[pystac.Item]:
    """Return the ilots items one source gives (not yet filtered by sensor, time, area).

    A catalogue or STAC API is searched unless ``searches`` holds a search of it over a box
    holding ``bbox`` (:class:`Searches`).
    """
    if src.path is not None:
        return opener.expand(src.path, key)
    search = f"{src.model_dump_json()} {intervals} {max_cloud_cover}"
    found = searches.find(search, bbox)
    if found is not None:
        raw, full = found
        if full and src.stac_api is not None:  # said again: the first search's is withheld
            _warn_full(src.stac_api, full, f"{key}.stac_api")
    else:
        wide = searches.search_box(bbox)
        raw, full = _search_source(src, key, wide, intervals, max_cloud_cover)
        searches.add(search, wide, raw, full)
        if wide != bbox:  # the extent check's: the items of the box asked for (if stopped at
            raw = _meeting(raw, bbox)  # max_items, a sample of them, as a search over it)
    signer = src.stac_api.sign if src.stac_api is not None else None
    # Every JSON written before any is read: USGS's SR and ST items of a product are read
    # together when they sit side by side (raster.sources.landsat_halves). Signed hrefs are
    # saved without their signature.
    paths = [_local_self(item) or _save_item(item, item_dir, signed=signer is not None
                                             or found_on_planetary_computer(item))
             for item in raw]  # fmt: skip
    items = []
    for path in paths:
        opened = opener.open(path, key)
        if opened is not None:
            if signer is not None:  # signed again at each read (raster.load.SigningRioDriver)
                opened.properties[SIGN_PROPERTY] = signer
            items.append(opened)
    return items


def _search_source(
    src: InputSource,
    key: str,
    bbox: BBox,
    intervals: Sequence[Interval],
    max_cloud_cover: float | None,
) -> tuple[list[pystac.Item], list[str]]:
    """Search a source's catalogue or STAC API; return its items and the periods cut.

    A STAC API's search of a period may stop at ``max_items`` (warned about): then the
    period is cut, and the items may not be all.
    """
    if src.catalog is not None:
        try:
            raw = search_catalog(
                src.catalog.href,
                bbox=bbox,
                intervals=intervals,
                collections=src.catalog.collections,
                max_cloud_cover=max_cloud_cover,
            )
        except ConfigError as err:
            raise ConfigError(f"{key}.catalog.href: {err}") from err
        return raw, []
    if src.stac_api is None:  # InputSource validation guarantees one alternative
        raise ConfigError(f"{key}: give path, catalog or stac_api")
    try:
        raw, full = _search_stac_api(
            src.stac_api, bbox=bbox, intervals=intervals, max_cloud_cover=max_cloud_cover
        )
    except ConfigError as err:
        raise ConfigError(f"{key}.stac_api: {err}") from err
    _warn_full(src.stac_api, full, f"{key}.stac_api")
    return raw, full


def resolve_inputs(
    config: RunConfig,
    *,
    area: AreaOfInterest | None = None,
    item_dir: str | os.PathLike[str] | None = None,
    source: str = "config",
    searches: Searches | None = None,
) -> ResolvedInputs:
    """Find, open and filter every product of a config's ``inputs``.

    Parameters
    ----------
    config
        A validated config.
    area
        Its area of interest (computed with :func:`area_of_interest` when not given). Products
        must intersect it grown by ``heat_island.ring_outer_km`` (the rural ring).
    item_dir
        Where items from catalogues and APIs are written; default
        ``<outputs.folder>/stac_items``.
    source
        Name of the config in messages.
    searches
        The catalogue and STAC API searches already made for the run
        (:func:`check_extent_coverage`'s), reused when they span the area's; this one's are
        added to it.

    Returns
    -------
    ResolvedInputs

    Raises
    ------
    ConfigError
        If no Landsat product is left (the message says how many were found and why they were
        left out), if ``composite.indices_from`` is ``sentinel2`` and no Sentinel-2 product is
        left, or if a catalogue or API cannot be read.

    Warns
    -----
    IlotsWarning
        For each path that is not a usable product, and each source that gives nothing.
    """
    if area is None:
        area = area_of_interest(config, source=source)
    search_area = area.buffered(config.heat_island.ring_outer_km * 1000.0)
    bbox: BBox = tuple(float(v) for v in search_area.geometry.bounds)  # type: ignore[assignment]
    intervals = config.periods.intervals()
    cloud = config.inputs.max_cloud_cover
    folder = Path(item_dir) if item_dir is not None else config.outputs.folder / "stac_items"
    searches = Searches() if searches is None else searches
    opener = _Opener()
    skipped: list[str] = []
    result: dict[str, tuple[pystac.Item, ...]] = {}
    # A folder listed under both sensors: what in it is no product is said of both keys.
    listing: dict[Path, list[str]] = {}
    for sensor in ("landsat", "sentinel2"):
        for i, src in enumerate(getattr(config.inputs, sensor)):
            if src.path is not None:
                listing.setdefault(Path(src.path), []).append(f"inputs.{sensor}[{i}]")
    for sensor in ("landsat", "sentinel2"):
        kept: dict[str, pystac.Item] = {}
        reasons: dict[str, int] = {}
        away: list[str] = []  # the footprints of products outside the area, for the error
        level: list[str] = []  # the first Landsat product without Level-2 ST, for the error
        dates: list[str] = []  # acquisition dates of the products outside the periods
        clouds: list[float] = []  # cloud covers (%) of the products too cloudy
        gathered: list[tuple[str, pystac.Item]] = []  # (source key, item) of every source
        for i, src in enumerate(getattr(config.inputs, sensor)):
            key = f"{source}: inputs.{sensor}[{i}]"
            keys = listing.get(Path(src.path), []) if src.path is not None else []
            named = f"{source}: {', '.join(keys)}" if len(keys) > 1 else key
            items = _source_items(
                src,
                named,
                opener=opener,
                bbox=bbox,
                intervals=intervals,
                max_cloud_cover=cloud,
                item_dir=folder,
                searches=searches,
            )
            mine = [it for it in items if _is_sensor(it, sensor)]
            sign_planetary_computer(mine, named)  # its storage refuses unsigned reads
            if not mine:
                other = len(items) - len(mine)
                extra = f" ({other} of another sensor)" if other else ""
                _warn(f"{key}: no {_SENSOR_NAME[sensor]} product found{extra}", code="empty_source")
                if other:  # said again if no source gives this sensor a product
                    reasons["of another sensor"] = reasons.get("of another sensor", 0) + other
            gathered.extend((key, item) for item in mine)
        key_of: dict[str, str] = {}  # the source that first gave each product
        for key, item in gathered:
            key_of.setdefault(item.id, key)
        # USGS's SR and ST items of a product, from any sources, as one product
        for item in merge_halves(item for _key, item in gathered):
            key = key_of[item.id]
            why = _rejection(
                item, area=search_area.geometry, intervals=intervals, max_cloud_cover=cloud
            )
            if why is None and sensor == "landsat":
                why = _without_surface_temperature(item)
                if why is not None and not level:
                    level.append(f"{item.id} is {why}")
            if why is None and item.id in kept:
                why = "duplicate of a product already found"
            if why is not None:
                if why == _OUTSIDE_AREA and _footprint_text(item) not in away:
                    away.append(_footprint_text(item))  # once per product (folder, .tar)
                label = _reason_label(why)
                if label == "outside the periods":
                    dates.append(why.split()[1].rstrip(","))
                if label == _CLOUDY:
                    clouds.append(float(item.properties["eo:cloud_cover"]))
                reasons[label] = reasons.get(label, 0) + 1
                skipped.append(f"{item.id}: {why} ({item.properties.get('ilots:source')})")
                logger.info("%s: %s left out: %s", key, item.id, why)
                continue
            kept[item.id] = item
        ordered = sorted(kept.values(), key=lambda it: (item_time(it) or _EPOCH, it.id))
        result[sensor] = tuple(ordered)
        if level and ordered:
            n = reasons[_NO_ST]
            _warn(
                f"{source}: inputs.landsat: {n} product(s) left out, e.g. {level[0]}",
                code="skipped_input",
            )
        if sensor == "landsat" and _indices_from_landsat(config):
            _warn_st_halves(ordered, source)
        _check_found(
            config,
            sensor,
            ordered,
            reasons,
            source,
            away,
            search_area.geometry,
            level,
            dates,
            clouds,
        )
        logger.info("%d %s products", len(ordered), _SENSOR_NAME[sensor])
    return ResolvedInputs(result["landsat"], result["sentinel2"], tuple(opener.skipped + skipped))


#: Below this share of the area of interest under the Landsat products' footprints, a warning:
#: the zones outside them get no LST (a city at the edge of a scene, a missing product).
COVERAGE_WARN = 0.5
#: Below this share, an error: such a run cannot be meant (the whole of a national IRIS file
#: taken as the area, ``aoi.zones: iris`` without ``aoi.communes``; an area of another place),
#: and would plan a grid, tiles and checkpoints for an area the scenes do not cover.
COVERAGE_MIN = 0.05


def landsat_coverage(area: AreaOfInterest, items: Sequence[pystac.Item]) -> float | None:
    """Return the share of ``area`` the footprints of ``items`` cover (0 to 1).

    Measured in the area's CRS when it is projected (Lambert-93 for IGN IRIS), else in its
    UTM zone (:func:`_covered_area`). None when no item has a footprint.
    """
    union = _footprints(items)
    return None if union is None else _share_covered(area, union)


def _footprints(items: Sequence[pystac.Item]) -> BaseGeometry | None:
    """Return the union of the footprints of ``items`` (degrees); None when none has one."""
    footprints = [f for item in items if (f := _item_footprint(item)) is not None]
    return shapely.make_valid(shapely.union_all(footprints)) if footprints else None


def _share_covered(area: AreaOfInterest, footprints: BaseGeometry) -> float:
    """Return the share of ``area`` under ``footprints`` (degrees), as :func:`landsat_coverage`."""
    if area.crs.is_geographic:
        area = area.to_crs(area.utm_crs())
    cover = AreaOfInterest(footprints, WGS84, "the Landsat footprints").to_crs(area.crs).geometry
    return _covered_area(area.geometry, cover) / area.geometry.area


def _covered_area(geometry: BaseGeometry, cover: BaseGeometry) -> float:
    """Return the area of ``geometry`` (valid) under ``cover``, polygon by polygon.

    A polygon whose exterior ring ``cover`` covers counts whole (most often the whole area):
    the union of zones whose edges differ by a metre keeps hundreds of thousands of holes,
    which an intersection would node (7 s on 8,100 such IRIS). Of a polygon ``cover``
    crosses, its exterior's area under it less its holes' (:func:`_area_under`).
    """
    polygons = polygon_parts(geometry)
    shells = shapely.polygons(shapely.get_exterior_ring(polygons))
    shapely.prepare(cover)
    inside = shapely.covers(cover, shells)
    crossed = ~inside & shapely.intersects(cover, shells)
    rings = shapely.get_rings(polygons[crossed])  # each polygon's exterior, then its holes
    counts = shapely.get_num_interior_rings(polygons[crossed]) + 1
    is_hole = np.ones(rings.size, dtype=bool)
    is_hole[np.cumsum(counts) - counts] = False
    return float(
        shapely.area(polygons[inside]).sum()
        + _clipped_area(shells[crossed], cover)
        - _area_under(shapely.polygons(rings[is_hole]), cover)
    )


def _area_under(pieces: np.ndarray, cover: BaseGeometry) -> float:
    """Return the summed area of ``pieces`` (polygons without holes) under ``cover``.

    A piece ``cover`` covers counts whole; only one it crosses is intersected
    (:func:`_clipped_area`).
    """
    inside = shapely.covers(cover, pieces)
    crossed = pieces[~inside & shapely.intersects(cover, pieces)]
    return float(shapely.area(pieces[inside]).sum()) + _clipped_area(crossed, cover)


def _clipped_area(crossed: np.ndarray, cover: BaseGeometry) -> float:
    """Return the summed area under ``cover`` of polygons it crosses.

    Of each, only the part within the cover's bounds is intersected, so that a national
    area's exterior costs one clip.
    """
    near = shapely.clip_by_rect(crossed, *cover.bounds)
    return float(shapely.area(shapely.intersection(near, cover)).sum())


def check_coverage(
    config: RunConfig,
    area: AreaOfInterest,
    items: Sequence[pystac.Item],
    *,
    source: str = "config",
) -> float | None:
    """Say when the Landsat products cover only part of the area of interest.

    Under :data:`COVERAGE_MIN` (5 %) of the area under their footprints, a ConfigError; under
    :data:`COVERAGE_WARN` (50 %), an :class:`~tiles.errors.IlotsWarning` (``partial_coverage``):
    each with the share, the area's description, the footprints' extent and the fix. Returns
    the share (None without footprints).

    Raises
    ------
    ConfigError
        ``"<source>: aoi: the Landsat products cover 0.4 % of the area of interest (...)"``.
    """
    footprints = _footprints(items)
    if footprints is None:
        return None
    share = _share_covered(area, footprints)
    if share >= COVERAGE_WARN:
        return share
    span = _bounds_text(footprints.bounds)
    where = _area_fix(config)
    text = (
        f"the Landsat products cover {_percent(share)} % of the area of interest "
        f"({area.description}); their footprints span {span}"
    )
    if share < COVERAGE_MIN:
        raise ConfigError(
            f"{source}: aoi: {text}: {where} to the area your scenes cover, or add the "
            "products that cover it (inputs.landsat)"
        )
    _warn(
        f"{source}: aoi: {text}: the zones outside them get no LST; add the products that "
        f"cover them (inputs.landsat), or {where} to the area your scenes cover",
        code="partial_coverage",
    )
    return share


def _area_fix(config: RunConfig) -> str:
    """Say which ``aoi`` key sets a smaller area: ``set aoi.communes or aoi.bbox`` ..."""
    aoi = config.aoi
    if aoi.kind == "zones" and aoi.communes is None:
        return "set aoi.communes or aoi.bbox"
    return f"set aoi.{'communes' if aoi.kind == 'zones' else aoi.kind}"


#: Above this extent (km²), :func:`check_extent_coverage` checks the area of interest against
#: the Landsat footprints before its features are read: a square of 100 km, larger than any
#: French agglomeration, whose IRIS take seconds to read, repair and unite, where a
#: national file's take minutes.
EXTENT_CHECKED_KM2 = 10_000.0


#: Degrees added around the box :func:`check_extent_coverage` searches catalogues and APIs
#: over (:class:`Searches`): more than the ring's arcs (16 segments a quarter circle) miss of
#: a circle, 0.5 % of ``heat_island.ring_outer_km`` (50 m of 10 km).
_EXTENT_SEARCH_MARGIN_DEG = 0.02


def check_extent_coverage(
    config: RunConfig, *, source: str = "config", searches: Searches | None = None
) -> None:
    """Refuse, before its features are read, an area whose extent the Landsat products miss.

    The extent is :func:`~pipelines.config.aoi.area_outline`'s: the bounding box itself, or
    the extent a zone layer or polygon file's header gives when the area is the union of all
    its features (a national IRIS file with ``aoi.zones: iris`` and no ``aoi.communes``, which
    takes minutes to read and unite). Of more than :data:`EXTENT_CHECKED_KM2`, the products
    are resolved for it (:func:`resolve_inputs`, their warnings withheld and the items a
    catalogue or an API gives saved in a scratch folder: the run resolves them again for the
    area itself, and says and keeps them then) and, under :data:`COVERAGE_MIN` of it
    under their footprints, the run is refused: its grid would span that extent. A header's
    extent is confirmed from the features' own bounds before (:func:`_refused`), and the
    refusal says theirs. The catalogue and STAC API searches made are kept in ``searches``:
    the run's :func:`resolve_inputs` given them makes none again (:class:`Searches`).

    Raises
    ------
    ConfigError
        ``"<source>: aoi: the Landsat products cover 0.035 % of the area of interest (the
        extent of ...), which spans 900 x 960 km, ..."``, or :func:`resolve_inputs`' errors.
    """
    outline = area_outline(config)
    if outline is None or _km2(outline) <= EXTENT_CHECKED_KM2:
        return
    # Over a box a little wider than the extent's, so that the area's (within it, but for
    # the polygons that approximate the rural ring's arcs) is found within it; a bounding
    # box is its own extent: the run searches over the same box, which a search stopped at
    # max_items serves too (Searches).
    margin = 0.0 if config.aoi.bbox is not None else _EXTENT_SEARCH_MARGIN_DEG
    searches = (Searches() if searches is None else searches).widened(margin)
    with (
        tempfile.TemporaryDirectory(prefix="ilots-extent-") as scratch,
        warnings.catch_warnings(),
        withheld_warnings(),
    ):
        warnings.simplefilter("ignore")
        items = resolve_inputs(
            config, area=outline, item_dir=scratch, source=source, searches=searches
        ).landsat
    footprints = _footprints(items)
    if footprints is None:
        return
    refused = _refused(config, outline, footprints)
    if refused is None:
        return
    outline, share = refused
    west, south, east, north = _in_metres(outline).geometry.bounds
    size = f"{(east - west) / 1000:,.0f} x {(north - south) / 1000:,.0f} km"
    every = ", all of them as aoi.zones has no aoi.communes" if config.aoi.kind == "zones" else ""
    raise ConfigError(
        f"{source}: aoi: the Landsat products cover {_percent(share)} % of the area of interest "
        f"({outline.description}{every}), which spans {size}, under the "
        f"{_percent(COVERAGE_MIN)} % a run needs; their footprints span "
        f"{_bounds_text(footprints.bounds)}: {_area_fix(config)} to the area your scenes cover, "
        "or add the products that cover it (inputs.landsat)"
    )


def _refused(
    config: RunConfig, outline: AreaOfInterest, footprints: BaseGeometry
) -> tuple[AreaOfInterest, float] | None:
    """Return the extent and share :func:`check_extent_coverage` refuses, or None.

    An extent from a layer's header is confirmed from its features' own bounds first
    (:func:`~pipelines.config.aoi.area_outline`): a GeoPackage keeps in ``gpkg_contents``
    the extent of features deleted since, and a run would be refused for them.
    """
    share = _share_covered(outline, footprints)
    if share >= COVERAGE_MIN:
        return None
    if config.aoi.bbox is not None:
        return outline, share
    features = area_outline(config, from_features=True)
    if features is None:  # unreadable: reading the features says why
        return None
    if _km2(features) <= EXTENT_CHECKED_KM2:
        return None
    share = _share_covered(features, footprints)
    return None if share >= COVERAGE_MIN else (features, share)


def _in_metres(area: AreaOfInterest) -> AreaOfInterest:
    """Return ``area`` in its UTM zone if its CRS is in degrees, else as it is."""
    return area.to_crs(area.utm_crs()) if area.crs.is_geographic else area


def _km2(area: AreaOfInterest) -> float:
    """Return the area of ``area`` in km²."""
    return _in_metres(area).geometry.area / 1e6


def _percent(share: float) -> str:
    """Write a share as a percentage: ``32.5``, ``0.4``, ``0.056`` (two figures under 1 %).

    Under 0.001 % (a city's scenes against a national extent), ``under 0.001``: no
    exponent in a message.
    """
    pct = 100.0 * share
    if pct >= 1.0:
        return f"{pct:.1f}"
    return f"{pct:.2g}" if pct >= 0.001 or pct == 0 else "under 0.001"


_NO_ST = "without Level-2 surface temperature"


def _without_surface_temperature(item: pystac.Item) -> str | None:
    """Why a Landsat product cannot give the run's LST, or None (a C2 L2SP product)."""
    if item.properties.get("ilots:product_type") != "landsat-c2-l2":
        return (
            f"a Level-1 product ({item.properties.get('ilots:processing_level', 'L1')}): the run "
            "takes LST from Level-2 surface temperature, so download the L2SP product (`ilots "
            "lst --method single-band` computes one Level-1 scene)"
        )
    half = half_note(item, needed="ST")
    if half is not None and "lwir11" not in item.assets:
        return half
    if "lwir11" not in item.assets and item.properties.get("ilots:processing_level") == "L2SP":
        return "without its ST_B10 file (surface temperature); download the product again, whole"
    if "lwir11" not in item.assets:
        return "no surface temperature band (an L2SR product); download the L2SP product"
    return None


def _indices_from_landsat(config: RunConfig) -> bool:
    """Whether the run takes NDVI, albedo and land cover from the Landsat reflectance."""
    chosen = config.composite.indices_from
    return chosen == "landsat" or (chosen == "auto" and not config.inputs.sentinel2)


def _warn_st_halves(items: Sequence[pystac.Item], source: str) -> None:
    """Warn about kept products that are the ST half of a USGS product without its SR item."""
    notes = [note for item in items if (note := half_note(item, needed="SR")) is not None]
    if notes:
        first = next(it for it in items if half_note(it, needed="SR") is not None)
        _warn(
            f"{source}: inputs.landsat: {len(notes)} product(s) without reflectance, so no "
            f"Landsat NDVI, albedo or land cover: e.g. {first.id} is {notes[0]}"
        )


def _reason_label(why: str) -> str:
    if why.endswith("outside the periods"):
        return "outside the periods"
    if why.startswith(
        ("a Level-1 product", "no surface temperature band", "without its ST_B10", "the SR half")
    ):
        return _NO_ST
    return _CLOUDY if why.startswith("cloud cover") else why


_CLOUDY = "too cloudy"


def _is_sensor(item: pystac.Item, sensor: str) -> bool:
    return str(item.properties.get("ilots:product_type", "")).startswith(_SENSOR_PREFIX[sensor])


def _counted(n: int, reason: str) -> str:
    """Return ``n`` products left out for ``reason`` as the error says it: 4 with their ..."""
    one, several = _COUNTED.get(reason, (reason, reason))
    return f"{n} {one if n == 1 else several}"


def _area_layer_key(config: RunConfig) -> str | None:
    """Return the config key of the vector file the area of interest comes from, or None.

    ``zones.iris``, ``zones.qpv``, ``zones.extra[i]`` (``aoi.zones``) or ``aoi.file``; None
    for a bounding box, whose degrees have no CRS to get wrong.
    """
    aoi = config.aoi
    if aoi.kind == "file":
        return "aoi.file"
    if aoi.kind != "zones" or aoi.zones is None:
        return None
    if aoi.zones in ("iris", "qpv"):
        return f"zones.{aoi.zones}"
    names = [layer.name for layer in config.zones.extra]
    return f"zones.extra[{names.index(aoi.zones)}]" if aoi.zones in names else None


def _check_found(
    config: RunConfig,
    sensor: str,
    items: Sequence[pystac.Item],
    reasons: dict[str, int],
    source: str,
    away: Sequence[str] = (),
    area: BaseGeometry | None = None,
    level: Sequence[str] = (),
    dates: Sequence[str] = (),
    clouds: Sequence[float] = (),
) -> None:
    sources = getattr(config.inputs, sensor)
    if items or not sources:
        return
    span = min(dates, default=""), max(dates, default="")
    when = f", acquired {span[0]}" + (f" to {span[1]}" if span[1] != span[0] else "")
    detail = {"outside the periods": when if dates else "",
              _CLOUDY: _cloud_text(clouds, config.inputs.max_cloud_cover)}  # fmt: skip
    why = "; ".join(
        _counted(n, reason) + detail.get(reason, "") for reason, n in reasons.items()
    ) or "no product found"  # fmt: skip
    text = (
        f"{source}: inputs.{sensor}: no {_SENSOR_NAME[sensor]} product within the periods and "
        f"area of interest ({why})"
    )
    if away and area is not None:
        more = f" and {len(away) - _FOOTPRINTS_SHOWN} more" if len(away) > _FOOTPRINTS_SHOWN else ""
        text += (
            f"; their footprints: {', '.join(away[:_FOOTPRINTS_SHOWN])}{more}; the area of "
            f"interest with its rural ring: {_bounds_text(area.bounds)}"
        )
        layer = _area_layer_key(config)
        if layer is not None:  # coordinates read in a wrong CRS put the area elsewhere
            text += (
                f"; is the CRS of {layer} right? The area lies where the CRS its file declares "
                "puts its coordinates"
            )
    if level:
        text += f"; e.g. {level[0]}"
    if sensor == "landsat" or config.composite.indices_from == "sentinel2":
        check = "periods, aoi and inputs.max_cloud_cover" if clouds else "periods and aoi"
        raise ConfigError(f"{text}; check the paths, {check}")
    _warn(text + "; indices will come from Landsat", code="no_sentinel2")


def _cloud_text(clouds: Sequence[float], limit: float | None) -> str:
    """``: 81 % > 70 %, inputs.max_cloud_cover``: the cloud covers of the products too cloudy."""
    if not clouds or limit is None:
        return ""
    low, high = (f"{round(v, 1):g}" for v in (min(clouds), max(clouds)))
    span = low if low == high else f"{low} to {high}"
    return f": {span} % > {limit:g} %, inputs.max_cloud_cover"
