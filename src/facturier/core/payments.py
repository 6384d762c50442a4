"""Payment allocation: which open invoices a payment settles, as a pure function.

Rule: a payment settles the named invoice (when the user names one), otherwise the client's
open invoices oldest due date first, then by number. Whatever is left once every open invoice
is settled is an unallocated credit balance of the client. When an invoice is named, the
excess stays unallocated rather than spilling onto other invoices: the system never guesses
what the client meant to pay. Invariant (property-tested): Σ allocated + unallocated = paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from facturier.core.money import ZERO


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An invoice with an amount still to be paid."""

    number: str
    due_date: date
    open_amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of a payment that settles one invoice."""

    number: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """How a payment was split: per-invoice allocations and the unallocated remainder."""

    allocations: tuple[Allocation, ...]
    unallocated: Decimal


def settlement_order(invoices: Iterable[OpenInvoice]) -> list[OpenInvoice]:
    """Oldest due date first, then by number, so allocation is deterministic."""
    return sorted(invoices, key=lambda inv: (inv.due_date, inv.number))


def allocate_payment(
    open_invoices: Iterable[OpenInvoice], amount: Decimal, invoice: str | None = None
) -> AllocationResult:
    """Split `amount` over the open invoices (or the named one); the rest is unallocated."""
    candidates = settlement_order(inv for inv in open_invoices if inv.open_amount > ZERO)
    if invoice is not None:
        candidates = [inv for inv in candidates if inv.number == invoice]
    remaining = amount
    allocations: list[Allocation] = []
    for inv in candidates:
        if remaining <= ZERO:
            break
        part = min(remaining, inv.open_amount)
        allocations.append(Allocation(inv.number, part))
        remaining -= part
    return AllocationResult(tuple(allocations), remaining)
