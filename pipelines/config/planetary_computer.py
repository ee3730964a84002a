"""Planetary Computer's storage: recognise the items that read it, and have them signed.

Planetary Computer keeps its products in Azure blob storage that refuses unsigned reads. An
item of any source (an item JSON saved from its Explorer or API, a static catalogue of its
items, a search) whose files are there is marked to be signed at each read
(:data:`raster.load.SIGN_PROPERTY`, :class:`raster.load.SigningRioDriver`), as a search with
``stac_api.sign: planetary_computer`` is; without the planetary-computer package, a one-line
:class:`~tiles.errors.ConfigError` names the input before any pixel is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

import pystac

from raster.load import SIGN_PROPERTY
from raster.sources.assets import load_json
from raster.sources.hrefs import split_curl
from tiles.errors import ConfigError

__all__ = [
    "found_on_planetary_computer",
    "planetary_computer_module",
    "reads_planetary_computer",
    "sign_planetary_computer",
]


def planetary_computer_module(needs: str) -> ModuleType:
    """Import planetary_computer; if it is missing, a one-line :class:`ConfigError`.

    ``needs``: what needs it, the start of the message.
    """
    try:
        import planetary_computer  # type: ignore[import-not-found]
    except ImportError as err:
        raise ConfigError(
            f"{needs} needs the planetary-computer package (pip install planetary-computer)"
        ) from err
    return planetary_computer


#: The signer of Planetary Computer's URLs (:func:`raster.load.sign_href`).
_PC_SIGNER = "planetary_computer"
#: The host of Planetary Computer's site and STAC API, which its items link to.
_PC_HOST = "planetarycomputer.microsoft.com"
#: Planetary Computer's Azure storage accounts of the products ilots reads (Landsat
#: Collection 2, Sentinel-2 L2A), named by the asset hrefs of its items wherever they are kept.
_PC_ACCOUNTS = frozenset({"landsateuwest", "sentinel2l2a01"})
_AZURE_BLOB = ".blob.core.windows.net"


def _azure_accounts(hrefs: Iterable[str]) -> set[str]:
    """Return the Azure storage accounts (``<account>.blob.core.windows.net``) of ``hrefs``.

    URLs, and GDAL ``/vsicurl/`` paths of URLs.
    """
    hosts = (urlparse(split_curl(href)[1]).hostname or "" for href in hrefs)
    return {host.removesuffix(_AZURE_BLOB) for host in hosts if host.endswith(_AZURE_BLOB)}


def _names_planetary_computer(data: Mapping[str, Any]) -> bool:
    """Whether an item's JSON names Planetary Computer: a link to it, or an ``msft:`` field."""
    links = [link for link in data.get("links") or [] if isinstance(link, Mapping)]
    linked = any(urlparse(str(link.get("href", ""))).hostname == _PC_HOST for link in links)
    return linked or any(str(key).startswith("msft:") for key in data.get("properties") or {})


def _on_planetary_computer(hrefs: Iterable[str], data: Callable[[], Mapping[str, Any]]) -> bool:
    """Whether ``hrefs`` include files in Planetary Computer's storage.

    Azure storage of one of its accounts, or of any account when the item's JSON (``data()``,
    read only then) names Planetary Computer; other Azure storage is not its to sign.
    """
    accounts = _azure_accounts(hrefs)
    return bool(accounts) and (
        not accounts.isdisjoint(_PC_ACCOUNTS) or _names_planetary_computer(data())
    )


def _metadata_json(item: pystac.Item) -> dict[str, Any]:
    """Return the item JSON an ilots item was built from, or ``{}`` (built from an MTL)."""
    path = Path(str(item.properties.get("ilots:metadata", "")))
    return load_json(path) if path.suffix == ".json" and path.is_file() else {}


def reads_planetary_computer(item: pystac.Item) -> bool:
    """Whether reading an ilots item reads Planetary Computer's storage (signed URLs only).

    Parameters
    ----------
    item
        An item of :func:`raster.sources.open_product`: its assets are the files it reads
        (local files, when a product's files sit beside its item JSON; else URLs).

    Returns
    -------
    bool
        True when an asset is in Azure storage of one of Planetary Computer's accounts
        (``landsateuwest``, ``sentinel2l2a01``), or of any account when the item JSON
        (``ilots:metadata``) links to ``planetarycomputer.microsoft.com`` or has an
        ``msft:`` property.
    """
    return _on_planetary_computer(
        (asset.href for asset in item.assets.values()), lambda: _metadata_json(item)
    )


def found_on_planetary_computer(item: pystac.Item) -> bool:
    """Whether a catalogue's or API's item has files in Planetary Computer's storage.

    Its hrefs may then carry a signature, which the run folder does not keep.
    """
    return _on_planetary_computer(
        (asset.href for asset in item.assets.values()),
        lambda: item.to_dict(include_self_link=False, transform_hrefs=False),
    )


def sign_planetary_computer(items: Sequence[pystac.Item], key: str) -> None:
    """Have the items that read Planetary Computer's storage signed at each read.

    Raises
    ------
    ConfigError
        If some do and the planetary-computer package is missing (one line naming ``key``).
    """
    unsigned = (it for it in items if SIGN_PROPERTY not in it.properties)
    found = [it for it in unsigned if reads_planetary_computer(it)]
    if not found:
        return
    planetary_computer_module(
        f"{key}: {len(found)} Planetary Computer item(s) (e.g. {found[0].id}), whose storage "
        "refuses unsigned reads: signing their URLs"
    )
    for item in found:  # signed at each read (raster.load.SigningRioDriver)
        item.properties[SIGN_PROPERTY] = _PC_SIGNER
