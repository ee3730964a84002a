"""Read the auxiliary layers of ``ilots run`` onto its analysis grid.

The layers: an external land-cover map, a DEM, and the urban footprint and rural reference
they define.

Each file is opened lazily (rioxarray, Dask) and warped onto the run's grid with odc-geo
(nearest neighbour for class codes, bilinear for elevations), chunked like the scenes, so the
run reads none of their pixels before its single compute, but for a decimated read of the
land-cover map over the grid (at most :data:`SAMPLE_PX` pixels a side) that checks its codes
against the mapping first (:func:`_check_codes`). A file that misses the grid, or lacks its
band, is an error from its header alone, as ``ilots run --dry-run`` says it
(:func:`planned_layers`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import odc.geo.xr  # noqa: F401  (the .odc accessor)
import rasterio
import rasterio.windows
import rioxarray
import xarray as xr
from odc.geo import geom
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.windows import Window, from_bounds

from pipelines.config import RunConfig
from raster.heat_island import (
    rural_reference_mask,
    urban_footprint_from_landcover,
)
from raster.landcover import (
    BARE_SOIL_ATTR,
    CORINE_GRID_MAPPING,
    EXTERNAL_MAPPINGS,
    LandCover,
    map_external_landcover,
    unmapped_codes,
)
from tiles.errors import ConfigError, IlotsWarning, ReadError
from tiles.grid import crs_name

__all__ = [
    "BARE_SOIL_AS_BUILT",
    "MAP_RESAMPLING",
    "bare_soil_as_built",
    "dem_on_grid",
    "exclusion_note",
    "external_landcover",
    "heat_island_definition",
    "planned_layers",
    "reference_mask",
    "urban_footprint",
]


def _on_grid(
    path: Path, band: int, like: xr.DataArray, resampling: str, key: str, outside: str
) -> xr.DataArray:
    """Open band ``band`` of ``path`` lazily and warp it onto the grid of ``like``.

    A file that misses the grid is an error, said before any reprojection; one that covers
    part of it is warned about, with ``outside`` (what the run does where the file has no
    value): :func:`_placed`.
    """
    return _warped(_opened(path, band, key), path, like, resampling, key, outside)


def _warped(
    data: xr.DataArray, path: Path, like: xr.DataArray, resampling: str, key: str, outside: str
) -> xr.DataArray:
    """Warp ``data`` (:func:`_opened` of ``path``) onto ``like``'s grid, as :func:`_on_grid`."""
    grid = like.odc.geobox
    _placed(data, path, grid, key, outside)
    try:
        warped = data.odc.reproject(grid, resampling=resampling)
    except Exception as err:  # PROJ or GEOS on a file whose CRS does not fit its coordinates
        raise _misplaced(key, path, data, grid, err) from err
    warped = warped.assign_coords(y=like["y"], x=like["x"])
    if like.chunks is not None:
        warped = warped.chunk(dict(zip(like.dims, like.chunks, strict=True)))
    return warped.drop_vars([c for c in warped.coords if c not in ("y", "x")])


def _opened(path: Path, band: int, key: str) -> xr.DataArray:
    """Band ``band`` of ``path``, lazy (its header read, no pixel); one-line errors for ``key``."""
    try:
        src = rioxarray.open_rasterio(path, masked=True, chunks={"x": 2048, "y": 2048})
    except Exception as err:  # rasterio raises several types for unreadable files
        raise ReadError(f"{key}: cannot open {path} as a raster ({err}); check the file") from err
    if src.rio.crs is None:
        raise ConfigError(f"{key}: {path} has no CRS; assign one (gdal_edit.py -a_srs) first")
    if band > (bands := src.sizes.get("band", 1)):
        raise ConfigError(
            f"{key}: {path} has {bands} band(s), not band {band}; give a band from 1 to {bands}"
        )
    return src.isel(band=band - 1, drop=True)


