"""`facturier report`: the figures of a year (`figures.py`) rendered as one self-contained HTML page."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import InputError
from facturier.ops.reports.figures import report_figures
from facturier.render.report_html import default_date, render_report
from facturier.render.report_labels import REPORT_LABELS

if TYPE_CHECKING:
    from facturier.config import Workspace


default_report_date = default_date  # today, or the year's last day for a past year


def report_language(ws: Workspace, language: str | None) -> str:
    """--language, else French for a French issuer and English otherwise."""
    chosen = language if language is not None else ("fr" if ws.config.issuer.country == "FR" else "en")
    if chosen not in REPORT_LABELS:
        raise InputError(f"--language: {chosen!r} is not supported; use {' or '.join(REPORT_LABELS)}")
    return chosen


def build_html_report(ws: Workspace, year: int, as_of: date, language: str | None) -> bytes:
    """The HTML page of the report of `year` at `as_of`, as UTF-8 bytes."""
    from facturier.ops.state_access import reading_state

    lang = report_language(ws, language)
    with reading_state(ws.root) as state:
        figures = report_figures(state, year, as_of)
    data = figures.as_json()
    data["reminders_seen"] = figures.reminders_seen
    return render_report(data, ws.config.issuer.name, lang).encode("utf-8")
