"""A rich progress bar that follows Dask's computations: local schedulers and a cluster's.

One bar per stage of the work: code names its stage with :func:`progress_stage` (and what it
is at, e.g. ``"tile 2/4"``, with :func:`progress_detail`); every Dask computation run inside
the stage adds its tasks to that stage's bar, so a run in many tiles shows a few bars that
fill up, not one per computation. Computations outside any stage go to the bar named by
:func:`dask_progress`. Stages are context-local, so a computation in another thread (the COG
writer) counts towards its own stage.

Dask's local schedulers (threads, processes, synchronous) report each finished task to a
:class:`dask.callbacks.Callback`; a ``dask.distributed`` client (``--workers``, a
``tcp://`` scheduler) reports nothing to it, so its computations are followed on the
scheduler, with distributed's own progress machinery (:mod:`pipelines.progress_cluster`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dask
from dask.callbacks import Callback
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

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

    The stage is also logged (INFO, ``ilots -v``) as it starts and ends (done, failed or
    interrupted), for a log written to a file, where the bar draws nothing.
    """
    token, detail, span = _STAGE.set(label), _DETAIL.set(""), _SPAN.set(None)
    started = time.perf_counter()
    logger.info("%s ...", label)
    ended = "failed after"
    try:
        yield
        ended = "done in"
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as the CLI takes it
        ended = "interrupted after"
        raise
    finally:
        logger.info("%s: %s %.1f s", label, ended, time.perf_counter() - started)
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


@dataclass
class Computation:
    """One Dask computation on its stage's bar: its tasks, and its span of the bar if any."""

    bar: TaskID
    start: int | None = None  # span steps; None: the bar counts tasks
    end: int | None = None
    total: int = 0
    done: int = 0
    ended: bool = False


class StageBars:
    """The stages' bars, one per stage label, fed by the computations run in the stages.

    Thread-safe: a cluster's progress arrives on the client's event loop thread.
    """

    def __init__(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._description = description
        self._bars: dict[str, TaskID] = {}  # stage label -> rich task
        self._totals: dict[TaskID, int] = {}  # rich task -> its total
        self._lock = threading.Lock()

    def begin(self, total: int | None) -> Computation:
        """Put a computation of ``total`` tasks (None: not known yet) on its stage's bar.

        The stage is the caller's: call this in the thread that computes.
        """
        label = _STAGE.get() or self._description
        detail, span = _DETAIL.get(), _SPAN.get()
        description = f"{label} ({detail})" if detail else label
        with self._lock:
            bar = self._bars.get(label)
            if bar is None:
                bar = self._bars[label] = self._progress.add_task(description, total=None)
                self._totals[bar] = 0
            if span is None:
                computation = Computation(bar)
                self._progress.update(bar, description=description)
            else:  # the bar is the stage's share done: steps of _SPAN_TOTAL
                start, end = (round(_SPAN_TOTAL * share) for share in span)
                computation = Computation(bar, start, end)
                self._totals[bar] = _SPAN_TOTAL
                self._progress.update(
                    bar, total=_SPAN_TOTAL, completed=start, description=description
                )
        if total is not None:
            self.add_tasks(computation, total)
        return computation

    def add_tasks(self, computation: Computation, tasks: int) -> None:
        """Count ``tasks`` more tasks in ``computation``."""
        with self._lock:
            computation.total += tasks
            if computation.start is None:  # the stage's total grows
                self._totals[computation.bar] += tasks
                self._progress.update(computation.bar, total=self._totals[computation.bar])

    def progressed(self, computation: Computation, done: int) -> None:
        """Say that ``done`` tasks of ``computation`` are finished."""
        with self._lock:
            if computation.ended:
                return
            step, computation.done = done - computation.done, done
            if computation.start is None:
                self._progress.advance(computation.bar, step)
            else:
                share = done / max(computation.total, 1)
                completed = computation.start + (computation.end - computation.start) * share
                self._progress.update(computation.bar, completed=completed)

    def finish(self, computation: Computation) -> None:
        """Fill ``computation``'s part of its bar: it is done (tasks already done count)."""
        with self._lock:
            computation.ended = True
            if computation.start is not None:
                self._progress.update(computation.bar, completed=computation.end)
            elif computation.total > computation.done:
                self._progress.advance(computation.bar, computation.total - computation.done)


class _RichCallback(Callback):
    """Advance the bar of the current stage by one for every task a local scheduler ends."""

    def __init__(self, bars: StageBars) -> None:
        super().__init__()
        self._bars = bars
        self._running: dict[int, Computation] = {}  # id(state) -> its computation

    def _start_state(self, dsk: Any, state: Any) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self._running[id(state)] = self._bars.begin(total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        computation = self._running.get(id(state))
        if computation is not None:
            self._bars.progressed(computation, computation.done + 1)

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        computation = self._running.pop(id(state), None)
        if computation is not None and not errored:
            self._bars.finish(computation)


@contextmanager
def _follow(progress: Progress, description: str) -> Iterator[None]:
    """Feed ``progress``'s bars with the Dask computations run in the block."""
    bars = StageBars(progress, description)
    with _RichCallback(bars), _on_cluster(bars):
        yield


@contextmanager
def _on_cluster(bars: StageBars) -> Iterator[None]:
    """Put the computations of the block's ``dask.distributed`` client, if any, on ``bars``."""
    client = _active_client()
    if client is None:
        yield
        return
    from pipelines.progress_cluster import ClusterGet

    with dask.config.set(scheduler=ClusterGet(client, bars)):
        yield


def _active_client() -> Any:
    """Return the ``dask.distributed`` client Dask computes with, or None (a local scheduler)."""
    if "distributed" not in sys.modules:  # a client exists only if distributed was imported
        return None
    from dask.base import get_scheduler
    from distributed import Client

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


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
    with Progress(*columns, transient=True) as progress, _follow(progress, description):
        yield
