"""One entry point for every product layout: :func:`open_product` and :func:`open_products`."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pystac

from raster.sources.assets import (
    folder_jsons,
    invalid_jsons,
    load_json,
    permission_denied,
)
from raster.sources.landsat import find_mtls, is_tar, landsat_item
from raster.sources.landsat_build import LANDSAT_ITEM_ID
from raster.sources.landsat_halves import merge_halves, split_half
from raster.sources.mtl import MTL_SUFFIXES
from raster.sources.sentinel2 import is_safe, sentinel2_item
from raster.sources.sentinel2_stac import find_item_json, is_sentinel2_item
from tiles.errors import (
    IlotsError,
    IlotsWarning,
    ProductNotFoundError,
    ReadError,
    UnrecognisedProductError,
    UnsupportedProductError,
)

__all__ = ["RECOGNISED_LAYOUTS", "open_product", "open_products", "permission_error"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: What :func:`open_product` recognises, as listed in its error message.
RECOGNISED_LAYOUTS = (
    "a Landsat 8/9 product folder",
    "its _MTL.txt/.json/.xml",
    "the USGS .tar",
    "a Landsat STAC item JSON (USGS, Planetary Computer)",
    "a Sentinel-2 L2A .SAFE folder, its MTD_MSIL2A.xml or its .zip",
    "an Earth Search COG folder with its item JSON",
    "a Sentinel-2 L2A item JSON (Earth Search, Planetary Computer)",
)


def _unrecognised(path: Path, why: str = "") -> UnrecognisedProductError:
    reason = f" ({why})" if why else ""
    err = UnrecognisedProductError(
        f"{path} is not a product ilots recognises{reason}; expected "
        + "; ".join(RECOGNISED_LAYOUTS)
    )
    err.reason = why
    return err


def _is_landsat_json(data: dict[str, Any]) -> bool:
    return data.get("type") == "Feature" and LANDSAT_ITEM_ID.match(str(data.get("id"))) is not None


def _open_json(path: Path) -> pystac.Item:
    data = load_json(path)
    if _is_landsat_json(data):
        return landsat_item(path)
    if is_sentinel2_item(data):
        return sentinel2_item(path)
    raise _unrecognised(path, "a JSON that is neither a Landsat nor a Sentinel-2 STAC item")


def _open_folder(path: Path) -> pystac.Item:
    if is_safe(path):
        return sentinel2_item(path)
    if (path / "MTD_MSIL1C.xml").is_file():
        raise UnsupportedProductError(f"{path} is a Sentinel-2 L1C product; ilots reads L2A")
    if find_mtls(path):
        return landsat_item(path)
    if find_item_json(path) is not None:
        return sentinel2_item(path)
    item_jsons = _landsat_jsons(path)
    if item_jsons:
        return _one_product(path, item_jsons)
    inner = [p.name for p in sorted(path.iterdir()) if p.is_dir() and _has_product(p)]
    if len(inner) == 1:  # X.SAFE in X.SAFE: what Windows' "Extract all" makes of a .zip
        return _open_folder(path / inner[0])
    if inner:
        raise _unrecognised(
            path,
            f"it holds {len(inner)} product folders: give them one by one, or a glob such "
            f"as {path / '*'} (open_products in Python)",
        )
    invalid = invalid_jsons(path)
    if invalid:  # an item JSON cut short, most likely
        raise invalid[0]
    raise _unrecognised(path, "no MTL, MTD_MSIL2A.xml or item JSON inside")


def _landsat_jsons(folder: Path) -> dict[str, list[Path]]:
    """Return a folder's Landsat item JSONs by product id (a product's SR and ST together)."""
    found: dict[str, list[Path]] = {}
    for path, data in folder_jsons(folder):
        if _is_landsat_json(data):
            found.setdefault(split_half(str(data["id"]))[0], []).append(path)
    return found


def _one_product(folder: Path, item_jsons: dict[str, list[Path]]) -> pystac.Item:
    """Return the item of the one product whose item JSONs a folder holds (SR and ST joined)."""
    if len(item_jsons) > 1:
        raise _unrecognised(
            folder,
            f"it holds the item JSONs of {len(item_jsons)} Landsat products: give them one by "
            f"one, or a glob such as {folder / '*.json'} (open_products in Python)",
        )
    (paths,) = item_jsons.values()
    return merge_halves(landsat_item(p) for p in paths)[0]


def _has_product(folder: Path) -> bool:
    try:
        return is_safe(folder) or any(folder.glob("*_MTL.*")) or any(folder.glob("*.json"))
    except PermissionError:  # it may be one: opening it says what keeps it out of reach
        return True


def open_product(path: str | Path) -> pystac.Item:
    """Read any supported product into one STAC item (the contract in :mod:`raster.sources`).

    Parameters
    ----------
    path
        A Landsat 8/9 product folder, one of its ``_MTL`` files, the USGS ``.tar``, a Landsat
        STAC item JSON; a Sentinel-2 L2A ``.SAFE`` folder, its ``MTD_MSIL2A.xml`` or its
        ``.zip`` (read in place), an Earth Search COG folder, or a Sentinel-2 item JSON.

    Returns
    -------
    pystac.Item

    Raises
    ------
    ProductNotFoundError
        If ``path`` does not exist.
    UnrecognisedProductError
        If ``path`` is none of the layouts above; the message lists them.
    UnsupportedProductError, MetadataError, ReadError
        From the readers; a :class:`ReadError` too for a file or folder ilots may not read.
    """
    path = Path(path).expanduser()
    try:
        return _open(path)
    except PermissionError as err:
        raise permission_error(err, path) from err


def permission_error(err: PermissionError, path: Path) -> ReadError:
    """Return the error for ``err``, met reading ``path``: one line, and the fix.

    It names the folder whose permissions keep ``path`` out of reach, else the file itself.
    """
    return permission_denied(_kept_out(Path(err.filename or path)))


def _kept_out(path: Path) -> Path:
    """Return the folder whose permissions keep ``path`` out of reach, else ``path`` itself."""
    for inner in [*reversed(path.parents), path]:
        try:
            inner.stat()
        except PermissionError:  # its folder may not be searched
            return inner.parent
        except OSError:
            break
    return path


def _open(path: Path) -> pystac.Item:
    if not path.exists():
        raise ProductNotFoundError(f"{path} does not exist; check the product path")
    if "_MSIL1C_" in path.name:  # a folder or its .zip
        raise UnsupportedProductError(
            f"{path} is a Sentinel-2 L1C product; ilots reads L2A (download the MSIL2A one)"
        )
    if path.is_dir():
        return _open_folder(path)
    name = path.name
    if name.endswith(MTL_SUFFIXES):
        return landsat_item(path)
    if is_tar(path):
        return landsat_item(path)
    if is_safe(path):
        return sentinel2_item(path)
    if path.suffix.lower() == ".json":
        return _open_json(path)
    if path.suffix.lower() in (".tif", ".tiff", ".jp2") and _has_product(path.parent):
        raise _unrecognised(path, f"one band file of a product: give its folder {path.parent}")
    raise _unrecognised(path)


def open_products(
    paths: Iterable[str | Path], *, on_error: Literal["raise", "skip"] = "raise"
) -> list[pystac.Item]:
    """Read many products, in order.

    Parameters
    ----------
    paths
        Product paths, as for :func:`open_product`.
    on_error
        ``"raise"`` stops at the first bad product; ``"skip"`` warns
        (:class:`~tiles.errors.IlotsWarning`) and goes on without it.

    Returns
    -------
    list of pystac.Item
        The items of the products that could be read; the SR and ST items of a USGS product
        (:func:`~raster.sources.landsat_halves.merge_halves`) give one item.

    Raises
    ------
    ValueError
        If ``on_error`` is not ``"raise"`` or ``"skip"``.
    IlotsError
        The first product error, when ``on_error="raise"``.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    items: list[pystac.Item] = []
    for path in paths:
        try:
            items.append(open_product(path))
        except IlotsError as err:
            if on_error == "raise":
                raise
            warnings.warn(
                IlotsWarning(f"skipping product {path}: {err}", code="skipped_input"), stacklevel=2
            )
    return merge_halves(items)
