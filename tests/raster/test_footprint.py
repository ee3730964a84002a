"""Masks over each grid pixel's whole footprint: exact area shares, and the SCL flags.

The oracle is interval arithmetic by hand: the length of overlap of each target pixel with
each source pixel along x and along y, whose product over the target pixel's area is the
source pixel's weight (no GDAL involved).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from scipy import ndimage

from raster.footprint import (
    FULL_SHARE,
    footprint_means,
    footprint_shares,
    landsat_footprint_flags,
    native_groups,
    sentinel2_footprint_flags,
)
from raster.sources import open_product
from raster.synthetic import write_sentinel2_earthsearch
from tests.conftest import overlap_lengths, raise_if_dask_computes

CRS = "EPSG:32631"
#: 20 m source (SCL) and a 30 m target in Landsat's pixel phase (corners at 15 m mod 30).
SOURCE = GeoBox((30, 30), Affine(20, 0, 300000, 0, -20, 5000000), CRS)
TARGET = GeoBox((18, 18), Affine(30, 0, 300015, 0, -30, 4999985), CRS)


def _weights(source: GeoBox, target: GeoBox) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis overlap lengths (target × source) of two axis-aligned grids of one CRS."""
    (sy, sx), (ty, tx) = source.shape.yx, target.shape.yx
    s, t = source.affine, target.affine
    wx = overlap_lengths(t.c + t.a * np.arange(tx + 1), s.c + s.a * np.arange(sx + 1))
    wy = overlap_lengths(t.f + t.e * np.arange(ty + 1), s.f + s.e * np.arange(sy + 1))
    return wy, wx


def _share_by_hand(flag: np.ndarray, source: GeoBox = SOURCE, target: GeoBox = TARGET):
    wy, wx = _weights(source, target)
    return wy @ flag.astype(float) @ wx.T / (abs(target.affine.a * target.affine.e))


def _any_by_hand(flag: np.ndarray, source: GeoBox = SOURCE, target: GeoBox = TARGET):
    wy, wx = _weights(source, target)
    return ((wy > 0).astype(float) @ flag.astype(float) @ (wx > 0).T.astype(float)) > 0


def _flags(values: np.ndarray, chunks: int | None) -> xr.Dataset:
    data = dsa.from_array(values, chunks=chunks) if chunks else values
    return xr.Dataset({"flag": xr.DataArray(data, dims=("y", "x"), coords=xr_coords(SOURCE))})


@pytest.mark.parametrize("chunks", [None, 7], ids=["numpy", "dask"])
@pytest.mark.parametrize(
    ("pixel", "expected"),
    [
        ((10, 10), {(6, 6): 1 - 400 / 900}),  # wholly inside one target pixel
        ((10, 11), {(6, 6): 1 - 100 / 900, (6, 7): 1 - 300 / 900}),  # 5 m and 15 m of it
        ((0, 0), {(0, 0): 1 - 25 / 900}),  # a 5 m x 5 m corner
        ((29, 29), {}),  # beyond the target
    ],
)
def test_a_partly_covered_source_pixel_weighs_by_the_area_it_covers(chunks, pixel, expected):
    values = np.ones(SOURCE.shape.yx, bool)
    values[pixel] = False
    share = footprint_shares(_flags(values, chunks), TARGET)["flag"].values
    assert share.dtype == np.float32
    rows, cols = np.nonzero(share < FULL_SHARE)
    below = {(int(r), int(c)): float(share[r, c]) for r, c in zip(rows, cols, strict=True)}
    assert below.keys() == expected.keys()
    for where, value in expected.items():
        assert below[where] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("chunks", [None, 5, 11], ids=["numpy", "dask-5", "dask-11"])
def test_shares_equal_the_hand_computed_area_weights(chunks):
    values = np.random.default_rng(3).random(SOURCE.shape.yx) < 0.3
    flags = _flags(values, chunks)
    with raise_if_dask_computes():
        shares = footprint_shares(flags, TARGET, chunk=4 if chunks else None)
    np.testing.assert_allclose(shares["flag"].values, _share_by_hand(values), atol=1e-6)


