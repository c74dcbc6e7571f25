"""The ``neurorack`` command.

Each subcommand imports what it needs when it runs, so ``neurorack --help`` is fast and
never touches audio or hardware libraries.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import replace

from neurorack import __version__
from neurorack.argtypes import positive_float
from neurorack.config.module import (
    CONFIG_ENV,
    LOG_LEVELS,
    ModuleConfig,
    load_module_config,
)
from neurorack.errors import NeurorackError
from neurorack.memory_limits import out_of_memory

# The modules of the subcommands, each with ``register(commands)``, which adds its parsers and
# sets ``handler=function(args, config) -> exit code`` on them; the benchmarks are registered
# by ``neurorack_bench.commands``. None imports anything heavy (torch, numpy, hardware
# libraries) at module level.
COMMAND_MODULES: tuple[str, ...] = ("neurorack.cli.service", "neurorack.cli.ml", "neurorack.cli.hw",
                                     "neurorack.cli.sound", "neurorack.cli.trim", "neurorack.cli.resynth")

DESCRIPTION = """\
Neurorack: a Eurorack module that plays a trimmed, descriptor-conditioned neural sound
model, and the toolbox around it.

Every setting has a default, so no config file is needed. Print all of them, with
explanations, with 'neurorack config --defaults'.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurorack", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neurorack {__version__}")
    _add_common_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run", help="run the module daemon",
        description="Run the module: audio engine, controls, until Ctrl-C or SIGTERM (then it fades out, "
                    "closes the stream and exits 0).")
    run.add_argument("--mock", action="store_true",
                     help="simulated controls instead of the board's hardware: played from the keys when stdin "
                          "is a terminal (the OLED is drawn in it), else a scripted scenario (see --scenario); "
                          "with no sound device, audio goes to a WAV file in real time")
    run.add_argument("--device", help="output device index or (part of) its name (default: audio.device; "
                                      "JACK if running, else the system default)")
    run.add_argument("--wav", default="neurorack-run.wav", metavar="FILE",
                     help="where --mock writes audio when there is no sound device (default: %(default)s)")
    run.add_argument("--seconds", type=positive_float, metavar="N",
                     help="stop by itself after N seconds (default: run until stopped)")
    run.add_argument("--scenario", metavar="FILE",
                     help="with --mock: what is patched into the simulated jacks, a scenario YAML (default: the "
                          "built-in one, a drum pattern on gate 1 and slow LFOs on the CVs; with a terminal on "
                          "stdin it plays until your first key, then the keys alone: g/h gates, up/k and down/j "
                          "turn, space/enter press, l long press, 1-4 pick a CV, +/- 1/12 V, </> 1 V, 0 reset, "
                          "q quit)")

    demo = commands.add_parser(
        "demo", help="render a scripted performance to a WAV file and the screen to a GIF",
        description="Play a scripted performance through the instrument (the installed default model and its "
                    "sound bank; the test voice when no model is installed): gates on both inputs, the encoder "
                    "switching sounds, and a pitch LFO, accents, a brightness sweep and a noisiness swell on the "
                    "CVs. The jacks are read as 'run --mock' reads them (the simulated MCP3008, its real driver, "
                    "the poller's CV conditioning and gate detector), on a virtual clock. Rendered offline, faster "
                    "than real time, to a WAV file, and the OLED following the same performance to a GIF beside it "
                    "(same name, .gif).")
    demo.add_argument("--out", default="neurorack-demo.wav", metavar="FILE",
                      help="WAV file to write (default: %(default)s)")
    demo.add_argument("--seconds", type=positive_float, default=8.0, metavar="N",
                      help="length of the performance (default: %(default)s)")
    demo.add_argument("--scenario", metavar="FILE",
                      help="what is patched into the jacks, a scenario YAML (as for 'run --mock'), read through "
                           "the simulated ADC at the mock board's poll rate (default: the built-in demo scenario: "
                           "eighth notes on gate 1, gate 2 every fourth beat, a pitch LFO, accents, a brightness "
                           "sweep and a noisiness swell on the CVs)")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")

    bench = commands.add_parser("bench", help="measure speed and timing; prints figures (JSON with --json)",
                                description="Benchmarks. Each prints its figures; --json for machines.")
    benches = bench.add_subparsers(dest="bench", metavar="BENCH")
    benches.required = True

    commands.add_parser("devices", help="list the sound output devices PortAudio sees",
                        description="List output devices with their index, for audio.device or --device.")

    config = commands.add_parser("config", help="print the default config, or check a config file",
                                 description="Print every setting with its default and meaning, or check a file.")
    group = config.add_mutually_exclusive_group(required=True)
    group.add_argument("--defaults", action="store_true", help="print the full default config as YAML")
    group.add_argument("--check", metavar="FILE", help="validate FILE and report every problem")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    from neurorack_bench.commands import register as register_benches

    register_benches(benches)
    _accept_common_options_after_commands(commands)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--config", metavar="FILE", default=default,
                        help=f"module config YAML (default: ${CONFIG_ENV} if set, else built-in defaults)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=default,
                        help="override the config's log_level (default: info)")


