"""``sharpen``: the run's LST composite sharpened with its NDVI composite (science.md §4.2).

Small 10 m runs of the demo's inputs (a 4.5 × 3.7 km box, a 1 km rural ring). The oracles are
NumPy here: the 30 m cells as the 3 × 3 blocks of the written ``lst_median`` that are the
demo's Landsat pixels (their edges from the products' own transform), each (mean of
T⁴)^(1/4), and the least-squares fit over the homogeneous cells (science.md §4.2), never the
sharpening code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.transform import from_origin

from pipelines import run_tiles
from pipelines.config import apply_overrides, config_digest, load_config
from pipelines.config.models import SharpenConfig
from pipelines.run import _sharpens_with_water, run
from pipelines.run_plan import NOT_IN_PIECES
from pipelines.run_sharpen import landsat_phase, sharpen_composite
from raster.landcover import LandCover
from raster.nearest import NativeGather
from tiles.errors import ConfigError

try:  # the independent COG validator (test extra); GDAL's own LAYOUT=COG flag is checked anyway
    from rio_cogeo.cogeo import cog_validate
except ImportError:  # pragma: no cover
    cog_validate = None

SMALL = {
    "outputs.report": False,
    "inequality.outcomes": ["lst_mean_k"],
    "aoi": {"bbox": [1.305, 43.625, 1.335, 43.64]},
    "heat_island.ring_inner_km": 0.2,
    "heat_island.ring_outer_km": 1.0,
    "grid.resolution": 10,
}
SHARPEN = {"sharpen.enabled": True}
NAME = "lst_median_sharpened"
FIT_KEYS = ("a", "b", "r2", "n_cells", "cv_threshold")


def _config(demo_folder, **overrides):
    return apply_overrides(load_config(demo_folder / "config.yaml"), {**SMALL, **overrides})


def _read(folder: Path, name: str) -> np.ndarray:
    with rasterio.open(folder / "rasters" / f"{name}.tif") as src:
        return src.read(1).astype(np.float64)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _tags(folder: Path, name: str) -> dict[str, str]:
    with rasterio.open(folder / "rasters" / f"{name}.tif") as src:
        return src.tags()


def _landsat_phase(demo_folder: Path, folder: Path) -> tuple[int, int]:
    """Row and column of the run's grid where the 3 pixels taken from one demo Landsat pixel
    start, from the files: the demo's products are on USGS's phase (edges at 15 m + k·30 m),
    5 m off the 10 m grid's edges, so a Landsat edge runs through the centres of a column (a
    row) of grid pixels, which nearest resampling gives to the pixel east (south) of the edge
    (GDAL's rule for a centre on an edge)."""
    band = next((demo_folder / "products").glob("LC0*/*_ST_B10.TIF"))
    with rasterio.open(band) as landsat, rasterio.open(folder / "rasters/lst_median.tif") as grid:
        assert landsat.res == (30.0, 30.0) and grid.res == (10.0, 10.0)
        dx = (landsat.transform.c - grid.transform.c) / 10.0
        dy = (grid.transform.f - landsat.transform.f) / 10.0
    assert dx % 1 == dy % 1 == 0.5  # Landsat edges through the grid pixels' centres
    return math.floor(dy) % 3, math.floor(dx) % 3


def _blocks(values: np.ndarray, phase: tuple[int, int]) -> np.ndarray:
    """The whole 3 × 3 blocks starting at row and column ``phase``, as ``(ny, nx, 9)``."""
    oy, ox = phase
    ny, nx = ((n - o) // 3 for n, o in zip(values.shape, phase, strict=True))
    part = values[oy : oy + ny * 3, ox : ox + nx * 3]
    return part.reshape(ny, 3, nx, 3).transpose(0, 2, 1, 3).reshape(ny, nx, 9)


def _radiance_mean(blocks: np.ndarray) -> np.ndarray:
    """(mean of T⁴)^(1/4) of each block over its finite pixels (NaN if none)."""
    t4 = np.where(np.isfinite(blocks), blocks, 0.0) ** 4
    count = np.isfinite(blocks).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (t4.sum(axis=-1) / count) ** 0.25


def _coarse_lst(lst: np.ndarray, phase: tuple[int, int]) -> np.ndarray:
    """The oracle's 30 m cells: radiance mean of each block, NaN if a pixel of it is NaN."""
    blocks = _blocks(lst, phase)
    return np.where(np.isfinite(blocks).all(axis=-1), _radiance_mean(blocks), np.nan)


@pytest.fixture(scope="module")
def sharpened(demo_folder, tmp_path_factory):
    """A one-piece 10 m run with ``sharpen.enabled``: its folder."""
    out = tmp_path_factory.mktemp("sharpened")
    run(_config(demo_folder, **SHARPEN), out=out)
    return out


@pytest.fixture(scope="module")
def phase(sharpened, demo_folder):
    return _landsat_phase(demo_folder, sharpened)


def test_sharpened_raster_keeps_each_landsat_pixels_radiance_and_adds_detail(sharpened, phase):
    path = sharpened / "rasters" / f"{NAME}.tif"
    if cog_validate is not None:
        valid, errors, _ = cog_validate(path)
        assert valid and not errors, errors
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.dtypes[0] == "float32" and src.tags()["units"] == "K"
        tags = src.tags()
    assert (sharpened / "rasters" / f"{NAME}.qml").is_file()  # styled like lst_median
    assert tags["cell_methods"] == "time: median"
    lst, ndvi, out = (_read(sharpened, n) for n in ("lst_median", "ndvi_median", NAME))
    assert out.shape == lst.shape
    # The cells are the Landsat pixels: lst_median is one value over each.
    blocks = _blocks(lst, phase)
    complete = np.isfinite(blocks).all(axis=-1)
    assert (np.ptp(blocks[complete], axis=-1) == 0).all()
    coarse = _coarse_lst(lst, phase)
    cells = np.isfinite(coarse)
    assert cells.sum() > 5000
    fine = _blocks(out, phase)
    # NaN where a cell has no LST, and on the Landsat pixels the grid's edges cut.
    assert np.isnan(fine[~cells]).all()
    oy, ox = phase
    assert np.isnan(out[:oy]).all() and np.isnan(out[:, :ox]).all()
    assert np.isnan(out[oy + fine.shape[0] * 3 :]).all()
    assert np.isnan(out[:, ox + fine.shape[1] * 3 :]).all()
    # Every pixel with an NDVI in a whole cell with an LST has a sharpened value.
    with_ndvi = np.isfinite(_blocks(ndvi, phase))
    assert np.isfinite(fine[cells][with_ndvi[cells]]).all()
    assert np.isnan(fine[cells][~with_ndvi[cells]]).all()
    # Each Landsat pixel keeps its radiance: the library adds each cell's residual in
    # kelvin, which keeps its radiance mean to second order of the spread inside it
    # (raster.sharpen SharpenSpec).
    sharp = cells & np.isfinite(fine).any(axis=-1)
    error = np.abs(_radiance_mean(fine) - coarse)[sharp]
    assert np.median(error) < 1e-4 and error.max() < 5e-3
    # Exactly: T_f = a + b·NDVI_f + ΔT_c with ΔT_c = T_c − (mean of (a + b·NDVI_f)⁴)^(1/4).
    fit = _manifest(sharpened)["extra"]["sharpen"]
    predicted = fit["a"] + fit["b"] * _blocks(ndvi, phase)
    residual = fine - predicted
    expected = coarse - _radiance_mean(np.where(np.isfinite(fine), predicted, np.nan))
    pixels = sharp[..., None] & np.isfinite(fine)  # a pixel without NDVI has no value
    np.testing.assert_allclose(residual[pixels], np.broadcast_to(
        expected[..., None], residual.shape)[pixels], atol=1e-4)  # fmt: skip
    # Not block-constant where the NDVI varies inside a cell.
    complete = sharp & np.isfinite(fine).all(axis=-1)
    ndvi_range = np.ptp(_blocks(ndvi, phase)[complete], axis=-1)
    spread = np.ptp(fine[complete], axis=-1)
    varied = ndvi_range > 0.1
    assert varied.sum() > 100 and (spread[varied] > 0.09 * abs(fit["b"])).all()
    # The fit in the manifest and in the raster's tags.
    assert fit["raster"] == f"rasters/{NAME}.tif" and fit["basis"] == "ndvi" and fit["factor"] == 3
    for key in FIT_KEYS:
        assert float(tags[f"sharpen_{key}"]) == pytest.approx(fit[key], rel=1e-12), key


def test_with_a_dilated_mask_the_cells_are_still_the_landsat_pixels(demo_folder, tmp_path):
    """Under mask.dilate_m the run loads the Landsat bands onto the grid (no gather): the
    cells are still the Landsat pixels, found from the products' own grid."""
    out = tmp_path / "dilated"
    run(_config(demo_folder, **SHARPEN, **{"mask.dilate_m": 10}), out=out)
    phase = _landsat_phase(demo_folder, out)
    with rasterio.open(out / "rasters" / f"{NAME}.tif") as src:
        assert "on the Landsat pixels" in src.tags()["sharpen_coarse_cells"]
    lst, sharp = _read(out, "lst_median"), _read(out, NAME)
    coarse, fine = _coarse_lst(lst, phase), _blocks(sharp, phase)
    kept = np.isfinite(coarse) & np.isfinite(fine).any(axis=-1)
    assert kept.sum() > 5000
    error = np.abs(_radiance_mean(fine) - coarse)[kept]
    assert np.median(error) < 1e-4 and error.max() < 5e-3


def _homogeneous(coarse: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each cell's NDVI mean, whether it has an LST and nine NDVI pixels (eligible), and
    whether it is eligible and among the 80 % lowest CV (population std / |mean|) of its NDVI."""
    mean = blocks.mean(axis=-1)  # NaN unless all nine pixels have an NDVI
    cv = np.where(blocks.std(axis=-1) == 0, 0.0, blocks.std(axis=-1) / np.abs(mean))
    eligible = np.isfinite(coarse) & np.isfinite(mean)
    return mean, eligible, eligible & (cv <= np.quantile(cv[eligible], 0.8))


def test_fit_is_least_squares_over_the_homogeneous_cells(sharpened, phase):
    """science.md §4.2 step 3 by hand: cells with an LST and nine NDVI pixels, the 80 %
    lowest CV (population std / |mean|) of their NDVI, LST = a + b·mean NDVI."""
    lst, ndvi = _read(sharpened, "lst_median"), _read(sharpened, "ndvi_median")
    coarse, blocks = _coarse_lst(lst, phase), _blocks(ndvi, phase)
    mean, _, chosen = _homogeneous(coarse, blocks)
    b, a = np.polyfit(mean[chosen], coarse[chosen], 1)
    r = np.corrcoef(mean[chosen], coarse[chosen])[0, 1]
    fit = _manifest(sharpened)["extra"]["sharpen"]
    assert fit["n_cells"] == int(chosen.sum()) > 1000
    np.testing.assert_allclose([fit["a"], fit["b"], fit["r2"]], [a, b, r * r], rtol=1e-6)
    assert fit["b"] < 0  # greener is cooler in the demo city


def test_tiled_run_gives_the_one_piece_sharpened_raster(sharpened, demo_folder, tmp_path):
    config = _config(demo_folder, **SHARPEN)
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=128)  # 128: not whole 3x3 blocks
    grid = _read(tmp_path / "tiled", NAME)
    assert len(run_tiles.tiles_of(_geobox(tmp_path / "tiled"), 128)) == 12
    whole = _read(sharpened, NAME)
    np.testing.assert_array_equal(np.isnan(grid), np.isnan(whole))
    np.testing.assert_allclose(grid, whole, rtol=0, atol=1e-6, equal_nan=True)
    one, many = (_manifest(f)["extra"]["sharpen"] for f in (sharpened, tiled.folder))
    for key in FIT_KEYS:
        assert many[key] == pytest.approx(one[key], rel=1e-12, abs=1e-12), key


#: The index composites of the keep-water sharpening tests: Landsat's reflectance (its NDVI
#: from the LST's own 30 m pixels, so one value over each cell) and Sentinel-2's with the SCL
#: preset keeping water (class 6, which the default preset drops), whose NDVI varies inside
#: the cells.
KEEP_WATER_INDICES = {
    "landsat": {"composite.indices_from": "landsat"},
    "sentinel2": {"mask.sentinel2_preset": "conservative"},
}


@pytest.fixture(scope="module", params=list(KEEP_WATER_INDICES))
def kept_water(request, demo_folder, tmp_path_factory):
    """Sharpened 10 m runs with ``mask.lst_keep_water``, their indices of one sensor: the
    sensor's name and the run folders by ``mask.indices_keep_water`` (False, the default:
    ``ndvi_median`` NaN on the land cover's water; True: the NDVI with water)."""
    sensor = KEEP_WATER_INDICES[request.param]
    folders = {}
    for keep in (False, True):
        folders[keep] = tmp_path_factory.mktemp(f"{request.param}_indices_keep_water_{keep}")
        overrides = {"mask.lst_keep_water": True, "mask.indices_keep_water": keep}
        run(_config(demo_folder, **SHARPEN, **sensor, **overrides), out=folders[keep])
    return request.param, folders


def test_with_lst_keep_water_the_lst_is_sharpened_over_water(kept_water, demo_folder):
    """mask.lst_keep_water with the default mask.indices_keep_water: the fit and the
    sharpening read the NDVI with water (the oracle reads it from the run keeping it in its
    ndvi_median). By hand: the least-squares fit over the homogeneous cells, water cells
    among them, then T_f = a + b·NDVI_f + ΔT_c on the water."""
    sensor, folders = kept_water
    folder = folders[False]
    phase = _landsat_phase(demo_folder, folder)
    lst, out = _read(folder, "lst_median"), _read(folder, NAME)
    water = _blocks(_read(folder, "landcover"), phase) == LandCover.WATER
    land_ndvi = _blocks(_read(folder, "ndvi_median"), phase)
    assert np.isnan(land_ndvi[water]).all()  # ndvi_median leaves water out
    coarse, fine = _coarse_lst(lst, phase), _blocks(out, phase)
    blocks = _blocks(_read(folders[True], "ndvi_median"), phase)
    mean, eligible, chosen = _homogeneous(coarse, blocks)
    assert (chosen & water.all(axis=-1)).sum() > 50  # the river's cells are fitted
    b, a = np.polyfit(mean[chosen], coarse[chosen], 1)
    fit = _manifest(folder)["extra"]["sharpen"]
    assert fit["ndvi"] == "ndvi_with_water" and fit["n_cells"] == int(chosen.sum())
    np.testing.assert_allclose([fit["a"], fit["b"]], [a, b], rtol=1e-6)
    # A fit on the land's cells alone (ndvi_median's) is another: the check above tells.
    land_mean, _, land_chosen = _homogeneous(coarse, land_ndvi)
    land_b = np.polyfit(land_mean[land_chosen], coarse[land_chosen], 1)[0]
    assert abs(land_b - b) > 0.01 * abs(b) and int(land_chosen.sum()) != fit["n_cells"]
    predicted = a + b * blocks
    residual = coarse - _radiance_mean(predicted)
    on_water = water & eligible[..., None]
    assert on_water.sum() > 1000
    np.testing.assert_allclose(fine[on_water], (predicted + residual[..., None])[on_water],
                               rtol=0, atol=1e-3)  # fmt: skip
    if sensor == "sentinel2":  # the NDVI varies inside the river's cells: so does their LST
        inside = (water.all(axis=-1) & eligible)[..., None] & np.ones(9, bool)
        varied = np.ptp(np.where(inside, blocks, 0.0), axis=-1) > 0.05
        assert varied.sum() > 20
        assert (np.ptp(fine[varied], axis=-1) > 0.04 * abs(b)).all()


def test_with_lst_keep_water_the_sharpened_lst_is_the_same_whatever_indices_keep_water(
    kept_water,
):
    """The run keeping water in its NDVI composite sharpens with ndvi_median, the default
    one with the NDVI with water: the same NDVI, so the same raster and fit."""
    _, folders = kept_water
    np.testing.assert_array_equal(_read(folders[False], NAME), _read(folders[True], NAME))
    default, kept = (_manifest(folders[keep])["extra"]["sharpen"] for keep in (False, True))
    assert (default["ndvi"], kept["ndvi"]) == ("ndvi_with_water", "ndvi_median")
    assert {**default, "ndvi": None} == {**kept, "ndvi": None}
    tags = [_tags(folders[keep], NAME)["sharpen_ndvi"] for keep in (False, True)]
    assert tags == ["ndvi_with_water", "ndvi_median"]


@pytest.mark.parametrize("kept_water", ["sentinel2"], indirect=True)
def test_with_lst_keep_water_a_tiled_run_sharpens_as_the_one_piece_run(
    kept_water, demo_folder, tmp_path
):
    """In 12 processing tiles (128 px: not whole 3 x 3 blocks) the with-water NDVI the
    sharpening reads is the mosaic of the tiles' checkpointed pieces: the raster and the fit
    are the one-piece run's, both recorded as read with the NDVI with water, and the land
    cover's water (NaN in ndvi_median) has sharpened values wherever its 30 m cell has an
    LST and the run keeping water in its NDVI composite has an NDVI there."""
    sensor, folders = kept_water
    whole = folders[False]
    overrides = {"mask.lst_keep_water": True, **KEEP_WATER_INDICES[sensor]}
    config = _config(demo_folder, **SHARPEN, **overrides)
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=128)
    assert len(run_tiles.tiles_of(_geobox(tiled.folder), 128)) == 12
    out = _read(tiled.folder, NAME)
    np.testing.assert_array_equal(out, _read(whole, NAME))
    one, many = (_manifest(f)["extra"]["sharpen"] for f in (whole, tiled.folder))
    assert one["ndvi"] == many["ndvi"] == "ndvi_with_water"
    for key in FIT_KEYS:
        assert many[key] == pytest.approx(one[key], rel=1e-12, abs=1e-12), key
    assert _tags(whole, NAME)["sharpen_ndvi"] == _tags(tiled.folder, NAME)["sharpen_ndvi"]
    assert _tags(tiled.folder, NAME)["sharpen_ndvi"] == "ndvi_with_water"
    # The water: no NDVI in ndvi_median, a sharpened LST where the oracle has both inputs.
    phase = _landsat_phase(demo_folder, tiled.folder)
    water = _blocks(_read(tiled.folder, "landcover"), phase) == LandCover.WATER
    assert np.isnan(_blocks(_read(tiled.folder, "ndvi_median"), phase)[water]).all()
    coarse = _coarse_lst(_read(tiled.folder, "lst_median"), phase)
    with_ndvi = np.isfinite(_blocks(_read(folders[True], "ndvi_median"), phase))
    sharpened = water & np.isfinite(coarse)[..., None] & with_ndvi
    assert sharpened.sum() > 1000
    assert np.isfinite(_blocks(out, phase)[sharpened]).all()


def test_without_lst_keep_water_the_sharpening_reads_ndvi_median(sharpened):
    """The manifest and the raster's tags name the NDVI the LST was sharpened with."""
    assert _manifest(sharpened)["extra"]["sharpen"]["ndvi"] == "ndvi_median"
    assert _tags(sharpened, NAME)["sharpen_ndvi"] == "ndvi_median"


@pytest.mark.parametrize(
    ("enabled", "lst_keep_water", "indices_keep_water", "with_water"),
    [
        (True, True, False, True),
        (False, True, False, False),  # no sharpening: the NDVI with water is not kept
        (True, False, False, False),  # the LST leaves water out too
        (True, True, True, False),  # ndvi_median has water: it is the NDVI with water
    ],
)
def test_the_ndvi_with_water_is_kept_only_when_the_sharpening_reads_it(
    demo_folder, enabled, lst_keep_water, indices_keep_water, with_water
):
    """The rule (run._sharpens_with_water) that keeps the with-water NDVI past the tiles
    pass: only for a sharpening that keeps water where the NDVI composite leaves it out.
    Its effect on the run is the over-water tests' (the fit and raster)."""
    config = _config(
        demo_folder,
        **{
            "sharpen.enabled": enabled,
            "mask.lst_keep_water": lst_keep_water,
            "mask.indices_keep_water": indices_keep_water,
        },
    )
    assert _sharpens_with_water(config) is with_water


def _geobox(folder: Path) -> GeoBox:
    with rasterio.open(folder / "rasters" / "lst_median.tif") as src:
        return GeoBox(src.shape, src.transform, src.crs)


def test_off_by_default_no_raster_and_no_fit(demo_folder, tmp_path):
    result = run(_config(demo_folder), out=tmp_path / "off")
    assert not (tmp_path / "off" / "rasters" / f"{NAME}.tif").exists()
    manifest = _manifest(tmp_path / "off")
    assert "sharpen" not in manifest["extra"] and "sharpen" not in manifest["timings"]
    assert manifest["config"]["sharpen"]["enabled"] is False
    assert not any("sharpen" in w for w in manifest["warnings"]) and result.sharpen is None
    assert (tmp_path / "off" / "rasters" / "lst_median.tif").is_file()


@pytest.mark.parametrize("resolution", [30, 20, 60])
def test_sharpening_onto_a_grid_that_does_not_divide_30_m_is_a_config_error(
    demo_folder, resolution
):
    """Refused when the config is read, not after the whole run."""
    with pytest.raises(ConfigError) as err:
        _config(demo_folder, **SHARPEN, **{"grid.resolution": resolution})
    message = str(err.value)
    assert "sharpen.enabled" in message and f"grid.resolution is {resolution}" in message
    assert "set grid.resolution to 10 or 15" in message and "\n" not in message
    assert _config(demo_folder, **SHARPEN, **{"grid.resolution": 15}).sharpen.enabled


def test_the_dry_run_says_what_sharpening_adds(demo_folder):
    from pipelines.run_plan import plan

    text = plan(_config(demo_folder, **SHARPEN)).summary()
    line = next(t for t in text.splitlines() if t.startswith("sharpened LST:"))
    assert "rasters/lst_median_sharpened.tif" in line and "GB more memory" in line
    assert "sharpened LST" not in plan(_config(demo_folder)).summary()


def test_too_few_homogeneous_cells_writes_no_raster_and_says_why(demo_folder, tmp_path):
    """A CV quantile of 1e-4 of the area's ~13,000 cells keeps one or two: fewer than 10."""
    config = _config(demo_folder, **SHARPEN, **{"sharpen.cv_quantile": 1e-4})
    run(config, out=tmp_path / "r")
    manifest = _manifest(tmp_path / "r")
    notes = [w for w in manifest["warnings"] if w.startswith("sharpen:")]
    assert len(notes) == 1 and "homogeneous" in notes[0] and "sharpen.cv_quantile" in notes[0]
    assert not (tmp_path / "r" / "rasters" / f"{NAME}.tif").exists()


def test_sharpen_settings_do_not_recompute_a_tiled_runs_pieces(demo_folder):
    """Read after the tiles: the checkpoints' fingerprint leaves the section out."""
    off = _config(demo_folder)
    on = apply_overrides(off, {"sharpen": {"enabled": True, "basis": "tsharp"}})
    assert config_digest(on) != config_digest(off)
    assert config_digest(on, without=NOT_IN_PIECES) == config_digest(off, without=NOT_IN_PIECES)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"enabled": True, "bases": "ndvi"}, "sharpen.bases: unknown key"),
        ({"basis": "dms"}, "sharpen.basis: must be one of ndvi, tsharp"),
        ({"correction": "none"}, "sharpen.correction: must be one of average, linreg"),
        ({"cv_quantile": 0}, "sharpen.cv_quantile: must be > 0"),
    ],
)
def test_bad_sharpen_settings_are_one_line_errors(demo_folder, section, message):
    with pytest.raises(ConfigError) as err:
        apply_overrides(load_config(demo_folder / "config.yaml"), {"sharpen": section})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_outputs_rasters_and_sharpen_must_agree(demo_folder):
    base = apply_overrides(load_config(demo_folder / "config.yaml"),
                           {"scenarios": [], "grid.resolution": 10})  # fmt: skip
    with pytest.raises(ConfigError, match="leaves out lst_median_sharpened"):
        apply_overrides(base, {"sharpen.enabled": True, "outputs.rasters": ["lst_median"]})
    with pytest.raises(ConfigError, match=r"lst_median_sharpened needs sharpen\.enabled"):
        apply_overrides(base, {"outputs.rasters": ["lst_median", NAME]})
    both = apply_overrides(base, {"sharpen.enabled": True, "outputs.rasters": [NAME]})
    assert both.outputs.rasters == (NAME,)


