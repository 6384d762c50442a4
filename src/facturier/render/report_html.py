"""The HTML report: figures (plain data) to one self-contained page, worded and formatted.

The page has no script, no stylesheet, font or image to fetch: its CSS is inline, its
charts inline SVG (`charts.py`), and a Content-Security-Policy forbids any request, so it
reads the same offline years later. The figures it shows are also embedded as JSON
(`<script type="application/json">`, data that never runs). Every text goes through
Jinja2's autoescaping: client names are hostile input.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import get_month_names
from babel.numbers import format_decimal

from facturier.core.aging import BUCKETS
from facturier.render.charts import Series, bar_chart, line_chart
from facturier.render.report_labels import REPORT_LABELS
from facturier.render.view import _locale, format_date, format_money

TEMPLATES = Path(__file__).parent / "templates"
COLORS = {"invoiced": "#2f5d8a", "received": "#6aa84f", "previous_invoiced": "#a9c0d6",
          "previous_received": "#c5e0b4", "dso": "#b45f06", "aging": "#cc4125", "batch": "#674ea7"}
STAGE_COLORS = ("#f1c232", "#e69138", "#cc4125", "#990000", "#5b0f00")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's Jinja2 environment: autoescaping on, undefined names an error."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class Words:
    """Labels and Babel formatting in one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.labels = REPORT_LABELS[language]
        self.months = [get_month_names("abbreviated", locale=_locale(language))[m] for m in range(1, 13)]

    def __call__(self, key: str, **values: Any) -> str:
        return self.labels[key].format(**values)

    def money(self, amount: str | Decimal, currency: str) -> str:
        return format_money(Decimal(amount), currency, self.language)

    def date(self, day: str) -> str:
        return format_date(day, self.language)

    def number(self, value: str | Decimal | None) -> str:
        return "" if value is None else format_decimal(Decimal(value), locale=_locale(self.language))

    def tick(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.##", locale=_locale(self.language))


def render_report(figures: dict[str, Any], issuer: str, language: str) -> str:
    """The page of a report from its figures (`ReportFigures.as_json()`)."""
    w = Words(language)
    year = figures["year"]
    as_of = w.date(figures["as_of"])
    currencies = [currency_view(w, year, as_of, code, f) for code, f in figures["currencies"].items()]
    return environment().get_template("report.html.j2").render(
        w=w, lang=language, issuer=issuer, year=year, as_of=as_of,
        journal=figures["journal"], currencies=currencies, reminders=reminders_view(w, figures),
        batch=batch_view(w, figures["batch"]), figures=figures, months=w.months, buckets=BUCKETS,
    )


def currency_view(w: Words, year: int, as_of: str, code: str, f: dict[str, Any]) -> dict[str, Any]:
    """Everything shown for one currency, formatted, with its charts."""
    def money(v: str | Decimal) -> str:
        return w.money(v, code)

    def series(y: int, what: str) -> Series:
        color = COLORS[what if y == year else f"previous_{what}"]
        return Series(f"{w(what)} {y}", color, [Decimal(v) for v in f[what][str(y)]])

    chart = bar_chart(f"{w('monthly')} ({code})", w.months,
                      [series(year, "invoiced"), series(year, "received"),
                       series(year - 1, "invoiced"), series(year - 1, "received")], w.tick, money)

    monthly = {y: [{"month": w.months[m], "invoiced": money(f["invoiced"][str(y)][m]),
                    "received": money(f["received"][str(y)][m])} for m in range(12)]
               for y in (year, year - 1)}
    sums = {y: (money(sum((Decimal(v) for v in f["invoiced"][str(y)]), Decimal(0))),
                money(sum((Decimal(v) for v in f["received"][str(y)]), Decimal(0)))) for y in (year, year - 1)}
    aging_chart = bar_chart(f"{code}", [w(b) for b in BUCKETS],
                            [Series(w("outstanding", date=as_of), COLORS["aging"],
                                    [Decimal(f["aging"][b]) for b in BUCKETS])],
                            w.tick, money)
    dso = f["dso"]
    dso_chart = line_chart(f"DSO {code}", [w.date(p["date"]) if p["date"][5:] not in MONTH_ENDS
                                           else w.months[int(p["date"][5:7]) - 1] for p in dso],
                           [Series("DSO", COLORS["dso"],
                                   [None if p["dso"] is None else Decimal(p["dso"]) for p in dso])],
                           w.tick, lambda v: w.number(v)) if any(p["dso"] is not None for p in dso) else None
    return {
        "code": code, "excl": money(f["invoiced_excl_vat"]), "vat": money(f["vat"]),
        "incl": money(f["invoiced_incl_vat"]), "received": money(f["received_total"]),
        "outstanding": money(f["outstanding"]), "overdue": money(f["overdue"]), "credit": money(f["credit"]),
        "chart": chart, "monthly": monthly, "sums": sums,
        "aging": [(w(b), money(f["aging"][b])) for b in BUCKETS], "aging_chart": aging_chart,
        "dso": [{"date": w.date(p["date"]), "outstanding": money(p["outstanding"]),
                 "invoiced": money(p["invoiced_90_days"]), "dso": w.number(p["dso"]) if p["dso"] else "—"}
                for p in dso], "dso_chart": dso_chart,
        "top": [{**row, "overdue": money(row["overdue"]),
                 "oldest_due": w.date(row["oldest_due"]) if row["oldest_due"] else "",
                 "days_late": w("days_late", days=row["days_late"]) if row["oldest_number"] else "",
                 "stage": (w("stage", stage=row["last_stage"]) + " · " + w.date(row["last_stage_date"]))
                 if row["last_stage"] else w("no_reminder")} for row in f["top_overdue"]],
    }


MONTH_ENDS = {"01-31", "02-28", "02-29", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30",
              "10-31", "11-30", "12-31"}


def reminders_view(w: Words, figures: dict[str, Any]) -> dict[str, Any]:
    """The reminders table (stage x month), its chart, and the invoices paid after each stage."""
    per_stage: dict[str, list[int]] = figures["reminders"]
    if not per_stage:
        return {"seen": figures.get("reminders_seen", False), "rows": [], "chart": None, "paid_after": []}
    series = [Series(w("stage", stage=s), STAGE_COLORS[i % len(STAGE_COLORS)], [Decimal(n) for n in counts])
              for i, (s, counts) in enumerate(per_stage.items())]
    chart = bar_chart(w("reminders"), w.months, series, w.tick, lambda v: w.number(v))
    rows = [{"stage": w("stage", stage=s), "months": counts, "total": sum(counts)} for s, counts in per_stage.items()]
    paid = [(w("stage", stage=s), n) for s, n in figures["paid_after_stage"].items()]
    return {"seen": True, "rows": rows, "chart": chart, "paid_after": paid}


def batch_view(w: Words, batch: dict[str, list[int]]) -> dict[str, Any]:
    """Invoices per batch seller and month, and a chart of them."""
    if not batch:
        return {"rows": [], "chart": None}
    series = [Series(seller, STAGE_COLORS[i % len(STAGE_COLORS)] if i else COLORS["batch"],
                     [Decimal(n) for n in months]) for i, (seller, months) in enumerate(batch.items())]
    chart = bar_chart(w("batch"), w.months, series, w.tick, lambda v: w.number(v))
    return {"rows": [{"seller": s, "months": m, "total": sum(m)} for s, m in batch.items()], "chart": chart}


def default_date(year: int, today: date) -> date:
    """The report date when none is given: today, or the year's last day for a past year."""
    return today if today.year <= year else date(year, 12, 31)
