"""``scheduler.tile_size_px: auto``: one piece when the run fits in memory, else tiles; and
what else ``--dry-run`` says (the hosts of remote files)."""

from __future__ import annotations

import json
import math
import re
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml

import pipelines.run_plan as run_plan
import pipelines.run_tiles as run_tiles
from pipelines.config import apply_overrides, config_from_dict, load_config
from pipelines.run import run
from pipelines.run_plan import expected_memory, plan, tile_size
from tests.conftest import NO_HOST, unreachable_item
from tiles.errors import ConfigError, IlotsWarning, ReadError

GRID = (6000, 5000)  # rows, columns: a 60 x 50 km city and ring at 10 m
NPIX = GRID[0] * GRID[1]


@pytest.fixture
def config(demo_folder):
    return apply_overrides(load_config(demo_folder / "config.yaml"), {"grid.resolution": 10})


def _memory(config, edge):
    """The expected memory of the run in tiles of ``edge`` (one tile: the whole grid)."""
    tile_px = min(edge, GRID[0]) * min(edge, GRID[1])
    return expected_memory(config, tile_px, NPIX, 20, 15)


def test_auto_is_one_piece_when_the_run_fits(config):
    assert config.scheduler.tile_size_px == "auto"  # the default
    assert tile_size(config, GRID, 20, 15, budget=_memory(config, 6144)) == 6144  # one tile


def test_auto_takes_the_largest_chunk_multiple_that_fits(config):
    """Candidates are the multiples of chunk_px (2048) from the whole grid down: 6144 (one
    tile), 4096, 2048; the first whose expected memory is within the budget is taken."""
    assert config.scheduler.chunk_px == 2048
    assert tile_size(config, GRID, 20, 15, budget=_memory(config, 6144) - 1) == 4096
    assert tile_size(config, GRID, 20, 15, budget=_memory(config, 4096)) == 4096
    assert tile_size(config, GRID, 20, 15, budget=_memory(config, 4096) - 1) == 2048
    assert tile_size(config, GRID, 20, 15, budget=1) == 2048  # never below a chunk
    # Without a budget (a cluster, or a system that does not say): the fixed 4096.
    assert tile_size(config, GRID, 20, 15, budget=None) == run_plan.FIXED_TILE_PX == 4096
    fixed = apply_overrides(config, {"scheduler.tile_size_px": 2048})
    assert tile_size(fixed, GRID, 20, 15, budget=1e15) == 2048  # a set size is kept


def test_auto_weighs_the_tile_a_narrow_remainder_widens(config):
    """8300 pixels a side in tiles of 4096: the 108 left join the second tile, of 4204
    pixels a side (8300 - 4096); in tiles of 2048 they join the fourth, of 2156."""
    grid, npix = (8300, 8300), 8300 * 8300

    def memory(edge):
        return expected_memory(config, edge * edge, npix, 20, 15)

    assert tile_size(config, grid, 20, 15, budget=memory(4204)) == 4096
    assert tile_size(config, grid, 20, 15, budget=memory(4204) - 1) == 2048


def test_tile_size_is_auto_or_a_chunk_multiple():
    base = {"aoi": {"bbox": [1.3, 43.5, 1.5, 43.7]}, "periods": {"years": [2023]},
            "inputs": {"landsat": ["products"]}}  # fmt: skip
    for bad in (256, 3072, "big"):
        with pytest.raises(ConfigError, match=r"scheduler\.tile_size_px: must be"):
            config_from_dict({**base, "scheduler": {"tile_size_px": bad}}, source="c.yaml")
    assert config_from_dict({**base, "scheduler": {"tile_size_px": 4096}}).scheduler.tile_size_px


def test_the_plan_and_the_run_take_half_the_machine_memory(config, monkeypatch, tmp_path):
    """``--dry-run`` says the budget; a run whose machine is too small for one piece is cut
    into the tiles the plan says (their edge recorded as the run cuts them)."""
    summary = plan(config).summary()
    assert "processing tiles: 1 (the whole grid in one piece)" in summary
    assert "tile_size_px auto: the largest tiles whose run fits in" in summary
    config = apply_overrides(config, {"scheduler.chunk_px": 512, "outputs.report": False})
    shape = (config_grid := plan(config).grid)["height"], config_grid["width"]
    npix = shape[0] * shape[1]
    budget = expected_memory(config, 1024 * 1024, npix, 4, 3)  # the demo's 4 + 3 scenes
    monkeypatch.setattr(run_plan, "physical_memory", lambda: 2 * budget)
    small = plan(config)
    assert shape == (1640, 1640) and small.memory_budget == budget
    assert [t.shape for t in small.tiles[:2]] == [(1024, 1024), (1024, 616)]
    sizes = []
    tiles_of = run_tiles.tiles_of
    monkeypatch.setattr(run_tiles, "tiles_of", lambda g, s: sizes.append(s) or tiles_of(g, s))
    run(config, out=tmp_path / "r")
    assert sizes == [1024]


