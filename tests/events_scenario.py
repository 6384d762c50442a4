"""A busy journal for the events tests: the demo driven in process through the real CLI and
use cases, writing every entry type and every optional key the commands write.

Usage, charges, a monthly run, batch files accepted and rejected (one never read), sends
(outbox, refused, with Gmail's ids, interrupted then confirmed by hand), payments by hand
and from a bank statement (with and without a bank id), credit notes by amount and by
line, a dispute, a promise, reminders drafted (with an IMAP UID), refused, interrupted and
confirmed, and payment links created and switched off.

Only the command line and the use cases' entry points are used, never the ledger's own
API, so the scenario runs unchanged on any version: `normalized` then compares what two
versions wrote (tests/fixtures/events/busy.jsonl was written by the version before records
serialized themselves).
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

import facturier.cli.app  # noqa: F401  (registers every command on `app`)
from facturier.adapters import mail as mail_adapter
from facturier.adapters.drafts import DraftInterrupted, DraftReceipt, DraftRefused, MemoryDrafts
from facturier.adapters.mail import MailRefused, MemoryMailer, SendReceipt
from facturier.adapters.payment_links import TemplateLinks
from facturier.cli.common import app
from facturier.config import load_workspace
from facturier.ops.collections.remind import remind
from facturier.ops.delivery.send import plan_deliveries
from facturier.ops.payment_links import deactivate_links, link_for
from facturier.store.ledger import Ledger
from tests.cli.conftest import CSV_MAPPING
from tests.conftest import DEMO

NOV15 = date(2026, 11, 15)
METER = """name = "Meter SAS"
email = "billing@meter.example"
address = ["2 rue de la Paix", "75002 Paris"]
country = "FR"
siren = "443061841"
vat_id = "FR64443061841"
language = "en"
currency = "EUR"

[options]
auto_send = false

[[lines]]
description = "Platform fee"
unit_price = "100.00"

[[lines]]
description = "API calls"
metric = "api_calls"
unit_price = "0.0125"
"""
CONFIG = CSV_MAPPING + """
[collections]
dry_run = false
window = "00:00-24:00"
"""


def cli(ws: Path, *args: str, code: int = 0) -> str:
    """Run one command in process; its output."""
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def entries(ws: Path) -> list[dict[str, Any]]:
    """The workspace's journal entries."""
    return [orjson.loads(raw) for raw in (ws / "data" / "journal.jsonl").read_bytes().splitlines()]


def numbers(ws: Path) -> dict[str, str]:
    """client -> the number of its first direct invoice."""
    out: dict[str, str] = {}
    for e in entries(ws):
        if e["type"] == "invoice.issued" and e["seller"] == "issuer":
            out.setdefault(e["client"], e["number"])
    return out


class GmailLikeMailer(MemoryMailer):
    """An in-memory transport that journals ids the way the Gmail transport does."""

    def send_receipt(self, message: EmailMessage) -> SendReceipt:
        message_id = self.send(message)
        return SendReceipt(message_id, {"gmail_message_id": "m-1", "gmail_thread_id": "t-1",
                                        "gmail_subject": str(message["Subject"])})


class DyingMailer(MemoryMailer):
    """A process killed while handing a message over: `sending` journalled, no outcome."""

    def send_receipt(self, message: EmailMessage) -> SendReceipt:
        raise KeyboardInterrupt


class ImapLikeDrafts(MemoryDrafts):
    """In-memory drafts with an IMAP UID on each receipt."""

    def create(self, draft: EmailMessage) -> DraftReceipt:
        return replace(super().create(draft), uid=len(self.stored))


