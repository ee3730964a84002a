"""One process at a time in a run folder, and what a killed one left behind.

Two runs into one folder would mix their checkpoints and outputs (a manifest naming one
config over the other's rasters). :func:`folder_lock` holds an advisory lock
(``fcntl.flock``) on ``<folder>/.ilots.lock`` while a run or the scenarios write there: the
second one stops at once, naming the first. :func:`read_lock` holds the same lock shared
(``ilots compare`` reading its two run folders): readers do not stop each other, but a
writer stops while one reads, and a reader while one writes. The kernel drops the lock
when its process ends, however it ends, so a killed run never leaves the folder locked.
A job of another thread that writes there keeps it held past its caller (:class:`JobHold`).
A folder's lock file stays (hidden, never listed as an output): removing it would let a
waiting process lock a file that a third one has already replaced. :func:`file_lock` holds
one file (a GeoPackage that ``ilots zonal`` adds a layer to, or that a run or ``ilots
compare`` writes anew) while a command reads it and puts its new version in place; its lock
file, beside the file, is removed by its last holder, who re-checks it. Where ``fcntl`` does
not exist (Windows), no lock is taken.

:func:`sweep_temporaries` removes the temporary files of a process killed while it wrote
(``kill -9``, a lost node), and a folder it was removing: their names are ilots' own,
hidden, with a 32-digit hex token. A write of several entries that a killed process left
half put in place (``ilots scenarios``, :mod:`.transaction`) is completed by the next
process to take the folder.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from pipelines.outputs.folder import claimed
from pipelines.outputs.transaction import finish_staged
from tiles.errors import OutputError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_NAME",
    "JobHold",
    "check_file_free",
    "file_lock",
    "folder_lock",
    "lock_holder",
    "read_lock",
    "run_folder_lock",
    "sweep_temporaries",
    "wait_for_jobs",
]

#: The lock file in a run folder.
LOCK_NAME = ".ilots.lock"

#: Temporary names of the atomic writers: ``.<stem>.<hex>.tmp<suffix>`` (``staged``),
#: ``.<name>.<hex>.tmp`` and ``.<name>.<hex>.scratch.tif`` (``raster.cog``),
#: ``.<name>.<random>.tmp`` (``mkstemp``'s, which ``dump_config`` used before: a killed
#: run of that code left them).
_TEMPORARY = re.compile(r"^\..+\.([0-9a-f]{32}\.(tmp|scratch)|[a-z0-9_]{8}\.tmp)(\.[A-Za-z0-9]+)?$")

#: The line a holder writes in its lock file (:func:`_lock`).
_HOLDER_LINE = re.compile(r"pid ([0-9]{1,9}) on (\S+)")

#: Seconds between the tries of a lock taken without waiting, refused meanwhile: a probe
#: (:func:`_holder`) holds it shared for an instant.
_RETRY_PAUSES = (0.02,) * 5

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass
class _Hold:
    """The holds of a folder in this process: the lock's open file, and how many holders."""

    handle: Any  # the open lock file (None: no lock taken)
    made: list[Path]  # the folders made for it, deepest first
    shared: bool = False  # held to read (read_lock), else to write (folder_lock)
    holders: int = 1
    jobs: set[concurrent.futures.Future] = field(default_factory=set)  # JobHold.ended


_held: dict[Path, _Hold] = {}  # the folders this process holds
_held_lock = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder`` for this process; make it first if needed.

    Re-entrant within a process (``ilots scenarios`` runs the pipeline into the folder it
    holds), in any order: the folder is released when its last holder lets go, whichever
    it is (:class:`JobHold`). The first hold completes the write of several entries
    a killed process left half put in place (:func:`~.transaction.finish_staged`), before
    anything reads them.

    Raises
    ------
    OutputError
        Another process holds the folder, or this one reads it (:func:`read_lock`).
    """
    root = Path(folder).resolve()
    first = _hold(root, shared=False)
    try:
        if first:  # a write a killed process left half put in place is completed first
            finish_staged(root)
        yield
    finally:
        _let_go(root)


@contextlib.contextmanager
def read_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder`` to read it: others may read it meanwhile, but no command writes there.

    The lock of :func:`folder_lock`, shared: a run, scenarios or a report into the folder
    stops while it is held (naming this process), and it is refused while one of them
    writes there. The jobs of this process still writing there (:class:`JobHold`, of an
    interrupted run) are waited for first. Re-entrant within a process, as
    :func:`folder_lock`. The lock file names the last reader to take it (the one a refused
    writer names, though an earlier one may still read). A folder that is not there is not
    held (there is nothing to read, which the reader says). A write left half put in place
    by a killed process is not completed (a reader does not write):
    :func:`~.transaction.interrupted_write` says it.

    Raises
    ------
    OutputError
        Another process writes in the folder, or this one does (:func:`folder_lock`).
    """
    root = Path(folder).resolve()
    if not root.is_dir():
        yield
        return
    wait_for_jobs(root)
    _hold(root, shared=True)
    try:
        yield
    finally:
        _let_go(root)


