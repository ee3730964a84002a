import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from odc.geo.geom import BoundingBox, box

from tiles.errors import GridError
from tiles.grid import (
    aligned_chunks,
    analysis_geobox,
    crs_name,
    grid_anchor,
    landsat_subdivision,
    sensor_pixel_edges,
    utm_crs_for,
)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (2.35, 48.85, 32631),  # Paris: zone 31N
        (-1.55, 47.22, 32630),  # Nantes: zone 30N
        (7.26, 43.70, 32632),  # Nice: zone 32N
        (-75.0, 2.0, 32618),  # the real Colombian test scene
        (55.45, -20.88, 32740),  # La Réunion: zone 40S
        (180.0, 10.0, 32660),
    ],
)
def test_utm_zone_of_known_places(lon, lat, epsg):
    assert utm_crs_for(lon, lat).epsg == epsg


@pytest.mark.parametrize(("lon", "lat"), [(200.0, 10.0), (2.0, 85.0), (2.0, -81.0)])
def test_utm_zone_outside_domain_is_an_error(lon, lat):
    with pytest.raises(GridError, match="UTM"):
        utm_crs_for(lon, lat)


def test_analysis_geobox_defaults_to_utm_and_aligns_edges():
    gbox = analysis_geobox((2.25, 48.81, 2.42, 48.90), resolution=30)
    assert gbox.crs.epsg == 32631
    a = gbox.affine
    assert a.a == 30 and a.e == -30
    assert a.c % 30 == 0 and a.f % 30 == 0
    # The grid covers the whole box: each corner of the box lies inside the grid's extent.
    corners = box(2.25, 48.81, 2.42, 48.90, "EPSG:4326").to_crs(gbox.crs)
    assert gbox.extent.contains(corners)


def test_analysis_geobox_explicit_crs():
    area = BoundingBox(650000, 6850000, 660000, 6860000, crs="EPSG:2154")
    gbox = analysis_geobox(area, resolution=10, crs="EPSG:2154")
    assert gbox.shape.yx == (1000, 1000)
    assert gbox.affine.c == 650000 and gbox.affine.f == 6860000


@pytest.mark.parametrize("bad", [0, -10, None])
def test_bad_resolution(bad):
    with pytest.raises(GridError, match="resolution"):
        analysis_geobox((2.25, 48.81, 2.42, 48.90), resolution=bad)


def test_bad_bbox_order():
    with pytest.raises(GridError, match="west < east"):
        analysis_geobox((2.42, 48.81, 2.25, 48.90), resolution=30)


@given(chunk=st.integers(1, 10_000), ny=st.integers(1, 9000), nx=st.integers(1, 9000))
def test_aligned_chunks_are_block_multiples_or_whole_axis(chunk, ny, nx):
    gbox = analysis_geobox(
        BoundingBox(0, 0, nx * 10, ny * 10, crs="EPSG:32631"), resolution=10, crs="EPSG:32631"
    )
    chunks = aligned_chunks(gbox, chunk)
    for axis, size in (("y", ny), ("x", nx)):
        assert chunks[axis] == size or chunks[axis] % 512 == 0
        assert chunks[axis] <= size
        assert chunks[axis] >= min(chunk, size)


@pytest.mark.parametrize(
    ("resolution", "crs", "anchor"),
    [
        (30, "EPSG:32631", "landsat"),  # Landsat's own pixels: its edges at 15 m + k·30 m
        (60, "EPSG:32630", "landsat"),
        (90, "EPSG:32731", "landsat"),
        (120, "EPSG:32631", "landsat"),
        (30, "EPSG:32740", "landsat"),  # Réunion: the south zone, Landsat in 32640
        (60, "EPSG:32740", "landsat"),
        (10, "EPSG:32631", "edge"),  # Sentinel-2's 10 and 20 m grids: edges at k·10 m
        (20, "EPSG:32631", "edge"),
        (45, "EPSG:32631", "edge"),  # no whole number of Landsat pixels
        (30, "EPSG:2154", "edge"),  # Lambert-93: no product is on it, both are resampled
    ],
)
def test_grid_anchor_follows_the_landsat_pixels_at_multiples_of_30_m(resolution, crs, anchor):
    assert grid_anchor(resolution, crs) == anchor
    area = BoundingBox(600100, 5399500, 600700, 5399900, crs="EPSG:32631").to_crs(crs)
    grid = analysis_geobox(area, resolution, crs, anchor=anchor)
    if anchor == "edge":
        assert grid.affine.c % resolution == pytest.approx(0, abs=1e-6)
    else:  # every pixel edge on a Landsat pixel edge, 15 m + k·30 m, at 60 and 120 m too,
        # in the north zone USGS grids southern scenes in (y - 10,000 km in a 327zz grid)
        south = 1e7 if crs.startswith("EPSG:327") else 0.0
        for edge in (grid.affine.c, grid.affine.f - south, grid.affine.c + resolution):
            assert (edge - 15.0) % 30.0 == pytest.approx(0, abs=1e-6)


def test_bad_grid_anchor():
    with pytest.raises(GridError, match="anchor"):
        analysis_geobox(BoundingBox(0, 0, 100, 100, crs="EPSG:32631"), 30, anchor="corner")


@pytest.mark.parametrize(
    ("resolution", "factor"),
    [(10, 3), (15, 2), (7.5, 4), (5, 6), (30, None), (20, None), (60, None), (12, None)],
)
def test_landsat_subdivision_is_grid_pixels_per_landsat_pixel(resolution, factor):
    assert landsat_subdivision(resolution) == factor


