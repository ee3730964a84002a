"""ilots' warnings are collected from every thread, whatever the warning filters say."""

import json
import pickle
import threading
import warnings

from tiles.errors import IlotsWarning, collected_warnings, warning_text, withdraw_warning


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


def test_a_warning_keeps_its_kind_in_the_collection_and_when_caught():
    with collected_warnings() as got, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(IlotsWarning("3 zones repaired", code="zone_geometry_repaired"))
        warnings.warn("no kind", IlotsWarning)
        warnings.warn("a library's", UserWarning)
    assert got == ["3 zones repaired", "no kind"]
    assert [m.code for m in got] == ["zone_geometry_repaired", None]
    texts = [warning_text(w.message) for w in caught]
    assert texts == ["3 zones repaired", "no kind", "a library's"]
    assert [t.code for t in texts] == ["zone_geometry_repaired", None, None]
    assert json.dumps(texts[0]) == '"3 zones repaired"'  # written as the message alone
    copied = pickle.loads(pickle.dumps(texts[0]))
    assert (copied, copied.code) == ("3 zones repaired", "zone_geometry_repaired")


def test_a_reworded_warning_is_told_once_in_its_own_words():
    """Code that catches the warnings of what it calls to say them in its words: what is
    told as each is created (the CLI's run log) gets the reworded one only."""
    from pipelines.census._messages import WarningLog

    told = []
    with collected_warnings(on_warning=told.append) as got, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = WarningLog("IRIS layer")
        with log.capture():
            warnings.warn(IlotsWarning("3 zones repaired", code="zone_geometry_repaired"))
        log.emit()
    assert got == told == ["IRIS layer: 3 zones repaired"]
    assert told[0].code == "zone_geometry_repaired"
