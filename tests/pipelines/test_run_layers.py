"""``ilots run`` with an external land-cover map, a built urban footprint and a DEM filter."""

import json
import math
import re
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
import xarray as xr
from affine import Affine
from rasterio.transform import from_origin

from pipelines import run_layers
from pipelines.config import apply_overrides, load_config
from pipelines.config.load import config_from_dict
from pipelines.demo_city import make_city
from pipelines.run import run
from raster.landcover import WORLDCOVER_MAPPING
from tests.centres import (
    assert_count_and_mean,
    centres_in,
    mean_shift_bound,
    most_centres_on_boundary,
)
from tests.conftest import raise_if_dask_computes
from tiles.errors import ConfigError, IlotsWarning, collected_warnings

#: Synthetic city class -> an ESA WorldCover code (water, trees, grass, built, built, bare).
CITY_TO_WORLDCOVER = {1: 80, 2: 10, 3: 30, 4: 50, 5: 50, 6: 60}


def _write(path, array, transform, crs, nodata=None):
    with rasterio.open(
        path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
        dtype=array.dtype, crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(array, 1)


@pytest.fixture(scope="module")
def city():
    return make_city()


@pytest.fixture(scope="module")
def worldcover(city, tmp_path_factory):
    """The city's classes as a 10 m WorldCover-coded map on the city's own grid."""
    codes = np.zeros(city.landcover.shape, dtype=np.uint8)
    for klass, code in CITY_TO_WORLDCOVER.items():
        codes[city.landcover == klass] = code
    path = tmp_path_factory.mktemp("lc") / "worldcover.tif"
    transform = from_origin(*city.origin, city.resolution, city.resolution)
    _write(path, codes, transform, f"EPSG:{city.crs}", nodata=0)
    return path, codes, transform


def _config(demo_folder, out, **overrides):
    config = load_config(demo_folder / "config.yaml")
    return apply_overrides(config, {"outputs.folder": str(out), **overrides})


#: Tile size of the tiled runs: 2 x 2 processing tiles of the demo's 548-pixel grid.
TILE_PX = 300

#: One piece, and 2 x 2 processing tiles (land cover and masks derived from the tiles' pieces).
TILINGS = pytest.mark.parametrize("tile_size", [None, TILE_PX], ids=["one-piece", "tiled"])


@TILINGS
def test_external_landcover_is_the_recoded_map(demo_folder, worldcover, tmp_path, tile_size):
    path, codes, transform = worldcover
    config = _config(
        demo_folder,
        tmp_path / "run",
        **{"landcover.external": {"path": str(path), "mapping": "worldcover"}},
    )
    result = run(config, tile_size_px=tile_size)
    # only that the 10 m map is sampled on the 30 m grid (test_a_finer_map_is_said_sampled)
    assert [w.code for w in result.warnings if "landcover.external" in w] == [
        "landcover_map_sampled"
    ]
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        got, grid = src.read(1), src.transform
    # Oracle: the 10 m code under each 30 m pixel centre (nearest neighbour), recoded by hand.
    rows, cols = np.mgrid[0 : got.shape[0], 0 : got.shape[1]]
    x, y = grid * (cols + 0.5, rows + 0.5)
    col10, row10 = ~transform * (x, y)
    col10, row10 = np.floor(col10).astype(int), np.floor(row10).astype(int)
    inside = (row10 >= 0) & (row10 < codes.shape[0]) & (col10 >= 0) & (col10 < codes.shape[1])
    expected = np.zeros(got.shape, dtype=np.uint8)
    lut = np.zeros(256, dtype=np.uint8)
    for code, klass in WORLDCOVER_MAPPING.items():
        lut[code] = klass
    expected[inside] = lut[codes[row10[inside], col10[inside]]]
    assert np.array_equal(got, expected)
    # The per-zone class shares come from that map: over the equal-area IRIS, the mean built
    # share is the built share of the pixels in their union (pixel-centre rule, so loosely).
    iris = result.zones["iris"]
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        crs = src.crs
    union = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs(crs).union_all()
    centre_in = rasterio.features.geometry_mask([union], got.shape, grid, invert=True)
    assert iris["lc_built_frac"].mean() == pytest.approx(
        (expected[centre_in] == 4).mean(), abs=0.01
    )


def test_an_external_map_off_the_area_or_in_part_is_said(demo_folder, worldcover, tmp_path):
    """A map 100 km away stops the run before any pixel is read; a map of the western half of
    the grid runs with a warning saying the share covered (computed here from the bounds)."""
    from pipelines import run_layers

    _, codes, transform = worldcover
    like = _like()
    away = tmp_path / "away.tif"
    _write(away, codes, transform * Affine.translation(10_000, 0), f"EPSG:{make_city().crs}", 0)
    mapped = {"landcover.external": {"path": str(away), "mapping": "worldcover"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with pytest.raises(ConfigError, match=r"landcover.external.path: .*away.tif does not cover "
                       r"the run's grid .*its bounds \(.*\) in EPSG:32631"):  # fmt: skip
        run_layers.external_landcover(config, like)
    box = like.odc.geobox
    half = tmp_path / "half.tif"
    west = box[:, : box.shape.x // 4]  # the western quarter of the grid, at its resolution
    _write(half, np.full(west.shape.yx, 50, np.uint8), west.transform, str(box.crs), 0)
    mapped = {"landcover.external": {"path": str(half), "mapping": "worldcover"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with pytest.warns(IlotsWarning, match=r"half.tif covers 25% of the run's grid .* class "
                      r"shares count the covered part only"):  # fmt: skip
        classes = run_layers.external_landcover(config, like)
    assert (classes.values[:, : box.shape.x // 4] == 4).all()
    assert (classes.values[:, box.shape.x // 4 :] == 0).all()


def test_a_global_or_continental_file_covers_the_grid(demo_folder, tmp_path):
    """A worldwide DEM in degrees (a VRT of tiles, WorldCover) covers the demo's grid: its
    extent is never projected into the grid's UTM zone, where it breaks (share 0)."""
    from odc.geo.geobox import GeoBox

    from pipelines import run_layers

    grid = _like().odc.geobox
    world = GeoBox.from_bbox((-180, -90, 180, 90), crs="EPSG:4326", resolution=0.5)
    europe = GeoBox.from_bbox((2_500_000, 1_400_000, 7_400_000, 5_500_000), crs="EPSG:3035",
                              resolution=1000)  # fmt: skip
    assert run_layers._covered_share(world, grid) == pytest.approx(1.0)
    assert run_layers._covered_share(europe, grid) == pytest.approx(1.0)
    dem = tmp_path / "world.tif"
    _write(dem, np.full(world.shape.yx, 150.0, np.float32), world.transform, "EPSG:4326")
    config = _config(demo_folder, tmp_path / "x", **{"heat_island.dem": str(dem)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)  # no error, no partial-cover warning
        elevation = run_layers.dem_on_grid(config, _like())
    assert elevation.shape == grid.shape.yx


def test_an_external_map_whose_crs_does_not_fit_is_one_line(demo_folder, worldcover, tmp_path):
    """The demo's map tagged with the next UTM zone: PROJ/GEOS fail on its footprint."""
    from pipelines import run_layers

    _, codes, transform = worldcover
    wrong = tmp_path / "wrong.tif"
    _write(wrong, codes, transform, "EPSG:32630", 0)
    mapped = {"landcover.external": {"path": str(wrong), "mapping": "worldcover"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with pytest.raises(ConfigError) as caught:
        run_layers.external_landcover(config, _like())
    message = str(caught.value)
    assert message.startswith("landcover.external.path: ") and "\n" not in message
    assert "wrong.tif" in message
    assert "check the file" in message


def _degrees_east(path, shift_deg):
    """A 4326 WorldCover-like map (built, 50) of the test grid's extent moved east, written."""
    west, south, east, north = 1.2, 43.5, 1.45, 43.7  # around the grid (lon 1.27-1.38)
    res = 0.0005
    shape = (round((north - south) / res), round((east - west) / res))
    transform = from_origin(west + shift_deg, north, res, res)
    _write(path, np.full(shape, 50, np.uint8), transform, "EPSG:4326", 0)
    return path


@pytest.mark.parametrize("key", ["landcover.external", "heat_island.dem"])
def test_a_file_in_another_crs_off_the_grid_is_said_not_to_cover_it(demo_folder, tmp_path, key):
    """The next tile east (1.5 degrees of longitude) in EPSG:4326: its footprint misses the
    grid, which the coverage says (share 0) before the reprojection fails on it in GEOS
    ("Points of LinearRing do not form a closed linestring"). Before, the user read "check
    the file's CRS" of a file whose CRS is right."""
    far = _degrees_east(tmp_path / "far.tif", 1.5)
    mapped = key == "landcover.external"
    value = {"path": str(far), "mapping": "worldcover"} if mapped else str(far)
    config = _config(demo_folder, tmp_path / "run", **{key: value})
    layer = run_layers.external_landcover if mapped else run_layers.dem_on_grid
    with pytest.raises(ConfigError) as caught:
        layer(config, _like())
    message = str(caught.value)
    assert message.startswith(("landcover.external.path: ", "heat_island.dem: "))
    assert "far.tif does not cover the run's grid" in message and "\n" not in message
    assert "in EPSG:4326" in message and "cannot be placed" not in message


def _laea_map(path, grid, split_x, left, right, dtype=np.uint8):
    """A 100 m EPSG:3035 map over ``grid`` (1 km margin): code ``left`` west of the LAEA
    easting ``split_x``, ``right`` east of it."""
    box = grid.extent.to_crs("EPSG:3035").boundingbox
    west, north = math.floor(box.left / 100) * 100 - 1000, math.ceil(box.top / 100) * 100 + 1000
    width = int((box.right + 1000 - west) // 100) + 1
    height = int((north - (box.bottom - 1000)) // 100) + 1
    eastings = west + 50 + 100 * np.arange(width)
    codes = np.where(eastings < split_x, left, right).astype(dtype)
    _write(path, np.broadcast_to(codes, (height, width)).copy(),
           from_origin(west, north, 100, 100), "EPSG:3035")  # fmt: skip
    return path


def test_the_eea_corine_raster_reads_as_its_classes(demo_folder, tmp_path):
    """The EEA's CLC raster (EPSG:3035, 100 m, grid codes): code 1 (111, continuous urban
    fabric) west of an easting, 23 (311, broad-leaved forest) east of it, under 'corine_grid'.
    Oracle: each grid pixel's centre taken to EPSG:3035 by pyproj, away from the split."""
    from pyproj import Transformer

    like = _like()
    grid = like.odc.geobox
    box = grid.extent.to_crs("EPSG:3035").boundingbox
    split = round((box.left + box.right) / 2, -2)
    clc = _laea_map(tmp_path / "U2018_CLC2018_V2020_20u1.tif", grid, split, 1, 23)
    mapped = {"landcover.external": {"path": str(clc), "mapping": "corine_grid"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IlotsWarning)  # no unknown code, no partial cover
        classes = run_layers.external_landcover(config, like).values
    xs, ys = np.meshgrid(like["x"].values, like["y"].values)
    laea_x, _ = Transformer.from_crs(grid.crs.to_wkt(), "EPSG:3035", always_xy=True).transform(
        xs, ys
    )
    clear = np.abs(laea_x - split) > 150  # a 100 m map pixel and a half from the split
    expected = np.where(laea_x < split, 4, 2)  # built, dense vegetation
    np.testing.assert_array_equal(classes[clear], expected[clear])


def test_a_map_its_mapping_nearly_all_lacks_stops_before_the_compute(demo_folder, tmp_path):
    """A CORINE map of three-digit codes under 'worldcover': every code unknown, which gave
    a land cover of no data and a run ending well (one warning). Now a one-line error, before
    any compute, naming the codes found (most frequent first) and the mapping that reads
    them."""
    like = _like()
    grid = like.odc.geobox
    box = grid.extent.to_crs("EPSG:3035").boundingbox
    split = box.left + 0.75 * (box.right - box.left)  # 112 on about three quarters
    clc = _laea_map(tmp_path / "clc.tif", grid, split, 112, 311, np.uint16)
    mapped = {"landcover.external": {"path": str(clc), "mapping": "worldcover"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        run_layers.external_landcover(config, like)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "landcover.external.mapping: 100% of the pixels of clc.tif over the run's grid have "
        "codes the 'worldcover' mapping lacks (112, 311): "
    )
    assert message.endswith("set mapping: corine")
    # A map with a few codes its mapping lacks (a tenth of the pixels) runs, with a warning.
    few = _laea_map(tmp_path / "few.tif", grid, box.left + 0.9 * (box.right - box.left), 50, 7)
    mapped = {"landcover.external": {"path": str(few), "mapping": "worldcover"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    classes = run_layers.external_landcover(config, like)
    # Collected as a run collects them: pytest.warns, on the process's warnings filters,
    # missed it once in five runs (a library's catch_warnings in another worker thread).
    with warnings.catch_warnings(), collected_warnings() as said:
        warnings.simplefilter("ignore")
        classes.compute()
    assert said and all(re.search(r"codes \[7\]", m) for m in said)
    assert {m.code for m in said} == {"unknown_landcover_codes"}


def _map_in(path, grid, crs, res, west_code, east_code):
    """A map in ``crs`` of pixels ``res`` over ``grid`` (a margin of 20 pixels): code
    ``west_code`` on its western three quarters, ``east_code`` on the rest."""
    box = grid.extent.to_crs(crs).boundingbox
    margin = 20 * res
    west, north = box.left - margin, box.top + margin
    width = math.ceil((box.right + margin - west) / res)
    height = math.ceil((north - (box.bottom - margin)) / res)
    codes = np.full((height, width), west_code, dtype=np.uint8)
    codes[:, 3 * width // 4 :] = east_code
    _write(path, codes, from_origin(west, north, res, res), crs)
    return path


#: The review's stand-ins: an OSO map (Lambert-93, 10 m) of crops, rapeseed (5) and straw
#: cereals (6), and an ESA WorldCover map (degrees, 1/12,000°) of cropland (40) and
#: grassland (30), each under its published file name; and the mappings that read the codes.
STAND_INS = {
    "oso": ("OCS_2023_CESBIO.tif", "EPSG:2154", 10.0, 5, 6, "'oso' and 'corine_grid'",
            "oso or corine_grid"),
    "worldcover": ("ESA_WorldCover_10m_2021_v200_N42E000_Map.tif", "EPSG:4326", 1 / 12_000,
                   40, 30, "'worldcover' and 'corine_grid'", "worldcover or corine_grid"),
}  # fmt: skip


@pytest.mark.parametrize("product", list(STAND_INS))
def test_an_oso_or_worldcover_map_under_corine_stops_the_run(demo_folder, tmp_path, product):
    """'corine' read CORINE's grid codes 1-44 too, so an OSO map under it had its crops (5, 6)
    read as ports and airports (built), a WorldCover map its cropland (40) as water courses:
    the run ended well, without a warning. Named as published, the map is now refused from
    its name; renamed, from its codes (CORINE's are three-digit now), before any compute,
    with the mappings that read them."""
    name, crs, res, west_code, east_code, readers, fix = STAND_INS[product]
    like = _like()
    path = _map_in(tmp_path / name, like.odc.geobox, crs, res, west_code, east_code)
    mapped = {"landcover.external": {"path": str(path), "mapping": "corine"}}
    with pytest.raises(ConfigError) as caught:
        _config(demo_folder, tmp_path / "run", **mapped)
    assert re.fullmatch(
        rf"command line: landcover\.external\.mapping: the file name {re.escape(name)} says "
        rf".*, the mapping 'corine' is CORINE Land Cover's; set mapping: {product}, or a table .*",
        str(caught.value),
    ), str(caught.value)
    renamed = path.rename(tmp_path / "landcover.tif")  # a name that says no product
    mapped = {"landcover.external": {"path": str(renamed), "mapping": "corine"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        run_layers.external_landcover(config, like)
    assert str(caught.value) == (
        "landcover.external.mapping: 100% of the pixels of landcover.tif over the run's grid "
        f"have codes the 'corine' mapping lacks ({west_code}, {east_code}): they are codes the "
        f"{readers} mappings read; set mapping: {fix}, that of the map's product"
    )


def test_the_eea_corine_raster_under_corine_says_corine_grid(demo_folder, tmp_path):
    """The EEA raster's grid codes under 'corine' (three-digit codes): stopped before any
    compute, the one mapping reading them named."""
    like = _like()
    clc = _map_in(tmp_path / "U2018_CLC2018_V2020_20u1.tif", like.odc.geobox, "EPSG:3035",
                  100.0, 41, 1)  # fmt: skip
    mapped = {"landcover.external": {"path": str(clc), "mapping": "corine"}}
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with raise_if_dask_computes(), pytest.raises(ConfigError) as caught:
        run_layers.external_landcover(config, like)
    assert str(caught.value) == (
        "landcover.external.mapping: 100% of the pixels of U2018_CLC2018_V2020_20u1.tif over "
        "the run's grid have codes the 'corine' mapping lacks (41, 1): they are codes the "
        "'corine_grid' mapping reads; set mapping: corine_grid"
    )


def _maybe_oso_said(config, like):
    """The ``landcover_map_maybe_oso`` warnings of reading the map of ``config``."""
    with warnings.catch_warnings(), collected_warnings() as said:
        warnings.simplefilter("ignore")
        run_layers.external_landcover(config, like)
    return [m for m in said if m.code == "landcover_map_maybe_oso"]


def test_an_oso_map_renamed_under_corine_grid_is_said_maybe_oso(demo_folder, tmp_path):
    """OSO's codes (1-23) are all CORINE grid codes: the review's OSO stand-in (Lambert-93,
    10 m, rapeseed 5 and straw cereals 6), renamed so its name says no product, under
    'corine_grid' had its crops read as port areas and airports (built), without a word.
    Now a warning of its kind names the codes and the fix.
    Not for the EEA raster (100 m) whose codes spread over 1-44, nor for OSO's codes at
    CORINE's 100 m (a CORINE map of a city without code over 23)."""
    name, crs, res, west_code, east_code, _, _ = STAND_INS["oso"]
    like = _like()
    grid = like.odc.geobox
    oso = _map_in(tmp_path / name, grid, crs, res, west_code, east_code)
    renamed = oso.rename(tmp_path / "landcover.tif")
    mapped = {"landcover.external": {"path": str(renamed), "mapping": "corine_grid"}}
    with raise_if_dask_computes():
        (said,) = _maybe_oso_said(_config(demo_folder, tmp_path / "run", **mapped), like)
    assert said == (
        "landcover.external.mapping: landcover.tif has codes 5, 6 over the run's grid, all 23 "
        "or under, and pixels of about 10 m, under half CORINE's 100 m: it may be an OSO map "
        "(codes 1-23, 10 m), whose classes 'corine_grid' reads as CORINE's (rapeseed as "
        "built); if so, set mapping: oso"
    )
    for path, codes in (
        (tmp_path / "U2018_CLC2018_V2020_20u1.tif", (41, 1)),  # water bodies, urban fabric
        (tmp_path / "clc_farmland.tif", (west_code, east_code)),
    ):
        clc = _map_in(path, grid, "EPSG:3035", 100.0, *codes)
        mapped = {"landcover.external": {"path": str(clc), "mapping": "corine_grid"}}
        assert _maybe_oso_said(_config(demo_folder, tmp_path / "run", **mapped), like) == []


def test_a_float_maps_nan_is_no_code_for_the_oso_check(tmp_path):
    """A float map with NaN and no nodata tag: its sampled values held NaN, which the OSO
    check took as a code (int(nan): ValueError, the run stopped); NaN is no data."""
    grid = _like().odc.geobox
    codes = np.full(grid.shape.yx, np.nan, dtype=np.float32)
    codes[: grid.shape.y // 2] = 5.0
    codes[grid.shape.y // 2 :, : grid.shape.x // 2] = 6.0
    path = tmp_path / "m.tif"
    _write(path, codes, grid.affine, str(grid.crs))
    values = run_layers._map_sample(path, 1, grid)
    assert values.size and np.isfinite(values).all()
    with pytest.warns(IlotsWarning, match=r"has codes 5, 6 over the run's grid") as said:
        run_layers._warn_oso_under_corine_grid(values, 10.0, path, "corine_grid")
    assert [w.message.code for w in said] == ["landcover_map_maybe_oso"]


def test_a_partial_map_says_the_built_footprint_is_its_covered_part(demo_folder, tmp_path):
    """With heat_island.urban: built, a map of the western quarter of the grid gives an
    urban footprint of that quarter's built pixels: the warning says so, of its kind."""
    box = _like().odc.geobox
    west = box[:, : box.shape.x // 4]
    half = tmp_path / "west.tif"
    _write(half, np.full(west.shape.yx, 50, np.uint8), west.transform, str(box.crs), 0)
    mapped = {"landcover.external": {"path": str(half), "mapping": "worldcover"},
              "heat_island.urban": "built"}  # fmt: skip
    config = _config(demo_folder, tmp_path / "run", **mapped)
    with pytest.warns(IlotsWarning, match=r"west.tif covers 25% of the run's grid") as said:
        run_layers.external_landcover(config, _like())
    (warning,) = [w.message for w in said if w.category is IlotsWarning]
    assert warning.code == "layer_partial_coverage"
    assert str(warning).endswith(
        "the urban footprint (heat_island.urban: built) holds its built pixels only, so the "
        "SUHII is that of the covered part"
    )


@TILINGS
def test_built_urban_footprint(demo_folder, tmp_path, tile_size):
    config = _config(demo_folder, tmp_path / "run", **{"heat_island.urban": "built"})
    result = run(config, tile_size_px=tile_size)
    heat = json.loads((tmp_path / "run" / "heat_island.json").read_text())
    assert "built" in heat["definition"]["urban_definition"]
    # Oracle: built pixels (code 4) of the run's land cover whose centre is in the IRIS union;
    # those whose centre is on its boundary (to 1e-6 m) may be in or out, and are few.
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        classes, transform, crs = src.read(1), src.transform, src.crs
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        lst = src.read(1)
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs(crs)
    union = iris.union_all()
    inside, edge = centres_in(union, classes.shape, transform)
    assert edge.sum() <= most_centres_on_boundary(union, transform.a)
    built = (classes == 4) & np.isfinite(lst)
    composite = heat["composite_lst"]

    def note():  # on a failure only
        return _footprint_note(iris.geometry, transform, built & ~edge, inside, lst, tile_size)

    assert_count_and_mean(composite["urban_pixels"], composite["urban_mean_k"],
                          lst[inside & built], lst[edge & built], note=note)  # fmt: skip
    assert result.heat_island["composite"]["suhii_k"] == heat["composite"]["suhii_k"]


def _footprint_note(zones, transform, pixels, inside, lst, tile_size, shown=5):
    """Say what tells apart the causes of a footprint oracle's failure: of ``pixels`` (the
    oracle's unambiguous candidates), the count and mean of those GDAL's centre rule (the
    run's) burns of the zones (all at once here), the first where it and the oracle's ``inside``
    disagree with their distance to a tile edge, and the GDAL and PROJ versions."""
    import pyproj

    burned = rasterio.features.geometry_mask(zones, pixels.shape, transform, invert=True)
    gdal = pixels & burned
    rows, cols = np.nonzero(gdal != (pixels & inside))
    step = tile_size or max(pixels.shape)

    def from_edge(index, size):  # pixels to the nearest tile (or grid) edge
        return min(index % step, step - 1 - index % step, size - 1 - index)

    apart = [
        f"({r}, {c}, {min(from_edge(r, pixels.shape[0]), from_edge(c, pixels.shape[1]))})"
        for r, c in zip(rows, cols, strict=True)
    ]
    where = f" (row, col, px from a tile edge): {', '.join(apart[:shown])}" if apart else ""
    return (
        f"GDAL's centre rule on the zones burns {gdal.sum()} of them, mean "
        f"{float(lst[gdal].astype(np.float64).mean())!r} K; it and the union disagree on "
        f"{rows.size}{where}; GDAL {rasterio.__gdal_version__}, PROJ {pyproj.proj_version_str}"
    )


def test_built_urban_footprint_needs_landcover(demo_folder, tmp_path):
    # Without Sentinel-2 the land cover comes from the Landsat reflectance (SR_B4, SR_B5).
    config = _config(
        demo_folder, tmp_path / "run", **{"heat_island.urban": "built", "inputs.sentinel2": []}
    )
    run(config)
    heat = json.loads((tmp_path / "run" / "heat_island.json").read_text())
    assert "built" in heat["definition"]["urban_definition"]
    assert heat["composite"]["suhii_k"] > 0
    # No land cover at all (products without reflectance): a one-line error naming the key.
    footprint = xr.DataArray(np.ones((2, 2), bool), dims=("y", "x"))
    with pytest.raises(ConfigError, match=r"heat_island\.urban: 'built' needs a land cover"):
        run_layers.urban_footprint(config, footprint, None)


def _dem(city, path, elevation):
    transform = from_origin(*city.origin, 50.0, 50.0)
    n = int(city.landcover.shape[0] * city.resolution / 50.0)
    array = np.broadcast_to(np.asarray(elevation(n), dtype=np.float32), (n, n)).copy()
    _write(path, array, transform, f"EPSG:{city.crs}")
    return path


def test_flat_dem_keeps_the_reference(demo_run, demo_folder, city, tmp_path):
    """A DEM at one elevation everywhere filters nothing: same reference as without it (the
    demo's run, of the same config without the DEM)."""
    _, plain = demo_run
    dem = _dem(city, tmp_path / "flat.tif", lambda n: np.full((n, n), 150.0))
    filtered = run(_config(demo_folder, tmp_path / "dem", **{"heat_island.dem": str(dem)}))
    a, b = plain.heat_island, filtered.heat_island
    assert "elevation within" in b["definition"]["reference_definition"]
    assert a["composite"]["rural_pixels"] == b["composite"]["rural_pixels"]
    assert a["composite"]["suhii_k"] == pytest.approx(b["composite"]["suhii_k"], rel=1e-12)


def test_dem_removes_high_ground_from_the_reference(demo_run, demo_folder, city, tmp_path):
    """East of a step, the country is 400 m higher than the city: out of the ±50 m band (the
    demo's run, of the same config without the DEM, keeps it)."""

    def east_high(n):
        return np.where(np.arange(n) >= n // 2 + n // 8, 550.0, 150.0)[None, :]

    dem = _dem(city, tmp_path / "east.tif", east_high)
    _, plain = demo_run
    filtered = run(_config(demo_folder, tmp_path / "dem", **{"heat_island.dem": str(dem)}))
    kept, all_ = filtered.heat_island["composite"], plain.heat_island["composite"]
    assert 0 < kept["rural_pixels"] < all_["rural_pixels"]


def test_tiled_dem_run_takes_the_urban_elevation_once(demo_folder, city, tmp_path, monkeypatch):
    """The DEM filter's urban median elevation is a whole-grid reduction: a tiled run computes
    it once (not once per tile's window of the reference mask) and equals the one-piece run."""
    from pipelines import run_layers, run_tiles

    def east_high(n):
        return np.where(np.arange(n) >= n // 2 + n // 8, 550.0, 150.0)[None, :]

    dem = _dem(city, tmp_path / "east.tif", east_high)
    config = _config(demo_folder, tmp_path / "x", **{"heat_island.dem": str(dem)})
    computed = []
    real = run_layers._nanmedian

    def counted(data):
        median = real(data)
        meta = np.empty((), dtype=median.dtype)  # given: dask does not call the function for it
        return median.map_blocks(lambda m: computed.append(1) or m, meta=meta)

    monkeypatch.setattr(run_layers, "_nanmedian", counted)
    whole = run(config, out=tmp_path / "whole")
    computed.clear()
    tiled = run(config, out=tmp_path / "tiled", tile_size_px=TILE_PX)
    assert len(run_tiles.tiles_of(_grid_of(config), TILE_PX)) > 1
    assert len(computed) == 1
    a, b = whole.heat_island["composite"], tiled.heat_island["composite"]
    assert a["rural_pixels"] == b["rural_pixels"] and a["urban_pixels"] == b["urban_pixels"]
    assert a["suhii_k"] == pytest.approx(b["suhii_k"], rel=1e-12)


def _grid_of(config):
    from pipelines.config import area_of_interest
    from pipelines.run_graph import analysis_grid

    return analysis_grid(config, area_of_interest(config))


def test_reference_mask_elevation_band(demo_folder, tmp_path):
    """On the DEM's own grid: the reference is the ring minus the cells outside ±50 m of the
    urban median elevation (hand-made masks, exact)."""
    from pipelines import run_layers

    like = _like()
    ny, nx = like.shape
    elevation = np.full((ny, nx), 150.0, dtype=np.float32)
    elevation[:, nx // 2 :] = 550.0  # east half high
    elevation[: ny // 4, : nx // 4] = 190.0  # within the band: kept
    dem = tmp_path / "dem.tif"
    _write(dem, elevation, like.odc.geobox.transform, "EPSG:32631")
    config = _config(demo_folder, tmp_path / "x", **{"heat_island.dem": str(dem)})
    ring = like == 0  # every cell
    urban = like.copy(data=np.zeros((ny, nx), bool))
    urban[ny // 2 - 5 : ny // 2 + 5, nx // 2 - 20 : nx // 2 - 10] = True  # median 150 m
    with raise_if_dask_computes():
        mask = run_layers.reference_mask(config, ring, urban, None)
    expected = np.abs(elevation - 150.0) <= 50.0
    assert np.array_equal(mask.values, expected)


def test_external_landcover_graph_is_lazy(demo_folder, worldcover, tmp_path):
    from pipelines import run_layers

    path, _, _ = worldcover
    config = _config(
        demo_folder,
        tmp_path / "run",
        **{"landcover.external": {"path": str(path), "mapping": "worldcover"}},
    )
    with raise_if_dask_computes():
        classes = run_layers.external_landcover(config, _like())
    assert classes.chunks is not None
    assert classes.dtype == np.uint8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(np.unique(classes.values)) <= {0, 1, 2, 3, 4, 5}


def test_an_external_map_is_opened_twice_not_three_times(demo_folder, worldcover, tmp_path,
                                                          monkeypatch):  # fmt: skip
    """The lazy array's open gives the map's pixel size too (it took a third open); the
    decimated read of its codes over the grid is the other. The compute reads through the
    first."""
    path, _, transform = worldcover
    config = _config(
        demo_folder,
        tmp_path / "run",
        **{"landcover.external": {"path": str(path), "mapping": "worldcover"}},
    )
    opened = []
    real_open = rasterio.open

    def counting_open(fp, *args, **kwargs):
        if str(fp) == str(path):
            opened.append(fp)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", counting_open)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 10 m map sampled on a 30 m grid
        classes = run_layers.external_landcover(config, _like())
        classes.compute(scheduler="threads")
    assert len(opened) == 2
    assert classes.attrs["source_pixel_m"] == pytest.approx(transform.a)  # the map's 10 m


def _like():
    import odc.geo.xr  # noqa: F401
    import xarray as xr
    from odc.geo.geobox import GeoBox

    gbox = GeoBox.from_bbox((360000, 4827000, 369000, 4836000), "EPSG:32631", resolution=30)
    y, x = gbox.coordinates["y"].values, gbox.coordinates["x"].values
    data = xr.DataArray(np.zeros(gbox.shape, np.float32), dims=("y", "x"), coords={"y": y, "x": x})
    return data.odc.assign_crs(gbox.crs).chunk({"y": 128, "x": 128})


def _off_water(values, run_folder):
    """``values`` with NaN where the run's land cover says water (1): the run has no LST
    there (``mask.lst_keep_water`` false)."""
    with rasterio.open(run_folder / "rasters" / "landcover.tif") as src:
        return np.where(src.read(1) == 1, np.nan, values)


def _nan_percentile(values, q):
    """Per-pixel ``q``-th percentile over axis 0 of the finite values, numpy's linear rule
    (science.md Z-7) by hand: sorted with NaN last, the value at rank (n - 1) q / 100 of the
    pixel's n values, interpolated between its neighbours; NaN where n is 0. Vectorised:
    ``np.nanpercentile`` along an axis loops over the pixels in Python (~20 s here)."""
    ranked = np.sort(values, axis=0)  # NaN sort last
    n = (~np.isnan(values)).sum(axis=0)
    rank = np.maximum(n - 1, 0) * (q / 100.0)
    low = np.floor(rank).astype(int)
    high = np.minimum(low + 1, np.maximum(n - 1, 0))
    at_low = np.take_along_axis(ranked, low[None], axis=0)[0]
    at_high = np.take_along_axis(ranked, high[None], axis=0)[0]
    return np.where(n > 0, at_low + (rank - low) * (at_high - at_low), np.nan)


def test_the_percentile_oracle_is_numpys():
    """:func:`_nan_percentile` against ``np.nanpercentile`` on pixels of 0 to 5 values."""
    rng = np.random.default_rng(5)
    values = rng.normal(300, 5, (5, 400))
    values[rng.random(values.shape) < 0.4] = np.nan
    values[:, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN pixel
        for q in (0, 50, 75, 90, 100):
            np.testing.assert_allclose(
                _nan_percentile(values, q), np.nanpercentile(values, q, axis=0),
                rtol=0, atol=1e-9, equal_nan=True,
            )  # fmt: skip


def _composite_median(per_scene, min_clear):
    """Per-pixel median over the scenes with a value, NaN below ``min_clear`` values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        median = np.nanmedian(per_scene, axis=0)
    return np.where(np.isfinite(per_scene).sum(axis=0) >= min_clear, median, np.nan)


@TILINGS
def test_hot_days_anomaly_is_the_90th_percentile_of_the_scenes_delta_t(
    demo_run, demo_folder, tmp_path, tile_size
):
    """Issue #5: per pixel, the median and the P90 of ΔT over the clear scenes. ΔT of a scene
    is its LST less the mean LST of its clear rural reference pixels (science.md §6.1); the
    P90 is numpy's linear one (science.md Z-7), NaN below ``composite.min_clear`` scenes."""
    from pipelines.run_graph import scene_graph

    config = _config(demo_folder, tmp_path / "run")
    if tile_size is None:  # the demo's run: this config, in one piece
        folder, result = demo_run
    else:
        folder, result = tmp_path / "run", run(config, tile_size_px=tile_size)
    with rasterio.open(folder / "rasters" / "lst_anomaly_p90.tif") as src:
        got = src.read(1)
        assert src.tags()["units"] == "K"
    graph = scene_graph(config)
    lst = graph.lst.values.astype(np.float64)
    rural = graph.reference_mask.values.astype(bool)
    delta = lst - np.array([np.nanmean(scene[rural]) for scene in lst])[:, None, None]
    p90 = _nan_percentile(delta, 90)
    expected = np.where(np.isfinite(delta).sum(axis=0) >= config.composite.min_clear, p90, np.nan)
    expected = _off_water(expected, folder)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5, equal_nan=True)
    iris = result.zones["iris"]
    hot, typical = iris["lst_anomaly_p90_mean_k"], iris["lst_anomaly_mean_k"]
    assert hot.notna().sum() == typical.notna().sum() > 0
    assert (hot >= typical - 1e-6).all()  # a pixel's P90 is at least its median


def test_zscore_anomaly_of_a_tiled_run(demo_folder, tmp_path):
    """The z-score composite of a run in 2 x 2 tiles (reference mean and spread merged from
    tile sums of squares) equals the direct per-scene z-score of the whole grid."""
    from pipelines.run_graph import scene_graph
    from raster.heat_island import scene_zscore_against

    config = _config(demo_folder, tmp_path / "run", **{"composite.anomaly_method": "zscore"})
    result = run(config, tile_size_px=TILE_PX)
    assert "lst_zscore_mean" in result.zones["iris"]
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_zscore.tif") as src:
        got = src.read(1)
        assert src.tags()["units"] == "1"
    graph = scene_graph(config)
    z = scene_zscore_against(graph.lst, graph.reference_mask, ddof=0).values
    expected = _off_water(_composite_median(z, config.composite.min_clear), tmp_path / "run")
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5, equal_nan=True)


def test_anomaly_against_the_urban_mean(demo_folder, tmp_path, monkeypatch):
    import pipelines.run as run_module
    from pipelines.run_graph import scene_graph

    config = _config(demo_folder, tmp_path / "run", **{"composite.anomaly_reference": "urban"})
    summary, given = run_module.heat_island_summary, {}

    def heard(*args, **kwargs):  # the composite's warnings know the ΔT's reference
        given.update(kwargs)
        return summary(*args, **kwargs)

    monkeypatch.setattr(run_module, "heat_island_summary", heard)
    run(config)
    assert given["anomaly_reference"] == "urban"
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_anomaly.tif") as src:
        got = src.read(1)
        assert "urban" in src.tags()["long_name"]
    graph = scene_graph(config)
    lst = graph.lst.values.astype(np.float64)
    urban = graph.urban.values.astype(bool)
    means = np.array([np.nanmean(scene[urban]) for scene in lst])
    expected = _composite_median(lst - means[:, None, None], config.composite.min_clear)
    expected = _off_water(expected, tmp_path / "run")
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5, equal_nan=True)
    # Against its own mean, the city's pixels are centred near 0 K.
    assert abs(np.nanmean(got[urban])) < 0.5


def test_sentinel2_water_flag_survives_the_clear_mask(demo_folder):
    """The default Sentinel-2 preset masks SCL water (class 6): the water flag must come
    from the unmasked SCL, where the synthetic river is (generator class 1, SCL 6)."""
    from pipelines.run_graph import scene_graph

    graph = scene_graph(load_config(demo_folder / "config.yaml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flag = graph.idx["scl_water"].values
    with rasterio.open(next((demo_folder / "products").glob("S2*/SCL.tif"))) as src:
        scl = src.read(1)
    # The river crosses the whole scene: it takes about the same share of the run's grid.
    assert (scl == 6).mean() > 0.01
    assert 0.5 < flag.mean() / (scl == 6).mean() < 1.5


def _demo_scene_files(demo_folder, bands, grid, shape):
    """Each demo Landsat product's ``bands`` as stored, with the (row, col) of the product
    pixel holding each grid pixel's centre (nearest: the pixel whose cell contains it)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x, y = grid.c + (cols + 0.5) * grid.a, grid.f + (rows + 0.5) * grid.e
    for folder in sorted((demo_folder / "products").glob("L*_L2SP_*")):
        read = {}
        for band in bands:
            with rasterio.open(next(folder.glob(f"*_{band}.TIF"))) as src:
                read[band], native = src.read(1), src.transform
        r = np.floor((y - native.f) / native.e).astype(int)
        c = np.floor((x - native.c) / native.a).astype(int)
        yield read, (r, c)


def test_st_qa_and_cloud_distance_masks_from_the_config(demo_folder, tmp_path):
    """mask.st_qa_max_k and mask.cdist_min_km (the default 1 km): n_clear counts, per grid
    pixel, the scenes whose own files say clear (QA_PIXEL bits 0-5) and not water (bit 7),
    ST_QA <= 2 K and ST_CDIST >= 1 km, read by hand (ST_QA and ST_CDIST scale 0.01,
    science.md §1.2)."""
    config = _config(demo_folder, tmp_path / "run", **{"mask.cdist_min_km": 1.0})
    result = run(config)
    with rasterio.open(tmp_path / "run" / "rasters" / "n_clear.tif") as src:
        n_clear, grid = src.read(1), src.transform
    count = np.zeros(n_clear.shape, dtype=int)
    near_cloud = 0
    bands = ("QA_PIXEL", "ST_QA", "ST_CDIST", "ST_B10")
    for read, (r, c) in _demo_scene_files(demo_folder, bands, grid, n_clear.shape):
        qa_ok = (read["QA_PIXEL"] & 0b111111) == 0
        ok = qa_ok & (read["ST_QA"] * 0.01 <= 2.0) & (read["ST_CDIST"] * 0.01 >= 1.0)
        ok &= (read["ST_B10"] != 0) & ((read["QA_PIXEL"] & 128) == 0)
        near_cloud += int((qa_ok & ~ok).sum())
        count += ok[r, c]
    assert near_cloud > 1000  # the cloudy scenes lose clear pixels within 1 km of a cloud
    np.testing.assert_array_equal(n_clear, count)
    # The demo's scattered clouds leave no pixel 1 km clear in two scenes: every IRIS falls
    # under zones.min_valid_frac; the run says so and skips the inequality, not crashes.
    assert result.zones["iris"]["lst_mean_k"].isna().all()
    assert any(w.startswith("no IRIS has a composite LST") for w in result.warnings)
    assert "inequality.outcomes: no IRIS has a value of 'lst_anomaly_mean_k'; skipped" in (
        result.warnings
    )


def test_the_no_lst_warning_counts_what_each_mask_step_kept(demo_folder, tmp_path):
    """mask.st_qa_max_k 1 K under the demo's ST_QA (1.5 K everywhere): no IRIS has an LST,
    and the warning says, of the 4 scenes' pixels over the IRIS, the share each mask step
    kept in turn, ST_QA none, and what the step before it kept: read by hand from the
    products' files (QA_PIXEL bits 0, 1-5 and 7, QA_RADSAT bit 11, ST_QA · 0.01) at the grid
    pixels whose centre is in an IRIS (GDAL's rasterize of the IRIS layer)."""
    config = _config(demo_folder, tmp_path / "run", **{"mask.st_qa_max_k": 1.0,
                                                         "outputs.report": False})  # fmt: skip
    result = run(config)
    with rasterio.open(tmp_path / "run" / "rasters" / "n_clear.tif") as src:
        grid, shape, crs = src.transform, src.shape, src.crs
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs(crs)
    inside = rasterio.features.rasterize(iris.geometry, shape, transform=grid).astype(bool)
    kept = dict.fromkeys(["not fill", "QA_PIXEL clear", "not water", "QA_RADSAT"], 0)
    bands = ("QA_PIXEL", "QA_RADSAT", "ST_QA")
    scenes = 0
    for read, (r, c) in _demo_scene_files(demo_folder, bands, grid, shape):
        qa, radsat = read["QA_PIXEL"][r, c], read["QA_RADSAT"][r, c]
        assert (read["ST_QA"][r, c][inside] * 0.01 > 1.0).all()  # every pixel: ST_QA drops it
        ok = inside & ((qa & 1) == 0)
        kept["not fill"] += ok.sum()
        ok &= (qa & 0b111110) == 0
        kept["QA_PIXEL clear"] += ok.sum()
        ok &= (qa & 128) == 0
        kept["not water"] += ok.sum()
        kept["QA_RADSAT"] += (ok & ((radsat & 2048) == 0)).sum()
        scenes += 1
    assert scenes == 4 and kept["QA_PIXEL clear"] < kept["not fill"]  # two cloudy scenes
    (said,) = [w for w in result.warnings if w.startswith("no IRIS has a composite LST")]
    assert f"Of the pixels of the {scenes} scene(s) over the IRIS, the masks kept: " in said
    for label, count in kept.items():
        shown = re.search(rf"{label}[a-z -]* ([0-9.]+) %", said)
        assert shown, (label, said)
        assert float(shown[1]) == pytest.approx(100 * count / (scenes * inside.sum()), abs=0.5)
    assert ", then ST_QA ≤ 1 K 0 %; clear on at least composite.min_clear (3) scenes: 0 % " in (
        said
    )


def test_missing_band_for_a_mask_is_one_line_naming_the_key(real_data, tmp_path):
    # The shared real product has no ST_CDIST; the default mask.cdist_min_km needs it.
    folder = real_data / "landsat_c2l2" / "LC08_L2SP_008059_20191201_20200825_02_T1"
    iris = gpd.GeoDataFrame(
        {"code_iris": ["999990000"]},
        geometry=[shapely.box(490_005.0, 160_005.0, 492_015.0, 162_015.0)], crs="EPSG:32618",
    )  # fmt: skip
    iris.to_file(tmp_path / "iris.gpkg")
    config = config_from_dict(
        {"aoi": {"zones": "iris"}, "periods": {"years": [2019], "months": [12]},
         "inputs": {"landsat": [str(folder)]}, "zones": {"iris": {"path": "iris.gpkg"}},
         "heat_island": {"ring_inner_km": 1, "ring_outer_km": 3}},
        base_dir=tmp_path,
    )  # fmt: skip
    assert config.mask.cdist_min_km == 1.0  # the default
    with pytest.raises(ConfigError) as err:
        run(config, out=tmp_path / "run")
    assert str(err.value) == (
        "mask.cdist_min_km: 1 Landsat product(s) lack the ST_CDIST band it needs "
        "(LC08_L2SP_008059_20191201_20200825_02_T1); add that file (every USGS L2SP product "
        "has it) or set mask.cdist_min_km: null; mask.radsat: 1 Landsat product(s) lack the "
        "QA_RADSAT band it needs (LC08_L2SP_008059_20191201_20200825_02_T1); add that file "
        "(every USGS L2SP product has it) or set mask.radsat: false"
    )  # both missing bands at once, not one per run


def test_mask_presets_none_keep_every_observation(demo_folder, tmp_path):
    # 'none' rejects fill only: the clouded pixels of the two cloudy scenes count as clear.
    # Water is no cloud: the LST leaves it out all the same (mask.lst_keep_water).
    config = _config(
        demo_folder, tmp_path / "run",
        **{"mask.landsat_preset": "none", "mask.sentinel2_preset": "none"},
    )  # fmt: skip
    run(config)
    with rasterio.open(tmp_path / "run" / "rasters" / "n_clear.tif") as src:
        n_clear, grid = src.read(1), src.transform
    dry = np.zeros(n_clear.shape, dtype=int)
    for read, (r, c) in _demo_scene_files(demo_folder, ("QA_PIXEL",), grid, n_clear.shape):
        dry += ((read["QA_PIXEL"] & 128) == 0)[r, c]
    assert (dry < 4).sum() > 500  # the river
    np.testing.assert_array_equal(n_clear, dry)  # the 4 demo scenes cover the whole grid
    # No SCL class is masked: the NDVI has a value on every pixel but the land cover's water,
    # which the composites leave out (mask.indices_keep_water false).
    with rasterio.open(tmp_path / "run" / "rasters" / "ndvi_median.tif") as src:
        np.testing.assert_array_equal(
            np.isfinite(src.read(1)), np.isfinite(_off_water(1.0, tmp_path / "run"))
        )


def _scene_lst_by_hand(demo_folder, grid, shape, st_qa_max_k=2.0, keep_water=False):
    """Each demo scene's LST (K) at the grid's pixel centres, from its files: DN · 0.00341802
    + 149.0 where QA_PIXEL bits 0-5 are clear, bit 7 (water) unset (unless ``keep_water``)
    and ST_QA · 0.01 <= st_qa_max_k."""
    scenes = []
    bands = ("QA_PIXEL", "ST_QA", "ST_B10")
    flags = 0b111111 if keep_water else 0b10111111
    for read, (r, c) in _demo_scene_files(demo_folder, bands, grid, shape):
        ok = ((read["QA_PIXEL"] & flags) == 0) & (read["ST_QA"] * 0.01 <= st_qa_max_k)
        lst = np.where(ok & (read["ST_B10"] != 0), read["ST_B10"] * 0.00341802 + 149.0, np.nan)
        scenes.append(lst[r, c])
    return np.stack(scenes)


@TILINGS
def test_every_configured_statistic_is_a_raster(demo_folder, tmp_path, tile_size):
    """composite.statistics [median, p90, mean, p75] -> lst_mean.tif and lst_p75.tif too (they
    were computed and dropped), equal to the statistics of the scenes' LST by hand over
    pixels with at least composite.min_clear (3) clear scenes."""
    config = _config(
        demo_folder, tmp_path / "run",
        **{"composite.statistics": ["median", "p90", "mean", "p75"], "outputs.report": False},
    )  # fmt: skip
    run(config, tile_size_px=tile_size)
    rasters = tmp_path / "run" / "rasters"
    with rasterio.open(rasters / "lst_mean.tif") as src:
        mean, grid = src.read(1), src.transform
        assert src.tags()["units"] == "K"
    with rasterio.open(rasters / "lst_p75.tif") as src:
        p75 = src.read(1)
    scenes = _off_water(_scene_lst_by_hand(demo_folder, grid, mean.shape), tmp_path / "run")
    enough = np.isfinite(scenes).sum(axis=0) >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        np.testing.assert_allclose(
            mean, np.where(enough, np.nanmean(scenes, axis=0), np.nan), atol=1e-4, equal_nan=True
        )
        np.testing.assert_allclose(
            p75, np.where(enough, _nan_percentile(scenes, 75), np.nan),
            atol=1e-4, equal_nan=True,
        )  # fmt: skip
    assert (rasters / "lst_mean.qml").is_file()  # styled like the other LST composites


def test_zone_id_columns_from_the_config(demo_folder, tmp_path):
    """zones.iris.id / zones.qpv.id name the code column of layers that do not use IGN's or
    ANCT's names (they were ignored); a column that is not there is a one-line error."""
    iris = gpd.read_file(demo_folder / "zones" / "iris.gpkg")
    iris.rename(columns={"CODE_IRIS": "ID_ZONE"}).to_file(tmp_path / "iris.gpkg")
    qpv = gpd.read_file(demo_folder / "zones" / "qpv.geojson")
    qpv.rename(columns={"code_qp": "QUARTIER"}).to_file(tmp_path / "qpv.gpkg")
    config = _config(
        demo_folder, tmp_path / "run",
        **{"zones.iris.path": str(tmp_path / "iris.gpkg"), "zones.iris.id": "ID_ZONE",
           "zones.qpv.path": str(tmp_path / "qpv.gpkg"), "zones.qpv.id": "QUARTIER",
           "outputs.report": False},
    )  # fmt: skip
    result = run(config)
    assert set(result.zones["iris"]["code_iris"]) == set(iris["CODE_IRIS"])
    assert set(result.zones["qpv"]["code_qp"]) == set(qpv["code_qp"])
    assert result.zones["iris"]["in_qpv"].any()  # the overlay found the QPV by their codes
    wrong = apply_overrides(config, {"zones.iris.id": "CODE"})
    with pytest.raises(ConfigError, match=r"^zones\.iris\.id: no column 'CODE' in iris\.gpkg"):
        run(wrong)


def test_zones_by_pixel_centres(demo_folder, tmp_path):
    """zones.method: centre counts the pixels whose centre is in a zone, whole (GDAL's
    rasterisation rule): area_m2 is their number times 900 m², by shapely by hand (centres
    on the zone's edge, to 1e-6 m, may be in or out, and are few)."""
    config = _config(
        demo_folder, tmp_path / "run", **{"zones.method": "centre", "outputs.report": False}
    )
    result = run(config)
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        shape, transform, crs = src.shape, src.transform, src.crs
    iris = result.zones["iris"]
    for _, zone in iris.iloc[::9].iterrows():
        geometry = gpd.GeoSeries([zone.geometry], crs=iris.crs).to_crs(crs).iloc[0]
        inside, edge = centres_in(geometry, shape, transform)
        assert edge.sum() <= most_centres_on_boundary(geometry, transform.a)
        pixels = zone["area_m2"] / 900.0
        assert pixels == pytest.approx(round(pixels), abs=1e-6), zone["code_iris"]
        assert inside.sum() <= round(pixels) <= inside.sum() + edge.sum(), zone["code_iris"]
    assert not np.allclose(iris["area_m2"], 550.0**2)  # exact coverage gives 302,500 m² each


def test_min_reference_pixels_drops_a_thin_reference(demo_folder, tmp_path):
    """heat_island.min_reference_pixels: a scene with fewer clear rural pixels gets no
    reference (no anomaly, no SUHII) and a warning; the others keep theirs. It counts 30 m
    Landsat pixels: on a 60 m grid, 4 of them make a grid pixel, so 4 c + 1 asks for more
    than c grid pixels (counted as grid pixels, it would drop every scene). The urban
    footprint needs as many clear pixels for a scene's SUHII: the demo's, smaller than the
    ring, has fewer in every scene, so no scene keeps its SUHII, said too."""
    config = _config(
        demo_folder, tmp_path / "run", **{"grid.resolution": 60, "outputs.report": False}
    )
    base = run(config)
    counts = [s["rural_pixels"] for s in base.heat_island["scenes"]]
    thinnest = sorted(counts)[0]
    assert sorted(counts)[1] > thinnest and max(counts) < 4 * thinnest + 1
    thin = run(apply_overrides(config, {"heat_island.min_reference_pixels": 4 * thinnest + 1,
                                        "outputs.folder": str(tmp_path / "thin")}))  # fmt: skip
    rural = [s["rural_mean_k"] for s in thin.heat_island["scenes"]]
    assert [v is None for v in rural] == [n == thinnest for n in counts]
    assert sum(v is None for v in rural) == 1
    assert max(s["urban_pixels"] for s in base.heat_island["scenes"]) < thinnest + 1
    assert all(s["suhii_k"] is None for s in thin.heat_island["scenes"])
    assert thin.heat_island["scenes_mean_k"] is None
    assert any(
        w.startswith("4 of 4 scene(s) have too few clear pixels in the urban footprint")
        and w.endswith(
            "they have no SUHII (heat_island.json) and are left out of its scenes_mean_k"
        )
        for w in thin.warnings
    ), thin.warnings
    assert any(
        "1 of 4 scene(s) have too few clear pixels in the rural reference (under 10% of its " in w
        and f"grid pixels, or fewer than {thinnest + 1} grid pixels; "
        "heat_island.min_reference_frac, heat_island.min_reference_pixels): their mean is NaN"
        in w
        for w in thin.warnings
    ), thin.warnings
    assert thin.heat_island["definition"]["min_reference_pixels"] == 4 * thinnest + 1


@pytest.mark.parametrize("exclude", [True, False], ids=["excluded", "kept"])
def test_rural_reference_pixels_by_hand(demo_folder, tmp_path, exclude):
    """heat_island.exclude_water / exclude_built, and the ring itself, against an oracle:
    the IRIS union by pixel centre, its Euclidean distance transform (scipy, 30 m pixels),
    the 1-6 km ring of the demo config (:func:`_ring_by_hand`: pixels on the union's edge,
    and those they may move in or out of the ring, bound the counts and means); with the
    exclusions, without the land cover's water and built pixels. The composite's rural
    pixels are those with a value of the anomaly composite."""
    config = _config(
        demo_folder, tmp_path / "run",
        **{"heat_island.exclude_water": exclude, "heat_island.exclude_built": exclude,
           "outputs.report": False},
    )  # fmt: skip
    result = run(config)
    folder = tmp_path / "run" / "rasters"
    with rasterio.open(folder / "lst_anomaly.tif") as src:
        anomaly, transform, crs = src.read(1), src.transform, src.crs
        assert src.tags()["units"] == "K" and "standard_name" not in src.tags()  # not a LST
    with rasterio.open(folder / "landcover.tif") as src:
        classes = src.read(1)
    (urban, urban_edge), (reference, reference_edge) = _ring_by_hand(
        demo_folder, transform, crs, anomaly.shape
    )
    if exclude:
        kept = ~np.isin(classes, (1, 4))  # water, built
        reference, reference_edge = reference & kept, reference_edge & kept
    clear = np.isfinite(anomaly)
    composite = result.heat_island["composite"]
    assert_count_and_mean(composite["rural_pixels"], composite["rural_mean_k"],
                          anomaly[reference & clear], anomaly[reference_edge & clear],
                          abs_tol=1e-4)  # fmt: skip
    assert_count_and_mean(composite["urban_pixels"], None, anomaly[urban & clear],
                          anomaly[urban_edge & clear])  # fmt: skip


def _ring_by_hand(demo_folder, transform, crs, shape):
    """The IRIS union by pixel centre and the demo config's 1-6 km ring around it (scipy's
    Euclidean distance transform, 30 m pixels), each as the masks of its pixels certainly in
    it and of those maybe in it. The union's are :func:`tests.centres.centres_in`'s (centres
    on its edge maybe in); the run's footprint holds the first and some of the second, so its
    distances lie between those from both and those from the first: the ring's pixels are
    certainly in it when both distances are, maybe in it when one is."""
    from scipy import ndimage

    union = gpd.read_file(demo_folder / "zones" / "iris.gpkg").to_crs(crs).union_all()
    urban, edge = centres_in(union, shape, transform)
    assert edge.sum() <= most_centres_on_boundary(union, transform.a)
    far = ndimage.distance_transform_edt(~urban, sampling=30.0)
    near = ndimage.distance_transform_edt(~(urban | edge), sampling=30.0)
    ring = (near > 1000.0) & (far <= 6000.0)
    maybe = (far > 1000.0) & (near <= 6000.0) & ~ring
    return (urban, edge), (ring, maybe)


#: What a run without a land cover says of heat_island.exclude_built.
NO_BUILT_NOTE = (
    "heat_island.exclude_built: the run has no land cover, so the rural reference keeps its "
    "built pixels (heat_island.exclude_water uses the QA_PIXEL water bit on any date); for a "
    "land cover add Sentinel-2 inputs, Landsat products with their SR bands or "
    "landcover.external"
)


@TILINGS
def test_without_a_land_cover_water_is_the_qa_bit_and_built_is_said(
    demo_folder, tmp_path, tile_size
):
    """Landsat ST-only products, no Sentinel-2: no land cover. heat_island.exclude_water still
    applies, with the QA_PIXEL water bit on any date; exclude_built cannot: the run says so
    and heat_island.json records it false (it said true over a reference that kept them).
    With mask.lst_keep_water the scenes keep the water's LST: per scene, the rural pixels are
    those of the 1-6 km ring (by hand) with a clear LST (by hand, water kept) and no water bit
    on any date."""
    import shutil

    for product in sorted(demo_folder.glob("products/LC0*")):
        shutil.copytree(product, tmp_path / "st_only" / product.name,
                        ignore=shutil.ignore_patterns("*_SR_B*"))  # fmt: skip
    config = _config(
        demo_folder, tmp_path / "run",
        **{"inputs.landsat": [str(tmp_path / "st_only")], "inputs.sentinel2": [],
           "scenarios": [], "mask.lst_keep_water": True, "outputs.report": False},
    )  # fmt: skip
    result = run(config, tile_size_px=tile_size)
    assert result.warnings.count(NO_BUILT_NOTE) == 1
    heat = json.loads((tmp_path / "run" / "heat_island.json").read_text())
    definition = heat["definition"]
    assert definition["exclude_water"] is True and definition["exclude_built"] is False
    assert definition["reference_definition"].endswith(
        "pixel centres inside); water pixels excluded (QA_PIXEL water bit on any date)"
    )
    assert definition["urban_definition"].endswith(
        "pixel centres inside; water pixels excluded (QA_PIXEL water bit on any date)"
    )
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        transform, crs, shape = src.transform, src.crs, src.shape
    (urban, urban_edge), (ring, ring_edge) = _ring_by_hand(demo_folder, transform, crs, shape)
    water = np.zeros(shape, dtype=bool)
    for read, (r, c) in _demo_scene_files(demo_folder, ("QA_PIXEL",), transform, shape):
        water |= ((read["QA_PIXEL"] & 128) != 0)[r, c]
    scenes = _scene_lst_by_hand(demo_folder, transform, shape, keep_water=True)
    assert np.isfinite(scenes[:, ring & water]).sum() > 1000  # clear water the ring leaves out
    # The rural reference and the footprint (the IRIS union without its QA water, the LST
    # keeping water), each with the pixels maybe in it (_ring_by_hand) bounding its figures.
    for record, lst in zip(heat["scenes"], scenes, strict=True):
        clear = np.isfinite(lst)
        for part, sure, maybe in (("rural", ring, ring_edge), ("urban", urban, urban_edge)):
            sure, maybe = sure & ~water, maybe & ~water
            count = record[f"{part}_pixels"]
            assert_count_and_mean(count, record[f"{part}_mean_k"], lst[sure & clear],
                                  lst[maybe & clear], abs_tol=1e-4)  # fmt: skip
            # The share is of the run's mask: the sure pixels and some of the maybe ones.
            mask = count / record[f"{part}_clear_share"]
            assert sure.sum() - 0.5 <= mask <= (sure | maybe).sum() + 0.5, (part, mask)


def test_a_sliver_of_clear_ring_sets_no_reference(demo_folder, tmp_path):
    """heat_island.min_reference_frac (default 0.1): the first scene's ring clouded
    (QA_PIXEL cloud bit) but for its 5 coolest clear pixels gets no reference, said as a
    scene without a clear rural pixel is. Its anomaly is NaN: the composite SUHII is the
    median over the other three scenes' ΔT (by hand: LST from the files, each scene's rural
    mean over the 1-6 km ring without the land cover's water and built pixels, median where
    3 or more are clear). With those 5 pixels as its reference it moved by about 1 K."""
    import shutil

    landsat = tmp_path / "sliver" / "products"
    for product in sorted(demo_folder.glob("products/LC0*")):
        shutil.copytree(product, landsat / product.name)
    config = _config(
        demo_folder, tmp_path / "run",
        **{"inputs.landsat": [str(landsat)], "scenarios": [], "outputs.report": False},
    )  # fmt: skip
    grid = _grid_of(config)
    transform, shape = grid.affine, grid.shape.yx
    (urban, urban_edge), (ring, ring_edge) = _ring_by_hand(
        demo_folder, transform, grid.crs.to_wkt(), shape
    )
    first = _scene_lst_by_hand(demo_folder, transform, shape)[0]
    rows, cols = np.nonzero(ring & np.isfinite(first))
    coolest = np.argsort(first[rows, cols])[:5]
    kept = np.zeros(shape, dtype=bool)
    kept[rows[coolest], cols[coolest]] = True
    _, (r, c) = next(_demo_scene_files(tmp_path / "sliver", ("QA_PIXEL",), transform, shape))
    qa_path = next(sorted(landsat.glob("LC0*"))[0].glob("*_QA_PIXEL.TIF"))
    with rasterio.open(qa_path, "r+") as dst:
        qa = dst.read(1)
        clouded = (ring | ring_edge) & ~kept  # the pixels maybe in the ring too
        qa[r[clouded], c[clouded]] |= 1 << 3  # cloud
        dst.write(qa, 1)
    result = run(config)
    heat = result.heat_island
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        assert src.transform == transform
        dry = ~np.isin(src.read(1), (1, 4))  # not water, not built
    reference, reference_edge = ring & dry, ring_edge & dry
    scenes = _scene_lst_by_hand(tmp_path / "sliver", transform, shape)
    n_first = int(np.isfinite(scenes[0][reference]).sum())
    assert 0 < n_first <= 5 and reference.sum() > 100_000
    record = heat["scenes"][0]
    assert record["rural_pixels"] == n_first
    # The reference's pixels: the sure ones and some of the maybe ones.
    n_reference = n_first / record["rural_clear_share"]
    assert reference.sum() - 0.5 <= n_reference <= (reference | reference_edge).sum() + 0.5
    assert record["suhii_k"] is None and record["rural_mean_k"] is None
    assert all(s["suhii_k"] is not None for s in heat["scenes"][1:])
    assert (
        f"1 of 4 scene(s) have too few clear pixels in the rural reference (under 10% of its "
        f"{round(n_reference)} grid pixels; heat_island.min_reference_frac): their mean is NaN "
        "(and so their ΔT / SUHII)"
    ) in result.warnings
    delta = np.stack([lst - np.nanmean(lst[reference]) for lst in scenes[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        median = np.where(np.isfinite(delta).sum(0) >= 3, np.nanmedian(delta, axis=0), np.nan)
    median = _off_water(median, tmp_path / "run")
    expected = np.nanmean(median[urban]) - np.nanmean(median[reference])
    # The pixels maybe in the footprint or the reference move each scene's reference mean
    # (so the median ΔT, by as much at most), and the two means of the median ΔT.
    shift = max(mean_shift_bound(lst[reference], lst[reference_edge]) for lst in scenes[1:])
    moved = mean_shift_bound(median[urban], median[urban_edge]) + mean_shift_bound(
        median[reference], median[reference_edge]
    )
    tolerance = 1e-4 + 2 * shift + moved
    assert heat["composite"]["suhii_k"] == pytest.approx(expected, abs=tolerance)
    assert tolerance < 0.2  # the 5 pixels as the first scene's reference moved it by ~1 K


def test_land_cover_rule_thresholds_from_the_config(demo_folder, tmp_path):
    """landcover.rules and min_mapping_unit_m2 through the run: without the minimum mapping
    unit, a pixel not classed water (the first rule, on MNDWI: a few river-edge pixels have
    their 20 m SWIR from the water and a high NDVI) is dense vegetation exactly where its
    NDVI composite reaches rules.dense_ndvi, and low vegetation from rules.low_ndvi up to it."""
    config = _config(
        demo_folder, tmp_path / "run",
        **{"landcover.rules.dense_ndvi": 0.7, "landcover.rules.low_ndvi": 0.3,
           "landcover.min_mapping_unit_m2": 0, "outputs.report": False},
    )  # fmt: skip
    run(config)
    folder = tmp_path / "run" / "rasters"
    with rasterio.open(folder / "ndvi_median.tif") as src:
        ndvi = src.read(1)
    with rasterio.open(folder / "landcover.tif") as src:
        classes = src.read(1)
    finite = np.isfinite(ndvi) & (classes != 1)
    assert (np.isfinite(ndvi) & (classes == 1)).sum() < 0.001 * finite.sum()
    np.testing.assert_array_equal(classes[finite] == 2, ndvi[finite] >= 0.7)
    low = (ndvi[finite] >= 0.3) & (ndvi[finite] < 0.7)
    np.testing.assert_array_equal(classes[finite] == 3, low)
    assert (classes == 3).sum() > 1000 and (classes == 2).sum() > 1000


@TILINGS
def test_a_land_cover_from_ndvi_alone_says_bare_soil_is_built(demo_folder, tmp_path, tile_size):
    """No Sentinel-2: the demo's Landsat products carry SR_B4 and SR_B5 only, so the land
    cover comes from NDVI, without NDBI to tell bare soil from built. The outputs say what
    was done: landcover.tif holds no bare-soil pixel (counted from the file) and its rule tag
    is the rule applied; every IRIS's bare-soil share is missing, not 0, while the shares of
    the other classes still add up to the IRIS's classified area (the file's classes hold no
    bare soil); the rural reference's definition says that its built pixels hold the bare
    soil; the warning has its kind."""
    config = _config(
        demo_folder, tmp_path / "run",
        **{"inputs.sentinel2": [], "scenarios": [], "outputs.report": False},
    )  # fmt: skip
    result = run(config, tile_size_px=tile_size)
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        classes, tags = src.read(1), src.tags()
    assert (classes == 5).sum() == 0 and (classes == 4).sum() > 1000
    assert tags["bare_soil"] == "counted as built: the products lack the bands of NDBI"
    assert "NDBI >" not in tags["rule"] and "MNDWI >" not in tags["rule"]
    assert "low vegetation: NDVI >= 0.2; else built (bare soil included" in tags["rule"]
    iris = gpd.read_file(tmp_path / "run" / "zones.gpkg", layer="iris")
    assert iris["lc_bare_soil_frac"].isna().all()
    others = iris[[f"lc_{c}_frac" for c in ("water", "dense_vegetation", "low_vegetation",
                                            "built")]].sum(axis=1)  # fmt: skip
    np.testing.assert_allclose(others, 1.0, atol=1e-6)
    definition = result.heat_island["definition"]
    assert definition["reference_definition"].endswith(
        "; built pixels excluded (built and bare soil, not separated without NDBI)"
    )
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    (said,) = [w for w, code in zip(manifest["warnings"], manifest["warning_codes"],
                                    strict=True) if code == "landcover_fallback"]  # fmt: skip
    assert said.startswith("Landsat products lack bands for mndwi, ndbi: the land cover, from "
                           "NDVI, takes water from the QA water bit")  # fmt: skip


def test_the_zone_layers_metadata_credit_the_external_map():
    """The layers' licences and attributions named the sensors, census and zones only."""
    from types import SimpleNamespace

    from pipelines.outputs.geopackage import LANDCOVER_MAPS
    from pipelines.run import _layer_inputs, _run_inputs

    name = "ESA_WorldCover_10m_2021_v200_N42E000_Map.tif"
    config = config_from_dict({
        "aoi": {"bbox": [1.35, 43.55, 1.52, 43.67]}, "periods": {"years": [2023]},
        "inputs": {"landsat": ["products"]},
        "landcover": {"external": {"path": f"/maps/{name}", "mapping": "worldcover"}},
    })  # fmt: skip
    inputs = _run_inputs(config, SimpleNamespace(items=[]), {}, {"iris": None}, False)
    source = _layer_inputs("qpv", inputs).landcover_map  # every layer has the class shares
    assert source.name == f"ESA WorldCover 10 m ({name})"
    assert source.licence == LANDCOVER_MAPS["worldcover"].licence
    assert source.attribution == (
        "© ESA WorldCover project 2021 / Contains modified Copernicus Sentinel data (2021) "
        "processed by ESA WorldCover consortium"
    )


def test_a_finer_map_is_said_sampled_and_landcover_tif_says_its_source(
    demo_folder, worldcover, tmp_path
):
    """A 10 m map on the 30 m grid was sampled at the pixel centres without a word, and
    landcover.tif said the LST's summer for a map of another year."""
    path, _codes, _transform = worldcover
    named = tmp_path / "ESA_WorldCover_10m_2021_v200_N42E000_Map.tif"
    named.write_bytes(path.read_bytes())
    config = _config(
        demo_folder, tmp_path / "run", **{"landcover.external": {"path": str(named),
                                                                 "mapping": "worldcover"}}
    )  # fmt: skip
    result = run(config)
    (said,) = [w for w in result.warnings if w.code == "landcover_map_sampled"]
    assert said.startswith(
        "landcover.external.path: the pixels of ESA_WorldCover_10m_2021_v200_N42E000_Map.tif "
        "(about 10 m) are under half the grid's (30 m): each grid pixel takes the class at its "
        "centre"
    )
    with rasterio.open(tmp_path / "run" / "rasters" / "landcover.tif") as src:
        tags, grid = src.tags(), src
        bounds = grid.bounds
    assert said.endswith(
        f"(gdalwarp -r mode -t_srs {grid.crs.to_string()} -tr 30 30 -te {bounds.left:.12g} "
        f"{bounds.bottom:.12g} {bounds.right:.12g} {bounds.top:.12g})"
    )
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))
    assert "landcover_map_sampled" in manifest["warning_codes"]
    # the map's year (its file name's), not the scenes' summer
    assert (tags["time_coverage_start"], tags["time_coverage_end"]) == ("2021-01-01", "2021-12-31")
    assert "ilots_periods" not in tags
    assert tags["source_file"] == named.name and tags["source_band"] == "1"
    assert tags["source_pixel_m"] == "10.0"
    assert tags["source_resampling"] == (
        "nearest: each grid pixel takes the class of the map's pixel at its centre"
    )
    with rasterio.open(tmp_path / "run" / "rasters" / "lst_median.tif") as src:
        assert src.tags()["time_coverage_start"] == "2023-06-01"  # the scenes' own
