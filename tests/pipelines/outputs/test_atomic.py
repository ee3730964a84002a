"""Putting a file in place: never over a file that appeared meanwhile unless told; links.

A second command aimed at one ``--out`` is simulated by writing the target from inside the
write, after the command's up-front check passed.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio

from pipelines.outputs import _atomic
from pipelines.outputs._atomic import check_new, check_output, staged, write_text_atomic
from tests.pipelines.outputs.helpers import read_only
from tiles.errors import OutputError, OutputExistsError


def _refusal(path) -> str:
    """The up-front check's wording for ``path``, typed in."""
    return f"{path} exists; give --overwrite to replace it, or another --out"


def _refused_after_it_appeared(target) -> None:
    """Write ``target`` without ``overwrite``, another command's file appearing meanwhile:
    refused in the up-front check's words."""
    with pytest.raises(OutputExistsError) as raised:
        with staged(target, overwrite=False) as staging:
            staging.write_text("ours")
            target.write_text("the other command's")
    assert str(raised.value) == _refusal(target)


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    """Not ``overwrite``: the other command's file stays, the refusal is the up-front one's,
    and no temporary file is left."""
    target = tmp_path / "lst.tif"
    check_new([target])  # nothing there yet
    _refused_after_it_appeared(target)
    assert target.read_text() == "the other command's"
    assert os.listdir(tmp_path) == ["lst.tif"]


def test_a_new_file_is_put_in_place_whole(tmp_path):
    target = tmp_path / "r.json"
    assert write_text_atomic(target, "{}\n", overwrite=False) == target
    assert target.read_text() == "{}\n"
    assert os.stat(target).st_nlink == 1  # the temporary name is gone, not a second link
    assert os.listdir(tmp_path) == ["r.json"]


@pytest.mark.parametrize("code", [errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EACCES])
def test_without_hard_links_the_target_is_checked_then_replaced(tmp_path, monkeypatch, code):
    """A file system that makes no hard links (FAT: EPERM): the file is still put in place,
    and one found there when it is put in place still refused."""

    def no_links(source, target, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_atomic.os, "link", no_links)
    target = tmp_path / "stats.csv"
    write_text_atomic(target, "a\n1\n", overwrite=False)
    assert target.read_text() == "a\n1\n"
    other = tmp_path / "other.csv"
    _refused_after_it_appeared(other)
    assert other.read_text() == "the other command's"
    assert sorted(os.listdir(tmp_path)) == ["other.csv", "stats.csv"]


def test_another_link_error_is_not_taken_for_missing_hard_links(tmp_path, monkeypatch):
    """An error that says nothing of hard links (EIO) fails as it is; no replace is tried."""

    def broken(source, target, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_atomic.os, "link", broken)
    with pytest.raises(OSError, match="Input/output error"):
        write_text_atomic(tmp_path / "a.txt", "x", overwrite=False)
    assert os.listdir(tmp_path) == []


def test_a_link_that_reports_exists_for_its_own_file_is_put_in_place(tmp_path, monkeypatch):
    """NFS: a LINK retried after a lost reply finds the file it made and says EEXIST; that
    file is ours, put in place whole, not refused (and then lost with the temporary name)."""
    real_link = os.link

    def retried(source, target, **kwargs):
        real_link(source, target)
        raise FileExistsError(errno.EEXIST, "File exists")

    monkeypatch.setattr(_atomic.os, "link", retried)
    target = tmp_path / "stats.csv"
    write_text_atomic(target, "a\n1\n", overwrite=False)
    assert target.read_text() == "a\n1\n"
    assert os.stat(target).st_nlink == 1 and os.listdir(tmp_path) == ["stats.csv"]


def test_a_temporary_name_held_elsewhere_does_not_fail_a_file_in_place(
    tmp_path, monkeypatch, caplog
):
    """Windows: an antivirus holding the new file blocks removing its temporary name; the
    output is in place, so the write succeeds (the name is left, and logged once)."""
    real_unlink = os.unlink

    def held(path, *args, **kwargs):
        if ".tmp" in os.fspath(path) and os.path.exists(path):
            raise PermissionError(errno.EACCES, "The process cannot access the file")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(_atomic.os, "unlink", held)
    monkeypatch.setattr(os, "unlink", held)  # Path.unlink calls os.unlink
    target = tmp_path / "r.json"
    with caplog.at_level("WARNING", logger=_atomic.__name__):
        write_text_atomic(target, "{}\n", overwrite=False)
    assert target.read_text() == "{}\n"
    (left,) = [name for name in os.listdir(tmp_path) if name != "r.json"]
    assert [r.getMessage() for r in caplog.records] == [
        f"could not remove the temporary file {tmp_path / left}: The process cannot access the file"
    ]


