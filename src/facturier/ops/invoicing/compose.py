"""What goes on a direct client's monthly invoice: the composition of its lines.

An invoice issued in month P (its period) bills, in this order:

1. the recurring lines in force in P (`from`/`until`), prorated by days in the months of
   `start_date` and `end_date` (and of a line's own dates) when the client has `prorate = true`;
2. the metered lines for the month before P, priced by `core.pricing` from the usage the
   ledger state aggregated (a line in force on that month's first day);
3. a correction line per earlier month already invoiced whose usage grew since (late usage);
4. the one-off charges journalled since the client's last monthly invoice;
5. the discounts in force in P, on the lines of 1 and 2 (all, or those of one line).

A line that bills nothing is left out; an invoice left with no line is not issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from facturier.config.pricing import pricing_of
from facturier.core.invoice import Line
from facturier.core.pricing import (
    correction_lines,
    discount_lines,
    metered_lines,
    prorated_line,
    words,
)
from facturier.core.schedule import add_months, month_bounds, month_end, month_key
from facturier.core.usage import EMPTY, Aggregate
from facturier.store.state import Usage, figures

if TYPE_CHECKING:
    from facturier.config import ClientConfig, LineConfig, Workspace


@dataclass(frozen=True, slots=True)
class Composition:
    """The lines of one monthly invoice, and why there are none when there are none."""

    lines: tuple[Line, ...]
    empty_reason: str = ""


def in_force(line: LineConfig, day: date) -> bool:
    """Whether a line's from/until dates include `day`."""
    return (line.from_ is None or line.from_ <= day) and (line.until is None or day <= line.until)


def compose_lines(ws: Workspace, client_id: str, run_date: date, usage: Usage, *, settle: bool = True) -> Composition:
    """Every line of the client's invoice for the month of `run_date` (see the module docstring).

    Without `settle` (a later invoice of a catch-up run, whose earlier invoices carry them),
    no late-usage correction and no pending charge: they are billed once.
    """
    client = ws.clients[client_id]
    rate = ws.config.issuer.default_vat_rate
    own: list[tuple[LineConfig, Line]] = []
    own += _recurring(client, run_date, rate)
    usage_start, usage_end = month_bounds(add_months(run_date, -1))
    own += _metered(client, client_id, usage, usage_start, usage_end, rate)
    extra = _corrections(client, client_id, usage, usage_start, rate) if settle else []
    extra += _charges(client, client_id, usage, rate) if settle else []
    lines = [line for _, line in own] + extra
    lines += _discounts(client, run_date, own)
    if not lines:
        return Composition((), f"no recurring line in force in {month_key(run_date)}, no usage to bill for "
                               f"{month_key(usage_start)}, no late usage and no charge")
    return Composition(tuple(lines))


def _vat(line: LineConfig, rate: Decimal) -> Decimal:
    return line.vat_rate if line.vat_rate is not None else rate


def _recurring(client: ClientConfig, run_date: date, rate: Decimal) -> list[tuple[LineConfig, Line]]:
    start, end = month_bounds(run_date)
    out = []
    for cfg in client.lines:
        if cfg.metric is not None or cfg.unit_price is None:
            continue
        line = Line(cfg.description, cfg.quantity, cfg.unit_price, _vat(cfg, rate))
        if not client.prorate:
            if in_force(cfg, start):
                out.append((cfg, line))
            continue
        first = max(d for d in (start, client.start_date, cfg.from_) if d is not None)
        last = min(d for d in (end, client.end_date, cfg.until) if d is not None)
        if first > last:
            continue
        if (first, last) != (start, end):
            line = prorated_line(line, first, last, end.day, client.language, client.currency)
        out.append((cfg, line))
    return out


def aggregate_of(usage: Usage, client_id: str, metric: str, month: str) -> Aggregate:
    """The usage figures of one client, metric and month."""
    agg = usage.aggregates.get(client_id, {}).get((metric, month))
    if agg is None:
        return EMPTY
    return Aggregate(*figures(agg))