def test_northing_offset_is_the_south_zones_false_northing():
    """The oracle is PROJ: a point's northing in the zone's south CRS minus its north one."""
    from pyproj import Transformer

    from tiles.grid import northing_offset

    to_south = Transformer.from_crs("EPSG:32640", "EPSG:32740", always_xy=True)
    x, y = 340_000.0, -2_320_000.0  # Saint-Denis, La Réunion, as USGS grids it
    south_y = to_south.transform(x, y)[1]
    assert northing_offset("EPSG:32640", "EPSG:32740") == pytest.approx(south_y - y, abs=1e-6)
    assert northing_offset("EPSG:32740", "EPSG:32640") == pytest.approx(y - south_y, abs=1e-6)
    assert northing_offset("EPSG:32631", "EPSG:32631") == 0.0
    assert northing_offset("EPSG:2154", "EPSG:2154") == 0.0
    assert northing_offset("EPSG:32631", "EPSG:32632") is None  # another zone: a warp
    assert northing_offset("EPSG:32740", "EPSG:32739") is None
    assert northing_offset("EPSG:2154", "EPSG:32631") is None


#: A local equal-area CRS built from a PROJ string, as pipelines.census.overlay measures
#: true areas in: PROJ names it "unknown" and it has no EPSG code.
LAEA = "+proj=laea +lat_0=43.6242 +lon_0=1.3204 +x_0=0 +y_0=0 +datum=WGS84 +units=m"
#: The WKT of EPSG:32631 as a GeoTIFF of the demo stores it (GDAL's WKT1 with its AUTHORITY).
UTM31_WKT1 = (
    'PROJCS["WGS 84 / UTM zone 31N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,'
    '298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",3],PARAMETER["scale_factor",0.9996],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],'
    'AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32631"]]'
)


def _crs_as(kind: str, text: str):
    """``text`` as the CRS type a caller of crs_name passes."""
    import pyproj
    import rasterio.crs
    from odc.geo import CRS

    return {
        "pyproj": pyproj.CRS.from_user_input,
        "rasterio": rasterio.crs.CRS.from_user_input,
        "odc-geo": CRS,
        "text": str,
    }[kind](text)


@pytest.mark.parametrize("kind", ["pyproj", "rasterio", "odc-geo", "text"])
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("EPSG:32631", "EPSG:32631"),
        (UTM31_WKT1, "EPSG:32631"),
        ("EPSG:2154", "EPSG:2154"),
        (LAEA, LAEA),  # named by its PROJ string, never "unknown"
    ],
    ids=["epsg", "wkt1", "lambert93", "laea"],
)
def test_crs_name_names_every_crs_type_the_callers_pass(kind, text, name):
    assert crs_name(_crs_as(kind, text)) == name


def test_crs_name_without_code_is_its_name_and_unknown_only_without_any():
    import pyproj

    custom = pyproj.CRS(LAEA).to_wkt().replace('PROJCRS["unknown"', 'PROJCRS["Toulouse LAEA"', 1)
    assert crs_name(custom) == "Toulouse LAEA"
    assert crs_name('LOCAL_CS["unknown",UNIT["metre",1]]') == "unknown"  # no PROJ string


def _keeps_edges(grid_edges, sensor_edges) -> bool:
    """Whether one set of pixel edges holds the other: every grid pixel then holds whole
    sensor pixels, or lies inside one (exact on these whole-centimetre coordinates)."""
    grid, sensor = {round(e * 100) for e in grid_edges}, {round(e * 100) for e in sensor_edges}
    return grid <= sensor or sensor <= grid


@pytest.mark.parametrize(
    "resolution", [30, 60, 90, 15, 7.5, 5, 10, 20, 40, 50, 70, 100, 25, 35, 45, 12, 2.5]
)
def test_sensor_pixel_edges_are_those_the_grid_lays_its_own_on(resolution):
    """Oracle: the x edges of the grid the run builds (its UTM anchor, grid_anchor) against
    Landsat's (15 m + k·30 m) and Sentinel-2's (k·10 m for its 10 m bands, k·20 m for its
    20 m ones, SWIR and SCL) over a 900 m span inside it."""
    crs = "EPSG:32631"
    area = box(360_000, 4_830_000, 363_000, 4_833_000, crs=crs)
    gbox = analysis_geobox(area, resolution, crs, anchor=grid_anchor(resolution, crs))
    x0 = gbox.affine.c
    first = x0 + resolution * math.ceil((361_000 - x0) / resolution)
    grid = [first + i * resolution for i in range(int(900 / resolution) + 1)]
    span = (grid[0], grid[-1])
    landsat = [float(e) for e in range(361_005, 363_000, 30) if span[0] <= e <= span[1]]
    s2_10 = [float(e) for e in range(361_000, 363_000, 10) if span[0] <= e <= span[1]]
    s2_20 = [float(e) for e in range(361_000, 363_000, 20) if span[0] <= e <= span[1]]
    expected = tuple(
        name
        for name, kept in (
            ("landsat", _keeps_edges(grid, landsat)),
            ("sentinel2", _keeps_edges(grid, s2_10) and _keeps_edges(grid, s2_20)),
        )
        if kept
    )
    assert sensor_pixel_edges(resolution) == expected
