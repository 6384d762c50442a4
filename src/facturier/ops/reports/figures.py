"""The figures of `facturier report`, each the same as the `balances` or `export` figure it shows.

- invoiced per month: the `export revenues` rows of the month, incl. VAT (credit notes
  negative); received per month: the `export receipts` amounts of the month. Both for the
  whole year and the year before, whatever the report date;
- aging, outstanding and overdue at the report date: the sums over clients of `balances`
  at that date (`client_balances`, the very function `balances` prints);
- DSO per month, per currency: at each month end of the year up to the report date (and at
  the report date itself), outstanding / net invoiced over the 90 days ending there x 90,
  over every client of the currency. A client's outstanding at a date is
  max(0, invoiced - credited - paid) up to that date: the open amounts once credits,
  allocations and the credit pool are applied (`core.aging`) always add up to that, so no
  invoice-by-invoice replay is needed;
- top overdue clients: from `balances` at the report date, with each client's oldest
  overdue invoice, and its last `reminder.drafted` stage;
- reminders: `reminder.drafted` entries of the year per month and stage; "paid after a
  stage": invoices whose last reminder (up to the report date) was at that stage and that
  are paid or credited at the report date;
- batch service: live invoices issued in each batch seller's name, per month.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from facturier.core.accounts import from_minor
from facturier.core.aging import BUCKETS, DSO_WINDOW_DAYS, ClientBalance
from facturier.core.accounts import from_minor
from facturier.ops.accounts import balance_clients
from facturier.ops.reports.rewind import Balancer
from facturier.store.events import DocumentIssued, PaymentRecorded
from facturier.store.state import LedgerState
from facturier.store.views import signed

ZERO = Decimal(0)
TOP = 10


@dataclass
class CurrencyFigures:
    """Everything the report shows in one currency."""

    currency: str
    invoiced: dict[int, list[Decimal]] = field(default_factory=dict)  # year -> 12 months, incl. VAT
    received: dict[int, list[Decimal]] = field(default_factory=dict)
    excl_vat: Decimal = ZERO
    vat: Decimal = ZERO
    aging: dict[str, Decimal] = field(default_factory=lambda: {b: ZERO for b in BUCKETS})
    unapplied_credit: Decimal = ZERO
    dso: list[tuple[date, Decimal, Decimal, Decimal | None]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal:
        """What clients owe at the report date (the sum of the aging buckets)."""
        return sum(self.aging.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        """The part of it past its due date."""
        return sum((v for k, v in self.aging.items() if k != "current"), ZERO)


@dataclass
class ReportFigures:
    """The whole report's figures."""

    year: int
    as_of: date
    head_seq: int
    head_hash: str
    currencies: dict[str, CurrencyFigures]
    reminders: dict[str, list[int]]  # stage -> drafted per month of the year
    paid_after: dict[str, int]  # stage -> invoices paid after their last reminder was at that stage
    reminders_seen: bool
    batch: dict[str, list[int]]  # batch seller -> invoices per month

    def as_json(self) -> dict[str, Any]:
        """Plain figures (decimal strings), embedded in the report for machines and tests."""
        def dec(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "year": self.year, "as_of": self.as_of.isoformat(),
            "journal": {"entry": self.head_seq, "hash": self.head_hash},
            "currencies": {c: {
                "invoiced": {str(y): [str(v) for v in m] for y, m in f.invoiced.items()},
                "received": {str(y): [str(v) for v in m] for y, m in f.received.items()},
                "invoiced_excl_vat": str(f.excl_vat), "vat": str(f.vat),
                "invoiced_incl_vat": str(sum(f.invoiced[self.year], ZERO)),
                "received_total": str(sum(f.received[self.year], ZERO)),
                "outstanding": str(f.outstanding), "overdue": str(f.overdue),
                "credit": str(f.unapplied_credit), "aging": {k: str(v) for k, v in f.aging.items()},
                "dso": [{"date": d.isoformat(), "outstanding": str(o), "invoiced_90_days": str(r), "dso": dec(v)}
                        for d, o, r, v in f.dso],
                "top_overdue": [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
                                for row in f.top],
            } for c, f in self.currencies.items()},
            "reminders": self.reminders, "paid_after_stage": self.paid_after, "batch": self.batch,
        }


