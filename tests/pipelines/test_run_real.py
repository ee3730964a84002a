"""``ilots run`` end to end on real USGS Landsat C2 L2 products (``../shared/data``).

The demo city is synthetic; these runs take real encodings through the whole chain: a real
L2SP product (scale and offset from its MTL, QA_PIXEL, fill), its grid read from the files
(the shared products were downsampled by their publishers to ~450 m non-square pixels while
their metadata still says 30 m), a 30 m analysis grid, exact zonal statistics. The oracle is
a hand computation from the files with rasterio: LST = 0.00341802 · DN + 149.0 (science.md
§1.2) where ``QA_PIXEL & 0b111111 == 0`` (§1.3, the default preset) and DN is not the fill
0, taken at each grid pixel centre from the product pixel holding it (nearest).
"""

from __future__ import annotations

import json
import tarfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import yaml
from pyproj import Geod, Transformer

from pipelines.config import apply_overrides, load_config
from pipelines.run import run
from tiles.errors import ConfigError

CLEAR = "LC08_L2SP_008059_20191201_20200825_02_T1"  # Colombia, EPSG:32618
CLOUDY = "LC08_L2SP_001062_20201031_20201106_02_T2"  # Amazon, EPSG:32620, 99.9 % cloud
BOX_M = 2010.0  # 67 grid pixels of 30 m