def test_no_source_under_a_pixel_is_nan():
    wider = GeoBox((20, 20), Affine(30, 0, 300015 - 60, 0, -30, 4999985 + 60), CRS)
    share = footprint_shares(_flags(np.ones(SOURCE.shape.yx, bool), None), wider)["flag"]
    assert np.isnan(share.values[0, 0]) and share.values[5, 5] == pytest.approx(1.0)


# --- Sentinel-2 SCL flags on written products ------------------------------------------------

T10 = Affine(10, 0, 300000, 0, -10, 5000000)


def _product(tmp_path, day: int, scl: np.ndarray, crs=32631, transform=T10, tile="31TCJ"):
    n = scl.shape[0] * 2
    red = np.full((n, n), 2000, np.uint16)
    return open_product(
        write_sentinel2_earthsearch(
            tmp_path, bands={"red": red, "nir": red + 1000, "scl": scl}, tile=tile,
            datetime=dt.datetime(2023, 7, day, 10, 30), crs=crs, transform=transform,
        )
    )  # fmt: skip


def _scl(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scl = np.where(rng.random((30, 30)) < 0.85, 4, 5).astype(np.uint8)
    scl[8:12, 5:9] = 9  # a cloud
    scl[14:16, 20:23] = 3  # its shadow
    scl[:, 26] = 6  # a river, one SCL pixel wide
    scl[22:24, 12:14] = 6  # a pond, 40 m square
    scl[0, 0] = 0  # no data
    return scl


@pytest.mark.parametrize("dilate", [0, 1])
def test_scl_flags_are_clear_only_where_every_scl_pixel_under_the_pixel_is(tmp_path, dilate):
    scls = {1: _scl(1), 20: _scl(2)}
    scls[20][2:4, 2:4] = 8
    items = [_product(tmp_path, day, scl) for day, scl in sorted(scls.items(), reverse=True)]
    with raise_if_dask_computes():
        flags = sentinel2_footprint_flags(items, TARGET, dilate_px=dilate, chunk=8)
    assert list(flags["clear"].product_id.values) == [it.id for it in items[::-1]]  # by date
    for t, day in enumerate(sorted(scls)):
        scl = scls[day]
        water = _share_by_hand(scl == 6) >= 0.5
        cloud = _any_by_hand(np.isin(scl, [3, 8, 9, 10]))
        clear = ~_any_by_hand(~np.isin(scl, [4, 5, 6])) & ~water
        if dilate:
            cloud = ndimage.binary_dilation(
                cloud, structure=ndimage.generate_binary_structure(2, 1)
            )
            clear &= ~cloud
        np.testing.assert_array_equal(flags["water"].values[t], water)
        np.testing.assert_array_equal(flags["clear"].values[t], clear)
    # The river (x 520-540 m) is half of target column 17 (x 525-555 m): water, a tie taken
    # as water; 5 m of column 16: land. The pond is most of one pixel.
    assert flags["water"].values[0].sum() == 18 + 1
    assert flags["water"].values[0][:, 17].all() and not flags["clear"].values[0][:, 17].any()
    assert not flags["water"].values[0][:, 16].any() and flags["clear"].values[0][5, 16]


def test_the_conservative_preset_keeps_mostly_water_pixels(tmp_path):
    items = [_product(tmp_path, 1, _scl(1))]
    flags = sentinel2_footprint_flags(items, TARGET, preset="conservative")
    water = flags["water"].values[0]
    assert water.sum() == 19 and flags["clear"].values[0][water].all()


def test_products_of_another_utm_zone_are_flagged_on_the_grid(tmp_path):
    """A zone-30 tile over a zone-31 grid: its SCL is reprojected, and its dates keep order."""
    from pyproj import Transformer

    to30 = Transformer.from_crs(32631, 32630, always_xy=True)
    xs, ys = to30.transform([300015, 300555, 300015, 300555], [4999985, 4999985, 4999445, 4999445])
    origin = (np.floor(min(xs) / 60) * 60 - 120, np.ceil(max(ys) / 60) * 60 + 120)
    t30 = Affine(10, 0, origin[0], 0, -10, origin[1])
    scl30 = np.full((60, 60), 4, np.uint8)
    items = [
        _product(tmp_path, 2, _scl(1)),
        _product(tmp_path, 1, scl30, crs=32630, transform=t30, tile="30TYP"),
    ]
    groups = native_groups(items, "scl", TARGET)
    assert [len(members) for members, _ in groups] == [1, 1]
    flags = sentinel2_footprint_flags(items, TARGET)
    assert flags["clear"].values[0].all()  # the zone-30 product (1 July): all vegetation
    assert not flags["clear"].values[1].all()


# --- Landsat QA flags on a written product ----------------------------------------------------

#: A 30 m Landsat product in USGS's pixel phase, and a 60 m grid half a Landsat pixel off it.
L30 = GeoBox((40, 40), Affine(30, 0, 300015, 0, -30, 5000015), CRS)
L60 = GeoBox((18, 18), Affine(60, 0, 300030, 0, -60, 5000000), CRS)


def _landsat(tmp_path, lwir11=None, crs=32631, transform=L30.affine):
    from raster.synthetic import encode_qa_pixel, write_landsat_c2l2

    qa = np.full(L30.shape.yx, encode_qa_pixel(), np.uint16)
    qa[5:9, 6:9] = encode_qa_pixel(cloud=True)
    qa[20:22, 30] = encode_qa_pixel(shadow=True)
    qa[:, 15] = encode_qa_pixel(water=True)  # a river, one pixel wide
    qa[30:34, 30:34] = encode_qa_pixel(water=True)  # a lake, 120 m square
    qa[39, 0] = encode_qa_pixel(fill=True)
    st_qa = np.full(L30.shape.yx, 150, np.int16)  # 1.5 K
    st_qa[12:14, 20:23] = 300  # 3 K: too uncertain
    cdist = np.full(L30.shape.yx, 500, np.int16)  # 5 km from a cloud
    cdist[25, 5:8] = 50  # 0.5 km
    radsat = np.zeros(L30.shape.yx, np.uint16)
    radsat[10, 10] = 8  # red (B4) saturated
    radsat[16:18, 25] = 16  # NIR (B5)
    radsat[3, 33] = 64  # SWIR 2 (B7): no NDVI band
    radsat[26, 12] = 2048  # terrain occlusion
    if lwir11 is None:
        lwir11 = np.full(L30.shape.yx, 40000, np.uint16)
    bands = {"lwir11": lwir11, "qa_pixel": qa,
             "st_qa": st_qa, "st_cdist": cdist, "qa_radsat": radsat}  # fmt: skip
    product = write_landsat_c2l2(
        tmp_path, bands=bands, crs=crs, transform=transform, path=199, row=26,
        date=dt.date(2023, 7, 18),
    )  # fmt: skip
    return open_product(product), qa, st_qa, cdist


@pytest.mark.parametrize(
    ("keep_water", "with_st", "dilate"),
    [(True, True, 0), (True, False, 1), (False, True, 0)],
    ids=["st-checks", "dilated", "water-rejected"],
)
def test_landsat_flags_are_clear_only_where_every_30_m_pixel_under_the_pixel_is(
    tmp_path, keep_water, with_st, dilate
):
    from raster.quality.qa_pixel import QAPixelMask

    item, qa, st_qa, cdist = _landsat(tmp_path)
    preset = QAPixelMask(name="test", keep_water=keep_water)  # bits 0-5, as the default
    with raise_if_dask_computes():
        flags = landsat_footprint_flags(
            [item], L60, preset=preset, st_qa_max_k=2.0 if with_st else None,
            cdist_min_km=1.0 if with_st else None, dilate_px=dilate, chunk=8,
        )  # fmt: skip
    water_bit = (qa & (1 << 7)) > 0
    rejected = (qa & 0b111111) > 0  # fill, dilated cloud, cirrus, cloud, shadow, snow
    if with_st:
        rejected |= (st_qa * 0.01 > 2.0) | (cdist * 0.01 < 1.0)
    water = _share_by_hand(water_bit, L30, L60) >= 0.5
    clear = ~_any_by_hand(rejected, L30, L60)
    if not keep_water:
        clear &= ~water
    if dilate:
        cloud = _any_by_hand((qa & 0b111110) > 0, L30, L60)  # not fill, not water
        clear &= ~ndimage.binary_dilation(cloud, ndimage.generate_binary_structure(2, 1))
    np.testing.assert_array_equal(flags["water"].values[0], water)
    np.testing.assert_array_equal(flags["clear"].values[0], clear)
    assert water.sum() > 4  # the lake, and the river where it is half a pixel
    if keep_water:
        assert clear[water].any()  # water kept: a lake pixel with nothing else is clear
    else:
        assert not clear[water].any()


def test_an_item_without_grid_fields_is_gridded_from_its_file(tmp_path):
    item = _product(tmp_path, 1, _scl(1))
    want = native_groups([item], "scl", TARGET)[0][1]
    for fields in (item.properties, item.assets["scl"].extra_fields):
        for key in ("proj:shape", "proj:transform"):
            fields.pop(key, None)
    got = native_groups([item], "scl", TARGET)[0][1]
    assert got == want and got.resolution.x == 20


@pytest.mark.parametrize(
    "target",
    [
        TARGET,
        GeoBox((25, 21), Affine(25, 0, 299990, 0, -25, 5000013), CRS),  # no common phase
        GeoBox((9, 9), Affine(70, 0, 300100, 0, -70, 4999900), CRS),  # 3.5 pixels each
        GeoBox((30, 30), Affine(20, 0, 300010, 0, -20, 5000010), CRS),  # same size, shifted
    ],
    ids=["landsat-phase", "no-phase", "coarse", "shifted"],
)
@pytest.mark.parametrize("chunks", [None, 7], ids=["numpy", "dask"])
def test_separable_shares_equal_gdal_average(monkeypatch, target, chunks):
    """The axis-by-axis weights give GDAL's ``average`` warp (the path for other CRSs)."""
    from raster import footprint

    values = np.random.default_rng(11).random((2, *SOURCE.shape.yx)) < 0.4
    data = dsa.from_array(values, chunks=(1, chunks, chunks)) if chunks else values
    flags = xr.Dataset(
        {"flag": xr.DataArray(data, dims=("time", "y", "x"), coords=xr_coords(SOURCE))}
    )
    separable = footprint_shares(flags, target, chunk=5 if chunks else None)["flag"].values
    monkeypatch.setattr(footprint, "_separable", lambda source, target: False)
    warped = footprint_shares(flags, target, chunk=5 if chunks else None)["flag"].values
    # Pixels wholly inside the source (GDAL's rule for those it covers in part is its own).
    left, bottom, right, top = SOURCE.boundingbox
    x0, y0 = target.affine.c, target.affine.f
    step = target.affine.a
    cols = (x0 + step * np.arange(target.shape.x) >= left) & (
        x0 + step * (np.arange(target.shape.x) + 1) <= right
    )
    rows = (y0 - step * np.arange(target.shape.y) <= top) & (
        y0 - step * (np.arange(target.shape.y) + 1) >= bottom
    )
    inside = np.ix_(np.arange(2), np.nonzero(rows)[0], np.nonzero(cols)[0])
    assert separable[inside].size > 90 and np.isfinite(separable[inside]).all()
    np.testing.assert_allclose(separable[inside], warped[inside], rtol=0, atol=2e-6)
    assert not (np.isnan(separable) & np.isfinite(warped)).any()  # where GDAL has one, too


def test_landsat_radsat_flags_reject_a_pixel_with_any_saturated_30_m_pixel_under_it(tmp_path):
    """Per output, a grid pixel is kept only when no 30 m pixel under it has a band the
    output uses saturated (QA_RADSAT bit 3 = B4, 4 = B5) nor the terrain occluded (bit 11);
    the LST (no bands: QA_RADSAT has no band-10 bit) only the latter."""
    import rasterio

    item, _, _, _ = _landsat(tmp_path)
    with rasterio.open(item.assets["qa_radsat"].href) as src:
        radsat = src.read(1)
    with raise_if_dask_computes():
        flags = landsat_footprint_flags(
            [item], L60, radsat={"ndvi": ("red", "nir08"), "lst": ()}, chunk=8
        )
    ndvi = ~_any_by_hand((radsat & (8 | 16 | 2048)) > 0, L30, L60)
    lst = ~_any_by_hand((radsat & 2048) > 0, L30, L60)
    np.testing.assert_array_equal(flags["radsat_ndvi"].values[0], ndvi)
    np.testing.assert_array_equal(flags["radsat_lst"].values[0], lst)
    # 60 m pixels half a 30 m pixel off: a 30 m pixel of even row and column straddles 2 x 2
    # of them (red, terrain); the NIR pair (rows 16-17, column 25) lies in 2 x 1; SWIR 2
    # saturation rejects none.
    assert (~ndvi).sum() == 4 + 2 + 4 and (~lst).sum() == 4
    assert set(flags.data_vars) == {"clear", "water", "radsat_ndvi", "radsat_lst"}
    plain = landsat_footprint_flags([item], L60, chunk=8)
    assert set(plain.data_vars) == {"clear", "water"}
    np.testing.assert_array_equal(plain["clear"].values, flags["clear"].values)


def test_landsat_temperature_is_the_radiance_mean_of_the_30_m_pixels(tmp_path):
    """With ``temperature``, a grid pixel's ST_B10 is the fourth root of the area-weighted
    mean of T⁴ over the 30 m pixels under it (science.md pitfall 13), from the same read as
    its flags; NaN where one of them is fill. A 290 / 320 K checkerboard under 60 m pixels
    half a Landsat pixel off: weights 1/4, 1/2, 1/4 per axis, half hot and half cold."""
    from raster.synthetic import kelvin_to_st_dn

    rows, cols = np.indices(L30.shape.yx)
    kelvin = np.where((rows + cols) % 2, 290.0, 320.0)
    kelvin[17, 5] = np.nan  # fill (odd row and column: inside one 60 m pixel)
    dn = kelvin_to_st_dn(kelvin)
    item, _, _, _ = _landsat(tmp_path, lwir11=dn)
    with raise_if_dask_computes():
        flags = landsat_footprint_flags([item], L60, temperature=True, chunk=8)
    assert set(flags.data_vars) == {"clear", "water", "lwir11"}
    assert flags["lwir11"].attrs["units"] == "K" and flags["lwir11"].dtype == np.float32
    got = flags["lwir11"].values[0]
    t = dn * 0.00341802 + 149.0
    want = (_share_by_hand(np.where(dn > 0, t**4, 0.0), L30, L60)) ** 0.25
    want[_any_by_hand(dn == 0, L30, L60)] = np.nan
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got).sum() == 1
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, equal_nan=True)
    cold, hot = t[dn > 0].min(), t.max()
    np.testing.assert_allclose(np.nanmin(got), ((cold**4 + hot**4) / 2) ** 0.25, atol=1e-4)
    assert np.nanmax(got) - np.nanmin(got) < 1e-3  # everywhere the same mix
    assert np.nanmin(got) - (cold + hot) / 2 > 1.0  # 306.10 K, not the mean 305.00 K
    plain = landsat_footprint_flags([item], L60, chunk=8)
    np.testing.assert_array_equal(plain["clear"].values, flags["clear"].values)