def _hold(root: Path, *, shared: bool) -> bool:
    """Take one hold of ``root`` for this process; True: the first.

    Another process's lock is tried again for a tenth of a second (:data:`_RETRY_PAUSES`:
    a probe, :func:`_holder`, holds it shared for an instant), each try under
    ``_held_lock`` but the pauses outside it: the holds of other threads (a job's, another
    folder's) do not wait for them.

    Raises
    ------
    OutputError
        Another process holds ``root`` at each try, or this one holds it the other way (to
        read against to write).
    """
    made: list[Path] = []
    pauses = iter(_RETRY_PAUSES)
    while True:
        with _held_lock:
            if (hold := _held.get(root)) is not None:  # another thread's, taken meanwhile too
                _hold_again(hold, root, shared)
                return False
            if not shared and not made:  # the folders the first try makes, deepest first
                made = [path for path in (root, *root.parents) if not path.exists()]
            handle, owner = _acquire(root, shared=shared)
            if owner is None:
                _held[root] = _Hold(handle, made, shared)
                return True
        pause = next(pauses, None)
        if pause is None:
            raise OutputError(_in_use(root, owner, shared))
        time.sleep(pause)


def _hold_again(hold: _Hold, root: Path, shared: bool) -> None:
    """Take one more hold of ``root``, held by this process (call with ``_held_lock``).

    Raises
    ------
    OutputError
        This process holds it the other way (to read against to write).
    """
    if hold.shared and not shared:
        raise OutputError(
            f"{root} is being read by ilots compare in this process; wait for it to end, or "
            "choose another --out"
        )
    if shared and not hold.shared:
        raise OutputError(
            f"{root} is being written by this process (a run, scenarios or a report); wait "
            "for it to end before reading it"
        )
    hold.holders += 1


class JobHold:
    """A hold of a folder (:func:`folder_lock`) for a job of another thread, until it ends.

    Taken before the job is queued, so that the caller interrupted in between (Ctrl-C as
    the job was queued) leaves no job writing in the folder unheld: the folder stays held
    after the caller lets go of it, until the job ends. The job runs under it
    (:meth:`run`), which lets go when the job ends, however it ends; :meth:`drop` lets go
    of a hold whose job has not started (cancelled, or never queued), which then never
    runs. :func:`wait_for_jobs` waits for it to be let go.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self._root = Path(folder).resolve()
        self._state = "queued"  # then "running" (run) or "dropped" (drop)
        self._state_lock = threading.Lock()
        #: Done once the hold is let go.
        self.ended: concurrent.futures.Future = concurrent.futures.Future()
        with contextlib.ExitStack() as hold:  # let go if interrupted before it is registered
            hold.enter_context(folder_lock(self._root))
            with _held_lock:
                _held[self._root].jobs.add(self.ended)
            self._hold = hold.pop_all()

    def run(self, job: Callable[..., _T], *args: Any) -> _T:
        """Run ``job(*args)``, then let go.

        Raises
        ------
        concurrent.futures.CancelledError
            The hold was dropped before the job started: it does not run.
        """
        with self._state_lock:
            if self._state == "dropped":
                raise concurrent.futures.CancelledError
            self._state = "running"
        try:
            return job(*args)
        finally:
            self._let_go()

    def drop(self) -> None:
        """Let go unless the job has started (it then never will); once only."""
        with self._state_lock:
            if self._state != "queued":
                return
            self._state = "dropped"
        self._let_go()

    def _let_go(self) -> None:
        with _held_lock:
            _held[self._root].jobs.discard(self.ended)
        self._hold.close()
        self.ended.set_result(None)


def wait_for_jobs(folder: str | os.PathLike[str]) -> None:
    """Wait for the jobs of this process still writing in ``folder`` (:class:`JobHold`).

    A run starts with it: in a process that goes on after a run was interrupted (a
    notebook), that run's COG being encoded still writes in the folder, which this process
    holds, so :func:`folder_lock` does not stop the next run there.
    """
    root = Path(folder).resolve()
    with _held_lock:
        jobs = set(_held[root].jobs) if root in _held else set()
    concurrent.futures.wait(jobs)


@contextlib.contextmanager
def run_folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder`` for a command that writes a run there (``ilots run``, ``scenarios``).

    It first waits for the jobs of this process still writing there (:func:`wait_for_jobs`),
    then holds it (:func:`folder_lock`); a folder that was there before stays whatever
    happens, so it is the run's at once (:func:`~pipelines.outputs.folder.claimed`: the
    CLI's run log goes there).
    """
    existed = Path(folder).is_dir()
    wait_for_jobs(folder)
    with folder_lock(folder):
        if existed:
            claimed(folder)
        yield


