"""Building blocks of the config models: path types that resolve and relativise, keyed errors.

Paths
-----
Every path field is a :data:`ConfigPath`. On validation it is made absolute: ``~`` and
``$VARS`` are expanded, then a relative path is joined to the folder of the config file (the
``base_dir`` of the validation context; the current folder when the model is built in Python).
On a JSON dump with a ``relative_to`` context folder (what :func:`~pipelines.config.dump_config`
passes), a path inside the context's ``relative_within`` folder (``relative_to`` itself, or one
of its ancestors; default ``relative_to``) is written relative to ``relative_to`` (POSIX
separators, ``../`` to climb), any other path absolute; so a run folder that holds its inputs,
or a demo folder holding them beside its run folder, can be moved and
``ilots run DIR/config.yaml`` still finds them. :data:`ConfigHref` does the same for fields
that may also be URLs.

Keyed errors
------------
A model validator that checks several fields raises :func:`key_error` so that the message
names the offending key (``heat_island.ring_outer_km``) rather than the enclosing section.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from pydantic_core import core_schema

from raster.sources.hrefs import href_file

__all__ = [
    "ConfigHref",
    "ConfigPath",
    "KeyedValueError",
    "has_glob",
    "is_url",
    "key_error",
]

_GLOB_CHARS = frozenset("*?[")


class KeyedValueError(ValueError):
    """A validation error about a key below the model that raised it.

    Parameters
    ----------
    key
        Dotted key relative to the model being validated (``"ring_outer_km"``, or
        ``"zones.iris"`` from the top-level model).
    message
        What is wrong and how to fix it.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def key_error(key: str, message: str) -> KeyedValueError:
    """Return a :class:`KeyedValueError` for ``key`` (raise it from a model validator)."""
    return KeyedValueError(key, message)


def has_glob(text: str | os.PathLike[str]) -> bool:
    """Whether a path holds glob characters (``*``, ``?``, ``[``)."""
    return any(c in _GLOB_CHARS for c in str(text))


def is_url(text: str) -> bool:
    """Whether ``text`` is an ``http(s)://`` URL (``file://`` URLs are local paths)."""
    return urlparse(text).scheme.lower() in ("http", "https")


def _base_dir(info: core_schema.ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def _no_control_characters(text: str) -> None:
    r"""Refuse a path holding a tab, a newline or another control character.

    A Windows path in YAML double quotes, ``"C:\temp\new.csv"``, reads as
    ``C:<tab>emp<newline>ew.csv``.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(
            f"{text!r} holds control characters: in double quotes YAML reads a backslash as "
            "an escape (\\t is a tab, \\n a newline); write the path in single quotes "
            "('C:\\data\\iris.gpkg') or with forward slashes"
        )


def _not_empty(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("must be a path, not an empty string")
        _no_control_characters(value)
    return value


def _resolve(value: Path, info: core_schema.ValidationInfo) -> Path:
    path = Path(os.path.expandvars(os.path.expanduser(str(value))))
    if not path.is_absolute():
        path = _base_dir(info) / path
    return Path(os.path.normpath(path))


def _relative_text(path: Path, info: core_schema.SerializationInfo) -> str:
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("relative_to")
    if base is not None:
        within = Path(context.get("relative_within", base))
        if path.is_relative_to(within):  # lexical: both are absolute and normalised
            return Path(os.path.relpath(path, base)).as_posix()
    return str(path)


#: A file, folder or glob pattern, absolute after validation (see the module docstring).
ConfigPath = Annotated[
    Path,
    BeforeValidator(_not_empty),
    AfterValidator(_resolve),
    PlainSerializer(_relative_text, return_type=str, when_used="json"),
]


def _resolve_href(value: str, info: core_schema.ValidationInfo) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must be a path or URL, not an empty string")
    _no_control_characters(text)
    if is_url(text):
        return text
    parsed = urlparse(text)
    if parsed.scheme.lower() == "file":
        path = href_file(text)
        if path is None:
            raise ValueError(
                f"is a file URL of another machine ({parsed.hostname!r}); give a local path "
                "or an http(s) URL"
            )
        text = str(path)
    elif parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive
        raise ValueError(f"must be a local path or an http(s) URL (got scheme {parsed.scheme!r})")
    return str(_resolve(Path(text), info))


def _href_text(value: str, info: core_schema.SerializationInfo) -> str:
    return value if is_url(value) else _relative_text(Path(value), info)


#: A local path (or ``file://`` URL, stored as a path) or an ``http(s)://`` URL kept as is.
ConfigHref = Annotated[
    str,
    AfterValidator(_resolve_href),
    PlainSerializer(_href_text, return_type=str, when_used="json"),
]
