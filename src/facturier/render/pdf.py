"""Invoice PDF rendering with Typst: one compiler per process, data through sys_inputs.

A reused `typst.Compiler` keeps fonts and the parsed template between documents. Many
documents go faster still as pages of one compile, split into one PDF each (`render_many`):
a compile carries fixed costs (font subsetting, stream compression, cache eviction) that
are then paid once per sheet of documents instead of once per document.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import pikepdf
import typst

from facturier.core.errors import FacturierError
from facturier.fonts import bundled_fonts
from facturier.render.compile_groups import BUNDLED_TEMPLATES as BUNDLED_TEMPLATES  # noqa: PLC0414
from facturier.render.compile_groups import TEMPLATE_NAME as TEMPLATE_NAME  # noqa: PLC0414
from facturier.render.compile_groups import compile_key as compile_key  # noqa: PLC0414
from facturier.render.compile_groups import template_path as template_path  # noqa: PLC0414
from facturier.render.facturx import facturx_xml
from facturier.render.facturx_pdf import embed_facturx, merge_fx_xmp, pdf_date
from facturier.render.glyphs import ensure_printable
from facturier.render.qr import QR_SLOT_PIXELS, png_bitmap
from facturier.render.template_folder import (
    NO_PACKAGES,
    ensure_template_folder,
    template_folder_problems,
)
from facturier.render.view import build_view

SHEETS_NAME: Final = "invoices.typ"  # many documents per compile, bundled template only
# A complete invoice record (every block, both VAT cases of the view): `check` renders it
# with a workspace's override template so a Typst error shows before anything is issued.
BUNDLED_SAMPLE: Final = Path(__file__).parent / "sample_record.json"
PDF_STANDARDS: Final[list[typst.PDFStandard]] = ["a-3b"]  # PDF/A-3 can carry Factur-X XML
# Untagged: PDF/A-3b does not ask for a structure tree, and a page split out of a sheet
# could not keep its share of one. Every PDF is untagged, so all documents are alike.
PDF_TAGS: Final = False


def creation_timestamp(record: dict[str, Any]) -> datetime:
    """The issue date at 00:00 UTC: fixed per document, so the same record gives the same bytes."""
    issued = date.fromisoformat(record["issue_date"])
    return datetime(issued.year, issued.month, issued.day, tzinfo=UTC)


def _typst_message(template: Path, exc: typst.TypstError) -> str:
    """A user-facing message naming the template and Typst's diagnostic."""
    parts = [f"cannot render with template {template}: {exc.message or exc}"]
    if exc.diagnostic:  # Typst's diagnostic already shows file, line, caret and hints
        parts.append(exc.diagnostic.strip())
    else:
        parts.extend(f"hint: {hint}" for hint in exc.hints or [])
    return "\n".join(parts)


# Typst keeps process-wide state (worker threads, caches) that does not survive fork: a
# child forked after its parent compiled anything hangs forever in its first compile.
# Measured with multiprocessing "fork"; "spawn" and "forkserver" pools are fine.
_typst_used_by_pid: int | None = None


def _check_not_forked_after_use() -> None:
    """Fail loudly instead of hanging when forked from a process that already used Typst."""
    if _typst_used_by_pid is not None and _typst_used_by_pid != os.getpid():
        raise FacturierError(
            "cannot render PDFs in a process forked after its parent rendered one; "
            "start the worker pool with multiprocessing.get_context('spawn')"
        )