def report_figures(state: LedgerState, year: int, as_of: date, batch_sellers: set[str]) -> ReportFigures:
    """Every figure of the report of `year` at `as_of`."""
    later_years = sorted({y for _, y in state.index.by_owner_year if y >= year - 1}
                         | {y for y in state.index.payments_by_year if y >= year - 1})
    docs = {y: [d for d in state.documents_of("issuer", y) if d.direct_live] for y in later_years}
    pays = {y: state.payments(state.index.payments_by_year.get(y, [])) for y in later_years}
    figures: dict[str, CurrencyFigures] = {}

    def of(currency: str) -> CurrencyFigures:
        if currency not in figures:
            figures[currency] = CurrencyFigures(currency, {y: [ZERO] * 12 for y in (year - 1, year)},
                                                {y: [ZERO] * 12 for y in (year - 1, year)})
        return figures[currency]

    for y in (year - 1, year):
        for d in docs.get(y, []):
            f = of(d.currency)
            f.invoiced[y][d.date.month - 1] += signed(d, d.total_incl_vat)
            if y == year:
                f.excl_vat += signed(d, d.total_excl_vat)
                f.vat += signed(d, d.total_vat)
        for p in pays.get(y, []):
            of(p.currency).received[y][p.date.month - 1] += p.amount
    later = [*(d for ds in docs.values() for d in ds), *(p for ps in pays.values() for p in ps)]
    balancer = Balancer(state, as_of, later if as_of >= date(year - 1, 1, 1) else None)
    balances = {c: balancer.balances(c) for c in balance_clients(state)}
    for client_rows in balances.values():
        for b in client_rows:
            f = of(b.currency)
            for k, v in b.aging.items():
                f.aging[k] += v
            f.unapplied_credit += b.unapplied_credit
    for f in figures.values():
        f.dso = dso_points(state, f.currency, year, as_of,
                           [d for ds in docs.values() for d in ds], [p for ps in pays.values() for p in ps])
    stages = reminder_figures(state, year, as_of, balancer)
    for f in figures.values():
        f.top = top_overdue(state, balances, f.currency, balancer, as_of, stages[2])
    return ReportFigures(year, as_of, state.position.seq, state.position.hash, dict(sorted(figures.items())),
                         stages[0], stages[1], bool(state.reminders.drafted),
                         batch_figures(state, year, batch_sellers))


def month_ends(year: int, as_of: date) -> list[date]:
    """The last day of each month of the year up to `as_of`, then `as_of` itself if in the year."""
    days = [date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1) for m in range(1, 13)]
    out = [d for d in days if d <= as_of]
    if as_of.year == year and as_of not in out:
        out.append(as_of)
    return out


def dso_points(state: LedgerState, currency: str, year: int, as_of: date, docs: list[DocumentIssued],
               payments: list[PaymentRecorded]) -> list[tuple[date, Decimal, Decimal, Decimal | None]]:
    """(date, outstanding, net invoiced over 90 days, DSO) at each month end, over the currency's clients.

    Each client's balance at a date is its running account (every fact) minus the facts
    dated after that date, which all belong to the years from `year - 1` on (`docs`,
    `payments`: those facts, already read).
    """
    accounts = [a for (_, cur), a in state.accounts.accounts.items() if cur == currency]
    if not accounts:
        return []
    exponent = accounts[0].exponent
    now = {a.client: from_minor(a.invoiced - a.credited - a.paid, exponent) for a in accounts}
    # Facts newest first: walking month ends backwards, each is taken out of its client's
    # balance once (O(facts + month ends x clients)).
    facts = sorted([(d.date, d.client, signed(d, d.total_incl_vat)) for d in docs if d.currency == currency]
                   + [(p.date, p.client, -p.amount) for p in payments if p.currency == currency],
                   key=lambda f: f[0], reverse=True)
    sales = sorted((d.date, signed(d, d.total_incl_vat)) for d in docs if d.currency == currency)
    sale_days = [day for day, _ in sales]
    running = [ZERO]
    for _, amount in sales:
        running.append(running[-1] + amount)
    balance, cursor, points = dict(now), 0, []
    for day in reversed(month_ends(year, as_of)):
        while cursor < len(facts) and facts[cursor][0] > day:
            _, client, amount = facts[cursor]
            balance[client] = balance.get(client, ZERO) - amount
            cursor += 1
        outstanding = sum((max(v, ZERO) for v in balance.values()), ZERO)
        start = day - timedelta(days=DSO_WINDOW_DAYS)
        net = running[bisect_right(sale_days, day)] - running[bisect_right(sale_days, start)]
        dso = (outstanding / net * DSO_WINDOW_DAYS).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) \
            if net > ZERO else None
        points.append((day, outstanding, net, dso))
    return points[::-1]


