"""``neurorack resynth``: hear (and see) a model play your own one-shots.

For each input file: read it (any format soundfile reads, any rate and channel count; the
channels are averaged), resample it to the model's rate, trim it as the training data are
trimmed (``dataset.prepare``: silence below -60 dB of the peak cut at both ends, on the
int16 grid, zero-padded to whole frames) but capped at ``--max-seconds`` (8 s) instead of
training's 1 s, analyse it into its ``SoundCode`` (descriptors, and the timbre code ``z`` for
models that have one), render that with the model and write ``DIR/<input stem>.wav``.

The contract, which measurement scripts rely on:

- one output per input, named ``<input stem>.wav`` in ``--out``, overwriting a file of that
  name; two inputs whose stems match (ignoring case) are refused before anything is read;
- mono, the model's rate, 32-bit float WAV (never clipped; peaks above 0 dBFS are reported);
- its length is the render's: the trimmed input rounded up to whole frames;
- with ``--plot``, ``<input stem>.png`` beside it;
- exit 0 when every file was written, 1 when some could not be (each named on stderr, the
  others still written), 2 for a bad model folder or arguments (nothing written).

Only argparse is imported here; numpy, soundfile, the model and matplotlib load in the handler.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from neurorack.argtypes import positive_float
from neurorack.errors import NeurorackError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MAX_SECONDS = 8.0
ENVELOPE_MS = 100.0  # the envelope panel's span
ENVELOPE_STEP_MS = 1.0  # its RMS window
FLOOR_DB = -80.0  # bottom of the plots' dB scales, relative to the loudest of the two


class ResynthError(NeurorackError):
    """One input could not be resynthesised (unreadable, silent, not finite)."""


def register(commands) -> None:
    """Add ``neurorack resynth``."""
    parser = commands.add_parser(
        "resynth", help="render your own one-shots with a model, to hear (and see) what it keeps",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Analyse each one-shot (its descriptors, and its timbre code for models with a timbre "
                    "encoder), play that with the model, and write what the model made of it.\n\n"
                    "Inputs: any audio file soundfile reads (WAV, FLAC, AIFF, OGG, ...), any rate, any channel\n"
                    "count (channels are averaged). Each is resampled to the model's rate and trimmed as the\n"
                    "training data are (silence below -60 dB of its peak cut at both ends) but capped at\n"
                    "--max-seconds instead of training's 1 s.\n\n"
                    "Outputs: DIR/<input stem>.wav, mono at the model's rate, 32-bit float (never clipped),\n"
                    "as long as the trimmed input rounded up to whole frames (256 samples); an existing file\n"
                    "of that name is overwritten. Two inputs with the same stem (ignoring case) are refused\n"
                    "before anything is read. With --plot, DIR/<input stem>.png beside each: the original's\n"
                    "and the render's mel spectrograms one above the other on one colour scale, and their\n"
                    "first 100 ms of envelope (1 ms RMS, dB) overlaid.\n\n"
                    "Progress goes to stderr, one line per file; a summary to stdout. Exit status: 0 when\n"
                    "every file was written, 1 when some could not be (each is named; the others are still\n"
                    "written), 2 for a bad model folder or arguments.")
    parser.add_argument("model", metavar="MODEL_DIR", help="an exported model folder, e.g. models/drums-trimmed")
    parser.add_argument("inputs", nargs="+", metavar="IN", help="one-shot audio files")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into (made if missing)")
    parser.add_argument("--plot", action="store_true",
                        help="also draw DIR/<input stem>.png: spectrograms and first 100 ms of envelope, "
                             "original above render")
    parser.add_argument("--max-seconds", type=positive_float, default=DEFAULT_MAX_SECONDS, metavar="S",
                        help="cut each sound after this long once trimmed (default: %(default)s; training "
                             "uses 1 s)")
    parser.set_defaults(handler=resynth_command)


@dataclass
class Resynthesis:
    """One input's trip through the model: ``original`` as analysed (trimmed, at ``rate``) and
    the model's ``render`` of it, both mono float32."""

    original: np.ndarray
    render: np.ndarray
    rate: int
    source_rate: int
    channels: int
    cut: bool  # longer than max_seconds once trimmed, so cut


