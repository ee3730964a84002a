"""Where a run computes: a Dask cluster's workers are waited for and checked before it."""

import logging
import os
import signal
import threading
import time
import warnings
from importlib.metadata import version

import pytest

import pipelines.scheduler
from pipelines.scheduler import (
    cluster_record,
    current_client,
    scheduler_context,
    version_mismatches,
    worker_warnings,
)
from tiles.errors import ConfigError, IlotsWarning, collected_warnings


@pytest.fixture
def cluster():
    """A scheduler with one worker in this process (its address is ``inproc://``)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as made:
        yield made


def test_a_scheduler_without_workers_stops_with_one_line():
    # It took the run's tasks and never ran them: the run waited without a word.
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        address = empty.scheduler_address
        began = time.monotonic()
        with pytest.raises(ConfigError) as caught:
            with scheduler_context(address, worker_timeout_s=0.5, given_as="--scheduler"):
                pytest.fail("the block ran without a worker")
        assert time.monotonic() - began < 10
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--scheduler: no worker joined the Dask scheduler at {address}")
    assert "within 0.5 s" in message and f"`dask worker {address}`" in message


def test_the_workers_of_this_ilots_run_the_block(cluster):
    with scheduler_context(cluster.scheduler_address, worker_timeout_s=5):
        record = cluster_record()
        assert version_mismatches() == []
    assert record == {
        "scheduler": cluster.scheduler_address,
        "workers": 1,
        "threads": 1,
        "local": False,  # reached by its address, as another machine's
    }
    assert cluster_record() is None  # no client once the block ends


def test_a_worker_of_another_ilots_stops_the_run(cluster, monkeypatch):
    # This machine "runs" 0.0.1; the worker (this process) the installed version.
    monkeypatch.setattr(pipelines.scheduler, "_local_build", lambda: "ilots 0.0.1")
    with pytest.raises(ConfigError) as caught:
        with scheduler_context(cluster.scheduler_address, worker_timeout_s=5):
            pytest.fail("the block ran on a worker of another ilots")
    message = str(caught.value)
    (worker,) = cluster.scheduler.workers
    assert f"the Dask worker {worker} of {cluster.scheduler_address} runs " in message
    assert f"runs ilots {version('ilots')}" in message and "this machine ilots 0.0.1;" in message


def test_a_worker_that_cannot_import_ilots_stops_the_run(cluster, monkeypatch):
    # The worker's process cannot import ilots' modules (a worker of another environment).
    import sys

    monkeypatch.setattr(pipelines.scheduler, "_local_build", lambda: "ilots 1.0")
    monkeypatch.setitem(sys.modules, "pipelines.outputs._atomic", None)
    with pytest.raises(ConfigError) as caught:
        with scheduler_context(cluster.scheduler_address, worker_timeout_s=5):
            pytest.fail("the block ran on a worker without ilots")
    assert "runs no ilots (ModuleNotFoundError: " in str(caught.value)
    assert "this machine ilots 1.0;" in str(caught.value)


WITHOUT_ILOTS = """
import pickle, sys

class NoIlots:  # a worker's environment without ilots
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pipelines", "raster", "tiles"):
            raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")

