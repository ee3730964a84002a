"""Write a file under a temporary name beside its target, then rename it onto the target.

Every file of a run folder goes through :func:`staged`: a crash at any point leaves either the
previous file or no file, never a half-written one that looks whole, and no temporary file
either. The temporary name keeps the target's suffix (``.zones.<hex>.tmp.gpkg``) so that
writers which pick a format from the suffix (GDAL, pyarrow) still do.

:func:`recorded_writes` notes the files put in place under a run folder while a run writes
it (by :func:`staged`, or a writer outside it through :func:`note_written`), so that the
run's manifest lists those and no other file a user saved in the folder.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

from tiles.errors import OutputError, OutputExistsError

__all__ = [
    "Published",
    "all_or_none",
    "check_new",
    "check_output",
    "ilots_source",
    "ilots_version",
    "note_written",
    "probe_folder",
    "publish",
    "recorded_writes",
    "refuse_replacing",
    "source_digest",
    "staged",
    "taken",
    "write_text_atomic",
    "written_path",
]

#: The folder holding ilots' packages (a git checkout, or site-packages), and the packages
#: (pyproject.toml's ``[tool.setuptools.packages.find]``).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("pipelines", "raster", "tiles")

#: Errors of :func:`os.link` that say the file system makes no hard links (rather than that
#: the target exists or the folder is not writable): EPERM (Linux's FAT, vfat, exFAT),
#: ENOTSUP / EOPNOTSUPP and ENOSYS (network shares, FUSE), EXDEV (another mount), EMLINK
#: (too many links), EINVAL (Windows' FAT: ERROR_INVALID_FUNCTION; not tried), EACCES (SMB
#: servers that refuse links: STATUS_ACCESS_DENIED; a folder truly not writable then fails
#: the renaming, with its own error).
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK,
     errno.EINVAL, errno.EACCES}
)  # fmt: skip

_LOG = logging.getLogger(__name__)

# Side files SQLite (hence GDAL's GeoPackage driver) may leave beside a database.
_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")

# The recordings going on: each folder (resolved) and the files put in place under it.
_recordings: list[tuple[Path, set[Path]]] = []
_recordings_lock = threading.Lock()


class WrittenFiles:
    """The files put in place under one folder while :func:`recorded_writes` recorded it."""

    def __init__(self, files: set[Path]) -> None:
        self._files = files

    def __call__(self) -> list[Path]:
        """Return the files noted so far that are still there (resolved, sorted)."""
        with _recordings_lock:
            noted = sorted(self._files)
        return [path for path in noted if path.is_file()]


@contextmanager
def recorded_writes(root: str | os.PathLike[str]) -> Iterator[WrittenFiles]:
    """Record the files put in place under ``root`` (in any thread) while the block runs.

    Every :func:`staged` write and every :func:`note_written` call of the process under
    ``root`` is noted; what else appears there (a user's notes, a QGIS project saved in the
    run folder meanwhile) is not. Writes in other processes are not seen: a run writes its
    outputs in its own process. Recordings may overlap, each noting the writes of its own
    block.

    Yields
    ------
    WrittenFiles
        Called, the files noted so far that still exist.
    """
    recording = (Path(root).resolve(), set())
    with _recordings_lock:
        _recordings.append(recording)
    try:
        yield WrittenFiles(recording[1])
    finally:
        with _recordings_lock:
            _recordings[:] = [other for other in _recordings if other is not recording]


def note_written(path: str | os.PathLike[str]) -> None:
    """Note a file put in place by a writer other than :func:`staged` (:func:`recorded_writes`)."""
    if not _recordings:
        return
    resolved = Path(path).resolve()
    with _recordings_lock:
        for folder, files in _recordings:
            if folder in resolved.parents:
                files.add(resolved)


@contextmanager
def staged(path: str | os.PathLike[str], *, overwrite: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success put it in place at ``path``.

    Parameters
    ----------
    path
        The target file; its folder must exist.
    overwrite
        What may be at ``path`` when the file is put in place (:func:`publish`). ``None``
        (a run folder's files): anything, replaced (a symbolic link too). ``True`` (a
        command given ``--overwrite``): a file is replaced; a symbolic link is written
        through, as GDAL does: the file it names is replaced and the link kept. ``False``
        (a command without ``--overwrite``): nothing; a file or link that appeared there
        since the command checked is left as it is and :class:`OutputExistsError` raised.

    Yields
    ------
    Path
        Where to write. On a clean exit of the block it is put in place (atomic on one file
        system); on an exception it and any SQLite side files are removed and the exception
        propagates.
    """
    target = written_path(path, overwrite)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"output folder {target.parent} does not exist; create it first")
    staging = target.with_name(f".{target.stem}.{uuid.uuid4().hex}.tmp{target.suffix}")
    leftovers = [staging, *(Path(f"{staging}{side}") for side in _SQLITE_SIDECARS)]
    try:
        yield staging
        if not staging.exists():
            raise RuntimeError(f"nothing was written to the temporary file for {target}")
        publish(staging, target, overwrite=overwrite)
        leftovers.remove(staging)  # publish removed its name, or logged why it could not
        note_written(target)
    finally:
        for leftover in leftovers:
            _remove_quietly(leftover)


