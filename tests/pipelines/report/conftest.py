"""One demo run for every report test; each test reports on its own copy of it."""

from __future__ import annotations

import pytest

from tests.pipelines.report.helpers import add_extras, copy_run


@pytest.fixture(scope="session")
def demo_run(demo_cli):
    """The run folder of the session's ``ilots demo`` (never written to by the tests)."""
    return demo_cli.root / "outputs"


@pytest.fixture(scope="module")
def plain_run(demo_run, tmp_path_factory):
    """A copy of the demo run folder without heat_island.json (nor scenarios)."""
    run = copy_run(demo_run, tmp_path_factory.mktemp("plain") / "run")
    (run / "heat_island.json").unlink(missing_ok=True)
    return run


@pytest.fixture(scope="module")
def full_run(demo_run, tmp_path_factory):
    """A copy of the demo run folder with heat_island.json and scenario outputs added."""
    run = copy_run(demo_run, tmp_path_factory.mktemp("full") / "run")
    (run / "heat_island.json").unlink(missing_ok=True)
    add_extras(run)
    return run