def test_on_a_cluster_elsewhere_auto_is_the_fixed_tile(config, demo_folder):
    """``--dry-run --scheduler tcp://...`` plans for the cluster: no budget, the fixed tile
    (a ``LocalCluster`` of ``--workers`` shares this machine: its budget holds)."""
    from click.testing import CliRunner
    from distributed import Client, LocalCluster

    from pipelines.cli import main

    args = ["run", str(demo_folder / "config.yaml"), "--dry-run"]
    local = CliRunner().invoke(main, args)
    assert local.exit_code == 0 and "tile_size_px auto" in local.output
    remote = CliRunner().invoke(main, [*args, "--scheduler", "tcp://10.0.0.5:8786"])
    assert remote.exit_code == 0, remote.output
    assert "tile_size_px auto" not in remote.output
    cluster = apply_overrides(config, {"scheduler": "tcp://10.0.0.5:8786"})
    assert plan(cluster).memory_budget is None
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as lc, Client(lc):
        assert not run_tiles.on_cluster(config)
        assert plan(config).memory_budget is not None


def test_the_run_plans_for_the_scheduler_it_runs_on(config, monkeypatch):
    """A config naming a cluster that ``--scheduler threads`` replaced: the run, with no
    client, plans with this machine's memory; the plan of the config, for the cluster."""
    from types import SimpleNamespace

    named = apply_overrides(config, {"scheduler": "tcp://10.0.0.5:8786"})
    scene = SimpleNamespace(assets={"red": None, "nir08": None})  # Landsat NDVI, no S2
    inputs = SimpleNamespace(landsat=[scene] * 20, sentinel2=[])
    fits_2048 = expected_memory(named, 2048 * 2048, NPIX, 20, 0)
    monkeypatch.setattr(run_plan, "physical_memory", lambda: 2 * fits_2048)
    assert run_plan.run_tile_size(named, GRID, inputs) == 2048  # not the cluster's 4096
    assert plan(named).memory_budget is None


def test_the_plan_says_when_even_one_chunk_does_not_fit(config, monkeypatch):
    monkeypatch.setattr(run_plan, "physical_memory", lambda: 2e6)  # 1 MB budget
    summary = plan(config).summary()
    assert "even tiles of one chunk expect more than 0.0 GB" in summary


STACTOOLS = "stac_items/stactools-landsat/LC08_L2SP_047027_20201204_20210313_02_T1"


