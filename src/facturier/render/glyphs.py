"""Which characters the invoice fonts can print, for every text a document prints.

PDF/A-3b refuses a missing glyph, so a text the bundled fonts cannot show (an emoji, a
control character, a currency sign they lack) makes Typst fail and nothing is issued.
Configuration and CSV fields are refused when they are validated, and every text of a
*view* (what the template prints: names, addresses, descriptions, legal mentions,
references, formatted amounts) is checked: by `check` for the configuration, and by the
renderer just before each compile, so no text ever reaches Typst unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Final

import typst

from facturier.core.errors import FacturierError

# Characters the bundled fonts can print, probed once each, in the three styles the
# template uses and to the invoices' own standard.
_GLYPH_PROBE: Final = (
    b'#set text(font: "Libertinus Serif")\n'
    b'#text(sys.inputs.t) #text(weight: "bold", sys.inputs.t) #text(style: "italic", sys.inputs.t)'
)
_PROBE_STANDARDS: Final[list[typst.PDFStandard]] = ["a-3b"]
_printable_cache: dict[str, bool] = {}
# Printable ASCII, then every character found printable: the renderer's fast path.
_known_printable: set[str] = {chr(code) for code in range(0x20, 0x7F)} | set("\n\r\t")
_ASCII_PRINTABLE: Final = bytes(range(0x20, 0x7F))
# Where each top-level key of a view comes from, for messages.
_VIEW_PARTS: Final = {
    "seller": "seller block", "buyer": "customer block", "table": "lines table", "meta": "document facts",
    "mentions": "legal mentions", "credit_note": "credit note reference and reason", "period": "service period",
    "payment": "payment block", "totals": "totals", "vat_breakdown": "VAT breakdown",
}


class UnprintableTextError(FacturierError):
    """A text of a document has a character the invoice fonts cannot print."""


@lru_cache(maxsize=1)
def bundled_fonts() -> typst.Fonts:
    """The fonts bundled with Typst, without system fonts (same bytes on every machine)."""
    return typst.Fonts(include_system_fonts=False)


def _renders(text: str) -> bool:
    try:
        typst.compile(_GLYPH_PROBE, format="pdf", pdf_standards=_PROBE_STANDARDS, sys_inputs={"t": text},
                      font_paths=bundled_fonts(), ignore_system_fonts=True)
    except typst.TypstError:
        return False
    return True


def _printable(char: str) -> bool:
    if char in _known_printable:
        return True
    known = _printable_cache.get(char)
    if known is None:
        known = _printable_cache[char] = _renders(char)
    if known:
        _known_printable.add(char)
    return known


def unprintable_characters(text: str) -> list[str]:
    """The distinct characters of `text`, in order, that the bundled invoice fonts cannot print."""
    distinct = list(dict.fromkeys(text))
    new = [c for c in distinct if c not in _known_printable and c not in _printable_cache]
    if len(new) > 1 and _renders("".join(new)):  # the usual case: one probe for all of them
        _printable_cache.update(dict.fromkeys(new, True))
    return [char for char in distinct if not _printable(char)]


def describe_unprintable(chars: list[str]) -> str:
    """'contains 😀 (U+1F600), which the invoice fonts cannot print'."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" if c.isprintable() else f"U+{ord(c):04X}" for c in chars)
    return f"contains {shown}, which the invoice PDF cannot print (no glyph in its fonts)"


def printed_texts(view: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, text) for every string of a view, e.g. ("mentions[2]", "En cas de retard…")."""
    if isinstance(view, str):
        yield path, view
    elif isinstance(view, dict):
        for key, value in view.items():
            if key != "qr_png":  # PNG bytes, not text
                yield from printed_texts(value, f"{path}.{key}" if path else key)
    elif isinstance(view, list):
        for index, value in enumerate(view):
            yield from printed_texts(value, f"{path}[{index}]")


def view_part(path: str) -> str:
    """What a view key path is on the page: 'mentions[2]' -> 'legal mentions'."""
    top = path.split(".", 1)[0].split("[", 1)[0]
    return _VIEW_PARTS.get(top, "labels")


def unprintable_fields(view: Any) -> list[tuple[str, str]]:
    """(key path, message) for every text of a view that the invoice fonts cannot print."""
    problems = []
    for path, text in printed_texts(view):
        bad = unprintable_characters(text)
        if bad:
            problems.append((path, f"{excerpt(text, text.index(bad[0]))} {describe_unprintable(bad)}"))
    return problems


def excerpt(text: str, at: int, width: int = 60) -> str:
    """A text quoted for a message: at most `width` characters, ending just after index `at`."""
    if len(text) <= width:
        return repr(text)
    start = max(0, at + 1 - width)
    return repr(("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else ""))


def _unknown_characters(payload: str) -> set[str]:
    """The characters of a JSON payload not yet known to be printable.

    Drops the printable ASCII bytes at C speed and looks only at what is left (accents,
    currency signs, no-break spaces), so a typical invoice costs a few microseconds.
    """
    return set(payload.encode().translate(None, _ASCII_PRINTABLE).decode()) - _known_printable


def payload_is_printable(payload: str) -> bool:
    """Whether the JSON sent to Typst has only known characters and no escaped control one
    (JSON writes control characters as \\u00XX, which is looked for on its own)."""
    return "\\u00" not in payload and not _unknown_characters(payload)


def ensure_printable(data: Any, payload: str) -> None:
    """Raise UnprintableTextError naming, for a view or a list of views (a sheet) and the JSON
    sent to Typst, each document and text the invoice fonts cannot print."""
    unknown = _unknown_characters(payload)
    if not unknown and "\\u00" not in payload:
        return  # the usual case, in a few microseconds
    if unknown:  # learn them in one probe (a new process meeting its first accents)
        unprintable_characters("".join(sorted(unknown)))
        if payload_is_printable(payload):
            return
    lines = []
    for view in data if isinstance(data, list) else [data]:
        title = view.get("document_title", "document") if isinstance(view, dict) else "document"
        lines += [f"{title}: {path} ({view_part(path)}): {message}" for path, message in unprintable_fields(view)]
    if lines:
        raise UnprintableTextError("cannot render: a text has a character the invoice fonts lack\n"
                                   + "\n".join(lines))
