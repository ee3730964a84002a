"""The template: every text escaped, figures inlined, tables shaped as declared."""

from __future__ import annotations

import base64

import pytest

from pipelines.report.html import data_uri, render_html
from pipelines.report.views import Cell, FigureBlock, Page, Paragraph, Section, TableBlock
from tests.pipelines.report.helpers import parse_html, table_rows

PNG = b"\x89PNG\r\n\x1a\nfake"


def _page(*blocks):
    return Page(
        lang="en",
        title="T <b>",
        subtitle="s",
        meta=("m",),
        banner=None,
        contents_title="Contents",
        sections=(Section("one", "One", blocks),),
    )


def test_texts_are_escaped_and_figures_inlined():
    html = render_html(
        _page(
            Paragraph("<script>alert(1)</script>"),
            FigureBlock(PNG, alt='a "quoted" <alt>', caption="c & d", name="fig"),
            TableBlock("t", ("h",), ((Cell("<i>x</i>", True),),), row_ids=("r<1>",)),
        )
    )
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>T &lt;b&gt;</title>" in html
    doc = parse_html(html)
    (img,) = doc.iter("img")
    assert (
        img.attrs["src"]
        == data_uri(PNG)
        == "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    )
    assert img.attrs["alt"] == 'a "quoted" <alt>'
    assert doc.by_id("figure-fig").text() == "c & d"
    assert table_rows(doc, "t") == [("r<1>", ["<i>x</i>"])]
    assert doc.by_id("synthetic-banner") is None  # no banner unless the run is synthetic


def test_table_shape_is_checked():
    with pytest.raises(ValueError, match="a row of 2 cells under 1 headers"):
        TableBlock("t", ("h",), ((Cell("a"), Cell("b")),))
    with pytest.raises(ValueError, match="1 row ids for 0 rows"):
        TableBlock("t", ("h",), (), row_ids=("x",))
