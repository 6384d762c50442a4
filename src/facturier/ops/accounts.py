"""Client balances from the ledger state, and the payment and balance views.

Only live documents of the issuer count (seller "issuer"): test-mode documents are never
owed, and a batch seller's invoices are collected by that batch client, not by us.
Views are pure functions of the journal: the as-of date of a client's balance view is the
date of that client's latest document or payment, never today, so `rebuild` is byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

import orjson

from facturier.core.accounts import Account, iso_days, minor_formatter, status_name
from facturier.core.aging import (
    ClientBalance,
    CreditFact,
    InvoiceFact,
    PaymentFact,
    compute_balances,
    strongest_status,
)
from facturier.core.money import fmt_amount
from facturier.core.payments import Allocation
from facturier.store.events import PaymentRecorded, T
from facturier.store.state import LedgerState
from facturier.store.views import GROWING, GrowingView, list_slot, streamed_view_bytes, view_bytes

BALANCE_COLUMNS = [
    "client", "currency", "status", "invoiced", "credited", "paid", "balance", "credit",
    "current", "1-30", "31-60", "61-90", "over_90", "dso",
]


class Facts:
    """One client's invoices, credit notes and payments, for a balance at any date.

    Built from the documents and payments the state indexes for that client: the slow,
    exact path for a date before the client's latest fact (the accounts of the state answer
    for later dates without reading anything back).
    """

    def __init__(self, state: LedgerState, client: str) -> None:
        self.invoices: list[InvoiceFact] = []
        self.credits: list[CreditFact] = []
        for doc in state.documents_of(client):
            if doc.client != client or not doc.direct_live:
                continue
            if doc.is_credit_note:
                self.credits.append(CreditFact(doc.number, doc.client, doc.currency, doc.date,
                                               doc.refers_to or "", doc.total_incl_vat))
            else:
                self.invoices.append(InvoiceFact(doc.number, doc.client, doc.currency, doc.date,
                                                 doc.due_date, doc.total_incl_vat))
        self.payments = [payment_fact(p) for p in state.payments(state.index.payments_of.get(client, []))]

    def balances(self, as_of: date) -> list[ClientBalance]:
        """The client's balances at a date, one per currency."""
        return compute_balances(self.invoices, self.credits, self.payments, as_of)


def payment_fact(p: PaymentRecorded) -> PaymentFact:
    """A payment event as the core sees it."""
    return PaymentFact(p.client, p.currency, p.date, p.amount,
                       tuple(Allocation(a.number, a.amount) for a in p.allocation), p.unallocated)


def client_balances(state: LedgerState, client: str, as_of: date, with_invoices: bool = True) -> list[ClientBalance]:
    """A client's balances at `as_of`: from its running accounts, or recomputed for an earlier date."""
    accounts = state.accounts.of_client(client)
    if all(a.covers(as_of) for a in accounts):
        return [a.balance(as_of, with_invoices) for a in accounts if a.last_day]
    return Facts(state, client).balances(as_of)


def balance_clients(state: LedgerState) -> list[str]:
    """Every direct client with a live document or a payment."""
    return sorted({client for client, _ in state.accounts.accounts})


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
        return view_bytes(balance_view(client, Facts(state, client).balances(as_of), as_of))
    balances = [a.balance(as_of, with_invoices=False) for a in accounts]
    return streamed_view_bytes({
        "client": client,
        "as_of": as_of.isoformat(),
        "status": strongest_status(b.status for b in balances),
        "currencies": [{**balance_row(b), "invoices": list_slot(f"invoices{i}")} for i, b in enumerate(balances)],
    }, {f"invoices{i}": partial(placed_rows, a, as_of) for i, a in enumerate(accounts)})



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
    day = as_of.toordinal()
    fmt = minor_formatter(account.exponent)
    iso = iso_days()
    template = INVOICE_ROW.format(pad=" " * indent)
    dumps = orjson.dumps
    return [(template % (fmt(credited), iso(issued), iso(due), dumps(number).decode(), fmt(left), fmt(paid),
                         status_name(total, credited, left, day - due), fmt(total))).encode()
            for number, (issued, due, total, _, _) in account.invoices.items()
            for credited, paid, left in (amounts[number],)]


PAYMENT_VIEW_KEYS = ("date", "amount", "currency", "method", "reference", "allocation",
                     "unallocated", "source", "bank_id")


def payment_and_balance_views(state: LedgerState, clients: set[str] | None) -> dict[str, bytes | GrowingView]:
    """data/payments/<client>.json and data/balance/<client>.json.

    The payments view only grows: its new payments are appended (`GrowingView`). The
    as-of date of a client's balance view is the date of its latest document or payment,
    never today, so `rebuild` gives the same bytes.
    """
    out: dict[str, bytes | GrowingView] = {}
    for client in balance_clients(state):
        if clients is not None and client not in clients:
            continue
        out[f"data/payments/{client}.json"] = GrowingView({"client": client, "payments": list_slot(GROWING)},
                                                          partial(payment_items, state, client))
        last = max(a.last_day for a in state.accounts.of_client(client))
        as_of = date.fromordinal(last)
        out[f"data/balance/{client}.json"] = client_balance_view(state, client, as_of)
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
