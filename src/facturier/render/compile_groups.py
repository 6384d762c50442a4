"""Which template renders and which documents may share a sheet: no Typst, no pikepdf.

The process that numbers and commits (`render/pool.py` in the main process) needs only
these; the renderer (`render/pdf.py`, which loads Typst and pikepdf) runs in the pool's
workers, so the main process does not carry it (~12 MiB) when a pool renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

TEMPLATE_NAME: Final = "invoice.typ"
BUNDLED_TEMPLATES: Final = Path(__file__).parent / "templates"


def template_path(override_dir: Path | None) -> Path:
    """The workspace's template when it has one, else the bundled template."""
    # A link named invoice.typ counts as an override, to be refused, never silently skipped.
    override = override_dir / TEMPLATE_NAME if override_dir is not None else None
    if override is not None and (override.is_file() or override.is_symlink()):
        return override
    return BUNDLED_TEMPLATES / TEMPLATE_NAME


def compile_key(record: dict[str, Any]) -> str:
    """What the documents of one sheet share: the PDF's author, set once per compile.

    The issue date is not shared: the splitter gives each document its own dates (render/pdf.py,
    `split_compiled`), so the rows of a month fill sheets whatever their number a day.
    """
    return str(record["seller"]["name"])
