"""Several entries of a run folder replaced together: after a crash anywhere, all or none.

The oracle is the folder's files (path → bytes) before and after a whole write, written out
by hand. A crash is taken after every change to the file system (rename, removal, new
folder): as a ``kill -9`` leaves it (a copy of the folder at that instant, no handler run)
and as an exception there (the handlers run). Either way the folder must show the previous
files or the new ones, or be completed by the next command that takes it, with one warning.
"""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

from pipelines.outputs._atomic import write_text_atomic
from pipelines.outputs.lock import LOCK_NAME, folder_lock
from pipelines.outputs.transaction import (
    STAGE_NAME,
    carry_over,
    interrupted_write,
    staged_entries,
)
from pipelines.report import read_run
from pipelines.report.errors import ReportError
from tests.pipelines.outputs.helpers import after_each_change
from tiles.errors import IlotsWarning

OLD = {
    "scenarios/green/iris.csv": b"old green",
    "scenarios/comparison.csv": b"old comparison",
    "manifest.json": b"old manifest",
    "report.html": b"old report",
    "figures/lst_map.png": b"old map",
    "rasters/lst_median.tif": b"raster",
}
NEW = {
    "scenarios/roofs/iris.csv": b"new roofs",
    "scenarios/comparison.csv": b"new comparison",
    "manifest.json": b"new manifest",
    "report.html": b"new report",
    "config.yaml": b"new config",
    "figures/lst_map.png": b"new map",
    "rasters/lst_median.tif": b"raster",
}
#: What the write stages: NEW but the run's raster, which it does not replace.
STAGED = {path: data for path, data in NEW.items() if not path.startswith("rasters/")}
STOPPED = "the last test write was stopped while it put its files in place"


def _make(root, files):
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)


def _files(root, *, stage=True):
    """Path → bytes of the folder's files (without the lock; without the stage if asked)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
        and path.name != LOCK_NAME
        and (stage or STAGE_NAME not in path.relative_to(root).parts)
    }


def _write(root):
    """The write under test: STAGED, each file atomically, into the stage, then in place."""
    with staged_entries(root, by="test write") as stage:
        for path, data in STAGED.items():
            (stage / path).parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(stage / path, data.decode())


def _next_command(root):
    """Take the folder as the next command does; return its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with folder_lock(root):
            pass
    return [str(w.message) for w in caught]


def test_a_whole_write_replaces_the_entries_and_keeps_the_rest(tmp_path):
    _make(tmp_path, OLD)
    _write(tmp_path)
    assert _files(tmp_path) == NEW
    assert not (tmp_path / STAGE_NAME).exists()


def test_a_failure_in_the_write_leaves_the_folder_as_it_was(tmp_path):
    _make(tmp_path, OLD)
    with pytest.raises(KeyboardInterrupt), staged_entries(tmp_path, by="test write") as stage:
        write_text_atomic(stage / "manifest.json", "half")
        raise KeyboardInterrupt
    assert _files(tmp_path) == OLD


def test_a_users_files_in_a_replaced_folder_are_carried_over(tmp_path):
    """The files of scenarios/ that the manifest does not list (a user's: a read-only note,
    a link, a file in a scenario's folder) stay with their content; a listed file not
    written again goes, and a user's file of the name of a new one gives way to it."""
    _make(tmp_path, OLD)
    mine = {"scenarios/my_notes.txt": b"mine", "scenarios/green/mine.csv": b"also mine"}
    _make(tmp_path, {**mine, "scenarios/roofs/iris.csv": b"a file of the new one's name"})
    (tmp_path / "scenarios" / "my_notes.txt").chmod(0o444)
    (tmp_path / "scenarios" / "link.csv").symlink_to("comparison.csv")
    (tmp_path / "scenarios" / "linked").symlink_to(tmp_path / "rasters")
    listed = [tmp_path / "scenarios/green/iris.csv", tmp_path / "scenarios/comparison.csv"]
    with staged_entries(tmp_path, by="test write") as stage:
        for path, data in STAGED.items():
            (stage / path).parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(stage / path, data.decode())
        carried = carry_over(tmp_path, stage, "scenarios", listed)
    links = {"scenarios/link.csv": "comparison.csv", "scenarios/linked": f"{tmp_path}/rasters"}
    assert {path.relative_to(stage).as_posix() for path in carried} == {*mine, *links}
    assert {name: os.readlink(tmp_path / name) for name in links} == links
    assert _files(tmp_path) == {**NEW, **mine, "scenarios/link.csv": b"new comparison"}


