"""Client balances from the ledger state, and the payment and balance views.

Only live documents of the issuer count (seller "issuer"): test-mode documents are never
owed, and a batch seller's invoices are collected by that batch client, not by us.
Views are pure functions of the journal: the as-of date of a client's balance view is the
date of that client's latest document or payment, never today, so `rebuild` is byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import xxhash

from facturier.core.accounts import (
    Account,
    absorbed,
    iso_days,
    minor_formatter,
    positions,
    rows_due,
    rows_from,
    status_name,
)
from facturier.core.aging import ClientBalance, strongest_status
from facturier.core.money import fmt_amount
from facturier.store.events import DocumentIssued, PaymentRecorded, T, parse_event
from facturier.store.state import LedgerState
from facturier.store.views import (
    GROWING,
    GrowingView,
    ListBody,
    PatchedView,
    list_framing,
    list_slot,
    streamed_view_spans,
    view_bytes,
    write_view,
)

BALANCE_COLUMNS = [
    "client", "currency", "status", "invoiced", "credited", "paid", "balance", "credit",
    "current", "1-30", "31-60", "61-90", "over_90", "dso",
]


def client_balances(state: LedgerState, client: str, as_of: date, with_invoices: bool = True) -> list[ClientBalance]:
    """A client's balances at `as_of` (the one engine: its accounts as they stood then)."""
    return [a.balance(as_of, with_invoices) for a in state.accounts.at(client, as_of)]


def balance_clients(state: LedgerState) -> list[str]:
    """Every direct client with a live document or a payment."""
    return sorted({client for client, _ in state.accounts.pairs()})


def balance_row(b: ClientBalance) -> dict[str, Any]:
    """One line of the balances table, amounts in the currency's minor unit."""
    def fmt(value: Decimal) -> str:
        return fmt_amount(value, b.currency)

    return {
        "client": b.client, "currency": b.currency, "status": b.status, "invoiced": fmt(b.invoiced),
        "credited": fmt(b.credited), "paid": fmt(b.paid), "balance": fmt(b.balance),
        "credit": fmt(b.unapplied_credit), **{k: fmt(v) for k, v in b.aging.items()},
        "dso": "" if b.dso is None else str(b.dso),
    }


def balance_view(client: str, balances: list[ClientBalance], as_of: date) -> dict[str, Any]:
    """The content of data/balance/<client>.json."""
    return {
        "client": client,
        "as_of": as_of.isoformat(),
        "status": strongest_status(b.status for b in balances),
        "currencies": [{**balance_row(b), "invoices": invoice_rows(b)} for b in balances],
    }


def invoice_rows(b: ClientBalance) -> list[dict[str, str]]:
    """The invoices of a balance as the balance view lists them."""
    return [{"number": st.number, "date": st.issued.isoformat(), "due_date": st.due.isoformat(),
             "total": str(st.total), "credited": str(st.credited), "paid": str(st.paid),
             "open": str(st.open_amount), "status": st.status} for st in b.invoices]


def client_balance_view(state: LedgerState, client: str, as_of: date) -> bytes:
    """data/balance/<client>.json at `as_of`, from the running accounts when they cover it."""
    accounts = [a for a in state.accounts.of_client(client) if a.last_day]
    if not all(a.covers(as_of) for a in accounts):
        return view_bytes(balance_view(client, client_balances(state, client, as_of), as_of))
    return whole_balance_view(balance_head(client, accounts, as_of), accounts, as_of)[0]


def whole_balance_view(head: dict[str, Any], accounts: list[Account], as_of: date
                       ) -> tuple[bytes, list[tuple[int, int]]]:
    """The balance view `head` of accounts covering `as_of` with every row formatted; where each list is."""
    return streamed_view_spans(head, {f"invoices{i}": partial(placed_rows, a, as_of) for i, a in enumerate(accounts)})


def balance_head(client: str, accounts: list[Account], as_of: date) -> dict[str, Any]:
    """The balance view with a list slot for each account's invoices (`invoices<i>`)."""
    balances = [a.balance(as_of, with_invoices=False) for a in accounts]
    return {
        "client": client,
        "as_of": as_of.isoformat(),
        "status": strongest_status(b.status for b in balances),
        "currencies": [{**balance_row(b), "invoices": list_slot(f"invoices{i}")} for i, b in enumerate(balances)],
    }


# One invoice of the balance view exactly as `view_bytes` writes it (keys sorted), each line
# after the first starting with `{pad}`: the indent of the list's items.
INVOICE_ROW = ('{{\n{pad}  "credited": "%s",\n{pad}  "date": "%s",\n{pad}  "due_date": "%s",\n'
               '{pad}  "number": %s,\n{pad}  "open": "%s",\n{pad}  "paid": "%s",\n{pad}  "status": "%s",\n'
               '{pad}  "total": "%s"\n{pad}}}')