@pytest.mark.parametrize("chunks", [None, 7], ids=["numpy", "dask"])
def test_footprint_means_weigh_by_area_and_equal_gdal_average(monkeypatch, chunks):
    """Area-weighted means of numbers: the hand-computed weights, and GDAL's ``average``
    warp (the path for other CRSs) on pixels wholly inside the source."""
    from raster import footprint

    values = 280.0 + 40.0 * np.random.default_rng(5).random(SOURCE.shape.yx)
    data = dsa.from_array(values, chunks=chunks) if chunks else values
    ds = xr.Dataset({"t4": xr.DataArray(data, dims=("y", "x"), coords=xr_coords(SOURCE),
                                        attrs={"units": "K4"})})  # fmt: skip
    with raise_if_dask_computes():
        means = footprint_means(ds, TARGET, chunk=5 if chunks else None)
    assert means["t4"].attrs["units"] == "K4"
    np.testing.assert_allclose(means["t4"].values, _share_by_hand(values), rtol=1e-6)
    monkeypatch.setattr(footprint, "_separable", lambda source, target: False)
    warped = footprint_means(ds, TARGET, chunk=5 if chunks else None)["t4"].values
    np.testing.assert_allclose(warped, means["t4"].values, rtol=1e-6)


@pytest.mark.parametrize("chunks", [None, 7], ids=["numpy", "dask"])
def test_southern_landsat_shares_on_the_south_crs_are_separable_and_equal_gdal(monkeypatch, chunks):
    """30 m pixels of a southern Landsat scene (USGS: north zone, negative northings) onto a
    60 m grid in the zone's south CRS: the same lattice 10,000 km north, so the weights are
    separable. Oracles: the hand-computed area weights on the translated grid, and GDAL's
    ``average`` warp between the two CRSs."""
    from raster import footprint

    source = GeoBox((30, 30), Affine(30, 0, 339_985, 0, -30, -2_319_975), "EPSG:32640")
    target = GeoBox((12, 12), Affine(60, 0, 340_045, 0, -60, 7_680_025 - 60), "EPSG:32740")
    moved = GeoBox(target.shape, Affine(60, 0, 340_045, 0, -60, -2_319_975 - 60), "EPSG:32640")
    assert footprint._separable(source, target)
    values = np.random.default_rng(12).random(source.shape.yx) < 0.4
    data = dsa.from_array(values, chunks=chunks) if chunks else values
    flags = xr.Dataset({"flag": xr.DataArray(data, dims=("y", "x"), coords=xr_coords(source))})
    got = footprint_shares(flags, target, chunk=5 if chunks else None)["flag"].values
    np.testing.assert_allclose(got, _share_by_hand(values, source, moved), rtol=0, atol=2e-6)
    monkeypatch.setattr(footprint, "_separable", lambda source, target: False)
    warped = footprint_shares(flags, target, chunk=5 if chunks else None)["flag"].values
    np.testing.assert_allclose(got, warped, rtol=0, atol=2e-6)


