"""Reading, checking and writing config files; the shipped examples."""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings

import pytest
import yaml

from pipelines.census import read_filosofi
from pipelines.config import (
    EXAMPLE_CONFIGS,
    ConfigError,
    apply_overrides,
    check_paths,
    config_digest,
    config_paths,
    dump_config,
    example_config,
    load_config,
)
from pipelines.config.load import config_yaml
from tiles.errors import CensusError, IlotsWarning

from .conftest import MINIMAL

FULL = """
name: round trip
aoi:
  zones: iris
  communes: ['31555', '2A004']
periods:
  ranges:
    - {start: 2023-05-15, end: 2023-09-15}
inputs:
  landsat:
    - products/*.tar
    - catalog: {href: stac/catalog.json, collections: [landsat-c2-l2]}
    - stac_api:
        url: https://earth-search.aws.element84.com/v1
        collections: [landsat-c2-l2]
        query: {platform: {in: [landsat-8]}}
  sentinel2: [s2]
  max_cloud_cover: 50
grid: {crs: EPSG:32631, resolution: 10}
mask: {landsat_preset: strict, sentinel2_preset: conservative, st_qa_max_k: null}
composite: {statistics: [median, p90, mean], min_clear: 2, anomaly_method: zscore}
heat_island: {dem: dem/dem.tif, ring_outer_km: 8}
landcover:
  external: {path: /data/oso.tif, mapping: {11: built, 12: built, 31: dense_vegetation}}
zones:
  iris: {path: zones/iris.gpkg}
  qpv: {path: zones/qpv.geojson, iris_share_threshold: 0.3}
  extra: [{name: parks, path: ../shared/parks.gpkg, id: park_id}]
census: {filosofi: census/filosofi.csv, population: census/population.csv}
outputs: {folder: out, rasters: [lst_median, lst_anomaly, landcover, ndvi_median, albedo_median]}
scheduler: tcp://10.0.0.5:8786
scenarios:
  - name: green_schoolyards
    where: {layer: parks, ids: [a, b]}
    change: [{reclassify: {from: built, to: low_vegetation, fraction: 0.5}}]
  - name: cool_roofs
    where: {file: zones/industry.gpkg}
    change: [{albedo: {add: 0.15, on: built}}, {ndvi: {add: 0.1, cap: 0.8}}]
scenario_model: {block_m: 500, force: true}
"""


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_shipped_examples_load(name):
    path = example_config(name)
    assert path.is_file()
    config = load_config(path, check_paths=False)
    assert config.inputs.landsat
    for _key, value in config_paths(config):
        assert value.is_absolute()
        assert str(value).startswith(str(path.parent))


