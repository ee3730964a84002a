"""Scenario specs in YAML: what is accepted, and one-line errors naming the bad key."""

import textwrap

import numpy as np
import pytest
import yaml

from pipelines.config import (
    ConfigError,
    config_from_dict,
    dump_config,
    load_config,
)

BASE = {
    "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]},
    "periods": {"years": [2023]},
    "inputs": {"landsat": ["products"]},
    "zones": {"iris": {"path": "iris.gpkg"}, "qpv": {"path": "qpv.geojson"}},
}
GREEN = {
    "name": "green_qpv",
    "where": {"layer": "qpv"},
    "change": [{"reclassify": {"from": "built", "to": "dense_vegetation", "fraction": 0.3}}],
}


def error_of(scenario=None, **top) -> str:
    data = {**BASE, **top}
    if scenario is not None:
        data["scenarios"] = [scenario]
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, source="city.yaml")
    text = str(err.value)
    assert "\n" not in text and text.startswith("city.yaml: ")
    return text


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (
            {**GREEN, "change": [{"paint": {"colour": "white"}}]},
            "scenarios[0].change[0].paint: unknown key; valid keys here: ndvi, reclassify, albedo",
        ),
        (
            {
                **GREEN,
                "change": [{"reclassify": {"from": "built", "to": "water", "fraction": -0.2}}],
            },
            "scenarios[0].change[0].reclassify.fraction: must be >= 0 (got -0.2)",
        ),
        (
            {
                **GREEN,
                "change": [{"reclassify": {"from": "built", "to": "water", "fraction": 1.5}}],
            },
            "scenarios[0].change[0].reclassify.fraction: is a share in [0, 1] (got 1.5): 30 % "
            "is written 0.3",
        ),
        (
            {**GREEN, "change": [{"reclassify": {"from": "built", "to": "water", "fractoin": 1}}]},
            "reclassify.fractoin: unknown key (did you mean 'fraction'?); valid keys here: from, "
            "to, fraction",
        ),
        (  # the Python name of `from` is not a second spelling of it
            {**GREEN, "change": [{"reclassify": {"from_": "built", "to": "water"}}]},
            "reclassify.from_: unknown key (did you mean 'from'?)",
        ),
        (
            {**GREEN, "change": [{"reclassify": {"from": "roofs", "to": "dense_vegetation"}}]},
            "scenarios[0].change[0].reclassify.from: unknown land-cover class 'roofs'; use one of "
            "water, dense_vegetation, low_vegetation, built, bare_soil",
        ),
        (
            {**GREEN, "change": [{"albedo": {"add": 0.1, "on": "forest"}}]},
            "scenarios[0].change[0].albedo.on: unknown land-cover class 'forest'",
        ),
        (
            {**GREEN, "where": {"landcover": "asphalt"}},
            "scenarios[0].where.landcover: unknown land-cover class 'asphalt'",
        ),
        (
            {**GREEN, "where": {"layer": "schoolyards"}},
            "scenarios[0].where.layer: no zone layer 'schoolyards' in this run (configured: "
            "iris, qpv)",
        ),
        (
            {**GREEN, "where": {"layer": "qpv", "everywhere": True}},
            "scenarios[0].where: give exactly one of layer, landcover, file, everywhere",
        ),
        ({**GREEN, "where": {"layr": "qpv"}}, "where.layr: unknown key (did you mean 'layer'?)"),
        (
            {**GREEN, "change": [{"ndvi": {"add": 0.1}, "albedo": {"add": 0.1}}]},
            "scenarios[0].change[0]: each change is exactly one of ndvi, reclassify, albedo",
        ),
        ({**GREEN, "change": []}, "scenarios[0].change: must have at least 1 entries"),
        ({**GREEN, "name": "green qpv"}, "scenarios[0].name: 'green qpv' is not a usable folder"),
        ({**GREEN, "change": [{"ndvi": {}}]}, "scenarios[0].change[0].ndvi: give add, set or cap"),
        (
            {**GREEN, "change": [{"ndvi": {"set": 0.5, "add": 0.1}}]},
            "scenarios[0].change[0].ndvi.set: replaces the NDVI",
        ),
        (
            {**GREEN, "where": {"file": "parks.gpkg", "ids": ["a"]}},
            "scenarios[0].where.ids: applies to a zone `layer` only",
        ),
    ],
)
def test_bad_scenarios_name_the_key(scenario, expected):
    assert expected in error_of(scenario)