def _let_go(root: Path) -> None:
    """Drop one hold of ``root``; the last one releases the lock."""
    with _held_lock:
        hold = _held[root]
        hold.holders -= 1
        if hold.holders:
            return
        del _held[root]
        if hold.handle is not None:
            hold.handle.close()  # releases the lock
        _remove_if_unused(hold.made)


def lock_holder(folder: str | os.PathLike[str]) -> str | None:
    """Return who holds ``folder`` while a run writes it, as a refusal names it, else None.

    ``"pid N on HOST"``, or the lock file held when its last line names a process of this
    host name not running here (:func:`_owner`).
    """
    return _holder(Path(folder) / LOCK_NAME)


def check_file_free(path: str | os.PathLike[str]) -> None:
    """Refuse at once, before any work, a file another ilots command writes now.

    What :func:`file_lock` would refuse at the end of the work, said before it (``ilots
    zonal`` adding a layer to a GeoPackage). The file may still be taken meanwhile, which
    :func:`file_lock` then refuses. Where ``fcntl`` does not exist (Windows), nothing is
    refused.

    Raises
    ------
    OutputError
        Another ilots command holds the file (:func:`file_lock`), named as the refusal of
        :func:`file_lock` names it.
    """
    target, lock = _file_lock_paths(path)
    owner = _holder(lock)
    if owner is not None:
        raise OutputError(_file_in_use(target, owner))


def _holder(lock: Path) -> str | None:
    """Return who holds the lock file ``lock`` to write (:func:`_owner`), else None.

    Not made when missing. Probed with a shared lock, let go at once (a lock taken without
    waiting at that very instant tries again: :func:`_flock`). One removed by its last
    holder as it was probed, and made anew by another command, is probed again.
    """
    if fcntl is None:
        return None
    while lock.is_file():
        try:
            handle = open(lock, encoding="utf-8")  # not made: one removed meanwhile is not held
        except OSError:  # removed meanwhile, or unreadable: none known
            return None
        with handle:  # closing it lets go
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _owner(handle, lock)
            except OSError:  # a file system without locks: none known
                return None
            fcntl.flock(handle, fcntl.LOCK_UN)  # at once: a writer's lock may come now
            if _same_inode(handle, lock):
                return None
    return None


def _open_lock(path: Path) -> IO[str] | None:
    """Open the lock file ``path`` to append (made if missing), else read-only; None: neither.

    Read-only: another user's lock file in a shared folder, or a read-only mount. It still
    locks, but this process cannot write its line in it (:func:`_owner`).
    """
    for how in ("a+", "r"):
        with contextlib.suppress(OSError):
            return open(path, how, encoding="utf-8")
    return None


