"""Turn pydantic and YAML errors into one-line :class:`~tiles.errors.ConfigError` messages.

Every message reads ``<file>: <dotted.key[i]>: <what is wrong and how to fix it>`` and, when
the YAML node is known, ends with ``(line N)``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.config._types import KeyedValueError
from tiles.errors import ConfigError

__all__ = ["close_match", "did_you_mean", "format_key", "validation_error", "yaml_line"]

_MAX_INPUT = 60


def format_key(loc: Sequence[str | int]) -> str:
    """Write a location as a dotted key with list indices: ``inputs.landsat[0].path``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def close_match(word: str, valid: Sequence[str], cutoff: float = 0.6) -> str | None:
    """Return the entry of ``valid`` closest to ``word`` (a misspelling of it), or None.

    :func:`difflib.get_close_matches`: None when no entry scores ``cutoff`` or more.
    """
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(match: str | None) -> str:
    """Return `` (did you mean 'x'?)`` for a :func:`close_match`, or nothing for None."""
    return f" (did you mean {match!r}?)" if match is not None else ""


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, list | tuple | dict):
        text = repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= _MAX_INPUT else text[: _MAX_INPUT - 3] + "..."


def _model_at(model: type[BaseModel] | None, loc: Sequence[str | int]) -> type[BaseModel] | None:
    """Return the model class found by following ``loc`` down from ``model``, if any."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, tuple, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _unknown_key(root: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    parent = _model_at(root, loc[:-1])
    key = str(loc[-1])
    if parent is None:
        return "unknown key; remove it"
    valid = [field.alias or name for name, field in parent.model_fields.items()]
    return (
        f"unknown key{did_you_mean(close_match(key, valid))}; valid keys here: {', '.join(valid)}"
    )


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # pydantic adds '[key]' for dict keys and the validator name of function-based schemas.
    return tuple(part for part in loc if part != "[key]" and not str(part).startswith("function-"))


def _describe(error: dict[str, Any], root: type[BaseModel]) -> tuple[tuple[str | int, ...], str]:
    """Location and message of one pydantic error."""
    loc = _clean_loc(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, KeyedValueError):
        loc = loc + tuple(cause.key.split("."))
        return loc, str(cause)
    if kind == "extra_forbidden":
        return loc, _unknown_key(root, loc)
    if kind == "missing":
        return loc, "required key is missing"
    bounds = {
        "greater_than": (">", "gt"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "less_than_equal": ("<=", "le"),
    }
    if kind in bounds:
        sign, name = bounds[kind]
        return loc, f"must be {sign} {_number(ctx.get(name))} (got {_short(value)})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(root, loc)
        keys = f" ({', '.join(model.model_fields)})" if model is not None else ""
        return loc, f"must be a mapping of keys{keys} (got {_short(value)})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return loc, f"must be one of {expected} (got {_short(value)})"
    if kind in ("too_short", "too_long"):
        what = "at least" if kind == "too_short" else "at most"
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        return loc, f"must have {what} {count} entries (got {_short(value)})"
    if cause is not None and kind == "value_error":
        return loc, str(cause)
    if kind in ("tuple_type", "list_type") and not isinstance(value, list | tuple | dict):
        text = str(value).strip()
        example = text if text.isdigit() else "a, b"  # years: "2023" -> [2023]
        return loc, f"must be a list in square brackets, e.g. [{example}] (got {_short(value)})"
    if kind == "string_type" and isinstance(value, int) and loc and loc[-1] == "crs":
        return loc, f"must be text: 'EPSG:{value}' for that EPSG code (got {value})"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message[:1].lower() + message[1:]
    if kind.endswith(("_type", "_parsing")) or "should be" in message:
        message = message.replace("input should be", "must be")
        if kind.startswith(("date_", "datetime_")):
            message += "; write dates as YYYY-MM-DD, e.g. 2023-06-01"
        message += f" (got {_short(value)})"
    return loc, message


def validation_error(
    err: ValidationError,
    root: type[BaseModel],
    *,
    source: str,
    document: str | None = None,
) -> ConfigError:
    """Build the one-line :class:`ConfigError` for a pydantic ``ValidationError``.

    Parameters
    ----------
    err
        The validation error.
    root
        The model that was validated (to list valid keys of unknown ones).
    source
        The config file as the user named it (first field of the message).
    document
        The YAML text, to point at the line of the key.

    Returns
    -------
    ConfigError
        ``"<source>: <key>: <message>"``, plus ``(line N)`` and ``(and N more errors)``.
    """
    # An unknown key first: a misspelt section ("period:") also makes its right name
    # missing, and "did you mean 'periods'?" says what to fix.
    errors = sorted(
        _distinct(err.errors(include_url=False)), key=lambda e: e.get("type") != "extra_forbidden"
    )
    loc, message = _describe(errors[0], root)
    key = format_key(loc)
    line = yaml_line(document, loc) if document is not None else None
    text = f"{source}: {key}: {message}" if key else f"{source}: {message}"
    if line is not None:
        text += f" (line {line})"
    if len(errors) > 1:
        more = len(errors) - 1
        text += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConfigError(text.replace("\n", " "))


def _distinct(errors: list[Any]) -> list[Any]:
    """Drop errors about a key that holds an earlier error's key (pydantic reports both)."""
    kept: list[Any] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if not any(tuple(k.get("loc", ()))[: len(loc)] == loc for k in kept):
            kept.append(error)
    return kept


def yaml_line(document: str, loc: Sequence[str | int]) -> int | None:
    """Return the 1-based line of the YAML node at ``loc`` (the deepest one found)."""
    try:
        node = yaml.compose(document, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
