import argparse

import pytest

from neurorack.argtypes import group_floor


def test_group_floor_reads_a_name_and_a_count():
    assert group_floor("gru=40") == ("gru", 40)
    assert group_floor(" atoms =4") == ("atoms", 4)


@pytest.mark.parametrize("text, expected", [("gru", "GROUP=N"), ("=4", "GROUP=N"), ("gru=0", "at least 1"),
                                            ("gru=many", "whole number")])
def test_group_floor_says_what_was_expected(text, expected):
    with pytest.raises(argparse.ArgumentTypeError, match=expected):
        group_floor(text)


def test_the_command_line_is_written_as_typed_quoted_where_needed():
    import argparse

    from neurorack.argtypes import command_line

    args = argparse.Namespace(argv=["train", "my kit/", "--out", "runs/a"])
    assert command_line(args) == "neurorack train 'my kit/' --out runs/a"
