"""The fused index composite equals the general chain (reflectance, indices, SCL mask, median)."""

from __future__ import annotations

import functools
import operator

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from raster import index_composite
from raster.acquisitions import acquisition_groups, fuse_acquisitions
from raster.composite import temporal_composite
from raster.index_composite import index_median_composite
from raster.indices import compute_indices
from raster.load import StoredBands
from raster.quality import sentinel2_clear_mask, sentinel2_water_mask
from tests.conftest import raise_if_dask_computes
from tiles.errors import BandMissingError

BANDS = ("blue", "green", "red", "nir", "swir16", "swir22")
NAMES = ("ndvi", "mndwi", "ndbi", "ndwi", "ui", "albedo_s2", "albedo_liang")


def _stored(n_time=5, ny=37, nx=23, seed=0, chunks=None, with_scl=True) -> StoredBands:
    """Random Sentinel-2-like stored bands: uint16 DN (0 = fill), uint8 SCL (0 = no data)."""
    rng = np.random.default_rng(seed)
    data = {b: rng.integers(0, 12_000, (n_time, ny, nx), dtype=np.uint16) for b in BANDS}
    # Zero denominators: DN 2 with scale 0.5 and offset -1 is reflectance 0 in both bands.
    data["red"][0, :3] = 2
    data["nir"][0, :3] = 2
    data["nir"][1, 3, :] = 0  # fill: NaN reflectance
    if with_scl:
        data["scl"] = rng.choice(np.array([0, 3, 4, 5, 6, 8, 9], np.uint8), (n_time, ny, nx))
        data["scl"][:, 5, :] = 3  # a row never clear: NaN composite
    scale = {b: np.full(n_time, 1e-4, np.float32) for b in data}
    offset = {b: np.linspace(-0.1, 0.0, n_time).astype(np.float32) for b in data}
    fill = {b: np.zeros(n_time) for b in data}
    scale["red"][0] = scale["nir"][0] = 0.5
    offset["red"][0] = offset["nir"][0] = -1.0
    if with_scl:
        scale["scl"][:], offset["scl"][:] = 1.0, 0.0
    coords = {"time": np.arange(n_time), "y": np.arange(ny) * -10.0, "x": np.arange(nx) * 10.0,
              "product_id": ("time", [f"S2_{t}" for t in range(n_time)])}  # fmt: skip
    ds = xr.Dataset({b: (("time", "y", "x"), v) for b, v in data.items()}, coords=coords)
    if chunks:
        ds = ds.chunk({"time": 1, **chunks})
    return StoredBands(ds, scale, offset, fill, {b: None for b in data})


def _chain(stored: StoredBands, names, preset="default", groups=None) -> xr.Dataset:
    ds = stored.physical()
    indices = compute_indices(ds, names)
    out = xr.Dataset()
    clear = sentinel2_clear_mask(ds, preset=preset) if "scl" in ds else None
    for name in indices.data_vars:
        values = indices[name] if clear is None else indices[name].where(clear)
        if groups is not None:
            values = fuse_acquisitions(values, groups)
        out[name] = temporal_composite(values, stats="median", min_clear=1)["median"]
    if "scl" in ds:
        out["scl_water"] = sentinel2_water_mask(ds).any("time")
    return out.compute()


@pytest.mark.parametrize("chunks", [None, {"y": 16, "x": 10}], ids=["numpy", "dask"])
def test_equals_the_general_chain_bit_for_bit(chunks):
    stored = _stored(chunks=chunks)
    fused = index_median_composite(stored, NAMES).compute()
    expected = _chain(_stored(), NAMES)
    for name in NAMES:
        np.testing.assert_array_equal(fused[name].values, expected[name].values, err_msg=name)
        assert fused[name].dtype == np.float32
        assert fused[name].attrs == expected[name].attrs
    np.testing.assert_array_equal(fused["scl_water"].values, expected["scl_water"].values)
    assert np.isnan(fused["ndvi"].values[5]).all()  # never clear
    assert np.isfinite(fused["ndvi"].values).mean() > 0.5
    for name in ("ndvi", "mndwi", "ndbi", "ndwi", "ui"):  # negative reflectances count as 0
        assert np.nanmax(np.abs(fused[name].values)) <= 1, name


