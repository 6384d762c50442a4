"""Operator alerts: one summary email to the issuer when a run ends with error-level alerts.

The email is in one language, English: the language of every message Facturier prints,
which the email quotes as the command printed them (report titles and alert messages are
not translated). A French frame around them read as two languages in one email (issue 24).
A workspace may override `templates/mail/alerts.en.*`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.adapters.mail import open_mailer
from facturier.core.errors import FacturierError
from facturier.ops.delivery.messages import compose, template_env
from facturier.ops.outcome import Report
from facturier.render.view import format_date

if TYPE_CHECKING:
    from facturier.config import Workspace

OPERATOR_LANGUAGE = "en"  # the language of the CLI's messages, which the email quotes


def notify_operator(ws: Workspace, reports: list[Report], day: date) -> str | None:
    """Email every error alert to the issuer; returns what to print, None when all went well.

    Best effort: the exit code already tells cron something failed, so a transport that
    fails here too (often the very cause of the alerts) only adds a line to the output.
    """
    alerts = [{"title": r.title, "message": a.message} for r in reports for a in r.alerts if a.level == "error"]
    if not alerts:
        return None
    to = ws.config.issuer.email
    language = OPERATOR_LANGUAGE
    fields = {"alerts": alerts, "count": len(alerts), "run_date": format_date(day, language)}
    try:
        message = compose(ws, template_env(ws.root), "alerts", language, fields, [to], "alerts")
        del message["Bcc"]  # the archive copy is for client mail, not for operator noise
        with open_mailer(ws.config.mail, ws.root, ws.config.google) as mailer:
            mailer.send(message)
    except FacturierError as exc:
        return f"Could not email the alert summary to {to}: {exc}"
    return f"Alert summary emailed to {to}."
