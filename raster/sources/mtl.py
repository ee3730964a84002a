"""Landsat ``_MTL`` metadata: one parser for the ODL text, JSON and XML forms.

USGS ships the same metadata three ways (``_MTL.txt`` in ODL ``GROUP``/``END_GROUP`` form,
``_MTL.json`` and ``_MTL.xml``). :func:`parse_mtl` turns any of them into the same nested
``dict`` (root group name → group name → key → value), with values typed from their text
alone, whatever the format quoted: integers as ``int``, decimals as ``float``, everything
else (dates, times, identifiers, file names) as unquoted ``str``. So the three files of one
product give identical dicts, and a Collection 1 MTL keeps its older group names
(``L1_METADATA_FILE``, ``RADIOMETRIC_RESCALING``, ``TIRS_THERMAL_CONSTANTS`` ...).

:func:`landsat_metadata` then reads the fields ilots needs into a :class:`LandsatMetadata`,
knowing where Collection 1 and Collection 2 keep them.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tiles.errors import MetadataError

__all__ = [
    "MTL_SUFFIXES",
    "LandsatMetadata",
    "landsat_metadata",
    "mtl_group",
    "mtl_value",
    "parse_mtl",
    "read_first_mtl",
    "read_mtl",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

MtlFormat = Literal["txt", "json", "xml"]

#: File-name endings of the three MTL forms, in the order a folder reader prefers them.
MTL_SUFFIXES: tuple[str, ...] = ("_MTL.xml", "_MTL.txt", "_MTL.json")

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")


def _typed(text: str) -> int | float | str:
    """Type one MTL value from its text: int, float, or the unquoted string."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _normalise(value: Any) -> Any:
    """Apply :func:`_typed` through nested dicts and lists (the JSON form stores strings)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return _typed(repr(value))
    return _typed(str(value))


def _split_odl_list(body: str) -> list[int | float | str]:
    """Split the inside of an ODL ``( a, "b", c )`` array into typed values."""
    items = re.findall(r'"[^"]*"|[^,\s]+', body)
    return [_typed(item) for item in items]


def _parse_odl(text: str, source: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("", root)]
    lines = iter(text.splitlines())
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line == "END":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise MetadataError(f"{source}: line {number} is not 'KEY = VALUE': {line[:60]!r}")
        key, value = key.strip(), value.strip()
        if key == "GROUP":
            group: dict[str, Any] = {}
            stack[-1][1][value] = group
            stack.append((value, group))
        elif key == "END_GROUP":
            if len(stack) == 1 or stack[-1][0] != value:
                raise MetadataError(f"{source}: line {number} closes group {value!r} never opened")
            stack.pop()
        elif value.startswith("("):
            while value.count("(") > value.count(")"):
                value += " " + next(lines, ")").strip()
            stack[-1][1][key] = _split_odl_list(value.strip()[1:-1])
        else:
            stack[-1][1][key] = _typed(value)
    if len(stack) != 1:
        raise MetadataError(f"{source}: group {stack[-1][0]!r} is never closed; file truncated?")
    return root


def _xml_to_dict(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return _typed(element.text or "")
    out: dict[str, Any] = {}
    for child in children:
        value = _xml_to_dict(child)
        if child.tag in out:
            previous = out[child.tag]
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    return out


def _format_of(name: str) -> MtlFormat:
    lower = name.lower()
    for fmt in ("txt", "json", "xml"):
        if lower.endswith("." + fmt):
            return fmt  # type: ignore[return-value]
    raise MetadataError(f"{name}: not an MTL file; expected a name ending in _MTL.txt/.json/.xml")


def parse_mtl(content: str | bytes, fmt: MtlFormat, *, source: str = "<MTL>") -> dict[str, Any]:
    """Parse the text of an MTL file into a typed nested dict.

    Parameters
    ----------
    content
        The whole file, as text or bytes (UTF-8).
    fmt
        ``"txt"`` (ODL), ``"json"`` or ``"xml"``.
    source
        Name used in error messages.

    Returns
    -------
    ``{root_group: {group: {key: value}}}``, identical for the three forms of one product.

    Raises
    ------
    MetadataError
        If the text is not a well-formed MTL of the given form.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    try:
        if fmt == "txt":
            parsed = _parse_odl(text, source)
        elif fmt == "json":
            parsed = _normalise(json.loads(text))
        elif fmt == "xml":
            root = ET.fromstring(text)
            parsed = {root.tag: _xml_to_dict(root)}
        else:
            raise MetadataError(f"{source}: unknown MTL format {fmt!r}; use txt, json or xml")
    except (json.JSONDecodeError, ET.ParseError) as err:
        raise MetadataError(f"{source}: cannot parse MTL ({err}); is the file complete?") from err
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise MetadataError(f"{source}: expected one root group in the MTL, found {len(parsed)}")
    return parsed


