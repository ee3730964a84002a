"""Build ``report.html`` and ``figures/<name>.png`` in a run folder, each written atomically."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.outputs._atomic import check_output, staged, write_text_atomic
from pipelines.outputs.folder import FIGURE_NAMES, RunFolder
from pipelines.outputs.lock import folder_lock
from pipelines.report.data import being_written, read_held_run, run_writer
from pipelines.report.errors import ReportError
from pipelines.report.html import render_html
from pipelines.report.sections import build_page
from pipelines.report.text import Messages

__all__ = ["FIGURE_NAMES", "build_report"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


def build_report(
    run_dir: str | os.PathLike[str] | RunFolder,
    *,
    lang: str | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Build the self-contained HTML report of a run folder.

    Parameters
    ----------
    run_dir
        The run folder (``ilots run``'s output; ``<out>/outputs`` for ``ilots demo``), or
        a :class:`~pipelines.outputs.folder.StagedRunFolder`: then the report is built from
        and into its stage.
    lang
        ``"fr"`` or ``"en"``; by default the run's ``outputs.report_language`` (its
        manifest's config), else ``"fr"``.
    manifest
        The manifest of a run still writing the folder, read instead of ``manifest.json``
        (``ilots run`` writes that file last, once the report and every raster are written).

    Returns
    -------
    Path
        ``run_dir/report.html``. Each figure is also written to ``run_dir/figures/<name>.png``
        (those of the stage, for a staged folder).

    Raises
    ------
    ReportError
        Unknown language, a folder that is not a run folder, or an unreadable run file.
    tiles.errors.OutputError
        ``report.html`` cannot be written (a folder of that name, a read-only run folder), or
        another process (a run, the scenarios) is writing the folder.
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(Path(run_dir))
    root = folder.root
    # Held as a run holds it (re-entrant: a run builds its report inside its own hold), so
    # that a report is never drawn from a run folder half rewritten by another process. A
    # folder that is no run folder is said so by read_run, and gets no lock file.
    run_like = manifest is not None or any(
        (root / name).exists() for name in ("manifest.json", "zones.gpkg")
    )
    # Who holds it before the report does is a run writing it, even of this process (a
    # notebook's run, whose hold the report's re-enters): not a stopped run.
    writer = run_writer(folder, manifest)
    if writer is not None:  # said before another process's hold refuses the report's own
        raise ReportError(being_written(root, writer))
    with folder_lock(root) if run_like else contextlib.nullcontext():
        return _build_report(folder, lang, manifest, writer)


def _build_report(
    run_dir: RunFolder,
    lang: str | None,
    manifest: Mapping[str, Any] | None = None,
    writer: str | None = None,
) -> Path:
    summary = read_held_run(run_dir, manifest, writer)
    check_output(summary.folder.report, option="the report")  # before drawing the figures
    if lang is None:
        outputs = (summary.manifest.get("config") or {}).get("outputs") or {}
        lang = outputs.get("report_language") or "fr"
    messages = Messages(lang)
    page = build_page(summary, messages)
    folder = summary.folder
    folder.figures.mkdir(parents=True, exist_ok=True)
    written = set()
    for figure in page.figures():
        if figure.name is None:
            continue
        with staged(folder.figures / f"{figure.name}.png") as staging:
            staging.write_bytes(figure.png)
        written.add(figure.name)
    for name in FIGURE_NAMES:
        stale = folder.figures / f"{name}.png"
        if name not in written and stale.exists():
            stale.unlink()
    path = write_text_atomic(folder.report, render_html(page))
    logger.info("wrote %s (%d figures)", path, len(page.figures()))
    return path
