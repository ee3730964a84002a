"""Fixtures of the output-writer tests."""

from __future__ import annotations

import pytest

from tests.pipelines.outputs.helpers import make_layers, make_rasters


@pytest.fixture
def rasters():
    """Fresh rasters for each test (see :func:`make_rasters`)."""
    return make_rasters()


@pytest.fixture
def layers():
    """Fresh zone layers for each test (see :func:`make_layers`)."""
    return make_layers()
