"""`remind` into a real Dovecot's Drafts folder (IMAP on loopback), read back over IMAP; the
server dying mid-run."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from facturier.adapters.drafts import ImapDrafts, imap_password
from facturier.config import load_workspace
from facturier.ops.collections.remind import remind
from tests.collections_workspace import base_workspace, clone, configure, numbers_of, of_type
from tests.conftest import journal, run_cli
from tests.dovecot_server import PASSWORD, USER, Dovecot, dovecot_instance

DRAFTS = '"Brouillons perso"'  # the mailbox the test server flags \Drafts (RFC 6154)
ENV = {"FACTURIER_IMAP_PASSWORD": PASSWORD}


def imap_section(server: Dovecot) -> str:
    return ('[collections]\ndry_run = false\nwindow = "00:00-24:00"\ndrafts = "imap"\n\n[collections.imap]\n'
            f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nusername = "{USER}"\n'
            'password_env = "FACTURIER_IMAP_PASSWORD"\n')


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return base_workspace(tmp_path_factory.mktemp("remind-imap"), extra=2)


@pytest.fixture
def server() -> Iterator[Dovecot]:
    yield from dovecot_instance(special_use=True)


@pytest.fixture
def ws(base: Path, tmp_path: Path, server: Dovecot) -> Path:
    root = clone(base, tmp_path / "ws")
    configure(root, imap_section(server))
    return root


def read_drafts(server: Dovecot) -> list[tuple[int, str, EmailMessage]]:
    """(UID, flags, message) of every message in the drafts mailbox, over IMAP."""
    conn = server.client()
    try:
        typ, _ = conn.select(DRAFTS, readonly=True)
        assert typ == "OK"
        _, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        found = []
        for item in data:
            if isinstance(item, tuple):
                head = item[0].decode()
                uid = int(re.search(r"UID (\d+)", head).group(1))  # type: ignore[union-attr]
                flags = re.search(r"FLAGS \(([^)]*)\)", head).group(1)  # type: ignore[union-attr]
                msg = email.message_from_bytes(item[1], policy=email.policy.default)
                assert isinstance(msg, EmailMessage)
                found.append((uid, flags, msg))
        return found
    finally:
        conn.logout()


def test_remind_appends_flagged_drafts_that_answer_the_invoice_email(ws: Path, server: Dovecot) -> None:
    n = numbers_of(ws)
    result = run_cli(ws, "remind", "--date", "2027-01-06", env=ENV)
    assert result.code == 0, result.text
    found = read_drafts(server)
    assert len(found) == 4
    by_to = {str(m["To"]): (uid, flags, m) for uid, flags, m in found}
    uid, flags, msg = by_to["compta@acme.example"]
    assert "\\Draft" in flags.split()
    [sent] = [e for e in of_type(ws, "invoice.sent") if e["number"] == n["acme"]]
    assert msg["In-Reply-To"] == sent["message_id"] and msg["References"] == sent["message_id"]
    assert msg["Subject"] == f"Retard de paiement : facture {n['acme']}"
    assert "827,88 EUR restant à régler" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [done] = [e for e in of_type(ws, "reminder.drafted") if e["number"] == n["acme"]]
    assert done["store"] == "imap" and done["uid"] == uid and done["draft_id"] == f"Brouillons perso/{uid}"
    assert done["message_id"] == str(msg["Message-ID"])
    again = run_cli(ws, "remind", "--date", "2027-01-06", env=ENV)
    assert again.code == 0 and len(read_drafts(server)) == 4


def test_a_dead_server_is_an_alert_nothing_is_journalled_as_drafted_and_the_next_run_retries(
        ws: Path, server: Dovecot) -> None:
    server.stop()
    result = run_cli(ws, "remind", "--date", "2026-12-22", env=ENV)
    assert result.code == 1 and "cannot connect to IMAP 127.0.0.1" in result.err and "Traceback" not in result.text
    assert of_type(ws, "reminder.drafted") == []
    assert {e["number"] for e in of_type(ws, "reminder.drafting")} == {e["number"] for e in
                                                                       of_type(ws, "reminder.draft_failed")}
    server.restart()
    retried = run_cli(ws, "remind", "--date", "2026-12-22", env=ENV)
    assert retried.code == 0, retried.text
    assert len(read_drafts(server)) == 3 and len(of_type(ws, "reminder.drafted")) == 3


def test_a_missing_password_is_one_clear_error(ws: Path) -> None:
    result = run_cli(ws, "remind", "--date", "2026-12-22", env={"FACTURIER_IMAP_PASSWORD": ""})
    assert result.code == 1 and "FACTURIER_IMAP_PASSWORD is not set" in result.err
    assert of_type(ws, "reminder.drafting") == []


class DyingServerDrafts(ImapDrafts):
    """The real IMAP store; the real server is killed once `after` drafts were appended."""

    def __init__(self, server: Dovecot, after: int, *args: Any) -> None:
        super().__init__(*args)
        self.server, self.after, self.count = server, after, 0

    def create(self, draft: EmailMessage) -> Any:
        receipt = super().create(draft)
        self.count += 1
        if self.count == self.after:
            self.server.stop()
        return receipt


def test_the_server_dying_mid_run_leaves_no_draft_twice_and_the_next_run_completes(
        ws: Path, server: Dovecot) -> None:
    workspace = load_workspace(ws)
    imap = workspace.config.collections.imap
    assert imap is not None
    store = DyingServerDrafts(server, 2, imap, imap_password(imap, ENV))
    day = date(2027, 1, 6)
    report = remind(workspace, day, datetime(2027, 1, 6, 10, 0), store=store)
    assert report.failed and any("IMAP" in a.message for a in report.alerts)
    assert [r["status"] for r in report.rows] == ["drafted", "drafted", "failed", "not attempted"]
    assert len(of_type(ws, "reminder.drafted")) == 2 and len(of_type(ws, "reminder.draft_failed")) == 2
    flying = {e["number"] for e in of_type(ws, "reminder.drafting")}
    settled = {e["number"] for e in journal(ws) if e["type"] in ("reminder.drafted", "reminder.draft_failed")}
    assert flying == settled  # nothing left in flight: the failures were certain
    server.restart()
    result = run_cli(ws, "remind", "--date", "2027-01-06", env=ENV)
    assert result.code == 0, result.text
    found = read_drafts(server)
    ids = [str(m["Message-ID"]) for _, _, m in found]
    assert len(found) == 4 and len(set(ids)) == 4
    assert sorted(str(m["To"]).split(",")[0] for _, _, m in found) == sorted(
        ["compta@acme.example", "compta@client0.example", "compta@client1.example", "accounts@northwind.example"])


KILLED_MID_APPEND = """
import os, signal, sys
from datetime import date, datetime
from pathlib import Path
from facturier.adapters.drafts import ImapDrafts, imap_password
from facturier.config import load_workspace
from facturier.ops.collections.remind import remind