def _remove_quietly(path: Path) -> None:
    """Remove a temporary file if it is there; one held open elsewhere is left, and logged.

    (Windows: an antivirus or indexer holding the file put in place by a hard link also
    holds its temporary name.) The output is in place either way: this is no failure.
    """
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        _LOG.warning("could not remove the temporary file %s: %s", path, err.strerror or err)


def written_path(path: str | os.PathLike[str], overwrite: bool | None = None) -> Path:
    """Return where a file for ``path`` goes: the file a symbolic link names when ``overwrite``.

    With ``overwrite`` true a link at ``path`` (even one naming no file yet) is written
    through; else ``path`` itself.
    """
    target = Path(path)
    return Path(os.path.realpath(target)) if overwrite and target.is_symlink() else target


def publish(
    staging: str | os.PathLike[str], target: str | os.PathLike[str], *, overwrite: bool | None
) -> None:
    """Rename the finished file ``staging`` onto ``target``; unless ``overwrite``, never replace.

    ``overwrite`` ``None`` or true: :func:`os.replace`. False: :func:`os.link` then removal
    of ``staging``, which fails if anything (a file, a link) is at ``target``, even one
    that appeared a moment ago: two commands given one ``--out`` at once, one wins. Where
    the file system has no hard links (FAT, some network shares and FUSE file systems:
    :data:`_NO_HARD_LINKS`), it falls back to a check of ``target`` then
    :func:`os.replace`, which a file appearing in between would still lose to.

    Raises
    ------
    OutputExistsError
        Not ``overwrite`` and something is at ``target`` (:func:`refuse_replacing`'s
        wording); ``staging`` is left for the caller to remove.
    """
    if overwrite is not False:
        os.replace(staging, target)
        return
    try:
        os.link(staging, target)
    except FileExistsError:
        if not _is_staging(staging, target):  # NFS: a retried LINK finds its own file there
            refuse_replacing([target])
    except OSError as err:
        if err.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):
            refuse_replacing([target])
        os.replace(staging, target)
        return
    _remove_quietly(Path(staging))


