"""A development version's source digest, which keys a tiled run's checkpoints with its version."""

from __future__ import annotations

import hashlib
import json
import shutil
from types import SimpleNamespace

import pytest
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from pipelines import run_plan, run_tiles
from pipelines.config import load_config
from pipelines.outputs import _atomic
from tiles.errors import IlotsWarning


def _package(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_source_digest_hashes_the_paths_and_bytes_of_the_packages_python_files(tmp_path):
    files = {"kernels/__init__.py": "", "kernels/lst.py": "K = 1\n", "other/x.py": "skip\n"}
    root = _package(tmp_path / "a", {**files, "kernels/notes.txt": "not code"})
    # Independent oracle: length-prefixed relative path and bytes, in path order.
    expected = hashlib.sha256()
    for name in ("kernels/__init__.py", "kernels/lst.py"):
        for part in (name.encode(), files[name].encode()):
            expected.update(len(part).to_bytes(8, "little") + part)
    assert _atomic.source_digest(root, ["kernels"]) == expected.hexdigest()
    copy = shutil.copytree(root, tmp_path / "b")  # elsewhere: the same source
    assert _atomic.source_digest(copy, ["kernels"]) == expected.hexdigest()
    (copy / "kernels" / "lst.py").write_text("K = 2\n")  # a pulled fix: one byte
    assert _atomic.source_digest(copy, ["kernels"]) != expected.hexdigest()
    (copy / "kernels" / "lst.py").write_text("K = 1\n")
    (copy / "kernels" / "lst.py").rename(copy / "kernels" / "lst2.py")
    assert _atomic.source_digest(copy, ["kernels"]) != expected.hexdigest()


@pytest.mark.parametrize(
    ("installed", "editable", "with_source"),
    [("0.1.0.dev0", False, True), ("1.2.0", True, True), ("1.2.0", False, False)],
)
def test_only_a_development_version_has_a_source_digest(
    monkeypatch, installed, editable, with_source
):
    direct_url = json.dumps({"dir_info": {"editable": editable}})
    monkeypatch.setattr(_atomic, "version", lambda name: installed)
    monkeypatch.setattr(
        _atomic, "distribution", lambda name: SimpleNamespace(read_text=lambda f: direct_url)
    )
    monkeypatch.setattr(_atomic, "_installed_source_digest", lambda: "digest")
    assert _atomic.ilots_source() == ("digest" if with_source else None)


def _fingerprint(folder):
    config = load_config(folder / "config.yaml")
    grid = GeoBox((400, 400), from_origin(600_000.0, 5_400_000.0, 30.0, 30.0), "EPSG:2154")
    return run_plan.run_fingerprint(config, grid, SimpleNamespace(items=[]), 150)


def test_a_changed_source_discards_the_checkpoints_saying_so(demo_folder, tmp_path, monkeypatch):
    """Same (development) version, other code: the tiles are computed anew, and said why."""
    monkeypatch.setattr(run_plan, "ilots_version", lambda: "0.1.0.dev0")
    monkeypatch.setattr(run_plan, "ilots_source", lambda: "before the fix")
    first = _fingerprint(demo_folder)
    grid = GeoBox((400, 400), from_origin(600_000.0, 5_400_000.0, 30.0, 30.0), "EPSG:2154")
    tile = run_tiles.tiles_of(grid, 150)[0]
    run_tiles.checkpoints(tmp_path, first, 150).save("inputs", tile, None)
    monkeypatch.setattr(run_plan, "ilots_source", lambda: "after the fix")
    later = _fingerprint(demo_folder)
    assert later != first
    with pytest.warns(IlotsWarning) as caught:
        store = run_tiles.checkpoints(tmp_path, later, 150)
    assert [w.message.code for w in caught] == ["discarded_checkpoints"]
    assert "(made with another ilots source)" in str(caught[0].message)
    assert not store.done("inputs", tile)


def test_a_release_is_fingerprinted_by_its_version_alone(demo_folder, monkeypatch):
    monkeypatch.setattr(run_plan, "ilots_source", lambda: None)
    fingerprint = _fingerprint(demo_folder)
    assert "ilots_source" not in fingerprint and "ilots" in fingerprint