# --- Water left out of a coarse pixel's LST ---------------------------------------------------

#: 11 x 11 Landsat pixels (one of margin around 9 x 9) under a 90 m grid of 3 x 3 pixels on
#: Landsat's pixel edges: each grid pixel is 3 x 3 whole Landsat pixels.
L30_SMALL = GeoBox((11, 11), Affine(30, 0, 299_985, 0, -30, 5_000_045), CRS)
L90 = GeoBox((3, 3), Affine(90, 0, 300_015, 0, -90, 5_000_015), CRS)


def _riverbank_product(tmp_path):
    """Per 90 m pixel (row, column) of :data:`L90`, its 3 x 3 Landsat pixels: 280 K water
    (QA bit 7) and 310 K land (300 K in (0, 1)), clear unless said.

    (0, 0) 2 water, 7 land; (0, 1) 1 water, also cloudy; (0, 2) 5 water; (1, 0) 2 water and
    a cloudy land pixel; (1, 1) 1 water without a temperature (ST_B10 0); (1, 2) all water;
    (2, 0) land, 300 / 320 K checkerboard; (2, 1) 1 water and a land pixel without a
    temperature; (2, 2) 1 water with ST_QA 3 K (too uncertain)."""
    from raster.synthetic import encode_qa_pixel, kelvin_to_st_dn, write_landsat_c2l2

    kelvin = np.full((11, 11), 310.0)
    water = np.zeros((11, 11), bool)
    cloud = np.zeros((11, 11), bool)
    st_qa = np.full((11, 11), 150, np.int16)
    block = lambda r, c: (slice(1 + 3 * r, 4 + 3 * r), slice(1 + 3 * c, 4 + 3 * c))  # noqa: E731
    sub = lambda r, c, i, j: (1 + 3 * r + i, 1 + 3 * c + j)  # noqa: E731
    for r, c, cells in [
        (0, 0, [(0, 0), (0, 1)]), (0, 1, [(1, 1)]),
        (0, 2, [(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)]), (1, 0, [(2, 0), (2, 1)]),
        (1, 1, [(0, 2)]), (1, 2, [(i, j) for i in range(3) for j in range(3)]),
        (2, 1, [(1, 1)]), (2, 2, [(2, 2)]),
    ]:  # fmt: skip
        for i, j in cells:
            water[sub(r, c, i, j)] = True
    kelvin[block(0, 1)] = 300.0
    rows, cols = np.indices((3, 3))
    kelvin[block(2, 0)] = np.where((rows + cols) % 2, 300.0, 320.0)
    kelvin[water] = 280.0
    cloud[sub(0, 1, 1, 1)] = cloud[sub(1, 0, 1, 1)] = True
    dn = kelvin_to_st_dn(kelvin)
    dn[sub(1, 1, 0, 2)] = dn[sub(2, 1, 0, 0)] = 0
    st_qa[sub(2, 2, 2, 2)] = 300
    bands = {"lwir11": dn, "qa_pixel": encode_qa_pixel(water=water, cloud=cloud),
             "st_qa": st_qa}  # fmt: skip
    product = write_landsat_c2l2(
        tmp_path, bands=bands, crs=32631, transform=L30_SMALL.affine, path=199, row=26,
        date=dt.date(2023, 7, 18),
    )  # fmt: skip
    return open_product(product), dn * 0.00341802 + 149.0