class Published:
    """The files one command put in place (:meth:`publish`), to take back (:func:`all_or_none`)."""

    def __init__(self) -> None:
        self._placed: list[tuple[Path, os.stat_result, bool]] = []

    @property
    def placed(self) -> list[Path]:
        """The files put in place and not taken back, in their order."""
        return [target for target, _, _ in self._placed]

    def publish(
        self,
        staging: str | os.PathLike[str],
        target: str | os.PathLike[str],
        *,
        overwrite: bool | None,
    ) -> None:
        """Put ``staging`` in place at ``target`` (:func:`publish`), noted as the command's."""
        written = os.stat(staging)
        new = overwrite is False or not os.path.lexists(target)  # where no file was
        publish(staging, target, overwrite=overwrite)
        self._placed.append((Path(target), written, new))

    def take_back(self, *, new_only: bool = False) -> None:
        """Remove the files put in place that are still this command's (none replaced since).

        ``new_only``: only those put where no file was (not one replaced: the new version of
        an output is kept rather than none).
        """
        kept = []
        for target, written, new in self._placed:
            if new_only and not new:
                kept.append((target, written, new))
                continue
            try:
                if os.path.samestat(os.lstat(target), written):
                    target.unlink()
            except FileNotFoundError:
                pass
            except OSError as err:  # held by another program (Windows): said, and the rest go
                _LOG.warning("could not take back %s (%s); remove it by hand", target, err)
        self._placed = kept


@contextmanager
def all_or_none(published: Published | None = None) -> Iterator[Published]:
    """Put a command's files in place all, or none when one is refused.

    ``published``: the record to fill (its :attr:`Published.placed` then says what is left
    in place, failed or not); a new one by default.

    Yields
    ------
    Published
        Whose :meth:`Published.publish` puts each file in place. When one is refused
        (:class:`OutputExistsError`: a file appeared at its name since the command checked),
        the files already put in place are removed (those still the command's: not one
        another command put there since), so that none is left as if the result were whole,
        and the refusal propagates. When the block fails otherwise (an error, Ctrl-C), so
        are those put where no file was (the command run again then finds no file of its
        own in the way); a file that replaced an output stays.
    """
    published = Published() if published is None else published
    try:
        yield published
    except OutputExistsError:
        published.take_back()
        raise
    except BaseException:
        published.take_back(new_only=True)
        raise


