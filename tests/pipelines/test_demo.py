"""The demo writes real-format synthetic products and recovers the effects planted in them."""

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.demo_city import CLASSES, make_city
from raster.sources import open_product


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, result.output


def _class_of_pixels(shape):
    city = make_city()
    factor = city.landcover.shape[0] // shape[0]
    blocks = city.landcover.reshape(shape[0], factor, shape[1], factor)
    pure = (blocks == blocks[:, :1, :, :1]).all(axis=(1, 3))  # pixels of a single class
    return np.where(pure, blocks[:, 0, :, 0], 0)


def test_demo_products_are_real_formats(demo):
    out, _ = demo
    products = sorted(p for p in (out / "products").iterdir() if p.is_dir())
    types = sorted(open_product(p).properties["ilots:product_type"] for p in products)
    assert types == ["landsat-c2-l2", "landsat-c2-l2", "sentinel-2-l2a"]
    for mtl in (out / "products").glob("*/*_MTL.txt"):
        assert "Synthetic" in mtl.read_text()


def test_demo_recovers_planted_heat_island(demo):
    out, report = demo
    offsets = {code: row[4] for code, row in CLASSES.items()}
    for tif in sorted((out / "outputs").glob("lst_*.tif")):
        with rasterio.open(tif) as src:
            lst = src.read(1)
        classes = _class_of_pixels(lst.shape)
        base = np.nanmean(lst[classes == 3])  # rural low vegetation
        for code in (2, 4, 5):  # dense vegetation, dense built, suburban built
            recovered = np.nanmean(lst[classes == code]) - base
            assert abs(recovered - offsets[code]) < 1.0, (tif.name, code, recovered)
        assert not np.isfinite(lst[classes == 1]).any(), "water must be masked"
    assert "synthetic" in report.lower()


def test_demo_cloudy_scene_masks_clouds(demo):
    out, _ = demo
    with rasterio.open(next((out / "outputs").glob("lst_landsat-9_*.tif"))) as src:
        lst = src.read(1)
    # The Landsat 9 scene has 15 % cloud planted; clouds and shadows must be nodata, and no
    # cold cloud top may leak into the LST.
    assert 0.1 < np.isnan(lst).mean() < 0.5
    assert np.nanmin(lst) > 295.0


def test_demo_ndvi_of_parks_and_dense_centre(demo):
    out, _ = demo
    with rasterio.open(out / "outputs" / "ndvi_sentinel-2.tif") as src:
        ndvi = src.read(1)
    classes = make_city().landcover
    # Planted reflectances (CLASSES): dense vegetation red 0.03 / NIR 0.40, dense built
    # 0.14 / 0.18, so NDVI about 0.86 and 0.12 (the -1000 offset of baseline 05.10 applied).
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
