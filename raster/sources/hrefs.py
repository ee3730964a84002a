"""Hrefs: the file on this machine, or the URL, that a path, file URL or GDAL path names.

An item names each of its files by an href: a path; a ``file:`` URL, percent-encoded as
pystac and QGIS write it (``file:///home/a/Mes%20donn%C3%A9es/x.TIF`` for a folder
``Mes données``); a GDAL path reading a member of a local archive (``/vsitar/``,
``/vsizip/``...) or a URL (``/vsicurl/https://...``); or a URL. :func:`href_path` parses
them without touching the disk, in this machine's path syntax or, for tests, in the other
one (``C:/data/x.TIF``, ``file:///C:/data/x.TIF``, ``/vsizip/C:/data/x.zip/x.TIF`` are
Windows paths); :func:`href_file` finds the file a read opens.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = ["gdal_path", "href_file", "href_path", "remote_host", "split_curl"]

#: GDAL's file systems that read a member of an archive, whose path follows them.
_ARCHIVES = ("/vsizip/", "/vsitar/", "/vsigzip/", "/vsi7z/", "/vsirar/")
#: GDAL's file systems that read the URL following them.
_CURL = ("/vsicurl/", "/vsicurl_streaming/")
#: Any GDAL file system: the archives', the network's (``/vsis3/``...), memory's.
_GDAL = re.compile(r"/vsi[a-z0-9_]+[/?]")
#: GDAL's file systems of cloud storage, whose path starts with the bucket (or container).
_CLOUD = re.compile(r"/vsi(s3|gs|az|adls|oss|swift)(?:_streaming)?/([^/]+)")
#: A Windows drive: ``C:``, or ``C|`` as old file URLs write it.
_DRIVE = re.compile(r"[A-Za-z][:|]")
#: The hosts of a file URL that mean this machine.
_LOCAL_HOSTS = ("", "localhost")


def split_curl(href: str) -> tuple[str, str]:
    """Split a GDAL ``/vsicurl/`` path into that prefix and its URL; ``("", href)`` otherwise.

    ``/vsicurl/https://host/x.TIF`` gives ``("/vsicurl/", "https://host/x.TIF")``.
    """
    for prefix in _CURL:
        if href.startswith(prefix):
            return prefix, href[len(prefix) :]
    return "", href


def remote_host(href: str) -> str | None:
    """Return where a read of ``href`` goes over the network, or None for a file of this machine.

    The host name of an ``http(s)`` URL, also behind GDAL's ``/vsicurl/``
    (``landsatlook.usgs.gov``); ``scheme://bucket`` for cloud storage, as a URL
    (``s3://sentinel-cogs/...``) or a GDAL path (``/vsis3/sentinel-cogs/...``) names it.
    A GDAL archive path gives its archive's (``/vsizip//vsicurl/https://host/x.zip/b.TIF``:
    ``host``). Paths, ``file:`` URLs of this machine and GDAL's memory paths give None.
    """
    for prefix in _ARCHIVES:
        if href.startswith(prefix):
            return remote_host(_unbraced(href[len(prefix) :]))
    url = split_curl(href)[1]
    cloud = _CLOUD.match(url)
    if cloud is not None:
        return f"{cloud[1]}://{cloud[2]}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if len(scheme) <= 1 or (scheme == "file" and parts.netloc.lower() in _LOCAL_HOSTS):
        return None  # a path (one letter: a Windows drive) or a file of this machine
    if scheme in ("http", "https"):
        return parts.hostname or parts.netloc
    return f"{scheme}://{parts.netloc}"


def href_path(href: str, *, windows: bool = os.name == "nt") -> PurePath | None:
    """Return the local path ``href`` names, or None when it names no file of this machine.

    Parameters
    ----------
    href
        A path; a ``file:`` URL (percent-decoded; its host empty or ``localhost``, or on
        Windows a server's, giving a UNC path); or a GDAL archive path (``/vsizip/``,
        ``/vsitar/``..., nested or with GDAL's braces ``/vsizip/{archive.zip}/member``),
        which gives the member's path below the archive's (:func:`href_file` finds the
        archive).
    windows
        Parse in Windows' path syntax (drive letters); by default on Windows.

    Returns
    -------
    PurePath or None
        A :class:`~pathlib.PureWindowsPath` if ``windows``, else a
        :class:`~pathlib.PurePosixPath`; None for a URL (``https:``, ``s3:``...), a file
        URL of another machine, or a GDAL path of the network or memory (``/vsicurl/``,
        ``/vsis3/``, ``/vsimem/``...).
    """
    for prefix in _ARCHIVES:
        if href.startswith(prefix):
            return href_path(_unbraced(href[len(prefix) :]), windows=windows)
    if _GDAL.match(href):
        return None
    parts = urlsplit(href)
    if parts.scheme.lower() == "file":
        return _file_url_path(parts, windows)
    if len(parts.scheme) > 1:  # a URL; one letter is a Windows drive
        return None
    return PureWindowsPath(href) if windows else PurePosixPath(href)


def href_file(href: str) -> Path | None:
    """Return the file of this machine a read of ``href`` opens, or None for a remote one.

    The path ``href`` names (:func:`href_path`), or for a GDAL archive path the archive: the
    nearest existing file above the member. A path that does not exist is returned as is.
    """
    pure = href_path(href)
    if pure is None:
        return None
    path = Path(pure)
    if href.startswith(_ARCHIVES):
        return next((p for p in (path, *path.parents) if p.is_file()), path)
    return path


def _unbraced(path: str) -> str:
    """Return GDAL's ``{archive}/member`` as ``archive/member``; other paths as they are."""
    if path.startswith("{") and "}" in path:
        archive, member = path[1:].split("}", 1)
        return archive + member
    return path


def _file_url_path(parts: SplitResult, windows: bool) -> PurePath | None:
    """Return the path of a split ``file:`` URL (:func:`href_path`)."""
    host, path = parts.netloc, unquote(parts.path)
    if not windows:
        return PurePosixPath(path) if host.lower() in _LOCAL_HOSTS else None
    if _DRIVE.fullmatch(host):  # file://C:/data/x.TIF, as some tools write it
        host, path = "", f"/{host}{path}"
    if _DRIVE.fullmatch(path[1:3]) and path[3:4] in ("", "/"):  # /C:/data/x.TIF
        path = f"{path[1]}:{path[3:]}"
    if host.lower() not in _LOCAL_HOSTS:  # file://server/share/x.TIF
        path = f"//{host}{path}"
    return PureWindowsPath(path)


def gdal_path(href: str) -> str:
    """Return the path GDAL reads ``href`` by: a URL through its virtual file systems.

    rasterio opens ``https://`` and ``s3://`` through ``/vsicurl/`` and ``/vsis3/`` (ranged
    reads); inside a VRT, GDAL would hand a bare URL to its HTTP driver, which downloads the
    whole file at each open. A ``file:`` URL gives its path (:func:`href_path`); paths and
    GDAL paths are returned as they are.
    """
    scheme, sep, rest = href.partition("://")
    scheme = scheme.lower() if sep else ""
    if scheme in ("http", "https"):
        return f"/vsicurl/{href}"
    if scheme in ("s3", "gs"):
        return f"/vsi{scheme}/{rest}"
    if scheme == "file":
        local = href_path(href)
        return str(local) if local is not None else href
    return href