def _placed(data: xr.DataArray, path: Path, grid: Any, key: str, outside: str) -> float:
    """Return the share of ``grid`` that ``data`` (:func:`_opened` of ``path``) covers.

    From the file's header alone. No cover is an error; a partial cover is warned about
    (``layer_partial_coverage``), with ``outside``, what the run does where the file has
    no value.
    """
    try:
        share = _covered_share(data.odc.geobox, grid)
    except Exception as err:  # PROJ or GEOS on a file whose CRS does not fit its coordinates
        raise _misplaced(key, path, data, grid, err) from err
    if share == 0:
        raise ConfigError(
            f"{key}: {path} does not cover the run's grid (the zones and their rural ring): "
            f"its bounds {_bounds(data.odc.geobox)} in {data.rio.crs}, the grid's "
            f"{_bounds(grid)} in {crs_name(grid.crs)}; check the file and its CRS"
        )
    if share < COVERED:
        warnings.warn(
            IlotsWarning(
                f"{key}: {path.name} covers {share:.0%} of the run's grid (the zones and their "
                f"rural ring); {outside}",
                code="layer_partial_coverage",
            ),
            stacklevel=4,
        )
    return share


def _misplaced(key: str, path: Path, data: xr.DataArray, grid: Any, err: Exception) -> ConfigError:
    """Make the error of a file PROJ or GEOS cannot place on the grid (its CRS does not fit)."""
    return ConfigError(
        f"{key}: {path} ({data.rio.crs}) cannot be placed on the run's grid "
        f"({crs_name(grid.crs)}): {err}; check the file's CRS"
    )


#: A file covering less of the grid than this is warned about (a pixel of 10,000 spares).
COVERED = 0.9999


def _covered_share(box: Any, grid: Any) -> float:
    """Share of ``grid``'s area inside the footprint of ``box`` (odc-geo GeoBoxes).

    Measured in the file's CRS: the grid's small extent goes there (densified every 1 km),
    never a continental or global file's extent into the grid's UTM zone, where it breaks.
    """
    extent = grid.extent.to_crs(box.crs, resolution=1000.0)
    return float(extent.intersection(box.extent).area / extent.area)


def _bounds(box: Any) -> str:
    left, bottom, right, top = box.boundingbox
    return f"({left:.6g}, {bottom:.6g}, {right:.6g}, {top:.6g})"


def external_landcover(config: RunConfig, like: xr.DataArray) -> xr.DataArray:
    """Land cover from the map of ``landcover.external``, recoded to ilots classes.

    Before the graph is built, the map's codes over the grid are checked against the mapping
    (:func:`_check_codes`, a decimated read): a map whose codes the mapping (nearly) all
    lacks stops the run, and a map under ``corine_grid`` that may be OSO's is warned about
    (:func:`_warn_oso_under_corine_grid`). The result's attrs say how the map was put on the
    grid, and a map finer than half the grid's pixel is warned about (:func:`_map_sampling`).

    Parameters
    ----------
    config
        The run config (its ``landcover.external`` is set).
    like
        A ``(y, x)`` array on the analysis grid (its grid and chunks are copied).

    Returns
    -------
    xarray.DataArray
        ``uint8`` :class:`raster.landcover.LandCover` codes named ``landcover``, lazy;
        cells outside the map are 0 (no data).
    """
    ext = config.landcover.external
    if ext is None:
        raise ConfigError("landcover.external is not set")
    path, key = Path(ext.path), "landcover.external.path"
    data = _opened(path, ext.band, key)  # its header, which the compute's reads reuse
    codes = _warped(data, path, like, "nearest", key, _outside_map(config))
    grid = like.odc.geobox
    values, side = _map_sample(path, ext.band, grid), _map_pixel_m(data.odc.geobox, grid)
    _check_codes(values, path, ext.class_mapping())
    _warn_oso_under_corine_grid(values, side, path, ext.mapping)
    classes = map_external_landcover(codes, ext.class_mapping())
    classes = classes.rename("landcover").assign_attrs(classes.attrs, source_file=path.name)
    return _map_sampling(config, classes, like, side)


def _outside_map(config: RunConfig) -> str:
    """Say what the run does where the external land-cover map has no value."""
    footprint = (
        ", and the urban footprint (heat_island.urban: built) holds its built pixels only, so "
        "the SUHII is that of the covered part"
        if config.heat_island.urban == "built"
        else ""
    )
    return (
        "outside it pixels have no class: the zones' class shares count the covered part "
        f"only, the rural reference keeps the water and built pixels there{footprint}"
    )


#: A map whose sampled pixels over the grid have at least this share of codes its mapping
#: lacks stops the run (:func:`_check_codes`): the mapping is for another product or coding.
UNKNOWN_STOP = 0.95
#: The longest side, in pixels, of the decimated read :func:`_check_codes` makes of the map.
SAMPLE_PX = 1024