def test_float64_scales_and_offsets_equal_the_chain_bit_for_bit():
    """Scales and offsets given as float64 convert in float32, as dn_to_physical does."""
    stored = _stored()
    wide = StoredBands(stored.data, {b: s.astype(np.float64) for b, s in stored.scale.items()},
                       {b: o.astype(np.float64) for b, o in stored.offset.items()},
                       stored.fill, stored.specs)  # fmt: skip
    fused = index_median_composite(wide, NAMES).compute()
    expected = _chain(wide, NAMES)
    for name in NAMES:
        np.testing.assert_array_equal(fused[name].values, expected[name].values, err_msg=name)


def test_a_negative_reflectance_counts_as_zero():
    """Red 0.0084 and NIR -0.0084 (DN 84 and 1916 at scale 1e-4, offsets 0 and -0.2): NDVI -1
    on both dates, not (-0.0084 - 0.0084) / 0 nor 1344-like values."""
    red = np.full((2, 1, 1), 84, np.uint16)
    nir = np.array([1916, 1916], np.uint16).reshape(2, 1, 1)
    ds = xr.Dataset({"red": (("time", "y", "x"), red), "nir": (("time", "y", "x"), nir)})
    scale = {b: np.full(2, 1e-4, np.float32) for b in ("red", "nir")}
    offset = {"red": np.zeros(2, np.float32), "nir": np.full(2, -0.2, np.float32)}
    fill = {b: np.full(2, np.nan) for b in scale}
    stored = StoredBands(ds, scale, offset, fill, dict.fromkeys(scale))
    assert index_median_composite(stored, ["ndvi"])["ndvi"].item() == -1.0


@pytest.mark.parametrize("strip_bytes", [1, 5 * 7 * 23 * 2 * 6])  # 1 row; 6 rows (37 = 6·6 + 1)
def test_strips_of_rows_give_the_same_composite(monkeypatch, strip_bytes):
    whole = index_median_composite(_stored(), NAMES).compute()
    monkeypatch.setattr(index_composite, "STRIP_BYTES", strip_bytes)
    for chunks in (None, {"y": 16, "x": 10}):
        strips = index_median_composite(_stored(chunks=chunks), NAMES).compute()
        for name in (*NAMES, "scl_water"):
            np.testing.assert_array_equal(strips[name].values, whole[name].values, err_msg=name)


def test_other_preset_and_no_scl():
    stored = _stored(seed=3)
    fused = index_median_composite(stored, ["ndvi"], scl="permissive").compute()
    expected = _chain(stored, ["ndvi"], preset="permissive")
    np.testing.assert_array_equal(fused["ndvi"].values, expected["ndvi"].values)
    bare = _stored(seed=4, with_scl=False)
    fused = index_median_composite(bare, ["ndvi", "ndbi"])
    assert "scl_water" not in fused
    expected = _chain(bare, ["ndvi", "ndbi"])
    for name in ("ndvi", "ndbi"):
        np.testing.assert_array_equal(fused[name].values, expected[name].values)


def test_hand_computed_pixel():
    """One pixel, three clear dates: NDVI 0.5, 0.6, 0.2 (reflectance = DN / 10,000)."""
    red = np.array([1000, 1000, 4000], np.uint16).reshape(3, 1, 1)
    nir = np.array([3000, 4000, 6000], np.uint16).reshape(3, 1, 1)
    scl = np.array([4, 5, 4], np.uint8).reshape(3, 1, 1)
    ds = xr.Dataset({"red": (("time", "y", "x"), red), "nir": (("time", "y", "x"), nir),
                     "scl": (("time", "y", "x"), scl)})  # fmt: skip
    per = {b: np.ones(3, np.float32) * (1e-4 if b != "scl" else 1) for b in ("red", "nir", "scl")}
    zero = {b: np.zeros(3, np.float32) for b in per}
    stored = StoredBands(ds, per, zero, {b: np.full(3, np.nan) for b in per}, dict.fromkeys(per))
    out = index_median_composite(stored, ["ndvi"])
    assert out["ndvi"].item() == pytest.approx(0.5, abs=1e-6)
    scl[1] = 9  # the 0.6 date is cloudy: median of 0.5 and 0.2
    assert index_median_composite(stored, ["ndvi"])["ndvi"].item() == pytest.approx(0.35, abs=1e-6)


