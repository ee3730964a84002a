"""Landsat 8/9 products → STAC items: product folder, ``_MTL`` file, USGS ``.tar``, item JSON.

Each layout is reduced to a parsed MTL plus a way to find the product's files, and
:func:`~raster.sources.landsat_build.landsat_item_from_metadata` does the rest. A ``.tar`` is
read in place: its MTL with :mod:`tarfile`, its bands through GDAL ``/vsitar/`` paths. Item
JSONs go to :mod:`raster.sources.landsat_stac`.
"""

from __future__ import annotations

import logging
import posixpath
import tarfile
from pathlib import Path

import pystac

from raster.sources.assets import RemotePolicy
from raster.sources.landsat_build import landsat_item_from_metadata
from raster.sources.landsat_stac import landsat_item_from_mtl, landsat_item_from_stac
from raster.sources.mtl import MTL_SUFFIXES, landsat_metadata, parse_mtl
from tiles.errors import ProductError, UnrecognisedProductError

__all__ = ["find_mtls", "is_tar", "landsat_item"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def is_tar(path: Path) -> bool:
    """Whether ``path`` is named like a (possibly gzipped) tar archive."""
    return path.name.lower().endswith(_TAR_SUFFIXES)


def find_mtls(folder: Path) -> list[Path]:
    """Return the MTL files of a product folder, preferred form first; none without an MTL.

    The forms are preferred in the order of :data:`~raster.sources.mtl.MTL_SUFFIXES`
    (``.xml``, ``.txt``, ``.json``).

    Raises
    ------
    UnrecognisedProductError
        If the folder holds the MTL files of more than one product.
    """
    found: dict[str, list[Path]] = {}
    for suffix in MTL_SUFFIXES:
        for path in sorted(folder.glob(f"*{suffix}")):
            found.setdefault(path.name[: -len(suffix)], []).append(path)
    if len(found) > 1:
        raise UnrecognisedProductError(
            f"{folder} holds {len(found)} Landsat products ({', '.join(sorted(found))}); "
            "give one product folder or MTL file at a time"
        )
    return next(iter(found.values()), [])


def _mtl_forms(mtl: Path) -> list[Path]:
    """Return an MTL file given directly, then its other forms beside it.

    ``X_MTL.xml`` given is read first; a broken one falls back to ``X_MTL.txt`` and
    ``X_MTL.json`` (in the order of :data:`~raster.sources.mtl.MTL_SUFFIXES`), as in a
    product folder (:func:`find_mtls`).
    """
    given = next(suffix for suffix in MTL_SUFFIXES if mtl.name.endswith(suffix))
    stem = mtl.name[: -len(given)]
    others = (mtl.with_name(stem + suffix) for suffix in MTL_SUFFIXES if suffix != given)
    return [mtl, *(path for path in others if path.is_file())]


def _open_tar(tar_path: Path) -> tarfile.TarFile:
    """Open a (possibly compressed) tar; one line when it is empty or no tar at all."""
    try:
        return tarfile.open(tar_path)
    except tarfile.ReadError as err:  # tarfile lists each compression it tried, line by line
        what = "is empty" if tar_path.stat().st_size == 0 else "is not a tar archive"
        raise ProductError(f"{tar_path} {what}; download it again") from err


def _item_from_tar(tar_path: Path) -> pystac.Item:
    tar_path = tar_path.resolve()
    try:
        with _open_tar(tar_path) as archive:
            members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
            mtl_member = next(
                (
                    members[name]
                    for suffix in MTL_SUFFIXES
                    for name in sorted(members)
                    if name.endswith(suffix)
                ),
                None,
            )
            if mtl_member is None:
                raise UnrecognisedProductError(
                    f"{tar_path} holds no _MTL.txt/.json/.xml; is it a USGS Landsat product tar?"
                )
            handle = archive.extractfile(mtl_member)
            content = handle.read() if handle is not None else b""
    except PermissionError:
        raise  # open_product says so
    except (tarfile.TarError, EOFError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ProductError(
            f"{tar_path}: cannot read the tar ({reason}); download it again"
        ) from err
    fmt = mtl_member.name.rsplit(".", 1)[-1].lower()
    # GDAL finds members by their normalised name: "./x.TIF" (tar -C dir .) as "x.TIF".
    mtl_href = f"/vsitar/{tar_path}/{posixpath.normpath(mtl_member.name)}"
    meta = landsat_metadata(
        parse_mtl(content, fmt, source=mtl_href),  # type: ignore[arg-type]
        source=mtl_href,
    )

    def locate(name: str) -> tuple[str, int | None] | None:
        member = members.get(name)
        if member is None:
            return None
        return f"/vsitar/{tar_path}/{posixpath.normpath(member.name)}", member.size

    return landsat_item_from_metadata(
        meta, locate, source=str(tar_path), metadata_href=mtl_href, beside=members
    )


def landsat_item(path: str | Path, *, remote: RemotePolicy = "auto") -> pystac.Item:
    """Build the item of a Landsat 8/9 product.

    Parameters
    ----------
    path
        A product folder, one of its ``_MTL.txt`` / ``_MTL.json`` / ``_MTL.xml`` files (a
        broken one falls back to its other forms beside it, as in a folder), the
        USGS ``.tar`` (read in place through GDAL ``/vsitar/``), or a STAC item JSON (USGS
        ``_SR_stac.json`` / ``_ST_stac.json``, Planetary Computer, odc-stac style).
    remote
        For item JSONs only, see :func:`~raster.sources.landsat_stac.landsat_item_from_stac`.

    Returns
    -------
    pystac.Item
        Shaped as the contract in :mod:`raster.sources` says. Files listed in the MTL but
        absent are left out.

    Raises
    ------
    UnrecognisedProductError
        If ``path`` is none of the layouts above.
    UnsupportedProductError
        For Landsat 4–7 or product levels without a band table.
    MetadataError
        If the MTL lacks a field ilots needs.
    ReadError
        If a band file cannot be opened or is truncated.
    """
    path = Path(path)
    source = str(path.resolve())
    if path.is_dir():
        mtl_paths = find_mtls(path)
        if not mtl_paths:
            raise UnrecognisedProductError(
                f"{path} has no *_MTL.txt/.json/.xml; a Landsat folder needs the product's MTL"
            )
        return landsat_item_from_mtl(mtl_paths, source=source)
    if path.name.endswith(MTL_SUFFIXES):
        return landsat_item_from_mtl(_mtl_forms(path), source=source)
    if is_tar(path):
        return _item_from_tar(path)
    if path.suffix.lower() == ".json":
        return landsat_item_from_stac(path, remote=remote)
    raise UnrecognisedProductError(
        f"{path} is not a Landsat product folder, _MTL file, .tar or item JSON"
    )
