"""Validation of config values: each bad value gives one line naming the file and the key."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.config import (
    ConfigError,
    PeriodsConfig,
    RunConfig,
    SchedulerConfig,
    config_from_dict,
    config_reference,
    load_config,
)
from raster.landcover import LandCover, LandcoverThresholds
from tiles.errors import IlotsError

BASE = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
}


def with_(section: str, value) -> dict:
    data = {**BASE, section: value}
    return data


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, source="config.yaml")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("config.yaml: ")
    return text


def test_a_misspelt_section_is_named_before_the_missing_one():
    """``period:`` for ``periods:`` makes two errors; the one that says what to fix comes
    first (it came second, behind "periods: required key is missing")."""
    data = {k: v for k, v in BASE.items() if k != "periods"} | {"period": {"years": [2023]}}
    text = error_of(data)
    assert text.startswith("config.yaml: period: unknown key (did you mean 'periods'?)"), text
    assert text.endswith("(and 1 more error)")
    nested = with_("zones", {"iris": {"pth": "iris.gpkg"}})
    assert error_of(nested).startswith("config.yaml: zones.iris.pth: unknown key")


def test_type_errors_show_how_to_write_the_value():
    years = error_of(with_("periods", {"years": "2023"}))
    assert "periods.years: must be a list in square brackets, e.g. [2023] (got '2023')" in years
    months = error_of(with_("periods", {"months": "6-8"}))
    assert "e.g. [a, b] (got '6-8')" in months
    crs = error_of(with_("grid", {"crs": 2154}))
    assert "grid.crs: must be text: 'EPSG:2154' for that EPSG code (got 2154)" in crs
    ranges = {"ranges": [{"start": "01/06/2023", "end": "2023-08-31"}]}
    date = error_of(with_("periods", ranges))
    assert "periods.ranges[0].start: " in date and "write dates as YYYY-MM-DD" in date


def test_config_error_is_an_ilots_error():
    assert issubclass(ConfigError, IlotsError)


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = config_from_dict(BASE, base_dir=tmp_path)
    assert config.periods.months == (6, 7, 8)
    assert config.grid.crs == "utm" and config.grid.resolution == 30.0
    assert config.composite.statistics == ("median", "p90")
    assert config.composite.min_clear == 3 and config.composite.anomaly is True
    assert (config.heat_island.ring_inner_km, config.heat_island.ring_outer_km) == (2.0, 10.0)
    assert config.heat_island.elevation_tolerance_m == 50.0
    rules = config.landcover.rules
    assert (rules.water_mndwi, rules.dense_ndvi, rules.low_ndvi, rules.built_ndbi) == (
        0,
        0.5,
        0.2,
        0,
    )
    assert rules.thresholds() == LandcoverThresholds()  # the kernel's defaults
    assert config.landcover.min_mapping_unit_px == 4
    assert config.census.income_column == "disp_med"
    assert config.inputs.landsat[0].path == tmp_path / "products"
    assert config.outputs.folder == tmp_path / "run"
    assert config.scenarios == ()


def test_models_are_frozen():
    config = config_from_dict(BASE)
    with pytest.raises(ValueError, match="frozen"):
        config.grid.resolution = 10  # type: ignore[misc]


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("grid", {"resolution": -30}, "config.yaml: grid.resolution: must be > 0 (got -30)"),
        ("grid", {"crs": "EPSG:4326"}, "grid.crs: 'EPSG:4326' is not a projected CRS in metres"),
        ("grid", {"crs": "nowhere"}, "grid.crs: 'nowhere' is not a CRS"),
        ("periods", {"years": [2023], "months": [6, 7, 13]}, "periods.months: months are 1-12"),
        ("periods", {"years": [2010]}, "periods.years: must be years from 2013"),
        ("periods", {"years": [2023, 2023]}, "year 2023 is listed twice"),
        ("periods", {}, "periods: give exactly one of years, ranges (got none)"),
        (
            "periods",
            {"ranges": [{"start": "2023-06-01", "end": "2023-05-01"}]},
            "periods.ranges[0].end: is before start",
        ),
        (
            "periods",
            {"ranges": [{"start": "2023-06-01", "end": "2023-07-01"}], "months": [6]},
            "periods.months: applies to `years` only",
        ),
        ("composite", {"min_clear": 0}, "composite.min_clear: must be >= 1 (got 0)"),
        ("composite", {"statistics": ["median", "p101"]}, "unknown statistic 'p101'"),
        ("composite", {"statistics": ["median", "std"]}, "unknown statistic 'std'"),
        ("composite", {"anomaly_method": "ratio"}, "must be one of difference, zscore"),
        ("mask", {"landsat_preset": "cloudless"}, "mask.landsat_preset: unknown QA_PIXEL preset"),
        ("mask", {"sentinel2_preset": "gee"}, "use one of default, conservative, permissive"),
        ("mask", {"dilate_px": -1}, "mask.dilate_px: must be >= 0 (got -1)"),
        ("mask", {"st_qa_max_k": "two"}, "mask.st_qa_max_k: "),
        (
            "heat_island",
            {"ring_inner_km": 5, "ring_outer_km": 4},
            "heat_island.ring_outer_km: must be larger than ring_inner_km",
        ),
        (
            "landcover",
            {"rules": {"low_ndvi": 0.6}},
            "landcover.rules.low_ndvi: must be below dense_ndvi (0.6 >= 0.5)",
        ),
        (
            "landcover",
            {"external": {"path": "oso.tif", "mapping": {11: "forest"}}},
            "landcover.external.mapping: code 11 maps to 'forest'; use one of nodata, water",
        ),
        ("aoi", {"bbox": [1.5, 43.5, 1.3, 43.7]}, "aoi.bbox: must be (west, south, east, north)"),
        ("aoi", {"bbox": [570000, 6270000, 580000, 6280000]}, "not in projected metres"),
        ("aoi", {"bbox": [1, 2, 3]}, "aoi.bbox"),
        ("aoi", {"bbox": [1, 43, 2, 44], "zones": "iris"}, "got bbox and zones"),
        ("aoi", {"zones": "iris", "communes": [1004]}, "lost its leading zero"),
        ("aoi", {"zones": "iris", "communes": ["3155"]}, "'3155' is not a commune code"),
        ("aoi", {"zones": "iris"}, "aoi.zones: no zone layer 'iris' (configured: none)"),
        ("inputs", {"landsat": []}, "inputs.landsat: give at least one Landsat source"),
        ("inputs", {"landsat": [{"path": "a", "catalog": {"href": "c"}}]}, "inputs.landsat[0]:"),
        (
            "inputs",
            {"landsat": [{"stac_api": {"url": "catalog.json", "collections": ["x"]}}]},
            "inputs.landsat[0].stac_api.url: must be an http(s) URL",
        ),
        (
            "inputs",
            {"landsat": [{"stac_api": {"url": "https://x.org", "collections": []}}]},
            "inputs.landsat[0].stac_api.collections: must have at least 1 entries",
        ),
        ("inputs", {"landsat": ["a"], "max_cloud_cover": 120}, "must be <= 100 (got 120)"),
        ("scheduler", {"kind": "cluster"}, "scheduler.kind: must be one of threads, processes"),
        ("scheduler", {"kind": "distributed"}, "scheduler.address: is required"),
        ("scheduler", {"chunk_px": 1000}, "scheduler.chunk_px: must be a multiple of 512"),
        (
            "scheduler",
            {"tile_size_px": 3072},
            "scheduler.tile_size_px: must be auto or a multiple of",
        ),
        ("scheduler", {"workers": 0}, "scheduler.workers: must be >= 1 (got 0)"),
        ("scheduler", "tcp//host", "scheduler.kind: must be one of"),
        ("outputs", {"rasters": ["lst_mode"]}, "outputs.rasters: unknown raster 'lst_mode'"),
        # names the run never writes (they were accepted and silently left out)
        ("outputs", {"rasters": ["ndbi_median"]}, "outputs.rasters: unknown raster 'ndbi_median'"),
        ("outputs", {"rasters": ["rural_mask"]}, "a run writes lst_<statistic> (a statistic of"),
        ("landcover", {"external": {"path": "x.tif", "mapping": "glc"}}, "unknown mapping 'glc'"),
        ("landcover", {"connectivity": 4}, "landcover.connectivity: must be one of 1, 2"),
        ("outputs", {"zone_formats": ["shp"]}, "must be one of gpkg, parquet, csv"),
        ("outputs", {"raster_compression": "lzw"}, "outputs.raster_compression: must be one of"),
        ("inequality", {"confidence": 1.5}, "inequality.confidence: must be < 1 (got 1.5)"),
        ("census", {"filosofi": "filo.csv"}, "census.filosofi: needs zones.iris"),
        ("zones", {"extra": [{"name": "Parks", "path": "p.gpkg", "id": "id"}]}, "'Parks'"),
        ("scenarios", {"a": 1}, "scenarios: "),
        ("grid", "30", "grid: must be a mapping of keys (crs, resolution, resampling) (got '30')"),
    ],
)
def test_bad_values_name_the_key(section, value, expected):
    assert expected in error_of(with_(section, value))


def test_unknown_key_names_key_and_file(write_config):
    path = write_config(
        """
        aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}
        periods: {years: [2023]}
        inputs: {landsat: [products]}
        grid:
          resolutoin: 10
        """
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, check_paths=False)
    text = str(err.value)
    assert text.startswith(f"{path}: grid.resolutoin: unknown key (did you mean 'resolution'?)")
    assert "valid keys here: crs, resolution" in text
    assert text.endswith("(line 6)")


def test_unknown_top_level_key(write_config):
    path = write_config("aoi: {bbox: [1, 43, 2, 44]}\nperiods: {years: [2023]}\n"
                        "inputs: {landsat: [p]}\ncomposit: {}\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"config.yaml: composit: unknown key \(did you mean "
                       r"'composite'\?\)"):  # fmt: skip
        load_config(path, check_paths=False)


def test_missing_section_and_count_of_more_errors():
    text = error_of({"aoi": {"bbox": [1, 43, 2, 44]}, "grid": {"resolution": 0}})
    assert "required key is missing" in text
    assert "more errors" in text


def test_cross_checks():
    assert "composite.indices_from: is 'sentinel2'" in error_of(
        with_("composite", {"indices_from": "sentinel2"})
    )
    # It was accepted and ignored (the anomaly was composited anyway): now refused.
    assert "composite.anomaly: false is not supported" in error_of(
        {**BASE, "composite": {"anomaly": False}}
    )
    assert "outputs.rasters: lst_p75 needs p75 in composite.statistics" in error_of(
        with_("outputs", {"rasters": ["lst_median", "lst_p75"]})
    )
    assert "outputs.rasters: lst_zscore needs composite.anomaly_method: zscore" in error_of(
        with_("outputs", {"rasters": ["lst_zscore"]})
    )
    config = config_from_dict(
        {**BASE, "outputs": {"rasters": ["lst_p75", "ndvi_median", "landcover"]},
         "composite": {"statistics": ["median", "P75"]}}
    )  # fmt: skip
    assert config.composite.statistics == ("median", "p75")


def test_periods_intervals_are_merged_utc_half_open():
    config = config_from_dict(with_("periods", {"years": [2023, 2022], "months": [8, 6, 7, 12]}))
    utc = dt.UTC
    assert config.periods.intervals() == (
        (dt.datetime(2022, 6, 1, tzinfo=utc), dt.datetime(2022, 9, 1, tzinfo=utc)),
        (dt.datetime(2022, 12, 1, tzinfo=utc), dt.datetime(2023, 1, 1, tzinfo=utc)),
        (dt.datetime(2023, 6, 1, tzinfo=utc), dt.datetime(2023, 9, 1, tzinfo=utc)),
        (dt.datetime(2023, 12, 1, tzinfo=utc), dt.datetime(2024, 1, 1, tzinfo=utc)),
    )
    assert config.periods.contains(dt.datetime(2023, 8, 31, 23, 59))
    assert not config.periods.contains(dt.datetime(2023, 9, 1, tzinfo=utc))
    ranges = config_from_dict(
        with_("periods", {"ranges": [{"start": "2023-05-15", "end": "2023-09-15"}]})
    ).periods
    assert ranges.months is None
    assert ranges.intervals()[0][1] == dt.datetime(2023, 9, 16, tzinfo=utc)


@settings(max_examples=40, deadline=None)
@given(
    years=st.sets(st.integers(2013, 2030), min_size=1, max_size=3),
    months=st.sets(st.integers(1, 12), min_size=1),
    day=st.dates(dt.date(2012, 1, 1), dt.date(2031, 12, 31)),
)
def test_periods_contain_exactly_the_months_of_the_years(years, months, day):
    periods = PeriodsConfig(years=sorted(years), months=sorted(months))
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    assert periods.contains(noon) == (day.year in years and day.month in months)
    spans = periods.intervals()
    assert all(a < b for a, b in spans)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))  # merged


def test_scheduler_shorthands():
    assert SchedulerConfig.model_validate("processes").kind == "processes"
    cluster = SchedulerConfig.model_validate("tcp://10.0.0.5:8786")
    assert (cluster.kind, cluster.address) == ("distributed", "tcp://10.0.0.5:8786")
    with pytest.raises(ValueError, match="needs kind distributed"):
        SchedulerConfig(kind="threads", address="tcp://h:1")


def test_input_source_shorthand_and_commune_codes(tmp_path):
    config = config_from_dict(
        {**BASE, "aoi": {"zones": "iris", "communes": ["2a004", 31555]},
         "zones": {"iris": {"path": "iris.gpkg"}}},
        base_dir=tmp_path,
    )  # fmt: skip
    assert config.aoi.communes == ("2A004", "31555")
    assert config.aoi.kind == "zones"
    assert config.inputs.landsat[0].path == tmp_path / "products"


def test_single_values_for_lists(tmp_path):
    config = config_from_dict(
        {**BASE, "periods": {"years": 2023, "months": 7}, "inputs": {"landsat": "products",
         "sentinel2": {"path": "s2"}}},
        base_dir=tmp_path,
    )  # fmt: skip
    assert (config.periods.years, config.periods.months) == ((2023,), (7,))
    assert config.inputs.landsat[0].path == tmp_path / "products"
    assert config.inputs.sentinel2[0].path == tmp_path / "s2"


def test_external_landcover_mapping(tmp_path):
    named = config_from_dict(
        {**BASE, "landcover": {"external": {"path": "wc.tif", "mapping": "WorldCover"}}}
    )
    assert named.landcover.external.class_mapping() == "worldcover"
    table = config_from_dict(
        {**BASE, "landcover": {"external": {"path": "oso.tif",
                                            "mapping": {"41": "built", 17: "dense_vegetation"}}}}
    ).landcover.external  # fmt: skip
    assert table.mapping == {41: "built", 17: "dense_vegetation"}
    assert table.class_mapping() == {41: LandCover.BUILT, 17: LandCover.DENSE_VEGETATION}


def test_scenarios_are_typed_models():
    # The detailed checks of scenario specs are in tests/pipelines/scenarios/test_specs.py.
    scenarios = [
        {
            "name": "green_schoolyards",
            "where": {"landcover": "built"},
            "change": [{"reclassify": {"from": "built", "to": "low_vegetation", "fraction": 0.2}}],
        }
    ]
    config = config_from_dict({**BASE, "scenarios": scenarios})
    (scenario,) = config.scenarios
    assert scenario.where.landcover == ("built",)
    change = scenario.change[0].reclassify
    assert (change.from_, change.to, change.fraction) == ("built", "low_vegetation", 0.2)
    assert config.scenario_model.r2_min == 0.5 and config.scenario_model.force is False
    bad = [{**scenarios[0], "change": {"built": "low_vegetation"}}]
    assert "scenarios[0].change" in error_of({**BASE, "scenarios": bad})


def test_every_key_is_documented_with_its_default():
    rows = config_reference()
    keys = [key for key, _default, _text in rows]
    assert "grid.resolution" in keys and "inputs.landsat[].stac_api.url" in keys
    for key, _default, text in rows:
        assert text, f"{key} has no description"
    optional = [row for row in rows if row[1] not in ("(required)", "(section)")]
    for key, _default, text in optional:
        assert "Default" in text, f"{key}: the description does not give the default"
    assert set(RunConfig.model_fields) <= {key.split(".")[0] for key in keys}
