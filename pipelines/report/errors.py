"""The report's error: a folder that cannot be reported on, or an option it does not know."""

from __future__ import annotations

from tiles.errors import IlotsError

__all__ = ["ReportError"]


class ReportError(IlotsError):
    """A report cannot be built: not a run folder, an unreadable file, an unknown language."""
