"""Commands for builders: ``neurorack calibrate`` and ``neurorack hw check``.

Nothing heavy is imported at module level: ``neurorack --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from neurorack.config.module import ModuleConfig
from neurorack.controls.calibration import (
    DEFAULT_HIGH_VOLTS,
    DEFAULT_LOW_VOLTS,
    DEFAULT_READS,
)

CALIBRATE_HELP = """\
Calibrate the CV inputs: for each, patch two known voltages (from a precise source: a
calibrated module or a bench supply, checked with a multimeter) when asked. Scale and
offset are computed, the 1V/oct error is shown in cents, and the result is saved in the
state directory (calibration.yaml), where 'neurorack run' picks it up. Stop the running
module first (sudo systemctl stop neurorack): both would use the ADC.

A clipped reading, two readings too close together or the wrong way round, and a scale
more than 20 % or an offset more than 0.5 V from the board file's are refused. The result
is shown and saved only when you answer y to "save? [y/N]"; --yes saves without asking
(without a terminal, nothing is saved unless --yes is given). --reset forgets the saved
calibration of the --inputs: they go back to the board file's values.

With --mock, a simulated module whose resistors are a little off is calibrated, and the
voltages are patched for you.
"""

HW_CHECK_HELP = """\
Bring up a module: check that the buses the board file names are enabled and accessible,
then show every channel's live voltage and every encoder and button event for a few
seconds, with a diagnosis of what is missing. Turn the encoder and press the button
while it runs. With --mock, the simulated board is checked, and a turn and a press are
played on it.
"""


def register(commands) -> None:
    calibrate = commands.add_parser("calibrate", help="calibrate the CV inputs with two known voltages each",
                                    description=CALIBRATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    calibrate.add_argument("--inputs", default="cv1,cv2,cv3,cv4", metavar="NAMES",
                           help="comma-separated CV inputs to calibrate (default: %(default)s)")
    calibrate.add_argument("--low", type=float, default=DEFAULT_LOW_VOLTS, metavar="VOLTS",
                           help="first known voltage (default: %(default)s V)")
    calibrate.add_argument("--high", type=float, default=DEFAULT_HIGH_VOLTS, metavar="VOLTS",
                           help="second known voltage (default: %(default)s V)")
    calibrate.add_argument("--reads", type=int, default=DEFAULT_READS, metavar="N",
                           help="reads averaged per voltage, about 0.3 ms each (default: %(default)s)")
    calibrate.add_argument("--mock", action="store_true",
                           help="calibrate a simulated module; the voltages are patched for you")
    calibrate.add_argument("--board", help="board name or file (default: the config's board)")
    calibrate.add_argument("--yes", action="store_true", help="save the result without asking")
    calibrate.add_argument("--reset", action="store_true",
                           help="forget the saved calibration: go back to the board file's values")
    calibrate.set_defaults(handler=calibrate_command)

    hw = commands.add_parser("hw", help="hardware bring-up tools", description="Hardware bring-up tools.")
    hw_commands = hw.add_subparsers(dest="hw_command", metavar="TOOL")
    hw_commands.required = True
    check = hw_commands.add_parser("check", help="check buses, show live inputs and events, diagnose",
                                   description=HW_CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--board", help="board name or file (default: the config's board)")
    check.add_argument("--mock", action="store_true", help="check the simulated mock board")
    check.add_argument("--seconds", type=float, default=5.0, metavar="N",
                       help="how long to show live values (default: %(default)s)")
    check.set_defaults(handler=hw_check_command)


# -- neurorack calibrate -------------------------------------------------------------------

# The simulated module's resistors: a little off the board file's values, as a real build is.
MOCK_HARDWARE_SCALES = {"cv1": (3.07, -5.08), "cv2": (3.00, -4.95), "cv3": (3.05, -5.02), "cv4": (2.99, -4.97)}


def calibrate_command(args: argparse.Namespace, config: ModuleConfig) -> int:
    from neurorack.config.board import CV_INPUTS, load_board
    from neurorack.controls.calibration import (
        TwoPointRoutine,
        describe,
        reset_calibration,
        save_calibration,
    )
    from neurorack.errors import NeurorackError
    from neurorack.hardware.adc import open_adc, open_simulated_adc
    from neurorack.hardware.scenario import Constant, Scenario
    from neurorack.progress import progress_bar

    names = [name.strip() for name in args.inputs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CV_INPUTS]
    if unknown or not names:
        raise NeurorackError(f"--inputs: expected names from {', '.join(CV_INPUTS)}, got {args.inputs!r}")
    if args.high == args.low:
        raise NeurorackError("--low and --high: expected two different voltages")
    board = load_board("mock" if args.mock else (args.board or config.board))
    if args.reset:
        forgotten = reset_calibration(config.resolved_state_dir(), board, names)
        print(f"{', '.join(forgotten)}: back to the board file's values" if forgotten
              else "no saved calibration: the board file's values are in use")
        return 0
    patched: dict = {}
    if args.mock:
        adc = open_simulated_adc(board, Scenario(patched), noise_lsb=0.5, scales=MOCK_HARDWARE_SCALES)
    else:
        adc = open_adc(board)
    results = {}
    try:
        for name in names:
            routine = TwoPointRoutine(adc.driver, board, name, args.low, args.high, args.reads)
            while routine.next_volts is not None:
                volts = routine.next_volts
                if args.mock:
                    patched[name] = Constant(volts)
                    print(f"{name}: patching {volts:g} V (simulated)")
                else:
                    input(f"{name}: patch exactly {volts:g} V into {name}, then press Enter ")
                show = progress_bar(f"  reading {name}")
                routine.read(show)
                if show is not None:
                    show(1.0)
                    show.close()
            results[name] = routine.result
            print(describe(results[name]))
    except EOFError:
        raise NeurorackError("calibration needs answers on the terminal; nothing was saved") from None
    finally:
        adc.close()
    if not confirm_save(args.yes):
        print("not saved: the calibration in use is unchanged")
        return 1
    path = save_calibration(config.resolved_state_dir(), board, results)
    print(f"saved to {path}")
    return 0


def confirm_save(yes: bool) -> bool:
    """Ask "save? [y/N]" on the terminal; True with ``yes``.

    Raises:
        NeurorackError: no terminal to ask on, and no ``yes``.
    """
    from neurorack.errors import NeurorackError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise NeurorackError("not saved: there is no terminal to answer 'save? [y/N]'; "
                             "pass --yes to save without asking")
    try:
        answer = input("save? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


# -- neurorack hw check --------------------------------------------------------------------

def hw_check_command(args: argparse.Namespace, config: ModuleConfig) -> int:
    from neurorack.cli.hw_check import run_hw_check

    return run_hw_check(config, "mock" if args.mock else (args.board or config.board), args.seconds)
