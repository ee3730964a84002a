"""Shared fixtures: where the real data lives, and a dask scheduler that refuses to compute."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import dask
import pytest

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    """The shared real-data folder (``$ILOTS_REAL_DATA`` or ``../shared/data``), if present."""
    env = os.environ.get("ILOTS_REAL_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Path to the real products; skips the test with a reason when they are absent."""
    path = real_data_dir()
    if path is None:
        pytest.skip(
            "real data not found: set ILOTS_REAL_DATA to the shared data folder "
            "(see ../shared/data/README.md)"
        )
    return path


class ComputeForbidden(RuntimeError):
    """Raised by :func:`raise_if_dask_computes` when a graph is executed."""


@contextmanager
def raise_if_dask_computes():
    """Within the block, any dask compute raises :class:`ComputeForbidden`."""

    def scheduler(dsk, keys, **kwargs):
        raise ComputeForbidden("a dask graph was computed while only building it")

    with dask.config.set(scheduler=scheduler):
        yield


@pytest.fixture
def no_compute():
    """Fixture form of :func:`raise_if_dask_computes`."""
    with raise_if_dask_computes():
        yield
