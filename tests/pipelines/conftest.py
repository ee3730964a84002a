"""Fixtures shared by the pipeline tests.

The demo's inputs and its run are made once for the session and shared: no test may change
them (``tests.conftest`` checks it after each module); a test that writes beside the inputs
uses ``own_demo_folder``, its own copy.
"""

import shutil

import pytest

from pipelines.config import example_config, load_config
from pipelines.demo import S2_PRODUCTS, SCENES, _write_landsat, _write_sentinel2
from pipelines.demo_census import write_demo_census
from pipelines.demo_city import make_city
from pipelines.run import run
from tests.conftest import share


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """The demo's inputs (products, zones, census) and its config, without running it (read
    only)."""
    root = tmp_path_factory.mktemp("demo_inputs")
    city = make_city()
    (root / "products").mkdir()
    for scene in SCENES:
        _write_landsat(city, scene, root / "products")
    for when, platform, baseline, seed in S2_PRODUCTS:
        _write_sentinel2(city, root / "products", when, platform, baseline, seed)
    write_demo_census(city, root)
    shutil.copyfile(example_config("demo"), root / "config.yaml")
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
