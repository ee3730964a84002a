"""Small in-memory rasters and zone layers for the output writers; crashes while they write."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from rasterio.transform import from_origin

ORIGIN = (640000.0, 6860000.0)  # Lambert-93, Paris-ish
RES = 30.0
CLASS_CODES = (1, 2, 3, 5, 7)


def grid_array(values, *, crs="EPSG:2154", attrs=None) -> xr.DataArray:
    """A (y, x) DataArray on a 30 m Lambert-93 grid."""
    ny, nx = values.shape
    transform = from_origin(*ORIGIN, RES, RES)
    x = transform.c + RES * (np.arange(nx) + 0.5)
    y = transform.f - RES * (np.arange(ny) + 0.5)
    data = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x})
    return data.rio.write_crs(crs).assign_attrs(attrs or {})


def make_rasters(shape=(600, 520)) -> dict[str, xr.DataArray]:
    """A continuous LST (with a NaN hole) and a land-cover class map (one overview level)."""
    rng = np.random.default_rng(5)
    lst = (295.0 + 15.0 * rng.random(shape)).astype("float32")
    lst[:40, :60] = np.nan
    classes = rng.choice(np.array(CLASS_CODES, dtype="uint8"), size=shape)
    return {
        "lst_median": grid_array(lst),
        "landcover": grid_array(classes, attrs={"flag_values": CLASS_CODES, "nodata": 0}),
    }


ANOMALY = np.array([-2.4, -1.1, -0.3, 0.0, 0.2, 0.9, 1.6, 2.2, 3.0, np.nan, -0.7, 1.1])


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    """An ``iris`` layer of 12 squares with an anomaly column, and a ``qpv`` layer of 2."""
    boxes = [
        shapely.box(ORIGIN[0] + 500 * i, ORIGIN[1] - 500 * (j + 1), ORIGIN[0] + 500 * (i + 1),
                    ORIGIN[1] - 500 * j)
        for j in range(3) for i in range(4)
    ]  # fmt: skip
    iris = gpd.GeoDataFrame(
        {
            "code_iris": [f"75101{i:04d}" for i in range(12)],
            "nom_iris": [f"IRIS {i}" for i in range(12)],
            "lst_anomaly_mean_k": ANOMALY,
            "lst_mean_k": 300.0 + ANOMALY,
        },
        geometry=boxes,
        crs="EPSG:2154",
    )
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN07501M", "QN07502M"], "nom_qp": ["Les Tilleuls", "La Butte"]},
        geometry=[boxes[0].union(boxes[1]), shapely.MultiPolygon([boxes[10]])],
        crs="EPSG:2154",
    )
    return {"iris": iris, "qpv": qpv}


#: The changes to the file system a crash is taken after (renames, removals, new folders).
FILE_SYSTEM_CHANGES = ("replace", "unlink", "rmdir", "mkdir")


def after_each_change(monkeypatch, hook) -> None:
    """Call ``hook()`` after each change to the file system, those of the hook itself aside.

    The state the hook sees is what a ``kill -9`` there would leave; a hook that raises
    stops the process there as an exception does (its handlers run).
    """
    busy = []

    def wrap(real):
        def change(*args, **kwargs):
            result = real(*args, **kwargs)
            if not busy:
                busy.append(True)
                try:
                    hook()
                finally:
                    busy.pop()
            return result

        return change

    for name in FILE_SYSTEM_CHANGES:
        monkeypatch.setattr(os, name, wrap(getattr(os, name)))


def cog_written_meanwhile(monkeypatch, target) -> None:
    """Make another command put ``b"the other command's"`` at ``target`` as soon as a COG
    is encoded, before it is put in place (after the writing command's checks)."""
    import rasterio.shutil

    copy = rasterio.shutil.copy

    def encoded_meanwhile(*args, **kwargs):
        copy(*args, **kwargs)
        target.write_bytes(b"the other command's")

    monkeypatch.setattr(rasterio.shutil, "copy", encoded_meanwhile)


def read_only(monkeypatch, folder) -> None:
    """Make ``folder`` refuse a new file, as a read-only folder does (root writes in any):
    the probe of :func:`~pipelines.outputs._atomic.check_output` fails there."""
    import tempfile

    real = tempfile.TemporaryFile

    def refused(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == Path(folder).resolve():
            raise PermissionError(errno.EACCES, "Permission denied", dir)
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)


@contextmanager
def edited_in_qgis(gpkg: Path) -> Iterator[sqlite3.Connection]:
    """A GeoPackage open for editing as QGIS holds one: WAL mode, a committed table
    ``user_notes`` (one row, ``'kept'``) still in its ``-wal`` while the block runs."""
    qgis = sqlite3.connect(gpkg)
    try:
        qgis.execute("PRAGMA journal_mode=WAL")
        qgis.execute("PRAGMA wal_autocheckpoint=0")
        qgis.execute("CREATE TABLE user_notes(note TEXT)")
        qgis.execute("INSERT INTO user_notes VALUES ('kept')")
        qgis.commit()
        yield qgis
    finally:
        qgis.close()