def output_names(inputs: list[str], out_dir: Path) -> list[Path]:
    """``out_dir/<stem>.wav`` for each input.

    Raises:
        NeurorackError: two inputs share a stem (ignoring case: on macOS and Windows they
            would be one file), or an output would overwrite its own input.
    """
    by_stem: dict[str, list[str]] = {}
    for name in inputs:
        by_stem.setdefault(Path(name).stem.casefold(), []).append(name)
    clashes = [names for names in by_stem.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(", ".join(names) for names in clashes)
        raise NeurorackError(f"inputs with the same name would write the same output file: {listed} (outputs are "
                             "named <input stem>.wav; rename one, or run them into different --out folders)")
    outputs = [out_dir / f"{Path(name).stem}.wav" for name in inputs]
    for name, output in zip(inputs, outputs):
        if output.resolve() == Path(name).resolve():
            raise NeurorackError(f"{name}: its output {output} would overwrite it; choose another --out folder")
    return outputs


def resynthesise_file(synth, path: str | Path, max_seconds: float) -> Resynthesis:
    """Read, prepare, analyse and render one file with ``synth`` (a ``Resynthesizer``).

    Raises:
        ResynthError: the file cannot be read as audio, is silent, or holds NaN or infinity.
    """
    import numpy as np

    from neurorack.audio.audio_file import AudioFileError, read_audio
    from neurorack.core.signal import trim_silence
    from neurorack.ml.dataset import PrepareOptions, prepare

    path = Path(path)
    if not path.is_file():
        raise ResynthError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        data, rate = read_audio(path)
    except AudioFileError as exc:
        raise ResynthError(str(exc)) from None
    if not np.all(np.isfinite(data)):
        raise ResynthError(f"{path}: holds NaN or infinite samples")
    mono = data.mean(axis=1)
    options = PrepareOptions(max_seconds=max_seconds)
    audio = prepare(mono, int(rate), options, sample_rate=synth.sample_rate)
    if not np.any(audio):
        raise ResynthError(f"{path}: silent" if len(mono) else f"{path}: empty")
    cut = len(trim_silence(mono, options.trim_db)) > max_seconds * rate
    render = np.asarray(synth.render(synth.analyse(audio)), dtype=np.float32)
    return Resynthesis(audio, render, synth.sample_rate, int(rate), data.shape[1], cut)


def resynth_command(args: argparse.Namespace, config) -> int:
    import numpy as np
    import soundfile

    from neurorack.runtime.resynth import Resynthesizer

    out_dir = Path(args.out)
    outputs = output_names(args.inputs, out_dir)
    synth = Resynthesizer(args.model)  # ModelLoadError (a NeurorackError) names the folder
    model_name = synth.name or Path(args.model).name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeurorackError(f"{out_dir}: cannot make the output folder ({exc.strerror or exc})") from None
    failed: list[tuple[str, str]] = []
    for index, (name, output) in enumerate(zip(args.inputs, outputs), start=1):
        prefix = f"[{index}/{len(outputs)}] {name}"
        try:
            result = resynthesise_file(synth, name, args.max_seconds)
            soundfile.write(str(output), result.render, result.rate, subtype="FLOAT")
            plotted = ""
            if args.plot:
                picture = output.with_suffix(".png")
                plot_comparison(picture, result.original, result.render, result.rate,
                                f"{Path(name).name}  (model: {model_name})")
                plotted = f", {picture.name}"
        except ResynthError as exc:
            failed.append((name, str(exc)))
            print(f"{prefix}: error: {exc}", file=sys.stderr)
            continue
        except OSError as exc:  # the output folder: full, read-only, ...
            failed.append((name, f"{output}: cannot write it ({exc})"))
            print(f"{prefix}: error: {output}: cannot write it ({exc})", file=sys.stderr)
            continue
        peak = float(np.max(np.abs(result.render))) if len(result.render) else 0.0
        peak_text = f"peak {20 * np.log10(peak):+.1f} dBFS" if peak > 0 else "silent"
        notes = f"; cut at {args.max_seconds:g} s" if result.cut else ""
        print(f"{prefix} ({result.source_rate} Hz, {result.channels} ch, analysed "
              f"{len(result.original) / result.rate:.3f} s{notes}) -> {output} "
              f"({len(result.render) / result.rate:.3f} s, {peak_text}{plotted})", file=sys.stderr)
    written = len(outputs) - len(failed)
    summary = f"{written} of {len(outputs)} sounds resynthesised by {model_name} into {out_dir}"
    if failed:
        summary += f"; {len(failed)} failed: " + ", ".join(name for name, _ in failed)
    print(summary)
    return 1 if failed else 0


def mel_spectrogram_db(audio, rate: int, n_fft: int = 2048, hop: int = 128, bands: int = 128):
    """A power mel spectrogram in dB (re full scale): ``(times_s [T], band_centres_mel [bands],
    db [bands, T])``. Hann window, centred frames; bands evenly spaced in mel from 20 Hz to
    ``rate / 2`` (with 2048-sample frames every band has an FFT bin under it, down to the kick
    drum's 40-60 Hz)."""
    import numpy as np

    padded = np.pad(np.asarray(audio, dtype=np.float64), (n_fft // 2, n_fft // 2 + hop))
    count = max(1, (len(padded) - n_fft) // hop + 1)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:count]
    window = np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 / np.sum(window) ** 2 * 4.0
    edges = np.linspace(hz_to_mel(20.0), hz_to_mel(rate / 2.0), bands + 2)
    bins_mel = hz_to_mel(np.fft.rfftfreq(n_fft, 1.0 / rate))
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    weights = np.maximum(0.0, np.minimum((bins_mel - low) / (centre - low), (high - bins_mel) / (high - centre)))
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    db = 10.0 * np.log10(weights @ power.T + 1e-12)
    times = np.arange(count) * hop / rate
    return times, edges[1:-1], db


def hz_to_mel(hz):
    import numpy as np

    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    import numpy as np

    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def envelope_db(audio, rate: int, span_ms: float = ENVELOPE_MS, step_ms: float = ENVELOPE_STEP_MS):
    """RMS in ``step_ms`` windows over the first ``span_ms``, in dB re full scale: ``(ms [N], db [N])``
    at the windows' starts (zero past the end of a shorter sound)."""
    import numpy as np

    step = max(1, round(rate * step_ms / 1000.0))
    count = round(span_ms / step_ms)
    head = np.zeros(step * count)
    piece = np.asarray(audio[:len(head)], dtype=np.float64)
    head[:len(piece)] = piece
    rms = np.sqrt(np.mean(head.reshape(count, step) ** 2, axis=1))
    return np.arange(count) * step * 1000.0 / rate, 20.0 * np.log10(rms + 1e-10)


def plot_comparison(path: str | Path, original, render, rate: int, title: str) -> Path:
    """Write a PNG: original's mel spectrogram above the render's (one colour scale, one time
    axis), and their first 100 ms of envelope overlaid below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sounds = (("original", original, "tab:blue"), ("render", render, "tab:orange"))
    spectra = [mel_spectrogram_db(audio, rate) for _, audio, _ in sounds]
    top = max(float(db.max()) for _, _, db in spectra)
    seconds = max(len(original), len(render)) / rate
    figure = Figure(figsize=(10, 9), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 1, height_ratios=(3, 3, 2))
    ticks_hz = [f for f in (100, 300, 1000, 2000, 4000, 8000, 16000) if f < rate / 2]
    image = None
    for row, ((label, audio, _), (times, mels, db)) in enumerate(zip(sounds, spectra)):
        axes = figure.add_subplot(grid[row])
        image = axes.pcolormesh(times, mels, db, shading="nearest", cmap="magma", vmin=top + FLOOR_DB, vmax=top,
                                rasterized=True)
        axes.set_xlim(0.0, seconds)
        axes.set_yticks(hz_to_mel(ticks_hz), [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks_hz])
        axes.set_ylabel("Hz (mel scale)")
        axes.set_title(f"{label}: {len(audio) / rate:.3f} s", loc="left", fontsize=10)
        if row == 1:
            axes.set_xlabel("time (s)")
    figure.colorbar(image, ax=figure.axes, label="dB (re full scale)", shrink=0.8)
    axes = figure.add_subplot(grid[2])
    curves = [(label, colour, *envelope_db(audio, rate)) for label, audio, colour in sounds]
    loudest = max(float(db.max()) for *_, db in curves)
    for label, colour, ms, db in curves:
        axes.step(ms, db, where="post", color=colour, label=label)
    axes.set_xlim(0.0, ENVELOPE_MS)
    axes.set_ylim(loudest + FLOOR_DB * 0.75, loudest + 6.0)
    axes.set_xlabel("time (ms)")
    axes.set_ylabel("1 ms RMS (dBFS)")
    axes.set_title(f"first {ENVELOPE_MS:g} ms of envelope", loc="left", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", ncols=2, framealpha=0.9)
    figure.suptitle(title)
    figure.savefig(str(path), dpi=100)
    return Path(path)
