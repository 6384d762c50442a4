"""The daily review page of `remind` (issue 26, item 1): `exports/review-<date>.html`.

One self-contained HTML page (like the report: no server, no asset, every text escaped)
with the day's drafts and the invoices left alone with the reason, highest amounts first.
Its numbers are those of `remind`'s own report (`remind --json`): the page is made from the
report's rows, plus what the rows do not carry, gathered while `remind` runs
(`ReviewSource`): the first lines of each draft and its Message-ID, and the invoices left
alone with their amounts.

Each draft has an **Open draft** link to where it is:

- outbox: the `.eml` file, relative to the page (`../data/drafts/<file>`);
- IMAP: the draft in the Drafts mailbox, an IMAP URL of RFC 5092
  (`imap://user@host:993/Drafts/;UID=42`; the mailbox alone when no UID is known);
- Gmail: the draft itself, opened in Gmail's compose window
  (`https://mail.google.com/mail/#drafts?compose=<message id>`, the id Gmail gives the
  draft's message, journalled as `gmail_message_id`); when Gmail did not say it (a draft
  found again after a lost answer, an earlier version's entry), the draft found by its
  Message-ID with Gmail's documented search operator `rfc822msgid:`
  (`https://mail.google.com/mail/#search/rfc822msgid%3A...`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from facturier.core.dunning import ClientReminder, days_overdue
from facturier.core.money import fmt_amount
from facturier.ops.collections.drafts import Attacher, Draft, DraftBuilder
from facturier.ops.collections.plan import RemindPlan
from facturier.ops.outcome import Alert, Report
from facturier.render.review_html import render_review
from facturier.store.files import atomic_write
from facturier.store.paths import WorkspacePaths

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.config.collections import ImapConfig

EXCERPT_LINES = 4
EXCERPT_CHARS = 400
OPENED = ("drafted", "already in the store")


@dataclass(frozen=True, slots=True)
class LeftAlone:
    """An open invoice that gets no reminder today, and why."""

    client: str
    invoice: str
    amount: Decimal
    currency: str
    days_overdue: int
    last_stage: int | None
    reason: str


@dataclass
class ReviewSource:
    """What the page needs beyond `remind`'s rows, filled while it runs: each draft's body and
    Message-ID (by its `invoice` cell) and the invoices left alone."""

    bodies: dict[str, str] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)
    left_alone: list[LeftAlone] = field(default_factory=list)

    def record(self, group: ClientReminder, body: str, message_id: str = "") -> None:
        """A draft built (or, in a dry run, rendered) for `group`."""
        key = ", ".join(group.numbers)
        self.bodies[key] = body
        if message_id:
            self.message_ids[key] = message_id


class RecordingBuilder(DraftBuilder):
    """The run's `DraftBuilder`, keeping each draft's body and Message-ID for the page."""

    def __init__(self, ws: Workspace, attach: Attacher | None, source: ReviewSource) -> None:
        super().__init__(ws, attach)
        self.source = source

    def build(self, group: ClientReminder, message_id: str | None = None) -> Draft:
        draft = super().build(group, message_id)
        # The body as rendered, not read back from the message: parsing its headers again to
        # find the text part cost more than building the draft (issue 26 follow-up).
        self.source.record(group, draft.body, draft.message_id)
        return draft


def left_alone(plan: RemindPlan) -> list[LeftAlone]:
    """The invoices the plan leaves alone (skipped, or a hand-over in flight), with their amounts:
    from the receivables the plan read (a sheet's rows: all of them, as the sheet has them)."""
    reasons = {s.number: s.message for s in plan.skipped}
    reasons.update({f.number: f"a stage {f.stage} hand-over of {f.day} is in flight: settle it with "
                              f"remind --confirm or --retry" for f in plan.in_flight})
    if not reasons:
        return []
    receivables = plan.sheet.receivables if plan.sheet is not None else plan.receivables
    return [LeftAlone(r.client_name if r.from_sheet else r.client, r.number, r.remaining, r.currency,
                      days_overdue(r.due_on, plan.day), r.last_stage, reasons[r.number])
            for r in receivables if r.number in reasons]


def write_review_page(ws: Workspace, report: Report, source: ReviewSource, day: date, dry_run: bool) -> Path:
    """Write `exports/review-<day>.html` from `remind`'s report; its path."""
    paths = WorkspacePaths(ws.root)
    path = paths.exports / f"review-{day.isoformat()}.html"
    store = ws.config.collections.drafts
    lines = [draft_line(ws, row, source, store, dry_run) for row in report.rows]
    lines += earlier_drafts(path, day, {line["invoice"] for line in lines})
    drafts = sorted(lines, key=lambda line: (-line["amount_value"], -line["days_overdue"], line["invoice"]))
    on_page = {number for line in lines for number in line["invoice"].split(", ")}
    alone = sorted((a for a in source.left_alone if a.invoice not in on_page),  # drafted by an earlier run
                   key=lambda a: (-a.amount, -a.days_overdue, a.invoice))
    page = render_review({
        "issuer": ws.config.issuer.name, "day": day.isoformat(), "dry_run": dry_run, "store": store,
        "title": report.title, "notes": list(report.notes),
        "alerts": [{"level": a.level, "message": a.message} for a in report.alerts],
        "drafts": drafts, "left_alone": [left_alone_line(a) for a in alone],
    })
    atomic_write(path, page.encode("utf-8"))
    return path


def add_review_page(ws: Workspace, report: Report, source: ReviewSource, day: date, dry_run: bool) -> None:
    """Write the page and name it in the report's notes; a page that cannot be written is a
    warning, never a reason to hide what the run did (its drafts are journalled already)."""
    try:
        report.notes.append(f"Review page: {write_review_page(ws, report, source, day, dry_run)}")
    except OSError as exc:
        where = exc.filename or WorkspacePaths(ws.root).exports
        report.alerts.append(Alert("warning", f"the review page was not written: {where}: {exc.strerror or exc}"))


def draft_line(ws: Workspace, row: dict[str, Any], source: ReviewSource, store: str, dry_run: bool) -> dict[str, Any]:
    """One draft of the page: the report's row, its first lines and its link."""
    key = str(row["invoice"])
    link = ""
    if row["status"] in OPENED and not dry_run:
        link = draft_link(ws, store, str(row["draft"]), source.message_ids.get(key, ""),
                          str(row.get("gmail_message_id", "")))
    return {**{k: str(v) for k, v in row.items()}, "days_overdue": int(row["days_overdue"]),
            "amount_value": _decimal(row["amount"]), "excerpt": excerpt(source.bodies.get(key, "")), "link": link,
            "earlier": False}


_EMBEDDED = re.compile(r'<script type="application/json" id="facturier-review">(.*?)</script>', re.DOTALL)
_LINE_KEYS = ("invoice", "client", "email", "amount", "currency", "stage", "subject", "excerpt", "draft", "status",
              "link")


def earlier_drafts(path: Path, day: date, this_run: set[str]) -> list[dict[str, Any]]:
    """The drafts an earlier run of the same day made, read back from the page it wrote (its
    embedded JSON), but those this run lists again: a second run of the day, or a dry run
    after the real one, keeps the morning's drafts and their links on the page. A page that is
    missing, of another day or unreadable is simply not carried over (it is regenerable data)."""
    try:
        found = _EMBEDDED.search(path.read_text(encoding="utf-8"))
        data = json.loads(found.group(1)) if found else {}
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("day") != day.isoformat() or not isinstance(data.get("drafts"), list):
        return []
    out = []
    for line in data["drafts"]:
        if (not isinstance(line, dict) or line.get("status") not in OPENED or line.get("invoice") in this_run
                or not all(isinstance(line.get(k), str) for k in _LINE_KEYS)
                or not isinstance(line.get("days_overdue"), int)):
            continue
        if not safe_link(line["link"]):
            continue
        out.append({**{k: line[k] for k in _LINE_KEYS}, "days_overdue": line["days_overdue"],
                    "amount_value": _decimal(line["amount"]), "earlier": True})
    return out


def safe_link(link: str) -> bool:
    """A link of a kind this module writes (a page read back may have been edited by hand)."""
    parts = urlsplit(link)
    if parts.scheme == "":
        return not link.startswith("/") and not parts.netloc
    return parts.scheme == "imap" or (parts.scheme == "https" and parts.netloc == "mail.google.com")


def left_alone_line(item: LeftAlone) -> dict[str, Any]:
    """One invoice left alone, as the page shows it (amounts as `remind` prints them)."""
    return {"client": item.client, "invoice": item.invoice, "amount": fmt_amount(item.amount, item.currency),
            "currency": item.currency, "days_overdue": item.days_overdue,
            "stage": "" if item.last_stage is None else str(item.last_stage), "reason": item.reason}


def excerpt(body: str) -> str:
    """The first non-blank lines of a draft, at most EXCERPT_CHARS characters."""
    lines = [line.rstrip() for line in body.splitlines() if line.strip()][:EXCERPT_LINES]
    text = "\n".join(lines)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1].rstrip() + "…"


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def draft_link(ws: Workspace, store: str, draft_id: str, message_id: str, gmail_message_id: str = "") -> str:
    """Where the draft is, as a link (see the module docstring); "" when it cannot be said."""
    if store == "outbox" and draft_id:
        return quote(f"{_outbox_folder(ws.root)}/{draft_id}")
    if store == "gmail" and gmail_message_id:
        return gmail_draft_link(gmail_message_id)
    if store == "gmail" and message_id:
        return gmail_link(message_id)
    if store == "imap" and ws.config.collections.imap is not None and draft_id:
        return imap_link(ws.config.collections.imap, draft_id)
    return ""


