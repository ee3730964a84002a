"""Sentinel-2 L2A products → STAC items: SAFE folders, Earth Search COG folders, item JSONs.

The readers live in :mod:`raster.sources.sentinel2_safe` (``.SAFE`` with ``MTD_MSIL2A.xml``)
and :mod:`raster.sources.sentinel2_stac` (Earth Search / Planetary Computer item JSONs and
Earth Search COG folders); the offset rule in :mod:`raster.sources.sentinel2_scaling`.
"""

from __future__ import annotations

from pathlib import Path

import pystac

from raster.sources.assets import RemotePolicy
from raster.sources.sentinel2_safe import MTD_NAME, is_safe_zip, sentinel2_item_from_safe
from raster.sources.sentinel2_stac import sentinel2_item_from_stac
from tiles.errors import UnrecognisedProductError

__all__ = ["is_safe", "sentinel2_item"]


def is_safe(path: Path) -> bool:
    """Whether ``path`` is an L2A SAFE folder, its ``MTD_MSIL2A.xml``, or a zip holding it."""
    if path.is_file():
        return path.name == MTD_NAME or is_safe_zip(path)
    return (path / MTD_NAME).is_file()


def sentinel2_item(path: str | Path, *, remote: RemotePolicy = "auto") -> pystac.Item:
    """Build the item of a Sentinel-2 L2A product.

    Parameters
    ----------
    path
        A ``.SAFE`` folder, its ``MTD_MSIL2A.xml`` or the ``.zip`` holding it (the Copernicus
        Data Space download, read in place); an Earth Search COG folder (band COGs
        beside the item JSON); or an Earth Search / Planetary Computer item JSON.
    remote
        For item JSONs, see :func:`~raster.sources.sentinel2_stac.sentinel2_item_from_stac`.

    Returns
    -------
    pystac.Item
        Reflectance bands scale as ``DN * 1e-4 + offset``, with offset ``-0.1`` exactly when
        the processing baseline is 04.00 or later and the pixels do not already carry it.

    Raises
    ------
    UnrecognisedProductError
        If ``path`` is none of the layouts above.
    MetadataError, ReadError
    """
    path = Path(path)
    if is_safe(path):
        return sentinel2_item_from_safe(path)
    if path.is_dir() or path.suffix.lower() == ".json":
        return sentinel2_item_from_stac(path, remote=remote)
    raise UnrecognisedProductError(
        f"{path} is not a Sentinel-2 L2A SAFE, Earth Search COG folder or item JSON"
    )
