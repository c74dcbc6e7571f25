"""``install-service --root``: the staged tree, idempotence, systemd's own checks, uninstall."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neurorack.config.board import load_board, shipped_boards
from neurorack.config.module import load_module_config
from neurorack.errors import NeurorackError
from neurorack.service.install import (
    UNIT_TEMPLATE,
    Installer,
    InstallOptions,
    config_text,
    render_unit,
    unreachable_by_others,
)
from tests.jack_fixtures import run_neurorack

PYTHON = "/opt/neurorack/.venv/bin/python"
UNIT = "etc/systemd/system/neurorack.service"
RULE = "etc/polkit-1/rules.d/50-neurorack-power.rules"
WANTS = "etc/systemd/system/multi-user.target.wants/neurorack.service"
CONFIG = "etc/neurorack/config.yaml"
needs_systemctl = pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl (package systemd) missing")
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze (package systemd) missing")


def install(root: Path, **options) -> list[str]:
    said: list[str] = []
    Installer(InstallOptions(root=root, python=options.pop("python", PYTHON), **options), say=said.append).install()
    return said


def snapshot(root: Path) -> dict[str, str]:
    """Every path in the tree with its content hash, link target or mode."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "-> " + str(path.readlink())
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest() + f" {path.stat().st_mode:o}"
        else:
            found[key] = f"dir {path.stat().st_mode:o}"
    return found


@needs_systemctl
def test_install_stages_the_expected_tree(tmp_path):
    said = install(tmp_path, board="raspberry-pi-4")
    assert set(snapshot(tmp_path)) >= {UNIT, RULE, WANTS, CONFIG, "var/lib/neurorack"}
    unit = (tmp_path / UNIT).read_text()
    assert f"\nExecStart={PYTHON} -m neurorack run\n" in unit
    assert "\nUser=neurorack\n" in unit and "\nEnvironment=NEURORACK_CONFIG=/etc/neurorack/config.yaml\n" in unit
    assert (tmp_path / WANTS).readlink() == Path("/etc/systemd/system/neurorack.service")
    assert 'subject.user == "neurorack"' in (tmp_path / RULE).read_text()
    assert load_module_config(tmp_path / CONFIG).board == "raspberry-pi-4"
    assert (tmp_path / CONFIG).stat().st_mode & 0o777 == 0o640
    assert any("dtoverlay=hifiberry-dac" in line for line in said)
    assert any(line.startswith("create") and line.endswith("/etc/systemd/system/neurorack.service") for line in said)


@needs_systemctl
def test_installing_twice_changes_nothing(tmp_path):
    install(tmp_path)
    before = snapshot(tmp_path)
    said = install(tmp_path)
    assert snapshot(tmp_path) == before
    actions = [line for line in said if line and not line.startswith((" ", "On a", "Start it"))]
    assert {line.split()[0] for line in actions} <= {"unchanged", "keep", "skip"}, actions
    assert "unchanged neurorack.service is enabled at boot" in actions


@needs_systemctl
def test_an_existing_config_is_never_overwritten(tmp_path):
    install(tmp_path)
    (tmp_path / CONFIG).write_text("log_level: debug\n")
    said = install(tmp_path, board="jetson-nano")
    assert (tmp_path / CONFIG).read_text() == "log_level: debug\n"
    assert any(line.startswith("keep") and "config.yaml" in line for line in said)


@needs_systemctl
def test_a_changed_python_updates_the_unit(tmp_path):
    install(tmp_path)
    said = install(tmp_path, python="/usr/local/bin/python3")
    assert "update    /etc/systemd/system/neurorack.service" in said
    assert "\nExecStart=/usr/local/bin/python3 -m neurorack run\n" in (tmp_path / UNIT).read_text()


def test_dry_run_prints_every_action_and_changes_nothing(tmp_path):
    said = install(tmp_path, dry_run=True)
    assert list(tmp_path.iterdir()) == []
    would = [line for line in said if line.startswith("would")]
    assert len(would) == 6  # config folder, config, state folder, unit, power rule, enable
    assert "would run       systemctl enable neurorack.service" in would


@needs_systemctl
def test_another_user_and_the_legacy_polkit_rule(tmp_path):
    (tmp_path / "etc/polkit-1/localauthority").mkdir(parents=True)
    install(tmp_path, user="synth")
    assert "\nUser=synth\nGroup=synth\n" in (tmp_path / UNIT).read_text()
    pkla = tmp_path / "etc/polkit-1/localauthority/50-local.d/50-neurorack-power.pkla"
    assert "Identity=unix-user:synth\n" in pkla.read_text()
    assert not (tmp_path / RULE).exists()


@needs_systemctl
def test_uninstall_removes_the_unit_and_rule_and_keeps_config_and_state(tmp_path):
    install(tmp_path)
    said: list[str] = []
    Installer(InstallOptions(root=tmp_path), say=said.append).uninstall()
    assert not (tmp_path / UNIT).exists() and not (tmp_path / RULE).exists()
    assert not (tmp_path / WANTS).is_symlink()
    assert (tmp_path / CONFIG).is_file() and (tmp_path / "var/lib/neurorack").is_dir()
    again: list[str] = []
    Installer(InstallOptions(root=tmp_path), say=again.append).uninstall()
    assert "absent    /etc/systemd/system/neurorack.service" in again


