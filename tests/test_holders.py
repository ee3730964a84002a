"""The helper that holds a run folder in another process (:mod:`tests.holders`)."""

import sys
import time

import pytest

from tests.holders import held_elsewhere

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")

#: A holder that hangs before it takes the lock: it never says "held".
HANGS = (
    "import sys, time\nprint('stuck before the lock', file=sys.stderr, flush=True)\n"
    "time.sleep(60)\n"
)

#: A holder that dies before it takes the lock.
DIES = "raise SystemExit('no lock for you')\n"


def test_a_holder_that_never_says_held_fails_in_time_with_its_stderr(tmp_path):
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"printed nothing within 10 s, not 'held' \(still "
                       r"running\); its stderr: 'stuck before the lock'"):  # fmt: skip
        with held_elsewhere(tmp_path / "run", script=HANGS, timeout=10):
            pass
    assert time.monotonic() - started < 20  # not the holder's 60 s sleep


def test_a_holder_that_dies_fails_with_its_exit_code_and_stderr(tmp_path):
    with pytest.raises(AssertionError, match=r"printed nothing .* \(exit code 1\); its stderr: "
                       r"'no lock for you'"):  # fmt: skip
        with held_elsewhere(tmp_path / "run", script=DIES, timeout=30):
            pass


def test_a_holder_holds_the_folder(tmp_path):
    with held_elsewhere(tmp_path / "run") as other:
        assert other.poll() is None
    assert other.poll() is not None  # killed at the end
