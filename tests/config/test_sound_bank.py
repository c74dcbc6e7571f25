"""The sound bank schema: good banks load, every mistake is reported with file, key and line."""

import pytest

from neurorack.config.schema import ConfigError
from neurorack.config.sound_bank import load_sound_bank
from neurorack.instrument.module import SHIPPED_BANK


def write(tmp_path, text):
    path = tmp_path / "bank.yaml"
    path.write_text(text)
    return path


def test_a_bank_with_a_template_and_curves_loads(tmp_path):
    bank = load_sound_bank(write(tmp_path, """\
gate2: accent
sounds:
  - name: Kick
    template: templates/kick.csv
    retrigger: restart
  - name: Drone
    mode: drone
    morph_to: Kick
    routing: {cv1: {target: morph}}
    curves: {duration_s: 2, pitch_hz: [[0, 55], [2, 110]]}
"""))
    assert [s.name for s in bank.sounds] == ["Kick", "Drone"]
    assert bank.gate2 == "accent" and bank.routed == {"Drone"}
    assert bank.template_path(bank.sounds[0]) == (tmp_path / "templates" / "kick.csv").resolve()
    assert bank.sounds[1].curves.pitch_hz == [[0.0, 55.0], [2.0, 110.0]]


def test_mistakes_are_reported_with_key_and_line(tmp_path):
    path = write(tmp_path, """\
sounds:
  - name: Kick
    template: k.csv
  - name: Hat
    mode: loop
    template: h.csv
  - name: Sweep
    curves: {pitch_hz: [[1, 200], [0, 100]]}
""")
    with pytest.raises(ConfigError) as caught:
        load_sound_bank(path)
    text = str(caught.value)
    assert f"{path}:5: sounds[2].mode: expected one of one_shot, drone, got 'loop'" in text
    assert f"{path}:8: sounds[3].curves.pitch_hz: expected breakpoint times that never go back" in text


def test_cross_checks_name_the_sound(tmp_path):
    path = write(tmp_path, """\
gate2_sound: Nope
sounds:
  - name: Kick
    template: k.csv
    morph_to: Snare
  - name: Kick
    curves: {loudness_db: [[0, -6]]}
  - name: Both
    template: b.csv
    curves: {loudness_db: [[0, -6]]}
""")
    with pytest.raises(ConfigError) as caught:
        load_sound_bank(path)
    text = str(caught.value)
    assert "sounds[1].morph_to: expected the name of a sound in this bank, got 'Snare'" in text
    assert "sounds[1].name: expected a unique name, 'Kick' appears twice" in text
    assert f"{path}:8: sounds[3]: expected exactly one of 'template'" in text
    assert f"{path}:1: gate2_sound: expected the name of a sound" in text


def test_a_bank_without_sounds_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="sounds: expected a list of at least one sound"):
        load_sound_bank(write(tmp_path, "model: x\n"))


def test_the_shipped_bank_has_at_least_eight_distinct_sounds():
    bank = load_sound_bank(SHIPPED_BANK)
    names = {s.name for s in bank.sounds}
    assert len(names) >= 8
    assert {"Kick", "Snare", "Hat closed", "Tom low", "Clap", "Metal bell", "Drone"} <= names
    assert any(s.mode == "drone" for s in bank.sounds)
