"""Where a run computes: Dask's local schedulers, a process pool, or a cluster's address.

:func:`scheduler_context` is what ``ilots run --scheduler`` and ``--workers`` set up around
a run; :func:`config_scheduler` names the scheduler a config asks for.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import dask
import dask.local
import dask.multiprocessing
import dask.threaded
from dask.system import CPU_COUNT

from pipelines.config import RunConfig, SchedulerConfig
from tiles.errors import (
    ConfigError,
    IlotsWarning,
    WarningText,
    collect_warning,
    collected_warnings,
)

__all__ = [
    "LOCAL_SCHEDULERS",
    "SCHEDULER_TIMEOUT_S",
    "cluster_record",
    "config_scheduler",
    "current_client",
    "scheduler_context",
    "silence_cluster_logs",
    "version_mismatches",
    "worker_warnings",
]


logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Where a ``--workers`` cluster serves its dashboard: on this machine only (the dashboard
#: shows the cluster to whoever reaches it; an SSH tunnel reaches it from elsewhere), on a
#: port the system picks, free, so that a second run or a Jupyter session's cluster (Dask's
#: 8787) does not make it warn that the port is taken. ``ilots -v`` says its link (it
#: shows the dashboard with bokeh installed, else a page saying so).
DASHBOARD_ADDRESS = "127.0.0.1:0"

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
    scheduler: str | None = None,
    workers: int | None = None,
    num_workers: int | None = None,
    *,
    worker_timeout_s: float = SchedulerConfig.model_fields["worker_timeout_s"].default,
    given_as: str = "scheduler.address",
    worker_logging: Callable[[], None] | None = None,
) -> Iterator[list[str]]:
    """Run the block on a dask scheduler: threads, processes, synchronous or a tcp:// address.

    ``workers`` starts a :class:`distributed.LocalCluster` of that many workers, whatever
    ``scheduler`` names (``--workers`` over the config's scheduler); ``num_workers`` sizes
    the local thread or process pool (``scheduler.workers`` of the config; default one per
    CPU). On a scheduler given by address, the block starts once a worker has joined
    (waited for ``worker_timeout_s``, ``scheduler.worker_timeout_s``) and every worker runs
    this ilots; other library versions than this machine's are warned of then
    (:func:`version_mismatches`). ``given_as``: the option or config key that named the
    address, which the errors name. ``worker_logging``: sets up logging as the caller's
    process has it (``ilots``' rules), run in each worker process of a ``workers`` cluster
    or of the ``processes`` pool as it starts; a cluster given by address runs its own
    processes, left as they are.

    Yields the warnings said as the cluster was checked: a run records them in its manifest
    (its warnings), and ``ilots run`` does not say them again as the run ends.
    """
    if workers:
        with _local_cluster(workers, worker_logging):
            yield []
    elif scheduler and "://" in scheduler:
        with _connected(scheduler, worker_timeout_s, given_as) as said:
            yield said
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
                pool = _process_pool(num_workers, worker_logging)
                options["pool"] = stack.enter_context(pool)
            stack.enter_context(dask.config.set(options))
            yield []


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
def _local_cluster(workers: int, logging_setup: Callable[[], None] | None = None) -> Iterator[None]:
    """Compute the block on a :class:`distributed.LocalCluster` of one-thread worker processes.

    Ctrl-C in a terminal signals every process of the foreground group: the workers too
    took it, and printed their ``KeyboardInterrupt`` tracebacks and shutdown warnings as the
    run stopped. Their processes block SIGINT (:func:`_nanny_class`): this one alone takes
    it and closes the cluster. Their logs show from ``ilots -v`` (:func:`_worker_log_level`).
    ``logging_setup`` runs in each worker process, before any task and as a restarted one
    joins: without it, the libraries' records of a failed read (odc-stac's "Failed to load ...")
    reached the terminal through logging's last resort, before ilots' one line. Its
    dashboard takes a free port (:data:`DASHBOARD_ADDRESS`), not Dask's 8787.
    """
    from distributed import Client, LocalCluster

    _quiet_distributed()
    with _quiet_interrupt(), contextlib.ExitStack() as stack:
        with _interrupt_held():  # stopped half-way, its close at exit failed with a traceback
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    worker_class=_nanny_class(),
                    silence_logs=_worker_log_level(),
                    dashboard_address=DASHBOARD_ADDRESS,
                )
            )
        if cluster.dashboard_link:
            logger.info("Dask dashboard of the --workers cluster: %s", cluster.dashboard_link)
        with Client(cluster) as client, _quiet_worker_logs():
            if logging_setup is not None:  # before any task; in a restarted worker too
                client.register_worker_callbacks(logging_setup)
            yield


def _nanny_class() -> type:
    """Return a :class:`distributed.Nanny` whose worker processes block SIGINT.

    A process inherits the signal mask of the thread that starts it: the nanny blocks SIGINT
    in the cluster's event-loop thread, where it starts (and restarts) its worker process,
    before the first. That thread and the workers take no Ctrl-C; this process's main thread
    still does. multiprocessing's resource tracker is started first: starting it unblocks
    SIGINT in its caller's thread. Windows has no signal mask: its workers are as
    distributed starts them.
    """
    from distributed import Nanny

    class QuietNanny(Nanny):
        async def start_unsafe(self) -> QuietNanny:
            if hasattr(signal, "pthread_sigmask"):
                from multiprocessing import resource_tracker

                resource_tracker.ensure_running()
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            return await super().start_unsafe()

    return QuietNanny


def _worker_log_level() -> int:
    """Return the level of the Dask workers' logs shown: none without ``ilots -v``.

    A task that fails is reported by its worker as a "Compute Failed" block with the task's
    traceback, before ilots' one line on the error; the workers of a stopped cluster warn
    of the tasks they drop.
    """
    if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
        return logging.CRITICAL + 1
    return logging.getLogger("distributed").getEffectiveLevel()


@contextlib.contextmanager
def _quiet_worker_logs() -> Iterator[None]:
    """Log the block's Dask workers of this process at :func:`_worker_log_level`.

    A cluster reached by its address may run its workers in this process (a
    :class:`distributed.LocalCluster` without processes): they log through its loggers.
    """
    logger = logging.getLogger("distributed.worker")
    previous = logger.level
    logger.setLevel(_worker_log_level())
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextlib.contextmanager
def _quiet_interrupt() -> Iterator[None]:
    """Silence distributed and asyncio from the moment a Ctrl-C (or SIGTERM) stops the block.

    The interrupted computations' waits end in ``AllExit``, which asyncio logs as "Task
    exception was never retrieved" blocks, one per computation, and the client and cluster
    log their closing, before ilots' one line. The loggers are silenced as the signal
    arrives (the main thread's handlers, wrapped for the block: asyncio logs from the
    cluster's thread while the interrupt unwinds the run), or as the interrupt leaves the
    block; their levels are restored after it (a notebook goes on: its later cluster errors
    must show), the CLI silencing them again as it exits (:func:`silence_cluster_logs`).
    """
    levels = {name: logging.getLogger(name).level for name in _CLUSTER_LOGGERS}
    wrapped = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous):
                wrapped[signum] = previous
                signal.signal(signum, functools.partial(_silence_then, previous))
    try:
        yield
    except KeyboardInterrupt:
        silence_cluster_logs()
        raise
    finally:
        for signum, previous in wrapped.items():
            signal.signal(signum, previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _interrupt_held() -> Iterator[None]:
    """Hold a Ctrl-C (or SIGTERM) back until the block ends, then stop; a second one at once.

    For the main thread (signal handlers run there); another thread's block is not held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    handlers = {s: h for s, h in handlers.items() if callable(h)}
    held: list[tuple[int, Any]] = []

    def hold(signum: int, frame: Any) -> None:
        if held:  # pressed again: at once
            handlers[signum](signum, frame)
        held.append((signum, frame))

    for signum in handlers:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if held:
        signum, frame = held[0]
        handlers[signum](signum, frame)


def _silence_then(handler: Callable[[int, Any], None], signum: int, frame: Any) -> None:
    """Silence distributed and asyncio, then handle the signal as ``handler`` does."""
    silence_cluster_logs()
    handler(signum, frame)


#: The loggers of a cluster's closing: asyncio's "Task exception was never retrieved", and
#: distributed's.
_CLUSTER_LOGGERS = ("asyncio", "distributed")


def silence_cluster_logs() -> None:
    """Silence the loggers of a cluster's closing (a process that ends on a Ctrl-C)."""
    for name in _CLUSTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@contextlib.contextmanager
def _connected(address: str, worker_timeout_s: float, given_as: str) -> Iterator[list[str]]:
    """Connect a :class:`distributed.Client` to ``address`` for the block, or say why not.

    The connection is made on a thread of its own, waited for :data:`SCHEDULER_TIMEOUT_S`
    and a little more: something else than a Dask scheduler listening there (its dashboard
    on 8787, a web server) never completes distributed's handshake, and ``Client``'s own
    timeout does not cover that wait. Then the block waits for a worker
    (:func:`_check_workers`).
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
            f"{given_as}: {why}{detail}; give the scheduler's address "
            "(port 8786 by default; 8787 is its dashboard), start one there (`dask "
            "scheduler`, then `dask worker ADDRESS`) or run with --scheduler threads"
        ) from None
    with _quiet_interrupt(), made["client"] as client, _quiet_worker_logs():
        yield _check_workers(client, address, worker_timeout_s, given_as)


def _check_workers(client: Any, address: str, timeout_s: float, given_as: str) -> list[str]:
    """Wait for a worker to join the scheduler, then check that every worker runs this ilots.

    A scheduler without workers, or whose workers exit because they cannot import ilots,
    took the run's tasks and never ran them: the run waited without a word. Other library
    versions than this machine's are warned of (an :class:`IlotsWarning` each), before the
    run rather than after it; returns those warnings.
    """
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError:  # distributed's (asyncio's) TimeoutError is the builtin one
        raise ConfigError(
            f"{given_as}: no worker joined the Dask scheduler at {address} within "
            f"{timeout_s:g} s; start workers with `dask worker {address}` on machines that "
            "have ilots installed (scheduler.worker_timeout_s sets the wait)"
        ) from None
    ours = _local_build()
    for worker, theirs in sorted(client.run(_build_probe()).items()):
        if theirs != ours:
            raise ConfigError(
                f"{given_as}: the Dask worker {worker} of {address} runs {theirs}, this "
                f"machine {ours}; install the same ilots on every worker's machine (the same "
                "release, or the same source for a development version) and restart them"
            )
    said = version_mismatches()
    for message in said:
        warnings.warn(IlotsWarning(message, code="cluster_versions"), stacklevel=2)
    return said


def _build_probe() -> Callable[[], str]:
    """Return a function saying which ilots its process runs, sent to workers by value.

    Defined here rather than at module level, it is pickled with its code: a worker that
    cannot import ilots runs it too, and says so.
    """

    def ilots_build() -> str:
        try:
            from pipelines.outputs._atomic import ilots_source, ilots_version
        except ImportError as err:
            return f"no ilots ({type(err).__name__}: {err})"
        source = ilots_source()
        return f"ilots {ilots_version()}" + (f" (source {source[:12]})" if source else "")

    return ilots_build


def _local_build() -> str:
    """Which ilots this process runs, as :func:`_build_probe`'s function says it."""
    return _build_probe()()


def cluster_record() -> dict[str, Any] | None:
    """Return the Dask cluster the run computes on, for its manifest; None on a local pool.

    ``{"scheduler": address, "workers": n, "threads": n, "local": bool}``: ``local`` for
    a :class:`distributed.LocalCluster` (``--workers``), whose workers share this machine.
    """
    client = current_client()
    if client is None:
        return None
    from distributed import LocalCluster

    threads = client.nthreads()
    return {
        "scheduler": client.scheduler.address,
        "workers": len(threads),
        "threads": sum(threads.values()),
        "local": isinstance(client.cluster, LocalCluster),
    }


def version_mismatches() -> list[str]:
    """Say the libraries whose versions differ between this machine and the Dask cluster.

    One message per library, e.g. ``dask 2025.1.0 here, 2024.1.0 on the scheduler``;
    none on a local pool. distributed says it as a table, and only with ``-vv``.
    """
    client = current_client()
    if client is None:
        return []
    from distributed.versions import scheduler_relevant_packages

    found = client.get_versions()
    ours = found["client"].get("packages", {})
    scheduler = found["scheduler"].get("packages", {})  # what it runs: dask's own libraries
    places = {"the scheduler": {p: scheduler.get(p) for p in scheduler_relevant_packages}}
    places.update(
        {f"worker {w}": (v or {}).get("packages", {}) for w, v in found["workers"].items()}
    )
    messages = []
    for package, version in sorted(ours.items()):
        other = {
            place: theirs.get(package)
            for place, theirs in places.items()
            if package in theirs and theirs[package] != version
        }
        if other:
            there = ", ".join(f"{v or 'none'} on {place}" for place, v in other.items())
            messages.append(
                f"the Dask cluster runs other library versions than this machine: {package} "
                f"{version or 'none'} here, {there}; install the same versions everywhere "
                "(results and failures may differ)"
            )
    return messages


def current_client() -> Any:
    """Return the ``dask.distributed`` client in use, or None (a local scheduler)."""
    if "distributed" not in sys.modules:  # a client exists only if distributed was imported
        return None
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        return None


@contextlib.contextmanager
def _process_pool(
    num_workers: int | None, logging_setup: Callable[[], None] | None = None
) -> Iterator[ProcessPoolExecutor]:
    """One pool of worker processes for every computation of a run.

    Without it, Dask's multiprocessing scheduler starts a pool per computation, and each
    spawned process imports the libraries and loads the compiled kernels again: a run in 9
    tiles of the demo city took 116 s on 2 cores, 30 computations of 2 fresh processes each.
    The pool is set up as ``dask.multiprocessing.get`` sets up its own, then logs as
    ``logging_setup`` says (the CLI's rules: odc-stac's records of a failed read reached the
    terminal).
    """
    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = "6640"  # Dask's value: the same hashes in every worker
    spool = Path(tempfile.gettempdir()) / f"ilots-warnings-{uuid.uuid4().hex}.jsonl"
    pool = ProcessPoolExecutor(
        num_workers or CPU_COUNT,
        mp_context=dask.multiprocessing.get_context(),
        initializer=_start_pool_process,
        initargs=(logging_setup, spool),
    )
    _POOL_SPOOLS[pool] = spool
    try:
        yield pool
    finally:
        pool.shutdown()
        spool.unlink(missing_ok=True)


def _start_pool_process(logging_setup: Callable[[], None] | None, spool: Path) -> None:
    """Set up a process of :func:`_process_pool`: as Dask does, then its logging.

    Its IlotsWarnings are written to ``spool``, whence :func:`worker_warnings` reads them.
    """
    dask.multiprocessing.initialize_worker_process()
    _relay_warnings(functools.partial(_spool_warning, spool))
    if logging_setup is not None:
        logging_setup()


#: The spool file of each pool of :func:`_process_pool`, where its processes' warnings go.
_POOL_SPOOLS: weakref.WeakKeyDictionary[ProcessPoolExecutor, Path] = weakref.WeakKeyDictionary()

#: The Dask cluster events topic a worker relays its IlotsWarnings under: ``[text, code,
#: run]``, ``run`` the token of the task creating it, or None (:func:`_task_run`).
WARNINGS_TOPIC = "ilots-warnings"

#: The Dask annotation of the tasks a :func:`worker_warnings` block submits: its token (the
#: innermost block's, in nested blocks). The client puts the
#: annotations in force on every new task of what it submits, fused or not. Not a
#: :func:`distributed.span`: the scheduler puts the tasks of a task group (the same key
#: prefix: two runs' calls of one delayed function) in its first task's span, another run's.
RUN_ANNOTATION = "ilots_run"

#: The relay of this worker process, open for its life (:func:`_relay_warnings`).
_relay: contextlib.AbstractContextManager[list[WarningText]] | None = None
_relay_lock = threading.Lock()


def _relay_warnings(send: Callable[[WarningText], None]) -> None:
    """Pass each IlotsWarning created in this worker process to ``send``, as it is created.

    Once per process: a worker set up again (a cluster's callbacks, registered by each
    run) keeps its first relay.
    """
    global _relay
    with _relay_lock:
        if _relay is None:
            _relay = collected_warnings(send)
            _relay.__enter__()


def _spool_warning(spool: Path, message: WarningText) -> None:
    """Append ``message`` and its kind to ``spool``, one JSON line written whole."""
    with open(spool, "a", encoding="utf-8") as out:
        out.write(json.dumps([str(message), message.code]) + "\n")


def _send_warning(message: WarningText) -> None:
    """Log ``message``, its kind and its run to the cluster's events, from the task creating it."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not in a task (a worker's own thread): no run of ours said it
        return
    worker.log_event(WARNINGS_TOPIC, [str(message), message.code, _task_run(worker)])


def _task_run(worker: Any) -> str | None:
    """Return the token of the :func:`worker_warnings` block that submitted this thread's task.

    Its :data:`RUN_ANNOTATION`, as the scheduler sent it with the task; None for a task
    submitted outside every block, or in a worker's call outside tasks.
    """
    try:
        task = worker.state.tasks.get(worker.get_current_task())
    except KeyError:  # not a task's thread
        return None
    annotations = (task.annotations if task is not None else None) or {}
    return annotations.get(RUN_ANNOTATION)


#: This process, told apart from every other (process ids repeat across containers).
_PROCESS = uuid.uuid4().hex

#: The name of the worker plugin relaying warnings: one per cluster, whatever the runs.
RELAY_PLUGIN = "ilots-warning-relay"


def _relay_to_events(client_process: str) -> None:
    """Set up a Dask worker to relay its IlotsWarnings to the cluster's events.

    Not a worker in the client's process (a LocalCluster without processes): its warnings
    are collected there as they are created.
    """
    if _PROCESS != client_process:
        _relay_warnings(_send_warning)


def _relay_plugin() -> Any:
    """Return the worker plugin that sets up each worker with :func:`_relay_to_events`."""
    from distributed import WorkerPlugin

    class WarningRelay(WorkerPlugin):
        name = RELAY_PLUGIN

        def __init__(self, client_process: str) -> None:
            self.client_process = client_process

        def setup(self, worker: Any) -> None:
            _relay_to_events(self.client_process)  # by reference: this module's, there

    return WarningRelay(_PROCESS)


#: The events of :data:`WARNINGS_TOPIC` pushed to this process, per open
#: :func:`worker_warnings` block (with its token), and the clients subscribed for them (with
#: their blocks).
_ARRIVED: list[tuple[str, list[tuple[float, Any]]]] = []
_SUBSCRIBED: dict[str, int] = {}
_events_lock = threading.Lock()


def _arrived(event: tuple[float, Any]) -> None:
    """Hand a relayed warning's event to the open :func:`worker_warnings` block of its run.

    The one that submitted the task creating it; an event of no run (its task was submitted
    outside every block) to every open block, recorded by another run too rather than by
    none.
    """
    message = event[1]
    tagged = message[2] if len(message) > 2 else None  # [text, code]: a worker of no run tag
    with _events_lock:
        for run, arrived in _ARRIVED:
            if tagged is None or tagged == run:
                arrived.append(event)


@contextlib.contextmanager
def _cluster_events(client: Any, run: str) -> Iterator[list[tuple[float, Any]]]:
    """Yield the list that the warnings of ``run`` relayed on ``client``'s cluster are pushed to.

    Subscribed to (pushed as logged, where the scheduler's own log of a topic keeps its last
    1,000 events only), once per client however many blocks are open.
    """
    client.register_plugin(_relay_plugin(), name=RELAY_PLUGIN)
    arrived: list[tuple[float, Any]] = []
    # (Un)subscribed under the lock (both only queue a message on the client's loop): a
    # block's unsubscribe sent after the next block's subscribe would leave that one deaf.
    with _events_lock:
        _ARRIVED.append((run, arrived))
        if not _SUBSCRIBED.get(client.id):
            client.subscribe_topic(WARNINGS_TOPIC, _arrived)
        _SUBSCRIBED[client.id] = _SUBSCRIBED.get(client.id, 0) + 1
    try:
        yield arrived
    finally:
        with _events_lock:
            del _ARRIVED[next(i for i, (_, held) in enumerate(_ARRIVED) if held is arrived)]
            _SUBSCRIBED[client.id] -= 1
            if not _SUBSCRIBED[client.id]:
                del _SUBSCRIBED[client.id]
                with contextlib.suppress(Exception):  # a client already closed
                    client.unsubscribe_topic(WARNINGS_TOPIC)


@contextlib.contextmanager
def worker_warnings() -> Iterator[Callable[[], None]]:
    """Collect here the IlotsWarnings that the scheduler's worker processes create in the block.

    Dask tasks in other processes (the ``processes`` pool of :func:`scheduler_context`, a
    cluster's workers) create their warnings there, out of reach of this process's
    :func:`~tiles.errors.collected_warnings`: each worker relays them (the pool's spool
    file; the cluster's events, :data:`WARNINGS_TOPIC`, pushed to this client), and they are
    collected here (:func:`~tiles.errors.collect_warning`) when the yielded function is
    called and as the block ends without an error. Their relay is written before the task's
    result is sent, so a computation's warnings are all there once it returns. Nothing to do
    on threads. A ``processes`` scheduler set by the caller's own ``dask.config`` (not
    :func:`scheduler_context`'s pool) relays nothing.

    On a cluster, the block's tasks carry its token (:data:`RUN_ANNOTATION`, a Dask
    annotation), and so do their events: two runs at once on one cluster each collect their
    own warnings (:func:`_arrived`). Dask's annotations are a context variable: the
    computations submitted from the thread that entered the block carry it (a Dask array's
    tasks: the innermost block open where it is computed; a ``dask.delayed`` graph's: the one
    open where it was made); Dask fuses no layer made there with one made outside the block.
    A task's warning of no run (submitted outside every block, or from another thread)
    reaches every open block, another run's too; a task that another run's computation
    already holds (the same key: the same inputs, computed at once) is that run's, and so is
    its warning. Runs in separate processes only: two runs in threads of one process share
    its collectors (:func:`~tiles.errors.collect_warning`).
    """
    client = current_client()
    pool = dask.config.get("pool", None)
    spool = _POOL_SPOOLS.get(pool) if isinstance(pool, ProcessPoolExecutor) else None
    at = 0  # what was relayed before the block is not its own (a pool's, a cluster's runs)
    with contextlib.ExitStack() as stack:
        if client is not None:
            run = uuid.uuid4().hex
            # Its own token only: an outer block gets an inner block's warnings as the inner
            # one collects them (collect_warning), and so once.
            stack.enter_context(dask.annotate(**{RUN_ANNOTATION: run}))
            events = stack.enter_context(_cluster_events(client, run))
        elif spool is not None and spool.is_file():
            at = _spool_lines(spool, 0)[1]

        def collect() -> None:
            nonlocal at
            if client is not None:
                relayed = [message[:2] for _time, message in events[at:]]  # text, code
                at += len(relayed)
            elif spool is not None and spool.is_file():
                lines, at = _spool_lines(spool, at)
                relayed = [json.loads(line) for line in lines]
            else:
                return
            for text, code in relayed:
                collect_warning(WarningText(text, code))

        yield collect
        collect()


def _spool_lines(spool: Path, at: int) -> tuple[list[str], int]:
    """Return the whole lines of ``spool`` from offset ``at``, and the offset after them.

    A line being written (no newline yet) is left for the next read.
    """
    with open(spool, "rb") as lines:
        lines.seek(at)
        data = lines.read()
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8").splitlines(), at + end


def config_scheduler(config: RunConfig) -> str | None:
    """Return the scheduler ``scheduler.kind``/``address`` name (a name, an address or None)."""
    return config.scheduler.address or (
        config.scheduler.kind if config.scheduler.kind != "distributed" else None
    )
