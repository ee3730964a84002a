"""The demo writes real-format synthetic products and recovers the effects planted in them."""

import datetime as dt
import json
import re
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import rasterio
import yaml
from scipy import sparse

from pipelines.config import apply_overrides, config_paths, example_config, load_config
from pipelines.demo import S2_PRODUCTS, SCENES
from pipelines.demo_census import planted_effects
from pipelines.demo_city import ALBEDO_LST_SLOPE_K, CLASSES, SUBURB_RADIUS_M, make_city
from pipelines.run import run
from pipelines.run_graph import scene_graph
from raster.sources import open_product
from tests.centres import assert_count_and_mean, centres_in, most_centres_on_boundary
from tests.conftest import raise_if_dask_computes

#: How far the run's SUHII may be from the planted one (K): the 30 m pixels mixing water edges
#: into the ring, the scene textures and the cloud gaps.
SUHII_TOLERANCE_K = 0.25


@pytest.fixture(scope="module")
def demo(demo_cli):
    """The folder of ``ilots demo --out`` (the session's run, through the CLI) and its output."""
    return demo_cli.root, demo_cli.output


@pytest.fixture(scope="module")
def planted():
    # With the demo config's rural ring (heat_island.ring_inner_km / ring_outer_km).
    ring = yaml.safe_load(Path(example_config("demo")).read_text())["heat_island"]
    return planted_effects(make_city(), ring["ring_inner_km"], ring["ring_outer_km"])


def _overlaps(edges: np.ndarray, n: int) -> sparse.csr_matrix:
    """Length (in cells) of each interval between consecutive ``edges`` inside each of ``n``
    cells, as an ``(len(edges) - 1, n)`` matrix."""
    k = np.arange(n)
    lo, hi = edges[:-1, None], edges[1:, None]
    return sparse.csr_matrix(np.clip(np.minimum(hi, k + 1) - np.maximum(lo, k), 0.0, None))


def _footprint_means(city, fields, shape, transform):
    """Each field of the generator's 10 m cells averaged over the footprint of each pixel of a
    grid, every cell weighted by the area it shares with the pixel (NaN where the pixel is not
    wholly inside the model)."""
    res = city.resolution
    rows = (city.origin[1] - (transform.f + transform.e * np.arange(shape[0] + 1))) / res
    cols = (transform.c + transform.a * np.arange(shape[1] + 1) - city.origin[0]) / res
    wy, wx = _overlaps(rows, city.landcover.shape[0]), _overlaps(cols, city.landcover.shape[1])
    area = np.outer(wy.sum(axis=1), wx.sum(axis=1))
    full = np.isclose(area, abs(transform.a * transform.e) / res**2)
    return [np.where(full, (wy @ (wx @ np.asarray(f, float).T).T) / area, np.nan) for f in fields]


def _pure_classes(city, shape, transform):
    """The generator's class of each pixel of a grid whose footprint covers cells of that one
    class only (0 elsewhere)."""
    shares = _footprint_means(city, [city.landcover == c for c in CLASSES], shape, transform)
    pure = np.zeros(shape, dtype=np.uint8)
    for code, share in zip(CLASSES, shares, strict=True):
        pure[share >= 1 - 1e-9] = code
    return pure


def test_demo_products_are_real_formats(demo):
    out, _ = demo
    products = sorted(p for p in (out / "products").iterdir() if p.is_dir())
    types = sorted(open_product(p).properties["ilots:product_type"] for p in products)
    assert types == ["landsat-c2-l2"] * 4 + ["sentinel-2-l2a"] * 3
    landsat = [p for p in products if p.name.startswith("LC0")]
    assert {p.name[:4] for p in landsat} == {"LC08", "LC09"}
    assert len({p.name.split("_")[3] for p in landsat}) == 4  # four dates
    for folder in landsat:
        for suffix in ("_MTL.txt", "_MTL.json", "_QA_PIXEL.TIF", "_ST_QA.TIF", "_ST_B10.TIF"):
            assert (folder / f"{folder.name}{suffix}").is_file(), (folder.name, suffix)
        assert "Synthetic" in (folder / f"{folder.name}_MTL.txt").read_text()
    offsets = {}
    for folder in (p for p in products if p.name.startswith("S2")):
        item = json.loads((folder / f"{folder.name}.json").read_text())
        assert {"green", "red", "nir", "nir08", "swir16", "scl"} <= set(item["assets"])
        baseline = item["properties"]["s2:processing_baseline"]
        offsets[baseline] = item["assets"]["red"]["raster:bands"][0]["offset"]
    assert offsets == {"02.14": 0, "05.09": -0.1, "05.10": -0.1}


