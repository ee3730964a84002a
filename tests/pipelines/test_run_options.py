"""Run-level tests of options that had kernel tests only: each run on the demo's inputs with
the option set, checked against an oracle made here (the tables the test writes, scipy's
labelling, a hand count of pixels), never against the code under test; and the sizes in
metres (land-cover minimum mapping unit, cloud dilation) through the run's steps on analytic
inputs, on two grids."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
import yaml
from scipy import ndimage
from shapely.geometry import box

from pipelines.config import RunConfig, apply_overrides, config_from_dict, load_config
from pipelines.run import run
from pipelines.run_graph import derive_layers
from pipelines.run_plan import plan
from raster.landcover import LandCover
from raster.quality import sentinel2_clear_mask
from tests.centres import assert_count_and_mean, centres_in, most_centres_on_boundary
from tiles.errors import ConfigError

QUICK = {"outputs.report": False, "inequality.outcomes": ["lst_mean_k"]}


def _config(demo_folder, **overrides):
    return apply_overrides(load_config(demo_folder / "config.yaml"), {**QUICK, **overrides})


def _filosofi_by_hand(demo_folder) -> pd.Series:
    """The demo's Filosofi medians by IRIS: decimal commas, INSEE's secret markers as NaN."""
    raw = pd.read_csv(demo_folder / "census" / "filosofi.csv", sep=";", dtype=str)
    values = pd.to_numeric(raw["DISP_MED21"].str.replace(",", "."), errors="coerce")
    assert values.isna().sum() == (raw["DISP_MED21"].isin(["s", "nd"])).sum() > 0
    return pd.Series(values.to_numpy(), index=raw["IRIS"], name="disp_med")


@pytest.fixture(scope="module")
def filosofi_xlsx(demo_folder, tmp_path_factory):
    """The Filosofi table in a workbook whose first sheet is a decoy with another IRIS column.

    The sheet to read is named ``2021``, a number in YAML.
    """
    raw = pd.read_csv(demo_folder / "census" / "filosofi.csv", sep=";", dtype=str)
    decoy = raw.assign(DISP_MED21="1000")
    path = tmp_path_factory.mktemp("census") / "filosofi.xlsx"
    with pd.ExcelWriter(path) as book:
        decoy.to_excel(book, sheet_name="Documentation", index=False)
        raw.to_excel(book, sheet_name="2021", index=False)
    return path


def test_filosofi_sheet_is_read_by_its_name(demo_folder, filosofi_xlsx, tmp_path):
    config = _config(
        demo_folder, **{"census.filosofi": str(filosofi_xlsx), "census.filosofi_sheet": 2021}
    )
    result = run(config, out=tmp_path / "run")
    got = result.zones["iris"].set_index("code_iris")["disp_med"]
    want = _filosofi_by_hand(demo_folder).reindex(got.index)
    assert want.notna().sum() > 50
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)


def test_a_wrong_sheet_stops_the_run_before_any_pixel(demo_folder, filosofi_xlsx, tmp_path):
    config = _config(
        demo_folder, **{"census.filosofi": str(filosofi_xlsx), "census.filosofi_sheet": "IRIS"}
    )
    with pytest.raises(ConfigError) as err:
        run(config, out=tmp_path / "run")
    text = str(err.value)
    assert text.startswith("config: census.filosofi: cannot read the Filosofi") and "\n" not in text
    assert "its sheets: 'Documentation', '2021'" in text
    assert not (tmp_path / "run").exists()  # nothing computed, nothing written


def test_national_census_tables_speak_of_the_run_iris(demo_folder, tmp_path):
    # INSEE publishes Filosofi and the population for all France: the rows of other
    # communes are no "unmatched codes" and their secret values are not counted.
    filo = (demo_folder / "census" / "filosofi.csv").read_text().splitlines()
    pop = (demo_folder / "census" / "population.csv").read_text().splitlines()
    elsewhere = [f"7510{k // 100 + 1}{k % 100:04d}" for k in range(300)] + ["75101XXXX"]
    (tmp_path / "filo.csv").write_text("\n".join(filo + [f"{c};s" for c in elsewhere]) + "\n")
    (tmp_path / "pop.csv").write_text("\n".join(pop + [f"{c};s" for c in elsewhere]) + "\n")
    config = _config(
        demo_folder,
        **{"census.filosofi": str(tmp_path / "filo.csv"),
           "census.population": str(tmp_path / "pop.csv")},
    )  # fmt: skip
    result = run(config, out=tmp_path / "run")
    got = result.zones["iris"].set_index("code_iris")["disp_med"]
    want = _filosofi_by_hand(demo_folder).reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)
    # (by code: the warnings name files, whose temporary paths may hold any digits)
    named = [w for w in result.warnings if "no match" in w or any(c in w for c in elsewhere)]
    assert not named, result.warnings
    secret = [w for w in result.warnings if "secret" in w and "Filosofi" in w]
    assert len(secret) == 1 and "disp_med 2" in secret[0]  # the demo's own two markers


def test_a_sheet_for_a_csv_table_is_refused(demo_folder, tmp_path):
    config = load_config(demo_folder / "config.yaml").model_dump(mode="json")
    config["census"]["population_sheet"] = "IRIS"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"census.population_sheet: population.csv is not a "
                       r"spreadsheet \(.xlsx, .xlsm, .xls\); remove the key"):  # fmt: skip
        load_config(path)


def test_moran_permutations_set_the_p_value_resolution(demo_folder, tmp_path):
    # A permutation p-value is (k + 1) / (B + 1), k the permutations at least as extreme:
    # with B = 19 it is a multiple of 1/20, and at least 1/20.
    config = _config(demo_folder, **{"inequality.moran_permutations": 19})
    run(config, out=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "inequality.json").read_text())
    moran = report["morans_i"]
    assert moran["permutations"] == 19
    k = moran["p_value"] * 20
    assert k == pytest.approx(round(k), abs=1e-9) and 1 <= round(k) <= 20


def _read(folder, name):
    with rasterio.open(folder / "rasters" / f"{name}.tif") as src:
        return src.read(1), src.transform, src.crs, src.tags()


def _small_regions(classes: np.ndarray, min_pixels: int, structure: np.ndarray) -> np.ndarray:
    """Pixels of class regions (scipy labelling) with fewer than ``min_pixels`` pixels."""
    small = np.zeros(classes.shape, dtype=bool)
    for code in np.unique(classes[classes > 0]):
        labels, _ = ndimage.label(classes == code, structure=structure)
        sizes = np.bincount(labels.ravel())
        small |= (labels > 0) & (sizes[labels] < min_pixels)
    return small


def test_landcover_connectivity_decides_which_regions_are_small(demo_folder, tmp_path):
    # Regions under the minimum mapping unit are dissolved: with connectivity 1 the regions
    # of 4-neighbours, with 2 those of 8-neighbours, as scipy labels them here.
    def landcover(name, **options):
        run(_config(demo_folder, **options), out=tmp_path / name)
        return _read(tmp_path / name, "landcover")

    raw, *_ = landcover("raw", **{"landcover.min_mapping_unit_m2": 0})
    # 3600 m²: 4 pixels of the demo's 30 m grid
    edges, *_, edge_tags = landcover("edges", **{"landcover.min_mapping_unit_m2": 3600})
    corners, *_, corner_tags = landcover(
        "corners", **{"landcover.min_mapping_unit_m2": 3600, "landcover.connectivity": 2}
    )
    small4 = _small_regions(raw, 4, ndimage.generate_binary_structure(2, 1))
    small8 = _small_regions(raw, 4, ndimage.generate_binary_structure(2, 2))
    assert not (edges != raw)[~small4].any() and not (corners != raw)[~small8].any()
    only_by_edges = small4 & ~small8  # small as 4-neighbours, joined by a corner
    assert (edges != raw)[only_by_edges].sum() > 10
    assert (edges != raw)[small4].mean() > 0.9 and (corners != raw)[small8].mean() > 0.9
    assert edge_tags["minimum_mapping_unit_connectivity"] == "1"
    assert edge_tags["minimum_mapping_unit_px"] == "4"  # 3600 m² of the demo's 900 m² pixels
    assert edge_tags["minimum_mapping_unit_m2"] == "3600.0"
    assert corner_tags["minimum_mapping_unit_connectivity"] == "2"


def _bare_config(resolution: float, **sections) -> RunConfig:
    """A config needing no files (its inputs are never read), on a grid of ``resolution`` m."""
    data = {"aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]}, "periods": {"years": [2023]},
            "inputs": {"landsat": ["products"]}, "grid": {"resolution": resolution}}  # fmt: skip
    return config_from_dict({**data, **sections})


def _gathered(array30: np.ndarray, resolution: int) -> np.ndarray:
    """A 30 m raster as a grid of ``resolution`` m (dividing 30) samples it: nearest copies."""
    k = 30 // resolution
    return np.repeat(np.repeat(array30, k, axis=0), k, axis=1)


@pytest.mark.parametrize("resolution", [30, 10])
def test_the_minimum_mapping_unit_is_an_area_on_any_grid(resolution):
    """Dense vegetation with built patches of one, two and four 30 m pixels (900, 1800 and
    3600 m²), on a 30 m grid and gathered onto a 10 m one: under the default 3600 m² the two
    smaller patches take the vegetation around them on both grids and the 3600 m² one stays
    (a unit of 4 pixels removed them at 30 m only: 6300 m² of built at 10 m)."""
    dense, built = LandCover.DENSE_VEGETATION, LandCover.BUILT
    field = np.full((9, 9), dense, dtype=np.uint8)
    field[6:8, 5:7] = built  # 3600 m²
    want = field.copy()
    field[4, 4] = built  # 900 m²
    field[1, 1:3] = built  # 1800 m²
    classes = xr.DataArray(_gathered(field, resolution), dims=("y", "x"))
    nowhere = xr.zeros_like(classes, dtype=bool)
    landcover, _, _ = derive_layers(_bare_config(resolution), nowhere, nowhere, classes)
    np.testing.assert_array_equal(landcover.values, _gathered(want, resolution))
    assert (landcover.values == built).sum() * resolution**2 == 3600
    # the unit as applied, in the file's tags: 4 pixels of 900 m², 36 of 100 m²
    assert landcover.attrs["minimum_mapping_unit_px"] == 3600 // resolution**2
    assert landcover.attrs["minimum_mapping_unit_m2"] == 3600.0


@pytest.mark.parametrize("resolution", [30, 10])
def test_cloud_dilation_is_a_distance_on_any_grid(resolution):
    """A cloud (SCL 9) column one 30 m pixel wide down 15 pixels of vegetation, grown by
    mask.dilate_m 60: a disk reaches its radius across a straight edge, so every row loses
    60 m either side of the 30 m cloud, 150 m by 450 m on both grids (2 px reached 70 m on
    the 10 m grid)."""
    scl = np.full((15, 15), 4, dtype=np.uint8)
    scl[:, 7] = 9
    config = _bare_config(resolution, mask={"dilate_m": 60})
    ds = xr.Dataset({"scl": (("y", "x"), _gathered(scl, resolution))})
    radius = config.mask.dilate_pixels(config.grid.resolution)
    clear = sentinel2_clear_mask(ds, preset=config.mask.sentinel2_preset, dilate_px=radius)
    rejected = ~clear.values
    assert (rejected.sum(axis=1) * resolution == 150).all()
    assert rejected.sum() * resolution**2 == 150 * 450


@pytest.mark.parametrize("area", ["zones", "grid"])
def test_scenario_model_fit_area(demo_folder, tmp_path, area):
    # The model is fitted on every usable pixel (finite anomaly, NDVI, albedo, a class):
    # those whose centre lies in an IRIS or QPV for "zones", all of the grid for "grid".
    # One replicate: model.json's cross-validation counts the model's own pixels, which the
    # bootstrap refits of more replicates leave as they are (they only take time).
    from pipelines.scenarios import run_scenarios

    config = _config(
        demo_folder,
        **{"scenario_model.fit_area": area, "scenario_model.sample": 10**6,
           "scenario_model.replicates": 1, "outputs.folder": str(tmp_path / "run")},
    )  # fmt: skip
    run_scenarios(config)
    folder = tmp_path / "run"
    anomaly, transform, crs, _ = _read(folder, "lst_anomaly")
    usable = np.isfinite(anomaly)
    for name in ("ndvi_median", "albedo_median"):
        usable &= np.isfinite(_read(folder, name)[0])
    usable &= _read(folder, "landcover")[0] > 0
    maybe = np.zeros_like(usable)
    if area == "zones":  # centres on the zones' edge (to 1e-6 m) may be in or out, and are few
        zones = [gpd.read_file(demo_folder / "zones" / "iris.gpkg"),
                 gpd.read_file(demo_folder / "zones" / "qpv.geojson")]  # fmt: skip
        union = shapely.union_all([g for z in zones for g in z.to_crs(crs).geometry.make_valid()])
        inside, edge = centres_in(union, anomaly.shape, transform)
        assert edge.sum() <= most_centres_on_boundary(union, transform.a)
        usable, maybe = usable & inside, usable & edge
    model = json.loads((folder / "scenarios" / "model.json").read_text())
    assert_count_and_mean(model["cv"]["n_pixels"], None, anomaly[usable], anomaly[maybe])


def test_an_outcome_with_one_value_everywhere_is_skipped_not_fatal(demo_folder, tmp_path):
    # With every non-green land built (NDBI > -1), no pixel is bare soil: lc_bare_soil_frac
    # is 0 in every IRIS, so its correlation with income is undefined. The run says so and
    # crosses the other outcome.
    config = _config(
        demo_folder,
        **{
            "inequality.outcomes": ["lc_bare_soil_frac", "lst_mean_k"],
            "landcover.rules.built_ndbi": -1.0,
        },
    )
    result = run(config, out=tmp_path / "run")
    assert (result.zones["iris"]["lc_bare_soil_frac"] == 0).all()
    skipped = [w for w in result.warnings if w.startswith("inequality.outcomes: 'lc_bare")]
    assert len(skipped) == 1 and "is constant (0 in every zone with income)" in skipped[0]
    report = json.loads((tmp_path / "run" / "inequality.json").read_text())
    assert report["outcome"] == "lst_mean_k"
    assert (tmp_path / "run" / "manifest.json").is_file()


def test_a_filosofi_table_of_another_area_says_so_and_the_run_ends(demo_folder, tmp_path):
    # The national table of another millésime or region: no IRIS of the run has an income.
    (tmp_path / "filo.csv").write_text("IRIS;DISP_MED21\n751010101;21000\n751010102;s\n")
    config = _config(demo_folder, **{"census.filosofi": str(tmp_path / "filo.csv")})
    result = run(config, out=tmp_path / "run")
    said = [w for w in result.warnings if w.startswith("census: no IRIS of the run has a value")]
    assert len(said) == 1 and "inequality statistics skipped" in said[0], result.warnings
    assert result.inequality is None and not (tmp_path / "run" / "inequality.json").exists()
    assert (tmp_path / "run" / "manifest.json").is_file()


@pytest.mark.parametrize("tile_size", [None, 150], ids=["one-piece", "tiled"])
def test_products_without_reflectance_write_no_empty_ndvi_or_land_cover(
    demo_folder, tmp_path, tile_size
):
    """Landsat ST-only downloads (no SR_B4/SR_B5) and no Sentinel-2: no NDVI and no land
    cover, said once; the run writes no empty COGs for them (it once wrote an all-NaN NDVI
    and a land cover of zeros without a nodata value, a class-0 map in QGIS)."""
    import shutil

    for product in sorted(demo_folder.glob("products/LC0*")):
        shutil.copytree(product, tmp_path / "st_only" / product.name,
                        ignore=shutil.ignore_patterns("*_SR_B*"))  # fmt: skip
    config = _config(
        demo_folder,
        **{"inputs.landsat": [str(tmp_path / "st_only")], "inputs.sentinel2": [],
           "scenarios": []},
    )  # fmt: skip
    summary = plan(config).summary()  # --dry-run says so before any pixel
    assert "indices from: none: the Landsat products lack red and near-infrared" in summary
    # An earlier run in the same folder (outputs.overwrite) left its NDVI, and the user keeps
    # a file of their own there.
    rasters = tmp_path / "run" / "rasters"
    rasters.mkdir(parents=True)
    profile = dict(driver="GTiff", width=2, height=2, count=1, dtype="uint8", crs="EPSG:32631",
                   transform=rasterio.transform.from_origin(0, 2, 1, 1))  # fmt: skip
    for name, tags in (("ndvi_median", {"ilots_version": "0.1"}), ("my_own", {"by": "me"})):
        with rasterio.open(rasters / f"{name}.tif", "w", **profile) as dst:
            dst.write(np.zeros((1, 2, 2), np.uint8))
            dst.update_tags(**tags)
        (rasters / f"{name}.qml").write_text("<qgis/>")
    result = run(config, out=tmp_path / "run", tile_size_px=tile_size)
    assert (rasters / "my_own.tif").exists() and (rasters / "my_own.qml").exists()
    assert not (rasters / "ndvi_median.qml").exists()
    (rasters / "my_own.tif").unlink()
    written = {p.name for p in (tmp_path / "run" / "rasters").glob("*.tif")}
    assert written == {"lst_median.tif", "lst_p90.tif", "lst_anomaly.tif", "lst_anomaly_p90.tif",
                       "n_clear.tif"}  # fmt: skip
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    outputs = {Path(entry["path"]).name for entry in manifest["outputs"]}
    assert "ndvi_median.tif" not in outputs and "landcover.tif" not in outputs
    iris = gpd.read_parquet(tmp_path / "run" / "zones" / "iris.parquet")
    assert iris["ndvi_mean"].isna().all() and iris["lst_mean_k"].notna().all()
    said = [w for w in result.warnings if "lack red and near-infrared reflectance" in w]
    assert len(said) == 1


def _overlap(edges: np.ndarray, low: float, high: float) -> np.ndarray:
    """Length of [low, high] inside each interval [edges[i], edges[i + 1]] (either order)."""
    lo, hi = np.minimum(edges[:-1], edges[1:]), np.maximum(edges[:-1], edges[1:])
    return np.clip(np.minimum(hi, high) - np.maximum(lo, low), 0, None)


def test_an_extra_zone_layer_gets_exact_statistics(demo_folder, demo_run, tmp_path):
    # Two rectangles off the pixel edges, in the grid's CRS: each pixel's covered share is
    # the product of its row and column overlaps, so the exact mean is known analytically.
    with rasterio.open(demo_run[0] / "rasters" / "lst_median.tif") as src:
        transform, crs = src.transform, src.crs
    x0, y0 = transform.c, transform.f
    boxes = {"p1": (x0 + 6_013.0, y0 - 8_177.0, x0 + 7_251.0, y0 - 7_093.0),
             "p2": (x0 + 8_104.0, y0 - 9_950.0, x0 + 8_896.5, y0 - 9_001.0)}  # fmt: skip
    parks = gpd.GeoDataFrame(
        {"park_id": list(boxes)}, geometry=[box(*b) for b in boxes.values()], crs=crs
    )
    parks.to_file(tmp_path / "parks.gpkg", layer="parks")
    layer = {"name": "parks", "path": str(tmp_path / "parks.gpkg"), "id": "park_id"}
    result = run(_config(demo_folder, **{"zones.extra": [layer]}), out=tmp_path / "run")
    lst, transform, *_ = _read(tmp_path / "run", "lst_median")
    xs = transform.c + transform.a * np.arange(lst.shape[1] + 1)
    ys = transform.f + transform.e * np.arange(lst.shape[0] + 1)
    table = gpd.read_file(tmp_path / "run" / "zones.gpkg", layer="parks").set_index("park_id")
    for park, (west, south, east, north) in boxes.items():
        weight = np.outer(_overlap(ys, south, north), _overlap(xs, west, east))
        clear = np.isfinite(lst) & (weight > 0)
        want = (weight[clear] * lst[clear]).sum() / weight[clear].sum()
        assert clear.sum() > 500 and table.loc[park, "lst_mean_k"] == pytest.approx(want, abs=1e-4)
        assert table.loc[park, "area_m2"] == pytest.approx((east - west) * (north - south))
    assert table.crs == result.zones["iris"].crs  # written in the IRIS layer's CRS
    assert gpd.read_parquet(tmp_path / "run" / "zones" / "parks.parquet").crs == table.crs


def test_a_misspelt_extra_layer_names_its_key_and_the_file_layers(demo_folder, tmp_path):
    gpd.GeoDataFrame({"park_id": ["p1"]}, geometry=[box(0, 0, 1, 1)], crs=2154).to_file(
        tmp_path / "parks.gpkg", layer="parks"
    )
    layer = {"name": "parks", "path": str(tmp_path / "parks.gpkg"), "id": "park_id",
             "layer": "parcs"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"zones.extra\[parks\].layer: parks.gpkg has no layer "
                       r"'parcs'; its layers: parks$"):  # fmt: skip
        run(_config(demo_folder, **{"zones.extra": [layer]}), out=tmp_path / "run")


def test_an_area_cutting_communes_warns_of_no_census_row_outside_it(demo_folder, tmp_path):
    """A box over the west of the demo city: the Filosofi rows of the IRIS east of it (same
    communes) are outside the area, not unmatched codes; the IRIS inside get their medians."""
    config = _config(demo_folder, aoi={"bbox": [1.29, 43.60, 1.32, 43.65]})
    result = run(config, out=tmp_path / "run")
    iris = result.zones["iris"]
    assert 10 < len(iris) < 64
    assert not [w for w in result.warnings if "codes have no match" in w], result.warnings
    want = _filosofi_by_hand(demo_folder).reindex(iris["code_iris"]).to_numpy()
    np.testing.assert_array_equal(iris["disp_med"].to_numpy(), want)


def test_an_anomaly_range_styles_the_cogs_and_the_zone_layer(demo_folder, tmp_path):
    """outputs.anomaly_range_k 1.4 K: the anomaly COGs' ramps and the IRIS classes span
    ±1.4 K (the demo's anomalies reach beyond it), the LST's ramp is its own."""
    import sqlite3
    import xml.etree.ElementTree as ET

    config = _config(demo_folder, **{"outputs.anomaly_range_k": 1.4})
    run(config, out=tmp_path / "run")
    rasters = tmp_path / "run" / "rasters"
    for name in ("lst_anomaly", "lst_anomaly_p90"):
        qml = (rasters / f"{name}.qml").read_text(encoding="utf-8")
        renderer = ET.fromstring(qml.split("\n", 1)[1]).find("pipe/rasterrenderer")
        assert renderer.get("classificationMin") == "-1.4", name
        assert renderer.get("classificationMax") == "1.4", name
    lst = (rasters / "lst_median.qml").read_text(encoding="utf-8")
    assert 'classificationMax="1.4"' not in lst
    with sqlite3.connect(tmp_path / "run" / "zones.gpkg") as db:
        (style,) = db.execute(
            "SELECT styleQML FROM layer_styles WHERE f_table_name = 'iris'"
        ).fetchone()
    filters = [r.get("filter") for r in ET.fromstring(style.split("\n", 1)[1]).iter("rule")]
    # by hand: breaks -1.4 + 0.4 i, i = 1 .. 6
    assert filters[0] == '"lst_anomaly_mean_k" <= -1'
    assert filters[3] == '"lst_anomaly_mean_k" > -0.2 AND "lst_anomaly_mean_k" <= 0.2'
    assert filters[6] == '"lst_anomaly_mean_k" > 1'
    iris = gpd.read_file(tmp_path / "run" / "zones.gpkg", layer="iris")
    assert iris["lst_anomaly_mean_k"].abs().max() > 1.4
