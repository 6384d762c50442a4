"""The `remind` use case in-process, on real workspaces, with the in-memory draft store.

Invoices are issued by the real CLI (`run`), payments and credit notes too; the use case is
then called directly with `MemoryDrafts`, and the journal is read back.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facturier.adapters.drafts import (
    DraftInterrupted,
    DraftRefused,
    DraftStoreUnavailable,
    MemoryDrafts,
)
from facturier.config import load_workspace
from facturier.core.errors import InputError
from facturier.ops.collections.facts import dispute, promise
from facturier.ops.collections.remind import remind
from facturier.ops.collections.settle import settle
from facturier.ops.outcome import Report
from tests.collections_workspace import (
    base_workspace,
    clone,
    configure,
    numbers_of,
    of_type,
    set_text,
)
from tests.conftest import journal, run_cli

PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 12, 15)  # the November invoices of acme and its copies (northwind: 2026-12-30)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return base_workspace(tmp_path_factory.mktemp("collections"), extra=2)


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    return clone(base, tmp_path / "ws")


def run(root: Path, day: date, store: MemoryDrafts | None = None, **kw: object) -> tuple[Report, MemoryDrafts]:
    store = store or MemoryDrafts()
    return remind(load_workspace(root), day, at(day), store=store, **kw), store  # type: ignore[arg-type]


def drafted(root: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for e in of_type(root, "reminder.drafted"):
        out.setdefault(e["number"], []).append(e["stage"])
    return out


def body(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_seeds_examples_hold_through_the_ledger(tmp_path: Path) -> None:
    def edit(ws: Path) -> None:  # due 2025-01-15 and 2025-01-01 for invoices of 2024-12-15
        set_text(ws, "clients/acme.toml", 'vat_regime = "standard"', 'vat_regime = "standard"\npayment_days = 31')
        set_text(ws, "clients/client0.toml", 'vat_regime = "standard"', 'vat_regime = "standard"\npayment_days = 17')

    root = base_workspace(tmp_path, extra=1, date="2024-12-15", edit=edit)
    numbers = numbers_of(root)
    report, store = run(root, date(2025, 1, 22))
    stages = {row["client"]: row["stage"] for row in report.rows}
    assert stages == {"acme": 7, "client0": 21}  # northwind (due 2025-01-29) is not overdue
    assert drafted(root) == {numbers["acme"]: [7], numbers["client0"]: [21]}
    assert len(store.drafts()) == 2


def test_one_draft_per_stage_never_twice_a_day_and_only_higher_stages(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    run(ws, date(2026, 12, 22))
    assert drafted(ws)[acme] == [7]
    report, store = run(ws, date(2026, 12, 22))
    assert store.drafts() == [] and "already drafted today" in report.notes[0]
    _, store = run(ws, date(2026, 12, 28))  # still stage 7
    assert store.drafts() == []
    _, store = run(ws, date(2027, 1, 20))  # 36 days: stage 35, stages 14-28 skipped
    assert drafted(ws)[acme] == [7, 35]
    assert [m["X-Facturier-Ref"] for m in store.drafts() if acme in m["Subject"]] == [f"{acme}-stage35"]


def test_the_reminder_answers_the_invoice_email(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    [sent] = [e for e in of_type(ws, "invoice.sent") if e["number"] == acme]
    _, store = run(ws, date(2027, 1, 6))
    msg = next(m for m in store.drafts() if m["To"] == "compta@acme.example")
    assert msg["In-Reply-To"] == sent["message_id"] and msg["References"] == sent["message_id"]
    assert msg["From"] == "Palks Studio <billing@palks.example>"
    assert msg["Subject"] == f"Retard de paiement : facture {acme}"
    text = body(msg)
    assert "827,88 EUR restant à régler" in text and "depuis 22 jours" in text
    assert "40,00" in text and "L441-10" in text  # French B2B from stage 21
    northwind = next(m for m in store.drafts() if "northwind" in m["To"])
    assert northwind["In-Reply-To"] is None  # its invoice was never emailed
    assert "Friendly reminder" in northwind["Subject"]


def test_a_partly_paid_invoice_is_reminded_for_what_remains(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    assert run_cli(ws, "pay", "acme", "300.00", "--date", "2026-12-20", "--invoice", acme).code == 0
    report, store = run(ws, date(2026, 12, 22))
    row = next(r for r in report.rows if r["invoice"] == acme)
    assert row["amount"] == "527.88"
    assert "527,88 EUR restant à régler" in body(next(m for m in store.drafts() if acme in m["Subject"]))


def test_paid_credited_test_mode_and_opted_out_clients_get_nothing(ws: Path) -> None:
    n = numbers_of(ws)
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-20", "--invoice", n["acme"]).code == 0
    assert run_cli(ws, "credit", n["client0"], "--reason", "annulée", "--date", "2026-12-20").code == 0
    (ws / "clients" / "client1.toml").write_text(
        (ws / "clients" / "client1.toml").read_text(encoding="utf-8").replace(
            "[options]", "[collections]\nenabled = false\n\n[options]"), encoding="utf-8")
    report, store = run(ws, date(2027, 1, 20))
    assert [r["client"] for r in report.rows] == ["northwind"]
    assert set(drafted(ws)) == {n["northwind"]}
    assert "collections disabled for the client" in report.notes[0]
    assert not any("TEST-" in str(m["Subject"]) for m in store.drafts())


def test_a_disputed_invoice_waits_for_the_resolution_then_resumes_at_its_stage(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    workspace = load_workspace(ws)
    dispute(workspace, acme, date(2026, 12, 20), "heures contestées", resolve=False)
    run(ws, date(2026, 12, 22))
    assert acme not in drafted(ws)
    with pytest.raises(InputError, match="already disputed"):
        dispute(workspace, acme, date(2026, 12, 23), None, resolve=False)
    [entry] = of_type(ws, "invoice.disputed")
    assert entry["reason"] == "heures contestées" and entry["date"] == "2026-12-20"
    dispute(workspace, acme, date(2027, 1, 6), None, resolve=True)
    run(ws, date(2027, 1, 6))
    assert drafted(ws)[acme] == [21]
    with pytest.raises(InputError, match="not disputed"):
        dispute(workspace, acme, date(2027, 1, 7), None, resolve=True)


def test_a_promise_holds_reminders_until_its_day(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    promise(load_workspace(ws), acme, date(2026, 12, 20), date(2027, 1, 10))
    [entry] = of_type(ws, "invoice.promised")
    assert entry == {**entry, "number": acme, "until": "2027-01-10", "date": "2026-12-20"}
    report, _ = run(ws, date(2027, 1, 9))
    assert acme not in drafted(ws) and "payment promised" in report.notes[0]
    run(ws, date(2027, 1, 10))  # the promise day came without payment: 26 days overdue
    assert drafted(ws)[acme] == [21]


def test_dispute_and_promise_refuse_what_cannot_be_collected(ws: Path) -> None:
    n = numbers_of(ws)
    workspace = load_workspace(ws)
    day = date(2026, 12, 20)
    with pytest.raises(InputError, match="no invoice numbered '2026-9999'"):
        promise(workspace, "2026-9999", day, date(2027, 1, 1))
    with pytest.raises(InputError, match="test invoice"):
        dispute(workspace, n["sandbox"], day, None, resolve=False)
    with pytest.raises(InputError, match="must be after"):
        promise(workspace, n["acme"], day, day)
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-19", "--invoice", n["acme"]).code == 0
    with pytest.raises(InputError, match="already paid"):
        promise(workspace, n["acme"], day, date(2027, 1, 1))
    assert run_cli(ws, "credit", n["client0"], "--date", "2026-12-19").code == 0
    with pytest.raises(InputError, match="fully credited"):
        dispute(workspace, n["client0"], day, None, resolve=False)
    credit_note = next(e["number"] for e in of_type(ws, "credit_note.issued"))
    with pytest.raises(InputError, match="credit note"):
        dispute(workspace, credit_note, day, None, resolve=False)
    assert of_type(ws, "invoice.disputed") == [] and of_type(ws, "invoice.promised") == []


def test_combine_makes_one_draft_per_client_in_the_tone_of_its_most_advanced_invoice(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0  # a second invoice for everyone
    configure(ws, '[collections]\ndry_run = false\nwindow = "00:00-24:00"\ncombine = true\n')
    n = numbers_of(ws)
    report, store = run(ws, date(2027, 1, 20))  # November's: 36 days (35); December's: 5 days (none)
    acme_rows = [r for r in report.rows if r["client"] == "acme"]
    assert len(acme_rows) == 1 and acme_rows[0]["stage"] == 35
    _, store = run(ws, date(2027, 1, 22), store)  # December's reaches 7: a draft for it alone
    second = [e for e in of_type(ws, "reminder.drafted") if e["client"] == "acme"]
    assert [e["stage"] for e in second] == [35, 7]
    assert n["acme"] == second[0]["number"]


def test_combined_draft_lists_every_due_invoice_with_one_message_id(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    configure(ws, '[collections]\ndry_run = false\nwindow = "00:00-24:00"\ncombine = true\n')
    report, store = run(ws, date(2027, 2, 1))  # 48 days (42) and 17 days (14)
    [row] = [r for r in report.rows if r["client"] == "acme"]
    assert row["stage"] == 42 and row["amount"] == "1655.76" and ", " in row["invoice"]
    entries = [e for e in of_type(ws, "reminder.drafted") if e["client"] == "acme"]
    assert sorted(e["stage"] for e in entries) == [14, 42]
    assert len({e["message_id"] for e in entries}) == 1
    msg = next(m for m in store.drafts() if m["To"] == "compta@acme.example")
    assert "Total restant dû : 1 655,76 EUR" in body(msg).replace("\u202f", " ").replace("\xa0", " ")


def test_an_unreachable_store_drafts_nothing_and_the_next_run_retries(ws: Path) -> None:
    store = MemoryDrafts()
    store.fail_with = DraftStoreUnavailable("cannot connect to IMAP imap.example:993: refused")
    report, _ = run(ws, date(2026, 12, 22), store)
    assert report.failed and "the next run drafts it again" in report.alerts[0].message
    assert of_type(ws, "reminder.drafted") == []
    [failed] = of_type(ws, "reminder.draft_failed")  # the first batch holds one draft
    assert "refused" in failed["error"]
    assert any("2 draft(s) not attempted" in n for n in report.notes)
    report, store = run(ws, date(2026, 12, 22))  # same day: nothing was drafted, so it is retried
    assert not report.failed and len(store.drafts()) == len(report.rows) == 3


def test_a_refused_draft_fails_alone(ws: Path) -> None:
    store = MemoryDrafts()
    report, _ = run(ws, date(2026, 12, 22), store)
    assert len(store.drafts()) == 3
    store = MemoryDrafts()
    store.fail_with = DraftRefused("message too large")
    report, _ = run(ws, date(2027, 1, 6), store)  # stage 21 for the acme-like three, 7 for northwind
    statuses = sorted(r["status"] for r in report.rows)
    assert statuses.count("failed") == 1 and statuses.count("drafted") == 3


def test_an_interrupted_hand_over_is_reported_never_redone_and_settled_by_a_human(ws: Path) -> None:
    n = numbers_of(ws)
    store = MemoryDrafts()
    store.fail_with = DraftInterrupted("IMAP connection lost while appending the draft")
    report, _ = run(ws, date(2026, 12, 22), store)
    assert report.failed and "--confirm" in report.alerts[0].message
    [flight] = of_type(ws, "reminder.drafting")[:1]
    assert of_type(ws, "reminder.drafted") == [] and flight["number"] == n["acme"]
    report, store = run(ws, date(2026, 12, 23))
    assert n["acme"] not in {r["invoice"] for r in report.rows}  # never redrafted on its own
    assert any(f"--confirm {n['acme']}" in a.message for a in report.alerts)
    # --retry hands the same message over again; a store that got it keeps one copy.
    store.stored[flight["message_id"]] = b"Message-ID: " + flight["message_id"].encode() + b"\n\nlanded\n"
    report = settle(load_workspace(ws), n["acme"], "retry", date(2026, 12, 23), store)
    assert [r["status"] for r in report.rows] == ["already in the store"]
    [done] = [e for e in of_type(ws, "reminder.drafted") if e["number"] == n["acme"]]
    assert done["message_id"] == flight["message_id"] and done["stage"] == 7
    with pytest.raises(InputError, match="no reminder in flight"):
        settle(load_workspace(ws), n["acme"], "confirm", date(2026, 12, 23), store)


def test_confirm_records_the_draft_the_store_holds(ws: Path) -> None:
    acme = numbers_of(ws)["acme"]
    store = MemoryDrafts()
    store.fail_with = DraftInterrupted("lost")
    run(ws, date(2026, 12, 22), store)
    [flight] = of_type(ws, "reminder.drafting")
    store.stored[flight["message_id"]] = b"x"
    settle(load_workspace(ws), acme, "confirm", date(2026, 12, 23), store)
    [done] = of_type(ws, "reminder.drafted")
    assert done["confirmed_by_operator"] is True and done["draft_id"] == flight["message_id"]
    report, store = run(ws, date(2026, 12, 23))
    assert acme not in {r["invoice"] for r in report.rows}  # stage 7 is done


def test_outside_the_window_nothing_is_drafted_and_it_says_when_it_opens(ws: Path) -> None:
    configure(ws, '[collections]\ndry_run = false\nwindow = "08:00-18:00"\n')
    before = len(journal(ws))
    report = remind(load_workspace(ws), date(2026, 12, 22), at(date(2026, 12, 22), 19), store=MemoryDrafts())
    assert report.rows == [] and "it opens at 2026-12-23 08:00" in report.notes[0]
    assert len(journal(ws)) == before


def test_dry_run_by_configuration_previews_and_writes_nothing(ws: Path) -> None:
    configure(ws, '[collections]\nwindow = "00:00-24:00"\n')  # dry_run defaults to true
    before = (ws / "data" / "journal.jsonl").read_bytes()
    report, store = run(ws, date(2026, 12, 22))
    assert {r["status"] for r in report.rows} == {"would draft"} and store.drafts() == []
    assert any("dry_run = true" in n for n in report.notes)
    assert (ws / "data" / "journal.jsonl").read_bytes() == before and not (ws / "data" / "drafts").exists()


def test_with_collections_off_nothing_is_planned(ws: Path) -> None:
    configure(ws, '[collections]\nenabled = false\ndry_run = false\n')
    report, store = run(ws, date(2027, 1, 20))
    assert report.rows == [] and "enabled = false" in report.notes[0] and store.drafts() == []


def test_client_filter_and_unknown_client(ws: Path) -> None:
    report, _ = run(ws, date(2027, 1, 20), client="northwind")
    assert [r["client"] for r in report.rows] == ["northwind"]
    with pytest.raises(InputError, match="unknown client 'nobody'"):
        run(ws, date(2027, 1, 20), client="nobody")


def test_the_collections_state_survives_the_state_file_and_catches_up(ws: Path) -> None:
    from facturier.ops.state_access import read_state

    n = numbers_of(ws)
    store = MemoryDrafts()
    store.fail_with = DraftInterrupted("lost")
    run(ws, date(2026, 12, 22), store)  # acme in flight, the others drafted
    dispute(load_workspace(ws), n["client0"], date(2026, 12, 23), "x", resolve=False)
    stale = (ws / "data" / "state.sqlite").read_bytes()
    state = read_state(ws)
    assert state.collections.last(n["acme"]) == (7, date(2026, 12, 22))  # in flight counts as the last stage
    assert n["client0"] in state.collections.disputed and n["acme"] in state.collections.in_flight
    state.close()
    promise(load_workspace(ws), n["client1"], date(2026, 12, 24), date(2027, 2, 1))
    (ws / "data" / "state.sqlite").write_bytes(stale)  # behind the journal: caught up
    state = read_state(ws)
    assert state.collections.promised[n["client1"]] == date(2027, 2, 1).toordinal()
    state.close()
    assert run_cli(ws, "verify").code == 0


def test_remind_reads_the_open_invoices_rows_not_the_whole_accounts(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench_remind: 505,000 invoice rows were read per run to find 10,000 open ones. Without a
    credit pool the open rows alone are read; an account with one (an overpayment here) is read
    whole, as before, and the reminders are the same either way."""
    from facturier.store.state.client_accounts import Accounts

    n = numbers_of(ws)
    assert run_cli(ws, "pay", "client0", "2000.00", "--date", "2026-12-20").code == 0  # paid, and more
    loads: list[tuple[str, bool]] = []
    real_load = Accounts._load

    def load(self: Accounts, client: str, currency: str, rows: bool = True) -> object:
        loads.append((client, rows))
        return real_load(self, client, currency, rows)

    monkeypatch.setattr(Accounts, "_load", load)
    report, store = run(ws, date(2026, 12, 22))
    assert sorted(r["invoice"] for r in report.rows) == sorted([n["acme"], n["client1"]])
    assert (("acme", True) not in loads and ("client1", True) not in loads  # their open rows alone
            and ("client0", True) in loads)  # a credit pool to spread: the whole account, as before
    row = next(r for r in report.rows if r["invoice"] == n["acme"])
    assert row["amount"] == "827.88"
    assert "827,88 EUR" in body(next(m for m in store.drafts() if n["acme"] in m["Subject"]))