def _is_staging(staging: str | os.PathLike[str], target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` (not followed if a link) is the file ``staging`` names."""
    try:
        return os.path.samestat(os.stat(staging), os.lstat(target))
    except OSError:
        return False


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, overwrite: bool | None = None
) -> Path:
    """Write UTF-8 text to ``path`` atomically, line ends as given; return the path.

    ``overwrite``: what may be at ``path`` (:func:`staged`).
    """
    with staged(path, overwrite=overwrite) as staging:
        with open(staging, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return Path(path)


def ilots_version() -> str:
    """Installed version of the ``ilots`` distribution, or ``"unknown"`` when not installed."""
    try:
        return version("ilots")
    except PackageNotFoundError:
        return "unknown"


def ilots_source() -> str | None:
    """Digest of ilots' own source code (:func:`source_digest`) when it is not a release.

    A development version (``dev`` in it, an editable install or none: every git checkout
    is ``0.1.0.dev0``) may change without its version changing; a release may not: None.
    Computed once per process.
    """
    if not _is_development():
        return None
    return _installed_source_digest()


@functools.cache
def _installed_source_digest() -> str:
    return source_digest(SOURCE_ROOT, SOURCE_PACKAGES)


def _is_development() -> bool:
    """Whether ilots runs from a development version: ``dev``, editable or not installed."""
    installed = ilots_version()
    if installed == "unknown" or "dev" in installed:
        return True
    try:
        direct_url = json.loads(distribution("ilots").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        return False
    return bool(direct_url.get("dir_info", {}).get("editable", False))


def source_digest(root: Path, packages: Iterable[str]) -> str:
    """SHA-256 (hex) of the ``.py`` files of ``packages`` under ``root``: paths and bytes.

    Their paths relative to ``root`` (POSIX, sorted) and contents, each length-prefixed, so
    that moving code between files changes it too.
    """
    digest = hashlib.sha256()
    files = sorted(
        path.relative_to(root).as_posix()
        for package in packages
        for path in (root / package).rglob("*.py")
    )
    for name in files:
        data = (root / name).read_bytes()
        for part in (name.encode(), data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


def check_output(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    option: str = "--out",
    make_folder: bool = False,
    overwrite: bool | None = None,
) -> Path:
    """Check, before any work, that ``path`` can be written and is none of ``inputs``.

    An unwritable place is said in one line before the computation, not after it.

    Parameters
    ----------
    path
        The output file.
    inputs
        The files the command reads (``None`` entries skipped).
    option
        How messages name the output (the command's option).
    make_folder
        Make the output's folder when it is missing (else that is an error).
    overwrite
        What the write will be told (:func:`staged`): when true, a symbolic link at
        ``path`` is written through, and the folder that must take a new file (the
        temporary one, made beside the file it replaces) is that of the file it names.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        ``path`` is one of ``inputs`` (it would be overwritten) or a folder, or its folder is
        missing, or the folder it is written in (of the file a link written through names)
        does not take a new file (a temporary one is made and removed).
    """
    target = Path(path)
    for source in inputs:
        if source is not None and Path(source).resolve() == target.resolve():
            raise OutputError(
                f"{option} {target} is the input file {source}: writing it would destroy "
                "that input; choose another output name"
            )
    if target.is_dir():
        raise OutputError(f"{option} {target} is a folder; remove or rename it")
    folder = target.parent
    if not make_folder and not folder.is_dir():
        raise OutputError(f"{option} {target}: folder {folder} does not exist; create it first")
    written = written_path(target, overwrite)
    linked = f" (where the link {target} points)" if written != target else ""
    try:  # where the temporary file is made: beside the file a link written through names
        probe_folder(written.parent, make=make_folder and not linked)
    except OSError as err:
        raise OutputError(
            f"{option} {target}: cannot write in {written.parent}{linked} "
            f"({err.strerror or err}); choose a folder you can write to"
        ) from None
    return target


def check_new(paths: Iterable[str | os.PathLike[str]], *, option: str = "--out") -> None:
    """Refuse, before any work, to replace the files of ``paths`` that exist.

    What a command does unless told to replace its outputs (``--overwrite``).

    Raises
    ------
    OutputExistsError
        Some of ``paths`` are files, or symbolic links (even naming no file)
        (:func:`refuse_replacing`).
    """
    refuse_replacing([path for path in map(Path, paths) if taken(path)], option=option)


def taken(path: str | os.PathLike[str]) -> bool:
    """Whether an output at ``path`` would replace something there.

    A file, or a symbolic link (even one naming no file).
    """
    return Path(path).is_file() or Path(path).is_symlink()


def refuse_replacing(
    found: Sequence[str | os.PathLike[str]],
    *,
    option: str = "--out",
    folder: str | os.PathLike[str] | None = None,
) -> None:
    """Refuse to replace the outputs ``found`` in place, naming them and the fix; none: return.

    Parameters
    ----------
    found
        The outputs that exist (files, or what a command would replace in one).
    option
        The command's option that names the outputs.
    folder
        ``found`` are names in this folder, said as held by it.

    Raises
    ------
    OutputExistsError
        ``found`` is not empty: ``/x/lst.tif exists; give --overwrite to replace it, or
        another --out``.
    """
    if not found:
        return
    one = len(found) == 1
    names = ", ".join(map(str, found))
    said = f"{folder} holds {names}" if folder is not None else f"{names} exist{'s' * one}"
    raise OutputExistsError(
        f"{said}; give --overwrite to replace {'it' if one else 'them'}, or another {option}",
        option=option,
    )


def probe_folder(folder: str | os.PathLike[str], *, make: bool = False) -> None:
    """Write and remove a temporary file in ``folder`` (made first with ``make``).

    Raises
    ------
    OSError
        The folder cannot be made, or does not take a new file (read-only, a file, full).
    """
    if make:
        Path(folder).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass
