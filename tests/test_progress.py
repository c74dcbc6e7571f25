"""The progress bar: on a terminal it shows the fraction, the time spent and left, and the
rate; elsewhere (logs, CI) there is none."""

from __future__ import annotations

import io
import time

from neurorack.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_fraction_the_time_left_and_the_rate():
    stream = Terminal()
    bar = progress_bar("rendering", stream)
    time.sleep(0.15)  # the bar redraws at most ten times a second
    bar(0.5)
    bar(2.0)  # clipped to done
    bar.close()
    text = stream.getvalue()
    assert "rendering" in text and " 50%" in text and "100%" in text
    assert " spent, " in text and " left, " in text and "%/s" in text
    assert text.endswith("\n")  # closed: the next line starts clean


def test_a_file_or_a_pipe_gets_no_bar():
    assert progress_bar("rendering", io.StringIO()) is None