def test_the_plan_names_the_hosts_of_remote_files_and_the_run_the_one_it_cannot_read(
    real_data, tmp_path, quick_http
):
    """USGS's SR and ST item JSONs of a product (Washington, December 2020), their files on
    a host this machine cannot reach: ``--dry-run`` says the scene's files are remote, on
    which host, and that the run needs network access; the run stops with one line naming
    the item JSON and the asset key (as the JSON names it), the host and the fix."""
    items = tmp_path / "items"
    jsons = [unreachable_item(real_data / f"{STACTOOLS}_{half}_stac.json", items)
             for half in ("SR", "ST")]  # fmt: skip
    x0, y0 = 500_025.0, 5_260_005.0  # UTM 10N, inside the scene
    boxes = [shapely.box(x0 + i * 600, y0, x0 + (i + 1) * 600, y0 + 600) for i in range(2)]
    gpd.GeoDataFrame(
        {"code_iris": ["999990001", "999990002"], "nom_iris": ["a", "b"]},
        geometry=boxes, crs="EPSG:32610",
    ).to_file(tmp_path / "iris.gpkg")  # fmt: skip
    config = {
        "aoi": {"zones": "iris"}, "periods": {"years": [2020], "months": [12]},
        "inputs": {"landsat": [str(jsons[1])]},
        "mask": {"st_qa_max_k": None, "cdist_min_km": None, "radsat": False},
        "composite": {"min_clear": 1}, "heat_island": {"ring_inner_km": 1, "ring_outer_km": 2},
        "zones": {"iris": {"path": "iris.gpkg"}}, "outputs": {"folder": "out"},
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    config = load_config(tmp_path / "config.yaml")
    with warnings.catch_warnings():  # the items give no scale/offset of some bands
        warnings.simplefilter("ignore", IlotsWarning)
        summary = plan(config).summary()
    product = "LC08_L2SP_047027_20201204_20210313_02_T1"
    assert (
        f"remote files: 1 scene reads its files over the network, from {NO_HOST} ({product}); "
        "the run needs network access to this host (or download the product and put each "
        "item JSON beside its files, which ilots then reads on disk)"
    ) in summary.splitlines()
    with warnings.catch_warnings(), pytest.raises(ReadError) as err:
        warnings.simplefilter("ignore", IlotsWarning)
        run(config)
    halves = "|".join(re.escape(str(path)) for path in jsons)
    assert re.fullmatch(
        rf"({halves}): asset '[A-Z0-9_]+\.TIF' \(\w+ of {product}\) cannot be read from "
        rf"{re.escape(NO_HOST)} \(.*resolve host: {re.escape(NO_HOST)}\): reading it needs "
        rf"network access to {re.escape(NO_HOST)}; or download the product and put the item "
        "JSON beside its files, which ilots then reads on disk",
        str(err.value),
    ), str(err.value)


def _landsat_bounds(demo_folder) -> tuple[float, float, float, float]:
    """The lon/lat bounds of the demo's Landsat footprints (its products' metadata)."""
    from raster.sources import open_product

    footprints = [
        shapely.geometry.shape(open_product(path).geometry)
        for path in sorted((demo_folder / "products").glob("LC0*"))
    ]
    return shapely.union_all(footprints).bounds


@pytest.mark.parametrize("damage", ["no SCL.tif", "no assets in the item JSON"])
def test_the_dry_run_says_which_sentinel2_products_lack_bands_the_ndvi_needs(
    demo_folder, tmp_path, damage
):
    """A product without its SCL (a partial download), or whose item JSON lists no asset:
    the run warned that it left it out of the NDVI, the dry run said nothing. Both say it
    now, in the same words and of the same kind."""
    import json

    from pipelines.run_graph import scene_graph

    folder = tmp_path / "s2"
    folder.mkdir()
    products = sorted((demo_folder / "products").glob("S2*_L2A"))
    for source in products:
        (folder / source.name).mkdir()
        for file in source.iterdir():
            (folder / source.name / file.name).symlink_to(file)
    first = folder / products[0].name
    if damage == "no SCL.tif":
        (first / "SCL.tif").unlink()
        missing = "scl"
    else:
        item_json = first / f"{first.name}.json"
        item = json.loads(item_json.read_text())
        item["assets"] = {}
        item_json.unlink()  # a link to the demo's: written anew
        item_json.write_text(json.dumps(item))
        missing = "nir, red, scl"
    said = (
        "1 Sentinel-2 product(s) lack bands the NDVI needs (nir, red, scl) and were left out "
        f"of the NDVI and land cover: {first.name} (no {missing})"
    )
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"), {"inputs.sentinel2": [str(folder)]}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan(config)
    dry = [w.message for w in caught if str(w.message) == said]
    assert len(dry) == 1 and dry[0].code == "skipped_input", [str(w.message) for w in caught]
    notes = scene_graph(config).notes
    assert [n.code for n in notes if n == said] == ["skipped_input"]


def test_an_area_the_scenes_barely_cover_stops_the_dry_run_and_the_run(
    config, demo_folder, tmp_path
):
    # A box 40 times as wide as the scenes (the whole of a national IRIS file, in effect):
    # the dry run and the run stop before planning a grid for it, with the share (2.5 %).
    west, south, east, north = _landsat_bounds(demo_folder)
    wide = apply_overrides(
        config, {"aoi": {"bbox": [west, south, west + 40 * (east - west), north]}}
    )
    message = r"^config: aoi: the Landsat products cover 2\.\d % of the area of interest \(bbox"
    with pytest.raises(ConfigError, match=message):
        plan(wide)
    with pytest.raises(ConfigError, match=message):
        run(wide, out=tmp_path / "run")
    # Three times as wide: a warning (a third of it covered), and the plan goes on.
    third = apply_overrides(
        config, {"aoi": {"bbox": [west, south, west + 3 * (east - west), north]}}
    )
    with pytest.warns(IlotsWarning, match=r"cover 3\d\.\d % of the area of interest"):
        assert plan(third).grid["width"] > 0


@pytest.mark.parametrize("step", ["dry run", "run"])
def test_a_national_extent_is_refused_without_reading_a_feature(
    demo_folder, tmp_path, monkeypatch, step
):
    """aoi.zones: iris without aoi.communes, with an IRIS file spanning 700 km (the demo's
    IRIS and two far away, as a national file would): the dry run and the run are refused
    from the file's extent, before any feature is read, where reading, repairing and uniting
    a national file's 48,000 IRIS took minutes."""
    import pyogrio

    from pipelines.run_graph import scene_graph

    demo = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    far = gpd.GeoDataFrame(
        {"CODE_IRIS": ["290190101", "670820101"], "INSEE_COM": ["29019", "67082"]},
        geometry=[shapely.box(300_000, 6_700_000, 300_100, 6_700_100),
                  shapely.box(999_900, 6_899_900, 1_000_000, 6_900_000)],
        crs="EPSG:2154",
    )  # fmt: skip
    path = tmp_path / "iris_france.gpkg"
    gpd.pd.concat([demo, far.to_crs(demo.crs)], ignore_index=True).to_file(path)
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"zones.iris.path": str(path), "outputs.folder": str(tmp_path / "out")},
    )

    def whole(read):
        def reader(*args, bbox=None, fids=None, where=None, **kwargs):
            if bbox is None and fids is None and where is None:
                raise AssertionError(f"every feature of {args[0]} read")
            return read(*args, bbox=bbox, fids=fids, where=where, **kwargs)

        return reader

    monkeypatch.setattr(gpd, "read_file", whole(gpd.read_file))
    monkeypatch.setattr(pyogrio, "read_dataframe", whole(pyogrio.read_dataframe))
    said = (
        r"^config: aoi: the Landsat products cover 0\.\d+ % of the area of interest \(the "
        r"extent of the 66 features of iris_france\.gpkg in zones\.iris, all of them as "
        r"aoi\.zones has no aoi\.communes\), which spans \d+ x \d+ km, under the 5\.0 % a run "
        r"needs; .*: set aoi\.communes or aoi\.bbox to the area your scenes cover"
    )
    with pytest.raises(ConfigError, match=said):
        plan(config) if step == "dry run" else scene_graph(config)


