"""Sentinel-2 L2A item JSONs (Earth Search, Planetary Computer) and Earth Search COG folders.

An Earth Search COG folder holds ``B04.tif``, ``B08.tif``, ``SCL.tif`` ... beside the item
JSON; the item's remote hrefs are mapped to those files. Scale and offset follow the
processing baseline (:mod:`raster.sources.sentinel2_scaling`), taking Earth Search's
``earthsearch:boa_offset_applied`` into account; where the offset the item declares
(``raster:bands``, or STAC 1.1's ``raster:offset``) disagrees, an
:class:`~tiles.errors.IlotsWarning` says which value is used and why.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pystac

from raster.bands import SENTINEL2_L2A, BandSpec
from raster.sources.assets import (
    ItemAssets,
    RemotePolicy,
    declared_scaling,
    folder_jsons,
    item_datetime,
    json_bands,
    keeps_remote,
    load_json,
    new_item,
)
from raster.sources.sentinel2_scaling import (
    DATATAKE_PROPERTY,
    baseline_from_product_id,
    boa_scaling,
    datatake_of,
    format_baseline,
)
from raster.sources.sentinel2_sizes import check_band_sizes, declared_shape, native_resolution
from tiles.errors import IlotsWarning, MetadataError, UnrecognisedProductError

__all__ = ["find_item_json", "is_sentinel2_item", "sentinel2_item_from_stac"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_OFFSET_FLAGS = ("earthsearch:boa_offset_applied", "sentinel:boa_offset_applied")
_FILE_BAND = re.compile(r"(?:.*_)?(?P<band>B\d[\dA]|SCL)(?:_\d{2}m)?\.(?:tiff?|jp2)", re.IGNORECASE)
_TILE = re.compile(r"(?:_T|^S2[A-D]_)(\d{2}[A-Z]{3})_")
_REFERENCE_BANDS = ("red", "nir", "green", "blue", "nir08")


def is_sentinel2_item(data: Mapping[str, Any]) -> bool:
    """Whether a JSON object looks like a Sentinel-2 STAC item."""
    props = data.get("properties", {})
    platform = str(props.get("platform", "")).lower()
    collection = str(data.get("collection", "")).lower()
    return data.get("type") == "Feature" and (
        platform.startswith("sentinel-2") or collection.startswith(("sentinel-2", "sentinel-s2"))
    )


def find_item_json(folder: Path) -> Path | None:
    """Return the Sentinel-2 item JSON of an Earth Search COG folder, if there is one.

    Raises
    ------
    UnrecognisedProductError
        If the folder holds several Sentinel-2 item JSONs.
    """
    found = [path for path, data in folder_jsons(folder) if is_sentinel2_item(data)]
    if len(found) > 1:
        raise UnrecognisedProductError(
            f"{folder} holds {len(found)} Sentinel-2 item JSONs; give one item JSON at a time"
        )
    return found[0] if found else None


def _band_of(key: str, href: str) -> BandSpec | None:
    if key.endswith("-jp2"):
        return None  # Earth Search duplicates of the COGs
    if key in SENTINEL2_L2A:
        return SENTINEL2_L2A[key]
    by_file_key = {spec.file_key: spec for spec in SENTINEL2_L2A.values()}
    if key.upper() in by_file_key:
        return by_file_key[key.upper()]
    match = _FILE_BAND.fullmatch(href.rstrip("/").rsplit("/", 1)[-1])
    return by_file_key.get(match["band"].upper()) if match else None


def _baseline(data: Mapping[str, Any], source: str) -> str:
    props = data.get("properties", {})
    for key in ("s2:processing_baseline", "sentinel:processing_baseline"):
        if props.get(key):
            return format_baseline(str(props[key]), source=f"{source} ({key})")
    for text in (props.get("s2:product_uri"), props.get("sentinel:product_id"), data.get("id")):
        baseline = baseline_from_product_id(str(text or ""))
        if baseline:
            return format_baseline(baseline, source=source)
    raise MetadataError(
        f"{source}: no processing baseline (s2:processing_baseline, or _Nxxxx_ in the product "
        "name); it decides the BOA offset"
    )


def _mgrs_tile(data: Mapping[str, Any]) -> str | None:
    props = data.get("properties", {})
    if props.get("s2:mgrs_tile"):
        return str(props["s2:mgrs_tile"])
    if props.get("mgrs:utm_zone") and props.get("mgrs:latitude_band"):
        return (
            f"{int(props['mgrs:utm_zone']):02d}{props['mgrs:latitude_band']}"
            f"{props.get('mgrs:grid_square', '')}"
        )
    if props.get("sentinel:utm_zone"):
        return (
            f"{int(props['sentinel:utm_zone']):02d}{props.get('sentinel:latitude_band', '')}"
            f"{props.get('sentinel:grid_square', '')}"
        )
    for text in (props.get("s2:product_uri"), props.get("sentinel:product_id"), data.get("id")):
        match = _TILE.search(str(text or ""))
        if match:
            return match[1]
    return None


def _datatake(props: Mapping[str, Any], item_id: str) -> str | None:
    """Return the datatake from ``s2:datatake_id``, the product name or the item id."""
    names = ("s2:datatake_id", "s2:product_uri", "sentinel:product_id")
    return datatake_of(*(props.get(key) for key in names), item_id)


def _sun_elevation(props: Mapping[str, Any]) -> float | None:
    for key in ("view:sun_elevation", "eo:sun_elevation"):
        if props.get(key) is not None:
            return float(props[key])
    zenith = props.get("s2:mean_solar_zenith")
    return 90.0 - float(zenith) if zenith is not None else None


def sentinel2_item_from_stac(path: str | Path, *, remote: RemotePolicy = "auto") -> pystac.Item:
    """Build an ilots item from a Sentinel-2 L2A item JSON, or an Earth Search COG folder.

    Parameters
    ----------
    path
        The item JSON (Earth Search v0/v1, Planetary Computer), or a folder holding one JSON
        beside the band COGs it describes.
    remote
        What to do with band assets whose file is not beside the JSON: ``"auto"`` keeps their
        URLs only when no band file is local, ``"keep"`` always, ``"drop"`` never.

    Returns
    -------
    pystac.Item

    Raises
    ------
    UnrecognisedProductError
        If the JSON is not a Sentinel-2 item, or a folder holds none.
    MetadataError
        If the item has no processing baseline, or no time (``datetime``, else
        ``start_datetime``, else ``end_datetime``).
    ReadError
        If a local band file cannot be opened, or is not of its band's size (the item's
        ``proj:shape``, else relative to the product's other files:
        :func:`~raster.sources.sentinel2_sizes.check_band_sizes`).
    """
    if remote not in ("auto", "keep", "drop"):
        raise ValueError(f"remote must be 'auto', 'keep' or 'drop', not {remote!r}")
    path = Path(path).resolve()
    source = str(path)
    if path.is_dir():
        found = find_item_json(path)
        if found is None:
            raise UnrecognisedProductError(
                f"{path} holds no Sentinel-2 item JSON; an Earth Search COG folder needs the "
                "item JSON beside B04.tif, B08.tif ..."
            )
        path = found
    data = load_json(path)
    if not is_sentinel2_item(data):
        raise UnrecognisedProductError(f"{path} is not a Sentinel-2 STAC item")
    level = str(data.get("properties", {}).get("s2:product_type", "S2MSI2A"))
    item_id = str(data.get("id", path.stem))
    if "1C" in level.upper() or "_MSIL1C_" in item_id or item_id.endswith("_L1C"):
        raise UnrecognisedProductError(f"{path}: Sentinel-2 L1C is not supported; use L2A")
    props = data.get("properties", {})
    baseline = _baseline(data, str(path))
    flag_key = next((k for k in _OFFSET_FLAGS if k in props), None)
    applied = bool(props.get(flag_key)) if flag_key else False

    found_bands = json_bands(data.get("assets", {}), _band_of, path.parent)
    keep_remote = keeps_remote(remote, found_bands)
    built = ItemAssets()
    disagree: list[str] = []
    rule_offset = 0.0
    for name, band in found_bands.items():
        spec = band.spec
        declared = declared_scaling(band.asset)
        if spec.kind == "reflectance":
            scale, offset = boa_scaling(baseline, offset_applied=applied)
            rule_offset = offset
            scale = declared.get("scale", scale)
            if "offset" in declared and abs(declared["offset"] - offset) > 1e-12:
                disagree.append(f"{name} ({declared['offset']:g})")
        else:
            scale, offset = spec.scale, spec.offset
        built.add_json_band(
            band, scale=scale, offset=offset, keep_remote=keep_remote, properties=props
        )
    check_band_sizes(
        built.headers,
        {name: native_resolution(found_bands[name].spec) for name in built.headers},
        {
            name: shape
            for name, band in found_bands.items()
            if (shape := declared_shape(band.asset))
        },
    )
    if disagree:
        why = f"processing baseline {baseline}"
        if applied:
            why += f" with {flag_key}=true (offset already added to the pixels)"
        warnings.warn(
            f"{item_id}: the offset the item declares for {', '.join(disagree)} disagrees with "
            f"{why}; using offset {rule_offset:g}",
            IlotsWarning,
            stacklevel=2,
        )
    located = built.reference_footprint(_REFERENCE_BANDS)
    geometry, bbox = located or (data.get("geometry"), data.get("bbox"))
    platform = str(props.get("platform", "")).lower().replace(" ", "-") or None
    properties = {
        "platform": platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "ilots:product_type": "sentinel-2-l2a",
        "ilots:processing_level": "L2A",
        "ilots:source": source,
        "ilots:metadata": str(path),
        "eo:cloud_cover": props.get("eo:cloud_cover"),
        "view:sun_elevation": _sun_elevation(props),
        "s2:processing_baseline": baseline,
        "s2:mgrs_tile": _mgrs_tile(data),
        "s2:product_uri": props.get("s2:product_uri") or props.get("sentinel:product_id"),
        "ilots:boa_offset_applied": applied if flag_key else None,
        DATATAKE_PROPERTY: _datatake(props, item_id),
    }
    acquired = item_datetime(props, source=str(path))
    return new_item(
        item_id,
        geometry=geometry,
        bbox=bbox,
        acquired=acquired,
        properties=properties,
        assets=built.ordered(SENTINEL2_L2A),
    )
