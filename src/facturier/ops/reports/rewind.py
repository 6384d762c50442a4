"""Client balances at a past date without re-reading a client's whole history.

`balances --date D` for a date before a client's latest fact recomputes from every fact of
the client (`ops.accounts.Facts`): exact, but it reads back every document and payment the
client ever had. A report needs those balances at its date, typically the end of a past
year, when only the facts of the years after it are newer. So: copy the client's running
account (every fact) and take back out the facts dated after D, which the report has
already read. The account then holds exactly the facts dated on or before D, and its
`balance(D)` equals `aging.compute_balances` over them (the property `core.accounts`
guarantees, and a test holds this module to).
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from datetime import date

from facturier.core.accounts import Account, to_minor
from facturier.core.aging import ClientBalance
from facturier.store.events import DocumentIssued, PaymentRecorded


def rewound(account: Account, as_of: date, later: Iterable[DocumentIssued | PaymentRecorded]) -> Account:
    """A copy of the account without the facts dated after `as_of` (`later` must hold them all)."""
    acc = deepcopy(account)
    day = as_of.toordinal()
    exp = acc.exponent
    dropped: list[str] = []
    for fact in later:
        if fact.date.toordinal() <= day or fact.client != acc.client or fact.currency != acc.currency:
            continue
        if isinstance(fact, PaymentRecorded):
            acc.paid -= to_minor(fact.amount, exp)
            acc.unallocated -= to_minor(fact.unallocated, exp)
            for part in fact.allocation:
                _take(acc, part.number, 4, to_minor(part.amount, exp))
        elif fact.direct_live and fact.is_credit_note:
            value = to_minor(fact.total_incl_vat, exp)
            acc.credited -= value
            acc.credit_dates.remove((fact.date.toordinal(), value))
            _take(acc, fact.refers_to or "", 3, value)
        elif fact.direct_live:
            dropped.append(fact.number)
    for number in dropped:
        # What facts up to D credited or allocated to it is now credit to a number the
        # account does not hold, as compute_balances counts it.
        row = acc.invoices.pop(number)
        acc.invoiced -= row[2]
        acc.orphan += row[3] + row[4]
    acc.last_day = day
    return acc


def _take(acc: Account, number: str, column: int, value: int) -> None:
    row = acc.invoices.get(number)
    if row is None:
        acc.orphan -= value
    else:
        row[column] -= value


def balances_at(accounts: list[Account], as_of: date, later: list[DocumentIssued | PaymentRecorded],
                with_invoices: bool = True) -> list[ClientBalance]:
    """A client's balances at `as_of`, one per currency with facts up to then."""
    out = []
    for account in accounts:
        acc = account if account.covers(as_of) else rewound(account, as_of, later)
        if acc.invoices or acc.paid or acc.credited or acc.unallocated or acc.orphan:
            out.append(acc.balance(as_of, with_invoices))
    return out