def test_example_specifics():
    demo = load_config(example_config("demo"), check_paths=False)
    folder = example_config("demo").parent
    assert demo.zones.iris.path == folder / "zones" / "iris.gpkg"
    assert demo.zones.qpv.path == folder / "zones" / "qpv.geojson"
    assert demo.census.filosofi == folder / "census" / "filosofi.csv"
    assert demo.census.population == folder / "census" / "population.csv"
    assert demo.inputs.landsat[0].path == folder / "products"
    stac = load_config(example_config("toulouse_stac"), check_paths=False)
    assert stac.inputs.landsat[0].stac_api is not None
    assert stac.inputs.sentinel2[0].stac_api.collections == ("sentinel-2-l2a",)
    toulouse = load_config(example_config("toulouse"), check_paths=False)
    assert toulouse.aoi.communes == ("31555",)
    with pytest.raises(ConfigError, match="no example config"):
        example_config("paris")


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_shipped_examples_keep_their_pixels_in_metres(name):
    """The examples give sizes in metres (no deprecation warning), and on their 30 m grids
    the same pixels as the former defaults: a minimum mapping unit of 4 px, no dilation."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)
        config = load_config(example_config(name), check_paths=False)
    assert config.grid.resolution == 30
    assert config.landcover.min_mapping_unit_pixels(config.grid.resolution) == 4
    assert config.mask.dilate_pixels(config.grid.resolution) == 0


def test_real_city_example_reports_missing_downloads():
    with pytest.raises(ConfigError, match=r"toulouse.yaml: inputs.landsat\[0\].path: file not "
                       r"found: .*also missing: .*zones.iris.path"):  # fmt: skip
        load_config(example_config("toulouse"))


def test_relative_paths_resolve_against_the_config_folder(tmp_path, write_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_config(FULL, folder=tmp_path / "project" / "cfg")
    config = load_config(path, check_paths=False)
    base = tmp_path / "project" / "cfg"
    assert config.zones.iris.path == base / "zones" / "iris.gpkg"
    assert config.zones.extra[0].path == tmp_path / "project" / "shared" / "parks.gpkg"
    assert config.inputs.landsat[0].path == base / "products" / "*.tar"
    assert config.inputs.landsat[1].catalog.href == str(base / "stac" / "catalog.json")
    assert config.inputs.landsat[2].stac_api.url == "https://earth-search.aws.element84.com/v1"
    assert config.heat_island.dem == base / "dem" / "dem.tif"
    assert config.outputs.folder == base / "out"
    assert config.landcover.external.mapping == {11: "built", 12: "built", 31: "dense_vegetation"}
    assert config.scheduler.kind == "distributed"


def test_round_trip_is_identical(tmp_path, write_config):
    path = write_config(FULL, folder=tmp_path / "a")
    first = load_config(path, check_paths=False)
    written = dump_config(first, tmp_path / "a" / "copy.yaml")
    second = load_config(written, check_paths=False)
    assert second == first
    assert config_digest(second) == config_digest(first)
    # written again elsewhere, paths outside the new folder are absolute: still identical
    third = load_config(dump_config(second, tmp_path / "b" / "config.yaml"), check_paths=False)
    assert third == first
    assert dump_config(third, tmp_path / "c.yaml").read_text() == (tmp_path / "c.yaml").read_text()


def test_dump_writes_every_default_and_relative_paths(tmp_path, write_config):
    path = write_config(FULL, folder=tmp_path / "run")
    config = load_config(path, check_paths=False)
    written = dump_config(config, tmp_path / "run" / "config.yaml")
    text = written.read_text()
    data = yaml.safe_load(text)
    assert text.startswith("# ilots run configuration")
    mask = os.umask(0o022)
    os.umask(mask)
    assert written.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() makes files, not 0600
    assert data["zones"]["iris"]["path"] == "zones/iris.gpkg"
    assert data["zones"]["extra"][0]["path"] == str(tmp_path / "shared" / "parks.gpkg")
    assert data["inputs"]["landsat"][0] == {"path": "products/*.tar"}
    assert data["landcover"]["external"]["path"] == "/data/oso.tif"
    assert data["grid"] == {"crs": "EPSG:32631", "resolution": 10.0, "resampling": "auto"}
    assert data["mask"]["st_qa_max_k"] is None and data["mask"]["cdist_min_km"] == 1.0
    assert data["scenarios"][0]["name"] == "green_schoolyards"
    assert data["scenarios"][0]["change"][0]["reclassify"]["from"] == "built"
    assert data["scenarios"][1]["where"] == {"file": "zones/industry.gpkg"}
    assert data["scenarios"][1]["change"][0]["albedo"] == {"add": 0.15, "on": ["built"]}
    assert data["scenario_model"]["block_m"] == 500 and data["scenario_model"]["force"] is True
    assert "aoi:\n  zones: iris\n  communes: ['31555', 2A004]" in text


def test_dumped_run_folder_can_move(tmp_path, write_config):
    """The demo writes config.yaml beside its inputs; the folder stays runnable when moved."""
    run = tmp_path / "run"
    (run / "products").mkdir(parents=True)
    (run / "zones").mkdir()
    (run / "zones" / "iris.gpkg").write_bytes(b"")
    path = write_config(MINIMAL + "zones: {iris: {path: zones/iris.gpkg}}\n", folder=run)
    dump_config(load_config(path), run / "config.yaml")
    moved = shutil.move(run, tmp_path / "elsewhere")
    config = load_config(tmp_path / "elsewhere" / "config.yaml")
    assert config.zones.iris.path == tmp_path / "elsewhere" / "zones" / "iris.gpkg"
    assert moved


def test_run_folder_config_reaches_the_demo_folders_inputs_relatively(tmp_path, write_config):
    """A run folder inside a demo or project folder (one holding config.yaml) writes the
    inputs beside it as ../ paths, so that the whole folder can be copied; without that
    config.yaml around it, a sibling folder's input stays absolute (the run folder can move
    alone)."""
    demo = tmp_path / "demo"
    text = MINIMAL + "zones: {iris: {path: zones/iris.gpkg}}\noutputs: {folder: outputs}\n"
    config = load_config(write_config(text, folder=demo), check_paths=False)
    data = yaml.safe_load(config_yaml(config, demo / "outputs" / "config.yaml"))
    assert data["zones"]["iris"]["path"] == "../zones/iris.gpkg"
    assert data["inputs"]["landsat"] == [{"path": "../products"}]
    assert data["outputs"]["folder"] == "."
    # Beside a folder without config.yaml: absolute, as before.
    (demo / "config.yaml").rename(demo / "other.yaml")
    data = yaml.safe_load(config_yaml(config, demo / "outputs" / "config.yaml"))
    assert data["zones"]["iris"]["path"] == str(demo / "zones" / "iris.gpkg")
    assert data["inputs"]["landsat"] == [{"path": str(demo / "products")}]
    assert data["outputs"]["folder"] == "."
    # Two levels up is never relative: only the folder around the config's own.
    (demo / "other.yaml").rename(demo / "config.yaml")
    data = yaml.safe_load(config_yaml(config, demo / "outputs" / "deeper" / "config.yaml"))
    assert data["zones"]["iris"]["path"] == str(demo / "zones" / "iris.gpkg")
    assert data["outputs"]["folder"] == str(demo / "outputs")


def test_a_run_folder_moved_without_its_inputs_says_where_the_run_was(tmp_path, write_config):
    """The run folder's config reaches the demo folder's inputs by ../ paths: copied alone,
    they lead nowhere, and the error says where the run was made (its manifest.json)."""
    demo = tmp_path / "demo"
    for folder in ("products", "zones"):
        (demo / folder).mkdir(parents=True)
    (demo / "zones" / "iris.gpkg").write_bytes(b"")
    text = MINIMAL + "zones: {iris: {path: zones/iris.gpkg}}\noutputs: {folder: outputs}\n"
    config = load_config(write_config(text, folder=demo))
    dump_config(config, demo / "outputs" / "config.yaml")
    manifest = {"config": config.model_dump(mode="json")}
    (demo / "outputs" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert load_config(demo / "outputs" / "config.yaml") == config  # in place: no error
    alone = shutil.copytree(demo / "outputs", tmp_path / "copied")
    with pytest.raises(ConfigError) as err:
        load_config(alone / "config.yaml")
    assert str(err.value).startswith(f"{alone / 'config.yaml'}: inputs.landsat[0].path: file ")
    assert str(err.value).endswith(
        f"; this config is that of a run made in {demo / 'outputs'} (its manifest.json), and "
        f"its relative paths lead out of the run folder: move or copy {demo} whole, or edit "
        "the paths"
    )
    (alone / "manifest.json").unlink()  # no manifest: the plain message
    with pytest.raises(ConfigError, match=r"also missing: zones.iris.path$"):
        load_config(alone / "config.yaml")


def test_missing_input_file_names_the_key(tmp_path, write_config):
    (tmp_path / "products").mkdir()
    path = write_config(MINIMAL + "zones:\n  iris: {path: zones/iris.gpkg}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: zones.iris.path: file not found: {tmp_path / 'zones' / 'iris.gpkg'}"
    )
    config = load_config(path, check_paths=False)
    with pytest.raises(ConfigError, match=r"^cfg: zones.iris.path"):
        check_paths(config, source="cfg")
    # INSEE ships base-ic-evol-struct-pop-2021.CSV: a name that differs in case is named.
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "IRIS.GPKG").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"file not found: .*iris.gpkg \(there is IRIS.GPKG "
                       r"beside it: the case differs\)$"):  # fmt: skip
        load_config(path)


def test_glob_matching_nothing(tmp_path, write_config):
    path = write_config(MINIMAL.replace("[products]", "['products/*.tar']"))
    with pytest.raises(ConfigError, match=r"inputs.landsat\[0\].path: nothing matches"):
        load_config(path)


def test_yaml_problems(tmp_path, write_config):
    with pytest.raises(ConfigError, match=r"nope.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"empty.yaml: the config is empty"):
        load_config(write_config("# nothing\n", "empty.yaml"))
    with pytest.raises(ConfigError, match=r"list.yaml: the config must be a mapping"):
        load_config(write_config("- a\n- b\n", "list.yaml"))
    with pytest.raises(ConfigError, match=r"bad.yaml: line 3, column \d+: expected "):
        load_config(write_config("aoi:\n  bbox: [1, 2\nperiods: {}\n", "bad.yaml"))
    twice = write_config(MINIMAL + "grid: {resolution: 10}\ngrid: {resolution: 30}\n", "dup.yaml")
    with pytest.raises(ConfigError, match=r"dup.yaml: line 6.*key 'grid' is given twice \(first "
                       r"on line 5\)"):  # fmt: skip
        load_config(twice, check_paths=False)
    windows = write_config(MINIMAL + 'census:\n  filosofi: "C:\\Users\\me\\filo.csv"\n', "w.yaml")
    with pytest.raises(ConfigError, match=r"w.yaml: line 6, .*escape.*single quotes"):
        load_config(windows, check_paths=False)
    # Escapes YAML knows (\t, \n) give a path with a tab and a newline: refused, on one line.
    tabbed = 'census:\n  filosofi: "C:\\temp\\new.csv"\n'
    catalog = 'inputs: {landsat: [{catalog: {href: "C:\\tmp\\new.json"}}]}\n'
    for name, text, key in [("t.yaml", MINIMAL + tabbed, r"census\.filosofi"),
                            ("c.yaml", MINIMAL.replace("inputs: {landsat: [products]}\n", "")
                             + catalog, r"inputs.*href")]:  # fmt: skip
        with pytest.raises(ConfigError) as err:
            load_config(write_config(text, name), check_paths=False)
        message = str(err.value)
        assert "\n" not in message and "\t" not in message
        assert re.search(rf"{name}: .*{key}.*control characters.*single quotes", message)


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        # A key one space too deep, then one too shallow: the parser's "expected <block
        # end>, but found '<block mapping start>'".
        ("periods:\n  years: [2023]\n   months: [6]\n", 3, "the indentation is off: indent "
         "with spaces, at the depth of the keys (or '- ' items) beside it"),
        ("periods:\n  years: [2023]\n months: [6]\n", 3, "the indentation is off"),
        ("inputs:\n  landsat:\n    - a\n  - b\n", 4, "the indentation is off"),
        # "found character '\\t' that cannot start any token"
        ("aoi:\n\tzones: iris\n", 2, "a tab: indent with spaces (YAML takes no tabs)"),
        # "mapping values are not allowed here"
        ("aoi:\n  zones: iris\n    communes: ['31555']\n", 3, "a key indented under a value"),
        ("name: Toulouse: summer\n", 1, "or quote the value"),
    ],
)  # fmt: skip
def test_yaml_indentation_errors_say_what_to_change(write_config, text, line, hint):
    path = write_config(text, "i.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(path, check_paths=False)
    message = str(err.value)
    assert message.startswith(f"{path}: line {line}, column "), message
    assert hint in message, message
    assert "\n" not in message and "\t" not in message


def test_a_catalogue_file_url_is_a_decoded_local_path(tmp_path, write_config):
    """catalog.href as a file URL (RFC 8089: %20 a space, %C3%A9 an é; host empty or
    localhost) is the path on this machine; a file URL of another machine is refused."""
    without = MINIMAL.replace("inputs: {landsat: [products]}\n", "")
    folder = tmp_path / "Mes données"
    for url in (f"{folder.as_uri()}/catalog.json",
                f"file://localhost{folder.as_uri()[len('file://'):]}/catalog.json"):  # fmt: skip
        text = without + f"inputs: {{landsat: [{{catalog: {{href: '{url}'}}}}]}}\n"
        config = load_config(write_config(text), check_paths=False)
        assert config.inputs.landsat[0].catalog.href == f"{tmp_path}/Mes données/catalog.json"
    text = without + "inputs: {landsat: [{catalog: {href: 'file://server/share/c.json'}}]}\n"
    path = write_config(text, "c.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(path, check_paths=False)
    assert str(err.value) == (
        f"{path}: inputs.landsat[0].catalog.href: is a file URL of another machine ('server'); "
        "give a local path or an http(s) URL (line 4)"
    )


def test_a_census_table_given_as_a_folder_is_named(tmp_path, write_config):
    (tmp_path / "census").mkdir()
    (tmp_path / "products").mkdir()
    (tmp_path / "iris.gpkg").write_bytes(b"")
    text = f"zones:\n  iris: {{path: iris.gpkg}}\ncensus:\n  filosofi: {tmp_path / 'census'}\n"
    with pytest.raises(ConfigError, match=r"census\.filosofi: .*census is a folder; give the"):
        load_config(write_config(MINIMAL + text), check_paths=True)
    with pytest.raises(CensusError, match=r"Filosofi table .*census is a folder"):
        read_filosofi(tmp_path / "census")


def test_bad_value_in_a_file_names_file_key_and_line(write_config):
    path = write_config(MINIMAL + "grid:\n  resolution: -30\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, check_paths=False)
    assert str(err.value) == f"{path}: grid.resolution: must be > 0 (got -30) (line 6)"


def test_overrides(tmp_path, write_config):
    config = load_config(write_config(MINIMAL), check_paths=False)
    changed = apply_overrides(
        config,
        {"outputs.folder": tmp_path / "elsewhere", "scheduler": "tcp://h:8786",
         "scheduler.workers": None, "grid.resolution": 10},
    )  # fmt: skip
    assert changed.outputs.folder == tmp_path / "elsewhere"
    assert changed.scheduler.address == "tcp://h:8786" and changed.scheduler.workers is None
    assert changed.grid.resolution == 10
    assert changed.inputs == config.inputs
    with pytest.raises(ConfigError, match=r"^command line: grid.resolutoin: unknown key"):
        apply_overrides(config, {"grid.resolutoin": 10})
    with pytest.raises(ConfigError, match=r"^command line: grid.resolution: must be > 0"):
        apply_overrides(config, {"grid.resolution": 0})


def test_digest_without_keys_ignores_only_them(tmp_path, write_config):
    config = load_config(write_config(FULL, folder=tmp_path), check_paths=False)
    without = ("outputs", "scheduler.address")
    base = config_digest(config, without=without)
    assert base != config_digest(config)
    changed = {"outputs.report_language": "en", "scheduler.address": "tcp://10.0.0.6:8786"}
    assert config_digest(apply_overrides(config, changed), without=without) == base
    assert (
        config_digest(apply_overrides(config, {"scheduler.chunk_px": 512}), without=without) != base
    )
    assert config_digest(config, without=("no_such_section.key",)) == config_digest(config)


def test_a_fractional_land_cover_map_code_is_refused(tmp_path, write_config):
    """YAML reads ``10.5:`` as a float, which int() would take for code 10."""
    text = (
        MINIMAL
        + "landcover:\n  external:\n    path: lc.tif\n    mapping: {10.5: built, 20: water}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(write_config(text), check_paths=False)
    assert str(err.value) == (
        f"{tmp_path / 'config.yaml'}: landcover.external.mapping: map code 10.5 is not an "
        "integer; list the map's integer class codes (line 8)"
    )
    whole = load_config(write_config(text.replace("10.5: built", "10: built")), check_paths=False)
    assert whole.landcover.external.mapping == {10: "built", 20: "water"}