def test_a_run_without_ndvi_writes_no_raster_and_says_why():
    """Without NDVI (the run's ndvi_median an empty placeholder, given as None)."""
    grid = GeoBox((30, 30), from_origin(600_000.0, 5_400_000.0, 10.0, 10.0), "EPSG:32631")
    coords = xr_coords(grid, crs_coord_name="spatial_ref")
    lst = xr.DataArray(np.full((30, 30), 300.0, np.float32), dims=("y", "x"), coords=coords)
    notes: list[str] = []
    assert sharpen_composite(SharpenConfig(enabled=True), lst, None, "EPSG:32631", notes) is None
    assert len(notes) == 1 and "no NDVI composite" in notes[0] and "inputs.sentinel2" in notes[0]


def _lst_and_ndvi(lst_value: float, shape=(30, 30)) -> tuple[xr.DataArray, xr.DataArray]:
    grid = GeoBox(shape, from_origin(600_000.0, 5_400_000.0, 10.0, 10.0), "EPSG:32631")
    coords = xr_coords(grid, crs_coord_name="spatial_ref")
    lst = xr.DataArray(np.full(shape, lst_value, np.float32), dims=("y", "x"), coords=coords)
    ndvi = lst * 0 + np.linspace(0.1, 0.8, shape[1], dtype=np.float32)
    return lst.assign_attrs(units="K"), ndvi


