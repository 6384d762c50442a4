"""`facturier remind`, `reminders`, `dispute`, `promise`, `show` end to end: the real CLI on real
workspaces; outbox drafts parsed back with the standard library; a process killed mid-hand-over."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.collections_workspace import (
    base_workspace,
    clone,
    configure,
    numbers_of,
    of_type,
    set_text,
)
from tests.conftest import REPO, journal, run_cli, run_cli_process

OPEN = '[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return base_workspace(tmp_path_factory.mktemp("remind"), extra=2)


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    return clone(base, tmp_path / "ws")


def drafts(ws: Path) -> dict[str, EmailMessage]:
    """Every outbox draft, parsed with the standard library, by file name."""
    out = {}
    for path in sorted((ws / "data" / "drafts").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out[path.name] = msg
    return out


def test_a_fresh_workspace_previews_until_dry_run_is_turned_off(tmp_path: Path) -> None:
    ws = tmp_path / "new"
    assert run_cli(tmp_path, "init", str(ws)).code == 0
    check = run_cli(ws, "check")
    assert check.code == 0 and "dry_run = true" in check.out
    set_text(ws, "clients/example-client.toml", 'mode = "test"', 'mode = "live"')
    set_text(ws, "facturier.toml", 'window = "08:00-18:00"', 'window = "00:00-24:00"')
    assert run_cli(ws, "run", "--date", "2026-11-01").code == 0
    preview = run_cli(ws, "remind", "--date", "2026-12-10")
    assert preview.code == 0, preview.text
    assert "would draft" in preview.out and "dry_run = true" in preview.out
    assert not (ws / "data" / "drafts").exists() and of_type(ws, "reminder.drafting") == []
    set_text(ws, "facturier.toml", "dry_run = true", "dry_run = false")
    result = run_cli(ws, "remind", "--date", "2026-12-10")
    assert result.code == 0, result.text
    [(name, msg)] = drafts(ws).items()
    assert name.endswith("-2026-0001-stage07.eml")
    assert (ws / "data" / "drafts" / name).read_bytes().startswith(b"X-Unsent: 1\n")
    assert msg["To"] == "accounts@client.example" and msg["Subject"] == "Petit rappel : facture 2026-0001"
    assert "540,00 EUR" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_remind_drafts_into_the_outbox_with_a_review_table_journal_csv_and_logs(ws: Path) -> None:
    n = numbers_of(ws)
    result = run_cli(ws, "remind", "--date", "2027-01-06")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert lines[1].split("\t") == ["invoice", "client", "email", "days_overdue", "stage", "amount", "currency",
                                    "subject", "draft", "status"]
    row = dict(zip(lines[1].split("\t"), next(l for l in lines if l.startswith(n["acme"])).split("\t")))
    assert row["days_overdue"] == "22" and row["stage"] == "21" and row["amount"] == "827.88"
    assert row["draft"].endswith(f"-{n['acme']}-stage21.eml") and row["status"] == "drafted"
    assert "4 of 4 draft(s) made on 2027-01-06." in result.out
    found = drafts(ws)
    msg = found[row["draft"]]
    [sent] = [e for e in of_type(ws, "invoice.sent") if e["number"] == n["acme"]]
    assert msg["In-Reply-To"] == sent["message_id"] and msg["References"] == sent["message_id"]
    entries = [e for e in journal(ws) if e["type"].startswith("reminder.") and e["number"] == n["acme"]]
    assert [e["type"] for e in entries] == ["reminder.drafting", "reminder.drafted"]
    assert entries[1]["message_id"] == str(msg["Message-ID"]) == entries[0]["message_id"]
    assert entries[1]["draft_id"] == row["draft"] and entries[1]["store"] == "outbox"
    assert entries[1]["stage"] == 21 and entries[1]["date"] == "2027-01-06"
    with open(ws / "data" / "logs" / "reminders.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["timestamp", "invoice_id", "stage", "email"]
    assert {r["invoice_id"]: r["stage"] for r in rows}[n["acme"]] == "21"
    assert not any("Bonjour" in v for r in rows for v in r.values())  # metadata only
    assert f"reminder drafted {n['acme']} stage 21" in (ws / "data" / "logs" / "acme.log").read_text()
    assert f"[acme] reminder drafted {n['acme']}" in (ws / "data" / "logs" / "facturier.log").read_text()
    again = run_cli(ws, "remind", "--date", "2027-01-06")
    assert again.code == 0 and "Nothing to remind" in again.out and len(drafts(ws)) == 4


def test_json_output_and_the_reminders_listing(ws: Path) -> None:
    result = run_cli(ws, "remind", "--date", "2026-12-22", "--json")
    data = json.loads(result.out)
    assert data["title"] == "Reminders" and len(data["rows"]) == 3 and data["alerts"] == []
    assert run_cli(ws, "remind", "--date", "2027-01-06", "--client", "northwind").code == 0
    listing = json.loads(run_cli(ws, "reminders", "--json").out)
    assert [(r["client"], r["stage"]) for r in listing["rows"]][-1] == ("northwind", 7)
    since = json.loads(run_cli(ws, "reminders", "--since", "2027-01-01", "--json").out)
    assert [r["client"] for r in since["rows"]] == ["northwind"]
    only = json.loads(run_cli(ws, "reminders", "--client", "acme", "--json").out)
    assert [r["client"] for r in only["rows"]] == ["acme"]
    due = run_cli(ws, "reminders", "--date", "2027-01-20", "--dry-run")
    assert due.code == 0 and "# Reminders drafted" in due.out and "would draft" in due.out
    bad = run_cli(ws, "reminders", "--since", "yesterday")
    assert bad.code == 1 and "--since: 'yesterday' is not a date" in bad.err and "Traceback" not in bad.text


def test_outside_the_window_remind_says_when_it_opens(ws: Path) -> None:
    configure(ws, '[collections]\ndry_run = false\nwindow = "08:00-18:00"\n')
    result = run_cli(ws, "remind", "--date", "2026-12-22", env={"FACTURIER_NOW": "2026-12-22T07:30"})
    assert result.code == 0 and "it opens at 2026-12-22 08:00" in result.out
    assert of_type(ws, "reminder.drafting") == []
    inside = run_cli(ws, "remind", "--date", "2026-12-22", env={"FACTURIER_NOW": "2026-12-22T08:00"})
    assert inside.code == 0 and "3 of 3 draft(s)" in inside.out


def test_with_only_the_day_pinned_the_window_note_uses_that_day(ws: Path) -> None:
    # FACTURIER_TODAY pins the run's day; the clock gives only the time of day. A window of one
    # minute is closed at any time but 00:00, so the next opening is the pinned day's morrow.
    configure(ws, '[collections]\ndry_run = false\nwindow = "00:00-00:01"\n')
    result = run_cli(ws, "remind", "--dry-run", env={"FACTURIER_TODAY": "2027-03-01"})
    assert result.code == 0 and "it opens at 2027-03-02 00:00" in result.out, result.text
    real = run_cli(ws, "remind", env={"FACTURIER_TODAY": "2027-03-01"})
    assert real.code == 0 and "it opens at 2027-03-02 00:00" in real.out, real.text
    assert of_type(ws, "reminder.drafting") == []


def test_dry_run_flag_always_previews(ws: Path) -> None:
    before = (ws / "data" / "journal.jsonl").read_bytes()
    result = run_cli(ws, "remind", "--date", "2026-12-22", "--dry-run")
    assert result.code == 0 and result.out.count("would draft") == 3
    assert (ws / "data" / "journal.jsonl").read_bytes() == before


def test_dispute_promise_and_show_on_the_command_line(ws: Path) -> None:
    n = numbers_of(ws)
    assert run_cli(ws, "dispute", n["acme"], "--reason", "hours", "--date", "2026-12-20").code == 0
    assert run_cli(ws, "promise", n["client0"], "--until", "2027-01-15", "--date", "2026-12-20").code == 0
    assert run_cli(ws, "remind", "--date", "2026-12-22").code == 0
    listed = run_cli(ws, "invoices", "--status", "disputed")
    assert listed.code == 0 and [l.split("\t")[0] for l in listed.out.splitlines()[2:]] == [n["acme"]]
    shown = run_cli(ws, "show", n["client1"])
    assert "Reminder: stage 7 on 2026-12-22 (drafted, outbox" in shown.out and "reminder.drafted" in shown.out
    assert "Disputed since 2026-12-20: hours" in run_cli(ws, "show", n["acme"]).out
    assert "Payment promised by 2027-01-15" in run_cli(ws, "show", n["client0"]).out
    data = json.loads(run_cli(ws, "show", n["acme"], "--json").out)
    assert data["collections"]["disputed"] == {"since": "2026-12-20", "reason": "hours"}
    for args, message in [
        (("dispute", "2026-9999"), "Error: no invoice numbered '2026-9999'"),
        (("promise", n["acme"], "--until", "2026-12-01", "--date", "2026-12-20"), "must be after 2026-12-20"),
        (("promise", n["acme"], "--until", "soon"), "--until: 'soon' is not a date"),
        (("dispute", n["acme"], "--date", "2026-12-21"), "already disputed (since 2026-12-20)"),
        (("dispute", n["client1"], "--resolve"), "is not disputed"),
        (("dispute", n["sandbox"]), "test invoice"),
    ]:
        result = run_cli(ws, *args)
        assert result.code == 1 and message in result.err and "Traceback" not in result.text, (args, result.text)
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-21", "--invoice", n["acme"]).code == 0
    paid = run_cli(ws, "promise", n["acme"], "--until", "2027-01-30", "--date", "2026-12-22")
    assert paid.code == 1 and "already paid" in paid.err


def test_unknown_client_and_conflicting_options_are_one_line_errors(ws: Path) -> None:
    for args, message in [
        (("remind", "--client", "nobody", "--date", "2026-12-22"), "unknown client 'nobody'"),
        (("remind", "--confirm", "2026-0001", "--retry", "2026-0001"), "not both"),
        (("remind", "--confirm", "2026-0001"), "has no reminder in flight"),
        (("remind", "--retry", "2099-0001"), "no invoice numbered '2099-0001'"),
        (("remind", "--date", "2099-01-01"), "is after today"),
    ]:
        result = run_cli(ws, *args)
        assert result.code == 1 and message in result.err and "Traceback" not in result.text, (args, result.text)


# --- a process killed between reminder.drafting and reminder.drafted ---------------------------

KILLED_MID_HANDOVER = """
import os, signal, sys
from datetime import date, datetime
from pathlib import Path
from facturier.adapters.drafts import OutboxDrafts
from facturier.config import load_workspace
from facturier.ops.collections.remind import remind