@pytest.mark.parametrize("chunk", [1, 8])
def test_water_is_left_out_of_a_coarse_pixel_lst_when_the_preset_rejects_it(tmp_path, chunk):
    """``mask.lst_keep_water: false`` on a 90 m grid: a riverbank pixel's LST is the
    radiance mean of its land alone, and it is clear when its land is and water is under half
    of it (science.md §1.3). Hand-computed per pixel from the temperatures as stored (ST_B10
    DN), where the mean of T⁴ over all nine would be 5.9 K colder in (0, 0)."""
    from raster.quality.qa_pixel import QAPixelMask

    item, t = _riverbank_product(tmp_path)
    land, hot, cold = t[1, 3], t[1, 4], t[1, 1]  # 310, 300 and 280 K as stored
    assert (round(land, 2), round(hot, 2), round(cold, 2)) == (310.0, 300.0, 280.0)
    checker = ((5 * t[7, 1] ** 4 + 4 * t[7, 2] ** 4) / 9) ** 0.25
    nan = np.nan
    want_t = [[land, hot, land], [land, land, nan], [checker, nan, land]]
    want_clear = [[True, True, False], [False, True, False], [True, True, True]]
    want_water = [[False, False, True], [False, False, True], [False, False, False]]
    rejected = QAPixelMask(name="test", keep_water=False)
    with raise_if_dask_computes():
        flags = landsat_footprint_flags(
            [item], L90, preset=rejected, st_qa_max_k=2.0, temperature=True, chunk=chunk
        )
    got = flags["lwir11"].values[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want_t))
    np.testing.assert_allclose(got, want_t, rtol=0, atol=1e-4)  # float32 rounding only
    np.testing.assert_array_equal(flags["clear"].values[0], want_clear)
    np.testing.assert_array_equal(flags["water"].values[0], want_water)
    assert "land 30 m pixels" in flags["lwir11"].attrs["comment"]
    everything = ((7 * land**4 + 2 * cold**4) / 9) ** 0.25  # 304.07 K: the river mixed in
    assert got[0, 0] - everything > 5.0

    # Water kept: the mean of all nine, and every one of them must be clear (as before).
    kept = landsat_footprint_flags(
        [item], L90, preset=replace(rejected, keep_water=True), st_qa_max_k=2.0,
        temperature=True, chunk=chunk,
    )  # fmt: skip
    got = kept["lwir11"].values[0]
    np.testing.assert_allclose(got[0, 0], everything, rtol=0, atol=1e-4)
    np.testing.assert_allclose(got[1, 2], cold, rtol=0, atol=1e-4)
    assert np.isnan(got[1, 1]) and np.isnan(got[2, 1])
    np.testing.assert_array_equal(
        kept["clear"].values[0], [[True, False, True], [False, True, True], [True, True, False]]
    )


#: Grids half a Landsat pixel off :data:`L30`; "south": over the same product written in the
#: north zone with negative northings (as USGS does), the grid in that zone's south CRS.
RIVERBANK_GRIDS = {
    "60m": L60,
    "90m-off": GeoBox((12, 12), Affine(90, 0, 300_030, 0, -90, 5_000_000), CRS),
    "south": GeoBox((12, 12), Affine(90, 0, 340_000, 0, -90, 7_680_010), "EPSG:32740"),
}


@pytest.mark.parametrize("dilate", [0, 1])
@pytest.mark.parametrize("where", sorted(RIVERBANK_GRIDS))
def test_a_coarse_pixel_lst_is_the_area_weighted_radiance_mean_of_its_land(tmp_path, where, dilate):
    """Water rejected, grids half a Landsat pixel off (a 30 m pixel weighs 1/4, 1/2 or 3/4
    of a 60 m pixel's side; 1/6 or 1/3 of a 90 m one's) and a southern scene (north-zone
    product, negative northings) under its zone's south CRS: the LST equals the hand-computed
    (Σ w·T⁴ over land / Σ w over land)^(1/4), NaN where a land pixel has none; clear where
    every land pixel is and water is under half of the pixel."""
    from raster.quality.qa_pixel import QAPixelMask
    from raster.synthetic import kelvin_to_st_dn

    rng = np.random.default_rng(7)
    kelvin = 305.0 + 10.0 * rng.random(L30.shape.yx)
    _, qa, st_qa, cdist = _landsat(tmp_path / "layout")  # its QA, for the temperatures
    water_bit = (qa & (1 << 7)) > 0
    kelvin[water_bit] = 285.0
    kelvin[3, 20] = np.nan  # land without a temperature
    kelvin[31, 31] = np.nan  # water without one: it counts for nothing
    dn = kelvin_to_st_dn(kelvin)
    source, target = L30, RIVERBANK_GRIDS[where]
    crs, origin = 32631, L30.affine
    if where == "south":
        origin = Affine(30, 0, 339_985, 0, -30, -2_319_975)
        crs, source = 32640, GeoBox(L30.shape, origin, "EPSG:32640")
    item, _, _, _ = _landsat(tmp_path / where, lwir11=dn, crs=crs, transform=origin)
    moved = target  # the target on the source's lattice, for the hand weights
    if where == "south":
        a = target.affine
        moved = GeoBox(target.shape, Affine(a.a, 0, a.c, 0, a.e, a.f - 10_000_000), source.crs)
    with raise_if_dask_computes():
        flags = landsat_footprint_flags(
            [item], target, preset=QAPixelMask(name="test", keep_water=False),
            st_qa_max_k=2.0, cdist_min_km=1.0, dilate_px=dilate, temperature=True, chunk=5,
        )  # fmt: skip
    t = dn * 0.00341802 + 149.0
    land, has_t = ~water_bit, dn > 0
    share = lambda flag: _share_by_hand(flag, source, moved)  # noqa: E731
    touches = lambda flag: _any_by_hand(flag, source, moved)  # noqa: E731
    with np.errstate(invalid="ignore", divide="ignore"):
        want = (share(np.where(land & has_t, t**4, 0.0)) / share(land)) ** 0.25
    want[touches(land & ~has_t) | (share(land) == 0)] = np.nan
    rejected = ((qa & 0b111111) > 0) | (st_qa * 0.01 > 2.0) | (cdist * 0.01 < 1.0)
    water = share(water_bit) >= 0.5
    clear = ~touches(land & rejected) & ~water
    if dilate:
        cloud = touches((qa & 0b111110) > 0)
        clear &= ~ndimage.binary_dilation(cloud, ndimage.generate_binary_structure(2, 1))
    got = flags["lwir11"].values[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4, equal_nan=True)
    np.testing.assert_array_equal(flags["water"].values[0], water)
    np.testing.assert_array_equal(flags["clear"].values[0], clear)
    riverbank = clear & (share(water_bit) > 0) & np.isfinite(want)
    assert riverbank.sum() >= 5  # kept pixels with water under them: the land's LST only
    with np.errstate(invalid="ignore"):
        everything = share(np.where(has_t, t**4, 0.0)) ** 0.25
    assert (everything[riverbank] < got[riverbank] - 0.3).all()  # 1/36 of water: 0.5 K
