"""The figures of `facturier report`, each the same as the `balances` or `export` figure it shows.

Sums come from the state's `reports` tables (daily sums per currency and client, kept fact
by fact), balances from the client accounts as they stood at the report date
(`state.accounts.at`: the later facts taken back when there are any); only the
reminders are read back from the journal.


- invoiced per month: the `export revenues` rows of the month, incl. VAT (credit notes
  negative); received per month: the `export receipts` amounts of the month. Both for the
  whole year and the year before, whatever the report date;
- aging, outstanding and overdue at the report date: the sums over clients of `balances`
  at that date (`client_balances`, the very function `balances` prints);
- DSO per month, per currency: at each month end of the year up to the report date (and at
  the report date itself), by the countback method of `core.aging` (the days of most recent
  net sales that make up the outstanding amount) over every client of the currency; the net
  invoiced over the 90 days ending there is shown beside it. A client's outstanding at a date is
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
from decimal import Decimal
from itertools import accumulate
from typing import Any

from facturier.core.aging import BUCKETS, DSO_WINDOW_DAYS, ClientBalance, countback_dso
from facturier.core.money import from_minor
from facturier.ops.balance_views import balance_clients
from facturier.ops.reports.balances import Balancer
from facturier.store.state import LedgerState, Reports

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


def report_figures(state: LedgerState, year: int, as_of: date) -> ReportFigures:
    """Every figure of the report of `year` at `as_of`."""
    sums = state.reports
    figures: dict[str, CurrencyFigures] = {}
    for currency in sorted(set(sums.sales) | set(sums.received)):
        f = CurrencyFigures(currency)
        for y in (year - 1, year):
            f.invoiced[y] = per_month(sums.sales.get(currency, {}), y, currency)
            f.received[y] = per_month(sums.received.get(currency, {}), y, currency)
        f.excl_vat = from_minor(sums.sales_excl.get((currency, year), 0), currency)
        f.vat = from_minor(sums.sales_vat.get((currency, year), 0), currency)
        f.dso = dso_points(sums, currency, year, as_of)
        if any(f.invoiced[year]) or any(f.received[year]) or any(p[1] for p in f.dso):
            figures[currency] = f
    balancer = Balancer(state, as_of)
    balances = {c: balancer.balances(c) for c in balance_clients(state)}
    for client_rows in balances.values():
        for b in client_rows:
            f = figures.setdefault(b.currency, CurrencyFigures(b.currency))
            for k, v in b.aging.items():
                f.aging[k] += v
            f.unapplied_credit += b.unapplied_credit
    stages = reminder_figures(state, year, as_of, balancer)
    for f in figures.values():
        for y in (year - 1, year):
            f.invoiced.setdefault(y, [ZERO] * 12)
            f.received.setdefault(y, [ZERO] * 12)
        f.top = top_overdue(state, balances, f.currency, balancer, as_of, stages[2])
    batch = {seller: [sums.batch.get((seller, year, m), 0) for m in range(1, 13)]
             for seller in sorted({s for s, y, _ in sums.batch if y == year})}
    return ReportFigures(year, as_of, state.position.seq, state.position.hash, dict(sorted(figures.items())),
                         stages[0], stages[1], bool(state.collections.history), batch)


def per_month(days: dict[int, int], year: int, currency: str) -> list[Decimal]:
    """Daily sums (date ordinal -> minor units) added up per month of a year."""
    months = [0] * 12
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    for day, amount in days.items():
        if first <= day <= last:
            months[date.fromordinal(day).month - 1] += amount
    return [from_minor(v, currency) for v in months]


def month_ends(year: int, as_of: date) -> list[date]:
    """The last day of each month of the year up to `as_of`, then `as_of` itself if in the year."""
    days = [date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1) for m in range(1, 13)]
    out = [d for d in days if d <= as_of]
    if as_of.year == year and as_of not in out:
        out.append(as_of)
    return out


def running_totals(days: dict[int, int]) -> tuple[list[int], list[int]]:
    """(sorted days, running sums with a leading 0): the sum up to day D is sums[bisect_right(days, D)]."""
    ordered = sorted(days)
    return ordered, list(accumulate((days[day] for day in ordered), initial=0))


def dso_points(sums: Reports, currency: str, year: int, as_of: date
               ) -> list[tuple[date, Decimal, Decimal, Decimal | None]]:
    """(date, outstanding, net invoiced over 90 days, DSO) at each month end, over the currency's clients."""
    clients = [running_totals(flows) for (_, cur), flows in sums.flows.items() if cur == currency]
    sales = sums.sales.get(currency, {})
    sale_days, sale_sums = running_totals(sales)
    points = []
    for day in month_ends(year, as_of):
        end, start = day.toordinal(), (day - timedelta(days=DSO_WINDOW_DAYS)).toordinal()
        owed = sum(max(totals[bisect_right(days, end)], 0) for days, totals in clients)
        net = from_minor(sale_sums[bisect_right(sale_days, end)] - sale_sums[bisect_right(sale_days, start)], currency)
        points.append((day, from_minor(owed, currency), net, countback_dso(end, owed, sales)))
    return points


def reminder_figures(state: LedgerState, year: int, as_of: date, balancer: Balancer
                     ) -> tuple[dict[str, list[int]], dict[str, int], dict[str, tuple[str, str]]]:
    """(stage -> drafted per month of the year, stage -> invoices paid after it, number -> last (stage, date))."""
    per_month: dict[str, list[int]] = {}
    last: dict[str, tuple[str, str, str]] = {}  # number -> (date, stage, client)
    for offset in state.collections.history:
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
            left = balancer.settled(client, acc.currency)[1].get(number)
            if left is not None and left[2] == 0:  # nothing left open: paid or credited
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
    day = as_of.toordinal()
    out = []
    for overdue, client in [t for t in ranked if t[0] > ZERO][:TOP]:
        acc, amounts = balancer.settled(client, currency)
        assert acc is not None
        rows = acc.invoices
        oldest = min(((rows[n][1], n) for n, (_, _, left) in amounts.items() if left > 0 and day > rows[n][1]),
                     default=None)
        reminded = max(((rows[n][1], n) for n in last_stage if n in rows), default=None)
        stage = last_stage[reminded[1]] if reminded else None
        out.append({
            "client": client, "name": state.index.client_names.get(client, client), "overdue": overdue,
            "oldest_number": oldest[1] if oldest else "",
            "oldest_due": date.fromordinal(oldest[0]).isoformat() if oldest else "",
            "days_late": day - oldest[0] if oldest else 0,
            "last_stage": stage[0] if stage else "", "last_stage_date": stage[1] if stage else "",
        })
        balancer.release(client)
    return out