def reminder_figures(state: LedgerState, year: int, as_of: date, balancer: Balancer
                     ) -> tuple[dict[str, list[int]], dict[str, int], dict[str, tuple[str, str]]]:
    """(stage -> drafted per month of the year, stage -> invoices paid after it, number -> last (stage, date))."""
    per_month: dict[str, list[int]] = {}
    last: dict[str, tuple[str, str, str]] = {}  # number -> (date, stage, client)
    for offset in state.reminders.drafted:
        e = state.entry_at(offset)
        day, stage, number = str(e.get("date", "")), str(e.get("stage", "")), str(e.get("number", ""))
        if not day or day > as_of.isoformat():
            continue
        if day[:4] == f"{year:04d}":
            per_month.setdefault(stage, [0] * 12)[int(day[5:7]) - 1] += 1
        if number and (number not in last or day >= last[number][0]):
            last[number] = (day, stage, str(e.get("client", "")))
    paid_after: dict[str, int] = {s: 0 for s in per_month}
    for number, (_, stage, client) in last.items():
        for acc in balancer.accounts(client) if client else []:
            row = balancer.open_invoices(client, acc.currency).get(number)
            if row is not None and row[2] == 0:  # nothing left open: paid or credited
                paid_after[stage] = paid_after.get(stage, 0) + 1
    order = sorted(set(per_month) | set(paid_after), key=_stage_key)
    return ({s: per_month.get(s, [0] * 12) for s in order}, {s: paid_after.get(s, 0) for s in order},
            {n: (s, d) for n, (d, s, _) in last.items()})


def _stage_key(stage: str) -> tuple[int, int, str]:
    return (0, int(stage), "") if stage.isdigit() else (1, 0, stage)


def top_overdue(state: LedgerState, balances: dict[str, list[ClientBalance]], currency: str, balancer: Balancer,
                as_of: date, last_stage: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The clients owing the most past due in this currency, with their oldest overdue invoice."""
    ranked = sorted(((sum((v for k, v in b.aging.items() if k != "current"), ZERO), client)
                     for client, rows in balances.items() for b in rows if b.currency == currency),
                    key=lambda t: (-t[0], t[1]))
    out = []
    for overdue, client in [t for t in ranked if t[0] > ZERO][:TOP]:
        invoices = balancer.open_invoices(client, currency)
        day = as_of.toordinal()
        late = sorted((due, n) for n, (_, due, left) in invoices.items() if left > 0 and day > due)
        oldest = late[0] if late else None
        reminded = sorted(((due, n) for n, (_, due, _) in invoices.items() if n in last_stage), reverse=True)
        stage = last_stage[reminded[0][1]] if reminded else None
        out.append({
            "client": client, "name": state.index.client_names.get(client, client), "overdue": overdue,
            "oldest_number": oldest[1] if oldest else "",
            "oldest_due": date.fromordinal(oldest[0]).isoformat() if oldest else "",
            "days_late": day - oldest[0] if oldest else 0,
            "last_stage": stage[0] if stage else "", "last_stage_date": stage[1] if stage else "",
        })
    return out


def batch_figures(state: LedgerState, year: int, sellers: set[str]) -> dict[str, list[int]]:
    """Live invoices issued in each batch seller's name, per month of the year."""
    direct = set(state.index.client_names) | {c for c, _ in state.accounts.accounts} | {"issuer"}
    owners = sellers | {o for o, y in state.index.by_owner_year if y == year and o not in direct}
    out: dict[str, list[int]] = {}
    for seller in sorted(owners):
        months = [0] * 12
        for d in state.documents_of(seller, year):
            if d.seller == seller and not d.is_credit_note and d.mode == "live":
                months[d.date.month - 1] += 1
        if any(months):
            out[seller] = months
    return out
