"""Every ``neurorack bench ...`` subcommand, registered in one place; each handler imports
what it measures when it runs (``neurorack --help`` stays fast and works without torch)."""

from __future__ import annotations

import argparse
import json

from neurorack.argtypes import command_line, positive_float, positive_int
from neurorack.config.module import SUPPORTED_BLOCK_SIZES
from neurorack_bench.faults import FAMILIES

OFFLINE_HELP = """\
Render the demo performance (the built-in scenario, read through the simulated ADC) through
the engine on the offline backend, RUNS times, without writing its screen animation, and
print the median run's figures: the audio render's real-time factor, the time the simulated
jacks took, and the factor with both passes. The figures measured so far, and on which
machine: docs/realtime.md."""

STARTUP_HELP = """\
Start the daemon ('neurorack run --mock', audio paced into a WAV file, gate 1 high from the
start) as a new process, once cold (empty bytecode cache) and RUNS times warm, and print the
time to READY=1 (sd_notify), to the first audible sample of the default sound, the peak
resident memory (VmHWM), and whether torch was loaded (it must not be). Targets: ready
within 1.5 s, sound within 2 s, under 150 MB."""

SOAK_HELP = """\
Start a CPU hog pinned to the last core, and JACK's dummy driver on that same core (unless
a JACK server runs; stopped afterwards), where its clock never waits for an idle core to
wake up. Run the trivial sine client for N minutes as the baseline, and
the module for N minutes, taking turns (a minute each by default, every other pair in the
other order) so that both see the same host. The module: the instrument on the model the
daemon plays with no saved state (drums-v2 when installed; the test voice when no model
is), the mock board's panel (the simulated MCP3008 through the real driver and ADC poller)
with LFOs on the four CVs, gate 1 at 8 Hz and gate 2 at 0.5 Hz, the UI redrawing to an
in-memory screen, and the encoder switching sounds every 5 s. Its audio callback and
render thread run on the server's core (audio.cpu, unless the config sets it), where the
server wakes the callback without waking the other core; the sine client runs where the
kernel puts it.

Prints underflows against the baseline, and the server's xruns by cause (its own cycle
started late, its timer thread held up; a client not finished in time), late renders,
lookahead raises and drops, gate latency p1/p50/p99/max and jitter (on JACK's clock, as
'bench realtime'), to where the engine placed each onset and to where its sound starts in
the output, render time per block and by part, UI frame rate and poller rate. With the
default 10 minutes it takes about 21."""