def _check_codes(values: np.ndarray, path: Path, mapping: str | dict[int, int]) -> None:
    """Stop when (nearly) every code of the map ``path`` over the grid is one ``mapping`` lacks.

    ``values`` are the map's valid codes over the grid's bounds, decimated
    (:func:`_map_sample`), read before the run's compute: a wrong mapping would otherwise
    give a land cover of no data, every class share NaN and no built urban footprint, with
    a warning only.
    """
    unknown = unmapped_codes(values, mapping)
    if not values.size or sum(unknown.values()) < UNKNOWN_STOP * values.size:
        return
    name = f"'{mapping}' mapping" if isinstance(mapping, str) else "mapping's table"
    common = sorted(unknown, key=lambda code: -unknown[code])
    shown = ", ".join(str(c) for c in common[:10]) + (", ..." if len(common) > 10 else "")
    raise ConfigError(
        f"landcover.external.mapping: {sum(unknown.values()) / values.size:.0%} of the pixels "
        f"of {path.name} over the run's grid have codes the {name} lacks ({shown}): "
        f"{_likely_mapping(values, mapping)}"
    )


def _likely_mapping(values: np.ndarray, mapping: str | dict[int, int]) -> str:
    """Say the likely cause of a map whose codes ``mapping`` lacks.

    The shipped mappings knowing them (those of other products or codings: OSO's codes are
    also CORINE grid codes, so every one is named), or a map of another product or coding.
    """
    names = [
        name
        for name in EXTERNAL_MAPPINGS
        if name != mapping
        and sum(unmapped_codes(values, name).values()) < (1 - UNKNOWN_STOP) * values.size
    ]
    if len(names) == 1:
        return f"they are codes the '{names[0]}' mapping reads; set mapping: {names[0]}"
    if names:
        quoted = " and ".join(f"'{name}'" for name in names)
        return (
            f"they are codes the {quoted} mappings read; set mapping: {' or '.join(names)}, "
            "that of the map's product"
        )
    return (
        "the map is likely of another product or coding than the mapping's; give the mapping "
        "of the map's product, or a table {code: class} of its codes"
    )


#: The pixel of the EEA's CORINE Land Cover rasters, in metres.
CORINE_PIXEL_M = 100.0
#: The highest code of OSO's 23-class maps: a map coded 1-23 may be OSO's (10 m) as well
#: as CORINE's grid codes.
OSO_TOP_CODE = 23


def _warn_oso_under_corine_grid(
    values: np.ndarray, side: float, path: Path, mapping: str | dict[int, str]
) -> None:
    """Warn when a map under ``corine_grid`` may be an OSO map: OSO's codes, a finer pixel.

    Every OSO code (1-23) is a CORINE grid code, so :func:`_check_codes` lets such a map
    through, its classes read as CORINE's (rapeseed, 5, as built). ``values`` (the map's
    decimated codes, :func:`_map_sample`) all of 23 or under, the no-data codes of
    ``corine_grid`` aside, and a pixel of ``side`` m under half CORINE's 100 m (OSO's is
    10 m) say so; the EEA's rasters, at 100 m, never do.
    """
    if mapping != "corine_grid" or side >= CORINE_PIXEL_M / 2:
        return
    classed = [
        int(code)
        for code in np.unique(values)
        if CORINE_GRID_MAPPING.get(int(code), LandCover.NODATA) != LandCover.NODATA
    ]
    if not classed or max(classed) > OSO_TOP_CODE:
        return
    shown = ", ".join(str(c) for c in classed[:10]) + (", ..." if len(classed) > 10 else "")
    warnings.warn(
        IlotsWarning(
            f"landcover.external.mapping: {path.name} has codes {shown} over the run's grid, "
            f"all {OSO_TOP_CODE} or under, and pixels of about {side:.2g} m, under half "
            f"CORINE's {CORINE_PIXEL_M:g} m: it may be an OSO map (codes 1-{OSO_TOP_CODE}, "
            "10 m), whose classes 'corine_grid' reads as CORINE's (rapeseed as built); if so, "
            "set mapping: oso",
            code="landcover_map_maybe_oso",
        ),
        stacklevel=3,
    )