class DiesMidAppend(ImapDrafts):
    def create(self, draft):
        if sys.argv[3] == "after":
            super().create(draft)  # appended to the server's Drafts mailbox...
        os.kill(os.getpid(), signal.SIGKILL)  # ...(or not) and the process dies before reminder.drafted

root = Path(sys.argv[1])
workspace = load_workspace(root)
imap = workspace.config.collections.imap
remind(workspace, date.fromisoformat(sys.argv[2]), datetime.now(), store=DiesMidAppend(imap, imap_password(imap)))
"""


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_kill_mid_append_is_settled_by_searching_the_drafts_mailbox(ws: Path, server: Dovecot, when: str) -> None:
    """A real process killed while appending: the next run searches the Drafts mailbox for the
    Message-ID; found, it is journalled drafted (its UID recorded); not found, left to the user."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    proc = subprocess.run([sys.executable, "-c", KILLED_MID_APPEND, str(ws), "2026-12-22", when],
                          capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": os.environ.get("PATH", ""), **ENV})
    assert proc.returncode == -9, proc.stderr
    [drafting] = of_type(ws, "reminder.drafting")
    assert len(read_drafts(server)) == (1 if when == "after" else 0)
    result = run_cli(ws, "remind", "--date", "2026-12-22", env=ENV)
    found = read_drafts(server)
    assert [str(m["Message-ID"]) for _, _, m in found].count(drafting["message_id"]) == (1 if when == "after" else 0)
    mine = [e for e in of_type(ws, "reminder.drafted") if e["number"] == drafting["number"]]
    if when == "after":
        assert result.code == 0 and "was found in the imap store" in result.out, result.text
        [uid] = [uid for uid, _, m in found if str(m["Message-ID"]) == drafting["message_id"]]
        assert len(mine) == 1 and mine[0]["uid"] == uid and mine[0]["message_id"] == drafting["message_id"]
    else:
        assert result.code == 1 and "the store was searched and does not hold it" in result.err, result.text
        assert not mine and f"facturier remind --retry {drafting['number']}" in result.err
        retry = run_cli(ws, "remind", "--retry", "all", env=ENV)
        assert retry.code == 0, retry.text
        assert [str(m["Message-ID"]) for _, _, m in read_drafts(server)].count(drafting["message_id"]) == 1
