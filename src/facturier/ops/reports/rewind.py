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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date

from facturier.core.accounts import Account, to_minor
from facturier.core.aging import ClientBalance
from facturier.store.events import DocumentIssued, PaymentRecorded
from facturier.store.state import LedgerState


def rewound(account: Account, as_of: date, later: Iterable[DocumentIssued | PaymentRecorded]) -> Account:
    """A copy of the account without the facts dated after `as_of` (`later` must hold them all)."""
    # Rows are copied only when a later fact is taken out of them (`_take`): a deep copy of
    # an account with 250,000 invoices cost over a second.
    acc = replace(account, invoices=dict(account.invoices), credit_dates=list(account.credit_dates),
                  _settled=None, _no_pool=False)
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
    acc.reindex()
    return acc


def _take(acc: Account, number: str, column: int, value: int) -> None:
    row = acc.invoices.get(number)
    if row is None:
        acc.orphan -= value
    else:
        row = acc.invoices[number] = row.copy()  # shared with the running account until now
        row[column] -= value


def has_facts(acc: Account) -> bool:
    """Whether any fact is left in a rewound account (a zero payment alone is not seen)."""
    return bool(acc.invoices or acc.credit_dates or acc.paid or acc.unallocated or acc.orphan)


def balances_at(accounts: list[Account], as_of: date, later: list[DocumentIssued | PaymentRecorded],
                with_invoices: bool = True) -> list[ClientBalance]:
    """A client's balances at `as_of`, one per currency with facts up to then."""
    at = [a if a.covers(as_of) else rewound(a, as_of, later) for a in accounts]
    return [a.balance(as_of, with_invoices) for a in at if has_facts(a)]


@dataclass(slots=True)
class SettledOnce(Account):
    """An account whose `settled()` is computed once: the report needs it for the balance and
    again for the invoices of the top overdue clients (one pass over 250,000 invoices each)."""

    cache: tuple[dict[str, tuple[int, int, int]], int] | None = None

    def settled(self) -> tuple[dict[str, tuple[int, int, int]], int]:
        """`Account.settled`, remembered (the account is not changed any more)."""
        if self.cache is None:
            self.cache = Account.settled(self)
        return self.cache

    @classmethod
    def of(cls, account: Account) -> SettledOnce:
        """The same account (sharing its rows)."""
        return cls(**{f.name: getattr(account, f.name) for f in fields(Account)})


class Balancer:
    """Each client's accounts as they stood at the report date, and their balances.

    An account with no fact after the date is used as it is (what `balances` does); else it
    is rewound over the facts dated after it (`later()`, read once, on first need). Both give
    the balance `balances --date` prints.
    """

    def __init__(self, state: LedgerState, as_of: date,
                 later: Callable[[], list[DocumentIssued | PaymentRecorded]]) -> None:
        self.state = state
        self.as_of = as_of
        self._later = later
        self._facts: list[DocumentIssued | PaymentRecorded] | None = None
        self._accounts: dict[str, list[Account]] = {}

    def accounts(self, client: str) -> list[Account]:
        """The client's accounts at the report date, by currency."""
        found = self._accounts.get(client)
        if found is None:
            current = self.state.accounts.of_client(client)
            if all(a.covers(self.as_of) for a in current):
                found = [a for a in current if a.last_day]
            else:
                if self._facts is None:
                    self._facts = self._later()
                found = [acc for acc in (a if a.covers(self.as_of) else rewound(a, self.as_of, self._facts)
                                         for a in current) if has_facts(acc)]
            found = [SettledOnce.of(a) for a in found]
            self._accounts[client] = found
        return found

    def balances(self, client: str) -> list[ClientBalance]:
        """The client's balances at the report date (without the per-invoice list), as `balances` prints."""
        return [a.balance(self.as_of, with_invoices=False) for a in self.accounts(client)]

    def settled(self, client: str, currency: str) -> tuple[Account | None, dict[str, tuple[int, int, int]]]:
        """The account and each invoice's (credited, paid, open) at the report date, pool applied."""
        acc = next((a for a in self.accounts(client) if a.currency == currency), None)
        return acc, acc.settled()[0] if acc else {}
