"""Warnings collected by the census readers, returned as a list and emitted as IlotsWarning.

Every public reader of :mod:`pipelines.census` both *returns* its warnings (so a run can write
them to ``manifest.json``) and *emits* them as :class:`~tiles.errors.IlotsWarning` (so an
interactive user sees them). :class:`WarningLog` does both: helpers add messages while the
reader works, and the public function calls :meth:`WarningLog.emit` once, just before it
returns, so every warning points at the caller's line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from tiles.errors import (
    IlotsWarning,
    WarningCode,
    WarningText,
    withdraw_warning,
    withheld_warnings,
)

__all__ = ["WarningLog", "examples"]

T = TypeVar("T")


class WarningLog:
    """Messages gathered while reading one input, emitted together at the end.

    Parameters
    ----------
    prefix
        Put before every message to say which input it is about (e.g. ``"IRIS layer"``).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._messages: list[WarningText] = []

    def add(self, message: str, code: WarningCode | None = None) -> None:
        """Record one message (not emitted yet); ``code``: its kind, if it has one."""
        self._messages.append(WarningText(f"{self.prefix}: {message}", code))

    @property
    def messages(self) -> list[WarningText]:
        """The messages recorded so far (each with its kind), as a new list."""
        return list(self._messages)

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Record the IlotsWarnings raised inside the block instead of letting them through.

        Other warning categories are left alone (re-emitted as they were).
        """
        with warnings.catch_warnings(record=True) as caught, withheld_warnings():
            warnings.simplefilter("always")
            yield
        for item in caught:
            if isinstance(item.message, IlotsWarning):
                withdraw_warning(str(item.message))  # issued again in our words by emit()
                self.add(str(item.message), item.message.code)
            else:
                warnings.warn_explicit(
                    item.message, item.category, item.filename, item.lineno, source=item.source
                )

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` with :meth:`capture` around it and return its result."""
        with self.capture():
            return func(*args, **kwargs)

    def emit(self, stacklevel: int = 3) -> list[WarningText]:
        """Emit every recorded message as an IlotsWarning of its kind and return them as a list.

        The default ``stacklevel`` points at the caller of the public function that calls
        ``emit`` directly.
        """
        for message in self._messages:
            warnings.warn(IlotsWarning(message, code=message.code), stacklevel=stacklevel)
        return self.messages


def examples(values: Iterable[Any], n: int = 5) -> str:
    """Format up to ``n`` values, quoted, for a one-line message (``..."`` when more)."""
    values = list(values)
    shown = [v.item() if isinstance(v, np.generic) else v for v in values[:n]]
    text = ", ".join(repr(v) for v in shown)
    return text + (", ..." if len(values) > n else "")
