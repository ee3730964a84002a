"""What GDAL's errors, as rasterio raises them, say of a file: its pixels cannot be decoded.

A read of a file whose header is intact but one of whose blocks is damaged (a partial
download, a bad disk) fails with rasterio's "Read failed", or, in a warp, "Chunk and warp
failed" caused by GDAL's "IReadBlock failed"; GDAL's own words (e.g. "ZIPDecode:Decoding
error") are the deepest error of the chain. Other failures (out of memory, a window outside
the file) are no damage of the file and are not said to be.
"""

from __future__ import annotations

import re

__all__ = ["deepest_reason", "undecodable", "undecodable_file"]

#: A file path GDAL names in a block error: ``/x/B04.tif, band 1: IReadBlock failed ...``.
_NAMED = re.compile(r"^(.+?\.(?:tiff?|jp2)), band \d+: ", re.I | re.M)


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and the errors it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    seen: BaseException | None = err
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def undecodable(err: BaseException) -> bool:
    """Whether ``err`` says that GDAL could not decode a file's pixels.

    A read that failed ("Read failed" at the top), any error caused by a block that could
    not be read ("IReadBlock failed" anywhere in the chain), or a file GDAL no longer
    recognises as a raster ("not recognized as being in a supported file format": a file
    overwritten or cut after it was found).
    """
    chain = [str(e) for e in _chain(err)]
    return (
        chain[0].startswith("Read failed")
        or "not recognized as being in a supported file format" in chain[0]
        or any("IReadBlock failed" in t for t in chain)
    )


def undecodable_file(err: BaseException) -> str | None:
    """Return the file GDAL failed to decode, as its errors name it; None if no decoding failed.

    ``"a raster file"`` when no error of the chain names it.
    """
    if not undecodable(err):
        return None
    for e in _chain(err):
        named = _NAMED.search(str(e))
        if named is not None:
            return named[1]
    return "a raster file"


def deepest_reason(err: BaseException) -> str:
    """GDAL's first word on a failure: the first line of the deepest error of the chain."""
    deepest = _chain(err)[-1]
    text = str(deepest).strip()
    return text.splitlines()[0].rstrip(".") if text else type(deepest).__name__
