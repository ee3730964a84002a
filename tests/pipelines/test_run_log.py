"""The run folder's log (``ilots.log``) as :class:`pipelines.run_log.RunLog` writes it."""

import logging
import re

from pipelines.outputs.folder import claimed, watching_claims
from pipelines.run_log import MAX_BYTES, RunLog
from tiles.errors import WarningText

_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def _record(name, level, message):
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_records_are_held_until_a_run_claims_its_folder(tmp_path):
    log = RunLog()
    log.note("START", "ilots run config.yaml")
    log.emit(_record("pipelines.progress", logging.INFO, "reading the inputs ..."))
    assert not (tmp_path / "ilots.log").exists()
    with watching_claims(log.claim):
        claimed(tmp_path)
        claimed(tmp_path)  # again (each output a run writes first): once
    log.warning(WarningText("1 invalid zone geometries were repaired", "zone_geometry_repaired"))
    log.warning("1 invalid zone geometries were repaired")  # said again at the end: once
    log.warning("no income column: inequality statistics skipped")
    log.close()
    lines = (tmp_path / "ilots.log").read_text(encoding="utf-8").splitlines()
    assert [re.sub(_TIME, "T", line) for line in lines] == [
        "T START ilots run config.yaml",
        "T INFO pipelines.progress: reading the inputs ...",
        "T WARNING IlotsWarning[zone_geometry_repaired]: 1 invalid zone geometries were repaired",
        "T WARNING IlotsWarning: no income column: inequality statistics skipped",
    ]


def test_a_traceback_follows_its_record_indented(tmp_path):
    log = RunLog()
    log.claim(tmp_path)
    try:
        raise ValueError("boom")
    except ValueError as err:
        log.error("ValueError: boom", err)
    log.close()
    lines = (tmp_path / "ilots.log").read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(f"{_TIME} ERROR ValueError: boom", lines[0])
    assert lines[1] == "  Traceback (most recent call last):"
    assert lines[-1] == "  ValueError: boom"
    assert all(line.startswith("  ") for line in lines[1:])


def test_a_log_past_5_mb_is_moved_to_ilots_log_1_before_appending(tmp_path):
    big = "x" * 99 + "\n"
    (tmp_path / "ilots.log").write_text(big * (MAX_BYTES // 100) + "y\n")  # 5 MB + 2 bytes
    (tmp_path / "ilots.log.1").write_text("older\n")
    log = RunLog()
    log.note("START", "ilots run config.yaml")
    log.claim(tmp_path)
    log.close()
    assert (tmp_path / "ilots.log.1").stat().st_size == MAX_BYTES + 2  # the older one replaced
    (line,) = (tmp_path / "ilots.log").read_text().splitlines()
    assert line.endswith(" START ilots run config.yaml")


def test_a_log_of_5_mb_is_appended_to(tmp_path):
    (tmp_path / "ilots.log").write_text("x" * MAX_BYTES)
    log = RunLog()
    log.claim(tmp_path)
    log.note("END", "finished")
    log.close()
    assert not (tmp_path / "ilots.log.1").exists()
    assert (tmp_path / "ilots.log").read_text().startswith("x" * MAX_BYTES)


def test_a_log_passing_5_mb_during_a_command_is_moved_before_the_next_record(tmp_path):
    log = RunLog()
    log.claim(tmp_path)
    log.note("INFO", "a" * MAX_BYTES)  # now past 5 MB
    log.note("END", "finished")
    log.close()
    assert (tmp_path / "ilots.log.1").read_text().count("\n") == 1
    (line,) = (tmp_path / "ilots.log").read_text().splitlines()
    assert line.endswith(" END finished")


def test_a_libraries_warning_is_logged_under_its_category(tmp_path):
    log = RunLog()
    log.claim(tmp_path)
    log.warning("invalid value encountered in divide", "RuntimeWarning")
    log.warning(WarningText("3 zones repaired", "zone_geometry_repaired"))
    log.close()
    lines = (tmp_path / "ilots.log").read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "RuntimeWarning: invalid value encountered in divide",
        "IlotsWarning[zone_geometry_repaired]: 3 zones repaired",
    ]
