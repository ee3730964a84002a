"""One acquisition delivered as several products: fuse them into one scene.

A satellite overpass is cut into products (Landsat WRS-2 rows of one path, Sentinel-2 MGRS
tiles), whose footprints overlap; the same product may also come twice (from two STAC
collections, or downloaded under two names). Loaded one product per time step, the pixels
of an overlap would count as two clear observations of one moment: ``n_clear`` doubled
there, ``composite.min_clear`` met with fewer dates than it asks, the medians weighted
towards that date.

:func:`acquisition_groups` finds the time steps of one overpass (same platform, acquired
within :data:`SAME_OVERPASS` of each other) from a series' ``time`` and ``platform``
coordinates; :func:`fuse_acquisitions` makes one scene of each group, lazily: at each pixel
the first finite value of its products, in time order (the values of two products of one
overpass are the same measurement where both have one). The Sentinel-2 index composite
(:func:`raster.index_composite.index_median_composite`) cannot fuse its stored values so: two
tiles of one datatake may come from different processing baselines, with different offsets.
It takes the groups instead and applies the same rule to each date's indices, after
converting that date's values. :func:`repeated_products` finds items that are one product
given twice (one tile of one overpass), so that a reader can keep one of them before reading
any (the newest processing baseline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import xarray as xr

T = TypeVar("T", xr.DataArray, xr.Dataset)

__all__ = ["SAME_OVERPASS", "acquisition_groups", "fuse_acquisitions", "repeated_products"]

#: Products of one platform acquired closer than this are one overpass (a Landsat path's
#: consecutive rows are ~24 s apart, a Sentinel-2 datastrip's tiles share one time; a
#: platform sees a place again days later).
SAME_OVERPASS = dt.timedelta(seconds=120)


def acquisition_groups(series: xr.DataArray | xr.Dataset) -> list[list[int]]:
    """Group the time steps of ``series`` by overpass.

    Parameters
    ----------
    series
        A ``(time, ...)`` array sorted by time, with a ``platform`` coordinate along ``time``
        (as :func:`raster.load.load_items` gives); without it, each platform is taken as one.

    Returns
    -------
    list of list of int
        The positions along ``time`` of each overpass, in time order.
    """
    times = series["time"].values.astype("datetime64[ns]")
    platforms = (
        series["platform"].values if "platform" in series.coords else np.full(times.size, "")
    )
    groups: list[list[int]] = []
    last: dict[str, int] = {}  # platform -> its latest group
    within = np.timedelta64(SAME_OVERPASS)
    for k, (when, platform) in enumerate(zip(times, platforms, strict=True)):
        g = last.get(str(platform))
        if g is not None and when - times[groups[g][-1]] < within:
            groups[g].append(k)
        else:
            last[str(platform)] = len(groups)
            groups.append([k])
    return groups


def fuse_acquisitions(series: T, groups: Sequence[Sequence[int]]) -> T:
    """Make one time step of each group: per pixel, the first finite value of its products.

    Parameters
    ----------
    series
        A ``(time, ...)`` DataArray or Dataset, NaN where a product has no valid value
        (masked, or outside its footprint); NumPy- or Dask-backed (lazy stays lazy).
    groups
        Positions along ``time``, each group one overpass (:func:`acquisition_groups`).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        ``series`` itself when every group is one step; else one step per group, at the time
        of its first product, its string coordinates along ``time`` (``product_id``) the
        products' distinct values joined with ``" + "``, its other coordinates those of the
        first product.
    """
    if all(len(group) == 1 for group in groups):
        return series
    along = [name for name, c in series.coords.items() if c.dims == ("time",) and name != "time"]
    steps = []
    for group in groups:
        step = series.isel(time=[group[0]])
        for k in group[1:]:  # aligned on the first product's time step
            other = series.isel(time=[k]).drop_vars(along).assign_coords(time=step["time"])
            step = step.fillna(other)
        for name in along:
            coord = series[name]
            if coord.dtype.kind in "UO":
                names = dict.fromkeys(str(v) for v in coord.values[list(group)])
                step = step.assign_coords({name: ("time", [" + ".join(names)])})
        steps.append(step)
    fused = xr.concat(steps, "time", coords="minimal", compat="override", join="override")
    return fused.assign_attrs(series.attrs)


def repeated_products(items: Sequence[Any], tile: Callable[[Any], str]) -> list[list[Any]]:
    """Group STAC items that are one product given twice.

    One product: the same platform and ``tile(item)``, acquired within :data:`SAME_OVERPASS`.

    Parameters
    ----------
    items
        :class:`pystac.Item` objects with ``datetime`` and a ``platform`` property.
    tile
        The item's tile (``s2:mgrs_tile``, a WRS-2 path/row).

    Returns
    -------
    list of list
        The groups of two or more items, each in the order given.
    """
    groups: dict[tuple[str, str], list[list[Any]]] = {}
    for item in items:
        runs = groups.setdefault((str(item.properties.get("platform", "")), tile(item)), [])
        for group in runs:
            # Python datetimes (UTC-aware, as pystac gives them): no NumPy conversion, which
            # warns about time zones.
            if abs(item.datetime - group[0].datetime) < SAME_OVERPASS:
                group.append(item)
                break
        else:
            runs.append([item])
    return [group for runs in groups.values() for group in runs if len(group) > 1]
