"""Late batch rows (issue 24, item 2) and unguessable download links (item 7), end to end.

A batch client's month is delivered once as its monthly ZIP; a row dated in that month and
processed after the delivery goes into a supplementary ZIP (`<id>-<YYYY-MM>-2.zip`) delivered
on the next allowed send. Delivered ZIPs never change, their exact copies are kept in
data/batch_sent/ and journalled (SHA-256, invoices), and every live batch invoice ends up in
exactly one delivered ZIP. Sends go through a real SMTP server on loopback.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from facturier.store.events import DeliveryEvent, T
from facturier.store.ledger import Ledger
from tests.cli.test_batch import BID, drop
from tests.conftest import journal, run_cli
from tests.smtp_server import use_smtp

HEADER = "reference,date,customer_name,customer_address,description,unit_price"
SELLER = "gestion@boulangerie-martin.example"
LINK = re.compile(r"https://files\.example\.com/facturier/([0-9a-f]{32})/(boulangerie-martin-[0-9-]+\.zip)")


def rows(*refs_and_days: tuple[str, str]) -> str:
    lines = [f"{ref},{day},Client {ref},1 rue A | 69001 Lyon,Pain,12.50" for ref, day in refs_and_days]
    return "\n".join([HEADER, *lines]) + "\n"


def of_type(ws: Path, type_: str) -> list[dict[str, Any]]:
    return [e for e in journal(ws) if e["type"] == type_]


def zip_pdfs(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return sorted(n for n in zf.namelist() if n.endswith(".pdf"))


def seller_messages(server: Any) -> list[Any]:
    """The messages the seller's mailbox accepted (the envelope, not the To header)."""
    rec = server.recorder
    return [m for m, (_, rcpt) in zip(rec.messages, rec.envelopes, strict=True) if SELLER in rcpt]


