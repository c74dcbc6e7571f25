"""The UI loop and thread: redraw only on change, at most 20 fps, debounced saves, sleep,
and a GIF of a scripted sequence."""

from __future__ import annotations

import queue
import time

from PIL import Image

from neurorack.config.state import ModuleState, StateStore
from neurorack.core.events import ButtonEvent, EncoderTurn, InputStatus
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.recording import render_gif
from neurorack.ui.ui_thread import UiLoop, start_ui
from tests.ui.conftest import Clock


class CountingDisplay:
    def __init__(self):
        self.images = []
        self.brightness = []
        self.closed = False

    def show(self, image):
        self.images.append(image)

    def set_brightness(self, level):
        self.brightness.append(level)

    def close(self):
        self.closed = True


def make_loop(tmp_path, state=None):
    clock = Clock()
    facade = MockFacade(clock)
    display = CountingDisplay()
    navigator = Navigator(load_menu(), facade, state or ModuleState(sound="Kick 808"), now=0.0)
    return UiLoop(navigator, facade, display, StateStore(tmp_path), clock), clock, facade, display


def test_redraws_only_when_the_picture_changes(tmp_path):
    loop, clock, facade, display = make_loop(tmp_path)
    assert loop.step() is True
    for _ in range(10):
        clock.now += 0.06
        assert loop.step() is False
    facade.with_status(cv_volts=(1.0, 0.0, 0.0, 0.0))
    clock.now += 0.06
    assert loop.step() is True
    assert len(display.images) == 2


def test_never_more_than_20_frames_a_second(tmp_path):
    loop, clock, facade, display = make_loop(tmp_path)
    for tick in range(1000):  # the CVs change every millisecond for one second
        clock.now = tick / 1000
        facade.with_status(cv_volts=(tick / 250, 0.0, 0.0, 0.0))
        loop.step()
    assert 19 <= len(display.images) <= 20


def test_settings_are_saved_once_the_encoder_rests(tmp_path):
    loop, clock, _, _ = make_loop(tmp_path)
    for event in (ButtonEvent("short", 0.1), EncoderTurn(4, 0.2), ButtonEvent("short", 0.3),
                  EncoderTurn(-1, 0.4), ButtonEvent("short", 0.5), EncoderTurn(-2, 0.6)):
        clock.now = event.time
        loop.feed(event)
        loop.step()
    assert not (tmp_path / "state.yaml").exists()  # still turning
    clock.now = 1.7
    loop.step()
    saved = StateStore(tmp_path).load()
    assert saved == loop.navigator.state and saved.levels.gain_db < 0


def test_a_touch_wakes_a_sleeping_screen_without_acting(tmp_path):
    loop, clock, _, display = make_loop(tmp_path, ModuleState().with_value("screen.sleep_s", 60))
    loop.step()
    clock.now = 61
    loop.step()
    assert display.images[-1].getbbox() is None  # dark
    loop.feed(ButtonEvent("short", 61.0))
    clock.now = 61.1
    loop.step()
    assert display.images[-1].getbbox() is not None
    assert loop.navigator.depth == 1  # the waking press did not open the menu


def test_brightness_follows_the_setting(tmp_path):
    loop, clock, _, display = make_loop(tmp_path)
    loop.step()
    loop.navigator.state = loop.navigator.state.with_value("screen.brightness", 0.25)
    clock.now = 0.1
    loop.step()
    assert display.brightness == [0.8, 0.25]


def test_start_ui_restores_state_runs_and_saves_on_stop(tmp_path):
    (tmp_path / "state.yaml").write_text("sound: Hat closed\nlevels: {gain_db: -3}\n")
    events: queue.Queue = queue.Queue()
    display = CountingDisplay()
    facade = MockFacade(time.monotonic)
    ui = start_ui(facade, events, display, tmp_path)
    try:
        assert ui.state.sound == "Hat closed" and ui.state.levels.gain_db == -3.0
        now = time.monotonic()
        for event in (ButtonEvent("short", now), ButtonEvent("short", now), EncoderTurn(1, now),
                      ButtonEvent("short", now)):
            events.put(event)
        deadline = time.monotonic() + 5
        while ui.state.sound != "Tom low" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ui.state.sound == "Tom low"
    finally:
        ui.stop()
    assert display.closed and ui.error is None
    assert StateStore(tmp_path).load().sound == "Tom low"
    assert ("select_sound", "Tom low") in facade.calls