def test_no_cell_with_an_lst_says_so_not_to_raise_cv_quantile():
    lst, ndvi = _lst_and_ndvi(np.nan)
    notes: list[str] = []
    assert sharpen_composite(SharpenConfig(enabled=True), lst, ndvi, "EPSG:32631", notes) is None
    assert len(notes) == 1 and "no 30 m cell has both an LST and an NDVI" in notes[0]
    assert "cv_quantile" not in notes[0]


def _gather(rows: list[int], cols: list[int]) -> NativeGather:
    grid = GeoBox((len(rows), len(cols)), from_origin(0.0, 0.0, 10.0, 10.0), "EPSG:32631")
    return NativeGather(grid, np.array(rows), np.array(cols), grid)


@pytest.mark.parametrize(
    ("rows", "cols", "expected"),
    [
        ([0, 0, 1, 1, 1, 2, 2, 2, 3], [0, 1, 1, 1, 2, 2, 2, 3], (2, 1)),
        ([0, 0, 0, 1, 1, 1], [5, 6, 6, 6, 7, 7, 7], (0, 1)),
        ([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1], None),  # runs of 2: not 3 per pixel
        ([0, 0, 1, 1, 1, 1, 2], [0, 0, 0], None),  # a run of 4
    ],
)
def test_landsat_phase_is_where_the_runs_of_one_landsat_pixel_start(rows, cols, expected):
    assert landsat_phase(_gather(rows, cols), 3) == expected
    assert landsat_phase(None, 3) is None
