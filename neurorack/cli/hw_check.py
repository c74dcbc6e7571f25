"""``neurorack hw check``: what was found, live inputs and events, and a diagnosis."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from neurorack.audio.backends.native_callback import (
    callback_summary,
    installed_callback,
)
from neurorack.config.board import ALL_INPUTS, BoardConfig, load_board
from neurorack.config.module import ModuleConfig
from neurorack.core.compiled_frame import installed_frame
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.errors import NeurorackError


def check_buses(board: BoardConfig) -> list[tuple[str, bool, str]]:
    """``(what, ok, detail)`` for the ADC's SPI device, the screen's bus and GPIO."""
    from neurorack.hardware.real import (
        HardwareUnavailable,
        check_device,
        spi_device_path,
    )

    if board.is_simulated:
        return [("ADC", True, "simulated MCP3008 on a simulated SPI bus"),
                ("GPIO", True, "simulated RPi.GPIO"), ("screen", True, "none needed (mock)")]
    found = []
    checks: list[tuple[str, Callable[[], None], str]] = [
        ("ADC (SPI)", lambda: check_device(spi_device_path(board), "SPI", "spi", board), str(spi_device_path(board))),
    ]
    if board.display.interface == "i2c":
        i2c = Path(f"/dev/i2c-{board.display.bus}")
        checks.append(("screen (I2C)", lambda: check_device(i2c, "I2C", "i2c", board), str(i2c)))
    for what, check, detail in checks:
        try:
            check()
            found.append((what, True, detail))
        except HardwareUnavailable as exc:
            found.append((what, False, str(exc)))
    try:
        from neurorack.hardware.real import import_gpio

        import_gpio(board)
        found.append(("GPIO", True, board.gpio.backend))
    except HardwareUnavailable as exc:
        found.append(("GPIO", False, str(exc)))
    return found


def diagnose(board: BoardConfig, codes_seen: dict[str, set[int]], fault: str | None, turns: int,
             presses: int) -> list[str]:
    """Plain-language findings from what the live check saw."""
    notes = []
    if fault:
        notes.append(f"ADC fault: {fault}")
    for name, codes in codes_seen.items():
        if not codes:
            continue
        if codes <= {0} and not name.startswith("gate"):  # an idle gate reads 0
            notes.append(f"{name} reads 0 all the time: nothing patched, or its conditioning has no supply")
        elif codes <= {1023}:
            notes.append(f"{name} reads full scale all the time: check its input divider and VREF")
    if turns == 0:
        notes.append(f"no encoder turn seen: turn it; if it still shows nothing, check pins "
                     f"{board.encoder.pin_a}/{board.encoder.pin_b} and the common contact to ground")
    if presses == 0:
        notes.append(f"no button press seen: press it; if it still shows nothing, check pin {board.button.pin}")
    return notes


def run_hw_check(config: ModuleConfig, board_name: str, seconds: float, out=print) -> int:
    """Print the check; returns 0 when everything needed was found, 1 otherwise."""
    from neurorack.controls.panel import open_panel
    from neurorack.hardware.contacts import button_press, encoder_turn

    board = load_board(board_name)
    out(f"board: {board.name} ({board_name})")
    out(f"audio callback: {callback_summary(installed_callback())}")
    out(f"model frame: {installed_frame()}")
    buses = check_buses(board)
    for what, ok, detail in buses:
        out(f"  {'ok     ' if ok else 'MISSING'} {what}: {detail}")
    if not all(ok for what, ok, _ in buses if not what.startswith("screen")):
        out("diagnosis: fix the MISSING items above, then run this again")
        return 1
    edges = []
    try:
        panel = open_panel(board, edges.append, state_dir=config.resolved_state_dir())
    except NeurorackError as exc:
        out(f"diagnosis: {exc}")
        return 1
    codes_seen: dict[str, set[int]] = {name: set() for name in ALL_INPUTS if board.input(name).channel is not None}
    turns = presses = 0
    with panel:
        if board.is_simulated:  # show the whole path working: a turn and a press on the simulated panel
            panel.gpio.play(encoder_turn(2, board.encoder.pin_a, board.encoder.pin_b, start_s=0.3, seed=1)
                            + button_press(board.button.pin, 0.1, start_s=0.6, seed=2))
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(0.5)
            status = panel.status()
            for name, seen in codes_seen.items():
                seen.add(int(panel.poller.codes[board.input(name).channel]))
            cvs = " ".join(f"{round(v, 3) + 0.0:+6.3f}" for v in status.cv_volts)  # never -0.000
            pots = " ".join(f"{v:4.2f}" for v in status.pots)
            gates = "".join("H" if g else "." for g in status.gates)
            out(f"  cv {cvs} V | pots {pots} | gates {gates} | edges {len(edges)}"
                + (f" | FAULT {status.fault}" if status.fault else ""))
            while not panel.events.empty():
                event = panel.events.get_nowait()
                if isinstance(event, EncoderTurn):
                    turns += 1
                    out(f"    encoder {event.steps:+d}")
                elif isinstance(event, ButtonEvent):
                    presses += event.kind == "press"
                    out(f"    button {event.kind}")
        fault = panel.status().fault
    notes = diagnose(board, codes_seen, fault, turns, presses)
    out("diagnosis: " + ("everything answered" if not notes else ""))
    for note in notes:
        out(f"  - {note}")
    return 0 if not fault else 1
