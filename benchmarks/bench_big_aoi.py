"""Planning a run over a large area: ``ilots run CONFIG --dry-run`` on a département of IRIS.

The workload is written (deterministic) into ``<workdir>/``:

* ``iris.gpkg``: 8,100 IRIS-like polygons (layer ``contours_iris``, IGN field names
  ``CODE_IRIS``, ``INSEE_COM``, ``NOM_COM``, ``IRIS``, ``NOM_IRIS``, ``TYP_IRIS``; 9 IRIS a
  commune, 900 communes) tiling 110 x 110 km of Lambert-93 (EPSG:2154) south-west of
  Toulouse, each of 241 vertices: a jittered 90 x 90 lattice whose edges are random walks
  shared by both neighbours. With ``--noise`` (metres), each polygon's vertices move by that
  much on their own, as real IRIS whose shared edges do not match: their union keeps
  slivers and holes (1 m: 1.8 million vertices, 260,000 holes), which is what makes a real
  département's outline heavy;
* ``products/``: 3 synthetic Landsat 8 C2 L2SP products of July 2023 (8 x 8 pixels of 30 km,
  a 240 km square in UTM 31N over the whole area);
* ``whole.yaml``: ``aoi.zones: iris`` without ``aoi.communes`` (the extent, 12,000 km², is
  checked against the products before the IRIS are read), and ``communes.yaml``: the same
  area as the IRIS of its 900 communes listed in ``aoi.communes``.

Each config is planned (``python -m pipelines run CONFIG --dry-run``) in a fresh process and
its wall time printed. Run with ``PYTHONPATH`` set to the checkout to time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.transform import from_origin
from shapely.geometry import Polygon

from raster.synthetic import (
    encode_qa_pixel,
    kelvin_to_st_dn,
    reflectance_to_dn_landsat,
    write_landsat_c2l2,
)

N_CELLS, SIDE_M, PER_EDGE = 90, 110_000 / 90, 60
ORIGIN_L93 = (520_000.0, 6_230_000.0)
CONFIG = """
aoi: {{zones: iris{communes}}}
periods: {{years: [2023], months: [6, 7, 8]}}
inputs: {{landsat: [products]}}
zones: {{iris: {{path: iris.gpkg}}}}
composite: {{min_clear: 1}}
mask: {{st_qa_max_k: null, cdist_min_km: null, radsat: false}}
outputs: {{folder: run-{name}}}
"""


def iris_frame(noise_m: float) -> gpd.GeoDataFrame:
    """Return the IRIS-like tiling (see the module's docstring)."""
    rng = np.random.default_rng(0)
    n = N_CELLS
    index = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    nodes = np.stack(index, -1).astype(float) * SIDE_M
    nodes[1:-1, 1:-1] += rng.uniform(-0.2, 0.2, (n - 1, n - 1, 2)) * SIDE_M
    nodes += ORIGIN_L93
    t = np.linspace(0, 1, PER_EDGE + 1)[1:-1]
    edges: dict[tuple, np.ndarray] = {}

    def edge(p: tuple[int, int], q: tuple[int, int]) -> np.ndarray:
        key = (p, q) if p < q else (q, p)
        if key not in edges:  # a random walk across the edge, pinned at both ends
            a, b = nodes[key[0]], nodes[key[1]]
            d = b - a
            normal = np.array([-d[1], d[0]]) / np.hypot(*d)
            walk = np.cumsum(np.random.default_rng(hash(key) % 2**32).normal(0, 3, t.size))
            walk -= t * walk[-1]
            edges[key] = a + t[:, None] * d + walk[:, None] * normal
        return edges[key] if key == (p, q) else edges[key][::-1]

    geoms, communes, iris = [], [], []
    for i in range(n):
        for j in range(n):
            corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
            ring: list = []
            for k in range(4):
                ring.append(nodes[corners[k]])
                ring.extend(edge(corners[k], corners[(k + 1) % 4]))
            ring_xy = np.array(ring) + rng.normal(0, noise_m, (len(ring), 2))
            geoms.append(Polygon(ring_xy))
            communes.append(f"{31001 + (i // 3) * 30 + (j // 3):05d}")
            iris.append(f"{(i % 3) * 3 + j % 3 + 1:04d}")
    return gpd.GeoDataFrame(
        {"INSEE_COM": communes, "NOM_COM": [f"C{c}" for c in communes], "IRIS": iris,
         "CODE_IRIS": [c + k for c, k in zip(communes, iris, strict=True)], "NOM_IRIS": iris,
         "TYP_IRIS": "H"},
        geometry=geoms, crs="EPSG:2154",
    )  # fmt: skip


def write_workload(folder: Path, noise_m: float) -> list[Path]:
    """Write the IRIS, products and configs into ``folder``; return the configs."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = iris_frame(noise_m)
    frame.to_file(folder / "iris.gpkg", layer="contours_iris", driver="GPKG")
    n = 8
    bands = {
        "red": reflectance_to_dn_landsat(np.full((n, n), 0.05)),
        "lwir11": kelvin_to_st_dn(np.full((n, n), 300.0)),
        "qa_pixel": np.full((n, n), encode_qa_pixel(), dtype="uint16"),
    }
    for day in (12, 20, 28):
        write_landsat_c2l2(folder / "products", bands=bands, crs=32631, platform="landsat-8",
                           transform=from_origin(240_000, 4_940_000, 30_000, 30_000), path=199,
                           row=30, date=dt.date(2023, 7, day), overwrite=True)  # fmt: skip
    listed = sorted(set(frame["INSEE_COM"]))
    configs = {"whole": "", "communes": f", communes: {listed!r}"}
    paths = []
    for name, communes in configs.items():
        path = folder / f"{name}.yaml"
        path.write_text(CONFIG.format(communes=communes, name=name), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--noise", type=float, default=0.0, help="metres (see the docstring)")
    args = parser.parse_args()
    for config in write_workload(args.workdir, args.noise):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines", "run", config.name, "--dry-run"],
                       cwd=config.parent, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        print(f"{config.name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
