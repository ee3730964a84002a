"""The allocator tuning applies once on glibc and stays out of the way when asked to."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys

import pytest

from tiles import allocator


def _glibc() -> bool:
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(allocator, "_tuned", None)
    for name in ("ILOTS_MALLOC_TUNING", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tunes_glibc_once(fresh):
    assert allocator.tune_allocator() is _glibc()
    assert allocator.tune_allocator() is _glibc()  # idempotent


@pytest.mark.parametrize(
    ("name", "value"),
    [("ILOTS_MALLOC_TUNING", "0"), ("MALLOC_MMAP_THRESHOLD_", "131072"),
     ("MALLOC_TRIM_THRESHOLD_", "131072")],
)  # fmt: skip
def test_leaves_the_allocator_alone_when_told(fresh, name, value):
    fresh.setenv(name, value)
    assert allocator.tune_allocator() is False


@pytest.mark.skipif(
    not _glibc() or not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2"),
    reason="glibc >= 2.33 only: mallopt, mallinfo2",
)
@pytest.mark.parametrize("tune", [True, False])
def test_large_buffers_come_from_the_heap_after_tuning(tune):
    """A 48 MiB buffer: untuned glibc maps it with mmap (and unmaps it on free, so the next
    one is page-faulted afresh: its dynamic threshold stops at 32 MiB); tuned, it comes from
    the heap, whose pages are reused. ``mallinfo2().hblkhd`` counts the mmapped bytes."""
    code = (
        "import ctypes, numpy as np\n"
        "from tiles.allocator import tune_allocator\n"
        f"tuned = tune_allocator() if {tune} else False\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks',\n"
        "               'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.mallinfo2.restype = Info\n"
        "a = np.ones(12 << 20, np.float32)\n"
        "print(tuned, libc.mallinfo2().hblkhd >= a.nbytes)\n"
    )
    # A clean environment: dask.distributed's nanny, started by other tests, exports
    # MALLOC_TRIM_THRESHOLD_ into this process's, which tune_allocator respects.
    env = {k: v for k, v in os.environ.items() if "MALLOC" not in k}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == [str(tune), str(not tune)]