def _map_sample(path: Path, band: int, grid: Any) -> np.ndarray:
    """Read the valid values of band ``band`` of ``path`` over ``grid``'s bounds, decimated.

    At most :data:`SAMPLE_PX` pixels a side (nearest; a file's overviews serve it). Valid:
    neither the file's nodata nor, in a float map without one, NaN.
    """
    with rasterio.open(path) as src:
        left, bottom, right, top = grid.extent.to_crs(src.crs, resolution=1000.0).boundingbox
        window = from_bounds(left, bottom, right, top, transform=src.transform)
        whole = Window(0, 0, src.width, src.height)
        if not rasterio.windows.intersect(window, whole):
            return np.empty(0)
        window = window.intersection(whole).round_offsets().round_lengths()
        if window.width < 1 or window.height < 1:
            return np.empty(0)
        step = max(1, math.ceil(max(window.width, window.height) / SAMPLE_PX))
        shape = (math.ceil(window.height / step), math.ceil(window.width / step))
        values = src.read(band, window=window, out_shape=shape,
                          resampling=Resampling.nearest, masked=True)  # fmt: skip
    values = np.ma.compressed(values)
    return values[np.isfinite(values)]


def dem_on_grid(config: RunConfig, like: xr.DataArray) -> xr.DataArray:
    """Warp the DEM of ``heat_island.dem`` onto the analysis grid (bilinear, m, NaN outside)."""
    if config.heat_island.dem is None:
        raise ConfigError("heat_island.dem is not set")
    dem = _on_grid(Path(config.heat_island.dem), 1, like, "bilinear", "heat_island.dem",
                   _OUTSIDE_DEM)  # fmt: skip
    return dem.astype(np.float32).rename("elevation").assign_attrs(units="m")


#: What the run does where the DEM has no value.
_OUTSIDE_DEM = "outside it the rural reference has no elevation, and no pixel there is kept in it"


def planned_layers(config: RunConfig, grid: Any) -> tuple[str, str]:
    """Check the external land-cover map and the DEM from their headers, as the run does.

    For ``ilots run --dry-run``: reads no pixel. Stops with the run's error on a file that
    cannot be opened, lacks its band or a CRS, or misses ``grid`` (an odc-geo GeoBox), and
    warns, as the run, of one covering part of it.

    Returns
    -------
    tuple of str
        The plan's descriptions of the land-cover map and of the DEM ("" for one not set).
    """
    ext, dem = config.landcover.external, config.heat_island.dem
    landcover = "" if ext is None else _planned(
        Path(ext.path), ext.band, grid, "landcover.external.path", _outside_map(config),
        f"band {ext.band}, {_mapping_said(ext.mapping)}",
    )  # fmt: skip
    elevation = "" if dem is None else _planned(
        Path(dem), 1, grid, "heat_island.dem", _OUTSIDE_DEM, "elevations"
    )  # fmt: skip
    return landcover, elevation


def _planned(path: Path, band: int, grid: Any, key: str, outside: str, what: str) -> str:
    """Open the header of ``path``, check it as the run does, and describe it for the plan."""
    data = _opened(path, band, key)
    share = _placed(data, path, grid, key, outside)
    return f"{path} ({what}; {crs_name(data.odc.geobox.crs)}, covers {share:.0%} of the grid)"


def _mapping_said(mapping: str | dict[int, str]) -> str:
    """Name a mapping of ``landcover.external`` for the plan."""
    return (
        f"'{mapping}' mapping" if isinstance(mapping, str) else f"a table of {len(mapping)} codes"
    )


#: The :data:`~raster.landcover.BARE_SOIL_ATTR` of a land cover classified without NDBI.
BARE_SOIL_AS_BUILT = "counted as built: the products lack the bands of NDBI"
#: What the heat-island definitions say of the built pixels of such a land cover.
BUILT_WITH_BARE_SOIL = "built and bare soil, not separated without NDBI"


def bare_soil_as_built(landcover: xr.DataArray | None) -> bool:
    """Whether ``landcover`` counts bare soil as built (classified without NDBI).

    Then its built class is built and bare soil together, and a zone's bare-soil share is
    unknown, not 0.
    """
    return landcover is not None and BARE_SOIL_ATTR in landcover.attrs


