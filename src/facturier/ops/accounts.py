"""Client balances from the ledger state, and the payment and balance views.

Only live documents of the issuer count (seller "issuer"): test-mode documents are never
owed, and a batch seller's invoices are collected by that batch client, not by us.
Views are pure functions of the journal: the as-of date of a client's balance view is the
date of that client's latest document or payment, never today, so `rebuild` is byte-identical.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

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
from facturier.store.events import PaymentRecorded
from facturier.store.state import LedgerState
from facturier.store.views import list_slot, streamed_view_bytes, view_bytes

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
    }, {f"invoices{i}": a.invoice_rows(as_of) for i, a in enumerate(accounts)})


PAYMENT_VIEW_KEYS = ("date", "amount", "currency", "method", "reference", "allocation",
                     "unallocated", "source", "bank_id")


def payment_and_balance_views(state: LedgerState, clients: set[str] | None) -> dict[str, bytes]:
    """data/payments/<client>.json and data/balance/<client>.json.

    The as-of date of a client's balance view is the date of its latest document or
    payment, never today, so `rebuild` gives the same bytes.
    """
    out: dict[str, bytes] = {}
    for client in balance_clients(state):
        if clients is not None and client not in clients:
            continue
        entries = state.iter_entries_at(state.index.payments_of.get(client, []))
        payments = ({"seq": e["seq"], **{k: e[k] for k in PAYMENT_VIEW_KEYS if k in e}} for e in entries)
        out[f"data/payments/{client}.json"] = streamed_view_bytes({"client": client, "payments": list_slot("payments")},
                                                                  {"payments": payments})
        last = max(a.last_day for a in state.accounts.of_client(client))
        as_of = date.fromordinal(last)
        out[f"data/balance/{client}.json"] = client_balance_view(state, client, as_of)
    return out