def _write_city(folder, real_data, *, crs, corner, year, month):
    """3 x 3 IRIS of BOX_M on the 30 m grid's pixel edges (15 m + k·30 m), and a config."""
    x0, y0 = corner
    boxes = [
        shapely.box(x0 + i * BOX_M, y0 + j * BOX_M, x0 + (i + 1) * BOX_M, y0 + (j + 1) * BOX_M)
        for j in range(3)
        for i in range(3)
    ]
    iris = gpd.GeoDataFrame(
        {"code_iris": [f"9999900{k:02d}" for k in range(9)],
         "nom_iris": [f"IRIS {k}" for k in range(9)], "insee_com": ["99999"] * 9},
        geometry=boxes, crs=crs,
    )  # fmt: skip
    iris.to_file(folder / "iris.gpkg", driver="GPKG")
    config = {
        "name": "real Landsat product",
        "aoi": {"zones": "iris"},
        "periods": {"years": [year], "months": [month]},
        # Both products are in that folder: the period keeps one.
        "inputs": {"landsat": [str(real_data / "landsat_c2l2")]},
        "grid": {"crs": "utm", "resolution": 30},
        # The stored downloads hold ST_QA but neither ST_CDIST nor QA_RADSAT.
        "mask": {"st_qa_max_k": None, "cdist_min_km": None, "radsat": False},
        "composite": {"min_clear": 1},
        "heat_island": {"ring_inner_km": 1, "ring_outer_km": 3},
        "zones": {"iris": {"path": "iris.gpkg"}},
        "outputs": {"folder": "out"},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_config(folder / "config.yaml")


def _oracle_on_grid(product_dir, grid_transform, shape, grid_crs):
    """The product's LST (K, NaN where masked) at each grid pixel centre, by hand.

    Also the centres' grid coordinates. A grid in another CRS than the product (the UTM zone
    south of the equator, where USGS keeps the northern zone) has its centres projected.
    """
    stem = product_dir / product_dir.name
    with rasterio.open(f"{stem}_ST_B10.TIF") as src:
        dn, native, native_crs = src.read(1).astype(np.float64), src.transform, src.crs
    with rasterio.open(f"{stem}_QA_PIXEL.TIF") as src:
        qa = src.read(1)
    lst = np.where((dn != 0) & ((qa & 0b111111) == 0), dn * 0.00341802 + 149.0, np.nan)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = grid_transform.c + (cols + 0.5) * grid_transform.a
    y = grid_transform.f + (rows + 0.5) * grid_transform.e
    to_native = Transformer.from_crs(grid_crs, native_crs, always_xy=True)
    xn, yn = to_native.transform(x, y)
    col = np.floor((xn - native.c) / native.a).astype(int)
    row = np.floor((yn - native.f) / native.e).astype(int)
    return lst[row, col], x, y


def _at_centres(values, native, grid, shape):
    """``values`` (on the ``native`` transform) at each grid pixel centre (same CRS): the
    pixel holding it, nearest."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x, y = grid * (cols + 0.5, rows + 0.5)
    col, row = ~native * (x, y)
    return values[np.floor(row).astype(int), np.floor(col).astype(int)]


@pytest.fixture(scope="module")
def clear_run(real_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("real_clear")
    config = _write_city(
        folder, real_data, crs="EPSG:32618", corner=(490_005.0, 160_005.0), year=2019, month=12
    )
    config = apply_overrides(config, {"outputs.zone_formats": ["gpkg", "parquet", "csv"]})
    return folder / "out", run(config), real_data / "landsat_c2l2" / CLEAR


def test_real_product_lst_is_read_as_the_usgs_encodes_it(clear_run):
    out, _, product = clear_run
    with rasterio.open(out / "rasters" / "lst_median.tif") as src:
        lst, transform, crs = src.read(1), src.transform, src.crs
    with rasterio.open(out / "rasters" / "n_clear.tif") as src:
        n_clear = src.read(1)
    assert crs.to_epsg() == 32618 and transform.a == 30.0
    oracle, _, _ = _oracle_on_grid(product, transform, lst.shape, crs)
    assert np.isfinite(oracle).mean() > 0.2 and np.isnan(oracle).any()  # clouds and clear land
    np.testing.assert_array_equal(np.isnan(lst), np.isnan(oracle))
    np.testing.assert_allclose(lst, oracle, rtol=0, atol=1e-4, equal_nan=True)  # float32 K
    np.testing.assert_array_equal(n_clear, np.isfinite(oracle).astype(n_clear.dtype))


def test_real_product_zonal_means_and_valid_fraction(clear_run):
    out, result, product = clear_run
    with rasterio.open(out / "rasters" / "lst_median.tif") as src:
        transform, shape, crs = src.transform, src.shape, src.crs
    oracle, x, y = _oracle_on_grid(product, transform, shape, crs)
    iris = gpd.read_parquet(out / "zones" / "iris.parquet").set_index("code_iris")
    assert len(iris) == 9
    kept = 0
    for code, zone in iris.iterrows():
        west, south, east, north = zone.geometry.bounds
        inside = (x > west) & (x < east) & (y > south) & (y < north)  # whole pixels only
        assert inside.sum() == 67 * 67
        values = oracle[inside]
        valid = np.isfinite(values).mean()
        assert zone["valid_frac"] == pytest.approx(valid, abs=1e-12), code
        # zones.min_valid_frac and composite.min_clear_area_frac (0.5 by default): a zone
        # mostly under cloud gets no LST value and is flagged.
        assert zone["low_clear_area"] == (valid < 0.5), code
        if valid >= 0.5:
            kept += 1
            assert zone["lst_mean_k"] == pytest.approx(np.nanmean(values), abs=1e-4), code
        else:
            assert zone[["lst_mean_k", "lst_p90_k", "lst_anomaly_mean_k"]].isna().all(), code
    assert 0 < kept < 7  # real clouds: some IRIS 2-7 % clear (flagged), some 60-99 % (kept)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"]["crs"] == "EPSG:32618"
    assert manifest["extra"]["synthetic"] is False  # a USGS product, not the demo's
    assert json.loads((out / "heat_island.json").read_text())["synthetic"] is False
    # Its zone CSV has the layer's columns alone: no `synthetic` column, the demo's mark.
    table = pd.read_csv(out / "zones" / "iris.csv")
    assert list(table.columns) == list(result.zones["iris"].columns.drop("geometry"))
    assert not any("no IRIS has a clear" in w for w in result.warnings)


def test_real_product_ndvi_from_its_surface_reflectance(clear_run):
    # No Sentinel-2 here: composite.indices_from 'auto' takes the NDVI from the product's
    # SR_B4/SR_B5, reflectance = DN · 2.75e-5 - 0.2 (science.md §1.2), same QA mask.
    out, result, product = clear_run
    stem = product / product.name
    with rasterio.open(f"{stem}_SR_B4.TIF") as src:
        red = src.read(1).astype(np.float64)
    with rasterio.open(f"{stem}_SR_B5.TIF") as src:
        nir = src.read(1).astype(np.float64)
    with rasterio.open(f"{stem}_QA_PIXEL.TIF") as src:
        clear = (src.read(1) & 0b111111) == 0
    red, nir = red * 2.75e-5 - 0.2, nir * 2.75e-5 - 0.2
    by_hand = np.where(clear, (nir - red) / (nir + red), np.nan)
    with rasterio.open(out / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    with rasterio.open(f"{stem}_ST_B10.TIF") as src:
        native = src.transform
    oracle = _at_centres(by_hand, native, transform, ndvi.shape)
    assert np.isfinite(oracle).mean() > 0.2
    np.testing.assert_allclose(ndvi, oracle, rtol=0, atol=1e-6, equal_nan=True)
    iris = gpd.read_parquet(out / "zones" / "iris.parquet")
    assert iris["ndvi_mean"].notna().sum() == 7  # every IRIS with a clear pixel (NDVI kept)
    assert not any("no NDVI" in w for w in result.warnings)


def test_real_product_read_in_place_from_its_tar(clear_run, real_data, tmp_path):
    # USGS delivers each product as a flat .tar of its files; the run reads it in place.
    _, _, product = clear_run
    archive = tmp_path / "downloads" / f"{product.name}.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as tar:
        for path in sorted(product.iterdir()):
            tar.add(path, arcname=path.name)
    config = _write_city(
        tmp_path, real_data, crs="EPSG:32618", corner=(490_005.0, 160_005.0), year=2019, month=12
    )
    run(apply_overrides(config, {"inputs.landsat": [str(archive.parent)]}))
    out, _, _ = clear_run
    for name in ("lst_median", "n_clear", "ndvi_median"):
        with rasterio.open(out / "rasters" / f"{name}.tif") as src:
            expected = src.read(1)
        with rasterio.open(tmp_path / "out" / "rasters" / f"{name}.tif") as src:
            np.testing.assert_array_equal(src.read(1), expected, err_msg=name)


def test_real_all_cloud_product_gives_nan_outputs_and_says_so(real_data, tmp_path):
    config = _write_city(
        tmp_path, real_data, crs="EPSG:32620", corner=(257_685.0, -320_085.0), year=2020, month=10
    )
    result = run(config)
    out = tmp_path / "out"
    with rasterio.open(out / "rasters" / "lst_median.tif") as src:
        lst, transform, crs = src.read(1), src.transform, src.crs
    with rasterio.open(out / "rasters" / "n_clear.tif") as src:
        assert not src.read(1).any()
    assert crs.to_epsg() == 32720  # the area is south of the equator; USGS uses 32620
    product = real_data / "landsat_c2l2" / CLOUDY
    oracle, _, _ = _oracle_on_grid(product, transform, lst.shape, crs)
    assert np.isnan(oracle).all() and np.isnan(lst).all()  # the USGS QA has nothing clear here
    iris = gpd.read_parquet(out / "zones" / "iris.parquet")
    assert iris["lst_mean_k"].isna().all() and (iris["valid_frac"] == 0).all()
    assert iris["low_clear_area"].all()
    heat = json.loads((out / "heat_island.json").read_text())
    assert heat["composite"]["suhii_k"] is None
    warned = [w for w in result.warnings if w.startswith("no IRIS has a composite LST")]
    assert len(warned) == 1 and "composite.min_clear (1)" in warned[0]
    assert warned[0] in json.loads((out / "manifest.json").read_text())["warnings"]
    assert "IRIS LST anomaly: none" in result.summary()


def test_real_level1_product_is_refused_with_what_to_download(real_data, tmp_path):
    # A Collection 1 Level-1 product (South Carolina, 2017): the run takes LST from Level-2
    # surface temperature; it said "BandMissingError: 'qa_pixel'" deep in the graph.
    folder = real_data / "landsat_l1" / "LC08_L1TP_016037_20170813_20170814_01_RT"
    config = _write_city(
        tmp_path, real_data, crs="EPSG:32617", corner=(540_015.0, 3_640_005.0), year=2017, month=8
    )
    config = apply_overrides(config, {"inputs.landsat": [str(folder)]})
    with pytest.raises(ConfigError) as err:
        run(config)
    text = str(err.value)
    assert "inputs.landsat: no Landsat product within the periods and area of interest" in text
    assert "(1 without Level-2 surface temperature)" in text and "\n" not in text
    assert (
        "e.g. LC08_L1TP_016037_20170813_20170814_01_RT is a Level-1 product (L1TP): the run "
        "takes LST from Level-2 surface temperature, so download the L2SP product"
    ) in text


# --- real IRIS and Filosofi: Paris 12th arrondissement --------------------------------------

PARIS_IRIS = "iris/paris_iris_disp_med19_climbing_paris.geojson"
FILOSOFI_2018 = "filosofi/BASE_TD_FILO_DISP_IRIS_2018_france.csv"
#: A synthetic 30 m Landsat grid over eastern Paris (UTM 31N, USGS pixel phase 15 m).
PARIS_ORIGIN, PARIS_SHAPE = (445_005.0, 5_419_995.0), (666, 840)


def _synthetic_landsat(folder, origin=PARIS_ORIGIN, shape=PARIS_SHAPE, crs=32631):
    """Two clear synthetic L2SP products whose LST rises 0.4 K a km eastwards."""
    from rasterio.transform import from_origin

    from raster.synthetic import (
        encode_qa_pixel,
        reflectance_to_dn_landsat,
        write_landsat_c2l2,
    )

    x = origin[0] + (np.arange(shape[1]) + 0.5) * 30.0
    kelvin = np.broadcast_to(295.0 + 0.0004 * (x - origin[0]), shape)
    dn = np.round((kelvin - 149.0) / 0.00341802).astype("uint16")
    bands = {
        "red": reflectance_to_dn_landsat(np.full(shape, 0.08)),
        "nir08": reflectance_to_dn_landsat(np.full(shape, 0.30)),
        "lwir11": dn,
        "qa_pixel": np.full(shape, encode_qa_pixel(), dtype="uint16"),
        "st_qa": np.full(shape, 100, dtype="int16"),
        "qa_radsat": np.zeros(shape, dtype="uint16"),  # nothing saturated
    }
    for day in ("2019-07-09", "2019-07-25"):
        write_landsat_c2l2(
            folder, bands=bands, crs=crs, transform=from_origin(*origin, 30.0, 30.0),
            platform="landsat-8", path=199, row=26, date=day,
        )  # fmt: skip
    return dn.astype(np.float64) * 0.00341802 + 149.0  # the LST as the files hold it


def _area_weighted(zones, values, origin):
    """Each zone's mean of ``values`` (30 m pixels from ``origin``) weighted by the area of
    each pixel the zone covers, with shapely."""
    west, north = origin
    means = {}
    for code, zone in zones.items():
        x0, y0, x1, y1 = zone.bounds
        c0, c1 = int((x0 - west) // 30), int((x1 - west) // 30) + 1
        r0, r1 = int((north - y1) // 30), int((north - y0) // 30) + 1
        rr, cc = np.mgrid[r0:r1, c0:c1]
        cells = shapely.box(west + cc * 30, north - (rr + 1) * 30,
                            west + (cc + 1) * 30, north - rr * 30)  # fmt: skip
        weights = shapely.area(shapely.intersection(cells, zone))
        means[code] = float((weights * values[rr, cc]).sum() / weights.sum())
    return pd.Series(means)


def _run_synthetic_landsat(folder, name, **sections):
    """Run a config over ``folder``'s synthetic Landsat products (2019, one clear scene is
    enough), a 30 m UTM grid and a 1-3 km rural ring; ``sections`` add or replace sections."""
    config = {
        "name": name,
        "aoi": {"zones": "iris"},
        "periods": {"years": [2019], "months": [7]},
        "inputs": {"landsat": ["products"]},
        "grid": {"crs": "utm", "resolution": 30},
        "mask": {"cdist_min_km": None},
        "composite": {"min_clear": 1},
        "heat_island": {"ring_inner_km": 1, "ring_outer_km": 3},
        "outputs": {"folder": "out", "report": False},
        **sections,
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return run(load_config(folder / "config.yaml"))


def test_real_paris_iris_and_filosofi_through_a_run(real_data, tmp_path):
    # aoi.communes 75112: IGN/INSEE code Paris by arrondissement. The real IRIS are
    # simplified MultiPolygons in EPSG:4326; the real Filosofi 2018 table covers France.
    lst = _synthetic_landsat(tmp_path / "products")
    result = _run_synthetic_landsat(
        tmp_path,
        "Paris 12e (real IRIS and Filosofi, synthetic Landsat)",
        aoi={"zones": "iris", "communes": ["75112"]},
        zones={"iris": {"path": str(real_data / PARIS_IRIS)}},
        census={"filosofi": str(real_data / FILOSOFI_2018)},
        outputs={"folder": "out"},  # with the report
    )
    iris = result.zones["iris"].set_index("code_iris")

    raw = gpd.read_file(real_data / PARIS_IRIS)
    mine = raw[raw["CODE_IRIS"].str.startswith("75112")].set_index("CODE_IRIS")
    assert sorted(iris.index) == sorted(mine.index) and len(iris) == 63
    # Income: DISP_MED18 of the national table, by hand; INSEE's secret markers stay NaN.
    table = pd.read_csv(real_data / FILOSOFI_2018, sep=";", dtype=str, keep_default_na=False)
    income = table.set_index("IRIS")["DISP_MED18"].reindex(iris.index)
    expected = pd.to_numeric(income.str.replace(",", "."), errors="coerce")
    assert expected.notna().sum() > 50
    np.testing.assert_allclose(iris["disp_med"], expected, rtol=0, atol=1e-9)
    # LST: each IRIS's mean weighs each 30 m pixel by the area of it the IRIS covers,
    # computed here with shapely on the IRIS reprojected to the grid's CRS.
    oracle = _area_weighted(mine.to_crs(32631).geometry, lst, PARIS_ORIGIN)
    np.testing.assert_allclose(iris["lst_mean_k"], oracle.reindex(iris.index), atol=1e-4)
    assert (iris["valid_frac"] == 1.0).all()  # all clear, exactly (1 + 1e-15 before)
    # INSEE publishes no income for the IRIS of few households (Bois de Vincennes ...):
    # said once, for them only; the national table's other rows are not "unmatched".
    absent = sorted(set(mine.index) - set(table["IRIS"]))
    unmatched = [w for w in result.warnings if "no match" in w]
    assert len(absent) == 10 and len(unmatched) == 1, unmatched
    assert unmatched[0].startswith(f"join on 'code_iris': {len(absent)} left codes have no match")
    assert iris.loc[absent, "disp_med"].isna().all()
    # The synthetic NDVI is the same everywhere: that outcome is skipped with the reason,
    # the temperatures are crossed with income.
    skipped = [w for w in result.warnings if w.startswith("inequality.outcomes: 'ndvi_mean'")]
    assert len(skipped) == 1 and "constant" in skipped[0], result.warnings
    assert not [w for w in result.warnings if "nearly constant" in w]
    report = json.loads((tmp_path / "out" / "inequality.json").read_text())
    assert report["outcome"] == "lst_anomaly_mean_k" and report["n_used"] == 63 - len(absent)
    assert (tmp_path / "out" / "report.html").is_file()


LYON_IRIS = "iris/LyonIris_EPSG3946.gpkg"
LYON_ORIGIN, LYON_SHAPE = (632_025.0, 5_080_005.0), (740, 740)


def test_real_lyon_iris_in_cc46_with_income_on_the_layer(real_data, tmp_path):
    # The Lyon metropolis' IRIS in EPSG:3946 (CC46), the median standard of living on the
    # layer itself (NivVieMed, no Filosofi file); aoi.communes 69123 is Lyon, whose IRIS
    # IGN codes by arrondissement (69381-69389).
    lst = _synthetic_landsat(tmp_path / "products", LYON_ORIGIN, LYON_SHAPE)
    result = _run_synthetic_landsat(
        tmp_path,
        "Lyon (real IRIS, synthetic Landsat)",
        aoi={"zones": "iris", "communes": ["69123"]},
        zones={"iris": {"path": str(real_data / LYON_IRIS)}},
        census={"income_column": "NivVieMed"},
        inequality={"outcomes": ["lst_mean_k"]},
    )
    iris = result.zones["iris"].set_index("code_iris")
    raw = gpd.read_file(real_data / LYON_IRIS)
    lyon = raw[raw["INSEE_COM"].str.startswith("6938")].set_index("CODE_IRIS")
    assert raw.crs.to_epsg() == 3946 and sorted(iris.index) == sorted(lyon.index)
    assert len(iris) == 182
    oracle = _area_weighted(lyon.to_crs(32631).geometry, lst, LYON_ORIGIN)
    np.testing.assert_allclose(iris["lst_mean_k"], oracle.reindex(iris.index), atol=1e-4)
    report = json.loads((tmp_path / "out" / "inequality.json").read_text())
    assert report["income"] == "NivVieMed" and report["n_used"] == lyon["NivVieMed"].notna().sum()
    # The income-LST correlation over the 182 IRIS, by hand from the layer and the oracle.
    expected = np.corrcoef(lyon["NivVieMed"], oracle.reindex(lyon.index))[0, 1]
    assert report["correlations"]["pearson"]["value"] == pytest.approx(expected, abs=1e-4)


# --- real QPV: Toulouse (ANCT 2015 geography, one invalid geometry) -------------------------

OCCITANIE_QPV = "qpv/occitanie_qp_hackaviz2021.geojson"
TOULOUSE_ORIGIN, TOULOUSE_SHAPE = (355_005.0, 4_850_025.0), (1100, 1000)


def test_real_toulouse_qpv_through_a_run(real_data, tmp_path):
    # The 105 QPV of Occitanie (EPSG:4326, 32 invalid geometries) given whole: the run keeps
    # those over a grid of 1 km IRIS around Toulouse's 12 and crosses them with the IRIS.
    lst = _synthetic_landsat(tmp_path / "products", TOULOUSE_ORIGIN, TOULOUSE_SHAPE)
    qpv_all = gpd.read_file(real_data / OCCITANIE_QPV)
    toulouse = qpv_all[qpv_all["code_commune"] == "31555"]
    west, south, east, north = toulouse.to_crs(2154).total_bounds
    x0, y0 = np.floor(west / 1000) * 1000 - 1000, np.floor(south / 1000) * 1000 - 1000
    nx, ny = int((east - x0) // 1000) + 2, int((north - y0) // 1000) + 2
    boxes = [shapely.box(x0 + i * 1000, y0 + j * 1000, x0 + (i + 1) * 1000, y0 + (j + 1) * 1000)
             for j in range(ny) for i in range(nx)]  # fmt: skip
    iris = gpd.GeoDataFrame(
        {"CODE_IRIS": [f"31555{k:04d}" for k in range(len(boxes))], "NOM_IRIS": "carré",
         "INSEE_COM": "31555", "NOM_COM": "Toulouse", "TYP_IRIS": "H"},
        geometry=boxes, crs=2154,
    )  # fmt: skip
    iris.to_file(tmp_path / "iris.gpkg", driver="GPKG")
    result = _run_synthetic_landsat(
        tmp_path,
        "Toulouse QPV (real QPV, synthetic IRIS and Landsat)",
        zones={"iris": {"path": "iris.gpkg"}, "qpv": {"path": str(real_data / OCCITANIE_QPV)}},
    )
    # The QPV kept: those sharing area with the IRIS (shapely, geometries made valid).
    valid = qpv_all.to_crs(2154).set_index("code_qp").geometry.make_valid()
    area = iris.geometry.union_all()
    expected = sorted(valid.index[valid.intersection(area).area > 0])
    qpv = result.zones["qpv"].set_index("code_qp")
    assert set(toulouse["code_qp"]) <= set(expected) and sorted(qpv.index) == expected
    # Each IRIS's QPV share (true areas: pyproj's geodesic ones, the run measuring in an
    # equal-area CRS; Lambert-93's differ by about 1e-6 here) and main QPV, by hand.
    kept = valid.loc[expected]
    table = result.zones["iris"].set_index("code_iris")
    geod = Geod(ellps="WGS84")

    def true_area(geometry) -> float:
        return abs(geod.geometry_area_perimeter(gpd.GeoSeries([geometry], crs=2154)
                                                .to_crs(4326).iloc[0])[0])  # fmt: skip

    for code, square in iris.set_index("CODE_IRIS").geometry.items():
        overlaps = kept.intersection(square).area
        inside = shapely.union_all(kept.intersection(square).to_numpy())
        share = true_area(inside) / true_area(square) if not inside.is_empty else 0.0
        assert table.loc[code, "qpv_share"] == pytest.approx(share, abs=1e-6), code
        assert table.loc[code, "in_qpv"] == (share >= 0.5), code
        main = overlaps.idxmax() if overlaps.max() > 0 else None
        assert table.loc[code, "code_qp_main"] == main, code
    assert table["in_qpv"].sum() == 2 and (table["qpv_share"] > 0).sum() > 20
    # Each QPV's LST mean: area-weighted on the grid, as for the IRIS.
    oracle = _area_weighted(kept.to_crs(32631), lst, TOULOUSE_ORIGIN)
    np.testing.assert_allclose(qpv["lst_mean_k"], oracle.reindex(qpv.index), atol=1e-4)
    repaired = [w for w in result.warnings if "QPV layer" in w and "repaired" in w]
    assert len(repaired) == 1  # said once, for the QPV read near the area


# --- real Sentinel-2: the Earth Search product of Western Sahara ------------------------------

S2_FOLDER = "sentinel2_l2a/S2A_29RKH_20200219_0_L2A"
SAHARA_ORIGIN, SAHARA_SHAPE = (262_005.0, 2_804_025.0), (1100, 1100)  # Landsat phase, UTM 29N


def test_real_sentinel2_ndvi_through_a_run(real_data, tmp_path):
    # Real Earth Search COGs (baseline 02.14: no BOA offset; files at 100 m, SCL at 200 m,
    # while the item's metadata says 10 and 20 m) beside a synthetic Landsat product. On a
    # 20 m grid laid on the Sentinel-2 pixels, the NDVI median is each 100 m pixel's:
    # (B08 - B04) / (B08 + B04) with DN / 10000, where SCL is 4 or 5 (the default preset).
    _synthetic_landsat(tmp_path / "products", SAHARA_ORIGIN, SAHARA_SHAPE, crs=32629)
    boxes = [shapely.box(275_000 + i * 2000, 2_785_000 + j * 2000, 277_000 + i * 2000,
                         2_787_000 + j * 2000) for j in range(3) for i in range(3)]  # fmt: skip
    gpd.GeoDataFrame(
        {"code_iris": [f"9999900{k:02d}" for k in range(9)],
         "nom_iris": [f"IRIS {k}" for k in range(9)], "insee_com": ["99999"] * 9},
        geometry=boxes, crs=32629,
    ).to_file(tmp_path / "iris.gpkg", driver="GPKG")  # fmt: skip
    result = _run_synthetic_landsat(
        tmp_path,
        "real Sentinel-2 L2A product",
        periods={"years": [2019, 2020], "months": [2, 7]},
        inputs={"landsat": ["products"], "sentinel2": [str(real_data / S2_FOLDER)]},
        grid={"crs": "EPSG:32629", "resolution": 20},
        zones={"iris": {"path": "iris.gpkg"}},
    )
    with rasterio.open(tmp_path / "out" / "rasters" / "ndvi_median.tif") as src:
        ndvi, transform = src.read(1), src.transform
    assert transform.a == 20.0 and transform.c % 20 == 0  # on the Sentinel-2 pixel edges
    folder = real_data / S2_FOLDER

    def sample(name):
        with rasterio.open(folder / f"{name}.tif") as src:
            return _at_centres(src.read(1), src.transform, transform, ndvi.shape)

    red, nir, scl = sample("B04") / 10000.0, sample("B08") / 10000.0, sample("SCL")
    oracle = np.where(np.isin(scl, (4, 5)), (nir - red) / (nir + red), np.nan)
    assert 0.05 < np.isnan(oracle).mean() < 0.3  # the product's clouds (SCL 8, 9, 10)
    np.testing.assert_allclose(ndvi, oracle, rtol=0, atol=1e-6, equal_nan=True)
    zones = result.zones["iris"]
    assert zones["ndvi_mean"].between(0.0, 0.3).all()  # bare desert
