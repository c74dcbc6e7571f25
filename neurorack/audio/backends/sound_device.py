"""Play the engine through PortAudio (python-sounddevice): ALSA, JACK, USB or I2S DACs.

sounddevice is imported only here, when a stream is opened: PortAudio sees a JACK
server only if it is running when PortAudio initialises.
"""

from __future__ import annotations

import logging
import sys
import time

from neurorack.audio.backends.native_callback import (
    NativeCallback,
    NativeCallbackUnavailable,
    callback_summary,
    describe_callback,
)
from neurorack.audio.engine import Engine
from neurorack.audio.render_thread import RenderThread
from neurorack.errors import NeurorackError
from neurorack.realtime import (
    CALLBACK_PRIORITY,
    pin_quietly,
    raise_quietly,
    unpinned_warning,
)

log = logging.getLogger(__name__)

# How long a thread running Python keeps the interpreter lock while another waits for it
# (sys.setswitchinterval). With the callback in C only the render thread's deadline needs the
# lock: 0.5 ms lets it render a block without being made to hand the lock to the ADC poller
# or the UI halfway, while a waiting render thread still gets it within 0.5 ms (the soak at
# 64 frames: 8 to 10 times fewer late renders than 0.1 ms, docs/benchmarks.md). A callback in
# Python needs the lock in every cycle, so there it is handed over within 0.1 ms.
SWITCH_INTERVAL_S = {"native": 0.0005, "python": 0.0001}


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


def join_portaudio(sd) -> None:
    """Initialise PortAudio unless it is: it finds JACK only when it initialises."""
    if not sd._initialized:
        sd._initialize()


def leave_portaudio(sd) -> None:
    """Terminate PortAudio fully, which closes its JACK client (sounddevice counts initialisations)."""
    while sd._initialized:
        sd._terminate()


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


class SoundDeviceBackend:
    """Runs the engine on a PortAudio output stream with a render thread.

    The callback is C code (``native_callback.c``) that never takes the interpreter lock,
    so the module's other threads cannot delay it. Where it was not built at install (no C
    compiler), or with ``native_callback=False``, the same work runs in Python.

    Args:
        engine: the engine to play.
        device: index, (part of) a name, or None (JACK if running, else the default).
        native_callback: use the C callback when it is installed.
        cpu: the core the callback and the render thread run on (``audio.cpu``; None: the kernel's choice).
    """

    def __init__(self, engine: Engine, device: int | str | None = None, native_callback: bool = True,
                 cpu: int | None = None):
        self.engine = engine
        self.device = device
        self.native_callback = native_callback
        self.cpu = cpu
        self.stream = None
        self.device_name = ""
        self._render_thread: RenderThread | None = None
        self._native: NativeCallback | None = None
        self._why_python = "the stream has not started"  # why the Python callback plays, when it does
        self._python_realtime: bool | None = None  # set by the Python callback's first call
        self._python_pinned: bool | None = None     # likewise

    @property
    def callback_description(self) -> dict:
        """Which callback plays (after ``start``), for logs and JSON: ``describe_callback``'s dict."""
        return describe_callback(None if self._native is not None else self._why_python)

    @property
    def callback_realtime(self) -> bool | None:
        """Whether the callback's thread runs at ``CALLBACK_PRIORITY``; None before its first call."""
        return self._native.realtime if self._native is not None else self._python_realtime

    @property
    def callback_pinned(self) -> bool | None:
        """Whether the callback's thread runs on ``cpu`` only; None before its first call or without one."""
        return self._native.pinned if self._native is not None else self._python_pinned

    def start(self) -> None:
        """Open and start the stream. Raises NeurorackError with a fix when it cannot."""
        sd = import_sounddevice()
        index = select_output_device(sd, self.device)
        info = sd.query_devices(index)
        self.device_name = info["name"]
        channels = min(2, info["max_output_channels"])
        try:
            sd.check_output_settings(index, channels=channels, dtype="float32",
                                     samplerate=self.engine.sample_rate)
        except sd.PortAudioError as exc:
            raise NeurorackError(
                f"output device '{info['name']}' refuses {self.engine.sample_rate} Hz ({exc}); "
                f"its default rate is {info['default_samplerate']:.0f} Hz. Set audio.sample_rate, or pick "
                "another device with audio.device."
            ) from None
        settings = {"device": index, "samplerate": self.engine.sample_rate, "blocksize": self.engine.block_size,
                    "channels": channels, "dtype": "float32", "latency": "low"}
        self._native = self._load_native_callback(channels)
        sys.setswitchinterval(SWITCH_INTERVAL_S["native" if self._native is not None else "python"])
        try:
            if self._native is not None:
                # sounddevice's base stream takes a C function pointer and its userData
                self.stream = sd._StreamBase(
                    kind="output", wrap_callback=None, **settings,
                    callback=sd._ffi.cast("PaStreamCallback *", self._native.function_address),
                    userdata=sd._ffi.cast("void *", self._native.userdata_address))
            else:
                self.stream = sd.OutputStream(**settings, callback=self._callback)
        except sd.PortAudioError as exc:
            raise NeurorackError(
                f"could not open '{info['name']}' at {self.engine.sample_rate} Hz with "
                f"{self.engine.block_size}-frame blocks: {exc}"
            ) from None
        self.engine.prefill()
        self._render_thread = RenderThread(self.engine, self.cpu)
        self._render_thread.start()
        self.stream.start()
        self._report_callback_thread()
        log.info("audio: %s, %d Hz, %d-frame blocks, output latency %.1f ms, audio callback: %s", info["name"],
                 self.engine.sample_rate, self.engine.block_size, self.stream.latency * 1e3,
                 callback_summary(self.callback_description))

    def _load_native_callback(self, channels: int) -> NativeCallback | None:
        if not self.native_callback:
            self._why_python = "asked for (native_callback=False)"
            return None
        try:
            return NativeCallback(self.engine, channels, cpu=self.cpu)
        except NativeCallbackUnavailable as exc:
            self._why_python = str(exc)
            log.warning("the audio callback runs in Python, where the render, ADC and UI threads can delay it "
                        "and audio may drop out under load: %s", exc)
            return None

    def _report_callback_thread(self, timeout_s: float = 1.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.callback_realtime is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.callback_realtime is False:
            log.warning("the audio callback runs below priority %d, so the render and ADC threads can delay it: "
                        "real-time priority was refused. Allow it with LimitRTPRIO= in the service (neurorack "
                        "install-service does), or an rtprio limit for the audio group in /etc/security/limits.d",
                        CALLBACK_PRIORITY)
        if self.callback_pinned is False:
            log.warning(unpinned_warning("the audio callback", self.cpu))

    def _callback(self, outdata, frames, time_info, status) -> None:
        # Real-time: record, copy, pad. No allocation of arrays, no locks, no I/O.
        if self._python_realtime is None:  # first call: two system calls, then never again
            self._python_pinned = pin_quietly(self.cpu)
            self._python_realtime = raise_quietly(CALLBACK_PRIORITY)
        if status.output_underflow:
            self.engine.counters.underflows += 1
        self.engine.pull(outdata, time.monotonic(), time_info.currentTime)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Fade out, wait until the fade has been played, then close the stream."""
        if self.stream is None:
            return
        self.engine.fade_out_and_wait(timeout_s)
        self.stream.stop()
        self.stream.close()
        self.stream = None
        if self._render_thread is not None:
            self._render_thread.stop()
            self._render_thread = None