def _off_pixels(caught) -> list:
    return [w.message for w in caught if str(w.message).startswith("grid.resolution: ")]


def _planned_off_pixels(demo_folder, overrides) -> list:
    """Plan the demo's config with ``overrides``; return its grid.resolution warnings."""
    config = apply_overrides(load_config(demo_folder / "config.yaml"), overrides)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan(config)
    return _off_pixels(caught)


@pytest.mark.parametrize(("resolution", "warned"), [(25, True), (20, False), (60, False)])
def test_the_dry_run_says_a_grid_off_both_sensors_pixels(demo_folder, resolution, warned):
    """25 m: edges at k·25 m fall on neither Landsat's (15 m + k·30 m) nor Sentinel-2's
    (k·10 m); 20 m keeps Sentinel-2's, 60 m Landsat's. Before, 25 m was accepted silently."""
    said = _planned_off_pixels(demo_folder, {"grid.resolution": resolution})
    assert [w.code for w in said] == (["grid_off_sensor_pixels"] if warned else [])
    if warned:
        assert str(said[0]).startswith(
            "grid.resolution: 25 m puts the pixel edges on neither Landsat's pixels"
        )
        assert str(said[0]).endswith("use 30 m (Landsat) or 10 or 20 m (Sentinel-2) unless "
                                     "this size is what you need")  # fmt: skip


@pytest.mark.parametrize(("resolution", "warned"), [(10, True), (20, True), (15, False)])
def test_the_dry_run_says_a_sentinel2_grid_without_sentinel2(demo_folder, resolution, warned):
    """Without Sentinel-2, 10 and 20 m cut every (Landsat) band's pixels: edges at k·10 m
    miss Landsat's 15 m + k·30 m; 15 m keeps them. Before, only a size on neither sensor's
    edges was warned, whichever the run read."""
    said = _planned_off_pixels(demo_folder, {"grid.resolution": resolution, "inputs.sentinel2": []})
    assert [w.code for w in said] == (["grid_off_sensor_pixels"] if warned else [])
    if warned:
        assert str(said[0]).startswith(
            f"grid.resolution: {resolution} m puts the pixel edges on Sentinel-2's pixels, but "
            "the run reads no Sentinel-2 (inputs.sentinel2 is empty)"
        )
        assert "use 30 or 15 m, or add Sentinel-2 products" in str(said[0])


