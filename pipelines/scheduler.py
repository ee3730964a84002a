"""Where a run computes: Dask's local schedulers, a process pool, or a cluster's address.

:func:`scheduler_context` is what ``ilots run --scheduler`` and ``--workers`` set up around
a run; :func:`config_scheduler` names the scheduler a config asks for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dask
import dask.local
import dask.multiprocessing
import dask.threaded
from dask.system import CPU_COUNT

from pipelines.config import RunConfig
from tiles.errors import ConfigError

__all__ = ["LOCAL_SCHEDULERS", "SCHEDULER_TIMEOUT_S", "config_scheduler", "scheduler_context"]


#: Dask's local schedulers by name (``scheduler.kind``, ``--scheduler``).
LOCAL_SCHEDULERS = {
    "threads": dask.threaded.get,
    "processes": dask.multiprocessing.get,
    "synchronous": dask.local.get_sync,
}


#: Seconds to wait for a Dask scheduler given by address before saying none answers.
SCHEDULER_TIMEOUT_S = 10


@contextlib.contextmanager
def scheduler_context(
    scheduler: str | None = None, workers: int | None = None, num_workers: int | None = None
) -> Iterator[None]:
    """Run the block on a dask scheduler: threads, processes, synchronous or a tcp:// address.

    ``workers`` starts a :class:`distributed.LocalCluster` of that many workers (unless an
    address is given); ``num_workers`` sizes the local thread or process pool
    (``scheduler.workers`` of the config; default one per CPU).
    """
    if scheduler and "://" in scheduler:
        with _connected(scheduler):
            yield
    elif workers:
        from distributed import Client, LocalCluster

        _quiet_distributed()
        with LocalCluster(n_workers=workers, threads_per_worker=1) as cluster, Client(cluster):
            yield
    else:
        # The scheduler as a function and the rechunk method dask picks without a
        # distributed client: named by strings, dask imports distributed (~0.2 s) to look
        # for a client.
        name = scheduler or "threads"
        options: dict[str, Any] = {
            "scheduler": LOCAL_SCHEDULERS.get(name, name),
            "array.rechunk.method": "tasks",
        }
        if num_workers:
            options["num_workers"] = num_workers
        with contextlib.ExitStack() as stack:
            if name == "processes":
                options["pool"] = stack.enter_context(_process_pool(num_workers))
            stack.enter_context(dask.config.set(options))
            yield


def _quiet_distributed() -> None:
    """Log dask.distributed at the level of the run's logging, INFO at most.

    distributed sets its loggers to INFO when it is imported (its ``logging`` config): a
    ``--workers`` cluster's start and stop were 40 lines on every run; ``ilots -v`` shows
    them.
    """
    level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
    logging.getLogger("distributed").setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.NOTSET)  # as the parent says


@contextlib.contextmanager
def _connected(address: str) -> Iterator[None]:
    """Connect a :class:`distributed.Client` to ``address`` for the block, or say why not.

    The connection is made on a thread of its own, waited for :data:`SCHEDULER_TIMEOUT_S`
    and a little more: something else than a Dask scheduler listening there (its dashboard
    on 8787, a web server) never completes distributed's handshake, and ``Client``'s own
    timeout does not cover that wait.
    """
    from distributed import Client

    _quiet_distributed()
    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = Client(address, timeout=SCHEDULER_TIMEOUT_S)
        except BaseException as err:  # said below, in the caller's thread
            made["error"] = err

    thread = threading.Thread(target=connect, name="ilots-connect", daemon=True)
    thread.start()
    thread.join(SCHEDULER_TIMEOUT_S + 5)
    error = made.get("error")
    if "client" not in made:
        if isinstance(error, OSError):  # nothing listens, or a firewall (a TimeoutError)
            why = f"no Dask scheduler answers at {address} within {SCHEDULER_TIMEOUT_S} s"
        else:  # no answer to the handshake, or one that is not distributed's
            why = f"what answers at {address} is not a Dask scheduler"
        detail = f" ({type(error).__name__})" if error is not None else ""
        raise ConfigError(
            f"scheduler.address (--scheduler): {why}{detail}; give the scheduler's address "
            "(port 8786 by default; 8787 is its dashboard), start one there (`dask "
            "scheduler`, then `dask worker ADDRESS`) or run with --scheduler threads"
        ) from None
    with made["client"]:
        yield


@contextlib.contextmanager
def _process_pool(num_workers: int | None) -> Iterator[ProcessPoolExecutor]:
    """One pool of worker processes for every computation of a run.

    Without it, Dask's multiprocessing scheduler starts a pool per computation, and each
    spawned process imports the libraries and loads the compiled kernels again: a run in 9
    tiles of the demo city took 116 s on 2 cores, 30 computations of 2 fresh processes each.
    The pool is set up as ``dask.multiprocessing.get`` sets up its own.
    """
    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = "6640"  # Dask's value: the same hashes in every worker
    pool = ProcessPoolExecutor(
        num_workers or CPU_COUNT,
        mp_context=dask.multiprocessing.get_context(),
        initializer=dask.multiprocessing.initialize_worker_process,
    )
    try:
        yield pool
    finally:
        pool.shutdown()


def config_scheduler(config: RunConfig) -> str | None:
    """Return the scheduler ``scheduler.kind``/``address`` name (a name, an address or None)."""
    return config.scheduler.address or (
        config.scheduler.kind if config.scheduler.kind != "distributed" else None
    )
