"""``neurorack install-service`` and ``neurorack uninstall-service``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neurorack.config.module import ModuleConfig
from neurorack.service.interfaces import INTERFACE_STEPS


def register(commands) -> None:
    """Add the service subcommands to the ``neurorack`` parser."""
    install = commands.add_parser(
        "install-service", help="start the module at boot: user, config, unit, power rule (run as root)",
        description="Install the module as a systemd service: create the service user (in the gpio, spi, i2c "
                    "and audio groups that exist), /etc/neurorack/config.yaml (the defaults; an existing one "
                    "is kept), /var/lib/neurorack, the unit in /etc/systemd/system (ExecStart runs this "
                    "Python), a polkit rule that lets the module power off and reboot from its menu, then "
                    "enable the unit. Running it again changes nothing. Every action is printed.")
    _add_common(install)
    install.add_argument("--python", default=sys.executable, metavar="PATH",
                         help="the Python the service runs, with neurorack installed (default: %(default)s)")
    install.add_argument("--board", choices=tuple(INTERFACE_STEPS),
                         help="write this board into a new config and show its interface steps "
                              "(default: detected from the device tree; left as 'mock' when unknown)")
    install.set_defaults(handler=_install)

    uninstall = commands.add_parser(
        "uninstall-service", help="stop and remove the service (keeps config, state and user)",
        description="Stop and disable the service, remove the unit and the power rule. The config in "
                    "/etc/neurorack, the state in /var/lib/neurorack and the user are kept; the command says "
                    "how to remove them.")
    _add_common(uninstall)
    uninstall.set_defaults(handler=_uninstall)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print every action without doing it")
    parser.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                        help="install into a staging tree instead of the system (default: %(default)s)")
    parser.add_argument("--user", default="neurorack", metavar="NAME",
                        help="the service user (default: %(default)s)")


def _install(args: argparse.Namespace, config: ModuleConfig) -> int:
    from neurorack.service.install import Installer, InstallOptions

    options = InstallOptions(root=args.root, user=args.user, python=args.python, board=args.board,
                             dry_run=args.dry_run)
    Installer(options).install()
    return 0


def _uninstall(args: argparse.Namespace, config: ModuleConfig) -> int:
    from neurorack.service.install import Installer, InstallOptions

    Installer(InstallOptions(root=args.root, user=args.user, dry_run=args.dry_run)).uninstall()
    return 0