def read_mtl(path: str | Path) -> dict[str, Any]:
    """Read a ``_MTL.txt``, ``_MTL.json`` or ``_MTL.xml`` file.

    Parameters
    ----------
    path
        The MTL file; its form is taken from the file-name ending.

    Returns
    -------
    The nested dict of :func:`parse_mtl`.

    Raises
    ------
    MetadataError
        If the file is not an MTL or cannot be parsed.
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    return parse_mtl(path.read_bytes(), _format_of(path.name), source=str(path))


def mtl_group(mtl: Mapping[str, Any], *names: str, source: str = "MTL") -> Mapping[str, Any]:
    """Return the first group of ``names`` found under the MTL's root group.

    Parameters
    ----------
    mtl
        Output of :func:`parse_mtl`.
    *names
        Group names to try in order (e.g. the Collection 2 name, then the Collection 1 one).
    source
        Name of the MTL file for the error message.

    Raises
    ------
    MetadataError
        If none of the groups is present.
    """
    root = next(iter(mtl.values()))
    for name in names:
        group = root.get(name)
        if isinstance(group, Mapping):
            return group
    raise MetadataError(
        f"{source}: MTL group {' / '.join(names)} is missing; use the complete MTL of the product"
    )


def mtl_value(group: Mapping[str, Any], key: str, *, group_name: str, source: str = "MTL") -> Any:
    """Return ``group[key]`` or raise a :class:`MetadataError` naming the key and group."""
    try:
        return group[key]
    except KeyError:
        raise MetadataError(
            f"{source}: {key} is missing from MTL group {group_name}; "
            "use the complete MTL of the product"
        ) from None


@dataclass(frozen=True)
class LandsatMetadata:
    """The fields of a Landsat MTL that ilots uses.

    Parameters
    ----------
    product_id
        ``LANDSAT_PRODUCT_ID`` (``LC08_L2SP_008059_20191201_20200825_02_T1``).
    collection
        Collection number, 1 or 2.
    processing_level
        ``L2SP``, ``L2SR``, ``L1TP``, ``L1GT`` or ``L1GS``.
    spacecraft
        ``SPACECRAFT_ID`` (``LANDSAT_8``).
    sensor
        ``SENSOR_ID`` (``OLI_TIRS``).
    wrs_path, wrs_row
        WRS-2 path and row.
    acquired
        Scene-centre acquisition time, UTC.
    cloud_cover
        ``CLOUD_COVER`` in percent, if given.
    sun_elevation, sun_azimuth
        Scene-centre sun angles in degrees, if given.
    files
        Sensor band name (``SR_B4``, ``ST_B10``, ``B10``, ``QA_PIXEL``, ``BQA`` ...) → file name,
        from the product-contents group.
    mtl
        The whole parsed MTL, for the scaling groups.
    source
        The MTL file that was read (for messages).
    """

    product_id: str
    collection: int
    processing_level: str
    spacecraft: str
    sensor: str
    wrs_path: int
    wrs_row: int
    acquired: datetime
    cloud_cover: float | None
    sun_elevation: float | None
    sun_azimuth: float | None
    files: Mapping[str, str] = field(default_factory=dict)
    mtl: Mapping[str, Any] = field(default_factory=dict, repr=False)
    source: str = "MTL"

    def __post_init__(self) -> None:
        if self.collection not in (1, 2):
            raise ValueError(f"Landsat collection must be 1 or 2, not {self.collection}")
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    @property
    def platform(self) -> str:
        """STAC platform name, ``landsat-8`` / ``landsat-9``."""
        return self.spacecraft.lower().replace("_", "-")

    def group(self, *names: str) -> Mapping[str, Any]:
        """Return an MTL group by name (see :func:`mtl_group`)."""
        return mtl_group(self.mtl, *names, source=self.source)


def _acquired(day: Any, centre: Any, source: str) -> datetime:
    try:
        d = date.fromisoformat(str(day))
    except ValueError:
        raise MetadataError(f"{source}: DATE_ACQUIRED {day!r} is not a YYYY-MM-DD date") from None
    if centre in (None, ""):
        return datetime.combine(d, time(), tzinfo=UTC)
    match = re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?", str(centre).strip())
    if not match:
        raise MetadataError(f"{source}: SCENE_CENTER_TIME {centre!r} is not HH:MM:SS.ffffffZ")
    hh, mm, ss, frac = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return datetime.combine(d, time(int(hh), int(mm), int(ss), micro), tzinfo=UTC)


def _band_files(contents: Mapping[str, Any], product_id: str) -> dict[str, str]:
    """Map each ``FILE_NAME_*`` GeoTIFF of the product to its band suffix."""
    files: dict[str, str] = {}
    prefix = product_id + "_"
    for key, value in contents.items():
        name = str(value)
        if not key.startswith("FILE_NAME_") or not name.upper().endswith(".TIF"):
            continue
        stem = name[: -len(".TIF")]
        band = stem[len(prefix) :] if stem.startswith(prefix) else stem.rsplit("_", 1)[-1]
        files[band.upper()] = name
    return files


def _optional_float(group: Mapping[str, Any], key: str) -> float | None:
    value = group.get(key)
    return float(value) if isinstance(value, int | float) else None


def landsat_metadata(mtl: Mapping[str, Any], *, source: str = "MTL") -> LandsatMetadata:
    """Read the fields ilots needs from a parsed MTL (Collection 1 or 2).

    Parameters
    ----------
    mtl
        Output of :func:`parse_mtl` / :func:`read_mtl`.
    source
        Name of the MTL file, for error messages.

    Returns
    -------
    LandsatMetadata

    Raises
    ------
    MetadataError
        If a needed group or key is missing.
    """
    root_name = next(iter(mtl))

    def need(group: Mapping[str, Any], key: str, name: str) -> Any:
        return mtl_value(group, key, group_name=name, source=source)

    if root_name == "L1_METADATA_FILE":  # Collection 1: scene fields sit in PRODUCT_METADATA
        info = mtl_group(mtl, "METADATA_FILE_INFO", source=source)
        contents = mtl_group(mtl, "PRODUCT_METADATA", source=source)
        attributes = mtl_group(mtl, "IMAGE_ATTRIBUTES", source=source)
        scene, scene_name = contents, "PRODUCT_METADATA"
        product_id = str(need(info, "LANDSAT_PRODUCT_ID", "METADATA_FILE_INFO"))
        level = str(need(contents, "DATA_TYPE", "PRODUCT_METADATA"))
        collection = int(info.get("COLLECTION_NUMBER", 1))
    elif root_name == "LANDSAT_METADATA_FILE":  # Collection 2
        contents = mtl_group(mtl, "PRODUCT_CONTENTS", source=source)
        attributes = mtl_group(mtl, "IMAGE_ATTRIBUTES", source=source)
        scene, scene_name = attributes, "IMAGE_ATTRIBUTES"
        product_id = str(need(contents, "LANDSAT_PRODUCT_ID", "PRODUCT_CONTENTS"))
        level = str(need(contents, "PROCESSING_LEVEL", "PRODUCT_CONTENTS"))
        collection = int(need(contents, "COLLECTION_NUMBER", "PRODUCT_CONTENTS"))
    else:
        raise MetadataError(
            f"{source}: root group {root_name!r} is not a Landsat MTL "
            "(expected LANDSAT_METADATA_FILE or L1_METADATA_FILE)"
        )
    if collection not in (1, 2):
        raise MetadataError(f"{source}: COLLECTION_NUMBER {collection} is not 1 or 2")
    return LandsatMetadata(
        product_id=product_id,
        collection=collection,
        processing_level=level,
        spacecraft=str(need(scene, "SPACECRAFT_ID", scene_name)),
        sensor=str(need(scene, "SENSOR_ID", scene_name)),
        wrs_path=int(need(scene, "WRS_PATH", scene_name)),
        wrs_row=int(need(scene, "WRS_ROW", scene_name)),
        acquired=_acquired(
            need(scene, "DATE_ACQUIRED", scene_name), scene.get("SCENE_CENTER_TIME"), source
        ),
        cloud_cover=_optional_float(attributes, "CLOUD_COVER"),
        sun_elevation=_optional_float(attributes, "SUN_ELEVATION"),
        sun_azimuth=_optional_float(attributes, "SUN_AZIMUTH"),
        files=_band_files(contents, product_id),
        mtl=mtl,
        source=source,
    )


def read_first_mtl(paths: Sequence[Path]) -> tuple[Path, LandsatMetadata]:
    """Read the first of a product's MTL files that can be read.

    A form that cannot be read (cut short, damaged, lacking a field) is logged at INFO and
    the next one read: a broken ``_MTL.xml`` does not lose a product whose ``_MTL.txt`` is fine.

    Parameters
    ----------
    paths
        The product's MTL files (its forms), preferred first; at least one.

    Returns
    -------
    ``(path, metadata)`` of the file read.

    Raises
    ------
    MetadataError
        If none can be read, saying what is wrong with each.
    """
    failures: list[str] = []
    for number, path in enumerate(paths):
        try:
            return path, landsat_metadata(read_mtl(path), source=str(path))
        except MetadataError as err:
            what = str(err).removeprefix(f"{path}: ").split("; ")[0]  # without the fix
            failures.append(f"{path.name}: {what}")
            if number + 1 < len(paths):
                logger.info("%s: %s; reading %s instead", path, what, paths[number + 1].name)
    raise MetadataError(
        f"{paths[0].parent}: cannot read the product's MTL ({'; '.join(failures)}); "
        "download the product again"
    )
