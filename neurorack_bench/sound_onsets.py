"""Gate-to-sound latency: each gate's sound found in the engine's output, not where the engine
placed its onset.

The engine keeps what it rendered (``OutputRecorder``). For each gate edge the search starts at
the block the callback was playing when the edge came: everything there and before was
rendered before the edge was known, so the edge's sound starts later. What rings in the 25 ms
before that start (a tail, with its lowest partials' whole period) sets how far the new sound
must rise; the sound starts at the first sample that reaches both -40 dB under the loudest
sample of the next 50 ms (the hit's peak) and 6 dB above what was ringing. So a drum's
pre-onset silence, however long, is not part of the sound, and a hit over the last one's tail
is found where it rises out of it. A gate with no such rise (a drone going on, a choke) is
counted as missed.

The onsets found are measured like the engine's own (``onset_latencies_ms``): from the edge's
time to the output frame of the sound's first sample on the server's cycle timeline.
"""

from __future__ import annotations

import numpy as np

from neurorack.audio.schedule import Onset

PEAK_DB = -40.0     # the sound starts at its first sample this far under its peak ...
RISE_DB = 6.0       # ... and this far above what was ringing before its gate
SILENCE = 1e-4      # -80 dBFS: no sound at all
RINGING_S = 0.025   # what rings before the gate: the loudest sample in this much before the search starts
WINDOW_S = 0.05     # how far after the gate the sound and its peak are looked for


def onset_in(samples: np.ndarray, before: int, peak_db: float = PEAK_DB, rise_db: float = RISE_DB) -> int | None:
    """Index in ``samples`` of the first sample of a sound starting at or after ``before``
    (``samples[:before]`` is what rang before it): the first reaching ``peak_db`` under the
    loudest sample from ``before`` on and ``rise_db`` above the loudest before it. None when
    nothing rises that far above ``SILENCE``."""
    magnitude = np.abs(samples)
    ringing = float(magnitude[:before].max(initial=0.0))
    after = magnitude[before:]
    peak = float(after.max(initial=0.0))
    threshold = max(peak * 10.0 ** (peak_db / 20.0), ringing * 10.0 ** (rise_db / 20.0), SILENCE)
    if peak < threshold:
        return None
    return before + int(np.argmax(after >= threshold))


def sound_onsets(onsets: list[Onset], engine, recorder, window_s: float = WINDOW_S,
                 ringing_s: float = RINGING_S) -> tuple[list[Onset], int]:
    """The played ``onsets`` with the sample where each one's sound starts in ``recorder`` (the
    engine's ``OutputRecorder``), and how many sounds were not found. Onsets older than the
    callback records kept, or whose audio is not rendered yet, are left out of both."""
    read_index, called_at, _ = engine.timeline.recent()
    window = round(window_s * engine.sample_rate)
    ringing = round(ringing_s * engine.sample_rate)
    found, missed = [], 0
    for onset in onsets:
        during = int(np.searchsorted(called_at, onset.edge.time_s, side="right")) - 1
        if during < 0:
            continue
        start = int(read_index[during])  # the block playing when the edge came: rendered before it was known
        samples = recorder.read(start - ringing, start + window)
        if samples is None:
            continue
        at = onset_in(samples, ringing)
        if at is None:
            missed += 1
        else:
            found.append(Onset(onset.edge, start - ringing + at, onset.late))
    return found, missed
