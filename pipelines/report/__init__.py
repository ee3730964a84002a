"""The self-contained HTML report of a run folder (``ilots report RUN_DIR``).

:func:`build_report` reads a run folder (:mod:`.data`), computes the few numbers no other output
holds (:mod:`.tables`), words the findings in French or English from one table of messages
(:mod:`.messages`, :mod:`.text`, :mod:`.headlines`), draws the figures (:mod:`.figures`) and
renders one HTML file with every figure embedded (:mod:`.sections`, :mod:`.html`).

>>> build_report("ilots-demo/outputs", lang="en")  # doctest: +SKIP
PosixPath('ilots-demo/outputs/report.html')
"""

from pipelines.report.build import FIGURE_NAMES, build_report
from pipelines.report.data import RunSummary, read_run
from pipelines.report.errors import ReportError
from pipelines.report.messages import LANGUAGES, MESSAGES
from pipelines.report.text import Messages

__all__ = [
    "FIGURE_NAMES",
    "LANGUAGES",
    "MESSAGES",
    "Messages",
    "ReportError",
    "RunSummary",
    "build_report",
    "read_run",
]
