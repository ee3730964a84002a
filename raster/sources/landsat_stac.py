"""Landsat STAC item JSONs (USGS, Planetary Computer, odc-stac style) → ilots items.

A USGS item sits beside the product in a downloaded folder (``..._SR_stac.json`` and
``..._ST_stac.json``) while its hrefs point to USGS servers; USGS's STAC API gives the same two
halves as items ``<id>_SR`` and ``<id>_ST``. Either half is read with the other when its JSON
is beside it (:mod:`raster.sources.landsat_halves`); alone, the item says which half it is
(``ilots:usgs_half``). When the product's MTL is beside
the JSON, the item is built from the MTL and the local files exactly as for the folder, so
every layout of one product gives the same assets. Otherwise the JSON is all there is: assets
are mapped to local files of the same name where those exist, scale/offset come from the
item's ``raster:bands`` or STAC 1.1 ``raster:scale``/``raster:offset`` (or the band table's
defaults, with a warning), and the grid of remote
files is taken from the item's projection fields.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pystac

from raster.bands import BandSpec, band_table
from raster.sources.assets import (
    ItemAssets,
    RemotePolicy,
    band_asset,
    declared_scaling,
    href_name,
    item_datetime,
    json_bands,
    keeps_remote,
    load_json,
    local_twin,
    new_item,
    remote_proj,
)
from raster.sources.landsat_build import (
    LANDSAT_ITEM_ID,
    LANDSAT_PRODUCT_ID,
    band_scaling,
    check_spacecraft,
    landsat_item_from_metadata,
    landsat_product_type,
)
from raster.sources.landsat_halves import (
    HALF_PROPERTY,
    Half,
    sibling_candidates,
    split_half,
    usgs_half,
)
from raster.sources.mtl import MTL_SUFFIXES, landsat_metadata, read_first_mtl, read_mtl
from tiles.errors import IlotsWarning, MetadataError, UnrecognisedProductError

__all__ = [
    "landsat_item_from_mtl",
    "landsat_item_from_stac",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_FILE_BAND = re.compile(LANDSAT_PRODUCT_ID.pattern + r"_(?P<band>.+)\.tiff?", re.IGNORECASE)
_REFERENCE_BANDS = ("red", "nir08", "lwir11", "green", "blue")


def landsat_item_from_mtl(mtl_paths: Sequence[Path], *, source: str) -> pystac.Item:
    """Build the item of a product from its local MTL and the files beside it.

    ``mtl_paths`` are the product's MTL files, preferred first: the first that can be read
    is (:func:`~raster.sources.mtl.read_first_mtl`).
    """
    mtl_path, meta = read_first_mtl([path.resolve() for path in mtl_paths])
    folder = mtl_path.parent

    def locate(name: str) -> tuple[str, int | None] | None:
        path = folder / name
        return (str(path), None) if path.is_file() else None

    return landsat_item_from_metadata(
        meta, locate, source=source, metadata_href=str(mtl_path),
        beside=(path.name for path in folder.iterdir()),
    )  # fmt: skip


def _product_id(data: Mapping[str, Any], source: str) -> re.Match[str]:
    """Return the USGS product id of an item: its id, or its files' for a shorter id.

    Planetary Computer's ids leave out the processing date (``LC08_L2SP_047027_20201204_02_T1``)
    while its files keep the product's names, so the product id comes from them.
    """
    item_id = str(data.get("id", ""))
    match = LANDSAT_PRODUCT_ID.match(item_id)
    if match is not None:
        return match
    scene = LANDSAT_ITEM_ID.match(item_id)
    if scene is None:
        raise UnrecognisedProductError(
            f"{source}: item id {item_id!r} is not a Landsat product id (LC08_L2SP_...)"
        )
    fields = ("sensor", "satellite", "level", "path", "row", "acquired", "collection", "category")
    for asset in data.get("assets", {}).values():
        named = _FILE_BAND.fullmatch(href_name(str(asset.get("href", ""))))
        if named is not None and all(named[f] == scene[f] for f in fields):
            return LANDSAT_PRODUCT_ID.match(named.group(0))  # type: ignore[return-value]
    raise UnrecognisedProductError(
        f"{source}: item {item_id!r} has no file named after its Landsat product "
        "(LC08_L2SP_..._ST_B10.TIF ...), whose id gives the processing date"
    )


def _local_mtls(data: Mapping[str, Any], folder: Path, product_id: str) -> list[Path]:
    """Return the product's MTL files beside its item JSON, preferred form first."""
    named = [folder / f"{product_id}{suffix}" for suffix in MTL_SUFFIXES]
    found = [path for path in named if path.is_file()]
    if found:
        return found
    for asset in data.get("assets", {}).values():
        href = str(asset.get("href", ""))
        if href_name(href).endswith(MTL_SUFFIXES):
            twin = local_twin(href, folder)
            if twin is not None:
                return [twin]
    return []


