"""Building the emails: Jinja2 templates per language (workspace overrides first), headers, attachments."""

from __future__ import annotations

import json
import weakref
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.sandbox

from facturier.adapters.mail import REF_HEADER
from facturier.core.errors import FacturierError, IntegrityError
from facturier.store.files import named_file, open_regular, sha256_bytes
from facturier.store.journal import Entry

if TYPE_CHECKING:
    from facturier.config import Workspace

BUNDLED = Path(__file__).resolve().parents[2] / "render" / "templates" / "mail"


class TemplateError(FacturierError):
    """A mail template is missing, invalid, or uses a merge field that does not exist."""


def template_env(root: Path) -> jinja2.Environment:
    """Templates from the workspace's templates/mail/ first, then the bundled ones."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(root / "templates" / "mail")),
        jinja2.FileSystemLoader(str(BUNDLED)),
    ])
    # StrictUndefined: a typo in a merge field must stop the send, not mail a blank.
    # Sandboxed: a workspace override is text with merge fields, never code (issue 24).
    return jinja2.sandbox.SandboxedEnvironment(
        loader=loader, undefined=jinja2.StrictUndefined, auto_reload=False,
        autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True)


# One escaping overlay per environment, so its compiled templates are cached across messages.
_HTML_ENVS: weakref.WeakKeyDictionary[jinja2.Environment, jinja2.Environment] = weakref.WeakKeyDictionary()


def html_env(env: jinja2.Environment) -> jinja2.Environment:
    """`env` with autoescape on for every template, included ones too, for HTML parts.

    Autoescape chosen by file name applies per template: an `.html` part that includes the
    `.txt` one (the alert summary does) would insert file names and CSV values as markup.
    """
    overlay = _HTML_ENVS.get(env)
    if overlay is None:
        overlay = _HTML_ENVS[env] = env.overlay(autoescape=True)
    return overlay


def render(env: jinja2.Environment, name: str, fields: dict[str, Any]) -> str:
    """One template rendered, or a TemplateError naming the template and the field."""
    try:
        return env.get_template(name).render(**fields)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"mail template {name}: unknown merge field ({exc.message})") from None
    except jinja2.TemplateNotFound:
        raise TemplateError(f"mail template {name} not found (bundled or in templates/mail/)") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"mail template {name}, line {exc.lineno}: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"mail template {name}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except Exception as exc:  # noqa: BLE001 - an expression of a user's override can fail with any exception
        raise TemplateError(f"mail template {name}: {type(exc).__name__}: {exc}") from None


def compose(ws: Workspace, env: jinja2.Environment, kind: str, language: str,
            fields: dict[str, Any], to: list[str], ref: str) -> EmailMessage:
    """A message from `<kind>.<language>.{subject.txt,txt,html}` with every standard header."""
    mail = ws.config.mail
    message = EmailMessage()
    message["Subject"] = " ".join(render(env, f"{kind}.{language}.subject.txt", fields).split())
    message["From"] = mail.from_
    message["To"] = ", ".join(to)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    if mail.bcc:
        message["Bcc"] = mail.bcc  # smtplib sends to it and strips the header
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(mail.from_)[1].rsplit("@", 1)[-1])  # the sender's domain
    message[REF_HEADER] = ref
    message.set_content(render(env, f"{kind}.{language}.txt", fields))
    message.add_alternative(render(html_env(env), f"{kind}.{language}.html", fields), subtype="html")
    return message


def verified_file(root: Path, item: dict[str, str]) -> bytes:
    """A file named by the journal, refused if its bytes no longer match the recorded SHA-256."""
    try:
        with open_regular(root / item["path"]) as fh:
            data = fh.read()
    except OSError as exc:
        raise IntegrityError(f"{item['path']}: {exc.strerror or exc} (named by the journal); "
                             "run facturier verify") from None
    if sha256_bytes(data) != item["sha256"]:
        raise IntegrityError(f"{item['path']} does not match its journalled SHA-256; run facturier verify")
    return data


def month_name(month: str, language: str) -> str:
    """'2026-11' as 'novembre 2026' or 'November 2026' (the standalone month name, Babel's)."""
    from babel.dates import format_date  # only a batch ZIP's message needs it

    return format_date(date.fromisoformat(f"{month}-01"), "LLLL yyyy", locale=language)


def invoice_message(ws: Workspace, env: jinja2.Environment, entry: Entry, to: list[str]) -> EmailMessage:
    """The invoice email in the invoice's language, its PDF attached after a hash check."""
    from facturier.render.view import format_date, format_money

    record_bytes = verified_file(ws.root, named_file(entry, "json"))
    record = json.loads(record_bytes)
    language = record["language"]
    fields = {
        "number": record["number"], "seller_name": record["seller"]["name"],
        "client_name": record["buyer"]["name"], "client_id": record["client_id"],
        "issue_date": format_date(record["issue_date"], language),
        "due_date": format_date(record["due_date"], language),
        "total": format_money(record["total_incl_vat"], record["currency"], language),
        "currency": record["currency"],
    }
    message = compose(ws, env, "invoice", language, fields, to, record["number"])
    pdf = verified_file(ws.root, named_file(entry, "pdf"))
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{record['number']}.pdf")
    return message
