"""Synthetic zones and census tables of the demo city, in the layouts INSEE and ANCT publish.

Written next to the demo products so that ``ilots run`` reads them like real files:

* ``zones/iris.gpkg``: an 8 x 8 grid of 550 m square IRIS (square in the city's UTM zone)
  over the city centre and its suburbs, with IGN field names (``CODE_IRIS``, ``NOM_IRIS``,
  ``INSEE_COM``, ``TYP_IRIS``), in Lambert-93 (EPSG:2154) as IGN publishes the IRIS of
  metropolitan France, so that the run reprojects them onto its UTM grid as it does real ones;
* ``zones/qpv.geojson``: the three QPV of :data:`pipelines.demo_city.QPV_FOOTPRINTS` with
  ANCT field names (``code_qp``, ``lib_qp``, ``insee_com``, ``lib_com``: the commune's name
  as the IRIS layer gives it), in EPSG:4326; one is an invalid bow-tie, as real files
  sometimes hold, so that the repair path runs;
* ``census/filosofi.csv``: Filosofi IRIS layout (``;`` separator, decimal comma, ``IRIS``,
  ``DISP_MED21``), poorer in the dense centre and in QPV, with ``s``/``nd`` secrecy markers;
* ``census/population.csv``: ``IRIS;P21_POP``;
* ``planted_effects.json``: what the generator planted, computed from its own fields
  (:func:`planted_effects`), for comparison with what ``ilots run`` recovers.

Everything is synthetic (the names say so); nothing here describes a real place.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

from pipelines.demo_city import QPV_FOOTPRINTS, CityModel
from pipelines.outputs._atomic import staged

__all__ = [
    "IRIS_GRID",
    "IRIS_SIZE_M",
    "QPV_SHARE_THRESHOLD",
    "RURAL_EXCLUDED",
    "planted_effects",
    "write_demo_census",
]

#: Generator classes the run leaves out of its rural reference (heat_island.exclude_water and
#: exclude_built): water, and the dense and suburban built classes, which its land cover
#: calls water and built (:data:`pipelines.demo_city.CLASSES`).
RURAL_EXCLUDED = (1, 4, 5)
#: IRIS per side of the grid, and their edge in metres.
IRIS_GRID = 8
IRIS_SIZE_M = 550.0
#: An IRIS counts as in a QPV from this share of its area inside one (the run's default).
QPV_SHARE_THRESHOLD = 0.5
_COMMUNE = "31555"
#: The synthetic commune's name, in the IRIS layer (``NOM_COM``) and the QPV layer (``lib_com``).
_COMMUNE_NAME = "Ville synthétique"
#: CRS of the IRIS file: Lambert-93, as IGN's CONTOURS-IRIS for metropolitan France.
IGN_CRS = "EPSG:2154"
_SECRET = {"s": -1, "nd": IRIS_GRID - 1}  # Filosofi cells hidden by statistical secrecy


def _centre(city: CityModel) -> tuple[float, float]:
    return city.centre


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
                    "NOM_IRIS": f"Synthétique {n}",
                    "INSEE_COM": _COMMUNE,
                    "NOM_COM": _COMMUNE_NAME,
                    "TYP_IRIS": "H",
                    "geometry": box(west, south, west + IRIS_SIZE_M, south + IRIS_SIZE_M),
                }
            )
    return gpd.GeoDataFrame(rows, crs=f"EPSG:{city.crs}")


def _qpv(city: CityModel) -> gpd.GeoDataFrame:
    cx, cy = _centre(city)
    # The third is a bow-tie (self-intersecting ring): invalid on purpose, repaired when read.
    a, b, c = (Polygon([(cx + e, cy + n) for e, n in ring]) for ring in QPV_FOOTPRINTS.values())
    frame = gpd.GeoDataFrame(
        {
            "code_qp": list(QPV_FOOTPRINTS),
            "lib_qp": [
                "Quartier synthétique A",
                "Quartier synthétique B",
                "Quartier synthétique C",
            ],
            "insee_com": [_COMMUNE] * 3,
            "lib_com": [_COMMUNE_NAME] * 3,
            "geometry": [a, b, c],
        },
        crs=f"EPSG:{city.crs}",
    )
    return frame.to_crs("EPSG:4326")


def _french(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _tables(city: CityModel, iris: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per IRIS: QPV share, income (NaN where secret), population (all synthetic)."""
    cx, cy = _centre(city)
    centroids = iris.geometry.centroid
    dist_km = np.hypot(centroids.x - cx, centroids.y - cy) / 1000.0
    qpv_union = qpv.to_crs(iris.crs).geometry.make_valid().union_all()
    share = iris.geometry.intersection(qpv_union).area / iris.geometry.area
    rng = np.random.default_rng(31)
    income = 15500.0 + 3200.0 * dist_km - 3500.0 * share + rng.normal(0, 400, len(iris))
    population = np.round(2600 - 300 * dist_km + rng.normal(0, 150, len(iris))).astype(int)
    frame = pd.DataFrame(
        {
            "code_iris": iris["CODE_IRIS"].to_numpy(),
            "qpv_share": share.to_numpy(),
            "income": np.asarray(income, dtype=float),
            "population": population,
        }
    )
    for row in _SECRET.values():
        frame.loc[frame.index[row], "income"] = np.nan
    return frame


