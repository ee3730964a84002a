"""Replace several entries of a run folder together: after a crash, all of them or none.

Each file of a run folder is replaced atomically (:mod:`._atomic`), but a command that
replaces several that describe each other (``ilots scenarios``: ``scenarios/``,
``config.yaml``, ``manifest.json``, ``report.html``, ``figures/``) would leave them
disagreeing if killed between two of its renames. :func:`staged_entries` has the new
entries written whole into a stage folder, ``<run folder>/.ilots-staged/``, while the run
folder itself is left as it is; then it flushes them to the disk, writes the commit mark
(``.ilots-staged/commit.json``, the entries' names), renames each entry onto the run
folder's, removes the mark and then the stage::

    killed before the mark      the previous state, whole (the stage is left-over work)
    killed after the mark       a mix, which the mark says is to be completed
    killed once it is removed   the new state, whole (the stage is left-over work)

:func:`finish_staged` completes a marked stage (renaming what is left: each rename is done
once, and an entry already renamed is gone from the stage) and removes an unmarked one.
:func:`~.lock.folder_lock` calls it as it takes the folder, so the next command that holds
the folder (``ilots run``, ``ilots scenarios``, ``ilots report``) completes the write before
it reads anything; :func:`interrupted_write` lets a reader that does not hold the folder
refuse it meanwhile. A staged folder replaces the run folder's whole: :func:`carry_over`
stages beside the new outputs the files a user saved in it, which would otherwise go.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from pipelines.outputs._atomic import staged
from tiles.errors import IlotsWarning

__all__ = ["STAGE_NAME", "carry_over", "finish_staged", "interrupted_write", "staged_entries"]

#: The stage folder in a run folder (hidden: never an output).
STAGE_NAME = ".ilots-staged"
#: The commit mark in the stage: what wrote it and the entries to put in place.
_MARK = "commit.json"
#: Where a replaced folder goes in the stage (a folder cannot be renamed onto a folder).
_ASIDE = ".replaced"

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def staged_entries(root: str | os.PathLike[str], *, by: str) -> Iterator[Path]:
    """Yield an empty stage folder; on a clean exit, put its entries in place together.

    Parameters
    ----------
    root
        The run folder. Hold it (:func:`~.lock.folder_lock`) for the whole block.
    by
        The command writing, as the message of an interrupted write names it.

    Yields
    ------
    Path
        The stage: write there, whole, each file or folder that is to replace the run
        folder's entry of the same name (or to be added to it). On an exception the stage
        is removed and the run folder is as it was.
    """
    root = Path(root)
    finish_staged(root)  # what a killed write left: completed, or removed
    stage = root / STAGE_NAME
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    names = sorted(path.name for path in stage.iterdir())
    for path in (stage, *stage.rglob("*")):  # the entries are on the disk before the mark
        if not path.is_symlink():  # a user's link carried over: its folder entry is flushed
            _flush(path)
    with staged(stage / _MARK) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"by": by, "entries": names}, handle)
            handle.flush()
            os.fsync(handle.fileno())
    _flush(stage)
    _put_in_place(root, stage, names)


def carry_over(
    root: str | os.PathLike[str], stage: Path, name: str, outputs: Collection[Path]
) -> list[Path]:
    """Stage the files of the run folder's folder ``name`` that are no outputs of ilots.

    The staged folder ``stage/name`` replaces ``root/name`` whole; a user's files in it
    (notes, a table of their own) would go with it. Each file there that ``outputs``
    (the files the run folder's manifest lists) does not list, and the stage
    does not hold already, is linked to the same place under ``stage/name`` (copied where
    the file system has no hard links); the run folder is left as it is.

    Returns
    -------
    list[Path]
        The staged paths of the files carried over.
    """
    source, target = Path(root) / name, stage / name
    listed = {_located(path) for path in outputs}
    carried = []
    for folder, dirnames, filenames in os.walk(source):  # links to folders not followed
        links = [d for d in dirnames if os.path.islink(os.path.join(folder, d))]
        for entry in sorted([*filenames, *links]):
            path = Path(folder) / entry
            staged_path = target / path.relative_to(source)
            if _located(path) in listed or os.path.lexists(staged_path):
                continue
            staged_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, staged_path, follow_symlinks=False)
            except OSError:  # no hard links there (FAT, some network shares)
                shutil.copy2(path, staged_path, follow_symlinks=False)
            carried.append(staged_path)
    return carried


def _located(path: Path) -> Path:
    """Return ``path`` with its folder resolved: a link is itself, not the file it names."""
    return path.parent.resolve() / path.name


def finish_staged(root: str | os.PathLike[str]) -> None:
    """Complete the write a killed process left in ``root``'s stage, or remove its stage.

    Call it with the folder held (:func:`~.lock.folder_lock` does). A completed write is
    said in one warning (:class:`~tiles.errors.IlotsWarning`).
    """
    root = Path(root)
    stage = root / STAGE_NAME
    mark = _read_mark(stage)
    if mark is not None:
        _put_in_place(root, stage, mark["entries"])
        entries = ", ".join(
            f"{name}/" if (root / name).is_dir() else name for name in mark["entries"]
        )
        warnings.warn(
            f"{root}: the last {mark['by']} was stopped while it put its files in place; its "
            f"new {entries} are now all in place, so they agree again",
            IlotsWarning,
            stacklevel=2,
        )
    elif stage.is_dir():
        shutil.rmtree(stage)
        logger.info("removed %s: the files of a write stopped before it replaced any", stage)


def interrupted_write(root: str | os.PathLike[str]) -> str | None:
    """Return the command whose write :func:`finish_staged` has still to complete, or None."""
    mark = _read_mark(Path(root) / STAGE_NAME)
    return None if mark is None else str(mark["by"])


def _read_mark(stage: Path) -> dict[str, Any] | None:
    path = stage / _MARK
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _put_in_place(root: Path, stage: Path, names: list[str]) -> None:
    """Rename each staged entry left onto the run folder's, then remove the mark and stage.

    Run again after a crash anywhere in it, it ends as one run to the end would: an entry
    renamed is gone from the stage, and a replaced folder set aside is not needed again.
    """
    for name in names:
        source, target = stage / name, root / name
        if not os.path.lexists(source):
            continue  # put in place before the process was stopped
        if source.is_dir() and target.is_dir():
            (stage / _ASIDE).mkdir(exist_ok=True)
            os.replace(target, stage / _ASIDE / name)
        os.replace(source, target)
    _flush(root)  # the renames are on the disk before the mark goes
    (stage / _MARK).unlink()
    shutil.rmtree(stage)


def _flush(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to the disk (a folder where the OS can)."""
    if path.is_dir():
        if not hasattr(os, "O_DIRECTORY"):  # Windows: a folder cannot be opened
            return
        flags = os.O_RDONLY | os.O_DIRECTORY
    else:
        flags = os.O_RDWR  # Windows flushes only a handle open for writing
    try:
        handle = os.open(path, flags)
    except PermissionError:  # a read-only file (a user's, carried over): as the OS allows
        handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
