"""The platform mode of every e-invoicing fact (PRODUCT §13, docs/e-invoicing.md "Turn it on"):
a studio rehearses with `mode = "test"` against its platform's test environment, then switches
to `mode = "live"`. What went to the test platform only is sent again, once, to the live one:
each document, each 212, each e-report period; the test platform's statuses stop no live
reminder. A journal written before entries said their mode keeps today's meaning.

Two loopback platforms (tests/pa_server.py) stand for the test and live environments."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_einvoicing import DAY, cli, of_type, transmitted_and_reminded
from tests.cli.test_einvoicing_ereport import CONSUMER
from tests.conftest import journal, run_cli_process
from tests.pa_server import ACME_SIREN, ENV, LoopbackPA

EINVOICING = ("einvoice.directory", "einvoice.transmitting", "einvoice.transmitted", "einvoice.status",
              "ereport.sent")


@pytest.fixture
def live() -> Iterator[LoopbackPA]:
    """The platform's live environment: another server, whose directory lists acme's SIREN too."""
    server = LoopbackPA()
    server.state.directory[ACME_SIREN] = "Other PA"
    yield server
    server.stop()


def go_live(ws: Path, test: LoopbackPA, live: LoopbackPA, since: str = "2026-01-01") -> None:
    """The docs' second step: `mode = "live"` with the live URLs, in place of the test table."""
    path = ws / "facturier.toml"
    text = path.read_text(encoding="utf-8")
    rehearsal = test.config(mode="test", since=since)
    assert rehearsal in text
    path.write_text(text.replace(rehearsal, live.config(mode="live", since=since)), encoding="utf-8")


def invoices(pa: LoopbackPA) -> list[Any]:
    return pa.state.sent(syntax="Factur-X")


def modes(ws: Path, kind: str) -> list[str | None]:
    return [e.get("mode") for e in of_type(ws, kind)]


