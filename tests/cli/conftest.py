"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pa_server import ACME_SIREN, LoopbackPA


@pytest.fixture
def pa() -> Iterator[LoopbackPA]:
    """A loopback accredited platform (tests/pa_server.py) whose directory lists acme's SIREN."""
    server = LoopbackPA()
    server.state.directory[ACME_SIREN] = "Other PA"
    yield server
    server.stop()


@pytest.fixture
def ews(ws: Path, pa: LoopbackPA) -> Path:
    """The demo workspace transmitting through the loopback platform."""
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(), encoding="utf-8")
    return ws
