"""E-invoicing QA, second pass: defects found using transmit, statuses and ereport from the
command line against the loopback platform (tests/pa_server.py), each fixed at its class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_einvoicing import DAY, cli, of_type, transmitted_and_reminded
from tests.conftest import run_cli
from tests.pa_server import ENV, LoopbackPA


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


@pytest.fixture
def lax(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform ignores the search filters but the time (some do, for filters they lack)."""
    import tests.pa_server as server

    monkeypatch.setattr(server, "_matches", lambda flow, where: flow.updated_at > where.get("updatedAfter", ""))


@pytest.mark.usefixtures("lax")
def test_a_platform_ignoring_the_tracking_filter_never_passes_another_flow_for_an_ereport(
        ews: Path, pa: LoopbackPA) -> None:
    """The search before an e-report's send took the invoice flow the platform listed for the
    e-report: `ereport.sent` journalled with the invoice's flow, the e-report never sent."""
    path = ews / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + 'platform_id = "0001"\n', encoding="utf-8")
    assert cli(ews, "run", "--date", DAY).code == 0
    [invoice] = pa.state.sent(syntax="Factur-X")
    result = cli(ews, "ereport", "--period", "2027-09", "--date", "2027-10-20")
    assert result.code == 0, result.text
    [frr] = pa.state.sent(syntax="FRR")
    [sent] = [e for e in of_type(ews, "ereport.sent") if e["kind"] == "transactions"]
    assert sent["flow_id"] == frr.flow_id != invoice.flow_id and sent["count"] == 1


@pytest.mark.usefixtures("lax")
def test_a_platform_ignoring_the_tracking_filter_never_passes_another_flow_for_a_resent_invoice(
        ews: Path, pa: LoopbackPA) -> None:
    """A document left `transmitting` (its send refused) was journalled as transmitted with the
    first flow the platform listed, another document's, and never sent."""
    assert cli(ews, "run", "--date", DAY).code == 0
    pa.fail_next(503, path="/afnor-flow/v1/flows")
    assert cli(ews, "run", "--date", "2027-10-15").code == 1
    assert len(pa.state.sent(syntax="Factur-X")) == 1
    retry = cli(ews, "transmit", "--date", "2027-10-15")
    assert retry.code == 0, retry.text
    flows = pa.state.sent(syntax="Factur-X")
    done = of_type(ews, "einvoice.transmitted")
    assert len(flows) == 2 and sorted(d["flow_id"] for d in done) == sorted(f.flow_id for f in flows)


@pytest.mark.usefixtures("lax")
def test_a_platform_ignoring_the_lifecycle_filter_does_not_stop_statuses_at_our_own_flows(
        ews: Path, pa: LoopbackPA) -> None:
    """Our own invoice flows, listed with the lifecycle ones, were read as statuses: "not a valid
    CDAR", and no status was ever journalled."""
    assert cli(ews, "run", "--date", DAY).code == 0
    [done] = of_type(ews, "einvoice.transmitted")
    pa.emit_status(done["number"], "205")
    result = cli(ews, "statuses", "--date", "2027-09-20")
    assert result.code == 0, result.text
    assert [s["code"] for s in of_type(ews, "einvoice.status")] == ["205"]


@pytest.mark.parametrize("code", ["210", "213"])
def test_an_invoice_refused_or_rejected_on_the_platform_gets_no_reminder(
        ews: Path, pa: LoopbackPA, code: str) -> None:
    """A 210 (refused by the client) or 213 (rejected by the platform) is corrected by a credit
    note and a new invoice: reminding the client of it meanwhile was drafted as for any invoice."""
    number, reminded = transmitted_and_reminded(ews)

    assert reminded()
    pa.emit_status(number, code, reason="Commande inconnue")
    assert cli(ews, "statuses").code == 1  # the error alert of a refusal
    assert not reminded()


def test_an_ereport_of_a_period_before_since_is_refused_not_sent(ws: Path, pa: LoopbackPA) -> None:
    """`ereport --period` of a month before `einvoicing.since` built and sent that month's sales
    abroad (e-invoicing was not on then) and journalled it as e-reported."""
    path = ws / "facturier.toml"
    text = path.read_text(encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2027-08-15").code == 0  # e-invoicing off: Northwind's August invoice
    path.write_text(text + pa.config(since="2027-09-01") + 'platform_id = "0001"\n', encoding="utf-8")
    for extra in ((), ("--dry-run",)):
        result = cli(ws, "ereport", "--period", "2027-08", "--date", "2027-11-20", *extra)
        assert result.code == 1, result.text
        assert result.err.startswith("Error: --period 2027-08: it ends before einvoicing.since "
                                     "(facturier.toml: 2027-09-01)"), result.err
    assert of_type(ws, "ereport.sent") == [] and pa.state.sent(syntax="FRR") == []
    after = cli(ws, "ereport", "--period", "2027-09", "--date", "2027-11-20")  # from since on: as before
    assert after.code == 0, after.text
    assert {e["period"] for e in of_type(ws, "ereport.sent")} == {"2027-09"}


@pytest.fixture
def west_of_utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    """This machine in Martinique (UTC-4), as a studio in the Antilles runs its cron."""
    import time

    monkeypatch.setenv("TZ", "America/Martinique")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("west_of_utc")
def test_platform_times_without_an_offset_are_utc_and_no_status_is_passed_over(
        ews: Path, pa: LoopbackPA) -> None:
    """A platform giving its times without an offset: the next search started from the last
    one read as this machine's local time, four hours on in Martinique: the status set in
    between was never fetched."""
    import datetime as dt

    st = pa.state

    def naive_tick() -> str:
        st.clock += dt.timedelta(seconds=1)
        return st.clock.strftime("%Y-%m-%dT%H:%M:%S")

    st.tick = naive_tick  # type: ignore[method-assign]
    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    pa.emit_status(number, "200")
    assert cli(ews, "statuses", "--date", "2027-09-20").code == 0
    pa.emit_status(number, "205")
    result = cli(ews, "statuses", "--date", "2027-09-21")
    assert result.code == 0, result.text
    assert [s["code"] for s in of_type(ews, "einvoice.status")] == ["200", "205"]


def test_a_platform_search_ignoring_updated_after_is_an_error_not_an_endless_loop(
        ews: Path, pa: LoopbackPA, monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform answering the same full page whatever `updatedAfter` says: `statuses` asked
    for the next page for ever."""
    import tests.pa_server as server

    assert cli(ews, "run", "--date", DAY).code == 0
    number = of_type(ews, "einvoice.transmitted")[0]["number"]
    for _ in range(100):
        pa.emit_status(number, "204")
    monkeypatch.setattr(server, "_matches", lambda flow, where: True)
    result = run_cli(ews, "statuses", "--date", "2027-09-20", env=ENV, timeout=30)
    assert result.code == 1, result.text
    assert "the flow search answered the same 100 flows again" in result.text and "Traceback" not in result.text
    assert of_type(ews, "einvoice.status") == []