def planted_effects(
    city: CityModel, ring_inner_km: float = 1.0, ring_outer_km: float = 6.0
) -> dict[str, float]:
    """Compute what the generator planted, from its own fields (no product is read).

    * ``qpv_gap_k``: population-weighted mean of the per-IRIS planted LST offset
      (:meth:`~pipelines.demo_city.CityModel.lst_offset`, water left out, as the run leaves
      it out of its LST) over IRIS in QPV (share >= :data:`QPV_SHARE_THRESHOLD`) minus over
      the other IRIS, on the IRIS with a published income (as the run's group difference
      uses);
    * ``suhii_k``: mean planted offset over the IRIS union (water left out) minus over the
      rural reference as the run defines it (``heat_island`` of the demo config): the ring
      ``ring_inner_km``-``ring_outer_km`` around the union, water and built pixels left out,
      here by the generator's own classes (:data:`RURAL_EXCLUDED`): grass, woods and bare
      fields stay in it;
    * ``ndvi_dense_vegetation`` and ``ndvi_dense_built``: NDVI of the class reflectances;
    * ``roof_albedo_lst_slope_k``: the LST change planted per unit of roof albedo
      (:data:`~pipelines.demo_city.ALBEDO_LST_SLOPE_K`; a cool-roof scenario adding 0.15
      to the albedo would cool its roofs by 0.15 times it, where the model's fitted albedo
      range reaches).

    The scene textures average out over IRIS, and the rural level of each scene cancels.
    """
    from pipelines.demo_city import ALBEDO_LST_SLOPE_K, CLASSES

    n = city.landcover.shape[0]
    row, col = np.mgrid[0:n, 0:n] + 0.5
    east, north = (col - n / 2) * city.resolution, (n / 2 - row) * city.resolution
    offset = city.lst_offset()
    water = city.landcover == 1
    half = IRIS_GRID * IRIS_SIZE_M / 2
    tables = _tables(city, _iris(city), _qpv(city))
    means = []
    for k in range(len(tables)):
        j, i = divmod(k, IRIS_GRID)
        west, south = -half + i * IRIS_SIZE_M, -half + j * IRIS_SIZE_M
        sel = (east >= west) & (east < west + IRIS_SIZE_M)
        sel &= (north >= south) & (north < south + IRIS_SIZE_M) & ~water
        means.append(offset[sel].mean())
    tables["offset"] = means
    used = tables[tables["income"].notna()]
    in_qpv = used["qpv_share"] >= QPV_SHARE_THRESHOLD
    w = used["population"].astype(float)
    gap = np.average(used["offset"][in_qpv], weights=w[in_qpv]) - np.average(
        used["offset"][~in_qpv], weights=w[~in_qpv]
    )
    dist = np.hypot(np.maximum(np.abs(east) - half, 0), np.maximum(np.abs(north) - half, 0))
    urban = (dist == 0) & ~water
    ring = (dist > ring_inner_km * 1000) & (dist <= ring_outer_km * 1000)
    ring &= ~np.isin(city.landcover, RURAL_EXCLUDED)
    ndvi = {code: (row[3] - row[2]) / (row[3] + row[2]) for code, row in CLASSES.items()}
    return {
        "qpv_gap_k": float(gap),
        "suhii_k": float(offset[urban].mean() - offset[ring].mean()),
        "ndvi_dense_vegetation": float(ndvi[2]),
        "ndvi_dense_built": float(ndvi[4]),
        "n_iris_in_qpv": int(in_qpv.sum()),
        "roof_albedo_lst_slope_k": ALBEDO_LST_SLOPE_K,
    }


def write_demo_census(city: CityModel, root: str | Path) -> dict[str, Path]:
    """Write the demo IRIS, QPV, Filosofi and population files under ``root``.

    Returns
    -------
    dict
        ``{"iris", "qpv", "filosofi", "population"}`` -> path written (all synthetic).
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
    # Each file under a temporary name, then renamed: a killed demo leaves no half file.
    with staged(paths["iris"]) as staging:
        iris.to_crs(IGN_CRS).to_file(staging, layer="iris", driver="GPKG")
    with staged(paths["qpv"]) as staging:
        qpv.to_file(staging, driver="GeoJSON")

    tables = _tables(city, iris, qpv)
    cells = [_french(v) for v in tables["income"]]
    for marker, row in _SECRET.items():  # statistical secrecy markers
        cells[row] = marker
    with staged(paths["filosofi"]) as staging:
        pd.DataFrame({"IRIS": iris["CODE_IRIS"], "DISP_MED21": cells}).to_csv(
            staging, sep=";", index=False
        )
    with staged(paths["population"]) as staging:
        pd.DataFrame({"IRIS": iris["CODE_IRIS"], "P21_POP": tables["population"]}).to_csv(
            staging, sep=";", index=False
        )
    return paths
