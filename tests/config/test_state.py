"""Saved settings: round trip, corrupt files fall back to defaults with a warning, and a
kill -9 in the middle of a save leaves the old file or the new one, never a broken one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurorack.config.state import ModuleState, StateKeyError, StateStore, setting_keys
from neurorack.errors import NeurorackError


def test_round_trip_keeps_every_setting(tmp_path):
    state = (ModuleState(sound="Snare tight", model="drums-dense")
             .with_value("routing.cv2.target", "decay")
             .with_value("routing.cv2.amount", -0.35)
             .with_value("levels.gain_db", -6.5)
             .with_value("audio.block_size", 256))
    store = StateStore(tmp_path)
    store.save(state)
    loaded = StateStore(tmp_path).load()
    assert loaded == state
    assert store.warning is None


def test_missing_file_gives_defaults_without_a_warning(tmp_path):
    store = StateStore(tmp_path / "new")
    assert store.load() == ModuleState()
    assert store.warning is None


@pytest.mark.parametrize("content, reason", [
    (b"sound: [unclosed\n", "is not valid YAML"),
    (b"\xff\xfe\x00garbage", "cannot read"),
    (b"levels:\n  gain_db: loud\n", "levels.gain_db: expected a number, got 'loud'"),
    (b"routing:\n  cv1:\n    target: wobble\n", "routing.cv1.target: expected one of none, pitch"),
    (b"- just\n- a list\n", "the file should be a mapping"),
])
def test_corrupt_file_gives_defaults_and_a_visible_warning(tmp_path, content, reason):
    (tmp_path / "state.yaml").write_bytes(content)
    store = StateStore(tmp_path)
    assert store.load() == ModuleState()
    assert store.warning.startswith("settings reset: ")
    assert reason in store.warning


def test_unreadable_state_file_gives_defaults(tmp_path):
    (tmp_path / "state.yaml").mkdir()
    store = StateStore(tmp_path)
    assert store.load() == ModuleState()
    assert "cannot read" in store.warning


def test_an_oversized_state_file_gives_defaults_without_being_read_whole(tmp_path):
    with open(tmp_path / "state.yaml", "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    store = StateStore(tmp_path)
    assert store.load() == ModuleState()
    assert store.warning == (f"settings reset: cannot read {tmp_path / 'state.yaml'}: is 50 MB, over the 256 KB "
                             "limit for this kind of YAML file; check that it is the file you meant, or make it smaller")


def test_save_into_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NeurorackError, match="cannot save settings to"):
        StateStore(blocker / "sub").save(ModuleState())


def test_with_value_checks_keys_and_values():
    with pytest.raises(StateKeyError, match="unknown setting 'levels.volume'; known at that level: gain_db"):
        ModuleState().with_value("levels.volume", 1)
    with pytest.raises(StateKeyError, match=r"expected a value from -60 to 12 dB, got 40.0"):
        ModuleState().with_value("levels.gain_db", 40)
    with pytest.raises(StateKeyError, match="is a section"):
        ModuleState().with_value("routing.cv1", "pitch")
    assert ModuleState().with_value("screen.sleep_s", 60).screen.sleep_s == 60.0


def test_setting_keys_lists_every_leaf():
    keys = setting_keys()
    assert "routing.cv4.offset" in keys and "encoder.acceleration" in keys and "sound" in keys
    assert all(ModuleState().get(key) is not None or key in ("sound", "model") for key in keys)


SAVER = """
import sys
from neurorack.config.state import ModuleState, StateStore
store = StateStore(sys.argv[1])
state = ModuleState(sound="x" * 4000)  # a long file makes the write window wide
count = 0
print("ready", flush=True)
while True:
    count += 1
    store.save(state.with_value("levels.gain_db", -(count % 60)))
"""


def test_kill_during_save_leaves_the_old_or_the_new_file(tmp_path):
    """A saver in a loop is killed (SIGKILL) at random moments, 30 times; every time, the
    state file loads cleanly and holds one of the states that was written."""
    StateStore(tmp_path).save(ModuleState(sound="first"))
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    seen_values = set()
    for round_index in range(30):
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE, env=env)
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.005 + (round_index % 7) * 0.004)
        process.send_signal(signal.SIGKILL)
        process.wait()
        store = StateStore(tmp_path)
        loaded = store.load()
        assert store.warning is None, f"round {round_index}: {store.warning}"
        assert loaded.sound in ("first", "x" * 4000)
        seen_values.add(loaded.levels.gain_db)
    assert len(seen_values) > 1, "the saver never got to write; the test proved nothing"
    assert [p.name for p in tmp_path.iterdir()] == ["state.yaml"]  # load() swept half-written temporaries


def test_an_old_state_file_with_calibration_loads_without_a_reset(tmp_path):
    """Calibration now lives in calibration.yaml; older state files still carry it here."""
    (tmp_path / "state.yaml").write_text(
        "sound: Snare tight\nlevels:\n  gain_db: -3.0\n"
        "calibration:\n  cv_scale: [1.01, 0.99, 1.0, 1.0]\n  cv_offset: [0.0, 0.0, 0.0, 0.0]\n  calibrated: true\n",
        encoding="utf-8")
    store = StateStore(tmp_path)
    state = store.load()
    assert store.warning is None
    assert state.sound == "Snare tight" and state.levels.gain_db == -3.0
    assert "calibration" not in state.to_yaml()
