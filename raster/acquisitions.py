"""One acquisition delivered as several products: fuse them into one scene.

A satellite overpass is cut into products (Landsat WRS-2 rows of one path, Sentinel-2 MGRS
tiles), whose footprints overlap; the same product may also come twice (from two STAC
collections, two distributors, or downloaded under two names). Loaded one product per time
step, the pixels of an overlap would count as two clear observations of one moment:
``n_clear`` doubled there, ``composite.min_clear`` met with fewer dates than it asks, the
medians weighted towards that date.

:func:`acquisition_groups` finds the time steps of one overpass from a series' ``time`` and
``platform`` coordinates: for Sentinel-2, the products of one datatake (given by their
:data:`~raster.sources.sentinel2_scaling.DATATAKE_PROPERTY`, whatever their times: Earth
Search dates each tile by its own sensing time, a SAFE and Planetary Computer by the
datatake's start, up to minutes earlier); otherwise, and for products without a datatake,
those of one platform acquired within :data:`SAME_OVERPASS` of each other.
:func:`fuse_acquisitions` makes one scene of each group, lazily: at each pixel the first
finite value of its products, in time order (the values of two products of one overpass are
the same measurement where both have one). The Sentinel-2 index composite
(:func:`raster.index_composite.index_median_composite`) cannot fuse its stored values so: two
tiles of one datatake may come from different processing baselines, with different offsets.
It takes the groups instead and applies the same rule to each date's indices, after
converting that date's values. :func:`repeated_products` finds items that are one product
given twice (one tile of one overpass, by the same rule), so that a reader can keep one of
them before reading any (the newest processing baseline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from raster.sources.assets import item_time
from raster.sources.sentinel2_scaling import DATATAKE_PROPERTY

T = TypeVar("T", xr.DataArray, xr.Dataset)

__all__ = ["SAME_OVERPASS", "acquisition_groups", "fuse_acquisitions", "repeated_products"]

#: Products of one platform acquired closer than this are one overpass (a Landsat path's
#: consecutive rows are ~24 s apart; a platform sees a place again days later). Sentinel-2
#: products that name their datatake are grouped by it instead: Earth Search dates each tile
#: by its own sensing time, minutes after the datatake's start that a SAFE gives.
SAME_OVERPASS = dt.timedelta(seconds=120)


def acquisition_groups(
    series: xr.DataArray | xr.Dataset, datatakes: Mapping[str, str] | None = None
) -> list[list[int]]:
    """Group the time steps of ``series`` by overpass.

    Parameters
    ----------
    series
        A ``(time, ...)`` array sorted by time, with a ``platform`` coordinate along ``time``
        (as :func:`raster.load.load_items` gives); without it, each platform is taken as one.
    datatakes
        Product id (the ``product_id`` coordinate) → its Sentinel-2 datatake
        (:data:`~raster.sources.sentinel2_scaling.DATATAKE_PROPERTY`): the products of one
        datatake are one overpass whatever their times. A product without one joins its
        platform's latest overpass when acquired within :data:`SAME_OVERPASS` of it (and
        that overpass is of no other datatake).

    Returns
    -------
    list of list of int
        The positions along ``time`` of each overpass, by their first position; each group
        in increasing order (the products of one datatake need not be consecutive).
    """
    times = series["time"].values.astype("datetime64[ns]")
    n = times.size
    platforms = series["platform"].values if "platform" in series.coords else np.full(n, "")
    ids = series["product_id"].values if "product_id" in series.coords else np.full(n, "")
    keys = [(datatakes or {}).get(str(pid)) for pid in ids]
    runs = _Overpasses(np.timedelta64(SAME_OVERPASS))
    for k, (when, platform, key) in enumerate(zip(times, platforms, keys, strict=True)):
        runs.add(k, str(platform), key, when)
    return runs.groups


class _Overpasses:
    """Members gathered into overpasses, one at a time in time order.

    A member joins the overpass of its datatake when one has it; else, unless it has a
    datatake the overpass has not, its platform's latest overpass when it was acquired within
    ``within`` of that overpass's last member; else it begins one. ``groups`` lists the
    members of each overpass, overpasses in the order of their first member.
    """

    def __init__(self, within: Any) -> None:
        self.within = within
        self.groups: list[list[Any]] = []
        self._times: list[Any] = []  # each overpass's latest acquisition time
        self._keys: list[str | None] = []  # each overpass's datatake
        self._latest: dict[str, int] = {}  # platform -> its latest overpass
        self._of_key: dict[tuple[str, str], int] = {}  # (platform, datatake) -> its overpass

    def add(self, member: Any, platform: str, key: str | None, when: Any) -> None:
        """Put ``member``, of ``platform`` and datatake ``key``, acquired ``when``."""
        g = self._of_key.get((platform, key)) if key else None
        if g is None:
            g = self._latest.get(platform)
            near = g is not None and abs(when - self._times[g]) < self.within
            if not near or (key and self._keys[g] not in (None, key)):
                g = None
        if g is None:
            g = len(self.groups)
            self.groups.append([])
            self._times.append(when)
            self._keys.append(None)
        self.groups[g].append(member)
        self._times[g] = max(self._times[g], when)
        self._latest[platform] = g
        if key:
            self._keys[g] = key
            self._of_key[(platform, key)] = g


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

    One product: the same platform and ``tile(item)``, and the same datatake
    (:data:`~raster.sources.sentinel2_scaling.DATATAKE_PROPERTY`), or, when an item has
    none, acquired within :data:`SAME_OVERPASS` (the rule of :func:`acquisition_groups`).

    Parameters
    ----------
    items
        :class:`pystac.Item` objects with a time (:func:`~raster.sources.assets.item_time`)
        and a ``platform`` property.
    tile
        The item's tile (``s2:mgrs_tile``, a WRS-2 path/row).

    Returns
    -------
    list of list
        The groups of two or more items, each in the order given.
    """
    # Python datetimes (aware, of any offset: item_time): no NumPy conversion, which warns
    # about time zones.
    runs = _Overpasses(SAME_OVERPASS)
    times = [item_time(item) for item in items]  # a range-only item: its start
    order = sorted(range(len(items)), key=lambda k: times[k])
    for k in order:
        item = items[k]
        platform = f"{item.properties.get('platform', '')} {tile(item)}"
        runs.add(k, platform, item.properties.get(DATATAKE_PROPERTY), times[k])
    return [[items[k] for k in sorted(group)] for group in runs.groups if len(group) > 1]
