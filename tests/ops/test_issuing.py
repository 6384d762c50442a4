"""The issuing pipeline in-process (ops/issuing): what `run`, `batch` and `credit` rely on.

Real components throughout: the demo workspace's batch seller, the Typst renderer, the
ledger and its journal in tmp_path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.config import Workspace, load_workspace
from facturier.core.errors import FacturierError
from facturier.ops.batch.process import batch_document
from facturier.ops.batch.rows import BatchRow
from facturier.ops.issuing import DocumentDraft, Issued, issue_documents, plan_numbers
from facturier.ops.state_access import NumberAllocator
from facturier.render import pool
from facturier.store.files import sha256_file
from facturier.store.ledger import Ledger
from tests.conftest import copy_demo, journal

SELLER = "boulangerie-martin"
START = date(2026, 11, 2)


@pytest.fixture
def demo(tmp_path: Path) -> Workspace:
    return load_workspace(copy_demo(tmp_path / "ws"))


def row(i: int, day: date, description: str = "Croissants") -> BatchRow:
    return BatchRow(
        line=i + 2, reference=f"R-{i}", issue_date=day, due_date=day + timedelta(days=15),
        customer_name=f"Client {i}", customer_address=("1 rue de la Paix", "75002 Paris"), customer_email=None,
        customer_country="FR", customer_vat_id=None, customer_siren=None, description=description,
        quantity=Decimal(2), unit_price=Decimal("1.50"), vat_rate=Decimal("5.5"), currency="EUR",
    )


def drafts_of(ws: Workspace, rows: list[BatchRow]):  # type: ignore[no-untyped-def]
    cfg = ws.batch_clients[SELLER]

    def compose(numbers: NumberAllocator) -> Iterator[DocumentDraft]:
        for r in rows:
            yield DocumentDraft(batch_document(cfg, SELLER, r, numbers), {"reference": r.reference})

    return compose


class Progress:
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.advanced = 0

    def start(self, label: str, total: int) -> None:
        self.started.append((label, total))

    def advance(self, count: int) -> None:
        self.advanced += count


def issued_entries(ws: Workspace) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in journal(ws.root) if e["type"] == "invoice.issued"]


def test_numbers_are_gapless_in_draft_order_across_commit_groups_and_the_pool(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTURIER_COMMIT_GROUP", "3")  # several groups
    monkeypatch.setenv("FACTURIER_WORKERS", "2")  # and the process pool, not the inline path
    rows = [row(i, START + timedelta(days=i // 4)) for i in range(10)]
    progress = Progress()
    with Ledger(demo.root) as ledger:
        issued = list(issue_documents(ledger, drafts_of(demo, rows), templates=demo.root / "templates",
                                      expected=len(rows), progress=progress, label="orders",
                                      log=lambda i: f"issued {i.doc.number}"))
    numbers = [i.doc.number for i in issued]
    assert numbers == [f"BM-2026-{n:05d}" for n in range(1, 11)]
    entries = issued_entries(demo)
    assert [e["number"] for e in entries] == numbers  # journalled in the same order
    assert [e["reference"] for e in entries] == [r.reference for r in rows]  # each row its own number
    for e in entries:
        for f in e["files"].values():
            assert sha256_file(demo.root / f["path"]) == f["sha256"]
    assert progress.started == [("orders", 10)] and progress.advanced == 10
    logged = (demo.root / "data" / "logs" / f"{SELLER}.log").read_text(encoding="utf-8")
    assert [line.split()[-1] for line in logged.splitlines()] == numbers


def test_a_dry_run_numbers_exactly_as_the_real_issue(demo: Workspace) -> None:
    rows = [row(i, START) for i in range(3)]
    with Ledger(demo.root) as ledger:
        planned = plan_numbers(ledger.state, drafts_of(demo, rows))
        assert not issued_entries(demo)  # planning writes nothing
        issued = list(issue_documents(ledger, drafts_of(demo, rows), templates=demo.root / "templates"))
    assert [d.doc.number for d, _ in planned] == [i.doc.number for i in issued]
    assert [record for _, record in planned] == [i.record for i in issued]


def test_a_render_failure_journals_nothing_of_its_group_and_its_number_is_reused(demo: Workspace) -> None:
    # One sheet per day; the third document cannot be printed (no glyph for the emoji).
    rows = [row(0, START), row(1, START + timedelta(days=1)), row(2, START + timedelta(days=2), "Gâteau 🎂")]
    with Ledger(demo.root) as ledger, pytest.raises(FacturierError, match="cannot render"):
        for _ in issue_documents(ledger, drafts_of(demo, rows), templates=demo.root / "templates", expected=3):
            pass
    assert not issued_entries(demo)  # one commit group: nothing of it is issued
    assert not list((demo.root / "data").rglob("*.pdf"))
    staging = demo.root / "data" / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    with Ledger(demo.root) as ledger:
        (again,) = issue_documents(ledger, drafts_of(demo, rows[:1]), templates=demo.root / "templates")
    assert again.doc.number == "BM-2026-00001"  # the number was never consumed


def test_groups_before_a_render_failure_stay_issued_and_gapless(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTURIER_COMMIT_GROUP", "2")
    # Sheets of 2 (one Typst compile each): a render failure fails its whole sheet, never those before it.
    monkeypatch.setattr(pool, "compile_groups", functools.partial(pool.compile_groups, size=2))
    rows = [row(i, START + timedelta(days=i)) for i in range(4)] + [row(4, START + timedelta(days=4), "🎂")]
    seen: list[Issued] = []
    with Ledger(demo.root) as ledger, pytest.raises(FacturierError):
        seen.extend(issue_documents(ledger, drafts_of(demo, rows), templates=demo.root / "templates", expected=5))
    numbers = [e["number"] for e in issued_entries(demo)]
    assert [i.doc.number for i in seen] == numbers  # each yielded once journalled
    assert numbers == ["BM-2026-00001", "BM-2026-00002", "BM-2026-00003", "BM-2026-00004"]
    with Ledger(demo.root) as ledger:
        (next_one,) = issue_documents(ledger, drafts_of(demo, [row(5, START + timedelta(days=5))]),
                                      templates=demo.root / "templates")
    assert next_one.doc.number == "BM-2026-00005"
    record = json.loads((demo.root / next_one.entry["files"]["json"]["path"]).read_text(encoding="utf-8"))
    assert record == next_one.record