def urban_footprint(
    config: RunConfig,
    zone_footprint: xr.DataArray,
    landcover: xr.DataArray | None,
    water: xr.DataArray | None = None,
) -> xr.DataArray:
    """Choose the urban footprint of the heat-island reference, as ``heat_island.urban`` says.

    ``aoi``: the union of the zones (pixel centres inside), without its water when
    ``heat_island.exclude_water`` (as the rural reference: the land cover's water class, or
    without a land cover ``water``, the QA_PIXEL water bit), so a river through the city
    neither cools its mean nor reads as a cloudy share of it. ``built``: the built pixels of
    the land cover inside that union (so villages of the countryside are not "urban").
    """
    if config.heat_island.urban == "aoi":
        wet, source = _excluded_water(config, landcover, water)
        if wet is None:
            return zone_footprint
        said = f" ({source})" if source else ""  # as the reference's definition says it
        return (
            (zone_footprint.astype(bool) & ~wet.astype(bool))
            .rename("urban")
            .assign_attrs(
                long_name="urban footprint",
                definition=f"{zone_footprint.attrs.get('definition', 'zone union')}; water "
                f"pixels excluded{said}",
            )
        )
    if landcover is None:
        raise ConfigError(
            "heat_island.urban: 'built' needs a land cover: add Sentinel-2 inputs, Landsat "
            "products with their SR bands or landcover.external, or use urban: aoi"
        )
    built = urban_footprint_from_landcover(landcover, (LandCover.BUILT,))
    said = f" ({BUILT_WITH_BARE_SOIL})" if bare_soil_as_built(landcover) else ""
    return (
        (built & zone_footprint.astype(bool))
        .rename("urban")
        .assign_attrs(
            long_name="urban footprint",
            definition=f"{built.attrs['definition']}{said} inside the "
            f"{zone_footprint.attrs.get('definition', 'zone union')}",
        )
    )


def reference_mask(
    config: RunConfig,
    ring: xr.DataArray,
    urban: xr.DataArray,
    landcover: xr.DataArray | None,
    water: xr.DataArray | None = None,
    *,
    settle_elevation: bool = False,
) -> xr.DataArray:
    """Select the rural reference pixels (science.md §4.1).

    The ring, without water and built pixels when ``heat_island.exclude_water`` /
    ``exclude_built`` say so, and, when ``heat_island.dem`` is given, within
    ``elevation_tolerance_m`` of the median elevation of the urban footprint. That median
    is a reduction over the whole grid: ``settle_elevation`` computes it now, so that a run
    computing the mask window by window (processing tiles) does not redo it for each.

    Water and built pixels are the land cover's classes (built with bare soil, said in the
    definition, when it could not separate them: :func:`bare_soil_as_built`). Without a land
    cover, water is ``water`` (the QA_PIXEL water bit on any date:
    :attr:`pipelines.run_graph.LandsatSeries.water`) and built pixels cannot be told
    (:func:`exclusion_note` says so).
    """
    hi = config.heat_island
    water, source = _excluded_water(config, landcover, water)
    built = None
    if landcover is not None and hi.exclude_built:
        built = landcover == LandCover.BUILT
    sources = {
        "water_source": source,
        "built_source": BUILT_WITH_BARE_SOIL if bare_soil_as_built(landcover) else None,
    }
    if hi.dem is None:
        return rural_reference_mask(ring, water=water, built=built, **sources)
    dem = dem_on_grid(config, ring)
    median = _nanmedian(dem.where(urban.astype(bool)).data)
    if settle_elevation and isinstance(median, da.Array):
        median = median.compute()
    urban_elevation = xr.DataArray(median)
    return rural_reference_mask(
        ring,
        water=water,
        built=built,
        elevation=dem,
        urban_elevation=urban_elevation,
        tolerance_m=hi.elevation_tolerance_m,
        **sources,
    )


#: What flags water in the rural reference when the run has no land cover.
WATER_BIT = "QA_PIXEL water bit on any date"


def _excluded_water(
    config: RunConfig, landcover: xr.DataArray | None, water: xr.DataArray | None
) -> tuple[xr.DataArray | None, str | None]:
    """Return the water the heat-island masks leave out, and what flags it (no land cover).

    With ``heat_island.exclude_water``: the land cover's water class, or without a land
    cover ``water`` (the QA_PIXEL water bit, :data:`WATER_BIT`); else none.
    """
    if not config.heat_island.exclude_water:
        return None, None
    if landcover is not None:
        return landcover == LandCover.WATER, None
    return water, WATER_BIT


