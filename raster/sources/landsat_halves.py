"""USGS Level-2 products given as two STAC items: the SR and ST halves, and their merging.

USGS describes one Landsat Collection 2 L2SP product by two STAC items. The LandsatLook STAC
API gives ``<product>_SR`` (collection ``landsat-c2l2-sr``: surface reflectance, QA_PIXEL)
and ``<product>_ST`` (collection ``landsat-c2l2-st``: surface temperature ST_B10, ST_QA,
ST_CDIST ..., QA_PIXEL); a downloaded product holds ``<product>_SR_stac.json`` and
``<product>_ST_stac.json``. An item read from one half alone carries
:data:`HALF_PROPERTY` (``"SR"`` or ``"ST"``); :func:`merge_halves` joins the two halves of a
product into one item with both sets of assets, and :func:`half_note` says what a lone half
lacks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pystac

from raster.bands import band_table

__all__ = [
    "HALF_PROPERTY",
    "Half",
    "half_note",
    "merge_halves",
    "sibling_candidates",
    "split_half",
    "usgs_half",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Item property naming the half (``"SR"`` or ``"ST"``) an item was read from, when alone.
HALF_PROPERTY = "ilots:usgs_half"

#: The two halves: surface reflectance and surface temperature.
Half = Literal["SR", "ST"]
_OTHER: dict[str, Half] = {"SR": "ST", "ST": "SR"}
_COLLECTION: dict[str, Half] = {"landsat-c2l2-sr": "SR", "landsat-c2l2-st": "ST"}
_HOLDS = {"SR": "surface reflectance", "ST": "surface temperature"}
_FILE_SUFFIXES = ("_stac.json", ".json")


def split_half(item_id: str) -> tuple[str, Half | None]:
    """Split a USGS item id into the product id and its half: ``X_SR`` → ``("X", "SR")``."""
    for half in ("SR", "ST"):
        if item_id.upper().endswith(f"_{half}"):
            return item_id[: -len(half) - 1], half  # type: ignore[return-value]
    return item_id, None


def usgs_half(data: Mapping[str, Any], path: Path) -> Half | None:
    """Return the half of a USGS L2SP product an item JSON describes, or None.

    Told by the item's collection (``landsat-c2l2-sr`` / ``landsat-c2l2-st``), else by its
    id (``..._T1_SR``), else by its file name (``..._SR_stac.json``). Items of other
    catalogues (Planetary Computer's ``landsat-c2-l2`` holds both) are no half.
    """
    collection = str(data.get("collection", "")).lower()
    if collection in _COLLECTION:
        return _COLLECTION[collection]
    _, half = split_half(str(data.get("id", "")))
    if half is not None:
        return half
    name = path.name.upper()
    for candidate in ("SR", "ST"):
        if name.endswith((f"_{candidate}_STAC.JSON", f"_{candidate}.JSON")):
            return candidate  # type: ignore[return-value]
    return None


def sibling_candidates(path: Path, half: Half) -> list[Path]:
    """Files beside ``path`` that would hold the other half: ``X_SR.json`` → ``X_ST.json``."""
    other = _OTHER[half]
    return [
        path.with_name(path.name[: -len(f"_{half}{suffix}")] + f"_{other}{suffix}")
        for suffix in _FILE_SUFFIXES
        if path.name.endswith(f"_{half}{suffix}")
    ]


def half_note(item: pystac.Item, *, needed: Half | None = None) -> str | None:
    """Say what the lone half of a USGS product lacks, or None for a whole product.

    Parameters
    ----------
    item
        An ilots item (:func:`raster.sources.open_product`).
    needed
        Say it only when the item is the other half than this one (``"ST"``: the surface
        temperature is needed; ``"SR"``: the reflectance is). Default: for either half.

    Returns
    -------
    str or None
        ``"the SR half (X_SR.json, collection landsat-c2l2-sr: ...) of a USGS product without
        its ST item ..."``: one clause, to follow ``"<product id> is "``.
    """
    half = item.properties.get(HALF_PROPERTY)
    if half not in _OTHER or (needed is not None and half == needed):
        return None
    other = _OTHER[half]
    source = Path(str(item.properties.get("ilots:source", f"{item.id}_{half}.json")))
    named = sibling_candidates(source, half) or [source.with_name(f"{item.id}_{other}.json")]
    return (
        f"the {half} half ({source.name}, collection landsat-c2l2-{half.lower()}: "
        f"{_HOLDS[half]} only) of a USGS product without its {other} item ({item.id}_{other}, "
        f"collection landsat-c2l2-{other.lower()}: the {_HOLDS[other]}); give both (search or "
        f"catalogue both collections, or put the {other} item beside it as {named[0].name})"
    )


def _hrefs(item: pystac.Item) -> dict[str, str]:
    return {key: asset.href for key, asset in item.assets.items()}


def _joined(first: pystac.Item, second: pystac.Item) -> pystac.Item:
    """One item with the assets of both halves (band-table order), no half property."""
    sr, st = (first, second) if first.properties[HALF_PROPERTY] == "SR" else (second, first)
    merged = sr.clone()
    assets = {**{k: a.clone() for k, a in st.assets.items()}, **merged.assets}
    table = list(band_table(str(sr.properties.get("ilots:product_type"))))
    order = [k for k in table if k in assets] + [k for k in assets if k not in table]
    merged.assets = {}
    for key in order:
        merged.add_asset(key, assets[key])
    for key, value in st.properties.items():
        merged.properties.setdefault(key, value)
    del merged.properties[HALF_PROPERTY]
    return merged


def _combine(first: pystac.Item, second: pystac.Item) -> pystac.Item | None:
    """Return the one item two items of the same id make, or None when they stay two."""
    halves = {item.properties.get(HALF_PROPERTY) for item in (first, second)}
    kinds = {item.properties.get("ilots:product_type") for item in (first, second)}
    if halves == {"SR", "ST"} and len(kinds) == 1 and first.datetime == second.datetime:
        return _joined(first, second)
    mine, theirs = _hrefs(first).items(), _hrefs(second).items()
    if theirs <= mine:
        return first  # the same product read again (e.g. from its other half's file)
    if mine <= theirs:
        return second
    return None


def merge_halves(items: Iterable[pystac.Item]) -> list[pystac.Item]:
    """Join the SR and ST halves of each USGS product into one item, keeping the order.

    Two items of the same id whose :data:`HALF_PROPERTY` are ``"SR"`` and ``"ST"`` become one
    item with the assets of both, in the place of the first. An item whose band files are
    all in another item of the same id (the SR and ST JSONs of a downloaded product each
    read with the other) is that item read again, and is dropped. Any other items of one id
    (a ``.tar`` beside its folder) are all kept, for the caller to judge. The items given are
    never modified.

    Parameters
    ----------
    items
        ilots items (:func:`raster.sources.open_product`).

    Returns
    -------
    list of pystac.Item
    """
    merged: list[pystac.Item] = []
    first_of: dict[str, int] = {}
    for item in items:
        at = first_of.get(item.id)
        combined = None if at is None else _combine(merged[at], item)
        if at is None or combined is None:
            first_of.setdefault(item.id, len(merged))
            merged.append(item)
        else:
            if combined is not merged[at]:
                logger.debug("%s: its SR and ST items joined", item.id)
            merged[at] = combined
    return merged