def test_demo_recovers_planted_heat_island(demo):
    out, report = demo
    offsets = {code: row[-1] for code, row in CLASSES.items()}
    tifs = sorted((out / "scenes").glob("lst_*.tif"))
    assert len(tifs) == len(SCENES)
    for tif in tifs:
        with rasterio.open(tif) as src:
            lst, transform = src.read(1), src.transform
        classes = _pure_classes(make_city(), lst.shape, transform)
        base = np.nanmean(lst[classes == 3])  # rural low vegetation
        for code in (2, 4, 5):  # dense vegetation, dense built, suburban built
            recovered = np.nanmean(lst[classes == code]) - base
            assert abs(recovered - offsets[code]) < 1.0, (tif.name, code, recovered)
        assert not np.isfinite(lst[classes == 1]).any(), "water must be masked"
    assert "synthetic" in report.lower()


def test_demo_cloudy_scene_masks_clouds(demo):
    out, _ = demo
    with rasterio.open(out / "scenes" / "lst_landsat-9_2023-07-20.tif") as src:
        lst = src.read(1)
    # The 20 July Landsat 9 scene has 15 % cloud planted; clouds and shadows must be nodata,
    # and no cold cloud top (25 K below the rural level) may leak into the LST; the coolest
    # land (woods, -3 K, with the scene texture) stays well above them.
    scene = next(s for s in SCENES if s.date == "2023-07-20")
    assert scene.cloud_fraction == 0.15
    assert 0.1 < np.isnan(lst).mean() < 0.5
    assert np.nanmin(lst) > scene.rural_lst_k - 20.0


def test_demo_ndvi_of_parks_and_dense_centre(demo):
    out, _ = demo
    classes = make_city().landcover
    tifs = sorted((out / "scenes").glob("ndvi_sentinel-2_*.tif"))
    assert len(tifs) == len(S2_PRODUCTS)
    for tif in tifs:  # baseline 02.14 (no offset) and 05.09/05.10 (the -1000 offset)
        with rasterio.open(tif) as src:
            ndvi = src.read(1)
        # Planted reflectances (CLASSES): dense vegetation red 0.03 / NIR 0.40, dense built
        # 0.14 / 0.18, so NDVI about 0.86 and 0.12.
        assert abs(np.nanmean(ndvi[classes == 2]) - (0.40 - 0.03) / (0.40 + 0.03)) < 0.03
        assert abs(np.nanmean(ndvi[classes == 4]) - (0.18 - 0.14) / (0.18 + 0.14)) < 0.03


def test_demo_runs_the_whole_pipeline(demo):
    out, report = demo
    # The demo lays out zones and census tables, copies its config, and runs it into outputs/.
    for path in ("zones/iris.gpkg", "zones/qpv.geojson", "census/filosofi.csv", "config.yaml"):
        assert (out / path).is_file(), path
    run_folder = out / "outputs"
    for path in ("manifest.json", "zones.gpkg", "inequality.json", "rasters/lst_anomaly.tif"):
        assert (run_folder / path).is_file(), path
    assert "IRIS LST anomaly" in report
    # IRIS come in Lambert-93, as IGN publishes them; the run reprojects them onto its UTM
    # grid (vectors, never pixels), where they are the generator's 550 m squares again.
    assert gpd.read_file(out / "zones" / "iris.gpkg").crs.to_epsg() == 2154
    iris = gpd.read_parquet(run_folder / "zones" / "iris.parquet")
    np.testing.assert_allclose(iris["area_m2"], 550.0**2, rtol=1e-9)
    # The run folder holds what `ilots run` writes, no more: the per-product COGs are beside it.
    assert not list(run_folder.glob("*.tif")) and len(list((out / "scenes").glob("*.tif"))) == 7
    listed = json.loads((run_folder / "manifest.json").read_text())["outputs"]
    assert not any("scenes" in Path(entry["path"]).parts for entry in listed)
    # Green, nir and swir16 are there: land cover uses MNDWI and NDBI, no fallback.
    warnings = json.loads((run_folder / "manifest.json").read_text())["warnings"]
    assert not any("lack bands" in w for w in warnings), warnings
    assert "lack bands" not in report
    # The demo's warnings are those its inputs plant (a repaired QPV, secret Filosofi
    # cells, a QPV under half of each of its IRIS), not a library's about its own workings.
    assert len(warnings) == 3 and warnings[0].startswith("QPV layer: 1 invalid zone"), warnings
    assert warnings[1].startswith("Filosofi table "), warnings
    assert (
        warnings[2].startswith("zones.qpv.iris_share_threshold: 1 QPV is left out of the QPV gap")
        and "QP031903 (Quartier synthétique C, its IRIS at most 48% in QPV)" in warnings[2]
    )


