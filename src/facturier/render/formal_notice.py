"""The formal notice to pay ("mise en demeure") PDF of the last reminder stage, with Typst.

`formal_notice_pdf(notice)` lays out a `FormalNotice`: the creditor and the debtor, every
invoice of the draft with what remains due, the late-payment penalties accrued to the day
(simple interest at `[collections] penalty_rate`, core.dunning.accrued_penalty, rounded once
per invoice to the currency's minor unit) and, for a French seller and a business client,
the 40 € fixed recovery indemnity per invoice (C. com. L441-10, D441-5). French or English,
the client's language; amounts and dates formatted with Babel like the reminders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typst

from facturier.core.dunning import ClientReminder, accrued_penalty
from facturier.core.errors import FacturierError
from facturier.core.money import ZERO, quantize
from facturier.fonts import bundled_fonts
from facturier.render.reminders import RECOVERY_INDEMNITY, decimal_text, long_date, money_text

TEMPLATE = Path(__file__).parent / "templates" / "formal_notice.typ"

TEXTS: dict[str, dict[str, Any]] = {
    "fr": {
        "title": "Mise en demeure de payer",
        "subject": "Objet : factures impayées, lettre de mise en demeure",
        "opening": "Madame, Monsieur,",
        "intro": "Malgré nos relances, les factures suivantes restent impayées à ce jour :",
        "first_intro": "Les factures suivantes restent impayées à ce jour :",
        "headers": ["Facture", "Date", "Échéance", "Restant dû", "Retard (jours)", "Pénalités", "Indemnité"],
        "remaining": "Total restant dû", "penalties": "Pénalités de retard au {date}",
        "indemnities": "Indemnités forfaitaires de recouvrement", "total": "Total exigible",
        "body": [("Par la présente, nous vous mettons en demeure de régler la somme de {total} sous huit jours "
                  "à compter de la réception de cette lettre."),
                 ("Les pénalités de retard courent au taux annuel de {rate} % ({late_penalty}) depuis l'échéance de "
                  "chaque facture{law}{indemnity}."),
                 ("À défaut de règlement dans ce délai, nous engagerons sans autre avis une procédure de "
                  "recouvrement judiciaire, dont les frais resteront à votre charge.")],
        "indemnity": ", ainsi qu'une indemnité forfaitaire pour frais de recouvrement de {amount} par facture "
                     "(article D441-5)",
        "law": " (article L441-10 du Code de commerce)",
        "closing": "Veuillez agréer, Madame, Monsieur, nos salutations distinguées.",
        "place_date": "Le {date}", "ids": "SIREN {siren}",
    },
    "en": {
        "title": "Formal notice to pay",
        "subject": "Re: unpaid invoices, formal notice",
        "opening": "Dear Sir or Madam,",
        "intro": "Despite our reminders, the following invoices remain unpaid to date:",
        "first_intro": "The following invoices remain unpaid to date:",
        "headers": ["Invoice", "Date", "Due", "Outstanding", "Days late", "Penalties", "Indemnity"],
        "remaining": "Total outstanding", "penalties": "Late-payment penalties at {date}",
        "indemnities": "Fixed recovery indemnities", "total": "Total now payable",
        "body": [("We hereby give you formal notice to pay the sum of {total} within eight days of receiving "
                  "this letter."),
                 ("Late-payment penalties accrue at the yearly rate of {rate} % ({late_penalty}) from each "
                  "invoice's due date{law}{indemnity}."),
                 ("Failing payment within that time, we will start court recovery proceedings without further "
                  "notice, at your expense.")],
        "indemnity": ", together with a fixed recovery indemnity of {amount} per invoice (art. D441-5)",
        "law": " (French Commercial Code, art. L441-10)",
        "closing": "Yours faithfully,",
        "place_date": "{date}", "ids": "SIREN {siren}",
    },
}


@dataclass(frozen=True, slots=True)
class Party:
    """A name, its postal address lines, and (for the creditor) its SIREN."""

    name: str
    address: tuple[str, ...]
    siren: str | None = None


@dataclass(frozen=True, slots=True)
class FormalNotice:
    """One notice: who, to whom, on which day, for which invoices, at which penalty rate."""

    creditor: Party
    debtor: Party
    day: date
    group: ClientReminder
    penalty_rate: Decimal
    late_penalty: str
    indemnity: bool  # French B2B (render.reminders.french_b2b): 40 EUR per invoice, L441-10 cited


def notice_amounts(notice: FormalNotice) -> list[tuple[Decimal, Decimal]]:
    """(penalties accrued, indemnity) per invoice of the notice, each rounded once."""
    currency = notice.group.currency
    out = []
    for due in notice.group.dues:
        penalty = quantize(accrued_penalty(due.remaining, notice.penalty_rate, due.days_overdue), currency)
        out.append((penalty, RECOVERY_INDEMNITY if notice.indemnity else ZERO))
    return out


def notice_view(notice: FormalNotice) -> dict[str, Any]:
    """The texts and formatted amounts the template lays out."""
    lang = notice.group.dues[0].receivable.language
    t = TEXTS.get(lang, TEXTS["en"])
    currency = notice.group.currency
    amounts = notice_amounts(notice)

    def money(value: Decimal, cur: str = currency) -> str:
        return f"{money_text(value, cur, lang)} {cur}"

    # The indemnity column only when some row has one (French B2B): a column of "-" says nothing.
    with_indemnity = any(indemnity for _, indemnity in amounts)
    rows = [[due.number, long_date(due.receivable.issued_on, lang), long_date(due.receivable.due_on, lang),
             money(due.remaining), str(due.days_overdue), money(penalty),
             *([money(indemnity, "EUR") if indemnity else "-"] if with_indemnity else [])]
            for due, (penalty, indemnity) in zip(notice.group.dues, amounts)]
    headers = t["headers"] if with_indemnity else t["headers"][:-1]
    remaining = sum((d.remaining for d in notice.group.dues), ZERO)
    penalties = sum((p for p, _ in amounts), ZERO)
    indemnities = sum((i for _, i in amounts), ZERO)
    totals = [f"{t['remaining']} : {money(remaining)}" if lang == "fr" else f"{t['remaining']}: {money(remaining)}",
              _total_line(t["penalties"].format(date=long_date(notice.day, lang)), money(penalties), lang)]
    if notice.indemnity:
        totals.append(_total_line(t["indemnities"], money(indemnities, "EUR"), lang))
    # Indemnities are in euros: they join the total only for an invoice in euros.
    grand = remaining + penalties + (indemnities if currency == "EUR" else ZERO)
    total_text = money(grand) + ("" if currency == "EUR" or not notice.indemnity
                                 else f" + {money(indemnities, 'EUR')}")
    totals.append(_total_line(t["total"], total_text, lang))
    indemnity = t["indemnity"].format(amount=money(RECOVERY_INDEMNITY, "EUR")) if notice.indemnity else ""
    law = t["law"] if notice.indemnity else ""  # French B2B only: the article is the same rule's
    body = [p.format(total=total_text, rate=decimal_text(notice.penalty_rate, lang),
                     late_penalty=notice.late_penalty, indemnity=indemnity, law=law) for p in t["body"]]
    creditor = notice.creditor
    return {
        "lang": lang, "title": t["title"], "subject_line": t["subject"], "opening": t["opening"],
        # "Despite our reminders" only when a reminder was drafted before this one.
        "intro": t["intro"] if any(d.receivable.last_stage for d in notice.group.dues) else t["first_intro"],
        "headers": headers, "rows": rows, "totals": totals, "body": body,
        "closing": t["closing"], "place_date": t["place_date"].format(date=long_date(notice.day, lang)),
        "creditor": {"name": creditor.name, "address": list(creditor.address),
                     "ids": t["ids"].format(siren=creditor.siren) if creditor.siren else ""},
        "debtor": {"name": notice.debtor.name, "address": list(notice.debtor.address)},
    }


def _total_line(label: str, amount: str, lang: str) -> str:
    return f"{label} : {amount}" if lang == "fr" else f"{label}: {amount}"


_compiler: typst.Compiler | None = None


def formal_notice_pdf(notice: FormalNotice) -> bytes:
    """The notice as a PDF (one compiler per process; fixed timestamp: same notice, same bytes)."""
    global _compiler
    if _compiler is None:
        _compiler = typst.Compiler(TEMPLATE, root=TEMPLATE.parent, font_paths=bundled_fonts(),
                                   ignore_system_fonts=True)
    payload = json.dumps(notice_view(notice), ensure_ascii=False)
    when = datetime(notice.day.year, notice.day.month, notice.day.day, tzinfo=UTC)
    try:
        pdf = _compiler.compile(format="pdf", sys_inputs={"notice": payload}, timestamp=when)
    except typst.TypstError as exc:
        raise FacturierError(f"cannot render the formal notice: {exc.message or exc}") from exc
    if not isinstance(pdf, bytes):
        raise FacturierError("the formal notice template produced no PDF")
    return pdf
