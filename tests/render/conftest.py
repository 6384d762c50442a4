"""Fixtures for render tests: records derived from the sample, text read back from PDFs."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader

from facturier.render.pdf import BUNDLED_SAMPLE, PdfRenderer

SAMPLE = BUNDLED_SAMPLE
Record = dict[str, Any]


def plain(text: str) -> str:
    """Narrow and ordinary no-break spaces as plain spaces, so assertions read naturally."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def pdf_text(pdf: bytes) -> str:
    """All pages' text, spaces normalised."""
    reader = PdfReader(io.BytesIO(pdf))
    return plain("\n".join(page.extract_text() for page in reader.pages))


def _retotal(record: Record) -> Record:
    """The record with its VAT breakdown and totals recomputed from its lines, as the core does.

    Rendering builds the Factur-X XML, which refuses a record whose figures do not add up.
    """
    from decimal import Decimal

    from facturier.core.invoice import Line, compute_totals
    from facturier.core.money import fmt_amount

    cur = record["currency"]
    lines = tuple(Line(l["description"], Decimal(l["quantity"]), Decimal(l["unit_price"]), Decimal(l["vat_rate"]))
                  for l in record["lines"])
    totals = compute_totals(lines, cur, record["vat_regime"] == "standard")
    record["lines"] = [{**l, "amount_excl_vat": fmt_amount(c.amount_excl_vat, cur)}
                       for l, c in zip(record["lines"], totals.lines, strict=True)]
    record["vat_breakdown"] = [{"rate": str(r.rate), "base": fmt_amount(r.base, cur),
                                "amount": fmt_amount(r.amount, cur)} for r in totals.vat]
    record.update(total_excl_vat=fmt_amount(totals.excl_vat, cur), total_vat=fmt_amount(totals.vat_amount, cur),
                  total_incl_vat=fmt_amount(totals.incl_vat, cur))
    return record


@pytest.fixture
def retotal() -> Callable[[Record], Record]:
    """Recompute a hand-edited record's breakdown and totals (see `_retotal`)."""
    return _retotal


@pytest.fixture
def record() -> Record:
    """A fresh, mutable copy of the French sample invoice record."""
    return copy.deepcopy(json.loads(SAMPLE.read_text(encoding="utf-8")))


@pytest.fixture
def english_usd(record: Record) -> Record:
    """The sample as an English invoice in US dollars to a foreign business."""
    record.update(language="en", currency="USD", late_penalty="three times the legal rate")
    record["lines"][0].update(unit_price="1234.56", amount_excl_vat="1234.56")
    record["buyer"].update(name="Globex Inc.", address=["1 Main St", "Springfield"], country="US")
    record["buyer"].update(siren=None, vat_id=None)
    record["vat_breakdown"][1].update(base="1272.06", amount="254.41")
    record.update(total_excl_vat="1872.06", total_vat="254.41", total_incl_vat="2126.47")
    return record


@pytest.fixture(scope="session")
def renderer() -> PdfRenderer:
    """One renderer for the whole session, as a batch would use it."""
    return PdfRenderer()


@pytest.fixture
def render_text(renderer: PdfRenderer) -> Callable[[Record], str]:
    """Render a record and return its text."""
    return lambda rec: pdf_text(renderer.render(rec))
