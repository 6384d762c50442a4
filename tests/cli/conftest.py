"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pa_server import ACME_SIREN, LoopbackPA


@pytest.fixture
def pa() -> Iterator[LoopbackPA]:
    """A loopback accredited platform (tests/pa_server.py) whose directory lists acme's SIREN."""
    server = LoopbackPA()
    server.state.directory[ACME_SIREN] = "Other PA"
    yield server
    server.stop()