def test_bad_model_settings_name_the_key():
    assert "scenario_model.window_px: must be odd" in error_of(scenario_model={"window_px": 4})
    assert "scenario_model.r2_min: must be <= 1" in error_of(scenario_model={"r2_min": 2})
    assert "scenario_model.folds: must be >= 2" in error_of(scenario_model={"folds": 1})
    assert "scenario_model.estimator: must be one of gradient_boosting, ridge" in error_of(
        scenario_model={"estimator": "forest"}
    )


def test_duplicate_names_are_an_error():
    text = error_of(**{"scenarios": [GREEN, GREEN]})
    assert "scenarios[1].name: 'green_qpv' is used twice" in text


def test_rasters_the_scenarios_read_must_be_written():
    cool = {"name": "cool", "where": {"layer": "iris"}, "change": [{"albedo": {"add": 0.1}}]}
    rasters = {"rasters": ["lst_median", "lst_anomaly", "landcover"]}
    text = error_of(**{"scenarios": [GREEN, cool], "outputs": rasters})
    assert text.endswith(
        "outputs.rasters: leaves out ndvi_median, albedo_median, which the scenarios read; "
        "add them, or remove outputs.rasters to write every raster"
    )
    rasters = {"rasters": ["lst_anomaly", "landcover", "ndvi_median"]}  # no albedo change
    assert config_from_dict({**BASE, "scenarios": [GREEN], "outputs": rasters}).scenarios


