"""The sizes of a Sentinel-2 product's band files: a file of another size is refused.

Each band file read is checked, from its header only, against the size the item JSON gives
it (the asset's ``proj:shape``) when the JSON's sizes are the files' (some file has its own);
else against the product's other files: a 20 m band covers the tile of the 10 m bands at half
their size and a 60 m band at a sixth (10980, 5490 and 1830 pixels for a full tile). The real
products in ``../shared/data`` were downsampled by their publishers (100 m and 200 m files
under an item saying 10980 and 5490): their files keep these ratios, not the JSON's sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from raster.bands import BandSpec
from raster.sources.assets import RasterHeader, size_text
from tiles.errors import ReadError

__all__ = ["NATIVE_RESOLUTION", "check_band_sizes", "declared_shape", "native_resolution"]

#: Pixel size (m) of each Sentinel-2 L2A band file as ESA and Earth Search deliver it.
NATIVE_RESOLUTION: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("B02", "B03", "B04", "B08"), 10),
        **dict.fromkeys(("B05", "B06", "B07", "B8A", "B11", "B12", "SCL"), 20),
        **dict.fromkeys(("B01", "B09"), 60),
    }
)


def native_resolution(spec: BandSpec) -> int:
    """Return the pixel size (m) of a Sentinel-2 band's file (:data:`NATIVE_RESOLUTION`)."""
    return NATIVE_RESOLUTION[spec.file_key]


def declared_shape(asset: Mapping[str, Any]) -> tuple[int, int] | None:
    """Return the ``(rows, columns)`` an item JSON's asset gives (``proj:shape``), if any."""
    shape = asset.get("proj:shape")
    if (
        isinstance(shape, list | tuple)
        and len(shape) == 2
        and all(isinstance(n, int) for n in shape)
    ):
        return (shape[0], shape[1])
    return None


def _fits(shape: tuple[int, int], res: int, reference: tuple[int, int], ref_res: int) -> bool:
    """Whether a ``res`` m file of ``shape`` covers the tile of ``reference`` (``ref_res`` m).

    Within one of its pixels, so that a coarser band of a tile of odd size, rounded down or up
    (50 or 51 pixels at 20 m beside 101 at 10 m), fits.
    """
    pixel = max(res, ref_res)
    return all(abs(n * res - m * ref_res) < pixel for n, m in zip(shape, reference, strict=True))


def _wrong_size(header: RasterHeader, expected: str) -> ReadError:
    return ReadError(
        f"{header.href} is {size_text(header.shape)} where {expected}: not this band's file; "
        "download it again"
    )


def _check_declared(
    headers: Mapping[str, RasterHeader], declared: Mapping[str, tuple[int, int]]
) -> None:
    """Raise for a file whose size is not its ``proj:shape``, if some file has its own."""
    said = {name: shape for name, shape in declared.items() if name in headers}
    if not any(headers[name].shape == shape for name, shape in said.items()):
        return  # the files were resampled together, or the JSON's sizes are not theirs
    for name, shape in said.items():
        if headers[name].shape != shape:
            raise _wrong_size(headers[name], f"the item JSON says {size_text(shape)} (proj:shape)")


def _check_relative(headers: Mapping[str, RasterHeader], resolutions: Mapping[str, int]) -> None:
    """Raise for a file whose size is not the one the product's finest files give its band.

    The reference is the size of the finest files (10 m) with which the most files agree.
    """
    ref_res = min(resolutions[name] for name in headers)
    finest = [h.shape for name, h in headers.items() if resolutions[name] == ref_res]

    def agreeing(reference: tuple[int, int]) -> int:
        return sum(_fits(h.shape, resolutions[n], reference, ref_res) for n, h in headers.items())

    reference = max(dict.fromkeys(finest), key=agreeing)  # the first of equals
    for name, header in headers.items():
        res = resolutions[name]
        if _fits(header.shape, res, reference, ref_res):
            continue
        if res == ref_res:
            raise _wrong_size(
                header, f"the product's other {res} m files are {size_text(reference)}"
            )
        rows, cols = (round(m * ref_res / res) for m in reference)
        raise _wrong_size(
            header,
            f"a {res} m band of this product is {size_text((rows, cols))} (its {ref_res} m "
            f"bands are {size_text(reference)})",
        )


def check_band_sizes(
    headers: Mapping[str, RasterHeader],
    resolutions: Mapping[str, int],
    declared: Mapping[str, tuple[int, int]] | None = None,
) -> None:
    """Refuse a band file whose size is not its band's in this product (headers only).

    Parameters
    ----------
    headers
        The headers of the band files read, by band name.
    resolutions
        The pixel size (m) of each band's file, by band name (every name of ``headers``).
    declared
        The sizes the item JSON gives the bands (``proj:shape``), by band name, if it does.

    Raises
    ------
    ReadError
        ``"<file> is 1098 x 1098 where a 20 m band of this product is 549 x 549 (its 10 m
        bands are 1098 x 1098): not this band's file; download it again"``.
    """
    if not headers:
        return
    _check_declared(headers, declared or {})
    _check_relative(headers, resolutions)