@needs_systemctl
@needs_analyze
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    install(tmp_path)
    executable = tmp_path / PYTHON.lstrip("/")
    executable.parent.mkdir(parents=True)
    shutil.copy(Path(sys.executable).resolve(), executable)
    # --recursive-errors=no: the staged tree has no sysinit.target etc.; the unit itself is checked
    # fully (unknown keys, bad values, a missing ExecStart binary).
    command = ["systemd-analyze", "verify", "--recursive-errors=no", f"--root={tmp_path}"]
    result = subprocess.run([*command, "/" + UNIT], check=False, capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    # the same check speaks up about a typo, so silence above means something
    typo = tmp_path / "etc/systemd/system/neurorack-typo.service"
    typo.write_text((tmp_path / UNIT).read_text().replace("Restart=on-failure", "Restrt=on-failure"))
    result = subprocess.run([*command, "/etc/systemd/system/neurorack-typo.service"], check=False, capture_output=True, text=True)
    assert "Unknown key 'Restrt'" in result.stdout + result.stderr


@needs_systemctl
@needs_analyze
def test_security_exposure_is_at_most_4(tmp_path):
    install(tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={tmp_path}",
                             "/" + UNIT], check=False, capture_output=True, text=True)
    found = re.search(r"Overall exposure level for neurorack\.service: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 4.0
    for kept_off in ("PrivateDevices=", "RestrictRealtime=", "MemoryDenyWriteExecute="):
        assert re.search(rf"✗ {kept_off}", result.stdout), kept_off  # devices and real time stay usable


def board_devices(board) -> set[str]:
    """The DeviceAllow= entries the devices a board file names need (sound: ALSA, always)."""
    needed = {"char-alsa rw"}
    if board.adc.backend == "spidev" or board.display.interface == "spi":
        needed.add("char-spidev rw")
    if board.display.interface == "i2c":
        needed.add("char-i2c rw")
    if board.gpio.backend != "simulated":  # RPi.GPIO on a Pi 4 maps /dev/gpiomem; the others use gpiochips
        needed.add("/dev/gpiomem rw" if board.gpio.backend == "rpi-gpio" else "char-gpiochip rw")
    return needed


def test_devices_are_closed_but_for_those_of_every_board_file():
    lines = UNIT_TEMPLATE.read_text().splitlines()
    assert "DevicePolicy=closed" in lines
    allowed = {line.split("=", 1)[1] for line in lines if line.startswith("DeviceAllow=")}
    for name in shipped_boards():
        assert board_devices(load_board(name)) <= allowed, name


@needs_analyze
def test_security_sees_a_device_acl(tmp_path):
    install(tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={tmp_path}",
                             "/" + UNIT], check=False, capture_output=True, text=True)
    acl = re.search(r"DeviceAllow=\s+(.*)", result.stdout)
    assert acl and "has a device ACL" in acl.group(1) and "char-spidev:rw" in acl.group(1), result.stdout


def test_render_unit_needs_every_line_it_fills_in():
    assert "ExecStart=/x/python -m neurorack run" in render_unit(UNIT_TEMPLATE.read_text(), "/x/python", "u")
    with pytest.raises(NeurorackError, match="'User='"):
        render_unit(UNIT_TEMPLATE.read_text().replace("\nUser=neurorack", ""), "/x/python", "u")


def test_config_text_sets_the_board_or_refuses_an_unknown_one():
    assert "\nboard: raspberry-pi-5\n" in config_text("raspberry-pi-5")
    assert "\nboard: mock\n" in config_text(None)
    with pytest.raises(NeurorackError, match="--board: expected one of"):
        config_text("arduino")


def test_a_home_folder_closed_to_others_is_reported(tmp_path):
    closed = tmp_path / "home"
    (closed / "venv/bin").mkdir(parents=True)
    closed.chmod(0o700)
    try:
        problems = unreachable_by_others(closed / "venv/bin/python")
    finally:
        closed.chmod(0o755)
    opened = unreachable_by_others(closed / "venv/bin/python")  # pytest's own folders may be closed too
    assert [p for p in problems if p not in opened] == [
        (f"{closed} is closed to other users, so the service user cannot reach {closed}/venv/bin/python; "
         f"open it with 'sudo chmod o+x {closed}', or install Neurorack under /opt")]


def test_command_line_refuses_a_bad_user_name_without_a_traceback(tmp_path):
    result = run_neurorack("install-service", "--root", str(tmp_path), "--user", "Bad User")
    assert result.returncode == 2
    assert result.stderr.startswith("neurorack: error: --user: expected a system user name")
    assert list(tmp_path.iterdir()) == []


@needs_systemctl
def test_command_line_install_into_a_staging_tree(tmp_path):
    result = run_neurorack("install-service", "--root", str(tmp_path), "--python", PYTHON, "--board", "jetson-nano")
    assert result.returncode == 0, result.stderr
    assert "create    /etc/systemd/system/neurorack.service" in result.stdout
    assert "jetson-io.py" in result.stdout and "raspi-config" not in result.stdout
    assert (tmp_path / WANTS).is_symlink()
