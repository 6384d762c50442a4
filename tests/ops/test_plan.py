"""Plan, then apply (ops/plan.py), in process: a dry run reports exactly what the real run then
does, with the same numbers, and writes no file at all."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.config import load_workspace
from facturier.ops.batch.plan import process_batches
from facturier.ops.cycle import monthly_cycle
from facturier.ops.delivery.send import plan_deliveries
from facturier.ops.invoicing.credit import issue_credit_note
from facturier.ops.outcome import ProgressHook, Report
from facturier.ops.plan import carry_out, carry_out_steps
from facturier.store.events import OtherEvent
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState
from tests.conftest import DEMO, copy_demo, journal

NOV15, NOV20, DEC15 = date(2026, 11, 15), date(2026, 11, 20), date(2026, 12, 15)


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every folder and file under the workspace: (modification time, SHA-256 of a file)."""
    out = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, digest)
    return out


def issued(root: Path, kind: str = "invoice.issued") -> list[str]:
    return [e["number"] for e in journal(root) if e["type"] == kind]


@dataclass
class FakePlan:
    """Records what the carrier did with it."""

    state: LedgerState
    calls: list[str] = field(default_factory=list)

    def report(self) -> Report:
        self.calls.append("report")
        return Report("fake (dry run)", ["entries"], [{"entries": self.state.position.seq}])

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        self.calls.append("apply")
        assert ledger.state is self.state
        ledger.append(OtherEvent(type="test.fact", data={"n": len(self.calls)}))
        return Report("fake", ["entries"], [{"entries": self.state.position.seq}])


def test_a_dry_run_reports_the_plan_and_writes_nothing(ws: Path) -> None:
    monthly_cycle(load_workspace(ws), NOV15, dry_run=False)  # a journal and a checkpoint to read
    before, made = tree(ws), []

    def make(state: LedgerState) -> FakePlan:
        made.append(FakePlan(state))
        return made[-1]

    report = carry_out(ws, make, dry_run=True)
    assert report.title == "fake (dry run)" and [p.calls for p in made] == [["report"]]
    assert tree(ws) == before


def test_a_real_run_makes_each_step_from_the_state_the_last_one_left(ws: Path) -> None:
    made: list[FakePlan] = []

    def make(state: LedgerState) -> FakePlan:
        made.append(FakePlan(state))
        return made[-1]

    first, second = carry_out_steps(ws, [make, make], dry_run=False)
    assert [p.calls for p in made] == [["apply"], ["apply"]]
    assert second.rows[0]["entries"] == first.rows[0]["entries"] + 1
    assert [e["type"] for e in journal(ws)][-2:] == ["test.fact", "test.fact"]


def test_run_dry_run_lists_exactly_what_the_real_run_issues(ws: Path) -> None:
    config = load_workspace(ws)
    for day in (NOV15, DEC15):  # a first month, then one read from the checkpoint
        before = tree(ws)
        dry_invoices, dry_emails = monthly_cycle(config, day, dry_run=True)
        assert tree(ws) == before
        assert dry_invoices.title.endswith("(dry run: nothing written)") and dry_invoices.rows
        invoices, emails = monthly_cycle(config, day, dry_run=False)
        assert invoices.rows == dry_invoices.rows
        assert [r["number"] for r in dry_invoices.rows] == issued(ws)[-len(dry_invoices.rows):]
        # The emails of the invoices a dry run would issue are not listed: they do not exist yet.
        assert [r["item"] for r in emails.rows] == [r["number"] for r in invoices.rows if r["client"] == "acme"]
        assert [r["item"] for r in dry_emails.rows] == []


