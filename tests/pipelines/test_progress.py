"""The progress bars: a tiled stage's bar reads the share of the stage done."""

from __future__ import annotations

import logging
import threading
import time

import dask
import dask.array as da
import pytest
from rich.progress import Progress

from pipelines.progress import _follow, progress_detail, progress_stage


def _bar(progress: Progress, label: str):
    return next(task for task in progress.tasks if task.description.startswith(label))


def test_a_tiled_stage_reads_the_share_of_its_tiles_done():
    # Its total grew with each tile's computation, so "tile 1/4" read 100 % and the stage's
    # bar went back and forth; with the tiles' span it climbs a quarter a tile.
    seen = []
    with Progress(disable=True) as progress, _follow(progress, "x"):
        with progress_stage("rasters"):
            for k in range(1, 5):
                progress_detail(f"tile {k}/4", span=((k - 1) / 4, k / 4))
                dask.compute(da.ones(100, chunks=10).sum(), scheduler="sync")
                bar = _bar(progress, "rasters")
                seen.append((bar.completed, bar.total))
        with progress_stage("report"):  # no span: the bar counts the tasks
            dask.compute(da.ones(100, chunks=10).sum(), scheduler="sync")
            plain = _bar(progress, "report")
    assert seen == [(250, 1000), (500, 1000), (750, 1000), (1000, 1000)]
    assert plain.completed == plain.total > 10


def test_a_stage_logs_how_it_ended(caplog):
    # A stage that raised was logged "done in 1.6 s" with `ilots -v`.
    caplog.set_level(logging.INFO, logger="pipelines.progress")
    with progress_stage("zonal"):
        pass
    with pytest.raises(ValueError), progress_stage("rural reference"):
        raise ValueError("no rural pixel")
    with pytest.raises(KeyboardInterrupt), progress_stage("rasters"):
        raise KeyboardInterrupt
    ends = [r.getMessage().rsplit(" ", 2)[0] for r in caplog.records if "..." not in r.message]
    assert ends == ["zonal: done in", "rural reference: failed after", "rasters: interrupted after"]


#: Holds the held task of the cluster test until the test has seen the others end.
_RELEASE = threading.Event()


def _increment(x: int) -> int:
    return x + 1


def _held(x: int) -> int:
    _RELEASE.wait(60)
    return x


@pytest.fixture(scope="module")
def client():
    """A ``dask.distributed`` client of one in-process worker of 2 threads."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the bar never got there"
        time.sleep(0.02)


def test_a_cluster_computation_fills_its_stage_bar_as_its_tasks_end(client):
    # A distributed client reports nothing to Dask's local callbacks: the bar stayed blank.
    parts = [dask.delayed(_increment)(k) for k in range(4)] + [dask.delayed(_held)(10)]
    total = dask.delayed(sum)(parts)  # 4 increments, the held task and their sum: 6 tasks
    found = {}

    def compute() -> None:
        with progress_stage("zonal"):
            found["sum"] = dask.compute(total)[0]

    _RELEASE.clear()
    with Progress(disable=True) as progress, _follow(progress, "x"):
        thread = threading.Thread(target=compute)
        thread.start()
        try:  # the increments end while the held task waits: 4 of 6
            _wait_for(lambda: any(t.completed == 4 for t in progress.tasks))
            bar = _bar(progress, "zonal")
            midway = (bar.completed, bar.total)
        finally:
            _RELEASE.set()
            thread.join(60)
        done = _bar(progress, "zonal")
    assert midway == (4, 6)
    assert (done.completed, done.total) == (6, 6)
    assert found["sum"] == 1 + 2 + 3 + 4 + 10


def test_a_tiled_stage_on_a_cluster_reads_the_share_of_its_tiles_done(client):
    with Progress(disable=True) as progress, _follow(progress, "x"):
        with progress_stage("rasters"):
            progress_detail("tile 2/4", span=(1 / 4, 2 / 4))
            dask.compute(da.ones(100, chunks=10).sum())
        bar = _bar(progress, "rasters (tile 2/4)")
    assert (bar.completed, bar.total) == (500, 1000)


def test_a_persist_under_the_bars_stays_on_the_cluster(client):
    from distributed import futures_of

    with Progress(disable=True) as progress, _follow(progress, "x"):
        (ones,) = dask.persist(da.ones(100, chunks=10))
        assert len(futures_of(ones)) == 10  # its 10 chunks, held on the cluster's worker
        assert int(ones.sum().compute()) == 100
        bar = _bar(progress, "x")
    assert bar.completed == bar.total > 10


def _fail(x: int) -> int:
    raise ValueError(f"no pixel in {x}")


def test_a_failed_cluster_computation_raises_and_leaves_the_scheduler_clean(client):
    failing = dask.delayed(_fail)(dask.delayed(_increment)(1))
    with Progress(disable=True) as progress, _follow(progress, "x"):
        with pytest.raises(ValueError, match="no pixel in 2"):
            dask.compute(failing)
        assert dask.compute(dask.delayed(_increment)(1)) == (2,)  # the next one computes
    # The scheduler's progress plugins are gone, its tasks forgotten.
    _wait_for(lambda: not client.cluster.scheduler.tasks)
    assert not [name for name in client.cluster.scheduler.plugins if "progress" in name]


class _Recording(Progress):
    """A progress whose bars' ``completed`` values are recorded at every change."""

    def __init__(self) -> None:
        super().__init__(disable=True)
        self.seen: dict[str, list[float]] = {}

    def _record(self, task_id) -> None:
        task = next(t for t in self.tasks if t.id == task_id)
        self.seen.setdefault(task.description, []).append(task.completed)

    def update(self, task_id, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self._record(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._record(task_id)


def test_a_one_tile_stage_that_computes_twice_climbs_on():
    """A one-piece run's tiles stage computes its composites, then its tile's pieces: the
    bar went from full back to empty (the tile's span held for both computations)."""
    from pipelines.run_tiles import tile_progress

    progress = _Recording()
    with progress, _follow(progress, "x"):
        with progress_stage("reference"):
            tile_progress(1, 1)
            dask.compute(da.ones(100, chunks=10).sum(), scheduler="sync")
        with progress_stage("tiles"):
            tile_progress(1, 1)
            for _ in range(2):
                dask.compute(da.ones(100, chunks=10).sum(), scheduler="sync")
    seen = progress.seen["tiles"]
    assert len(seen) > 20 and seen == sorted(seen)
    assert seen[-1] == _bar(progress, "tiles").total