def test_lazy_on_dask_and_reads_nothing_to_build():
    reads = []

    def block(i):
        reads.append(i)
        return np.ones((1, 8, 8), np.uint16)

    arrays = [
        dsa.concatenate([dsa.from_delayed(dask.delayed(block)(i), (1, 8, 8), np.uint16)
                         for i in range(3)])
        for _ in ("red", "nir")
    ]  # fmt: skip
    dims = ("time", "y", "x")
    ds = xr.Dataset({"red": (dims, arrays[0]), "nir": (dims, arrays[1])})
    per = {b: np.ones(3, np.float32) for b in ("red", "nir")}
    stored = StoredBands(ds, per, per, {b: np.full(3, np.nan) for b in per}, dict.fromkeys(per))
    out = index_median_composite(stored, ["ndvi"])
    assert reads == [] and out["ndvi"].chunks is not None
    assert (out["ndvi"].values == 0).all()  # (1 - 1) / (1 + 1), once computed
    assert len(reads) == 6


def test_errors_name_the_problem():
    stored = _stored(with_scl=False)
    with pytest.raises(ValueError, match=r"savi.*not a ratio"):
        index_median_composite(stored, ["savi"])
    without = StoredBands(stored.data.drop_vars("swir16"), stored.scale, stored.offset,
                          stored.fill, stored.specs)  # fmt: skip
    with pytest.raises(BandMissingError, match="swir16"):
        index_median_composite(without, ["ndbi"])
    with pytest.raises(ValueError, match="unknown index"):
        index_median_composite(stored, ["nvdi"])


@pytest.mark.parametrize("chunks", [None, {"y": 16, "x": 10}], ids=["numpy", "dask"])
def test_precomputed_flags_mask_the_dates_and_flag_water(chunks):
    """``flags`` (clear and water per date) replace the SCL classes: the composite equals the
    chain masked by ``clear``, the water flag is ``water`` on any date."""
    stored = _stored(with_scl=False, chunks=chunks)
    rng = np.random.default_rng(7)
    dims, shape = ("time", "y", "x"), stored.data["red"].shape
    clear, water = rng.random(shape) < 0.6, rng.random(shape) < 0.05
    clear[:, 5, :] = False
    coords = {k: v for k, v in stored.data.coords.items()}
    flags = xr.Dataset({"clear": (dims, clear), "water": (dims, water)}, coords=coords)
    if chunks:
        flags = flags.chunk({"time": 1, "y": 8, "x": 8})  # other chunks than the bands'
    fused = index_median_composite(stored, ["ndvi", "ndbi"], scl=None, flags=flags).compute()
    indices = compute_indices(_stored(with_scl=False).physical(), ["ndvi", "ndbi"])
    for name in ("ndvi", "ndbi"):
        expected = temporal_composite(indices[name].where(flags["clear"].values), stats="median",
                                      min_clear=1)["median"]  # fmt: skip
        np.testing.assert_array_equal(fused[name].values, expected.values, err_msg=name)
    np.testing.assert_array_equal(fused["scl_water"].values, water.any(axis=0))
    assert np.isnan(fused["ndvi"].values[5]).all()


def test_flags_refused_beside_scl_or_for_other_dates_or_pixels():
    stored = _stored()
    dims, shape = ("time", "y", "x"), stored.data["red"].shape
    flags = xr.Dataset(
        {"clear": (dims, np.ones(shape, bool)), "water": (dims, np.zeros(shape, bool))},
        coords=stored.data.coords,
    )
    with pytest.raises(ValueError, match="not both"):
        index_median_composite(stored, ["ndvi"], scl="default", flags=flags)
    with pytest.raises(ValueError, match="different dates"):
        index_median_composite(stored, ["ndvi"], scl=None, flags=flags.isel(time=slice(1, None)))
    swapped = flags.assign_coords(product_id=("time", flags["product_id"].values[::-1]))
    with pytest.raises(ValueError, match="different dates"):
        index_median_composite(stored, ["ndvi"], scl=None, flags=swapped)
    shifted = flags.assign_coords(x=flags["x"] + 5.0)
    with pytest.raises(ValueError, match="different grids"):
        index_median_composite(stored, ["ndvi"], scl=None, flags=shifted)
    # Without SCL in the bands, the default scl= is no conflict: the flags mask.
    bare = _stored(with_scl=False)
    out = index_median_composite(bare, ["ndvi"], flags=flags.assign(clear=flags["clear"] & False))
    assert np.isnan(out["ndvi"].values).all()


