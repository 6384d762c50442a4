"""E-invoicing QA, second pass: defects found using transmit, statuses and ereport from the
command line against the loopback platform (tests/pa_server.py), each fixed at its class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import journal, run_cli
from tests.pa_server import ENV, LoopbackPA

DAY = "2027-09-15"


@pytest.fixture
def ews(ws: Path, pa: LoopbackPA) -> Path:
    """The demo workspace transmitting through the loopback platform."""
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(), encoding="utf-8")
    return ws


def cli(ws: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(ws, *args, env={**ENV, **(env or {})})


def of_type(ws: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in journal(ws) if e["type"] == kind]


@pytest.mark.parametrize("retry_after", ["0", "-5"])
def test_a_429_asking_for_no_wait_is_bounded_not_a_loop_of_instant_retries(
        ews: Path, pa: LoopbackPA, monkeypatch: pytest.MonkeyPatch, retry_after: str) -> None:
    """A platform answering 429 with `Retry-After: 0` for ever hung transmit (the wait budget
    never grew); each wait now counts at least a second, so the budget ends it."""
    import facturier.adapters.pa as pa_module

    monkeypatch.setattr(pa_module, "MAX_WAIT", 2.0)
    assert cli(ews, "run", "--date", "2027-09-14").code == 0  # nothing issued yet: no call
    pa.fail_next(429, retry_after=retry_after, count=300, path="/afnor-flow/v1/flows/search")
    pa.fail_next(429, retry_after=retry_after, count=300, path="/afnor-flow/v1/flows")
    result = cli(ews, "run", "--date", DAY)
    assert result.code == 1, result.text
    assert "is rate-limiting (429)" in result.text and "Traceback" not in result.text
    assert "Nothing is lost" in result.text
    calls = [p for _, p in pa.state.requests if p.startswith("/afnor-flow")]
    assert len(calls) <= 5, len(calls)
    assert of_type(ews, "einvoice.transmitted") == []
    pa.state.faults.clear()
    retry = cli(ews, "transmit", "--date", DAY)
    assert retry.code == 0, retry.text
    assert len(pa.state.sent(syntax="Factur-X")) == 1 and len(of_type(ews, "einvoice.transmitted")) == 1