def test_a_document_transmitted_in_test_mode_is_transmitted_once_live(
        ews: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    [rehearsed] = invoices(pa)
    [done] = of_type(ews, "einvoice.transmitted")
    number = done["number"]
    assert modes(ews, "einvoice.transmitting") == ["test"] and modes(ews, "einvoice.transmitted") == ["test"]
    assert modes(ews, "einvoice.directory") == ["test"]
    assert f"Platform: transmitted as flow {rehearsed.flow_id} (test platform, tracking" in cli(ews, "show", number).out

    go_live(ews, pa, live)
    shown = cli(ews, "show", number).out
    assert f"Platform: transmitted as flow {rehearsed.flow_id} to the test platform only: due on the live one" in shown
    preview = cli(ews, "transmit", "--date", DAY, "--dry-run")
    assert f"{number}\tissuer\tacme\twould transmit" in preview.out
    result = cli(ews, "transmit", "--date", DAY)
    assert result.code == 0, result.text
    [flow] = invoices(live)
    assert flow.content == rehearsed.content and flow.name == f"{number}.pdf"
    assert len(invoices(pa)) == 1  # the test platform is not asked again
    assert modes(ews, "einvoice.transmitted") == ["test", "live"]
    assert [e["flow_id"] for e in of_type(ews, "einvoice.transmitted")] == [rehearsed.flow_id, flow.flow_id]
    assert f"Platform: transmitted as flow {flow.flow_id} (live platform, tracking" in cli(ews, "show", number).out

    # The next runs send nothing twice.
    again = cli(ews, "transmit", "--date", DAY)
    assert again.code == 0 and "Nothing to transmit." in again.out
    assert cli(ews, "run", "--date", "2027-09-16").code == 0
    assert len(invoices(live)) == 1
    assert cli(ews, "verify").code == 0


def test_a_send_interrupted_in_test_mode_is_sent_live_not_searched_on_the_test_platform(
        ews: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    pa.fail_next(500, path="/afnor-flow/v1/flows")  # the intent is journalled, the send fails
    assert cli(ews, "run", "--date", DAY).code == 1
    assert modes(ews, "einvoice.transmitting") == ["test"] and of_type(ews, "einvoice.transmitted") == []
    go_live(ews, pa, live)
    result = cli(ews, "transmit", "--date", DAY)
    assert result.code == 0, result.text
    assert len(invoices(live)) == 1 and invoices(pa) == []
    assert modes(ews, "einvoice.transmitting") == ["test", "live"]
    assert modes(ews, "einvoice.transmitted") == ["live"]
    assert not any(path == "/afnor-flow/v1/flows/search" for _, path in pa.state.requests)


def test_a_payment_reported_in_test_mode_is_reported_once_live(ews: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    assert cli(ews, "pay", "acme", "300.00", "--date", "2027-10-01").code == 0
    assert cli(ews, "transmit", "--date", "2027-10-01").code == 0
    assert len(pa.state.sent(syntax="CDAR")) == 1
    go_live(ews, pa, live)
    result = cli(ews, "transmit", "--date", "2027-10-02")
    assert result.code == 0, result.text
    assert len(invoices(live)) == 1 and len(live.state.sent(syntax="CDAR")) == 1
    assert "212 sent\tEncaissée 300.00 EUR (payment of 2027-10-01)" in result.out
    assert modes(ews, "einvoice.status") == ["test", "live"]
    assert cli(ews, "transmit", "--date", "2027-10-03").code == 0
    assert len(live.state.sent(syntax="CDAR")) == 1 and len(pa.state.sent(syntax="CDAR")) == 1
    assert "212 Encaissée" in cli(ews, "invoices").out


def test_the_test_platforms_statuses_stop_no_live_reminder(ews: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    number, reminded = transmitted_and_reminded(ews)
    pa.emit_status(number, "207", reason="Quantités contestées")
    assert cli(ews, "statuses", "--date", DAY).code == 0
    assert not reminded()  # while rehearsing, the test platform's word counts (as before)
    go_live(ews, pa, live)
    assert reminded()  # once live, a rehearsal's dispute does not stop the real reminders
    listed = cli(ews, "invoices").out
    assert "207 En litige" not in listed
    assert cli(ews, "transmit", "--date", DAY).code == 0
    live.emit_status(number, "207", reason="Quantités contestées")
    fetched = cli(ews, "statuses", "--date", DAY)
    assert fetched.code == 0 and "is in dispute on the platform (207)" in fetched.text
    assert not reminded()  # the live platform's word counts
    assert modes(ews, "einvoice.status") == ["test", "live"]
    assert "Lifecycle status: 207 En litige" in cli(ews, "show", number).out


def test_a_period_e_reported_in_test_mode_is_e_reported_again_live(
        ws: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2027-09-01") + 'platform_id = "0042"\n',
                    encoding="utf-8")
    (ws / "clients" / "martin.toml").write_text(CONSUMER, encoding="utf-8")
    assert cli(ws, "run", "--date", "2027-09-15").code == 0
    assert cli(ws, "pay", "martin", "50", "--date", "2027-09-20").code == 0
    rehearsal = run_cli_process(ws, "ereport", "--date", "2027-10-02", env=ENV)
    assert rehearsal.code == 0, rehearsal.text
    assert len(pa.state.sent(syntax="FRR")) == 2
    go_live(ws, pa, live, since="2027-09-01")
    warned = cli(ws, "check")
    assert "the e-report of 2027-09 (transactions) is not sent (due by 2027-10-31)" in warned.out
    result = run_cli_process(ws, "ereport", "--date", "2027-10-03", env=ENV)
    assert result.code == 0, result.text
    assert [f.name for f in live.state.sent(syntax="FRR")] == ["FRR_transactions_2027-09.xml",
                                                               "FRR_payments_2027-09.xml"]
    assert [(e["kind"], e.get("mode")) for e in of_type(ws, "ereport.sent")] == [
        ("transactions", "test"), ("payments", "test"), ("transactions", "live"), ("payments", "live")]
    again = run_cli_process(ws, "ereport", "--date", "2027-10-04", env=ENV)
    assert again.code == 0 and "Nothing to e-report" in again.out
    assert len(live.state.sent(syntax="FRR")) == 2 and len(pa.state.sent(syntax="FRR")) == 2
    assert "the e-report of 2027-09" not in cli(ws, "check").out


def without_modes(ws: Path) -> None:
    """The journal as a version before this one wrote it: no `mode` key on the e-invoicing entries
    (re-chained), the state dropped."""
    from facturier.store.journal import GENESIS, Head, canonical, entry_hash, write_head

    prev, lines = GENESIS, []
    entries = journal(ws)
    for entry in entries:
        if entry["type"] in EINVOICING:
            entry.pop("mode", None)
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(entry)
        lines.append(canonical(entry) + b"\n")
    (ws / "data" / "journal.jsonl").write_bytes(b"".join(lines))
    write_head(ws / "data" / "journal.head", Head(len(entries), prev))
    for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
        (ws / "data" / name).unlink(missing_ok=True)


def test_a_journal_without_modes_counts_in_both_as_before(ews: Path, pa: LoopbackPA, live: LoopbackPA) -> None:
    number, reminded = transmitted_and_reminded(ews)
    assert cli(ews, "pay", "acme", "300.00", "--date", "2027-10-01").code == 0
    assert cli(ews, "transmit", "--date", "2027-10-01").code == 0
    pa.emit_status(number, "207", reason="Quantités contestées")
    assert cli(ews, "statuses", "--date", "2027-10-01").code == 0
    without_modes(ews)
    before = (ews / "data" / "journal.jsonl").read_bytes()
    assert b'"mode":"test"' not in before.split(b'"type":"einvoice.')[1]
    go_live(ews, pa, live)
    result = cli(ews, "transmit", "--date", "2027-10-02")
    assert result.code == 0 and "Nothing to transmit." in result.out, result.text
    assert live.state.sent() == []  # nothing already sent is sent twice
    assert not reminded()  # the dispute journalled before still stops reminders
    assert "207 En litige" in cli(ews, "invoices").out
    shown = cli(ews, "show", number).out
    assert "Platform: transmitted as flow " in shown and "platform, tracking" not in shown
    assert (ews / "data" / "journal.jsonl").read_bytes().startswith(before)  # existing bytes unchanged
    assert cli(ews, "verify").code == 0


def test_a_state_of_the_previous_schema_is_rebuilt_with_a_note(ews: Path, pa: LoopbackPA) -> None:
    assert cli(ews, "run", "--date", DAY).code == 0
    db = sqlite3.connect(ews / "data" / "state.sqlite")
    with db:
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    db.close()
    result = cli(ews, "transmit", "--date", DAY)
    assert result.code == 0 and "Nothing to transmit." in result.out, result.text
    assert "state file data/state.sqlite not used (schema '4', this version reads 6); rebuilding it" in result.text
    assert len(invoices(pa)) == 1