class PdfRenderer:
    """Renders document records to PDF/A-3b bytes with one reused Typst compiler."""

    def __init__(self, override_dir: Path | None = None) -> None:
        """Pick the template (workspace override first) and build the compiler once."""
        self.template = template_path(override_dir)
        bundled = self.template == BUNDLED_TEMPLATES / TEMPLATE_NAME
        self._override = None if bundled else self.template.parent
        if self._override is not None:
            ensure_template_folder(self._override)
        # The template's folder is the Typst root, so an override can use its own images.
        self._compiler = _compiler(self.template)
        # An override renders one document per compile: it need not know about sheets.
        self._sheets = _compiler(BUNDLED_TEMPLATES / SHEETS_NAME) if bundled else None

    def render(self, record: dict[str, Any]) -> bytes:
        """The Factur-X PDF of one document record; identical records give identical bytes."""
        view = build_view(record)
        qr = self._take_qr(view)
        payload = printable_payload(view)
        xml = facturx_xml(record)  # before compiling: an invalid e-invoice fails fast
        pdf = self._compile(self._compiler, self.template, "view", payload, record)
        return with_facturx(pdf, xml, creation_timestamp(record), qr, view["document_title"])

    def render_many(self, records: list[dict[str, Any]]) -> list[bytes]:
        """The PDFs of several records, in order: one compile when they can share a sheet.

        Records share a sheet when they have the same `compile_key` and the bundled template
        is used. When a document needs more than one page, the page count of the sheet no
        longer says which page is whose: then each record is rendered alone (as when the
        sheet's metadata cannot be rewritten per document).
        """
        if self._sheets is None or len(records) < 2 or len({compile_key(r) for r in records}) > 1:
            return [self.render(r) for r in records]
        views = [build_view(r) for r in records]
        qrs = [self._take_qr(v) for v in views]
        payload = printable_payload(views)
        xmls = [facturx_xml(r) for r in records]
        sheet = self._compile(self._sheets, BUNDLED_TEMPLATES / SHEETS_NAME, "views", payload, records[0])
        dates = [creation_timestamp(r) for r in records]  # the sheet has the first one's

        def finish(out: pikepdf.Pdf, index: int) -> None:
            embed_facturx(out, xmls[index], dates[index], xmp=False)  # the sheet's XMP has fx already
            qr = qrs[index]
            if qr is not None:
                fill_qr_slot(out, qr, views[index]["document_title"])

        pdfs = split_compiled(sheet, [(v["document_title"], v["lang"]) for v in views], finish, merge_fx_xmp, dates)
        return pdfs if pdfs is not None else [self.render(r) for r in records]

    def _take_qr(self, view: dict[str, Any]) -> bytes | None:
        """The view's QR code PNG, taken out for the bundled template, which draws the slot instead.

        An override template keeps `qr_png` in its view and draws it itself (None is returned).
        """
        payment = view["payment"]
        if self._override is not None or payment is None or payment["qr_png"] is None:
            return None
        png = bytes(payment["qr_png"])
        payment["qr_png"], payment["qr_slot"] = None, True
        return png

    def _compile(self, compiler: typst.Compiler, template: Path, key: str, payload: str,
                 record: dict[str, Any]) -> bytes:
        global _typst_used_by_pid
        _check_not_forked_after_use()
        if self._override is not None:  # again at each compile: a link may appear mid-run
            ensure_template_folder(self._override)
        _typst_used_by_pid = os.getpid()
        try:
            pdf = compiler.compile(
                format="pdf",
                sys_inputs={key: payload},
                pdf_standards=PDF_STANDARDS,
                pdf_tags=PDF_TAGS,
                timestamp=creation_timestamp(record),
            )
        except typst.TypstError as exc:
            raise FacturierError(_typst_message(template, exc)) from exc
        if not isinstance(pdf, bytes):  # a multi-page PDF is still one bytes object
            raise FacturierError(f"template {template} produced no PDF")
        return pdf


def printable_payload(data: Any) -> str:
    """The JSON Typst gets for a view (or a sheet of views), once its every text is printable.

    Checked before the Factur-X XML is built: the error names the document and the field,
    not Typst's glyph failure or the XML library's refusal of a control character.
    """
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    ensure_printable(data, payload)
    return payload


def _compiler(template: Path) -> typst.Compiler:
    return typst.Compiler(template, root=template.parent, font_paths=bundled_fonts(), ignore_system_fonts=True,
                          package_path=NO_PACKAGES, package_cache_path=NO_PACKAGES)


def escape(text: str) -> str:
    """&, < and > as XML entities, as xml.sax.saxutils.escape does (whose import pulls in
    urllib.request, http.client and ssl: 4 % of a render worker's start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xmp_title(title: str) -> bytes:
    return f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>'.encode()


_XMP_LANGUAGE = re.compile(rb"<dc:language><rdf:Bag>.*?</rdf:Bag></dc:language>")


def _xmp_language(lang: str) -> bytes:
    return f"<dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>".encode()


def with_facturx(pdf: bytes, xml: bytes, when: datetime, qr: bytes | None = None, label: str = "") -> bytes:
    """Post-processing of one compiled PDF: factur-x.xml embedded, fx XMP merged (render/facturx_pdf),
    and the payment QR code `qr` put into its slot when the bundled template drew one."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        embed_facturx(doc, xml, when)
        if qr is not None:
            fill_qr_slot(doc, qr, label)
        return _save(doc, doc.pdf_version)