def test_demo_outputs_say_they_are_synthetic(demo):
    # Issue #5: the generator is documented as synthetic wherever its outputs appear, the
    # zone layers and the JSON files included, not only the rasters and the report.
    out, _ = demo
    run_folder = out / "outputs"
    for name in ("manifest.json", "heat_island.json", "inequality.json"):
        data = json.loads((run_folder / name).read_text())
        marked = data["extra"]["synthetic"] if name == "manifest.json" else data["synthetic"]
        assert marked is True, name
    with sqlite3.connect(run_folder / "zones.gpkg") as db:
        rows = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
    for layer in ("iris", "qpv"):
        assert rows[layer].startswith("SYNTHETIC DATA (ilots demo, not a real place)."), rows
    assert "synthetic median income" in rows["iris"] and "INSEE census" not in rows["iris"]
    assert "INSEE Filosofi 20" not in rows["iris"]  # no table year claimed for made-up data
    for layer in ("iris", "qpv"):  # and the GeoParquet tables, beside a valid `geo` key
        path = run_folder / "zones" / f"{layer}.parquet"
        assert json.loads(pq.read_schema(path).metadata[b"ilots"])["synthetic"] is True, layer
        assert gpd.read_parquet(path).crs.to_epsg() == 2154, layer  # the IRIS layer's CRS
    # And every CSV of the run and its scenarios: a last column `synthetic`, True on each row,
    # which a reader with its defaults (pandas here) takes as one more column.
    csvs = {path.relative_to(run_folder).as_posix() for path in run_folder.rglob("*.csv")}
    for name in ("comparison.csv", "green_qpv/iris.csv", "green_qpv/qpv.csv",
                 "green_qpv/inequality.csv"):  # fmt: skip
        assert f"scenarios/{name}" in csvs, csvs
    assert "inequality.csv" in csvs, csvs
    for name in sorted(csvs):
        table = pd.read_csv(run_folder / name)
        assert len(table) > 0 and table.columns[-1] == "synthetic", name
        assert table["synthetic"].dtype == bool and table["synthetic"].all(), name


def test_demo_qpv_layer_names_its_commune(demo):
    """The demo's QPV file carries the commune name (ANCT's lib_com), as its IRIS layer does."""
    out, _ = demo
    iris = gpd.read_file(out / "zones" / "iris.gpkg")
    names = dict(zip(iris["INSEE_COM"], iris["NOM_COM"], strict=True))
    qpv = gpd.read_parquet(out / "outputs" / "zones" / "qpv.parquet")
    assert len(qpv) == 3 and qpv["nom_com"].notna().all()
    assert qpv["nom_com"].tolist() == [names[code] for code in qpv["insee_com"]]


def test_a_copied_demo_folder_runs_from_its_own_configs(demo, tmp_path):
    """The demo's config and its run folder's name the inputs relative to themselves: a copy
    of the demo folder reads the copy's inputs and writes into the copy's run folder."""
    out, _ = demo
    copy = Path(shutil.copytree(out, tmp_path / "copy", ignore=shutil.ignore_patterns("*.tif")))
    for config_file in (copy / "config.yaml", copy / "outputs" / "config.yaml"):
        text = config_file.read_text()
        assert str(out) not in text, config_file
        config = load_config(config_file)  # checks that every input is there
        paths = [path for _key, path in config_paths(config)]
        assert {"products", "zones", "census"} <= {p.relative_to(copy).parts[0] for p in paths}
        assert config.outputs.folder == copy / "outputs", config_file


