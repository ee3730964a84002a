"""Shared fixtures: where the real data lives, a dask scheduler that refuses to compute,
item JSONs whose files cannot be reached, raster files damaged inside their pixel data, and
one ``ilots demo`` for the whole session, whose folder no test may change."""

from __future__ import annotations

import json
import os
import re
import signal
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dask
import pytest

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    """The shared real-data folder (``$ILOTS_REAL_DATA`` or ``../shared/data``), if present."""
    env = os.environ.get("ILOTS_REAL_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Path to the real products; skips the test with a reason when they are absent."""
    path = real_data_dir()
    if path is None:
        pytest.skip(
            "real data not found: set ILOTS_REAL_DATA to the shared data folder "
            "(see ../shared/data/README.md)"
        )
    return path


#: A host no resolver knows (RFC 6761 reserves .invalid): a read of it fails at once, offline.
NO_HOST = "ilots-no-such-host.invalid"


@pytest.fixture
def quick_http(monkeypatch):
    """GDAL's HTTP reads give up at once (no retry, short timeouts)."""
    for option, value in (("GDAL_HTTP_TIMEOUT", "2"), ("GDAL_HTTP_CONNECTTIMEOUT", "2"),
                          ("GDAL_HTTP_MAX_RETRY", "0")):  # fmt: skip
        monkeypatch.setenv(option, value)


def unreachable_item(source: Path, folder: Path) -> Path:
    """Copy the item JSON ``source`` into ``folder`` with its files' URLs on :data:`NO_HOST`.

    So that no test reads the network, even on a machine that has it.
    """
    data = json.loads(source.read_text(encoding="utf-8"))
    for asset in data["assets"].values():
        asset["href"] = re.sub(r"^https?://[^/]+/", f"http://{NO_HOST}/", asset["href"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / source.name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class ComputeForbidden(RuntimeError):
    """Raised by :func:`raise_if_dask_computes` when a graph is executed."""


@contextmanager
def raise_if_dask_computes():
    """Within the block, any dask compute raises :class:`ComputeForbidden`."""

    def scheduler(dsk, keys, **kwargs):
        raise ComputeForbidden("a dask graph was computed while only building it")

    with dask.config.set(scheduler=scheduler):
        yield


@pytest.fixture
def no_compute():
    """Fixture form of :func:`raise_if_dask_computes`."""
    with raise_if_dask_computes():
        yield


def pinned_weighted_quantile(x, w, q):
    """exactextract's weighted quantile (equal values merged), written as plainly as possible."""
    merged: dict[float, float] = {}
    for value, weight in zip(x.tolist(), w.tolist(), strict=True):
        merged[value] = merged.get(value, 0.0) + weight
    pairs = sorted(merged.items())
    n = len(pairs)
    s, cum = [], 0.0
    for k, (_, wk) in enumerate(pairs):
        s.append(0.0 if k == 0 else k * wk + (n - 1) * cum)
        cum += wk
    target = q * cum * (n - 1)
    right = next((k for k in range(n) if s[k] > target), n)
    if right == 0:
        return pairs[0][0]
    if right == n:
        return pairs[-1][0]
    left = right - 1
    x0, x1 = pairs[left][0], pairs[right][0]
    return x0 + (target - s[left]) * (x1 - x0) / (s[right] - s[left])


def overlap_lengths(target_edges, source_edges):
    """Overlap length of each target interval (rows) with each source interval (columns).

    Both given by their edges in order along one axis (ascending x, or descending y), as
    ``origin + step * arange(n + 1)``: the weights of exact area-weighted resampling, by hand.
    """
    import numpy as np

    t, s = (
        np.sort([target_edges[:-1], target_edges[1:]], 0),
        np.sort([source_edges[:-1], source_edges[1:]], 0),
    )
    overlap = np.minimum(t[1][:, None], s[1]) - np.maximum(t[0][:, None], s[0])
    return np.clip(overlap, 0, None)


@pytest.fixture
def file_size_limit():
    """Limit the size of the files this process writes, as a full disk would stop them:
    ``with file_size_limit(nbytes): ...``.

    Only within the ``with``: the limit holds for every file of the process, pytest's own
    output too (redirected to a log file larger than the limit, its report of the test
    would fail with EFBIG), so it is lifted before the test ends.
    """
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error (EFBIG), not a kill

    @contextmanager
    def limit(nbytes):
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


def damage_tile(href, col=1, row=1):
    """Overwrite tile (col, row) of a tiled GeoTIFF with 0xFF, its header left intact.

    The tile's place comes from the file's own TIFF tags; inside a GDAL ``/vsitar/`` path,
    from the member's place in the tar too.
    """
    import rasterio

    with rasterio.open(href) as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1))
        size = int(src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=1))
    path = href
    if href.startswith("/vsitar/"):
        path, member = href[len("/vsitar/") :].rsplit(".tar/", 1)
        path += ".tar"
        with tarfile.open(path) as tar:
            offset += tar.getmember(member).offset_data
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * size)


# --------------------------------------------------------------------------------------------
# Folders shared by the whole session (the demo's inputs and runs): written once, then only read
# --------------------------------------------------------------------------------------------

#: Each shared folder and the state of its files when it was made.
_SHARED: dict[Path, dict[str, tuple[int, int, int]]] = {}


def folder_state(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Size, modification time (ns) and mode of each file and folder under ``folder``."""
    state = {}
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(parent, name)
            st = path.lstat()
            state[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return state


def share(folder: Path) -> Path:
    """Record ``folder`` as shared by the session: from now on, no test may change it."""
    _SHARED[folder] = folder_state(folder)
    return folder


def changes(folder: Path) -> list[str]:
    """The files of shared ``folder`` added, removed or changed since :func:`share`."""
    before, after = _SHARED[folder], folder_state(folder)
    found = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            found.append(f"{name} (added)")
        elif name not in after:
            found.append(f"{name} (removed)")
        elif before[name] != after[name]:
            found.append(f"{name} (changed)")
    return found


@pytest.fixture(scope="module", autouse=True)
def _shared_folders_unchanged():
    """After each module, fail it if one of its tests changed a folder shared by the session
    (a test that writes must work on its own copy)."""
    yield
    for folder in list(_SHARED):
        if found := changes(folder):
            _SHARED[folder] = folder_state(folder)  # said once, by the module that did it
            pytest.fail(
                f"the shared folder {folder} was changed (copy it first): " + ", ".join(found[:10]),
                pytrace=False,
            )


@dataclass(frozen=True)
class DemoRun:
    """One ``ilots demo --out ROOT`` through the CLI: its folder and what it printed."""

    root: Path
    output: str  # all the command printed: its progress lines, then ``report``
    report: str  # the short report it ends with (``pipelines.demo.run_demo``'s return value)


@pytest.fixture(scope="session")
def demo_cli(tmp_path_factory) -> DemoRun:
    """``ilots demo`` run once for the session, end to end through the CLI (read only: a test
    that writes into the demo folder works on a copy of it)."""
    from click.testing import CliRunner

    import pipelines.demo
    from pipelines.cli import main

    root = tmp_path_factory.mktemp("demo")
    real, returned = pipelines.demo.run_demo, []

    def recording(out, echo=print, **kwargs):
        returned.append(real(out, echo=echo, **kwargs))
        return returned[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipelines.demo, "run_demo", recording)
        result = CliRunner().invoke(main, ["demo", "--out", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (report,) = returned
    return DemoRun(share(root), result.output, report)