def _band_of(key: str, href: str, table: Mapping[str, BandSpec]) -> BandSpec | None:
    """Return the band an item asset holds: from the file name, else from the asset key."""
    by_file_key = {spec.file_key: spec for spec in table.values()}
    match = _FILE_BAND.fullmatch(href_name(href))
    if match and match["band"].upper() in by_file_key:
        return by_file_key[match["band"].upper()]
    stem = key.rsplit(".", 1)[0] if key.upper().endswith((".TIF", ".TIFF")) else key
    return by_file_key.get(stem.upper()) or table.get(key)


def _sibling(path: Path, data: Mapping[str, Any], half: Half | None) -> Mapping[str, Any] | None:
    """Return the JSON of the product's other USGS half beside ``path`` (same product), if any.

    ``X_SR_stac.json`` goes with ``X_ST_stac.json`` (a downloaded product), ``X_SR.json`` with
    ``X_ST.json`` (the LandsatLook STAC API's items, saved under their ids).
    """
    if half is None:
        return None
    product, _ = split_half(str(data.get("id", "")))
    for candidate in sibling_candidates(path, half):
        if not candidate.is_file():
            continue
        try:
            other = load_json(candidate)
        except MetadataError:
            continue
        if split_half(str(other.get("id", "")))[0] == product and usgs_half(
            other, candidate
        ) not in (None, half):
            return other
    return None


def _assets_of(
    data: Mapping[str, Any], sibling: Mapping[str, Any] | None
) -> dict[str, Mapping[str, Any]]:
    """Return the JSON's assets, plus those of its USGS SR/ST sibling."""
    assets = dict(data.get("assets", {}))
    for key, value in (sibling or {}).get("assets", {}).items():
        assets.setdefault(key, value)
    return assets


def _scaling(asset: Mapping[str, Any], spec: BandSpec) -> tuple[float, float, bool]:
    declared = declared_scaling(asset)
    if spec.kind in ("reflectance", "temperature") and "scale" not in declared:
        return spec.scale, spec.offset, False
    return declared.get("scale", spec.scale), declared.get("offset", spec.offset), True


def _properties(
    data: Mapping[str, Any], match: re.Match[str], product_type: str, source: str
) -> dict[str, Any]:
    props = data.get("properties", {})
    platform = str(
        props.get("platform") or props.get("eo:platform") or f"landsat_{int(match['satellite'])}"
    )
    instruments = props.get("instruments") or str(props.get("eo:instrument", "OLI_TIRS")).split("_")
    return {
        "platform": platform.lower().replace("_", "-"),
        "constellation": "landsat",
        "instruments": [str(i).lower() for i in instruments],
        "ilots:product_type": product_type,
        "ilots:processing_level": match["level"],
        "eo:cloud_cover": props.get("eo:cloud_cover"),
        "view:sun_elevation": props.get("view:sun_elevation", props.get("eo:sun_elevation")),
        "view:sun_azimuth": props.get("view:sun_azimuth", props.get("eo:sun_azimuth")),
        "landsat:wrs_path": match["path"],
        "landsat:wrs_row": match["row"],
        "landsat:collection_number": match["collection"],
        "landsat:collection_category": match["category"],
        "ilots:source": source,
        "ilots:metadata": source,
    }