@lru_cache(maxsize=16)  # once per page, not per draft: relpath resolves both paths each time
def _outbox_folder(root: Path) -> str:
    paths = WorkspacePaths(root)
    return PurePath(os.path.relpath(paths.drafts, paths.exports)).as_posix()


def gmail_draft_link(gmail_message_id: str) -> str:
    """The Gmail draft itself, opened in Gmail's compose window (`#drafts?compose=<message id>`)."""
    return "https://mail.google.com/mail/#drafts?compose=" + quote(gmail_message_id, safe="")


def gmail_link(message_id: str) -> str:
    """Gmail's search for the draft's Message-ID (`rfc822msgid:`, a documented operator)."""
    query = f"rfc822msgid:{message_id.strip().strip('<>')}"
    return "https://mail.google.com/mail/#search/" + quote(query, safe="")


def imap_link(imap: ImapConfig, draft_id: str) -> str:
    """RFC 5092: `imap://user@host:port/<mailbox>/;UID=<uid>`, the mailbox in UTF-8, %-encoded."""
    # The draft id is `<mailbox>/<UID>`, or `<mailbox>/<Message-ID>` when the server gave no UID.
    mailbox, _, uid = draft_id.rpartition("/")
    if not uid.isdigit():
        mailbox, uid = (draft_id.rsplit("/<", 1)[0] if "/<" in draft_id else mailbox or draft_id), ""
    host = f"[{imap.host}]" if ":" in imap.host else imap.host
    user = quote(imap.username, safe="")
    url = f"imap://{user}@{host}:{imap.effective_port()}/{quote(decode_mutf7(mailbox), safe='/')}"
    return url + (f"/;UID={uid}" if uid else "")


_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)-")


def decode_mutf7(name: str) -> str:
    """An IMAP mailbox name from its modified UTF-7 wire form (RFC 3501 §5.1.3)."""
    def shifted(match: re.Match[str]) -> str:
        encoded = match.group(1)
        if not encoded:
            return "&"
        data = encoded.replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            return match.group(0)  # not modified UTF-7 after all: the name as the server wrote it

    return _SHIFTED.sub(shifted, name)