def test_the_run_says_a_grid_off_both_sensors_pixels_once_in_its_manifest(demo_folder, tmp_path):
    """45 m (neither a multiple of 30 m nor of 10 m): one warning of its kind in the manifest."""
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"grid.resolution": 45, "outputs.report": False, "scenarios": []},
    )
    run(config, out=tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    kinds = [
        code
        for text, code in zip(manifest["warnings"], manifest["warning_codes"], strict=True)
        if text.startswith("grid.resolution: 45 m puts the pixel edges on neither")
    ]
    assert kinds == ["grid_off_sensor_pixels"]


def _map(path, bounds, crs, res, bands=1):
    """A constant WorldCover-coded map (built, 50) of ``bands`` bands over ``bounds``."""
    from rasterio.transform import from_origin

    west, south, east, north = bounds
    shape = (math.ceil((north - south) / res), math.ceil((east - west) / res))
    with rasterio.open(path, "w", driver="GTiff", height=shape[0], width=shape[1], count=bands,
                       dtype="uint8", crs=crs, transform=from_origin(west, north, res, res),
                       nodata=0) as dst:  # fmt: skip
        dst.write(np.full((bands, *shape), 50, np.uint8))
    return path


def test_the_dry_run_opens_the_external_map_and_refuses_what_the_run_would(config, tmp_path):
    """The map's header only: a map covering the grid is named in the plan (band, mapping,
    CRS, share); one missing the grid (the next tile east, another CRS), a band the file
    lacks, a header that cannot be read stop the plan with the run's one-line errors.
    Before, the dry run never opened it: all four planned with rc 0."""
    grid = plan(config).grid
    west, south, east, north = grid["bounds"]
    wide = (west - 1000, south - 1000, east + 1000, north + 1000)
    good = _map(tmp_path / "wc.tif", wide, grid["crs"], 30.0)
    mapped = {"landcover.external": {"path": str(good), "mapping": "worldcover"}}
    lines = plan(apply_overrides(config, mapped)).summary().splitlines()
    assert f"land cover from: {good} (band 1, 'worldcover' mapping; {grid['crs']}, covers " \
        "100% of the grid)" in lines  # fmt: skip
    assert "NDVI and albedo from: Sentinel-2" in lines
    far = _map(tmp_path / "far.tif", (2.7, 43.5, 2.95, 43.72), "EPSG:4326", 0.0005)
    two = _map(tmp_path / "two.tif", wide, grid["crs"], 30.0, bands=2)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[:200])
    for path, band, error, said in (
        (far, 1, ConfigError, r"^landcover\.external\.path: .*far\.tif does not cover the run's "
         r"grid .* in EPSG:4326"),
        (two, 3, ConfigError, r"^landcover\.external\.path: .*two\.tif has 2 band\(s\), not "
         r"band 3; give a band from 1 to 2$"),
        (cut, 1, ReadError, r"^landcover\.external\.path: cannot open .*cut\.tif as a raster"),
    ):  # fmt: skip
        external = {"path": str(path), "band": band, "mapping": "worldcover"}
        with pytest.raises(error, match=said):
            plan(apply_overrides(config, {"landcover.external": external}))


def test_the_dry_run_names_the_dem_and_refuses_one_off_the_grid(config, tmp_path):
    grid = plan(config).grid
    west, south, east, north = grid["bounds"]
    dem = _map(tmp_path / "dem.tif", (west, south, east, north), grid["crs"], 30.0)
    lines = plan(apply_overrides(config, {"heat_island.dem": str(dem)})).summary()
    assert f"DEM: {dem} (elevations; {grid['crs']}, covers 100% of the grid)" in lines
    far = _map(tmp_path / "far.tif", (2.7, 43.5, 2.95, 43.72), "EPSG:4326", 0.0005)
    with pytest.raises(ConfigError, match=r"^heat_island\.dem: .*far\.tif does not cover"):
        plan(apply_overrides(config, {"heat_island.dem": str(far)}))