def _metered(client: ClientConfig, client_id: str, usage: Usage, start: date, end: date,
             rate: Decimal) -> list[tuple[LineConfig, Line]]:
    if client.start_date is not None and end < client.start_date:
        return []  # the month billed is before the client started
    out = []
    for cfg in client.lines:
        if cfg.metric is None or not in_force(cfg, start):
            continue
        quantity = aggregate_of(usage, client_id, cfg.metric, month_key(start)).value(cfg.aggregation)
        for line in metered_lines(cfg.description, pricing_of(cfg), quantity, (start, end), client.language,
                                  _vat(cfg, rate), client.currency):
            out.append((cfg, line))
    return out


def _corrections(client: ClientConfig, client_id: str, usage: Usage, usage_start: date,
                 rate: Decimal) -> list[Line]:
    """Late usage: months before the one billed now whose figures changed since they were billed."""
    billed = usage.billed.get(client_id, {})
    current = month_key(usage_start)
    first = month_key(client.start_date) if client.start_date else ""
    out: list[Line] = []
    for (metric, month), agg in sorted(usage.aggregates.get(client_id, {}).items(),
                                       key=lambda kv: (kv[0][1], kv[0][0])):
        if month >= current or month < first:
            continue
        now = figures(agg)
        before = billed.get((metric, month))
        if before == now:
            continue
        day = date(int(month[:4]), int(month[5:7]), 1)
        cfg = next((c for c in client.lines if c.metric == metric and in_force(c, day)), None)
        if cfg is None:
            continue
        was = Aggregate(*before) if before is not None else EMPTY
        out += correction_lines(cfg.description, pricing_of(cfg), was.value(cfg.aggregation),
                                Aggregate(*now).value(cfg.aggregation), month, (day, month_end(day)),
                                client.language, _vat(cfg, rate), client.currency)
    return out


def _charges(client: ClientConfig, client_id: str, usage: Usage, rate: Decimal) -> list[Line]:
    return [Line(description, Decimal(1), Decimal(amount), Decimal(vat) if vat is not None else rate)
            for _, amount, currency, description, _, vat in usage.charges.get(client_id, ())
            if currency == client.currency]


def _discounts(client: ClientConfig, run_date: date, own: list[tuple[LineConfig, Line]]) -> list[Line]:
    out: list[Line] = []
    start = month_bounds(run_date)[0]
    for discount in client.discounts:
        begin = discount.from_ or client.start_date
        if begin is not None and month_key(run_date) < month_key(begin):
            continue
        if discount.until is not None and start > discount.until:
            continue
        if discount.months is not None and begin is not None and start >= add_months(begin, discount.months):
            continue
        targets = tuple(line for cfg, line in own
                        if discount.line is None or discount.line in (cfg.metric, cfg.description))
        out += discount_lines(discount.to_core(), targets, client.currency, client.language)
    return out


def sample_lines(ws: Workspace, client_id: str, run_date: date) -> tuple[Line, ...]:
    """One line per configured line, in file order, each as it could print (for `check`)."""
    client = ws.clients[client_id]
    rate = ws.config.issuer.default_vat_rate
    start, end = month_bounds(add_months(run_date, -1))
    period = words(client.language)["period"].format(start=start.isoformat(), end=end.isoformat())
    out = []
    for cfg in client.lines:
        if cfg.metric is None:
            out.append(Line(cfg.description, cfg.quantity, cfg.unit_price or Decimal(0), _vat(cfg, rate)))
            continue
        price = cfg.unit_price if cfg.unit_price is not None else (cfg.tiers[0].unit_price if cfg.tiers else Decimal(0))
        out.append(Line(f"{cfg.description} ({period})", Decimal(1), price, _vat(cfg, rate)))
    return tuple(out)
