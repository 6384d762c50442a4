"""The formal notice PDF: "despite our reminders" only when reminders were drafted before it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.render.formal_notice import FormalNotice, Party, formal_notice_pdf
from facturier.render.reminders import sample_group
from tests.conftest import pdf_text


@pytest.mark.parametrize(("language", "last_stage", "expected", "absent"), [
    ("en", None, "The following invoices remain unpaid to date", "Despite our reminders"),
    ("en", 21, "Despite our reminders, the following invoices remain unpaid", None),
    ("fr", None, "Les factures suivantes restent impayées", "Malgré nos relances"),
    ("fr", 21, "Malgré nos relances, les factures suivantes", None),
])
def test_the_notice_mentions_earlier_reminders_only_when_there_were_some(
        tmp_path: Path, language: str, last_stage: int | None, expected: str, absent: str | None) -> None:
    group = sample_group(language, 42)
    dues = tuple(replace(d, receivable=replace(d.receivable, last_stage=last_stage)) for d in group.dues)
    notice = FormalNotice(creditor=Party("Palks Studio", ("1 rue A", "75001 Paris"), "732829320"),
                          debtor=Party("ACME SARL", ("2 rue B",)), day=date(2026, 12, 1),
                          group=replace(group, dues=dues), penalty_rate=Decimal("12.15"),
                          late_penalty="three times the legal rate", indemnity=True)
    path = tmp_path / "notice.pdf"
    path.write_bytes(formal_notice_pdf(notice))
    text = " ".join(pdf_text(path).split())
    assert expected in text
    if absent:
        assert absent not in text


@pytest.mark.parametrize(("language", "header"), [("en", "Days late Penalties Indemnity"),
                                                  ("fr", "Retard (jours) Pénalités Indemnité")])
@pytest.mark.parametrize("indemnity", [True, False])
def test_the_indemnity_column_is_there_only_when_an_invoice_has_one(
        tmp_path: Path, language: str, header: str, indemnity: bool) -> None:
    # Only French B2B invoices carry the 40 EUR indemnity; without one, no column of "-".
    notice = FormalNotice(creditor=Party("Palks Studio", ("1 rue A", "75001 Paris"), "732829320"),
                          debtor=Party("ACME Ltd", ("2 High St",)), day=date(2026, 12, 1),
                          group=sample_group(language, 42), penalty_rate=Decimal("12.15"),
                          late_penalty="three times the legal rate", indemnity=indemnity)
    path = tmp_path / "notice.pdf"
    path.write_bytes(formal_notice_pdf(notice))
    text = " ".join(pdf_text(path).split())
    base = header.rsplit(" ", 1)[0]
    assert base in text
    if indemnity:
        assert header in text and ("40,00 EUR" if language == "fr" else "40.00 EUR") in text
    else:
        assert header not in text and "Indemnit" not in text and "indemnit" not in text
        assert " - " not in text, text