def test_a_moved_demo_folder_manifest_names_its_own_inputs(demo, tmp_path):
    """``mv ilots-demo elsewhere``: the run's manifest names every input (all in the demo
    folder) relative to the demo folder, the run folder's parent (``inputs_base``), so that
    each is there in the moved folder, with the size recorded."""
    out, _ = demo
    skip = shutil.ignore_patterns("rasters", "scenarios", "figures")  # outputs: not needed
    copy = shutil.copytree(out, tmp_path / "ilots-demo", ignore=skip)
    moved = Path(shutil.move(copy, tmp_path / "elsewhere"))
    manifest = json.loads((moved / "outputs" / "manifest.json").read_text())
    assert manifest["inputs_base"] == ".."
    records = manifest["inputs"]
    assert {Path(r["path"]).parts[0] for r in records} == {"products", "zones", "census"}
    for record in records:
        path = moved / record["path"]  # the demo folder's: "outputs/.." by hand
        assert record["kind"] == "file" and path.stat().st_size == record["size"], path


def test_demo_says_synthetic_on_every_line(demo):
    _, report = demo
    lines = [line for line in report.splitlines() if line.strip()]
    assert lines
    assert all(line.startswith("[synthetic] ") for line in lines), lines


def test_demo_ends_with_the_report_to_open(demo):
    """The report's path was in the middle of the output, its last lines about scenarios."""
    out, report = demo
    last = report.splitlines()[-1]
    html = out / "outputs" / "report.html"
    assert last == (
        f"[synthetic] open the report in a web browser (the run and its scenarios): {html}"
    )
    assert html.is_file()


def test_demo_recovers_planted_qpv_gap(demo, planted):
    out, _ = demo
    written = json.loads((out / "planted_effects.json").read_text())
    assert written["synthetic"] is True
    assert written["qpv_gap_k"] == pytest.approx(planted["qpv_gap_k"])
    assert written["roof_albedo_lst_slope_k"] == ALBEDO_LST_SLOPE_K < 0  # brighter is cooler
    assert planted["n_iris_in_qpv"] >= 3
    assert planted["qpv_gap_k"] > 0.5  # QPV planted denser, hotter on average
    gap = json.loads((out / "outputs" / "inequality.json").read_text())["group_difference"]
    assert abs(gap["value"] - planted["qpv_gap_k"]) < 0.5, (gap["value"], planted)


def test_demo_recovers_planted_suhii(demo, planted):
    out, _ = demo
    # The IRIS tile the urban footprint with equal areas, and the anomaly is relative to the
    # rural-ring reference: the mean of the IRIS anomalies is an urban-minus-rural contrast.
    iris = gpd.read_file(out / "outputs" / "zones.gpkg", layer="iris")
    recovered = float(iris["lst_anomaly_mean_k"].mean())
    assert 2.0 < planted["suhii_k"] < 5.0
    assert recovered > 0
    # Equal-area IRIS tile the urban footprint: their mean is the footprint's mean ΔT.
    heat = json.loads((out / "outputs" / "heat_island.json").read_text())
    assert recovered == pytest.approx(heat["composite"]["urban_mean_k"], abs=0.1)
    # The planted SUHII uses the run's reference (ring without water and built, the
    # generator's classes, which the run's land cover recovers): the 30 m pixels, the scene
    # textures and the cloud gaps leave a small difference.
    assert abs(planted["suhii_k"] - recovered) < SUHII_TOLERANCE_K, (recovered, planted)


