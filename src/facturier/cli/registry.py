"""Which module defines each command, so that a command imports and builds only itself.

Typer builds the Click command of every registered command before it runs one: each
command's signature read and each of its options made (~0.1 G instructions for the 30 of
them), and every `cli/*.py` module imported to register them. `pay` needs none of the
others. `app`'s group (`common.CommandsOnDemand`) lists the names below, in the order
`--help` shows them, and imports the module of a command and builds its Click command only
when that command is looked up: the one on the command line, or all of them for `--help`
and for a suggestion on a mistyped name (which reads only the names).

A new command is added here, under the module that registers it (`tests/cli/test_startup.py`
checks that the two agree).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from typer.core import TyperCommand, TyperGroup

# Command name: the `facturier.cli` modules that register it (the first defines it; `export`
# takes commands from two). In the order of `facturier --help`.
COMMAND_MODULES: Final[dict[str, tuple[str, ...]]] = {
    "batch": ("batch",),
    "remind": ("collections",),
    "reminders": ("collections",),
    "dispute": ("collections",),
    "promise": ("collections",),
    "init": ("commands",),
    "check": ("commands",),
    "run": ("commands",),
    "invoices": ("commands",),
    "show": ("commands",),
    "verify": ("commands",),
    "rebuild": ("commands",),
    "purge-logs": ("commands",),
    "transmit": ("einvoicing",),
    "statuses": ("einvoicing",),
    "ereport": ("einvoicing",),
    "send": ("mail",),
    "pay": ("payments",),
    "balances": ("payments",),
    "credit": ("payments",),
    "import-bank": ("payments",),
    "report": ("reports",),
    "charge": ("usage",),
    "export": ("exports", "reports"),
    "auth": ("google",),
    "usage": ("usage",),
}


def build_command(name: str) -> TyperCommand | TyperGroup | None:
    """The Click command (or group) `name` of `app`, its modules imported; None for no such command."""
    from typer.main import get_command_from_info, get_command_name, get_group_from_info

    from facturier.cli.common import app

    for module in COMMAND_MODULES.get(name, ()):
        importlib.import_module(f"facturier.cli.{module}")
    for info in app.registered_commands:
        if info.callback is not None and (info.name or get_command_name(info.callback.__name__)) == name:
            return get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,  # type: ignore[return-value]
                                         rich_markup_mode=app.rich_markup_mode)
    for group in app.registered_groups:
        if group.name == name:
            return get_group_from_info(group, pretty_exceptions_short=app.pretty_exceptions_short,
                                       rich_markup_mode=app.rich_markup_mode, suggest_commands=app.suggest_commands)
    return None
