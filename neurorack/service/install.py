"""Install the module as a systemd service, or remove it again.

Every step looks at what is there first, so running the installer twice changes
nothing the second time; each step prints one line: what it did (or would do, with
``dry_run``) and to what. With ``root`` set to a folder, files go into that staging tree
instead of ``/``, and the steps that change the running system (the user, ownership,
``systemctl daemon-reload``) are skipped, each saying so.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from neurorack.atomic import atomic_write_text
from neurorack.config.module import CONFIG_ENV, default_config_yaml
from neurorack.errors import NeurorackError
from neurorack.service.interfaces import INTERFACE_STEPS, detect_board, interface_advice

UNIT_NAME = "neurorack.service"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNIT_TEMPLATE = TEMPLATE_DIR / UNIT_NAME
POLKIT_RULE_TEMPLATE = TEMPLATE_DIR / "50-neurorack-power.rules"
POLKIT_PKLA_TEMPLATE = TEMPLATE_DIR / "50-neurorack-power.pkla"

UNIT_PATH = Path("etc/systemd/system") / UNIT_NAME
CONFIG_DIR = Path("etc/neurorack")
CONFIG_PATH = CONFIG_DIR / "config.yaml"
STATE_DIR = Path("var/lib/neurorack")
POLKIT_RULE_PATH = Path("etc/polkit-1/rules.d/50-neurorack-power.rules")
POLKIT_LEGACY_DIR = Path("etc/polkit-1/localauthority")
POLKIT_PKLA_PATH = POLKIT_LEGACY_DIR / "50-local.d/50-neurorack-power.pkla"

DEFAULT_USER = "neurorack"
TEMPLATE_USER = "neurorack"
DEVICE_GROUPS = ("gpio", "spi", "i2c", "audio")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")


@dataclass(frozen=True)
class InstallOptions:
    """What to install where.

    Args:
        root: ``/`` for a real install, else a staging folder.
        user: the service user.
        python: the Python the unit runs (``ExecStart=<python> -m neurorack run``).
        board: a board name from hardware/boards, or None (detected, else left as ``mock``).
        dry_run: print the actions without doing them.
    """

    root: Path = Path("/")
    user: str = DEFAULT_USER
    python: str = ""
    board: str | None = None
    dry_run: bool = False

    @property
    def is_staging(self) -> bool:
        return self.root.resolve() != Path("/")


@dataclass
class Installer:
    """Runs the install or uninstall steps and records one line per step in ``actions``.

    Args:
        options: what to install where.
        say: prints each action line as it happens.
        run: runs a command (``subprocess.run``-like); tests pass their own.
    """

    options: InstallOptions
    say: Callable[[str], None] = print
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run
    actions: list[str] = field(default_factory=list)

    # -- install -----------------------------------------------------------------------

    def install(self) -> list[str]:
        """Create the user, config, state folder, unit and power rule; enable the unit."""
        self._check_can_change_system()
        python = self._checked_python()
        self._ensure_user()
        self._ensure_folder(CONFIG_DIR, 0o755)
        self._ensure_config()
        self._ensure_folder(STATE_DIR, 0o750, owner=self.options.user)
        changed = self._ensure_file(UNIT_PATH, render_unit(UNIT_TEMPLATE.read_text(), python, self.options.user))
        changed |= self._ensure_power_rule()
        self._daemon_reload(changed)
        self._enable()
        for line in ["", *interface_advice(self._board()), "",
                     "Start it now with: sudo systemctl start neurorack; follow it with: journalctl -u neurorack -f"]:
            self.say(line)
        return self.actions

    def _checked_python(self) -> str:
        python = self.options.python
        if not python.startswith("/") or re.search(r"\s", python):
            raise NeurorackError(f"--python: expected an absolute path without spaces, got '{python}'")
        if not self.options.is_staging and not os.access(python, os.X_OK):
            raise NeurorackError(f"--python: '{python}' is not an executable file")
        if not self.options.is_staging:
            for warning in unreachable_by_others(Path(python)):
                self.say(f"warning: {warning}")
        return python

    def _ensure_user(self) -> None:
        user = self.options.user
        if self.options.is_staging:
            self._act("skip", f"user {user} (staging tree: created when installing into /)")
            return
        groups = [name for name in DEVICE_GROUPS if _group_exists(name)]
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                       "/" + str(STATE_DIR), "--shell", "/usr/sbin/nologin"]
            if groups:
                command += ["--groups", ",".join(groups)]
            self._act("create", f"user {user} in groups {', '.join(groups) or '(none exist)'}",
                      lambda: self._command(command + [user]))
            return
        member_of = {g.gr_name for g in grp.getgrall() if user in g.gr_mem}
        member_of.add(grp.getgrgid(entry.pw_gid).gr_name)
        missing = [name for name in groups if name not in member_of]
        if not missing:
            self._act("unchanged", f"user {user} in groups {', '.join(groups) or '(none exist)'}")
            return
        self._act("update", f"user {user}: add to groups {', '.join(missing)}",
                  lambda: self._command(["usermod", "--append", "--groups", ",".join(missing), user]))

    def _ensure_config(self) -> None:
        target = self.options.root / CONFIG_PATH
        if target.exists():
            self._act("keep", f"{_shown(CONFIG_PATH)} (an existing config is never overwritten)")
            return
        text = config_text(self._board())

        def write() -> None:
            atomic_write_text(target, text)
            os.chmod(target, 0o640)
            self._chown(target, "root", self.options.user)

        self._act("create", f"{_shown(CONFIG_PATH)} (the defaults, board: {self._board() or 'mock'})", write)

    def _ensure_folder(self, relative: Path, mode: int, owner: str | None = None) -> None:
        target = self.options.root / relative
        if target.is_dir():
            self._act("unchanged", f"{_shown(relative)}/")
            return

        def make() -> None:
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, mode)
            if owner:
                self._chown(target, owner, owner)

        self._act("create", f"{_shown(relative)}/", make)

    def _ensure_file(self, relative: Path, text: str, mode: int = 0o644) -> bool:
        """Write ``text`` unless the file already holds it. Returns whether it changed."""
        target = self.options.root / relative
        current = target.read_text() if target.is_file() else None
        if current == text:
            self._act("unchanged", _shown(relative))
            return False

        def write() -> None:
            atomic_write_text(target, text)
            os.chmod(target, mode)

        self._act("create" if current is None else "update", _shown(relative), write)
        return True

    def _ensure_power_rule(self) -> bool:
        if (self.options.root / POLKIT_LEGACY_DIR).is_dir():
            text = POLKIT_PKLA_TEMPLATE.read_text().replace(
                f"unix-user:{TEMPLATE_USER}", f"unix-user:{self.options.user}")
            return self._ensure_file(POLKIT_PKLA_PATH, text)
        text = POLKIT_RULE_TEMPLATE.read_text().replace(
            f'subject.user == "{TEMPLATE_USER}"', f'subject.user == "{self.options.user}"')
        return self._ensure_file(POLKIT_RULE_PATH, text)

    def _daemon_reload(self, changed: bool) -> None:
        if not changed:
            self._act("skip", "systemctl daemon-reload (nothing changed)")
        elif self.options.is_staging:
            self._act("skip", "systemctl daemon-reload (staging tree)")
        elif not Path("/run/systemd/system").is_dir():
            self._act("skip", "systemctl daemon-reload (systemd is not running on this machine)")
        else:
            self._act("run", "systemctl daemon-reload", lambda: self._command(["systemctl", "daemon-reload"]))

    def _enable(self) -> None:
        if (self.options.root / UNIT_PATH).exists():
            state = self._query(self._systemctl("is-enabled", UNIT_NAME))
            if state.stdout.strip() == "enabled":
                self._act("unchanged", f"{UNIT_NAME} is enabled at boot")
                return
        self._act("run", "systemctl enable " + UNIT_NAME,
                  lambda: self._command(self._systemctl("enable", UNIT_NAME)))

    # -- uninstall ---------------------------------------------------------------------

    def uninstall(self) -> list[str]:
        """Stop and disable the unit, remove it and the power rule; keep config, state and user."""
        self._check_can_change_system()
        if (self.options.root / UNIT_PATH).exists():
            arguments = ("disable", UNIT_NAME) if self.options.is_staging else ("disable", "--now", UNIT_NAME)
            self._act("run", "systemctl " + " ".join(arguments),
                      lambda: self._command(self._systemctl(*arguments)))
        changed = False
        for relative in (UNIT_PATH, POLKIT_RULE_PATH, POLKIT_PKLA_PATH):
            target = self.options.root / relative
            if target.exists():
                self._act("remove", _shown(relative), target.unlink)
                changed = True
            else:
                self._act("absent", _shown(relative))
        self._daemon_reload(changed)
        for relative in (CONFIG_PATH, STATE_DIR):
            if (self.options.root / relative).exists():
                self._act("keep", f"{_shown(relative)} (remove it by hand if you no longer need it)")
        self._act("keep", f"user {self.options.user} (remove it with: sudo userdel {self.options.user})")
        return self.actions

    # -- helpers -----------------------------------------------------------------------

    def _act(self, verb: str, what: str, do: Callable[[], object] | None = None) -> None:
        line = f"{verb:<9} {what}"
        if self.options.dry_run and do is not None:
            line = f"would {verb:<9} {what}"
        self.actions.append(line)
        self.say(line)
        if do is not None and not self.options.dry_run:
            do()

    def _query(self, command: list[str]) -> subprocess.CompletedProcess:
        try:
            return self.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            raise NeurorackError(f"'{command[0]}' is not installed; the service needs systemd "
                                 "(on Debian: sudo apt-get install systemd)") from None

    def _command(self, command: list[str]) -> None:
        result = self._query(command)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise NeurorackError(f"'{' '.join(command)}' failed (exit {result.returncode}): {output}")

    def _systemctl(self, *arguments: str) -> list[str]:
        if self.options.is_staging:
            return ["systemctl", f"--root={self.options.root}", *arguments]
        return ["systemctl", *arguments]

    def _chown(self, target: Path, user: str, group: str) -> None:
        if not self.options.is_staging:
            shutil.chown(target, user, group)

    def _board(self) -> str | None:
        return self.options.board or (None if self.options.is_staging else detect_board())

    def _check_can_change_system(self) -> None:
        if not USER_NAME.match(self.options.user):
            raise NeurorackError(f"--user: expected a system user name (lower-case letters, digits, _ and -), "
                                 f"got '{self.options.user}'")
        if not self.options.is_staging and not self.options.dry_run and os.geteuid() != 0:
            raise NeurorackError("installing the service changes the system: run it as root, e.g. "
                                 "'sudo .venv/bin/neurorack install-service' (see what it would do with --dry-run)")


def render_unit(template: str, python: str, user: str) -> str:
    """The unit file with its ExecStart running ``python -m neurorack run`` as ``user``.

    Raises:
        NeurorackError: the template lacks one of the lines to fill in.
    """
    lines = {
        "ExecStart=": f"ExecStart={python} -m neurorack run",
        "User=": f"User={user}",
        "Group=": f"Group={user}",
        f"Environment={CONFIG_ENV}=": f"Environment={CONFIG_ENV}=/{CONFIG_PATH}",
    }
    text = template
    for prefix, line in lines.items():
        text, count = re.subn(rf"^{re.escape(prefix)}.*$", lambda _match, line=line: line, text, flags=re.MULTILINE)
        if count != 1:
            raise NeurorackError(f"{UNIT_TEMPLATE.name}: expected one '{prefix}' line to fill in, found {count}")
    return text


def config_text(board: str | None) -> str:
    """The default config (as ``neurorack config --defaults`` prints it), with ``board`` set."""
    text = default_config_yaml()
    if board is None:
        return text
    if board not in INTERFACE_STEPS:
        raise NeurorackError(f"--board: expected one of {', '.join(INTERFACE_STEPS)}, got '{board}'")
    text, count = re.subn(r"^board: .*$", f"board: {board}", text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise NeurorackError("the default config has no 'board:' line to fill in")
    return text


def unreachable_by_others(path: Path) -> list[str]:
    """Why the service user may be unable to run ``path``: folders on the way that others
    cannot enter (a home folder with mode 0700, for example)."""
    problems = []
    for folder in reversed(path.parents):
        try:
            mode = folder.stat().st_mode
        except OSError:
            continue
        if not mode & 0o001:
            problems.append(f"{folder} is closed to other users, so the service user cannot reach {path}; "
                            f"open it with 'sudo chmod o+x {folder}', or install Neurorack under /opt")
    return problems


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _shown(relative: Path) -> str:
    return "/" + str(relative)
