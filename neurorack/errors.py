"""Errors that carry a message a musician or builder can act on.

The command line prints these without a traceback; anything else is a bug.
"""


class NeurorackError(Exception):
    """A problem the user can fix: bad input, a missing device, a wrong setting."""
