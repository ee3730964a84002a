"""The log a run folder keeps of the commands that wrote it (``RUN_DIR/ilots.log``).

``ilots run``, ``ilots demo`` and ``ilots scenarios`` append to it (:mod:`pipelines.cli`
attaches a :class:`RunLog` to ilots' loggers): a header line per command (time, ilots
version, command line, working folder), ilots' own log records at INFO and above (DEBUG too
with ``-vv``) whatever the terminal shows, each :class:`~tiles.errors.IlotsWarning` with its
kind as it is said, and how the command ended: finished (with the manifest), the one-line
error the terminal showed and its traceback, or interrupted. Plain UTF-8 text, one record
per line, each starting with its ISO 8601 UTC time (a traceback's lines follow its record,
indented).

The records are held in memory until a run makes the folder its own
(:func:`~pipelines.outputs.folder.claimed`), then written there: a command refused before
(a bad config, a folder holding another run, a locked folder) writes no log, and a log
never keeps alive a folder a stopped run would remove. The log is no output: never listed
in the manifest, never removed by a run. Past :data:`MAX_BYTES` it is moved to
``ilots.log.1`` (replacing an older one) before the next record. With Dask workers in other
processes (``--workers``, a ``tcp://`` scheduler), only this process's records are there.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import traceback
from pathlib import Path
from typing import IO

from pipelines.outputs.folder import RunFolder

__all__ = ["MAX_BYTES", "RunLog", "utc_now"]

#: The size past which the log is moved to ``ilots.log.1`` before anything is appended.
MAX_BYTES = 5_000_000


def utc_now(timestamp: float | None = None) -> str:
    """Return ``timestamp`` (default: now) as ISO 8601 UTC to the millisecond."""
    when = (
        dt.datetime.now(dt.UTC)
        if timestamp is None
        else dt.datetime.fromtimestamp(timestamp, dt.UTC)
    )
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunLog(logging.Handler):
    """A handler writing to a run folder's ``ilots.log`` once a run has claimed the folder.

    Until :meth:`claim`, its lines are held in memory; :meth:`close` drops those if no
    folder was claimed. A write that fails (a full disk, the folder removed) stops the
    writing; :attr:`failure` says why.
    """

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.setFormatter(_Formatter())
        self.path: Path | None = None
        self.failure: OSError | None = None
        self._held: list[str] = []
        self._file: IO[str] | None = None
        self._warned: set[str] = set()
        self._write_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` (held until the folder is claimed)."""
        try:
            line = self.format(record)
        except Exception:  # a record whose arguments do not fit its message
            self.handleError(record)
            return
        self.write(line)

    def write(self, line: str) -> None:
        """Write one record (its continuation lines indented), or hold it until :meth:`claim`."""
        text = "\n  ".join(line.rstrip("\n").splitlines()) + "\n"
        with self._write_lock:
            if self.path is None:
                self._held.append(text)
            else:
                self._append(text)

    def note(self, kind: str, text: str) -> None:
        """Write the line ``<time> <kind> <text>`` (the header, the end)."""
        self.write(f"{utc_now()} {kind} {text}")

    def warning(self, message: str, category: str = "IlotsWarning") -> None:
        """Write a warning as it is said, with its category and kind; each message once."""
        with self._write_lock:
            if message in self._warned:
                return
            self._warned.add(message)
        code = getattr(message, "code", None)  # a WarningText's kind
        kind = f"{category}[{code}]" if code else category
        self.write(f"{utc_now()} WARNING {kind}: {message}")

    def error(self, message: str, err: BaseException) -> None:
        """Write the one-line error ``message`` the terminal shows, then ``err``'s traceback."""
        trace = "".join(traceback.format_exception(err)).rstrip("\n")
        self.write(f"{utc_now()} ERROR {message}\n{trace}")

    def claim(self, root: Path) -> None:
        """Write to ``root``'s log from now on, the held records first (the first call only)."""
        with self._write_lock:
            if self.path is not None:
                return
            self.path = RunFolder(root).log
            held, self._held = self._held, []
            self._append("".join(held))

    def close(self) -> None:
        """Close the file; drop the records of a command that claimed no folder."""
        with self._write_lock:
            self._held = []
            if self._file is not None:
                self._file.close()
                self._file = None
        super().close()

    def _append(self, text: str) -> None:
        if self.failure is not None or self.path is None:
            return
        try:
            if self._file is None or os.fstat(self._file.fileno()).st_size > MAX_BYTES:
                self._open()
            self._file.write(text)
            self._file.flush()  # a killed process leaves its log up to its last record
        except OSError as err:
            self.failure = err

    def _open(self) -> None:
        """(Re)open the log; past :data:`MAX_BYTES`, moved to ``ilots.log.1`` first."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path.is_file() and self.path.stat().st_size > MAX_BYTES:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "a", encoding="utf-8")


class _Formatter(logging.Formatter):
    """``<ISO UTC time> <LEVEL> <logger>: <message>`` (and a traceback, indented)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_now(record.created)
