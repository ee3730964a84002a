"""Validation of config values: each bad value gives one line naming the file and the key."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.config import (
    ConfigError,
    PeriodsConfig,
    RunConfig,
    SchedulerConfig,
    apply_overrides,
    config_from_dict,
    config_reference,
    dump_config,
    load_config,
)
from raster.landcover import LandCover, LandcoverThresholds
from tiles.errors import IlotsError, IlotsWarning

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
    assert config.landcover.min_mapping_unit_m2 == 3600.0
    assert config.landcover.min_mapping_unit_px is None
    assert config.mask.dilate_m == 0.0 and config.mask.dilate_px is None
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
        ("mask", {"dilate_m": -1}, "mask.dilate_m: must be >= 0 (got -1)"),
        (
            "landcover",
            {"min_mapping_unit_m2": -900},
            "landcover.min_mapping_unit_m2: must be >= 0 (got -900)",
        ),
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
        ("outputs", {"anomaly_range_k": 0}, "outputs.anomaly_range_k: must be > 0 (got 0)"),
        ("inequality", {"confidence": 1.5}, "inequality.confidence: must be < 1 (got 1.5)"),
        ("census", {"filosofi": "filo.csv"}, "census.filosofi: needs zones.iris"),
        # The IRIS layer's column (without census.population): there is no layer to read.
        ("census", {"population_column": "P18_POP"}, "census.population_column: needs zones.iris"),
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


def test_on_damaged_stops_by_default_or_skips_under_any_scheduler():
    """inputs.on_damaged: stop (the default), or skip, under any scheduler (the processes
    pool's workers report what they skip through a spool file: tests/raster/test_load.py);
    it was refused under the processes scheduler, hence under --workers, recorded so."""
    assert config_from_dict(BASE).inputs.on_damaged == "stop"
    skip = {**BASE["inputs"], "on_damaged": "skip"}
    assert config_from_dict({**BASE, "inputs": skip}).inputs.on_damaged == "skip"
    assert "inputs.on_damaged: must be one of stop, skip" in error_of(
        {**BASE, "inputs": {**skip, "on_damaged": "ignore"}}
    )
    for scheduler in ("processes", {"kind": "processes", "workers": 2}):
        config = config_from_dict({**BASE, "inputs": skip, "scheduler": scheduler})
        assert config.inputs.on_damaged == "skip" and config.scheduler.kind == "processes"


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
    # Their days, both ends included: the COGs' time coverage.
    assert ranges.days() == ((dt.date(2023, 5, 15), dt.date(2023, 9, 15)),)
    assert config.periods.days()[:2] == (
        (dt.date(2022, 6, 1), dt.date(2022, 8, 31)),
        (dt.date(2022, 12, 1), dt.date(2022, 12, 31)),
    )


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


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("tcp://10.0.0.5", "has no port (a scheduler listens on 8786 by default); use e.g. "
                           "tcp://10.0.0.5:8786"),
        ("http://10.0.0.5:8799", "is not one Dask connects to (tcp://, tls://, ucx://, ws://, "
                                 "wss://); use e.g. tcp://10.0.0.5:8799"),
        ("10.0.0.5:8799", "needs its protocol; use e.g. tcp://10.0.0.5:8799"),
    ],
)  # fmt: skip
def test_a_scheduler_address_needs_a_protocol_and_a_port(given, said):
    # tcp://10.0.0.5 was taken, and failed when contacted ("not a Dask scheduler"); a host
    # and port without tcp:// was read as an unknown kind.
    text = error_of({**BASE, "scheduler": given})
    assert text.startswith("config.yaml: scheduler.address: ") and said in text
    assert SchedulerConfig.model_validate("tcp://[::1]:8786").address == "tcp://[::1]:8786"


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


def test_the_reference_shows_keys_and_defaults_as_a_user_writes_them():
    """``from`` (the YAML key; from_ is Python's name for it), and the months a config with
    years gets when it gives none (not null)."""
    rows = {key: default for key, default, _text in config_reference()}
    assert "scenarios[].change[].reclassify.from" in rows
    assert not any(key.endswith("from_") for key in rows)
    assert rows["periods.months"] == "[6, 7, 8]"
    assert config_from_dict(BASE).periods.months == (6, 7, 8)  # what the reference says
    assert rows["periods.years"] == "null"


@pytest.mark.parametrize(
    ("area_m2", "resolution", "pixels"),
    [
        (3600, 30, 4),  # the default on the default grid: four 30 m pixels
        (3600, 10, 36),
        (3600, 60, 1),  # one 60 m pixel is 3600 m²: every region is kept
        (3601, 30, 5),  # a region of 4 px (3600 m²) is below 3601 m²: 5 px are needed
        (3599, 30, 4),
        (400, 10, 4),
        (2500, 10, 25),  # 0.25 ha at 10 m
        (0, 10, 0),
        (4435.56, 33.3, 4),  # 4 x 33.3²: 4.000000000000001 in floats, still 4 px
    ],
)
def test_minimum_mapping_unit_in_pixels_is_the_area_rounded_up(area_m2, resolution, pixels):
    data = {**BASE, "landcover": {"min_mapping_unit_m2": area_m2}}
    config = config_from_dict({**data, "grid": {"resolution": resolution}})
    assert config.landcover.min_mapping_unit_pixels(resolution) == pixels


@pytest.mark.parametrize(
    ("landsat_pixels", "resolution", "pixels"),
    # By hand: ceil(n · 900 m² / resolution²), at least 1.
    [(1, 10, 9), (1, 20, 3), (1, 30, 1), (1, 90, 1), (5, 10, 45), (10, 20, 23), (10, 60, 3),
     (9, 90, 1), (10, 90, 2), (7, 30, 7), (1, 15, 4), (2, 25, 3)],
)  # fmt: skip
def test_min_reference_pixels_counts_landsat_pixels(landsat_pixels, resolution, pixels):
    """heat_island.min_reference_pixels is an area of 30 m Landsat pixels on any grid (it
    counted grid pixels: 1 was a ninth of a Landsat pixel on a 10 m grid)."""
    data = {**BASE, "heat_island": {"min_reference_pixels": landsat_pixels}}
    config = config_from_dict({**data, "grid": {"resolution": resolution}})
    assert config.heat_island.min_reference_grid_pixels(resolution) == pixels


def test_min_reference_frac_is_a_share():
    assert config_from_dict(BASE).heat_island.min_reference_frac == 0.1
    for wrong in (-0.1, 1.5):
        text = error_of(with_("heat_island", {"min_reference_frac": wrong}))
        assert "heat_island.min_reference_frac" in text


@pytest.mark.parametrize(
    ("distance_m", "resolution", "pixels"),
    [(0, 30, 0), (30, 30, 1), (45, 30, 2), (60, 30, 2), (60, 10, 6), (20, 10, 2), (99.9, 33.3, 3)],
)
def test_cloud_dilation_in_pixels_is_the_distance_rounded_up(distance_m, resolution, pixels):
    config = config_from_dict({**BASE, "mask": {"dilate_m": distance_m}})
    assert config.mask.dilate_pixels(resolution) == pixels


def test_cloud_dilation_is_at_most_50_grid_pixels():
    assert config_from_dict({**BASE, "mask": {"dilate_m": 1500}}).mask.dilate_pixels(30) == 50
    text = error_of({**BASE, "grid": {"resolution": 10}, "mask": {"dilate_m": 600}})
    assert text == (
        "config.yaml: mask.dilate_m: 600 m is 60 px of this 10 m grid; give at most 50 px "
        "(500 m here)"
    )


def _pixel_key_warnings(data: dict) -> tuple[RunConfig, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = config_from_dict(data)
    return config, [str(w.message) for w in caught if issubclass(w.category, IlotsWarning)]


@pytest.mark.parametrize(
    ("resolution", "area", "distance"), [(30, "3600", "60"), (10, "400", "20")]
)
def test_the_pixel_keys_still_count_grid_pixels_with_a_warning(resolution, area, distance):
    """The deprecated keys keep their meaning (4 px, 2 px whatever the grid); each warning is
    one line naming the key in metres and the value that gives the same pixels here."""
    config, said = _pixel_key_warnings(
        {**BASE, "grid": {"resolution": resolution},
         "landcover": {"min_mapping_unit_px": 4}, "mask": {"dilate_px": 2}}
    )  # fmt: skip
    assert config.landcover.min_mapping_unit_pixels(resolution) == 4
    assert config.mask.dilate_pixels(resolution) == 2
    assert config.landcover.min_mapping_unit_m2 is None and config.mask.dilate_m is None
    assert said == [
        "landcover.min_mapping_unit_px is deprecated: it counts grid pixels, whose size "
        f"grid.resolution sets; write landcover.min_mapping_unit_m2: {area} instead (the same "
        f"4 px on this {resolution} m grid)",
        "mask.dilate_px is deprecated: it counts grid pixels, whose size grid.resolution sets; "
        f"write mask.dilate_m: {distance} instead (the same 2 px on this {resolution} m grid)",
    ]
    # The values the warnings give mean the same pixels, and warn no more.
    metres, quiet = _pixel_key_warnings(
        {**BASE, "grid": {"resolution": resolution},
         "landcover": {"min_mapping_unit_m2": float(area)}, "mask": {"dilate_m": float(distance)}}
    )  # fmt: skip
    assert quiet == []
    assert metres.landcover.min_mapping_unit_pixels(resolution) == 4
    assert metres.mask.dilate_pixels(resolution) == 2


def _override_warnings(config: RunConfig, overrides: dict) -> tuple[RunConfig, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        changed = apply_overrides(config, overrides)
    return changed, [str(w.message) for w in caught if issubclass(w.category, IlotsWarning)]


def test_overrides_replace_a_size_in_either_unit_and_warn_once():
    """``--out`` on a config with a pixel key does not say its deprecation a second time (it
    was said when the file was read); an override in either unit replaces the config's size
    in the other (the two keys are exclusive)."""
    pixels, said = _pixel_key_warnings(with_("landcover", {"min_mapping_unit_px": 4}))
    assert len(said) == 1
    moved, again = _override_warnings(pixels, {"outputs.folder": "elsewhere"})
    assert again == [] and moved.landcover.min_mapping_unit_pixels(30) == 4
    metres, quiet = _override_warnings(pixels, {"landcover.min_mapping_unit_m2": 900})
    assert quiet == [] and metres.landcover.min_mapping_unit_px is None
    assert metres.landcover.min_mapping_unit_pixels(30) == 1
    back, told = _override_warnings(metres, {"landcover.min_mapping_unit_px": 2})
    assert back.landcover.min_mapping_unit_m2 is None
    assert back.landcover.min_mapping_unit_pixels(30) == 2
    assert len(told) == 1 and told[0].startswith("landcover.min_mapping_unit_px is deprecated")
    dilated, _ = _override_warnings(config_from_dict(BASE), {"mask.dilate_px": 1})
    assert dilated.mask.dilate_m is None and dilated.mask.dilate_pixels(30) == 1
    # Both units in one set of overrides: refused, as in a file.
    with pytest.raises(ConfigError, match="give dilate_m or dilate_px, not both"):
        apply_overrides(config_from_dict(BASE), {"mask.dilate_m": 60, "mask.dilate_px": 2})
    # A pixel key an override brings in (a whole section) is said; the config's own is said
    # again on another grid, whose equivalent in metres differs.
    _, section = _override_warnings(config_from_dict(BASE), {"mask": {"dilate_px": 2}})
    assert [text.split(" is ")[0] for text in section] == ["mask.dilate_px"]
    _, regrid = _override_warnings(pixels, {"grid.resolution": 10})
    assert len(regrid) == 1 and "min_mapping_unit_m2: 400 instead" in regrid[0]


@pytest.mark.parametrize("key", ["dilate_m", "min_mapping_unit_m2"])
def test_an_infinite_size_is_refused_in_one_line(key):
    section = "mask" if key == "dilate_m" else "landcover"
    text = error_of(with_(section, {key: float("inf")}))
    assert text.startswith(f"config.yaml: {section}.{key}: ") and "\n" not in text


def test_the_hot_days_anomaly_can_be_asked_by_name():
    config = config_from_dict(with_("outputs", {"rasters": ["lst_median", "lst_anomaly_p90"]}))
    assert config.outputs.rasters == ("lst_median", "lst_anomaly_p90")


def test_the_equivalent_the_warning_gives_survives_float_rounding():
    # 4 x 33.3² = 4435.56 and 3 x 33.3 = 99.9 are a hair over 4 and 3 pixels in floats.
    data = {**BASE, "grid": {"resolution": 33.3}}
    _, said = _pixel_key_warnings(
        {**data, "landcover": {"min_mapping_unit_px": 4}, "mask": {"dilate_px": 3}}
    )
    assert "landcover.min_mapping_unit_m2: 4435.56 instead" in said[0]
    assert "mask.dilate_m: 99.9 instead" in said[1]
    config = config_from_dict(
        {**data, "landcover": {"min_mapping_unit_m2": 4435.56}, "mask": {"dilate_m": 99.9}}
    )
    assert config.landcover.min_mapping_unit_pixels(33.3) == 4
    assert config.mask.dilate_pixels(33.3) == 3


@pytest.mark.parametrize(
    ("section", "metres", "pixels"),
    [
        ("landcover", "min_mapping_unit_m2", "min_mapping_unit_px"),
        ("mask", "dilate_m", "dilate_px"),
    ],
)
def test_a_size_in_metres_and_in_pixels_are_exclusive(section, metres, pixels):
    text = error_of(with_(section, {metres: 0, pixels: 4}))
    assert text == (
        f"config.yaml: {section}.{pixels}: give {metres} or {pixels}, not both; remove "
        f"{pixels} (deprecated: it counts grid pixels, whose size grid.resolution sets)"
    )


@pytest.mark.parametrize(
    ("sizes", "written"),
    [
        ({}, {"landcover": {"min_mapping_unit_m2": 3600.0}, "mask": {"dilate_m": 0.0}}),
        (
            {"landcover": {"min_mapping_unit_px": 4}, "mask": {"dilate_px": 1}},
            {"landcover": {"min_mapping_unit_px": 4}, "mask": {"dilate_px": 1}},
        ),
    ],
)
def test_only_the_size_given_is_written_back(tmp_path, sizes, written):
    """A config written back (the run folder's copy) holds the key it was given, not the other
    at null, so that it reads back equal, the deprecated key included."""
    config, _ = _pixel_key_warnings({**BASE, **sizes})
    data = yaml.safe_load(dump_config(config, tmp_path / "config.yaml").read_text())
    keys = ("min_mapping_unit_m2", "min_mapping_unit_px", "dilate_m", "dilate_px")
    got = {section: {k: v for k, v in data[section].items() if k in keys} for section in written}
    assert got == written
    again, _ = _pixel_key_warnings(data)
    assert again == config


def test_outcomes_may_name_the_run_columns_and_others():
    """Every per-IRIS column of a run is an outcome; so, at load, is any other name: a column
    of the IRIS layer or a census table, even one resembling the run's (lst_max_k, ndvi_max,
    lc_tree_frac were refused as misspellings). The dry run and the run check them against
    the tables read (tests/pipelines/test_run_outcomes.py)."""
    runs = [
        "lst_mean_k", "lst_p90_k", "lst_anomaly_p90_mean_k", "ndvi_mean", "albedo_mean",
        "n_clear_mean", "valid_frac", "lc_dense_vegetation_frac", "lc_bare_soil_frac",
        "lst_hotter_than_pct",
    ]  # fmt: skip
    others = [
        "lst_c", "lst_day_k", "disp_tp60", "qpv_share", "qpv_area_m2", "canopy_frac",
        "lst_max_k", "lst_min_k", "lst_mean_c", "ndvi_max", "albedo_median", "area_km2",
        "lc_tree_frac", "lst_anomaly_mean",
    ]  # fmt: skip
    config = config_from_dict(with_("inequality", {"outcomes": runs + others}))
    assert config.inequality.outcomes == (*runs, *others)


def test_zscore_outcome_needs_the_zscore_anomaly():
    data = with_("inequality", {"outcomes": ["lst_zscore_mean"]})
    assert "inequality.outcomes: lst_zscore_mean needs composite.anomaly_method: zscore" in (
        error_of(data)
    )
    config = config_from_dict({**data, "composite": {"anomaly_method": "zscore"}})
    assert config.inequality.outcomes == ("lst_zscore_mean",)


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("DISP_MED21", "disp_med"),  # as INSEE publishes it
        ("disp_med21", "disp_med"),
        ("DISP_MED", "disp_med"),
        ("DISP_TP6019", "disp_tp60"),
        ("DISP_D121", "disp_d1"),
        ("DISP_MED_A21", "disp_med"),  # INSEE's QPV tables
        ("DEC_MED21", "dec_med"),
        ("disp_med", "disp_med"),
        ("revenu_median", "revenu_median"),  # not a Filosofi name: kept as given
        ("Revenu", "Revenu"),
    ],
)
def test_income_column_is_read_as_the_filosofi_reader_names_it(given, read):
    """Filosofi columns lose their year suffix and are lower-cased when read: the year-suffixed
    name of the INSEE file names the same column (it left the inequality statistics out). The
    name is kept as written (the IRIS layer's own column is looked up first)."""
    config = config_from_dict(with_("census", {"income_column": given}))
    assert config.census.income_column == given
    assert config.census.income_in(["code_iris", "lst_mean_k", read]) == read


@pytest.mark.parametrize("filosofi", [False, True])
@pytest.mark.parametrize("given", ["DISP_MED19", "disp_med19"])
def test_income_column_names_the_iris_layers_column_before_its_year_is_stripped(given, filosofi):
    """An IGN IRIS layer enriched with DISP_MED19: the name was read as disp_med (the
    default), which no table had, and the run skipped its inequality statistics. Without a
    Filosofi table, or one without that indicator, the layer's column is found, whatever
    its case; a Filosofi table's own disp_med comes first."""
    census = {"income_column": given, **({"filosofi": "filo.csv"} if filosofi else {})}
    data = {**with_("census", census), "zones": {"iris": {"path": "iris.gpkg"}}}
    income_in = config_from_dict(data).census.income_in
    assert income_in(["code_iris", "DISP_MED19", "P18_POP"]) == "DISP_MED19"
    assert income_in(["code_iris", "DISP_MED19", "disp_tp60"]) == "DISP_MED19"
    both = ["code_iris", "DISP_MED19", "disp_med"]
    assert income_in(both) == ("disp_med" if filosofi else "DISP_MED19")
    assert income_in(["code_iris", "DISP_MED18"]) is None


def test_a_map_code_given_twice_is_refused():
    """'010' and 10 are both code 10: the table kept the last one silently."""
    table = {10: "built", "010": "water"}
    assert error_of(with_("landcover", {"external": {"path": "lc.tif", "mapping": table}})) == (
        "config.yaml: landcover.external.mapping: map codes 10 and '010' are both code 10; "
        "keep one of them"
    )


def test_map_class_names_take_any_case():
    external = config_from_dict(
        {**BASE, "landcover": {"external": {"path": "lc.tif",
                                            "mapping": {10: "Built", 20: "WATER"}}}}
    ).landcover.external  # fmt: skip
    assert external.mapping == {10: "built", 20: "water"}
    assert external.class_mapping() == {10: LandCover.BUILT, 20: LandCover.WATER}


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("ESA_WorldCover_10m_2021_v200_N42E000_Map.tif", 2021),
        ("U2018_CLC2018_V2020_20u1.tif", 2018),  # the map's year, not its version's (2020)
        ("OCS_2023_CESBIO.tif", 2023),
        ("OSO_2022_Toulouse.tif", 2022),  # the OSO names the product check knows
        ("OCS_2021.tif", 2021),
        ("WorldCover_10m_2021_v200_N42E000_Map.tif", 2021),  # a tile renamed without "ESA_"
        ("ESA_WorldCover_v200_2021.tif", None),  # WorldCover's, its year not where ESA puts it
        ("WorldCover_10m_2021.tif", 2021),  # a mosaic: the year at the name's end
        ("landcover_2020.tif", None),  # another file's year is not guessed
    ],
)
def test_map_year_from_the_file_name(name, year):
    table = {10: "built"}  # a table: no product the file name could contradict
    external = config_from_dict(
        {**BASE, "landcover": {"external": {"path": name, "mapping": table}}}
    ).landcover.external
    assert external.map_year() == year
    given = config_from_dict(
        {**BASE, "landcover": {"external": {"path": name, "mapping": table, "year": 2019}}}
    ).landcover.external
    assert given.map_year() == 2019


@pytest.mark.parametrize(
    ("name", "product", "year"),
    [
        ("CLC2018_WorldCover_10m_2021_clip.tif", "corine", 2018),
        ("U2018_CLC2018_V2020_20u1_WorldCover_grid.tif", "corine", 2018),
        ("OCS_2023_WorldCover_10m_2021.tif", "oso", 2023),
        ("OSO_2022_vs_CLC2018.tif", "oso", 2022),
        ("ESA_WorldCover_10m_2021_v200_CLC2018_legend.tif", "worldcover", 2021),
    ],
)
@pytest.mark.parametrize("order", [1, -1], ids=["as-listed", "reversed"])
def test_a_name_two_products_match_says_the_one_it_starts_with(
    monkeypatch, name, product, year, order
):
    """A CORINE or OSO map whose name holds "WorldCover_" was read as WorldCover's (its
    pattern was tried first), its mapping then refused: the product named first in the
    file name is the one said, whatever the order the patterns are tried in."""
    from pipelines.config import models

    patterns = dict(list(models.MAP_PATTERNS.items())[::order])
    monkeypatch.setattr(models, "MAP_PATTERNS", patterns)
    assert models.map_product(name) == product
    assert models.landcover_map_year(name) == year


@pytest.mark.parametrize(
    ("name", "mapping", "says"),
    [
        ("OCS_2023_CESBIO.tif", "corine", "says OSO, the mapping 'corine' is CORINE Land Cover's; "
         "set mapping: oso, or"),
        ("OSO_2021_Toulouse.tif", "corine_grid", "says OSO, the mapping 'corine_grid' is CORINE "
         "Land Cover's; set mapping: oso, or"),
        ("ESA_WorldCover_10m_2021_v200_N42E000_Map.tif", "corine", "says ESA WorldCover, the "
         "mapping 'corine' is CORINE Land Cover's; set mapping: worldcover, or"),
        # a tile renamed without "ESA_": the name whose year is read says the product too
        ("WorldCover_10m_2021_v200_N42E000_Map.tif", "corine", "says ESA WorldCover, the "
         "mapping 'corine' is CORINE Land Cover's; set mapping: worldcover, or"),
        # a mosaic of tiles renamed by its maker, with no year where ESA puts it
        ("ESA_WorldCover_v200_2021.tif", "corine", "says ESA WorldCover, the "
         "mapping 'corine' is CORINE Land Cover's; set mapping: worldcover, or"),
        ("U2018_CLC2018_V2020_20u1.tif", "oso", "says CORINE Land Cover, the mapping 'oso' is "
         "OSO's; set mapping: corine_grid (the grid codes 1-44 of the EEA's rasters) or corine "
         "(three-digit codes), or"),
        ("CLC2012_toulouse.tif", "worldcover", "says CORINE Land Cover, the mapping "
         "'worldcover' is ESA WorldCover's; set mapping: corine_grid"),
    ],
)  # fmt: skip
def test_a_mapping_of_another_product_than_the_file_name_says_is_refused(name, mapping, says):
    """An OSO or WorldCover map under 'corine' read its codes as CORINE grid codes (OSO crops
    5 and 6 as ports and airports, so built), with no warning: its published file name now
    refuses a shipped mapping of another product, saying the one to set."""
    text = error_of(with_("landcover", {"external": {"path": name, "mapping": mapping}}))
    assert text.startswith(f"config.yaml: landcover.external.mapping: the file name {name} ")
    assert says in text
    assert text.endswith("a table {code: class} of the map's codes if its name misleads")


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("U2018_CLC2018_V2020_20u1.tif", "corine_grid"),
        ("U2018_CLC2018_V2020_20u1.tif", "corine"),  # the codes' check says corine_grid
        ("CLC2018_CODE18.tif", "corine"),
        ("ESA_WorldCover_10m_2021_v200_N42E000_Map.tif", "worldcover"),
        ("OCS_2023_CESBIO.tif", "oso"),
        ("OCS_2023_CESBIO.tif", {5: "low_vegetation"}),  # a table: the user's own reading
        ("toulouse_landcover.tif", "corine"),  # a name that says no product
    ],
)
def test_a_mapping_the_file_name_agrees_with_is_kept(name, mapping):
    external = config_from_dict(
        {**BASE, "landcover": {"external": {"path": name, "mapping": mapping}}}
    ).landcover.external
    assert external.mapping == mapping
