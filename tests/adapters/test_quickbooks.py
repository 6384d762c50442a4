"""The QuickBooks source against the loopback QuickBooks (tests/quickbooks_server.py), through
python-quickbooks and intuit-oauth over real HTTP: paging, token expiry, and the rows it lays out."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("quickbooks")

from facturier.adapters.quickbooks import QuickBooksSession, QuickBooksSource
from facturier.config.collections import QuickBooksConfig
from tests.quickbooks_server import ENV, REALM, QuickBooksServer, QuickBooksState, customer, invoice

TODAY = date(2026, 12, 1)


def config(server: QuickBooksServer, token: Path) -> QuickBooksConfig:
    return QuickBooksConfig(realm_id=REALM, token_file=str(token), api_base=f"{server.base}/v3",
                            discovery_url=f"{server.base}/.well-known/openid_configuration")


def test_open_invoices_are_read_page_by_page_with_their_customers(tmp_path: Path) -> None:
    state = QuickBooksState(customers=[customer("1", "ACME SAS", "ap@acme.example")])
    state.invoices = [invoice(f"10{i:02d}", "1", "10.5", "2026-10-01", id_=str(i)) for i in range(5)]
    with QuickBooksServer(state) as server:
        cfg = config(server, tmp_path / "token.json")
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        parsed = QuickBooksSource(lambda: QuickBooksSession(cfg, tmp_path, env), page_size=2).read(TODAY)
    assert [r.invoice_id for r in parsed.rows] == ["1000", "1001", "1002", "1003", "1004"]
    assert [q.split("where ")[1] for q in state.queries] == [
        "Balance > '0' STARTPOSITION 1 MAXRESULTS 2", "Balance > '0' STARTPOSITION 3 MAXRESULTS 2",
        "Balance > '0' STARTPOSITION 5 MAXRESULTS 2", "Id in ('1')"]
    first = parsed.rows[0]
    assert (first.client_name, first.emails, str(first.amount), first.currency, first.due_on) == (
        "ACME SAS", ("ap@acme.example",), "10.50", "EUR", date(2026, 10, 1))


def test_an_expired_access_token_is_refreshed_before_asking(tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"access_token": "AT-0", "refresh_token": "RT-1", "expires_at": 1000.0}))
    token.chmod(0o600)
    state = QuickBooksState(access_token="AT-0")
    with QuickBooksServer(state) as server:
        cfg = config(server, token)
        session = QuickBooksSession(cfg, tmp_path, ENV, now=lambda: 1000.0 - 3600)
        QuickBooksSource(lambda: session).read(TODAY)
        assert state.token_requests == []  # still valid then: used as is
        later = QuickBooksSession(cfg, tmp_path, ENV, now=time.time)
        QuickBooksSource(lambda: later).read(TODAY)
    assert [f["refresh_token"] for f in state.token_requests] == [["RT-1"]]
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "RT-2" and saved["expires_at"] > time.time() + 3000


def test_two_invoices_with_one_number_are_told_in_quickbooks_terms(tmp_path: Path) -> None:
    state = QuickBooksState(customers=[customer("1", "ACME SAS", "ap@acme.example")])
    state.invoices = [invoice("1037", "1", "10", "2026-10-01", id_="1"), invoice("1037", "1", "20", "2026-10-02",
                                                                                 id_="2")]
    with QuickBooksServer(state) as server:
        cfg = config(server, tmp_path / "token.json")
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        parsed = QuickBooksSource(lambda: QuickBooksSession(cfg, tmp_path, env)).read(TODAY)
    expected = ("QuickBooks invoice 1037: DocNumber: another open invoice has the same DocNumber: each "
                "reminder names one invoice")
    assert [str(p) for p in parsed.problems] == [expected]