def set_auto_send(ws: Path, client: str, on: bool) -> None:
    path = ws / "clients" / f"{client}.toml"
    text = path.read_text(encoding="utf-8")
    old, new = f"auto_send = {str(not on).lower()}", f"auto_send = {str(on).lower()}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def send_in_process(ws: Path, mailer: MemoryMailer) -> None:
    """`send` on Nov 15 through an in-memory transport."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(mail_adapter.TRANSPORTS, "memory", lambda mail, root, google: mailer)
        workspace = load_workspace(ws)
        memory = workspace.config.mail.model_copy(update={"transport": "memory"})
        workspace = replace(workspace, config=workspace.config.model_copy(update={"mail": memory}))
        with Ledger(ws) as ledger:
            plan_deliveries(workspace, ledger.state, NOV15).apply(ledger)


def issue_and_send(ws: Path, tmp: Path) -> None:
    """Usage and charges, the November run, batch files, sends of every outcome."""
    (tmp / "u.csv").write_text("client,metric,quantity,date,id,key\n"
                               "meter,api_calls,12345.5,2026-10-03,a1,\n"
                               "meter,api_calls,100,2026-10-04,a2,\n", encoding="utf-8")
    cli(ws, "usage", "import", str(tmp / "u.csv"))
    cli(ws, "usage", "record", "meter", "api_calls", "5", "--date", "2026-10-10", "--id", "m1")
    cli(ws, "charge", "meter", "49.90", "--description", "Onboarding workshop")
    cli(ws, "charge", "meter", "10", "--description", "Travel", "--vat-rate", "5.5")
    cli(ws, "run", "--date", "2026-11-15")  # acme is sent through the outbox
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    (inbox / "bad.csv").write_text("reference;nonsense\n1;2\n", encoding="utf-8")
    os.symlink(inbox / "2026-11-orders.csv", inbox / "link.csv")
    cli(ws, "batch", "--date", "2026-11-15", code=1)  # two files rejected, one of them never read
    downloads = ws / "downloads"
    downloads.mkdir(exist_ok=True)
    with zipfile.ZipFile(downloads / "boulangerie-martin-2026-10.zip", "w") as zf:
        zf.writestr("BM-2026-00001.pdf", b"%PDF-1.7 fake")
    cli(ws, "send", "--date", "2026-11-15")  # the batch client's October ZIP
    set_auto_send(ws, "meter", True)
    refusing = MemoryMailer()
    refusing.fail_with = MailRefused("550 no such user")
    send_in_process(ws, refusing)
    send_in_process(ws, GmailLikeMailer())
    set_auto_send(ws, "northwind", True)
    with pytest.raises(KeyboardInterrupt):
        send_in_process(ws, DyingMailer())
    set_auto_send(ws, "northwind", False)
    cli(ws, "send", "--confirm-sent", numbers(ws)["northwind"])


def pay_and_credit(ws: Path, tmp: Path) -> None:
    """Payments by hand and from a statement, credit notes by amount and by line."""
    n = numbers(ws)
    cli(ws, "pay", "acme", "100", "--date", "2026-11-20")
    cli(ws, "pay", "northwind", "70.00", "--date", "2026-11-21", "--method", "cheque",
        "--ref", "CHQ 12")
    cli(ws, "credit", n["northwind"], "--amount", "10.00", "--reason", "goodwill",
        "--date", "2026-11-22")
    cli(ws, "credit", n["meter"], "--line", "1", "--date", "2026-11-22")
    statement = tmp / "releve.csv"
    statement.write_text(f"Date;Montant;Libellé;Id\n23/11/2026;100,00;Facture {n['acme']};B1\n"
                         f"24/11/2026;50,00;facture {n['acme']};\n", encoding="utf-8")
    cli(ws, "import-bank", str(statement))


def collect(ws: Path) -> None:
    """A dispute, a promise, reminders of every outcome, payment links."""
    n = numbers(ws)
    cli(ws, "dispute", n["northwind"], "--reason", "hours", "--date", "2026-12-20")
    cli(ws, "dispute", n["northwind"], "--resolve", "--date", "2026-12-21")
    cli(ws, "promise", n["northwind"], "--until", "2027-01-15", "--date", "2026-12-21")
    drafts = ImapLikeDrafts()
    drafts.fail_with = DraftRefused("mailbox full")
    remind(load_workspace(ws), date(2026, 12, 22), datetime(2026, 12, 22, 9), store=drafts)
    cli(ws, "remind", "--date", "2026-12-23")  # the refused one, drafted into the outbox
    interrupted = MemoryDrafts()
    interrupted.fail_with = DraftInterrupted("connection dropped")
    remind(load_workspace(ws), date(2026, 12, 30), datetime(2026, 12, 30, 9), store=interrupted)
    cli(ws, "remind", "--confirm", n["acme"])  # not found in the store: recorded as confirmed
    links = TemplateLinks("https://pay.example/{number}?amount={amount}")
    with Ledger(ws) as ledger:
        link_for(ledger.state, ledger, links, n["acme"], Decimal("627.88"), "EUR")
        # A new amount due: a new link, the first one switched off.
        link_for(ledger.state, ledger, links, n["acme"], Decimal("600.00"), "EUR")
        deactivate_links(ledger.state, ledger, links, [n["acme"]])


def build_busy(tmp: Path) -> Path:
    """The demo (with a metered client) after the whole scenario, in `tmp/ws`."""
    ws = tmp / "ws"
    shutil.copytree(DEMO, ws)
    with open(ws / "facturier.toml", "a", encoding="utf-8") as fh:
        fh.write(CONFIG)
    (ws / "clients" / "meter.toml").write_text(METER, encoding="utf-8")
    issue_and_send(ws, tmp)
    pay_and_credit(ws, tmp)
    collect(ws)
    return ws


_STAMP = re.compile(r"\d{8}T\d{6}")
_VOLATILE = frozenset({"at", "prev", "hash"})  # the append's time, and hashes over it


def normalized(ws: Path) -> list[dict[str, Any]]:
    """The journal without what differs from one run to the next: times and hashes over them,
    Message-IDs (numbered in order of appearance), timestamps in file names, PDF and ZIP
    digests, download link tokens."""
    ids: dict[str, str] = {}

    def message(value: str) -> str:
        return ids.setdefault(value, f"<message {len(ids) + 1}>")

    out = []
    for e in entries(ws):
        e = {k: v for k, v in e.items() if k not in _VOLATILE}
        if "message_id" in e:
            e["message_id"] = message(e["message_id"])
        if isinstance(e.get("draft_id"), str) and e["draft_id"].startswith("<"):
            e["draft_id"] = message(e["draft_id"])
        elif "draft_id" in e:
            e["draft_id"] = _STAMP.sub("<stamp>", e["draft_id"])
        for role, item in e.get("files", {}).items():
            item["path"] = _STAMP.sub("<stamp>", item["path"])
            if role in ("pdf", "zip"):  # a PDF's creation time; the hand-made ZIP's
                item["sha256"] = f"<{role}>"
        if "link_token" in e:  # random, the same on each attempt of one ZIP
            e["link_token"] = "<token>"
        if e["type"] == "batch.sending" and "sha256" in e:
            e["sha256"] = "<zip>"
        out.append(e)
    return out
