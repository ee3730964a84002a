"""Process memory settings for a run: glibc's allocator thresholds and the cyclic GC.

**Allocator (glibc only).** A run allocates and frees thousands of arrays of a few to a few
tens of MiB (one Dask chunk of one band or index). glibc's ``malloc`` serves blocks above
its *mmap threshold* (128 KiB at start, raised only as such blocks are freed) with fresh
``mmap`` pages and returns them on ``free``, so every new buffer is first touched again: on
the shared 2-core workstation of ``benchmarks/RESULTS.md`` that page-faulting costs 1 to 2 s
per GB, about 1.8 s of a 10 s run. Raising the threshold to 64 MiB once, up front, keeps
such blocks in the heap and reuses their pages; the peak memory barely moves (measured: 2.56
→ 2.62 GB).

The threshold alone leaves out the threads' allocations: glibc gives each new thread its own
*arena* (up to 8 per core), whose heaps are at most 64 MiB each, so a Dask worker's buffer
of a whole band or of int64 indices is mapped afresh every time, and a buffer freed by
another thread goes back to an arena that may not reuse it soon. One arena
(:data:`ARENA_MAX`: the main one) for all threads keeps those pages in use too. The
kernel's page zeroing (``clear_page_erms``) was still 1.4 CPU-s of the benchmark run; with
one arena, 5.33–5.73 s → 4.58–4.71 s, system time 1.6–1.9 → 0.8–1.0 s, and a lower peak
(1.6–1.8 GB against 1.8–2.0 GB; ``benchmarks/RESULTS.md``, session 11). Threads that
allocated before the call keep their arenas; and once a process has more than 8 arenas
(threads that allocated before the call, on a machine of more than one core), glibc has
fixed its limit and new threads still get arenas of their own: the run is then as fast as
before this setting, no slower.

:func:`tune_allocator` is called at the start of :func:`pipelines.run.run`. It changes the
whole process, so it stays out of the way of anyone who chose otherwise: it does nothing
when ``ILOTS_MALLOC_TUNING=0``, when the ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_ARENA_MAX`` environment variables or a
``glibc.malloc.`` entry of ``GLIBC_TUNABLES`` are set (glibc reads those itself), or when
the C library is not glibc (macOS, Windows, musl).

**Cyclic garbage collector.** Python's full (generation 2) collections walk every tracked
object while holding the GIL, so they stall the run's Python threads. After the imports a
run process holds ≈ 300,000 such objects, none of which the run turns into garbage: each
full collection took 0.1–0.15 s (measured, twice per benchmark run). :func:`frozen_heap`
moves the objects that exist when the run starts out of the collector's sight
(:func:`gc.freeze`) and puts them back when it ends (:func:`gc.unfreeze`), so collections
during the run only walk what the run made (0.015 s). Nothing is left frozen; if the caller
froze objects itself (a pre-fork server), it stands aside.

**Transparent huge pages.** NumPy asks the kernel for huge pages on every array of 4 MiB or
more (``madvise(MADV_HUGEPAGE)``). Where THP runs in ``madvise`` mode with ``madvise``
defrag (common defaults), the first touch of such memory may stall while the kernel compacts
memory to find a free 2 MiB page; how long depends on how fragmented the machine's memory
is. Measured on the benchmark workstation, side by side: runs 0.4–0.9 s faster (5.95–6.09 s
against 6.41–6.95 s) and 1 CPU-s cheaper without the advice. :func:`numpy_hugepage_advice`
turns it off for the run and restores it after; it stands aside when
``NUMPY_MADVISE_HUGEPAGE`` is set (NumPy's own switch) or ``ILOTS_MALLOC_TUNING=0``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "ARENA_MAX",
    "ENVIRONMENT",
    "MMAP_THRESHOLD",
    "TRIM_THRESHOLD",
    "frozen_heap",
    "numpy_hugepage_advice",
    "tune_allocator",
]

#: Blocks below this size come from the heap and are reused after ``free`` (bytes).
MMAP_THRESHOLD = 64 << 20
#: Free memory at the top of the heap is given back to the system beyond this (bytes).
TRIM_THRESHOLD = 1 << 30
#: Arenas all threads share (glibc's default: up to 8 per core, one per new thread). One: the
#: main arena's heap has no size cap; the run's threads allocate few, large blocks, so they
#: hardly wait on its lock (measured side by side: 4.50–4.71 s with one, 4.56–5.05 s with
#: two).
ARENA_MAX = 1
#: glibc's environment variables for these settings: any of them set, the run leaves all be.
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX")

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

_tuned: bool | None = None


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds and its arena count once per process.

    See the module docstring.

    Returns
    -------
    bool
        Whether the settings are made (by this call or an earlier one).
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    skip = (
        _opted_out()
        or any(name in os.environ for name in ENVIRONMENT)
        or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
    )
    if skip or not sys.platform.startswith("linux"):
        return _tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (glibc only; musl has no such symbol)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _tuned
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                (_M_ARENA_MAX, ARENA_MAX))  # fmt: skip
    _tuned = all([bool(mallopt(param, value)) for param, value in settings])
    return _tuned


@contextlib.contextmanager
def frozen_heap() -> Iterator[bool]:
    """Keep the objects that exist now out of the cyclic GC's collections inside the block.

    Yields
    ------
    bool
        Whether this block froze them (``False`` when the caller had frozen objects).
    """
    if gc.get_freeze_count():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def numpy_hugepage_advice(enabled: bool = False) -> Iterator[bool]:
    """Set whether NumPy advises huge pages for its large arrays inside the block.

    Yields
    ------
    bool
        Whether the advice was set (``False`` when standing aside, or when this NumPy has
        no such switch).
    """
    switch = _hugepage_switch()
    if switch is None or _opted_out() or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield False
        return
    previous = switch(enabled)
    try:
        yield True
    finally:
        switch(previous)


def _hugepage_switch() -> Any:
    """NumPy's ``_set_madvise_hugepage`` (``numpy._core`` from 2.0, ``numpy.core`` before)."""
    for module in ("_core", "core"):
        switch = getattr(getattr(np, module, None), "multiarray", None)
        if switch is not None and hasattr(switch, "_set_madvise_hugepage"):
            return switch._set_madvise_hugepage
    return None


def _opted_out() -> bool:
    return os.environ.get("ILOTS_MALLOC_TUNING", "1").strip() == "0"