def _accept_common_options_after_commands(commands) -> None:
    """``--config`` and ``--log-level`` also after a command (``neurorack run --config X``), at
    any depth (``neurorack bench offline --config X``). SUPPRESS as the default keeps a value
    given before the command when none is given after it."""
    for parser in set(commands.choices.values()):
        _add_common_options(parser, default=argparse.SUPPRESS)
        for action in parser._actions:  # noqa: SLF001 - argparse lists subcommands only there
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                _accept_common_options_after_commands(action)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed, for run folders and cards
    try:
        return _dispatch(args)
    except NeurorackError as exc:
        print(f"neurorack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        print("neurorack: error: out of memory; close other programs, or raise the service's memory limit",
              file=sys.stderr)
        return 2


# What the dynamic loader says when it cannot map a library for lack of address space.
def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        return _config_command(args)
    config = load_module_config(args.config)
    from neurorack.logging_setup import setup_logging

    setup_logging(args.log_level or config.log_level)
    handler = getattr(args, "handler", None)
    if handler is not None:
        return handler(args, config)
    if args.command == "run":
        from neurorack.memory_limits import before_numpy

        before_numpy()
        from neurorack.app.daemon import run_daemon

        if args.device is not None:
            device = int(args.device) if args.device.isdigit() else args.device
            config = replace(config, audio=replace(config.audio, device=device))
        return run_daemon(config, mock=args.mock, wav_path=args.wav, seconds=args.seconds,
                          scenario_path=args.scenario)
    if args.command == "demo":
        return _demo_command(config, args)
    if args.command == "devices":
        from neurorack.audio.backends.sound_device import import_sounddevice, list_output_devices

        devices = list_output_devices(import_sounddevice())
        if not devices:
            print("no output devices (start JACK, or connect an audio interface)")
        for index, description in devices:
            print(f"{index:>3}  {description}")
        return 0
    raise AssertionError(args.command)


def _config_command(args: argparse.Namespace) -> int:
    from neurorack.config.module import default_config_yaml

    if args.defaults:
        print(default_config_yaml(), end="")
        return 0
    load_module_config(args.check)
    print(f"{args.check}: OK")
    return 0


def _demo_command(config: ModuleConfig, args: argparse.Namespace) -> int:
    from neurorack.app.demo import render_demo
    from neurorack.progress import progress_bar

    performance = None
    if args.scenario is not None:
        from neurorack.app.demo import demo_performance
        from neurorack.hardware.scenario import load_scenario

        performance = demo_performance(args.seconds, load_scenario(args.scenario), source=args.scenario)
    progress = None if args.json else progress_bar("rendering")
    result = render_demo(config, args.out, args.seconds, progress=progress, performance=performance)
    if progress is not None:
        progress.close()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"wrote {result['path']}: {result['seconds']:.1f} s at {config.audio.sample_rate} Hz, "
              f"{result['gates']} gates, rendered in {result['render_s']:.2f} s "
              f"({result['realtime_factor']:.0f}x real time) after reading the jacks through the simulated ADC "
              f"in {result['jacks_s']:.2f} s")
    return 0