def _xmp_date(when: datetime) -> bytes:
    """A date as Typst writes it in the XMP (xmp:CreateDate, xmp:ModifyDate), e.g. 2026-11-03T00:00:00+00:00."""
    return when.isoformat().encode()


def _sheet_dated(src: pikepdf.Pdf, xmp: bytes, dates: list[datetime]) -> bool:
    """Whether the sheet's dates are the first document's, written where the splitter rewrites them."""
    info = src.trailer.Info
    stamp = str(pdf_date(dates[0]))
    return (xmp.count(_xmp_date(dates[0])) >= 2 and str(info.get("/CreationDate", "")) == stamp
            and str(info.get("/ModDate", "")) == stamp)


def _save(doc: pikepdf.Pdf, version: str) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer, min_version=version, deterministic_id=True, fix_metadata_version=False,
             stream_decode_level=pikepdf.StreamDecodeLevel.none,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def split_compiled(sheet: bytes, documents: list[tuple[str, str]],
                finish: Callable[[pikepdf.Pdf, int], None] | None = None,
                sheet_xmp: Callable[[bytes], bytes] | None = None,
                dates: list[datetime] | None = None) -> list[bytes] | None:
    """One PDF per page of a sheet, from (title, language) per document; None when it cannot split.

    `finish(pdf, index)` post-processes each split PDF before it is saved (Factur-X);
    `sheet_xmp(xmp)` rewrites the sheet's XMP once, before each document's own title and
    language are put in (the fx schema, the same for every document of the sheet).
    `dates`, one per document (the sheet was compiled with the first), gives each PDF its
    own creation and modification dates, in the XMP and the document information.

    Each page becomes a whole PDF/A-3b file: the page and the resources it uses, the
    catalog's viewer preferences and output intent (sRGB profile), and the sheet's XMP
    metadata and document information with this document's title, language, dates and a
    page count of one. qpdf (pikepdf) copies the compressed streams as they are.

    One output PDF serves every document in turn (its page replaced, its catalog entries,
    metadata and document information rewritten): qpdf copies what the pages share (fonts,
    colour profile, the QR code slot) into it once per sheet, not once per document, and
    writes only what the current page and catalog reach (split -30 %: 0.32 -> 0.23 ms).
    """
    with pikepdf.open(io.BytesIO(sheet)) as src, pikepdf.new() as out:
        if len(src.pages) != len(documents):
            return None
        xmp = src.Root.Metadata.read_bytes()
        if sheet_xmp is not None:
            xmp = sheet_xmp(xmp)
        sheet_title = _xmp_title(documents[0][0])
        pages_count = f"<xmpTPg:NPages>{len(documents)}</xmpTPg:NPages>".encode()
        if (xmp.count(sheet_title) != 1 or xmp.count(pages_count) != 1 or len(_XMP_LANGUAGE.findall(xmp)) != 1
                or (dates is not None and not _sheet_dated(src, xmp, dates))):
            return None  # metadata written differently than expected: render one by one, never mislabel
        xmp = xmp.replace(pages_count, b"<xmpTPg:NPages>1</xmpTPg:NPages>")
        for key in ("/ViewerPreferences", "/OutputIntents"):  # qpdf copies indirect objects only
            value = src.Root[key]
            out.Root[key] = out.copy_foreign(value if value.is_indirect else src.make_indirect(value))
        info = out.copy_foreign(src.trailer.Info)
        out.trailer.Info = out.make_indirect(info)
        pdfs = []
        for index, (page, (title, lang)) in enumerate(zip(src.pages, documents, strict=True)):
            if index:
                del out.pages[0]  # the previous document's page, no longer written
            out.pages.append(page)
            out.Root.Lang = pikepdf.String(lang)
            own = _XMP_LANGUAGE.sub(_xmp_language(lang), xmp.replace(sheet_title, _xmp_title(title)))
            if dates is not None and dates[index] != dates[0]:  # the sheet has the first one's dates
                own = own.replace(_xmp_date(dates[0]), _xmp_date(dates[index]))
            out.Root.Metadata = out.make_stream(own, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
            info.Title = pikepdf.String(title)
            if dates is not None:  # the first one's are the sheet's (`_sheet_dated`)
                info.CreationDate = info.ModDate = pdf_date(dates[index])
            if finish is not None:
                finish(out, index)
            pdfs.append(_save(out, src.pdf_version))
        return pdfs


# One renderer per (process, override dir). Pool workers may be forked from a parent that
# already built one; a Typst compiler is not shared across fork, so the pid is in the key.
_RENDERERS: dict[tuple[int, str | None], PdfRenderer] = {}


def _renderer(override_dir: str | None) -> PdfRenderer:
    key = (os.getpid(), override_dir)
    renderer = _RENDERERS.get(key)
    if renderer is None:
        for stale in [k for k in _RENDERERS if k[0] != key[0]]:
            del _RENDERERS[stale]  # a parent process's renderers are useless here
        renderer = PdfRenderer(Path(override_dir) if override_dir else None)
        _RENDERERS[key] = renderer
    return renderer


def render_records(records: list[dict[str, Any]], override_dir: str | None = None) -> list[bytes]:
    """Render records, in order, with this process's cached renderer (for pool workers)."""
    global _renders_since_trim
    pdfs = _renderer(override_dir).render_many(records)
    _renders_since_trim += 1
    if _renders_since_trim >= TRIM_EVERY:
        _renders_since_trim = 0
        _trim_heap()
    return pdfs


# Typst frees most of a compile's memory, but glibc keeps the freed pages: a worker's RSS
# settled at ~185 MiB instead of ~110 MiB. Handing them back every few sheets costs nothing
# measurable.
TRIM_EVERY: Final = 10
_renders_since_trim = 0


def _trim_heap() -> None:
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


def fill_qr_slot(pdf: pikepdf.Pdf, png: bytes, label: str) -> None:
    """Put the QR code `png` into the blank slot image of every page of `pdf` that draws it.

    The PNG's compressed scanlines become the image stream as they are: PDF's Flate filter
    with the PNG predictor reads them (each scanline starts with its filter byte). The
    slot's colour space (Typst's grey ICC profile) stays. A document whose slot is missing
    is refused rather than issued without its code (`label` names it).
    """
    width, height, data = png_bitmap(png)
    filled = 0
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None:
            continue
        for key, image in list(xobjects.items()):
            if (image.get("/Subtype") == pikepdf.Name.Image and image.get("/Width") == QR_SLOT_PIXELS
                    and image.get("/Height") == QR_SLOT_PIXELS):
                xobjects[key] = _qr_image(pdf, image, data, width, height)
                filled += 1
    if not filled:
        raise FacturierError(f"internal error: {label}: the template drew no payment QR code slot")


def _qr_image(pdf: pikepdf.Pdf, slot: pikepdf.Object, data: bytes, width: int, height: int) -> pikepdf.Stream:
    """A new image in the slot's place, with the slot's keys (its colour space): the slot itself
    stays blank, since the pages of a sheet share it (`split_compiled` copies it once)."""
    image = pikepdf.Stream(pdf, b"")
    image.write(data, filter=pikepdf.Name.FlateDecode, decode_parms=pikepdf.Dictionary(
        Predictor=15, Colors=1, BitsPerComponent=1, Columns=width))
    for key, value in slot.items():
        if key not in ("/Length", "/Filter", "/DecodeParms", "/Width", "/Height", "/BitsPerComponent"):
            image[key] = value
    image.Width, image.Height, image.BitsPerComponent = width, height, 1
    return image


def check_template(override_dir: Path) -> list[str]:
    """Problems of a workspace's template override, found by rendering the sample in each language."""
    if template_path(override_dir) == BUNDLED_TEMPLATES / TEMPLATE_NAME:
        return []
    folder = template_folder_problems(override_dir)
    if folder:
        return [f"{entry}: (file): {message}" for entry, message in folder]
    record = json.loads(BUNDLED_SAMPLE.read_text(encoding="utf-8"))
    try:
        renderer = PdfRenderer(override_dir)
        for language in ("fr", "en"):
            renderer.render({**record, "language": language})
    except FacturierError as exc:
        return [f"{override_dir.name}/{TEMPLATE_NAME}: (file): {exc}"]
    return []
