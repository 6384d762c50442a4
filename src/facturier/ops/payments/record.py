"""`facturier pay`: validate and record a payment, allocated to the client's open invoices.

Payments are recorded for direct clients only: the invoices of a batch seller are collected
by that batch client, who keeps its own receivables.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from facturier.core.errors import InputError
from facturier.core.money import ZERO, quantize, rounded
from facturier.core.payments import OpenInvoice, allocate_payment
from facturier.ops.logs import log
from facturier.ops.outcome import Report
from facturier.ops.payments.hand_edits import hand_edited_payments
from facturier.ops.views import PAYMENT_VIEWS, refresh_views
from facturier.store.events import AllocationPart, PaymentRecorded, T
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

METHODS = ("transfer", "card", "cash", "cheque", "other")
PAY_COLUMNS = ["client", "date", "currency", "amount", "invoice", "allocated", "unallocated"]


def check_payment(ws: Workspace, client: str, amount: Decimal, currency: str, day: date, today: date,
                  owed: AbstractSet[str] = frozenset()) -> None:
    """Refuse a payment no one could have received: unknown client, bad amount, future date, a
    currency that is neither the client's nor one of its invoices' (`owed`: after a change of
    `currency`, the invoices issued before it are still paid in theirs)."""
    if client in ws.batch_clients:
        raise InputError(f"{client!r} is a batch client: its customers pay it directly, "
                         "so their payments are not recorded here")
    if client not in ws.clients:
        raise InputError(f"unknown client {client!r}: no clients/{client}.toml (a client that left keeps its "
                         "file, with active = false, so that its invoices can still be paid)")
    cfg = ws.clients[client]
    if cfg.mode == "test":
        raise InputError(f"client {client!r} is in test mode: test invoices are never paid")
    if currency != cfg.currency and currency not in owed:
        raise InputError(f"client {client!r} is invoiced in {cfg.currency}, not {currency}")
    if amount <= ZERO:
        raise InputError(f"the amount must be positive, not {amount}")
    if quantize(amount, currency) != amount:
        raise InputError(f"{amount} has more decimals than {currency} allows")
    if day > today:
        raise InputError(f"the payment date {day} is in the future (today is {today})")


def check_named_invoice(state: LedgerState, number: str, client: str, currency: str) -> None:
    """The invoice named by --invoice must be a live invoice of this client in this currency."""
    doc = state.document(number)
    if doc is None or doc.type != T.INVOICE_ISSUED:
        raise InputError(f"no invoice numbered {number!r}")
    if doc.seller != "issuer" or doc.client != client:
        raise InputError(f"invoice {number} is not an invoice of client {client!r}")
    if doc.mode != "live":
        raise InputError(f"invoice {number} is a test-mode invoice and cannot be paid")
    if doc.currency != currency:
        raise InputError(f"invoice {number} is in {doc.currency}, not {currency}")


def check_not_recorded(state: LedgerState, payment: PaymentRecorded) -> None:
    """Refuse the same `pay` typed twice: a payment of this client already recorded on that
    day, with the same amount, currency and (non-empty) reference. Without a reference two
    equal payments (two cash payments) cannot be told apart and are both recorded."""
    if not payment.reference:
        return
    for earlier in state.payments(state.index.payments_on.get(payment.date.toordinal(), [])):
        if (earlier.client, earlier.amount, earlier.currency, earlier.reference) == (
                payment.client, payment.amount, payment.currency, payment.reference):
            how = "by pay" if earlier.source == "manual" else f"from {earlier.source.split(':', 2)[-1]}"
            raise InputError(
                f"{payment.client} already has a payment of {earlier.amount} {earlier.currency} on "
                f"{payment.date} with reference {payment.reference!r} (entry {earlier.seq}, recorded {how}): "
                "it is not recorded twice; a second payment with the same reference needs its own --ref")


def open_invoices(state: LedgerState, client: str, currency: str, day: date,
                  enough: Decimal | None = None, named: str | None = None) -> list[OpenInvoice]:
    """The client's invoices still open at `day` in a currency (credits and payments applied).

    From the client's running account (with the facts dated after `day` taken back for a
    payment recorded late). With `enough`, the list may stop at the oldest invoices whose open
    amounts reach it; with `named` (`pay --invoice`), it may hold only that invoice and those
    the credit pool settles before it: all that allocating the payment can touch, read without
    the client's other rows (`Accounts.open_reaching`).
    """
    if enough is not None or named is not None:
        reaching = state.accounts.open_reaching(client, currency, day, enough or ZERO, named)
        if reaching is not None:
            return [OpenInvoice(n, due, left) for n, due, left in reaching.open_items(day, enough)]
    account = state.accounts.get(client, currency)
    if account is None:
        return []
    accounts = [account] if account.covers(day) else [
        a for a in state.accounts.at(client, day) if a.currency == currency]
    return [OpenInvoice(n, due, left) for acc in accounts for n, due, left in acc.open_items(day, enough)]


def allocated_from_state(state: LedgerState, payment: PaymentRecorded,
                         invoice: str | None) -> PaymentRecorded:
    """The payment allocated against the client's open invoices at its date."""
    # Allocation goes oldest first and stops when the amount is spent, so without a named
    # invoice only the oldest open invoices that the amount reaches are needed; with one, that
    # invoice once the credit pool is spent.
    enough = payment.amount if invoice is None else None
    open_now = open_invoices(state, payment.client, payment.currency, payment.date, enough, invoice)
    return allocated_payment(open_now, payment, invoice)


