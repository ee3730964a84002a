"""A rich progress bar that follows Dask's local schedulers (threads, processes, synchronous).

One bar per stage of the work: code names its stage with :func:`progress_stage` (and what it
is at, e.g. ``"tile 2/4"``, with :func:`progress_detail`); every Dask computation run inside
the stage adds its tasks to that stage's bar, so a run in many tiles shows a few bars that
fill up, not one per computation. Computations outside any stage go to the bar named by
:func:`dask_progress`. Stages are context-local, so a computation in another thread (the COG
writer) counts towards its own stage.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dask.callbacks import Callback
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

logger = logging.getLogger(__name__)

__all__ = ["dask_progress", "progress_detail", "progress_stage"]

_STAGE: ContextVar[str | None] = ContextVar("ilots_progress_stage", default=None)
_DETAIL: ContextVar[str] = ContextVar("ilots_progress_detail", default="")
#: The share of its stage the next computations cover, ``(start, end)`` in [0, 1].
_SPAN: ContextVar[tuple[float, float] | None] = ContextVar("ilots_progress_span", default=None)
#: A stage's bar with a span: its total, in steps (its share of the stage, per mille).
_SPAN_TOTAL = 1000


@contextmanager
def progress_stage(label: str) -> Iterator[None]:
    """Count the Dask computations run in the block on the bar ``label``.

    The stage is also logged (INFO, ``ilots -v``) as it starts and ends, for a log written
    to a file, where the bar draws nothing.
    """
    token, detail, span = _STAGE.set(label), _DETAIL.set(""), _SPAN.set(None)
    started = time.perf_counter()
    logger.info("%s ...", label)
    try:
        yield
    finally:
        logger.info("%s: done in %.1f s", label, time.perf_counter() - started)
        _SPAN.reset(span)
        _DETAIL.reset(detail)
        _STAGE.reset(token)


def progress_detail(text: str, span: tuple[float, float] | None = None) -> None:
    """Say where the current stage is (e.g. ``"tile 2/4"``); shown after its label, logged.

    ``span``: the share of the stage the next computations cover, e.g. ``(1/4, 2/4)`` for
    the second of 4 tiles; the stage's bar then reads the stage's progress (without one it
    counts tasks, and its total grows with each computation).
    """
    _DETAIL.set(text)
    _SPAN.set(span)
    logger.info("%s: %s", _STAGE.get() or "ilots", text)


class _RichCallback(Callback):
    """Advance the bar of the current stage by one for every finished Dask task."""

    def __init__(self, progress: Progress, description: str) -> None:
        super().__init__()
        self._progress = progress
        self._description = description
        self._bars: dict[str, Any] = {}  # stage label -> rich task
        self._running: dict[int, list[Any]] = {}  # id(state) -> [rich task, total, done]

    def _start_state(self, dsk: Any, state: Any) -> None:
        label = _STAGE.get() or self._description
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        detail, span = _DETAIL.get(), _SPAN.get()
        description = f"{label} ({detail})" if detail else label
        bar = self._bars.get(label)
        if span is not None:  # the bar is the stage's share done: steps of _SPAN_TOTAL
            if bar is None:
                bar = self._bars[label] = self._progress.add_task(description, total=_SPAN_TOTAL)
            start, end = (round(_SPAN_TOTAL * share) for share in span)
            self._progress.update(bar, completed=start, description=description)
            self._running[id(state)] = [bar, total, 0, start, end]
            return
        if bar is None:
            bar = self._bars[label] = self._progress.add_task(description, total=total)
        else:
            grown = self._progress.tasks[bar].total + total
            self._progress.update(bar, total=grown, description=description)
        self._running[id(state)] = [bar, total, 0, None, None]

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        run = self._running.get(id(state))
        if run is None:
            return
        bar, total, done, start, end = run
        run[2] = done = done + 1
        if start is None:
            self._progress.advance(bar)
        else:
            self._progress.update(bar, completed=start + (end - start) * done / max(total, 1))

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        run = self._running.pop(id(state), None)
        if run is None or errored:
            return
        bar, total, done, start, end = run
        if start is not None:
            self._progress.update(bar, completed=end)
        elif total > done:  # tasks already finished when the computation started: done
            self._progress.advance(bar, total - done)


@contextmanager
def dask_progress(description: str = "computing", enabled: bool | None = None) -> Iterator[None]:
    """Show progress bars on stderr for the Dask computations run inside the block.

    Parameters
    ----------
    description
        The bar of computations outside any :func:`progress_stage`.
    enabled
        Force on or off; by default shown only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, transient=True) as progress, _RichCallback(progress, description):
        yield
