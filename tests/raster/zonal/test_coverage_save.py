"""A coverage cached on a full disk says so with its ``errno`` (ENOSPC, or EFBIG past a file
size limit), which the CLI turns into its "free some space" advice: NumPy's ``np.save``
said "N requested and M written" without one."""

from __future__ import annotations

import errno
import os

import geopandas as gpd
import numpy as np
import pytest
import shapely
from odc.geo.geobox import GeoBox

from raster.zonal.coverage import ZoneCoverage, zone_coverage
from raster.zonal.zones import prepare_zones

CRS = "EPSG:32631"


def _coverage(side=200):
    """Two zones (left and right halves) on a ``side`` x ``side`` grid of 30 m pixels: a
    ``uint16`` label raster of 2 * side**2 bytes."""
    x0, y0, res = 600_000.0, 5_400_000.0, 30.0
    gbox = GeoBox.from_bbox((x0, y0 - side * res, x0 + side * res, y0), CRS, resolution=res)
    half = x0 + side * res / 2
    zones = gpd.GeoDataFrame(
        {"zid": [1, 2]},
        geometry=[
            shapely.box(x0, y0 - side * res, half, y0),
            shapely.box(half, y0 - side * res, x0 + side * res, y0),
        ],
        crs=CRS,
    )
    return zone_coverage(prepare_zones(zones, id="zid", crs=CRS), gbox)


def _fallocate_failing_with(code):
    def fallocate(fd, offset, length):
        raise OSError(code, os.strerror(code))

    return fallocate


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate")
def test_a_full_disk_is_an_error_with_its_errno_naming_the_file(tmp_path, monkeypatch):
    cov = _coverage()
    monkeypatch.setattr(os, "posix_fallocate", _fallocate_failing_with(errno.ENOSPC))
    with pytest.raises(OSError, match=r"cov\.labels\.npy") as caught:
        cov.save(tmp_path / "cov.npz")
    assert caught.value.errno == errno.ENOSPC
    assert not list(tmp_path.iterdir())  # nothing half-written left


def test_a_short_write_says_its_errno(tmp_path, monkeypatch, file_size_limit):
    """Where space cannot be reserved, the write cut short by the disk says why."""
    cov = _coverage()  # an 80,000-byte label raster
    monkeypatch.setattr(
        os, "posix_fallocate", _fallocate_failing_with(errno.EOPNOTSUPP), raising=False
    )
    with file_size_limit(16384), pytest.raises(OSError, match=r"cov\.labels\.npy") as caught:
        cov.save(tmp_path / "cov.npz")
    assert caught.value.errno == errno.EFBIG
    assert not list(tmp_path.iterdir())


def test_a_saved_coverage_loads_back(tmp_path):
    cov = _coverage(side=20)
    again = ZoneCoverage.load(cov.save(tmp_path / "cov.npz"))
    # By hand: the left 10 columns are the first zone (label 0), the right 10 the second.
    want = np.repeat([[0] * 10 + [1] * 10], 20, axis=0)
    np.testing.assert_array_equal(again.label_raster(), want)
    assert again.label_raster().dtype == np.uint16