#: Datatake sensing start of the two tiles, and the next date (another acquisition).
T0 = np.datetime64("2023-07-14T10:56:21")


def _two_tiles(chunks=None, baselines=("02.14", "02.14")) -> StoredBands:
    """One row of 8 pixels, three dates: tiles A (pixels 0-4) and B (pixels 2-7) of one
    datatake, 10 s apart, then C ten days later over all. Reflectance (red, NIR): A (0.1, 0.3),
    NDVI 0.5, cloudy (SCL 9) at pixel 4; B (0.1, 0.9), NDVI 0.8; C (0.3, 0.3), NDVI 0. Outside
    its tile a product holds fill (DN 0, SCL 0). DN = 10,000 ρ, plus 1,000 from baseline 04.00
    (offset -0.1, science.md §3.2); C is 05.10."""
    red, nir = np.zeros((2, 3, 1, 8), np.uint16)
    scl = np.zeros((3, 1, 8), np.uint8)
    offset = np.array([-0.1 if b >= "04.00" else 0.0 for b in (*baselines, "05.10")])
    add = np.round(-offset * 1e4).astype(np.uint16)
    for t, cols, (r, n) in ((0, slice(0, 5), (0.1, 0.3)), (1, slice(2, 8), (0.1, 0.9)),
                            (2, slice(0, 8), (0.3, 0.3))):  # fmt: skip
        red[t, 0, cols] = round(r * 1e4) + add[t]
        nir[t, 0, cols] = round(n * 1e4) + add[t]
        scl[t, 0, cols] = 4
    scl[0, 0, 4] = 9
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {"red": (dims, red), "nir": (dims, nir), "scl": (dims, scl)},
        coords={"time": [T0, T0 + np.timedelta64(10, "s"), T0 + np.timedelta64(10, "D")],
                "y": [0.0], "x": np.arange(8) * 10.0,
                "platform": ("time", ["sentinel-2b"] * 3),
                "product_id": ("time", ["S2B_31TCJ", "S2B_31TDJ", "S2B_31TCJ_later"])},
    )  # fmt: skip
    if chunks:
        ds = ds.chunk({"time": 1, "x": chunks})
    scale = {"red": np.full(3, 1e-4, np.float32), "nir": np.full(3, 1e-4, np.float32),
             "scl": np.ones(3, np.float32)}  # fmt: skip
    shift = {"red": offset.astype(np.float32), "nir": offset.astype(np.float32),
             "scl": np.zeros(3, np.float32)}  # fmt: skip
    fill = {b: np.zeros(3) for b in scale}
    return StoredBands(ds, scale, shift, fill, dict.fromkeys(scale))


@pytest.mark.parametrize("baselines", [("02.14", "02.14"), ("02.14", "04.00")],
                         ids=["same-offsets", "offsets-differ"])  # fmt: skip
@pytest.mark.parametrize("chunks", [None, 3], ids=["numpy", "dask"])
def test_two_tiles_of_one_datatake_count_once(chunks, baselines):
    """Pixels 0-1, A and C: median(0.5, 0) = 0.25. Overlap 2-4: at 2-3 A's 0.5 (the first
    product) and C, 0.25, not median(0.5, 0.8, 0) = 0.5; at 4, A cloudy, B's 0.8 and C, 0.4.
    Pixels 5-7, B and C: 0.4. B's DNs converted with B's offset: with A's (none) its NDVI
    would be (1.0 - 0.2) / 1.2 = 0.667 and the median 0.333."""
    stored = _two_tiles(chunks, baselines)
    groups = acquisition_groups(stored.data)
    assert groups == [[0, 1], [2]]
    out = index_median_composite(stored, ["ndvi"], groups=groups)
    if chunks:
        assert isinstance(out["ndvi"].data, dsa.Array)
    expected = [0.25, 0.25, 0.25, 0.25, 0.4, 0.4, 0.4, 0.4]
    np.testing.assert_allclose(out["ndvi"].values[0], expected, atol=1e-6)
    assert not out["scl_water"].values.any()


