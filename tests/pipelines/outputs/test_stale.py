"""The previous run's outputs a run removes, and what it never removes (its inputs)."""

import json
import os
from pathlib import Path

from pipelines.outputs.folder import RunFolder
from pipelines.outputs.stale import folder_clock, previous_outputs, remove_stale_outputs


def _previous_run(root: Path, files: list[str]) -> RunFolder:
    """A run folder whose manifest lists ``files`` (written an hour ago) as outputs."""
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("old")
        os.utime(root / name, (0, 3600.0))
    manifest = {
        "config": {"outputs": {"folder": str(root)}},
        "outputs": [{"path": name, "kind": "file"} for name in files],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return RunFolder(root)


def test_stale_outputs_go_and_inputs_listed_as_outputs_stay(tmp_path):
    # An earlier ilots listed every file of the folder, inputs kept there included: an input
    # file, and a file in an input folder, stay; an output the run no longer makes goes.
    listed = ["zones/iris.csv", "inputs/filosofi.csv", "products/scene/B10.TIF"]
    folder = _previous_run(tmp_path, listed)
    inputs = [(tmp_path / "inputs" / "filosofi.csv").resolve(), (tmp_path / "products").resolve()]
    remove_stale_outputs(folder, previous_outputs(folder), since=7200.0, inputs=inputs)
    assert not (tmp_path / "zones").exists()
    assert (tmp_path / "inputs" / "filosofi.csv").read_text() == "old"
    assert (tmp_path / "products" / "scene" / "B10.TIF").read_text() == "old"


def test_a_file_written_after_the_folder_clock_is_not_older(tmp_path):
    since = folder_clock(tmp_path)
    (tmp_path / "written.txt").write_text("new")
    assert (tmp_path / "written.txt").stat().st_mtime >= since
    assert list(tmp_path.iterdir()) == [tmp_path / "written.txt"]  # the probe is gone
