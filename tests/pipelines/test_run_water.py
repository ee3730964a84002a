"""``mask.indices_keep_water``: the NDVI and albedo composites leave out the land cover's water.

Whatever the sensor of the indices (the demo's Sentinel-2, whose default SCL mask drops
most water already, or its Landsat reflectance, whose QA_PIXEL presets keep water), the
pixels the land cover classes water are NaN in ``ndvi_median`` and ``albedo_median`` and
the zones' ``ndvi_mean`` and ``albedo_mean`` are means over their land; with
``mask.indices_keep_water: true``, today's composites (water in) come back. The oracles are
the keep-water run's own COGs, masked by hand with its land-cover COG, and exactextract's
zone means of them.
"""

import sqlite3
from contextlib import closing

import exactextract
import numpy as np
import pytest
import rasterio

from pipelines.config import apply_overrides, load_config
from pipelines.run import run
from raster.landcover import LandCover

#: The sensors of the index composites: the demo's own config (Sentinel-2) and Landsat's
#: reflectance.
SENSORS = {"sentinel2": {}, "landsat": {"composite.indices_from": "landsat"}}
#: Tile size of the tiled runs: 2 x 2 processing tiles of the demo's 548-pixel grid.
TILE_PX = 300


def _run(demo_folder, out, tile_size=None, **overrides):
    config = apply_overrides(
        load_config(demo_folder / "config.yaml"),
        {"outputs.folder": str(out), "scenarios": [], "outputs.report": False, **overrides},
    )
    return run(config, tile_size_px=tile_size)


@pytest.fixture(scope="module", params=list(SENSORS))
def runs(request, demo_folder, tmp_path_factory):
    """The demo's run with indices of one sensor, by default and with water kept."""
    sensor = SENSORS[request.param]
    out = {}
    for name, keep in (("default", False), ("keep", True)):
        folder = tmp_path_factory.mktemp(f"{request.param}_{name}")
        result = _run(demo_folder, folder, **sensor, **{"mask.indices_keep_water": keep})
        out[name] = (folder, result)
    return request.param, out


def _read(folder, name):
    """A COG of the run folder (None when the run did not write it), and its profile."""
    path = folder / "rasters" / f"{name}.tif"
    if not path.is_file():
        return None, None
    with rasterio.open(path) as src:
        return src.read(1), src.profile


def _indices(sensor):
    """The index composites a run of ``sensor`` writes (the demo's Landsat: no albedo)."""
    return ("ndvi_median", "albedo_median") if sensor == "sentinel2" else ("ndvi_median",)


def test_water_is_nan_in_the_index_composites(runs):
    """Default: NaN on every land-cover water pixel, the keep-water composite elsewhere.
    With water kept, water pixels have values again (so the default's NaN are the mask's)."""
    sensor, out = runs
    (folder, _), (kept_folder, _) = out["default"], out["keep"]
    landcover, _ = _read(folder, "landcover")
    kept_landcover, _ = _read(kept_folder, "landcover")
    water = landcover == LandCover.WATER
    assert water.sum() > 1000  # the demo's river
    np.testing.assert_array_equal(landcover, kept_landcover)  # classified alike
    for name in _indices(sensor):
        got, _ = _read(folder, name)
        kept, _ = _read(kept_folder, name)
        assert np.isnan(got[water]).all(), name
        assert np.isfinite(kept[water]).sum() > 50, name  # water restored
        np.testing.assert_array_equal(got, np.where(water, np.nan, kept))


def _masked_cog(values, profile, water, path):
    """Write ``values`` with NaN on ``water`` as a float32 GeoTIFF whose nodata is NaN."""
    with rasterio.open(path, "w", **{**profile, "driver": "GTiff", "nodata": np.nan}) as dst:
        dst.write(np.where(water, np.nan, values).astype(np.float32), 1)
    return path


def _zone_means(path, zones, id_col):
    """exactextract's coverage-weighted mean of ``path`` per zone, NaN pixels left out."""
    with rasterio.open(path) as src:
        crs = src.crs
    table = exactextract.exact_extract(
        str(path), zones.to_crs(crs), ["mean"], include_cols=[id_col], output="pandas"
    )
    return table.set_index(id_col)["mean"]


