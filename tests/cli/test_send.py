"""`facturier run` / `send` end to end: real CLI, real SMTP server on loopback, journal read back."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from facturier.store.events import DeliveryEvent, T
from tests.conftest import journal, run_cli
from tests.smtp_server import use_smtp

NOV15 = ("--date", "2026-11-15")


def set_option(ws: Path, rel: str, old: str, new: str) -> None:
    path = ws / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def add_clients(ws: Path, n: int) -> None:
    """n more French clients like acme, all with auto_send = true."""
    acme = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    for i in range(n):
        text = acme.replace("compta@acme.example", f"compta@client{i}.example")
        (ws / "clients" / f"client{i}.toml").write_text(text, encoding="utf-8")


def of_type(ws: Path, type_: str) -> list[dict[str, Any]]:
    return [e for e in journal(ws) if e["type"] == type_]


def attachments(msg: Any) -> list[Any]:
    return [part for part in msg.iter_attachments()]


def test_run_on_the_send_day_emails_the_invoice_in_french_with_its_pdf(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    result = run_cli(ws, "run", *NOV15, env=env)
    assert result.code == 0, result.text
    [msg] = smtp_server.recorder.messages  # northwind: auto_send false; sandbox: test; atelier: inactive
    issued = {e["number"]: e for e in of_type(ws, "invoice.issued")}["2026-0001"]
    [sent] = of_type(ws, "invoice.sent")
    assert msg["Subject"] == "Facture 2026-0001 - Palks Studio"
    assert msg["From"] == "Palks Studio <billing@palks.example>" and msg["To"] == "compta@acme.example"
    assert msg["Bcc"] is None and "archive@palks.example" in smtp_server.recorder.envelopes[0][1]
    assert msg["Date"] and str(msg["Message-ID"]) == sent["message_id"]
    assert sent["number"] == "2026-0001" and sent["to"] == ["compta@acme.example"] and sent["transport"] == "smtp"
    assert "Veuillez trouver ci-joint la facture 2026-0001" in msg.get_body(("plain",)).get_content()
    assert "827,88" in msg.get_body(("html",)).get_content()
    [pdf] = attachments(msg)
    assert pdf.get_filename() == "2026-0001.pdf"
    assert pdf.get_content() == (ws / issued["files"]["pdf"]["path"]).read_bytes()
    assert hashlib.sha256(pdf.get_content()).hexdigest() == issued["files"]["pdf"]["sha256"]
    sending = of_type(ws, "invoice.sending")
    assert sending[0]["seq"] < sent["seq"]  # journalled before the handover


def test_english_client_gets_english_email_to_every_recipient(ws: Path, smtp_server: Any) -> None:
    set_option(ws, "clients/northwind.toml", "auto_send = false", "auto_send = true")
    env = use_smtp(ws, smtp_server)
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    msg = {m["X-Facturier-Ref"]: m for m in smtp_server.recorder.messages}["2026-0002"]
    assert msg["Subject"] == "Invoice 2026-0002 from Palks Studio"
    assert msg["To"] == "accounts@northwind.example, ops@northwind.example"
    assert "Please find attached invoice 2026-0002" in msg.get_body(("plain",)).get_content()


def test_14th_sends_nothing_15th_sends_second_15th_sends_nothing_more(ws: Path, smtp_server: Any) -> None:
    set_option(ws, "clients/northwind.toml", "auto_send = false", "auto_send = true")
    env = use_smtp(ws, smtp_server)
    assert run_cli(ws, "run", "--date", "2026-11-14", env=env).code == 0
    assert [e["client"] for e in of_type(ws, "invoice.issued")] == ["northwind"]  # its invoice_day is 1
    assert smtp_server.recorder.messages == []
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    assert sorted(smtp_server.recorder.refs()) == ["2026-0001", "2026-0002"]
    again = run_cli(ws, "run", *NOV15, env=env)
    assert again.code == 0 and "already sent" in again.text
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    assert len(smtp_server.recorder.messages) == 2 and len(of_type(ws, "invoice.sent")) == 2


def test_inactive_test_mode_and_auto_send_false_never_receive(ws: Path, smtp_server: Any) -> None:
    set_option(ws, "clients/atelier-lumiere.toml", "auto_send = false", "auto_send = true") \
        if "auto_send = false" in (ws / "clients/atelier-lumiere.toml").read_text() else None
    env = use_smtp(ws, smtp_server)
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    rcpts = {r for _, to in smtp_server.recorder.envelopes for r in to}
    assert not rcpts & {"sandbox@example.com", "contact@atelier-lumiere.example",
                        "accounts@northwind.example", "ops@northwind.example"}
    assert {e["number"] for e in of_type(ws, "invoice.sent")} == {"2026-0001"}


def test_refused_message_alerts_stays_unsent_and_is_retried(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    smtp_server.recorder.refuse = {"compta@acme.example"}
    result = run_cli(ws, "run", *NOV15, env=env)
    assert result.code == 1 and "2026-0001: not sent" in result.err and "550" in result.err
    assert of_type(ws, "invoice.sent") == [] and len(of_type(ws, "invoice.send_failed")) == 1
    # The operator summary went out through the same server, to the issuer.
    [alert] = [m for m in smtp_server.recorder.messages if m["X-Facturier-Ref"] == "alerts"]
    assert alert["To"] == "billing@palks.example" and "550" in alert.get_body(("plain",)).get_content()
    smtp_server.recorder.refuse = set()
    retry = run_cli(ws, "send", *NOV15, env=env)
    assert retry.code == 0, retry.text
    # The client got it exactly once (the Bcc archive, accepted the first time, gets a copy).
    assert sum("compta@acme.example" in to for _, to in smtp_server.recorder.envelopes) == 1
    assert [e["number"] for e in of_type(ws, "invoice.sent")] == ["2026-0001"]


def test_a_send_that_failed_on_the_send_day_is_retried_the_next_day_until_delivered(
        ws: Path, smtp_server: Any) -> None:
    """SMTP refuses on the 15th: the next day's `send` (and `run`) retries it, alerting while it
    fails, and once delivered it is never sent again."""
    env = use_smtp(ws, smtp_server)
    smtp_server.recorder.refuse = {"compta@acme.example"}
    assert run_cli(ws, "run", *NOV15, env=env).code == 1
    still = run_cli(ws, "send", "--date", "2026-11-16", env=env)
    assert still.code == 1 and "2026-0001: not sent" in still.err
    assert "Nothing to send" not in still.text
    assert len(of_type(ws, "invoice.send_failed")) == 2
    smtp_server.recorder.refuse = set()
    retried = run_cli(ws, "run", "--date", "2026-11-17", env=env)
    assert retried.code == 0, retried.text
    assert [e["number"] for e in of_type(ws, "invoice.sent")] == ["2026-0001"]
    assert run_cli(ws, "send", "--date", "2026-11-18", env=env).code == 0
    assert sum("compta@acme.example" in to for _, to in smtp_server.recorder.envelopes) == 1
    assert [e["number"] for e in of_type(ws, "invoice.sent")] == ["2026-0001"]


def test_dropped_connection_mid_batch_then_rerun_sends_the_rest_once(ws: Path, smtp_server: Any) -> None:
    add_clients(ws, 4)
    env = use_smtp(ws, smtp_server)
    smtp_server.recorder.drop_after = 2
    first = run_cli(ws, "run", *NOV15, env=env)
    assert first.code == 1 and "connection" in first.err.lower()
    assert len(smtp_server.recorder.messages) == 2 and len(of_type(ws, "invoice.sent")) == 2
    smtp_server.recorder.drop_after = None
    second = run_cli(ws, "send", "--date", "2026-11-16", env=env)  # the day after: still retried
    assert second.code == 0, second.text
    refs = [r for r in smtp_server.recorder.refs() if r != "alerts"]
    assert len(refs) == 5 and len(set(refs)) == 5
    assert sorted(e["number"] for e in of_type(ws, "invoice.sent")) == sorted(refs)


def test_interrupted_send_is_not_resent_but_raised_then_confirmed(ws: Path, smtp_server: Any) -> None:
    from facturier.store.ledger import Ledger

    env = use_smtp(ws, smtp_server)
    assert run_cli(ws, "run", "--date", "2026-11-14", env=env).code == 0  # issues northwind only
    set_option(ws, "clients/acme.toml", "auto_send = true", "auto_send = false")
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    set_option(ws, "clients/acme.toml", "auto_send = false", "auto_send = true")
    with Ledger(ws) as ledger:  # what a process killed right after handing the message over leaves
        ledger.append(DeliveryEvent(type=T.INVOICE_SENDING, number="2026-0002", client="acme",
                                    message_id="<x@palks.example>"))
    blocked = run_cli(ws, "send", *NOV15, env=env)
    assert blocked.code == 1 and "--confirm-sent 2026-0002" in blocked.err
    assert "2026-0002" not in smtp_server.recorder.refs()
    assert run_cli(ws, "send", "--confirm-sent", "2026-0002", env=env).code == 0
    [sent] = of_type(ws, "invoice.sent")
    assert sent["message_id"] == "<x@palks.example>" and sent["confirmed_by_operator"] is True
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    assert "2026-0002" not in smtp_server.recorder.refs()
    assert run_cli(ws, "send", "--retry", "2026-0002", env=env).code == 1  # already sent: refused


def test_retry_sends_an_interrupted_invoice_now(ws: Path, smtp_server: Any) -> None:
    from facturier.store.ledger import Ledger

    env = use_smtp(ws, smtp_server)
    set_option(ws, "clients/acme.toml", "auto_send = true", "auto_send = false")
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    with Ledger(ws) as ledger:
        ledger.append(DeliveryEvent(type=T.INVOICE_SENDING, number="2026-0001", client="acme",
                                    message_id="<y@palks.example>"))
    result = run_cli(ws, "send", "--retry", "2026-0001", env=env)
    assert result.code == 0, result.text
    assert smtp_server.recorder.refs() == ["2026-0001"]


def test_outbox_is_the_default_transport(ws: Path) -> None:
    assert run_cli(ws, "run", *NOV15).code == 0
    [eml] = list((ws / "data" / "outbox").glob("*-2026-0001.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Facture 2026-0001 - Palks Studio"
    assert of_type(ws, "invoice.sent")[0]["transport"] == "outbox"


def test_catch_up_invoice_after_the_send_day_is_not_sent_but_flagged(ws: Path) -> None:
    result = run_cli(ws, "run", "--date", "2026-11-17")  # cron missed the 15th
    assert result.code == 0, result.text  # a warning, not an error: nothing failed
    assert of_type(ws, "invoice.sent") == []
    assert "2026-0001 (acme) was issued on 2026-11-17, after the send day (15)" in result.err
    assert "facturier send --retry 2026-0001" in result.err
    assert run_cli(ws, "send", "--retry", "2026-0001").code == 0
    assert "2026-0001 (acme)" not in run_cli(ws, "send", "--date", "2026-11-18").err


def test_dry_run_lists_and_sends_nothing(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    set_option(ws, "clients/acme.toml", "auto_send = true", "auto_send = false")
    assert run_cli(ws, "run", *NOV15, env=env).code == 0
    set_option(ws, "clients/acme.toml", "auto_send = false", "auto_send = true")
    before = journal(ws)
    result = run_cli(ws, "send", *NOV15, "--dry-run", "--json", env=env)
    assert result.code == 0 and '"would send"' in result.out and "2026-0001" in result.out
    assert journal(ws) == before and smtp_server.recorder.messages == []


def test_missing_merge_field_in_an_override_names_template_and_field(ws: Path) -> None:
    override = ws / "templates" / "mail" / "invoice.fr.subject.txt"
    override.parent.mkdir(parents=True)
    override.write_text("Facture {{ numero }}\n", encoding="utf-8")
    result = run_cli(ws, "run", *NOV15)
    assert result.code == 1 and "invoice.fr.subject.txt" in result.err and "numero" in result.err
    assert of_type(ws, "invoice.sent") == [] and of_type(ws, "invoice.sending") == []


@pytest.mark.parametrize("body, message", [
    ("Facture \xe9 {{ number }}\n".encode("latin-1"), "UTF-8"),
    (b"Total {{ 1 / 0 }}\n", "division"),
])
def test_broken_override_is_an_alert_not_a_traceback(ws: Path, body: bytes, message: str) -> None:
    override = ws / "templates" / "mail" / "invoice.fr.subject.txt"
    override.parent.mkdir(parents=True)
    override.write_bytes(body)
    result = run_cli(ws, "run", *NOV15)
    assert result.code == 1 and "Traceback" not in result.text, result.text
    assert "invoice.fr.subject.txt" in result.err and message in result.err, result.err
    assert of_type(ws, "invoice.sent") == [] and of_type(ws, "invoice.sending") == []
    assert len(of_type(ws, "invoice.issued")) == 3  # the invoices themselves are issued


def test_missing_password_env_is_an_error_alert(ws: Path, smtp_server: Any) -> None:
    use_smtp(ws, smtp_server)
    result = run_cli(ws, "run", *NOV15, env={"TEST_SMTP_PASSWORD": ""})
    assert result.code == 1 and "TEST_SMTP_PASSWORD is not set" in result.err
    assert of_type(ws, "invoice.sent") == [] and len(of_type(ws, "invoice.issued")) == 3


def make_zip(ws: Path, month: str, size: int = 0) -> bytes:
    path = ws / "downloads" / f"boulangerie-martin-{month}.zip"
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("BM-2026-00001.pdf", b"%PDF-1.7 fake" + b"x" * size)
    return path.read_bytes()


def test_batch_link_delivered_once_for_last_month(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    make_zip(ws, "2026-10")
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    [msg] = [m for m in smtp_server.recorder.messages if m["To"] == "gestion@boulangerie-martin.example"]
    assert msg["Subject"] == "Vos factures de octobre 2026"
    body = msg.get_body(("plain",)).get_content()
    # The link names an unguessable folder (issue 24 item 7), published under downloads/.
    [token] = re.findall(r"https://files\.example\.com/facturier/([0-9a-f]{32})/boulangerie-martin-2026-10\.zip", body)
    assert (ws / "downloads" / token / "boulangerie-martin-2026-10.zip").is_file()
    [delivered] = of_type(ws, "batch.delivered")
    assert (delivered["client"], delivered["month"]) == ("boulangerie-martin", "2026-10")
    assert delivered["message_id"] == str(msg["Message-ID"])
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    assert len(of_type(ws, "batch.delivered")) == 1 and len(smtp_server.recorder.messages) == 1


def test_batch_attach_sends_the_zip_bytes(ws: Path, smtp_server: Any) -> None:
    set_option(ws, "batch_clients/boulangerie-martin.toml", 'delivery = "link"', 'delivery = "attach"')
    env = use_smtp(ws, smtp_server)
    data = make_zip(ws, "2026-10")
    assert run_cli(ws, "send", *NOV15, env=env).code == 0
    [msg] = smtp_server.recorder.messages
    [part] = attachments(msg)
    assert part.get_filename() == "boulangerie-martin-2026-10.zip" and part.get_content() == data


def test_batch_attach_above_10_mb_is_refused_with_an_alert(ws: Path) -> None:
    set_option(ws, "batch_clients/boulangerie-martin.toml", 'delivery = "link"', 'delivery = "attach"')
    path = ws / "downloads" / "boulangerie-martin-2026-10.zip"
    path.parent.mkdir()
    path.write_bytes(b"PK" + b"\0" * (10 * 1024 * 1024 + 1))
    result = run_cli(ws, "send", *NOV15)
    assert result.code == 1 and "10 MB" in result.err
    assert of_type(ws, "batch.delivered") == []


def test_batch_without_zip_is_skipped_with_a_note(ws: Path) -> None:
    result = run_cli(ws, "send", *NOV15)
    assert result.code == 0 and "no boulangerie-martin-2026-10.zip" in result.text


def test_run_dry_run_on_the_send_day_says_which_new_invoices_would_be_emailed(ws: Path) -> None:
    """The invoices a dry run would issue are not emails yet: it says which the real run would
    email, and never that what the rules allow "was already sent"."""
    dry = run_cli(ws, "run", "--dry-run", *NOV15)
    assert dry.code == 0, dry.text
    assert "was already sent" not in dry.text
    assert "would also email the invoices it issues today to: acme" in dry.out
    assert "Nothing to send" not in dry.out
    off_day = run_cli(ws, "run", "--dry-run", "--date", "2026-11-14")
    assert "would also email" not in off_day.out and "emails go out on day 15" in off_day.out


def test_nothing_to_send_is_not_printed_under_an_error(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ZIP too large to attach is an error: the output does not also say "Nothing to send"."""
    from facturier.ops.delivery import zips

    monkeypatch.setattr(zips, "MAX_ATTACHMENT_BYTES", 10)
    set_option(ws, "batch_clients/boulangerie-martin.toml", 'delivery = "link"', 'delivery = "attach"')
    (ws / "downloads").mkdir(exist_ok=True)
    (ws / "downloads" / "boulangerie-martin-2026-10.zip").write_bytes(b"x" * 100)
    r = run_cli(ws, "send", *NOV15)
    assert r.code == 1 and "above the 10 MB attachment limit" in r.err
    assert "Nothing to send" not in r.text