def test_yaml_scenarios_load_and_round_trip(tmp_path):
    # `on: built` is read by YAML 1.1 as `true: built`; the spec takes it back as `on`.
    text = textwrap.dedent(
        """
        aoi: {bbox: [1.35, 43.55, 1.52, 43.67]}
        periods: {years: [2023]}
        inputs: {landsat: [products]}
        zones: {iris: {path: iris.gpkg}, qpv: {path: qpv.geojson}}
        scenarios:
          - name: cool_roofs
            description: Cool roofs
            where: {layer: iris, filter: {insee_com: ['31555', '31069']}}
            change:
              - albedo: {add: 0.15, on: built}
              - ndvi: {add: 0.2, cap: 0.8, on: [built, bare_soil]}
          - name: parks
            where: {file: parks.gpkg, layer: parks}
            change: [{reclassify: {from: bare_soil, to: low_vegetation}}]
        scenario_model: {estimator: ridge, block_m: 500}
        """
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    config = load_config(path, check_paths=False)
    roofs, parks = config.scenarios
    assert roofs.change[0].albedo.on == ("built",) and roofs.change[0].albedo.add == 0.15
    assert roofs.change[1].ndvi.on == ("built", "bare_soil") and roofs.change[1].ndvi.cap == 0.8
    assert roofs.where.filter == {"insee_com": ("31555", "31069")}
    assert parks.where.kind == "file" and parks.where.file == tmp_path / "parks.gpkg"
    assert parks.where.layer == "parks"
    assert parks.change[0].reclassify.fraction == 1.0
    assert config.scenario_model.estimator == "ridge"
    written = dump_config(config, tmp_path / "copy.yaml")
    data = yaml.safe_load(written.read_text())
    assert data["scenarios"][1]["change"][0]["reclassify"]["from"] == "bare_soil"
    assert load_config(written, check_paths=False) == config


def test_a_reclassification_into_water_the_lst_leaves_out_is_refused(tmp_path):
    """mask.lst_keep_water false: no water pixel has an LST, the model has none to learn
    from; refused before any run, naming the file and the change."""
    from pipelines.scenarios import run_scenarios

    ponds = {
        "name": "ponds",
        "where": {"layer": "qpv"},
        "change": [
            {"ndvi": {"add": 0.1}},
            {"reclassify": {"from": "built", "to": "water", "fraction": 0.3}},
        ],
    }
    folder = {"folder": str(tmp_path / "out")}
    config = config_from_dict({**BASE, "scenarios": [GREEN, ponds], "outputs": folder})
    with pytest.raises(ConfigError) as err:
        run_scenarios(config, source="city.yaml")
    text = str(err.value)
    assert "\n" not in text
    # The key, then the scenario and the class, each named as what it is.
    assert text.startswith(
        "city.yaml: scenarios[1].change[1].reclassify.to: scenario 'ponds' turns pixels into "
        "class water, which has no LST or NDVI in this run (mask.lst_keep_water and "
        "mask.indices_keep_water are false)"
    )
    assert text.endswith("reclassify into another class")
    assert "lst_keep_water: true" not in text  # keeping water's LST alone is no cure
    assert not (tmp_path / "out").exists()  # refused before the pipeline ran
    from pipelines.scenarios.pipeline import unpredictable_targets

    lst_only = {"lst_keep_water": True}
    kept = config_from_dict({**BASE, "scenarios": [ponds], "mask": lst_only, "outputs": folder})
    with pytest.raises(ConfigError) as err:  # water's LST kept, not its NDVI: no water pixel
        unpredictable_targets(kept, "city.yaml")
    assert "which has no NDVI in this run (mask.indices_keep_water is false)" in str(err.value)
    both = {"lst_keep_water": True, "indices_keep_water": True}
    kept = config_from_dict({**BASE, "scenarios": [ponds], "mask": both, "outputs": folder})
    # Water's LST and NDVI kept: whether water enters the fit is known once the model is
    # fitted (thin_targets): with an SCL preset that keeps water, its NDVI is known too.
    unpredictable_targets(kept, "city.yaml")


def test_a_reclassification_from_water_the_lst_leaves_out_is_refused(tmp_path, monkeypatch):
    """mask.lst_keep_water false: no water pixel has an LST, so the model has none to start
    from; refused before the run and the model, naming the file, the key of the class
    converted, the scenario and the fix (keep water's LST and its NDVI, run again)."""
    from pipelines.scenarios import pipeline, run_scenarios

    def never(*args, **kwargs):
        raise AssertionError("called before the refusal")

    monkeypatch.setattr(pipeline, "fit_model", never)
    monkeypatch.setattr("pipelines.run.run", never)
    drained = {
        "name": "drained",
        "where": {"everywhere": True},
        "change": [
            {"albedo": {"add": 0.1}},
            {"reclassify": {"from": "water", "to": "dense_vegetation"}},
        ],
    }
    folder = {"folder": str(tmp_path / "out")}
    config = config_from_dict({**BASE, "scenarios": [GREEN, drained], "outputs": folder})
    with pytest.raises(ConfigError) as err:
        run_scenarios(config, source="city.yaml")
    assert str(err.value) == (
        "city.yaml: scenarios[1].change[1].reclassify.from: scenario 'drained' reclassifies "
        "pixels of class water, which this run leaves out of the LST and NDVI "
        "(mask.lst_keep_water and mask.indices_keep_water are false): the model has no water "
        "pixel to start from and cannot predict their change; "
        "set mask.lst_keep_water: true and mask.indices_keep_water: true in the run's config "
        "(with Sentinel-2, also a mask.sentinel2_preset that keeps water's NDVI, e.g. "
        "conservative) and run it again to model water"
    )
    assert not (tmp_path / "out").exists()  # refused before the pipeline ran
    lst_only = {"lst_keep_water": True}
    kept = config_from_dict({**BASE, "scenarios": [drained], "mask": lst_only, "outputs": folder})
    with pytest.raises(ConfigError) as err:  # water's NDVI still left out: nothing to start from
        pipeline.unpredictable_targets(kept, "city.yaml")
    assert "leaves out of the NDVI (mask.indices_keep_water is false)" in str(err.value)
    both = {"lst_keep_water": True, "indices_keep_water": True}
    kept = config_from_dict({**BASE, "scenarios": [drained], "mask": both, "outputs": folder})
    pipeline.unpredictable_targets(kept, "city.yaml")  # water's LST and NDVI kept: not refused


def test_a_reclassification_into_a_class_the_fit_barely_holds_is_refused():
    """Of the 50 pixels of the fitting sample, 39 are water (code 1), 11 built (code 4): the
    ponds scenario (into water, 39 < 40) is refused, naming the key, the scenario, the class
    and its count; listed after green_qpv (into dense vegetation, none sampled), it is the
    second one: the first refused is named. A 40th water pixel clears it."""
    from types import SimpleNamespace

    from pipelines.scenarios import ScenarioError
    from pipelines.scenarios.pipeline import MIN_TARGET_PIXELS, thin_targets

    assert MIN_TARGET_PIXELS == 40
    landcover = np.zeros((10, 10), dtype=np.uint8)
    landcover[:4] = 1  # 40 water pixels
    landcover[4:6] = 4  # 20 built
    landcover[6:] = 2  # 40 dense vegetation, none sampled
    rows = np.r_[np.repeat(np.arange(4), 10)[1:], np.repeat([4, 5], 10)[:11]]
    cols = np.r_[np.tile(np.arange(10), 4)[1:], np.tile(np.arange(10), 2)[:11]]
    model = SimpleNamespace(sample=(rows, cols))
    ponds = {
        "name": "ponds",
        "where": {"layer": "qpv"},
        "change": [
            {"ndvi": {"add": 0.1}},
            {"reclassify": {"from": "built", "to": "water", "fraction": 0.3}},
        ],
    }
    config = config_from_dict(
        {**BASE, "scenarios": [GREEN, ponds], "mask": {"lst_keep_water": True}}
    )
    with pytest.raises(ScenarioError) as err:
        thin_targets(config, model, landcover, "city.yaml")
    assert str(err.value).startswith(  # GREEN's dense vegetation: 0 pixels
        "city.yaml: scenarios[0].change[0].reclassify.to: scenario 'green_qpv' turns pixels "
        "into class dense_vegetation, of which the model's fitting sample holds 0 of its 50 "
        "pixels (fewer than 40"
    )
    config = config_from_dict({**BASE, "scenarios": [ponds], "mask": {"lst_keep_water": True}})
    with pytest.raises(ScenarioError) as err:
        thin_targets(config, model, landcover, "city.yaml")
    text = str(err.value)
    assert "\n" not in text and text.startswith(
        "city.yaml: scenarios[0].change[1].reclassify.to: scenario 'ponds' turns pixels into "
        "class water, of which the model's fitting sample holds 39 of its 50 pixels"
    )
    assert text.endswith("reclassify into another class")
    model.sample = (np.r_[rows, 0], np.r_[cols, 0])  # a 40th water pixel
    thin_targets(config, model, landcover, "city.yaml")


def test_a_reclassification_from_a_class_the_fit_barely_holds_says_so():
    """10 × 10 grid: rows 0-3 water (code 1, 40 pixels), the rest built (code 4). The fit's
    sample (a bootstrap) holds 39 distinct water pixels, one of them drawn twice, and 45
    built: 84 distinct pixels. Each reclassify step gains its class's count in the fit (the
    ndvi step none); from water (39 < 40), a note naming the change, the class and its
    count; from built (45), none. A 40th distinct water pixel clears it."""
    from types import SimpleNamespace

    from pipelines.scenarios.pipeline import thin_sources

    landcover = np.full((10, 10), 4, dtype=np.uint8)
    landcover[:4] = 1
    water = np.arange(1, 40)  # flat positions 1-39 (row 0 column 0 left out)
    built = np.arange(40, 85)
    flat = np.r_[water, water[:1], built]
    model = SimpleNamespace(sample=np.unravel_index(flat, landcover.shape))
    drained = {
        "name": "drained",
        "where": {"everywhere": True},
        "change": [
            {"ndvi": {"add": 0.1}},
            {"reclassify": {"from": "water", "to": "built"}},
            {"reclassify": {"from": "built", "to": "dense_vegetation", "fraction": 0.5}},
        ],
    }
    config = config_from_dict({**BASE, "scenarios": [drained], "mask": {"lst_keep_water": True}})
    steps = ("ndvi change on 60 pixels", "reclassify 10 of 10 water pixels to built",
             "reclassify 35 of 70 built pixels to dense_vegetation")  # fmt: skip
    applied = SimpleNamespace(steps=steps, converted=(0, 10, 35))
    label = "scenarios[0] 'drained'"
    said, notes = thin_sources(config.scenarios[0], label, applied, model, landcover)
    assert said == (
        "ndvi change on 60 pixels",
        "reclassify 10 of 10 water pixels to built, the model fitted on 39 water pixels",
        "reclassify 35 of 70 built pixels to dense_vegetation, the model fitted on 45 built pixels",
    )
    (note,) = notes
    assert "\n" not in note and note.startswith(
        "scenarios[0] 'drained': change[1] converts water pixels, of which the model's fitting "
        "sample holds 39 of its 84 pixels (fewer than 40"
    )
    # A step that converted no pixel (no water in its area) extrapolates nothing: no note.
    none = SimpleNamespace(steps=steps, converted=(0, 0, 35))
    said, notes = thin_sources(config.scenarios[0], label, none, model, landcover)
    assert notes == [] and said[1].endswith("the model fitted on 39 water pixels")
    model.sample = np.unravel_index(np.r_[flat, 0], landcover.shape)  # a 40th water pixel
    said, notes = thin_sources(config.scenarios[0], label, applied, model, landcover)
    assert notes == [] and said[1].endswith("the model fitted on 40 water pixels")