def allocated_payment(open_now: list[OpenInvoice], payment: PaymentRecorded,
                      invoice: str | None) -> PaymentRecorded:
    """The payment allocated over these open invoices, its amounts rounded as journalled (a
    pure step)."""
    if invoice is not None and not any(inv.number == invoice for inv in open_now):
        raise InputError(f"invoice {invoice} has nothing left to pay on {payment.date}")
    result = allocate_payment(open_now, payment.amount, invoice)
    cur = payment.currency
    parts = tuple(AllocationPart(a.number, rounded(a.amount, cur)) for a in result.allocations)
    return replace(payment, amount=rounded(payment.amount, cur), allocation=parts,
                   unallocated=rounded(result.unallocated, cur))


def record_payment(
    ws: Workspace, client: str, amount: Decimal, day: date, today: date, *, method: str,
    reference: str | None, invoice: str | None, currency: str | None,
) -> Report:
    """Check, allocate and journal one payment, then refresh the client's views."""
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if currency is not None and not currency:  # an empty --currency (an unset shell variable)
        raise InputError("--currency: empty; leave the option out for the client's currency")
    cfg = ws.clients.get(client)
    # The client, the amount and the date before the lock; the currency once the ledger says
    # which currencies the client's invoices are in.
    check_payment(ws, client, amount, currency or (cfg.currency if cfg else ""), day, today, {currency or ""})
    with Ledger(ws.root) as ledger:
        currency = currency or _default_currency(ws, ledger.state, client, invoice)
        if cfg is not None and currency != cfg.currency:
            owed = {account.currency for account in ledger.state.accounts.of_client(client, rows=False)}
            check_payment(ws, client, amount, currency, day, today, owed)
        received = PaymentRecorded(client=client, date=day, amount=amount, currency=currency,
                                   method=method, reference=reference or "", source="manual",
                                   allocation=(), unallocated=ZERO)
        if invoice is not None:
            check_named_invoice(ledger.state, invoice, client, currency)
        check_not_recorded(ledger.state, received)
        payment = allocated_from_state(ledger.state, received, invoice)
        edited = hand_edited_payments(ws.root, ledger.state, {client})  # before this payment rewrites it
        ledger.append(payment)
        refresh_views(ws, ledger.state, {client}, PAYMENT_VIEWS)
    log(ws.root, f"payment {currency} {amount} on {day} ({method})", client)
    report = payment_report(payment)
    report.alerts.extend(edited)
    return report


def _default_currency(ws: Workspace, state: LedgerState, client: str, invoice: str | None) -> str:
    """Without --currency: the named invoice's currency, else the client's ("" for no client)."""
    doc = state.document(invoice) if invoice is not None else None
    if doc is not None and doc.client == client and doc.seller == "issuer":
        return doc.currency
    return ws.clients[client].currency if client in ws.clients else ""


def payment_report(payment: PaymentRecorded) -> Report:
    """One row per allocation, plus the unallocated credit."""
    report = Report("Payment recorded", PAY_COLUMNS)
    base = {"client": payment.client, "date": payment.date.isoformat(),
            "currency": payment.currency, "amount": str(payment.amount)}
    for part in payment.allocation:
        report.rows.append({**base, "invoice": part.number, "allocated": str(part.amount),
                            "unallocated": ""})
    if payment.unallocated > ZERO:
        left = str(payment.unallocated)
        report.rows.append({**base, "invoice": "", "allocated": "", "unallocated": left})
        report.notes.append(f"{left} {payment.currency} stays as credit of {payment.client}; "
                            "it settles the next open invoice in the balances.")
    return report
