"""What a command did, for the CLI to print: rows, notes and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert: 'error' makes the command exit 1 (and cron report it), 'warning' informs."""

    level: Literal["error", "warning"]
    message: str


@dataclass
class Report:
    """Rows of a table plus free-text notes and alerts."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when an error-level alert was raised."""
        return any(a.level == "error" for a in self.alerts)


class ProgressHook(Protocol):
    """Where long work reports its progress (a Rich bar on a terminal, see cli.common)."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, count: int) -> None: ...
