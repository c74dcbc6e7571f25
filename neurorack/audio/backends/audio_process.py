"""The audio callback in a process of its own: the daemon's default backend.

In one process every thread (render, ADC poller, UI) takes turns on the interpreter lock,
and the audio callback has to wait for its turn, however high its priority. Here the
callback lives in a small child process that holds nothing but the PortAudio stream and
a view of the engine's FIFO in shared memory (``Engine.share_callback_side``); its only
other thread sleeps on a pipe. The render thread stays in the daemon and fills the FIFO.

The child is ``python -m neurorack.audio.backends.audio_process``. It reports one JSON
line on stdout (``ready`` with the device, latency and callback priority, or ``error``
with the message), then plays until its stdin closes, which also happens when the daemon
dies, so it never outlives it. It ignores SIGINT and SIGTERM (a terminal's Ctrl-C and
systemd reach the whole process group): the daemon fades out first, then closes the pipe.

Ordering: the render thread copies samples into the shared FIFO before it moves the write
counter, and the callback reads the counter before the samples (see ``SampleFifo``).
"""

from __future__ import annotations

import argparse
import json
import logging
import select
import signal
import subprocess
import sys

from neurorack.audio.callback_side import CallbackSide
from neurorack.audio.engine import Engine
from neurorack.audio.render_thread import RenderThread
from neurorack.audio.shared_arrays import Arena
from neurorack.errors import NeurorackError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 20.0


class AudioProcessBackend:
    """Plays the engine through PortAudio from a child process.

    Args:
        engine: the engine to play (its callback side moves to shared memory on ``start``).
        device: index, (part of) a name, or None (JACK if running, else the default).
        jack_calibration: also have the child read PortAudio's stream time against JACK's frame
            time (for the benchmarks' ``JackTimeline``; needs a running JACK server).
    """

    def __init__(self, engine: Engine, device: int | str | None = None, jack_calibration: bool = False):
        self.engine = engine
        self.device = device
        self.jack_calibration = jack_calibration
        self.device_name = ""
        self.output_latency_s = 0.0
        self.callback_realtime: bool | None = None
        self.callback_priority: int | None = None
        self.stream_calibration: tuple[int, float, float] | None = None  # (JACK frame, offset, stream time)
        self.process: subprocess.Popen | None = None
        self._render_thread: RenderThread | None = None

    def start(self) -> None:
        """Start the render thread and the audio process. Raises NeurorackError (or
        ``NoAudioDevice``) with the child's message when it cannot play."""
        from neurorack.audio.backends.sound_device import (
            NoAudioDevice,
            warn_if_callback_not_realtime,
        )

        engine = self.engine
        arena = engine.share_callback_side()
        engine.prefill()
        self._render_thread = RenderThread(engine)
        self._render_thread.start()
        command = [sys.executable, "-m", "neurorack.audio.backends.audio_process", "--shared", arena.path,
                   "--sample-rate", str(engine.sample_rate), "--block-size", str(engine.block_size),
                   "--fifo-frames", str(engine.callback_side.fifo_frames)]
        if self.device is not None:
            command += ["--device", str(self.device)]
        if self.jack_calibration:
            command.append("--jack-calibration")
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            report = self._read_report()
        except BaseException:
            self._shut_down()
            raise
        finally:
            arena.remove_file()  # both sides have it mapped, or the child is gone
        if "error" in report:
            self._shut_down()
            error = NoAudioDevice if report.get("no_device") else NeurorackError
            raise error(report["error"])
        self.device_name = report["device"]
        self.output_latency_s = report["latency_s"]
        self.callback_realtime = report["callback_realtime"]
        self.callback_priority = report["callback_priority"]
        calibration = report.get("jack_calibration")
        self.stream_calibration = tuple(calibration) if calibration else None
        warn_if_callback_not_realtime(self.callback_realtime)
        log.info("audio: %s, %d Hz, %d-frame blocks, output latency %.1f ms (callback in process %d)",
                 self.device_name, engine.sample_rate, engine.block_size, self.output_latency_s * 1e3,
                 self.process.pid)

    @property
    def error(self) -> str | None:
        """Why the audio process ended while it should be playing, or None."""
        code = self.process.poll() if self.process is not None else None
        return None if code is None else f"the audio process exited with status {code}"

    def _read_report(self) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], READY_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            code = self.process.poll()
            raise NeurorackError(f"the audio process did not start (exit status {code}); "
                                 "its error is above" if code is not None else
                                 f"the audio process did not answer within {READY_TIMEOUT_S:.0f} s")
        return json.loads(line)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Fade out, wait until the fade has been played, then end the audio process."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.engine.fade_out_and_wait(timeout_s)
        self._shut_down()

    def _shut_down(self) -> None:
        if self.process is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=3.0)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None
        if self._render_thread is not None:
            self._render_thread.stop()
            self._render_thread = None


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The audio callback's process (started by the daemon).")
    parser.add_argument("--shared", required=True, help="the shared block's file")
    parser.add_argument("--sample-rate", type=int, required=True)
    parser.add_argument("--block-size", type=int, required=True)
    parser.add_argument("--fifo-frames", type=int, required=True)
    parser.add_argument("--device", default=None, help="index or (part of) a name")
    parser.add_argument("--jack-calibration", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the daemon fades out, then closes our stdin
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from neurorack.audio.backends.sound_device import NoAudioDevice, PortAudioStream

    args = _parse(argv)
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    side = CallbackSide(args.sample_rate, args.block_size, args.fifo_frames, Arena.open(args.shared))
    stream = PortAudioStream(side, device)
    try:
        stream.open()
        stream.start()
        report = {"device": stream.device_name, "latency_s": stream.latency_s,
                  "callback_realtime": stream.callback_realtime, "callback_priority": stream.callback_priority}
        if args.jack_calibration:
            from neurorack.audio.jack_server import JackClock, calibrate_stream_time

            with JackClock("neurorack-audio-clock") as clock:
                report["jack_calibration"] = list(calibrate_stream_time(clock, lambda: stream.stream.time))
    except NeurorackError as exc:
        print(json.dumps({"error": str(exc), "no_device": isinstance(exc, NoAudioDevice)}), flush=True)
        stream.close()
        return 2
    print(json.dumps(report), flush=True)
    sys.stdin.read()  # until the daemon closes the pipe (or dies)
    stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
