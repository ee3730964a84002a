"""A run folder held by another process, as a run, scenarios or a compare holds it.

For the tests of what a second command does meanwhile: refused, waiting, or naming the holder.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Takes ``folder_lock`` on the folder given as its argument, says "held", then sleeps.
HOLD = (
    "import sys, time\nfrom pipelines.outputs.lock import folder_lock\n"
    "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"
)

#: How long a holder may take to say "held", in seconds: its imports take a few on a busy machine.
HELD_TIMEOUT_S = 60.0


@contextlib.contextmanager
def held_elsewhere(
    folder: Path, script: str = HOLD, timeout: float = HELD_TIMEOUT_S
) -> Iterator[subprocess.Popen[str]]:
    """Hold ``folder`` (its lock) in another Python process until the block ends (killed then,
    which frees it); yields that process, once it holds the lock.

    ``script`` is the holder's code (:data:`HOLD`), given ``folder`` as its argument. A holder
    that has not printed its "held" line within ``timeout`` seconds, or printed another, fails
    the test with its stderr (it is killed first).
    """
    with tempfile.TemporaryFile("w+") as stderr:  # a file: a chatty holder never blocks on it
        other = subprocess.Popen([sys.executable, "-c", script, str(folder)],
                                 stdout=subprocess.PIPE, stderr=stderr, text=True)  # fmt: skip
        try:
            line = _first_line(other, timeout)
            if line != "held\n":
                with contextlib.suppress(subprocess.TimeoutExpired):  # it may be ending
                    other.wait(0 if line is None else 5)
                ended = "still running" if other.poll() is None else f"exit code {other.returncode}"
                other.kill()
                other.wait()
                stderr.seek(0)
                raise AssertionError(
                    f"the holder of {folder} printed {repr(line) if line else 'nothing'} within "
                    f"{timeout:g} s, not 'held' ({ended}); its stderr: {stderr.read().strip()!r}"
                )
            yield other
        finally:
            other.kill()
            other.wait()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """Return the first line ``process`` prints ('' at once if it exits silently), or None
    if it prints no whole line within ``timeout`` seconds (the reader ends when it is killed)."""
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else None


def waits_seen(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Return an event set when a lock of :mod:`pipelines.outputs.lock` is waited for: a
    blocking ``flock`` call (without ``LOCK_NB``), as ``file_lock(wait=True)`` makes once
    another holds the file, set as it starts. Locks taken without waiting, and letting go
    (``LOCK_UN``), leave it unset."""
    from pipelines.outputs import lock

    flock, seen = lock.fcntl.flock, threading.Event()

    def recorded(handle: object, operation: int) -> None:
        taking = operation & (lock.fcntl.LOCK_SH | lock.fcntl.LOCK_EX)
        if taking and not operation & lock.fcntl.LOCK_NB:
            seen.set()
        flock(handle, operation)

    monkeypatch.setattr(lock.fcntl, "flock", recorded)
    return seen