def register(benches) -> None:
    """Add every benchmark to ``neurorack bench``."""
    realtime = benches.add_parser(
        "realtime", help="the engine on JACK's dummy driver: callbacks, underflows, gate latency and jitter",
        description="Start JACK's dummy driver (unless a JACK server runs; stopped afterwards), run a trivial "
                    "sine client as the baseline, then the engine with a gate every 250 ms, each for N "
                    "seconds. Gate latency is measured on JACK's cycle timeline, to where the engine placed "
                    "each onset and to where its sound starts in the output; each block's render time is "
                    "split into its parts (model network, synthesis, voices, output stage, engine).")
    realtime.add_argument("--seconds", type=positive_float, default=10.0, metavar="N",
                          help="length of each of the two runs (default: %(default)s)")
    realtime.add_argument("--voice", choices=("test", "busy", "model"), default="test",
                          help="test: the built-in test voice; busy: a deliberately overloaded voice, to show "
                               "that dropouts are counted; model: the installed default model with its sound "
                               "bank, as the module plays it (default: %(default)s)")
    realtime.add_argument("--block-size", type=int, choices=SUPPORTED_BLOCK_SIZES, default=None, metavar="FRAMES",
                          help="frames per block, for the baseline and the engine (default: the config's "
                               "audio.block_size)")
    realtime.add_argument("--no-baseline", action="store_true", help="skip the sine-client baseline")
    realtime.add_argument("--json", action="store_true", help="print JSON")
    realtime.set_defaults(handler=run_realtime_command)

    bench = benches.add_parser(
        "controls", help="the ADC poller on the simulated board: reads/s, CPU, gate detection latency",
        description="Run the poller over the real MCP3008 driver and the simulated SPI bus for N seconds, "
                    "with gate patterns on both gate inputs (and 50 mV of noise), and measure reads per second, "
                    "the poller thread's CPU, and gate detection latency (true edge to edge delivered).")
    bench.add_argument("--seconds", type=float, default=10.0, metavar="N", help="length (default: %(default)s)")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(handler=_controls)

    soak = benches.add_parser("soak", help="the whole module for minutes on JACK's dummy driver, under load",
                              description=SOAK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    soak.add_argument("--minutes", type=positive_float, default=10.0, metavar="N",
                      help="how long each of the two plays, baseline and module (default: %(default)s)")
    soak.add_argument("--slices", type=positive_int, default=None, metavar="K",
                      help="how many turns each of the two takes (default: one per minute)")
    soak.add_argument("--no-baseline", action="store_true", help="skip the sine-client baseline")
    soak.add_argument("--no-hog", action="store_true", help="no CPU hog on the other core")
    soak.add_argument("--python-callback", action="store_true",
                      help="play through the audio callback in Python instead of the C one, to compare them")
    soak.add_argument("--block-size", type=int, choices=SUPPORTED_BLOCK_SIZES, default=None, metavar="FRAMES",
                      help="frames per block, for the baseline and the module (default: the config's "
                           "audio.block_size)")
    soak.add_argument("--json", action="store_true", help="print JSON")
    soak.set_defaults(handler=run_soak_command)

    bench = benches.add_parser(
        "model", help="a model's size and single-thread speed at 48 kHz, 128-sample blocks",
        description="Parameters, bytes, MACs per second of audio, and the real-time factor (audio seconds per "
                    "compute second) on one thread with 128-sample blocks, for the NumPy runtime and torch eager "
                    "(when torch is installed).")
    bench.add_argument("model", metavar="MODEL_DIR", help="an exported model folder")
    bench.add_argument("--seconds", type=float, default=10.0, help="audio rendered per path (default: %(default)s)")
    bench.add_argument("--block-size", type=int, default=128, help="samples per block (default: %(default)s)")
    bench.add_argument("--paths", default="numpy,eager",
                       help="comma-separated paths to measure (default: %(default)s)")
    bench.add_argument("--write", action="store_true", help="also record the figures in the model's model.yaml")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(handler=run_model_command)

    families = "\n".join(f"  {name:<9} {text} (default {count} cases)"
                         for name, (_, count, text) in FAMILIES.items())
    faults = benches.add_parser(
        "faults", help="inject faults (bad files, crashes, kills, pressure) and count what survives",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Inject faults into the real code paths, family by family, and print per family how many "
                    "cases were tried, survived and lost, with the first failures. Exits 1 if any case was "
                    "lost. Families:\n" + families)
    faults.add_argument("--family", action="append", choices=tuple(FAMILIES), metavar="NAME",
                        help="run only this family; repeat for several (default: all, in the order above)")
    faults.add_argument("--trials", type=int, metavar="N",
                        help="cases per family (default: each family's own, listed above)")
    faults.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    faults.add_argument("--json", action="store_true", help="print the result as JSON")
    faults.set_defaults(handler=run_faults_command)

    offline = benches.add_parser("offline", help="the demo rendered offline: real-time factor of the audio render",
                                 description=OFFLINE_HELP)
    offline.add_argument("--seconds", type=positive_float, default=8.0, metavar="N",
                         help="length of the performance (default: %(default)s)")
    offline.add_argument("--voice", choices=("test", "model"), default="test",
                         help="test: the built-in test voice; model: the installed default model with its "
                              "sound bank (default: %(default)s)")
    offline.add_argument("--runs", type=positive_int, default=3, metavar="RUNS", help="renders to take the median of "
                                                                          "(default: %(default)s)")
    offline.add_argument("--json", action="store_true", help="print JSON")
    offline.set_defaults(handler=_offline)

    startup = benches.add_parser("startup", help="time from process start to READY=1 and to the first sound; "
                                                 "peak memory; torch must not load", description=STARTUP_HELP)
    startup.add_argument("--runs", type=positive_int, default=3, metavar="RUNS",
                         help="warm runs to take the median of (default: %(default)s)")
    startup.add_argument("--json", action="store_true", help="print JSON")
    startup.set_defaults(handler=_startup)


def run_realtime_command(args: argparse.Namespace, config) -> int:
    from neurorack_bench.realtime import run_realtime_bench

    result = run_realtime_bench(config, args.seconds, args.voice, baseline=not args.no_baseline,
                                block_size=args.block_size)
    print(json.dumps(result, indent=2) if args.json else _summarise_realtime(result))
    return 0


def _summarise_realtime(result: dict) -> str:
    from neurorack_bench.realtime import render_parts_summary, sound_summary

    latency = result["gate_latency_ms"]
    lines = [
        f"{result['seconds']:.1f} s at {result['sample_rate']} Hz, {result['block_size']}-frame blocks, "
        f"voice: {result['voice']}" + (f", sound {result['sound']}" if result["sound"] else ""),
        f"callbacks {result['callbacks']} (expected {result['expected_callbacks']})",
        (f"underflows {result['underflows']} (sine baseline: {result.get('baseline_underflows', 'not run')}), "
         f"late renders {result['late_renders']} (lookahead raised {result['lookahead_raises']}x, "
         f"lowered {result['lookahead_drops']}x)"),
        (f"gate latency p1 {latency['p1']:.2f} / p50 {latency['p50']:.2f} / p99 {latency['p99']:.2f} / "
         f"max {latency['max']:.2f} ms, jitter {result['jitter_ms']:.2f} ms over {result['gates']} gates"),
        sound_summary(result),
        f"render time per block p50 {result['render_ms']['p50']:.3f} / p99 {result['render_ms']['p99']:.3f} ms",
        render_parts_summary(result),
    ]
    return "\n".join(lines)


def _controls(args: argparse.Namespace, config) -> int:
    from neurorack_bench.controls import bench_controls_command

    return bench_controls_command(args, config)


def run_soak_command(args, config) -> int:
    import json

    from neurorack.progress import progress_bar
    from neurorack_bench.soak import run_soak_bench, summarise

    progress = progress_bar("soak")
    result = run_soak_bench(config, args.minutes, baseline=not args.no_baseline, hog=not args.no_hog,
                            native_callback=not args.python_callback, slices=args.slices, progress=progress,
                            block_size=args.block_size)
    if progress is not None:
        progress.close()
    print(json.dumps(result, indent=2) if args.json else summarise(result))
    return 0


def run_model_command(args: argparse.Namespace, config) -> int:
    from neurorack.audio.backends.native_callback import installed_callback
    from neurorack.ml.speed import bench_model

    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    result = bench_model(args.model, seconds=args.seconds, block_size=args.block_size, paths=paths)
    result["audio_callback"] = installed_callback()
    if args.write:
        from neurorack.ml.export import read_card, write_card

        card = read_card(args.model)
        card["speed"] = {"command": command_line(args), "path": result["path"], "rtf_1thread": result["rtf_1thread"],
                         "block_ms": result["block_ms"],
                         "paths": {k: v.get("rtf_1thread", v.get("error")) for k, v in result["paths"].items()}}
        write_card(args.model, card)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['params']} parameters, {result['bytes']} bytes, "
              f"{result['macs_per_second_of_audio'] / 1e6:.1f} M MAC/s of audio; kept path: {result['path']}")
        for name, row in result["paths"].items():
            print(f"  {name:<12} {row['rtf_1thread']:.1f}x real time, block p50 {row['block_ms']['p50']:.3f} / "
                  f"p99 {row['block_ms']['p99']:.3f} / max {row['block_ms']['max']:.3f} ms")
    return 0


def run_faults_command(args: argparse.Namespace, config) -> int:
    """Run the families; exit 0 when nothing was lost, 1 otherwise."""
    from neurorack.progress import progress_bar
    from neurorack_bench.faults import run_faults, summary_table

    bars: dict = {}

    def progress(family: str, done: int, total: int) -> None:
        if family not in bars:
            for bar in bars.values():
                if bar is not None:
                    bar.close()
            bars.clear()
            bars[family] = progress_bar(f"faults: {family:<9}")
        if bars[family] is not None:
            bars[family](done / max(total, 1))

    report = run_faults(args.family, args.trials, args.seed, progress=progress)
    for bar in bars.values():
        if bar is not None:
            bar.close()
    print(json.dumps(report, indent=2) if args.json else summary_table(report))
    return 0 if report["totals"]["lost"] == 0 else 1


def _offline(args: argparse.Namespace, config) -> int:
    from neurorack_bench.offline import run_offline_command

    return run_offline_command(args, config)


def _startup(args: argparse.Namespace, config) -> int:
    from neurorack_bench.startup import run_startup_command

    return run_startup_command(args, config)
