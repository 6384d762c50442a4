"""Recording usage (`usage record`, `usage import`) and one-off charges (`charge`).

Everything is validated before the lock is taken, then checked against the ids already
journalled under the lock: an id recorded once is never counted again, whatever file or
command brings it back. An import is journalled in commits of `COMMIT_RECORDS` records,
each an append of entries of `ENTRY_RECORDS`: a process killed midway leaves a prefix of
the file recorded, and importing the file again records exactly the rest.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.config.fields import check_non_empty, check_vat_rate, plain_decimal
from facturier.core.errors import InputError
from facturier.core.money import check_minor_unit
from facturier.core.text import FileProblem as Problem
from facturier.core.text import printable
from facturier.ops.outcome import Alert, Report
from facturier.ops.usage.rows import (
    MAX_FILE_BYTES,
    Meters,
    check_file_name,
    check_record,
    decode,
    file_kind,
    valid_rows,
    validate_file,
)
from facturier.ops.usage.views import usage_views
from facturier.ops.views import refresh_views
from facturier.store.events import ChargeAdded, UsageRecorded
from facturier.store.files import open_regular
from facturier.store.ledger import Ledger
from facturier.store.state import Usage

if TYPE_CHECKING:
    from facturier.config import Workspace

ENTRY_RECORDS = 5_000
COMMIT_RECORDS = int(os.environ.get("FACTURIER_USAGE_COMMIT", "100000"))


@dataclass
class UsageResult:
    """What a usage command did: a report, or the problems that stopped it."""

    report: Report
    problems: list[Problem] = field(default_factory=list)


def _late_note(usage: Usage, late: dict[tuple[str, str], int]) -> list[str]:
    notes = []
    for (client, month), count in sorted(late.items()):
        number = usage.invoiced_by(client, month)
        notes.append(f"{count} record(s) of {client} are for {month}, already invoiced ({number}): that "
                     "invoice does not change; the next invoice bills them as a late-usage correction.")
    return notes


def record_usage(ws: Workspace, client: str, metric: str, quantity: str, day: date, record_id: str | None,
                 today: date, key: str | None = None) -> Report:
    """`usage record`: one record, checked like a file row; its id defaults to a fresh one."""
    meters = Meters.of(ws, today)
    # An empty --id (an unset shell variable) is refused like an empty id column, never replaced
    # by a fresh one: the same record sent twice would then be counted twice.
    fresh = f"manual-{os.urandom(8).hex()}"
    raw = (fresh if record_id is None else record_id, client, metric, quantity, day.isoformat(), key)
    row, problems = check_record(raw, meters)
    if row is None:
        raise InputError("; ".join(f"{column}: {message}" for column, message in problems))
    report = Report("Usage recorded", ["client", "metric", "quantity", "date", "id"])
    with Ledger(ws.root) as ledger:
        if row[0] in ledger.state.usage_ids.ids:
            report.notes.append(f"id {printable(row[0])!r} was already recorded: ignored (1 duplicate).")
            return report
        ledger.journal.append(UsageRecorded(source="manual", rows=(row,)))
        state = ledger.state
        report.rows.append(dict(zip(report.columns, [row[1], row[2], row[3], row[4], row[0]])))
        if state.usage.invoiced_by(client, row[4][:7]):
            report.notes += _late_note(state.usage, {(client, row[4][:7]): 1})
        refresh_views(ws, state, {client}, [usage_views])
    return report


def read_usage_file(path: Path) -> tuple[str, str]:
    """(kind, text) of a usage file: a regular file (no link), UTF-8, of a known kind."""
    check_file_name(path)
    kind = file_kind(path)
    with open_regular(path) as fh:
        content = fh.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"{printable(path.name)}: larger than {MAX_FILE_BYTES >> 20} MiB; split it")
    return kind, decode(printable(path.name), content)


def import_usage(ws: Workspace, path: Path, today: date) -> UsageResult:
    """`usage import FILE`: validate the whole file, then journal its new records."""
    name = printable(path.name)
    kind, text = read_usage_file(path)
    meters = Meters.of(ws, today)
    count, problems = validate_file(name, kind, text, meters)
    report = Report(f"Usage import of {name}", ["client", "month", "metric", "records"])
    if problems:
        return UsageResult(report, problems)
    recorded, duplicates = 0, 0
    touched: Counter[tuple[str, str, str]] = Counter()
    late: dict[tuple[str, str], int] = {}
    with Ledger(ws.root) as ledger:
        seen = ledger.state.usage_ids.ids
        usage = ledger.state.usage
        for batch in _commits(valid_rows(name, kind, text, meters), seen):
            duplicates += batch.duplicates
            entries = [UsageRecorded(source=f"import:{path.name}", rows=tuple(chunk))
                       for chunk in batch.chunks]
            for chunk in batch.chunks:
                touched.update((row[1], row[4][:7], row[2]) for row in chunk)
                recorded += len(chunk)
            if entries:
                ledger.journal.append_many(entries)
        # Recording usage never changes which months are invoiced: the late ones are known now.
        for (client, month, _), n in touched.items():
            if usage.invoiced_by(client, month):
                late[(client, month)] = late.get((client, month), 0) + n
        report.rows = [{"client": c, "month": m, "metric": metric, "records": n}
                       for (c, m, metric), n in sorted(touched.items())]
        report.notes.append(f"{recorded} record(s) recorded, {duplicates} duplicate(s) ignored "
                            f"(ids already recorded), out of {count}.")
        report.notes += _late_note(ledger.state.usage, late)
        refresh_views(ws, ledger.state, {c for c, _, _ in touched}, [usage_views])
    return UsageResult(report)


@dataclass
class _Commit:
    chunks: list[list[list[Any]]]
    duplicates: int


def _commits(rows: Iterator[list[Any]], seen: Container[str]) -> Iterator[_Commit]:
    """Rows not seen before, in chunks of ENTRY_RECORDS, COMMIT_RECORDS a commit.

    `seen` grows as each commit is applied to the state; ids repeated within the file are
    caught by `pending` until then.
    """
    pending: set[str] = set()
    chunks: list[list[list[Any]]] = []
    chunk: list[list[Any]] = []
    duplicates = size = 0
    for row in rows:
        if row[0] in seen or row[0] in pending:
            duplicates += 1
            continue
        pending.add(row[0])
        chunk.append(row)
        size += 1
        if len(chunk) >= ENTRY_RECORDS:
            chunks.append(chunk)
            chunk = []
        if size >= COMMIT_RECORDS:
            yield _Commit(chunks, duplicates)
            chunks, pending, duplicates, size = [], set(), 0, 0
    if chunk:
        chunks.append(chunk)
    yield _Commit(chunks, duplicates)


def add_charge(ws: Workspace, client: str, amount: str, description: str, day: date,
               vat_rate: str | None) -> Report:
    """`charge`: a one-off line on the client's next monthly invoice, journalled once."""
    config = ws.clients.get(client)
    if config is None:
        raise InputError(f"unknown client {printable(client)!r}: no clients/{printable(client)}.toml")
    value = plain_decimal(amount)
    if value is None or value <= 0:
        raise InputError(f"amount: {printable(amount)!r} is not a positive amount like \"49.90\"")
    value = check_minor_unit(value, config.currency, "amount")
    try:
        text = check_non_empty(description)
        if len(text) > 300:
            raise ValueError(f"is {len(text)} characters long; at most 300")
    except ValueError as exc:
        raise InputError(f"--description: {exc}") from None
    rate: Decimal | None = None
    if vat_rate is not None:
        parsed = plain_decimal(vat_rate)
        try:
            if parsed is None:
                raise ValueError(f"{vat_rate!r} is not a rate like \"20\"")
            rate = check_vat_rate(parsed, ws.config.issuer.country)
        except ValueError as exc:
            raise InputError(f"--vat-rate: {exc}") from None
    charge = ChargeAdded(client=client, amount=value, currency=config.currency, description=text,
                         date=day, vat_rate=rate)
    with Ledger(ws.root) as ledger:
        _check_not_pending(ledger.state.usage.charges.get(client, []), charge)
        entry = ledger.journal.append(charge)
        refresh_views(ws, ledger.state, {client}, [usage_views])
    report = Report("Charge added", ["seq", "client", "amount", "currency", "description"])
    report.rows.append({"seq": entry["seq"], "client": client, "amount": str(value), "currency": config.currency,
                        "description": text})
    waiting = _charge_waits(config, client)
    if waiting is None:
        report.notes.append(f"It goes on {client}'s next monthly invoice (see `facturier run --dry-run`), once.")
    else:
        report.alerts.append(Alert("warning", waiting))
    return report


