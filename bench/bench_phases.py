"""Where a batch invoice's CPU goes, phase by phase, in ms per invoice on one core.

In-process, on 400 rows of `bench_batch`'s CSV, grouped into sheets as the render pool
groups them: the main process's share (CSV validation, composition and the canonical
record; the JSON file and the hashes of the commit), then each step a render worker takes
(view and payment QR code, the JSON sent to Typst with its glyph check, the Factur-X XML
and its checks, the Typst compile of the sheet, the split into one PDF each with the
Factur-X attachment). The durable commit's I/O (writes, sync, fsync, renames) and the pool's
transfers are not CPU of this process and are not here: `bench_batch` measures the whole.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from bench.bench_batch import BATCH_ID, make_workspace
from bench.common import row

N = 400


def _records(n: int) -> tuple[list[dict[str, Any]], float]:
    """The canonical records of n CSV rows, and the CPU ms per row it took to make them."""
    from facturier.config import load_workspace
    from facturier.ops.batch.process import batch_context, batch_document
    from facturier.ops.batch.rows import FileCheck, iter_rows
    from facturier.ops.state_access import NumberAllocator

    root = make_workspace(n)
    ws = load_workspace(root)
    cfg = ws.batch_clients[BATCH_ID]
    start = time.process_time()
    numbers = NumberAllocator(None)
    ctx = batch_context(cfg, BATCH_ID, date(2026, 11, 28), None, {})
    records = []
    for r in iter_rows(root / "data" / "inbox_batch" / BATCH_ID / "orders-2026-11.csv", ctx, FileCheck()):
        doc = batch_document(cfg, BATCH_ID, r, numbers)
        numbers.advance(doc.series, doc.seq, r.issue_date)
        records.append(doc.to_record())
    return records, (time.process_time() - start) * 1000 / n


def _cpu_ms(step: Callable[[], Any], count: int, rounds: int = 3) -> float:
    """CPU ms per invoice of a step over `count` invoices: the best of `rounds` runs after a warm-up.

    The best run, because on a shared machine other processes only ever add to a run.
    """
    step()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        step()
        best = min(best, (time.process_time() - start) * 1000 / count)
    return best


def main() -> None:
    """Print the CPU of each phase per invoice."""
    from facturier.render import facturx
    from facturier.render.facturx_pdf import embed_facturx, merge_fx_xmp
    from facturier.render.pdf import (
        BUNDLED_TEMPLATES,
        SHEETS_NAME,
        PdfRenderer,
        creation_timestamp,
        printable_payload,
        split_compiled,
    )
    from facturier.render.pool import compile_groups
    from facturier.render.qr import payment_qr_for
    from facturier.render.view import build_view
    from facturier.store.ledger import document_json

    records, compose = _records(N)
    groups = [[r for _, r in group] for group in compile_groups((None, r) for r in records)]
    views = [[build_view(r) for r in group] for group in groups]
    payloads = [printable_payload(v) for v in views]
    trees = [facturx.build_tree(r) for r in records]
    renderer = PdfRenderer()
    assert renderer._sheets is not None
    template = BUNDLED_TEMPLATES / SHEETS_NAME

    def compile_all() -> list[bytes]:
        return [renderer._compile(renderer._sheets, template, "views", p, g[0])  # type: ignore[arg-type]
                for p, g in zip(payloads, groups, strict=True)]

    # Timed once, on its first run: Typst memoizes layouts across compiles, so the same sheets
    # compiled again come partly from its cache (few sheets: most of them) and read low.
    start = time.process_time()
    compiled = compile_all()
    compile_ms = (time.process_time() - start) * 1000 / N
    titles = [[(v["document_title"], v["lang"]) for v in vs] for vs in views]
    xmls = [[facturx.facturx_xml(r) for r in group] for group in groups]

    def split(fx: bool) -> None:
        for sheet, docs, xml, group in zip(compiled, titles, xmls, groups, strict=True):
            dates = [creation_timestamp(r) for r in group]  # a sheet may span days
            if fx:
                def attach(out: Any, i: int, xml: list[bytes] = xml, dates: Any = dates) -> None:
                    embed_facturx(out, xml[i], dates[i], xmp=False)

                split_compiled(sheet, docs, attach, merge_fx_xmp, dates)
            else:
                split_compiled(sheet, docs)

    pdfs = [pdf for sheet, docs in zip(compiled, titles, strict=True) for pdf in split_compiled(sheet, docs) or []]
    phases = {
        "main: CSV row checks, document, record": compose,
        "main: JSON file + SHA-256 of PDF and JSON": _cpu_ms(
            lambda: [(hashlib.sha256(document_json(r)).digest(), hashlib.sha256(p).digest())
                     for r, p in zip(records, pdfs, strict=True)], N),
        "worker: view (with payment QR code)": _cpu_ms(lambda: [build_view(r) for r in records], N),
        "  of which the payment QR code": _cpu_ms(lambda: [payment_qr_for(r) for r in records], N),
        "worker: Typst JSON + glyph check": _cpu_ms(lambda: [printable_payload(v) for v in views], N),
        "worker: Factur-X XML build": _cpu_ms(lambda: [facturx.build_tree(r) for r in records], N),
        "worker: Factur-X arithmetic + XSD": _cpu_ms(
            lambda: [(facturx.einvoice_arithmetic(r), facturx.xsd_problems(t))
                     for r, t in zip(records, trees, strict=True)],
            N),
        "worker: Typst compile (sheets, first run)": compile_ms,
        "worker: split + save, no Factur-X": _cpu_ms(lambda: split(False), N),
        "worker: split + attach + XMP + save": _cpu_ms(lambda: split(True), N),
    }
    print(f"Batch invoice CPU by phase ({N} rows, {len(groups)} sheets, ms per invoice on one core)")
    for label, value in phases.items():
        row(label, f"{value:.2f} ms")
    workers = sum(v for k, v in phases.items() if k.startswith("worker") and "no Factur-X" not in k)
    row("worker total", f"{workers:.2f} ms")


if __name__ == "__main__":
    main()
