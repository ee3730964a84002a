"""``inequality.outcomes``, ``inequality.stratum`` and ``census.income_column`` are checked
against the IRIS table's columns once they are known: the run's, the IRIS layer's and the
census tables', by the dry run and before any pixel."""

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


def _config(demo_folder, tmp_path, outcomes, **more):
    """The demo's config, its IRIS layer with custom columns lst_max_k (a user's maximum
    LST) and Revenu_Median (a user's income), and its Filosofi table with the poverty rate
    DISP_TP6021; ``more``: other overrides."""
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    iris["lst_max_k"] = 310.0
    iris["Revenu_Median"] = 21_000.0
    iris.to_file(tmp_path / "iris.gpkg")
    lines = (demo_folder / "census" / "filosofi.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ";DISP_TP6021"] + [line + ";12,5" for line in lines[1:]]
    (tmp_path / "filosofi.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(demo_folder / "config.yaml")
    overrides = {
        "zones.iris.path": str(tmp_path / "iris.gpkg"),
        "census.filosofi": str(tmp_path / "filosofi.csv"),
        "inequality.outcomes": outcomes,
        **more,
    }
    return apply_overrides(config, overrides)


@pytest.fixture
def stop_before_pixels(monkeypatch):
    def stop(*args, **kwargs):
        raise _PastTheCheck

    monkeypatch.setattr(run_module, "run_fingerprint", stop)


def _passed(config, out):
    """The dry run reads on, and the run (into ``out``) gets past the checks to its pixels."""
    assert plan(config, source="city.yaml").census
    with pytest.raises(_PastTheCheck):
        run(config, out=out, source="city.yaml")


def _refused(config, out, want):
    """Both the dry run and the run (into ``out``) stop with ``want``, before any pixel."""
    for start in (
        lambda: plan(config, source="city.yaml"),
        lambda: run(config, out=out, source="city.yaml"),
    ):
        with pytest.raises(ConfigError) as err:
            start()
        assert str(err.value) == want


# The IRIS layer's own column, a census column as its reader names it (DISP_TP6021 of the
# demo's Filosofi table), a QPV overlay column and a column of the run.
CUSTOM = ["lst_max_k", "disp_tp60", "qpv_share", "lst_anomaly_mean_k"]


def test_columns_of_the_iris_layer_and_census_tables_pass(
    demo_folder, tmp_path, stop_before_pixels
):
    _passed(_config(demo_folder, tmp_path, CUSTOM), tmp_path / "run")


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
    _refused(config, tmp_path / "run", want)


@pytest.mark.parametrize(
    ("more"),
    [
        # A commune code column of the IRIS layer (the default), or none: no strata.
        {"inequality.stratum": "insee_com"},
        {"inequality.stratum": None},
        # An income column of the IRIS layer, named in another case, and a Filosofi one as
        # INSEE writes it (read as disp_med).
        {"census.income_column": "revenu_median"},
        {"census.income_column": "DISP_MED21"},
    ],
)
def test_a_stratum_and_an_income_column_of_the_iris_table_pass(
    demo_folder, tmp_path, stop_before_pixels, more
):
    _passed(_config(demo_folder, tmp_path, ["lst_mean_k"], **more), tmp_path / "run")


@pytest.mark.parametrize(
    ("stratum", "said"),
    [
        ("insee_comm", " (did you mean 'insee_com'?)"),
        ("INSEE_COM", " (did you mean 'insee_com'?)"),
        (
            "quartier",
            ": name a column of zones.iris or of a census table (e.g. insee_com), or null",
        ),
    ],
)
def test_an_absent_stratum_stops_the_dry_run_and_the_run_before_pixels(
    demo_folder, tmp_path, stop_before_pixels, stratum, said
):
    """It ended in "no per-IRIS column ...; no strata" after the whole compute."""
    config = _config(demo_folder, tmp_path, ["lst_mean_k"], **{"inequality.stratum": stratum})
    want = f"city.yaml: inequality.stratum: {stratum!r} is no column of the IRIS table{said}"
    _refused(config, tmp_path / "run", want)


# The demo's Filosofi table holds DISP_MED21 and, here, DISP_TP6021: read as disp_med and
# disp_tp60, the IRIS table's only income columns.
ADVICE = (
    "; Filosofi columns are read without their year suffix (DISP_MED21 becomes disp_med); "
    "income columns found: disp_med, disp_tp60; set census.income_column: disp_med"
)


@pytest.mark.parametrize(
    ("income", "name", "said"),
    [
        ("DISP_MOY21", "DISP_MOY21", " (did you mean 'disp_med'?)"),  # not published by IRIS
        ("revenu", "revenu", ""),
    ],
)
def test_an_absent_income_column_stops_the_dry_run_and_the_run_before_pixels(
    demo_folder, tmp_path, stop_before_pixels, income, name, said
):
    """It ended in "the IRIS table has no column ..., so inequality statistics are skipped"
    after the whole compute."""
    config = _config(demo_folder, tmp_path, ["lst_mean_k"], **{"census.income_column": income})
    want = f"city.yaml: census.income_column: {name!r} is no column of the IRIS table{said}"
    _refused(config, tmp_path / "run", want + ADVICE)


def test_a_census_of_population_only_with_the_default_income_passes(demo_folder, tmp_path):
    """No Filosofi table and the default income column: no income is expected (a census of
    population only, for the residents' ranks), so the dry run goes on (the run then notes
    that it skips the inequality statistics); a named income column is still checked."""
    config = _config(demo_folder, tmp_path, ["lst_anomaly_mean_k"])
    census = config.census.model_copy(update={"filosofi": None})
    only_people = config.model_copy(update={"census": census})
    assert only_people.census.filosofi is None and only_people.census.population is not None
    assert plan(only_people, source="city.yaml").census
    named = apply_overrides(only_people, {"census.income_column": "revenu"})
    with pytest.raises(ConfigError, match=r"city\.yaml: census\.income_column: 'revenu' is no"):
        plan(named, source="city.yaml")


def _without_filosofi(config):
    """``config`` without its Filosofi table (a census of population only)."""
    census = config.census.model_copy(update={"filosofi": None})
    return config.model_copy(update={"census": census})


def test_an_income_column_of_the_iris_layer_is_checked_as_written(
    demo_folder, tmp_path, stop_before_pixels
):
    """No Filosofi table, ``income_column: DISP_MED19``: the name was read as disp_med, the
    default, so the dry run did not check it, and the run skipped its inequality statistics
    after the whole compute. The IRIS layer's column (whatever its case) passes; a layer
    without it stops the dry run and the run, naming the key as written."""
    config = _config(demo_folder, tmp_path, ["lst_mean_k"])
    iris = gpd.read_file(tmp_path / "iris.gpkg")
    iris["DISP_MED19"] = 21_000.0
    iris.to_file(tmp_path / "enriched.gpkg")
    for name in ("DISP_MED19", "disp_med19"):
        overrides = {
            "zones.iris.path": str(tmp_path / "enriched.gpkg"),
            "census.income_column": name,
        }
        _passed(_without_filosofi(apply_overrides(config, overrides)), tmp_path / "run")
    absent = _without_filosofi(apply_overrides(config, {"census.income_column": "DISP_MED19"}))
    want = (
        "city.yaml: census.income_column: 'DISP_MED19' is no column of the IRIS table; "
        "Filosofi columns are read without their year suffix (DISP_MED21 becomes disp_med); "
        "income columns found: none (is census.filosofi set?)"
    )
    _refused(absent, tmp_path / "run", want)


def test_a_population_column_of_the_iris_layer_is_read_by_the_dry_run(
    demo_folder, tmp_path, stop_before_pixels
):
    """``census.population_column`` without ``census.population`` names the IRIS layer's
    column (it was ignored): the dry run and the run read it; a layer without it stops
    both before any pixel."""
    config = _config(demo_folder, tmp_path, ["lst_mean_k"])
    iris = gpd.read_file(tmp_path / "iris.gpkg")
    iris["P18_POP"] = 2_000.0
    iris.to_file(tmp_path / "enriched.gpkg")
    census = config.census.model_copy(update={"population": None, "population_column": "P18_POP"})
    in_layer = config.model_copy(update={"census": census})
    enriched = apply_overrides(in_layer, {"zones.iris.path": str(tmp_path / "enriched.gpkg")})
    summary = plan(enriched, source="city.yaml").census
    assert "; population enriched.gpkg (" in summary and summary.endswith(", 2018)")
    _passed(enriched, tmp_path / "run")
    want = (
        "city.yaml: census.population_column: 'P18_POP' is no column of zones.iris; name the "
        "layer's population column, or set census.population to a population table"
    )
    _refused(in_layer, tmp_path / "run", want)
