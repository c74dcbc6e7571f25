"""menu.yaml: the shipped file loads; mistakes name the file, line, key and what was expected."""

from __future__ import annotations

import textwrap

import pytest

from neurorack.config.menu import load_menu_spec
from neurorack.config.schema import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "menu.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str, pages=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_menu_spec(write(tmp_path, text), pages)
    return [str(p) for p in caught.value.problems]


def test_shipped_menu_loads_with_every_kind():
    spec = load_menu_spec()
    kinds = set()

    def walk(items):
        for item in items:
            kinds.add(item.kind)
            walk(item.items)

    walk(spec.items)
    assert kinds == {"submenu", "action", "choice", "slider", "toggle", "info"}
    assert [i.label for i in spec.items] == ["Sounds", "Models", "CV routing", "Calibration", "Settings", "System"]


def test_unknown_kind_names_line_and_choices(tmp_path):
    found = problems(tmp_path, """\
        items:
          - label: Sounds
            kind: chooser
        """)
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'menu.yaml'}:3: items[1].kind: expected one of submenu, action")
    assert "got 'chooser'" in found[0]


def test_slider_with_an_unknown_setting_key(tmp_path):
    found = problems(tmp_path, """\
        items:
          - label: Level
            kind: slider
            setting: levels.gain
            min: -60
            max: 6
        """)
    assert found == [(f"{tmp_path / 'menu.yaml'}:4: items[1].setting: expected a module-state key: "
                     "unknown setting 'levels.gain'; known at that level: gain_db")]


def test_nested_item_errors_point_into_the_submenu(tmp_path):
    found = problems(tmp_path, """\
        items:
          - label: Settings
            kind: submenu
            items:
              - label: Brightness
                kind: slider
                setting: screen.brightness
                min: 1
                max: 0
        """)
    assert found == [f"{tmp_path / 'menu.yaml'}:9: items[1].items[1].max: expected a value above min (1), got 0"]


def test_keys_that_do_not_belong_to_the_kind(tmp_path):
    found = problems(tmp_path, """\
        items:
          - label: Reboot
            kind: action
            action: reboot
            min: 3
        """)
    assert found == [f"{tmp_path / 'menu.yaml'}:5: items[1].min: is not used by a action item (only by: slider)"]


def test_missing_required_keys(tmp_path):
    found = problems(tmp_path, """\
        items:
          - kind: choice
            setting: sound
        """)
    assert any(":2: items[1]: missing key 'label'" in p for p in found)
    assert any(":2: items[1]: a choice item needs either 'options' or 'source'" in p for p in found)


def test_option_that_does_not_fit_the_setting(tmp_path):
    found = problems(tmp_path, """\
        items:
          - label: Block size
            kind: choice
            setting: audio.block_size
            options: [64, big]
        """)
    assert found == [(f"{tmp_path / 'menu.yaml'}:5: items[1].options[2]: does not fit setting "
                     "'audio.block_size': expected a whole number, got 'big'")]


def test_toggle_needs_a_true_false_setting(tmp_path):
    found = problems(tmp_path, """\
        items:
          - {label: Level, kind: toggle, setting: levels.gain_db}
        """)
    assert found == [(f"{tmp_path / 'menu.yaml'}:2: items[1].setting: a toggle needs a true/false setting, "
                     "'levels.gain_db' is not one")]


def test_typo_in_a_key_suggests_the_right_one(tmp_path):
    found = problems(tmp_path, """\
        items:
          - {label: Go, kind: action, acton: reboot}
        """)
    assert any("items[1].acton: unknown key; did you mean 'action'?" in p for p in found)


def test_every_problem_is_reported_at_once(tmp_path):
    found = problems(tmp_path, """\
        title: 5
        items:
          - {label: A, kind: info, page: nowhere}
          - {label: B, kind: slider, setting: screen.brightness, min: 0, max: 1, warp: log}
        """, pages=("home", "system"))
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in found] == ["1", "3", "4"]
    assert "items[1].page: expected one of home, system, got 'nowhere'" in found[1]


def test_page_names_are_checked_only_against_the_names_given(tmp_path):
    """The UI knows its pages; the schema checks a page name only against those it is given."""
    path = write(tmp_path, """\
        items:
          - {label: A, kind: info, page: anything}
        """)
    assert load_menu_spec(path).items[0].page == "anything"
    with pytest.raises(ConfigError, match="items\\[1\\].page: expected one of home, got 'anything'"):
        load_menu_spec(path, ("home",))


def test_not_yaml_at_all(tmp_path):
    found = problems(tmp_path, "items: [unclosed\n")
    assert "is not valid YAML" in found[0]


def test_empty_menu(tmp_path):
    found = problems(tmp_path, "title: Empty\n")
    assert found == [f"{tmp_path / 'menu.yaml'}: missing key 'items': the list of menu entries"]


def test_start_ui_refuses_a_bad_menu_file_before_starting(tmp_path):
    from neurorack.ui.ui_thread import start_ui

    path = write(tmp_path, "items:\n  - {label: X, kind: slider, setting: nope, min: 0, max: 1}\n")
    with pytest.raises(ConfigError) as caught:
        start_ui(None, None, None, None, menu=path)
    assert str(caught.value) == (f"{path}:2: items[1].setting: expected a module-state key: unknown setting "
                                 "'nope'; known at that level: sound, model, routing, levels, screen, "
                                 "encoder, audio")


def test_the_menu_schema_does_not_import_the_ui():
    import subprocess
    import sys

    code = ("import sys, neurorack.config.menu; "
            "print(sorted(m for m in sys.modules if m.startswith('neurorack.ui')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