def body(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def january_delivered(ws: Path, server: Any, env: dict[str, str]) -> None:
    """January's rows batched, then its monthly ZIP delivered on February's send day."""
    drop(ws, "2027-01-orders.csv", rows(("C-1", "2027-01-10"), ("C-2", "2027-01-20")))
    assert run_cli(ws, "batch", "--date", "2027-01-25").code == 0
    sent = run_cli(ws, "send", "--date", "2027-02-15", env=env)
    assert sent.code == 0, sent.text
    assert len(seller_messages(server)) == 1


def late_january_row(ws: Path) -> None:
    drop(ws, "2027-02-late.csv", rows(("C-3", "2027-01-31")))


def assert_each_invoice_delivered_once(ws: Path) -> None:
    live = Counter(e["number"] for e in of_type(ws, T.INVOICE_ISSUED) if e["seller"] == BID and e["mode"] == "live")
    delivered = Counter(n for e in of_type(ws, T.BATCH_DELIVERED) for n in e["invoices"])
    assert delivered == live


def test_a_late_row_goes_to_a_supplementary_zip_sent_on_the_next_send_day(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    january_delivered(ws, smtp_server, env)
    [first] = of_type(ws, T.BATCH_DELIVERED)
    kept = ws / "data" / "batch_sent" / BID / f"{BID}-2027-01.zip"
    assert first["invoices"] == ["BM-2027-00001", "BM-2027-00002"]
    assert first["files"]["zip"] == {"path": kept.relative_to(ws).as_posix(),
                                     "sha256": hashlib.sha256(kept.read_bytes()).hexdigest()}
    monthly = ws / "downloads" / f"{BID}-2027-01.zip"
    delivered_bytes = monthly.read_bytes()
    assert delivered_bytes == kept.read_bytes()

    late_january_row(ws)
    dry = run_cli(ws, "batch", "--dry-run", "--date", "2027-02-20")
    assert dry.code == 0 and f"would go into the supplementary ZIP {BID}-2027-01-2.zip" in dry.err, dry.text
    late = run_cli(ws, "batch", "--date", "2027-02-20")
    assert late.code == 0, late.text
    assert (f"issued after {BID}-2027-01.zip was delivered" in late.err
            and f"supplementary ZIP {BID}-2027-01-2.zip" in late.err and "BM-2027-00003" in late.err), late.text
    # The delivered ZIP never changes; the late invoice is in the supplementary one only.
    assert monthly.read_bytes() == delivered_bytes and zip_pdfs(monthly) == ["BM-2027-00001.pdf", "BM-2027-00002.pdf"]
    assert zip_pdfs(ws / "downloads" / f"{BID}-2027-01-2.zip") == ["BM-2027-00003.pdf"]

    assert run_cli(ws, "send", "--date", "2027-02-21", env=env).code == 0  # not the send day
    assert len(seller_messages(smtp_server)) == 1
    preview = run_cli(ws, "send", "--dry-run", "--date", "2027-03-15")
    assert f"{BID}/2027-01-2" in preview.out and "supplementary ZIP of 2027-01" in preview.text, preview.text
    assert f"{BID}/2027-02" not in preview.out  # nothing issued in February
    run_preview = run_cli(ws, "run", "--dry-run", "--date", "2027-03-15")
    assert f"{BID}/2027-01-2" in run_preview.out, run_preview.text

    sent = run_cli(ws, "send", "--date", "2027-03-15", env=env)
    assert sent.code == 0, sent.text
    [_, supplement] = seller_messages(smtp_server)
    assert supplement["Subject"] == "Vos factures de janvier 2027 (complément 1)"
    assert "complète celle déjà envoyée" in body(supplement)
    [(token, name)] = LINK.findall(body(supplement))
    assert name == f"{BID}-2027-01-2.zip"
    assert zip_pdfs(ws / "downloads" / token / name) == ["BM-2027-00003.pdf"]
    second = of_type(ws, T.BATCH_DELIVERED)[1]
    assert (second["month"], second["part"], second["invoices"]) == ("2027-01", 2, ["BM-2027-00003"])
    assert second["files"]["zip"]["path"] == f"data/batch_sent/{BID}/{name}"

    assert run_cli(ws, "send", "--date", "2027-03-15", env=env).code == 0
    assert run_cli(ws, "send", "--date", "2027-04-15", env=env).code == 0
    assert len(seller_messages(smtp_server)) == 2  # never twice
    assert_each_invoice_delivered_once(ws)
    assert run_cli(ws, "verify").code == 0


def test_verify_checks_the_kept_copy_of_a_delivered_zip(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    january_delivered(ws, smtp_server, env)
    kept = ws / "data" / "batch_sent" / BID / f"{BID}-2027-01.zip"
    kept.write_bytes(kept.read_bytes() + b"x")
    result = run_cli(ws, "verify")
    assert result.code == 1 and f"data/batch_sent/{BID}/{BID}-2027-01.zip: content changed" in result.text


def test_the_link_is_unguessable_and_the_same_on_every_attempt(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    drop(ws, "2027-01-orders.csv", rows(("C-1", "2027-01-10")))
    assert run_cli(ws, "batch", "--date", "2027-01-25").code == 0
    smtp_server.recorder.refuse = {SELLER}
    failed = run_cli(ws, "send", "--date", "2027-02-15", env=env)
    assert failed.code == 1 and "retried" in failed.err
    [refused] = of_type(ws, T.BATCH_SEND_FAILED)
    assert re.fullmatch(r"[0-9a-f]{32}", refused["link_token"])
    smtp_server.recorder.refuse = set()
    # A failed send is retried by every later run, in a later month too, until delivered.
    assert run_cli(ws, "send", "--date", "2027-03-02", env=env).code == 0
    [message] = seller_messages(smtp_server)
    [(token, name)] = LINK.findall(body(message))
    assert token == refused["link_token"] and name == f"{BID}-2027-01.zip"
    published = ws / "downloads" / token / name
    assert published.read_bytes() == (ws / "data" / "batch_sent" / BID / name).read_bytes()
    assert of_type(ws, T.BATCH_DELIVERED)[0]["link_token"] == token


def test_a_delivery_journalled_before_invoices_were_listed_still_gets_its_supplement(
        ws: Path, smtp_server: Any) -> None:
    """A `batch.delivered` of an earlier version names no invoices: it held those issued before it."""
    env = use_smtp(ws, smtp_server)
    drop(ws, "2027-01-orders.csv", rows(("C-1", "2027-01-10"), ("C-2", "2027-01-20")))
    assert run_cli(ws, "batch", "--date", "2027-01-25").code == 0
    with Ledger(ws) as ledger:  # what the version before wrote on 2027-02-15
        for type_ in (T.BATCH_SENDING, T.BATCH_DELIVERED):
            ledger.append(DeliveryEvent(type=type_, client=BID, month="2027-01", message_id="<old@x>",
                                        to=(SELLER,), transport="smtp"))
    late_january_row(ws)
    late = run_cli(ws, "batch", "--date", "2027-02-20")
    assert late.code == 0 and f"{BID}-2027-01-2.zip" in late.err, late.text
    assert run_cli(ws, "send", "--date", "2027-03-15", env=env).code == 0
    [supplement] = of_type(ws, T.BATCH_DELIVERED)[1:]
    assert (supplement.get("part"), supplement["invoices"]) == (2, ["BM-2027-00003"])


def test_retry_names_a_supplementary_zip_and_refuses_one_that_does_not_exist(ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    january_delivered(ws, smtp_server, env)
    nothing = run_cli(ws, "send", "--retry", f"{BID}/2027-01-2", env=env)
    assert nothing.code == 1 and "Error:" in nothing.err and "Traceback" not in nothing.text
    assert run_cli(ws, "send", "--retry", f"{BID}/2027-01", env=env).code == 1  # already sent
    late_january_row(ws)
    assert run_cli(ws, "batch", "--date", "2027-02-20").code == 0
    now = run_cli(ws, "send", "--retry", f"{BID}/2027-01-2", env=env)
    assert now.code == 0, now.text
    assert [e.get("part") for e in of_type(ws, T.BATCH_DELIVERED)] == [None, 2]
    assert_each_invoice_delivered_once(ws)


def test_a_late_row_during_an_interrupted_send_goes_to_the_next_zip(
        ws: Path, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies once the SMTP server accepted the monthly ZIP, before its outcome is
    journalled; a late row arrives; the human confirms the send: the confirmed ZIP holds what
    was handed over (its kept copy), and the late invoice goes to the supplementary ZIP."""
    from facturier.adapters.mail import SmtpMailer

    env = use_smtp(ws, smtp_server)
    drop(ws, "2027-01-orders.csv", rows(("C-1", "2027-01-10"), ("C-2", "2027-01-20")))
    assert run_cli(ws, "batch", "--date", "2027-01-25").code == 0
    real_send = SmtpMailer.send_receipt

    def send_then_die(self: SmtpMailer, message: Any) -> Any:
        real_send(self, message)
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(SmtpMailer, "send_receipt", send_then_die)
        died = run_cli(ws, "send", "--date", "2027-02-15", env=env)
    assert died.code != 0 and len(seller_messages(smtp_server)) == 1
    [sending] = of_type(ws, T.BATCH_SENDING)
    kept = ws / "data" / "batch_sent" / BID / f"{BID}-2027-01.zip"
    assert sending["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest()
    late_january_row(ws)
    assert run_cli(ws, "batch", "--date", "2027-02-20").code == 0
    assert run_cli(ws, "send", "--confirm-sent", f"{BID}/2027-01", env=env).code == 0
    [confirmed] = of_type(ws, T.BATCH_DELIVERED)
    assert confirmed["invoices"] == ["BM-2027-00001", "BM-2027-00002"]
    assert confirmed["files"]["zip"]["sha256"] == sending["sha256"]
    assert (ws / "downloads" / f"{BID}-2027-01.zip").read_bytes() == kept.read_bytes()  # as delivered
    assert run_cli(ws, "send", "--date", "2027-03-15", env=env).code == 0
    assert [e.get("part") for e in of_type(ws, T.BATCH_DELIVERED)] == [None, 2]
    assert_each_invoice_delivered_once(ws)
    assert run_cli(ws, "verify").code == 0


def test_a_stale_monthly_zip_is_rebuilt_before_it_is_delivered(ws: Path, smtp_server: Any) -> None:
    """A ZIP in downloads/ that misses an invoice (a batch killed before its ZIP was rebuilt)
    is rebuilt from the journal before it is handed over: no invoice is left out."""
    env = use_smtp(ws, smtp_server)
    drop(ws, "2027-01-a.csv", rows(("C-1", "2027-01-10")))
    assert run_cli(ws, "batch", "--date", "2027-01-12").code == 0
    monthly = ws / "downloads" / f"{BID}-2027-01.zip"
    stale = monthly.read_bytes()
    drop(ws, "2027-01-b.csv", rows(("C-2", "2027-01-20")))
    assert run_cli(ws, "batch", "--date", "2027-01-22").code == 0
    monthly.write_bytes(stale)
    assert run_cli(ws, "send", "--date", "2027-02-15", env=env).code == 0
    [delivered] = of_type(ws, T.BATCH_DELIVERED)
    assert delivered["invoices"] == ["BM-2027-00001", "BM-2027-00002"]
    assert zip_pdfs(ws / delivered["files"]["zip"]["path"]) == ["BM-2027-00001.pdf", "BM-2027-00002.pdf"]
