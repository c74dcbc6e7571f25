"""CV routing: four jack voltages -> what the playing voices change.

Each CV input has a route (``neurorack.config.state.CvRoute``): a target, an amount and an offset.
The route's control value is ``c = offset + amount * volts / 5`` (so amount 1 spans -1..1 over
-5..+5 V), and each target maps ``c`` onto its own scale:

=========== =============================== =============================================
target      effect                          at amount 1
=========== =============================== =============================================
pitch       pitch and centroid x 2 ** (5 c) exactly 1 V/oct, a transposition: the whole
                                            spectrum moves by the interval (``volts`` are
                                            calibrated jack volts)
loudness    loudness + 24 c dB              accent: +4.8 dB per volt
centroid    centroid x 2 ** (3 c)           brightness alone: +/-3 octaves over the range
noisiness   flatness x 10 ** (2 c)          +/-2 decades of spectral flatness
velocity    velocity + c                    hit strength, 0..1 after adding
decay       time-scale 2 ** (2 c)           0.25x .. 4x the template's length
morph       blend = clip(c, 0, 1)           0..5 V blends to the sound's ``morph_to``
                                            (curves per frame; timbre ``z`` at each hit's start)
=========== =============================== =============================================

Routes to the same target add up. Nothing here allocates per call beyond a small dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurorack.config.state import CvRoute, Routing

PITCH_OCTAVES = 5.0
LOUDNESS_DB = 24.0
CENTROID_OCTAVES = 3.0
FLATNESS_DECADES = 2.0
DECAY_OCTAVES = 2.0


@dataclass(frozen=True)
class Modulation:
    """What the CVs ask of every playing voice, now.

    Attributes:
        pitch_ratio: transposes: multiplies the pitch and the spectral centroid (2.0: one octave up).
        loudness_db: added to the loudness.
        centroid_ratio: multiplies the spectral centroid (brightness; on top of ``pitch_ratio``).
        flatness_ratio: multiplies the spectral flatness (noisiness).
        velocity_offset: added to a new hit's velocity (applied at trigger).
        time_scale: how much longer the trajectory lasts (2.0: decays twice as slowly).
        morph: 0..1 blend towards the sound's ``morph_to`` trajectory (and, read when a hit
            starts, its timbre code).
    """

    pitch_ratio: float = 1.0
    loudness_db: float = 0.0
    centroid_ratio: float = 1.0
    flatness_ratio: float = 1.0
    velocity_offset: float = 0.0
    time_scale: float = 1.0
    morph: float = 0.0


NEUTRAL = Modulation()


def routes_of(routing: Routing) -> tuple[CvRoute, CvRoute, CvRoute, CvRoute]:
    return (routing.cv1, routing.cv2, routing.cv3, routing.cv4)


def modulation(cv_volts, routes) -> Modulation:
    """Combine the four CV inputs through their routes.

    Args:
        cv_volts: 4 calibrated jack voltages (V).
        routes: 4 ``CvRoute`` (see ``routes_of``).
    """
    sums = dict.fromkeys(("pitch", "loudness", "centroid", "noisiness", "velocity", "decay", "morph"), 0.0)
    for volts, route in zip(cv_volts, routes):
        if route.target in sums:  # "none" routes nowhere
            sums[route.target] += route.offset + route.amount * float(volts) / 5.0
    pitch, loudness, centroid, flatness, velocity, decay, morph = sums.values()
    return Modulation(
        pitch_ratio=2.0 ** (PITCH_OCTAVES * pitch),
        loudness_db=LOUDNESS_DB * loudness,
        centroid_ratio=2.0 ** (CENTROID_OCTAVES * centroid),
        flatness_ratio=10.0 ** (FLATNESS_DECADES * flatness),
        velocity_offset=velocity,
        time_scale=2.0 ** (DECAY_OCTAVES * decay),
        morph=min(max(morph, 0.0), 1.0),
    )


class CvRouter:
    """The live routing: a callable that turns the latest CVs into a ``Modulation``.

    Args:
        read_volts: returns the 4 calibrated CV voltages (the panel's snapshot).
        routing: the routes in use; ``set_route`` / ``set_routing`` change them from any thread
            (a single reference swap).
    """

    def __init__(self, read_volts, routing: Routing | None = None):
        self.read_volts = read_volts
        self._routes = routes_of(routing or Routing())

    @property
    def routes(self) -> tuple:
        return self._routes

    def set_routing(self, routing: Routing) -> None:
        self._routes = routes_of(routing)

    def set_route(self, index: int, route: CvRoute) -> None:
        """Replace the route of CV input ``index`` (0..3)."""
        routes = list(self._routes)
        routes[index] = route
        self._routes = tuple(routes)

    def __call__(self) -> Modulation:
        return modulation(self.read_volts(), self._routes)