def test_demo_reports_suhii_per_scene_and_composite(demo, planted):
    out, _ = demo
    heat = json.loads((out / "outputs" / "heat_island.json").read_text())
    assert len(heat["scenes"]) == len(SCENES)
    assert {s["product_id"][:4] for s in heat["scenes"]} == {"LC08", "LC09"}
    for record in heat["scenes"]:  # UTC, said so: ISO 8601 without a zone is local time
        assert dt.datetime.fromisoformat(record["time"]).utcoffset() == dt.timedelta(0)
    # Oracle at the run's resolution: the generator's planted offset averaged over each 30 m
    # pixel (the 10 m cells weighted by the area they share with it: the grid's pixels are
    # the products' own), urban footprint minus rural reference pixels.
    city = make_city()
    graph = scene_graph(load_config(out / "config.yaml"))
    urban, ref = graph.urban.values.astype(bool), graph.reference_mask.values.astype(bool)
    offset, wet = _footprint_means(
        city, [city.lst_offset(), city.landcover == 1], urban.shape, graph.geobox.transform
    )
    # Water (the products' QA bit 7: most of the pixel's area) has no urban LST.
    water = wet > 0.5
    expected = offset[urban & ~water].mean() - offset[ref].mean()
    assert abs(heat["composite"]["suhii_k"] - expected) < 0.25, (heat["composite"], expected)
    for record in heat["scenes"]:  # cloud gaps and each scene's texture: looser
        assert abs(record["suhii_k"] - expected) < 0.5, (record, expected)
    # The generator's 10 m value, on the same definition (its own classes), agrees: the 30 m
    # pixels mix water edges into the ring, no more.
    assert abs(planted["suhii_k"] - expected) < SUHII_TOLERANCE_K, (planted["suhii_k"], expected)
    # The composite's urban mean, recomputed independently: the mean of the LST composite
    # over the pixels whose centre lies in the IRIS union (the footprint's definition); those
    # whose centre is on its boundary (to 1e-6 m) may be in or out, and are few.
    with rasterio.open(out / "outputs" / "rasters" / "lst_median.tif") as src:
        lst, transform, crs = src.read(1), src.transform, src.crs
    union = gpd.read_file(out / "zones" / "iris.gpkg").to_crs(crs).union_all()
    inside, edge = centres_in(union, lst.shape, transform)
    assert edge.sum() <= most_centres_on_boundary(union, transform.a)
    clear = np.isfinite(lst)
    composite = heat["composite_lst"]
    assert_count_and_mean(composite["urban_pixels"], composite["urban_mean_k"],
                          lst[inside & clear], lst[edge & clear])  # fmt: skip
    assert composite["suhii_k"] == pytest.approx(
        composite["urban_mean_k"] - composite["rural_mean_k"]
    )


def _pure_city_classes(city, shape, transform):
    """The generator's class of each run pixel whose footprint covers 10 m cells of that one
    class only (0 elsewhere), and the pixel centres in metres from the city origin."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    east = transform.c + cols * transform.a - city.origin[0]
    north = city.origin[1] - (transform.f + rows * transform.e)
    return _pure_classes(city, shape, transform), east, north


def test_demo_run_landcover_matches_the_generator(demo):
    """Pure pixels of the generator's river, woods and dense centre get the run's water,
    dense vegetation and built classes (water although every index is masked there)."""
    out, _ = demo
    with rasterio.open(out / "outputs" / "rasters" / "landcover.tif") as src:
        classes, transform = src.read(1), src.transform
        assert "or 1 (water) where the SCL water class" in src.tags()["rule"]  # says so
    truth, _, _ = _pure_city_classes(make_city(), classes.shape, transform)
    for generator, run_class in ((1, 1), (2, 2), (4, 4)):
        share = (classes[truth == generator] == run_class).mean()
        assert share > 0.95, (generator, share)


#: Generator class (:data:`pipelines.demo_city.CLASSES`) -> the run's land-cover class
#: (:class:`raster.landcover.LandCover`): both built classes are built.
GENERATOR_TO_RUN_CLASS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 6: 5}


def test_demo_run_landcover_recovers_every_generator_class(demo):
    """Pure pixels of each generator class get the run class of the same name (suburban roofs
    built, dry grass low vegetation, tilled fields bare soil): the rules' thresholds and the
    planted reflectances agree, so lc_<class>_frac, the cool roofs and the rural reference
    mean what the generator planted."""
    out, _ = demo
    with rasterio.open(out / "outputs" / "rasters" / "landcover.tif") as src:
        classes, transform = src.read(1), src.transform
    truth, _, _ = _pure_city_classes(make_city(), classes.shape, transform)
    for generator, run_class in GENERATOR_TO_RUN_CLASS.items():
        pixels = truth == generator
        assert pixels.sum() > 1000, generator  # whole fields, blocks, woods: many pure pixels
        share = (classes[pixels] == run_class).mean()
        assert share >= 0.9, (CLASSES[generator][0], share)


def test_demo_prints_planted_and_recovered_suhii(demo, planted):
    """The console sets the run's SUHII beside the planted one, and they agree."""
    _, report = demo
    planted_line = re.search(r"planted by the generator: .*SUHII ([-+]\d+\.\d+) K", report)
    recovered_line = re.search(r"recovered by the run: .*SUHII ([-+]\d+\.\d+) K", report)
    assert planted_line and recovered_line, report
    assert float(planted_line[1]) == pytest.approx(planted["suhii_k"], abs=0.005)
    assert abs(float(recovered_line[1]) - planted["suhii_k"]) < SUHII_TOLERANCE_K


