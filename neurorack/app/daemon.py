"""The daemon: the assembled module, its audio backend and the service link; runs until a signal."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from neurorack.app.assemble import assemble
from neurorack.app.keyboard import KeyboardControls, mock_inputs
from neurorack.audio.backends.paced_wav import PacedWavBackend
from neurorack.audio.backends.sound_device import (
    NoAudioDevice,
    SoundDeviceBackend,
    find_output_device,
)
from neurorack.audio.engine import Engine
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack.errors import NeurorackError
from neurorack.memory_limits import require_headroom
from neurorack.realtime import BACKGROUND_PRIORITY, request_realtime
from neurorack.service.link import ServiceLink

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 10.0
CHECK_PERIOD_S = 0.5  # how often the main loop looks at the audio
AUDIO_STALL_S = 3.0  # no audio callback for this long: the audio backend died


class AudioStopped(NeurorackError):
    """The audio backend stopped calling back while the daemon ran."""


AUDIO_THREADS = ("neurorack-render", "neurorack-wav-clock")  # the audio stops when one of these dies


class ThreadDeaths:
    """A ``threading.excepthook`` for the daemon: a thread that dies is logged in one line
    (with its traceback unless it ran out of memory, where the traceback itself could fail)
    and remembered, so the main loop can stop when an audio thread is gone. With too little
    memory left even to log, the line is one made in advance, written straight to stderr."""

    def __init__(self):
        from neurorack.memory_limits import out_of_memory

        self.audio: list[str] = []
        self._previous = None
        self._out_of_memory = out_of_memory  # bound now: the hook must allocate little
        self._no_memory = {  # made now, while there is memory
            name: (f"{name} died: out of memory", f"neurorack: thread {name} died: out of memory\n".encode())
            for name in (*AUDIO_THREADS, "a thread")}

    def __call__(self, hook_args) -> None:
        name = hook_args.thread.name if hook_args.thread is not None else "a thread"
        try:
            self._report(name, hook_args)
        except MemoryError:
            self._report_without_memory(name)

    def _report(self, name: str, hook_args) -> None:
        exc = hook_args.exc_value
        memory = self._out_of_memory(exc) or isinstance(exc, SystemError)  # SystemError: CPython could not allocate
        reason = "out of memory" if memory else f"{type(exc).__name__}: {exc}"
        if name in AUDIO_THREADS:
            self.audio.append(f"{name} died: {reason}")
        log.error("thread %s died: %s", name, reason,
                  exc_info=None if memory else (hook_args.exc_type, exc, hook_args.exc_traceback))

    def _report_without_memory(self, name: str) -> None:
        reason, line = self._no_memory.get(name) or self._no_memory["a thread"]
        try:
            if name in AUDIO_THREADS and reason not in self.audio:
                self.audio.append(reason)
            os.write(2, line)
        except (MemoryError, OSError):
            pass  # nothing left to say it with; the main loop still sees the audio stop

    def install(self) -> ThreadDeaths:
        self._previous = threading.excepthook
        threading.excepthook = self
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            threading.excepthook = self._previous


def audio_stall(count: int, previous: tuple[int, float], now: float, backend,
                dead_threads: list[str] = ()) -> tuple[str | None, tuple]:
    """Whether the audio stopped: an audio thread died, the backend reported an error, or the
    callback counter ``count`` has not moved for ``AUDIO_STALL_S``. Returns ``(reason or None,
    new previous)`` where ``previous`` is ``(count, monotonic time it last moved)``."""
    if dead_threads:
        return f"the audio stopped: {dead_threads[0]}", previous
    error = getattr(backend, "error", None)
    if error:
        return f"the audio backend stopped: {error}", previous
    if count != previous[0]:
        return None, (count, now)
    if now - previous[1] >= AUDIO_STALL_S:
        return f"no audio callback for {now - previous[1]:.1f} s: the audio backend stopped", previous
    return None, previous


def run_daemon(config: ModuleConfig, mock: bool, wav_path: str | Path = "neurorack-run.wav",
               seconds: float | None = None, scenario_path: str | None = None) -> int:
    """Run until SIGINT or SIGTERM (or ``seconds``), then fade out, close and return 0.

    Args:
        config: the module config.
        mock: simulated controls instead of the board's hardware.
        wav_path: where mock mode writes audio when there is no sound device.
        seconds: stop by itself after this long (None: run until a signal).
        scenario_path: mock mode: a scenario file for the simulated jacks (None: the built-in one;
            with a terminal on stdin, the keys play the jacks and the panel, see ``keyboard``).
    """
    if not mock:
        find_output_device(config.audio.device)  # the most basic problem first: no sound device
    board = load_board("mock" if mock else config.board)  # a bad board file fails before anything starts
    scenario, keys = mock_inputs(scenario_path, mock, KeyboardControls.is_available())
    request_realtime(BACKGROUND_PRIORITY, "the daemon")  # threads started from here inherit it
    logging.raiseExceptions = False  # a log record that cannot be written (out of memory) is dropped quietly
    deaths = ThreadDeaths().install()
    service = ServiceLink.from_environment()  # sd_notify; does nothing outside systemd
    service.status("loading the voice")
    module = assemble(config, board, mock, scenario)
    engine, controls = module.engine, module.panel
    backend = SoundDeviceBackend(engine, config.audio.device, cpu=config.audio.cpu)
    keyboard = None
    previous: dict = {}
    stalled = None
    try:  # from here on, whatever fails stops what started: no audio thread outlives the daemon
        require_headroom("starting the audio")
        try:
            backend.start()
        except NoAudioDevice as exc:
            if not mock:
                raise
            log.warning("%s", exc)
            log.warning("mock mode: playing in real time into %s instead", wav_path)
            backend = PacedWavBackend(engine, wav_path)
            backend.start()
        module.start_ui(encoder_feel=keys is None)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        keyboard = KeyboardControls(keys, controls, stop.set).start() if keys is not None else None
        log.info("running on board '%s' (%s) on %s, voice: %s; stop with Ctrl-C",
                 board.name, controls.adc.description, backend.device_name, engine.voice.name)
        service.ready(engine, backend.device_name)  # voice loaded, stream started
        started = last_status = time.monotonic()
        audio_seen = (engine.timeline.count, started)
        while not stop.wait(CHECK_PERIOD_S if seconds is None else min(CHECK_PERIOD_S, seconds)):
            now = time.monotonic()
            stalled, audio_seen = audio_stall(engine.timeline.count, audio_seen, now, backend, deaths.audio)
            if stalled:
                log.error("%s", stalled)
                break
            if now - last_status >= STATUS_PERIOD_S:
                last_status = now
                _log_status(engine)
                service.report(engine)
            if seconds is not None and now - started >= seconds:
                break
    finally:
        log.info("stopping: fading out")
        service.stopping()
        if keyboard is not None:
            keyboard.close()  # the terminal's mode back first
        module.close()
        backend.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _log_status(engine)
    service.close()
    deaths.uninstall()
    if stalled:
        raise AudioStopped(f"{stalled}; the module stopped (under systemd it restarts)")
    log.info("stopped cleanly")
    return 0


def _log_status(engine: Engine) -> None:
    stats = engine.stats()
    log.info("callbacks %d, underflows %d, late renders %d (%d in the start-up), late onsets %d, render p99 %.2f ms",
             stats["callbacks"], stats["underflows"], stats["late_renders"], stats["startup_late_renders"],
             stats["late_onsets"], stats["render_ms"]["p99"])