def landsat_item_from_stac(path: str | Path, *, remote: RemotePolicy = "auto") -> pystac.Item:
    """Build an ilots item from a Landsat STAC item JSON.

    Parameters
    ----------
    path
        The item JSON (USGS ``_SR_stac.json``/``_ST_stac.json``, any STAC version; Planetary
        Computer or odc-stac style).
    remote
        What to do with band assets whose file is not beside the JSON: ``"auto"`` keeps their
        URLs only when no band file is local (a remote item; a local product then has exactly
        the bands on disk, as its folder would), ``"keep"`` always keeps them, ``"drop"``
        never does.

    Returns
    -------
    pystac.Item
        When the product's MTL is beside the JSON, the same item as for the product folder
        (plus, with ``remote="keep"``, the remote-only bands).

    Raises
    ------
    UnrecognisedProductError
        If the JSON is not a Landsat item.
    UnsupportedProductError
        For Landsat 4–7 or a Level-1 item without its MTL (its scaling needs the MTL).
    MetadataError, ReadError
    """
    if remote not in ("auto", "keep", "drop"):
        raise ValueError(f"remote must be 'auto', 'keep' or 'drop', not {remote!r}")
    path = Path(path).resolve()
    source = str(path)
    data = load_json(path)
    if data.get("type") != "Feature" or not isinstance(data.get("assets"), Mapping):
        raise UnrecognisedProductError(f"{source} is not a STAC item (no Feature with assets)")
    match = _product_id(data, source)
    product_id = match.group(0)
    props = data.get("properties", {})
    platform = str(
        props.get("platform") or props.get("eo:platform") or f"LANDSAT_{int(match['satellite'])}"
    )
    check_spacecraft(platform.upper().replace("-", "_"), product_id)
    product_type = landsat_product_type(int(match["collection"]), match["level"], source=source)
    table = band_table(product_type)
    folder = path.parent
    half = usgs_half(data, path) if match["level"] == "L2SP" else None
    sibling = _sibling(path, data, half)
    assets_json = _assets_of(data, sibling)

    mtl_paths = _local_mtls(data, folder, product_id)
    if mtl_paths:
        item = landsat_item_from_mtl(mtl_paths, source=source)
        if remote == "keep":
            mtl_path = item.properties["ilots:metadata"]
            meta = landsat_metadata(read_mtl(mtl_path), source=mtl_path)
            for key, asset in assets_json.items():
                spec = _band_of(key, str(asset.get("href", "")), table)
                if spec is None or spec.name in item.assets:
                    continue
                scaling = band_scaling(meta, spec)
                item.add_asset(
                    spec.name,
                    band_asset(
                        str(asset["href"]),
                        spec,
                        scale=scaling.scale,
                        offset=scaling.offset,
                        proj=remote_proj(asset, props),
                        extra=scaling.extra,
                    ),
                )
        return item
    if not product_type.endswith("l2"):
        raise MetadataError(
            f"{source}: a Level-1 item needs the product's MTL beside it (for SUN_ELEVATION, "
            "K1/K2); put the _MTL file in the same folder"
        )

    found = json_bands(assets_json, lambda key, href: _band_of(key, href, table), folder)
    keep_remote = keeps_remote(remote, found)
    built = ItemAssets()
    defaulted: list[str] = []
    for name, band in found.items():
        scale, offset, from_item = _scaling(band.asset, band.spec)
        if not from_item:
            defaulted.append(name)
        extra = (
            {"ilots:empty": True}
            if match["level"] == "L2SR" and band.spec.file_key.startswith("ST_")
            else None
        )
        built.add_json_band(
            band,
            scale=scale,
            offset=offset,
            keep_remote=keep_remote,
            properties=props,
            extra=extra,
        )
    if defaulted:
        warnings.warn(
            f"{product_id}: item {source} gives no scale/offset for {', '.join(defaulted)} "
            "and its MTL is not beside it; using the Collection 2 defaults from raster.bands",
            IlotsWarning,
            stacklevel=2,
        )
    located = built.reference_footprint(_REFERENCE_BANDS)
    geometry, bbox = located or (data.get("geometry"), data.get("bbox"))
    acquired = item_datetime(props, source=source)
    properties = _properties(data, match, product_type, source)
    if half is not None and sibling is None:
        properties[HALF_PROPERTY] = half
    return new_item(
        product_id,
        geometry=geometry,
        bbox=bbox,
        acquired=acquired,
        properties=properties,
        assets=built.ordered(table),
    )
