"""A rich progress bar that follows Dask's local schedulers (threads, processes, synchronous)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dask.callbacks import Callback
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

__all__ = ["dask_progress"]


class _RichCallback(Callback):
    """Advance a rich task by one for every finished Dask task."""

    def __init__(self, progress: Progress, description: str) -> None:
        super().__init__()
        self._progress = progress
        self._description = description
        self._task: Any = None

    def _start_state(self, dsk: Any, state: Any) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self._task = self._progress.add_task(self._description, total=total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self._progress.advance(self._task)

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[self._task].total)


@contextmanager
def dask_progress(description: str = "computing", enabled: bool | None = None) -> Iterator[None]:
    """Show a progress bar on stderr for the Dask computations run inside the block.

    Parameters
    ----------
    description
        Text shown before the bar.
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
