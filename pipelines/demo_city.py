"""A synthetic city for ``ilots demo``: land cover, reflectance, surface temperature, clouds.

Everything is deterministic (seeded) and physically plausible rather than real: a dense
mineral centre that is 4-8 K hotter than the countryside, parks and a river that are cooler, a
countryside of dry grass, woods and tilled fields, and summer clouds with their shadows.
Three priority districts (QPV, :data:`QPV_FOOTPRINTS`) are planted denser and less green
than the suburbs around them, but not uniformly (a park crosses one of them), so that they
are hotter on average by an amount the generator can state
(:func:`pipelines.demo_census.planted_effects`). Roofs vary in brightness block by block, and
brighter roofs are planted cooler (:data:`ALBEDO_LST_SLOPE_K`), so that a cool-roof scenario
has a real effect to find. The class reflectances are those the run's land-cover rules
recover (:data:`CLASSES`), so the run's classes and rural reference are the generator's. The
layout is in metres around the centre, so the urban area keeps its size whatever the edge of
the model. The products written from it say they are synthetic in their metadata. Nothing
here is a measurement.

The model's 10 m cells are Sentinel-2's pixels (edges on multiples of 10 m, the corner on the
60 m lattice of its tiles, :data:`S2_TILE_LATTICE_M`, so its 20 m pixels are 2 × 2 cells in a
real tile's phase). Landsat's 30 m pixels are on USGS's grid instead, edges at 15 m + k·30 m
(:meth:`CityModel.landsat_grid`), half a 10 m cell off the model's: each covers 2 × 2 whole
cells, halves of 8 and quarters of 4, and :meth:`CityModel.landsat_mean` weighs every cell by
the area it shares with the pixel (the exact integral of the piecewise-constant field, so
the planted effects are what the run reads on a grid in Landsat's phase, pixel for pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiles.grid import LANDSAT_PIXEL_M

__all__ = [
    "ALBEDO_LST_SLOPE_K",
    "BAND_COLUMNS",
    "BARE_FIELD_SHARE",
    "CLASSES",
    "DENSE_RADIUS_M",
    "FIELD_PARCEL_M",
    "GARDEN_SHARE",
    "QPV_FOOTPRINTS",
    "ROOF_BLOCK_M",
    "ROOF_BRIGHTNESS",
    "ROOF_CLASSES",
    "S2_TILE_LATTICE_M",
    "SUBURB_RADIUS_M",
    "CityModel",
    "Scene",
    "make_city",
]

#: Land-cover classes of the synthetic city:
#: code -> (name, green, red, nir, swir16, blue, swir22, LST offset K).
#: Reflectances are typical summer (June-August) surface reflectances near Toulouse (``nir``
#: serves both B08 and B8A; ``blue`` is B02, ``swir22`` B12), chosen so that the run's rule
#: land cover (:class:`raster.landcover.LandcoverThresholds`, defaults: water MNDWI > 0, dense
#: vegetation NDVI >= 0.5, low vegetation NDVI >= 0.2, built NDBI > 0, else bare soil) gives
#: each class its own ilots class (water, dense_vegetation, low_vegetation, built, built,
#: bare_soil), with margins of several times the noise of a 30 m pixel:
#:
#: * water: NDVI -0.2, MNDWI 0.71 (Xu 2006: water has MNDWI > 0);
#: * dense vegetation (woods, irrigated parks): NDVI 0.86, the top of green canopies;
#: * low vegetation (dry summer grass, pasture and crops ripening): NDVI 0.39, within the
#:   0.3-0.5 of senescent grassland in July; a dry canopy reflects more in SWIR than a green
#:   one (swir16 0.28);
#: * dense built (concrete, asphalt, grey roofs): NDVI 0.12, NDBI 0.14 (Zha et al. 2003:
#:   built-up has NDBI > 0, NDVI ~0-0.2);
#: * suburban built (the roofs and streets of the suburbs, terracotta tiles as in Toulouse:
#:   red above green): NDVI 0.15, NDBI 0.12; their gardens are low vegetation
#:   (:data:`GARDEN_SHARE`);
#: * bare soil (fields tilled after the July wheat harvest): NDVI 0.15, NDBI -0.05: moist
#:   tilled soil absorbs more at 1.6 um than at 0.86 um (water's 1.45 um band), so its SWIR1
#:   is a little below its NIR. Dry bright soils have SWIR1 above NIR (NDBI > 0), which these
#:   rules call built, the NDBI's known confusion (Zha et al. 2003); the demo plants the
#:   moist case, which they separate.
#:
#: The LST offsets are relative to the rural low vegetation of the same scene. The classes'
#: Sentinel-2 broadband albedos (:func:`raster.indices.albedo_s2`) are about 0.03 (water),
#: 0.18 (dense vegetation), 0.16 (low vegetation; both built classes before the roof factor)
#: and 0.17 (bare soil). Other code indexes these tuples: new items go before the LST
#: offset, which is always the last.
CLASSES: dict[int, tuple[str, float, float, float, float, float, float, float]] = {
    1: ("water", 0.06, 0.03, 0.02, 0.01, 0.05, 0.005, -6.0),
    2: ("dense vegetation", 0.08, 0.03, 0.40, 0.15, 0.03, 0.07, -3.0),
    3: ("low vegetation", 0.10, 0.10, 0.23, 0.28, 0.06, 0.19, 0.0),
    4: ("dense built", 0.12, 0.14, 0.18, 0.24, 0.10, 0.20, 7.0),
    5: ("suburban built", 0.11, 0.14, 0.19, 0.24, 0.08, 0.20, 3.0),
    6: ("bare soil", 0.12, 0.17, 0.23, 0.21, 0.09, 0.16, 2.0),
}
#: Column of each band in a :data:`CLASSES` row.
BAND_COLUMNS: dict[str, int] = {
    "green": 1, "red": 2, "nir": 3, "swir16": 4, "blue": 5, "swir22": 6,
}  # fmt: skip

#: Built classes whose roofs vary in brightness (:attr:`CityModel.brightness`).
ROOF_CLASSES: tuple[int, ...] = (4, 5)
#: Range of the roof brightness factor, drawn uniformly per :data:`ROOF_BLOCK_M` block: every
#: band of a built pixel is multiplied by it, so its albedo scales with it while NDVI, NDBI
#: and MNDWI (ratios) and hence the land cover stay as they are.
ROOF_BRIGHTNESS = (0.6, 1.6)
#: Edge (m) of the blocks sharing one roof brightness (a few buildings).
ROOF_BLOCK_M = 90.0
#: Share of the suburbs' :data:`ROOF_BLOCK_M` blocks that are gardens (low vegetation): the
#: detached houses of French suburbs leave about half their plots unbuilt; their roofs and
#: streets are the suburban built class.
GARDEN_SHARE = 0.4
#: Planted surface-temperature response of built pixels to their albedo: K per unit of
#: broadband albedo (-1.5 K per +0.1). An assumption of the generator, at the low end of a
#: surface energy balance estimate: +0.1 albedo under ~800 W/m2 of summer late-morning sun
#: absorbs ~80 W/m2 less; with ~20 W/m2/K of radiative (4·ε·σ·T^3 ≈ 7) plus convective
#: exchange, a dry sealed surface cools by ~4 K. Satellite LST-albedo slopes over cities are
#: weaker (mixed pixels, heat storage, walls), hence the smaller value chosen here.
ALBEDO_LST_SLOPE_K = -15.0

#: Sentinel-2 tiles (MGRS, 109.8 km) have their corners on multiples of 60 m in UTM (the
#: ``ULX``/``ULY`` of their ``MTD_TL.xml``), so a real tile's 10, 20 and 60 m pixels have their
#: edges on multiples of 10, 20 and 60 m; the model's corner is put on this lattice.
S2_TILE_LATTICE_M = 60.0

#: Edge (m) of the square field parcels of the countryside, and the share of them left bare
#: (tilled after the harvest): fields of the Toulouse plain are a few hectares to tens of
#: hectares (300 m: 9 ha), wide enough for whole 30 m pixels of bare soil, larger than the
#: run's minimum mapping unit (0.36 ha), inside each field.
FIELD_PARCEL_M = 300.0
BARE_FIELD_SHARE = 0.25

#: Radii (m) of the dense centre and of the suburbs around the city centre.
DENSE_RADIUS_M = 1200.0
SUBURB_RADIUS_M = 2200.0

#: The priority districts (QPV) as rings of (east, north) metres from the city centre. The
#: third is a bow-tie (a self-intersecting ring) on purpose: the demo's QPV file keeps it
#: invalid, as real files sometimes are, and the generator plants the effect in its repaired
#: shape (two triangles), as the run reads it.
QPV_FOOTPRINTS: dict[str, tuple[tuple[float, float], ...]] = {
    "QP031901": ((-1200, -600), (-600, -600), (-600, 600), (-1200, 600)),
    "QP031902": ((0, -1200), (1200, -1200), (1200, -600), (0, -600)),
    "QP031903": ((-700, 500), (100, 1300), (100, 500), (-700, 1300)),
}


@dataclass(frozen=True)
class Scene:
    """One synthetic acquisition: date, platform, weather and cloud cover."""

    date: str
    platform: str
    rural_lst_k: float
    cloud_fraction: float
    seed: int


@dataclass(frozen=True)
class CityModel:
    """The synthetic city on a fine grid (10 m) from which every product is derived.

    Attributes
    ----------
    landcover
        Class codes of :data:`CLASSES`, shape ``(n, n)``.
    resolution
        Pixel size in metres of ``landcover``.
    origin
        ``(west, north)`` of the grid in ``crs``.
    crs
        EPSG code of the grid (a WGS 84 / UTM zone, as Landsat and Sentinel-2 deliver).
    brightness
        Reflectance factor of every pixel: 1 except on the roofs of :data:`ROOF_CLASSES`
        (:data:`ROOF_BRIGHTNESS`, one value per :data:`ROOF_BLOCK_M` block). ``None`` is all
        ones.
    """

    landcover: np.ndarray
    resolution: float
    origin: tuple[float, float]
    crs: int
    brightness: np.ndarray | None = None

    @property
    def centre(self) -> tuple[float, float]:
        """``(east, north)`` of the city centre in ``crs``."""
        half = self.landcover.shape[0] * self.resolution / 2
        return self.origin[0] + half, self.origin[1] - half

    def landsat_grid(self) -> tuple[tuple[float, float], tuple[int, int]]:
        """USGS's 30 m pixels wholly inside the model: ``(west, north)`` and ``(rows, cols)``.

        Landsat Collection 2 products are gridded in UTM with pixel edges at 15 m + k·30 m
        (pixel centres on multiples of 30 m; the MTL corners are those centres), in both
        axes.
        """
        size, edge = LANDSAT_PIXEL_M, LANDSAT_PIXEL_M / 2
        west, north = self.origin
        height, width = (n * self.resolution for n in self.landcover.shape)
        x0 = west + (edge - west) % size
        y0 = north - (north - edge) % size
        rows = int((y0 - (north - height)) // size)
        cols = int((west + width - x0) // size)
        return (x0, y0), (rows, cols)

    def landsat_mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of a field of the model over each Landsat pixel of :meth:`landsat_grid`.

        Each cell counts by the area it shares with the pixel (a cell cut by a pixel edge
        counts for the part inside), so a boolean field gives the fraction of the pixel it
        covers, exactly 1 only where every cell the pixel touches is set.
        """
        (x0, y0), (rows, cols) = self.landsat_grid()
        step = LANDSAT_PIXEL_M / self.resolution
        top, left = (self.origin[1] - y0) / self.resolution, (x0 - self.origin[0]) / self.resolution
        sums = _interval_sums(np.asarray(values, dtype=np.float64), top, step, rows)
        return _interval_sums(sums.T, left, step, cols).T / step**2

    def lst_offset(self) -> np.ndarray:
        """Planted LST offset (K) of every pixel relative to rural cropland (no texture).

        The class offset of :data:`CLASSES`, plus on built roofs
        :data:`ALBEDO_LST_SLOPE_K` times the pixel's albedo minus the mean albedo of its
        class (so that each class keeps its mean offset): brighter roofs are cooler.
        """
        table = np.zeros(max(CLASSES) + 1)
        for code, row in CLASSES.items():
            table[code] = row[-1]
        offset = table[self.landcover]
        albedo = self.albedo()
        for code in ROOF_CLASSES:
            roofs = self.landcover == code
            if roofs.any():
                offset[roofs] += ALBEDO_LST_SLOPE_K * (albedo[roofs] - albedo[roofs].mean())
        return offset

    def _band(self, band: str) -> np.ndarray:
        """Noise-free surface reflectance of a band: class value times roof brightness."""
        table = np.zeros(max(CLASSES) + 1)
        for code, row in CLASSES.items():
            table[code] = row[BAND_COLUMNS[band]]
        values = table[self.landcover]
        return values * self.brightness if self.brightness is not None else values

    def albedo(self) -> np.ndarray:
        """Noise-free Sentinel-2 broadband albedo of every pixel (Bonafoni & Sekertekin 2020)."""
        from raster.indices import albedo_s2

        bands = ("blue", "green", "red", "nir", "swir16", "swir22")
        return albedo_s2(*(self._band(b) for b in bands), dtype=np.float64)

    def reflectance(self, band: str, seed: int) -> np.ndarray:
        """Surface reflectance of a band (a key of :data:`BAND_COLUMNS`) with noise."""
        noise = np.random.default_rng(seed).normal(0.0, 0.006, self.landcover.shape)
        return np.clip(self._band(band) + noise, 0.001, 0.9)

    def surface_temperature(self, scene: Scene) -> np.ndarray:
        """Land surface temperature (K) of a scene: rural level + class offset + texture."""
        rng = np.random.default_rng(scene.seed)
        texture = _smooth(rng.normal(0.0, 1.0, self.landcover.shape), 8) * 3.0
        return scene.rural_lst_k + self.lst_offset() + texture

    def clouds(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """Cloud and cloud-shadow masks of a scene (shadows offset to the north-west)."""
        if scene.cloud_fraction <= 0:
            empty = np.zeros(self.landcover.shape, dtype=bool)
            return empty, empty
        rng = np.random.default_rng(scene.seed + 1000)
        field = _smooth(rng.normal(0.0, 1.0, self.landcover.shape), 25)
        cloud = field > np.quantile(field, 1.0 - scene.cloud_fraction)
        shift = max(2, self.landcover.shape[0] // 40)
        shadow = np.roll(np.roll(cloud, -shift, axis=0), -shift, axis=1) & ~cloud
        return cloud, shadow


def make_city(size_m: float = 17500.0, resolution: float = 10.0, seed: int = 7) -> CityModel:
    """Lay out the synthetic city: centre, suburbs, QPV, parks, a river, a rural ring.

    Parameters
    ----------
    size_m
        Edge of the square area in metres (the urban area is 4.4 km across whatever it is;
        the rest is countryside, from which the run takes its rural reference).
    resolution
        Pixel size in metres.
    seed
        Seed of the random layout details.

    Returns
    -------
    CityModel
        On a UTM 31N grid near Toulouse (EPSG:32631), for plausibility only, its corner on
        :data:`S2_TILE_LATTICE_M`, so that the Sentinel-2 products cut from it are in the
        pixel phase of a real tile at each of their resolutions.
    """
    n = round(size_m / resolution)
    rng = np.random.default_rng(seed)
    # East and north of each pixel centre, in metres from the city centre.
    row, col = np.mgrid[0:n, 0:n] + 0.5
    east, north = (col - n / 2) * resolution, (n / 2 - row) * resolution
    r = np.hypot(east, north)
    rural = r > SUBURB_RADIUS_M
    landcover = np.full((n, n), 3, dtype=np.uint8)  # rural low vegetation
    bare = _parcels((n, n), resolution, FIELD_PARCEL_M, BARE_FIELD_SHARE, seed + 200)
    landcover[bare & rural] = 6  # fields tilled after the harvest
    landcover[(_smooth(rng.normal(0, 1, (n, n)), 20) > 0.9) & rural] = 2  # woods
    landcover[~rural] = 5  # suburbs: houses, streets ...
    gardens = _parcels((n, n), resolution, ROOF_BLOCK_M, GARDEN_SHARE, seed + 300)
    landcover[gardens & ~rural] = 3  # ... and their gardens
    landcover[r < DENSE_RADIUS_M] = 4  # dense centre
    for ring in QPV_FOOTPRINTS.values():  # QPV: dense blocks, few trees
        landcover[_inside(ring, east, north)] = 4
    for cx, cy, radius in ((-900, 900, 320), (1080, -720, 400), (-1800, -1440, 270)):
        landcover[np.hypot(east - cx, north - cy) < radius] = 2  # parks (one crosses a QPV)
    river_north = -450.0 - 540.0 * np.sin(2 * np.pi * (east + 4500.0) / 6000.0)
    landcover[np.abs(north - river_north) < 110.0] = 1
    half = n * resolution / 2
    # Centre within 30 m of a fixed point whatever the size, the corner on the tiles' lattice.
    lattice = S2_TILE_LATTICE_M
    origin = (round((364500.0 - half) / lattice) * lattice,
              round((4831500.0 + half) / lattice) * lattice)  # fmt: skip
    return CityModel(landcover, resolution, origin, 32631, _roofs(landcover, resolution, seed))


def _parcels(
    shape: tuple[int, int], resolution: float, parcel_m: float, share: float, seed: int
) -> np.ndarray:
    """Square parcels of ``parcel_m``, each drawn into the mask with probability ``share``."""
    block = max(1, round(parcel_m / resolution))
    n_blocks = -(-shape[0] // block), -(-shape[1] // block)
    drawn = np.random.default_rng(seed).random(n_blocks) < share
    return drawn.repeat(block, axis=0).repeat(block, axis=1)[: shape[0], : shape[1]]


def _roofs(landcover: np.ndarray, resolution: float, seed: int) -> np.ndarray:
    """Roof brightness factors: one uniform draw per block on built pixels, 1 elsewhere."""
    block = max(1, round(ROOF_BLOCK_M / resolution))
    n_blocks = -(-landcover.shape[0] // block), -(-landcover.shape[1] // block)
    draws = np.random.default_rng(seed + 100).uniform(*ROOF_BRIGHTNESS, n_blocks)
    factor = np.kron(draws, np.ones((block, block)))[: landcover.shape[0], : landcover.shape[1]]
    return np.where(np.isin(landcover, ROOF_CLASSES), factor, 1.0)


def _inside(ring: tuple[tuple[float, float], ...], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test: a bow-tie's two lobes are inside, as make_valid keeps."""
    inside = np.zeros(x.shape, dtype=bool)
    pts = list(ring)
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_at)
    return inside


def _interval_sums(values: np.ndarray, start: float, step: float, count: int) -> np.ndarray:
    """Sum the rows of ``values`` over ``count`` intervals of ``step`` rows from ``start``.

    Row ``k`` of the result integrates the rows from ``start + k * step`` to ``start + (k + 1)
    * step`` (in rows; the ends may cut a row, which then counts for the part inside): the
    cumulative sum interpolated linearly at the ends, exact for a field constant per row.
    """
    cum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    ends = start + step * np.arange(count + 1)
    lo = np.floor(ends).astype(int)
    hi = np.minimum(lo + 1, len(cum) - 1)
    at = cum[lo] + (ends - lo)[:, None] * (cum[hi] - cum[lo])
    return np.diff(at, axis=0)


def _smooth(field: np.ndarray, passes: int) -> np.ndarray:
    """Cheap low-pass filter: repeated 3 x 3 box averaging, rescaled to unit variance."""
    out = field
    for _ in range(max(1, passes // 4)):
        padded = np.pad(out, 1, mode="reflect")
        out = (
            sum(
                padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            )
            / 9.0
        )
    return (out - out.mean()) / (out.std() or 1.0)
