"""Log lines in a terminal and in systemd's journal."""

from __future__ import annotations

import logging
import os

import pytest

from neurorack.logging_setup import setup_logging, stream_is_journal, syslog_priority


@pytest.fixture
def log_file(tmp_path):
    with open(tmp_path / "stderr", "w+") as stream:
        yield stream
    logging.getLogger().handlers[:] = []


def _journal_id(stream) -> str:
    status = os.fstat(stream.fileno())
    return f"{status.st_dev}:{status.st_ino}"


def test_under_the_journal_lines_carry_a_priority_and_no_time(log_file, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", _journal_id(log_file))
    setup_logging("debug", log_file)
    logging.getLogger("neurorack.test").warning("audio stalled")
    logging.getLogger("neurorack.test").debug("detail")
    log_file.seek(0)
    assert log_file.read() == "<4>neurorack.test: audio stalled\n<7>neurorack.test: detail\n"


def test_every_line_of_a_traceback_keeps_the_error_priority(log_file, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", _journal_id(log_file))
    setup_logging("info", log_file)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("neurorack.test").exception("voice failed")
    log_file.seek(0)
    lines = log_file.read().splitlines()
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines)


def test_a_journal_stream_for_another_file_is_not_trusted(log_file, monkeypatch, tmp_path):
    with open(tmp_path / "other", "w") as other:
        monkeypatch.setenv("JOURNAL_STREAM", _journal_id(other))
    setup_logging("info", log_file)
    logging.getLogger("neurorack.test").info("hello")
    log_file.seek(0)
    line = log_file.read()
    assert not line.startswith("<") and "INFO    neurorack.test: hello" in line and line[2] == ":"


def test_a_service_without_journal_stream_still_drops_the_time(log_file):
    assert stream_is_journal(log_file, {"INVOCATION_ID": "abc"})
    assert not stream_is_journal(log_file, {})


@pytest.mark.parametrize("level, priority", [(logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
                                             (logging.INFO, 6), (logging.DEBUG, 7)])
def test_syslog_priorities(level, priority):
    assert syslog_priority(level) == priority