def _order(outcomes):
    """Check that crash outcomes go old → completed → new, each at least once."""
    rank = {"old": 0, "completed": 1, "new": 2}
    assert [rank[o] for o in outcomes] == sorted(rank[o] for o in outcomes)
    assert set(outcomes) == set(rank)


def test_a_kill_after_any_change_leaves_the_old_or_new_files_or_a_completed_write(
    tmp_path, monkeypatch
):
    """kill -9 after each change: the folder as it is then (a copy), no handler run."""
    root, copies = tmp_path / "run", tmp_path / "copies"
    _make(root, OLD)
    killed = []
    after_each_change(
        monkeypatch, lambda: killed.append(shutil.copytree(root, copies / str(len(killed))))
    )
    _write(root)
    monkeypatch.undo()
    assert _files(root) == NEW
    outcomes, mixes = [], 0
    for folder in killed:
        seen = _files(folder, stage=False)  # what a reader of the folder sees then
        marked = interrupted_write(folder) is not None
        said = _next_command(folder)
        assert not (folder / STAGE_NAME).exists()
        if marked:  # possibly a mix, which the next command completes, saying so in one line
            assert len(said) == 1 and STOPPED in said[0] and "\n" not in said[0]
            assert _files(folder) == NEW
            outcomes.append("completed")
            mixes += seen not in (OLD, NEW)
        else:  # the old files or the new ones, whole; the next command changes none
            assert said == []
            assert seen in (OLD, NEW) and _files(folder) == seen
            outcomes.append("old" if seen == OLD else "new")
    _order(outcomes)
    # The entries are renamed one by one: between the first and the last, a mix.
    assert mixes >= len({path.split("/")[0] for path in STAGED}) - 1


def test_an_exception_at_any_change_leaves_the_old_or_new_files_or_a_completed_write(
    tmp_path, monkeypatch
):
    """SystemExit right after the k-th change, for every k; the handlers run."""
    outcomes, k = [], 1
    while True:
        root = tmp_path / str(k)
        _make(root, OLD)
        count = []

        def stop(k=k, count=count):
            count.append(True)
            if len(count) == k:
                raise SystemExit(137)

        after_each_change(monkeypatch, stop)
        try:
            _write(root)
        except SystemExit:
            stopped = True
        else:
            stopped = False
        monkeypatch.undo()
        if not stopped:  # k is past the write's last change
            assert _files(root) == NEW
            break
        said = _next_command(root)
        assert not (root / STAGE_NAME).exists()
        assert _files(root) in (OLD, NEW)
        if said:
            assert len(said) == 1 and STOPPED in said[0]
            outcomes.append("completed")
        else:
            outcomes.append("old" if _files(root) == OLD else "new")
        k += 1
    _order(outcomes)


def test_a_reader_refuses_a_write_left_half_in_place_until_it_is_completed(tmp_path, monkeypatch):
    _make(tmp_path, OLD)
    real = os.replace

    def crash_onto_the_folder(source, target, **kwargs):
        if os.path.dirname(target) == str(tmp_path):  # an entry put in place
            raise SystemExit(137)
        return real(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", crash_onto_the_folder)
    with pytest.raises(SystemExit):
        _write(tmp_path)
    monkeypatch.undo()
    assert interrupted_write(tmp_path) == "test write"
    with pytest.raises(ReportError) as err:
        read_run(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert "the last test write was stopped while it put its files in place" in message
    assert f"ilots report {tmp_path} completes that write" in message
    with pytest.warns(IlotsWarning, match=STOPPED) as said:
        with folder_lock(tmp_path):
            pass
    assert str(said[0].message).endswith(
        "its new config.yaml, figures/, manifest.json, report.html, scenarios/ are now all in "
        "place, so they agree again"
    )
    assert _files(tmp_path) == NEW
    assert interrupted_write(tmp_path) is None
