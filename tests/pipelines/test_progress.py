"""The progress bars: a tiled stage's bar reads the share of the stage done."""

from __future__ import annotations

import dask
import dask.array as da
from rich.progress import Progress

from pipelines.progress import _RichCallback, progress_detail, progress_stage


def _bar(progress: Progress, label: str):
    return next(task for task in progress.tasks if task.description.startswith(label))


def test_a_tiled_stage_reads_the_share_of_its_tiles_done():
    # Its total grew with each tile's computation, so "tile 1/4" read 100 % and the stage's
    # bar went back and forth; with the tiles' span it climbs a quarter a tile.
    seen = []
    with Progress(disable=True) as progress, _RichCallback(progress, "x"):
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
