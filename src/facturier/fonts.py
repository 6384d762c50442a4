"""Which characters the bundled invoice fonts can print: the one answer for `config` and `render`.

PDF/A-3b refuses a missing glyph, so a text the bundled fonts cannot show (an emoji, a
control character, a currency sign they lack) makes Typst fail and nothing is issued.
`config` refuses such a value when it validates it (`config.fields.check_printable`), and
`render` checks every text of a view before each compile (`render.glyphs.ensure_printable`):
both ask this module, so they can never disagree.

A module of its own, beside `core` (it asks Typst, which `core` does not import) and below
`config` and `render`, which both import it; it imports nothing of Facturier but `core`.
Each character is probed once per process, in a one-line Typst document set in the three
styles the templates use, to the invoices' own standard: the fonts are the answer, not a
list kept by hand.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import typst

# A line of text in the three styles the templates use, to the invoices' own standard.
_GLYPH_PROBE: Final = (
    b'#set text(font: "Libertinus Serif")\n'
    b'#text(sys.inputs.t) #text(weight: "bold", sys.inputs.t) #text(style: "italic", sys.inputs.t)'
)
_PROBE_STANDARDS: Final[list[typst.PDFStandard]] = ["a-3b"]
_printable_cache: dict[str, bool] = {}
# Printable ASCII, then every character found printable: the renderer's fast path.
KNOWN_PRINTABLE: Final[set[str]] = {chr(code) for code in range(0x20, 0x7F)} | set("\n\r\t")


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
    if char in KNOWN_PRINTABLE:
        return True
    known = _printable_cache.get(char)
    if known is None:
        known = _printable_cache[char] = _renders(char)
    if known:
        KNOWN_PRINTABLE.add(char)
    return known


def unprintable_characters(text: str) -> list[str]:
    """The distinct characters of `text`, in order, that the bundled invoice fonts cannot print."""
    distinct = list(dict.fromkeys(text))
    new = [c for c in distinct if c not in KNOWN_PRINTABLE and c not in _printable_cache]
    if len(new) > 1 and _renders("".join(new)):  # the usual case: one probe for all of them
        _printable_cache.update(dict.fromkeys(new, True))
    return [char for char in distinct if not _printable(char)]


def describe_unprintable(chars: list[str]) -> str:
    """'contains '😀' (U+1F600), which the invoice PDF cannot print (no glyph in its fonts)'."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" if c.isprintable() else f"U+{ord(c):04X}" for c in chars)
    return f"contains {shown}, which the invoice PDF cannot print (no glyph in its fonts)"