def placed_rows(account: Account, as_of: date, indent: int = 0) -> list[bytes]:
    """Each invoice of the account as the balance view lists it, its lines placed at `indent`.

    The same figures as `account.balance(as_of).invoices`, formatted straight from the
    integer sums in one pass (a property test holds the bytes to `view_bytes` of those
    invoices): the balance view of a client with 250,000 invoices costs about a second,
    not seconds of Decimals and a dict per row. Every field but the number is digits,
    signs, dots and dashes or a status name, which JSON writes as is; orjson escapes the number.
    """
    amounts, _ = account.settled()
    row = row_formatter(account, as_of, indent)
    return [row(number, issued, due, total, *amounts[number])
            for number, (issued, due, total, _, _) in account.invoices.items()]


def row_formatter(account: Account, as_of: date, indent: int) -> Callable[..., bytes]:
    """row(number, issued, due, total, credited, paid, open) -> the invoice's bytes in the balance view."""
    day = as_of.toordinal()
    fmt = minor_formatter(account.exponent)
    iso = iso_days()
    template = INVOICE_ROW.format(pad=" " * indent)
    dumps = orjson.dumps

    def row(number: str, issued: int, due: int, total: int, credited: int, paid: int, left: int) -> bytes:
        return (template % (fmt(credited), iso(issued), iso(due), dumps(number).decode(), fmt(left), fmt(paid),
                            status_name(total, credited, left, day - due), fmt(total))).encode()
    return row


PATCH_TAIL = 8 << 20  # journal bytes since the last write beyond which a balance view is written whole
PATCH_SHARE = 4  # ... and when more than a quarter of its rows changed


