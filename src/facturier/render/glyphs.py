"""Every text a document prints, checked against what the invoice fonts can print.

PDF/A-3b refuses a missing glyph, so a text the bundled fonts cannot show (an emoji, a
control character, a currency sign they lack) makes Typst fail and nothing is issued.
Configuration and CSV fields are refused when they are validated, and every text of a
*view* (what the template prints: names, addresses, descriptions, legal mentions,
references, formatted amounts) is checked: by `check` for the configuration, and by the
renderer just before each compile, so no text ever reaches Typst unchecked. Which characters
are printable is `facturier.fonts`' answer, the one `config` gets too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from facturier.core.errors import FacturierError
from facturier.fonts import KNOWN_PRINTABLE, describe_unprintable, unprintable_characters

_ASCII_PRINTABLE: Final = bytes(range(0x20, 0x7F))
# Where each top-level key of a view comes from, for messages.
_VIEW_PARTS: Final = {
    "seller": "seller block", "buyer": "customer block", "table": "lines table", "meta": "document facts",
    "mentions": "legal mentions", "credit_note": "credit note reference and reason", "period": "service period",
    "payment": "payment block", "totals": "totals", "vat_breakdown": "VAT breakdown",
}


class UnprintableTextError(FacturierError):
    """A text of a document has a character the invoice fonts cannot print."""


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
    return set(payload.encode().translate(None, _ASCII_PRINTABLE).decode()) - KNOWN_PRINTABLE


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
