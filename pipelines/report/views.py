"""What the HTML template shows: sections made of blocks, every text already in its language.

The template only lays these out; it holds no sentence of its own. A :class:`Section` is a
titled sequence of blocks: paragraphs, headline lists, figures (PNG bytes, embedded as ``data:``
URIs), tables, bullet lists and the run's warnings grouped by kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.report.headlines import Headline

__all__ = [
    "Cell",
    "FigureBlock",
    "HeadlineBlock",
    "ListBlock",
    "Page",
    "Paragraph",
    "Section",
    "TableBlock",
    "WarningGroup",
    "WarningsBlock",
]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``style`` ``"note"``, ``"warning"`` or ``"missing"`` changes its look."""

    text: str
    style: str = ""
    kind: str = field(default="paragraph", init=False)


@dataclass(frozen=True)
class HeadlineBlock:
    """The headline findings, one list item each (element id ``headline-<key>``)."""

    headlines: tuple[Headline, ...]
    kind: str = field(default="headlines", init=False)


@dataclass(frozen=True)
class FigureBlock:
    """A PNG figure with its caption.

    Attributes
    ----------
    png
        The image bytes.
    alt
        Alternative text.
    caption
        Caption under the figure (may be empty).
    name
        File stem under ``figures/`` for the report's own figures; ``None`` for images taken
        from elsewhere in the run folder (scenario maps).
    """

    png: bytes
    alt: str
    caption: str = ""
    name: str | None = None
    kind: str = field(default="figure", init=False)


@dataclass(frozen=True)
class Cell:
    """A table cell; numeric cells align right."""

    text: str
    numeric: bool = False


@dataclass(frozen=True)
class TableBlock:
    """A table with a header row and a caption saying what it holds.

    Attributes
    ----------
    id
        The HTML id.
    headers, rows
        The column headers and the rows of cells.
    caption
        The table's ``<caption>``.
    row_ids
        One ``data-id`` per row (or none).
    row_header
        Index of the cell that names its row (a ``<th scope="row">``); ``None``: none does.
    """

    id: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""
    row_ids: tuple[str, ...] = ()
    row_header: int | None = 0
    kind: str = field(default="table", init=False)

    def __post_init__(self) -> None:
        if self.row_ids and len(self.row_ids) != len(self.rows):
            raise ValueError(f"{len(self.row_ids)} row ids for {len(self.rows)} rows")
        if self.row_header is not None and not 0 <= self.row_header < len(self.headers):
            raise ValueError(f"row header {self.row_header} of {len(self.headers)} columns")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"a row of {len(row)} cells under {len(self.headers)} headers")


@dataclass(frozen=True)
class ListBlock:
    """A bullet list with an optional title and lead sentence."""

    items: tuple[str, ...]
    title: str = ""
    lead: str = ""
    kind: str = field(default="list", init=False)


@dataclass(frozen=True)
class WarningGroup:
    """Warnings of one kind.

    ``title``: the kind, said in the page's language (``""``: no heading); ``items``: the
    messages as the run wrote them.
    """

    title: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class WarningsBlock:
    """The warnings of a run (or of ``ilots scenarios``), one group per kind.

    ``lang``: the language of the messages when it is not the page's (they are quoted in
    English in a French report).
    """

    title: str
    lead: str
    groups: tuple[WarningGroup, ...]
    lang: str | None = None
    kind: str = field(default="warnings", init=False)


Block = Paragraph | HeadlineBlock | FigureBlock | TableBlock | ListBlock | WarningsBlock


@dataclass(frozen=True)
class Section:
    """A titled part of the report (HTML id ``id``)."""

    id: str
    title: str
    blocks: tuple[Block, ...]

    def figures(self) -> tuple[FigureBlock, ...]:
        """Return the figure blocks of this section."""
        return tuple(b for b in self.blocks if isinstance(b, FigureBlock))


@dataclass(frozen=True)
class Page:
    """The whole report: header texts and sections."""

    lang: str
    title: str
    subtitle: str
    meta: tuple[str, ...]
    banner: str | None
    contents_title: str
    sections: tuple[Section, ...]

    def figures(self) -> tuple[FigureBlock, ...]:
        """Return every figure block, in page order."""
        return tuple(f for section in self.sections for f in section.figures())
