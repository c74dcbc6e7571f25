"""Play the engine through PortAudio (python-sounddevice): ALSA, JACK, USB or I2S DACs.

sounddevice is imported only here, when a stream is opened: PortAudio sees a JACK
server only if it is running when PortAudio initialises.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from neurorack.audio.callback_side import CallbackSide
from neurorack.audio.engine import Engine
from neurorack.audio.render_thread import RenderThread
from neurorack.errors import NeurorackError
from neurorack.realtime import CALLBACK_PRIORITY, raise_quietly

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005


class NoAudioDevice(NeurorackError):
    """PortAudio sees no output device at all."""


def import_sounddevice():
    """Import sounddevice, turning a missing PortAudio library into an actionable message."""
    try:
        import sounddevice
    except OSError as exc:
        raise NeurorackError(
            f"the PortAudio library is missing ({exc}); install it with "
            "'sudo apt-get install libportaudio2'"
        ) from None
    return sounddevice


def list_output_devices(sd) -> list[tuple[int, str]]:
    """``(index, description)`` of every output device PortAudio sees."""
    hostapis = sd.query_hostapis()
    found = []
    for index, device in enumerate(sd.query_devices()):
        if device["max_output_channels"] > 0:
            api = hostapis[device["hostapi"]]["name"]
            found.append((index, f"{device['name']} ({api}, {device['max_output_channels']} out)"))
    return found


def select_output_device(sd, spec: int | str | None) -> int:
    """Resolve the configured device to a PortAudio index.

    Args:
        spec: an index, (part of) a name, or None for JACK when it runs, else the default.

    Raises:
        NoAudioDevice: PortAudio sees no output device.
        NeurorackError: ``spec`` matches no output device; the message lists them.
    """
    outputs = list_output_devices(sd)
    if not outputs:
        raise NoAudioDevice(
            "no sound output device found: PortAudio sees none. Connect an audio interface or start "
            "JACK, or try without a sound card: 'neurorack run --mock' (writes a WAV) or 'neurorack demo'."
        )
    listing = "\n".join(f"  {index:>3}  {description}" for index, description in outputs)
    if spec is None:
        for api in sd.query_hostapis():
            if "JACK" in api["name"] and api["default_output_device"] >= 0:
                return api["default_output_device"]
        default = sd.default.device[1]
        return default if default is not None and default >= 0 else outputs[0][0]
    if isinstance(spec, int):
        if any(index == spec for index, _ in outputs):
            return spec
        raise NeurorackError(f"there is no output device number {spec}. Output devices:\n{listing}")
    matches = [index for index, description in outputs if spec.lower() in description.lower()]
    if not matches:
        raise NeurorackError(f"no output device matches '{spec}'. Output devices:\n{listing}\n"
                             "Set audio.device in the config, or pass --device.")
    return matches[0]


def find_output_device(spec: int | str | None) -> tuple[int, str]:
    """``(index, name)`` of the output device ``spec`` selects; raises with a fix if none."""
    sd = import_sounddevice()
    index = select_output_device(sd, spec)
    return index, sd.query_devices(index)["name"]


class PortAudioStream:
    """A PortAudio output stream whose callback only plays a ``CallbackSide``.

    Used by ``SoundDeviceBackend`` (same process) and by the audio process
    (``neurorack.audio.backends.audio_process``, a process of its own).

    Args:
        side: the FIFO, timeline and counters the callback plays from.
        device: index, (part of) a name, or None (JACK if running, else the default).
    """

    def __init__(self, side: CallbackSide, device: int | str | None = None):
        self.side = side
        self.device = device
        self.device_name = ""
        self.stream = None
        self.callback_realtime: bool | None = None  # set by the first callback
        self.callback_priority: int | None = None   # the callback thread's SCHED_FIFO priority, if any

    def open(self) -> None:
        """Open (not start) the stream. Raises NeurorackError with a fix when it cannot."""
        sd = import_sounddevice()
        index = select_output_device(sd, self.device)
        info = sd.query_devices(index)
        self.device_name = info["name"]
        channels = min(2, info["max_output_channels"])
        rate, block = self.side.sample_rate, self.side.block_size
        try:
            sd.check_output_settings(index, channels=channels, dtype="float32", samplerate=rate)
        except sd.PortAudioError as exc:
            raise NeurorackError(
                f"output device '{info['name']}' refuses {rate} Hz ({exc}); its default rate is "
                f"{info['default_samplerate']:.0f} Hz. Set audio.sample_rate, or pick another device with audio.device."
            ) from None
        try:
            self.stream = sd.OutputStream(device=index, samplerate=rate, blocksize=block, channels=channels,
                                          dtype="float32", latency="low", callback=self._callback)
        except sd.PortAudioError as exc:
            raise NeurorackError(f"could not open '{info['name']}' at {rate} Hz with {block}-frame blocks: {exc}") from None

    def start(self, timeout_s: float = 1.0) -> None:
        """Start the stream and wait (up to ``timeout_s``) for the first callback."""
        self.stream.start()
        deadline = time.monotonic() + timeout_s
        while self.callback_realtime is None and time.monotonic() < deadline:
            time.sleep(0.005)

    @property
    def latency_s(self) -> float:
        """The output latency PortAudio reports, in seconds."""
        return self.stream.latency

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream.close()
            self.stream = None

    def _callback(self, outdata, frames, time_info, status) -> None:
        # Real-time: record, copy, pad. No allocation of arrays, no locks, no I/O.
        if self.callback_realtime is None:  # first call only: the system calls that raise and read the priority
            self.callback_realtime = raise_quietly(CALLBACK_PRIORITY)
            self.callback_priority = os.sched_getparam(0).sched_priority if self.callback_realtime else None
        if status.output_underflow:
            self.side.count_underflow()
        self.side.pull(outdata, time.monotonic(), time_info.currentTime)


def warn_if_callback_not_realtime(realtime: bool | None) -> None:
    """Say how to allow real-time priority when the callback did not get it."""
    if realtime is False:
        log.warning("the audio callback runs below priority %d, so the render and ADC threads can delay it: "
                    "real-time priority was refused. Allow it with LimitRTPRIO= in the service (neurorack "
                    "install-service does), or an rtprio limit for the audio group in /etc/security/limits.d",
                    CALLBACK_PRIORITY)


class SoundDeviceBackend:
    """Runs the engine on a PortAudio output stream in this process, with a render thread.

    The daemon uses ``AudioProcessBackend`` instead, which keeps the callback away from this
    process's interpreter lock; this one suits scripts and tests that want one process.

    Args:
        engine: the engine to play.
        device: index, (part of) a name, or None (JACK if running, else the default).
    """

    def __init__(self, engine: Engine, device: int | str | None = None):
        self.engine = engine
        self.stream = PortAudioStream(engine.callback_side, device)
        self._render_thread: RenderThread | None = None

    @property
    def device_name(self) -> str:
        return self.stream.device_name

    @property
    def callback_realtime(self) -> bool | None:
        return self.stream.callback_realtime

    @property
    def output_latency_s(self) -> float:
        return self.stream.latency_s

    def start(self) -> None:
        """Open and start the stream. Raises NeurorackError with a fix when it cannot."""
        self.stream.open()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the callback never waits long for the GIL
        self.engine.prefill()
        self._render_thread = RenderThread(self.engine)
        self._render_thread.start()
        self.stream.start()
        warn_if_callback_not_realtime(self.callback_realtime)
        log.info("audio: %s, %d Hz, %d-frame blocks, output latency %.1f ms", self.device_name,
                 self.engine.sample_rate, self.engine.block_size, self.output_latency_s * 1e3)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Fade out, wait until the fade has been played, then close the stream."""
        if self.stream.stream is None:
            return
        self.engine.fade_out_and_wait(timeout_s)
        self.stream.close()
        if self._render_thread is not None:
            self._render_thread.stop()
            self._render_thread = None
