"""The three encodings of a Landsat Collection 2 ``_MTL`` file, from one ordered tree.

USGS ships the same metadata as ODL text (``_MTL.txt``), JSON (``_MTL.json``) and XML
(``_MTL.xml``). The tree here is a nested ``dict`` (insertion-ordered) of groups whose leaves are
either :class:`str` (an ODL *quoted* string) or :class:`Lit` (an ODL literal written without
quotes: numbers, dates, times). The layouts copy the real files exactly:

- ODL: ``GROUP = NAME`` / ``END_GROUP = NAME``, two spaces of indentation per level,
  ``KEY = "text"`` or ``KEY = 12.34``, a final ``END`` line and a trailing newline;
- JSON: one line, every value a string, ``json.dumps`` separators, no trailing newline;
- XML: ``<?xml version="1.0" encoding="UTF-8"?>``, two-space indentation, one element per key,
  a trailing newline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Union
from xml.sax.saxutils import escape

__all__ = ["Lit", "MTLTree", "to_json", "to_odl", "to_xml"]


@dataclass(frozen=True)
class Lit:
    """An ODL literal: written without quotes in ``_MTL.txt``, as a string elsewhere."""

    text: str

    def __str__(self) -> str:
        return self.text


MTLTree = dict[str, Union[str, Lit, "MTLTree"]]


def to_odl(tree: MTLTree) -> str:
    """Encode the tree as USGS ODL text (``_MTL.txt``)."""
    lines: list[str] = []

    def walk(node: MTLTree, depth: int) -> None:
        pad = "  " * depth
        for key, value in node.items():
            if isinstance(value, dict):
                lines.append(f"{pad}GROUP = {key}")
                walk(value, depth + 1)
                lines.append(f"{pad}END_GROUP = {key}")
            elif isinstance(value, Lit):
                lines.append(f"{pad}{key} = {value.text}")
            else:
                lines.append(f'{pad}{key} = "{value}"')

    walk(tree, 0)
    lines.append("END")
    return "\n".join(lines) + "\n"


def _plain(node: MTLTree) -> dict[str, object]:
    return {k: _plain(v) if isinstance(v, dict) else str(v) for k, v in node.items()}


def to_json(tree: MTLTree) -> str:
    """Encode the tree as USGS JSON (``_MTL.json``): one line, all values strings."""
    return json.dumps(_plain(tree))


def to_xml(tree: MTLTree) -> str:
    """Encode the tree as USGS XML (``_MTL.xml``)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']

    def walk(node: MTLTree, depth: int) -> None:
        pad = "  " * depth
        for key, value in node.items():
            if isinstance(value, dict):
                lines.append(f"{pad}<{key}>")
                walk(value, depth + 1)
                lines.append(f"{pad}</{key}>")
            else:
                lines.append(f"{pad}<{key}>{escape(str(value))}</{key}>")

    walk(tree, 0)
    return "\n".join(lines) + "\n"
