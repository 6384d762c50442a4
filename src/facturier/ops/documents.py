"""Turning configuration into documents, and committing a rendered document to the ledger."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from facturier.core.invoice import Document, Party
from facturier.store.events import ISSUED_TYPE_OF_KIND, DocumentIssued
from facturier.store.ledger import document_json

FOLDERS = {"invoice": "invoices", "credit_note": "credit_notes"}
# Documents committed together by `run` and `batch`: one sync of the staged files and one
# journal fsync per group instead of ~5 fsyncs per document. A kill mid-group loses only the
# uncommitted tail, which the next run re-issues under the same numbers.
COMMIT_GROUP = 100


def commit_group_size() -> int:
    """COMMIT_GROUP, or FACTURIER_COMMIT_GROUP (fault tests use small groups to be killed mid-file)."""
    return max(1, int(os.environ.get("FACTURIER_COMMIT_GROUP", COMMIT_GROUP)))


class SellerLike(Protocol):
    name: str
    address: list[str]
    country: str
    email: str
    legal_form: str | None
    share_capital: str | None
    rcs: str | None
    siren: str | None
    siret: str | None
    vat_id: str | None
    iban: str | None
    bic: str | None


def seller_party(seller: SellerLike) -> Party:
    """The seller block of a document, from the issuer or a batch client."""
    return Party(
        name=seller.name,
        address=tuple(seller.address),
        country=seller.country,
        email=seller.email,
        legal_form=seller.legal_form,
        share_capital=seller.share_capital,
        rcs=seller.rcs,
        siren=seller.siren,
        siret=seller.siret,
        vat_id=seller.vat_id,
        iban=seller.iban,
        bic=seller.bic,
    )


def document_folder(doc: Document) -> str:
    """Where a document's files live, relative to the workspace."""
    base = FOLDERS[doc.kind]
    if doc.kind == "invoice" and doc.seller_id != "issuer":
        return f"data/invoices_batch/{doc.seller_id}/{doc.issue_date.year}"
    owner = doc.client_id if doc.seller_id == "issuer" else doc.seller_id
    return f"data/{base}/{owner}/{doc.issue_date.year}"


def issued_event(doc: Document, record: dict[str, Any],
                 extra: dict[str, Any] | None = None) -> DocumentIssued:
    """The journal record of an issued document: identity, dates and totals as its record has
    them, and `extra`, the optional fields its draft adds (see `ops.issuing.Draft`)."""
    return DocumentIssued(
        type=ISSUED_TYPE_OF_KIND[doc.kind], kind=doc.kind, number=doc.number, series=doc.series,
        series_seq=doc.seq, seller=doc.seller_id, client=doc.client_id,
        client_name=doc.buyer.name, mode=doc.mode, date=date.fromisoformat(record["issue_date"]),
        due_date=date.fromisoformat(record["due_date"]), currency=doc.currency,
        total_excl_vat=Decimal(record["total_excl_vat"]), total_vat=Decimal(record["total_vat"]),
        total_incl_vat=Decimal(record["total_incl_vat"]), **(extra or {}),
    )


def document_commit(
    doc: Document, record: dict[str, Any], pdf: bytes, extra: dict[str, Any] | None = None
) -> tuple[DocumentIssued, dict[str, tuple[str, bytes]]]:
    """(entry, files) that issue a rendered document, for the ledger to commit."""
    stem = f"{document_folder(doc)}/{doc.number}"
    files = {"pdf": (f"{stem}.pdf", pdf), "json": (f"{stem}.json", document_json(record))}
    return issued_event(doc, record, extra), files
