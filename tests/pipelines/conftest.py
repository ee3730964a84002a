"""Fixtures shared by the pipeline tests.

The demo's inputs and its run are made once for the session and shared: no test may change
them (``tests.conftest`` checks it after each module); a test that writes beside the inputs
uses ``own_demo_folder``, its own copy.
"""

import shutil

import pytest

from pipelines.config import load_config
from pipelines.run import run
from tests.conftest import share

#: What ``ilots demo`` writes that :func:`demo_folder` keeps: the inputs of its run.
DEMO_INPUTS = ("products", "zones", "census", "config.yaml")


@pytest.fixture(scope="session")
def demo_folder(demo_cli, tmp_path_factory):
    """The demo's inputs (products, zones, census) and its config, without its run (read only).

    Copied from the session's ``ilots demo`` (:func:`tests.conftest.demo_cli`), which writes
    them with the same generator, rather than written a second time.
    """
    root = tmp_path_factory.mktemp("demo_inputs")
    for name in DEMO_INPUTS:
        source = demo_cli.root / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    return share(root)


@pytest.fixture
def own_demo_folder(demo_folder, tmp_path):
    """A copy of :func:`demo_folder` for one test, which may write into it."""
    return shutil.copytree(demo_folder, tmp_path / "demo_inputs")


@pytest.fixture(scope="session")
def demo_run(demo_folder, tmp_path_factory):
    """``ilots run`` of the demo's config: the run folder (read only) and the run's result."""
    out = tmp_path_factory.mktemp("run")
    result = run(load_config(demo_folder / "config.yaml"), out=out)
    return share(out), result