def test_a_dangling_link_is_refused_up_front_and_when_put_in_place(tmp_path):
    """A link at --out naming no file is something there, as a file is."""
    link = tmp_path / "lst.tif"
    link.symlink_to(tmp_path / "gone" / "lst.tif")
    with pytest.raises(OutputExistsError) as raised:
        check_new([link])
    assert str(raised.value) == _refusal(link)
    with pytest.raises(OutputExistsError):
        write_text_atomic(link, "x", overwrite=False)
    assert link.is_symlink() and os.listdir(tmp_path) == ["lst.tif"]


def test_overwrite_writes_through_a_link(tmp_path):
    """--overwrite into a link: the file it names is replaced, the link kept (as GDAL writes
    through it); the temporary file was made beside that file, none is left."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "v3.csv").write_text("old")
    link = tmp_path / "stats.csv"
    link.symlink_to(store / "v3.csv")
    write_text_atomic(link, "new", overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(store / "v3.csv")
    assert (store / "v3.csv").read_text() == "new"
    assert os.listdir(store) == ["v3.csv"]
    assert sorted(os.listdir(tmp_path)) == ["stats.csv", "store"]


def _linked(tmp_path):
    """``out/lst.tif``, a link to last month's ``store/lst.tif``."""
    for folder in ("store", "out"):
        (tmp_path / folder).mkdir()
    (tmp_path / "store" / "lst.tif").write_bytes(b"last month")
    link = tmp_path / "out" / "lst.tif"
    link.symlink_to(tmp_path / "store" / "lst.tif")
    return link


def test_overwrite_through_a_link_checks_the_folder_of_the_file_it_names(tmp_path, monkeypatch):
    """--overwrite into a link to a file in a read-only folder: the temporary file would be
    made beside that file, so that is said up front (not after the work); the link's own
    folder, which takes a file, is not the question."""
    link = _linked(tmp_path)
    store = Path(os.path.realpath(tmp_path / "store"))
    read_only(monkeypatch, store)
    with pytest.raises(OutputError) as raised:
        check_output(link, overwrite=True)
    assert str(raised.value) == (
        f"--out {link}: cannot write in {store} (where the link {link} points) (Permission "
        "denied); choose a folder you can write to"
    )
    assert check_output(link, overwrite=False) == link  # the link itself: replaced in out/


def test_overwrite_through_a_link_needs_no_write_in_the_links_folder(tmp_path, monkeypatch):
    """A link in a read-only folder to a file in a writable one: written through with
    --overwrite, so not refused; without it the link's folder is refused, as any."""
    link = _linked(tmp_path)
    read_only(monkeypatch, link.parent)
    assert check_output(link, overwrite=True) == link
    write_text_atomic(link, "new", overwrite=True)
    assert (tmp_path / "store" / "lst.tif").read_text() == "new"
    assert os.listdir(link.parent) == ["lst.tif"] and link.is_symlink()  # staged in store/
    with pytest.raises(OutputError, match=f"cannot write in {link.parent} \\(Permission"):
        check_output(link, overwrite=False)


def test_a_run_folder_write_replaces_a_link_as_before(tmp_path):
    """``overwrite`` unsaid (a run folder's files): the link itself is replaced, as ever."""
    (tmp_path / "elsewhere.json").write_text("old")
    link = tmp_path / "manifest.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    write_text_atomic(link, "new")
    assert not link.is_symlink() and link.read_text() == "new"
    assert (tmp_path / "elsewhere.json").read_text() == "old"


def test_a_cog_that_appears_while_writing_is_not_replaced(tmp_path, monkeypatch):
    """write_product_raster (lst, indices) without --overwrite: the COG another command put
    at the target while this one encoded stays; no temporary file is left."""
    from pipelines.product import write_product_raster
    from tests.pipelines.outputs.helpers import cog_written_meanwhile, grid_array

    target = tmp_path / "lst.tif"
    cog_written_meanwhile(monkeypatch, target)
    data = grid_array(np.full((4, 4), 300.0, dtype="float32"))
    with pytest.raises(OutputExistsError) as raised:
        write_product_raster(data, target, overwrite=False)
    assert str(raised.value) == _refusal(target)
    assert target.read_bytes() == b"the other command's"
    assert os.listdir(tmp_path) == ["lst.tif"]


def test_a_cog_written_through_a_link_with_overwrite(tmp_path):
    """lst --overwrite into a link to last month's COG: the COG it names is the new one."""
    from pipelines.product import write_product_raster
    from tests.pipelines.outputs.helpers import grid_array

    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "lst_2024.tif"
    real.write_bytes(b"last month")
    link = tmp_path / "lst.tif"
    link.symlink_to(real)
    write_product_raster(grid_array(np.full((4, 4), 300.0)), link, overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    with rasterio.open(real) as src:
        np.testing.assert_array_equal(src.read(1), np.full((4, 4), 300.0, dtype="float32"))
    assert sorted(os.listdir(tmp_path / "store")) == ["lst_2024.tif"]