@dataclass(frozen=True)
class BalanceView(PatchedView):
    """data/balance/<client>.json, patched where it changed since it was last written.

    The view lists every invoice of the client: 67 MB for 250,000 of them, a second to
    format, when a payment changes one or two rows. When the file is the one last written
    (size, mtime and xxh3 digest as stamped) and the accounts have no credit pool (an
    invoice's figures are then its own, `absorbed`), only the rows that can differ are
    formatted: the invoices named by the client's entries journalled since, those whose due
    date the as-of date has just passed (now overdue), and the new ones, appended. Anything
    else writes the whole view. The bytes are those of the whole view, always (a property
    test holds it).

    The stamp: [size, mtime_ns, digest, journal offset, as-of ordinal, account count, then
    for each account its row count and the (start, end) of its list in the file].
    """

    state: LedgerState
    client: str
    as_of: date

    def write_to(self, path: Path, stamp: list[int] | None) -> list[int] | None:
        accounts = [a for a in self.state.accounts.of_client(self.client) if a.last_day]
        if not all(a.covers(self.as_of) for a in accounts):  # an earlier date: not from the accounts
            write_view(path, client_balance_view(self.state, self.client, self.as_of))
            return None
        head = balance_head(self.client, accounts, self.as_of)
        no_pool = all(a.pool == 0 for a in accounts)
        patched = self._patched(path, stamp, head, accounts) if stamp and no_pool else None
        if patched is None:
            content, spans = whole_balance_view(head, accounts, self.as_of)
            write_view(path, content)
        else:
            content, spans, old = patched
            write_view(path, content, old)
        if not no_pool:
            return None
        st = path.stat()
        return [st.st_size, st.st_mtime_ns, xxhash.xxh3_64_intdigest(content), self.state.position.offset,
                self.as_of.toordinal(), len(accounts),
                *(x for a, span in zip(accounts, spans, strict=True) for x in (len(a.invoices), *span))]

    def _patched(self, path: Path, stamp: list[int], head: dict[str, Any],
                 accounts: list[Account]) -> tuple[bytes, list[tuple[int, int]], bytes] | None:
        """(the view, its lists' spans, the file as it was) patched from the file last written,
        or None when it cannot be."""
        if len(stamp) < 6:
            return None
        size, mtime, digest, offset, old_day, count, *lists = stamp
        day = self.as_of.toordinal()
        if (count != len(accounts) or len(lists) != 3 * count or day < old_day
                or not 0 <= self.state.position.offset - offset <= PATCH_TAIL):
            return None
        try:
            st = path.stat()
            if st.st_size != size or st.st_mtime_ns != mtime:
                return None
            old = path.read_bytes()
        except OSError:
            return None
        if xxhash.xxh3_64_intdigest(old) != digest:
            return None
        touched = self._touched(offset)
        bodies: dict[str, ListBody] = {}
        for i, account in enumerate(accounts):
            rows, start, end = lists[3 * i:3 * i + 3]
            if not 0 < rows <= len(account.invoices) or not 0 <= start < end <= len(old):
                return None
            changed = self._changed(account, touched, old_day, rows)
            if changed is None:
                return None
            bodies[f"invoices{i}"] = ListBody(partial(self._body, account, old, start, end, rows, changed))
        try:
            return (*streamed_view_spans(head, bodies), old)
        except LookupError:  # a row not where the stamp says: written whole
            return None

    def _touched(self, offset: int) -> set[str]:
        """The invoice numbers the client's facts journalled since `offset` name."""
        out: set[str] = set()
        for entry in self.state.entries_since(offset, orjson.dumps(self.client)):
            ev = parse_event(entry)
            if isinstance(ev, PaymentRecorded) and ev.client == self.client:
                out.update(a.number for a in ev.allocation)
            elif isinstance(ev, DocumentIssued) and ev.client == self.client:
                out.update((ev.number, ev.refers_to or ""))
        return out

    def _changed(self, account: Account, touched: set[str], old_day: int, rows: int) -> list[str] | None:
        """The numbers of the first `rows` invoices whose row may differ, in list order (None: too many).

        Asked of the rows by number and by due date (`positions`, `rows_due`): rows the
        checkpoint keeps packed answer without being unpacked."""
        day = self.as_of.toordinal()
        found = {at: number for number, at in positions(account.invoices, touched).items() if at < rows}
        if any(old_day <= due < day for due in account.open_by_due):
            for at, number, row in rows_due(account.invoices, lambda due: old_day <= due < day):
                if at < rows and absorbed(row)[2] > 0:
                    found[at] = number
        return None if len(found) * PATCH_SHARE > max(rows, 256) else [found[at] for at in sorted(found)]

    def _body(self, account: Account, old: bytes, start: int, end: int, rows: int, changed: list[str],
              indent: int) -> list[bytes | memoryview]:
        """The account's list, `old[start:end]` with the changed rows replaced and the new rows appended."""
        row = row_formatter(account, self.as_of, indent + 2)
        pad = b" " * (indent + 2)
        inner, close = list_framing(indent)
        if old[end - len(close):end] != close:
            raise LookupError("the list does not end where the stamp says")
        view = memoryview(old)
        parts: list[bytes | memoryview] = []
        at = start
        for number in changed:
            token = b"\n" + pad + b'  "number": ' + orjson.dumps(number) + b",\n"
            found = old.index(token, at, end)
            first = old.rindex(b"{", at, found)
            last = old.index(b"\n" + pad + b"}", found, end) + len(pad) + 2
            sums = account.invoices[number]
            parts += [view[at:first], row(number, *sums[:3], *absorbed(sums)[:3])]
            at = last
        parts.append(view[at:end - len(close)])
        for number, sums in rows_from(account.invoices, rows):
            parts += [b",", inner, row(number, *sums[:3], *absorbed(sums)[:3])]
        parts.append(close)
        return parts


PAYMENT_VIEW_KEYS = ("date", "amount", "currency", "method", "reference", "allocation",
                     "unallocated", "source", "bank_id")


def payment_and_balance_views(state: LedgerState, clients: set[str] | None) -> dict[str, GrowingView | PatchedView]:
    """data/payments/<client>.json and data/balance/<client>.json.

    The payments view only grows: its new payments are appended (`GrowingView`). The
    as-of date of a client's balance view is the date of its latest document or payment,
    never today, so `rebuild` gives the same bytes.
    """
    out: dict[str, GrowingView | PatchedView] = {}
    for client in balance_clients(state):
        if clients is not None and client not in clients:
            continue
        out[f"data/payments/{client}.json"] = GrowingView({"client": client, "payments": list_slot(GROWING)},
                                                          partial(payment_items, state, client))
        last = max(a.last_day for a in state.accounts.of_client(client))
        out[f"data/balance/{client}.json"] = BalanceView(state, client, date.fromordinal(last))
    return out


def payment_items(state: LedgerState, client: str, since: int) -> Iterator[dict[str, Any]]:
    """The client's payments journalled at byte `since` or later, as the payments view lists them."""
    entries: Iterator[dict[str, Any]]
    if since:  # the few entries since the view was written: read them, not the whole index
        entries = (e for e in state.entries_since(since, T.PAYMENT_RECORDED.encode())
                   if e["type"] == T.PAYMENT_RECORDED and e["client"] == client)
    else:
        entries = state.iter_entries_at(state.index.payments_of.get(client, []))
    for e in entries:
        yield {"seq": e["seq"], **{k: e[k] for k in PAYMENT_VIEW_KEYS if k in e}}
