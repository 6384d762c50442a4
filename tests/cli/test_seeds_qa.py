"""The seeds' people replayed through the CLI: defects found by using the monthly cycle, the
batch service and collections as the studio, its batch clients and the founder would."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from tests.conftest import journal, run_cli


@pytest.fixture
def issued(ws: Path) -> Path:
    """Demo workspace after the 2026-11-15 run: 2026-0001 (acme 827.88 EUR), 2026-0002 (northwind)."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def payments(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "payment.recorded"]


def test_the_same_pay_typed_twice_is_refused_and_nothing_is_recorded_twice(issued: Path) -> None:
    """Seed 000's 13th-14th check: the owner types the transfer in, then (shell history, a
    second terminal) the same command again. The second must not become a second payment."""
    args = ("pay", "acme", "500", "--date", "2026-11-20", "--ref", "VIR-2026-11-20")
    assert run_cli(issued, *args).code == 0
    again = run_cli(issued, "pay", "acme", "500.00", "--date", "2026-11-20", "--ref", "VIR-2026-11-20")
    assert again.code == 1
    assert "Error: acme already has a payment of 500.00 EUR on 2026-11-20" in again.err
    assert "'VIR-2026-11-20'" in again.err and "Traceback" not in again.text
    assert len(payments(issued)) == 1
    # Other payments stay possible: another reference, another day, or no reference at all.
    assert run_cli(issued, "pay", "acme", "500", "--date", "2026-11-20", "--ref", "VIR-2").code == 0
    assert run_cli(issued, "pay", "acme", "1", "--date", "2026-11-20", "--ref", "VIR-2026-11-20").code == 0
    assert run_cli(issued, "pay", "acme", "5", "--date", "2026-11-21", "--method", "cash").code == 0
    assert run_cli(issued, "pay", "acme", "5", "--date", "2026-11-21", "--method", "cash").code == 0
    assert len(payments(issued)) == 5


