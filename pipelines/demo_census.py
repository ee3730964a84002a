"""Synthetic zones and census tables of the demo city, in the layouts INSEE and ANCT publish.

Written next to the demo products so that ``ilots run`` reads them like real files:

* ``zones/iris.gpkg``: a 6 x 6 grid of 600 m square IRIS over the city centre and its
  suburbs, with IGN field names (``CODE_IRIS``, ``NOM_IRIS``, ``INSEE_COM``, ``TYP_IRIS``);
* ``zones/qpv.geojson``: three QPV over the dense district with ANCT field names
  (``code_qp``, ``lib_qp``, ``insee_com``), in EPSG:4326; one is an invalid bow-tie, as
  real files sometimes hold, so that the repair path runs;
* ``census/filosofi.csv``: Filosofi IRIS layout (``;`` separator, decimal comma, ``IRIS``,
  ``DISP_MED21``), poorer in the dense centre and in QPV, with ``s``/``nd`` secrecy markers;
* ``census/population.csv``: ``IRIS;P21_POP``.

Everything is synthetic (the names say so); nothing here describes a real place.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

from pipelines.demo_city import CityModel

__all__ = ["IRIS_GRID", "IRIS_SIZE_M", "write_demo_census"]

#: IRIS per side of the grid, and their edge in metres.
IRIS_GRID = 6
IRIS_SIZE_M = 600.0
_COMMUNE = "31555"


def _centre(city: CityModel) -> tuple[float, float]:
    half = city.landcover.shape[0] * city.resolution / 2
    return city.origin[0] + half, city.origin[1] - half


def _iris(city: CityModel) -> gpd.GeoDataFrame:
    cx, cy = _centre(city)
    x0, y0 = cx - IRIS_GRID * IRIS_SIZE_M / 2, cy - IRIS_GRID * IRIS_SIZE_M / 2
    rows = []
    for j in range(IRIS_GRID):  # south to north
        for i in range(IRIS_GRID):
            n = j * IRIS_GRID + i + 1
            west, south = x0 + i * IRIS_SIZE_M, y0 + j * IRIS_SIZE_M
            rows.append(
                {
                    "CODE_IRIS": f"{_COMMUNE}{n:04d}",
                    "NOM_IRIS": f"Synthetique {n}",
                    "INSEE_COM": _COMMUNE,
                    "NOM_COM": "Ville synthetique",
                    "TYP_IRIS": "H",
                    "geometry": box(west, south, west + IRIS_SIZE_M, south + IRIS_SIZE_M),
                }
            )
    return gpd.GeoDataFrame(rows, crs=f"EPSG:{city.crs}")


def _qpv(city: CityModel) -> gpd.GeoDataFrame:
    cx, cy = _centre(city)
    a = box(cx - 1200, cy - 600, cx - 600, cy + 600)  # west of the centre
    b = box(cx, cy - 1200, cx + 1200, cy - 600)  # south-east
    # A bow-tie (self-intersecting ring): invalid on purpose, repaired when read.
    c = Polygon(
        [(cx - 700, cy + 500), (cx + 100, cy + 1300), (cx + 100, cy + 500), (cx - 700, cy + 1300)]
    )
    frame = gpd.GeoDataFrame(
        {
            "code_qp": ["QP031901", "QP031902", "QP031903"],
            "lib_qp": [
                "Quartier synthetique A",
                "Quartier synthetique B",
                "Quartier synthetique C",
            ],
            "insee_com": [_COMMUNE] * 3,
            "geometry": [a, b, c],
        },
        crs=f"EPSG:{city.crs}",
    )
    return frame.to_crs("EPSG:4326")


def _french(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def write_demo_census(city: CityModel, root: str | Path) -> dict[str, Path]:
    """Write the demo IRIS, QPV, Filosofi and population files under ``root``.

    Returns
    -------
    dict
        ``{"iris", "qpv", "filosofi", "population"}`` -> path written.
    """
    root = Path(root)
    (root / "zones").mkdir(parents=True, exist_ok=True)
    (root / "census").mkdir(parents=True, exist_ok=True)
    iris, qpv = _iris(city), _qpv(city)
    paths = {
        "iris": root / "zones" / "iris.gpkg",
        "qpv": root / "zones" / "qpv.geojson",
        "filosofi": root / "census" / "filosofi.csv",
        "population": root / "census" / "population.csv",
    }
    for key in ("iris", "qpv"):
        if paths[key].exists():
            paths[key].unlink()
    iris.to_file(paths["iris"], layer="iris", driver="GPKG")
    qpv.to_file(paths["qpv"], driver="GeoJSON")

    cx, cy = _centre(city)
    centroids = iris.geometry.centroid
    dist_km = np.hypot(centroids.x - cx, centroids.y - cy) / 1000.0
    qpv_union = qpv.to_crs(iris.crs).geometry.make_valid().union_all()
    share = iris.geometry.intersection(qpv_union).area / iris.geometry.area
    rng = np.random.default_rng(31)
    income = 15500.0 + 3200.0 * dist_km - 3500.0 * share + rng.normal(0, 400, len(iris))
    population = np.round(2600 - 300 * dist_km + rng.normal(0, 150, len(iris))).astype(int)
    cells = [_french(v) for v in income]
    cells[-1], cells[IRIS_GRID - 1] = "s", "nd"  # statistical secrecy markers
    pd.DataFrame({"IRIS": iris["CODE_IRIS"], "DISP_MED21": cells}).to_csv(
        paths["filosofi"], sep=";", index=False
    )
    pd.DataFrame({"IRIS": iris["CODE_IRIS"], "P21_POP": population}).to_csv(
        paths["population"], sep=";", index=False
    )
    return paths
