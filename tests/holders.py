"""A run folder held by another process, as a run, scenarios or a compare holds it.

For the tests of what a second command does meanwhile: refused, waiting, or naming the holder.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

#: Takes ``folder_lock`` on the folder given as its argument, says "held", then sleeps.
HOLD = (
    "import sys, time\nfrom pipelines.outputs.lock import folder_lock\n"
    "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"
)


@contextlib.contextmanager
def held_elsewhere(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """Hold ``folder`` (its lock) in another Python process until the block ends (killed then,
    which frees it); yields that process, once it holds the lock."""
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        yield other
    finally:
        other.kill()
        other.wait()