def test_riverside_iris_index_means_are_over_their_land(runs, tmp_path):
    """An IRIS crossing the river: ``ndvi_mean`` (and ``albedo_mean``) is exactextract's mean
    of the keep-water composite with its land-cover water set to NaN by hand; the keep-water
    run's is the mean with water in."""
    sensor, out = runs
    (_, result), (kept_folder, kept_result) = out["default"], out["keep"]
    iris, kept_iris = (r.zones["iris"].set_index("code_iris") for r in (result, kept_result))
    riverside = iris.index[(iris["lc_water_frac"] > 0.1) & (iris["lc_water_frac"] < 0.9)]
    assert len(riverside) >= 3
    landcover, _ = _read(kept_folder, "landcover")
    water = landcover == LandCover.WATER
    zones = result.zones["iris"][result.zones["iris"]["code_iris"].isin(riverside)]
    for name in _indices(sensor):
        column = f"{name.removesuffix('_median')}_mean"
        kept, profile = _read(kept_folder, name)
        land = _zone_means(
            _masked_cog(kept, profile, water, tmp_path / f"{name}_land.tif"),
            zones, "code_iris",
        )  # fmt: skip
        np.testing.assert_allclose(iris.loc[riverside, column], land[riverside], atol=1e-5)
        with_water = _zone_means(kept_folder / "rasters" / f"{name}.tif", zones, "code_iris")
        np.testing.assert_allclose(
            kept_iris.loc[riverside, column], with_water[riverside], atol=1e-5
        )
    if sensor == "landsat":  # Landsat keeps water in its composite: the mean was lower
        gap = iris.loc[riverside, "ndvi_mean"] - kept_iris.loc[riverside, "ndvi_mean"]
        assert (gap > 0.05).all()


def _layer_descriptions(folder):
    """The gpkg_contents description of each zone layer of the run's zones.gpkg."""
    with closing(sqlite3.connect(folder / "zones.gpkg")) as db:
        query = "SELECT table_name, description FROM gpkg_contents WHERE data_type = 'features'"
        return dict(db.execute(query))


def test_zone_layers_describe_the_index_means_as_over_land(runs):
    """The default's zones.gpkg says its layers' ndvi_mean (and albedo_mean, with values
    only from Sentinel-2: the demo's Landsat has no albedo) are means over the zone's land;
    the keep-water run's does not."""
    sensor, out = runs
    (folder, result), (kept_folder, _) = out["default"], out["keep"]
    default, kept = _layer_descriptions(folder), _layer_descriptions(kept_folder)
    assert set(default) >= {"iris", "qpv"} and set(kept) == set(default)
    means = " and ".join(f"{name.removesuffix('_median')}_mean" for name in _indices(sensor))
    for name in default:
        assert f"; {means} over the zone's land (water left out)" in default[name], name
        assert "water" not in kept[name], name
    if sensor == "landsat":  # the column is there, without a value: not named
        assert result.zones["iris"]["albedo_mean"].isna().all()


def test_tiled_run_leaves_water_out_alike(demo_folder, tmp_path):
    """In 2 x 2 processing tiles (the composites mosaicked from the tiles' pieces), the
    Landsat NDVI composite and the zones' ``ndvi_mean`` are the one-piece run's, water out."""
    landsat = SENSORS["landsat"]
    whole = _run(demo_folder, tmp_path / "whole", **landsat)
    tiled = _run(demo_folder, tmp_path / "tiled", TILE_PX, **landsat)
    ndvi, _ = _read(tmp_path / "tiled", "ndvi_median")
    landcover, _ = _read(tmp_path / "tiled", "landcover")
    assert np.isnan(ndvi[landcover == LandCover.WATER]).all()
    np.testing.assert_array_equal(ndvi, _read(tmp_path / "whole", "ndvi_median")[0])
    np.testing.assert_allclose(
        tiled.zones["iris"]["ndvi_mean"], whole.zones["iris"]["ndvi_mean"], atol=1e-9
    )