def _check_not_pending(pending: list[Any], charge: ChargeAdded) -> None:
    """Refuse the same `charge` typed twice on one day: a charge cannot be withdrawn once
    recorded, and the second copy would be billed too. A distinct charge with the same text
    and amount needs its own description."""
    for seq, amount, _, description, day, rate in pending:
        same_rate = (None if rate is None else Decimal(rate)) == charge.vat_rate
        if (Decimal(amount), description, day) == (charge.amount, charge.description, charge.date.isoformat()) \
                and same_rate:
            raise InputError(f"{charge.client} already has this charge pending, added on {day} (entry {seq}): "
                             f"{amount} {charge.currency} {printable(description)!r}; it is not added twice (a charge "
                             "cannot be withdrawn). A second, distinct charge needs its own --description")


def _charge_waits(config: Any, client: str) -> str | None:
    """Why no live monthly invoice will carry the charge as things stand, or None."""
    where = f"clients/{client}.toml"
    if not config.active:
        return (f"{client} is inactive (active = false in {where}): no monthly invoice is issued for it, so "
                "the charge waits until the client is active again")
    if config.mode == "test":
        return (f"{client} is in test mode (mode = \"test\" in {where}): the charge goes on its next TEST- "
                "invoice, which is never sent nor counted")
    return None