@pytest.mark.parametrize("chunks", [None, {"y": 16, "x": 10}], ids=["numpy", "dask"])
def test_acquisitions_equal_the_chain_of_fused_scenes_bit_for_bit(chunks):
    """Random dates 0-1 and 3-4 as two acquisitions: the chain's indices fused
    (raster.acquisitions.fuse_acquisitions), then their median; one date per group is the
    plain composite, bit for bit."""
    groups = [[0, 1], [2], [3, 4]]
    fused = index_median_composite(_stored(chunks=chunks), NAMES, groups=groups).compute()
    expected = _chain(_stored(), NAMES, groups=groups)
    plain = index_median_composite(_stored(), NAMES).compute()
    alone = index_median_composite(_stored(), NAMES, groups=[[t] for t in range(5)]).compute()
    for name in NAMES:
        np.testing.assert_array_equal(fused[name].values, expected[name].values, err_msg=name)
        np.testing.assert_array_equal(alone[name].values, plain[name].values, err_msg=name)
    assert (fused["ndvi"].values != plain["ndvi"].values).any()
    np.testing.assert_array_equal(fused["scl_water"].values, expected["scl_water"].values)


@pytest.mark.parametrize("chunks", [None, 3], ids=["numpy", "dask"])
def test_acquisitions_with_precomputed_flags(chunks):
    """Footprint flags per date (in the dates' order) mask the products before they are fused:
    the same medians as the SCL classes of ``_two_tiles`` give."""
    stored = _two_tiles(chunks)
    scl = stored.data["scl"]
    flags = xr.Dataset({"clear": scl.isin([4, 5]), "water": scl == 6})
    bare = StoredBands(stored.data.drop_vars("scl"), stored.scale, stored.offset, stored.fill,
                       stored.specs)  # fmt: skip
    out = index_median_composite(bare, ["ndvi"], scl=None, flags=flags, groups=[[0, 1], [2]])
    expected = [0.25, 0.25, 0.25, 0.25, 0.4, 0.4, 0.4, 0.4]
    np.testing.assert_allclose(out["ndvi"].values[0], expected, atol=1e-6)


def test_acquisitions_build_lazily():
    """Red 1, NIR 3, 9, 1: NDVI 0.5, 0.8, 0; dates 0 and 1 one acquisition (its first date's
    0.5), so the median of 0.5 and 0 is 0.25 (of the three dates it would be 0.5)."""
    reads = []
    values = {"red": (1, 1, 1), "nir": (3, 9, 1)}

    def block(band, i):
        reads.append((band, i))
        return np.full((1, 8, 8), values[band][i], np.uint16)

    dims = ("time", "y", "x")
    ds = xr.Dataset({
        band: (dims, dsa.concatenate([
            dsa.from_delayed(dask.delayed(block)(band, i), (1, 8, 8), np.uint16)
            for i in range(3)
        ]))
        for band in values
    })  # fmt: skip
    per = {b: np.ones(3, np.float32) for b in values}
    zero = {b: np.zeros(3, np.float32) for b in per}
    stored = StoredBands(ds, per, zero, {b: np.full(3, np.nan) for b in per}, dict.fromkeys(per))
    with raise_if_dask_computes():
        out = index_median_composite(stored, ["ndvi"], groups=[[0, 1], [2]])
    assert reads == [] and out["ndvi"].chunks is not None
    assert (out["ndvi"].values == np.float32(0.25)).all()
    assert len(reads) == 6


