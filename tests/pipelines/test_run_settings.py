"""The process-wide settings of a run are made once for overlapping runs and all undone."""

from __future__ import annotations

import gc
import threading

import pytest
from threadpoolctl import threadpool_info

from pipelines.run import _process_settings


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_overlapping_runs_keep_one_blas_thread_and_restore_it_after_the_last():
    # (Not under an outer threadpool_limits: OpenBLAS then keeps the outer thread's count
    # for the others, whatever they set.)
    before = _blas_threads()
    if before == {1}:
        pytest.skip("BLAS runs one thread here already (OPENBLAS_NUM_THREADS=1, one core)")
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, set[int]] = {}

    def first() -> None:
        with _process_settings():
            seen["first"] = _blas_threads()
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with _process_settings():
            second_in.set()
            first_out.wait(10)
            seen["second, after the first ended"] = _blas_threads()
            seen["frozen"] = {int(gc.get_freeze_count() > 0)}

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"first": {1}, "second, after the first ended": {1}, "frozen": {1}}
    assert _blas_threads() == before, "the last run out restores the caller's setting"
    assert gc.get_freeze_count() == 0
