"""Power off or reboot the machine from the module's menu.

The service user may do exactly this, through logind, because ``neurorack
install-service`` installs a polkit rule for these two actions only (see
systemd/50-neurorack-power.rules). No sudo, no extra privileges in the daemon.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from neurorack.errors import NeurorackError

ACTIONS = ("poweroff", "reboot")


def request_power_action(action: str, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
    """Ask systemd to ``poweroff`` or ``reboot``; returns once the request is accepted.

    Args:
        action: "poweroff" or "reboot".
        run: runs the command (``subprocess.run``-like).

    Raises:
        NeurorackError: the action is unknown, or systemd refused it (the message says why
            and how to allow it).
    """
    if action not in ACTIONS:
        raise NeurorackError(f"power action: expected one of {', '.join(ACTIONS)}, got '{action}'")
    command = ["systemctl", "--no-ask-password", action]
    try:
        result = run(command, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise NeurorackError(f"cannot {action}: systemctl is not installed") from None
    if result.returncode != 0:
        raise NeurorackError(f"systemd refused to {action}: {(result.stderr or result.stdout).strip()} "
                             "(the service user needs the polkit rule that 'neurorack install-service' installs)")
