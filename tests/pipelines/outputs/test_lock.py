"""One process at a time in a run folder; what a killed one left is swept."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import uuid

import pytest

from pipelines.outputs.lock import (
    LOCK_NAME,
    JobHold,
    file_lock,
    folder_lock,
    lock_holder,
    read_lock,
    sweep_temporaries,
)
from tests.holders import held_elsewhere
from tiles.errors import OutputError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: no lock on Windows")


@pytest.fixture
def held(tmp_path):
    """A run folder held by another process (killed at the end, which frees it)."""
    folder = tmp_path / "run"
    with held_elsewhere(folder) as other:
        yield folder, other


def test_a_second_process_is_refused_with_the_first_named(held):
    folder, other = held
    said = rf"run is in use by another ilots command \(pid {other.pid} on .*: a run, scenarios or "
    said += r"a comparison\); wait for it to end"
    with pytest.raises(OutputError, match=said), folder_lock(folder):
        pass


def test_a_lock_file_naming_two_holders_gives_a_one_line_message(held):
    """Two readers taking the shared lock together may each write their name (truncate,
    truncate, write, write): the refusal named both on two lines; it names the last."""
    folder, other = held
    with open(folder / ".ilots.lock", "w", encoding="utf-8") as names:
        names.write(f"pid 1 on elsewhere\npid {other.pid} on here\n")
    with pytest.raises(OutputError) as refused, folder_lock(folder):
        pass
    assert "\n" not in str(refused.value)
    assert f"(pid {other.pid} on here: a run" in str(refused.value)


def test_the_lock_goes_with_its_process_however_it_ends(held):
    folder, other = held
    other.kill()  # kill -9: no cleanup ran
    other.wait()
    with folder_lock(folder):
        assert (folder / LOCK_NAME).read_text().startswith("pid ")


def test_the_lock_is_reentrant_in_a_process_and_leaves_no_folder_it_made(tmp_path):
    folder = tmp_path / "new" / "run"
    with folder_lock(folder):
        with folder_lock(folder):  # ilots scenarios running the pipeline
            assert folder.is_dir()
    assert not (tmp_path / "new").exists()  # nothing written but the lock: removed
    with folder_lock(folder):
        (folder / "manifest.json").write_text("{}")
    assert (folder / "manifest.json").is_file()


def test_the_lock_goes_with_the_last_holder_whichever_it_is(tmp_path):
    """Holds that end in another order than they began: the folder stays locked until the
    last one ends (the first one's end released it, the lock file closed with its frame)."""
    folder = tmp_path / "run"
    me = f"pid {os.getpid()} on {socket.gethostname()}"
    first, second = contextlib.ExitStack(), contextlib.ExitStack()
    first.enter_context(folder_lock(folder))
    second.enter_context(folder_lock(folder))
    first.close()
    assert lock_holder(folder) == me
    second.close()
    assert lock_holder(folder) is None


def test_readers_share_a_folder_no_writer_gets_in_meanwhile(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    me = f"pid {os.getpid()} on {socket.gethostname()}"
    try_lock = textwrap.dedent(
        """
        import sys
        from pipelines.outputs.lock import folder_lock, read_lock
        from tiles.errors import OutputError
        try:
            with {"write": folder_lock, "read": read_lock}[sys.argv[1]](sys.argv[2]):
                print("held")
        except OutputError as err:
            print(err)
        """
    )

    def other(how):
        done = subprocess.run([sys.executable, "-c", try_lock, how, str(folder)],
                              capture_output=True, text=True, check=True)  # fmt: skip
        return done.stdout.strip()

    with read_lock(folder), read_lock(folder):  # re-entrant: the same folder given twice
        assert other("write") == (
            f"{folder} is in use by another ilots command ({me}: a run, scenarios or a "
            "comparison); wait for it to end, or choose another --out"
        )
        assert other("read") == "held"
        assert lock_holder(folder) is None  # read, not written: no run writes it
        with pytest.raises(OutputError, match="is being read by ilots compare in this process"):
            folder_lock(folder).__enter__()
    assert other("write") == "held"
    with folder_lock(folder):
        assert other("read").startswith(f"{folder} is being written by another ilots command (")
        with pytest.raises(OutputError, match="is being written by this process"):
            read_lock(folder).__enter__()


def test_a_folder_not_there_is_read_unheld_and_not_made(tmp_path):
    with read_lock(tmp_path / "none"):
        assert not (tmp_path / "none").exists()


def test_a_reader_waits_for_the_job_of_its_process_still_writing(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    hold = JobHold(folder)  # an interrupted run's COG still being encoded
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        job = pool.submit(hold.run, lambda: (folder / "lst.tif").write_text("x"))
        with read_lock(folder):
            assert job.done() and (folder / "lst.tif").is_file()


@pytest.mark.parametrize("end", ["finished", "failed", "dropped"])
def test_a_job_holds_the_folder_until_it_is_done(tmp_path, end):
    """An interrupted run hands the folder to the COG job still writing there."""
    folder = tmp_path / "run"
    me = f"pid {os.getpid()} on {socket.gethostname()}"
    with folder_lock(folder):
        hold = JobHold(folder)
        (folder / "manifest.json").write_text("{}")
    assert lock_holder(folder) == me

    def job(fails: bool) -> str:
        assert lock_holder(folder) == me  # held while it runs
        if fails:
            raise OSError(28, "No space left on device")
        return "written"

    if end == "finished":
        assert hold.run(job, False) == "written"
    elif end == "failed":
        with pytest.raises(OSError):
            hold.run(job, True)
    else:
        hold.drop()
    assert lock_holder(folder) is None and hold.ended.done()


def test_a_hold_interrupted_before_it_is_registered_lets_go(tmp_path, monkeypatch):
    """Ctrl-C between taking the folder's lock and registering the job: no job is queued,
    so nothing may keep the folder held (before, the lock stayed taken until the ExitStack
    was collected)."""
    import pipelines.outputs.lock as lock

    folder = tmp_path / "run"
    real = lock._held_lock

    class InterruptedOnce:
        """The module's lock, whose second taking (the registration) is interrupted."""

        taken = 0

        def __enter__(self):
            InterruptedOnce.taken += 1
            if InterruptedOnce.taken == 2:
                raise KeyboardInterrupt
            return real.__enter__()

        def __exit__(self, *exc):
            return real.__exit__(*exc)

    monkeypatch.setattr(lock, "_held_lock", InterruptedOnce())
    with pytest.raises(KeyboardInterrupt) as caught:
        JobHold(folder)
    assert InterruptedOnce.taken >= 2
    # The traceback (its frames, the JobHold) is still referenced: nothing was collected.
    assert caught.traceback and lock_holder(folder) is None
    assert not lock._held


def test_a_job_whose_hold_was_dropped_does_not_run(tmp_path):
    """Cancelled before it started (or never queued), a job must not write unheld."""
    folder, ran = tmp_path / "run", []
    hold = JobHold(folder)
    hold.drop()
    hold.drop()  # once only
    with pytest.raises(concurrent.futures.CancelledError):
        hold.run(ran.append, 1)
    assert ran == [] and lock_holder(folder) is None


def test_a_running_job_keeps_its_hold_when_dropped(tmp_path):
    folder = tmp_path / "run"
    hold = JobHold(folder)

    def job() -> None:
        hold.drop()  # the run stopped while the job was encoding
        assert lock_holder(folder) is not None

    hold.run(job)
    assert lock_holder(folder) is None


def test_a_run_in_the_same_process_waits_for_the_job_still_writing(tmp_path):
    """In a process that goes on after an interrupted run (a notebook), the folder lock does
    not stop the next run there (the process holds it): the run waits for the COG job."""
    import threading

    from pipelines.outputs.lock import wait_for_jobs

    folder = tmp_path / "run"
    with folder_lock(folder):
        hold = JobHold(folder)
    waited = threading.Thread(target=wait_for_jobs, args=(folder,))
    waited.start()
    waited.join(0.5)
    assert waited.is_alive()  # still waiting for the job
    hold.run(lambda: None)
    waited.join(30)
    assert not waited.is_alive() and lock_holder(folder) is None
    wait_for_jobs(folder)  # nothing left: returns at once
    wait_for_jobs(tmp_path / "never held")


def test_the_runs_temporary_names_are_swept_and_nothing_else(tmp_path):
    hex32 = uuid.uuid4().hex
    temporary = [
        f".report.{hex32}.tmp.html",  # staged()
        f".zones.{hex32}.tmp.gpkg",
        f"rasters/.lst_median.tif.{hex32}.tmp",  # raster.cog
        f"rasters/.ndvi_median.tif.{hex32}.scratch.tif",
        ".config.yaml.k2_x9q0a.tmp",  # dump_config's mkstemp
        f"scenarios/green/.delta_lst.tif.{hex32}.tmp",
    ]
    kept = [
        ".ilots.lock",
        ".manifest.previous.json",  # a replaced run's, set aside by a run that stopped
        ".notes.txt",
        "data.tmp",
        "rasters/lst_median.tif",
        f".checkpoints/.tile_000.{hex32}.tmp.npy",  # the checkpoints keep their own
    ]
    for name in temporary + kept:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    removed = sweep_temporaries(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == sorted(temporary)
    assert all((tmp_path / name).is_file() for name in kept)


def test_sweep_removes_the_checkpoints_a_killed_run_was_removing(tmp_path):
    """A finished run's checkpoints are renamed before they are removed: killed meanwhile,
    it leaves them under that name, which the next run sweeps away whole."""
    doomed = tmp_path / f".checkpoints.{'c' * 32}.tmp"
    for name in ("inputs.tile_000_000.pkl", "fingerprint.json", f".x.npy.{'d' * 32}.tmp"):
        (doomed / name).parent.mkdir(parents=True, exist_ok=True)
        (doomed / name).write_text("x")
    (tmp_path / ".checkpoints").mkdir()
    (tmp_path / ".checkpoints" / "inputs.tile_000_000.pkl").write_text("x")
    assert sweep_temporaries(tmp_path) == [doomed]
    assert not doomed.exists()
    assert (tmp_path / ".checkpoints" / "inputs.tile_000_000.pkl").is_file()  # a resumable run's


def test_a_file_system_without_locks_runs_unlocked(tmp_path, monkeypatch):
    # Some network mounts answer flock with ENOLCK: that is no other run holding the folder.
    import errno

    from pipelines.outputs import lock

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock.fcntl, "flock", no_locks)
    with folder_lock(tmp_path / "run"):
        (tmp_path / "run" / "manifest.json").write_text("{}")


def _refusal(path) -> str:
    return (
        f"{os.path.realpath(path)} is being written by another ilots command (pid {os.getpid()} "
        f"on {socket.gethostname()}); wait for it to end, then run this one again"
    )


def _refused_both_ways(path, said: str) -> None:
    """Assert that a command is refused ``path`` with ``said``, at the end of its work
    (file_lock) and before it (check_file_free)."""
    from pipelines.outputs.lock import check_file_free

    with pytest.raises(OutputError) as refused, file_lock(path):
        pass
    assert str(refused.value) == said
    with pytest.raises(OutputError) as before:
        check_file_free(path)
    assert str(before.value) == said


def test_a_file_held_by_another_command_is_refused_whatever_path_names_it(tmp_path):
    """file_lock of city.gpkg, held: a second hold (another open: another command), through
    a link to it too, is refused naming the holder, and so is the check before the work;
    let go, no lock file is left and the next hold takes it."""
    from pipelines.outputs.lock import check_file_free

    gpkg = tmp_path / "city.gpkg"
    link = tmp_path / "stats.gpkg"
    link.symlink_to(gpkg)
    check_file_free(link)  # no lock file: free, and none made
    assert os.listdir(tmp_path) == ["stats.gpkg"]
    with file_lock(gpkg):
        for path in (gpkg, link):
            _refused_both_ways(path, _refusal(gpkg))
    assert os.listdir(tmp_path) == ["stats.gpkg"]
    (tmp_path / ".city.gpkg.lock").write_text("pid 7 on their-host\n")  # left, not held
    check_file_free(gpkg)
    (tmp_path / ".city.gpkg.lock").unlink()
    with file_lock(link):
        assert (tmp_path / ".city.gpkg.lock").read_text() == (
            f"pid {os.getpid()} on {socket.gethostname()}\n"
        )
    assert os.listdir(tmp_path) == ["stats.gpkg"]


def test_a_file_lock_taken_as_its_holder_removed_it_takes_the_new_one(tmp_path, monkeypatch):
    """A hold that locks the lock file just as its last holder removed it holds a file no
    one else opens: it takes the one at the name instead, so a third hold is still refused."""
    from pipelines.outputs import lock

    gpkg = tmp_path / "city.gpkg"
    flock, calls = lock.fcntl.flock, []

    def removed_first(handle, operation):
        calls.append(operation)
        if len(calls) == 1:  # the last holder lets go: removes the file, then unlocks it
            (tmp_path / ".city.gpkg.lock").unlink()
        return flock(handle, operation)

    monkeypatch.setattr(lock.fcntl, "flock", removed_first)
    with file_lock(gpkg):
        with pytest.raises(OutputError) as refused, file_lock(gpkg):
            pass
        assert str(refused.value) == _refusal(gpkg)
        tries = len(lock._RETRY_PAUSES) + 1  # the refused hold's, past a probe's instant
        assert len(calls) == 2 + tries and (tmp_path / ".city.gpkg.lock").is_file()


def _read_only_lock_files(monkeypatch) -> None:
    """Lock files open read-only from now on, as another user's are (EACCES, simulated:
    tests run as root)."""
    import builtins

    from pipelines.outputs import lock as lock_module

    real_open = builtins.open

    def theirs(path, mode="r", *args, **kwargs):
        if os.fspath(path).endswith(".lock") and mode != "r":
            raise PermissionError(13, "Permission denied")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(lock_module, "open", theirs, raising=False)


def _ended_pid() -> int:
    """The pid of a child process that has ended (reaped: no process has it now)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_another_users_lock_file_still_locks(tmp_path, monkeypatch):
    """A shared folder: the lock file another user's run made cannot be opened to write; it
    is locked read-only all the same, so a second command is refused while the first holds
    it, and that user's line is kept: a process of another host, which cannot be checked, is
    named."""
    (tmp_path / LOCK_NAME).write_text("pid 7 on their-host\n")
    _read_only_lock_files(monkeypatch)
    with folder_lock(tmp_path):
        assert lock_holder(tmp_path) == "pid 7 on their-host"
    assert (tmp_path / LOCK_NAME).read_text() == "pid 7 on their-host\n"


def _stale(lock, pid) -> str:
    """How a refusal says the holder of ``lock``, whose last line names the ended ``pid``."""
    return (
        f"a process holding the lock file {lock}, whose last line names pid {pid} on "
        f"{socket.gethostname()}, not running as seen from here (ended, or another "
        "container's)"
    )


def test_a_holder_that_cannot_write_its_line_is_not_named_by_the_stale_one(tmp_path, monkeypatch):
    """Alice's ended command left its line in her lock file; bob holds it read-only (his
    line not written) and carol, read-only too, or alice, who can write, probes it: the
    refusal, at the end of the work or before it, says a process holds the lock file and
    that its last line is stale, never naming alice's ended process (nor alice)."""

    gpkg = tmp_path / "city.gpkg"
    lock = tmp_path / ".city.gpkg.lock"
    pid = _ended_pid()
    lock.write_text(f"pid {pid} on {socket.gethostname()}\n")
    said = (
        f"{gpkg} is being written by another ilots command ({_stale(lock, pid)}); wait for it "
        "to end, then run this one again"
    )
    with monkeypatch.context() as bob:
        _read_only_lock_files(bob)
        hold = file_lock(gpkg)
        hold.__enter__()  # bob's hold: read-only, so alice's line stays
    try:
        assert lock.read_text() == f"pid {pid} on {socket.gethostname()}\n"
        for prober in ("alice", "carol"):
            with monkeypatch.context() as probe:
                if prober == "carol":
                    _read_only_lock_files(probe)
                _refused_both_ways(gpkg, said)
    finally:
        hold.__exit__(None, None, None)


def test_a_holder_that_wrote_its_line_is_named_to_a_read_only_prober(tmp_path, monkeypatch):
    """Alice holds her lock file and wrote her line; bob, who can only read it, is told her
    pid, alive, at the end of the work and before it (not just "alice's lock file")."""

    gpkg = tmp_path / "city.gpkg"
    with file_lock(gpkg):  # alice's hold: this process, alive
        _read_only_lock_files(monkeypatch)
        _refused_both_ways(gpkg, _refusal(gpkg))


@pytest.mark.parametrize("whose", ["ended", "this", "another user's", "another host's"])
def test_a_stale_line_is_told_from_the_process_it_names(tmp_path, monkeypatch, whose):
    """A folder held by a command that could not write its line: the line left names an
    ended process of this host (stale: said so), or one that is there (this one; another
    user's, which may not be signalled: EPERM), or a process of another host, which cannot
    be checked: the last three are named."""
    ended = _ended_pid()
    others = 4_000_000  # no process: its signal is refused, as another user's would be
    real_kill = os.kill

    def kill(pid, signal):
        if pid == others:
            raise PermissionError(1, "Operation not permitted")
        return real_kill(pid, signal)

    monkeypatch.setattr(os, "kill", kill)
    host = socket.gethostname()
    line = {
        "ended": f"pid {ended} on {host}",
        "this": f"pid {os.getpid()} on {host}",
        "another user's": f"pid {others} on {host}",
        "another host's": f"pid {ended} on not-{host}",
    }[whose]
    (tmp_path / LOCK_NAME).write_text(f"pid 1 on {host}\n{line}\n")
    _read_only_lock_files(monkeypatch)
    with folder_lock(tmp_path):
        named = lock_holder(tmp_path)
    assert named == (_stale(tmp_path / LOCK_NAME, ended) if whose == "ended" else line)


def test_a_file_lock_taken_as_a_probe_holds_it_is_not_refused(tmp_path, monkeypatch):
    """A probe (check_file_free, lock_holder) holds the lock file shared for an instant: a
    hold taken then, refused once (simulated), tries again and holds the file."""
    from pipelines.outputs import lock

    flock, calls = lock.fcntl.flock, []

    def probed_first(handle, operation):
        calls.append(operation)
        if len(calls) == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return flock(handle, operation)

    monkeypatch.setattr(lock.fcntl, "flock", probed_first)
    with file_lock(tmp_path / "city.gpkg"):
        assert (tmp_path / ".city.gpkg.lock").read_text() == (
            f"pid {os.getpid()} on {socket.gethostname()}\n"
        )
    assert len(calls) == 2


def test_a_probe_of_a_lock_file_made_anew_as_it_probed_probes_the_new_one(tmp_path, monkeypatch):
    """check_file_free opens the lock file its last holder is letting go of; meanwhile that
    holder removes it and another command makes it anew and holds it: the probe, which
    locked the removed one, probes the new one and refuses, naming its holder."""
    from pipelines.outputs import lock
    from pipelines.outputs.lock import check_file_free

    gpkg = tmp_path / "city.gpkg"
    path = tmp_path / ".city.gpkg.lock"
    path.write_text("pid 7 on their-host\n")  # its last holder's, letting go
    flock, held = lock.fcntl.flock, []

    def made_anew_first(handle, operation):
        if not held:  # the holder removes it; another command makes it anew and holds it
            path.unlink()
            held.append(open(path, "w", encoding="utf-8"))  # closed below
            held[0].write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            held[0].flush()
            flock(held[0], lock.fcntl.LOCK_EX)
        return flock(handle, operation)

    monkeypatch.setattr(lock.fcntl, "flock", made_anew_first)
    try:
        with pytest.raises(OutputError) as refused:
            check_file_free(gpkg)
        assert str(refused.value) == _refusal(gpkg)
    finally:
        held[0].close()


#: Seconds a thread waits for an event that a correct lock sets at once: a bound on a hang
#: (the event never comes when the lock is wrong), not a limit on how fast anything runs.
HANG_GUARD_S = 20.0


def test_a_pause_between_tries_keeps_no_other_thread_waiting(tmp_path, monkeypatch):
    """A folder held elsewhere (another open of its lock file, as another process holds it)
    is tried again after a pause; meanwhile a second thread of this process (a job's hold)
    holds another folder at once, not after that pause. The holder lets go during the
    pause: the first thread holds the folder at its next try, one pause in all."""
    import fcntl
    import threading
    import types

    from pipelines.outputs import lock

    busy, free = tmp_path / "busy", tmp_path / "free"
    busy.mkdir()
    elsewhere = open(busy / LOCK_NAME, "a+", encoding="utf-8")
    fcntl.flock(elsewhere, fcntl.LOCK_EX)
    paused, second_held = threading.Event(), threading.Event()
    slept, held_meanwhile, first_held = [], [], []

    def pause(seconds):
        slept.append(seconds)
        paused.set()
        held_meanwhile.append(second_held.wait(HANG_GUARD_S))
        elsewhere.close()  # let go: the next try holds it

    def hold_busy():
        with folder_lock(busy):
            first_held.append(lock_holder(busy))

    monkeypatch.setattr(lock, "time", types.SimpleNamespace(sleep=pause))
    first = threading.Thread(target=hold_busy)
    first.start()
    try:
        assert paused.wait(HANG_GUARD_S)
        with folder_lock(free):
            second_held.set()
    finally:
        second_held.set()
        first.join()
        elsewhere.close()  # if the pause never came
    assert held_meanwhile == [True]
    assert len(slept) == 1 and first_held == [f"pid {os.getpid()} on {socket.gethostname()}"]