class DiesMidHandOver(OutboxDrafts):
    def create(self, draft):
        if sys.argv[3] == "after":
            super().create(draft)  # the draft file is in place...
        os.kill(os.getpid(), signal.SIGKILL)  # ...(or not) and the process dies before reminder.drafted

root = Path(sys.argv[1])
remind(load_workspace(root), date.fromisoformat(sys.argv[2]), datetime.now(),
       store=DiesMidHandOver(root / "data" / "drafts"))
"""


def killed_mid_handover(ws: Path, day: str, when: str = "after") -> None:
    """A real `remind` process killed once it handed the first draft over (`after`: the
    draft is in the outbox; `before`: it is not)."""
    proc = subprocess.run([sys.executable, "-c", KILLED_MID_HANDOVER, str(ws), day, when], capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == -9, proc.stderr


def test_a_kill_between_drafting_and_drafted_is_settled_by_the_next_run_that_finds_the_draft(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    killed_mid_handover(ws, "2026-12-22")
    assert [e["type"] for e in journal(ws) if e["type"].startswith("reminder.")] == ["reminder.drafting"]
    assert len(drafts(ws)) == 1
    result = run_cli_process(ws, "remind", "--date", "2026-12-22")
    assert result.code == 0 and "ERROR" not in result.err, result.text
    assert f"{acme}: the reminder interrupted on 2026-12-22 (stage 7) was found in the outbox store" in result.out
    assert len(drafts(ws)) == 3  # the two others; never a second one for acme
    assert [m["X-Facturier-Ref"] for m in drafts(ws).values()].count(f"{acme}-stage07") == 1
    [done] = [e for e in of_type(ws, "reminder.drafted") if e["number"] == acme]
    [drafting] = [e for e in of_type(ws, "reminder.drafting") if e["number"] == acme]
    assert done["draft_id"] in drafts(ws) and done["message_id"] == drafting["message_id"]
    assert "confirmed_by_operator" not in done
    after = run_cli_process(ws, "remind", "--date", "2026-12-23")
    assert after.code == 0 and "ERROR" not in after.err and len(drafts(ws)) == 3


def test_a_kill_before_the_draft_landed_is_left_to_the_user_then_confirmed_or_retried(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    killed_mid_handover(ws, "2026-12-22", "before")
    assert not drafts(ws)
    result = run_cli_process(ws, "remind", "--date", "2026-12-22")
    assert result.code == 1 and "the store was searched and does not hold it" in result.err, result.text
    assert f"facturier remind --retry {acme}" in result.err and "NOT redrafted automatically" in result.err
    assert len(drafts(ws)) == 2 and not [e for e in of_type(ws, "reminder.drafted") if e["number"] == acme]
    confirm = run_cli_process(ws, "remind", "--confirm", acme)  # the user says it is there (sent by hand)
    assert confirm.code == 0 and "not in the outbox store" in confirm.text, confirm.text
    done = [e for e in of_type(ws, "reminder.drafted") if e["number"] == acme]
    assert len(done) == 1 and done[0]["confirmed_by_operator"] is True
    after = run_cli_process(ws, "remind", "--date", "2026-12-23")
    assert after.code == 0 and "ERROR" not in after.err and len(drafts(ws)) == 2


def test_a_kill_between_drafting_and_drafted_retried_keeps_one_draft(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    killed_mid_handover(ws, "2026-12-22")
    retry = run_cli_process(ws, "remind", "--retry", acme)
    assert retry.code == 0, retry.text
    assert "already in the store" in retry.out
    [done] = of_type(ws, "reminder.drafted")
    [drafting] = of_type(ws, "reminder.drafting")
    assert done["message_id"] == drafting["message_id"] and done["stage"] == 7
    assert len(drafts(ws)) == 1


def test_the_last_stage_attaches_a_formal_notice_with_penalties_and_indemnities(ws: Path) -> None:
    from tests.conftest import pdf_text

    configure(ws, OPEN + 'formal_notice = true\npenalty_rate = "12.15"\n')
    acme = numbers_of(ws)["acme"]
    assert run_cli(ws, "pay", "acme", "27.88", "--date", "2027-01-05", "--invoice", acme).code == 0
    result = run_cli(ws, "remind", "--date", "2027-01-26", "--client", "acme")  # 42 days: the last stage
    assert result.code == 0, result.text
    [msg] = drafts(ws).values()
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_filename() == f"mise-en-demeure-{acme}.pdf" and pdf.get_content_type() == "application/pdf"
    path = ws / "notice.pdf"
    path.write_bytes(pdf.get_content())
    text = pdf_text(path)
    # 800.00 still due x 12.15 % x 42 / 365 = 11.18; 40 EUR indemnity (French seller, business client).
    assert "Mise en demeure de payer" in text and acme in text and "800,00 EUR" in text
    assert "11,18 EUR" in text and "40,00 EUR" in text and "851,18 EUR" in text
    assert "ACME SARL" in text and "Palks Studio" in text
    assert msg.get_body(("plain",)).get_content().startswith("Bonjour ACME SARL")  # type: ignore[union-attr]


def test_formal_notice_needs_a_penalty_rate(ws: Path) -> None:
    configure(ws, OPEN + "formal_notice = true\n")
    result = run_cli(ws, "check")
    assert (result.code == 1 and "collections.penalty_rate" in result.text
            and "required when formal_notice" in result.text)


def test_every_hand_over_in_flight_is_settled_by_one_command(ws: Path) -> None:
    """`remind --retry all` settles every interrupted hand-over at once (a kill can leave
    hundreds), each with its own Message-ID, never a second draft; then nothing is left."""
    killed_mid_handover(ws, "2026-12-22")
    assert len(of_type(ws, "reminder.drafting")) == 1
    nothing = run_cli(ws, "remind", "--confirm", "all", "--retry", "all")
    assert nothing.code == 1 and "not both" in nothing.err
    retry = run_cli_process(ws, "remind", "--retry", "all")
    assert retry.code == 0, retry.text
    drafting, done = of_type(ws, "reminder.drafting"), of_type(ws, "reminder.drafted")
    assert [d["message_id"] for d in done] == [d["message_id"] for d in drafting]
    assert len(drafts(ws)) == 1
    again = run_cli(ws, "remind", "--retry", "all")
    assert again.code == 1 and "no reminder hand-over is in flight" in again.err