def _owner(handle: IO[str], path: Path) -> str:
    """Return the holder the lock file ``path`` names: its last line, or "another process".

    Readers taking the lock together may each have written their line. A holder that could
    not write its own (another user's lock file, a read-only mount) left an earlier one's
    there: a line naming a process of this host name that is not running here (ended, or
    in another container with the same host name) is said so, not named as the holder. A
    line naming another host cannot be checked, nor a pid given to another process since:
    they are named.
    """
    handle.seek(0)
    lines = [line.strip() for line in handle.read().split("\n") if line.strip()]
    if not lines:
        return "another process"
    if _ended(lines[-1]):
        return (f"a process holding the lock file {path}, whose last line names {lines[-1]}, "
                "not running as seen from here (ended, or another container's)")  # fmt: skip
    return lines[-1]


def _ended(line: str) -> bool:
    """Whether the lock file's ``line`` names a process of this host name not running here.

    Ended, or in another container with the same host name (another pid namespace).
    """
    named = _HOLDER_LINE.fullmatch(line)
    if named is None or named[2] != socket.gethostname():
        return False
    try:
        os.kill(int(named[1]), 0)  # no signal sent: whether the process is there
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: there
        return False
    return False


def _remove_if_unused(made: list[Path]) -> None:
    """Remove the folders made for the lock when nothing but the lock was written there."""
    if not made or not made[0].is_dir():
        return
    if {path.name for path in made[0].iterdir()} - {LOCK_NAME}:
        return
    (made[0] / LOCK_NAME).unlink(missing_ok=True)
    for path in made:
        with contextlib.suppress(OSError):
            path.rmdir()


def _acquire(root: Path, *, shared: bool = False) -> tuple[IO[str] | None, str | None]:
    """Lock ``root`` for this process, exclusive or ``shared``, at one try (made if needed).

    Returns
    -------
    tuple
        The open lock file, held (None: no lock to take), and None; or None and the
        holder, when another process holds it (to write, or, for an exclusive lock, to
        read): :func:`_lock`'s.
    """
    if fcntl is None:
        return None, None
    root.mkdir(parents=True, exist_ok=True)
    return _lock(root / LOCK_NAME, shared=shared, pauses=())


def _in_use(root: Path, owner: str, shared: bool) -> str:
    """Say that ``owner`` holds ``root``, refused to a reader (``shared``) or a writer."""
    if shared:
        return (
            f"{root} is being written by another ilots command ({owner}: a run, scenarios "
            "or a report); wait for it to end before reading it"
        )
    return (
        f"{root} is in use by another ilots command ({owner}: a run, scenarios or a "
        "comparison); wait for it to end, or choose another --out"
    )


def _lock(
    path: Path,
    *,
    shared: bool = False,
    wait: bool = False,
    pauses: tuple[float, ...] = _RETRY_PAUSES,
) -> tuple[IO[str] | None, str | None]:
    """Lock the file ``path`` (made if needed), exclusive or ``shared``, naming this process.

    ``wait``: until the other holders let it go, rather than returning the holder; else
    tried again after each of ``pauses`` (:func:`_flock`).

    Returns
    -------
    tuple
        The open lock file, held (None: no lock to take, the folder taking no file), and
        None; or None and the holder, when another process (or another open of this one)
        holds it. A file system without locks (some network mounts): the file, unlocked.
    """
    # Open while the lock is held. A read-only folder or mount (EACCES, EROFS): whoever
    # writes there says why it cannot; another user's lock file still locks, read-only.
    handle = _open_lock(path)
    if handle is None:
        return None, None
    try:
        _flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX, wait=wait, pauses=pauses)
    except BlockingIOError:  # held by another process
        owner = _owner(handle, path)
        handle.close()
        return None, owner
    except OSError as err:  # a file system without locks (some network mounts): run unlocked
        logger.info(
            "%s cannot be locked (%s): two commands writing there would not be told apart",
            path.parent,
            err,
        )
    if handle.writable():  # named as the holder (not in another user's file)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
    return handle, None


