"""Draws and weights that the outcomes of one zone table share, made once.

:func:`~pipelines.inequality.run_inequality` draws its bootstrap resamples, its group
relabelings and its Moran permutations from streams of its seed, and those draws depend on
the seed and on how many zones (and group zones) there are, never on the outcome. A run
crossing several outcomes with income over the same IRIS therefore makes the same draws, and
the same contiguity weights, once per outcome (and the scenarios once before and once after
each scenario). :class:`SharedDraws` makes each once and hands it to every call (on threads
too): the values are those of separate calls, bit for bit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

__all__ = ["KEEP_BYTES", "Once", "SharedDraws", "seed_key", "share"]

T = TypeVar("T")

#: Largest draw kept to share (bytes): 9,999 relabelings of 6,000 zones as booleans. A
#: larger one is drawn by each call, block by block, as without sharing.
KEEP_BYTES = 64 << 20


class SharedDraws:
    """What several :func:`~pipelines.inequality.run_inequality` calls on one table share.

    Give one instance to the calls on the same zones (the outcome may differ), for instance
    one per run: each shared draw or weight is made by the first call that needs it, the
    others (on other threads too) wait for it and reuse it. A key holds all that its value
    depends on (the seed and the numbers of zones for a draw, the geometries themselves for
    weights), so a call on other zones makes its own. Draws from an unseeded call
    (``seed=None``) are never shared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, Once] = {}

    def once(self, key: Hashable | None, make: Callable[[], T]) -> T:
        """Return ``make()``, made once per ``key``; ``key`` ``None``: made on every call."""
        if key is None:
            return make()
        with self._lock:
            entry = self._entries.setdefault(key, Once())
        return entry.value(make)


def share(shared: SharedDraws | None, key: Hashable | None, make: Callable[[], T]) -> T:
    """Return ``make()``: once per ``key`` in ``shared``, or made here without ``shared``."""
    return make() if shared is None else shared.once(key, make)


class Once:
    """A value made by the first caller; the others wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made = False
        self._value: Any = None

    def value(self, make: Callable[[], T]) -> T:
        """Return ``make()``, made by the first call (again by the next if it raised)."""
        with self._lock:
            if not self._made:
                self._value = make()
                self._made = True
        return self._value


def seed_key(seed: Any) -> Hashable | None:
    """Return what identifies the random stream ``seed`` gives, or ``None`` if nothing does.

    An int or a :class:`numpy.random.SeedSequence` always gives the same stream; a
    ``Generator`` (its state moves) or ``None`` (fresh entropy) does not.
    """
    if isinstance(seed, np.random.SeedSequence):  # entropy: an int, or a sequence of them
        entropy = seed.entropy
        entropy = entropy if isinstance(entropy, int) else tuple(np.ravel(entropy).tolist())
        return ("sequence", entropy, tuple(seed.spawn_key), seed.pool_size)
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return ("int", int(seed))
    return None