def test_send_dry_run_lists_exactly_what_is_then_sent(ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace("auto_send = true", "auto_send = false"))
    monthly_cycle(load_workspace(ws), NOV15, dry_run=False)
    acme.write_text(acme.read_text().replace("auto_send = false", "auto_send = true"))
    config, before = load_workspace(ws), tree(ws)
    dry = carry_out(ws, lambda state: plan_deliveries(config, state, NOV15), dry_run=True)
    assert tree(ws) == before
    real = carry_out(ws, lambda state: plan_deliveries(config, state, NOV15), dry_run=False)
    assert [r["item"] for r in dry.rows] == [r["item"] for r in real.rows] == ["2026-0001"]
    assert [r["status"] for r in dry.rows] == ["would send"] and [r["status"] for r in real.rows] == ["sent"]


def test_batch_dry_run_numbers_every_row_as_the_real_run_issues_it(tmp_path: Path) -> None:
    root = copy_demo(tmp_path / "ws", with_inbox=True)
    inbox = root / "data" / "inbox_batch" / "boulangerie-martin"
    first = (inbox / "2026-11-orders.csv").read_text(encoding="utf-8")
    later = re.sub(r"2026-11-\d\d", "2026-11-20", first.replace("BM-CMD-10", "BM-CMD-20"))
    (inbox / "later.csv").write_text(later, encoding="utf-8")
    config, before = load_workspace(root), tree(root)
    dry = process_batches(config, NOV20, dry_run=True)
    assert tree(root) == before and not dry.alerts
    real = process_batches(config, NOV20)
    assert [r["status"] for r in real.rows] == ["issued", "issued"]
    # One allocator across the files: the second file goes on where the first stopped.
    assert [r["number"] for r in dry.rows] == issued(root) and len(dry.rows) == 10
    entries = [e for e in journal(root) if e["type"] == "invoice.issued"]
    assert [r["reference"] for r in dry.rows] == [e["reference"] for e in entries]
    assert [r["total_incl_vat"] for r in dry.rows] == [e["total_incl_vat"] for e in entries]
    assert [(r["first"], r["last"]) for r in real.rows] == [
        (dry.rows[0]["number"], dry.rows[4]["number"]), (dry.rows[5]["number"], dry.rows[9]["number"])]


def test_batch_dry_run_verdicts_match_the_real_rejections(tmp_path: Path) -> None:
    root = copy_demo(tmp_path / "ws", with_inbox=True)
    inbox = root / "data" / "inbox_batch" / "boulangerie-martin"
    assert process_batches(load_workspace(root), NOV20).rows[0]["status"] == "issued"
    shutil.copy(DEMO / "data" / "inbox_batch" / "boulangerie-martin" / "2026-11-orders.csv", inbox / "again.csv")
    (inbox / "bad.csv").write_text("reference,customer_name\nX-1,Someone\n", encoding="utf-8")
    config, before = load_workspace(root), tree(root)
    dry = process_batches(config, NOV20, dry_run=True)
    assert tree(root) == before and dry.rows == []
    assert [a.message.split(" would be rejected")[0] for a in dry.alerts] == [
        "boulangerie-martin/again.csv", "boulangerie-martin/bad.csv"]
    real = process_batches(config, NOV20)
    assert [(r["file"], r["status"]) for r in real.rows] == [("again.csv", "rejected"), ("bad.csv", "rejected")]


@pytest.mark.parametrize("amount", [None, Decimal("100.00")])
def test_credit_dry_run_shows_the_credit_note_then_issued(ws: Path, amount: Decimal | None) -> None:
    config = load_workspace(ws)
    monthly_cycle(config, NOV15, dry_run=False)
    before = tree(ws)
    dry = issue_credit_note(config, "2026-0001", amount, "Geste", NOV20, dry_run=True)
    assert tree(ws) == before and dry.title == "Credit note (dry run: nothing issued)"
    real = issue_credit_note(config, "2026-0001", amount, "Geste", NOV20)
    assert real.title == "Credit note issued" and real.rows == dry.rows and real.notes == dry.notes
    assert {r["number"] for r in dry.rows} == set(issued(ws, "credit_note.issued"))
