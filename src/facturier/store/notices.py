"""Where the store's one-line notices go (a rebuilt checkpoint, a head record created).

The CLI points `sink` at its error console; elsewhere notices go nowhere. An explicit hook,
set once at start-up, rather than a logger configured by import.
"""

from __future__ import annotations

from collections.abc import Callable

sink: Callable[[str], None] = lambda message: None


def notice(message: str) -> None:
    """Report one line to whoever listens."""
    sink(message)
