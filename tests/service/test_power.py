"""Power actions from the menu: the exact command, and refusals as clear errors.

The command is never really run here (it would power off the test machine); a recorder
stands in for ``subprocess.run``.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from neurorack.errors import NeurorackError
from neurorack.service.power import request_power_action


class Recorder:
    def __init__(self, returncode: int = 0, stderr: str = ""):
        self.calls: list[list[str]] = []
        self.returncode = returncode
        self.stderr = stderr

    def __call__(self, command, **options):
        self.calls.append(command)
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)


@pytest.mark.parametrize("action", ["poweroff", "reboot"])
def test_asks_systemd_without_a_password_prompt(action):
    recorder = Recorder()
    request_power_action(action, run=recorder)
    assert recorder.calls == [["systemctl", "--no-ask-password", action]]


def test_a_refusal_names_the_polkit_rule():
    recorder = Recorder(1, "Access denied\n")
    with pytest.raises(NeurorackError, match="refused to reboot: Access denied .*polkit rule"):
        request_power_action("reboot", run=recorder)


def test_only_the_two_actions_exist():
    with pytest.raises(NeurorackError, match="expected one of poweroff, reboot"):
        request_power_action("halt", run=Recorder())


def test_the_polkit_rule_allows_exactly_these_login1_actions():
    from neurorack.service.install import POLKIT_PKLA_TEMPLATE, POLKIT_RULE_TEMPLATE

    allowed = {"org.freedesktop.login1.power-off", "org.freedesktop.login1.power-off-multiple-sessions",
               "org.freedesktop.login1.reboot", "org.freedesktop.login1.reboot-multiple-sessions"}
    rule = POLKIT_RULE_TEMPLATE.read_text()
    assert set(re.findall(r'action\.id == "([^"]+)"', rule)) == allowed
    pkla_actions = next(line for line in POLKIT_PKLA_TEMPLATE.read_text().splitlines() if line.startswith("Action="))
    assert set(pkla_actions.removeprefix("Action=").split(";")) == allowed