def test_pay_after_import_bank_of_the_same_credit_is_refused(issued: Path, tmp_path: Path) -> None:
    """The statement was imported, then the owner records the same transfer by hand."""
    (issued / "facturier.toml").write_text(
        (issued / "facturier.toml").read_text(encoding="utf-8")
        + '\n[bank.csv]\ndate_column = "Date"\namount_column = "Amount"\ntext_column = "Label"\n'
        'id_column = "Id"\n', encoding="utf-8")
    statement = tmp_path / "releve.csv"
    statement.write_text("Date,Amount,Label,Id\n2026-11-20,827.88,VIR ACME 2026-0001,TX1\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(statement), "--format", "csv", "--date", "2026-11-21")
    assert res.code == 0, res.text
    [imported] = payments(issued)
    again = run_cli(issued, "pay", "acme", "827.88", "--date", "2026-11-20", "--ref", imported["reference"])
    assert again.code == 1, again.text
    assert "from releve.csv" in again.err
    assert len(payments(issued)) == 1


SHEET_HEAD = ("invoice_id,client_name,client_email,amount,currency,due_date,sent_date,status,notes,"
              "last_stage_sent,last_sent_at,language\n")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_first_reminder_at_a_late_stage_never_claims_earlier_reminders(tmp_path: Path, language: str) -> None:
    """Seed 003: the founder points `remind` at a sheet whose invoices are already weeks late.
    The first draft for each is at stage 28 or 42; it must not tell the client "despite our
    previous reminders" when no reminder was ever made."""
    ws = tmp_path / "ws"
    assert run_cli(ws, "init", str(ws)).code == 0
    cfg = (ws / "facturier.toml").read_text(encoding="utf-8")
    cfg = cfg.replace("dry_run = true", "dry_run = false").replace('"08:00-18:00"', '"00:00-24:00"')
    cfg = cfg.replace('# source = "csv"', 'source = "csv"').replace('# source_path = "invoices.csv"',
                                                                     'source_path = "invoices.csv"')
    (ws / "facturier.toml").write_text(cfg, encoding="utf-8")
    (ws / "invoices.csv").write_text(
        SHEET_HEAD + f"INV-28,Sarah Co,sarah@example.com,1200.50,EUR,2025-01-01,2024-12-01,Overdue,,,,{language}\n"
        f"INV-42,Bob Ltd,bob@example.com,300,EUR,2024-12-10,2024-11-10,Overdue,,,,{language}\n", encoding="utf-8")
    res = run_cli(ws, "remind", "--date", "2025-01-29", "--json")
    assert res.code == 0, res.text
    drafts = sorted((ws / "data" / "drafts").glob("*.eml"))
    assert [p.name.split("-", 1)[1] for p in drafts] == ["INV-28-stage28.eml", "INV-42-stage42.eml"]
    for path in drafts:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for claim in ("previous reminders", "previous messages", "précédents rappels", "précédents messages"):
            assert claim not in plain, (path.name, plain)
        assert ("outstanding" if language == "en" else "échu depuis") in plain


def test_a_client_switched_back_to_test_mode_gets_no_email(ws: Path) -> None:
    """Seed 000: an email goes out only for a live client (PRODUCT §7: "`mode` is live"). A live
    invoice issued early in the month, then the client put back in test mode before the send
    day: the send day must not email it (the batch ZIPs already obeyed the client's mode)."""
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "live"\ninvoice_day = 1'),
                    encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-10").code == 0
    issued = [e["number"] for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "acme"]
    assert issued == ["2026-0001"]
    acme.write_text(acme.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "test"'), encoding="utf-8")
    preview = run_cli(ws, "send", "--date", "2026-11-15", "--dry-run")
    assert preview.code == 0 and "2026-0001" not in preview.out, preview.text
    res = run_cli(ws, "run", "--date", "2026-11-15")
    assert res.code == 0, res.text
    assert not [e for e in journal(ws) if e["type"].startswith("invoice.send") and e.get("number") == "2026-0001"]
    outbox = ws / "data" / "outbox"
    assert not any("2026-0001" in p.name for p in outbox.glob("*.eml")) if outbox.exists() else True


def test_a_draft_waiting_for_an_invoice_paid_or_disputed_since_is_named_by_the_next_remind(ws: Path) -> None:
    """Seed 003: drafts are made on one day and sent by the owner on another. Paid (or
    disputed) in between, the draft must be named so that it is deleted, not sent."""
    from tests.collections_workspace import OPEN_ALL_DAY, configure

    configure(ws, OPEN_ALL_DAY)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0  # 2026-0001 acme, 2026-0002 northwind
    assert run_cli(ws, "remind", "--date", "2026-12-23").code == 0  # acme 8 days overdue: stage 7
    [draft] = [p for p in (ws / "data" / "drafts").glob("*.eml") if "2026-0001" in p.name]
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-24").code == 0
    for args in (("--dry-run",), ()):
        res = run_cli(ws, "remind", "--date", "2026-12-26", *args)
        assert res.code == 0, res.text
        assert f"WARNING: do not send data/drafts/{draft.name}" in res.err
        assert "2026-0001 is paid or credited now" in res.err
    page = (ws / "exports" / "review-2026-12-26.html").read_text(encoding="utf-8")
    assert f"do not send data/drafts/{draft.name}" in page
    draft.unlink()  # the owner deleted it: nothing more to say
    res = run_cli(ws, "remind", "--date", "2026-12-27")
    assert res.code == 0 and "do not send" not in res.text, res.text


def test_a_draft_of_an_invoice_disputed_since_is_named_and_one_still_due_is_not(ws: Path) -> None:
    from tests.collections_workspace import OPEN_ALL_DAY, configure

    configure(ws, OPEN_ALL_DAY)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "remind", "--date", "2027-01-07").code == 0  # acme stage 21, northwind stage 7
    assert len(list((ws / "data" / "drafts").glob("*.eml"))) == 2
    assert run_cli(ws, "dispute", "2026-0001", "--reason", "hours contested", "--date", "2027-01-08").code == 0
    res = run_cli(ws, "remind", "--date", "2027-01-08")
    assert res.code == 0, res.text
    assert "(the stage 21 reminder of 2026-0001, drafted on 2027-01-07): 2026-0001 is disputed now" in res.err
    assert "2026-0002" not in res.err  # still overdue: its draft is still right


def test_the_same_charge_typed_twice_is_refused_and_billed_once(ws: Path) -> None:
    """Seed 000's billing rules: a one-off line for next month's invoice. A charge cannot be
    withdrawn, so the same command run twice must not bill the client twice."""
    args = ("charge", "acme", "120.00", "--description", "Déplacement Lyon", "--date", "2026-11-03")
    assert run_cli(ws, *args).code == 0
    again = run_cli(ws, *args)
    assert again.code == 1
    assert "Error: acme already has this charge pending, added on 2026-11-03" in again.err
    assert "Traceback" not in again.text
    # A distinct charge: another text, another amount, another rate or another day is recorded.
    assert run_cli(ws, "charge", "acme", "120.00", "--description", "Déplacement Lyon (2)",
                   "--date", "2026-11-03").code == 0
    assert run_cli(ws, "charge", "acme", "120.00", "--description", "Déplacement Lyon", "--vat-rate", "10",
                   "--date", "2026-11-03").code == 0
    assert run_cli(ws, "charge", "acme", "120.00", "--description", "Déplacement Lyon",
                   "--date", "2026-11-04").code == 0
    assert len([e for e in journal(ws) if e["type"] == "charge.added"]) == 4
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    [invoice] = [e for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "acme"]
    record = (ws / invoice["files"]["json"]["path"]).read_text(encoding="utf-8")
    assert record.count("Déplacement Lyon") == 4
    # Once invoiced, the same charge next month is new.
    assert run_cli(ws, "charge", "acme", "120.00", "--description", "Déplacement Lyon",
                   "--date", "2026-11-16").code == 0


def test_the_same_partial_credit_typed_twice_issues_one_credit_note(issued: Path) -> None:
    """Seed 000's corrections are credit notes, never deletions: a second identical
    `credit --amount` would be a second avoir in the gapless series, impossible to withdraw."""
    args = ("credit", "2026-0001", "--amount", "100.00", "--reason", "Geste commercial", "--date", "2026-11-20")
    first = run_cli(issued, *args)
    assert first.code == 0, first.text
    again = run_cli(issued, *args)
    assert again.code == 1
    assert "Error: AV-2026-0001 already credits 100.00 EUR on invoice 2026-0001, dated 2026-11-20" in again.err
    assert "Traceback" not in again.text
    notes = [e["number"] for e in journal(issued) if e["type"] == "credit_note.issued"]
    assert notes == ["AV-2026-0001"]
    # A distinct credit: another reason, amount or day is issued.
    assert run_cli(issued, "credit", "2026-0001", "--amount", "100.00", "--reason", "Retard de livraison",
                   "--date", "2026-11-20").code == 0
    assert run_cli(issued, "credit", "2026-0001", "--amount", "50.00", "--reason", "Geste commercial",
                   "--date", "2026-11-20").code == 0
    assert run_cli(issued, *args[:-1], "2026-11-21").code == 0
    assert len([e for e in journal(issued) if e["type"] == "credit_note.issued"]) == 4


def test_an_imap_draft_left_unsent_for_an_invoice_paid_since_is_named(tmp_path: Path) -> None:
    """Seed 003 with the real Drafts folder (Dovecot on loopback): a reminder still in Drafts
    after the invoice was paid is named by the next real `remind` (a dry run connects to
    nothing); once it leaves Drafts (sent, or deleted), it is not named any more."""
    from tests.collections_workspace import base_workspace, configure
    from tests.dovecot_server import PASSWORD, USER, dovecot_instance

    for server in dovecot_instance(special_use=True):
        ws = base_workspace(tmp_path)
        configure(ws, '[collections]\ndry_run = false\nwindow = "00:00-24:00"\ndrafts = "imap"\n\n'
                      f'[collections.imap]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
                      f'username = "{USER}"\npassword_env = "FACTURIER_IMAP_PASSWORD"\n')
        env = {"FACTURIER_IMAP_PASSWORD": PASSWORD}
        res = run_cli(ws, "remind", "--date", "2026-12-23", env=env)
        assert res.code == 0, res.text
        [drafted] = [e for e in journal(ws) if e["type"] == "reminder.drafted"]
        assert drafted["number"] == "2026-0001" and drafted["store"] == "imap"
        assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-24").code == 0
        preview = run_cli(ws, "remind", "--date", "2026-12-26", "--dry-run", env=env)
        assert preview.code == 0 and "do not send" not in preview.text, preview.text
        res = run_cli(ws, "remind", "--date", "2026-12-26", env=env)
        assert res.code == 0, res.text
        assert (f"WARNING: do not send the draft {drafted['draft_id']} in your imap drafts (the stage 7 reminder "
                "of 2026-0001, drafted on 2026-12-23): 2026-0001 is paid or credited now") in res.err
        conn = server.client()  # the owner sends it: the mail client takes it out of Drafts
        try:
            assert conn.select('"Brouillons perso"')[0] == "OK"
            conn.uid("STORE", str(drafted["uid"]), "+FLAGS", "(\\Deleted)")
            conn.expunge()
        finally:
            conn.logout()
        res = run_cli(ws, "remind", "--date", "2026-12-27", env=env)
        assert res.code == 0 and "do not send" not in res.text, res.text


def test_when_the_drafts_mailbox_cannot_be_searched_remind_says_so_and_still_succeeds(tmp_path: Path) -> None:
    from tests.collections_workspace import base_workspace, configure
    from tests.dovecot_server import PASSWORD, USER, dovecot_instance

    ws = base_workspace(tmp_path)
    env = {"FACTURIER_IMAP_PASSWORD": PASSWORD}
    for server in dovecot_instance(special_use=True):
        configure(ws, '[collections]\ndry_run = false\nwindow = "00:00-24:00"\ndrafts = "imap"\n\n'
                      f'[collections.imap]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
                      f'username = "{USER}"\npassword_env = "FACTURIER_IMAP_PASSWORD"\ntimeout = 3\n')
        assert run_cli(ws, "remind", "--date", "2026-12-23", env=env).code == 0
    # The server is gone now; the invoice gets paid.
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-24").code == 0
    res = run_cli(ws, "remind", "--date", "2026-12-26", env=env)
    assert res.code == 0, res.text
    assert "WARNING: the imap drafts were not searched for reminders that must no longer be sent " \
           "(no reminder is due now for 2026-0001): cannot connect to IMAP" in res.err


def test_a_payment_typed_into_the_payments_file_is_named_not_silently_ignored(issued: Path) -> None:
    """Seed 000's 13th-14th step: "update the files in data/payments/", then update the
    balances. Here those files are views: the edit must be named by `balances` (and by the
    `pay` that replaces it), never silently shown as unpaid."""
    import json

    assert run_cli(issued, "pay", "acme", "100", "--date", "2026-11-20", "--ref", "VIR-1").code == 0
    view = issued / "data" / "payments" / "acme.json"
    data = json.loads(view.read_text(encoding="utf-8"))
    data["payments"].append({"date": "2026-12-13", "amount": "727.88", "currency": "EUR", "reference": "VIR-2"})
    view.write_text(json.dumps(data, indent=2), encoding="utf-8")
    res = run_cli(issued, "balances", "--date", "2026-12-14")
    assert res.code == 0, res.text
    assert "WARNING: data/payments/acme.json lists 2 payment(s), the journal has 1 for acme" in res.err
    assert "facturier pay CLIENT AMOUNT" in res.err
    (issued / "data" / "payments" / "northwind.json").write_text("{not json", encoding="utf-8")
    res = run_cli(issued, "balances", "--date", "2026-12-14")
    assert "WARNING: data/payments/northwind.json is not valid JSON" in res.err
    # The owner then records it the right way: pay names the file it rewrites.
    res = run_cli(issued, "pay", "acme", "727.88", "--date", "2026-12-13", "--ref", "VIR-2")
    assert res.code == 0, res.text
    assert "WARNING: data/payments/acme.json lists 2 payment(s), the journal has 1 for acme" in res.err
    res = run_cli(issued, "balances", "--date", "2026-12-14")
    assert "acme.json" not in res.err and res.code == 0
