"""``inequality.outcomes`` is checked against the IRIS table's columns once they are known:
the run's, the IRIS layer's and the census tables', by the dry run and before any pixel."""

from __future__ import annotations

import geopandas as gpd
import pytest

import pipelines.run as run_module
from pipelines.config import apply_overrides, load_config
from pipelines.run import run
from pipelines.run_plan import plan
from tiles.errors import ConfigError


class _PastTheCheck(Exception):
    """Raised where the run would start its pixel work (the tiles' fingerprint)."""


def _config(demo_folder, tmp_path, outcomes):
    """The demo's config, its IRIS layer with a custom column lst_max_k (a user's maximum
    LST) and its Filosofi table with the poverty rate DISP_TP6021."""
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    iris["lst_max_k"] = 310.0
    iris.to_file(tmp_path / "iris.gpkg")
    lines = (demo_folder / "census" / "filosofi.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ";DISP_TP6021"] + [line + ";12,5" for line in lines[1:]]
    (tmp_path / "filosofi.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(demo_folder / "config.yaml")
    overrides = {
        "zones.iris.path": str(tmp_path / "iris.gpkg"),
        "census.filosofi": str(tmp_path / "filosofi.csv"),
        "inequality.outcomes": outcomes,
    }
    return apply_overrides(config, overrides)


@pytest.fixture
def stop_before_pixels(monkeypatch):
    def stop(*args, **kwargs):
        raise _PastTheCheck

    monkeypatch.setattr(run_module, "run_fingerprint", stop)


# The IRIS layer's own column, a census column as its reader names it (DISP_TP6021 of the
# demo's Filosofi table), a QPV overlay column and a column of the run.
CUSTOM = ["lst_max_k", "disp_tp60", "qpv_share", "lst_anomaly_mean_k"]


def test_columns_of_the_iris_layer_and_census_tables_pass(
    demo_folder, tmp_path, stop_before_pixels
):
    config = _config(demo_folder, tmp_path, CUSTOM)
    assert plan(config, source="city.yaml").census  # the dry run reads on
    with pytest.raises(_PastTheCheck):
        run(config, out=tmp_path / "run", source="city.yaml")


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("lst_anomaly_mean", " (did you mean 'lst_anomaly_mean_k'?)"),
        ("LST_MAX_K", " (did you mean 'lst_max_k'?)"),
        ("disp_tp06", " (did you mean 'disp_tp60'?)"),
        (
            "heat",
            ": name a column of the run (e.g. lst_anomaly_mean_k, lst_mean_k, ndvi_mean), of "
            "zones.iris or of a census table",
        ),
    ],
)
def test_an_absent_column_stops_the_dry_run_and_the_run_before_pixels(
    demo_folder, tmp_path, stop_before_pixels, outcome, said
):
    """It ended in "no per-IRIS column ...; skipped" after the whole compute."""
    config = _config(demo_folder, tmp_path, ["lst_mean_k", outcome])
    want = f"city.yaml: inequality.outcomes: {outcome!r} is no column of the IRIS table{said}"
    with pytest.raises(ConfigError) as err:
        plan(config, source="city.yaml")
    assert str(err.value) == want
    with pytest.raises(ConfigError) as err:
        run(config, out=tmp_path / "run", source="city.yaml")
    assert str(err.value) == want