def test_a_display_with_max_fps_is_redrawn_at_most_that_often():
    from neurorack.ui.display import TerminalView

    terminal = CountingDisplay()
    terminal.max_fps = TerminalView.max_fps  # its text drawing competes with the render thread
    intervals = []
    for display in (terminal, CountingDisplay()):
        ui = start_ui(MockFacade(time.monotonic), queue.Queue(), display, None)
        ui.stop()
        intervals.append(ui.loop.min_interval_s)
    assert intervals == [0.1, 0.05]


def test_corrupt_state_shows_a_warning_on_the_home_page(tmp_path):
    (tmp_path / "state.yaml").write_text("levels: {gain_db: [")
    display = CountingDisplay()
    ui = start_ui(MockFacade(time.monotonic), queue.Queue(), display, tmp_path)
    try:
        deadline = time.monotonic() + 5
        while not display.images and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        ui.stop()
    assert ui.loop.warnings[0].startswith("settings reset:")
    assert ui.state == ModuleState()
    warning_strip = display.images[0].crop((35, 56, 128, 64))
    assert warning_strip.getbbox() is not None  # the inverted warning bar is drawn


def test_scripted_sequence_renders_to_a_gif(tmp_path):
    path = tmp_path / "ui.gif"
    script = [(0.0, InputStatus((1.0, 0.0, 0.0, 0.0))), (0.5, ButtonEvent("short", 0.5)),
              (1.0, EncoderTurn(2, 1.0)), (1.5, ButtonEvent("long", 1.5))]
    result = render_gif(path, script, seconds=2.0, scale=1)
    gif = Image.open(path)
    assert result["frames"] == gif.n_frames == 4  # home, menu, menu moved, home
    total = 0
    for index in range(gif.n_frames):
        gif.seek(index)
        total += gif.info["duration"]
    assert total == 2000


def test_demo_tour_renders(tmp_path):
    result = render_gif(tmp_path / "demo.gif")
    assert result["frames"] > 20 and (tmp_path / "demo.gif").stat().st_size > 1000


class OutOfMemoryDisplay(CountingDisplay):
    """A screen whose driver cannot allocate (FreeType and PIL say "out of memory")."""

    def show(self, image):
        raise OSError("out of memory")


def test_out_of_memory_in_the_ui_is_one_log_line_and_the_ui_keeps_trying(tmp_path, caplog):
    display = OutOfMemoryDisplay()
    ui = start_ui(MockFacade(time.monotonic), queue.Queue(), display, tmp_path)
    try:
        time.sleep(1.2)  # several retries, 0.5 s apart
    finally:
        ui.stop()
    failures = [r for r in caplog.records if r.name == "neurorack.ui.ui_thread"]
    assert len(failures) == 1 and failures[0].exc_info is None
    assert "out of memory" in failures[0].getMessage()
    assert isinstance(ui.error, OSError) and display.closed


def test_the_encoders_acceleration_follows_the_setting(tmp_path):
    from neurorack.config.board import load_board
    from neurorack.controls.panel import open_panel

    with open_panel(load_board("mock"), lambda edge: None) as panel:
        clock = Clock()
        facade = MockFacade(clock)
        navigator = Navigator(load_menu(), facade, ModuleState().with_value("encoder.acceleration", 0.0), now=0.0)
        loop = UiLoop(navigator, facade, CountingDisplay(), None, clock, encoder=panel.encoder)
        assert panel.encoder.acceleration == 1.0  # the mock board file's
        loop.step()
        assert panel.encoder.acceleration == 0.0  # the saved setting
        navigator.state = navigator.state.with_value("encoder.acceleration", 2.5)  # the menu's slider
        loop.step()
        assert panel.encoder.acceleration == 2.5
