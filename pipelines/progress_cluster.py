"""The progress bars of the computations of a ``dask.distributed`` client.

A cluster's scheduler reports nothing to Dask's local callbacks: each computation is
followed on the scheduler by distributed's own progress machinery, a
:class:`distributed.diagnostics.progress.Progress` of its keys (every task they need), whose
count of tasks left comes back every 0.1 s. Imported only when a client computes
(:func:`pipelines.progress.dask_progress`): importing ``distributed`` takes a while.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from distributed import Client, Future, futures_of
from distributed.diagnostics.progressbar import ProgressBar

from pipelines.progress import Computation, StageBars

__all__ = ["ClusterGet"]

#: Seconds a computation waits, as it ends, for its Progress to be set up on the scheduler
#: (a few milliseconds after the graph is sent; see :meth:`ClusterGet.__call__`).
SET_UP_WAIT_S = 5.0


class ClusterGet:
    """A client's ``get`` that puts each computation on its stage's bar.

    Dask calls it as it calls the bound method ``client.get`` it stands for and, like that
    method, it names its client as ``__self__``, where :func:`dask.persist` (which persists
    on the cluster through the client) and xarray (which picks its file locks by scheduler)
    look.
    """

    def __init__(self, client: Client, bars: StageBars) -> None:
        self.__self__ = client
        self._bars = bars

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        """Compute ``keys`` of ``dsk`` on the cluster, as ``client.get`` does, with a bar."""
        client = self.__self__
        computation = self._bars.begin(None)
        packed = client.get(dsk, keys, sync=False, **kwargs)
        futures = futures_of(packed)
        follower = _Follower(futures, client, self._bars, computation)
        following = asyncio.run_coroutine_threadsafe(follower.follow(), client.loop.asyncio_loop)
        try:
            results = client.gather(packed)
        finally:
            # The scheduler sets the Progress up once the keys are there: released before
            # that, they are forgotten, and the setup would wait for them for ever.
            follower.set_up.wait(SET_UP_WAIT_S)
            following.cancel()
            for future in futures:
                future.release()
        self._bars.finish(computation)
        return results


class _Follower(ProgressBar):
    """Feed a computation's bar with what the scheduler's Progress says of its keys."""

    def __init__(
        self, futures: list[Future], client: Client, bars: StageBars, computation: Computation
    ) -> None:
        super().__init__(futures, scheduler=client.scheduler.address, interval="100ms")
        self.set_up = threading.Event()
        self._bars = bars
        self._computation = computation

    async def follow(self) -> None:
        """Listen to the scheduler until the computation ends, or this is cancelled."""
        try:
            await self.listen()
        except OSError:  # the scheduler is gone: the computation says so
            pass
        finally:
            self.set_up.set()
            comm = getattr(self, "comm", None)
            if comm is not None:
                comm.abort()

    def _draw_bar(self, remaining: int, all: int, status: str, **kwargs: Any) -> None:
        if not self.set_up.is_set():  # the first report: the computation's tasks
            self._bars.add_tasks(self._computation, all)
            self.set_up.set()
        if status != "error":
            self._bars.progressed(self._computation, all - remaining)
