"""The sound bank schema: good banks load, every mistake is reported with file, key and line."""

import pytest

from neurorack.app.module import SHIPPED_BANK
from neurorack.config.schema import ConfigError
from neurorack.config.sound_bank import load_sound_bank


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
    assert bank.template_path(bank.sounds[0]) == tmp_path / "templates" / "kick.csv"
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


def test_a_sound_keeps_its_timbre_code_and_the_model_it_belongs_to(tmp_path):
    bank = load_sound_bank(write(tmp_path, """\
model: drums-perc
sounds:
  - name: Kick
    template: templates/kick.csv
    z: [0.5, -1, 2.25]
  - name: Snare
    template: templates/snare.csv
    z: [1, 2, 3, 4]
    z_model: other-perc
  - name: Drone
    curves: {pitch_hz: [[0, 55]]}
"""))
    kick, snare, drone = bank.sounds
    assert kick.z == [0.5, -1.0, 2.25] and all(isinstance(v, float) for v in kick.z)
    assert kick.z_model is None and kick.timbre_model(bank.model) == "drums-perc"
    assert snare.z == [1.0, 2.0, 3.0, 4.0] and snare.timbre_model(bank.model) == "other-perc"
    assert drone.z == [] and drone.timbre_model(bank.model) == "drums-perc"


@pytest.mark.parametrize(("z", "message"), [
    ("loud", "sounds[1].z: expected a list, got 'loud'"),
    ("null", "sounds[1].z: expected a list, got null"),
    ("[0.5, .nan, 1]", "sounds[1].z: item 2: expected a finite number, got nan"),
    ("[0.5, .inf]", "sounds[1].z: item 2: expected a finite number, got inf"),
    ("[0.5, big]", "sounds[1].z: item 2: expected a number, got 'big'"),
    ("[0.5, true]", "sounds[1].z: item 2: expected a number, got true"),
    ("[]", "sounds[1].z: expected a list of at least one number (the timbre code), got an empty list"),
    ("[[1, 2]]", "sounds[1].z: item 1: expected a number, got a list"),
])
def test_a_wrong_timbre_code_is_reported_with_file_key_and_line(tmp_path, z, message):
    path = write(tmp_path, f"""\
model: drums-perc
sounds:
  - name: Kick
    template: templates/kick.csv
    z: {z}
""")
    with pytest.raises(ConfigError) as caught:
        load_sound_bank(path)
    assert f"{path}:5: {message}" in str(caught.value)


def test_a_timbre_code_must_name_its_model_and_a_model_name_needs_a_code(tmp_path):
    path = write(tmp_path, """\
sounds:
  - name: Kick
    template: templates/kick.csv
    z: [0.5, 1]
  - name: Snare
    template: templates/snare.csv
    z_model: drums-perc
  - name: Hat
    template: templates/hat.csv
    z: [0.5, 1]
    z_model: drums-perc
""")
    with pytest.raises(ConfigError) as caught:
        load_sound_bank(path)
    text = str(caught.value)
    assert f"{path}:4: sounds[1].z: expected 'z_model' (the model that computed z) beside z" in text
    assert f"{path}:7: sounds[2].z_model: expected 'z' (the timbre code) beside z_model" in text
    assert "sounds[3]" not in text
    assert len(caught.value.problems) == 2
