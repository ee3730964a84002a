"""Render the report page to one self-contained HTML document with jinja2.

The template ships as package data (``pipelines/report/templates/report.html.j2``); it holds
the layout and the inline CSS, no sentence of its own, no script and no external resource.
Figures are embedded as base64 ``data:`` URIs, so the file opens anywhere without a network.
"""

from __future__ import annotations

import base64
import functools

import jinja2

from pipelines.report.views import Page

__all__ = ["TEMPLATE", "data_uri", "render_html"]

#: Name of the report template inside ``pipelines/report/templates``.
TEMPLATE = "report.html.j2"


def data_uri(png: bytes) -> str:
    """Return a ``data:image/png;base64,...`` URI holding the PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["data_uri"] = data_uri
    return env


def render_html(page: Page) -> str:
    """Render ``page`` to HTML text (every value escaped, figures inlined)."""
    return _environment().get_template(TEMPLATE).render(page=page)