sys.meta_path.insert(0, NoIlots())
print(pickle.loads(sys.stdin.buffer.read())())
"""


def test_the_probe_sent_to_workers_runs_where_ilots_is_not_installed():
    # A function of this module is pickled by reference: a worker without ilots failed to
    # read it (in distributed's handler, which tells the client nothing it can show).
    import subprocess
    import sys

    from distributed.protocol import pickle as dask_pickle

    sent = dask_pickle.dumps(pipelines.scheduler._build_probe())
    done = subprocess.run([sys.executable, "-c", WITHOUT_ILOTS], input=sent,
                          capture_output=True, check=True)  # fmt: skip
    assert done.stdout.decode().strip() == (
        "no ilots (ModuleNotFoundError: No module named 'pipelines')"
    )


def test_workers_start_a_local_cluster_whatever_the_scheduler_named():
    # --workers 1 over a config's cluster address: the address was used, --workers ignored.
    with scheduler_context("tcp://192.0.2.1:8786", workers=1, worker_timeout_s=1):
        record = cluster_record()
    assert record["local"] is True and record["workers"] == 1 and record["threads"] == 1
    assert not record["scheduler"].startswith("tcp://192.0.2.1")


def test_library_versions_other_than_this_machines_are_said(cluster, monkeypatch):
    from distributed import Client

    real = Client.get_versions

    def older_scheduler(self, *args, **kwargs):
        found = real(self, *args, **kwargs)
        found["scheduler"]["packages"] = {**found["scheduler"]["packages"], "dask": "2024.1.0"}
        return found

    monkeypatch.setattr(Client, "get_versions", older_scheduler)
    with pytest.warns(IlotsWarning) as warned:
        with scheduler_context(cluster.scheduler_address, worker_timeout_s=5) as said:
            early = [str(w.message) for w in warned]  # as the cluster was checked
            recorded = version_mismatches()  # what a run records in its manifest
    expected = [
        "the Dask cluster runs other library versions than this machine: dask "
        f"{version('dask')} here, 2024.1.0 on the scheduler; install the same versions "
        "everywhere (results and failures may differ)"
    ]
    assert early == said == recorded == expected
    assert len(warned) == 1 and warned[0].message.code == "cluster_versions"  # the report's kind


def test_an_interrupt_silences_the_clients_closing(cluster, monkeypatch):
    # Ctrl-C: asyncio logged "Task exception was never retrieved ... AllExit" blocks.
    from distributed import Client

    for name in ("asyncio", "distributed"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.WARNING)
    heard = []
    close = Client.close

    def closing(self, *args, **kwargs):
        heard.append(logging.getLogger("asyncio").isEnabledFor(logging.CRITICAL))
        heard.append(logging.getLogger("distributed.client").isEnabledFor(logging.CRITICAL))
        return close(self, *args, **kwargs)

    monkeypatch.setattr(Client, "close", closing)
    with pytest.raises(KeyboardInterrupt):
        with scheduler_context(cluster.scheduler_address, worker_timeout_s=5):
            os.kill(os.getpid(), signal.SIGINT)  # silenced as the signal arrives
            time.sleep(30)
    assert heard and not any(heard)  # silent as the client closed
    assert logging.getLogger("asyncio").isEnabledFor(logging.CRITICAL)  # then as they were


def test_an_interrupt_leaves_the_cluster_loggers_as_they_were():
    """A Ctrl-C silences asyncio and distributed while it closes the cluster (their closing
    chatter); they stayed silent for the rest of the process, hiding a notebook's later
    cluster errors. Only the CLI, which exits, keeps them silent."""
    with pytest.raises(KeyboardInterrupt):
        with scheduler_context(None, 1, None):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)  # the interrupt arrives here
    for name in ("asyncio", "distributed"):
        assert logging.getLogger(name).level <= logging.CRITICAL, name


def _silence_odc() -> None:
    logging.getLogger("odc").setLevel(logging.CRITICAL + 1)


def _odc_level(_: object) -> int:
    return logging.getLogger("odc").getEffectiveLevel()


def test_the_process_pool_logs_by_the_callers_rules():
    """The processes pool's workers log as the CLI does (worker_logging): odc-stac's records
    of a failed read reached the terminal from them, and read again by quarters (on_damaged:
    skip), once per piece."""
    import dask

    with scheduler_context("processes", None, 1, worker_logging=_silence_odc):
        level = dask.delayed(_odc_level)(0).compute()
    assert level == logging.CRITICAL + 1


#: The warning of a land cover recoded in a task (raster.landcover._map_kernel), code 7 unknown.
UNKNOWN_7 = (
    "land-cover codes [7] are not in the class mapping and were set to 0 (no data): the "
    "zones' class shares leave their pixels out, and so do a built urban footprint and the "
    "reference's water and built exclusions; add them to the mapping"
)


#: The same warning for the unknown code 9.
UNKNOWN_9 = UNKNOWN_7.replace("[7]", "[9]")


def _recode_in_tasks(unknown: int = 7):
    """Recode, in Dask tasks, a map holding WorldCover's 10 and the code ``unknown``."""
    import dask.array as da
    import numpy as np

    from raster.landcover import map_external_landcover

    codes = da.from_array(np.array([[10, unknown], [10, 10]], dtype=np.uint8), chunks=1)
    return map_external_landcover(codes, "worldcover").compute()


