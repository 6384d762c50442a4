"""One exception tree: the CLI catches only FacturierError and prints `Error: message`."""

from __future__ import annotations


class FacturierError(Exception):
    """Base of every error Facturier reports to the user (exit code 1)."""


class ConfigError(FacturierError):
    """The workspace configuration is invalid; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid workspace configuration:\n" + "\n".join(problems))


class IntegrityError(FacturierError):
    """The journal or a file it names does not match its recorded hash."""


class LockBusyError(FacturierError):
    """Another facturier process holds the workspace lock."""


class InputError(FacturierError):
    """A user-supplied value (argument, CSV, bank file) is invalid."""


class UnsafeFileError(FacturierError):
    """A path the product would read or write is a symbolic link, not a regular file, or taken."""