def _flock(
    handle: IO[str], mode: int, *, wait: bool, pauses: tuple[float, ...] = _RETRY_PAUSES
) -> None:
    """Lock the open file ``handle`` in ``mode``: ``wait`` until it is free, else try again.

    Tried again after each of ``pauses`` (a tenth of a second, :data:`_RETRY_PAUSES`): a
    probe (:func:`_holder`) holds it shared for an instant. A folder's lock is tried again
    by :func:`_hold` instead, outside the lock of this process's holds.

    Raises
    ------
    BlockingIOError
        Not ``wait``, and another process held it at each try.
    OSError
        The file system has no locks (some network mounts).
    """
    if wait:
        fcntl.flock(handle, mode)
        return
    for pause in pauses:
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        time.sleep(pause)
    fcntl.flock(handle, mode | fcntl.LOCK_NB)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, wait: bool = False) -> Iterator[None]:
    """Hold the file ``path`` while this command reads it and puts its new version in place.

    A command that adds to a file (``ilots zonal`` its layer to a GeoPackage: a copy of the
    file, the layer written into it, the copy renamed onto it) would otherwise lose what
    another one put in place between its copy and its renaming. The lock of
    :func:`folder_lock` on a hidden ``.<name>.lock`` beside the file (beside the file a
    symbolic link names: one lock whatever path names it), taken without waiting; not
    re-entrant (a second hold, in this process too, is refused). The last holder removes
    the lock file; one who locked it as it was removed takes the new one. ``wait``: until
    the other holder is done, instead, which a warning says (a run writing its
    ``zones.gpkg``, or ``ilots compare`` its ``compare.gpkg``, which must not fail at its end
    for a layer ``ilots zonal`` is adding, whose hold is short); never inside a hold of the
    same file by this process, which would wait for itself. Where ``fcntl`` does not exist
    (Windows), no lock is taken.

    Raises
    ------
    OutputError
        Another ilots command writes the file now, when not ``wait``: named by the last
        line of the lock file, or said to hold it when that line names a process not
        running here (:func:`_owner`).
    """
    target, lock = _file_lock_paths(path)
    handle = None
    while fcntl is not None:
        handle = _take(target, lock, wait=wait)
        if handle is None or _same_inode(handle, lock):
            break
        handle.close()  # locked as its last holder removed it: take the new one
    try:
        yield
    finally:
        if handle is not None:
            try:
                lock.unlink(missing_ok=True)  # while held: no one can lock it in between
            except OSError as err:  # the file is in place: a lock file left is harmless
                logger.info("could not remove the lock file %s (%s)", lock, err)
            finally:
                handle.close()


def _take(target: Path, lock: Path, *, wait: bool) -> IO[str] | None:
    """Lock ``lock``, the lock file of ``target`` (:func:`file_lock`); None: no lock to take.

    Raises
    ------
    OutputError
        Another ilots command holds it, when not ``wait``.
    """
    handle, owner = _lock(lock)
    if owner is None:
        return handle
    if not wait:
        raise OutputError(_file_in_use(target, owner))
    logger.warning(
        "%s is being written by another ilots command (%s): waiting for it to end",
        target,
        owner,
    )
    return _lock(lock, wait=True)[0]


def _file_lock_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return the file ``path`` names (a link followed) and its lock file, beside it."""
    target = Path(os.path.realpath(path))
    return target, target.with_name(f".{target.name}.lock")


def _file_in_use(target: Path, owner: str) -> str:
    """Say that ``target`` is being written by ``owner``, and what to do."""
    return (
        f"{target} is being written by another ilots command ({owner}); wait for it to end, "
        "then run this one again"
    )


def _same_inode(handle: IO[str], path: Path) -> bool:
    """Whether the open file ``handle`` is the file at ``path`` (not one removed since)."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def sweep_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed ilots process left in a run folder it holds.

    Only names of ilots' atomic writers go (:data:`_TEMPORARY`), in the folder and its
    sub-folders except the tile checkpoints (which keep their own); a folder of such a
    name goes whole (the tile checkpoints of a finished run, renamed before they are
    removed: ``pipelines.run_tiles.remove_checkpoints``). Call it with the folder
    held (:func:`folder_lock`), so that no live process is writing them.
    """
    root = Path(folder)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in sorted(root.rglob(".*")):  # a folder before what it holds
        parts = path.relative_to(root).parts
        if ".checkpoints" in parts or any(p in removed for p in path.parents):
            continue
        if not _TEMPORARY.match(path.name):
            continue
        if path.is_dir() and not path.is_symlink():  # one a killed process was removing
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path)
    return removed
