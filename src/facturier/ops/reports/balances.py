"""Balances from the journal: facts for the pure core, the balance report and derived views.

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
)
from facturier.core.money import fmt_amount
from facturier.core.payments import Allocation
from facturier.ops.report import Report
from facturier.store.journal import Entry
from facturier.store.views import register, view_bytes

BALANCE_COLUMNS = [
    "client", "currency", "invoiced", "credited", "paid", "balance", "credit",
    "current", "1-30", "31-60", "61-90", "over_90", "dso",
]


class Facts:
    """The invoices, credit notes and payments of the journal that balances look at."""

    def __init__(self, entries: list[Entry]) -> None:
        self.invoices: list[InvoiceFact] = []
        self.credits: list[CreditFact] = []
        self.payments: list[PaymentFact] = []
        self.payment_entries: list[Entry] = []
        for e in entries:
            kind = e["type"]
            if kind == "payment.recorded":
                self.payments.append(payment_fact(e))
                self.payment_entries.append(e)
            elif e.get("seller") != "issuer" or e.get("mode") != "live":
                continue
            elif kind == "invoice.issued":
                self.invoices.append(InvoiceFact(
                    e["number"], e["client"], e["currency"], date.fromisoformat(e["date"]),
                    date.fromisoformat(e["due_date"]), Decimal(e["total_incl_vat"]),
                ))
            elif kind == "credit_note.issued":
                self.credits.append(CreditFact(
                    e["number"], e["client"], e["currency"], date.fromisoformat(e["date"]),
                    e.get("refers_to", ""), Decimal(e["total_incl_vat"]),
                ))

    def of_client(self, client: str) -> Facts:
        """The same facts restricted to one client."""
        sub = Facts([])
        sub.invoices = [f for f in self.invoices if f.client == client]
        sub.credits = [f for f in self.credits if f.client == client]
        sub.payments = [f for f in self.payments if f.client == client]
        sub.payment_entries = [e for e in self.payment_entries if e["client"] == client]
        return sub

    def clients(self) -> set[str]:
        """Every client with a document or a payment."""
        return {f.client for f in self.invoices} | {f.client for f in self.credits} | {
            p.client for p in self.payments
        }

    def latest_date(self) -> date | None:
        """The date of the latest fact (the as-of date of a view)."""
        days = [f.issued for f in self.invoices] + [f.issued for f in self.credits]
        days += [p.paid_on for p in self.payments]
        return max(days) if days else None

    def balances(self, as_of: date) -> list[ClientBalance]:
        """Every client balance at a date."""
        return compute_balances(self.invoices, self.credits, self.payments, as_of)


def payment_fact(e: Entry) -> PaymentFact:
    """A payment entry as the core sees it."""
    return PaymentFact(
        e["client"], e["currency"], date.fromisoformat(e["date"]), Decimal(e["amount"]),
        tuple(Allocation(a["number"], Decimal(a["amount"])) for a in e["allocation"]),
        Decimal(e["unallocated"]),
    )


def balance_row(b: ClientBalance) -> dict[str, Any]:
    """One line of the balances table, amounts in the currency's minor unit."""
    def fmt(value: Decimal) -> str:
        return fmt_amount(value, b.currency)

    return {
        "client": b.client, "currency": b.currency, "invoiced": fmt(b.invoiced),
        "credited": fmt(b.credited), "paid": fmt(b.paid), "balance": fmt(b.balance),
        "credit": fmt(b.unapplied_credit), **{k: fmt(v) for k, v in b.aging.items()},
        "dso": "" if b.dso is None else str(b.dso),
    }


def balances_report(entries: list[Entry], as_of: date) -> Report:
    """`facturier balances`: one row per client and currency."""
    report = Report(f"Balances at {as_of}", BALANCE_COLUMNS)
    report.rows = [balance_row(b) for b in Facts(entries).balances(as_of)]
    if not report.rows:
        report.notes.append("No live invoice or payment yet.")
    return report


def invoice_statuses(entries: list[Entry], as_of: date) -> dict[str, str]:
    """Status of every live direct invoice at a date (for `invoices --status`)."""
    return {st.number: st.status for b in Facts(entries).balances(as_of) for st in b.invoices}


def balance_view(client: str, facts: Facts) -> dict[str, Any]:
    """The content of data/balance/<client>.json."""
    as_of = facts.latest_date()
    assert as_of is not None  # only clients with facts get a view
    return {
        "client": client,
        "as_of": as_of.isoformat(),
        "currencies": [
            {**balance_row(b), "invoices": [
                {"number": st.number, "date": st.issued.isoformat(), "due_date": st.due.isoformat(),
                 "total": str(st.total), "credited": str(st.credited), "paid": str(st.paid),
                 "open": str(st.open_amount), "status": st.status}
                for st in b.invoices
            ]}
            for b in facts.balances(as_of)
        ],
    }


PAYMENT_VIEW_KEYS = ("date", "amount", "currency", "method", "reference", "allocation",
                     "unallocated", "source", "bank_id")


@register
def payment_and_balance_views(entries: list[Entry], clients: set[str] | None) -> dict[str, bytes]:
    """data/payments/<client>.json and data/balance/<client>.json."""
    facts = Facts(entries)
    out: dict[str, bytes] = {}
    for client in sorted(facts.clients()):
        if clients is not None and client not in clients:
            continue
        mine = facts.of_client(client)
        payments = [{"seq": e["seq"], **{k: e[k] for k in PAYMENT_VIEW_KEYS if k in e}}
                    for e in mine.payment_entries]
        out[f"data/payments/{client}.json"] = view_bytes({"client": client, "payments": payments})
        out[f"data/balance/{client}.json"] = view_bytes(balance_view(client, mine))
    return out