def test_demo_run_ndvi_parks_vs_dense_and_qpv_less_green(demo, planted):
    out, _ = demo
    with rasterio.open(out / "outputs" / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    city = make_city()
    classes, east, north = _pure_city_classes(city, ndvi.shape, transform)
    cx, cy = city.centre
    urban = np.hypot(east + city.origin[0] - cx, city.origin[1] - north - cy) < SUBURB_RADIUS_M
    parks = np.nanmean(ndvi[(classes == 2) & urban])
    dense = np.nanmean(ndvi[classes == 4])
    assert parks == pytest.approx(planted["ndvi_dense_vegetation"], abs=0.05)
    assert dense == pytest.approx(planted["ndvi_dense_built"], abs=0.05)
    assert parks - dense > 0.5
    # QPV IRIS are less green on average, but not uniformly (a park crosses one).
    iris = gpd.read_file(out / "outputs" / "zones.gpkg", layer="iris")
    qpv, rest = iris.loc[iris["in_qpv"], "ndvi_mean"], iris.loc[~iris["in_qpv"], "ndvi_mean"]
    assert qpv.mean() < rest.mean()
    assert qpv.max() > rest.median()


def test_ndvi_and_land_cover_from_landsat_reflectance(demo, planted, tmp_path):
    """``composite.indices_from: landsat`` (also ``auto`` without Sentinel-2): the demo's
    Landsat products carry SR_B4 and SR_B5, so the NDVI comes from them (30 m scenes) and
    recovers the planted values; the graph reads no pixel until the run computes it."""
    out, _ = demo
    config = apply_overrides(
        load_config(out / "config.yaml"),
        {"composite.indices_from": "landsat", "scenarios": [], "outputs.report": False},
    )
    with raise_if_dask_computes():
        graph = scene_graph(config)
    assert set(graph.idx) == {"ndvi", "negative_reflectance"}  # NDVI only: no green, no SWIR
    assert any("Landsat products lack bands for mndwi, ndbi" in n for n in graph.notes)
    result = run(config, out=tmp_path / "run")
    with rasterio.open(tmp_path / "run" / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    classes, _, _ = _pure_city_classes(make_city(), ndvi.shape, transform)
    assert np.nanmean(ndvi[classes == 2]) == pytest.approx(
        planted["ndvi_dense_vegetation"], abs=0.05
    )
    assert np.nanmean(ndvi[classes == 4]) == pytest.approx(planted["ndvi_dense_built"], abs=0.05)
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        landcover = src.read(1)
    assert (landcover[classes == 2] == 2).mean() > 0.9  # woods: dense vegetation
    assert not any("no NDVI" in w for w in result.warnings)


def test_demo_concentration_index_is_negative(demo):
    out, _ = demo
    # Poorer IRIS are hotter (the income gradient and the QPV): heat concentrates among the
    # poor, so the concentration index of the LST anomaly over income ranks is negative.
    # (The standard C of a temperature is not computed: it depends on the origin of ΔT.)
    result = json.loads((out / "outputs" / "inequality.json").read_text())
    assert result["concentration_index"]["value"] is None
    assert result["generalized_concentration_index"]["value"] < 0