def exclusion_note(config: RunConfig, has_landcover: bool) -> str | None:
    """Say that ``heat_island.exclude_built`` cannot be applied without a land cover, or None.

    Water needs no land cover: the QA_PIXEL water bit stands in for it (:func:`reference_mask`).
    """
    if has_landcover or not config.heat_island.exclude_built:
        return None
    water = (
        f" (heat_island.exclude_water uses the {WATER_BIT})"
        if config.heat_island.exclude_water
        else ""
    )
    return (
        "heat_island.exclude_built: the run has no land cover, so the rural reference keeps "
        f"its built pixels{water}; for a land cover add Sentinel-2 inputs, Landsat products "
        "with their SR bands or landcover.external"
    )


def heat_island_definition(config: RunConfig, has_landcover: bool) -> dict[str, Any]:
    """Return the SUHII settings heat_island.json records, as applied.

    ``exclude_built`` is false without a land cover, whatever the config asks
    (:func:`exclusion_note`); ``min_reference_pixels`` is in 30 m Landsat pixels
    (:meth:`pipelines.config.models.HeatIslandConfig.min_reference_grid_pixels`).
    """
    hi = config.heat_island
    return {
        "urban": hi.urban,
        "ring_inner_km": hi.ring_inner_km,
        "ring_outer_km": hi.ring_outer_km,
        "exclude_water": hi.exclude_water,
        "exclude_built": hi.exclude_built and has_landcover,
        "min_reference_pixels": hi.min_reference_pixels,
        "min_reference_frac": hi.min_reference_frac,
    }


def _nanmedian(data: Any) -> Any:
    """Median of all finite values; a lazy 0-d array for Dask (which needs an explicit axis)."""
    if isinstance(data, da.Array):
        return da.nanmedian(data.reshape(-1).rechunk(-1), axis=0)
    return np.nanmedian(data)


#: How an external land-cover map is put on the grid (landcover.tif's ``source_resampling``).
MAP_RESAMPLING = "nearest: each grid pixel takes the class of the map's pixel at its centre"


def _map_sampling(
    config: RunConfig, classes: xr.DataArray, like: xr.DataArray, side: float
) -> xr.DataArray:
    """Say how the map of ``landcover.external`` was put on the grid of ``like``.

    In the attrs of ``classes`` (its land cover; they become landcover.tif's tags): the
    map's band, its pixel size ``side`` (:func:`_map_pixel_m`) and the resampling
    (:data:`MAP_RESAMPLING`). A map whose
    pixel is under half the grid's is warned about (``landcover_map_sampled``): each grid
    pixel samples one of the map's pixels, so the zones' class shares are a sample of the
    map's, not its areas.
    """
    ext = config.landcover.external
    grid = like.odc.geobox
    resolution = abs(grid.resolution.x)
    if side < resolution / 2:
        bounds = " ".join(f"{value:.12g}" for value in grid.boundingbox)
        warnings.warn(
            IlotsWarning(
                f"landcover.external.path: the pixels of {Path(ext.path).name} (about "
                f"{side:.2g} m) are under half the grid's ({resolution:g} m): each grid pixel "
                "takes the class at its centre, so the zones' class shares are a sample of "
                "the map's, not its areas; for shares of its own pixels, give it at the "
                f"grid's resolution (gdalwarp -r mode -t_srs {crs_name(grid.crs)} -tr "
                f"{resolution:g} {resolution:g} -te {bounds})",
                code="landcover_map_sampled",
            ),
            stacklevel=3,
        )
    return classes.assign_attrs(
        source_band=ext.band, source_pixel_m=round(side, 2), source_resampling=MAP_RESAMPLING
    )


def _map_pixel_m(box: GeoBox, grid: Any) -> float:
    """Return the side (grid metres) of the pixel of the map on ``box`` at the grid's centre.

    The square root of that pixel's area on the grid: a map in degrees (WorldCover) has
    pixels narrower than tall.
    """
    x, y = grid.extent.centroid.to_crs(box.crs).coords[0]
    col, row = (math.floor(v) for v in ~box.affine * (x, y))
    corners = [box.affine * (col + dc, row + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))]
    pixel = geom.polygon([*corners, corners[0]], crs=box.crs)
    return math.sqrt(pixel.to_crs(grid.crs).area)
