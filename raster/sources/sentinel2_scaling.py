"""Sentinel-2 L2A reflectance scaling: the processing-baseline rule for the BOA offset.

``reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE`` (science.md §3.2), where
``BOA_ADD_OFFSET`` is ``-1000`` from processing baseline 04.00 on and ``0`` before. The
baseline — never the acquisition date — decides: Collection-1 reprocessing (05.xx) carries the
offset on pre-2022 acquisitions too. Baselines are compared as version numbers
(``"10.00" > "04.00"``), not as strings.

Earth Search v1 converted some baseline ≥ 04.00 products to COGs *with the offset already
added to the pixels* and flagged them ``earthsearch:boa_offset_applied: true`` (earlier
``sentinel:boa_offset_applied``); their DN scale like pre-04.00 data, whatever the item's
``raster:bands`` offset says (Element84 earth-search #9: the flag is the truth; #33/#66 report
some flags wrong, which metadata cannot detect).

The product name also tells the datatake (:func:`datatake_of`): the spacecraft and the
datatake's sensing start, the same in every distributor's copy of a product and in every tile
of one datatake, whatever ``datetime`` each distributor gives its items.
"""

from __future__ import annotations

import re

from tiles.errors import MetadataError

__all__ = [
    "DATATAKE_PROPERTY",
    "DEFAULT_BOA_ADD_OFFSET",
    "DEFAULT_QUANTIFICATION",
    "OFFSET_BASELINE",
    "baseline_from_product_id",
    "boa_scaling",
    "datatake_of",
    "format_baseline",
    "parse_baseline",
]

#: First processing baseline whose L2A DN carry ``BOA_ADD_OFFSET``.
OFFSET_BASELINE: tuple[int, int] = (4, 0)
#: ``BOA_QUANTIFICATION_VALUE`` of every L2A baseline so far.
DEFAULT_QUANTIFICATION = 10000.0
#: ``BOA_ADD_OFFSET`` of baselines >= 04.00 so far (used only when the metadata lacks it).
DEFAULT_BOA_ADD_OFFSET = -1000.0

_BASELINE = re.compile(r"\s*N?(?P<major>\d{1,2})(?:\.(?P<minor>\d{1,2})|(?P<packed>\d{2}))\s*")
_PRODUCT_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")
# S2A_MSIL2A_20200219T112111_... (product name, Planetary Computer id) or
# GS2A_20200219T112111_024344_N02.14 (s2:datatake_id, the SAFE's datatakeIdentifier).
_DATATAKE = re.compile(r"G?(S2[A-D])_(?:MSIL2A_)?(\d{8}T\d{6})_")

#: Item property naming a Sentinel-2 product's datatake, ``S2A_20200219T112111`` (spacecraft
#: and datatake sensing start): Earth Search gives each tile's own sensing time as
#: ``datetime``, a SAFE and Planetary Computer the datatake's start, minutes apart.
DATATAKE_PROPERTY = "ilots:datatake"


def parse_baseline(baseline: str, *, source: str | None = None) -> tuple[int, int]:
    """Parse a processing baseline as ``(major, minor)``.

    ``"04.00"``, ``"4.00"``, ``"N0400"``, and a number written with one decimal (``4.0`` →
    ``(4, 0)``, ``5.1`` → ``(5, 10)``: an item JSON that stores the baseline as a number).

    Parameters
    ----------
    baseline
        The baseline text.
    source
        The file or item it comes from, named in the error.

    Raises
    ------
    MetadataError
        If the text is not a baseline.
    """
    match = _BASELINE.fullmatch(str(baseline))
    if match is None:
        where = f"{source}: " if source else ""
        raise MetadataError(
            f"{where}processing baseline {baseline!r} is not of the form NN.NN (e.g. 05.10); "
            "check the product metadata"
        )
    minor = match["minor"] or match["packed"]
    return int(match["major"]), int(minor) * (10 if len(minor) == 1 else 1)


def format_baseline(baseline: str, *, source: str | None = None) -> str:
    """Return the baseline in the ``s2:processing_baseline`` form, ``"04.00"``.

    Raises
    ------
    MetadataError
        If the text is not a baseline (``source`` named in the message).
    """
    major, minor = parse_baseline(baseline, source=source)
    return f"{major:02d}.{minor:02d}"


def baseline_from_product_id(product_id: str) -> str | None:
    """Return the baseline coded in a product name (``_N0214_`` → ``"02.14"``), if any."""
    match = _PRODUCT_BASELINE.search(product_id)
    return f"{match[1]}.{match[2]}" if match else None


def datatake_of(*names: object) -> str | None:
    """Return the datatake (``S2A_20200219T112111``) of the first name that tells it.

    Parameters
    ----------
    names
        Product names (``S2A_MSIL2A_20200219T112111_N0214_..._T29RKH_....SAFE``), datatake
        ids (``GS2A_20200219T112111_024344_N02.14``), Planetary Computer item ids; ``None``
        and names without a datatake (Earth Search's ``S2A_29RKH_20200219_0_L2A``) are skipped.
    """
    for name in names:
        match = _DATATAKE.match(str(name or ""))
        if match:
            return f"{match[1]}_{match[2]}"
    return None


def boa_scaling(
    baseline: str,
    *,
    quantification: float = DEFAULT_QUANTIFICATION,
    boa_add_offset: float | None = None,
    offset_applied: bool = False,
) -> tuple[float, float]:
    """Scale and offset such that ``reflectance = DN * scale + offset``.

    Parameters
    ----------
    baseline
        Processing baseline of the product (``"05.10"``).
    quantification
        ``BOA_QUANTIFICATION_VALUE``.
    boa_add_offset
        The band's ``BOA_ADD_OFFSET`` from ``MTD_MSIL2A.xml``; ``None`` uses
        :data:`DEFAULT_BOA_ADD_OFFSET`. Ignored before baseline 04.00.
    offset_applied
        The distributor already added the offset to the pixels (Earth Search
        ``earthsearch:boa_offset_applied``): the DN scale as before 04.00.

    Returns
    -------
    ``(scale, offset)``: ``(1e-4, -0.1)`` from 04.00 on, ``(1e-4, 0.0)`` before.

    Raises
    ------
    MetadataError
        If the baseline cannot be parsed or the quantification is not positive.
    """
    if not quantification > 0:
        raise MetadataError(f"BOA_QUANTIFICATION_VALUE {quantification} must be positive")
    scale = 1.0 / quantification
    if parse_baseline(baseline) < OFFSET_BASELINE or offset_applied:
        return scale, 0.0
    add = DEFAULT_BOA_ADD_OFFSET if boa_add_offset is None else float(boa_add_offset)
    return scale, add / quantification
