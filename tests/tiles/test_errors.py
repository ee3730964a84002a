"""ilots' warnings are collected from every thread, whatever the warning filters say."""

import threading
import warnings

from tiles.errors import IlotsWarning, collected_warnings, withdraw_warning


def test_collected_warnings_come_from_every_thread_whatever_the_filters():
    with collected_warnings() as got, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as a library's catch_warnings in another thread
        warnings.warn("in the main thread", IlotsWarning)
        worker = threading.Thread(target=warnings.warn, args=("in a worker", IlotsWarning))
        worker.start()
        worker.join()
        warnings.warn("not ours", UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.warn("after the block", IlotsWarning)
    assert got == ["in the main thread", "in a worker"]


def test_a_withdrawn_warning_leaves_the_collection():
    """Code that rewords the warnings it catches withdraws the originals (the last one)."""
    with collected_warnings() as got, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for message in ("raw", "other", "raw"):
            warnings.warn(message, IlotsWarning)
        withdraw_warning("raw")
        withdraw_warning("never issued")
    assert got == ["raw", "other"]