@pytest.mark.parametrize(
    "where",
    [{"scheduler": "processes", "num_workers": 1}, {"workers": 1}],
    ids=["process-pool", "cluster-workers"],
)
def test_warnings_of_tasks_in_other_processes_are_collected_here(where):
    """A task's warning in a worker process (the processes pool, a cluster's workers) was
    created there, out of this process's collectors: a run's manifest lacked it (the
    unknown land-cover codes of a run with --scheduler processes). Relayed now, with its
    kind, by the time the computation returns."""
    with scheduler_context(**where), collected_warnings() as got, worker_warnings() as relayed:
        _recode_in_tasks()
        relayed()
        assert got == [UNKNOWN_7]  # one chunk holds code 7
    assert [m.code for m in got] == ["unknown_landcover_codes"]


def test_a_long_lived_clusters_later_runs_keep_their_worker_warnings():
    """The scheduler keeps a topic's last 1,000 events only: read by their count, every run
    after the 1,000th relayed event collected none. Pushed to the client as logged now."""
    from pipelines.scheduler import WARNINGS_TOPIC

    with scheduler_context(workers=1):
        client = current_client()
        for n in range(1_000):  # earlier runs' warnings, filling the scheduler's log
            client.log_event(WARNINGS_TOPIC, [f"old {n}", "unknown_landcover_codes", "old"])
        assert len(client.get_events(WARNINGS_TOPIC)) == 1_000
        with collected_warnings() as got, worker_warnings() as relayed:
            _recode_in_tasks()
            relayed()
            assert got == [UNKNOWN_7]


def test_nested_blocks_and_an_untagged_event_give_each_warning_once():
    """A block inside another: its tasks' warnings reach the outer block's collector once.
    An event without a run tag (``[text, code]``, a worker of an older relay) reaches the
    open block, not an error in the client's event handler."""
    from pipelines.scheduler import WARNINGS_TOPIC

    older = "said by a worker without run tags"
    with scheduler_context(workers=1), collected_warnings() as got:
        with worker_warnings() as outer:
            with worker_warnings() as inner:
                _recode_in_tasks()
                inner()
            current_client().log_event(WARNINGS_TOPIC, [older, "unknown_landcover_codes"])
            deadline = time.monotonic() + 30
            while older not in got and time.monotonic() < deadline:
                time.sleep(0.05)
                outer()
    assert got == [UNKNOWN_7, older]


def test_two_runs_at_once_on_one_cluster_each_collect_their_own_worker_warnings(monkeypatch):
    """Two runs at once on one cluster (two ``ilots run`` at one scheduler address): the
    cluster's events carried no run, and each run recorded the other's warnings too. Two
    blocks here, open together, each computing its own recode: each hands its own warning
    to the collectors, and that one only."""
    from concurrent.futures import ThreadPoolExecutor

    handed = threading.local()  # per block (thread): what it hands to the collectors
    monkeypatch.setattr(pipelines.scheduler, "collect_warning",
                        lambda message: handed.messages.append(str(message)))  # fmt: skip
    both_open, both_computed = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)

    def run(unknown: int) -> list[str]:
        handed.messages = []
        with worker_warnings():
            both_open.wait()
            _recode_in_tasks(unknown)
            both_computed.wait()  # the other's warning arrived, as its computation returned
        return handed.messages

    with scheduler_context(workers=1), ThreadPoolExecutor(2) as runs:
        seven, nine = runs.submit(run, 7), runs.submit(run, 9)
        assert seven.result() == [UNKNOWN_7]
        assert nine.result() == [UNKNOWN_9]


