"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO, run_cli
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


@pytest.fixture(scope="module")
def busy_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo after a run, a batch and a payment (made once, copied by each test)."""
    ws = tmp_path_factory.mktemp("busy") / "ws"
    shutil.copytree(DEMO, ws)
    for args in (("run", "--date", "2026-11-15"), ("batch", "--date", "2026-11-15"),
                 ("pay", "acme", "100.00", "--date", "2026-11-20")):
        r = run_cli(ws, *args)
        assert r.code == 0, r.text
    return ws