@pytest.mark.parametrize("groups", [[[0, 1]], [[0, 1], [1, 2]], [[1, 0], [2]], [[0, 1, 2], []]])
def test_groups_must_split_the_dates_in_order(groups):
    with pytest.raises(ValueError, match=r"groups must split the positions 0\.\.2"):
        index_median_composite(_stored(n_time=3), ["ndvi"], groups=groups)


# --- the dates whose normalized difference read a negative reflectance ----------------------


def _three_pixels() -> StoredBands:
    """Four dates of three pixels; reflectance = DN / 10,000 - 0.1 (red DN 500: -0.05).

    A: red < 0 on every date, cloudy (SCL 9) on the third. B: red and NIR < 0 on the first
    date (0 / 0: no NDVI), red < 0 on the last. C: outside the first product (DN 0, fill),
    red < 0 on the second."""
    red = np.array([[500, 500, 0], [500, 1500, 500], [500, 1500, 1500], [500, 500, 1500]])
    nir = np.array([[4000, 500, 0], [4000, 4000, 4000], [4000, 4000, 4000], [4000, 4000, 4000]])
    scl = np.array([[4, 4, 0], [4, 4, 4], [9, 4, 4], [4, 4, 4]])
    arrays = {"red": red.astype(np.uint16), "nir": nir.astype(np.uint16),
              "scl": scl.astype(np.uint8)}  # fmt: skip
    ds = xr.Dataset({b: (("time", "y", "x"), a[:, None, :]) for b, a in arrays.items()})
    scale = {b: np.full(4, 1.0 if b == "scl" else 1e-4, np.float32) for b in arrays}
    offset = {b: np.full(4, 0.0 if b == "scl" else -0.1, np.float32) for b in arrays}
    fill = {b: np.zeros(4) for b in arrays}
    return StoredBands(ds, scale, offset, fill, dict.fromkeys(arrays))


def test_the_dates_that_read_a_negative_reflectance_are_counted_by_hand():
    """Each date apart: A 3 (its cloudy date is not kept), B 1 (its 0 / 0 date has no
    NDVI), C 1. With the first two dates one acquisition: A 2 (its second date is the first
    one's acquisition), B 1 (its first date has no NDVI: the second's, red > 0, stands for
    the acquisition), C 1 (its second date stands for the acquisition it is outside of)."""
    stored = _three_pixels()
    out = index_median_composite(stored, ["ndvi"], floored=True)
    assert out[index_composite.FLOORED].dtype == np.uint16
    assert out[index_composite.FLOORED].values.tolist() == [[3, 1, 1]]
    fused = index_median_composite(stored, ["ndvi"], groups=[[0, 1], [2], [3]], floored=True)
    assert fused[index_composite.FLOORED].values.tolist() == [[2, 1, 1]]
    assert fused["ndvi"].values[0, 0] == 1.0  # red < 0 on both acquisitions kept: NDVI 1
    assert index_composite.FLOORED not in index_median_composite(stored, ["ndvi"])


@pytest.mark.parametrize("chunks", [None, {"y": 16, "x": 10}], ids=["numpy", "dask"])
def test_the_count_equals_the_general_chain(chunks):
    """The count of the chain: per date (acquisitions fused as for the medians), whether a
    normalized difference has a value (clear, defined) and one of its bands is below 0."""
    from raster.indices import INDICES

    groups = [[0, 2], [1], [3, 4]]
    normalized = ["ndvi", "mndwi", "ndbi", "ndwi", "ui"]
    ds = _stored().physical()
    clear = sentinel2_clear_mask(ds)
    indices = compute_indices(ds, normalized)
    hits = []
    for name in normalized:
        bands = INDICES[name].resolve(ds.data_vars).values()
        negative = functools.reduce(operator.or_, (ds[b] < 0 for b in bands))
        kept = indices[name].where(clear)
        flag = xr.where(kept.notnull(), negative.astype(float), np.nan)
        hits.append(fuse_acquisitions(flag, groups) == 1)
    want = functools.reduce(operator.or_, hits).sum("time").values
    assert want.max() >= 2 and (want == 0).any()
    got = index_median_composite(_stored(chunks=chunks), [*normalized, "albedo_s2"],
                                 groups=groups, floored=True)  # fmt: skip
    np.testing.assert_array_equal(got[index_composite.FLOORED].values, want)
