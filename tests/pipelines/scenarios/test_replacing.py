"""The scenarios folder is replaced only once whole; a killed run's old folder comes back."""

from __future__ import annotations

import pytest

from pipelines.scenarios.pipeline import _replacing


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_whole_new_folder_replaces_the_old_one(tmp_path):
    path = tmp_path / "scenarios"
    path.mkdir()
    (path / "old.csv").write_text("old")
    with _replacing(path):
        assert not (path / "old.csv").exists()
        (path / "new.csv").write_text("new")
    assert _tree(tmp_path) == ["scenarios", "scenarios/new.csv"]


def test_a_failure_puts_the_old_folder_back(tmp_path):
    path = tmp_path / "scenarios"
    path.mkdir()
    (path / "old.csv").write_text("old")
    with pytest.raises(RuntimeError, match="scenario failed"), _replacing(path):
        (path / "half.csv").write_text("half")
        raise RuntimeError("scenario failed")
    assert _tree(tmp_path) == ["scenarios", "scenarios/old.csv"]
    with pytest.raises(KeyboardInterrupt), _replacing(tmp_path / "none-before"):
        raise KeyboardInterrupt
    assert not (tmp_path / "none-before").exists()


def test_the_old_folder_a_killed_run_left_aside_comes_back_first(tmp_path):
    """Killed while it wrote: scenarios/ is half written, the whole one waits aside."""
    path = tmp_path / "scenarios"
    path.mkdir()
    (path / "half.csv").write_text("half")
    aside = tmp_path / ".scenarios-previous"
    aside.mkdir()
    (aside / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), _replacing(path):
        raise RuntimeError("fails again")
    assert _tree(tmp_path) == ["scenarios", "scenarios/old.csv"]
    with _replacing(path):
        (path / "new.csv").write_text("new")
    assert _tree(tmp_path) == ["scenarios", "scenarios/new.csv"]
