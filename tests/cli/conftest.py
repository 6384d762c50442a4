"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
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


# The bank CSV mapping of the French bank export the bank tests import (`import-bank`).
CSV_MAPPING = """
[bank.csv]
delimiter = ";"
date_column = "Date"
amount_column = "Montant"
text_column = "Libellé"
id_column = "Id"
date_format = "%d/%m/%Y"
decimal_separator = ","
"""


@pytest.fixture
def issued(ws: Path) -> Path:
    """The demo with the bank CSV mapping, its November invoices issued."""
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(CSV_MAPPING)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws
