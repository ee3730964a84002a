"""The minimum mapping unit's kernel, this tree's against a baseline commit's, in one run.

Times ``raster.landcover._clean_kernel`` on 2-D class blocks, as the Dask graph calls it on
each chunk and its halo, at units of 4, 9, 16 and 36 px (36 px: the default 3,600 m² on a
10 m grid), side by side with the kernel of a baseline commit read with ``git show``:

- ``city``: a synthetic 20 km land cover (fields, woods, a street grid of dense blocks with
  gardens, parks, a river, no data along one edge) with speckle: blobs of a few to tens of
  pixels and 0.5 % of pixels flipped to a random class;
- ``demo``: the demo city's classes (:func:`pipelines.demo_city.make_city`), unspeckled;
- ``salt``: salt and pepper, every pixel a random class of 1-5 (the worst case).

CPU time is the best of ``--repeat`` calls (``time.process_time``); peak is tracemalloc's
peak during one more call, over what the block already holds. Each new result is checked
to be identical to the baseline's.

Usage::

    python benchmarks/bench_landcover_clean.py [--size 2000] [--repeat 3]
        [--baseline 673941f21126] [--connectivity 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.demo_city import make_city  # noqa: E402
from raster.landcover import _clean_kernel  # noqa: E402

UNITS = (4, 9, 16, 36)
Kernel = Callable[[np.ndarray, int, int], np.ndarray]


def synthetic_city(n: int, seed: int = 0) -> np.ndarray:
    """Return an ``n`` × ``n`` speckled land cover (uint8 :class:`LandCover` codes)."""
    rng = np.random.default_rng(seed)
    parcel = 40  # rural fields of 400 m: low vegetation, bare soil, woods
    fields = rng.choice(np.array([3, 3, 5, 2], np.uint8), (n // parcel + 1,) * 2)
    classes = np.kron(fields, np.ones((parcel, parcel), np.uint8))[:n, :n]
    yy, xx = np.mgrid[0:n, 0:n]
    core = np.hypot(yy - n / 2, xx - n / 2) < 0.35 * n
    blocks = ((yy % 14) >= 2) & ((xx % 14) >= 2)  # 12 px built blocks, 2 px streets
    urban = np.where(blocks, 4, 5).astype(np.uint8)
    garden = np.zeros((7, 7), bool)
    garden[3:, 3:] = True  # a 4 x 4 px garden in a quarter of the 7 px cells
    gardens = np.kron(rng.random((n // 7 + 1,) * 2) < 0.25, garden)[:n, :n]
    urban[gardens & blocks] = 3
    classes[core] = urban[core]
    for _ in range(12):  # parks
        cy, cx, radius = rng.integers(0, n), rng.integers(0, n), rng.integers(25, 70)
        classes[np.hypot(yy - cy, xx - cx) < radius] = 2
    river = n / 2 + 0.2 * n * np.sin(3 * np.pi * xx / n)
    classes[np.abs(yy - river) < 6] = 1
    noise = ndimage.gaussian_filter(rng.normal(size=(n, n)), 1.5)
    classes[noise > 2.2 * noise.std()] = 3  # blobs of a few to tens of pixels
    classes[noise < -2.2 * noise.std()] = 4
    flips = rng.random((n, n)) < 0.005
    classes[flips] = rng.integers(1, 6, flips.sum())
    classes[:3] = 0  # no data along the top edge
    return classes


def salt_and_pepper(n: int, seed: int = 1) -> np.ndarray:
    """Return an ``n`` × ``n`` block of independent random classes 1-5."""
    return np.random.default_rng(seed).integers(1, 6, (n, n)).astype(np.uint8)


def demo_classes(n: int) -> np.ndarray:
    """Return the demo city's classes, ``n`` × ``n`` at 10 m."""
    return make_city(size_m=n * 10.0).landcover


def baseline_kernel(rev: str, folder: Path) -> Kernel:
    """Return ``_clean_kernel`` of ``raster/landcover.py`` as it is at commit ``rev``."""
    shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:raster/landcover.py"],
                           capture_output=True)  # fmt: skip
    if shown.returncode:
        said = shown.stderr.decode("utf-8", "replace").strip().rstrip(".")
        raise SystemExit(
            f"cannot read the baseline kernel at {rev}: {said}; in a shallow clone run "
            "`git fetch --unshallow`, or pass --baseline with a commit this clone has"
        )
    path = folder / "landcover_baseline.py"
    path.write_bytes(shown.stdout)
    spec = importlib.util.spec_from_file_location("landcover_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module._clean_kernel


def measure(
    kernel: Kernel, classes: np.ndarray, unit: int, connectivity: int, repeat: int
) -> tuple[float, float, np.ndarray]:
    """Return the best CPU seconds of ``repeat`` calls, the peak MiB and the result."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        result = kernel(classes, unit, connectivity)
        best = min(best, time.process_time() - start)
    tracemalloc.start()
    kernel(classes, unit, connectivity)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baseline",
        default="673941f21126cf9ac30f9203ae9afffd4f81d351",
        help="commit of the old kernel",
    )
    parser.add_argument("--connectivity", type=int, default=1, choices=(1, 2))
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cases = {"city": synthetic_city(args.size), "demo": demo_classes(args.size),
             "salt": salt_and_pepper(args.size)}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        old_kernel = baseline_kernel(args.baseline, Path(folder))
    print(f"{args.size} x {args.size} blocks, connectivity {args.connectivity}, "
          f"baseline {args.baseline}; CPU s (best of {args.repeat}), peak MiB")  # fmt: skip
    print(f"{'case':6}{'unit':>5}{'changed %':>10}{'old s':>8}{'new s':>8}{'speed-up':>9}"
          f"{'old MiB':>9}{'new MiB':>9}  same")  # fmt: skip
    differ = []
    for name, classes in cases.items():
        for unit in UNITS:
            old_s, old_mib, old = measure(old_kernel, classes, unit, args.connectivity,
                                          args.repeat)  # fmt: skip
            new_s, new_mib, new = measure(_clean_kernel, classes, unit, args.connectivity,
                                          args.repeat)  # fmt: skip
            changed = 100 * np.count_nonzero(new != classes) / classes.size
            print(f"{name:6}{unit:>5}{changed:>10.2f}{old_s:>8.3f}{new_s:>8.3f}"
                  f"{old_s / new_s:>8.1f}x{old_mib:>9.0f}{new_mib:>9.0f}  "
                  f"{np.array_equal(old, new)}")  # fmt: skip
            if not np.array_equal(old, new):
                differ.append(f"{name} at {unit} px")
    if differ:
        raise SystemExit(
            f"the new kernel's classes differ from the baseline's: {', '.join(differ)}"
        )


if __name__ == "__main__":
    main()
