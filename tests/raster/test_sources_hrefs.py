"""Hrefs to local paths (raster.sources.hrefs), in both path syntaxes, without Windows.

Expected paths follow RFC 8089 (file URLs: an empty host or ``localhost`` is this machine,
appendix E.2 the drive letters of ``file:///C:/...`` and ``file:///C|/...``), RFC 3986
(``%XX`` UTF-8 percent-encoding: ``%20`` a space, ``%C3%A9`` an é) and GDAL's virtual file
systems docs (``/vsizip//abs/x.zip/member``, ``/vsizip/C:/x.zip/member``,
``/vsizip/{archive}/member``); written by hand, never from the code under test.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest

from raster.sources.assets import href_name, local_file
from raster.sources.hrefs import href_file, href_path, remote_host, split_curl

#: A French user's folder, as a file URL percent-encodes it.
ENCODED = "/home/a/Mes%20donn%C3%A9es/LC09_ST_B10.TIF"
DECODED = "/home/a/Mes données/LC09_ST_B10.TIF"


@pytest.mark.parametrize(
    "href",
    [f"file://{ENCODED}", f"file://localhost{ENCODED}", f"FILE://LOCALHOST{ENCODED}",
     f"file:{ENCODED}", DECODED],
)  # fmt: skip
def test_file_urls_are_decoded_paths_of_this_machine(href):
    assert href_path(href, windows=False) == PurePosixPath(DECODED)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("file:///C:/data/x.TIF", "C:/data/x.TIF"),
        ("file://localhost/C:/Mes%20donn%C3%A9es/x.TIF", "C:/Mes données/x.TIF"),
        ("file:///C|/data/x.TIF", "C:/data/x.TIF"),  # RFC 8089 E.2's old form
        ("file://C:/data/x.TIF", "C:/data/x.TIF"),  # the drive as a host, as some tools write
        ("file://server/share/x.TIF", "//server/share/x.TIF"),  # UNC
        ("/vsizip/C:/data/x.zip/inner.TIF", "C:/data/x.zip/inner.TIF"),
        ("/vsitar/C:\\data\\x.tar/LC09_ST_B10.TIF", "C:/data/x.tar/LC09_ST_B10.TIF"),
        ("/vsizip/{C:/data/x.zip}/inner.TIF", "C:/data/x.zip/inner.TIF"),
        ("C:\\data\\x.TIF", "C:/data/x.TIF"),
    ],
)
def test_windows_hrefs_give_windows_paths(href, expected):
    path = href_path(href, windows=True)
    assert path == PureWindowsPath(expected)
    assert path.drive == PureWindowsPath(expected).drive  # not /C:/...


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/vsizip//data/x.zip/inner.TIF", "/data/x.zip/inner.TIF"),
        ("/vsitar//data/x.tar/LC09/LC09_ST_B10.TIF", "/data/x.tar/LC09/LC09_ST_B10.TIF"),
        ("/vsizip/{/data/x.zip}/inner.TIF", "/data/x.zip/inner.TIF"),
        ("/vsizip//vsitar//data/a.tar/b.zip/c.TIF", "/data/a.tar/b.zip/c.TIF"),  # nested
        ("/vsizip/rel/x.zip/inner.TIF", "rel/x.zip/inner.TIF"),  # relative, as GDAL reads it
    ],
)
def test_gdal_archive_paths_give_the_member_below_the_archive(href, expected):
    assert href_path(href, windows=False) == PurePosixPath(expected)


@pytest.mark.parametrize(
    "href",
    ["https://landsateuwest.blob.core.windows.net/c/x.TIF?sig=1", "s3://bucket/x.TIF",
     "/vsicurl/https://host/x.TIF", "/vsicurl_streaming/https://host/x.TIF", "/vsis3/b/x.TIF",
     "/vsimem/x.TIF", "/vsizip//vsicurl/https://host/x.zip/inner.TIF"],
)  # fmt: skip
def test_urls_and_network_paths_are_no_local_path(href):
    assert href_path(href, windows=False) is None
    assert href_path(href, windows=True) is None


def test_a_file_url_of_another_machine_is_no_local_path_off_windows():
    assert href_path("file://server/share/x.TIF", windows=False) is None


def test_split_curl_keeps_the_prefix_apart():
    url = "https://landsateuwest.blob.core.windows.net/c/x.TIF"
    assert split_curl(f"/vsicurl/{url}") == ("/vsicurl/", url)
    assert split_curl(f"/vsicurl_streaming/{url}") == ("/vsicurl_streaming/", url)
    assert split_curl(url) == ("", url)
    assert split_curl("/vsizip//a.zip/b") == ("", "/vsizip//a.zip/b")


def test_href_file_finds_the_file_or_the_archive_on_disk(tmp_path):
    folder = tmp_path / "Mes données"
    folder.mkdir()
    band, archive = folder / "LC09_ST_B10.TIF", folder / "LC09_L2SP.tar"
    band.write_bytes(b"x")
    archive.write_bytes(b"y")
    assert href_file(band.as_uri()) == band  # pathlib's own encoding: %20, %C3%A9
    assert "%20" in band.as_uri() and "%C3%A9" in band.as_uri()
    assert href_file(f"/vsitar/{archive}/LC09_L2SP/LC09_ST_B10.TIF") == archive
    assert href_file(f"/vsitar/{{{archive}}}/LC09_ST_B10.TIF") == archive
    missing = folder / "gone.tar"
    assert href_file(f"/vsitar/{missing}/x.TIF") == missing / "x.TIF"  # said missing
    assert href_file("/vsicurl/https://host/x.TIF") is None


def test_an_item_names_its_files_by_file_urls_or_curl_paths(tmp_path):
    """An item's file URL finds its file anywhere (not only beside the item); a /vsicurl/
    URL's file name leaves the signature out, and finds a downloaded twin."""
    files, items = tmp_path / "Mes données", tmp_path / "items"
    files.mkdir()
    items.mkdir()
    band = files / "LC09_ST_B10.TIF"
    band.write_bytes(b"x")
    assert local_file(band.as_uri(), items) == band
    assert href_name(band.as_uri()) == "LC09_ST_B10.TIF"
    assert href_name("file:///d/x%20y.TIF") == "x y.TIF"
    signed = "/vsicurl/https://h.blob.core.windows.net/c/LC09_ST_B10.TIF?st=1&sig=a%2Fb"
    assert href_name(signed) == "LC09_ST_B10.TIF"
    assert local_file(signed, files) == band
    assert local_file(signed, items) is None


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://landsatlook.usgs.gov/data/x_ST_B10.TIF", "landsatlook.usgs.gov"),
        ("http://ilots-no-such-host.invalid/x.tif", "ilots-no-such-host.invalid"),
        ("https://x.blob.core.windows.net:443/c/x.TIF?sig=1", "x.blob.core.windows.net"),
        ("/vsicurl/https://host.org/x.TIF", "host.org"),
        ("/vsicurl_streaming/https://host.org/x.TIF", "host.org"),
        ("s3://sentinel-cogs/tiles/B04.tif", "s3://sentinel-cogs"),
        ("/vsis3/sentinel-cogs/tiles/B04.tif", "s3://sentinel-cogs"),
        ("/vsizip//vsicurl/https://host.org/x.zip/inner.TIF", "host.org"),
        ("/data/x.TIF", None),
        ("relative/x.TIF", None),
        ("C:/data/x.TIF", None),
        (f"file://{ENCODED}", None),
        ("/vsizip//data/x.zip/inner.TIF", None),
        ("/vsimem/x.TIF", None),
    ],
)
def test_remote_host_names_where_a_read_goes_over_the_network(href, expected):
    """The host of a URL (RFC 3986: the authority without its port), a cloud bucket as
    ``scheme://bucket``; None for files of this machine and memory."""
    assert remote_host(href) == expected
