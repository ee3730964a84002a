"""The allocator tuning applies once on glibc and stays out of the way when asked to."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import subprocess
import sys
import weakref

import pytest

from tiles import allocator
from tiles.allocator import frozen_heap


def _glibc() -> bool:
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


def _clean_env() -> dict[str, str]:
    """This environment without glibc's malloc settings, which tune_allocator respects:
    dask.distributed's nanny, started by other tests, exports MALLOC_TRIM_THRESHOLD_ here."""
    return {k: v for k, v in os.environ.items() if "MALLOC" not in k and k != "GLIBC_TUNABLES"}


def _python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process of :func:`_clean_env`; its output as text."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env=_clean_env(),
    )  # fmt: skip


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(allocator, "_tuned", None)
    for name in ("ILOTS_MALLOC_TUNING", "GLIBC_TUNABLES", *allocator.ENVIRONMENT):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tunes_glibc_once(fresh):
    assert allocator.tune_allocator() is _glibc()
    assert allocator.tune_allocator() is _glibc()  # idempotent


@pytest.mark.parametrize(
    ("name", "value"),
    [("ILOTS_MALLOC_TUNING", "0"), ("MALLOC_MMAP_THRESHOLD_", "131072"),
     ("MALLOC_TRIM_THRESHOLD_", "131072"), ("MALLOC_ARENA_MAX", "4"),
     ("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")],
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
    out = _python(code)
    assert out.stdout.split() == [str(tune), str(not tune)]


@pytest.mark.skipif(not _glibc(), reason="glibc only: mallopt, malloc_stats")
@pytest.mark.parametrize("tune", [True, False])
def test_new_threads_share_the_arenas_after_tuning(tune):
    """Four new threads allocate at once: untuned glibc gives each its own arena (up to 8 per
    core); tuned, they share the existing ones. ``malloc_stats`` prints one ``Arena N:``
    block per arena (to stderr)."""
    code = (
        "import ctypes, threading\n"
        "from tiles.allocator import tune_allocator\n"
        f"tuned = tune_allocator() if {tune} else False\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "libc.free.argtypes = [ctypes.c_void_p]\n"
        "barrier = threading.Barrier(4)\n"
        "def work():\n"
        "    block = libc.malloc(1 << 20)\n"
        "    barrier.wait()\n"
        "    libc.free(block)\n"
        "threads = [threading.Thread(target=work) for _ in range(4)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "print(tuned, flush=True)\n"
        "libc.malloc_stats()\n"
    )
    out = _python(code)
    arenas = out.stderr.count("Arena ")
    assert out.stdout.split() == [str(tune)]
    assert arenas == (allocator.ARENA_MAX if tune else 5), out.stderr


class _Node:
    """A container that can hold itself: a reference cycle only the cyclic GC frees."""


def _cycle() -> _Node:
    node = _Node()
    node.itself = node  # type: ignore[attr-defined]
    return node


def test_frozen_heap_hides_existing_objects_and_restores_them():
    assert gc.get_freeze_count() == 0, "the test process froze objects itself"
    before = _cycle()
    before_ref = weakref.ref(before)
    with frozen_heap() as froze:
        assert froze is True
        assert gc.get_freeze_count() > 0
        inside = _cycle()
        inside_ref = weakref.ref(inside)
        del before, inside  # both cycles are garbage now
        gc.collect()
        assert inside_ref() is None, "what the block made is collected as usual"
        assert before_ref() is not None, "what existed before is out of the collector's sight"
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert before_ref() is None, "after the block it is collected again"


def test_frozen_heap_stands_aside_when_the_caller_froze_objects():
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        with frozen_heap() as froze:
            assert froze is False
        assert gc.get_freeze_count() == count, "the caller's frozen objects stay frozen"
    finally:
        gc.unfreeze()


def test_frozen_heap_unfreezes_after_an_error():
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("run failed")
    assert gc.get_freeze_count() == 0


def _advice_now() -> bool:
    switch = allocator._hugepage_switch()
    current = switch(True)
    switch(current)
    return current


@pytest.fixture
def advice_on(monkeypatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    monkeypatch.delenv("ILOTS_MALLOC_TUNING", raising=False)
    switch = allocator._hugepage_switch()
    assert switch is not None, "this NumPy has no _set_madvise_hugepage"
    previous = switch(True)
    yield
    switch(previous)


def test_numpy_hugepage_advice_is_off_inside_and_restored_after(advice_on):
    with allocator.numpy_hugepage_advice(False) as changed:
        assert changed is True
        assert _advice_now() is False
    assert _advice_now() is True
    with pytest.raises(RuntimeError), allocator.numpy_hugepage_advice(False):
        raise RuntimeError("run failed")
    assert _advice_now() is True


@pytest.mark.parametrize(("name", "value"), [("NUMPY_MADVISE_HUGEPAGE", "1"),
                                             ("ILOTS_MALLOC_TUNING", "0")])  # fmt: skip
def test_numpy_hugepage_advice_stands_aside_when_asked(advice_on, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with allocator.numpy_hugepage_advice(False) as changed:
        assert changed is False
        assert _advice_now() is True
