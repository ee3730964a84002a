"""Per-pixel science at full Landsat scene size, side by side with a plain rasterio read.

A synthetic Landsat 8 Collection 2 L2SP product of about 7,800 x 7,800 pixels is written once
(uint16 tiled DEFLATE GeoTIFFs in the USGS layout, with MTL .txt/.json/.xml), then three runs
are timed, each in a fresh Python process so that peak memory is that run's own:

- ``floor``: read and decode the same four bands (SR_B4, SR_B5, ST_B10, QA_PIXEL) into NumPy
  with rasterio, one after another, holding all four (as any script computing NDVI and LST
  from them must): the least a processor must spend; ``floor-drop`` frees each band after
  reading it, for reference (on this machine fresh memory pages are expensive);
- ``ilots``: open the product, load it lazily, QA mask + NDVI + LST, computed into memory with
  the default chunks and Dask's threaded scheduler;
- ``ilots+cog``: the same, written as two COGs (NDVI and LST).

Usage::

    python benchmarks/bench_pixels.py [--size 7800] [--repeat 3] [--workdir DIR]

Targets (issue #2): ilots <= 1.5 x floor; peak memory <= 2.5 GB.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BANDS = ("SR_B4", "SR_B5", "ST_B10", "QA_PIXEL")


def make_product(workdir: Path, size: int) -> Path:
    """Write the synthetic product once (deterministic), return its folder."""
    from rasterio.transform import from_origin

    from raster.synthetic import write_landsat_c2l2
    from raster.synthetic.encode import encode_qa_pixel, kelvin_to_st_dn, reflectance_to_dn_landsat

    existing = sorted(workdir.glob(f"LC08_L2SP_*_{size}px_marker"))
    if existing:
        return Path(existing[0].read_text())
    rng = np.random.default_rng(42)
    yy, xx = np.mgrid[0:size, 0:size].astype("float32") / size
    urban = np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.05)
    noise = rng.normal(0, 1, (size, size)).astype("float32")
    red = reflectance_to_dn_landsat(np.clip(0.05 + 0.12 * urban + 0.01 * noise, 0, 1))
    nir = reflectance_to_dn_landsat(np.clip(0.35 - 0.15 * urban + 0.01 * noise, 0, 1))
    lst = kelvin_to_st_dn(295 + 10 * urban + 0.5 * noise)
    cloud = (np.sin(xx * 40) * np.cos(yy * 30) + 0.3 * noise) > 1.2
    qa = np.where(cloud, encode_qa_pixel(cloud=True), encode_qa_pixel()).astype("uint16")
    del noise, yy, xx, urban
    folder = write_landsat_c2l2(
        workdir,
        bands={"red": red, "nir08": nir, "lwir11": lst, "qa_pixel": qa},
        crs=32631,
        transform=from_origin(300000, 5000000, 30, 30),
        platform="landsat-8",
        path=199,
        row=26,
        date=dt.date(2023, 7, 15),
        blocksize=256,
        overwrite=True,
    )
    (workdir / f"{folder.name}_{size}px_marker").write_text(str(folder))
    return folder


def run_floor(product: Path, keep: bool = True) -> list:
    """Read and decode the four bands with rasterio; ``keep`` holds them all in memory at once
    (as any script computing NDVI and LST from them must), else each is dropped after reading.
    """
    import rasterio

    held = []
    for band in BANDS:
        (path,) = product.glob(f"*_{band}.TIF")
        with rasterio.open(path) as src:
            data = src.read(1)
        if keep:
            held.append(data)
    return held


def _lazy_outputs(product: Path):
    from raster.indices import compute_index
    from raster.load import load_items
    from raster.quality import QA_PIXEL_PRESETS, landsat_clear_mask
    from raster.sources import open_product
    from raster.thermal import surface_temperature_l2

    item = open_product(product)
    ds = load_items([item], ["red", "nir08", "lwir11", "qa_pixel"]).isel(time=0)
    no_water = dataclasses.replace(QA_PIXEL_PRESETS["default"], keep_water=False)
    clear = landsat_clear_mask(ds, preset=no_water)
    ndvi = compute_index(ds, "ndvi").where(clear)
    lst = surface_temperature_l2(ds, mask=clear)
    return ndvi, lst


def run_ilots(product: Path) -> None:
    from raster.compute import compute_into_memory

    compute_into_memory(*_lazy_outputs(product))


def run_ilots_cog(product: Path, out: Path) -> None:
    import dask

    from raster.cog import write_cog

    ndvi, lst = _lazy_outputs(product)
    dask.compute(
        write_cog(ndvi, out / "ndvi.tif", compute=False),
        write_cog(lst, out / "lst.tif", compute=False),
    )


def child(mode: str, product: Path, out: Path) -> None:
    """Run one measurement in this process and print seconds and peak RSS as JSON.

    Libraries are imported before the clock starts, for both sides: the figure is the work,
    not Python's start-up.
    """
    import dask  # noqa: F401
    import rasterio  # noqa: F401

    if mode != "floor":
        import raster.cog
        import raster.compute
        import raster.indices
        import raster.load
        import raster.quality
        import raster.sources
        import raster.thermal  # noqa: F401
    start = time.perf_counter()
    runs = {
        "floor": lambda: run_floor(product),
        "floor-drop": lambda: run_floor(product, keep=False),
        "ilots": lambda: run_ilots(product),
        "ilots+cog": lambda: run_ilots_cog(product, out),
    }
    runs[mode]()
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def measure(mode: str, product: Path, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--product", str(product), "--out", str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=7800)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "_work")
    parser.add_argument("--child", choices=["floor", "floor-drop", "ilots", "ilots+cog"])
    parser.add_argument("--product", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.product, args.out)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    product = make_product(args.workdir, args.size)
    out = args.workdir / "out"
    out.mkdir(exist_ok=True)
    measure("floor", product, out)  # warm the page cache so every run reads from memory
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for mode in ("floor", "floor-drop", "ilots", "ilots+cog"):
            r = measure(mode, product, out)
            if mode not in best or r["seconds"] < best[mode]["seconds"]:
                best[mode] = r
            best[mode]["peak_mib"] = max(best[mode]["peak_mib"], r["peak_mib"])
    floor = best["floor"]["seconds"]
    print(f"product: {product.name}, {args.size} x {args.size} px, bands {', '.join(BANDS)}")
    print(f"{'run':<10} {'best s':>8} {'x floor':>8} {'peak MiB':>9}")
    for mode, r in best.items():
        print(f"{mode:<10} {r['seconds']:8.2f} {r['seconds'] / floor:8.2f} {r['peak_mib']:9.0f}")
    ratio = best["ilots"]["seconds"] / floor
    peak = best["ilots"]["peak_mib"]
    print(f"target ilots <= 1.5 x floor: {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f})")
    print(f"target peak <= 2.5 GB: {'met' if peak <= 2500 else 'NOT met'} ({peak:.0f} MiB)")


if __name__ == "__main__":
    main()