def test_a_worker_warning_of_no_run_reaches_the_open_blocks():
    """A task submitted outside every block (here from another thread, which the block's
    run does not reach) carries no run: its warning is collected by the open block rather
    than lost."""
    from concurrent.futures import ThreadPoolExecutor

    with scheduler_context(workers=1), collected_warnings() as got, worker_warnings() as relayed:
        with ThreadPoolExecutor(1) as outside:
            outside.submit(_recode_in_tasks).result()
        relayed()
        assert got == [UNKNOWN_7]


def test_collectors_holding_equal_messages_each_end_their_own():
    """Two open collectors with equal messages (overlapping runs): the inner one's end
    removed the outer's list (compared by value), and the outer's end raised ValueError."""
    with collected_warnings() as outer:
        with collected_warnings() as inner:
            IlotsWarning("said to both", code="unknown_landcover_codes")
        IlotsWarning("said to the outer only", code="unknown_landcover_codes")
    assert [str(m) for m in inner] == ["said to both"]
    assert [str(m) for m in outer] == ["said to both", "said to the outer only"]


def test_a_cluster_in_this_process_gives_its_warnings_once(cluster):
    """Workers in this process (no processes): their warnings are collected as they are
    created, not relayed a second time."""
    from distributed import Client

    with Client(cluster), collected_warnings() as got, worker_warnings():
        _recode_in_tasks()
    assert got == [UNKNOWN_7]


def test_a_tasks_warning_is_collected_while_another_task_records_the_warnings():
    """Threads: a task inside ``warnings.catch_warnings(record=True)`` (a library's: dask's
    nanmin, odc-geo's COG encoder) takes the warnings other tasks give meanwhile, and its
    filters hide them (pytest.warns missed one); the collectors get them still."""
    import dask
    import numpy as np

    from raster.landcover import map_external_landcover

    held, warned = threading.Event(), threading.Event()

    def record():
        with warnings.catch_warnings(record=True) as taken:
            warnings.simplefilter("always")
            held.set()
            assert warned.wait(30), "the other task did not warn"
        return [str(w.message) for w in taken]

    def recode():
        assert held.wait(30), "the other task did not start"
        try:
            return map_external_landcover(np.array([10, 7], dtype=np.uint8), "worldcover")
        finally:
            warned.set()

    with warnings.catch_warnings(), collected_warnings() as got:
        warnings.simplefilter("ignore")
        taken, _ = dask.compute(dask.delayed(record)(), dask.delayed(recode)(),
                                scheduler="threads", num_workers=2)  # fmt: skip
    assert taken == [UNKNOWN_7]  # the interleaving: the recording task took it
    assert got == [UNKNOWN_7]
    assert [m.code for m in got] == ["unknown_landcover_codes"]


def test_workers_cluster_serves_its_dashboard_on_a_free_port(monkeypatch):
    """--workers started its LocalCluster with Dask's default dashboard port, 8787: a second
    run or a Jupyter session's cluster made it warn that the port was taken. The system
    picks a free one, on this machine only ("127.0.0.1:0"); the stage bars still follow the
    cluster's tasks."""
    import dask
    import distributed
    from rich.progress import Progress

    from pipelines.progress import _follow, progress_stage

    made = []

    class Recorded(distributed.LocalCluster):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    parts = [dask.delayed(abs)(-k) for k in range(3)]
    with scheduler_context(workers=1), Progress(disable=True) as progress, _follow(progress, "x"):
        with progress_stage("zonal"):
            total = dask.compute(dask.delayed(sum)(parts))[0]
        bar = next(task for task in progress.tasks if task.description.startswith("zonal"))
    assert [kwargs.get("dashboard_address") for kwargs in made] == ["127.0.0.1:0"]
    assert total == 0 + 1 + 2
    assert (bar.completed, bar.total) == (4, 4)  # 3 abs and their sum
